"""The columnar engine (medpolicy.batch) against the scalar engine: every field of every row equal."""

import random
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

import medpolicy
from medpolicy.arrow import claims_table
from medpolicy.batch import fallback_count, settle_batch

from city_years import CITIES, generated_year, policy_params

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["loops", "numpy"], autouse=True)
def loops(request, monkeypatch):
    """Every test here runs twice: with the compiled loops (batch_kernels, the Cython extension;
    MEDPOLICY_LOOPS=1: at any size) and without (MEDPOLICY_LOOPS=0: the numpy path)."""
    monkeypatch.delenv("MEDPOLICY_NUMBA", raising=False)
    if request.param == "numpy":
        monkeypatch.setenv("MEDPOLICY_LOOPS", "0")
        return None
    monkeypatch.setenv("MEDPOLICY_LOOPS", "1")
    from medpolicy.batch_kernels import kernels
    if kernels() is None:
        pytest.fail("the compiled loops were not built (pip install '.[test]' with a C compiler): "
                    "they would go untested")
    return kernels()


def test_the_loops_are_the_compiled_extension(loops, monkeypatch):
    """The test install has the loops compiled (a C extension module, not Python source), so the
    suite cannot pass with the extension missing; MEDPOLICY_NUMBA, the switch's old name, still
    turns them off and on."""
    import importlib.machinery
    from medpolicy import batch_kernels
    module = batch_kernels.compiled()
    assert module is not None
    assert isinstance(module.__loader__, importlib.machinery.ExtensionFileLoader)
    assert module.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    source = ROOT / "interpreter" / "_batch_loops.pyx"
    if Path(module.__file__).parent == source.parent:  # an editable install: built from the source as it is now
        assert Path(module.__file__).stat().st_mtime >= source.stat().st_mtime, \
            "interpreter/_batch_loops.pyx changed since the extension was built: pip install -e '.[test]'"
    assert (batch_kernels.kernels(10) is module) == (loops is not None)
    monkeypatch.delenv("MEDPOLICY_LOOPS")
    monkeypatch.setenv("MEDPOLICY_NUMBA", "0")
    assert batch_kernels.kernels(10 ** 6) is None
    monkeypatch.setenv("MEDPOLICY_NUMBA", "1")
    assert batch_kernels.kernels(0) is module


@pytest.mark.parametrize("given", ["parameters", "no parameters"])
@pytest.mark.parametrize("city", CITIES)
def test_both_engines_agree_on_every_field(city, given, loops, monkeypatch):
    from medpolicy.batch_steps import Step
    if loops is not None:  # with the loops every claim is the kernel's: no numpy step runs beside it
        monkeypatch.setattr(Step, "run", lambda self: pytest.fail("a numpy step ran, not the kernel"))
    policy = medpolicy.load(ROOT / "policies" / f"{city}.med")
    # Without the run's parameters, the claims whose terms need one are missing-parameter rows.
    params = policy_params(policy) if given == "parameters" else None
    claims = generated_year(policy, 250, seed=len(city))
    table = claims_table(claims)
    batch = settle_batch(policy, table, params=params)
    scalar = policy.settle_table(table, params=params)
    assert batch.schema == scalar.schema.remove_metadata() or batch.schema.remove_metadata() == scalar.schema
    got, expected = batch.to_pylist(), scalar.to_pylist()
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g == e
    # The columnar engine settled a real share of the claims itself.
    assert fallback_count(batch) < len(claims)


def _claim(cid, person, date, scheme, level, amount, **more):
    c = {"id": cid, "person": person, "date": date, "scheme": scheme, "benefit": "inpatient",
         "facility": {"level": level}, "items": [{"class": "A", "amount": amount}], **more}
    return c


def _row(table, i):
    r = table.to_pylist()[i]
    return {k: f"{v:.2f}" for k, v in [("deductible", r["deductible"]), ("patient", r["patient"]),
                                       *r["paid"].items()] if v is not None}


def test_hand_checked_resident_burden_in_bands():
    """绥化 第二十三条（一）3 and 第二十九条（二）: a resident's two level-2 stays. Stay 1: 60,000 eligible,
    500 deductible, basic 75% of 59,500 = 44,625; burden 15,375, of which 375 is above the
    15,000 threshold at 65% = 243.75. Stay 2: 20,000; basic 75% of 19,500 = 14,625; burden 5,375
    moves the year's burden 15,375 -> 20,750: 4,625 at 65% + 750 at 70% = 3,531.25."""
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    table = claims_table([_claim("a", "r", "2026-03-01", "resident", "level2", "60000.00"),
                          _claim("b", "r", "2026-05-01", "resident", "level2", "20000.00")])
    got = settle_batch(policy, table)
    assert fallback_count(got) == 0
    assert _row(got, 0) == {"deductible": "500.00", "basic": "44625.00", "major": "243.75", "patient": "15131.25"}
    assert _row(got, 1) == {"deductible": "500.00", "basic": "14625.00", "major": "3531.25", "patient": "1843.75"}


def test_hand_checked_cap_point_off_the_grid(loops):
    """绥化 第二十一条（一）3 and 第二十八条（二）: an employee's level-3 stay of 150,000 passes the
    120,000 basic cap at 900 + 120,000 / 85% = 142,076.470588…, not a whole number of fen: major
    90% of the 7,923.529411… above = 7,131.176470… -> 7,131.18, its pool keeping the exact value.
    The next stay (10,000) finds the cap reached: no deductible, major 9,000.00 (16,131.176… rounded
    less 7,131.18). A third stay of 400,000 fills the major cap of 300,000 from that fraction: the
    room left is 300,000 - 16,131.176… exactly, rounded to the pool: 300,000 - 16,131.18 =
    283,868.82 (the kernel pays it over the fraction's denominator; the numpy steps hand the year to
    the scalar engine there). Another person's stay: 85% of 9,100 = 7,735."""
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    claims = [_claim("a", "e", "2026-03-01", "employee", "level3", "150000.00", status="employed"),
              _claim("b", "e", "2026-05-01", "employee", "level3", "10000.00", status="employed"),
              _claim("c", "o", "2026-05-01", "employee", "level3", "10000.00", status="employed"),
              _claim("d", "e", "2026-07-01", "employee", "level3", "400000.00", status="employed")]
    got = settle_batch(policy, claims_table(claims))
    assert fallback_count(got) == (0 if loops is not None else 1)
    assert _row(got, 0) == {"deductible": "900.00", "basic": "120000.00", "major": "7131.18", "maternity": "0.00",
                            "patient": "22868.82"}
    assert _row(got, 1) == {"deductible": "0.00", "basic": "0.00", "major": "9000.00", "maternity": "0.00",
                            "patient": "1000.00"}
    assert _row(got, 2) == {"deductible": "900.00", "basic": "7735.00", "major": "0.00", "maternity": "0.00",
                            "patient": "2265.00"}
    assert _row(got, 3) == {"deductible": "0.00", "basic": "0.00", "major": "283868.82", "maternity": "0.00",
                            "patient": "116131.18"}
    assert got.to_pylist() == policy.settle_table(claims_table(claims)).to_pylist()


def test_cap_points_off_the_grid_in_python_fractions_settle_the_same(monkeypatch, loops):
    """The cap points' fractions are integers unless the products could pass int64; then the
    numpy steps make each a Fraction in Python, and the compiled kernel hands the year to the
    scalar engine from that claim: every way gives the scalar engine's results."""
    import medpolicy.batch as batch
    import medpolicy.batch_steps as steps

    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    table = claims_table(generated_year(policy, 300, seed=11))
    ones, exact_one = [], steps.Step._exact_one
    baseline = fallback_count(settle_batch(policy, table))
    monkeypatch.setattr(steps, "EXACT_LIMIT", 0)
    monkeypatch.setattr(batch, "_SNAPSHOT_ROOM", 1)  # (the kernel called again with room for every year)
    monkeypatch.setattr(steps.Step, "_exact_one", lambda self, *a: ones.append(a) or exact_one(self, *a))
    got = settle_batch(policy, table)
    assert got.to_pylist() == policy.settle_table(table).to_pylist()
    if loops is None:
        assert len(ones) >= 3 and fallback_count(got) == baseline
    else:
        assert not ones and fallback_count(got) >= baseline + 3


def test_settle_table_chooses_the_batch_engine():
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    table = claims_table([_claim("a", "r", "2026-03-01", "resident", "level2", "60000.00")])
    got = policy.settle_table(table, engine="batch")
    assert fallback_count(got) == 0 and _row(got, 0)["major"] == "243.75"
    frame = policy.settle_table(table.to_pandas(), engine="batch")
    assert str(frame["patient"][0]) == "15131.25"
    with pytest.raises(ValueError, match="no trace"):
        policy.settle_table(table, engine="batch", trace=True)


@pytest.mark.parametrize("city", CITIES)
def test_drawn_runs_agree(city):
    """Hypothesis' runs (every claim field the contract has, so many go to the scalar engine)."""
    from hypothesis import HealthCheck, given, settings
    from med_strategies import runs_for
    policy = medpolicy.load(ROOT / "policies" / f"{city}.med")
    params = policy_params(policy)

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(runs_for(policy, max_persons=4, max_claims=10))
    def check(claims):
        table = claims_table(claims)
        assert settle_batch(policy, table, params).to_pylist() == policy.settle_table(table, params=params).to_pylist()
    check()


@pytest.mark.parametrize("worded_from", [64, 1])
def test_hostile_tables_get_the_scalar_engines_error_rows(worded_from, monkeypatch):
    """Anything shaped like a claim (wrong types, bad dates and amounts, missing fields, a table of
    no columns): the same rows as the scalar engine, never a crash; also with every refusal
    worded in columns (batch_refusals.py, from the first suspect row)."""
    from hypothesis import HealthCheck, given, settings, strategies as st
    from med_strategies import hostile_claims
    monkeypatch.setattr(medpolicy.batch, "_WORDED_FROM", worded_from)
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.lists(hostile_claims(policy), min_size=1, max_size=5))
    def check(claims):
        try:
            table = claims_table([c for c in claims if isinstance(c, dict)])
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            return  # not a table Arrow can hold: nothing for either engine
        assert settle_batch(policy, table).to_pylist() == policy.settle_table(table).to_pylist()
    check()


def test_dictionary_columns_and_plans_kept_across_tables_settle_the_same(tmp_path):
    """Parquet read with dictionary columns (as `med run` reads it: each date, scheme, level and
    class parsed once) and two tables settled with the plans of the first kept for the second."""
    import pyarrow.parquet as pq
    from medpolicy.batch import Plans

    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    claims = generated_year(policy, 200, seed=5)
    path = tmp_path / "claims.parquet"
    pq.write_table(claims_table(claims), path)
    from medpolicy.columnar_files import dictionary_columns
    words = dictionary_columns(pq.read_schema(path))
    assert words == ["date", "scheme", "status", "benefit", "place", "facility.level", "facility.type",
                     "facility.grade", "items.list.element.class", "groups.list.element"]
    table = pq.read_table(path, read_dictionary=words)
    assert pa.types.is_dictionary(table.schema.field("date").type)
    assert pa.types.is_dictionary(table.schema.field("facility").type.field("type").type)
    expected = policy.settle_table(claims_table(claims)).to_pylist()
    batch = settle_batch(policy, table)
    assert batch.to_pylist() == expected
    assert fallback_count(batch) < len(claims) // 4
    persons = sorted({c["person"] for c in claims})
    half = pa.array(persons[: len(persons) // 2])
    mine = pa.compute.is_in(table.column("person"), half)
    plans = Plans()
    first = settle_batch(policy, table.filter(mine), plans=plans)
    made = len(plans.vplans)
    second = settle_batch(policy, table.filter(pa.compute.invert(mine)), plans=plans)
    assert made and len(plans.by_signature) >= made
    got = {r["id"]: r for r in first.to_pylist() + second.to_pylist()}
    assert [got[r["id"]] for r in expected] == expected


def test_amount_strings_read_by_words_as_the_regex_and_the_cast_read_them(loops):
    """_two_decimals (16 padded bytes read 8 at a time) accepts exactly the strings of _AMOUNT
    and gives the decimal cast's fen: drawn strings of digits, dots, signs, spaces and other
    characters, and the edges of 13 digits and 1 or 2 decimals."""
    import numpy as np
    import pyarrow.compute as pc
    from medpolicy.batch_columns import _AMOUNT, _two_decimals

    rng = random.Random(3)
    alphabet = "0123456789" * 3 + ".-+e /:\x00é中"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 3, 4, 8, 13, 15, 16, 17, 20])))
             for _ in range(20000)]
    for _ in range(20000):
        whole = str(rng.randrange(10 ** rng.randint(1, 14)))
        texts.append(rng.choice([whole, f"{whole}.{rng.randrange(10)}", f"{whole}.{rng.randrange(100):02d}",
                                 f"00{whole}.5", f"{whole}.", f".{whole}", f"{whole}.123", f"-{whole}"]))
    texts += [None, "", ".", "0", "0.0", "0.00", "9999999999999.99", "99999999999999.9", "9999999999999",
              "99999999999999", "0000000000000.00", "00000000000000.00", "1.2.3", "12..3", "١٢٣", "12.٣"]
    arr = pa.array(texts, pa.string()).slice(1)  # an offset, as a column's slice has
    shaped = np.asarray(pc.match_substring_regex(arr, _AMOUNT).fill_null(False), dtype=bool)
    if loops is None:
        fen, ok = _two_decimals(arr)
    else:  # the compiled loop, one pass over the bytes
        from medpolicy.batch_kernels import string_parts
        fen, ok = loops.two_decimals(*string_parts(arr))
    assert (ok == shaped).all() and shaped.sum() > 10000
    cast = pc.cast(pc.if_else(pa.array(shaped), arr, "0"), pa.decimal128(18, 2)).to_pylist()
    assert fen.tolist() == [int(d * 100) for d in cast]
    read = dict(zip(texts[1:], zip(fen.tolist(), ok.tolist())))
    assert read["9999999999999.99"] == (999999999999999, True) and read["0.0"] == (0, True)
    assert read["99999999999999.9"] == (0, False) and read["12..3"] == (0, False) and read["12.٣"] == (0, False)


def test_person_and_id_codes_group_exactly_the_equal_strings(loops):
    """batch_kernels.encode (hash once, parts, 24 bytes compared as words, the rest byte by byte)
    groups rows exactly as Arrow's dictionary_encode does: drawn strings sharing long prefixes,
    differing only past byte 24 or in their length, empty, non-ASCII, nulls, a sliced array."""
    import numpy as np
    import pyarrow.compute as pc
    from medpolicy.batch_kernels import encode

    rng = random.Random(11)
    stems = ["", "p", "x" * 23, "y" * 24, "z" * 25, "身份证" * 5, "\x00", "p-1234567890123456789012345678"]
    texts = [rng.choice(stems) + rng.choice(["", "0", "1", "\x00", "é", str(rng.randrange(3000))])
             for _ in range(60000)] + [None] * 50
    rng.shuffle(texts)
    arr = pa.array(texts, pa.string()).slice(7)
    for repeats in (True, False):
        codes = encode(arr, repeats)
        if loops is None:
            assert codes is None  # the numpy path: Arrow's dictionary_encode, as before
            return
        expected = np.asarray(pc.dictionary_encode(arr).indices.fill_null(-1), dtype=np.int64)
        assert ((codes < 0) == (expected < 0)).all()
        pairs = set(zip(codes.tolist(), expected.tolist()))
        assert len(pairs) == len(set(codes.tolist())) == len(set(expected.tolist()))  # one to one
        assert sorted(set(codes[codes >= 0].tolist())) == list(range(len(pairs) - 1))  # dense


def test_person_years_sorted_as_lexsort_sorts_them(loops):
    """sort_order (two counting sorts where the loops are on) gives np.lexsort's permutation,
    ties in input order."""
    import numpy as np
    from medpolicy.batch_steps import sort_order

    rng = np.random.default_rng(4)
    for n, persons, days in ((1, 1, 1), (50, 5, 3), (20000, 7000, 400), (20000, 40, 730_000)):
        first, second = rng.integers(0, persons, n), rng.integers(738000, 738000 + days, n)
        assert (sort_order(first, second) == np.lexsort((np.arange(n), second, first))).all()


def test_waves_order_the_kth_claim_of_each_person_year_by_date_then_rank_and_shape(loops):
    """wave_order (one compiled pass where the loops are on) against its definition by lexsort:
    by person-scheme, date, input position; person-years where the key or the year changes; then
    by (rank, shape), ties in the first order."""
    import numpy as np
    from medpolicy.batch_steps import wave_order

    rng = np.random.default_rng(11)
    for n, persons, days, shapes in ((1, 1, 1, 1), (60, 5, 3, 2), (20000, 3000, 800, 5), (5000, 40, 730_000, 3)):
        rows = np.sort(rng.choice(3 * n, n, replace=False))
        key, day, shape = rng.integers(0, persons, n), rng.integers(738000, 738000 + days, n), rng.integers(0, shapes, n)
        year = day // 365  # (any year of a date: a person-year ends where it changes)
        first = np.lexsort((np.arange(n), day, key))
        k, y = key[first], year[first]
        new = np.r_[True, (k[1:] != k[:-1]) | (y[1:] != y[:-1])]
        pyear = np.cumsum(new) - 1
        rank = np.arange(n) - np.flatnonzero(new)[pyear]
        then = np.lexsort((np.arange(n), shape[first], rank))
        got = wave_order(rows, key, day, year, shape)
        assert (got[0] == rows[first][then]).all() and (got[1] == pyear[then]).all() and (got[2] == rank[then]).all()
        assert got[3] == pyear[-1] + 1


def test_plan_signatures_numbered_as_np_unique_numbers_them(loops):
    import numpy as np
    from medpolicy.batch_steps import unique_keys

    rng = np.random.default_rng(9)
    for keys in (np.zeros(0, np.int64), np.array([5]), rng.integers(0, 3, 100), rng.integers(0, 2 ** 62, 5000),
                 rng.choice(rng.integers(0, 2 ** 40, 700), 50000)):
        got, expected = unique_keys(keys), np.unique(keys, return_index=True, return_inverse=True)
        assert all((g == e).all() for g, e in zip(got, expected))


def test_a_group_one_benefit_reads_keeps_no_other_benefits_claims_apart():
    # Suihua names the veteran workers for an employee's stay (第二十一条（一）4: no deductible,
    # 90%) and for no other benefit of employees: an employee's outpatient claims with and without
    # the group share one plan; a stay's do not (three signatures: four before).
    from medpolicy.batch import Plans
    from medpolicy.batch_plans import benefit_reads

    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    employee = benefit_reads(policy.compiled.schemes["employee"])
    assert (employee["outpatient"].groups, employee["inpatient"].groups) == (frozenset(), {"veteran-worker"})
    claims = [_claim(f"a{k}", f"p{k}", "2026-03-01", "employee", "level3", "900.00", status="employed")
              for k in range(4)]
    for c in claims[2:]:
        c["benefit"] = "outpatient"
    for c in claims[1::2]:
        c["groups"] = ["veteran-worker"]
    plans = Plans()
    got = settle_batch(policy, claims_table(claims), plans=plans)
    assert got.to_pylist() == policy.settle_table(claims_table(claims)).to_pylist()
    assert fallback_count(got) == 0
    assert len(plans.by_signature) == 3


def test_claims_at_facilities_the_policy_does_not_tell_apart_share_one_plan():
    # Suihua names no facility type nor grade: a clinic's, a hospital's and a TCM hospital's
    # level-3 stays of one kind are settled by one plan, made once (four signatures before).
    from medpolicy.batch import Plans

    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    claims = [_claim(f"a{k}", f"p{k}", "2026-03-01", "employee", "level3", "10900.00", status="employed")
              for k in range(4)]
    claims[1]["facility"]["type"] = "clinic"
    claims[2]["facility"]["type"] = "tcm"
    claims[3]["facility"]["grade"] = "B"
    plans = Plans()
    got = settle_batch(policy, claims_table(claims), plans=plans)
    assert fallback_count(got) == 0
    assert len(plans.by_signature) == 1
    assert [_row(got, k)["basic"] for k in range(4)] == ["8500.00"] * 4  # (10,900 - 900) x 85% (第二十一条（一）3)


def test_a_claim_the_reader_refuses_keeps_no_person_off_the_columnar_engine():
    # A refused claim gets its error row before any year is looked at (settle_all), so the
    # person's other claims settle in columns; only the refused ones go to the scalar engine.
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    claims = [_claim("a1", "p1", "2026-03-01", "employee", "level3", "10900.00", status="employed"),
              _claim("a2", "p1", "2026-04-01", "employee", "level9", "500.00", status="employed"),
              _claim("a3", "p1", "2020-06-01", "employee", "level3", "500.00", status="employed"),
              _claim("a4", "p1", "2026-05-01", "employee", "level3", "3000.00", status="employed"),
              _claim("b1", "p2", "2026-05-01", "resident", "level1", "2000.00")]
    table = claims_table(claims)
    batch = settle_batch(policy, table)
    assert batch.to_pylist() == policy.settle_table(table).to_pylist()
    assert fallback_count(batch) == 2
    rows = batch.to_pylist()
    assert [r["error"]["code"] if r["error"] else None for r in rows] == \
        [None, "unknown-value", "outside-period", None, None]
    assert _row(batch, 0)["basic"] == "8500.00"  # (10,900 - 900) x 85% (第二十一条（一）3)


def test_a_field_the_policy_never_reads_keeps_its_rows_in_columns():
    # Suihua names no age, no grade and no family-doctor contract: a bureau's export that carries
    # them settles in columns, the reader's checks of each value done in vector form.
    from medpolicy.batch_plans import unread_fields

    suihua = medpolicy.load(ROOT / "policies" / "suihua.med")
    assert {"age", "contracted", "facility.grade", "work_injury"} <= unread_fields(suihua.compiled)
    assert "pregnancy_months" not in unread_fields(suihua.compiled)  # its maternity rules read it
    claims = [_claim("a1", "p1", "2026-03-01", "employee", "level3", "10900.00", status="employed", age=40,
                     contracted=True),
              _claim("a2", "p1", "2026-05-01", "employee", "level3", "3000.00", status="employed", age=150),
              _claim("b1", "p2", "2026-05-01", "employee", "level3", "3000.00", status="employed", age=151),  # refused
              _claim("c1", "p3", "2026-05-01", "employee", "level3", "3000.00", status="employed",
                     wage="6000.00"),  # read by the policy (an allowance's): p3 is the scalar engine's
              _claim("d1", "p4", "2026-05-01", "employee", "level3", "3000.00", status="employed")]
    claims[4]["facility"]["grade"] = "B"
    table = claims_table(claims)
    batch = settle_batch(suihua, table)
    assert batch.to_pylist() == suihua.settle_table(table).to_pylist()
    assert fallback_count(batch) == 2  # b1 (its error row) and c1
    # The grade as a categorical (dictionary) column, as pandas gives one: the same.
    facility = table.column("facility").combine_chunks()
    grades = pa.StructArray.from_arrays([facility.field("level"), facility.field("grade").dictionary_encode()],
                                        names=["level", "grade"])
    as_words = settle_batch(suihua, table.set_column(table.schema.get_field_index("facility"), "facility", grades))
    assert as_words.to_pylist() == batch.to_pylist() and fallback_count(as_words) == 2
    assert batch.column("error").to_pylist()[2]["code"] == "bad-value"
    assert _row(batch, 0)["basic"] == "8500.00"  # (10,900 - 900) x 85% (第二十一条（一）3)


def test_an_age_the_clauses_compare_is_read_into_the_plans_signature():
    # Ziyang 第十八条: a retired employee's level-2 stay, deductible 400 - 200 = 200 (（一）1、2), rate
    # 85% + 5 points retired (（二）2) + 5 more from 70; from 80, no deductible from the second stay
    # (（一）5). The age's interval between the clauses' bounds (70, 80) is part of the plan's
    # signature: each row settles in columns; an age out of range (151) is refused, alone.
    from medpolicy.batch_plans import unread_fields

    ziyang = medpolicy.load(ROOT / "policies" / "ziyang.med")
    assert "age" not in unread_fields(ziyang.compiled)

    def stay(cid, person, date, **more):
        return _claim(cid, person, date, "employee", "level2", "3000.00", status="retired", **more)

    claims = [stay("a1", "p1", "2026-03-01", age=72), stay("b1", "p2", "2026-03-01", age=65),
              stay("c1", "p3", "2026-03-01", age=85), stay("c2", "p3", "2026-06-01", age=85),
              stay("d1", "p4", "2026-03-01", age=151), stay("e1", "p5", "2026-03-01")]
    table = claims_table(claims)
    params = policy_params(ziyang)
    batch = settle_batch(ziyang, table, params=params)
    assert batch.to_pylist() == ziyang.settle_table(table, params=params).to_pylist()
    assert fallback_count(batch) == 1  # d1's error row
    rows = batch.to_pylist()
    assert [r["paid"] and str(r["paid"]["basic"]) for r in rows] == \
        ["2660.00", "2520.00", "2660.00", "2850.00", None, "2520.00"]  # 2,800 x 95%, x 90%; 3,000 x 95%
    assert rows[4]["error"]["code"] == "bad-value"


def test_a_pandas_age_column_with_a_gap_is_read_as_whole_numbers():
    # pandas makes an integer column with a missing value float (85.0, NaN): the claim reader takes
    # 85.0 as 85 and NaN (Arrow's null) as no age, so the columnar engine does too; 40.5, 151.0 and
    # a NaN that is a value, not a null, are the reader's to refuse (each alone, an error row).
    # Ziyang 第十八条 as above: 3,000 less 200 at 95% from 70, 90% below; from 80 no deductible
    # from the second stay.
    import pandas as pd
    ziyang = medpolicy.load(ROOT / "policies" / "ziyang.med")
    params = policy_params(ziyang)
    ages = [72.0, float("nan"), 85.0, 85.0, 40.5, 151.0, 65.0]
    claims = [_claim(f"a{k}", f"p{k if k != 3 else 2}", f"2026-0{3 + k}-01", "employee", "level2", "3000.00",
                     status="retired") for k in range(len(ages))]
    frame = pd.DataFrame(claims).assign(age=ages)
    assert frame["age"].dtype == "float64"
    got = settle_batch(ziyang, frame, params=params)  # (a DataFrame in, a DataFrame out)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    batch = settle_batch(ziyang, table, params=params)
    assert batch.to_pylist() == ziyang.settle_table(table, params=params).to_pylist()
    assert fallback_count(batch) == 2  # the two refused
    rows = batch.to_pylist()
    assert [r["paid"] and str(r["paid"]["basic"]) for r in rows] == \
        ["2660.00", "2520.00", "2660.00", "2850.00", None, None, "2520.00"]
    assert [r["error"]["code"] for r in rows[4:6]] == ["bad-value", "bad-value"]
    assert [str(v) for v in got["patient"]] == [str(r["patient"]) for r in rows]
    nan = pa.table({"age": pa.array([float("nan"), 70.0])}).column("age")  # a NaN given as a value
    table = claims_table(claims[:2]).append_column("age", nan)
    batch = settle_batch(ziyang, table, params=params)
    assert batch.to_pylist() == ziyang.settle_table(table, params=params).to_pylist()
    assert batch.column("error").to_pylist()[0]["code"] == "bad-value" and fallback_count(batch) == 1


def test_groups_the_clauses_test_alike_share_a_plan():
    # Suihua's residents' major fund takes one threshold for the extremely poor, the low-income and
    # those back in poverty alike (第二十九条（二）: 7,500, 5 points more, no cap): a resident's stay
    # with any of them, or two, is settled by one plan; without them, by another.
    from medpolicy.batch import Plans

    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    groups = [["low-income"], ["relapse-poverty"], ["extreme-poverty", "low-income"], []]
    claims = [_claim(f"a{k}", f"p{k}", "2026-03-01", "resident", "level2", "30000.00", groups=g)
              for k, g in enumerate(groups)]
    plans = Plans()
    got = settle_batch(policy, claims_table(claims), plans=plans)
    assert got.to_pylist() == policy.settle_table(claims_table(claims)).to_pylist()
    assert fallback_count(got) == 0 and len(plans.by_signature) == 2
    # Basic: (30,000 - 500) x 75% = 22,125 (第二十三条（一）3), a burden of 7,875: for the three, 375
    # above 7,500 at 70% (65% + 5 points); for the fourth, below 15,000.
    assert [_row(got, k)["major"] for k in range(4)] == ["262.50"] * 3 + ["0.00"]


def test_an_age_only_some_benefits_compare_keeps_only_their_claims_apart():
    # Ziyang compares a retired employee's age for a stay (第十八条: 70 and 80) and for no outpatient
    # claim: outpatient claims at 65, 75 and 85 share one plan, stays at those ages take three.
    from medpolicy.batch import Plans

    ziyang = medpolicy.load(ROOT / "policies" / "ziyang.med")
    params = policy_params(ziyang)
    claims = [_claim(f"{b[0]}{age}", f"p{b[0]}{age}", "2026-03-01", "employee", "level2", "300.00",
                     status="retired", age=age, benefit=b)
              for b in ("outpatient", "inpatient") for age in (65, 75, 85)]
    plans = Plans()
    got = settle_batch(ziyang, claims_table(claims), params=params, plans=plans)
    assert got.to_pylist() == ziyang.settle_table(claims_table(claims), params=params).to_pylist()
    assert fallback_count(got) == 0
    assert len(plans.by_signature) == 4
    # The plans kept for a later table of the year: one whose first table gave no age at all.
    plans, ageless = Plans(), [{k: v for k, v in c.items() if k != "age"} for c in claims[:1]]
    settle_batch(ziyang, claims_table(ageless), params=params, plans=plans)
    again = settle_batch(ziyang, claims_table(claims), params=params, plans=plans)
    assert again.to_pylist() == got.to_pylist()


def test_an_allowance_per_unit_of_a_measure_in_the_signature_sends_its_rows_to_the_scalar_engine():
    # Allowance days + 15 for each year of age above 1 (as 资阳 第二十四条（一）3 adds them per extra baby):
    # ages 1 and 2 share an interval of the clauses' bounds (< 60) but not their days (0: an allowance
    # of 0.00; 15: none without a wage), so no plan made from one of them holds for the other.
    from small_policies import claim, policy

    p = policy("scheme employee\n  inpatient deductible none rate 100%\n    allowance 0 days\n"
               "    allowance + 15 days each-extra age\n    age >= 60 rate 90%\n")
    table = claims_table([claim(id="a", person="p1", age=1), claim(id="b", person="p2", age=2),
                          claim(id="c", person="p3", age=61)])
    batch = settle_batch(p, table)
    assert batch.to_pylist() == p.settle_table(table).to_pylist()
    assert fallback_count(batch) == 3
    assert [(r["paid"]["basic"], r["allowance"]) for r in batch.to_pylist()] == \
        [(Decimal("10000.00"), Decimal("0.00")), (Decimal("10000.00"), None), (Decimal("9000.00"), None)]


def test_an_id_given_twice_takes_no_person_off_the_columnar_engine():
    # settle_all: the first claim the reader takes keeps the id; a later one is a duplicate-id
    # row that never reaches a year; one the reader refuses keeps no id.
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    claims = [_claim("a1", "p1", "2026-03-01", "employee", "level3", "10900.00", status="employed"),
              _claim("a2", "p1", "2026-04-01", "employee", "level3", "3000.00", status="employed"),
              _claim("a1", "p2", "2026-02-01", "employee", "level3", "3000.00", status="employed"),  # repeat
              _claim("y", "p3", "2026-02-01", "employee", "level9", "3000.00", status="employed"),   # refused
              _claim("y", "p4", "2026-02-01", "employee", "level3", "3000.00", status="employed")]   # keeps "y"
    table = claims_table(claims)
    batch = settle_batch(policy, table)
    assert batch.to_pylist() == policy.settle_table(table).to_pylist()
    assert [r["error"]["code"] if r["error"] else None for r in batch.to_pylist()] == \
        [None, None, "duplicate-id", "unknown-value", None]
    assert fallback_count(batch) == 1  # the refused claim alone
    assert _row(batch, 0)["basic"] == "8500.00"  # (10,900 - 900) x 85% (第二十一条（一）3)


def test_a_column_no_claim_field_is_named_refuses_only_the_claims_that_give_it_in_columns():
    # A bureau's export with more than the claim (a hospital's name, a ward): the reader refuses a
    # claim that gives such a field, naming the first in column order, before any other field.
    # Such rows went one by one to the scalar engine (1M rows: 142 CPU s, 3.6 GB); now they are
    # error rows in columns, keep no id and touch no year, and the rest settle as without them.
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    claims = [_claim("a1", "p1", "2026-03-01", "employee", "level3", "100000.00", status="employed"),
              _claim("a2", "p1", "2026-04-01", "employee", "level3", "50000.00", status="employed"),
              _claim("b1", "p2", "2026-03-01", "employee", "level3", "10900.00", status="employed"),
              _claim("a1", "p3", "2026-05-01", "employee", "level3", "10900.00", status="employed"),
              _claim("c1", "p4", "2026-05-01", "employee", "level3", "10900.00", status="employed")]
    table = claims_table(claims)
    table = table.append_column("ward", pa.array(["east", None, None, None, None]))
    table = table.append_column("hospital", pa.array([None, "某医院", None, None, "某医院"]))
    batch = settle_batch(policy, table)
    assert batch.to_pylist() == policy.settle_table(table).to_pylist()
    assert fallback_count(batch) == 0
    rows = batch.to_pylist()
    assert [(r["id"], r["error"] and r["error"]["field"]) for r in rows] == \
        [("a1", "ward"), ("a2", "hospital"), ("b1", None), ("a1", None), ("c1", "hospital")]
    assert rows[0]["error"] == {"code": "unknown-field", "field": "ward",
                                "message": "unknown field ward (did you mean abroad?)"}
    # (p1's first stay refused, its second is the year's first: (50,000 - 900) x 85% = 41,735; the
    # refused a1 keeps no id, so p3's a1 is no repeat: (10,900 - 900) x 85% = 8,500)
    assert _row(batch, 3)["basic"] == _row(batch, 2)["basic"] == "8500.00"
    assert policy.settle(claims[1]).to_json()["paid"]["basic"] == "41735.00"


def test_a_facility_field_no_facility_field_is_named_refuses_its_claims_in_columns():
    # facility.name (a hospital's name in its facility): the reader reads the claim's fields in
    # order (id, person, date, scheme, benefit, status, then the facility, whose unknown fields
    # come before its own), so a row the columns find whole otherwise is refused for it, and any
    # other row is worded by the scalar reader. 1M such claims: 40 CPU s one by one, now 1.8.
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")

    def claim(cid, facility=(), **over):
        c = {**_claim(cid, "p1", "2026-03-01", "employee", "level3", "10900.00"), **over}
        c["facility"] = {**c["facility"], "name": "某医院", **dict(facility)}
        return c
    claims = [claim("whole"), claim("date", date="2026-02-30"), claim("scheme", scheme="nope"),
              claim("status", status="nope"), claim("level", facility={"level": "level9"}), claim("place", place="moon"),
              claim("amount", items=[{"class": "A", "amount": "1.234"}]), claim("period", date="2019-01-01"),
              claim("unnamed", facility={"name": None}), claim("whole", person="p2")]
    table = claims_table(claims)
    batch = settle_batch(policy, table)
    assert batch.to_pylist() == policy.settle_table(table).to_pylist()
    assert fallback_count(batch) == 0
    # (a field before the facility is read first; the facility's, after it, is said before any later one;
    # the refused "whole" keeps no id, so p2's is no repeat, and is refused for its own name)
    assert [(r["id"], r["error"] and r["error"]["field"]) for r in batch.to_pylist()] == [
        ("whole", "facility.name"), ("date", "date"), ("scheme", "scheme"), ("status", "status"),
        ("level", "facility.name"), ("place", "facility.name"), ("amount", "facility.name"),
        ("period", "facility.name"), ("unnamed", None), ("whole", "facility.name")]
    assert _row(batch, 8)["basic"] == "8500.00"  # the name not given: (10,900 - 900) x 85%
    # A facility of unknown fields only, one row (the struct left had no field to count its rows
    # by: a hypothesis run found it), and tables sliced from a longer one.
    alone = claims_table([{**_claim("x", "p", "2026-03-01", "employee", "level3", "10900.00"), "facility": {"x": 1}}])
    assert settle_batch(policy, alone).to_pylist() == policy.settle_table(alone).to_pylist()
    for start in range(1, len(claims)):
        part = table.slice(start)
        assert settle_batch(policy, part).to_pylist() == policy.settle_table(part).to_pylist()


def test_an_item_field_no_item_field_is_named_refuses_its_claims_in_columns():
    # items[].ward (a bureau's item lines carry more than class and amount): the reader reads the
    # items in order, each saying its unknown fields before its own, after every field before
    # `items` (`history`'s among them, whose own unknown fields come first). A row the columns
    # find whole otherwise is refused for its first item's first such field; any other is
    # worded by the scalar reader. Such claims went one by one to the scalar engine.
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    a = {"class": "A", "amount": "10900.00"}

    def claim(cid, items, **over):
        return {**_claim(cid, "p1", "2026-03-01", "employee", "level3", "0", status="employed"), "items": items, **over}
    claims = [claim("second", [a, {**a, "ward": "东"}]),
              claim("both", [{**a, "ward": "东", "code": "x"}]),
              claim("code", [{**a, "code": "x"}, {**a, "ward": "东"}]),
              claim("unnamed", [a, {**a, "ward": None}]),
              claim("scheme", [{**a, "ward": "东"}], scheme="nope"),
              claim("amount", [{"class": "A", "amount": "1.234"}, {**a, "ward": "东"}]),
              claim("later", [{**a, "ward": "东"}, {"class": "A", "amount": "1.234"}]),
              claim("history", [{**a, "ward": "东"}], history={"chronic_diseases": 1, "note": "x"}),
              claim("facility", [{**a, "ward": "东"}], facility={"level": "level3", "name": "某医院"}),
              claim("none", []), claim("null", None), claim("second", [a], person="p2")]
    table = claims_table(claims)
    batch = settle_batch(policy, table)
    assert batch.to_pylist() == policy.settle_table(table).to_pylist()
    assert fallback_count(batch) == 1  # ("null": the claim has no items, worded by the scalar engine as without a ward)
    errors = [(r["id"], r["error"] and r["error"]["field"]) for r in batch.to_pylist()]
    assert errors == [
        ("second", "items[1].ward"), ("both", "items[0].ward"), ("code", "items[0].code"), ("unnamed", None),
        ("scheme", "scheme"), ("amount", "items[0].amount"), ("later", "items[0].ward"),
        ("history", "history.note"), ("facility", "facility.name"), ("none", None), ("null", "items"), ("second", None)]
    assert batch.to_pylist()[0]["error"] == {
        "code": "unknown-field", "field": "items[1].ward",
        "message": "unknown field items[1].ward (the fields here are: amount, class, days, kind, unit_price)"}
    # (the refused "second" keeps no id: p2's is no repeat; p1's first stay is "unnamed",
    # 21,800 - 900 = 20,900 at 85% = 17,765; p2's (10,900 - 900) x 85% = 8,500)
    assert (_row(batch, 3)["basic"], _row(batch, 11)["basic"]) == ("17765.00", "8500.00")
    for start in range(1, len(claims)):
        part = table.slice(start)
        assert settle_batch(policy, part).to_pylist() == policy.settle_table(part).to_pylist()


def test_a_year_of_refused_claims_is_worded_in_columns_a_value_at_a_time():
    # A bureau's export with every date written 2026/03/02, or the scheme in Chinese: each claim
    # went through the scalar reader (1M: 36 CPU s, 3 GB). The reader refuses a claim at its
    # first field it does not take, with an error of that value alone, so each distinct value is
    # judged once; rows it takes whole (an enrolment the columns do not read) stay the scalar
    # engine's, and a refused claim keeps no id.
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")

    def claim(cid, person="p1", date="2026-03-01", **over):
        return {**_claim(cid, person, date, "employee", "level3", "10900.00", status="employed"), **over}
    claims = [claim(f"s{k}", person=f"q{k}", date=f"2026/03/{k % 28 + 1:02d}") for k in range(70)]
    claims += [claim("zh", scheme="职工"), claim("both", date="2026/03/02", scheme="职工"),
               claim("late", date="2019-01-01"), claim("late2", date="2019-01-01", person="p9"),
               claim("taken", enrolment={"mode": "standard"}), claim("s5", person="p2")]
    a = {"class": "A", "amount": "100.00"}
    items = [claim("zhclass", items=[a, {"class": "甲类", "amount": "1.00"}]),
             claim("fen", items=[a, a, {"class": "B", "amount": "1.234"}, {"class": "甲类", "amount": "1.00"}]),
             claim("none", items=[a, None]), claim("noamount", items=[{"class": "B"}]), claim("noitems", items=None)]
    table = claims_table(claims + items)
    batch = settle_batch(policy, table)
    assert batch.to_pylist() == policy.settle_table(table).to_pylist()
    rows = batch.to_pylist()
    # (the items read in order, each its fields in order: the first value not taken is named)
    assert [(r["id"], r["error"]["field"], r["error"]["message"]) for r in rows[76:]] == [
        ("zhclass", "items[1].class",
         "items[1].class '甲类' is not one of: A, B, bed, excluded, herbal, material, partial"),
        ("fen", "items[2].amount", "items[2].amount has a part smaller than a fen (1.234)"),
        ("none", "items[1]", "items[1] must be an object with class and amount"),
        ("noamount", "items[0].amount", "the claim has no items[0].amount"),
        ("noitems", "items", "the claim has no items")]
    rows = rows[:76]
    assert rows[0]["error"] == {"code": "bad-date", "field": "date",
                                "message": "date is not a date YYYY-MM-DD: '2026/03/01'"}
    assert [(r["id"], r["error"] and (r["error"]["code"], r["error"]["field"])) for r in rows[70:]] == [
        ("zh", ("unknown-value", "scheme")), ("both", ("bad-date", "date")), ("late", ("outside-period", "date")),
        ("late2", ("outside-period", "date")), ("taken", None), ("s5", None)]
    assert rows[72]["error"]["message"] == rows[73]["error"]["message"] == \
        policy.settle(claims[72]).to_json()["error"]["message"]
    # (the refused s5 keeps no id: p2's is no repeat; p1's one stay, (10,900 - 900) x 85% = 8,500)
    assert _row(batch, 74)["basic"] == _row(batch, 75)["basic"] == "8500.00"
    assert fallback_count(batch) == 1  # the enrolment, which only the scalar engine reads
    # ids as whole numbers (a settlement system's serial numbers): each refused, echoed as digits
    numbered = claims_table([{**c, "id": k - 35} for k, c in enumerate(claims[:70])])
    batch = settle_batch(policy, numbered)
    assert batch.to_pylist() == policy.settle_table(numbered).to_pylist()
    assert fallback_count(batch) == 0
    assert {(r["id"], r["error"]["message"]) for r in batch.to_pylist()[34:37]} == \
        {("-1", "id must be a string"), ("0", "id must be a string"), ("1", "id must be a string")}


def test_ids_given_twice_are_found_in_columns_in_the_readers_words():
    # A year whose ids start again each month: the rows the columns read are taken as read (only
    # the others go through the scalar reader, 1M: 31.6 -> 2.3 CPU s), and each later one is a
    # duplicate-id row whose message quotes the id as Python's repr does, in columns where that
    # is the id in single quotes.
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    ids = ["m1", "a'b", 'a"b', "a\\b", "住院", "a\tb", "a'b\"c", "\x7f", "~ !"]
    claims = [_claim(cid, f"p{k}", "2026-03-01", "employee", "level3", "10900.00", status="employed")
              for k, cid in enumerate(ids)]
    refused = {**claims[0], "person": "q", "scheme": "nope"}  # refused, before the first: keeps no id
    later = [{**c, "person": "r", "date": "2026-04-01"} for c in claims]
    table = claims_table([refused] + claims + later)
    batch = settle_batch(policy, table)
    assert batch.to_pylist() == policy.settle_table(table).to_pylist()
    assert fallback_count(batch) == 1  # (the refused claim, worded by the scalar reader)
    rows = batch.to_pylist()
    assert [r["error"]["message"] for r in rows[len(ids) + 1:]] == [
        "claim id 'm1' appears more than once in this run",
        "claim id \"a'b\" appears more than once in this run",
        "claim id 'a\"b' appears more than once in this run",
        "claim id 'a\\\\b' appears more than once in this run",
        "claim id '住院' appears more than once in this run",
        "claim id 'a\\tb' appears more than once in this run",
        "claim id 'a\\'b\"c' appears more than once in this run",
        "claim id '\\x7f' appears more than once in this run",
        "claim id '~ !' appears more than once in this run"]
    assert [r["id"] for r in rows[len(ids) + 1:]] == ids
    assert rows[0]["error"]["code"] == "unknown-value" and rows[1]["error"] is None
    assert _row(batch, 1)["basic"] == "8500.00"  # (10,900 - 900) x 85%: the first taken keeps its id


def _with_item_amounts(table, kind, amounts):
    """The table with each claim's one item amount given as `kind` (a decimal type), from `amounts`."""
    items = table.column("items").combine_chunks()
    flat = items.flatten()
    struct = pa.StructArray.from_arrays([flat.field("class"), pa.array(amounts, kind)], names=["class", "amount"])
    return table.set_column(table.schema.get_field_index("items"), "items",
                            pa.ListArray.from_arrays(items.offsets, struct))


@pytest.mark.parametrize("kind", [pa.decimal128(18, 2), pa.decimal64(18, 2), pa.decimal128(38, 18),
                                  pa.decimal128(38, 0), pa.decimal32(9, 3)])
def test_decimal_amounts_are_read_in_columns_value_by_value(kind):
    # DuckDB and the contract write DECIMAL(18, 2), Spark's default is (38, 18): a column whose
    # type could hold more than 13 whole digits once sent every claim to the scalar engine. Now
    # each amount is judged: 14 whole digits, or a part of a fen, is the scalar engine's.
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    claims = [_claim("a1", "p1", "2026-03-01", "employee", "level3", "0", status="employed"),
              _claim("a2", "p1", "2026-05-01", "employee", "level3", "0", status="employed"),
              _claim("b1", "p2", "2026-05-01", "employee", "level3", "0", status="employed"),
              _claim("c1", "p3", "2026-05-01", "employee", "level3", "0", status="employed")]
    whole = kind.precision - kind.scale
    big = Decimal("12345678901234") if whole >= 14 else Decimal("3000")  # (14 whole digits, where the type holds them)
    fine = Decimal("0.005") if kind.scale > 2 else Decimal("3000")        # (below a fen, where the type holds it)
    table = _with_item_amounts(claims_table(claims), kind, [Decimal("10900"), Decimal("3000"), big, fine])
    batch = settle_batch(policy, table)
    assert batch.to_pylist() == policy.settle_table(table).to_pylist()
    assert fallback_count(batch) == (whole >= 14) + (kind.scale > 2)
    assert _row(batch, 0)["basic"] == "8500.00"  # (10,900 - 900) x 85% (第二十一条（一）3)
    assert _row(batch, 1)["basic"] == "1785.00"  # 每次起付线900元: the second stay's own, (3,000 - 900) x 85%
    if kind.scale > 2:
        assert batch.column("error").to_pylist()[3]["code"] == "bad-amount"


def test_float_and_categorical_amounts_are_read_in_columns_as_the_claim_reader_reads_them():
    # pandas keeps money as float64 (or a categorical of strings): the claim reader takes a
    # float as the decimal its repr writes, so 8000.1 is 8,000.10 and 0.1 + 0.2 is refused (a
    # part of a fen). Each such amount is read in columns; any other is the scalar engine's.
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    amounts = [10900.0, 8000.1, 0.1 + 0.2, 1e13, float("nan"), -0.0]
    claims = [_claim(f"a{i}", f"p{i}", "2026-03-01", "employee", "level3", "0", status="employed")
              for i in range(len(amounts))]
    table = _with_item_amounts(claims_table(claims), pa.float64(), amounts)
    batch = settle_batch(policy, table)
    assert batch.to_pylist() == policy.settle_table(table).to_pylist()
    assert fallback_count(batch) == 4  # 0.30000000000000004, 14 whole digits, NaN and -0.0
    assert _row(batch, 0)["basic"] == "8500.00"  # (10,900 - 900) x 85%
    assert _row(batch, 1)["basic"] == "6035.09"  # (8,000.10 - 900) x 85% = 6,035.085, half up
    assert [e and e["code"] for e in batch.column("error").to_pylist()] == \
        [None, None, "bad-amount", None, "bad-amount", None]
    words = claims_table(claims[:2] * 3)
    words = _with_item_amounts(words, pa.string(), ["10900.00", "8000.10"] * 3)
    items = words.column("items").combine_chunks()
    categorical = pa.StructArray.from_arrays([items.flatten().field("class"),
                                              items.flatten().field("amount").dictionary_encode()],
                                             names=["class", "amount"])
    words = words.set_column(words.schema.get_field_index("items"), "items",
                             pa.ListArray.from_arrays(items.offsets, categorical))
    batch = settle_batch(policy, words)
    assert batch.to_pylist() == policy.settle_table(words).to_pylist()
    assert fallback_count(batch) == 0
    assert [_row(batch, i)["basic"] for i in range(2)] == ["8500.00", "6035.09"]


@pytest.mark.parametrize("kind", [pa.int64(), pa.int32(), pa.uint64(), pa.int16()])
def test_whole_yuan_amounts_of_an_integer_column_are_read_in_columns(kind):
    # JSON's 10900 is 10,900 yuan (contract.md: a number is yuan); a column of integers once sent
    # every claim to the scalar engine. A negative one, or one of 14 whole digits, is still its
    # to refuse; a uint64 beyond int64 too.
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    signed = not pa.types.is_unsigned_integer(kind)
    amounts = [10900, 3000, None, -5 if signed else 2 ** 64 - 1,
               12_345_678_901_234 if kind.bit_width == 64 else 0]
    claims = [_claim(f"a{i}", f"p{i}", "2026-03-01", "employee", "level3", "0", status="employed")
              for i in range(len(amounts))]
    table = _with_item_amounts(claims_table(claims), kind, amounts)
    batch = settle_batch(policy, table)
    assert batch.to_pylist() == policy.settle_table(table).to_pylist()
    # (the null: the scalar engine's error row; -5 or 2^64 - 1; 14 whole digits)
    assert fallback_count(batch) == 2 + (kind.bit_width == 64)
    assert [_row(batch, i)["basic"] for i in range(2)] == ["8500.00", "1785.00"]  # (10,900 - 900) x 85%; (3,000 - 900) x 85%
    assert [e and e["code"] for e in batch.column("error").to_pylist()][:4] == [None, None, "missing-field", "bad-amount"]


def test_a_year_with_decimal_amounts_from_duckdb_is_settled_in_columns(tmp_path):
    # A bureau's warehouse keeps money as DECIMAL(18, 2): DuckDB writes the items' amounts so, as
    # Parquet's INT64 decimals, and not one claim of the year goes to the scalar engine.
    import duckdb
    import pyarrow.parquet as pq

    from medpolicy.columnar_files import read_claims

    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    claims = generated_year(policy, 300, seed=11)
    pq.write_table(claims_table(claims), tmp_path / "text.parquet")
    duckdb.sql(f"COPY (SELECT * REPLACE (items::STRUCT(class VARCHAR, amount DECIMAL(18, 2))[] AS items) "
               f"FROM '{tmp_path / 'text.parquet'}') TO '{tmp_path / 'decimal.parquet'}' (FORMAT parquet)")
    table = read_claims(str(tmp_path / "decimal.parquet"))
    assert table.schema.field("items").type.value_type.field("amount").type == pa.decimal128(18, 2)
    batch = settle_batch(policy, table)
    assert batch.to_pylist() == policy.settle_table(claims_table(claims)).to_pylist()
    assert fallback_count(batch) == fallback_count(settle_batch(policy, read_claims(str(tmp_path / "text.parquet"))))


def test_a_unit_price_keeps_its_claim_in_columns_unless_the_class_rule_reads_it():
    # Ziyang: class B pre-pays a flat 10%; partial items pre-pay by the tier of their unit price
    # (第十二条（一）2), so only that claim's price is read, by the scalar engine.
    ziyang = medpolicy.load(ROOT / "policies" / "ziyang.med")
    flat = _claim("a1", "p1", "2026-03-01", "employee", "level2", "0", status="employed")
    flat["items"] = [{"class": "B", "amount": "1000.00", "unit_price": "50.00"}]
    tiered = _claim("b1", "p2", "2026-03-01", "employee", "level2", "0", status="employed")
    tiered["items"] = [{"class": "partial", "amount": "1000.00", "unit_price": "200.00"}]
    table = claims_table([flat, tiered])
    params = policy_params(ziyang)
    batch = settle_batch(ziyang, table, params=params)
    assert batch.to_pylist() == ziyang.settle_table(table, params=params).to_pylist()
    assert fallback_count(batch) == 1
    # 1,000 x 10% either way: B's flat share; the partial item's tier of a 200-yuan unit price
    # (to 300: 10%), where its amount (1,000: the 20% tier) would have given 200.
    assert [f"{p:.2f}" for p in batch.column("prepay").to_pylist()] == ["100.00", "100.00"]


def test_a_claim_whose_terms_need_a_parameter_the_run_did_not_give_is_an_error_row_in_both_engines():
    # Ziyang's employee stays need avg_wage (the major fund's cap). Without it the plan is built
    # on a stand-in value that must never be paid: the columnar engine paid it (basic 6.00, major
    # 625.45 on this stay) where the scalar engine gives the missing-parameter row.
    ziyang = medpolicy.load(ROOT / "policies" / "ziyang.med")
    stay = _claim("a1", "p1", "2026-03-01", "employee", "level2", "1000.00", status="employed")
    table = claims_table([stay, dict(stay, id="a2", date="2026-04-01")])
    batch = settle_batch(ziyang, table)
    assert batch.to_pylist() == ziyang.settle_table(table).to_pylist()
    assert [r["error"]["code"] for r in batch.to_pylist()] == ["missing-parameter"] * 2
    assert "avg_wage" in batch.column("error").to_pylist()[0]["message"]


def test_a_burden_that_leaves_out_the_cost_above_the_outpatient_cap_is_vectorised_while_none_is_above(loops):
    # Shaoxing 第三十五条 末款: the cost above the outpatient cap is no burden. None is above it while
    # the year's outpatient costs above the deductible, at their rates, stay within the cap. Both
    # paths track those rated costs; the numpy steps hand the year to the scalar engine at the
    # claim that would pass the cap (with them: the scalar engine then finds which cost is above),
    # the compiled kernel takes that cost out itself (the next test).
    shaoxing = medpolicy.load(ROOT / "policies" / "shaoxing.med")
    visit = {"scheme": "employee", "status": "employed", "benefit": "outpatient", "facility": {"level": "level1"}}
    stay = dict(visit, benefit="inpatient", facility={"level": "level3"})
    claims = [dict(visit, id="a1", person="p1", date="2026-03-01", items=[{"class": "A", "amount": "2000.00"}]),
              dict(visit, id="b1", person="p2", date="2026-03-01", items=[{"class": "A", "amount": "9000.00"}]),
              dict(visit, id="b2", person="p2", date="2026-05-01", items=[{"class": "A", "amount": "9000.00"}]),
              # (the year's burden then passes 25,000: the outpatient burden left out at b2 shows)
              dict(stay, id="b3", person="p2", date="2026-07-01", items=[{"class": "A", "amount": "100000.00"}]),
              dict(visit, id="c1", person="p3", date="2026-03-01", items=[{"class": "A", "amount": "9500.00"}])]
    table = claims_table(claims)
    params = policy_params(shaoxing)
    batch = settle_batch(shaoxing, table, params=params)
    assert batch.to_pylist() == shaoxing.settle_table(table, params=params).to_pylist()
    # p1: 1,600 x 65% = 1,040 <= 6,000. p2: b1 8,600 x 65% = 5,590; b2 would bring 17,600 x 65% =
    # 11,440 > 6,000: b2 and b3 are handed over. p3: 9,100 x 65% = 5,915 <= 6,000 (though its whole
    # 9,500 at 65% is 6,175: the ninth round's per-person bound sent it to the scalar engine).
    assert fallback_count(batch) == (0 if loops is not None else 2)
    # 第二十四条（一）（二）: deductible 400 yearly, 65%, cap 6,000 a year.
    rows = batch.to_pylist()
    assert [rows[i]["paid"]["basic"] for i in (0, 1, 2, 4)] == \
        [Decimal("1040.00"), Decimal("5590.00"), Decimal("410.00"), Decimal("5915.00")]  # 6,000 - 5,590 = 410


def test_the_burden_past_the_outpatient_cap_is_a_fraction_the_kernel_keeps_exactly(loops):
    # Shaoxing 第三十五条 末款 past the cap: the cap of 6,000 at 65% covers 6,000 / 0.65 =
    # 120,000/13 of the year's outpatient cost, so the burden is a thirteenth of a yuan; the
    # disabled's major layer (第三十六条（一）: thresholds halved to 9,000 and 12,500, 80%, no cap)
    # pays on it. The kernel keeps every burden in 1/(100 * 13 * ...) yuan and the major pool's
    # fraction; the numpy steps hand the year over at o2.
    shaoxing = medpolicy.load(ROOT / "policies" / "shaoxing.med")
    visit = {"scheme": "employee", "status": "employed", "benefit": "outpatient", "facility": {"level": "level1"},
             "person": "p", "groups": ["disabled"]}
    stay = dict(visit, benefit="inpatient")
    claims = [dict(visit, id="o1", date="2026-03-01", items=[{"class": "A", "amount": "9000.00"}]),
              dict(visit, id="o2", date="2026-04-01", items=[{"class": "A", "amount": "9000.00"}]),
              dict(stay, id="s1", date="2026-05-01", items=[{"class": "A", "amount": "60000.00"}]),
              dict(stay, id="s2", date="2026-06-01", items=[{"class": "A", "amount": "10.08"}])]
    table, params = claims_table(claims), policy_params(shaoxing)
    batch = settle_batch(shaoxing, table, params=params)
    assert batch.to_pylist() == shaoxing.settle_table(table, params=params).to_pylist()
    assert fallback_count(batch) == (0 if loops is not None else 3)
    rows = {r["id"]: r for r in batch.to_pylist()}
    # o1: 400 deductible, 8,600 x 65% = 5,590; burden 3,410. o2: the cap leaves 410; the cost the
    # cap covers grows from 8,600 to 120,000/13, so 9,000 - (120,000/13 - 8,600) = 108,800/13 is
    # above it, and the burden is 8,590 - 108,800/13 = 2,870/13 (the year's outpatient burden
    # 47,200/13 = 3,630.77).
    assert [rows[i]["paid"]["basic"] for i in ("o1", "o2")] == [Decimal("5590.00"), Decimal("410.00")]
    # s1 (第二十三条, level 1, employed: 800 deductible, 80% to 50,000, 85% above): 39,360 + 8,500 =
    # 47,860; burden 12,140. Excess over 9,000: 3,140; over 12,500 with the outpatient burden:
    # 12,140 + 47,200/13 - 12,500 = 42,520/13, the larger; 80% = 34,016/13 = 2,616.615... -> 2,616.62.
    assert rows["s1"]["paid"] == {"basic": Decimal("47860.00"), "major": Decimal("2616.62"), "aid": Decimal("0.00")}
    # s2: 85% of 10.08 = 8.568 -> 8.57; burden 1.512, 80% = 1.2096 onto the pool's exact
    # 34,016/13: 2,617.8249... -> 2,617.82, less the 2,616.62 paid = 1.20 (from the rounded
    # 2,616.62 it would be 1.21).
    assert rows["s2"]["paid"] == {"basic": Decimal("8.57"), "major": Decimal("1.20"), "aid": Decimal("0.00")}
    assert rows["s2"]["patient"] == Decimal("0.31")


def test_a_class_at_its_own_rate_is_paid_in_pieces_in_columns(loops):
    # Shaoxing 第三十二条（二）: residents' outpatient care in the city at 15% (50% at primary level),
    # 中药饮片 (class herbal) at 25% (60%); 第三十二条（一）: at most 800 a year. The kernel pays the
    # general cost and the class's at their own shares (engine._class_rates); the numpy steps hand
    # the year over at the first claim with such an item.
    shaoxing = medpolicy.load(ROOT / "policies" / "shaoxing.med")

    def visit(cid, date, level, *items):
        return {"id": cid, "person": "p", "date": date, "scheme": "resident", "benefit": "outpatient",
                "place": "local", "facility": {"level": level},
                "items": [{"class": c, "amount": a} for c, a in items]}

    claims = [visit("o1", "2026-03-01", "level2", ("A", "300.00"), ("herbal", "200.00")),
              visit("o2", "2026-04-01", "primary", ("herbal", "1000.00")),
              visit("o3", "2026-05-01", "primary", ("A", "2000.00"), ("herbal", "500.00")),
              visit("o4", "2026-06-01", "primary", ("herbal", "3000.00"))]
    table, params = claims_table(claims), policy_params(shaoxing)
    batch = settle_batch(shaoxing, table, params=params)
    assert batch.to_pylist() == shaoxing.settle_table(table, params=params).to_pylist()
    assert fallback_count(batch) == (0 if loops is not None else 4)
    # o1: 300 x 15% + 200 x 25% = 45 + 50; o2: 1,000 x 60%; o3: 2,000 x 50% + 500 x 60% = 1,300,
    # of which 800 - 695 = 105 is left under the cap; o4: nothing left.
    assert [r["paid"]["basic"] for r in batch.to_pylist()] == \
        [Decimal("95.00"), Decimal("600.00"), Decimal("105.00"), Decimal("0.00")]


def test_maternity_events_limits_and_fixed_amounts_are_settled_in_columns(loops):
    # The maternity events are a column (a bit each in the plan's signature); 限额 and 定额 are the
    # kernel's (the numpy steps hand such claims to the scalar engine). 绥化 第二十二条（一）2–4:
    # employees' deliveries in full by the maternity fund, out of the region at most 2,500 at
    # level 3; an IUD 500, two events done together their limits added; an early abortion (months
    # <= 6) 800 at level 1. 绍兴 第三十一条: a resident's delivery 1,200 fixed (at most the cost),
    # a caesarean 1,500.
    suihua = medpolicy.load(ROOT / "policies" / "suihua.med")
    shaoxing = medpolicy.load(ROOT / "policies" / "shaoxing.med")

    def birth(cid, scheme, level, amount, events, **more):
        claim = {"id": cid, "person": cid, "date": "2026-03-01", "scheme": scheme, "benefit": "maternity",
                 "facility": {"level": level}, "maternity": events, "items": [{"class": "A", "amount": amount}]}
        return dict(claim, status="employed", **more) if scheme == "employee" else dict(claim, **more)

    for policy, claims, paid, by_the_steps in (
            (suihua, [birth("a", "employee", "level3", "3000.00", ["delivery"]),
                      birth("b", "employee", "level3", "3000.00", ["delivery"], place="remote-referred"),
                      birth("c", "employee", "level1", "1000.00", ["iud-insert"]),
                      birth("d", "employee", "level1", "1000.00", ["iud-insert", "iud-remove"]),
                      birth("e", "employee", "level1", "1200.00", ["abortion-early"], pregnancy_months=3)],
             [("maternity", "3000.00"), ("maternity", "2500.00"), ("maternity", "500.00"), ("maternity", "1000.00"),
              ("maternity", "800.00")], 4),  # (a: no limit, in columns on both paths)
            (shaoxing, [birth("f", "resident", "level1", "2000.00", ["delivery"]),
                        birth("g", "resident", "level1", "800.00", ["delivery"]),
                        birth("h", "resident", "level1", "3000.00", ["caesarean"])],
             [("basic", "1200.00"), ("basic", "800.00"), ("basic", "1500.00")], 3)):
        table, params = claims_table(claims), policy_params(policy)
        batch = settle_batch(policy, table, params=params)
        assert batch.to_pylist() == policy.settle_table(table, params=params).to_pylist()
        assert [str(r["paid"][fund]) for r, (fund, _) in zip(batch.to_pylist(), paid)] == [a for _, a in paid]
        assert all(r["deductible"] == Decimal("0.00") for r in batch.to_pylist())
        assert fallback_count(batch) == (0 if loops is not None else by_the_steps)


def test_events_no_clause_names_share_a_plan_by_how_many_and_their_limits_add_up(loops):
    # `limit 1000` for any maternity event, 3,000 a delivery (docs/language.md: several events'
    # limits add up). An IUD: 1,000; an IUD inserted and removed: 2,000, as a sterilisation and
    # a vasectomy together (one plan: two events no clause names); a delivery and an IUD: 4,000.
    # Billed 5,000 each, paid in full up to the limit by the maternity fund.
    from small_policies import claim, policy

    p = policy("scheme employee\n  maternity paid-by maternity rate 100% limit 1000\n    delivery limit 3000\n")
    events = [["iud-insert"], ["iud-insert", "iud-remove"], ["sterilization", "vasectomy"], ["delivery", "iud-insert"]]
    claims = [claim([{"class": "A", "amount": "5000.00"}], id=f"c{k}", person=f"p{k}", benefit="maternity", maternity=e)
              for k, e in enumerate(events)]
    table = claims_table(claims)
    batch = settle_batch(p, table)
    assert batch.to_pylist() == p.settle_table(table).to_pylist()
    assert [str(r["paid"]["maternity"]) for r in batch.to_pylist()] == ["1000.00", "2000.00", "2000.00", "4000.00"]
    assert fallback_count(batch) == (0 if loops is not None else 4)


def test_daily_caps_at_a_clinic_and_a_health_center_are_settled_in_columns():
    # Suizhou 第四十四条: residents' outpatient pooling at primary level, 50%, at most 350 a year, and
    # at most 30 a day at a village clinic, 50 at a health center. A day's claims share its cap; the
    # next day starts empty. Claims are settled in date order, whatever the input order.
    suizhou = medpolicy.load(ROOT / "policies" / "suizhou.med")

    def visit(cid, person, date, kind, amount):
        return {"id": cid, "person": person, "date": date, "scheme": "resident", "benefit": "outpatient",
                "facility": {"level": "primary", "type": kind}, "items": [{"class": "A", "amount": amount}]}

    claims = [visit("a3", "p1", "2024-03-02", "clinic", "40.00"),     # day 2: 20 of the 30 -> 20.00
              visit("a1", "p1", "2024-03-01", "clinic", "100.00"),    # day 1: 50 -> the daily 30.00
              visit("a4", "p1", "2024-03-02", "clinic", "40.00"),     # day 2: 20, 10 left -> 10.00
              visit("a2", "p1", "2024-03-01", "clinic", "40.00"),     # day 1: nothing left -> 0.00
              visit("b1", "p2", "2024-04-01", "health-center", "60.00"),  # 30.00
              visit("b2", "p2", "2024-04-01", "health-center", "60.00"),  # 30, 20 left of 50 -> 20.00
              visit("b3", "p2", "2024-04-02", "health-center", "60.00")]  # a new day -> 30.00
    # p3: 50.00 a day at a health center, seven days make the year's 350; the eighth pays nothing.
    claims += [visit(f"c{d}", "p3", f"2024-05-{d:02d}", "health-center", "100.00") for d in range(1, 9)]
    table = claims_table(claims)
    batch = settle_batch(suizhou, table)
    assert batch.to_pylist() == suizhou.settle_table(table).to_pylist()
    assert fallback_count(batch) == 0
    assert [_row(batch, i)["basic"] for i in range(len(claims))] == \
        ["20.00", "30.00", "10.00", "0.00", "30.00", "20.00", "30.00"] + ["50.00"] * 7 + ["0.00"]


def test_bed_days_above_the_daily_standard_are_excluded_in_columns(loops):
    # Ziyang 第十二条（二）: 床位费 per day by level and bed kind (level 2: 20 normal, 40 isolation;
    # level 3: 25 normal); the part above the standard times the days is excluded. Bed items are
    # columns now (their days and kind); a bed without days is the scalar engine's error row.
    ziyang = medpolicy.load(ROOT / "policies" / "ziyang.med")

    def stay(cid, person, level, *items):
        return {"id": cid, "person": person, "date": "2026-03-01", "scheme": "employee", "status": "employed",
                "benefit": "inpatient", "facility": {"level": level}, "items": list(items)}

    a = {"class": "A", "amount": "5000.00"}
    claims = [stay("s1", "p1", "level2", a, {"class": "bed", "amount": "300.00", "days": 10}),
              stay("s2", "p2", "level2", a, {"class": "bed", "amount": "300.00", "days": 10, "kind": "isolation"}),
              stay("s3", "p3", "level3", {"class": "bed", "amount": "300.00", "days": 10, "kind": "normal"}, a),
              stay("s4", "p4", "level3", a, {"class": "bed", "amount": "300.00", "days": 0}),
              stay("s5", "p5", "level3", a, {"class": "bed", "amount": "300.00"})]
    params = policy_params(ziyang)
    table = claims_table(claims)
    batch = settle_batch(ziyang, table, params=params)
    assert batch.to_pylist() == ziyang.settle_table(table, params=params).to_pylist()
    rows = batch.to_pylist()
    # 300 - 20 x 10 = 100; 300 - 40 x 10 < 0: none; 300 - 25 x 10 = 50; no days: all 300.
    assert [r["excluded"] for r in rows[:4]] == [Decimal("100.00"), Decimal("0.00"), Decimal("50.00"), Decimal("300.00")]
    assert [r["eligible"] for r in rows[:4]] == [Decimal("5200.00"), Decimal("5300.00"), Decimal("5250.00"),
                                                  Decimal("5000.00")]
    assert rows[4]["error"] == {"code": "missing-field", "message": "a bed item needs days for its daily ceiling",
                                "field": "items.days"}
    assert fallback_count(batch) == 1  # s5 alone
    # Days and kinds the reader refuses, or reads from text, are the scalar engine's, each claim
    # alone; pandas' 10.0 (a float column) is the reader's 10, in columns.
    bad_days = ("bad-value", "items[1].days")
    for days, kind, error, handed in (("10", "normal", None, 1), (-1, "normal", bad_days, 1),
                                      (100_001, "normal", bad_days, 1), (10.5, "normal", bad_days, 1),
                                      (True, "normal", bad_days, 1), (10, "ward", ("unknown-value", "items[1].kind"), 1),
                                      (10.0, "normal", None, 0)):
        hostile = claims_table([stay("h", "p9", "level2", a, {"class": "bed", "amount": "300.00", "days": days,
                                                              "kind": kind}), stay("ok", "p8", "level2", a)])
        batch = settle_batch(ziyang, hostile, params=params)
        assert batch.to_pylist() == ziyang.settle_table(hostile, params=params).to_pylist()
        first = batch.to_pylist()[0]
        assert (first["error"] and (first["error"]["code"], first["error"]["field"])) == error, (days, kind)
        assert first["excluded"] == (Decimal("100.00") if error is None else None)
        assert fallback_count(batch) == handed


def test_hostile_facility_types_grades_and_ages_get_the_scalar_engines_rows():
    # Ziyang compares age (70, 80) and reads grade and type. Values the reader refuses (an unknown
    # type, grade C, age -1 or 151) are its error rows, each claim alone; a type given as "" is the
    # default (a hospital), as the reader takes it, and an age column of text is read by the
    # scalar engine; every row equals the scalar engine's.
    ziyang = medpolicy.load(ROOT / "policies" / "ziyang.med")

    def stay(cid, person, **facility):
        return _claim(cid, person, "2026-03-01", "employee", "level2", "3000.00", status="retired",
                      facility={"level": "level2", **facility})

    claims = [stay("a", "p1", type="spaceport"), stay("b", "p2", grade="C"), stay("c", "p3", type=""),
              dict(stay("d", "p4"), age=-1), dict(stay("e", "p5"), age=151), dict(stay("f", "p6"), age=2 ** 40),
              dict(stay("g", "p7", grade="A"), age=75)]
    params = policy_params(ziyang)
    table = claims_table(claims)
    batch = settle_batch(ziyang, table, params=params)
    assert batch.to_pylist() == ziyang.settle_table(table, params=params).to_pylist()
    errors = [r["error"] and (r["error"]["code"], r["error"]["field"]) for r in batch.to_pylist()]
    assert errors == [("unknown-value", "facility.type"), ("unknown-value", "facility.grade"), None,
                      ("bad-value", "age"), ("bad-value", "age"), ("bad-value", "age"), None]
    assert fallback_count(batch) == 6  # the five refused, and "" (not a word the columns know)
    ages = table.set_column(table.schema.get_field_index("age"), "age",
                            pa.array([None, None, None, "-1", "151", "x", "75"]))
    assert settle_batch(ziyang, ages, params=params).to_pylist() == ziyang.settle_table(ages, params=params).to_pylist()
