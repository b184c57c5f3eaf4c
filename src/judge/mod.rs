//! The judgement of a run, computed once and complete before anything is
//! rendered: windows and statistics ([`analysis`]), each metric's status and
//! breach episodes ([`classify`] over the [`bounds`] engine that `capture`
//! also judges with live), the significance notes ([`significance`]), and the
//! decision ([`rules`]). Everything after it (summary.json, the report, the
//! charts, JUnit, `compare`, the `--all` index) only renders a [`Judgement`].
//! The semantics are in `docs/judgement.md`.

pub mod analysis;
pub mod bounds;
pub mod checkpoints;
pub mod classify;
pub mod rules;
pub mod significance;

use crate::model::{Category, Event, IncidentStatus, MetricId, RunData, Severity, UnixSeconds};
use crate::thresholds::{BoundKind, Thresholds};
use analysis::{DataSource, RunAnalysis};
use bounds::Episode;
use classify::MetricVerdict;
use rules::{Decision, LogFacts};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use significance::{MetricSignificance, SignificanceCache};

/// An alert the run's log recorded live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Alert {
    pub time: UnixSeconds,
    pub name: String,
    pub severity: Severity,
    pub message: Option<String>,
}

/// An incident the team (or the executor) logged, as it last stood.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Incident {
    pub time: UnixSeconds,
    pub severity: Severity,
    pub description: String,
    pub action: Option<String>,
    pub resolution: Option<String>,
    pub resolved: bool,
}

/// Everything judged about a run. Three lists are kept apart and every count
/// a report shows is the length of one of them (or of a filter of one):
/// `alerts` (what the log recorded live), `incidents` (what the team logged)
/// and `episodes` (what the judge found in the data).
#[derive(Debug, Clone)]
pub struct Judgement {
    pub analysis: RunAnalysis,
    /// One per metric, in [`MetricId::ALL`] order.
    pub verdicts: Vec<MetricVerdict>,
    /// One per metric, in the same order.
    pub significance: Vec<MetricSignificance>,
    /// Breach episodes of every metric, by start time.
    pub episodes: Vec<Episode>,
    pub alerts: Vec<Alert>,
    pub incidents: Vec<Incident>,
    pub facts: LogFacts,
    pub decision: Decision,
    /// Things about the inputs worth a reviewer's attention (a metrics file
    /// whose samples miss the run's windows, ...).
    pub warnings: Vec<String>,
}

/// Whether the decision needs a metric measured: the thresholds' `required`
/// when set; else the database metrics any executor can read, replication
/// lag when the manifest names a replica, and the application metrics when
/// the run has an application source, where the request latency is needed
/// as one percentile (P50, P95 or P99) whichever the source gives: those
/// measured count, and only when none is are P50 and P99 required. A metric with no bound,
/// or outside the template and not measured, is never required.
pub fn required(
    metric: MetricId,
    thresholds: &Thresholds,
    run: &RunData,
    measured: &[MetricId],
) -> bool {
    use MetricId::*;
    let th = thresholds.for_metric(metric);
    if th.kind == BoundKind::None {
        return false;
    }
    if let Some(r) = th.required {
        return r;
    }
    let has_app = measured
        .iter()
        .any(|m| m.category() == Category::Application);
    match metric {
        CpuUsagePct | MemoryUsagePct | ActiveConnections | ThreadsRunning
        | BufferPoolHitRatePct | QueryLatencyP50Ms | QueryLatencyP99Ms => true,
        ReplicationLagS => run.manifest.replica.is_some(),
        m if m.is_latency() && m.category() == Category::Application => {
            has_app
                && (measured.contains(&m)
                    || (m.in_template()
                        && !MetricId::REQUEST_LATENCY
                            .iter()
                            .any(|r| measured.contains(r))))
        }
        _ => metric.category() == Category::Application && has_app,
    }
}

/// Judges a run: analysis, classification, episodes, significance, rules.
/// Pure.
pub fn judge(run: &RunData, thresholds: &Thresholds) -> Judgement {
    let settle = thresholds.rules.settle_after_ddl_s;
    // The significance tests of raw distributions need only the samples and
    // the windows: on millions of samples they run beside the analysis.
    let (analysis, mut tests) = std::thread::scope(|scope| {
        let windows = analysis::windows_of(run, settle);
        let tests = scope.spawn(move || SignificanceCache::for_raw(run, &windows));
        let analysis = analysis::analyze(run, thresholds);
        let tests = tests
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (analysis, tests)
    });
    let measured: Vec<MetricId> = analysis
        .metrics
        .iter()
        .filter(|m| m.source != DataSource::None)
        .map(|m| m.metric)
        .collect();
    let mut verdicts = Vec::with_capacity(analysis.metrics.len());
    let mut episodes = Vec::new();
    for c in classify::classify(&analysis, thresholds, run.manifest.max_connections) {
        let mut verdict = c.verdict;
        verdict.required = required(verdict.metric, thresholds, run, &measured);
        verdicts.push(verdict);
        episodes.extend(c.episodes);
    }
    episodes.sort_by(|a, b| a.start.total_cmp(&b.start));

    let significance: Vec<MetricSignificance> = analysis
        .metrics
        .iter()
        .zip(&verdicts)
        .map(|(a, v)| {
            significance::compare_metric(
                run,
                a,
                &analysis.windows,
                v,
                thresholds.for_metric(a.metric),
                &mut tests,
            )
        })
        .collect();

    let alerts = alerts_of(run);
    let incidents = incidents_of(run);
    let facts = rules::log_facts(&run.events, &run.manifest.plan.kill_switch_checkpoints);
    let decision = rules::decide(
        &rules::Evidence {
            manifest: &run.manifest,
            facts: &facts,
            verdicts: &verdicts,
            episodes: &episodes,
            significance: &significance,
            windows: &analysis.windows,
        },
        thresholds,
    );
    let warnings = coverage_warnings(run, &analysis);
    Judgement {
        analysis,
        verdicts,
        significance,
        episodes,
        alerts,
        incidents,
        facts,
        decision,
        warnings,
    }
}

fn alerts_of(run: &RunData) -> Vec<Alert> {
    run.events
        .iter()
        .filter_map(|e| match &e.event {
            Event::Alert {
                name,
                severity,
                message,
            } => Some(Alert {
                time: crate::model::unix_seconds(&e.ts),
                name: name.clone(),
                severity: *severity,
                message: message.clone(),
            }),
            _ => None,
        })
        .collect()
}

fn incidents_of(run: &RunData) -> Vec<Incident> {
    crate::model::incidents(&run.events)
        .into_iter()
        .map(|i| Incident {
            time: crate::model::unix_seconds(&i.first_ts),
            severity: i.severity,
            description: i.description,
            action: i.action,
            resolution: i.resolution,
            resolved: i.status == IncidentStatus::Resolved,
        })
        .collect()
}

/// A warning for each metrics file whose samples all fall outside the run's
/// windows: its data is read but judges nothing (a wrong start time, the
/// wrong day's export).
fn coverage_warnings(run: &RunData, analysis: &RunAnalysis) -> Vec<String> {
    let Some(span) = analysis.windows.judged_span() else {
        return Vec::new();
    };
    let clock = crate::model::format_unix;
    run.sources
        .iter()
        .filter_map(|f| {
            let (first, last) = (f.first?, f.last?);
            let outside = last < span.start || first >= span.end;
            outside.then(|| {
                format!(
                    "{}: its samples ({} to {}) fall entirely outside the run's windows ({} to {}); they judge nothing",
                    f.path,
                    clock(first),
                    clock(last),
                    clock(span.start),
                    clock(span.end)
                )
            })
        })
        .collect()
}
