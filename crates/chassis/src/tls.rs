//! Mutual TLS: what a process presents and whom it trusts, on both ends of a call.
//!
//! Every gRPC server of the shop serves TLS with its own certificate and asks callers for
//! theirs, without requiring one: public RPCs need no client certificate (grpcurl with
//! `-cacert` alone works), and a caller that presents one from the shop's CA is known by the
//! identity its URI SAN names (see [`crate::auth::Peer`]). A certificate from any other CA
//! is refused during the handshake. Every outbound call ([`crate::client`]) verifies the
//! server against the same CA and the host of the address it dials (an IP SAN for
//! `127.0.0.1`), and presents the process's own certificate.
//!
//! [`Tls`] is that configuration, loaded once at start from three PEM files (the
//! certificate, its key and the CA; see [`crate::config::ServerArgs`] for the flags and
//! [`crate::pki`] for where they come from). Files are read at start only: a renewed
//! certificate takes effect when the process restarts. [`Tls::Plaintext`] is the explicit
//! opt-out (`--plaintext`): no encryption, and no caller's identity can be known.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::auth::Peer;

/// The ALPN protocol of gRPC: HTTP/2.
const ALPN_H2: &[u8] = b"h2";
/// Longest a client may take to complete a TLS handshake (on both ends).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The three files of a process's TLS identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// Its certificate (PEM; may carry intermediates after it).
    pub cert: PathBuf,
    /// The certificate's private key (PEM, PKCS#8 or SEC1).
    pub key: PathBuf,
    /// The CA that verifies every server and client of the shop (PEM).
    pub ca: PathBuf,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error(
        "cannot read the TLS {what} {} ({error}); create the shop's certificates with \
         `bazaar pki` (`bazaar up` does it too) or point --tls-cert/--tls-key/--tls-ca at yours, \
         or run without TLS with --plaintext",
        path.display()
    )]
    Read {
        /// Certificate, key or CA.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What the system said (in the message, so that the ways out come last).
        error: std::io::Error,
    },
    /// A file was read but holds no usable PEM of its kind.
    #[error("{} holds no {what} in PEM form", path.display())]
    Pem {
        /// Certificate, key or CA.
        what: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// rustls refused the certificates or the key.
    #[error("the TLS configuration is not usable")]
    Rustls(#[from] rustls::Error),
    /// The CA cannot verify clients.
    #[error("the CA cannot verify client certificates")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// Whether a process speaks TLS, and with what. Cheap to clone.
#[derive(Clone)]
pub enum Tls {
    /// No TLS: plain HTTP/2 (`--plaintext`).
    Plaintext,
    /// TLS with the shop's CA.
    Enabled(Arc<TlsConfig>),
}

/// The loaded TLS material of a process.
pub struct TlsConfig {
    ca_pem: Vec<u8>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
    server: Option<Arc<rustls::ServerConfig>>,
    files: Option<TlsFiles>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tls::Plaintext => f.write_str("Plaintext"),
            Tls::Enabled(config) => f
                .debug_struct("Tls")
                .field("files", &config.files)
                .field("client_identity", &config.identity.is_some())
                .finish_non_exhaustive(),
        }
    }
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read {
        what,
        path: path.to_owned(),
        error,
    })
}

/// The crypto of every TLS connection: *ring*, as tonic's `tls-ring` uses for clients.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    // rustls deprecates the ring provider because it lacks post-quantum key exchange, which
    // only its aws-lc-rs provider has; the workspace builds ring (the C toolchain aws-lc
    // needs is not asked of contributors), and tonic's clients use the same provider.
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Tls {
    /// The TLS of a server that is also a client: its certificate and key (presented on
    /// both ends) and the CA, read from `files`.
    ///
    /// # Errors
    ///
    /// When a file is missing or unreadable, or rustls refuses what it holds.
    pub fn service(files: &TlsFiles) -> Result<Self, TlsError> {
        let cert_pem = read("certificate", &files.cert)?;
        let key_pem = read("key", &files.key)?;
        let ca_pem = read("CA certificate", &files.ca)?;
        let config = TlsConfig::new(ca_pem, Some((cert_pem, key_pem)), true, Some(files))?;
        Ok(Self::Enabled(Arc::new(config)))
    }

    /// The TLS of a client only: verifies servers with the CA at `ca` and presents
    /// `identity` (a certificate and key file) when given, nothing otherwise.
    ///
    /// # Errors
    ///
    /// When a file is missing or unreadable, or holds no PEM of its kind.
    pub fn client(ca: &Path, identity: Option<(&Path, &Path)>) -> Result<Self, TlsError> {
        let ca_pem = read("CA certificate", ca)?;
        let identity = match identity {
            Some((cert, key)) => Some((read("certificate", cert)?, read("key", key)?)),
            None => None,
        };
        Ok(Self::Enabled(Arc::new(TlsConfig::new(
            ca_pem, identity, false, None,
        )?)))
    }

    /// Whether this is the plaintext opt-out.
    pub fn is_plaintext(&self) -> bool {
        matches!(self, Tls::Plaintext)
    }

    /// `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        match self {
            Tls::Plaintext => "http",
            Tls::Enabled(_) => "https",
        }
    }

    /// The same CA, presenting no client certificate: how a caller from outside sees a
    /// server of the shop.
    pub fn anonymous(&self) -> Self {
        match self {
            Tls::Plaintext => Tls::Plaintext,
            Tls::Enabled(config) => Tls::Enabled(Arc::new(TlsConfig {
                ca_pem: config.ca_pem.clone(),
                identity: None,
                server: None,
                files: None,
            })),
        }
    }

    /// The rustls configuration of a server (`None` in plaintext or for a client-only TLS).
    pub(crate) fn server_config(&self) -> Option<Arc<rustls::ServerConfig>> {
        match self {
            Tls::Plaintext => None,
            Tls::Enabled(config) => config.server.clone(),
        }
    }

    /// tonic's client TLS settings: the CA as the only root, the own certificate as the
    /// client identity; `None` in plaintext.
    pub fn client_config(&self) -> Option<ClientTlsConfig> {
        match self {
            Tls::Plaintext => None,
            Tls::Enabled(config) => {
                let mut tls = ClientTlsConfig::new()
                    .ca_certificate(Certificate::from_pem(&config.ca_pem))
                    .timeout(HANDSHAKE_TIMEOUT);
                if let Some((cert, key)) = &config.identity {
                    tls = tls.identity(Identity::from_pem(cert, key));
                }
                Some(tls)
            }
        }
    }

    /// An endpoint for `address` (`host:port`, or a URI with its own scheme): `https` with
    /// this TLS, `http` in plaintext. The server's certificate must name the host of the
    /// address (a DNS name, or an IP address as its IP SAN).
    ///
    /// # Errors
    ///
    /// When the address is not a valid URI authority.
    pub fn endpoint(&self, address: &str) -> Result<Endpoint, tonic::transport::Error> {
        let uri = if address.contains("://") {
            address.to_owned()
        } else {
            format!("{}://{address}", self.scheme())
        };
        let endpoint = Endpoint::from_shared(uri)?;
        match self.client_config() {
            Some(tls) if endpoint.uri().scheme_str() == Some("https") => endpoint.tls_config(tls),
            _ => Ok(endpoint),
        }
    }

    /// [`Tls::endpoint`], checking the server's certificate against `server_name` rather
    /// than the host of `address` (a replica found in DNS is dialled at its IP address).
    ///
    /// # Errors
    ///
    /// When the address is not a valid URI authority.
    pub fn endpoint_named(
        &self,
        address: &str,
        server_name: Option<&str>,
    ) -> Result<Endpoint, tonic::transport::Error> {
        let (Some(name), Some(tls)) = (server_name, self.client_config()) else {
            return self.endpoint(address);
        };
        let endpoint = self.endpoint(address)?;
        if endpoint.uri().scheme_str() == Some("https") {
            endpoint.tls_config(tls.domain_name(name))
        } else {
            Ok(endpoint)
        }
    }
}

impl TlsConfig {
    fn new(
        ca_pem: Vec<u8>,
        identity: Option<(Vec<u8>, Vec<u8>)>,
        serve: bool,
        files: Option<&TlsFiles>,
    ) -> Result<Self, TlsError> {
        let path = |pick: fn(&TlsFiles) -> &PathBuf| {
            files.map_or_else(|| PathBuf::from("(given)"), |f| pick(f).clone())
        };
        let cas: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&ca_pem)
            .filter_map(Result::ok)
            .collect();
        if cas.is_empty() {
            return Err(TlsError::Pem {
                what: "CA certificate",
                path: path(|f| &f.ca),
            });
        }
        let mut server = None;
        if let Some((cert_pem, key_pem)) = &identity {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
                .filter_map(Result::ok)
                .collect();
            if chain.is_empty() {
                return Err(TlsError::Pem {
                    what: "certificate",
                    path: path(|f| &f.cert),
                });
            }
            let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| TlsError::Pem {
                what: "private key",
                path: path(|f| &f.key),
            })?;
            if serve {
                let mut roots = rustls::RootCertStore::empty();
                for ca in cas {
                    roots.add(ca)?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                        .allow_unauthenticated()
                        .build()?;
                let mut config = rustls::ServerConfig::builder_with_provider(provider())
                    .with_safe_default_protocol_versions()?
                    .with_client_cert_verifier(verifier)
                    .with_single_cert(chain, key)?;
                config.alpn_protocols = vec![ALPN_H2.to_vec()];
                server = Some(Arc::new(config));
            }
        }
        Ok(Self {
            ca_pem,
            identity,
            server,
            files: files.cloned(),
        })
    }
}

/// Who the client certificates of a TLS connection name: the identity of the leaf's URI SAN
/// when it is one of the shop's, [`Peer::Anonymous`] when there is no certificate or it
/// names nobody (or more than one identity). Only certificates the server verified against
/// the CA reach here.
pub fn peer_of(certs: Option<&[CertificateDer<'_>]>) -> Peer {
    let Some(leaf) = certs.and_then(<[_]>::first) else {
        return Peer::Anonymous;
    };
    let Ok((_, cert)) = X509Certificate::from_der(leaf) else {
        return Peer::Anonymous;
    };
    let Ok(Some(sans)) = cert.subject_alternative_name() else {
        return Peer::Anonymous;
    };
    let mut named = sans
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::URI(uri) => Peer::from_uri(uri),
            _ => None,
        });
    match (named.next(), named.next()) {
        (Some(peer), None) => peer,
        _ => Peer::Anonymous,
    }
}
