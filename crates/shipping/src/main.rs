//! The shipping service as a process of its own.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = shipping::Config::parse();
    match shipping::serve(config, chassis::Shutdown::on_signals()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("shipping: {}", chassis::error::chain(&error));
            std::process::ExitCode::FAILURE
        }
    }
}
