//! recommendation

use crate::{Runner, Target};

/// Runs every recommendation check.
pub async fn run(_target: &Target, _r: &mut Runner<'_>) {}
