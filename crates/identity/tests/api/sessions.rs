//! Sessions and tokens through the contract only: access tokens that other services verify
//! with the published keys, refreshing, logging out, bad tokens, restarts, and what is
//! stored. Every scenario runs on SQLite and on PostgreSQL, except the look at the SQLite
//! file's bytes.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bazaar_contract::identity::v1::*;
use chassis::auth::{CallerKind, Claims};
use chassis::client::Upstream;
use chassis::testing::{TestIssuer, assert_invalid_argument, violated_fields};
use tonic::{Code, Request};

use crate::support::{Backend, PASSWORD, authorized, reason};

on_every_backend!(
    tokens_verify_with_the_keys_identity_publishes,
    signing_keys_page_like_any_list,
    refresh_issues_access_tokens_until_log_out,
    logging_out_ends_only_the_callers_session,
    sessions_end_thirty_days_after_they_start,
    missing_malformed_expired_and_forged_tokens_are_refused,
    keys_and_sessions_survive_a_restart,
);

/// The claims of a token, read without verifying it.
fn claims_of(token: &str) -> Claims {
    let payload = token.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

async fn tokens_verify_with_the_keys_identity_publishes(backend: &Backend) {
    let identity = backend.start().await;
    let signed = identity.sign_up("ada@example.com").await;
    let user = signed.user.unwrap();
    let token = signed.session.unwrap().access_token;

    // What another service does: fetch the keys from identity, then verify offline.
    let upstream = Upstream::connect(
        "identity",
        &[identity.address.to_string()],
        Duration::from_secs(5),
        &chassis::testing::client_tls(Some("cart")),
    )
    .unwrap();
    let caller = chassis::auth::Verifier::from_identity(upstream)
        .verify(&token)
        .await
        .expect("verifies with the keys identity serves");
    assert_eq!(caller.user_id, user.id);
    assert_eq!(caller.kind, CallerKind::User);
    assert!(caller.roles.is_empty());
    let caller = identity.verifier().await.verify(&token).await.unwrap();
    assert_eq!(caller.user_id, user.id);

    // The token is the contract's: EdDSA, `kid` a listed key, the documented claims.
    let keys = identity.all_keys(0).await;
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(chassis::auth::key_id(&token).unwrap(), key.key_id);
    assert_eq!(key.algorithm, KeyAlgorithm::Ed25519 as i32);
    assert_eq!(key.public_key.len(), 32);
    assert!((1..=64).contains(&key.key_id.len()));
    assert!(
        key.key_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    );
    assert!(key.create_time.is_some());
    let claims = claims_of(&token);
    assert_eq!(
        (claims.iss.as_str(), claims.aud.as_str()),
        ("bazaar.identity", "bazaar")
    );
    assert_eq!(claims.sub, user.id);
    assert_eq!(claims.sid, caller.session_id);
    assert_eq!(claims.kind, "user");
    assert_eq!(claims.iat, identity.now_ms() / 1000);
    assert_eq!(claims.exp, claims.iat + 15 * 60);
    identity.stop().await;
}

async fn signing_keys_page_like_any_list(backend: &Backend) {
    let identity = backend.start().await;
    assert_eq!(identity.all_keys(1).await, identity.all_keys(0).await);
    assert_eq!(identity.all_keys(1000).await, identity.all_keys(0).await);
    for (page_size, page_token, expected) in [
        (-1, "", vec!["page_size"]),
        (0, "nope", vec!["page_token"]),
        (-5, "v1.00", vec!["page_size", "page_token"]),
    ] {
        let status = identity
            .client()
            .list_signing_keys(ListSigningKeysRequest {
                page_size,
                page_token: page_token.to_owned(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&status), expected);
    }
    identity.stop().await;
}

async fn refresh_issues_access_tokens_until_log_out(backend: &Backend) {
    let identity = backend.start().await;
    let verifier = identity.verifier().await;
    let session = identity.sign_up("ada@example.com").await.session.unwrap();

    identity.clock.advance(Duration::from_secs(60));
    let refreshed = identity.refresh(&session.refresh_token).await.unwrap();
    assert_eq!(refreshed.refresh_token, session.refresh_token);
    assert_eq!(refreshed.expire_time, session.expire_time);
    assert_ne!(refreshed.access_token, session.access_token);
    assert_eq!(
        refreshed.access_token_expire_time.unwrap().seconds,
        identity.now_ms() / 1000 + 15 * 60
    );
    let first = verifier.verify(&session.access_token).await.unwrap();
    let again = verifier.verify(&refreshed.access_token).await.unwrap();
    assert_eq!(first, again);
    // Safe to retry.
    identity.refresh(&session.refresh_token).await.unwrap();

    identity
        .client()
        .log_out(authorized(LogOutRequest {}, &refreshed.access_token))
        .await
        .expect("logs out");
    identity
        .client()
        .log_out(authorized(LogOutRequest {}, &session.access_token))
        .await
        .expect("logging out an ended session succeeds");
    let status = identity.refresh(&session.refresh_token).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(reason(&status), "SESSION_ENDED");
    for token in [&session.access_token, &refreshed.access_token] {
        let status = identity.me(token).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(reason(&status), "SESSION_ENDED");
    }

    // Unknown and missing refresh tokens.
    let status = identity.refresh("no-such-token").await.unwrap_err();
    assert_eq!(reason(&status), "SESSION_ENDED");
    let status = identity.refresh("").await.unwrap_err();
    assert_invalid_argument(&status, &["refresh_token"]);
    identity.stop().await;
}

async fn logging_out_ends_only_the_callers_session(backend: &Backend) {
    let identity = backend.start().await;
    let ada = identity.sign_up("ada@example.com").await;
    let ada_user = ada.user.unwrap();
    let ada_session = ada.session.unwrap();
    let ada_phone = identity
        .log_in("ada@example.com", PASSWORD)
        .await
        .unwrap()
        .session
        .unwrap();
    let grace = identity.sign_up("grace@example.com").await;
    let grace_session = grace.session.unwrap();

    // Each caller is who its token says, whatever else is sent.
    assert_eq!(
        identity.me(&grace_session.access_token).await.unwrap(),
        grace.user.unwrap()
    );

    identity
        .client()
        .log_out(authorized(LogOutRequest {}, &ada_phone.access_token))
        .await
        .unwrap();
    // Ada's other session and Grace's are still open.
    assert_eq!(
        identity.me(&ada_session.access_token).await.unwrap(),
        ada_user
    );
    identity.refresh(&ada_session.refresh_token).await.unwrap();
    identity.me(&grace_session.access_token).await.unwrap();
    identity
        .refresh(&grace_session.refresh_token)
        .await
        .unwrap();
    assert_eq!(
        reason(
            &identity
                .refresh(&ada_phone.refresh_token)
                .await
                .unwrap_err()
        ),
        "SESSION_ENDED"
    );
    identity.stop().await;
}

async fn sessions_end_thirty_days_after_they_start(backend: &Backend) {
    let identity = backend.start().await;
    let session = identity
        .client()
        .start_guest_session(StartGuestSessionRequest {})
        .await
        .unwrap()
        .into_inner()
        .session
        .unwrap();
    identity
        .clock
        .advance(Duration::from_secs(30 * 24 * 3600 - 1));
    identity.refresh(&session.refresh_token).await.unwrap();
    identity.clock.advance(Duration::from_secs(1));
    let status = identity.refresh(&session.refresh_token).await.unwrap_err();
    assert_eq!(reason(&status), "SESSION_ENDED");
    // The access token itself is still within its 15 minutes by the real clock, but
    // GetCurrentUser checks the session.
    let status = identity.me(&session.access_token).await.unwrap_err();
    assert_eq!(reason(&status), "SESSION_ENDED");
    identity.stop().await;
}

async fn missing_malformed_expired_and_forged_tokens_are_refused(backend: &Backend) {
    let identity = backend.start().await;
    let signed = identity.sign_up("ada@example.com").await;
    let token = signed.session.unwrap().access_token;
    let claims = claims_of(&token);

    // Expired: issued an hour ago, so it expired 45 minutes ago.
    identity.clock.rewind(Duration::from_secs(3600));
    let expired = identity
        .log_in("ada@example.com", PASSWORD)
        .await
        .unwrap()
        .session
        .unwrap()
        .access_token;
    identity.clock.advance(Duration::from_secs(3600));
    // Forged: signed by someone else's key, under its own key id or under identity's.
    let stranger = TestIssuer::new();
    let mut impostor = TestIssuer::new();
    impostor.key_id = chassis::auth::key_id(&token).unwrap();
    // Tampered: identity's signature on different claims.
    let mut promoted = claims.clone();
    promoted.roles = vec!["admin".to_owned()];
    let parts: Vec<&str> = token.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&promoted).unwrap()),
        parts[2]
    );

    let bad: Vec<Option<String>> = vec![
        None,
        Some("Bearer".to_owned()),
        Some("Bearer not.a.token".to_owned()),
        Some(format!("Basic {token}")),
        Some(format!("Bearer {expired}")),
        Some(stranger.bearer(&claims.sub)),
        Some(format!("Bearer {}", impostor.token(&claims))),
        Some(format!("Bearer {tampered}")),
        Some(format!("Bearer {token}x")),
    ];
    for authorization in bad {
        let mut get = Request::new(GetCurrentUserRequest {});
        let mut out = Request::new(LogOutRequest {});
        if let Some(value) = &authorization {
            get.metadata_mut()
                .insert("authorization", value.parse().unwrap());
            out.metadata_mut()
                .insert("authorization", value.parse().unwrap());
        }
        let status = identity.client().get_current_user(get).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{authorization:?}");
        let status = identity.client().log_out(out).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{authorization:?}");
    }
    // None of those ended the real session.
    identity
        .me(&token)
        .await
        .expect("the real token still works");
    identity.stop().await;
}

async fn keys_and_sessions_survive_a_restart(backend: &Backend) {
    let identity = backend.start().await;
    let keys = identity.all_keys(0).await;
    let signed = identity.sign_up("ada@example.com").await;
    let session = signed.session.unwrap();
    identity.stop().await;

    let identity = backend.start().await;
    assert_eq!(
        identity.all_keys(0).await,
        keys,
        "the same keys, not new ones"
    );
    assert_eq!(
        identity.me(&session.access_token).await.unwrap(),
        signed.user.unwrap()
    );
    identity
        .verifier()
        .await
        .verify(&session.access_token)
        .await
        .expect("a token from before the restart verifies with the keys listed after it");
    let refreshed = identity.refresh(&session.refresh_token).await.unwrap();
    assert_eq!(
        chassis::auth::key_id(&refreshed.access_token).unwrap(),
        keys[0].key_id
    );
    identity.log_in("ada@example.com", PASSWORD).await.unwrap();
    identity.stop().await;
}

#[tokio::test]
async fn passwords_and_refresh_tokens_are_stored_only_as_hashes() {
    let backend = Backend::sqlite();
    let identity = backend.start().await;
    let session = identity.sign_up("ada@example.com").await.session.unwrap();
    identity.stop().await;

    let file = backend.sqlite_file().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    for suffix in ["-wal", "-journal"] {
        let mut side = file.clone().into_os_string();
        side.push(suffix);
        if let Ok(more) = std::fs::read(side) {
            bytes.extend(more);
        }
    }
    let stored = String::from_utf8_lossy(&bytes);
    assert!(
        stored.contains("ada@example.com"),
        "the file is the one written"
    );
    assert!(
        stored.contains("$argon2id$"),
        "an Argon2id hash in PHC form"
    );
    assert!(!stored.contains(PASSWORD));
    assert!(!stored.contains(&session.refresh_token));
    assert!(!stored.contains(&session.access_token));
    backend.finish().await;
}
