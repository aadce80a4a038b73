//! The inventory as a process of its own.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = inventory::Config::parse();
    match inventory::serve(config, chassis::Shutdown::on_signals()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("inventory: {}", chassis::error::chain(&error));
            std::process::ExitCode::FAILURE
        }
    }
}
