//! orders as a process of its own.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = orders::Config::parse();
    match orders::serve(config, chassis::Shutdown::on_signals()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("orders: {}", chassis::error::chain(&error));
            std::process::ExitCode::FAILURE
        }
    }
}
