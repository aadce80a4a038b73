//! The catalog on port 0 over a temporary store, started by the chassis's test harness.

use bazaar_contract::catalog::v1::catalog_service_client::CatalogServiceClient;
use catalog::{Catalog, Config};
use chassis::ServerArgs;
use chassis::testing::{Overrides, Spawned};
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;

/// A catalog running on port 0, with a client on it.
pub(crate) struct Running {
    pub client: CatalogServiceClient<Channel>,
    server: Spawned<Catalog>,
}

impl Running {
    /// Starts it on `database_url` (SQLite in `data_dir` when `None`), without waiting until
    /// it serves.
    pub(crate) async fn start(data_dir: &std::path::Path, database_url: Option<String>) -> Self {
        let config = Config {
            server: ServerArgs::for_tests(data_dir),
            database_url: database_url.map(Into::into),
        };
        let server = chassis::testing::start::<Catalog>(&config, &Overrides::default())
            .await
            .expect("catalog starts");
        Self {
            client: CatalogServiceClient::new(server.channel()),
            server,
        }
    }

    /// The health of the catalog service.
    pub(crate) async fn health(&self) -> ServingStatus {
        self.server.health("bazaar.catalog.v1.CatalogService").await
    }

    /// Waits until it answers SERVING.
    pub(crate) async fn wait_until_serving(&self) {
        self.server.wait_until_serving().await;
    }

    /// Stops it and waits until it has stopped.
    pub(crate) async fn stop(self) {
        self.server.stop().await.expect("catalog stops cleanly");
    }
}
