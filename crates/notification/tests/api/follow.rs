//! The notification service following the order event stream of an orders double: one
//! email per placed order, whatever the stream does (duplicates, replays, restarts, an
//! orders service that is down), on SQLite and, when `BAZAAR_TEST_POSTGRES_URL` is set,
//! PostgreSQL.

use std::collections::HashSet;
use std::net::SocketAddr;

use bazaar_contract::notification::v1::NotificationChannel;
use bazaar_contract::orders::v1::OrderEventType;
use chassis::testing::on_postgres;
use notification::Config;
use notification::domain::{Channel, NotificationId};
use notification::maildir::Maildir;
use notification::store::{MIGRATIONS, NewNotification, NotificationRecord, NotificationStore};

use crate::support::*;

const ANY_PORT: ([u8; 4], u16) = ([127, 0, 0, 1], 0);

/// One email per placed event: the right headers, both parts, the amounts, the tracking id,
/// escaped HTML; nothing for failed events; nothing more for a duplicate.
async fn placed_orders_are_confirmed_once(database_url: Option<String>) {
    let orders = OrdersDouble::default();
    let serving = orders.serve(SocketAddr::from(ANY_PORT)).await;
    let dir = tempfile::tempdir().unwrap();
    let service = Running::start(dir.path(), database_url, serving.addr).await;

    let first = event(
        OrderEventType::Placed,
        "evt-a",
        orders.next_sequence(),
        "order-a",
        "ada@example.com",
        vec![
            item("evil-lamp", "<script>alert(1)</script> lamp", 2, 10, 50),
            item("brass-desk-lamp", "Brass desk lamp", 1, 49, 0),
        ],
    );
    orders.push(first.clone());
    orders.push(event(
        OrderEventType::Failed,
        "evt-f",
        orders.next_sequence(),
        "order-f",
        "fay@example.com",
        vec![item("brass-desk-lamp", "Brass desk lamp", 1, 49, 0)],
    ));
    // The same event again, as a redelivery would bring it.
    let mut again = first.clone();
    again.sequence = orders.next_sequence();
    orders.push(again);
    orders.push(placed(&orders, "evt-b", "order-b"));

    // Events are handled in order: once order-b's email is there, all were handled.
    let messages = service.wait_for_messages(2).await;
    let (name, text) = messages
        .iter()
        .find(|(_, text)| text.contains("To: ada@example.com"))
        .expect("order-a's email");
    let email = mail::parse(text);
    assert_eq!(email.header("To"), "ada@example.com");
    assert_eq!(email.header("From"), "bazaar <orders@bazaar.localhost>");
    assert_eq!(email.header("Subject"), "Your bazaar order is confirmed");
    assert_eq!(email.header("MIME-Version"), "1.0");
    assert!(
        email.header("Date").ends_with(" +0000"),
        "{}",
        email.header("Date")
    );
    let id = NotificationId::for_event("evt-a", Channel::Email);
    assert_eq!(
        email.header("Message-ID"),
        format!("<{}@bazaar.localhost>", id.as_str())
    );
    assert!(name.contains(id.as_str()), "{name}");
    assert!(
        email
            .header("Content-Type")
            .starts_with("multipart/alternative;")
    );
    assert_eq!(email.parts.len(), 2);
    assert_eq!(email.parts[0].0, "text/plain; charset=utf-8");
    assert_eq!(email.parts[1].0, "text/html; charset=utf-8");

    let plain = email.part("text/plain");
    for expected in [
        "Order: order-a",
        "Tracking id: TRACK-order-a",
        "2 x <script>alert(1)</script> lamp (evil-lamp) at USD 10.50 each: USD 21.00",
        "1 x Brass desk lamp (brass-desk-lamp) at USD 49.00 each: USD 49.00",
        "Subtotal: USD 70.00",
        "Shipping: USD 5.00",
        "Total: USD 75.00",
        "Ada Lovelace",
        "12 St James's Square",
        "SW1Y 4JH London",
    ] {
        assert!(plain.contains(expected), "{expected:?} not in {plain}");
    }
    let html = email.part("text/html");
    assert!(!html.contains("<script>"), "{html}");
    for expected in [
        "&lt;script&gt;alert(1)&lt;/script&gt; lamp",
        "USD 75.00",
        "USD 21.00",
        "TRACK-order-a",
        "12 St James&#39;s Square",
    ] {
        assert!(html.contains(expected), "{expected:?} not in {html}");
    }

    let notifications = service.all_notifications("").await;
    let orders_notified: HashSet<_> = notifications.iter().map(|n| n.order_id.as_str()).collect();
    assert_eq!(orders_notified, HashSet::from(["order-a", "order-b"]));
    assert_eq!(notifications.len(), 2);
    let a = service.all_notifications("order-a").await;
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].id, id.as_str());
    assert_eq!(a[0].event_id, "evt-a");
    assert_eq!(a[0].recipient, "ada@example.com");
    assert_eq!(a[0].channel, NotificationChannel::Email as i32);
    assert!(service.all_notifications("order-f").await.is_empty());
    assert_eq!(
        std::fs::read_dir(service.maildir.join("tmp"))
            .unwrap()
            .count(),
        0
    );

    service.stop().await;
    serving.stop().await;
}

#[tokio::test]
async fn placed_orders_are_confirmed_once_on_sqlite() {
    placed_orders_are_confirmed_once(None).await;
}

#[tokio::test]
async fn placed_orders_are_confirmed_once_on_postgres() {
    on_postgres(
        "notification::placed_orders_are_confirmed_once_on_postgres",
        async |url| placed_orders_are_confirmed_once(Some(url)).await,
    )
    .await;
}

/// Started after orders produced events, it catches up exactly once; restarted on the same
/// store and Maildir, it resumes from its cursor and sends nothing twice.
async fn history_is_caught_up_and_restarts_resume(database_url: Option<String>) {
    let orders = OrdersDouble::default();
    orders.push(placed(&orders, "evt-1", "order-1"));
    orders.push(event(
        OrderEventType::Failed,
        "evt-2",
        orders.next_sequence(),
        "order-2",
        "bo@example.com",
        vec![item("brass-desk-lamp", "Brass desk lamp", 1, 49, 0)],
    ));
    orders.push(placed(&orders, "evt-3", "order-3"));
    orders.push(placed(&orders, "evt-4", "order-4"));
    let handled = orders.last_sequence();
    let serving = orders.serve(SocketAddr::from(ANY_PORT)).await;
    let dir = tempfile::tempdir().unwrap();

    let service = Running::start(dir.path(), database_url.clone(), serving.addr).await;
    service.wait_for_messages(3).await;
    service.stop().await;

    let first = orders.requests()[0].clone();
    assert_eq!(first.after_sequence, 0);
    // The stream is opened with a long deadline, not the 5 s default of outbound calls.
    let timeout = first.grpc_timeout.expect("a grpc-timeout");
    let (amount, unit) = timeout.split_at(timeout.len() - 1);
    let amount: u64 = amount.parse().unwrap();
    let seconds = match unit {
        "H" => amount * 3600,
        "M" => amount * 60,
        "S" => amount,
        "m" => amount / 1_000,
        "u" => amount / 1_000_000,
        _ => amount / 1_000_000_000,
    };
    assert!(seconds >= 3600, "grpc-timeout {timeout}");

    orders.push(placed(&orders, "evt-5", "order-5"));
    let streams_before = orders.requests().len();
    let service = Running::start(dir.path(), database_url, serving.addr).await;
    let messages = service.wait_for_messages(4).await;
    let resumed = &orders.requests()[streams_before];
    assert_eq!(resumed.after_sequence, handled, "resumes from its cursor");
    let notifications = service.all_notifications("").await;
    let events: HashSet<_> = notifications.iter().map(|n| n.event_id.as_str()).collect();
    assert_eq!(events, HashSet::from(["evt-1", "evt-3", "evt-4", "evt-5"]));
    assert_eq!(notifications.len(), 4);
    assert_eq!(messages.len(), 4);

    service.stop().await;
    serving.stop().await;
}

#[tokio::test]
async fn history_is_caught_up_and_restarts_resume_on_sqlite() {
    history_is_caught_up_and_restarts_resume(None).await;
}

#[tokio::test]
async fn history_is_caught_up_and_restarts_resume_on_postgres() {
    on_postgres(
        "notification::history_is_caught_up_and_restarts_resume_on_postgres",
        async |url| history_is_caught_up_and_restarts_resume(Some(url)).await,
    )
    .await;
}

/// A stream that ends and comes back replaying from the start (at-least-once delivery)
/// sends nothing twice.
async fn replays_send_nothing_twice(database_url: Option<String>) {
    let orders = OrdersDouble::default();
    let serving = orders.serve(SocketAddr::from(ANY_PORT)).await;
    let dir = tempfile::tempdir().unwrap();
    let service = Running::start(dir.path(), database_url, serving.addr).await;
    orders.push(placed(&orders, "evt-1", "order-1"));
    orders.push(placed(&orders, "evt-2", "order-2"));
    service.wait_for_messages(2).await;

    orders.replay_from_start(true);
    orders.end_streams();
    orders.wait_for_streams(2).await;
    orders.push(placed(&orders, "evt-3", "order-3"));
    service.wait_for_messages(3).await;
    assert_eq!(service.all_notifications("").await.len(), 3);

    service.stop().await;
    serving.stop().await;
}

#[tokio::test]
async fn replays_send_nothing_twice_on_sqlite() {
    replays_send_nothing_twice(None).await;
}

#[tokio::test]
async fn replays_send_nothing_twice_on_postgres() {
    on_postgres(
        "notification::replays_send_nothing_twice_on_postgres",
        async |url| replays_send_nothing_twice(Some(url)).await,
    )
    .await;
}

/// With orders down it starts and answers; when orders comes up, and again after orders
/// restarts, it catches up.
async fn orders_down_then_up(database_url: Option<String>) {
    let orders = OrdersDouble::default();
    orders.push(placed(&orders, "evt-1", "order-1"));
    orders.push(placed(&orders, "evt-2", "order-2"));
    let address = free_port();
    let dir = tempfile::tempdir().unwrap();
    // `start` waits for SERVING: orders is not needed for that.
    let service = Running::start(dir.path(), database_url, address).await;
    assert!(service.all_notifications("").await.is_empty());

    let serving = orders.serve(address).await;
    service.wait_for_messages(2).await;

    serving.stop().await;
    orders.push(placed(&orders, "evt-3", "order-3"));
    let serving = orders.serve(address).await;
    service.wait_for_messages(3).await;
    assert_eq!(service.all_notifications("").await.len(), 3);

    service.stop().await;
    serving.stop().await;
}

#[tokio::test]
async fn orders_down_then_up_on_sqlite() {
    orders_down_then_up(None).await;
}

#[tokio::test]
async fn orders_down_then_up_on_postgres() {
    on_postgres(
        "notification::orders_down_then_up_on_postgres",
        async |url| orders_down_then_up(Some(url)).await,
    )
    .await;
}

/// A crash after recording a notification but before its file was known to be written
/// leaves an undelivered row: the next start delivers it, once, and does not handle its
/// event again. One whose file a mail reader had already moved to `cur/` is not written
/// again.
async fn undelivered_notifications_are_delivered_after_a_crash(database_url: Option<String>) {
    let orders = OrdersDouble::default();
    let crashed = placed(&orders, "evt-1", "order-1");
    orders.push(crashed.clone());
    let read = placed(&orders, "evt-2", "order-2");
    orders.push(read.clone());
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path(), "127.0.0.1:1");
    config.database_url = database_url.map(Into::into);

    // What a crashed run left behind.
    let pool = chassis::store::open(&config.database_url(), &MIGRATIONS)
        .await
        .unwrap();
    let store = NotificationStore::new(pool.clone());
    let left_behind =
        |event: &bazaar_contract::orders::v1::OrderEvent, body: &str| NewNotification {
            record: NotificationRecord {
                id: NotificationId::for_event(&event.event_id, Channel::Email)
                    .as_str()
                    .to_owned(),
                order_id: event.order_id.clone(),
                user_id: "user-a".to_owned(),
                event_id: event.event_id.clone(),
                channel: Channel::Email.number(),
                recipient: "ada@example.com".to_owned(),
                subject: "Your bazaar order is confirmed".to_owned(),
                send_time_ms: 1_700_000_000_000,
            },
            message: format!("Subject: left behind\n\n{body}\n"),
        };
    let unwritten = left_behind(&crashed, "never written");
    assert!(store.record(&unwritten, crashed.sequence).await.unwrap());
    let moved = left_behind(&read, "already read");
    assert!(store.record(&moved, read.sequence).await.unwrap());
    pool.close().await;
    let maildir = config.maildir();
    Maildir::new(&maildir).create().unwrap();
    let moved_name = Maildir::file_name(&moved.record.id, moved.record.send_time_ms);
    std::fs::write(
        maildir.join("cur").join(format!("{moved_name}:2,S")),
        &moved.message,
    )
    .unwrap();

    orders.push(placed(&orders, "evt-3", "order-3"));
    let serving = orders.serve(SocketAddr::from(ANY_PORT)).await;
    config.orders_addr = serving.addr.to_string();
    let service = Running::start_with(config).await;
    let messages = service.wait_for_messages(2).await;
    let unwritten_name = Maildir::file_name(&unwritten.record.id, unwritten.record.send_time_ms);
    assert!(
        messages
            .iter()
            .any(|(name, text)| *name == unwritten_name && *text == unwritten.message),
        "{messages:?}"
    );
    assert!(messages.iter().all(|(name, _)| *name != moved_name));
    assert_eq!(std::fs::read_dir(maildir.join("cur")).unwrap().count(), 1);
    // The stream was resumed after the recorded events: they were not handled again.
    assert_eq!(orders.requests()[0].after_sequence, read.sequence);
    assert_eq!(service.all_notifications("").await.len(), 3);

    service.stop().await;
    serving.stop().await;
}

#[tokio::test]
async fn undelivered_notifications_are_delivered_after_a_crash_on_sqlite() {
    undelivered_notifications_are_delivered_after_a_crash(None).await;
}

#[tokio::test]
async fn undelivered_notifications_are_delivered_after_a_crash_on_postgres() {
    on_postgres(
        "notification::undelivered_notifications_are_delivered_after_a_crash_on_postgres",
        async |url| undelivered_notifications_are_delivered_after_a_crash(Some(url)).await,
    )
    .await;
}

/// Two replicas on one store and one Maildir, both following the same stream (as replicas
/// of notification run): each placed order is written into the Maildir once and whole. A
/// mail reader takes every message out of `new/` as soon as it arrives, as a delivery
/// agent would; it must never find a message twice, nor one that is not all there. (Two
/// replicas writing one message at once show as either within a few hundred orders.)
async fn two_replicas_confirm_each_order_once(database_url: Option<String>) {
    const ORDERS: usize = 500;
    let orders = OrdersDouble::default();
    let serving = orders.serve(SocketAddr::from(ANY_PORT)).await;
    let dir = tempfile::tempdir().unwrap();
    let one = Running::start(dir.path(), database_url.clone(), serving.addr).await;
    let two = Running::start(dir.path(), database_url, serving.addr).await;
    orders.wait_for_streams(2).await;
    let reader = mail::Reader::start(&one.maildir);

    for n in 0..ORDERS {
        orders.push(placed(&orders, &format!("evt-{n}"), &format!("order-{n}")));
    }
    let all_taken = chassis::testing::eventually(std::time::Duration::from_secs(30), async || {
        reader.taken() >= ORDERS
    })
    .await;
    assert!(all_taken, "the reader never found {ORDERS} messages");
    // A replica stops between two events: whatever it was writing is written.
    one.stop().await;
    two.stop().await;
    let taken = reader.stop();

    let mut names: Vec<&str> = taken.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(
        names.len(),
        taken.len(),
        "a message arrived twice: {names:?}"
    );
    assert_eq!(taken.len(), ORDERS, "{names:?}");
    for (name, text) in &taken {
        assert!(
            text.contains("Subject: Your bazaar order is confirmed")
                && text.trim_end().ends_with("--"),
            "{name} was not whole when the reader took it: {text:?}"
        );
    }
    serving.stop().await;
}

#[tokio::test]
async fn two_replicas_confirm_each_order_once_on_sqlite() {
    two_replicas_confirm_each_order_once(None).await;
}

#[tokio::test]
async fn two_replicas_confirm_each_order_once_on_postgres() {
    on_postgres(
        "notification::two_replicas_confirm_each_order_once_on_postgres",
        async |url| two_replicas_confirm_each_order_once(Some(url)).await,
    )
    .await;
}
