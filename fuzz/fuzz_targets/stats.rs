//! The statistics on finite samples (what the parsers let through): the
//! selection-based percentiles against a full sort, the summary's order
//! (min ≤ p50 ≤ p95 ≤ p99 ≤ max), the banded summary against the selected
//! one, and the rolling timelines' windows.
#![no_main]

use arbitrary::Arbitrary;
use canary_report::judge::analysis::rolling_quantiles;
use canary_report::model::Sample;
use canary_report::stats::{quantile_sorted, quantiles, summarize, summarize_banded_values};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    values: Vec<f64>,
    q: f64,
    /// Seconds between samples, for the timeline.
    gaps: Vec<u16>,
    window_ds: u16,
}

fuzz_target!(|input: Input| {
    let values: Vec<f64> = input.values.into_iter().filter(|v| v.is_finite()).collect();
    let mut sorted = values.clone();
    sorted.sort_by(f64::total_cmp);

    let q = if input.q.is_finite() {
        input.q.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let qs = [0.5, 0.95, 0.99, q, 0.0, 1.0];
    let mut work = values.clone();
    match quantiles(&mut work, qs) {
        None => assert!(values.is_empty()),
        Some(got) => {
            for (q, got) in qs.iter().zip(got) {
                let want = quantile_sorted(&sorted, *q).expect("not empty");
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "q {q}: {got} by selection, {want} sorted"
                );
                assert!(got.is_finite(), "q {q}: {got}");
            }
        }
    }

    let mut work = values.clone();
    let summary = summarize(&mut work);
    // Bands from a few draws, reaching a few standard deviations: each one
    // either holds its rank and gives the same summary, or says it missed.
    let draws = 1 + input.gaps.len() % 64;
    let sigmas = f64::from(input.window_ds % 16) / 4.0;
    if let Some(banded) = summarize_banded_values(&values, draws, sigmas) {
        let s = summary.expect("a banded summary of no values");
        let bits = |s: &canary_report::stats::Summary| {
            [s.mean, s.min, s.max, s.sum, s.p50, s.p95, s.p99].map(f64::to_bits)
        };
        assert_eq!(bits(&banded), bits(&s), "banded {banded:?}, selected {s:?}");
        assert_eq!(banded.count, s.count);
    }
    match summary {
        None => assert!(values.is_empty()),
        Some(s) => {
            assert_eq!(s.count, values.len() as u64);
            assert_eq!(s.min, sorted[0]);
            assert_eq!(s.max, sorted[sorted.len() - 1]);
            let order = [s.min, s.p50, s.p95, s.p99, s.max];
            assert!(
                order.is_sorted(),
                "min, p50, p95, p99, max out of order: {order:?}"
            );
            // The sum may overflow (values near f64::MAX); the mean may not.
            assert!(s.mean.is_finite() && !s.sum.is_nan(), "mean or sum: {s:?}");
        }
    }

    // A time-sorted series, from 2026 on, one value per gap (0 s: same time).
    let mut t = 1_795_972_079.25;
    let samples: Vec<Sample> = values
        .iter()
        .zip(input.gaps.iter().chain(std::iter::repeat(&1)))
        .map(|(&v, &gap)| {
            t += f64::from(gap) / 10.0;
            Sample { t, v }
        })
        .collect();
    let window_s = f64::from(input.window_ds.max(1)) / 10.0;
    let [p50, p99] = rolling_quantiles(&samples, window_s, [0.5, 0.99]);
    assert_eq!(p50.len(), p99.len());
    assert!(p50.len() <= samples.len());
    assert!(samples.is_empty() == p50.is_empty());
    assert!(
        p50.windows(2).all(|w| w[0].t < w[1].t),
        "window starts not increasing"
    );
    for (a, b) in p50.iter().zip(&p99) {
        assert_eq!(a.t, b.t);
        assert!(a.v <= b.v, "p50 {} above p99 {} at {}", a.v, b.v, a.t);
        // Every window holds its own samples: its quantiles lie within them
        // (give or take a rounding of the window's start).
        let slack = 1e-5;
        let inside: Vec<f64> = samples
            .iter()
            .filter(|s| s.t >= a.t - slack && s.t < a.t + window_s + slack)
            .map(|s| s.v)
            .collect();
        let lo = inside.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = inside.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert!(
            lo <= a.v && b.v <= hi,
            "window at {}: [{lo}, {hi}] holds no {} / {}",
            a.t,
            a.v,
            b.v
        );
    }
});
