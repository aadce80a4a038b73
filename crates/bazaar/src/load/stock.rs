//! Stock for a load run, put on the shelves before the clock starts, so that checkouts
//! measure the shop and not an empty warehouse.
//!
//! It reads every product's available stock (BatchGetStock) and, where that is below
//! what the run could sell, adds the difference with inventory's Restock as the shop's
//! operator (the operator certificate of the data directory's PKI, as the README's
//! grpcurl examples call it), each addition written in the run's ledger. The estimate is
//! generous on purpose: stock left over costs nothing, stock run out turns checkouts
//! into FAILED orders.

use std::path::Path;

use bazaar_contract::inventory::v1::inventory_service_client::InventoryServiceClient;
use bazaar_contract::inventory::v1::{BatchGetStockRequest, RestockRequest};
use chassis::tls::Tls;

use super::grpc::call;
use super::target::address_of;
use crate::invariants::Ledger;

/// The most units one Restock may add.
const MOST_PER_RESTOCK: i64 = 1_000_000;
/// The most ids one BatchGetStock may carry.
const MOST_PER_BATCH: usize = 100;

/// How the run reaches inventory as the operator.
pub struct Stocker {
    inventory: InventoryServiceClient<tonic::transport::Channel>,
}

impl Stocker {
    /// Inventory on `host` (or at `BAZAAR_INVENTORY_ADDR`), called with the operator
    /// certificate of `data_dir`'s PKI, or in plaintext.
    ///
    /// # Errors
    ///
    /// When the CA or the operator's certificate cannot be read.
    pub fn connect(host: &str, data_dir: &Path, plaintext: bool) -> Result<Self, String> {
        let tls = if plaintext {
            Tls::Plaintext
        } else {
            let pki = chassis::pki::Pki::at(data_dir.join("pki"));
            let (cert, key) = (
                pki.cert(chassis::pki::OPERATOR),
                pki.key(chassis::pki::OPERATOR),
            );
            Tls::client(&pki.ca_cert(), Some((&cert, &key))).map_err(|e| {
                format!("the operator's certificate (to add stock as the operator): {e}")
            })?
        };
        let spec = chassis::topology::INVENTORY;
        let address = address_of(spec.name, host, spec.port);
        let channel = tls
            .endpoint(&address)
            .map_err(|e| format!("inventory at {address}: {e}"))?
            .connect_lazy();
        Ok(Self {
            inventory: InventoryServiceClient::new(channel),
        })
    }

    /// Brings every product of `product_ids` to at least `wanted` units available,
    /// writing each addition in `ledger`; the units added in all.
    ///
    /// # Errors
    ///
    /// When inventory cannot be read or refuses a restock; the message says which.
    pub async fn fill(
        &mut self,
        product_ids: &[String],
        wanted: i64,
        run_id: &str,
        ledger: &mut Ledger,
    ) -> Result<i64, String> {
        let mut added_in_all = 0;
        let mut restocks = 0;
        for batch in product_ids.chunks(MOST_PER_BATCH) {
            let stocks = self
                .inventory
                .batch_get_stock(call(BatchGetStockRequest {
                    product_ids: batch.to_vec(),
                }))
                .await
                .map_err(|status| {
                    format!(
                        "cannot read the stock: {:?} {}",
                        status.code(),
                        status.message()
                    )
                })?
                .into_inner()
                .stocks;
            for stock in stocks {
                let added = (wanted - stock.available).clamp(0, MOST_PER_RESTOCK);
                if added > 0 {
                    restocks += 1;
                    self.inventory
                        .restock(call(RestockRequest {
                            request_id: format!("{run_id}-stock-{restocks}"),
                            product_id: stock.product_id.clone(),
                            // At most MOST_PER_RESTOCK, which fits.
                            quantity: i32::try_from(added).unwrap_or(i32::MAX),
                        }))
                        .await
                        .map_err(|status| {
                            format!(
                                "cannot restock {} as the operator: {:?} {}",
                                stock.product_id,
                                status.code(),
                                status.message()
                            )
                        })?;
                }
                ledger.stocked(&stock.product_id, stock.available, added);
                added_in_all += added;
            }
        }
        Ok(added_in_all)
    }
}

/// The units of each product a run may sell, generously: `checkouts` checkouts and
/// `cart_adds` additions to carts (each checkout adds up to three units, and a cart op
/// keeps at most five of a product), spread at random over `products` products, twice
/// over, and a hundred more.
pub fn wanted(checkouts: f64, cart_adds: f64, products: usize) -> i64 {
    #[allow(clippy::cast_precision_loss)] // a catalog is far below 2^52 products
    let products = products.max(1) as f64;
    let units = checkouts * 3.0 + cart_adds;
    // Bounded just above; the cast saturates anyway.
    #[allow(clippy::cast_possible_truncation)]
    let wanted = (units * 2.0 / products).ceil().min(MOST_PER_RESTOCK as f64) as i64;
    wanted + 100
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_covers_every_unit_twice_and_stays_within_one_restock() {
        assert_eq!(wanted(0.0, 0.0, 10), 100);
        assert_eq!(wanted(100.0, 100.0, 10), 80 + 100);
        assert_eq!(wanted(1e12, 0.0, 1), MOST_PER_RESTOCK + 100);
        assert_eq!(wanted(5.0, 0.0, 0), 30 + 100);
    }
}
