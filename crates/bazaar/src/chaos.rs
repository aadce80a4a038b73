//! Faults on demand in the running shop: `bazaar chaos set|clear|list`, and the fault files
//! `bazaar up --chaos` keeps for its services.
//!
//! `bazaar up --chaos` gives every gRPC service it runs as `bazaar serve` a fault file,
//! `<data-dir>/chaos/<service>.json` (`--chaos-file`), which the service watches (see
//! `chassis::chaos`). The files of an earlier run are removed when it starts: a shop starts
//! without faults. `bazaar chaos` sends its request over the control socket
//! ([`crate::control`]); `bazaar up` checks it again (the socket is the authority, not the
//! command), writes the service's file atomically (a new file renamed over the old one, or
//! no file once its faults are cleared), prints the change, and answers with every fault in
//! force. A service run by `--replace` was given no fault file: a fault set on it is kept
//! and reported, with a note that it is not injected. Without `--chaos` nothing is ever
//! injected, and `set` is refused.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chassis::chaos::rules::{methods_of, parse_latency, parse_rate};
use chassis::chaos::{ErrorRate, FaultCode, FaultSet, LatencyRate, Rule};
use clap::Subcommand;

use crate::control::{self, Reply, Request};

/// The folder of the fault files in the data directory.
pub const FOLDER: &str = "chaos";

/// `bazaar chaos`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inject faults into a service's calls: errors by code and latency, each at a rate.
    /// Replaces the faults already set on the same method (or on every method).
    Set {
        /// The service (catalog, payment, ...).
        #[arg(value_parser = parse_service)]
        service: String,
        /// Only this method (`Charge`); every method of the service without it.
        #[arg(long)]
        method: Option<String>,
        /// An error and the share of calls that get it: `UNAVAILABLE=0.2` (a code by name
        /// in any case, or by number). Repeatable; the rates add up to at most 1.
        #[arg(long = "error", value_name = "CODE=RATE", value_parser = parse_error)]
        errors: Vec<ErrorRate>,
        /// A delay before the call is handled, and the share of calls that wait it:
        /// `200ms@0.1`, `1.5s@1` (at most 60 s; cut short by the call's deadline).
        #[arg(long, value_name = "DURATION@RATE", value_parser = parse_latency_rate)]
        latency: Option<LatencyRate>,
        /// The data directory of the running `bazaar up`.
        #[arg(long, env = "BAZAAR_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
    },
    /// End the faults of one service, or of every service.
    Clear {
        /// The service; every service without it.
        #[arg(value_parser = parse_service)]
        service: Option<String>,
        /// The data directory of the running `bazaar up`.
        #[arg(long, env = "BAZAAR_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
    },
    /// Print the faults in force.
    List {
        /// The data directory of the running `bazaar up`.
        #[arg(long, env = "BAZAAR_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
    },
}

/// Runs `bazaar chaos`: checks the request, sends it, prints what is in force now.
///
/// # Errors
///
/// A request that does not check, no `bazaar up` to send it to, or its refusal.
pub async fn run(command: Command) -> Result<(), String> {
    let (data_dir, request) = match command {
        Command::Set {
            service,
            method,
            errors,
            latency,
            data_dir,
        } => {
            let rule = Rule {
                method,
                errors,
                latency,
            };
            check(&service, &rule)?;
            (data_dir, Request::ChaosSet { service, rule })
        }
        Command::Clear { service, data_dir } => (data_dir, Request::ChaosClear { service }),
        Command::List { data_dir } => (data_dir, Request::ChaosList),
    };
    match control::ask(&data_dir, &request).await? {
        Reply::Faults { active, notes } => {
            print!("{}", table(&active));
            for note in notes {
                println!("note: {note}");
            }
            Ok(())
        }
        Reply::Refused { reason } => Err(reason),
        other => Err(format!("bazaar up answered {other:?}")),
    }
}

/// The faults in force as a table, one line per service and method.
pub fn table(active: &BTreeMap<String, FaultSet>) -> String {
    if active.values().all(FaultSet::is_empty) {
        return "no faults injected\n".to_owned();
    }
    let mut text = format!("{:<16} {:<28} FAULTS\n", "SERVICE", "METHOD");
    for (service, set) in active {
        for rule in &set.rules {
            let method = rule.method.as_deref().unwrap_or("* (every method)");
            text.push_str(&format!("{service:<16} {method:<28} {}\n", rule.describe()));
        }
    }
    text
}

/// A service that can be faulted: a gRPC service of the service table.
pub fn parse_service(name: &str) -> Result<String, String> {
    let known: Vec<&str> = chassis::topology::grpc_services()
        .map(|spec| spec.name)
        .collect();
    if known.contains(&name) {
        Ok(name.to_owned())
    } else if chassis::topology::SERVICES.iter().any(|s| s.name == name) {
        Err(format!(
            "{name} serves no gRPC: faults are injected into gRPC services only ({})",
            known.join(", ")
        ))
    } else {
        Err(format!(
            "unknown service {name:?}; known: {}",
            known.join(", ")
        ))
    }
}

/// `CODE=RATE`: `UNAVAILABLE=0.2`.
pub fn parse_error(text: &str) -> Result<ErrorRate, String> {
    let (code, rate) = text
        .split_once('=')
        .ok_or_else(|| format!("expected CODE=RATE such as UNAVAILABLE=0.2, got {text:?}"))?;
    Ok(ErrorRate {
        code: code.parse::<FaultCode>()?,
        rate: parse_rate(rate)?,
    })
}

/// `DURATION@RATE`: `200ms@0.1`.
pub fn parse_latency_rate(text: &str) -> Result<LatencyRate, String> {
    let (latency, rate) = text
        .split_once('@')
        .ok_or_else(|| format!("expected DURATION@RATE such as 200ms@0.1, got {text:?}"))?;
    let latency: Duration = parse_latency(latency)?;
    Ok(LatencyRate {
        millis: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        rate: parse_rate(rate)?,
    })
}

/// Checks a rule for `service`: a gRPC service, a method it has, rates and latency that fit.
pub fn check(service: &str, rule: &Rule) -> Result<(), String> {
    parse_service(service)?;
    if rule.errors.is_empty() && rule.latency.is_none() {
        return Err(
            "nothing to inject: give --error CODE=RATE and/or --latency DURATION@RATE \
             (bazaar chaos clear ends faults)"
                .to_owned(),
        );
    }
    rule.check()?;
    if let Some(method) = &rule.method
        && !methods_of(service).contains(method)
    {
        return Err(format!(
            "{service} has no method {method:?}; its methods: {}",
            methods_of(service).join(", ")
        ));
    }
    Ok(())
}

/// The fault files of the services of one `bazaar up`, and the faults in force.
#[derive(Debug)]
pub struct FaultFiles {
    /// `<data-dir>/chaos`, or `None` without `--chaos`.
    folder: Option<PathBuf>,
    /// The services run by `--replace`, which get no fault file.
    replaced: BTreeSet<String>,
    active: Mutex<BTreeMap<String, FaultSet>>,
}

impl FaultFiles {
    /// No fault injection: `bazaar up` without `--chaos`.
    pub fn off() -> Self {
        Self {
            folder: None,
            replaced: BTreeSet::new(),
            active: Mutex::default(),
        }
    }

    /// Fault injection for a shop in `data_dir` whose `replaced` services run another
    /// command: makes the folder of fault files and empties it of an earlier run's.
    ///
    /// # Errors
    ///
    /// When the folder cannot be made or emptied.
    pub fn on(data_dir: &Path, replaced: BTreeSet<String>) -> Result<Self, String> {
        let folder = data_dir.join(FOLDER);
        chassis::files::create_private_dir(&folder)
            .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
        let entries = std::fs::read_dir(&folder)
            .map_err(|e| format!("cannot read {}: {e}", folder.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path
                .extension()
                .is_some_and(|ext| ext == "json" || ext == "new")
            {
                std::fs::remove_file(&path)
                    .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
            }
        }
        Ok(Self {
            folder: Some(folder),
            replaced,
            active: Mutex::default(),
        })
    }

    /// The fault file to give service `name` with `--chaos-file`, if it gets one: with
    /// `--chaos`, to gRPC services run as `bazaar serve`.
    pub fn file_of(&self, name: &str) -> Option<PathBuf> {
        let folder = self.folder.as_ref()?;
        (parse_service(name).is_ok() && !self.replaced.contains(name))
            .then(|| folder.join(format!("{name}.json")))
    }

    /// Answers a request of the control socket.
    pub fn handle(&self, request: Request) -> Reply {
        let Some(folder) = &self.folder else {
            return match request {
                Request::ChaosSet { .. } => Reply::Refused {
                    reason: "fault injection is off in this shop: start it with \
                             `bazaar up --chaos` to use bazaar chaos"
                        .to_owned(),
                },
                _ => Reply::Faults {
                    active: BTreeMap::new(),
                    notes: vec![
                        "fault injection is off (bazaar up runs without --chaos)".to_owned(),
                    ],
                },
            };
        };
        let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
        let changed: Vec<String> = match request {
            Request::ChaosList => Vec::new(),
            Request::ChaosSet { service, rule } => {
                if let Err(reason) = check(&service, &rule) {
                    return Reply::Refused { reason };
                }
                active.entry(service.clone()).or_default().set(rule);
                vec![service]
            }
            Request::ChaosClear {
                service: Some(service),
            } => {
                if let Err(reason) = parse_service(&service) {
                    return Reply::Refused { reason };
                }
                active.remove(&service);
                vec![service]
            }
            Request::ChaosClear { service: None } => {
                let all = active.keys().cloned().collect();
                active.clear();
                all
            }
            Request::Rollout { .. } | Request::Scale { .. } => {
                return Reply::Refused {
                    reason: "not a fault request".to_owned(),
                };
            }
        };
        for service in &changed {
            let set = active.get(service).cloned().unwrap_or_default();
            let written = if self.replaced.contains(service) {
                Ok(())
            } else {
                write(&folder.join(format!("{service}.json")), &set)
            };
            if let Err(error) = written {
                return Reply::Refused {
                    reason: format!("cannot write the fault file of {service}: {error}"),
                };
            }
            println!("chaos: {service}: {}", set.describe());
        }
        let notes = active
            .keys()
            .filter(|service| self.replaced.contains(*service))
            .map(|service| {
                format!(
                    "{service} runs a --replace command, which was given no fault file: its \
                     faults are kept here but not injected"
                )
            })
            .collect();
        Reply::Faults {
            active: active.clone(),
            notes,
        }
    }
}

/// Writes `set` to `file` atomically (no file when it is empty), private to the user.
fn write(file: &Path, set: &FaultSet) -> std::io::Result<()> {
    if set.is_empty() {
        return match std::fs::remove_file(file) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        };
    }
    let fresh = file.with_extension("new");
    let mut out = chassis::files::open_private(&fresh, false)?;
    serde_json::to_writer_pretty(&mut out, set)?;
    out.write_all(b"\n")?;
    out.sync_all()?;
    std::fs::rename(&fresh, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked_before_anything_is_sent() {
        assert_eq!(parse_service("payment"), Ok("payment".to_owned()));
        assert!(parse_service("gateway").unwrap_err().contains("no gRPC"));
        assert!(
            parse_service("paymnt")
                .unwrap_err()
                .contains("unknown service")
        );

        let error = parse_error("unavailable=0.2").unwrap();
        assert_eq!(error.code.code(), tonic::Code::Unavailable);
        assert_eq!(error.rate, 0.2);
        assert_eq!(parse_error("14=1").unwrap().code.name(), "Unavailable");
        for bad in [
            "UNAVAILABLE",
            "OK=0.1",
            "UNAVAILABLE=0",
            "UNAVAILABLE=2",
            "NOPE=0.1",
        ] {
            assert!(parse_error(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_latency_rate("200ms@0.1"),
            Ok(LatencyRate {
                millis: 200,
                rate: 0.1
            })
        );
        assert_eq!(parse_latency_rate("1.5s@1").unwrap().millis, 1500);
        for bad in ["200ms", "200@0.1", "90s@0.1", "200ms@0", "200ms@x"] {
            assert!(parse_latency_rate(bad).is_err(), "{bad}");
        }

        let mut rule = Rule {
            method: Some("Charge".to_owned()),
            errors: vec![parse_error("UNAVAILABLE=0.6").unwrap()],
            latency: None,
        };
        assert_eq!(check("payment", &rule), Ok(()));
        assert!(check("catalog", &rule).unwrap_err().contains("no method"));
        rule.errors.push(parse_error("INTERNAL=0.6").unwrap());
        assert!(check("payment", &rule).unwrap_err().contains("add up"));
        rule.errors.clear();
        assert!(
            check("payment", &rule)
                .unwrap_err()
                .contains("nothing to inject")
        );
    }

    fn set(service: &str, method: Option<&str>, errors: &str) -> Request {
        Request::ChaosSet {
            service: service.to_owned(),
            rule: Rule {
                method: method.map(str::to_owned),
                errors: vec![parse_error(errors).unwrap()],
                latency: None,
            },
        }
    }

    #[test]
    fn set_writes_the_services_file_and_clear_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(FOLDER)).unwrap();
        std::fs::write(dir.path().join(FOLDER).join("payment.json"), "left over").unwrap();
        let files = FaultFiles::on(dir.path(), BTreeSet::from(["currency".to_owned()])).unwrap();
        let payment = files.file_of("payment").unwrap();
        assert!(!payment.exists(), "an earlier run's faults are gone");
        assert_eq!(
            files.file_of("currency"),
            None,
            "a replaced service gets no file"
        );
        assert_eq!(files.file_of("gateway"), None);

        let Reply::Faults { active, notes } =
            files.handle(set("payment", Some("Charge"), "UNAVAILABLE=1"))
        else {
            panic!("set is carried out");
        };
        assert!(notes.is_empty());
        assert_eq!(active["payment"].rules.len(), 1);
        let written: FaultSet = serde_json::from_slice(&std::fs::read(&payment).unwrap()).unwrap();
        assert_eq!(written, active["payment"]);
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&payment).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let Reply::Faults { notes, .. } = files.handle(set("currency", None, "INTERNAL=0.5"))
        else {
            panic!("set on a replaced service is kept");
        };
        assert!(notes[0].contains("--replace"), "{notes:?}");

        assert!(matches!(
            files.handle(set("payment", Some("Convert"), "UNAVAILABLE=1")),
            Reply::Refused { .. }
        ));

        let Reply::Faults { active, .. } = files.handle(Request::ChaosClear {
            service: Some("payment".to_owned()),
        }) else {
            panic!("clear is carried out");
        };
        assert!(!payment.exists());
        assert!(!active.contains_key("payment"));
        let Reply::Faults { active, .. } = files.handle(Request::ChaosClear { service: None })
        else {
            panic!("clear is carried out");
        };
        assert!(active.is_empty());
    }

    #[test]
    fn without_chaos_set_is_refused() {
        let files = FaultFiles::off();
        assert_eq!(files.file_of("payment"), None);
        let Reply::Refused { reason } = files.handle(set("payment", None, "UNAVAILABLE=1")) else {
            panic!("refused");
        };
        assert!(reason.contains("bazaar up --chaos"), "{reason}");
        assert!(matches!(
            files.handle(Request::ChaosList),
            Reply::Faults { .. }
        ));
    }
}
