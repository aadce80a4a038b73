//! Identity: sign-up, log-in, guest sessions, refresh and log-out, and the signing keys
//! that let every other service verify access tokens offline.
//!
//! The token format is part of the contract (an EdDSA JWT with the claims the service
//! comment lists), so the kit decodes tokens and verifies their signatures with the keys
//! ListSigningKeys publishes, exactly as another service would.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bazaar_contract::identity::v1::identity_service_client::IdentityServiceClient;
use bazaar_contract::identity::v1::*;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde_json::Value;
use tonic::transport::Channel;
use tonic::{Code, Request};
use tonic_types::StatusExt;

use super::{from_now, repeat};
use crate::check::{Checked, fail, invalid, ok, reason, refused, violation};
use crate::pages::walk;
use crate::target::{Admin, Target, authorized, garbage_token, tampered, unique};
use crate::{Runner, ensure};

type Client = IdentityServiceClient<Channel>;

const PASSWORD: &str = "correct horse battery";

/// Runs every identity check.
pub async fn run(target: &Target, r: &mut Runner<'_>) {
    let c = IdentityServiceClient::new(target.own());
    r.check(
        "SignUp creates a registered user with a 15-minute token and a 30-day session",
        sign_up(c.clone()),
    )
    .await;
    r.check(
        "access tokens are EdDSA JWTs with the promised claims, signed by a listed key",
        token_format(c.clone()),
    )
    .await;
    r.check(
        "SignUp with a taken email (any case) is ALREADY_EXISTS, reason EMAIL_TAKEN",
        email_taken(c.clone()),
    )
    .await;
    r.check(
        "SignUp: malformed email, password outside policy, long name are INVALID_ARGUMENT",
        sign_up_invalid(c.clone()),
    )
    .await;
    r.check(
        "SignUp counts password length in code points, not bytes",
        password_code_points(c.clone()),
    )
    .await;
    r.check(
        "LogIn opens a session for the same user, email compared case-insensitively",
        log_in(c.clone()),
    )
    .await;
    r.check(
        "LogIn: wrong password and unknown email are the same UNAUTHENTICATED INVALID_CREDENTIALS",
        log_in_refused(c.clone()),
    )
    .await;
    r.check(
        "LogIn: after 5 failures even the right password is RESOURCE_EXHAUSTED with RetryInfo",
        throttled(c.clone()),
    )
    .await;
    r.check(
        "StartGuestSession opens a guest with no email or roles",
        guest(c.clone()),
    )
    .await;
    r.check(
        "GetCurrentUser: missing, malformed or forged token is UNAUTHENTICATED",
        current_user_refused(c.clone()),
    )
    .await;
    r.check(
        "RefreshSession issues a new working access token, refresh token and expiry unchanged",
        refresh(c.clone()),
    )
    .await;
    r.check(
        "RefreshSession: empty token INVALID_ARGUMENT, unknown UNAUTHENTICATED SESSION_ENDED",
        refresh_refused(c.clone()),
    )
    .await;
    r.check(
        "LogOut ends the session at once and is idempotent",
        log_out(c.clone()),
    )
    .await;
    r.check("ListSigningKeys lists Ed25519 keys with a 10-minute cache_ttl; bad paging INVALID_ARGUMENT", signing_keys(c.clone())).await;
    r.check(
        "an operator-configured admin gets ROLE_ADMIN and the \"admin\" claim",
        admin(c.clone(), target.clone()),
    )
    .await;
}

fn email() -> String {
    format!("{}@conformance.test", unique("id"))
}

fn sign_up_request(email: &str, password: &str) -> SignUpRequest {
    SignUpRequest {
        email: email.to_owned(),
        password: password.to_owned(),
        display_name: "Ada".to_owned(),
    }
}

async fn new_user(c: &mut Client) -> Checked<(String, SignUpResponse)> {
    let email = email();
    let response = ok(c.sign_up(sign_up_request(&email, PASSWORD)).await, "SignUp")?;
    Ok((email, response))
}

fn session_of(session: Option<Session>, call: &str) -> Checked<Session> {
    let Some(session) = session else {
        return fail(format!("{call} answered without a session"));
    };
    ensure!(
        !session.access_token.is_empty() && session.access_token.len() <= 2048,
        "{call}: access token of {} characters",
        session.access_token.len()
    );
    ensure!(
        !session.refresh_token.is_empty() && session.refresh_token.len() <= 256,
        "{call}: refresh token of {} characters",
        session.refresh_token.len()
    );
    let access = from_now(session.access_token_expire_time.as_ref());
    ensure!(
        access.is_some_and(|s| (14.0 * 60.0..=16.0 * 60.0).contains(&s)),
        "{call}: the access token expires in {access:?} s, not 15 minutes"
    );
    let whole = from_now(session.expire_time.as_ref());
    let month = 30.0 * 86_400.0;
    ensure!(
        whole.is_some_and(|s| (month - 600.0..=month + 600.0).contains(&s)),
        "{call}: the session ends in {whole:?} s, not 30 days"
    );
    Ok(session)
}

async fn sign_up(mut c: Client) -> Checked {
    let (email, response) = new_user(&mut c).await?;
    let Some(user) = response.user else {
        return fail("SignUp answered without the user");
    };
    ensure!(
        user.kind() == UserKind::Registered,
        "SignUp made a user of kind {:?}",
        user.kind()
    );
    ensure!(
        user.email == email,
        "SignUp made a user with email {:?}, asked {email:?}",
        user.email
    );
    ensure!(
        user.display_name == "Ada",
        "SignUp made a user with display_name {:?}",
        user.display_name
    );
    ensure!(
        user.roles.is_empty(),
        "a new shopper has roles {:?}",
        user.roles
    );
    ensure!(
        (1..=64).contains(&user.id.len()),
        "user id of {} characters",
        user.id.len()
    );
    ensure!(
        from_now(user.create_time.as_ref()).is_some_and(|s| s.abs() < 300.0),
        "create_time is not now: {:?}",
        user.create_time
    );
    let session = session_of(response.session, "SignUp")?;
    let me = ok(
        c.get_current_user(authorized(&session.access_token, GetCurrentUserRequest {}))
            .await,
        "GetCurrentUser",
    )?;
    ensure!(
        me.user.as_ref() == Some(&user),
        "GetCurrentUser returned {:?}, SignUp {user:?}",
        me.user
    );
    Ok(())
}

/// The three parts of a JWT, decoded: header, claims, and the signed input and signature.
fn decode(token: &str) -> Checked<(Value, Value, String, Vec<u8>)> {
    let parts: Vec<&str> = token.split('.').collect();
    ensure!(
        parts.len() == 3,
        "the access token has {} dot-separated parts, not 3 (JWS compact)",
        parts.len()
    );
    let json = |part: &str, what: &str| -> Checked<Value> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .or_else(|_| fail(format!("the token's {what} is not base64url")))?;
        serde_json::from_slice(&bytes).or_else(|_| fail(format!("the token's {what} is not JSON")))
    };
    let signature = URL_SAFE_NO_PAD
        .decode(parts[2])
        .or_else(|_| fail("the token's signature is not base64url"))?;
    Ok((
        json(parts[0], "header")?,
        json(parts[1], "claims")?,
        format!("{}.{}", parts[0], parts[1]),
        signature,
    ))
}

async fn keys(c: &Client, page_size: i32) -> Checked<Vec<SigningKey>> {
    walk(page_size as usize, |page_token| {
        let mut c = c.clone();
        async move {
            let page = ok(
                c.list_signing_keys(ListSigningKeysRequest {
                    page_size,
                    page_token,
                })
                .await,
                "ListSigningKeys",
            )?;
            Ok((page.signing_keys, page.next_page_token))
        }
    })
    .await
}

/// Checks the token's header, signature and claims; returns the claims.
async fn verified_claims(c: &Client, token: &str, user: &User, kind: &str) -> Checked<Value> {
    let (header, claims, signed, signature) = decode(token)?;
    ensure!(
        header["alg"] == "EdDSA",
        "the token's alg is {}, not \"EdDSA\"",
        header["alg"]
    );
    let Some(kid) = header["kid"].as_str() else {
        return fail("the token's header has no kid");
    };
    let keys = keys(c, 100).await?;
    let Some(key) = keys.iter().find(|k| k.key_id == kid) else {
        return fail(format!(
            "the token's kid {kid:?} is not among the listed keys"
        ));
    };
    let Ok(bytes) = <[u8; 32]>::try_from(key.public_key.as_slice()) else {
        return fail(format!(
            "key {kid} is {} bytes, not 32",
            key.public_key.len()
        ));
    };
    let Ok(verifying) = VerifyingKey::from_bytes(&bytes) else {
        return fail(format!("key {kid} is not an Ed25519 public key"));
    };
    let Ok(signature) = Signature::from_slice(&signature) else {
        return fail("the token's signature is not 64 bytes");
    };
    ensure!(
        verifying.verify(signed.as_bytes(), &signature).is_ok(),
        "the token's signature does not verify with key {kid}"
    );
    ensure!(
        claims["iss"] == "bazaar.identity",
        "iss is {}",
        claims["iss"]
    );
    ensure!(
        claims["aud"] == "bazaar"
            || claims["aud"]
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v == "bazaar")),
        "aud is {}",
        claims["aud"]
    );
    ensure!(
        claims["sub"] == user.id.as_str(),
        "sub is {}, the user id {:?}",
        claims["sub"],
        user.id
    );
    ensure!(
        claims["kind"] == kind,
        "kind is {}, expected {kind:?}",
        claims["kind"]
    );
    ensure!(
        claims["sid"].as_str().is_some_and(|s| !s.is_empty()),
        "sid is {}",
        claims["sid"]
    );
    ensure!(
        claims["roles"].is_array(),
        "roles is {}, not an array",
        claims["roles"]
    );
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return fail(format!(
            "iat {} or exp {} is not a number",
            claims["iat"], claims["exp"]
        ));
    };
    ensure!(
        exp - iat == 900,
        "exp - iat is {} s, not 15 minutes",
        exp - iat
    );
    Ok(claims)
}

async fn token_format(mut c: Client) -> Checked {
    let (_, response) = new_user(&mut c).await?;
    let (Some(user), Some(session)) = (response.user, response.session) else {
        return fail("SignUp answered without user or session");
    };
    let claims = verified_claims(&c, &session.access_token, &user, "user").await?;
    ensure!(
        claims["roles"].as_array().is_some_and(Vec::is_empty),
        "a shopper's roles claim is {}",
        claims["roles"]
    );
    ensure!(
        session.access_token_expire_time.as_ref().map(|t| t.seconds) == claims["exp"].as_i64(),
        "access_token_expire_time {:?} differs from exp {}",
        session.access_token_expire_time,
        claims["exp"]
    );
    let guest = ok(
        c.start_guest_session(StartGuestSessionRequest {}).await,
        "StartGuestSession",
    )?;
    let (Some(user), Some(session)) = (guest.user, guest.session) else {
        return fail("StartGuestSession answered without user or session");
    };
    verified_claims(&c, &session.access_token, &user, "guest").await?;
    Ok(())
}

async fn email_taken(mut c: Client) -> Checked {
    let (email, _) = new_user(&mut c).await?;
    let status = refused(
        c.sign_up(sign_up_request(&email, PASSWORD)).await,
        Code::AlreadyExists,
        "SignUp(same email again)",
    )?;
    reason(&status, "EMAIL_TAKEN", "SignUp(same email again)")?;
    let status = refused(
        c.sign_up(sign_up_request(&email.to_uppercase(), PASSWORD))
            .await,
        Code::AlreadyExists,
        "SignUp(same email in upper case)",
    )?;
    reason(&status, "EMAIL_TAKEN", "SignUp(same email in upper case)")?;
    Ok(())
}

async fn sign_up_invalid(mut c: Client) -> Checked {
    for bad in ["no-at-sign", "@conformance.test", "someone@", "a@b@c", ""] {
        invalid(
            c.sign_up(sign_up_request(bad, PASSWORD)).await,
            "email",
            &format!("SignUp(email {bad:?})"),
        )?;
    }
    let long_email = format!("{}@example.com", repeat('a', 243));
    invalid(
        c.sign_up(sign_up_request(&long_email, PASSWORD)).await,
        "email",
        "SignUp(email of 255 characters)",
    )?;
    invalid(
        c.sign_up(sign_up_request(&email(), "too-short")).await,
        "password",
        "SignUp(password of 9 characters)",
    )?;
    invalid(
        c.sign_up(sign_up_request(&email(), &repeat('p', 129)))
            .await,
        "password",
        "SignUp(password of 129 characters)",
    )?;
    invalid(
        c.sign_up(sign_up_request(&email(), "")).await,
        "password",
        "SignUp(empty password)",
    )?;
    let same = email();
    invalid(
        c.sign_up(sign_up_request(&same, &same)).await,
        "password",
        "SignUp(password equal to the email)",
    )?;
    let mut long_name = sign_up_request(&email(), PASSWORD);
    long_name.display_name = repeat('n', 101);
    invalid(
        c.sign_up(long_name).await,
        "display_name",
        "SignUp(display_name of 101 characters)",
    )?;
    let mut longest = sign_up_request(&email(), &repeat('p', 128));
    longest.display_name = repeat('n', 100);
    ok(
        c.sign_up(longest).await,
        "SignUp(password of 128 and display_name of 100 characters)",
    )?;
    Ok(())
}

async fn password_code_points(mut c: Client) -> Checked {
    ok(
        c.sign_up(sign_up_request(&email(), &repeat('é', 10))).await,
        "SignUp(password of 10 two-byte characters)",
    )?;
    invalid(
        c.sign_up(sign_up_request(&email(), &repeat('é', 9))).await,
        "password",
        "SignUp(password of 9 two-byte characters)",
    )
}

async fn log_in(mut c: Client) -> Checked {
    let (email, response) = new_user(&mut c).await?;
    let user = response.user.unwrap_or_default();
    let logged = ok(
        c.log_in(LogInRequest {
            email: email.to_uppercase(),
            password: PASSWORD.into(),
        })
        .await,
        "LogIn(email in upper case)",
    )?;
    ensure!(
        logged.user.as_ref().map(|u| &u.id) == Some(&user.id),
        "LogIn returned user {:?}, SignUp {:?}",
        logged.user.map(|u| u.id),
        user.id
    );
    let session = session_of(logged.session, "LogIn")?;
    let signed_up = response.session.unwrap_or_default();
    ensure!(
        session.refresh_token != signed_up.refresh_token,
        "LogIn returned the refresh token of the sign-up session: not a new session"
    );
    ok(
        c.get_current_user(authorized(&session.access_token, GetCurrentUserRequest {}))
            .await,
        "GetCurrentUser with the LogIn token",
    )?;
    invalid(
        c.log_in(LogInRequest {
            email: String::new(),
            password: PASSWORD.into(),
        })
        .await,
        "email",
        "LogIn(empty email)",
    )?;
    invalid(
        c.log_in(LogInRequest {
            email: email.clone(),
            password: String::new(),
        })
        .await,
        "password",
        "LogIn(empty password)",
    )
}

async fn log_in_refused(mut c: Client) -> Checked {
    let (email, _) = new_user(&mut c).await?;
    let wrong = refused(
        c.log_in(LogInRequest {
            email,
            password: "not the password".into(),
        })
        .await,
        Code::Unauthenticated,
        "LogIn(wrong password)",
    )?;
    reason(&wrong, "INVALID_CREDENTIALS", "LogIn(wrong password)")?;
    let unknown = refused(
        c.log_in(LogInRequest {
            email: email_unknown(),
            password: PASSWORD.into(),
        })
        .await,
        Code::Unauthenticated,
        "LogIn(unknown email)",
    )?;
    reason(&unknown, "INVALID_CREDENTIALS", "LogIn(unknown email)")?;
    ensure!(
        wrong.message() == unknown.message(),
        "a wrong password ({:?}) and an unknown email ({:?}) get different messages, revealing which emails have accounts",
        wrong.message(),
        unknown.message()
    );
    Ok(())
}

fn email_unknown() -> String {
    format!("{}@conformance.test", unique("nobody"))
}

async fn throttled(mut c: Client) -> Checked {
    let (email, _) = new_user(&mut c).await?;
    for attempt in 1..=5 {
        refused(
            c.log_in(LogInRequest {
                email: email.clone(),
                password: "not the password".into(),
            })
            .await,
            Code::Unauthenticated,
            &format!("LogIn(wrong password, attempt {attempt})"),
        )?;
    }
    let status = refused(
        c.log_in(LogInRequest {
            email,
            password: PASSWORD.into(),
        })
        .await,
        Code::ResourceExhausted,
        "LogIn(right password after 5 failures)",
    )?;
    reason(&status, "TOO_MANY_ATTEMPTS", "LogIn(throttled)")?;
    let retry = status.get_details_retry_info();
    ensure!(
        retry
            .as_ref()
            .is_some_and(|r| r.retry_delay.is_some_and(|d| !d.is_zero())),
        "the RESOURCE_EXHAUSTED carries no RetryInfo with a retry_delay: {retry:?}"
    );
    Ok(())
}

async fn guest(mut c: Client) -> Checked {
    let response = ok(
        c.start_guest_session(StartGuestSessionRequest {}).await,
        "StartGuestSession",
    )?;
    let Some(user) = response.user else {
        return fail("StartGuestSession answered without the user");
    };
    ensure!(
        user.kind() == UserKind::Guest,
        "a guest has kind {:?}",
        user.kind()
    );
    ensure!(
        user.email.is_empty() && user.roles.is_empty(),
        "a guest has email {:?} and roles {:?}",
        user.email,
        user.roles
    );
    let session = session_of(response.session, "StartGuestSession")?;
    let me = ok(
        c.get_current_user(authorized(&session.access_token, GetCurrentUserRequest {}))
            .await,
        "GetCurrentUser(guest)",
    )?;
    ensure!(
        me.user.as_ref() == Some(&user),
        "GetCurrentUser returned {:?} for guest {user:?}",
        me.user
    );
    let other = ok(
        c.start_guest_session(StartGuestSessionRequest {}).await,
        "StartGuestSession",
    )?;
    ensure!(
        other.user.map(|u| u.id) != Some(user.id),
        "two guest sessions got the same user id"
    );
    Ok(())
}

async fn current_user_refused(mut c: Client) -> Checked {
    refused(
        c.get_current_user(GetCurrentUserRequest {}).await,
        Code::Unauthenticated,
        "GetCurrentUser(no token)",
    )?;
    refused(
        c.get_current_user(garbage_token(GetCurrentUserRequest {}))
            .await,
        Code::Unauthenticated,
        "GetCurrentUser(malformed token)",
    )?;
    let (_, response) = new_user(&mut c).await?;
    let token = response.session.unwrap_or_default().access_token;
    refused(
        c.get_current_user(authorized(&tampered(&token), GetCurrentUserRequest {}))
            .await,
        Code::Unauthenticated,
        "GetCurrentUser(token with a forged signature)",
    )?;
    let mut raw = Request::new(GetCurrentUserRequest {});
    if let Ok(value) = token.parse() {
        raw.metadata_mut().insert("authorization", value);
    }
    refused(
        c.get_current_user(raw).await,
        Code::Unauthenticated,
        "GetCurrentUser(token without \"Bearer \")",
    )?;
    Ok(())
}

async fn refresh(mut c: Client) -> Checked {
    let (_, response) = new_user(&mut c).await?;
    let first = response.session.unwrap_or_default();
    let refreshed = ok(
        c.refresh_session(RefreshSessionRequest {
            refresh_token: first.refresh_token.clone(),
        })
        .await,
        "RefreshSession",
    )?;
    let second = session_of(refreshed.session, "RefreshSession")?;
    ensure!(
        second.refresh_token == first.refresh_token,
        "RefreshSession changed the refresh token"
    );
    ensure!(
        second.expire_time == first.expire_time,
        "RefreshSession changed the session's expire_time from {:?} to {:?}",
        first.expire_time,
        second.expire_time
    );
    let me = ok(
        c.get_current_user(authorized(&second.access_token, GetCurrentUserRequest {}))
            .await,
        "GetCurrentUser with the refreshed token",
    )?;
    ensure!(
        me.user == response.user,
        "the refreshed token names {:?}, not {:?}",
        me.user,
        response.user
    );
    ok(
        c.refresh_session(RefreshSessionRequest {
            refresh_token: first.refresh_token,
        })
        .await,
        "RefreshSession again (safe to retry)",
    )?;
    Ok(())
}

async fn refresh_refused(mut c: Client) -> Checked {
    invalid(
        c.refresh_session(RefreshSessionRequest {
            refresh_token: String::new(),
        })
        .await,
        "refresh_token",
        "RefreshSession(\"\")",
    )?;
    let status = refused(
        c.refresh_session(RefreshSessionRequest {
            refresh_token: unique("not-a-refresh-token"),
        })
        .await,
        Code::Unauthenticated,
        "RefreshSession(unknown)",
    )?;
    reason(&status, "SESSION_ENDED", "RefreshSession(unknown)")?;
    Ok(())
}

async fn log_out(mut c: Client) -> Checked {
    refused(
        c.log_out(LogOutRequest {}).await,
        Code::Unauthenticated,
        "LogOut(no token)",
    )?;
    refused(
        c.log_out(garbage_token(LogOutRequest {})).await,
        Code::Unauthenticated,
        "LogOut(malformed token)",
    )?;
    let (_, response) = new_user(&mut c).await?;
    let session = response.session.unwrap_or_default();
    ok(
        c.log_out(authorized(&session.access_token, LogOutRequest {}))
            .await,
        "LogOut",
    )?;
    let status = refused(
        c.refresh_session(RefreshSessionRequest {
            refresh_token: session.refresh_token.clone(),
        })
        .await,
        Code::Unauthenticated,
        "RefreshSession after LogOut",
    )?;
    reason(&status, "SESSION_ENDED", "RefreshSession after LogOut")?;
    let status = refused(
        c.get_current_user(authorized(&session.access_token, GetCurrentUserRequest {}))
            .await,
        Code::Unauthenticated,
        "GetCurrentUser after LogOut",
    )?;
    reason(&status, "SESSION_ENDED", "GetCurrentUser after LogOut")?;
    ok(
        c.log_out(authorized(&session.access_token, LogOutRequest {}))
            .await,
        "LogOut again (idempotent)",
    )?;
    Ok(())
}

async fn signing_keys(mut c: Client) -> Checked {
    let page = ok(
        c.list_signing_keys(ListSigningKeysRequest::default()).await,
        "ListSigningKeys",
    )?;
    let ttl = page.cache_ttl.as_ref().map(|d| d.seconds);
    ensure!(
        ttl == Some(600),
        "cache_ttl is {:?} s, not 10 minutes",
        page.cache_ttl
    );
    ensure!(
        page.signing_keys.len() <= 20,
        "the default page holds {} keys, more than 20",
        page.signing_keys.len()
    );
    let all = keys(&c, 1).await?;
    ensure!(!all.is_empty(), "no signing key is listed");
    let ids: BTreeSet<&str> = all.iter().map(|k| k.key_id.as_str()).collect();
    ensure!(ids.len() == all.len(), "a key is listed twice across pages");
    for key in &all {
        ensure!(
            (1..=64).contains(&key.key_id.len())
                && key
                    .key_id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "key id {:?} is not 1..=64 characters of [A-Za-z0-9_-]",
            key.key_id
        );
        ensure!(
            key.algorithm() == KeyAlgorithm::Ed25519,
            "key {} has algorithm {:?}",
            key.key_id,
            key.algorithm()
        );
        ensure!(
            key.public_key.len() == 32,
            "key {} is {} bytes, not 32",
            key.key_id,
            key.public_key.len()
        );
    }
    let times: Vec<i64> = all
        .iter()
        .map(|k| k.create_time.as_ref().map_or(0, |t| t.seconds))
        .collect();
    ensure!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "keys are not listed newest first: create times {times:?}"
    );
    let status = refused(
        c.list_signing_keys(ListSigningKeysRequest {
            page_size: -1,
            ..Default::default()
        })
        .await,
        Code::InvalidArgument,
        "ListSigningKeys(page_size -1)",
    )?;
    violation(&status, "page_size", "ListSigningKeys(page_size -1)")?;
    invalid(
        c.list_signing_keys(ListSigningKeysRequest {
            page_token: "garbage".into(),
            ..Default::default()
        })
        .await,
        "page_token",
        "ListSigningKeys(page_token \"garbage\")",
    )
}

async fn admin(mut c: Client, target: Target) -> Checked {
    let Admin::Account { email, .. } = target.admin()?.clone() else {
        return Err(crate::check::Problem::Skipped(
            "--admin-email and --admin-password (not a token)".into(),
        ));
    };
    let token = crate::shopper::admin_token(&target).await?;
    let me = ok(
        c.get_current_user(authorized(&token, GetCurrentUserRequest {}))
            .await,
        "GetCurrentUser(admin)",
    )?;
    let Some(user) = me.user else {
        return fail("GetCurrentUser answered without the user");
    };
    ensure!(
        user.email.eq_ignore_ascii_case(&email),
        "the admin's token names {:?}",
        user.email
    );
    ensure!(
        user.roles.contains(&(Role::Admin as i32)),
        "the configured admin has roles {:?}",
        user.roles
    );
    let claims = verified_claims(&c, &token, &user, "user").await?;
    ensure!(
        claims["roles"]
            .as_array()
            .is_some_and(|r| r.iter().any(|v| v == "admin")),
        "the admin's roles claim is {}",
        claims["roles"]
    );
    Ok(())
}
