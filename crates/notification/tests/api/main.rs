//! The notification service through its contract (and, in `follow`, its store and its
//! Maildir): real gRPC on a real socket, the service started by the chassis's test harness
//! (`chassis::testing`) exactly as its binary starts it, following the order event stream of
//! the orders double of `bazaar_doubles`, on SQLite and, when `BAZAAR_TEST_POSTGRES_URL` is
//! set, PostgreSQL. Each topic is a module; `support` holds what the topics share.

mod contract;
mod follow;
mod support;
