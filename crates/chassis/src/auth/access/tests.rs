use std::convert::Infallible;

use bazaar_contract::access::{self, RULES, Rule};
use http::{Request, Response};
use prost::Message;
use tonic::Code;
use tower::{ServiceExt, service_fn};

use super::*;
use crate::auth::Caller;

const CHARGE: &str = "/bazaar.payment.v1.PaymentService/Charge";
const LIST_CHARGES: &str = "/bazaar.payment.v1.PaymentService/ListCharges";
const GET_ORDER: &str = "/bazaar.orders.v1.OrdersService/GetOrder";
const RESTOCK: &str = "/bazaar.inventory.v1.InventoryService/Restock";
const GET_PRODUCT: &str = "/bazaar.catalog.v1.CatalogService/GetProduct";
const EVENTS: &str = "/bazaar.orders.v1.OrdersService/StreamOrderEvents";

fn token(kind: CallerKind, roles: &[&str]) -> Authentication {
    Authentication::Verified(Caller {
        user_id: "u-1".to_owned(),
        session_id: "s-1".to_owned(),
        kind,
        roles: roles.iter().map(ToString::to_string).collect(),
    })
}

fn user() -> Authentication {
    token(CallerKind::User, &[])
}

fn guest() -> Authentication {
    token(CallerKind::Guest, &[])
}

fn admin() -> Authentication {
    token(CallerKind::User, &["admin"])
}

fn service(name: &str) -> Peer {
    Peer::Service(name.to_owned())
}

fn code(path: &str, authentication: Option<&Authentication>, peer: &Peer) -> Option<Code> {
    check(path, authentication, peer).err().map(|s| s.code())
}

#[test]
fn public_methods_take_anyone_even_with_a_refused_token() {
    let refused = Authentication::Refused(TokenError::BadSignature);
    assert_eq!(code(GET_PRODUCT, None, &Peer::Anonymous), None);
    assert_eq!(code(GET_PRODUCT, Some(&refused), &Peer::Anonymous), None);
    assert_eq!(code(GET_PRODUCT, Some(&guest()), &service("cart")), None);
}

#[test]
fn user_methods_need_a_valid_token_of_a_user_or_a_guest() {
    assert_eq!(
        code(GET_ORDER, None, &Peer::Anonymous),
        Some(Code::Unauthenticated)
    );
    let refused = Authentication::Refused(TokenError::Expired);
    assert_eq!(
        code(GET_ORDER, Some(&refused), &Peer::Anonymous),
        Some(Code::Unauthenticated)
    );
    // A service's certificate is no shopper: the token is what is missing.
    assert_eq!(
        code(GET_ORDER, None, &service("orders")),
        Some(Code::Unauthenticated)
    );
    assert_eq!(
        code(GET_ORDER, None, &Peer::Unverified),
        Some(Code::Unauthenticated)
    );
    assert_eq!(code(GET_ORDER, Some(&guest()), &Peer::Anonymous), None);
    assert_eq!(code(GET_ORDER, Some(&user()), &Peer::Anonymous), None);
}

#[test]
fn internal_methods_take_the_named_services_only() {
    assert_eq!(code(CHARGE, None, &service("orders")), None);
    assert_eq!(
        code(CHARGE, None, &Peer::Anonymous),
        Some(Code::Unauthenticated)
    );
    assert_eq!(
        code(CHARGE, None, &service("cart")),
        Some(Code::PermissionDenied)
    );
    assert_eq!(
        code(CHARGE, None, &Peer::Operator("ops".to_owned())),
        Some(Code::PermissionDenied)
    );
    // A token, however good, is the wrong kind of credential for an internal method.
    assert_eq!(
        code(CHARGE, Some(&admin()), &Peer::Anonymous),
        Some(Code::PermissionDenied)
    );
    assert_eq!(
        code(CHARGE, Some(&user()), &service("cart")),
        Some(Code::PermissionDenied)
    );
    assert_eq!(code(EVENTS, None, &service("notification")), None);
    assert_eq!(code(EVENTS, None, &service("recommendation")), None);
    assert_eq!(code(EVENTS, None, &Peer::Operator("ops".to_owned())), None);
    assert_eq!(
        code(EVENTS, None, &service("orders")),
        Some(Code::PermissionDenied)
    );
}

#[test]
fn plaintext_servers_let_internal_calls_through_but_not_admin_ones() {
    assert_eq!(code(CHARGE, None, &Peer::Unverified), None);
    assert_eq!(code(LIST_CHARGES, None, &Peer::Unverified), None);
    // Restock takes an admin or an operator, not a service: plaintext proves neither.
    assert_eq!(
        code(RESTOCK, None, &Peer::Unverified),
        Some(Code::Unauthenticated)
    );
}

#[test]
fn admin_methods_take_an_admin_token_or_what_else_the_rule_names() {
    assert_eq!(code(RESTOCK, Some(&admin()), &Peer::Anonymous), None);
    assert_eq!(code(RESTOCK, None, &Peer::Operator("ops".to_owned())), None);
    assert_eq!(
        code(RESTOCK, Some(&user()), &Peer::Anonymous),
        Some(Code::PermissionDenied)
    );
    assert_eq!(
        code(RESTOCK, Some(&guest()), &Peer::Anonymous),
        Some(Code::PermissionDenied)
    );
    assert_eq!(
        code(RESTOCK, None, &Peer::Anonymous),
        Some(Code::Unauthenticated)
    );
    assert_eq!(code(LIST_CHARGES, Some(&admin()), &Peer::Anonymous), None);
    assert_eq!(code(LIST_CHARGES, None, &service("orders")), None);
    assert_eq!(
        code(LIST_CHARGES, None, &service("cart")),
        Some(Code::PermissionDenied)
    );
    assert_eq!(
        code(LIST_CHARGES, Some(&guest()), &Peer::Anonymous),
        Some(Code::PermissionDenied)
    );
}

#[test]
fn a_path_without_a_rule_is_denied() {
    for path in [
        "/bazaar.payment.v1.PaymentService/Steal",
        "/bazaar.payment.v1.PaymentService/Charge/",
        "/",
        "",
    ] {
        for peer in [Peer::Unverified, service("orders"), Peer::Anonymous] {
            assert_eq!(
                code(path, Some(&admin()), &peer),
                Some(Code::PermissionDenied),
                "{path:?}"
            );
        }
    }
}

#[test]
fn refusals_name_what_the_rule_requires() {
    let status = check(CHARGE, None, &service("cart")).expect_err("refused");
    assert!(
        status.message().contains("internal (the orders service)")
            && status.message().contains("the cart service"),
        "{}",
        status.message()
    );
    let status = check(RESTOCK, Some(&guest()), &Peer::Anonymous).expect_err("refused");
    assert!(
        status
            .message()
            .contains("admin (a token with the admin role)")
            && status.message().contains("guest"),
        "{}",
        status.message()
    );
}

#[test]
fn a_rule_that_takes_tokens_and_services_refuses_a_wrong_service_with_permission_denied() {
    let rule = Rule::internal(&["orders"]).or_admin();
    let refused = check_rule("/x.Y/Z", &rule, None, &service("cart")).expect_err("refused");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let refused = check_rule("/x.Y/Z", &rule, None, &Peer::Anonymous).expect_err("refused");
    assert_eq!(refused.code(), Code::Unauthenticated);
}

/// The methods of an encoded descriptor set, as `/package.Service/Method`.
fn methods(encoded: &[u8]) -> Vec<String> {
    let set = prost_types::FileDescriptorSet::decode(encoded).expect("a descriptor set");
    let mut paths = Vec::new();
    for file in &set.file {
        for service in &file.service {
            for method in &service.method {
                paths.push(format!(
                    "/{}.{}/{}",
                    file.package(),
                    service.name(),
                    method.name()
                ));
            }
        }
    }
    paths
}

#[test]
fn every_method_every_server_serves_has_a_rule_and_every_rule_a_method() {
    let mut served = methods(bazaar_contract::FILE_DESCRIPTOR_SET);
    served.extend(methods(tonic_health::pb::FILE_DESCRIPTOR_SET));
    served.extend(methods(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET));
    served.extend(methods(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET));
    for path in &served {
        assert!(access::rule(path).is_some(), "{path} has no access rule");
    }
    for (path, _) in RULES {
        assert!(
            served.iter().any(|s| s == path),
            "the rule for {path} names no method"
        );
    }
}

#[test]
fn every_service_a_rule_names_is_in_the_service_table() {
    for (path, rule) in RULES {
        for name in rule.services {
            assert!(
                crate::topology::find(name).is_some(),
                "{path} names {name}, not a service of the table"
            );
        }
    }
}

#[tokio::test]
async fn the_layer_answers_a_refusal_as_a_grpc_response_before_the_handler() {
    let handler = service_fn(|_: Request<()>| async {
        Ok::<_, Infallible>(Response::new(String::from("handled")))
    });
    let access = AccessLayer.layer(handler);

    let mut request = Request::builder().uri(CHARGE).body(()).expect("a request");
    request.extensions_mut().insert(service("cart"));
    let response = access.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("grpc-status")
            .map(http::HeaderValue::as_bytes),
        Some(format!("{}", Code::PermissionDenied as i32).as_bytes())
    );
    assert!(response.body().is_empty(), "the handler must not run");

    let mut request = Request::builder().uri(CHARGE).body(()).expect("a request");
    request.extensions_mut().insert(service("orders"));
    let response = access.oneshot(request).await.expect("infallible");
    assert_eq!(response.body(), "handled");
}
