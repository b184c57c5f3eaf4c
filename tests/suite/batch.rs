//! `build --all`: every run under a tree, one broken, an index of all.

use super::cli::canary;
use super::samples::copy_dir;
use predicates::prelude::*;
use std::path::Path;

#[test]
fn a_tree_of_runs_builds_in_parallel_and_a_broken_run_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    copy_dir(Path::new("samples/run-001"), &runs.join("2026-11/run-001"));
    copy_dir(Path::new("samples/run-002"), &runs.join("run-002"));
    // A broken run: its log is not JSON.
    copy_dir(Path::new("samples/run-002"), &runs.join("broken-run"));
    std::fs::write(runs.join("broken-run/events.jsonl"), "{not json\n").unwrap();
    // An earlier report directory is not a run, even with a manifest in it.
    std::fs::create_dir_all(runs.join("run-002/report")).unwrap();
    std::fs::write(runs.join("run-002/report/manifest.json"), "{}").unwrap();

    let out = dir.path().join("index");
    let junit = dir.path().join("junit.xml");
    canary()
        .args(["build", "--all"])
        .arg(&runs)
        .arg("--out")
        .arg(&out)
        .arg("--junit")
        .arg(&junit)
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "2026-11/run-001: CANARY-EXEC-V1-001: APPROVED_FOR_LIMITED_PROD",
        ))
        .stdout(predicate::str::contains(
            "run-002: CANARY-EXEC-V1-002: STOP_AND_FIX",
        ))
        .stdout(predicate::str::contains("3 runs: 2 built, 1 failed"))
        .stderr(predicate::str::contains("error: broken-run:"))
        .stderr(predicate::str::contains("events.jsonl:1"));

    assert!(out.join("2026-11/run-001/summary.json").exists());
    assert!(out.join("run-002/report.md").exists());
    assert!(!out.join("broken-run").join("summary.json").exists());
    let index = std::fs::read_to_string(out.join("index.md")).unwrap();
    assert!(
        index.contains("| 2026-11/run-001 | CANARY-EXEC-V1-001 | ✅ APPROVED_FOR_LIMITED_PROD |"),
        "{index}"
    );
    assert!(
        index.contains("| run-002 | CANARY-EXEC-V1-002 | ⛔ STOP_AND_FIX |"),
        "{index}"
    );
    assert!(
        index.contains("| broken-run | - | ❌ BAD INPUT |"),
        "{index}"
    );
    assert!(index.contains("- **broken-run**: "), "{index}");
    assert!(index.contains("events.jsonl:1"), "{index}");
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // minijinja escapes `/` in attributes as `&#x2f;`, which a browser reads as `/`.
    assert!(
        html.replace("&#x2f;", "/")
            .contains("href=\"2026-11/run-001/report"),
        "{html}"
    );
    assert!(html.contains("BAD INPUT"));
    assert!(!html.contains("<script"), "self-contained, no scripts");
    // Every link of the index leads to a file.
    for link in index.split("](").skip(1) {
        let target = link.split(')').next().unwrap();
        assert!(out.join(target).exists(), "{target}");
    }
    // The JUnit file holds the two built runs.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let suites: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .map(|n| n.attribute("name").unwrap())
        .collect();
    assert_eq!(suites, vec!["CANARY-EXEC-V1-001", "CANARY-EXEC-V1-002"]);
}

#[test]
fn the_default_index_lives_in_the_tree_and_is_not_walked_again() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new("samples/run-001"), &dir.path().join("a"));
    for _ in 0..2 {
        canary()
            .args(["build", "--all", "--quiet"])
            .arg(dir.path())
            .assert()
            .success()
            .stdout(predicate::str::is_empty());
    }
    let index = std::fs::read_to_string(dir.path().join("reports-index/index.md")).unwrap();
    assert!(index.contains("1 run: 1 built, 0 failed."), "{index}");
    // --fail-on-stop applies to every run.
    copy_dir(Path::new("samples/run-002"), &dir.path().join("b"));
    canary()
        .args(["build", "--all", "--fail-on-stop"])
        .arg(dir.path())
        .assert()
        .code(3);
}

#[test]
fn a_tree_without_runs_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    canary()
        .args(["build", "--all"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no run directory"));
}
