"""How long the language server takes to publish diagnostics after an edit, on long policies.

Builds policies of about 500 and 1,000 lines (suihua.med plus N dated level-3 clauses in
one block, the shape that used to make the ambiguity check quadratic), starts `med lsp`,
opens each, then makes edits and times didChange -> publishDiagnostics through the real
server over stdio. The server waits CHANGE_DELAY after a keystroke on purpose; the table
shows the total and the time after that delay (the work). Also the analysis alone,
in-process, for comparison.

    python benchmarks/lsp.py [--edits 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from lsp_wire import WireClient, frame, notification  # noqa: E402

from medpolicy.document import analyse, standard_library  # noqa: E402
from medpolicy.lsp import CHANGE_DELAY  # noqa: E402

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


def through_server(text: str, edits: int) -> tuple[float, list[float]]:
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
        after = []
        for k in range(edits):
            edited = text.replace("deductible 900 rate", f"deductible {901 + k} rate", 1)
            t0 = time.perf_counter()
            client.send(frame(notification("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": k + 2}, "contentChanges": [{"text": edited}]})))
            wait_diagnostics(client, uri, k + 2)
            after.append(time.perf_counter() - t0)
        return opened, after
    finally:
        client.close()


def in_process(text: str, runs: int) -> float:
    std = standard_library()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        analyse(text, "/tmp/long.med", "/tmp", std)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--edits", type=int, default=5)
    args = ap.parse_args()
    print(f"CHANGE_DELAY = {CHANGE_DELAY * 1000:.0f} ms (the server's deliberate wait after a keystroke)")
    print(f"{'policy':<28}{'open→diag':>12}{'edit→diag (median)':>22}{'minus delay':>14}{'analyse()':>12}")
    for extra in (377, 871):
        text = long_policy(extra)
        lines = text.count("\n")
        opened, after = through_server(text, args.edits)
        med = statistics.median(after)
        print(f"{f'{lines} lines, {extra} in a block':<28}{opened * 1000:>10.0f}ms{med * 1000:>20.0f}ms"
              f"{(med - CHANGE_DELAY) * 1000:>12.0f}ms{in_process(text, 3) * 1000:>10.0f}ms")


if __name__ == "__main__":
    main()
