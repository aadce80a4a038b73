//! The access token itself: its claims, its compact JWS form (EdDSA over Ed25519), and the
//! checks that make a token valid. Pure functions of the token, the keys and the time; no
//! I/O, so identity signs with the same code that every service verifies with.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::{AUDIENCE, ISSUER, MAX_SKEW_SECS};

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
    /// No known key has this id, and identity could not be asked for its keys: the token
    /// may well be valid. Answered `UNAVAILABLE`, not `UNAUTHENTICATED`.
    #[error("identity's signing keys cannot be fetched now (identity unreachable); retry shortly")]
    KeysUnavailable,
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
        .map_or(0, |d| d.as_secs() as i64)
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
    // Saturating: the claims are signed, but a verifier does not trust the signer's
    // arithmetic with times at the ends of the range.
    if now > claims.exp.saturating_add(MAX_SKEW_SECS) {
        return Err(TokenError::Expired);
    }
    if claims.iat > now.saturating_add(MAX_SKEW_SECS)
        || !matches!(claims.kind.as_str(), "user" | "guest")
    {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::testing::TestIssuer;

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
