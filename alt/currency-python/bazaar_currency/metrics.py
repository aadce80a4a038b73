"""The service's metrics, with the names and labels the Rust services use (crates/chassis).

Every call the server answers is counted by `CallMetrics`, a grpc server interceptor placed
outermost so that calls refused by the in-flight limit are counted too (as Unavailable):

- `grpc_server_started_total{grpc_type,grpc_service,grpc_method}`: calls begun;
- `grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}`: calls ended,
  by their status code in Go's spelling (`OK`, `InvalidArgument`, `Canceled`, ...);
- `grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method}`: how long each took
  (a histogram with the Rust services' buckets), a stream until its last message.

`grpc_service` is the full proto service name and `grpc_method` the method: both come from
the handlers the server has, so a caller cannot grow the label set; a path nothing serves is
answered UNIMPLEMENTED here and counted as `unknown`/`unknown`. The process's own metrics
(`process_resident_memory_bytes`, `process_cpu_seconds_total`, `process_open_fds`, ...) come
from prometheus_client's process collector, under the same names as in Rust.

Everything is recorded in one registry per `Metrics`, never the library's global one, so
tests can run several servers in one interpreter.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator, Callable

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, generate_latest

#: Bucket bounds, in seconds, of every `*_seconds` histogram: the same as the Rust services'
#: (`chassis::metrics::LATENCY_BUCKETS`), so dashboards aggregate both implementations.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

#: Status codes as the grpc-ecosystem metrics (and the Rust services) name them.
CODE_NAMES = {
    grpc.StatusCode.OK: "OK",
    grpc.StatusCode.CANCELLED: "Canceled",
    grpc.StatusCode.UNKNOWN: "Unknown",
    grpc.StatusCode.INVALID_ARGUMENT: "InvalidArgument",
    grpc.StatusCode.DEADLINE_EXCEEDED: "DeadlineExceeded",
    grpc.StatusCode.NOT_FOUND: "NotFound",
    grpc.StatusCode.ALREADY_EXISTS: "AlreadyExists",
    grpc.StatusCode.PERMISSION_DENIED: "PermissionDenied",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "ResourceExhausted",
    grpc.StatusCode.FAILED_PRECONDITION: "FailedPrecondition",
    grpc.StatusCode.ABORTED: "Aborted",
    grpc.StatusCode.OUT_OF_RANGE: "OutOfRange",
    grpc.StatusCode.UNIMPLEMENTED: "Unimplemented",
    grpc.StatusCode.INTERNAL: "Internal",
    grpc.StatusCode.UNAVAILABLE: "Unavailable",
    grpc.StatusCode.DATA_LOSS: "DataLoss",
    grpc.StatusCode.UNAUTHENTICATED: "Unauthenticated",
}

UNKNOWN = "unknown"


class Metrics:
    """The registry of one server, with its call metrics and the process's."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        labels = ("grpc_type", "grpc_service", "grpc_method")
        self.started = Counter(
            "grpc_server_started_total", "Calls the server has begun.", labels, registry=self.registry
        )
        self.handled = Counter(
            "grpc_server_handled_total", "Calls the server has ended, by status code.",
            (*labels, "grpc_code"), registry=self.registry,
        )
        self.handling = Histogram(
            "grpc_server_handling_seconds", "How long calls took, until their last message.",
            labels, buckets=LATENCY_BUCKETS, registry=self.registry,
        )

    def render(self) -> bytes:
        """Everything recorded, in the Prometheus text format."""
        return generate_latest(self.registry)


def _split(path: str) -> tuple[str, str]:
    """`/bazaar.currency.v1.CurrencyService/Convert` as its service and method."""
    service, _, method = path.lstrip("/").rpartition("/")
    return service, method


def _grpc_type(handler: grpc.RpcMethodHandler) -> str:
    if handler.request_streaming and handler.response_streaming:
        return "bidi_stream"
    if handler.request_streaming:
        return "client_stream"
    if handler.response_streaming:
        return "server_stream"
    return "unary"


class _Watched:
    """A call's context as its handler sees it, noting the status the handler gives the call
    (`abort`, `abort_with_status`, `set_code`) as it gives it: what is counted is what the
    handler said, whatever grpc.aio keeps on the context afterwards."""

    def __init__(self, context: grpc.aio.ServicerContext) -> None:
        self._context = context
        self.status: grpc.StatusCode | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def set_code(self, code: grpc.StatusCode) -> None:
        self.status = code
        self._context.set_code(code)

    async def abort(self, code: grpc.StatusCode, *args: Any, **kwargs: Any) -> None:
        self.status = code
        await self._context.abort(code, *args, **kwargs)

    async def abort_with_status(self, status: grpc.Status) -> None:
        self.status = status.code
        await self._context.abort_with_status(status)

    def code_name(self, error: BaseException | None) -> str:
        """The status the call ended with, in Go's spelling: the one the handler gave it,
        else Canceled (or DeadlineExceeded) for a call cut off, Unknown for an exception
        that escaped, OK."""
        if self.status is not None:
            return CODE_NAMES.get(self.status, "Unknown")
        if isinstance(error, asyncio.CancelledError):
            remaining = self._context.time_remaining()
            return "DeadlineExceeded" if remaining is not None and remaining <= 0 else "Canceled"
        if error is not None:
            return "Unknown"
        return "OK"


class CallMetrics(grpc.aio.ServerInterceptor):
    """Counts and times every call; see the module documentation."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def intercept_service(self, continuation, details):  # type: ignore[no-untyped-def]
        handler = await continuation(details)
        if handler is None:
            return self._unknown()
        service, method = _split(details.method)
        labels = (_grpc_type(handler), service, method)
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, labels),
                handler.request_deserializer, handler.response_serializer,
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                self._unary(handler.stream_unary, labels),
                handler.request_deserializer, handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(handler.unary_stream, labels),
                handler.request_deserializer, handler.response_serializer,
            )
        return grpc.stream_stream_rpc_method_handler(
            self._streaming(handler.stream_stream, labels),
            handler.request_deserializer, handler.response_serializer,
        )

    def _begin(self, labels: tuple[str, str, str]) -> float:
        self.metrics.started.labels(*labels).inc()
        return time.perf_counter()

    def _end(self, labels: tuple[str, str, str], began: float, context: _Watched,
             error: BaseException | None) -> None:
        self.metrics.handling.labels(*labels).observe(time.perf_counter() - began)
        self.metrics.handled.labels(*labels, context.code_name(error)).inc()

    def _unary(self, behaviour: Callable, labels: tuple[str, str, str]) -> Callable:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            began, error, context = self._begin(labels), None, _Watched(context)
            try:
                return await behaviour(request, context)
            except BaseException as caught:
                error = caught
                raise
            finally:
                self._end(labels, began, context, error)

        return call

    def _streaming(self, behaviour: Callable, labels: tuple[str, str, str]) -> Callable:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            began, error, context = self._begin(labels), None, _Watched(context)
            try:
                async for response in behaviour(request, context):
                    yield response
            except BaseException as caught:
                error = caught
                raise
            finally:
                self._end(labels, began, context, error)

        return call

    def _unknown(self) -> grpc.RpcMethodHandler:
        """A handler for a path nothing serves: UNIMPLEMENTED at once, before reading any
        message (so it fits every kind of call), counted under `unknown`."""
        labels = ("unary", UNKNOWN, UNKNOWN)

        async def refuse(requests: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            began, error, context = self._begin(labels), None, _Watched(context)
            try:
                await context.abort(grpc.StatusCode.UNIMPLEMENTED, "no such method")
            except BaseException as caught:
                error = caught
                raise
            finally:
                self._end(labels, began, context, error)
            yield  # never reached: makes this an async generator, as a streaming handler is

        return grpc.stream_stream_rpc_method_handler(refuse)
