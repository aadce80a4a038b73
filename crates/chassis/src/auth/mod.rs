//! Who is calling: access tokens, verified offline by every service.
//!
//! identity signs short-lived access tokens; every other service verifies them itself, with
//! identity's public keys fetched once and cached, so verification keeps working while
//! identity is down. The token format is part of the contract (see `identity.proto`): a JWT
//! in JWS compact form, `alg` "EdDSA" (Ed25519), a `kid` header naming the key, and the
//! claims of [`Claims`].
//!
//! On a server, [`AuthLayer`] reads `authorization: Bearer <token>` on every call, verifies
//! it and leaves the result in the request's extensions; a user-scoped handler asks for the
//! caller with [`caller`], which answers `UNAUTHENTICATED` when there is no valid token. A
//! handler never reads a user id from the request. The raw header is also kept for the
//! duration of the call so that outbound calls made on the caller's behalf carry it
//! ([`PropagateAuthLayer`]).
//!
//! One concern per file: `token` (the token format and its checks, no I/O), `verifier`
//! (cached keys), `keys` (fetching identity's keys), `layer` (the server and client
//! layers), `testing` (keys and tokens for tests; feature `testing`, also re-exported from
//! `chassis::testing`). Everything is used through this module:
//! `chassis::auth::Verifier`, `chassis::auth::caller`, ...

mod access;
mod keys;
mod layer;
mod peer;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod token;
mod verifier;

pub use access::{Access, AccessLayer, check, check_rule};
pub use layer::{
    Auth, AuthLayer, Authentication, PropagateAuth, PropagateAuthLayer, caller,
    current_authorization,
};
pub use peer::{Peer, TRUST_DOMAIN, peer};
pub use token::{
    Caller, CallerKind, Claims, TokenError, bearer_token, key_id, now_secs, sign, verify,
};
pub use verifier::Verifier;

/// The `iss` claim of every token.
pub const ISSUER: &str = "bazaar.identity";
/// The `aud` claim of every token.
pub const AUDIENCE: &str = "bazaar";
/// Clock skew tolerated on `exp` and `iat`, in seconds.
pub const MAX_SKEW_SECS: i64 = 60;
/// The metadata key that carries the token.
pub const AUTHORIZATION: &str = "authorization";
