//! Pure statistics on slices of samples.
//!
//! Percentiles follow numpy's default (`method="linear"`): for a sorted sample
//! x of size n, the p-th percentile is x[h] interpolated linearly, h = (n-1)p.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Summary of one window of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub count: u64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

/// The q-quantile (0 ≤ q ≤ 1) of data that is already sorted ascending, with
/// numpy's linear interpolation. `None` for an empty slice.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let frac = h - lo as f64;
    Some(lerp(sorted[lo], sorted[hi], frac))
}

/// numpy's `_lerp`: exact at both ends, and symmetric, so results match numpy
/// to the last bit rather than to a rounding error.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if !diff.is_finite() {
        // Values beyond ±f64::MAX/2 of opposite signs: `b - a` overflows, so
        // weigh the ends instead (numpy would return inf here).
        return (a * (1.0 - t) + b * t).clamp(a.min(b), a.max(b));
    }
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// Mean by Neumaier's compensated summation: a long series of similar values
/// loses no precision to the order of addition.
pub fn sum_compensated(values: &[f64]) -> f64 {
    let mut sum = 0.0f64;
    let mut c = 0.0f64;
    for &v in values {
        let t = sum + v;
        if sum.abs() >= v.abs() {
            c += (sum - t) + v;
        } else {
            c += (v - t) + sum;
        }
        sum = t;
    }
    sum + c
}

/// Summarise a window's values. `None` when empty.
///
/// Reorders `values` in place (partially: the percentiles are found by
/// selection, not by a full sort; use [`quantiles`] or sort first when the
/// order matters). One pass for sum, min and max, then one selection per
/// order statistic, each on what is left above the previous one: about 1.6 n
/// element moves instead of n log n.
pub fn summarize(values: &mut [f64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let count = values.len();
    let (sum, min, max) = sum_min_max(values);
    let (sum, mean) = if sum.is_finite() {
        (sum, sum / count as f64)
    } else {
        sum_mean_near_overflow(values)
    };
    let [p50, p95, p99] = quantiles(values, [0.50, 0.95, 0.99])?;
    Some(Summary {
        count: count as u64,
        mean,
        min,
        max,
        sum,
        p50,
        p95,
        p99,
    })
}

/// Sum and mean of finite values whose running sum overflowed (values near
/// ±f64::MAX), where the compensation turns it into NaN: the mean from the
/// values divided by n first, which cannot overflow, and the sum as n times
/// that, infinite only when the true sum is beyond f64.
#[cold]
fn sum_mean_near_overflow(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let scaled: Vec<f64> = values.iter().map(|v| v / n).collect();
    let mean = sum_compensated(&scaled);
    (mean * n, mean)
}

/// Compensated sum (as [`sum_compensated`]), minimum and maximum in one pass.
fn sum_min_max(values: &[f64]) -> (f64, f64, f64) {
    let mut sum = 0.0f64;
    let mut c = 0.0f64;
    let mut min = f64::INFINITY;
    let mut max = f64::NEG_INFINITY;
    for &v in values {
        let t = sum + v;
        if sum.abs() >= v.abs() {
            c += (sum - t) + v;
        } else {
            c += (v - t) + sum;
        }
        sum = t;
        min = min.min(v);
        max = max.max(v);
    }
    (sum + c, min, max)
}

/// Several q-quantiles (each 0 ≤ q ≤ 1, in any order) of unsorted data, with
/// numpy's linear interpolation: exactly what [`quantile_sorted`] gives on the
/// sorted data. Reorders `values` (partially); `None` for an empty slice.
///
/// Each needed order statistic (⌊h⌋ and ⌊h⌋+1 of every h = (n−1)q) is found by
/// selection, in increasing rank, each within the part of the slice above
/// the previous one.
pub fn quantiles<const K: usize>(values: &mut [f64], qs: [f64; K]) -> Option<[f64; K]> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    // (rank, value) of each order statistic needed, ranks ascending.
    let mut ranks: Vec<usize> = Vec::with_capacity(2 * K);
    let positions = qs.map(|q| {
        let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
        let lo = h.floor() as usize;
        (lo, (lo + 1).min(n - 1), h - lo as f64)
    });
    for &(lo, hi, _) in &positions {
        ranks.push(lo);
        ranks.push(hi);
    }
    ranks.sort_unstable();
    ranks.dedup();
    let mut found: Vec<(usize, f64)> = Vec::with_capacity(ranks.len());
    let mut base = 0;
    for &rank in &ranks {
        let rest = &mut values[base..];
        let (_, x, _) = rest.select_nth_unstable_by(rank - base, f64::total_cmp);
        found.push((rank, *x));
        base = rank + 1;
    }
    let at = |rank: usize| {
        found
            .iter()
            .find(|(r, _)| *r == rank)
            .map_or(f64::NAN, |(_, x)| *x)
    };
    Some(positions.map(|(lo, hi, frac)| lerp(at(lo), at(hi), frac)))
}

/// Relative change of `value` over `base`, in percent. `None` when the base is
/// zero (a change from nothing has no percentage).
pub fn delta_pct(base: f64, value: f64) -> Option<f64> {
    if base == 0.0 {
        None
    } else {
        Some((value - base) / base.abs() * 100.0)
    }
}

/// A seeded xorshift generator: deterministic draws for the selections
/// that pivot at random, and for the tests.
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_small_sets_match_numpy_by_hand() {
        let x = [1.0, 2.0, 3.0, 4.0];
        // numpy.percentile([1,2,3,4], [0, 50, 95, 100]) = [1, 2.5, 3.85, 4]
        assert_eq!(quantile_sorted(&x, 0.0), Some(1.0));
        assert_eq!(quantile_sorted(&x, 0.5), Some(2.5));
        assert!((quantile_sorted(&x, 0.95).unwrap() - 3.85).abs() < 1e-12);
        assert_eq!(quantile_sorted(&x, 1.0), Some(4.0));
        assert_eq!(quantile_sorted(&[7.0], 0.99), Some(7.0));
        assert_eq!(quantile_sorted(&[], 0.5), None);
    }

    #[test]
    fn summary_counts() {
        let mut v = vec![5.0, 1.0, 3.0];
        let s = summarize(&mut v).unwrap();
        assert_eq!(
            (s.count, s.min, s.max, s.mean, s.p50, s.sum),
            (3, 1.0, 5.0, 3.0, 3.0, 9.0)
        );
        assert!(summarize(&mut []).is_none());
    }

    /// Found by fuzzing (fuzz/fuzz_targets/stats.rs): values a parser takes
    /// as finite, whose running sum overflows, made the compensation, and so
    /// the mean and sum, NaN; a report then showed `NaN%` and judged it OK.
    #[test]
    fn near_overflow_values_have_a_finite_mean() {
        let big = 1.7e308;
        let s = summarize(&mut [big, big, 60.0]).unwrap();
        assert!(s.mean.is_finite() && (s.mean - big / 3.0 * 2.0).abs() <= big * 1e-15);
        assert_eq!(s.sum, f64::INFINITY, "the true sum is beyond f64");
        let s = summarize(&mut [big, big, -big, -big]).unwrap();
        assert_eq!((s.mean, s.sum), (0.0, 0.0));
        let s = summarize(&mut [-1.6853373139334214e308, -1.7e307, -0.124]).unwrap();
        assert!(s.mean.is_finite() && s.mean < -5e307, "{s:?}");
    }

    /// Selection gives what sorting gives, to the bit, on every size and
    /// quantile, ties and negative zeros included.
    #[test]
    fn selected_quantiles_equal_sorted_ones() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        let qs = [0.0, 0.01, 0.25, 0.5, 0.95, 0.99, 0.999, 1.0];
        for n in (1..60).chain([100, 101, 1000, 4097]) {
            for ties in [false, true] {
                let values: Vec<f64> = (0..n)
                    .map(|_| {
                        let r = next();
                        if ties {
                            (r % 7) as f64 - 3.0
                        } else {
                            (r >> 11) as f64 / 1e9 - 4e6
                        }
                    })
                    .collect();
                let mut sorted = values.clone();
                sorted.sort_unstable_by(f64::total_cmp);
                let want = qs.map(|q| quantile_sorted(&sorted, q).unwrap());
                let got = quantiles(&mut values.clone(), qs).unwrap();
                assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "n={n}");
                let s = summarize(&mut values.clone()).unwrap();
                assert_eq!((s.min, s.max), (sorted[0], sorted[n - 1]));
                assert_eq!(s.sum, sum_compensated(&values));
                assert_eq!(
                    [s.p50, s.p95, s.p99],
                    [0.5, 0.95, 0.99].map(|q| quantile_sorted(&sorted, q).unwrap())
                );
            }
        }
        assert_eq!(quantiles(&mut [], [0.5]), None);
    }

    #[test]
    fn compensated_sum_keeps_small_terms() {
        let v = [1e16, 1.0, -1e16, 1.0];
        assert_eq!(sum_compensated(&v), 2.0);
    }

    #[test]
    fn delta_of_zero_base_is_none() {
        assert_eq!(delta_pct(0.0, 5.0), None);
        assert_eq!(delta_pct(10.0, 15.0), Some(50.0));
        assert_eq!(delta_pct(10.0, 5.0), Some(-50.0));
    }
}
