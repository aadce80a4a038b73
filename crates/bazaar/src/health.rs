//! Asking a service how it is: over `grpc.health.v1` for the gRPC services (over TLS,
//! verified with the shop's CA, presenting no certificate: health is public), with a plain
//! HTTP/1.1 `GET` of its health path for the gateway.

use std::time::{Duration, Instant};

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use chassis::tls::Tls;

use crate::services::{Probe, Spec};

/// What a health check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Answered SERVING.
    Serving,
    /// Answered, but not SERVING (starting, stopping, or its store is unreachable).
    NotServing,
    /// Did not answer: not running, or not reachable.
    Down(String),
}

impl Health {
    /// A short word for tables.
    pub fn label(&self) -> &'static str {
        match self {
            Health::Serving => "SERVING",
            Health::NotServing => "NOT_SERVING",
            Health::Down(_) => "DOWN",
        }
    }
}

/// Checks the health of `service` at `address` (`host:port`) the way it answers, giving up
/// after `timeout`. Returns what it found and how long the answer took.
pub async fn check_service(
    service: &Spec,
    address: &str,
    timeout: Duration,
    tls: &Tls,
) -> (Health, Duration) {
    match service.probe {
        Probe::Grpc => check(address, timeout, tls).await,
        Probe::Http(path) => check_http_within(address, path, timeout).await,
    }
}

/// Checks the health of one replica of `service`, listening on `address` with its admin
/// listener on `admin`: [`check_service`] for a gRPC service; `/readyz` of its own admin
/// listener for the storefront, whose port another gateway may share during a rollout.
pub async fn check_replica(
    service: &Spec,
    address: &str,
    admin: &str,
    timeout: Duration,
    tls: &Tls,
) -> (Health, Duration) {
    match service.probe {
        Probe::Grpc => check(address, timeout, tls).await,
        Probe::Http(_) => check_http_within(admin, "/readyz", timeout).await,
    }
}

/// [`check_http`], giving up after `timeout`, with how long the answer took.
async fn check_http_within(address: &str, path: &str, timeout: Duration) -> (Health, Duration) {
    let started = Instant::now();
    let health = match tokio::time::timeout(timeout, check_http(address, path)).await {
        Ok(health) => health,
        Err(_) => Health::Down("no answer in time".to_owned()),
    };
    (health, started.elapsed())
}

/// `GET path` over one HTTP/1.1 connection: SERVING on 200, NOT_SERVING on any other
/// status, DOWN when nothing answers.
pub async fn check_http(address: &str, path: &str) -> Health {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = match tokio::net::TcpStream::connect(address).await {
        Ok(stream) => stream,
        Err(error) => return Health::Down(error.to_string()),
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    if let Err(error) = stream.write_all(request.as_bytes()).await {
        return Health::Down(error.to_string());
    }
    let mut head = [0_u8; 64];
    let mut read = 0;
    while read < 12 {
        match stream.read(&mut head[read..]).await {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(error) => return Health::Down(error.to_string()),
        }
    }
    let status_line = String::from_utf8_lossy(&head[..read]);
    match status_line.split_whitespace().nth(1) {
        Some("200") => Health::Serving,
        Some(_) => Health::NotServing,
        None => Health::Down("not an HTTP answer".to_owned()),
    }
}

/// Checks the overall gRPC health of the server at `address` (`host:port`) over `tls`,
/// giving up after `timeout`. Returns what it found and how long the answer took.
pub async fn check(address: &str, timeout: Duration, tls: &Tls) -> (Health, Duration) {
    let started = Instant::now();
    let health = match tokio::time::timeout(timeout, check_once(address, tls)).await {
        Ok(health) => health,
        Err(_) => Health::Down("no answer in time".to_owned()),
    };
    (health, started.elapsed())
}

async fn check_once(address: &str, tls: &Tls) -> Health {
    let endpoint = match tls.endpoint(address) {
        Ok(endpoint) => endpoint.connect_timeout(Duration::from_millis(500)),
        Err(error) => return Health::Down(error.to_string()),
    };
    let channel = match endpoint.connect().await {
        Ok(channel) => channel,
        Err(error) => return Health::Down(chassis::error::chain(&error)),
    };
    match HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
    {
        Ok(response) if response.get_ref().status == 1 => Health::Serving,
        Err(status) if status.code() == tonic::Code::Unavailable => {
            Health::Down(status.message().to_owned())
        }
        // It answered, but not SERVING, or failed for another reason than being unreachable.
        Ok(_) | Err(_) => Health::NotServing,
    }
}
