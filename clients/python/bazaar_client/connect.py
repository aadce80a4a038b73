"""Channels to bazaar's services, over TLS, and the caller's token on every call.

One `Bazaar` holds one lazily opened channel per service (gRPC channels are cheap to keep
and expensive to open, so they are shared). `Bazaar.with_token(token)` returns a view over
the same channels whose stubs attach `authorization: Bearer <token>`: the contract never
takes the caller from a request field, only from that metadata entry.

The services serve TLS with certificates signed by the shop's own CA, which `bazaar up`
writes to `<data-dir>/pki/ca.crt`; the channels trust that CA and nothing else (see
`channel_credentials`). A client certificate (the operator's, `<data-dir>/pki/operator.crt`)
is presented only when given: user calls need none, internal and operator calls do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import grpc

from bazaar_client.generated.bazaar.cart.v1 import cart_pb2_grpc
from bazaar_client.generated.bazaar.catalog.v1 import catalog_pb2_grpc
from bazaar_client.generated.bazaar.currency.v1 import currency_pb2_grpc
from bazaar_client.generated.bazaar.identity.v1 import identity_pb2, identity_pb2_grpc
from bazaar_client.generated.bazaar.inventory.v1 import inventory_pb2_grpc
from bazaar_client.generated.bazaar.notification.v1 import notification_pb2_grpc
from bazaar_client.generated.bazaar.orders.v1 import orders_pb2_grpc
from bazaar_client.generated.bazaar.payment.v1 import payment_pb2_grpc
from bazaar_client.generated.bazaar.recommendation.v1 import recommendation_pb2_grpc
from bazaar_client.generated.bazaar.shipping.v1 import shipping_pb2_grpc

#: Where each service listens unless told otherwise (the same table as the README's).
DEFAULT_PORTS: dict[str, int] = {
    "catalog": 50051,
    "currency": 50052,
    "identity": 50053,
    "cart": 50054,
    "inventory": 50055,
    "payment": 50056,
    "shipping": 50057,
    "orders": 50058,
    "notification": 50059,
    "recommendation": 50060,
}

#: Deadline, in seconds, of a call made without `timeout=`.
DEFAULT_TIMEOUT_SECS = 10.0


def address(service: str, host: str | None = None) -> str:
    """`host:port` of `service`: `BAZAAR_<SERVICE>_ADDR` if set, else `host` (default
    `BAZAAR_ADDR_HOST`, else 127.0.0.1) on the service's default port."""
    if service not in DEFAULT_PORTS:
        raise ValueError(f"unknown service {service!r}; known: {', '.join(DEFAULT_PORTS)}")
    explicit = os.environ.get(f"BAZAAR_{service.upper()}_ADDR")
    if explicit:
        return explicit
    host = host or os.environ.get("BAZAAR_ADDR_HOST") or "127.0.0.1"
    return f"{host}:{DEFAULT_PORTS[service]}"


def _truthy(text: str | None) -> bool:
    """A boolean variable as bazaar's services read one: unset, empty, `0`, `false`, `no`
    and `off` are false; anything else is true."""
    return (text or "").strip().lower() not in ("", "0", "false", "no", "off")


def _read(what: str, path: Path, hint: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise FileNotFoundError(f"cannot read the {what} {path}: {error.strerror or error}; {hint}") from error


def channel_credentials(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    ca: str | os.PathLike[str] | None = None,
    cert: str | os.PathLike[str] | None = None,
    key: str | os.PathLike[str] | None = None,
    plaintext: bool | None = None,
) -> grpc.ChannelCredentials | None:
    """How to reach the shop: TLS credentials, or None for plaintext.

    - Plaintext when `plaintext` is true or, when it is None, when `BAZAAR_PLAINTEXT` is set
      to anything but `0`/`false`/`no`/`off` (a shop started with `bazaar up --plaintext`).
    - Otherwise TLS, trusting only the CA in `ca`, else `BAZAAR_TLS_CA`, else
      `<data_dir>/pki/ca.crt` where `data_dir` defaults to `BAZAAR_DATA_DIR`, else `data`
      (relative to the working directory, where `bazaar up` puts it).
    - With a client certificate when one is given: `cert` and `key`, else `BAZAAR_TLS_CERT`
      and `BAZAAR_TLS_KEY` (PEM; both or neither). Operator calls need one, such as
      `<data-dir>/pki/operator.crt` and `operator.key`.

    The files are read here, so a missing one fails at once, naming it.
    """
    if plaintext if plaintext is not None else _truthy(os.environ.get("BAZAAR_PLAINTEXT")):
        return None
    directory = Path(data_dir if data_dir is not None else os.environ.get("BAZAAR_DATA_DIR") or "data")
    ca_path = Path(ca if ca is not None else os.environ.get("BAZAAR_TLS_CA") or directory / "pki" / "ca.crt")
    cert_path = cert if cert is not None else os.environ.get("BAZAAR_TLS_CERT") or None
    key_path = key if key is not None else os.environ.get("BAZAAR_TLS_KEY") or None
    if (cert_path is None) != (key_path is None):
        raise ValueError("a client certificate needs its key, and a key its certificate: "
                         "give both (BAZAAR_TLS_CERT and BAZAAR_TLS_KEY) or neither")
    root = _read("CA certificate", ca_path,
                 "`bazaar up` writes the shop's CA to <data-dir>/pki/ca.crt: run from the directory "
                 "that holds data/, or set BAZAAR_TLS_CA (or BAZAAR_DATA_DIR); for a shop started "
                 "with --plaintext, set BAZAAR_PLAINTEXT=1")
    chain = private = None
    if cert_path is not None and key_path is not None:
        hint = "the client certificate and key are given by BAZAAR_TLS_CERT and BAZAAR_TLS_KEY"
        chain = _read("client certificate", Path(cert_path), hint)
        private = _read("client key", Path(key_path), hint)
    return grpc.ssl_channel_credentials(root_certificates=root, private_key=private, certificate_chain=chain)


class _CallDetails(NamedTuple):
    method: str
    timeout: float | None
    metadata: Sequence[tuple[str, str]] | None
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: grpc.Compression | None


class _CallDefaults(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds the caller's token (if any) and a default deadline to every call."""

    def __init__(self, token: str | None, timeout: float | None) -> None:
        self._token = token
        self._timeout = timeout

    def _details(self, details: grpc.ClientCallDetails) -> _CallDetails:
        metadata = list(details.metadata or ())
        if self._token is not None and not any(k == "authorization" for k, _ in metadata):
            metadata.append(("authorization", f"Bearer {self._token}"))
        timeout = details.timeout if details.timeout is not None else self._timeout
        return _CallDetails(
            details.method,
            timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation: Callable, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Callable, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation: Callable, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation: Callable, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)


@dataclass
class _Channels:
    """The shared, lazily opened channels of one `Bazaar` and its token views."""

    host: str | None
    #: None for plaintext.
    credentials: grpc.ChannelCredentials | None
    opened: dict[str, grpc.Channel]

    def get(self, service: str) -> grpc.Channel:
        if service not in self.opened:
            target = address(service, self.host)
            self.opened[service] = (
                grpc.insecure_channel(target)
                if self.credentials is None
                else grpc.secure_channel(target, self.credentials)
            )
        return self.opened[service]

    def close(self) -> None:
        for channel in self.opened.values():
            channel.close()
        self.opened.clear()


class Bazaar:
    """Stubs of every bazaar service, over TLS.

    `Bazaar()` finds the services on 127.0.0.1 at their default ports (see `address` for
    the environment variables that move them) and trusts the shop's CA in
    `data/pki/ca.crt`; `data_dir`, `ca`, `cert`, `key` and `plaintext` change that as
    `channel_credentials` describes (a missing CA file raises FileNotFoundError here). Use
    it as a context manager, or call `close()`, to close the channels.
    """

    def __init__(
        self,
        host: str | None = None,
        *,
        token: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT_SECS,
        data_dir: str | os.PathLike[str] | None = None,
        ca: str | os.PathLike[str] | None = None,
        cert: str | os.PathLike[str] | None = None,
        key: str | os.PathLike[str] | None = None,
        plaintext: bool | None = None,
        _channels: _Channels | None = None,
    ) -> None:
        self._channels = _channels or _Channels(
            host, channel_credentials(data_dir, ca=ca, cert=cert, key=key, plaintext=plaintext), {}
        )
        self._token = token
        self._timeout = timeout

    def with_token(self, token: str) -> Bazaar:
        """The same services, calling as the holder of `token` (an access token from
        identity's SignUp, LogIn or StartGuestSession). Shares this object's channels."""
        return Bazaar(token=token, timeout=self._timeout, _channels=self._channels)

    def channel(self, service: str) -> grpc.Channel:
        """The channel to `service`, with this view's token and default deadline."""
        return grpc.intercept_channel(
            self._channels.get(service), _CallDefaults(self._token, self._timeout)
        )

    def start_guest_session(self) -> identity_pb2.Session:
        """A new guest session: its `access_token` lets the guest fill a cart and order."""
        return self.identity.StartGuestSession(identity_pb2.StartGuestSessionRequest()).session

    def close(self) -> None:
        """Closes every channel (of this object and of its token views)."""
        self._channels.close()

    def __enter__(self) -> Bazaar:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def catalog(self) -> catalog_pb2_grpc.CatalogServiceStub:
        return catalog_pb2_grpc.CatalogServiceStub(self.channel("catalog"))

    @property
    def currency(self) -> currency_pb2_grpc.CurrencyServiceStub:
        return currency_pb2_grpc.CurrencyServiceStub(self.channel("currency"))

    @property
    def identity(self) -> identity_pb2_grpc.IdentityServiceStub:
        return identity_pb2_grpc.IdentityServiceStub(self.channel("identity"))

    @property
    def cart(self) -> cart_pb2_grpc.CartServiceStub:
        return cart_pb2_grpc.CartServiceStub(self.channel("cart"))

    @property
    def inventory(self) -> inventory_pb2_grpc.InventoryServiceStub:
        return inventory_pb2_grpc.InventoryServiceStub(self.channel("inventory"))

    @property
    def payment(self) -> payment_pb2_grpc.PaymentServiceStub:
        return payment_pb2_grpc.PaymentServiceStub(self.channel("payment"))

    @property
    def shipping(self) -> shipping_pb2_grpc.ShippingServiceStub:
        return shipping_pb2_grpc.ShippingServiceStub(self.channel("shipping"))

    @property
    def orders(self) -> orders_pb2_grpc.OrdersServiceStub:
        return orders_pb2_grpc.OrdersServiceStub(self.channel("orders"))

    @property
    def notification(self) -> notification_pb2_grpc.NotificationServiceStub:
        return notification_pb2_grpc.NotificationServiceStub(self.channel("notification"))

    @property
    def recommendation(self) -> recommendation_pb2_grpc.RecommendationServiceStub:
        return recommendation_pb2_grpc.RecommendationServiceStub(self.channel("recommendation"))
