//! Checks: one named promise of the contract each, run one after another, each reported
//! the moment it ends.
//!
//! A check is an async block that returns `Ok(())` when the service kept the promise, or a
//! [`Problem`]: either a failure with the reason (what was expected, what came back), or a
//! skip when the check needs something the run was not given (another service's address,
//! an admin). The [`Runner`] bounds every check by a time limit, so a service that never
//! answers fails the check instead of hanging the kit, and hands each [`Outcome`] to an
//! observer as soon as it is known (the binary prints it; tests collect them).

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use tonic::{Code, Response, Status};
use tonic_types::{ErrorDetail, StatusExt};

/// Why a check did not pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The service broke the promise: what was expected and what came instead.
    Failed(String),
    /// The check could not run: what it needs (for example "--identity-addr").
    Skipped(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Failed(reason) => write!(f, "{reason}"),
            Problem::Skipped(need) => write!(f, "needs {need}"),
        }
    }
}

/// What a check returns.
pub type Checked<T = ()> = Result<T, Problem>;

/// A failure with this reason.
pub fn fail<T>(reason: impl Into<String>) -> Checked<T> {
    Err(Problem::Failed(reason.into()))
}

/// Fails the check with a formatted reason unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($reason:tt)+) => {
        if !$cond {
            return $crate::check::fail(format!($($reason)+));
        }
    };
}

/// How one check ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The promise held.
    Passed,
    /// The promise was broken; the reason says how.
    Failed(String),
    /// The check did not run; the reason says what it needs.
    Skipped(String),
}

/// One check's name and verdict.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The service whose promise was checked.
    pub service: &'static str,
    /// What was checked, in a few words.
    pub name: String,
    /// How it ended.
    pub verdict: Verdict,
    /// How long it took.
    pub elapsed: Duration,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.elapsed.as_millis();
        match &self.verdict {
            Verdict::Passed => write!(f, "{}: {} ... passed ({ms} ms)", self.service, self.name),
            Verdict::Failed(reason) => {
                write!(f, "{}: {} ... FAILED: {reason}", self.service, self.name)
            }
            Verdict::Skipped(need) => {
                write!(
                    f,
                    "{}: {} ... skipped (needs {need})",
                    self.service, self.name
                )
            }
        }
    }
}

/// Runs checks one after another and keeps their outcomes.
pub struct Runner<'o> {
    service: &'static str,
    limit: Duration,
    observer: Box<dyn FnMut(&Outcome) + Send + 'o>,
    outcomes: Vec<Outcome>,
}

impl<'o> Runner<'o> {
    /// A runner for the checks of `service`, each allowed `limit`, telling `observer`
    /// about every outcome as soon as it is known.
    pub fn new(
        service: &'static str,
        limit: Duration,
        observer: impl FnMut(&Outcome) + Send + 'o,
    ) -> Self {
        Runner {
            service,
            limit,
            observer: Box::new(observer),
            outcomes: Vec::new(),
        }
    }

    /// Runs one check named `name`, within the time limit.
    pub async fn check(&mut self, name: &str, check: impl Future<Output = Checked>) {
        let started = Instant::now();
        let verdict = match tokio::time::timeout(self.limit, check).await {
            Ok(Ok(())) => Verdict::Passed,
            Ok(Err(Problem::Failed(reason))) => Verdict::Failed(reason),
            Ok(Err(Problem::Skipped(need))) => Verdict::Skipped(need),
            Err(_) => Verdict::Failed(format!(
                "no result within {} s (the service hangs?)",
                self.limit.as_secs()
            )),
        };
        let outcome = Outcome {
            service: self.service,
            name: name.to_owned(),
            verdict,
            elapsed: started.elapsed(),
        };
        (self.observer)(&outcome);
        self.outcomes.push(outcome);
    }

    /// Every outcome so far, in the order the checks ran.
    pub fn into_outcomes(self) -> Vec<Outcome> {
        self.outcomes
    }
}

/// The message of a call that succeeded, or a failure naming the call and its status.
pub fn ok<T>(result: Result<Response<T>, Status>, call: &str) -> Checked<T> {
    match result {
        Ok(response) => Ok(response.into_inner()),
        Err(status) => fail(format!("{call} failed: {}", describe(&status))),
    }
}

/// The status of a call that must fail with `code`; a failure when it succeeded or failed
/// otherwise.
pub fn refused<T: fmt::Debug>(
    result: Result<Response<T>, Status>,
    code: Code,
    call: &str,
) -> Checked<Status> {
    match result {
        Ok(response) => fail(format!(
            "{call}: expected {code:?}, got OK: {}",
            short(&format!("{:?}", response.get_ref()))
        )),
        Err(status) if status.code() == code => Ok(status),
        Err(status) => fail(format!(
            "{call}: expected {code:?}, got {}",
            describe(&status)
        )),
    }
}

/// Checks that `status` carries a `google.rpc.BadRequest` with a violation on `field`.
pub fn violation(status: &Status, field: &str, call: &str) -> Checked {
    violation_where(status, call, field, |f| f == field)
}

/// Checks that `status` carries a `google.rpc.BadRequest` with a violation on `field` or on
/// a field inside it (`field.x`, `field[2]`).
pub fn violation_within(status: &Status, field: &str, call: &str) -> Checked {
    violation_where(status, call, &format!("{field} (or inside it)"), |f| {
        f == field
            || f.strip_prefix(field)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    })
}

fn violation_where(
    status: &Status,
    call: &str,
    wanted: &str,
    matches: impl Fn(&str) -> bool,
) -> Checked {
    let Some(bad_request) = status.get_details_bad_request() else {
        return fail(format!(
            "{call}: INVALID_ARGUMENT without a google.rpc.BadRequest detail ({})",
            describe(status)
        ));
    };
    let fields: Vec<&str> = bad_request
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    ensure!(
        fields.iter().any(|f| matches(f)),
        "{call}: expected a field violation on {wanted}, got violations on {fields:?}"
    );
    Ok(())
}

/// Checks that a refusal with `code` carries a violation on exactly `field`.
pub fn invalid<T: fmt::Debug>(
    result: Result<Response<T>, Status>,
    field: &str,
    call: &str,
) -> Checked {
    let status = refused(result, Code::InvalidArgument, call)?;
    violation(&status, field, call)
}

/// The `google.rpc.ErrorInfo` of `status`, checked to have `reason`.
pub fn reason(status: &Status, reason: &str, call: &str) -> Checked<tonic_types::ErrorInfo> {
    let Some(info) = status.get_details_error_info() else {
        return fail(format!(
            "{call}: expected a google.rpc.ErrorInfo with reason {reason:?}, got none ({})",
            describe(status)
        ));
    };
    ensure!(
        info.reason == reason,
        "{call}: expected ErrorInfo reason {reason:?}, got {:?}",
        info.reason
    );
    Ok(info)
}

/// Every `google.rpc.ResourceInfo` detail of `status`.
pub fn resource_infos(status: &Status) -> Vec<tonic_types::ResourceInfo> {
    status
        .get_error_details_vec()
        .into_iter()
        .filter_map(|detail| match detail {
            ErrorDetail::ResourceInfo(info) => Some(info),
            _ => None,
        })
        .collect()
}

/// A status as a short line: code, message and the kinds of details it carries.
pub fn describe(status: &Status) -> String {
    format!("{:?}: {}", status.code(), short(status.message()))
}

/// `text`, cut to a length fit for one report line.
pub fn short(text: &str) -> String {
    const MAX: usize = 300;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}
