"""What every city's reference shares: exact money, half-up rounding, bands, a member's year.

Written from domain.md ("How one claim is settled", "Money and accumulation"), never from
the package: nothing here imports medpolicy. Amounts are `fractions.Fraction` yuan, so no
division or percentage loses anything; a fund's payment on a claim is rounded half-up to
the fen once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction as F
from typing import Callable, Optional

ZERO = F(0)


def yuan(text) -> F:
    """A claim's decimal amount ("1234.56") as an exact fraction of a yuan."""
    return F(str(text))


def pct(n) -> F:
    """n percent (`pct(85)` is 0.85; `pct("22.5")` is 0.225)."""
    return F(str(n)) / 100


def half_up(x: F) -> F:
    """Round to the fen, half a fen up (domain.md: each fund's payment, once per claim)."""
    return F(math.floor(x * 100 + F(1, 2)), 100)


def fen_text(x: F) -> str:
    """A rounded amount as the engine prints it: "1234.50"."""
    cents = x * 100
    assert cents.denominator == 1, x
    n = int(cents)
    return f"{'-' if n < 0 else ''}{abs(n) // 100}.{abs(n) % 100:02d}"


def in_bands(lo: F, hi: F, bands: list[tuple[Optional[F], F]]) -> F:
    """What a banded rate pays on the slice [lo, hi] of a cumulative amount. `bands` is
    [(upper edge or None for "above", rate)], edges measured on the cumulative itself
    (domain.md: "1.2万元以上3万元（含）以下部分报销60%" pays 60% of the part in 12,000-30,000)."""
    paid, start = ZERO, ZERO
    for upper, rate in bands:
        top = upper if upper is not None else max(hi, start)
        a, b = max(lo, start), min(hi, top)
        if b > a:
            paid += (b - a) * rate
        start = top
    return paid


def above(threshold: F, bands: list[tuple[Optional[F], F]]) -> list[tuple[Optional[F], F]]:
    """Bands that pay nothing below `threshold` (a layer's 起付标准)."""
    return [(threshold, ZERO)] + [(u, r) for u, r in bands if u is None or u > threshold]


@dataclass
class Year:
    """One member's year in one scheme (domain.md: a year is kept per scheme)."""
    stays: int = 0                      # inpatient stays so far
    stays_at: dict = field(default_factory=dict)   # stays so far by level
    deductibles: F = ZERO               # inpatient deductible paid so far (yearly deductibles)
    deductible_level: F = ZERO          # the yearly deductible owed so far (Shaoxing: highest level)
    eligible: dict = field(default_factory=dict)   # cumulative eligible cost by benefit
    burden: F = ZERO                    # cumulative personal burden (second layers)
    exact: dict = field(default_factory=dict)      # each fund's exact cumulative payment
    paid: dict = field(default_factory=dict)       # each fund's rounded cumulative payment

    def pay(self, fund: str, amount: F, cumulative: bool) -> F:
        """Record a fund's exact payment on a claim; returns the rounded payment. A fund with
        a yearly limit or bands pays the increase of its rounded exact cumulative, so the
        year's total is the rounded exact total and never passes a limit; others round once."""
        before = self.exact.get(fund, ZERO)
        self.exact[fund] = before + amount
        paid = half_up(before + amount) - half_up(before) if cumulative else half_up(amount)
        self.paid[fund] = self.paid.get(fund, ZERO) + paid
        return paid


@dataclass
class Bill:
    """Steps 1-4 of a claim: total, excluded, pre-payment, eligible."""
    total: F
    excluded: F
    prepay: F
    eligible: F


def bill(claim: dict, b_share: F = ZERO) -> Bill:
    """Class `excluded` goes to the patient; a class-B item pre-pays `b_share` of itself,
    rounded to the fen (an amount the patient pays); everything else is eligible."""
    total = excluded = prepay = ZERO
    for item in claim["items"]:
        amount = yuan(item["amount"])
        total += amount
        if item["class"] == "excluded":
            excluded += amount
        elif item["class"] == "B":
            prepay += half_up(amount * b_share)
    return Bill(total, excluded, prepay, total - excluded - prepay)


def year_of(claim: dict) -> int:
    return int(claim["date"][:4])


def settle_run(claims: list[dict], params: dict, settle_claim: Callable) -> tuple[dict, dict]:
    """Settle a run claim by claim in date order (ties keep input order), each person's year
    per scheme. `settle_claim(claim, year, params)` returns {"deductible": F, "paid": {fund: F}}
    with rounded amounts. Returns (expected by claim id, the years by (person, scheme, year))."""
    years: dict = {}
    out: dict = {}
    for claim in sorted(claims, key=lambda c: c["date"]):
        key = (claim["person"], claim["scheme"], year_of(claim))
        year = years.setdefault(key, Year())
        out[claim["id"]] = settle_claim(claim, year, params)
    return out, years
