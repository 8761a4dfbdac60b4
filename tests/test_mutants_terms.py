"""Tests that kill the mutation run's survivors in terms.py (docs/reliability.md, "Mutation
testing"): `terms local` and `as` redirections (the place and area they set, the redirecting
clause's own settings on top, the clauses they use), `rate as` chains and their errors,
adjustments of a lower rank, an excluded item class, and a tie between events. Every amount,
line and message is worked out by hand from the policy text."""

from __future__ import annotations

from pathlib import Path

import pytest

import medpolicy
from city_years import CITIES, generated_year
from medpolicy.coverage import exercised_lines
from medpolicy.errors import ClaimError
from medpolicy.terms import resolve
from small_policies import policy


def claim(items=None, **extra):
    c = {"id": "c1", "person": "p", "date": "2026-03-01", "scheme": "employee", "status": "employed",
         "benefit": "inpatient", "place": "local", "facility": {"level": "level2"},
         "items": items or [{"class": "A", "amount": "1000.00"}]}
    c.update(extra)
    return c


def trace(result, *names) -> list:
    """The trace's steps of these names as (step, amount, line, detail)."""
    return [(s["step"], s.get("amount"), s.get("line"), s.get("detail"))
            for s in result.to_json()["trace"] if s["step"] in names]


# ---- benefit_terms: `terms local` sets the place and the area ----------------------------------

def test_terms_local_settles_a_remote_resident_as_local_care_within_the_region():
    # A registered resident living elsewhere in the province (line 6) gets the local terms:
    # the clause about local care within the region (line 5), 60% of 1,000.
    p = policy("scheme employee\n  outpatient deductible 0\n    local within-region rate 60%\n"
               "    remote-resident in-province terms local\n")
    r = p.settle(claim(benefit="outpatient", place="remote-resident", area="in-province"))
    assert r["paid"] == {"basic": "600.00"}
    assert trace(r, "terms", "rate") == [("terms", None, 6, "settled on the local terms"), ("rate", None, 5, "60%")]


# ---- benefit_terms: the redirecting clause's own settings stay on top ---------------------------

AS_INPATIENT = ("scheme employee\n  inpatient\n    primary level1 level2 level3 deductible 1000 rate 80%\n"
                "  day-surgery as inpatient deductible 200 rate + 5 points cap 300 yearly\n")


def test_the_as_clauses_own_deductible_points_and_cap_apply_and_cite_it():
    # Day surgery settled as inpatient (line 6): its own deductible 200 (not the stay's 1,000),
    # 80% + 5 points = 85% of 800 = 680, capped at its own 300 a year; every step cites line 6
    # where line 6 set it, the rate line 5 where the 80% comes from.
    r = policy(AS_INPATIENT).settle(claim(benefit="day-surgery"))
    assert r["paid"] == {"basic": "300.00"}
    assert trace(r, "terms", "deductible", "rate", "basic cap") == [
        ("terms", None, 6, "settled as inpatient"), ("deductible", "200.00", 6, None),
        ("rate", None, 5, "85% (80% + 5 points)"), ("basic cap", "300.00", 6, "yearly cap 300.00 leaves 300.00")]


# ---- benefit_terms: the clauses a redirected claim uses (med test --coverage) ------------------

REDIRECTS = ("scheme employee\n  inpatient deductible 0\n    primary level1 level2 level3 rate 80%\n"
             "    hypertension terms level3\n"
             "  outpatient deductible 0 rate 50%\n    local hypertension as inpatient\n    remote-resident terms local\n"
             "  day-surgery deductible 0 rate 40%\n    diabetes as inpatient\n")


def test_a_redirected_claim_does_not_follow_a_second_redirection():
    # Day surgery with diabetes goes as inpatient (line 11); among the inpatient clauses, line 6
    # would send a hypertension claim on to level 3's terms: not followed (80% at its own level
    # 2, line 5), and line 6 is not among the clauses the claim used.
    p = policy(REDIRECTS)
    c = claim(benefit="day-surgery", conditions=["diabetes", "hypertension"])
    r = p.settle(c)
    assert r["paid"] == {"basic": "800.00"}
    assert trace(r, "terms", "rate") == [("terms", None, 11, "settled as inpatient"), ("rate", None, 5, "80%")]
    assert exercised_lines(p, [c], {}) == {4, 5, 11}
    # A remote resident's outpatient care goes on local terms (line 9), where line 8 would send
    # local hypertension care on as inpatient: not followed, 50% (line 7); line 8 is not used.
    c = claim(benefit="outpatient", place="remote-resident", conditions=["hypertension"])
    r = p.settle(c)
    assert r["paid"] == {"basic": "500.00"}
    assert exercised_lines(p, [c], {}) == {7, 9}


def test_both_redirecting_clauses_are_used():
    # Ziyang 第二十条（二）: a level-1 day surgery is redirected by `as inpatient` (line 7, with its
    # own deductible 100) and by `terms level3` (line 8): level 3's inpatient rate 70% (line 6),
    # (1,000 - 100) x 70% = 630. The trace names line 7; the clauses used are lines 6, 7 and 8.
    p = policy("scheme employee\n  inpatient deductible 0\n    primary level1 level2 rate 80%\n    level3 rate 70%\n"
               "  day-surgery as inpatient deductible 100\n    level1 terms level3\n")
    c = claim(benefit="day-surgery", facility={"level": "level1"})
    r = p.settle(c)
    assert r["paid"] == {"basic": "630.00"}
    assert trace(r, "terms", "deductible", "rate") == [
        ("terms", None, 7, "settled as inpatient, on the local terms of level3"), ("deductible", "100.00", 7, None),
        ("rate", None, 6, "70%")]
    assert exercised_lines(p, [c], {}) == {6, 7, 8}


# ---- rate_spec: `rate as LEVEL` reads the local rate of that level, with this clause's own -------

RATE_AS = ("scheme employee\n  inpatient deductible 0\n    primary level1 level2 rate 60%\n    level3 rate 70%\n"
           "    local level3 rate 85%\n    exception remote-self rate as level3 - 20 points\n"
           "    exception remote-self low-income rate halved\n")


@pytest.mark.parametrize("groups, paid, note", [
    # Level 3's LOCAL rate is 85% (line 7, not line 6's 70% for care elsewhere): 85 - 20 = 65%.
    ([], "650.00", "65% (85% - 20 points)"),
    # The remote-self low-income claim's own halving (line 9) on top: (85 - 20) / 2 = 32.5%.
    (["low-income"], "325.00", "32.5% (85% - 20 points, halved)"),
])
def test_rate_as_a_level_takes_its_local_rate_and_the_claims_own_adjustments(groups, paid, note):
    r = policy(RATE_AS).settle(claim(place="remote-self", groups=groups))
    assert r["paid"] == {"basic": paid}
    assert trace(r, "rate") == [("rate", None, 8, note)]


CYCLE = ("scheme employee\n  inpatient deductible 0\n    primary level3 rate 60%\n"
         "    level1 rate as level2\n    level2 rate as level1\n")


@pytest.mark.parametrize("level, message", [
    # level1 -> level2 -> level1 -> level2 -> level1: four references are followed, the fifth
    # (level 1's, line 6) is refused.
    ("level1", "`rate as level2` (line 6) finds no rate at level2"),
    ("level2", "`rate as level1` (line 7) finds no rate at level1"),
])
def test_rate_as_references_that_go_round_end_in_an_error_naming_the_clause(level, message):
    r = policy(CYCLE).settle(claim(facility={"level": level}))
    assert r["error"] == {"code": "no-clause", "field": None, "message": message}


def test_a_chain_of_rate_as_references_reaches_the_rate_at_its_end():
    # primary -> level1 -> level2 -> level3 (90%), each taking off 10 points: 90 - 30 = 60%.
    p = policy("scheme employee\n  inpatient deductible 0\n    level3 rate 90%\n"
               "    level2 rate as level3 - 10 points\n    level1 rate as level2 - 10 points\n"
               "    primary rate as level1 - 10 points\n")
    r = p.settle(claim(facility={"level": "primary"}))
    assert r["paid"] == {"basic": "600.00"}
    assert trace(r, "rate") == [("rate", None, 8, "60% (90% - 30 points)")]


# ---- resolve: an adjustment of a lower rank does not touch an exception's value ----------------

def test_a_general_none_from_stay_does_not_touch_an_exceptions_deductible():
    # Everyone pays 1,000 (line 5), none from the second stay (line 6); veteran workers pay 300
    # (line 7, an exception): the general `none from stay 2` is below the exception's rank, so
    # their second stay still owes 300; other members' second stay owes none.
    p = policy("scheme employee\n  inpatient\n    primary level1 level2 level3 deductible 1000 rate 80%\n"
               "    deductible none from stay 2\n    exception veteran-worker deductible 300\n")
    vet = [claim(id=f"v{i}", date=f"2026-0{i}-01", groups=["veteran-worker"]) for i in (1, 2)]
    other = [claim(id=f"o{i}", person="q", date=f"2026-0{i}-01") for i in (1, 2)]
    assert [r["deductible"] for r in p.settle_all(vet + other)] == ["300.00", "300.00", "1000.00", "0.00"]


# ---- matches: an item class excluded by `not` ----------------------------------------------------

def test_a_prepayment_for_every_class_of_a_block_but_one():
    # Of classes A, B and herbal, all but herbal pre-pay 10% (line 6): A 1,000 -> 100; herbal
    # 500 -> none. Eligible 1,400, 80% = 1,120.
    p = policy("scheme employee\n  inpatient deductible 0\n    primary level1 level2 level3 rate 80%\n"
               "  A B herbal\n    not herbal prepay 10%\n")
    r = p.settle(claim([{"class": "A", "amount": "1000.00"}, {"class": "herbal", "amount": "500.00"}]))
    assert (r["prepay"], r["eligible"], r["paid"]) == ("100.00", "1400.00", {"basic": "1120.00"})


def test_a_class_excluded_on_a_line_naming_no_class_is_about_every_other_class():
    # `not herbal prepay 10%` with no class named (line 6): every class but herbal pre-pays 10%,
    # as in a block of classes. A 1,000 -> 100, B 200 -> 20, herbal 500 -> none; eligible
    # 1,700 - 120 = 1,580, 80% = 1,264. `not herbal ceiling 100` (line 6): A 1,000 in units of 250
    # is 150 a unit over, 600 excluded; herbal 500 at 250 a unit has no ceiling; eligible 900, 80%
    # = 720. (Until 2026-12-06 both made claim-level clauses: a first share of 10% of every class,
    # herbal included, and no ceiling at all.)
    head = "scheme employee\n  inpatient deductible 0\n    primary level1 level2 level3 rate 80%\n"
    items = [{"class": "A", "amount": "1000.00"}, {"class": "B", "amount": "200.00"},
             {"class": "herbal", "amount": "500.00"}]
    r = policy(head + "  not herbal prepay 10%\n").settle(claim(items))
    assert (r["prepay"], r["eligible"], r["paid"]) == ("120.00", "1580.00", {"basic": "1264.00"})
    priced = [{**items[0], "unit_price": "250.00"}, {**items[2], "unit_price": "250.00"}]
    r = policy(head + "  not herbal ceiling 100\n").settle(claim(priced))
    assert (r["excluded"], r["eligible"], r["paid"]) == ("600.00", "900.00", {"basic": "720.00"})
    # A claim's setting on such a line is refused, as on any line about classes.
    with pytest.raises(medpolicy.MedError) as e:
        policy(head + "  not herbal deductible 100\n")
    assert [(d.span.line, d.span.column, d.message) for d in e.value.diagnostics] == [
        (6, 14, "a clause about item classes sets prepay, ceiling or rate, not deductible")]


def test_a_ceiling_for_beds_of_every_kind_but_one():
    # Beds other than isolation beds: at most 40 a day (line 5). A normal bed 300 for 3 days:
    # 180 over the ceiling of 120; an isolation bed 300 for 3 days: no ceiling. (Until
    # 2026-12-06 the excluded bed kind was looked up among the claim's facts: an internal error.)
    p = policy("scheme employee\n  inpatient deductible 0\n    primary level1 level2 level3 rate 80%\n"
               "  bed not isolation ceiling 40 daily\n")
    normal = p.settle(claim([{"class": "bed", "amount": "300.00", "days": 3, "kind": "normal"}]))
    assert (normal["excluded"], normal["eligible"], normal["paid"]) == ("180.00", "120.00", {"basic": "96.00"})
    isolation = p.settle(claim([{"class": "bed", "amount": "300.00", "days": 3, "kind": "isolation"}]))
    assert (isolation["excluded"], isolation["eligible"], isolation["paid"]) == ("0.00", "300.00", {"basic": "240.00"})


# ---- _winner: clauses that differ only by event and disagree ------------------------------------

def test_two_events_sent_to_different_benefits_are_ambiguous():
    # Delivery goes as inpatient (line 5), antenatal care as outpatient (line 6): a claim with
    # both events cannot be settled on both terms.
    p = policy("scheme employee\n  maternity deductible 0 rate 100%\n    delivery as inpatient\n"
               "    antenatal as outpatient\n"
               "  inpatient deductible 0 rate 90%\n  outpatient deductible 0 rate 50%\n")
    r = p.settle(claim(benefit="maternity", maternity=["delivery", "antenatal"]))
    assert r["error"] == {"code": "ambiguous", "field": None,
                          "message": "the clauses at lines 5, 6 all apply to this claim and disagree on as"}


# ---- a benefit's clauses (clauses.Clauses) -------------------------------------------------

def _picks(picks: dict) -> dict:
    return {q: (id(p.clause), id(p.setting), [(id(c), id(s)) for c, s in p.adjust]) for q, p in picks.items()}


def _outcome(clauses, facts):
    """What `resolve` picks, or the error it raises (two events done together whose clauses
    disagree: the same error either way)."""
    try:
        return _picks(resolve(clauses, facts))
    except ClaimError as e:
        return ("error", str(e))


@pytest.mark.parametrize("city", CITIES)
def test_the_clauses_a_benefit_looks_at_pick_what_all_the_clauses_pick(city):
    # `resolve` looks only at the clauses naming the claim's benefit or none (most name one):
    # every generated claim, and each on the terms of every other benefit (an `as`), gets the
    # same winners and adjustments from them as from all the scheme's clauses.
    p = medpolicy.load(Path(__file__).resolve().parent.parent / "policies" / f"{city}.med")
    benefits = sorted(p.compiled.vocabulary.names_of("benefit"))
    compared = 0
    for c in generated_year(p, 40, seed=29):
        try:
            facts = p._read(c)
        except ClaimError:
            continue
        scheme = p.compiled.schemes.get(facts.scheme)
        if scheme is None:
            continue
        for benefit in benefits:
            f = facts.replace(benefit=benefit)
            for clauses in (scheme.clauses, scheme.item_clauses):
                assert _outcome(clauses, f) == _outcome(tuple(clauses), f)
                compared += 1
        assert len(scheme.clauses.of_benefit(facts.benefit)) < len(scheme.clauses)
    assert compared > 100
