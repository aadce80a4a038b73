//! Walking a paginated list the way the contract says a client must: follow
//! `next_page_token` until it is empty, never stop at a short page, and check on the way
//! that no page is larger than asked for.

use std::future::Future;

use crate::check::{Checked, fail};

/// The most pages a walk follows before it calls the listing endless.
const MAX_PAGES: usize = 1_000;

/// Every item of a listing: `fetch(page_token)` returns one page and its
/// `next_page_token`. Fails when a page holds more than `page_size` items (for a positive
/// `page_size`) or the listing does not end.
pub async fn walk<T, F, Fut>(page_size: usize, mut fetch: F) -> Checked<Vec<T>>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Checked<(Vec<T>, String)>>,
{
    let mut items = Vec::new();
    let mut token = String::new();
    for page in 0..MAX_PAGES {
        let (mut found, next) = fetch(token).await?;
        if page_size > 0 && found.len() > page_size {
            return fail(format!(
                "page {page} holds {} items, more than the page_size {page_size} asked for",
                found.len()
            ));
        }
        items.append(&mut found);
        if next.is_empty() {
            return Ok(items);
        }
        token = next;
    }
    fail(format!(
        "the listing did not end after {MAX_PAGES} pages of {page_size}"
    ))
}

/// Checks that `keys` is strictly ascending (sorted, no repeats), naming the first pair
/// out of order.
pub fn strictly_ascending<K: Ord + std::fmt::Debug>(keys: &[K], what: &str) -> Checked {
    for pair in keys.windows(2) {
        if pair[0] >= pair[1] {
            return fail(format!(
                "{what} not strictly ascending: {:?} then {:?}",
                pair[0], pair[1]
            ));
        }
    }
    Ok(())
}

/// `token` with one character in the middle changed: the shape of a real token, but not one
/// the service issued.
pub fn tamper(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let at = chars.len() / 2;
    if let Some(c) = chars.get_mut(at) {
        *c = if *c == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}
