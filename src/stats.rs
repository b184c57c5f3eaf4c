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

/// Summarise a window's values. Sorts `values` in place. `None` when empty.
pub fn summarize(values: &mut [f64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    let sum = sum_compensated(values);
    let count = values.len();
    Some(Summary {
        count: count as u64,
        mean: sum / count as f64,
        min: values[0],
        max: values[count - 1],
        sum,
        p50: quantile_sorted(values, 0.50)?,
        p95: quantile_sorted(values, 0.95)?,
        p99: quantile_sorted(values, 0.99)?,
    })
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
    fn summary_sorts_and_counts() {
        let mut v = vec![5.0, 1.0, 3.0];
        let s = summarize(&mut v).unwrap();
        assert_eq!(
            (s.count, s.min, s.max, s.mean, s.p50, s.sum),
            (3, 1.0, 5.0, 3.0, 3.0, 9.0)
        );
        assert!(summarize(&mut []).is_none());
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
