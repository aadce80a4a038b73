//! What the kit talks to: the service under test, the other services some checks need
//! (identity for tokens, the rest of the shop for a checkout), and an administrator.
//!
//! Every address is reached through a lazily connected channel, so a missing or dead
//! neighbour fails only the checks that need it. A check asks for a neighbour with
//! [`Target::channel`]; when the run was not given its address the check is skipped and
//! says which flag it needs.
//!
//! Channels speak TLS, trusting the shop's CA, and present a client certificate when the
//! run has one (the operator's: internal RPCs need a service or operator identity), or
//! plaintext gRPC when asked: [`Transport`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tonic::Request;
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::check::{Checked, Problem};

/// How an administrator is obtained, for the checks that need one (restocking).
#[derive(Clone, Debug)]
pub enum Admin {
    /// An access token that carries the admin role.
    Token(String),
    /// An account and its password: the kit signs it up, or logs it in when it exists;
    /// when it is not an admin yet, it redeems `code`, a one-time admin code from the
    /// shop's operator (`bazaar admin code`), with identity's ClaimAdmin.
    Account {
        email: String,
        password: String,
        code: Option<String>,
    },
}

/// The service under test and its neighbours.
#[derive(Clone, Debug)]
pub struct Target {
    under_test: &'static str,
    channels: BTreeMap<&'static str, Channel>,
    admin: Option<Admin>,
}

impl Target {
    /// A target whose service `under_test` listens on `channel`.
    pub fn new(under_test: &'static str, channel: Channel) -> Self {
        let mut channels = BTreeMap::new();
        channels.insert(under_test, channel);
        Target {
            under_test,
            channels,
            admin: None,
        }
    }

    /// Adds the address of a neighbour (`"identity"`, `"cart"`, ...). The service under
    /// test keeps its own address.
    pub fn with(mut self, service: &'static str, channel: Channel) -> Self {
        self.channels.entry(service).or_insert(channel);
        self
    }

    /// Adds the administrator.
    pub fn with_admin(mut self, admin: Admin) -> Self {
        self.admin = Some(admin);
        self
    }

    /// The name of the service under test.
    pub fn service(&self) -> &'static str {
        self.under_test
    }

    /// The channel of the service under test.
    pub fn own(&self) -> Channel {
        self.channels[self.under_test].clone()
    }

    /// The channel of `service`, or a skip that names the flag that gives it.
    pub fn channel(&self, service: &str) -> Checked<Channel> {
        self.channels
            .get(service)
            .cloned()
            .ok_or_else(|| Problem::Skipped(format!("--{service}-addr")))
    }

    /// The administrator, or a skip that names the flags that give one.
    pub fn admin(&self) -> Checked<&Admin> {
        self.admin.as_ref().ok_or_else(|| {
            Problem::Skipped("--admin-token, or --admin-email and --admin-password".to_owned())
        })
    }
}

/// How the kit reaches the services.
#[derive(Clone, Debug)]
pub enum Transport {
    /// Plaintext gRPC (`http://`): a shop started with `--plaintext`.
    Plaintext,
    /// TLS (`https://`): the server's certificate must chain to the given CA and name the
    /// address's host; the client certificate, if any, is presented to every service.
    Tls(ClientTlsConfig),
}

impl Transport {
    /// TLS trusting only the CA certificates in `ca_pem`, presenting the client certificate
    /// `identity` (certificate chain and private key, PEM) when given.
    pub fn tls(ca_pem: &[u8], identity: Option<(&[u8], &[u8])>) -> Self {
        let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem));
        if let Some((cert_pem, key_pem)) = identity {
            config = config.identity(Identity::from_pem(cert_pem, key_pem));
        }
        Transport::Tls(config)
    }

    fn scheme(&self) -> &'static str {
        match self {
            Transport::Plaintext => "http",
            Transport::Tls(_) => "https",
        }
    }
}

/// A lazily connected channel to `host:port` (or to a full URL whose scheme matches the
/// transport: `https://` for TLS, `http://` for plaintext), over `transport`.
///
/// # Errors
/// A malformed address, a scheme that contradicts the transport, or TLS settings that
/// cannot be used (such as a client key that is not PEM).
pub fn connect(address: &str, transport: &Transport) -> Result<Channel, String> {
    let scheme = transport.scheme();
    let url = match address.split_once("://") {
        Some((given, _)) if given == scheme => address.to_owned(),
        Some((given, _)) => {
            return Err(format!(
                "{given}:// does not go with {}; give HOST:PORT, or {scheme}://HOST:PORT",
                if scheme == "https" {
                    "TLS (--plaintext is not set)"
                } else {
                    "--plaintext"
                }
            ));
        }
        None => format!("{scheme}://{address}"),
    };
    let mut endpoint = Endpoint::from_shared(url)
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true);
    if let Transport::Tls(config) = transport {
        endpoint = endpoint
            .tls_config(config.clone())
            .map_err(|e| format!("TLS: {e}"))?;
    }
    Ok(endpoint.connect_lazy())
}

/// A fresh id no earlier run used, from `[a-z0-9-]` only (so it is also a valid slug and
/// `request_id`): the kit never relies on an empty store.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{:x}-{:x}-{n}", std::process::id(), nanos)
}

/// `message` as a request with `authorization: Bearer <token>`.
pub fn authorized<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    if let Ok(value) = MetadataValue::try_from(format!("Bearer {token}")) {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// `message` as a request with an `authorization` value that is not a token at all.
pub fn garbage_token<T>(message: T) -> Request<T> {
    authorized("not-a-token", message)
}

/// `token` with its signature changed: well-formed, but signed by nobody.
pub fn tampered(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    // Change a character in the middle of the signature, not the last one (whose low bits
    // base64url may ignore).
    let at = chars.len().saturating_sub(10);
    if let Some(c) = chars.get_mut(at) {
        *c = if *c == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}
