//! Stock arithmetic and the states of a reservation, with expiry read off the clock.

use super::Line;

/// What the store counts for one product.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StockCounts {
    /// Units ever restocked.
    pub received: i64,
    /// Units held by reservations marked ACTIVE, including those past expiry.
    pub reserved: i64,
    /// Units of committed reservations.
    pub sold: i64,
    /// Units of reservations marked ACTIVE whose expiry has passed.
    pub overdue: i64,
}

/// Stock as the contract shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StockLevel {
    pub product_id: String,
    /// Units that can be reserved.
    pub available: i64,
    /// Units held by ACTIVE, unexpired reservations.
    pub reserved: i64,
}

impl StockCounts {
    /// The level these counts mean: overdue reservations no longer hold anything. The
    /// store's constraints keep every term consistent; `max(0)` only guards the display.
    pub fn level(&self, product_id: &str) -> StockLevel {
        let reserved = (self.reserved - self.overdue).max(0);
        StockLevel {
            product_id: product_id.to_owned(),
            available: (self.received - self.sold - reserved).max(0),
            reserved,
        }
    }
}

/// A line that could not be reserved.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shortage {
    pub product_id: String,
    /// Units asked for.
    pub requested: i64,
    /// Units available at the time.
    pub available: i64,
}

/// The state of a reservation; the numbers are the proto's and the store's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReservationState {
    /// Holding units until its expiry.
    Active = 1,
    /// Sold.
    Committed = 2,
    /// Given back before expiry.
    Released = 3,
    /// Reached its expiry while active.
    Expired = 4,
}

impl ReservationState {
    /// The state stored as `code`.
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            1 => Some(Self::Active),
            2 => Some(Self::Committed),
            3 => Some(Self::Released),
            4 => Some(Self::Expired),
            _ => None,
        }
    }

    /// The stored (and proto) number.
    pub fn code(self) -> i64 {
        self as i64
    }
}

/// A reservation as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    pub id: String,
    /// Its lines, in the order they were requested.
    pub lines: Vec<Line>,
    /// Its state as stored.
    pub state: ReservationState,
    /// The caller's reference.
    pub reference: String,
    /// When it was made, ms since the epoch.
    pub create_ms: i64,
    /// When it expires (or expired), ms since the epoch.
    pub expire_ms: i64,
    /// When its state last changed, ms since the epoch.
    pub update_ms: i64,
}

impl Reservation {
    /// The reservation as it is at `now_ms`: an ACTIVE one past its expiry is EXPIRED
    /// (changed at its expiry time) even if the store has not marked it yet.
    pub fn as_of(mut self, now_ms: i64) -> Self {
        if self.state == ReservationState::Active && self.expire_ms <= now_ms {
            self.state = ReservationState::Expired;
            self.update_ms = self.expire_ms;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overdue_reservations_hold_nothing() {
        let counts = StockCounts {
            received: 10,
            reserved: 6,
            sold: 2,
            overdue: 4,
        };
        let level = counts.level("a");
        assert_eq!((level.available, level.reserved), (6, 2));
    }

    #[test]
    fn an_active_reservation_past_expiry_reads_as_expired() {
        let reservation = Reservation {
            id: "r".into(),
            lines: Vec::new(),
            state: ReservationState::Active,
            reference: String::new(),
            create_ms: 100,
            expire_ms: 200,
            update_ms: 100,
        };
        assert_eq!(
            reservation.clone().as_of(199).state,
            ReservationState::Active
        );
        let expired = reservation.as_of(200);
        assert_eq!(expired.state, ReservationState::Expired);
        assert_eq!(expired.update_ms, 200);
    }
}
