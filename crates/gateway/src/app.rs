//! What every handler shares: the services, the cached currency list, what every shopper
//! sees alike (kept for a moment), and the few facts
//! about this process that pages show. Built once by [`crate::Gateway::bind`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::front_door::FrontDoor;
use crate::money::Currencies;
use crate::shop::shelves::Shelves;
use crate::upstreams::Upstreams;

/// What every handler shares.
#[derive(Debug)]
pub struct App {
    /// The services; called only through [`crate::shop`].
    pub upstreams: Upstreams,
    /// The currencies on offer, cached.
    pub currencies: Currencies,
    /// Categories, pages of products and best sellers, kept for `--browse-cache-ms`.
    pub shelves: Shelves,
    /// Whether cookies are `Secure`.
    pub secure_cookies: bool,
    /// When the gateway started.
    pub started: Instant,
    /// Where it listens.
    pub local_addr: SocketAddr,
    /// Whether it calls the services without TLS (`--plaintext`), which the status page
    /// says loudly.
    pub plaintext: bool,
    /// Every service's metrics, scraped in the background for the status page.
    pub vitals: Arc<crate::vitals::Board>,
    /// Who the client is and how often it may call.
    pub front_door: Arc<FrontDoor>,
}

/// The shared state of handlers.
pub type AppState = Arc<App>;
