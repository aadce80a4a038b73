//! Claims on PlaceOrder request ids: per caller, first come first served, bound to the
//! order once it is recorded.

use sqlx::Row;

use super::OrdersStore;

/// What a PlaceOrder call finds when it claims its request id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The id is new (or an abandoned claim was taken over): this call does the checkout.
    Claimed,
    /// The id already has an order.
    Order {
        /// The fingerprint of the first call's parameters.
        fingerprint: String,
        /// The order the first call recorded, which a retry is answered with.
        order_id: String,
    },
    /// Another call with this id is still pricing the cart.
    InProgress {
        /// The fingerprint of that call's parameters.
        fingerprint: String,
    },
}

impl OrdersStore {
    /// Claims `request_id` of `user_id` for a new checkout until `claim_until_ms`, or says
    /// what already holds it. A claim whose call died (past its time, no order) is taken
    /// over.
    pub async fn claim_request(
        &self,
        user_id: &str,
        request_id: &str,
        fingerprint: &str,
        now_ms: i64,
        claim_until_ms: i64,
    ) -> Result<Claim, sqlx::Error> {
        let inserted = sqlx::query(
            "INSERT INTO checkout_requests (user_id, request_id, fingerprint, order_id, \
             claimed_until_ms) VALUES ($1, $2, $3, '', $4) ON CONFLICT DO NOTHING",
        )
        .bind(user_id)
        .bind(request_id)
        .bind(fingerprint)
        .bind(claim_until_ms)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(Claim::Claimed);
        }
        let row = sqlx::query(
            "SELECT fingerprint, order_id, claimed_until_ms FROM checkout_requests \
             WHERE user_id = $1 AND request_id = $2",
        )
        .bind(user_id)
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            // Released between our insert and our read: the id is free again.
            return Box::pin(self.claim_request(
                user_id,
                request_id,
                fingerprint,
                now_ms,
                claim_until_ms,
            ))
            .await;
        };
        let existing: String = row.try_get("fingerprint")?;
        let order_id: String = row.try_get("order_id")?;
        let claimed_until: i64 = row.try_get("claimed_until_ms")?;
        if !order_id.is_empty() {
            return Ok(Claim::Order {
                fingerprint: existing,
                order_id,
            });
        }
        if claimed_until >= now_ms {
            return Ok(Claim::InProgress {
                fingerprint: existing,
            });
        }
        let taken = sqlx::query(
            "UPDATE checkout_requests SET fingerprint = $1, claimed_until_ms = $2 \
             WHERE user_id = $3 AND request_id = $4 AND order_id = '' AND claimed_until_ms = $5",
        )
        .bind(fingerprint)
        .bind(claim_until_ms)
        .bind(user_id)
        .bind(request_id)
        .bind(claimed_until)
        .execute(&self.pool)
        .await?;
        Ok(if taken.rows_affected() == 1 {
            Claim::Claimed
        } else {
            Claim::InProgress {
                fingerprint: existing,
            }
        })
    }

    /// Gives up a claim that produced no order (the checkout failed before recording it).
    pub async fn release_claim(&self, user_id: &str, request_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "DELETE FROM checkout_requests WHERE user_id = $1 AND request_id = $2 \
             AND order_id = ''",
        )
        .bind(user_id)
        .bind(request_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
