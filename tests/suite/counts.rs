//! Every count a report shows is the length of one list of the run's
//! `Judgement` (alerts, incidents, breach episodes, verdicts, kill switch
//! checkpoints) or of a filter of one: read back from report.md, report.html
//! and summary.json of both samples, the shared real example (rolled back)
//! and run-002 (rolled back), and compared with the lists.

use super::samples::build;
use canary_report::judge::Judgement;
use canary_report::judge::checkpoints::CheckpointState;
use canary_report::judge::classify::Status;
use canary_report::model::Severity;
use regex::Regex;
use serde_json::Value;
use std::path::Path;

const RUNS: [&str; 3] = [
    "samples/run-001",
    "samples/run-002",
    "tests/fixtures/real-example",
];

fn judgement_of(run: &str) -> Judgement {
    let data = canary_report::ingest::read_run(Path::new(run)).unwrap();
    let th = canary_report::build::load_thresholds(None).unwrap();
    canary_report::build::judge(&data, th).judgement
}

/// The text of a report with the markup that differs between Markdown and
/// HTML taken out: tags and table bars become ` | `, emphasis goes.
fn plain(report: &str) -> String {
    let tags = Regex::new(r"</?[a-zA-Z][^>]*>").unwrap();
    let bars = Regex::new(r"\s*(\|\s*)+").unwrap();
    let text = tags.replace_all(report, " | ").replace("**", "");
    bars.replace_all(&text, " | ").into_owned()
}

/// The numbers captured by `pattern` (each group), wherever it matches.
fn numbers(text: &str, pattern: &str) -> Vec<Vec<usize>> {
    Regex::new(pattern)
        .unwrap()
        .captures_iter(text)
        .map(|c| {
            c.iter()
                .skip(1)
                .map(|g| g.unwrap().as_str().parse().unwrap())
                .collect()
        })
        .collect()
}

/// `pattern` matches at least once in `text`, and every match reads `want`.
fn assert_reads(text: &str, what: &str, pattern: &str, want: &[usize]) {
    let found = numbers(text, pattern);
    assert!(!found.is_empty(), "{what}: `{pattern}` not found");
    for f in found {
        assert_eq!(f, want, "{what}: `{pattern}`");
    }
}

struct Lists {
    alerts: usize,
    alerts_critical: usize,
    alerts_warning: usize,
    incidents: usize,
    incidents_critical: usize,
    incidents_warning: usize,
    incidents_info: usize,
    incidents_open: usize,
    episodes: usize,
    episodes_critical: usize,
    episodes_open: usize,
    /// Critical episodes open at the end and not pre-existing (rule 3).
    episodes_open_critical: usize,
    metrics: usize,
    metrics_in: [usize; 4],
    checks_run: usize,
    planned: usize,
    not_reached: usize,
}

fn lists(j: &Judgement) -> Lists {
    let alerts = |s: Severity| j.alerts.iter().filter(|a| a.severity == s).count();
    let incidents = |s: Severity| j.incidents.iter().filter(|i| i.severity == s).count();
    let status = |s: Status| j.verdicts.iter().filter(|v| v.status == s).count();
    let cps = &j.facts.checkpoints;
    Lists {
        alerts: j.alerts.len(),
        alerts_critical: alerts(Severity::Critical),
        alerts_warning: alerts(Severity::Warning),
        incidents: j.incidents.len(),
        incidents_critical: incidents(Severity::Critical),
        incidents_warning: incidents(Severity::Warning),
        incidents_info: incidents(Severity::Info),
        incidents_open: j.incidents.iter().filter(|i| !i.resolved).count(),
        episodes: j.episodes.len(),
        episodes_critical: j
            .episodes
            .iter()
            .filter(|e| e.level == Status::Critical)
            .count(),
        episodes_open: j.episodes.iter().filter(|e| e.open).count(),
        episodes_open_critical: j
            .episodes
            .iter()
            .filter(|e| e.open && e.level == Status::Critical && !e.pre_existing)
            .count(),
        metrics: j.verdicts.len(),
        metrics_in: [
            status(Status::Ok),
            status(Status::Warning),
            status(Status::Critical),
            status(Status::NoData),
        ],
        checks_run: cps
            .iter()
            .filter(|c| c.state != CheckpointState::NotReached)
            .count(),
        planned: cps.iter().filter(|c| c.planned).count(),
        not_reached: cps
            .iter()
            .filter(|c| c.state == CheckpointState::NotReached)
            .count(),
    }
}

/// The counts both renderings show, each against its list.
fn assert_report_counts(text: &str, l: &Lists, what: &str) {
    let n = l.metrics;
    let [ok, warning, critical, no_data] = l.metrics_in;
    // 1.3
    assert_reads(text, what, r"Alerts Fired \(logged\) \| (\d+)", &[l.alerts]);
    assert_reads(text, what, r"Incidents \(logged\) \| (\d+)", &[l.incidents]);
    assert_reads(
        text,
        what,
        r"Breach Episodes \(found in the data\) \| (\d+)",
        &[l.episodes],
    );
    // The decision box.
    assert_reads(
        text,
        what,
        r"Critical alerts:? \|? ?(\d+)",
        &[l.alerts_critical],
    );
    assert_reads(
        text,
        what,
        r"Warning alerts:? \|? ?(\d+)",
        &[l.alerts_warning],
    );
    // 2.4's summary.
    assert_reads(text, what, r"Total checks: (\d+)", &[l.checks_run]);
    if l.planned > 0 {
        assert_reads(
            text,
            what,
            r"Total checks: \d+ \((\d+) planned",
            &[l.planned],
        );
    }
    if l.not_reached > 0 {
        assert_reads(text, what, r"(\d+) not reached\)", &[l.not_reached]);
    }
    // 3.5 and its assessment.
    assert_reads(
        text,
        what,
        r"Total \| (\d+) \| (\d+)/\d+ \| (\d+)/\d+ \| (\d+)/\d+ \| (\d+)/\d+",
        &[n, ok, warning, critical, no_data],
    );
    assert_reads(
        text,
        what,
        r"(\d+) of (\d+) metrics within bounds",
        &[ok, n],
    );
    // 4.2
    assert_reads(text, what, r"Total Incidents \| (\d+)", &[l.incidents]);
    assert_reads(
        text,
        what,
        r"Total Incidents \| \d+ \| Critical \| (\d+) \| Warning \| (\d+) \| Info \| (\d+)",
        &[l.incidents_critical, l.incidents_warning, l.incidents_info],
    );
    assert_reads(
        text,
        what,
        r"Breach Episodes \| (\d+) \((\d+) critical, (\d+) open\)",
        &[l.episodes, l.episodes_critical, l.episodes_open],
    );
    // 7.2, rule 3.
    assert_reads(
        text,
        what,
        r"(\d+) critical incidents? logged; (\d+) open incidents? logged; (\d+) critical breach episodes? still beyond",
        &[
            l.incidents_critical,
            l.incidents_open,
            l.episodes_open_critical,
        ],
    );
}

/// The rows of the Markdown table that follows `heading` in its section (0
/// when the section has none).
fn table_rows_after(markdown: &str, heading: &str) -> usize {
    let start = markdown
        .find(heading)
        .unwrap_or_else(|| panic!("{heading}"));
    markdown[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with('#'))
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // header and rule
        .count()
}

fn array_len(summary: &Value, key: &str) -> usize {
    summary[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key}"))
        .len()
}

#[test]
fn every_count_in_every_rendering_is_the_length_of_a_judged_list() {
    for run in RUNS {
        let judgement = judgement_of(run);
        let l = lists(&judgement);
        let built = build(run, &["--lang", "en"]);
        let html = std::fs::read_to_string(built.out.join("report.html")).unwrap();

        assert_report_counts(&plain(&built.markdown), &l, &format!("{run} report.md"));
        assert_report_counts(&plain(&html), &l, &format!("{run} report.html"));

        // The tables list one row per item.
        let md = &built.markdown;
        assert_eq!(
            table_rows_after(md, "### 2.4"),
            judgement.facts.checkpoints.len(),
            "{run}: 2.4"
        );
        if l.episodes > 0 {
            assert_eq!(
                table_rows_after(md, "**Breach episodes found in the data"),
                l.episodes,
                "{run}: 4.1 episodes"
            );
        }
        if l.incidents > 0 {
            assert_eq!(
                table_rows_after(md, "### 4.1"),
                l.incidents,
                "{run}: 4.1 incidents"
            );
        }

        // summary.json holds the lists themselves.
        let s = &built.summary;
        assert_eq!(array_len(s, "alerts"), l.alerts, "{run}");
        assert_eq!(array_len(s, "incidents"), l.incidents, "{run}");
        assert_eq!(array_len(s, "episodes"), l.episodes, "{run}");
        assert_eq!(
            array_len(s, "kill_switch_checkpoints"),
            judgement.facts.checkpoints.len(),
            "{run}"
        );
        assert_eq!(array_len(s, "metrics"), l.metrics, "{run}");
        let total = &s["counts"]["total"];
        let [ok, warning, critical, no_data] = l.metrics_in;
        assert_eq!(
            ["total", "ok", "warning", "critical", "no_data"].map(|k| total[k].as_u64().unwrap()),
            [l.metrics, ok, warning, critical, no_data].map(|n| n as u64),
            "{run}: counts.total"
        );
    }
}

#[test]
fn the_runs_read_cover_a_rollback_and_every_list() {
    // Guards the test above: between them, the runs hold alerts, incidents,
    // episodes (critical and open), planned checkpoints not reached, and two
    // rollbacks; else a count could be read only as zero.
    let judgements: Vec<Judgement> = RUNS.iter().map(|r| judgement_of(r)).collect();
    let all: Vec<Lists> = judgements.iter().map(lists).collect();
    assert!(
        all.iter()
            .any(|l| l.alerts_critical > 0 && l.alerts_warning > 0)
    );
    assert!(all.iter().any(|l| l.incidents_critical > 0));
    assert!(all.iter().any(|l| l.episodes_open > 0));
    assert!(all.iter().any(|l| l.episodes_open_critical > 0));
    assert!(all.iter().any(|l| l.not_reached > 0));
    assert!(
        all.iter()
            .any(|l| l.metrics_in[1] > 0 && l.metrics_in[3] > 0)
    );
    let rolled_back = judgements.iter().filter(|j| j.facts.rollback).count();
    assert_eq!(rolled_back, 2);
}
