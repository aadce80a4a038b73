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
    /// Runs `command --listen ADDRESS --admin-listen ADDRESS --data-dir DIR` through `sh`
    /// (with `exec`, so the service itself is the child and gets the signals). Its TLS
    /// comes by the variables every implementation reads (`BAZAAR_TLS_CERT`, `_KEY`, `_CA`,
    /// or `BAZAAR_PLAINTEXT=1`), from the shop's own `flags` for it.
    pub(crate) fn start(
        name: &'static str,
        command: &str,
        address: SocketAddr,
        data_dir: &Path,
        flags: &BTreeMap<String, String>,
    ) -> std::io::Result<Self> {
        let mut shell = Command::new("sh");
        if flags.get("plaintext").is_some_and(|v| v == "true") {
            shell.env("BAZAAR_PLAINTEXT", "1");
        } else if let Some(dir) = flags.get("pki-dir") {
            let pki = chassis::pki::Pki::at(dir);
            shell
                .env("BAZAAR_TLS_CERT", pki.cert(name))
                .env("BAZAAR_TLS_KEY", pki.key(name))
                .env("BAZAAR_TLS_CA", pki.ca_cert());
        }
        let child = shell
            .arg("-c")
            .arg(format!("exec {command} \"$@\""))
            .arg(name)
            .arg("--listen")
            .arg(address.to_string())
            .args(
                flags
                    .get("admin-listen")
                    .map(|admin| ["--admin-listen", admin.as_str()])
                    .into_iter()
                    .flatten(),
            )
            .arg("--data-dir")
            .arg(data_dir)
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
