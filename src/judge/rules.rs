//! The decision rules of template section 7.2.

pub use crate::model::RuleId;

use crate::judge::analysis::Windows;
use crate::judge::bounds::Episode;
use crate::judge::checkpoints::{Checkpoint, CheckpointState, RunEnd, checkpoints};
use crate::judge::classify::{MetricVerdict, Status};
use crate::judge::significance::MetricSignificance;
use crate::model::{
    DdlOutcome, Event, EventRecord, IncidentStatus, Manifest, MetricId, Phase, PhaseStatus,
    RunStatus, Severity, Window, counted, plain_number,
};
use crate::thresholds::Thresholds;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Verdict {
    #[serde(rename = "APPROVED_FOR_LIMITED_PROD")]
    ApprovedForLimitedProd,
    #[serde(rename = "STOP_AND_FIX")]
    StopAndFix,
}

impl Verdict {
    pub fn key(self) -> &'static str {
        match self {
            Verdict::ApprovedForLimitedProd => "APPROVED_FOR_LIMITED_PROD",
            Verdict::StopAndFix => "STOP_AND_FIX",
        }
    }
}

/// One rule's outcome, with the facts behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RuleResult {
    pub rule: RuleId,
    pub passed: bool,
    /// Switched off in the thresholds file: shown, but does not block.
    pub disabled: bool,
    /// What was found, with numbers.
    pub detail: String,
}

/// Something the approval depends on (template 7.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DerivedCondition {
    pub condition: String,
    pub metric: Option<MetricId>,
}

/// The decision and every reason for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Decision {
    pub verdict: Verdict,
    pub rules: Vec<RuleResult>,
    /// Each failing (enabled) rule, in order: the blockers of 7.4.
    pub blockers: Vec<RuleResult>,
    /// Derived conditions of an approval: WARNING metrics and pre-existing breaches.
    pub conditions: Vec<DerivedCondition>,
}

/// Rule 5's detail when the team declared no kill switch.
pub const NO_KILL_SWITCH_DETAIL: &str =
    "no kill switch: the team declared none (plan.no_kill_switch)";

/// The condition an approval without a kill switch carries.
pub const NO_KILL_SWITCH_CONDITION: &str = "No kill switch: the canary ran without one \
     (declared in the manifest, plan.no_kill_switch); nothing could have stopped it but a \
     critical breach, a lost server or the operator. Put a kill switch in place before \
     widening the scope, or accept running without one";

/// Facts about the run the rules read from the log.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogFacts {
    pub run_status: Option<RunStatus>,
    pub ddl_outcome: Option<DdlOutcome>,
    pub ddl_error: Option<String>,
    pub rollback: bool,
    /// The index was verified, then dropped by a rollback that verified it
    /// absent: not in place now.
    pub index_dropped: bool,
    /// Every kill switch check, and each planned one that never ran.
    pub checkpoints: Vec<Checkpoint>,
    pub incidents_critical: usize,
    pub incidents_open: usize,
    pub aborted_phases: Vec<Phase>,
    pub missing_phases: Vec<Phase>,
    pub verification: Option<Verification>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    pub index_exists: bool,
    pub columns: Vec<String>,
    pub index_type: Option<String>,
    pub explain_type: Option<String>,
    pub explain_key: Option<String>,
}

/// The phases a complete canary must have run.
const REQUIRED_PHASES: [Phase; 4] = [
    Phase::Baseline,
    Phase::Execute,
    Phase::Monitoring,
    Phase::After,
];

/// The facts of `events`; `planned_checkpoints` are the manifest's kill
/// switch checkpoints.
pub fn log_facts(events: &[EventRecord], planned_checkpoints: &[String]) -> LogFacts {
    let mut f = LogFacts::default();
    let mut ended = Vec::new();
    for e in events {
        match &e.event {
            Event::RunEnd { status } => f.run_status = Some(*status),
            Event::DdlEnd { outcome, error, .. } => {
                f.ddl_outcome = Some(*outcome);
                f.ddl_error = error.clone();
            }
            Event::RollbackEnd { success, .. } => {
                f.rollback = true;
                // Verified absent by the rollback: whatever verification
                // found before tells the past.
                f.index_dropped |= *success && f.verification.is_some();
            }
            Event::RollbackDecision { .. } | Event::RollbackStart { .. } => f.rollback = true,
            Event::PhaseEnd { phase, status } => {
                ended.push(*phase);
                if *status != PhaseStatus::Done {
                    f.aborted_phases.push(*phase);
                }
            }
            Event::Verification {
                index_exists,
                columns,
                index_type,
                explain_type,
                explain_key,
                ..
            } => {
                f.verification = Some(Verification {
                    index_exists: *index_exists,
                    columns: columns.clone(),
                    index_type: index_type.clone(),
                    explain_type: explain_type.clone(),
                    explain_key: explain_key.clone(),
                })
            }
            _ => {}
        }
    }
    for i in crate::model::incidents(events) {
        if i.severity == Severity::Critical {
            f.incidents_critical += 1;
        }
        if i.status == IncidentStatus::Open {
            f.incidents_open += 1;
        }
    }
    f.missing_phases = REQUIRED_PHASES
        .into_iter()
        .filter(|p| !ended.contains(p))
        .collect();
    f.checkpoints = checkpoints(events, planned_checkpoints, f.run_end());
    f
}

impl LogFacts {
    /// How the run ended, as far as its planned checkpoints are concerned.
    pub fn run_end(&self) -> RunEnd {
        if self.rollback {
            RunEnd::RolledBack
        } else if self.run_status == Some(RunStatus::Completed) {
            RunEnd::Completed
        } else {
            RunEnd::EndedEarly
        }
    }

    /// The checks that ran.
    pub fn checks_run(&self) -> impl Iterator<Item = &Checkpoint> {
        self.checkpoints
            .iter()
            .filter(|c| c.state != CheckpointState::NotReached)
    }

    pub fn checkpoints_in(&self, state: CheckpointState) -> impl Iterator<Item = &Checkpoint> {
        self.checkpoints.iter().filter(move |c| c.state == state)
    }
}

/// What the rules judge: the log's facts and the metrics' judgement.
pub struct Evidence<'a> {
    pub manifest: &'a Manifest,
    pub facts: &'a LogFacts,
    pub verdicts: &'a [MetricVerdict],
    pub episodes: &'a [Episode],
    /// One per verdict, same order; may be empty (no significance tests).
    pub significance: &'a [MetricSignificance],
    pub windows: &'a Windows,
}

/// Applies the rules of 7.2. APPROVED_FOR_LIMITED_PROD only when every enabled rule passes.
pub fn decide(evidence: &Evidence, thresholds: &Thresholds) -> Decision {
    let Evidence {
        manifest,
        facts,
        verdicts,
        episodes,
        ..
    } = *evidence;
    let mut rules = Vec::new();
    let mut push = |rule: RuleId, passed: bool, detail: String| {
        rules.push(RuleResult {
            rule,
            passed,
            disabled: thresholds.rules.disabled.iter().any(|d| d == rule.key()),
            detail,
        })
    };

    // 1. Completed as planned.
    let mut problems = Vec::new();
    match facts.run_status {
        Some(RunStatus::Completed) => {}
        Some(RunStatus::Aborted) => problems.push("the run was aborted".to_string()),
        None => problems.push("the log has no run_end: the run is incomplete".to_string()),
    }
    match facts.ddl_outcome {
        Some(DdlOutcome::Success) => {}
        Some(o) => problems.push(format!(
            "the DDL {}{}",
            match o {
                DdlOutcome::Failed => "failed",
                DdlOutcome::Killed => "was stopped",
                DdlOutcome::Success => "",
            },
            facts
                .ddl_error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        )),
        None => problems.push("the DDL never finished".to_string()),
    }
    if !facts.missing_phases.is_empty() {
        let names: Vec<_> = facts.missing_phases.iter().map(|p| p.label()).collect();
        problems.push(format!("phases not completed: {}", names.join(", ")));
    }
    if !facts.aborted_phases.is_empty() {
        let names: Vec<_> = facts.aborted_phases.iter().map(|p| p.label()).collect();
        problems.push(format!("phases not done: {}", names.join(", ")));
    }
    push(
        RuleId::CanaryCompleted,
        problems.is_empty(),
        if problems.is_empty() {
            "all phases ran to the end and the DDL succeeded".into()
        } else {
            problems.join("; ")
        },
    );

    // 2. No CRITICAL metric.
    let critical: Vec<_> = verdicts
        .iter()
        .filter(|v| v.status == Status::Critical)
        .collect();
    push(
        RuleId::NoCriticalMetric,
        critical.is_empty(),
        if critical.is_empty() {
            "no metric reached its critical bound".into()
        } else {
            critical
                .iter()
                .map(|v| describe_breach(v, episodes))
                .collect::<Vec<_>>()
                .join("; ")
        },
    );

    // 3. Incidents logged, and critical breach episodes the run did not resolve.
    let unresolved: Vec<&Episode> = episodes
        .iter()
        .filter(|e| e.level == Status::Critical && e.open)
        .collect();
    let (pre_existing, still_beyond): (Vec<&Episode>, Vec<&Episode>) =
        unresolved.into_iter().partition(|e| e.pre_existing);
    let mut detail = vec![
        counted(facts.incidents_critical, "critical incident") + " logged",
        counted(facts.incidents_open, "open incident") + " logged",
        counted(still_beyond.len(), "critical breach episode")
            + " still beyond the bound at the end of the run's last window",
    ];
    detail.extend(still_beyond.iter().map(|e| {
        format!(
            "{} beyond {} since {}",
            e.metric.label(),
            crate::model::with_unit(plain_number(e.bound), e.metric.unit()),
            crate::model::Clock::of(manifest).hms(e.start)
        )
    }));
    if !pre_existing.is_empty() {
        detail.push(format!(
            "not counted, as they began before the DDL (pre-existing): {}",
            pre_existing
                .iter()
                .map(|e| e.metric.label())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    push(
        RuleId::NoCriticalOrOpenIncident,
        facts.incidents_critical == 0 && facts.incidents_open == 0 && still_beyond.is_empty(),
        detail.join("; "),
    );

    // 4. Post-phase latency degradation, of the application's requests when
    // the run has them, else of the database's queries.
    let max = thresholds.rules.max_post_latency_degradation_pct;
    let (source, latency) = judged_latency(verdicts);
    let worst = latency.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1));
    push(
        RuleId::PostLatencyDegradation,
        worst.is_some_and(|(_, d)| d < max),
        match worst {
            Some((m, d)) => format!(
                "{source}: worst post-phase change {:+.1}% ({}, {} against the baseline), allowed under +{}%{}",
                d,
                m.label(),
                crate::model::with_unit(
                    verdicts
                        .iter()
                        .find(|v| v.metric == m)
                        .and_then(|v| v.post_value)
                        .map(plain_number)
                        .unwrap_or_default(),
                    m.unit()
                ),
                plain_number(max),
                settle_note(evidence.windows)
            ),
            None => "no latency metric has both a baseline and a post-phase value".into(),
        },
    );

    // 5. Kill switch checks: every check that ran passed, and each planned
    // checkpoint ran unless the run ended (rolled back, aborted) before it.
    let run = facts.checks_run().count();
    let failed: Vec<String> = facts
        .checkpoints_in(CheckpointState::Failed)
        .map(|c| format!("{} ({})", c.name, c.detail))
        .collect();
    let not_reached: Vec<&Checkpoint> = facts.checkpoints_in(CheckpointState::NotReached).collect();
    let owed = !not_reached.is_empty() && !facts.run_end().excuses_a_missing_check();
    let mut detail = if run == 0 {
        "no kill switch check was recorded".to_string()
    } else if failed.is_empty() {
        format!("{}, all OFF and answered", counted(run, "check"))
    } else {
        format!(
            "{} of {} failed: {}",
            failed.len(),
            counted(run, "check"),
            failed.join("; ")
        )
    };
    if !not_reached.is_empty() {
        let names: Vec<&str> = not_reached.iter().map(|c| c.name.as_str()).collect();
        detail.push_str(&format!(
            "; {} {}: {}",
            counted(not_reached.len(), "planned checkpoint"),
            facts.run_end().missing_checkpoints(),
            names.join(", ")
        ));
    }
    // A team without a kill switch that says so: no check is owed, and the
    // approval carries it as a condition (below).
    let declared_none = manifest.plan.no_kill_switch && run == 0;
    if declared_none {
        detail = NO_KILL_SWITCH_DETAIL.to_string();
    }
    push(
        RuleId::KillSwitchChecksPassed,
        declared_none || (run > 0 && failed.is_empty() && !owed),
        detail,
    );

    // 6. No rollback.
    push(
        RuleId::NoRollback,
        !facts.rollback,
        if facts.rollback {
            "a rollback was performed".into()
        } else {
            "no rollback".into()
        },
    );

    // 7. Index verified.
    let (passed, detail) = verify_index(manifest, facts.verification.as_ref());
    let detail = if passed && facts.index_dropped {
        format!("when verified, {detail}; dropped since by the rollback: not in place now")
    } else {
        detail
    };
    push(RuleId::IndexVerified, passed, detail);

    // 8. No data is not health.
    let unmeasured: Vec<&MetricVerdict> = verdicts
        .iter()
        .filter(|v| v.required && v.status == Status::NoData)
        .collect();
    push(
        RuleId::RequiredMetricsMeasured,
        unmeasured.is_empty(),
        if unmeasured.is_empty() {
            format!(
                "{} measured",
                counted(
                    verdicts.iter().filter(|v| v.required).count(),
                    "required metric"
                )
            )
        } else {
            unmeasured
                .iter()
                .map(|v| not_measured(v))
                .collect::<Vec<_>>()
                .join("; ")
        },
    );

    let blockers: Vec<RuleResult> = rules
        .iter()
        .filter(|r| !r.passed && !r.disabled)
        .cloned()
        .collect();
    // A CRITICAL metric whose rule is disabled blocks nothing, but it is at
    // least what a WARNING is: a condition (and a blocker with
    // warnings_block), so that a worse metric never reads better.
    let critical_rule_off = rules
        .iter()
        .any(|r| r.rule == RuleId::NoCriticalMetric && r.disabled);
    let mut conditions: Vec<DerivedCondition> = verdicts
        .iter()
        .filter_map(|v| {
            let (level, note) = match v.status {
                Status::Warning => ("WARNING", ""),
                Status::Critical if critical_rule_off => {
                    ("CRITICAL", " (the no_critical_metric rule is disabled)")
                }
                _ => return None,
            };
            Some(DerivedCondition {
                condition: format!(
                    "Investigate {level} on {}: {}{note}",
                    v.metric.label(),
                    describe_breach(v, episodes)
                ),
                metric: Some(v.metric),
            })
        })
        .collect();
    // A metric the thresholds do not require is listed when it was not
    // measured, but it never blocks, not even with warnings_block: the team
    // said it can go unmeasured, and warnings_block is about breaches.
    let not_measured: Vec<DerivedCondition> = verdicts
        .iter()
        .filter(|v| !v.required && v.status == Status::NoData)
        .map(|v| DerivedCondition {
            condition: format!(
                "Not measured (not required): {}: {}",
                v.metric.label(),
                v.no_data_reason.as_deref().unwrap_or("no data")
            ),
            metric: Some(v.metric),
        })
        .collect();
    conditions.extend(verdicts.iter().filter_map(|v| {
        v.pre_existing.map(|lvl| DerivedCondition {
            condition: format!(
                "{} was already {} in the baseline ({}): fix before widening the scope",
                v.metric.label(),
                lvl.key(),
                v.baseline_value.map(plain_number).unwrap_or_default()
            ),
            metric: Some(v.metric),
        })
    }));
    let mut blockers = blockers;
    if thresholds.rules.warnings_block {
        for c in conditions.drain(..) {
            blockers.push(RuleResult {
                rule: RuleId::NoCriticalMetric,
                passed: false,
                disabled: false,
                detail: c.condition,
            });
        }
    }
    conditions.extend(not_measured);
    // A declaration, not a breach: warnings_block does not make it a blocker.
    if declared_none {
        conditions.push(DerivedCondition {
            condition: NO_KILL_SWITCH_CONDITION.to_string(),
            metric: None,
        });
    }
    let mut decision = Decision {
        verdict: if blockers.is_empty() {
            Verdict::ApprovedForLimitedProd
        } else {
            Verdict::StopAndFix
        },
        rules,
        blockers,
        conditions,
    };
    let guarded: Vec<(MetricId, &MetricSignificance)> = verdicts
        .iter()
        .map(|v| v.metric)
        .zip(evidence.significance)
        .collect();
    apply_significance(&mut decision, &guarded, thresholds);
    decision
}

/// The latency rule 4 judges: the application's request latency when the
/// run has it (a post value), else the database's query latency; with each
/// metric's post-phase change.
pub fn judged_latency(verdicts: &[MetricVerdict]) -> (&'static str, Vec<(MetricId, f64)>) {
    let of = |metrics: &[MetricId]| -> Vec<(MetricId, f64)> {
        verdicts
            .iter()
            .filter(|v| metrics.contains(&v.metric))
            .filter_map(|v| v.post_delta_pct.map(|d| (v.metric, d)))
            .collect()
    };
    let request = of(&MetricId::REQUEST_LATENCY);
    if !request.is_empty() {
        return ("application request latency", request);
    }
    (
        "database query latency",
        of(&[MetricId::QueryLatencyP50Ms, MetricId::QueryLatencyP99Ms]),
    )
}

fn settle_note(windows: &Windows) -> String {
    if windows.settle_s > 0.0 {
        format!(
            "; the post window starts {} s after the DDL's end (rules.settle_after_ddl_s)",
            plain_number(windows.settle_s)
        )
    } else {
        String::new()
    }
}

/// "not measured: CPU Usage (nothing recorded); export it into metrics/ or
/// set required = false" for a required metric without data.
fn not_measured(v: &MetricVerdict) -> String {
    format!(
        "not measured: {} ({}); add its samples to metrics/ (see docs/run-directory.md), or set `required = false` under [metrics.{}] in a thresholds file",
        v.metric.label(),
        v.no_data_reason.as_deref().unwrap_or("no data"),
        v.metric.key()
    )
}

/// The significance blocker (report section 3.6). Only when the thresholds
/// give some metric `significance_blocks = true`: adds the rule
/// `no_significant_worsening` to the decision's rules, and a blocker for each
/// such metric whose during or post window is significantly worse than its
/// baseline; the verdict is recomputed. Without `significance_blocks` anywhere
/// the decision is left as it is: the statistics are notes, not judgements.
pub fn apply_significance(
    decision: &mut Decision,
    significance: &[(MetricId, &crate::judge::significance::MetricSignificance)],
    thresholds: &Thresholds,
) {
    let guarded: Vec<_> = significance.iter().filter(|(_, s)| s.blocks).collect();
    if guarded.is_empty() {
        return;
    }
    let worse: Vec<String> = guarded
        .iter()
        .flat_map(|(m, s)| {
            s.windows()
                .into_iter()
                .filter(|w| w.worsening)
                .filter_map(move |w| {
                    let t = w.test.as_ref()?;
                    let hl = &t.hodges_lehmann;
                    Some(format!(
                        "{} {} the DDL: shift {}{} ({:.0}% CI {} to {}), {}, rank-biserial r = {:+.2}",
                        m.label(),
                        if w.window == crate::model::Window::During {
                            "during"
                        } else {
                            "after"
                        },
                        if hl.shift > 0.0 { "+" } else { "" },
                        plain_number(hl.shift),
                        hl.confidence * 100.0,
                        plain_number(hl.ci_low),
                        plain_number(hl.ci_high),
                        crate::judge::significance::fmt_p(t.p_value),
                        t.rank_biserial
                    ))
                })
        })
        .collect();
    let rule = RuleResult {
        rule: RuleId::NoSignificantWorsening,
        passed: worse.is_empty(),
        disabled: thresholds
            .rules
            .disabled
            .iter()
            .any(|d| d == RuleId::NoSignificantWorsening.key()),
        detail: if worse.is_empty() {
            format!(
                "no significant worsening of {}",
                guarded
                    .iter()
                    .map(|(m, _)| m.label())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            worse.join("; ")
        },
    };
    if !rule.passed && !rule.disabled {
        decision.blockers.push(rule.clone());
        decision.verdict = Verdict::StopAndFix;
    }
    decision.rules.push(rule);
}

/// What put a metric at its status, with numbers: the window whose value is
/// beyond the bound, and the longest episode at that level.
fn describe_breach(v: &MetricVerdict, episodes: &[Episode]) -> String {
    let value = |x: f64| crate::model::with_unit(plain_number(x), v.metric.unit());
    let mut facts = Vec::new();
    for b in v
        .window_breaches
        .iter()
        .filter(|b| b.level == v.status && Window::WITH_INDEX.contains(&b.window))
    {
        facts.push(format!(
            "the {} window's {} is {} against a {} bound of {}",
            b.window.key(),
            b.statistic.name(),
            value(b.value),
            b.level.key().to_lowercase(),
            value(b.bound)
        ));
    }
    let worst = episodes
        .iter()
        .filter(|e| e.metric == v.metric && e.level == v.status && !e.pre_existing)
        .max_by(|a, b| a.duration_s().total_cmp(&b.duration_s()));
    if let Some(e) = worst {
        facts.push(format!(
            "beyond its {} bound of {} for {:.0} s{}, peak {}",
            e.level.key().to_lowercase(),
            value(e.bound),
            e.duration_s(),
            if e.open { " and still at the end" } else { "" },
            value(e.peak),
        ));
    }
    if facts.is_empty() {
        format!("{} is {}", v.metric.label(), v.status.key())
    } else {
        format!("{}: {}", v.metric.label(), facts.join("; "))
    }
}

/// The four checks of template 6.1, each passed or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexChecks {
    pub exists: bool,
    /// EXPLAIN uses the index with access type ref or range.
    pub usable: bool,
    pub same_columns: bool,
    pub right_type: bool,
}

impl IndexChecks {
    pub fn of(target: &crate::model::Target, v: &Verification) -> IndexChecks {
        let access_ok = v
            .explain_type
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case("ref") || a.eq_ignore_ascii_case("range"));
        IndexChecks {
            exists: v.index_exists,
            usable: access_ok && v.explain_key.as_deref() == Some(target.index_name.as_str()),
            same_columns: v.columns.len() == target.columns.len()
                && v.columns
                    .iter()
                    .zip(&target.columns)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b)),
            right_type: v
                .index_type
                .as_deref()
                .is_some_and(|it| it.eq_ignore_ascii_case(&target.index_type)),
        }
    }
}

fn verify_index(manifest: &Manifest, v: Option<&Verification>) -> (bool, String) {
    let Some(v) = v else {
        return (false, "no verification was recorded".into());
    };
    let t = &manifest.target;
    let checks = IndexChecks::of(t, v);
    let mut problems = Vec::new();
    if !checks.exists {
        problems.push(format!("index {} not found by SHOW INDEX", t.index_name));
    }
    if !checks.usable {
        match (v.explain_type.as_deref(), v.explain_key.as_deref()) {
            (None, _) => problems.push("no EXPLAIN access type recorded".into()),
            (Some(a), _) if !(a.eq_ignore_ascii_case("ref") || a.eq_ignore_ascii_case("range")) => {
                problems.push(format!("EXPLAIN access type is {a}, not ref or range"))
            }
            (_, Some(k)) => problems.push(format!("EXPLAIN chose key {k}, not {}", t.index_name)),
            (_, None) => problems.push("EXPLAIN chose no key".into()),
        }
    }
    if !checks.same_columns {
        problems.push(format!(
            "columns are ({}), planned ({})",
            v.columns.join(", "),
            t.columns.join(", ")
        ));
    }
    if !checks.right_type {
        problems.push(format!(
            "index type is {}, planned {}",
            v.index_type.as_deref().unwrap_or("unknown"),
            t.index_type
        ));
    }
    if problems.is_empty() {
        (
            true,
            format!(
                "{} exists on ({}), {}, EXPLAIN uses it with access type {}",
                t.index_name,
                t.columns.join(", "),
                t.index_type,
                v.explain_type.as_deref().unwrap_or("")
            ),
        )
    } else {
        (false, problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::classify::MetricVerdict;
    use crate::model::SwitchState;

    /// The rules over verdicts and facts alone: no episodes, no
    /// significance, no windows.
    fn decide_plain(
        manifest: &Manifest,
        facts: &LogFacts,
        verdicts: &[MetricVerdict],
        th: &Thresholds,
    ) -> Decision {
        let windows = Windows {
            baseline: None,
            during: None,
            post: None,
            after_rollback: None,
            settle_s: 0.0,
            source: crate::judge::analysis::TimeSource::Events,
        };
        decide(
            &Evidence {
                manifest,
                facts,
                verdicts,
                episodes: &[],
                significance: &[],
                windows: &windows,
            },
            th,
        )
    }

    fn manifest() -> Manifest {
        serde_json::from_value(serde_json::json!({
            "run_id": "T-1",
            "scope": {"actual": {"tenant": "t42", "connection": "c1", "database": "shop",
                                  "table": "orders", "operation": "ADD_INDEX"}},
            "target": {"index_name": "idx_a_b", "columns": ["a", "b"]},
            "plan": {"start": "2026-11-20T19:00:00Z"}
        }))
        .unwrap()
    }

    fn passed_check(name: &str) -> Checkpoint {
        Checkpoint {
            name: name.into(),
            planned: true,
            state: CheckpointState::Passed,
            at: Some(0.0),
            detail: String::new(),
        }
    }

    fn good_facts() -> LogFacts {
        LogFacts {
            run_status: Some(RunStatus::Completed),
            ddl_outcome: Some(DdlOutcome::Success),
            checkpoints: vec![passed_check("Final Check")],
            verification: Some(Verification {
                index_exists: true,
                columns: vec!["a".into(), "b".into()],
                index_type: Some("BTREE".into()),
                explain_type: Some("ref".into()),
                explain_key: Some("idx_a_b".into()),
            }),
            ..LogFacts::default()
        }
    }

    fn verdict(metric: MetricId, status: Status, post_delta: Option<f64>) -> MetricVerdict {
        MetricVerdict {
            metric,
            status,
            baseline_value: Some(10.0),
            during_value: Some(11.0),
            post_value: Some(10.0),
            during_delta_pct: Some(10.0),
            post_delta_pct: post_delta,
            baseline_status: Status::Ok,
            during_status: status,
            post_status: Status::Ok,
            pre_existing: None,
            warning_bound: None,
            critical_bound: None,
            window_breaches: vec![],
            required: false,
            after_rollback_value: None,
            after_rollback_delta_pct: None,
            after_rollback_status: Status::NoData,
            no_data_reason: None,
            method: None,
        }
    }

    fn good_verdicts() -> Vec<MetricVerdict> {
        vec![
            verdict(MetricId::QueryLatencyP99Ms, Status::Ok, Some(3.0)),
            verdict(MetricId::CpuUsagePct, Status::Ok, Some(1.0)),
        ]
    }

    fn failing(d: &Decision) -> Vec<RuleId> {
        d.blockers.iter().map(|b| b.rule).collect()
    }

    #[test]
    fn a_critical_metric_with_its_rule_disabled_is_still_a_condition() {
        let mut th = Thresholds::default();
        th.rules.disabled = vec!["no_critical_metric".into()];
        let v = vec![verdict(
            MetricId::QueryLatencyP99Ms,
            Status::Critical,
            Some(3.0),
        )];
        let d = decide_plain(&manifest(), &good_facts(), &v, &th);
        assert_eq!(
            d.verdict,
            Verdict::ApprovedForLimitedProd,
            "{:#?}",
            d.blockers
        );
        assert!(
            d.conditions[0]
                .condition
                .starts_with("Investigate CRITICAL on Query Latency P99")
        );
        th.rules.warnings_block = true;
        let d = decide_plain(&manifest(), &good_facts(), &v, &th);
        assert_eq!(d.verdict, Verdict::StopAndFix);
    }

    #[test]
    fn a_metric_not_required_and_not_measured_never_blocks() {
        // Found by the property approved_exactly_when_nothing_blocks: with
        // warnings_block, an unmeasured metric the team marked not required
        // used to become a blocker.
        let mut th = Thresholds::default();
        th.rules.warnings_block = true;
        let mut v = good_verdicts();
        v.push(verdict(MetricId::ReplicationLagS, Status::NoData, None));
        let d = decide_plain(&manifest(), &good_facts(), &v, &th);
        assert_eq!(
            d.verdict,
            Verdict::ApprovedForLimitedProd,
            "{:#?}",
            d.blockers
        );
        assert!(
            d.conditions.iter().any(|c| c
                .condition
                .starts_with("Not measured (not required): Replication Lag")),
            "{:#?}",
            d.conditions
        );
    }

    #[test]
    fn a_clean_run_is_approved_with_every_rule_passed() {
        let d = decide_plain(
            &manifest(),
            &good_facts(),
            &good_verdicts(),
            &Thresholds::default(),
        );
        assert_eq!(d.verdict, Verdict::ApprovedForLimitedProd);
        assert_eq!(d.rules.len(), 8);
        assert!(d.rules.iter().all(|r| r.passed), "{:#?}", d.rules);
    }

    fn decide_with(f: impl FnOnce(&mut LogFacts, &mut Vec<MetricVerdict>)) -> Decision {
        let (mut facts, mut verdicts) = (good_facts(), good_verdicts());
        f(&mut facts, &mut verdicts);
        decide_plain(&manifest(), &facts, &verdicts, &Thresholds::default())
    }

    #[test]
    fn an_incomplete_run_stops() {
        let d = decide_with(|f, _| f.run_status = None);
        assert_eq!(
            (d.verdict, failing(&d)),
            (Verdict::StopAndFix, vec![RuleId::CanaryCompleted])
        );
        assert!(d.blockers[0].detail.contains("incomplete"));
        let d = decide_with(|f, _| f.missing_phases = vec![Phase::Monitoring]);
        assert!(d.blockers[0].detail.contains("Monitoring Window"));
        let d = decide_with(|f, _| {
            f.ddl_outcome = Some(DdlOutcome::Failed);
            f.ddl_error = Some("Lock wait timeout exceeded".into());
        });
        assert!(d.blockers[0].detail.contains("Lock wait timeout"));
    }

    #[test]
    fn a_critical_metric_stops() {
        let d =
            decide_with(|_, v| v.push(verdict(MetricId::ReplicationLagS, Status::Critical, None)));
        assert_eq!(failing(&d), vec![RuleId::NoCriticalMetric]);
        assert!(d.blockers[0].detail.contains("Replication Lag"));
    }

    #[test]
    fn critical_or_open_incidents_stop() {
        let d = decide_with(|f, _| f.incidents_critical = 1);
        assert_eq!(failing(&d), vec![RuleId::NoCriticalOrOpenIncident]);
        let d = decide_with(|f, _| f.incidents_open = 1);
        assert_eq!(failing(&d), vec![RuleId::NoCriticalOrOpenIncident]);
    }

    #[test]
    fn post_latency_must_stay_under_the_margin() {
        let d = decide_with(|_, v| v[0].post_delta_pct = Some(10.0));
        assert_eq!(failing(&d), vec![RuleId::PostLatencyDegradation]);
        assert!(
            d.blockers[0].detail.contains("+10.0%"),
            "{}",
            d.blockers[0].detail
        );
        let d = decide_with(|_, v| v[0].post_delta_pct = Some(9.9));
        assert_eq!(d.verdict, Verdict::ApprovedForLimitedProd);
        // No latency data at all cannot show latency held.
        let d = decide_with(|_, v| v[0].post_delta_pct = None);
        assert_eq!(failing(&d), vec![RuleId::PostLatencyDegradation]);
        // CPU's post change is not latency.
        let d = decide_with(|_, v| v[1].post_delta_pct = Some(50.0));
        assert_eq!(d.verdict, Verdict::ApprovedForLimitedProd);
    }

    #[test]
    fn any_kill_switch_not_off_or_unanswered_stops() {
        let d = decide_with(|f, _| f.checkpoints.clear());
        assert_eq!(failing(&d), vec![RuleId::KillSwitchChecksPassed]);
        let events: Vec<EventRecord> =
            [(SwitchState::Off, Some(30.0)), (SwitchState::Unknown, None)]
                .into_iter()
                .map(|(s, r)| EventRecord {
                    ts: "2026-11-20T20:00:00Z".parse().unwrap(),
                    event: Event::KillSwitchCheck {
                        checkpoint: "During Monitoring (T+15m)".into(),
                        global: s,
                        connection: SwitchState::Off,
                        response_ms: r,
                        error: Some("connection refused".into()),
                    },
                })
                .collect();
        let facts = log_facts(&events, &[]);
        assert_eq!(facts.checks_run().count(), 2);
        let failed: Vec<&Checkpoint> = facts.checkpoints_in(CheckpointState::Failed).collect();
        assert_eq!(failed.len(), 1);
        assert!(failed[0].detail.contains("unreadable"));
        let d = decide_with(|f, _| f.checkpoints = facts.checkpoints.clone());
        assert_eq!(failing(&d), vec![RuleId::KillSwitchChecksPassed]);
        assert!(d.blockers[0].detail.contains("connection refused"));
    }

    #[test]
    fn a_declared_absence_of_kill_switch_passes_with_a_condition() {
        let mut m = manifest();
        m.plan.no_kill_switch = true;
        let mut facts = good_facts();
        facts.checkpoints.clear();
        let mut th = Thresholds::default();
        th.rules.warnings_block = true;
        let d = decide_plain(&m, &facts, &good_verdicts(), &th);
        assert_eq!(d.verdict, Verdict::ApprovedForLimitedProd, "{d:#?}");
        let rule = d
            .rules
            .iter()
            .find(|r| r.rule == RuleId::KillSwitchChecksPassed)
            .unwrap();
        assert!(rule.passed);
        assert_eq!(rule.detail, NO_KILL_SWITCH_DETAIL);
        assert_eq!(
            d.conditions
                .iter()
                .map(|c| c.condition.as_str())
                .collect::<Vec<_>>(),
            [NO_KILL_SWITCH_CONDITION]
        );
        // Without the declaration, no check fails the rule, as before.
        let d = decide_plain(&manifest(), &facts, &good_verdicts(), &th);
        assert_eq!(failing(&d), vec![RuleId::KillSwitchChecksPassed]);
        assert!(d.conditions.is_empty());
    }

    #[test]
    fn a_planned_checkpoint_never_checked_in_a_completed_run_stops() {
        let planned = vec![
            "Final Check".to_string(),
            "During Monitoring (T+30m)".into(),
        ];
        let events: Vec<EventRecord> = [
            r#"{"ts":"2026-11-20T20:00:00Z","type":"kill_switch_check","checkpoint":"Final Check","global":"off","connection":"off","response_ms":40}"#,
            r#"{"ts":"2026-11-20T20:01:00Z","type":"run_end","status":"completed"}"#,
        ]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
        let facts = log_facts(&events, &planned);
        let d = decide_with(|f, _| f.checkpoints = facts.checkpoints.clone());
        assert_eq!(failing(&d), vec![RuleId::KillSwitchChecksPassed]);
        assert_eq!(
            d.blockers[0].detail,
            "1 check, all OFF and answered; 1 planned checkpoint never checked though \
             the run completed: During Monitoring (T+30m)"
        );
    }

    #[test]
    fn a_checkpoint_not_reached_after_a_rollback_is_named_but_blames_the_rollback() {
        let planned = vec![
            "During Monitoring (T+30m)".to_string(),
            "Final Check".into(),
        ];
        let events: Vec<EventRecord> = [
            r#"{"ts":"2026-11-20T20:00:00Z","type":"rollback_start"}"#,
            r#"{"ts":"2026-11-20T20:01:00Z","type":"kill_switch_check","checkpoint":"Final Check","global":"off","connection":"off","response_ms":40}"#,
        ]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
        let facts = log_facts(&events, &planned);
        let d = decide_with(|f, _| {
            f.checkpoints = facts.checkpoints.clone();
            f.rollback = true;
        });
        assert_eq!(failing(&d), vec![RuleId::NoRollback]);
        let rule = d
            .rules
            .iter()
            .find(|r| r.rule == RuleId::KillSwitchChecksPassed)
            .unwrap();
        assert!(rule.passed);
        assert_eq!(
            rule.detail,
            "1 check, all OFF and answered; 1 planned checkpoint not reached (the run \
             was rolled back before them): During Monitoring (T+30m)"
        );
    }

    #[test]
    fn a_rollback_stops() {
        let d = decide_with(|f, _| f.rollback = true);
        assert_eq!(failing(&d), vec![RuleId::NoRollback]);
    }

    #[test]
    fn the_index_must_be_verified_in_every_respect() {
        type Change = Box<dyn Fn(&mut Verification)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|v| v.index_exists = false), "not found"),
            (
                Box::new(|v| v.explain_type = Some("ALL".into())),
                "access type is ALL",
            ),
            (
                Box::new(|v| v.explain_key = Some("PRIMARY".into())),
                "chose key PRIMARY",
            ),
            (
                Box::new(|v| v.columns = vec!["b".into(), "a".into()]),
                "columns are (b, a)",
            ),
            (
                Box::new(|v| v.index_type = Some("HASH".into())),
                "index type is HASH",
            ),
        ];
        for (change, expected) in cases {
            let d = decide_with(|f, _| change(f.verification.as_mut().unwrap()));
            assert_eq!(failing(&d), vec![RuleId::IndexVerified]);
            assert!(
                d.blockers[0].detail.contains(expected),
                "{}",
                d.blockers[0].detail
            );
        }
        let d = decide_with(|f, _| f.verification = None);
        assert_eq!(failing(&d), vec![RuleId::IndexVerified]);
        let d = decide_with(|f, _| {
            f.verification.as_mut().unwrap().explain_type = Some("range".into())
        });
        assert_eq!(d.verdict, Verdict::ApprovedForLimitedProd);
    }

    #[test]
    fn warnings_are_conditions_not_blockers_unless_configured() {
        let add_warning = |_: &mut LogFacts, v: &mut Vec<MetricVerdict>| {
            v.push(verdict(MetricId::DiskWriteMbS, Status::Warning, None))
        };
        let d = decide_with(add_warning);
        assert_eq!(d.verdict, Verdict::ApprovedForLimitedProd);
        assert_eq!(d.conditions.len(), 1);
        assert!(d.conditions[0].condition.contains("Disk I/O Write"));
        let mut th = Thresholds::default();
        th.rules.warnings_block = true;
        let (mut facts, mut verdicts) = (good_facts(), good_verdicts());
        add_warning(&mut facts, &mut verdicts);
        assert_eq!(
            decide_plain(&manifest(), &facts, &verdicts, &th).verdict,
            Verdict::StopAndFix
        );
    }

    #[test]
    fn a_disabled_rule_is_shown_but_does_not_block() {
        let mut th = Thresholds::default();
        th.rules.disabled = vec!["no_rollback".into()];
        let mut facts = good_facts();
        facts.rollback = true;
        let d = decide_plain(&manifest(), &facts, &good_verdicts(), &th);
        assert_eq!(d.verdict, Verdict::ApprovedForLimitedProd);
        let r = d
            .rules
            .iter()
            .find(|r| r.rule == RuleId::NoRollback)
            .unwrap();
        assert!(!r.passed && r.disabled);
    }

    #[test]
    fn pre_existing_breach_becomes_a_condition() {
        let d = decide_with(|_, v| {
            let mut cpu = verdict(MetricId::CpuUsagePct, Status::Ok, None);
            cpu.pre_existing = Some(Status::Warning);
            cpu.baseline_status = Status::Warning;
            v.push(cpu);
        });
        assert_eq!(d.verdict, Verdict::ApprovedForLimitedProd);
        assert!(
            d.conditions
                .iter()
                .any(|c| c.condition.contains("already WARNING"))
        );
    }
}
