//! The table against the contract: read from the descriptor set the build embeds, with the
//! comments of every method.

use std::collections::BTreeMap;

use prost::Message;
use prost_types::FileDescriptorSet;

use super::{RULES, Rule, rule};

/// Field number of `service` in `FileDescriptorProto`, of `method` in
/// `ServiceDescriptorProto` (the path of a method's comment in the source info).
const SERVICE_FIELD: i32 = 6;
const METHOD_FIELD: i32 = 2;

/// Every method of the contract's services, by full path, with its leading comment.
fn contract_methods() -> BTreeMap<String, String> {
    let set = FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET).expect("the descriptor set");
    let mut methods = BTreeMap::new();
    for file in &set.file {
        let comments: BTreeMap<Vec<i32>, String> = file
            .source_code_info
            .iter()
            .flat_map(|info| &info.location)
            .map(|location| {
                (
                    location.path.clone(),
                    location.leading_comments().to_owned(),
                )
            })
            .collect();
        for (s, service) in file.service.iter().enumerate() {
            for (m, method) in service.method.iter().enumerate() {
                let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                let key = vec![
                    SERVICE_FIELD,
                    i32::try_from(s).expect("few services"),
                    METHOD_FIELD,
                    i32::try_from(m).expect("few methods"),
                ];
                methods.insert(path, comments.get(&key).cloned().unwrap_or_default());
            }
        }
    }
    methods
}

/// The paragraph of `comment` that starts with `Access:`, its lines joined by spaces.
fn access_paragraph(comment: &str) -> Option<String> {
    let paragraph: Vec<&str> = comment
        .lines()
        .map(str::trim)
        .skip_while(|line| !line.starts_with("Access:"))
        .take_while(|line| !line.is_empty())
        .collect();
    (!paragraph.is_empty()).then(|| paragraph.join(" "))
}

#[test]
fn every_method_of_the_contract_has_a_rule() {
    let methods = contract_methods();
    assert!(methods.len() >= 44, "only {} methods found", methods.len());
    let missing: Vec<&String> = methods.keys().filter(|path| rule(path).is_none()).collect();
    assert!(
        missing.is_empty(),
        "methods without an access rule: {missing:?}"
    );
}

#[test]
fn every_rule_of_the_contract_names_a_method_that_exists() {
    let methods = contract_methods();
    let unknown: Vec<&str> = RULES
        .iter()
        .map(|(path, _)| *path)
        .filter(|path| path.starts_with("/bazaar.") && !methods.contains_key(*path))
        .collect();
    assert!(unknown.is_empty(), "rules for no method: {unknown:?}");
}

#[test]
fn no_path_has_two_rules_and_every_path_is_a_full_method_path() {
    for (i, (path, _)) in RULES.iter().enumerate() {
        assert!(
            RULES[i + 1..].iter().all(|(other, _)| other != path),
            "{path} has two rules"
        );
        let (service, method) = path
            .strip_prefix('/')
            .and_then(|p| p.split_once('/'))
            .unwrap_or_else(|| panic!("{path} is not /package.Service/Method"));
        assert!(
            service.contains('.') && !method.is_empty() && !method.contains('/'),
            "{path} is not /package.Service/Method"
        );
    }
}

#[test]
fn the_access_line_of_every_method_says_its_rule() {
    let mut wrong = Vec::new();
    for (path, comment) in contract_methods() {
        let Some(rule) = rule(&path) else { continue };
        let expected = format!("Access: {}.", rule.describe());
        match access_paragraph(&comment) {
            Some(said) if said.starts_with(&expected) => {}
            Some(said) => wrong.push(format!("{path}: says {said:?}, the rule is {expected:?}")),
            None => wrong.push(format!(
                "{path}: no `Access:` line; the rule is {expected:?}"
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_rule_lets_someone_in() {
    for (path, rule) in RULES {
        assert!(
            rule.public || rule.takes_tokens() || rule.takes_certificates(),
            "{path} can be called by nobody"
        );
        assert_ne!(rule.describe(), "nobody", "{path}");
    }
}

#[test]
fn rules_read_as_their_parts() {
    assert_eq!(
        Rule::internal(&["orders"])
            .or_admin()
            .or_operator()
            .describe(),
        "internal (the orders service), or admin (a token with the admin role), or \
         operator (an operator certificate)"
    );
    assert_eq!(
        Rule::internal(&["notification", "recommendation"]).describe(),
        "internal (the notification or recommendation services)"
    );
    assert_eq!(rule("/bazaar.payment.v1.PaymentService/Nope"), None);
    assert_eq!(rule("bazaar.payment.v1.PaymentService/Charge"), None);
    assert_eq!(
        rule("/bazaar.payment.v1.PaymentService/Charge"),
        Some(&Rule::internal(&["orders"]))
    );
}
