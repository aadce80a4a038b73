//! orders

use crate::{Runner, Target};

/// Runs every orders check.
pub async fn run(_target: &Target, _r: &mut Runner<'_>) {}
