//! ClaimAdmin refusals, which need no code from the operator: a wrong code, an empty one,
//! a guest, no token. (Redeeming a real code is the admin check in `tokens`.)

use bazaar_contract::identity::v1::*;
use tonic::Code;

use super::{Client, new_user};
use crate::check::{Checked, invalid, ok, reason, refused};
use crate::ensure;
use crate::target::{authorized, unique};

pub(super) async fn claim_admin_refused(mut c: Client) -> Checked {
    let (_, response) = new_user(&mut c).await?;
    let token = response.session.unwrap_or_default().access_token;
    let status = refused(
        c.claim_admin(authorized(
            &token,
            ClaimAdminRequest {
                code: unique("not-a-code"),
            },
        ))
        .await,
        Code::PermissionDenied,
        "ClaimAdmin(wrong code)",
    )?;
    reason(&status, "INVALID_ADMIN_CODE", "ClaimAdmin(wrong code)")?;
    let me = ok(
        c.get_current_user(authorized(&token, GetCurrentUserRequest {}))
            .await,
        "GetCurrentUser after a wrong admin code",
    )?;
    let roles = me.user.unwrap_or_default().roles;
    ensure!(
        roles.is_empty(),
        "a wrong admin code left the user with roles {roles:?}"
    );
    invalid(
        c.claim_admin(authorized(
            &token,
            ClaimAdminRequest {
                code: String::new(),
            },
        ))
        .await,
        "code",
        "ClaimAdmin(empty code)",
    )?;
    refused(
        c.claim_admin(ClaimAdminRequest {
            code: unique("no-token"),
        })
        .await,
        Code::Unauthenticated,
        "ClaimAdmin(no token)",
    )?;
    let guest = ok(
        c.start_guest_session(StartGuestSessionRequest {}).await,
        "StartGuestSession",
    )?;
    let status = refused(
        c.claim_admin(authorized(
            &guest.session.unwrap_or_default().access_token,
            ClaimAdminRequest {
                code: unique("guest"),
            },
        ))
        .await,
        Code::FailedPrecondition,
        "ClaimAdmin(guest)",
    )?;
    reason(&status, "GUEST_CANNOT_BE_ADMIN", "ClaimAdmin(guest)")?;
    Ok(())
}
