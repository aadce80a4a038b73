//! The payment service as a process of its own.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = payment::Config::parse();
    match payment::serve(config, chassis::Shutdown::on_signals()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("payment: {}", chassis::error::chain(&error));
            std::process::ExitCode::FAILURE
        }
    }
}
