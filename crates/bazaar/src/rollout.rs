//! Rolling upgrades: `bazaar rollout SERVICE [--command CMD]` asks the running `bazaar up`
//! (through its control socket, see [`crate::control`]) to replace every replica of a
//! service, one at a time, while the shop keeps serving.
//!
//! Every replica keeps its port, so that what names a service by its port (grpcurl, the
//! Prometheus targets, `bazaar load`) finds it after the rollout as before. A replica is
//! therefore replaced in two hops through a spare port (the port of replica N when the
//! service runs N):
//!
//! 1. the new version starts on the spare port, and must answer SERVING within the ready
//!    timeout; if it does not, it is stopped and the rollout is rolled back: the old
//!    replicas were never touched;
//! 2. it is added to the registry (`<data-dir>/registry.json`) and callers, which follow
//!    the registry, start sending it calls; then the old replica is taken out of the
//!    registry, and once callers have seen that ([`PROPAGATION`]) it is stopped: SIGTERM
//!    turns it NOT_SERVING, its calls in flight drain, it exits;
//! 3. the new version starts on the old replica's port, and the same steps move the calls
//!    back to it and retire the spare.
//!
//! The storefront is rolled out the same way, but its gateways share the shop's one public
//! port (`SO_REUSEPORT`, which `bazaar up` turns on for them): the new gateway binds it
//! beside the old one, which then closes its listening socket and drains (see
//! `gateway::listener`), so that every connection is accepted by one or the other. Only
//! its admin listener takes the spare slot's port, and is back on its own after the
//! second hop. Its readiness is asked of that admin listener's `/readyz`, as its port
//! answers for whichever gateway accepts.
//!
//! A new version that starts on the spare port but not on the replica's own (a crash on the
//! second start) is rolled back too: the old version is started again on that port. The
//! command a rollout installs is what the replica is restarted with if it dies later.
//!
//! `bazaar scale SERVICE=N` changes how many replicas run, the same way: a new replica
//! starts on the next free port, is listed once it answers SERVING, and callers find it;
//! a replica that goes is unlisted first and stopped once callers have seen that. Prometheus's
//! targets follow the replicas listed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chassis::discovery::Registry;
use chassis::tls::Tls;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::control::{Reply, Request};
use crate::health::{self, Health};
use crate::services::{SERVICES, Spec};
use crate::targets::{self, Target};
use crate::up::{MAX_REPLICAS, Supervisor, listen_port, replica_label, replica_port};

/// How long callers get to see a change of the registry before what it implies is done:
/// several of their polls ([`chassis::discovery::REGISTRY_POLL`]) and a margin.
pub const PROPAGATION: Duration = Duration::from_millis(1_000);
/// How long a new version gets to answer SERVING unless the rollout says otherwise.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `bazaar rollout` waits for the whole rollout.
pub const ROLLOUT_LIMIT: Duration = Duration::from_secs(30 * 60);

/// What a rollout asks for.
#[derive(Clone, Debug)]
pub struct Rollout {
    /// The service to roll out.
    pub service: String,
    /// The command of the new version, run as `--replace` runs one; `None` for
    /// `bazaar serve <service>` (this `bazaar`).
    pub command: Option<String>,
    /// How long each new replica gets to answer SERVING.
    pub ready_timeout: Duration,
}

/// What builds a replica's supervisor: everything but the service, the slot and the
/// command.
pub(crate) type Build =
    Box<dyn Fn(&'static Spec, usize, Option<String>) -> Supervisor + Send + Sync>;

/// One running replica.
struct Member {
    spec: &'static Spec,
    slot: usize,
    command: Option<String>,
    stop: oneshot::Sender<()>,
    handle: JoinHandle<String>,
}

/// Every replica `bazaar up` runs, and the registry that lists them.
pub(crate) struct Fleet {
    build: Build,
    members: Vec<Member>,
    /// The slots of each service that callers are told of.
    listed: BTreeMap<&'static str, Vec<usize>>,
    registry: PathBuf,
    /// Prometheus's discovery file, and `bazaar up`'s own target in it.
    targets: (PathBuf, Target),
    /// `host` as callers dial it.
    dial: String,
    /// Where health is asked: the dial host.
    tls: Tls,
}

impl Fleet {
    pub(crate) fn new(
        build: Build,
        registry: PathBuf,
        targets: (PathBuf, Target),
        dial: String,
        tls: Tls,
    ) -> Self {
        Self {
            build,
            members: Vec::new(),
            listed: BTreeMap::new(),
            registry,
            targets,
            dial,
            tls,
        }
    }

    /// Starts replica `slot` of `spec` with `command`, unlisted.
    pub(crate) fn start(&mut self, spec: &'static Spec, slot: usize, command: Option<String>) {
        let (stop, stop_rx) = oneshot::channel();
        let supervisor = (self.build)(spec, slot, command.clone());
        self.members.push(Member {
            spec,
            slot,
            command,
            stop,
            handle: tokio::spawn(supervisor.run(stop_rx)),
        });
    }

    /// Lists replica `slot` of `service` (or unlists it) and writes the registry.
    pub(crate) fn list(
        &mut self,
        service: &'static str,
        slot: usize,
        listed: bool,
    ) -> Result<(), String> {
        let slots = self.listed.entry(service).or_default();
        slots.retain(|s| *s != slot);
        if listed {
            slots.push(slot);
            slots.sort_unstable();
        }
        self.publish()
    }

    /// Writes the registry and Prometheus's targets from the replicas listed.
    fn publish(&self) -> Result<(), String> {
        let mut registry = Registry::default();
        let mut scraped = vec![self.targets.1.clone()];
        for spec in SERVICES {
            let slots = self.listed.get(spec.name).map_or(&[][..], Vec::as_slice);
            let mut addresses: Vec<String> = slots
                .iter()
                .map(|slot| format!("{}:{}", self.dial, listen_port(spec, *slot)))
                .collect();
            // Gateways share one port: one address.
            addresses.dedup();
            registry.services.insert(spec.name.to_owned(), addresses);
            scraped.extend(slots.iter().map(|slot| Target {
                service: spec.name.to_owned(),
                address: format!("{}:{}", self.dial, replica_port(spec.admin_port, *slot)),
            }));
        }
        registry
            .write(&self.registry)
            .map_err(|e| format!("cannot write {}: {e}", self.registry.display()))?;
        let file = &self.targets.0;
        targets::write(file, &scraped)
            .map(drop)
            .map_err(|e| format!("cannot write {}: {e}", file.display()))
    }

    /// Stops replica `slot` of `service` (it drains first) and says how it ended.
    pub(crate) async fn stop(&mut self, service: &str, slot: usize) -> Option<String> {
        let index = self
            .members
            .iter()
            .position(|m| m.spec.name == service && m.slot == slot)?;
        let member = self.members.remove(index);
        let _ = member.stop.send(());
        Some(
            member
                .handle
                .await
                .unwrap_or_else(|e| format!("supervisor failed: {e}")),
        )
    }

    /// Stops every replica, callers before callees (the reverse of the table), printing
    /// how each ended.
    pub(crate) async fn stop_all(&mut self) {
        let mut members = std::mem::take(&mut self.members);
        members.sort_by_key(|m| (SERVICES.iter().position(|s| s.name == m.spec.name), m.slot));
        for member in members.into_iter().rev() {
            let label = replica_label(member.spec.name, member.slot);
            let _ = member.stop.send(());
            match member.handle.await {
                Ok(status) => println!("{label} stopped ({status})"),
                Err(error) => eprintln!("{label}: supervisor failed: {error}"),
            }
        }
    }

    /// Waits until replica `slot` of `spec` answers SERVING, for at most `timeout`.
    async fn ready(&self, spec: &'static Spec, slot: usize, timeout: Duration) -> bool {
        let probe = format!("{}:{}", self.dial, listen_port(spec, slot));
        let admin = format!("{}:{}", self.dial, replica_port(spec.admin_port, slot));
        let began = Instant::now();
        while began.elapsed() < timeout {
            let (health, _) =
                health::check_replica(spec, &probe, &admin, Duration::from_secs(1), &self.tls)
                    .await;
            if health == Health::Serving {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Carries `rollout` out, saying what was done, step by step.
    pub(crate) async fn roll_out(&mut self, rollout: Rollout) -> Reply {
        let spec = match service(&rollout.service) {
            Ok(spec) => spec,
            Err(refusal) => return refusal,
        };
        let slots = self.slots(spec.name);
        let spare = (0..=MAX_REPLICAS).find(|s| !slots.contains(s));
        let Some(spare) = spare else {
            return refused(format!(
                "{} has no spare port to roll out through",
                spec.name
            ));
        };
        let mut steps = Steps::new("rollout");
        for slot in slots {
            let old = self
                .members
                .iter()
                .find(|m| m.spec.name == spec.name && m.slot == slot)
                .and_then(|m| m.command.clone());
            let label = replica_label(spec.name, slot);
            let spare_label = replica_label(spec.name, spare);
            // 1. The new version on the spare port.
            self.start(spec, spare, rollout.command.clone());
            if !self.ready(spec, spare, rollout.ready_timeout).await {
                let ended = self.stop(spec.name, spare).await.unwrap_or_default();
                steps.say(&format!(
                    "{spare_label}: the new version did not answer SERVING within {:.0}s \
                     ({ended}); rolled back, {label} untouched",
                    rollout.ready_timeout.as_secs_f64()
                ));
                return Reply::RolledBack { steps: steps.lines };
            }
            steps.say(&format!("{spare_label}: new version SERVING"));
            // 2. Calls move to it; the old replica drains and stops.
            if let Err(reason) = self.shift(spec.name, slot, spare).await {
                return refused(reason);
            }
            let ended = self.stop(spec.name, slot).await.unwrap_or_default();
            steps.say(&format!(
                "{label}: old version drained and stopped ({ended})"
            ));
            // 3. The new version on the replica's own port; the spare retires.
            self.start(spec, slot, rollout.command.clone());
            let (back, command) = if self.ready(spec, slot, rollout.ready_timeout).await {
                (true, rollout.command.clone())
            } else {
                let _ = self.stop(spec.name, slot).await;
                self.start(spec, slot, old.clone());
                (self.ready(spec, slot, READY_TIMEOUT).await, old.clone())
            };
            if !back {
                steps.say(&format!(
                    "{label}: neither version answers SERVING on its port; {spare_label} \
                     keeps serving in its place"
                ));
                return Reply::RolledBack { steps: steps.lines };
            }
            if let Err(reason) = self.shift(spec.name, spare, slot).await {
                return refused(reason);
            }
            let _ = self.stop(spec.name, spare).await;
            if command != rollout.command {
                steps.say(&format!(
                    "{label}: the new version did not start on its own port; the old one \
                     runs there again and {spare_label} is retired"
                ));
                return Reply::RolledBack { steps: steps.lines };
            }
            steps.say(&format!(
                "{label}: new version SERVING on its port; {spare_label} retired"
            ));
        }
        let took = steps.began.elapsed();
        steps.say(&format!(
            "{} rolled out in {:.1}s",
            spec.name,
            took.as_secs_f64()
        ));
        Reply::RolledOut { steps: steps.lines }
    }

    /// Starts or stops replicas of `service` until `replicas` run, each new one listed once
    /// it answers SERVING (within `ready_timeout`), each one that goes unlisted before it
    /// is stopped.
    pub(crate) async fn scale(
        &mut self,
        service: &str,
        replicas: usize,
        ready_timeout: Duration,
    ) -> Reply {
        let spec = match grpc_service(service) {
            Ok(spec) => spec,
            Err(refusal) => return refusal,
        };
        if !(1..=MAX_REPLICAS).contains(&replicas) {
            return refused(format!(
                "{}={replicas}: a service runs 1 to {MAX_REPLICAS} replicas",
                spec.name
            ));
        }
        let mut steps = Steps::new("scale");
        let command = self
            .members
            .iter()
            .find(|m| m.spec.name == spec.name)
            .and_then(|m| m.command.clone());
        while self.slots(spec.name).len() < replicas {
            let slots = self.slots(spec.name);
            let Some(slot) = (0..MAX_REPLICAS).find(|s| !slots.contains(s)) else {
                break;
            };
            let label = replica_label(spec.name, slot);
            self.start(spec, slot, command.clone());
            if !self.ready(spec, slot, ready_timeout).await {
                let ended = self.stop(spec.name, slot).await.unwrap_or_default();
                steps.say(&format!(
                    "{label}: did not answer SERVING within {:.0}s ({ended}); stopped",
                    ready_timeout.as_secs_f64()
                ));
                return refused(steps.lines.join("\n"));
            }
            if let Err(reason) = self.list(spec.name, slot, true) {
                return refused(reason);
            }
            steps.say(&format!("{label}: SERVING and listed"));
        }
        while self.slots(spec.name).len() > replicas {
            let Some(slot) = self.slots(spec.name).pop() else {
                break;
            };
            let label = replica_label(spec.name, slot);
            if let Err(reason) = self.list(spec.name, slot, false) {
                return refused(reason);
            }
            tokio::time::sleep(PROPAGATION).await;
            let ended = self.stop(spec.name, slot).await.unwrap_or_default();
            steps.say(&format!("{label}: unlisted, drained and stopped ({ended})"));
        }
        // Callers find the new replicas within a few polls of the registry.
        tokio::time::sleep(PROPAGATION).await;
        let took = steps.began.elapsed();
        steps.say(&format!(
            "{} runs {replicas} replicas, after {:.1}s",
            spec.name,
            took.as_secs_f64()
        ));
        Reply::Scaled { steps: steps.lines }
    }

    /// The slots of the replicas of `service` that run, in order.
    fn slots(&self, service: &str) -> Vec<usize> {
        let mut slots: Vec<usize> = self
            .members
            .iter()
            .filter(|m| m.spec.name == service)
            .map(|m| m.slot)
            .collect();
        slots.sort_unstable();
        slots
    }

    /// Lists `to`, lets callers find it, unlists `from` and lets callers leave it.
    async fn shift(&mut self, service: &'static str, from: usize, to: usize) -> Result<(), String> {
        self.list(service, to, true)?;
        tokio::time::sleep(PROPAGATION).await;
        self.list(service, from, false)?;
        tokio::time::sleep(PROPAGATION).await;
        Ok(())
    }
}

fn refused(reason: String) -> Reply {
    Reply::Refused { reason }
}

/// The service named `name`.
fn service(name: &str) -> Result<&'static Spec, Reply> {
    crate::services::find(name).ok_or_else(|| {
        refused(format!(
            "unknown service {name:?}; known: {}",
            crate::services::names()
        ))
    })
}

/// The gRPC service named `name`: the ones that can run several replicas (the storefront
/// runs once, sharing its port only while a rollout replaces it).
fn grpc_service(name: &str) -> Result<&'static Spec, Reply> {
    let spec = service(name)?;
    if matches!(spec.probe, chassis::topology::Probe::Grpc) {
        Ok(spec)
    } else {
        Err(refused(format!(
            "{} runs once: it can be rolled out, not scaled",
            spec.name
        )))
    }
}

/// What a change of the fleet did, step by step, each timed from its start; printed by
/// `bazaar up` as it goes and answered to the command that asked.
struct Steps {
    kind: &'static str,
    began: Instant,
    lines: Vec<String>,
}

impl Steps {
    fn new(kind: &'static str) -> Self {
        Self {
            kind,
            began: Instant::now(),
            lines: Vec::new(),
        }
    }

    fn say(&mut self, step: &str) {
        println!("{}: {step}", self.kind);
        self.lines.push(format!(
            "{:>6.1}s {step}",
            self.began.elapsed().as_secs_f64()
        ));
    }
}

/// `bazaar scale SERVICE=N`: asks the `bazaar up` of `data_dir` to run `replicas` of
/// `service`, and prints its steps.
///
/// # Errors
///
/// When no `bazaar up` runs there, or the change is refused or fails.
pub async fn scale(
    data_dir: &std::path::Path,
    service: String,
    replicas: usize,
    ready_timeout: Duration,
) -> Result<(), String> {
    let request = Request::Scale {
        service,
        replicas,
        ready_timeout_ms: u64::try_from(ready_timeout.as_millis()).unwrap_or(u64::MAX),
    };
    match crate::control::ask_within(data_dir, &request, ROLLOUT_LIMIT).await? {
        Reply::Scaled { steps } => {
            for step in steps {
                println!("{step}");
            }
            Ok(())
        }
        Reply::Refused { reason } => Err(reason),
        other => Err(format!("bazaar up answered {other:?}")),
    }
}

/// `bazaar rollout`: asks the `bazaar up` of `data_dir` for `rollout` and prints its steps.
///
/// # Errors
///
/// When no `bazaar up` runs there, the rollout is refused, or it was rolled back.
pub async fn run(data_dir: &std::path::Path, rollout: Rollout) -> Result<(), String> {
    let request = Request::Rollout {
        service: rollout.service.clone(),
        command: rollout.command,
        ready_timeout_ms: u64::try_from(rollout.ready_timeout.as_millis()).unwrap_or(u64::MAX),
    };
    match crate::control::ask_within(data_dir, &request, ROLLOUT_LIMIT).await? {
        Reply::RolledOut { steps } => {
            for step in steps {
                println!("{step}");
            }
            Ok(())
        }
        Reply::RolledBack { steps } => {
            for step in &steps {
                println!("{step}");
            }
            Err(format!(
                "the rollout of {} was rolled back",
                rollout.service
            ))
        }
        Reply::Refused { reason } => Err(reason),
        other => Err(format!("bazaar up answered {other:?}")),
    }
}
