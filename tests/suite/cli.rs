//! The command line as a user meets it: help, exit codes, errors.

use assert_cmd::Command;
use predicates::prelude::*;

pub fn canary() -> Command {
    Command::cargo_bin("canary-report").unwrap()
}

#[test]
fn help_teaches_the_commands_and_exit_codes() {
    canary()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("build"))
        .stdout(predicate::str::contains("Exit codes"));
    canary()
        .args(["build", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--thresholds"))
        .stdout(predicate::str::contains("--fail-on-stop"))
        .stdout(predicate::str::contains("--lang"));
}

#[test]
fn a_missing_run_directory_is_bad_input_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("nope");
    canary()
        .arg("build")
        .arg(&run)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope"))
        .stderr(predicate::str::contains("run directory"));
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    canary().args(["build", "--frobnicate"]).assert().code(2);
}

#[test]
fn a_bad_thresholds_file_names_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let th = dir.path().join("t.toml");
    std::fs::write(&th, "[metrics.cpu_usage_pct]\nwarnin = 3\n").unwrap();
    canary()
        .args(["build", "samples/run-001", "--out"])
        .arg(dir.path().join("out"))
        .arg("--thresholds")
        .arg(&th)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("t.toml"))
        .stderr(predicate::str::contains("warnin"));
}
