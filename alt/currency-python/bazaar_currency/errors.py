"""Rich gRPC errors built as the Rust chassis builds them (crates/chassis/src/error.rs).

INVALID_ARGUMENT carries a `google.rpc.BadRequest` with one field violation per bad field,
and a message that lists them; NOT_FOUND a `google.rpc.ResourceInfo` naming what was
missing. Both go in the `grpc-status-details-bin` trailer (grpcio-status).
"""

from __future__ import annotations

import json

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status


class ServiceError(Exception):
    """A failure to answer with: a status carrying rich details."""

    def __init__(self, status: grpc.Status) -> None:
        super().__init__(status.details)
        self.status = status


def _status(code: int, message: str, detail: object) -> grpc.Status:
    packed = any_pb2.Any()
    packed.Pack(detail)  # type: ignore[arg-type]
    return rpc_status.to_status(status_pb2.Status(code=code, message=message, details=[packed]))


# As the chassis bounds them (chassis::error): a status travels in HTTP/2 headers, which
# clients cap, so at most this many violations are detailed and this many spelled out.
MAX_REPORTED_VIOLATIONS = 20
MAX_VIOLATIONS_IN_MESSAGE = 4


def invalid_argument(violations: list[tuple[str, str]]) -> ServiceError:
    """INVALID_ARGUMENT naming the offending fields, in order, as the chassis does."""
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=field, description=description)
            for field, description in violations[:MAX_REPORTED_VIOLATIONS]
        ]
    )
    shown = violations[:MAX_VIOLATIONS_IN_MESSAGE]
    listed = "; ".join(f"{field}: {description}" for field, description in shown)
    more = len(violations) - len(shown)
    if not listed:
        message = "invalid request"
    elif more:
        message = f"invalid request: {listed}; and {more} more field violations"
    else:
        message = f"invalid request: {listed}"
    return ServiceError(_status(code_pb2.INVALID_ARGUMENT, message, bad_request))


def not_found(resource_type: str, resource_name: str) -> ServiceError:
    """NOT_FOUND with a ResourceInfo naming the resource."""
    info = error_details_pb2.ResourceInfo(
        resource_type=resource_type, resource_name=resource_name, description="not found"
    )
    # json.dumps quotes as Rust's `{:?}` does for the names that reach here (codes).
    message = f"{resource_type} {json.dumps(resource_name, ensure_ascii=False)} not found"
    return ServiceError(_status(code_pb2.NOT_FOUND, message, info))
