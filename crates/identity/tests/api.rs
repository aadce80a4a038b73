//! identity through its contract only: real gRPC on a real socket, a real SQLite file, and
//! the real PostgreSQL when `BAZAAR_TEST_POSTGRES_URL` is set.

use std::sync::Arc;
use std::time::Duration;

use bazaar_contract::identity::v1::identity_service_client::IdentityServiceClient;
use bazaar_contract::identity::v1::*;
use chassis::auth::testing::TestIssuer;
use chassis::client::Upstream;
use chassis::store::testing::TempPostgres;
use chassis::{ServerArgs, Shutdown};
use identity::clock::ManualClock;
use identity::{Config, Identity};
use tonic::transport::Channel;
use tonic::{Code, Request};
use tonic_types::StatusExt;

struct Running {
    client: IdentityServiceClient<Channel>,
    address: std::net::SocketAddr,
    clock: ManualClock,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<()>,
}

async fn start(data_dir: &std::path::Path, database_url: Option<String>) -> Running {
    let config = Config {
        server: ServerArgs::for_tests(data_dir),
        database_url,
        admin_emails: "Boss@Example.com".to_owned(),
        client_attempts_per_minute: 600,
    };
    let clock = ManualClock::new();
    let identity = Identity::bind_with_clock(&config, Arc::new(clock.clone()))
        .await
        .expect("binds");
    let address = identity.local_addr();
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    let task = tokio::spawn(async move { identity.run(stop).await.expect("runs") });
    let client = IdentityServiceClient::connect(format!("http://{address}"))
        .await
        .expect("connects");
    let running = Running {
        client,
        address,
        clock,
        shutdown,
        task,
    };
    // Wait until the store and keys are loaded.
    for _ in 0..200 {
        match running
            .client
            .clone()
            .list_signing_keys(ListSigningKeysRequest::default())
            .await
        {
            Ok(_) => return running,
            Err(status) if status.code() == Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(status) => panic!("unexpected {status:?}"),
        }
    }
    panic!("identity never became ready");
}

impl Running {
    async fn stop(self) {
        self.shutdown.trigger();
        self.task.await.unwrap();
    }
}

fn authorized<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

fn fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

async fn sign_up(client: &mut IdentityServiceClient<Channel>, email: &str) -> SignUpResponse {
    client
        .sign_up(SignUpRequest {
            email: email.to_owned(),
            password: "correct horse battery".to_owned(),
            display_name: "Ada".to_owned(),
        })
        .await
        .expect("sign-up")
        .into_inner()
}

async fn contract_holds(running: &Running) {
    let mut client = running.client.clone();

    // Sign up, then the token names the user, and other services can verify it offline
    // with the keys identity publishes.
    let signed = sign_up(&mut client, " Ada@Example.com ").await;
    let user = signed.user.unwrap();
    assert_eq!(user.email, "ada@example.com");
    assert_eq!(user.kind, UserKind::Registered as i32);
    assert!(user.roles.is_empty());
    let session = signed.session.unwrap();
    let verifier = chassis::auth::Verifier::from_identity(
        Upstream::connect(
            "identity",
            &[running.address.to_string()],
            Duration::from_secs(5),
        )
        .unwrap(),
    );
    let caller = verifier
        .verify(&session.access_token)
        .await
        .expect("verifies");
    assert_eq!(caller.user_id, user.id);
    assert_eq!(caller.kind, chassis::auth::CallerKind::User);
    let me = client
        .get_current_user(authorized(GetCurrentUserRequest {}, &session.access_token))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(me.id, user.id);

    // The email is taken, whatever its case.
    let status = client
        .sign_up(SignUpRequest {
            email: "ADA@example.com".to_owned(),
            password: "another long password".to_owned(),
            display_name: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(reason(&status), "EMAIL_TAKEN");

    // Bad input names every field.
    let status = client
        .sign_up(SignUpRequest {
            email: "not-an-email".to_owned(),
            password: "short".to_owned(),
            display_name: "x".repeat(101),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(fields(&status), ["email", "password", "display_name"]);
    let status = client
        .sign_up(SignUpRequest {
            email: "same@example.com".to_owned(),
            password: "same@example.com".to_owned(),
            display_name: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&status), ["password"]);
    let status = client.log_in(LogInRequest::default()).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(fields(&status), ["email", "password"]);

    // A wrong password and an unknown email get the same answer.
    let wrong = client
        .log_in(LogInRequest {
            email: "ada@example.com".to_owned(),
            password: "wrong password!".to_owned(),
        })
        .await
        .unwrap_err();
    let unknown = client
        .log_in(LogInRequest {
            email: "nobody@example.com".to_owned(),
            password: "wrong password!".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated);
    assert_eq!(reason(&wrong), "INVALID_CREDENTIALS");
    assert_eq!(
        (wrong.code(), wrong.message()),
        (unknown.code(), unknown.message())
    );

    // A right password logs in (and forgets the failure above).
    let logged = client
        .log_in(LogInRequest {
            email: "ADA@example.com".to_owned(),
            password: "correct horse battery".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(logged.user.unwrap().id, user.id);

    // Five failures lock the account for a while, even for the right password.
    for _ in 0..5 {
        let status = client
            .log_in(LogInRequest {
                email: "ada@example.com".to_owned(),
                password: "guess guess guess".to_owned(),
            })
            .await
            .unwrap_err();
        assert_eq!(reason(&status), "INVALID_CREDENTIALS");
    }
    let status = client
        .log_in(LogInRequest {
            email: "ada@example.com".to_owned(),
            password: "correct horse battery".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(reason(&status), "TOO_MANY_ATTEMPTS");
    let wait = status
        .get_details_retry_info()
        .and_then(|r| r.retry_delay)
        .expect("a RetryInfo");
    assert!(wait > Duration::ZERO && wait <= Duration::from_secs(15 * 60));
    // Other accounts are not affected.
    sign_up(&mut client, "grace@example.com").await;
    client
        .log_in(LogInRequest {
            email: "grace@example.com".to_owned(),
            password: "correct horse battery".to_owned(),
        })
        .await
        .expect("another account logs in");
    running.clock.advance(Duration::from_secs(15 * 60 + 1));
    client
        .log_in(LogInRequest {
            email: "ada@example.com".to_owned(),
            password: "correct horse battery".to_owned(),
        })
        .await
        .expect("after the window, the right password works again");
    // Back to the present, so the tokens issued next carry today's times.
    running.clock.rewind(Duration::from_secs(15 * 60 + 1));

    // Guests.
    let guest = client
        .start_guest_session(StartGuestSessionRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(guest.user.as_ref().unwrap().kind, UserKind::Guest as i32);
    let guest_caller = verifier
        .verify(&guest.session.as_ref().unwrap().access_token)
        .await
        .unwrap();
    assert_eq!(guest_caller.kind, chassis::auth::CallerKind::Guest);
    assert_ne!(guest_caller.user_id, user.id);

    // Admins are named by configuration.
    let boss = sign_up(&mut client, "boss@example.com").await;
    assert_eq!(boss.user.unwrap().roles, [Role::Admin as i32]);
    let boss_caller = verifier
        .verify(&boss.session.unwrap().access_token)
        .await
        .unwrap();
    assert!(boss_caller.is_admin());

    // Refresh, then log out: the refresh token and the session stop working.
    let refreshed = client
        .refresh_session(RefreshSessionRequest {
            refresh_token: session.refresh_token.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .session
        .unwrap();
    assert_eq!(refreshed.refresh_token, session.refresh_token);
    verifier.verify(&refreshed.access_token).await.unwrap();
    client
        .log_out(authorized(LogOutRequest {}, &refreshed.access_token))
        .await
        .unwrap();
    client
        .log_out(authorized(LogOutRequest {}, &refreshed.access_token))
        .await
        .expect("logging out twice is fine");
    let status = client
        .refresh_session(RefreshSessionRequest {
            refresh_token: session.refresh_token.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(reason(&status), "SESSION_ENDED");
    let status = client
        .get_current_user(authorized(GetCurrentUserRequest {}, &session.access_token))
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "SESSION_ENDED");
    let status = client
        .refresh_session(RefreshSessionRequest::default())
        .await
        .unwrap_err();
    assert_eq!(fields(&status), ["refresh_token"]);

    // Missing, forged and expired tokens are refused by the user-scoped RPCs.
    let forged = TestIssuer::new().bearer(&user.id);
    running.clock.rewind(Duration::from_secs(3600));
    let stale = sign_up(&mut client, "late@example.com")
        .await
        .session
        .unwrap()
        .access_token;
    running.clock.advance(Duration::from_secs(3600));
    for token in [
        None,
        Some(forged.trim_start_matches("Bearer ").to_owned()),
        Some(stale),
    ] {
        let mut get = Request::new(GetCurrentUserRequest {});
        let mut out = Request::new(LogOutRequest {});
        if let Some(token) = &token {
            get = authorized(GetCurrentUserRequest {}, token);
            out = authorized(LogOutRequest {}, token);
        }
        assert_eq!(
            client.get_current_user(get).await.unwrap_err().code(),
            Code::Unauthenticated
        );
        assert_eq!(
            client.log_out(out).await.unwrap_err().code(),
            Code::Unauthenticated
        );
    }

    // Keys page like any list.
    let status = client
        .list_signing_keys(ListSigningKeysRequest {
            page_size: -1,
            page_token: "nope".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&status), ["page_size", "page_token"]);
    let keys = client
        .list_signing_keys(ListSigningKeysRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(keys.signing_keys.len(), 1);
    assert_eq!(keys.signing_keys[0].public_key.len(), 32);
    assert_eq!(keys.cache_ttl.unwrap().seconds, 600);
}

#[tokio::test]
async fn the_contract_holds_on_sqlite_and_keys_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path(), None).await;
    contract_holds(&running).await;
    let mut client = running.client.clone();
    let token = sign_up(&mut client, "keeper@example.com")
        .await
        .session
        .unwrap()
        .access_token;
    running.stop().await;

    // The password is in the database only as its Argon2id hash.
    let mut bytes = std::fs::read(dir.path().join("identity.db")).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("identity.db-wal")) {
        bytes.extend(wal);
    }
    let haystack = String::from_utf8_lossy(&bytes);
    assert!(!haystack.contains("correct horse battery"));
    assert!(haystack.contains("$argon2id$"));

    let running = start(dir.path(), None).await;
    let me = running
        .client
        .clone()
        .get_current_user(authorized(GetCurrentUserRequest {}, &token))
        .await
        .expect("a token from before the restart still works");
    assert_eq!(me.into_inner().user.unwrap().email, "keeper@example.com");
    running.stop().await;
}

#[tokio::test]
async fn the_contract_holds_on_postgres() {
    let Some(database) = TempPostgres::create("identity::the_contract_holds_on_postgres")
        .await
        .expect("PostgreSQL answers")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path(), Some(database.url.clone())).await;
    contract_holds(&running).await;
    running.stop().await;
    database.drop_database().await.unwrap();
}
