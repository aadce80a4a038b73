"""The dated rate table: the very file the Rust service ships (crates/currency/data/rates.json).

It is checked as strictly as the Rust service checks it (USD-based with USD at exactly 1,
valid codes, rates, symbols and minor units, no code twice): a table one implementation
refuses, the other refuses too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from bazaar_currency.money import NANOS_PER_UNIT, Currency, Rate, parse_code

#: The table of the Rust service, found from this file's place in the repository.
SHIPPED = Path(__file__).resolve().parents[3] / "crates" / "currency" / "data" / "rates.json"


class TableError(Exception):
    """The table cannot be used."""


class RateTable:
    """Every currency the service knows, ordered by code, and the date of the rates."""

    def __init__(self, date: str, currencies: dict[str, Currency]) -> None:
        self.date = date
        self._currencies = dict(sorted(currencies.items()))

    @classmethod
    def load(cls, path: Path = SHIPPED) -> RateTable:
        """Reads and checks the table at `path`."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise TableError(f"cannot read the rate table {path}: {error}") from error
        return cls.from_json(text)

    @classmethod
    def from_json(cls, text: str) -> RateTable:
        """Parses and checks a table."""
        try:
            document = json.loads(text)
            date, base, rows = document["date"], document["base"], document["currencies"]
            if not isinstance(date, str) or not isinstance(base, str) or not isinstance(rows, list):
                raise TypeError("date and base must be strings, currencies a list")
        except (ValueError, KeyError, TypeError) as error:
            raise TableError(f"the rate table is not valid JSON of the expected shape: {error}") from error
        if base != "USD":
            raise TableError("the rate table must be based on USD, with USD at rate 1")
        currencies: dict[str, Currency] = {}
        for row in rows:
            currency = _row(row)
            if currency.code in currencies:
                raise TableError(f"rate table row {currency.code!r}: listed twice")
            currencies[currency.code] = currency
        usd = currencies.get("USD")
        if usd is None or usd.per_usd.nanos != NANOS_PER_UNIT:
            raise TableError("the rate table must be based on USD, with USD at rate 1")
        return cls(date, currencies)

    def get(self, code: str) -> Currency | None:
        """A currency by (well-formed) code."""
        return self._currencies.get(code)

    def __iter__(self) -> Iterator[Currency]:
        return iter(self._currencies.values())

    def __len__(self) -> int:
        return len(self._currencies)


def _row(row: object) -> Currency:
    fields = {"code": str, "name": str, "minor_units": int, "per_usd": str, "symbol": str}
    if not isinstance(row, dict) or any(
        not isinstance(row.get(key), kind) or isinstance(row.get(key), bool)
        for key, kind in fields.items()
    ) or row["minor_units"] < 0:
        raise TableError(f"the rate table is not valid JSON of the expected shape: row {row!r}")
    code = row["code"]

    def problem(text: str) -> TableError:
        return TableError(f"rate table row {code!r}: {text}")

    if parse_code(code) is None:
        raise problem("not an ISO code")
    rate = Rate.parse(row["per_usd"])
    if rate is None:
        raise problem("bad per_usd")
    if not 1 <= len(row["symbol"]) <= 5:
        raise problem("symbol must be 1..=5 characters")
    if row["minor_units"] > 4:
        raise problem("minor_units above 4")
    return Currency(code, row["name"], row["symbol"], row["minor_units"], rate)
