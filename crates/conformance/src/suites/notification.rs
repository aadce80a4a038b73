//! Notification: the record of messages sent, each shopper's own. With identity (for a
//! guest's token), the suite checks the listing and lookup contract; given a shop to place
//! an order in (orders, identity, catalog, cart, inventory and an admin), it checks that a
//! placed order brings exactly one confirmation email to the order's address, which its
//! shopper sees and another does not.

use bazaar_contract::notification::v1::notification_service_client::NotificationServiceClient;
use bazaar_contract::notification::v1::*;
use bazaar_contract::orders::v1::Order;
use tonic::Code;
use tonic::transport::Channel;

use super::{instant, pause, show_none};
use crate::check::{Checked, fail, invalid, ok, refused};
use crate::pages::walk;
use crate::shopper::{admin_token, guest, placed_order, products};
use crate::target::{Target, authorized, unique};
use crate::{Runner, ensure};

type Client = NotificationServiceClient<Channel>;

/// Runs every notification check.
pub async fn run(target: &Target, r: &mut Runner<'_>) {
    let c = NotificationServiceClient::new(target.own());
    r.check(
        "ListNotifications and GetNotification without a token are UNAUTHENTICATED",
        without_token(c.clone()),
    )
    .await;
    r.check(
        "ListNotifications: negative page_size or bad page_token is INVALID_ARGUMENT",
        list_invalid(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "ListNotifications of an order with none is empty",
        none_for_unknown_order(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "GetNotification: empty id INVALID_ARGUMENT, unknown id NOT_FOUND",
        get_errors(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "a placed order brings exactly one confirmation email to the order's address",
        confirmation(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "ListNotifications lists newest first, in pages; a token is bound to its order_id",
        list_paged(c.clone(), target.clone()),
    )
    .await;
}

async fn without_token(mut c: Client) -> Checked {
    refused(
        c.list_notifications(ListNotificationsRequest::default())
            .await,
        Code::Unauthenticated,
        "ListNotifications(no token)",
    )?;
    refused(
        c.get_notification(GetNotificationRequest {
            notification_id: unique("no-such-notification"),
        })
        .await,
        Code::Unauthenticated,
        "GetNotification(no token)",
    )?;
    Ok(())
}

async fn list_invalid(mut c: Client, target: Target) -> Checked {
    let guest = guest(&target).await?;
    let token = guest.token();
    invalid(
        c.list_notifications(authorized(
            token,
            ListNotificationsRequest {
                page_size: -1,
                ..Default::default()
            },
        ))
        .await,
        "page_size",
        "ListNotifications(page_size -1)",
    )?;
    invalid(
        c.list_notifications(authorized(
            token,
            ListNotificationsRequest {
                page_token: "garbage".into(),
                ..Default::default()
            },
        ))
        .await,
        "page_token",
        "ListNotifications(page_token \"garbage\")",
    )?;
    let page = ok(
        c.list_notifications(authorized(token, ListNotificationsRequest::default()))
            .await,
        "ListNotifications(page_size 0)",
    )?;
    ensure!(
        page.notifications.len() <= 20,
        "page_size 0 gave {} notifications, more than the default 20",
        page.notifications.len()
    );
    let page = ok(
        c.list_notifications(authorized(
            token,
            ListNotificationsRequest {
                page_size: 100_000,
                ..Default::default()
            },
        ))
        .await,
        "ListNotifications(page_size 100000)",
    )?;
    ensure!(
        page.notifications.len() <= 100,
        "page_size 100000 gave {} notifications, more than 100",
        page.notifications.len()
    );
    Ok(())
}

async fn none_for_unknown_order(mut c: Client, target: Target) -> Checked {
    let guest = guest(&target).await?;
    let page = ok(
        c.list_notifications(authorized(
            guest.token(),
            ListNotificationsRequest {
                order_id: unique("no-such-order"),
                ..Default::default()
            },
        ))
        .await,
        "ListNotifications(unknown order)",
    )?;
    ensure!(
        page.notifications.is_empty() && page.next_page_token.is_empty(),
        "an order with no notifications lists {}",
        page.notifications.len()
    );
    Ok(())
}

async fn get_errors(mut c: Client, target: Target) -> Checked {
    let guest = guest(&target).await?;
    let token = guest.token();
    invalid(
        c.get_notification(authorized(token, GetNotificationRequest::default()))
            .await,
        "notification_id",
        "GetNotification(\"\")",
    )?;
    refused(
        c.get_notification(authorized(
            token,
            GetNotificationRequest {
                notification_id: unique("no-such-notification"),
            },
        ))
        .await,
        Code::NotFound,
        "GetNotification(unknown)",
    )?;
    Ok(())
}

/// The first page of the notifications of `order`, as ListNotifications answers the caller
/// of `token` now.
async fn of_order_page(
    c: &mut Client,
    token: &str,
    order: &Order,
) -> Checked<ListNotificationsResponse> {
    ok(
        c.list_notifications(authorized(
            token,
            ListNotificationsRequest {
                order_id: order.id.clone(),
                ..Default::default()
            },
        ))
        .await,
        "ListNotifications(order)",
    )
}

/// The notifications of `order` the caller of `token` sees, once there is at least one
/// (polled for up to 30 s).
async fn of_order(c: &mut Client, token: &str, order: &Order) -> Checked<Vec<Notification>> {
    for _ in 0..300 {
        let page = of_order_page(c, token, order).await?;
        if !page.notifications.is_empty() {
            return Ok(page.notifications);
        }
        pause(100).await;
    }
    fail(format!(
        "30 s after order {} was placed, no notification lists it",
        order.id
    ))
}

async fn confirmation(mut c: Client, target: Target) -> Checked {
    let product = products(&target, 1).await?.remove(0);
    let (buyer, order) = placed_order(&target, &[&product.id], 1).await?;
    let token = buyer.token();
    let found = of_order(&mut c, token, &order).await?;
    ensure!(
        found.len() == 1,
        "order {} has {} notifications, expected one confirmation",
        order.id,
        found.len()
    );
    let n = &found[0];
    ensure!(
        n.channel() == NotificationChannel::Email,
        "the confirmation went by {:?}",
        n.channel()
    );
    ensure!(
        n.recipient == order.email,
        "the confirmation went to {:?}, the order's email is {:?}",
        n.recipient,
        order.email
    );
    ensure!(
        (1..=200).contains(&n.subject.chars().count()),
        "the subject has {} characters",
        n.subject.chars().count()
    );
    ensure!(
        (1..=64).contains(&n.id.len()) && !n.event_id.is_empty() && n.send_time.is_some(),
        "the notification lacks an id, event_id or send_time: {n:?}"
    );
    let got = ok(
        c.get_notification(authorized(
            token,
            GetNotificationRequest {
                notification_id: n.id.clone(),
            },
        ))
        .await,
        "GetNotification",
    )?
    .notification;
    ensure!(
        got.as_ref() == Some(n),
        "GetNotification differs from the listing: {}",
        show_none(&got)
    );
    // Another shopper sees nothing of it.
    let stranger = guest(&target).await?;
    let theirs = of_order_page(&mut c, stranger.token(), &order).await?;
    ensure!(
        theirs.notifications.is_empty(),
        "another shopper lists {} notifications of order {}",
        theirs.notifications.len(),
        order.id
    );
    refused(
        c.get_notification(authorized(
            stranger.token(),
            GetNotificationRequest {
                notification_id: n.id.clone(),
            },
        ))
        .await,
        Code::NotFound,
        "GetNotification(another shopper's)",
    )?;
    pause(1_000).await;
    let later = of_order_page(&mut c, token, &order).await?;
    ensure!(
        later.notifications.len() == 1,
        "a second later, order {} has {} notifications",
        order.id,
        later.notifications.len()
    );
    Ok(())
}

async fn list_paged(c: Client, target: Target) -> Checked {
    let admin = admin_token(&target).await?;
    let token = admin.as_str();
    let product = products(&target, 1).await?.remove(0);
    let (_, first) = placed_order(&target, &[&product.id], 1).await?;
    let (_, second) = placed_order(&target, &[&product.id], 1).await?;
    let mut client = c.clone();
    of_order(&mut client, token, &first).await?;
    of_order(&mut client, token, &second).await?;
    let page = ok(
        client
            .list_notifications(authorized(
                token,
                ListNotificationsRequest {
                    page_size: 2,
                    ..Default::default()
                },
            ))
            .await,
        "ListNotifications(page_size 2)",
    )?;
    ensure!(
        page.notifications.len() <= 2,
        "page_size 2 gave {}",
        page.notifications.len()
    );
    let one = ok(
        client
            .list_notifications(authorized(
                token,
                ListNotificationsRequest {
                    page_size: 1,
                    ..Default::default()
                },
            ))
            .await,
        "ListNotifications(page_size 1)",
    )?;
    let two = ok(
        client
            .list_notifications(authorized(
                token,
                ListNotificationsRequest {
                    page_size: 1,
                    page_token: one.next_page_token.clone(),
                    ..Default::default()
                },
            ))
            .await,
        "ListNotifications(page_size 1, second page)",
    )?;
    let stepped: Vec<&String> = one
        .notifications
        .iter()
        .chain(&two.notifications)
        .map(|n| &n.id)
        .collect();
    let at_once: Vec<&String> = page.notifications.iter().map(|n| &n.id).collect();
    ensure!(
        stepped == at_once,
        "two pages of 1 list {stepped:?}, one page of 2 lists {at_once:?}"
    );
    let listed = walk(100, |page_token| {
        let mut c = c.clone();
        async move {
            let page = ok(
                c.list_notifications(authorized(
                    token,
                    ListNotificationsRequest {
                        page_size: 100,
                        page_token,
                        ..Default::default()
                    },
                ))
                .await,
                "ListNotifications(page_size 100)",
            )?;
            Ok((page.notifications, page.next_page_token))
        }
    })
    .await?;
    let times: Vec<(i64, i32)> = listed
        .iter()
        .map(|n| instant(n.send_time.as_ref()))
        .collect();
    ensure!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "ListNotifications is not newest first by send_time"
    );
    for order in [&first, &second] {
        ensure!(
            listed.iter().filter(|n| n.order_id == order.id).count() == 1,
            "the whole listing does not hold order {}'s confirmation exactly once",
            order.id
        );
    }
    if !page.next_page_token.is_empty() {
        invalid(
            client
                .list_notifications(authorized(
                    token,
                    ListNotificationsRequest {
                        page_size: 2,
                        page_token: page.next_page_token,
                        order_id: first.id.clone(),
                    },
                ))
                .await,
            "page_token",
            "ListNotifications(token of the unfiltered listing, with order_id)",
        )?;
    }
    Ok(())
}
