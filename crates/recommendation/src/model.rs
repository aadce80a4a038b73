//! What the service has learnt from placed orders: which products were bought together, and
//! how many units of each were sold. In memory, rebuilt from the order event stream on every
//! start (it replays from sequence 0), so it needs no store of its own.
//!
//! Learning is idempotent: an event is counted once by its `event_id`, however often the
//! stream delivers it. Only ORDER_EVENT_TYPE_PLACED events count; failed orders and unknown
//! event types only move the position. Counts only grow, which is what keeps
//! [`crate::domain::Rank`]s moving in one direction.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet};

use bazaar_contract::orders::v1::{OrderEvent, OrderEventType};

use crate::domain::ProductId;

/// The co-purchase model.
#[derive(Debug, Default)]
pub struct Model {
    position: i64,
    learnt: HashSet<String>,
    /// For each product, the number of placed orders that held it together with another.
    together: HashMap<ProductId, HashMap<ProductId, u64>>,
    /// Units sold of each product.
    sold: HashMap<ProductId, u64>,
    /// The same, ordered best seller first (then by id).
    best_sellers: BTreeSet<(Reverse<u64>, ProductId)>,
}

/// What [`Model::learn`] did with an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Learnt {
    /// A placed order, now counted.
    Order,
    /// A placed order counted before.
    Duplicate,
    /// Not a placed order (or one without an id or an order).
    Skipped,
}

impl Model {
    /// An empty model: nothing learnt, position 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The sequence of the last event seen: where to resume the stream.
    pub fn position(&self) -> i64 {
        self.position
    }

    /// Learns from one event and moves the position past it.
    pub fn learn(&mut self, event: &OrderEvent) -> Learnt {
        self.position = self.position.max(event.sequence);
        let placed = OrderEventType::try_from(event.r#type) == Ok(OrderEventType::Placed);
        let Some(order) = event.order.as_ref().filter(|_| placed) else {
            return Learnt::Skipped;
        };
        if event.event_id.is_empty() {
            return Learnt::Skipped;
        }
        if !self.learnt.insert(event.event_id.clone()) {
            return Learnt::Duplicate;
        }
        // One entry per product, whatever the order's lines say; ids that are not slugs are
        // not products anyone can ask about.
        let mut products: Vec<(ProductId, u64)> = Vec::new();
        for item in &order.items {
            let Ok(id) = ProductId::parse(&item.product_id) else {
                continue;
            };
            let units = u64::try_from(item.quantity).unwrap_or(0);
            match products.iter_mut().find(|(p, _)| *p == id) {
                Some((_, total)) => *total += units,
                None => products.push((id, units)),
            }
        }
        for (product, units) in &products {
            let sold = self.sold.entry(product.clone()).or_default();
            self.best_sellers.remove(&(Reverse(*sold), product.clone()));
            *sold += units;
            self.best_sellers.insert((Reverse(*sold), product.clone()));
        }
        for (a, _) in &products {
            for (b, _) in &products {
                if a != b {
                    *self
                        .together
                        .entry(a.clone())
                        .or_default()
                        .entry(b.clone())
                        .or_default() += 1;
                }
            }
        }
        Learnt::Order
    }

    /// For every product bought together with one of `products`, in how many orders it was
    /// (summed over the given products).
    pub fn bought_with(&self, products: &[ProductId]) -> HashMap<ProductId, u64> {
        let mut counts: HashMap<ProductId, u64> = HashMap::new();
        for product in products {
            for (other, count) in self.together.get(product).into_iter().flatten() {
                *counts.entry(other.clone()).or_default() += count;
            }
        }
        counts
    }

    /// Units sold of `product`.
    pub fn sold(&self, product: &ProductId) -> u64 {
        self.sold.get(product).copied().unwrap_or(0)
    }

    /// Every product sold, best seller first (ties by id), with its units.
    pub fn best_sellers(&self) -> impl Iterator<Item = (&ProductId, u64)> {
        self.best_sellers
            .iter()
            .map(|(Reverse(units), id)| (id, *units))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bazaar_contract::orders::v1::{Order, OrderItem};

    fn event(id: &str, sequence: i64, kind: OrderEventType, items: &[(&str, i32)]) -> OrderEvent {
        OrderEvent {
            event_id: id.to_owned(),
            sequence,
            r#type: kind as i32,
            order: Some(Order {
                items: items
                    .iter()
                    .map(|(p, q)| OrderItem {
                        product_id: (*p).to_owned(),
                        quantity: *q,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn id(s: &str) -> ProductId {
        ProductId::parse(s).unwrap()
    }

    #[test]
    fn counts_placed_orders_once() {
        let mut model = Model::new();
        let placed = event("e1", 2, OrderEventType::Placed, &[("a", 1), ("b", 2)]);
        assert_eq!(model.learn(&placed), Learnt::Order);
        let mut again = placed.clone();
        again.sequence = 5;
        assert_eq!(model.learn(&again), Learnt::Duplicate);
        assert_eq!(model.position(), 5);
        let failed = event("e2", 7, OrderEventType::Failed, &[("a", 1), ("c", 9)]);
        assert_eq!(model.learn(&failed), Learnt::Skipped);
        let unknown = OrderEvent {
            r#type: 42,
            ..event("e3", 9, OrderEventType::Placed, &[("a", 1), ("c", 9)])
        };
        assert_eq!(model.learn(&unknown), Learnt::Skipped);
        assert_eq!(model.position(), 9);
        assert_eq!(model.bought_with(&[id("a")]), HashMap::from([(id("b"), 1)]));
        assert_eq!(model.sold(&id("b")), 2);
        assert_eq!(model.sold(&id("c")), 0);
    }

    #[test]
    fn ranks_best_sellers_and_sums_co_purchases() {
        let mut model = Model::new();
        model.learn(&event(
            "e1",
            1,
            OrderEventType::Placed,
            &[("a", 1), ("b", 1)],
        ));
        model.learn(&event(
            "e2",
            2,
            OrderEventType::Placed,
            &[("a", 1), ("c", 5), ("Bad!", 3)],
        ));
        model.learn(&event(
            "e3",
            3,
            OrderEventType::Placed,
            &[("b", 1), ("c", 1)],
        ));
        let best: Vec<_> = model
            .best_sellers()
            .map(|(p, n)| (p.as_str().to_owned(), n))
            .collect();
        assert_eq!(
            best,
            [
                ("c".to_owned(), 6),
                ("a".to_owned(), 2),
                ("b".to_owned(), 2)
            ]
        );
        assert_eq!(
            model.bought_with(&[id("a"), id("b")]),
            HashMap::from([(id("a"), 1), (id("b"), 1), (id("c"), 2)])
        );
    }
}
