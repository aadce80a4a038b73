//! The recommendation service as a process of its own.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = recommendation::Config::parse();
    match recommendation::serve(config, chassis::Shutdown::on_signals()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("recommendation: {}", chassis::error::chain(&error));
            std::process::ExitCode::FAILURE
        }
    }
}
