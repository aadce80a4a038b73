//! identity through its contract only: real gRPC on a real socket, started by the chassis's
//! test harness (`chassis::testing`) over a SQLite file and, when `BAZAAR_TEST_POSTGRES_URL`
//! is set, over a PostgreSQL database of its own. Each topic is a module; every scenario runs
//! on both backends (see `support::on_every_backend!`).

#[macro_use]
mod support;

mod accounts;
mod admin;
mod keys_at_rest;
mod sessions;
