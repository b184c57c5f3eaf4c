//! `manifest.json`: what the canary was meant to do, and what it did.

use super::phase::Phase;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use schemas_default::*;
use serde::{Deserialize, Serialize};

/// The run manifest. Only `run_id`, `scope.actual`, `target` and `plan.start`
/// are required; everything a person fills in later is optional and shows as
/// missing in the report until it is there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Version of this format; 1.
    #[serde(default = "one")]
    pub schema_version: u32,
    /// e.g. `CANARY-EXEC-V1-001`.
    pub run_id: String,
    /// The Canary Lead.
    #[serde(default)]
    pub lead: Option<String>,
    #[serde(default)]
    pub team: Vec<TeamMember>,
    pub scope: Scope,
    pub target: Target,
    /// The DDL as planned; the executed statement is taken from the events.
    #[serde(default)]
    pub ddl: Option<String>,
    pub plan: Plan,
    /// Offset shown in the report, e.g. `+07:00` (the template's UTC+7).
    #[serde(default = "default_tz")]
    pub display_timezone: String,
    /// The server's `max_connections`; active-connection bounds are a share of it.
    #[serde(default)]
    pub max_connections: Option<u64>,
    /// The replica whose replication lag the canary watches (e.g.
    /// `db-t57-r01`); with one, replication lag is a required metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<String>,
    /// Where the run's readings came from, as the executor recorded them
    /// (`capture` fills it): shown in the report beside what they gave.
    #[serde(default, skip_serializing_if = "Sources::is_empty")]
    pub sources: Sources,
    /// The parts of the report only a person can write.
    #[serde(default)]
    pub human: HumanInput,
}

/// Where the readings came from. Never a credential: URLs carry none (they
/// are refused), and request headers are named by where they came from only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sources {
    /// The global kill switch: its address and how it was read, e.g.
    /// `https://ks.internal:443/v1/canary (the boolean at /enabled; 1 header
    /// from /etc/canary/ks-headers, not recorded); read every 200ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_kill_switch: Option<String>,
    /// The connection kill switch, the same way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_kill_switch: Option<String>,
    /// Each source of metrics, e.g. `MariaDB 10.11.19 at 127.0.0.1:3306:
    /// SHOW GLOBAL STATUS and the process list every 1s`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<String>,
}

impl Sources {
    pub fn is_empty(&self) -> bool {
        self == &Sources::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamMember {
    pub name: String,
    /// DBA, SRE, Developer, ...
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    #[serde(default)]
    pub planned: PlannedScope,
    pub actual: ActualScope,
}

/// The template's "Planned" column; its defaults are the template's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedScope {
    #[serde(default = "planned_tenant")]
    pub tenant: String,
    #[serde(default = "planned_connection")]
    pub connection: String,
    #[serde(default = "planned_table")]
    pub table: String,
    #[serde(default = "planned_operation")]
    pub operation: String,
    #[serde(default = "planned_window")]
    pub time_window: String,
}

impl Default for PlannedScope {
    fn default() -> Self {
        PlannedScope {
            tenant: planned_tenant(),
            connection: planned_connection(),
            table: planned_table(),
            operation: planned_operation(),
            time_window: planned_window(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActualScope {
    pub tenant: String,
    pub connection: String,
    pub database: String,
    pub table: String,
    /// `ADD_INDEX`.
    pub operation: String,
    /// The time window as it ran; filled from the events when absent.
    #[serde(default)]
    pub window_start: Option<DateTime<Utc>>,
    #[serde(default)]
    pub window_end: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// InnoDB, MyISAM, ...
    #[serde(default)]
    pub engine: Option<String>,
    #[serde(default)]
    pub rows: Option<u64>,
    #[serde(default)]
    pub data_size_bytes: Option<u64>,
    pub index_name: String,
    pub columns: Vec<String>,
    /// Expected index type; BTREE unless said otherwise.
    #[serde(default = "btree")]
    pub index_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// T+0: when the pre-check was planned to start.
    pub start: DateTime<Utc>,
    /// Planned phases; the template's plan when absent.
    #[serde(default = "PlannedPhase::template_plan")]
    pub phases: Vec<PlannedPhase>,
    /// The kill switch checkpoints the plan asks for, by the name their
    /// `kill_switch_check` events carry (the template's: `Pre-execution`,
    /// `Post-ADD INDEX`, `During Monitoring (T+15m)` ... `Final Check`).
    /// Each is reported as checked, failed or not reached; without a list,
    /// only the checks that ran are judged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kill_switch_checkpoints: Vec<String>,
    /// The team has no kill switch and says so (`capture --no-kill-switch`):
    /// no check is expected, rule 5 (`kill_switch_checks_passed`) passes
    /// without one, and an approval carries it as a condition. Then
    /// `kill_switch_checkpoints` must be empty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_kill_switch: bool,
}

impl Plan {
    /// The template's kill switch checkpoints (its table 2.4).
    pub fn template_checkpoints() -> Vec<String> {
        [
            "Pre-execution",
            "Post-ADD INDEX",
            "During Monitoring (T+15m)",
            "During Monitoring (T+30m)",
            "During Monitoring (T+45m)",
            "During Monitoring (T+60m)",
            "Final Check",
        ]
        .map(String::from)
        .to_vec()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedPhase {
    pub phase: Phase,
    /// Minutes after T+0.
    pub offset_min: f64,
    pub duration_min: f64,
}

impl PlannedPhase {
    /// The template's plan: Pre-check T+0, Team Readiness T+30m, Baseline T+45m,
    /// Execute T+50m, Monitoring T+55m, After Metrics T+115m, Result Analysis T+120m.
    pub fn template_plan() -> Vec<PlannedPhase> {
        use Phase::*;
        [
            (Precheck, 0.0, 30.0),
            (Readiness, 30.0, 15.0),
            (Baseline, 45.0, 5.0),
            (Execute, 50.0, 5.0),
            (Monitoring, 55.0, 60.0),
            (After, 115.0, 5.0),
            (Analysis, 120.0, 30.0),
        ]
        .into_iter()
        .map(|(phase, offset_min, duration_min)| PlannedPhase {
            phase,
            offset_min,
            duration_min,
        })
        .collect()
    }
}

/// What people write: sign-off, conditions, blockers, lessons, links.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HumanInput {
    #[serde(default)]
    pub sign_off: Vec<SignOff>,
    /// Conditions of an approval, added to those the analysis derives.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Blockers, added to those the rules derive.
    #[serde(default)]
    pub blockers: Vec<Blocker>,
    /// Action items of section 8, with their owners and due dates. Without
    /// any, the report lists the template's follow-ups as suggestions, with
    /// no owner and no date.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionItem>,
    #[serde(default)]
    pub lessons: Vec<Lesson>,
    #[serde(default)]
    pub dashboards: Vec<Link>,
    #[serde(default)]
    pub related_documents: Vec<Link>,
    #[serde(default)]
    pub incident_notes: Option<String>,
    #[serde(default)]
    pub performance_notes: Option<String>,
    #[serde(default)]
    pub final_notes: Option<String>,
    /// Draft, Under Review or Final.
    #[serde(default)]
    pub report_status: Option<ReportStatus>,
    #[serde(default)]
    pub report_author: Option<String>,
    #[serde(default)]
    pub report_date: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ReportStatus {
    Draft,
    #[serde(rename = "Under Review")]
    UnderReview,
    Final,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignOff {
    /// Canary Lead, DBA, Tech Lead.
    pub role: String,
    pub name: String,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub approved: bool,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub condition: String,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub due: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Blocker {
    pub blocker: String,
    /// Critical or High.
    #[serde(default = "high")]
    pub severity: String,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub target: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionItem {
    pub item: String,
    /// High, Medium or Low.
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub due: Option<String>,
    /// Pending, In progress, Done, ...
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    pub what_happened: String,
    #[serde(default)]
    pub impact: Option<String>,
    #[serde(default)]
    pub root_cause: Option<String>,
    #[serde(default)]
    pub action_item: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub notes: Option<String>,
}

mod schemas_default {
    pub fn one() -> u32 {
        1
    }
    pub fn default_tz() -> String {
        "+07:00".into()
    }
    pub fn planned_tenant() -> String {
        "1 tenant".into()
    }
    pub fn planned_connection() -> String {
        "1 connection".into()
    }
    pub fn planned_table() -> String {
        "1 table".into()
    }
    pub fn planned_operation() -> String {
        "ADD_INDEX".into()
    }
    pub fn planned_window() -> String {
        "Off-peak".into()
    }
    pub fn btree() -> String {
        "BTREE".into()
    }
    pub fn high() -> String {
        "High".into()
    }
}

/// `+07:00` → an offset; anything unreadable falls back to UTC and says so in
/// the label (`UTC`).
pub fn parse_offset(s: &str) -> Option<chrono::FixedOffset> {
    let s = s.trim().trim_start_matches("UTC");
    if s.is_empty() || s == "Z" {
        return chrono::FixedOffset::east_opt(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?),
        None => (rest.parse::<i32>().ok()?, 0),
    };
    // Real offsets lie within ±23:59; anything else is not an offset.
    if !(0..=23).contains(&h) || !(0..=59).contains(&m) {
        return None;
    }
    chrono::FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// A zone as a person names it, an offset (`+07:00`, `UTC`) or an IANA name
/// (`Asia/Bangkok`), as the offset it has at `at` (a run's start: a DST
/// change during a canary is not followed).
pub fn resolve_zone(name: &str, at: chrono::DateTime<chrono::Utc>) -> Option<chrono::FixedOffset> {
    use chrono::Offset;
    if let Some(offset) = parse_offset(name) {
        return Some(offset);
    }
    let tz: chrono_tz::Tz = name.trim().parse().ok()?;
    Some(at.with_timezone(&tz).offset().fix())
}

/// Formats times in the manifest's display zone (UTC when it is unreadable).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub tz: chrono::FixedOffset,
}

impl Clock {
    pub fn of(manifest: &Manifest) -> Clock {
        Clock {
            tz: parse_offset(&manifest.display_timezone)
                .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset")),
        }
    }
    pub fn at(&self, t: crate::model::UnixSeconds) -> chrono::DateTime<chrono::FixedOffset> {
        chrono::DateTime::from_timestamp_micros((t * 1e6).round() as i64)
            .unwrap_or_default()
            .with_timezone(&self.tz)
    }
    pub fn hm(&self, t: crate::model::UnixSeconds) -> String {
        self.at(t).format("%H:%M").to_string()
    }
    pub fn hms(&self, t: crate::model::UnixSeconds) -> String {
        self.at(t).format("%H:%M:%S").to_string()
    }
    pub fn date(&self, t: crate::model::UnixSeconds) -> String {
        self.at(t).format("%Y-%m-%d").to_string()
    }
}
