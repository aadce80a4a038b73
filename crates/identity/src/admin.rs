//! Who is admin: a registered user who redeemed a one-time admin code.
//!
//! Being an admin cannot follow from anything a stranger can do through the API (signing up
//! with a particular email, being first). It follows from a code that only the shop's
//! operator can have: one issued by a program with access to identity's store (`bazaar up`
//! prints one while the shop has no admin; `bazaar admin code` issues one at any time), on
//! the operator's terminal. Access to the store is the operator's credential.
//!
//! A code is 128 random bits, shown as 32 hex digits, and stored only as its SHA-256, so a
//! copy of the database does not give it away; it is valid for [`CODE_LIFETIME`] and can
//! be redeemed once, by one user (a conditional update, so two replicas cannot both accept
//! it). Issuing a code voids the unused one before it, so the last code printed is the only
//! one that works. Wrong codes are counted per user in the store (shared by replicas);
//! after [`CLAIM_FAILURES_ALLOWED`] within [`CLAIM_FAILURE_WINDOW`] that user must wait.
//! Guessing is hopeless anyway; the count keeps a guesser from being noise.

use std::fmt;
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::keys::{KeyError, hex, random_bytes};
use crate::store::IdentityStore;

/// How long an admin code may be redeemed after it was issued.
pub const CODE_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// How many wrong codes one user may try within [`CLAIM_FAILURE_WINDOW`].
pub const CLAIM_FAILURES_ALLOWED: usize = 5;
/// The window in which wrong codes are counted.
pub const CLAIM_FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// The longest text ClaimAdmin accepts as a code.
pub const MAX_CODE_CHARS: usize = 128;

/// An admin code just issued: the only time the code exists outside the operator's hands.
pub struct AdminCode {
    /// The code itself, to show the operator.
    pub code: String,
    /// Until when it may be redeemed, ms.
    pub expire_ms: i64,
}

impl fmt::Debug for AdminCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminCode")
            .field("code", &"<redacted>")
            .field("expire_ms", &self.expire_ms)
            .finish()
    }
}

/// Why an admin code cannot be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// No randomness.
    #[error("no randomness for an admin code")]
    Random(#[from] KeyError),
    /// The store failed.
    #[error("identity store failed")]
    Store(#[from] sqlx::Error),
}

/// What the store keeps of a code: hex of the SHA-256 of its normalized form (trimmed,
/// lower-cased).
pub fn code_hash(code: &str) -> String {
    hex(&Sha256::digest(code.trim().to_lowercase().as_bytes()))
}

/// When `user`'s next attempt is allowed, given the times of its wrong codes within the
/// window (oldest first): `None` while it has attempts left.
pub fn claims_locked_until(failures: &[i64]) -> Option<i64> {
    (failures.len() >= CLAIM_FAILURES_ALLOWED).then(|| {
        failures[failures.len() - CLAIM_FAILURES_ALLOWED] + CLAIM_FAILURE_WINDOW.as_millis() as i64
    })
}

impl IdentityStore {
    /// Whether any user is an admin.
    pub async fn admin_exists(&self) -> Result<bool, sqlx::Error> {
        let row = sqlx::query("SELECT id FROM users WHERE admin_since_ms IS NOT NULL LIMIT 1")
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    /// Issues a new admin code at `now_ms`, voiding any unused one.
    pub async fn issue_admin_code(&self, now_ms: i64) -> Result<AdminCode, IssueError> {
        let code = hex(&random_bytes::<16>()?);
        let expire_ms = now_ms + CODE_LIFETIME.as_millis() as i64;
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM admin_codes WHERE use_ms IS NULL")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO admin_codes (code_hash, create_ms, expire_ms, use_ms, user_id) \
             VALUES ($1, $2, $3, NULL, NULL)",
        )
        .bind(code_hash(&code))
        .bind(now_ms)
        .bind(expire_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(AdminCode { code, expire_ms })
    }

    /// Redeems the code with hash `hash` for registered user `user_id` at `now_ms`: marks the
    /// code used and the user an admin, in one transaction. False when no unused, unexpired
    /// code has that hash.
    pub async fn redeem_admin_code(
        &self,
        hash: &str,
        user_id: &str,
        now_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        let used = sqlx::query(
            "UPDATE admin_codes SET use_ms = $1, user_id = $2 \
             WHERE code_hash = $3 AND use_ms IS NULL AND expire_ms > $1",
        )
        .bind(now_ms)
        .bind(user_id)
        .bind(hash)
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() != 1 {
            return Ok(false);
        }
        let granted = sqlx::query(
            "UPDATE users SET admin_since_ms = $1 \
             WHERE id = $2 AND kind = 'user' AND admin_since_ms IS NULL",
        )
        .bind(now_ms)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if granted.rows_affected() != 1 {
            // Not a registered user who lacks the role: leave the code unused.
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Records a wrong admin code tried by `user_id`, and forgets every such failure (of
    /// any user) older than `forget_before`.
    pub async fn record_claim_failure(
        &self,
        user_id: &str,
        now_ms: i64,
        forget_before: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM admin_claim_failures WHERE at_ms < $1")
            .bind(forget_before)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO admin_claim_failures (user_id, at_ms) VALUES ($1, $2)")
            .bind(user_id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// The times of wrong admin codes tried by `user_id` since `since`, oldest first.
    pub async fn claim_failures_since(
        &self,
        user_id: &str,
        since: i64,
    ) -> Result<Vec<i64>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT at_ms FROM admin_claim_failures \
             WHERE user_id = $1 AND at_ms >= $2 ORDER BY at_ms",
        )
        .bind(user_id)
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|row| row.try_get("at_ms")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_compared_by_the_hash_of_their_normalized_form() {
        let hash = code_hash("0a1B2c");
        assert_eq!(hash, code_hash(" 0A1b2C\n"));
        assert_ne!(hash, code_hash("0a1b2d"));
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains("0a1b2c"));
    }

    #[test]
    fn five_wrong_codes_lock_a_user_for_the_window() {
        let window = CLAIM_FAILURE_WINDOW.as_millis() as i64;
        assert_eq!(claims_locked_until(&[]), None);
        assert_eq!(claims_locked_until(&[1, 2, 3, 4]), None);
        assert_eq!(claims_locked_until(&[1, 2, 3, 4, 5]), Some(1 + window));
        assert_eq!(claims_locked_until(&[1, 2, 3, 4, 5, 6]), Some(2 + window));
    }

    #[test]
    fn an_issued_code_never_shows_in_debug() {
        let code = AdminCode {
            code: "0123456789abcdef".to_owned(),
            expire_ms: 5,
        };
        assert!(!format!("{code:?}").contains("0123"));
    }
}
