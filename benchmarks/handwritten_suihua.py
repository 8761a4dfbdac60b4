"""Suihua's inpatient rules settled by hand, in plain Python: the yardstick for `med run`.

    python benchmarks/handwritten_suihua.py CLAIMS.jsonl > results.jsonl

What a programmer would write for one city without the language: the rules of
policies/suihua.med (绥化市医疗保险管理办法, seeds/000) for `inpatient` claims, both schemes
with both second layers, read from JSON lines and written as JSON lines with the fields of
`med run --no-trace`, in input order. Each person's claims settle in date order (ties in
input order) in a year kept per scheme (domain.md). Kept honest: money is Decimal, every
quotient exact (a cap point is a `Fraction`), and each fund's payment on a claim is rounded
half-up once, as the increase of its exactly-tracked yearly total. Claims outside this
scope (other benefits, flexible employment's waiting period) are not handled: the
benchmark's claims never have them.
"""

from __future__ import annotations

import json
import sys
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from fractions import Fraction

CTX = Context(prec=60, rounding=ROUND_HALF_UP)  # settle_file runs in it: every sum and product is exact
ZERO = Decimal(0)
CENT = Decimal("0.01")

# 第二十一条（一）: employees' inpatient deductible and rate (employed, retired) by level.
EMPLOYEE = {"primary": (300, 90, 95), "level1": (300, 90, 95), "level2": (600, 87, 90), "level3": (900, 85, 87)}
EMPLOYEE_BASIC_CAP = Decimal(120_000)    # 第二十一条
EMPLOYEE_MAJOR_RATE = Decimal("0.90")    # 第二十八条（二）: 90% above the cap point
EMPLOYEE_MAJOR_CAP = Decimal(300_000)
# 第二十三条（一）: residents' inpatient deductible and rate by level.
RESIDENT = {"primary": (100, 85), "level1": (300, 85), "level2": (500, 75), "level3": (800, 65)}
RESIDENT_BASIC_CAP = Decimal(100_000)    # 第二十三条
# 第二十九条（二）: critical-illness insurance on the year's personal burden, in bands.
RESIDENT_THRESHOLD = Decimal(15_000)
RESIDENT_BANDS = ((Decimal(20_000), Decimal("0.65")), (Decimal(50_000), Decimal("0.70")), (None, Decimal("0.75")))
RESIDENT_MAJOR_CAP = Decimal(300_000)
POOR = {"extreme-poverty", "low-income", "relapse-poverty"}  # threshold 7,500, +5 points, no cap
REFERRED = {"remote-referred", "remote-emergency"}


def q(x) -> Decimal:
    """Half-up to the fen; x is a Decimal or a Fraction, never negative here."""
    if isinstance(x, Fraction):
        fen = (x * 100 + Fraction(1, 2)).__floor__()
        return Decimal(fen).scaleb(-2)
    return x.quantize(CENT, context=CTX)


class Year:
    """One person's year in one scheme: exact running totals."""

    def __init__(self) -> None:
        self.basic = ZERO        # basic fund paid, exact
        self.major = ZERO        # second layer paid, exact (Decimal or Fraction)
        self.above_cap = ZERO    # employees: eligible cost above the cap point (Decimal or Fraction)
        self.burden = ZERO       # residents: eligible cost the basic fund left, exact


def employee_terms(claim: dict) -> tuple[Decimal, Decimal]:
    level, place = claim["facility"]["level"], claim.get("place", "local")
    retired = claim.get("status") == "retired"
    if "veteran-worker" in claim.get("groups", ()):  # 第二十一条（一）4, anywhere
        return ZERO, Decimal(90)
    amount, employed_rate, retired_rate = EMPLOYEE[level]
    rate = retired_rate if retired else employed_rate
    if place in REFERRED:  # 第二十一条（一）5: 900, the level-3 rate less 10 points
        _, e3, r3 = EMPLOYEE["level3"]
        return Decimal(900), Decimal((r3 if retired else e3) - 10)
    if place == "remote-self":  # less 20 points
        _, e3, r3 = EMPLOYEE["level3"]
        return Decimal(900), Decimal((r3 if retired else e3) - 20)
    return Decimal(amount), Decimal(rate)


def resident_terms(claim: dict) -> tuple[Decimal, Decimal]:
    level, place = claim["facility"]["level"], claim.get("place", "local")
    if "veteran-worker" in claim.get("groups", ()):
        # 第二十三条（一）5, anywhere: a veteran worker's terms hold out of the region too (the
        # policy's reading; the remote 18-point reduction leaves their 90% alone).
        return ZERO, Decimal(90)
    amount, rate = RESIDENT[level]
    if place in REFERRED:  # 第二十三条（一）6: 1,200, the level's rate less 18 points
        return Decimal(1200), Decimal(rate - 18)
    if place == "remote-self":  # 1,200, the level-3 rate less 28 points
        return Decimal(1200), Decimal(RESIDENT["level3"][1] - 28)
    return Decimal(amount), Decimal(rate)


def add(a, b):
    """a + b exactly: Decimal while both are, a Fraction once a cap point is involved."""
    if a.__class__ is Decimal and b.__class__ is Decimal:
        return a + b
    return Fraction(a) + Fraction(b)


def basic_layer(eligible: Decimal, deductible: Decimal, rate: Decimal, cap: Decimal, year: Year):
    """(payment exact, cost above the cap point, deductible): the basic fund pays rate × (eligible −
    deductible) until its yearly cap; the cap point is where the cap is reached."""
    room = cap - year.basic
    deductible = min(deductible, eligible)
    if room <= 0:  # reached on an earlier claim: the whole eligible cost lies above the cap point
        return ZERO, eligible, deductible
    share = rate / 100
    pay = (eligible - deductible) * share
    if pay <= room:
        return pay, ZERO, deductible
    # The cap point: the eligible cost at which `room` is used up, exactly (room / rate).
    return room, Fraction(eligible - deductible) - Fraction(room) / Fraction(share), deductible


def bands(burden, threshold: Decimal, points: Decimal):
    """What the bands pay on a cumulative burden (exact)."""
    total, low = ZERO, threshold
    for high, rate in RESIDENT_BANDS:
        if burden <= low:
            break
        top = burden if high is None or burden < high else high
        total += (top - low) * (rate + points)
        if high is None or burden < high:
            break
        low = high
    return total


def employee_major(year: Year, above) -> Decimal:
    """第二十八条（二）: 90% of the year's eligible cost above the cap point, up to 300,000."""
    year.above_cap = add(year.above_cap, above)
    rate = Fraction(EMPLOYEE_MAJOR_RATE) if year.above_cap.__class__ is Fraction else EMPLOYEE_MAJOR_RATE
    return min(year.above_cap * rate, EMPLOYEE_MAJOR_CAP)


def resident_major(year: Year, burden: Decimal, claim: dict) -> Decimal:
    """第二十九条（二）: the bands on the year's burden; the poor from 7,500, +5 points, no cap."""
    year.burden += burden
    if POOR & set(claim.get("groups", ())):
        return bands(year.burden, Decimal(7_500), Decimal("0.05"))
    return min(bands(year.burden, RESIDENT_THRESHOLD, ZERO), RESIDENT_MAJOR_CAP)


def settle(claim: dict, year: Year) -> dict:
    total = excluded = ZERO
    for item in claim["items"]:
        amount = Decimal(item["amount"])
        total += amount
        if item["class"] == "excluded":
            excluded += amount
    eligible = total - excluded
    employee = claim["scheme"] == "employee"
    deductible, rate = (employee_terms if employee else resident_terms)(claim)
    cap = EMPLOYEE_BASIC_CAP if employee else RESIDENT_BASIC_CAP
    basic, above, deductible = basic_layer(eligible, deductible, rate, cap, year)
    if employee and year.basic >= cap:
        # Once the basic cap is reached, a later stay gets 90% of its whole eligible cost from
        # the major layer, with no deductible (domain.md, Suihua readings).
        deductible = ZERO
    paid_basic = q(year.basic + basic) - q(year.basic)
    year.basic += basic
    major_before = year.major
    # The residents' burden is the eligible cost the basic fund left: what it did not pay, as paid.
    year.major = employee_major(year, above) if employee else resident_major(year, eligible - paid_basic, claim)
    paid_major = q(year.major) - q(major_before)
    paid = {"basic": str(paid_basic), "major": str(paid_major)}
    if employee:
        paid["maternity"] = "0.00"
    return {"id": claim["id"], "person": claim["person"], "year": int(claim["date"][:4]), "benefit": "inpatient",
            "total": str(q(total)), "excluded": str(q(excluded)), "prepay": "0.00", "eligible": str(q(eligible)),
            "deductible": str(q(deductible)), "paid": paid, "patient": str(q(total - paid_basic - paid_major))}


def settle_file(lines) -> list[str]:
    """JSON lines in, JSON lines out (input order)."""
    with localcontext(CTX):
        return _settle_all([json.loads(line) for line in lines if line.strip()])


def _settle_all(claims: list) -> list[str]:
    order = sorted(range(len(claims)), key=lambda i: (claims[i]["person"], claims[i]["date"], i))
    years: dict = {}
    rows: list = [None] * len(claims)
    for i in order:
        c = claims[i]
        key = (c["person"], c["scheme"], c["date"][:4])
        year = years.get(key)
        if year is None:
            year = years[key] = Year()
        rows[i] = json.dumps(settle(c, year), ensure_ascii=False)
    return rows


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        rows = settle_file(f)
    out = sys.stdout
    for row in rows:
        out.write(row + "\n")


if __name__ == "__main__":
    main()
