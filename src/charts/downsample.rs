//! Min/max downsampling: bounded output that keeps every spike.

/// Reduces `points` (unix seconds, value) to at most `2 × buckets` points,
/// in time order, keeping the minimum and the maximum of each equal-width
/// time bucket so that a single spike survives.
///
/// Points whose time or value is not finite are skipped. The input need not
/// be sorted. When the finite points already fit (≤ `2 × buckets`) they are
/// returned sorted by time, unchanged otherwise. `buckets == 0` is taken as 1.
pub fn downsample_min_max(points: &[(f64, f64)], buckets: usize) -> Vec<(f64, f64)> {
    let buckets = buckets.max(1);
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();

    let mut count = 0usize;
    let mut t_min = f64::INFINITY;
    let mut t_max = f64::NEG_INFINITY;
    for p in points.iter().filter(finite) {
        count += 1;
        t_min = t_min.min(p.0);
        t_max = t_max.max(p.0);
    }
    if count <= buckets.saturating_mul(2) {
        let mut out: Vec<(f64, f64)> = points.iter().filter(finite).copied().collect();
        if !out.is_sorted_by(|a, b| a.0 <= b.0) {
            out.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        return out;
    }

    // Halves keep the span finite even for times near ±f64::MAX.
    let lo = t_min * 0.5;
    let span = t_max * 0.5 - lo;
    let last = buckets - 1;

    #[derive(Clone, Copy)]
    struct Bucket {
        min: (f64, f64),
        max: (f64, f64),
        used: bool,
    }
    let empty = Bucket {
        min: (0.0, 0.0),
        max: (0.0, 0.0),
        used: false,
    };
    let mut table = vec![empty; buckets];
    for &(t, v) in points.iter().filter(finite) {
        let idx = if span > 0.0 {
            let frac = (t * 0.5 - lo) / span;
            ((frac * buckets as f64) as usize).min(last)
        } else {
            0
        };
        let b = &mut table[idx];
        if !b.used {
            *b = Bucket {
                min: (t, v),
                max: (t, v),
                used: true,
            };
            continue;
        }
        // Ties keep the earliest point, so the output does not depend on
        // input order for sorted data.
        if v < b.min.1 || (v == b.min.1 && t < b.min.0) {
            b.min = (t, v);
        }
        if v > b.max.1 || (v == b.max.1 && t < b.max.0) {
            b.max = (t, v);
        }
    }

    let mut out = Vec::with_capacity(buckets * 2);
    for b in table.iter().filter(|b| b.used) {
        let (a, c) = if b.min.0 <= b.max.0 {
            (b.min, b.max)
        } else {
            (b.max, b.min)
        };
        out.push(a);
        if c != a {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_input_is_sorted_copy_without_nan() {
        let pts = [
            (3.0, 1.0),
            (1.0, f64::NAN),
            (2.0, 5.0),
            (f64::INFINITY, 1.0),
        ];
        assert_eq!(downsample_min_max(&pts, 10), vec![(2.0, 5.0), (3.0, 1.0)]);
    }

    #[test]
    fn empty_and_all_nan_give_empty() {
        assert!(downsample_min_max(&[], 10).is_empty());
        assert!(downsample_min_max(&[(f64::NAN, f64::NAN); 100], 3).is_empty());
        assert!(downsample_min_max(&[], 0).is_empty());
    }

    #[test]
    fn zero_buckets_and_zero_width_do_not_panic() {
        let pts: Vec<(f64, f64)> = (0..100).map(|i| (5.0, f64::from(i))).collect();
        let out = downsample_min_max(&pts, 0);
        assert_eq!(out, vec![(5.0, 0.0), (5.0, 99.0)]);
    }

    #[test]
    fn single_spike_survives() {
        let n = 100_000;
        let mut pts: Vec<(f64, f64)> = (0..n).map(|i| (i as f64, 10.0)).collect();
        pts[71_234].1 = 9_999.0;
        pts[12_345].1 = -42.0;
        let out = downsample_min_max(&pts, 300);
        assert!(out.len() <= 600);
        assert!(out.contains(&(71_234.0, 9_999.0)));
        assert!(out.contains(&(12_345.0, -42.0)));
        assert!(out.is_sorted_by(|a, b| a.0 <= b.0));
    }

    #[test]
    fn unsorted_input_gives_time_ordered_output() {
        let mut pts: Vec<(f64, f64)> = (0..10_000)
            .map(|i| (f64::from(i), f64::from(i % 17)))
            .collect();
        pts.reverse();
        let out = downsample_min_max(&pts, 50);
        assert!(out.len() <= 100);
        assert!(out.is_sorted_by(|a, b| a.0 <= b.0));
    }

    #[test]
    fn extreme_times_do_not_overflow() {
        let pts: Vec<(f64, f64)> = (0..1000)
            .map(|i| {
                let t = if i % 2 == 0 { -f64::MAX } else { f64::MAX };
                (t, f64::from(i))
            })
            .collect();
        let out = downsample_min_max(&pts, 4);
        assert!(!out.is_empty() && out.len() <= 8);
    }

    /// 5,000,000 points, cheap to make; checks bound and spike in one pass.
    #[test]
    fn five_million_points() {
        let n = 5_000_000usize;
        let mut pts: Vec<(f64, f64)> = Vec::with_capacity(n);
        pts.extend((0..n).map(|i| (1.7e9 + i as f64 * 0.01, (i % 100) as f64)));
        pts[4_321_987].1 = 1e6;
        let out = downsample_min_max(&pts, 700);
        assert!(out.len() <= 1400);
        assert!(out.iter().any(|p| p.1 == 1e6));
    }
}
