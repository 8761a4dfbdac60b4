"""The national platform's shape: requests in (--from nhsa), setlinfo/setldetail out (--to nhsa).

Amounts are worked out by hand from the regulations (the notes say how); the identities of
/work/shared/docs/nhsa/mapping.md are checked on every answer and on real platform figures.
"""

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import medpolicy
from medpolicy import nhsa
from nhsa_real import DETAIL, LINES, SETTLEMENTS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "nhsa"
CITIES = ("suihua", "suizhou", "shaoxing", "binzhou", "ziyang")
PARAMS = {"avg_wage": "60000", "b_prepay": "10%", "aid_rate_cat2": "85%", "aid_cap_cat2": "100000",
          "aid_rate_cat3": "75%", "aid_cap_cat3": "100000", "aid_rate_cat4": "70%", "aid_cap_cat4": "100000"}
_POLICIES: dict = {}


def params_of(policy) -> dict:
    """The example figures of the parameters the policy declares."""
    return {k: v for k, v in PARAMS.items() if k in policy.parameters}


def policy_and_map(city):
    if city not in _POLICIES:
        path = str(ROOT / "policies" / f"{city}.med")
        policy = medpolicy.load(path)
        _POLICIES[city] = (policy, nhsa.load_mapping(path, policy))
    return _POLICIES[city]


def med(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "medpolicy.cli", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def answers(city) -> dict:
    rows = [json.loads(line, parse_float=Decimal) for line in (EXAMPLES / f"{city}.out.jsonl").open(encoding="utf-8")]
    return {(r["output"]["setlinfo"]["mdtrt_id"] if r["infcode"] == 0 else r["id"]): r for r in rows}


def settle(city, *requests):
    policy, cm = policy_and_map(city)
    return nhsa.settle_requests(policy, cm, list(requests), params_of(policy), to_nhsa=True, trace=False)


def money(d: dict) -> dict:
    return {k: str(v) for k, v in d.items() if isinstance(v, Decimal)}


# ---- the shipped examples, by hand --------------------------------------------------------

def test_suihua_employee_stay_with_a_self_paid_and_an_over_ceiling_line():
    # 第二十一条（一）3: level 3, deductible 900, employed 85%. Lines: A 8000, B 2000 (Suihua sets no
    # class-B share, so B counts like A), 03 500 self-paid, A 300 = 2 × 150 over a ceiling of 120:
    # (150 - 120) × 2 = 60 over. In scope 8000 + 2000 + 240 = 10240; basic (10240 - 900) × 85% = 7939.
    r = answers("suihua")["SH-E-IP-1"]
    info = r["output"]["setlinfo"]
    assert money(info) == {
        "medfee_sumamt": "10800.00", "fulamt_ownpay_amt": "500.00", "overlmt_selfpay": "60.00",
        "preselfpay_amt": "0.00", "inscp_scp_amt": "10240.00", "act_pay_dedc": "900.00", "hifp_pay": "7939.00",
        "cvlserv_pay": "0.00", "hifes_pay": "0.00", "hifmi_pay": "0.00", "hifob_pay": "0.00", "maf_pay": "0.00",
        "oth_pay": "0.00", "fund_pay_sumamt": "7939.00", "psn_part_amt": "2861.00", "acct_pay": "0.00",
        "psn_cash_pay": "2861.00", "hosp_part_amt": "0.00", "acct_mulaid_pay": "0.00"}
    assert info["balc"] is None  # no account in the request, none known
    assert [(d["fund_pay_type"], str(d["fund_payamt"])) for d in r["output"]["setldetail"]] == [("310100", "7939.00")]
    assert [(ln["feedetl_sn"], str(ln["overlmt_amt"]), str(ln["inscp_scp_amt"])) for ln in r["output"]["feedetail"]] == [
        ("1", "0.00", "8000.00"), ("2", "0.00", "2000.00"), ("3", "0.00", "0.00"), ("4", "60.00", "240.00")]
    assert r["warn_msg"] == ""


def test_suihua_resident_stay_and_elsewhere_as_referred():
    a = answers("suihua")
    # 第二十三条（一）3: level 2, deductible 500, 75%. In scope 3000 + 1000 + 400 (500 over a 400
    # ceiling: 100 over) = 4400; (4400 - 500) × 75% = 2925; burden 1475 is under the 15,000 of 大病.
    info = a["SH-R-IP-1"]["output"]["setlinfo"]
    assert (str(info["overlmt_selfpay"]), str(info["hifp_pay"]), str(info["hifmi_pay"]), str(info["psn_cash_pay"])) == \
        ("100.00", "2925.00", "0.00", "1775.00")
    assert a["SH-R-IP-1"]["output"]["setldetail"][0]["fund_pay_type"] == "390100"
    # Treated in Beijing (110105) without place_type: 异地就医备案, referred: 900 and 85% - 10 points
    # (第二十一条（一）5): (10000 - 900) × 75% = 6825.
    assert str(a["SH-E-IP-2"]["output"]["setlinfo"]["hifp_pay"]) == "6825.00"


def test_suihua_employee_maternity_is_the_maternity_fund_in_oth_pay():
    # 第二十二条（一）2: a caesarean paid in full by the maternity fund (510100, rolled into oth_pay).
    r = answers("suihua")["SH-E-MAT-1"]
    info = r["output"]["setlinfo"]
    assert (str(info["oth_pay"]), str(info["hifp_pay"]), str(info["fund_pay_sumamt"]), str(info["psn_part_amt"])) == \
        ("6000.00", "0.00", "6000.00", "300.00")
    assert [d["fund_pay_type"] for d in r["output"]["setldetail"]] == ["510100"]


def test_ziyang_stay_with_class_b_pre_payment_and_over_ceiling():
    # 第十二条（一）1: B pre-pays 10%: 5000 × 10% = 500. Over the ceiling: 1200 - 1000 = 200.
    # In scope 27200 - 1000 - 200 - 500 = 25500; level 3 甲等 deductible 1000 (第十八条（一）1),
    # 80% (第十八条（二）1): 19600. Burden 5900 is under 大额's 50% of avg_wage (30,000).
    r = answers("ziyang")["ZY-IP-1"]
    info = r["output"]["setlinfo"]
    assert (str(info["medfee_sumamt"]), str(info["fulamt_ownpay_amt"]), str(info["overlmt_selfpay"]),
            str(info["preselfpay_amt"]), str(info["inscp_scp_amt"]), str(info["act_pay_dedc"]),
            str(info["hifp_pay"]), str(info["hifob_pay"]), str(info["psn_part_amt"])) == \
        ("27200.00", "1000.00", "200.00", "500.00", "25500.00", "1000.00", "19600.00", "0.00", "7600.00")
    lines = {ln["feedetl_sn"]: ln for ln in r["output"]["feedetail"]}
    assert (str(lines["2"]["preselfpay_amt"]), str(lines["2"]["inscp_scp_amt"])) == ("500.00", "4500.00")
    assert r["warn_msg"] == ""  # the line's selfpay_prop 0.1 is the policy's share


def test_ziyang_maternity_limit_and_self_referred_stay():
    a = answers("ziyang")
    # 第二十四条（二）: a delivery at cost up to 3500; cost in scope 4200 - 200 - 100 (B 10%) = 3900.
    info = a["ZY-MAT-1"]["output"]["setlinfo"]
    assert (str(info["oth_pay"]), str(info["preselfpay_amt"]), str(info["psn_cash_pay"])) == ("3500.00", "100.00", "700.00")
    # place_type 3, treated in Chengdu: 异地 level 2 甲等 deductible 800, 65%: (5000 - 800) × 65% = 2730.
    assert str(a["ZY-IP-2"]["output"]["setlinfo"]["hifp_pay"]) == "2730.00"
    # A line's selfpay_prop that is not the policy's share: the policy's 10% is applied, and said.
    assert a["ZY-OP-2"]["warn_msg"] == ("feedetail[0].selfpay_prop 0.05 would pre-pay 20.00; the policy pre-pays "
                                         "40.00 (its class-B share), which is applied")


def test_suizhou_over_ceiling_part_pre_pays_nothing():
    # 第二十三条（三）: B 10%. Line 4: 3 × 300 over a ceiling of 250: 150 over, 750 in, pre-pays 75.
    # In scope 20500 - 600 - 150 - 400 - 75 = 19275; level 3: (19275 - 800) × 91% = 16812.25.
    r = answers("suizhou")["SZ-E-IP-1"]
    lines = [(str(ln["overlmt_amt"]), str(ln["preselfpay_amt"])) for ln in r["output"]["feedetail"]]
    assert lines == [("0.00", "0.00"), ("0.00", "400.00"), ("0.00", "0.00"), ("150.00", "75.00")]
    assert str(r["output"]["setlinfo"]["hifp_pay"]) == "16812.25"


def test_shaoxing_first_share_of_care_elsewhere_is_spread_over_the_lines():
    # 第五十三条: referred care elsewhere pre-pays 10% of the policy-range cost 7000 + 2700 = 9700: 970,
    # spread 700 / 270 over the lines; B's own 10% is 300. Level 3 1200, 75%: (8730 - 1200) × 75% = 5647.50.
    r = answers("shaoxing")["SX-R-IP-2"]
    assert [str(ln["preselfpay_amt"]) for ln in r["output"]["feedetail"]] == ["700.00", "570.00"]
    info = r["output"]["setlinfo"]
    assert (str(info["preselfpay_amt"]), str(info["inscp_scp_amt"]), str(info["hifp_pay"])) == ("1270.00", "8730.00", "5647.50")


def test_error_rows_name_the_field_and_the_code():
    a = answers("suihua")
    assert a["SH-ERR-1"]["infcode"] == -1 and a["SH-ERR-1"]["output"] is None
    assert a["SH-ERR-1"]["error"] == {"code": "unknown-code", "field": "feedetail[0].chrgitm_lv",
                                      "message": "feedetail[0].chrgitm_lv '04' is not a code of the 绥化 mapping (known: 01, 02, 03)"}
    assert a["SH-ERR-1"]["err_msg"] == a["SH-ERR-1"]["error"]["message"]
    assert answers("ziyang")["ZY-ERR-1"]["error"]["field"] == "insutype"
    assert answers("shaoxing")["SX-ERR-1"]["error"]["message"].startswith("med_type '99' is not a code of the 绍兴 mapping")


def test_examples_regenerate_to_the_same_bytes(tmp_path):
    env = dict(os.environ, MED=f"{sys.executable} -m medpolicy.cli")
    subprocess.run(["sh", str(EXAMPLES / "run.sh"), str(tmp_path)], env=env, check=True, timeout=300, cwd=ROOT)
    for city in CITIES:
        assert (tmp_path / f"{city}.out.jsonl").read_bytes() == (EXAMPLES / f"{city}.out.jsonl").read_bytes(), \
            f"{city}: regenerate with sh examples/nhsa/run.sh and check the differences"


def test_examples_cover_the_kinds_of_care_and_line_the_issue_lists():
    for city in CITIES:
        reqs = [json.loads(line) for line in (EXAMPLES / f"{city}.jsonl").open(encoding="utf-8")]
        med_types = {r["med_type"] for r in reqs}
        assert {"11", "21"} <= med_types and med_types & {"51", "52"}, city
        lines = [ln for r in reqs for ln in r["feedetail"]]
        assert {"01", "02", "03"} <= {ln["chrgitm_lv"] for ln in lines}, city
        assert any("pric_uplmt_amt" in ln for ln in lines), city
        assert {"310", "390"} <= {r["insutype"] for r in reqs}, city


# ---- the command line -----------------------------------------------------------------------

def test_from_nhsa_without_to_gives_the_contracts_results_for_the_same_requests():
    r = med("run", "policies/suihua.med", "examples/nhsa/suihua.jsonl", "--from", "nhsa", "--no-trace")
    assert r.returncode == 1  # one request is an error row
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    first = rows[0]
    assert (first["id"], first["total"], first["excluded"], first["eligible"], first["paid"]["basic"], first["patient"]) == \
        ("SH-E-IP-1", "10800.00", "560.00", "10240.00", "7939.00", "2861.00")
    assert rows[-1] == {"id": "SH-ERR-1", "error": {"code": "unknown-code", "field": "feedetail[0].chrgitm_lv",
                                                    "message": "feedetail[0].chrgitm_lv '04' is not a code of the 绥化 mapping (known: 01, 02, 03)"}}


def test_to_nhsa_money_is_written_as_numbers_with_two_decimals():
    r = med("run", "policies/suihua.med", "-", "--from", "nhsa", "--to", "nhsa",
            stdin=(EXAMPLES / "suihua.jsonl").read_text(encoding="utf-8").splitlines()[1] + "\n")
    assert r.returncode == 0, r.stderr
    assert '"medfee_sumamt": 750.00, ' in r.stdout and '"hifp_pay": 130.00, ' in r.stdout


def test_to_nhsa_needs_from_nhsa_and_jsonl():
    assert med("run", "policies/suihua.med", "examples/suihua-claims.jsonl", "--to", "nhsa").returncode == 2
    r = med("run", "policies/suihua.med", "examples/nhsa/suihua.jsonl", "--from", "nhsa", "--to", "nhsa", "--format", "csv")
    assert r.returncode == 2 and "--to nhsa writes JSONL" in r.stderr


def test_bad_lines_of_the_request_file_are_error_rows(tmp_path):
    f = tmp_path / "r.jsonl"
    f.write_text('{"mdtrt_id": \n' + (EXAMPLES / "suihua.jsonl").read_text(encoding="utf-8").splitlines()[1] + "\n",
                 encoding="utf-8")
    r = med("run", "policies/suihua.med", str(f), "--from", "nhsa", "--to", "nhsa")
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert r.returncode == 1 and rows[0]["infcode"] == -1 and rows[0]["err_msg"].startswith("line 1: bad JSON")
    assert rows[1]["infcode"] == 0


# ---- requests → claims ------------------------------------------------------------------------

REQ = {"mdtrt_id": "M1", "psn_no": "P1", "insutype": "310", "psn_type": "1203", "med_type": "52", "matn_type": "4",
       "geso_val": 13, "hosp_lv": "05", "insuplc_admdvs": "231202", "mdtrtarea_admvs": "231202", "brdy": "1990-06-01",
       "setl_time": "2026-05-31 10:00:00",
       "feedetail": [{"chrgitm_lv": "01", "det_item_fee_sumamt": Decimal("800.00"), "fee_ocur_time": "2026-05-30 09:00:00"}]}


def test_codes_become_claim_fields():
    _, cm = policy_and_map("suihua")
    claim, _ = nhsa.to_claim(REQ, cm)
    assert claim == {"id": "M1", "person": "P1", "scheme": "employee", "benefit": "maternity", "maternity": "abortion-early",
                     "status": "retired", "enrolment": {"flexible": True}, "facility": {"level": "level2", "grade": "A"},
                     "date": "2026-05-31", "age": 35, "pregnancy_months": 3, "account": {"used": False},
                     "items": [{"class": "A", "amount": "800.00"}]}


@pytest.mark.parametrize("change, field, message", [
    ({"insutype": "330"}, "insutype", "insutype '330' is not a code of the 绥化 mapping (known: 310, 380, 390, 391)"),
    ({"psn_type": "9999"}, "psn_type", None),
    ({"hosp_lv": None}, "hosp_lv", "the request has no hosp_lv"),
    ({"insuplc_admdvs": "421302"}, "insuplc_admdvs",
     "insuplc_admdvs '421302' is not in 绥化's region (2312…): not insured under this policy"),
    ({"feedetail": []}, "feedetail", "the request has no feedetail lines"),
    ({"feedetail": [{"chrgitm_lv": "01", "det_item_fee_sumamt": "1.005"}]}, "feedetail[0].det_item_fee_sumamt",
     "feedetail[0].det_item_fee_sumamt 1.005 does not fit the platform's decimal(16,2)"),
    ({"feedetail": [{"chrgitm_lv": "01", "det_item_fee_sumamt": "10", "pric_uplmt_amt": "5"}]}, "feedetail[0].pric",
     "feedetail[0] has pric_uplmt_amt but no pric and cnt"),
    ({"setl_time": "31/05/2026"}, "setl_time", "setl_time must be yyyy-MM-dd[ HH:mm:ss], not '31/05/2026'"),
])
def test_a_bad_request_names_the_field(change, field, message):
    _, cm = policy_and_map("suihua")
    with pytest.raises(medpolicy.errors.ClaimError) as e:
        nhsa.to_claim({**REQ, **change}, cm)
    assert e.value.field == field
    if message:
        assert e.value.message == message


def test_a_line_whose_approval_was_refused_is_self_paid():
    row = settle("suihua", {**REQ, "med_type": "21", "matn_type": None, "psn_type": "1101",
                            "feedetail": [{"chrgitm_lv": "01", "det_item_fee_sumamt": "700.00", "hosp_appr_flag": "2"}]})[0]
    assert str(row["output"]["setlinfo"]["fulamt_ownpay_amt"]) == "700.00"


def test_mapping_problems_name_the_file_and_entry(tmp_path):
    src = (ROOT / "policies" / "suihua.med").read_text(encoding="utf-8")
    (tmp_path / "city.med").write_text(src, encoding="utf-8")
    policy = medpolicy.load(tmp_path / "city.med")
    (tmp_path / "city.nhsa.toml").write_text('[fund_pay_type.employee]\nmajor = false\n', encoding="utf-8")
    with pytest.raises(nhsa.MappingError, match=r"city.nhsa.toml: fund_pay_type.employee.major: the policy's major fund has no code"):
        nhsa.load_mapping(str(tmp_path / "city.med"), policy)
    (tmp_path / "city.nhsa.toml").write_text('[codes.chrgitm_lv]\n"04" = "bed"\n', encoding="utf-8")
    with pytest.raises(nhsa.MappingError, match=r"codes.chrgitm_lv.04: 'bed' is not a class a fee line can have"):
        nhsa.load_mapping(str(tmp_path / "city.med"), policy)
    (tmp_path / "city.nhsa.toml").write_text('[codes.med_type]\n"99" = { benefit = "dental" }\n', encoding="utf-8")
    with pytest.raises(nhsa.MappingError, match=r"codes.med_type.99: benefit 'dental' is not a benefit of this policy"):
        nhsa.load_mapping(str(tmp_path / "city.med"), policy)


def test_spread_is_exact_and_favours_the_largest_remainders():
    parts = nhsa._spread(Decimal("0.10"), {0: Decimal(1), 1: Decimal(1), 2: Decimal(1)})
    assert parts == {0: Decimal("0.04"), 1: Decimal("0.03"), 2: Decimal("0.03")}


# ---- identities -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(SETTLEMENTS))
def test_identities_hold_on_real_platform_settlements(name):
    assert nhsa.identity_failures(SETTLEMENTS[name]) == []
    if name in DETAIL:  # I9': the account's (3102xx) and the hospital's (99999x) lines beside the funds
        detail = [{"fund_pay_type": code, "fund_payamt": amount} for code, amount in DETAIL[name]]
        assert nhsa.identity_failures(SETTLEMENTS[name], detail=detail) == []
        assert nhsa.identity_failures(SETTLEMENTS[name], detail=detail[1:]) == ["I9'"]


def test_the_account_identities_can_fail():
    cq = SETTLEMENTS["CQ-2304"]  # acct_pay 170.04
    assert nhsa.identity_failures({**cq, "acct_mulaid_pay": "170.04"}) == []
    assert nhsa.identity_failures({**cq, "acct_mulaid_pay": "170.05"}) == ["I8"]
    assert nhsa.identity_failures({**cq, "acct_mulaid_pay": "-1.00"}) == ["I8"]


def test_identities_hold_on_real_fee_lines_and_the_checker_can_fail():
    keys = ("feedetl_sn", "chrgitm_lv", "det_item_fee_sumamt", "fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt",
            "inscp_scp_amt", "selfpay_prop")
    lines = [dict(zip(keys, ln)) for ln in LINES]
    assert nhsa.identity_failures({}, lines) == []
    assert nhsa.identity_failures({}, [{**lines[0], "inscp_scp_amt": "4.30"}]) == ["I1 HB-2204"]
    cq = SETTLEMENTS["CQ-2304"]
    assert nhsa.identity_failures({**cq, "psn_cash_pay": "3982.03"}) == ["I4'", "I5"]
    assert nhsa.identity_failures({**cq, "inscp_scp_amt": "18808.15"}) == ["I3"]
    assert nhsa.identity_failures({**cq, "hifob_pay": "0"}) == ["I6"]


def _requests(city):
    _, cm = policy_and_map(city)
    schemes = sorted({v["scheme"] for v in cm.codes["insutype"].values()})
    insutypes = [c for c, v in cm.codes["insutype"].items() if v["scheme"] in schemes]
    amount = st.integers(0, 3_000_000).map(lambda f: Decimal(f) / 100)
    line = st.fixed_dictionaries({"chrgitm_lv": st.sampled_from(["01", "02", "03"]), "det_item_fee_sumamt": amount},
                                 optional={"selfpay_prop": st.sampled_from([Decimal("0"), Decimal("0.1"), Decimal("0.05")]),
                                           "hosp_appr_flag": st.just("2")})
    priced = st.tuples(st.integers(1, 500_000), st.integers(1, 30), st.integers(1, 500_000)).map(
        lambda t: {"chrgitm_lv": "02", "pric": Decimal(t[0]) / 100, "cnt": t[1],
                   "det_item_fee_sumamt": Decimal(t[0] * t[1]) / 100, "pric_uplmt_amt": Decimal(t[2]) / 100})
    year = {"suihua": 2026}.get(city, 2025)
    return st.fixed_dictionaries({
        "mdtrt_id": st.uuids().map(str), "psn_no": st.sampled_from(["P1", "P2", "P3"]),
        "insutype": st.sampled_from(insutypes), "med_type": st.sampled_from(["11", "14", "21", "51", "52"]),
        "hosp_lv": st.sampled_from(sorted(cm.codes["hosp_lv"])),
        "psn_type": st.sampled_from(["1101", "1201", "1501", "1402"]),
        "setl_time": st.dates(min_value=__import__("datetime").date(year, 1, 1),
                              max_value=__import__("datetime").date(year, 12, 31)).map(str),
        "feedetail": st.lists(st.one_of(line, priced), min_size=1, max_size=5),
    }, optional={"place_type": st.sampled_from(sorted(cm.codes["place_type"])),
                 "matn_type": st.sampled_from(sorted(cm.codes["matn_type"])),
                 "mdtrtarea_admvs": st.sampled_from([cm.admdvs[0] + "02", "110105"]),
                 # the personal account (issue 14): acct_pay and psn_cash_pay in the identities
                 "acct_used_flag": st.sampled_from(["0", "1"]),
                 "balc": st.decimals(0, 20000, places=2).map(str),
                 # 家庭共济 (medpolicy's extension): a relative's account pays
                 "acct_mulaid_psn_no": st.sampled_from(["P9", "P1"]),
                 "acct_mulaid_rltn": st.sampled_from(["spouse", "child", "sibling"])})


@pytest.mark.parametrize("city", CITIES)
@settings(max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_identities_hold_on_every_answer(city, data):
    requests = data.draw(st.lists(_requests(city), min_size=1, max_size=4, unique_by=lambda r: r["mdtrt_id"]))
    for req, row in zip(requests, settle(city, *requests)):
        if row["infcode"] != 0:
            assert row["error"]["code"] != "internal", row["err_msg"]
            continue
        out = row["output"]
        assert nhsa.identity_failures(out["setlinfo"], out["feedetail"], out["setldetail"]) == []
        info = out["setlinfo"]
        for field in ("fulamt_ownpay_amt", "preselfpay_amt", "inscp_scp_amt"):
            assert sum(ln[field] for ln in out["feedetail"]) == info[field]
        assert sum(ln["overlmt_amt"] for ln in out["feedetail"]) == info["overlmt_selfpay"]
        assert sum(d["fund_payamt"] for d in out["setldetail"] if d["fund_pay_type"] != "310200") == \
            info["fund_pay_sumamt"]
        assert all(v >= 0 for v in money_values(info))
        _account_figures_agree(req, info, out["setldetail"])


def _account_figures_agree(req, info, detail):
    """balc, acct_mulaid_pay and the 310200 line against the request and acct_pay."""
    used = req.get("acct_used_flag") == "1"
    mulaid = used and req.get("acct_mulaid_psn_no") not in (None, req["psn_no"])
    assert info["acct_mulaid_pay"] == (info["acct_pay"] if mulaid else 0)
    if used and "balc" in req:  # the whole account before, less what it paid
        assert info["balc"] == Decimal(req["balc"]) - info["acct_pay"]
    elif not used:  # acct_used_flag 0: nothing from the account, whatever the run kept; balc as given
        assert info["acct_pay"] == 0
        if "balc" in req:
            assert info["balc"] == Decimal(req["balc"])
    lines = [d["fund_payamt"] for d in detail if d["fund_pay_type"] == "310200"]
    assert lines == ([info["acct_pay"]] if info["acct_pay"] else [])


def money_values(info):
    return [v for v in info.values() if isinstance(v, Decimal)]


def test_the_account_answers_balc_acct_mulaid_pay_and_its_setldetail_line():
    # Ziyang outpatient, employed, level 2 (第十六条): A 1000 + 丙类 100; deductible 200, 60%:
    # hifp_pay (1000 - 200) x 60% = 480.00, psn_part_amt 1100 - 480 = 620.00. ZY-OP-ACC-1: balc
    # 800.00 -> the account (第十一条（一）: self-pay and own-expense) pays 620.00, balc 180.00 after.
    # ZY-OP-ACC-2, the spouse's same bill paid from ZY-P06's account (共济, balc 180.00): acct_pay
    # 180.00, all of it acct_mulaid_pay, cash 440.00, balc 0.00. Each has a 310200 line.
    own, aid = (answers("ziyang")[k]["output"] for k in ("ZY-OP-ACC-1", "ZY-OP-ACC-2"))
    figures = ("hifp_pay", "psn_part_amt", "acct_pay", "psn_cash_pay", "balc", "acct_mulaid_pay")
    assert [str(own["setlinfo"][f]) for f in figures] == ["480.00", "620.00", "620.00", "0.00", "180.00", "0.00"]
    assert [str(aid["setlinfo"][f]) for f in figures] == ["480.00", "620.00", "180.00", "440.00", "0.00", "180.00"]
    for out, paid in ((own, "620.00"), (aid, "180.00")):
        line = out["setldetail"][-1]
        assert (line["fund_pay_type"], line["fund_pay_type_name"], str(line["fund_payamt"])) == \
            ("310200", "职工基本医疗保险个人账户基金", paid)
        assert json.loads(line["setl_proc_info"])[0]["cite"] == "第十一条（一）"
        assert nhsa.identity_failures(out["setlinfo"], out["feedetail"], out["setldetail"]) == []


def test_a_relatives_account_needs_the_relation():
    r = settle("ziyang", {"mdtrt_id": "x", "psn_no": "P1", "insutype": "310", "psn_type": "1101", "med_type": "11",
                          "hosp_lv": "05", "setl_time": "2025-04-03", "acct_used_flag": "1", "acct_mulaid_psn_no": "P2",
                          "feedetail": [{"chrgitm_lv": "01", "det_item_fee_sumamt": "10.00"}]})[0]
    assert (r["infcode"], r["error"]["field"]) == (-1, "acct_mulaid_rltn")
