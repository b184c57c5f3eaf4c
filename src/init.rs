//! `init RUN`: a run directory skeleton to fill in.
//!
//! Writes `manifest.json` with every field set to an example value that says
//! what belongs there, a `README.md` explaining each field (JSON has no
//! comments), `events.jsonl` with example `log` lines, and an empty
//! `metrics/` holding a short README. `build` on the skeleton gives
//! STOP_AND_FIX with its reasons (nothing has run), never an error. A
//! directory that exists and is not empty is refused.

use crate::error::InputError;
use chrono::{DateTime, Duration, DurationRound, SecondsFormat, Utc};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The files `init` writes, relative to the run directory, with their contents.
pub fn skeleton(run_id: &str, now: DateTime<Utc>) -> Vec<(PathBuf, String)> {
    let start = now.duration_trunc(Duration::hours(1)).unwrap_or(now) + Duration::hours(1);
    let ts = |d: DateTime<Utc>| d.to_rfc3339_opts(SecondsFormat::Secs, true);
    let phases: Vec<_> = [
        ("precheck", 0, 30),
        ("readiness", 30, 15),
        ("baseline", 45, 5),
        ("execute", 50, 5),
        ("monitoring", 55, 60),
        ("after", 115, 5),
        ("analysis", 120, 30),
    ]
    .into_iter()
    .map(|(phase, offset_min, duration_min)| {
        json!({"phase": phase, "offset_min": offset_min, "duration_min": duration_min})
    })
    .collect();
    let manifest = json!({
        "schema_version": 1,
        "run_id": run_id,
        "lead": "EXAMPLE Canary Lead: the person who runs the canary",
        "team": [
            {"name": "EXAMPLE name of the DBA", "role": "DBA"},
            {"name": "EXAMPLE name of the SRE", "role": "SRE"},
            {"name": "EXAMPLE name of the developer", "role": "Developer"}
        ],
        "scope": {
            "planned": {
                "tenant": "1 tenant",
                "connection": "1 connection",
                "table": "1 table",
                "operation": "ADD_INDEX",
                "time_window": "Off-peak"
            },
            "actual": {
                "tenant": "tenant-0042",
                "connection": "mysql-t42-primary-01",
                "database": "shop_t42",
                "table": "orders_t42",
                "operation": "ADD_INDEX",
                "window_start": ts(start),
                "window_end": ts(start + Duration::minutes(150))
            }
        },
        "target": {
            "engine": "InnoDB",
            "rows": 1_200_000,
            "data_size_bytes": 524_288_000u64,
            "index_name": "idx_orders_customer_created",
            "columns": ["customer_id", "created_at"],
            "index_type": "BTREE"
        },
        "ddl": "ALTER TABLE shop_t42.orders_t42 ADD INDEX idx_orders_customer_created (customer_id, created_at), ALGORITHM=INPLACE, LOCK=NONE",
        "plan": {
            "start": ts(start),
            "phases": phases,
            "kill_switch_checkpoints": crate::model::Plan::template_checkpoints()
        },
        "display_timezone": "+07:00",
        "max_connections": 500,
        "human": {
            "sign_off": [
                {"role": "Canary Lead", "name": "EXAMPLE name", "date": "EXAMPLE 2026-11-20", "approved": false,
                 "notes": "EXAMPLE: set approved to true only after reading the report"},
                {"role": "DBA", "name": "EXAMPLE name", "date": "EXAMPLE 2026-11-20", "approved": false,
                 "notes": "EXAMPLE: notes of the DBA"},
                {"role": "Tech Lead", "name": "EXAMPLE name", "date": "EXAMPLE 2026-11-20", "approved": false,
                 "notes": "EXAMPLE: notes of the Tech Lead"}
            ],
            "conditions": [
                {"condition": "EXAMPLE: a condition of the approval that people add (the rules derive others)",
                 "owner": "EXAMPLE owner", "due": "EXAMPLE 2026-11-27"}
            ],
            "blockers": [
                {"blocker": "EXAMPLE: a blocker people add (the rules derive others); delete this entry",
                 "severity": "High", "owner": "EXAMPLE owner", "target": "EXAMPLE 2026-11-27"}
            ],
            "lessons": [
                {"what_happened": "EXAMPLE: what happened", "impact": "EXAMPLE: its impact",
                 "root_cause": "EXAMPLE: why", "action_item": "EXAMPLE: what to do next time"}
            ],
            "dashboards": [
                {"name": "EXAMPLE MySQL Overview", "url": "https://grafana.example.com/d/mysql-overview",
                 "notes": "EXAMPLE: the dashboard watched during the canary"}
            ],
            "related_documents": [
                {"name": "EXAMPLE change request", "url": "https://wiki.example.com/change/1234",
                 "notes": "EXAMPLE: the approved change"}
            ],
            "incident_notes": "EXAMPLE: free text for section 4.2",
            "performance_notes": "EXAMPLE: free text for section 6.3",
            "final_notes": "EXAMPLE: free text for section 9.2",
            "report_status": "Draft",
            "report_author": "EXAMPLE name of the report's author",
            "report_date": "EXAMPLE 2026-11-20"
        }
    });
    let mut manifest_text = serde_json::to_string_pretty(&manifest).expect("a literal serializes");
    manifest_text.push('\n');

    let now_s = ts(now);
    let events = [
        json!({"ts": now_s, "type": "log", "level": "INFO",
               "message": format!("EXAMPLE: run directory {run_id} created by canary-report init")}),
        json!({"ts": now_s, "type": "log", "level": "INFO",
               "message": "EXAMPLE: replace these lines with the execution log, one JSON event per line in time order (README.md lists every type)"}),
        json!({"ts": now_s, "type": "log", "level": "WARN",
               "message": "EXAMPLE: until then the report says STOP_AND_FIX: nothing has run"}),
    ];
    let events_text: String = events.iter().map(|e| format!("{e}\n")).collect();

    vec![
        (PathBuf::from("manifest.json"), manifest_text),
        (PathBuf::from("events.jsonl"), events_text),
        (PathBuf::from("README.md"), readme(run_id)),
    ]
}

/// What `metrics/` takes, for the skeleton's README (the names from the
/// one list the reader accepts).
fn metrics_section() -> String {
    format!(
        "## `metrics/`\n\n\
Time series and raw latency samples, read by `canary-report build` (optional):\n\n\
- `*.csv`: long CSV, a header naming `timestamp,metric,value` (any order; other columns are\n  \
labels), one sample per row; or a Grafana \"Download CSV\" export.\n\
- `*.json`: a Prometheus `/api/v1/query_range` response, named after its metric when the\n  \
series has no usable `__name__`.\n\
- `*.sysbench.log`: sysbench's `--report-interval` output (its start time in `mapping.toml`).\n\n\
Accepted metric names: {}.\n\n\
Other files are skipped with a warning. Record from the baseline phase's start to the after\n\
phase's end; a 5 s interval is plenty. The full contract: `docs/run-directory.md` in\n\
canary-report's repository.\n",
        crate::model::InputMetric::accepted_names()
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn readme(run_id: &str) -> String {
    format!(
        "# Run directory `{run_id}`\n\n\
Made by `canary-report init`. Fill it in, then check and build it:\n\n\
```sh\n\
canary-report validate {run_id}     # every problem, with file, line and field\n\
canary-report build {run_id}        # report.md and summary.json in {run_id}/report/\n\
```\n\n\
Until the canary has run, `build` decides STOP_AND_FIX and says why. Every value\n\
starting with `EXAMPLE` is a placeholder: replace it or delete the field (only\n\
`run_id`, `scope.actual`, `target` and `plan.start` are required).\n\n\
## Files\n\n\
| File | What |\n|---|---|\n\
| `manifest.json` | What the canary was meant to do, and who did it (required). |\n\
| `events.jsonl` | The execution log: one JSON event per line, in time order (required; may be empty). |\n\
| `metrics/` | Time series and raw latency samples (optional): see below. |\n\n\
## `manifest.json`, field by field\n\n\
| Field | Meaning |\n|---|---|\n\
| `schema_version` | Version of this format: `1`. |\n\
| `run_id` | **Required.** The canary's id, e.g. `CANARY-EXEC-V1-001`; it names the report. |\n\
| `lead` | The Canary Lead. |\n\
| `team[]` | `{{name, role}}`: everyone on the canary; `role` is DBA, SRE, Developer, ... |\n\
| `scope.planned` | The template's \"Planned\" column: `tenant`, `connection`, `table`, `operation`, `time_window`. The values given are the template's defaults. |\n\
| `scope.actual` | **Required.** What ran: `tenant` and `connection` (ids), `database`, `table`, `operation` (`ADD_INDEX`). |\n\
| `scope.actual.window_start`, `window_end` | When the canary actually ran (RFC 3339). Delete them to take the times from the events. |\n\
| `target.engine` | Storage engine: InnoDB, MyISAM, ... |\n\
| `target.rows`, `target.data_size_bytes` | The table's size before the change. |\n\
| `target.index_name` | **Required.** The index the canary adds. |\n\
| `target.columns` | **Required.** Its columns, in order; verification compares against them. |\n\
| `target.index_type` | Expected index type; `BTREE` unless said otherwise. |\n\
| `ddl` | The DDL as planned (the executed one comes from the `ddl_start` event). |\n\
| `plan.start` | **Required.** T+0, when the pre-check is planned to start (RFC 3339 with an offset). |\n\
| `plan.phases[]` | `{{phase, offset_min, duration_min}}`: the planned phases, minutes after T+0. The values given are the template's plan; delete the field to keep it. Phases: `precheck`, `readiness`, `baseline`, `execute`, `verification`, `monitoring`, `after`, `analysis`. |\n\
| `plan.kill_switch_checkpoints[]` | The checkpoints the plan checks, by the `checkpoint` name of their `kill_switch_check` events (the template's seven are given). Each is reported checked, failed or not reached; without the field only the checks that ran are judged. |\n\
| `plan.no_kill_switch` | `true` when the team has no kill switch and says so (`capture --no-kill-switch`): no check is expected, the kill switch rule passes without one and an approval carries the condition. `plan.kill_switch_checkpoints` must then be empty. |\n\
| `display_timezone` | `±HH:MM` offset for times in the report; default `+07:00`. |\n\
| `max_connections` | The server's `max_connections`; active connections are judged as a share of it (no bound without it). |\n\
| `human.sign_off[]` | `{{role, name, date, approved, notes}}`: section 9.1; `approved` stays `false` until the person signs. |\n\
| `human.conditions[]` | `{{condition, owner, due}}`: conditions of an approval, added to those the rules derive (7.3). |\n\
| `human.actions[]` | `{{item, priority, owner, due, status}}`: the action items of section 8. Without any, the report lists the template's follow-ups as suggestions, with no owner and no date: it never invents who does what by when. |\n\
| `human.blockers[]` | `{{blocker, severity, owner, target}}`: blockers, added to those the rules derive (7.4); `severity` Critical or High. |\n\
| `human.lessons[]` | `{{what_happened, impact, root_cause, action_item}}`: lessons learned (8.3). |\n\
| `human.dashboards[]`, `human.related_documents[]` | `{{name, url, notes}}`: appendices B and C. |\n\
| `human.incident_notes`, `performance_notes`, `final_notes` | Free text for 4.2, 6.3 and 9.2. |\n\
| `human.report_status` | `Draft`, `Under Review` or `Final`. |\n\
| `human.report_author`, `human.report_date` | Document control (9.3). |\n\n\
## `events.jsonl`, one line per event\n\n\
Every line has `ts` (RFC 3339) and `type`. The example lines of the skeleton are\n\
`log` events; the executor (or `canary-report capture`) writes the others:\n\n\
```json\n\
{{\"ts\":\"2026-11-20T19:45:00.250Z\",\"type\":\"phase_start\",\"phase\":\"baseline\"}}\n\
{{\"ts\":\"2026-11-20T19:50:00.100Z\",\"type\":\"phase_end\",\"phase\":\"baseline\",\"status\":\"done\"}}\n\
{{\"ts\":\"2026-11-20T19:50:00.874Z\",\"type\":\"kill_switch_check\",\"checkpoint\":\"Pre-execution\",\"global\":\"off\",\"connection\":\"off\",\"response_ms\":111.8}}\n\
{{\"ts\":\"2026-11-20T19:50:01.602Z\",\"type\":\"ddl_start\",\"statement\":\"ALTER TABLE shop_t42.orders_t42 ADD INDEX ...\"}}\n\
{{\"ts\":\"2026-11-20T19:54:29.951Z\",\"type\":\"ddl_end\",\"outcome\":\"success\",\"duration_s\":268.35}}\n\
{{\"ts\":\"2026-11-20T19:53:45Z\",\"type\":\"incident\",\"severity\":\"info\",\"description\":\"...\",\"action\":\"...\",\"resolution\":\"...\",\"status\":\"resolved\"}}\n\
{{\"ts\":\"2026-11-20T19:52:45Z\",\"type\":\"alert\",\"name\":\"MySQLDiskWriteHigh\",\"severity\":\"warning\",\"message\":\"...\"}}\n\
{{\"ts\":\"2026-11-24T20:11:46Z\",\"type\":\"rollback_decision\",\"trigger\":\"automatic\",\"reason\":\"...\"}}\n\
{{\"ts\":\"2026-11-24T20:11:46.400Z\",\"type\":\"rollback_start\",\"statement\":\"ALTER TABLE ... DROP INDEX ...\"}}\n\
{{\"ts\":\"2026-11-24T20:11:48.100Z\",\"type\":\"rollback_step\",\"step\":3,\"actual\":\"Query OK\",\"status\":\"done\"}}\n\
{{\"ts\":\"2026-11-24T20:11:49.600Z\",\"type\":\"rollback_end\",\"success\":true}}\n\
{{\"ts\":\"2026-11-24T20:11:50.400Z\",\"type\":\"post_rollback_check\",\"check\":\"Index removed\",\"actual\":\"Empty set\",\"passed\":true}}\n\
{{\"ts\":\"2026-11-20T19:54:32.190Z\",\"type\":\"verification\",\"index_exists\":true,\"columns\":[\"customer_id\",\"created_at\"],\"index_type\":\"BTREE\",\"explain_type\":\"ref\",\"explain_key\":\"idx_orders_customer_created\"}}\n\
{{\"ts\":\"2026-11-20T19:54:39.004Z\",\"type\":\"app_check\",\"check\":\"Application responds normally\",\"actual\":\"200 OK\",\"passed\":true}}\n\
{{\"ts\":\"2026-11-20T21:02:35.200Z\",\"type\":\"run_end\",\"status\":\"completed\"}}\n\
{{\"ts\":\"2026-11-20T19:50:01.582Z\",\"type\":\"log\",\"level\":\"INFO\",\"message\":\"Executing ADD INDEX statement...\"}}\n\
```\n\n\
The full contract, with every field of every event: `docs/run-directory.md` in\n\
canary-report's repository; JSON Schemas in its `schemas/`.\n\n{}",
        metrics_section()
    )
}

/// Writes the skeleton into `dir`, creating it. Refuses a directory that
/// exists and is not empty, or a path that is not a directory.
pub fn init(dir: &Path, now: DateTime<Utc>) -> anyhow::Result<Vec<PathBuf>> {
    if dir.exists() {
        if !dir.is_dir() {
            return Err(
                InputError::invalid(dir, None, None, "exists and is not a directory").into(),
            );
        }
        let mut entries = std::fs::read_dir(dir).map_err(|source| InputError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        if entries.next().is_some() {
            return Err(InputError::invalid(
                dir,
                None,
                None,
                "not empty: init writes only into a new or empty directory, and overwrites nothing",
            )
            .into());
        }
    }
    let run_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty() && n != "." && n != "..")
        .unwrap_or_else(|| "CANARY-EXEC-V1-001".into());
    let files = skeleton(&run_id, now);
    let mut written = Vec::new();
    for (rel, text) in files {
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    // An empty metrics/ for the samples: the notes on it are in README.md, so
    // that nothing in it is a file build would skip with a warning.
    let metrics = dir.join("metrics");
    std::fs::create_dir_all(&metrics)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", metrics.display()))?;
    written.push(metrics);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_skeleton_parses_as_a_run() {
        let now = "2026-11-20T18:12:34Z".parse().unwrap();
        let files = skeleton("run-042", now);
        let manifest = &files[0].1;
        let m =
            crate::ingest::parse_manifest(Path::new("manifest.json"), manifest.as_bytes()).unwrap();
        assert_eq!(m.run_id, "run-042");
        assert_eq!(m.plan.start.to_rfc3339(), "2026-11-20T19:00:00+00:00");
        assert_eq!(m.plan.phases, crate::model::PlannedPhase::template_plan());
        let events = &files[1].1;
        let log =
            crate::ingest::parse_events(Path::new("events.jsonl"), events.as_bytes()).unwrap();
        assert_eq!(log.records.len(), 3);
        assert!(log.warnings.is_empty(), "{:?}", log.warnings);
        // Every event example of the README parses too.
        let readme = &files[2].1;
        let json_block = readme
            .split("```json\n")
            .nth(1)
            .and_then(|s| s.split("```").next())
            .unwrap();
        let examples = crate::ingest::parse_events(Path::new("README.md"), json_block.as_bytes());
        let examples = match examples {
            Ok(l) => l.records.len(),
            // the examples are not in time order: check line by line
            Err(_) => json_block
                .lines()
                .map(|l| {
                    crate::ingest::parse_events(Path::new("README.md"), l.as_bytes())
                        .unwrap_or_else(|e| panic!("{l}: {e}"))
                        .records
                        .len()
                })
                .sum(),
        };
        assert_eq!(examples, 16);
    }
}
