//! LogIn: a new session for the same user; wrong password and unknown email look the same;
//! repeated failures are throttled.

use bazaar_contract::identity::v1::*;
use tonic::Code;
use tonic_types::StatusExt;

use super::{Client, PASSWORD, new_user, session_of};
use crate::check::{Checked, invalid, ok, reason, refused};
use crate::ensure;
use crate::target::{authorized, unique};

pub(super) async fn log_in(mut c: Client) -> Checked {
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

pub(super) async fn log_in_refused(mut c: Client) -> Checked {
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

pub(super) async fn throttled(mut c: Client) -> Checked {
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
