//! StreamOrderEvents: one final event per order, in sequence order, resumable after any
//! sequence number.

use std::time::Duration;

use bazaar_contract::orders::v1::*;

use super::Client;
use crate::check::{Checked, fail, invalid, ok};
use crate::ensure;
use crate::shopper::{
    DECLINED_CARD, add_to_cart, order_request, place_order, placed_order, products,
};
use crate::target::Target;

/// Reads the stream from `after` until `wanted` says stop, or fails after `limit`.
async fn read_events(
    c: &mut Client,
    after: i64,
    limit: Duration,
    mut wanted: impl FnMut(&OrderEvent) -> bool,
) -> Checked<Vec<OrderEvent>> {
    let mut stream = ok(
        c.stream_order_events(StreamOrderEventsRequest {
            after_sequence: after,
        })
        .await,
        "StreamOrderEvents",
    )?;
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let next = tokio::time::timeout_at(deadline, stream.message()).await;
        match next {
            Err(_) => {
                return fail(format!(
                    "the stream did not deliver the expected events within {} s ({} read)",
                    limit.as_secs(),
                    seen.len()
                ));
            }
            Ok(Err(status)) => {
                return fail(format!(
                    "the stream failed: {}",
                    crate::check::describe(&status)
                ));
            }
            Ok(Ok(None)) => return fail("the stream ended before the expected events"),
            Ok(Ok(Some(message))) => {
                let Some(event) = message.event else {
                    return fail("a stream message carries no event");
                };
                let stop = wanted(&event);
                seen.push(event);
                if stop {
                    return Ok(seen);
                }
            }
        }
    }
}

pub(super) async fn events(mut c: Client, target: Target) -> Checked {
    invalid(
        c.stream_order_events(StreamOrderEventsRequest { after_sequence: -1 })
            .await
            .map(|r| r.map(|_| ())),
        "after_sequence",
        "StreamOrderEvents(after_sequence -1)",
    )?;
    let product = products(&target, 1).await?.remove(0);
    let (buyer, placed) = placed_order(&target, &[&product.id], 1).await?;
    add_to_cart(&target, &buyer, &product.id, 1).await?;
    let failed = place_order(&target, &buyer, order_request(DECLINED_CARD, "USD")).await?;
    ensure!(
        failed.state() == OrderState::Failed,
        "a checkout with a declined card ended {:?}",
        failed.state()
    );
    let mut found_placed = None;
    let mut found_failed = None;
    let seen = read_events(&mut c, 0, Duration::from_secs(30), |e| {
        if e.order_id == placed.id {
            found_placed.get_or_insert_with(|| e.clone());
        }
        if e.order_id == failed.id {
            found_failed.get_or_insert_with(|| e.clone());
        }
        found_placed.is_some() && found_failed.is_some()
    })
    .await?;
    let sequences: Vec<i64> = seen.iter().map(|e| e.sequence).collect();
    ensure!(
        sequences.windows(2).all(|w| w[0] < w[1]) && sequences.first().is_some_and(|s| *s >= 1),
        "sequences are not strictly increasing from 1 or more: {:?}",
        &sequences[..sequences.len().min(20)]
    );
    for (event, order, kind, state) in [
        (
            &found_placed,
            &placed,
            OrderEventType::Placed,
            OrderState::Placed,
        ),
        (
            &found_failed,
            &failed,
            OrderEventType::Failed,
            OrderState::Failed,
        ),
    ] {
        let Some(event) = event else {
            return fail("an order's event was not found");
        };
        ensure!(
            event.r#type() == kind,
            "the first event of order {} is {:?}, expected {kind:?}",
            order.id,
            event.r#type()
        );
        ensure!(
            event.order.as_ref().map(Order::state) == Some(state),
            "the {kind:?} event carries the order in state {:?}",
            event.order.as_ref().map(Order::state)
        );
        ensure!(
            (1..=64).contains(&event.event_id.len()),
            "event id of {} characters",
            event.event_id.len()
        );
        let finals = seen.iter().filter(|e| e.order_id == order.id).count();
        ensure!(
            finals == 1,
            "order {} has {finals} final events in one stream",
            order.id
        );
    }
    let Some(target_event) = found_placed else {
        return fail("the placed order's event was not found");
    };
    let resumed = read_events(
        &mut c,
        target_event.sequence - 1,
        Duration::from_secs(10),
        |_| true,
    )
    .await?;
    ensure!(
        resumed[0].event_id == target_event.event_id,
        "resuming after sequence {} delivered {} (sequence {}), not the event with sequence {}",
        target_event.sequence - 1,
        resumed[0].event_id,
        resumed[0].sequence,
        target_event.sequence
    );
    let later = read_events(
        &mut c,
        target_event.sequence,
        Duration::from_secs(10),
        |_| true,
    )
    .await?;
    ensure!(
        later[0].sequence > target_event.sequence,
        "resuming after sequence {} delivered sequence {}",
        target_event.sequence,
        later[0].sequence
    );
    Ok(())
}
