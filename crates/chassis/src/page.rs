//! Page tokens: opaque to clients, checked by servers.
//!
//! A token carries the position where the next page starts and a fingerprint of the query
//! that produced it (the filter, the search text), so a token used with a different query, or
//! edited by hand, is refused with `INVALID_ARGUMENT` instead of returning a wrong page. The
//! format is an implementation detail: `v1.` then hex of `<fingerprint>:<position>`.
//!
//! A list handler names its query once, as a [`Paging`], which reads the page fields of any
//! list request of the contract ([`ListRequest`]), turns the position into the service's own
//! cursor type (a bad one is a bad `page_token`), and makes the next page's token. Lists
//! ordered by time then id share one cursor, [`TimeAndId`].

use bazaar_contract::ListRequest;

use crate::error::{FieldViolation, Violations};

/// The default number of items on a page when a request leaves `page_size` at 0.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// The largest page served; larger requests are clamped to it.
pub const MAX_PAGE_SIZE: u32 = 100;

/// Why a page request cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// `page_size` was negative.
    #[error("page_size must not be negative")]
    NegativeSize,
    /// `page_token` is not one this server issued for this query.
    #[error("page_token is not a token issued for this request; start again without it")]
    BadToken,
}

/// The effective page size with the usual bounds ([`DEFAULT_PAGE_SIZE`], [`MAX_PAGE_SIZE`]).
pub fn page_size(requested: i32) -> Result<u32, PageError> {
    page_size_within(requested, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
}

/// The effective page size: 0 means `default`, larger than `max` is clamped to it.
pub fn page_size_within(requested: i32, default: u32, max: u32) -> Result<u32, PageError> {
    match u32::try_from(requested) {
        Err(_) => Err(PageError::NegativeSize),
        Ok(0) => Ok(default),
        Ok(size) => Ok(size.min(max)),
    }
}

/// A fingerprint of the parts of a request that must not change between pages.
///
/// FNV-1a over the parts with a separator: stable across processes and Rust releases, so a
/// token issued by one replica, or by the previous release during a rolling restart, is
/// accepted by another.
pub fn fingerprint(parts: &[&str]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

/// The token for the page that starts at `position`.
pub fn encode(fingerprint: u64, position: &str) -> String {
    let plain = format!("{fingerprint:016x}:{position}");
    let mut token = String::with_capacity(3 + plain.len() * 2);
    token.push_str("v1.");
    for byte in plain.bytes() {
        token.push_str(&format!("{byte:02x}"));
    }
    token
}

/// The position a token points at. An empty token is the first page (`None`).
pub fn decode(token: &str, fingerprint: u64) -> Result<Option<String>, PageError> {
    if token.is_empty() {
        return Ok(None);
    }
    let hex = token.strip_prefix("v1.").ok_or(PageError::BadToken)?;
    if hex.len() % 2 != 0 || hex.len() > 2048 {
        return Err(PageError::BadToken);
    }
    // Pairs of bytes, not of characters: a token is anyone's text, and slicing text at byte
    // offsets would panic inside a multi-byte character.
    let bytes = hex
        .as_bytes()
        .chunks(2)
        .map(|pair| Some(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?))
        .collect::<Option<Vec<u8>>>()
        .ok_or(PageError::BadToken)?;
    let plain = String::from_utf8(bytes).map_err(|_| PageError::BadToken)?;
    let (print, position) = plain.split_once(':').ok_or(PageError::BadToken)?;
    if print != format!("{fingerprint:016x}") {
        return Err(PageError::BadToken);
    }
    Ok(Some(position.to_owned()))
}

/// The value of one ASCII hex digit.
fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

/// A parsed page request: how many items, and where to start (`None`: the first page).
/// The position is text as the token carried it, or the cursor a list parsed it into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest<P = String> {
    /// Items to return at most.
    pub size: u32,
    /// The position the token points at.
    pub position: Option<P>,
}

/// The paging of one list query: the fingerprint its tokens are bound to, and its page
/// sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    fingerprint: u64,
    default: u32,
    max: u32,
}

impl Paging {
    /// Pages of the query that `parts` identify (the list's name, then every filter that
    /// must stay the same from page to page), [`DEFAULT_PAGE_SIZE`] items by default and
    /// [`MAX_PAGE_SIZE`] at most.
    pub fn of(parts: &[&str]) -> Self {
        Self {
            fingerprint: fingerprint(parts),
            default: DEFAULT_PAGE_SIZE,
            max: MAX_PAGE_SIZE,
        }
    }

    /// The same query with other page sizes: `default` for a `page_size` of 0, `max` at
    /// most.
    pub fn sized(self, default: u32, max: u32) -> Self {
        Self {
            default,
            max,
            ..self
        }
    }

    /// Parses the `page_size` and `page_token` of `request`, the position left as text.
    /// Problems are recorded in `violations`, named after those two fields, so they are
    /// reported together with the request's other fields; `None` then.
    pub fn parse(
        &self,
        request: &impl ListRequest,
        violations: &mut Violations,
    ) -> Option<PageRequest> {
        self.parse_with(request, violations, |position| Some(position.to_owned()))
    }

    /// Parses the page of `request` as [`Paging::parse`] does, and its position with
    /// `cursor`: a position that `cursor` refuses is a `page_token` this server did not
    /// issue.
    pub fn parse_with<P>(
        &self,
        request: &impl ListRequest,
        violations: &mut Violations,
        cursor: impl FnOnce(&str) -> Option<P>,
    ) -> Option<PageRequest<P>> {
        let token_violation =
            |error: PageError| FieldViolation::new("page_token", error.to_string());
        let size = violations.check(
            page_size_within(request.page_size(), self.default, self.max)
                .map_err(|e| FieldViolation::new("page_size", e.to_string())),
        );
        let position = violations
            .check(decode(request.page_token(), self.fingerprint).map_err(token_violation))?;
        let size = size?;
        // The cursor is read only from a token this query issued, for a page that can be
        // served.
        let position = match position {
            None => None,
            Some(text) => Some(
                violations.check(
                    cursor(&text)
                        .ok_or(PageError::BadToken)
                        .map_err(token_violation),
                )?,
            ),
        };
        Some(PageRequest { size, position })
    }

    /// The token of the page that starts at `position` (a cursor written as text).
    pub fn token(&self, position: &str) -> String {
        encode(self.fingerprint, position)
    }

    /// Finishes a page fetched with one item more than `size`, as [`next_token`] does, with
    /// tokens of this query.
    pub fn next_token<T>(
        &self,
        items: &mut Vec<T>,
        size: u32,
        position_after: impl Fn(&T) -> String,
    ) -> String {
        next_token(items, size, self.fingerprint, position_after)
    }
}

/// The cursor of a list ordered by time, then id: the time (milliseconds) and the id of the
/// last item served, written `<time><separator><id>`. Each list keeps its separator, so the
/// tokens it issued stay valid across releases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeAndId {
    /// The time of the last item served, in milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// The id of the last item served.
    pub id: String,
}

impl TimeAndId {
    /// The position of an item, as text in a token.
    pub fn encode(time_ms: i64, id: &str, separator: char) -> String {
        format!("{time_ms}{separator}{id}")
    }

    /// The cursor a position written by [`TimeAndId::encode`] holds; `None` for any other
    /// text.
    pub fn decode(position: &str, separator: char) -> Option<Self> {
        let (time, id) = position.split_once(separator)?;
        Some(Self {
            time_ms: time.parse().ok()?,
            id: id.to_owned(),
        })
    }

    /// The cursor as a store reads it: the items after this time and id.
    pub fn key(&self) -> (i64, &str) {
        (self.time_ms, &self.id)
    }
}

/// Finishes a page that was fetched with one item more than `size`: drops the extra item
/// and returns the token of the next page, which starts after the last kept item (empty
/// when there was no extra item: this is the last page).
pub fn next_token<T>(
    items: &mut Vec<T>,
    size: u32,
    fingerprint: u64,
    position_after: impl Fn(&T) -> String,
) -> String {
    let size = size as usize;
    if items.len() <= size {
        return String::new();
    }
    items.truncate(size);
    items
        .last()
        .map(|last| encode(fingerprint, &position_after(last)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_default_and_clamp() {
        assert_eq!(page_size(0), Ok(DEFAULT_PAGE_SIZE));
        assert_eq!(page_size(7), Ok(7));
        assert_eq!(page_size(10_000), Ok(MAX_PAGE_SIZE));
        assert_eq!(page_size(-1), Err(PageError::NegativeSize));
    }

    #[test]
    fn tokens_round_trip_for_the_same_query_only() {
        let print = fingerprint(&["category", "kitchen"]);
        let token = encode(print, "40");
        assert_eq!(decode(&token, print), Ok(Some("40".to_owned())));
        assert_eq!(decode("", print), Ok(None));
        let other = fingerprint(&["category", "garden"]);
        assert_eq!(decode(&token, other), Err(PageError::BadToken));
    }

    #[test]
    fn tokens_of_any_text_are_refused_without_a_panic() {
        let print = fingerprint(&["category", "kitchen"]);
        // Multi-byte characters where hex digits belong: a byte-offset slice would cut one.
        for token in [
            "v1.aé",
            "v1.é0",
            "v1.0€",
            "v1.\u{1F600}",
            "v1.ab\u{0301}c",
            "v1.ééé",
        ] {
            assert_eq!(decode(token, print), Err(PageError::BadToken), "{token:?}");
        }
        // Every short token over a few awkward characters, in every position.
        let alphabet = ['0', 'a', 'F', ':', '.', 'é', '€', '\u{0}', 'v', '1'];
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    for d in alphabet {
                        let token: String = ['v', '1', '.', a, b, c, d].iter().collect();
                        let _ = decode(&token, print);
                    }
                }
            }
        }
    }

    /// A list request as the contract shapes them.
    struct List {
        size: i32,
        token: String,
    }

    impl ListRequest for List {
        fn page_size(&self) -> i32 {
            self.size
        }

        fn page_token(&self) -> &str {
            &self.token
        }
    }

    fn list(size: i32, token: &str) -> List {
        List {
            size,
            token: token.to_owned(),
        }
    }

    fn fields(violations: Violations) -> Vec<String> {
        violations
            .finish(|| None::<()>)
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn requests_report_both_fields_at_once() {
        let paging = Paging::of(&["x"]).sized(20, 100);
        let mut violations = Violations::new();
        assert_eq!(paging.parse(&list(-1, "junk"), &mut violations), None);
        assert_eq!(fields(violations), ["page_size", "page_token"]);
        let token = paging.token("k");
        let mut violations = Violations::new();
        assert_eq!(
            paging.parse(&list(0, &token), &mut violations),
            Some(PageRequest {
                size: 20,
                position: Some("k".to_owned())
            })
        );
        assert!(violations.is_empty());
        assert_eq!(
            Paging::of(&["x"]).parse(&list(1_000, ""), &mut violations),
            Some(PageRequest {
                size: MAX_PAGE_SIZE,
                position: None
            })
        );
    }

    #[test]
    fn positions_are_parsed_into_cursors() {
        let paging = Paging::of(&["charges", "order-1"]);
        let token = paging.token(&TimeAndId::encode(1_700, "ch_1", ':'));
        let mut violations = Violations::new();
        let page = paging.parse_with(&list(5, &token), &mut violations, |p| {
            TimeAndId::decode(p, ':')
        });
        let position = page.and_then(|p| p.position).expect("a cursor");
        assert_eq!(position.key(), (1_700, "ch_1"));
        assert!(violations.is_empty());

        // A token of this query whose position is not a cursor was not issued here.
        let mut violations = Violations::new();
        let page = paging.parse_with(&list(5, &token), &mut violations, |p| {
            TimeAndId::decode(p, '.')
        });
        assert_eq!(page, None);
        assert_eq!(fields(violations), ["page_token"]);
        // The first page has no cursor to parse.
        let mut violations = Violations::new();
        let page = paging.parse_with(&list(5, ""), &mut violations, |_| None::<TimeAndId>);
        assert_eq!(
            page,
            Some(PageRequest {
                size: 5,
                position: None
            })
        );
        assert_eq!(TimeAndId::decode("x:ch_1", ':'), None);
    }

    #[test]
    fn next_token_trims_the_extra_item() {
        let print = fingerprint(&[]);
        let mut items = vec![1, 2, 3];
        let token = next_token(&mut items, 2, print, ToString::to_string);
        assert_eq!(items, [1, 2]);
        assert_eq!(decode(&token, print), Ok(Some("2".to_owned())));
        let mut items = vec![1, 2];
        assert_eq!(next_token(&mut items, 2, print, ToString::to_string), "");
    }

    #[test]
    fn garbage_is_refused() {
        let print = fingerprint(&[]);
        for bad in ["x", "v1.", "v1.zz", "v1.abc", "v2.00", "v1.3a3a"] {
            assert_eq!(decode(bad, print), Err(PageError::BadToken), "{bad}");
        }
    }
}
