//! `bazaar up --config FILE`: the shop's shape in a TOML file rather than on the command
//! line, so that it can be kept, reviewed and shared. Every key is optional; a flag given on
//! the command line (or its variable) wins over the file, service by service for
//! `replicas` and `replace`:
//!
//! ```toml
//! host = "127.0.0.1"
//! plaintext = false
//! chaos = false
//! postgres = "postgres://bazaar@db:5432/postgres"
//!
//! [replicas]
//! catalog = 3
//! orders = 2
//!
//! [replace]
//! currency = ".venv/bin/python -m bazaar_currency"
//! ```
//!
//! A key the file does not know, a service the shop does not have, or a number of
//! replicas out of range is refused with the file and the reason, before anything starts.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// What a configuration file of `bazaar up` may say.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UpFile {
    /// The address every service listens on (`--host`).
    pub host: Option<String>,
    /// Run every service without TLS (`--plaintext`).
    #[serde(default)]
    pub plaintext: bool,
    /// Give every gRPC service the fault-injection layer (`--chaos`).
    #[serde(default)]
    pub chaos: bool,
    /// A PostgreSQL server for every SQL service's database (`--postgres`).
    pub postgres: Option<String>,
    /// How many replicas of each service (`--replicas`).
    #[serde(default)]
    pub replicas: BTreeMap<String, usize>,
    /// Another implementation's command for a service (`--replace`).
    #[serde(default)]
    pub replace: BTreeMap<String, String>,
}

impl UpFile {
    /// Reads and checks the file at `path`.
    ///
    /// # Errors
    ///
    /// When it cannot be read, is not TOML of this shape, or names what the shop does not
    /// have; the message names the file.
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses and checks the text of a file.
    ///
    /// # Errors
    ///
    /// When it is not TOML of this shape, or names what the shop does not have.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: Self = basic_toml::from_str(text).map_err(|e| e.to_string())?;
        for (service, count) in &file.replicas {
            crate::up::check_replicas(service, *count)?;
        }
        for (service, command) in &file.replace {
            crate::up::parse_replacement(&format!("{service}={command}"))?;
        }
        if file
            .host
            .as_deref()
            .is_some_and(|host| host.trim().is_empty())
        {
            return Err("host is empty".to_owned());
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_key() {
        let file = UpFile::parse(
            r#"
            host = "0.0.0.0"
            plaintext = true
            chaos = true
            postgres = "postgres://bazaar@db/postgres"

            [replicas]
            catalog = 3
            orders = 2

            [replace]
            currency = "python -m bazaar_currency"
            "#,
        )
        .unwrap();
        assert_eq!(file.host.as_deref(), Some("0.0.0.0"));
        assert!(file.plaintext && file.chaos);
        assert_eq!(
            file.postgres.as_deref(),
            Some("postgres://bazaar@db/postgres")
        );
        assert_eq!(
            file.replicas,
            BTreeMap::from([("catalog".to_owned(), 3), ("orders".to_owned(), 2)])
        );
        assert_eq!(file.replace["currency"], "python -m bazaar_currency");
    }

    #[test]
    fn an_empty_file_changes_nothing() {
        assert_eq!(UpFile::parse("").unwrap(), UpFile::default());
    }

    #[test]
    fn refuses_what_the_shop_does_not_have() {
        for (text, expected) in [
            ("replica = 2", "unknown field `replica`"),
            ("[replicas]\ncatalogue = 2", "unknown service \"catalogue\""),
            ("[replicas]\ncatalog = 0", "catalog=0"),
            ("[replicas]\ngateway = 2", "gateway runs once"),
            ("[replicas]\ncatalog = \"two\"", "invalid type"),
            ("[replace]\ncatalog = \" \"", "no command given for catalog"),
            ("host = \"\"", "host is empty"),
            ("host = ", "unexpected eof"),
        ] {
            let error = UpFile::parse(text).expect_err(text);
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }
}
