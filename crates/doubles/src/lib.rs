//! Stand-ins of bazaar services for the tests of the services that call them: each a small
//! implementation of the generated server trait, served by the chassis on a real socket,
//! with shared state the tests inspect and the switches a test needs to make the callee
//! misbehave (down, declining, out of stock, failing N times). They follow the contract as
//! far as their callers use it: idempotency on request ids, error codes, reasons and details.
//!
//! - [`orders`]: the order event stream, for notification and recommendation;
//! - [`catalog`]: products with prices and categories, for orders and recommendation;
//! - [`cart`], [`currency`], [`inventory`], [`payment`], [`shipping`]: the rest of what a
//!   checkout calls;
//! - [`checkout`]: every service orders calls, served together, and where.
//!
//! A service's tests may use this crate as a dev-dependency (the architecture test allows
//! it, and only it, for tests); a service itself never does.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod currency;
pub mod inventory;
pub mod orders;
pub mod payment;
pub mod shipping;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use chassis::{Server, ServerArgs, Shutdown};

/// Shared, lockable state of a double: the double serves it, the test reads and switches it.
#[derive(Debug, Default)]
pub struct Shared<T>(Arc<Mutex<T>>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Shared<T> {
    /// Shares `state`.
    pub fn new(state: T) -> Self {
        Self(Arc::new(Mutex::new(state)))
    }

    /// The state, locked.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        // A poisoned lock means a test already panicked while holding it.
        self.0.lock().expect("the double's state is not poisoned")
    }
}

/// `UNAVAILABLE`, as a service that is down answers.
pub fn down() -> tonic::Status {
    tonic::Status::unavailable("test double switched off")
}

/// Money from a decimal text in `currency`: "19.99".
pub fn money(currency: &str, text: &str) -> bazaar_contract::types::v1::Money {
    let (units, fraction) = text.split_once('.').unwrap_or((text, ""));
    let fraction = format!("{fraction:0<9}");
    bazaar_contract::types::v1::Money {
        currency_code: currency.to_owned(),
        units: units.parse().expect("whole units"),
        nanos: fraction.parse().expect("at most nine decimals"),
    }
}

/// Server settings for a double on `listen` (loopback, any port, when `None`) that stops at
/// once: its streams never end by themselves, so a stop cuts them off.
pub fn server_args(listen: Option<SocketAddr>) -> ServerArgs {
    let mut args = ServerArgs::for_tests(std::env::temp_dir());
    if listen.is_some() {
        args.listen = listen;
    }
    args.shutdown_grace_secs = 0;
    args
}

/// A double, serving until [`Serving::stop`].
#[derive(Debug)]
pub struct Serving {
    /// Where it listens.
    pub addr: SocketAddr,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<()>,
}

impl Serving {
    /// Serves `server` (a double's services on a bound socket) on a task of its own.
    pub fn start(server: Server) -> Self {
        let addr = server.local_addr();
        let shutdown = Shutdown::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            server.serve(stop).await.expect("the double serves");
        });
        Self {
            addr,
            shutdown,
            task,
        }
    }

    /// Stops serving (open streams are cut off) and waits until it has.
    pub async fn stop(self) {
        self.shutdown.trigger();
        self.task.await.expect("the double stops");
    }
}

/// A free port on loopback, for a double that starts later than its consumer.
pub fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port on loopback")
}
