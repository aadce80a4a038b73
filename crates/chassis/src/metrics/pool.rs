//! The connection pools of the process's stores, sampled when `/metrics` is scraped:
//! `bazaar_store_pool_connections{store,state="idle|in_use"}` and
//! `bazaar_store_pool_max_connections{store}`.
//!
//! [`crate::store::connect`] registers every pool it opens under the name of its store (the
//! SQLite file's stem, or the PostgreSQL database's name: bounded by the process's own
//! configuration). A pool that has been closed is forgotten at the next scrape.

use std::sync::Mutex;

use sqlx::AnyPool;

static POOLS: Mutex<Vec<(String, AnyPool)>> = Mutex::new(Vec::new());

/// Samples `pool` under `store` at every scrape from now on, until it is closed.
pub(crate) fn watch(store: String, pool: &AnyPool) {
    let mut pools = POOLS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    pools.push((store, pool.clone()));
}

/// Sets the pool gauges from every open pool's present state.
pub(crate) fn sample() {
    let mut pools = POOLS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    pools.retain(|(_, pool)| !pool.is_closed());
    for (store, pool) in pools.iter() {
        let size = pool.size();
        let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(size);
        metrics::gauge!("bazaar_store_pool_connections", "store" => store.clone(), "state" => "idle")
            .set(idle);
        metrics::gauge!("bazaar_store_pool_connections", "store" => store.clone(), "state" => "in_use")
            .set(size - idle);
        metrics::gauge!("bazaar_store_pool_max_connections", "store" => store.clone())
            .set(pool.options().get_max_connections());
    }
}
