//! The sweeper: marks reservations EXPIRED once their time has passed and returns their
//! units to `available` in the store's counts.
//!
//! Nothing depends on it for correctness (reads count overdue reservations out and writes
//! expire them on the spot, see [`crate::store`]); it keeps `stock.reserved` close to the
//! truth and the set of overdue reservations small, so those checks stay cheap.

use std::sync::Arc;
use std::time::Duration;

use chassis::Shutdown;
use chassis::store::StoreCell;

use crate::clock::Clock;
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
        }
    }
}
