"""The rich details of a failed call, as bazaar's services send them.

An INVALID_ARGUMENT carries a `google.rpc.BadRequest` with one field violation per bad
field; a NOT_FOUND a `google.rpc.ResourceInfo`. Both travel in the `grpc-status-details-bin`
trailer, decoded here with grpcio-status.
"""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


def _details(error: grpc.RpcError) -> list:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    return list(status.details) if status is not None else []


def bad_request_fields(error: grpc.RpcError) -> list[str]:
    """The fields named by the error's BadRequest detail, in order (empty if none)."""
    fields: list[str] = []
    for detail in _details(error):
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            fields.extend(v.field for v in bad_request.field_violations)
    return fields


def resource_info(error: grpc.RpcError) -> error_details_pb2.ResourceInfo | None:
    """The error's ResourceInfo detail (what was not found), if it has one."""
    for detail in _details(error):
        if detail.Is(error_details_pb2.ResourceInfo.DESCRIPTOR):
            info = error_details_pb2.ResourceInfo()
            detail.Unpack(info)
            return info
    return None
