//! The currency service's settings: only the shared server flags, since its rate table
//! ships inside the binary.

use chassis::ServerArgs;
use clap::Parser;

/// Settings of the currency service.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "currency",
    about = "The bazaar currency service: exchange rates and conversion."
)]
pub struct Config {
    /// Settings shared by every service.
    #[command(flatten)]
    pub server: ServerArgs,
}
