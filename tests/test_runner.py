"""`med run`'s streaming machinery (interpreter/runner.py, inputs.py, output.py): the same rows
as settling everything in memory, whether the claims are sorted in memory or out of core;
duplicate ids found across chunks; JSON arrays read through a small window; output that
cannot be written refused before any claim; a progress bar only on a terminal."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys

import pytest

import medpolicy
from medpolicy import inputs, runner
from medpolicy.inputs import ClaimFile, InputProblem, read_claims
from medpolicy.output import writer_for
from med_strategies import ROOT
from terminal import on_a_terminal

POLICY = str(ROOT / "policies" / "suihua.med")
SUIHUA = medpolicy.load(POLICY)
LEVELS = ("primary", "level1", "level2", "level3")


def _claims(n: int, persons: int, seed: int) -> list[dict]:
    """Shuffled inpatient claims, a few a person, large enough to cross caps and bands."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        k = rng.randrange(persons)
        scheme = "resident" if k % 3 == 0 or rng.random() < 0.05 else "employee"
        claim = {"id": f"c{i}", "person": f"p{k}", "date": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 3):02d}",
                 "scheme": scheme, "benefit": "inpatient", "facility": {"level": rng.choice(LEVELS)},
                 "items": [{"class": "A", "amount": f"{rng.randint(100, 90_000)}.{rng.randint(0, 99):02d}"}]}
        if scheme == "employee":
            claim["status"] = rng.choice(("employed", "retired"))
        out.append(claim)
    return out


def _lines(claims: list[dict]) -> list[bytes]:
    return [json.dumps(c, ensure_ascii=False).encode("utf-8") for c in claims]


def _expected(path, trace: bool) -> list[str]:
    """What settling every claim in memory gives (Policy.settle_all), rows in input order."""
    items = read_claims(str(path))
    results = iter(SUIHUA.settle_all([c for c in items if not isinstance(c, InputProblem)]))
    rows = [it.as_result() if isinstance(it, InputProblem) else next(results).to_json(trace=trace) for it in items]
    return [json.dumps(r, ensure_ascii=False) for r in rows]


def _run(path, *, trace: bool, fmt: str = "jsonl", **knobs) -> tuple[list[str], runner.Summary, list[str]]:
    out, reported = io.StringIO(), []
    with ClaimFile(str(path)) as source:
        summary = runner.run_claims(SUIHUA, {}, source, writer_for(fmt, out, SUIHUA), trace=trace,
                                    report=reported.append, **knobs)
    return out.getvalue().splitlines(), summary, reported


@pytest.fixture
def spills(monkeypatch):
    """How many sorted runs each kind of record was parked in."""
    counts: dict = {}
    write = runner._Spill.write

    def counting(self, records):
        counts[self.name] = counts.get(self.name, 0) + 1
        return write(self, records)

    monkeypatch.setattr(runner._Spill, "write", counting)
    return counts


@pytest.mark.parametrize("trace", [False, True])
def test_out_of_core_gives_the_rows_of_an_in_memory_run(tmp_path, spills, trace):
    claims = _claims(600, 60, seed=3)
    lines = _lines(claims)
    lines[10:10] = [b"{broken", b"[1, 2]"]                      # a bad line and a claim that is no object
    lines[300:300] = [_lines([dict(claims[0], date="2026-02-30", id="bad-date")])[0]]
    path = tmp_path / "claims.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    expected = _expected(path, trace)
    in_memory, summary, reported = _run(path, trace=trace)
    assert in_memory == expected and spills == {}
    assert (summary.rows, summary.errors) == (603, 3)
    assert reported == [f"{path}:11: bad JSON: Expecting property name enclosed in double quotes (column 2); skipped",
                        f"{path}:12: a claim must be a JSON object, not an array; skipped"]
    out_of_core, _, _ = _run(path, trace=trace, chunk=64, result_budget=4000, workdir=str(tmp_path))
    assert out_of_core == expected
    assert spills["claims"] == 600 // 64 and spills["ids"] == 600 // 64 and spills["results"] >= 2
    assert os.listdir(tmp_path) == ["claims.jsonl"]  # the runs are gone
    as_text, _, _ = _run(path, trace=trace, in_memory_bytes=0)  # a "large" file: claims kept as text
    assert as_text == expected


def test_each_person_settles_in_date_order_ties_in_input_order(tmp_path):
    # p1's claims in reverse date order, two on one day: the one first in the file settles
    # first, and the second crosses the cap of 120,000.
    base = {"person": "p1", "scheme": "employee", "status": "employed", "benefit": "inpatient",
            "facility": {"level": "level1"}}
    claims = [dict(base, id="late", date="2026-09-01", items=[{"class": "A", "amount": "10300.00"}]),
              dict(base, id="tie-1", date="2026-05-01", items=[{"class": "A", "amount": "100300.00"}]),
              dict(base, id="tie-2", date="2026-05-01", items=[{"class": "A", "amount": "40300.00"}]),
              dict(base, id="other", person="p2", date="2026-01-01", items=[{"class": "A", "amount": "1300.00"}])]
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"\n".join(_lines(claims)))
    for knobs in ({}, {"chunk": 1}):
        rows = [json.loads(r) for r in _run(path, trace=False, **knobs)[0]]
        assert [r["id"] for r in rows] == ["late", "tie-1", "tie-2", "other"]
        # 第二十一条（一）1: (100,300 - 300) × 90% = 90,000; then (40,300 - 300) × 90% = 36,000,
        # of which the 30,000 left under the cap is paid; the stay in September finds the cap
        # reached. (In the other order: 36,000, then 84,000 of 90,000.)
        assert [r["paid"]["basic"] for r in rows] == ["0.00", "90000.00", "30000.00", "900.00"]


def test_a_repeated_id_is_found_across_chunks(tmp_path):
    claims = _claims(90, 30, seed=5)
    claims[70]["id"] = claims[80]["id"] = claims[3]["id"]
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"\n".join(_lines(claims)))
    rows = [json.loads(r) for r in _run(path, trace=False, chunk=8)[0]]
    repeated = {"id": "c3", "error": {"code": "duplicate-id", "field": "id",
                                      "message": "claim id 'c3' appears more than once in this run"}}
    assert rows[70] == rows[80] == repeated
    assert "error" not in rows[3] and sum("error" in r for r in rows) == 2
    assert rows == [json.loads(r) for r in _expected(path, False)]


def test_a_json_array_is_read_through_a_small_window(tmp_path, monkeypatch):
    monkeypatch.setattr(inputs, "_READ_SIZE", 7)
    claims = _claims(40, 10, seed=9)
    text = "[\n" + ",\n".join(json.dumps(c, indent=1) for c in claims) + ", 12345678901234567890\n]\n"
    path = tmp_path / "c.json"
    path.write_text(text, encoding="utf-8")
    with inputs.ClaimFile(str(path)) as f:  # (the number at the end read whole, though cut by the window)
        assert [value for _, value, _ in f.values()] == json.loads(text)
    items = read_claims(str(path))
    assert items[:40] == claims and (items[40].line, items[40].message) == (
        text[:text.index("1234567890")].count("\n") + 1, "a claim must be a JSON object, not a number")
    broken = text.replace('"c17"', '"c17" "x"')
    path.write_text(broken, encoding="utf-8")
    items = read_claims(str(path))
    line = broken[:broken.index('"x"')].count("\n") + 1
    assert items[:17] == claims[:17] and len(items) == 18
    # ` "id": "c17" "x",`: the same line and column as reading the whole text would name
    assert (items[17].line, items[17].message) == (line, "bad JSON: Expecting ',' delimiter (column 14)")
    with pytest.raises(json.JSONDecodeError) as whole:
        json.loads(broken)
    assert (whole.value.lineno, whole.value.colno) == (line, 14)


def test_csv_output_streams_with_the_policys_funds(tmp_path):
    claims = _claims(30, 10, seed=2)
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"\n".join(_lines(claims)))
    rows, _, _ = _run(path, trace=False, fmt="csv", chunk=4)
    assert rows[0] == ("id,person,year,benefit,total,excluded,prepay,eligible,deductible,"
                       "paid.basic,paid.major,paid.maternity,patient,account,cash,account_balance,allowance,error")
    expected = [json.loads(r) for r in _expected(path, False)]
    assert [r.split(",")[0] for r in rows[1:]] == [r["id"] for r in expected]
    assert [r.split(",")[9] for r in rows[1:]] == [r["paid"]["basic"] for r in expected]


def _med(*args, **kw):
    return subprocess.run([sys.executable, "-m", "medpolicy.cli", *args], capture_output=True, text=True,
                          timeout=60, **kw)


@pytest.mark.parametrize("target", ["dir", "missing/x.jsonl"])
def test_output_that_cannot_be_written_is_refused_before_settling(tmp_path, target):
    claims = tmp_path / "c.jsonl"
    claims.write_bytes(b"{broken\n" + b"\n".join(_lines(_claims(5, 2, seed=1))))
    (tmp_path / "dir").mkdir()
    out = tmp_path / target
    proc = _med("run", POLICY, str(claims), "-o", str(out))
    reason = "Is a directory" if target == "dir" else "No such file or directory"
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", f"med: cannot write {out}: {reason}\n")


def test_claims_that_cannot_be_read_at_all_are_refused(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    for path, reason in ((tmp_path, "Is a directory"), (tmp_path / "fifo", "not a regular file")):
        proc = _med("run", POLICY, str(path))
        assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", f"med: cannot read {path}: {reason}\n")


def test_a_full_disk_stops_the_run_with_a_message(tmp_path):
    claims = tmp_path / "c.jsonl"
    claims.write_bytes(b"\n".join(_lines(_claims(50, 10, seed=1))))
    proc = _med("run", POLICY, str(claims), "-o", "/dev/full")
    assert (proc.returncode, proc.stderr) == (1, "med: run stopped: cannot write the output: No space left on device\n")


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path):
    claims = tmp_path / "c.jsonl"
    claims.write_bytes(b"\n".join(_lines(_claims(50, 10, seed=1))))
    proc = _med("run", POLICY, str(claims), "--no-trace")
    assert proc.returncode == 0 and proc.stderr == "" and len(proc.stdout.splitlines()) == 50


def test_a_progress_bar_on_a_terminal(tmp_path):
    claims = tmp_path / "c.jsonl"
    claims.write_bytes(b"\n".join(_lines(_claims(3000, 600, seed=1))))
    with open(tmp_path / "out.jsonl", "w") as out:
        status, text = on_a_terminal([sys.executable, "-m", "medpolicy.cli", "run", POLICY, str(claims), "--no-trace"],
                                     stdout=out, timeout=60)
    assert status == 0
    final = text.replace("\r", "\n").strip().splitlines()[-1]
    # tqdm: "settling: 100%|██████████| 3.00k/3.00k [00:01<00:00, 2.10k claims/s]"
    assert final.startswith("settling: 100%") and "3.00k/3.00k" in final and "claims/s]" in final, text
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 3000


def _grouped(claims: list[dict]) -> list[dict]:
    """The claims grouped by person (persons in order of first appearance, not sorted) and
    in date order within a person (ties in input order): a bureau's export by person."""
    first: dict = {}
    for i, c in enumerate(claims):
        first.setdefault(c["person"], i)
    return sorted(claims, key=lambda c: (first[c["person"]], c["date"]))


@pytest.mark.parametrize("knobs", [{}, {"chunk": 64}, {"chunk": 64, "in_memory_bytes": 0}])
def test_input_already_in_settling_order_settles_as_it_comes_with_the_same_rows(tmp_path, monkeypatch, knobs):
    claims = _grouped(_claims(400, 50, seed=5))
    assert [c["person"] for c in claims] != sorted(c["person"] for c in claims)  # grouped, not sorted
    path = tmp_path / "grouped.jsonl"
    path.write_bytes(b"\n".join(_lines(claims)) + b"\n")
    expected = _expected(path, trace=False)
    in_order, held = [], []
    real_merged, real_put = runner._Sorter.merged, runner._InOrder.put
    monkeypatch.setattr(runner._Sorter, "merged",
                        lambda self: (self.order is not None and in_order.append(self._in_order())) or real_merged(self))

    def put(self, index, text, error):
        real_put(self, index, text, error)
        held.append(len(self.waiting))
    monkeypatch.setattr(runner._InOrder, "put", put)
    rows, _, _ = _run(path, trace=False, workdir=str(tmp_path), **knobs)
    assert rows == expected
    # The claims came out of the sorter as they went in (no sort, no merge of runs), and
    # every row was written as it settled: none waited for an earlier one.
    assert in_order == [True] and set(held) == {0}


def test_input_whose_order_breaks_late_is_sorted_after_all(tmp_path):
    claims = _grouped(_claims(300, 40, seed=6))
    claims.append(dict(claims[0], id="again", date="2026-12-28"))  # the first person, once more, at the end
    path = tmp_path / "late.jsonl"
    path.write_bytes(b"\n".join(_lines(claims)) + b"\n")
    expected = _expected(path, trace=False)
    for knobs in ({}, {"chunk": 32}, {"chunk": 32, "in_memory_bytes": 0}):
        assert _run(path, trace=False, workdir=str(tmp_path), **knobs)[0] == expected, knobs
    assert os.listdir(tmp_path) == ["late.jsonl"]


def test_the_order_check_notices_a_person_again_or_a_date_going_back():
    def holds(keys):
        order = runner._Order()
        for person, ordinal in keys:
            order.see(person, ordinal)
        return order.holds
    assert holds([("b", 1), ("b", 1), ("b", 5), ("a", 2), ("c", 1)])
    assert not holds([("b", 1), ("b", 0)])
    assert not holds([("b", 1), ("a", 2), ("b", 3)])
