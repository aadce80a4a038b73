//! A Charge call's hold on its `request_id`: claimed by a unique insert, then finished
//! (SUCCEEDED or DECLINED) or released (nothing recorded). A claim older than the lease
//! belongs to a call that died and is taken over by the next retry; each holder proves
//! ownership with the claim time it wrote, so a slow former holder changes nothing.

use sqlx::Row;

use super::{
    CLAIMED, COLUMNS, ChargeRecord, ChargeStore, DECLINED, REFUNDED, SUCCEEDED, record_from_row,
};
use crate::domain::{Amount, CardBrand, DeclineReason, brand};
use crate::error::PaymentError;

/// How many times a claim is retried when its conflicting row vanishes under it.
const CLAIM_ATTEMPTS: usize = 3;

/// What a Charge call claims before it asks the card network.
#[derive(Debug)]
pub struct NewClaim<'a> {
    /// The id the charge will have.
    pub charge_id: &'a str,
    /// The call's `request_id`.
    pub request_id: &'a str,
    /// Its parameters' fingerprint.
    pub fingerprint: &'a [u8],
    /// The order it pays for; an order is charged successfully at most once.
    pub order_id: &'a str,
    pub amount: &'a Amount,
    /// Read from the number's first digits; only the brand and the last four digits are
    /// stored, never the number.
    pub card_brand: CardBrand,
    /// The card's last four digits.
    pub card_last4: &'a str,
}

/// The outcome of [`ChargeStore::claim`].
#[derive(Debug)]
pub enum Claim {
    /// This call owns the request id: it must [`ChargeStore::finish`] or
    /// [`ChargeStore::release`] the charge `charge_id` with `token`.
    Won {
        /// The charge claimed (a new one, or the one of a call that died).
        charge_id: String,
        /// Proof of ownership: the claim time written.
        token: i64,
    },
    /// Another call with this request id is running.
    InFlight,
    /// The request id was used with other parameters.
    Reused,
    /// A call with this request id and these parameters finished: its charge.
    Done(ChargeRecord),
}

/// How a claimed charge ends up in the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settlement {
    /// Charged.
    Succeeded,
    /// Declined, for this reason.
    Declined(DeclineReason),
}

/// The outcome of [`ChargeStore::finish`].
#[derive(Debug)]
pub enum Finished {
    /// The charge, as recorded.
    Recorded(ChargeRecord),
    /// Another charge of the same order succeeded first: nothing was recorded.
    OrderAlreadyCharged,
    /// The claim was taken over (this call was slower than the lease): nothing written.
    ClaimLost,
}

impl ChargeStore {
    /// Claims `claim.request_id` for this call. A claim older than `lease_ms` belongs to
    /// a call that died: it is taken over.
    pub async fn claim(
        &self,
        claim: &NewClaim<'_>,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Claim, PaymentError> {
        for _ in 0..CLAIM_ATTEMPTS {
            let inserted = sqlx::query(
                "INSERT INTO charges (id, request_id, fingerprint, order_id, currency_code, \
                 units, nanos, status, card_brand, card_last4, decline_reason, \
                 create_time_ms, refund_time_ms, claimed_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, 0, $11) \
                 ON CONFLICT (request_id) DO NOTHING",
            )
            .bind(claim.charge_id)
            .bind(claim.request_id)
            .bind(claim.fingerprint.to_vec())
            .bind(claim.order_id)
            .bind(claim.amount.currency_code())
            .bind(claim.amount.units())
            .bind(i64::from(claim.amount.nanos()))
            .bind(CLAIMED)
            .bind(brand::code(claim.card_brand))
            .bind(claim.card_last4)
            .bind(now_ms)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if inserted == 1 {
                return Ok(Claim::Won {
                    charge_id: claim.charge_id.to_owned(),
                    token: now_ms,
                });
            }
            let row = sqlx::query(&format!(
                "SELECT {COLUMNS}, fingerprint, claimed_at_ms FROM charges WHERE request_id = $1"
            ))
            .bind(claim.request_id)
            .fetch_optional(&self.pool)
            .await?;
            // Released between our insert and our read: try again.
            let Some(row) = row else { continue };
            let fingerprint: Vec<u8> = row.try_get("fingerprint")?;
            if fingerprint != claim.fingerprint {
                return Ok(Claim::Reused);
            }
            let status: i64 = row.try_get("status")?;
            if status != CLAIMED {
                return Ok(Claim::Done(record_from_row(&row)?));
            }
            let claimed_at: i64 = row.try_get("claimed_at_ms")?;
            if claimed_at.saturating_add(lease_ms.max(1)) > now_ms {
                return Ok(Claim::InFlight);
            }
            // The token must change, or two takers could hold the same one.
            let token = now_ms.max(claimed_at + 1);
            let charge_id: String = row.try_get("id")?;
            let taken = sqlx::query(
                "UPDATE charges SET claimed_at_ms = $1 \
                 WHERE id = $2 AND status = $3 AND claimed_at_ms = $4",
            )
            .bind(token)
            .bind(&charge_id)
            .bind(CLAIMED)
            .bind(claimed_at)
            .execute(&self.pool)
            .await?
            .rows_affected();
            return Ok(if taken == 1 {
                tracing::warn!(charge_id, "took over a charge whose call did not finish");
                Claim::Won { charge_id, token }
            } else {
                Claim::InFlight
            });
        }
        Ok(Claim::InFlight)
    }

    /// Records the outcome of a claimed charge, attempted at `now_ms`.
    pub async fn finish(
        &self,
        charge_id: &str,
        token: i64,
        settlement: Settlement,
        now_ms: i64,
    ) -> Result<Finished, PaymentError> {
        let (status, reason) = match settlement {
            Settlement::Succeeded => (SUCCEEDED, 0),
            Settlement::Declined(reason) => (DECLINED, reason.code()),
        };
        let updated = sqlx::query(
            "UPDATE charges SET status = $1, decline_reason = $2, create_time_ms = $3 \
             WHERE id = $4 AND status = $5 AND claimed_at_ms = $6",
        )
        .bind(status)
        .bind(reason)
        .bind(now_ms)
        .bind(charge_id)
        .bind(CLAIMED)
        .bind(token)
        .execute(&self.pool)
        .await;
        match updated {
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                return Ok(Finished::OrderAlreadyCharged);
            }
            Err(error) => return Err(error.into()),
            Ok(done) if done.rows_affected() == 0 => return Ok(Finished::ClaimLost),
            Ok(_) => {}
        }
        match self.get(charge_id).await? {
            Some(record) => Ok(Finished::Recorded(record)),
            None => Err(PaymentError::Corrupt(format!(
                "charge {charge_id} vanished after it was recorded"
            ))),
        }
    }

    /// Gives a claim up: nothing of the call is recorded.
    pub async fn release(&self, charge_id: &str, token: i64) -> Result<(), PaymentError> {
        sqlx::query("DELETE FROM charges WHERE id = $1 AND status = $2 AND claimed_at_ms = $3")
            .bind(charge_id)
            .bind(CLAIMED)
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The SUCCEEDED or REFUNDED charge of an order, if it has one.
    pub async fn paid_charge_of(&self, order_id: &str) -> Result<Option<String>, PaymentError> {
        let row = sqlx::query(
            "SELECT id FROM charges WHERE order_id = $1 AND status IN ($2, $3) LIMIT 1",
        )
        .bind(order_id)
        .bind(SUCCEEDED)
        .bind(REFUNDED)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| row.try_get("id")).transpose()?)
    }
}
