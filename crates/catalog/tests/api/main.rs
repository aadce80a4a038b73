//! The catalog through its contract only: real gRPC on a real socket, the service started by
//! the chassis's test harness (`chassis::testing`) exactly as its binary starts it.
//! `support` starts it; `contract` is what it promises, on every backend.

mod contract;
mod support;
