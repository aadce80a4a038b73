//! inventory

use crate::{Runner, Target};

/// Runs every inventory check.
pub async fn run(_target: &Target, _r: &mut Runner<'_>) {}
