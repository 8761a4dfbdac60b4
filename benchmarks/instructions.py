"""Instructions a claim, counted by valgrind: a figure the machine's load does not change.

    python benchmarks/instructions.py [--stage read|settle|settle_tr|write|write_tr|whole|whole_tr]...
                                      [--claims 300] [--against REF]

Each stage over N generated Suihua claims (benchmarks/suihua_claims.py), in a process run
under `valgrind --tool=callgrind`, once with no claim and once with N, after the same warm-up
(plans built, readers and writers made): the difference over N. `read` is `Policy._read`,
`settle` `Run.settle` (the reader included), `write` the JSON line of a result, `whole`
`runner.run_claims` on a file of N claims (its writer's per-shape functions made within it);
`_tr` with the trace. `--against main` counts that commit too (checkout.py), side by side.
Needs valgrind (apt-get install valgrind); slow: about a minute a count.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STAGES = ("read", "settle", "settle_tr", "write", "write_tr", "whole", "whole_tr")


def work(stage: str, n: int, claims: str) -> None:
    """The measured process: warm up on every claim, then run `stage` over the first n."""
    import gc

    import medpolicy
    from medpolicy import runner
    from medpolicy.inputs import ClaimFile
    from medpolicy.output import JsonLines, writer_for

    gc.disable()
    cs = [json.loads(line) for line in Path(claims).read_text(encoding="utf-8").splitlines()]
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    trace = stage.endswith("_tr")
    results = [policy.run(trace=trace).settle(c) for c in cs]
    writer = JsonLines(io.StringIO(), policy)
    for r in results:
        writer.encode_result(r, trace)
    run = policy.run(trace=trace)
    cs, results = cs[:n], results[:n]
    if stage == "read":
        for c in cs:
            policy._read(c)
    elif stage.startswith("settle"):
        for c in cs:
            run.settle(c)
    elif stage.startswith("write"):
        for r in results:
            writer.encode_result(r, trace)
    elif stage.startswith("whole"):
        part = Path(claims + f".{n}")
        part.write_text("".join(json.dumps(c) + "\n" for c in cs), encoding="utf-8")
        with ClaimFile(str(part)) as source:
            runner.run_claims(policy, {}, source, writer_for("jsonl", io.StringIO(), policy), trace=trace)


def count(stage: str, n: int, claims: str, env: dict) -> int:
    subprocess.run([sys.executable, __file__, "--work", stage, "0", claims], env=env, check=True)  # bytecode kept first
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                          __file__, "--work", stage, str(n), claims], env=env, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", out.stderr)
    if out.returncode or not found:
        sys.exit(f"valgrind failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--work":
        return work(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    sys.path.insert(0, str(HERE))
    import suihua_claims
    from checkout import export

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", action="append", choices=STAGES)
    ap.add_argument("--claims", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--against", metavar="REF")
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory(prefix="med-instructions-") as tmp:
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        claims = Path(tmp) / "claims.jsonl"
        with open(claims, "w", encoding="utf-8") as f:
            suihua_claims.write(args.claims, f, args.seed)
        versions = [("this", env)]
        if args.against:
            versions.insert(0, (args.against, {**env, "PYTHONPATH": str(export(args.against, Path(tmp) / "against"))}))
        for stage in args.stage or ["read", "write"]:
            for name, e in versions:
                per = (count(stage, args.claims, str(claims), e) - count(stage, 0, str(claims), e)) / args.claims
                print(f"{stage:<10} {name:<8} {per:>10,.0f} instructions a claim", flush=True)


if __name__ == "__main__":
    main()
