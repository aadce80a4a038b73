//! Makes signing keys and tokens for tests of services that check callers.

use ed25519_dalek::SigningKey;

use super::{AUDIENCE, Claims, ISSUER, Verifier, now_secs, sign};

/// A signing key and a verifier that trusts it.
#[derive(Clone, Debug)]
pub struct TestIssuer {
    /// The `kid` its tokens name ("test-key"), under which its verifier holds the key.
    pub key_id: String,
    /// The private key.
    pub key: SigningKey,
}

impl TestIssuer {
    /// A fresh key, from the operating system's randomness.
    pub fn new() -> Self {
        let mut seed = [0_u8; 32];
        getrandom_fill(&mut seed);
        Self {
            key_id: "test-key".to_owned(),
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// A verifier that trusts this issuer's key.
    pub fn verifier(&self) -> Verifier {
        Verifier::with_keys([(self.key_id.clone(), self.key.verifying_key())])
    }

    /// Valid claims for `user_id` (kind "user"), 15 minutes.
    pub fn claims(&self, user_id: &str) -> Claims {
        let now = now_secs();
        Claims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: user_id.to_owned(),
            sid: format!("session-of-{user_id}"),
            kind: "user".to_owned(),
            roles: Vec::new(),
            iat: now,
            exp: now + 900,
        }
    }

    /// A signed token for these claims.
    pub fn token(&self, claims: &Claims) -> String {
        sign(claims, &self.key_id, &self.key)
    }

    /// `Bearer <token>` for a valid token of `user_id`.
    pub fn bearer(&self, user_id: &str) -> String {
        format!("Bearer {}", self.token(&self.claims(user_id)))
    }
}

impl Default for TestIssuer {
    fn default() -> Self {
        Self::new()
    }
}

fn getrandom_fill(buffer: &mut [u8]) {
    // Tests only: a failure of the OS random source is a broken machine.
    getrandom::fill(buffer).expect("the operating system provides randomness");
}

/// The metadata entry that names the caller's identity on a server started with
/// [`crate::service::Overrides::test_peers`], in place of a client certificate:
/// `service/<name>` or `operator/<name>`. Only test builds have it; a server without that
/// override never reads it.
pub const TEST_PEER_HEADER: &str = "x-bazaar-test-peer";

/// The value of [`TEST_PEER_HEADER`] that names service `name`.
pub fn service_peer(name: &str) -> http::HeaderValue {
    peer_value("service", name)
}

/// The value of [`TEST_PEER_HEADER`] that names operator `name`.
pub fn operator_peer(name: &str) -> http::HeaderValue {
    peer_value("operator", name)
}

fn peer_value(kind: &str, name: &str) -> http::HeaderValue {
    http::HeaderValue::try_from(format!("{kind}/{name}"))
        .unwrap_or_else(|_| panic!("{name:?} is not a name a header can carry"))
}

/// The peer that [`TEST_PEER_HEADER`] names, as a certificate would; [`super::Peer::Anonymous`]
/// when the header is absent or names nobody.
pub fn peer_from_test_header(headers: &http::HeaderMap) -> super::Peer {
    headers
        .get(TEST_PEER_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once('/'))
        .and_then(|(kind, name)| match kind {
            "service" => super::Peer::from_uri(&super::Peer::service_uri(name)),
            "operator" => super::Peer::from_uri(&super::Peer::operator_uri(name)),
            _ => None,
        })
        .unwrap_or(super::Peer::Anonymous)
}
