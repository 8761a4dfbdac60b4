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

import operator
from decimal import (ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, DivisionByZero, Inexact,
                     InvalidOperation, Overflow)
from fractions import Fraction
from math import gcd

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
    """The forward and reflected methods of `Exact` for an operation on (numerator,
    denominator) pairs: a `Decimal` or `int` operand is taken exactly, and the answer stays an
    `Exact`. (Module functions rather than ones in the class body, so tools that wrap
    functions, like mutmut, can import the module.)"""

    def forward(a, b):
        rb = _ratio(b)
        return NotImplemented if rb is None else op(a._numerator, a._denominator, *rb)

    def reverse(b, a):
        ra = _ratio(a)
        return NotImplemented if ra is None else op(*ra, b._numerator, b._denominator)

    return forward, reverse


def _comparison(op):
    """An ordering of `Exact` against a Decimal, int or rational, on integers."""

    def compare(a, b):
        rb = _ratio(b)
        return op(Fraction(a), b) if rb is None else op(a._numerator * rb[1], rb[0] * a._denominator)

    return compare


def _add(n1, d1, n2, d2):
    return _exact(n1 + n2, d1) if d1 == d2 else _exact(n1 * d2 + n2 * d1, d1 * d2)


def _sub(n1, d1, n2, d2):
    return _exact(n1 - n2, d1) if d1 == d2 else _exact(n1 * d2 - n2 * d1, d1 * d2)


def _mul(n1, d1, n2, d2):
    return _exact(n1 * n2, d1 * d2)


def _div(n1, d1, n2, d2):
    return _exact(n1 * d2, d1 * n2)


class Exact(Fraction):
    """A rational amount from a division that does not terminate in decimals. Arithmetic with
    `Decimal`, `int` or another `Exact` gives an `Exact`; comparisons work both ways.

    The operators work on the integer numerator and denominator directly (a Decimal gives its
    own with `as_integer_ratio`): `Fraction`'s generic operators convert a Decimal through
    the numeric tower, several times slower, and once a year's cumulative holds an `Exact`
    every later claim of the year adds to it."""

    __slots__ = ()

    __add__, __radd__ = _operators(_add)
    __sub__, __rsub__ = _operators(_sub)
    __mul__, __rmul__ = _operators(_mul)
    __truediv__, __rtruediv__ = _operators(_div)

    __lt__ = _comparison(operator.lt)
    __le__ = _comparison(operator.le)
    __gt__ = _comparison(operator.gt)
    __ge__ = _comparison(operator.ge)

    def __neg__(self):
        return _exact(-self._numerator, self._denominator)

    def __abs__(self):
        return _exact(abs(self._numerator), self._denominator)

    def __repr__(self) -> str:
        return f"Exact({self._numerator}, {self._denominator})"


def _ratio(x):
    """(numerator, denominator) of a Decimal, int or rational; None for anything else."""
    cls = x.__class__
    if cls is Decimal:
        return x.as_integer_ratio()
    if cls is Exact:
        return x._numerator, x._denominator
    if cls is int:
        return x, 1
    if isinstance(x, Fraction):
        return x.numerator, x.denominator
    return None


_new = object.__new__


def _exact(n: int, d: int) -> Exact:
    """The Exact n/d in lowest terms (d != 0), built without Fraction's generic constructor."""
    if d < 0:
        n, d = -n, -d
    elif d == 0:
        raise ZeroDivisionError(f"Exact({n}, 0)")
    g = gcd(n, d)
    if g != 1:
        n //= g
        d //= g
    e = _new(Exact)
    e._numerator, e._denominator = n, d
    return e


def div(a, b):
    """a / b exactly: a Decimal when the quotient terminates within CONTEXT, else an `Exact`."""
    ra, rb = _ratio(a), _ratio(b)
    if ra is None or rb is None or not rb[0]:  # not a number the engine forms; or a division by zero
        return CONTEXT.divide(a, b) if a.__class__ is Decimal and b.__class__ is Decimal \
            else Exact(Fraction(a) / Fraction(b))
    q = _exact(ra[0] * rb[1], ra[1] * rb[0])
    d = q._denominator
    d >>= (d & -d).bit_length() - 1  # the factors 2 and 5 of the denominator are what decimals hold
    while d % 5 == 0:
        d //= 5
    if d == 1 and (a.__class__ is Decimal or a.__class__ is int) and (b.__class__ is Decimal or b.__class__ is int):
        try:
            return CONTEXT.divide(Decimal(a), Decimal(b))
        except Inexact:  # more digits than the context holds
            pass
    return q


# For callers that round many amounts inline: `to_fen(x, CENT)` is q(x) for a Decimal x (the
# context's own method: faster than `x.quantize` with keyword or rounding arguments).
to_fen = _to_fen = _ROUNDING.quantize


def q(x) -> Decimal:
    """Round half-up to the fen (the only rounding money ever gets), in the library's context."""
    cls = x.__class__
    if cls is Decimal:
        return _to_fen(x, CENT)
    if cls is Exact or isinstance(x, Fraction):
        n, d = x.numerator * 100, x.denominator
        fen = (2 * n + d) // (2 * d) if n >= 0 else -((-2 * n + d) // (2 * d))
        return Decimal(fen).scaleb(-2, context=_ROUNDING)
    return q(Decimal(x))


def as_decimal(x):
    """A value for the output: an `Exact` is shown rounded to the fen (it is not money paid)."""
    return q(x) if isinstance(x, Fraction) else x
