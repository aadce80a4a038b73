//! Every suite of the kit against the Rust implementation of its service, started in this
//! process with the rest of the shop (bazaar-testkit), on SQLite and, when
//! `BAZAAR_TEST_POSTGRES_URL` is set, on PostgreSQL. One test per service and store, so a
//! failure names the service; every neighbour and an admin are given, so no check may be
//! skipped.

use std::time::Duration;

use bazaar_conformance::{Admin, Runner, Target, Verdict};
use bazaar_testkit::{ADMIN_EMAIL, Shop, grpc_services};

async fn conforms(service: &'static str, postgres: bool) {
    let test = format!("conformance of {service}");
    let Some(shop) = Shop::builder(&test).postgres_if(postgres).start().await else {
        return;
    };
    // The kit shows every service the certificate of the caller the access rules expect.
    let caller = chassis::testing::client_tls(Some(bazaar_conformance::caller_of(service)));
    let mut target = Target::new(service, shop.channel_with(service, &caller));
    for spec in grpc_services() {
        target = target.with(spec.name, shop.channel_with(spec.name, &caller));
    }
    let target = target.with_admin(Admin::Account {
        email: ADMIN_EMAIL.to_owned(),
        password: "the conformance admin's password".to_owned(),
        code: Some(shop.admin_code().await),
    });
    let mut runner = Runner::new(service, Duration::from_secs(120), |outcome| {
        eprintln!("{outcome}");
    });
    bazaar_conformance::run(&target, &mut runner).await;
    let outcomes = runner.into_outcomes();
    shop.shutdown().await;
    let not_passed: Vec<String> = outcomes
        .iter()
        .filter(|o| o.verdict != Verdict::Passed)
        .map(ToString::to_string)
        .collect();
    assert!(!outcomes.is_empty(), "the {service} suite ran no check");
    assert!(
        not_passed.is_empty(),
        "{} of {} {service} checks did not pass:\n{}",
        not_passed.len(),
        outcomes.len(),
        not_passed.join("\n")
    );
}

macro_rules! conformance {
    ($($service:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $service() {
                    super::conforms(stringify!($service), false).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $service() {
                    super::conforms(stringify!($service), true).await;
                }
            )*
        }
    };
}

conformance!(
    catalog,
    currency,
    identity,
    cart,
    inventory,
    payment,
    shipping,
    orders,
    notification,
    recommendation,
);
