//! A service run from another implementation of its contract, as a process of its own.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::{REPLACE_VAR, services};

/// How long a replacement may take to stop after SIGTERM before it is killed.
const STOP_WITHIN: Duration = Duration::from_secs(10);

/// The replacements [`REPLACE_VAR`] names (`service=command;service=command`).
///
/// # Panics
/// When the variable is malformed or names no service: the test run is misconfigured.
pub(crate) fn from_env() -> BTreeMap<&'static str, String> {
    let Ok(value) = std::env::var(REPLACE_VAR) else {
        return BTreeMap::new();
    };
    value
        .split(';')
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| {
            let (service, command) = entry
                .split_once('=')
                .filter(|(_, command)| !command.trim().is_empty())
                .unwrap_or_else(|| panic!("{REPLACE_VAR}: {entry:?} is not service=command"));
            (services::name(service.trim()), command.trim().to_owned())
        })
        .collect()
}

/// A running replacement.
#[derive(Debug)]
pub(crate) struct Process {
    name: &'static str,
    child: Child,
}

impl Process {
    /// Runs `command --listen ADDRESS --data-dir DIR` through `sh` (with `exec`, so the
    /// service itself is the child and gets the signals), with `BAZAAR_PLAINTEXT=1`: the
    /// test shop's services and clients speak plaintext gRPC, and a replacement serves TLS
    /// unless told otherwise.
    pub(crate) fn start(
        name: &'static str,
        command: &str,
        address: SocketAddr,
        data_dir: &Path,
    ) -> std::io::Result<Self> {
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("exec {command} \"$@\""))
            .arg(name)
            .arg("--listen")
            .arg(address.to_string())
            .arg("--data-dir")
            .arg(data_dir)
            .env("BAZAAR_PLAINTEXT", "1")
            .stdin(Stdio::null())
            .spawn()?;
        Ok(Self { name, child })
    }

    /// SIGTERM, then waits for it to exit (SIGKILL after [`STOP_WITHIN`]).
    pub(crate) async fn stop(mut self) -> Result<(), String> {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let deadline = Instant::now() + STOP_WITHIN;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => return Err(format!("{} exited with {status}", self.name)),
                Ok(None) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Ok(None) => {
                    let name = self.name;
                    self.kill_now();
                    return Err(format!("{name} did not stop within {STOP_WITHIN:?}"));
                }
                Err(error) => return Err(error.to_string()),
            }
        }
    }

    /// SIGKILL, and waits for the exit.
    pub(crate) async fn kill(self) {
        tokio::task::spawn_blocking(move || self.kill_now())
            .await
            .unwrap_or_default();
    }

    /// SIGKILL, and waits for the exit, blocking.
    pub(crate) fn kill_now(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
