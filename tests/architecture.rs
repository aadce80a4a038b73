//! The layout is the architecture, and this test keeps it so: a service crate may depend on
//! the contract crate and the chassis, and on no other crate of this workspace. Services know
//! each other only through the generated clients of the contract. Their tests may also use
//! the test doubles of `bazaar-doubles`, as a dev-dependency only.
//!
//! The same holds for files: no crate's build script or source reaches into another crate's
//! folder (`../<other crate>/...`), whether to embed a file or to read one at run time. What
//! a crate's folder holds is that crate's own business; what several crates share lives at
//! the workspace root (`proto/`, `assets/`).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
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

/// A crate of the workspace and its folder.
struct CrateFolder {
    name: String,
    dir: PathBuf,
}

/// Every workspace crate's folder, from `cargo metadata`.
fn crate_folders(metadata: &Value) -> Vec<CrateFolder> {
    metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|package| {
            let manifest = Path::new(package["manifest_path"].as_str().expect("manifest_path"));
            CrateFolder {
                name: package["name"].as_str().expect("name").to_owned(),
                dir: manifest
                    .parent()
                    .expect("a manifest is in a folder")
                    .to_owned(),
            }
        })
        .collect()
}

/// A path made plain without touching the disk: `.` dropped, `..` taken back.
fn normalize(path: &Path) -> PathBuf {
    let mut plain = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                plain.pop();
            }
            other => plain.push(other),
        }
    }
    plain
}

fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'/' | b'_' | b'-')
}

/// Whether the string that ends `before` (its opening quote included) is read relative to
/// the file that holds it (`include_str!`, `include_bytes!`, `include!`, `#[path = ...]`)
/// rather than to the crate's folder (a build script's or a test's working directory, or a
/// path joined to `CARGO_MANIFEST_DIR`).
fn relative_to_file(before: &str) -> bool {
    let before = before.strip_suffix('"').unwrap_or(before).trim_end();
    if let Some(call) = before.strip_suffix('(') {
        let call = call.trim_end();
        return ["include_str!", "include_bytes!", "include!"]
            .iter()
            .any(|name| call.ends_with(name));
    }
    before
        .strip_suffix('=')
        .is_some_and(|attribute| attribute.trim_end().ends_with("path"))
}

/// Every path in `text` that climbs out of where it is read from (`../...`), resolved to
/// where it points. Comment lines are skipped.
fn climbing_paths(text: &str, file: &Path, crate_dir: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let file_dir = file.parent().expect("a file is in a folder");
    for line in text.lines() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let bytes = line.as_bytes();
        let mut start = 0;
        while let Some(at) = line[start..].find("../").map(|i| i + start) {
            let mut end = at;
            while end < bytes.len() && is_path_byte(bytes[end]) {
                end += 1;
            }
            let begins_a_path = at == 0 || !is_path_byte(bytes[at - 1]);
            if begins_a_path {
                let path = &line[at..end];
                let base = if relative_to_file(&line[..at]) {
                    file_dir
                } else {
                    crate_dir
                };
                found.push((path.to_owned(), normalize(&base.join(path))));
            }
            start = end.max(at + 3);
        }
    }
    found
}

/// Where `text`, a file of the crate `own`, reaches into the folder of another crate. The
/// workspace root is the contract crate's folder but also holds what crates share, so only
/// the folders of the other crates count.
fn reaches(
    folders: &[CrateFolder],
    root: &Path,
    own: &CrateFolder,
    file: &Path,
    text: &str,
) -> Vec<String> {
    climbing_paths(text, file, &own.dir)
        .into_iter()
        .filter_map(|(written, target)| {
            folders
                .iter()
                .filter(|other| other.name != own.name && other.dir != root)
                .find(|other| target.starts_with(&other.dir))
                .map(|other| {
                    format!(
                        "{} (crate {}) reaches into the folder of crate {}: {written}",
                        file.strip_prefix(root).unwrap_or(file).display(),
                        own.name,
                        other.name
                    )
                })
        })
        .collect()
}

/// The Rust files of `dir` and its subfolders.
fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if !name.to_string_lossy().starts_with('.') && name != "target" {
                rust_files(&path, found);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_crate_reaches_into_another_crates_folder() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let folders = crate_folders(&workspace());
    assert!(
        folders.iter().any(|f| f.name == "gateway") && folders.iter().any(|f| f.name == "catalog"),
        "the crates are found"
    );
    let mut files = 0;
    let mut found = Vec::new();
    for folder in &folders {
        let mut sources = Vec::new();
        if folder.dir == root {
            // The contract crate's folder is the workspace: its own files are the build
            // script and src/ (tests/ holds the whole-system tests, this one included).
            sources.push(root.join("build.rs"));
            rust_files(&root.join("src"), &mut sources);
        } else {
            rust_files(&folder.dir, &mut sources);
        }
        for file in sources {
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            files += 1;
            found.extend(reaches(&folders, root, folder, &file, &text));
        }
    }
    assert!(files > 100, "only {files} source files were read");
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_rule_catches_a_reach_into_another_crates_folder() {
    let root = Path::new("/shop");
    let folder = |name: &str, dir: &str| CrateFolder {
        name: name.to_owned(),
        dir: root.join(dir),
    };
    let folders = [
        folder("bazaar-contract", ""),
        folder("catalog", "crates/catalog"),
        folder("gateway", "crates/gateway"),
        folder("orders", "crates/orders"),
    ];
    let check = |own: usize, file: &str, text: &str| {
        reaches(&folders, root, &folders[own], &root.join(file), text)
    };
    // A build script reads relative to its crate's folder.
    assert_eq!(
        check(
            2,
            "crates/gateway/build.rs",
            r#"let dir = Path::new(&manifest).join("../catalog/data/pictures");"#
        ),
        [
            "crates/gateway/build.rs (crate gateway) reaches into the folder of crate catalog: ../catalog/data/pictures"
        ]
    );
    // include_str! reads relative to the file.
    assert_eq!(
        check(
            3,
            "crates/orders/src/store/mod.rs",
            r#"sql: include_str!("../../../catalog/migrations/sqlite/0001_catalog.sql"),"#
        )
        .len(),
        1
    );
    // The crate's own files, and what the workspace shares, are fine.
    for (own, file, text) in [
        (
            3,
            "crates/orders/src/store/mod.rs",
            r#"sql: include_str!("../../migrations/sqlite/0001_orders.sql"),"#,
        ),
        (
            1,
            "crates/catalog/src/seed.rs",
            r#"include_str!("../data/products.json")"#,
        ),
        (
            2,
            "crates/gateway/build.rs",
            r#"let dir = Path::new(&manifest).join("../../assets/pictures");"#,
        ),
        (
            2,
            "crates/gateway/src/lib.rs",
            "// a comment may name ../catalog/data/pictures",
        ),
    ] {
        assert_eq!(
            check(own, file, text),
            Vec::<String>::new(),
            "{file}: {text}"
        );
    }
}
