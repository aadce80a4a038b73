//! The faults a process is asked to inject, as written to its fault file and as the
//! operator's command line states them: per method (or for every method) errors by code,
//! each at a rate, and a latency at a rate.
//!
//! Everything here is checked in one place, [`FaultSet::check`], by the command that writes a
//! fault file and again by the process that reads one: a rate is in (0, 1], the error rates
//! of one rule add up to at most 1, a latency is at most [`MAX_LATENCY`], `OK` is no fault.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::rpc::{CODES, Methods};

/// The longest latency a rule may inject.
pub const MAX_LATENCY: Duration = Duration::from_secs(60);

/// The label, and the name in rules, of "every method of the service".
pub const EVERY_METHOD: &str = "*";

/// Every fault of one process: at most one rule per method, and at most one for every
/// method. A method's own rule replaces the every-method rule for that method.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSet {
    /// The rules, in no particular order.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// The faults of one method, or of every method.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The method's name (`Charge`); `None` for every method of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Errors answered instead of calling the handler, each at its rate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorRate>,
    /// A delay before the call is passed on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyRate>,
}

/// An error answered to a share of calls.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRate {
    /// The status code answered.
    pub code: FaultCode,
    /// The share of calls that get it, in (0, 1].
    pub rate: f64,
}

/// A delay given to a share of calls.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyRate {
    /// How long, in milliseconds (at most [`MAX_LATENCY`]).
    pub millis: u64,
    /// The share of calls that wait it, in (0, 1].
    pub rate: f64,
}

/// A gRPC status code other than `OK`, written by its name as Go and the metrics spell it
/// (`Unavailable`, `DeadlineExceeded`), read by that name or the constant's
/// (`UNAVAILABLE`, `deadline_exceeded`) in any case, or by number (`14`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FaultCode(u8);

impl FaultCode {
    /// The code as tonic knows it.
    pub fn code(self) -> tonic::Code {
        tonic::Code::from_i32(i32::from(self.0))
    }

    /// Its name: `Unavailable`.
    pub fn name(self) -> &'static str {
        CODES[usize::from(self.0)]
    }
}

impl fmt::Display for FaultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for FaultCode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let index = if let Ok(number) = text.parse::<usize>() {
            (number < CODES.len()).then_some(number)
        } else {
            let wanted: String = text
                .chars()
                .filter(|c| *c != '_')
                .map(|c| c.to_ascii_lowercase())
                .collect();
            let wanted = if wanted == "cancelled" {
                "canceled".to_owned()
            } else {
                wanted
            };
            CODES
                .iter()
                .position(|name| name.to_ascii_lowercase() == wanted)
        };
        match index {
            Some(0) => Err("OK is not a fault; name an error code such as UNAVAILABLE".to_owned()),
            Some(index) => Ok(Self(index as u8)),
            None => Err(format!(
                "unknown status code {text:?}; expected a name such as UNAVAILABLE or \
                 DEADLINE_EXCEEDED, or a number from 1 to {}",
                CODES.len() - 1
            )),
        }
    }
}

impl Serialize for FaultCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for FaultCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Parses a latency: a number and a unit, `ms` or `s` (`200ms`, `1.5s`), more than zero and
/// at most [`MAX_LATENCY`].
pub fn parse_latency(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(number) = text.strip_suffix("ms") {
        (number, 0.001)
    } else if let Some(number) = text.strip_suffix('s') {
        (number, 1.0)
    } else {
        return Err(format!(
            "latency {text:?} needs a unit: a number of ms or s, such as 200ms or 1.5s"
        ));
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("latency {text:?} is not a number of ms or s"))?;
    let seconds = value * scale;
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(format!("latency {text:?} must be more than zero"));
    }
    if seconds > MAX_LATENCY.as_secs_f64() {
        return Err(format!(
            "latency {text:?} is longer than the most allowed, {}s",
            MAX_LATENCY.as_secs()
        ));
    }
    let latency = Duration::from_secs_f64(seconds);
    if latency < Duration::from_millis(1) {
        return Err(format!("latency {text:?} is shorter than a millisecond"));
    }
    Ok(latency)
}

/// Parses a rate: a number in (0, 1].
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("rate {text:?} is not a number between 0 and 1"))?;
    check_rate(rate)?;
    Ok(rate)
}

fn check_rate(rate: f64) -> Result<(), String> {
    if rate.is_finite() && rate > 0.0 && rate <= 1.0 {
        Ok(())
    } else {
        Err(format!(
            "rate {rate} is out of range: more than 0, at most 1"
        ))
    }
}

impl Rule {
    /// The method label of the rule: its method, or [`EVERY_METHOD`].
    pub fn label(&self) -> &str {
        self.method.as_deref().unwrap_or(EVERY_METHOD)
    }

    /// Checks the rule on its own (not its method's name, see [`FaultSet::check_methods`]).
    pub fn check(&self) -> Result<(), String> {
        let label = self.label();
        if self.errors.is_empty() && self.latency.is_none() {
            return Err(format!("the rule for {label} injects nothing"));
        }
        let mut codes = BTreeSet::new();
        let mut total = 0.0;
        for error in &self.errors {
            check_rate(error.rate).map_err(|e| format!("{label}: {}: {e}", error.code))?;
            if !codes.insert(error.code) {
                return Err(format!("{label}: {} is given twice", error.code));
            }
            total += error.rate;
        }
        // Rates such as 0.7 + 0.3 may sum a hair over 1 in floating point.
        if total > 1.0 + 1e-9 {
            return Err(format!(
                "{label}: the error rates add up to {total}, more than 1"
            ));
        }
        if let Some(latency) = &self.latency {
            check_rate(latency.rate).map_err(|e| format!("{label}: latency: {e}"))?;
            if latency.millis == 0 || latency.millis > MAX_LATENCY.as_millis() as u64 {
                return Err(format!(
                    "{label}: latency of {} ms is out of range: 1 ms to {} s",
                    latency.millis,
                    MAX_LATENCY.as_secs()
                ));
            }
        }
        Ok(())
    }

    /// The rule in a few words: `Unavailable 20%, latency 200ms 10%`.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .errors
            .iter()
            .map(|error| format!("{} {}", error.code, percent(error.rate)))
            .collect();
        if let Some(latency) = &self.latency {
            parts.push(format!(
                "latency {}ms {}",
                latency.millis,
                percent(latency.rate)
            ));
        }
        parts.join(", ")
    }
}

/// A rate as a percentage, without trailing zeros: `20%`, `0.5%`.
fn percent(rate: f64) -> String {
    let text = format!("{:.3}", rate * 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

impl FaultSet {
    /// Checks every rule, and that no method has two.
    pub fn check(&self) -> Result<(), String> {
        let mut methods = BTreeSet::new();
        for rule in &self.rules {
            rule.check()?;
            if !methods.insert(rule.label()) {
                return Err(format!("{} has two rules", rule.label()));
            }
        }
        Ok(())
    }

    /// Checks that every rule names a method of service `service` (a name of the service
    /// table: `payment`), or every method.
    pub fn check_methods(&self, service: &str) -> Result<(), String> {
        let known = methods_of(service);
        for rule in &self.rules {
            if let Some(method) = &rule.method
                && !known.iter().any(|m| m == method)
            {
                return Err(format!(
                    "{service} has no method {method:?}; its methods: {}",
                    known.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Puts `rule` in place of the rule for the same method, if any.
    pub fn set(&mut self, rule: Rule) {
        self.rules.retain(|old| old.method != rule.method);
        self.rules.push(rule);
        self.rules.sort_by(|a, b| {
            a.method
                .is_some()
                .cmp(&b.method.is_some())
                .then(a.method.cmp(&b.method))
        });
    }

    /// Whether it injects nothing.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The active faults in a line: `Charge: Unavailable 20%; *: latency 200ms 10%`, or
    /// `none`.
    pub fn describe(&self) -> String {
        if self.rules.is_empty() {
            return "none".to_owned();
        }
        self.rules
            .iter()
            .map(|rule| format!("{}: {}", rule.label(), rule.describe()))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The methods of service `service` of the service table (`payment`), as named in its
/// contract package `bazaar.<service>.v1`: `Charge`, `Refund`, ...
pub fn methods_of(service: &str) -> Vec<String> {
    let prefix = format!("bazaar.{service}.");
    let methods = Methods::get();
    (0..methods.len())
        .map(|index| methods.method(index))
        .filter(|method| method.service.starts_with(&prefix))
        .map(|method| method.method.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_by_name_in_any_case_or_number_but_never_ok() {
        for text in ["UNAVAILABLE", "Unavailable", "unavailable", "14", " 14 "] {
            let code: FaultCode = text.parse().unwrap();
            assert_eq!(code.code(), tonic::Code::Unavailable, "{text}");
            assert_eq!(code.name(), "Unavailable");
        }
        for text in ["DEADLINE_EXCEEDED", "DeadlineExceeded", "4"] {
            assert_eq!(
                text.parse::<FaultCode>().unwrap().code(),
                tonic::Code::DeadlineExceeded
            );
        }
        assert_eq!(
            "CANCELLED".parse::<FaultCode>().unwrap().code(),
            tonic::Code::Cancelled
        );
        for bad in ["OK", "ok", "0", "17", "-1", "Unavailabl", ""] {
            assert!(bad.parse::<FaultCode>().is_err(), "{bad}");
        }
    }

    #[test]
    fn latencies_and_rates_are_bounded() {
        assert_eq!(parse_latency("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_latency("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_latency("60s"), Ok(MAX_LATENCY));
        for bad in ["200", "0ms", "-1s", "61s", "1m", "abc", "0.1ms", "NaNs"] {
            assert!(parse_latency(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_rate("0.2"), Ok(0.2));
        assert_eq!(parse_rate("1"), Ok(1.0));
        for bad in ["0", "1.01", "-0.5", "x", "inf", "NaN"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    fn unavailable(rate: f64) -> ErrorRate {
        ErrorRate {
            code: "UNAVAILABLE".parse().unwrap(),
            rate,
        }
    }

    #[test]
    fn a_rule_injects_something_with_rates_that_fit() {
        let mut rule = Rule {
            method: Some("Charge".to_owned()),
            errors: vec![],
            latency: None,
        };
        assert!(rule.check().is_err());
        rule.errors = vec![
            unavailable(0.7),
            ErrorRate {
                code: "INTERNAL".parse().unwrap(),
                rate: 0.3,
            },
        ];
        assert_eq!(rule.check(), Ok(()));
        rule.errors[0].rate = 0.8;
        assert!(rule.check().unwrap_err().contains("add up"));
        rule.errors = vec![unavailable(0.1), unavailable(0.1)];
        assert!(rule.check().unwrap_err().contains("twice"));
        rule.errors = vec![];
        rule.latency = Some(LatencyRate {
            millis: 60_001,
            rate: 1.0,
        });
        assert!(rule.check().is_err());
    }

    #[test]
    fn a_set_keeps_one_rule_per_method_and_round_trips_through_json() {
        let mut set = FaultSet::default();
        set.set(Rule {
            method: Some("Charge".to_owned()),
            errors: vec![unavailable(0.2)],
            latency: Some(LatencyRate {
                millis: 200,
                rate: 0.1,
            }),
        });
        set.set(Rule {
            method: None,
            errors: vec![unavailable(0.5)],
            latency: None,
        });
        set.set(Rule {
            method: Some("Charge".to_owned()),
            errors: vec![unavailable(1.0)],
            latency: None,
        });
        assert_eq!(set.rules.len(), 2);
        assert_eq!(set.check(), Ok(()));
        assert_eq!(set.check_methods("payment"), Ok(()));
        assert!(set.check_methods("currency").is_err());
        assert_eq!(
            set.describe(),
            "*: Unavailable 50%; Charge: Unavailable 100%"
        );
        let json = serde_json::to_string(&set).unwrap();
        assert!(json.contains("\"code\":\"Unavailable\""), "{json}");
        assert_eq!(serde_json::from_str::<FaultSet>(&json).unwrap(), set);
        assert!(
            serde_json::from_str::<FaultSet>(r#"{"rules":[{"errors":[{"code":"OK","rate":1}]}]}"#)
                .is_err()
        );
    }

    #[test]
    fn methods_come_from_the_contract() {
        let methods = methods_of("payment");
        assert!(methods.iter().any(|m| m == "Charge"), "{methods:?}");
        assert!(methods_of("nosuch").is_empty());
    }
}
