"""The syntax tree of a .med file: frozen attrs nodes, each carrying its source span.

Spans are excluded from equality, so two trees that say the same thing compare equal
wherever they were written. Meaning (what a name refers to, which clause wins) is not
decided here; the compiler does that.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Optional, Union

import attrs


@attrs.frozen
class Span:
    """Where a node was written: 1-based line and column, inclusive start, exclusive end."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NOSPAN = Span("<none>", 0, 0, 0, 0)


def _span() -> attrs.Attribute:
    return attrs.field(default=NOSPAN, eq=False, repr=False, kw_only=True)


# ---- values --------------------------------------------------------------------

@attrs.frozen
class Number:
    value: Decimal
    span: Span = _span()


@attrs.frozen
class Percent:
    """A share written as a percentage; `value` is the fraction (85% -> 0.85)."""

    value: Decimal
    span: Span = _span()


@attrs.frozen
class ParamRef:
    """A parameter a run supplies, optionally scaled: `avg_wage`, `6 × avg_wage`, `50% of avg_wage`."""

    name: str
    factor: Decimal = Decimal(1)
    span: Span = _span()


Amount = Union[Number, ParamRef]
Share = Union[Percent, ParamRef]


# ---- selectors -----------------------------------------------------------------

@attrs.frozen
class NameSelector:
    name: str
    negated: bool = False
    span: Span = _span()


@attrs.frozen
class MeasureSelector:
    """`age >= 70`: a number of the claim compared with a bound."""

    measure: str
    op: str
    bound: Decimal
    span: Span = _span()


@attrs.frozen
class DateSelector:
    """`from 2026-01-01` or `until 2025-12-31` (both inclusive)."""

    kind: str  # "from" | "until"
    date: str
    span: Span = _span()


@attrs.frozen
class FactDateSelector:
    """`birth-date <= 1955-12-31`: a dated fact of the claim's member compared with a date."""

    fact: str
    op: str
    date: str
    span: Span = _span()


@attrs.frozen
class AllSelector:
    """`hypertension and diabetes`: every one of the names must hold (several-valued kinds)."""

    names: tuple[str, ...]
    span: Span = _span()


Selector = Union[NameSelector, MeasureSelector, DateSelector, FactDateSelector, AllSelector]
SELECTOR_NODES = (NameSelector, MeasureSelector, DateSelector, FactDateSelector, AllSelector)


@attrs.frozen
class Entry:
    """One cell of an inline table: `retired 87%` in `rate employed 85% retired 87%`."""

    selectors: tuple[Selector, ...]
    value: Union[Number, Percent]
    span: Span = _span()


@attrs.frozen
class Band:
    """A rate up to a bound (`65% to 20000`); the last band has `upper=None` (`75% above`)."""

    share: Share
    upper: Optional[Amount]
    span: Span = _span()


# ---- settings ------------------------------------------------------------------

@attrs.frozen
class Deductible:
    """`deductible 900`, `deductible level1 400 level2 600`, `deductible none`; in a layer,
    `threshold 25000 for inpatient outpatient` measures the burden of those benefits only."""

    value: Union[Amount, tuple[Entry, ...], None]  # None: no deductible
    benefits: tuple[str, ...] = ()
    span: Span = _span()


@attrs.frozen
class DeductibleFor:
    """`for inpatient outpatient` after a threshold (folded into its Deductible by the parser)."""

    benefits: tuple[str, ...]
    span: Span = _span()


@attrs.frozen
class DeductibleAdjust:
    """`deductible - 200` (retired), `deductible halved` (a layer threshold for groups)."""

    delta: Optional[Amount]  # signed; None when halved
    halved: bool = False
    span: Span = _span()


@attrs.frozen
class DeductibleYearly:
    """One deductible a year: each claim pays what is left of it (at the highest level used)."""

    span: Span = _span()


@attrs.frozen
class DeductibleRepeat:
    """`repeat - 200`: lowered by this much for each earlier stay in the year."""

    step: Amount
    span: Span = _span()


@attrs.frozen
class DeductibleFloor:
    floor: Amount
    span: Span = _span()


@attrs.frozen
class DeductibleNoneFrom:
    """`none from stay 3`: no deductible from the third stay of the year on."""

    stay: int
    span: Span = _span()


@attrs.frozen
class DeductibleReferral:
    """A referral upward pays the difference of the deductibles; downward, none."""

    span: Span = _span()


@attrs.frozen
class Rate:
    value: Union[Share, tuple[Band, ...], tuple[Entry, ...]]
    span: Span = _span()


@attrs.frozen
class RatePoints:
    """`rate + 5 points`: percentage points added to the rate."""

    points: Decimal
    span: Span = _span()


@attrs.frozen
class RateHalved:
    span: Span = _span()


@attrs.frozen
class RateAs:
    """`rate as level3 - 10 points`: the local rate of another level, adjusted."""

    level: str
    points: Decimal = Decimal(0)
    span: Span = _span()


@attrs.frozen
class Cap:
    amount: Amount
    period: str  # "year" | "day"
    shared_with: tuple[str, ...] = ()
    span: Span = _span()


@attrs.frozen
class CapAdjust:
    """`cap + 200`, `cap + 20% each-extra diseases`."""

    delta: Union[Amount, Percent]
    each_extra: Optional[str] = None
    span: Span = _span()


@attrs.frozen
class NoCap:
    span: Span = _span()


@attrs.frozen
class Limit:
    """限额: pays the actual cost up to the amount (per claim)."""

    value: Union[Amount, tuple[Entry, ...]]
    span: Span = _span()


@attrs.frozen
class Fixed:
    """定额: pays the amount (never more than the eligible cost)."""

    value: Union[Amount, tuple[Entry, ...]]
    span: Span = _span()


@attrs.frozen
class Ceiling:
    """限价: the part of an item's unit price (or daily price, for beds) above it is excluded."""

    amount: Amount
    daily: bool = False
    span: Span = _span()


@attrs.frozen
class Prepay:
    """个人先行自付: a share, or tiers by unit price (`10% to 500, ..., 50% above`)."""

    value: Union[Share, tuple[Band, ...]]
    span: Span = _span()


@attrs.frozen
class Terms:
    """`terms level3`: settled on the local terms of another level."""

    level: str
    span: Span = _span()


@attrs.frozen
class AsBenefit:
    """`as inpatient`: settled on the terms of another benefit (视同住院); with `stay`, the claim
    also counts as a stay of that benefit (for repeat-stay deductibles)."""

    benefit: str
    stay: bool = False
    span: Span = _span()


@attrs.frozen
class PaidBy:
    fund: str
    span: Span = _span()


@attrs.frozen
class AllowanceDays:
    days: int
    span: Span = _span()


@attrs.frozen
class AllowanceAdjust:
    days: int  # signed
    each_extra: Optional[str] = None
    span: Span = _span()


@attrs.frozen
class NotCovered:
    span: Span = _span()


Setting = Union[
    Deductible, DeductibleAdjust, DeductibleYearly, DeductibleRepeat, DeductibleFloor,
    DeductibleNoneFrom, DeductibleReferral, Rate, RatePoints, RateHalved, RateAs, Cap,
    CapAdjust, NoCap, Limit, Fixed, Ceiling, Prepay, Terms, AsBenefit, PaidBy,
    AllowanceDays, AllowanceAdjust, NotCovered,
]


# ---- structure -----------------------------------------------------------------

@attrs.frozen
class Line:
    """A clause; with `children`, the head of a block that scopes them."""

    selectors: tuple[Selector, ...]
    settings: tuple[Setting, ...]
    cite: Optional[str] = None
    exception: bool = False
    children: tuple["Line", ...] = ()
    span: Span = _span()


@attrs.frozen
class FundBase:
    """What a layer pays on: `burden`, `above-cap` or `remaining`."""

    kind: str
    including_prepay: bool = False
    including_first_share: bool = False
    excluding_above_cap: tuple[str, ...] = ()  # benefits whose cost above their own cap is not burden
    above_deductible: bool = False
    benefits: tuple[str, ...] = ()
    span: Span = _span()


@attrs.frozen
class FundBlock:
    name: str
    base: Optional[FundBase]
    settings: tuple[Setting, ...]
    cite: Optional[str] = None
    children: tuple[Line, ...] = ()
    span: Span = _span()


@attrs.frozen
class Scheme:
    name: str
    items: tuple[Union[FundBlock, Line], ...]
    cite: Optional[str] = None
    span: Span = _span()


@attrs.frozen
class PolicyHeader:
    title: str
    region: Optional[str] = None
    effective_from: Optional[str] = None
    effective_to: Optional[str] = None
    cite: Optional[str] = None
    span: Span = _span()


@attrs.frozen
class Use:
    name: str
    span: Span = _span()


@attrs.frozen
class Parameter:
    """`parameter NAME "description" default VALUE from "source"` (the default is optional)."""
    name: str
    description: Optional[str] = None
    default: Optional[Decimal] = None        # a percentage as its share (60% -> 0.6)
    source: Optional[str] = None             # who sets the default (a statistics bulletin, a notice)
    written: Optional[str] = None            # the default as printed (`60000`, `10%`, `6万`)
    span: Span = _span()


@attrs.frozen
class OutOfScope:
    """Articles of the regulation the policy does not encode, and the reason (`out-of-scope`)."""
    articles: tuple[str, ...]
    reason: str
    span: Span = _span()


@attrs.frozen
class DefineEntry:
    name: str
    aliases: tuple[str, ...]
    description: Optional[str] = None
    span: Span = _span()
    condition: tuple = ()   # `define cohort`: the selectors after `when`


@attrs.frozen
class Define:
    """Vocabulary: `define level` followed by its names and their Chinese aliases."""

    kind: str
    description: Optional[str]
    entries: tuple[DefineEntry, ...]
    span: Span = _span()


Item = Union[PolicyHeader, Use, Parameter, OutOfScope, Define, Scheme]


@attrs.frozen
class Module:
    """One parsed .med file."""

    file: str
    items: tuple[Item, ...]
    span: Span = _span()
