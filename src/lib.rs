//! The bazaar API contract, compiled.
//!
//! `proto/` is the single source of truth: `build.rs` compiles it into one module per proto
//! package (`bazaar.catalog.v1` is [`catalog::v1`], `bazaar.type.v1` is [`r#type::v1`], also
//! reachable as [`types`]). Each module has the messages, a `*_client` and a `*_server` module.
//! [`FILE_DESCRIPTOR_SET`] is the encoded descriptor set of every file, comments included,
//! which servers hand to gRPC reflection so grpcurl can list and describe them.
//!
//! [`values`] is written by hand beside the generated code: the contract's value types
//! (`Money`, `RequestId`, slugs, order ids, cards, calendar dates) with the rules the proto
//! comments state, parsed the same way by every service.
//!
//! Services depend on this crate and on the chassis only; they know each other through the
//! generated clients here, never through each other's crates.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

macro_rules! contract_package {
    ($(#[$doc:meta])* $name:ident, $package:literal) => {
        $(#[$doc])*
        pub mod $name {
            /// Version 1 of the package; changes to it are additive only (see docs/contract.md).
            pub mod v1 {
                #![allow(clippy::doc_lazy_continuation, clippy::large_enum_variant)]
                tonic::include_proto!($package);
            }
        }
    };
}

contract_package!(
    /// Types shared by every service: `Money`, `Address`.
    r#type,
    "bazaar.r#type.v1"
);
contract_package!(
    /// Products, categories and search.
    catalog,
    "bazaar.catalog.v1"
);
contract_package!(
    /// Exchange rates and conversion of money between currencies.
    currency,
    "bazaar.currency.v1"
);
contract_package!(
    /// Users, sessions, access tokens and the keys that sign them.
    identity,
    "bazaar.identity.v1"
);
contract_package!(
    /// Shopping carts of users and guests.
    cart,
    "bazaar.cart.v1"
);
contract_package!(
    /// Stock levels and reservations.
    inventory,
    "bazaar.inventory.v1"
);
contract_package!(
    /// Card charges, refunds and the payment ledger.
    payment,
    "bazaar.payment.v1"
);
contract_package!(
    /// Shipping quotes and shipments.
    shipping,
    "bazaar.shipping.v1"
);
contract_package!(
    /// Orders, the checkout saga and the order event stream.
    orders,
    "bazaar.orders.v1"
);
contract_package!(
    /// Notifications sent to shoppers.
    notification,
    "bazaar.notification.v1"
);
contract_package!(
    /// Product recommendations.
    recommendation,
    "bazaar.recommendation.v1"
);

pub mod access;
pub mod values;

/// `bazaar.type.v1` under a name that needs no raw identifier.
pub use r#type as types;

/// Bounds the size of the messages a generated server takes and gives. `build.rs`
/// implements it for the server of every service in `proto/`, so that the chassis can apply
/// one configured limit to whatever service it is handed.
pub trait MessageLimits {
    /// The server, refusing requests and responses larger than `max_bytes`.
    #[must_use]
    fn limit_messages(self, max_bytes: usize) -> Self;
}

include!(concat!(env!("OUT_DIR"), "/message_limits.rs"));

/// The page a list call asks for, in the standard fields every list request of the contract
/// has (AIP-158). `build.rs` implements it for each request message with an `int32
/// page_size` and a `string page_token`, so that the chassis parses the page of any list
/// call in one place.
pub trait ListRequest {
    /// Items the caller wants at most; 0 lets the server choose, negative is invalid.
    fn page_size(&self) -> i32;
    /// The `next_page_token` of the previous page, empty for the first page.
    fn page_token(&self) -> &str;
}

include!(concat!(env!("OUT_DIR"), "/list_requests.rs"));

/// The encoded `google.protobuf.FileDescriptorSet` of every file in `proto/` and the
/// well-known types they import, with source info (comments).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/bazaar_descriptor.binpb"));
