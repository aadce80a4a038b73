//! CancelShipment and GetShipment: cancelling once and idempotently frees the order to
//! ship again; empty and unknown ids refused.

use bazaar_contract::shipping::v1::*;
use tonic::Code;

use super::{Client, create_request, created, get_shipment};
use crate::check::{Checked, invalid, ok, refused};
use crate::ensure;
use crate::target::unique;

pub(super) async fn cancel(mut c: Client) -> Checked {
    let order = unique("order");
    let shipment = created(&mut c, create_request(&order, &[("lamp", 1)])).await?;
    let cancelled = cancel_ok(&mut c, &shipment.id, "CancelShipment").await?;
    ensure!(
        cancelled.state() == ShipmentState::Cancelled,
        "a cancelled shipment is {:?}",
        cancelled.state()
    );
    ensure!(
        cancelled.tracking_id == shipment.tracking_id
            && cancelled.create_time == shipment.create_time,
        "cancelling changed the tracking id or create_time"
    );
    let again = cancel_ok(&mut c, &shipment.id, "CancelShipment again").await?;
    ensure!(
        again == cancelled,
        "cancelling again changed the shipment: {again:?}"
    );
    let got = get_shipment(&mut c, &shipment.id).await?;
    ensure!(
        got.as_ref() == Some(&cancelled),
        "GetShipment differs from CancelShipment: {got:?}"
    );
    let next = created(&mut c, create_request(&order, &[("lamp", 1)])).await?;
    ensure!(
        next.id != shipment.id && next.state() == ShipmentState::Created,
        "after a cancel, a new shipment of the order was not created: {next:?}"
    );
    Ok(())
}

pub(super) async fn shipment_errors(mut c: Client) -> Checked {
    invalid(
        c.get_shipment(GetShipmentRequest::default()).await,
        "shipment_id",
        "GetShipment(\"\")",
    )?;
    invalid(
        c.cancel_shipment(CancelShipmentRequest::default()).await,
        "shipment_id",
        "CancelShipment(\"\")",
    )?;
    refused(
        c.get_shipment(GetShipmentRequest {
            shipment_id: unique("no-such-shipment"),
        })
        .await,
        Code::NotFound,
        "GetShipment(unknown)",
    )?;
    refused(
        c.cancel_shipment(CancelShipmentRequest {
            shipment_id: unique("no-such-shipment"),
        })
        .await,
        Code::NotFound,
        "CancelShipment(unknown)",
    )?;
    Ok(())
}

/// Cancels shipment `id` and returns it as the answer carries it.
async fn cancel_ok(c: &mut Client, id: &str, call: &str) -> Checked<Shipment> {
    Ok(ok(
        c.cancel_shipment(CancelShipmentRequest {
            shipment_id: id.to_owned(),
        })
        .await,
        call,
    )?
    .shipment
    .unwrap_or_default())
}
