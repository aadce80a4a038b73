//! The service table of the chassis (`chassis::topology`) is the one list of the shop's
//! services; the docs repeat it for readers, and this test keeps them equal: every service
//! of the table has its crate, and the tables of the README and of `docs/architecture.md`
//! name the same services with the same ports, in the same order.

use std::path::Path;

use chassis::topology::SERVICES;

/// The `(name, port)` rows of the first Markdown table in `text` whose header starts with
/// `| service | port |`.
fn markdown_rows(text: &str) -> Vec<(String, u16)> {
    let mut lines = text
        .lines()
        .skip_while(|line| !line.starts_with("| service | port |"));
    lines.next();
    lines
        .skip(1) // the |---| separator
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| {
            let mut cells = line.split('|').map(str::trim).skip(1);
            let name = cells.next()?.to_owned();
            let port = cells.next()?.parse().ok()?;
            Some((name, port))
        })
        .collect()
}

fn table() -> Vec<(String, u16)> {
    SERVICES
        .iter()
        .map(|spec| (spec.name.to_owned(), spec.port))
        .collect()
}

fn read(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_service_of_the_table_has_its_crate() {
    for spec in SERVICES {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("crates")
            .join(spec.name)
            .join("Cargo.toml");
        assert!(manifest.exists(), "{} has no crate", spec.name);
    }
}

#[test]
fn the_readme_lists_the_services_of_the_table() {
    assert_eq!(markdown_rows(&read("README.md")), table());
}

#[test]
fn the_architecture_page_lists_the_services_of_the_table() {
    assert_eq!(markdown_rows(&read("docs/architecture.md")), table());
}
