//! Bounds for the twenty metrics and the decision rules' settings.
//!
//! The defaults are the template's (section 3); a TOML file given with
//! `--thresholds` overrides any part of them, field by field.

use crate::error::InputError;
use crate::model::{MetricId, RuleId, Window};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// How a metric's value is compared with its bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BoundKind {
    /// Breach when the value is above the bound.
    Above,
    /// Breach when the value is below the bound (lower is worse).
    Below,
    /// Breach when the value rises more than the bound, in percent, over the baseline.
    IncreasePct,
    /// Breach when the value falls more than the bound, in percent, under the baseline.
    DecreasePct,
    /// Breach when the value is above the bound, in percent of `max_connections`.
    AbovePctOfMaxConnections,
    /// No bound: the metric is reported, never judged.
    None,
}

/// Which statistic of a window stands for the window in the tables and against
/// the bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    Mean,
    Min,
    Max,
    P50,
    P95,
    P99,
    Sum,
    Count,
}

impl Statistic {
    /// Its name in a sentence: `mean`, `P99`.
    pub fn name(self) -> &'static str {
        match self {
            Statistic::Mean => "mean",
            Statistic::Min => "min",
            Statistic::Max => "max",
            Statistic::P50 => "P50",
            Statistic::P95 => "P95",
            Statistic::P99 => "P99",
            Statistic::Sum => "sum",
            Statistic::Count => "count",
        }
    }
}

/// The bounds of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MetricThreshold {
    pub kind: BoundKind,
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    pub statistic: Statistic,
    /// How long a breach must last to count on its own, in seconds.
    pub sustained_for_s: f64,
    /// Make a statistically significant worsening against the baseline
    /// (report section 3.6: Mann-Whitney p < 0.01 and |rank-biserial| ≥ 0.147,
    /// in the direction that is worse for the metric) a blocker, even within
    /// the bounds.
    #[serde(default)]
    pub significance_blocks: bool,
    /// Judge each window's representative value against the bounds too, not
    /// only breaches sustained over time. Off by default for CPU, memory and
    /// disk, whose short spikes are the DDL's own work.
    #[serde(default = "judged_by_default")]
    pub window_statistic: bool,
    /// Breaches while the DDL runs do not count: the ALTER's own sort reads
    /// and writes are expected there (1.5–2.8 GB/s measured on MariaDB). On
    /// by default for disk read and write; judged before and after the DDL.
    #[serde(default)]
    pub exempt_during_ddl: bool,
    /// Must be measured: NO_DATA blocks the approval. When not set, the
    /// policy of docs/judgement.md decides (database metrics, replication lag
    /// when the manifest names a replica, application metrics when the run
    /// has an application source).
    #[serde(default)]
    pub required: Option<bool>,
}

fn judged_by_default() -> bool {
    true
}

impl MetricThreshold {
    /// Whether breaches in window `w` count at all (`exempt_during_ddl`
    /// leaves the DDL's window out).
    pub fn judged_in(&self, w: Window) -> bool {
        !(self.exempt_during_ddl && w == Window::During)
    }

    /// Whether window `w`'s representative value is judged against the
    /// bounds (and not only breaches sustained over time).
    pub fn judges_window_value(&self, w: Window) -> bool {
        self.window_statistic && self.judged_in(w)
    }
}

/// Settings of the decision rules (template 7.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RuleSettings {
    /// The post phase's latency may be at most this much worse than the baseline, in percent.
    pub max_post_latency_degradation_pct: f64,
    /// Rules by name that are switched off (they are still evaluated and shown).
    pub disabled: Vec<String>,
    /// Treat each WARNING metric as a blocker rather than a condition.
    pub warnings_block: bool,
    /// Seconds after the DDL's end left out of the post window, for caches
    /// and replicas to settle. The report states it whenever it is not 0.
    #[serde(default)]
    pub settle_after_ddl_s: f64,
}

/// The whole set of bounds and settings in force for one build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Thresholds {
    /// Width of the windows that raw latency samples are summarised over for
    /// the sustained-breach check and the charts, in seconds.
    pub rolling_window_s: f64,
    pub rules: RuleSettings,
    pub metrics: BTreeMap<MetricId, MetricThreshold>,
}

const DEFAULT_SUSTAINED_S: f64 = 60.0;

impl Default for Thresholds {
    fn default() -> Self {
        use BoundKind::*;
        use MetricId::*;
        use Statistic::*;
        let bound =
            |kind, warning: Option<f64>, critical: Option<f64>, statistic| MetricThreshold {
                kind,
                warning,
                critical,
                statistic,
                sustained_for_s: DEFAULT_SUSTAINED_S,
                significance_blocks: false,
                window_statistic: true,
                exempt_during_ddl: false,
                required: Option::None,
            };
        let table: [(MetricId, MetricThreshold); 21] = [
            (CpuUsagePct, bound(Above, Some(70.0), Some(85.0), Mean)),
            (MemoryUsagePct, bound(Above, Some(80.0), Some(90.0), Mean)),
            (DiskReadMbS, bound(Above, Some(100.0), Some(200.0), Mean)),
            (DiskWriteMbS, bound(Above, Some(50.0), Some(100.0), Mean)),
            (
                NetworkLatencyMs,
                bound(Above, Some(50.0), Some(100.0), Mean),
            ),
            (
                ActiveConnections,
                bound(AbovePctOfMaxConnections, Some(80.0), Some(90.0), Mean),
            ),
            (
                QueryLatencyP50Ms,
                bound(IncreasePct, Some(20.0), Some(50.0), P50),
            ),
            (
                QueryLatencyP99Ms,
                bound(IncreasePct, Some(30.0), Some(100.0), P99),
            ),
            (LockWaitTimeS, bound(Above, Some(1.0), Some(5.0), Mean)),
            (
                TableLocksWaited,
                bound(None, Option::None, Option::None, Sum),
            ),
            (ReplicationLagS, bound(Above, Some(30.0), Some(60.0), Mean)),
            (
                BufferPoolHitRatePct,
                bound(Below, Some(95.0), Some(90.0), Mean),
            ),
            (ThreadsRunning, bound(Above, Some(50.0), Some(100.0), Mean)),
            (ErrorRatePct, bound(Above, Some(0.1), Some(1.0), Mean)),
            (
                RequestLatencyP50Ms,
                bound(IncreasePct, Some(20.0), Some(50.0), P50),
            ),
            (
                RequestLatencyP99Ms,
                bound(IncreasePct, Some(30.0), Some(100.0), P99),
            ),
            // Not in the template: a P95 gets the P99's bounds.
            (
                RequestLatencyP95Ms,
                bound(IncreasePct, Some(30.0), Some(100.0), P95),
            ),
            (
                ThroughputRps,
                bound(DecreasePct, Some(20.0), Some(50.0), Mean),
            ),
            (
                KillSwitchCheckCount,
                bound(None, Option::None, Option::None, Count),
            ),
            (
                KillSwitchApiResponseMs,
                bound(Above, Some(500.0), Some(2000.0), Max),
            ),
            (
                KillSwitchApiAvailabilityPct,
                bound(Below, Some(99.9), Some(99.0), Mean),
            ),
        ];
        let mut metrics: BTreeMap<MetricId, MetricThreshold> = table.into_iter().collect();
        // Host resources: a spike is the DDL's own work; what counts is a
        // breach that lasts. Disk I/O during the DDL is the index build itself.
        for id in [CpuUsagePct, MemoryUsagePct, DiskReadMbS, DiskWriteMbS] {
            let m = metrics.get_mut(&id).expect("every metric has a default");
            m.window_statistic = false;
            m.exempt_during_ddl = matches!(id, DiskReadMbS | DiskWriteMbS);
        }
        Thresholds {
            rolling_window_s: 10.0,
            rules: RuleSettings {
                max_post_latency_degradation_pct: 10.0,
                disabled: Vec::new(),
                warnings_block: false,
                settle_after_ddl_s: 0.0,
            },
            metrics,
        }
    }
}

impl Thresholds {
    pub fn for_metric(&self, metric: MetricId) -> &MetricThreshold {
        // Every metric has an entry: the defaults fill all twenty and overrides only replace.
        &self.metrics[&metric]
    }

    /// The defaults with the overrides of a TOML file applied.
    pub fn from_toml_file(path: &Path) -> Result<Thresholds, InputError> {
        let bytes = std::fs::read(path).map_err(|source| InputError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_bytes(path, &bytes)
    }

    /// [`Thresholds::from_toml_file`] of bytes already read from `path`.
    pub fn from_toml_bytes(path: &Path, bytes: &[u8]) -> Result<Thresholds, InputError> {
        let text = std::str::from_utf8(bytes).map_err(|e| InputError::Invalid {
            path: path.to_path_buf(),
            line: None,
            field: None,
            message: format!("not UTF-8 text: {e}"),
        })?;
        Self::from_toml_str(text).map_err(|message| InputError::Invalid {
            path: path.to_path_buf(),
            line: None,
            field: None,
            message,
        })
    }

    /// Parses overrides; errors name the line and the key path.
    pub fn from_toml_str(text: &str) -> Result<Thresholds, String> {
        let de = toml::Deserializer::parse(text).map_err(|e| e.to_string())?;
        let overrides: ThresholdsFile = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            format!("at `{path}`: {}", inner.message().trim())
        })?;
        let mut t = Thresholds::default();
        overrides.apply_to(&mut t)?;
        Ok(t)
    }
}

/// The shape of a `--thresholds` file: every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdsFile {
    #[serde(default)]
    defaults: Option<DefaultsOverride>,
    #[serde(default)]
    rules: Option<RulesOverride>,
    #[serde(default)]
    metrics: BTreeMap<String, MetricOverride>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultsOverride {
    sustained_for_s: Option<f64>,
    rolling_window_s: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesOverride {
    max_post_latency_degradation_pct: Option<f64>,
    disabled: Option<Vec<String>>,
    warnings_block: Option<bool>,
    settle_after_ddl_s: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricOverride {
    kind: Option<BoundKind>,
    warning: Option<f64>,
    critical: Option<f64>,
    statistic: Option<Statistic>,
    sustained_for_s: Option<f64>,
    significance_blocks: Option<bool>,
    window_statistic: Option<bool>,
    exempt_during_ddl: Option<bool>,
    required: Option<bool>,
}

fn check_finite(name: &str, v: f64) -> Result<f64, String> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("at `{name}`: must be a finite number, found {v}"))
    }
}

impl ThresholdsFile {
    fn apply_to(self, t: &mut Thresholds) -> Result<(), String> {
        if let Some(d) = self.defaults {
            if let Some(s) = d.sustained_for_s {
                let s = check_finite("defaults.sustained_for_s", s)?;
                for m in t.metrics.values_mut() {
                    m.sustained_for_s = s;
                }
            }
            if let Some(w) = d.rolling_window_s {
                let w = check_finite("defaults.rolling_window_s", w)?;
                if w <= 0.0 {
                    return Err("at `defaults.rolling_window_s`: must be above 0".into());
                }
                t.rolling_window_s = w;
            }
        }
        if let Some(r) = self.rules {
            if let Some(v) = r.max_post_latency_degradation_pct {
                t.rules.max_post_latency_degradation_pct =
                    check_finite("rules.max_post_latency_degradation_pct", v)?;
            }
            if let Some(d) = r.disabled {
                for name in &d {
                    if RuleId::from_key(name).is_none() {
                        return Err(format!(
                            "at `rules.disabled`: unknown rule `{name}`; rules are {}",
                            RuleId::ALL
                                .iter()
                                .map(|r| r.key())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                }
                t.rules.disabled = d;
            }
            if let Some(w) = r.warnings_block {
                t.rules.warnings_block = w;
            }
            if let Some(v) = r.settle_after_ddl_s {
                let v = check_finite("rules.settle_after_ddl_s", v)?;
                if v < 0.0 {
                    return Err("at `rules.settle_after_ddl_s`: must be 0 or more".into());
                }
                t.rules.settle_after_ddl_s = v;
            }
        }
        for (name, o) in self.metrics {
            let id: MetricId = name.parse().map_err(|_| {
                format!(
                    "at `metrics.{name}`: unknown metric; metrics are {}",
                    MetricId::ALL.map(|m| m.key()).join(", ")
                )
            })?;
            let m = t.metrics.get_mut(&id).expect("defaults hold every metric");
            if let Some(k) = o.kind {
                m.kind = k;
            }
            if let Some(w) = o.warning {
                m.warning = Some(check_finite(&format!("metrics.{name}.warning"), w)?);
            }
            if let Some(c) = o.critical {
                m.critical = Some(check_finite(&format!("metrics.{name}.critical"), c)?);
            }
            if let Some(s) = o.statistic {
                m.statistic = s;
            }
            if let Some(s) = o.sustained_for_s {
                m.sustained_for_s = check_finite(&format!("metrics.{name}.sustained_for_s"), s)?;
            }
            if let Some(b) = o.significance_blocks {
                m.significance_blocks = b;
            }
            if let Some(b) = o.window_statistic {
                m.window_statistic = b;
            }
            if let Some(b) = o.exempt_during_ddl {
                m.exempt_during_ddl = b;
            }
            if let Some(b) = o.required {
                m.required = Some(b);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_templates_bounds() {
        let t = Thresholds::default();
        let cpu = t.for_metric(MetricId::CpuUsagePct);
        assert_eq!((cpu.warning, cpu.critical), (Some(70.0), Some(85.0)));
        let hit = t.for_metric(MetricId::BufferPoolHitRatePct);
        assert_eq!(hit.kind, BoundKind::Below);
        assert_eq!((hit.warning, hit.critical), (Some(95.0), Some(90.0)));
        let p99 = t.for_metric(MetricId::QueryLatencyP99Ms);
        assert_eq!(p99.kind, BoundKind::IncreasePct);
        assert_eq!((p99.warning, p99.critical), (Some(30.0), Some(100.0)));
        let tput = t.for_metric(MetricId::ThroughputRps);
        assert_eq!(tput.kind, BoundKind::DecreasePct);
        assert_eq!(
            t.for_metric(MetricId::TableLocksWaited).kind,
            BoundKind::None
        );
        assert_eq!(t.rules.max_post_latency_degradation_pct, 10.0);
        assert_eq!(
            t.metrics.len(),
            21,
            "the template's twenty and request latency P95"
        );
        let p95 = t.for_metric(MetricId::RequestLatencyP95Ms);
        assert_eq!(
            (p95.kind, p95.statistic),
            (BoundKind::IncreasePct, Statistic::P95)
        );
    }

    #[test]
    fn overrides_replace_only_what_they_name() {
        let t = Thresholds::from_toml_str(
            "[defaults]\nsustained_for_s = 30\n[metrics.cpu_usage_pct]\nwarning = 40\n",
        )
        .unwrap();
        let cpu = t.for_metric(MetricId::CpuUsagePct);
        assert_eq!((cpu.warning, cpu.critical), (Some(40.0), Some(85.0)));
        assert_eq!(cpu.sustained_for_s, 30.0);
    }

    #[test]
    fn significance_blocks_is_per_metric_and_off_by_default() {
        assert!(
            Thresholds::default()
                .metrics
                .values()
                .all(|m| !m.significance_blocks)
        );
        let t = Thresholds::from_toml_str(
            "[metrics.query_latency_p99_ms]\nsignificance_blocks = true\n",
        )
        .unwrap();
        assert!(
            t.for_metric(MetricId::QueryLatencyP99Ms)
                .significance_blocks
        );
        assert!(!t.for_metric(MetricId::CpuUsagePct).significance_blocks);
        let e = Thresholds::from_toml_str("[metrics.cpu_usage_pct]\nsignificance_blocks = 1\n")
            .unwrap_err();
        assert!(e.contains("significance_blocks"), "{e}");
    }

    #[test]
    fn errors_name_the_key() {
        let e = Thresholds::from_toml_str("[metrics.cpu_usage]\nwarning = 1\n").unwrap_err();
        assert!(e.contains("metrics.cpu_usage"), "{e}");
        let e = Thresholds::from_toml_str("[metrics.cpu_usage_pct]\nwarnin = 1\n").unwrap_err();
        assert!(e.contains("warnin"), "{e}");
        let e =
            Thresholds::from_toml_str("[metrics.cpu_usage_pct]\nwarning = 'high'\n").unwrap_err();
        assert!(e.contains("metrics.cpu_usage_pct.warning"), "{e}");
    }
}
