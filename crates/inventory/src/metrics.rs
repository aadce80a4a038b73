//! inventory's own numbers: how many reservations hold stock now
//! (`bazaar_reservations_active`) and how many ran out before their order committed or
//! released them (`bazaar_reservations_expired_total`). Expiries that climb while checkouts
//! do not mean sagas stall between reserving and committing (a payment or shipping
//! outage); active reservations that only grow mean stock is held and not sold.
//!
//! The active count is read from the store, not kept by adding and subtracting here: every
//! replica of inventory shares one store and changes it, so only the store knows the
//! number. It is sampled when the store opens and after every sweep
//! ([`crate::sweeper`]), so every replica shows the same store-wide figure, at most one
//! sweep interval old (aggregate replicas with `max`, not `sum`).
//!
//! An expiry is counted by the replica whose transaction marked the reservation EXPIRED,
//! after that transaction commits (a sweep, or a write that found it overdue), so each
//! expiry counts once across replicas (aggregate them with `sum`).

/// Reservations ACTIVE and not yet past their expiry, in the store (a gauge).
pub(crate) const RESERVATIONS_ACTIVE: &str = "bazaar_reservations_active";
/// Reservations marked EXPIRED by this process.
pub(crate) const RESERVATIONS_EXPIRED: &str = "bazaar_reservations_expired_total";

/// The store holds `count` active reservations.
pub(crate) fn reservations_active(count: i64) {
    ::metrics::gauge!(RESERVATIONS_ACTIVE).set(count as f64);
}

/// A committed transaction marked `count` reservations EXPIRED.
pub(crate) fn reservations_expired(count: u64) {
    if count > 0 {
        ::metrics::counter!(RESERVATIONS_EXPIRED).increment(count);
    }
}
