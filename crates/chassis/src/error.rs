//! Rich gRPC errors, built the same way by every service.
//!
//! Each service keeps one error enum and maps it to a [`Status`] with these constructors, so
//! a client always finds the same details in the same places: `google.rpc.BadRequest` field
//! violations for input it can fix, `google.rpc.ResourceInfo` for what was not found, and
//! `google.rpc.ErrorInfo` (domain `bazaar.<service>`) for a machine-readable reason.
//!
//! A value of the contract that does not parse (`bazaar_contract::values`) says what is
//! wrong but not where; [`AtField::at`] adds the request field's path, so a service turns it
//! into a field violation in one call: `RequestId::parse(&text).at("request_id")?`.
//!
//! A request with several fields is parsed whole before it is refused: [`Violations`]
//! gathers what each field's parse found wrong, so one `INVALID_ARGUMENT` names every bad
//! field, and a repeated field gets one violation per bad entry ([`parse_each`],
//! [`parse_batch`]).

use std::collections::HashMap;

use bazaar_contract::values::ValueError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetail, ErrorDetails, ResourceInfo, StatusExt};

/// One field of a request that is not acceptable, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field's path in the request, as in the proto (`price.nanos`, `lines[2].quantity`).
    pub field: String,
    /// What is wrong with it, for the person who wrote the call.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

impl FieldViolation {
    /// The violation of a contract value found at `field` of a request: the path is
    /// `field` joined with the value's sub-field at fault (`amount` + `nanos`).
    pub fn of_value(field: &str, error: &ValueError) -> Self {
        Self {
            field: error.path(field),
            description: error.description().to_owned(),
        }
    }
}

/// Where a parsed value came from: turns a value's parse errors into field violations of
/// the request field `field`.
pub trait AtField {
    /// The result with field violations.
    type Output;

    /// The result, its errors placed at `field` of the request.
    fn at(self, field: &str) -> Self::Output;
}

impl<T> AtField for Result<T, ValueError> {
    type Output = Result<T, FieldViolation>;

    fn at(self, field: &str) -> Self::Output {
        self.map_err(|error| FieldViolation::of_value(field, &error))
    }
}

impl<T> AtField for Result<T, Vec<ValueError>> {
    type Output = Result<T, Vec<FieldViolation>>;

    fn at(self, field: &str) -> Self::Output {
        self.map_err(|errors| {
            errors
                .iter()
                .map(|error| FieldViolation::of_value(field, error))
                .collect()
        })
    }
}

impl From<FieldViolation> for Vec<FieldViolation> {
    fn from(violation: FieldViolation) -> Self {
        vec![violation]
    }
}

/// The field violations of one request, gathered while its fields are parsed one after the
/// other, so that the caller hears of every bad field in one answer.
///
/// Each field's parse goes through [`Violations::check`], which keeps the value or records
/// why there is none; [`Violations::finish`] then hands out the values, or every violation.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// No violation yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation found outside a parse (a rule across several fields).
    pub fn add(&mut self, violation: FieldViolation) {
        self.0.push(violation);
    }

    /// The parsed value, or `None` with its violations recorded: one for a plain field,
    /// several for a message such as an address.
    pub fn check<T, E: Into<Vec<FieldViolation>>>(&mut self, parsed: Result<T, E>) -> Option<T> {
        parsed.map_err(|error| self.0.extend(error.into())).ok()
    }

    /// Whether nothing was found wrong so far.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The end of the parse: what `values` makes of the parsed fields when nothing was
    /// wrong, or every violation recorded. `values` is only called when no violation was
    /// recorded, so every `check` before it returned `Some`.
    pub fn finish<T>(self, values: impl FnOnce() -> Option<T>) -> Result<T, Vec<FieldViolation>> {
        if self.0.is_empty() {
            values().ok_or(self.0)
        } else {
            Err(self.0)
        }
    }
}

/// Parses every entry of the repeated field `field` with `parse`: all the values, in order,
/// or one violation per bad entry, placed at its index (`product_ids[2]`).
pub fn parse_each<T>(
    field: &str,
    entries: &[String],
    parse: impl Fn(&str) -> Result<T, ValueError>,
) -> Result<Vec<T>, Vec<FieldViolation>> {
    let mut violations = Violations::new();
    let values: Vec<Option<T>> = entries
        .iter()
        .enumerate()
        .map(|(i, entry)| violations.check(parse(entry).at(&format!("{field}[{i}]"))))
        .collect();
    violations.finish(|| values.into_iter().collect())
}

/// The ids of a BatchGet call in the repeated field `field`: at most `max` of them (one
/// violation of the whole field otherwise), each parsed as [`parse_each`] does.
pub fn parse_batch<T>(
    field: &str,
    entries: &[String],
    max: usize,
    parse: impl Fn(&str) -> Result<T, ValueError>,
) -> Result<Vec<T>, Vec<FieldViolation>> {
    if entries.len() > max {
        return Err(vec![FieldViolation::new(
            field,
            format!("at most {max} ids per call"),
        )]);
    }
    parse_each(field, entries, parse)
}

impl std::fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

impl std::error::Error for FieldViolation {}

/// The most field violations an `INVALID_ARGUMENT` carries in its `BadRequest` detail.
pub const MAX_REPORTED_VIOLATIONS: usize = 20;
/// The most field violations its message spells out.
pub const MAX_VIOLATIONS_IN_MESSAGE: usize = 4;

/// `INVALID_ARGUMENT` with a `BadRequest` detail that names every offending field, up to
/// [`MAX_REPORTED_VIOLATIONS`]; the message spells out the first
/// [`MAX_VIOLATIONS_IN_MESSAGE`] and says how many more there are.
///
/// The status travels in HTTP/2 headers, which clients cap (16 KiB in hyper and tonic,
/// 8 KiB in some others), and the detail repeats the message: a request with a hundred bad
/// lines would otherwise get an answer its client cannot read, the call broken instead of
/// refused. A client fixes the fields named and is told about the next ones after.
pub fn invalid_argument(violations: impl IntoIterator<Item = FieldViolation>) -> Status {
    let mut details = ErrorDetails::new();
    let mut fields = Vec::new();
    let mut count = 0;
    for violation in violations {
        count += 1;
        if fields.len() < MAX_VIOLATIONS_IN_MESSAGE {
            fields.push(format!("{}: {}", violation.field, violation.description));
        }
        if count <= MAX_REPORTED_VIOLATIONS {
            details.add_bad_request_violation(violation.field, violation.description);
        }
    }
    let message = match count.saturating_sub(fields.len()) {
        _ if fields.is_empty() => "invalid request".to_owned(),
        0 => format!("invalid request: {}", fields.join("; ")),
        more => format!(
            "invalid request: {}; and {more} more field violations",
            fields.join("; ")
        ),
    };
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// The most characters of a name a caller sent that a status repeats back.
///
/// gRPC carries the status message and its details in HTTP/2 headers, which clients limit
/// (16 KiB by default in hyper, and so in tonic; 8 KiB in some others); a status over the
/// limit breaks the call and, in hyper, the connection under it. An id that any service
/// made is at most 64 characters, so a longer name is echoed cut short.
pub const MAX_ECHOED_CHARS: usize = 128;

/// `name`, cut to [`MAX_ECHOED_CHARS`] characters (with "…" at the end when cut).
fn echoed(name: &str) -> std::borrow::Cow<'_, str> {
    match name.char_indices().nth(MAX_ECHOED_CHARS) {
        None => name.into(),
        Some((end, _)) => format!("{}…", &name[..end]).into(),
    }
}

/// `NOT_FOUND` with a `ResourceInfo` detail naming the resource (a name longer than
/// [`MAX_ECHOED_CHARS`], which names nothing any service made, is cut short).
pub fn not_found(resource_type: &str, resource_name: &str) -> Status {
    let resource_name = echoed(resource_name);
    let details = ErrorDetails::with_resource_info(resource_type, &*resource_name, "", "not found");
    Status::with_error_details(
        Code::NotFound,
        format!("{resource_type} {resource_name:?} not found"),
        details,
    )
}

/// `NOT_FOUND` for several resources at once: the message lists them all and there is one
/// `ResourceInfo` detail per name.
pub fn not_found_many(resource_type: &str, resource_names: &[String]) -> Status {
    let details = resource_names.iter().map(|name| {
        ErrorDetail::ResourceInfo(ResourceInfo::new(resource_type, name, "", "not found"))
    });
    Status::with_error_details_vec(
        Code::NotFound,
        format!("{resource_type} not found: {}", resource_names.join(", ")),
        details,
    )
}

/// The resources a `NOT_FOUND` names in its `ResourceInfo` details, as [`not_found`] and
/// [`not_found_many`] write them: what a caller reads to learn which of its ids are unknown.
pub fn not_found_names(status: &Status) -> Vec<String> {
    status
        .get_error_details_vec()
        .into_iter()
        .filter_map(|detail| match detail {
            ErrorDetail::ResourceInfo(info) => Some(info.resource_name),
            _ => None,
        })
        .collect()
}

/// Any code with an `ErrorInfo` detail: the service's `domain` (`bazaar.identity`), a
/// stable, upper-snake-case `reason` a client can branch on, and metadata that explains it.
pub fn with_reason(
    code: Code,
    domain: &str,
    reason: &str,
    message: impl Into<String>,
    metadata: impl IntoIterator<Item = (String, String)>,
) -> Status {
    let metadata: HashMap<String, String> = metadata.into_iter().collect();
    let details = ErrorDetails::with_error_info(reason, domain, metadata);
    Status::with_error_details(code, message, details)
}

/// The `ErrorInfo` domain of one service (`bazaar.payment`), and the rich errors it gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorDomain(pub &'static str);

impl ErrorDomain {
    /// `code` with an `ErrorInfo` of this domain: a stable `reason` and its metadata.
    pub fn reason<'a>(
        self,
        code: Code,
        reason: &str,
        message: impl Into<String>,
        metadata: impl IntoIterator<Item = (&'a str, String)>,
    ) -> Status {
        with_reason(
            code,
            self.0,
            reason,
            message,
            metadata
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value)),
        )
    }

    /// `ALREADY_EXISTS` `REQUEST_ID_REUSED`: the same `request_id` came with other
    /// parameters, worded the same by every service.
    pub fn request_id_reused<'a>(
        self,
        metadata: impl IntoIterator<Item = (&'a str, String)>,
    ) -> Status {
        self.reason(
            Code::AlreadyExists,
            "REQUEST_ID_REUSED",
            "this request_id was used with different parameters; use a new one",
            metadata,
        )
    }
}

/// `ABORTED` for a call whose `request_id` another call is still working on.
pub fn in_progress() -> Status {
    Status::aborted("a call with this request_id is still in progress; retry it later")
}

/// `RESOURCE_EXHAUSTED` for a caller that must slow down: an `ErrorInfo` with `reason` and a
/// `RetryInfo` saying how long to wait.
pub fn retry_later(
    domain: &str,
    reason: &str,
    message: impl Into<String>,
    retry_after: std::time::Duration,
) -> Status {
    let mut details = ErrorDetails::with_retry_info(Some(retry_after));
    details.set_error_info(reason, domain, HashMap::new());
    Status::with_error_details(Code::ResourceExhausted, message, details)
}

/// `INTERNAL` for a fault of our own. The whole cause chain is logged; the caller gets a
/// short message and nothing of our internals.
pub fn internal(context: &str, error: &(dyn std::error::Error + 'static)) -> Status {
    tracing::error!(error = %chain(error), "{context}");
    Status::internal(format!("{context}: internal error"))
}

/// `UNAVAILABLE` for a fault that a retry may cure (a store that is not reachable yet). The
/// cause chain is logged.
///
/// Except when the store refused the request's own text: PostgreSQL keeps no NUL
/// character (U+0000) in text, and a retry would fail the same way for ever. That is
/// `INVALID_ARGUMENT`, which the caller can fix.
pub fn unavailable(context: &str, error: &(dyn std::error::Error + 'static)) -> Status {
    if refuses_text(error) {
        tracing::info!(error = %chain(error), "{context}: text the store cannot keep");
        return Status::invalid_argument(
            "the request has text with a NUL character (U+0000), which cannot be stored",
        );
    }
    tracing::warn!(error = %chain(error), "{context}");
    Status::unavailable(format!("{context}: temporarily unavailable, retry later"))
}

/// Whether `error`, or one of its sources, is PostgreSQL refusing a character of the text
/// it was given (SQLSTATE 22021, `character_not_in_repertoire`: a NUL in UTF-8 text).
fn refuses_text(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(sqlx::Error::Database(database)) = error.downcast_ref::<sqlx::Error>()
            && database.code().as_deref() == Some("22021")
        {
            return true;
        }
        next = error.source();
    }
    false
}

/// An error and all its sources, as one line.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hundred_bad_fields_still_fit_in_the_headers_clients_accept() {
        let violations = (0..100).map(|n| {
            FieldViolation::new(
                format!("lines[{n}].product_id"),
                "must match ^[a-z0-9][a-z0-9-]{0,62}$ (lower-case letters, digits and \
                 hyphens, starting with a letter or digit, at most 63 characters)",
            )
        });
        let status = invalid_argument(violations);
        assert!(
            status.message().ends_with("; and 96 more field violations"),
            "{}",
            status.message()
        );
        let reported = status
            .get_details_bad_request()
            .expect("a BadRequest")
            .field_violations;
        assert_eq!(reported.len(), MAX_REPORTED_VIOLATIONS);
        assert_eq!(reported[0].field, "lines[0].product_id");
        // What HTTP/2 counts against SETTINGS_MAX_HEADER_LIST_SIZE: name, value, 32 octets.
        let size: usize = status
            .into_http::<tonic::body::Body>()
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 32)
            .sum();
        assert!(size < 8 * 1024, "{size} octets of headers");
    }

    #[test]
    fn invalid_argument_carries_every_field() {
        let status = invalid_argument([
            FieldViolation::new("page_size", "must not be negative"),
            FieldViolation::new("page_token", "is not a token this server issued"),
        ]);
        assert_eq!(status.code(), Code::InvalidArgument);
        let bad_request = status
            .get_details_bad_request()
            .expect("a BadRequest detail");
        let fields: Vec<_> = bad_request
            .field_violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(fields, ["page_size", "page_token"]);
        assert!(status.message().contains("page_size"));
    }

    #[test]
    fn values_are_placed_at_their_request_field() {
        use bazaar_contract::types::v1::Money;
        use bazaar_contract::values::{self, RequestId};

        let violation = RequestId::parse("").at("request_id").unwrap_err();
        assert_eq!(violation, FieldViolation::new("request_id", "is required"));
        let money = Money {
            currency_code: "usd".to_owned(),
            units: 1,
            nanos: -1,
        };
        let fields: Vec<String> = values::Money::parse(&money)
            .at("amount")
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["amount.currency_code", "amount.nanos"]);
    }

    #[test]
    fn violations_are_gathered_from_every_field() {
        use bazaar_contract::types::v1::Money;
        use bazaar_contract::values::{self, RequestId};

        let money = Money {
            currency_code: "usd".to_owned(),
            units: 1,
            nanos: -1,
        };
        let mut violations = Violations::new();
        let request_id = violations.check(RequestId::parse("").at("request_id"));
        let amount = violations.check(values::Money::parse(&money).at("amount"));
        violations.add(FieldViolation::new("order_id", "is required"));
        let fields: Vec<String> = violations
            .finish(|| Some((request_id?, amount?)))
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(
            fields,
            [
                "request_id",
                "amount.currency_code",
                "amount.nanos",
                "order_id"
            ]
        );

        let mut violations = Violations::new();
        let request_id = violations.check(RequestId::parse("r-1").at("request_id"));
        assert!(violations.is_empty());
        assert_eq!(
            violations
                .finish(|| request_id)
                .map(|id| id.as_str().to_owned()),
            Ok("r-1".to_owned())
        );
    }

    #[test]
    fn repeated_fields_name_each_bad_entry() {
        use bazaar_contract::values::Slug;

        let ids = ["mug", "Not A Slug", "tea", ""].map(str::to_owned);
        let fields: Vec<String> = parse_each("product_ids", &ids, Slug::parse)
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["product_ids[1]", "product_ids[3]"]);
        let parsed = parse_each("product_ids", &ids[..1], Slug::parse).expect("a slug");
        assert_eq!(parsed[0].as_str(), "mug");

        let too_many = parse_batch("product_ids", &ids, 3, Slug::parse).unwrap_err();
        assert_eq!(
            too_many,
            [FieldViolation::new("product_ids", "at most 3 ids per call")]
        );
        assert_eq!(
            parse_batch("product_ids", &ids[2..3], 3, Slug::parse)
                .expect("one slug")
                .len(),
            1
        );
    }

    #[test]
    fn not_found_names_the_resource() {
        let status = not_found("bazaar.catalog.v1.Product", "no-such-thing");
        assert_eq!(status.code(), Code::NotFound);
        let info = status
            .get_details_resource_info()
            .expect("a ResourceInfo detail");
        assert_eq!(info.resource_name, "no-such-thing");
        assert_eq!(not_found_names(&status), ["no-such-thing"]);
        let names = ["mug".to_owned(), "tea".to_owned()];
        let status = not_found_many("bazaar.catalog.v1.Product", &names);
        assert_eq!(not_found_names(&status), names);
    }

    #[test]
    fn not_found_repeats_a_long_name_cut_short() {
        // A looked-up id may be any text; repeated whole, 4 097 "é" made headers of
        // 24 KiB that broke the call and the connection under it.
        let long = "é".repeat(4_097);
        let status = not_found("bazaar.shipping.v1.Shipment", &long);
        let cut = format!("{}…", "é".repeat(MAX_ECHOED_CHARS));
        assert_eq!(not_found_names(&status), std::slice::from_ref(&cut));
        assert!(status.message().contains(&cut), "{}", status.message());
        assert!(status.message().chars().count() < 2 * MAX_ECHOED_CHARS);
        let exact = "x".repeat(MAX_ECHOED_CHARS);
        assert_eq!(not_found_names(&not_found("t", &exact)), [exact]);
    }

    #[test]
    fn chain_joins_sources() {
        let error = std::io::Error::other(std::io::Error::other("disk full"));
        assert!(chain(&error).ends_with("disk full"));
    }
}
