from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RecommendationReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECOMMENDATION_REASON_UNSPECIFIED: _ClassVar[RecommendationReason]
    RECOMMENDATION_REASON_BOUGHT_TOGETHER: _ClassVar[RecommendationReason]
    RECOMMENDATION_REASON_SAME_CATEGORY: _ClassVar[RecommendationReason]
    RECOMMENDATION_REASON_POPULAR: _ClassVar[RecommendationReason]
RECOMMENDATION_REASON_UNSPECIFIED: RecommendationReason
RECOMMENDATION_REASON_BOUGHT_TOGETHER: RecommendationReason
RECOMMENDATION_REASON_SAME_CATEGORY: RecommendationReason
RECOMMENDATION_REASON_POPULAR: RecommendationReason

class Recommendation(_message.Message):
    __slots__ = ("product_id", "reason")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    reason: RecommendationReason
    def __init__(self, product_id: _Optional[str] = ..., reason: _Optional[_Union[RecommendationReason, str]] = ...) -> None: ...

class ListRecommendationsRequest(_message.Message):
    __slots__ = ("product_ids", "page_size", "page_token")
    PRODUCT_IDS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    product_ids: _containers.RepeatedScalarFieldContainer[str]
    page_size: int
    page_token: str
    def __init__(self, product_ids: _Optional[_Iterable[str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRecommendationsResponse(_message.Message):
    __slots__ = ("recommendations", "next_page_token")
    RECOMMENDATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    recommendations: _containers.RepeatedCompositeFieldContainer[Recommendation]
    next_page_token: str
    def __init__(self, recommendations: _Optional[_Iterable[_Union[Recommendation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
