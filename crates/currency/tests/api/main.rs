//! The currency service through its contract only, over a real socket: the service is
//! started by the chassis's test harness (`chassis::testing`) exactly as its binary starts
//! it, and each topic is a module.

mod currencies;
mod support;
