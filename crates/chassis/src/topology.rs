//! The shop's services, as one table: name, default port, role, what each calls, how to ask
//! whether it is ready, and whether it keeps a SQL store.
//!
//! This is the single list that everything driving more than one service reads: the command
//! line (`bazaar up`, `serve`, `status`), the in-process test shop, the storefront's status
//! page and the docs. It says where services are and how they depend on each other, never
//! what they do. The order is a dependency order: a service comes after every service it
//! calls, so starting in this order and stopping in the reverse one never leaves a caller
//! without its callee for longer than needed. A service crate names its row in its
//! [`crate::service::Service`] implementation; adding a service means one crate and one row
//! here.

/// Whether the shop can sell without a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// On the critical path: browsing or checkout fails without it.
    Critical,
    /// A feature that degrades gracefully: pages and checkouts go on without it.
    Optional,
}

impl Role {
    /// `critical` or `optional`, as the status page and the docs say it.
    pub fn label(self) -> &'static str {
        match self {
            Role::Critical => "critical",
            Role::Optional => "optional",
        }
    }
}

/// How a running service says it is ready to answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// `grpc.health.v1.Health/Check` answers `SERVING`.
    Grpc,
    /// `GET <path>` over HTTP/1.1 answers 200.
    Http(&'static str),
}

/// One row of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The name everywhere: `bazaar serve <name>`, logs, `BAZAAR_<NAME>_ADDR`.
    pub name: &'static str,
    /// The port it listens on, on 127.0.0.1, unless told otherwise.
    pub port: u16,
    /// The port of its admin listener (`/metrics`, `/healthz`, `/readyz`; see
    /// [`crate::admin`]), on the same host, unless told otherwise.
    pub admin_port: u16,
    /// Whether the shop can sell without it.
    pub role: Role,
    /// The services it calls; each is a `--<callee>-addr` flag of its own.
    pub calls: &'static [&'static str],
    /// How to ask it whether it is ready.
    pub probe: Probe,
    /// Whether it keeps a SQL store (`--database-url`, a SQLite file by default).
    pub sql: bool,
}

/// Products, categories, search.
pub const CATALOG: Spec = Spec {
    name: "catalog",
    port: 50051,
    admin_port: 9451,
    role: Role::Critical,
    calls: &[],
    probe: Probe::Grpc,
    sql: true,
};

/// Exchange rates and conversion.
pub const CURRENCY: Spec = Spec {
    name: "currency",
    port: 50052,
    admin_port: 9452,
    role: Role::Optional,
    calls: &[],
    probe: Probe::Grpc,
    sql: false,
};

/// Accounts, sessions, the keys that sign tokens.
pub const IDENTITY: Spec = Spec {
    name: "identity",
    port: 50053,
    admin_port: 9453,
    role: Role::Critical,
    calls: &[],
    probe: Probe::Grpc,
    sql: true,
};

/// Carts of users and guests.
pub const CART: Spec = Spec {
    name: "cart",
    port: 50054,
    admin_port: 9454,
    role: Role::Critical,
    calls: &["identity"],
    probe: Probe::Grpc,
    sql: true,
};

/// Stock and reservations.
pub const INVENTORY: Spec = Spec {
    name: "inventory",
    port: 50055,
    admin_port: 9455,
    role: Role::Critical,
    calls: &["identity"],
    probe: Probe::Grpc,
    sql: true,
};

/// Charges and refunds.
pub const PAYMENT: Spec = Spec {
    name: "payment",
    port: 50056,
    admin_port: 9456,
    role: Role::Critical,
    calls: &["identity"],
    probe: Probe::Grpc,
    sql: true,
};

/// Quotes and shipments.
pub const SHIPPING: Spec = Spec {
    name: "shipping",
    port: 50057,
    admin_port: 9457,
    role: Role::Critical,
    calls: &["identity"],
    probe: Probe::Grpc,
    sql: true,
};

/// Checkout, orders and their event stream.
pub const ORDERS: Spec = Spec {
    name: "orders",
    port: 50058,
    admin_port: 9458,
    role: Role::Critical,
    calls: &[
        "identity",
        "cart",
        "catalog",
        "currency",
        "inventory",
        "payment",
        "shipping",
    ],
    probe: Probe::Grpc,
    sql: true,
};

/// Order confirmations.
pub const NOTIFICATION: Spec = Spec {
    name: "notification",
    port: 50059,
    admin_port: 9459,
    role: Role::Optional,
    calls: &["identity", "orders"],
    probe: Probe::Grpc,
    sql: true,
};

/// Recommendations from what was bought together.
pub const RECOMMENDATION: Spec = Spec {
    name: "recommendation",
    port: 50060,
    admin_port: 9460,
    role: Role::Optional,
    calls: &["catalog", "orders"],
    probe: Probe::Grpc,
    sql: false,
};

/// The storefront for browsers and its JSON API; HTTP, not gRPC.
pub const GATEWAY: Spec = Spec {
    name: "gateway",
    port: 8080,
    admin_port: 9461,
    role: Role::Critical,
    calls: &[
        "catalog",
        "currency",
        "identity",
        "cart",
        "inventory",
        "payment",
        "shipping",
        "orders",
        "notification",
        "recommendation",
    ],
    probe: Probe::Http("/healthz"),
    sql: false,
};

/// The admin port of `bazaar up` itself: its own metrics (the processes it supervises,
/// their restarts) and health.
pub const SUPERVISOR_ADMIN_PORT: u16 = 9450;

/// Every service, callees before callers; the gateway last.
pub const SERVICES: &[Spec] = &[
    CATALOG,
    CURRENCY,
    IDENTITY,
    CART,
    INVENTORY,
    PAYMENT,
    SHIPPING,
    ORDERS,
    NOTIFICATION,
    RECOMMENDATION,
    GATEWAY,
];

/// The gRPC services (every row but the storefront), callees before callers.
pub fn grpc_services() -> impl Iterator<Item = &'static Spec> {
    SERVICES.iter().filter(|spec| spec.probe == Probe::Grpc)
}

/// A service by name.
pub fn find(name: &str) -> Option<&'static Spec> {
    SERVICES.iter().find(|spec| spec.name == name)
}

/// Every name, comma-separated, for messages.
pub fn names() -> String {
    SERVICES
        .iter()
        .map(|spec| spec.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_come_after_what_they_call() {
        for (i, service) in SERVICES.iter().enumerate() {
            for callee in service.calls {
                let position = SERVICES.iter().position(|s| s.name == *callee);
                assert!(
                    position.is_some_and(|p| p < i),
                    "{} calls {callee}, which must come before it",
                    service.name
                );
            }
        }
    }

    #[test]
    fn names_and_ports_are_unique() {
        for (i, a) in SERVICES.iter().enumerate() {
            for b in &SERVICES[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.port, b.port);
            }
        }
    }

    #[test]
    fn a_service_is_found_by_its_name_only() {
        assert_eq!(find("orders"), Some(&ORDERS));
        assert_eq!(find("Orders"), None);
        assert!(names().starts_with("catalog, currency"));
        assert_eq!(grpc_services().count(), SERVICES.len() - 1);
    }
}
