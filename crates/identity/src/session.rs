//! Sessions and the tokens that stand for them.
//!
//! A session is a row in the store with a 30-day life; the client holds two secrets for it.
//! The refresh token is 32 random bytes (base64url), stored only as its SHA-256, so a copy
//! of the database cannot be used to act for anyone; it stays the same for the life of the
//! session. The access token is a 15-minute JWT signed with identity's current Ed25519 key
//! by `chassis::auth::sign`, in exactly the format every service verifies with
//! `chassis::auth`. Neither token is ever logged.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bazaar_contract::values::ids::SESSION;
use chassis::auth::{AUDIENCE, Claims, ISSUER};
use sha2::{Digest, Sha256};

use crate::keys::{KeyError, Keys, hex, random_bytes};
use crate::store::{SessionRecord, UserRecord};

/// How long an access token lives.
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// How long a session lives, from its start; refreshing does not extend it.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// A new session for `user` starting at `now_ms`, with its refresh token.
pub fn open(user: &UserRecord, now_ms: i64) -> Result<(SessionRecord, String), KeyError> {
    let refresh_token = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
    let session = SessionRecord {
        id: SESSION.generate()?,
        user_id: user.id.clone(),
        create_ms: now_ms,
        expire_ms: now_ms + SESSION_LIFETIME.as_millis() as i64,
        end_ms: None,
    };
    Ok((session, refresh_token))
}

/// What the store keeps of a refresh token: hex of its SHA-256.
pub fn refresh_hash(refresh_token: &str) -> String {
    hex(&Sha256::digest(refresh_token.as_bytes()))
}

/// An access token for `user` in `session` with `roles`, issued at `now_ms`, and when it
/// expires (ms).
pub fn access_token(
    keys: &Keys,
    user: &UserRecord,
    session: &SessionRecord,
    roles: Vec<String>,
    now_ms: i64,
) -> (String, i64) {
    let iat = now_ms.div_euclid(1000);
    let exp = iat + ACCESS_TOKEN_LIFETIME.as_secs() as i64;
    let claims = Claims {
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        sub: user.id.clone(),
        sid: session.id.clone(),
        kind: user.kind.clone(),
        roles,
        iat,
        exp,
    };
    let token = chassis::auth::sign(&claims, &keys.signing_key_id, &keys.signing_key);
    (token, exp * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_random_and_stored_only_as_hashes() {
        let user = UserRecord {
            id: "u_1".to_owned(),
            kind: "user".to_owned(),
            email: None,
            display_name: String::new(),
            create_ms: 0,
            admin_since_ms: None,
        };
        let (session, token) = open(&user, 1_000).unwrap();
        let (other, other_token) = open(&user, 1_000).unwrap();
        assert_ne!(token, other_token);
        assert_ne!(session.id, other.id);
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
        assert_eq!(
            session.expire_ms,
            1_000 + SESSION_LIFETIME.as_millis() as i64
        );
        let hash = refresh_hash(&token);
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&token));
        assert_eq!(hash, refresh_hash(&token));
    }
}
