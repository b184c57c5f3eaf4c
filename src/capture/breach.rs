//! Live judgement of each sample, with the judge's own bound engine
//! ([`crate::judge::bounds`]): the same episodes, at the same moments, as
//! `build` finds in the recorded samples. A breach is reported when its
//! episode reaches a level (a bound held for the metric's
//! `sustained_for_s`), at the level reached; again only when the episode
//! gets worse, or after it ended and a new one begins. The pile-up of
//! sessions behind the ALTER's metadata lock and stopped replication are
//! judged by the same engine, with a bound of their own.

use crate::judge::bounds::{Bounds, Change, Episode, EpisodeTracker, Status};
use crate::model::MetricId;
use crate::stats;
use crate::thresholds::{BoundKind, Thresholds};
use std::collections::{BTreeMap, HashMap};

/// What is watched: a metric, the pile-up of sessions behind the ALTER's
/// metadata lock, or replication having stopped (its lag unreadable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Watched {
    Metric(MetricId),
    MdlWaiters,
    ReplicationStopped,
}

impl Watched {
    pub fn key(self) -> &'static str {
        match self {
            Watched::Metric(m) => m.key(),
            Watched::MdlWaiters => "metadata_lock_waiters",
            Watched::ReplicationStopped => "replication_stopped",
        }
    }
}

/// A breach that reached a level.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    pub what: Watched,
    /// The level reached (WARNING or CRITICAL).
    pub level: Status,
    /// The latest reading.
    pub value: f64,
    /// e.g. `> 100` or `(+157%) > +100% of the baseline 1.234`.
    pub bound: String,
    /// How long it has lasted, in seconds.
    pub lasted_s: f64,
    pub readings: u32,
    /// The episode as it stands.
    pub episode: Episode,
}

impl Breach {
    pub fn describe(&self) -> String {
        if self.what == Watched::ReplicationStopped {
            return format!(
                "replication stopped ({}) for {:.1} s ({} readings in a row)",
                self.bound, self.lasted_s, self.readings
            );
        }
        format!(
            "{} = {} {} for {:.1} s ({} readings in a row)",
            self.what.key(),
            fmt_num(self.value),
            self.bound,
            self.lasted_s,
            self.readings
        )
    }
}

pub fn fmt_num(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// One watched value: its tracker, and what the latest reading was.
#[derive(Debug, Clone)]
struct Watch {
    tracker: EpisodeTracker,
    readings: u32,
    value: f64,
}

pub struct Detector {
    thresholds: Thresholds,
    /// The baseline's representative value of each metric with a relative bound.
    baseline: HashMap<MetricId, f64>,
    max_connections: Option<u64>,
    max_mdl_waiters: u32,
    watches: BTreeMap<Watched, Watch>,
    canary_start: f64,
    /// While the DDL runs: metrics exempt during it are not judged.
    ddl_running: bool,
    /// Why stopped replication is stopped, for its text.
    replication_state: String,
    /// Episodes of the metrics that have ended, in the order they ended.
    #[cfg(test)]
    ended: Vec<Episode>,
}

impl Detector {
    pub fn new(
        thresholds: Thresholds,
        max_connections: Option<u64>,
        max_mdl_waiters: u32,
    ) -> Detector {
        Detector {
            thresholds,
            baseline: HashMap::new(),
            max_connections,
            max_mdl_waiters,
            watches: BTreeMap::new(),
            canary_start: f64::INFINITY,
            ddl_running: false,
            replication_state: String::new(),
            #[cfg(test)]
            ended: Vec::new(),
        }
    }

    /// Every metric's episodes so far: those ended, then those going on.
    #[cfg(test)]
    pub fn episodes(&self) -> Vec<Episode> {
        let mut out = self.ended.clone();
        out.extend(self.watches.iter().filter_map(|(w, watch)| {
            matches!(w, Watched::Metric(_))
                .then(|| watch.tracker.ongoing())
                .flatten()
        }));
        out
    }

    /// Whether the metric is judged against the baseline.
    pub fn is_relative(&self, m: MetricId) -> bool {
        matches!(
            self.thresholds.for_metric(m).kind,
            BoundKind::IncreasePct | BoundKind::DecreasePct
        )
    }

    /// Sets a relative bound's baseline; its tracking starts now.
    pub fn set_baseline(&mut self, m: MetricId, value: f64) {
        self.baseline.insert(m, value);
        self.watches.remove(&Watched::Metric(m));
    }

    pub fn baseline(&self, m: MetricId) -> Option<f64> {
        self.baseline.get(&m).copied()
    }

    /// The metric's bounds as the judge resolves them; `None` when they
    /// cannot be yet (a relative bound before the baseline).
    pub fn bounds(&self, m: MetricId) -> Option<Bounds> {
        Bounds::resolve(
            self.thresholds.for_metric(m),
            self.baseline(m),
            self.max_connections,
        )
        .ok()
        .filter(|b| b.kind != BoundKind::None)
    }

    /// The DDL starts: from now on an episode that begins is the canary's,
    /// and metrics exempt during the DDL are not judged until it ends.
    pub fn ddl_started(&mut self, t: f64) {
        self.canary_start = t;
        self.ddl_running = true;
        for w in self.watches.values_mut() {
            w.tracker.set_canary_start(t);
        }
    }

    /// The DDL ended.
    pub fn ddl_ended(&mut self) {
        self.ddl_running = false;
    }

    /// A reached breach that is still going on, as it stands at its latest
    /// reading; `None` once it is back within the bound (or never reached).
    pub fn ongoing(&self, what: Watched, level: Status) -> Option<Breach> {
        let w = self.watches.get(&what)?;
        let e = w.tracker.ongoing().filter(|e| e.level >= level)?;
        // As it stands: the bound of the worst level the latest reading is beyond.
        let shown = w.tracker.bounds().level_of(w.value).max(e.level);
        Some(self.breach(what, w, e, shown))
    }

    /// A breach of `episode`, its bound told at `level`.
    fn breach(&self, what: Watched, w: &Watch, episode: Episode, level: Status) -> Breach {
        let bounds = *w.tracker.bounds();
        Breach {
            what,
            level: episode.level,
            value: w.value,
            bound: text_for_level(self, what, &bounds, level, w.value),
            lasted_s: episode.end - episode.start,
            readings: w.readings,
            episode,
        }
    }

    /// The critical bound `value` is beyond, as text (`> 85`), for a bound
    /// that needs no baseline; `None` when within it, or when the bound is
    /// relative to the baseline or there is none.
    pub fn beyond_critical(&self, m: MetricId, value: f64) -> Option<String> {
        if self.is_relative(m) {
            return None;
        }
        let b = self.bounds(m)?;
        (b.level_of(value) == Status::Critical)
            .then(|| self.bound_text(m, &b, Status::Critical, value))
    }

    /// The bound of `level`, as text, with what `value` is of it.
    fn bound_text(&self, m: MetricId, b: &Bounds, level: Status, value: f64) -> String {
        let bound = b.bound_of(level).unwrap_or(f64::NAN);
        let th = self.thresholds.for_metric(m);
        let limit = match level {
            Status::Critical => th.critical,
            _ => th.warning,
        }
        .unwrap_or(f64::NAN);
        match b.kind {
            BoundKind::Above => format!("> {}", fmt_num(bound)),
            BoundKind::Below => format!("< {}", fmt_num(bound)),
            BoundKind::IncreasePct | BoundKind::DecreasePct => {
                let base = self.baseline(m).unwrap_or(f64::NAN);
                let d = stats::delta_pct(base, value).unwrap_or(f64::NAN);
                let (sign, cmp) = if b.kind == BoundKind::IncreasePct {
                    ("+", ">")
                } else {
                    ("-", "<")
                };
                format!(
                    "({d:+.0}%) {cmp} {sign}{}% of the baseline {}",
                    fmt_num(limit),
                    fmt_num(base)
                )
            }
            BoundKind::AbovePctOfMaxConnections => {
                let max = self.max_connections.unwrap_or(0) as f64;
                format!(
                    "({:.0}% of max_connections {max}) > {}%",
                    value / max * 100.0,
                    fmt_num(limit)
                )
            }
            BoundKind::None => String::new(),
        }
    }

    /// Feeds one reading to a watch; returns the breach when its episode
    /// reached a level now.
    fn feed(
        &mut self,
        what: Watched,
        make: impl FnOnce(f64) -> Option<EpisodeTracker>,
        t: f64,
        value: f64,
    ) -> Option<Breach> {
        let canary_start = self.canary_start;
        let w = match self.watches.entry(what) {
            std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => v.insert(Watch {
                tracker: make(canary_start)?,
                readings: 0,
                value,
            }),
        };
        let level = w.tracker.bounds().level_of(value);
        w.readings = if level > Status::Ok {
            w.readings + 1
        } else {
            0
        };
        w.value = value;
        match w.tracker.push(t, value)? {
            // Told at the bound of the level reached.
            Change::Reached(e) => Some(self.breach(what, &self.watches[&what], e.clone(), e.level)),
            Change::Ended(_e) => {
                #[cfg(test)]
                if matches!(what, Watched::Metric(_)) {
                    self.ended.push(_e);
                }
                None
            }
        }
    }

    /// Judges one reading of replication: `stopped` says how it is stopped
    /// (a thread not running, lag NULL), `None` when it runs. Stopped is
    /// critical once it held for replication_lag_s's `sustained_for_s`; not
    /// judged when the thresholds turn replication_lag_s off (`kind = "none"`).
    pub fn observe_replication(&mut self, t: f64, stopped: Option<String>) -> Option<Breach> {
        let th = self
            .thresholds
            .for_metric(MetricId::ReplicationLagS)
            .clone();
        if th.kind == BoundKind::None {
            return None;
        }
        if let Some(state) = &stopped {
            self.replication_state.clone_from(state);
        }
        let bounds = Bounds {
            kind: BoundKind::Above,
            warning: None,
            critical: Some(0.5),
        };
        self.feed(
            Watched::ReplicationStopped,
            |start| {
                Some(EpisodeTracker::new(
                    MetricId::ReplicationLagS,
                    bounds,
                    th.sustained_for_s,
                    start,
                ))
            },
            t,
            if stopped.is_some() { 1.0 } else { 0.0 },
        )
    }

    /// Judges one reading of some metrics (those absent are left as they were)
    /// and of the metadata lock waiters. Returns the breaches that reached a
    /// level now.
    pub fn observe(
        &mut self,
        t: f64,
        values: &[(MetricId, f64)],
        mdl_waiters: Option<u32>,
    ) -> Vec<Breach> {
        let mut out = Vec::new();
        for &(m, v) in values {
            let th = self.thresholds.for_metric(m).clone();
            if self.ddl_running && !th.judged_in(crate::model::Window::During) {
                continue;
            }
            let Some(bounds) = self.bounds(m) else {
                continue;
            };
            let breach = self.feed(
                Watched::Metric(m),
                |start| Some(EpisodeTracker::new(m, bounds, th.sustained_for_s, start)),
                t,
                v,
            );
            out.extend(breach);
        }
        if let Some(n) = mdl_waiters {
            let sustained = self
                .thresholds
                .for_metric(MetricId::LockWaitTimeS)
                .sustained_for_s;
            let max = self.max_mdl_waiters;
            let bounds = Bounds {
                kind: BoundKind::Above,
                warning: None,
                critical: Some(max as f64),
            };
            out.extend(self.feed(
                Watched::MdlWaiters,
                |start| {
                    Some(EpisodeTracker::new(
                        MetricId::LockWaitTimeS,
                        bounds,
                        sustained,
                        start,
                    ))
                },
                t,
                n as f64,
            ));
        }
        out
    }
}

/// The text of the bound of the level a breach reached.
fn text_for_level(d: &Detector, what: Watched, b: &Bounds, level: Status, value: f64) -> String {
    match what {
        Watched::Metric(m) => d.bound_text(m, b, level, value),
        Watched::MdlWaiters => format!("> {} sessions", d.max_mdl_waiters),
        Watched::ReplicationStopped => d.replication_state.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::analysis::{DataSource, MetricAnalysis, Span, TimeSource, Windows};
    use crate::judge::classify::classify_metric;
    use crate::model::Sample;
    use proptest::prelude::*;

    fn detector(toml: &str) -> Detector {
        Detector::new(Thresholds::from_toml_str(toml).unwrap(), Some(100), 3)
    }

    #[test]
    fn with_zero_seconds_one_reading_is_a_breach_reported_once_per_episode() {
        let mut d = detector("[defaults]\nsustained_for_s = 0\n");
        let b = d.observe(0.0, &[(MetricId::ThreadsRunning, 500.0)], None);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].level, Status::Critical);
        // Reported once.
        assert!(
            d.observe(1.0, &[(MetricId::ThreadsRunning, 500.0)], None)
                .is_empty()
        );
        // Back within bounds, then out again: a new episode, reported again.
        assert!(
            d.observe(2.0, &[(MetricId::ThreadsRunning, 1.0)], None)
                .is_empty()
        );
        assert_eq!(
            d.observe(3.0, &[(MetricId::ThreadsRunning, 500.0)], None)
                .len(),
            1
        );
        assert_eq!(d.episodes().len(), 2);
    }

    #[test]
    fn the_sustained_time_counts() {
        let mut d = detector("[metrics.threads_running]\nsustained_for_s = 10\n");
        for t in 0..10 {
            assert!(
                d.observe(t as f64, &[(MetricId::ThreadsRunning, 500.0)], None)
                    .is_empty(),
                "t={t}"
            );
        }
        assert_eq!(
            d.observe(10.0, &[(MetricId::ThreadsRunning, 500.0)], None)
                .len(),
            1
        );
    }

    #[test]
    fn latency_is_judged_against_the_baseline_and_an_alert_carries_the_level_reached() {
        let mut d = detector("[defaults]\nsustained_for_s = 0\n");
        d.set_baseline(MetricId::QueryLatencyP99Ms, 2.0);
        let b = d.observe(0.0, &[(MetricId::QueryLatencyP99Ms, 3.0)], None);
        assert_eq!(b[0].level, Status::Warning, "{b:?}");
        // The same episode gets worse: reported again, at the level reached.
        let b = d.observe(1.0, &[(MetricId::QueryLatencyP99Ms, 5.0)], None);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].level, Status::Critical);
        assert!(
            b[0].describe().contains("+100% of the baseline 2"),
            "{}",
            b[0].describe()
        );
    }

    #[test]
    fn connections_are_a_share_of_max_connections() {
        let mut d = detector("[defaults]\nsustained_for_s = 0\n");
        let v = [(MetricId::ActiveConnections, 95.0)];
        assert_eq!(d.observe(0.0, &v, None)[0].level, Status::Critical);
    }

    #[test]
    fn stopped_replication_is_critical_once_it_held() {
        let mut d = detector("[metrics.replication_lag_s]\nsustained_for_s = 1\n");
        let why = || Some("IO thread No".to_string());
        assert!(d.observe_replication(0.0, why()).is_none());
        // Running again: the count starts over.
        assert!(d.observe_replication(0.5, None).is_none());
        assert!(d.observe_replication(1.0, why()).is_none());
        assert!(d.observe_replication(1.5, why()).is_none(), "0.5 s < 1 s");
        let b = d.observe_replication(2.0, why()).unwrap();
        assert_eq!(
            (b.what, b.level),
            (Watched::ReplicationStopped, Status::Critical)
        );
        assert_eq!(
            b.describe(),
            "replication stopped (IO thread No) for 1.0 s (3 readings in a row)"
        );
        let mut off = detector("[metrics.replication_lag_s]\nkind = \"none\"\n");
        for t in 0..5 {
            assert!(off.observe_replication(t as f64 * 100.0, why()).is_none());
        }
    }

    #[test]
    fn a_breach_going_on_is_followed_to_its_latest_reading() {
        let mut d = detector("[defaults]\nsustained_for_s = 1\n");
        let w = Watched::Metric(MetricId::ThreadsRunning);
        let v = |x: f64| [(MetricId::ThreadsRunning, x)];
        d.observe(0.0, &v(500.0), None);
        assert!(d.ongoing(w, Status::Critical).is_none(), "not held yet");
        d.observe(1.0, &v(500.0), None);
        d.observe(3.0, &v(700.0), None);
        let b = d.ongoing(w, Status::Critical).unwrap();
        assert_eq!(
            b.describe(),
            "threads_running = 700 > 100 for 3.0 s (3 readings in a row)"
        );
        d.observe(4.0, &v(1.0), None);
        assert!(d.ongoing(w, Status::Critical).is_none(), "back within");
    }

    #[test]
    fn only_bounds_that_need_no_baseline_are_judged_on_their_own() {
        let d = detector("[metrics.memory_usage_pct]\nkind = \"none\"\n");
        assert_eq!(
            d.beyond_critical(MetricId::CpuUsagePct, 100.0).as_deref(),
            Some("> 85")
        );
        assert_eq!(d.beyond_critical(MetricId::CpuUsagePct, 85.0), None);
        assert_eq!(d.beyond_critical(MetricId::MemoryUsagePct, 100.0), None);
        assert_eq!(
            d.beyond_critical(MetricId::BufferPoolHitRatePct, 50.0)
                .as_deref(),
            Some("< 90")
        );
        // Relative to a baseline that does not exist yet.
        assert_eq!(d.beyond_critical(MetricId::QueryLatencyP99Ms, 1e6), None);
        assert_eq!(
            d.beyond_critical(MetricId::ActiveConnections, 95.0)
                .as_deref(),
            Some("(95% of max_connections 100) > 90%")
        );
    }

    #[test]
    fn metadata_lock_pile_up() {
        let mut d = detector("[metrics.lock_wait_time_s]\nsustained_for_s = 2\n");
        assert!(d.observe(0.0, &[], Some(3)).is_empty());
        assert!(d.observe(1.0, &[], Some(4)).is_empty());
        assert!(d.observe(2.0, &[], Some(5)).is_empty());
        let b = d.observe(3.0, &[], Some(5));
        assert_eq!(b[0].what, Watched::MdlWaiters);
    }

    #[test]
    fn disk_io_is_not_judged_while_the_ddl_runs() {
        let mut d = detector("[defaults]\nsustained_for_s = 0\n");
        d.ddl_started(10.0);
        assert!(
            d.observe(11.0, &[(MetricId::DiskWriteMbS, 5000.0)], None)
                .is_empty()
        );
        d.ddl_ended();
        assert_eq!(
            d.observe(12.0, &[(MetricId::DiskWriteMbS, 5000.0)], None)
                .len(),
            1
        );
    }

    /// Baseline [0, 20), the DDL [20, 40), post [40, 60): one sample a second.
    fn windows() -> Windows {
        let span = |start, end| Some(Span { start, end });
        Windows {
            baseline: span(0.0, 20.0),
            during: span(20.0, 40.0),
            post: span(40.0, 60.0),
            after_rollback: None,
            settle_s: 0.0,
            source: TimeSource::Events,
        }
    }

    proptest! {
        /// The live judge (capture) and the offline judge (build) find the
        /// same episodes (start, end, level, peak, when back within, pre-
        /// existing) in the same samples; and capture's stop condition (a
        /// critical episode from the DDL on, or a window's value beyond the
        /// critical bound when the window ends) holds exactly when build
        /// classifies the metric CRITICAL, whenever the baseline was not
        /// already critical (capture stops before the DDL then).
        #[test]
        fn live_and_offline_judges_agree(
            values in prop::collection::vec(0.0f64..100.0, 60),
            below in any::<bool>(),
            warning in 20.0f64..60.0,
            gap in 5.0f64..30.0,
            sustained in prop::sample::select(vec![0.0, 1.0, 3.0, 10.0]),
            window_statistic in any::<bool>(),
        ) {
            let (metric, kind, critical) = if below {
                (MetricId::BufferPoolHitRatePct, "below", warning - gap)
            } else {
                (MetricId::ThreadsRunning, "above", warning + gap)
            };
            let toml = format!(
                "[metrics.{}]\nkind = \"{kind}\"\nwarning = {warning}\ncritical = {critical}\nsustained_for_s = {sustained}\nwindow_statistic = {window_statistic}\n",
                metric.key()
            );
            let thresholds = Thresholds::from_toml_str(&toml).unwrap();
            let th = thresholds.for_metric(metric).clone();
            let samples: Vec<Sample> = values
                .iter()
                .enumerate()
                .map(|(t, v)| Sample { t: t as f64, v: *v })
                .collect();
            let w = windows();
            let summary = |span: Option<Span>| {
                let span = span.unwrap();
                let mut v: Vec<f64> = samples.iter().filter(|s| span.contains(s.t)).map(|s| s.v).collect();
                crate::stats::summarize(&mut v)
            };
            let analysed = MetricAnalysis {
                metric,
                source: DataSource::Series,
                baseline: summary(w.baseline),
                during: summary(w.during),
                post: summary(w.post),
                after_rollback: None,
                from_counts: None,
                timeline: samples.clone(),
            };
            let offline = classify_metric(&analysed, &th, &w, None);

            let mut live = Detector::new(thresholds.clone(), None, 3);
            let mut stop = false;
            let bounds = live.bounds(metric).unwrap();
            let window_critical = |span: Span| {
                let mut v: Vec<f64> = samples.iter().filter(|s| span.contains(s.t)).map(|s| s.v).collect();
                let value = crate::judge::bounds::representative_of(&mut v, th.statistic).unwrap();
                th.window_statistic && bounds.level_of(value) == Status::Critical
            };
            for s in &samples {
                if s.t == 20.0 {
                    live.ddl_started(20.0);
                }
                if s.t == 40.0 {
                    live.ddl_ended();
                    stop |= window_critical(w.during.unwrap());
                }
                let reached = live.observe(s.t, &[(metric, s.v)], None);
                stop |= s.t >= 20.0 && reached.iter().any(|b| b.level == Status::Critical);
            }
            stop |= window_critical(w.post.unwrap());
            // An episode critical since the baseline that is still going on
            // at the DDL is a stop too (capture stops before the DDL).
            let baseline_critical = offline.verdict.baseline_status == Status::Critical;

            let key = |e: &Episode| (e.start.to_bits(), e.end.to_bits(), e.level, e.peak.to_bits(), e.peak_at.to_bits(), e.resolved_at.map(f64::to_bits), e.pre_existing);
            let mut a: Vec<_> = offline.episodes.iter().map(key).collect();
            let mut b: Vec<_> = live.episodes().iter().map(key).collect();
            a.sort();
            b.sort();
            prop_assert_eq!(a, b);
            if !baseline_critical {
                prop_assert_eq!(stop, offline.verdict.status == Status::Critical,
                    "verdict {:?}", offline.verdict);
            }
        }
    }
}
