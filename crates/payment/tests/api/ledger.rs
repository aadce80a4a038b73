//! GetCharge and ListCharges: the ledger, newest first, paginated, optionally by order.

use std::time::Duration;

use bazaar_contract::payment::v1::*;
use chassis::testing::assert_invalid;
use tonic::Code;

use crate::support::*;

fn newest_first(charges: &[Charge]) -> bool {
    charges.windows(2).all(|w| {
        let key = |c: &Charge| {
            let t = c.create_time.as_ref().unwrap();
            (t.seconds, t.nanos, c.id.clone())
        };
        key(&w[0]) > key(&w[1])
    })
}

pub(crate) async fn get_charge_finds_or_refuses(running: &Running) {
    let mut client = running.client.clone();
    assert_invalid(get(&mut client, "").await, &["charge_id"]);
    let status = get(&mut client, "ch_no_such_charge").await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

pub(crate) async fn the_ledger_pages_newest_first(running: &Running) {
    let mut client = running.client.clone();
    // Order a: three declines and a success, a second apart; order b: one success.
    let mut order_a = Vec::new();
    for (i, number) in [
        "4000000000000002",
        "4000000000009995",
        "4000000000000127",
        "4242424242424242",
    ]
    .into_iter()
    .enumerate()
    {
        running.clock.advance(Duration::from_secs(1));
        let request = charge_request(&format!("ledger-a-{i}"), "ledger-a", number);
        let charge = match charge(&mut client, request).await {
            Ok(charge) => charge,
            Err(status) => {
                let metadata = assert_reason(&status, Code::FailedPrecondition, "CARD_DECLINED");
                get(&mut client, &metadata["charge_id"]).await.unwrap()
            }
        };
        order_a.push(charge);
    }
    order_a.reverse();
    running.clock.advance(Duration::from_secs(1));
    let b = charge(
        &mut client,
        charge_request("ledger-b", "ledger-b", "4242424242424242"),
    )
    .await
    .unwrap();

    for size in [1, 2, 3, 100] {
        assert_eq!(
            list_all(&mut client, "ledger-a", size).await,
            order_a,
            "page {size}"
        );
    }
    assert_eq!(list_all(&mut client, "ledger-b", 1).await, vec![b.clone()]);
    assert!(list_all(&mut client, "ledger-nobody", 10).await.is_empty());

    // The whole ledger holds both, newest first.
    let everything = list_all(&mut client, "", 7).await;
    assert!(newest_first(&everything));
    assert_eq!(everything[0], b);
    assert_eq!(everything[1..5], order_a[..]);

    // 21 charges at the same instant: the default page is 20, ties broken by id.
    for i in 0..21 {
        let request = charge_request(
            &format!("ledger-many-{i}"),
            "ledger-many",
            "4000000000000002",
        );
        charge(&mut client, request).await.unwrap_err();
    }
    let first = client
        .list_charges(ListChargesRequest {
            order_id: "ledger-many".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.charges.len(), 20);
    assert!(!first.next_page_token.is_empty());
    let rest = client
        .list_charges(ListChargesRequest {
            order_id: "ledger-many".to_owned(),
            page_token: first.next_page_token.clone(),
            page_size: 1000,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.charges.len(), 1);
    assert!(rest.next_page_token.is_empty());
    let all: Vec<Charge> = first.charges.iter().chain(&rest.charges).cloned().collect();
    assert!(newest_first(&all));
    assert_eq!(all, list_all(&mut client, "ledger-many", 100).await);
    // Enough charges for more than the largest page.
    for i in 0..50 {
        let request = charge_request(
            &format!("ledger-bulk-{i}"),
            "ledger-bulk",
            "4000000000000002",
        );
        charge(&mut client, request).await.unwrap_err();
    }
    let whole = client
        .list_charges(ListChargesRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(whole.charges.len(), 100, "pages are clamped to 100");
    assert!(!whole.next_page_token.is_empty());

    // Bad requests.
    let list = |page_size: i32, page_token: &str, order_id: &str| ListChargesRequest {
        page_size,
        page_token: page_token.to_owned(),
        order_id: order_id.to_owned(),
    };
    let bad = |request: ListChargesRequest| {
        let mut client = client.clone();
        async move { client.list_charges(request).await }
    };
    assert_invalid(bad(list(-1, "", "")).await, &["page_size"]);
    assert_invalid(bad(list(0, "garbage", "")).await, &["page_token"]);
    assert_invalid(
        bad(list(-1, "garbage", "")).await,
        &["page_size", "page_token"],
    );
    // A token is bound to the order filter that produced it.
    assert_invalid(
        bad(list(0, &first.next_page_token, "ledger-a")).await,
        &["page_token"],
    );
    assert_invalid(
        bad(list(0, &first.next_page_token, "")).await,
        &["page_token"],
    );
}
