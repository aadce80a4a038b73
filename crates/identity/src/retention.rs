//! Retention: what identity forgets, so that its store does not grow with every visitor.
//!
//! A sweep, every `--sweep-every-secs`, deletes in batches of [`BATCH`] (each batch its own
//! short statement or transaction, so neither backend holds a long lock):
//!
//! - sessions that ended (expired, or were logged out) more than the session retention ago
//!   (`--session-retention-days`, 7): they can never be used again, and the week is there
//!   for whoever looks into a recent incident;
//! - guests idle for more than the guest retention (`--guest-retention-days`, 30). A guest
//!   has no password and one session, opened with it, which lives at most
//!   [`SESSION_LIFETIME`] (30 days): once that is over nobody can ever act as the guest
//!   again. So a guest is deleted once its creation is more than the session lifetime and
//!   the retention ago (and, as a guard, no session of it is still open within the
//!   retention); what is left of its sessions goes with it, in the same transaction.
//!
//! Times come from the service's clock, so tests move time instead of waiting. Registered
//! users are never deleted here.

use std::sync::Arc;
use std::time::Duration;

use chassis::Shutdown;
use chassis::store::StoreCell;
use sqlx::Row;

use crate::api::Ready;
use crate::clock::Clock;
use crate::session::SESSION_LIFETIME;
use crate::store::IdentityStore;

/// Rows deleted per statement.
pub const BATCH: usize = 500;

/// How long what has ended is kept; `None` keeps it for ever.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    /// Guests, counted from the end of their last session.
    pub guests: Option<Duration>,
    /// Sessions, counted from their end.
    pub sessions: Option<Duration>,
}

impl Retention {
    /// Retention in days; 0 keeps for ever.
    pub fn days(guests: u32, sessions: u32) -> Self {
        let days = |n: u32| (n > 0).then(|| Duration::from_secs(u64::from(n) * 86_400));
        Self {
            guests: days(guests),
            sessions: days(sessions),
        }
    }
}

/// What one sweep deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Sessions that had ended long ago.
    pub sessions: u64,
    /// Idle guests (their sessions included).
    pub guests: u64,
}

/// Deletes what `retention` no longer keeps at `now_ms`, `batch` rows at a time
/// ([`BATCH`] in service).
pub async fn sweep(
    store: &IdentityStore,
    now_ms: i64,
    retention: Retention,
    batch: usize,
) -> Result<Swept, sqlx::Error> {
    let batch = batch.max(1);
    let mut swept = Swept::default();
    if let Some(keep) = retention.sessions {
        let cutoff = now_ms.saturating_sub(keep.as_millis() as i64);
        loop {
            let deleted = sqlx::query(
                "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
                 WHERE expire_ms < $1 OR (end_ms IS NOT NULL AND end_ms < $1) LIMIT $2)",
            )
            .bind(cutoff)
            .bind(batch as i64)
            .execute(store.pool())
            .await?
            .rows_affected();
            swept.sessions += deleted;
            if deleted < batch as u64 {
                break;
            }
        }
    }
    if let Some(keep) = retention.guests {
        let cutoff = now_ms.saturating_sub(keep.as_millis() as i64);
        loop {
            let deleted = sweep_guests(store, cutoff, batch).await?;
            swept.guests += deleted;
            if deleted < batch as u64 {
                break;
            }
        }
    }
    Ok(swept)
}

/// Deletes one batch of guests idle since before `cutoff` (their session over by then),
/// with their sessions.
async fn sweep_guests(
    store: &IdentityStore,
    cutoff: i64,
    batch: usize,
) -> Result<u64, sqlx::Error> {
    let mut tx = store.pool().begin().await?;
    let ids: Vec<String> = sqlx::query(
        "SELECT u.id FROM users u WHERE u.kind = 'guest' AND u.create_ms < $2 \
         AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = u.id \
         AND s.expire_ms >= $1 AND (s.end_ms IS NULL OR s.end_ms >= $1)) LIMIT $3",
    )
    .bind(cutoff)
    .bind(cutoff.saturating_sub(SESSION_LIFETIME.as_millis() as i64))
    .bind(batch as i64)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|row| row.try_get("id"))
    .collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Ok(0);
    }
    let list = (1..=ids.len())
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    for statement in [
        format!("DELETE FROM sessions WHERE user_id IN ({list})"),
        format!("DELETE FROM users WHERE kind = 'guest' AND id IN ({list})"),
    ] {
        let mut query = sqlx::query(&statement);
        for id in &ids {
            query = query.bind(id.clone());
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(ids.len() as u64)
}

/// Sweeps every `every` until `shutdown`, once the store is open.
pub async fn run(
    ready: StoreCell<Ready>,
    clock: Arc<dyn Clock>,
    retention: Retention,
    every: Duration,
    shutdown: Shutdown,
) {
    if retention.guests.is_none() && retention.sessions.is_none() {
        return;
    }
    loop {
        tokio::select! {
            () = shutdown.wait() => return,
            () = tokio::time::sleep(every) => {}
        }
        let Ok(ready) = ready.get() else {
            continue;
        };
        match sweep(&ready.store, clock.now_ms(), retention, BATCH).await {
            Ok(Swept {
                sessions: 0,
                guests: 0,
            }) => {}
            Ok(swept) => tracing::info!(
                sessions = swept.sessions,
                guests = swept.guests,
                "ended sessions and idle guests deleted"
            ),
            Err(error) => {
                tracing::warn!(error = %chassis::error::chain(&error), "retention sweep failed");
            }
        }
    }
}
