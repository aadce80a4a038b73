//! ListSigningKeys: the Ed25519 keys that let every service verify tokens offline, their
//! cache_ttl, and paging.

use std::collections::BTreeSet;

use bazaar_contract::identity::v1::*;
use tonic::Code;

use super::Client;
use crate::check::{Checked, invalid, ok, refused, violation};
use crate::ensure;
use crate::pages::walk;

pub(super) async fn keys(c: &Client, page_size: i32) -> Checked<Vec<SigningKey>> {
    walk(page_size as usize, |page_token| {
        let mut c = c.clone();
        async move {
            let page = ok(
                c.list_signing_keys(ListSigningKeysRequest {
                    page_size,
                    page_token,
                })
                .await,
                "ListSigningKeys",
            )?;
            Ok((page.signing_keys, page.next_page_token))
        }
    })
    .await
}

pub(super) async fn signing_keys(mut c: Client) -> Checked {
    let page = ok(
        c.list_signing_keys(ListSigningKeysRequest::default()).await,
        "ListSigningKeys",
    )?;
    let ttl = page.cache_ttl.as_ref().map(|d| d.seconds);
    ensure!(
        ttl == Some(600),
        "cache_ttl is {:?} s, not 10 minutes",
        page.cache_ttl
    );
    ensure!(
        page.signing_keys.len() <= 20,
        "the default page holds {} keys, more than 20",
        page.signing_keys.len()
    );
    let all = keys(&c, 1).await?;
    ensure!(!all.is_empty(), "no signing key is listed");
    let ids: BTreeSet<&str> = all.iter().map(|k| k.key_id.as_str()).collect();
    ensure!(ids.len() == all.len(), "a key is listed twice across pages");
    for key in &all {
        ensure!(
            (1..=64).contains(&key.key_id.len())
                && key
                    .key_id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "key id {:?} is not 1..=64 characters of [A-Za-z0-9_-]",
            key.key_id
        );
        ensure!(
            key.algorithm() == KeyAlgorithm::Ed25519,
            "key {} has algorithm {:?}",
            key.key_id,
            key.algorithm()
        );
        ensure!(
            key.public_key.len() == 32,
            "key {} is {} bytes, not 32",
            key.key_id,
            key.public_key.len()
        );
    }
    let times: Vec<i64> = all
        .iter()
        .map(|k| k.create_time.as_ref().map_or(0, |t| t.seconds))
        .collect();
    ensure!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "keys are not listed newest first: create times {times:?}"
    );
    let status = refused(
        c.list_signing_keys(ListSigningKeysRequest {
            page_size: -1,
            ..Default::default()
        })
        .await,
        Code::InvalidArgument,
        "ListSigningKeys(page_size -1)",
    )?;
    violation(&status, "page_size", "ListSigningKeys(page_size -1)")?;
    invalid(
        c.list_signing_keys(ListSigningKeysRequest {
            page_token: "garbage".into(),
            ..Default::default()
        })
        .await,
        "page_token",
        "ListSigningKeys(page_token \"garbage\")",
    )
}
