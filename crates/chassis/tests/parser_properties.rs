//! Properties of what the chassis parses from callers, over inputs made at random: page
//! tokens (any text is a token or a refusal, never a panic; every token a server issues
//! comes back as its position, for its own query only) and access tokens (any text is
//! refused or verified without a panic; a token with any one byte changed is refused).
//! `PROPTEST_CASES` runs more cases of the page properties (the token ones run 64: signing
//! is slow in a debug build).

use std::collections::HashMap;

use chassis::auth::{AUDIENCE, Claims, ISSUER, TokenError, bearer_token, key_id, sign, verify};
use chassis::page::{self, PageError, Paging, TimeAndId};
use ed25519_dalek::{SigningKey, VerifyingKey};
use proptest::prelude::*;

/// The longest position a token can carry: `decode` refuses tokens of more than 2048 hex
/// digits, and the fingerprint and its colon take 17 bytes of them.
const MAX_POSITION_BYTES: usize = 2048 / 2 - 17;

/// Any text, weighted towards what a token is made of.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "v1\\.[0-9a-fA-F]{0,80}",
        "v1\\.[0-9a-f:é€\u{0}.]{0,40}",
        "[A-Za-z0-9_.=-]{0,200}",
    ]
}

fn time_and_id() -> impl Strategy<Value = (i64, String)> {
    (any::<i64>(), any::<String>())
}

/// A list request as the contract shapes them.
struct List {
    size: i32,
    token: String,
}

impl bazaar_contract::ListRequest for List {
    fn page_size(&self) -> i32 {
        self.size
    }

    fn page_token(&self) -> &str {
        &self.token
    }
}

proptest! {
    #[test]
    fn any_text_is_a_page_token_or_a_refusal(token in text(), parts in proptest::collection::vec(any::<String>(), 0..3)) {
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let print = page::fingerprint(&parts);
        match page::decode(&token, print) {
            Ok(None) => prop_assert!(token.is_empty()),
            // Whatever decodes is a token the encoder writes for that position.
            Ok(Some(position)) => prop_assert_eq!(page::encode(print, &position).to_lowercase(), token.to_lowercase()),
            Err(error) => prop_assert_eq!(error, PageError::BadToken),
        }
        // Parsed into a page of any size, the same: never a panic.
        let paging = Paging::of(&parts);
        let mut violations = chassis::error::Violations::new();
        let _ = paging.parse(&List { size: 5, token }, &mut violations);
    }

    #[test]
    fn issued_page_tokens_come_back_for_their_query_only(
        position in ".{0,200}",
        parts in proptest::collection::vec(".{0,20}", 0..3),
        other in proptest::collection::vec(".{0,20}", 0..3),
    ) {
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let other: Vec<&str> = other.iter().map(String::as_str).collect();
        let print = page::fingerprint(&parts);
        let token = page::encode(print, &position);
        prop_assert!(token.is_ascii());
        prop_assert_eq!(page::decode(&token, print), Ok(Some(position.clone())));
        let other_print = page::fingerprint(&other);
        if other_print != print {
            prop_assert_eq!(page::decode(&token, other_print), Err(PageError::BadToken));
        }
        // A token whose position was cut short or lengthened is another position, or none.
        let cut = &token[..token.len() - 2];
        prop_assert_ne!(page::decode(cut, print), Ok(Some(position.clone())));
    }

    #[test]
    fn time_and_id_cursors_round_trip((time, id) in time_and_id()) {
        for separator in [':', '.', '|'] {
            let text = TimeAndId::encode(time, &id, separator);
            let cursor = TimeAndId::decode(&text, separator).expect("its own encoding");
            prop_assert_eq!(cursor.key(), (time, id.as_str()));
        }
    }

    #[test]
    fn positions_too_long_for_a_token_are_refused_not_misread(position in "[a-z0-9]{1,40}", repeat in 20_usize..60) {
        let position = position.repeat(repeat);
        let print = page::fingerprint(&["list"]);
        let decoded = page::decode(&page::encode(print, &position), print);
        if position.len() <= MAX_POSITION_BYTES {
            prop_assert_eq!(decoded, Ok(Some(position)));
        } else {
            prop_assert_eq!(decoded, Err(PageError::BadToken));
        }
    }

    #[test]
    fn page_sizes_are_bounded_or_refused(requested in any::<i32>(), default in 1_u32..50, max in 50_u32..500) {
        match page::page_size_within(requested, default, max) {
            Ok(size) => {
                prop_assert!(requested >= 0);
                prop_assert!(size >= 1 && size <= max);
                if requested == 0 { prop_assert_eq!(size, default); }
            }
            Err(error) => {
                prop_assert!(requested < 0);
                prop_assert_eq!(error, PageError::NegativeSize);
            }
        }
    }
}

/// A signing key from a seed, and the map of keys a verifier trusts.
fn issuer(seed: u8) -> (SigningKey, HashMap<String, VerifyingKey>) {
    let key = SigningKey::from_bytes(&[seed; 32]);
    let keys = HashMap::from([("k-1".to_owned(), key.verifying_key())]);
    (key, keys)
}

/// Valid claims of `user_id`, issued at `now`.
fn claims(user_id: &str, now: i64, roles: Vec<String>) -> Claims {
    Claims {
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        sub: user_id.to_owned(),
        sid: format!("s-{user_id}"),
        kind: "user".to_owned(),
        roles,
        iat: now,
        exp: now.saturating_add(900),
    }
}

const NOW: i64 = 1_800_000_000;

proptest! {
    // Signing and verifying are slow in an unoptimized build: fewer cases than the
    // default 256, still every edge the strategies weigh in.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_text_is_refused_as_an_access_token(token in text(), now in any::<i64>()) {
        let (_, keys) = issuer(7);
        // Nothing but a signature by a trusted key passes, and nothing panics.
        prop_assert!(verify(&token, &keys, now).is_err());
        let _ = key_id(&token);
        let _ = bearer_token(&token);
    }

    #[test]
    fn a_signed_token_verifies_and_any_changed_byte_is_refused(
        user_id in "[a-z0-9_]{1,40}",
        roles in proptest::collection::vec("[a-z]{1,8}", 0..3),
        at in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
    ) {
        let (key, keys) = issuer(9);
        let claims = claims(&user_id, NOW, roles);
        let token = sign(&claims, "k-1", &key);
        prop_assert_eq!(verify(&token, &keys, NOW), Ok(claims));
        let header = format!("Bearer {token}");
        prop_assert_eq!(bearer_token(&header), Ok(token.as_str()));

        let mut bytes = token.clone().into_bytes();
        let at = at.index(bytes.len());
        prop_assume!(bytes[at] != replacement);
        bytes[at] = replacement;
        // A changed byte may make the text invalid UTF-8, which no header carries.
        if let Ok(changed) = String::from_utf8(bytes) {
            prop_assert!(verify(&changed, &keys, NOW).is_err(), "byte {at} changed to {replacement:#04x} still verifies");
        }
    }

    #[test]
    fn tokens_of_other_keys_and_times_are_refused(user_id in "[a-z0-9]{1,20}", skew in 61_i64..1_000_000) {
        let (key, keys) = issuer(1);
        let (other, _) = issuer(2);
        let claims = claims(&user_id, NOW, Vec::new());
        prop_assert_eq!(verify(&sign(&claims, "k-1", &other), &keys, NOW), Err(TokenError::BadSignature));
        prop_assert_eq!(verify(&sign(&claims, "k-2", &key), &keys, NOW), Err(TokenError::UnknownKey));
        let token = sign(&claims, "k-1", &key);
        prop_assert_eq!(verify(&token, &keys, claims.exp + skew), Err(TokenError::Expired));
        prop_assert_eq!(verify(&token, &keys, NOW - skew), Err(TokenError::InvalidClaims));
    }

    #[test]
    fn any_signed_claims_at_any_time_verify_or_are_refused(
        iat in prop_oneof![any::<i64>(), Just(i64::MAX), Just(i64::MIN), Just(NOW)],
        exp in prop_oneof![any::<i64>(), Just(i64::MAX), Just(i64::MIN), Just(NOW + 900)],
        now in prop_oneof![any::<i64>(), Just(i64::MAX), Just(i64::MIN), Just(NOW)],
        kind in "user|guest|admin|",
    ) {
        let (key, keys) = issuer(3);
        let mut claims = claims("u-1", iat, Vec::new());
        claims.exp = exp;
        claims.kind = kind.clone();
        let token = sign(&claims, "k-1", &key);
        let skew = i128::from(chassis::auth::MAX_SKEW_SECS);
        let fresh = i128::from(now) <= i128::from(exp) + skew;
        let issued = i128::from(iat) <= i128::from(now) + skew;
        let known = kind == "user" || kind == "guest";
        match verify(&token, &keys, now) {
            Ok(verified) => {
                prop_assert!(fresh && issued && known);
                prop_assert_eq!(verified, claims);
            }
            Err(TokenError::Expired) => prop_assert!(!fresh),
            Err(TokenError::InvalidClaims) => prop_assert!(fresh && !(issued && known)),
            Err(error) => prop_assert!(false, "refused for {error:?}"),
        }
    }
}
