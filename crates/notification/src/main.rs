//! The notification service as a process of its own.

fn main() -> std::process::ExitCode {
    chassis::service::main::<notification::Notifier>()
}
