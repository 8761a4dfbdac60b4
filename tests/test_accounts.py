"""The personal account (个人账户) in settlement: the language's account clauses, the claim's
`account` field, the `account` / `cash` split, the balance carried between a person's claims,
and every output shape. Amounts are worked out by hand in each test's comment."""

import io
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

import medpolicy
from medpolicy.arrow import claims_table
from medpolicy.batch import fallback_count, settle_batch
from medpolicy.errors import MedCompileError

ROOT = Path(__file__).resolve().parent.parent

# A test policy with the Shanghai-style segment (none of the five cities has one): the current
# pot pays the eligible cost first, the yearly deductible 500 and 70% come after it; the
# carried pot pays what the patient then bears, and a spouse's claims too.
FIRST = """policy "账户先付 test"
use standard
scheme employee
  fund basic
  outpatient deductible 500 yearly rate 70%                     cite "第一条"
  outpatient account current first                              cite "第二条"
  account carried self-pay family spouse                        cite "第三条"
  inpatient deductible 1000 rate 90%                            cite "第四条"
  inpatient account none                                        cite "第五条"
"""

# The same, in Chinese keywords.
FIRST_ZH = """办法 "账户先付 test"
引用 standard
险种 职工
  基金 统筹基金
  门诊 起付线 500 年度 比例 70%                                   依据 "第一条"
  门诊 个人账户 当年 先付                                          依据 "第二条"
  个人账户 历年 自付 共济 配偶                                      依据 "第三条"
  住院 起付线 1000 比例 90%                                        依据 "第四条"
  住院 个人账户 无                                                依据 "第五条"
"""


def claim(cid, person="p1", date="2026-03-01", benefit="outpatient", amount="1000.00", **extra):
    c = {"id": cid, "person": person, "date": date, "scheme": "employee", "benefit": benefit,
         "facility": {"level": "level2"}, "items": [{"class": "A", "amount": amount}]}
    c.update(extra)
    return c


@pytest.fixture(scope="module")
def first():
    return medpolicy.compile(FIRST, "first.med")


def test_account_first_pays_before_the_deductible(first):
    # eligible 1000; the current pot (300) pays the first 300; the deductible 500 and 70% on the
    # remaining 700: basic = (700 - 500) x 70% = 140.00; patient = 1000 - 140 = 860.00.
    # The carried pot (400) pays what is left of the self-pay: 860 - 300 = 560 -> 400 (empty).
    # account = 300 + 400 = 700.00; cash 160.00.
    r = first.settle(claim("a", account={"balance": "300.00", "carried": "400.00"})).to_json()
    assert (r["deductible"], r["paid"]["basic"], r["patient"], r["account"], r["cash"]) == \
        ("500.00", "140.00", "860.00", "700.00", "160.00")
    steps = [(s["step"], s.get("amount"), s.get("line"), s.get("cite")) for s in r["trace"]
             if s["step"].startswith("account")]
    assert steps == [("account first", "300.00", 6, "第二条"), ("account", "400.00", 7, "第三条")]


def test_a_second_claim_sees_what_the_first_left(first):
    # Claim 1: current pot 1000 pays the first 1000 of the 1000: the funds see nothing, patient
    # 1000, account 1000. Current pot left 0. Claim 2 (no balance given): nothing left, the
    # yearly deductible not yet charged (claim 1's segment counted for none): 500, then
    # (1000 - 500) x 70% = 350.00; patient 650.00 in cash (the carried pot was never given).
    rs = first.settle_all([claim("a", account={"balance": "1000.00"}), claim("b", date="2026-04-01")])
    a, b = (r.to_json() for r in rs)
    assert (a["patient"], a["account"], a["cash"], a["deductible"]) == ("1000.00", "1000.00", "0.00", "0.00")
    assert (b["deductible"], b["paid"]["basic"], b["account"], b["cash"]) == ("500.00", "350.00", "0.00", "650.00")


def test_the_balance_carries_through_run_and_state(first):
    # carried 500: claim 1 (inpatient: deductible 1000, nothing paid, patient 1000; `account none`)
    # pays nothing from it; claim 2 outpatient: deductible 500, basic (1000 - 500) x 70% = 350,
    # patient 650 -> carried pays 500, cash 150. Claim 3: the yearly deductible is paid:
    # 1000 x 70% = 700, patient 300; the carried pot is empty: account 0.
    claims = [claim("a", benefit="inpatient", account={"carried": "500.00"}),
              claim("b", date="2026-03-02"), claim("c", date="2026-03-03")]
    run = first.run()
    streamed = [run.settle(c).to_json() for c in claims]
    state, chained = None, []
    for c in claims:
        r = first.settle(c, state=state)
        state = r.state
        chained.append(r.to_json())
    all_ = [r.to_json() for r in first.settle_all(claims)]
    for rows in (streamed, chained, all_):
        assert [(r["account"], r["cash"]) for r in rows] == [("0.00", "1000.00"), ("500.00", "150.00"),
                                                             ("0.00", "300.00")]


def test_the_balance_is_kept_per_scheme():
    # Years are per (person, scheme, year): a resident claim of the same person does not see the
    # employee account's balance (residents have no account clause here anyway: 0).
    policy = medpolicy.compile(FIRST + "scheme resident\n  fund basic\n  outpatient rate 50%\n  account self-pay\n",
                               "two.med")
    r = policy.settle_all([claim("a", account={"balance": "100.00"}),
                           dict(claim("b", date="2026-03-02"), scheme="resident")])
    # employee: the current pot pays the first 100 of 1000; (900 - 500) x 70% = 280; patient 720,
    # cash 620. Resident: no balance known in that scheme's year: 50% paid, patient 500 in cash.
    assert [(x["account"], x["cash"]) for x in (r[0].to_json(), r[1].to_json())] == \
        [("100.00", "620.00"), ("0.00", "500.00")]


def test_chinese_keywords_compile_to_the_same_settlement(first):
    zh = medpolicy.compile(FIRST_ZH, "first_zh.med")
    c = claim("a", account={"balance": "300.00", "carried": "400.00"})
    assert zh.settle(c).to_json(trace=False) == first.settle(c).to_json(trace=False)


def test_family_mutual_aid_only_for_the_relations_named(first):
    # A spouse's outpatient claim on the owner's account: the current pot pays the owner's claims
    # only (no `family` on it), so no first segment: deductible 500, basic 350, patient 650; the
    # carried pot (200) pays a spouse's: account 200, cash 450. A child's: nothing.
    spouse = claim("s", person="p2", account={"owner": "p1", "relation": "spouse", "balance": "900.00",
                                              "carried": "200.00"})
    child = dict(spouse, id="c", person="p3", account=dict(spouse["account"], relation="child"))
    s, c = (first.settle(x).to_json() for x in (spouse, child))
    assert (s["account"], s["cash"]) == ("200.00", "450.00")
    assert (c["account"], c["cash"]) == ("0.00", "650.00")
    note = next(t["detail"] for t in c["trace"] if t["step"] == "account")
    assert note == "家庭共济: this pot pays for spouse, not for the owner's child"


@pytest.mark.parametrize("account, code, field", [
    ({"balance": "abc"}, "bad-amount", "account.balance"),
    ({"balance": "10.001"}, "bad-amount", "account.balance"),
    ({"blance": "10"}, "unknown-field", "account.blance"),
    ({"owner": "p9", "balance": "10"}, "missing-field", "account.relation"),
    ({"owner": "p9", "relation": "cousin"}, "unknown-value", "account.relation"),
    ("100", "bad-value", "account"),
])
def test_a_bad_account_is_an_error_row_naming_the_field(first, account, code, field):
    rows = first.settle_all([claim("bad", account=account), claim("ok")])
    assert rows[0].to_json()["error"]["code"] == code and rows[0].to_json()["error"]["field"] == field
    assert rows[1].ok
    if code == "unknown-field":
        assert "did you mean account.balance?" in rows[0].to_json()["error"]["message"]


def test_the_compiler_checks_account_clauses():
    bad = FIRST.replace("family spouse", "family spuse").replace(
        "  fund basic\n", "  fund basic\n  fund major on burden\n    account self-pay\n")
    with pytest.raises(MedCompileError) as e:
        medpolicy.compile(bad, "bad.med")
    messages = [(d.span.line, d.message) for d in e.value.diagnostics]
    assert (6, "the personal account's clauses belong to a benefit's clauses, not a fund's") in messages
    assert any(line == 9 and m == "unknown relation name `spuse`" for line, m in messages)


def test_csv_and_parquet_carry_account_and_cash(first, tmp_path):
    from medpolicy.output import write_results

    rows = [r.to_json(trace=False) for r in first.settle_all([claim("a", account={"balance": "300.00"})])]
    out = io.StringIO()
    write_results(rows, "csv", out, first)
    head, row = out.getvalue().splitlines()
    cells = dict(zip(head.split(","), row.split(",")))
    # balance 300 first: basic = (700 - 500) x 70% = 140; patient 860; account 300; cash 560.
    assert (cells["patient"], cells["account"], cells["cash"]) == ("860.00", "300.00", "560.00")
    table = first.settle_table(claims_table([claim("a", account={"balance": "300.00"})]))
    assert str(table.column("account")[0].as_py()) == "300.00" and str(table.column("cash")[0].as_py()) == "560.00"


def test_csv_and_parquet_carry_the_balance_left(first, tmp_path):
    from medpolicy.arrow import ParquetResults
    from medpolicy.output import write_results
    import pyarrow.parquet as pq

    # a: balance 300 all used (above): 0.00 left. b: balance 1500, the current pot pays the 1000.00
    # first: 500.00 left. c: no account, no balance known: an empty cell, a null.
    claims = [claim("a", account={"balance": "300.00"}), claim("b", person="p2", account={"balance": "1500.00"}),
              claim("c", person="p3")]
    rows = [r.to_json(trace=False) for r in first.settle_all(claims)]
    out = io.StringIO()
    write_results(rows, "csv", out, first)
    head, *lines = out.getvalue().splitlines()
    col = head.split(",").index("account_balance")
    assert head.split(",")[col - 1:col + 2] == ["cash", "account_balance", "allowance"]
    assert [line.split(",")[col] for line in lines] == ["0.00", "500.00", ""]
    table = first.settle_table(claims_table(claims))  # c on the columnar engine, a and b on the scalar one
    assert [None if v is None else str(v) for v in table.column("account_balance").to_pylist()] == ["0.00", "500.00", None]
    w = ParquetResults(str(tmp_path / "r.parquet"), ["basic"], trace=False)
    for r in rows:
        w.write(r)
    w.close()
    back = pq.read_table(tmp_path / "r.parquet").column("account_balance").to_pylist()
    assert [None if v is None else str(v) for v in back] == ["0.00", "500.00", None]


def test_the_batch_engine_leaves_claims_with_an_account_to_the_scalar_one(first):
    claims = [claim("a", account={"balance": "300.00"}), claim("b", person="p2"), claim("c", person="p2",
                                                                                       date="2026-05-01")]
    table = claims_table(claims)
    batch = settle_batch(first, table)
    scalar = first.settle_table(table)
    assert batch.to_pylist() == scalar.to_pylist()
    assert fallback_count(batch) == 1  # p1's claim, the only one with an account
    assert [str(x) for x in batch.column("cash").to_pylist()] == ["560.00", "650.00", "300.00"]


def test_account_none_on_a_benefit_overrides_the_scheme_clause(first):
    # inpatient: deductible 1000, (1000 - 1000) x 90% = 0; patient 1000, `account none`: cash 1000.
    r = first.settle(claim("i", benefit="inpatient", account={"balance": "5000.00", "carried": "5000.00"})).to_json()
    assert (r["patient"], r["account"], r["cash"]) == ("1000.00", "0.00", "1000.00")


def test_the_platforms_shape_reports_acct_pay_and_psn_cash_pay():
    from medpolicy import nhsa

    path = str(ROOT / "policies" / "ziyang.med")
    policy = medpolicy.load(path)
    cm = nhsa.load_mapping(path, policy)
    text = (ROOT / "examples" / "nhsa" / "ziyang.jsonl").read_text(encoding="utf-8").splitlines()[0]
    req = json.loads(text, parse_float=Decimal)  # as the platform's numbers are read: exact
    # ZY-IP-1 (tests/test_nhsa.py): psn_part_amt 7600.00. With the account used and a balance of
    # 5000.00 (第十一条（一）: it pays own-expense lines too): acct_pay 5000.00, psn_cash_pay 2600.00.
    rows = nhsa.settle_requests(policy, cm, [dict(req, acct_used_flag="1", balc="5000.00"), dict(req, mdtrt_id="x", psn_no="other")],
                                {"avg_wage": "60000"}, to_nhsa=True, trace=False)
    used, unused = (r["output"]["setlinfo"] for r in rows)
    assert (str(used["psn_part_amt"]), str(used["acct_pay"]), str(used["psn_cash_pay"])) == ("7600.00", "5000.00", "2600.00")
    assert (str(unused["acct_pay"]), str(unused["psn_cash_pay"])) == ("0.00", "7600.00")
    assert nhsa.identity_failures(used, rows[0]["output"]["feedetail"]) == []


# ---- member records (members API): the claim's month ------------------------------------

SX_MEMBER = {"id": "x-short", "sex": "male", "birth": "1985-01-01", "scheme": "employee",
             "history": [{"from": "2026-01-01", "kind": "flexible"}],
             "contributions": [{"month": "2026-01", "paid_on": "2026-01-10"},
                               {"month": "2026-02", "paid_on": "2026-02-10"},
                               {"month": "2026-04", "paid_on": "2026-05-10"}],
             "balance": {"on": "2026-01-01", "amount": "800.00"}}
SX_PARAMS = {"prov_avg_wage": "96000", "resident_premium": "600", "major_premium": "150", "b_prepay": "10%"}


def sx_claim(cid, date):
    return {"id": cid, "person": "x-short", "date": date, "scheme": "employee", "benefit": "inpatient",
            "facility": {"level": "level2"}, "items": [{"class": "A", "amount": "1000.00"}]}


def test_a_suspended_month_is_not_covered_and_the_account_is_closed():
    # Shaoxing 第十四条 (members block): a flexible member who paid January and February is covered
    # in February; March unpaid: lapsed. February stay: yearly deductible 800, (1000 - 800) x 80%
    # = 160.00; patient 840; the record's balance (800.00, no credits in the text) pays 800.00 of
    # the self-pay: cash 40.00. March stay: not covered (第十四条, the member rule's line), and
    # 第二十一条（七）: the account is closed while benefits are interrupted: cash 1000.00.
    policy = medpolicy.load(ROOT / "policies" / "shaoxing.med")
    feb, mar = policy.settle_all([sx_claim("f", "2026-02-20"), sx_claim("m", "2026-03-20")], params=SX_PARAMS,
                                 members=[SX_MEMBER])
    feb, mar = feb.to_json(), mar.to_json()
    assert (feb["paid"]["basic"], feb["patient"], feb["account"], feb["cash"]) == ("160.00", "840.00", "800.00", "40.00")
    assert (mar["paid"]["basic"], mar["patient"], mar["account"], mar["cash"]) == ("0.00", "1000.00", "0.00", "1000.00")
    step = next(s for s in mar["trace"] if s["step"] == "not covered")
    assert step["cite"] == "第十四条" and "lapsed" in step["detail"]
    assert step["line"] == next(i for i, text in enumerate((ROOT / "policies" / "shaoxing.med").read_text(
        encoding="utf-8").splitlines(), 1) if text.strip().startswith("flexible lapse after"))


def test_a_payer_whose_benefits_are_suspended_pays_no_relatives_claim():
    # Shaoxing 第二十一条（七）, the employee scheme: the spouse's stay of the worked example
    # "近亲属共济" (policies/shaoxing.test.toml): basic (2000 - 800) x 80% = 960.00, patient 1140.00,
    # the carried pot paid 500.00. With the owner suspended that month (account.owner_suspended,
    # as a run with the owner's record sets it): the fund pays the same, the account nothing.
    policy = medpolicy.load(ROOT / "policies" / "shaoxing.med")
    spouse = {"id": "s", "person": "sx-spouse", "date": "2025-04-08", "scheme": "employee", "status": "employed",
              "benefit": "inpatient", "facility": {"level": "level2"},
              "items": [{"class": "A", "amount": "2000.00"}, {"class": "excluded", "amount": "100.00"}],
              "account": {"owner": "sx-payer", "relation": "spouse", "balance": "300.00", "carried": "500.00"}}
    open_, closed = policy.settle_all([spouse, dict(spouse, id="c", person="sx-spouse-2",
                                                    account=dict(spouse["account"], owner_suspended=True))],
                                      params={"b_prepay": "10%"})
    open_, closed = open_.to_json(), closed.to_json()
    assert (open_["paid"]["basic"], open_["account"], open_["cash"]) == ("960.00", "500.00", "640.00")
    assert (closed["paid"]["basic"], closed["account"], closed["cash"]) == ("960.00", "0.00", "1140.00")


def test_med_run_with_members_streams_the_record_balance(tmp_path):
    # The Suizhou worked example (policies/suizhou.test.toml, "member record: ..."): January not
    # covered (第十条), the account pays 300.00 of it; March: 570.00 paid, the 200.00 left pays.
    import subprocess
    import sys
    from medpolicy.tomlcompat import tomllib

    ex = next(e for e in tomllib.loads((ROOT / "policies" / "suizhou.test.toml").read_text(encoding="utf-8"))["example"]
              if "members" in e)
    claims, members = tmp_path / "c.jsonl", tmp_path / "m.jsonl"
    claims.write_text("".join(json.dumps(c) + "\n" for c in reversed(ex["claim"])), encoding="utf-8")
    members.write_text("".join(json.dumps(m) + "\n" for m in ex["members"]) + "not json\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "medpolicy.cli", "run", str(ROOT / "policies" / "suizhou.med"),
                        str(claims), "--members", str(members), "--no-trace", "--param", "base_lower=3500",
                        "--param", "base_upper=17500"], capture_output=True, text=True, timeout=120)
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(x["id"], x["account"], x["cash"]) for x in rows] == [("sz-acc-03b", "200.00", "230.00"),
                                                                  ("sz-acc-03a", "300.00", "700.00")]
    assert f"{members}:2:" in r.stderr  # the line that is not a record, reported and skipped
    missing = subprocess.run([sys.executable, "-m", "medpolicy.cli", "run", str(ROOT / "policies" / "suizhou.med"),
                              str(claims), "--members", str(tmp_path / "none.jsonl")], capture_output=True, text=True,
                             timeout=120)
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_a_bad_member_record_makes_its_persons_claims_error_rows(first):
    rows = first.settle_all([claim("a", person="m-bad"), claim("b")], members=[{"id": "m-bad", "sex": "x"}])
    assert rows[0].to_json()["error"]["code"] == "bad-member" and rows[1].ok
