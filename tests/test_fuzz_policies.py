"""Any text given to `medpolicy.compile` or `med check` ends in a compiled policy or in errors
naming file, line, column and a message: never another exception. Sizes, nesting and numbers
are limited with a clear error, and a policy can only name modules, never reach a path.

The fuzzing here is short and deterministic (a few hundred inputs); `fuzz/fuzz_policies.py`
runs the same generators for minutes."""

from __future__ import annotations

import ast as pyast
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import medpolicy
from medpolicy.parser import MAX_CLAUSES, MAX_DEPTH, MAX_NUMBER, MAX_SOURCE_BYTES
from med_strategies import ROOT, check_compile, mutated_policies, policy_texts

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])

HEADER = 'policy "x" effective 2026-01-01 to 2030-12-31\nuse standard\n'
CLAIM = {"id": "c1", "person": "p", "date": "2026-03-05", "scheme": "employee", "status": "retired",
         "benefit": "inpatient", "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "1000.00"}]}


@FUZZ
@given(policy_texts())
def test_grammar_shaped_texts(text):
    outcome = check_compile(text)
    if isinstance(outcome, medpolicy.Policy):
        _settles(outcome)


@FUZZ
@given(mutated_policies())
def test_mutated_shipped_policies(text):
    outcome = check_compile(text)
    if isinstance(outcome, medpolicy.Policy):
        _settles(outcome)


def _settles(policy) -> None:
    """A policy that compiles settles a claim to a result or an error row, never a crash."""
    params = {name: "10%" for name in policy.parameters}
    for scheme in ("employee", "resident"):
        row = policy.settle(dict(CLAIM, scheme=scheme), params=params).to_json()
        assert "error" not in row or row["error"]["code"] != "internal", row


# ---- limits ----------------------------------------------------------------------------

def _error(text: str) -> medpolicy.MedError:
    with pytest.raises(medpolicy.MedError) as info:
        medpolicy.compile(text, "x.med")
    return info.value


def test_a_file_too_large():
    e = _error("# " + "x" * MAX_SOURCE_BYTES)
    assert (e.file, e.line, e.column, e.message) == ("x.med", 1, 1, f"the file is larger than {MAX_SOURCE_BYTES} bytes")


def test_blocks_nested_too_deep():
    text = HEADER + "scheme employee\n" + "".join("  " * (i + 1) + "inpatient\n" for i in range(MAX_DEPTH + 10))
    e = _error(text)
    assert (e.line, e.message) == (MAX_DEPTH + 3, f"blocks are nested more than {MAX_DEPTH} deep")


def test_numbers_too_large():
    e = _error(HEADER + "scheme employee\n  inpatient rate 50% deductible 1" + "0" * 5000 + "\n")
    assert (e.line, e.column) == (4, 33)
    assert e.message == f"the number 10000000000000000000… is too large (numbers stay below {MAX_NUMBER:,})"
    e = _error(HEADER + "scheme employee\n  maternity rate 50% allowance 1000000000000 days\n")
    assert (e.line, e.column, e.message) == (4, 32, f"the number 1000000000000 is too large (numbers stay below {MAX_NUMBER:,})")
    e = _error(HEADER + "scheme employee\n  inpatient rate 50% cap 1亿 yearly\n")  # not a number at all
    assert e.line == 4


def test_too_many_clauses():
    # The compiler compares clauses in pairs: the count is bounded so no text takes long to check.
    text = HEADER + "scheme employee\n" + "".join(f"  inpatient age >= {i} rate 50%\n" for i in range(MAX_CLAUSES + 5))
    e = _error(text)
    assert (e.line, e.column, e.message) == (MAX_CLAUSES + 4, 3, f"more than {MAX_CLAUSES} clauses in one file "
                                                                "(each entry of a table counts as one)")


def test_a_long_line_is_only_slow_to_read():
    text = HEADER + "scheme employee\n  inpatient " + "level3 " * 20_000 + "rate 50%\n"
    e = _error(text)
    assert e.line == 4 and "has no rate" in e.message


@pytest.mark.parametrize("text, expected", [
    ("\x00\x01", (1, 1, "unexpected character '\\x00'")),
    ("\ud800", (1, 1, "unexpected character '\\ud800'")),
    ("\ufeff\ufeff", None),                 # byte-order marks only: an empty policy
    ("policy", (1, 7, 'unexpected end of line; expected a quoted text ("...")')),
    ('"', (1, 1, "unexpected character '\"'")),
    ("\t\t\n  \n\t x", (3, 1, "unexpected indentation: only a line that opens a block may be followed by indented lines")),
    ("#" * 10, None),                         # a comment only
    ("scheme\n", (1, 7, "unexpected end of line; expected a name")),
    ("scheme employee\n  inpatient rate 50%\n    level3\n", (1, 1, "unknown scheme name `employee`")),  # no `use standard`
    ("\r\r\r\n\n", None),                     # blank lines only
])
def test_small_broken_texts(text, expected):
    outcome = check_compile(text)
    if expected is None:
        assert isinstance(outcome, medpolicy.Policy), outcome
    else:
        assert isinstance(outcome, medpolicy.MedError), outcome
        d = outcome.diagnostics[0]
        assert (d.span.line, d.span.column, d.message) == expected


# ---- a policy never reaches outside ------------------------------------------------------

@pytest.mark.parametrize("line, column", [("use ../x", 5), ("use /etc/passwd", 5), ("引用 ../../secret", 4),
                                          ("use x.med", 6), ("use ~/x", 5), ("use C:\\x", 6)])
def test_use_refuses_paths(line, column):
    e = _error(HEADER + line + "\n")
    assert (e.line, e.column) == (3, column)
    assert e.message == "`use` names a module (a .med file beside the policy, or the standard library), not a path"


def test_use_finds_only_modules_beside_the_policy(tmp_path):
    (tmp_path / "inner").mkdir()
    (tmp_path / "inner" / "main.med").write_text(HEADER + "use outside\n", encoding="utf-8")
    (tmp_path / "outside.med").write_text("define group\n  g1\n", encoding="utf-8")
    (tmp_path / "inner" / "linked.med").symlink_to(tmp_path / "outside.med")
    e = _load_error(tmp_path / "inner" / "main.med")
    assert (e.line, e.message) == (3, f"no module `outside` in the standard library or beside {tmp_path / 'inner' / 'main.med'}")
    (tmp_path / "inner" / "main.med").write_text(HEADER + "use linked\n", encoding="utf-8")
    e = _load_error(tmp_path / "inner" / "main.med")
    assert e.message.startswith("no module `linked`")


def test_a_policy_that_uses_itself_or_a_cycle_of_uses_is_an_error(tmp_path):
    # (each module is loaded once, so such a use was ignored without a word and `med check` said ok)
    (tmp_path / "self.med").write_text(HEADER + "use self\n", encoding="utf-8")
    e = _load_error(tmp_path / "self.med")
    assert (e.line, e.column, e.message) == (3, 1, "`use self` names the policy being compiled")
    (tmp_path / "a.med").write_text(HEADER + "use b\n", encoding="utf-8")
    (tmp_path / "b.med").write_text("use a\n", encoding="utf-8")
    e = _load_error(tmp_path / "a.med")
    assert (e.file, e.line, e.message) == (str(tmp_path / "b.med"), 1,
                                           f"`use a` names the policy being compiled ({tmp_path / 'a.med'}): a cycle of uses")


def test_unreadable_modules_are_errors(tmp_path):
    (tmp_path / "main.med").write_text(HEADER + "use bad\n", encoding="utf-8")
    (tmp_path / "bad.med").write_bytes(b"define group\n  \xff x\n")
    e = _load_error(tmp_path / "main.med")
    assert (e.file, e.line, e.column) == (str(tmp_path / "bad.med"), 2, 3)
    assert e.message == "byte 0xff is not UTF-8: save the file as UTF-8"
    e = _load_error(tmp_path)
    assert e.message == f"cannot read {tmp_path}: Is a directory"


def _load_error(path) -> medpolicy.MedError:
    with pytest.raises(medpolicy.MedError) as info:
        medpolicy.load(path)
    return info.value


# The claim reader's fast path is Python source generated from the package's own claim table
# (claim_fields.py) and compiled once: names reach the source only as repr() literals, and
# every value from a policy (the allowed names) is passed in, never written into it.
# The settle functions of straight.py likewise: generated from a settlement plan, a policy's names
# only as repr() literals (in comments too), its amounts passed in as keyword defaults.
GENERATES_FROM_ITS_OWN_TABLE = {"claim_compiler.py": {"exec", "compile"},  # the claim table (test_generated_readers)
                               "result_line.py": {"exec", "compile"},  # the result table (test_result_line)
                               "straight.py": {"exec", "compile"}}  # a settlement plan (test_straight)


def test_the_package_never_evaluates_code():
    """No eval, exec or dynamic import anywhere in the interpreter: a policy is data."""
    found = []
    for path in sorted((ROOT / "interpreter").glob("*.py")):
        tree = pyast.parse(path.read_text(encoding="utf-8"))
        own = {n.name for n in tree.body if isinstance(n, pyast.FunctionDef)}  # medpolicy.compile is ours
        own |= GENERATES_FROM_ITS_OWN_TABLE.get(path.name, set())
        for node in pyast.walk(tree):
            if isinstance(node, pyast.Call) and isinstance(node.func, pyast.Name) and \
                    node.func.id in {"eval", "exec", "compile", "__import__"} - own:
                found.append(f"{path.name}:{node.lineno}: {node.func.id}")
            if isinstance(node, pyast.Attribute) and node.attr in ("import_module", "run_path", "system", "popen"):
                found.append(f"{path.name}:{node.lineno}: {node.attr}")
    assert not found


# ---- med check as a subprocess -------------------------------------------------------------

def test_med_check_on_hostile_files(tmp_path):
    files = {"binary.med": b"\x00\xff\xfe\x01", "latin1.med": "policy \"é\"\n".encode("latin-1"),
             "empty.med": b"", "deep.med": (HEADER + "scheme employee\n" + "".join(
                 "  " * (i + 1) + "inpatient\n" for i in range(200))).encode(),
             "brackets.med": b"[" * 100_000, "bom.med": b"\xef\xbb\xbf" + HEADER.encode() + b"scheme employee\n  inpatient rate 50%\n"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    proc = subprocess.run([sys.executable, "-m", "medpolicy.cli", "check", *sorted(files), "nope.med"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2  # one named file cannot be read at all (the rest are content: 1)
    assert "Traceback" not in proc.stderr
    for name in ("binary.med:1:2: error: byte 0xff is not UTF-8", "latin1.med:1:9: error: byte 0xe9 is not UTF-8",
                 f"deep.med:{MAX_DEPTH + 3}:", "brackets.med:1:1: error: unexpected character '['",
                 "med: cannot read nope.med: No such file or directory", "bom.med: ok"):
        assert name in proc.stderr, name
    assert "empty.med: ok" in proc.stderr or "empty.med:1:1: error" in proc.stderr


def test_use_standard_always_means_the_standard_library(tmp_path):
    # A standard.med beside a policy used to replace the standard library without a word.
    (tmp_path / "main.med").write_text(HEADER + "scheme employee\n  inpatient rate 50%\n", encoding="utf-8")
    assert medpolicy.load(tmp_path / "main.med").compiled.vocabulary.lookup("level", "level3") is not None
    (tmp_path / "standard.med").write_text("define level\n  level9\n", encoding="utf-8")
    e = _load_error(tmp_path / "main.med")
    assert (e.file, e.line, e.column) == (str(tmp_path / "main.med"), 2, 1)
    assert e.message == (f"`use standard` means the standard library (stdlib/standard.med), but "
                         f"{tmp_path / 'standard.med'} has the same name: rename the local module and "
                         f"`use` it by its new name")
