//! The gateway as a process of its own.

fn main() -> std::process::ExitCode {
    chassis::service::process_main::<gateway::Gateway>()
}
