//! The control socket of `bazaar up`: how commands run later (`bazaar chaos`) reach the
//! running shop.
//!
//! `bazaar up` listens on the Unix socket `<data-dir>/control.sock`, private to its user
//! (0600: whoever may write the data directory is the operator), and removes it when it
//! stops. A socket left by a `bazaar up` that died is replaced; one that still answers
//! means another `bazaar up` runs on the same data directory, and the second refuses to
//! start.
//!
//! The protocol is one JSON object a line each way: a [`Request`], tagged by `command`, and
//! its [`Reply`], tagged by `outcome`. The command enum is meant to grow; a command this
//! `bazaar up` does not know is answered `refused`, never by closing the connection. A
//! request line is at most [`MAX_LINE`] bytes; a connection that sends more, or nothing for
//! [`IDLE_LIMIT`], is closed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chassis::Shutdown;
use chassis::chaos::{FaultSet, Rule};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// The socket's file name in the data directory.
pub const SOCKET: &str = "control.sock";
/// The longest request line.
pub const MAX_LINE: u64 = 64 * 1024;
/// How long a connection may stay silent.
pub const IDLE_LIMIT: Duration = Duration::from_secs(30);
/// How long a command waits for its reply.
const REPLY_LIMIT: Duration = Duration::from_secs(10);

/// The control socket of the shop whose data directory is `data_dir`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

/// What a command asks of the running shop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Request {
    /// Put `rule` in force for `service`, in place of its rule for the same method.
    ChaosSet {
        /// The service, by its name in the service table.
        service: String,
        /// The faults of one method, or of every method.
        rule: Rule,
    },
    /// End the faults of `service`, or of every service.
    ChaosClear {
        /// The service; `None` for all.
        service: Option<String>,
    },
    /// Say which faults are in force.
    ChaosList,
    /// Replace every replica of `service`, one at a time, by a new version (see
    /// [`crate::rollout`]); answered when it is done.
    Rollout {
        /// The service, by its name in the service table.
        service: String,
        /// The new version's command (as `--replace` takes one); `None` for
        /// `bazaar serve <service>`.
        #[serde(default, rename = "run")]
        command: Option<String>,
        /// How long each new replica gets to answer SERVING, in milliseconds.
        ready_timeout_ms: u64,
    },
    /// Run `replicas` processes of `service`, starting or stopping the difference (see
    /// [`crate::rollout`]); answered when it is done.
    Scale {
        /// The service, by its name in the service table.
        service: String,
        /// How many replicas to run.
        replicas: usize,
        /// How long each new replica gets to answer SERVING, in milliseconds.
        ready_timeout_ms: u64,
    },
}

/// What the running shop answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Reply {
    /// The faults in force now, by service (services without any are left out), and what
    /// the operator should know about them.
    Faults {
        /// The faults of each service.
        active: BTreeMap<String, FaultSet>,
        /// Remarks (a service whose replacement does not read fault files, ...).
        #[serde(default)]
        notes: Vec<String>,
    },
    /// A rollout is done: every replica runs the new version. Its steps, timed.
    RolledOut {
        /// What was done, in order, each with the seconds since the rollout began.
        steps: Vec<String>,
    },
    /// The service runs the replicas asked for. What was done, timed.
    Scaled {
        /// What was done, in order, each with the seconds since the change began.
        steps: Vec<String>,
    },
    /// A rollout was rolled back: a new version did not become SERVING.
    RolledBack {
        /// What was done, in order, each with the seconds since the rollout began.
        steps: Vec<String>,
    },
    /// The request was not carried out, and why.
    Refused {
        /// Why, for the operator.
        reason: String,
    },
}

/// What answers the requests of the socket.
pub type Handler = Arc<dyn Fn(Request) -> Reply + Send + Sync>;

/// A listening control socket; the file goes when it is dropped.
#[derive(Debug)]
pub struct ControlSocket {
    path: PathBuf,
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Listens on `path` and answers with `handler` until `shutdown`.
///
/// # Errors
///
/// When another process answers on `path` (another `bazaar up` on the same data
/// directory), or the socket cannot be made.
pub async fn listen(
    path: PathBuf,
    handler: Handler,
    shutdown: Shutdown,
) -> Result<ControlSocket, String> {
    if UnixStream::connect(&path).await.is_ok() {
        return Err(format!(
            "another bazaar up is running on this data directory (its control socket {} \
             answers); stop it first",
            path.display()
        ));
    }
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(format!("cannot replace {}: {error}", path.display())),
    }
    let listener = UnixListener::bind(&path)
        .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    let socket = ControlSocket { path };
    chassis::files::restrict(&socket.path)
        .map_err(|e| format!("cannot make {} private: {e}", socket.path.display()))?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = shutdown.wait() => return,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        tokio::spawn(converse(stream, handler.clone()));
                    }
                    Err(error) => {
                        tracing::warn!(%error, "control socket: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
    });
    Ok(socket)
}

/// Answers the requests of one connection, a line each, until it closes.
async fn converse(stream: UnixStream, handler: Handler) {
    let (reading, mut writing) = stream.into_split();
    let mut lines = BufReader::new(reading.take(0));
    loop {
        lines.get_mut().set_limit(MAX_LINE + 1);
        let mut line = Vec::new();
        let read = tokio::time::timeout(IDLE_LIMIT, lines.read_until(b'\n', &mut line)).await;
        match read {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => return,
            Ok(Ok(_)) => {}
        }
        let complete = line.last() == Some(&b'\n');
        let reply = if !complete && line.len() as u64 > MAX_LINE {
            Reply::Refused {
                reason: format!("request longer than {MAX_LINE} bytes"),
            }
        } else {
            match serde_json::from_slice::<Request>(&line) {
                Ok(request) => {
                    let handler = handler.clone();
                    tokio::task::spawn_blocking(move || handler(request))
                        .await
                        .unwrap_or_else(|error| Reply::Refused {
                            reason: format!("the request failed: {error}"),
                        })
                }
                Err(error) => Reply::Refused {
                    reason: format!("not a request this bazaar up knows: {error}"),
                },
            }
        };
        let mut answer = match serde_json::to_vec(&reply) {
            Ok(answer) => answer,
            Err(error) => {
                tracing::warn!(%error, "control socket: cannot encode a reply");
                return;
            }
        };
        answer.push(b'\n');
        if writing.write_all(&answer).await.is_err() || !complete {
            return;
        }
    }
}

/// Sends `request` to the `bazaar up` of `data_dir` and returns its reply.
///
/// # Errors
///
/// When no `bazaar up` listens there, or it does not answer in time.
pub async fn ask(data_dir: &Path, request: &Request) -> Result<Reply, String> {
    ask_within(data_dir, request, REPLY_LIMIT).await
}

/// [`ask`], waiting for the reply for up to `limit` (a rollout takes a while).
///
/// # Errors
///
/// When no `bazaar up` listens there, or it does not answer in time.
pub async fn ask_within(
    data_dir: &Path,
    request: &Request,
    limit: Duration,
) -> Result<Reply, String> {
    let path = socket_path(data_dir);
    let stream = UnixStream::connect(&path).await.map_err(|error| {
        format!(
            "no bazaar up is running on data directory {} (cannot reach {}: {error}); \
             start one, or name its directory with --data-dir",
            data_dir.display(),
            path.display()
        )
    })?;
    let (reading, mut writing) = stream.into_split();
    let mut line = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    line.push(b'\n');
    let exchange = async {
        writing.write_all(&line).await?;
        let mut answer = Vec::new();
        BufReader::new(reading)
            .read_until(b'\n', &mut answer)
            .await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(limit, exchange)
        .await
        .map_err(|_| format!("bazaar up did not answer on {} in time", path.display()))?
        .map_err(|e| format!("talking to bazaar up on {}: {e}", path.display()))?;
    serde_json::from_slice(&answer)
        .map_err(|e| format!("bazaar up answered something this command does not know: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo() -> Handler {
        Arc::new(|request| match request {
            Request::ChaosList => Reply::Faults {
                active: BTreeMap::new(),
                notes: vec!["listed".to_owned()],
            },
            other => Reply::Refused {
                reason: format!("{other:?}"),
            },
        })
    }

    #[tokio::test]
    async fn one_shop_per_data_directory_and_a_stale_socket_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = socket_path(dir.path());
        // A socket file nobody listens on, as a killed bazaar up leaves it.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());

        let stop = Shutdown::new();
        let socket = listen(path.clone(), echo(), stop.clone()).await.unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        let second = listen(path.clone(), echo(), Shutdown::new()).await;
        assert!(
            second.unwrap_err().contains("another bazaar up"),
            "a second shop on the same data directory is refused"
        );
        assert_eq!(
            ask(dir.path(), &Request::ChaosList).await.unwrap(),
            Reply::Faults {
                active: BTreeMap::new(),
                notes: vec!["listed".to_owned()]
            }
        );
        stop.trigger();
        drop(socket);
        assert!(!path.exists(), "the socket goes when the shop stops");
        let gone = ask(dir.path(), &Request::ChaosList).await.unwrap_err();
        assert!(gone.contains("no bazaar up is running"), "{gone}");
    }

    #[tokio::test]
    async fn garbage_and_unknown_commands_are_refused_without_hanging_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = socket_path(dir.path());
        let stop = Shutdown::new();
        let _socket = listen(path.clone(), echo(), stop.clone()).await.unwrap();
        let stream = UnixStream::connect(&path).await.unwrap();
        let (reading, mut writing) = stream.into_split();
        let mut replies = BufReader::new(reading).lines();
        for line in ["{oops", r#"{"command":"launch","service":"x"}"#] {
            writing
                .write_all(format!("{line}\n").as_bytes())
                .await
                .unwrap();
            let reply: Reply =
                serde_json::from_str(&replies.next_line().await.unwrap().unwrap()).unwrap();
            assert!(matches!(reply, Reply::Refused { .. }), "{reply:?}");
        }
        writing
            .write_all(b"{\"command\":\"chaos_list\"}\n")
            .await
            .unwrap();
        let reply: Reply =
            serde_json::from_str(&replies.next_line().await.unwrap().unwrap()).unwrap();
        assert!(matches!(reply, Reply::Faults { .. }), "{reply:?}");

        // A line past the limit is refused and the connection closed.
        let long = vec![b'x'; MAX_LINE as usize + 10];
        writing.write_all(&long).await.unwrap();
        let reply: Reply =
            serde_json::from_str(&replies.next_line().await.unwrap().unwrap()).unwrap();
        assert!(matches!(reply, Reply::Refused { .. }), "{reply:?}");
        stop.trigger();
    }
}
