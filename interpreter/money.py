"""Exact money: the library's own decimal context, exact quotients, rounding to the fen.

Amounts are `Decimal`: sums and products of decimals are exact in `CONTEXT` (a high
precision, and `Inexact` trapped, so an operation that would round raises instead of
losing a digit silently). A rule that divides (a cap point `room / rate`, a proportional
price ceiling, wage × days / 30) calls `div`, which gives a `Decimal` when the quotient
terminates and an `Exact` rational otherwise; `Exact` mixes with `Decimal` in every
operation the engine uses and stays exact. Nothing is rounded until `q`, once per fund
and claim (domain.md, "Money and accumulation").

The engine runs inside `decimal.localcontext(CONTEXT)`, so a caller's context (say
`ROUND_FLOOR` with `prec=6`) never changes an amount; `q` passes the context explicitly
and may be called from anywhere.
"""

from __future__ import annotations

from decimal import (ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, DivisionByZero, Inexact,
                     InvalidOperation, Overflow)
from fractions import Fraction

# Amounts have at most 30 significant digits (claims.py keeps them within 10^±15), rates a few;
# 200 digits hold any product the settlement forms. Rounding never happens silently.
CONTEXT = Context(prec=200, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999,
                  traps=[InvalidOperation, DivisionByZero, Overflow, Inexact])

# Rounding to the fen is the one place a digit may go: the same context, `Inexact` not trapped.
_ROUNDING = Context(prec=200, rounding=ROUND_HALF_UP, Emax=999_999, Emin=-999_999,
                    traps=[InvalidOperation, DivisionByZero, Overflow])

# Reading run parameters and compiling: high precision, the caller's rounding never used.
CONVERTING = Context(prec=200, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999,
                     traps=[InvalidOperation, DivisionByZero, Overflow])

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")


def _operators(op):
    """The forward and reflected methods of `Exact` for a `Fraction` operator: a `Decimal`
    operand is taken exactly, and the answer stays an `Exact`. (A module function rather than
    one in the class body, so tools that wrap functions, like mutmut, can import the module.)"""

    def forward(a, b):
        if b.__class__ is Decimal:
            b = Fraction(b)
        r = op(a, b)
        return r if r is NotImplemented else Exact(r)

    def reverse(b, a):
        if a.__class__ is Decimal:
            a = Fraction(a)
        r = op(a, b)
        return r if r is NotImplemented else Exact(r)

    return forward, reverse


class Exact(Fraction):
    """A rational amount from a division that does not terminate in decimals. Arithmetic with
    `Decimal`, `int` or another `Exact` gives an `Exact`; comparisons work both ways."""

    __slots__ = ()

    __add__, __radd__ = _operators(Fraction.__add__)
    __sub__, __rsub__ = _operators(Fraction.__sub__)
    __mul__, __rmul__ = _operators(Fraction.__mul__)
    __truediv__, __rtruediv__ = _operators(Fraction.__truediv__)

    def __neg__(self):
        return Exact(-self.numerator, self.denominator)

    def __abs__(self):
        return Exact(abs(self.numerator), self.denominator)

    def __repr__(self) -> str:
        return f"Exact({self.numerator}, {self.denominator})"


def div(a, b):
    """a / b exactly: a Decimal when the quotient terminates within CONTEXT, else an `Exact`."""
    if a.__class__ is Decimal and b.__class__ is Decimal:
        try:
            return CONTEXT.divide(a, b)
        except Inexact:
            pass
    elif b.__class__ is int and a.__class__ is Decimal:
        try:
            return CONTEXT.divide(a, Decimal(b))
        except Inexact:
            pass
    return Exact(Fraction(a) / Fraction(b))


def q(x) -> Decimal:
    """Round half-up to the fen (the only rounding money ever gets), in the library's context."""
    cls = x.__class__
    if cls is Decimal:
        return x.quantize(CENT, ROUND_HALF_UP, _ROUNDING)
    if cls is Exact or isinstance(x, Fraction):
        n, d = x.numerator * 100, x.denominator
        fen = (2 * n + d) // (2 * d) if n >= 0 else -((-2 * n + d) // (2 * d))
        return Decimal(fen).scaleb(-2, context=_ROUNDING)
    return q(Decimal(x))


def as_decimal(x):
    """A value for the output: an `Exact` is shown rounded to the fen (it is not money paid)."""
    return q(x) if isinstance(x, Fraction) else x
