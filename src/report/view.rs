//! The view model: the report's data and the run's record turned into the
//! already-formatted strings the templates print. Templates compute nothing.

use super::format::{bound_num, duration, num};
use super::labels::{Lang, labels};
use super::summary::ReportData;
use crate::judge::analysis::unix;
use crate::judge::checkpoints::CheckpointState;
use crate::judge::classify::Status;
use crate::judge::rules::{RuleId, Verdict};
use crate::model::Clock;
use crate::model::{
    Category, DdlOutcome, Event, EventRecord, Manifest, MetricId, Phase, PhaseStatus, ReportStatus,
    RollbackTrigger, RunData, Severity, StepStatus, SwitchState,
};
use crate::thresholds::BoundKind;
use chrono::FixedOffset;
use serde::Serialize;
use std::collections::BTreeMap;

/// Everything a report template prints.
#[derive(Debug, Serialize)]
pub struct ReportView {
    pub lang: &'static str,
    #[serde(rename = "L")]
    pub labels: BTreeMap<&'static str, &'static str>,
    pub tz: String,
    pub complete: bool,
    pub approved: bool,
    pub decision: &'static str,
    pub run: RunInfo,
    pub scope: Vec<ScopeRow>,
    pub exec: ExecSummary,
    /// The first screen: what failed, what happened, what next.
    pub story: super::story::Story,
    pub quick: QuickSummary,
    pub target: Vec<KeyValue>,
    pub ddl: DdlView,
    pub gantt: Vec<GanttRow>,
    pub phases: Vec<PhaseRow>,
    pub kill_checks: Vec<KillCheckRow>,
    pub kill_summary: KillSummary,
    /// Each kill switch's address and how it was read (manifest `sources`).
    pub kill_switch_sources: Vec<KeyValue>,
    /// Where the metrics were read (manifest `sources.metrics`).
    pub metric_sources: Vec<String>,
    pub metric_tables: Vec<MetricTable>,
    /// Each window with its exact start and end, and how metrics are judged.
    pub windows: Vec<String>,
    /// Whether the tables have an after-rollback column.
    pub after_rollback: bool,
    pub counts: Vec<CountRow>,
    pub assessment: Assessment,
    pub incidents: Vec<IncidentView>,
    pub episodes: Vec<EpisodeView>,
    pub incident_summary: IncidentSummary,
    pub incident_notes: Option<String>,
    pub rollback: RollbackView,
    pub verification: VerificationView,
    pub app_checks: Vec<CheckRow>,
    pub impact: Vec<ImpactRow>,
    pub performance_notes: String,
    pub justification: Vec<String>,
    pub conditions: Vec<ConditionRow>,
    pub blockers: Vec<BlockerRow>,
    pub actions: Vec<ActionRow>,
    /// No action items in the manifest: `actions` are the template's
    /// follow-ups, as suggestions.
    pub actions_suggested: bool,
    pub lessons: Vec<LessonRow>,
    pub signoff: Vec<SignOffRow>,
    pub final_notes: Option<String>,
    pub doc: DocStatus,
    pub log_lines: Vec<String>,
    pub dashboards: Vec<LinkRow>,
    pub documents: Vec<LinkRow>,
    pub inputs: Vec<InputRow>,
    /// The tool and its version: `canary-report 0.1.0`.
    pub generator: String,
    pub thresholds_source: String,
    pub thresholds_sha256: Option<String>,
    pub warnings: Vec<String>,
    /// Filled by the writer when charts are drawn: (title, relative path, text alternative).
    pub charts: Vec<ChartRef>,
    /// Section 3.6: each window against the baseline, by rank statistics.
    pub significance: SignificanceView,
}

#[derive(Debug, Serialize, Clone)]
pub struct ChartRef {
    pub title: String,
    pub file: String,
    pub alt: String,
    /// `status_grid`, `timeline`, `kill_switch` or `metric`: where the HTML
    /// report places the chart.
    pub kind: &'static str,
    /// HTML anchor of the chart's figure, e.g. `chart-cpu_usage_pct`.
    pub id: String,
}

/// The markup a view is printed in: only the "not recorded" placeholders differ
/// (Markdown italics in `report.md`, plain text in `report.html`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Markup {
    #[default]
    Markdown,
    Html,
}

#[derive(Debug, Serialize)]
pub struct RunInfo {
    pub id: String,
    pub date: String,
    pub start: String,
    pub end: String,
    pub duration: String,
    pub lead: String,
    pub team: String,
}

#[derive(Debug, Serialize)]
pub struct ScopeRow {
    pub dimension: &'static str,
    pub planned: String,
    pub actual: String,
}

#[derive(Debug, Serialize)]
pub struct ExecSummary {
    pub index_created: bool,
    /// The index's state told in time: `✅ Yes, created 02:54:37` or
    /// `created 02:54:37, dropped 03:11:48 (rollback)`.
    pub index_text: String,
    pub rollback: bool,
    /// Whether the rollback happened, as the log proves it: `🔄 Yes (the
    /// index verified absent at ...)`, or attempted and not done.
    pub rollback_text: String,
    /// Alerts the log recorded.
    pub alerts: usize,
    /// Incidents the team logged.
    pub incidents: usize,
    /// Breach episodes the judge found.
    pub episodes: usize,
}

#[derive(Debug, Serialize)]
pub struct QuickSummary {
    pub target: String,
    pub duration: String,
    pub latency: String,
    pub alerts: usize,
    pub warnings: usize,
}

#[derive(Debug, Serialize)]
pub struct KeyValue {
    pub key: &'static str,
    pub value: String,
}

#[derive(Debug, Serialize)]
pub struct DdlView {
    pub statement: String,
    /// "success", "failed", "killed" or "not run".
    pub outcome: &'static str,
    pub error: Option<String>,
    pub execution_time: String,
}

#[derive(Debug, Serialize)]
pub struct GanttRow {
    pub section: &'static str,
    pub name: &'static str,
    pub id: String,
    pub state: &'static str,
    pub start: String,
    pub minutes: i64,
}

#[derive(Debug, Serialize)]
pub struct PhaseRow {
    pub name: &'static str,
    pub planned: String,
    pub start: String,
    pub end: String,
    pub duration: String,
    pub status: String,
}

#[derive(Debug, Serialize)]
pub struct KillCheckRow {
    pub checkpoint: String,
    pub time: String,
    pub global: String,
    pub connection: String,
    pub response: String,
}

#[derive(Debug, Serialize)]
pub struct KillSummary {
    /// Checks that ran, and against the plan: `4 (7 planned, 3 not reached)`.
    pub total_text: String,
    pub all_passed: bool,
    /// The team declared no kill switch (plan.no_kill_switch) and none was checked.
    pub declared_none: bool,
    pub average: String,
    pub max: String,
}

#[derive(Debug, Serialize)]
pub struct MetricTable {
    pub number: &'static str,
    pub title: &'static str,
    pub rows: Vec<MetricView>,
    /// How the values of a row were taken when not as the statistic of
    /// its samples (from event counts): `label: method`.
    pub methods: Vec<String>,
    /// The line above them.
    pub methods_heading: String,
}

#[derive(Debug, Serialize)]
pub struct MetricView {
    pub key: &'static str,
    pub label: &'static str,
    pub baseline: String,
    pub during: String,
    pub post: String,
    /// After the rollback: shown when the index was rolled back, not judged.
    pub after_rollback: Option<String>,
    pub threshold: String,
    pub status: String,
    pub status_key: &'static str,
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CountRow {
    pub category: &'static str,
    pub total: usize,
    pub ok: usize,
    pub warning: usize,
    pub critical: usize,
    pub no_data: usize,
}

#[derive(Debug, Serialize)]
pub struct Assessment {
    pub good: Vec<String>,
    pub watch: Vec<String>,
    pub improve: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct IncidentView {
    pub n: usize,
    pub time: String,
    pub severity: String,
    pub severity_key: &'static str,
    pub description: String,
    pub action: String,
    pub resolution: String,
    pub status: &'static str,
}

#[derive(Debug, Serialize)]
pub struct IncidentSummary {
    pub total: usize,
    pub critical: usize,
    pub warning: usize,
    pub info: usize,
    pub all_resolved: bool,
    pub episodes: usize,
    pub episodes_critical: usize,
    pub episodes_open: usize,
}

/// A breach episode the judge found, as a row of section 4.
#[derive(Debug, Serialize)]
pub struct EpisodeView {
    pub n: usize,
    pub metric: String,
    pub level: &'static str,
    pub level_key: &'static str,
    pub start: String,
    pub end: String,
    pub duration: String,
    pub peak: String,
    pub bound: String,
    pub status: String,
    pub open: bool,
    pub pre_existing: bool,
}

#[derive(Debug, Serialize)]
pub struct RollbackView {
    pub occurred: bool,
    /// The rollback's end: verified done, not done, or no end recorded.
    pub succeeded: Option<bool>,
    /// When the index was last seen: (present, time).
    #[serde(skip)]
    pub last_seen: Option<(bool, String)>,
    pub trigger: String,
    pub reason: String,
    pub decided_by: String,
    pub decided_at: String,
    pub started_at: String,
    pub completed_at: String,
    pub duration: String,
    pub steps: Vec<StepRow>,
    pub statement: String,
    pub show_index_sql: String,
    pub post_checks: Vec<CheckRow>,
    pub post_monitoring: String,
}

#[derive(Debug, Serialize)]
pub struct StepRow {
    pub n: u8,
    pub action: &'static str,
    pub expected: &'static str,
    pub actual: String,
    pub status: String,
}

#[derive(Debug, Serialize)]
pub struct CheckRow {
    pub check: String,
    pub expected: String,
    pub actual: String,
    pub status: String,
}

#[derive(Debug, Serialize)]
pub struct VerificationView {
    pub recorded: bool,
    /// When it was verified, and, after a rollback that dropped the index,
    /// that the checks tell the past.
    pub when: Option<String>,
    pub rows: Vec<CheckRow>,
    pub show_index_sql: String,
    pub show_index_output: String,
    pub explain_query: String,
    pub explain_output: String,
}

#[derive(Debug, Serialize)]
pub struct ImpactRow {
    pub aspect: &'static str,
    pub assessment: String,
    pub notes: String,
}

#[derive(Debug, Serialize)]
pub struct ConditionRow {
    pub n: usize,
    pub condition: String,
    pub owner: String,
    pub due: String,
}

#[derive(Debug, Serialize)]
pub struct BlockerRow {
    pub n: usize,
    pub blocker: String,
    pub severity: String,
    pub owner: String,
    pub target: String,
}

#[derive(Debug, Serialize)]
pub struct ActionRow {
    pub n: usize,
    pub priority: String,
    pub item: String,
    pub owner: String,
    pub due: String,
    pub status: String,
}

#[derive(Debug, Serialize)]
pub struct LessonRow {
    pub n: usize,
    pub what: String,
    pub impact: String,
    pub root_cause: String,
    pub action: String,
}

#[derive(Debug, Serialize)]
pub struct SignOffRow {
    pub role: String,
    pub name: String,
    pub date: String,
    pub approval: String,
    pub notes: String,
}

#[derive(Debug, Serialize)]
pub struct DocStatus {
    pub status: String,
    pub author: String,
    pub date: String,
}

#[derive(Debug, Serialize)]
pub struct LinkRow {
    pub name: String,
    pub url: String,
    pub notes: String,
    /// The URL when it may be a link (http or https only); `report.html` prints
    /// anything else as text.
    pub href: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct InputRow {
    pub path: String,
    pub format: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: Option<String>,
}

fn tz_label(tz: FixedOffset) -> String {
    let secs = tz.local_minus_utc();
    let (h, m) = (secs / 3600, (secs.abs() % 3600) / 60);
    match (h, m) {
        (0, 0) => "UTC".into(),
        (h, 0) => format!("UTC{h:+}"),
        (h, m) => format!("UTC{h:+}:{m:02}"),
    }
}

/// A change from the baseline `b` to `x` in the terms the metric is judged
/// in: relative for a metric with a relative bound (query latency +42.1%);
/// otherwise the difference, in percentage points for a percentage (CPU
/// 24.2% to 54.8% is +30.6 pp, not +126.6%) and in the metric's unit else
/// (replication lag 1.06 s to 49.6 s is +48.5 s, not +4557.5%: a relative
/// change on a near-zero baseline says nothing).
fn change_text(b: f64, x: f64, relative_pct: f64, unit: &str, kind: BoundKind) -> String {
    match kind {
        BoundKind::IncreasePct | BoundKind::DecreasePct => format!("{relative_pct:+.1}%"),
        _ => {
            let d = x - b;
            let sign = if d < 0.0 { "-" } else { "+" };
            if unit == "%" {
                format!("{sign}{} pp", num(d.abs()))
            } else {
                format!("{sign}{}", with_unit(d.abs(), unit))
            }
        }
    }
}

fn with_unit(v: f64, unit: &str) -> String {
    crate::model::with_unit(num(v), unit)
}

fn hours_minutes(secs: f64) -> String {
    let total = (secs / 60.0).round() as i64;
    format!("{}:{:02}", total / 60, total % 60)
}

fn status_cell(s: Status) -> String {
    match s {
        Status::Ok => "✅ OK",
        Status::Warning => "🟠 WARNING",
        Status::Critical => "🔴 CRITICAL",
        Status::NoData => "⬜ NO_DATA",
    }
    .into()
}

fn switch(s: SwitchState) -> String {
    match s {
        SwitchState::Off => "🟢 OFF".into(),
        SwitchState::On => "🔴 ON".into(),
        SwitchState::Unknown => "⚠️ unreadable (ON)".into(),
    }
}

fn threshold_text(kind: BoundKind, w: Option<f64>, c: Option<f64>, unit: &str) -> String {
    let (Some(w), Some(c)) = (w, c) else {
        return match (kind, w.or(c)) {
            (BoundKind::None, _) | (_, None) => "-".into(),
            (_, Some(_)) => threshold_text(kind, w.or(c), w.or(c), unit),
        };
    };
    let u = match unit {
        "count" => "",
        "%" => "%",
        _ => unit,
    };
    let sp = if u.is_empty() || u == "%" { "" } else { " " };
    match kind {
        BoundKind::Above => format!(
            "Warning: >{}{sp}{u}, Critical: >{}{sp}{u}",
            bound_num(w),
            bound_num(c)
        ),
        BoundKind::Below => format!(
            "Warning: <{}{sp}{u}, Critical: <{}{sp}{u}",
            bound_num(w),
            bound_num(c)
        ),
        BoundKind::IncreasePct => format!(
            "Warning: >{}% increase, Critical: >{}% increase",
            bound_num(w),
            bound_num(c)
        ),
        BoundKind::DecreasePct => format!(
            "Warning: >{}% decrease, Critical: >{}% decrease",
            bound_num(w),
            bound_num(c)
        ),
        BoundKind::AbovePctOfMaxConnections => {
            format!(
                "Warning: >{}% max, Critical: >{}% max",
                bound_num(w),
                bound_num(c)
            )
        }
        BoundKind::None => "-".into(),
    }
}

const CATEGORY_TITLES: [(Category, &str, &str); 4] = [
    (Category::System, "3.1", "System Metrics"),
    (Category::Database, "3.2", "Database Metrics"),
    (Category::Application, "3.3", "Application Metrics"),
    (Category::KillSwitch, "3.4", "Kill Switch Metrics"),
];

/// The six rollback steps of template 5.3: (action, expected).
const ROLLBACK_STEPS: [(&str, &str); 6] = [
    ("Announce rollback decision", "Message sent"),
    ("Verify index exists before DROP", "Index exists"),
    ("Execute DROP INDEX", "Success"),
    ("Verify index removed", "Index gone"),
    ("Update execution_run status", "ROLLED_BACK"),
    ("Announce rollback complete", "Message sent"),
];

const POST_ROLLBACK_CHECKS: [&str; 5] = [
    "Index removed",
    "Latency returning to baseline",
    "Error rate returning to baseline",
    "No new alerts",
    "Replication healthy",
];

const APP_CHECKS: [&str; 4] = [
    "Application responds normally",
    "No new errors in logs",
    "Critical queries work",
    "User-facing features OK",
];

/// The template's follow-ups of 8.1 and 8.2 (priority, item): listed as
/// suggestions, with no owner and no date, when the manifest gives no action
/// items; the report never invents who does what by when.
const SUGGESTED_APPROVED: [(&str, &str); 5] = [
    ("🔴 High", "Continue monitoring for 24 hours"),
    ("🔴 High", "Document final metrics and close canary"),
    ("🟠 Medium", "Plan next phase: expand to 2-3 tables"),
    ("🟠 Medium", "Update integration tests based on findings"),
    ("🟢 Low", "Share lessons learned with team"),
];

const SUGGESTED_STOP: [(&str, &str); 5] = [
    ("🔴 High", "Fix identified blockers"),
    ("🔴 High", "Update and re-run integration tests"),
    ("🔴 High", "Root cause analysis for failures"),
    ("🟠 Medium", "Update canary plan based on findings"),
    ("🟠 Medium", "Schedule re-run of canary"),
];

fn priority_mark(p: &str) -> String {
    match p.trim().to_ascii_lowercase().as_str() {
        "high" | "critical" => "🔴 High".into(),
        "medium" => "🟠 Medium".into(),
        "low" => "🟢 Low".into(),
        _ => p.to_string(),
    }
}

/// The display offset of the manifest, in seconds east of UTC (UTC when the
/// offset cannot be read, as the report's times are).
/// Each window with its exact start and end, as judged.
fn window_lines(data: &ReportData, clock: &Clock) -> Vec<String> {
    let w = &data.windows;
    let span = |s: Option<crate::judge::analysis::Span>| {
        s.map_or("not run".to_string(), |s| {
            format!("{}–{}", clock.hms(s.start), clock.hms(s.end))
        })
    };
    let mut out = vec![
        format!("Baseline: {}", span(w.baseline)),
        format!("During (the DDL): {}", span(w.during)),
        format!(
            "Post (with the index, {}): {}",
            if w.after_rollback.is_some() {
                "from the DDL's end to the rollback's start"
            } else {
                "from the DDL's end to the end of the after phase"
            },
            span(w.post)
        ),
    ];
    if w.settle_s > 0.0 {
        out.push(format!(
            "The post window starts {} s after the DDL's end (rules.settle_after_ddl_s)",
            crate::model::plain_number(w.settle_s)
        ));
    }
    if w.after_rollback.is_some() {
        out.push(format!(
            "After rollback (the recovery, shown, not judged by the rules): {}",
            span(w.after_rollback)
        ));
    }
    out
}

pub fn display_offset_s(m: &Manifest) -> i32 {
    Clock::of(m).tz.local_minus_utc()
}

/// The view's entry for a drawn chart. Its alt text is the chart's own text
/// alternative, with brackets made round so that Markdown's `![alt](file)`
/// holds whatever a label contains.
pub fn chart_ref(chart: &super::charts::Chart) -> ChartRef {
    let alt = chart
        .alt
        .chars()
        .map(|c| match c {
            '[' => '(',
            ']' => ')',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    ChartRef {
        title: chart.title.clone(),
        file: chart.file.clone(),
        alt,
        kind: chart.kind.key(),
        id: format!("chart-{}", chart.kind.stem()),
    }
}

/// Only a plain web address becomes a link in the HTML report.
fn web_href(url: &str) -> Option<String> {
    let u = url.trim();
    let lower = u.to_ascii_lowercase();
    ((lower.starts_with("https://") || lower.starts_with("http://"))
        && !u.chars().any(|c| c.is_whitespace() || c.is_control()))
    .then(|| u.to_string())
}

/// Builds the view for `report.md`. `run` supplies the record (log lines,
/// checks, people's input); `data` the judgement.
pub fn build_view(run: &RunData, data: &ReportData, lang: Lang) -> ReportView {
    build_view_for(run, data, lang, Markup::Markdown)
}

/// Builds the view for the given markup.
pub fn build_view_for(run: &RunData, data: &ReportData, lang: Lang, markup: Markup) -> ReportView {
    let mut l = labels(lang);
    if markup == Markup::Html {
        // `_(not recorded)_` is Markdown italics; HTML styles it itself.
        for key in ["missing", "none_recorded", "ks_declared_none"] {
            if let Some(v) = l.get_mut(key) {
                *v = v.trim_matches('_');
            }
        }
    }
    let missing = l["missing"].to_string();
    let m = &run.manifest;
    let clock = Clock::of(m);
    let tz = clock.tz;
    let opt = |s: &Option<String>| {
        s.clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| missing.clone())
    };

    let started = data
        .phases
        .iter()
        .filter_map(|p| p.actual)
        .map(|s| s.start)
        .reduce(f64::min);
    let ended = data
        .phases
        .iter()
        .filter_map(|p| p.actual)
        .map(|s| s.end)
        .reduce(f64::max);
    let run_start = m.scope.actual.window_start.as_ref().map(unix).or(started);
    let run_end = m.scope.actual.window_end.as_ref().map(unix).or(ended);
    let duration_s = run_start.zip(run_end).map(|(a, b)| b - a);

    let events = &run.events;
    let ddl = ddl_view(m, events, &missing);
    let rollback = rollback_view(events, data, &clock, &missing);
    let verification = verification_view(m, events, &clock, &missing);

    let latency_metric = [MetricId::RequestLatencyP99Ms, MetricId::QueryLatencyP99Ms]
        .into_iter()
        .filter_map(|id| data.metric(id))
        .find(|r| r.verdict.baseline_value.is_some() && r.verdict.post_value.is_some());
    let latency = match latency_metric {
        Some(r) => format!(
            "{}ms → {}ms ({}) [{}]",
            num(r.verdict.baseline_value.unwrap_or_default()),
            num(r.verdict.post_value.unwrap_or_default()),
            r.verdict
                .post_delta_pct
                .map_or("n/a".into(), |d| format!("{d:+.1}%")),
            r.label
        ),
        None => missing.clone(),
    };
    let index_created = ddl.outcome == "success";
    let index_text = index_state_text(events, &clock, index_created, &rollback);

    let team = if m.team.is_empty() {
        missing.clone()
    } else {
        m.team
            .iter()
            .map(|t| format!("{} ({})", t.name, t.role))
            .collect::<Vec<_>>()
            .join(", ")
    };

    let window_actual = match (run_start, run_end) {
        (Some(a), Some(b)) => format!("{}-{} {}", clock.hm(a), clock.hm(b), tz_label(tz)),
        _ => missing.clone(),
    };
    let scope = vec![
        ScopeRow {
            dimension: "Tenant",
            planned: m.scope.planned.tenant.clone(),
            actual: m.scope.actual.tenant.clone(),
        },
        ScopeRow {
            dimension: "MySQL Connection",
            planned: m.scope.planned.connection.clone(),
            actual: m.scope.actual.connection.clone(),
        },
        ScopeRow {
            dimension: "Table",
            planned: m.scope.planned.table.clone(),
            actual: format!("{}.{}", m.scope.actual.database, m.scope.actual.table),
        },
        ScopeRow {
            dimension: "Operation",
            planned: m.scope.planned.operation.clone(),
            actual: m.scope.actual.operation.clone(),
        },
        ScopeRow {
            dimension: "Time Window",
            planned: m.scope.planned.time_window.clone(),
            actual: window_actual,
        },
    ];

    let size = match (m.target.rows, m.target.data_size_bytes) {
        (None, None) => missing.clone(),
        (r, b) => format!(
            "{} rows / {}",
            r.map_or("?".into(), |r| r.to_string()),
            b.map_or("?".into(), human_bytes)
        ),
    };
    let target = vec![
        KeyValue {
            key: "Database",
            value: m.scope.actual.database.clone(),
        },
        KeyValue {
            key: "Target Table",
            value: m.scope.actual.table.clone(),
        },
        KeyValue {
            key: "Table Engine",
            value: opt(&m.target.engine),
        },
        KeyValue {
            key: "Table Size",
            value: size,
        },
        KeyValue {
            key: "Index Name",
            value: m.target.index_name.clone(),
        },
        KeyValue {
            key: "Index Columns",
            value: m.target.columns.join(", "),
        },
        KeyValue {
            key: "Index Type",
            value: m.target.index_type.clone(),
        },
    ];

    // Timeline.
    let plan_start = unix(&m.plan.start);
    let phase_rows: Vec<PhaseRow> = data
        .phases
        .iter()
        .map(|p| PhaseRow {
            name: p.phase.label(),
            planned: p.planned.map_or("-".into(), |s| {
                format!("T+{}", offset_text(s.start - plan_start))
            }),
            start: p.actual.map_or(missing.clone(), |s| clock.hm(s.start)),
            end: p.actual.map_or(missing.clone(), |s| clock.hm(s.end)),
            duration: p
                .actual
                .map_or(missing.clone(), |s| duration(s.duration_s())),
            status: match p.status {
                Some(PhaseStatus::Done) => "✅ Done".into(),
                Some(PhaseStatus::Failed) => "❌ Failed".into(),
                Some(PhaseStatus::Skipped) => "⏭️ Skipped".into(),
                Some(PhaseStatus::Aborted) => "⛔ Aborted".into(),
                None => "⬜ Not run".into(),
            },
        })
        .collect();
    let gantt = data
        .phases
        .iter()
        .filter_map(|p| {
            let s = p.actual?;
            let section = match p.phase {
                Phase::Precheck | Phase::Readiness => "Pre-Canary",
                Phase::Baseline | Phase::Execute | Phase::Verification => "Canary Execution",
                Phase::Monitoring => "Monitoring",
                Phase::After | Phase::Analysis => "Post-Canary",
            };
            Some(GanttRow {
                section,
                name: p.phase.label(),
                id: p.phase.key().to_string(),
                state: match p.status {
                    Some(PhaseStatus::Done) => "done",
                    Some(PhaseStatus::Failed | PhaseStatus::Aborted) => "crit",
                    _ => "active",
                },
                start: clock.hm(s.start),
                minutes: ((s.duration_s() / 60.0).round() as i64).max(1),
            })
        })
        .collect();

    // Kill switches: the judged checkpoints, in order; a check that ran
    // takes its switch states from its event (the same order).
    let mut responses = Vec::new();
    let mut checks_run = events.iter().filter_map(|e| match &e.event {
        Event::KillSwitchCheck {
            global,
            connection,
            response_ms,
            error,
            ..
        } => Some((e, *global, *connection, *response_ms, error)),
        _ => None,
    });
    let kill_checks: Vec<KillCheckRow> = data
        .kill_switch_checkpoints
        .iter()
        .filter_map(|cp| {
            if cp.state == CheckpointState::NotReached {
                return Some(KillCheckRow {
                    checkpoint: cp.name.clone(),
                    time: "—".into(),
                    global: "⚪ not reached".into(),
                    connection: "⚪ not reached".into(),
                    response: cp.detail.clone(),
                });
            }
            let (e, global, connection, response_ms, error) = checks_run.next()?;
            if let Some(r) = response_ms {
                responses.push(r);
            }
            Some(KillCheckRow {
                checkpoint: cp.name.clone(),
                time: clock.hm(unix(&e.ts)),
                global: switch(global),
                connection: switch(connection),
                response: match (response_ms, error) {
                    (Some(r), _) => format!("{} ms", num(r)),
                    (None, Some(e)) => format!("no answer: {e}"),
                    (None, None) => "no answer".into(),
                },
            })
        })
        .collect();
    let ks_rule = data
        .reasons
        .iter()
        .find(|r| r.rule == RuleId::KillSwitchChecksPassed);
    let in_state = |state| {
        data.kill_switch_checkpoints
            .iter()
            .filter(|c| c.state == state)
            .count()
    };
    let not_reached = in_state(CheckpointState::NotReached);
    let planned = data
        .kill_switch_checkpoints
        .iter()
        .filter(|c| c.planned)
        .count();
    let checks_run = kill_checks.len() - not_reached;
    let kill_summary = KillSummary {
        total_text: match (planned, not_reached) {
            (0, _) => checks_run.to_string(),
            (p, 0) => format!("{checks_run} ({p} planned)"),
            (p, n) => format!("{checks_run} ({p} planned, {n} not reached)"),
        },
        // "All passed" only when every planned checkpoint ran and passed.
        all_passed: ks_rule.is_some_and(|r| r.passed) && not_reached == 0,
        declared_none: m.plan.no_kill_switch && kill_checks.is_empty(),
        average: if responses.is_empty() {
            missing.clone()
        } else {
            format!(
                "{} ms",
                num(responses.iter().sum::<f64>() / responses.len() as f64)
            )
        },
        max: responses
            .iter()
            .copied()
            .reduce(f64::max)
            .map_or(missing.clone(), |v| format!("{} ms", num(v))),
    };

    // Metrics.
    let metric_tables = CATEGORY_TITLES
        .iter()
        .map(|(cat, number, title)| MetricTable {
            number,
            title,
            rows: data
                .metrics
                .iter()
                .filter(|r| r.category == *cat)
                .map(|r| {
                    let v = &r.verdict;
                    let cell = |value: Option<f64>, delta: Option<f64>| match value {
                        None => "—".to_string(),
                        Some(x) => match (delta, v.baseline_value) {
                            (Some(d), Some(b)) => format!(
                                "{} ({})",
                                with_unit(x, &r.unit),
                                change_text(b, x, d, &r.unit, r.bound_kind)
                            ),
                            (Some(d), None) => format!("{} ({d:+.1}%)", with_unit(x, &r.unit)),
                            (None, _) => with_unit(x, &r.unit),
                        },
                    };
                    let th = data.thresholds.values.for_metric(r.metric);
                    let mut notes: Vec<String> = Vec::new();
                    match (v.pre_existing, &v.no_data_reason) {
                        (Some(p), _) => notes.push(format!("baseline already {}", p.key())),
                        (None, Some(why)) => notes.push(why.clone()),
                        _ => {}
                    }
                    if r.bound_kind != crate::thresholds::BoundKind::None {
                        if v.method.is_some() {
                            notes.push("from counts, see below".into());
                        } else {
                            notes.push(format!("{} of each window", r.statistic.name()));
                        }
                        if !th.window_statistic {
                            notes.push(
                                "judged on breaches sustained for the metric's time only".into(),
                            );
                        }
                        if th.exempt_during_ddl {
                            notes.push("not judged during the DDL (the ALTER's own I/O)".into());
                        }
                    }
                    if v.required && r.status == Status::NoData {
                        notes.push("required: not measured".into());
                    }
                    let note = (!notes.is_empty()).then(|| notes.join("; "));
                    MetricView {
                        key: r.metric.key(),
                        label: r.metric.label(),
                        baseline: cell(v.baseline_value, None),
                        during: cell(v.during_value, v.during_delta_pct),
                        post: cell(v.post_value, v.post_delta_pct),
                        after_rollback: data
                            .windows
                            .after_rollback
                            .map(|_| cell(v.after_rollback_value, v.after_rollback_delta_pct)),
                        threshold: threshold_text(r.bound_kind, r.warning, r.critical, &r.unit),
                        status: status_cell(r.status),
                        status_key: r.status.key(),
                        note,
                    }
                })
                .collect(),
            methods: data
                .metrics
                .iter()
                .filter(|r| r.category == *cat)
                .filter_map(|r| {
                    let method = r.verdict.method.as_ref()?;
                    Some(format!("{}: {method}", r.metric.label()))
                })
                .collect(),
            methods_heading: format!(
                "From counts (a ratio over fewer than {} events is not judged):",
                crate::model::plain_number(crate::model::MIN_EVENTS_FOR_A_RATIO)
            ),
        })
        .collect();
    let counts = CATEGORY_TITLES
        .iter()
        .map(|(cat, _, title)| {
            let c = data.counts.of(*cat);
            CountRow {
                category: title,
                total: c.total,
                ok: c.ok,
                warning: c.warning,
                critical: c.critical,
                no_data: c.no_data,
            }
        })
        .chain(std::iter::once({
            let c = &data.counts.total;
            CountRow {
                category: "Total",
                total: c.total,
                ok: c.ok,
                warning: c.warning,
                critical: c.critical,
                no_data: c.no_data,
            }
        }))
        .collect();
    let names = |s: Status| -> Vec<&str> {
        data.metrics
            .iter()
            .filter(|r| r.status == s)
            .map(|r| r.metric.label())
            .collect()
    };
    let mut assessment = Assessment {
        good: Vec::new(),
        watch: Vec::new(),
        improve: Vec::new(),
    };
    let ok = names(Status::Ok);
    if !ok.is_empty() {
        assessment.good.push(format!(
            "{} of {} metrics within bounds",
            ok.len(),
            data.metrics.len()
        ));
    }
    for r in data.metrics.iter().filter(|r| r.status == Status::Warning) {
        assessment.watch.push(format!("{}: WARNING", r.label));
    }
    for r in data
        .metrics
        .iter()
        .filter(|r| r.verdict.pre_existing.is_some())
    {
        assessment.watch.push(format!(
            "{}: already {} in the baseline",
            r.label,
            r.verdict.pre_existing.map_or("", |s| s.key())
        ));
    }
    for r in data.metrics.iter().filter(|r| r.status == Status::Critical) {
        assessment.improve.push(format!("{}: CRITICAL", r.label));
    }
    let no_data = names(Status::NoData);
    if !no_data.is_empty() {
        assessment
            .improve
            .push(format!("No data for: {}", no_data.join(", ")));
    }

    // Incidents.
    let incidents: Vec<IncidentView> = data
        .incidents
        .iter()
        .enumerate()
        .map(|(i, inc)| IncidentView {
            n: i + 1,
            time: clock.hm(inc.time),
            severity: match inc.severity {
                Severity::Critical => "🔴 Critical",
                Severity::Warning => "🟠 Warning",
                Severity::Info => "🟢 Info",
            }
            .into(),
            severity_key: inc.severity.label(),
            description: inc.description.clone(),
            action: opt(&inc.action),
            resolution: opt(&inc.resolution),
            status: if inc.resolved {
                "✅ Resolved"
            } else {
                "⛔ Open"
            },
        })
        .collect();
    let sev = |s: Severity| data.incidents.iter().filter(|i| i.severity == s).count();
    let incident_summary = IncidentSummary {
        total: data.incidents.len(),
        critical: sev(Severity::Critical),
        warning: sev(Severity::Warning),
        info: sev(Severity::Info),
        all_resolved: data.incidents.iter().all(|i| i.resolved),
        episodes: data.episodes.len(),
        episodes_critical: data
            .episodes
            .iter()
            .filter(|e| e.level == Status::Critical)
            .count(),
        episodes_open: data.episodes.iter().filter(|e| e.open).count(),
    };
    let episodes: Vec<EpisodeView> = data
        .episodes
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let value = |v: f64| crate::model::with_unit(num(v), e.metric.unit());
            EpisodeView {
                n: i + 1,
                metric: e.metric.label().into(),
                level: if e.level == Status::Critical {
                    "🔴 Critical"
                } else {
                    "🟠 Warning"
                },
                level_key: if e.level == Status::Critical {
                    "critical"
                } else {
                    "warning"
                },
                start: clock.hms(e.start),
                end: clock.hms(e.end),
                duration: format!("{:.0} s", e.duration_s()),
                peak: format!("{} at {}", value(e.peak), clock.hms(e.peak_at)),
                bound: value(e.bound),
                status: match e.resolved_at {
                    None => "⛔ Open: still beyond at the end of the run's last window".into(),
                    Some(t) => format!("✅ Back within the bound at {}", clock.hms(t)),
                },
                open: e.open,
                pre_existing: e.pre_existing,
            }
        })
        .collect();

    // 6.2 application checks: the template's four, as recorded.
    let app_checks = {
        let recorded: Vec<(String, String, bool)> = events
            .iter()
            .filter_map(|e| match &e.event {
                Event::AppCheck {
                    check,
                    actual,
                    passed,
                } => Some((check.clone(), actual.clone(), *passed)),
                _ => None,
            })
            .collect();
        let mut rows: Vec<CheckRow> = APP_CHECKS
            .iter()
            .map(|name| {
                let found = recorded
                    .iter()
                    .find(|(c, _, _)| c.eq_ignore_ascii_case(name));
                CheckRow {
                    check: name.to_string(),
                    expected: "Yes".into(),
                    actual: found.map_or(missing.clone(), |f| f.1.clone()),
                    status: found.map_or("⬜ Not checked".into(), |f| pass_fail(f.2)),
                }
            })
            .collect();
        rows.extend(
            recorded
                .iter()
                .filter(|(c, _, _)| !APP_CHECKS.iter().any(|n| c.eq_ignore_ascii_case(n)))
                .map(|(c, a, p)| CheckRow {
                    check: c.clone(),
                    expected: "Yes".into(),
                    actual: a.clone(),
                    status: pass_fail(*p),
                }),
        );
        rows
    };

    let impact = impact_rows(data, &missing);
    let performance_notes = m.human.performance_notes.clone().unwrap_or_else(|| {
        format!(
            "{} ({}). {}",
            latency,
            l["derived_note"],
            data.reasons
                .iter()
                .find(|r| r.rule == RuleId::PostLatencyDegradation)
                .map_or(String::new(), |r| r.detail.clone())
        )
    });

    let justification = data
        .reasons
        .iter()
        .map(|r| {
            format!(
                "{} {}: {}{}",
                if r.passed { "✅" } else { "❌" },
                r.rule.requirement(),
                r.detail,
                if r.disabled {
                    " (rule disabled by the thresholds file)"
                } else {
                    ""
                }
            )
        })
        .collect();

    let unassigned = l["unassigned"].to_string();
    let no_date = "—".to_string();
    let conditions = data
        .conditions
        .iter()
        .map(|c| (c.condition.clone(), unassigned.clone(), no_date.clone()))
        .chain(
            m.human
                .conditions
                .iter()
                .map(|c| (c.condition.clone(), opt(&c.owner), opt(&c.due))),
        )
        .enumerate()
        .map(|(i, (condition, owner, due))| ConditionRow {
            n: i + 1,
            condition,
            owner,
            due,
        })
        .collect();
    let blockers = data
        .blockers
        .iter()
        .map(|b| {
            (
                format!("{}: {}", b.rule.requirement(), b.detail),
                "🔴 Critical".to_string(),
                missing.clone(),
                missing.clone(),
            )
        })
        .chain(m.human.blockers.iter().map(|b| {
            let sev = if b.severity.eq_ignore_ascii_case("critical") {
                "🔴 Critical"
            } else {
                "🟠 High"
            };
            (
                b.blocker.clone(),
                sev.to_string(),
                opt(&b.owner),
                opt(&b.target),
            )
        }))
        .enumerate()
        .map(|(i, (blocker, severity, owner, target))| BlockerRow {
            n: i + 1,
            blocker,
            severity,
            owner,
            target,
        })
        .collect();

    let approved = data.decision == Verdict::ApprovedForLimitedProd;
    let actions: Vec<ActionRow> = if m.human.actions.is_empty() {
        (if approved {
            SUGGESTED_APPROVED
        } else {
            SUGGESTED_STOP
        })
        .iter()
        .enumerate()
        .map(|(i, (priority, item))| ActionRow {
            n: i + 1,
            priority: priority.to_string(),
            item: item.to_string(),
            owner: unassigned.clone(),
            due: no_date.clone(),
            status: l["suggested"].to_string(),
        })
        .collect()
    } else {
        m.human
            .actions
            .iter()
            .enumerate()
            .map(|(i, a)| ActionRow {
                n: i + 1,
                priority: a.priority.as_deref().map(priority_mark).unwrap_or_default(),
                item: a.item.clone(),
                owner: a
                    .owner
                    .clone()
                    .filter(|o| !o.trim().is_empty())
                    .unwrap_or_else(|| unassigned.clone()),
                due: a.due.clone().unwrap_or_else(|| no_date.clone()),
                status: a.status.clone().unwrap_or_else(|| "⬜ Pending".into()),
            })
            .collect()
    };
    let actions_suggested = m.human.actions.is_empty();

    let lessons = m
        .human
        .lessons
        .iter()
        .enumerate()
        .map(|(i, x)| LessonRow {
            n: i + 1,
            what: x.what_happened.clone(),
            impact: opt(&x.impact),
            root_cause: opt(&x.root_cause),
            action: opt(&x.action_item),
        })
        .collect();
    let signoff = {
        let mut rows: Vec<SignOffRow> = ["Canary Lead", "DBA", "Tech Lead"]
            .iter()
            .map(|role| {
                let s = m
                    .human
                    .sign_off
                    .iter()
                    .find(|s| s.role.eq_ignore_ascii_case(role));
                SignOffRow {
                    role: role.to_string(),
                    name: s.map_or(missing.clone(), |s| s.name.clone()),
                    date: s.map_or(missing.clone(), |s| opt(&s.date)),
                    approval: s.map_or("⬜ Pending".into(), |s| {
                        if s.approved {
                            "✅ Approved".into()
                        } else {
                            "⬜ Pending".into()
                        }
                    }),
                    notes: s.map_or(String::new(), |s| s.notes.clone().unwrap_or_default()),
                }
            })
            .collect();
        rows.extend(
            m.human
                .sign_off
                .iter()
                .filter(|s| {
                    !["Canary Lead", "DBA", "Tech Lead"]
                        .iter()
                        .any(|r| s.role.eq_ignore_ascii_case(r))
                })
                .map(|s| SignOffRow {
                    role: s.role.clone(),
                    name: s.name.clone(),
                    date: opt(&s.date),
                    approval: if s.approved {
                        "✅ Approved".into()
                    } else {
                        "⬜ Pending".into()
                    },
                    notes: s.notes.clone().unwrap_or_default(),
                }),
        );
        rows
    };
    let doc = DocStatus {
        status: match m.human.report_status {
            Some(ReportStatus::Final) => "Final".into(),
            Some(ReportStatus::UnderReview) => "Under Review".into(),
            Some(ReportStatus::Draft) | None => "Draft".into(),
        },
        author: m
            .human
            .report_author
            .clone()
            .or_else(|| m.lead.clone())
            .unwrap_or_else(|| missing.clone()),
        date: m
            .human
            .report_date
            .clone()
            .unwrap_or_else(|| run_end.map_or(missing.clone(), |t| clock.date(t))),
    };

    let log_lines = events.iter().filter_map(|e| log_line(e, &clock)).collect();
    let links = |v: &[crate::model::Link]| -> Vec<LinkRow> {
        v.iter()
            .map(|x| LinkRow {
                name: x.name.clone(),
                url: x.url.clone(),
                notes: x.notes.clone().unwrap_or_default(),
                href: web_href(&x.url),
            })
            .collect()
    };

    ReportView {
        lang: if lang == Lang::Th { "th" } else { "en" },
        labels: l.clone(),
        tz: tz_label(tz),
        complete: data.complete,
        approved,
        decision: data.decision.key(),
        run: RunInfo {
            id: m.run_id.clone(),
            date: run_start.map_or(missing.clone(), |t| clock.date(t)),
            start: run_start.map_or(missing.clone(), |t| {
                format!("{} {}", clock.hm(t), tz_label(tz))
            }),
            end: run_end.map_or(missing.clone(), |t| {
                format!("{} {}", clock.hm(t), tz_label(tz))
            }),
            duration: duration_s.map_or(missing.clone(), hours_minutes),
            lead: opt(&m.lead),
            team,
        },
        scope,
        story: super::story::story(data, events, m, &clock, tz_label(tz)),
        exec: ExecSummary {
            index_created,
            index_text,
            rollback: rollback.occurred,
            rollback_text: rollback_text(&rollback),
            alerts: data.alerts.len(),
            incidents: data.incidents.len(),
            episodes: data.episodes.len(),
        },
        quick: QuickSummary {
            target: format!("{}.{}", m.scope.actual.table, m.target.index_name),
            duration: duration_s.map_or(missing.clone(), hours_minutes),
            latency,
            alerts: data.alerts_of(Severity::Critical),
            warnings: data.alerts_of(Severity::Warning),
        },
        target,
        ddl,
        gantt,
        phases: phase_rows,
        kill_checks,
        kill_summary,
        kill_switch_sources: [
            ("Global", &m.sources.global_kill_switch),
            ("Connection", &m.sources.connection_kill_switch),
        ]
        .into_iter()
        .filter_map(|(key, v)| {
            v.as_ref().map(|v| KeyValue {
                key,
                value: v.clone(),
            })
        })
        .collect(),
        metric_sources: m.sources.metrics.clone(),
        metric_tables,
        windows: window_lines(data, &clock),
        after_rollback: data.windows.after_rollback.is_some(),
        counts,
        assessment,
        incidents,
        episodes,
        incident_summary,
        incident_notes: m.human.incident_notes.clone(),
        rollback,
        verification,
        app_checks,
        impact,
        performance_notes,
        justification,
        conditions,
        blockers,
        actions,
        actions_suggested,
        lessons,
        signoff,
        final_notes: m.human.final_notes.clone(),
        doc,
        log_lines,
        dashboards: links(&m.human.dashboards),
        documents: links(&m.human.related_documents),
        inputs: data
            .inputs
            .iter()
            .map(|s| InputRow {
                path: s.path.clone(),
                format: s.format.clone(),
                rows: s.rows,
                bytes: s.bytes,
                sha256: s.sha256.clone(),
            })
            .collect(),
        generator: data.generator.clone(),
        thresholds_source: data.thresholds.source.clone(),
        thresholds_sha256: data.thresholds.sha256.clone(),
        warnings: data.warnings.clone(),
        charts: Vec::new(),
        significance: significance_view(data, lang),
    }
}

fn pass_fail(p: bool) -> String {
    if p {
        "✅ Pass".into()
    } else {
        "❌ Fail".into()
    }
}

/// `T+45m` style, as the template writes planned times.
fn offset_text(secs: f64) -> String {
    format!("{}m", (secs / 60.0).round() as i64)
}

pub use crate::model::counted;

/// A byte count for people, in powers of 1024: `512 B`, `810.7 MiB`.
pub fn human_bytes(b: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

fn ddl_view(m: &Manifest, events: &[EventRecord], missing: &str) -> DdlView {
    let start = events.iter().find_map(|e| match &e.event {
        Event::DdlStart { statement } => Some((unix(&e.ts), statement.clone())),
        _ => None,
    });
    let end = events.iter().find_map(|e| match &e.event {
        Event::DdlEnd {
            outcome,
            error,
            duration_s,
        } => Some((unix(&e.ts), *outcome, error.clone(), *duration_s)),
        _ => None,
    });
    let statement = start
        .as_ref()
        .map(|s| s.1.clone())
        .or_else(|| m.ddl.clone())
        .unwrap_or_else(|| missing.to_string());
    let (outcome, error, execution_time) = match (&start, &end) {
        (_, Some((t_end, outcome, error, dur))) => {
            let secs = dur.or(start.as_ref().map(|s| t_end - s.0));
            (
                match outcome {
                    DdlOutcome::Success => "success",
                    DdlOutcome::Failed => "failed",
                    DdlOutcome::Killed => "killed",
                },
                error.clone(),
                secs.map_or(missing.to_string(), duration),
            )
        }
        (Some(_), None) => ("not finished", None, missing.to_string()),
        (None, None) => ("not run", None, missing.to_string()),
    };
    DdlView {
        statement,
        outcome,
        error,
        execution_time,
    }
}

/// Whether the index was created and whether it is still there, with the
/// times the log holds: after a rollback the report does not say "Yes" in
/// the present tense of an index that was dropped.
fn index_state_text(
    events: &[EventRecord],
    clock: &Clock,
    created: bool,
    rollback: &RollbackView,
) -> String {
    if !created {
        return "❌ No".into();
    }
    let created_at = events
        .iter()
        .rev()
        .find(|e| matches!(e.event, Event::DdlEnd { .. }))
        .map(|e| clock.hms(unix(&e.ts)));
    let created = created_at.map_or("✅ Yes".to_string(), |t| format!("✅ Yes, created {t}"));
    match (rollback.succeeded, &rollback.last_seen) {
        (Some(true), Some((false, dropped))) => {
            format!("{created}; dropped {dropped} by the rollback: not in place now")
        }
        _ => created,
    }
}

/// Whether a rollback happened, told by its recorded end: a rollback that
/// did not verify the index absent did not happen, and the index is taken to
/// be where it was last seen.
fn rollback_text(r: &RollbackView) -> String {
    match (r.occurred, r.succeeded) {
        (false, _) => "No".into(),
        (true, Some(true)) => format!(
            "🔄 Yes: the index verified absent at {}",
            r.last_seen.as_ref().map_or("its end", |(_, t)| t.as_str())
        ),
        (true, done) => {
            let end = if done.is_some() {
                "attempted, NOT done"
            } else {
                "started, no end recorded"
            };
            match &r.last_seen {
                Some((true, t)) => format!(
                    "⚠️ No ({end}): the index is still there (last verified present at {t}); \
                     check the server by hand"
                ),
                _ => format!(
                    "⚠️ No ({end}): the index was never verified absent; check the server by hand"
                ),
            }
        }
    }
}

fn rollback_view(
    events: &[EventRecord],
    data: &ReportData,
    clock: &Clock,
    missing: &str,
) -> RollbackView {
    let mut v = RollbackView {
        occurred: false,
        succeeded: None,
        last_seen: None,
        trigger: missing.into(),
        reason: missing.into(),
        decided_by: missing.into(),
        decided_at: missing.into(),
        started_at: missing.into(),
        completed_at: missing.into(),
        duration: missing.into(),
        steps: Vec::new(),
        statement: missing.into(),
        show_index_sql: String::new(),
        post_checks: Vec::new(),
        post_monitoring: missing.into(),
    };
    let mut started = None;
    let mut steps: BTreeMap<u8, (String, StepStatus)> = BTreeMap::new();
    let mut checks: Vec<(String, String, bool)> = Vec::new();
    for e in events {
        let t = unix(&e.ts);
        match &e.event {
            Event::RollbackDecision {
                trigger,
                reason,
                decided_by,
            } => {
                v.occurred = true;
                v.trigger = match trigger {
                    RollbackTrigger::Automatic => "Automatic".into(),
                    RollbackTrigger::Manual => "Manual".into(),
                };
                v.reason = reason.clone();
                v.decided_by = decided_by.clone().unwrap_or_else(|| missing.into());
                v.decided_at = clock.hms(t);
            }
            Event::RollbackStart { statement } => {
                v.occurred = true;
                started = Some(t);
                v.started_at = clock.hms(t);
                if let Some(s) = statement {
                    v.statement = s.clone();
                }
            }
            Event::RollbackStep {
                step,
                actual,
                status,
            } => {
                v.occurred = true;
                steps.insert(*step, (actual.clone(), *status));
            }
            Event::Verification { index_exists, .. } => {
                v.last_seen = Some((*index_exists, clock.hms(t)));
            }
            Event::RollbackEnd { success, error } => {
                v.occurred = true;
                v.succeeded = Some(*success);
                if *success {
                    v.last_seen = Some((false, clock.hms(t)));
                }
                v.completed_at = format!(
                    "{}{}",
                    clock.hms(t),
                    if *success {
                        String::new()
                    } else {
                        format!(" (failed: {})", error.clone().unwrap_or_default())
                    }
                );
                if let Some(s) = started {
                    v.duration = duration(t - s);
                }
            }
            Event::PostRollbackCheck {
                check,
                actual,
                passed,
            } => checks.push((check.clone(), actual.clone(), *passed)),
            _ => {}
        }
    }
    if !v.occurred {
        return v;
    }
    v.steps = ROLLBACK_STEPS
        .iter()
        .enumerate()
        .map(|(i, (action, expected))| {
            let n = i as u8 + 1;
            let rec = steps.get(&n);
            StepRow {
                n,
                action,
                expected,
                actual: rec.map_or(missing.into(), |r| r.0.clone()),
                status: match rec.map(|r| r.1) {
                    Some(StepStatus::Done) => "✅ Done".into(),
                    Some(StepStatus::Failed) => "❌ Failed".into(),
                    Some(StepStatus::Skipped) => "⏭️ Skipped".into(),
                    None => "⬜ Not recorded".into(),
                },
            }
        })
        .collect();
    v.post_checks = POST_ROLLBACK_CHECKS
        .iter()
        .map(|name| {
            let found = checks.iter().find(|c| c.0.eq_ignore_ascii_case(name));
            CheckRow {
                check: name.to_string(),
                expected: "Yes".into(),
                actual: found.map_or(missing.into(), |c| c.1.clone()),
                status: found.map_or("⬜ Not verified".into(), |c| {
                    if c.2 {
                        "✅ Verified".into()
                    } else {
                        "❌ Not verified".into()
                    }
                }),
            }
        })
        .collect();
    if let Some(after) = data
        .phases
        .iter()
        .find(|p| p.phase == Phase::After)
        .and_then(|p| p.actual)
    {
        v.post_monitoring = duration(after.duration_s());
    }
    v
}

fn verification_view(
    m: &Manifest,
    events: &[EventRecord],
    clock: &Clock,
    missing: &str,
) -> VerificationView {
    let t = &m.target;
    let verified_at = events.iter().rev().find_map(|e| match &e.event {
        Event::Verification { .. } => Some(unix(&e.ts)),
        _ => None,
    });
    let dropped_at = verified_at.and_then(|v| {
        events.iter().find_map(|e| match &e.event {
            Event::RollbackEnd { success: true, .. } if unix(&e.ts) >= v => Some(unix(&e.ts)),
            _ => None,
        })
    });
    let zone = tz_label(clock.tz);
    let when = verified_at.map(|v| match dropped_at {
        Some(d) => format!(
            "Verified at {} ({zone}). The rollback dropped the index at {}: these checks tell \
             the index as it was then; it is not in place now.",
            clock.hms(v),
            clock.hms(d)
        ),
        None => format!("Verified at {} ({zone}).", clock.hms(v)),
    });
    let rec = events.iter().rev().find_map(|e| match &e.event {
        Event::Verification {
            index_exists,
            columns,
            index_type,
            explain_type,
            explain_key,
            explain_query,
            show_index_output,
            explain_output,
        } => Some((
            *index_exists,
            columns.clone(),
            index_type.clone(),
            explain_type.clone(),
            explain_key.clone(),
            explain_query.clone(),
            show_index_output.clone(),
            explain_output.clone(),
        )),
        _ => None,
    });
    let show_index_sql = format!(
        "SHOW INDEX FROM {} WHERE Key_name = '{}';",
        m.scope.actual.table, t.index_name
    );
    let Some((exists, columns, itype, etype, ekey, query, show_out, explain_out)) = rec else {
        return VerificationView {
            recorded: false,
            when: None,
            rows: [
                "Index exists in SHOW INDEX",
                "Index usable by query",
                "Correct columns",
                "Correct index type",
            ]
            .iter()
            .map(|c| CheckRow {
                check: c.to_string(),
                expected: "Yes".into(),
                actual: missing.into(),
                status: "⬜ Not verified".into(),
            })
            .collect(),
            show_index_sql,
            show_index_output: missing.into(),
            explain_query: format!(
                "EXPLAIN SELECT * FROM {} WHERE {} = 'value';",
                m.scope.actual.table,
                t.columns.first().map_or("?", |c| c.as_str())
            ),
            explain_output: missing.into(),
        };
    };
    // The same checks the `index_verified` rule makes.
    let checks = crate::judge::rules::IndexChecks::of(
        t,
        &crate::judge::rules::Verification {
            index_exists: exists,
            columns: columns.clone(),
            index_type: itype.clone(),
            explain_type: etype.clone(),
            explain_key: ekey.clone(),
        },
    );
    let (usable, same_cols, type_ok) = (checks.usable, checks.same_columns, checks.right_type);
    VerificationView {
        recorded: true,
        when,
        rows: vec![
            CheckRow {
                check: "Index exists in SHOW INDEX".into(),
                expected: "Yes".into(),
                actual: if exists { "Yes".into() } else { "No".into() },
                status: pass_fail(exists),
            },
            CheckRow {
                check: "Index usable by query".into(),
                expected: "Yes (type ref/range)".into(),
                actual: format!(
                    "type={}, key={}",
                    etype.as_deref().unwrap_or("?"),
                    ekey.as_deref().unwrap_or("NULL")
                ),
                status: pass_fail(usable),
            },
            CheckRow {
                check: "Correct columns".into(),
                expected: t.columns.join(", "),
                actual: if columns.is_empty() {
                    missing.into()
                } else {
                    columns.join(", ")
                },
                status: pass_fail(same_cols),
            },
            CheckRow {
                check: "Correct index type".into(),
                expected: t.index_type.clone(),
                actual: itype.unwrap_or_else(|| missing.into()),
                status: pass_fail(type_ok),
            },
        ],
        show_index_sql,
        show_index_output: show_out.unwrap_or_else(|| missing.into()),
        explain_query: query
            .map(|q| format!("EXPLAIN {q}"))
            .unwrap_or_else(|| missing.into()),
        explain_output: explain_out.unwrap_or_else(|| missing.into()),
    }
}

/// 6.3, derived from the numbers.
fn impact_rows(data: &ReportData, missing: &str) -> Vec<ImpactRow> {
    let post_delta = |id: MetricId| data.metric(id).and_then(|r| r.verdict.post_delta_pct);
    let during_delta = |id: MetricId| data.metric(id).and_then(|r| r.verdict.during_delta_pct);
    let query =
        post_delta(MetricId::QueryLatencyP99Ms).or(post_delta(MetricId::RequestLatencyP99Ms));
    let query_row = ImpactRow {
        aspect: "Query Performance",
        assessment: match query {
            Some(d) if d <= -5.0 => "Improved".into(),
            Some(d) if d < 5.0 => "No Change".into(),
            Some(_) => "Degraded".into(),
            None => missing.into(),
        },
        notes: query.map_or(String::new(), |d| {
            format!("P99 latency after the change {d:+.1}% against the baseline")
        }),
    };
    let write = during_delta(MetricId::ThroughputRps);
    let lock = data.metric(MetricId::LockWaitTimeS).map(|r| r.status);
    let write_row = ImpactRow {
        aspect: "Write Performance",
        assessment: match (write, lock) {
            (Some(d), _) if d <= -20.0 => "Significant Impact".into(),
            (_, Some(Status::Critical)) => "Significant Impact".into(),
            (Some(d), _) if d <= -5.0 => "Minor Impact".into(),
            (_, Some(Status::Warning)) => "Minor Impact".into(),
            (Some(_), _) | (None, Some(Status::Ok)) => "No Impact".into(),
            _ => missing.into(),
        },
        notes: write.map_or(String::new(), |d| {
            format!("throughput during the DDL {d:+.1}% against the baseline")
        }),
    };
    let system_worst = data
        .metrics
        .iter()
        .filter(|r| r.category == Category::System)
        .map(|r| r.status)
        .max()
        .unwrap_or(Status::NoData);
    let resource_row = ImpactRow {
        aspect: "Resource Usage",
        assessment: match system_worst {
            Status::Ok => "Acceptable".into(),
            Status::Warning => "High but OK".into(),
            Status::Critical => "Too High".into(),
            Status::NoData => missing.into(),
        },
        notes: format!("worst system metric status: {}", system_worst.key()),
    };
    let overall_row = ImpactRow {
        aspect: "Overall Impact",
        assessment: match (data.approved(), query) {
            (true, Some(d)) if d <= -5.0 => "Positive".into(),
            (true, _) => "Neutral".into(),
            (false, _) => "Negative".into(),
        },
        notes: format!("decision {}", data.decision.key()),
    };
    vec![query_row, write_row, resource_row, overall_row]
}

fn log_line(e: &EventRecord, clock: &Clock) -> Option<String> {
    let t = clock.hms(unix(&e.ts));
    let (level, msg) = match &e.event {
        Event::Log { level, message } => (level.clone(), message.clone()),
        Event::PhaseStart { phase } => ("INFO".into(), format!("{} started", phase.label())),
        Event::PhaseEnd { phase, status } => (
            if *status == PhaseStatus::Done {
                "INFO"
            } else {
                "WARN"
            }
            .into(),
            format!("{} ended ({:?})", phase.label(), status).replace("(Done)", "(done)"),
        ),
        Event::DdlStart { statement } => ("INFO".into(), format!("Executing: {statement}")),
        Event::DdlEnd { outcome, error, .. } => (
            if *outcome == DdlOutcome::Success {
                "INFO"
            } else {
                "ERROR"
            }
            .into(),
            format!(
                "DDL {}{}",
                match outcome {
                    DdlOutcome::Success => "succeeded",
                    DdlOutcome::Failed => "failed",
                    DdlOutcome::Killed => "killed",
                },
                error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
            ),
        ),
        Event::Incident {
            severity,
            description,
            ..
        } => (
            match severity {
                Severity::Critical => "ERROR",
                Severity::Warning => "WARN",
                Severity::Info => "INFO",
            }
            .into(),
            format!("Incident: {description}"),
        ),
        Event::RollbackDecision { reason, .. } => {
            ("WARN".into(), format!("Rollback decided: {reason}"))
        }
        Event::RollbackEnd { success, .. } => (
            if *success { "INFO" } else { "ERROR" }.into(),
            if *success {
                "Rollback completed".into()
            } else {
                "Rollback FAILED".into()
            },
        ),
        Event::RunEnd { status } => (
            "INFO".into(),
            format!("Canary run ended: {}", format!("{status:?}").to_lowercase()),
        ),
        Event::Alert { name, severity, .. } => {
            ("WARN".into(), format!("Alert fired: {name} ({severity:?})"))
        }
        _ => return None,
    };
    Some(format!("[{t}] {level} - {msg}"))
}

/// Section 3.6, Statistical comparison.
#[derive(Debug, Serialize, Clone)]
pub struct SignificanceView {
    /// How the comparison is made, one paragraph.
    pub method: String,
    /// One row per metric and window that could be tested.
    pub rows: Vec<SignificanceRow>,
    /// Significant worsenings the bounds did not flag.
    pub notes: Vec<String>,
    /// Metrics not judged (too few samples, all zero, constant), one line each.
    pub sparse: Vec<String>,
    /// Metrics without data in the baseline or both windows.
    pub no_data: Vec<String>,
}

#[derive(Debug, Serialize, Clone)]
pub struct SignificanceRow {
    pub label: String,
    pub window: String,
    /// `baseline n / window n`.
    pub n: String,
    /// Hodges-Lehmann shift with its interval.
    pub shift: String,
    pub p: String,
    /// Rank-biserial r.
    pub effect: String,
    pub result: String,
}

/// A shift: signed, and in percentage points for a percentage.
fn signed_with_unit(v: f64, unit: &str) -> String {
    let n = if unit == "%" {
        format!("{} pp", num(v))
    } else {
        with_unit(v, unit)
    };
    if v > 0.0 { format!("+{n}") } else { n }
}

/// The view of section 3.6.
pub fn significance_view(data: &ReportData, lang: Lang) -> SignificanceView {
    use crate::judge::significance::{ALPHA, CONFIDENCE, MIN_EFFECT, MIN_SAMPLES, Outcome, fmt_p};
    let method = format!(
        "{}Baseline against each window by the two-sided Mann-Whitney U test (tie-corrected; \
         exact for small samples without ties), over the samples the windows are summarised from \
         (raw per-query samples for latency). Shift: Hodges-Lehmann estimate with its {:.0}% \
         interval. Effect: rank-biserial r (+ when the window is higher). Significant: p < {} and \
         |r| ≥ {}. Windows with fewer than {} samples, or only zeros, are not judged.",
        if lang == Lang::Th {
            "(เปรียบเทียบเชิงสถิติ ไม่ใช่เกณฑ์ตัดสิน เว้นแต่ไฟล์ thresholds กำหนด significance_blocks) "
        } else {
            "(Statistics, not a judgement unless the thresholds file sets significance_blocks.) "
        },
        CONFIDENCE * 100.0,
        ALPHA,
        MIN_EFFECT,
        MIN_SAMPLES
    );
    let mut view = SignificanceView {
        method,
        rows: Vec::new(),
        notes: Vec::new(),
        sparse: Vec::new(),
        no_data: Vec::new(),
    };
    for m in &data.metrics {
        let Some(sig) = &m.significance else {
            continue;
        };
        let windows = sig.windows();
        if windows.iter().all(|w| w.outcome == Outcome::NoData) {
            view.no_data.push(m.label.clone());
            continue;
        }
        let mut untested = Vec::new();
        for w in windows {
            match (&w.test, w.outcome) {
                (Some(t), Outcome::Tested) => {
                    let hl = &t.hodges_lehmann;
                    let result = if w.worsening && sig.blocks {
                        "⛔ significantly worse (blocks)".to_string()
                    } else if w.worsening {
                        "⚠️ significantly worse".to_string()
                    } else if w.significant {
                        format!(
                            "significantly {}",
                            if t.rank_biserial > 0.0 {
                                "higher"
                            } else {
                                "lower"
                            }
                        )
                    } else {
                        "no significant shift".to_string()
                    };
                    view.rows.push(SignificanceRow {
                        label: m.label.clone(),
                        window: w.window.key().to_string(),
                        n: format!("{} / {}", w.n_baseline, w.n_window),
                        shift: format!(
                            "{} [{}, {}]{}",
                            signed_with_unit(hl.shift, &m.unit),
                            signed_with_unit(hl.ci_low, &m.unit),
                            signed_with_unit(hl.ci_high, &m.unit),
                            t.test_subsample
                                .or(t.hl_subsample)
                                .map(|s| format!(" (subsample of {} / {})", s.baseline, s.window))
                                .unwrap_or_default()
                        ),
                        p: fmt_p(t.p_value),
                        effect: format!("{:+.2}", t.rank_biserial),
                        result,
                    });
                    if let Some(n) = &w.note {
                        view.notes.push(n.clone());
                    }
                }
                _ => untested.push(format!(
                    "{}: {}",
                    w.window.key(),
                    w.reason.as_deref().unwrap_or("not tested")
                )),
            }
        }
        if !untested.is_empty() {
            view.sparse
                .push(format!("{} ({})", m.label, untested.join("; ")));
        }
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_told_in_the_terms_the_metric_is_judged_in() {
        // A percentage with an absolute bound: percentage points.
        assert_eq!(
            change_text(24.2, 54.8, 126.4, "%", BoundKind::Above),
            "+30.6 pp"
        );
        assert_eq!(
            change_text(99.4, 98.2, -1.2, "%", BoundKind::Below),
            "-1.20 pp"
        );
        // A near-zero baseline with an absolute bound: the difference.
        assert_eq!(
            change_text(1.06, 49.6, 4557.5, "s", BoundKind::Above),
            "+48.5 s"
        );
        // A relative bound: relative, as it is judged.
        assert_eq!(
            change_text(7.91, 23.75, 200.1, "ms", BoundKind::IncreasePct),
            "+200.1%"
        );
    }
    use crate::model::parse_offset;

    #[test]
    fn counts_and_sizes_read_like_english() {
        assert_eq!(counted(1, "file"), "1 file");
        assert_eq!(counted(0, "problem"), "0 problems");
        assert_eq!(counted(3, "run"), "3 runs");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(850_090_733), "810.7 MiB");
        assert_eq!(human_bytes(4 * 1024 * 1024 * 1024), "4.0 GiB");
    }

    #[test]
    fn offsets_parse_like_the_template_writes_them() {
        assert_eq!(parse_offset("+07:00").unwrap().local_minus_utc(), 7 * 3600);
        assert_eq!(parse_offset("UTC+7").unwrap().local_minus_utc(), 7 * 3600);
        assert_eq!(
            parse_offset("-05:30").unwrap().local_minus_utc(),
            -(5 * 3600 + 30 * 60)
        );
        assert_eq!(parse_offset("Z").unwrap().local_minus_utc(), 0);
        assert!(parse_offset("Asia/Bangkok").is_none());
        assert!(parse_offset("+99999999:00").is_none());
        assert!(parse_offset("+07:75").is_none());
        assert_eq!(tz_label(parse_offset("+07:00").unwrap()), "UTC+7");
    }

    #[test]
    fn thresholds_read_like_the_template() {
        assert_eq!(
            threshold_text(BoundKind::Above, Some(70.0), Some(85.0), "%"),
            "Warning: >70%, Critical: >85%"
        );
        assert_eq!(
            threshold_text(BoundKind::IncreasePct, Some(20.0), Some(50.0), "ms"),
            "Warning: >20% increase, Critical: >50% increase"
        );
        assert_eq!(threshold_text(BoundKind::None, None, None, "count"), "-");
    }
}
