//! The notification service as a process of its own.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = notification::Config::parse();
    match notification::serve(config, chassis::Shutdown::on_signals()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("notification: {}", chassis::error::chain(&error));
            std::process::ExitCode::FAILURE
        }
    }
}
