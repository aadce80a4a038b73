//! `bazaar`: run the whole shop, one service, or check on them.
//!
//! - `bazaar up` starts every service as its own process and supervises them;
//! - `bazaar serve <service> [flags]` runs one service in the foreground (the flags are the
//!   service's own; `bazaar serve catalog --help` lists them);
//! - `bazaar status` prints the health of every service;
//! - `bazaar top` shows every service's calls, errors and latency live, from its metrics;
//! - `bazaar pki` makes or refreshes the shop's CA and certificates without starting anything;
//! - `bazaar rollout <service>` replaces a service's replicas one at a time, under load;
//! - `bazaar scale <service>=<n>` runs more or fewer replicas of a service;
//! - `bazaar chaos set|clear|list` injects faults into the services of a running
//!   `bazaar up --chaos`, through its control socket;
//! - `bazaar load` drives the shop with a mix of shoppers and reports what it saw;
//! - `bazaar admin code` issues a one-time code that makes a registered user admin.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::path::PathBuf;

use bazaar::load::{self, mix::Mix, plan::Plan};
use bazaar::{admin, chaos, rollout, services, status, top, up};
use chassis::Shutdown;
use chassis::tls::Tls;
use clap::{Parser, Subcommand};
use tokio::io::AsyncReadExt;

#[derive(Parser)]
#[command(
    name = "bazaar",
    version,
    about = "An online shop built as gRPC microservices."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start every service as its own process, wait until all are SERVING, keep them
    /// running (restarting any that dies) until Ctrl-C, then stop them gracefully.
    Up {
        /// Where services keep their data; logs go to `logs/` inside it.
        #[arg(long, env = "BAZAAR_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// The shop's shape in a TOML file: `host`, `plaintext`, `chaos`, `postgres`,
        /// `[replicas]` and `[replace]` tables, as the flags of the same names; a flag given
        /// here wins over the file (see `deploy/local/bazaar.toml`).
        #[arg(long, env = "BAZAAR_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
        /// The address every service listens on [default: 127.0.0.1].
        #[arg(long)]
        host: Option<String>,
        /// Run another implementation of a service in place of `bazaar serve <service>`:
        /// `--replace 'currency=.venv/bin/python -m bazaar_currency'`. The command (run by
        /// `sh`) gets the same `--listen`, `--admin-listen` and `--data-dir` flags and
        /// environment, and is supervised the same way. Repeatable, once per service.
        #[arg(long = "replace", value_name = "SERVICE=COMMAND", value_parser = up::parse_replacement)]
        replacements: Vec<(String, String)>,
        /// Run every service without TLS: no encryption, no service identity, internal
        /// calls open to anyone who can reach the ports. Passed to every service.
        #[arg(long, env = "BAZAAR_PLAINTEXT", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
        plaintext: bool,
        /// Give every gRPC service the fault-injection layer, driven at run time by
        /// `bazaar chaos` (off otherwise: no service then has the layer at all).
        #[arg(long)]
        chaos: bool,
        /// Run several processes of a service: `--replicas catalog=3,orders=2`. Replica `r`
        /// listens on the service's port plus 100·r (its admin listener likewise); every
        /// caller balances over all of them, found in `<data-dir>/registry.json`. They
        /// share the service's store. Repeatable; the gateway runs once.
        #[arg(long = "replicas", env = "BAZAAR_REPLICAS", value_name = "SERVICE=N,...", value_parser = up::parse_replicas)]
        replicas: Vec<Vec<(String, usize)>>,
        /// Store every SQL service in a PostgreSQL database of its own on this server
        /// (`bazaar_<service>`, made when missing; the URL's user must be allowed to create
        /// databases) instead of SQLite files: `--postgres postgres://bazaar@db:5432/postgres`.
        /// Replicas of a service share its database.
        #[arg(long, env = "BAZAAR_POSTGRES_URL", value_name = "URL")]
        postgres: Option<String>,
    },
    /// Replace every replica of a service of the running `bazaar up`, one at a time, with
    /// no call failing: the new version starts beside the old, callers move to it, the old
    /// one drains and stops. A new version that does not answer SERVING is rolled back.
    Rollout {
        /// The service to roll out.
        service: String,
        /// The new version's command, run as `--replace` runs one (it gets `--listen`,
        /// `--admin-listen` and `--data-dir`): `--command '.venv/bin/python -m
        /// bazaar_currency'`. Without it, `bazaar serve <service>` of this `bazaar`.
        #[arg(long, value_name = "COMMAND")]
        command: Option<String>,
        /// How long each new replica gets to answer SERVING before the rollout is rolled
        /// back.
        #[arg(long, default_value = "60s", value_parser = load::plan::parse_duration)]
        ready_timeout: std::time::Duration,
        /// The data directory of the running `bazaar up`.
        #[arg(long, env = "BAZAAR_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
    },
    /// Run more or fewer replicas of a service of the running `bazaar up`: `bazaar scale
    /// catalog=3`. A new replica gets calls once it answers SERVING; a replica that goes is
    /// taken out of callers' lists before it drains and stops.
    Scale {
        /// `SERVICE=N`.
        #[arg(value_name = "SERVICE=N", required = true, value_parser = up::parse_replicas)]
        target: Vec<Vec<(String, usize)>>,
        /// How long each new replica gets to answer SERVING.
        #[arg(long, default_value = "60s", value_parser = load::plan::parse_duration)]
        ready_timeout: std::time::Duration,
        /// The data directory of the running `bazaar up`.
        #[arg(long, env = "BAZAAR_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
    },
    /// Inject faults (errors by code, latency) into the services of a running
    /// `bazaar up --chaos`: `bazaar chaos set payment --method Charge --error UNAVAILABLE=0.2
    /// --latency 200ms@0.1`, `bazaar chaos clear`, `bazaar chaos list`.
    #[command(subcommand)]
    Chaos(chaos::Command),
    /// Make or refresh the shop's CA and certificates in `<data-dir>/pki` (what `bazaar up`
    /// does on start) without starting anything, and print where they are.
    Pki {
        /// The data directory; the PKI goes to `pki/` inside it.
        #[arg(long, env = "BAZAAR_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// Another DNS name or IP address every service certificate must carry (a
        /// Kubernetes Service name, a LAN address). Repeatable.
        #[arg(long = "host", value_name = "NAME")]
        hosts: Vec<String>,
    },
    /// Run one service in the foreground until Ctrl-C or SIGTERM.
    Serve {
        /// The service to run.
        service: String,
        /// The service's own flags (see `bazaar serve <service> --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Print the health of every service (addresses from BAZAAR_<SERVICE>_ADDR or the
    /// default ports); exits with 1 unless all are SERVING.
    Status {
        /// The data directory whose `pki/ca.crt` verifies the services.
        #[arg(long, env = "BAZAAR_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// The CA that verifies the services (defaults to `<data-dir>/pki/ca.crt`).
        #[arg(long, env = "BAZAAR_TLS_CA")]
        tls_ca: Option<PathBuf>,
        /// The services run without TLS.
        #[arg(long, env = "BAZAAR_PLAINTEXT", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
        plaintext: bool,
    },
    /// Every service's calls a second, error ratio and p50/p99 latency, orders a minute
    /// and each event consumer's lag, from the services' metrics, redrawn every 2 s
    /// until Ctrl-C. Admin listeners are found in `<data-dir>/prometheus/targets.json`
    /// (written by `bazaar up`) or at the default admin ports on 127.0.0.1.
    Top {
        /// The data directory of `bazaar up`.
        #[arg(long, env = "BAZAAR_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// Print one table (after two scrapes 2 s apart) and exit.
        #[arg(long)]
        once: bool,
    },
    /// The shop's admins: issue the one-time code that makes a registered user admin.
    #[command(
        subcommand,
        long_about = "The shop's admins.\n\n\
            An admin is a registered user who redeemed a one-time admin code. Codes are issued \
            here, from identity's store (having the data directory or the database is what \
            makes you the operator), never through the API; `bazaar up` prints one by itself \
            while the shop has no admin.\n\n\
            To make yourself admin: run `bazaar admin code`, sign up in the shop (or log in), \
            then call identity's ClaimAdmin with the code and your access token:\n\n  \
            grpcurl -cacert data/pki/ca.crt -H \"authorization: Bearer $TOKEN\" -d '{\"code\": \"CODE\"}' \
            127.0.0.1:50053 bazaar.identity.v1.IdentityService/ClaimAdmin\n\n\
            and refresh your session (or log in again) for a token with the admin role. A code \
            works once, for 24 hours; issuing a new one voids the unused one."
    )]
    Admin(AdminCommand),
    /// Drive the shop as its shoppers do (browse, search, product pages, carts, checkouts,
    /// order history) at a constant arrival rate (`--rate`, open loop) or with a number
    /// of shoppers going back to back (`--shoppers`, closed loop), then print every
    /// operation's rate, errors and latency percentiles. Makes its own guest sessions and
    /// adds the stock the run needs (as the operator) before the clock starts.
    #[command(after_help = "Examples:\n  \
            bazaar load --shoppers 16 --duration 30s\n  \
            bazaar load --rate 150 --mix checkout=1 --duration 20s --check\n  \
            bazaar load --rate --stages 10s@50,20s@100,30s@100..400 --json\n  \
            bazaar load --gateway http://127.0.0.1:8080 --shoppers 8\n  \
            bazaar load --gateway http://127.0.0.1:8080 --rate 1000 --mix home=1")]
    Load(LoadArgs),
}

#[derive(clap::Args)]
struct LoadArgs {
    /// The host the services listen on, at the ports of the service table
    /// (`BAZAAR_<SERVICE>_ADDR` overrides one service's address).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The data directory whose `pki/` verifies the services and holds the operator's
    /// certificate (to add stock).
    #[arg(long, env = "BAZAAR_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// Go through the storefront's JSON API at this URL (http://127.0.0.1:8080) instead of
    /// calling the services over gRPC; the `home` operation loads its HTML home page and
    /// needs it. Raise or turn off the gateway's per-client rate limit
    /// (BAZAAR_GATEWAY_RATE_LIMIT_PER_SECOND=0) for a run from one address.
    #[arg(long, value_name = "URL")]
    gateway: Option<String>,
    /// The services run without TLS.
    #[arg(long, env = "BAZAAR_PLAINTEXT", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    plaintext: bool,
    /// Open loop: start this many operations a second, whatever the shop does (latency
    /// counts from when each was due). With --stages, give it without a value: the stages
    /// give the rates.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "0", conflicts_with = "shoppers")]
    rate: Option<f64>,
    /// Closed loop: this many shoppers, each starting its next operation when the last
    /// ends (the default, with 16). With --stages, give it without a value: the stages give
    /// the numbers of shoppers.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "0")]
    shoppers: Option<u32>,
    /// How long the run lasts.
    #[arg(long, default_value = "30s", value_parser = load::plan::parse_duration, conflicts_with = "stages")]
    duration: std::time::Duration,
    /// Levels over time instead of --duration: `10s@50,20s@100` holds 50 then 100,
    /// `30s@10..100` ramps from 10 to 100 (calls a second, or shoppers with --shoppers).
    #[arg(long, value_name = "DURATION@LEVEL,...", value_parser = Plan::parse)]
    stages: Option<Plan>,
    /// The weights of the operations (operations not named never run).
    #[arg(
        long,
        value_name = "OPERATION=WEIGHT,...",
        default_value = "browse=30,search=10,product=25,cart=15,checkout=15,history=5",
        value_parser = Mix::parse
    )]
    mix: Mix,
    /// Seeds the arrival schedule and every draw of the mix.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// After the run, wait for every checkout to settle and check the checkout invariants
    /// through the contract; exit 1 when one is broken.
    #[arg(long)]
    check: bool,
    /// Print a progress line every second on stderr (the default when it is a terminal).
    #[arg(long)]
    progress: bool,
}

impl LoadArgs {
    /// The options of the run, or why these flags do not make one.
    fn options(self) -> Result<load::Options, String> {
        let (mode, level) = match (self.rate, self.shoppers) {
            (Some(rate), _) => (load::Loop::Open, rate),
            (None, Some(shoppers)) => (load::Loop::Closed, f64::from(shoppers)),
            (None, None) if self.stages.is_some() => (load::Loop::Open, 0.0),
            (None, None) => (load::Loop::Closed, 16.0),
        };
        let plan = match self.stages {
            Some(_) if level != 0.0 => {
                return Err(
                    "with --stages, give --rate or --shoppers without a value: the stages give the levels"
                        .to_owned(),
                );
            }
            Some(plan) => plan,
            None if !(level.is_finite() && level > 0.0 && level <= 1_000_000.0) => {
                return Err(format!(
                    "--rate and --shoppers take a number above 0 and up to 1000000, not {level}"
                ));
            }
            None => Plan::constant(self.duration, level),
        };
        if mode == load::Loop::Closed && plan.peak() > 10_000.0 {
            return Err("at most 10000 shoppers".to_owned());
        }
        Ok(load::Options {
            host: self.host,
            data_dir: self.data_dir,
            gateway: self.gateway,
            plaintext: self.plaintext,
            mode,
            plan,
            mix: self.mix,
            seed: self.seed,
            json: self.json,
            check: self.check,
            progress: self.progress || std::io::IsTerminal::is_terminal(&std::io::stderr()),
        })
    }
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Issue a new one-time admin code (voiding the unused one) and print it with how to
    /// redeem it.
    Code {
        /// The shop's data directory, where identity's store is.
        #[arg(long, env = "BAZAAR_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// identity's database URL, when it is not the SQLite file in the data directory.
        #[arg(long, env = "BAZAAR_IDENTITY_DATABASE_URL")]
        database_url: Option<String>,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up {
            data_dir,
            config,
            host,
            replacements,
            plaintext,
            chaos,
            replicas,
            postgres,
        } => match config
            .as_deref()
            .map(bazaar::config_file::UpFile::read)
            .transpose()
        {
            Ok(file) => {
                let file = file.unwrap_or_default();
                // The file first; each flag given on the command line over it.
                let mut all_replicas = file.replicas;
                all_replicas.extend(replicas.into_iter().flatten());
                let mut all_replacements = file.replace;
                all_replacements.extend(replacements);
                up::run(up::UpOptions {
                    data_dir,
                    host: host.or(file.host).unwrap_or_else(|| "127.0.0.1".to_owned()),
                    replacements: all_replacements,
                    plaintext: plaintext || file.plaintext,
                    chaos: chaos || file.chaos,
                    replicas: all_replicas,
                    postgres: postgres.or(file.postgres),
                })
                .await
            }
            Err(error) => Err(error),
        },
        Command::Chaos(command) => chaos::run(command).await,
        Command::Scale {
            target,
            ready_timeout,
            data_dir,
        } => {
            let mut outcome = Ok(());
            for (service, replicas) in target.into_iter().flatten() {
                outcome = rollout::scale(&data_dir, service, replicas, ready_timeout).await;
                if outcome.is_err() {
                    break;
                }
            }
            outcome
        }
        Command::Rollout {
            service,
            command,
            ready_timeout,
            data_dir,
        } => {
            rollout::run(
                &data_dir,
                rollout::Rollout {
                    service,
                    command,
                    ready_timeout,
                },
            )
            .await
        }
        Command::Pki { data_dir, hosts } => up::ensure_pki(&data_dir, &hosts, true).map(drop),
        Command::Serve { service, args } => services::serve(&service, args, serve_shutdown()).await,
        Command::Admin(AdminCommand::Code {
            data_dir,
            database_url,
        }) => admin::code(&data_dir, database_url.as_deref()).await,
        Command::Top { data_dir, once } => match top::targets(&data_dir) {
            Ok(targets) => {
                top::run(targets, once, Shutdown::on_signals()).await;
                Ok(())
            }
            Err(error) => Err(error),
        },
        Command::Load(args) => match args.options() {
            Ok(options) => load::run(options).await,
            Err(error) => Err(error),
        },
        Command::Status {
            data_dir,
            tls_ca,
            plaintext,
        } => match status_tls(&data_dir, tls_ca, plaintext) {
            Ok(tls) if status::run(&tls, &data_dir).await => Ok(()),
            Ok(_) => Err("not every service is SERVING".to_owned()),
            Err(error) => Err(error),
        },
    };
    let code = match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("bazaar: {message}");
            1
        }
    };
    // Exit here rather than by returning: under `bazaar up` a blocking read of standard
    // input (the supervisor's lifeline) is still pending, and dropping the runtime would
    // wait for it forever. Everything that needs closing (connections, pools) is closed by
    // the time `serve` returns.
    std::process::exit(code)
}

/// How `bazaar status` reaches the services: plaintext, or TLS verified with the CA.
fn status_tls(
    data_dir: &std::path::Path,
    ca: Option<PathBuf>,
    plaintext: bool,
) -> Result<Tls, String> {
    if plaintext {
        return Ok(Tls::Plaintext);
    }
    let ca = ca.unwrap_or_else(|| chassis::pki::Pki::at(data_dir.join("pki")).ca_cert());
    Tls::client(&ca, None).map_err(|e| e.to_string())
}

/// The stop signal of `bazaar serve`: SIGINT or SIGTERM, and, under `bazaar up`, the end of
/// standard input, which means the supervisor is gone.
fn serve_shutdown() -> Shutdown {
    let shutdown = Shutdown::on_signals();
    if std::env::var_os(up::SUPERVISED_VAR).is_some() {
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            let mut stdin = tokio::io::stdin();
            let mut buffer = [0_u8; 64];
            let ended = loop {
                match stdin.read(&mut buffer).await {
                    Ok(0) => break "end of input".to_owned(),
                    Ok(_) => {}
                    Err(error) => break error.to_string(),
                }
            };
            tracing::warn!(%ended, "supervisor gone: stopping");
            trigger.trigger();
        });
    }
    shutdown
}
