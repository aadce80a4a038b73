//! shipping

use crate::{Runner, Target};

/// Runs every shipping check.
pub async fn run(_target: &Target, _r: &mut Runner<'_>) {}
