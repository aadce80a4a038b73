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

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier as _, VerifyingKey};
use http::{HeaderValue, Request, Response};
use serde::{Deserialize, Serialize};
use tonic::Status;
use tower::{Layer, Service};

use crate::client::Upstream;

/// The `iss` claim of every token.
pub const ISSUER: &str = "bazaar.identity";
/// The `aud` claim of every token.
pub const AUDIENCE: &str = "bazaar";
/// Clock skew tolerated on `exp` and `iat`, in seconds.
pub const MAX_SKEW_SECS: i64 = 60;
/// The metadata key that carries the token.
pub const AUTHORIZATION: &str = "authorization";
/// The least time between two key refreshes caused by unknown key ids.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// The claims of an access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Always [`ISSUER`].
    pub iss: String,
    /// Always [`AUDIENCE`].
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The session id.
    pub sid: String,
    /// "user" or "guest".
    pub kind: String,
    /// Role names, e.g. "admin".
    #[serde(default)]
    pub roles: Vec<String>,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: i64,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    kid: String,
}

/// Whether the caller has an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallerKind {
    /// A registered user.
    User,
    /// A guest session.
    Guest,
}

/// The verified caller of a user-scoped call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The user id (`sub`): the owner of carts, orders, ...
    pub user_id: String,
    /// The session the token belongs to.
    pub session_id: String,
    /// User or guest.
    pub kind: CallerKind,
    /// Role names.
    pub roles: Vec<String>,
}

impl Caller {
    /// Whether the caller has the "admin" role.
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == "admin")
    }
}

/// Why a token is refused. The variants are for logs and tests; callers see only
/// `UNAUTHENTICATED` with a short reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No `authorization` metadata.
    #[error("missing bearer token in the authorization metadata")]
    Missing,
    /// Not `Bearer <three base64url parts>` with JSON inside.
    #[error("malformed token")]
    Malformed,
    /// `alg` is not EdDSA.
    #[error("unsupported token algorithm")]
    UnsupportedAlgorithm,
    /// No known key has this id.
    #[error("token signed by an unknown key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad token signature")]
    BadSignature,
    /// `iss` or `aud` is not ours.
    #[error("token not issued for bazaar")]
    WrongIssuerOrAudience,
    /// Past `exp` (plus skew).
    #[error("token expired")]
    Expired,
    /// `iat` in the future (beyond skew), or `kind` unknown.
    #[error("token claims are not valid")]
    InvalidClaims,
}

/// Seconds since the Unix epoch, now.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Signs `claims` with `key`, naming it `key_id`: the compact JWS identity hands out.
pub fn sign(claims: &Claims, key_id: &str, key: &SigningKey) -> String {
    let header = Header {
        alg: "EdDSA".to_owned(),
        typ: Some("JWT".to_owned()),
        kid: key_id.to_owned(),
    };
    // Serializing these plain structs cannot fail.
    let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap_or_default());
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let signature = key.sign(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    )
}

/// The `kid` of a token, without verifying anything.
pub fn key_id(token: &str) -> Result<String, TokenError> {
    let header = token.split('.').next().ok_or(TokenError::Malformed)?;
    let header: Header = decode_json(header)?;
    Ok(header.kid)
}

/// Verifies `token` against `keys` at time `now` (seconds since the epoch).
pub fn verify(
    token: &str,
    keys: &HashMap<String, VerifyingKey>,
    now: i64,
) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header: Header = decode_json(header_b64)?;
    if header.alg != "EdDSA" {
        return Err(TokenError::UnsupportedAlgorithm);
    }
    let key = keys.get(&header.kid).ok_or(TokenError::UnknownKey)?;
    let signature_bytes = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| TokenError::Malformed)?;
    let signature = Signature::from_slice(&signature_bytes).map_err(|_| TokenError::Malformed)?;
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    key.verify(signing_input.as_bytes(), &signature)
        .map_err(|_| TokenError::BadSignature)?;
    let claims: Claims = decode_json(payload_b64)?;
    if claims.iss != ISSUER || claims.aud != AUDIENCE {
        return Err(TokenError::WrongIssuerOrAudience);
    }
    if now > claims.exp + MAX_SKEW_SECS {
        return Err(TokenError::Expired);
    }
    if claims.iat > now + MAX_SKEW_SECS || !matches!(claims.kind.as_str(), "user" | "guest") {
        return Err(TokenError::InvalidClaims);
    }
    Ok(claims)
}

fn decode_json<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

impl From<Claims> for Caller {
    fn from(claims: Claims) -> Self {
        Caller {
            user_id: claims.sub,
            session_id: claims.sid,
            kind: if claims.kind == "guest" {
                CallerKind::Guest
            } else {
                CallerKind::User
            },
            roles: claims.roles,
        }
    }
}

/// Extracts the token from an `authorization` value: `Bearer <token>`.
pub fn bearer_token(value: &str) -> Result<&str, TokenError> {
    let (scheme, token) = value.trim().split_once(' ').ok_or(TokenError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(TokenError::Malformed);
    }
    Ok(token.trim())
}

/// The public keys a service trusts, with where to get more.
struct KeyRing {
    keys: RwLock<HashMap<String, VerifyingKey>>,
    last_refresh: Mutex<Option<std::time::Instant>>,
    identity: Option<Upstream>,
}

/// Verifies tokens with cached public keys; clones share the cache.
#[derive(Clone)]
pub struct Verifier {
    ring: Arc<KeyRing>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.ring.keys.read().map(|k| k.len()).unwrap_or(0);
        f.debug_struct("Verifier").field("keys", &count).finish()
    }
}

impl Verifier {
    /// A verifier that fetches keys from identity through `identity` when it meets a key
    /// it does not know (at most every 30 s), and in the background with
    /// [`Verifier::spawn_refresher`].
    pub fn from_identity(identity: Upstream) -> Self {
        Self::new(Some(identity))
    }

    /// A verifier with a fixed set of keys (identity itself, and tests).
    pub fn with_keys(keys: impl IntoIterator<Item = (String, VerifyingKey)>) -> Self {
        let verifier = Self::new(None);
        for (kid, key) in keys {
            verifier.add_key(kid, key);
        }
        verifier
    }

    fn new(identity: Option<Upstream>) -> Self {
        Self {
            ring: Arc::new(KeyRing {
                keys: RwLock::new(HashMap::new()),
                last_refresh: Mutex::new(None),
                identity,
            }),
        }
    }

    /// Trusts one more key.
    pub fn add_key(&self, key_id: String, key: VerifyingKey) {
        if let Ok(mut keys) = self.ring.keys.write() {
            keys.insert(key_id, key);
        }
    }

    /// Verifies a token and returns its caller. An unknown `kid` triggers a refresh from
    /// identity (rate-limited), then one more try.
    pub async fn verify(&self, token: &str) -> Result<Caller, TokenError> {
        match self.verify_cached(token) {
            Err(TokenError::UnknownKey) if self.ring.identity.is_some() => {
                if self.refresh_allowed()
                    && let Err(error) = self.refresh().await
                {
                    tracing::warn!(%error, "cannot refresh signing keys from identity");
                }
                self.verify_cached(token)
            }
            other => other,
        }
    }

    fn verify_cached(&self, token: &str) -> Result<Caller, TokenError> {
        let keys = self.ring.keys.read().map_err(|_| TokenError::UnknownKey)?;
        verify(token, &keys, now_secs()).map(Caller::from)
    }

    fn refresh_allowed(&self) -> bool {
        let Ok(mut last) = self.ring.last_refresh.lock() else {
            return false;
        };
        let now = std::time::Instant::now();
        match *last {
            Some(at) if now.duration_since(at) < MIN_REFRESH_INTERVAL => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }

    /// Fetches every current key from identity and adds them to the cache. Keys already
    /// cached stay: a token signed by a key identity no longer lists expires soon anyway.
    pub async fn refresh(&self) -> Result<usize, Status> {
        use bazaar_contract::identity::v1::ListSigningKeysRequest;
        use bazaar_contract::identity::v1::identity_service_client::IdentityServiceClient;
        let Some(identity) = self.ring.identity.clone() else {
            return Ok(0);
        };
        let mut client = IdentityServiceClient::new(identity);
        let mut token = String::new();
        let mut added = 0;
        loop {
            let page = client
                .list_signing_keys(ListSigningKeysRequest {
                    page_size: 100,
                    page_token: token,
                })
                .await?
                .into_inner();
            for key in page.signing_keys {
                let bytes: [u8; 32] = match key.public_key.as_slice().try_into() {
                    Ok(bytes) => bytes,
                    Err(_) => continue,
                };
                if let Ok(verifying) = VerifyingKey::from_bytes(&bytes) {
                    self.add_key(key.key_id, verifying);
                    added += 1;
                }
            }
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        Ok(added)
    }

    /// Refreshes the keys now and then every `every`, until `shutdown`; failures are logged
    /// and the cached keys keep working.
    pub fn spawn_refresher(
        &self,
        every: Duration,
        shutdown: crate::Shutdown,
    ) -> tokio::task::JoinHandle<()> {
        let verifier = self.clone();
        tokio::spawn(async move {
            loop {
                match verifier.refresh().await {
                    Ok(count) => tracing::debug!(count, "signing keys refreshed"),
                    Err(status) => {
                        tracing::warn!(code = ?status.code(), message = status.message(),
                            "cannot refresh signing keys; keeping the cached ones")
                    }
                }
                tokio::select! {
                    () = shutdown.wait() => return,
                    () = tokio::time::sleep(every) => {}
                }
            }
        })
    }
}

/// What [`AuthLayer`] found about the caller of a call.
#[derive(Clone, Debug)]
pub enum Authentication {
    /// A valid token.
    Verified(Caller),
    /// A token that was refused, and why.
    Refused(TokenError),
}

/// The caller of a user-scoped call, or `UNAUTHENTICATED`.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Caller, Status> {
    match request.extensions().get::<Authentication>() {
        Some(Authentication::Verified(caller)) => Ok(caller.clone()),
        Some(Authentication::Refused(error)) => Err(Status::unauthenticated(error.to_string())),
        None => Err(Status::unauthenticated(TokenError::Missing.to_string())),
    }
}

tokio::task_local! {
    static CALLER_AUTHORIZATION: HeaderValue;
}

/// The `authorization` value of the inbound call being handled, if it had a valid one.
pub fn current_authorization() -> Option<HeaderValue> {
    CALLER_AUTHORIZATION.try_with(Clone::clone).ok()
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Server-side layer: verifies the token of every call that carries one.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    verifier: Verifier,
}

impl AuthLayer {
    /// Verifies with `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        Self { verifier }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// See [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct Auth<S> {
    inner: S,
    verifier: Verifier,
}

impl<S, B, ResBody> Service<Request<B>> for Auth<S>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<ResBody>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone that was polled ready is the one that must be called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        Box::pin(async move {
            let header = request.headers().get(AUTHORIZATION).cloned();
            let Some(header) = header else {
                return inner.call(request).await;
            };
            let token = header
                .to_str()
                .map_err(|_| TokenError::Malformed)
                .and_then(bearer_token);
            let outcome = match token {
                Ok(token) => verifier.verify(token).await,
                Err(error) => Err(error),
            };
            match outcome {
                Ok(caller) => {
                    request
                        .extensions_mut()
                        .insert(Authentication::Verified(caller));
                    CALLER_AUTHORIZATION
                        .scope(header, inner.call(request))
                        .await
                }
                Err(error) => {
                    tracing::debug!(%error, "token refused");
                    request
                        .extensions_mut()
                        .insert(Authentication::Refused(error));
                    inner.call(request).await
                }
            }
        })
    }
}

/// Client-side layer: an outbound call made while handling an authenticated call carries
/// the caller's `authorization`, unless it sets its own.
#[derive(Clone, Copy, Debug, Default)]
pub struct PropagateAuthLayer;

impl<S> Layer<S> for PropagateAuthLayer {
    type Service = PropagateAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PropagateAuth { inner }
    }
}

/// See [`PropagateAuthLayer`].
#[derive(Clone, Debug)]
pub struct PropagateAuth<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for PropagateAuth<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        if !request.headers().contains_key(AUTHORIZATION)
            && let Some(value) = current_authorization()
        {
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        self.inner.call(request)
    }
}

/// Makes signing keys and tokens for tests of services that check callers (feature
/// `testing`; also `chassis::testing`).
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    use ed25519_dalek::SigningKey;

    use super::{AUDIENCE, Claims, ISSUER, Verifier, now_secs, sign};

    /// A signing key and a verifier that trusts it.
    #[derive(Clone, Debug)]
    pub struct TestIssuer {
        /// The key id.
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
}

#[cfg(test)]
mod tests {
    use super::testing::TestIssuer;
    use super::*;

    fn keys(issuer: &TestIssuer) -> HashMap<String, VerifyingKey> {
        HashMap::from([(issuer.key_id.clone(), issuer.key.verifying_key())])
    }

    #[test]
    fn a_signed_token_verifies_and_names_its_caller() {
        let issuer = TestIssuer::new();
        let mut claims = issuer.claims("u-1");
        claims.roles = vec!["admin".to_owned()];
        let token = issuer.token(&claims);
        assert_eq!(key_id(&token).unwrap(), "test-key");
        let verified = verify(&token, &keys(&issuer), now_secs()).unwrap();
        assert_eq!(verified, claims);
        let caller = Caller::from(verified);
        assert_eq!(caller.user_id, "u-1");
        assert!(caller.is_admin());
    }

    #[test]
    fn forged_expired_and_foreign_tokens_are_refused() {
        let issuer = TestIssuer::new();
        let other = TestIssuer::new();
        let now = now_secs();
        // Signed by another key with the same id.
        let forged = other.token(&issuer.claims("u-1"));
        assert_eq!(
            verify(&forged, &keys(&issuer), now),
            Err(TokenError::BadSignature)
        );
        // Claims swapped after signing.
        let good = issuer.token(&issuer.claims("u-1"));
        let evil = issuer.token(&issuer.claims("u-2"));
        let parts: Vec<&str> = good.split('.').collect();
        let evil_payload = evil.split('.').nth(1).unwrap();
        let tampered = format!("{}.{}.{}", parts[0], evil_payload, parts[2]);
        assert_eq!(
            verify(&tampered, &keys(&issuer), now),
            Err(TokenError::BadSignature)
        );
        // Expired beyond the skew.
        let mut claims = issuer.claims("u-1");
        claims.exp = now - MAX_SKEW_SECS - 1;
        let expired = issuer.token(&claims);
        assert_eq!(
            verify(&expired, &keys(&issuer), now),
            Err(TokenError::Expired)
        );
        // Another audience.
        let mut claims = issuer.claims("u-1");
        claims.aud = "elsewhere".to_owned();
        let foreign = issuer.token(&claims);
        assert_eq!(
            verify(&foreign, &keys(&issuer), now),
            Err(TokenError::WrongIssuerOrAudience)
        );
        // Unknown key, garbage.
        assert_eq!(
            verify(&good, &HashMap::new(), now),
            Err(TokenError::UnknownKey)
        );
        for garbage in ["", "a.b", "a.b.c", "a.b.c.d", "...."] {
            assert!(verify(garbage, &keys(&issuer), now).is_err(), "{garbage}");
        }
    }

    #[test]
    fn bearer_values_are_parsed_strictly() {
        assert_eq!(bearer_token("Bearer abc"), Ok("abc"));
        assert_eq!(bearer_token("bearer  abc "), Ok("abc"));
        assert!(bearer_token("Basic abc").is_err());
        assert!(bearer_token("Bearer").is_err());
        assert!(bearer_token("abc").is_err());
    }
}
