//! Where the catalog keeps its products: one SQL schema, on SQLite or PostgreSQL.
//!
//! The queries are written once for sqlx's `Any` driver and run unchanged on both backends.
//! Search matches against lower-cased copies of name and description computed here, so case
//! folding does not depend on the database's collation.

use std::collections::HashMap;

use chassis::store::placeholders;
use sqlx::{AnyPool, Row};

use crate::domain::{SearchQuery, Slug, fold};
use crate::seed::{Seed, parse_usd};

/// The catalog's migrations, both backends, same versions.
pub const MIGRATIONS: chassis::store::Migrations =
    chassis::migrations![1 => "catalog", "0001_catalog"];

/// A product as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductRecord {
    /// Slug id.
    pub id: String,
    /// Name shown to shoppers.
    pub name: String,
    /// Plain-text description.
    pub description: String,
    /// ISO code of the price (always USD today).
    pub price_currency: String,
    /// Whole units of the price.
    pub price_units: i64,
    /// Billionths of a unit of the price, 0..=999,999,999.
    pub price_nanos: i32,
    /// Picture path.
    pub picture_uri: String,
    /// Category ids, sorted.
    pub category_ids: Vec<String>,
}

/// A category as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryRecord {
    /// Slug id.
    pub id: String,
    /// Name shown to shoppers.
    pub display_name: String,
    /// Plain-text description.
    pub description: String,
}

/// Products and categories, on SQLite or PostgreSQL; clones share the pool.
#[derive(Clone, Debug)]
pub struct CatalogStore {
    pool: AnyPool,
}

const PRODUCT_COLUMNS: &str =
    "id, name, description, price_currency, price_units, price_nanos, picture_uri";

impl CatalogStore {
    /// Wraps a migrated pool and loads `seed` if the catalog is empty.
    pub async fn open(pool: AnyPool, seed: &Seed) -> Result<Self, sqlx::Error> {
        let store = Self { pool };
        let count: i64 = sqlx::query("SELECT COUNT(*) FROM products")
            .fetch_one(&store.pool)
            .await?
            .try_get(0)?;
        if count == 0 {
            store.load(seed).await?;
            tracing::info!(
                products = seed.products.len(),
                categories = seed.categories.len(),
                "catalog seeded"
            );
        }
        Ok(store)
    }

    /// The pool, for closing.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    async fn load(&self, seed: &Seed) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        for category in &seed.categories {
            sqlx::query(
                "INSERT INTO categories (id, display_name, description) VALUES ($1, $2, $3)",
            )
            .bind(&category.id)
            .bind(&category.display_name)
            .bind(&category.description)
            .execute(&mut *tx)
            .await?;
        }
        for product in &seed.products {
            // Seed::from_json has checked every price.
            let (units, nanos) = parse_usd(&product.price_usd).unwrap_or((0, 0));
            sqlx::query(
                "INSERT INTO products (id, name, description, price_currency, price_units, \
                 price_nanos, picture_uri, name_folded, description_folded) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&product.id)
            .bind(&product.name)
            .bind(&product.description)
            .bind("USD")
            .bind(units)
            .bind(i64::from(nanos))
            .bind(format!("/pictures/{}", product.picture))
            .bind(fold(&product.name))
            .bind(fold(&product.description))
            .execute(&mut *tx)
            .await?;
            for category in &product.category_ids {
                sqlx::query(
                    "INSERT INTO product_categories (product_id, category_id) VALUES ($1, $2)",
                )
                .bind(&product.id)
                .bind(category)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await
    }

    /// Products ordered by id, after `after` (exclusive), at most `limit`, optionally only
    /// those in `category`.
    pub async fn list_products(
        &self,
        category: Option<&Slug>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ProductRecord>, sqlx::Error> {
        let after = after.unwrap_or("");
        let rows = match category {
            None => {
                sqlx::query(&format!(
                    "SELECT {PRODUCT_COLUMNS} FROM products WHERE id > $1 ORDER BY id LIMIT $2"
                ))
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
            Some(category) => {
                sqlx::query(&format!(
                    "SELECT {PRODUCT_COLUMNS} FROM products WHERE id > $1 AND id IN \
                     (SELECT product_id FROM product_categories WHERE category_id = $2) \
                     ORDER BY id LIMIT $3"
                ))
                .bind(after)
                .bind(category.as_str())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
        };
        self.with_categories(rows).await
    }

    /// The products with these ids that exist, in no particular order.
    pub async fn get_products(&self, ids: &[Slug]) -> Result<Vec<ProductRecord>, sqlx::Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = placeholders(1, ids.len());
        let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE id IN ({placeholders})");
        let mut query = sqlx::query(&sql);
        for id in ids {
            query = query.bind(id.as_str());
        }
        let rows = query.fetch_all(&self.pool).await?;
        self.with_categories(rows).await
    }

    /// Products in which every word of `query` occurs in the name or the description;
    /// those with more words in the name first, then by id. Skips `offset`, takes `limit`.
    pub async fn search(
        &self,
        query: &SearchQuery,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<ProductRecord>, sqlx::Error> {
        let words = query.words();
        let mut name_hits = Vec::with_capacity(words.len());
        let mut conditions = Vec::with_capacity(words.len());
        let mut n = 0;
        for _ in words {
            name_hits.push(format!(
                "CASE WHEN name_folded LIKE ${} ESCAPE '\\' THEN 1 ELSE 0 END",
                n + 1
            ));
            conditions.push(format!(
                "(name_folded LIKE ${} ESCAPE '\\' OR description_folded LIKE ${} ESCAPE '\\')",
                n + 2,
                n + 3
            ));
            n += 3;
        }
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS}, ({}) AS name_hits FROM products WHERE {} \
             ORDER BY name_hits DESC, id LIMIT ${} OFFSET ${}",
            name_hits.join(" + "),
            conditions.join(" AND "),
            n + 1,
            n + 2
        );
        let mut statement = sqlx::query(&sql);
        for word in words {
            let pattern = format!("%{}%", escape_like(word));
            statement = statement
                .bind(pattern.clone())
                .bind(pattern.clone())
                .bind(pattern);
        }
        let rows = statement
            .bind(i64::from(limit))
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        self.with_categories(rows).await
    }

    /// Categories ordered by id, after `after` (exclusive), at most `limit`.
    pub async fn list_categories(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CategoryRecord>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, display_name, description FROM categories WHERE id > $1 \
             ORDER BY id LIMIT $2",
        )
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(category_from_row).collect()
    }

    /// The category `id`, or `None` when there is none.
    pub async fn get_category(&self, id: &Slug) -> Result<Option<CategoryRecord>, sqlx::Error> {
        let row = sqlx::query("SELECT id, display_name, description FROM categories WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(category_from_row).transpose()
    }

    /// Reads product rows and attaches their category ids with one more query.
    async fn with_categories(
        &self,
        rows: Vec<sqlx::any::AnyRow>,
    ) -> Result<Vec<ProductRecord>, sqlx::Error> {
        let mut products = rows
            .iter()
            .map(product_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        if products.is_empty() {
            return Ok(products);
        }
        let sql = format!(
            "SELECT product_id, category_id FROM product_categories WHERE product_id IN ({}) \
             ORDER BY category_id",
            placeholders(1, products.len())
        );
        let mut query = sqlx::query(&sql);
        for product in &products {
            query = query.bind(product.id.clone());
        }
        let mut categories: HashMap<String, Vec<String>> = HashMap::new();
        for row in query.fetch_all(&self.pool).await? {
            categories
                .entry(row.try_get("product_id")?)
                .or_default()
                .push(row.try_get("category_id")?);
        }
        for product in &mut products {
            product.category_ids = categories.remove(&product.id).unwrap_or_default();
        }
        Ok(products)
    }
}

fn product_from_row(row: &sqlx::any::AnyRow) -> Result<ProductRecord, sqlx::Error> {
    let nanos: i64 = row.try_get("price_nanos")?;
    Ok(ProductRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        price_currency: row.try_get("price_currency")?,
        price_units: row.try_get("price_units")?,
        price_nanos: i32::try_from(nanos).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        picture_uri: row.try_get("picture_uri")?,
        category_ids: Vec::new(),
    })
}

fn category_from_row(row: &sqlx::any::AnyRow) -> Result<CategoryRecord, sqlx::Error> {
    Ok(CategoryRecord {
        id: row.try_get("id")?,
        display_name: row.try_get("display_name")?,
        description: row.try_get("description")?,
    })
}

/// Escapes `%`, `_` and `\` so a word matches literally in `LIKE ... ESCAPE '\'`.
fn escape_like(word: &str) -> String {
    let mut escaped = String::with_capacity(word.len());
    for c in word.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
        assert_eq!(placeholders(3, 2), "$3, $4");
    }
}
