//! Taking over the storefront's port: a new gateway binds the port of a running one
//! (`--reuse-port`), the old one stops accepting and tells the clients of the connections
//! it still has, with a complete answer each, to reconnect (`Connection: close`), and new
//! connections reach the new gateway. A bind without `--reuse-port` is still refused, so a
//! second shop cannot share the port by accident.
//!
//! Only the gateway's own `/healthz` is asked here, which needs no service: the services'
//! addresses point nowhere.

use std::net::SocketAddr;
use std::time::Duration;

use chassis::Shutdown;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the old gateway serves its connections with `Connection: close`.
const LINGER: Duration = Duration::from_millis(800);

/// A gateway serving on `listen` (port 0: any), sharing it when `reuse_port`.
async fn gateway(
    data: &std::path::Path,
    listen: SocketAddr,
    reuse_port: bool,
) -> Result<(gateway::Gateway, gateway::Config), gateway::StartError> {
    let mut config = gateway::Config::for_tests(data, |_| "127.0.0.1:9".to_owned());
    config.server.listen = Some(listen);
    config.reuse_port = reuse_port;
    config.drain_linger_ms = u64::try_from(LINGER.as_millis()).unwrap();
    let gateway = gateway::Gateway::bind(&config).await?;
    Ok((gateway, config))
}

/// Sends `GET /healthz` on `stream` (kept alive) and reads the whole answer: its head,
/// lower-cased, and whether the body came.
async fn healthz(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: shop\r\n\r\n")
        .await
        .expect("the request is sent");
    let mut answer = Vec::new();
    let mut buffer = [0_u8; 4096];
    // The body is "ok\n": read until it has come.
    while !answer.ends_with(b"ok\n") {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
            .await
            .expect("an answer in time")
            .expect("the connection reads");
        assert!(
            read > 0,
            "the connection closed before a whole answer: {:?}",
            String::from_utf8_lossy(&answer)
        );
        answer.extend_from_slice(&buffer[..read]);
    }
    String::from_utf8_lossy(&answer).to_ascii_lowercase()
}

#[tokio::test]
async fn a_new_gateway_takes_over_the_port_while_the_old_one_drains() {
    let data = tempfile::tempdir().unwrap();
    let (old, _) = gateway(data.path(), "127.0.0.1:0".parse().unwrap(), true)
        .await
        .expect("the first gateway binds");
    let port = old.local_addr();
    let old_stop = Shutdown::new();
    let old = tokio::spawn(old.run(old_stop.clone()));

    // A client of the old gateway, kept alive.
    let mut kept = TcpStream::connect(port).await.unwrap();
    let head = healthz(&mut kept).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");

    // A bind of the same port without SO_REUSEPORT is refused: nobody shares it by
    // accident.
    let refused = gateway(data.path(), port, false).await;
    assert!(
        matches!(refused, Err(gateway::StartError::Bind { .. })),
        "{refused:?}"
    );
    // The new version binds it beside the old one.
    let (new, _) = gateway(data.path(), port, true)
        .await
        .expect("a gateway with --reuse-port binds the same port");
    let new_stop = Shutdown::new();
    let new = tokio::spawn(new.run(new_stop.clone()));

    // The old one stops: its open connection is answered once more, told to close.
    old_stop.trigger();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let head = healthz(&mut kept).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains("connection: close"),
        "a draining gateway tells its clients to reconnect: {head}"
    );
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), kept.read_to_end(&mut rest)).await;
    assert!(
        matches!(closed, Ok(Ok(0))),
        "the connection closes after that answer"
    );

    // Every new connection meets the new gateway (which keeps them alive), while the old
    // one is still lingering.
    for _ in 0..20 {
        let mut stream = TcpStream::connect(port)
            .await
            .expect("the port still accepts");
        let head = healthz(&mut stream).await;
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(!head.contains("connection: close"), "{head}");
    }
    tokio::time::timeout(LINGER + Duration::from_secs(5), old)
        .await
        .expect("the old gateway stops after its linger")
        .unwrap()
        .expect("the old gateway ran well");

    new_stop.trigger();
    new.await.unwrap().expect("the new gateway ran well");
}
