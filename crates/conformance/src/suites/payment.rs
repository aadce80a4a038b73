//! payment

use crate::{Runner, Target};

/// Runs every payment check.
pub async fn run(_target: &Target, _r: &mut Runner<'_>) {}
