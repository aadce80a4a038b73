/**
 * A whole purchase from TypeScript, against a live shop (`bazaar up`; scripts/clients-e2e.sh
 * starts one): a guest session, browse, search, cart, checkout in euros with a test card,
 * the order read back, and the confirmation that notification sends once it has read the
 * order's event. The admin (BAZAAR_E2E_ADMIN_EMAIL, default admin@bazaar.test, made admin
 * with a one-time admin code by scripts/clients-e2e.sh) stocks the product first. The shop
 * is reached over TLS trusting its CA (data/pki/ca.crt, or BAZAAR_TLS_CA), or plaintext
 * with BAZAAR_PLAINTEXT=1.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { equals } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

import { Bazaar } from "../src/bazaar.js";
import { OrderState } from "../src/gen/bazaar/orders/v1/orders_pb.js";
import { MoneySchema } from "../src/gen/bazaar/type/v1/money_pb.js";
import type { Notification } from "../src/gen/bazaar/notification/v1/notification_pb.js";

const PRODUCT = "brass-desk-lamp";
const ADMIN_EMAIL = process.env.BAZAAR_E2E_ADMIN_EMAIL ?? "admin@bazaar.test";
const ADMIN_PASSWORD = process.env.BAZAAR_E2E_ADMIN_PASSWORD ?? "a long admin password";

const shop = new Bazaar();
after(() => shop.close());

/** A request id of its own, so that reruns against the same shop are new requests. */
const unique = (prefix: string) => `${prefix}-${randomUUID()}`;

/** The admin's token: signed up on first use, logged in afterwards. */
async function adminToken(): Promise<string> {
  try {
    const { session } = await shop.identity.signUp({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    return session!.accessToken;
  } catch (error) {
    if (!(error instanceof ConnectError) || error.code !== Code.AlreadyExists) {
      throw error;
    }
    const { session } = await shop.identity.logIn({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    return session!.accessToken;
  }
}

before(async () => {
  try {
    await shop.catalog.listCategories({ pageSize: 1 }, { timeoutMs: 3000 });
  } catch (error) {
    throw new Error(
      `the shop does not answer (${String(error)}): start it with \`bazaar up\` (or run scripts/clients-e2e.sh)`,
    );
  }
});

test("a guest buys a lamp in euros", async () => {
  const admin = shop.withToken(await adminToken());
  await admin.inventory.restock({ requestId: unique("ts-restock"), productId: PRODUCT, quantity: 5 });

  // A guest session: its token is the caller of every user-scoped call below.
  const session = await shop.startGuestSession();
  const guest = shop.withToken(session.accessToken);
  const { user } = await guest.identity.getCurrentUser({});
  assert.ok(user?.id);

  // Browse and search.
  const page = await guest.catalog.listProducts({ pageSize: 3, categoryId: "lighting" });
  assert.ok(page.products.length > 0 && page.products.length <= 3);
  assert.ok(page.products.every((p) => p.categoryIds.includes("lighting")));
  const found = await guest.catalog.searchProducts({ query: "brass lamp" });
  const lamp = found.products[0];
  assert.equal(lamp?.id, PRODUCT);

  // Fill the cart.
  await guest.cart.addItem({ requestId: unique("ts-add"), productId: PRODUCT, quantity: 2 });
  const { cart } = await guest.cart.getCart({});
  assert.deepEqual(
    cart?.items.map((i) => [i.productId, i.quantity]),
    [[PRODUCT, 2]],
  );

  // Check out in euros with the test card that succeeds.
  const { order } = await guest.orders.placeOrder(
    {
      requestId: unique("ts-order"),
      email: "ada@example.com",
      currencyCode: "EUR",
      shippingAddress: {
        recipientName: "Ada Lovelace",
        streetLines: ["1 Main St"],
        city: "Springfield",
        postalCode: "12345",
        countryCode: "US",
      },
      card: { number: "4242424242424242", expiryMonth: 12, expiryYear: 2030, cvv: "123", holderName: "Ada Lovelace" },
    },
    { timeoutMs: 30_000 },
  );
  assert.ok(order);
  assert.equal(order.state, OrderState.PLACED);
  assert.ok(order.trackingId && order.chargeId);
  // Priced through the currency service: the lamp's price converted to euros.
  const { converted } = await shop.currency.convert({ amount: lamp.price, toCurrencyCode: "EUR" });
  assert.equal(order.items.length, 1);
  assert.equal(order.items[0].productId, PRODUCT);
  assert.equal(order.items[0].quantity, 2);
  assert.ok(equals(MoneySchema, order.items[0].unitPrice!, converted!), "unit price is the converted price");
  assert.equal(order.total?.currencyCode, "EUR");

  // The cart is empty once the order is placed.
  assert.equal((await guest.cart.getCart({})).cart?.items.length ?? 0, 0);

  // The order, read back.
  const again = (await guest.orders.getOrder({ orderId: order.id })).order;
  assert.equal(again?.trackingId, order.trackingId);
  assert.ok(equals(MoneySchema, again!.total!, order.total!));

  // Notification reads the order's event asynchronously: poll a little.
  let notifications: Notification[] = [];
  for (let tries = 0; tries < 150 && notifications.length === 0; tries++) {
    notifications = (await guest.notification.listNotifications({ orderId: order.id })).notifications;
    if (notifications.length === 0) {
      await sleep(100);
    }
  }
  assert.deepEqual(
    notifications.map((n) => n.recipient),
    ["ada@example.com"],
  );
  console.log(`order ${order.id} placed: ${order.total!.units}.${String(order.total!.nanos / 1e7).padStart(2, "0")} EUR, tracking ${order.trackingId}`);
});

test("calls without a token are refused, bad input names its field", async () => {
  await assert.rejects(shop.cart.getCart({}), (error: unknown) => {
    return error instanceof ConnectError && error.code === Code.Unauthenticated;
  });
  const guest = shop.withToken((await shop.startGuestSession()).accessToken);
  await assert.rejects(guest.cart.addItem({ requestId: unique("ts-add"), productId: PRODUCT, quantity: 0 }), (error: unknown) => {
    return error instanceof ConnectError && error.code === Code.InvalidArgument && error.rawMessage.includes("quantity");
  });
});
