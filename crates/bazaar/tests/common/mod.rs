//! What the tests of a real `bazaar up` share: running the `bazaar` binary, and a shop of its
//! own processes started, read and stopped.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use bazaar_contract::currency::v1::ConvertRequest;
use bazaar_contract::types::v1::Money;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio::task::JoinHandle;

/// Safety net for a whole shop to start or stop (a debug build of eleven or more processes).
pub(crate) const START_PATIENCE: Duration = Duration::from_secs(180);

/// Runs `bazaar <args> --data-dir <data>`: its exit success, standard output and error
/// (both printed, for the test's log).
#[allow(
    dead_code,
    reason = "not every test that starts a shop runs other commands"
)]
pub(crate) async fn bazaar(data: &Path, args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_bazaar"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("BAZAAR_DATA_DIR")
        .output()
        .await
        .expect("bazaar runs");
    let (out, err) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    println!("bazaar {args:?}:\n{out}{err}");
    (output.status.success(), out, err)
}

/// A running `bazaar up`, its output echoed to the test's log.
pub(crate) struct Up {
    child: Child,
    echo: JoinHandle<()>,
}

impl Up {
    /// Starts `bazaar up <args> --data-dir <data>` with `env`, and waits until it prints a
    /// line starting with `ready` (the line that says every process is up).
    ///
    /// # Panics
    /// When it prints that a process did not become SERVING, or a port is taken, or it does
    /// not get there within [`START_PATIENCE`].
    pub(crate) async fn start(data: &Path, args: &[&str], env: &[(&str, &str)], ready: &str) -> Up {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_bazaar"))
            .arg("up")
            .args(args)
            .arg("--data-dir")
            .arg(data)
            .env_remove("BAZAAR_DATA_DIR")
            .env_remove("BAZAAR_PLAINTEXT")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("bazaar up starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let started = tokio::time::timeout(START_PATIENCE, async {
            while let Some(line) = lines.next_line().await.expect("reads bazaar up's output") {
                println!("up: {line}");
                if line.starts_with(ready) {
                    return true;
                }
                if line.contains("SERVING after") || line.contains("already in use") {
                    return false;
                }
            }
            false
        })
        .await;
        assert_eq!(started, Ok(true), "every process started");
        // Keep reading its output, so that it never blocks on a full pipe.
        let echo = tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                println!("up: {line}");
            }
        });
        Up { child, echo }
    }

    /// Stops it as Ctrl-C does and checks that it exits cleanly.
    pub(crate) async fn stop(mut self) {
        let pid = Pid::from_raw(i32::try_from(self.child.id().expect("running")).unwrap());
        kill(pid, Signal::SIGINT).expect("signals bazaar up");
        let status = tokio::time::timeout(START_PATIENCE, self.child.wait())
            .await
            .expect("bazaar up stops (safety net)")
            .expect("waits for it");
        assert!(status.success(), "{status}");
        let _ = self.echo.await;
    }
}

/// A conversion currency answers whichever implementation runs: 10 EUR to US dollars.
#[allow(dead_code, reason = "not every test that starts a shop calls currency")]
pub(crate) fn ten_euros_in_dollars() -> ConvertRequest {
    ConvertRequest {
        amount: Some(Money {
            currency_code: "EUR".to_owned(),
            units: 10,
            nanos: 0,
        }),
        to_currency_code: "USD".to_owned(),
    }
}
