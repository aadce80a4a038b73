/**
 * Call bazaar from TypeScript (Node.js), over gRPC with Connect's Node transport.
 *
 * The messages and service descriptors are compiled from the contract (proto/) into
 * `src/gen` by buf and protoc-gen-es (scripts/gen-clients.sh). This module adds only what
 * the contract cannot say by itself, as the Python client does:
 *
 * - where each service listens: the default ports, or `BAZAAR_<SERVICE>_ADDR`, or another
 *   host through `BAZAAR_ADDR_HOST`;
 * - TLS that trusts only the shop's own CA (`data/pki/ca.crt`, which `bazaar up` writes, or
 *   `BAZAAR_TLS_CA`), a client certificate for operator calls (`BAZAAR_TLS_CERT` and
 *   `BAZAAR_TLS_KEY`), and plaintext for a `bazaar up --plaintext` shop
 *   (`BAZAAR_PLAINTEXT=1`): see `security`;
 * - who is calling: `shop.withToken(token)` gives clients that send
 *   `authorization: Bearer <token>` on every call, as user-scoped RPCs require;
 * - a deadline on every call unless the caller sets one (`timeoutMs`).
 *
 * One HTTP/2 connection per service is shared by a `Bazaar` and all its token views;
 * `close()` ends them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

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

/** Where to find the shop's CA and the client certificate, or that the shop is plaintext. */
export interface TlsOptions {
  /** The data directory of `bazaar up` (default `BAZAAR_DATA_DIR`, else `data`). */
  dataDir?: string;
  /** The CA to trust, PEM (default `BAZAAR_TLS_CA`, else `<dataDir>/pki/ca.crt`). */
  ca?: string;
  /** A client certificate, PEM, for operator calls (default `BAZAAR_TLS_CERT`). */
  cert?: string;
  /** Its private key, PEM (default `BAZAAR_TLS_KEY`). */
  key?: string;
  /** Plaintext gRPC, for a `bazaar up --plaintext` shop (default: `BAZAAR_PLAINTEXT` set). */
  plaintext?: boolean;
}

/** How the connections are made: plaintext, or TLS with the CA and maybe a client certificate. */
export type Security =
  | { plaintext: true }
  | { plaintext: false; ca: Buffer; cert?: Buffer; key?: Buffer };

/** A boolean variable as bazaar's services read one: unset, empty, 0, false, no, off are false. */
function truthy(text: string | undefined): boolean {
  return !["", "0", "false", "no", "off"].includes((text ?? "").trim().toLowerCase());
}

function read(what: string, path: string, hint: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new Error(`cannot read the ${what} ${path} (${reason}); ${hint}`, { cause: error });
  }
}

/**
 * Resolves `options` and the environment into how to connect, reading the files (so a
 * missing one fails at once, named):
 *
 * - plaintext when `plaintext` is true or, when it is not given, when `BAZAAR_PLAINTEXT` is
 *   set to anything but 0/false/no/off;
 * - otherwise TLS trusting only `ca`, else `BAZAAR_TLS_CA`, else `<dataDir>/pki/ca.crt`
 *   (`dataDir`: the option, else `BAZAAR_DATA_DIR`, else `data` in the working directory);
 * - with the client certificate `cert` and `key` (else `BAZAAR_TLS_CERT`, `BAZAAR_TLS_KEY`;
 *   both or neither) when given: operator calls need one, such as `<dataDir>/pki/operator.crt`.
 */
export function security(options: TlsOptions = {}): Security {
  const env = process.env;
  if (options.plaintext ?? truthy(env.BAZAAR_PLAINTEXT)) {
    return { plaintext: true };
  }
  const dataDir = options.dataDir ?? (env.BAZAAR_DATA_DIR || "data");
  const ca = options.ca ?? (env.BAZAAR_TLS_CA || join(dataDir, "pki", "ca.crt"));
  const cert = options.cert ?? (env.BAZAAR_TLS_CERT || undefined);
  const key = options.key ?? (env.BAZAAR_TLS_KEY || undefined);
  if ((cert === undefined) !== (key === undefined)) {
    throw new Error(
      "a client certificate needs its key, and a key its certificate: give both (BAZAAR_TLS_CERT and BAZAAR_TLS_KEY) or neither",
    );
  }
  const hint = "the client certificate and key are given by BAZAAR_TLS_CERT and BAZAAR_TLS_KEY";
  return {
    plaintext: false,
    ca: read(
      "CA certificate",
      ca,
      "`bazaar up` writes the shop's CA to <data-dir>/pki/ca.crt: run from the directory that holds data/, " +
        "or set BAZAAR_TLS_CA (or BAZAAR_DATA_DIR); for a shop started with --plaintext, set BAZAAR_PLAINTEXT=1",
    ),
    cert: cert === undefined ? undefined : read("client certificate", cert, hint),
    key: key === undefined ? undefined : read("client key", key, hint),
  };
}

/** What a `Bazaar` shares with its token views: the connections and how they are made. */
interface Shared {
  sessions: Map<ServiceName, Http2SessionManager>;
  security: Security;
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

/** Options of `new Bazaar(...)`. */
export interface BazaarOptions extends TlsOptions {
  /** The host of every service (default `BAZAAR_ADDR_HOST`, else 127.0.0.1). */
  host?: string;
  /** The caller's access token, sent as `authorization: Bearer <token>`. */
  token?: string;
  /** Deadline of a call made without its own `timeoutMs` (default 10 s). */
  timeoutMs?: number;
}

/** Clients of every bazaar service, over gRPC (HTTP/2) with TLS. */
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

  private readonly shared: Shared;
  private readonly options: BazaarOptions;

  /**
   * `new Bazaar()` finds the services on 127.0.0.1 at their default ports (see `address`
   * for the environment variables that move them) and trusts the shop's CA in
   * `data/pki/ca.crt`; the TLS options change that as `security` describes (a missing CA
   * file throws here).
   */
  constructor(options: BazaarOptions = {}, shared?: Shared) {
    this.shared = shared ?? { sessions: new Map(), security: security(options) };
    this.options = options;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const tls = this.shared.security;
    const scheme = tls.plaintext ? "http" : "https";
    const client = <S extends DescService>(service: S, name: ServiceName): Client<S> => {
      const baseUrl = `${scheme}://${address(name, options.host)}`;
      let sessionManager = this.shared.sessions.get(name);
      if (sessionManager === undefined) {
        sessionManager = new Http2SessionManager(
          baseUrl,
          undefined,
          tls.plaintext ? {} : { ca: tls.ca, cert: tls.cert, key: tls.key },
        );
        this.shared.sessions.set(name, sessionManager);
      }
      const transport = createGrpcTransport({
        baseUrl,
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
    return new Bazaar({ ...this.options, token }, this.shared);
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
    for (const session of this.shared.sessions.values()) {
      session.abort();
    }
    this.shared.sessions.clear();
  }
}
