//! `init`: a run directory skeleton that validates and builds to a clear STOP_AND_FIX.

use super::cli::canary;
use predicates::prelude::*;
use serde_json::Value;

#[test]
fn init_writes_a_skeleton_that_builds_to_stop_and_fix_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run-043");
    canary()
        .arg("init")
        .arg(&run)
        .assert()
        .success()
        .stdout(predicate::str::contains("manifest.json"));
    for f in ["manifest.json", "events.jsonl", "README.md"] {
        assert!(run.join(f).is_file(), "{f}");
    }
    assert!(run.join("metrics").is_dir());
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["run_id"], "run-043");
    // Every field of the manifest is filled in, and the README explains it.
    let readme = std::fs::read_to_string(run.join("README.md")).unwrap();
    for key in manifest.as_object().unwrap().keys() {
        assert!(readme.contains(&format!("`{key}")), "README lacks {key}");
    }
    for key in manifest["human"].as_object().unwrap().keys() {
        assert!(readme.contains(key.as_str()), "README lacks human.{key}");
    }

    // Valid, with no warning: nothing in the skeleton is skipped.
    canary()
        .arg("validate")
        .arg(&run)
        .assert()
        .success()
        .stderr(predicate::str::contains("warning").not())
        .stdout(predicate::str::contains("warning").not());
    let out = dir.path().join("out");
    canary()
        .arg("build")
        .arg(&run)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("run-043: STOP_AND_FIX"))
        .stdout(predicate::str::contains(
            "blocker: canary_completed: the log has no run_end",
        ));
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["decision"], "STOP_AND_FIX");
    assert!(!summary["blockers"].as_array().unwrap().is_empty());
}

#[test]
fn init_refuses_a_non_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
    canary()
        .arg("init")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not empty"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("keep.txt")).unwrap(),
        "mine"
    );
    assert!(!dir.path().join("manifest.json").exists());
    // An empty directory is fine.
    let empty = tempfile::tempdir().unwrap();
    canary().arg("init").arg(empty.path()).assert().success();
}

#[test]
fn completions_and_man_page_are_printed() {
    canary()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("canary-report"))
        .stdout(predicate::str::contains("compare"));
    canary()
        .args(["completions", "zsh"])
        .assert()
        .success()
        .stdout(predicate::str::contains("#compdef canary-report"));
    canary()
        .arg("man")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(".ie"))
        .stdout(predicate::str::contains(".TH canary-report"))
        .stdout(predicate::str::contains("validate"));
    canary().args(["completions", "tcsh"]).assert().code(2);
}
