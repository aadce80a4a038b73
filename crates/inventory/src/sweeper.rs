//! The sweeper: marks reservations EXPIRED once their time has passed and returns their
//! units to `available` in the store's counts.
//!
//! Nothing depends on it for correctness (reads count overdue reservations out and writes
//! expire them on the spot, see [`crate::store`]); it keeps `stock.reserved` close to the
//! truth and the set of overdue reservations small, so those checks stay cheap. After each
//! sweep it reads how many reservations are active, for `bazaar_reservations_active` (see
//! `metrics`: the store is the one place that knows, whatever the replicas).

use std::sync::Arc;
use std::time::Duration;

use chassis::Shutdown;
use chassis::store::StoreCell;

use crate::clock::Clock;
use crate::metrics;
use crate::store::InventoryStore;

/// Sweeps every `every` until `shutdown`, once the store is open.
pub async fn run(
    store: StoreCell<InventoryStore>,
    clock: Arc<dyn Clock>,
    every: Duration,
    shutdown: Shutdown,
) {
    {
        loop {
            tokio::select! {
                () = shutdown.wait() => return,
                () = tokio::time::sleep(every) => {}
            }
            let Ok(store) = store.get() else {
                continue;
            };
            match store.sweep(clock.now_ms()).await {
                Ok(0) => {}
                Ok(expired) => tracing::info!(expired, "expired reservations swept"),
                Err(error) => {
                    tracing::warn!(error = %chassis::error::chain(&error), "sweep failed");
                }
            }
            count_active(store, clock.as_ref()).await;
        }
    }
}

/// Shows how many reservations the store holds active now (`bazaar_reservations_active`);
/// a store that cannot say leaves the last figure shown.
pub(crate) async fn count_active(store: &InventoryStore, clock: &dyn Clock) {
    match store.active_reservations(clock.now_ms()).await {
        Ok(count) => metrics::reservations_active(count),
        Err(error) => tracing::warn!(error = %chassis::error::chain(&error),
            "cannot count the active reservations"),
    }
}
