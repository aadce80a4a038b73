import datetime

from bazaar_client.generated.bazaar.type.v1 import money_pb2 as _money_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CardBrand(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CARD_BRAND_UNSPECIFIED: _ClassVar[CardBrand]
    CARD_BRAND_VISA: _ClassVar[CardBrand]
    CARD_BRAND_MASTERCARD: _ClassVar[CardBrand]
    CARD_BRAND_AMERICAN_EXPRESS: _ClassVar[CardBrand]
    CARD_BRAND_DISCOVER: _ClassVar[CardBrand]
    CARD_BRAND_OTHER: _ClassVar[CardBrand]

class ChargeStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHARGE_STATUS_UNSPECIFIED: _ClassVar[ChargeStatus]
    CHARGE_STATUS_SUCCEEDED: _ClassVar[ChargeStatus]
    CHARGE_STATUS_DECLINED: _ClassVar[ChargeStatus]
    CHARGE_STATUS_REFUNDED: _ClassVar[ChargeStatus]

class DeclineReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECLINE_REASON_UNSPECIFIED: _ClassVar[DeclineReason]
    DECLINE_REASON_GENERIC: _ClassVar[DeclineReason]
    DECLINE_REASON_INSUFFICIENT_FUNDS: _ClassVar[DeclineReason]
    DECLINE_REASON_EXPIRED_CARD: _ClassVar[DeclineReason]
    DECLINE_REASON_INCORRECT_CVV: _ClassVar[DeclineReason]
CARD_BRAND_UNSPECIFIED: CardBrand
CARD_BRAND_VISA: CardBrand
CARD_BRAND_MASTERCARD: CardBrand
CARD_BRAND_AMERICAN_EXPRESS: CardBrand
CARD_BRAND_DISCOVER: CardBrand
CARD_BRAND_OTHER: CardBrand
CHARGE_STATUS_UNSPECIFIED: ChargeStatus
CHARGE_STATUS_SUCCEEDED: ChargeStatus
CHARGE_STATUS_DECLINED: ChargeStatus
CHARGE_STATUS_REFUNDED: ChargeStatus
DECLINE_REASON_UNSPECIFIED: DeclineReason
DECLINE_REASON_GENERIC: DeclineReason
DECLINE_REASON_INSUFFICIENT_FUNDS: DeclineReason
DECLINE_REASON_EXPIRED_CARD: DeclineReason
DECLINE_REASON_INCORRECT_CVV: DeclineReason

class Card(_message.Message):
    __slots__ = ("number", "expiry_month", "expiry_year", "cvv", "holder_name")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_MONTH_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_YEAR_FIELD_NUMBER: _ClassVar[int]
    CVV_FIELD_NUMBER: _ClassVar[int]
    HOLDER_NAME_FIELD_NUMBER: _ClassVar[int]
    number: str
    expiry_month: int
    expiry_year: int
    cvv: str
    holder_name: str
    def __init__(self, number: _Optional[str] = ..., expiry_month: _Optional[int] = ..., expiry_year: _Optional[int] = ..., cvv: _Optional[str] = ..., holder_name: _Optional[str] = ...) -> None: ...

class Charge(_message.Message):
    __slots__ = ("id", "order_id", "amount", "status", "card_brand", "card_last4", "decline_reason", "create_time", "refund_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CARD_BRAND_FIELD_NUMBER: _ClassVar[int]
    CARD_LAST4_FIELD_NUMBER: _ClassVar[int]
    DECLINE_REASON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REFUND_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    order_id: str
    amount: _money_pb2.Money
    status: ChargeStatus
    card_brand: CardBrand
    card_last4: str
    decline_reason: DeclineReason
    create_time: _timestamp_pb2.Timestamp
    refund_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., order_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., status: _Optional[_Union[ChargeStatus, str]] = ..., card_brand: _Optional[_Union[CardBrand, str]] = ..., card_last4: _Optional[str] = ..., decline_reason: _Optional[_Union[DeclineReason, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., refund_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ChargeRequest(_message.Message):
    __slots__ = ("request_id", "order_id", "amount", "card")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CARD_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    order_id: str
    amount: _money_pb2.Money
    card: Card
    def __init__(self, request_id: _Optional[str] = ..., order_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., card: _Optional[_Union[Card, _Mapping]] = ...) -> None: ...

class ChargeResponse(_message.Message):
    __slots__ = ("charge",)
    CHARGE_FIELD_NUMBER: _ClassVar[int]
    charge: Charge
    def __init__(self, charge: _Optional[_Union[Charge, _Mapping]] = ...) -> None: ...

class RefundRequest(_message.Message):
    __slots__ = ("request_id", "charge_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CHARGE_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    charge_id: str
    def __init__(self, request_id: _Optional[str] = ..., charge_id: _Optional[str] = ...) -> None: ...

class RefundResponse(_message.Message):
    __slots__ = ("charge",)
    CHARGE_FIELD_NUMBER: _ClassVar[int]
    charge: Charge
    def __init__(self, charge: _Optional[_Union[Charge, _Mapping]] = ...) -> None: ...

class GetChargeRequest(_message.Message):
    __slots__ = ("charge_id",)
    CHARGE_ID_FIELD_NUMBER: _ClassVar[int]
    charge_id: str
    def __init__(self, charge_id: _Optional[str] = ...) -> None: ...

class GetChargeResponse(_message.Message):
    __slots__ = ("charge",)
    CHARGE_FIELD_NUMBER: _ClassVar[int]
    charge: Charge
    def __init__(self, charge: _Optional[_Union[Charge, _Mapping]] = ...) -> None: ...

class ListChargesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "order_id")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    order_id: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., order_id: _Optional[str] = ...) -> None: ...

class ListChargesResponse(_message.Message):
    __slots__ = ("charges", "next_page_token")
    CHARGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    charges: _containers.RepeatedCompositeFieldContainer[Charge]
    next_page_token: str
    def __init__(self, charges: _Optional[_Iterable[_Union[Charge, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
