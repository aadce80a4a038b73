//! Where Prometheus finds the shop: `<data-dir>/prometheus/targets.json`, written by
//! `bazaar up` in Prometheus's file-based service discovery format (`file_sd_configs`).
//!
//! One target group per process, `bazaar up` itself included, each with one admin address
//! and the label `service=<name>`:
//!
//! ```json
//! [{"targets":["127.0.0.1:9450"],"labels":{"service":"bazaar-up"}},
//!  {"targets":["127.0.0.1:9451"],"labels":{"service":"catalog"}}, ...]
//! ```
//!
//! Prometheus watches the file and re-reads it whenever it changes, and it may read it at any
//! moment: the file is therefore written whole to a temporary file beside it and renamed
//! over it (a rename is atomic), and only when its content differs, so that an unchanged
//! shop does not make Prometheus reload. It names only addresses and service names.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The `service` label of `bazaar up`'s own target.
pub const SUPERVISOR: &str = "bazaar-up";

/// The discovery file of the shop whose data directory is `data_dir`.
pub fn file(data_dir: &Path) -> PathBuf {
    data_dir.join("prometheus").join("targets.json")
}

/// One process to scrape: its `service` label and the address of its admin listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The service's name (`catalog`), or [`SUPERVISOR`].
    pub service: String,
    /// `host:port` of its admin listener, as Prometheus dials it.
    pub address: String,
}

/// The file's content: a JSON array of target groups, one per target, in the order given.
pub fn render(targets: &[Target]) -> String {
    let groups: Vec<serde_json::Value> = targets
        .iter()
        .map(|target| {
            serde_json::json!({
                "targets": [target.address],
                "labels": { "service": target.service },
            })
        })
        .collect();
    // A Vec of JSON values always serialises.
    let mut text = serde_json::to_string_pretty(&groups).unwrap_or_else(|_| "[]".to_owned());
    text.push('\n');
    text
}

/// Writes `targets` to `path` (creating its folder) unless it already holds exactly that;
/// says whether it wrote.
///
/// # Errors
///
/// When the folder or the file cannot be written.
pub fn write(path: &Path, targets: &[Target]) -> std::io::Result<bool> {
    let text = render(targets);
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    if let Some(folder) = path.parent() {
        chassis::files::create_private_dir(folder)?;
    }
    let partial = path.with_extension("json.partial");
    let mut file = chassis::files::open_private(&partial, false)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&partial, path)?;
    Ok(true)
}

/// The targets of the discovery file at `path`: `None` when there is no such file.
///
/// # Errors
///
/// When the file exists but cannot be read or is not a discovery file; the message names
/// the file.
pub fn read(path: &Path) -> Result<Option<Vec<Target>>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text)
            .map(Some)
            .map_err(|why| format!("{}: {why}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(format!("cannot read {}: {error}", path.display())),
    }
}

/// The first target of every group of a discovery file, with its `service` label.
fn parse(text: &str) -> Result<Vec<Target>, String> {
    let groups: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let groups = groups.as_array().ok_or("not a list of target groups")?;
    let mut found = Vec::new();
    for group in groups {
        let service = group["labels"]["service"]
            .as_str()
            .ok_or("a target group without a `service` label")?;
        let address = group["targets"]
            .as_array()
            .and_then(|targets| targets.first())
            .and_then(serde_json::Value::as_str)
            .ok_or("a target group without targets")?;
        found.push(Target {
            service: service.to_owned(),
            address: address.to_owned(),
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> Vec<Target> {
        vec![
            Target {
                service: SUPERVISOR.to_owned(),
                address: "127.0.0.1:9450".to_owned(),
            },
            Target {
                service: "catalog".to_owned(),
                address: "127.0.0.1:9451".to_owned(),
            },
        ]
    }

    #[test]
    fn the_file_is_prometheus_file_sd_one_group_per_process() {
        let parsed: serde_json::Value = serde_json::from_str(&render(&shop())).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!([
                {"targets": ["127.0.0.1:9450"], "labels": {"service": "bazaar-up"}},
                {"targets": ["127.0.0.1:9451"], "labels": {"service": "catalog"}},
            ])
        );
    }

    #[test]
    fn it_is_written_whole_and_only_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path());
        assert!(write(&path, &shop()).unwrap(), "first write");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), render(&shop()));
        assert!(!write(&path, &shop()).unwrap(), "same content: left alone");
        let mut moved = shop();
        moved[1].address = "127.0.0.1:19451".to_owned();
        assert!(write(&path, &moved).unwrap(), "changed content: rewritten");
        assert!(std::fs::read_to_string(&path).unwrap().contains("19451"));
        let left: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(left, ["targets.json"], "no partial file left behind");
        assert_eq!(read(&path).unwrap(), Some(moved), "read back as written");
        assert_eq!(read(&dir.path().join("none.json")).unwrap(), None);
        std::fs::write(&path, "{}").unwrap();
        assert!(read(&path).unwrap_err().contains("not a list"));
    }
}
