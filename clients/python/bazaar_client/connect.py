"""Channels to bazaar's services, and the caller's token on every call.

One `Bazaar` holds one lazily opened channel per service (gRPC channels are cheap to keep
and expensive to open, so they are shared). `Bazaar.with_token(token)` returns a view over
the same channels whose stubs attach `authorization: Bearer <token>`: the contract never
takes the caller from a request field, only from that metadata entry.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
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
    opened: dict[str, grpc.Channel]

    def get(self, service: str) -> grpc.Channel:
        if service not in self.opened:
            self.opened[service] = grpc.insecure_channel(address(service, self.host))
        return self.opened[service]

    def close(self) -> None:
        for channel in self.opened.values():
            channel.close()
        self.opened.clear()


class Bazaar:
    """Stubs of every bazaar service, over plaintext gRPC.

    `Bazaar()` finds the services on 127.0.0.1 at their default ports (see `address` for
    the environment variables that move them). Use it as a context manager, or call
    `close()`, to close the channels.
    """

    def __init__(
        self,
        host: str | None = None,
        *,
        token: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT_SECS,
        _channels: _Channels | None = None,
    ) -> None:
        self._channels = _channels or _Channels(host, {})
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
