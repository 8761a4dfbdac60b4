"""The `med` command line (docs: ../shared/docs/contract.md).

Exit codes: 0 all well; 1 a policy or claim problem reported; 2 wrong usage.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Optional

from . import columnar_run, files
from .errors import MedError, ParameterError
from .policy import Policy, load


def __getattr__(name: str):
    # The service imports explain_sheet from here; the sheet's modules load only when asked for.
    if name == "explain_sheet":
        from .sheet import explain_sheet

        return explain_sheet
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: Optional[list[str]] = None) -> int:
    from .messages import asked_in, choose

    parser = _parser(choose(asked_in(sys.argv[1:] if argv is None else argv)))
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    args.message_lang = None  # worked out when a message is first said (_message_lang): most runs say none
    try:
        return args.func(args)
    except BrokenPipeError:  # `med run ... | head`
        return 0
    except KeyboardInterrupt:
        return 130


class _Parser(argparse.ArgumentParser):
    """argparse, its usage errors in the language of the command's messages (messages.py)."""

    def __init__(self, *args, lang: str = "en", **kwargs):
        super().__init__(*args, **kwargs)
        self.lang = lang

    def format_usage(self) -> str:
        text = super().format_usage()
        return text.replace("usage: ", "用法：", 1) if self.lang == "zh" else text

    def error(self, message: str):
        if self.lang != "zh":
            super().error(message)
        from .messages import translate
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}：错误：{translate(message, 'zh')}\n")


def _language(args, policy: Optional[str]) -> str:
    """The language of a command's messages: --lang, the locale, else the policy's keywords."""
    from .messages import choose

    source, known = None, getattr(args, "policy_keywords", None)
    if policy and policy != "-" and not getattr(args, "lang", None) and not known:
        try:
            files.check_readable(policy)  # never block on a FIFO
            source = Path(policy).read_text(encoding="utf-8", errors="replace")
        except (files.UnreadableFile, OSError):
            source = None
    return choose(getattr(args, "lang", None), source, keywords=known)


def _message_lang(args) -> str:
    """The command's message language (`_language`), worked out on first need and kept."""
    lang = getattr(args, "message_lang", None)
    if lang is None and args is not None:
        lang = args.message_lang = _language(args, getattr(args, "policy", None))
    return lang or "en"


def _say(args, text: str) -> None:
    """A line on stderr in the command's language (English unless chosen otherwise)."""
    from .messages import translate

    print(translate(text, _message_lang(args)), file=sys.stderr)


def _parser(lang: str = "en") -> argparse.ArgumentParser:
    p = _Parser(prog="med", description="Medical-insurance regulations as code: check policies, settle claims.", lang=lang)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=functools.partial(_Parser, lang=lang))

    c = sub.add_parser("check", help="parse, compile and check policies")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.add_argument("--lang", choices=("en", "zh"), help="language of messages (default: the locale, else the policy's keywords)")
    c.add_argument("--strict", action="store_true",
                   help="also gaps, overlaps, clauses that never win, settings given twice…, each with a counter-claim")
    c.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="for --strict's settlements")
    c.add_argument("--articles", action="store_true",
                   help="every article of the regulation beside the policy (CITY.txt) cited or declared out of scope")
    c.add_argument("--format", choices=("text", "md"), default="text",
                   help="with --articles: md also prints a Markdown table of the policies to stdout")
    c.set_defaults(func=cmd_check)

    r = sub.add_parser("run", help="settle every claim in CLAIMS")
    r.add_argument("policy", metavar="POLICY")
    r.add_argument("claims", metavar="CLAIMS",
                   help=".jsonl, .json array, .csv, .parquet or .arrow/.feather (Arrow IPC); - for stdin (JSONL)")
    r.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")
    r.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a run parameter")
    r.add_argument("--format", choices=("jsonl", "csv", "table", "xlsx", "parquet", "arrow"), default=None,
                   help="output format (default: from OUT's extension, else jsonl); xlsx, parquet and arrow "
                        "need medpolicy[data]")
    r.add_argument("--excel", action="store_true", help="CSV for Excel and WPS: a UTF-8 BOM first")
    r.add_argument("--no-trace", action="store_true", help="leave the trace out of JSONL results")
    r.add_argument("--from", dest="source", choices=("contract", "nhsa"), default="contract",
                   help="nhsa: settlement requests in the national platform's shape (docs/nhsa.md)")
    r.add_argument("--to", dest="target", choices=("contract", "nhsa"), default="contract",
                   help="nhsa: answers as the platform's setlinfo and setldetail (needs --from nhsa)")
    r.add_argument("--members", metavar="FILE", help="member records: each claim's month decides its cover and "
                                                    "account balance (docs/accounts.md)")
    r.add_argument("--lang", choices=("en", "zh"), help="language of messages (default: the locale, else the policy's keywords)")
    r.add_argument("--jobs", type=_job_count, default=None, metavar="N",
                   help="worker processes, whole persons dealt among them; the output is the same (default: every "
                        "core for 64 MB of JSON lines or CSV, or a year on the columnar engine larger than one "
                        "process's --memory; else 1)")
    r.add_argument("--engine", choices=("auto", "batch", "scalar"), default="auto",
                   help="batch: the columnar engine (no trace); scalar: claim by claim, with the trace; auto "
                        "(default): batch for Parquet or Arrow claims when no trace is asked, else scalar")
    r.add_argument("--memory", type=_size, default=None, metavar="SIZE",
                   help="the columnar engine (Parquet or Arrow claims, or any with --engine batch): memory for the "
                        "run, e.g. 4G (default 2G); a larger year is settled in buckets of whole persons")
    r.set_defaults(func=cmd_run)

    e = sub.add_parser("explain", help="the calculation sheet of one claim")
    e.add_argument("policy", metavar="POLICY")
    e.add_argument("claim", metavar="CLAIM", help="a .json file with one claim (or - for stdin)")
    e.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    e.add_argument("--lang", choices=("zh", "en"), help="the sheet's language (default: that of the policy's keywords)")
    e.add_argument("--format", choices=("text", "html"), default="text",
                   help="html: one self-contained page, each step beside the article it cites")
    e.add_argument("-o", "--output", metavar="FILE", help="write the sheet here instead of stdout")
    e.add_argument("--member", action="store_true", help="CLAIM is a member record: the member sheet (docs/members.md)")
    e.add_argument("--as-of", metavar="DATE", help="with --member: the months up to and as known on DATE (default today)")
    e.add_argument("--settle-source", action="store_true",
                   help="print the Python source generated for each claim's settlement plan (straight.py), not the sheet")
    e.set_defaults(func=cmd_explain)

    m = sub.add_parser("members", help="each member's months: contributions, account, benefits, retirement years")
    m.add_argument("policy", metavar="POLICY")
    m.add_argument("members", metavar="MEMBERS", help=".jsonl, .json array or .csv of member records (- for stdin)")
    m.add_argument("--as-of", metavar="DATE", help="compute the months up to and as known on DATE (default today)")
    m.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    m.add_argument("-o", "--output", metavar="OUT", help="write rows here instead of stdout")
    m.add_argument("--format", choices=("jsonl", "json", "csv"), help="default: from OUT's extension, else jsonl")
    m.set_defaults(func=cmd_members)

    t = sub.add_parser("test", help="run the worked examples beside the policies")
    t.add_argument("paths", nargs="*", metavar="PATH", help="test files, policies or folders (default: policies/)")
    t.add_argument("-v", "--verbose", action="store_true", help="list every example")
    t.add_argument("--coverage", action="store_true", help="which clauses the examples exercise, per policy")
    t.add_argument("--fail-under", type=float, metavar="N", help="with --coverage: exit 1 below N%% exercised")
    t.add_argument("--lang", choices=("en", "zh"), help="language of the report (default: the locale, else the policies' keywords)")
    t.set_defaults(func=cmd_test)

    f = sub.add_parser("fmt", help="rewrite files in the canonical layout")
    f.add_argument("files", nargs="+", metavar="FILE")
    f.add_argument("--check", action="store_true", help="only report files that are not formatted")
    f.set_defaults(func=cmd_fmt)

    sc = sub.add_parser("schema", help="the JSON Schema of a claim or a result")
    sc.add_argument("kind", choices=("claim", "result"))
    sc.add_argument("--policy", metavar="POLICY", help="list this policy's names (default: the standard vocabulary)")
    sc.set_defaults(func=cmd_schema)

    lsp = sub.add_parser("lsp", help="the language server, on stdio")
    # Editors' LSP clients (vscode-languageclient, ...) add --stdio; stdio is the only transport.
    lsp.add_argument("--stdio", action="store_true", help="speak on stdin/stdout (the default and only transport)")
    lsp.add_argument("--lang", choices=("en", "zh"), help="language of diagnostics (default: the client's locale, else each policy's keywords)")
    lsp.set_defaults(func=cmd_lsp)

    s = sub.add_parser("serve", help="a settlement service over HTTP (docs/serve.md)")
    s.add_argument("policies", nargs="+", metavar="POLICY")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--db", default="medpolicy.db", metavar="URL",
                   help="a SQLite file (default medpolicy.db), sqlite:///PATH or postgresql://...")
    s.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a run parameter")
    s.add_argument("--workers", type=int, default=1, help="server processes (share the database)")
    s.add_argument("--max-body", type=int, default=1_000_000, metavar="BYTES")
    s.add_argument("--max-batch", type=int, default=1_000, metavar="CLAIMS")
    s.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="time to answer a request")
    s.add_argument("--max-in-flight", type=int, default=256, metavar="REQUESTS",
                   help="requests answered at once; beyond this, 503 at once")
    s.add_argument("--no-access-log", action="store_true", help="do not log every request")
    s.add_argument("--reload-interval", type=float, default=1.0, metavar="SECONDS",
                   help="how often to look for changed policy files (0: never)")
    s.set_defaults(func=cmd_serve)

    d = sub.add_parser("diff", help="what an edit does: clauses changed, exact effect on claims, a replay")
    d.add_argument("old", metavar="OLD")
    d.add_argument("new", metavar="NEW")
    d.add_argument("claims", metavar="CLAIMS", nargs="?", help="claims to replay under both versions")
    d.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    d.add_argument("--format", choices=("text", "json", "md"), default="text")
    d.add_argument("--chart", metavar="FILE", help="draw the changed curves (.png or .svg)")
    d.set_defaults(func=cmd_diff)

    pl = sub.add_parser("plot", help="benefit curves: what each fund and the patient pay against the cost")
    pl.add_argument("policy", metavar="POLICY")
    pl.add_argument("--scheme")
    pl.add_argument("--benefit")
    pl.add_argument("--level")
    pl.add_argument("--status")
    pl.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    pl.add_argument("-o", "--output", metavar="FILE", default="curves.png", help=".png or .svg (default curves.png)")
    pl.set_defaults(func=cmd_plot)
    return p


# ---- check ---------------------------------------------------------------------

def cmd_check(args) -> int:
    from .messages import choose, localise

    if args.param and not args.strict:
        _say(args, "med: --param is for --strict's settlements: add --strict")
        return 2
    bad = unreadable = usage = 0
    reports: list = []
    for name in args.files:
        policy = None
        try:
            policy = load(name)
            diags = list(policy.warnings)
        except MedError as e:
            if _named_file_unreadable(e, name):
                _say(args, f"med: {e.__cause__}")
                unreadable += 1
                continue
            diags = e.diagnostics
        args.message_lang = lang = choose(args.lang, _source(name, name))
        for d in diags:
            print(localise(d, lang).format(_source(d.span.file, name)), file=sys.stderr)
        errors = [d for d in diags if d.severity == "error"]
        bad += bool(errors)
        if not errors:
            if policy is not None:
                _print_parameters(name, policy)
            _say(args, f"{name}: ok")
        if args.strict and not errors and policy is not None:
            strict = _check_strict(name, policy, args.param)
            bad, usage = bad + (strict == 1), usage + (strict == 2)
        if args.articles and not errors:
            bad += not _check_articles(name, reports)
    if args.articles and args.format == "md":
        from .articles import markdown_table
        print(markdown_table(reports), end="")
    return 2 if unreadable or usage else 1 if bad else 0


def _readable(path: str, args=None) -> bool:
    """A named file is a regular file that can be opened; else `med: cannot read PATH: reason`
    (exit 2 on every command). Checked before opening, so a FIFO or device never blocks."""
    if path == "-":
        return True
    try:
        files.check_readable(path)
    except files.UnreadableFile as e:
        _say(args, f"med: {e}")
        return False
    return True


def _writable(path: str, args=None) -> bool:
    """An output file can be written; else `med: cannot write PATH: reason` (exit 2), said
    before any claim is settled or curve drawn rather than after. Opened for appending, so a
    file already there is left as it is until the command writes it; one made by the check is
    removed."""
    existed = os.path.lexists(path)
    try:
        with open(path, "ab"):
            pass
    except OSError as e:
        _say(args, f"med: cannot write {path}: {e.strerror or e}")
        return False
    if not existed:
        with contextlib.suppress(OSError):
            os.unlink(path)
    return True


def _print_parameters(name: str, policy: Policy) -> None:
    """The parameters a policy declares: what each is, and its default or that a run gives it."""
    for line in policy.describe_parameters():
        print(f"{name}: {line}", file=sys.stderr)


def _check_strict(name: str, policy: Policy, param_pairs: list[str]) -> int:
    """Print the strict findings of a policy that compiles (`policy`, as `med check` loaded it):
    0 when there are none, 1 when there are, 2 for a --param that is not NAME=VALUE or names no
    parameter of the policy."""
    from .strict import strict_findings
    params = _params(param_pairs)
    if params is None:
        return 2
    unbound = _bound(policy, params)
    if unbound:
        return unbound
    try:
        findings = strict_findings(policy, params)
    except MedError as e:
        print(f"med: {e.diagnostics[0].message}", file=sys.stderr)
        return 1
    for f in findings:
        print(f.format(), file=sys.stderr)
    print(f"{name}: {len(findings)} strict finding{'s' if len(findings) != 1 else ''}", file=sys.stderr)
    return 1 if findings else 0


def _check_articles(name: str, reports: list) -> bool:
    """Report the articles of the policy's regulation that are neither cited nor out of scope."""
    from .articles import check_articles, regulation_for
    try:
        r = check_articles(Path(name))
        reports.append((name, r))
    except OSError as e:
        print(f"{regulation_for(Path(name))}: cannot read the regulation the policy encodes: {e.strerror or e}",
              file=sys.stderr)
        return False
    for a in r.missing:
        print(f"{r.regulation}:{a.line}:1: error: {a.name} is neither cited by a clause nor declared "
              f"`out-of-scope` in {name}: {a.text[len(a.name):].strip()[:60]}", file=sys.stderr)
    for article, span in r.unknown:
        print(f"{span.file}:{span.line}:{span.column}: error: `out-of-scope` names {article!r}, "
              f"which is not an article of {r.regulation}", file=sys.stderr)
    for a, span in r.both:
        print(f"{span.file}:{span.line}:{span.column}: warning: {a.name} is declared `out-of-scope` here but a "
              f"clause cites it: drop it from this line or say what is left out", file=sys.stderr)
    print(f"{name}: {len(r.articles)} articles: {len(r.encoded)} encoded, {len(r.out_of_scope)} out of scope, "
          f"{len(r.missing)} missing", file=sys.stderr)
    return not r.missing and not r.unknown


def _source(file: str, fallback: str) -> Optional[str]:
    for candidate in (file, fallback):
        try:
            # errors="replace": a diagnostic about a bad byte still shows its own line.
            return Path(candidate).read_text(encoding="utf-8", errors="replace")
        except (OSError, UnicodeDecodeError):
            continue
    if file.startswith("stdlib/"):
        from .policy import _stdlib_text

        return _stdlib_text(file[len("stdlib/"):-4])
    return None


def _load(path: str, args=None) -> Policy | int:
    """The policy, or the exit code once its problems are printed (in the language of
    `args.message_lang`): 2 when the named file itself cannot be read, 1 for problems in what was read."""
    from .messages import localise

    try:
        policy = load(path)
    except MedError as e:
        if _named_file_unreadable(e, path):
            _say(args, f"med: {e.__cause__}")
            return 2
        for d in e.diagnostics:
            print(localise(d, _message_lang(args)).format(_source(d.span.file, path)), file=sys.stderr)
        return 1
    if args is not None and path == getattr(args, "policy", None):
        args.policy_keywords = policy.keyword_language  # (messages need not read the policy again)
    return policy


def _named_file_unreadable(e: MedError, path: str) -> bool:
    return isinstance(e.__cause__, files.UnreadableFile) and e.__cause__.path == str(path)


def _params(pairs: list[str], args=None) -> Optional[dict]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            _say(args, f"med: --param takes NAME=VALUE, not {pair!r}")
            return None
        k, v = pair.split("=", 1)
        out[k.strip()] = v.strip()
    return out


# ---- run -----------------------------------------------------------------------
# Reading claims lives in inputs.py, the run itself in runner.py, writing rows in output.py;
# they are imported by the commands that use them, so `med check` starts without them.

def _policy_and_params(args):
    """The policy and the run parameters, or the exit code when either is wrong."""
    params = _params(args.param, args)
    if params is None:
        return 2
    policy = _load(args.policy, args)
    if isinstance(policy, int):
        return policy
    return _bound(policy, params) or (policy, params)


def _bound(policy: Policy, params: dict) -> Optional[int]:
    """None when the policy takes the --param values (every one declared, every declared one
    given), checked before any claim; else said, and the exit code: 2 for a name it does not
    declare (the command line is wrong), 1 for a value it refuses."""
    try:
        policy.bind(params)
    except ParameterError as e:
        d = e.diagnostics[0]
        print(f"med: {d.message}" + (f"\n  hint: {d.hint}" if d.hint else ""), file=sys.stderr)
        return 2 if any(name not in policy.parameters for name in params) else 1
    return None


def _job_count(text: str) -> int:
    """`--jobs`: a whole number of processes, at least one (0 was the default on one engine and
    1 on the other; -1 was 1)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number of processes, not {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"at least 1, not {text!r} (leave --jobs out for the default)")
    return n


def _size(text: str) -> int:
    from .jobs import parse_size

    return parse_size(text)


def cmd_run(args) -> int:
    ready = _policy_and_params(args)
    if isinstance(ready, int):
        return ready
    policy, params = ready
    if not _readable(args.claims, args):  # a FIFO or device would block; exit 2 like any unreadable file
        return 2
    args.book = _member_book(args, policy, params)
    if isinstance(args.book, int):
        return args.book
    fmt = _run_format(args)
    if isinstance(fmt, int):
        return fmt
    engine = columnar_run.engine_for(args, fmt)
    if engine == "batch":
        return columnar_run.run(args, policy, params, fmt, lambda m: _say(args, m))
    if engine != "scalar":  # --engine batch, and what it cannot give
        _say(args, f"med: {engine}")
        return 2
    if args.source == "nhsa" or args.target == "nhsa" or fmt == "xlsx" or (fmt == "csv" and args.excel) \
            or fmt in ("parquet", "arrow"):
        # The platform's shape, spreadsheets, and Parquet or Arrow results of the scalar engine are settled
        # in memory; every other run streams in fixed memory, Parquet and Arrow claims too.
        with _batch_gc():
            return _run_in_memory(args, policy, params, fmt)
    return _run_streaming(args, policy, params)


def _run_format(args):
    """The run's output format, or exit code 2 where the claims' file or the output cannot be
    had (said before a claim is settled)."""
    if not _named_as_claims(args.claims, args):
        return 2
    if args.output and not _writable(args.output, args):
        return 2
    fmt = _output_format(args)
    if fmt in ("parquet", "arrow") and not args.output:
        _say(args, f"med: {fmt} output is a file: give -o OUT")
        return 2
    if fmt in ("parquet", "arrow") and not _installed("pyarrow"):
        _say(args, f"med: {fmt} output needs pyarrow: pip install 'medpolicy[data]'")
        return 2
    return fmt


def _run_streaming(args, policy: Policy, params: dict) -> int:
    """The scalar engine's run in fixed memory: claims read, settled and written a few at a
    time (on `--jobs` processes where the run is big enough)."""
    from .jobs import Pool, jobs_for
    from .output import format_for, writer_for
    from .runner import run_claims

    source = _claims_source(args)
    if isinstance(source, int):
        return source
    with source:
        try:  # before any claim is settled: a run that cannot be written is not started
            out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
        except OSError as e:
            print(f"med: cannot write {args.output}: {e.strerror}", file=sys.stderr)
            return 2
        jobs = jobs_for(args.jobs, source.size)
        fmt = args.format or format_for(args.output)
        try:
            with _batch_gc():
                done = run_claims(policy, params, source, writer_for(fmt, out, policy),
                                  trace=not args.no_trace, report=lambda m: _say(args, m),
                                  progress=sys.stderr.isatty(), members=args.book,
                                  pool=Pool(args.policy, params, fmt, not args.no_trace, jobs)
                                  if jobs > 1 and args.book is None else None)
            out.flush()
        except MedError as e:
            print(f"med: {e.diagnostics[0].message}", file=sys.stderr)
            return 1
        except BrokenPipeError:  # `med run ... | head`: main() ends quietly
            raise
        except files.ClaimsUnreadable as e:  # a columnar file's corrupt row group: read, but bad, as for bad claims
            print(f"med: cannot read {args.claims}: {e}", file=sys.stderr)
            return 1
        except OSError as e:  # a full disk, for the output or the sorted runs
            print(f"med: run stopped: cannot write {e.filename or 'the output'}: {e.strerror or e}", file=sys.stderr)
            return 1
        finally:
            if args.output:
                with contextlib.suppress(OSError):  # a failed flush was reported above
                    out.close()
    if done.errors:
        _say(args, f"med: {done.errors} of {done.rows} claims could not be settled")
        for line in done.kinds.lines():
            _say(args, line)
    return 1 if done.errors else 0


def _member_book(args, policy: Policy, params: dict):
    """`--members FILE` read into a member_claims.MemberBook (None without it), or exit code 2."""
    if not args.members:
        return None
    if not _readable(args.members, args):
        return 2
    from .member_claims import load_book
    try:
        return load_book(args.members, policy, params, lambda m: _say(args, m))
    except OSError as e:
        _say(args, f"med: cannot read {args.members}: {e.strerror}")
        return 2


def _settle_rows(args, policy: Policy, params: dict, items: list):
    """One row per input item: contract results, or (--from/--to nhsa) the platform's shape."""
    from .inputs import InputProblem

    if args.source == "nhsa" or args.target == "nhsa":
        from .nhsa import cli_rows

        return cli_rows(args, policy, params, items)
    results = iter(policy.settle_all([c for c in items if not isinstance(c, InputProblem)], params=params,
                                     members=getattr(args, "book", None)))
    return [it.as_result() if isinstance(it, InputProblem) else next(results).to_json(trace=not args.no_trace)
            for it in items]


@contextlib.contextmanager
def _batch_gc():
    """The command owns its process: while it reads, settles and writes, whose objects form no
    cycles, the cyclic collector would only rescan the claims of a chunk again and again (it
    cost half the run time); the runner collects now and then itself. The library never
    touches the collector."""
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()


def _output_format(args) -> str:
    """The output format: nhsa answers, --format, or OUT's extension."""
    from .output import format_for

    if args.target == "nhsa":
        return "nhsa"
    if args.format:
        return args.format
    out = args.output or ""
    if out.endswith(".xlsx"):
        return "xlsx"
    if out.endswith(".parquet"):
        return "parquet"
    if out.endswith(files.ARROW_SUFFIXES):
        return "arrow"
    return format_for(args.output)


def _installed(module: str) -> bool:
    """Whether an optional dependency can be imported (found, not imported)."""
    import importlib.util

    return importlib.util.find_spec(module) is not None


CLAIM_FORMATS = (".jsonl", ".ndjson", ".json", ".csv", *files.COLUMNAR_SUFFIXES)


def _named_as_claims(path: str, args) -> bool:
    """A claims file is named as one of CLAIM_FORMATS (or is `-`, stdin); else said, rather than
    read as JSON lines."""
    if path == "-" or Path(path).suffix.lower() in CLAIM_FORMATS:
        return True
    _say(args, f"med: {path}: claims are read from {', '.join(CLAIM_FORMATS)} files (or - for JSON lines on stdin), "
               f"not {Path(path).suffix or 'a file without an extension'}")
    return False


def native_libraries_for_a_run() -> None:
    """Settings numpy and pyarrow read once, when they load (so before: this process, and the
    workers it starts, inherit them), unless the user set them. Arrow's buffers from malloc, not
    mimalloc: the Parquet reader and the engine's numpy arrays then reuse each other's freed pages,
    which keep_freed_memory keeps (a fresh run of 1M claims: peak 631 -> 504 MiB; setting the
    pool after pyarrow has loaded does not reach the reader). And no OpenBLAS thread pool: the
    engine does no linear algebra, and starting the pool cost 0.1 CPU s (docs/scale.md)."""
    if "pyarrow" not in sys.modules:
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _run_in_memory(args, policy: Policy, params: dict, fmt: str) -> int:
    """A run held in memory by the scalar engine: the platform's shape (--from/--to nhsa), xlsx
    and Excel CSV, and Parquet or Arrow claims or results (with the trace, or `--engine scalar`)."""
    items = _every_claim(args, args.claims)
    if isinstance(items, int):
        return items
    if files.is_columnar(args.claims):
        _trace_hint(args, len(items))
    try:
        rows = _settle_rows(args, policy, params, items)
    except MedError as e:
        print(f"med: {e.diagnostics[0].message}", file=sys.stderr)
        return 1
    if isinstance(rows, int):
        return rows
    try:
        return _write_rows(args, policy, rows, fmt)
    except OSError as e:  # (checked before settling: a disk that filled since)
        _say(args, f"med: cannot write {args.output or 'the output'}: {e.strerror or e}")
        return 2


def _claims_source(args):
    """The claims file opened for the streaming run (inputs.ClaimFile, or for Parquet and Arrow
    columnar_files.ClaimRecords); or the exit code, said."""
    from .inputs import ClaimFile

    if not files.is_columnar(args.claims):
        try:
            return ClaimFile(args.claims)
        except OSError as e:
            _say(args, f"med: cannot read {args.claims}: {e.strerror}")
            return 2
    source = _columnar_source(args.claims)
    if not isinstance(source, int):
        _trace_hint(args, source.rows)
    return source


def _columnar_source(path: str):
    """A Parquet or Arrow IPC claims file opened for the scalar engine (columnar_files.ClaimRecords);
    or the exit code, said."""
    try:
        from .columnar_files import ClaimRecords
    except ImportError:
        print("med: Parquet and Arrow need pyarrow: pip install 'medpolicy[data]'", file=sys.stderr)
        return 2
    try:
        return ClaimRecords(path)
    except OSError as e:
        print(f"med: cannot read {path}: {e}", file=sys.stderr)
        return 2


def _trace_hint(args, claims: int) -> None:
    """Where Parquet or Arrow claims went to the scalar engine only for the trace, and are many."""
    if args.engine == "auto" and not args.no_trace and claims >= columnar_run.HINT_ROWS:
        _say(args, f"med: the trace is the scalar engine's, claim by claim: --no-trace settles these "
                   f"{claims} claims with the columnar engine, far quicker")


def _every_claim(args, path: str):
    """Every claim of a claims file (JSON lines, JSON, CSV, Parquet or Arrow), read whole for a
    command that holds them in memory, each line that is not a claim said (`FILE:LINE: why;
    skipped`) and kept in its place as an InputProblem; or the exit code, said."""
    from .inputs import InputProblem, read_claims

    if not _named_as_claims(path, args):
        return 2
    if files.is_columnar(path):
        return _columnar_claims(path)
    try:
        items = read_claims(path)
    except OSError as e:
        _say(args, f"med: cannot read {path}: {e.strerror or e}")
        return 2
    for it in items:
        if isinstance(it, InputProblem):
            _say(args, f"{path}:{it.line}: {it.message}; skipped")
    return items


def _columnar_claims(path: str):
    """The claims of a Parquet or Arrow IPC file, all of them, for the scalar engine's runs held
    in memory; or the exit code."""
    source = _columnar_source(path)
    if isinstance(source, int):
        return source
    try:
        return [claim for _, claim, _ in source.records()]
    except files.ClaimsUnreadable as e:
        print(f"med: cannot read {path}: {e}", file=sys.stderr)
        return 1


def _write_rows(args, policy: Policy, rows: list[dict], fmt: str) -> int:
    if fmt in ("csv", "xlsx"):
        from .spreadsheet import write_table, xlsx_available

        if fmt == "xlsx" and not xlsx_available():
            print("med: --format xlsx needs openpyxl: pip install 'medpolicy[data]'", file=sys.stderr)
            return 2
        write_table(rows, fmt, args.output, excel=args.excel)
    elif fmt in ("parquet", "arrow"):
        from .arrow import ParquetResults, all_funds

        out = ParquetResults(args.output, all_funds(policy), trace=not args.no_trace, arrow=fmt == "arrow")
        for r in rows:
            out.write(r)
        out.close()
    else:
        from .output import write_results

        stream = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
        try:
            if fmt == "nhsa":
                from .nhsa import dumps

                stream.writelines(dumps(r) + "\n" for r in rows)
            else:
                write_results(rows, fmt, stream, policy)
        finally:
            if args.output:
                stream.close()
    from .error_kinds import ErrorKinds

    kinds = ErrorKinds()
    for k, r in enumerate(rows):
        kinds.add(k, r.get("error"), r.get("id"))
    errors = kinds.claims
    if errors:
        _say(args, f"med: {errors} of {len(rows)} claims could not be settled")
        for line in kinds.lines():
            _say(args, line)
    return 1 if errors else 0


# ---- explain --------------------------------------------------------------------

def cmd_explain(args) -> int:
    if args.member:
        return _explain_member(args)
    from .inputs import InputProblem
    from .inputs import json_limit as _json_limit

    ready = _policy_and_params(args)
    if isinstance(ready, int):
        return ready
    policy, params = ready
    if not _readable(args.claim):
        return 2
    items = _every_claim(args, args.claim) if args.claim == "-" or not args.claim.endswith(".json") else None
    if isinstance(items, int):
        return items
    if items is None:
        try:
            data = json.loads(files.read_bytes(args.claim).decode("utf-8-sig"), parse_float=Decimal)
        except files.UnreadableFile as e:
            print(f"med: {e}", file=sys.stderr)
            return 2
        except (ValueError, RecursionError) as e:  # bad JSON or encoding, a huge number, deep nesting
            print(f"{args.claim}: not a JSON claim: {_json_limit(e) if not isinstance(e, json.JSONDecodeError) else e}", file=sys.stderr)
            return 1
        items = data if isinstance(data, list) else [data]
    claims = [c for c in items if not isinstance(c, InputProblem)]
    skipped = len(items) - len(claims)  # (each said by _every_claim)
    if not claims:
        print(f"{args.claim}: no claim found", file=sys.stderr)
        return 1
    if args.settle_source:
        from .straight import sources_of
        return _write_page(args, sources_of(policy, claims, params))
    try:
        results = policy.settle_all(claims, params=params)
    except MedError as e:
        print(f"med: {e.diagnostics[0].message}", file=sys.stderr)
        return 1
    from .sheet import render_sheets
    page = render_sheets(results, policy, args.lang, args.format)
    return _write_page(args, page) or (0 if all(r.ok for r in results) and not skipped else 1)


def _write_page(args, page: str) -> int:
    """A sheet to `-o FILE` or stdout: 0, or 2 when the file cannot be written."""
    if not args.output:
        sys.stdout.write(page)
        return 0
    try:
        Path(args.output).write_text(page, encoding="utf-8")
    except OSError as e:
        print(f"med: cannot write {args.output}: {e.strerror}", file=sys.stderr)
        return 2
    return 0


def _member_run(args, path: str):
    """(policy, params, as-of date) for a member command, or its exit code."""
    import datetime as dt
    ready = _policy_and_params(args)
    if isinstance(ready, int):
        return ready
    try:
        as_of = dt.date.fromisoformat(args.as_of) if args.as_of else dt.date.today()
    except ValueError:
        print(f"med: --as-of takes a date YYYY-MM-DD, not {args.as_of!r}", file=sys.stderr)
        return 2
    return (*ready, as_of) if _readable(path) else 2


def _explain_member(args) -> int:
    from .members import command
    ready = _member_run(args, args.claim)
    if isinstance(ready, int):
        return ready
    page, problems = command.explain(ready[0], args.claim, as_of=ready[2], params=ready[1], lang=args.lang or "en",
                                     fmt=args.format)
    for p in problems:
        print(p, file=sys.stderr)
    return _write_page(args, page) or (1 if problems else 0)


# ---- members ----------------------------------------------------------------------

def cmd_members(args) -> int:
    """`med members`: the work is members/command.py's."""
    from .members import command
    ready = _member_run(args, args.members)
    if isinstance(ready, int):
        return ready
    fmt = args.format or {".csv": "csv", ".json": "json"}.get(Path(args.output or "").suffix.lower(), "jsonl")
    if args.output and not _writable(args.output, args):
        return 2
    try:
        with (open(args.output, "w", encoding="utf-8", newline="") if args.output else contextlib.nullcontext(sys.stdout)) as out:
            return command.run(ready[0], args.members, as_of=ready[2], params=ready[1], fmt=fmt, out=out)
    except BrokenPipeError:  # `| head` has what it wanted: main() ends quietly
        raise
    except OSError as e:
        written = args.output is not None and e.filename in (None, args.output)
        _say(args, f"med: cannot {'write' if written else 'read'} {args.output if written else e.filename or args.members}: "
                   f"{e.strerror or e}")
        return 2


# ---- test -------------------------------------------------------------------------

def cmd_test(args) -> int:
    from .examples import discover, run_file

    test_files = discover(args.paths)
    if not test_files:
        _say(args, "med test: no worked examples found (*.test.toml)")
        return 2
    # in the language of the policy tested (suihua.test.toml: suihua.med) when there is one,
    # unless asked or the locale says; several policies: the locale's (else English)
    policies = {str(f.parent / f"{f.name.split('.')[0]}.med") for f in test_files}
    args.message_lang = _language(args, policies.pop() if len(policies) == 1 else None)
    out = _Lines(args.message_lang)
    passed = failed = unreadable = 0
    for f in test_files:
        try:
            for o in run_file(f):
                if o.passed:
                    passed += 1
                    if args.verbose:
                        out(f"ok    {f.name}: {o.name}")
                    continue
                failed += 1
                out(f"FAIL  {f.name}" + (f":{o.line}" if o.line else "") + f": {o.name}"
                    + (f"  [{o.cite}]" if o.cite else ""))
                if o.error:
                    out(f"      {o.error}")
                for m in o.mismatches:
                    out(f"      {m.claim} {m.field}: expected {m.expected}, got {m.actual}"
                        + (f"  ({m.clause})" if m.clause else ""))
        except files.UnreadableFile as e:
            _say(args, f"med: {e}")
            unreadable += 1
    if passed or failed or not unreadable:  # (no tally where nothing could be read)
        out(f"{passed} passed, {failed} failed")
    out.close()
    if args.coverage and not _print_coverage(test_files, args.fail_under):
        failed += 1
    return 2 if unreadable else 1 if failed else 0


class _Lines:
    """Standard output that a closed pipe (`med test | head`) silences without ending the
    command: the examples still run, so the exit code still says whether one failed."""

    def __init__(self, lang: str = "en"):
        self.open = True
        self.lang = lang

    def __call__(self, line: str) -> None:
        if self.open:
            from .messages import translate
            try:
                print(translate(line, self.lang))
            except BrokenPipeError:
                self._closed()

    def close(self) -> None:
        if self.open:
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                self._closed()

    def _closed(self) -> None:
        self.open = False
        # Later writes, and Python's own flush at exit, go nowhere instead of failing.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _print_coverage(files, fail_under: Optional[float]) -> bool:
    """Each policy's clause coverage by its examples; False when one is under `fail_under`."""
    from .coverage import coverage
    from .examples import load_examples
    ok = True
    for f in files:
        loaded = load_examples(f)
        if loaded is None:
            continue
        policy, data = loaded
        c = coverage(policy, data.get("example", []), data.get("params", {}), data.get("unexercised", []))
        excused = len(c.missing) - len(c.untested)
        print(f"coverage {c.policy}: {c.exercised} of {c.clauses} clauses exercised ({c.percent:.1f}%)"
              + (f", {excused} left out with a reason: {c.accounted:.1f}% accounted for" if excused else ""))
        for m in c.missing:
            why = f"  — left out: {m.reason}" if m.reason else ""
            print(f"  {'-' if m.reason else 'not exercised'} {c.policy}:{m.line}  {m.text}{why}")
        for text in c.stale:
            print(f"  stale [[unexercised]] entry: no unexercised clause of {c.policy} contains {text!r}")
        if fail_under is not None and c.percent < fail_under:
            print(f"coverage {c.policy}: {c.percent:.1f}% is under --fail-under {fail_under:g}%")
            ok = False
    return ok


# ---- diff, plot ------------------------------------------------------------------------

def cmd_diff(args) -> int:
    from .impact import diff, render
    from .inputs import InputProblem
    params = _params(args.param)
    if params is None:
        return 2
    if args.chart and not _chart_path(args.chart):  # (before the replay, not after its report)
        return 2
    old, new = _load(args.old), _load(args.new)
    if isinstance(old, int) or isinstance(new, int):
        return max(x for x in (old, new) if isinstance(x, int))
    declared = tuple(sorted({*old.parameters, *new.parameters}))
    stray = [name for name in params if name not in declared]
    if stray:  # (a name neither version declares: the command line is wrong, as for med run)
        from .policy import unknown_parameter

        _say(args, f"med: {unknown_parameter(stray[0], declared)}")
        return 2
    claims = None
    if args.claims:
        if not _readable(args.claims, args):
            return 2
        claims = _every_claim(args, args.claims)
        if isinstance(claims, int):
            return claims
        claims = [c for c in claims if not isinstance(c, InputProblem)]
    try:
        report = diff(old, new, claims, params_old=params, params_new=params)
    except MedError as e:
        print(f"med: {e.diagnostics[0].message}", file=sys.stderr)
        return 1
    if args.format == "json":
        sys.stdout.write(json.dumps(report.to_json(), ensure_ascii=False, indent=1) + "\n")
    else:
        sys.stdout.write(render(report, args.format))
    if args.chart:
        return _draw(lambda plot: plot.plot_diff(report, args.chart), args.chart)
    return 0


def cmd_plot(args) -> int:
    ready = _policy_and_params(args)
    if isinstance(ready, int):
        return ready
    policy, params = ready
    try:
        return _draw(lambda plot: plot.plot_policy(policy, args.output, params=params, scheme=args.scheme,
                                                   benefit=args.benefit, level=args.level, status=args.status),
                     args.output)
    except MedError as e:
        print(f"med: {e.diagnostics[0].message}", file=sys.stderr)
        return 1


def _chart_path(out: str) -> bool:
    """A chart's file is named .png or .svg and can be written; else said (exit 2)."""
    if not out.endswith((".png", ".svg")):
        print(f"med: {out}: a chart is written as .png or .svg", file=sys.stderr)
        return False
    return _writable(out)


def _draw(draw, out: str) -> int:
    if not _chart_path(out):
        return 2
    try:
        from . import plot
        import matplotlib  # noqa: F401
    except ImportError:
        print("med: charts need matplotlib: pip install 'medpolicy[plot]'", file=sys.stderr)
        return 2
    try:
        panels = draw(plot)
    except ValueError as e:
        print(f"med: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"med: cannot write {out}: {e.strerror or e}", file=sys.stderr)
        return 2
    if plot.cjk_font() is None:
        print("med: no Chinese font found, labels are in English (install fonts-wqy-microhei)", file=sys.stderr)
    print(f"med: wrote {out} ({panels} panel{'s' if panels != 1 else ''})", file=sys.stderr)
    return 0


# ---- fmt, lsp ------------------------------------------------------------------------

def cmd_fmt(args) -> int:
    from .formatter import format_files

    return format_files(args.files, check=args.check)


def cmd_schema(args) -> int:
    """`med schema claim|result [--policy POLICY]`: the schema, for the policy's vocabulary."""
    from .schema import dumps, schema_for

    vocab = None
    if args.policy:
        policy = _load(args.policy, args)  # (a file that cannot be read: 2, as on every command)
        if isinstance(policy, int):
            return policy
        vocab = policy.compiled.vocabulary
    sys.stdout.write(dumps(schema_for(args.kind, vocab)))
    return 0


def cmd_lsp(args) -> int:
    from .lsp import serve

    serve(lang=args.lang)
    return 0


def cmd_serve(args) -> int:
    from .serve import serve

    return serve(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
