"""The rules, without a server: the same cases as the Rust service's unit tests."""

import json

import pytest

from bazaar_currency import pages
from bazaar_currency.money import (
    I64_MAX,
    Amount,
    Currency,
    MoneyError,
    MoneyException,
    Rate,
    convert,
    parse_code,
)
from bazaar_currency.table import RateTable, TableError


def currency(code: str, minor_units: int, per_usd: str) -> Currency:
    rate = Rate.parse(per_usd)
    assert rate is not None
    return Currency(code, code, code, minor_units, rate)


USD = currency("USD", 2, "1")


def parts(units: int, nanos: int) -> Amount:
    return Amount.from_parts(units, nanos)


def error_of(call) -> MoneyError:  # type: ignore[no-untyped-def]
    with pytest.raises(MoneyException) as raised:
        call()
    return raised.value.error


def test_codes_are_three_upper_case_letters() -> None:
    assert parse_code("EUR") == "EUR"
    for bad in ["", "eur", "EU", "EURO", "E1R", "ÉUR"]:
        assert parse_code(bad) is None, bad


def test_parts_are_validated() -> None:
    assert error_of(lambda: Amount.from_parts(1, -1)) == MoneyError.SIGN_MISMATCH
    assert error_of(lambda: Amount.from_parts(-1, 1)) == MoneyError.SIGN_MISMATCH
    assert error_of(lambda: Amount.from_parts(0, 1_000_000_000)) == MoneyError.NANOS_OUT_OF_RANGE
    assert error_of(lambda: Amount.from_parts(0, -1_000_000_000)) == MoneyError.NANOS_OUT_OF_RANGE
    assert parts(0, -5).nanos == -5
    assert parts(-3, -5).to_parts() == (-3, -5)
    assert parts(I64_MAX, 999_999_999).to_parts() == (I64_MAX, 999_999_999)


def test_rates_parse_exactly() -> None:
    assert Rate.parse("1") == Rate(1_000_000_000)
    assert Rate.parse("0.9213") == Rate(921_300_000)
    assert Rate.parse("151.42").to_decimal_string() == "151.42"  # type: ignore[union-attr]
    assert Rate.parse("0.000000001") == Rate(1)
    for bad in ["", "0", "0.0", "-1", "1.", ".5", "1e3", "0.0000000001", "1,5", "abc", "１", "+1"]:
        assert Rate.parse(bad) is None, bad


def test_same_currency_is_identity_at_its_precision() -> None:
    assert convert(parts(12, 340_000_000), USD, USD) == parts(12, 340_000_000)


def test_converts_and_rounds_to_the_target_minor_unit() -> None:
    # 10.00 USD x 0.9213 = 9.213 EUR -> 9.21
    assert convert(parts(10, 0), USD, currency("EUR", 2, "0.9213")) == parts(9, 210_000_000)
    # 1.99 USD x 151.42 = 301.3258 JPY -> 301
    assert convert(parts(1, 990_000_000), USD, currency("JPY", 0, "151.42")) == parts(301, 0)
    # 12.34 USD x 0.3075 = 3.79455 KWD -> 3.795 (above half)
    assert convert(parts(12, 340_000_000), USD, currency("KWD", 3, "0.3075")) == parts(3, 795_000_000)


def test_ties_round_to_even() -> None:
    half = currency("XHF", 2, "0.5")
    assert convert(parts(0, 10_000_000), USD, half) == parts(0, 0)
    assert convert(parts(0, 30_000_000), USD, half) == parts(0, 20_000_000)
    assert convert(parts(0, 50_000_000), USD, half) == parts(0, 20_000_000)
    assert convert(parts(0, 70_000_000), USD, half) == parts(0, 40_000_000)
    assert convert(parts(0, -30_000_000), USD, half) == parts(0, -20_000_000)
    assert convert(parts(0, -50_000_000), USD, half) == parts(0, -20_000_000)


def test_cross_rates_go_through_the_dollar_exactly() -> None:
    eur, gbp = currency("EUR", 2, "0.8"), currency("GBP", 2, "0.6")
    assert convert(parts(1, 0), eur, gbp) == parts(0, 750_000_000)
    assert convert(parts(1, 0), gbp, eur) == parts(1, 330_000_000)


def test_overflow_is_an_error_not_a_wrap() -> None:
    vnd = currency("VND", 0, "26000")
    assert error_of(lambda: convert(parts(I64_MAX, 0), USD, vnd)) == MoneyError.OVERFLOW
    assert convert(parts(1_000_000_000, 0), USD, vnd).nanos > 0
    # Where 128-bit arithmetic would overflow in the Rust service, this one refuses too,
    # even though Python could compute the (representable) result.
    big = currency("BIG", 0, "999999999999999999")
    assert error_of(lambda: convert(parts(I64_MAX, 0), big, big)) == MoneyError.OVERFLOW


def test_the_shipped_table_loads() -> None:
    table = RateTable.load()
    assert len(table) >= 30
    assert len(table.date) == 10
    assert any(c.minor_units == 0 for c in table)
    assert any(c.minor_units == 3 for c in table)
    codes = [c.code for c in table]
    assert codes == sorted(codes)


def test_bad_tables_are_refused() -> None:
    def table(*rows: dict) -> str:
        return json.dumps({"date": "2026-01-01", "base": "USD", "currencies": list(rows)})

    usd = {"code": "USD", "name": "Dollar", "minor_units": 2, "per_usd": "1", "symbol": "$"}
    eur = {"code": "EUR", "name": "Euro", "minor_units": 2, "per_usd": "0.9", "symbol": "E"}
    for bad in [
        table(eur),
        table(usd, {**eur, "per_usd": "-0.9"}),
        table(usd, usd),
        table(usd, {**eur, "symbol": ""}),
        table(usd, {**eur, "minor_units": 5}),
        table(usd, {**eur, "minor_units": -1}),
        table(usd, {**eur, "code": "eur"}),
        "not json",
    ]:
        with pytest.raises(TableError):
            RateTable.from_json(bad)
    assert len(RateTable.from_json(table(usd, eur))) == 2


def test_page_tokens_match_the_rust_format() -> None:
    # The same token the Rust chassis issues for ListCurrencies after "EUR".
    print_ = pages.fingerprint(["currencies"])
    token = pages.encode(print_, "EUR")
    assert token.startswith("v1.")
    assert bytes.fromhex(token[3:]).decode() == f"{print_:016x}:EUR"
    assert pages.decode(token, print_) == "EUR"
    assert pages.decode("", print_) is None
    for bad in ["x", "v1.", "v1.zz", "v1.abc", "v2.00", "v1.3a3a", "v1. 1", "v1.é0"]:
        with pytest.raises(ValueError):
            pages.decode(bad, print_)
    with pytest.raises(ValueError):
        pages.decode(token, pages.fingerprint(["other"]))


def test_fingerprint_is_fnv1a_with_separators() -> None:
    # FNV-1a of no parts is the offset basis; of [""] one round over the 0xff separator.
    assert pages.fingerprint([]) == 0xCBF29CE484222325
    assert pages.fingerprint([""]) == ((0xCBF29CE484222325 ^ 0xFF) * 0x100000001B3) % 2**64
