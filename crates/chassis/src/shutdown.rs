//! "Stop now", as a small value that can be cloned and awaited.
//!
//! A [`Shutdown`] starts untriggered; [`Shutdown::trigger`] (or SIGINT/SIGTERM once
//! [`Shutdown::on_signals`] is set up) flips it, and every clone waiting in
//! [`Shutdown::wait`] wakes. The server uses it to stop accepting calls and to begin draining;
//! tests use it to stop a service they started. [`Shutdown::sleep`] is the pause of a retry
//! or polling loop that must not hold a stop up: it ends early when the stop comes.

use std::time::Duration;

use tokio::sync::watch;

/// How a [`Shutdown::sleep`] ended.
#[must_use = "a loop that slept must stop when the sleep was cut short by a stop"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slept {
    /// The whole time passed without a stop.
    Elapsed,
    /// A stop was asked for (before or during the sleep).
    Stopped,
}

/// A clonable stop signal.
#[derive(Clone, Debug)]
pub struct Shutdown {
    sender: std::sync::Arc<watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A signal that has not been triggered.
    pub fn new() -> Self {
        let (sender, _) = watch::channel(false);
        Self {
            sender: std::sync::Arc::new(sender),
        }
    }

    /// A signal that triggers on the first SIGINT (Ctrl-C) or SIGTERM. Must be called inside
    /// a Tokio runtime.
    pub fn on_signals() -> Self {
        let shutdown = Self::new();
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            let signal = wait_for_signal().await;
            tracing::info!(signal, "stop requested");
            trigger.trigger();
        });
        shutdown
    }

    /// Asks everything that holds a clone to stop. Calling it again does nothing.
    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }

    /// Whether a stop has been asked for.
    pub fn is_triggered(&self) -> bool {
        *self.sender.borrow()
    }

    /// Resolves once a stop has been asked for (at once if it already has).
    pub async fn wait(&self) {
        let mut receiver = self.sender.subscribe();
        // The sender lives as long as `self`, so `wait_for` cannot fail while we hold it.
        let _ = receiver.wait_for(|stopped| *stopped).await;
    }

    /// Sleeps for `duration` on the Tokio clock (which tests pause), or until a stop is asked
    /// for, whichever comes first.
    pub async fn sleep(&self, duration: Duration) -> Slept {
        tokio::select! {
            // A stop that was asked for already wins over a zero-length sleep.
            biased;
            () = self.wait() => Slept::Stopped,
            () = tokio::time::sleep(duration) => Slept::Elapsed,
        }
    }
}

#[cfg(unix)]
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        },
        _ => {
            let _ = tokio::signal::ctrl_c().await;
            "ctrl-c"
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "ctrl-c"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_clone_wakes_on_trigger() {
        let shutdown = Shutdown::new();
        let waiter = shutdown.clone();
        let task = tokio::spawn(async move { waiter.wait().await });
        assert!(!shutdown.is_triggered());
        shutdown.trigger();
        task.await.expect("waiter finished");
        assert!(shutdown.is_triggered());
        // Waiting after the fact returns at once.
        shutdown.wait().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_sleep_runs_its_course_or_ends_at_the_stop() {
        let shutdown = Shutdown::new();
        let start = tokio::time::Instant::now();
        assert_eq!(shutdown.sleep(Duration::from_secs(3)).await, Slept::Elapsed);
        assert_eq!(start.elapsed(), Duration::from_secs(3));

        let trigger = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            trigger.trigger();
        });
        let start = tokio::time::Instant::now();
        assert_eq!(
            shutdown.sleep(Duration::from_secs(60)).await,
            Slept::Stopped
        );
        assert_eq!(start.elapsed(), Duration::from_secs(1));

        // Once stopped, a sleep ends at once, even one of zero length.
        assert_eq!(shutdown.sleep(Duration::ZERO).await, Slept::Stopped);
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }
}
