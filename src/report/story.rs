//! The report's first screen as a reviewer reads it: what failed, in plain
//! words; what happened, in time (trouble began, detected, rolled back,
//! recovered, and how long each took); the next step; and for an approval,
//! its conditions and who has signed. Every line is told from the judgement
//! (episodes, rules, incidents, alerts) and the log's events; nothing is
//! added that the inputs do not hold.

use super::format::{bound_num, duration};
use super::summary::ReportData;
use crate::judge::bounds::{Episode, Status};
use crate::judge::checkpoints::CheckpointState;
use crate::model::{
    Clock, DdlOutcome, Event, EventRecord, Manifest, MetricId, RollbackTrigger, RuleId,
    UnixSeconds, unix_seconds,
};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Story {
    /// The zone the times are in (`UTC+7`).
    pub zone: String,
    /// One line per failed rule, told as a finding, then the team's own
    /// blockers, counted.
    pub findings: Vec<String>,
    /// What happened, in time order.
    pub timeline: Vec<Moment>,
    /// How long each stretch took: critical before anything acted, the
    /// rollback, back within bounds after it; one sentence when joined with
    /// `; `.
    pub durations: Vec<String>,
    /// The WARNINGs the canary caused, by metric: what an approval watches.
    pub watch: Vec<String>,
    /// The conditions of an approval, by name (derived, then the team's).
    pub conditions: Vec<String>,
    /// Who has signed and who has not; the report is a draft until the
    /// Tech Lead has.
    pub sign_off: String,
    pub next_step: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Moment {
    pub at: String,
    pub what: String,
}

/// Tells the run's story from its judgement and log.
pub fn story(
    data: &ReportData,
    events: &[EventRecord],
    m: &Manifest,
    clock: &Clock,
    zone: String,
) -> Story {
    let label = |id: MetricId| {
        data.metrics
            .iter()
            .find(|r| r.metric == id)
            .map_or_else(|| id.label().to_string(), |r| r.label.clone())
    };
    let unit = |id: MetricId| {
        data.metrics
            .iter()
            .find(|r| r.metric == id)
            .map_or_else(String::new, |r| r.unit.clone())
    };
    let value = |id: MetricId, v: f64| crate::model::with_unit(bound_num(v), &unit(id));
    let log = LogStory::read(events);
    // The canary's own critical episodes: reached CRITICAL, not there
    // before the DDL.
    let critical: Vec<&Episode> = data
        .episodes
        .iter()
        .filter(|e| e.level == Status::Critical && !e.pre_existing)
        .collect();

    // One line per metric: its bound, since when, for how long, its peak.
    let by_metric = |episodes: &[&Episode]| -> (usize, String) {
        let mut metrics: Vec<MetricId> = Vec::new();
        for e in episodes {
            if !metrics.contains(&e.metric) {
                metrics.push(e.metric);
            }
        }
        let each: Vec<String> = metrics
            .iter()
            .map(|&id| {
                let eps: Vec<&&Episode> = episodes.iter().filter(|e| e.metric == id).collect();
                let first = eps[0];
                let beyond: f64 = eps
                    .iter()
                    .map(|e| match e.level {
                        Status::Critical => {
                            e.critical_periods.iter().map(|[a, b]| b - a).sum::<f64>()
                        }
                        _ => e.duration_s(),
                    })
                    .sum();
                let peak = eps
                    .iter()
                    .max_by(|a, b| severity(a, b))
                    .expect("one episode at least");
                format!(
                    "{} beyond {} from {} for {}, peak {} at {}",
                    label(id),
                    value(id, first.bound),
                    clock.hms(level_from(first)),
                    duration(beyond),
                    value(id, peak.peak),
                    clock.hms(peak.peak_at)
                )
            })
            .collect();
        (metrics.len(), each.join("; "))
    };
    let mut findings = Vec::new();
    for b in &data.blockers {
        findings.push(match b.rule {
            RuleId::NoCriticalMetric if !critical.is_empty() => {
                let (n, each) = by_metric(&critical);
                format!("{} reached CRITICAL: {each}", count(n, "metric", "metrics"))
            }
            RuleId::CanaryCompleted => match &log.decision {
                Some(d) => format!(
                    "The canary did not finish: rolled back at {} ({}: {})",
                    clock.hms(d.at),
                    d.trigger,
                    d.reason
                ),
                None => format!("The canary did not finish: {}", b.detail),
            },
            RuleId::NoRollback => match (&log.decision, log.rollback_end) {
                (_, Some((t, true))) => format!(
                    "The index was rolled back: verified absent at {}",
                    clock.hms(t)
                ),
                (_, Some((t, false))) => format!(
                    "A rollback was attempted and did NOT complete ({}): check the index on \
                     the server",
                    clock.hms(t)
                ),
                (Some(d), None) => format!(
                    "A rollback was decided at {} and its end is not in the log",
                    clock.hms(d.at)
                ),
                (None, None) => format!("A rollback was performed: {}", b.detail),
            },
            RuleId::NoCriticalOrOpenIncident => {
                let shown: Vec<String> = data
                    .incidents
                    .iter()
                    .filter(|i| i.severity == crate::model::Severity::Critical || !i.resolved)
                    .map(|i| {
                        format!(
                            "{} at {} ({})",
                            i.description,
                            clock.hms(i.time),
                            if i.resolved { "resolved" } else { "OPEN" }
                        )
                    })
                    .collect();
                if shown.is_empty() {
                    format!("Incidents: {}", b.detail)
                } else {
                    format!(
                        "{} critical or open: {}",
                        count(shown.len(), "incident", "incidents"),
                        shown.join("; ")
                    )
                }
            }
            RuleId::KillSwitchChecksPassed => {
                let failed: Vec<String> = data
                    .kill_switch_checkpoints
                    .iter()
                    .filter(|c| c.state != CheckpointState::Passed)
                    .map(|c| match c.at {
                        Some(t) => format!("{} at {}: {}", c.name, clock.hms(t), c.detail),
                        None => format!("{}: {}", c.name, c.detail),
                    })
                    .collect();
                if failed.is_empty() {
                    format!("Kill switch checks: {}", b.detail)
                } else {
                    format!("Kill switch checks failed: {}", failed.join("; "))
                }
            }
            RuleId::PostLatencyDegradation => {
                format!(
                    "Latency after the change is worse than allowed: {}",
                    b.detail
                )
            }
            RuleId::IndexVerified => format!("The index is not verified: {}", b.detail),
            RuleId::RequiredMetricsMeasured => {
                format!("Metrics the decision needs have no data: {}", b.detail)
            }
            RuleId::NoCriticalMetric | RuleId::NoSignificantWorsening => b.detail.clone(),
        });
    }
    // What an approval carries: the canary's WARNING episodes.
    let warned: Vec<&Episode> = data
        .episodes
        .iter()
        .filter(|e| e.level == Status::Warning && !e.pre_existing)
        .collect();
    let watch = if warned.is_empty() {
        Vec::new()
    } else {
        let (n, each) = by_metric(&warned);
        vec![format!(
            "{} reached WARNING: {each}",
            count(n, "metric", "metrics")
        )]
    };
    let team_blockers = m.human.blockers.len();
    if team_blockers > 0 {
        findings.push(format!(
            "The team recorded {} (7.4)",
            count(team_blockers, "blocker", "blockers")
        ));
    }

    // The timeline: the canary's trouble, its detection, the rollback, the recovery.
    let mut timeline: Vec<(UnixSeconds, String)> = Vec::new();
    let began = critical
        .iter()
        .map(|e| (level_from(e), *e))
        .min_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((t, e)) = began {
        timeline.push((
            t,
            format!(
                "Trouble began: {} beyond its critical bound ({})",
                label(e.metric),
                value(e.metric, e.bound)
            ),
        ));
    }
    let first_alert = data
        .alerts
        .iter()
        .filter(|a| began.is_none_or(|(t, _)| a.time >= t - 600.0))
        .min_by(|a, b| a.time.total_cmp(&b.time));
    if let Some(a) = first_alert {
        timeline.push((
            a.time,
            format!("First alert fired: {} ({})", a.name, a.severity.label()),
        ));
    }
    if let Some(t) = log.ddl_start {
        timeline.push((t, "DDL started".into()));
    }
    if let Some((t, outcome)) = &log.ddl_end {
        timeline.push((*t, format!("DDL ended: {outcome}")));
    }
    if let Some(d) = &log.decision {
        timeline.push((
            d.at,
            format!("Rollback decided ({}): {}", d.trigger, d.reason),
        ));
    }
    if let Some((t, ok)) = log.rollback_end {
        timeline.push((
            t,
            if ok {
                "Rollback done: the index verified absent".to_string()
            } else {
                "Rollback did NOT complete: the index is not verified absent".to_string()
            },
        ));
    }
    let recovered = recovery(&critical, log.rollback_end.map(|(t, _)| t));
    match &recovered {
        Recovery::At(t) => timeline.push((
            *t,
            "Recovered: every critical metric back within its bound".into(),
        )),
        Recovery::Not(metrics) => {
            let names: Vec<String> = metrics.iter().map(|&m| label(m)).collect();
            if let Some(end) = log.last {
                timeline.push((
                    end,
                    format!(
                        "Not recovered by the end of the record: {}",
                        names.join(", ")
                    ),
                ));
            }
        }
        Recovery::NothingToRecover => {}
    }
    timeline.sort_by(|a, b| a.0.total_cmp(&b.0));

    let mut durations = Vec::new();
    let acted = log.decision.as_ref().map(|d| d.at);
    if let (Some((t, _)), Some(d)) = (began, acted)
        && d >= t
    {
        durations.push(format!(
            "Critical for {} before the rollback was decided",
            duration(d - t)
        ));
    }
    if let (Some(d), Some((end, _))) = (acted, log.rollback_end) {
        durations.push(format!("the rollback took {}", duration(end - d)));
    }
    if let (Recovery::At(t), Some((end, _))) = (&recovered, log.rollback_end) {
        durations.push(format!(
            "back within bounds {} after the rollback",
            duration((t - end).max(0.0))
        ));
    }

    let approved = data.decision == crate::judge::rules::Verdict::ApprovedForLimitedProd;
    let conditions: Vec<String> = if approved {
        data.conditions
            .iter()
            .map(|c| c.condition.clone())
            .chain(m.human.conditions.iter().map(|c| c.condition.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let signed: Vec<String> = m
        .human
        .sign_off
        .iter()
        .filter(|s| s.approved)
        .map(|s| format!("{} ({})", s.role, s.name))
        .collect();
    let tech_lead_signed = m
        .human
        .sign_off
        .iter()
        .any(|s| s.approved && s.role.eq_ignore_ascii_case("tech lead"));
    let sign_off = format!(
        "{}{}",
        if signed.is_empty() {
            "Not signed by anyone".to_string()
        } else {
            format!("Signed by {}", signed.join(", "))
        },
        if tech_lead_signed {
            String::new()
        } else {
            "; a DRAFT until the Tech Lead signs".into()
        }
    );
    let next_step = if approved {
        if conditions.is_empty() {
            "Widen to limited production once the Tech Lead signs".to_string()
        } else {
            format!(
                "Widen to limited production once the {} above {} met and the Tech Lead signs",
                count(conditions.len(), "condition", "conditions"),
                if conditions.len() == 1 { "is" } else { "are" }
            )
        }
    } else if log.rollback_end.is_some_and(|(_, ok)| !ok) {
        "First check the server: the rollback did not complete and the index may still be there; \
         then fix the blockers (7.4) and run the canary again"
            .into()
    } else {
        "Fix the blockers (7.4), then run the canary again".into()
    };
    Story {
        zone,
        findings,
        watch,
        timeline: timeline
            .into_iter()
            .map(|(t, what)| Moment {
                at: clock.hms(t),
                what,
            })
            .collect(),
        durations,
        conditions,
        sign_off,
        next_step,
    }
}

/// When an episode first held the bound of its level (its critical bound
/// for a critical one).
fn level_from(e: &Episode) -> UnixSeconds {
    match e.level {
        Status::Critical => e.critical_periods.first().map_or(e.start, |p| p[0]),
        _ => e.start,
    }
}

/// Orders episodes by how far their peak went past the bound, relative to it.
fn severity(a: &&&Episode, b: &&&Episode) -> std::cmp::Ordering {
    let over = |e: &Episode| (e.peak - e.bound).abs() / e.bound.abs().max(f64::MIN_POSITIVE);
    over(a).total_cmp(&over(b))
}

enum Recovery {
    /// Every critical episode was back within its bound; the last, then.
    At(UnixSeconds),
    /// Still beyond the bound at the end of the record.
    Not(Vec<MetricId>),
    NothingToRecover,
}

/// When the canary's critical episodes were all over: after the rollback
/// when there was one.
fn recovery(critical: &[&Episode], rollback_end: Option<UnixSeconds>) -> Recovery {
    if critical.is_empty() {
        return Recovery::NothingToRecover;
    }
    let open: Vec<MetricId> = critical
        .iter()
        .filter(|e| e.open || e.resolved_at.is_none())
        .map(|e| e.metric)
        .collect();
    if !open.is_empty() {
        return Recovery::Not(open);
    }
    let last = critical
        .iter()
        .filter_map(|e| e.resolved_at)
        .fold(f64::NEG_INFINITY, f64::max);
    match rollback_end {
        Some(end) if last < end => Recovery::At(end),
        _ => Recovery::At(last),
    }
}

/// What the log says of the rollback, and where it ends.
struct LogStory {
    ddl_start: Option<UnixSeconds>,
    /// When the DDL ended, and how (`success after 4 min 30 s`).
    ddl_end: Option<(UnixSeconds, String)>,
    decision: Option<Decided>,
    /// When the rollback ended, and whether it succeeded.
    rollback_end: Option<(UnixSeconds, bool)>,
    last: Option<UnixSeconds>,
}

struct Decided {
    at: UnixSeconds,
    trigger: &'static str,
    reason: String,
}

impl LogStory {
    fn read(events: &[EventRecord]) -> LogStory {
        let mut s = LogStory {
            ddl_start: None,
            ddl_end: None,
            decision: None,
            rollback_end: None,
            last: None,
        };
        for e in events {
            let t = unix_seconds(&e.ts);
            s.last = Some(t);
            match &e.event {
                Event::RollbackDecision {
                    trigger, reason, ..
                } if s.decision.is_none() => {
                    s.decision = Some(Decided {
                        at: t,
                        trigger: match trigger {
                            RollbackTrigger::Automatic => "automatic",
                            RollbackTrigger::Manual => "manual",
                        },
                        reason: reason.clone(),
                    })
                }
                Event::RollbackEnd { success, .. } => s.rollback_end = Some((t, *success)),
                Event::DdlStart { .. } if s.ddl_start.is_none() => s.ddl_start = Some(t),
                Event::DdlEnd {
                    outcome,
                    duration_s,
                    ..
                } => {
                    let how = match outcome {
                        DdlOutcome::Success => "success",
                        DdlOutcome::Failed => "FAILED",
                        DdlOutcome::Killed => "killed",
                    };
                    let took = duration_s
                        .or_else(|| s.ddl_start.map(|d| t - d))
                        .map(|d| format!(" after {}", duration(d)))
                        .unwrap_or_default();
                    s.ddl_end = Some((t, format!("{how}{took}")));
                }
                _ => {}
            }
        }
        s
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
