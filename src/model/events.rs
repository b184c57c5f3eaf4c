//! `events.jsonl`: the execution log, one JSON object per line, in time order.
//!
//! Every line has `ts` (RFC 3339) and `type`; the other fields depend on the type.

use super::phase::Phase;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One line of `events.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventRecord {
    pub ts: DateTime<Utc>,
    #[serde(flatten)]
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    PhaseStart {
        phase: Phase,
    },
    PhaseEnd {
        phase: Phase,
        #[serde(default)]
        status: PhaseStatus,
    },
    DdlStart {
        statement: String,
    },
    DdlEnd {
        outcome: DdlOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// The server's own duration when it reports one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_s: Option<f64>,
    },
    /// A read of both kill switches at a checkpoint.
    KillSwitchCheck {
        /// e.g. `Pre-execution`, `Post-ADD INDEX`, `During Monitoring (T+15m)`, `Final Check`.
        checkpoint: String,
        global: SwitchState,
        connection: SwitchState,
        /// Response time of the kill switch API; absent when it did not answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response_ms: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// An incident. A later `incident` with the same `id` updates it (e.g. to
    /// resolved): the log stays append-only and the report shows the last state.
    Incident {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        severity: Severity,
        description: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        action: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resolution: Option<String>,
        status: IncidentStatus,
    },
    RollbackDecision {
        trigger: RollbackTrigger,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decided_by: Option<String>,
    },
    RollbackStart {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        statement: Option<String>,
    },
    /// One of the template's six rollback steps (5.3).
    RollbackStep {
        step: u8,
        actual: String,
        status: StepStatus,
    },
    RollbackEnd {
        success: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A check of 5.4 (post-rollback verification).
    PostRollbackCheck {
        check: String,
        actual: String,
        passed: bool,
    },
    /// The result of SHOW INDEX and EXPLAIN after the DDL (6.1).
    Verification {
        index_exists: bool,
        #[serde(default)]
        columns: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index_type: Option<String>,
        /// EXPLAIN's access type (`ref`, `range`, `ALL`, ...).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        explain_type: Option<String>,
        /// EXPLAIN's chosen key.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        explain_key: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        explain_query: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        show_index_output: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        explain_output: Option<String>,
    },
    /// An application check of 6.2.
    AppCheck {
        check: String,
        actual: String,
        passed: bool,
    },
    /// An alert that fired (from the monitoring system or the executor).
    Alert {
        name: String,
        severity: Severity,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// How the run ended. Absent when the executor died before writing it.
    RunEnd {
        status: RunStatus,
    },
    /// A free log line.
    Log {
        #[serde(default = "info")]
        level: String,
        message: String,
    },
}

fn info() -> String {
    "INFO".into()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhaseStatus {
    #[default]
    Done,
    Failed,
    Skipped,
    Aborted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DdlOutcome {
    Success,
    Failed,
    /// Stopped by the executor (KILL QUERY), e.g. on a kill switch.
    Killed,
}

/// A kill switch reading. `unknown` (unreachable, malformed) counts as ON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SwitchState {
    Off,
    On,
    Unknown,
}

impl SwitchState {
    /// Fail safe: anything but a clear OFF stops the canary.
    pub fn is_off(self) -> bool {
        self == SwitchState::Off
    }

    /// `OFF`, `ON` or `unreadable` (which counts as ON).
    pub fn label(self) -> &'static str {
        match self {
            SwitchState::Off => "OFF",
            SwitchState::On => "ON",
            SwitchState::Unknown => "unreadable",
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    /// `info`, `warning` or `critical`, as the log writes it.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Resolved,
    Open,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RollbackTrigger {
    Automatic,
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Done,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every phase ran as planned.
    Completed,
    /// Stopped early (kill switch, breach, operator).
    Aborted,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_parses_with_its_type_tag() {
        let line = r#"{"ts":"2026-11-29T02:00:00Z","type":"kill_switch_check","checkpoint":"Pre-execution","global":"off","connection":"off","response_ms":42.5}"#;
        let rec: EventRecord = serde_json::from_str(line).unwrap();
        assert!(matches!(
            rec.event,
            Event::KillSwitchCheck { global: SwitchState::Off, response_ms: Some(r), .. } if r == 42.5
        ));
        let back = serde_json::to_string(&rec).unwrap();
        assert_eq!(serde_json::from_str::<EventRecord>(&back).unwrap(), rec);
    }

    #[test]
    fn a_later_incident_with_the_same_id_updates_it() {
        let log = [
            r#"{"ts":"2026-11-29T02:00:00Z","type":"incident","id":"a","severity":"critical","description":"lag","status":"open"}"#,
            r#"{"ts":"2026-11-29T02:01:00Z","type":"incident","severity":"info","description":"note","status":"resolved"}"#,
            r#"{"ts":"2026-11-29T02:05:00Z","type":"incident","id":"a","severity":"critical","description":"lag","resolution":"rolled back","status":"resolved"}"#,
        ];
        let events: Vec<EventRecord> = log
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let all = incidents(&events);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].status, IncidentStatus::Resolved);
        assert_eq!(all[0].resolution.as_deref(), Some("rolled back"));
        assert_eq!(all[0].first_ts, events[0].ts, "keeps the time it began");
    }

    #[test]
    fn unknown_type_is_rejected() {
        let line = r#"{"ts":"2026-11-29T02:00:00Z","type":"coffee_break"}"#;
        assert!(serde_json::from_str::<EventRecord>(line).is_err());
    }
}

/// An incident as it stands at the end of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentState {
    /// When it was first logged.
    pub first_ts: DateTime<Utc>,
    pub severity: Severity,
    pub description: String,
    pub action: Option<String>,
    pub resolution: Option<String>,
    pub status: IncidentStatus,
}

/// The incidents of a log, each in its last state: a later `incident` with
/// the same `id` replaces an earlier one but keeps the time it began.
pub fn incidents(events: &[EventRecord]) -> Vec<IncidentState> {
    let mut out: Vec<(Option<&str>, IncidentState)> = Vec::new();
    for e in events {
        if let Event::Incident {
            id,
            severity,
            description,
            action,
            resolution,
            status,
        } = &e.event
        {
            let state = IncidentState {
                first_ts: e.ts,
                severity: *severity,
                description: description.clone(),
                action: action.clone(),
                resolution: resolution.clone(),
                status: *status,
            };
            let earlier = id
                .as_deref()
                .and_then(|id| out.iter_mut().find(|(i, _)| *i == Some(id)));
            match earlier {
                Some((_, prev)) => {
                    *prev = IncidentState {
                        first_ts: prev.first_ts,
                        ..state
                    }
                }
                None => out.push((id.as_deref(), state)),
            }
        }
    }
    out.into_iter().map(|(_, s)| s).collect()
}
