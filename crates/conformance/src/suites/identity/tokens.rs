//! The access token as the contract defines it: an EdDSA JWT whose signature verifies with
//! a key ListSigningKeys publishes, carrying the promised claims; an operator-configured
//! admin's token carries the admin role.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bazaar_contract::identity::v1::*;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde_json::Value;

use super::signing_keys::keys;
use super::{Client, new_user};
use crate::check::{Checked, fail, ok};
use crate::ensure;
use crate::target::{Admin, Target, authorized};

/// The three parts of a JWT, decoded: header, claims, and the signed input and signature.
fn decode(token: &str) -> Checked<(Value, Value, String, Vec<u8>)> {
    let parts: Vec<&str> = token.split('.').collect();
    ensure!(
        parts.len() == 3,
        "the access token has {} dot-separated parts, not 3 (JWS compact)",
        parts.len()
    );
    let json = |part: &str, what: &str| -> Checked<Value> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .or_else(|_| fail(format!("the token's {what} is not base64url")))?;
        serde_json::from_slice(&bytes).or_else(|_| fail(format!("the token's {what} is not JSON")))
    };
    let signature = URL_SAFE_NO_PAD
        .decode(parts[2])
        .or_else(|_| fail("the token's signature is not base64url"))?;
    Ok((
        json(parts[0], "header")?,
        json(parts[1], "claims")?,
        format!("{}.{}", parts[0], parts[1]),
        signature,
    ))
}

/// Checks the token's header, signature and claims; returns the claims.
async fn verified_claims(c: &Client, token: &str, user: &User, kind: &str) -> Checked<Value> {
    let (header, claims, signed, signature) = decode(token)?;
    ensure!(
        header["alg"] == "EdDSA",
        "the token's alg is {}, not \"EdDSA\"",
        header["alg"]
    );
    let Some(kid) = header["kid"].as_str() else {
        return fail("the token's header has no kid");
    };
    let keys = keys(c, 100).await?;
    let Some(key) = keys.iter().find(|k| k.key_id == kid) else {
        return fail(format!(
            "the token's kid {kid:?} is not among the listed keys"
        ));
    };
    let Ok(bytes) = <[u8; 32]>::try_from(key.public_key.as_slice()) else {
        return fail(format!(
            "key {kid} is {} bytes, not 32",
            key.public_key.len()
        ));
    };
    let Ok(verifying) = VerifyingKey::from_bytes(&bytes) else {
        return fail(format!("key {kid} is not an Ed25519 public key"));
    };
    let Ok(signature) = Signature::from_slice(&signature) else {
        return fail("the token's signature is not 64 bytes");
    };
    ensure!(
        verifying.verify(signed.as_bytes(), &signature).is_ok(),
        "the token's signature does not verify with key {kid}"
    );
    ensure!(
        claims["iss"] == "bazaar.identity",
        "iss is {}",
        claims["iss"]
    );
    ensure!(
        claims["aud"] == "bazaar"
            || claims["aud"]
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v == "bazaar")),
        "aud is {}",
        claims["aud"]
    );
    ensure!(
        claims["sub"] == user.id.as_str(),
        "sub is {}, the user id {:?}",
        claims["sub"],
        user.id
    );
    ensure!(
        claims["kind"] == kind,
        "kind is {}, expected {kind:?}",
        claims["kind"]
    );
    ensure!(
        claims["sid"].as_str().is_some_and(|s| !s.is_empty()),
        "sid is {}",
        claims["sid"]
    );
    ensure!(
        claims["roles"].is_array(),
        "roles is {}, not an array",
        claims["roles"]
    );
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return fail(format!(
            "iat {} or exp {} is not a number",
            claims["iat"], claims["exp"]
        ));
    };
    ensure!(
        exp - iat == 900,
        "exp - iat is {} s, not 15 minutes",
        exp - iat
    );
    Ok(claims)
}

pub(super) async fn token_format(mut c: Client) -> Checked {
    let (_, response) = new_user(&mut c).await?;
    let (Some(user), Some(session)) = (response.user, response.session) else {
        return fail("SignUp answered without user or session");
    };
    let claims = verified_claims(&c, &session.access_token, &user, "user").await?;
    ensure!(
        claims["roles"].as_array().is_some_and(Vec::is_empty),
        "a shopper's roles claim is {}",
        claims["roles"]
    );
    ensure!(
        session.access_token_expire_time.as_ref().map(|t| t.seconds) == claims["exp"].as_i64(),
        "access_token_expire_time {:?} differs from exp {}",
        session.access_token_expire_time,
        claims["exp"]
    );
    let guest = ok(
        c.start_guest_session(StartGuestSessionRequest {}).await,
        "StartGuestSession",
    )?;
    let (Some(user), Some(session)) = (guest.user, guest.session) else {
        return fail("StartGuestSession answered without user or session");
    };
    verified_claims(&c, &session.access_token, &user, "guest").await?;
    Ok(())
}

pub(super) async fn admin(mut c: Client, target: Target) -> Checked {
    let Admin::Account { email, .. } = target.admin()?.clone() else {
        return Err(crate::check::Problem::Skipped(
            "--admin-email and --admin-password (not a token)".into(),
        ));
    };
    let token = crate::shopper::admin_token(&target).await?;
    let me = ok(
        c.get_current_user(authorized(&token, GetCurrentUserRequest {}))
            .await,
        "GetCurrentUser(admin)",
    )?;
    let Some(user) = me.user else {
        return fail("GetCurrentUser answered without the user");
    };
    ensure!(
        user.email.eq_ignore_ascii_case(&email),
        "the admin's token names {:?}",
        user.email
    );
    ensure!(
        user.roles.contains(&(Role::Admin as i32)),
        "the admin has roles {:?}",
        user.roles
    );
    let claims = verified_claims(&c, &token, &user, "user").await?;
    ensure!(
        claims["roles"]
            .as_array()
            .is_some_and(|r| r.iter().any(|v| v == "admin")),
        "the admin's roles claim is {}",
        claims["roles"]
    );
    Ok(())
}
