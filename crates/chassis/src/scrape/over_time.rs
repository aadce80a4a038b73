//! Arithmetic on scrapes of one target over time, as PromQL does it.
//!
//! A counter's value means nothing alone; what it gained between scrapes does. Every
//! function here takes the scrapes of one target, oldest first, and compares each with the
//! next, series by series:
//!
//! - a series that went down was reset (its process restarted): it counts again from zero,
//!   so what it gained is its new value;
//! - a series that appears between two scrapes was created meanwhile (recorders create a
//!   series at its first increment): what it gained is its value;
//! - a series that disappears gained nothing.
//!
//! [`increase`] sums that over the scrapes, [`rate`] divides it by the time they span,
//! [`ratio`] divides one increase by another, and [`quantile`] estimates a quantile from
//! the increases of a histogram's buckets with [`histogram_quantile`], which interpolates
//! linearly inside a bucket exactly as Prometheus's function of the same name does.
//! Nothing is known from fewer than two scrapes: those functions answer `None` then.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::exposition::{Exposition, Labels};

/// One scrape: when it was taken, and what it said.
#[derive(Clone, Debug)]
pub struct Scrape {
    /// When it was taken, in seconds on any clock that goes forward (the Unix epoch
    /// will do).
    pub at: f64,
    /// What the target said.
    pub exposition: Arc<Exposition>,
}

/// What the selected series of the counter `name` gained over `scrapes` (oldest first),
/// reset-aware; `None` from fewer than two scrapes.
pub fn increase(scrapes: &[Scrape], name: &str, keep: &dyn Fn(&Labels) -> bool) -> Option<f64> {
    let by_series = increase_by_series(scrapes, name, keep)?;
    // Folded from +0.0: `sum` of no value is -0.0, which prints as "-0.0".
    Some(by_series.values().fold(0.0, |total, gained| total + gained))
}

/// What each selected series gained, by its labels; `None` from fewer than two scrapes.
fn increase_by_series(
    scrapes: &[Scrape],
    name: &str,
    keep: &dyn Fn(&Labels) -> bool,
) -> Option<HashMap<Labels, f64>> {
    if scrapes.len() < 2 {
        return None;
    }
    let mut gained: HashMap<Labels, f64> = HashMap::new();
    for pair in scrapes.windows(2) {
        let before: HashMap<&Labels, f64> = pair[0]
            .exposition
            .select(name, keep)
            .map(|sample| (&sample.labels, sample.value))
            .collect();
        for sample in pair[1].exposition.select(name, keep) {
            let now = sample.value;
            let step = match before.get(&sample.labels) {
                Some(&then) if now >= then => now - then,
                // Reset, or created since: it counted up from zero.
                _ => now,
            };
            if step.is_finite() {
                *gained.entry(sample.labels.clone()).or_default() += step;
            }
        }
    }
    Some(gained)
}

/// What the selected series gained, summed by the value of their label `by` (series
/// without it are summed under ""); `None` from fewer than two scrapes.
pub fn increase_by(
    scrapes: &[Scrape],
    name: &str,
    keep: &dyn Fn(&Labels) -> bool,
    by: &str,
) -> Option<BTreeMap<String, f64>> {
    let by_series = increase_by_series(scrapes, name, keep)?;
    let mut grouped = BTreeMap::new();
    for (labels, gained) in by_series {
        *grouped
            .entry(labels.get(by).unwrap_or_default().to_owned())
            .or_default() += gained;
    }
    Some(grouped)
}

/// The time `scrapes` span, in seconds, when it is more than zero.
pub fn span(scrapes: &[Scrape]) -> Option<f64> {
    let seconds = scrapes.last()?.at - scrapes.first()?.at;
    (seconds > 0.0).then_some(seconds)
}

/// The per-second rate of the counter over `scrapes`: [`increase`] over [`span`].
pub fn rate(scrapes: &[Scrape], name: &str, keep: &dyn Fn(&Labels) -> bool) -> Option<f64> {
    Some(increase(scrapes, name, keep)? / span(scrapes)?)
}

/// The increase of `part` over the increase of `whole` (both counters, selected by their
/// own filters); `None` when `whole` gained nothing.
pub fn ratio(
    scrapes: &[Scrape],
    part: (&str, &dyn Fn(&Labels) -> bool),
    whole: (&str, &dyn Fn(&Labels) -> bool),
) -> Option<f64> {
    let whole = increase(scrapes, whole.0, whole.1)?;
    if whole <= 0.0 {
        return None;
    }
    Some(increase(scrapes, part.0, part.1)? / whole)
}

/// The `q` quantile (0 to 1) of what the histogram `name` (without `_bucket`) observed
/// over `scrapes`, from the selected series' bucket increases summed by `le`; `None`
/// when it observed nothing or its buckets are not usable.
pub fn quantile(
    q: f64,
    scrapes: &[Scrape],
    name: &str,
    keep: &dyn Fn(&Labels) -> bool,
) -> Option<f64> {
    let bucket = format!("{name}_bucket");
    let by_series = increase_by_series(scrapes, &bucket, keep)?;
    let mut by_bound: BTreeMap<BoundKey, f64> = BTreeMap::new();
    for (labels, gained) in by_series {
        let Some(bound) = labels.get("le").and_then(parse_bound) else {
            continue;
        };
        *by_bound.entry(BoundKey(bound)).or_default() += gained;
    }
    let buckets: Vec<(f64, f64)> = by_bound.into_iter().map(|(k, v)| (k.0, v)).collect();
    histogram_quantile(q, &buckets)
}

fn parse_bound(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        _ => text.parse::<f64>().ok().filter(|bound| !bound.is_nan()),
    }
}

/// A bucket's upper bound, ordered (never NaN: [`parse_bound`] drops those).
#[derive(Clone, Copy, Debug, PartialEq)]
struct BoundKey(f64);

impl Eq for BoundKey {}

impl PartialOrd for BoundKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BoundKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// The `q` quantile (0 to 1) from cumulative buckets `(upper bound, count)`, as
/// Prometheus's `histogram_quantile` computes it: find the bucket the rank falls in and
/// interpolate linearly between its bounds (the first bucket's lower bound is 0 when its
/// upper one is positive); a rank in the `+Inf` bucket answers the highest finite bound.
/// `None` when `q` is not within 0..=1, there is no `+Inf` bucket, or nothing was counted.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    if !(0.0..=1.0).contains(&q) {
        return None;
    }
    let mut sorted: Vec<(f64, f64)> = buckets
        .iter()
        .copied()
        .filter(|(bound, count)| !bound.is_nan() && count.is_finite())
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    sorted.dedup_by(|b, a| {
        // Two buckets with one bound are one bucket.
        if a.0 == b.0 {
            a.1 += b.1;
            true
        } else {
            false
        }
    });
    if sorted
        .last()
        .is_none_or(|(bound, _)| *bound != f64::INFINITY)
    {
        return None;
    }
    // Counts are cumulative: one that goes down (scrapes not quite at one instant) is
    // raised to the one before, as Prometheus does.
    let mut highest = 0.0_f64;
    for bucket in &mut sorted {
        highest = highest.max(bucket.1);
        bucket.1 = highest;
    }
    let total = sorted.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let index = sorted.iter().position(|(_, count)| *count >= rank)?;
    if index == sorted.len() - 1 {
        // In the +Inf bucket: the highest finite bound is all that is known.
        return sorted
            .len()
            .checked_sub(2)
            .map(|finite| sorted[finite].0)
            .or(Some(f64::INFINITY));
    }
    let (upper, count) = sorted[index];
    let (lower, below) = if index == 0 {
        if upper <= 0.0 {
            return Some(upper);
        }
        (0.0, 0.0)
    } else {
        sorted[index - 1]
    };
    let inside = count - below;
    if inside <= 0.0 {
        return Some(upper);
    }
    Some(lower + (upper - lower) * ((rank - below) / inside))
}

#[cfg(test)]
mod tests {
    use super::super::exposition::all;
    use super::*;
    use proptest::prelude::*;

    fn scrape(at: f64, text: &str) -> Scrape {
        Scrape {
            at,
            exposition: Arc::new(Exposition::parse(text)),
        }
    }

    #[test]
    fn nothing_is_known_from_one_scrape() {
        let one = [scrape(0.0, "c 5\n")];
        assert_eq!(increase(&one, "c", &all), None);
        assert_eq!(rate(&one, "c", &all), None);
    }

    #[test]
    fn a_counter_rate_is_its_increase_over_the_time_spanned() {
        let scrapes = [
            scrape(0.0, "c{a=\"x\"} 10\nc{a=\"y\"} 1\n"),
            scrape(5.0, "c{a=\"x\"} 20\nc{a=\"y\"} 1\n"),
            scrape(10.0, "c{a=\"x\"} 40\nc{a=\"y\"} 11\n"),
        ];
        assert_eq!(increase(&scrapes, "c", &all), Some(40.0));
        assert_eq!(rate(&scrapes, "c", &all), Some(4.0));
        assert_eq!(rate(&scrapes, "c", &|l| l.get("a") == Some("y")), Some(1.0));
        let by = increase_by(&scrapes, "c", &all, "a").unwrap();
        assert_eq!(by["x"], 30.0);
        assert_eq!(by["y"], 10.0);
    }

    #[test]
    fn a_reset_counts_from_zero_and_a_new_series_from_its_creation() {
        let scrapes = [
            scrape(0.0, "c 100\n"),
            scrape(1.0, "c 3\n"),
            scrape(2.0, "c 5\nd 2\n"),
        ];
        // 100 → 3 is a restart: +3, then +2.
        assert_eq!(increase(&scrapes, "c", &all), Some(5.0));
        assert_eq!(increase(&scrapes, "d", &all), Some(2.0));
        let nothing = increase(&scrapes, "missing", &all).unwrap();
        assert!(nothing == 0.0 && nothing.is_sign_positive(), "{nothing}");
    }

    #[test]
    fn an_error_ratio_is_one_increase_over_another() {
        let scrapes = [
            scrape(0.0, "h{code=\"OK\"} 10\nh{code=\"Internal\"} 0\n"),
            scrape(1.0, "h{code=\"OK\"} 19\nh{code=\"Internal\"} 1\n"),
        ];
        let errors = |l: &Labels| l.get("code") != Some("OK");
        assert_eq!(ratio(&scrapes, ("h", &errors), ("h", &all)), Some(0.1));
        let idle = [scrape(0.0, "h 1\n"), scrape(1.0, "h 1\n")];
        assert_eq!(ratio(&idle, ("h", &errors), ("h", &all)), None);
    }

    #[test]
    fn quantiles_come_from_bucket_increases() {
        let before =
            "t_bucket{le=\"0.1\"} 100\nt_bucket{le=\"0.2\"} 100\nt_bucket{le=\"+Inf\"} 100\n";
        // Since: 50 observations ≤ 0.1, 50 in (0.1, 0.2].
        let after =
            "t_bucket{le=\"0.1\"} 150\nt_bucket{le=\"0.2\"} 200\nt_bucket{le=\"+Inf\"} 200\n";
        let scrapes = [scrape(0.0, before), scrape(1.0, after)];
        let p50 = quantile(0.5, &scrapes, "t", &all).unwrap();
        assert!((p50 - 0.1).abs() < 1e-9, "{p50}");
        let p99 = quantile(0.99, &scrapes, "t", &all).unwrap();
        assert!((p99 - 0.198).abs() < 1e-9, "{p99}");
        let p25 = quantile(0.25, &scrapes, "t", &all).unwrap();
        assert!((p25 - 0.05).abs() < 1e-9, "{p25}");
        let idle = [scrape(0.0, before), scrape(1.0, before)];
        assert_eq!(quantile(0.5, &idle, "t", &all), None);
    }

    #[test]
    fn histogram_quantile_agrees_with_prometheus_at_the_edges() {
        let buckets = [(0.5, 0.0), (1.0, 10.0), (f64::INFINITY, 20.0)];
        // The rank falls in +Inf: the highest finite bound.
        assert_eq!(histogram_quantile(0.9, &buckets), Some(1.0));
        assert_eq!(histogram_quantile(0.25, &buckets), Some(0.75));
        assert_eq!(histogram_quantile(1.5, &buckets), None);
        assert_eq!(histogram_quantile(0.5, &[(1.0, 3.0)]), None);
        assert_eq!(histogram_quantile(0.5, &[(f64::INFINITY, 0.0)]), None);
        assert_eq!(
            histogram_quantile(0.5, &[(f64::INFINITY, 4.0)]),
            Some(f64::INFINITY)
        );
    }

    fn cumulative() -> impl Strategy<Value = Vec<(f64, f64)>> {
        proptest::collection::vec((0.0001_f64..100.0, 0.0_f64..1000.0), 1..12).prop_map(
            |mut raw| {
                raw.sort_by(|a, b| a.0.total_cmp(&b.0));
                raw.dedup_by(|b, a| a.0 == b.0);
                let mut total = 0.0;
                let mut buckets: Vec<(f64, f64)> = raw
                    .into_iter()
                    .map(|(bound, count)| {
                        total += count;
                        (bound, total)
                    })
                    .collect();
                buckets.push((f64::INFINITY, total));
                buckets
            },
        )
    }

    proptest! {
        #[test]
        fn a_quantile_lies_within_the_bounds_and_grows_with_q(
            buckets in cumulative(),
            q1 in 0.0_f64..=1.0,
            q2 in 0.0_f64..=1.0,
        ) {
            let (low, high) = if q1 <= q2 { (q1, q2) } else { (q2, q1) };
            let highest_finite = buckets[buckets.len() - 2].0;
            match (histogram_quantile(low, &buckets), histogram_quantile(high, &buckets)) {
                (Some(a), Some(b)) => {
                    prop_assert!(a <= b + 1e-9, "q{low} = {a} > q{high} = {b}");
                    prop_assert!((0.0..=highest_finite).contains(&a));
                    prop_assert!((0.0..=highest_finite).contains(&b));
                }
                (None, None) => prop_assert_eq!(buckets.last().unwrap().1, 0.0),
                other => prop_assert!(false, "one answered, not the other: {other:?}"),
            }
        }

        #[test]
        fn histogram_quantile_never_panics(
            buckets in proptest::collection::vec((any::<f64>(), any::<f64>()), 0..10),
            q in any::<f64>(),
        ) {
            let _ = histogram_quantile(q, &buckets);
        }

        #[test]
        fn an_increase_is_never_negative_whatever_the_values(
            values in proptest::collection::vec(0.0_f64..1e9, 2..20),
        ) {
            let scrapes: Vec<Scrape> = values
                .iter()
                .enumerate()
                .map(|(i, v)| scrape(i as f64, &format!("c {v}\n")))
                .collect();
            let gained = increase(&scrapes, "c", &all).unwrap();
            prop_assert!(gained >= 0.0);
            // Without a reset it is exactly last − first.
            if values.windows(2).all(|w| w[1] >= w[0]) {
                let exact = values[values.len() - 1] - values[0];
                prop_assert!((gained - exact).abs() <= 1e-6 * exact.max(1.0));
            }
        }
    }
}
