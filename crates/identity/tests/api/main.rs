//! identity through its contract only: real gRPC on a real socket, started by the chassis's
//! test harness (`chassis::testing`) over a SQLite file and, when `BAZAAR_TEST_POSTGRES_URL`
//! is set, over a PostgreSQL database of its own. Each topic is a module; every scenario runs
//! on both backends (see `support::on_every_backend!`).
//!
//! - [`accounts`]: sign-up, log-in, guests, admins and the throttles;
//! - [`sessions`]: refreshing, logging out, tokens and keys;
//! - [`retention`]: ended sessions and idle guests deleted by the sweep.

#[macro_use]
mod support;

mod accounts;
mod admin;
mod keys_at_rest;
mod retention;
mod sessions;
