from bazaar_client.generated.bazaar.type.v1 import money_pb2 as _money_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Currency(_message.Message):
    __slots__ = ("code", "display_name", "symbol", "minor_unit_digits", "units_per_usd")
    CODE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    MINOR_UNIT_DIGITS_FIELD_NUMBER: _ClassVar[int]
    UNITS_PER_USD_FIELD_NUMBER: _ClassVar[int]
    code: str
    display_name: str
    symbol: str
    minor_unit_digits: int
    units_per_usd: str
    def __init__(self, code: _Optional[str] = ..., display_name: _Optional[str] = ..., symbol: _Optional[str] = ..., minor_unit_digits: _Optional[int] = ..., units_per_usd: _Optional[str] = ...) -> None: ...

class ListCurrenciesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCurrenciesResponse(_message.Message):
    __slots__ = ("currencies", "next_page_token", "rates_date")
    CURRENCIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RATES_DATE_FIELD_NUMBER: _ClassVar[int]
    currencies: _containers.RepeatedCompositeFieldContainer[Currency]
    next_page_token: str
    rates_date: str
    def __init__(self, currencies: _Optional[_Iterable[_Union[Currency, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., rates_date: _Optional[str] = ...) -> None: ...

class GetCurrencyRequest(_message.Message):
    __slots__ = ("code",)
    CODE_FIELD_NUMBER: _ClassVar[int]
    code: str
    def __init__(self, code: _Optional[str] = ...) -> None: ...

class GetCurrencyResponse(_message.Message):
    __slots__ = ("currency", "rates_date")
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    RATES_DATE_FIELD_NUMBER: _ClassVar[int]
    currency: Currency
    rates_date: str
    def __init__(self, currency: _Optional[_Union[Currency, _Mapping]] = ..., rates_date: _Optional[str] = ...) -> None: ...

class ConvertRequest(_message.Message):
    __slots__ = ("amount", "to_currency_code")
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TO_CURRENCY_CODE_FIELD_NUMBER: _ClassVar[int]
    amount: _money_pb2.Money
    to_currency_code: str
    def __init__(self, amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., to_currency_code: _Optional[str] = ...) -> None: ...

class ConvertResponse(_message.Message):
    __slots__ = ("converted", "rates_date")
    CONVERTED_FIELD_NUMBER: _ClassVar[int]
    RATES_DATE_FIELD_NUMBER: _ClassVar[int]
    converted: _money_pb2.Money
    rates_date: str
    def __init__(self, converted: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., rates_date: _Optional[str] = ...) -> None: ...
