//! Unguessable values: the anti-forgery token of a session, and idempotency keys made for
//! shoppers' changes (an item added, a checkout form shown).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A fresh random token: 32 bytes from the OS, base64url (cookie- and form-safe).
pub fn token() -> String {
    let mut bytes = [0_u8; 32];
    if let Err(error) = getrandom::fill(&mut bytes) {
        // Without the OS's randomness no token can be trusted; a request that needs one
        // fails its CSRF check rather than getting a guessable value.
        tracing::error!(%error, "no randomness for a token");
        return String::new();
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_differ_and_are_cookie_safe() {
        let (a, b) = (token(), token());
        assert_ne!(a, b);
        assert!(
            a.len() >= 43
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
}
