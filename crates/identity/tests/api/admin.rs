//! Admins by one-time code: nobody is an admin by signing up; a registered user who redeems
//! a code the operator issued is, once; wrong codes are refused alike and throttled.
//! Codes are issued the way the operator's tools issue them, through the store.

use std::time::Duration;

use bazaar_contract::identity::v1::*;
use chassis::testing::violated_fields;
use tonic::Code;

use crate::support::{Backend, PASSWORD, authorized, reason, retry_delay};

on_every_backend!(
    a_code_makes_a_registered_user_admin_once,
    wrong_used_and_expired_codes_get_the_same_answer,
    wrong_codes_are_throttled_per_user,
    guests_and_bad_requests_are_refused_before_any_code_is_checked,
);

async fn a_code_makes_a_registered_user_admin_once(backend: &Backend) {
    let identity = backend.start().await;
    let verifier = identity.verifier().await;
    // Signing up first, with any email, makes nobody an admin.
    let boss = identity.sign_up("admin@example.com").await;
    assert!(boss.user.unwrap().roles.is_empty());
    let session = boss.session.unwrap();
    let code = backend.issue_admin_code(identity.now_ms()).await;
    assert_eq!(code.len(), 32);

    let user = identity
        .claim_admin(&session.access_token, &format!(" {} ", code.to_uppercase()))
        .await
        .unwrap();
    assert_eq!(user.roles, [Role::Admin as i32]);
    assert_eq!(user.email, "admin@example.com");
    // The token the call was made with keeps its claims; a refreshed one carries the role.
    assert!(
        !verifier
            .verify(&session.access_token)
            .await
            .unwrap()
            .is_admin()
    );
    let refreshed = identity.refresh(&session.refresh_token).await.unwrap();
    let caller = verifier.verify(&refreshed.access_token).await.unwrap();
    assert!(caller.is_admin());
    assert_eq!(caller.roles, ["admin"]);
    assert_eq!(
        identity.me(&refreshed.access_token).await.unwrap().roles,
        [Role::Admin as i32]
    );

    // A retry (or any later call) by the admin succeeds and leaves codes alone.
    let again = identity
        .claim_admin(&session.access_token, "not even a code")
        .await
        .unwrap();
    assert_eq!(again.roles, [Role::Admin as i32]);

    // The code was used: nobody else gets it.
    let ada = identity.sign_up("ada@example.com").await.session.unwrap();
    let status = identity
        .claim_admin(&ada.access_token, &code)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(reason(&status), "INVALID_ADMIN_CODE");
    identity.stop().await;

    // Stored: the role survives a restart and shows at log-in.
    let identity = backend.start().await;
    let logged = identity
        .log_in("admin@example.com", PASSWORD)
        .await
        .unwrap();
    assert_eq!(logged.user.unwrap().roles, [Role::Admin as i32]);
    let logged = identity.log_in("ada@example.com", PASSWORD).await.unwrap();
    assert!(logged.user.unwrap().roles.is_empty());
    identity.stop().await;
}

async fn wrong_used_and_expired_codes_get_the_same_answer(backend: &Backend) {
    let identity = backend.start().await;
    let ada = identity.sign_up("ada@example.com").await.session.unwrap();
    let first = backend.issue_admin_code(identity.now_ms()).await;
    // A new code voids the unused one before it.
    let second = backend.issue_admin_code(identity.now_ms()).await;
    assert_ne!(first, second);
    let mut answers = Vec::new();
    for wrong in [first.as_str(), "0123456789abcdef0123456789abcdef", "x"] {
        let status = identity
            .claim_admin(&ada.access_token, wrong)
            .await
            .unwrap_err();
        answers.push((status.code(), status.message().to_owned(), reason(&status)));
    }
    // Expired: a day after it was issued, the second code is refused the same way.
    identity.clock.advance(Duration::from_secs(24 * 3600));
    let status = identity
        .claim_admin(&ada.access_token, &second)
        .await
        .unwrap_err();
    answers.push((status.code(), status.message().to_owned(), reason(&status)));
    assert_eq!(answers[0].0, Code::PermissionDenied);
    assert_eq!(answers[0].2, "INVALID_ADMIN_CODE");
    assert!(
        answers.iter().all(|answer| *answer == answers[0]),
        "{answers:?}"
    );
    // A fresh code just before its expiry still works.
    let third = backend.issue_admin_code(identity.now_ms()).await;
    identity
        .clock
        .advance(Duration::from_secs(24 * 3600) - Duration::from_millis(1));
    let user = identity
        .claim_admin(&ada.access_token, &third)
        .await
        .unwrap();
    assert_eq!(user.roles, [Role::Admin as i32]);
    identity.stop().await;
}

async fn wrong_codes_are_throttled_per_user(backend: &Backend) {
    let identity = backend.start().await;
    let mallory = identity
        .sign_up("mallory@example.com")
        .await
        .session
        .unwrap();
    let ada = identity.sign_up("ada@example.com").await.session.unwrap();
    let code = backend.issue_admin_code(identity.now_ms()).await;
    for attempt in 0..5 {
        let status = identity
            .claim_admin(&mallory.access_token, &format!("guess {attempt}"))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "attempt {attempt}");
        identity.clock.advance(Duration::from_secs(1));
    }
    // The sixth attempt is refused before the code is looked at, even the right code.
    let status = identity
        .claim_admin(&mallory.access_token, &code)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(reason(&status), "TOO_MANY_ATTEMPTS");
    let wait = retry_delay(&status);
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(15 * 60),
        "{wait:?}"
    );

    // Another user is not held back by mallory's guesses.
    let status = identity
        .claim_admin(&ada.access_token, "a wrong one")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // Once the window has passed, mallory may try again (and the code is still unused).
    identity.clock.advance(wait);
    let user = identity
        .claim_admin(&mallory.access_token, &code)
        .await
        .unwrap();
    assert_eq!(user.roles, [Role::Admin as i32]);
    identity.stop().await;
}

async fn guests_and_bad_requests_are_refused_before_any_code_is_checked(backend: &Backend) {
    let identity = backend.start().await;
    let code = backend.issue_admin_code(identity.now_ms()).await;
    let guest = identity
        .client()
        .start_guest_session(StartGuestSessionRequest {})
        .await
        .unwrap()
        .into_inner()
        .session
        .unwrap();
    let status = identity
        .claim_admin(&guest.access_token, &code)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(reason(&status), "GUEST_CANNOT_BE_ADMIN");

    let status = identity
        .client()
        .claim_admin(ClaimAdminRequest { code: code.clone() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    let ada = identity.sign_up("ada@example.com").await.session.unwrap();
    for bad in ["", "   ", &"a".repeat(129)] {
        let status = identity
            .client()
            .claim_admin(authorized(
                ClaimAdminRequest {
                    code: bad.to_owned(),
                },
                &ada.access_token,
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}");
        assert_eq!(violated_fields(&status), ["code"]);
    }
    // After logging out, the session's token no longer claims anything.
    identity
        .client()
        .log_out(authorized(LogOutRequest {}, &ada.access_token))
        .await
        .unwrap();
    let status = identity
        .claim_admin(&ada.access_token, &code)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(reason(&status), "SESSION_ENDED");

    // None of it used the code.
    let bob = identity.sign_up("bob@example.com").await.session.unwrap();
    let user = identity
        .claim_admin(&bob.access_token, &code)
        .await
        .unwrap();
    assert_eq!(user.roles, [Role::Admin as i32]);
    identity.stop().await;
}

#[tokio::test]
async fn admin_codes_are_stored_only_as_hashes() {
    let backend = Backend::sqlite();
    let identity = backend.start().await;
    let code = backend.issue_admin_code(identity.now_ms()).await;
    identity.stop().await;
    let stored = crate::support::sqlite_bytes(&backend);
    assert!(!String::from_utf8_lossy(&stored).contains(&code));
    backend.finish().await;
}
