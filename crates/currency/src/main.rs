//! The currency service as a process of its own.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = currency::Config::parse();
    match currency::serve(config, chassis::Shutdown::on_signals()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("currency: {}", chassis::error::chain(&error));
            std::process::ExitCode::FAILURE
        }
    }
}
