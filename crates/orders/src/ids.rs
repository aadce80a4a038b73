//! The ids orders makes: orders and events in the contract's formats
//! (`bazaar_contract::values::ids`), and the name this process takes in saga leases.
//!
//! Orders never fails a checkout for want of an id: without the operating system's
//! randomness, the bytes of an id are the time and a counter instead, still unique within
//! this process and across processes in practice, never a repeated id.

use std::sync::atomic::{AtomicU64, Ordering};

use bazaar_contract::values::IdFormat;
use bazaar_contract::values::ids::Encoding;

pub use bazaar_contract::values::ids::{ORDER, ORDER_EVENT};

/// This process's name in saga leases: `proc_` and 32 hex digits.
pub const LEASE_OWNER: IdFormat = IdFormat::new("proc_", Encoding::Hex, 16);

/// A new id of `format`.
pub fn new_id(format: &IdFormat) -> String {
    format.generate().unwrap_or_else(|error| {
        tracing::error!(%error, "no randomness from the operating system");
        format.write(&unique_bytes(format.random_bytes()))
    })
}

/// `len` bytes of the clock's nanoseconds and a counter of this process.
fn unique_bytes(len: usize) -> Vec<u8> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut bytes: Vec<u8> = nanos
        .to_be_bytes()
        .into_iter()
        .chain(count.to_be_bytes())
        .collect();
    bytes.resize(len, 0);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_and_distinct() {
        let a = new_id(&ORDER);
        let b = new_id(&ORDER);
        assert!(a.starts_with("ord_"));
        assert_eq!(a.len(), 36);
        assert_ne!(a, b);
        assert!(new_id(&LEASE_OWNER).starts_with("proc_"));
    }

    #[test]
    fn fallback_bytes_never_repeat() {
        let a = ORDER.write(&unique_bytes(ORDER.random_bytes()));
        let b = ORDER.write(&unique_bytes(ORDER.random_bytes()));
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
    }
}
