//! The recommendation service through its contract only: real gRPC on a real socket, the
//! service started by the chassis's test harness (`chassis::testing`) exactly as its binary
//! starts it, learning from the orders double and reading categories from the catalog double
//! of `bazaar_doubles`. `support` holds what the tests share.

mod recommendations;
mod support;
