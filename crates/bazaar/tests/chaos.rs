//! `bazaar chaos` against a real `bazaar up --chaos`: every service its own process on
//! 127.0.0.16 (so that other shops on the machine keep their ports), with TLS and a
//! temporary data directory. A fault set with the command makes a real gRPC call fail,
//! shows on `/status` and in `/api/v1/status`, and `clear` heals it; bad arguments are
//! refused with clear errors; a second `bazaar up` on the same data directory refuses to
//! start.

use std::time::Duration;

use bazaar_contract::currency::v1::currency_service_client::CurrencyServiceClient;
use chassis::tls::Tls;
use tonic::Code;

mod common;

use common::{Up, bazaar};

const HOST: &str = "127.0.0.16";
/// Safety net for a change to show.
const PATIENCE: Duration = Duration::from_secs(30);

/// The code of one `Convert` call to currency (`Ok` for an answer).
async fn convert(tls: &Tls) -> (Code, String) {
    let channel = match tls
        .endpoint(&format!("{HOST}:{}", chassis::topology::CURRENCY.port))
        .expect("a valid address")
        .connect()
        .await
    {
        Ok(channel) => channel,
        Err(error) => return (Code::Unavailable, format!("cannot connect: {error}")),
    };
    let request = common::ten_euros_in_dollars();
    match CurrencyServiceClient::new(channel).convert(request).await {
        Ok(_) => (Code::Ok, String::new()),
        Err(status) => (status.code(), status.message().to_owned()),
    }
}

/// Calls until `Convert` answers `code`, for up to [`PATIENCE`]; the last message.
async fn until_convert_answers(tls: &Tls, code: Code) -> String {
    let began = tokio::time::Instant::now();
    loop {
        let (answered, message) = convert(tls).await;
        if answered == code {
            return message;
        }
        assert!(
            began.elapsed() < PATIENCE,
            "Convert kept answering {answered:?} ({message}), not {code:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `GET path` of the storefront, until `ready` holds of its body, for up to [`PATIENCE`].
async fn storefront_until(path: &str, ready: impl Fn(&str) -> bool) -> String {
    let address = format!("{HOST}:{}", chassis::topology::GATEWAY.port);
    let began = tokio::time::Instant::now();
    loop {
        if let Ok((200, body)) =
            chassis::scrape::fetch::get(&address, path, Duration::from_secs(5), 4 << 20).await
        {
            let body = String::from_utf8_lossy(&body).into_owned();
            if ready(&body) {
                return body;
            }
            assert!(began.elapsed() < PATIENCE, "{path} never got there: {body}");
        }
        assert!(began.elapsed() < PATIENCE, "{path} never answered");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_set_fails_a_method_shows_on_status_and_clear_heals_it() {
    let data = tempfile::tempdir().unwrap();
    let (ok, _, err) = bazaar(data.path(), &["chaos", "list"]).await;
    assert!(!ok);
    assert!(err.contains("no bazaar up is running"), "{err}");

    let up = Up::start(
        data.path(),
        &["--chaos", "--host", HOST],
        &[],
        "all 11 services up",
    )
    .await;

    let tls = Tls::client(&data.path().join("pki/ca.crt"), None).expect("the shop's CA");
    assert_eq!(convert(&tls).await.0, Code::Ok);

    // Bad arguments are refused before anything is sent.
    for (args, says) in [
        (
            &[
                "chaos",
                "set",
                "currency",
                "--method",
                "Charge",
                "--error",
                "UNAVAILABLE=1",
            ][..],
            "no method",
        ),
        (
            &["chaos", "set", "gateway", "--error", "UNAVAILABLE=1"],
            "no gRPC",
        ),
        (
            &["chaos", "set", "currency", "--error", "UNAVAILABLE=2"],
            "out of range",
        ),
        (
            &["chaos", "set", "currency", "--error", "OK=0.5"],
            "OK is not a fault",
        ),
        (&["chaos", "set", "currency", "--latency", "2m@0.1"], "unit"),
        (
            &[
                "chaos",
                "set",
                "currency",
                "--error",
                "INTERNAL=0.6",
                "--error",
                "UNAVAILABLE=0.6",
            ],
            "add up",
        ),
        (&["chaos", "set", "currency"], "nothing to inject"),
    ] {
        let (ok, _, err) = bazaar(data.path(), args).await;
        assert!(!ok, "{args:?} is refused");
        assert!(err.contains(says), "{args:?}: {err}");
    }

    let (ok, out, err) = bazaar(
        data.path(),
        &[
            "chaos",
            "set",
            "currency",
            "--method",
            "Convert",
            "--error",
            "unavailable=1",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        out.contains("Convert") && out.contains("Unavailable 100%"),
        "{out}"
    );
    let message = until_convert_answers(&tls, Code::Unavailable).await;
    assert!(message.contains("injected"), "{message}");
    let (ok, out, _) = bazaar(data.path(), &["chaos", "list"]).await;
    assert!(
        ok && out.contains("currency") && out.contains("Convert"),
        "{out}"
    );

    let answer = storefront_until("/api/v1/status", |body| body.contains("\"faults\":[{")).await;
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let faults = answer["metrics"]["faults"].as_array().unwrap();
    assert!(
        faults.iter().any(|f| f["service"] == "currency"
            && f["method"] == "Convert"
            && f["fault"] == "Unavailable"
            && f["rate"] == 1.0),
        "{faults:?}"
    );
    let page = storefront_until("/status", |body| body.contains("id=\"faults-injected\"")).await;
    assert!(page.contains("Faults injected"));

    // Another shop on the same data directory refuses to start (and takes no port).
    let (ok, _, err) = bazaar(data.path(), &["up", "--host", "127.0.0.17"]).await;
    assert!(!ok);
    assert!(err.contains("another bazaar up"), "{err}");

    let (ok, out, err) = bazaar(data.path(), &["chaos", "clear"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("no faults injected"), "{out}");
    until_convert_answers(&tls, Code::Ok).await;

    up.stop().await;
    assert!(
        !data.path().join("control.sock").exists(),
        "the control socket goes when the shop stops"
    );
}
