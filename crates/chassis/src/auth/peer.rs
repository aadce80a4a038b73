//! Who is on the other end of the connection: the identity in the client certificate.
//!
//! With mutual TLS (the default), a client may present a certificate signed by the shop's
//! CA; its URI SAN names a service (`spiffe://bazaar.local/service/<name>`) or an operator
//! (`spiffe://bazaar.local/operator/<name>`). The server leaves what it found in each
//! request's extensions as a [`Peer`]; the access rules read it with [`peer`].

/// The trust domain of every identity the shop's CA issues.
pub const TRUST_DOMAIN: &str = "bazaar.local";

/// The caller's connection, as far as its certificate tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    /// A certificate from the shop's CA naming one of its services.
    Service(String),
    /// A certificate from the shop's CA issued to a person operating the shop.
    Operator(String),
    /// No client certificate (or one that names nobody): a caller from outside.
    Anonymous,
    /// The server runs without TLS (`--plaintext`): nobody's identity can be known, and
    /// service-only calls are open to anyone who can reach the port.
    Unverified,
}

impl Peer {
    /// The identity a URI SAN names, if it is one of the shop's.
    pub fn from_uri(uri: &str) -> Option<Self> {
        let path = uri
            .strip_prefix("spiffe://")?
            .strip_prefix(TRUST_DOMAIN)?
            .strip_prefix('/')?;
        let (kind, name) = path.split_once('/')?;
        if name.is_empty() || name.contains('/') {
            return None;
        }
        match kind {
            "service" => Some(Self::Service(name.to_owned())),
            "operator" => Some(Self::Operator(name.to_owned())),
            _ => None,
        }
    }

    /// The URI SAN that names a service.
    pub fn service_uri(name: &str) -> String {
        format!("spiffe://{TRUST_DOMAIN}/service/{name}")
    }

    /// The URI SAN that names an operator.
    pub fn operator_uri(name: &str) -> String {
        format!("spiffe://{TRUST_DOMAIN}/operator/{name}")
    }
}

/// What the connection of `extensions`' request told of its caller; [`Peer::Anonymous`]
/// when the server left nothing.
pub fn peer(extensions: &http::Extensions) -> Peer {
    extensions.get::<Peer>().cloned().unwrap_or(Peer::Anonymous)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_name_services_and_operators_of_the_trust_domain_only() {
        assert_eq!(
            Peer::from_uri(&Peer::service_uri("orders")),
            Some(Peer::Service("orders".into()))
        );
        assert_eq!(
            Peer::from_uri(&Peer::operator_uri("ops")),
            Some(Peer::Operator("ops".into()))
        );
        for other in [
            "spiffe://evil.local/service/orders",
            "spiffe://bazaar.local/service/",
            "spiffe://bazaar.local/service/a/b",
            "spiffe://bazaar.local/robot/x",
            "https://bazaar.local/service/orders",
        ] {
            assert_eq!(Peer::from_uri(other), None, "{other}");
        }
    }
}
