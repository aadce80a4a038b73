//! Asking a service how it is, over `grpc.health.v1`.

use std::time::{Duration, Instant};

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

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

/// Checks the overall health of the server at `address` (`host:port`), giving up after
/// `timeout`. Returns what it found and how long the answer took.
pub async fn check(address: &str, timeout: Duration) -> (Health, Duration) {
    let started = Instant::now();
    let health = match tokio::time::timeout(timeout, check_once(address)).await {
        Ok(health) => health,
        Err(_) => Health::Down("no answer in time".to_owned()),
    };
    (health, started.elapsed())
}

async fn check_once(address: &str) -> Health {
    let endpoint = match tonic::transport::Endpoint::from_shared(format!("http://{address}")) {
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
        Ok(_) => Health::NotServing,
        Err(status) if status.code() == tonic::Code::Unavailable => {
            Health::Down(status.message().to_owned())
        }
        Err(_) => Health::NotServing,
    }
}
