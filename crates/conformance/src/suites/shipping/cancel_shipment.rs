//! CancelShipment and GetShipment: cancelling once and idempotently frees the order to
//! ship again; empty and unknown ids refused.

use bazaar_contract::shipping::v1::*;
use tonic::Code;

use super::{Client, create_request, created};
use crate::check::{Checked, invalid, ok, refused};
use crate::ensure;
use crate::target::unique;

pub(super) async fn cancel(mut c: Client) -> Checked {
    let order = unique("order");
    let shipment = created(&mut c, create_request(&order, &[("lamp", 1)])).await?;
    let cancelled = ok(
        c.cancel_shipment(CancelShipmentRequest {
            shipment_id: shipment.id.clone(),
        })
        .await,
        "CancelShipment",
    )?
    .shipment
    .unwrap_or_default();
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
    let again = ok(
        c.cancel_shipment(CancelShipmentRequest {
            shipment_id: shipment.id.clone(),
        })
        .await,
        "CancelShipment again",
    )?
    .shipment
    .unwrap_or_default();
    ensure!(
        again == cancelled,
        "cancelling again changed the shipment: {again:?}"
    );
    let got = ok(
        c.get_shipment(GetShipmentRequest {
            shipment_id: shipment.id.clone(),
        })
        .await,
        "GetShipment",
    )?
    .shipment;
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
