//! notification

use crate::{Runner, Target};

/// Runs every notification check.
pub async fn run(_target: &Target, _r: &mut Runner<'_>) {}
