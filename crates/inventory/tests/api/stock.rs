//! Stock, Restock and the checks on every input, through the contract only: real gRPC on a
//! real socket, a real SQLite file, and the real PostgreSQL when
//! `BAZAAR_TEST_POSTGRES_URL` is set.

use bazaar_contract::inventory::v1::*;
use chassis::testing::{
    assert_invalid_argument, on_postgres, unreachable_postgres_url, violated_fields,
};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::support::*;

/// GetStock, BatchGetStock and Restock, with Restock's idempotency.
async fn stock_is_read_and_restocked(running: &Running) {
    let mut client = running.client.clone();
    let ghost = running.stock("never-stocked").await;
    assert_eq!(ghost.product_id, "never-stocked");
    assert_eq!(counts(&ghost), (0, 0));

    assert_eq!(counts(&running.restock("lamp", 5).await), (5, 0));
    assert_eq!(counts(&running.restock("lamp", 3).await), (8, 0));
    assert_eq!(counts(&running.stock("lamp").await), (8, 0));

    // A retry with the same request id returns the first result and adds nothing.
    let first = RestockRequest {
        request_id: "restock-once".to_owned(),
        product_id: "lamp".to_owned(),
        quantity: 2,
    };
    for _ in 0..2 {
        let stock = client
            .restock(authed(&running.admin(), first.clone()))
            .await
            .expect("restock")
            .into_inner()
            .stock
            .unwrap();
        assert_eq!(counts(&stock), (10, 0));
    }
    running.restock("lamp", 1).await;
    let retried = client
        .restock(authed(&running.admin(), first.clone()))
        .await
        .unwrap()
        .into_inner()
        .stock
        .unwrap();
    assert_eq!(counts(&retried), (10, 0), "the first call's result");
    assert_eq!(counts(&running.stock("lamp").await), (11, 0));
    // The same id with other parameters is refused.
    let status = client
        .restock(authed(
            &running.admin(),
            RestockRequest {
                quantity: 3,
                ..first.clone()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(
        error_info(&status),
        (
            "bazaar.inventory".to_owned(),
            "REQUEST_ID_REUSED".to_owned()
        )
    );
    assert_eq!(counts(&running.stock("lamp").await), (11, 0));

    // BatchGet keeps the request's order, duplicates and unknown products included.
    let batch = client
        .batch_get_stock(BatchGetStockRequest {
            product_ids: vec!["lamp".into(), "ghost".into(), "lamp".into()],
        })
        .await
        .unwrap()
        .into_inner();
    let got: Vec<_> = batch
        .stocks
        .iter()
        .map(|s| (s.product_id.as_str(), s.available, s.reserved))
        .collect();
    assert_eq!(got, [("lamp", 11, 0), ("ghost", 0, 0), ("lamp", 11, 0)]);
    let empty = client
        .batch_get_stock(BatchGetStockRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(empty.stocks.is_empty());

    // Bad ids.
    for bad in ["", "Lamp!", "-lamp"] {
        let status = client
            .get_stock(GetStockRequest {
                product_id: bad.to_owned(),
            })
            .await
            .unwrap_err();
        assert_invalid_argument(&status, &["product_id"]);
    }
    let status = client
        .batch_get_stock(BatchGetStockRequest {
            product_ids: vec!["ok".into(), "NOT OK".into(), "fine".into(), String::new()],
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        ["product_ids[1]", "product_ids[3]"]
    );
    let status = client
        .batch_get_stock(BatchGetStockRequest {
            product_ids: vec!["lamp".into(); 101],
        })
        .await
        .unwrap_err();
    assert_invalid_argument(&status, &["product_ids"]);
}

/// Restock needs an admin's valid token; its inputs are checked field by field.
async fn restock_needs_an_admin(running: &Running) {
    let mut client = running.client.clone();
    let request = || RestockRequest {
        request_id: format!("guarded-{}", unique()),
        product_id: "guarded".to_owned(),
        quantity: 5,
    };
    // From outside (no certificate) without a token: UNAUTHENTICATED. With the certificate
    // of orders, which may not restock, and no token: PERMISSION_DENIED.
    let mut outsider =
        bazaar_contract::inventory::v1::inventory_service_client::InventoryServiceClient::new(
            running.server.connect_with(running.server.tls()),
        );
    let status = outsider.restock(request()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = client.restock(request()).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    let mut expired = running.issuer.claims("admin-1");
    expired.roles = vec!["admin".to_owned()];
    expired.iat -= 3600;
    expired.exp = chassis::auth::now_secs() - 3600;
    let other = chassis::testing::TestIssuer::new();
    let mut forged = other.claims("admin-1");
    forged.roles = vec!["admin".to_owned()];
    for bearer in [
        format!("Bearer {}", running.issuer.token(&expired)),
        format!("Bearer {}", other.token(&forged)),
        "Bearer not-a-token".to_owned(),
    ] {
        let status = client
            .restock(authed(&bearer, request()))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{bearer}");
    }

    let user = running.issuer.bearer("shopper");
    let status = client.restock(authed(&user, request())).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(counts(&running.stock("guarded").await), (0, 0));

    let status = client
        .restock(authed(
            &running.admin(),
            RestockRequest {
                request_id: "no spaces allowed".to_owned(),
                product_id: "Guarded".to_owned(),
                quantity: 0,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        ["request_id", "product_id", "quantity"]
    );
    for quantity in [-1, 1_000_001] {
        let status = client
            .restock(authed(
                &running.admin(),
                RestockRequest {
                    quantity,
                    ..request()
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), ["quantity"], "{quantity}");
    }
    for request_id in [String::new(), "x".repeat(65), "é".to_owned()] {
        let status = client
            .restock(authed(
                &running.admin(),
                RestockRequest {
                    request_id,
                    ..request()
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), ["request_id"]);
    }
    let stock = client
        .restock(authed(
            &running.admin(),
            RestockRequest {
                quantity: 1_000_000,
                ..request()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .stock
        .unwrap();
    assert_eq!(counts(&stock), (1_000_000, 0));
}

/// ReserveStock and the reservation calls refuse bad input, naming each bad field.
async fn reservation_inputs_are_checked(running: &Running) {
    let mut client = running.client.clone();
    running.restock("checked", 100).await;
    let invalid = |request: ReserveStockRequest| {
        let mut client = client.clone();
        async move {
            let status = client.reserve_stock(request).await.unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
            violated_fields(&status)
        }
    };
    let good = || reserve_request(&[("checked", 1)]);
    for request_id in ["", "has space", &"x".repeat(65)] {
        let request = ReserveStockRequest {
            request_id: request_id.to_owned(),
            ..good()
        };
        assert_eq!(invalid(request).await, ["request_id"]);
    }
    assert_eq!(invalid(reserve_request(&[])).await, ["lines"]);
    let many: Vec<String> = (0..101).map(|i| format!("p{i}")).collect();
    let many: Vec<(&str, i32)> = many.iter().map(|p| (p.as_str(), 1)).collect();
    assert_eq!(invalid(reserve_request(&many)).await, ["lines"]);
    assert_eq!(
        invalid(reserve_request(&[("checked", 1), ("checked", 2)])).await,
        ["lines[1].product_id"]
    );
    assert_eq!(
        invalid(reserve_request(&[("checked", 1), ("Bad Id", 1)])).await,
        ["lines[1].product_id"]
    );
    for quantity in [0, -1, 10_001] {
        assert_eq!(
            invalid(reserve_request(&[("checked", quantity)])).await,
            ["lines[0].quantity"]
        );
    }
    for (seconds, nanos) in [(0, 500_000_000), (3600, 1), (3601, 0), (-1, 0)] {
        let request = ReserveStockRequest {
            ttl: Some(prost_types::Duration { seconds, nanos }),
            ..good()
        };
        assert_eq!(invalid(request).await, ["ttl"], "{seconds}s {nanos}ns");
    }
    let request = ReserveStockRequest {
        reference: "r".repeat(65),
        ..good()
    };
    assert_eq!(invalid(request).await, ["reference"]);
    // Several bad fields at once are all named.
    let request = ReserveStockRequest {
        request_id: String::new(),
        reference: "r".repeat(65),
        ..reserve_request(&[("checked", 0)])
    };
    assert_eq!(
        invalid(request).await,
        ["request_id", "lines[0].quantity", "reference"]
    );
    // Nothing was reserved by any of them.
    assert_eq!(counts(&running.stock("checked").await), (100, 0));

    // The bounds themselves are fine.
    for seconds in [1, 3600] {
        let request = ReserveStockRequest {
            ttl: Some(prost_types::Duration { seconds, nanos: 0 }),
            reference: "r".repeat(64),
            ..reserve_request(&[("checked", 50)])
        };
        client.reserve_stock(request).await.expect("in bounds");
    }

    // The reservation calls need an id; an unknown one is not found.
    let empty = String::new;
    let statuses = [
        client
            .get_reservation(GetReservationRequest {
                reservation_id: empty(),
            })
            .await
            .unwrap_err(),
        client
            .commit_reservation(CommitReservationRequest {
                reservation_id: empty(),
            })
            .await
            .unwrap_err(),
        client
            .release_reservation(ReleaseReservationRequest {
                reservation_id: empty(),
            })
            .await
            .unwrap_err(),
    ];
    for status in statuses {
        assert_invalid_argument(&status, &["reservation_id"]);
    }
    for id in ["rsv-nothing".to_owned(), "x".repeat(100)] {
        let statuses = [
            client
                .get_reservation(GetReservationRequest {
                    reservation_id: id.clone(),
                })
                .await
                .unwrap_err(),
            client
                .commit_reservation(CommitReservationRequest {
                    reservation_id: id.clone(),
                })
                .await
                .unwrap_err(),
            client
                .release_reservation(ReleaseReservationRequest {
                    reservation_id: id.clone(),
                })
                .await
                .unwrap_err(),
        ];
        for status in statuses {
            assert_eq!(status.code(), Code::NotFound, "{status:?}");
        }
    }
}

async fn contract_holds(running: &Running) {
    stock_is_read_and_restocked(running).await;
    restock_needs_an_admin(running).await;
    reservation_inputs_are_checked(running).await;
}

#[tokio::test]
async fn the_contract_holds_on_sqlite_and_stock_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), None).await;
    running.wait_until_serving().await;
    contract_holds(&running).await;
    running.stop().await;
    assert!(dir.path().join("inventory.db").exists());

    let running = Running::start(dir.path(), None).await;
    running.wait_until_serving().await;
    assert_eq!(counts(&running.stock("lamp").await), (11, 0));
    running.stop().await;
}

#[tokio::test]
async fn the_contract_holds_on_postgres() {
    on_postgres(
        "inventory::api::the_contract_holds_on_postgres",
        async |url| {
            let dir = tempfile::tempdir().unwrap();
            let running = Running::start(dir.path(), Some(url)).await;
            running.wait_until_serving().await;
            contract_holds(&running).await;
            running.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn an_unreachable_database_means_not_serving_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), Some(unreachable_postgres_url())).await;
    assert_eq!(running.health().await, ServingStatus::NotServing);
    let status = running
        .client
        .clone()
        .get_stock(GetStockRequest {
            product_id: "lamp".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    running.stop().await;
}
