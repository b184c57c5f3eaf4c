//! `compare`: two judgements side by side, and what changed and why.

use super::cli::canary;
use predicates::prelude::*;
use serde_json::Value;

#[test]
fn stricter_thresholds_on_the_same_run_name_the_rule_that_flipped() {
    let dir = tempfile::tempdir().unwrap();
    let th = "tests/fixtures/thresholds/strict-disk-write.toml";
    canary()
        .args(["compare", "samples/run-001", "samples/run-001", "--thresholds-b", th, "--out"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "decision APPROVED_FOR_LIMITED_PROD→STOP_AND_FIX because rule no_critical_metric now fails: Disk I/O Write (MB/s)",
        ))
        .stdout(predicate::str::contains("beyond its critical bound of 40 MB/s for 260 s"))
        .stdout(predicate::str::contains(
            "Disk I/O Write (MB/s): OK → CRITICAL (warning bound >50 MB/s → >30 MB/s; critical bound >100 MB/s → >40 MB/s",
        ))
        .stdout(predicate::str::contains(th));

    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("compare.json")).unwrap())
            .unwrap();
    assert_eq!(json["decision_changed"], true);
    assert_eq!(json["a"]["decision"], "APPROVED_FOR_LIMITED_PROD");
    assert_eq!(json["b"]["decision"], "STOP_AND_FIX");
    assert_eq!(json["b"]["thresholds"], th);
    assert_eq!(json["b"]["thresholds_sha256"].as_str().unwrap().len(), 64);
    let flipped: Vec<&str> = json["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["changed"] == true)
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(flipped, vec!["no_critical_metric"]);
    let changed: Vec<&str> = json["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["changed"] == true)
        .map(|m| m["metric"].as_str().unwrap())
        .collect();
    assert_eq!(changed, vec!["disk_write_mb_s"]);
    assert_eq!(json["metrics"].as_array().unwrap().len(), 20);

    let md = std::fs::read_to_string(dir.path().join("compare.md")).unwrap();
    assert!(md.contains("## What changed"));
    assert!(
        md.contains("| `no_critical_metric` | pass | FAIL | **yes** |"),
        "{md}"
    );
}

#[test]
fn two_runs_compare_rule_by_rule_and_an_unchanged_decision_says_so() {
    canary()
        .args(["compare", "samples/run-001", "samples/run-002"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "decision APPROVED_FOR_LIMITED_PROD→STOP_AND_FIX because rule canary_completed now fails",
        ))
        .stdout(predicate::str::contains("rule no_rollback now fails"));
    canary()
        .args(["compare", "samples/run-002", "samples/run-002", "--quiet"])
        .assert()
        .success()
        .stdout(predicate::str::is_empty());
    canary()
        .args(["compare", "samples/run-002", "samples/run-002"])
        .assert()
        .success()
        .stdout(predicate::str::contains("decision unchanged: STOP_AND_FIX"));
}

#[test]
fn a_missing_run_or_thresholds_file_is_bad_input() {
    canary()
        .args(["compare", "samples/run-001", "samples/nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope"));
    canary()
        .args([
            "compare",
            "samples/run-001",
            "samples/run-001",
            "--thresholds-a",
            "nope.toml",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope.toml"));
}
