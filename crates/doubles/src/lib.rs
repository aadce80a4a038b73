//! Stand-ins of bazaar services for the tests of the services that call them: each a small
//! implementation of the generated server trait, served by the chassis on a real socket,
//! with the switches a test needs to make the callee misbehave. A service's tests may use
//! this crate as a dev-dependency (the architecture test allows it, and only it, for
//! tests); a service itself never does.
#![forbid(unsafe_code)]

pub mod orders;
