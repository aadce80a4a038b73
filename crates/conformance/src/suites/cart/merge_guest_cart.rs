//! MergeGuestCart: a guest's lines move into the registered caller's cart at log-in,
//! capped at 99 a line, once; guests and bad guest tokens are refused.

use bazaar_contract::cart::v1::*;
use tonic::{Code, Request};

use super::{Client, add_as, get, line, lines};
use crate::check::{Checked, ok, reason, refused, violation};
use crate::ensure;
use crate::shopper::{guest, registered};
use crate::target::{Target, authorized, tampered};

pub(super) async fn merge(mut c: Client, target: Target) -> Checked {
    let visitor = guest(&target).await?;
    add_as(&mut c, &visitor, "lamp", 60).await?;
    add_as(&mut c, &visitor, "mug", 2).await?;
    let (user, _) = registered(&target).await?;
    add_as(&mut c, &user, "bowl", 1).await?;
    add_as(&mut c, &user, "lamp", 50).await?;
    let merged = ok(
        c.merge_guest_cart(merge_request(user.token(), visitor.token()))
            .await,
        "MergeGuestCart",
    )?;
    ensure!(
        lines(&merged.cart) == vec![line("bowl", 1), line("lamp", 99), line("mug", 2)],
        "the merged cart holds {:?}; expected bowl 1, lamp 99 (50 + 60 capped), mug 2",
        lines(&merged.cart)
    );
    ensure!(
        merged.truncated_product_ids == vec!["lamp".to_owned()],
        "truncated_product_ids is {:?}, expected [\"lamp\"]",
        merged.truncated_product_ids
    );
    ensure!(
        lines(&get(&mut c, &visitor).await?).is_empty(),
        "the guest's cart is not empty after the merge"
    );
    let again = ok(
        c.merge_guest_cart(merge_request(user.token(), visitor.token()))
            .await,
        "MergeGuestCart again",
    )?;
    ensure!(
        lines(&again.cart) == lines(&merged.cart) && again.truncated_product_ids.is_empty(),
        "a second merge changed something: {:?}, truncated {:?}",
        lines(&again.cart),
        again.truncated_product_ids
    );
    Ok(())
}

pub(super) async fn merge_refused(mut c: Client, target: Target) -> Checked {
    let (visitor, other_guest) = (guest(&target).await?, guest(&target).await?);
    let (user, _) = registered(&target).await?;
    let (other_user, _) = registered(&target).await?;
    let status = refused(
        c.merge_guest_cart(merge_request(visitor.token(), other_guest.token()))
            .await,
        Code::FailedPrecondition,
        "MergeGuestCart(caller is a guest)",
    )?;
    reason(
        &status,
        "CALLER_IS_GUEST",
        "MergeGuestCart(caller is a guest)",
    )?;
    for (what, token) in [
        ("empty", String::new()),
        ("malformed", "not-a-token".to_owned()),
        ("forged", tampered(visitor.token())),
        ("a registered user's", other_user.token().to_owned()),
        ("the caller's own", user.token().to_owned()),
    ] {
        let call = format!("MergeGuestCart({what} guest_access_token)");
        let status = refused(
            c.merge_guest_cart(merge_request(user.token(), &token))
                .await,
            Code::InvalidArgument,
            &call,
        )?;
        violation(&status, "guest_access_token", &call)?;
    }
    ensure!(
        lines(&get(&mut c, &user).await?).is_empty(),
        "refused merges changed the caller's cart"
    );
    Ok(())
}

/// A MergeGuestCart by the caller of `token` of the guest cart of `guest_token`.
fn merge_request(token: &str, guest_token: &str) -> Request<MergeGuestCartRequest> {
    authorized(
        token,
        MergeGuestCartRequest {
            guest_access_token: guest_token.to_owned(),
        },
    )
}
