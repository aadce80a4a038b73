from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Address(_message.Message):
    __slots__ = ("recipient_name", "street_lines", "city", "region", "postal_code", "country_code")
    RECIPIENT_NAME_FIELD_NUMBER: _ClassVar[int]
    STREET_LINES_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    recipient_name: str
    street_lines: _containers.RepeatedScalarFieldContainer[str]
    city: str
    region: str
    postal_code: str
    country_code: str
    def __init__(self, recipient_name: _Optional[str] = ..., street_lines: _Optional[_Iterable[str]] = ..., city: _Optional[str] = ..., region: _Optional[str] = ..., postal_code: _Optional[str] = ..., country_code: _Optional[str] = ...) -> None: ...
