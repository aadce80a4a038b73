//! The layout is the architecture, and this test keeps it so: a service crate may depend on
//! the contract crate and the chassis, and on no other crate of this workspace. Services know
//! each other only through the generated clients of the contract. Their tests may also use
//! the test doubles of `bazaar-doubles`, as a dev-dependency only.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

/// Workspace crates that are not services: what a service may use, and what may use them.
const NOT_SERVICES: &[&str] = &[
    "bazaar-contract",
    "chassis",
    "bazaar",
    "bazaar-testkit",
    "bazaar-conformance",
    "bazaar-doubles",
    "gateway",
];
/// What a service crate may depend on inside the workspace.
const ALLOWED: &[&str] = &["bazaar-contract", "chassis"];
/// What a service crate's tests may depend on besides: stand-ins of other services.
const ALLOWED_FOR_TESTS: &[&str] = &["bazaar-doubles"];
/// How a dev-dependency is named in [`internal_dependencies`].
const DEV: &str = " (dev)";

fn workspace() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

/// Every workspace crate and the workspace crates it depends on (any kind of dependency; a
/// dev-dependency's name ends in [`DEV`]).
fn internal_dependencies(metadata: &Value) -> BTreeMap<String, Vec<String>> {
    let packages = metadata["packages"].as_array().expect("packages");
    let names: Vec<String> = packages
        .iter()
        .map(|p| p["name"].as_str().expect("name").to_owned())
        .collect();
    packages
        .iter()
        .map(|package| {
            let deps = package["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| names.iter().any(|n| d["name"] == n.as_str()))
                .map(|d| {
                    let name = d["name"].as_str().expect("dependency name");
                    match d["kind"].as_str() {
                        Some("dev") => format!("{name}{DEV}"),
                        _ => name.to_owned(),
                    }
                })
                .collect();
            (package["name"].as_str().expect("name").to_owned(), deps)
        })
        .collect()
}

fn violations(dependencies: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut found = Vec::new();
    for (service, deps) in dependencies {
        if NOT_SERVICES.contains(&service.as_str()) {
            continue;
        }
        for dep in deps {
            let allowed = match dep.strip_suffix(DEV) {
                Some(name) => ALLOWED.contains(&name) || ALLOWED_FOR_TESTS.contains(&name),
                None => ALLOWED.contains(&dep.as_str()),
            };
            if !allowed {
                found.push(format!("service crate {service} depends on {dep}"));
            }
        }
    }
    found
}

#[test]
fn service_crates_depend_only_on_the_contract_and_the_chassis() {
    let dependencies = internal_dependencies(&workspace());
    assert!(
        dependencies.contains_key("catalog") && dependencies.contains_key("currency"),
        "the services are in the workspace: {:?}",
        dependencies.keys()
    );
    let found = violations(&dependencies);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_rule_catches_a_service_that_depends_on_another() {
    let mut dependencies = BTreeMap::new();
    dependencies.insert(
        "orders".to_owned(),
        vec!["chassis".to_owned(), "catalog".to_owned()],
    );
    dependencies.insert("bazaar".to_owned(), vec!["catalog".to_owned()]);
    dependencies.insert(
        "cart".to_owned(),
        vec![
            "bazaar-doubles (dev)".to_owned(),
            "bazaar-doubles".to_owned(),
        ],
    );
    assert_eq!(
        violations(&dependencies),
        [
            "service crate cart depends on bazaar-doubles",
            "service crate orders depends on catalog"
        ]
    );
}

#[test]
fn the_chassis_depends_on_no_service() {
    let dependencies = internal_dependencies(&workspace());
    assert_eq!(dependencies["chassis"], ["bazaar-contract"]);
    // Its tests (the whole-system tests) use the testkit; the contract itself uses nothing.
    assert!(
        dependencies["bazaar-contract"]
            .iter()
            .all(|d| d.ends_with(DEV)),
        "{:?}",
        dependencies["bazaar-contract"]
    );
}

#[test]
fn the_gateway_runs_on_the_contract_and_the_chassis_only() {
    // Its tests start the whole shop (bazaar-testkit, a dev-dependency); the gateway itself
    // knows the services only through the contract's clients, like a service does.
    let metadata = workspace();
    let packages = metadata["packages"].as_array().expect("packages");
    let names: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let gateway = packages
        .iter()
        .find(|p| p["name"] == "gateway")
        .expect("the gateway is in the workspace");
    let mut internal: Vec<&str> = gateway["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .filter(|d| d["kind"].is_null())
        .filter_map(|d| d["name"].as_str())
        .filter(|d| names.contains(d))
        .collect();
    internal.sort_unstable();
    assert_eq!(internal, ["bazaar-contract", "chassis"]);
}
