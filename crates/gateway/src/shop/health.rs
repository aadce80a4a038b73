//! Every service's health, as the status page and the checkout need it: checked
//! concurrently, through the same channels the gateway calls the services with, each check
//! with the optional deadline.

use std::time::{Duration, Instant};

use serde::Serialize;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use super::format_time;
use crate::app::App;
use crate::upstreams::call;

/// What a health check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Health {
    /// Answered SERVING.
    Serving,
    /// Answered, but not SERVING (starting, stopping, its store unreachable).
    NotServing,
    /// No answer in time.
    Down,
}

impl Health {
    /// As shown.
    pub fn label(self) -> &'static str {
        match self {
            Self::Serving => "SERVING",
            Self::NotServing => "NOT_SERVING",
            Self::Down => "DOWN",
        }
    }
}

/// Checks one service's health; returns what it found and how long it took.
pub async fn probe(app: &App, name: &str) -> (Health, Duration) {
    let Some((_, upstream)) = app.upstreams.all.iter().find(|(s, _)| s.name == name) else {
        return (Health::Down, Duration::ZERO);
    };
    let mut client = HealthClient::new(upstream.clone());
    let started = Instant::now();
    let answer = client
        .check(call(
            HealthCheckRequest {
                service: String::new(),
            },
            app.upstreams.deadlines.optional,
            None,
        ))
        .await;
    let health = match answer {
        Ok(response) if response.get_ref().status == 1 => Health::Serving,
        Err(status) if matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded) => {
            Health::Down
        }
        // It answered, but not SERVING, or failed for another reason than being unreachable.
        Ok(_) | Err(_) => Health::NotServing,
    };
    (health, started.elapsed())
}

/// How one service is doing.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceStatus {
    /// The service's name, as `bazaar up` knows it.
    pub name: &'static str,
    /// Where the gateway calls it (comma-separated replicas).
    pub address: String,
    /// "critical" (the shop needs it) or "optional" (features degrade without it).
    pub role: &'static str,
    /// What the health check found.
    pub state: Health,
    /// How long the check took, in milliseconds; `None` when it got no answer.
    pub latency_ms: Option<f64>,
}

impl ServiceStatus {
    /// The latency as shown.
    pub fn latency_text(&self) -> String {
        self.latency_ms
            .map_or_else(|| "—".to_owned(), |ms| format!("{ms:.1} ms"))
    }

    /// The state as shown.
    pub fn state_label(&self) -> &'static str {
        self.state.label()
    }
}

/// The whole shop's status.
#[derive(Clone, Debug, Serialize)]
pub struct StatusReport {
    /// Every service, in start order.
    pub services: Vec<ServiceStatus>,
    /// How many are SERVING.
    pub serving: usize,
    /// The gateway's own address.
    pub gateway_address: String,
    /// Seconds since the gateway started.
    pub gateway_uptime_secs: u64,
    /// When the checks ran, "YYYY-MM-DD HH:MM UTC".
    pub checked_at: String,
    /// How the gateway reaches the services: `mutual TLS`, or `PLAINTEXT` when it runs with
    /// `--plaintext` (no encryption, no service identity).
    pub transport: &'static str,
    /// Whether that is plaintext.
    pub plaintext: bool,
}

/// The role the service table gives `name`.
fn role(name: &str) -> &'static str {
    chassis::topology::find(name).map_or("critical", |spec| spec.role.label())
}

/// Checks every service, concurrently.
pub async fn report(app: &App) -> StatusReport {
    let checks = app.upstreams.all.iter().map(|(service, _)| async move {
        let (state, took) = probe(app, service.name).await;
        ServiceStatus {
            name: service.name,
            address: service.addresses.join(","),
            role: role(service.name),
            state,
            latency_ms: (state != Health::Down).then_some(took.as_secs_f64() * 1000.0),
        }
    });
    let services = futures_util::future::join_all(checks).await;
    StatusReport {
        serving: services
            .iter()
            .filter(|s| s.state == Health::Serving)
            .count(),
        services,
        gateway_address: app.local_addr.to_string(),
        gateway_uptime_secs: app.started.elapsed().as_secs(),
        checked_at: format_time(chassis::auth::now_secs()),
        transport: if app.plaintext {
            "PLAINTEXT"
        } else {
            "mutual TLS"
        },
        plaintext: app.plaintext,
    }
}
