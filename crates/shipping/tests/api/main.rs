//! Shipping through its contract only: real gRPC on a real socket, the service started by the
//! chassis's test harness (`chassis::testing`) exactly as its binary starts it. One suite, by
//! topic, runs on every backend (`backends`); `support` starts the service and holds the
//! small tools the topics share.

mod backends;
mod quotes;
mod shipments;
mod support;
