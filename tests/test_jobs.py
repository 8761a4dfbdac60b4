"""`med run --jobs N` and `--memory`: buckets of whole persons and worker processes give the
bytes one process gives, for Parquet (the columnar engine) and JSON lines (the scalar engine)."""

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import medpolicy
from medpolicy.arrow import all_funds, claims_table, result_schema
from medpolicy.batch import fallback_count, settle_batch
from medpolicy.cli import main
from medpolicy.inputs import ClaimFile
from medpolicy.jobs import Pool, cores
from medpolicy.output import writer_for
from medpolicy.columnar_files import ClaimsFile, ClaimsUnreadable, arrow_sink, file_schema, parquet_sink
from medpolicy.partition import Part, bucket_count, default_jobs, parts_of, repeated_candidates, run_columnar, string_hash
from medpolicy.runner import run_claims

from city_years import generated_year

ROOT = Path(__file__).resolve().parent.parent
POLICY = str(ROOT / "policies" / "suihua.med")


def year_with_repeats(policy):
    """A generated year, plus ids given twice across persons (so across buckets): a repeat of a
    good claim, and an id first carried by a claim that does not read (which then keeps no id)."""
    claims = generated_year(policy, 160, seed=11)
    first = claims[5]
    claims.append({**claims[40], "id": first["id"]})                          # a repeat: duplicate-id
    claims.insert(7, {**claims[60], "id": "late", "scheme": "nobody"})       # does not read
    claims.append({**claims[80], "id": "late"})                              # settles: "late" was never taken
    claims.append({**claims[90], "person": None, "id": "no-person"})
    for k in (100, 110, 120):  # an id Python's repr quotes in double quotes, three times
        claims.append({**claims[k], "id": "it's"})
    return claims


def test_buckets_and_jobs_write_the_bytes_one_process_writes(tmp_path):
    policy = medpolicy.load(POLICY)
    claims = year_with_repeats(policy)
    src = tmp_path / "claims.parquet"
    pq.write_table(claims_table(claims), src)
    outs = {}
    fallback = set()
    for name, jobs, buckets in (("one", 1, 1), ("buckets", 1, 3)):
        outs[name] = tmp_path / f"{name}.parquet"
        done = run_columnar(policy, POLICY, None, str(src), parquet_sink(str(outs[name]), file_schema(policy)),
                            jobs=jobs, buckets=buckets)
        assert (done.rows, done.buckets) == (len(claims), buckets)
        fallback.add(done.fallback)
    assert len(fallback) == 1  # the run says the same of the scalar engine's share, however it was dealt
    outs["cli"] = tmp_path / "cli.parquet"
    assert main(["run", POLICY, str(src), "-o", str(outs["cli"]), "--no-trace", "--jobs", "2"]) == 1  # error rows
    one = outs["one"].read_bytes()
    assert outs["buckets"].read_bytes() == one
    assert outs["cli"].read_bytes() == one
    # ... and they are the scalar engine's results, the repeated ids decided as settle_all does.
    got = pq.read_table(outs["one"]).to_pylist()
    assert got == policy.settle_table(claims_table(claims)).to_pylist()
    repeat = [r for r in got if r["id"] == claims[5]["id"]]
    assert repeat[0]["error"] is None and repeat[1]["error"]["code"] == "duplicate-id"
    late = [r for r in got if r["id"] == "late"]
    assert late[0]["error"]["field"] == "scheme" and late[1]["error"] is None
    quoted = [r["error"] and r["error"]["message"] for r in got if r["id"] == "it's"]
    assert quoted == [None] + ["claim id \"it's\" appears more than once in this run"] * 2
    # Row groups of 50 claims, each with its own dictionaries of dates and item classes (pyarrow
    # cannot read a nested column's dictionaries across them at once): the same bytes.
    # With two jobs, the row groups are dealt in two parts side by side (rows 0-99, 100-):
    # repeated ids across the parts are still found, each bucket's rows still in input order.
    pq.write_table(claims_table(claims), tmp_path / "groups.parquet", row_group_size=50)
    for buckets, jobs in ((1, 1), (3, 1), (3, 2)):
        run_columnar(policy, POLICY, None, str(tmp_path / "groups.parquet"),
                     parquet_sink(str(tmp_path / "g.parquet"), file_schema(policy)), jobs=jobs,
                     buckets=buckets)
        assert (tmp_path / "g.parquet").read_bytes() == one
    # An Arrow IPC file, its record batches of 50 claims playing the row groups: the same bytes.
    arrow, contract = tmp_path / "claims.arrow", result_schema(all_funds(policy), False)
    with pa.ipc.new_file(arrow, claims_table(claims).schema) as w:
        w.write_table(claims_table(claims), max_chunksize=50)
    # Arrow IPC results too are the same bytes: a take from buckets gives the error struct's
    # children bitmaps a slice of one result does not, so the sink lays the buffers out one way.
    arrow_results = []
    for buckets, jobs in ((1, 1), (3, 1), (3, 2)):
        run_columnar(policy, POLICY, None, str(arrow), parquet_sink(str(tmp_path / "a.parquet"), file_schema(policy)),
                     jobs=jobs, buckets=buckets)
        assert (tmp_path / "a.parquet").read_bytes() == one
        run_columnar(policy, POLICY, None, str(arrow), arrow_sink(str(tmp_path / "r.arrow"), contract), jobs=jobs,
                     buckets=buckets)
        arrow_results.append((tmp_path / "r.arrow").read_bytes())
    assert arrow_results[1] == arrow_results[0] and arrow_results[2] == arrow_results[0]
    assert pa.ipc.open_file(pa.py_buffer(arrow_results[0])).read_all().to_pylist() == \
        pq.read_table(tmp_path / "a.parquet").to_pylist()
    # Money is handed to the writer as decimal64 (the engine's fen as they are), and read back as
    # the contract's decimal128(18, 2); pandas, kept out of `med run` above, still loads after it.
    assert pq.read_schema(outs["cli"]).equals(result_schema(all_funds(policy), False))
    assert pq.read_table(outs["cli"]).to_pandas()["patient"].dropna().map(type).eq(Decimal).all()


def test_money_past_32_bits_comes_back_from_a_buckets_spill_file(tmp_path):
    # A bucket's results are spilled with money in 32 bits where it fits (spill_form); a stay of
    # 30,000,000.00 yuan (3 * 10^9 fen) does not, and is written as one bucket writes it.
    policy = medpolicy.load(POLICY)
    claims = year_with_repeats(policy)
    big = dict(claims[12], id="big", items=[{"class": "A", "amount": "30000000.00"}])
    claims.append(big)
    src = tmp_path / "claims.parquet"
    pq.write_table(claims_table(claims), src)
    outs = []
    for buckets in (1, 3):
        outs.append(tmp_path / f"b{buckets}.parquet")
        run_columnar(policy, POLICY, None, str(src), parquet_sink(str(outs[-1]), file_schema(policy)), buckets=buckets)
    assert outs[1].read_bytes() == outs[0].read_bytes()
    row = next(r for r in pq.read_table(outs[1]).to_pylist() if r["id"] == "big")
    assert row["total"] == Decimal("30000000.00") and row["error"] is None


def test_a_corrupt_row_group_is_named_as_the_claims_files_fault(tmp_path, capsys):
    # A page of row group 2 overwritten: in memory, dealt by two workers, and in buckets by one
    # process, the run stops before writing anything and names the claims file and the row
    # group (exit 1: the file was read, its content is bad), not the output.
    policy = medpolicy.load(POLICY)
    src, out = tmp_path / "claims.parquet", tmp_path / "out.parquet"
    pq.write_table(claims_table(generated_year(policy, 160, seed=3)), src, row_group_size=50)
    data = bytearray(src.read_bytes())
    page = pq.ParquetFile(src).metadata.row_group(2).column(0).data_page_offset
    data[page:page + 64] = b"\xff" * 64
    src.write_bytes(bytes(data))
    for jobs in ("1", "2"):  # one job: in memory; two: two buckets, the row groups dealt in two parts
        assert main(["run", POLICY, str(src), "-o", str(out), "--no-trace", "--jobs", jobs]) == 1
        assert capsys.readouterr().err.startswith(f"med: cannot read {src}: row group 2: ") and not out.exists()
    with pytest.raises(ClaimsUnreadable, match="^row group 2: "):
        run_columnar(policy, POLICY, None, str(src), parquet_sink(str(out), file_schema(policy)), jobs=1, buckets=3)
    assert not out.exists()


def test_a_file_is_dealt_in_runs_of_whole_row_groups_of_about_equal_rows(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"n": list(range(164))}), path, row_group_size=50)  # groups of 50, 50, 50, 14
    meta = ClaimsFile(str(path)).group_rows
    assert parts_of(meta, 1) == [Part(range(0, 4), 0, 0)]
    assert parts_of(meta, 2) == [Part(range(0, 2), 0, 0), Part(range(2, 4), 100, 1)]
    assert parts_of(meta, 3) == [Part(range(0, 2), 0, 0), Part(range(2, 3), 100, 1), Part(range(3, 4), 150, 2)]
    assert parts_of(meta, 8) == [Part(range(g, g + 1), 50 * g, g) for g in range(4)]
    pq.write_table(pa.table({"n": list(range(164))}), path)  # one row group: read whole, by one process
    assert parts_of(ClaimsFile(str(path)).group_rows, 2) == [Part(range(0, 1), 0, 0)]


def test_every_core_only_for_a_year_one_process_cannot_hold():
    # 2 GB: one process holds about 1.25M claims (2 GiB less 256 MiB, 1,500 bytes a claim).
    assert bucket_count(1_000_000, 2 << 30, 1) == 1 and default_jobs(1_000_000, 2 << 30) == 1
    assert bucket_count(10_000_000, 2 << 30, 1) == 8 and default_jobs(10_000_000, 2 << 30) == cores()
    assert default_jobs(1_000_000, 1 << 30) == cores()


@pytest.mark.parametrize("given, why", [("0", "at least 1, not '0' (leave --jobs out for the default)"),
                                        ("-1", "at least 1, not '-1' (leave --jobs out for the default)"),
                                        ("two", "a whole number of processes, not 'two'")])
def test_jobs_below_one_are_refused_before_anything_is_read(tmp_path, capsys, given, why):
    # --jobs 0 was the default on the columnar engine and one process on the scalar; -1 was 1.
    with pytest.raises(SystemExit) as stop:
        main(["run", str(ROOT / "policies" / "suihua.med"), str(tmp_path / "none.parquet"), "--no-trace",
              "--jobs", given])
    assert stop.value.code == 2 and capsys.readouterr().err.splitlines()[-1] == f"med run: error: argument --jobs: {why}"


def test_jobs_write_the_json_lines_one_process_writes(tmp_path):
    policy = medpolicy.load(POLICY)
    claims = year_with_repeats(policy)
    src = tmp_path / "claims.jsonl"
    lines = [json.dumps(c) for c in claims]
    lines.insert(30, "{not json")
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outs = {}
    for jobs in (1, 2):
        outs[jobs] = tmp_path / f"out-{jobs}.jsonl"
        assert main(["run", POLICY, str(src), "-o", str(outs[jobs]), "--jobs", str(jobs)]) == 1
    assert outs[2].read_bytes() == outs[1].read_bytes()
    # Small tasks: many of them in flight, whole persons each.
    with ClaimFile(str(src)) as source, open(tmp_path / "small.jsonl", "w", encoding="utf-8", newline="") as out:
        run_claims(policy, None, source, writer_for("jsonl", out, policy), trace=True,
                   pool=Pool(POLICY, None, "jsonl", True, 2, task_claims=40))
    assert (tmp_path / "small.jsonl").read_bytes() == outs[1].read_bytes()


@pytest.mark.parametrize("loops", ["1", "0"])  # the compiled loop, then numpy: the same numbers
def test_a_person_hash_is_the_same_however_the_strings_are_held(monkeypatch, loops):
    monkeypatch.setenv("MEDPOLICY_LOOPS", loops)
    names = pa.array(["p1", "病人二", None, "", "p1", "a much longer person identifier"])
    h = string_hash(names)
    assert h[0] == h[4] and h[2] == 0 and len(set(h.tolist())) == 5 and 0 not in h[[0, 1, 3, 5]]
    assert (string_hash(names.slice(2)) == h[2:]).all()
    assert (string_hash(names.dictionary_encode()) == h).all()
    assert (string_hash(names.cast(pa.large_string())) == h).all()
    # Fixed across processes and machines: buckets written by one worker are read by another.
    assert string_hash(pa.array(["p1", "病人二"])).tolist() == [12141484717761853608, 11899868159309080569]
    many = pa.array([f"p{i}" * (i % 7) for i in range(5000)])
    monkeypatch.setenv("MEDPOLICY_LOOPS", "0")
    assert (string_hash(many) == string_hash_in(many, "1", monkeypatch)).all()


@pytest.mark.parametrize("loops", ["1", "0"])  # the compiled table, then the sort: the same rows
def test_rows_sharing_an_id_hash_are_found_however_many_and_wherever_they_are(tmp_path, monkeypatch, loops):
    monkeypatch.setenv("MEDPOLICY_LOOPS", loops)
    rng = np.random.default_rng(5)
    hashes = rng.integers(-2**63, 2**63 - 1, 40_000, dtype=np.int64)
    hashes[[10, 20_000, 39_999]] = hashes[3]     # one hash four times, across both files
    hashes[[7, 8]] = 0                           # a hash of 0, twice
    hashes[100] = hashes[101] = -1
    hashes[500:516] = (np.arange(16) + 1) << 40  # low bits all 0, the values all different
    hashes[600] = hashes[515]
    rows = np.arange(1_000, 41_000, dtype=np.int64)
    files = [str(tmp_path / "a"), str(tmp_path / "b")]
    np.stack([hashes[:25_000], rows[:25_000]], 1).tofile(files[0])
    np.stack([hashes[25_000:], rows[25_000:]], 1).tofile(files[1])
    found = repeated_candidates(files + [str(tmp_path / "absent")])
    assert sorted(found.tolist()) == [1_003, 1_007, 1_008, 1_010, 1_100, 1_101, 1_515, 1_600, 21_000, 40_999]
    assert not any(Path(f).exists() for f in files)  # read once, then removed


def string_hash_in(arr, loops, monkeypatch):
    monkeypatch.setenv("MEDPOLICY_LOOPS", loops)
    return string_hash(arr)


def test_a_parquet_run_loads_arrow_on_malloc_and_openblas_without_threads_unless_told(tmp_path):
    probe = ("import os, sys; from medpolicy.cli import native_libraries_for_a_run; native_libraries_for_a_run(); "
             "import pyarrow as pa; print(pa.default_memory_pool().backend_name, os.environ['OPENBLAS_NUM_THREADS'])")
    env = {k: v for k, v in os.environ.items()
           if k not in ("ARROW_DEFAULT_MEMORY_POOL", "OPENBLAS_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["system", "1"]
    told = {**env, "ARROW_DEFAULT_MEMORY_POOL": "mimalloc", "OPENBLAS_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", probe], env=told, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["mimalloc", "2"]


def test_a_person_spelled_two_ways_is_one_persons_year_in_every_engine(tmp_path, capsys):
    """The claim reader takes " sh-p16" and "sh-p16" (a stray space; likewise another Unicode
    form) as one person (claims._person). So does the columnar engine, in one run and in buckets,
    and its rows show the person as the reader does: sh-16c, the year's third stay, is paid by
    the major fund above the basic cap (suihua.test.toml, sh-16c: 18,000.00), not settled as a
    new person's first claim."""
    with open(ROOT / "examples" / "suihua-claims.jsonl", encoding="utf-8") as f:
        claims = [json.loads(line) for line in f if line.strip()]
    respelled = {"sh-16c": " sh-p16", "sh-16b": "sh-p16\t"}
    for c in claims:
        c["person"] = respelled.get(c["id"], c["person"])
    policy = medpolicy.load(POLICY)
    expected = [r.to_json(trace=False) for r in policy.settle_all(claims)]
    third = next(r for r in expected if r["id"] == "sh-16c")
    assert (third["person"], third["paid"]) == ("sh-p16", {"basic": "0.00", "major": "18000.00", "maternity": "0.00"})
    src = tmp_path / "claims.parquet"
    pq.write_table(claims_table(claims), src, row_group_size=7)
    for jobs, buckets in ((1, None), (1, 3), (2, None)):
        out = tmp_path / f"out-{jobs}-{buckets}.parquet"
        run_columnar(policy, POLICY, None, str(src), parquet_sink(str(out), file_schema(policy)), jobs=jobs,
                     buckets=buckets)
        got = pq.read_table(out).to_pylist()
        assert [g["person"] for g in got] == [e.get("person") for e in expected]
        assert [(g["id"], str(g["paid"]["major"]) if g["paid"] else None) for g in got] \
            == [(e["id"], e["paid"].get("major") if "paid" in e else None) for e in expected]
    assert main(["run", POLICY, str(src), "--no-trace", "-o", str(tmp_path / "b.jsonl")]) == 0
    capsys.readouterr()
    assert [json.loads(line) for line in (tmp_path / "b.jsonl").read_text(encoding="utf-8").splitlines()] == expected


class _Recorded:
    """A progress bar that keeps what it was told: each stage with the claims counted through it."""

    def __init__(self):
        self.stages = []

    def stage(self, desc, claims, last=False):
        self.stages.append([desc, claims, last, 0])

    def settled(self, claims):
        self.stages[-1][3] += claims


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_run_in_buckets_counts_every_claim_through_each_stage(tmp_path, jobs):
    policy = medpolicy.load(POLICY)
    claims = year_with_repeats(policy)
    src = tmp_path / "claims.parquet"
    pq.write_table(claims_table(claims), src, row_group_size=150)  # several row groups: two parts with jobs 2
    bar = _Recorded()
    run_columnar(policy, POLICY, None, str(src), parquet_sink(str(tmp_path / "out.parquet"), file_schema(policy)),
                 jobs=jobs, buckets=3, progress=bar)
    n = len(claims)
    assert bar.stages == [["dealing", n, False, n], ["settling", n, False, n], ["writing", n, True, n]]


def test_a_run_in_one_piece_shows_settling_then_writing(tmp_path):
    policy = medpolicy.load(POLICY)
    claims = generated_year(policy, 40, seed=3)
    src = tmp_path / "claims.parquet"
    pq.write_table(claims_table(claims), src)
    bar = _Recorded()
    run_columnar(policy, POLICY, None, str(src), parquet_sink(str(tmp_path / "out.parquet"), file_schema(policy)),
                 progress=bar)
    assert bar.stages == [["settling", len(claims), False, len(claims)], ["writing", len(claims), True, len(claims)]]


def test_the_columnar_run_shows_its_stages_on_a_terminal_and_nothing_elsewhere(tmp_path):
    from terminal import on_a_terminal

    policy = medpolicy.load(POLICY)
    claims = generated_year(policy, 300, seed=5)
    src = tmp_path / "claims.parquet"
    pq.write_table(claims_table(claims), src)
    command = [sys.executable, "-m", "medpolicy.cli", "run", POLICY, str(src), "-o", str(tmp_path / "out.parquet"),
               "--no-trace", "--jobs", "1"]
    quiet = subprocess.run(command, capture_output=True, text=True, timeout=120)
    summary = f"med: {len(claims)} claims settled by the columnar engine,"
    assert quiet.stderr.startswith(summary) and "%|" not in quiet.stderr
    status, text = on_a_terminal(command)
    assert status in (0, 1)
    lines = [line.strip() for line in text.replace("\r", "\n").splitlines() if line.strip()]
    total = f"{len(claims)}/{len(claims)}"
    assert any(line.startswith("settling:") for line in lines)
    final = [line for line in lines if line.startswith("writing: 100%")][-1]
    assert f"| {total} [" in final and final.endswith("claims/s]"), lines
    # after the bar: the summary, then how many could not be settled (a maternity claim's events
    # that the policy's clauses cannot settle together are error rows)
    counted = lines.index(f"med: 3 of {len(claims)} claims could not be settled")
    assert lines[counted - 1].startswith(summary)
    kinds = lines[counted + 1:]  # (then why, by kind)
    assert kinds and all(k.startswith("med:   ") for k in kinds) and sum(int(k.split()[1]) for k in kinds) == 3


def _large(t: pa.DataType) -> pa.DataType:
    """The type with 64-bit offsets wherever it has 32-bit ones (as Polars and pandas 3 write them)."""
    if pa.types.is_string(t):
        return pa.large_string()
    if pa.types.is_list(t):
        return pa.large_list(t.value_field.with_type(_large(t.value_type)))
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(_large(f.type)) for f in t])
    return t


def test_text_and_lists_with_64_bit_offsets_settle_in_columns_to_the_same_bytes(tmp_path):
    # A Parquet file written from a Polars or pandas 3 frame keeps large_string and large_list in its
    # Arrow schema, and pyarrow reads them back so: such a file went whole to the scalar engine (the
    # run said so: 501 of 501 claims, where 7 are). Its claims now settle in columns, in one piece, in buckets
    # and on two jobs, to the bytes the same claims with 32-bit offsets give.
    policy = medpolicy.load(POLICY)
    claims = year_with_repeats(policy)
    table = claims_table(claims)
    large = table.cast(pa.schema([f.with_type(_large(f.type)) for f in table.schema]))
    assert pa.types.is_large_list(large.schema.field("items").type)
    pq.write_table(table, tmp_path / "small.parquet")
    pq.write_table(large, tmp_path / "large.parquet", row_group_size=50)
    assert pa.types.is_large_string(pq.read_schema(tmp_path / "large.parquet").field("person").type)
    one = tmp_path / "one.parquet"
    small = run_columnar(policy, POLICY, None, str(tmp_path / "small.parquet"),
                         parquet_sink(str(one), file_schema(policy)))
    assert small.fallback < len(claims) // 4
    for buckets, jobs in ((1, 1), (3, 1), (3, 2)):
        out = tmp_path / f"large-{buckets}-{jobs}.parquet"
        done = run_columnar(policy, POLICY, None, str(tmp_path / "large.parquet"),
                            parquet_sink(str(out), file_schema(policy)), jobs=jobs, buckets=buckets)
        assert done.fallback == small.fallback
        assert out.read_bytes() == one.read_bytes()


def test_string_views_settle_in_columns():
    # Polars hands its text to Arrow as string views (Utf8View): read as plain strings.
    policy = medpolicy.load(POLICY)
    table = claims_table(year_with_repeats(policy))
    views = table.cast(pa.schema([f.with_type(pa.string_view()) if pa.types.is_string(f.type) else f
                                  for f in table.schema]))
    assert pa.types.is_string_view(views.schema.field("person").type)
    got, expected = settle_batch(policy, views), settle_batch(policy, table)
    assert fallback_count(got) == fallback_count(expected) < table.num_rows // 4
    assert got.equals(expected)
