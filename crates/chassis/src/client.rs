//! Outbound channels: how one service calls another.
//!
//! [`Upstream::connect`] turns the addresses of a service's replicas into one clonable
//! channel for a generated client. The addresses may be fixed, names looked up in DNS again
//! and again, or the registry file of `bazaar up` (see [`crate::discovery`]): replicas that
//! appear join the balancer, and those that leave it stop getting new calls (the current
//! count is `bazaar_client_replicas{callee}`). The path of an outbound call, top to bottom:
//!
//! 0. when traces are exported, the call's client span, whose context goes out as the
//!    call's `traceparent` (see [`crate::trace`]); then the call metrics
//!    (`metrics::client`: `grpc_client_*`, with the callee), timed as the caller waits;
//! 1. [`OutboundDeadlineLayer`]: the call gets the inbound call's remaining time (or a
//!    default) as its deadline, sent as `grpc-timeout` and enforced here too;
//! 2. the caller's `authorization`, when the call is made on behalf of an authenticated
//!    inbound call (see [`crate::auth`]);
//! 3. the priority of the call: `bazaar-priority: continuation` when it is made inside a
//!    [`crate::priority::continuation`] scope (a saga drive, an event consumer, or a handler
//!    of a call that came in as one), so the callee admits it before new work;
//! 4. [`RetryLayer`]: a unary call that failed before the callee processed it, or that
//!    failed transiently and carries a `request_id`, is tried again, with backoff, within
//!    its deadline and the upstream's retry budget (see [`crate::retry`]); each attempt
//!    goes through the balancer afresh;
//! 5. [`ThrottleLayer`]: when the callee has been refusing calls for overload, the process
//!    sends only about 1.1 times what it accepts and refuses the rest itself, at once,
//!    without sending them (see [`crate::throttle`]);
//! 6. a buffer, so the channel is cheap to clone and share between tasks;
//! 7. a power-of-two-choices balancer over every address, weighing each by its peak EWMA
//!    latency, so a slow replica gets less traffic (tonic's own balancer sees no load and
//!    picks at random), and passing over the replicas that are ejected or pushed back
//!    (below);
//! 8. one lazily connected HTTP/2 connection per address, with `TCP_NODELAY`, over TLS
//!    (the CA verifies the server and the host of the address, the process presents its
//!    own certificate; see [`crate::tls`]) unless the process runs `--plaintext`.
//!
//! Outlier ejection: a replica that fails [`EJECT_AFTER`] times in a row (its connection
//! fails, or it answers `UNAVAILABLE` without a pushback) is ejected, passed over for
//! [`FIRST_EJECTION`], twice that the next time it is ejected, up to [`MAX_EJECTION`]; one
//! answer that is not a failure starts that over. A replica that is down refuses at once,
//! which would otherwise make it look like the fastest one. The last replica that is not
//! ejected is never ejected, and when every replica is passed over they are all used as if
//! none were: a service with one replica keeps being called. A replica that refuses a call
//! with a pushback (`grpc-retry-pushback-ms`: it is overloaded, or not ready) is passed
//! over for twice the pushback (at least [`MIN_PASS_OVER`]), so that the retry, which
//! waits the pushback, goes to another replica. Ejections are counted in
//! `bazaar_client_ejections_total{callee}`.
//!
//! Connecting lazily means a service starts and answers even when what it calls is down;
//! calls to a service that is down fail with `UNAVAILABLE` and the caller degrades.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{Request, Response};
use tokio::sync::mpsc;
use tonic::body::Body;
use tonic::transport::Channel;
use tower::balance::p2c::Balance;
use tower::buffer::Buffer;
use tower::discover::Change;
use tower::load::{CompleteOnResponse, Load, PeakEwma};
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceBuilder};

use crate::auth::PropagateAuthLayer;
use crate::backoff::Backoff;
use crate::deadline::OutboundDeadlineLayer;
use crate::discovery::{Resolver, Target};
use crate::metrics::ClientMetricsLayer;
use crate::priority::PriorityLayer;
use crate::retry::{PUSHBACK, RetryLayer};
use crate::throttle::ThrottleLayer;
use crate::tls::Tls;
use crate::trace::ClientTraceLayer;

/// Errors as they come out of the balancer and buffer.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How many calls may wait for the balancer before callers are made to wait.
const BUFFER_CAPACITY: usize = 1024;
/// The latency a replica is assumed to have before it has answered anything.
const DEFAULT_RTT: Duration = Duration::from_millis(5);
/// How fast old latency samples lose their weight.
const DECAY: Duration = Duration::from_secs(10);
/// Failures in a row after which a replica is ejected.
pub const EJECT_AFTER: u32 = 3;
/// How long a replica is ejected the first time; each ejection in a row doubles it.
pub const FIRST_EJECTION: Duration = Duration::from_secs(1);
/// The longest ejection.
pub const MAX_EJECTION: Duration = Duration::from_secs(30);
/// The shortest time a replica that pushed back is passed over.
pub const MIN_PASS_OVER: Duration = Duration::from_millis(100);
/// The longest time a replica that pushed back is passed over.
const MAX_PASS_OVER: Duration = Duration::from_secs(5);

/// A channel to every replica of one service; give it to a generated client.
#[derive(Clone)]
pub struct Upstream {
    service: BoxCloneSyncService<Request<Body>, Response<Body>, BoxError>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream").finish_non_exhaustive()
    }
}

/// Why an upstream could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No address was given.
    #[error("no address given for {0}")]
    NoAddress(String),
    /// An address is not a valid `host:port` (or URI).
    #[error("{address:?} is not a valid address for {service}")]
    BadAddress {
        /// The service it was meant for.
        service: String,
        /// The address as given.
        address: String,
        /// What was wrong with it.
        #[source]
        source: tonic::transport::Error,
    },
    /// An entry of the address list is not understood (see [`crate::discovery`]).
    #[error("{entry:?} is not a valid address for {service}: {reason}")]
    BadEntry {
        /// The service it was meant for.
        service: String,
        /// The entry as given.
        entry: String,
        /// What was wrong with it.
        reason: String,
    },
}

impl Upstream {
    /// A channel to `service` (a name for messages) balanced over the replicas that
    /// `addresses` give: `host:port` (or a URI with its own scheme), `dns:///name:port`,
    /// `registry:PATH` (see [`crate::discovery`]), over `tls`. Nothing is connected until
    /// the first call. Calls made outside any inbound call get `default_deadline`.
    pub fn connect(
        service: &str,
        addresses: &[String],
        default_deadline: Duration,
        tls: &Tls,
    ) -> Result<Self, UpstreamError> {
        if addresses.is_empty() {
            return Err(UpstreamError::NoAddress(service.to_owned()));
        }
        let mut resolver = Resolver::new(service, addresses).map_err(|(entry, reason)| {
            UpstreamError::BadEntry {
                service: service.to_owned(),
                entry,
                reason,
            }
        })?;
        let outliers = Arc::new(Outliers {
            callee: service.to_owned().into(),
            replicas: Mutex::new(Vec::new()),
        });
        let (changes, discovered) = mpsc::unbounded_channel();
        let mut members = Members {
            tls: tls.clone(),
            outliers: outliers.clone(),
            changes,
            current: BTreeMap::new(),
        };
        let invalid = members.update(resolver.now()).into_iter().next();
        if let Some((target, source)) = invalid {
            if !resolver.is_dynamic() {
                return Err(UpstreamError::BadAddress {
                    service: service.to_owned(),
                    address: target.address,
                    source,
                });
            }
            tracing::warn!(callee = service, replica = %target, error = %source,
                "a replica's address is not valid; left out");
        }
        if resolver.is_dynamic() {
            tokio::spawn(members.follow(resolver));
        }
        let elsewhere = {
            let outliers = outliers.clone();
            Arc::new(move || outliers.any_in_service(Instant::now()))
        };
        let balanced = Balance::new(Discovered(discovered));
        let service = ServiceBuilder::new()
            .option_layer(crate::trace::enabled().then(|| ClientTraceLayer::new(service)))
            .map_response(|response: Response<_>| response.map(Body::new))
            .layer(ClientMetricsLayer::new(service))
            .layer(OutboundDeadlineLayer::new(default_deadline))
            .layer(PropagateAuthLayer)
            .layer(PriorityLayer)
            .layer(RetryLayer::with_elsewhere(service, elsewhere))
            .layer(ThrottleLayer::new(service))
            .service(Buffer::new(balanced, BUFFER_CAPACITY));
        Ok(Self {
            service: BoxCloneSyncService::new(service),
        })
    }
}

/// The replicas the balancer has, and the way to tell it of a change.
struct Members {
    tls: Tls,
    outliers: Arc<Outliers>,
    changes: mpsc::UnboundedSender<Change<Target, Replica>>,
    current: BTreeMap<Target, Arc<Mutex<Standing>>>,
}

impl Members {
    /// Makes `wanted` the replicas: the new ones are added, those no longer wanted removed.
    /// An empty `wanted` changes nothing (a lookup that found nothing). Returns the replicas
    /// whose address is not valid (they are left out).
    fn update(&mut self, wanted: BTreeSet<Target>) -> Vec<(Target, tonic::transport::Error)> {
        let mut invalid = Vec::new();
        if wanted.is_empty() || self.current.keys().eq(wanted.iter()) {
            return invalid;
        }
        let gone: Vec<Target> = self
            .current
            .keys()
            .filter(|target| !wanted.contains(*target))
            .cloned()
            .collect();
        for target in gone {
            if let Some(standing) = self.current.remove(&target) {
                self.outliers.remove(&standing);
            }
            let _ = self.changes.send(Change::Remove(target));
        }
        for target in wanted {
            if self.current.contains_key(&target) {
                continue;
            }
            match self.replica(&target) {
                Ok(replica) => {
                    self.current
                        .insert(target.clone(), replica.standing.clone());
                    self.outliers.add(replica.standing.clone());
                    let _ = self.changes.send(Change::Insert(target, replica));
                }
                Err(error) => invalid.push((target, error)),
            }
        }
        let callee = &self.outliers.callee;
        metrics::gauge!("bazaar_client_replicas", "callee" => callee.clone())
            .set(self.current.len() as f64);
        let list: Vec<String> = self.current.keys().map(ToString::to_string).collect();
        tracing::info!(callee = %callee, replicas = list.len(), "calling {}", list.join(", "));
        invalid
    }

    fn replica(&self, target: &Target) -> Result<Replica, tonic::transport::Error> {
        let channel: Channel = self
            .tls
            .endpoint_named(&target.address, target.server_name.as_deref())?
            .connect_timeout(Duration::from_secs(1))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(true)
            .connect_lazy();
        Ok(Replica {
            inner: PeakEwma::new(
                channel,
                DEFAULT_RTT,
                DECAY.as_nanos() as f64,
                CompleteOnResponse::default(),
            ),
            standing: Arc::new(Mutex::new(Standing {
                address: target.address.clone(),
                failures: 0,
                ejected_until: None,
                passed_over_until: None,
                ejections: Backoff::new(FIRST_EJECTION, MAX_EJECTION),
            })),
            outliers: self.outliers.clone(),
        })
    }

    /// Keeps the replicas current until the upstream is dropped.
    async fn follow(mut self, mut resolver: Resolver) {
        let mut tick = tokio::time::interval(resolver.poll_every());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if self.changes.is_closed() {
                return;
            }
            let wanted = resolver.resolve().await;
            for (target, error) in self.update(wanted) {
                tracing::warn!(callee = %self.outliers.callee, replica = %target, %error,
                    "a replica's address is not valid; left out");
            }
        }
    }
}

/// The changes of the replicas, as the balancer takes them.
struct Discovered(mpsc::UnboundedReceiver<Change<Target, Replica>>);

impl futures_util::Stream for Discovered {
    type Item = Result<Change<Target, Replica>, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|change| change.map(Ok))
    }
}

/// One replica: its connection, weighed by latency, and its standing among the others.
/// The balancer compares `(passed over, latency)`, so any replica that is not passed over
/// wins over one that is, and among equals the faster wins.
struct Replica {
    inner: PeakEwma<Channel, CompleteOnResponse>,
    standing: Arc<Mutex<Standing>>,
    outliers: Arc<Outliers>,
}

/// The standing of every replica of one upstream (see the [module](self) docs).
struct Outliers {
    callee: metrics::SharedString,
    replicas: Mutex<Vec<Arc<Mutex<Standing>>>>,
}

/// How one replica has been answering.
struct Standing {
    address: String,
    /// Failures in a row.
    failures: u32,
    ejected_until: Option<Instant>,
    passed_over_until: Option<Instant>,
    /// How long the next ejection lasts.
    ejections: Backoff,
}

impl Standing {
    fn is_passed_over(&self, now: Instant) -> bool {
        self.ejected_until.is_some_and(|until| now < until)
            || self.passed_over_until.is_some_and(|until| now < until)
    }
}

/// What one answer of a replica says about it.
#[derive(Clone, Copy, Debug)]
enum Outcome {
    /// It answered (whatever the code): it is up.
    Answered,
    /// Its connection failed, or it answered `UNAVAILABLE` on its own.
    Failed,
    /// It refused the call for now, and said for how long.
    PushedBack(Duration),
}

impl Outcome {
    fn of(result: &Result<Response<Body>, tonic::transport::Error>) -> Self {
        let Ok(response) = result else {
            return Outcome::Failed;
        };
        let headers = response.headers();
        if let Some(pushback) = headers
            .get(PUSHBACK)
            .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
        {
            return Outcome::PushedBack(Duration::from_millis(pushback));
        }
        if crate::rpc::status_in(headers) == Some(crate::rpc::UNAVAILABLE) {
            Outcome::Failed
        } else {
            Outcome::Answered
        }
    }
}

fn is_passed_over(standing: &Mutex<Standing>, now: Instant) -> bool {
    standing
        .lock()
        .is_ok_and(|standing| standing.is_passed_over(now))
}

impl Outliers {
    fn members(&self) -> Vec<Arc<Mutex<Standing>>> {
        self.replicas
            .lock()
            .map(|replicas| replicas.clone())
            .unwrap_or_default()
    }

    fn add(&self, standing: Arc<Mutex<Standing>>) {
        if let Ok(mut replicas) = self.replicas.lock() {
            replicas.push(standing);
        }
    }

    fn remove(&self, standing: &Arc<Mutex<Standing>>) {
        if let Ok(mut replicas) = self.replicas.lock() {
            replicas.retain(|other| !Arc::ptr_eq(other, standing));
        }
    }

    /// Whether any replica is not passed over.
    fn any_in_service(&self, now: Instant) -> bool {
        self.members()
            .iter()
            .any(|standing| !is_passed_over(standing, now))
    }

    /// Whether any replica but `this` is not passed over.
    fn others_in_service(&self, this: &Arc<Mutex<Standing>>, now: Instant) -> bool {
        self.members()
            .iter()
            .any(|other| !Arc::ptr_eq(other, this) && !is_passed_over(other, now))
    }

    fn record(&self, this: &Arc<Mutex<Standing>>, outcome: Outcome) {
        let now = Instant::now();
        // Asked before taking this replica's lock: two replicas failing at once never wait
        // for each other. Both may then be ejected, and are then both used anyway.
        let others = matches!(outcome, Outcome::Failed) && self.others_in_service(this, now);
        let Ok(mut standing) = this.lock() else {
            return;
        };
        match outcome {
            Outcome::Answered => {
                if standing.failures > 0 || standing.ejected_until.is_some() {
                    standing.failures = 0;
                    standing.ejected_until = None;
                    standing.ejections.reset();
                }
            }
            Outcome::PushedBack(pushback) => {
                let pass_over = (pushback * 2).clamp(MIN_PASS_OVER, MAX_PASS_OVER);
                standing.passed_over_until = Some(now + pass_over);
            }
            Outcome::Failed => {
                standing.failures = standing.failures.saturating_add(1);
                let ejected = standing.ejected_until.is_some_and(|until| now < until);
                if standing.failures >= EJECT_AFTER && !ejected && others {
                    let ejection = standing.ejections.next_delay();
                    standing.ejected_until = Some(now + ejection);
                    standing.failures = 0;
                    metrics::counter!("bazaar_client_ejections_total",
                        "callee" => self.callee.clone())
                    .increment(1);
                    tracing::warn!(
                        callee = %self.callee,
                        address = standing.address,
                        ejected_for_ms = u64::try_from(ejection.as_millis()).unwrap_or(u64::MAX),
                        "replica ejected after failing {EJECT_AFTER} times in a row"
                    );
                }
            }
        }
    }
}

impl Load for Replica {
    type Metric = (
        bool,
        <PeakEwma<Channel, CompleteOnResponse> as Load>::Metric,
    );

    fn load(&self) -> Self::Metric {
        (
            is_passed_over(&self.standing, Instant::now()),
            self.inner.load(),
        )
    }
}

impl Service<Request<Body>> for Replica {
    type Response = Response<Body>;
    type Error = tonic::transport::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let response = self.inner.call(request);
        let outliers = self.outliers.clone();
        let standing = self.standing.clone();
        Box::pin(async move {
            // gRPC errors arrive as responses; an Err here is the connection failing.
            let result = response.await;
            outliers.record(&standing, Outcome::of(&result));
            result
        })
    }
}

impl Service<Request<Body>> for Upstream {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = <BoxCloneSyncService<Request<Body>, Response<Body>, BoxError> as Service<
        Request<Body>,
    >>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.service.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        self.service.call(request)
    }
}
