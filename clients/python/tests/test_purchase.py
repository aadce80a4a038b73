"""A whole purchase from Python, against a live shop: a guest session, browse, search, cart,
checkout in euros with a test card, the order read back, and the confirmation that
notification sends once it has read the order's event."""

from __future__ import annotations

import time
import uuid

import grpc
import pytest

from bazaar_client import Bazaar, bad_request_fields
from bazaar_client.generated.bazaar.cart.v1 import cart_pb2
from bazaar_client.generated.bazaar.catalog.v1 import catalog_pb2
from bazaar_client.generated.bazaar.currency.v1 import currency_pb2
from bazaar_client.generated.bazaar.identity.v1 import identity_pb2
from bazaar_client.generated.bazaar.inventory.v1 import inventory_pb2
from bazaar_client.generated.bazaar.notification.v1 import notification_pb2
from bazaar_client.generated.bazaar.orders.v1 import orders_pb2
from bazaar_client.generated.bazaar.payment.v1 import payment_pb2
from bazaar_client.generated.bazaar.type.v1 import address_pb2

PRODUCT = "brass-desk-lamp"


def unique(prefix: str) -> str:
    """A request id of its own, so that reruns against the same shop are new requests."""
    return f"{prefix}-{uuid.uuid4()}"


def test_a_guest_buys_a_lamp_in_euros(shop: Bazaar, admin: Bazaar) -> None:
    admin.inventory.Restock(
        inventory_pb2.RestockRequest(request_id=unique("py-restock"), product_id=PRODUCT, quantity=5)
    )

    # A guest session: its token is the caller of every user-scoped call below.
    session = shop.start_guest_session()
    assert session.access_token
    guest = shop.with_token(session.access_token)
    me = guest.identity.GetCurrentUser(identity_pb2.GetCurrentUserRequest()).user
    assert me.id

    # Browse and search.
    page = guest.catalog.ListProducts(catalog_pb2.ListProductsRequest(page_size=3, category_id="lighting"))
    assert 0 < len(page.products) <= 3
    assert all("lighting" in p.category_ids for p in page.products)
    found = guest.catalog.SearchProducts(catalog_pb2.SearchProductsRequest(query="brass lamp"))
    lamp = found.products[0]
    assert lamp.id == PRODUCT

    # Fill the cart.
    guest.cart.AddItem(cart_pb2.AddItemRequest(request_id=unique("py-add"), product_id=PRODUCT, quantity=2))
    cart = guest.cart.GetCart(cart_pb2.GetCartRequest()).cart
    assert [(i.product_id, i.quantity) for i in cart.items] == [(PRODUCT, 2)]

    # Check out in euros with the test card that succeeds.
    order = guest.orders.PlaceOrder(
        orders_pb2.PlaceOrderRequest(
            request_id=unique("py-order"),
            email="ada@example.com",
            currency_code="EUR",
            shipping_address=address_pb2.Address(
                recipient_name="Ada Lovelace",
                street_lines=["1 Main St"],
                city="Springfield",
                postal_code="12345",
                country_code="US",
            ),
            card=payment_pb2.Card(
                number="4242424242424242", expiry_month=12, expiry_year=2030, cvv="123", holder_name="Ada Lovelace"
            ),
        ),
        timeout=30,
    ).order
    assert order.state == orders_pb2.ORDER_STATE_PLACED
    assert order.tracking_id and order.charge_id
    # Priced through the currency service: the lamp's price converted to euros.
    in_euros = shop.currency.Convert(
        currency_pb2.ConvertRequest(amount=lamp.price, to_currency_code="EUR")
    ).converted
    assert [(i.product_id, i.quantity, i.unit_price) for i in order.items] == [(PRODUCT, 2, in_euros)]
    assert order.total.currency_code == "EUR"

    # The cart is empty once the order is placed.
    assert not guest.cart.GetCart(cart_pb2.GetCartRequest()).cart.items

    # The order, read back.
    again = guest.orders.GetOrder(orders_pb2.GetOrderRequest(order_id=order.id)).order
    assert again.id == order.id and again.tracking_id == order.tracking_id and again.total == order.total

    # Notification reads the order's event asynchronously: poll a little.
    deadline = time.monotonic() + 15
    notifications: list = []
    while time.monotonic() < deadline and not notifications:
        notifications = list(
            guest.notification.ListNotifications(
                notification_pb2.ListNotificationsRequest(order_id=order.id)
            ).notifications
        )
        if not notifications:
            time.sleep(0.1)
    assert [n.recipient for n in notifications] == ["ada@example.com"]
    print(f"order {order.id} placed: {order.total.units}.{order.total.nanos // 10**7:02d} EUR, "
          f"tracking {order.tracking_id}, confirmation {notifications[0].id}")


def test_someone_elses_order_is_not_found_and_bad_input_names_the_field(shop: Bazaar) -> None:
    guest = shop.with_token(shop.start_guest_session().access_token)
    with pytest.raises(grpc.RpcError) as raised:
        guest.orders.GetOrder(orders_pb2.GetOrderRequest(order_id="no-such-order"))
    assert raised.value.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)
    with pytest.raises(grpc.RpcError) as raised:
        guest.cart.AddItem(cart_pb2.AddItemRequest(request_id=unique("py-add"), product_id=PRODUCT, quantity=0))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "quantity" in bad_request_fields(raised.value)
    with pytest.raises(grpc.RpcError) as raised:
        shop.cart.GetCart(cart_pb2.GetCartRequest())  # no token at all
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
