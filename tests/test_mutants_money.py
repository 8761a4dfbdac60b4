"""Exact money (money.py) where the mutation run found it untested: `Exact` with equal
denominators, division of and by an `Exact`, an `int` or plain `Fraction` operand, every
comparison on both sides of a value, operands `Exact` does not know, and division by zero in
the library's context. Each expected value is written out by hand."""

from __future__ import annotations

import decimal
import operator
from decimal import Decimal
from fractions import Fraction

import pytest

from medpolicy.money import Exact, div, q

THIRD = div(Decimal(1), Decimal(3))  # 1/3 does not terminate: an Exact


def exact(n: int, d: int) -> tuple:
    """What an Exact is, compared without its own operators: its class and lowest terms."""
    return Exact, n, d


def parts(x) -> tuple:
    return x.__class__, x.numerator, x.denominator


def test_a_third_is_an_exact_in_lowest_terms():
    assert parts(THIRD) == exact(1, 3)
    assert repr(div(Decimal(2), Decimal(6))) == "Exact(1, 3)"


def test_sums_and_differences_of_equal_denominators():
    # 1/3 + 1/3 = 2/3; 2/3 - 1/3 = 1/3; 1/3 - 2/3 = -1/3; 2/3 + 1/3 = 1 (reduced: 1/1)
    two_thirds = THIRD + THIRD
    assert parts(two_thirds) == exact(2, 3)
    assert parts(two_thirds - THIRD) == exact(1, 3)
    assert parts(THIRD - two_thirds) == exact(-1, 3)
    assert parts(two_thirds + THIRD) == exact(1, 1)
    # 5/6 - 1/6 = 4/6 = 2/3: the equal-denominator difference is reduced too
    assert parts(div(Decimal(5), Decimal(6)) - div(Decimal(1), Decimal(6))) == exact(2, 3)


def test_sums_and_differences_of_unequal_denominators():
    # 1/3 + 1/6 = 1/2; 1/3 - 1/6 = 1/6; 1/3 + 0.25 = 7/12; 0.25 - 1/3 = -1/12
    sixth = div(Decimal(1), Decimal(6))
    assert parts(THIRD + sixth) == exact(1, 2)
    assert parts(THIRD - sixth) == exact(1, 6)
    assert parts(THIRD + Decimal("0.25")) == exact(7, 12)
    assert parts(Decimal("0.25") - THIRD) == exact(-1, 12)


def test_int_and_fraction_operands_are_taken_exactly():
    # 1/3 + 1 = 4/3; 1 + 1/3 = 4/3; 2 - 1/3 = 5/3; 1/3 * 3 = 1; 1/3 + Fraction(1, 6) = 1/2
    assert parts(THIRD + 1) == exact(4, 3)
    assert parts(1 + THIRD) == exact(4, 3)
    assert parts(2 - THIRD) == exact(5, 3)
    assert parts(THIRD * 3) == exact(1, 1)
    assert parts(THIRD + Fraction(1, 6)) == exact(1, 2)
    assert parts(Fraction(1, 6) + THIRD) == exact(1, 2)


def test_division_of_and_by_an_exact():
    # (1/3) / 2 = 1/6; 2 / (1/3) = 6; (1/3) / (2/3) = 1/2; (1/3) / 0.5 = 2/3; 1 / (1/3) = 3
    assert parts(THIRD / Decimal(2)) == exact(1, 6)
    assert parts(Decimal(2) / THIRD) == exact(6, 1)
    assert parts(THIRD / (THIRD + THIRD)) == exact(1, 2)
    assert parts(THIRD / Decimal("0.5")) == exact(2, 3)
    assert parts(1 / THIRD) == exact(3, 1)
    assert q(Decimal("1000") / (THIRD * 7)) == Decimal("428.57")  # 3000/7 = 428.571...


# (left, right, <, <=, >, >=): every comparison on both sides of a value and on it, with
# Decimal, int, Exact and float operands, so that a factor on the wrong side shows.
COMPARISONS = [
    (THIRD, Decimal("0.25"), False, False, True, True),   # 1/3 > 1/4: 4 > 3
    (THIRD, Decimal("0.5"), True, True, False, False),     # 1/3 < 1/2: 2 < 3
    (THIRD, Decimal("0.34"), True, True, False, False),    # 100 < 102
    (THIRD, Decimal("0.33"), False, False, True, True),
    (THIRD, 1, True, True, False, False),
    (THIRD, 0, False, False, True, True),
    (THIRD, div(Decimal(2), Decimal(6)), False, True, False, True),  # equal
    (THIRD, div(Decimal(1), Decimal(6)), False, False, True, True),
    (div(Decimal(7), Decimal(3)), Decimal("2.5"), True, True, False, False),  # 14 < 15
    (div(Decimal(7), Decimal(3)), 2, False, False, True, True),
    (THIRD, 0.5, True, True, False, False),                # a float: compared as a Fraction
    (THIRD, 0.25, False, False, True, True),
]


@pytest.mark.parametrize("left, right, lt, le, gt, ge", COMPARISONS)
def test_comparisons(left, right, lt, le, gt, ge):
    assert (left < right, left <= right, left > right, left >= right) == (lt, le, gt, ge)
    # and from the other side: Python reflects the comparison onto the Exact
    assert (right > left, right >= left, right < left, right <= left) == (lt, le, gt, ge)


class Ledger:
    """An operand `Exact` does not know, with its own reflected operators."""

    def __radd__(self, other):
        return ("radd", other)

    def __rsub__(self, other):
        return ("rsub", other)

    def __rmul__(self, other):
        return ("rmul", other)

    def __rtruediv__(self, other):
        return ("rtruediv", other)


@pytest.mark.parametrize("op, name", [(operator.add, "radd"), (operator.sub, "rsub"), (operator.mul, "rmul"),
                                      (operator.truediv, "rtruediv")])
def test_an_unknown_operand_answers_for_itself(op, name):
    # Exact returns NotImplemented, so Python asks the other operand.
    assert op(THIRD, Ledger()) == (name, THIRD)


@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv])
def test_an_operand_nobody_knows_is_a_type_error(op):
    with pytest.raises(TypeError, match="unsupported operand"):
        op(THIRD, object())
    with pytest.raises(TypeError, match="unsupported operand"):
        op(object(), THIRD)


def test_division_by_zero_raises_in_the_library_context():
    # Decimal over Decimal: the context's own signals, not a bare ZeroDivisionError
    with pytest.raises(decimal.DivisionByZero):
        div(Decimal(1), Decimal(0))
    with pytest.raises(decimal.InvalidOperation):
        div(Decimal(0), Decimal(0))
    with pytest.raises(ZeroDivisionError):
        div(THIRD, 0)


def test_a_float_operand_is_divided_exactly_as_a_rational():
    # The engine never forms a float; div still takes one, as the binary fraction it is.
    assert parts(div(Decimal(1), 0.5)) == exact(2, 1)
    assert parts(div(0.5, Decimal(2))) == exact(1, 4)
    assert parts(div(0.1, 1)) == exact(3602879701896397, 36028797018963968)  # 0.1 as a double


@pytest.mark.parametrize("a, b, text", [
    (Decimal(1), Decimal(5), "0.2"),                 # a factor 5 in the denominator
    (Decimal(3), Decimal(40), "0.075"),              # 2^3 * 5
    (Decimal(1), Decimal(625), "0.0016"),            # 5^4: every factor 5 taken out
    (1, 5 ** 40, "1.099511627776E-28"),              # 5^40: beyond a float's exact integers
    (Decimal("8000"), Decimal("0.8"), "1.000E+4"),     # the context's own digits: 10,000
])
def test_a_quotient_that_terminates_is_a_decimal(a, b, text):
    got = div(a, b)
    assert (got.__class__, str(got)) == (Decimal, text)


def test_an_exact_operand_keeps_an_exact_answer_even_when_it_terminates():
    # (1/3) / (1/6) = 2 and 1 / (1/3) = 3: rationals in, a rational out
    assert parts(div(THIRD, div(Decimal(1), Decimal(6)))) == exact(2, 1)
    assert parts(div(Decimal(1), THIRD)) == exact(3, 1)
    assert parts(div(THIRD, Decimal("0.5"))) == exact(2, 3)


def test_a_negative_divisor_gives_the_sign_to_the_numerator():
    # (1/3) / -2 = -1/6; (1/3) / -0.5 = -2/3; -1/3 from either side
    assert parts(THIRD / Decimal(-2)) == exact(-1, 6)
    assert parts(THIRD / Decimal("-0.5")) == exact(-2, 3)
    assert parts(Decimal(-1) / (THIRD * 3)) == exact(-1, 1)


@pytest.mark.parametrize("zero", [0, Decimal(0), Decimal("0.00"), THIRD - THIRD])
def test_an_exact_divided_by_zero_says_so(zero):
    with pytest.raises(ZeroDivisionError, match=r"^Exact\(1, 0\)$"):
        THIRD / zero


# ---- q: every kind of number it is given is rounded half-up to the fen ---------------------------

@pytest.mark.parametrize("x, text", [
    (7, "7.00"),                    # an int: read as a Decimal
    ("2.345", "2.35"),              # text: read as a Decimal, the tie rounded up
    (Fraction(1, 3), "0.33"),       # a plain Fraction, not an Exact: 33.33… fen
    (Fraction(1, 200), "0.01"),     # half a fen exactly: up
    (Fraction(-1, 200), "-0.01"),   # and below zero, away from zero
    (THIRD * 2, "0.67"),            # an Exact: 66.66… fen
])
def test_q_rounds_any_number_half_up_to_the_fen(x, text):
    r = q(x)
    assert (r.__class__, str(r)) == (Decimal, text)
