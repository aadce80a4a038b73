//! `GET http://<addr>/metrics` ([`fetch`], parsed) or any other path of an admin listener
//! ([`get`], with its status): one request over HTTP/1.1 on a plain TCP socket, read to
//! the end within a time limit and a size cap.
//!
//! An admin listener is a small, trusted, loopback-first server, so this speaks just
//! enough HTTP: one request with `Connection: close`, an answer with a `Content-Length`,
//! a chunked body, or a body that ends when the connection does. Anything else is an
//! error that says what went wrong; nothing here panics or waits without bound.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::exposition::Exposition;

/// Why a scrape got no metrics.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Nobody listens there, or the connection broke.
    #[error("cannot reach {addr}: {source}")]
    Unreachable {
        /// Where.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No whole answer within the time limit.
    #[error("no answer from {addr} within {limit:?}")]
    Timeout {
        /// Where.
        addr: String,
        /// The limit.
        limit: Duration,
    },
    /// The answer was larger than the cap.
    #[error("the answer from {addr} is larger than {cap} bytes")]
    TooLarge {
        /// Where.
        addr: String,
        /// The cap.
        cap: usize,
    },
    /// The answer was not 200.
    #[error("{addr} answered HTTP {status}")]
    Status {
        /// Where.
        addr: String,
        /// The status code.
        status: u16,
    },
    /// The answer was not HTTP as this client reads it.
    #[error("the answer from {addr} is not readable HTTP: {why}")]
    Malformed {
        /// Where.
        addr: String,
        /// What was wrong.
        why: &'static str,
    },
}

/// Fetches and parses `http://{addr}/metrics` (`addr` is `host:port`), within `limit`
/// for the whole exchange and reading at most `cap` bytes.
///
/// # Errors
///
/// See [`FetchError`].
pub async fn fetch(addr: &str, limit: Duration, cap: usize) -> Result<Exposition, FetchError> {
    let (_, body) = request(addr, "/metrics", limit, cap, false).await?;
    Ok(Exposition::parse(&String::from_utf8_lossy(&body)))
}

/// `GET http://{addr}{path}`, whatever its status: the status and the body (an admin
/// listener's `/readyz` answers 503 while the process cannot serve), within `limit` and
/// reading at most `cap` bytes.
///
/// # Errors
///
/// See [`FetchError`]; never [`FetchError::Status`].
pub async fn get(
    addr: &str,
    path: &str,
    limit: Duration,
    cap: usize,
) -> Result<(u16, Vec<u8>), FetchError> {
    request(addr, path, limit, cap, true).await
}

/// One exchange; unless `any_status`, an answer other than 200 is [`FetchError::Status`].
async fn request(
    addr: &str,
    path: &str,
    limit: Duration,
    cap: usize,
    any_status: bool,
) -> Result<(u16, Vec<u8>), FetchError> {
    let answer = tokio::time::timeout(limit, exchange(addr, path, cap))
        .await
        .map_err(|_| FetchError::Timeout {
            addr: addr.to_owned(),
            limit,
        })??;
    read_answer(&answer, any_status).map_err(|why| match why {
        Refusal::Status(status) => FetchError::Status {
            addr: addr.to_owned(),
            status,
        },
        Refusal::Malformed(why) => FetchError::Malformed {
            addr: addr.to_owned(),
            why,
        },
    })
}

/// Sends the request and reads the whole answer (head and body) until the server closes.
async fn exchange(addr: &str, path: &str, cap: usize) -> Result<Vec<u8>, FetchError> {
    let unreachable = |source| FetchError::Unreachable {
        addr: addr.to_owned(),
        source,
    };
    let mut stream = TcpStream::connect(addr).await.map_err(unreachable)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/plain\r\n\
         User-Agent: bazaar-scrape\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(unreachable)?;
    // The head is small: allow it on top of the body's cap.
    let limit = cap.saturating_add(16 * 1024);
    let mut answer = Vec::new();
    let mut chunk = [0_u8; 16 * 1024];
    loop {
        let read = stream.read(&mut chunk).await.map_err(unreachable)?;
        if read == 0 {
            return Ok(answer);
        }
        if answer.len() + read > limit {
            return Err(FetchError::TooLarge {
                addr: addr.to_owned(),
                cap,
            });
        }
        answer.extend_from_slice(&chunk[..read]);
    }
}

/// Why an answer gave no body.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    Status(u16),
    Malformed(&'static str),
}

/// The status and body of a whole HTTP/1.1 answer; unless `any_status`, only a 200.
fn read_answer(answer: &[u8], any_status: bool) -> Result<(u16, Vec<u8>), Refusal> {
    let head_end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(Refusal::Malformed("no end of the head"))?;
    let head = std::str::from_utf8(&answer[..head_end])
        .map_err(|_| Refusal::Malformed("the head is not text"))?;
    let body = &answer[head_end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.split(' ');
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err(Refusal::Malformed("no HTTP/1.x status line"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or(Refusal::Malformed("no status code"))?;
    if status != 200 && !any_status {
        return Err(Refusal::Status(status));
    }
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(Refusal::Malformed("a header line without a colon"));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| Refusal::Malformed("a content-length that is not a number"))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    if chunked {
        return dechunk(body).map(|body| (status, body));
    }
    match length {
        Some(length) if body.len() < length => Err(Refusal::Malformed("the body was cut short")),
        Some(length) => Ok((status, body[..length].to_vec())),
        None => Ok((status, body.to_vec())),
    }
}

/// A chunked body, joined.
fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, Refusal> {
    let mut joined = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or(Refusal::Malformed("a chunk without its size line"))?;
        let size_line = std::str::from_utf8(&body[..line_end])
            .map_err(|_| Refusal::Malformed("a chunk size that is not text"))?;
        let size_text = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| Refusal::Malformed("a chunk size that is not hexadecimal"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(joined);
        }
        if body.len() < size {
            return Err(Refusal::Malformed("a chunk was cut short"));
        }
        joined.extend_from_slice(&body[..size]);
        body = body[size..]
            .strip_prefix(b"\r\n")
            .ok_or(Refusal::Malformed("a chunk without its line end"))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tokio::net::TcpListener;

    /// A server that answers one connection with `answer` (after reading the request),
    /// then closes.
    async fn serve_once(answer: Vec<u8>, pause: Duration) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0_u8; 1024];
            let _ = stream.read(&mut request).await;
            tokio::time::sleep(pause).await;
            let _ = stream.write_all(&answer).await;
        });
        addr
    }

    const LIMIT: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn reads_a_sized_answer_and_a_chunked_one() {
        let sized = b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nc 1\nignored".to_vec();
        let addr = serve_once(sized, Duration::ZERO).await;
        let exposition = fetch(&addr, LIMIT, 1024).await.unwrap();
        assert_eq!(
            exposition.sum("c", &super::super::exposition::all),
            Some(1.0)
        );

        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nc 1\n\r\n4\r\nd 2\n\r\n0\r\n\r\n"
                .to_vec();
        let addr = serve_once(chunked, Duration::ZERO).await;
        let exposition = fetch(&addr, LIMIT, 1024).await.unwrap();
        assert_eq!(exposition.samples().len(), 2);
    }

    #[tokio::test]
    async fn says_why_it_got_nothing() {
        let addr = serve_once(b"HTTP/1.1 503 No\r\n\r\n".to_vec(), Duration::ZERO).await;
        assert!(matches!(
            fetch(&addr, LIMIT, 1024).await,
            Err(FetchError::Status { status: 503, .. })
        ));

        let big = format!("HTTP/1.1 200 OK\r\n\r\n{}", "c 1\n".repeat(10_000));
        let addr = serve_once(big.into_bytes(), Duration::ZERO).await;
        assert!(matches!(
            fetch(&addr, LIMIT, 1024).await,
            Err(FetchError::TooLarge { cap: 1024, .. })
        ));

        let addr = serve_once(b"nonsense".to_vec(), Duration::ZERO).await;
        assert!(matches!(
            fetch(&addr, LIMIT, 1024).await,
            Err(FetchError::Malformed { .. })
        ));

        let addr = serve_once(b"HTTP/1.1 200 OK\r\n\r\n".to_vec(), Duration::from_secs(5)).await;
        assert!(matches!(
            fetch(&addr, Duration::from_millis(100), 1024).await,
            Err(FetchError::Timeout { .. })
        ));

        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = closed.local_addr().unwrap().to_string();
        drop(closed);
        assert!(matches!(
            fetch(&addr, LIMIT, 1024).await,
            Err(FetchError::Unreachable { .. })
        ));
    }

    #[tokio::test]
    async fn reads_a_real_admin_listener() {
        let admin = crate::admin::Admin::bind(
            "127.0.0.1:0".parse().unwrap(),
            crate::admin::Ready::default(),
        )
        .await
        .unwrap();
        let addr = admin.local_addr().to_string();
        let shutdown = crate::Shutdown::new();
        let task = admin.spawn(shutdown.clone());
        metrics::counter!("scrape_test_fetched_total").increment(2);
        let exposition = fetch(&addr, LIMIT, 4 * 1024 * 1024).await.unwrap();
        assert_eq!(exposition.skipped(), 0);
        assert_eq!(
            exposition.sum("scrape_test_fetched_total", &super::super::exposition::all),
            Some(2.0)
        );
        shutdown.trigger();
        task.await.unwrap();
    }

    proptest! {
        #[test]
        fn never_panics_on_any_answer(answer in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = read_answer(&answer, false);
        }

        #[test]
        fn never_panics_on_near_http(text in "HTTP/1.1 200 OK\r\n[a-zA-Z:\\- 0-9\r\n;]{0,120}") {
            let _ = read_answer(text.as_bytes(), true);
        }
    }
}
