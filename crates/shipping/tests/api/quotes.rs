//! GetQuote: the contract's formula, and bad addresses and items named by field.

use bazaar_contract::shipping::v1::*;
use bazaar_contract::types::v1::Address;
use chassis::testing::assert_invalid;

use crate::support::*;

pub(crate) async fn quotes_follow_the_formula(running: &Running) {
    let mut client = running.client.clone();
    for (country, quantities, cost, days) in [
        // The contract's examples.
        ("US", vec![2], usd(6, 970_000_000), 3),
        ("DE", vec![12], usd(10, 0), 7),
        // Domestic: 4.99 + 0.99 × n, free from 10 units.
        ("US", vec![1], usd(5, 980_000_000), 3),
        ("US", vec![4, 5], usd(13, 900_000_000), 3),
        ("US", vec![5, 5], usd(0, 0), 3),
        ("US", vec![99; 100], usd(0, 0), 3),
        // International: the same plus 10.00, never waived.
        ("DE", vec![2], usd(16, 970_000_000), 7),
        ("JP", vec![9], usd(23, 900_000_000), 7),
        ("CA", vec![3, 7], usd(10, 0), 7),
    ] {
        let got = quote(&mut client, Some(address(country)), items(&quantities))
            .await
            .unwrap();
        assert_eq!(got.cost, Some(cost.clone()), "{country} {quantities:?}");
        assert_eq!(
            got.estimated_delivery_days, days,
            "{country} {quantities:?}"
        );
    }
    // A product may appear more than once: its quantities add up.
    let repeated = vec![
        ShipmentItem {
            product_id: "lamp".to_owned(),
            quantity: 5,
        },
        ShipmentItem {
            product_id: "lamp".to_owned(),
            quantity: 5,
        },
    ];
    let got = quote(&mut client, Some(address("US")), repeated)
        .await
        .unwrap();
    assert_eq!(got.cost, Some(usd(0, 0)));
    // White space around fields does not matter; the same input, the same quote.
    let mut spaced = address(" US ");
    spaced.city = "  London ".to_owned();
    let a = quote(&mut client, Some(spaced), items(&[2])).await.unwrap();
    let b = quote(&mut client, Some(address("US")), items(&[2]))
        .await
        .unwrap();
    assert_eq!(a, b);
}

pub(crate) async fn bad_quote_input_names_its_field(running: &Running) {
    let mut client = running.client.clone();
    type Change = fn(&mut Address);
    let cases: Vec<(Change, &[&str])> = vec![
        (
            |a| a.recipient_name = String::new(),
            &["address.recipient_name"],
        ),
        (
            |a| a.recipient_name = "   ".to_owned(),
            &["address.recipient_name"],
        ),
        (
            |a| a.recipient_name = "r".repeat(101),
            &["address.recipient_name"],
        ),
        (|a| a.street_lines.clear(), &["address.street_lines"]),
        (
            |a| a.street_lines = vec!["s".to_owned(); 4],
            &["address.street_lines"],
        ),
        (
            |a| a.street_lines[1] = " ".to_owned(),
            &["address.street_lines[1]"],
        ),
        (
            |a| a.street_lines[0] = "s".repeat(101),
            &["address.street_lines[0]"],
        ),
        (|a| a.city = String::new(), &["address.city"]),
        (|a| a.city = "c".repeat(101), &["address.city"]),
        (|a| a.region = "r".repeat(101), &["address.region"]),
        (|a| a.postal_code = "9".repeat(21), &["address.postal_code"]),
        (
            |a| a.country_code = String::new(),
            &["address.country_code"],
        ),
        (
            |a| a.country_code = "us".to_owned(),
            &["address.country_code"],
        ),
        (
            |a| a.country_code = "USA".to_owned(),
            &["address.country_code"],
        ),
        (
            |a| a.country_code = "U1".to_owned(),
            &["address.country_code"],
        ),
        (
            |a| {
                a.recipient_name = String::new();
                a.street_lines = vec!["ok".to_owned(), String::new()];
                a.country_code = "x".to_owned();
            },
            &[
                "address.recipient_name",
                "address.street_lines[1]",
                "address.country_code",
            ],
        ),
    ];
    for (change, fields) in cases {
        let mut bad = address("US");
        change(&mut bad);
        assert_invalid(quote(&mut client, Some(bad), items(&[1])).await, fields);
    }
    // Limits are in characters, not bytes.
    let mut wide = address("US");
    wide.recipient_name = "é".repeat(100);
    wide.postal_code = "é".repeat(20);
    quote(&mut client, Some(wide), items(&[1])).await.unwrap();
    assert_invalid(quote(&mut client, None, items(&[1])).await, &["address"]);

    let item = |product_id: &str, quantity: i32| ShipmentItem {
        product_id: product_id.to_owned(),
        quantity,
    };
    let item_cases: Vec<(Vec<ShipmentItem>, &[&str])> = vec![
        (vec![], &["items"]),
        (vec![item("lamp", 1); 101], &["items"]),
        (
            vec![item("lamp", 1), item("lamp", 0)],
            &["items[1].quantity"],
        ),
        (vec![item("lamp", 100)], &["items[0].quantity"]),
        (vec![item("lamp", -3)], &["items[0].quantity"]),
        (vec![item("", 1)], &["items[0].product_id"]),
        (vec![item("Lamp", 1)], &["items[0].product_id"]),
        (vec![item("-lamp", 1)], &["items[0].product_id"]),
        (vec![item("brass_lamp", 1)], &["items[0].product_id"]),
        (vec![item(&"a".repeat(64), 1)], &["items[0].product_id"]),
        (
            vec![item("ok", 1), item("NOT OK", 0)],
            &["items[1].product_id", "items[1].quantity"],
        ),
    ];
    for (bad, fields) in item_cases {
        assert_invalid(quote(&mut client, Some(address("US")), bad).await, fields);
    }
    quote(
        &mut client,
        Some(address("US")),
        vec![item("lamp", 99); 100],
    )
    .await
    .unwrap();
    // Address and items are reported together.
    assert_invalid(
        quote(&mut client, None, vec![]).await,
        &["address", "items"],
    );
}
