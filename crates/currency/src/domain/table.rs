//! The dated rate table shipped with the service (`data/rates.json`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Currency, CurrencyCode, Rate};

/// Why a rate table cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// Not JSON of the expected shape.
    #[error("the rate table is not valid JSON of the expected shape")]
    Json(#[from] serde_json::Error),
    /// A row is not acceptable.
    #[error("rate table row {code:?}: {problem}")]
    Row {
        /// The row's code as written.
        code: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// The table must be based on the US dollar at rate 1.
    #[error("the rate table must be based on USD, with USD at rate 1")]
    NotUsdBased,
}

#[derive(Deserialize)]
struct File {
    date: String,
    base: String,
    currencies: Vec<Row>,
}

#[derive(Deserialize)]
struct Row {
    code: String,
    name: String,
    minor_units: u32,
    per_usd: String,
    symbol: String,
}

/// Every currency the service knows, by code, and the date of the rates.
#[derive(Clone, Debug)]
pub struct RateTable {
    date: String,
    currencies: BTreeMap<CurrencyCode, Currency>,
}

impl RateTable {
    /// The table shipped with the service.
    pub fn shipped() -> Result<Self, TableError> {
        Self::from_json(include_str!("../../data/rates.json"))
    }

    /// Parses and checks a table.
    pub fn from_json(json: &str) -> Result<Self, TableError> {
        let file: File = serde_json::from_str(json)?;
        if file.base != "USD" {
            return Err(TableError::NotUsdBased);
        }
        let mut currencies = BTreeMap::new();
        for row in file.currencies {
            let problem = |problem| TableError::Row {
                code: row.code.clone(),
                problem,
            };
            let code = CurrencyCode::parse(&row.code).map_err(|_| problem("not an ISO code"))?;
            let per_usd = Rate::parse(&row.per_usd).ok_or_else(|| problem("bad per_usd"))?;
            if row.symbol.is_empty() || row.symbol.chars().count() > 5 {
                return Err(problem("symbol must be 1..=5 characters"));
            }
            if row.minor_units > 4 {
                return Err(problem("minor_units above 4"));
            }
            let currency = Currency {
                code,
                name: row.name.clone(),
                symbol: row.symbol.clone(),
                minor_units: row.minor_units,
                per_usd,
            };
            if currencies.insert(code, currency).is_some() {
                return Err(problem("listed twice"));
            }
        }
        match currencies.get(&CurrencyCode::USD) {
            Some(c) if c.per_usd.nanos() == super::NANOS_PER_UNIT => {}
            _ => return Err(TableError::NotUsdBased),
        }
        Ok(Self {
            date: file.date,
            currencies,
        })
    }

    /// The day the rates were taken, `YYYY-MM-DD`.
    pub fn date(&self) -> &str {
        &self.date
    }

    /// A currency by code.
    pub fn get(&self, code: CurrencyCode) -> Option<&Currency> {
        self.currencies.get(&code)
    }

    /// Every currency, ordered by code.
    pub fn iter(&self) -> impl Iterator<Item = &Currency> {
        self.currencies.values()
    }

    /// How many currencies the table has.
    pub fn len(&self) -> usize {
        self.currencies.len()
    }

    /// Whether the table is empty (it never is once loaded: USD is required).
    pub fn is_empty(&self) -> bool {
        self.currencies.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_loads_with_at_least_thirty_currencies() {
        let table = RateTable::shipped().expect("shipped table is valid");
        assert!(table.len() >= 30, "{} currencies", table.len());
        assert_eq!(table.date().len(), 10);
        assert!(table.iter().any(|c| c.minor_units == 0));
        assert!(table.iter().any(|c| c.minor_units == 3));
    }

    #[test]
    fn bad_tables_are_refused() {
        let eur_only = r#"{"date":"2026-01-01","base":"USD","currencies":[
            {"code":"EUR","name":"Euro","minor_units":2,"per_usd":"0.9","symbol":"E"}]}"#;
        assert!(matches!(
            RateTable::from_json(eur_only),
            Err(TableError::NotUsdBased)
        ));
        let bad_rate = r#"{"date":"2026-01-01","base":"USD","currencies":[
            {"code":"USD","name":"Dollar","minor_units":2,"per_usd":"1","symbol":"$"},
            {"code":"EUR","name":"Euro","minor_units":2,"per_usd":"-0.9","symbol":"E"}]}"#;
        assert!(matches!(
            RateTable::from_json(bad_rate),
            Err(TableError::Row { .. })
        ));
        let twice = r#"{"date":"2026-01-01","base":"USD","currencies":[
            {"code":"USD","name":"Dollar","minor_units":2,"per_usd":"1","symbol":"$"},
            {"code":"USD","name":"Dollar","minor_units":2,"per_usd":"1","symbol":"$"}]}"#;
        assert!(matches!(
            RateTable::from_json(twice),
            Err(TableError::Row { .. })
        ));
    }
}
