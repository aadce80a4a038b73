//! ClaimAdmin: a registered user redeems a one-time admin code (see [`crate::admin`]).
//!
//! The code is checked only after the caller's session, its kind and its throttle, so a
//! locked-out or guest caller learns nothing about any code. A wrong, used and expired code
//! get the same answer.

use std::time::Duration;

use bazaar_contract::identity::v1 as pb;
use chassis::auth::Caller;
use chassis::error::FieldViolation;

use super::IdentityApi;
use crate::admin::{CLAIM_FAILURE_WINDOW, MAX_CODE_CHARS, claims_locked_until, code_hash};
use crate::error::IdentityError;

impl IdentityApi {
    /// ClaimAdmin for `caller`.
    pub(super) async fn claim_admin_for(
        &self,
        caller: &Caller,
        request: pb::ClaimAdminRequest,
    ) -> Result<pb::ClaimAdminResponse, IdentityError> {
        let code = request.code.trim();
        if code.is_empty() {
            return Err(FieldViolation::new("code", "is required").into());
        }
        if code.chars().count() > MAX_CODE_CHARS {
            return Err(FieldViolation::new(
                "code",
                format!("must be at most {MAX_CODE_CHARS} characters"),
            )
            .into());
        }
        let ready = self.ready()?;
        let user = self.current_user(ready, caller).await?;
        if user.kind == "guest" {
            return Err(IdentityError::GuestCannotBeAdmin);
        }
        if user.admin_since_ms.is_some() {
            // A retry after a lost response, or an admin's stray call: nothing to do, and
            // the code stays unused.
            return Ok(pb::ClaimAdminResponse {
                user: Some(self.user_to_pb(&user)),
            });
        }
        let now = self.clock.now_ms();
        let window_start = now - CLAIM_FAILURE_WINDOW.as_millis() as i64;
        let failures = ready
            .store
            .claim_failures_since(&user.id, window_start)
            .await?;
        if let Some(until) = claims_locked_until(&failures).filter(|until| *until > now) {
            tracing::info!("admin claim refused: too many wrong codes");
            return Err(IdentityError::Throttled(Duration::from_millis(
                (until - now) as u64,
            )));
        }
        if !ready
            .store
            .redeem_admin_code(&code_hash(code), &user.id, now)
            .await?
        {
            ready
                .store
                .record_claim_failure(&user.id, now, window_start)
                .await?;
            tracing::warn!("admin claim refused: wrong, used or expired code");
            return Err(IdentityError::InvalidAdminCode);
        }
        let user = ready
            .store
            .user(&user.id)
            .await?
            .ok_or(IdentityError::SessionEnded)?;
        tracing::warn!("admin code redeemed: the caller is now an admin");
        Ok(pb::ClaimAdminResponse {
            user: Some(self.user_to_pb(&user)),
        })
    }
}
