"""The gRPC face of the currency service: requests in, the rules of `money` applied,
responses out. Parsing happens here, once; every bad field is reported, not only the first.
"""

from __future__ import annotations

import logging

import grpc

from bazaar_client.generated.bazaar.currency.v1 import currency_pb2 as pb
from bazaar_client.generated.bazaar.currency.v1 import currency_pb2_grpc
from bazaar_client.generated.bazaar.type.v1 import money_pb2
from bazaar_currency import errors, pages
from bazaar_currency.money import (
    Amount,
    Currency,
    MoneyError,
    MoneyException,
    convert,
    parse_code,
)
from bazaar_currency.table import RateTable

log = logging.getLogger("bazaar_currency.api")

#: Default and largest page of ListCurrencies, as the contract documents.
DEFAULT_PAGE = 50
MAX_PAGE = 200
#: What a page token of ListCurrencies is bound to (the Rust service uses the same).
PAGE_PRINT = pages.fingerprint(["currencies"])

MALFORMED_CODE = "must be a three-letter ISO 4217 code in upper case, for example USD"
MISSING = "is required"


def code_violation(code: str) -> str:
    """What is wrong with a code `parse_code` refused, worded as the contract's services say it."""
    return MISSING if code == "" else MALFORMED_CODE
CURRENCY_TYPE = "bazaar.currency.v1.Currency"

_MONEY_FIELDS = {
    MoneyError.NANOS_OUT_OF_RANGE: "amount.nanos",
    MoneyError.SIGN_MISMATCH: "amount.units",
    MoneyError.OVERFLOW: "amount",
}


def _money_violation(error: MoneyError) -> tuple[str, str]:
    return (_MONEY_FIELDS[error], error.value)


def _currency_to_pb(currency: Currency) -> pb.Currency:
    return pb.Currency(
        code=currency.code,
        display_name=currency.name,
        symbol=currency.symbol,
        minor_unit_digits=currency.minor_units,
        units_per_usd=currency.per_usd.to_decimal_string(),
    )


class CurrencyApi(currency_pb2_grpc.CurrencyServiceServicer):
    """`bazaar.currency.v1.CurrencyService`, answering from one immutable rate table."""

    def __init__(self, table: RateTable) -> None:
        self._table = table

    def _supported(self, field: str, code: str) -> tuple[Currency | None, tuple[str, str] | None]:
        """The supported currency `code`, or a violation of `field`."""
        if parse_code(code) is None:
            return None, (field, code_violation(code))
        currency = self._table.get(code)
        if currency is None:
            return None, (field, f"{code} is not a supported currency")
        return currency, None

    async def _answer(self, context: grpc.aio.ServicerContext, method: str, work):  # type: ignore[no-untyped-def]
        try:
            return work()
        except errors.ServiceError as error:
            log.info("%s refused: %s", method, error.status.details)
            await context.abort_with_status(error.status)

    async def ListCurrencies(self, request: pb.ListCurrenciesRequest, context: grpc.aio.ServicerContext) -> pb.ListCurrenciesResponse:
        def work() -> pb.ListCurrenciesResponse:
            violations: list[tuple[str, str]] = []
            page = pages.parse_request(
                request.page_size, request.page_token, PAGE_PRINT, DEFAULT_PAGE, MAX_PAGE, violations
            )
            if page is None:
                raise errors.invalid_argument(violations)
            after = page.position
            chosen = [c for c in self._table if after is None or c.code > after][: page.size + 1]
            next_token = ""
            if len(chosen) > page.size:
                chosen = chosen[: page.size]
                if chosen:
                    next_token = pages.encode(PAGE_PRINT, chosen[-1].code)
            return pb.ListCurrenciesResponse(
                currencies=[_currency_to_pb(c) for c in chosen],
                next_page_token=next_token,
                rates_date=self._table.date,
            )

        return await self._answer(context, "ListCurrencies", work)

    async def GetCurrency(self, request: pb.GetCurrencyRequest, context: grpc.aio.ServicerContext) -> pb.GetCurrencyResponse:
        def work() -> pb.GetCurrencyResponse:
            if parse_code(request.code) is None:
                raise errors.invalid_argument([("code", code_violation(request.code))])
            currency = self._table.get(request.code)
            if currency is None:
                raise errors.not_found(CURRENCY_TYPE, request.code)
            return pb.GetCurrencyResponse(currency=_currency_to_pb(currency), rates_date=self._table.date)

        return await self._answer(context, "GetCurrency", work)

    async def Convert(self, request: pb.ConvertRequest, context: grpc.aio.ServicerContext) -> pb.ConvertResponse:
        def work() -> pb.ConvertResponse:
            violations: list[tuple[str, str]] = []
            source = amount = None
            if not request.HasField("amount"):
                violations.append(("amount", MISSING))
            else:
                money = request.amount
                source, violation = self._supported("amount.currency_code", money.currency_code)
                if violation:
                    violations.append(violation)
                try:
                    amount = Amount.from_parts(money.units, money.nanos)
                except MoneyException as error:
                    violations.append(_money_violation(error.error))
            target, violation = self._supported("to_currency_code", request.to_currency_code)
            if violation:
                violations.append(violation)
            if source is None or amount is None or target is None:
                raise errors.invalid_argument(violations)
            try:
                units, nanos = convert(amount, source, target).to_parts()
            except MoneyException as error:
                raise errors.invalid_argument([_money_violation(error.error)]) from error
            return pb.ConvertResponse(
                converted=money_pb2.Money(currency_code=target.code, units=units, nanos=nanos),
                rates_date=self._table.date,
            )

        return await self._answer(context, "Convert", work)
