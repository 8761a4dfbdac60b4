"""The engine against an independent reference (tests/reference/), to the fen, over generated years.

The reference settles a subset of each city's rules by hand from the regulation, with exact
fractions. The generator puts persons in two schemes in one year, across New Year, on the
first and last days of the effective period and of every dated clause, and sets amounts so
that a year lands exactly on (and one unit either side of) every threshold, band edge and cap
of the subset — the figures read from the regulation in the reference modules, never from
the compiled policy. Every deductible and every fund's payment must match; no yearly total
may pass its limit.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import medpolicy
from reference import CITIES
from reference.common import ZERO, fen_text, settle_run, year_of
from fractions import Fraction as F

ROOT = Path(__file__).resolve().parent.parent
POLICIES = {name: medpolicy.load(ROOT / "policies" / f"{name}.med") for name in CITIES}
PARAMS = {
    "ziyang": {"avg_wage": "60000"},
    "shaoxing": {"b_prepay": "10%", "aid_rate_cat2": "85%", "aid_cap_cat2": "100000", "aid_rate_cat3": "75%",
                 "aid_cap_cat3": "100000", "aid_rate_cat4": "70%", "aid_cap_cat4": "100000"},
}

# Amounts are drawn to the fen (the unit of the generator's amounts, in fen).
UNIT = 1

# A mutation run (scripts/mutation.py) sets MED_REFERENCE_EXAMPLES lower: it runs this file per mutant.
RUNS = settings(max_examples=int(os.environ.get("MED_REFERENCE_EXAMPLES", "30")), deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _limits(mod, params):
    return mod.limits(params) if hasattr(mod, "limits") else mod.LIMITS


def _edges(mod, params):
    return mod.edges(params) if hasattr(mod, "edges") else mod.EDGES


def _measure(year, name: str) -> F:
    if name in ("basic", "major"):
        return year.exact.get(name, ZERO)
    if name == "burden":
        return year.burden
    return year.eligible.get("inpatient" if name == "eligible" else name, ZERO)


# ---- the generator -------------------------------------------------------------------

def _dates(mod) -> list[dt.date]:
    """The days every run draws from: the effective period's first and last days, each New
    Year's Eve and Day in reach, the dated clauses' days, and a few others."""
    start = dt.date.fromisoformat(mod.EFFECTIVE[0])
    end = dt.date.fromisoformat(mod.EFFECTIVE[1]) if mod.EFFECTIVE[1] else start + dt.timedelta(days=3 * 365)
    days = {start, end, start + dt.timedelta(days=1), end - dt.timedelta(days=1)}
    for y in range(start.year, end.year + 1):
        days |= {dt.date(y, 12, 31), dt.date(y, 1, 1), dt.date(y, 6, 15)}
    days |= {dt.date.fromisoformat(d) for d in mod.DATED}
    return sorted(d for d in days if start <= d <= end)


def _amount(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


@st.composite
def years(draw, city: str) -> list[dict]:
    mod = CITIES[city]
    params = PARAMS.get(city, {})
    unit = UNIT
    days = _dates(mod)
    # Runs stay within two consecutive years, so a person's claims meet in a year.
    first = draw(st.sampled_from(days))
    days = [d for d in days if first <= d and d.year <= first.year + 1]
    persons = []
    for i in range(draw(st.integers(1, 3))):
        schemes = draw(st.lists(st.sampled_from(mod.SCHEMES), min_size=1, max_size=2, unique=True))
        persons.append({
            "person": f"p{i}", "schemes": schemes,
            "status": {s: draw(st.sampled_from(["employed", "retired"])) for s in schemes},
            "groups": draw(st.lists(st.sampled_from(mod.GROUPS), max_size=1)) if mod.GROUPS else [],
            "age": draw(st.sampled_from([45, 69, 70, 79, 80])),
            "history": draw(st.booleans()),
            "supplement": draw(st.booleans()),
        })
    slots = sorted(draw(st.lists(st.tuples(st.sampled_from(days), st.integers(0, len(persons) - 1)),
                                 min_size=1, max_size=8)))
    claims: list[dict] = []
    for n, (day, who) in enumerate(slots):
        p = persons[who]
        scheme = draw(st.sampled_from(p["schemes"]))
        benefit = "inpatient"
        if city == "binzhou" and draw(st.booleans()):
            benefit = "outpatient"
        claim = {"id": f"c{n}", "person": p["person"], "date": day.isoformat(), "scheme": scheme,
                 "benefit": benefit, "place": "local",
                 "facility": {"level": draw(st.sampled_from(mod.LEVELS))}}
        if scheme == "employee":
            claim["status"] = p["status"][scheme]
        if p["groups"]:
            claim["groups"] = list(p["groups"])
        if city == "ziyang":
            claim["age"] = p["age"]
            if p["supplement"]:
                claim["enrolment"] = {"supplement": True}
            if draw(st.booleans()):
                claim["facility"]["grade"] = "A"
        if city == "binzhou":
            claim["history"] = {"outpatient_last_year": p["history"]}
            if draw(st.integers(0, 3)) == 0:
                claim["facility"]["type"] = "tcm"
        items = [{"class": "A", "amount": "0.00"}]
        if draw(st.booleans()):
            items.append({"class": "B", "amount": _amount(unit * draw(st.integers(0, 30000)))})
        if draw(st.integers(0, 3)) == 0:
            items.append({"class": "excluded", "amount": _amount(unit * draw(st.integers(0, 5000)))})
        claim["items"] = items
        edges = [e for e in _edges(mod, params) if e[0] == scheme]
        how = draw(st.sampled_from(["small", "large", "edge", "edge"] if edges else ["small", "large"]))
        if how == "small":
            items[0]["amount"] = _amount(unit * draw(st.integers(0, 5000)))
        elif how == "large":
            items[0]["amount"] = _amount(unit * draw(st.integers(0, 400000)))
        else:
            _, measure, edge = draw(st.sampled_from(edges))
            side = draw(st.sampled_from([-1, 0, 0, 1]))
            items[0]["amount"] = _amount(max(_hitting(mod, params, claims, claim, measure, edge, unit) + side * unit, 0))
        claims.append(claim)
    return claims


def _hitting(mod, params, earlier: list, claim: dict, measure: str, edge: F, unit: int) -> int:
    """The smallest class-A amount (in fen, a multiple of `unit`) with which this claim takes
    its year's `measure` to `edge` or beyond, by bisection on the reference; 0 if none can."""
    key = (claim["person"], claim["scheme"], year_of(claim))
    mine = [c for c in earlier if (c["person"], c["scheme"], year_of(c)) == key]

    def reached(fen: int) -> bool:
        trial = dict(claim, items=[dict(claim["items"][0], amount=_amount(fen))] + claim["items"][1:])
        _, yrs = settle_run(mine + [trial], params, mod.settle)
        return _measure(yrs[key], measure) >= edge

    lo, hi = 0, 2_000_000 * 100 // unit
    if reached(0) or not reached(hi * unit):
        return 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if reached(mid * unit) else (mid, hi)
    return hi * unit


# ---- the comparison --------------------------------------------------------------------

def _compare(city: str, claims: list[dict]) -> None:
    mod, policy, params = CITIES[city], POLICIES[city], PARAMS.get(city, {})
    expected, _ = settle_run(claims, params, mod.settle)
    rows = {r["id"]: r for r in (x.to_json(trace=False) for x in policy.settle_all(claims, params=params))}
    wrong = []
    for claim in claims:
        row, want = rows[claim["id"]], expected[claim["id"]]
        assert "error" not in row, (claim, row)
        got = {"deductible": row["deductible"], **{f"paid.{k}": v for k, v in row["paid"].items()}}
        exp = {"deductible": fen_text(want["deductible"]),
               **{f"paid.{k}": fen_text(want["paid"].get(k, ZERO)) for k in row["paid"]}}
        assert set(want["paid"]) <= set(row["paid"]), (want, row)
        for field in exp:
            if got[field] != exp[field]:
                wrong.append(f"{claim['id']} {field}: reference {exp[field]}, engine {got[field]}")
    assert not wrong, "\n".join(wrong + [f"claims: {claims}"])
    _within_limits(city, claims, rows)


def _within_limits(city: str, claims: list[dict], rows: dict) -> None:
    """No yearly total passes its limit, the limits as the regulation prints them."""
    mod, params = CITIES[city], PARAMS.get(city, {})
    totals: dict = defaultdict(Decimal)
    outpatient: dict = defaultdict(Decimal)
    for c in claims:
        key = (c["person"], c["scheme"], year_of(c))
        for fund, amount in rows[c["id"]]["paid"].items():
            totals[key + (fund,)] += Decimal(amount)
        if c["benefit"] == "outpatient":
            outpatient[key] += Decimal(rows[c["id"]]["paid"]["basic"])
    groups = {c["person"]: set(c.get("groups", ())) for c in claims}
    for scheme, fund, limit, exempt in _limits(mod, params):
        for (person, s, year, f), total in totals.items():
            if (s, f) == (scheme, fund) and not groups[person] & set(exempt):
                assert total <= Decimal(fen_text(limit)), f"{person} {scheme} {year}: {fund} paid {total}, limit {limit}"
    if city == "binzhou":
        for (person, _, year), total in outpatient.items():
            rate = 70 if any(c["person"] == person and c["history"]["outpatient_last_year"] is False
                             for c in claims) else 50
            assert total <= mod.OUTPATIENT_PAID_LIMIT[rate], f"{person} {year}: outpatient paid {total}"


@pytest.mark.parametrize("city", sorted(CITIES))
@RUNS
@given(data=st.data())
def test_engine_matches_the_reference(city, data):
    _compare(city, data.draw(years(city)))
