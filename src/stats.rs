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
    let totals = sum_min_max(values);
    let (sum, mean) = mean_of(values.len(), totals.0, || sum_mean_near_overflow(values));
    let percentiles = quantiles(values, SUMMARY_QUANTILES)?;
    Some(Summary::of(
        values.len(),
        (sum, totals.1, totals.2),
        mean,
        percentiles,
    ))
}

impl Summary {
    fn of(
        count: usize,
        (sum, min, max): (f64, f64, f64),
        mean: f64,
        [p50, p95, p99]: [f64; 3],
    ) -> Self {
        Summary {
            count: count as u64,
            mean,
            min,
            max,
            sum,
            p50,
            p95,
            p99,
        }
    }
}

/// (sum, mean) of `count` values whose compensated sum is `sum`; when that
/// overflowed, from `near_overflow` ([`sum_mean_near_overflow`]).
fn mean_of(count: usize, sum: f64, near_overflow: impl FnOnce() -> (f64, f64)) -> (f64, f64) {
    if sum.is_finite() {
        (sum, sum / count as f64)
    } else {
        near_overflow()
    }
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
    let mut totals = Totals::default();
    for &v in values {
        totals.add(v);
    }
    totals.finish()
}

/// The running compensated sum, minimum and maximum of [`sum_min_max`].
struct Totals {
    sum: f64,
    c: f64,
    min: f64,
    max: f64,
}

impl Default for Totals {
    fn default() -> Self {
        Self {
            sum: 0.0,
            c: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Totals {
    #[inline(always)]
    fn add(&mut self, v: f64) {
        let t = self.sum + v;
        if self.sum.abs() >= v.abs() {
            self.c += (self.sum - t) + v;
        } else {
            self.c += (v - t) + self.sum;
        }
        self.sum = t;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// (sum, min, max)
    fn finish(&self) -> (f64, f64, f64) {
        (self.sum + self.c, self.min, self.max)
    }
}

/// Below this many values [`summarize_by`] copies them and selects, as
/// [`summarize`] does; from it on, the percentiles come from small bands
/// that a random sample places around them.
const BANDED_MIN: usize = 100_000;

/// Values drawn to place the bands.
const BAND_SAMPLE: usize = 16_384;

/// How far a band reaches, in standard deviations of the sample rank: with six, a
/// miss is rarer than once in a hundred million.
const BAND_SIGMAS: f64 = 6.0;

/// The percentiles [`Summary`] holds.
const SUMMARY_QUANTILES: [f64; 3] = [0.50, 0.95, 0.99];

/// [`summarize`] of the values `value` reads from `items`, bit for bit,
/// without copying them all out: the millions of samples of a raw latency
/// window are summarised where they lie.
///
/// From [`BANDED_MIN`] values on, one pass adds them up and, for each
/// percentile, counts the values below a band around it and keeps the
/// values inside (a few percent of them); the band comes from a seeded
/// random sample. The order statistics are then selected within the bands,
/// and the counts prove them exact. A band that missed its rank (see
/// [`BAND_SIGMAS`]) falls back to copying and selecting.
pub fn summarize_by<T>(items: &[T], value: impl Fn(&T) -> f64) -> Option<Summary> {
    if items.len() >= BANDED_MIN
        && let Some(summary) = summarize_banded(items, &value, BAND_SAMPLE, BAND_SIGMAS)
    {
        return Some(summary);
    }
    let mut values: Vec<f64> = items.iter().map(value).collect();
    summarize(&mut values)
}

/// [`summarize_by`] through bands; `None` when a band missed its rank.
/// `sample_size` values are drawn, and each band reaches `sigmas` standard
/// deviations of the sample rank (plus four) on each side ([`BAND_SAMPLE`],
/// [`BAND_SIGMAS`]; tests make bands that miss).
fn summarize_banded<T>(
    items: &[T],
    value: &impl Fn(&T) -> f64,
    sample_size: usize,
    sigmas: f64,
) -> Option<Summary> {
    let n = items.len();
    let positions = SUMMARY_QUANTILES.map(|q| ranks_of(n, q));
    let mut draw = xorshift(0x9e37_79b9_7f4a_7c15 ^ n as u64);
    let mut sample: Vec<i64> = (0..sample_size)
        .map(|_| order_key(value(&items[(draw() % n as u64) as usize])))
        .collect();
    sample.sort_unstable();
    let m = sample_size as f64;
    // The sample rank of the n·p-th value varies by √(m·p·(1−p)).
    let bands = positions.map(|(lo, hi, _)| {
        let (p_lo, p_hi) = (lo as f64 / n as f64, hi as f64 / n as f64);
        let spread = |p: f64| sigmas * (m * p * (1.0 - p)).sqrt() + 4.0;
        let from = (p_lo * m - spread(p_lo)).floor();
        let to = (p_hi * m + spread(p_hi)).ceil();
        let low = if from < 0.0 {
            i64::MIN
        } else {
            sample[from as usize]
        };
        let high = if to >= m {
            i64::MAX
        } else {
            sample[to as usize]
        };
        (low, high)
    });
    let mut totals = Totals::default();
    let mut below = [0usize; 3];
    let mut inside: [Vec<i64>; 3] = Default::default();
    for item in items {
        let v = value(item);
        totals.add(v);
        let key = order_key(v);
        for (band, (low, high)) in bands.iter().enumerate() {
            below[band] += usize::from(key < *low);
            if key >= *low && key <= *high {
                inside[band].push(key);
            }
        }
    }
    let mut found = [0.0; 3];
    for (band, &(lo, hi, frac)) in positions.iter().enumerate() {
        let start = below[band];
        let keys = &mut inside[band];
        if lo < start || hi >= start + keys.len() {
            return None;
        }
        let (_, at_lo, above) = keys.select_nth_unstable(lo - start);
        let at_lo = *at_lo;
        let at_hi = if hi == lo {
            at_lo
        } else {
            *above.iter().min()?
        };
        found[band] = lerp(from_order_key(at_lo), from_order_key(at_hi), frac);
    }
    let (sum, min, max) = totals.finish();
    let (sum, mean) = mean_of(n, sum, || {
        let values: Vec<f64> = items.iter().map(value).collect();
        sum_mean_near_overflow(&values)
    });
    Some(Summary::of(n, (sum, min, max), mean, found))
}

/// [`summarize_by`]'s banded path on any number of values, with a given
/// sample size and band reach: the exact summary, or `None` when a band
/// missed. For the fuzz target, which makes bands that miss.
#[doc(hidden)]
pub fn summarize_banded_values(values: &[f64], draws: usize, sigmas: f64) -> Option<Summary> {
    if values.is_empty() || draws == 0 {
        return None;
    }
    summarize_banded(values, &|v: &f64| *v, draws, sigmas)
}

/// The ranks ⌊h⌋ and ⌊h⌋+1 (at most n−1) and the fraction h − ⌊h⌋ of the
/// q-quantile of n values, h = (n−1)q: numpy's linear method.
fn ranks_of(n: usize, q: f64) -> (usize, usize, f64) {
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    (lo, (lo + 1).min(n - 1), h - lo as f64)
}

/// An integer that orders as [`f64::total_cmp`] orders the value.
#[inline(always)]
pub(crate) fn order_key(v: f64) -> i64 {
    let bits = v.to_bits() as i64;
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

/// The value of an [`order_key`] (the mapping is its own inverse).
fn from_order_key(key: i64) -> f64 {
    f64::from_bits((key ^ (((key >> 63) as u64) >> 1) as i64) as u64)
}

/// Several q-quantiles (each 0 ≤ q ≤ 1, in any order) of unsorted data, with
/// numpy's linear interpolation: exactly what [`quantile_sorted`] gives on the
/// sorted data. Reorders `values` (partially); `None` for an empty slice.
///
/// Each needed order statistic (⌊h⌋ and ⌊h⌋+1 of every h = (n−1)q) is found by
/// selection, in increasing rank, each within the part of the slice above
/// the previous one.
pub fn quantiles<const K: usize>(values: &mut [f64], qs: [f64; K]) -> Option<[f64; K]> {
    select_quantiles(
        values,
        qs,
        |rest, i| *rest.select_nth_unstable_by(i, f64::total_cmp).1,
        |v| v,
    )
}

/// [`quantiles`] of values given as their [`order_key`]s: the same numbers,
/// to the bit, with integer comparisons (several times cheaper than
/// [`f64::total_cmp`]'s). Reorders `keys` (partially).
pub(crate) fn quantiles_of_keys<const K: usize>(
    keys: &mut [i64],
    qs: [f64; K],
) -> Option<[f64; K]> {
    select_quantiles(
        keys,
        qs,
        |rest, i| *rest.select_nth_unstable(i).1,
        from_order_key,
    )
}

/// The order statistics the quantiles need, each selected (`select(rest, i)`:
/// the i-th smallest of `rest`, reordering it) in increasing rank within the
/// part above the previous one, and interpolated as numbers (`number`).
fn select_quantiles<T: Copy, const K: usize>(
    values: &mut [T],
    qs: [f64; K],
    mut select: impl FnMut(&mut [T], usize) -> T,
    number: impl Fn(T) -> f64,
) -> Option<[f64; K]> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    // (rank, value) of each order statistic needed, ranks ascending.
    let mut ranks: Vec<usize> = Vec::with_capacity(2 * K);
    let positions = qs.map(|q| ranks_of(n, q));
    for &(lo, hi, _) in &positions {
        ranks.push(lo);
        ranks.push(hi);
    }
    ranks.sort_unstable();
    ranks.dedup();
    let mut found: Vec<(usize, f64)> = Vec::with_capacity(ranks.len());
    let mut base = 0;
    for &rank in &ranks {
        let x = select(&mut values[base..], rank - base);
        found.push((rank, number(x)));
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

    /// Bit-for-bit equality of two summaries (NaN-safe).
    fn same(a: &Summary, b: &Summary) -> bool {
        [a.mean, a.min, a.max, a.sum, a.p50, a.p95, a.p99].map(f64::to_bits)
            == [b.mean, b.min, b.max, b.sum, b.p50, b.p95, b.p99].map(f64::to_bits)
            && a.count == b.count
    }

    /// Latency-like data: a few thousand distinct values (many ties), a heavy
    /// tail, in a seeded order; `spread` distinct values at most.
    fn latencies(n: usize, spread: u64, seed: u64) -> Vec<f64> {
        let mut next = xorshift(seed);
        (0..n)
            .map(|_| {
                let r = next();
                let base = (r % spread) as f64 / 1000.0 + 2.0;
                if r.is_multiple_of(33) {
                    base * 20.0
                } else {
                    base
                }
            })
            .collect()
    }

    #[test]
    fn banded_summary_equals_the_selected_one_to_the_bit() {
        let mut shapes: Vec<Vec<f64>> = vec![
            latencies(BANDED_MIN, 3_000, 1),
            latencies(250_001, 7, 2),
            latencies(1_000_000, 1_000_000, 3),
            // Sorted, reversed, constant, signed with zeros of both signs.
            (0..300_000).map(f64::from).collect(),
            (0..300_000).rev().map(f64::from).collect(),
            vec![4.25; 200_000],
            latencies(400_000, 50, 4)
                .into_iter()
                .enumerate()
                .map(|(i, v)| match i % 5 {
                    0 => -v,
                    1 => -0.0,
                    2 => 0.0,
                    _ => v,
                })
                .collect(),
        ];
        // A few extreme values at the ends.
        shapes[2][17] = f64::INFINITY;
        shapes[2][18] = f64::NEG_INFINITY;
        for values in &shapes {
            let want = summarize(&mut values.clone()).unwrap();
            let banded = summarize_banded(values, &|v: &f64| *v, BAND_SAMPLE, BAND_SIGMAS)
                .expect("a band of the full sample missed its rank");
            assert!(same(&banded, &want), "{banded:?} != {want:?}");
            let by = summarize_by(values, |v| *v).unwrap();
            assert!(same(&by, &want));
        }
    }

    #[test]
    fn a_band_that_misses_falls_back_to_the_exact_summary() {
        // Narrow bands from 64 draws: some miss, and what is returned is
        // still exact or nothing.
        let (mut missed, mut hit) = (0, 0);
        for seed in 1..40 {
            let values = latencies(120_000 + seed as usize, 2_000, seed);
            let want = summarize(&mut values.clone()).unwrap();
            match summarize_banded(&values, &|v: &f64| *v, 64, 0.3) {
                Some(got) => {
                    assert!(same(&got, &want));
                    hit += 1;
                }
                None => missed += 1,
            }
        }
        assert!(missed > 0 && hit > 0, "missed {missed}, hit {hit}");
    }

    #[test]
    fn summarize_by_reads_fields_in_place() {
        struct Pair {
            _t: f64,
            v: f64,
        }
        let values = latencies(150_000, 500, 9);
        let pairs: Vec<Pair> = values.iter().map(|&v| Pair { _t: 0.0, v }).collect();
        let got = summarize_by(&pairs, |p| p.v).unwrap();
        assert!(same(&got, &summarize(&mut values.clone()).unwrap()));
        assert_eq!(summarize_by::<Pair>(&[], |p| p.v), None);
    }

    #[test]
    fn quantiles_of_keys_are_the_quantiles_of_the_values() {
        let qs = [0.0, 0.25, 0.5, 0.95, 0.99, 0.999, 1.0];
        let mut next = xorshift(77);
        for n in [1, 2, 3, 10, 101, 1_000, 14_000] {
            let mut values = latencies(n, 40, next());
            values[0] = -0.0;
            if n > 3 {
                values[1] = f64::NEG_INFINITY;
                values[2] = -values[3];
            }
            let mut keys: Vec<i64> = values.iter().map(|&v| order_key(v)).collect();
            let want = quantiles(&mut values.clone(), qs).unwrap();
            let got = quantiles_of_keys(&mut keys, qs).unwrap();
            assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "n={n}");
        }
        assert_eq!(quantiles_of_keys(&mut [], [0.5]), None);
    }

    #[test]
    fn order_keys_order_as_total_cmp() {
        let values = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            1.0,
            1e300,
            f64::INFINITY,
            f64::NAN,
        ];
        for a in values {
            assert_eq!(from_order_key(order_key(a)).to_bits(), a.to_bits());
            for b in values {
                assert_eq!(order_key(a).cmp(&order_key(b)), a.total_cmp(&b), "{a} {b}");
            }
        }
    }
}
