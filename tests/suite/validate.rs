//! `validate`: every problem of a run directory, with file, line and field.

use super::cli::canary;
use super::samples::copy_dir;
use predicates::prelude::*;
use std::path::Path;

#[test]
fn a_good_run_is_valid() {
    canary()
        .args(["validate", "samples/run-001"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "samples/run-001: valid (8 files checked",
        ));
}

#[test]
fn every_problem_is_listed_with_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    copy_dir(Path::new("samples/run-001"), &run);
    // manifest: a typo'd field.
    let manifest = std::fs::read_to_string(run.join("manifest.json")).unwrap();
    std::fs::write(
        run.join("manifest.json"),
        manifest.replacen("\"lead\"", "\"leader\"", 1),
    )
    .unwrap();
    // events: an unknown type on line 3, a cut line 6, an out-of-order line 9.
    let mut events: Vec<String> = std::fs::read_to_string(run.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    events[2] = events[2].replace("\"type\":\"", "\"type\":\"bogus_");
    events[5].truncate(20);
    events.insert(
        8,
        r#"{"ts":"2020-01-01T00:00:00Z","type":"log","message":"early"}"#.into(),
    );
    std::fs::write(run.join("events.jsonl"), events.join("\n") + "\n").unwrap();
    // a CSV: a bad value on line 5, an unknown metric on line 12, a bad time on line 30.
    let mut csv: Vec<String> = std::fs::read_to_string(run.join("metrics/system.csv"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let fields = |l: &str| l.split(',').map(String::from).collect::<Vec<_>>();
    let mut row = fields(&csv[4]);
    row[2] = "abc".into();
    csv[4] = row.join(",");
    let mut row = fields(&csv[11]);
    row[1] = "cpu_usag".into();
    csv[11] = row.join(",");
    let mut row = fields(&csv[29]);
    row[0] = "yesterday".into();
    csv[29] = row.join(",");
    std::fs::write(run.join("metrics/system.csv"), csv.join("\n") + "\n").unwrap();
    // a Prometheus file that is not JSON.
    std::fs::write(run.join("metrics/cpu_usage_pct.json"), "{\"status\":").unwrap();

    let out = canary().arg("validate").arg(&run).assert().code(2);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let expect = [
        "manifest.json:4: field `leader`: unknown field `leader`",
        "events.jsonl:3: field `type`: unknown variant `bogus_",
        "events.jsonl:6: EOF while parsing",
        "events.jsonl:9: field `ts`: out of order",
        "metrics/cpu_usage_pct.json",
        "metrics/system.csv:5: field `value`: ",
        "metrics/system.csv:12: field `metric`: unknown metric `cpu_usag`",
        "metrics/system.csv:30: field `timestamp`: ",
    ];
    for e in expect {
        assert!(
            lines.iter().any(|l| l.contains(e)),
            "no line with `{e}`:\n{stdout}"
        );
    }
    assert!(stdout.contains(": 8 problems in 4 files"), "{stdout}");
    // build stops at the first of them.
    canary().arg("build").arg(&run).assert().code(2);
}

#[test]
fn a_file_with_many_bad_lines_stops_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    copy_dir(Path::new("samples/run-001"), &run);
    let bad: String = (0..150)
        .map(|i| format!("{{\"ts\":\"nope{i}\",\"type\":\"log\",\"message\":\"x\"}}\n"))
        .collect();
    std::fs::write(run.join("events.jsonl"), bad).unwrap();
    let out = canary().arg("validate").arg(&run).assert().code(2);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.contains("events.jsonl:") && !l.contains("stopped"))
            .count(),
        100
    );
    assert!(
        stdout.contains("events.jsonl: stopped after 100 problems"),
        "{stdout}"
    );
}

#[test]
fn a_missing_directory_or_file_is_a_problem() {
    canary()
        .args(["validate", "samples/nope"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "samples/nope: missing: the run directory",
        ));
    let dir = tempfile::tempdir().unwrap();
    canary()
        .arg("validate")
        .arg(dir.path())
        .assert()
        .code(2)
        .stdout(predicate::str::contains("manifest.json: missing"))
        .stdout(predicate::str::contains("events.jsonl: missing"));
}
