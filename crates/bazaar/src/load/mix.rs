//! What the shoppers of a load run do, and how often: the operations of the mix and their
//! weights (`--mix browse=30,search=10,product=25,cart=15,checkout=15,history=5`).
//!
//! Each operation is what one click of a shopper costs the shop: a page of products, a
//! search, a product page, adding to the cart, a checkout (fill the cart, place the
//! order), the order history, and the storefront's home page (through the gateway only).
//! An operation left out of `--mix`, or weighted zero, never runs.

use std::fmt;

/// One operation of the mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// A page of the product list.
    Browse,
    /// A search for a word of a product's name.
    Search,
    /// A product page: the product and its stock.
    Product,
    /// One more unit of a product in the cart, and the cart.
    Cart,
    /// Fill the cart and place the order.
    Checkout,
    /// The shopper's orders.
    History,
    /// The storefront's HTML home page, as a returning shopper's browser loads it (with
    /// its session cookie): only through the gateway.
    Home,
}

impl Operation {
    /// Every operation, in the order of the tables.
    pub const ALL: [Operation; 7] = [
        Operation::Browse,
        Operation::Search,
        Operation::Product,
        Operation::Cart,
        Operation::Checkout,
        Operation::History,
        Operation::Home,
    ];

    /// Its name in `--mix` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Browse => "browse",
            Operation::Search => "search",
            Operation::Product => "product",
            Operation::Cart => "cart",
            Operation::Checkout => "checkout",
            Operation::History => "history",
            Operation::Home => "home",
        }
    }

    /// Whether it acts as a shopper with a session of their own (a cart, orders, the home
    /// page's cart count); the others are anonymous reads.
    pub fn needs_shopper(self) -> bool {
        matches!(
            self,
            Operation::Cart | Operation::Checkout | Operation::History | Operation::Home
        )
    }

    /// Whether it exists only as a page of the storefront, so only with `--gateway`.
    pub fn needs_gateway(self) -> bool {
        self == Operation::Home
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The weights of the operations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mix {
    weights: Vec<(Operation, u32)>,
    total: u32,
}

impl Default for Mix {
    /// A storefront's day: mostly looking, some buying.
    fn default() -> Self {
        Self::from_weights(&[30, 10, 25, 15, 15, 5, 0])
    }
}

impl Mix {
    fn from_weights(weights: &[u32; 7]) -> Self {
        let weights: Vec<(Operation, u32)> = Operation::ALL
            .iter()
            .zip(weights)
            .filter(|(_, weight)| **weight > 0)
            .map(|(operation, weight)| (*operation, *weight))
            .collect();
        let total = weights.iter().map(|(_, weight)| weight).sum();
        Self { weights, total }
    }

    /// Parses `--mix`: comma-separated `operation=weight`; operations not named get zero.
    ///
    /// # Errors
    ///
    /// An unknown or repeated operation, a weight that is not a whole number up to
    /// 1,000,000, or weights that are all zero.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut weights = [0_u32; 7];
        let mut named = [false; 7];
        for part in text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("mix entry {part:?} is not OPERATION=WEIGHT"))?;
            let name = name.trim();
            let index = Operation::ALL
                .iter()
                .position(|operation| operation.name() == name)
                .ok_or_else(|| {
                    let known: Vec<&str> = Operation::ALL.iter().map(|o| o.name()).collect();
                    format!(
                        "unknown operation {name:?} in the mix; known: {}",
                        known.join(", ")
                    )
                })?;
            if named[index] {
                return Err(format!("operation {name:?} appears twice in the mix"));
            }
            named[index] = true;
            weights[index] = match weight.trim().parse::<u32>() {
                Ok(weight) if weight <= 1_000_000 => weight,
                _ => {
                    return Err(format!(
                        "weight {weight:?} of {name:?} is not a whole number from 0 to 1000000"
                    ));
                }
            };
        }
        let mix = Self::from_weights(&weights);
        if mix.total == 0 {
            return Err("the mix has no operation with a weight above zero".to_owned());
        }
        Ok(mix)
    }

    /// The operations that run, in table order.
    pub fn operations(&self) -> impl Iterator<Item = Operation> + '_ {
        self.weights.iter().map(|(operation, _)| *operation)
    }

    /// The share of all operations that are `operation`, from 0 to 1.
    pub fn share(&self, operation: Operation) -> f64 {
        let weight = self
            .weights
            .iter()
            .find(|(candidate, _)| *candidate == operation)
            .map_or(0, |(_, weight)| *weight);
        f64::from(weight) / f64::from(self.total.max(1))
    }

    /// An operation drawn at random by weight.
    pub fn pick(&self, rng: &mut fastrand::Rng) -> Operation {
        let mut ticket = rng.u32(0..self.total.max(1));
        for (operation, weight) in &self.weights {
            if ticket < *weight {
                return *operation;
            }
            ticket -= weight;
        }
        // The tickets add up to `total`, so the loop always returns for a valid mix; the
        // first operation stands in for an empty one, which `parse` refuses.
        self.weights
            .first()
            .map_or(Operation::Browse, |(operation, _)| *operation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_mix_is_the_documented_one() {
        let parsed =
            Mix::parse("browse=30,search=10,product=25,cart=15,checkout=15,history=5").unwrap();
        assert_eq!(parsed, Mix::default());
        assert_eq!(Mix::default().operations().count(), 6);
        assert!((Mix::default().share(Operation::Checkout) - 0.15).abs() < 1e-12);
    }

    #[test]
    fn operations_left_out_or_weighted_zero_never_run() {
        let mix = Mix::parse("checkout=1, browse=0").unwrap();
        assert_eq!(mix.operations().collect::<Vec<_>>(), [Operation::Checkout]);
        assert_eq!(
            Mix::parse("home=1")
                .unwrap()
                .operations()
                .collect::<Vec<_>>(),
            [Operation::Home]
        );
        assert_eq!(Mix::default().share(Operation::Home), 0.0);
        let mut rng = fastrand::Rng::with_seed(7);
        assert!((0..1000).all(|_| mix.pick(&mut rng) == Operation::Checkout));
        assert_eq!(mix.share(Operation::Browse), 0.0);
    }

    #[test]
    fn picks_follow_the_weights() {
        let mix = Mix::parse("browse=3,history=1").unwrap();
        let mut rng = fastrand::Rng::with_seed(42);
        let browses = (0..40_000)
            .filter(|_| mix.pick(&mut rng) == Operation::Browse)
            .count();
        assert!((29_000..31_000).contains(&browses), "{browses} of 40000");
    }

    #[test]
    fn the_same_seed_draws_the_same_operations() {
        let mix = Mix::default();
        let draw = |seed| {
            let mut rng = fastrand::Rng::with_seed(seed);
            (0..50).map(|_| mix.pick(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn bad_mixes_say_what_is_wrong() {
        for (bad, says) in [
            ("browse", "not OPERATION=WEIGHT"),
            (
                "shop=3",
                "unknown operation \"shop\" in the mix; known: browse, search",
            ),
            ("cart=1,cart=2", "appears twice"),
            ("cart=-1", "not a whole number"),
            ("cart=0", "no operation with a weight above zero"),
            ("", "no operation"),
        ] {
            let error = Mix::parse(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }
}
