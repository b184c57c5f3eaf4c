//! `build` on the bundled samples, end to end through the binary.

use super::cli::canary;
use predicates::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every file under `dir` with its bytes, to prove a build changed nothing.
fn snapshot_tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_path_buf(), std::fs::read(e.path()).unwrap()))
        .collect()
}

pub struct Built {
    pub _dir: tempfile::TempDir,
    pub out: PathBuf,
    pub summary: Value,
    pub markdown: String,
}

pub fn build(run: &str, extra: &[&str]) -> Built {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let before = snapshot_tree(Path::new(run));
    canary()
        .args(["build", run, "--out"])
        .arg(&out)
        .args(extra)
        .assert()
        .success();
    assert_eq!(
        snapshot_tree(Path::new(run)),
        before,
        "build modified {run}"
    );
    let summary =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    Built {
        _dir: dir,
        out,
        summary,
        markdown,
    }
}

fn failing_rules(summary: &Value) -> Vec<String> {
    summary["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["rule"].as_str().unwrap().to_string())
        .collect()
}

fn status_of(summary: &Value, metric: &str) -> String {
    summary["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == metric)
        .unwrap_or_else(|| panic!("no metric {metric}"))["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Every section and appendix of the template, by heading.
const HEADINGS: &[&str] = &[
    "## 1. Executive Summary",
    "### 1.1 Canary Run Information",
    "### 1.2 Canary Scope",
    "### 1.3 ",
    "### 1.4 Quick Summary",
    "## 2. ",
    "### 2.1 Target Table",
    "### 2.2 ",
    "### 2.3 Execution Timeline",
    "```mermaid",
    "### 2.4 ",
    "## 3. ",
    "### 3.1 System Metrics",
    "### 3.2 Database Metrics",
    "### 3.3 Application Metrics",
    "### 3.4 Kill Switch Metrics",
    "### 3.5 Metrics Summary",
    "## 4. Incident / Warning",
    "### 4.1 Incident Log",
    "### 4.2 Incident Summary",
    "## 5. Rollback Event",
    "### 5.1 Rollback Status",
    "## 6. Verification Results",
    "### 6.1 Index Creation Verification",
    "### 6.2 Application Functionality Check",
    "### 6.3 Performance Impact Assessment",
    "## 7. Final Decision",
    "### 7.1 Decision",
    "### 7.2 Justification",
    "### 7.3 ",
    "### 7.4 ",
    "## 8. ",
    "### 8.3 Lessons Learned",
    "## 9. Sign-off Section",
    "### 9.1 Canary Run Sign-off",
    "### 9.2 Final Sign-off Notes",
    "### 9.3 Document Status",
    "### Appendix A: Execution Log Summary",
    "### Appendix B: Screenshots/Dashboard Links",
    "### Appendix C: Related Documents",
    "### Appendix D: Raw Metrics Data",
    "## Document Control",
];

fn assert_all_sections(md: &str) {
    for h in HEADINGS {
        assert!(md.contains(h), "report.md lacks `{h}`");
    }
    // Every one of the twenty metrics has its row.
    for label in [
        "CPU Usage (%)",
        "Replication Lag (s)",
        "Throughput (req/s)",
        "Kill Switch API Availability (%)",
    ] {
        assert!(md.contains(&format!("**{label}**")), "no row for {label}");
    }
}

#[test]
fn run_001_is_approved_with_every_section() {
    let b = build("samples/run-001", &[]);
    assert_eq!(
        b.summary["decision"], "APPROVED_FOR_LIMITED_PROD",
        "{:#}",
        b.summary["blockers"]
    );
    assert!(failing_rules(&b.summary).is_empty());
    assert_eq!(b.summary["metrics"].as_array().unwrap().len(), 20);
    assert_eq!(b.summary["counts"]["total"]["total"], 20);
    assert_eq!(b.summary["complete"], true);
    // The disk-write burst is the ALTER's own work during the DDL: disk
    // I/O is not judged while it runs (thresholds: exempt_during_ddl), and
    // it was back under its bounds right after.
    assert_eq!(status_of(&b.summary, "disk_write_mb_s"), "OK");
    assert!(
        b.summary["episodes"].as_array().unwrap().is_empty(),
        "{}",
        b.summary["episodes"]
    );
    assert_all_sections(&b.markdown);
    assert!(b.markdown.contains("✅ **APPROVED_FOR_LIMITED_PROD**"));
    assert!(b.markdown.contains("📊 Result: APPROVED_FOR_LIMITED_PROD"));
    assert!(
        b.markdown.contains("สรุปสิ่งที่รันทดสอบจริง"),
        "Thai headings by default"
    );
    assert!(b.out.join("report.md").exists());
}

#[test]
fn run_002_stops_on_replication_lag_p99_and_the_rollback() {
    let b = build("samples/run-002", &[]);
    assert_eq!(b.summary["decision"], "STOP_AND_FIX");
    let failing = failing_rules(&b.summary);
    for rule in [
        "no_critical_metric",
        "no_rollback",
        "no_critical_or_open_incident",
        "canary_completed",
    ] {
        assert!(
            failing.contains(&rule.to_string()),
            "{rule} should fail: {failing:?}"
        );
    }
    assert_eq!(status_of(&b.summary, "replication_lag_s"), "CRITICAL");
    assert_eq!(status_of(&b.summary, "query_latency_p99_ms"), "CRITICAL");
    assert_all_sections(&b.markdown);
    assert!(b.markdown.contains("⛔ **STOP_AND_FIX**"));
    assert!(b.markdown.contains("### 5.3 Rollback Steps Taken"));
    assert!(b.markdown.contains("### 7.4 "));
    // Replication lag is one episode, from the DDL across the rollback:
    // critical, resolved after the rollback, not pre-existing.
    let lag: Vec<&serde_json::Value> = b.summary["episodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["metric"] == "replication_lag_s")
        .collect();
    assert_eq!(lag.len(), 1, "{lag:?}");
    let (start, resolved) = (
        lag[0]["start"].as_f64().unwrap(),
        lag[0]["resolved_at"].as_f64().unwrap(),
    );
    let w = &b.summary["windows"];
    assert_eq!(lag[0]["level"], "CRITICAL");
    assert_eq!(lag[0]["pre_existing"], false);
    assert!(
        start >= w["during"]["start"].as_f64().unwrap()
            && start < w["during"]["end"].as_f64().unwrap()
    );
    // Back within after the rollback, inside the after-rollback window.
    assert!(resolved > w["after_rollback"]["start"].as_f64().unwrap());
    assert!(resolved < w["after_rollback"]["end"].as_f64().unwrap());
    // The post window ends where the rollback began; the recovery is its own window.
    let run = canary_report::ingest::read_run(std::path::Path::new("samples/run-002")).unwrap();
    let rollback_start = run
        .events
        .iter()
        .find(|e| matches!(e.event, canary_report::model::Event::RollbackStart { .. }))
        .map(|e| canary_report::model::unix_seconds(&e.ts))
        .expect("run-002 rolls back");
    assert_eq!(w["post"]["end"].as_f64().unwrap(), rollback_start);
    // The rules quote the windows with the index only.
    for r in b.summary["reasons"].as_array().unwrap() {
        assert!(
            !r["detail"].as_str().unwrap().contains("after_rollback"),
            "{r}"
        );
    }
    assert!(b.markdown.contains("Breach episodes"));
}

#[test]
fn fail_on_stop_gates_ci_with_exit_code_3() {
    let dir = tempfile::tempdir().unwrap();
    canary()
        .args(["build", "samples/run-002", "--fail-on-stop", "--out"])
        .arg(dir.path())
        .assert()
        .code(3)
        .stdout(predicate::str::contains("STOP_AND_FIX"))
        .stdout(predicate::str::contains("blocker: no_rollback"));
    canary()
        .args([
            "build",
            "samples/run-001",
            "--fail-on-stop",
            "--quiet",
            "--out",
        ])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::is_empty());
}

#[test]
fn a_stricter_thresholds_file_flips_run_001_and_is_named_in_the_report() {
    let th = "tests/fixtures/thresholds/strict-disk-write.toml";
    let b = build("samples/run-001", &["--thresholds", th]);
    assert_eq!(b.summary["decision"], "STOP_AND_FIX");
    assert_eq!(failing_rules(&b.summary), vec!["no_critical_metric"]);
    assert_eq!(status_of(&b.summary, "disk_write_mb_s"), "CRITICAL");
    assert!(
        b.summary["blockers"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("Disk I/O Write")
    );
    assert_eq!(b.summary["thresholds"]["source"], th);
    let sha = b.summary["thresholds"]["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
    assert!(b.markdown.contains(th));
    assert!(
        b.markdown.contains("Warning: >30 MB/s, Critical: >40 MB/s"),
        "the table shows the bounds in force"
    );

    let lenient = build(
        "samples/run-001",
        &[
            "--thresholds",
            "tests/fixtures/thresholds/lenient-latency.toml",
        ],
    );
    assert_eq!(lenient.summary["decision"], "APPROVED_FOR_LIMITED_PROD");
}

#[test]
fn english_report_has_no_thai() {
    let b = build("samples/run-002", &["--lang", "en"]);
    assert_all_sections(&b.markdown);
    let thai = b
        .markdown
        .chars()
        .find(|c| ('\u{0E00}'..='\u{0E7F}').contains(c));
    assert_eq!(thai, None);
    assert!(b.markdown.contains("## 2. What Was Actually Run"));
}

#[test]
fn default_output_is_run_report_and_inputs_stay_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run-001");
    copy_dir(Path::new("samples/run-001"), &run);
    let before = snapshot_tree(&run);
    canary().arg("build").arg(&run).assert().success();
    assert!(run.join("report/report.md").exists());
    assert!(run.join("report/summary.json").exists());
    let after: BTreeMap<_, _> = snapshot_tree(&run)
        .into_iter()
        .filter(|(p, _)| !p.starts_with(run.join("report")))
        .collect();
    assert_eq!(after, before);
    // Building again reads the same inputs (report/ is not an input) and gives the same bytes.
    let first = std::fs::read(run.join("report/report.md")).unwrap();
    canary().arg("build").arg(&run).assert().success();
    assert_eq!(std::fs::read(run.join("report/report.md")).unwrap(), first);
}

#[test]
fn format_flag_picks_outputs() {
    let dir = tempfile::tempdir().unwrap();
    canary()
        .args(["build", "samples/run-001", "--format", "json", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    assert!(dir.path().join("summary.json").exists());
    assert!(!dir.path().join("report.md").exists());
}

#[test]
fn an_incomplete_record_still_builds_a_report_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("cut");
    copy_dir(Path::new("samples/run-002"), &run);
    // The executor died right after the DDL began.
    let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    let cut: Vec<&str> = events
        .lines()
        .take_while(|l| !l.contains("\"ddl_end\""))
        .collect();
    std::fs::write(run.join("events.jsonl"), cut.join("\n") + "\n").unwrap();
    let out = dir.path().join("out");
    canary()
        .arg("build")
        .arg(&run)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["decision"], "STOP_AND_FIX");
    assert_eq!(summary["complete"], false);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("run_end"),
        "the banner says the record is incomplete"
    );
}

pub fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(from).unwrap();
        if rel.starts_with("report") {
            continue;
        }
        let target = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The last line of `build` says what was read, in the files' own counts,
/// and what was written.
#[test]
fn build_reports_what_it_read_and_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = canary()
        .args(["build", "samples/run-001", "--format", "json", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let inputs = summary["inputs"].as_array().unwrap();
    let rows: u64 = inputs.iter().map(|s| s["rows"].as_u64().unwrap()).sum();
    let bytes: u64 = inputs.iter().map(|s| s["bytes"].as_u64().unwrap()).sum();
    let line = stdout.lines().last().unwrap();
    let expected = format!(
        "read {} files, {rows} rows, {:.1} MiB; built in ",
        inputs.len(),
        bytes as f64 / (1024.0 * 1024.0)
    );
    assert!(
        line.starts_with(&expected),
        "{line:?} should start with {expected:?}"
    );
    assert!(
        line.ends_with(&format!("wrote summary.json to {}", out.display())),
        "{line}"
    );

    // One file is a file.
    let one = tempfile::tempdir().unwrap();
    copy_dir(Path::new("samples/run-001"), one.path());
    for f in [
        "app.csv",
        "cpu_usage_pct.json",
        "mysql.csv",
        "request_latency.csv",
        "system.csv",
    ] {
        std::fs::remove_file(one.path().join("metrics").join(f)).unwrap();
    }
    let output = canary()
        .arg("build")
        .arg(one.path())
        .args(["--format", "json", "--out"])
        .arg(one.path().join("out"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.lines().last().unwrap().starts_with("read 1 file, "),
        "{stdout}"
    );
}
