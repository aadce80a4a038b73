//! `bazaar-conformance <service> --addr HOST:PORT`: runs the conformance suite of one
//! service against whatever listens there, prints each check as it ends, and exits 1 when
//! any check failed (2 when the command line is wrong, or a TLS file cannot be read).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bazaar_conformance::{
    Admin, Runner, Target, Transport, Verdict, connect, neighbours, service_name,
};
use clap::Parser;
use clap::builder::BoolishValueParser;

/// Checks that a service keeps the promises of the bazaar contract.
#[derive(Parser, Debug)]
#[command(name = "bazaar-conformance", version)]
struct Args {
    /// The service to check: catalog, currency, identity, cart, inventory, payment,
    /// shipping, orders, notification or recommendation.
    service: String,

    /// Where the service under test listens (HOST:PORT).
    #[arg(long)]
    addr: String,

    /// identity's address: tokens for cart, inventory, orders and the checkouts that
    /// notification and recommendation need.
    #[arg(long)]
    identity_addr: Option<String>,

    /// catalog's address (orders, notification, recommendation).
    #[arg(long)]
    catalog_addr: Option<String>,

    /// cart's address (orders, notification, recommendation: to fill carts).
    #[arg(long)]
    cart_addr: Option<String>,

    /// inventory's address (orders, notification, recommendation: to stock products).
    #[arg(long)]
    inventory_addr: Option<String>,

    /// currency's address (orders: to check prices converted at checkout).
    #[arg(long)]
    currency_addr: Option<String>,

    /// shipping's address (orders: to check the shipping cost of an order).
    #[arg(long)]
    shipping_addr: Option<String>,

    /// orders' address (notification, recommendation: checkouts that make events).
    #[arg(long)]
    orders_addr: Option<String>,

    /// An access token with the admin role (to restock inventory).
    #[arg(
        long,
        env = "BAZAAR_CONFORMANCE_ADMIN_TOKEN",
        conflicts_with = "admin_email"
    )]
    admin_token: Option<String>,

    /// The admin's email: the kit signs it up, or logs in when it exists, and redeems
    /// --admin-code when the account is not an admin yet.
    #[arg(
        long,
        env = "BAZAAR_CONFORMANCE_ADMIN_EMAIL",
        requires = "admin_password"
    )]
    admin_email: Option<String>,

    /// The admin's password (10..=128 characters).
    #[arg(long, env = "BAZAAR_CONFORMANCE_ADMIN_PASSWORD")]
    admin_password: Option<String>,

    /// A one-time admin code (`bazaar admin code` prints one) that makes the account of
    /// --admin-email admin.
    #[arg(long, env = "BAZAAR_CONFORMANCE_ADMIN_CODE", requires = "admin_email")]
    admin_code: Option<String>,

    /// How long one check may take, in seconds.
    #[arg(long, default_value_t = 60)]
    check_timeout_secs: u64,

    /// The CA certificate (PEM) the services' certificates must chain to [default:
    /// <data-dir>/pki/ca.crt].
    #[arg(long, env = "BAZAAR_TLS_CA")]
    cacert: Option<PathBuf>,

    /// A client certificate (PEM) presented to every service, for the internal RPCs that
    /// need an identity [default: <data-dir>/pki/NAME.crt, where NAME is the caller the
    /// access rules of the service expect (orders for payment, shipping and inventory) or
    /// the operator, when that file exists].
    #[arg(long, env = "BAZAAR_TLS_CERT", requires = "key")]
    cert: Option<PathBuf>,

    /// The private key (PEM) of --cert.
    #[arg(long, env = "BAZAAR_TLS_KEY", requires = "cert")]
    key: Option<PathBuf>,

    /// The data directory of `bazaar up`, where the default --cacert is found.
    #[arg(long, env = "BAZAAR_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,

    /// Plaintext gRPC, for a shop started with --plaintext (the TLS flags are then
    /// ignored).
    #[arg(long, env = "BAZAAR_PLAINTEXT", value_parser = BoolishValueParser::new())]
    plaintext: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let Some(service) = service_name(&args.service) else {
        eprintln!(
            "bazaar-conformance: there is no suite for {:?}; one of: {}",
            args.service,
            bazaar_conformance::SERVICES.join(", ")
        );
        return ExitCode::from(2);
    };
    let target = match target(service, &args) {
        Ok(target) => target,
        Err(message) => {
            eprintln!("bazaar-conformance: {message}");
            return ExitCode::from(2);
        }
    };
    for neighbour in neighbours(service) {
        if target.channel(neighbour).is_err() {
            println!(
                "note: without --{neighbour}-addr the checks that need {neighbour} are skipped"
            );
        }
    }
    println!(
        "checking {service} at {} ({})",
        args.addr,
        if args.plaintext { "plaintext" } else { "TLS" }
    );
    let started = Instant::now();
    let mut runner = Runner::new(
        service,
        Duration::from_secs(args.check_timeout_secs),
        |outcome| println!("{outcome}"),
    );
    bazaar_conformance::run(&target, &mut runner).await;
    let outcomes = runner.into_outcomes();
    let count = |f: fn(&Verdict) -> bool| outcomes.iter().filter(|o| f(&o.verdict)).count();
    let failed = count(|v| matches!(v, Verdict::Failed(_)));
    println!(
        "{service}: {} passed, {failed} failed, {} skipped, in {:.1} s",
        count(|v| matches!(v, Verdict::Passed)),
        count(|v| matches!(v, Verdict::Skipped(_))),
        started.elapsed().as_secs_f64()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Reads a TLS file, or says which and why not.
fn read(what: &str, path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))
}

/// The transport the flags describe, its files read.
fn transport(service: &str, args: &Args) -> Result<Transport, String> {
    if args.plaintext {
        return Ok(Transport::Plaintext);
    }
    let ca_path = args
        .cacert
        .clone()
        .unwrap_or_else(|| args.data_dir.join("pki").join("ca.crt"));
    let ca = read("CA certificate", &ca_path).map_err(|e| {
        format!(
            "{e}; `bazaar up` writes the shop's CA to <data-dir>/pki/ca.crt: give --cacert or \
             --data-dir, or --plaintext for a plaintext shop"
        )
    })?;
    let pki = args.data_dir.join("pki");
    let caller = bazaar_conformance::caller_of(service);
    let files = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
        _ => Some((
            pki.join(format!("{caller}.crt")),
            pki.join(format!("{caller}.key")),
        ))
        .filter(|(cert, key)| cert.exists() && key.exists()),
    };
    let identity = match files {
        Some((cert, key)) => Some((
            read("client certificate", &cert)?,
            read("client key", &key)?,
        )),
        None => None,
    };
    let identity = identity
        .as_ref()
        .map(|(cert, key)| (cert.as_slice(), key.as_slice()));
    Ok(Transport::tls(&ca, identity))
}

/// The target the flags describe.
fn target(service: &'static str, args: &Args) -> Result<Target, String> {
    let transport = transport(service, args)?;
    let channel = |address: &str| {
        connect(address, &transport).map_err(|e| format!("bad address {address:?}: {e}"))
    };
    let mut target = Target::new(service, channel(&args.addr)?);
    let neighbours = [
        ("identity", &args.identity_addr),
        ("catalog", &args.catalog_addr),
        ("cart", &args.cart_addr),
        ("inventory", &args.inventory_addr),
        ("currency", &args.currency_addr),
        ("shipping", &args.shipping_addr),
        ("orders", &args.orders_addr),
    ];
    for (name, address) in neighbours {
        if let Some(address) = address {
            target = target.with(name, channel(address)?);
        }
    }
    if let Some(token) = &args.admin_token {
        target = target.with_admin(Admin::Token(token.clone()));
    } else if let (Some(email), Some(password)) = (&args.admin_email, &args.admin_password) {
        target = target.with_admin(Admin::Account {
            email: email.clone(),
            password: password.clone(),
            code: args.admin_code.clone(),
        });
    }
    Ok(target)
}
