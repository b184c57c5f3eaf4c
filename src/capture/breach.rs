//! Live judgement of each sample against the thresholds: a bound crossed on two
//! readings in a row, for at least the metric's `sustained_for_s`, is a
//! confirmed breach. Each breach is reported once, and again only after the
//! metric has come back within its bound.

use crate::model::MetricId;
use crate::stats;
use crate::thresholds::{BoundKind, Statistic, Thresholds};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Warning,
    Critical,
}

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

/// A confirmed breach.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    pub what: Watched,
    pub level: Level,
    pub value: f64,
    /// e.g. `> 100` or `> +100% of the baseline 1.234`.
    pub bound: String,
    /// How long it has lasted, in seconds.
    pub lasted_s: f64,
    pub readings: u32,
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

#[derive(Debug, Clone)]
struct Run {
    first_t: f64,
    readings: u32,
    reported: bool,
    /// The latest reading, and the bound it crossed, as text.
    last_t: f64,
    value: f64,
    bound: String,
}

pub struct Detector {
    thresholds: Thresholds,
    /// The baseline's representative value of each metric with a relative bound.
    baseline: HashMap<MetricId, f64>,
    max_connections: Option<u64>,
    max_mdl_waiters: u32,
    runs: BTreeMap<(Watched, Level), Run>,
}

/// The statistic of a set of values (sorted in place).
pub fn statistic(values: &mut [f64], stat: Statistic) -> Option<f64> {
    let s = stats::summarize(values)?;
    Some(match stat {
        Statistic::Mean => s.mean,
        Statistic::Min => s.min,
        Statistic::Max => s.max,
        Statistic::P50 => s.p50,
        Statistic::P95 => s.p95,
        Statistic::P99 => s.p99,
        Statistic::Sum => s.sum,
        Statistic::Count => s.count as f64,
    })
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
            runs: BTreeMap::new(),
        }
    }

    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    /// Whether the metric is judged against the baseline.
    pub fn is_relative(&self, m: MetricId) -> bool {
        matches!(
            self.thresholds.for_metric(m).kind,
            BoundKind::IncreasePct | BoundKind::DecreasePct
        )
    }

    pub fn set_baseline(&mut self, m: MetricId, value: f64) {
        self.baseline.insert(m, value);
    }

    pub fn baseline(&self, m: MetricId) -> Option<f64> {
        self.baseline.get(&m).copied()
    }

    /// A confirmed breach that is still going on, as it stands at its latest
    /// reading; `None` once it is back within the bound (or never confirmed).
    pub fn ongoing(&self, what: Watched, level: Level) -> Option<Breach> {
        let run = self.runs.get(&(what, level)).filter(|r| r.reported)?;
        Some(Breach {
            what,
            level,
            value: run.value,
            bound: run.bound.clone(),
            lasted_s: run.last_t - run.first_t,
            readings: run.readings,
        })
    }

    /// The critical bound `value` is beyond, as text (`> 85`), for a bound
    /// that needs no baseline; `None` when within it, or when the bound is
    /// relative to the baseline or there is none.
    pub fn beyond_critical(&self, m: MetricId, value: f64) -> Option<String> {
        if self.is_relative(m) {
            return None;
        }
        let bound = self.thresholds.for_metric(m).critical?;
        self.crossed(m, bound, value).flatten()
    }

    /// Forgets every run in progress (at the start of the DDL).
    pub fn reset(&mut self) {
        self.runs.clear();
    }

    /// The bound crossed by `value`, if any, as text.
    fn crossed(&self, m: MetricId, bound: f64, value: f64) -> Option<Option<String>> {
        let kind = self.thresholds.for_metric(m).kind;
        Some(match kind {
            BoundKind::Above => (value > bound).then(|| format!("> {}", fmt_num(bound))),
            BoundKind::Below => (value < bound).then(|| format!("< {}", fmt_num(bound))),
            BoundKind::IncreasePct => {
                let base = self.baseline(m)?;
                let d = stats::delta_pct(base, value)?;
                (d > bound).then(|| {
                    format!(
                        "(+{d:.0}%) > +{}% of the baseline {}",
                        fmt_num(bound),
                        fmt_num(base)
                    )
                })
            }
            BoundKind::DecreasePct => {
                let base = self.baseline(m)?;
                let d = stats::delta_pct(base, value)?;
                (-d > bound).then(|| {
                    format!(
                        "({d:.0}%) < -{}% of the baseline {}",
                        fmt_num(bound),
                        fmt_num(base)
                    )
                })
            }
            BoundKind::AbovePctOfMaxConnections => {
                let max = self.max_connections.filter(|m| *m > 0)? as f64;
                let pct = value / max * 100.0;
                (pct > bound)
                    .then(|| format!("({pct:.0}% of max_connections {max}) > {}%", fmt_num(bound)))
            }
            BoundKind::None => return None,
        })
    }

    fn track(
        &mut self,
        key: (Watched, Level),
        crossed: Option<String>,
        t: f64,
        value: f64,
        sustained: f64,
    ) -> Option<Breach> {
        let Some(bound) = crossed else {
            self.runs.remove(&key);
            return None;
        };
        let run = self.runs.entry(key).or_insert(Run {
            first_t: t,
            readings: 0,
            reported: false,
            last_t: t,
            value,
            bound: String::new(),
        });
        run.readings += 1;
        run.last_t = t;
        run.value = value;
        run.bound.clone_from(&bound);
        let lasted = t - run.first_t;
        if !run.reported && run.readings >= 2 && lasted >= sustained {
            run.reported = true;
            return Some(Breach {
                what: key.0,
                level: key.1,
                value,
                bound,
                lasted_s: lasted,
                readings: run.readings,
            });
        }
        None
    }

    /// Judges one reading of replication: `stopped` says how it is stopped
    /// (a thread not running, lag NULL), `None` when it runs. Stopped is
    /// critical, confirmed as a bound is (two readings in a row, for
    /// replication_lag_s's `sustained_for_s`); not judged when the thresholds
    /// turn replication_lag_s off (`kind = "none"`).
    pub fn observe_replication(&mut self, t: f64, stopped: Option<String>) -> Option<Breach> {
        let th = self.thresholds.for_metric(MetricId::ReplicationLagS);
        if th.kind == BoundKind::None {
            return None;
        }
        let sustained = th.sustained_for_s;
        self.track(
            (Watched::ReplicationStopped, Level::Critical),
            stopped,
            t,
            1.0,
            sustained,
        )
    }

    /// Judges one reading of some metrics (those absent are left as they were)
    /// and of the metadata lock waiters. Returns the breaches confirmed now.
    pub fn observe(
        &mut self,
        t: f64,
        values: &[(MetricId, f64)],
        mdl_waiters: Option<u32>,
    ) -> Vec<Breach> {
        let mut out = Vec::new();
        for &(m, v) in values {
            let th = self.thresholds.for_metric(m).clone();
            for (level, bound) in [(Level::Critical, th.critical), (Level::Warning, th.warning)] {
                let Some(bound) = bound else { continue };
                let Some(crossed) = self.crossed(m, bound, v) else {
                    continue;
                };
                if let Some(b) = self.track(
                    (Watched::Metric(m), level),
                    crossed,
                    t,
                    v,
                    th.sustained_for_s,
                ) {
                    out.push(b);
                }
            }
        }
        if let Some(n) = mdl_waiters {
            let sustained = self
                .thresholds
                .for_metric(MetricId::LockWaitTimeS)
                .sustained_for_s;
            let crossed =
                (n > self.max_mdl_waiters).then(|| format!("> {} sessions", self.max_mdl_waiters));
            if let Some(b) = self.track(
                (Watched::MdlWaiters, Level::Critical),
                crossed,
                t,
                n as f64,
                sustained,
            ) {
                out.push(b);
            }
        }
        // A critical breach makes the warning of the same metric redundant.
        let critical: Vec<Watched> = out
            .iter()
            .filter(|b| b.level == Level::Critical)
            .map(|b| b.what)
            .collect();
        out.retain(|b| b.level == Level::Critical || !critical.contains(&b.what));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector(toml: &str) -> Detector {
        Detector::new(Thresholds::from_toml_str(toml).unwrap(), Some(100), 3)
    }

    #[test]
    fn one_reading_is_not_enough() {
        let mut d = detector("[defaults]\nsustained_for_s = 0\n");
        assert!(
            d.observe(0.0, &[(MetricId::ThreadsRunning, 500.0)], None)
                .is_empty()
        );
        let b = d.observe(1.0, &[(MetricId::ThreadsRunning, 500.0)], None);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].level, Level::Critical);
        // Reported once.
        assert!(
            d.observe(2.0, &[(MetricId::ThreadsRunning, 500.0)], None)
                .is_empty()
        );
        // Back within bounds, then out again: reported again.
        assert!(
            d.observe(3.0, &[(MetricId::ThreadsRunning, 1.0)], None)
                .is_empty()
        );
        assert!(
            d.observe(4.0, &[(MetricId::ThreadsRunning, 500.0)], None)
                .is_empty()
        );
        assert_eq!(
            d.observe(5.0, &[(MetricId::ThreadsRunning, 500.0)], None)
                .len(),
            1
        );
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
    fn latency_is_judged_against_the_baseline() {
        let mut d = detector("[defaults]\nsustained_for_s = 0\n");
        d.set_baseline(MetricId::QueryLatencyP99Ms, 2.0);
        let v = [(MetricId::QueryLatencyP99Ms, 3.0)];
        d.observe(0.0, &v, None);
        let b = d.observe(1.0, &v, None);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].level, Level::Warning, "{b:?}");
        let v = [(MetricId::QueryLatencyP99Ms, 5.0)];
        d.observe(2.0, &v, None);
        let b = d.observe(3.0, &v, None);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].level, Level::Critical);
        assert!(b[0].describe().contains("baseline"), "{}", b[0].describe());
    }

    #[test]
    fn connections_are_a_share_of_max_connections() {
        let mut d = detector("[defaults]\nsustained_for_s = 0\n");
        let v = [(MetricId::ActiveConnections, 95.0)];
        d.observe(0.0, &v, None);
        assert_eq!(d.observe(1.0, &v, None)[0].level, Level::Critical);
    }

    #[test]
    fn stopped_replication_is_critical_once_confirmed() {
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
            (Watched::ReplicationStopped, Level::Critical)
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
        let mut d = detector("[defaults]\nsustained_for_s = 0\n");
        let w = Watched::Metric(MetricId::ThreadsRunning);
        let v = |x: f64| [(MetricId::ThreadsRunning, x)];
        d.observe(0.0, &v(500.0), None);
        assert!(d.ongoing(w, Level::Critical).is_none(), "not confirmed yet");
        d.observe(1.0, &v(500.0), None);
        d.observe(3.0, &v(700.0), None);
        let b = d.ongoing(w, Level::Critical).unwrap();
        assert_eq!(
            b.describe(),
            "threads_running = 700 > 100 for 3.0 s (3 readings in a row)"
        );
        d.observe(4.0, &v(1.0), None);
        assert!(d.ongoing(w, Level::Critical).is_none(), "back within");
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
}
