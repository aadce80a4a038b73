//! The inventory through its contract only (and, in `sweep`, through its store): real gRPC on
//! a real socket, the service started by the chassis's test harness (`chassis::testing`)
//! exactly as its binary starts it, on a real SQLite file and, when
//! `BAZAAR_TEST_POSTGRES_URL` is set, on PostgreSQL. Each topic is a module; `support` starts
//! the service and holds the small tools the topics share.

mod concurrency;
mod reservations;
mod stock;
mod support;
mod sweep;
