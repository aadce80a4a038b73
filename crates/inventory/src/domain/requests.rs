//! Restock and ReserveStock requests, parsed once with every bad field named, and their
//! fingerprints (what makes a retry with the same request id "the same call").

use chassis::error::{AtField, FieldViolation, Violations};

use super::{
    DEFAULT_TTL_MS, MAX_LINES, MAX_REFERENCE_CHARS, MAX_RESERVE_QUANTITY, MAX_RESTOCK_QUANTITY,
    MAX_TTL_MS, MIN_TTL_MS, ProductId, RequestId, digest,
};

/// One product and how many units of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub product_id: ProductId,
    /// Units, 1..=10,000 when reserved.
    pub quantity: i64,
}

/// A valid ReserveStock request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReserveRequest {
    /// The idempotency key.
    pub request_id: RequestId,
    /// The lines, in the request's order, each product once.
    pub lines: Vec<Line>,
    /// How long the units are held, in milliseconds.
    pub ttl_ms: i64,
    /// The caller's reference, 0..=64 characters.
    pub reference: String,
}

/// A ttl as the request gives it: `google.protobuf.Duration` seconds and nanos.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TtlField {
    /// Whole seconds.
    pub seconds: i64,
    /// Nanoseconds, same sign as `seconds`, below one second.
    pub nanos: i32,
}

impl ReserveRequest {
    /// Parses a request; every bad field is reported.
    pub fn parse(
        request_id: &str,
        lines: &[(String, i32)],
        ttl: Option<TtlField>,
        reference: &str,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Violations::new();
        let request_id = violations.check(RequestId::parse(request_id).at("request_id"));
        let mut parsed = Vec::with_capacity(lines.len().min(MAX_LINES));
        if lines.is_empty() || lines.len() > MAX_LINES {
            violations.add(FieldViolation::new(
                "lines",
                format!("must have 1..={MAX_LINES} lines"),
            ));
        } else {
            let mut seen = std::collections::HashSet::new();
            for (i, (product_id, quantity)) in lines.iter().enumerate() {
                let field = format!("lines[{i}].product_id");
                match ProductId::parse(product_id).at(&field) {
                    Ok(id) if !seen.insert(id.clone()) => violations.add(FieldViolation::new(
                        field,
                        "lists a product already listed in an earlier line",
                    )),
                    Ok(id) => {
                        if (1..=MAX_RESERVE_QUANTITY).contains(quantity) {
                            parsed.push(Line {
                                product_id: id,
                                quantity: i64::from(*quantity),
                            });
                        }
                    }
                    Err(violation) => violations.add(violation),
                }
                if !(1..=MAX_RESERVE_QUANTITY).contains(quantity) {
                    violations.add(FieldViolation::new(
                        format!("lines[{i}].quantity"),
                        format!("must be 1..={MAX_RESERVE_QUANTITY}"),
                    ));
                }
            }
        }
        let ttl_ms = violations.check(parse_ttl(ttl));
        if reference.chars().count() > MAX_REFERENCE_CHARS {
            violations.add(FieldViolation::new(
                "reference",
                format!("must be at most {MAX_REFERENCE_CHARS} characters"),
            ));
        }
        violations.finish(|| {
            Some(Self {
                request_id: request_id?,
                lines: parsed,
                ttl_ms: ttl_ms?,
                reference: reference.to_owned(),
            })
        })
    }

    /// A digest of everything but the request id: two requests with the same id must have
    /// the same fingerprint, or the second is a reuse of the id.
    pub fn fingerprint(&self) -> String {
        let mut text = format!(
            "reserve\nttl_ms={}\nreference={}:{}\n",
            self.ttl_ms,
            self.reference.len(),
            self.reference
        );
        for line in &self.lines {
            text.push_str(&format!("{}={}\n", line.product_id.as_str(), line.quantity));
        }
        digest(&text)
    }
}

fn parse_ttl(ttl: Option<TtlField>) -> Result<i64, FieldViolation> {
    let ttl = ttl.unwrap_or_default();
    if ttl.seconds == 0 && ttl.nanos == 0 {
        return Ok(DEFAULT_TTL_MS);
    }
    let out_of_bounds = || FieldViolation::new("ttl", "must be unset, zero, or 1s..=3600s");
    let nanos = i64::from(ttl.nanos);
    let consistent = nanos.abs() < 1_000_000_000
        && !(ttl.seconds > 0 && nanos < 0)
        && !(ttl.seconds < 0 && nanos > 0);
    if !consistent {
        return Err(out_of_bounds());
    }
    let total_nanos = i128::from(ttl.seconds) * 1_000_000_000 + i128::from(nanos);
    let bounds = i128::from(MIN_TTL_MS) * 1_000_000..=i128::from(MAX_TTL_MS) * 1_000_000;
    if !bounds.contains(&total_nanos) {
        return Err(out_of_bounds());
    }
    // Within 1 s..=1 h, so it fits easily.
    Ok((total_nanos / 1_000_000) as i64)
}

/// A valid Restock request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestockRequest {
    /// The idempotency key.
    pub request_id: RequestId,
    /// The product received.
    pub product_id: ProductId,
    /// Units received, 1..=1,000,000.
    pub quantity: i64,
}

impl RestockRequest {
    /// Parses a request; every bad field is reported.
    pub fn parse(
        request_id: &str,
        product_id: &str,
        quantity: i32,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Violations::new();
        let request_id = violations.check(RequestId::parse(request_id).at("request_id"));
        let product_id = violations.check(ProductId::parse(product_id).at("product_id"));
        if !(1..=MAX_RESTOCK_QUANTITY).contains(&quantity) {
            violations.add(FieldViolation::new(
                "quantity",
                format!("must be 1..={MAX_RESTOCK_QUANTITY}"),
            ));
        }
        violations.finish(|| {
            Some(Self {
                request_id: request_id?,
                product_id: product_id?,
                quantity: i64::from(quantity),
            })
        })
    }

    /// A digest of everything but the request id.
    pub fn fingerprint(&self) -> String {
        digest(&format!(
            "restock\n{}={}\n",
            self.product_id.as_str(),
            self.quantity
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(items: &[(&str, i32)]) -> Vec<(String, i32)> {
        items.iter().map(|(p, q)| ((*p).to_owned(), *q)).collect()
    }

    fn fields(violations: Vec<FieldViolation>) -> Vec<String> {
        violations.into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn a_good_reservation_parses_with_the_default_ttl() {
        let request =
            ReserveRequest::parse("r1", &lines(&[("b", 2), ("a", 1)]), None, "order-7").unwrap();
        assert_eq!(request.ttl_ms, DEFAULT_TTL_MS);
        assert_eq!(request.lines[0].product_id.as_str(), "b");
        let zero = Some(TtlField::default());
        assert_eq!(
            ReserveRequest::parse("r1", &lines(&[("a", 1)]), zero, "")
                .unwrap()
                .ttl_ms,
            DEFAULT_TTL_MS
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let violations = ReserveRequest::parse(
            "bad id",
            &lines(&[("a", 0), ("B", 1), ("a", 10_001), ("c", -1)]),
            Some(TtlField {
                seconds: 3601,
                nanos: 0,
            }),
            &"r".repeat(65),
        )
        .unwrap_err();
        assert_eq!(
            fields(violations),
            [
                "request_id",
                "lines[0].quantity",
                "lines[1].product_id",
                "lines[2].product_id",
                "lines[2].quantity",
                "lines[3].quantity",
                "ttl",
                "reference"
            ]
        );
        let too_many: Vec<(String, i32)> = (0..101).map(|i| (format!("p{i}"), 1)).collect();
        assert_eq!(
            fields(ReserveRequest::parse("r", &too_many, None, "").unwrap_err()),
            ["lines"]
        );
        assert_eq!(
            fields(ReserveRequest::parse("r", &[], None, "").unwrap_err()),
            ["lines"]
        );
    }

    #[test]
    fn ttl_bounds() {
        let ttl = |seconds, nanos| parse_ttl(Some(TtlField { seconds, nanos }));
        assert_eq!(ttl(1, 0), Ok(1000));
        assert_eq!(ttl(3600, 0), Ok(MAX_TTL_MS));
        assert_eq!(ttl(0, 999_999_999).map_err(|v| v.field), Err("ttl".into()));
        assert!(ttl(3600, 1).is_err());
        assert!(ttl(-5, 0).is_err());
        assert!(ttl(2, -1).is_err());
        assert!(ttl(1, 1_000_000_000).is_err());
        assert_eq!(ttl(1, 500_000_000), Ok(1500));
    }

    #[test]
    fn fingerprints_cover_every_parameter_but_the_id() {
        let base = ReserveRequest::parse("r1", &lines(&[("a", 1)]), None, "x").unwrap();
        let same = ReserveRequest::parse("r2", &lines(&[("a", 1)]), None, "x").unwrap();
        assert_eq!(base.fingerprint(), same.fingerprint());
        for other in [
            ReserveRequest::parse("r1", &lines(&[("a", 2)]), None, "x"),
            ReserveRequest::parse("r1", &lines(&[("b", 1)]), None, "x"),
            ReserveRequest::parse("r1", &lines(&[("a", 1)]), None, "y"),
            ReserveRequest::parse(
                "r1",
                &lines(&[("a", 1)]),
                Some(TtlField {
                    seconds: 60,
                    nanos: 0,
                }),
                "x",
            ),
        ] {
            assert_ne!(base.fingerprint(), other.unwrap().fingerprint());
        }
        let restock = RestockRequest::parse("r1", "a", 5).unwrap();
        assert_ne!(
            restock.fingerprint(),
            RestockRequest::parse("r1", "a", 6).unwrap().fingerprint()
        );
    }

    #[test]
    fn restock_fields() {
        let violations = RestockRequest::parse("", "NO", 0).unwrap_err();
        assert_eq!(fields(violations), ["request_id", "product_id", "quantity"]);
        assert!(RestockRequest::parse("r", "a", 1_000_001).is_err());
        assert!(RestockRequest::parse("r", "a", 1_000_000).is_ok());
    }
}
