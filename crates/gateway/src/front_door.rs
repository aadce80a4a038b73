//! The front door: who the client on the other end is, and how often it may knock.
//!
//! Every request passes [`admit`] first. It names the client: the address of the TCP
//! connection, or, when the gateway is told to trust a proxy in front of it
//! (`--trust-forwarded-for`), the address that proxy put last in `X-Forwarded-For` (the
//! hop it saw; the entries before it are whatever the client wrote, so they are never
//! believed). With the flag off, `X-Forwarded-For` is ignored: anyone can send one.
//!
//! Then it counts the request against the client's allowance ([`RateLimit`]: GCRA, the
//! token bucket written as one timestamp per client). Beyond it, the answer is
//! `429 Too Many Requests` with `Retry-After` in seconds, as a page or as the API's JSON
//! error, before any handler or service does any work. Static files (`/static/`,
//! `/pictures/`, the favicon) and `/healthz` are not counted: they cost no service a call.
//!
//! Then the gateway sheds what it cannot serve in time, before its services have to: an
//! adaptive concurrency limit on requests in progress (`chassis::limit`, the same algorithm
//! as every service's, each kind of page compared with its own unloaded latency, under
//! `--max-in-flight`). Over it, the answer is at once `503 Service Unavailable` with
//! `Retry-After` (the limit's pushback hint in whole seconds, rounded up), as a page or as
//! the API's JSON error, counted in `bazaar_gateway_shed_total`. The same files and probes
//! are never shed. A service that refuses for overload (`RESOURCE_EXHAUSTED` with a pushback
//! hint) is answered the same way (see [`crate::error`]).
//!
//! The client's address then travels with the request: handlers read it as a
//! [`ClientAddr`] extension, and calls to identity carry it as `x-forwarded-for`
//! ([`current_client`]), so identity throttles log-ins and guest sessions per shopper and
//! not per gateway. identity believes that header only from the gateway.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chassis::limit::Limiter;
use chassis::priority::Priority;
use tokio::time::Instant;

use crate::app::AppState;
use crate::error::{ApiError, GatewayError};
use crate::pages::PageError;

pub use chassis::forwarded::{X_FORWARDED_FOR, counted_as};

/// The client a request came from, as [`admit`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

tokio::task_local! {
    static CLIENT: IpAddr;
}

/// The client of the request being handled, when called while handling one.
pub fn current_client() -> Option<IpAddr> {
    CLIENT.try_with(|client| *client).ok()
}

/// Who the client is: the connection's `peer`, or with `trust_forwarded_for` the last
/// well-formed entry of the last `X-Forwarded-For` header (what the trusted proxy added).
pub fn client_of(peer: IpAddr, headers: &HeaderMap, trust_forwarded_for: bool) -> IpAddr {
    if !trust_forwarded_for {
        return peer;
    }
    chassis::forwarded::last_hop(headers).unwrap_or(peer)
}

/// Most clients tracked at once. Past it, clients that are not tracked share one
/// allowance, so memory stays bounded (about 100 bytes a client) whatever arrives.
const MAX_CLIENTS: usize = 100_000;
/// How often, at most, a full table is searched for idle clients to forget.
const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// A per-client rate limit: `per_second` requests a second on average, in bursts of up to
/// `burst`. GCRA: each client is one "theoretical arrival time"; a request is admitted
/// when that time is no more than the burst's worth of requests ahead of now, and moves it
/// one interval on. A client whose time has passed is idle, the same as a new one, and
/// is forgotten when room is needed.
#[derive(Debug)]
pub struct RateLimit {
    /// Time one request uses up.
    interval: Duration,
    /// How far ahead of now a client's time may run: `burst - 1` intervals.
    tolerance: Duration,
    clients: Mutex<Clients>,
}

#[derive(Debug)]
struct Clients {
    arrival: HashMap<IpAddr, Instant>,
    /// The shared time of the clients that found the table full.
    overflow: Instant,
    pruned: Instant,
}

impl RateLimit {
    /// `per_second` requests a second in bursts of `burst`; `None` (no limit) when
    /// `per_second` is 0.
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        if per_second == 0 {
            return None;
        }
        let interval = Duration::from_secs(1) / per_second;
        let now = Instant::now();
        Some(Self {
            interval,
            tolerance: interval * burst.max(1).saturating_sub(1),
            clients: Mutex::new(Clients {
                arrival: HashMap::new(),
                overflow: now,
                pruned: now,
            }),
        })
    }

    /// Counts a request of `client` at `now`: `Err(wait)` when it is over its allowance,
    /// with how long until the next one is admitted.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        // A poisoned lock means a panic while holding it, which the code below cannot do;
        // if it ever happens, admit rather than refuse everyone.
        let Ok(mut clients) = self.clients.lock() else {
            return Ok(());
        };
        let key = counted_as(client);
        if !clients.arrival.contains_key(&key)
            && clients.arrival.len() >= MAX_CLIENTS
            && now.duration_since(clients.pruned) >= PRUNE_EVERY
        {
            clients.pruned = now;
            clients.arrival.retain(|_, arrival| *arrival > now);
        }
        let room = clients.arrival.len() < MAX_CLIENTS;
        let arrival = match clients.arrival.get_mut(&key) {
            Some(arrival) => arrival,
            None if room => clients.arrival.entry(key).or_insert(now),
            None => &mut clients.overflow,
        };
        let due = (*arrival).max(now);
        let ahead = due - now;
        if ahead > self.tolerance {
            return Err(ahead - self.tolerance);
        }
        *arrival = due + self.interval;
        Ok(())
    }

    /// How many clients are tracked.
    pub fn tracked(&self) -> usize {
        self.clients.lock().map_or(0, |c| c.arrival.len())
    }
}

/// What the front door knows: whom to believe about the client, and the limit.
#[derive(Debug)]
pub struct FrontDoor {
    /// Believe the proxy's `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// The per-client limit; `None` when off.
    pub limit: Option<RateLimit>,
    /// The limit of requests in progress, past which requests are shed.
    pub shed: Arc<Limiter>,
}

/// The kinds of request the shedding limit tells apart, by the first segment of the path
/// (after `/api/v1/` for the API); anything else is the last kind.
const KINDS: [&str; 14] = [
    "", "category", "search", "product", "products", "cart", "checkout", "orders", "signup",
    "login", "logout", "currency", "session", "status",
];

/// The kind of a request: its family (see [`KINDS`]), reads and writes apart.
fn kind_of(method: &Method, path: &str) -> usize {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    let family = KINDS
        .iter()
        .position(|kind| *kind == first)
        .unwrap_or(KINDS.len());
    family * 2 + usize::from(method != Method::GET && method != Method::HEAD)
}

/// How many kinds [`kind_of`] can give.
const KIND_COUNT: usize = (KINDS.len() + 1) * 2;

/// Requests that are not counted: files, and the probe of the gateway itself.
fn exempt(path: &str) -> bool {
    path.starts_with("/static/")
        || path.starts_with("/pictures/")
        || path == "/favicon.ico"
        || path == "/healthz"
}

/// Middleware on every request: names the client, refuses it with 429 beyond its
/// allowance, sheds it with 503 when the gateway is over its limit, and hands the rest on
/// with the client known (extension and task-local).
pub async fn admit(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    let door = &app.front_door;
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let Some(peer) = peer else {
        // Served without connection info (a router used on its own): nothing to key on.
        return next.run(request).await;
    };
    let client = client_of(peer, request.headers(), door.trust_forwarded_for);
    if let Some(limit) = &door.limit
        && !exempt(request.uri().path())
        && let Err(wait) = limit.check(client, Instant::now())
    {
        tracing::debug!(%client, path = request.uri().path(), "rate limited");
        return answer(request.uri().path(), GatewayError::TooManyRequests(wait));
    }
    request.extensions_mut().insert(ClientAddr(client));
    if exempt(request.uri().path()) {
        return CLIENT.scope(client, next.run(request)).await;
    }
    let kind = kind_of(request.method(), request.uri().path());
    let Ok(admitted) = door.shed.try_admit(Priority::New) else {
        metrics::counter!("bazaar_gateway_shed_total").increment(1);
        tracing::debug!(
            path = request.uri().path(),
            "shed: over the limit of requests in progress"
        );
        return answer(
            request.uri().path(),
            GatewayError::Overloaded(door.shed.pushback()),
        );
    };
    let response = CLIENT.scope(client, next.run(request)).await;
    drop(admitted.answered(kind, true));
    response
}

/// A refusal from the front door (429 or 503): the API's JSON error or an error page, with
/// `Retry-After`.
fn answer(path: &str, error: GatewayError) -> Response {
    if path == "/api" || path.starts_with("/api/") {
        ApiError(error).into_response()
    } else {
        PageError(error).into_response()
    }
}

/// A front door for `config`.
pub fn from_config(config: &crate::Config) -> Arc<FrontDoor> {
    Arc::new(FrontDoor {
        trust_forwarded_for: config.trust_forwarded_for,
        limit: RateLimit::new(config.rate_limit_per_second, config.rate_limit_burst),
        shed: Limiter::with_kinds(
            chassis::limit::Settings::under(config.server.max_in_flight),
            config.server.adaptive_limit,
            KIND_COUNT,
        ),
    })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_when_trusted_and_only_its_last_hop() {
        let peer = ip("10.0.0.9");
        let mut headers = HeaderMap::new();
        headers.insert(
            X_FORWARDED_FOR,
            HeaderValue::from_static("6.6.6.6, 203.0.113.7"),
        );
        assert_eq!(client_of(peer, &headers, false), peer);
        assert_eq!(client_of(peer, &headers, true), ip("203.0.113.7"));
        headers.append(X_FORWARDED_FOR, HeaderValue::from_static("198.51.100.1 "));
        assert_eq!(client_of(peer, &headers, true), ip("198.51.100.1"));
        headers.append(X_FORWARDED_FOR, HeaderValue::from_static("not an address"));
        assert_eq!(client_of(peer, &headers, true), peer);
        assert_eq!(client_of(peer, &HeaderMap::new(), true), peer);
    }

    #[test]
    fn request_kinds_are_bounded_and_tell_pages_apart() {
        let get = Method::GET;
        assert_eq!(kind_of(&get, "/"), 0);
        assert_eq!(
            kind_of(&get, "/product/x"),
            kind_of(&get, "/api/v1/product/y")
        );
        assert_ne!(
            kind_of(&get, "/checkout"),
            kind_of(&Method::POST, "/checkout")
        );
        assert_ne!(kind_of(&get, "/cart"), kind_of(&get, "/orders"));
        for made_up in ["/wp-admin", "/api/v1/zzz/1", "/%00"] {
            assert_eq!(kind_of(&Method::DELETE, made_up), KIND_COUNT - 1);
        }
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_network() {
        assert_eq!(counted_as(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(counted_as(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(counted_as(ip("192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn a_client_gets_its_burst_then_one_request_per_interval() {
        // Two a second in bursts of three.
        let limit = RateLimit::new(2, 3).unwrap();
        let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limit.check(a, start), Ok(()));
        }
        assert_eq!(limit.check(a, start), Err(Duration::from_millis(500)));
        assert_eq!(limit.check(b, start), Ok(()), "others are not affected");
        let later = start + Duration::from_millis(400);
        assert_eq!(limit.check(a, later), Err(Duration::from_millis(100)));
        let later = start + Duration::from_millis(500);
        assert_eq!(limit.check(a, later), Ok(()));
        assert!(limit.check(a, later).is_err());
        // A long pause refills the burst, and no more.
        let much_later = start + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(limit.check(a, much_later), Ok(()));
        }
        assert!(limit.check(a, much_later).is_err());
        assert!(RateLimit::new(0, 10).is_none(), "0 turns the limit off");
    }

    #[test]
    fn memory_stays_bounded_and_idle_clients_are_forgotten() {
        let limit = RateLimit::new(1, 1).unwrap();
        let start = Instant::now();
        for n in 0..MAX_CLIENTS as u32 {
            assert_eq!(limit.check(IpAddr::from(n.to_be_bytes()), start), Ok(()));
        }
        assert_eq!(limit.tracked(), MAX_CLIENTS);
        // The table is full of busy clients: newcomers share one allowance.
        let stranger = ip("203.0.113.1");
        assert_eq!(limit.check(stranger, start), Ok(()));
        assert!(limit.check(ip("203.0.113.2"), start).is_err());
        assert_eq!(limit.tracked(), MAX_CLIENTS);
        // Once they are idle, they are forgotten to make room.
        let later = start + Duration::from_secs(5);
        assert_eq!(limit.check(stranger, later), Ok(()));
        assert_eq!(limit.tracked(), 1);
    }
}
