//! Identity: sign-up, log-in, guest sessions, refresh and log-out, and the signing keys
//! that let every other service verify access tokens offline.
//!
//! The token format is part of the contract (an EdDSA JWT with the claims the service
//! comment lists), so the kit decodes tokens and verifies their signatures with the keys
//! ListSigningKeys publishes, exactly as another service would.
//!
//! One file per part of the contract: `sign_up`, `tokens` (the JWT and its claims),
//! `log_in`, `sessions` (guests, the current user, refresh and log-out), `signing_keys` and
//! `claim_admin` (its refusals).
//! A fresh user and the checks every new session must pass are here.

mod claim_admin;
mod log_in;
mod sessions;
mod sign_up;
mod signing_keys;
mod tokens;

use bazaar_contract::identity::v1::identity_service_client::IdentityServiceClient;
use bazaar_contract::identity::v1::*;
use tonic::transport::Channel;

use crate::check::{Checked, fail, ok};
use crate::suites::from_now;
use crate::target::{Target, unique};
use crate::{Runner, ensure};

type Client = IdentityServiceClient<Channel>;

/// Runs every identity check.
pub async fn run(target: &Target, r: &mut Runner<'_>) {
    let c = IdentityServiceClient::new(target.own());
    r.check(
        "SignUp creates a registered user with a 15-minute token and a 30-day session",
        sign_up::sign_up(c.clone()),
    )
    .await;
    r.check(
        "access tokens are EdDSA JWTs with the promised claims, signed by a listed key",
        tokens::token_format(c.clone()),
    )
    .await;
    r.check(
        "SignUp with a taken email (any case) is ALREADY_EXISTS, reason EMAIL_TAKEN",
        sign_up::email_taken(c.clone()),
    )
    .await;
    r.check(
        "SignUp: malformed email, password outside policy, long name are INVALID_ARGUMENT",
        sign_up::sign_up_invalid(c.clone()),
    )
    .await;
    r.check(
        "SignUp counts password length in code points, not bytes",
        sign_up::password_code_points(c.clone()),
    )
    .await;
    r.check(
        "LogIn opens a session for the same user, email compared case-insensitively",
        log_in::log_in(c.clone()),
    )
    .await;
    r.check(
        "LogIn: wrong password and unknown email are the same UNAUTHENTICATED INVALID_CREDENTIALS",
        log_in::log_in_refused(c.clone()),
    )
    .await;
    r.check(
        "LogIn: after 5 failures even the right password is RESOURCE_EXHAUSTED with RetryInfo",
        log_in::throttled(c.clone()),
    )
    .await;
    r.check(
        "StartGuestSession opens a guest with no email or roles",
        sessions::guest(c.clone()),
    )
    .await;
    r.check(
        "GetCurrentUser: missing, malformed or forged token is UNAUTHENTICATED",
        sessions::current_user_refused(c.clone()),
    )
    .await;
    r.check(
        "RefreshSession issues a new working access token, refresh token and expiry unchanged",
        sessions::refresh(c.clone()),
    )
    .await;
    r.check(
        "RefreshSession: empty token INVALID_ARGUMENT, unknown UNAUTHENTICATED SESSION_ENDED",
        sessions::refresh_refused(c.clone()),
    )
    .await;
    r.check(
        "LogOut ends the session at once and is idempotent",
        sessions::log_out(c.clone()),
    )
    .await;
    r.check("ListSigningKeys lists Ed25519 keys with a 10-minute cache_ttl; bad paging INVALID_ARGUMENT", signing_keys::signing_keys(c.clone())).await;
    r.check(
        "ClaimAdmin: wrong code PERMISSION_DENIED, empty INVALID_ARGUMENT, guest FAILED_PRECONDITION",
        claim_admin::claim_admin_refused(c.clone()),
    )
    .await;
    r.check(
        "an admin made with an operator's one-time code gets ROLE_ADMIN and the \"admin\" claim",
        tokens::admin(c.clone(), target.clone()),
    )
    .await;
}

const PASSWORD: &str = "correct horse battery";

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
