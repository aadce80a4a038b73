"""The currency service as a process: flags, health, reflection, limits, graceful stop.

It follows the conventions of the Rust chassis (crates/chassis), so that `bazaar up`, a
load balancer or an operator cannot tell the two implementations apart:

- the same flags and `BAZAAR_*` variables (`--listen` / `BAZAAR_LISTEN`, port 0 picks a
  free port and the bound address is logged; the others are accepted, and applied where
  they mean something for a service that calls nobody);
- TLS by default, with the certificate and key `bazaar up` makes for it
  (`<data-dir>/pki/currency.crt` and `.key`, or `--tls-cert` / `--tls-key`) and the local
  CA (`--tls-ca`); client certificates are not asked for, as every currency RPC is public.
  `--plaintext` / `BAZAAR_PLAINTEXT=1` serves without TLS, with a warning in the log;
- `grpc.health.v1`: NOT_SERVING until the table is loaded and the server listens, SERVING
  for "" and `bazaar.currency.v1.CurrencyService`, NOT_SERVING again from the first moment
  of a stop;
- server reflection under both `grpc.reflection.v1` and `grpc.reflection.v1alpha`
  (grpcio-reflection implements only v1alpha; v1 has the very same messages, so the v1alpha
  servicer answers v1 calls too, and v1's descriptor is added for `describe`);
- an admin listener (`--admin-listen` / `BAZAAR_ADMIN_LISTEN`, or `off`; by default the host
  of `--listen` on port 9452, or port 0 when `--listen` asks for port 0) with `/metrics`,
  `/healthz` and `/readyz` (see `bazaar_currency.admin`), and the Rust services' server
  metrics of every call (see `bazaar_currency.metrics`);
- a bound on calls in progress in the whole process, refused at once with UNAVAILABLE
  (health checks neither counted nor refused), and HTTP/2 stream and message size limits;
- SIGTERM or SIGINT drains in-flight calls for up to the grace period, then stops; under
  `bazaar up` (BAZAAR_SUPERVISED set) the end of standard input, meaning the supervisor is
  gone, stops it too.

grpcio's asyncio server runs the handlers; they do no I/O, so one event loop is plenty.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import os
import signal
import ssl
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

from bazaar_client.generated.bazaar.currency.v1 import currency_pb2, currency_pb2_grpc
from bazaar_currency.admin import Admin
from bazaar_currency.api import CurrencyApi
from bazaar_currency.metrics import CallMetrics, Metrics
from bazaar_currency.table import SHIPPED, RateTable, TableError

NAME = "currency"
DEFAULT_PORT = 50052
#: The admin port of the service table (`chassis::topology`).
DEFAULT_ADMIN_PORT = 9452
SERVICE = currency_pb2.DESCRIPTOR.services_by_name["CurrencyService"].full_name
HEALTH_PREFIX = "/grpc.health.v1.Health/"
REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"
#: What reflection lists, as the Rust services list it.
ADVERTISED = [SERVICE, health.SERVICE_NAME, REFLECTION_V1, reflection.SERVICE_NAME]

log = logging.getLogger("bazaar_currency")


# --- configuration -------------------------------------------------------------------------


def _env(name: str, default: str | None) -> str | None:
    return os.environ.get(name, default)


def _listen_address(text: str) -> tuple[str, int]:
    """An IP address and port, as Rust's SocketAddr takes them: `127.0.0.1:50052`,
    `[::1]:0`. No host names."""
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"invalid socket address {text!r}")
    bracketed = host.startswith("[") and host.endswith("]")
    try:
        ip = ipaddress.ip_address(host[1:-1] if bracketed else host)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"invalid socket address {text!r}") from error
    if ip.version == 6 and not bracketed:
        raise argparse.ArgumentTypeError(f"invalid socket address {text!r}")
    return (f"[{ip}]" if ip.version == 6 else str(ip)), int(port)


def _admin_listen(text: str) -> tuple[str, int] | str:
    """An address as `--listen` takes it, or `off`."""
    return "off" if text.strip().lower() == "off" else _listen_address(text)


def _truthy(text: str | None) -> bool:
    """A boolean variable as the Rust services read one: unset, empty, `0`, `false`, `no`
    and `off` are false; anything else is true."""
    return (text or "").strip().lower() not in ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class Tls:
    """The files this service serves TLS with (PEM)."""

    cert: Path
    key: Path
    ca: Path


@dataclass(frozen=True)
class Config:
    """Settings of the service; every one has a flag, a variable and a local default."""

    listen: tuple[str, int]
    #: None when it is `off`.
    admin_listen: tuple[str, int] | None
    data_dir: Path
    log_format: str
    log_filter: str
    shutdown_grace_secs: int
    max_concurrent_streams: int
    max_in_flight: int
    max_message_bytes: int
    default_deadline_ms: int
    rates: Path
    #: None when serving plaintext (`--plaintext`).
    tls: Tls | None


def parse_config(argv: list[str] | None = None) -> Config:
    """Reads the flags (a flag wins over its variable)."""
    parser = argparse.ArgumentParser(
        prog=NAME, description="The bazaar currency service, in Python: exchange rates and conversion."
    )

    def option(flag: str, var: str, default: Any, kind: Callable = str, help: str = "", **extra: Any) -> None:
        parser.add_argument(flag, type=kind, default=_env(var, default), help=f"{help} [env: {var}]", **extra)

    option("--listen", "BAZAAR_LISTEN", f"127.0.0.1:{DEFAULT_PORT}", _listen_address,
           "address to listen on; port 0 picks a free port (the bound address is logged)")
    option("--admin-listen", "BAZAAR_ADMIN_LISTEN", None, _admin_listen,
           "address of the admin listener (HTTP: /metrics, /healthz, /readyz), or off; defaults to "
           f"the host of --listen on port {DEFAULT_ADMIN_PORT}, or port 0 when --listen asks for port 0",
           metavar="ADDRESS|off")
    option("--data-dir", "BAZAAR_DATA_DIR", "data", Path,
           "directory for local data: the TLS files are found in its pki/ (this service stores nothing)")
    option("--log-format", "BAZAAR_LOG_FORMAT", "text", str, "log format", choices=["text", "json"])
    option("--log", "BAZAAR_LOG", "info", str, "log level (error, warn, info, debug, trace)",
           dest="log_filter")
    option("--shutdown-grace-secs", "BAZAAR_SHUTDOWN_GRACE_SECS", "10", int,
           "longest time in-flight calls get to finish after a stop is asked for")
    option("--max-concurrent-streams", "BAZAAR_MAX_CONCURRENT_STREAMS", "200", int,
           "most calls in progress at once on one connection")
    option("--max-in-flight", "BAZAAR_MAX_IN_FLIGHT", "512", int,
           "most calls in progress at once in the process; more are refused with UNAVAILABLE")
    option("--max-message-bytes", "BAZAAR_MAX_MESSAGE_BYTES", str(4 * 1024 * 1024), int,
           "largest request or response message, in bytes")
    option("--default-deadline-ms", "BAZAAR_DEFAULT_DEADLINE_MS", "5000", int,
           "deadline of outbound calls (accepted for compatibility: this service calls nobody)")
    option("--rates", "BAZAAR_CURRENCY_RATES", str(SHIPPED), Path,
           "the rate table (default: the one the Rust service ships)")
    option("--tls-cert", "BAZAAR_TLS_CERT", None, Path,
           "this service's certificate chain, PEM (default: <data-dir>/pki/currency.crt)")
    option("--tls-key", "BAZAAR_TLS_KEY", None, Path,
           "the private key of --tls-cert, PEM (default: <data-dir>/pki/currency.key)")
    option("--tls-ca", "BAZAAR_TLS_CA", None, Path,
           "the CA that signs the shop's certificates, PEM (default: <data-dir>/pki/ca.crt)")
    parser.add_argument("--plaintext", action="store_true", default=_truthy(os.environ.get("BAZAAR_PLAINTEXT")),
                        help="serve without TLS: anyone on the network can read and change every call "
                        "[env: BAZAAR_PLAINTEXT]")
    # argparse runs string defaults (hence the variables) through `type` too.
    args = vars(parser.parse_args(argv))
    if args["admin_listen"] is None:
        host, port = args["listen"]
        args["admin_listen"] = (host, 0 if port == 0 else DEFAULT_ADMIN_PORT)
    elif args["admin_listen"] == "off":
        args["admin_listen"] = None
    cert, key, ca = args.pop("tls_cert"), args.pop("tls_key"), args.pop("tls_ca")
    pki = args["data_dir"] / "pki"
    tls = None if args.pop("plaintext") else Tls(
        cert=cert or pki / f"{NAME}.crt", key=key or pki / f"{NAME}.key", ca=ca or pki / "ca.crt"
    )
    return Config(**args, tls=tls)


# --- logging -------------------------------------------------------------------------------


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "target": record.name,
            "message": record.getMessage(),
        }
        return json.dumps(line)


def setup_logging(config: Config) -> None:
    """One handler on stderr, text or JSON, at the level named by `--log` (for a filter in
    the Rust services' `target=level` syntax, its last level counts)."""
    levels = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO,
              "warn": logging.WARNING, "error": logging.ERROR}
    words = [part.rpartition("=")[2].strip().lower() for part in config.log_filter.split(",")]
    level = next((levels[w] for w in reversed(words) if w in levels), logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _JsonFormatter()
        if config.log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)5s %(name)s: %(message)s")
    )
    logging.basicConfig(level=level, handlers=[handler], force=True)


# --- infrastructure services ---------------------------------------------------------------


def _add_reflection_v1_descriptor() -> None:
    """Puts `grpc/reflection/v1/reflection.proto` in the default pool, made from the v1alpha
    file (the two differ only in their package), so reflection can describe v1 as well."""
    name = "grpc/reflection/v1/reflection.proto"
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(name)
        return
    except KeyError:
        pass
    file = descriptor_pb2.FileDescriptorProto.FromString(reflection_pb2.DESCRIPTOR.serialized_pb)
    old, new = ".grpc.reflection.v1alpha.", ".grpc.reflection.v1."
    file.name, file.package = name, "grpc.reflection.v1"
    file.ClearField("options")
    for message in file.message_type:
        for field in message.field:
            if field.type_name:
                field.type_name = field.type_name.replace(old, new)
    for service in file.service:
        for method in service.method:
            method.input_type = method.input_type.replace(old, new)
            method.output_type = method.output_type.replace(old, new)
    pool.AddSerializedFile(file.SerializeToString())


def _add_reflection(server: grpc.aio.Server) -> None:
    _add_reflection_v1_descriptor()
    servicer = reflection.aio.ReflectionServicer(ADVERTISED)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    v1 = grpc.method_handlers_generic_handler(
        REFLECTION_V1,
        {
            "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                servicer.ServerReflectionInfo,
                request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
                response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((v1,))


class InFlightLimit(grpc.aio.ServerInterceptor):
    """Refuses a call at once with UNAVAILABLE when the process already has `limit` calls in
    progress: shedding fast keeps latency bounded for admitted calls and lets the caller
    retry elsewhere. Health checks are neither counted nor refused (a busy replica is not
    a dead one), nor is a health Watch stream held against the limit for its whole life."""

    MESSAGE = "server is at its limit of calls in progress; retry with backoff"

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 1)
        self.in_flight = 0

    async def intercept_service(self, continuation, details):  # type: ignore[no-untyped-def]
        handler = await continuation(details)
        if handler is None or details.method.startswith(HEALTH_PREFIX):
            return handler
        if handler.unary_unary is not None:
            inner_unary = handler.unary_unary

            async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                await self._enter(context)
                try:
                    return await inner_unary(request, context)
                finally:
                    self.in_flight -= 1

            return grpc.unary_unary_rpc_method_handler(
                unary, handler.request_deserializer, handler.response_serializer
            )
        if handler.stream_stream is not None:
            inner_stream = handler.stream_stream

            async def stream(requests: Any, context: grpc.aio.ServicerContext) -> Any:
                await self._enter(context)
                try:
                    async for response in inner_stream(requests, context):
                        yield response
                finally:
                    self.in_flight -= 1

            return grpc.stream_stream_rpc_method_handler(
                stream, handler.request_deserializer, handler.response_serializer
            )
        return handler

    async def _enter(self, context: grpc.aio.ServicerContext) -> None:
        if self.in_flight >= self.limit:
            await context.abort(grpc.StatusCode.UNAVAILABLE, self.MESSAGE)
        self.in_flight += 1


# --- TLS -----------------------------------------------------------------------------------


class TlsError(Exception):
    """The TLS files are missing, unreadable or do not belong together."""


def _read(what: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise TlsError(
            f"cannot read the TLS {what} {path}: {error.strerror or error}; `bazaar up` creates "
            f"the shop's certificates in <data-dir>/pki/, or serve without TLS with --plaintext"
        ) from error


def server_credentials(tls: Tls) -> grpc.ServerCredentials:
    """Credentials from the PEM files of `tls`, checked first with the standard library so
    that a wrong file is refused at start with its name rather than at the first handshake:
    the key must match the certificate and the CA file must hold certificates."""
    cert, key, ca = _read("certificate", tls.cert), _read("key", tls.key), _read("CA certificate", tls.ca)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(tls.cert, tls.key)
    except (ssl.SSLError, ValueError) as error:
        raise TlsError(f"the TLS key {tls.key} does not fit the certificate {tls.cert}, "
                       f"or one is not PEM: {error}") from error
    try:
        context.load_verify_locations(cafile=str(tls.ca))
    except (ssl.SSLError, ValueError) as error:
        raise TlsError(f"the TLS CA file {tls.ca} holds no PEM certificate: {error}") from error
    # Every currency RPC is public: a client certificate is neither asked for nor needed.
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=False)


# --- serving -------------------------------------------------------------------------------


def _watch_supervisor(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Under `bazaar up`, standard input is a pipe from the supervisor: its end means the
    supervisor is gone, and this process must not linger."""

    def read_until_end() -> None:
        # os.read on the descriptor, not sys.stdin: a daemon thread blocked inside the
        # buffered reader would hold its lock when the interpreter exits, and abort it.
        try:
            while os.read(0, 64):
                pass
            ended = "end of input"
        except (OSError, ValueError) as error:
            ended = str(error)
        log.warning("supervisor gone: stopping (%s)", ended)
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=read_until_end, name="supervisor-lifeline", daemon=True).start()


async def serve(config: Config, stop: asyncio.Event, bound: Callable[[int], None] | None = None) -> None:
    """Loads the table, binds, serves until `stop` is set, then drains and stops.
    `bound` is told the port actually bound (for port 0)."""
    table = RateTable.load(config.rates)
    log.info("rate table loaded currencies=%d date=%s", len(table), table.date)

    metrics = Metrics()
    admin = Admin(metrics.render)
    if config.admin_listen is not None:
        admin_host, admin_port = config.admin_listen
        try:
            admin_port = await admin.start(admin_host, admin_port)
        except OSError as error:
            raise OSError(f"cannot listen on {admin_host}:{admin_port} for /metrics: {error}") from error
        log.info("admin listener: /metrics /healthz /readyz address=%s:%d", admin_host, admin_port)

    limit = InFlightLimit(config.max_in_flight)
    server = grpc.aio.server(
        # Outermost first: calls the limit refuses are counted too.
        interceptors=[CallMetrics(metrics), limit],
        options=[
            # grpcio sets SO_REUSEPORT by default, which would let a second server take the
            # same port silently; refuse to share it, as the Rust services do.
            ("grpc.so_reuseport", 0),
            ("grpc.max_concurrent_streams", config.max_concurrent_streams),
            ("grpc.max_receive_message_length", config.max_message_bytes),
            ("grpc.max_send_message_length", config.max_message_bytes),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
        ],
    )
    currency_pb2_grpc.add_CurrencyServiceServicer_to_server(CurrencyApi(table), server)
    health_servicer = health.aio.HealthServicer()
    for name in ("", SERVICE):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    _add_reflection(server)

    host, port = config.listen
    address = f"{host}:{port}"
    if config.tls is None:
        log.warning(
            "PLAINTEXT: serving without TLS (--plaintext or BAZAAR_PLAINTEXT): anyone on the "
            "network can read and change every call; use it only on a trusted machine"
        )
    try:
        if config.tls is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, server_credentials(config.tls))
    except RuntimeError as error:
        raise OSError(f"cannot listen on {address}: {error}") from error
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    await server.start()
    for name in ("", SERVICE):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    admin.ready = True
    log.info(
        "listening service=%s address=%s:%d tls=%s max_in_flight=%d max_concurrent_streams=%d",
        NAME, host, port, "off" if config.tls is None else config.tls.cert,
        config.max_in_flight, config.max_concurrent_streams,
    )
    if bound is not None:
        bound(port)

    await stop.wait()
    admin.ready = False
    await health_servicer.enter_graceful_shutdown()
    log.info("stopping: draining in-flight calls in_flight=%d grace_secs=%d",
             limit.in_flight, config.shutdown_grace_secs)
    await server.stop(config.shutdown_grace_secs)
    await admin.stop()
    log.info("stopped service=%s", NAME)


async def _main(config: Config) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if os.environ.get("BAZAAR_SUPERVISED"):
        _watch_supervisor(loop, stop)
    await serve(config, stop)


def main(argv: list[str] | None = None) -> int:
    """Runs the service until SIGTERM or SIGINT; the exit code says whether it ran."""
    config = parse_config(argv)
    setup_logging(config)
    log.info("starting service=%s implementation=python config=%s", NAME, config)
    try:
        asyncio.run(_main(config))
    except (TableError, TlsError, OSError) as error:
        print(f"{NAME}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
