//! The JSON API: a purchase, its errors, and the OpenAPI document kept true both ways (every
//! route is documented, every documented path is served, and responses match their
//! schemas).

use std::collections::BTreeSet;

use bazaar_testkit::buyer::GOOD_CARD;
use hyper::Method;
use serde_json::{Value, json};

use crate::common::Storefront;

fn openapi() -> Value {
    serde_json::from_str(gateway::api::OPENAPI).expect("openapi.json is JSON")
}

/// Checks `value` against `schema` (the subset of JSON Schema the document uses: type,
/// properties, required, items, enum, allOf, $ref); returns what does not match.
fn mismatches(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return mismatches(doc, &doc["components"]["schemas"][name], value, at);
    }
    let mut found = Vec::new();
    if let Some(all) = schema["allOf"].as_array() {
        for part in all {
            found.extend(mismatches(doc, part, value, at));
        }
        return found;
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let fits = |t: &str| match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    };
    if !types.is_empty() && !types.iter().any(|t| fits(t)) {
        found.push(format!("{at}: {value} is not {types:?}"));
        return found;
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        found.push(format!("{at}: {value} is not one of {options:?}"));
    }
    if let Some(required) = schema["required"].as_array() {
        for name in required.iter().filter_map(Value::as_str) {
            if value.get(name).is_none() {
                found.push(format!("{at}.{name}: missing"));
            }
        }
    }
    if let (Some(properties), Some(object)) = (schema["properties"].as_object(), value.as_object())
    {
        for (name, property) in properties {
            if let Some(inner) = object.get(name) {
                found.extend(mismatches(doc, property, inner, &format!("{at}.{name}")));
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            found.extend(mismatches(doc, items, item, &format!("{at}[{i}]")));
        }
    }
    found
}

/// Asserts that a response matches what the document says of `method path` and its status.
fn assert_documented(doc: &Value, method: &str, path: &str, page: &crate::common::Page) {
    let operation = &doc["paths"][path][method.to_lowercase()];
    assert!(operation.is_object(), "{method} {path} is not documented");
    let status = page.status.as_u16().to_string();
    let response = if operation["responses"][&status].is_object() {
        &operation["responses"][&status]
    } else {
        assert!(
            page.status.as_u16() >= 400,
            "{method} {path}: {status} not documented"
        );
        &operation["responses"]["default"]
    };
    if let Some(schema) = response["content"]["application/json"].get("schema") {
        let problems = mismatches(doc, schema, &page.json(), "$");
        assert!(
            problems.is_empty(),
            "{method} {path} ({status}): {problems:#?}"
        );
    }
}

#[test]
fn every_route_is_documented_and_every_documented_operation_is_routed() {
    let doc = openapi();
    let routed: BTreeSet<(String, String)> = gateway::api::routes()
        .into_iter()
        .map(|(method, path, _)| (method.as_str().to_lowercase(), format!("/api/v1{path}")))
        .collect();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("operations").keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    assert_eq!(routed, documented);
    // Every $ref points at a schema that exists.
    let text = gateway::api::OPENAPI;
    for piece in text.split("\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{name} is not defined"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_through_the_api_matches_the_document() {
    let store = Storefront::start("gateway_api_purchase").await;
    let doc = openapi();
    let mut client = store.browser();

    let served = client
        .api(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(served.json(), doc, "the served document is the checked one");

    let page = client
        .api(
            Method::GET,
            "/api/v1/products?page_size=3&currency=EUR",
            None,
            None,
        )
        .await;
    assert_eq!(page.status, 200);
    assert_documented(&doc, "GET", "/api/v1/products", &page);
    assert_eq!(page.json()["products"].as_array().unwrap().len(), 3);
    assert_eq!(page.json()["products"][0]["price"]["currency_code"], "EUR");
    for (path, template) in [
        (
            "/api/v1/products/brass-desk-lamp",
            "/api/v1/products/{product_id}",
        ),
        ("/api/v1/search?q=lamp", "/api/v1/search"),
        ("/api/v1/categories", "/api/v1/categories"),
        (
            "/api/v1/recommendations?product_ids=brass-desk-lamp",
            "/api/v1/recommendations",
        ),
        ("/api/v1/currencies", "/api/v1/currencies"),
        ("/api/v1/status", "/api/v1/status"),
    ] {
        let answer = client.api(Method::GET, path, None, None).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        assert_documented(&doc, "GET", template, &answer);
    }

    let guest = client
        .api(Method::POST, "/api/v1/session/guest", None, None)
        .await;
    assert_eq!(guest.status, 201);
    assert_documented(&doc, "POST", "/api/v1/session/guest", &guest);
    let token = guest.json()["access_token"].as_str().unwrap().to_owned();

    let unauthenticated = client.api(Method::GET, "/api/v1/cart", None, None).await;
    assert_eq!(unauthenticated.status, 401);
    assert_documented(&doc, "GET", "/api/v1/cart", &unauthenticated);
    assert_eq!(unauthenticated.json()["error"]["code"], "UNAUTHENTICATED");

    let add = |product: &str, quantity: i64| json!({"product_id": product, "quantity": quantity});
    let added = client
        .api(
            Method::POST,
            "/api/v1/cart/items",
            Some(&token),
            Some(add("brass-desk-lamp", 1)),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_documented(&doc, "POST", "/api/v1/cart/items", &added);
    client
        .api(
            Method::POST,
            "/api/v1/cart/items",
            Some(&token),
            Some(add("ceramic-coffee-mug", 1)),
        )
        .await;
    let too_many = client
        .api(
            Method::POST,
            "/api/v1/cart/items",
            Some(&token),
            Some(add("brass-desk-lamp", 500)),
        )
        .await;
    assert_eq!(too_many.status, 400);
    assert_documented(&doc, "POST", "/api/v1/cart/items", &too_many);
    assert_eq!(too_many.json()["error"]["code"], "INVALID_ARGUMENT");
    assert_eq!(
        too_many.json()["error"]["field_violations"][0]["field"],
        "quantity"
    );
    let not_json = client
        .send(
            Method::POST,
            "/api/v1/cart/items",
            b"{".to_vec(),
            Some("application/json"),
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.json()["error"]["code"], "INVALID_ARGUMENT");

    let set = client
        .api(
            Method::PUT,
            "/api/v1/cart/items/brass-desk-lamp",
            Some(&token),
            Some(json!({"quantity": 2})),
        )
        .await;
    assert_eq!(set.status, 200);
    assert_documented(&doc, "PUT", "/api/v1/cart/items/{product_id}", &set);
    let removed = client
        .api(
            Method::DELETE,
            "/api/v1/cart/items/ceramic-coffee-mug",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(removed.status, 200);
    assert_documented(&doc, "DELETE", "/api/v1/cart/items/{product_id}", &removed);
    assert_eq!(removed.json()["cart"]["item_count"], 2);

    let order = json!({
        "request_id": "gateway-api-order-1",
        "email": "ada@example.com",
        "currency_code": "EUR",
        "shipping_address": {"recipient_name": "Ada Lovelace", "street_lines": ["1 Main St"],
            "city": "Springfield", "postal_code": "12345", "country_code": "US"},
        "card": {"number": GOOD_CARD, "expiry_month": 12, "expiry_year": 2040, "cvv": "123",
            "holder_name": "Ada Lovelace"}
    });
    let placed = client
        .api(Method::POST, "/api/v1/orders", Some(&token), Some(order))
        .await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    assert_documented(&doc, "POST", "/api/v1/orders", &placed);
    assert_eq!(placed.json()["order"]["state"], "placed");
    assert_eq!(placed.json()["order"]["total"]["currency_code"], "EUR");
    let id = placed.json()["order"]["id"].as_str().unwrap().to_owned();

    let got = client
        .api(
            Method::GET,
            &format!("/api/v1/orders/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(got.status, 200);
    assert_documented(&doc, "GET", "/api/v1/orders/{order_id}", &got);
    let listed = client
        .api(Method::GET, "/api/v1/orders", Some(&token), None)
        .await;
    assert_documented(&doc, "GET", "/api/v1/orders", &listed);
    assert_eq!(listed.json()["orders"][0]["id"], id.as_str());

    let other = client
        .api(Method::POST, "/api/v1/session/guest", None, None)
        .await;
    let other = other.json()["access_token"].as_str().unwrap().to_owned();
    let hidden = client
        .api(
            Method::GET,
            &format!("/api/v1/orders/{id}"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(hidden.status, 404, "another caller's order is not found");
    assert_documented(&doc, "GET", "/api/v1/orders/{order_id}", &hidden);

    // Sign up with the guest's token: a new cart of the guest is merged into the account.
    client
        .api(
            Method::POST,
            "/api/v1/cart/items",
            Some(&other),
            Some(add("cast-iron-skillet", 1)),
        )
        .await;
    let credentials = json!({"email": "lin@example.com", "password": "a long enough password"});
    let signed_up = client
        .api(
            Method::POST,
            "/api/v1/session/signup",
            Some(&other),
            Some(credentials.clone()),
        )
        .await;
    assert_eq!(signed_up.status, 201, "{}", signed_up.body);
    assert_documented(&doc, "POST", "/api/v1/session/signup", &signed_up);
    assert_eq!(signed_up.json()["guest_cart_merged"], true);
    let user = signed_up.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh = signed_up.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let cart = client
        .api(Method::GET, "/api/v1/cart", Some(&user), None)
        .await;
    assert_eq!(cart.json()["cart"]["item_count"], 1);
    let again = client
        .api(
            Method::POST,
            "/api/v1/session/signup",
            None,
            Some(credentials.clone()),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.json()["error"]["reason"], "EMAIL_TAKEN");
    let logged_in = client
        .api(
            Method::POST,
            "/api/v1/session/login",
            None,
            Some(credentials),
        )
        .await;
    assert_eq!(logged_in.status, 200);
    assert_documented(&doc, "POST", "/api/v1/session/login", &logged_in);
    let renewed = client
        .api(
            Method::POST,
            "/api/v1/session/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(renewed.status, 200);
    assert_documented(&doc, "POST", "/api/v1/session/refresh", &renewed);
    let out = client
        .api(Method::POST, "/api/v1/session/logout", Some(&user), None)
        .await;
    assert_eq!(out.status, 204);

    let unknown = client
        .api(Method::GET, "/api/v1/products/no-such-product", None, None)
        .await;
    assert_eq!(unknown.status, 404);
    assert_documented(&doc, "GET", "/api/v1/products/{product_id}", &unknown);
    let nowhere = client.api(Method::GET, "/api/v1/nowhere", None, None).await;
    assert_eq!(nowhere.status, 404);
    assert_eq!(nowhere.json()["error"]["code"], "NOT_FOUND");
    store.stop().await;
}
