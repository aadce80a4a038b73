//! Page tokens: opaque to clients, checked by servers.
//!
//! A token carries the position where the next page starts and a fingerprint of the query
//! that produced it (the filter, the search text), so a token used with a different query, or
//! edited by hand, is refused with `INVALID_ARGUMENT` instead of returning a wrong page. The
//! format is an implementation detail: `v1.` then hex of `<fingerprint>:<position>`.

use crate::error::FieldViolation;

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
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| PageError::BadToken)?;
    let plain = String::from_utf8(bytes).map_err(|_| PageError::BadToken)?;
    let (print, position) = plain.split_once(':').ok_or(PageError::BadToken)?;
    if print != format!("{fingerprint:016x}") {
        return Err(PageError::BadToken);
    }
    Ok(Some(position.to_owned()))
}

/// A parsed page request: how many items, and where to start (`None`: the first page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// Items to return at most.
    pub size: u32,
    /// The position the token points at.
    pub position: Option<String>,
}

/// Parses `page_size` (0 → `default`, clamped to `max`) and `page_token` (bound to
/// `fingerprint`) of a list request. Problems are added to `violations`, named after the
/// request's `page_size` and `page_token` fields, so they can be reported together with the
/// request's other fields; `None` then.
pub fn parse_request(
    page_size: i32,
    page_token: &str,
    fingerprint: u64,
    (default, max): (u32, u32),
    violations: &mut Vec<FieldViolation>,
) -> Option<PageRequest> {
    let size = page_size_within(page_size, default, max)
        .map_err(|e| violations.push(FieldViolation::new("page_size", e.to_string())))
        .ok();
    let position = decode(page_token, fingerprint)
        .map_err(|e| violations.push(FieldViolation::new("page_token", e.to_string())))
        .ok();
    Some(PageRequest {
        size: size?,
        position: position?,
    })
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
    fn requests_report_both_fields_at_once() {
        let print = fingerprint(&["x"]);
        let mut violations = Vec::new();
        assert_eq!(
            parse_request(-1, "junk", print, (20, 100), &mut violations),
            None
        );
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["page_size", "page_token"]);
        let token = encode(print, "k");
        let mut violations = Vec::new();
        assert_eq!(
            parse_request(0, &token, print, (20, 100), &mut violations),
            Some(PageRequest {
                size: 20,
                position: Some("k".to_owned())
            })
        );
        assert!(violations.is_empty());
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
