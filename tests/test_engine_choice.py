"""`med run --engine auto|batch|scalar`, and Arrow IPC claims and results: the engines give the
same bytes, the columnar one is chosen for Parquet and Arrow claims when the output carries no
trace (Parquet and Arrow out leave it out, and say so), and a run that needs what only the
scalar engine gives is refused with its reason."""

import io
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import medpolicy
from medpolicy.arrow import claims_table, result_rows
from medpolicy.cli import main

ROOT = Path(__file__).resolve().parent.parent
CITIES = ["binzhou", "shaoxing", "suihua", "suizhou", "ziyang"]
SUIHUA = str(ROOT / "policies" / "suihua.med")


def examples(city):
    with open(ROOT / "examples" / f"{city}-claims.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def run(capsys, *argv):
    """`med run ARGV`: (exit code, stderr lines)."""
    code = main(["run", *map(str, argv)])
    return code, capsys.readouterr().err.splitlines()


def write_arrow(table, path, stream=False):
    with (pa.ipc.new_stream if stream else pa.ipc.new_file)(path, table.schema) as w:
        w.write_table(table, max_chunksize=7)  # record batches of 7 rows: the columnar engine's row groups
    return path


@pytest.mark.parametrize("city", CITIES)
def test_a_result_table_gives_back_the_scalar_engines_json_rows(city):
    policy = medpolicy.load(ROOT / "policies" / f"{city}.med")
    claims = examples(city) + [{"id": "bad", "person": "x", "date": "2026-02-30", "scheme": "employee"}]
    expected = [r.to_json(trace=False) for r in policy.settle_all(claims)]
    assert expected[-1]["error"]["code"] == "bad-date"
    assert list(result_rows(policy.settle_table(claims_table(claims)))) == expected


@pytest.mark.parametrize("city", CITIES)
def test_json_lines_settled_by_either_engine_are_the_same_bytes(city, tmp_path, capsys):
    policy = ROOT / "policies" / f"{city}.med"
    src = tmp_path / "claims.jsonl"
    lines = [json.dumps(c, ensure_ascii=False) for c in examples(city)]
    src.write_text("\n".join(lines[:3] + ["{not json"] + lines[3:]) + "\n", encoding="utf-8")
    n = len(lines) + 1
    for fmt in ("jsonl", "csv"):
        code, scalar = run(capsys, policy, src, "--no-trace", "--engine", "scalar", "-o", tmp_path / f"s.{fmt}")
        counted = [k for k, s in enumerate(scalar) if s.startswith("med: ") and s.endswith(f" of {n} claims could not be settled")]
        assert code == 1 and len(counted) == 1
        assert scalar[-1] == ("med:   1 bad-input, first claim (no id): line 4: bad JSON: Expecting property name enclosed "
                              "in double quotes (column 2)")
        code, said = run(capsys, policy, src, "--no-trace", "--engine", "batch", "-o", tmp_path / f"b.{fmt}")
        assert code == 1
        assert said[0] == f"{src}:4: bad JSON: Expecting property name enclosed in double quotes (column 2); skipped"
        assert said[1].startswith(f"med: {n} claims settled by the columnar engine, ")
        assert said[2:] == scalar[counted[0]:]
        assert (tmp_path / f"b.{fmt}").read_bytes() == (tmp_path / f"s.{fmt}").read_bytes()


def test_parquet_and_arrow_claims_go_to_the_columnar_engine_unless_a_trace_is_asked(tmp_path, capsys):
    claims = examples("suihua")
    table = claims_table(claims)
    pq.write_table(table, tmp_path / "c.parquet", row_group_size=10)
    sources = [tmp_path / "c.parquet", write_arrow(table, tmp_path / "c.arrow"),
               write_arrow(table, tmp_path / "c.feather"), write_arrow(table, tmp_path / "s.arrow", stream=True)]
    counted = f"med: {len(claims)} claims settled by the columnar engine, 5 of them by the scalar engine for " \
              "features it does not vectorise"
    assert run(capsys, SUIHUA, ROOT / "examples" / "suihua-claims.jsonl", "--no-trace", "-o", tmp_path / "s.jsonl") \
        == (0, [])
    for k, src in enumerate(sources):
        assert run(capsys, SUIHUA, src, "--no-trace", "-o", tmp_path / f"{k}.parquet") == (0, [counted])
        assert (tmp_path / f"{k}.parquet").read_bytes() == (tmp_path / "0.parquet").read_bytes()
        assert run(capsys, SUIHUA, src, "--no-trace", "-o", tmp_path / f"{k}.jsonl") == (0, [counted])
        assert (tmp_path / f"{k}.jsonl").read_bytes() == (tmp_path / "s.jsonl").read_bytes()
    # With the trace (JSON lines' default), or when told: the scalar engine, which says nothing.
    assert run(capsys, SUIHUA, sources[1], "-o", tmp_path / "t.jsonl") == (0, [])
    assert all("trace" in json.loads(line) for line in (tmp_path / "t.jsonl").read_text(encoding="utf-8").splitlines())
    assert run(capsys, SUIHUA, sources[1], "--no-trace", "--engine", "scalar", "-o", tmp_path / "sc.parquet") == (0, [])
    assert pq.read_table(tmp_path / "sc.parquet").to_pylist() == pq.read_table(tmp_path / "0.parquet").to_pylist()


def test_parquet_to_parquet_goes_to_the_columnar_engine_without_the_trace_and_says_so(tmp_path, capsys, monkeypatch):
    """The obvious command for a year in Parquet, `med run POLICY claims.parquet -o out.parquet`,
    is the columnar engine's (#10: chosen automatically for Parquet and Arrow claims). Its files
    carry no trace: the run says so, and the scalar engine writes the same columns and the trace."""
    from medpolicy import columnar_run

    claims = examples("suihua")
    pq.write_table(claims_table(claims), tmp_path / "c.parquet")
    left_out = "med: the columnar engine writes Parquet and Arrow results without the trace: --engine scalar writes it"
    counted = f"med: {len(claims)} claims settled by the columnar engine, 5 of them by the scalar engine for " \
              "features it does not vectorise"
    for out in ("r.parquet", "r.arrow"):
        assert run(capsys, SUIHUA, tmp_path / "c.parquet", "-o", tmp_path / out) == (0, [left_out, counted])
        assert run(capsys, SUIHUA, tmp_path / "c.parquet", "--engine", "batch", "-o", tmp_path / f"b-{out}") \
            == (0, [left_out, counted])
    assert run(capsys, SUIHUA, tmp_path / "c.parquet", "--no-trace", "-o", tmp_path / "n.parquet") == (0, [counted])
    assert (tmp_path / "r.parquet").read_bytes() == (tmp_path / "n.parquet").read_bytes()
    assert (tmp_path / "r.parquet").read_bytes() == (tmp_path / "b-r.parquet").read_bytes()
    assert run(capsys, SUIHUA, tmp_path / "c.parquet", "--engine", "scalar", "-o", tmp_path / "s.parquet") == (0, [])
    scalar = pq.read_table(tmp_path / "s.parquet")
    assert scalar.column_names[-1] == "trace" and scalar.num_rows == len(claims)
    assert scalar.drop_columns(["trace"]).to_pylist() == pq.read_table(tmp_path / "r.parquet").to_pylist()
    # JSON lines out keep the contract's trace, the scalar engine's: from many claims, it says --no-trace is quicker.
    monkeypatch.setattr(columnar_run, "HINT_ROWS", len(claims))
    assert run(capsys, SUIHUA, tmp_path / "c.parquet", "-o", tmp_path / "t.jsonl") == (0, [
        f"med: the trace is the scalar engine's, claim by claim: --no-trace settles these {len(claims)} claims "
        "with the columnar engine, far quicker"])
    monkeypatch.setattr(columnar_run, "HINT_ROWS", len(claims) + 1)
    assert run(capsys, SUIHUA, tmp_path / "c.parquet", "-o", tmp_path / "t.jsonl") == (0, [])


def test_parquet_claims_with_the_trace_stream_through_the_scalar_engine(tmp_path, capsys, monkeypatch):
    """Parquet or Arrow claims to JSON lines with the trace: the scalar engine's streaming run,
    reading a batch of rows at a time (never every claim as a dict), on one job or two: the same
    bytes as from the JSON lines. A corrupt row group stops the run and is named (exit 1)."""
    from medpolicy import cli
    from medpolicy.columnar_files import ClaimRecords

    src = ROOT / "examples" / "suihua-claims.jsonl"
    table = claims_table(examples("suihua"))
    pq.write_table(table, tmp_path / "c.parquet", row_group_size=16)
    write_arrow(table, tmp_path / "c.arrow")
    monkeypatch.setattr(cli, "_columnar_claims", lambda path: pytest.fail("every claim read into memory"))
    assert run(capsys, SUIHUA, src, "-o", tmp_path / "t.jsonl") == (0, [])
    for claims in ("c.parquet", "c.arrow"):
        for jobs in ("1", "2"):
            out = tmp_path / f"t-{claims}-{jobs}.jsonl"
            assert run(capsys, SUIHUA, tmp_path / claims, "--jobs", jobs, "-o", out) == (0, [])
            assert out.read_bytes() == (tmp_path / "t.jsonl").read_bytes()
    records = ClaimRecords(str(tmp_path / "c.parquet"))
    seen = []
    for number, claim, text in records.records():
        seen.append((number, claim["id"], text, records.position()))
    assert [n for n, *_ in seen] == list(range(1, 41)) and {t for _, _, t, _ in seen} == {None}
    assert [i for _, i, _, _ in seen] == [c["id"] for c in examples("suihua")]
    assert [p for *_, p in seen] == [n * ClaimRecords.JSON_BYTES for n in range(1, 41)] and records.size == seen[-1][3]
    data = bytearray((tmp_path / "c.parquet").read_bytes())
    page = pq.ParquetFile(tmp_path / "c.parquet").metadata.row_group(1).column(0).data_page_offset
    data[page:page + 64] = b"\xff" * 64
    (tmp_path / "bad.parquet").write_bytes(bytes(data))
    code, said = run(capsys, SUIHUA, tmp_path / "bad.parquet", "-o", tmp_path / "bad.jsonl")
    assert code == 1 and said[0].startswith(f"med: cannot read {tmp_path / 'bad.parquet'}: row group 1: ")


def test_arrow_results_are_the_contracts_table(tmp_path, capsys):
    policy = medpolicy.load(SUIHUA)
    table = claims_table(examples("suihua"))
    pq.write_table(table, tmp_path / "c.parquet")
    for engine in ("batch", "scalar"):
        out = tmp_path / f"{engine}.arrow"
        assert run(capsys, SUIHUA, tmp_path / "c.parquet", "--no-trace", "--engine", engine, "-o", out)[0] == 0
        got = pa.ipc.open_file(pa.memory_map(str(out))).read_all()
        assert got.schema.field("patient").type == pa.decimal128(18, 2)
        assert got.schema.field("paid").type.field("basic").type == pa.decimal128(18, 2)
        assert got.to_pylist() == policy.settle_table(table).to_pylist()
    # 第二十一条（一）: an employed member at a level-1 hospital, 6,000 in scope, deductible 300,
    # 90% of the rest = 5,130; the patient pays 6,300 - 5,130 (suihua.test.toml, sh-01a).
    first = got.to_pylist()[0]
    assert (first["id"], first["paid"]["basic"], first["patient"]) == ("sh-01a", Decimal("5130.00"), Decimal("1170.00"))


def test_a_run_the_columnar_engine_cannot_give_is_refused_with_its_reason(tmp_path, capsys):
    pq.write_table(claims_table(examples("suihua")), tmp_path / "c.parquet")
    src = tmp_path / "c.parquet"
    (tmp_path / "members.jsonl").write_text("", encoding="utf-8")
    refused = {
        (): "med: --engine batch gives no trace: add --no-trace, or use --engine scalar for the trace",
        ("--no-trace", "--from", "nhsa"):
            "med: --engine batch settles claims in the contract's shape: --from/--to nhsa needs --engine scalar",
        ("--no-trace", "--members", tmp_path / "members.jsonl"):
            "med: --engine batch does not read member records: --members needs --engine scalar",
    }
    for extra, why in refused.items():
        assert run(capsys, SUIHUA, src, "--engine", "batch", "-o", tmp_path / "r.jsonl", *extra) == (2, [why])
    assert run(capsys, SUIHUA, src, "--no-trace", "--format", "arrow") == (2, ["med: arrow output is a file: give -o OUT"])
    (tmp_path / "bad.arrow").write_bytes(b"not arrow at all")
    code, said = run(capsys, SUIHUA, tmp_path / "bad.arrow", "--no-trace", "-o", tmp_path / "r.parquet")
    assert code == 2 and said[0].startswith(f"med: cannot read {tmp_path / 'bad.arrow'}: not an Arrow IPC file or stream: ")
    assert not (tmp_path / "r.parquet").exists()
    # A Parquet file cut short (a copy that stopped), or text named .parquet: said, on both engines
    # (it was a traceback of pyarrow's).
    pq.write_table(claims_table(examples("suihua")), tmp_path / "whole.parquet")
    (tmp_path / "cut.parquet").write_bytes((tmp_path / "whole.parquet").read_bytes()[:1000])
    for engine in ("auto", "scalar"):
        code, said = run(capsys, SUIHUA, tmp_path / "cut.parquet", "--no-trace", "--engine", engine, "-o", tmp_path / "r.parquet")
        assert (code, said) == (2, [f"med: cannot read {tmp_path / 'cut.parquet'}: not a Parquet file, or a damaged one: "
                                    "Parquet magic bytes not found in footer. Either the file is corrupted or this is not "
                                    "a parquet file."])
    assert not (tmp_path / "r.parquet").exists()


def test_a_column_named_twice_is_refused_by_name_on_both_engines_and_from_python(tmp_path, capsys):
    # Arrow lets a table name two columns (or a struct two fields) alike: the columnar engine
    # stopped with a KeyError traceback, and the scalar engine's rows kept one of the two.
    table = claims_table(examples("suihua")[:3])
    twice = table.append_column("person", table.column("person"))
    facility = table.column("facility").combine_chunks()
    level = facility.field("level")
    nested = table.set_column(table.schema.get_field_index("facility"), "facility",
                              pa.StructArray.from_arrays([level, level], names=["level", "level"]))
    for name, t in (("twice", twice), ("nested", nested)):
        pq.write_table(t, tmp_path / f"{name}.parquet")
        write_arrow(t, tmp_path / f"{name}.arrow")
    for name, column in (("twice", "person"), ("nested", "facility.level")):
        for ext in ("parquet", "arrow"):
            for engine in ("auto", "scalar"):
                src = tmp_path / f"{name}.{ext}"
                assert run(capsys, SUIHUA, src, "--no-trace", "--engine", engine, "-o", tmp_path / "r.jsonl") == \
                    (2, [f"med: cannot read {src}: the column {column} appears 2 times: a claim has each field once"])
    policy = medpolicy.load(SUIHUA)
    for engine in ("scalar", "batch"):
        with pytest.raises(ValueError, match=r"^the column person appears 2 times: a claim has each field once$"):
            policy.settle_table(twice, engine=engine)
    assert not (tmp_path / "r.jsonl").exists()


def test_a_column_no_claim_field_is_named_is_said_once_and_refuses_only_its_claims(tmp_path, capsys, monkeypatch):
    from medpolicy import partition
    monkeypatch.setattr(partition, "bucket_count", lambda rows, memory, jobs: 3)  # (buckets, as a big year)
    table = claims_table(examples("suihua"))
    table = table.append_column("hospital", pa.array(["某医院" if i % 3 == 0 else None for i in range(table.num_rows)]))
    pq.write_table(table, tmp_path / "c.parquet")
    said = {}
    for engine, jobs in (("auto", "1"), ("auto", "2"), ("scalar", "1")):
        code, said[engine, jobs] = run(capsys, SUIHUA, tmp_path / "c.parquet", "--no-trace", "--engine", engine,
                                       "--jobs", jobs, "-o", tmp_path / f"{engine}{jobs}.jsonl")
        assert code == 1
    hint = (f"med: {tmp_path / 'c.parquet'}: column hospital is no claim field: each claim that gives a value there "
            "is refused (unknown-field); leave it out to settle those claims")
    refused = (table.num_rows + 2) // 3
    assert said["auto", "1"] == said["auto", "2"]
    assert (said["auto", "1"][0], said["auto", "1"][2]) == (hint, f"med: {refused} of {table.num_rows} claims could not be settled")
    assert said["scalar", "1"][0] == f"med: {refused} of {table.num_rows} claims could not be settled"
    assert said["scalar", "1"][1].startswith(f"med:   {refused} unknown-field (hospital), first claim sh-01a: unknown "
                                             "field hospital (the fields here are: abroad, account, ")
    assert said["auto", "1"][3:] == said["scalar", "1"][1:]
    assert (tmp_path / "auto1.jsonl").read_bytes() == (tmp_path / "auto2.jsonl").read_bytes() \
        == (tmp_path / "scalar1.jsonl").read_bytes()
    # ... and a field of an object's struct that no field of the object is named, said so too
    facility = table.column("facility").combine_chunks()
    items = table.column("items").combine_chunks()
    item = items.values
    inside = table.set_column(table.schema.get_field_index("facility"), "facility", pa.StructArray.from_arrays(
        [facility.field("level"), pa.array(["某医院"] * table.num_rows)], names=["level", "name"]))
    inside = inside.set_column(inside.schema.get_field_index("items"), "items", pa.ListArray.from_arrays(
        items.offsets, pa.StructArray.from_arrays([item.field("class"), item.field("amount"), pa.nulls(len(item), pa.string())],
                                                  names=["class", "amount", "ward"])))
    pq.write_table(inside, tmp_path / "inside.parquet")
    code, said = run(capsys, SUIHUA, tmp_path / "inside.parquet", "--no-trace", "-o", tmp_path / "inside.jsonl")
    assert code == 1 and said[0] == (f"med: {tmp_path / 'inside.parquet'}: columns facility.name, items.ward, hospital are no "
                                     "claim field: each claim that gives a value there is refused (unknown-field); "
                                     "leave them out to settle those claims")


def test_a_claim_of_another_type_is_settled_by_the_scalar_engine_with_its_person(tmp_path, capsys):
    """A number where the others give text no longer sends every claim to the scalar engine: one
    whose text reads the same (1200: "1200.00") is the columnar engine's too, with the health
    center's claim beside it (columnar_text.py; more in test_batch_text.py)."""
    claims = examples("suihua")[:4]
    claims[1]["items"][0]["amount"] = 1200  # a number where the others give text: no one column type
    src = tmp_path / "c.jsonl"
    src.write_text("".join(json.dumps(c) + "\n" for c in claims), encoding="utf-8")
    code, said = run(capsys, SUIHUA, src, "--no-trace", "--engine", "batch", "-o", tmp_path / "b.jsonl")
    assert said == ["med: 4 claims settled by the columnar engine, 0 of them by the scalar engine for features "
                    "it does not vectorise"]
    run(capsys, SUIHUA, src, "--no-trace", "--engine", "scalar", "-o", tmp_path / "s.jsonl")
    assert (tmp_path / "b.jsonl").read_bytes() == (tmp_path / "s.jsonl").read_bytes()


def test_json_lines_on_standard_input_go_to_the_columnar_engine_when_asked(tmp_path, capsys, monkeypatch):
    text = (ROOT / "examples" / "suihua-claims.jsonl").read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text), encoding="utf-8"))
    code, said = run(capsys, SUIHUA, "-", "--no-trace", "--engine", "batch", "-o", tmp_path / "b.jsonl")
    assert (code, said) == (0, ["med: 40 claims settled by the columnar engine, 5 of them by the scalar engine for "
                                "features it does not vectorise"])
    run(capsys, SUIHUA, ROOT / "examples" / "suihua-claims.jsonl", "--no-trace", "-o", tmp_path / "s.jsonl")
    assert (tmp_path / "b.jsonl").read_bytes() == (tmp_path / "s.jsonl").read_bytes()


def test_spreadsheets_and_the_table_from_parquet_are_the_scalar_engines(tmp_path, capsys):
    """CSV, xlsx, Excel's CSV and the text table carry no trace: Parquet claims go to the
    columnar engine for them by default, and the files hold what the scalar engine's hold."""
    import openpyxl

    pq.write_table(claims_table(examples("suihua")), tmp_path / "c.parquet")
    for name, extra in (("r.csv", ()), ("e.csv", ("--excel",)), ("r.xlsx", ()), ("r.txt", ())):
        code, said = run(capsys, SUIHUA, tmp_path / "c.parquet", "-o", tmp_path / f"batch-{name}", *extra)
        assert code == 0 and said[0].startswith("med: 40 claims settled by the columnar engine, ")
        assert run(capsys, SUIHUA, tmp_path / "c.parquet", "--engine", "scalar", "-o", tmp_path / f"scalar-{name}",
                   *extra) == (0, [])
        if name.endswith(".xlsx"):
            cells = [[[c.value for c in row] for row in openpyxl.load_workbook(tmp_path / f"{e}-{name}").active.iter_rows()]
                     for e in ("batch", "scalar")]
            assert cells[0] == cells[1] and len(cells[0]) == 41
        else:
            assert (tmp_path / f"batch-{name}").read_bytes() == (tmp_path / f"scalar-{name}").read_bytes()
    assert (tmp_path / "batch-e.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_a_year_of_json_lines_made_parquet_by_duckdb_settles_the_same(tmp_path, capsys):
    """docs/scale.md's way to a city's year in JSON lines on the columnar engine: DuckDB writes
    it as Parquet (dates as date columns, facility and enrolment as structs) and `med run`
    settles it as any Parquet year; the rows are the scalar engine's from the JSON lines."""
    import duckdb

    src = ROOT / "examples" / "suihua-claims.jsonl"
    duckdb.sql(f"COPY (SELECT * FROM read_json_auto('{src}')) TO '{tmp_path / 'c.parquet'}' (FORMAT parquet)")
    assert pq.read_schema(tmp_path / "c.parquet").field("date").type == pa.date32()
    assert run(capsys, SUIHUA, tmp_path / "c.parquet", "--no-trace", "-o", tmp_path / "b.jsonl")[0] == 0
    assert run(capsys, SUIHUA, src, "--no-trace", "-o", tmp_path / "s.jsonl") == (0, [])
    assert (tmp_path / "b.jsonl").read_bytes() == (tmp_path / "s.jsonl").read_bytes()


def test_parquet_or_arrow_output_without_pyarrow_is_refused_before_settling(tmp_path, capsys, monkeypatch):
    """The core install has no pyarrow: asking for a Parquet or Arrow file says which extra to
    install, before any claim is settled, rather than failing in the writer."""
    import medpolicy.cli as cli

    monkeypatch.setattr(cli, "_installed", lambda module: module != "pyarrow")
    for out in ("r.parquet", "r.arrow"):
        fmt = out.split(".")[1]
        assert run(capsys, SUIHUA, ROOT / "examples" / "suihua-claims.jsonl", "-o", tmp_path / out) == \
            (2, [f"med: {fmt} output needs pyarrow: pip install 'medpolicy[data]'"])
        assert not (tmp_path / out).exists()


def test_json_lines_on_the_columnar_engine_write_parquet_and_arrow_as_from_parquet(tmp_path, capsys):
    """Rows settled from JSON lines go to the same file writers as a Parquet year's columns: the
    same bytes whichever file the claims came from."""
    src = ROOT / "examples" / "suihua-claims.jsonl"
    pq.write_table(claims_table(examples("suihua")), tmp_path / "c.parquet")
    for out in ("r.parquet", "r.arrow"):
        assert run(capsys, SUIHUA, src, "--no-trace", "--engine", "batch", "-o", tmp_path / f"text-{out}")[0] == 0
        assert run(capsys, SUIHUA, tmp_path / "c.parquet", "--no-trace", "-o", tmp_path / f"parquet-{out}")[0] == 0
        assert (tmp_path / f"text-{out}").read_bytes() == (tmp_path / f"parquet-{out}").read_bytes()


def test_a_run_of_one_claim_says_claim_not_claims(tmp_path, capsys):
    claims = examples("suihua")[:1]
    src = tmp_path / "one.parquet"
    pq.write_table(claims_table(claims), src)
    code, said = run(capsys, SUIHUA, src, "--no-trace", "-o", tmp_path / "out.parquet")
    assert (code, said) == (0, ["med: 1 claim settled by the columnar engine"])
    code, said = run(capsys, SUIHUA, src, "--no-trace", "--lang", "zh", "-o", tmp_path / "out.parquet")
    assert (code, said) == (0, ["med：列式引擎结算 1 条就医记录"])
    claims[0]["items"][0]["unit_price"] = "abc"  # not an amount: the scalar engine's, to refuse
    pq.write_table(claims_table(claims), src)
    code, said = run(capsys, SUIHUA, src, "--no-trace", "-o", tmp_path / "out.parquet")
    assert said == ["med: 1 claim settled by the scalar engine inside the columnar engine, for features it does "
                    "not vectorise", "med: 1 of 1 claims could not be settled",
                    "med:   1 bad-amount (items[].unit_price), first claim sh-01a: items[0].unit_price must be a decimal "
                    "amount, not 'abc'"]
    code, said = run(capsys, SUIHUA, src, "--no-trace", "--lang", "zh", "-o", tmp_path / "out.parquet")
    assert said[0] == "med：列式引擎中的逐条引擎结算 1 条就医记录（含列式引擎尚未向量化的情形）"


def test_a_year_written_by_pandas_with_its_dates_as_timestamps_settles_the_same(tmp_path, capsys):
    """pandas keeps a date column as datetime64, and `to_parquet` writes it as a timestamp: each
    midnight is read as its date, by both engines, so the year settles as its JSON lines do; a
    timestamp with a time of day is refused, naming it (one error row, the other claims settled)."""
    import pandas as pd

    src = ROOT / "examples" / "suihua-claims.jsonl"
    frame = pd.read_json(src, lines=True, dtype={"date": "datetime64[ns]", "id": str, "person": str})
    assert str(frame["date"].dtype).startswith("datetime64")
    frame.to_parquet(tmp_path / "c.parquet", index=False)
    assert pa.types.is_timestamp(pq.read_schema(tmp_path / "c.parquet").field("date").type)
    assert run(capsys, SUIHUA, src, "--no-trace", "-o", tmp_path / "s.jsonl") == (0, [])
    for engine in ("batch", "scalar"):
        out = tmp_path / f"{engine}.jsonl"
        assert run(capsys, SUIHUA, tmp_path / "c.parquet", "--no-trace", "--engine", engine, "-o", out)[0] == 0
        assert out.read_bytes() == (tmp_path / "s.jsonl").read_bytes(), engine
    # ... in columns as much as the same dates written as text are (none sent aside for its date).
    frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_parquet(tmp_path / "d.parquet", index=False)
    said = [run(capsys, SUIHUA, tmp_path / name, "--no-trace", "-o", tmp_path / "x.jsonl")[1]
            for name in ("c.parquet", "d.parquet")]
    assert said[0] == said[1] and "by the columnar engine" in said[0][0]
    frame.loc[0, "date"] = pd.Timestamp(frame.loc[0, "date"]) + pd.Timedelta(hours=8, minutes=30)
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    rows = {}
    for engine in ("batch", "scalar"):
        out = tmp_path / f"t-{engine}.jsonl"
        assert run(capsys, SUIHUA, tmp_path / "t.parquet", "--no-trace", "--engine", engine, "-o", out)[0] == 1
        rows[engine] = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows["batch"] == rows["scalar"]
    day = frame.loc[0, "date"].date().isoformat()
    assert rows["batch"][0]["error"] == {"code": "bad-date", "field": "date",
                                         "message": f"date is not a date YYYY-MM-DD: '{day}T08:30:00'"}
    assert sum(r.get("error") is not None for r in rows["batch"]) == 1
