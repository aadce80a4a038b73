//! The shipping service as a process of its own.

fn main() -> std::process::ExitCode {
    chassis::service::main::<shipping::Shipping>()
}
