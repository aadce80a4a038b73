//! The shop's own certificate authority and the certificates it issues.
//!
//! Every gRPC server of the shop presents a certificate, and every caller presents one too:
//! that is how a service knows which service calls it (see [`crate::auth::Peer`]). Locally
//! the certificates come from a small CA that `bazaar up` (or `bazaar pki`) creates in the
//! data directory on first start:
//!
//! ```text
//! data/pki/            0700
//!   ca.crt  ca.key     the CA (ECDSA P-256, 10 years); the key is 0600
//!   <service>.crt/.key one per service and the storefront (1 year): DNS `localhost` and
//!                      `<service>`, IP 127.0.0.1 and ::1, any extra host names, and the
//!                      URI `spiffe://bazaar.local/service/<service>`
//!   operator.crt/.key  for a person operating the shop (client only):
//!                      `spiffe://bazaar.local/operator/admin`
//! ```
//!
//! [`Pki::ensure`] is idempotent: it reuses what is there and valid, issues what is missing,
//! and issues again a certificate that expires within [`RENEW_WITHIN`], that was not signed
//! by the CA in the folder (a new CA re-issues everything), whose key does not match, or
//! that lacks a host name asked for. Keys are written 0600 (and every file atomically: a
//! crash never leaves half a key behind).

use std::collections::BTreeSet;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::string::Ia5String;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::time::ASN1Time;

use crate::auth::Peer;
use crate::files;

/// The file name of the CA certificate.
pub const CA_CERT: &str = "ca.crt";
/// The file name of the CA key.
pub const CA_KEY: &str = "ca.key";
/// The name of the operator certificate's files (`operator.crt`, `operator.key`).
pub const OPERATOR: &str = "operator";
/// The operator the local CA issues a certificate to.
pub const OPERATOR_NAME: &str = "admin";
/// How long the CA is valid.
pub const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// How long a service or operator certificate is valid.
pub const LEAF_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);
/// A certificate that expires within this is issued again.
pub const RENEW_WITHIN: Duration = Duration::from_secs(30 * 24 * 3600);
/// Certificates are valid from a little before they are made, for clocks slightly behind.
const BACKDATE: Duration = Duration::from_secs(3600);

/// Why the PKI could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A file or folder could not be read or written.
    #[error("{path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A key or certificate could not be made (or the CA key not read).
    #[error("{what}")]
    Certificate {
        /// Which one.
        what: String,
        /// What rcgen said.
        #[source]
        source: rcgen::Error,
    },
    /// A host name asked for cannot go in a certificate.
    #[error("{0:?} is not a host name or IP address a certificate can carry")]
    BadHost(String),
}

/// What [`Pki::ensure`] did with one file pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It was there and valid.
    Kept,
    /// It was made: it was missing, or for the reason given.
    Issued(String),
}

/// One certificate of the PKI and what [`Pki::ensure`] did with it.
#[derive(Clone, Debug)]
pub struct Entry {
    /// `ca`, a service name, or `operator`.
    pub name: String,
    /// The certificate file.
    pub cert: PathBuf,
    /// The key file.
    pub key: PathBuf,
    /// Kept or issued.
    pub outcome: Outcome,
}

/// The PKI in one folder (`<data-dir>/pki` by default).
#[derive(Clone, Debug)]
pub struct Pki {
    dir: PathBuf,
}

/// What a certificate is for.
enum Holder<'a> {
    Service { name: &'a str, hosts: &'a [String] },
    Operator,
}

impl Pki {
    /// The PKI kept in `dir`.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Its folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA certificate, which verifies every server and client of the shop.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join(CA_CERT)
    }

    /// The certificate of `name` (a service, or [`OPERATOR`]).
    pub fn cert(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.crt"))
    }

    /// The key of `name`.
    pub fn key(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.key"))
    }

    /// Makes sure the folder holds a valid CA, a certificate for each of `services` naming
    /// also `hosts` (extra DNS names or IP addresses), and the operator certificate: keeps
    /// what is valid, issues the rest. Returns every entry with what was done.
    ///
    /// # Errors
    ///
    /// When the folder cannot be written, the CA key cannot be read, or a host cannot go
    /// in a certificate.
    pub fn ensure(&self, services: &[&str], hosts: &[String]) -> Result<Vec<Entry>, PkiError> {
        for host in hosts {
            check_host(host)?;
        }
        files::create_private_dir(&self.dir).map_err(|source| PkiError::Io {
            path: self.dir.clone(),
            source,
        })?;
        let mut entries = Vec::new();
        let (ca_key, ca_der, outcome) = self.ensure_ca()?;
        entries.push(Entry {
            name: "ca".to_owned(),
            cert: self.ca_cert(),
            key: self.dir.join(CA_KEY),
            outcome,
        });
        let issuer = Issuer::new(ca_params(), ca_key);
        let mut holders: Vec<(&str, Holder<'_>)> = services
            .iter()
            .map(|name| (*name, Holder::Service { name, hosts }))
            .collect();
        holders.push((OPERATOR, Holder::Operator));
        for (file, holder) in holders {
            let (cert, key) = (self.cert(file), self.key(file));
            let outcome = match leaf_problem(&cert, &key, &ca_der, &holder) {
                None => Outcome::Kept,
                Some(reason) => {
                    let key_pair = generate_key(file)?;
                    let params = leaf_params(&holder)?;
                    let signed = params.signed_by(&key_pair, &issuer).map_err(|source| {
                        PkiError::Certificate {
                            what: format!("cannot sign the certificate of {file}"),
                            source,
                        }
                    })?;
                    write_private(&key, key_pair.serialize_pem().as_bytes())?;
                    write_private(&cert, signed.pem().as_bytes())?;
                    Outcome::Issued(reason)
                }
            };
            entries.push(Entry {
                name: file.to_owned(),
                cert,
                key,
                outcome,
            });
        }
        Ok(entries)
    }

    /// The CA key and certificate (DER), made when missing, unreadable or expiring.
    fn ensure_ca(&self) -> Result<(KeyPair, Vec<u8>, Outcome), PkiError> {
        let (cert_path, key_path) = (self.ca_cert(), self.dir.join(CA_KEY));
        let existing = std::fs::read_to_string(&key_path)
            .ok()
            .and_then(|pem| KeyPair::from_pem(&pem).ok())
            .zip(read_pem_der(&cert_path));
        let reason = match &existing {
            None => "missing".to_owned(),
            Some((key, der)) => match X509Certificate::from_der(der) {
                Err(_) => "unreadable".to_owned(),
                Ok((_, cert))
                    if *cert.public_key().subject_public_key.data != *key.public_key_raw() =>
                {
                    "the key does not match".to_owned()
                }
                Ok((_, cert)) if expires_within(&cert, RENEW_WITHIN) => "expiring".to_owned(),
                Ok(_) => {
                    let (key, der) = existing.expect("matched Some above");
                    return Ok((key, der, Outcome::Kept));
                }
            },
        };
        let key = generate_key("the CA")?;
        let cert = ca_params()
            .self_signed(&key)
            .map_err(|source| PkiError::Certificate {
                what: "cannot sign the CA certificate".to_owned(),
                source,
            })?;
        write_private(&key_path, key.serialize_pem().as_bytes())?;
        write_private(&cert_path, cert.pem().as_bytes())?;
        Ok((key, cert.der().to_vec(), Outcome::Issued(reason)))
    }
}

/// The CA's parameters. They are the same every time, so that an [`Issuer`] made from them
/// and the CA key signs exactly as the CA certificate says.
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "bazaar");
    name.push(DnType::CommonName, "bazaar local CA");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = ASN1Time::now().to_datetime();
    params.not_before = now - BACKDATE;
    params.not_after = now + CA_VALIDITY;
    params.serial_number = Some(random_serial());
    params
}

fn leaf_params(holder: &Holder<'_>) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "bazaar");
    let (common_name, sans) = match holder {
        Holder::Service { name, .. } => (format!("{name}.service"), sans_of(holder)?),
        Holder::Operator => (format!("{OPERATOR_NAME}.operator"), sans_of(holder)?),
    };
    name.push(DnType::CommonName, common_name);
    params.distinguished_name = name;
    params.subject_alt_names = sans;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = match holder {
        Holder::Service { .. } => vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
        Holder::Operator => vec![ExtendedKeyUsagePurpose::ClientAuth],
    };
    params.use_authority_key_identifier_extension = true;
    let now = ASN1Time::now().to_datetime();
    params.not_before = now - BACKDATE;
    params.not_after = now + LEAF_VALIDITY;
    params.serial_number = Some(random_serial());
    Ok(params)
}

/// The subject alternative names a holder's certificate carries.
fn sans_of(holder: &Holder<'_>) -> Result<Vec<SanType>, PkiError> {
    let ia5 = |text: &str| Ia5String::try_from(text).map_err(|_| PkiError::BadHost(text.into()));
    let mut sans = Vec::new();
    match holder {
        Holder::Service { name, hosts } => {
            let mut dns = BTreeSet::new();
            let mut ips = BTreeSet::from([
                IpAddr::from(std::net::Ipv4Addr::LOCALHOST),
                IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
            ]);
            dns.insert("localhost".to_owned());
            dns.insert((*name).to_owned());
            for host in *hosts {
                match host.parse::<IpAddr>() {
                    Ok(ip) => {
                        ips.insert(ip);
                    }
                    Err(_) => {
                        dns.insert(host.to_ascii_lowercase());
                    }
                }
            }
            for name in &dns {
                sans.push(SanType::DnsName(ia5(name)?));
            }
            sans.extend(ips.into_iter().map(SanType::IpAddress));
            sans.push(SanType::URI(ia5(&Peer::service_uri(name))?));
        }
        Holder::Operator => sans.push(SanType::URI(ia5(&Peer::operator_uri(OPERATOR_NAME))?)),
    }
    Ok(sans)
}

/// Refuses a host name that cannot be a DNS SAN: empty, with spaces or other characters a
/// host name does not have.
fn check_host(host: &str) -> Result<(), PkiError> {
    if host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if valid {
        Ok(())
    } else {
        Err(PkiError::BadHost(host.to_owned()))
    }
}

/// Why the certificate at `cert` (with key `key`) must be issued again, or `None` when it
/// is good: present, signed by the CA `ca_der`, matching its key, naming everything it
/// must, and not expiring soon.
fn leaf_problem(cert: &Path, key: &Path, ca_der: &[u8], holder: &Holder<'_>) -> Option<String> {
    let Some(der) = read_pem_der(cert) else {
        return Some("missing".to_owned());
    };
    let Some(key) = std::fs::read_to_string(key)
        .ok()
        .and_then(|pem| KeyPair::from_pem(&pem).ok())
    else {
        return Some("its key is missing".to_owned());
    };
    let (Ok((_, cert)), Ok((_, ca))) = (
        X509Certificate::from_der(&der),
        X509Certificate::from_der(ca_der),
    ) else {
        return Some("unreadable".to_owned());
    };
    if cert.verify_signature(Some(ca.public_key())).is_err() {
        return Some("not signed by this CA".to_owned());
    }
    if *cert.public_key().subject_public_key.data != *key.public_key_raw() {
        return Some("the key does not match".to_owned());
    }
    if expires_within(&cert, RENEW_WITHIN) {
        return Some("expiring".to_owned());
    }
    let present: BTreeSet<String> = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(dns) => Some(format!("dns:{}", dns.to_ascii_lowercase())),
                    GeneralName::URI(uri) => Some(format!("uri:{uri}")),
                    GeneralName::IPAddress(bytes) => ip_of(bytes).map(|ip| format!("ip:{ip}")),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let wanted = sans_of(holder).ok()?;
    for san in wanted {
        let needed = match san {
            SanType::DnsName(dns) => format!("dns:{}", dns.as_str().to_ascii_lowercase()),
            SanType::URI(uri) => format!("uri:{}", uri.as_str()),
            SanType::IpAddress(ip) => format!("ip:{ip}"),
            _ => continue,
        };
        if !present.contains(&needed) {
            return Some(format!(
                "it does not name {}",
                &needed[needed.find(':')? + 1..]
            ));
        }
    }
    None
}

fn ip_of(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

fn expires_within(cert: &X509Certificate<'_>, within: Duration) -> bool {
    let limit = ASN1Time::now().to_datetime() + within;
    cert.validity().not_after.to_datetime() <= limit
}

/// The DER of the first certificate in the PEM file at `path`.
fn read_pem_der(path: &Path) -> Option<Vec<u8>> {
    let text = std::fs::read(path).ok()?;
    let (_, pem) = x509_parser::pem::parse_x509_pem(&text).ok()?;
    Some(pem.contents)
}

fn generate_key(what: &str) -> Result<KeyPair, PkiError> {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|source| PkiError::Certificate {
        what: format!("cannot generate the key of {what}"),
        source,
    })
}

fn random_serial() -> SerialNumber {
    let mut bytes = [0_u8; 16];
    // Without the system's random source nothing else here would be safe either; a serial
    // number is only required to be unique per CA, so a time-based fallback suffices.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = nanos.to_be_bytes();
    }
    // Positive and without a leading zero byte, as DER wants an INTEGER's shortest form.
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    SerialNumber::from_slice(&bytes)
}

/// Writes `contents` to `path` with mode 0600, through a temporary file renamed into place.
fn write_private(path: &Path, contents: &[u8]) -> Result<(), PkiError> {
    let io = |source| PkiError::Io {
        path: path.to_owned(),
        source,
    };
    let temporary = path.with_extension("tmp");
    let mut file = files::open_private(&temporary, false).map_err(io)?;
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(io)
}

/// A PKI for tests, made once per process in the system's temporary folder with a
/// certificate for every service of the table and the operator. Folders of earlier test
/// processes, a day old or more, are removed on the way.
///
/// # Panics
///
/// When the folder cannot be written: no test could run over TLS.
pub fn for_tests() -> &'static Pki {
    static PKI: std::sync::OnceLock<Pki> = std::sync::OnceLock::new();
    PKI.get_or_init(|| {
        let parent = std::env::temp_dir().join("bazaar-test-pki");
        remove_stale(&parent);
        let pki = Pki::at(parent.join(format!(
            "{}-{}",
            std::process::id(),
            ASN1Time::now().timestamp()
        )));
        let names: Vec<&str> = crate::topology::SERVICES.iter().map(|s| s.name).collect();
        if let Err(error) = pki.ensure(&names, &[]) {
            panic!(
                "cannot make the test PKI in {}: {}",
                pki.dir().display(),
                crate::error::chain(&error)
            );
        }
        pki
    })
}

fn remove_stale(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let day = Duration::from_secs(24 * 3600);
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age > day);
        if old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(cert: &Path) -> BTreeSet<String> {
        let der = read_pem_der(cert).unwrap();
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        cert.subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_pki_has_a_ca_every_service_and_the_operator() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::at(dir.path().join("pki"));
        let entries = pki.ensure(&["catalog", "orders"], &[]).unwrap();
        let made: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(made, ["ca", "catalog", "orders", "operator"]);
        assert!(
            entries
                .iter()
                .all(|e| e.outcome == Outcome::Issued("missing".into()))
        );
        let orders = names(&pki.cert("orders"));
        for name in [
            "DNSName(localhost)",
            "DNSName(orders)",
            // 127.0.0.1 and ::1, as x509-parser prints them.
            "IPAddress(7f:00:00:01)",
            "IPAddress(00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:01)",
            "URI(spiffe://bazaar.local/service/orders)",
        ] {
            assert!(orders.contains(name), "{name} in {orders:?}");
        }
        assert_eq!(
            names(&pki.cert(OPERATOR)),
            BTreeSet::from(["URI(spiffe://bazaar.local/operator/admin)".to_owned()])
        );
        #[cfg(unix)]
        {
            assert_eq!(mode(pki.dir()), 0o700);
            for name in ["ca", "catalog", "orders", OPERATOR] {
                assert_eq!(mode(&pki.key(name)), 0o600, "{name}.key");
            }
        }
    }

    #[test]
    fn what_is_valid_is_kept_and_what_is_not_is_issued_again() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::at(dir.path());
        pki.ensure(&["catalog", "cart"], &[]).unwrap();
        let catalog = std::fs::read(pki.cert("catalog")).unwrap();

        // Everything valid: kept, byte for byte.
        let again = pki.ensure(&["catalog", "cart"], &[]).unwrap();
        assert!(
            again.iter().all(|e| e.outcome == Outcome::Kept),
            "{again:?}"
        );
        assert_eq!(std::fs::read(pki.cert("catalog")).unwrap(), catalog);

        // A lost key, a new host name, a new service: only those are issued.
        std::fs::remove_file(pki.key("cart")).unwrap();
        let entries = pki
            .ensure(&["catalog", "cart", "orders"], &["shop.example".to_owned()])
            .unwrap();
        let outcome = |name: &str| {
            entries
                .iter()
                .find(|e| e.name == name)
                .unwrap()
                .outcome
                .clone()
        };
        assert_eq!(outcome("ca"), Outcome::Kept);
        assert_eq!(
            outcome("catalog"),
            Outcome::Issued("it does not name shop.example".into())
        );
        assert_eq!(
            outcome("cart"),
            Outcome::Issued("its key is missing".into())
        );
        assert_eq!(outcome("orders"), Outcome::Issued("missing".into()));
        assert_eq!(outcome(OPERATOR), Outcome::Kept);
        assert!(names(&pki.cert("orders")).contains("DNSName(shop.example)"));

        // A new CA: every certificate is issued again.
        std::fs::remove_file(pki.dir().join(CA_KEY)).unwrap();
        let entries = pki.ensure(&["catalog"], &[]).unwrap();
        assert_eq!(entries[0].outcome, Outcome::Issued("missing".into()));
        assert_eq!(
            entries[1].outcome,
            Outcome::Issued("not signed by this CA".into())
        );
    }

    #[test]
    fn an_expiring_certificate_is_issued_again() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::at(dir.path());
        pki.ensure(&["catalog"], &[]).unwrap();
        // Re-sign catalog's certificate with the same key, valid for ten more days only.
        let ca_key = KeyPair::from_pem(&std::fs::read_to_string(pki.key("ca")).unwrap()).unwrap();
        let key = KeyPair::from_pem(&std::fs::read_to_string(pki.key("catalog")).unwrap()).unwrap();
        let holder = Holder::Service {
            name: "catalog",
            hosts: &[],
        };
        let mut params = leaf_params(&holder).unwrap();
        params.not_after = ASN1Time::now().to_datetime() + Duration::from_secs(10 * 24 * 3600);
        let cert = params
            .signed_by(&key, &Issuer::new(ca_params(), ca_key))
            .unwrap();
        std::fs::write(pki.cert("catalog"), cert.pem()).unwrap();

        let entries = pki.ensure(&["catalog"], &[]).unwrap();
        assert_eq!(entries[1].outcome, Outcome::Issued("expiring".into()));
        let der = read_pem_der(&pki.cert("catalog")).unwrap();
        let (_, renewed) = X509Certificate::from_der(&der).unwrap();
        assert!(!expires_within(&renewed, RENEW_WITHIN));
    }

    #[test]
    fn host_names_that_cannot_be_in_a_certificate_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::at(dir.path());
        for host in ["", "a b", "shop..example", "-x.example", "ü.example", "a/b"] {
            assert!(
                matches!(
                    pki.ensure(&["catalog"], &[host.to_owned()]),
                    Err(PkiError::BadHost(_))
                ),
                "{host:?}"
            );
        }
        pki.ensure(
            &["catalog"],
            &["10.0.0.7".to_owned(), "catalog.shop".to_owned()],
        )
        .unwrap();
    }
}
