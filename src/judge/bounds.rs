//! The bound engine: the one place that decides, for a metric's bounds, what
//! a value's level is, what a window's representative value is, and, for a
//! stream of samples, when a breach starts, when it counts, its peak and when
//! it ends. `build` feeds it the recorded samples of a whole run
//! ([`episodes_of`]); `capture` feeds it each sample as it is read
//! ([`EpisodeTracker::push`]). Both get the same episodes because both run
//! this code. The semantics are written down in `docs/judgement.md`.

use crate::model::{MetricId, Sample, UnixSeconds};
use crate::stats::{self, Summary};
use crate::thresholds::{BoundKind, MetricThreshold, Statistic};
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

/// The representative value of a set of values (sorted in place); `None`
/// when there are none.
pub fn representative_of(values: &mut [f64], stat: Statistic) -> Option<f64> {
    stats::summarize(values).map(|s| representative(&s, stat))
}

/// A metric's bounds in its own unit: a relative bound resolved against the
/// baseline, a share of `max_connections` resolved against it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Bounds {
    pub kind: BoundKind,
    pub warning: Option<f64>,
    pub critical: Option<f64>,
}

impl Bounds {
    /// Resolves a metric's bounds. `Err` says why they cannot be (a relative
    /// bound without a baseline, a share of an unknown maximum).
    pub fn resolve(
        th: &MetricThreshold,
        baseline: Option<f64>,
        max_connections: Option<u64>,
    ) -> Result<Bounds, String> {
        let bounds = |f: &dyn Fn(f64) -> f64| Bounds {
            kind: th.kind,
            warning: th.warning.map(f),
            critical: th.critical.map(f),
        };
        match th.kind {
            BoundKind::None | BoundKind::Above | BoundKind::Below => Ok(bounds(&|v| v)),
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
                // measures a change: a negative baseline keeps the bound on
                // the bad side of it.
                let rise = if th.kind == BoundKind::IncreasePct {
                    1.0
                } else {
                    -1.0
                };
                let sign = if b < 0.0 { -rise } else { rise };
                Ok(bounds(&|pct| b * (1.0 + sign * pct / 100.0)))
            }
            BoundKind::AbovePctOfMaxConnections => match max_connections {
                // A share of 0 would make every connection a breach.
                Some(0) => {
                    Err("max_connections is 0 in the manifest: no share of it is a bound".into())
                }
                Some(m) => Ok(bounds(&|pct| m as f64 * pct / 100.0)),
                None => Err("max_connections is not in the manifest".into()),
            },
        }
    }

    /// The level of one value: CRITICAL beyond the critical bound, WARNING
    /// beyond the warning bound, else OK.
    pub fn level_of(&self, value: f64) -> Status {
        if self.critical.is_some_and(|c| beyond(self.kind, value, c)) {
            Status::Critical
        } else if self.warning.is_some_and(|w| beyond(self.kind, value, w)) {
            Status::Warning
        } else {
            Status::Ok
        }
    }

    /// The bound of a level (WARNING or CRITICAL).
    pub fn bound_of(&self, level: Status) -> Option<f64> {
        match level {
            Status::Critical => self.critical,
            Status::Warning => self.warning,
            _ => None,
        }
    }

    /// The least extreme bound: an episode starts beyond it. Usually the
    /// warning bound; the critical one when it is the only one, or when a
    /// thresholds file set it on the near side of the warning bound.
    fn start_bound(&self) -> Option<f64> {
        match (self.warning, self.critical) {
            (Some(w), Some(c)) => Some(if beyond(self.kind, w, c) { c } else { w }),
            (w, c) => w.or(c),
        }
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

/// A breach episode: one continuous stretch of samples beyond the metric's
/// lowest bound, across window boundaries, that held a bound for
/// `sustained_for_s`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Episode {
    pub metric: MetricId,
    /// The worst level held for `sustained_for_s` (WARNING or CRITICAL).
    pub level: Status,
    /// The first sample beyond the bound.
    pub start: UnixSeconds,
    /// The last sample beyond the bound.
    pub end: UnixSeconds,
    /// When the episode reached its level (held it for `sustained_for_s`):
    /// the moment a live judge acts.
    pub confirmed_at: UnixSeconds,
    /// The worst value, and when.
    pub peak: f64,
    pub peak_at: UnixSeconds,
    /// The bound of its level, in the metric's unit.
    pub bound: f64,
    /// The first sample back within the bound; `None` while open.
    pub resolved_at: Option<UnixSeconds>,
    /// Still beyond the bound at the last sample judged: not resolved.
    pub open: bool,
    /// Began before the DDL and got no worse after it began: the canary did
    /// not cause it.
    pub pre_existing: bool,
    /// The level it had reached before the DDL began (OK when it began
    /// after): what the baseline window is judged by, whatever came later.
    pub level_before_ddl: Status,
    /// The stretches in which the critical bound held, `[start, end]`: the
    /// episode is CRITICAL in the windows these overlap, WARNING elsewhere.
    pub critical_periods: Vec<[UnixSeconds; 2]>,
}

impl Episode {
    /// The level the episode had in `[start, end)`, if it overlaps it.
    pub fn level_in(&self, start: UnixSeconds, end: UnixSeconds) -> Option<Status> {
        if !(self.start < end && self.end >= start) {
            return None;
        }
        let critical = self
            .critical_periods
            .iter()
            .any(|[a, b]| *a < end && *b >= start);
        Some(if critical {
            Status::Critical
        } else {
            Status::Warning.min(self.level)
        })
    }
}

impl Episode {
    pub fn duration_s(&self) -> f64 {
        self.end - self.start
    }
}

/// What one sample changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The episode in progress reached a level now (first WARNING, or
    /// CRITICAL): the episode as it stands.
    Reached(Episode),
    /// The episode in progress ended: the sample was back within the bound.
    Ended(Episode),
}

#[derive(Debug, Clone)]
struct Current {
    start: UnixSeconds,
    last: UnixSeconds,
    peak: f64,
    peak_at: UnixSeconds,
    /// The level reached so far (`Ok` until a bound held long enough).
    level: Status,
    confirmed_at: UnixSeconds,
    /// When the stretches beyond the critical and the warning bound going
    /// on now began, if they are going on.
    critical_since: Option<UnixSeconds>,
    warning_since: Option<UnixSeconds>,
    critical_periods: Vec<[UnixSeconds; 2]>,
    /// The level reached by the last sample before the canary began.
    level_before_canary: Status,
}

/// Follows one metric's samples in time order and finds its breach episodes.
///
/// A bound *holds* when consecutive samples beyond it span at least
/// `sustained_for_s` (last time minus first; with 0, one sample holds it).
/// An episode is a stretch beyond the lowest bound in which some bound held;
/// its level is the worst bound that held. A stretch in which none held is a
/// transient and is not an episode.
#[derive(Debug, Clone)]
pub struct EpisodeTracker {
    metric: MetricId,
    bounds: Bounds,
    sustained_for_s: f64,
    /// Samples before this time are the baseline: an episode that begins
    /// there is pre-existing.
    canary_start: UnixSeconds,
    current: Option<Current>,
}

impl EpisodeTracker {
    pub fn new(
        metric: MetricId,
        bounds: Bounds,
        sustained_for_s: f64,
        canary_start: UnixSeconds,
    ) -> EpisodeTracker {
        EpisodeTracker {
            metric,
            bounds,
            sustained_for_s: sustained_for_s.max(0.0),
            canary_start,
            current: None,
        }
    }

    pub fn bounds(&self) -> &Bounds {
        &self.bounds
    }

    /// When the canary (the DDL) began, for the pre-existing flag.
    pub fn set_canary_start(&mut self, t: UnixSeconds) {
        self.canary_start = t;
    }

    /// The episode in progress, once it has reached a level.
    pub fn ongoing(&self) -> Option<Episode> {
        self.current
            .as_ref()
            .filter(|c| c.level > Status::Ok)
            .map(|c| self.episode(c, None))
    }

    fn episode(&self, c: &Current, resolved_at: Option<UnixSeconds>) -> Episode {
        Episode {
            metric: self.metric,
            level: c.level,
            start: c.start,
            end: c.last,
            confirmed_at: c.confirmed_at,
            peak: c.peak,
            peak_at: c.peak_at,
            bound: self.bounds.bound_of(c.level).unwrap_or(f64::NAN),
            resolved_at,
            open: resolved_at.is_none(),
            pre_existing: c.start < self.canary_start && c.level <= c.level_before_canary,
            level_before_ddl: c.level_before_canary,
            critical_periods: c.critical_periods.clone(),
        }
    }

    /// Judges the next sample (times must not go back).
    pub fn push(&mut self, t: UnixSeconds, v: f64) -> Option<Change> {
        let start_bound = self.bounds.start_bound()?;
        if !beyond(self.bounds.kind, v, start_bound) {
            let ended = self.current.take()?;
            return (ended.level > Status::Ok)
                .then(|| Change::Ended(self.episode(&ended, Some(t))));
        }
        let beyond_critical = self
            .bounds
            .critical
            .is_some_and(|c| beyond(self.bounds.kind, v, c));
        let beyond_warning = self
            .bounds
            .warning
            .is_some_and(|w| beyond(self.bounds.kind, v, w));
        let c = self.current.get_or_insert(Current {
            start: t,
            last: t,
            peak: v,
            peak_at: t,
            level: Status::Ok,
            confirmed_at: t,
            critical_since: None,
            warning_since: None,
            critical_periods: Vec::new(),
            level_before_canary: Status::Ok,
        });
        c.last = t;
        if beyond(self.bounds.kind, v, c.peak) {
            c.peak = v;
            c.peak_at = t;
        }
        let since = |s: Option<UnixSeconds>, on: bool| on.then(|| s.unwrap_or(t));
        c.critical_since = since(c.critical_since, beyond_critical);
        c.warning_since = since(c.warning_since, beyond_warning);
        let held = |s: Option<UnixSeconds>| s.is_some_and(|s| t - s >= self.sustained_for_s);
        let now = if held(c.critical_since) {
            Status::Critical
        } else if held(c.warning_since) {
            Status::Warning
        } else {
            Status::Ok
        };
        if now == Status::Critical
            && let Some(start) = c.critical_since
        {
            match c.critical_periods.last_mut() {
                Some(p) if p[0] == start => p[1] = t,
                _ => c.critical_periods.push([start, t]),
            }
        }
        let reached = now > c.level;
        if reached {
            c.level = now;
            c.confirmed_at = t;
        }
        if t < self.canary_start {
            c.level_before_canary = c.level;
        }
        if reached {
            let c = c.clone();
            return Some(Change::Reached(self.episode(&c, None)));
        }
        None
    }

    /// The end of the samples judged: the episode in progress, if it has
    /// reached a level, stays open.
    pub fn finish(self) -> Option<Episode> {
        self.ongoing()
    }
}

/// The breach episodes of a series, judged over `samples` (in time order).
pub fn episodes_of(
    metric: MetricId,
    bounds: Bounds,
    sustained_for_s: f64,
    canary_start: UnixSeconds,
    samples: impl IntoIterator<Item = Sample>,
) -> Vec<Episode> {
    let mut tracker = EpisodeTracker::new(metric, bounds, sustained_for_s, canary_start);
    let mut out: Vec<Episode> = samples
        .into_iter()
        .filter_map(|s| match tracker.push(s.t, s.v)? {
            Change::Ended(e) => Some(e),
            Change::Reached(_) => None,
        })
        .collect();
    out.extend(tracker.finish());
    out
}

/// Quantiles of consecutive tumbling windows of raw samples, computed as the
/// samples arrive: each window's values are emitted, stamped at the window's
/// start, when a sample of a later window comes (or at [`finish`]). The same
/// numbers as [`crate::judge::analysis::rolling_quantiles`] gives for the
/// whole series.
///
/// [`finish`]: TumblingQuantiles::finish
#[derive(Debug, Clone)]
pub struct TumblingQuantiles<const K: usize> {
    window_s: f64,
    qs: [f64; K],
    start: Option<f64>,
    keys: Vec<i64>,
}

impl<const K: usize> TumblingQuantiles<K> {
    pub fn new(window_s: f64, qs: [f64; K]) -> Self {
        TumblingQuantiles {
            window_s,
            qs,
            start: None,
            keys: Vec::new(),
        }
    }

    /// The window start a time falls in.
    pub fn window_start(window_s: f64, t: f64) -> f64 {
        (t / window_s).floor() * window_s
    }

    /// Adds a sample; returns the quantiles of the window it closed, if any.
    pub fn push(&mut self, t: f64, v: f64) -> Option<(f64, [f64; K])> {
        let end = self.start.map(|s| s + self.window_s);
        let closed = if end.is_some_and(|e| t >= e) {
            self.close()
        } else {
            None
        };
        if self.start.is_none() {
            self.start = Some(Self::window_start(self.window_s, t));
        }
        self.keys.push(stats::order_key(v));
        closed
    }

    fn close(&mut self) -> Option<(f64, [f64; K])> {
        let start = self.start.take()?;
        let values = stats::quantiles_of_keys(&mut self.keys, self.qs);
        self.keys.clear();
        values.map(|v| (start, v))
    }

    /// The last window, closed as it stands.
    pub fn finish(mut self) -> Option<(f64, [f64; K])> {
        self.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn above(warning: f64, critical: f64) -> Bounds {
        Bounds {
            kind: BoundKind::Above,
            warning: Some(warning),
            critical: Some(critical),
        }
    }

    fn series(values: &[f64]) -> Vec<Sample> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Sample { t: i as f64, v: *v })
            .collect()
    }

    #[test]
    fn one_stretch_is_one_episode_at_its_worst_level() {
        // Warning from t=2, critical 4..=7 (3 s), back at t=10.
        let s = series(&[
            0.0, 0.0, 60.0, 60.0, 99.0, 99.0, 99.0, 99.0, 60.0, 60.0, 0.0, 0.0,
        ]);
        let e = episodes_of(MetricId::CpuUsagePct, above(50.0, 90.0), 3.0, 0.0, s);
        assert_eq!(e.len(), 1, "{e:?}");
        let e = &e[0];
        assert_eq!(e.level, Status::Critical);
        assert_eq!((e.start, e.end, e.confirmed_at), (2.0, 9.0, 7.0));
        assert_eq!(
            (e.peak, e.peak_at, e.bound, e.open),
            (99.0, 4.0, 90.0, false)
        );
    }

    #[test]
    fn a_short_critical_spike_inside_a_warning_is_a_warning_with_its_peak() {
        let s = series(&[60.0, 60.0, 99.0, 60.0, 60.0, 0.0]);
        let e = episodes_of(MetricId::CpuUsagePct, above(50.0, 90.0), 3.0, 0.0, s);
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].level, e[0].peak, e[0].bound),
            (Status::Warning, 99.0, 50.0)
        );
    }

    #[test]
    fn transients_are_not_episodes_and_zero_seconds_means_one_sample() {
        let s = series(&[0.0, 99.0, 0.0, 0.0]);
        let bounds = above(50.0, 90.0);
        assert!(episodes_of(MetricId::CpuUsagePct, bounds, 1.0, 0.0, s.clone()).is_empty());
        let e = episodes_of(MetricId::CpuUsagePct, bounds, 0.0, 0.0, s);
        assert_eq!(
            (e.len(), e[0].level, e[0].start, e[0].end),
            (1, Status::Critical, 1.0, 1.0)
        );
    }

    #[test]
    fn an_episode_still_beyond_at_the_last_sample_is_open_and_pre_existing_when_no_worse() {
        // Critical from t=2, before the canary starts at 3: pre-existing.
        let s = series(&[0.0, 99.0, 99.0, 99.0]);
        let e = episodes_of(MetricId::CpuUsagePct, above(50.0, 90.0), 1.0, 3.0, s);
        assert_eq!(e.len(), 1);
        assert!(e[0].open && e[0].pre_existing);
        // A warning before the canary that turns critical after it began is the canary's.
        let s = series(&[60.0, 60.0, 60.0, 99.0, 99.0, 99.0]);
        let e = episodes_of(MetricId::CpuUsagePct, above(50.0, 90.0), 1.0, 3.0, s);
        assert_eq!((e.len(), e[0].level), (1, Status::Critical));
        assert!(!e[0].pre_existing);
        assert_eq!(e[0].critical_periods, vec![[3.0, 5.0]]);
        assert_eq!(e[0].level_in(0.0, 3.0), Some(Status::Warning));
        assert_eq!(e[0].level_in(3.0, 6.0), Some(Status::Critical));
    }

    #[test]
    fn a_critical_bound_set_nearer_than_the_warning_one_still_starts_episodes() {
        // critical 0.5 under the default warning 50: 1 is critical, not warning.
        let e = episodes_of(
            MetricId::ThreadsRunning,
            above(50.0, 0.5),
            0.0,
            0.0,
            series(&[0.0, 1.0, 1.0, 0.0]),
        );
        assert_eq!(
            (e.len(), e[0].level, e[0].start, e[0].end),
            (1, Status::Critical, 1.0, 2.0)
        );
    }

    #[test]
    fn lower_is_worse_for_below_bounds() {
        let b = Bounds {
            kind: BoundKind::Below,
            warning: Some(95.0),
            critical: Some(90.0),
        };
        assert_eq!(b.level_of(92.0), Status::Warning);
        let e = episodes_of(
            MetricId::BufferPoolHitRatePct,
            b,
            0.0,
            0.0,
            series(&[99.0, 80.0, 85.0, 99.0]),
        );
        assert_eq!(
            (e[0].level, e[0].peak, e[0].peak_at),
            (Status::Critical, 80.0, 1.0)
        );
    }

    #[test]
    fn tumbling_quantiles_match_the_offline_rolling_windows() {
        let samples: Vec<Sample> = (0..500)
            .map(|i| Sample {
                t: i as f64 * 0.37,
                v: ((i * 7919) % 101) as f64,
            })
            .collect();
        let offline = crate::judge::analysis::rolling_quantiles(&samples, 10.0, [0.5, 0.99]);
        let mut live = TumblingQuantiles::new(10.0, [0.5, 0.99]);
        let mut got: Vec<(f64, [f64; 2])> =
            samples.iter().filter_map(|s| live.push(s.t, s.v)).collect();
        got.extend(live.finish());
        assert_eq!(got.len(), offline[0].len());
        for (i, (t, [p50, p99])) in got.into_iter().enumerate() {
            assert_eq!(
                (t, p50, p99),
                (offline[0][i].t, offline[0][i].v, offline[1][i].v)
            );
        }
    }
}
