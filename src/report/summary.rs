//! The report's data: everything judged about a run, as plain values. It is
//! `summary.json` as is, and what the Markdown and HTML views are built from.

use crate::judge::analysis::{DataSource, PhaseTiming, Windows};
use crate::judge::bounds::Episode;
use crate::judge::checkpoints::Checkpoint;
use crate::judge::classify::{MetricVerdict, Status};
use crate::judge::rules::{RuleResult, Verdict};
use crate::judge::{Alert, Incident, Judgement};
use crate::model::{Category, MetricId, RunData, Severity, SourceFile};
use crate::stats::Summary;
use crate::thresholds::{BoundKind, Thresholds};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Version of the summary.json format.
pub const SUMMARY_SCHEMA_VERSION: u32 = 2;

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
    pub conditions: Vec<crate::judge::rules::DerivedCondition>,
    pub metrics: Vec<MetricRow>,
    pub counts: Counts,
    /// The alerts the run's log recorded live.
    pub alerts: Vec<Alert>,
    /// The incidents the team logged.
    pub incidents: Vec<Incident>,
    /// The breach episodes the judge found in the data, by start time.
    pub episodes: Vec<Episode>,
    /// Every kill switch check, in order, and each planned checkpoint that
    /// was not reached.
    #[serde(default)]
    pub kill_switch_checkpoints: Vec<Checkpoint>,
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
    #[serde(default)]
    pub after_rollback: Option<Summary>,
    /// Baseline against during and post: Mann-Whitney U, Hodges-Lehmann
    /// shift, effect size (report section 3.6). Absent in summaries written
    /// before it existed.
    #[serde(default)]
    pub significance: Option<crate::judge::significance::MetricSignificance>,
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

/// Which thresholds judged the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ThresholdsUsed {
    /// The `--thresholds` file, or `built-in defaults`.
    pub source: String,
    /// SHA-256 of the file's bytes, when a file was given.
    pub sha256: Option<String>,
    pub values: Thresholds,
}

/// Gathers the judgement into the report's data. Judges nothing.
pub fn assemble(run: &RunData, judgement: &Judgement, thresholds: ThresholdsUsed) -> ReportData {
    let th = &thresholds.values;
    let analysis = &judgement.analysis;
    let decision = &judgement.decision;
    let mut counts = Counts::default();
    let metrics: Vec<MetricRow> = analysis
        .metrics
        .iter()
        .zip(&judgement.verdicts)
        .zip(&judgement.significance)
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
                after_rollback: a.after_rollback,
                significance: Some(sig.clone()),
            }
        })
        .collect();
    let mut warnings = run.warnings.clone();
    warnings.extend(judgement.warnings.iter().cloned());
    ReportData {
        schema_version: SUMMARY_SCHEMA_VERSION,
        generator: format!("canary-report {}", env!("CARGO_PKG_VERSION")),
        run_id: run.manifest.run_id.clone(),
        decision: decision.verdict,
        complete: judgement.facts.run_status.is_some(),
        reasons: decision.rules.clone(),
        blockers: decision.blockers.clone(),
        conditions: decision.conditions.clone(),
        metrics,
        counts,
        alerts: judgement.alerts.clone(),
        incidents: judgement.incidents.clone(),
        episodes: judgement.episodes.clone(),
        kill_switch_checkpoints: judgement.facts.checkpoints.clone(),
        phases: analysis.phases.clone(),
        windows: analysis.windows,
        thresholds,
        inputs: run.sources.clone(),
        warnings,
    }
}

impl ReportData {
    pub fn metric(&self, id: MetricId) -> Option<&MetricRow> {
        self.metrics.iter().find(|m| m.metric == id)
    }

    pub fn approved(&self) -> bool {
        self.decision == Verdict::ApprovedForLimitedProd
    }

    /// Alerts of one severity: a filter of the one list.
    pub fn alerts_of(&self, severity: Severity) -> usize {
        self.alerts
            .iter()
            .filter(|a| a.severity == severity)
            .count()
    }

    /// The episodes of one metric.
    pub fn episodes_of(&self, metric: MetricId) -> impl Iterator<Item = &Episode> {
        self.episodes.iter().filter(move |e| e.metric == metric)
    }
}
