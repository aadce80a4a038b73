/**
 * Call bazaar from TypeScript (Node.js), over gRPC with Connect's Node transport.
 *
 * The messages and service descriptors are compiled from the contract (proto/) into
 * `src/gen` by buf and protoc-gen-es (scripts/gen-clients.sh). This module adds only what
 * the contract cannot say by itself, as the Python client does:
 *
 * - where each service listens: the default ports, or `BAZAAR_<SERVICE>_ADDR`, or another
 *   host through `BAZAAR_ADDR_HOST`;
 * - who is calling: `shop.withToken(token)` gives clients that send
 *   `authorization: Bearer <token>` on every call, as user-scoped RPCs require;
 * - a deadline on every call unless the caller sets one (`timeoutMs`).
 *
 * One HTTP/2 connection per service is shared by a `Bazaar` and all its token views;
 * `close()` ends them.
 */
import type { DescService } from "@bufbuild/protobuf";
import { type Client, type Interceptor, createClient } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";

import { CartService } from "./gen/bazaar/cart/v1/cart_pb.js";
import { CatalogService } from "./gen/bazaar/catalog/v1/catalog_pb.js";
import { CurrencyService } from "./gen/bazaar/currency/v1/currency_pb.js";
import { IdentityService, type Session } from "./gen/bazaar/identity/v1/identity_pb.js";
import { InventoryService } from "./gen/bazaar/inventory/v1/inventory_pb.js";
import { NotificationService } from "./gen/bazaar/notification/v1/notification_pb.js";
import { OrdersService } from "./gen/bazaar/orders/v1/orders_pb.js";
import { PaymentService } from "./gen/bazaar/payment/v1/payment_pb.js";
import { RecommendationService } from "./gen/bazaar/recommendation/v1/recommendation_pb.js";
import { ShippingService } from "./gen/bazaar/shipping/v1/shipping_pb.js";

/** Where each service listens unless told otherwise (the same table as the README's). */
export const DEFAULT_PORTS = {
  catalog: 50051,
  currency: 50052,
  identity: 50053,
  cart: 50054,
  inventory: 50055,
  payment: 50056,
  shipping: 50057,
  orders: 50058,
  notification: 50059,
  recommendation: 50060,
} as const;

export type ServiceName = keyof typeof DEFAULT_PORTS;

/** Deadline, in milliseconds, of a call made without its own `timeoutMs`. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * `host:port` of `service`: `BAZAAR_<SERVICE>_ADDR` if set, else `host` (default
 * `BAZAAR_ADDR_HOST`, else 127.0.0.1) on the service's default port.
 */
export function address(service: ServiceName, host?: string): string {
  const explicit = process.env[`BAZAAR_${service.toUpperCase()}_ADDR`];
  if (explicit) {
    return explicit;
  }
  return `${host ?? process.env.BAZAAR_ADDR_HOST ?? "127.0.0.1"}:${DEFAULT_PORTS[service]}`;
}

/** Adds the caller's token, when there is one, to every call. */
function bearer(token: string | undefined): Interceptor {
  return (next) => async (request) => {
    if (token !== undefined && !request.header.has("authorization")) {
      request.header.set("authorization", `Bearer ${token}`);
    }
    return next(request);
  };
}

/** Clients of every bazaar service, over plaintext gRPC (HTTP/2). */
export class Bazaar {
  readonly catalog: Client<typeof CatalogService>;
  readonly currency: Client<typeof CurrencyService>;
  readonly identity: Client<typeof IdentityService>;
  readonly cart: Client<typeof CartService>;
  readonly inventory: Client<typeof InventoryService>;
  readonly payment: Client<typeof PaymentService>;
  readonly shipping: Client<typeof ShippingService>;
  readonly orders: Client<typeof OrdersService>;
  readonly notification: Client<typeof NotificationService>;
  readonly recommendation: Client<typeof RecommendationService>;

  private readonly sessions: Map<ServiceName, Http2SessionManager>;
  private readonly options: { host?: string; token?: string; timeoutMs?: number };

  /**
   * `new Bazaar()` finds the services on 127.0.0.1 at their default ports (see `address`
   * for the environment variables that move them).
   */
  constructor(
    options: { host?: string; token?: string; timeoutMs?: number } = {},
    sessions?: Map<ServiceName, Http2SessionManager>,
  ) {
    this.sessions = sessions ?? new Map();
    this.options = options;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const client = <S extends DescService>(service: S, name: ServiceName): Client<S> => {
      let sessionManager = this.sessions.get(name);
      if (sessionManager === undefined) {
        sessionManager = new Http2SessionManager(`http://${address(name, options.host)}`);
        this.sessions.set(name, sessionManager);
      }
      const transport = createGrpcTransport({
        baseUrl: `http://${address(name, options.host)}`,
        sessionManager,
        interceptors: [bearer(options.token)],
        defaultTimeoutMs: timeoutMs,
      });
      return createClient(service, transport);
    };
    this.catalog = client(CatalogService, "catalog");
    this.currency = client(CurrencyService, "currency");
    this.identity = client(IdentityService, "identity");
    this.cart = client(CartService, "cart");
    this.inventory = client(InventoryService, "inventory");
    this.payment = client(PaymentService, "payment");
    this.shipping = client(ShippingService, "shipping");
    this.orders = client(OrdersService, "orders");
    this.notification = client(NotificationService, "notification");
    this.recommendation = client(RecommendationService, "recommendation");
  }

  /**
   * The same services, calling as the holder of `token` (an access token from identity's
   * SignUp, LogIn or StartGuestSession). Shares this object's connections.
   */
  withToken(token: string): Bazaar {
    return new Bazaar({ ...this.options, token }, this.sessions);
  }

  /** A new guest session: its `accessToken` lets the guest fill a cart and order. */
  async startGuestSession(): Promise<Session> {
    const { session } = await this.identity.startGuestSession({});
    if (session === undefined) {
      throw new Error("identity answered StartGuestSession without a session");
    }
    return session;
  }

  /** Closes every connection (of this object and of its token views). */
  close(): void {
    for (const session of this.sessions.values()) {
      session.abort();
    }
    this.sessions.clear();
  }
}
