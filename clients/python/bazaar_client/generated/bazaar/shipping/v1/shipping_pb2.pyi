import datetime

from bazaar_client.generated.bazaar.type.v1 import address_pb2 as _address_pb2
from bazaar_client.generated.bazaar.type.v1 import money_pb2 as _money_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ShipmentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SHIPMENT_STATE_UNSPECIFIED: _ClassVar[ShipmentState]
    SHIPMENT_STATE_CREATED: _ClassVar[ShipmentState]
    SHIPMENT_STATE_CANCELLED: _ClassVar[ShipmentState]
SHIPMENT_STATE_UNSPECIFIED: ShipmentState
SHIPMENT_STATE_CREATED: ShipmentState
SHIPMENT_STATE_CANCELLED: ShipmentState

class ShipmentItem(_message.Message):
    __slots__ = ("product_id", "quantity")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    quantity: int
    def __init__(self, product_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class Quote(_message.Message):
    __slots__ = ("cost", "estimated_delivery_days")
    COST_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_DELIVERY_DAYS_FIELD_NUMBER: _ClassVar[int]
    cost: _money_pb2.Money
    estimated_delivery_days: int
    def __init__(self, cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., estimated_delivery_days: _Optional[int] = ...) -> None: ...

class Shipment(_message.Message):
    __slots__ = ("id", "order_id", "tracking_id", "state", "address", "items", "quote", "create_time", "update_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    order_id: str
    tracking_id: str
    state: ShipmentState
    address: _address_pb2.Address
    items: _containers.RepeatedCompositeFieldContainer[ShipmentItem]
    quote: Quote
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., order_id: _Optional[str] = ..., tracking_id: _Optional[str] = ..., state: _Optional[_Union[ShipmentState, str]] = ..., address: _Optional[_Union[_address_pb2.Address, _Mapping]] = ..., items: _Optional[_Iterable[_Union[ShipmentItem, _Mapping]]] = ..., quote: _Optional[_Union[Quote, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetQuoteRequest(_message.Message):
    __slots__ = ("address", "items")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    address: _address_pb2.Address
    items: _containers.RepeatedCompositeFieldContainer[ShipmentItem]
    def __init__(self, address: _Optional[_Union[_address_pb2.Address, _Mapping]] = ..., items: _Optional[_Iterable[_Union[ShipmentItem, _Mapping]]] = ...) -> None: ...

class GetQuoteResponse(_message.Message):
    __slots__ = ("quote",)
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    quote: Quote
    def __init__(self, quote: _Optional[_Union[Quote, _Mapping]] = ...) -> None: ...

class CreateShipmentRequest(_message.Message):
    __slots__ = ("request_id", "order_id", "address", "items")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    order_id: str
    address: _address_pb2.Address
    items: _containers.RepeatedCompositeFieldContainer[ShipmentItem]
    def __init__(self, request_id: _Optional[str] = ..., order_id: _Optional[str] = ..., address: _Optional[_Union[_address_pb2.Address, _Mapping]] = ..., items: _Optional[_Iterable[_Union[ShipmentItem, _Mapping]]] = ...) -> None: ...

class CreateShipmentResponse(_message.Message):
    __slots__ = ("shipment",)
    SHIPMENT_FIELD_NUMBER: _ClassVar[int]
    shipment: Shipment
    def __init__(self, shipment: _Optional[_Union[Shipment, _Mapping]] = ...) -> None: ...

class CancelShipmentRequest(_message.Message):
    __slots__ = ("shipment_id",)
    SHIPMENT_ID_FIELD_NUMBER: _ClassVar[int]
    shipment_id: str
    def __init__(self, shipment_id: _Optional[str] = ...) -> None: ...

class CancelShipmentResponse(_message.Message):
    __slots__ = ("shipment",)
    SHIPMENT_FIELD_NUMBER: _ClassVar[int]
    shipment: Shipment
    def __init__(self, shipment: _Optional[_Union[Shipment, _Mapping]] = ...) -> None: ...

class GetShipmentRequest(_message.Message):
    __slots__ = ("shipment_id",)
    SHIPMENT_ID_FIELD_NUMBER: _ClassVar[int]
    shipment_id: str
    def __init__(self, shipment_id: _Optional[str] = ...) -> None: ...

class GetShipmentResponse(_message.Message):
    __slots__ = ("shipment",)
    SHIPMENT_FIELD_NUMBER: _ClassVar[int]
    shipment: Shipment
    def __init__(self, shipment: _Optional[_Union[Shipment, _Mapping]] = ...) -> None: ...
