//! Settings every service shares.
//!
//! Each setting has a local default, a flag and a `BAZAAR_*` variable; a flag wins over the
//! variable. A service flattens [`ServerArgs`] into its own `clap` parser and adds what is
//! its own (its store URL, the addresses it calls). The effective values are logged at start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::tls::{Tls, TlsError, TlsFiles};

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    #[default]
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// Where the admin listener listens: an address, or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminListen {
    /// No admin listener (no `/metrics`, and no recorder: metrics cost nothing).
    Off,
    /// This address; port 0 picks a free port.
    At(SocketAddr),
}

impl std::str::FromStr for AdminListen {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("off") {
            return Ok(Self::Off);
        }
        text.parse().map(Self::At).map_err(|_| {
            format!("expected an address such as 127.0.0.1:9451, or off; got {text:?}")
        })
    }
}

/// Flags and variables shared by every service process.
#[derive(Clone, Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on; port 0 picks a free port (the bound address is logged).
    /// Defaults to 127.0.0.1 and the service's own port.
    #[arg(long, env = "BAZAAR_LISTEN")]
    pub listen: Option<SocketAddr>,

    /// Address of the admin listener (HTTP: `/metrics`, `/healthz`, `/readyz`), or `off`.
    /// Defaults to the host of `--listen` on the service's admin port, or port 0 when
    /// `--listen` asks for port 0.
    #[arg(long, env = "BAZAAR_ADMIN_LISTEN", value_name = "ADDRESS|off")]
    pub admin_listen: Option<AdminListen>,

    /// Directory for the service's local data (SQLite files and the like).
    #[arg(long, env = "BAZAAR_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Log format: readable text lines, or one JSON object per line for a log collector.
    #[arg(long, env = "BAZAAR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log filter, in `tracing_subscriber::EnvFilter` syntax (`info`, `catalog=debug`, ...).
    #[arg(long = "log", env = "BAZAAR_LOG", default_value = "info")]
    pub log_filter: String,

    /// Longest time, in seconds, that in-flight calls get to finish after a stop is asked
    /// for; what is still running then is cut off.
    #[arg(long, env = "BAZAAR_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,

    /// Most calls in progress at once on one connection (HTTP/2 concurrent streams).
    #[arg(long, env = "BAZAAR_MAX_CONCURRENT_STREAMS", default_value_t = 200)]
    pub max_concurrent_streams: u32,

    /// Most calls in progress at once in the whole process, open streams included: the
    /// ceiling of the adaptive concurrency limit. Calls beyond the limit are refused at once
    /// with RESOURCE_EXHAUSTED and a pushback hint, so a client can retry later or elsewhere
    /// instead of waiting in a queue.
    #[arg(long, env = "BAZAAR_MAX_IN_FLIGHT", default_value_t = 512)]
    pub max_in_flight: usize,

    /// Adapt the concurrency limit to the latency calls show; off by default, when only
    /// `--max-in-flight` bounds the process (see docs/chassis.md, "Overload", for what the
    /// overload benchmark shows of each).
    #[arg(
        long,
        env = "BAZAAR_ADAPTIVE_LIMIT",
        value_parser = clap::builder::BoolishValueParser::new(),
        num_args = 0..=1,
        default_missing_value = "true",
        default_value_t = false
    )]
    pub adaptive_limit: bool,

    /// Largest request or response message, in bytes.
    #[arg(long, env = "BAZAAR_MAX_MESSAGE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_message_bytes: usize,

    /// Deadline, in milliseconds, given to an outbound call when the inbound call that caused
    /// it has none.
    #[arg(long, env = "BAZAAR_DEFAULT_DEADLINE_MS", default_value_t = 5_000)]
    pub default_deadline_ms: u64,

    /// Folder of the shop's certificates (`bazaar pki` makes it); the defaults of the
    /// three TLS files below are in it. Defaults to `pki` in the data directory.
    #[arg(long, env = "BAZAAR_PKI_DIR")]
    pub pki_dir: Option<PathBuf>,

    /// This process's certificate, presented to callers and to the services it calls
    /// (PEM). Defaults to `<service>.crt` in the PKI folder.
    #[arg(long, env = "BAZAAR_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// The key of `--tls-cert` (PEM). Defaults to `<service>.key` in the PKI folder.
    #[arg(long, env = "BAZAAR_TLS_KEY")]
    pub tls_key: Option<PathBuf>,

    /// The CA that verifies the certificates of clients and of called services (PEM).
    /// Defaults to `ca.crt` in the PKI folder.
    #[arg(long, env = "BAZAAR_TLS_CA")]
    pub tls_ca: Option<PathBuf>,

    /// Serve and call without TLS: no encryption, no service identity, and calls meant for
    /// services only are open to anyone who can reach the port. Logged loudly at start.
    #[arg(
        long,
        env = "BAZAAR_PLAINTEXT",
        value_parser = clap::builder::BoolishValueParser::new(),
        num_args = 0..=1,
        default_missing_value = "true",
        default_value_t = false
    )]
    pub plaintext: bool,

    /// A fault file (JSON, written by `bazaar up --chaos` for `bazaar chaos`): the errors
    /// and latency to inject into this process's calls, watched for changes while it runs
    /// (see `chassis::chaos`). Without it there is no fault injection at all.
    #[arg(long, env = "BAZAAR_CHAOS_FILE", value_name = "PATH")]
    pub chaos_file: Option<PathBuf>,
}

impl ServerArgs {
    /// The settings a test wants: port 0 on loopback, data in `data_dir`, TLS with the
    /// test PKI of the process ([`crate::pki::for_tests`]), defaults for everything else.
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            admin_listen: None,
            data_dir: data_dir.into(),
            log_format: LogFormat::Text,
            log_filter: "info".to_owned(),
            shutdown_grace_secs: 5,
            max_concurrent_streams: 200,
            max_in_flight: 512,
            adaptive_limit: true,
            max_message_bytes: 4 * 1024 * 1024,
            default_deadline_ms: 5_000,
            pki_dir: Some(crate::pki::for_tests().dir().to_owned()),
            tls_cert: None,
            tls_key: None,
            tls_ca: None,
            plaintext: false,
            chaos_file: None,
        }
    }

    /// The folder of the shop's certificates: `--pki-dir`, or `pki` in the data directory.
    pub fn pki_dir(&self) -> PathBuf {
        self.pki_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("pki"))
    }

    /// The TLS files of process `name`: each as configured, or its default in the PKI
    /// folder.
    pub fn tls_files(&self, name: &str) -> TlsFiles {
        let pki = crate::pki::Pki::at(self.pki_dir());
        TlsFiles {
            cert: self.tls_cert.clone().unwrap_or_else(|| pki.cert(name)),
            key: self.tls_key.clone().unwrap_or_else(|| pki.key(name)),
            ca: self.tls_ca.clone().unwrap_or_else(|| pki.ca_cert()),
        }
    }

    /// The TLS of process `name`, read from its files; or [`Tls::Plaintext`] with
    /// `--plaintext`, said loudly in the log.
    ///
    /// # Errors
    ///
    /// When a file is missing or unusable; the message names the file and the two ways out
    /// (make the certificates, or `--plaintext`).
    pub fn tls(&self, name: &str) -> Result<Tls, TlsError> {
        if self.plaintext {
            tracing::warn!(
                service = name,
                "plaintext: no encryption, no service identity; internal calls are open to \
                 anyone who can reach the port"
            );
            return Ok(Tls::Plaintext);
        }
        Tls::service(&self.tls_files(name))
    }

    /// The address to bind: the configured one, or loopback on `default_port`.
    pub fn listen_or(&self, default_port: u16) -> SocketAddr {
        self.listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], default_port)))
    }

    /// The address of the admin listener, or `None` when it is `off`: the configured one,
    /// or the host of [`ServerArgs::listen_or`] on `default_admin_port` (port 0 when the
    /// service itself listens on port 0, so tests never collide).
    pub fn admin_listen_or(
        &self,
        default_port: u16,
        default_admin_port: u16,
    ) -> Option<SocketAddr> {
        match self.admin_listen {
            Some(AdminListen::Off) => None,
            Some(AdminListen::At(address)) => Some(address),
            None => {
                let listen = self.listen_or(default_port);
                let port = if listen.port() == 0 {
                    0
                } else {
                    default_admin_port
                };
                Some(SocketAddr::new(listen.ip(), port))
            }
        }
    }

    /// The store URL in effect: the configured one, or SQLite file `file_name` in the data
    /// directory.
    pub fn store_url(&self, configured: Option<&StoreUrl>, file_name: &str) -> String {
        configured.map_or_else(
            || crate::store::sqlite_url(&self.data_dir, file_name),
            |url| url.as_str().to_owned(),
        )
    }

    /// How long in-flight calls get to finish after a stop is asked for.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// The deadline of an outbound call that has no inbound deadline to inherit.
    pub fn default_deadline(&self) -> Duration {
        Duration::from_millis(self.default_deadline_ms)
    }
}

/// Where identity is, for services that check callers' tokens.
#[derive(Clone, Debug, Args)]
pub struct IdentityArgs {
    /// Address(es) of the identity service, comma-separated, for its signing keys.
    #[arg(
        long = "identity-addr",
        env = "BAZAAR_IDENTITY_ADDR",
        default_value = "127.0.0.1:50053"
    )]
    pub identity_addr: String,

    /// How often, in seconds, the signing keys are fetched again from identity.
    #[arg(long, env = "BAZAAR_SIGNING_KEYS_REFRESH_SECS", default_value_t = 600)]
    pub signing_keys_refresh_secs: u64,
}

impl IdentityArgs {
    /// A token verifier that fetches identity's keys now, every refresh period, and when it
    /// meets an unknown key; it keeps the cached keys while identity is down. It calls
    /// identity with `tls`.
    pub fn verifier(
        &self,
        server: &ServerArgs,
        tls: &Tls,
        shutdown: &crate::Shutdown,
    ) -> Result<crate::auth::Verifier, crate::client::UpstreamError> {
        let identity = crate::client::Upstream::connect(
            "identity",
            &split_addresses(&self.identity_addr),
            server.default_deadline(),
            tls,
        )?;
        let verifier = crate::auth::Verifier::from_identity(identity);
        verifier.spawn_refresher(
            Duration::from_secs(self.signing_keys_refresh_secs.max(1)),
            shutdown.clone(),
        );
        Ok(verifier)
    }
}

/// Splits a comma-separated list of `host:port` addresses, as taken by the `*_ADDR` settings
/// (`BAZAAR_CATALOG_ADDR=127.0.0.1:50051,127.0.0.1:50061`), ignoring blanks.
pub fn split_addresses(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A store URL from the settings (`postgres://user:secret@host/db`, `redis://...`,
/// `sqlite://file`). It is shown (in `Debug`, hence in the configuration logged at start)
/// with the password of its user info replaced by `***`; [`StoreUrl::as_str`] is the URL
/// itself, for connecting.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreUrl(String);

impl StoreUrl {
    /// The URL as given, password included.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL with its password, if any, replaced by `***`.
    pub fn redacted(&self) -> String {
        let url = &self.0;
        let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
            return url.clone();
        };
        let authority_end = url[scheme_end..]
            .find(['/', '?', '#'])
            .map_or(url.len(), |i| scheme_end + i);
        let authority = &url[scheme_end..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => format!(
                "{}***{}",
                &url[..scheme_end + colon + 1],
                &url[scheme_end + at..]
            ),
            _ => url.clone(),
        }
    }
}

impl From<String> for StoreUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl std::str::FromStr for StoreUrl {
    type Err = std::convert::Infallible;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Ok(Self(url.to_owned()))
    }
}

impl std::fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_are_shown_without_their_password() {
        for (url, shown) in [
            ("redis://:secret@host:6379/0", "redis://:***@host:6379/0"),
            (
                "postgres://cart:secret@db/cart",
                "postgres://cart:***@db/cart",
            ),
            (
                "postgres://u:p@ss@db:5432/x?ssl=1",
                "postgres://u:***@db:5432/x?ssl=1",
            ),
            ("postgres://cart@db/cart", "postgres://cart@db/cart"),
            ("redis://host:6379", "redis://host:6379"),
            ("sqlite://data/cart.db", "sqlite://data/cart.db"),
        ] {
            let url = StoreUrl::from(url.to_owned());
            assert_eq!(url.redacted(), shown);
            assert_eq!(format!("{url:?}"), format!("{shown:?}"));
        }
    }

    #[test]
    fn address_lists_ignore_blanks_and_spaces() {
        assert_eq!(
            split_addresses(" 127.0.0.1:1, ,127.0.0.1:2,"),
            vec!["127.0.0.1:1".to_owned(), "127.0.0.1:2".to_owned()]
        );
        assert!(split_addresses("").is_empty());
    }

    #[derive(clap::Parser)]
    struct Flags {
        #[command(flatten)]
        server: ServerArgs,
    }

    fn parse(args: &[&str]) -> ServerArgs {
        <Flags as clap::Parser>::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .unwrap()
            .server
    }

    #[test]
    fn tls_files_default_to_the_pki_folder_and_plaintext_is_explicit() {
        let args = parse(&["--data-dir", "d"]);
        assert!(!args.plaintext);
        let files = args.tls_files("orders");
        assert_eq!(files.cert, PathBuf::from("d/pki/orders.crt"));
        assert_eq!(files.key, PathBuf::from("d/pki/orders.key"));
        assert_eq!(files.ca, PathBuf::from("d/pki/ca.crt"));

        let args = parse(&["--pki-dir", "/etc/pki", "--tls-cert", "own.pem"]);
        let files = args.tls_files("orders");
        assert_eq!(files.cert, PathBuf::from("own.pem"));
        assert_eq!(files.key, PathBuf::from("/etc/pki/orders.key"));
        assert_eq!(files.ca, PathBuf::from("/etc/pki/ca.crt"));

        for on in [
            &["--plaintext"][..],
            &["--plaintext=1"],
            &["--plaintext=true"],
        ] {
            assert!(parse(on).plaintext, "{on:?}");
        }
        assert!(!parse(&["--plaintext=0"]).plaintext);
        assert!(matches!(
            parse(&["--plaintext"]).tls("orders"),
            Ok(Tls::Plaintext)
        ));
    }

    #[test]
    fn listen_defaults_to_loopback_on_the_service_port() {
        let mut args = ServerArgs::for_tests("d");
        args.listen = None;
        assert_eq!(args.listen_or(50051).to_string(), "127.0.0.1:50051");
    }
}
