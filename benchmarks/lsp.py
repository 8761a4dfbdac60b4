"""How long the language server takes to publish diagnostics after an edit, on long policies.

Builds a policy of about 1,000 lines (suihua.med with a `define` of its own and N dated
level-3 clauses in one block, the shape that used to make the ambiguity check quadratic),
starts `med lsp` under a real LSP client (pygls's LanguageClient over stdio), opens it, and
makes edits of several kinds: a number changed, a name misspelt, a syntax error (each undone
by the next edit, which is timed too), a `define` entry renamed and back, a blank line that
moves every block below it. After each didChange the client asks what an editor asks at once
(semantic tokens, inlay hints, folding, outline), as VS Code does, and times the wall-clock
from sending didChange to the publishDiagnostics of that version. The same session runs
against the server checking the whole text on every edit (the old path: initialization
option `"check": "full"`), side by side, with the ratio. Medians and 95th percentiles, the
server process's CPU time per edit (from /proc), and the analysis alone in-process.

    python benchmarks/lsp.py [--rounds 10] [--lines 1000] [--bare]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

from medpolicy.document import analyse, standard_library
from medpolicy.recheck import Rechecker
from medpolicy.reparse import Reparser

ROOT = Path(__file__).resolve().parent.parent
MARKER = '    level3 deductible 900 rate employed 85% retired 87%         cite "第二十一条（一）3"\n'
DEFINES = ('define group "a local group"\n'
           '  local-aid   本地救助 "a group the benchmark renames"\n')


def long_policy(extra: int) -> str:
    base = (ROOT / "policies" / "suihua.med").read_text(encoding="utf-8")
    start = dt.date(2026, 1, 1)
    lines = []
    for i in range(extra):
        a = start + dt.timedelta(days=2 * i)
        # one setting each: a table's every entry counts against the 2,000-clause limit
        lines.append(f"    level3 from {a} until {a + dt.timedelta(days=1)} deductible {900 + i}")
    lines.append("    local-aid level1 deductible 100")
    text = base.replace(MARKER, MARKER + "\n".join(lines) + "\n")
    return text.replace("use standard\n", "use standard\n\n" + DEFINES, 1)


def _swap(old: str, new: str):
    return lambda text: text.replace(old, new, 1)


# Each kind: the edit and the edit that undoes it (both timed: mending is an edit too).
KINDS = {
    "number": (_swap("deductible 1300", "deductible 1301"), _swap("deductible 1301", "deductible 1300")),
    "name typo": (_swap("    level3 from 2026-06", "    levle3 from 2026-06"), _swap("levle3", "level3")),
    "syntax error": (_swap("deductible 1300", "deductible rate 1300"), _swap("deductible rate 1300", "deductible 1300")),
    "define change": (_swap("  local-aid   本地救助", "  local-aids  本地救助"), _swap("local-aids  本地救助", "local-aid   本地救助")),
    "blank line": (_swap("\nscheme resident", "\n\nscheme resident"), _swap("\n\nscheme resident", "\nscheme resident")),
}


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Session:
    """`med lsp` under pygls's client, with the arrival time of each version's diagnostics."""

    def __init__(self, check: str):
        self.check = check
        self.client = LanguageClient("med-bench", "1")
        self.arrived: dict[int, tuple[float, int]] = {}
        self.waiting: dict[int, asyncio.Future] = {}

        @self.client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def diagnostics(params: lsp.PublishDiagnosticsParams):
            now = time.perf_counter()
            if params.version is not None:
                self.arrived[params.version] = (now, len(params.diagnostics))
                f = self.waiting.pop(params.version, None)
                if f is not None and not f.done():
                    f.set_result(None)

    async def start(self) -> None:
        await self.client.start_io(sys.executable, "-m", "medpolicy.cli", "lsp")
        await self.client.initialize_async(lsp.InitializeParams(
            capabilities=lsp.ClientCapabilities(), initialization_options={"check": self.check}))
        self.client.initialized(lsp.InitializedParams())

    @property
    def pid(self) -> int:
        return self.client._server.pid

    async def send(self, uri: str, version: int, text: str, opening: bool, decorate: bool):
        """Send the text; returns (seconds to its diagnostics, diagnostics, server CPU seconds)."""
        arrived = asyncio.get_running_loop().create_future()
        self.waiting[version] = arrived
        c0, t0 = cpu_seconds(self.pid), time.perf_counter()
        if opening:
            self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(
                lsp.TextDocumentItem(uri=uri, language_id="med", version=version, text=text)))
        else:
            self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
                lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                [lsp.TextDocumentContentChangeWholeDocument(text=text)]))
        asked = self._decorations(uri) if decorate else []
        await asyncio.wait_for(arrived, 300)
        seconds = self.arrived[version][0] - t0
        await asyncio.gather(*asked)
        return seconds, self.arrived[version][1], cpu_seconds(self.pid) - c0

    def _decorations(self, uri: str) -> list:
        doc = lsp.TextDocumentIdentifier(uri=uri)
        whole = lsp.Range(start=lsp.Position(0, 0), end=lsp.Position(60, 0))
        return [asyncio.ensure_future(f) for f in (
            self.client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=doc)),
            self.client.text_document_inlay_hint_async(lsp.InlayHintParams(text_document=doc, range=whole)),
            self.client.text_document_folding_range_async(lsp.FoldingRangeParams(text_document=doc)),
            self.client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=doc)))]

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


async def through_server(check: str, text: str, rounds: int, decorate: bool) -> dict:
    """{kind: [(seconds, diagnostics, cpu seconds)]} for `rounds` edits and undos of each kind;
    "open" for the first didOpen."""
    folder = Path(tempfile.mkdtemp(prefix="med-bench-"))
    uri = (folder / "long.med").as_uri()
    session = Session(check)
    await session.start()
    try:
        out = {"open": [await session.send(uri, 1, text, True, decorate)]}
        version = 1
        for kind, (edit, undo) in KINDS.items():
            out[kind] = []
            for _ in range(rounds):
                for change in (edit, undo):
                    version += 1
                    edited = change(text)
                    assert edited != text, kind
                    out[kind].append(await session.send(uri, version, edited, False, decorate))
                    text = edited
        return out
    finally:
        await session.stop()


def in_process(text: str, rounds: int) -> dict:
    """Median CPU seconds per edit of each kind, in-process: the whole-file analysis and the
    incremental one (reparse.py + recheck.py)."""
    std = standard_library()
    path = "/tmp/long.med"
    reparser, rechecker = Reparser(path), Rechecker()
    analyse(text, path, "/tmp", std, reparser=reparser, rechecker=rechecker)
    out = {}
    for kind, (edit, undo) in KINDS.items():
        whole, incremental = [], []
        for _ in range(rounds):
            for change in (edit, undo):
                text = change(text)
                t0 = time.process_time()
                analyse(text, path, "/tmp", std)
                t1 = time.process_time()
                analyse(text, path, "/tmp", std, reparser=reparser, rechecker=rechecker)
                t2 = time.process_time()
                whole.append(t1 - t0)
                incremental.append(t2 - t1)
        out[kind] = (statistics.median(whole), statistics.median(incremental))
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=10, help="edits and undos of each kind (default 10: 20 timed edits)")
    ap.add_argument("--lines", type=int, default=1000, help="about this many lines (default 1000)")
    ap.add_argument("--bare", action="store_true", help="send only the edits, no requests for semantic tokens etc.")
    args = ap.parse_args()
    base_lines = long_policy(0).count("\n")
    text = long_policy(max(args.lines - base_lines, 0))
    print(f"{text.count(chr(10))} lines; {args.rounds} edits and {args.rounds} undos of each kind; "
          f"{'bare edits' if args.bare else 'each edit followed by semantic tokens, inlay hints, folding, outline requests'}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall-clock grows with the load; "
          f"CPU time is the work itself)\n")
    full = asyncio.run(through_server("full", text, args.rounds, not args.bare))
    quick = asyncio.run(through_server("incremental", text, args.rounds, not args.bare))
    cpu = in_process(text, max(args.rounds // 2, 1))
    print("didChange -> publishDiagnostics, wall-clock ms (server CPU ms per edit, median)")
    print(f"{'edit':<15}{'full median':>12}{'p95':>7}{'CPU':>6}   {'incremental median':>19}{'p95':>7}{'CPU':>6}"
          f"{'ratio':>8}   {'in-process CPU: full':>21}{'incr.':>7}")
    for kind in ["open", *KINDS]:
        f = [s for s, _n, _c in full[kind]]
        q = [s for s, _n, _c in quick[kind]]
        fc = statistics.median(c for _s, _n, c in full[kind])
        qc = statistics.median(c for _s, _n, c in quick[kind])
        whole, inc = cpu.get(kind, (None, None))
        tail = f"{ms(whole):>21}{ms(inc):>7}" if whole is not None else ""
        print(f"{kind:<15}{ms(statistics.median(f)):>12}{ms(p95(f)):>7}{ms(fc):>6}   "
              f"{ms(statistics.median(q)):>19}{ms(p95(q)):>7}{ms(qc):>6}"
              f"{statistics.median(f) / statistics.median(q):>7.1f}×   {tail}")
        assert [n for _s, n, _c in full[kind]] == [n for _s, n, _c in quick[kind]], kind  # the same diagnostics
    every_f = [s for k in KINDS for s, _n, _c in full[k]]
    every_q = [s for k in KINDS for s, _n, _c in quick[k]]
    print(f"{'every edit':<15}{ms(statistics.median(every_f)):>12}{ms(p95(every_f)):>7}{'':>6}   "
          f"{ms(statistics.median(every_q)):>19}{ms(p95(every_q)):>7}{'':>6}"
          f"{statistics.median(every_f) / statistics.median(every_q):>7.1f}×")


if __name__ == "__main__":
    main()
