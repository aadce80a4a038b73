//! `bazaar`: run the whole shop, one service, or check on them.
//!
//! - `bazaar up` starts every service as its own process and supervises them;
//! - `bazaar serve <service> [flags]` runs one service in the foreground (the flags are the
//!   service's own; `bazaar serve catalog --help` lists them);
//! - `bazaar status` prints the health of every service;
//! - `bazaar admin code` issues a one-time code that makes a registered user admin.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::path::PathBuf;

use bazaar::{admin, services, status, up};
use chassis::Shutdown;
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
        /// The address every service listens on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Run another implementation of a service in place of `bazaar serve <service>`:
        /// `--replace 'currency=.venv/bin/python -m bazaar_currency'`. The command (run by
        /// `sh`) gets the same `--listen` and `--data-dir` flags and environment, and is
        /// supervised the same way. Repeatable, once per service.
        #[arg(long = "replace", value_name = "SERVICE=COMMAND", value_parser = up::parse_replacement)]
        replacements: Vec<(String, String)>,
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
    Status,
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
            grpcurl -plaintext -H \"authorization: Bearer $TOKEN\" -d '{\"code\": \"CODE\"}' \
            127.0.0.1:50053 bazaar.identity.v1.IdentityService/ClaimAdmin\n\n\
            and refresh your session (or log in again) for a token with the admin role. A code \
            works once, for 24 hours; issuing a new one voids the unused one."
    )]
    Admin(AdminCommand),
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
            host,
            replacements,
        } => {
            up::run(up::UpOptions {
                data_dir,
                host,
                replacements: replacements.into_iter().collect(),
            })
            .await
        }
        Command::Serve { service, args } => services::serve(&service, args, serve_shutdown()).await,
        Command::Admin(AdminCommand::Code {
            data_dir,
            database_url,
        }) => admin::code(&data_dir, database_url.as_deref()).await,
        Command::Status => {
            if status::run().await {
                Ok(())
            } else {
                Err("not every service is SERVING".to_owned())
            }
        }
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
