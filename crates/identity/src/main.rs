//! The identity service as a process of its own.

fn main() -> std::process::ExitCode {
    chassis::service::main::<identity::Identity>()
}
