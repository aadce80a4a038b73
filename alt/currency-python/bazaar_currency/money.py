"""Money as the contract carries it, whole units plus nanos, and exact conversion.

An amount is one integer count of nanos (10^-9 of a unit), so no float ever touches a
price. A rate is "how many units of a currency one US dollar buys", held exactly as nanos
too. Converting `a` from currency X to Y is `a * rate(Y) / rate(X)`, a rational number,
rounded once, half to even, to Y's minor unit (cents, yen, fils, ...).

Python integers never overflow, but the Rust service computes in 128-bit integers and
refuses (as "too large") what does not fit them; the same bounds are checked here at the
same steps, so both answer every input alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

NANOS_PER_UNIT = 1_000_000_000
NANOS_MAX = 999_999_999
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
I128_MAX = 2**127 - 1
U128_MAX = 2**128 - 1

_CODE = re.compile(r"[A-Z]{3}")
_DIGITS = re.compile(r"[0-9]*")


class MoneyError(Enum):
    """Why an amount cannot be taken or converted; the value is the message clients see."""

    NANOS_OUT_OF_RANGE = "must be between -999999999 and 999999999"
    SIGN_MISMATCH = "units and nanos must have the same sign"
    OVERFLOW = "the converted amount is too large to represent"


class MoneyException(Exception):
    """Carries a `MoneyError` out of the arithmetic."""

    def __init__(self, error: MoneyError) -> None:
        super().__init__(error.value)
        self.error = error


def parse_code(text: str) -> str | None:
    """An ISO 4217 code: exactly three letters A-Z, else None. Whether the table knows it
    is a separate question."""
    return text if _CODE.fullmatch(text) else None


def _truncating_divmod(value: int, divisor: int) -> tuple[int, int]:
    """Division that rounds toward zero, with a remainder of the dividend's sign (as Rust's
    integer `/` and `%`), unlike Python's flooring `divmod`."""
    quotient = abs(value) // divisor
    remainder = abs(value) % divisor
    return (-quotient, -remainder) if value < 0 else (quotient, remainder)


@dataclass(frozen=True, order=True)
class Amount:
    """An exact amount of some currency, in nanos."""

    nanos: int

    @classmethod
    def from_parts(cls, units: int, nanos: int) -> Amount:
        """Parses the contract's representation: nanos in range, same sign as units."""
        if not -NANOS_MAX <= nanos <= NANOS_MAX:
            raise MoneyException(MoneyError.NANOS_OUT_OF_RANGE)
        if (units > 0 and nanos < 0) or (units < 0 and nanos > 0):
            raise MoneyException(MoneyError.SIGN_MISMATCH)
        return cls(units * NANOS_PER_UNIT + nanos)

    def to_parts(self) -> tuple[int, int]:
        """Back to `(units, nanos)`, both with the amount's sign; units must fit int64."""
        units, nanos = _truncating_divmod(self.nanos, NANOS_PER_UNIT)
        if not I64_MIN <= units <= I64_MAX:
            raise MoneyException(MoneyError.OVERFLOW)
        return units, nanos


@dataclass(frozen=True)
class Rate:
    """Units of a currency one US dollar buys, exactly, in nanos. Always > 0."""

    nanos: int

    @classmethod
    def parse(cls, text: str) -> Rate | None:
        """A plain decimal ("0.9213", "151.42"): ASCII digits, at most one point with at
        least one digit on each side, at most nine fractional digits, at most 18 whole
        digits, greater than zero. None otherwise."""
        whole, point, fraction = text.partition(".")
        if (
            not whole
            or len(fraction) > 9
            or not _DIGITS.fullmatch(whole)
            or not _DIGITS.fullmatch(fraction)
            or (point and not fraction)
            or len(whole) > 18
        ):
            return None
        nanos = int(whole) * NANOS_PER_UNIT + int(fraction.ljust(9, "0") or "0")
        return cls(nanos) if nanos > 0 else None

    def to_decimal_string(self) -> str:
        """The rate as a plain decimal with no trailing zeros ("0.9213", "1")."""
        whole, fraction = divmod(self.nanos, NANOS_PER_UNIT)
        if fraction == 0:
            return str(whole)
        return f"{whole}.{fraction:09d}".rstrip("0")


@dataclass(frozen=True)
class Currency:
    """One currency of the table."""

    code: str
    name: str
    symbol: str
    minor_units: int
    per_usd: Rate

    @property
    def quantum(self) -> int:
        """The smallest amount of this currency, in nanos (10 000 000 for cents)."""
        return 10 ** (9 - min(self.minor_units, 9))


def _divide_half_even(numerator: int, denominator: int) -> int:
    """`numerator / denominator` (both >= 0) to the nearest integer, ties to the even one."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        return quotient + 1
    return quotient


def convert(amount: Amount, source: Currency, target: Currency) -> Amount:
    """`amount` of `source` in `target`, rounded half to even to `target`'s minor unit."""
    numerator = abs(amount.nanos) * target.per_usd.nanos
    denominator = source.per_usd.nanos * target.quantum
    if numerator > U128_MAX or denominator > U128_MAX:
        raise MoneyException(MoneyError.OVERFLOW)
    nanos = _divide_half_even(numerator, denominator) * target.quantum
    if nanos > I128_MAX:
        raise MoneyException(MoneyError.OVERFLOW)
    converted = Amount(-nanos if amount.nanos < 0 else nanos)
    converted.to_parts()  # refuse what the contract's int64 units cannot carry
    return converted
