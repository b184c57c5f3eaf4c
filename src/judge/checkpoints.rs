//! Kill switch checkpoints as planned: each check that ran, passed or
//! failed, and each planned checkpoint that never ran, "not reached" with why.

use crate::model::{Event, EventRecord, UnixSeconds, unix_seconds};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointState {
    /// Both switches read OFF and the API answered.
    Passed,
    /// A switch was not OFF, or did not answer.
    Failed,
    /// Planned, but no check with this name is in the log.
    NotReached,
}

/// One row of the kill switch table (template 2.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Checkpoint {
    /// The name the check carries (`Pre-execution`, `Final Check`, ...).
    pub name: String,
    /// Whether the manifest's plan lists it.
    pub planned: bool,
    pub state: CheckpointState,
    /// When it was checked; `None` when not reached.
    pub at: Option<UnixSeconds>,
    /// Why it failed, or why it was not reached; empty when it passed.
    pub detail: String,
}

/// Why a planned checkpoint has no check in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// The run rolled back before the checkpoint's time came.
    RolledBack,
    /// The run was aborted, or its log ends, before it.
    EndedEarly,
    /// The run completed as planned: the checkpoint was skipped.
    Completed,
}

impl RunEnd {
    /// Whether a checkpoint missing for this reason is explained by how the
    /// run ended (so that rule 5 does not fail for what rule 1 or 6 already
    /// blames), or is a check the run owed.
    pub fn excuses_a_missing_check(self) -> bool {
        !matches!(self, RunEnd::Completed)
    }

    /// What happened to the planned checkpoints that have no check.
    pub fn missing_checkpoints(self) -> &'static str {
        match self {
            RunEnd::RolledBack => "not reached (the run was rolled back before them)",
            RunEnd::EndedEarly => "not reached (the run ended before them)",
            RunEnd::Completed => "never checked though the run completed",
        }
    }

    fn why(self) -> &'static str {
        match self {
            RunEnd::RolledBack => "not reached: the run was rolled back before it",
            RunEnd::EndedEarly => "not reached: the run ended before it",
            RunEnd::Completed => "planned but never checked, though the run completed",
        }
    }
}

/// The checkpoints of a run: every check in the log, in order, with each
/// planned checkpoint that never ran placed after the planned ones before it.
pub fn checkpoints(events: &[EventRecord], planned: &[String], end: RunEnd) -> Vec<Checkpoint> {
    let is_planned = |name: &str| planned.iter().any(|p| same_name(p, name));
    let mut rows: Vec<Checkpoint> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::KillSwitchCheck {
                checkpoint,
                global,
                connection,
                response_ms,
                error,
            } => {
                let passed = global.is_off() && connection.is_off() && response_ms.is_some();
                let detail = if passed {
                    String::new()
                } else {
                    // Both switches can read OFF and the check still fail for
                    // want of an answer: say so, or the detail reads as a pass.
                    let unanswered = if response_ms.is_none() {
                        ", no API response time"
                    } else {
                        ""
                    };
                    let why = error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default();
                    format!(
                        "global {}, connection {}{unanswered}{why}",
                        global.label(),
                        connection.label()
                    )
                };
                Some(Checkpoint {
                    name: checkpoint.clone(),
                    planned: is_planned(checkpoint),
                    state: if passed {
                        CheckpointState::Passed
                    } else {
                        CheckpointState::Failed
                    },
                    at: Some(unix_seconds(&e.ts)),
                    detail,
                })
            }
            _ => None,
        })
        .collect();
    for (i, name) in planned.iter().enumerate() {
        if rows.iter().any(|r| same_name(&r.name, name)) {
            continue;
        }
        // After the last row that is an earlier planned checkpoint (or a
        // not-reached one placed before), so the table keeps the plan's order.
        let earlier = &planned[..i];
        let at = rows
            .iter()
            .rposition(|r| earlier.iter().any(|p| same_name(p, &r.name)))
            .map_or(0, |p| p + 1);
        rows.insert(
            at,
            Checkpoint {
                name: name.clone(),
                planned: true,
                state: CheckpointState::NotReached,
                at: None,
                detail: end.why().to_string(),
            },
        );
    }
    rows
}

/// Checkpoint names match whatever their case and surrounding spaces.
fn same_name(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventRecord;

    fn check(ts: &str, name: &str, global: &str) -> EventRecord {
        serde_json::from_str(&format!(
            r#"{{"ts":"{ts}","type":"kill_switch_check","checkpoint":"{name}","global":"{global}","connection":"off","response_ms":50}}"#
        ))
        .unwrap()
    }

    fn plan() -> Vec<String> {
        [
            "Pre-execution",
            "Post-ADD INDEX",
            "During Monitoring (T+15m)",
            "During Monitoring (T+30m)",
            "Final Check",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn a_planned_checkpoint_that_never_ran_is_not_reached_in_the_plans_place() {
        let events = [
            check("2026-11-24T19:50:00Z", "Pre-execution", "off"),
            check("2026-11-24T19:56:00Z", "Post-ADD INDEX", "off"),
            check("2026-11-24T20:11:00Z", "During Monitoring (T+15m)", "off"),
            check("2026-11-24T20:22:00Z", "Final Check", "off"),
        ];
        let rows = checkpoints(&events, &plan(), RunEnd::RolledBack);
        let names: Vec<(&str, CheckpointState)> =
            rows.iter().map(|r| (r.name.as_str(), r.state)).collect();
        assert_eq!(
            names,
            vec![
                ("Pre-execution", CheckpointState::Passed),
                ("Post-ADD INDEX", CheckpointState::Passed),
                ("During Monitoring (T+15m)", CheckpointState::Passed),
                ("During Monitoring (T+30m)", CheckpointState::NotReached),
                ("Final Check", CheckpointState::Passed),
            ]
        );
        assert_eq!(
            rows[3].detail,
            "not reached: the run was rolled back before it"
        );
        assert_eq!(rows[3].at, None);
    }

    #[test]
    fn an_unplanned_or_failed_check_is_listed_as_it_ran() {
        let events = [
            check("2026-11-24T19:50:00Z", "Pre-execution", "off"),
            check("2026-11-24T20:00:00Z", "During Monitoring (sample)", "on"),
        ];
        let rows = checkpoints(&events, &plan()[..1], RunEnd::Completed);
        assert_eq!(rows.len(), 2);
        assert!(!rows[1].planned);
        assert_eq!(rows[1].state, CheckpointState::Failed);
        assert_eq!(rows[1].detail, "global ON, connection OFF");
    }

    #[test]
    fn without_a_plan_only_the_checks_that_ran_are_listed() {
        let events = [check("2026-11-24T19:50:00Z", "pre-execution ", "off")];
        assert_eq!(checkpoints(&events, &[], RunEnd::Completed).len(), 1);
        // Names match whatever their case and spaces.
        let rows = checkpoints(&events, &plan()[..1], RunEnd::Completed);
        assert_eq!(rows.len(), 1);
        assert!(rows[0].planned);
    }
}
