"""Boundaries and ties of every construct, on the shipped policies and on small test policies.

Each amount is worked out by hand in the comment beside it, from the regulation or the
language's documented meaning (docs/language.md), never from the engine. These are the cases
a mutant of the settlement core (a `<` for a `<=`, a dropped adjustment, a pool keyed too
widely, banker's rounding) changes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import medpolicy
from medpolicy.errors import MedCompileError

ROOT = Path(__file__).resolve().parent.parent
SUIHUA = medpolicy.load(ROOT / "policies" / "suihua.med")
SUIZHOU = medpolicy.load(ROOT / "policies" / "suizhou.med")
BINZHOU = medpolicy.load(ROOT / "policies" / "binzhou.med")
ZIYANG = medpolicy.load(ROOT / "policies" / "ziyang.med")

HEAD = 'policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\n'


def line_of(city: str, text: str) -> int:
    """The line of policies/CITY.med that holds `text` (positions read from the policy text)."""
    lines = (ROOT / "policies" / f"{city}.med").read_text(encoding="utf-8").splitlines()
    [n] = [i for i, line in enumerate(lines, 1) if text in line]
    return n


def policy(body: str):
    return medpolicy.compile(HEAD + body, "t.med")


def stay(cid="c1", date="2026-03-01", amount="10000.00", scheme="employee", level="level3", person="p", **extra):
    c = {"id": cid, "person": person, "date": date, "scheme": scheme, "benefit": "inpatient", "place": "local",
         "facility": {"level": level}, "items": [{"class": "A", "amount": amount}]}
    if scheme == "employee":
        c["status"] = "employed"
    c.update(extra)
    return c


def rows(p, claims, **params):
    out = [r.to_json(trace=False) for r in p.settle_all(claims, params=params)]
    for r in out:
        assert "error" not in r, r
    return out


def paid(p, claims, fund="basic", **params):
    return [r["paid"][fund] for r in rows(p, claims, **params)]


# ---- dated clauses: `from D` and `until D` both include D ----------------------------------

def test_suizhou_transition_waiver_holds_on_its_last_day():
    # 第四十七条（一）: 特困人员…过渡期内住院不设起付标准, 2026年起执行城乡居民住院起付标准.
    # Resident, level 3 (900, 70%), eligible 10,000, a first stay each year:
    #   2025-12-31: deductible 0,   basic 10,000 × 70% = 7,000.00
    #   2026-01-01: deductible 900, basic  9,100 × 70% = 6,370.00
    c = stay(scheme="resident", groups=["extreme-poverty"])
    r = rows(SUIZHOU, [dict(c, id="d1", date="2025-12-31"), dict(c, id="d2", date="2026-01-01")])
    assert [(x["deductible"], x["paid"]["basic"]) for x in r] == [("0.00", "7000.00"), ("900.00", "6370.00")]
    # 低保边缘 / 返贫致贫 are not in the list: the 900 is charged on the last day too.
    r = rows(SUIZHOU, [dict(c, date="2025-12-31", groups=["relapse-poverty"])])
    assert r[0]["deductible"] == "900.00"


DATED = ("scheme resident\n  inpatient\n    primary level1 level2 level3 deductible 900 rate 70%\n"
         "    exception low-income until 2026-06-30 deductible none\n"
         "    exception orphan from 2026-07-01 deductible 100\n")


@pytest.mark.parametrize("group, date, deductible", [
    ("low-income", "2026-06-29", "0.00"), ("low-income", "2026-06-30", "0.00"), ("low-income", "2026-07-01", "900.00"),
    ("orphan", "2026-06-30", "900.00"), ("orphan", "2026-07-01", "100.00"), ("orphan", "2026-07-02", "100.00"),
])
def test_from_and_until_include_their_day(group, date, deductible):
    c = stay(scheme="resident", amount="1000.00", date=date, groups=[group])
    assert rows(policy(DATED), [c])[0]["deductible"] == deductible


@pytest.mark.parametrize("date, inside", [("2025-12-31", False), ("2026-01-01", True),
                                          ("2030-12-31", True), ("2031-01-01", False)])
def test_the_effective_period_includes_its_first_and_last_days(date, inside):
    # Suihua 第四十三条: 2026-01-01 to 2030-12-31. Level 3, employed: (10,000 − 900) × 85% = 7,735.00.
    r = SUIHUA.settle(stay(date=date)).to_json(trace=False)
    if inside:
        assert r["paid"]["basic"] == "7735.00"
    else:
        assert r["error"]["code"] == "outside-period"


# ---- rounding: half a fen goes up -----------------------------------------------------------

def test_half_a_fen_rounds_up_in_the_basic_fund():
    # Suihua resident level 3 (800, 65%): (800.10 − 800) × 65% = 0.065 → 0.07 (banker's: 0.06).
    # (800.30 − 800) × 65% = 0.195 → 0.20 (banker's: 0.20, the same); (800.50 − 800) × 65% = 0.325 → 0.33.
    claims = [stay(f"r{i}", person=f"p{i}", scheme="resident", amount=a) for i, a in
              enumerate(["800.10", "800.30", "800.50"])]
    assert paid(SUIHUA, claims) == ["0.07", "0.20", "0.33"]


def test_half_a_fen_rounds_up_in_a_layer_and_in_a_prepayment():
    # cap 10,000, deductible 1,000, 80%: a: 13,500 reaches the cap exactly (1,000 + 10,000 / 0.8), the
    # layer pays 0; b: past the cap, the layer alone, 90% × 0.05 = 0.045 → 0.05 (banker's 0.04).
    p = policy("scheme employee\n  fund basic cap 10000 yearly\n  fund major on eligible above cap\n    rate 90%\n"
               "  inpatient\n    primary level1 level2 level3 deductible 1000 rate 80%\n")
    r = rows(p, [stay("a", amount="13500.00"), stay("b", date="2026-04-01", amount="0.05")])
    assert [(x["deductible"], x["paid"]["basic"], x["paid"]["major"]) for x in r] == [
        ("1000.00", "10000.00", "0.00"), ("0.00", "0.00", "0.05")]
    # Suihua, the same after a stay of 200,000: the layer's exact cumulative 52,131.17647… (rounded
    # 52,131.18) + 0.045 = 52,131.22147… → 52,131.22: the claim is paid the increase, 0.04.
    r = rows(SUIHUA, [stay("a", amount="200000.00"), stay("b", date="2026-04-01", amount="0.05")])
    assert [x["paid"]["major"] for x in r] == ["52131.18", "0.04"]
    # Suizhou 第二十三条（三）: class B pre-pays 10%: 0.25 × 10% = 0.025 → 0.03 (banker's 0.02).
    c = stay(items=[{"class": "B", "amount": "0.25"}])
    assert rows(SUIZHOU, [c])[0]["prepay"] == "0.03"


def test_a_tie_at_the_cap_point():
    # Suihua 第二十八条（二）: employed, level 1 (300, 90%). a: (86,239.30 − 300) × 90% = 77,345.37,
    # leaving 42,654.63 under the 120,000 cap. b: eligible 59,167.75; the cap is reached at
    # 300 + 42,654.63 / 0.9 = 47,694.0333…; the major layer pays 90% × (59,167.75 − 47,694.0333…)
    # = 10,326.345 exactly → 10,326.35.
    r = rows(SUIHUA, [stay("a", amount="86239.30", level="level1"),
                      stay("b", date="2026-04-01", amount="59167.75", level="level1")])
    assert [(x["paid"]["basic"], x["paid"]["major"]) for x in r] == [("77345.37", "0.00"), ("42654.63", "10326.35")]


# ---- `rate as LEVEL - N points` keeps the claim's other adjustments -------------------------

def test_rate_as_another_level_keeps_the_other_point_adjustments():
    # remote-self: level 3's 80% − 20 points = 60%, and the retired + 10 points on top = 70%:
    # 9,000 × 70% = 6,300.00 (dropping the + 10 would pay 5,400.00).
    p = policy("scheme employee\n  inpatient\n    primary level1 level2 deductible none rate 90%\n"
               "    level3 deductible none rate 80%\n"
               "    exception remote-self rate as level3 - 20 points\n"
               "    exception remote-self retired rate + 10 points\n")
    c = stay(amount="9000.00", level="level1", place="remote-self", status="retired")
    assert paid(p, [c]) == ["6300.00"]
    assert paid(p, [dict(c, status="employed")]) == ["5400.00"]   # 80 − 20 = 60%


def test_suihua_rate_as_level3_starts_from_the_members_own_level3_rate():
    # domain.md: the remote rate for retirees starts from the retired level-3 rate (87%).
    # Retired, referred out of the region from a level-1 hospital: deductible 900,
    # 87% − 10 points = 77%: (10,900 − 900) × 77% = 7,700.00. Employed: 85 − 10 = 75%: 7,500.00.
    c = stay(amount="10900.00", level="level1", place="remote-referred", status="retired")
    assert paid(SUIHUA, [c]) == ["7700.00"]
    assert paid(SUIHUA, [dict(c, status="employed")]) == ["7500.00"]
    # Self-referred: 87 − 20 = 67%: 6,700.00.
    assert paid(SUIHUA, [dict(c, place="remote-self")]) == ["6700.00"]


# ---- caps scoped to events, benefits and funds, each beside a claim of another scope ---------

def _maternity(cid, date, event, amount, level="level3"):
    return {"id": cid, "person": "m", "date": date, "scheme": "employee", "status": "employed",
            "benefit": "maternity", "maternity": event, "place": "local", "facility": {"level": level},
            "items": [{"class": "A", "amount": amount}]}


def test_an_event_cap_counts_only_its_event():
    # Suihua 第二十二条（一）: delivery paid in full by the maternity fund (5,000.00); antenatal care
    # at cost up to 1,000 a year: 400 → 400.00 (the delivery does not use the antenatal 1,000),
    # then 700 → 600.00 (1,000 − 400).
    claims = [_maternity("d", "2026-02-01", "delivery", "5000.00"),
              _maternity("a1", "2026-03-01", "antenatal", "400.00"),
              _maternity("a2", "2026-04-01", "antenatal", "700.00")]
    assert paid(SUIHUA, claims, "maternity") == ["5000.00", "400.00", "600.00"]


def test_a_benefit_cap_counts_only_its_benefit():
    # Suihua 第二十一条（二）: a stay (level 3: (10,000 − 900) × 85% = 7,735.00) does not use the
    # outpatient 2,000. Outpatient at level 1: 500 yearly deductible, 70%: (3,500 − 500) × 70% =
    # 2,100 → capped at 2,000.00; a later outpatient claim gets 0.00.
    out = dict(stay("o1", date="2026-03-01", amount="3500.00", level="level1"), benefit="outpatient")
    later = dict(stay("o2", date="2026-04-01", amount="100.00", level="level1"), benefit="outpatient")
    claims = [stay("i", date="2026-02-01"), out, later]
    assert paid(SUIHUA, claims) == ["7735.00", "2000.00", "0.00"]


def test_a_fund_cap_counts_only_its_fund():
    # Suihua: the maternity fund pays a delivery (5,000.00); the basic fund's 120,000 is untouched.
    # Level 3, employed, eligible 150,000: (150,000 − 900) × 85% = 126,735 → basic 120,000.00; the
    # cap point 900 + 120,000 / 0.85 = 142,076.4705…; major 90% × 7,923.5294… = 7,131.1764… → 7,131.18.
    claims = [_maternity("d", "2026-02-01", "delivery", "5000.00"), dict(stay("i", amount="150000.00"), person="m")]
    r = rows(SUIHUA, claims)
    assert r[0]["paid"] == {"basic": "0.00", "major": "0.00", "maternity": "5000.00"}
    assert r[1]["paid"] == {"basic": "120000.00", "major": "7131.18", "maternity": "0.00"}


def test_a_fund_blocks_cap_binds_only_that_funds_payments():
    # Suihua 第二十一条: the 120,000 is the basic fund's (`fund basic cap 120000 yearly`); 第二十二条（一）2:
    # the maternity fund pays a delivery in full. A stay reaches the basic cap (level 3, employed:
    # (150,000 − 900) × 85% = 126,735 → 120,000.00), and a delivery of 130,000 in the same year is
    # paid 130,000.00 by the maternity fund, with no cap step (it was capped at 120,000.00).
    claims = [dict(stay("i", amount="150000.00"), person="m"), _maternity("d", "2026-05-01", "delivery", "130000.00")]
    results = SUIHUA.settle_all(claims)
    assert results[0].to_json(trace=False)["paid"]["basic"] == "120000.00"
    delivery = results[1].to_json()
    assert (delivery["paid"]["maternity"], delivery["patient"]) == ("130000.00", "0.00")
    assert [s["step"] for s in delivery["trace"] if "cap" in s["step"]] == []


def test_a_cap_on_the_maternity_funds_line_is_an_error_not_ignored():
    # Only the basic fund's line carries clauses for the benefits; the maternity fund's caps are
    # written on the benefits it pays, so a cap on its line would be silently unused.
    with pytest.raises(MedCompileError) as e:
        policy("scheme employee\n  fund maternity cap 600 yearly\n  inpatient deductible none rate 100%\n"
               "  maternity paid-by maternity deductible none rate 100%\n")
    assert [(d.span.line, d.span.column, d.message) for d in e.value.diagnostics] == [
        (4, 3, "the maternity fund pays on the terms of the benefits it pays: write its caps there "
               "(`maternity paid-by maternity cap 5000 yearly`)")]


def test_a_scheme_keeps_its_own_caps():
    # domain.md: a year per scheme. Binzhou has one scheme; Suizhou: an employee stay of 250,000 at
    # level 3 (800, 91%) reaches the 200,000 employee cap; the same person's resident stay at
    # level 3 (900, 70%) then pays (10,900 − 900) × 70% = 7,000.00 with its first-stay deductible.
    e = stay("e", amount="250000.00")
    r = dict(stay("r", date="2026-05-01", amount="10900.00", scheme="resident"))
    out = rows(SUIZHOU, [e, r])
    assert out[0]["paid"]["basic"] == "200000.00"
    assert (out[1]["deductible"], out[1]["paid"]["basic"]) == ("900.00", "7000.00")


# ---- thresholds, band edges and caps hit exactly -------------------------------------------

def test_suihua_critical_illness_threshold_and_band_edge_hit_exactly():
    # 第二十九条（二）, residents at level 2 (500, 75%); burden = eligible − basic.
    # a: 58,500: basic 58,000 × 75% = 43,500.00; burden 15,000 = the threshold: major 0.00.
    # b: 18,500: basic 13,500.00; burden + 5,000 = 20,000 = the band edge: 65% × 5,000 = 3,250.00.
    # c: 900: basic 300.00; burden + 600 in the 70% band: 420.00.
    claims = [stay("a", amount="58500.00", scheme="resident", level="level2"),
              stay("b", date="2026-04-01", amount="18500.00", scheme="resident", level="level2"),
              stay("c", date="2026-05-01", amount="900.00", scheme="resident", level="level2")]
    r = rows(SUIHUA, claims)
    assert [(x["paid"]["basic"], x["paid"]["major"]) for x in r] == [
        ("43500.00", "0.00"), ("13500.00", "3250.00"), ("300.00", "420.00")]
    # One fen over the threshold: 58,000.04 × 75% = 43,500.03; burden 15,000.01; 65% × 0.01 = 0.0065 → 0.01.
    r = rows(SUIHUA, [stay("a", amount="58500.04", scheme="resident", level="level2")])
    assert (r[0]["paid"]["basic"], r[0]["paid"]["major"]) == ("43500.03", "0.01")


def test_suihua_groups_threshold_and_no_cap():
    # 第二十九条（二）: 特困 threshold 7,500, +5 points, no cap. Level 2: a: 28,500: basic 21,000.00,
    # burden 7,500 = the threshold: 0.00. b: 2,500: basic 1,500.00, burden + 1,000: 70% × 1,000 = 700.00.
    claims = [stay("a", amount="28500.00", scheme="resident", level="level2", groups=["extreme-poverty"]),
              stay("b", date="2026-04-01", amount="2500.00", scheme="resident", level="level2",
                   groups=["extreme-poverty"])]
    assert paid(SUIHUA, claims, "major") == ["0.00", "700.00"]


def test_binzhou_outpatient_limit_of_400_hit_exactly():
    # 第十三条（一）: 50% of the year's outpatient eligible cost up to 400.
    out = lambda cid, date, amount: dict(stay(cid, date=date, amount=amount, scheme="resident", level="level1"),
                                         benefit="outpatient", date=date)
    assert paid(BINZHOU, [out("a", "2025-03-01", "400.00"), out("b", "2025-04-01", "100.00")]) == ["200.00", "0.00"]
    # across the edge: 300 → 150.00; 200 → only 100 left under 400: 50.00
    assert paid(BINZHOU, [out("a", "2025-03-01", "300.00"), out("b", "2025-04-01", "200.00")]) == ["150.00", "50.00"]


def test_binzhou_cap_hit_exactly_stops_outpatient_too():
    # 第十二条: 20万 a year over every benefit. Level 3 (1,000, 50%): (401,000 − 1,000) × 50% = 200,000.00.
    # An outpatient claim afterwards: 0.00.
    claims = [stay("a", date="2025-03-01", amount="401000.00", scheme="resident"),
              dict(stay("b", date="2025-04-01", amount="100.00", scheme="resident", level="level1"),
                   benefit="outpatient")]
    assert paid(BINZHOU, claims) == ["200000.00", "0.00"]


def test_binzhou_third_stay_at_level2_or_3_has_no_deductible():
    # 第十四条（一）: from the third stay at level 2 or 3. Stays: level 2, level 1, level 3, level 3:
    # 500, 200 (level 1 does not count), 1,000 (second at level 2/3), 0 (third).
    claims = [stay("a", date="2025-01-05", level="level2", scheme="resident"),
              stay("b", date="2025-02-05", level="level1", scheme="resident"),
              stay("c", date="2025-03-05", level="level3", scheme="resident"),
              stay("d", date="2025-04-05", level="level3", scheme="resident")]
    assert [r["deductible"] for r in rows(BINZHOU, claims)] == ["500.00", "200.00", "1000.00", "0.00"]


def test_suizhou_repeat_stays_reach_the_floor():
    # 第二十三条（二）: level 3 800, −200 a stay, not below 400: 800, 600, 400, 400.
    claims = [stay(f"s{i}", date=f"2026-0{i + 1}-01") for i in range(4)]
    assert [r["deductible"] for r in rows(SUIZHOU, claims)] == ["800.00", "600.00", "400.00", "400.00"]


def test_suizhou_major_threshold_and_band_edge():
    # 第二十五条: employees' burden above 6,000: 85% to 10万, 90% above. Level 3 (800, 91%),
    # one stay of 60,800: basic 60,000 × 91% = 54,600.00; burden 6,200: 85% × 200 = 170.00.
    assert paid(SUIZHOU, [stay(amount="60800.00")], "major") == ["170.00"]
    # a stay of 244,800 (cap 20万 reached at 800 + 200,000/0.91): burden = 244,800 − 200,000 = 44,800:
    # 85% × 38,800 = 32,980.00; a second stay of 100,000 at level 3 (600): basic 0, burden + 100,000 →
    # 144,800: 85% × (100,000 − 44,800) + 90% × 44,800 = 46,920 + 40,320 = 87,240.00.
    r = rows(SUIZHOU, [stay("a", amount="244800.00"), stay("b", date="2026-04-01", amount="100000.00")])
    assert [(x["paid"]["basic"], x["paid"]["major"]) for x in r] == [("200000.00", "32980.00"), ("0.00", "87240.00")]


def test_ziyang_floor_after_the_retired_reduction():
    # 第十八条（一）2-4: primary 100, retired −200, floor 100: 100.00; level 3 800 − 200 = 600, then −50: 550.
    c = stay(level="primary", status="retired")
    assert rows(ZIYANG, [c], avg_wage="60000")[0]["deductible"] == "100.00"
    claims = [stay("a", status="retired"), stay("b", date="2026-04-01", status="retired")]
    assert [r["deductible"] for r in rows(ZIYANG, claims, avg_wage="60000")] == ["600.00", "550.00"]


# ---- a capped or banded fund pays the increase of its exactly tracked cumulative (issue 8) ----

def test_binzhou_outpatient_total_stays_within_200():
    # 第十三条（一）: 50% of at most 400 a year: never more than 200.00. Cumulative eligible 3.65, 94.04,
    # 7,086.04; paid as the increase of the rounded cumulative: 1.825 → 1.83; 47.02 − 1.83 = 45.19;
    # 200.00 − 47.02 = 152.98: 200.00 in all (rounding each claim alone: 1.83 + 45.20 + 152.98 = 200.01).
    out = lambda cid, amount: dict(stay(cid, date="2025-03-01", amount=amount, scheme="resident", level="level1"),
                                   benefit="outpatient")
    assert paid(BINZHOU, [out("a", "3.65"), out("b", "90.39"), out("c", "6992.00")]) == ["1.83", "45.19", "152.98"]


def test_suizhou_capped_fund_pays_the_increase_of_its_cumulative():
    # Employee, primary (400, 95%), class B pre-pays 10%. a: 356 A + 49 B: prepay 4.90, eligible 400.10,
    # basic 0.10 × 95% = 0.095 → 0.10. b: 445 B: prepay 44.50, eligible 400.50, second stay 400 − 200 →
    # floor 400; basic 0.475; cumulative 0.57 exactly: 0.57 − 0.10 = 0.47 (alone: 0.48).
    a = stay("a", level="primary", items=[{"class": "A", "amount": "356.00"}, {"class": "B", "amount": "49.00"}])
    b = stay("b", date="2026-04-01", level="primary", items=[{"class": "B", "amount": "445.00"}])
    assert paid(SUIZHOU, [a, b]) == ["0.10", "0.47"]


def test_suihua_cap_point_from_the_exact_cumulative():
    # 第二十八条（二）. Employed. a: primary (300, 90%), 52,542.57: basic 52,242.57 × 90% = 47,018.313 exactly
    # (paid 47,018.31). b: level 2 (600, 87%), 96,496.56: wanted 95,896.56 × 87% > the 72,981.687 left
    # under 120,000; basic pays 120,000.00 − 47,018.31 = 72,981.69. The cap point is
    # 600 + 72,981.687 / 0.87 = 84,486.9966…; major 90% × (96,496.56 − 84,486.9966…) = 10,808.607 → 10,808.61
    # (from the rounded 47,018.31 the engine finds 84,487.0000 and pays 10,808.60: a fen short).
    r = rows(SUIHUA, [stay("a", amount="52542.57", level="primary"),
                      stay("b", date="2026-04-01", amount="96496.56", level="level2")])
    assert [(x["paid"]["basic"], x["paid"]["major"]) for x in r] == [("47018.31", "0.00"), ("72981.69", "10808.61")]


# ---- the trace names the clause, line and article of each amount ------------------------------

def test_the_trace_of_a_claim_one_fen_over_a_threshold():
    # Suihua resident, level 2 (the line `level2 deductible 500 rate 75%`, 第二十三条（一）3), items 58,500.04
    # and 10.00 outside the catalogue: basic 58,000.04 × 75% = 43,500.03; burden 15,000.01 over the
    # threshold 15000 line by 0.01; the 65% band's line: 0.0065 → 0.01; patient 58,510.04 − 43,500.04.
    c = stay("a", scheme="resident", level="level2",
             items=[{"class": "A", "amount": "58500.04"}, {"class": "excluded", "amount": "10.00"}])
    level2 = {"line": line_of("suihua", "level2 deductible 500 rate 75%"), "cite": "第二十三条（一）3"}
    threshold, bands = line_of("suihua", "threshold 15000 "), line_of("suihua", "rate 65% to 20000")
    assert SUIHUA.settle(c).to_json()["trace"] == [
        {"step": "total", "amount": "58510.04"},
        {"step": "excluded", "amount": "10.00", "detail": "outside the catalogue or over a price ceiling"},
        {"step": "eligible", "amount": "58500.04"},
        {"step": "deductible", "amount": "500.00", **level2},
        {"step": "rate", **level2, "detail": "75%"},
        {"step": "basic", "amount": "43500.03", **level2},
        {"step": "major base", "amount": "15000.01", "line": threshold, "cite": "第二十九条（二）",
         "detail": "burden this year 0.00 -> 15000.01, threshold 15000.00"},
        {"step": "major", "amount": "0.01", "line": bands, "cite": "第二十九条（二）"},
        {"step": "patient", "amount": "15010.00"},
    ]


# ---- a year carried claim by claim: `state=` and `Policy.run` -------------------------------

def test_a_year_carried_in_state_reaches_the_same_band_edge():
    # The three stays of test_suihua_critical_illness_threshold_and_band_edge_hit_exactly, settled one
    # at a time with the state of the one before, and through Policy.run: the same hand amounts.
    claims = [stay("a", amount="58500.00", scheme="resident", level="level2"),
              stay("b", date="2026-04-01", amount="18500.00", scheme="resident", level="level2"),
              stay("c", date="2026-05-01", amount="900.00", scheme="resident", level="level2")]
    expected = [("43500.00", "0.00"), ("13500.00", "3250.00"), ("300.00", "420.00")]
    state, chained = None, []
    for c in claims:
        r = SUIHUA.settle(c, state=state)
        chained.append((r["paid"]["basic"], r["paid"]["major"]))
        state = r.state
    assert chained == expected
    # A state is a value: settling from an earlier one again gives the same, whatever came after.
    first = SUIHUA.settle(claims[0])
    assert SUIHUA.settle(claims[1], state=first.state)["paid"]["major"] == "3250.00"
    assert SUIHUA.settle(claims[1], state=first.state)["paid"]["major"] == "3250.00"
    run = SUIHUA.run()
    assert [(r["paid"]["basic"], r["paid"]["major"]) for r in map(run.settle, claims)] == expected


# ---- parameters in bands, caps, tiers and ceilings; 就高 between groups -----------------------

PARAMETERS = ('policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\n'
              "parameter cap_p\nparameter edge_p\nparameter tier_p\nparameter ceil_p\n")
PARAMS = {"cap_p": "20000", "edge_p": "11000", "tier_p": "500", "ceil_p": "60000"}


def _parameters(body: str):
    return medpolicy.compile(PARAMETERS + body, "t.med")


def test_a_cap_point_inside_banded_rates_set_by_parameters():
    # Bands over the year's eligible cost: rate_p = 50% to edge_p = 11,000, 60% to 15,000, 80% above;
    # cap cap_p = 20,000. a: eligible 40,000, deductible 1,000 (the lowest positions): 50% × 10,000 =
    # 5,000; 60% × 4,000 = 2,400 (7,400 so far); 12,600 more at 80% reaches the cap at 15,000 + 15,750 =
    # 30,750: basic 20,000.00, major 90% × (40,000 − 30,750) = 8,325.00.
    # b: past the cap, no deductible: 90% × 5,000 = 4,500.00.
    p = medpolicy.compile(PARAMETERS + "parameter rate_p\n"
                          "scheme employee\n  fund basic cap cap_p yearly\n  fund major on eligible above cap\n"
                          "    rate 90%\n  inpatient\n    primary level1 level2 level3 deductible 1000 "
                          "rate rate_p to edge_p, 60% to 15000, 80% above\n", "t.med")
    r = rows(p, [stay("a", date="2026-02-01", amount="40000.00"), stay("b", amount="5000.00")],
             rate_p="50%", **PARAMS)
    assert [(x["deductible"], x["paid"]["basic"], x["paid"]["major"]) for x in r] == [
        ("1000.00", "20000.00", "8325.00"), ("0.00", "0.00", "4500.00")]


def test_a_cap_point_with_less_than_a_yuan_left():
    # cap 10,000, deductible 1,000, 80%. a: 13,499: 80% × 12,499 = 9,999.20, leaving 0.80.
    # b: 2,000: the cap is reached at 1,000 + 0.80 / 0.8 = 1,001; major 90% × 999 = 899.10.
    p = policy("scheme employee\n  fund basic cap 10000 yearly\n  fund major on eligible above cap\n    rate 90%\n"
               "  inpatient\n    primary level1 level2 level3 deductible 1000 rate 80%\n")
    r = rows(p, [stay("a", date="2026-02-01", amount="13499.00"), stay("b", amount="2000.00")])
    assert [(x["paid"]["basic"], x["paid"]["major"]) for x in r] == [("9999.20", "0.00"), ("0.80", "899.10")]


ITEMS = ("scheme employee\n  material prepay 10% to tier_p, 50% above\n  material ceiling ceil_p\n"
         "  inpatient\n    primary level1 level2 level3 deductible none rate 100%\n"
         "    low-income deductible 300\n    orphan deductible 200\n"
         "  outpatient rate 100%\n    low-income cap 1000 yearly\n    orphan cap 2000 yearly\n")


@pytest.mark.parametrize("price, amount, excluded, prepay", [
    ("500.00", "1000.00", "0.00", "100.00"),         # at the tier's edge: 10%
    ("500.01", "1000.00", "0.00", "500.00"),         # a fen above it: 50% of the whole item
    ("80000.00", "80000.00", "20000.00", "30000.00"),  # over the 60,000 ceiling: 20,000 out; 60,000 at 50%
])
def test_item_tiers_and_ceilings_set_by_parameters(price, amount, excluded, prepay):
    c = stay(items=[{"class": "material", "amount": amount, "unit_price": price}])
    r = rows(_parameters(ITEMS), [c], **PARAMS)[0]
    assert (r["excluded"], r["prepay"]) == (excluded, prepay)


def test_a_member_of_two_groups_gets_the_more_favourable_clause():
    # docs/language.md 4 (就高): low-income 300, orphan 200 → 200; caps 1,000 / 2,000 → 2,000 a year.
    p = _parameters(ITEMS)
    c = stay(amount="5000.00", groups=["low-income", "orphan"])
    assert rows(p, [c], **PARAMS)[0]["deductible"] == "200.00"
    out = dict(c, benefit="outpatient")
    assert paid(p, [dict(out, id="o1"), dict(out, id="o2", date="2026-04-01")], **PARAMS) == ["2000.00", "0.00"]


def test_event_limits_add_up_when_one_is_a_parameter():
    # docs/language.md: `limit N` — several events: the limits add up; amounts may name a parameter.
    # IUD insertion (lim_p = 500) and sterilisation (2,800) together, billed 5,000: 3,300.00.
    p = medpolicy.compile('policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\nparameter lim_p\n'
                          "scheme employee\n  maternity paid-by maternity rate 100%\n"
                          "    iud-insert limit lim_p\n    sterilization limit 2800\n", "t.med")
    c = dict(stay(amount="5000.00"), benefit="maternity", maternity=["iud-insert", "sterilization"])
    assert paid(p, [c], "maternity", lim_p="500") == ["3300.00"]


LAYERS = ('policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\nparameter lim_p\nparameter share_p\n'
          "scheme employee\n  fund major on burden\n    threshold 1000\n    rate 50%\n    low-income not-covered\n"
          "  partial prepay share_p to 300, 40% above\n"
          "  material prepay 10% to 500, 30% to 70000, 50% above\n  material ceiling 60000\n"
          "  inpatient\n    primary level1 level2 level3 deductible none rate 80%\n"
          "  maternity paid-by maternity rate 100%\n    iud-insert limit lim_p\n")
LAYER_PARAMS = {"lim_p": "500", "share_p": "20%"}


def test_a_layer_clause_can_leave_a_group_out():
    # burden 10,000 − 8,000 = 2,000; 50% above 1,000 = 500.00; `low-income not-covered` in the layer: 0.00.
    p = medpolicy.compile(LAYERS, "t.med")
    assert paid(p, [stay()], "major", **LAYER_PARAMS) == ["500.00"]
    assert paid(p, [stay(groups=["low-income"])], "major", **LAYER_PARAMS) == ["0.00"]


def test_a_limit_a_share_and_a_ceiling_set_by_parameters():
    p = medpolicy.compile(LAYERS, "t.med")
    # 限额 lim_p = 500 on a bill of 800: 500.00
    iud = dict(stay(amount="800.00"), benefit="maternity", maternity="iud-insert")
    assert paid(p, [iud], "maternity", **LAYER_PARAMS) == ["500.00"]
    # a partly-covered item at the tier's edge (unit price 300): share_p = 20% of 1,000 = 200.00
    part = stay(items=[{"class": "partial", "amount": "1000.00", "unit_price": "300.00"}])
    assert rows(p, [part], **LAYER_PARAMS)[0]["prepay"] == "200.00"
    # a material of 80,000 over the 60,000 ceiling: 20,000 out; its tier is that of the price
    # allowed (60,000: 30%), not of 80,000 (50%): 60,000 × 30% = 18,000.00
    material = stay(items=[{"class": "material", "amount": "80000.00", "unit_price": "80000.00"}])
    r = rows(p, [material], **LAYER_PARAMS)[0]
    assert (r["excluded"], r["prepay"]) == ("20000.00", "18000.00")


SHAOXING = medpolicy.load(ROOT / "policies" / "shaoxing.med")
SHAOXING_PARAMS = {"b_prepay": "10%", "aid_rate_cat2": "85%", "aid_cap_cat2": "100000", "aid_rate_cat3": "75%",
                   "aid_cap_cat3": "100000", "aid_rate_cat4": "70%", "aid_cap_cat4": "100000"}


def test_shaoxing_aid_pays_the_first_share_too():
    # 第四十六条 with 第九十四条（四） (the policy's reading): aid on what the funds left, the
    # out-of-city share included. Employed, level 3, referred out of the city, 特困 (category 1):
    # 10% first share 2,000; eligible 18,000; deductible 1,200 (第四十九条); basic 80% × 16,800 =
    # 13,440.00; burden 18,000 − 13,440 + 2,000 = 6,560 under the halved 9,000: no major; aid 100% of
    # 18,000 − 13,440 + 2,000 = 6,560.00; the patient pays 0.00.
    c = stay(place="remote-referred", groups=["extreme-poverty"], amount="20000.00")
    r = rows(SHAOXING, [c], **SHAOXING_PARAMS)[0]
    assert (r["prepay"], r["deductible"], r["paid"], r["patient"]) == (
        "2000.00", "1200.00", {"basic": "13440.00", "major": "0.00", "aid": "6560.00"}, "0.00")


def test_shaoxing_yearly_deductible_carried_in_state():
    # 第四十九条（一）: one deductible a year at the highest level used: level 1 800, then level 3: 1,200 − 800.
    a = stay("a", level="level1")
    first = SHAOXING.settle(a, params=SHAOXING_PARAMS)
    second = SHAOXING.settle(stay("b", date="2026-04-01"), params=SHAOXING_PARAMS, state=first.state)
    assert (first["deductible"], second["deductible"]) == ("800.00", "400.00")


def test_the_trace_of_the_layers_above_the_cap_and_on_what_remains():
    # Suihua 第二十八条（二） (the layer's `rate 90%`): 150,000 at level 3 crosses the cap point 142,076.4705…:
    # base 7,923.53 (shown to the fen), major 7,131.18. Ziyang 第三十一条（二） (`supplement rate 60%`):
    # level 3, 10,000: deductible 800, basic 80% × 9,200 = 7,360; what remains 10,000 − 800 − 7,360 = 1,840;
    # 60% = 1,104.00.
    rate90 = line_of("suihua", "    rate 90%")
    major = [s for s in SUIHUA.settle(stay(amount="150000.00")).to_json()["trace"] if s["step"].startswith("major")]
    assert major == [{"step": "major base", "amount": "7923.53", "line": rate90, "cite": "第二十八条（二）",
                      "detail": "eligible cost above the basic fund's cap"},
                     {"step": "major", "amount": "7131.18", "line": rate90, "cite": "第二十八条（二）"}]
    r = ZIYANG.settle(stay(enrolment={"supplement": True}), params={"avg_wage": "60000"}).to_json()
    rate60 = line_of("ziyang", "supplement rate 60%")
    assert [s for s in r["trace"] if s["step"].startswith("supplement")] == [
        {"step": "supplement base", "amount": "1840.00", "line": rate60, "cite": "第三十一条（二）",
         "detail": "what the earlier funds left"},
        {"step": "supplement", "amount": "1104.00", "line": rate60, "cite": "第三十一条（二）"}]


def test_a_layer_on_what_remains_can_leave_a_group_out():
    # deductible 1,000, 80%: basic 7,200; what remains 10,000 − 1,000 − 7,200 = 1,800; 60% = 1,080.00.
    p = policy("scheme employee\n  fund supplement on remaining above deductible\n    supplement rate 60%\n"
               "    supplement low-income not-covered\n"
               "  inpatient\n    primary level1 level2 level3 deductible 1000 rate 80%\n")
    c = stay(enrolment={"supplement": True})
    assert paid(p, [c], "supplement") == ["1080.00"]
    assert paid(p, [dict(c, groups=["low-income"])], "supplement") == ["0.00"]


ADJUST = ('policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\n'
          "parameter less_p\nparameter plus_p\nparameter step_p\nparameter floor_p\n"
          "scheme employee\n  inpatient\n    primary level1 level2 level3 deductible 1000 rate 80%\n"
          "    retired deductible - less_p\n    low-income deductible halved\n"
          "    orphan deductible repeat - step_p floor floor_p\n"
          "  outpatient rate 50%\n    cap 1000 yearly\n    retired cap + plus_p\n"
          "    hypertension diabetes cap + 10% each-extra diseases\n")
ADJUST_PARAMS = {"less_p": "300", "plus_p": "200", "step_p": "200", "floor_p": "700"}


@pytest.mark.parametrize("extra, deductible, detail", [
    ({}, "1000.00", None),
    ({"status": "retired"}, "700.00", "1000.00 - 300.00"),                         # − less_p
    ({"groups": ["low-income"]}, "500.00", "1000.00 halved"),
    ({"status": "retired", "groups": ["low-income"]}, "350.00", "1000.00 - 300.00, halved"),  # (1000 − 300) / 2
])
def test_deductible_adjustments_in_their_order(extra, deductible, detail):
    r = medpolicy.compile(ADJUST, "t.med").settle(stay(**extra), params=ADJUST_PARAMS).to_json()
    [step] = [s for s in r["trace"] if s["step"] == "deductible"]
    assert (step["amount"], step.get("detail")) == (deductible, detail)


def test_repeat_stays_by_a_parameter_stop_at_a_parameter_floor():
    # 1,000; 1,000 − 200 = 800; 1,000 − 400 = 600 → not below floor_p = 700.
    p = medpolicy.compile(ADJUST, "t.med")
    claims = [stay(f"s{i}", date=f"2026-0{i + 1}-01", groups=["orphan"]) for i in range(3)]
    r = [x.to_json() for x in p.settle_all(claims, params=ADJUST_PARAMS)]
    assert [x["deductible"] for x in r] == ["1000.00", "800.00", "700.00"]
    [step] = [s for s in r[2]["trace"] if s["step"] == "deductible"]
    assert step["detail"] == "1000.00 2 earlier stay(s) this year: - 200.00 each, not below 700.00"


@pytest.mark.parametrize("extra, basic", [
    ({}, "1000.00"),                                                    # 50% × 3,000 = 1,500 → cap 1,000
    ({"status": "retired"}, "1200.00"),                                 # cap + plus_p = 1,200
    ({"conditions": ["hypertension", "diabetes", "aids"]}, "1200.00"),  # + 10% × 2 extra diseases = 1,200
])
def test_cap_adjustments(extra, basic):
    c = dict(stay(amount="3000.00", **extra), benefit="outpatient")
    assert paid(medpolicy.compile(ADJUST, "t.med"), [c], **ADJUST_PARAMS) == [basic]


# ---- item classes with their own rates: the deductible comes from the general cost first ---------

CLASS_RATES = ("scheme employee\n  herbal rate 90%\n  material rate 70%\n"
               "  inpatient\n    primary level1 level2 level3 deductible 1000 rate 80%\n")


def test_the_deductible_is_taken_from_the_general_cost_then_from_each_class_in_turn():
    p = policy(CLASS_RATES)
    c = stay(items=[{"class": "A", "amount": "600.00"}, {"class": "herbal", "amount": "100.00"},
                    {"class": "material", "amount": "1000.00"}])
    # Deductible 1,000: 600 from class A (80% of 0), 100 from herbal (90% of 0), the last 300 from
    # material: 70% × (1,000 − 300) = 490.00.
    out = p.settle(c).to_json()
    assert (out["deductible"], out["paid"]["basic"]) == ("1000.00", "490.00")
    rates = [(s["line"], s["detail"]) for s in out["trace"] if s["step"] == "rate"]
    assert rates == [(4, "class herbal: 90%"), (5, "class material: 70%"), (7, "80%")]
    # A general cost above the deductible leaves the classes whole: 80% × (1,500 − 1,000)
    # + 90% × 100 + 70% × 1,000 = 400 + 90 + 700 = 1,190.00.
    c["items"][0]["amount"] = "1500.00"
    assert paid(p, [c]) == ["1190.00"]


def test_a_cap_used_to_the_fen_sends_the_next_stays_whole_eligible_cost_to_the_layer():
    # domain.md (Suihua employees): once the cap is reached, a later stay gets 90% of its whole
    # eligible cost from the major layer, no deductible. 13,500: (13,500 − 1,000) × 80% = 10,000,
    # the cap exactly; then 2,000: 90% × 2,000 = 1,800.00. Just short of the cap (13,499.99:
    # 9,999.992, 0.008 left), the next stay still has its deductible: the cap point is at
    # 1,000 + 0.008 / 80% = 1,000.01; basic the rounded increase to 10,000.00, 0.01; the layer
    # 90% × (2,000 − 1,000.01) = 899.991 → 899.99.
    p = policy("scheme employee\n  fund basic cap 10000 yearly\n  fund major on eligible above cap\n    rate 90%\n"
               "  inpatient\n    primary level1 level2 level3 deductible 1000 rate 80%\n")
    r = rows(p, [stay("a", date="2026-02-01", amount="13500.00"), stay("b", amount="2000.00")])
    assert [(x["deductible"], x["paid"]["basic"], x["paid"]["major"]) for x in r] == [
        ("1000.00", "10000.00", "0.00"), ("0.00", "0.00", "1800.00")]
    r = rows(p, [stay("a", date="2026-02-01", amount="13499.99"), stay("b", amount="2000.00")])
    assert [(x["deductible"], x["paid"]["basic"], x["paid"]["major"]) for x in r] == [
        ("1000.00", "9999.99", "0.00"), ("1000.00", "0.01", "899.99")]
