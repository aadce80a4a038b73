//! A fault injector for one RPC of the real shipping service: a gRPC server of the shipping
//! contract, on a real socket, that orders is pointed at instead of shipping. It forwards
//! every call to the real shipping, except that while it is set to fail, CreateShipment
//! answers UNAVAILABLE without reaching shipping, as a network partition or a shipping
//! outage would; or it fails only the shipments of chosen orders, so other checkouts go
//! through meanwhile. GetQuote keeps working, so checkout gets as far as the charge.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bazaar_contract::shipping::v1::shipping_service_client::ShippingServiceClient;
use bazaar_contract::shipping::v1::shipping_service_server::{
    ShippingService, ShippingServiceServer,
};
use bazaar_contract::shipping::v1::{
    CancelShipmentRequest, CancelShipmentResponse, CreateShipmentRequest, CreateShipmentResponse,
    GetQuoteRequest, GetQuoteResponse, GetShipmentRequest, GetShipmentResponse,
};
use chassis::{Server, ServerArgs, Shutdown};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

/// The injector's switches and counters, shared with the test.
#[derive(Clone, Debug, Default)]
pub(crate) struct ShippingFaults {
    upstream: Arc<OnceLock<ShippingServiceClient<Channel>>>,
    failing: Arc<Mutex<Failing>>,
    create_calls: Arc<AtomicU32>,
}

/// Which CreateShipment calls fail.
#[derive(Debug, Default)]
enum Failing {
    #[default]
    None,
    All,
    Orders(BTreeSet<String>),
}

impl ShippingFaults {
    /// Serves the injector on a free port until `shutdown`; where it listens.
    pub(crate) async fn serve(&self, data_dir: &std::path::Path, shutdown: Shutdown) -> SocketAddr {
        // It stands in for shipping, so it presents shipping's certificate.
        let server = Server::bind("shipping", &ServerArgs::for_tests(data_dir), 0)
            .await
            .expect("the injector binds")
            .add_service(ShippingServiceServer::new(self.clone()));
        let addr = server.local_addr();
        tokio::spawn(server.serve(shutdown));
        addr
    }

    /// Forwards to the real shipping over `channel` from now on.
    pub(crate) fn forward_to(&self, channel: Channel) {
        let _ = self.upstream.set(ShippingServiceClient::new(channel));
    }

    /// Makes CreateShipment fail (`true`) or reach shipping again (`false`).
    pub(crate) fn fail_shipments(&self, failing: bool) {
        *self.lock() = if failing { Failing::All } else { Failing::None };
    }

    /// Makes CreateShipment fail for `order_id` only.
    pub(crate) fn fail_shipments_of(&self, order_id: &str) {
        *self.lock() = Failing::Orders(BTreeSet::from([order_id.to_owned()]));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Failing> {
        self.failing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many CreateShipment calls arrived, failed or not.
    pub(crate) fn create_calls(&self) -> u32 {
        self.create_calls.load(Ordering::SeqCst)
    }

    fn upstream(&self) -> Result<ShippingServiceClient<Channel>, Status> {
        self.upstream
            .get()
            .cloned()
            .ok_or_else(|| Status::unavailable("the injector does not know shipping yet"))
    }
}

/// A request to forward: the same message, with what is left of the caller's deadline.
fn forward<T>(request: Request<T>) -> Request<T> {
    let timeout = request
        .metadata()
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut forwarded = Request::new(request.into_inner());
    if let Some(timeout) = timeout.and_then(|t| t.parse().ok()) {
        forwarded.metadata_mut().insert("grpc-timeout", timeout);
    }
    forwarded
}

#[tonic::async_trait]
impl ShippingService for ShippingFaults {
    async fn get_quote(
        &self,
        request: Request<GetQuoteRequest>,
    ) -> Result<Response<GetQuoteResponse>, Status> {
        self.upstream()?.get_quote(forward(request)).await
    }

    async fn create_shipment(
        &self,
        request: Request<CreateShipmentRequest>,
    ) -> Result<Response<CreateShipmentResponse>, Status> {
        self.create_calls.fetch_add(1, Ordering::SeqCst);
        let fails = match &*self.lock() {
            Failing::None => false,
            Failing::All => true,
            Failing::Orders(orders) => orders.contains(&request.get_ref().order_id),
        };
        if fails {
            return Err(Status::unavailable("shipping is unreachable (injected)"));
        }
        self.upstream()?.create_shipment(forward(request)).await
    }

    async fn cancel_shipment(
        &self,
        request: Request<CancelShipmentRequest>,
    ) -> Result<Response<CancelShipmentResponse>, Status> {
        self.upstream()?.cancel_shipment(forward(request)).await
    }

    async fn get_shipment(
        &self,
        request: Request<GetShipmentRequest>,
    ) -> Result<Response<GetShipmentResponse>, Status> {
        self.upstream()?.get_shipment(forward(request)).await
    }
}
