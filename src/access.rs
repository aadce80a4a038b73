//! Who may call what: the one table of access rules, one rule per RPC.
//!
//! Every method of every service the shop serves has exactly one [`Rule`] here, keyed by its
//! full gRPC path (`/bazaar.payment.v1.PaymentService/Charge`), and the proto comment of
//! the method says the same rule in words on its `Access:` line (a test of this crate reads
//! the descriptor set and holds the two together). The chassis enforces the table on every
//! server, before any handler runs; a path with no rule is refused. Nothing else in the
//! shop decides who may call an RPC: handlers only narrow what a permitted caller sees
//! (their own cart, their own orders).
//!
//! Callers show who they are in two ways, and a rule may accept several:
//!
//! - a token that identity signed, in the `authorization` metadata: any valid one for
//!   [`Rule::user`] (a signed-up user or a guest; the handler then scopes to the caller's own
//!   resources), one with the admin role for [`Rule::admin`];
//! - the client certificate of the connection (mutual TLS): one naming a service of the shop
//!   for [`Rule::services`], one issued to an operator for [`Rule::operator`].
//!
//! [`Rule::public`] methods need neither.

/// Who may call one RPC. A caller is let through when it satisfies any of the parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Anyone, with or without credentials.
    pub public: bool,
    /// Any valid token, user or guest: the handler scopes to the caller's own resources.
    pub user: bool,
    /// A valid token with the admin role.
    pub admin: bool,
    /// A client certificate naming one of these services.
    pub services: &'static [&'static str],
    /// A client certificate issued to an operator of the shop.
    pub operator: bool,
}

impl Rule {
    /// Anyone may call.
    pub const PUBLIC: Rule = Rule {
        public: true,
        ..Rule::NOBODY
    };
    /// Any valid token, user or guest; the caller's own resources only.
    pub const USER: Rule = Rule {
        user: true,
        ..Rule::NOBODY
    };
    /// A valid token with the admin role.
    pub const ADMIN: Rule = Rule {
        admin: true,
        ..Rule::NOBODY
    };
    /// Nobody: the start of a rule built with [`Rule::internal`] and the `or_*` methods.
    const NOBODY: Rule = Rule {
        public: false,
        user: false,
        admin: false,
        services: &[],
        operator: false,
    };

    /// The shop's own `services` may call (by the certificate of their connection).
    pub const fn internal(services: &'static [&'static str]) -> Rule {
        Rule {
            services,
            ..Rule::NOBODY
        }
    }

    /// This rule, or an admin token.
    #[must_use]
    pub const fn or_admin(self) -> Rule {
        Rule {
            admin: true,
            ..self
        }
    }

    /// This rule, or an operator's certificate.
    #[must_use]
    pub const fn or_operator(self) -> Rule {
        Rule {
            operator: true,
            ..self
        }
    }

    /// Whether some token could satisfy the rule (user or admin).
    pub fn takes_tokens(&self) -> bool {
        self.user || self.admin
    }

    /// Whether some client certificate could satisfy the rule (a service or an operator).
    pub fn takes_certificates(&self) -> bool {
        !self.services.is_empty() || self.operator
    }

    /// The rule in words, as the proto comment's `Access:` line says it and as refusals
    /// name what is required: `internal (the orders service), or admin (a token with the
    /// admin role)`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.public {
            parts.push("public (anyone, no credentials needed)".to_owned());
        }
        if self.user {
            parts.push("user (a valid user or guest token; own resources only)".to_owned());
        }
        if !self.services.is_empty() {
            let noun = if self.services.len() == 1 {
                "service"
            } else {
                "services"
            };
            parts.push(format!(
                "internal (the {} {noun})",
                self.services.join(" or ")
            ));
        }
        if self.admin {
            parts.push("admin (a token with the admin role)".to_owned());
        }
        if self.operator {
            parts.push("operator (an operator certificate)".to_owned());
        }
        if parts.is_empty() {
            parts.push("nobody".to_owned());
        }
        parts.join(", or ")
    }
}

/// The services whose background work (checkout, saga recovery) calls the checkout's
/// callees.
const ORDERS: &[&str] = &["orders"];

/// The followers of the order event stream.
const EVENT_FOLLOWERS: &[&str] = &["notification", "recommendation"];

/// Every RPC the shop serves and its rule, by full path. See the [module](self) docs.
pub const RULES: &[(&str, Rule)] = &[
    // Health and reflection: every server has them; orchestrators and grpcurl need them.
    ("/grpc.health.v1.Health/Check", Rule::PUBLIC),
    ("/grpc.health.v1.Health/Watch", Rule::PUBLIC),
    (
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        Rule::PUBLIC,
    ),
    (
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        Rule::PUBLIC,
    ),
    // catalog: what is for sale is no secret.
    (
        "/bazaar.catalog.v1.CatalogService/ListProducts",
        Rule::PUBLIC,
    ),
    ("/bazaar.catalog.v1.CatalogService/GetProduct", Rule::PUBLIC),
    (
        "/bazaar.catalog.v1.CatalogService/BatchGetProducts",
        Rule::PUBLIC,
    ),
    (
        "/bazaar.catalog.v1.CatalogService/SearchProducts",
        Rule::PUBLIC,
    ),
    (
        "/bazaar.catalog.v1.CatalogService/ListCategories",
        Rule::PUBLIC,
    ),
    (
        "/bazaar.catalog.v1.CatalogService/GetCategory",
        Rule::PUBLIC,
    ),
    // currency: published rates.
    (
        "/bazaar.currency.v1.CurrencyService/ListCurrencies",
        Rule::PUBLIC,
    ),
    (
        "/bazaar.currency.v1.CurrencyService/GetCurrency",
        Rule::PUBLIC,
    ),
    ("/bazaar.currency.v1.CurrencyService/Convert", Rule::PUBLIC),
    // identity: the calls that hand out tokens need none (the password or the refresh token
    // in the body is the credential); the ones that act on a session take its token.
    ("/bazaar.identity.v1.IdentityService/SignUp", Rule::PUBLIC),
    ("/bazaar.identity.v1.IdentityService/LogIn", Rule::PUBLIC),
    (
        "/bazaar.identity.v1.IdentityService/StartGuestSession",
        Rule::PUBLIC,
    ),
    (
        "/bazaar.identity.v1.IdentityService/RefreshSession",
        Rule::PUBLIC,
    ),
    ("/bazaar.identity.v1.IdentityService/LogOut", Rule::USER),
    (
        "/bazaar.identity.v1.IdentityService/GetCurrentUser",
        Rule::USER,
    ),
    ("/bazaar.identity.v1.IdentityService/ClaimAdmin", Rule::USER),
    (
        "/bazaar.identity.v1.IdentityService/ListSigningKeys",
        Rule::PUBLIC,
    ),
    // cart: the caller's own cart. orders reads and empties it with the shopper's token.
    ("/bazaar.cart.v1.CartService/GetCart", Rule::USER),
    ("/bazaar.cart.v1.CartService/AddItem", Rule::USER),
    ("/bazaar.cart.v1.CartService/SetItemQuantity", Rule::USER),
    ("/bazaar.cart.v1.CartService/RemoveItem", Rule::USER),
    ("/bazaar.cart.v1.CartService/EmptyCart", Rule::USER),
    ("/bazaar.cart.v1.CartService/MergeGuestCart", Rule::USER),
    // inventory: stock levels are shown to shoppers; reservations belong to the checkout.
    (
        "/bazaar.inventory.v1.InventoryService/GetStock",
        Rule::PUBLIC,
    ),
    (
        "/bazaar.inventory.v1.InventoryService/BatchGetStock",
        Rule::PUBLIC,
    ),
    (
        "/bazaar.inventory.v1.InventoryService/Restock",
        Rule::ADMIN.or_operator(),
    ),
    (
        "/bazaar.inventory.v1.InventoryService/ReserveStock",
        Rule::internal(ORDERS),
    ),
    (
        "/bazaar.inventory.v1.InventoryService/GetReservation",
        Rule::internal(ORDERS).or_operator(),
    ),
    (
        "/bazaar.inventory.v1.InventoryService/CommitReservation",
        Rule::internal(ORDERS),
    ),
    (
        "/bazaar.inventory.v1.InventoryService/ReleaseReservation",
        Rule::internal(ORDERS),
    ),
    // payment: only the checkout moves money; the ledger is for it, admins and operators.
    (
        "/bazaar.payment.v1.PaymentService/Charge",
        Rule::internal(ORDERS),
    ),
    (
        "/bazaar.payment.v1.PaymentService/Refund",
        Rule::internal(ORDERS),
    ),
    (
        "/bazaar.payment.v1.PaymentService/GetCharge",
        Rule::internal(ORDERS).or_admin().or_operator(),
    ),
    (
        "/bazaar.payment.v1.PaymentService/ListCharges",
        Rule::internal(ORDERS).or_admin().or_operator(),
    ),
    // shipping: quotes are shown to shoppers; shipments belong to the checkout.
    ("/bazaar.shipping.v1.ShippingService/GetQuote", Rule::PUBLIC),
    (
        "/bazaar.shipping.v1.ShippingService/CreateShipment",
        Rule::internal(ORDERS),
    ),
    (
        "/bazaar.shipping.v1.ShippingService/CancelShipment",
        Rule::internal(ORDERS),
    ),
    (
        "/bazaar.shipping.v1.ShippingService/GetShipment",
        Rule::internal(ORDERS).or_admin().or_operator(),
    ),
    // orders: shoppers see their own; the event stream carries everyone's personal data.
    ("/bazaar.orders.v1.OrdersService/PlaceOrder", Rule::USER),
    ("/bazaar.orders.v1.OrdersService/GetOrder", Rule::USER),
    ("/bazaar.orders.v1.OrdersService/ListOrders", Rule::USER),
    (
        "/bazaar.orders.v1.OrdersService/StreamOrderEvents",
        Rule::internal(EVENT_FOLLOWERS).or_operator(),
    ),
    // notification: a shopper's own messages (all of them for an admin).
    (
        "/bazaar.notification.v1.NotificationService/ListNotifications",
        Rule::USER,
    ),
    (
        "/bazaar.notification.v1.NotificationService/GetNotification",
        Rule::USER,
    ),
    // recommendation: what was bought together, no personal data.
    (
        "/bazaar.recommendation.v1.RecommendationService/ListRecommendations",
        Rule::PUBLIC,
    ),
];

/// The service whose certificate `service` expects on the RPCs that only services may call
/// (no token, no operator): `orders` for payment, shipping and inventory; `None` when every
/// RPC of `service` admits a token or an operator. Tools that exercise a whole service (the
/// conformance kit, the tests) call it as that caller would.
pub fn trusted_caller(service: &str) -> Option<&'static str> {
    let prefix = format!("/bazaar.{service}.v1.");
    RULES
        .iter()
        .filter(|(path, _)| path.starts_with(&prefix))
        .find_map(|(_, rule)| {
            (!rule.public && !rule.user && !rule.admin && !rule.operator)
                .then(|| rule.services.first().copied())
                .flatten()
        })
}

/// The rule of the RPC at `path` (`/package.Service/Method`); `None` for a path the table
/// does not know, which must be refused.
pub fn rule(path: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|(known, _)| *known == path)
        .map(|(_, rule)| rule)
}

#[cfg(test)]
mod tests;
