//! Identifiers: those a client chooses, those a service looks up, and those a service makes.
//!
//! `request_id` is the idempotency key (AIP-155) of every mutation that must not happen
//! twice; its shape is the same in every package. An [`OrderId`] is made by orders and
//! received by payment and shipping, which check only its length. Other ids a caller names
//! (`charge_id`, `reservation_id`) are only looked up: anything but empty parses, and an id
//! that names nothing is NOT_FOUND later ([`lookup_id`]).
//!
//! Ids a service makes are a prefix that says what they name and random bits from the
//! operating system, written in one of three alphabets; each kind's format is one constant
//! here ([`IdFormat`]), so the shapes the contract documents live in one place. Ids are
//! opaque to clients; the order id is short enough (36 characters) that request ids derived
//! from it (`<order id>-reserve-2`) stay within the 64 characters of a `request_id`.

use super::ValueError;

/// Longest `request_id` and `order_id`, in characters.
pub const MAX_ID_CHARS: usize = 64;

/// A client-chosen idempotency key: 1..=64 characters of `[A-Za-z0-9_-]` (a UUID fits).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    /// Parses a `request_id`.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        if text.is_empty() {
            Err(ValueError::required())
        } else if text.len() > MAX_ID_CHARS
            || !text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            Err(ValueError::new(
                "must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -",
            ))
        } else {
            Ok(Self(text.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of an order, as orders made it ([`ORDER`]) and other services receive it:
/// 1..=64 characters of any kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrderId(String);

impl OrderId {
    /// Parses an `order_id`.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        match text.chars().count() {
            0 => Err(ValueError::required()),
            1..=MAX_ID_CHARS => Ok(Self(text.to_owned())),
            _ => Err(ValueError::new("must be at most 64 characters")),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses a required id that is only looked up (a server-made id such as `charge_id`):
/// anything but empty.
pub fn lookup_id(text: &str) -> Result<String, ValueError> {
    if text.is_empty() {
        Err(ValueError::required())
    } else {
        Ok(text.to_owned())
    }
}

/// How the random bits of an id are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Lower-case hexadecimal.
    Hex,
    /// RFC 4648 base32 in lower case, no padding: `a-z`, `2-7` (no 0, 1, 8 or 9).
    Base32,
    /// Crockford's base32 in upper case: digits and letters but I, L, O and U.
    Crockford,
}

impl Encoding {
    /// `bytes` written in this encoding.
    pub fn encode(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Hex => bytes.iter().map(|b| format!("{b:02x}")).collect(),
            Encoding::Base32 => base32(bytes, b"abcdefghijklmnopqrstuvwxyz234567"),
            Encoding::Crockford => base32(bytes, b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"),
        }
    }
}

/// Base32 of `bytes` in `alphabet`, most significant bits first, no padding.
fn base32(bytes: &[u8], alphabet: &[u8; 32]) -> String {
    let mut text = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            text.push(char::from(alphabet[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        text.push(char::from(alphabet[((buffer << (5 - bits)) & 31) as usize]));
    }
    text
}

/// The operating system gave no randomness, so no id could be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no randomness from the operating system: {0}")]
pub struct RandomnessError(getrandom::Error);

impl From<getrandom::Error> for RandomnessError {
    fn from(error: getrandom::Error) -> Self {
        Self(error)
    }
}

/// The format of one kind of id a service makes: a prefix, then random bytes in an
/// encoding, cut to a number of characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdFormat {
    prefix: &'static str,
    encoding: Encoding,
    random_bytes: usize,
    chars: Option<usize>,
}

/// Orders: `ord_` and 32 hex digits (128 bits), 36 characters.
pub const ORDER: IdFormat = IdFormat::new("ord_", Encoding::Hex, 16);
/// Order events in the outbox: `evt_` and 32 hex digits.
pub const ORDER_EVENT: IdFormat = IdFormat::new("evt_", Encoding::Hex, 16);
/// Charges: `ch_` and 26 base32 characters (128 bits).
pub const CHARGE: IdFormat = IdFormat::new("ch_", Encoding::Base32, 16);
/// Shipments: `sh_` and 26 base32 characters (128 bits).
pub const SHIPMENT: IdFormat = IdFormat::new("sh_", Encoding::Base32, 16);
/// Tracking ids of shipments: `BZ` and 10 Crockford base32 characters (50 bits), twelve
/// upper-case letters and digits that are easy to read out.
pub const TRACKING: IdFormat = IdFormat::new("BZ", Encoding::Crockford, 8).cut_to(10);
/// Stock reservations: `rsv-` and 32 hex digits.
pub const RESERVATION: IdFormat = IdFormat::new("rsv-", Encoding::Hex, 16);
/// Users: `u_` and 32 hex digits.
pub const USER: IdFormat = IdFormat::new("u_", Encoding::Hex, 16);
/// Guests: `g_` and 32 hex digits.
pub const GUEST: IdFormat = IdFormat::new("g_", Encoding::Hex, 16);
/// Sessions: `s_` and 32 hex digits.
pub const SESSION: IdFormat = IdFormat::new("s_", Encoding::Hex, 16);
/// Token signing keys: `k-` and 16 hex digits (64 bits).
pub const SIGNING_KEY: IdFormat = IdFormat::new("k-", Encoding::Hex, 8);

impl IdFormat {
    /// `prefix`, then `random_bytes` random bytes written in `encoding`.
    pub const fn new(prefix: &'static str, encoding: Encoding, random_bytes: usize) -> Self {
        Self {
            prefix,
            encoding,
            random_bytes,
            chars: None,
        }
    }

    /// The same, keeping only the first `chars` characters of the encoded bytes.
    pub const fn cut_to(self, chars: usize) -> Self {
        Self {
            chars: Some(chars),
            ..self
        }
    }

    /// How many random bytes an id of this format takes.
    pub fn random_bytes(&self) -> usize {
        self.random_bytes
    }

    /// A new id, from the operating system's randomness.
    pub fn generate(&self) -> Result<String, RandomnessError> {
        let mut bytes = vec![0_u8; self.random_bytes];
        getrandom::fill(&mut bytes)?;
        Ok(self.write(&bytes))
    }

    /// The id that `bytes` (as many as [`IdFormat::random_bytes`]) make, for a caller that
    /// has its own source of unique bytes.
    pub fn write(&self, bytes: &[u8]) -> String {
        let mut encoded = self.encoding.encode(bytes);
        if let Some(chars) = self.chars {
            // Every encoding writes ASCII only, so any length is a character boundary.
            encoded.truncate(chars);
        }
        format!("{}{encoded}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_have_one_shape() {
        for good in [
            "a",
            "a-B_9",
            "3f2a9c1e-0b7d-4e1a-9f3c-2d4b6a8e0c11",
            &"x".repeat(64),
        ] {
            assert_eq!(RequestId::parse(good).unwrap().as_str(), good);
        }
        assert_eq!(RequestId::parse(""), Err(ValueError::required()));
        for bad in ["has space", "a.b", "a/b", "é", &"x".repeat(65)] {
            let error = RequestId::parse(bad).unwrap_err();
            assert!(error.description().starts_with("must be 1 to 64"), "{bad}");
        }
    }

    #[test]
    fn order_ids_count_characters() {
        assert!(OrderId::parse(&"é".repeat(64)).is_ok());
        assert_eq!(OrderId::parse(""), Err(ValueError::required()));
        assert!(OrderId::parse(&"a".repeat(65)).is_err());
        assert_eq!(lookup_id("ch_1"), Ok("ch_1".to_owned()));
        assert_eq!(lookup_id(""), Err(ValueError::required()));
    }

    #[test]
    fn encodings_follow_their_standards() {
        assert_eq!(Encoding::Hex.encode(&[0, 0xab, 0xff]), "00abff");
        // RFC 4648 test vectors, in lower case and without padding.
        for (input, output) in [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ] {
            assert_eq!(Encoding::Base32.encode(input.as_bytes()), output);
        }
        assert_eq!(Encoding::Crockford.encode(&[0xff; 5]), "ZZZZZZZZ");
        assert_eq!(Encoding::Crockford.encode(&[0; 5]), "00000000");
    }

    #[test]
    fn every_format_makes_its_documented_shape() {
        for (format, prefix, length) in [
            (ORDER, "ord_", 36),
            (ORDER_EVENT, "evt_", 36),
            (CHARGE, "ch_", 29),
            (SHIPMENT, "sh_", 29),
            (TRACKING, "BZ", 12),
            (RESERVATION, "rsv-", 36),
            (USER, "u_", 34),
            (GUEST, "g_", 34),
            (SESSION, "s_", 34),
            (SIGNING_KEY, "k-", 18),
        ] {
            let a = format.generate().unwrap();
            let b = format.generate().unwrap();
            assert_ne!(a, b);
            assert!(a.starts_with(prefix), "{a}");
            assert_eq!(a.len(), length, "{a}");
            assert_eq!(format.write(&vec![7; format.random_bytes()]).len(), length);
        }
        let tracking = TRACKING.generate().unwrap();
        assert!(
            tracking
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        let charge = CHARGE.generate().unwrap();
        assert!(
            charge[3..]
                .bytes()
                .all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c))
        );
    }
}
