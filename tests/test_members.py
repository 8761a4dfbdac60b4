"""Member rules (issue 14): the worked member examples beside the policies, computed by hand
from each regulation, and the language's checks on `members` blocks."""

import datetime as dt
import functools
import json
import sys
from pathlib import Path

import pytest

import medpolicy
from medpolicy.members.examples import policy_of, run_example

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
MEMBER_FILES = sorted((ROOT / "policies").glob("*.members.test.toml"))


@functools.lru_cache(maxsize=None)
def _policy(test_file: Path):
    return medpolicy.load(policy_of(test_file))


@functools.lru_cache(maxsize=None)
def _examples(test_file: Path) -> dict:
    return tomllib.loads(test_file.read_text(encoding="utf-8"))


def _cases():
    for f in MEMBER_FILES:
        for i, ex in enumerate(_examples(f).get("example", [])):
            yield pytest.param(f, i, id=f"{f.name.split('.')[0]}: {ex.get('name', i)}")


@pytest.mark.parametrize("test_file, index", list(_cases()))
def test_member_example(test_file, index):
    data = _examples(test_file)
    outcome = run_example(str(test_file), data["example"][index], _policy(test_file), data.get("params", {}))
    assert outcome.error is None, outcome.error
    assert not outcome.mismatches, "\n".join(
        f"{m.claim} {m.field}: expected {m.expected}, got {m.actual}" for m in outcome.mismatches)


# ---- the language: both spellings, and every check with its position ----------------------

HEAD = 'policy "t" region x\nuse standard\nparameter base_lower "下限"\nparameter base_upper "上限"\n'

ENGLISH = HEAD + """members employee
  base lower base_lower upper base_upper                        cite "第九条"
  employed contribution basic employer 6.5% individual 2%       cite "第九条"
  employed credit 2% of base                                    cite "第二十条"
  retired credit 70 monthly                                     cite "第二十条"
  employed start after 1 months                                 cite "第十条"
  employed lapse after 3 months                                 cite "第十条"
  employed catch-up within 6 months retroactive                 cite "第十条"
  flexible waiting 3 months                                     cite "第十一条"
  male until 2025-12-31 minimum-years 25                        cite "第十五条"
  male from 2026-01-01 minimum-years 26                         cite "第十五条"
  female minimum-years 25                                       cite "第十五条"
  lump-sum 9% rising 5%                                         cite "第十七条"
"""

CHINESE = HEAD + """参保人 职工
  缴费基数 下限 base_lower 上限 base_upper                        依据 "第九条"
  在职 缴费 统筹基金 单位 6.5% 个人 2%                             依据 "第九条"
  在职 划入 2% 乘以 缴费基数                                       依据 "第二十条"
  退休 划入 70 每月                                               依据 "第二十条"
  在职 待遇起始 之后 1 个月                                        依据 "第十条"
  在职 中断缴费 之后 3 个月                                        依据 "第十条"
  在职 补缴 以内 6 个月 追溯                                       依据 "第十条"
  灵活就业 等待期 3 个月                                           依据 "第十一条"
  男 截至 2025-12-31 最低缴费年限 25                               依据 "第十五条"
  男 自 2026-01-01 最低缴费年限 26                                 依据 "第十五条"
  女 最低缴费年限 25                                              依据 "第十五条"
  趸缴 9% 逐年递增 5%                                             依据 "第十七条"
"""

PARAMS = {"base_lower": "3500", "base_upper": "17500"}


def _member(**over):
    rec = {"id": "m", "sex": "male", "birth": "1966-06-15", "scheme": "employee",
           "history": [{"from": "2026-01-01", "kind": "employed"}],
           "contributions": [{"month": f"2026-{m:02d}", "base": "6000", "paid_on": f"2026-{m:02d}-10"} for m in (1, 2, 3)],
           "retirement": "2026-03-15", "prior": {"months": 300, "local_months": 200}}
    rec.update(over)
    return rec


def test_english_and_chinese_member_clauses_compute_the_same_months():
    en, zh = medpolicy.compile(ENGLISH, "en.med"), medpolicy.compile(CHINESE, "zh.med")
    until = dt.date(2026, 4, 30)
    paid = _member(lump_sum={"paid_on": "2026-03-20"})
    rows_en = [r.to_json() for r in en.member_months(paid, until=until, params=PARAMS)]
    rows_zh = [r.to_json() for r in zh.member_months(paid, until=until, params=PARAMS)]
    assert rows_en == rows_zh
    # 6000 x 6.5% = 390.00, x 2% = 120.00; 2026: 26 years = 312 months, 303 counted, 9 short:
    # 9 x 6000 x 9% = 4860.00, paid in March, so the retiree's 70 from April (第十七条).
    assert rows_en[0]["due"] == {"employer": {"basic": "390.00"}, "individual": {"basic": "120.00"}}
    assert [r["credit"] for r in rows_en] == ["120.00", "120.00", "120.00", "70.00"]
    assert rows_en[2]["retirement"]["minimum"] == 26
    assert rows_en[2]["retirement"]["lump_sum"] == "4860.00"


def _errors(body: str) -> list[str]:
    with pytest.raises(medpolicy.MedError) as e:
        medpolicy.compile(HEAD + body, "t.med")
    return [f"{d.span.line}:{d.span.column}: {d.message}" for d in e.value.diagnostics]


@pytest.mark.parametrize("body, expected", [
    ("members employee\n  employd credit 2% of base\n",
     "6:3: unknown name `employd`"),
    ("members employee\n  employed contribution basic employer 150%\n",
     "6:31: the employer's rate is over 100%"),
    ("members employee\n  base lower 5000 upper 4000\n",
     "6:3: the lower limit of the base is above the upper limit"),
    ("members employee\n  base lower base_lower upper avg_wag\n",
     "6:31: unknown parameter `avg_wag`"),
    ("members employee\n  count soldier-years as 12 months\n",
     "6:3: unknown period `soldier-years`"),
    ("members employee\n  employed credit 2% of base\n  employed credit 3% of base\n",
     "7:12: this clause and the one on line 6 both apply to the same members and neither is more specific"),
    ("members employee\n  male until 2025-12-31 minimum-years 25\n  male from 2027-01-01 minimum-years 27\n",
     "7:24: minimum years for male members retiring from 2026-01-01 to 2026-12-31 are not given (a gap after line 6)"),
    ("members employee\n  male until 2026-12-31 minimum-years 25\n  male from 2026-01-01 minimum-years 27\n",
     "7:24: minimum years for male members: this clause overlaps the one on line 6"),
    ("members employee\n  male from 2026-01-01 minimum-years 26\n",
     "6:24: minimum years for male members retiring before 2026-01-01 are not given"),
    ("members employe\n  credit 2% of base\n",
     "5:1: unknown scheme name `employe`"),
])
def test_member_checks_name_the_place(body, expected):
    assert expected in _errors(body)


def test_unknown_name_suggests_a_spelling():
    with pytest.raises(medpolicy.MedError) as e:
        medpolicy.compile(HEAD + "members employee\n  retird credit 70 monthly\n", "t.med")
    assert e.value.diagnostics[0].hint == "did you mean `retired`?"


# ---- the API and the command ------------------------------------------------------------

def test_benefits_payable_and_a_bad_record():
    from medpolicy.members.records import MemberError
    p = medpolicy.compile(ENGLISH, "t.med")
    assert p.benefits_payable(_member(), on=dt.date(2026, 1, 20), params=PARAMS) == (False, "第十条")
    assert p.benefits_payable(_member(), on=dt.date(2026, 2, 20), params=PARAMS) == (True, None)
    assert p.member_month(_member(), on=dt.date(2025, 12, 1), params=PARAMS) is None
    with pytest.raises(MemberError) as e:
        p.member_months(_member(history=[{"from": "2026-01-01", "kind": "employee"}]), until=dt.date(2026, 2, 1))
    assert (e.value.member, e.value.field) == ("m", "history[0].kind")


def test_money_does_not_depend_on_the_callers_decimal_context():
    import decimal
    p = medpolicy.compile(ENGLISH, "t.med")
    with decimal.localcontext() as ctx:
        ctx.prec, ctx.rounding = 3, decimal.ROUND_DOWN
        rows = p.member_months(_member(), until=dt.date(2026, 3, 31), params=PARAMS)
    assert rows[2].to_json()["retirement"]["lump_sum"] == "4860.00"


def test_med_members_rows_error_rows_and_exit_codes(tmp_path, capsys):
    from medpolicy.cli import main
    policy = tmp_path / "t.med"
    policy.write_text(ENGLISH, encoding="utf-8")
    members = tmp_path / "m.jsonl"
    members.write_text("\n".join(json.dumps(m) for m in (_member(), {"id": "x", "sex": "male", "birth": "1970-01-01",
                       "scheme": "employee", "histroy": []})) + "\n", encoding="utf-8")
    args = ["members", str(policy), str(members), "--as-of", "2026-02-28", "--param", "base_lower=3500",
            "--param", "base_upper=17500"]
    assert main(args) == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r.get("month") for r in rows] == ["2026-01", "2026-02", None]
    assert rows[1]["payable"] is True and rows[1]["balance"] == "240.00"
    assert rows[2] == {"id": "x", "error": {"code": "bad-member", "field": "histroy",
                                            "message": "unknown field; did you mean `history`?"}}
    assert main(args[:3] + args[3:] + ["--format", "csv"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("member,month,scheme,kind,base,due_employer_basic,due_individual_basic,credit,balance,")
    assert out[1].startswith("m,2026-01,employee,employed,6000.00,390.00,120.00,120.00,120.00,false,not-started,第十条,0")
    assert main(["members", str(policy), str(tmp_path / "none.jsonl"), "--as-of", "2026-02-28"]) == 2
    assert "med: cannot read" in capsys.readouterr().err


def test_the_member_sheet_names_each_figures_clause(tmp_path, capsys):
    from medpolicy.cli import main
    policy = tmp_path / "t.med"
    policy.write_text(ENGLISH, encoding="utf-8")
    member = tmp_path / "m.json"
    member.write_text(json.dumps(_member()), encoding="utf-8")
    assert main(["explain", "--member", str(policy), str(member), "--as-of", "2026-04-30",
                 "--param", "base_lower=3500", "--param", "base_upper=17500"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "t — member m (employee), 2026-01 to 2026-04"
    assert lines[3].split() == ["2026-01", "base", "6000.00", "t.med:6", "第九条"]
    assert ["benefits", "not-started", "t.med:10", "第十条"] in [line.split() for line in lines]
    assert ["lump", "sum", "4860.00", "t.med:17", "第十七条"] in [line.split() for line in lines]


# ---- hostile records: a bad field is the member's error row, the others still computed -----

def _members_run(tmp_path, capsys, records, *extra):
    """`med members` over JSON lines of `records` (objects, or lines as written): (exit code, rows, stderr)."""
    from medpolicy.cli import main
    policy = tmp_path / "t.med"
    policy.write_text(ENGLISH, encoding="utf-8")
    members = tmp_path / "m.jsonl"
    members.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    code = main(["members", str(policy), str(members), "--as-of", "2026-02-28", "--param", "base_lower=3500",
                 "--param", "base_upper=17500", *extra])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_a_list_or_object_where_a_word_is_expected_is_the_members_error_row(tmp_path, capsys):
    # JSON lists and objects cannot be looked up as words: once a traceback that lost every later member.
    from medpolicy.cli import main
    from medpolicy.member_claims import MemberBook
    bad = [_member(id="s", sex=[]), _member(id="h", history=[{"from": "2026-01-01", "kind": "employed", "mode": []}]),
           _member(id="r", before=[{"scheme": "employee", "region": {}, "to": "2025-12-31"}])]
    _, good, _ = _members_run(tmp_path, capsys, [_member()])
    code, rows, err = _members_run(tmp_path, capsys, [*bad, _member()])
    assert (code, err) == (1, "")
    assert rows[:3] == [
        {"id": "s", "error": {"code": "bad-member", "field": "sex", "message": "required: `male` or `female`"}},
        {"id": "h", "error": {"code": "bad-member", "field": "history[0].mode",
                              "message": "`standard` (统账结合) or `pooled-only` (单建统筹)"}},
        {"id": "r", "error": {"code": "bad-member", "field": "before[0].region",
                              "message": "`here` (this region) or `elsewhere` (another region)"}}]
    assert rows[3:] == good and [r["balance"] for r in good] == ["120.00", "240.00"]
    # `med run --members`: the bad records' persons have problems, the good one a record.
    book = MemberBook(medpolicy.compile(ENGLISH, "t.med"), [*bad, _member()], PARAMS)
    assert ({p: e.field for p, e in book.problems.items()}, list(book.records)) == (
        {"s": "sex", "h": "history[0].mode", "r": "before[0].region"}, ["m"])
    assert main(["explain", "--member", str(tmp_path / "t.med"), str(tmp_path / "m.jsonl"), "--as-of", "2026-02-28",
                 "--param", "base_lower=3500", "--param", "base_upper=17500"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path / 'm.jsonl'}: member s: sex: required: `male` or `female`",
        f"{tmp_path / 'm.jsonl'}: member h: history[0].mode: `standard` (统账结合) or `pooled-only` (单建统筹)",
        f"{tmp_path / 'm.jsonl'}: member r: before[0].region: `here` (this region) or `elsewhere` (another region)"]


def test_a_members_csv_row_not_utf8_or_too_big_is_its_lines_bad_input_row(tmp_path, capsys):
    # As for a claims CSV (inputs._csv_claims): the row is refused, the others still read.
    from medpolicy.cli import main
    policy = tmp_path / "t.med"
    policy.write_text(ENGLISH, encoding="utf-8")
    head = b"id,sex,birth,scheme,kind,from,month,base,paid_on\n"
    good = b"".join(b"m,male,1966-06-15,employee,employed,2026-01-01,2026-0%d,6000,2026-0%d-10\n" % (m, m)
                    for m in (1, 2))
    bad = b"x,m\xe4le,1970-01-01,employee,employed,2026-01-01,2026-01,6000,2026-01-10\n" \
          b'y,"' + b"a" * 200_000 + b'",1970-01-01,employee,employed,2026-01-01,2026-01,6000,2026-01-10\n'
    args = ["--as-of", "2026-02-28", "--param", "base_lower=3500", "--param", "base_upper=17500"]

    def rows(name: str, data: bytes):
        (tmp_path / name).write_bytes(data)
        code = main(["members", str(policy), str(tmp_path / name), *args])
        return code, [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    code, expected = rows("good.csv", head + good)
    assert (code, [(r["month"], r["credit"], r["balance"]) for r in expected]) == (
        0, [("2026-01", "120.00", "120.00"), ("2026-02", "120.00", "240.00")])
    assert rows("bad.csv", head + bad + good) == (1, [
        {"id": None, "error": {"code": "bad-input", "field": "line 2", "message": "not UTF-8"}},
        {"id": None, "error": {"code": "bad-input", "field": "line 3",
                               "message": "bad CSV: field larger than field limit (131072)"}},
        *expected])
    assert rows("header.csv", head.replace(b"sex", b"s\xffx") + good) == (1, [
        {"id": None, "error": {"code": "bad-input", "field": "line 1", "message": "CSV header: not UTF-8"}}])


@pytest.mark.parametrize("payment, field, message", [
    ({"year": "zzz"}, "year", "not a field of a month's payment {month, base, paid_on}"),
    ({"year": []}, "year", "not a field of a month's payment {month, base, paid_on}"),
    ({"year": -1}, "year", "not a field of a month's payment {month, base, paid_on}"),
    ({"year": 2026}, "year", "not a field of a month's payment {month, base, paid_on}"),
    ({"bsae": "6000"}, "bsae", "not a field of a month's payment {month, base, paid_on}; did you mean `base`?"),
])
def test_a_field_outside_a_payments_shape_is_refused_not_ignored(tmp_path, capsys, payment, field, message):
    # A month's payment once read past a garbage `year` (or a misspelt `base`) without a word.
    paid = _member(id="y")
    paid["contributions"][0].update(payment)
    _, good, _ = _members_run(tmp_path, capsys, [_member()])
    code, rows, _ = _members_run(tmp_path, capsys, [paid, _member()])
    assert code == 1 and rows == [
        {"id": "y", "error": {"code": "bad-member", "field": f"contributions[0].{field}", "message": message}}, *good]


def test_a_years_payment_has_no_base_and_a_csv_row_no_month_beside_its_year(tmp_path, capsys):
    from medpolicy.members.records import MemberError, read_member
    with pytest.raises(MemberError) as e:
        read_member(_member(contributions=[{"year": 2026, "base": "6000", "paid_on": "2026-01-10"}]))
    assert (e.value.field, e.value.message) == ("contributions[0].base",
                                                "not a field of a year's payment {year, paid_on}")
    from medpolicy.cli import main
    (tmp_path / "t.med").write_text(ENGLISH, encoding="utf-8")
    (tmp_path / "m.csv").write_text("id,sex,birth,scheme,kind,from,month,year,base,paid_on\n"
                                    "y,male,1970-01-01,employee,employed,2026-01-01,2026-01,2026,6000,2026-01-10\n",
                                    encoding="utf-8")
    assert main(["members", str(tmp_path / "t.med"), str(tmp_path / "m.csv"), "--as-of", "2026-02-28",
                 "--param", "base_lower=3500", "--param", "base_upper=17500"]) == 1
    assert json.loads(capsys.readouterr().out) == {"id": "y", "error": {
        "code": "bad-member", "field": "contributions[0].year",
        "message": "not a field of a month's payment {month, base, paid_on}"}}


def test_a_csv_year_or_prior_of_digits_that_are_not_decimal_is_the_members_error_row(tmp_path, capsys):
    # "²" is a digit to str.isdigit but not a number to int(), nor are 5,000 digits: once tracebacks.
    from medpolicy.cli import main
    (tmp_path / "t.med").write_text(ENGLISH, encoding="utf-8")
    (tmp_path / "m.csv").write_text("id,sex,birth,scheme,kind,from,year,paid_on,prior_months\n"
                                    "y,male,1970-01-01,resident,resident,2026-01-01,²,2026-01-10,\n"
                                    "p,male,1970-01-01,resident,resident,2026-01-01,,,³\n"
                                    f"q,male,1970-01-01,resident,resident,2026-01-01,,,{'9' * 5000}\n", encoding="utf-8")
    assert main(["members", str(tmp_path / "t.med"), str(tmp_path / "m.csv"), "--as-of", "2026-02-28"]) == 1
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == [
        {"id": "y", "error": {"code": "bad-member", "field": "contributions[0].year", "message": "a year, e.g. 2026"}},
        {"id": "p", "error": {"code": "bad-member", "field": "prior.months", "message": "a whole number ≥ 0"}},
        {"id": "q", "error": {"code": "bad-member", "field": "prior.months", "message": "a whole number ≥ 0"}}]


def test_dates_months_and_amounts_are_read_as_the_claims_reader_reads_them(tmp_path, capsys):
    # Python's readers take more than a bureau's files mean: fromisoformat 20260305 and
    # 2026-W10-4, int() and Decimal() full-width and other scripts' digits. Claims refuse them
    # (claims.ASCII_DATE, ASCII_NUMBER); a member's record read them as dates and amounts.
    from medpolicy.cli import main
    pay = _member()["contributions"]
    bad = [_member(id="d", birth="19660615"), _member(id="w", retirement="2026-W11-1"),
           _member(id="f", birth="１９６６-０６-１５"),
           _member(id="m", contributions=[{**pay[0], "month": "２０２６-01"}, *pay[1:]]),
           _member(id="a", contributions=[{**pay[0], "base": "６０００"}, *pay[1:]]),
           _member(id="u", pension="6_000")]
    _, good, _ = _members_run(tmp_path, capsys, [_member()])
    code, rows, _ = _members_run(tmp_path, capsys, [*bad, _member()])
    assert code == 1 and rows == [
        {"id": "d", "error": {"code": "bad-member", "field": "birth", "message": "`19660615` is not a date YYYY-MM-DD"}},
        {"id": "w", "error": {"code": "bad-member", "field": "retirement",
                              "message": "`2026-W11-1` is not a date YYYY-MM-DD"}},
        {"id": "f", "error": {"code": "bad-member", "field": "birth",
                              "message": "`１９６６-０６-１５` is not a date YYYY-MM-DD"}},
        {"id": "m", "error": {"code": "bad-member", "field": "contributions[0].month",
                              "message": "`２０２６-01` is not a month YYYY-MM"}},
        {"id": "a", "error": {"code": "bad-member", "field": "contributions[0].base",
                              "message": "`６０００` is not an amount written with the digits 0-9 (and a point)"}},
        {"id": "u", "error": {"code": "bad-member", "field": "pension",
                              "message": "`6_000` is not an amount written with the digits 0-9 (and a point)"}}, *good]
    # A CSV's whole numbers the same: a full-width year is the year's error, not 2026.
    (tmp_path / "m.csv").write_text("id,sex,birth,scheme,kind,from,year,paid_on\n"
                                    "y,male,1970-01-01,resident,resident,2026-01-01,２０２６,2026-01-10\n", encoding="utf-8")
    assert main(["members", str(tmp_path / "t.med"), str(tmp_path / "m.csv"), "--as-of", "2026-02-28"]) == 1
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == [
        {"id": "y", "error": {"code": "bad-member", "field": "contributions[0].year", "message": "a year, e.g. 2026"}}]


def test_a_line_that_is_no_members_record_is_said_with_its_line(tmp_path, capsys):
    # Not a JSON object, or no usable `id`: no member to name it by. `med run --members` once
    # dropped such lines without a word (docs/running.md: "reported and skipped").
    from medpolicy.member_claims import load_book
    lines = ["42", "[1, 2]", "null", '"m"', json.dumps(_member(id=["m"])), json.dumps(_member())]
    _, good, _ = _members_run(tmp_path, capsys, [_member()])
    code, rows, _ = _members_run(tmp_path, capsys, lines)
    what = ["a member record is a JSON object"] * 4 + ["id: a member needs an `id` (a string)"]
    assert code == 1 and rows == [{"id": None, "error": {"code": "bad-input", "field": f"line {n}", "message": m}}
                                  for n, m in enumerate(what, 1)] + good
    said = []
    book = load_book(str(tmp_path / "m.jsonl"), medpolicy.compile(ENGLISH, "t.med"), PARAMS, said.append)
    assert said == [f"{tmp_path / 'm.jsonl'}:{n}: {m}; skipped" for n, m in enumerate(what, 1)]
    assert (list(book.records), book.problems) == (["m"], {})


def test_a_bad_record_with_a_number_for_its_id_is_its_persons_problem():
    # read_member reads the id 5 as person "5"; its bad record was once dropped, and that
    # person's claims settled as if there were no record.
    from medpolicy.member_claims import MemberBook
    book = MemberBook(medpolicy.compile(ENGLISH, "t.med"), [_member(id=5, sex="x"), _member(id=6)], PARAMS)
    assert ({p: (e.field, e.message) for p, e in book.problems.items()}, list(book.records)) == (
        {"5": ("sex", "required: `male` or `female`")}, ["6"])


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_med_members_into_a_closed_pipe_ends_quietly(tmp_path, capsys, monkeypatch, fmt):
    # `med members ... | head`: 0 and nothing said, as `med run` (cli.main); once exit 2 and
    # "med: cannot read or write: None: Broken pipe".
    import errno
    import io
    from medpolicy.cli import main

    class Gone(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    (tmp_path / "t.med").write_text(ENGLISH, encoding="utf-8")
    (tmp_path / "m.jsonl").write_text(json.dumps(_member()) + "\n", encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", Gone())
    assert main(["members", str(tmp_path / "t.med"), str(tmp_path / "m.jsonl"), "--as-of", "2026-02-28",
                 "--param", "base_lower=3500", "--param", "base_upper=17500", "--format", fmt]) == 0
    assert capsys.readouterr().err == ""


def test_a_lone_surrogate_in_a_record_is_shown_escaped_or_refused_in_an_id(tmp_path, capsys):
    # JSON may write "\ud800", which no output can encode: a value shown in a message, or an
    # unknown field's name, once stopped the whole output (and a `med run --members`) midway.
    lines = [json.dumps(_member(id="b", birth="\ud800")), json.dumps(_member(id="k", **{"\ud800": 1})),
             json.dumps(_member(id="\ud800")), json.dumps(_member())]
    _, good, _ = _members_run(tmp_path, capsys, [_member()])
    code, rows, _ = _members_run(tmp_path, capsys, lines)
    assert code == 1 and rows == [
        {"id": "b", "error": {"code": "bad-member", "field": "birth", "message": "`\\ud800` is not a date YYYY-MM-DD"}},
        {"id": "k", "error": {"code": "bad-member", "field": "\\ud800", "message": "unknown field"}},
        {"id": None, "error": {"code": "bad-input", "field": "line 3",
                               "message": "id: not valid Unicode: it holds a lone surrogate"}}, *good]


def test_an_amount_beyond_the_decimal_context_or_too_fine_is_the_members_error_row(tmp_path, capsys):
    # 1e999999999 overflowed the reading context, and a balance of more than 15 decimal places
    # made the running balance need more digits than it keeps: both tracebacks once.
    bad = [_member(id="p", pension="1e999999999"),
           _member(id="b", balance={"on": "2026-01-01", "amount": "0." + "1" * 30})]
    _, good, _ = _members_run(tmp_path, capsys, [_member()])
    code, rows, _ = _members_run(tmp_path, capsys, [*bad, _member()])
    assert code == 1 and rows == [
        {"id": "p", "error": {"code": "bad-member", "field": "pension",
                              "message": "`1e999999999` is not an amount ≥ 0 below 10^12"}},
        {"id": "b", "error": {"code": "bad-member", "field": "balance.amount",
                              "message": f"`0.{'1' * 30}` has more than 15 decimal places"}}, *good]
