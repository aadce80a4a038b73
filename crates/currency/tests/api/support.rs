//! The currency service on port 0, with its rate table and nothing else to wait for.

use bazaar_contract::currency::v1::currency_service_client::CurrencyServiceClient;
use chassis::ServerArgs;
use chassis::testing::{Overrides, Spawned, spawn};
use currency::{Config, Currency};
use tonic::transport::Channel;

/// The currency service, serving, with a client on it.
pub(crate) struct Running {
    pub client: CurrencyServiceClient<Channel>,
    server: Spawned<Currency>,
    _dir: tempfile::TempDir,
}

impl Running {
    /// Starts it and waits until it serves.
    pub(crate) async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            server: ServerArgs::for_tests(dir.path()),
        };
        let server = spawn::<Currency>(&config, &Overrides::default()).await;
        Self {
            client: CurrencyServiceClient::new(server.channel()),
            server,
            _dir: dir,
        }
    }

    /// Stops it and waits until it has stopped.
    pub(crate) async fn stop(self) {
        self.server.stop().await.expect("currency stops cleanly");
    }
}
