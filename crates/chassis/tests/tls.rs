//! Mutual TLS through real handshakes on real sockets: what a caller needs to be served,
//! and who the server says it is (`chassis::auth::Peer`) for each kind of certificate.

mod common;

use std::time::Duration;

use bazaar_contract::recommendation::v1::recommendation_service_client::RecommendationServiceClient;
use chassis::auth::Peer;
use chassis::pki::{OPERATOR, OPERATOR_NAME, Pki};
use chassis::tls::Tls;
use chassis::{Server, ServerArgs};
use common::{Running, bind, call, client_tls, start, upstream};
use tokio::io::AsyncWriteExt;

/// A PKI of another CA, with a certificate for orders.
fn foreign_pki() -> (tempfile::TempDir, Pki) {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::at(dir.path().join("pki"));
    pki.ensure(&["orders"], &[]).unwrap();
    (dir, pki)
}

/// Calls the probe once over `tls`; what the call returned.
async fn call_over(running: &Running, tls: &Tls) -> Result<(), String> {
    let channel = running
        .channel_with(tls)
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    RecommendationServiceClient::new(channel)
        .list_recommendations(call(&[]))
        .await
        .map(drop)
        .map_err(|status| format!("call: {status:?}"))
}

#[tokio::test]
async fn a_caller_with_the_ca_and_no_certificate_is_served_as_anonymous() {
    let running = start().await;
    assert!(!running.tls.is_plaintext());
    running
        .client()
        .await
        .list_recommendations(call(&[]))
        .await
        .expect("answers over TLS");
    let seen = running.seen();
    assert_eq!(seen[0].identity, Peer::Anonymous);
    assert_eq!(seen[0].peer_certs, 0);
    running.stop().await;
}

#[tokio::test]
async fn the_peer_is_what_the_client_certificate_names() {
    let running = start().await;
    for (identity, expected) in [
        (Some("orders"), Peer::Service("orders".into())),
        (Some("gateway"), Peer::Service("gateway".into())),
        (Some(OPERATOR), Peer::Operator(OPERATOR_NAME.into())),
        (None, Peer::Anonymous),
    ] {
        call_over(&running, &client_tls(identity))
            .await
            .unwrap_or_else(|e| panic!("{identity:?}: {e}"));
        let seen = running.seen().pop().unwrap();
        assert_eq!(seen.identity, expected, "{identity:?}");
        // tonic's own accessor sees the verified certificate too.
        assert_eq!(
            seen.peer_certs,
            usize::from(identity.is_some()),
            "{identity:?}"
        );
    }
    running.stop().await;
}

#[tokio::test]
async fn in_plaintext_every_caller_is_unverified_and_tls_callers_are_not_served() {
    let running = bind(|args| args.plaintext = true, None).await.serve();
    assert!(running.tls.is_plaintext());
    call_over(&running, &Tls::Plaintext).await.unwrap();
    assert_eq!(running.seen()[0].identity, Peer::Unverified);
    assert!(
        call_over(&running, &client_tls(Some("orders")))
            .await
            .is_err()
    );
    assert_eq!(running.seen().len(), 1);
    running.stop().await;
}

#[tokio::test]
async fn a_caller_without_the_shops_ca_cannot_call() {
    let running = start().await;
    let (_dir, foreign) = foreign_pki();
    // It does not trust the server's certificate.
    let stranger = Tls::client(&foreign.ca_cert(), None).unwrap();
    let refused = call_over(&running, &stranger).await.unwrap_err();
    assert!(refused.contains("InvalidCertificate"), "{refused}");
    // Nor does speaking plaintext to a TLS server get anywhere.
    assert!(call_over(&running, &Tls::Plaintext).await.is_err());
    assert!(running.seen().is_empty());
    running.stop().await;
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_is_refused_at_the_handshake() {
    let running = start().await;
    let (_dir, foreign) = foreign_pki();
    let ours = chassis::pki::for_tests();
    let impostor = Tls::client(
        &ours.ca_cert(),
        Some((&foreign.cert("orders"), &foreign.key("orders"))),
    )
    .unwrap();
    assert!(call_over(&running, &impostor).await.is_err());
    assert!(running.seen().is_empty(), "{:?}", running.seen());
    running.stop().await;
}

#[tokio::test]
async fn an_outbound_call_presents_the_callers_certificate() {
    let last = start().await;
    let first = bind(
        |_| {},
        Some(upstream(&[last.address], Duration::from_secs(5))),
    )
    .await
    .serve();
    first
        .client()
        .await
        .list_recommendations(call(&[("x-forward", "1")]))
        .await
        .expect("forwarded over TLS");
    assert_eq!(last.seen()[0].identity, Peer::Service("orders".into()));
    first.stop().await;
    last.stop().await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_handshake_holds_up_nobody() {
    let running = start().await;
    let mut silent = tokio::net::TcpStream::connect(running.address)
        .await
        .unwrap();
    silent.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
    call_over(&running, &client_tls(None)).await.unwrap();
    drop(silent);
    running.stop().await;
}

#[tokio::test]
async fn missing_certificate_files_stop_the_start_naming_the_file_and_the_ways_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = ServerArgs::for_tests(dir.path());
    args.pki_dir = None;
    let error = Server::bind("catalog", &args, 0).await.unwrap_err();
    let message = chassis::error::chain(&error);
    let file = dir.path().join("pki").join("catalog.crt");
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("bazaar pki"), "{message}");
    assert!(message.contains("--plaintext"), "{message}");

    args.plaintext = true;
    Server::bind("catalog", &args, 0)
        .await
        .expect("--plaintext needs no certificate");
}
