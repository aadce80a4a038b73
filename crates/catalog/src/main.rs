//! The catalog as a process of its own.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = catalog::Config::parse();
    match catalog::serve(config, chassis::Shutdown::on_signals()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("catalog: {}", chassis::error::chain(&error));
            std::process::ExitCode::FAILURE
        }
    }
}
