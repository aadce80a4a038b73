//! Server-generated ids: a short prefix that says what the id names, then 128 random bits
//! in hex. Opaque to clients; 36 characters, so the request ids derived from an order id
//! (`<order id>-reserve-2`) stay within the 64 characters other services accept.

/// A new random id, `<prefix>_<32 hex digits>`.
pub fn random_id(prefix: &str) -> String {
    let mut bytes = [0_u8; 16];
    if let Err(error) = getrandom::fill(&mut bytes) {
        // Without the OS's randomness, fall back on time and a counter: still unique within
        // this process and across processes in practice, never a repeated id.
        tracing::error!(%error, "no randomness from the operating system");
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        bytes[..8].copy_from_slice(&nanos.to_be_bytes());
        bytes[8..].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    }
    let mut id = String::with_capacity(prefix.len() + 33);
    id.push_str(prefix);
    id.push('_');
    for byte in bytes {
        id.push_str(&format!("{byte:02x}"));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_and_distinct() {
        let a = random_id("ord");
        let b = random_id("ord");
        assert!(a.starts_with("ord_"));
        assert_eq!(a.len(), 36);
        assert_ne!(a, b);
    }
}
