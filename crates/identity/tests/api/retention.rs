//! Retention: ended sessions and idle guests are deleted, on the real store, with the clock
//! the test moves; nothing that can still be used is.

use std::time::Duration;

use bazaar_contract::identity::v1::*;
use identity::retention::{Retention, Swept, sweep};
use identity::store::{IdentityStore, MIGRATIONS};
use sqlx::Row;
use tonic::Code;

use crate::support::{Backend, PASSWORD, authorized, reason};

on_every_backend!(ended_sessions_and_idle_guests_are_deleted_in_batches);

const DAY: Duration = Duration::from_secs(86_400);

async fn count(store: &IdentityStore, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(store.pool())
        .await
        .expect("a count")
        .try_get(0)
        .expect("an integer")
}

async fn ended_sessions_and_idle_guests_are_deleted_in_batches(backend: &Backend) {
    let identity = backend.start().await;
    let store = IdentityStore::new(
        chassis::store::open(&backend.url(), &MIGRATIONS)
            .await
            .expect("the store opens"),
    );
    let retention = Retention::days(30, 7);
    let mut client = identity.client();
    // Day 0: five guests, and Ada with one session open and one logged out.
    let mut guests = Vec::new();
    for _ in 0..5 {
        guests.push(
            client
                .start_guest_session(StartGuestSessionRequest {})
                .await
                .unwrap()
                .into_inner()
                .session
                .unwrap(),
        );
    }
    let ada = identity.sign_up("ada@example.com").await.session.unwrap();
    let second = identity
        .log_in("ada@example.com", PASSWORD)
        .await
        .unwrap()
        .session
        .unwrap();
    client
        .log_out(authorized(LogOutRequest {}, &second.access_token))
        .await
        .unwrap();

    // Day 8: only the logged-out session is past its retention.
    identity.clock.advance(8 * DAY);
    let swept = sweep(&store, identity.now_ms(), retention, 2)
        .await
        .unwrap();
    assert_eq!(
        swept,
        Swept {
            sessions: 1,
            guests: 0
        }
    );
    identity
        .refresh(&ada.refresh_token)
        .await
        .expect("open sessions are kept");
    identity
        .refresh(&guests[0].refresh_token)
        .await
        .expect("guests with an open session are kept");

    // Day 40: a new guest. The others' sessions expired on day 30 and are a week past it;
    // no guest has been idle for 30 days yet.
    identity.clock.advance(32 * DAY);
    let fresh = client
        .start_guest_session(StartGuestSessionRequest {})
        .await
        .unwrap()
        .into_inner()
        .session
        .unwrap();
    let swept = sweep(&store, identity.now_ms(), retention, 2)
        .await
        .unwrap();
    assert_eq!(
        swept,
        Swept {
            sessions: 6,
            guests: 0
        },
        "the sessions that expired on day 30 are deleted"
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM users").await, 7);

    // Day 61: the first five guests have been idle for 31 days; in batches of 2.
    identity.clock.advance(21 * DAY);
    let swept = sweep(&store, identity.now_ms(), retention, 2)
        .await
        .unwrap();
    assert_eq!(
        swept,
        Swept {
            sessions: 0,
            guests: 5
        }
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM users WHERE kind = 'guest'").await,
        1,
        "the guest with an open session stays"
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM users WHERE kind = 'user'").await,
        1,
        "registered users are never deleted"
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM sessions").await, 1);
    identity
        .refresh(&fresh.refresh_token)
        .await
        .expect("the new guest's session works");
    let status = identity
        .refresh(&guests[1].refresh_token)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(reason(&status), "SESSION_ENDED");
    identity
        .log_in("ada@example.com", PASSWORD)
        .await
        .expect("Ada still logs in");
    // Nothing left to do.
    let swept = sweep(&store, identity.now_ms(), retention, 2)
        .await
        .unwrap();
    assert_eq!(swept, Swept::default());
    store.pool().close().await;
    identity.stop().await;
}
