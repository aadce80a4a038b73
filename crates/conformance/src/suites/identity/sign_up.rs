//! SignUp: a registered user with a fresh session; a taken email (in any case), a
//! malformed email, a password outside the policy and a long name refused.

use bazaar_contract::identity::v1::*;
use tonic::Code;

use super::{Client, PASSWORD, email, new_user, session_of, sign_up_request};
use crate::check::{Checked, fail, invalid, ok, reason, refused};
use crate::ensure;
use crate::suites::{from_now, repeat};
use crate::target::authorized;

pub(super) async fn sign_up(mut c: Client) -> Checked {
    let (email, response) = new_user(&mut c).await?;
    let Some(user) = response.user else {
        return fail("SignUp answered without the user");
    };
    ensure!(
        user.kind() == UserKind::Registered,
        "SignUp made a user of kind {:?}",
        user.kind()
    );
    ensure!(
        user.email == email,
        "SignUp made a user with email {:?}, asked {email:?}",
        user.email
    );
    ensure!(
        user.display_name == "Ada",
        "SignUp made a user with display_name {:?}",
        user.display_name
    );
    ensure!(
        user.roles.is_empty(),
        "a new shopper has roles {:?}",
        user.roles
    );
    ensure!(
        (1..=64).contains(&user.id.len()),
        "user id of {} characters",
        user.id.len()
    );
    ensure!(
        from_now(user.create_time.as_ref()).is_some_and(|s| s.abs() < 300.0),
        "create_time is not now: {:?}",
        user.create_time
    );
    let session = session_of(response.session, "SignUp")?;
    let me = ok(
        c.get_current_user(authorized(&session.access_token, GetCurrentUserRequest {}))
            .await,
        "GetCurrentUser",
    )?;
    ensure!(
        me.user.as_ref() == Some(&user),
        "GetCurrentUser returned {:?}, SignUp {user:?}",
        me.user
    );
    Ok(())
}

pub(super) async fn email_taken(mut c: Client) -> Checked {
    let (email, _) = new_user(&mut c).await?;
    let status = refused(
        c.sign_up(sign_up_request(&email, PASSWORD)).await,
        Code::AlreadyExists,
        "SignUp(same email again)",
    )?;
    reason(&status, "EMAIL_TAKEN", "SignUp(same email again)")?;
    let status = refused(
        c.sign_up(sign_up_request(&email.to_uppercase(), PASSWORD))
            .await,
        Code::AlreadyExists,
        "SignUp(same email in upper case)",
    )?;
    reason(&status, "EMAIL_TAKEN", "SignUp(same email in upper case)")?;
    Ok(())
}

pub(super) async fn sign_up_invalid(mut c: Client) -> Checked {
    for bad in ["no-at-sign", "@conformance.test", "someone@", "a@b@c", ""] {
        invalid(
            c.sign_up(sign_up_request(bad, PASSWORD)).await,
            "email",
            &format!("SignUp(email {bad:?})"),
        )?;
    }
    let long_email = format!("{}@example.com", repeat('a', 243));
    invalid(
        c.sign_up(sign_up_request(&long_email, PASSWORD)).await,
        "email",
        "SignUp(email of 255 characters)",
    )?;
    invalid(
        c.sign_up(sign_up_request(&email(), "too-short")).await,
        "password",
        "SignUp(password of 9 characters)",
    )?;
    invalid(
        c.sign_up(sign_up_request(&email(), &repeat('p', 129)))
            .await,
        "password",
        "SignUp(password of 129 characters)",
    )?;
    invalid(
        c.sign_up(sign_up_request(&email(), "")).await,
        "password",
        "SignUp(empty password)",
    )?;
    let same = email();
    invalid(
        c.sign_up(sign_up_request(&same, &same)).await,
        "password",
        "SignUp(password equal to the email)",
    )?;
    let mut long_name = sign_up_request(&email(), PASSWORD);
    long_name.display_name = repeat('n', 101);
    invalid(
        c.sign_up(long_name).await,
        "display_name",
        "SignUp(display_name of 101 characters)",
    )?;
    let mut longest = sign_up_request(&email(), &repeat('p', 128));
    longest.display_name = repeat('n', 100);
    ok(
        c.sign_up(longest).await,
        "SignUp(password of 128 and display_name of 100 characters)",
    )?;
    Ok(())
}

pub(super) async fn password_code_points(mut c: Client) -> Checked {
    ok(
        c.sign_up(sign_up_request(&email(), &repeat('é', 10))).await,
        "SignUp(password of 10 two-byte characters)",
    )?;
    invalid(
        c.sign_up(sign_up_request(&email(), &repeat('é', 9))).await,
        "password",
        "SignUp(password of 9 two-byte characters)",
    )
}
