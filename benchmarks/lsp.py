"""How long the language server takes to publish diagnostics after an edit, on long policies.

Builds policies of about 500 and 1,000 lines (suihua.med plus N dated level-3 clauses in
one block, the shape that used to make the ambiguity check quadratic), starts `med lsp`,
opens each, then makes edits (a changed number, an inserted blank line that moves every
block after it) and times didChange -> publishDiagnostics through the real server over
stdio (wall-clock, and the server process's CPU time for the edit, from /proc). Beside it,
the analysis alone in-process (CPU time): the whole-file parse and compile (what the server
did before) and the incremental one (reparse.py: only the changed blocks parsed again), and
how much of the incremental time is parsing.

    python benchmarks/lsp.py [--edits 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from lsp_wire import WireClient, frame, notification  # noqa: E402

from medpolicy.document import analyse, standard_library  # noqa: E402
from medpolicy.reparse import Reparser  # noqa: E402

MARKER = '    level3 deductible 900 rate employed 85% retired 87%         cite "第二十一条（一）3"\n'


def long_policy(extra: int) -> str:
    base = (ROOT / "policies" / "suihua.med").read_text(encoding="utf-8")
    start = dt.date(2026, 1, 1)
    lines = []
    for i in range(extra):
        a = start + dt.timedelta(days=2 * i)
        # one setting each: a table's every entry counts against the 2,000-clause limit
        lines.append(f"    level3 from {a} until {a + dt.timedelta(days=1)} deductible {900 + i}")
    return base.replace(MARKER, MARKER + "\n".join(lines) + "\n")


def wait_diagnostics(client: WireClient, uri: str, version=None) -> dict:
    while True:
        m = client.next(120)
        if m is None:
            raise SystemExit("no diagnostics within 120 s")
        if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri \
                and (version is None or m["params"].get("version") == version):
            return m


def edits(text: str, n: int) -> list[str]:
    """n versions of `text`, each one edit after the one before: a number changed, and every
    third edit a blank line inserted near the top (every block below it moves down a line)."""
    out = []
    for k in range(n):
        text = text.replace("deductible 900 rate" if k == 0 else f"deductible {900 + k} rate",
                            f"deductible {901 + k} rate", 1)
        if k % 3 == 2:
            text = text.replace("\nscheme ", "\n\nscheme ", 1)
        out.append(text)
    return out


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def through_server(text: str, versions: list[str]) -> tuple[float, list[float], list[float]]:
    folder = Path(tempfile.mkdtemp(prefix="med-bench-"))
    uri = (folder / "long.med").as_uri()
    client = WireClient()
    client.start()
    try:
        t0 = time.perf_counter()
        client.send(frame(notification("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "med", "version": 1, "text": text}})))
        wait_diagnostics(client, uri)
        opened = time.perf_counter() - t0
        after, cpu = [], []
        for k, edited in enumerate(versions):
            c0, t0 = cpu_seconds(client.proc.pid), time.perf_counter()
            client.send(frame(notification("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": k + 2}, "contentChanges": [{"text": edited}]})))
            wait_diagnostics(client, uri, k + 2)
            after.append(time.perf_counter() - t0)
            cpu.append(cpu_seconds(client.proc.pid) - c0)
        return opened, after, cpu
    finally:
        client.close()


def in_process(text: str, versions: list[str]) -> tuple[float, float, float]:
    """Median CPU seconds per edit (process time: the work itself, whatever else the machine
    runs): whole-file analyse, incremental analyse, and the incremental parse alone."""
    std = standard_library()
    whole, incremental, parse_only = [], [], []
    reparser = Reparser("/tmp/long.med")
    analyse(text, "/tmp/long.med", "/tmp", std, reparser=reparser)
    parser_only = Reparser("/tmp/long.med")
    parser_only.parse(text)
    for v in versions:
        t0 = time.process_time()
        analyse(v, "/tmp/long.med", "/tmp", std)
        t1 = time.process_time()
        analyse(v, "/tmp/long.med", "/tmp", std, reparser=reparser)
        t2 = time.process_time()
        parser_only.parse(v)
        t3 = time.process_time()
        whole.append(t1 - t0)
        incremental.append(t2 - t1)
        parse_only.append(t3 - t2)
    return statistics.median(whole), statistics.median(incremental), statistics.median(parse_only)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--edits", type=int, default=6)
    args = ap.parse_args()
    print(f"median of {args.edits} edits, ms; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          f"(wall-clock grows with the load; CPU time is the work itself)")
    print(f"{'policy':<28}{'server: open':>13}{'edit→diag wall':>16}{'server CPU':>12}"
          f"{'whole analyse':>15}{'incremental':>13}{'of it parse':>13}{'ratio':>7}")
    for extra in (377, 871):
        text = long_policy(extra)
        lines = text.count("\n")
        versions = edits(text, args.edits)
        opened, after, cpu = through_server(text, versions)
        whole, incremental, parse_only = in_process(text, versions)
        print(f"{f'{lines} lines, {extra} in a block':<28}{opened * 1000:>11.0f}ms{statistics.median(after) * 1000:>14.0f}ms"
              f"{statistics.median(cpu) * 1000:>10.0f}ms{whole * 1000:>13.0f}ms{incremental * 1000:>11.0f}ms"
              f"{parse_only * 1000:>11.0f}ms{whole / incremental:>6.1f}×")


if __name__ == "__main__":
    main()
