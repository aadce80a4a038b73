//! The words of an order confirmation, as plain text and as HTML.
//!
//! Both say the same: the order, each line with its quantity, unit price and line total, the
//! subtotal, shipping and total, the tracking id and the shipping address. Everything that
//! comes from the order (names, ids, the address) is escaped in the HTML, so a product named
//! `<script>` is shown, never run.

use std::fmt::Write;

use bazaar_contract::values::Money;

use crate::domain::Confirmation;

/// Shown where the event carries no valid amount.
const UNKNOWN: &str = "n/a";

fn money(amount: Option<&Money>) -> String {
    amount.map_or_else(|| UNKNOWN.to_owned(), Money::to_string)
}

fn delivery(days: i32) -> Option<String> {
    match days {
        1 => Some("Estimated delivery: 1 day".to_owned()),
        d if d > 1 => Some(format!("Estimated delivery: {d} days")),
        _ => None,
    }
}

/// The `text/plain` body. `writeln!` into a `String` cannot fail.
pub fn text(confirmation: &Confirmation) -> String {
    let mut out = String::new();
    let c = confirmation;
    let _ = writeln!(out, "Thank you for your order!");
    let _ = writeln!(out);
    let _ = writeln!(out, "Order: {}", c.order_id);
    if !c.tracking_id.is_empty() {
        let _ = writeln!(out, "Tracking id: {}", c.tracking_id);
    }
    if let Some(line) = delivery(c.estimated_delivery_days) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out);
    for line in &c.lines {
        let _ = writeln!(
            out,
            "{} x {} ({}) at {} each: {}",
            line.quantity,
            line.name,
            line.product_id,
            money(line.unit_price.as_ref()),
            money(line.total().as_ref())
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Subtotal: {}", money(c.subtotal.as_ref()));
    let _ = writeln!(out, "Shipping: {}", money(c.shipping.as_ref()));
    let _ = writeln!(out, "Total: {}", money(c.total.as_ref()));
    if !c.address.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Shipping to:");
        for line in &c.address {
            let _ = writeln!(out, "  {line}");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "bazaar");
    out
}

/// The `text/html` body.
pub fn html(confirmation: &Confirmation) -> String {
    let c = confirmation;
    let mut out = String::new();
    let _ = writeln!(out, "<!DOCTYPE html>");
    let _ = writeln!(out, "<html><head><meta charset=\"utf-8\">");
    let _ = writeln!(
        out,
        "<title>{}</title></head><body>",
        escape(crate::domain::CONFIRMATION_SUBJECT)
    );
    let _ = writeln!(out, "<h1>Thank you for your order!</h1>");
    let _ = writeln!(out, "<p>Order: <code>{}</code>", escape(&c.order_id));
    if !c.tracking_id.is_empty() {
        let _ = write!(
            out,
            "<br>Tracking id: <code>{}</code>",
            escape(&c.tracking_id)
        );
    }
    if let Some(line) = delivery(c.estimated_delivery_days) {
        let _ = write!(out, "<br>{}", escape(&line));
    }
    let _ = writeln!(out, "</p>");
    let _ = writeln!(
        out,
        "<table><thead><tr><th>Product</th><th>Quantity</th><th>Unit price</th>\
         <th>Amount</th></tr></thead><tbody>"
    );
    for line in &c.lines {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&line.name),
            line.quantity,
            escape(&money(line.unit_price.as_ref())),
            escape(&money(line.total().as_ref()))
        );
    }
    let _ = writeln!(out, "</tbody><tfoot>");
    for (label, amount) in [
        ("Subtotal", &c.subtotal),
        ("Shipping", &c.shipping),
        ("Total", &c.total),
    ] {
        let _ = writeln!(
            out,
            "<tr><th colspan=\"3\">{label}</th><td>{}</td></tr>",
            escape(&money(amount.as_ref()))
        );
    }
    let _ = writeln!(out, "</tfoot></table>");
    if !c.address.is_empty() {
        let lines: Vec<String> = c.address.iter().map(|l| escape(l)).collect();
        let _ = writeln!(out, "<p>Shipping to:<br>{}</p>", lines.join("<br>"));
    }
    let _ = writeln!(out, "<p>bazaar</p></body></html>");
    out
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EmailAddress, Line};
    use bazaar_contract::values::CurrencyCode;

    fn usd(units: i64, nanos: i32) -> Option<Money> {
        Money::new(CurrencyCode::USD, units, nanos).ok()
    }

    fn confirmation() -> Confirmation {
        Confirmation {
            event_id: "e1".to_owned(),
            order_id: "o-1".to_owned(),
            user_id: "u-1".to_owned(),
            recipient: EmailAddress::parse("ada@example.com").unwrap(),
            lines: vec![Line {
                product_id: "evil".to_owned(),
                name: "<script>alert('x')</script> & co".to_owned(),
                quantity: 2,
                unit_price: usd(10, 500_000_000),
            }],
            subtotal: usd(21, 0),
            shipping: usd(5, 0),
            total: usd(26, 0),
            tracking_id: "TRK-42".to_owned(),
            address: vec!["Ada".to_owned(), "1 Main St".to_owned()],
            estimated_delivery_days: 3,
        }
    }

    #[test]
    fn text_lists_everything() {
        let text = text(&confirmation());
        assert!(
            text.contains(
                "2 x <script>alert('x')</script> & co (evil) at USD 10.50 each: USD 21.00"
            )
        );
        assert!(text.contains("Total: USD 26.00"));
        assert!(text.contains("Tracking id: TRK-42"));
        assert!(text.contains("  1 Main St"));
        assert!(text.contains("3 days"));
    }

    #[test]
    fn html_escapes_what_the_order_says() {
        let html = html(&confirmation());
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"));
        assert!(html.contains("USD 26.00"));
        assert!(html.contains("TRK-42"));
    }

    #[test]
    fn missing_amounts_are_marked() {
        let mut c = confirmation();
        c.total = None;
        assert!(text(&c).contains("Total: n/a"));
    }
}
