//! What a gRPC call is, for its metrics and its spans: the table of every method a bazaar
//! process can serve or call, and the status codes by their Prometheus names.
//!
//! The table is built once per process from the descriptor sets the servers serve (the
//! contract, `grpc.health.v1`, reflection v1 and v1alpha) and maps a request path
//! (`/bazaar.orders.v1.OrdersService/PlaceOrder`) to its labels. A path that is not in it is
//! the one row `unknown`, so a caller who makes up paths cannot grow the label set: the
//! series a process can have are fixed before it serves its first call.

use std::collections::HashMap;
use std::sync::OnceLock;

use bazaar_contract::access::{self, Rule};
use prost::Message;

/// The labels of one method.
#[derive(Debug)]
pub(crate) struct Method {
    /// `unary`, `client_stream`, `server_stream` or `bidi_stream`.
    pub(crate) grpc_type: &'static str,
    /// The full proto name of the service: `bazaar.orders.v1.OrdersService`.
    pub(crate) service: String,
    /// The method's name: `PlaceOrder`.
    pub(crate) method: String,
    /// The number of the request message's `request_id` field (a string), when it has one:
    /// a call that carries a non-empty one may be repeated safely (see [`crate::retry`]).
    pub(crate) request_id: Option<u32>,
    /// Its access rule (`bazaar_contract::access`), found once here rather than on every
    /// call.
    pub(crate) rule: Option<&'static Rule>,
}

/// Every method known to the process, by path; the last row is `unknown`.
#[derive(Debug)]
pub(crate) struct Methods {
    by_path: HashMap<Box<str>, usize>,
    methods: Vec<Method>,
}

/// The path prefix of every `grpc.health.v1.Health` method: health checks are never
/// limited and never traced.
pub(crate) const HEALTH_PATH: &str = "/grpc.health.v1.Health/";

/// The status codes by the names the grpc-ecosystem dashboards use (Go's `codes.Code`
/// names), indexed by their number.
pub(crate) const CODES: [&str; 17] = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

/// The index of `Canceled` in [`CODES`].
pub(crate) const CANCELED: usize = 1;
/// The index of `Unknown` in [`CODES`].
pub(crate) const UNKNOWN: usize = 2;
/// The index of `ResourceExhausted` in [`CODES`].
pub(crate) const RESOURCE_EXHAUSTED: usize = 8;
/// The index of `Aborted` in [`CODES`].
pub(crate) const ABORTED: usize = 10;
/// The index of `Unavailable` in [`CODES`].
pub(crate) const UNAVAILABLE: usize = 14;

/// The index in [`CODES`] of a `grpc-status` value; a value that is not a known code is
/// `Unknown`, as gRPC's own clients read it.
pub(crate) fn code_of(value: &[u8]) -> usize {
    let code = match value {
        [digit] if digit.is_ascii_digit() => usize::from(digit - b'0'),
        [tens @ b'1', digit] if digit.is_ascii_digit() => {
            usize::from(tens - b'0') * 10 + usize::from(digit - b'0')
        }
        _ => UNKNOWN,
    };
    if code < CODES.len() { code } else { UNKNOWN }
}

/// The code of a call whose status is in `headers` (a trailers-only answer, or the
/// trailers), if it is there.
pub(crate) fn status_in(headers: &http::HeaderMap) -> Option<usize> {
    headers
        .get("grpc-status")
        .map(|value| code_of(value.as_bytes()))
}

impl Methods {
    /// The table of this process, built on first use.
    pub(crate) fn get() -> &'static Methods {
        static METHODS: OnceLock<Methods> = OnceLock::new();
        METHODS.get_or_init(|| {
            Methods::from_descriptor_sets(&[
                bazaar_contract::FILE_DESCRIPTOR_SET,
                tonic_health::pb::FILE_DESCRIPTOR_SET,
                tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            ])
        })
    }

    /// The table of the methods in `sets` (encoded `FileDescriptorSet`s), and `unknown`.
    pub(crate) fn from_descriptor_sets(sets: &[&[u8]]) -> Self {
        let mut table = Self {
            by_path: HashMap::new(),
            methods: Vec::new(),
        };
        for encoded in sets {
            let set = match prost_types::FileDescriptorSet::decode(*encoded) {
                Ok(set) => set,
                Err(error) => {
                    // Compiled in, so this does not happen; if it did, those methods would be
                    // counted as `unknown`, which is still bounded.
                    tracing::warn!(%error, "a descriptor set does not decode: its methods count as unknown");
                    continue;
                }
            };
            let messages = request_ids(&set);
            for file in &set.file {
                let package = file.package();
                for service in &file.service {
                    let full = if package.is_empty() {
                        service.name().to_owned()
                    } else {
                        format!("{package}.{}", service.name())
                    };
                    for method in &service.method {
                        let path = format!("/{full}/{}", method.name());
                        if table.by_path.contains_key(path.as_str()) {
                            continue;
                        }
                        let rule = access::rule(&path);
                        table.by_path.insert(path.into(), table.methods.len());
                        table.methods.push(Method {
                            grpc_type: grpc_type(
                                method.client_streaming(),
                                method.server_streaming(),
                            ),
                            service: full.clone(),
                            method: method.name().to_owned(),
                            request_id: messages.get(method.input_type()).copied(),
                            rule,
                        });
                    }
                }
            }
        }
        table.methods.push(Method {
            // Nothing serves an unknown path: it is answered at once, as a unary call is.
            grpc_type: "unary",
            service: "unknown".to_owned(),
            method: "unknown".to_owned(),
            request_id: None,
            rule: None,
        });
        table
    }

    /// The row of `path`: its method, or `unknown`.
    pub(crate) fn index_of(&self, path: &str) -> usize {
        self.by_path
            .get(path)
            .copied()
            .unwrap_or(self.methods.len() - 1)
    }

    /// The access rule of `path`: one hash lookup for a method of the table; a path
    /// outside it is looked for in the rules themselves, so that the answer is always
    /// `bazaar_contract::access::rule`'s.
    pub(crate) fn rule_of(&self, path: &str) -> Option<&'static Rule> {
        match self.by_path.get(path) {
            Some(&row) => self.methods[row].rule,
            None => access::rule(path),
        }
    }

    /// How many rows there are, `unknown` included.
    pub(crate) fn len(&self) -> usize {
        self.methods.len()
    }

    /// The labels of row `index`.
    pub(crate) fn method(&self, index: usize) -> &Method {
        &self.methods[index]
    }
}

/// The messages of `set` that have a string field named `request_id`, by their full name
/// as a method's `input_type` spells it (`.bazaar.payment.v1.ChargeRequest`), with the
/// field's number.
fn request_ids(set: &prost_types::FileDescriptorSet) -> HashMap<String, u32> {
    use prost_types::field_descriptor_proto::Type;
    fn visit(
        scope: &str,
        messages: &[prost_types::DescriptorProto],
        found: &mut HashMap<String, u32>,
    ) {
        for message in messages {
            let name = format!("{scope}.{}", message.name());
            if let Some(field) = message
                .field
                .iter()
                .find(|field| field.name() == "request_id" && field.r#type() == Type::String)
                && let Ok(number) = u32::try_from(field.number())
            {
                found.insert(name.clone(), number);
            }
            visit(&name, &message.nested_type, found);
        }
    }
    let mut found = HashMap::new();
    for file in &set.file {
        let scope = if file.package().is_empty() {
            String::new()
        } else {
            format!(".{}", file.package())
        };
        visit(&scope, &file.message_type, &mut found);
    }
    found
}

fn grpc_type(client_streaming: bool, server_streaming: bool) -> &'static str {
    match (client_streaming, server_streaming) {
        (false, false) => "unary",
        (true, false) => "client_stream",
        (false, true) => "server_stream",
        (true, true) => "bidi_stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_health_and_reflection_methods_are_known() {
        let methods = Methods::get();
        let place = methods.method(methods.index_of("/bazaar.orders.v1.OrdersService/PlaceOrder"));
        assert_eq!(place.service, "bazaar.orders.v1.OrdersService");
        assert_eq!(place.method, "PlaceOrder");
        assert_eq!(place.grpc_type, "unary");
        let watch = methods.method(methods.index_of("/grpc.health.v1.Health/Watch"));
        assert_eq!(watch.grpc_type, "server_stream");
        let reflect = methods.method(
            methods.index_of("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"),
        );
        assert_eq!(reflect.grpc_type, "bidi_stream");
    }

    #[test]
    fn methods_whose_request_has_a_request_id_know_its_field() {
        let methods = Methods::get();
        let of = |path: &str| methods.method(methods.index_of(path)).request_id;
        assert_eq!(of("/bazaar.payment.v1.PaymentService/Charge"), Some(1));
        assert_eq!(of("/bazaar.payment.v1.PaymentService/Refund"), Some(1));
        assert_eq!(of("/bazaar.orders.v1.OrdersService/PlaceOrder"), Some(1));
        assert_eq!(of("/bazaar.payment.v1.PaymentService/GetCharge"), None);
        assert_eq!(of("/bazaar.currency.v1.CurrencyService/Convert"), None);
        assert_eq!(of("/evil.Service/A"), None);
    }

    #[test]
    fn the_table_gives_the_access_rule_of_every_path() {
        let methods = Methods::get();
        for path in [
            "/bazaar.orders.v1.OrdersService/PlaceOrder",
            "/bazaar.payment.v1.PaymentService/Charge",
            "/grpc.health.v1.Health/Check",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            "/evil.Service/A",
        ] {
            assert_eq!(
                methods.rule_of(path).map(std::ptr::from_ref),
                access::rule(path).map(std::ptr::from_ref),
                "{path}"
            );
        }
        assert!(
            methods
                .rule_of("/bazaar.orders.v1.OrdersService/PlaceOrder")
                .is_some()
        );
        assert!(methods.rule_of("/evil.Service/A").is_none());
    }

    #[test]
    fn made_up_paths_are_one_unknown_row() {
        let methods = Methods::get();
        let a = methods.index_of("/evil.Service/A");
        let b = methods.index_of("/bazaar.orders.v1.OrdersService/PlaceOrder2");
        assert_eq!(a, b);
        assert_eq!(a, methods.len() - 1);
        assert_eq!(methods.method(a).service, "unknown");
        assert_eq!(methods.method(a).method, "unknown");
    }

    #[test]
    fn status_values_map_to_code_names() {
        assert_eq!(CODES[code_of(b"0")], "OK");
        assert_eq!(CODES[code_of(b"4")], "DeadlineExceeded");
        assert_eq!(CODES[code_of(b"14")], "Unavailable");
        assert_eq!(CODES[code_of(b"16")], "Unauthenticated");
        assert_eq!(CODES[code_of(b"17")], "Unknown");
        assert_eq!(CODES[code_of(b"99")], "Unknown");
        assert_eq!(CODES[code_of(b"")], "Unknown");
        assert_eq!(CODES[code_of(b"x")], "Unknown");
    }
}
