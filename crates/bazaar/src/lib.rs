//! The `bazaar` command line as a library: the services bound to their implementations
//! ([`services`]), the supervisor of `bazaar up` ([`up`]) with its configuration file
//! ([`config_file`]) and its control socket ([`control`]), rolling upgrades (`bazaar rollout`, [`rollout`]) and fault files
//! (`bazaar chaos`, [`chaos`]) and Prometheus's discovery file of
//! the shop it writes ([`targets`]), health checks ([`health`]), `bazaar status`
//! ([`status`]), `bazaar top` ([`top`]), `bazaar load` ([`load`]) and the check of the checkout invariants after
//! it ([`invariants`]), and the operator's side of identity's secrets ([`admin`]: its
//! key-encryption key, `bazaar admin code`). The in-process test shop starts services
//! through the same [`services::RUNNERS`].
#![forbid(unsafe_code)]

pub mod admin;
pub mod chaos;
pub mod config_file;
pub mod control;
pub mod health;
pub mod invariants;
pub mod load;
pub mod rollout;
pub mod services;
pub mod status;
pub mod targets;
pub mod top;
pub mod up;
