//! The cart as a process of its own.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = cart::Config::parse();
    match cart::serve(config, chassis::Shutdown::on_signals()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cart: {}", chassis::error::chain(&error));
            std::process::ExitCode::FAILURE
        }
    }
}
