//! shipping through its contract only: real gRPC on a real socket, a real SQLite file, and
//! the real PostgreSQL when `BAZAAR_TEST_POSTGRES_URL` is set.

use std::time::Duration;

use bazaar_contract::shipping::v1::shipping_service_client::ShippingServiceClient;
use bazaar_contract::shipping::v1::*;
use bazaar_contract::types::v1::{Address, Money};
use chassis::store::testing::TempPostgres;
use chassis::{ServerArgs, Shutdown};
use shipping::{Config, Shipping};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

async fn start(
    dir: &std::path::Path,
    database_url: Option<String>,
) -> (
    ShippingServiceClient<Channel>,
    Shutdown,
    tokio::task::JoinHandle<()>,
) {
    let config = Config {
        server: ServerArgs::for_tests(dir),
        database_url,
    };
    let shipping = Shipping::bind(&config).await.expect("binds");
    let address = shipping.local_addr();
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    let task = tokio::spawn(async move { shipping.run(stop).await.expect("runs") });
    let client = ShippingServiceClient::connect(format!("http://{address}"))
        .await
        .expect("connects");
    for _ in 0..200 {
        match client
            .clone()
            .get_shipment(GetShipmentRequest {
                shipment_id: "probe".into(),
            })
            .await
        {
            Err(status) if status.code() == Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            _ => return (client, shutdown, task),
        }
    }
    panic!("shipping never became ready");
}

fn to(country: &str) -> Address {
    Address {
        recipient_name: "Ada Lovelace".into(),
        street_lines: vec!["12 St James's Square".into()],
        city: "London".into(),
        region: String::new(),
        postal_code: "SW1Y 4JH".into(),
        country_code: country.into(),
    }
}

fn items(quantities: &[i32]) -> Vec<ShipmentItem> {
    quantities
        .iter()
        .enumerate()
        .map(|(i, q)| ShipmentItem {
            product_id: format!("product-{i}"),
            quantity: *q,
        })
        .collect()
}

fn usd(units: i64, nanos: i32) -> Option<Money> {
    Some(Money {
        currency_code: "USD".into(),
        units,
        nanos,
    })
}

fn fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

async fn quote(
    client: &mut ShippingServiceClient<Channel>,
    country: &str,
    quantities: &[i32],
) -> Quote {
    client
        .get_quote(GetQuoteRequest {
            address: Some(to(country)),
            items: items(quantities),
        })
        .await
        .unwrap()
        .into_inner()
        .quote
        .unwrap()
}

fn create(request_id: &str, order_id: &str, quantities: &[i32]) -> CreateShipmentRequest {
    CreateShipmentRequest {
        request_id: request_id.into(),
        order_id: order_id.into(),
        address: Some(to("US")),
        items: items(quantities),
    }
}

async fn contract_holds(client: ShippingServiceClient<Channel>) {
    let mut client = client;

    // The formula, with the contract's own examples.
    let q = quote(&mut client, "US", &[2]).await;
    assert_eq!(
        (q.cost, q.estimated_delivery_days),
        (usd(6, 970_000_000), 3)
    );
    let q = quote(&mut client, "DE", &[5, 7]).await;
    assert_eq!((q.cost, q.estimated_delivery_days), (usd(10, 0), 7));
    let q = quote(&mut client, "US", &[9]).await;
    assert_eq!(q.cost, usd(13, 900_000_000));
    assert_eq!(quote(&mut client, "US", &[10]).await.cost, usd(0, 0));
    assert_eq!(
        quote(&mut client, "FR", &[1]).await.cost,
        usd(15, 980_000_000)
    );

    // Bad input names every field.
    let mut bad = to("usa");
    bad.street_lines.clear();
    bad.recipient_name = " ".into();
    let status = client
        .get_quote(GetQuoteRequest {
            address: Some(bad),
            items: vec![ShipmentItem {
                product_id: "Not A Slug".into(),
                quantity: 0,
            }],
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&status),
        [
            "address.recipient_name",
            "address.street_lines",
            "address.country_code",
            "items[0].product_id",
            "items[0].quantity"
        ]
    );
    let status = client
        .get_quote(GetQuoteRequest {
            address: None,
            items: Vec::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&status), ["address", "items"]);
    let status = client
        .get_quote(GetQuoteRequest {
            address: Some(to("US")),
            items: items(&[1; 101]),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&status), ["items"]);
    let status = client
        .create_shipment(CreateShipmentRequest {
            request_id: "no spaces!".into(),
            order_id: String::new(),
            address: Some(to("US")),
            items: items(&[1]),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&status), ["request_id", "order_id"]);

    // Create, idempotently.
    let first = client
        .create_shipment(create("ship-1", "order-1", &[1, 2]))
        .await
        .unwrap()
        .into_inner()
        .shipment
        .unwrap();
    assert_eq!(first.state, ShipmentState::Created as i32);
    assert!(first.tracking_id.starts_with("BZ") && first.tracking_id.len() == 12);
    assert!(
        first
            .tracking_id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    );
    assert_eq!(first.items, items(&[1, 2]));
    assert_eq!(first.quote.as_ref().unwrap().cost, usd(7, 960_000_000));
    let again = client
        .create_shipment(create("ship-1", "order-1", &[1, 2]))
        .await
        .unwrap()
        .into_inner()
        .shipment
        .unwrap();
    assert_eq!(again, first);
    let status = client
        .create_shipment(create("ship-1", "order-1", &[3]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(reason(&status), "REQUEST_ID_REUSED");
    let status = client
        .create_shipment(create("ship-2", "order-1", &[1]))
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "ORDER_ALREADY_SHIPPED");
    assert_eq!(
        status.get_details_error_info().unwrap().metadata["shipment_id"],
        first.id
    );

    // Concurrent retries of one request make one shipment.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let mut client = client.clone();
            tokio::spawn(async move {
                client
                    .create_shipment(create("ship-race", "order-race", &[4]))
                    .await
                    .map(|r| r.into_inner().shipment.unwrap().id)
            })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().expect("every retry gets the shipment"));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);

    // Get and cancel, twice; then the order may ship again.
    let got = client
        .get_shipment(GetShipmentRequest {
            shipment_id: first.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .shipment
        .unwrap();
    assert_eq!(got, first);
    for _ in 0..2 {
        let cancelled = client
            .cancel_shipment(CancelShipmentRequest {
                shipment_id: first.id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .shipment
            .unwrap();
        assert_eq!(cancelled.state, ShipmentState::Cancelled as i32);
        assert_eq!(cancelled.tracking_id, first.tracking_id);
    }
    client
        .create_shipment(create("ship-3", "order-1", &[1]))
        .await
        .expect("a cancelled shipment frees its order");

    for status in [
        client
            .get_shipment(GetShipmentRequest {
                shipment_id: "sh_nothing".into(),
            })
            .await
            .unwrap_err(),
        client
            .cancel_shipment(CancelShipmentRequest {
                shipment_id: "sh_nothing".into(),
            })
            .await
            .unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::NotFound);
    }
    let status = client
        .get_shipment(GetShipmentRequest::default())
        .await
        .unwrap_err();
    assert_eq!(fields(&status), ["shipment_id"]);
}

#[tokio::test]
async fn the_contract_holds_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (client, shutdown, task) = start(dir.path(), None).await;
    contract_holds(client).await;
    shutdown.trigger();
    task.await.unwrap();
}

#[tokio::test]
async fn the_contract_holds_on_postgres() {
    let Some(database) = TempPostgres::create("shipping::the_contract_holds_on_postgres")
        .await
        .expect("PostgreSQL answers")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (client, shutdown, task) = start(dir.path(), Some(database.url.clone())).await;
    contract_holds(client).await;
    shutdown.trigger();
    task.await.unwrap();
    database.drop_database().await.unwrap();
}
