//! The notification's rules, as types, with no I/O.
//!
//! An order event becomes a [`Confirmation`] here, once: the recipient is a
//! [`EmailAddress`] that is safe to put in a header (no line breaks, nothing that could add
//! a header or a second recipient), the amounts are the contract's exact [`Money`]. Ids of notifications
//! are derived from the event they answer ([`NotificationId::for_event`]), so the same event
//! always maps to the same notification and the same Maildir file name.

use bazaar_contract::orders::v1::{OrderEvent, OrderItem};
use bazaar_contract::values::{Money, ValueError, lookup_id};
use sha2::{Digest, Sha256};

/// The sender used unless configured otherwise.
pub const DEFAULT_MAIL_FROM: &str = "bazaar <orders@bazaar.localhost>";
/// The subject of an order confirmation.
pub const CONFIRMATION_SUBJECT: &str = "Your bazaar order is confirmed";
/// Longest email address accepted, in bytes (RFC 5321 path limit).
const MAX_EMAIL: usize = 254;

/// How a notification reaches the shopper; the numbers are those of the contract's
/// `NotificationChannel`, and what the store keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// An email message.
    Email = 1,
}

impl Channel {
    /// The stored and wire number.
    pub fn number(self) -> i64 {
        self as i64
    }
}

/// The id of a notification: 32 hex digits of SHA-256 over the channel and the event id,
/// so a redelivered event maps to the same notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationId(String);

impl NotificationId {
    /// The id of the notification sent on `channel` for event `event_id`.
    pub fn for_event(event_id: &str, channel: Channel) -> Self {
        let mut hash = Sha256::new();
        hash.update(channel.number().to_be_bytes());
        hash.update(event_id.as_bytes());
        let digest = hash.finalize();
        Self(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Parses the `notification_id` of a request: any non-empty text (an unknown one is
    /// simply not found).
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        lookup_id(text).map(Self)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A mailbox for the `From` header: `Name <local@domain>` or `local@domain`, printable
/// ASCII only, so it can never break the header it is written into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailFrom {
    mailbox: String,
    domain: String,
}

impl MailFrom {
    /// Parses a configured sender; the error says why, for the command line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || !text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err("must be printable ASCII, like `bazaar <orders@example.com>`".to_owned());
        }
        let address = match text.split_once('<') {
            Some((_, rest)) => rest
                .strip_suffix('>')
                .filter(|a| !a.contains(['<', '>']))
                .ok_or("must end with `<address>`")?,
            None => text,
        };
        let email = EmailAddress::parse(address)
            .map_err(|reason| format!("the address {address:?} {reason}"))?;
        Ok(Self {
            mailbox: text.to_owned(),
            domain: email.domain().to_owned(),
        })
    }

    /// The mailbox as configured, for the `From` header.
    pub fn mailbox(&self) -> &str {
        &self.mailbox
    }

    /// The domain of its address, for `Message-ID`s.
    pub fn domain(&self) -> &str {
        &self.domain
    }
}

impl Default for MailFrom {
    fn default() -> Self {
        Self {
            mailbox: DEFAULT_MAIL_FROM.to_owned(),
            domain: "bazaar.localhost".to_owned(),
        }
    }
}

/// An email address that is safe in a header: `local@domain`, printable ASCII without
/// spaces, quotes, brackets or separators, one `@`, at most 254 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an address; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        if text.is_empty() || text.len() > MAX_EMAIL {
            return Err("must be 1..=254 characters");
        }
        let forbidden = |b: u8| {
            !(0x21..0x7f).contains(&b)
                || matches!(
                    b,
                    b'<' | b'>' | b'(' | b')' | b',' | b';' | b':' | b'"' | b'\\'
                )
        };
        if text.bytes().any(forbidden) {
            return Err("must be printable ASCII without spaces, quotes or brackets");
        }
        match text.split_once('@') {
            Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
            {
                Ok(Self(text.to_owned()))
            }
            _ => Err("must have one @ with text on both sides"),
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What follows the `@`.
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

/// One line of a confirmed order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub product_id: String,
    /// The product name when ordered (any text: escape it before writing HTML).
    pub name: String,
    /// Units ordered.
    pub quantity: i32,
    /// Price of one unit, when the event carries a valid one.
    pub unit_price: Option<Money>,
}

impl Line {
    /// `unit_price × quantity`, exactly.
    pub fn total(&self) -> Option<Money> {
        self.unit_price
            .as_ref()
            .and_then(|p| p.times(i64::from(self.quantity)).ok())
    }
}

/// What an order confirmation says, read from an `ORDER_EVENT_TYPE_PLACED` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirmation {
    /// The event it answers.
    pub event_id: String,
    pub order_id: String,
    /// The shopper whose order it is (the order's `user_id`).
    pub user_id: String,
    /// Where it goes.
    pub recipient: EmailAddress,
    /// The ordered lines.
    pub lines: Vec<Line>,
    /// Sum of the lines.
    pub subtotal: Option<Money>,
    /// Shipping cost.
    pub shipping: Option<Money>,
    /// What was charged.
    pub total: Option<Money>,
    /// The shipment's tracking id (may be empty).
    pub tracking_id: String,
    /// The shipping address, one printed line per entry.
    pub address: Vec<String>,
    /// Calendar days from the order to its delivery, as the shipping quote estimated.
    pub estimated_delivery_days: i32,
}

/// Why an event cannot be confirmed by email.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unconfirmable {
    /// The event has no id to de-duplicate by.
    #[error("the event has no event_id")]
    NoEventId,
    /// The event carries no order.
    #[error("the event carries no order")]
    NoOrder,
    /// The order's email cannot be written as a recipient.
    #[error("the order's email {0}")]
    BadEmail(&'static str),
}

impl Confirmation {
    /// Reads a placed order's event.
    pub fn from_event(event: &OrderEvent) -> Result<Self, Unconfirmable> {
        if event.event_id.is_empty() {
            return Err(Unconfirmable::NoEventId);
        }
        let order = event.order.as_ref().ok_or(Unconfirmable::NoOrder)?;
        let recipient = EmailAddress::parse(order.email.trim()).map_err(Unconfirmable::BadEmail)?;
        let order_id = if event.order_id.is_empty() {
            order.id.clone()
        } else {
            event.order_id.clone()
        };
        let amount = |money: &Option<_>| money.as_ref().and_then(|m| Money::parse(m).ok());
        Ok(Self {
            event_id: event.event_id.clone(),
            order_id,
            user_id: order.user_id.clone(),
            recipient,
            lines: order.items.iter().map(line).collect(),
            subtotal: amount(&order.subtotal),
            shipping: amount(&order.shipping_cost),
            total: amount(&order.total),
            tracking_id: order.tracking_id.clone(),
            address: order
                .shipping_address
                .as_ref()
                .map(address_lines)
                .unwrap_or_default(),
            estimated_delivery_days: order.estimated_delivery_days,
        })
    }
}

fn line(item: &OrderItem) -> Line {
    Line {
        product_id: item.product_id.clone(),
        name: item.name.clone(),
        quantity: item.quantity,
        unit_price: item.unit_price.as_ref().and_then(|m| Money::parse(m).ok()),
    }
}

/// An address as printed on a label: name, street lines, `postal code city`, region,
/// country; empty parts left out.
fn address_lines(address: &bazaar_contract::types::v1::Address) -> Vec<String> {
    let mut lines = vec![address.recipient_name.trim().to_owned()];
    lines.extend(address.street_lines.iter().map(|l| l.trim().to_owned()));
    lines.push(
        [address.postal_code.trim(), address.city.trim()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
    );
    lines.push(address.region.trim().to_owned());
    lines.push(address.country_code.trim().to_owned());
    lines.retain(|l| !l.is_empty());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use bazaar_contract::orders::v1::Order;

    #[test]
    fn notification_ids_follow_the_event() {
        let a = NotificationId::for_event("evt-1", Channel::Email);
        assert_eq!(a, NotificationId::for_event("evt-1", Channel::Email));
        assert_ne!(a, NotificationId::for_event("evt-2", Channel::Email));
        assert_eq!(a.as_str().len(), 32);
        assert!(NotificationId::parse("").is_err());
    }

    #[test]
    fn senders_are_printable_mailboxes() {
        let from = MailFrom::parse(DEFAULT_MAIL_FROM).unwrap();
        assert_eq!(from, MailFrom::default());
        assert_eq!(from.domain(), "bazaar.localhost");
        assert_eq!(
            MailFrom::parse("shop@example.com").unwrap().domain(),
            "example.com"
        );
        for bad in [
            "",
            "bazaar",
            "bazaar <orders@x>\r\nBcc: a@b",
            "bazaar <orders@x",
            "bazaar <>",
            "bäzaar <orders@x>",
        ] {
            assert!(MailFrom::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn recipients_cannot_inject_headers() {
        assert!(EmailAddress::parse("ada@example.com").is_ok());
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a@b@c",
            "ada@example.com\r\nBcc: eve@example.com",
            "ada@example.com, eve@example.com",
            "Ada <ada@example.com>",
            "ada lovelace@example.com",
            &format!("{}@x", "a".repeat(260)),
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn events_without_what_an_email_needs_are_refused() {
        let mut event = OrderEvent {
            event_id: "e".to_owned(),
            order: Some(Order {
                email: "ada@example.com".to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(Confirmation::from_event(&event).is_ok());
        event.order.as_mut().unwrap().email = "nobody".to_owned();
        assert!(matches!(
            Confirmation::from_event(&event),
            Err(Unconfirmable::BadEmail(_))
        ));
        event.order = None;
        assert_eq!(
            Confirmation::from_event(&event),
            Err(Unconfirmable::NoOrder)
        );
        event.event_id.clear();
        assert_eq!(
            Confirmation::from_event(&event),
            Err(Unconfirmable::NoEventId)
        );
    }
}
