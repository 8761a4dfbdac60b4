"""Named files on every command: one that cannot be read at all (missing, a folder, a FIFO, a
device, no permission) is `med: cannot read PATH: reason` and exit 2, before anything blocks;
one that is read but bad is exit 1 with its position. `med test` reports a broken test file
at its line, never reads a policy outside its folder, says why a claim was not settled, and
keeps its exit code when its output pipe closes."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import threading

import pytest

from med_strategies import ROOT

SUIHUA = ROOT / "policies" / "suihua.med"
CLAIM = ('{"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "benefit": "inpatient", '
         '"facility": {"level": "level3"}, "items": [{"class": "A", "amount": "1000.00"}]}')


class Done:
    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def med(*args: str, cwd=None, timeout: float = 20) -> Done:
    """`med ARGS` in this process (a subprocess costs a second of imports), on a thread, so a
    command that blocks on a FIFO fails the test instead of hanging the suite."""
    from medpolicy.cli import main

    out, err, result = io.StringIO(), io.StringIO(), []
    old = os.getcwd()
    os.chdir(cwd or old)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            worker = threading.Thread(target=lambda: result.append(main(list(args))), daemon=True)
            worker.start()
            worker.join(timeout)
    finally:
        os.chdir(old)
    assert result, f"med {' '.join(args)} did not end in {timeout} s"
    assert "Traceback" not in err.getvalue(), err.getvalue()
    return Done(result[0], out.getvalue(), err.getvalue())


@pytest.fixture
def place(tmp_path):
    shutil.copy(SUIHUA, tmp_path / "suihua.med")
    (tmp_path / "claim.json").write_text(CLAIM, encoding="utf-8")
    (tmp_path / "claims.jsonl").write_text(CLAIM + "\n", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo.med")
    return tmp_path


def _commands(bad: str) -> list[tuple[str, ...]]:
    return [("check", bad), ("fmt", bad), ("fmt", "--check", bad), ("run", bad, "claims.jsonl"),
            ("run", "suihua.med", bad), ("explain", bad, "claim.json"), ("explain", "suihua.med", bad),
            ("test", bad), ("schema", "claim", "--policy", bad), ("diff", bad, "suihua.med"),
            ("diff", "suihua.med", "suihua.med", bad), ("plot", bad)]


@pytest.mark.parametrize("bad, reason", [("missing.med", "No such file or directory"),
                                         ("folder", "Is a directory"),
                                         ("fifo.med", "not a regular file"),
                                         ("/dev/zero", "not a regular file")])
def test_an_unreadable_named_file_is_exit_2_on_every_command(place, bad, reason):
    for args in _commands(bad):
        if args[0] == "test" and bad == "folder":
            continue  # a folder is where `med test` looks for test files
        proc = med(*args, cwd=place, timeout=30)  # a FIFO or /dev/zero would block or never end
        assert proc.returncode == 2, (args, proc.stderr)
        assert f"med: cannot read {bad}: {reason}" in proc.stderr, (args, proc.stderr)
        if args[0] == "test":  # (no "0 passed, 0 failed" where nothing could be read)
            assert proc.stdout == "", (args, proc.stdout)


def test_a_file_that_opens_but_cannot_be_read_is_exit_2(place):
    # Root may open any file; /proc/self/mem opens as a regular file and fails on read (EIO).
    # Anyone else gets the same from a file without permission.
    bad = "/proc/self/mem" if os.geteuid() == 0 else "secret.med"
    if bad == "secret.med":
        (place / bad).write_text("x", encoding="utf-8")
        (place / bad).chmod(0)
    for args in (("check", bad), ("fmt", bad), ("run", bad, "claims.jsonl"), ("explain", bad, "claim.json"),
                 ("test", bad)):
        proc = med(*args, cwd=place)
        assert proc.returncode == 2 and f"med: cannot read {bad}: " in proc.stderr, (args, proc.stderr)


def test_a_read_but_bad_file_is_exit_1_with_its_position(place):
    (place / "latin.med").write_bytes("policy \"é\"\n".encode("latin-1"))
    for args in (("check", "latin.med"), ("fmt", "latin.med")):
        proc = med(*args, cwd=place)
        assert proc.returncode == 1 and "latin.med:1:9: error: byte 0xe9 is not UTF-8" in proc.stderr, args


def test_explain_with_a_folder_as_the_claim_is_a_clean_message(place):
    proc = med("explain", "suihua.med", "folder", cwd=place)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == "med: cannot read folder: Is a directory\n"


@pytest.mark.parametrize("out", ["missing/r.parquet", "missing/r.arrow", "missing/r.xlsx", "missing/r.jsonl", "folder"])
def test_an_output_that_cannot_be_written_is_said_before_a_claim_is_settled(place, out):
    # JSON lines to Parquet, Arrow or xlsx are settled in memory and were written at the end:
    # a traceback of pyarrow's or openpyxl's, once the whole file had been settled.
    reason = "Is a directory" if out == "folder" else "No such file or directory"
    proc = med("run", "suihua.med", "claims.jsonl", "--no-trace", "-o", out, cwd=place)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", f"med: cannot write {out}: {reason}\n")
    proc = med("run", "suihua.med", "claims.jsonl", "--no-trace", "-o", "fresh.parquet", cwd=place)
    assert proc.returncode == 0 and (place / "fresh.parquet").read_bytes()[:4] == b"PAR1"


def test_a_chart_that_cannot_be_written_is_said_before_anything_is_drawn(place):
    # (plot drew for seconds, and diff printed its whole report, before finding the folder missing)
    for args in (("plot", "suihua.med", "-o", "missing/c.png"), ("diff", "suihua.med", "suihua.med", "--chart", "missing/c.png")):
        proc = med(*args, cwd=place)
        assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", "med: cannot write missing/c.png: No such file or directory\n")
    assert not (place / "missing").exists()


def test_a_closed_standard_input_is_said_on_every_command_that_reads_it(place, monkeypatch):
    # `med run POLICY - <&-`: Python starts with sys.stdin None (an AttributeError before).
    monkeypatch.setattr(sys, "stdin", None)
    members = ("--param", "avg_wage=72000", "--param", "resident_premium=400", "--as-of", "2026-06-30")
    for args in (("run", "suihua.med", "-"), ("explain", "suihua.med", "-"), ("fmt", "-"),
                 ("members", "suihua.med", "-", *members)):  # (members said "cannot read or write: -: ...")
        proc = med(*args, cwd=place)
        assert (proc.returncode, proc.stderr) == (2, "med: cannot read -: standard input is closed\n"), args


def test_explain_says_each_line_it_skips_and_reads_parquet(place):
    # Bad lines were dropped without a word and the exit was 0; a Parquet file was "no claim found".
    import pyarrow.parquet as pq

    from medpolicy.arrow import claims_table

    (place / "two.jsonl").write_text(CLAIM + "\n" + '{"id": "x2", broken\n', encoding="utf-8")
    proc = med("explain", "suihua.med", "two.jsonl", cwd=place)
    assert proc.returncode == 1 and "claim c1" in proc.stdout
    assert proc.stderr == "two.jsonl:2: bad JSON: Expecting property name enclosed in double quotes (column 14); skipped\n"
    pq.write_table(claims_table([json.loads(CLAIM)]), place / "claims.parquet")
    proc = med("explain", "suihua.med", "claims.parquet", cwd=place)
    assert (proc.returncode, proc.stderr) == (0, "") and "claim c1" in proc.stdout


def test_a_fifo_as_the_policy_is_refused_without_waiting(place):
    # Nobody ever writes to the FIFO: opening it for reading the usual way would wait forever.
    proc = subprocess.run([sys.executable, "-m", "medpolicy.cli", "check", "fifo.med"], cwd=place,
                          capture_output=True, text=True, timeout=20)
    assert (proc.returncode, proc.stderr) == (2, "med: cannot read fifo.med: not a regular file\n")
    import medpolicy

    with pytest.raises(medpolicy.MedLoadError) as info:
        medpolicy.load(place / "fifo.med")
    assert info.value.message == f"cannot read {place / 'fifo.med'}: not a regular file"


# ---- med test --------------------------------------------------------------------------------

EXAMPLE = '''
[[example]]
name = "one stay"

  [[example.claim]]
  id = "c1"
  person = "p1"
  date = "2026-03-05"
  scheme = "employee"
  benefit = "inpatient"
  facility = { level = "level3" }
  items = [ { class = "A", amount = "1000.00" } ]

  [[example.expect]]
  id = "c1"
  deductible = "900.00"
'''


@pytest.mark.parametrize("text, where", [
    (b"x = \n", "bad.test.toml:1:5: not TOML: Invalid value"),
    (b"[[example]]\nname = \"\xff\"\n", "bad.test.toml:2:9: byte 0xff is not UTF-8: save the file as UTF-8"),
    (b"example = 5\n", "bad.test.toml:1: the file: example must be an array of tables, not int"),
    (b"x = " + b"[" * 5000 + b"]" * 5000 + b"\n", "bad.test.toml:1: not TOML this reader can take: nested too deeply"),
    (EXAMPLE.replace("[[example.expect]]", "[[example.expects]]").encode(),
     "bad.test.toml:2: example 'one stay' has an unknown key 'expects' (did you mean expect?)"),
    (EXAMPLE.replace('name = "one stay"', "name = 5").encode(),
     "bad.test.toml:2: example 5: name must be a string, not int"),
    (b"[[example]]\nname = \"x\"\nclaim = 5\n", "bad.test.toml:1: example 'x': claim must be an array of tables, not int"),
])
def test_a_broken_test_file_is_reported_at_its_line(place, text, where):
    (place / "bad.test.toml").write_bytes(text)
    proc = med("test", "bad.test.toml", cwd=place)
    assert proc.returncode == 1, proc.stderr
    assert where in proc.stdout, proc.stdout


def test_a_test_file_with_a_byte_order_mark_is_read(place):
    # (as .med, JSON lines and CSV files are; it was "not TOML: Invalid statement" at 1:1)
    text = 'policy = "suihua.med"\n' + EXAMPLE
    (place / "bom.test.toml").write_bytes(b"\xef\xbb\xbf" + text.encode())
    (place / "plain.test.toml").write_bytes(text.encode())
    assert med("test", "bom.test.toml", cwd=place).stdout.replace("bom", "plain") == \
        med("test", "plain.test.toml", cwd=place).stdout
    proc = med("test", "bom.test.toml", cwd=place)
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout


@pytest.mark.parametrize("name", ["/etc/shadow", "/etc/passwd.med", "../outside.med", "sub/../../outside.med",
                                  "link.med"])
def test_a_test_file_names_only_policies_beside_it_or_under_its_folder(tmp_path, name):
    inner = tmp_path / "inner"
    inner.mkdir()
    (tmp_path / "outside.med").write_text("SECRET-TOKEN policy\n", encoding="utf-8")
    os.symlink(tmp_path / "outside.med", inner / "link.med")
    (inner / "x.test.toml").write_text(f'policy = "{name}"\n' + EXAMPLE, encoding="utf-8")
    proc = med("test", "x.test.toml", cwd=inner)
    assert proc.returncode == 1
    assert "x.test.toml:1: policy must name a .med file beside the test file or in a folder under it" in proc.stdout
    assert "SECRET" not in proc.stdout + proc.stderr and "root:" not in proc.stdout + proc.stderr


def test_a_policy_in_a_folder_under_the_test_file_is_allowed(tmp_path):
    (tmp_path / "sub").mkdir()
    shutil.copy(SUIHUA, tmp_path / "sub" / "city.med")
    (tmp_path / "x.test.toml").write_text('policy = "sub/city.med"\n' + EXAMPLE, encoding="utf-8")
    proc = med("test", "x.test.toml", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "1 passed, 0 failed\n"), proc.stdout


def test_an_unsettled_example_claim_shows_its_error_and_the_example_line(place):
    (place / "suihua.test.toml").write_text(EXAMPLE.replace('scheme = "employee"', 'scheme = "employe"'),
                                            encoding="utf-8")
    proc = med("test", "suihua.test.toml", cwd=place)
    assert proc.returncode == 1
    assert proc.stdout == (
        "FAIL  suihua.test.toml:2: one stay\n"
        "      c1 result: expected a settlement, got unknown-value: scheme 'employe' is not one of: "
        "employee, resident (field scheme)\n"
        "0 passed, 1 failed\n")


def test_a_wrong_amount_points_at_the_example_and_the_clause(place):
    (place / "suihua.test.toml").write_text(EXAMPLE.replace('"900.00"', '"800.00"'), encoding="utf-8")
    proc = med("test", "suihua.test.toml", cwd=place)
    # 第二十一条（一）3: the level-3 deductible is 900, from this clause of suihua.med.
    line = next(n for n, text in enumerate(SUIHUA.read_text(encoding="utf-8").splitlines(), 1)
                if text.split() and text.split()[:3] == ["level3", "deductible", "900"])
    assert proc.stdout.splitlines()[:2] == [
        "FAIL  suihua.test.toml:2: one stay",
        f"      c1 deductible: expected 800.00, got 900.00  (suihua.med:{line} 第二十一条（一）3)"]


def test_a_closed_output_pipe_does_not_hide_a_failed_example(place):
    (place / "suihua.test.toml").write_text(EXAMPLE.replace('"900.00"', '"800.00"') * 1, encoding="utf-8")
    for expected, text in ((1, EXAMPLE.replace('"900.00"', '"800.00"')), (0, EXAMPLE)):
        (place / "suihua.test.toml").write_text(text, encoding="utf-8")
        proc = subprocess.Popen([sys.executable, "-m", "medpolicy.cli", "test", "suihua.test.toml"], cwd=place,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdout.close()  # the reader is gone before the first line (`med test | head -0`)
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == expected and err == "", err
