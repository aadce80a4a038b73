//! Slowing down guessers.
//!
//! Two limits. Per account, in the store so that every replica sees it: after
//! [`MAX_FAILURES`] failed log-ins for one email within [`FAILURE_WINDOW`], every attempt
//! for that email is refused, even with the right password, until the oldest of those
//! failures leaves the window. Per client, in memory: at most N sign-ups, log-ins and guest
//! sessions a minute from one peer address, so one client cannot mint accounts or guess
//! across many emails at full speed. (Behind a proxy every client shares the proxy's
//! address; raise the limit there.)

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

/// Failed log-ins for one email that trigger the lock.
pub const MAX_FAILURES: usize = 5;
/// How far back failures count.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// When an account locked by failures may try again: `None` if it is not locked.
/// `failures` are the times (ms) of the failures within the window, oldest first.
pub fn locked_until(failures: &[i64]) -> Option<i64> {
    if failures.len() < MAX_FAILURES {
        return None;
    }
    // Attempts are allowed again once fewer than MAX_FAILURES remain in the window, i.e.
    // when the failure that makes the count reach the limit from the newest end leaves it.
    let pivot = failures[failures.len() - MAX_FAILURES];
    Some(pivot + FAILURE_WINDOW.as_millis() as i64)
}

/// A fixed-window counter of attempts per client address.
#[derive(Debug)]
pub struct ClientLimit {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl ClientLimit {
    /// At most `per_minute` attempts per address per minute.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt; `Err(wait)` when the address is over its limit.
    pub fn attempt(&self, client: Option<IpAddr>, now_ms: i64) -> Result<(), Duration> {
        let Some(client) = client else {
            return Ok(());
        };
        let Ok(mut windows) = self.windows.lock() else {
            return Ok(());
        };
        let minute = now_ms / 60_000;
        // Forget the windows of earlier minutes so the map stays small.
        windows.retain(|_, (window, _)| *window == minute);
        let entry = windows.entry(client).or_insert((minute, 0));
        if entry.1 >= self.per_minute {
            let wait = (minute + 1) * 60_000 - now_ms;
            return Err(Duration::from_millis(wait.max(1) as u64));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_until_the_first_of_them_leaves_the_window() {
        assert_eq!(locked_until(&[1, 2, 3, 4]), None);
        let window = FAILURE_WINDOW.as_millis() as i64;
        assert_eq!(locked_until(&[10, 20, 30, 40, 50]), Some(10 + window));
        assert_eq!(locked_until(&[10, 20, 30, 40, 50, 60]), Some(20 + window));
    }

    #[test]
    fn clients_are_limited_per_minute() {
        let limit = ClientLimit::new(2);
        let client = Some(IpAddr::from([10, 0, 0, 1]));
        assert!(limit.attempt(client, 0).is_ok());
        assert!(limit.attempt(client, 1).is_ok());
        assert_eq!(
            limit.attempt(client, 30_000),
            Err(Duration::from_millis(30_000))
        );
        assert!(
            limit
                .attempt(Some(IpAddr::from([10, 0, 0, 2])), 30_000)
                .is_ok()
        );
        assert!(limit.attempt(client, 60_000).is_ok());
        assert!(limit.attempt(None, 60_000).is_ok());
    }
}
