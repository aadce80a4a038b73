//! The binary against a service that serves TLS as `bazaar up` runs them: a certificate
//! from the shop's CA, with a URI SAN naming the service, on a real socket. The kit trusts
//! the CA of the data directory or of `--cacert`, presents the operator's certificate when
//! given one, speaks plaintext only with `--plaintext`, and names a TLS file it cannot read.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bazaar_contract::currency::v1::currency_service_server::CurrencyServiceServer;
use currency::api::CurrencyApi;
use currency::domain::RateTable;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use tokio::sync::oneshot;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

/// `<dir>/pki/` as `bazaar up` lays it out: `ca.crt`, `currency.crt`/`.key` (a server
/// certificate) and `operator.crt`/`.key` (a client certificate).
fn make_pki(dir: &Path) -> PathBuf {
    let pki = dir.join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "bazaar test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    std::fs::write(pki.join("ca.crt"), ca.pem()).unwrap();

    let leaf = |name: &str, sans: Vec<String>, uri: String, usage: Vec<ExtendedKeyUsagePurpose>| {
        let mut params = CertificateParams::new(sans).unwrap();
        params
            .subject_alt_names
            .push(SanType::URI(uri.try_into().unwrap()));
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = usage;
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();
        std::fs::write(pki.join(format!("{name}.crt")), cert.pem()).unwrap();
        std::fs::write(pki.join(format!("{name}.key")), key.serialize_pem()).unwrap();
    };
    leaf(
        "currency",
        vec![
            "localhost".into(),
            "currency".into(),
            "127.0.0.1".into(),
            "::1".into(),
        ],
        "spiffe://bazaar.local/service/currency".into(),
        vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
    );
    leaf(
        "operator",
        Vec::new(),
        "spiffe://bazaar.local/operator/operator".into(),
        vec![ExtendedKeyUsagePurpose::ClientAuth],
    );
    pki
}

/// The Rust currency service over TLS with `pki`'s currency certificate; client
/// certificates from the CA optional, or required with `require_client_cert`.
async fn serve(pki: &Path, require_client_cert: bool) -> (SocketAddr, oneshot::Sender<()>) {
    let read = |name: &str| std::fs::read(pki.join(name)).unwrap();
    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(
            read("currency.crt"),
            read("currency.key"),
        ))
        .client_ca_root(Certificate::from_pem(read("ca.crt")))
        .client_auth_optional(!require_client_cert);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let router =
        Server::builder()
            .tls_config(tls)
            .unwrap()
            .add_service(CurrencyServiceServer::new(CurrencyApi::new(
                RateTable::shipped().unwrap(),
            )));
    tokio::spawn(router.serve_with_incoming_shutdown(
        TcpIncoming::from(listener).with_nodelay(Some(true)),
        async {
            let _ = stopped.await;
        },
    ));
    (address, stop)
}

/// Runs the kit's currency suite against `address` with `args`, the TLS variables unset
/// unless `env` sets them.
async fn kit(address: &str, args: &[&str], env: &[(&str, &Path)]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bazaar-conformance"));
    command.args(["currency", "--addr", address]).args(args);
    for name in [
        "BAZAAR_TLS_CA",
        "BAZAAR_TLS_CERT",
        "BAZAAR_TLS_KEY",
        "BAZAAR_PLAINTEXT",
        "BAZAAR_DATA_DIR",
    ] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output: Output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kit_reaches_a_tls_service_trusting_the_shops_ca() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let (address, stop) = serve(&pki, false).await;
    let address = &address.to_string();

    // The CA of the data directory: every check passes.
    let (code, out) = kit(address, &["--data-dir", path(dir.path())], &[]).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("(TLS)") && out.contains(" 0 failed"), "{out}");

    // The same through the variables, with the operator's certificate presented.
    let env = [
        ("BAZAAR_TLS_CA", pki.join("ca.crt")),
        ("BAZAAR_TLS_CERT", pki.join("operator.crt")),
        ("BAZAAR_TLS_KEY", pki.join("operator.key")),
    ];
    let env: Vec<(&str, &Path)> = env.iter().map(|(n, p)| (*n, p.as_path())).collect();
    let (code, out) = kit(address, &[], &env).await;
    assert_eq!(code, Some(0), "{out}");

    // Plaintext against a TLS service: the checks fail.
    let (code, out) = kit(address, &["--plaintext"], &[]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("(plaintext)") && out.contains("FAILED"),
        "{out}"
    );

    // A CA that did not sign the service's certificate: the checks fail.
    let stranger = tempfile::tempdir().unwrap();
    let other = make_pki(stranger.path());
    let (code, out) = kit(address, &["--cacert", path(&other.join("ca.crt"))], &[]).await;
    assert_eq!(code, Some(1), "{out}");

    // No CA where the kit looks: a usage error that names the file.
    let empty = tempfile::tempdir().unwrap();
    let (code, out) = kit(address, &["--data-dir", path(empty.path())], &[]).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(path(&empty.path().join("pki").join("ca.crt"))) && out.contains("--plaintext"),
        "{out}"
    );

    // A certificate without its key is a usage error too.
    let (code, out) = kit(
        address,
        &[
            "--data-dir",
            path(dir.path()),
            "--cert",
            path(&pki.join("operator.crt")),
        ],
        &[],
    )
    .await;
    assert_eq!(code, Some(2), "{out}");

    // An https:// address says TLS; http:// contradicts it.
    let data_dir = ["--data-dir", path(dir.path())];
    let (code, out) = kit(&format!("https://{address}"), &data_dir, &[]).await;
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = kit(&format!("http://{address}"), &data_dir, &[]).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("http:// does not go with TLS"), "{out}");
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kit_presents_the_operator_certificate_when_given() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let (address, stop) = serve(&pki, true).await;
    let address = &address.to_string();
    let data_dir = ["--data-dir", path(dir.path())];

    // A service that requires a client certificate refuses the kit without one: a data
    // directory with the CA only.
    let bare = tempfile::tempdir().unwrap();
    std::fs::create_dir(bare.path().join("pki")).unwrap();
    std::fs::copy(pki.join("ca.crt"), bare.path().join("pki").join("ca.crt")).unwrap();
    let (code, out) = kit(address, &["--data-dir", path(bare.path())], &[]).await;
    assert_eq!(code, Some(1), "{out}");

    // By default the kit presents the certificate the access rules expect from the data
    // directory: the operator's, for currency.
    let (code, out) = kit(address, &data_dir, &[]).await;
    assert_eq!(code, Some(0), "{out}");

    let (cert, key) = (pki.join("operator.crt"), pki.join("operator.key"));
    let operator = ["--cert", path(&cert), "--key", path(&key)];
    let (code, out) = kit(address, &[&data_dir[..], &operator[..]].concat(), &[]).await;
    assert_eq!(code, Some(0), "{out}");
    let _ = stop.send(());
}
