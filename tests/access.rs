//! Who may call what, through the real services: every RPC of the access table
//! (`bazaar_contract::access`), called on the shop of `bazaar-testkit` over real sockets by
//! nobody, a guest, another shopper, an admin, the wrong service, the right service and an
//! operator, with the status each must get. The right caller must get past authorization
//! (any answer but UNAUTHENTICATED or PERMISSION_DENIED: an empty request is usually
//! INVALID_ARGUMENT); a shopper asking for another's order or notification gets NOT_FOUND.
//!
//! A connection's identity comes from its client certificate: the shop serves mutual TLS,
//! and every call here goes through [`channel`], the one place that says how a caller shows
//! who it is (the certificate of a service, of the operator, or none).

use std::fmt::Write as _;
use std::time::Duration;

use bazaar_contract::access::{RULES, Rule};
use bazaar_contract::notification::v1::ListNotificationsRequest;
use bazaar_contract::notification::v1::notification_service_client::NotificationServiceClient;
use bazaar_testkit::Shop;
use bazaar_testkit::buyer::{self, GOOD_CARD, Token};
use chassis::auth::Peer;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;

/// The request every RPC is called with: field 1, a string, is the id of the resource asked
/// for in the RPCs that take one (GetOrder's `order_id`, GetNotification's
/// `notification_id`); empty, it encodes to nothing, which every request message reads as
/// its defaults.
#[derive(Clone, PartialEq, prost::Message)]
struct Probe {
    #[prost(string, tag = "1")]
    id: String,
}

/// Whatever a response holds: only the status matters here.
#[derive(Clone, PartialEq, prost::Message)]
struct Anything {}

/// A caller: the identity of its connection and, maybe, a token.
#[derive(Clone, Debug)]
struct Caller {
    name: String,
    peer: Peer,
    token: Option<Token>,
}

impl Caller {
    fn nobody() -> Self {
        Self::of("nobody", Peer::Anonymous, None)
    }

    fn with_token(name: &str, token: &Token) -> Self {
        Self::of(name, Peer::Anonymous, Some(token.clone()))
    }

    fn service(name: &str) -> Self {
        Self::of(
            &format!("the {name} service"),
            Peer::Service(name.to_owned()),
            None,
        )
    }

    fn operator() -> Self {
        Self::of("an operator", Peer::Operator("ops".to_owned()), None)
    }

    fn of(name: &str, peer: Peer, token: Option<Token>) -> Self {
        Self {
            name: name.to_owned(),
            peer,
            token,
        }
    }
}

/// A channel to `service` on which calls come from `peer`: its client certificate.
fn channel(shop: &Shop, service: &str, peer: &Peer) -> tonic::transport::Channel {
    shop.channel_as(service, peer)
}

/// The service that serves `path`: the one its package names, or (health, reflection,
/// which every server has) catalog.
fn service_of(path: &str) -> &str {
    path.strip_prefix("/bazaar.")
        .and_then(|rest| rest.split('.').next())
        .unwrap_or("catalog")
}

/// Calls `path` as `caller` with `id` in field 1; the code it answers (`Ok` once a
/// response, or the first message of a stream, is on its way).
async fn call(shop: &Shop, path: &str, caller: &Caller, id: &str) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel(shop, service_of(path), &caller.peer));
    if let Err(error) = grpc.ready().await {
        panic!("{path}: the channel is not ready: {error}");
    }
    let mut request = match &caller.token {
        Some(token) => token.request(Probe { id: id.to_owned() }),
        None => tonic::Request::new(Probe { id: id.to_owned() }),
    };
    request.set_timeout(Duration::from_secs(20));
    let path = PathAndQuery::try_from(path).expect("a method path is a valid URI path");
    // Server streaming covers every kind: a unary answer is a stream of one, and a stream
    // that is let through answers its headers at once.
    match grpc
        .server_streaming(
            request,
            path,
            tonic_prost::ProstCodec::<Probe, Anything>::default(),
        )
        .await
    {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// What a caller must get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Anything but UNAUTHENTICATED and PERMISSION_DENIED.
    Through,
    /// Exactly this code.
    Refused(Code),
}

impl Expect {
    fn holds(self, code: Code) -> bool {
        match self {
            Expect::Through => !matches!(code, Code::Unauthenticated | Code::PermissionDenied),
            Expect::Refused(expected) => code == expected,
        }
    }
}

const UNAUTHENTICATED: Expect = Expect::Refused(Code::Unauthenticated);
const DENIED: Expect = Expect::Refused(Code::PermissionDenied);

/// What `caller` (one of the matrix's) must get from an RPC under `rule`.
fn expected(rule: &Rule, caller: &str) -> Expect {
    let through_if = |admitted: bool, otherwise: Expect| {
        if admitted || rule.public {
            Expect::Through
        } else {
            otherwise
        }
    };
    match caller {
        // No credentials at all.
        "nobody" => through_if(false, UNAUTHENTICATED),
        // Valid tokens: enough for user rules (and admin rules with the role); the wrong
        // kind of credential for internal-only ones.
        "a guest" | "another shopper" => through_if(rule.user, DENIED),
        "an admin" => through_if(rule.user || rule.admin, DENIED),
        // Certificates without a token: a wrong identity where the rule takes certificates,
        // a missing token where it takes only tokens.
        "the cart service" | "an operator" => {
            let otherwise = if rule.takes_certificates() {
                DENIED
            } else {
                UNAUTHENTICATED
            };
            through_if(caller == "an operator" && rule.operator, otherwise)
        }
        service => through_if(
            rule.services
                .iter()
                .any(|s| service == format!("the {s} service")),
            DENIED,
        ),
    }
}

/// A shop whose callers are identified, with one placed order of `owner` and its
/// confirmation: the order id and the notification id.
async fn shop_with_an_order() -> (Shop, Token, String, String) {
    let shop = Shop::builder("access matrix")
        .start()
        .await
        .expect("a shop on SQLite always starts");
    let admin = buyer::admin(&shop).await;
    buyer::restock(&shop, &admin, "brass-desk-lamp", 5).await;
    let owner = buyer::guest(&shop).await;
    buyer::add_to_cart(&shop, &owner, "brass-desk-lamp", 1).await;
    let order = buyer::place_order(
        &shop,
        &owner,
        buyer::order_request(&buyer::unique("order"), GOOD_CARD, "USD"),
    )
    .await
    .expect("the owner's order is placed");
    let mut notification = None;
    for _ in 0..300 {
        let listed = NotificationServiceClient::new(shop.channel("notification"))
            .list_notifications(owner.request(ListNotificationsRequest {
                order_id: order.id.clone(),
                ..ListNotificationsRequest::default()
            }))
            .await
            .expect("the owner lists the notifications of their order")
            .into_inner();
        if let Some(first) = listed.notifications.into_iter().next() {
            notification = Some(first.id);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let notification = notification.expect("the order's confirmation within 30 s");
    (shop, owner, order.id, notification)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_answers_each_caller_as_its_rule_says() {
    let (shop, owner, order_id, notification_id) = shop_with_an_order().await;
    let admin = buyer::admin(&shop).await;
    let stranger = buyer::guest(&shop).await;
    let resource_of = |path: &str| match path {
        "/bazaar.orders.v1.OrdersService/GetOrder" => Some(order_id.as_str()),
        "/bazaar.notification.v1.NotificationService/GetNotification" => {
            Some(notification_id.as_str())
        }
        _ => None,
    };

    let mut wrong = String::new();
    let mut calls = 0;
    // LogOut ends the sessions it is called with, so it comes last (GetCurrentUser checks
    // that the session is still open).
    let mut rules: Vec<&(&str, Rule)> = RULES.iter().collect();
    rules.sort_by_key(|(path, _)| path.ends_with("/LogOut"));
    for (path, rule) in rules {
        let guest = buyer::guest(&shop).await;
        let mut callers = vec![
            Caller::nobody(),
            Caller::with_token("a guest", &guest),
            Caller::with_token("another shopper", &stranger),
            Caller::with_token("an admin", &admin),
            Caller::service("cart"),
            Caller::operator(),
        ];
        callers.extend(rule.services.iter().map(|s| Caller::service(s)));
        for caller in &callers {
            let resource = resource_of(path);
            let code = call(&shop, path, caller, resource.unwrap_or_default()).await;
            calls += 1;
            let expect = expected(rule, &caller.name);
            // Another shopper's resource is as if it did not exist.
            let expect = match (resource, caller.name.as_str(), expect) {
                (Some(_), "another shopper" | "a guest", Expect::Through) => {
                    Expect::Refused(Code::NotFound)
                }
                _ => expect,
            };
            if !expect.holds(code) {
                let _ = writeln!(
                    wrong,
                    "{path} as {}: {code:?}, expected {expect:?}",
                    caller.name
                );
            }
        }
        // The owner gets their own resource.
        if let Some(id) = resource_of(path) {
            let code = call(&shop, path, &Caller::with_token("the owner", &owner), id).await;
            calls += 1;
            if code != Code::Ok {
                let _ = writeln!(wrong, "{path} as the owner: {code:?}, expected Ok");
            }
        }
    }
    assert!(calls > RULES.len() * 6, "only {calls} calls made");
    assert!(
        wrong.is_empty(),
        "calls answered against their rule:\n{wrong}"
    );

    // A path the table does not know is refused to everyone, the right service included.
    for caller in [
        Caller::service("orders"),
        Caller::with_token("an admin", &admin),
    ] {
        let code = call(
            &shop,
            "/bazaar.payment.v1.PaymentService/TransferEverything",
            &caller,
            "",
        )
        .await;
        assert_eq!(code, Code::PermissionDenied, "as {}", caller.name);
    }
    shop.shutdown().await;
}

/// docs/security.md renders the table for readers; it must say what the code says.
#[test]
fn the_table_of_the_docs_is_the_table_of_the_code() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/security.md"),
    )
    .expect("docs/security.md");
    let documented: Vec<(String, String)> = doc
        .lines()
        .skip_while(|line| !line.starts_with("| method | who may call |"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| {
            let mut cells = line.split('|').map(str::trim).skip(1);
            let path = cells.next()?.trim_matches('`').to_owned();
            Some((path, cells.next()?.to_owned()))
        })
        .collect();
    let coded: Vec<(String, String)> = RULES
        .iter()
        .map(|(path, rule)| ((*path).to_owned(), rule.describe()))
        .collect();
    assert_eq!(documented, coded);
}

/// A service that starts while identity is down has no keys to check tokens with: a valid
/// token is then `UNAVAILABLE` (the shopper's session is not over, identity is away), not
/// `UNAUTHENTICATED`; once identity is back the same token goes through, and a token signed
/// by a key identity does not list is `UNAUTHENTICATED` again.
#[tokio::test]
async fn without_identitys_keys_a_valid_token_is_unavailable_not_unauthenticated() {
    use bazaar_contract::cart::v1::GetCartRequest;
    use bazaar_contract::cart::v1::cart_service_client::CartServiceClient;

    let shop = Shop::builder("keys unavailable")
        .start()
        .await
        .expect("a shop on SQLite always starts");
    let guest = buyer::guest(&shop).await;
    shop.stop("identity").await;
    shop.stop("cart").await;
    shop.restart("cart").await;

    let get_cart = async |token: &Token| {
        CartServiceClient::new(shop.channel("cart"))
            .get_cart(token.request(GetCartRequest {}))
            .await
    };
    let status = get_cart(&guest)
        .await
        .expect_err("cart cannot check the token yet");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status.metadata().get("grpc-retry-pushback-ms").is_some(),
        "nothing was done: the caller may retry ({status:?})"
    );

    shop.restart("identity").await;
    let through = chassis::testing::eventually(Duration::from_secs(30), async || {
        get_cart(&guest).await.is_ok()
    })
    .await;
    assert!(
        through,
        "the guest's token never went through once identity was back"
    );

    let issuer = chassis::testing::TestIssuer::new();
    let stranger = Token(issuer.token(&issuer.claims("u-stranger")));
    let status = get_cart(&stranger)
        .await
        .expect_err("a key identity does not list");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    shop.shutdown().await;
}
