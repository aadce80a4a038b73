//! The shop's services as the command line runs them: each row of the chassis's service
//! table (`chassis::topology`) bound to the crate that implements it.
//!
//! `bazaar serve`, `bazaar up` (through `bazaar serve`) and the in-process test shop all
//! start a service through its [`Runner`], which goes through the one life of a process in
//! `chassis::service`. A new service is one crate, one row of the table and one line here.

use std::ffi::OsString;

use chassis::Shutdown;
use chassis::service::{Launch, Runner};

pub use chassis::topology::{Probe, SERVICES, Spec, find, names};

/// Every service with its implementation, in the order of the table.
pub const RUNNERS: &[Runner] = &[
    Runner::of::<catalog::Catalog>(),
    Runner::of::<currency::Currency>(),
    Runner::of::<identity::Identity>(),
    Runner::of::<cart::Carts>(),
    Runner::of::<inventory::Inventory>(),
    Runner::of::<payment::Payment>(),
    Runner::of::<shipping::Shipping>(),
    Runner::of::<orders::Orders>(),
    Runner::of::<notification::Notifier>(),
    Runner::of::<recommendation::Recommender>(),
    Runner::process::<gateway::Gateway>(),
];

/// The runner of service `name`.
pub fn runner(name: &str) -> Option<&'static Runner> {
    RUNNERS.iter().find(|runner| runner.spec.name == name)
}

/// Runs service `name` in this process, as its own binary would, until `shutdown`; `args`
/// are its own flags.
pub async fn serve(name: &str, args: Vec<OsString>, shutdown: Shutdown) -> Result<(), String> {
    let runner =
        runner(name).ok_or_else(|| format!("unknown service {name:?}; known: {}", names()))?;
    let launch = Launch {
        process: true,
        ..Launch::default()
    };
    runner.run(args, shutdown, launch).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_table_has_its_implementation_in_the_same_order() {
        let implemented: Vec<&Spec> = RUNNERS.iter().map(|runner| runner.spec).collect();
        let table: Vec<&Spec> = SERVICES.iter().collect();
        assert_eq!(implemented, table);
    }
}
