//! Sessions after sign-up: guests, GetCurrentUser with bad tokens, RefreshSession and LogOut.

use bazaar_contract::identity::v1::*;
use tonic::{Code, Request};

use super::{Client, new_user, session_of};
use crate::check::{Checked, fail, invalid, ok, reason, refused};
use crate::ensure;
use crate::target::{authorized, garbage_token, tampered, unique};

pub(super) async fn guest(mut c: Client) -> Checked {
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

pub(super) async fn current_user_refused(mut c: Client) -> Checked {
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

pub(super) async fn refresh(mut c: Client) -> Checked {
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

pub(super) async fn refresh_refused(mut c: Client) -> Checked {
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

pub(super) async fn log_out(mut c: Client) -> Checked {
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
