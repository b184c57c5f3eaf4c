//! Judging each metric against its bounds: OK, WARNING, CRITICAL or NO_DATA.
//!
//! Two things can put a window beyond a bound (docs/judgement.md):
//! - its representative value (mean, P99, ... as the thresholds say), for
//!   metrics judged on it (`window_statistic`);
//! - a breach episode over time, found by the bound engine
//!   ([`super::bounds`]) over the run's windows, that overlaps it.
//!
//! The canary's status is the worst of the windows with the index in place
//! (during and post). A level the baseline already reached is flagged as
//! pre-existing, not blamed on the canary.

pub use super::bounds::{Bounds, Episode, Status, beyond, representative};
use crate::judge::analysis::{DataSource, MetricAnalysis, RunAnalysis, Windows};
use crate::model::{MetricId, Window};
use crate::stats;
use crate::thresholds::{BoundKind, MetricThreshold, Statistic, Thresholds};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A window whose representative value is beyond a bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WindowBreach {
    pub window: Window,
    pub level: Status,
    /// The statistic that stands for the window.
    pub statistic: Statistic,
    /// The window's representative value.
    pub value: f64,
    /// The bound it is beyond, in the metric's unit.
    pub bound: f64,
}

/// One window of a metric, judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WindowVerdict {
    pub window: Window,
    /// The representative value.
    pub value: Option<f64>,
    /// Change from the baseline, in percent (none for sums and counts).
    pub delta_pct: Option<f64>,
    pub status: Status,
}

/// The judgement of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MetricVerdict {
    pub metric: MetricId,
    /// The canary's status: worst of during and post (the windows with the
    /// index), NO_DATA when neither has data.
    pub status: Status,
    /// The representative value of each window.
    pub baseline_value: Option<f64>,
    pub during_value: Option<f64>,
    pub post_value: Option<f64>,
    #[serde(default)]
    pub after_rollback_value: Option<f64>,
    /// Change from baseline, in percent.
    pub during_delta_pct: Option<f64>,
    pub post_delta_pct: Option<f64>,
    #[serde(default)]
    pub after_rollback_delta_pct: Option<f64>,
    /// Status of each window on its own.
    pub baseline_status: Status,
    pub during_status: Status,
    pub post_status: Status,
    #[serde(default = "no_data")]
    pub after_rollback_status: Status,
    /// Set when the baseline already breached a bound; during/post levels no
    /// worse than this are not counted against the canary.
    pub pre_existing: Option<Status>,
    /// Resolved absolute bounds (relative ones against the baseline).
    pub warning_bound: Option<f64>,
    pub critical_bound: Option<f64>,
    /// Windows whose representative value is beyond a bound.
    #[serde(default)]
    pub window_breaches: Vec<WindowBreach>,
    /// The decision needs this metric measured: NO_DATA blocks.
    #[serde(default)]
    pub required: bool,
    /// Why there is no status, when there is none.
    pub no_data_reason: Option<String>,
    /// How the window values were taken when not as a statistic of the
    /// samples (from event counts), with the windows left unjudged and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

fn no_data() -> Status {
    Status::NoData
}

impl MetricVerdict {
    pub fn value(&self, w: Window) -> Option<f64> {
        match w {
            Window::Baseline => self.baseline_value,
            Window::During => self.during_value,
            Window::Post => self.post_value,
            Window::AfterRollback => self.after_rollback_value,
        }
    }

    pub fn status_of(&self, w: Window) -> Status {
        match w {
            Window::Baseline => self.baseline_status,
            Window::During => self.during_status,
            Window::Post => self.post_status,
            Window::AfterRollback => self.after_rollback_status,
        }
    }

    fn set_status(&mut self, w: Window, s: Status) {
        match w {
            Window::Baseline => self.baseline_status = s,
            Window::During => self.during_status = s,
            Window::Post => self.post_status = s,
            Window::AfterRollback => self.after_rollback_status = s,
        }
    }
}

/// A metric's judgement and the breach episodes found in its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    pub verdict: MetricVerdict,
    pub episodes: Vec<Episode>,
}

/// Judges one metric. `required`: whether the decision needs it measured.
pub fn classify_metric(
    m: &MetricAnalysis,
    th: &MetricThreshold,
    windows: &Windows,
    max_connections: Option<u64>,
) -> Classified {
    let value = |w: Window| m.window_value(w, th.statistic);
    let baseline_value = value(Window::Baseline);
    // A sum or a count grows with the window's length: no percentage change.
    let comparable = !matches!(th.statistic, Statistic::Sum | Statistic::Count);
    let delta = |v: Option<f64>| {
        baseline_value
            .filter(|_| comparable)
            .zip(v)
            .and_then(|(b, v)| stats::delta_pct(b, v))
    };
    let present = |w: Window| {
        if value(w).is_some() {
            Status::Ok
        } else {
            Status::NoData
        }
    };
    let mut verdict = MetricVerdict {
        metric: m.metric,
        status: Status::NoData,
        baseline_value,
        during_value: value(Window::During),
        post_value: value(Window::Post),
        after_rollback_value: value(Window::AfterRollback),
        during_delta_pct: delta(value(Window::During)),
        post_delta_pct: delta(value(Window::Post)),
        after_rollback_delta_pct: delta(value(Window::AfterRollback)),
        baseline_status: present(Window::Baseline),
        during_status: present(Window::During),
        post_status: present(Window::Post),
        after_rollback_status: present(Window::AfterRollback),
        pre_existing: None,
        warning_bound: None,
        critical_bound: None,
        window_breaches: Vec::new(),
        required: false,
        no_data_reason: None,
        method: m.from_counts.as_ref().map(|c| c.describe()),
    };
    let none = |verdict| Classified {
        verdict,
        episodes: Vec::new(),
    };

    if m.source == DataSource::None {
        verdict.no_data_reason = Some("nothing recorded".into());
        return none(verdict);
    }
    // Without them the baseline is still judged, for its pre-existing flag
    // (a canary stopped before the DDL because of it).
    let canary_data = Window::WITH_INDEX.iter().any(|w| value(*w).is_some());
    // Counts too few to give a value in the windows with the index.
    let too_few: Vec<String> = Window::WITH_INDEX
        .iter()
        .filter_map(|w| {
            let c = m.from_counts.as_ref()?.get(*w)?;
            c.not_judged
                .as_ref()
                .map(|why| format!("{}: {why}", w.key()))
        })
        .collect();
    if !canary_data && !too_few.is_empty() {
        verdict.no_data_reason = Some(too_few.join("; "));
    } else if !canary_data {
        verdict.no_data_reason = Some(if m.timeline.is_empty() {
            "no samples during or after the DDL".into()
        } else {
            "no samples during or after the DDL (the file's samples fall outside those windows)"
                .into()
        });
    }
    if th.kind == BoundKind::None {
        // Reported, never judged.
        if canary_data {
            verdict.status = Status::Ok;
        }
        return none(verdict);
    }
    let bounds = match Bounds::resolve(th, baseline_value, max_connections) {
        Ok(b) => b,
        Err(reason) => {
            if canary_data {
                verdict.no_data_reason = Some(reason);
            }
            return none(verdict);
        }
    };
    verdict.warning_bound = bounds.warning;
    verdict.critical_bound = bounds.critical;

    // The representative value of each window, where it is judged.
    for w in Window::ALL {
        let Some(v) = value(w) else { continue };
        if !th.judges_window_value(w) {
            continue;
        }
        let level = bounds.level_of(v);
        if level > Status::Ok {
            verdict.set_status(w, level);
            verdict.window_breaches.push(WindowBreach {
                window: w,
                level,
                statistic: th.statistic,
                value: v,
                bound: bounds.bound_of(level).unwrap_or(f64::NAN),
            });
        }
    }
    // Episodes over time, inside the run's windows only.
    let episodes = episodes_in_windows(m, th, &bounds, windows);
    for e in &episodes {
        for w in Window::ALL {
            let Some(span) = windows.get(w) else { continue };
            let Some(mut level) = e.level_in(span.start, span.end) else {
                continue;
            };
            // The baseline is judged on what it held itself, not on how an
            // episode that began in it went on after the DDL began.
            if w == Window::Baseline {
                level = level.min(e.level_before_ddl);
            }
            if th.judged_in(w) && value(w).is_some() {
                let s = verdict.status_of(w).max(level);
                verdict.set_status(w, s);
            }
        }
    }

    let canary = verdict
        .during_status
        .max(verdict.post_status)
        .max(Status::Ok);
    if verdict.baseline_status > Status::Ok {
        verdict.pre_existing = Some(verdict.baseline_status);
    }
    if canary_data {
        verdict.status = match verdict.pre_existing {
            Some(pre) if canary <= pre => Status::Ok,
            _ => canary,
        };
    }
    Classified { verdict, episodes }
}

/// The metric's breach episodes over the run's windows: the samples from the
/// first window's start to the last one's end, through the gaps between
/// windows, so that one breach across a phase boundary is one episode.
/// Samples of a window the metric is exempt in are left out.
pub fn episodes_in_windows(
    m: &MetricAnalysis,
    th: &MetricThreshold,
    bounds: &Bounds,
    windows: &Windows,
) -> Vec<Episode> {
    let Some(span) = windows.judged_span() else {
        return Vec::new();
    };
    let exempt = windows.during.filter(|_| !th.judged_in(Window::During));
    let canary_start = windows.during.map_or(f64::INFINITY, |d| d.start);
    let samples = crate::judge::analysis::span_slice(&m.timeline, span)
        .iter()
        .copied()
        .filter(|s| !exempt.is_some_and(|d| d.contains(s.t)));
    super::bounds::episodes_of(m.metric, *bounds, th.sustained_for_s, canary_start, samples)
}

/// Judges all twenty metrics.
pub fn classify(
    analysis: &RunAnalysis,
    thresholds: &Thresholds,
    max_connections: Option<u64>,
) -> Vec<Classified> {
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
    use crate::judge::analysis::{Span, TimeSource};
    use crate::model::Sample;

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
            after_rollback: None,
            settle_s: 0.0,
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
            after_rollback: None,
            from_counts: None,
            timeline,
        }
    }

    fn cpu_threshold() -> MetricThreshold {
        Thresholds::default()
            .for_metric(MetricId::CpuUsagePct)
            .clone()
    }

    fn judge(m: &MetricAnalysis, th: &MetricThreshold) -> MetricVerdict {
        classify_metric(m, th, &windows(), Some(500)).verdict
    }

    fn episodes(m: &MetricAnalysis, th: &MetricThreshold) -> Vec<Episode> {
        classify_metric(m, th, &windows(), Some(500)).episodes
    }

    #[test]
    fn quiet_metric_is_ok_with_no_breach() {
        let m = metric(MetricId::CpuUsagePct, |_| 30.0);
        let v = judge(&m, &cpu_threshold());
        assert_eq!(v.status, Status::Ok);
        assert!(episodes(&m, &cpu_threshold()).is_empty());
        assert_eq!(v.during_value, Some(30.0));
    }

    #[test]
    fn a_sustained_breach_is_one_episode_dated_at_its_first_crossing() {
        let m = metric(MetricId::CpuUsagePct, |t| {
            if (120.0..200.0).contains(&t) {
                95.0
            } else {
                30.0
            }
        });
        let v = judge(&m, &cpu_threshold());
        // during mean = (20*30 + 80*95)/100 = 82: CPU is judged on sustained
        // breaches only, and 80 s at 95 holds the critical bound (60 s).
        assert_eq!(v.during_value, Some(82.0));
        assert_eq!(v.status, Status::Critical);
        assert!(v.window_breaches.is_empty());
        let e = episodes(&m, &cpu_threshold());
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(
            (
                e[0].level,
                e[0].start,
                e[0].end,
                e[0].peak,
                e[0].resolved_at
            ),
            (Status::Critical, 120.0, 199.0, 95.0, Some(200.0))
        );
        assert_eq!(e[0].confirmed_at, 180.0);
    }

    #[test]
    fn a_window_statistic_beyond_its_bound_counts_without_a_sustained_breach() {
        let mut th = cpu_threshold();
        th.window_statistic = true;
        let m = metric(MetricId::CpuUsagePct, |t| {
            if (120.0..200.0).contains(&t) {
                95.0
            } else {
                30.0
            }
        });
        th.sustained_for_s = 1000.0;
        let v = judge(&m, &th);
        assert_eq!(v.during_status, Status::Warning, "mean 82 > 70");
        assert_eq!(v.window_breaches.len(), 1);
        assert_eq!(v.window_breaches[0].value, 82.0);
        assert!(episodes(&m, &th).is_empty());
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
            episodes(&spike, &th).len(),
            1,
            "the warning inside the critical stretch is the same episode"
        );
    }

    #[test]
    fn a_breach_across_during_and_post_is_one_episode() {
        let m = metric(MetricId::CpuUsagePct, |t| {
            if (150.0..300.0).contains(&t) {
                95.0
            } else {
                30.0
            }
        });
        let e = episodes(&m, &cpu_threshold());
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(
            (e[0].start, e[0].end, e[0].resolved_at),
            (150.0, 299.0, Some(300.0))
        );
        let v = judge(&m, &cpu_threshold());
        assert_eq!(
            (v.during_status, v.post_status),
            (Status::Critical, Status::Critical)
        );
    }

    #[test]
    fn open_or_resolved_is_judged_inside_the_windows_never_in_the_export_margin() {
        // The windows end at 400; the export runs on to 460.
        let with_margin = |f: fn(f64) -> f64| {
            let mut m = metric(MetricId::CpuUsagePct, f);
            m.timeline = (0..460)
                .map(|t| Sample {
                    t: t as f64,
                    v: f(t as f64),
                })
                .collect();
            m
        };
        // Beyond to the end of the windows, back within only in the margin: open.
        let m = with_margin(|t| {
            if (300.0..420.0).contains(&t) {
                95.0
            } else {
                30.0
            }
        });
        let e = episodes(&m, &cpu_threshold());
        assert_eq!(e.len(), 1);
        assert!(e[0].open && e[0].resolved_at.is_none(), "{e:?}");
        assert_eq!(e[0].end, 399.0);
        // Back within at 360, beyond again only in the margin: resolved at 360.
        let m = with_margin(|t| {
            if (250.0..360.0).contains(&t) || t >= 410.0 {
                95.0
            } else {
                30.0
            }
        });
        let e = episodes(&m, &cpu_threshold());
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].open, e[0].resolved_at), (false, Some(360.0)));
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
        let v = classify_metric(&m, &th, &windows(), None).verdict;
        assert_eq!(v.status, Status::NoData);
        assert!(v.no_data_reason.unwrap().contains("max_connections"));
        let v = classify_metric(&m, &th, &windows(), Some(0)).verdict;
        assert_eq!(v.status, Status::NoData);
        assert!(v.no_data_reason.unwrap().contains("max_connections is 0"));
        // With max_connections = 500: 80 % = 400.
        let v = classify_metric(&m, &th, &windows(), Some(500)).verdict;
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
    fn counts_give_the_window_values_and_too_few_is_no_data_with_its_reason() {
        use crate::judge::analysis::{CountedWindow, CountedWindows};
        let th = Thresholds::default()
            .for_metric(MetricId::ErrorRatePct)
            .clone();
        // The per-second shares average 50 %; the counts say 2 % in the baseline.
        let mut m = metric(MetricId::ErrorRatePct, |t| {
            if t % 2.0 == 0.0 { 0.0 } else { 100.0 }
        });
        let window = |window, requests: f64, errors: f64| {
            let share = crate::model::share_pct(errors, requests);
            CountedWindow {
                window,
                requests,
                errors,
                seconds: Some(100.0),
                window_s: 100.0,
                value: share.pct(),
                not_judged: share
                    .pct()
                    .is_none()
                    .then(|| format!("{requests} requests")),
            }
        };
        m.from_counts = Some(CountedWindows {
            method: "counted".into(),
            windows: vec![
                window(Window::Baseline, 1000.0, 20.0),
                window(Window::During, 42.0, 12.0),
                window(Window::Post, 7.0, 0.0),
            ],
        });
        let v = judge(&m, &th);
        assert_eq!(v.baseline_value, Some(2.0));
        assert_eq!((v.during_value, v.post_value), (None, None));
        assert_eq!(v.status, Status::NoData);
        assert_eq!(
            v.no_data_reason.as_deref(),
            Some("during: 42 requests; post: 7 requests")
        );
        assert_eq!(
            v.method.as_deref(),
            Some("counted; during: 42 requests; post: 7 requests")
        );
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
