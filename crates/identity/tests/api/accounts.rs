//! Accounts through the contract only: signing up, logging in, guests, and the
//! throttles that slow guessers down. Every scenario runs on SQLite and on PostgreSQL.

use std::time::Duration;

use bazaar_contract::identity::v1::*;
use chassis::auth::CallerKind;
use chassis::testing::violated_fields;
use tonic::Code;

use crate::support::{Backend, PASSWORD, Settings, forwarded_for, reason, retry_delay};

on_every_backend!(
    sign_up_log_in_and_get_current_user_round_trip,
    an_email_has_one_account_whatever_its_case,
    bad_sign_ups_name_every_bad_field,
    bad_log_ins_name_every_bad_field,
    wrong_passwords_and_unknown_emails_get_the_same_answer,
    failures_delay_only_the_guessing_client_and_the_delays_grow,
    unknown_emails_are_delayed_the_same_way,
    guests_get_a_session_and_a_guest_token,
);

async fn sign_up_log_in_and_get_current_user_round_trip(backend: &Backend) {
    let identity = backend.start().await;
    let signed = identity
        .client()
        .sign_up(SignUpRequest {
            email: "  Ada@Example.COM ".to_owned(),
            password: PASSWORD.to_owned(),
            display_name: " Ada Lovelace ".to_owned(),
        })
        .await
        .expect("signs up")
        .into_inner();
    let user = signed.user.expect("a user");
    assert_eq!(user.email, "ada@example.com");
    assert_eq!(user.display_name, "Ada Lovelace");
    assert_eq!(user.kind, UserKind::Registered as i32);
    assert!(user.roles.is_empty());
    assert!(!user.id.is_empty() && user.id.len() <= 64);
    let created = user.create_time.expect("a create_time");
    assert_eq!(created.seconds, identity.now_ms() / 1000);
    let session = signed.session.expect("a session");
    assert!(!session.refresh_token.is_empty() && session.refresh_token.len() <= 256);
    assert!(!session.access_token.is_empty() && session.access_token.len() <= 2048);

    // The sign-up session works at once.
    assert_eq!(identity.me(&session.access_token).await.unwrap(), user);

    // Logging in (any case) opens another session for the same user.
    let logged = identity.log_in("ADA@example.com", PASSWORD).await.unwrap();
    assert_eq!(logged.user.as_ref(), Some(&user));
    let second = logged.session.expect("a session");
    assert_ne!(second.refresh_token, session.refresh_token);
    assert_eq!(identity.me(&second.access_token).await.unwrap(), user);

    // Session lifetimes: access tokens 15 minutes, sessions 30 days.
    let now_s = identity.now_ms() / 1000;
    assert_eq!(
        second.access_token_expire_time.unwrap().seconds,
        now_s + 15 * 60
    );
    assert_eq!(second.expire_time.unwrap().seconds, now_s + 30 * 24 * 3600);
    identity.stop().await;
}

async fn an_email_has_one_account_whatever_its_case(backend: &Backend) {
    let identity = backend.start().await;
    identity.sign_up("ada@example.com").await;
    for email in ["ada@example.com", " ADA@Example.com"] {
        let status = identity
            .client()
            .sign_up(SignUpRequest {
                email: email.to_owned(),
                password: "another long password".to_owned(),
                display_name: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::AlreadyExists, "{email}");
        assert_eq!(reason(&status), "EMAIL_TAKEN");
    }
    // The first password still works; the second was never stored.
    identity.log_in("ada@example.com", PASSWORD).await.unwrap();
    let status = identity
        .log_in("ada@example.com", "another long password")
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "INVALID_CREDENTIALS");
    identity.stop().await;
}

async fn bad_sign_ups_name_every_bad_field(backend: &Backend) {
    let identity = backend.start().await;
    let too_long_email = format!("{}@example.com", "a".repeat(243));
    let cases: Vec<(&str, String, String, Vec<&str>)> = vec![
        ("", PASSWORD.into(), String::new(), vec!["email"]),
        ("ada", PASSWORD.into(), String::new(), vec!["email"]),
        (
            "@example.com",
            PASSWORD.into(),
            String::new(),
            vec!["email"],
        ),
        ("ada@", PASSWORD.into(), String::new(), vec!["email"]),
        (
            "a@b@example.com",
            PASSWORD.into(),
            String::new(),
            vec!["email"],
        ),
        (
            "ada@localhost",
            PASSWORD.into(),
            String::new(),
            vec!["email"],
        ),
        (
            "a da@example.com",
            PASSWORD.into(),
            String::new(),
            vec!["email"],
        ),
        (
            &too_long_email,
            PASSWORD.into(),
            String::new(),
            vec!["email"],
        ),
        (
            "ada@example.com",
            String::new(),
            String::new(),
            vec!["password"],
        ),
        (
            "ada@example.com",
            "nine char".into(),
            String::new(),
            vec!["password"],
        ),
        (
            "ada@example.com",
            "x".repeat(129),
            String::new(),
            vec!["password"],
        ),
        (
            "ada@example.com",
            "é".repeat(129),
            String::new(),
            vec!["password"],
        ),
        (
            "ada@example.com",
            "ADA@example.com".into(),
            String::new(),
            vec!["password"],
        ),
        (
            "ada@example.com",
            PASSWORD.into(),
            "n".repeat(101),
            vec!["display_name"],
        ),
        (
            "nope",
            "short".into(),
            "n".repeat(101),
            vec!["email", "password", "display_name"],
        ),
    ];
    for (email, password, display_name, expected) in cases {
        let status = identity
            .client()
            .sign_up(SignUpRequest {
                email: email.to_owned(),
                password,
                display_name,
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{email}");
        assert_eq!(violated_fields(&status), expected, "{email}");
    }
    // Nothing was created: the email is still free, and the limits themselves are fine.
    let limits = identity
        .client()
        .sign_up(SignUpRequest {
            email: format!("{}@example.com", "a".repeat(242)),
            password: "é".repeat(10),
            display_name: "n".repeat(100),
        })
        .await
        .expect("254 characters, 10 code points and 100 characters are allowed");
    assert_eq!(limits.into_inner().user.unwrap().email.len(), 254);
    identity
        .client()
        .sign_up(SignUpRequest {
            email: "ada@example.com".to_owned(),
            password: "x".repeat(128),
            display_name: String::new(),
        })
        .await
        .expect("128 characters are allowed");
    identity.stop().await;
}

async fn bad_log_ins_name_every_bad_field(backend: &Backend) {
    let identity = backend.start().await;
    for (email, password, expected) in [
        ("", "", vec!["email", "password"]),
        ("ada@example.com", "", vec!["password"]),
        ("", PASSWORD, vec!["email"]),
        ("   ", PASSWORD, vec!["email"]),
    ] {
        let status = identity.log_in(email, password).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{email:?}");
        assert_eq!(violated_fields(&status), expected, "{email:?}");
    }
    identity.stop().await;
}

async fn wrong_passwords_and_unknown_emails_get_the_same_answer(backend: &Backend) {
    let identity = backend.start().await;
    identity.sign_up("ada@example.com").await;
    let wrong = identity
        .log_in("ada@example.com", "wrong password!")
        .await
        .unwrap_err();
    let unknown = identity
        .log_in("nobody@example.com", "wrong password!")
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated);
    assert_eq!(reason(&wrong), "INVALID_CREDENTIALS");
    assert_eq!(wrong.code(), unknown.code());
    assert_eq!(wrong.message(), unknown.message());
    assert_eq!(wrong.details(), unknown.details());
    identity.stop().await;
}

async fn failures_delay_only_the_guessing_client_and_the_delays_grow(backend: &Backend) {
    let identity = backend.start().await;
    identity.sign_up("ada@example.com").await;
    let (guesser, owner) = ("203.0.113.7", "198.51.100.2");
    for _ in 0..5 {
        let status = identity
            .log_in_from(guesser, "ada@example.com", "guess guess guess")
            .await
            .unwrap_err();
        assert_eq!(reason(&status), "INVALID_CREDENTIALS");
    }
    // The guesser now waits, even with the right password, whatever the email's case...
    for email in ["ada@example.com", "ADA@example.com"] {
        let status = identity
            .log_in_from(guesser, email, PASSWORD)
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(reason(&status), "TOO_MANY_ATTEMPTS");
        assert_eq!(retry_delay(&status), Duration::from_secs(1));
    }
    // ...but the owner, from elsewhere, logs in at once.
    identity
        .log_in_from(owner, "ada@example.com", PASSWORD)
        .await
        .expect("a stranger's failures do not lock the owner out");

    // Each further failure doubles the guesser's wait.
    for expected in [2, 4, 8, 16] {
        let status = identity
            .log_in_from(guesser, "ada@example.com", "guess guess guess")
            .await
            .unwrap_err();
        assert_eq!(reason(&status), "TOO_MANY_ATTEMPTS", "still waiting");
        identity.clock.advance(retry_delay(&status));
        let status = identity
            .log_in_from(guesser, "ada@example.com", "guess guess guess")
            .await
            .unwrap_err();
        assert_eq!(reason(&status), "INVALID_CREDENTIALS");
        let status = identity
            .log_in_from(guesser, "ada@example.com", PASSWORD)
            .await
            .unwrap_err();
        assert_eq!(retry_delay(&status), Duration::from_secs(expected));
    }
    // Up to a cap.
    for _ in 0..12 {
        identity.clock.advance(Duration::from_secs(15 * 60));
        identity
            .log_in_from(guesser, "ada@example.com", "guess guess guess")
            .await
            .unwrap_err();
    }
    let status = identity
        .log_in_from(guesser, "ada@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(retry_delay(&status), Duration::from_secs(15 * 60));
    identity
        .log_in_from(owner, "ada@example.com", PASSWORD)
        .await
        .expect("the owner is never locked out");

    // After the wait, the right password works and forgets that client's failures.
    identity.clock.advance(Duration::from_secs(15 * 60));
    identity
        .log_in_from(guesser, "ada@example.com", PASSWORD)
        .await
        .unwrap();
    for _ in 0..5 {
        identity
            .log_in_from(guesser, "ada@example.com", "guess guess guess")
            .await
            .unwrap_err();
    }
    let status = identity
        .log_in_from(guesser, "ada@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(retry_delay(&status), Duration::from_secs(1));
    identity.stop().await;
}

async fn unknown_emails_are_delayed_the_same_way(backend: &Backend) {
    // Otherwise the delays would tell which emails have accounts.
    let identity = backend.start().await;
    for _ in 0..5 {
        let status = identity
            .log_in_from("203.0.113.7", "nobody@example.com", "guess guess guess")
            .await
            .unwrap_err();
        assert_eq!(reason(&status), "INVALID_CREDENTIALS");
    }
    let status = identity
        .log_in_from("203.0.113.7", "nobody@example.com", "guess guess guess")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(retry_delay(&status), Duration::from_secs(1));
    identity.stop().await;
}

// The limit is kept in memory, so one backend is enough. It keys on the client: the peer
// address that tonic's `Request::remote_addr` reads from the request's `TcpConnectInfo`
// extension (which the chassis server puts on every request), or the `x-forwarded-for` the
// gateway sends (believed here because a plaintext server cannot tell who calls it).
#[tokio::test]
async fn clients_that_call_too_often_are_slowed_down() {
    let backend = Backend::sqlite();
    let identity = backend
        .start_with(Settings {
            client_attempts_per_minute: 3,
            ..Settings::default()
        })
        .await;
    let mut client = identity.client();
    // SignUp, LogIn and StartGuestSession share one allowance per client address.
    let signed = identity.sign_up("ada@example.com").await;
    identity.log_in("ada@example.com", PASSWORD).await.unwrap();
    client
        .start_guest_session(StartGuestSessionRequest {})
        .await
        .unwrap();
    for status in [
        client
            .start_guest_session(StartGuestSessionRequest {})
            .await
            .unwrap_err(),
        identity
            .log_in("ada@example.com", PASSWORD)
            .await
            .unwrap_err(),
        client
            .sign_up(SignUpRequest {
                email: "grace@example.com".to_owned(),
                password: PASSWORD.to_owned(),
                display_name: String::new(),
            })
            .await
            .unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(reason(&status), "TOO_MANY_ATTEMPTS");
        assert_eq!(retry_delay(&status), Duration::from_secs(20));
    }
    // Refreshing and listing keys are not limited.
    let refresh_token = signed.session.unwrap().refresh_token;
    identity.refresh(&refresh_token).await.unwrap();
    identity.all_keys(0).await;
    // Three a minute: one more every 20 seconds.
    // Shoppers the gateway names have allowances of their own.
    for shopper in ["203.0.113.7", "2001:db8::1"] {
        client
            .start_guest_session(forwarded_for(StartGuestSessionRequest {}, shopper))
            .await
            .expect("another client's allowance is its own");
    }
    identity.clock.advance(Duration::from_secs(20));
    client
        .start_guest_session(StartGuestSessionRequest {})
        .await
        .expect("a new attempt after 20 s");
    assert_eq!(
        client
            .start_guest_session(StartGuestSessionRequest {})
            .await
            .unwrap_err()
            .code(),
        Code::ResourceExhausted
    );
    identity.stop().await;
    backend.finish().await;
}

async fn guests_get_a_session_and_a_guest_token(backend: &Backend) {
    let identity = backend.start().await;
    let verifier = identity.verifier().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let guest = identity
            .client()
            .start_guest_session(StartGuestSessionRequest {})
            .await
            .unwrap()
            .into_inner();
        let user = guest.user.expect("a user");
        assert_eq!(user.kind, UserKind::Guest as i32);
        assert!(user.email.is_empty() && user.roles.is_empty());
        let session = guest.session.expect("a session");
        let caller = verifier.verify(&session.access_token).await.unwrap();
        assert_eq!(caller.kind, CallerKind::Guest);
        assert_eq!(caller.user_id, user.id);
        assert!(caller.roles.is_empty());
        assert_eq!(identity.me(&session.access_token).await.unwrap(), user);
        let refreshed = identity.refresh(&session.refresh_token).await.unwrap();
        assert_eq!(
            verifier.verify(&refreshed.access_token).await.unwrap().kind,
            CallerKind::Guest
        );
        ids.push(user.id);
    }
    assert_ne!(ids[0], ids[1]);
    identity.stop().await;
}
