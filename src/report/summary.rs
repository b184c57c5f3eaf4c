//! The report's data: everything judged about a run, as plain values. It is
//! `summary.json` as is, and what the Markdown and HTML views are built from.

use crate::analysis::{DataSource, PhaseTiming, RunAnalysis, Windows, unix};
use crate::classify::{Breach, MetricVerdict, Status, beyond};
use crate::model::{
    Category, Event, MetricId, RunData, Sample, Severity, SourceFile, UnixSeconds, Window,
};
use crate::rules::{Decision, LogFacts, RuleResult, Verdict};
use crate::stats::Summary;
use crate::thresholds::{BoundKind, MetricThreshold, Thresholds};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Version of the summary.json format.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReportData {
    pub schema_version: u32,
    /// `canary-report X.Y.Z`.
    pub generator: String,
    pub run_id: String,
    /// APPROVED_FOR_LIMITED_PROD or STOP_AND_FIX.
    pub decision: Verdict,
    /// False when the run's record stops before its end (no run_end event).
    pub complete: bool,
    /// Every rule of 7.2 with what was found.
    pub reasons: Vec<RuleResult>,
    pub blockers: Vec<RuleResult>,
    pub conditions: Vec<crate::rules::DerivedCondition>,
    pub metrics: Vec<MetricRow>,
    pub counts: Counts,
    pub incidents: Vec<IncidentRow>,
    /// Alerts fired: `alert` events and metric breaches, of any severity.
    pub alerts_fired: usize,
    /// Of those, critical ones.
    pub alerts_critical: usize,
    /// Of those, warnings.
    pub alerts_warning: usize,
    pub phases: Vec<PhaseTiming>,
    pub windows: Windows,
    pub thresholds: ThresholdsUsed,
    pub inputs: Vec<SourceFile>,
    pub warnings: Vec<String>,
}

/// One metric: numbers, bounds and status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MetricRow {
    pub metric: MetricId,
    pub label: String,
    pub category: Category,
    pub unit: String,
    pub source: DataSource,
    pub status: Status,
    pub bound_kind: BoundKind,
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    pub statistic: crate::thresholds::Statistic,
    pub verdict: MetricVerdict,
    pub baseline: Option<Summary>,
    pub during: Option<Summary>,
    pub post: Option<Summary>,
    /// Baseline against during and post: Mann-Whitney U, Hodges-Lehmann
    /// shift, effect size (report section 3.6). Absent in summaries written
    /// before it existed.
    #[serde(default)]
    pub significance: Option<crate::significance::MetricSignificance>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatusCounts {
    pub total: usize,
    pub ok: usize,
    pub warning: usize,
    pub critical: usize,
    pub no_data: usize,
}

impl StatusCounts {
    fn add(&mut self, s: Status) {
        self.total += 1;
        match s {
            Status::Ok => self.ok += 1,
            Status::Warning => self.warning += 1,
            Status::Critical => self.critical += 1,
            Status::NoData => self.no_data += 1,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    pub system: StatusCounts,
    pub database: StatusCounts,
    pub application: StatusCounts,
    pub kill_switch: StatusCounts,
    pub total: StatusCounts,
}

impl Counts {
    pub fn of(&self, c: Category) -> &StatusCounts {
        match c {
            Category::System => &self.system,
            Category::Database => &self.database,
            Category::Application => &self.application,
            Category::KillSwitch => &self.kill_switch,
        }
    }
}

/// Where a row of the incident log comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentOrigin {
    /// An `incident` event written by the executor or a person.
    Recorded,
    /// A metric breach found by the analysis.
    Breach,
}

/// A row of section 4's incident log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IncidentRow {
    pub time: UnixSeconds,
    pub severity: Severity,
    pub description: String,
    pub action: Option<String>,
    pub resolution: Option<String>,
    pub resolved: bool,
    pub origin: IncidentOrigin,
    pub metric: Option<MetricId>,
}

/// Which thresholds judged the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ThresholdsUsed {
    /// The `--thresholds` file, or `built-in defaults`.
    pub source: String,
    /// SHA-256 of the file's bytes, when a file was given.
    pub sha256: Option<String>,
    pub values: Thresholds,
}

fn fmt_value(v: f64, unit: &str) -> String {
    let n = if let Some(s) = crate::model::too_large_to_spell(v) {
        s
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    };
    crate::model::with_unit(n, unit)
}

fn breach_row(
    b: &Breach,
    th: &MetricThreshold,
    verdict: &MetricVerdict,
    timeline: &[Sample],
) -> IncidentRow {
    let m = b.metric;
    let direction = match th.kind {
        BoundKind::Below | BoundKind::DecreasePct => "below",
        _ => "above",
    };
    let how = if b.sustained {
        format!("for {:.0} s", b.duration_s())
    } else {
        format!(
            "as the {} window's {:?} value",
            b.window.key(),
            th.statistic
        )
        .to_lowercase()
    };
    let relative = match th.kind {
        BoundKind::IncreasePct | BoundKind::DecreasePct => verdict
            .baseline_value
            .map(|base| format!(" (baseline {})", fmt_value(base, m.unit())))
            .unwrap_or_default(),
        _ => String::new(),
    };
    // Resolved when the metric came back within the bound after the breach and
    // is still within it at the end of the record.
    let resolved = timeline
        .last()
        .is_some_and(|last| last.t > b.end && !beyond(th.kind, last.v, b.bound));
    IncidentRow {
        time: b.start,
        severity: if b.level == Status::Critical {
            Severity::Critical
        } else {
            Severity::Warning
        },
        description: format!(
            "{} {direction} {} bound {}{relative}: worst {} {how}, {} window",
            m.label(),
            b.level.key(),
            fmt_value(b.bound, m.unit()),
            fmt_value(b.peak, m.unit()),
            b.window.key()
        ),
        action: Some("Detected by canary-report from the recorded metrics".into()),
        resolution: Some(if resolved {
            "Back within the bound by the end of the record".into()
        } else {
            "Still beyond the bound at the end of the record".into()
        }),
        resolved,
        origin: IncidentOrigin::Breach,
        metric: Some(m),
    }
}

/// Puts everything together into the report's data.
pub fn assemble(
    run: &RunData,
    analysis: &RunAnalysis,
    verdicts: &[MetricVerdict],
    facts: &LogFacts,
    decision: &Decision,
    thresholds: ThresholdsUsed,
    mut cache: crate::significance::SignificanceCache,
) -> ReportData {
    let th = &thresholds.values;
    let significance: Vec<crate::significance::MetricSignificance> = analysis
        .metrics
        .iter()
        .zip(verdicts)
        .map(|(a, v)| {
            crate::significance::compare_metric(
                run,
                a,
                &analysis.windows,
                v,
                th.for_metric(a.metric),
                &mut cache,
            )
        })
        .collect();
    // A significant worsening blocks only where the thresholds say so.
    let mut decision = decision.clone();
    crate::rules::apply_significance(
        &mut decision,
        &analysis
            .metrics
            .iter()
            .map(|a| a.metric)
            .zip(&significance)
            .collect::<Vec<_>>(),
        th,
    );
    let decision = &decision;
    let mut counts = Counts::default();
    let metrics: Vec<MetricRow> = analysis
        .metrics
        .iter()
        .zip(verdicts)
        .zip(significance)
        .map(|((a, v), sig)| {
            let t = th.for_metric(a.metric);
            let c = match a.metric.category() {
                Category::System => &mut counts.system,
                Category::Database => &mut counts.database,
                Category::Application => &mut counts.application,
                Category::KillSwitch => &mut counts.kill_switch,
            };
            c.add(v.status);
            counts.total.add(v.status);
            MetricRow {
                metric: a.metric,
                label: a.metric.label().into(),
                category: a.metric.category(),
                unit: a.metric.unit().into(),
                source: a.source,
                status: v.status,
                bound_kind: t.kind,
                warning: t.warning,
                critical: t.critical,
                statistic: t.statistic,
                verdict: v.clone(),
                baseline: a.baseline,
                during: a.during,
                post: a.post,
                significance: Some(sig),
            }
        })
        .collect();

    let mut incidents: Vec<IncidentRow> = crate::model::incidents(&run.events)
        .into_iter()
        .map(|i| IncidentRow {
            time: unix(&i.first_ts),
            severity: i.severity,
            description: i.description,
            action: i.action,
            resolution: i.resolution,
            resolved: i.status == crate::model::IncidentStatus::Resolved,
            origin: IncidentOrigin::Recorded,
            metric: None,
        })
        .collect();
    for (v, a) in verdicts.iter().zip(&analysis.metrics) {
        for b in v.breaches.iter().filter(|b| b.window != Window::Baseline) {
            incidents.push(breach_row(b, th.for_metric(v.metric), v, &a.timeline));
        }
    }
    incidents.sort_by(|a, b| a.time.total_cmp(&b.time));
    let mut alerts_by_severity: Vec<Severity> = run
        .events
        .iter()
        .filter_map(|e| match &e.event {
            Event::Alert { severity, .. } => Some(*severity),
            _ => None,
        })
        .collect();
    alerts_by_severity.extend(
        incidents
            .iter()
            .filter(|i| i.origin == IncidentOrigin::Breach)
            .map(|i| i.severity),
    );
    let alerts_of = |s: Severity| alerts_by_severity.iter().filter(|a| **a == s).count();

    ReportData {
        schema_version: SUMMARY_SCHEMA_VERSION,
        generator: format!("canary-report {}", env!("CARGO_PKG_VERSION")),
        run_id: run.manifest.run_id.clone(),
        decision: decision.verdict,
        complete: facts.run_status.is_some(),
        reasons: decision.rules.clone(),
        blockers: decision.blockers.clone(),
        conditions: decision.conditions.clone(),
        metrics,
        counts,
        incidents,
        alerts_fired: alerts_by_severity.len(),
        alerts_critical: alerts_of(Severity::Critical),
        alerts_warning: alerts_of(Severity::Warning),
        phases: analysis.phases.clone(),
        windows: analysis.windows,
        thresholds,
        inputs: run.sources.clone(),
        warnings: run.warnings.clone(),
    }
}

impl ReportData {
    pub fn metric(&self, id: MetricId) -> Option<&MetricRow> {
        self.metrics.iter().find(|m| m.metric == id)
    }

    pub fn approved(&self) -> bool {
        self.decision == Verdict::ApprovedForLimitedProd
    }
}
