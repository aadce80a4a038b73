//! The storefront, tested from outside: the real shop in-process (bazaar-testkit), the
//! gateway in front on a free port, and HTTP clients (a plain one that keeps cookies like a
//! browser, and headless Chromium through chromedriver when it is installed).
//!
//! - [`pages`]: a whole purchase through the pages; sessions, log-in merging the cart,
//!   forgery protection, escaping and security headers;
//! - [`api`]: the JSON API, its error shape, and the OpenAPI document kept true;
//! - [`degradation`]: each rule of graceful degradation, proven by stopping the service
//!   and loading the page;
//! - [`front_door`]: visitors who only browse cost identity nothing; the per-client rate
//!   limit; identity's throttles keyed per shopper through the gateway;
//! - [`status`]: the status page and API: vital signs scraped from every service's real
//!   admin listener, graphs, the dependency map, a service down or without metrics;
//! - [`metrics`]: the storefront's HTTP metrics by route template, and the calls it makes
//!   counted on both ends;
//! - [`shelves`]: what every shopper sees alike, kept for a moment in front of a catalog
//!   double that counts its calls: one call for many shoppers, the time to live, no error
//!   kept;
//! - [`handover`]: a new gateway takes over the storefront's port while the old one
//!   drains, its clients told to reconnect;
//! - [`browser`]: the same in a real browser, with screenshots of the main pages.

mod api;
mod browser;
mod common;
mod degradation;
mod front_door;
mod handover;
mod metrics;
mod pages;
mod shelves;
mod status;
