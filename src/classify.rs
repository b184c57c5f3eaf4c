//! Judging each metric against its bounds: OK, WARNING, CRITICAL or NO_DATA.
//!
//! A window is judged by its representative statistic (mean, P99, ... as the
//! thresholds say), and over time: a run of samples beyond a bound that lasts
//! `sustained_for_s` counts too, like a Prometheus alert's `for:`. Each breach is
//! kept with the time it began, for the incident log. A bound the baseline
//! already breaks is flagged as pre-existing, not blamed on the canary.

use crate::analysis::{DataSource, MetricAnalysis, RunAnalysis, Span};
use crate::model::{MetricId, Sample, UnixSeconds, Window};
use crate::stats::{self, Summary};
use crate::thresholds::{BoundKind, MetricThreshold, Statistic, Thresholds};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    NoData,
    Ok,
    Warning,
    Critical,
}

impl Status {
    pub fn key(self) -> &'static str {
        match self {
            Status::NoData => "NO_DATA",
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
        }
    }
}

/// A bound crossed, as an incident-log row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Breach {
    pub metric: MetricId,
    pub level: Status,
    pub window: Window,
    /// When the value first crossed the bound.
    pub start: UnixSeconds,
    /// The last sample beyond the bound.
    pub end: UnixSeconds,
    /// The worst value reached.
    pub peak: f64,
    /// The bound crossed, in the metric's unit (a relative bound resolved against the baseline).
    pub bound: f64,
    /// True when it lasted the sustained time; false when the window's
    /// representative value itself is beyond the bound.
    pub sustained: bool,
}

impl Breach {
    pub fn duration_s(&self) -> f64 {
        self.end - self.start
    }
}

/// The judgement of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MetricVerdict {
    pub metric: MetricId,
    /// The canary's status: worst of during and post, NO_DATA when neither has data.
    pub status: Status,
    /// The representative value of each window.
    pub baseline_value: Option<f64>,
    pub during_value: Option<f64>,
    pub post_value: Option<f64>,
    /// Change from baseline, in percent.
    pub during_delta_pct: Option<f64>,
    pub post_delta_pct: Option<f64>,
    /// Status of each window on its own.
    pub baseline_status: Status,
    pub during_status: Status,
    pub post_status: Status,
    /// Set when the baseline already breached a bound; during/post levels no
    /// worse than this are not counted against the canary.
    pub pre_existing: Option<Status>,
    /// Resolved absolute bounds (relative ones against the baseline).
    pub warning_bound: Option<f64>,
    pub critical_bound: Option<f64>,
    pub breaches: Vec<Breach>,
    /// Why there is no status, when there is none.
    pub no_data_reason: Option<String>,
}

/// The value of a window that stands for it.
pub fn representative(summary: &Summary, stat: Statistic) -> f64 {
    match stat {
        Statistic::Mean => summary.mean,
        Statistic::Min => summary.min,
        Statistic::Max => summary.max,
        Statistic::P50 => summary.p50,
        Statistic::P95 => summary.p95,
        Statistic::P99 => summary.p99,
        Statistic::Sum => summary.sum,
        Statistic::Count => summary.count as f64,
    }
}

/// Bounds resolved to the metric's own unit. `None` when they cannot be
/// resolved (a relative bound without a baseline, a share of an unknown maximum).
fn resolve(
    th: &MetricThreshold,
    baseline: Option<f64>,
    max_connections: Option<u64>,
) -> Result<(Option<f64>, Option<f64>), String> {
    let map = |f: &dyn Fn(f64) -> f64| (th.warning.map(f), th.critical.map(f));
    match th.kind {
        BoundKind::None => Ok((None, None)),
        BoundKind::Above | BoundKind::Below => Ok((th.warning, th.critical)),
        BoundKind::IncreasePct | BoundKind::DecreasePct => {
            let b = match baseline {
                None => return Err("no baseline to compare with".into()),
                // A change in percent of nothing is no bound at all: with a
                // bound of 0, any value would be a breach (or none could be).
                Some(0.0) => {
                    return Err(
                        "the baseline is 0, so a bound relative to it (a change in percent) \
                         cannot be resolved"
                            .into(),
                    );
                }
                Some(b) if !b.is_finite() => {
                    return Err(format!("the baseline is not a finite number ({b})"));
                }
                Some(b) => b,
            };
            // Percent of the baseline's magnitude, as `stats::delta_pct`
            // measures a change: a negative baseline keeps the bound on the
            // bad side of it.
            let rise = if th.kind == BoundKind::IncreasePct {
                1.0
            } else {
                -1.0
            };
            let sign = if b < 0.0 { -rise } else { rise };
            Ok(map(&|pct| b * (1.0 + sign * pct / 100.0)))
        }
        BoundKind::AbovePctOfMaxConnections => match max_connections {
            // A share of 0 would make every connection a breach.
            Some(0) => {
                Err("max_connections is 0 in the manifest: no share of it is a bound".into())
            }
            Some(m) => Ok(map(&|pct| m as f64 * pct / 100.0)),
            None => Err("max_connections is not in the manifest".into()),
        },
    }
}

/// True when `value` is beyond `bound` in the metric's bad direction.
pub fn beyond(kind: BoundKind, value: f64, bound: f64) -> bool {
    match kind {
        BoundKind::Below | BoundKind::DecreasePct => value < bound,
        BoundKind::None => false,
        _ => value > bound,
    }
}

fn level_of(kind: BoundKind, value: f64, warning: Option<f64>, critical: Option<f64>) -> Status {
    if critical.is_some_and(|c| beyond(kind, value, c)) {
        Status::Critical
    } else if warning.is_some_and(|w| beyond(kind, value, w)) {
        Status::Warning
    } else {
        Status::Ok
    }
}

/// Runs of consecutive samples beyond `bound`, in `span`, that last at least
/// `for_s` (a single sample counts when `for_s` is 0).
fn sustained_runs(
    timeline: &[Sample],
    span: Span,
    kind: BoundKind,
    bound: f64,
    for_s: f64,
) -> Vec<(UnixSeconds, UnixSeconds, f64)> {
    let worse = |a: f64, b: f64| if beyond(kind, a, b) { a } else { b };
    let mut runs = Vec::new();
    let mut current: Option<(f64, f64, f64)> = None;
    for s in timeline.iter().filter(|s| span.contains(s.t)) {
        if beyond(kind, s.v, bound) {
            current = Some(match current {
                Some((start, _, peak)) => (start, s.t, worse(s.v, peak)),
                None => (s.t, s.t, s.v),
            });
        } else if let Some(run) = current.take() {
            runs.push(run);
        }
    }
    runs.extend(current);
    runs.retain(|(start, end, _)| end - start >= for_s);
    runs
}

/// First sample in `span` beyond `bound` (for dating a representative breach).
fn first_beyond(timeline: &[Sample], span: Span, kind: BoundKind, bound: f64) -> Option<&Sample> {
    timeline
        .iter()
        .find(|s| span.contains(s.t) && beyond(kind, s.v, bound))
}

/// Judges one metric.
pub fn classify_metric(
    m: &MetricAnalysis,
    th: &MetricThreshold,
    windows: &crate::analysis::Windows,
    max_connections: Option<u64>,
) -> MetricVerdict {
    let value = |w: Window| m.summary(w).map(|s| representative(s, th.statistic));
    let (baseline_value, during_value, post_value) = (
        value(Window::Baseline),
        value(Window::During),
        value(Window::Post),
    );
    // A sum or a count grows with the window's length: no percentage change.
    let comparable = !matches!(th.statistic, Statistic::Sum | Statistic::Count);
    let delta = |v: Option<f64>| {
        baseline_value
            .filter(|_| comparable)
            .zip(v)
            .and_then(|(b, v)| stats::delta_pct(b, v))
    };

    let mut verdict = MetricVerdict {
        metric: m.metric,
        status: Status::NoData,
        baseline_value,
        during_value,
        post_value,
        during_delta_pct: delta(during_value),
        post_delta_pct: delta(post_value),
        baseline_status: if baseline_value.is_some() {
            Status::Ok
        } else {
            Status::NoData
        },
        during_status: if during_value.is_some() {
            Status::Ok
        } else {
            Status::NoData
        },
        post_status: if post_value.is_some() {
            Status::Ok
        } else {
            Status::NoData
        },
        pre_existing: None,
        warning_bound: None,
        critical_bound: None,
        breaches: Vec::new(),
        no_data_reason: None,
    };

    if m.source == DataSource::None {
        verdict.no_data_reason = Some("nothing recorded".into());
        return verdict;
    }
    // Without them the baseline is still judged, for its pre-existing flag
    // (a canary stopped before the DDL because of it).
    let canary_data = during_value.is_some() || post_value.is_some();
    if !canary_data {
        verdict.no_data_reason = Some("no samples during or after the DDL".into());
    }
    if th.kind == BoundKind::None {
        // Reported, never judged.
        if canary_data {
            verdict.status = Status::Ok;
        }
        return verdict;
    }
    let (warning, critical) = match resolve(th, baseline_value, max_connections) {
        Ok(b) => b,
        Err(reason) => {
            if canary_data {
                verdict.no_data_reason = Some(reason);
            }
            return verdict;
        }
    };
    verdict.warning_bound = warning;
    verdict.critical_bound = critical;

    for w in Window::ALL {
        let (Some(span), Some(v)) = (windows.get(w), value(w)) else {
            continue;
        };
        let representative_level = level_of(th.kind, v, warning, critical);
        let mut level = representative_level;
        // Sustained runs over time: critical first; a warning run that holds a
        // critical one is the same episode and is not repeated.
        let mut sustained: Vec<Breach> = Vec::new();
        for (lvl, bound) in [(Status::Critical, critical), (Status::Warning, warning)] {
            let Some(bound) = bound else { continue };
            for (start, end, peak) in
                sustained_runs(&m.timeline, span, th.kind, bound, th.sustained_for_s)
            {
                let holds_critical = sustained
                    .iter()
                    .any(|b| b.level > lvl && b.start >= start && b.end <= end);
                if holds_critical {
                    continue;
                }
                level = level.max(lvl);
                sustained.push(Breach {
                    metric: m.metric,
                    level: lvl,
                    window: w,
                    start,
                    end,
                    peak,
                    bound,
                    sustained: true,
                });
            }
        }
        // The representative value itself beyond a bound, unless a sustained
        // breach at that level already tells it.
        let told = sustained.iter().any(|b| b.level >= representative_level);
        if representative_level > Status::Ok && !told {
            let bound = if representative_level == Status::Critical {
                critical
            } else {
                warning
            };
            if let Some(bound) = bound {
                let start =
                    first_beyond(&m.timeline, span, th.kind, bound).map_or(span.start, |s| s.t);
                verdict.breaches.push(Breach {
                    metric: m.metric,
                    level: representative_level,
                    window: w,
                    start,
                    end: span.end,
                    peak: v,
                    bound,
                    sustained: false,
                });
            }
        }
        verdict.breaches.extend(sustained);
        match w {
            Window::Baseline => verdict.baseline_status = level,
            Window::During => verdict.during_status = level,
            Window::Post => verdict.post_status = level,
        }
    }
    verdict.breaches.sort_by(|a, b| a.start.total_cmp(&b.start));

    let canary = verdict
        .during_status
        .max(verdict.post_status)
        .max(Status::Ok);
    if verdict.baseline_status > Status::Ok {
        verdict.pre_existing = Some(verdict.baseline_status);
    }
    if !canary_data {
        return verdict;
    }
    verdict.status = match verdict.pre_existing {
        Some(pre) if canary <= pre => Status::Ok,
        _ => canary,
    };
    verdict
}

/// Judges all twenty metrics.
pub fn classify(
    analysis: &RunAnalysis,
    thresholds: &Thresholds,
    max_connections: Option<u64>,
) -> Vec<MetricVerdict> {
    analysis
        .metrics
        .iter()
        .map(|m| {
            classify_metric(
                m,
                thresholds.for_metric(m.metric),
                &analysis.windows,
                max_connections,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{TimeSource, Windows};

    fn windows() -> Windows {
        Windows {
            baseline: Some(Span {
                start: 0.0,
                end: 100.0,
            }),
            during: Some(Span {
                start: 100.0,
                end: 200.0,
            }),
            post: Some(Span {
                start: 200.0,
                end: 400.0,
            }),
            source: TimeSource::Events,
        }
    }

    /// A series sampled every second, with `f(t)` as value.
    fn metric(id: MetricId, f: impl Fn(f64) -> f64) -> MetricAnalysis {
        let timeline: Vec<Sample> = (0..400)
            .map(|t| Sample {
                t: t as f64,
                v: f(t as f64),
            })
            .collect();
        let w = windows();
        let summ = |span: Span| {
            let mut v: Vec<f64> = timeline
                .iter()
                .filter(|s| span.contains(s.t))
                .map(|s| s.v)
                .collect();
            stats::summarize(&mut v)
        };
        MetricAnalysis {
            metric: id,
            source: DataSource::Series,
            baseline: summ(w.baseline.unwrap()),
            during: summ(w.during.unwrap()),
            post: summ(w.post.unwrap()),
            timeline,
        }
    }

    fn cpu_threshold() -> MetricThreshold {
        Thresholds::default()
            .for_metric(MetricId::CpuUsagePct)
            .clone()
    }

    fn judge(m: &MetricAnalysis, th: &MetricThreshold) -> MetricVerdict {
        classify_metric(m, th, &windows(), Some(500))
    }

    #[test]
    fn quiet_metric_is_ok_with_no_breach() {
        let v = judge(&metric(MetricId::CpuUsagePct, |_| 30.0), &cpu_threshold());
        assert_eq!(v.status, Status::Ok);
        assert!(v.breaches.is_empty());
        assert_eq!(v.during_value, Some(30.0));
    }

    #[test]
    fn mean_beyond_critical_is_critical_and_dated_at_first_crossing() {
        let m = metric(MetricId::CpuUsagePct, |t| {
            if (120.0..200.0).contains(&t) {
                95.0
            } else {
                30.0
            }
        });
        let v = judge(&m, &cpu_threshold());
        // during mean = (20*30 + 80*95)/100 = 82 → WARNING by mean; 80 s at 95 → CRITICAL sustained.
        assert_eq!(v.during_value, Some(82.0));
        assert_eq!(v.status, Status::Critical);
        let crit = v
            .breaches
            .iter()
            .find(|b| b.level == Status::Critical)
            .unwrap();
        assert_eq!(
            (crit.start, crit.end, crit.peak, crit.sustained),
            (120.0, 199.0, 95.0, true)
        );
        // The WARNING-by-mean is the same episode as the sustained critical run.
        assert_eq!(v.breaches.len(), 1);
    }

    #[test]
    fn short_spike_does_not_count_but_a_sustained_one_does() {
        let spike = metric(MetricId::CpuUsagePct, |t| {
            if (150.0..170.0).contains(&t) {
                99.0
            } else {
                30.0
            }
        });
        assert_eq!(judge(&spike, &cpu_threshold()).status, Status::Ok);
        let mut th = cpu_threshold();
        th.sustained_for_s = 10.0;
        let v = judge(&spike, &th);
        assert_eq!(v.status, Status::Critical);
        assert_eq!(
            v.breaches.len(),
            1,
            "the warning run inside the critical one is not repeated"
        );
    }

    #[test]
    fn relative_bounds_resolve_against_baseline() {
        let th = Thresholds::default()
            .for_metric(MetricId::QueryLatencyP99Ms)
            .clone();
        let mut th = th;
        th.statistic = Statistic::Mean;
        // baseline 10 ms, during 13.5 ms (+35 %: warning, > +30 %), post 10.5.
        let m = metric(MetricId::QueryLatencyP99Ms, |t| match t {
            t if t < 100.0 => 10.0,
            t if t < 200.0 => 13.5,
            _ => 10.5,
        });
        let v = judge(&m, &th);
        assert_eq!(v.warning_bound, Some(13.0));
        assert_eq!(v.critical_bound, Some(20.0));
        assert_eq!(v.during_status, Status::Warning);
        assert_eq!(v.post_status, Status::Ok);
        assert_eq!(v.status, Status::Warning);
        assert!((v.during_delta_pct.unwrap() - 35.0).abs() < 1e-9);
    }

    #[test]
    fn lower_is_worse_for_hit_rate_and_throughput() {
        let th = Thresholds::default()
            .for_metric(MetricId::BufferPoolHitRatePct)
            .clone();
        let m = metric(MetricId::BufferPoolHitRatePct, |t| {
            if t < 100.0 { 99.0 } else { 89.0 }
        });
        assert_eq!(judge(&m, &th).status, Status::Critical);
        let th = Thresholds::default()
            .for_metric(MetricId::ThroughputRps)
            .clone();
        let m = metric(MetricId::ThroughputRps, |t| {
            if t < 100.0 { 1000.0 } else { 700.0 }
        });
        let v = judge(&m, &th);
        assert_eq!(v.warning_bound, Some(800.0));
        assert_eq!(v.status, Status::Warning);
    }

    #[test]
    fn baseline_breach_is_pre_existing_not_blamed() {
        let m = metric(MetricId::CpuUsagePct, |_| 75.0);
        let v = judge(&m, &cpu_threshold());
        assert_eq!(v.pre_existing, Some(Status::Warning));
        assert_eq!(v.status, Status::Ok);
        // But getting worse than the baseline is the canary's.
        let m = metric(
            MetricId::CpuUsagePct,
            |t| if t < 100.0 { 75.0 } else { 92.0 },
        );
        assert_eq!(judge(&m, &cpu_threshold()).status, Status::Critical);
    }

    #[test]
    fn a_baseline_alone_still_shows_what_it_already_broke() {
        // A canary stopped before the DDL: no data of its own to judge.
        let mut m = metric(MetricId::CpuUsagePct, |_| 100.0);
        m.during = None;
        m.post = None;
        let v = judge(&m, &cpu_threshold());
        assert_eq!(v.status, Status::NoData);
        assert_eq!(v.pre_existing, Some(Status::Critical));
        assert!(v.no_data_reason.unwrap().contains("no samples"));
    }

    #[test]
    fn missing_data_and_unresolvable_bounds_are_no_data() {
        let mut m = metric(MetricId::CpuUsagePct, |_| 1.0);
        m.during = None;
        m.post = None;
        let v = judge(&m, &cpu_threshold());
        assert_eq!(v.status, Status::NoData);
        assert!(v.no_data_reason.unwrap().contains("no samples"));

        let th = Thresholds::default()
            .for_metric(MetricId::ActiveConnections)
            .clone();
        let m = metric(MetricId::ActiveConnections, |_| 10.0);
        let v = classify_metric(&m, &th, &windows(), None);
        assert_eq!(v.status, Status::NoData);
        assert!(v.no_data_reason.unwrap().contains("max_connections"));
        let v = classify_metric(&m, &th, &windows(), Some(0));
        assert_eq!(v.status, Status::NoData);
        assert!(v.no_data_reason.unwrap().contains("max_connections is 0"));
        // With max_connections = 500: 80 % = 400.
        let v = classify_metric(&m, &th, &windows(), Some(500));
        assert_eq!((v.warning_bound, v.status), (Some(400.0), Status::Ok));
    }

    #[test]
    fn relative_bounds_need_a_nonzero_baseline() {
        let mut th = Thresholds::default()
            .for_metric(MetricId::QueryLatencyP99Ms)
            .clone();
        th.statistic = Statistic::Mean;
        // An all-zero baseline: +30 % of 0 is no bound, not a bound of 0.
        let m = metric(MetricId::QueryLatencyP99Ms, |t| {
            if t < 100.0 { 0.0 } else { 2.5 }
        });
        let v = judge(&m, &th);
        assert_eq!(v.status, Status::NoData);
        assert_eq!((v.warning_bound, v.critical_bound), (None, None));
        assert!(v.no_data_reason.unwrap().contains("baseline is 0"));
        // A fall from 0 has no percentage either.
        let th = Thresholds::default()
            .for_metric(MetricId::ThroughputRps)
            .clone();
        let m = metric(
            MetricId::ThroughputRps,
            |t| if t < 100.0 { 0.0 } else { 5.0 },
        );
        assert_eq!(judge(&m, &th).status, Status::NoData);
    }

    #[test]
    fn relative_bounds_of_a_negative_baseline_stay_on_the_bad_side() {
        let mut th = cpu_threshold();
        th.kind = BoundKind::IncreasePct;
        th.warning = Some(20.0);
        th.critical = Some(50.0);
        // baseline -10: +20 % of its magnitude is -8, +50 % is -5.
        let m = metric(MetricId::CpuUsagePct, |_| -10.0);
        let v = judge(&m, &th);
        assert_eq!(
            (v.warning_bound, v.critical_bound),
            (Some(-8.0), Some(-5.0))
        );
        assert_eq!(v.status, Status::Ok, "an unchanged value is no breach");
        th.kind = BoundKind::DecreasePct;
        let v = judge(&m, &th);
        assert_eq!(
            (v.warning_bound, v.critical_bound),
            (Some(-12.0), Some(-15.0))
        );
        assert_eq!(v.status, Status::Ok);
    }

    #[test]
    fn unbounded_metric_is_reported_ok() {
        let th = Thresholds::default()
            .for_metric(MetricId::TableLocksWaited)
            .clone();
        let v = judge(&metric(MetricId::TableLocksWaited, |_| 3.0), &th);
        assert_eq!(v.status, Status::Ok);
        assert_eq!(v.during_value, Some(300.0), "sum over the window");
    }
}
