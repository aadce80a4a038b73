//! ListNotifications and GetNotification through the contract: pages, the order filter, and
//! every bad input with its field path, on SQLite and, when `BAZAAR_TEST_POSTGRES_URL` is
//! set, PostgreSQL.

use std::collections::HashSet;
use std::net::SocketAddr;

use bazaar_contract::notification::v1::*;
use chassis::testing::{assert_invalid_argument, on_postgres, violated_fields};
use notification::Config;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::support::*;

async fn list(
    running: &Running,
    page_size: i32,
    page_token: &str,
    order_id: &str,
) -> Result<ListNotificationsResponse, tonic::Status> {
    running
        .client
        .clone()
        .list_notifications(running.as_admin(ListNotificationsRequest {
            page_size,
            page_token: page_token.to_owned(),
            order_id: order_id.to_owned(),
        }))
        .await
        .map(tonic::Response::into_inner)
}

/// Five of the six orders are user-a's and one (order-5) user-b's: each sees their own,
/// another's is as if it did not exist, and nobody without a token sees any.
async fn shoppers_see_their_own_notifications_only(running: &Running, all: &[Notification]) {
    let mut client = running.client.clone();
    let mine = |user: &str, order_id: &str| {
        running.as_user(
            user,
            ListNotificationsRequest {
                page_size: 100,
                page_token: String::new(),
                order_id: order_id.to_owned(),
            },
        )
    };
    let of_a = client.list_notifications(mine("user-a", "")).await.unwrap();
    let of_a = of_a.into_inner().notifications;
    assert_eq!(of_a.len(), 5);
    assert!(of_a.iter().all(|n| n.order_id != "order-5"), "{of_a:?}");
    let of_b = client.list_notifications(mine("user-b", "")).await.unwrap();
    let of_b = of_b.into_inner().notifications;
    assert_eq!(of_b.len(), 1);
    assert_eq!(of_b[0].order_id, "order-5");
    // Filtering by another shopper's order shows nothing of it.
    let other = client
        .list_notifications(mine("user-a", "order-5"))
        .await
        .unwrap();
    assert!(other.into_inner().notifications.is_empty());
    let stranger = client.list_notifications(mine("user-c", "")).await.unwrap();
    assert!(stranger.into_inner().notifications.is_empty());

    // One shopper's page token is no good to another.
    let first = client
        .list_notifications(running.as_user(
            "user-a",
            ListNotificationsRequest {
                page_size: 2,
                ..ListNotificationsRequest::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    let status = client
        .list_notifications(running.as_user(
            "user-b",
            ListNotificationsRequest {
                page_size: 2,
                page_token: first.next_page_token.clone(),
                order_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_invalid_argument(&status, &["page_token"]);

    let of_b_id = &all.iter().find(|n| n.order_id == "order-5").unwrap().id;
    let got = client
        .get_notification(running.as_user(
            "user-b",
            GetNotificationRequest {
                notification_id: of_b_id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.notification.unwrap().order_id, "order-5");
    let status = client
        .get_notification(running.as_user(
            "user-a",
            GetNotificationRequest {
                notification_id: of_b_id.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    // No token, or a bad one: nothing at all.
    let status = client
        .list_notifications(ListNotificationsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let mut forged = tonic::Request::new(GetNotificationRequest {
        notification_id: of_b_id.clone(),
    });
    forged.metadata_mut().insert(
        chassis::auth::AUTHORIZATION,
        "Bearer a.b.c".parse().unwrap(),
    );
    let status = client.get_notification(forged).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}

fn sort_key(n: &Notification) -> (i64, i32, String) {
    let time = n.send_time.as_ref().expect("a send time");
    (time.seconds, time.nanos, n.id.clone())
}

async fn the_contract_holds(database_url: Option<String>) {
    let orders = OrdersDouble::default();
    for (event_id, order_id) in [
        ("evt-1", "order-1"),
        ("evt-2", "order-2"),
        ("evt-3", "order-1"),
        ("evt-4", "order-3"),
        ("evt-5", "order-4"),
        ("evt-6", "order-5"),
    ] {
        let mut event = placed(&orders, event_id, order_id);
        if order_id == "order-5" {
            event.order.as_mut().expect("an order").user_id = "user-b".to_owned();
        }
        orders.push(event);
    }
    let serving = orders.serve(SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), database_url, serving.addr).await;
    running.wait_for_messages(6).await;

    // Pages of 4 then 2, newest first (send time, then id), each notification once.
    let first = list(&running, 4, "", "").await.unwrap();
    assert_eq!(first.notifications.len(), 4);
    assert!(!first.next_page_token.is_empty());
    let second = list(&running, 4, &first.next_page_token, "").await.unwrap();
    assert_eq!(second.notifications.len(), 2);
    assert!(second.next_page_token.is_empty());
    let all: Vec<Notification> = first
        .notifications
        .iter()
        .chain(&second.notifications)
        .cloned()
        .collect();
    let keys: Vec<_> = all.iter().map(sort_key).collect();
    let mut newest_first = keys.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(keys, newest_first);
    let ids: HashSet<_> = all.iter().map(|n| n.id.clone()).collect();
    assert_eq!(ids.len(), 6);

    // The default page holds them all; a huge one is clamped, not refused.
    assert_eq!(
        list(&running, 0, "", "").await.unwrap().notifications.len(),
        6
    );
    assert_eq!(
        list(&running, 10_000, "", "")
            .await
            .unwrap()
            .notifications
            .len(),
        6
    );

    // Only one order's, a page at a time.
    let page = list(&running, 1, "", "order-1").await.unwrap();
    assert_eq!(page.notifications.len(), 1);
    let rest = list(&running, 1, &page.next_page_token, "order-1")
        .await
        .unwrap();
    assert_eq!(rest.notifications.len(), 1);
    assert!(rest.next_page_token.is_empty());
    let events: HashSet<_> = page
        .notifications
        .iter()
        .chain(&rest.notifications)
        .map(|n| {
            assert_eq!(n.order_id, "order-1");
            n.event_id.clone()
        })
        .collect();
    assert_eq!(
        events,
        HashSet::from(["evt-1".to_owned(), "evt-3".to_owned()])
    );
    let none = list(&running, 0, "", "no-such-order").await.unwrap();
    assert!(none.notifications.is_empty() && none.next_page_token.is_empty());

    // Bad inputs, each with its field.
    let status = list(&running, -1, "", "").await.unwrap_err();
    assert_invalid_argument(&status, &["page_size"]);
    let status = list(&running, 0, "junk", "").await.unwrap_err();
    assert_invalid_argument(&status, &["page_token"]);
    let status = list(&running, -5, "junk", "").await.unwrap_err();
    assert_eq!(violated_fields(&status), ["page_size", "page_token"]);
    // A token is bound to its query.
    let status = list(&running, 4, &first.next_page_token, "order-1")
        .await
        .unwrap_err();
    assert_invalid_argument(&status, &["page_token"]);
    // A well-formed token with a position this server never writes.
    let forged = chassis::page::encode(
        chassis::page::fingerprint(&["notifications", "*", ""]),
        "not-a-position",
    );
    let status = list(&running, 4, &forged, "").await.unwrap_err();
    assert_eq!(violated_fields(&status), ["page_token"]);

    // Get.
    let mut client = running.client.clone();
    let got = client
        .get_notification(running.as_admin(GetNotificationRequest {
            notification_id: all[0].id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .notification
        .unwrap();
    assert_eq!(got, all[0]);
    assert_eq!(got.subject, "Your bazaar order is confirmed");
    assert_eq!(got.channel, NotificationChannel::Email as i32);
    assert_eq!(got.recipient, format!("{}@example.com", got.order_id));
    let status = client
        .get_notification(running.as_admin(GetNotificationRequest::default()))
        .await
        .unwrap_err();
    assert_invalid_argument(&status, &["notification_id"]);
    let status = client
        .get_notification(running.as_admin(GetNotificationRequest {
            notification_id: "no-such-notification".to_owned(),
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    shoppers_see_their_own_notifications_only(&running, &all).await;

    running.stop().await;
    serving.stop().await;
}

#[tokio::test]
async fn the_contract_holds_on_sqlite() {
    the_contract_holds(None).await;
}

#[tokio::test]
async fn the_contract_holds_on_postgres() {
    on_postgres(
        "notification::the_contract_holds_on_postgres",
        async |url| {
            the_contract_holds(Some(url)).await;
        },
    )
    .await;
}

#[tokio::test]
async fn an_unreachable_database_means_not_serving_not_a_crash() {
    let nowhere = free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path(), nowhere.to_string());
    config.database_url =
        Some(format!("postgres://postgres@127.0.0.1:{}/nothing", nowhere.port()).into());
    let running = Running::launch(config).await;
    assert_eq!(running.health().await, ServingStatus::NotServing);
    let status = list(&running, 0, "", "").await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    let status = running
        .client
        .clone()
        .get_notification(running.as_user(
            "user-a",
            GetNotificationRequest {
                notification_id: "x".to_owned(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    running.stop().await;
}
