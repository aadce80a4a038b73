//! The gateway as a process of its own.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = gateway::Config::parse();
    match gateway::serve(config, chassis::Shutdown::on_signals()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("gateway: {}", chassis::error::chain(&error));
            std::process::ExitCode::FAILURE
        }
    }
}
