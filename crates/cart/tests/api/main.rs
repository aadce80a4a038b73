//! The cart through its contract only: real gRPC on a real socket, the cart started by the
//! chassis's test harness (`chassis::testing`) exactly as its binary starts it. One suite,
//! by topic, runs on every backend (`backends`); `support` starts the cart and holds the
//! small tools the topics share.

mod backends;
mod callers;
mod calls;
mod changes;
mod idempotency;
mod support;
