//! The services bazaar is made of, as the command line knows them: name, port, what each
//! calls, how to tell it is ready, and how to run one in this process. The last is the
//! gateway, the storefront for browsers, which answers HTTP rather than gRPC.
//!
//! This is the list the command line runs. The order is a dependency order: a service comes
//! after every service it calls, so `bazaar up` starts them in this order and stops them in
//! the reverse one. `bazaar-testkit` keeps the test-time view of the same gRPC services
//! (their stores and quick test flags); a test below keeps the two lists equal.

use std::ffi::OsString;

use chassis::Shutdown;
use clap::Parser;

/// One service of the shop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    /// Its name (`bazaar serve <name>`).
    pub name: &'static str,
    /// Its default port on 127.0.0.1.
    pub port: u16,
    /// The services it calls.
    pub calls: &'static [&'static str],
    /// How to ask it whether it is ready.
    pub probe: Probe,
}

/// How a service says it is ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// `grpc.health.v1.Health/Check` answers SERVING.
    Grpc,
    /// `GET <path>` over HTTP/1.1 answers 200.
    Http(&'static str),
}

/// Every service, callees before callers.
pub const SERVICES: &[ServiceSpec] = &[
    ServiceSpec {
        name: catalog::NAME,
        port: catalog::DEFAULT_PORT,
        calls: &[],
        probe: Probe::Grpc,
    },
    ServiceSpec {
        name: currency::NAME,
        port: currency::DEFAULT_PORT,
        calls: &[],
        probe: Probe::Grpc,
    },
    ServiceSpec {
        name: identity::NAME,
        port: identity::DEFAULT_PORT,
        calls: &[],
        probe: Probe::Grpc,
    },
    ServiceSpec {
        name: cart::NAME,
        port: cart::DEFAULT_PORT,
        calls: &[identity::NAME],
        probe: Probe::Grpc,
    },
    ServiceSpec {
        name: inventory::NAME,
        port: inventory::DEFAULT_PORT,
        calls: &[identity::NAME],
        probe: Probe::Grpc,
    },
    ServiceSpec {
        name: payment::NAME,
        port: payment::DEFAULT_PORT,
        calls: &[],
        probe: Probe::Grpc,
    },
    ServiceSpec {
        name: shipping::NAME,
        port: shipping::DEFAULT_PORT,
        calls: &[],
        probe: Probe::Grpc,
    },
    ServiceSpec {
        name: orders::NAME,
        port: orders::DEFAULT_PORT,
        calls: &[
            identity::NAME,
            cart::NAME,
            catalog::NAME,
            currency::NAME,
            inventory::NAME,
            payment::NAME,
            shipping::NAME,
        ],
        probe: Probe::Grpc,
    },
    ServiceSpec {
        name: notification::NAME,
        port: notification::DEFAULT_PORT,
        calls: &[orders::NAME],
        probe: Probe::Grpc,
    },
    ServiceSpec {
        name: recommendation::NAME,
        port: recommendation::DEFAULT_PORT,
        calls: &[catalog::NAME, orders::NAME],
        probe: Probe::Grpc,
    },
    ServiceSpec {
        name: gateway::NAME,
        port: gateway::DEFAULT_PORT,
        calls: &[
            catalog::NAME,
            currency::NAME,
            identity::NAME,
            cart::NAME,
            inventory::NAME,
            payment::NAME,
            shipping::NAME,
            orders::NAME,
            notification::NAME,
            recommendation::NAME,
        ],
        probe: Probe::Http("/healthz"),
    },
];

/// A service by name.
pub fn find(name: &str) -> Option<&'static ServiceSpec> {
    SERVICES.iter().find(|s| s.name == name)
}

/// The names, for messages.
pub fn names() -> String {
    SERVICES
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs service `name` in this process until `shutdown`, parsing `args` (its own flags, as
/// its binary takes them).
pub async fn serve(name: &str, args: Vec<OsString>, shutdown: Shutdown) -> Result<(), String> {
    let argv = std::iter::once(OsString::from(name)).chain(args);
    let failed = |error: &(dyn std::error::Error + 'static)| {
        format!("{name}: {}", chassis::error::chain(error))
    };
    match name {
        catalog::NAME => {
            let config = catalog::Config::try_parse_from(argv).map_err(|e| e.to_string())?;
            catalog::serve(config, shutdown)
                .await
                .map_err(|e| failed(&e))
        }
        currency::NAME => {
            let config = currency::Config::try_parse_from(argv).map_err(|e| e.to_string())?;
            currency::serve(config, shutdown)
                .await
                .map_err(|e| failed(&e))
        }
        identity::NAME => {
            let config = identity::Config::try_parse_from(argv).map_err(|e| e.to_string())?;
            identity::serve(config, shutdown)
                .await
                .map_err(|e| failed(&e))
        }
        cart::NAME => {
            let config = cart::Config::try_parse_from(argv).map_err(|e| e.to_string())?;
            cart::serve(config, shutdown).await.map_err(|e| failed(&e))
        }
        inventory::NAME => {
            let config = inventory::Config::try_parse_from(argv).map_err(|e| e.to_string())?;
            inventory::serve(config, shutdown)
                .await
                .map_err(|e| failed(&e))
        }
        shipping::NAME => {
            let config = shipping::Config::try_parse_from(argv).map_err(|e| e.to_string())?;
            shipping::serve(config, shutdown)
                .await
                .map_err(|e| failed(&e))
        }
        payment::NAME => {
            let config = payment::Config::try_parse_from(argv).map_err(|e| e.to_string())?;
            payment::serve(config, shutdown)
                .await
                .map_err(|e| failed(&e))
        }
        orders::NAME => {
            let config = orders::Config::try_parse_from(argv).map_err(|e| e.to_string())?;
            orders::serve(config, shutdown)
                .await
                .map_err(|e| failed(&e))
        }
        notification::NAME => {
            let config = notification::Config::try_parse_from(argv).map_err(|e| e.to_string())?;
            notification::serve(config, shutdown)
                .await
                .map_err(|e| failed(&e))
        }
        recommendation::NAME => {
            let config = recommendation::Config::try_parse_from(argv).map_err(|e| e.to_string())?;
            recommendation::serve(config, shutdown)
                .await
                .map_err(|e| failed(&e))
        }
        gateway::NAME => {
            let config = gateway::Config::try_parse_from(argv).map_err(|e| e.to_string())?;
            gateway::serve(config, shutdown)
                .await
                .map_err(|e| failed(&e))
        }
        other => Err(format!("unknown service {other:?}; known: {}", names())),
    }
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
    fn the_testkit_starts_the_same_services_in_the_same_order() {
        let here: Vec<(&str, &[&str])> = SERVICES
            .iter()
            .filter(|s| s.probe == Probe::Grpc)
            .map(|s| (s.name, s.calls))
            .collect();
        let testkit: Vec<(&str, &[&str])> = bazaar_testkit::SERVICES
            .iter()
            .map(|s| (s.name, s.calls))
            .collect();
        assert_eq!(here, testkit);
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
}
