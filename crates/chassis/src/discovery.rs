//! Where the replicas of an upstream are, and how that list is kept current.
//!
//! An upstream is given a list of entries (a `--<callee>-addr` flag, comma-separated); each
//! entry is one of:
//!
//! - `host:port` (or `scheme://host:port`): one replica, there for good;
//! - `dns:///name:port` (or `dns:name:port`): every address `name` resolves to, looked up
//!   again every [`DNS_REFRESH`]. Each replica is dialled at its IP address, and its
//!   certificate must name `name`. On Kubernetes `name` is a headless Service, which
//!   resolves to one address per ready pod: this is how the calls of one caller reach every
//!   pod, although a gRPC channel is one long-lived connection per address;
//! - `registry:PATH`: the replicas listed for the service in the registry file at `PATH`
//!   ([`Registry`], which `bazaar up` keeps in its data directory), read again whenever the
//!   file changes (it is looked at every [`REGISTRY_POLL`]).
//!
//! The replicas of an upstream are the union of what its entries give. When that changes,
//! the balancer gets the new replicas and drops those that left (calls in flight on a
//! replica that left finish there). When a lookup fails, or gives nothing at all, the last
//! list is kept: a DNS hiccup or a missing file never empties an upstream.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// How often `dns:` entries are looked up again.
pub const DNS_REFRESH: Duration = Duration::from_secs(5);
/// How often a registry file is looked at for a change.
pub const REGISTRY_POLL: Duration = Duration::from_millis(200);

/// One replica to dial: the address connected to, and the name its certificate must carry
/// when that is not the host of the address (a replica found in DNS is dialled at its IP).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    /// `host:port`, or a URI with its own scheme.
    pub address: String,
    /// The name the server's certificate is checked against, if not the address's host.
    pub server_name: Option<String>,
}

impl Target {
    /// A replica at `address`, checked against the host of the address.
    pub fn at(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            server_name: None,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.server_name {
            Some(name) => write!(f, "{} ({name})", self.address),
            None => f.write_str(&self.address),
        }
    }
}

/// The replicas of every service, as `bazaar up` runs them: a JSON file,
/// `{"services": {"catalog": ["127.0.0.1:50051", "127.0.0.1:50151"], ...}}`, whose entries
/// may be any entry but `registry:` (see the [module](self) docs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    /// The entries of each service, by name.
    pub services: BTreeMap<String, Vec<String>>,
}

impl Registry {
    /// The registry at `path`.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or is not a registry.
    pub fn read(path: &Path) -> io::Result<Self> {
        Self::parse(&std::fs::read(path)?)
    }

    fn parse(text: &[u8]) -> io::Result<Self> {
        serde_json::from_slice(text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Writes the registry to `path` at once: readers see the old file or the new one,
    /// never half of one (it is written beside it and renamed over it).
    ///
    /// # Errors
    ///
    /// When the folder cannot be written.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let mut staged = path.as_os_str().to_owned();
        staged.push(format!(".{}.tmp", std::process::id()));
        let staged = PathBuf::from(staged);
        let text = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        {
            use std::io::Write;
            let mut file = crate::files::open_private(&staged, false)?;
            file.write_all(&text)?;
            file.sync_all()?;
        }
        std::fs::rename(&staged, path)
    }

    /// The entries of `service` (none when it is not listed).
    pub fn replicas(&self, service: &str) -> &[String] {
        self.services.get(service).map_or(&[], Vec::as_slice)
    }
}

/// One entry of an upstream's list, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    Fixed(String),
    Dns { host: String, port: u16 },
    Registry(PathBuf),
}

impl Entry {
    fn parse(entry: &str) -> Result<Self, String> {
        if let Some(rest) = entry.strip_prefix("dns:") {
            let name = rest.strip_prefix("///").unwrap_or(rest);
            if name.contains('/') {
                return Err(
                    "a dns: entry is dns:///name:port (naming a DNS server is not supported)"
                        .to_owned(),
                );
            }
            let (host, port) = name
                .rsplit_once(':')
                .ok_or_else(|| "a dns: entry needs a port: dns:///name:port".to_owned())?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let port = port
                .parse()
                .map_err(|_| format!("{port:?} is not a port number"))?;
            if host.is_empty() {
                return Err("a dns: entry needs a name: dns:///name:port".to_owned());
            }
            return Ok(Entry::Dns {
                host: host.to_owned(),
                port,
            });
        }
        if let Some(path) = entry.strip_prefix("registry:") {
            if path.is_empty() {
                return Err("a registry: entry needs a path: registry:PATH".to_owned());
            }
            return Ok(Entry::Registry(PathBuf::from(path)));
        }
        Ok(Entry::Fixed(entry.to_owned()))
    }
}

/// What a registry file last said, and the bytes it said it with.
#[derive(Default)]
struct RegistryFile {
    /// The file as last read. It is read whole each time (it is small, and in the page
    /// cache): a time stamp and a size can stay the same across two quick writes.
    seen: Vec<u8>,
    entries: Vec<Entry>,
}

/// Turns an upstream's entries into its replicas, again and again.
pub(crate) struct Resolver {
    service: String,
    entries: Vec<Entry>,
    registries: HashMap<PathBuf, RegistryFile>,
    /// What each `dns:` entry last resolved to.
    resolved: HashMap<(String, u16), Vec<Target>>,
    looked_up: Option<Instant>,
}

impl Resolver {
    /// A resolver of `entries` for `service`.
    ///
    /// # Errors
    ///
    /// The first entry that is not understood, and why.
    pub(crate) fn new(service: &str, entries: &[String]) -> Result<Self, (String, String)> {
        let entries = entries
            .iter()
            .map(|entry| Entry::parse(entry).map_err(|reason| (entry.clone(), reason)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            service: service.to_owned(),
            entries,
            registries: HashMap::new(),
            resolved: HashMap::new(),
            looked_up: None,
        })
    }

    /// Whether the replicas can change: some entry is looked up or read.
    pub(crate) fn is_dynamic(&self) -> bool {
        self.entries.iter().any(|e| !matches!(e, Entry::Fixed(_)))
    }

    /// How often to look again.
    pub(crate) fn poll_every(&self) -> Duration {
        if self.entries.iter().any(|e| matches!(e, Entry::Registry(_))) {
            REGISTRY_POLL
        } else {
            DNS_REFRESH
        }
    }

    /// The replicas known without waiting: the fixed entries and the registry files.
    pub(crate) fn now(&mut self) -> BTreeSet<Target> {
        let mut targets = BTreeSet::new();
        let entries = self.entries.clone();
        self.collect(&entries, &mut targets, 0);
        targets
    }

    /// Every replica, looking DNS names up again when they are due.
    pub(crate) async fn resolve(&mut self) -> BTreeSet<Target> {
        let due = self.looked_up.is_none_or(|at| at.elapsed() >= DNS_REFRESH);
        let mut targets = self.now();
        if due {
            self.looked_up = Some(Instant::now());
            let names: Vec<(String, u16)> = self.dns_names();
            for (host, port) in names {
                let looked_up = tokio::net::lookup_host((host.clone(), port)).await;
                match looked_up {
                    Ok(addresses) => {
                        let mut found: Vec<Target> = addresses
                            .map(|address| Target {
                                address: address.to_string(),
                                server_name: Some(host.clone()),
                            })
                            .collect();
                        found.sort();
                        found.dedup();
                        if found.is_empty() {
                            tracing::warn!(callee = %self.service, name = %host,
                                "{host} resolves to no address; keeping what it was");
                        } else {
                            self.resolved.insert((host, port), found);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(callee = %self.service, name = %host, %error,
                            "cannot look {host} up; keeping what it was");
                    }
                }
            }
        }
        for found in self.resolved.values() {
            targets.extend(found.iter().cloned());
        }
        targets
    }

    /// Every `dns:` entry, from the flags and from the registry files.
    fn dns_names(&self) -> Vec<(String, u16)> {
        let mut names = Vec::new();
        let from_files = self
            .registries
            .values()
            .flat_map(|file| file.entries.iter());
        for entry in self.entries.iter().chain(from_files) {
            if let Entry::Dns { host, port } = entry {
                names.push((host.clone(), *port));
            }
        }
        names.sort();
        names.dedup();
        names
    }

    fn collect(&mut self, entries: &[Entry], targets: &mut BTreeSet<Target>, depth: u8) {
        for entry in entries {
            match entry {
                Entry::Fixed(address) => {
                    targets.insert(Target::at(address.clone()));
                }
                Entry::Dns { .. } => {}
                Entry::Registry(path) if depth == 0 => {
                    let listed = self.read_registry(path);
                    self.collect(&listed, targets, depth + 1);
                }
                Entry::Registry(path) => {
                    tracing::warn!(callee = %self.service, path = %path.display(),
                        "a registry names another registry; ignored");
                }
            }
        }
    }

    /// What the registry at `path` lists for the service: parsed again when the file
    /// changed, the last reading otherwise (or when it cannot be read now).
    fn read_registry(&mut self, path: &Path) -> Vec<Entry> {
        let file = self.registries.entry(path.to_owned()).or_default();
        let bytes = std::fs::read(path).ok().filter(|bytes| *bytes != file.seen);
        if let Some(bytes) = bytes {
            let parsed = Registry::parse(&bytes);
            // A file that does not parse is said once, not at every look.
            file.seen = bytes;
            match parsed {
                Ok(registry) => {
                    file.entries = registry
                        .replicas(&self.service)
                        .iter()
                        .filter_map(|entry| match Entry::parse(entry) {
                            Ok(entry) => Some(entry),
                            Err(reason) => {
                                tracing::warn!(callee = %self.service, path = %path.display(),
                                    entry, reason, "an entry of the registry is not understood");
                                None
                            }
                        })
                        .collect();
                    // A name new in the file is looked up at once.
                    self.looked_up = None;
                }
                Err(error) => {
                    tracing::warn!(callee = %self.service, path = %path.display(), %error,
                        "cannot read the registry; keeping what it said");
                }
            }
        }
        file.entries.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_addresses_names_or_registries() {
        assert_eq!(
            Entry::parse("127.0.0.1:50051"),
            Ok(Entry::Fixed("127.0.0.1:50051".to_owned()))
        );
        assert_eq!(
            Entry::parse("https://catalog:50051"),
            Ok(Entry::Fixed("https://catalog:50051".to_owned()))
        );
        let catalog = Entry::Dns {
            host: "catalog.shop.svc".to_owned(),
            port: 50051,
        };
        assert_eq!(
            Entry::parse("dns:///catalog.shop.svc:50051"),
            Ok(catalog.clone())
        );
        assert_eq!(Entry::parse("dns:catalog.shop.svc:50051"), Ok(catalog));
        assert_eq!(
            Entry::parse("registry:/data/registry.json"),
            Ok(Entry::Registry(PathBuf::from("/data/registry.json")))
        );
        for bad in [
            "dns:///catalog",
            "dns:///:50051",
            "dns:///catalog:port",
            "dns://8.8.8.8/catalog:50051",
            "registry:",
        ] {
            assert!(Entry::parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_registry_is_read_again_when_it_changes_and_kept_when_it_breaks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registry.json");
        let entry = format!("registry:{}", path.display());
        let mut resolver = Resolver::new("catalog", &[entry, "10.0.0.9:1".to_owned()]).unwrap();
        assert!(resolver.is_dynamic());
        assert_eq!(resolver.poll_every(), REGISTRY_POLL);
        let targets = |list: &[&str]| list.iter().map(|a| Target::at(*a)).collect();

        // No file yet: the fixed entry only.
        assert_eq!(resolver.now(), targets(&["10.0.0.9:1"]));

        let mut registry = Registry::default();
        registry.services.insert(
            "catalog".to_owned(),
            vec!["127.0.0.1:50051".to_owned(), "127.0.0.1:50151".to_owned()],
        );
        registry
            .services
            .insert("orders".to_owned(), vec!["127.0.0.1:50058".to_owned()]);
        registry.write(&path).unwrap();
        assert_eq!(Registry::read(&path).unwrap(), registry);
        assert_eq!(
            resolver.now(),
            targets(&["10.0.0.9:1", "127.0.0.1:50051", "127.0.0.1:50151"])
        );

        registry.services.insert(
            "catalog".to_owned(),
            vec!["127.0.0.1:50151".to_owned(), "127.0.0.1:50251".to_owned()],
        );
        registry.write(&path).unwrap();
        assert_eq!(
            resolver.resolve().await,
            targets(&["10.0.0.9:1", "127.0.0.1:50151", "127.0.0.1:50251"])
        );

        // Half a file (as a careless writer would leave it): what it said last holds.
        std::fs::write(&path, b"{\"services\": {\"catalog\": [").unwrap();
        assert_eq!(
            resolver.now(),
            targets(&["10.0.0.9:1", "127.0.0.1:50151", "127.0.0.1:50251"])
        );
    }

    #[tokio::test]
    async fn a_name_resolves_to_a_replica_per_address_checked_against_the_name() {
        let mut resolver =
            Resolver::new("catalog", &["dns:///localhost:50051".to_owned()]).unwrap();
        assert!(resolver.is_dynamic());
        assert_eq!(resolver.poll_every(), DNS_REFRESH);
        let found = resolver.resolve().await;
        assert!(!found.is_empty());
        for target in &found {
            assert_eq!(target.server_name.as_deref(), Some("localhost"));
            let address: std::net::SocketAddr = target.address.parse().unwrap();
            assert!(address.ip().is_loopback(), "{address}");
            assert_eq!(address.port(), 50051);
        }

        // A name that does not resolve keeps what there was.
        resolver.entries.push(Entry::Dns {
            host: "no-such-host.invalid".to_owned(),
            port: 1,
        });
        resolver.looked_up = None;
        assert_eq!(resolver.resolve().await, found);
    }
}
