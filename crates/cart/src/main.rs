//! The cart service as a process of its own.

fn main() -> std::process::ExitCode {
    chassis::service::main::<cart::Carts>()
}
