"""The Python currency service as a build one contract version ahead of its callers answers.

Every `ConvertResponse` it sends carries one field more than the contract has today, as
`string rate_source = 3;` added to `ConvertResponse` in a later version of the contract
would put it on the wire; everything else is the service itself, with the same flags. A
caller built from today's contract must read the answers as before and skip the field:
that is what keeps an upgrade of one service from breaking the others. It is run as the
service is (`python tests/newer_build.py --listen ... --data-dir ...`): by
`test_newer_build.py`, and by `crates/bazaar/tests/rollout.rs`, which rolls the running
shop's currency out to it under load.
"""

from __future__ import annotations

import sys

import grpc

from bazaar_client.generated.bazaar.currency.v1 import currency_pb2_grpc
from bazaar_currency import server

SERVICE = "bazaar.currency.v1.CurrencyService"
# Field 3, wire type 2 (length-delimited): the key byte of `string rate_source = 3;`.
FIELD_NUMBER = 3
RATE_SOURCE = b"ecb-reference-rates"
EXTRA = bytes([FIELD_NUMBER << 3 | 2, len(RATE_SOURCE)]) + RATE_SOURCE


class _Captured:
    """Stands in for the server while the generated code registers its handlers."""

    def __init__(self) -> None:
        self.handlers: dict[str, grpc.RpcMethodHandler] = {}

    def add_generic_rpc_handlers(self, handlers) -> None:  # type: ignore[no-untyped-def]
        pass

    def add_registered_method_handlers(self, name: str, handlers) -> None:  # type: ignore[no-untyped-def]
        self.handlers = dict(handlers)


_generated = currency_pb2_grpc.add_CurrencyServiceServicer_to_server


def add_newer(servicer, real_server) -> None:  # type: ignore[no-untyped-def]
    """Registers the service as today's generated code does, with Convert's answers
    carrying the newer field."""
    captured = _Captured()
    _generated(servicer, captured)
    handlers = dict(captured.handlers)
    convert = handlers["Convert"]
    handlers["Convert"] = grpc.unary_unary_rpc_method_handler(
        convert.unary_unary,
        request_deserializer=convert.request_deserializer,
        response_serializer=lambda response: convert.response_serializer(response) + EXTRA,
    )
    real_server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    real_server.add_registered_method_handlers(SERVICE, handlers)


if __name__ == "__main__":
    currency_pb2_grpc.add_CurrencyServiceServicer_to_server = add_newer
    sys.exit(server.main())
