//! The admin listener: what an operator's tools ask a process, over plain HTTP/1.1 on a port
//! of its own (`--admin-listen`).
//!
//! - `GET /metrics`: every metric of the process in the Prometheus text format (see
//!   [`crate::metrics`]);
//! - `GET /healthz`: 200 while the process runs (liveness: restart it when this fails);
//! - `GET /readyz`: 200 while it can serve, 503 while it opens its store or drains
//!   (readiness: send it traffic only while this is 200);
//! - on a gRPC service's listener, `grpc.health.v1.Health` over plaintext HTTP/2 (see
//!   [`health`]): the statuses of the service's own health, read from the same reporter
//!   its main port serves, and [`health::LIVENESS`], `SERVING` for as long as the listener
//!   answers. This is what Kubernetes' native gRPC probes call: they speak plaintext only,
//!   while the main port serves TLS. Nothing else of gRPC is served here.
//!
//! It is read-only and tells nothing a caller could not count for itself: no ids, no
//! secrets, no way to change anything. It is still an operator's port: it binds loopback
//! unless told otherwise, and in a cluster only the scraper should reach it.
//!
//! It runs on the port of its own rather than beside gRPC so that a scraper needs no
//! client certificate, and a process whose gRPC port is at its limit still answers it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::HealthReporter;

use crate::shutdown::Shutdown;

pub mod health;

/// Whether the process can serve, as `/readyz` reports it. Cloning shares the flag.
#[derive(Clone, Debug, Default)]
pub struct Ready(Arc<AtomicBool>);

impl Ready {
    /// Says whether the process can serve now.
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Relaxed);
    }

    /// Whether the process can serve now.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// An admin listener, bound and not yet serving.
#[derive(Debug)]
pub struct Admin {
    listener: TcpListener,
    local_addr: SocketAddr,
    ready: Ready,
    health: Option<HealthReporter>,
}

impl Admin {
    /// Binds `address` (port 0 picks a free port) and installs the process's metrics
    /// recorder. `/readyz` answers what `ready` says.
    ///
    /// # Errors
    ///
    /// When the address cannot be bound.
    pub async fn bind(address: SocketAddr, ready: Ready) -> std::io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let local_addr = listener.local_addr()?;
        crate::metrics::install();
        Ok(Self {
            listener,
            local_addr,
            ready,
            health: None,
        })
    }

    /// Serves `grpc.health.v1.Health` beside the HTTP routes, answering what `health` (the
    /// reporter of the process's gRPC server) says, plus [`health::LIVENESS`]. See
    /// [`health`].
    #[must_use]
    pub fn with_grpc_health(mut self, health: HealthReporter) -> Self {
        self.health = Some(health);
        self
    }

    /// The address bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown`.
    pub async fn serve(self, shutdown: Shutdown) {
        let mut router = Router::new()
            .route("/metrics", get(metrics))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(readyz))
            .with_state(self.ready);
        let grpc_health = self.health.is_some();
        if let Some(reporter) = self.health {
            // Routed by path as tonic routes a service, so that every other path keeps its
            // plain HTTP 404.
            router = router.route_service(
                health::ROUTE,
                HealthServer::new(health::AdminHealth::new(reporter, shutdown.clone())),
            );
        }
        tracing::info!(
            address = %self.local_addr,
            grpc_health,
            "admin listener: /metrics /healthz /readyz"
        );
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(async move { shutdown.wait().await })
            .await;
        if let Err(error) = served {
            tracing::warn!(%error, "admin listener stopped");
        }
    }

    /// Serves on a task of its own until `shutdown`.
    pub fn spawn(self, shutdown: Shutdown) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.serve(shutdown))
    }
}

async fn metrics() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(),
    )
}

async fn readyz(State(ready): State<Ready>) -> impl IntoResponse {
    if ready.get() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}
