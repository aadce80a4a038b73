//! Request bodies made at random from a method's input descriptor.
//!
//! Every body is drawn from one seeded generator, so a seed names a run. A body is either a
//! message of the request type (every field set or left out at random, each value drawn from
//! the edges of its type: boundary numbers, unknown enum numbers, empty, huge and hostile
//! strings, long repeated fields), encoded and sometimes followed by fields the schema does
//! not have; or bytes that are not such a message at all ([`Body::Garbage`]). Strings are
//! sometimes the kind of value the field names (a product id, a currency code, a card
//! number that passes the Luhn check), so that calls get past the first check and reach the
//! code behind it.

use prost::Message as _;
use prost::bytes::Bytes;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};

/// The products of the catalog's shipped data, so that some calls name real ones.
const PRODUCTS: &[&str] = &[
    "brass-desk-lamp",
    "ceramic-coffee-mug",
    "cast-iron-skillet",
    "kitchen",
    "lighting",
];

/// Strings that have broken parsers and stores elsewhere.
const HOSTILE: &[&str] = &[
    "",
    " ",
    "\0",
    "a\0b",
    "\u{7f}",
    "\r\n",
    "\t",
    "\u{1b}[31m",
    "' OR '1'='1",
    "'; DROP TABLE orders; --",
    "%s%s%s%n",
    "{}",
    "${jndi:ldap://x}",
    "../../../../etc/passwd",
    "<script>alert(1)</script>",
    "NaN",
    "-0",
    "1e400",
    "9223372036854775808",
    "-9223372036854775809",
    "0x7fffffff",
    "v1.",
    "v1.zz",
    "v1.00",
    "Bearer",
    "null",
    "\u{feff}USD",
    // Look-alikes: Cyrillic, fullwidth and mathematical letters, a zero-width joiner, a
    // right-to-left override, a combining accent, a dotless i.
    "\u{0430}dmin@bazaar.test",
    "ＵＳＤ",
    "𝐔𝐒𝐃",
    "brass\u{200d}-desk-lamp",
    "\u{202e}dsu",
    "e\u{0301}",
    "ı",
    "İ",
    "ß",
    "\u{1F600}",
    "\u{10FFFF}",
    "\u{FFFD}",
];

/// Characters the random strings are made of: each class a parser may treat differently.
const CHARS: &[char] = &[
    'a',
    'z',
    'A',
    'Z',
    '0',
    '9',
    '-',
    '_',
    '.',
    '@',
    ':',
    '/',
    '%',
    '\'',
    '"',
    '\\',
    ' ',
    '\0',
    '\n',
    '\u{7f}',
    '\u{85}',
    'é',
    'ß',
    'İ',
    'ı',
    '\u{0430}',
    '\u{0301}',
    '\u{200b}',
    '\u{202e}',
    '\u{3000}',
    '€',
    '\u{FFFD}',
    '\u{1F600}',
    '\u{10FFFF}',
];

/// A deterministic random number generator (SplitMix64): the same seed, the same run.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator of its own for `name`, so each method's bodies depend on the seed and the
    /// method alone, not on what ran before it.
    pub(crate) fn fork(&self, name: &str) -> Self {
        let mut state = self.0;
        for byte in name.bytes() {
            state = (state ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        Self(state)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `bound` (which is not 0).
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        // The modulo bias is of no concern here.
        (self.next() % bound as u64) as usize
    }

    /// True one time in `n`.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A request body.
#[derive(Clone, Debug)]
pub(crate) enum Body {
    /// A message of the request type, encoded (perhaps with unknown fields after it).
    Message(Bytes),
    /// Bytes that are meant not to decode as the request type (they may still, by chance).
    Garbage(Bytes),
}

impl Body {
    pub(crate) fn bytes(&self) -> Bytes {
        match self {
            Body::Message(bytes) | Body::Garbage(bytes) => bytes.clone(),
        }
    }
}

/// Makes bodies for one method's input type.
pub(crate) struct Generator<'a> {
    rng: &'a mut Rng,
    /// Whether a string may be very long (not inside a long repeated field, which would
    /// make a body of gigabytes).
    long_strings: bool,
    /// Whether this body is a plausible request (every field set, each value of the kind
    /// its name says) with a few values spoiled, rather than values from the edges
    /// throughout: random values rarely get past the first check, plausible ones reach
    /// the stores and the calls to other services.
    plausible: bool,
}

impl<'a> Generator<'a> {
    pub(crate) fn new(rng: &'a mut Rng) -> Self {
        Self {
            rng,
            long_strings: true,
            plausible: false,
        }
    }

    /// One body for a request of type `input`: mostly messages, one in ten garbage.
    pub(crate) fn body(&mut self, input: &MessageDescriptor) -> Body {
        if self.rng.one_in(10) {
            return Body::Garbage(self.garbage());
        }
        self.plausible = self.rng.one_in(2);
        let message = self.message(input, 0);
        let mut bytes = message.encode_to_vec();
        if self.rng.one_in(5) {
            self.unknown_fields(input, &mut bytes);
        }
        Body::Message(Bytes::from(bytes))
    }

    /// A message of type `descriptor`, `depth` messages deep.
    fn message(&mut self, descriptor: &MessageDescriptor, depth: usize) -> DynamicMessage {
        let mut message = DynamicMessage::new(descriptor.clone());
        // A message where every field is set is the likeliest to pass validation, one where
        // none is the emptiest request; most are in between.
        let density = match self.rng.below(4) {
            _ if self.plausible => 100,
            0 => 100,
            1 => 0,
            _ => 60,
        };
        for field in descriptor.fields() {
            if self.rng.below(100) >= density {
                continue;
            }
            if let Some(value) = self.field(&field, depth) {
                message.set_field(&field, value);
            }
        }
        message
    }

    fn field(&mut self, field: &FieldDescriptor, depth: usize) -> Option<Value> {
        if field.is_list() {
            let count = match self.rng.below(10) {
                _ if self.sensible() => 1 + self.rng.below(3),
                0 => 0,
                1 => 100 + self.rng.below(2_000),
                _ => 1 + self.rng.below(4),
            };
            let long_strings = std::mem::replace(&mut self.long_strings, count <= 4);
            let items = (0..count)
                .filter_map(|_| self.single(field, depth))
                .collect();
            self.long_strings = long_strings;
            return Some(Value::List(items));
        }
        self.single(field, depth)
    }

    /// One value of `field`'s type; `None` for a message too deep to build.
    fn single(&mut self, field: &FieldDescriptor, depth: usize) -> Option<Value> {
        Some(match field.kind() {
            Kind::Bool => Value::Bool(self.rng.one_in(2)),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 if self.sensible() => {
                Value::I32(plausible_number(field.name(), self.rng) as i32)
            }
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 if self.sensible() => {
                Value::I64(plausible_number(field.name(), self.rng))
            }
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(self.int32()),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(self.int64()),
            Kind::Uint32 | Kind::Fixed32 => Value::U32(self.uint32()),
            Kind::Uint64 | Kind::Fixed64 => Value::U64(self.uint64()),
            Kind::Float => Value::F32(*self.rng.pick(&[
                0.0,
                -0.0,
                1.0,
                -1.0,
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::MIN_POSITIVE,
                f32::MAX,
                f32::MIN,
            ])),
            Kind::Double => Value::F64(*self.rng.pick(&[
                0.0,
                -0.0,
                1.0,
                -1.0,
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::MIN_POSITIVE,
                f64::MAX,
                f64::MIN,
            ])),
            Kind::String => Value::String(self.string(field.name())),
            Kind::Bytes => Value::Bytes(Bytes::from(self.raw(64))),
            Kind::Enum(descriptor) => {
                let known: Vec<i32> = descriptor.values().map(|v| v.number()).collect();
                Value::EnumNumber(if !self.sensible() && self.rng.one_in(3) {
                    *self.rng.pick(&[-1, 99, i32::MAX, i32::MIN])
                } else {
                    *self.rng.pick(&known)
                })
            }
            Kind::Message(descriptor) => {
                // The schema nests only a few levels; the bound keeps a recursive message
                // (should one be added) from recursing for ever.
                if depth >= 32 {
                    return None;
                }
                Value::Message(self.message(&descriptor, depth + 1))
            }
        })
    }

    fn int32(&mut self) -> i32 {
        match self.rng.below(3) {
            0 => *self.rng.pick(&[
                0,
                1,
                -1,
                2,
                99,
                100,
                101,
                999_999_999,
                1_000_000_000,
                -999_999_999,
                -1_000_000_000,
                i32::MAX,
                i32::MIN,
                i32::MAX - 1,
                i32::MIN + 1,
            ]),
            1 => self.rng.below(10) as i32,
            // Two's complement of a random u64, cut: every bit pattern.
            _ => self.rng.next() as i32,
        }
    }

    fn int64(&mut self) -> i64 {
        match self.rng.below(3) {
            0 => *self.rng.pick(&[
                0,
                1,
                -1,
                1_000_000_000,
                -1_000_000_000,
                253_402_300_799,
                253_402_300_800,
                -62_135_596_800,
                -62_135_596_801,
                9_223_372_036,
                i64::from(i32::MAX),
                i64::MAX,
                i64::MIN,
                i64::MAX - 1,
                i64::MIN + 1,
            ]),
            1 => self.rng.below(1_000) as i64,
            _ => self.rng.next() as i64,
        }
    }

    fn uint32(&mut self) -> u32 {
        match self.rng.below(2) {
            0 => *self.rng.pick(&[0, 1, u32::MAX, u32::MAX - 1, 1 << 31]),
            _ => self.rng.next() as u32,
        }
    }

    fn uint64(&mut self) -> u64 {
        match self.rng.below(2) {
            0 => *self.rng.pick(&[0, 1, u64::MAX, u64::MAX - 1, 1 << 63]),
            _ => self.rng.next(),
        }
    }

    /// Whether the value being made is to be of the kind its field's name says: in a
    /// plausible body, all but about one value in twelve, which are spoiled.
    fn sensible(&mut self) -> bool {
        self.plausible && !self.rng.one_in(12)
    }

    /// A string for a field named `name`.
    fn string(&mut self, name: &str) -> String {
        if self.sensible() {
            return self.plausible_text(name);
        }
        match self.rng.below(8) {
            0..=2 => self.plausible_text(name),
            3 => (*self.rng.pick(HOSTILE)).to_owned(),
            4 if self.long_strings => {
                // Very long: past every length limit, within the message size limit.
                let len = *self.rng.pick(&[65, 256, 1_025, 4_097, 70_000, 300_000]);
                let unit = self.rng.pick(&["a", "é", "\u{1F600}", "9", "-"]);
                unit.repeat(len)
            }
            5 => {
                // A plausible value with something hostile in it.
                let mut text = self.plausible_text(name);
                let at = self.rng.below(text.chars().count() + 1);
                let position = text.char_indices().nth(at).map_or(text.len(), |(i, _)| i);
                text.insert(position, *self.rng.pick(CHARS));
                text
            }
            _ => {
                let len = self.rng.below(80);
                (0..len).map(|_| *self.rng.pick(CHARS)).collect()
            }
        }
    }

    /// A value of the kind the field's name says, valid or nearly so.
    fn plausible_text(&mut self, name: &str) -> String {
        let hex = |rng: &mut Rng, digits: usize| -> String {
            (0..digits)
                .map(|_| char::from(b"0123456789abcdef"[rng.below(16)]))
                .collect()
        };
        if name.ends_with("request_id") {
            let len = 1 + self.rng.below(64);
            return (0..len)
                .map(|_| char::from(b"ABCXYZabcxyz0123456789_-"[self.rng.below(24)]))
                .collect();
        }
        if name.contains("product_id") || name.contains("category_id") || name == "id" {
            return (*self.rng.pick(PRODUCTS)).to_owned();
        }
        if name.contains("currency_code") || name == "code" {
            return (*self
                .rng
                .pick(&["USD", "EUR", "JPY", "KWD", "GBP", "XXX", "usd"]))
            .to_owned();
        }
        if name.contains("email") {
            return format!("shopper-{}@bazaar.test", hex(self.rng, 8));
        }
        if name.contains("password") {
            return format!("a fuzzed password {}", hex(self.rng, 8));
        }
        if name == "number" {
            return (*self.rng.pick(&[
                "4242424242424242",
                "4000000000000002",
                "5555555555554444",
                "378282246310005",
                "4242 4242 4242 4242",
                "4242424242424241",
            ]))
            .to_owned();
        }
        if name == "cvv" {
            return (*self.rng.pick(&["123", "1234", "12", "abc"])).to_owned();
        }
        if name == "country_code" {
            return (*self.rng.pick(&["US", "DE", "GB", "JP", "ZZ", "us"])).to_owned();
        }
        if name.contains("page_token") {
            let digits = 2 * (1 + self.rng.below(40));
            return format!("v1.{}", hex(self.rng, digits));
        }
        if name.contains("order_id") {
            return format!("ord_{}", hex(self.rng, 32));
        }
        if name.contains("date") {
            return (*self
                .rng
                .pick(&["2026-01-01", "2026-02-30", "0000-00-00", "9999-12-31"]))
            .to_owned();
        }
        if name.ends_with("token") {
            return format!(
                "{}.{}.{}",
                hex(self.rng, 20),
                hex(self.rng, 40),
                hex(self.rng, 86)
            );
        }
        if name.contains("holder") || name.contains("recipient") || name.contains("display") {
            return (*self
                .rng
                .pick(&["Ada Lovelace", "Grace Hopper", "Zoë Ångström"]))
            .to_owned();
        }
        if name == "postal_code" {
            return (*self.rng.pick(&["12345", "SW1A 1AA", "10115"])).to_owned();
        }
        let len = 1 + self.rng.below(24);
        (0..len)
            .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789- "[self.rng.below(38)]))
            .collect()
    }

    /// Up to `max` random bytes.
    fn raw(&mut self, max: usize) -> Vec<u8> {
        let len = self.rng.below(max + 1);
        (0..len).map(|_| self.rng.next() as u8).collect()
    }

    /// Appends fields that `input` does not declare, of every wire type, well formed.
    fn unknown_fields(&mut self, input: &MessageDescriptor, bytes: &mut Vec<u8>) {
        for _ in 0..1 + self.rng.below(4) {
            let number = loop {
                let small = 1 + self.rng.below(50) as u32;
                let number =
                    *self
                        .rng
                        .pick(&[15_u32, 16, 100, 1_000, 18_999, 20_000, 536_870_911, small]);
                if input.get_field(number).is_none() {
                    break number;
                }
            };
            let wire_type = *self.rng.pick(&[0_u32, 1, 2, 5]);
            put_varint(bytes, u64::from(number << 3 | wire_type));
            match wire_type {
                0 => put_varint(bytes, self.rng.next()),
                1 => bytes.extend_from_slice(&self.rng.next().to_le_bytes()),
                2 => {
                    let payload = self.raw(200);
                    put_varint(bytes, payload.len() as u64);
                    bytes.extend_from_slice(&payload);
                }
                _ => bytes.extend_from_slice(&(self.rng.next() as u32).to_le_bytes()),
            }
        }
    }

    /// Bytes that are not a well-formed message: random bytes, truncated fields, a length
    /// past the end, invalid UTF-8 in a string, groups nested a thousand deep.
    fn garbage(&mut self) -> Bytes {
        let bytes = match self.rng.below(5) {
            0 => self.raw(512),
            // A length-delimited field 1 whose length runs past the end.
            1 => vec![0x0a, 0xff, 0xff, 0xff, 0x0f, b'a'],
            // Field 1 as a string of bytes that are not UTF-8.
            2 => vec![0x0a, 0x04, 0xff, 0xfe, 0xc0, 0x80],
            // A varint that never ends.
            3 => {
                let mut bytes = vec![0x08];
                bytes.extend(std::iter::repeat_n(0x80, 11));
                bytes
            }
            // Start-group tags (field 2000) a thousand deep, never closed.
            _ => std::iter::repeat_n([0x83_u8, 0x7d], 1_000)
                .flatten()
                .collect(),
        };
        Bytes::from(bytes)
    }
}

/// A number of the kind a field named `name` holds, valid or nearly so.
fn plausible_number(name: &str, rng: &mut Rng) -> i64 {
    let below = |rng: &mut Rng, bound: usize| rng.below(bound) as i64;
    if name.contains("year") {
        2_026 + below(rng, 10)
    } else if name.contains("month") {
        1 + below(rng, 12)
    } else if name.contains("nanos") {
        below(rng, 2) * 500_000_000
    } else if name.contains("units") {
        below(rng, 200)
    } else if name.contains("page_size") {
        below(rng, 30)
    } else {
        1 + below(rng, 5)
    }
}

fn put_varint(bytes: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        bytes.push((value as u8) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}
