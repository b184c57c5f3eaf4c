//! Statistics a reviewer can trust: is a window's distribution really shifted
//! from the baseline's, by how much, and how large is the effect?
//!
//! Pure functions, checked against scipy and numpy
//! (`tests/reference/make_mannwhitney.py` → `tests/fixtures/stats/mannwhitney.json`):
//!
//! - [`mann_whitney_u`]: the Mann-Whitney U test, two-sided, as
//!   `scipy.stats.mannwhitneyu(x, y, use_continuity=True, alternative="two-sided",
//!   method=...)` computes it: average ranks for ties; the asymptotic p-value
//!   uses the tie-corrected variance and the 0.5 continuity correction; the
//!   exact p-value counts the U distribution (no ties). `method="auto"` picks
//!   exact when there are no ties and either sample has at most 8 values, as
//!   scipy does. The exact count is done in 128-bit integers; when it would not
//!   fit (C(n1+n2, n1) ≥ 2¹²⁶, or more than [`EXACT_MAX_TERMS`] terms), the
//!   asymptotic p-value is used instead and the result says so.
//! - [`hodges_lehmann`]: the Hodges-Lehmann shift, the median of the n1·n2
//!   pairwise differences `y[j] - x[i]` (numpy's median: the mean of the two
//!   middle values for an even count), with a distribution-free confidence
//!   interval: the C-th smallest and C-th largest difference, where
//!   C = round(n1·n2/2 − z₍₁₋α/₂₎·σ) (Hollander & Wolfe; σ the tie-corrected
//!   standard deviation of U), clamped to 1..=n1·n2. The differences are never
//!   all formed: each order statistic is found by selection in the implicit
//!   sorted matrix (Monahan's method), O((n1+n2)·log(n1·n2)) expected time and
//!   O(n1+n2) memory, so windows of millions of samples cost seconds at worst.
//! - Effect size: the rank-biserial correlation r = 1 − 2·U1/(n1·n2)
//!   (= Cliff's delta), positive when `y` tends to be larger; and the
//!   probability of superiority P(Y > X) + ½·P(Y = X) = U2/(n1·n2).
//!
//! [`compare_metric`] applies them to a run: baseline against during and
//! against post, over the same samples the windows are summarised from (raw
//! per-query samples for latency metrics fed by them, series points
//! otherwise, kill switch checks for the kill switch metrics).

use crate::judge::analysis::{DataSource, MetricAnalysis, Span, Windows, span_slice};
use crate::judge::classify::{MetricVerdict, Status};
use crate::model::{InputMetric, MetricId, RawLatency, RunData, Sample, Window};
use crate::thresholds::{BoundKind, MetricThreshold};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};
use std::borrow::Cow;

/// A window needs at least this many samples, and so does the baseline, to be compared.
pub const MIN_SAMPLES: usize = 8;
/// A shift is significant below this p-value...
pub const ALPHA: f64 = 0.01;
/// ...and with at least this large an effect (|rank-biserial r|): Romano et
/// al.'s threshold between a negligible and a small Cliff's delta.
pub const MIN_EFFECT: f64 = 0.147;
/// Confidence level of the Hodges-Lehmann interval.
pub const CONFIDENCE: f64 = 0.95;
/// Largest number of U values (min(n1,n2)·max(n1,n2)/2) for which the exact
/// distribution is counted; beyond it the asymptotic p-value is used.
pub const EXACT_MAX_TERMS: usize = 2_000_000;
/// Largest sample (baseline or window) whose every value enters the
/// Hodges-Lehmann shift and interval. A larger one still counts in full for
/// U, the p-value and the effect size, but its shift and interval are taken
/// on a systematic subsample: every k-th value in time order,
/// k = ⌈n / `HL_MAX_SAMPLES`⌉ (deterministic), and the result says so
/// ([`ShiftTest::hl_subsample`]).
pub const HL_MAX_SAMPLES: usize = 50_000;

/// Above this many values in a window, the whole test (U, p-value, effect and
/// shift) runs on a systematic subsample of every k-th value in time order,
/// k = ⌈n / `TEST_MAX_SAMPLES`⌉, and says so ([`ShiftTest::test_subsample`]).
/// Half a million values detect any shift worth a reviewer's time; sorting
/// tens of millions would cost more than the rest of a build.
pub const TEST_MAX_SAMPLES: usize = 500_000;

/// How a p-value was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TestMethod {
    /// The exact null distribution of U (no ties).
    Exact,
    /// The normal approximation, tie-corrected, with continuity correction.
    Asymptotic,
}

/// Which p-value to compute, as scipy's `method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodChoice {
    /// Exact when there are no ties and min(n1, n2) ≤ 8; else asymptotic.
    Auto,
    Exact,
    Asymptotic,
}

/// The outcome of a two-sided Mann-Whitney U test of `x` against `y`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U1, the statistic of `x`: pairs with x > y, plus half the ties (scipy's `statistic`).
    pub u1: f64,
    /// U2 = n1·n2 − U1.
    pub u2: f64,
    pub p_value: f64,
    /// The standardised statistic of the asymptotic method (scipy's, from
    /// max(U1, U2), so never much below 0); `None` for the exact method or
    /// when every value is tied.
    pub z: Option<f64>,
    pub method: TestMethod,
    pub n1: usize,
    pub n2: usize,
    /// Whether any value occurs more than once across both samples.
    pub ties: bool,
}

impl MannWhitney {
    /// Rank-biserial correlation 1 − 2·U1/(n1·n2), in [−1, 1]: positive when
    /// `y` tends to be larger than `x`.
    pub fn rank_biserial(&self) -> f64 {
        1.0 - 2.0 * self.u1 / (self.n1 as f64 * self.n2 as f64)
    }

    /// Common-language effect size P(Y > X) + ½·P(Y = X) = U2/(n1·n2).
    pub fn probability_of_superiority(&self) -> f64 {
        self.u2 / (self.n1 as f64 * self.n2 as f64)
    }
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    sort_total(&mut v);
    v
}

/// Sorts by [`f64::total_cmp`]'s order, by radix: the same order bit for
/// bit (radsort maps floats to integers as `total_cmp` compares them), several
/// times faster on the hundreds of thousands of values a window holds.
fn sort_total(values: &mut [f64]) {
    radsort::sort(values);
}

/// Ranks by merging two sorted samples: (U1, Σ(t³ − t) over tie groups, any ties).
fn rank_sums(x: &[f64], y: &[f64]) -> (f64, f64, bool) {
    let (mut i, mut j) = (0usize, 0usize);
    let mut rank0 = 1.0f64; // rank of the next value, 1-based
    let mut r1 = 0.0f64;
    let mut tie_term = 0.0f64;
    let mut ties = false;
    while i < x.len() || j < y.len() {
        let v = match (x.get(i), y.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => unreachable!(),
        };
        let (i0, j0) = (i, j);
        while i < x.len() && x[i] == v {
            i += 1;
        }
        while j < y.len() && y[j] == v {
            j += 1;
        }
        let (cx, cy) = ((i - i0) as f64, (j - j0) as f64);
        let t = cx + cy;
        let average = rank0 + (t - 1.0) / 2.0;
        r1 += cx * average;
        if t > 1.0 {
            ties = true;
            tie_term += t * t * t - t;
        }
        rank0 += t;
    }
    let n1 = x.len() as f64;
    (r1 - n1 * (n1 + 1.0) / 2.0, tie_term, ties)
}

fn std_normal() -> Normal {
    Normal::new(0.0, 1.0).expect("the standard normal is valid")
}

/// σ of U under the null, tie-corrected.
fn u_sigma(n1: usize, n2: usize, tie_term: f64) -> f64 {
    let (a, b) = (n1 as f64, n2 as f64);
    let n = a + b;
    let inner = (n + 1.0)
        - if n > 1.0 {
            tie_term / (n * (n - 1.0))
        } else {
            0.0
        };
    (a * b / 12.0 * inner).max(0.0).sqrt()
}

/// Two-sided Mann-Whitney U test of `x` against `y`, as scipy computes it.
/// `None` when either sample is empty or holds a NaN.
pub fn mann_whitney_u(x: &[f64], y: &[f64], method: MethodChoice) -> Option<MannWhitney> {
    if x.is_empty() || y.is_empty() || x.iter().chain(y).any(|v| v.is_nan()) {
        return None;
    }
    let (xs, ys) = (sorted(x), sorted(y));
    Some(mann_whitney_sorted(&xs, &ys, method).0)
}

/// The test on sorted samples, with Σ(t³ − t) over the tie groups.
fn mann_whitney_sorted(xs: &[f64], ys: &[f64], method: MethodChoice) -> (MannWhitney, f64) {
    let (n1, n2) = (xs.len(), ys.len());
    let (u1, tie_term, ties) = rank_sums(xs, ys);
    let u2 = n1 as f64 * n2 as f64 - u1;
    let u = u1.max(u2);
    let want_exact = match method {
        MethodChoice::Exact => true,
        MethodChoice::Asymptotic => false,
        MethodChoice::Auto => !ties && (n1 <= 8 || n2 <= 8),
    };
    let exact = if want_exact {
        exact_p_value(u, n1, n2)
    } else {
        None
    };
    let (p_value, z, method) = match exact {
        Some(p) => (p, None, TestMethod::Exact),
        None => {
            let s = u_sigma(n1, n2, tie_term);
            let mu = n1 as f64 * n2 as f64 / 2.0;
            if s > 0.0 {
                let z = (u - mu - 0.5) / s;
                let p = (2.0 * std_normal().sf(z)).clamp(0.0, 1.0);
                (p, Some(z), TestMethod::Asymptotic)
            } else {
                // Every value the same: nothing to tell apart.
                (1.0, None, TestMethod::Asymptotic)
            }
        }
    };
    (
        MannWhitney {
            u1,
            u2,
            p_value,
            z,
            method,
            n1,
            n2,
            ties,
        },
        tie_term,
    )
}

/// 2·P(U ≥ u) under the null, u = max(U1, U2), from the exact distribution:
/// by symmetry P(U ≤ n1·n2 − u). `None` when too large to count exactly.
fn exact_p_value(u: f64, n1: usize, n2: usize) -> Option<f64> {
    let (m, n) = (n1.min(n2), n1.max(n2));
    let total_pairs = m.checked_mul(n)?;
    // U of tied data is a half-integer; the exact distribution is of integers
    // (scipy truncates, and so does this).
    let kc = total_pairs.checked_sub(u.floor() as usize)?;
    if kc > EXACT_MAX_TERMS || m.checked_mul(kc)? > 16 * EXACT_MAX_TERMS {
        return None;
    }
    let total = binomial_u128(n + m, m)?;
    if total >= 1u128 << 126 {
        return None;
    }
    let counts = u_counts(m, n, kc);
    let below: i128 = counts.iter().sum();
    Some((2.0 * below as f64 / total as f64).clamp(0.0, 1.0))
}

/// C(n, k) in 128 bits, `None` on overflow.
fn binomial_u128(n: usize, k: usize) -> Option<u128> {
    let k = k.min(n - k);
    let mut c: u128 = 1;
    for i in 1..=k as u128 {
        // c·(n−k+i)/i is exact at every step: c is C(n−k+i−1, i−1).
        c = c.checked_mul(n as u128 - k as u128 + i)? / i;
    }
    Some(c)
}

/// The number of arrangements with U = 0..=max_u for samples of m and n values:
/// the coefficients of the Gaussian binomial [m+n choose m]_q =
/// ∏ᵢ₌₁..ₘ (1 − q^(n+i)) / (1 − q^i), truncated at degree max_u. Every
/// intermediate is bounded by C(m+n, m), so 128-bit integers are exact.
fn u_counts(m: usize, n: usize, max_u: usize) -> Vec<i128> {
    let mut c = vec![0i128; max_u + 1];
    c[0] = 1;
    for i in 1..=m {
        let up = n + i;
        if up <= max_u {
            for k in (up..=max_u).rev() {
                c[k] -= c[k - up];
            }
        }
        for k in i..=max_u {
            c[k] += c[k - i];
        }
    }
    c
}

/// The k-th smallest (0-based) of the n1·n2 differences `ys[j] − xs[i]`, both
/// sorted ascending, without forming them. Each round draws a few thousand of
/// the remaining candidates, takes two pivots that bracket rank `k` among
/// them (as Floyd and Rivest's selection does), and narrows each row's
/// candidate columns to those between the pivots; with a sample that size the
/// candidates shrink about tenfold a round, so a few passes over the rows do.
/// Exact whatever the draws; deterministic (fixed seed).
pub fn kth_pairwise_difference(xs: &[f64], ys: &[f64], k: usize) -> f64 {
    const DRAWS: usize = 4096;
    let (n1, n2) = (xs.len(), ys.len());
    assert!(k < n1 * n2, "k out of range");
    // Row i's candidates are columns lo[i]..hi[i]; `k` is relative to them.
    let mut lo = vec![0usize; n1];
    let mut hi = vec![n2; n1];
    let mut k = k;
    let mut rand = crate::stats::xorshift(0x2545_f491_4f6c_dd1d);
    let small = (n1 + n2).max(4096);
    let mut below = vec![0usize; n1];
    let mut through = vec![0usize; n1];
    // Candidates before row i, for drawing one uniformly.
    let mut before = vec![0usize; n1 + 1];
    let mut draws: Vec<f64> = Vec::with_capacity(DRAWS);
    loop {
        for i in 0..n1 {
            before[i + 1] = before[i] + (hi[i] - lo[i]);
        }
        let remaining = before[n1];
        if remaining <= small {
            let mut rest: Vec<f64> = Vec::with_capacity(remaining);
            for i in 0..n1 {
                rest.extend(ys[lo[i]..hi[i]].iter().map(|y| y - xs[i]));
            }
            let (_, v, _) = rest.select_nth_unstable_by(k, f64::total_cmp);
            return *v;
        }
        draws.clear();
        draws.extend((0..DRAWS).map(|_| {
            let r = (rand() % remaining as u64) as usize;
            let i = before.partition_point(|&b| b <= r) - 1;
            ys[lo[i] + (r - before[i])] - xs[i]
        }));
        draws.sort_unstable_by(f64::total_cmp);
        // Rank k among the draws, give or take three standard deviations.
        let at = k as f64 / remaining as f64 * DRAWS as f64;
        let spread = 3.0 * (DRAWS as f64).sqrt();
        let pick = |rank: f64| draws[(rank.max(0.0) as usize).min(DRAWS - 1)];
        let (low, high) = (pick(at - spread), pick(at + spread));
        let (n_below, n_through) =
            count_rows(xs, ys, &lo, &hi, low, high, &mut below, &mut through);
        if k < n_below {
            hi.copy_from_slice(&below);
        } else if k >= n_through {
            k -= n_through;
            lo.copy_from_slice(&through);
        } else if low == high {
            // Every candidate between the pivots equals them.
            return low;
        } else if n_through - n_below < remaining {
            k -= n_below;
            lo.copy_from_slice(&below);
            hi.copy_from_slice(&through);
        } else {
            // Every candidate lies between the pivots: split at one drawn
            // between them instead, which always narrows.
            let pivot = pick(at);
            let (n_below, n_through) =
                count_rows(xs, ys, &lo, &hi, pivot, pivot, &mut below, &mut through);
            if k < n_below {
                hi.copy_from_slice(&below);
            } else if k < n_through {
                return pivot;
            } else {
                k -= n_through;
                lo.copy_from_slice(&through);
            }
        }
    }
}

/// Per row i, within its candidates `lo[i]..hi[i]`: `below[i]` ends the
/// columns whose difference is < `low`, `through[i]` those whose difference
/// is ≤ `high` (`low` ≤ `high`). The computed difference is monotone in j (up)
/// and in i (down), so each boundary only moves right as i grows: two
/// pointers, one pass. Returns how many candidates lie below `low` and how
/// many up to `high`.
#[allow(clippy::too_many_arguments)]
fn count_rows(
    xs: &[f64],
    ys: &[f64],
    lo: &[usize],
    hi: &[usize],
    low: f64,
    high: f64,
    below: &mut [usize],
    through: &mut [usize],
) -> (usize, usize) {
    let n2 = ys.len();
    let (mut b, mut t) = (0usize, 0usize);
    let (mut n_below, mut n_through) = (0usize, 0usize);
    for i in 0..xs.len() {
        while b < n2 && ys[b] - xs[i] < low {
            b += 1;
        }
        if t < b {
            t = b;
        }
        while t < n2 && ys[t] - xs[i] <= high {
            t += 1;
        }
        below[i] = b.clamp(lo[i], hi[i]);
        through[i] = t.clamp(lo[i], hi[i]);
        n_below += below[i] - lo[i];
        n_through += through[i] - lo[i];
    }
    (n_below, n_through)
}

/// The Hodges-Lehmann shift of `y` against `x` with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HodgesLehmann {
    /// Median of the pairwise differences y − x: positive when `y` is higher.
    pub shift: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// e.g. 0.95.
    pub confidence: f64,
    /// The 1-based order statistics taken for the interval: the
    /// `ci_rank`-th smallest and largest difference.
    pub ci_rank: u64,
}

/// Hodges-Lehmann estimate of the shift of `y` over `x` with a `confidence`
/// interval. `None` when either sample is empty or holds a NaN.
pub fn hodges_lehmann(x: &[f64], y: &[f64], confidence: f64) -> Option<HodgesLehmann> {
    if x.is_empty() || y.is_empty() || x.iter().chain(y).any(|v| v.is_nan()) {
        return None;
    }
    let (xs, ys) = (sorted(x), sorted(y));
    let (_, tie_term, _) = rank_sums(&xs, &ys);
    Some(hodges_lehmann_sorted(&xs, &ys, tie_term, confidence))
}

fn hodges_lehmann_sorted(xs: &[f64], ys: &[f64], tie_term: f64, confidence: f64) -> HodgesLehmann {
    let total = xs.len() * ys.len();
    let shift = if total % 2 == 1 {
        kth_pairwise_difference(xs, ys, total / 2)
    } else {
        let a = kth_pairwise_difference(xs, ys, total / 2 - 1);
        let b = kth_pairwise_difference(xs, ys, total / 2);
        (a + b) / 2.0
    };
    let z = std_normal().inverse_cdf(1.0 - (1.0 - confidence) / 2.0);
    let sigma = u_sigma(xs.len(), ys.len(), tie_term);
    let c = (total as f64 / 2.0 - z * sigma).round();
    let c = (c.max(1.0) as usize).min(total);
    HodgesLehmann {
        shift,
        ci_low: kth_pairwise_difference(xs, ys, c - 1),
        ci_high: kth_pairwise_difference(xs, ys, total - c),
        confidence,
        ci_rank: c as u64,
    }
}

/// Everything known about one window against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShiftTest {
    /// The Mann-Whitney U of the baseline (x) against the window (y).
    pub u: f64,
    pub p_value: f64,
    /// The asymptotic method's standardised statistic.
    pub z: Option<f64>,
    pub method: TestMethod,
    /// Rank-biserial correlation (Cliff's delta): positive when the window is higher.
    pub rank_biserial: f64,
    /// P(window > baseline) + ½·P(equal).
    pub probability_of_superiority: f64,
    pub hodges_lehmann: HodgesLehmann,
    /// Set when a sample had more than [`HL_MAX_SAMPLES`] values: the
    /// Hodges-Lehmann shift and interval are then of systematic subsamples
    /// (every k-th value in time order), of these sizes; U, the p-value and
    /// the effect size are of every value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hl_subsample: Option<HlSubsample>,
    /// Set when a window had more than [`TEST_MAX_SAMPLES`] values: the whole
    /// test is of systematic subsamples of these sizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_subsample: Option<HlSubsample>,
}

/// The sizes of the samples a Hodges-Lehmann estimate was taken on, when
/// subsampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HlSubsample {
    /// Baseline values used (of `n_baseline`).
    pub baseline: u64,
    /// Window values used (of `n_window`).
    pub window: u64,
}

/// The step of the systematic subsample of `n` values, `None` when all are kept.
fn subsample_step(n: usize) -> Option<usize> {
    (n > HL_MAX_SAMPLES).then(|| n.div_ceil(HL_MAX_SAMPLES))
}

/// Every `step`-th value of `values` (time order), sorted.
fn sorted_subsample(values: impl Iterator<Item = f64>, step: usize) -> Vec<f64> {
    let mut v: Vec<f64> = values.step_by(step).collect();
    sort_total(&mut v);
    v
}

/// The comparison of sorted samples; `x_sub` / `y_sub` the sorted subsamples
/// the Hodges-Lehmann estimate is taken on instead, if any.
fn shift_test_sorted(
    xs: &[f64],
    ys: &[f64],
    x_sub: Option<&[f64]>,
    y_sub: Option<&[f64]>,
) -> ShiftTest {
    let (mw, tie_term) = mann_whitney_sorted(xs, ys, MethodChoice::Auto);
    let subsampled = x_sub.is_some() || y_sub.is_some();
    let (hx, hy) = (x_sub.unwrap_or(xs), y_sub.unwrap_or(ys));
    let hl_ties = if subsampled {
        rank_sums(hx, hy).1
    } else {
        tie_term
    };
    ShiftTest {
        u: mw.u1,
        p_value: mw.p_value,
        z: mw.z,
        method: mw.method,
        rank_biserial: mw.rank_biserial(),
        probability_of_superiority: mw.probability_of_superiority(),
        hodges_lehmann: hodges_lehmann_sorted(hx, hy, hl_ties, CONFIDENCE),
        hl_subsample: subsampled.then_some(HlSubsample {
            baseline: hx.len() as u64,
            window: hy.len() as u64,
        }),
        test_subsample: None,
    }
}

/// The full comparison of two samples (each in time order): test, effect and
/// shift. Beyond [`HL_MAX_SAMPLES`] values the shift is of a subsample.
pub fn compare_samples(baseline: &[f64], window: &[f64]) -> Option<ShiftTest> {
    if baseline.is_empty() || window.is_empty() || baseline.iter().chain(window).any(|v| v.is_nan())
    {
        return None;
    }
    let (xs, ys) = (sorted(baseline), sorted(window));
    let x_sub = subsample_step(xs.len()).map(|k| sorted_subsample(baseline.iter().copied(), k));
    let y_sub = subsample_step(ys.len()).map(|k| sorted_subsample(window.iter().copied(), k));
    Some(shift_test_sorted(
        &xs,
        &ys,
        x_sub.as_deref(),
        y_sub.as_deref(),
    ))
}

/// Whether a window could be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Compared: see `test`.
    Tested,
    /// Too few samples, or nothing but zeros or one repeated value: not judged.
    Sparse,
    /// The window or the baseline has no samples (or does not exist).
    NoData,
}

/// Which way is worse for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Worse {
    Higher,
    Lower,
    /// The metric has no bound: a shift is reported, never called a worsening.
    Unknown,
}

impl Worse {
    pub fn of(kind: BoundKind) -> Worse {
        match kind {
            BoundKind::Above | BoundKind::IncreasePct | BoundKind::AbovePctOfMaxConnections => {
                Worse::Higher
            }
            BoundKind::Below | BoundKind::DecreasePct => Worse::Lower,
            BoundKind::None => Worse::Unknown,
        }
    }
}

/// Baseline against one window of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WindowComparison {
    /// `during` or `post`.
    pub window: Window,
    pub outcome: Outcome,
    /// Why it was not tested.
    pub reason: Option<String>,
    pub n_baseline: u64,
    pub n_window: u64,
    pub test: Option<ShiftTest>,
    /// p < [`ALPHA`] and |rank-biserial| ≥ [`MIN_EFFECT`].
    pub significant: bool,
    /// Significant, and in the direction that is worse for the metric.
    pub worsening: bool,
    /// The bounds already judged this window WARNING or CRITICAL.
    pub flagged_by_bounds: bool,
    /// A significant worsening the bounds did not flag, in words.
    pub note: Option<String>,
}

/// One metric's statistical comparison (report section 3.6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MetricSignificance {
    /// Which way is worse, from the metric's bound kind.
    pub worse: Worse,
    /// The thresholds file makes a significant worsening of this metric a blocker.
    pub blocks: bool,
    pub during: WindowComparison,
    pub post: WindowComparison,
}

impl MetricSignificance {
    pub fn windows(&self) -> [&WindowComparison; 2] {
        [&self.during, &self.post]
    }

    /// A significant worsening in either window.
    pub fn worsened(&self) -> bool {
        self.during.worsening || self.post.worsening
    }
}

/// A window's samples in time order (`None`: no such window).
type WindowSamples<'a> = Option<Cow<'a, [Sample]>>;

/// The samples each window of a metric is summarised from, in time order:
/// borrowed from the run by binary search (its series are sorted by time), or
/// copied out when a timeline is not sorted.
fn window_samples<'a>(
    run: &'a RunData,
    analysis: &'a MetricAnalysis,
    windows: &Windows,
) -> [WindowSamples<'a>; 3] {
    let raw: Option<&[Sample]> = match analysis.source {
        DataSource::RawSamples => raw_source(analysis)
            .and_then(|r| run.series.get(&InputMetric::Raw(r)))
            .map(Vec::as_slice),
        DataSource::Series | DataSource::Events | DataSource::Counts => {
            Some(analysis.timeline.as_slice())
        }
        DataSource::None => None,
    };
    let Some(samples) = raw else {
        return [None, None, None];
    };
    // Kill switch checks: everything before the DDL counts as baseline and
    // everything after it as post, as the analysis counts them.
    let spans = if analysis.source == DataSource::Events {
        [
            windows
                .during
                .map(|d| Span {
                    start: f64::MIN,
                    end: d.start,
                })
                .or(windows.baseline),
            windows.during,
            windows.post.map(|p| Span {
                start: p.start,
                end: f64::MAX,
            }),
        ]
    } else {
        [windows.baseline, windows.during, windows.post]
    };
    spans_of(samples, spans, samples.is_sorted_by(|a, b| a.t <= b.t))
}

/// The samples inside each span, in time order (`by_time`: `samples` are).
fn spans_of(samples: &[Sample], spans: [Option<Span>; 3], by_time: bool) -> [WindowSamples<'_>; 3] {
    spans.map(|span| {
        span.map(|s| {
            if by_time {
                Cow::Borrowed(span_slice(samples, s))
            } else {
                Cow::Owned(
                    samples
                        .iter()
                        .filter(|x| s.contains(x.t))
                        .copied()
                        .collect(),
                )
            }
        })
    })
}

/// The raw latency distribution a metric is computed from, if any.
fn raw_source(analysis: &MetricAnalysis) -> Option<RawLatency> {
    if analysis.source != DataSource::RawSamples {
        return None;
    }
    let metric = analysis.metric;
    RawLatency::ALL.into_iter().find(|r| {
        let (p50, p99) = r.metrics();
        metric == p50 || metric == p99
    })
}

/// A window's values sorted (NaNs, if any, at the ends).
fn sorted_values(samples: &[Sample]) -> Vec<f64> {
    let mut v: Vec<f64> = samples.iter().map(|s| s.v).collect();
    sort_total(&mut v);
    v
}

/// The part of a window's comparison that depends only on its samples, not on
/// the metric: shared by the P50 and P99 metrics of one raw distribution.
#[derive(Debug, Clone)]
struct WindowTest {
    outcome: Outcome,
    reason: Option<String>,
    n_baseline: u64,
    n_window: u64,
    test: Option<ShiftTest>,
}

/// Baseline (time order, and its values sorted) against one window.
fn test_window(
    window: Window,
    baseline: Option<(&[Sample], &[f64])>,
    values: Option<&[Sample]>,
) -> WindowTest {
    let mut c = WindowTest {
        outcome: Outcome::NoData,
        reason: None,
        n_baseline: baseline.map_or(0, |b| b.0.len() as u64),
        n_window: values.map_or(0, |v| v.len() as u64),
        test: None,
    };
    let (Some((b, bs)), Some(v)) = (baseline, values) else {
        c.reason = Some("no baseline or no such window".into());
        return c;
    };
    if b.is_empty() || v.is_empty() {
        c.reason = Some("no samples in the baseline or the window".into());
        return c;
    }
    c.outcome = Outcome::Sparse;
    if b.len() < MIN_SAMPLES || v.len() < MIN_SAMPLES {
        c.reason = Some(format!(
            "fewer than {MIN_SAMPLES} samples ({} baseline, {} {})",
            b.len(),
            v.len(),
            window.key()
        ));
        return c;
    }
    let vs = sorted_values(v);
    // Sorted by total order, so the ends bound every value (and a NaN, which
    // sorts to an end, equals nothing).
    let (lo, hi) = ((bs[0], bs[bs.len() - 1]), (vs[0], vs[vs.len() - 1]));
    if [lo.0, lo.1, hi.0, hi.1].iter().all(|x| *x == 0.0) {
        c.reason = Some("all zero".into());
        return c;
    }
    let first = lo.0;
    if [lo.1, hi.0, hi.1].iter().all(|x| *x == first) {
        c.reason = Some(format!("every sample is {}", fmt_num(first)));
        return c;
    }
    if [lo.0, lo.1, hi.0, hi.1].iter().any(|x| x.is_nan()) {
        c.reason = Some("a sample is not a number".into());
        return c;
    }
    let x_sub = subsample_step(b.len()).map(|k| sorted_subsample(b.iter().map(|s| s.v), k));
    let y_sub = subsample_step(v.len()).map(|k| sorted_subsample(v.iter().map(|s| s.v), k));
    c.outcome = Outcome::Tested;
    c.test = Some(shift_test_sorted(
        bs,
        &vs,
        x_sub.as_deref(),
        y_sub.as_deref(),
    ));
    c
}

/// Every k-th sample (time order) of a window above [`TEST_MAX_SAMPLES`].
fn thinned(samples: &[Sample]) -> Option<Vec<Sample>> {
    (samples.len() > TEST_MAX_SAMPLES).then(|| {
        let k = samples.len().div_ceil(TEST_MAX_SAMPLES);
        samples.iter().step_by(k).copied().collect()
    })
}

/// Baseline against during and against post, from the windows' samples.
fn test_windows(samples: &[WindowSamples<'_>; 3]) -> [WindowTest; 2] {
    let full: [Option<&[Sample]>; 3] = [0, 1, 2].map(|i| samples[i].as_deref());
    let thin: [Option<Vec<Sample>>; 3] = full.map(|w| w.and_then(thinned));
    let used: [Option<&[Sample]>; 3] = [0, 1, 2].map(|i| thin[i].as_deref().or(full[i]));
    let sorted_baseline = used[0].map(sorted_values);
    let b = used[0].zip(sorted_baseline.as_deref());
    [(Window::During, 1), (Window::Post, 2)].map(|(window, i)| {
        let mut t = test_window(window, b, used[i]);
        // Counts are of the whole windows; the test says what it used.
        t.n_baseline = full[0].map_or(0, |s| s.len() as u64);
        t.n_window = full[i].map_or(0, |s| s.len() as u64);
        if (thin[0].is_some() || thin[i].is_some())
            && let Some(test) = t.test.as_mut()
        {
            test.test_subsample = Some(HlSubsample {
                baseline: used[0].map_or(0, |s| s.len() as u64),
                window: used[i].map_or(0, |s| s.len() as u64),
            });
        }
        t
    })
}

fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if let Some(s) = crate::model::too_large_to_spell(v) {
        s
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// p-values for people: `p < 1e-16` below what a double tells apart.
pub fn fmt_p(p: f64) -> String {
    if p < 1e-16 {
        "p < 1e-16".into()
    } else if p < 0.001 {
        format!("p = {p:.1e}")
    } else {
        format!("p = {p:.3}")
    }
}

fn with_unit(v: f64, unit: &str, signed: bool) -> String {
    let n = if signed && v > 0.0 {
        format!("+{}", fmt_num(v))
    } else {
        fmt_num(v)
    };
    match unit {
        "count" => n,
        "%" => format!("{n} pp"),
        u => format!("{n} {u}"),
    }
}

/// The metric's view of a window's test: significance, direction, note.
fn compare_window(
    metric: MetricId,
    worse: Worse,
    window: Window,
    t: WindowTest,
    window_status: Status,
) -> WindowComparison {
    let mut c = WindowComparison {
        window,
        outcome: t.outcome,
        reason: t.reason,
        n_baseline: t.n_baseline,
        n_window: t.n_window,
        test: None,
        significant: false,
        worsening: false,
        flagged_by_bounds: matches!(window_status, Status::Warning | Status::Critical),
        note: None,
    };
    let Some(test) = t.test else {
        return c;
    };
    c.significant = test.p_value < ALPHA && test.rank_biserial.abs() >= MIN_EFFECT;
    c.worsening = c.significant
        && match worse {
            Worse::Higher => test.rank_biserial > 0.0,
            Worse::Lower => test.rank_biserial < 0.0,
            Worse::Unknown => false,
        };
    if c.worsening && !c.flagged_by_bounds {
        let hl = &test.hodges_lehmann;
        c.note = Some(format!(
            "{} shifted {} {} than the baseline, which the bounds did not flag: \
             Hodges-Lehmann shift {} ({:.0}% CI {} to {}{}), {}, rank-biserial r = {:+.2}",
            metric.label(),
            if test.rank_biserial > 0.0 {
                "higher"
            } else {
                "lower"
            },
            match window {
                Window::During => "during the DDL",
                Window::Post => "after the DDL",
                Window::Baseline => "in the baseline",
                Window::AfterRollback => "after the rollback",
            },
            with_unit(hl.shift, metric.unit(), true),
            hl.confidence * 100.0,
            with_unit(hl.ci_low, metric.unit(), true),
            with_unit(hl.ci_high, metric.unit(), true),
            test.test_subsample
                .or(test.hl_subsample)
                .map(|s| format!(", of a subsample of {} / {}", s.baseline, s.window))
                .unwrap_or_default(),
            fmt_p(test.p_value),
            test.rank_biserial
        ));
    }
    c.test = Some(test);
    c
}

/// Window tests already computed for a run's raw latency distributions, so
/// that the P50 and P99 metrics of one distribution (the same samples, so the
/// same comparison) are tested once. One cache serves one run and one set of
/// windows.
#[derive(Debug, Default)]
pub struct SignificanceCache {
    raw: Vec<(RawLatency, [WindowTest; 2])>,
}

impl SignificanceCache {
    /// Tests every raw latency distribution of `run` that feeds a metric
    /// (one whose P50 or P99 is not given as a series of its own), one
    /// thread each: with millions of samples these tests take most of the
    /// time after reading, and the distributions are independent. Needs
    /// only the samples and the windows ([`crate::judge::analysis::windows_of`]),
    /// so it runs beside the analysis.
    pub fn for_raw(run: &RunData, windows: &Windows) -> Self {
        let spans = [windows.baseline, windows.during, windows.post];
        // A run's series are sorted by time.
        let pending: Vec<(RawLatency, [WindowSamples<'_>; 3])> =
            crate::judge::analysis::fed_raw_distributions(run)
                .map(|(raw, samples)| (raw, spans_of(samples, spans, true)))
                .collect();
        let raw = std::thread::scope(|scope| {
            let handles: Vec<_> = pending
                .iter()
                .map(|(raw, samples)| scope.spawn(move || (*raw, test_windows(samples))))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        Self { raw }
    }
}

/// Baseline against during and against post for one metric.
pub fn compare_metric(
    run: &RunData,
    analysis: &MetricAnalysis,
    windows: &Windows,
    verdict: &MetricVerdict,
    threshold: &MetricThreshold,
    cache: &mut SignificanceCache,
) -> MetricSignificance {
    let raw = raw_source(analysis);
    let cached = raw.and_then(|r| cache.raw.iter().find(|(c, _)| *c == r));
    let [during, post] = match cached {
        Some((_, tests)) => tests.clone(),
        None => {
            let tests = test_windows(&window_samples(run, analysis, windows));
            if let Some(r) = raw {
                cache.raw.push((r, tests.clone()));
            }
            tests
        }
    };
    let worse = Worse::of(threshold.kind);
    let m = analysis.metric;
    MetricSignificance {
        worse,
        blocks: threshold.significance_blocks,
        during: compare_window(m, worse, Window::During, during, verdict.during_status),
        post: compare_window(m, worse, Window::Post, post, verdict.post_status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_windows_are_tested_on_a_stated_subsample() {
        let n = TEST_MAX_SAMPLES + 1;
        let window = |shift: f64| -> Vec<Sample> {
            (0..n)
                .map(|i| Sample {
                    t: i as f64,
                    v: (i % 1000) as f64 + shift,
                })
                .collect()
        };
        let (base, later) = (window(0.0), window(50.0));
        let samples = [
            Some(Cow::Borrowed(&base[..])),
            Some(Cow::Borrowed(&later[..])),
            None,
        ];
        let [during, _] = test_windows(&samples);
        assert_eq!((during.n_baseline, during.n_window), (n as u64, n as u64));
        let t = during.test.expect("tested");
        let used = n.div_ceil(2) as u64;
        assert_eq!(
            t.test_subsample,
            Some(HlSubsample {
                baseline: used,
                window: used
            })
        );
        assert!(t.p_value < 1e-10 && t.rank_biserial > 0.0);
        assert!((t.hodges_lehmann.shift - 50.0).abs() <= 1.0);
    }

    fn brute_kth(x: &[f64], y: &[f64], k: usize) -> f64 {
        let mut d: Vec<f64> = x
            .iter()
            .flat_map(|a| y.iter().map(move |b| b - a))
            .collect();
        d.sort_by(f64::total_cmp);
        d[k]
    }

    #[test]
    fn selection_matches_sorting_every_difference() {
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        for (n1, n2, ties) in [
            (1, 1, false),
            (3, 5, true),
            (40, 170, false),
            (90, 120, true),
            // Beyond the brute-force threshold: rounds of drawn pivots.
            (300, 400, false),
            (300, 400, true),
        ] {
            let mut draw = |n: usize| -> Vec<f64> {
                (0..n)
                    .map(|_| {
                        let v = next() * 10.0;
                        if ties { v.round() } else { v }
                    })
                    .collect()
            };
            let xs = sorted(&draw(n1));
            let ys = sorted(&draw(n2));
            for k in [0, n1 * n2 / 3, n1 * n2 / 2, n1 * n2 - 1] {
                assert_eq!(
                    kth_pairwise_difference(&xs, &ys, k),
                    brute_kth(&xs, &ys, k),
                    "n1={n1} n2={n2} k={k}"
                );
            }
        }
    }

    #[test]
    fn selection_ends_when_every_candidate_is_equal() {
        // Every difference is 0 or 1: the pivots are often equal, and the
        // candidates between them are all of them.
        let xs: Vec<f64> = (0..200).map(|i| f64::from(i % 2)).collect();
        let ys = sorted(&xs);
        let xs = sorted(&xs);
        for k in [0, 9_999, 10_000, 19_999, 20_000, 29_999, 30_000, 39_999] {
            assert_eq!(
                kth_pairwise_difference(&xs, &ys, k),
                brute_kth(&xs, &ys, k),
                "k={k}"
            );
        }
        let same = vec![2.5; 150];
        assert_eq!(kth_pairwise_difference(&same, &same, 11_250), 0.0);
    }

    #[test]
    fn radix_order_is_total_cmp_order() {
        let mut values = vec![
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.0,
            1e-310,
            -1e-310,
            3.5,
            -3.5,
            f64::MAX,
            f64::MIN,
        ];
        values.extend((0..5000).map(|i| ((i * 7919) % 1013) as f64 / 7.0 - 60.0));
        let mut want = values.clone();
        want.sort_unstable_by(f64::total_cmp);
        sort_total(&mut values);
        assert_eq!(
            values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn exact_counts_are_the_gaussian_binomial() {
        // m = 2, n = 2: U ∈ 0..=4 with counts 1,1,2,1,1 (C(4,2) = 6).
        assert_eq!(u_counts(2, 2, 4), vec![1, 1, 2, 1, 1]);
        assert_eq!(binomial_u128(10, 3), Some(120));
        // Fully separated samples of 3 and 4: p = 2/35.
        let r =
            mann_whitney_u(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0, 7.0], MethodChoice::Auto).unwrap();
        assert_eq!(r.method, TestMethod::Exact);
        assert!((r.p_value - 2.0 / 35.0).abs() < 1e-15);
        assert_eq!(r.u1, 0.0);
        assert_eq!(r.rank_biserial(), 1.0);
    }

    #[test]
    fn identical_samples_are_not_different() {
        let r = mann_whitney_u(&[1.0; 20], &[1.0; 30], MethodChoice::Auto).unwrap();
        assert_eq!(r.p_value, 1.0);
        assert!(mann_whitney_u(&[], &[1.0], MethodChoice::Auto).is_none());
        assert!(mann_whitney_u(&[f64::NAN], &[1.0], MethodChoice::Auto).is_none());
    }

    #[test]
    fn large_windows_stay_fast_and_find_the_shift() {
        // 200 000 against 300 000 samples: 6e10 pairwise differences, never formed.
        let n1 = 200_000u64;
        let n2 = 300_000u64;
        let x: Vec<f64> = (0..n1)
            .map(|i| ((i * 7919) % n1) as f64 / n1 as f64)
            .collect();
        let y: Vec<f64> = (0..n2)
            .map(|i| ((i * 104_729) % n2) as f64 / n2 as f64 + 0.25)
            .collect();
        let started = std::time::Instant::now();
        let t = compare_samples(&x, &y).unwrap();
        assert!(started.elapsed().as_secs_f64() < 30.0);
        assert!((t.hodges_lehmann.shift - 0.25).abs() < 1e-3, "{t:?}");
        assert!(t.hodges_lehmann.ci_low <= 0.25 && 0.25 <= t.hodges_lehmann.ci_high + 1e-3);
        assert!(t.p_value < 1e-100);
        assert!(t.rank_biserial > 0.4);
        // Shift of every 4th baseline and every 6th window value; U of all.
        assert_eq!(
            t.hl_subsample,
            Some(HlSubsample {
                baseline: 50_000,
                window: 50_000
            })
        );
        assert_eq!(t.u + compare_samples(&y, &x).unwrap().u, (n1 * n2) as f64);
    }

    #[test]
    fn samples_within_the_cap_are_not_subsampled() {
        let x: Vec<f64> = (0..HL_MAX_SAMPLES).map(|i| (i % 977) as f64).collect();
        let y: Vec<f64> = (0..300).map(|i| (i % 31) as f64 + 0.5).collect();
        let t = compare_samples(&x, &y).unwrap();
        assert_eq!(t.hl_subsample, None);
        assert_eq!(
            t.hodges_lehmann,
            hodges_lehmann(&x, &y, CONFIDENCE).unwrap()
        );
        assert_eq!(subsample_step(HL_MAX_SAMPLES + 1), Some(2));
        assert_eq!(subsample_step(HL_MAX_SAMPLES), None);
    }
}
