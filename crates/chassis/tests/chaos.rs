//! Faults on demand, through a real server: the probe of `common` served over TLS with a
//! fault file, called with real gRPC clients, the file changed while it serves.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chassis::chaos::POLL_EVERY;
use common::{PATIENCE, Running, bind, call};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

const METHOD: &str = "ListRecommendations";

/// Writes `content` to `file` as `bazaar up` does: a new file renamed over the old one.
fn write(file: &Path, content: &str) {
    let fresh = file.with_extension("new");
    std::fs::write(&fresh, content).expect("writes the new fault file");
    std::fs::rename(&fresh, file).expect("renames it over the old one");
}

fn error_rule(method: &str, code: &str, rate: f64) -> String {
    let method = if method == "*" {
        String::new()
    } else {
        format!("\"method\":\"{method}\",")
    };
    format!(r#"{{"rules":[{{{method}"errors":[{{"code":"{code}","rate":{rate}}}]}}]}}"#)
}

/// A probe serving with the fault file `dir/faults.json` (which may not exist yet).
async fn start_with_faults(dir: &Path) -> (Running, PathBuf) {
    let file = dir.join("faults.json");
    let given = file.clone();
    let running = bind(move |args| args.chaos_file = Some(given), None)
        .await
        .serve();
    (running, file)
}

/// The code of one call to the probe (`Ok` for an answer).
async fn code_of_a_call(running: &Running) -> Code {
    match running.client().await.list_recommendations(call(&[])).await {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// Calls until a call answers `code`, for up to [`PATIENCE`].
async fn until_calls_answer(running: &Running, code: Code) {
    tokio::time::timeout(PATIENCE, async {
        while code_of_a_call(running).await != code {
            tokio::time::sleep(POLL_EVERY / 2).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("calls never answered {code:?} (safety net)"));
}

#[tokio::test]
async fn an_error_at_rate_one_is_answered_without_calling_the_handler_and_health_is_spared() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("faults.json");
    write(&file, &error_rule("*", "UNAVAILABLE", 1.0));
    let (running, _) = start_with_faults(dir.path()).await;

    let status = running
        .client()
        .await
        .list_recommendations(call(&[]))
        .await
        .expect_err("every call is faulted");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("injected"), "{status:?}");
    assert!(running.seen().is_empty(), "the handler was never called");
    assert_eq!(running.health("").await, ServingStatus::Serving);
    assert_eq!(running.health(common::PROBE).await, ServingStatus::Serving);
    running.stop().await;
}

#[tokio::test]
async fn without_a_file_or_with_an_empty_one_nothing_is_injected() {
    let dir = tempfile::tempdir().unwrap();
    let (running, file) = start_with_faults(dir.path()).await;
    assert_eq!(code_of_a_call(&running).await, Code::Ok);
    write(&file, "");
    tokio::time::sleep(POLL_EVERY * 3).await;
    assert_eq!(code_of_a_call(&running).await, Code::Ok);
    assert_eq!(running.seen().len(), 2);
    running.stop().await;
}

#[tokio::test]
async fn latency_delays_the_call_and_is_cut_short_by_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("faults.json");
    write(
        &file,
        &format!(r#"{{"rules":[{{"method":"{METHOD}","latency":{{"millis":300,"rate":1}}}}]}}"#),
    );
    let (running, _) = start_with_faults(dir.path()).await;

    let began = std::time::Instant::now();
    running
        .client()
        .await
        .list_recommendations(call(&[]))
        .await
        .expect("a delayed call is still answered");
    assert!(
        began.elapsed() >= Duration::from_millis(300),
        "the call waited the injected latency first"
    );
    assert_eq!(running.seen().len(), 1);

    write(
        &file,
        &format!(r#"{{"rules":[{{"method":"{METHOD}","latency":{{"millis":30000,"rate":1}}}}]}}"#),
    );
    tokio::time::sleep(POLL_EVERY * 3).await;
    let mut request = call(&[]);
    request.set_timeout(Duration::from_millis(200));
    let status = running
        .untimed_client()
        .await
        .list_recommendations(request)
        .await
        .expect_err("the deadline passes during the latency");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(running.seen().len(), 1, "the handler was not called");
    running.stop().await;
}

#[tokio::test]
async fn changes_of_the_file_are_picked_up_while_serving_and_garbage_keeps_the_last_faults() {
    chassis::metrics::install();
    let dir = tempfile::tempdir().unwrap();
    let (running, file) = start_with_faults(dir.path()).await;
    assert_eq!(code_of_a_call(&running).await, Code::Ok);

    write(&file, &error_rule(METHOD, "14", 1.0));
    until_calls_answer(&running, Code::Unavailable).await;
    let metrics = chassis::metrics::render();
    assert!(
        metrics.contains(&format!(
            "bazaar_chaos_faults_active{{grpc_method=\"{METHOD}\",fault=\"Unavailable\"}} 1"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "bazaar_chaos_injected_total{{grpc_method=\"{METHOD}\",fault=\"Unavailable\"}}"
        )),
        "{metrics}"
    );

    // Garbage, a rate out of range, a method the process does not serve: each is refused,
    // and the faults in force stay.
    for bad in [
        "{not json".to_owned(),
        error_rule(METHOD, "Internal", 1.5),
        error_rule("NoSuchMethod", "Internal", 1.0),
        error_rule(METHOD, "OK", 1.0),
    ] {
        write(&file, &bad);
        tokio::time::sleep(POLL_EVERY * 3).await;
        assert_eq!(code_of_a_call(&running).await, Code::Unavailable, "{bad}");
    }

    write(&file, &error_rule(METHOD, "resource_exhausted", 1.0));
    until_calls_answer(&running, Code::ResourceExhausted).await;
    let metrics = chassis::metrics::render();
    assert!(
        metrics.contains(&format!(
            "bazaar_chaos_faults_active{{grpc_method=\"{METHOD}\",fault=\"Unavailable\"}} 0"
        )),
        "a fault no longer in force reads 0: {metrics}"
    );

    std::fs::remove_file(&file).unwrap();
    until_calls_answer(&running, Code::Ok).await;
    assert!(running.seen().len() >= 2);
    running.stop().await;
}
