//! The gateway: the shop's storefront for browsers and its JSON API, over the gRPC
//! services.
//!
//! A browser meets the shop here. The gateway owns no data: it renders pages from compiled
//! templates ([`pages`]), answers the JSON API ([`api`]) and keeps the shopper's session in
//! cookies ([`session`]); everything else it asks the services for, through the generated
//! clients of the contract and the chassis's upstream channels ([`upstreams`]). It depends
//! on no service crate.
//!
//! It is where fault tolerance becomes visible: every downstream call has a deadline, and a
//! page without an optional service (currency, recommendation, notification) renders with
//! less on it; without the cart or orders, browsing goes on and only those features say
//! they are unavailable; without the catalog, a clear 503 page. No request waits longer
//! than [`security::REQUEST_TIME_LIMIT`].
//!
//! A request passes, top to bottom: its trace ([`trace`], when traces are exported), its
//! metrics ([`http_metrics`]: by route template, method and status), the front door
//! ([`front_door`]: who the client is, and
//! its rate limit), the time limit, the security headers, then for pages
//! the same-origin check of state-changing requests and the session ([`session::resolve`]),
//! then the handler. Layout, from the faces down: [`pages`] and [`api`] (thin handlers, one
//! file per part of the shop in each), [`session`], [`shop`] (the one service layer: every
//! call to the services, each action written once for both faces), [`cache`] (what every
//! shopper sees alike, kept for a moment), [`money`],
//! [`upstreams`], [`vitals`] (every service's metrics, scraped for the status page), [`app`], [`config`], [`front_door`], [`http_metrics`], [`trace`], [`security`], [`assets`], [`random`],
//! [`error`].
//! [`Gateway`] is run by the chassis like every service (`chassis::service::Process`);
//! tests run it the same way on port 0. Like every process of the shop it serves an admin
//! listener (`/metrics`, `/healthz`, `/readyz`; see `chassis::admin`), ready while it
//! serves and not ready from the moment it stops.
#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod assets;
pub mod cache;
pub mod config;
pub mod error;
pub mod front_door;
pub mod http_metrics;
pub mod listener;
pub mod money;
pub mod pages;
pub mod random;
pub mod security;
pub mod session;
pub mod shop;
pub mod trace;
pub mod upstreams;
pub mod vitals;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use chassis::Shutdown;
use chassis::admin::{Admin, Ready};
use chassis::client::UpstreamError;

pub use app::{App, AppState};
pub use config::Config;

use crate::money::Currencies;
use crate::pages::{PageError, account, browse, cart, orders, status};
use crate::shop::shelves::Shelves;
use crate::upstreams::Upstreams;

/// The gateway's name, as `bazaar serve` and the logs know it.
pub const NAME: &str = chassis::topology::GATEWAY.name;
/// The port it listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = chassis::topology::GATEWAY.port;

/// Why the gateway could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The address could not be bound.
    #[error("cannot listen on {address}")]
    Bind {
        address: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An upstream address is wrong.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The gateway's certificate (which it presents to every service) is missing or
    /// unusable.
    #[error(transparent)]
    Tls(#[from] chassis::tls::TlsError),
    /// The server failed.
    #[error("the server failed")]
    Serve(#[source] std::io::Error),
    /// The admin listener's address could not be bound.
    #[error("cannot listen on {address} (admin listener)")]
    BindAdmin {
        address: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A gateway bound to its address, not yet serving.
#[derive(Debug)]
pub struct Gateway {
    listener: tokio::net::TcpListener,
    app: AppState,
    grace: Duration,
    linger: Duration,
    background: Shutdown,
    admin: Option<Admin>,
    ready: Ready,
}

impl Gateway {
    /// Binds the listening socket and prepares the (lazy) channels to every service, which
    /// present the gateway's own certificate (`gateway.crt`) unless `--plaintext`.
    pub async fn bind(config: &Config) -> Result<Self, StartError> {
        let tls = config.server.tls(NAME)?;
        let address = config.server.listen_or(DEFAULT_PORT);
        let listener = listener::bind(address, config.reuse_port)
            .map_err(|source| StartError::Bind { address, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { address, source })?;
        // Bound before anything records, so that every metric goes to its recorder.
        let ready = Ready::default();
        let admin = match config
            .server
            .admin_listen_or(DEFAULT_PORT, chassis::topology::GATEWAY.admin_port)
        {
            Some(address) => Some(
                Admin::bind(address, ready.clone())
                    .await
                    .map_err(|source| StartError::BindAdmin { address, source })?,
            ),
            None => None,
        };
        let background = Shutdown::new();
        let vitals = vitals::Board::new(
            config
                .admin_targets()
                .into_iter()
                .map(|(service, address)| vitals::Target { service, address })
                .collect(),
        );
        vitals.spawn(config.status_scrape_every(), background.clone());
        let app = Arc::new(App {
            vitals,
            upstreams: Upstreams::connect(config, &tls, &background)?,
            plaintext: tls.is_plaintext(),
            currencies: Currencies::default(),
            shelves: Shelves::new(config.browse_cache_ttl()),
            secure_cookies: config.secure_cookies,
            started: Instant::now(),
            local_addr,
            front_door: front_door::from_config(config),
        });
        tracing::info!(service = NAME, address = %local_addr, "listening");
        Ok(Self {
            listener,
            app,
            grace: config.server.shutdown_grace(),
            linger: config.drain_linger(),
            background,
            admin,
            ready,
        })
    }

    /// The address of its admin listener (`/metrics`, `/healthz`, `/readyz`), unless it is
    /// `off`.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(Admin::local_addr)
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.app.local_addr
    }

    /// Serves until `shutdown`, then drains (see [`listener`]): closes its listening
    /// socket, serves the connections it has for the linger with `Connection: close`, then
    /// closes them gracefully, letting requests in flight finish for up to the grace period.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), StartError> {
        let local_addr = self.app.local_addr;
        let closing = Shutdown::new();
        let router = router(self.app.clone()).layer(from_fn_with_state(
            closing.clone(),
            listener::close_when_draining,
        ));
        let listener = listener::Closing::new(self.listener, closing.clone())
            .map_err(|source| StartError::Bind {
                address: local_addr,
                source,
            })?
            .tap_io(|stream| {
                // Small responses would otherwise wait on Nagle's algorithm.
                if let Err(error) = stream.set_nodelay(true) {
                    tracing::debug!(%error, "cannot set TCP_NODELAY");
                }
            });
        // The admin listener answers until the very end, `/readyz` saying 503 while the
        // gateway drains.
        let admin_stop = Shutdown::new();
        let admin = self.admin.map(|admin| admin.spawn(admin_stop.clone()));
        let ready = self.ready.clone();
        ready.set(true);
        let stop = shutdown.clone();
        let linger = self.linger;
        let server = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            stop.wait().await;
            ready.set(false);
            closing.trigger();
            tracing::info!(
                linger_ms = linger.as_millis(),
                "stopping: no new connections; answering with Connection: close"
            );
            tokio::time::sleep(linger).await;
            tracing::info!("stopping: draining requests in flight");
        });
        let grace = self.grace;
        let result = tokio::select! {
            result = server => result.map_err(StartError::Serve),
            () = async { shutdown.wait().await; tokio::time::sleep(linger + grace).await } => {
                tracing::warn!(?grace, "requests still in flight at the end of the grace period: cut off");
                Ok(())
            }
        };
        self.ready.set(false);
        self.background.trigger();
        admin_stop.trigger();
        if let Some(admin) = admin {
            let _ = admin.await;
        }
        tracing::info!("stopped");
        result
    }
}

/// The gateway is run like every service of the shop: the same binary `main`, the same way
/// `bazaar up` and the test shop start it, only it answers HTTP rather than gRPC.
impl chassis::service::Process for Gateway {
    const SPEC: &'static chassis::topology::Spec = &chassis::topology::GATEWAY;
    type Config = Config;
    type Error = StartError;

    async fn bind(config: &Config) -> Result<Self, StartError> {
        Gateway::bind(config).await
    }

    fn local_addr(&self) -> SocketAddr {
        Gateway::local_addr(self)
    }

    async fn run(self, shutdown: Shutdown) -> Result<(), StartError> {
        Gateway::run(self, shutdown).await
    }
}

impl chassis::service::ServiceConfig for Config {
    fn server(&self) -> &chassis::ServerArgs {
        &self.server
    }
}

/// Every route, with its layers.
pub fn router(app: AppState) -> Router {
    let pages = Router::new()
        .route("/", get(browse::home))
        .route("/category/{id}", get(browse::category))
        .route("/search", get(browse::search))
        .route("/product/{id}", get(browse::product))
        .route("/cart", get(cart::show))
        .route("/cart/items", post(cart::add))
        .route("/cart/items/{product_id}", post(cart::set_quantity))
        .route("/cart/items/{product_id}/remove", post(cart::remove))
        .route("/checkout", get(orders::show).post(orders::place))
        .route("/orders", get(orders::history))
        .route("/orders/{id}", get(orders::order))
        .route("/signup", get(account::signup_page).post(account::signup))
        .route("/login", get(account::login_page).post(account::login))
        .route("/logout", post(account::logout))
        .route("/currency", post(account::currency))
        .layer(from_fn_with_state(app.clone(), session::resolve))
        .layer(from_fn(security::same_origin));

    let api = api::routes()
        .into_iter()
        .fold(Router::new(), |router, (_, path, route)| {
            router.route(path, route)
        })
        .fallback(api::not_found);

    Router::new()
        .merge(pages)
        .nest("/api/v1", api)
        .route("/status", get(status::page))
        .route("/healthz", get(healthz))
        .route("/pictures/{file}", get(assets::picture))
        .route("/static/{file}", get(assets::file))
        .route("/favicon.ico", get(assets::favicon))
        .fallback(not_found)
        .with_state(app.clone())
        .layer(from_fn(security::headers))
        .layer(from_fn(security::time_limit))
        .layer(from_fn_with_state(app, front_door::admit))
        .layer(from_fn(log_request))
        .layer(from_fn(http_metrics::record))
        .layer(from_fn(trace::trace_request))
}

/// GET /healthz: the gateway itself answers (its services may not).
async fn healthz() -> &'static str {
    "ok\n"
}

async fn not_found() -> PageError {
    PageError(error::GatewayError::NotFound("This page".to_owned()))
}

/// One log line per request, at debug level (info for server errors).
async fn log_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let took_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::info!(%method, %path, status, took_ms, "request");
    } else {
        tracing::debug!(%method, %path, status, took_ms, "request");
    }
    response
}
