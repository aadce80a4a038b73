//! `grpc.health.v1.Health` on the admin listener, over a real socket: what Kubernetes'
//! plaintext gRPC probes see of a service run the way every service runs
//! (`chassis::service::Bound`), against what its TLS port says.
//!
//! Nothing here asserts that something took less than some time; the waits are safety nets
//! against a hung test.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bazaar_contract::recommendation::v1::recommendation_service_client::RecommendationServiceClient;
use bazaar_contract::recommendation::v1::recommendation_service_server::{
    RecommendationService, RecommendationServiceServer,
};
use bazaar_contract::recommendation::v1::{
    ListRecommendationsRequest, ListRecommendationsResponse,
};
use chassis::admin::health::LIVENESS;
use chassis::service::{Bound, BoxError, Routes, Service, ServiceConfig, Setup};
use chassis::topology::{Probe, Role, Spec};
use chassis::{ServerArgs, Shutdown};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The full name of the service the test serves.
const SERVED: &str = "bazaar.recommendation.v1.RecommendationService";

/// How long a test waits for something that should happen promptly before it gives up.
const PATIENCE: Duration = Duration::from_secs(20);

/// A row of the table for the test service: the recommendation certificate of the test PKI
/// is its own, and port 0 puts both listeners on free ports.
static SPEC: Spec = Spec {
    name: "recommendation",
    port: 0,
    admin_port: 0,
    role: Role::Optional,
    calls: &[],
    probe: Probe::Grpc,
    sql: false,
};

#[derive(Debug, clap::Parser)]
struct Config {
    #[command(flatten)]
    server: ServerArgs,
}

impl ServiceConfig for Config {
    fn server(&self) -> &ServerArgs {
        &self.server
    }
}

/// A service whose check fails while `broken` is set, as one whose store went away.
struct Flaky {
    broken: Arc<AtomicBool>,
}

#[derive(Clone)]
struct Answers;

#[tonic::async_trait]
impl RecommendationService for Answers {
    async fn list_recommendations(
        &self,
        _request: tonic::Request<ListRecommendationsRequest>,
    ) -> Result<tonic::Response<ListRecommendationsResponse>, tonic::Status> {
        Ok(tonic::Response::new(ListRecommendationsResponse::default()))
    }
}

impl Service for Flaky {
    const SPEC: &'static Spec = &SPEC;
    type Config = Config;

    async fn build(_config: &Config, _setup: &mut Setup<'_>) -> Result<Self, BoxError> {
        Ok(Self {
            broken: Arc::default(),
        })
    }

    fn routes(&self, routes: &mut Routes<'_>) {
        routes.add(RecommendationServiceServer::new(Answers));
    }

    async fn check(&self) -> Result<(), BoxError> {
        if self.broken.load(Ordering::Relaxed) {
            Err("the store is gone".into())
        } else {
            Ok(())
        }
    }
}

/// The status of `service` on `channel`, or the call's error code.
async fn status(channel: &Channel, service: &str) -> Result<ServingStatus, Code> {
    let answer = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .map_err(|status| status.code())?;
    Ok(answer.into_inner().status())
}

/// Whether `service` reports `wanted` on `channel` within [`PATIENCE`].
async fn becomes(channel: &Channel, service: &str, wanted: ServingStatus) -> bool {
    tokio::time::timeout(PATIENCE, async {
        while status(channel, service).await != Ok(wanted) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .is_ok()
}

/// The status code of `GET path` over HTTP/1.1 on `addr`.
async fn http_status(addr: SocketAddr, path: &str) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("the admin listener accepts");
    let request = format!("GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("the request is sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("an answer");
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

/// A connection to the admin port in plaintext HTTP/2, as a kubelet's gRPC probe makes it.
async fn plaintext_probe(admin: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{admin}"))
        .expect("a URI")
        .connect()
        .await
        .expect("the admin port takes plaintext HTTP/2")
}

#[tokio::test]
async fn the_admin_port_answers_plaintext_grpc_health_from_the_services_own_reporter() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let config = Config {
        server: ServerArgs::for_tests(data.path()),
    };
    let bound = Bound::<Flaky>::bind(&config).await.expect("binds port 0");
    let admin = bound.admin_addr().expect("an admin listener");
    let main = bound.local_addr();
    let broken = bound.service().broken.clone();
    let main_tls = bound.tls().anonymous();
    let shutdown = Shutdown::new();
    let running = tokio::spawn(bound.run(shutdown.clone()));

    let probe = plaintext_probe(admin).await;
    let caller = main_tls
        .endpoint(&main.to_string())
        .expect("an endpoint")
        .connect()
        .await
        .expect("the main port takes TLS");

    assert!(becomes(&probe, "", ServingStatus::Serving).await);
    assert_eq!(status(&probe, SERVED).await, Ok(ServingStatus::Serving));
    assert_eq!(status(&probe, LIVENESS).await, Ok(ServingStatus::Serving));
    assert_eq!(status(&caller, "").await, Ok(ServingStatus::Serving));
    assert_eq!(
        status(&probe, "bazaar.unknown.v1.Nothing").await,
        Err(Code::NotFound),
        "names the service's health does not know are not found, as on the main port"
    );
    // The HTTP routes are still there, and nothing but health is served over gRPC.
    assert_eq!(http_status(admin, "/readyz").await, 200);
    assert_eq!(http_status(admin, "/healthz").await, 200);
    let own = RecommendationServiceClient::new(probe.clone())
        .list_recommendations(ListRecommendationsRequest::default())
        .await;
    assert_eq!(
        own.map(drop).map_err(|status| status.code()),
        Err(Code::Unimplemented),
        "the service's own RPCs are not served on the admin port"
    );
    assert_eq!(
        RecommendationServiceClient::new(caller.clone())
            .list_recommendations(ListRecommendationsRequest::default())
            .await
            .map(drop)
            .map_err(|status| status.code()),
        Ok(()),
        "they are on the main port"
    );

    // Its store goes away: readiness follows on both ports, liveness does not.
    broken.store(true, Ordering::Relaxed);
    assert!(becomes(&probe, "", ServingStatus::NotServing).await);
    assert_eq!(status(&probe, SERVED).await, Ok(ServingStatus::NotServing));
    assert_eq!(status(&caller, "").await, Ok(ServingStatus::NotServing));
    assert_eq!(status(&probe, LIVENESS).await, Ok(ServingStatus::Serving));
    assert_eq!(http_status(admin, "/readyz").await, 503);

    // And back.
    broken.store(false, Ordering::Relaxed);
    assert!(becomes(&probe, "", ServingStatus::Serving).await);
    assert_eq!(status(&caller, SERVED).await, Ok(ServingStatus::Serving));

    shutdown.trigger();
    tokio::time::timeout(PATIENCE, running)
        .await
        .expect("stops within the grace period")
        .expect("the task ends")
        .expect("run returns Ok");
}

#[tokio::test]
async fn a_watch_of_liveness_says_serving_and_stays_open() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let config = Config {
        server: ServerArgs::for_tests(data.path()),
    };
    let bound = Bound::<Flaky>::bind(&config).await.expect("binds port 0");
    let admin = bound.admin_addr().expect("an admin listener");
    let shutdown = Shutdown::new();
    let running = tokio::spawn(bound.run(shutdown.clone()));
    let probe = plaintext_probe(admin).await;

    let mut liveness = HealthClient::new(probe.clone())
        .watch(HealthCheckRequest {
            service: LIVENESS.to_owned(),
        })
        .await
        .expect("liveness can be watched")
        .into_inner();
    let first = liveness
        .message()
        .await
        .expect("a first answer")
        .expect("the stream is open");
    assert_eq!(first.status(), ServingStatus::Serving);
    let next = tokio::time::timeout(Duration::from_millis(200), liveness.message()).await;
    assert!(next.is_err(), "nothing more while the process runs");

    let mut server = HealthClient::new(probe)
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("the server's health can be watched")
        .into_inner();
    let serving = tokio::time::timeout(PATIENCE, async {
        loop {
            match server.message().await {
                Ok(Some(answer)) if answer.status() == ServingStatus::Serving => return true,
                Ok(Some(_)) => {}
                _ => return false,
            }
        }
    })
    .await;
    assert_eq!(
        serving,
        Ok(true),
        "the watch follows the service to SERVING"
    );

    shutdown.trigger();
    tokio::time::timeout(PATIENCE, running)
        .await
        .expect("stops within the grace period")
        .expect("the task ends")
        .expect("run returns Ok");
}
