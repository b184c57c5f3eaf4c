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

/// The commands that write their result to stdout.
const OUTPUT_COMMANDS: [&[&str]; 4] = [
    &["completions", "bash"],
    &["man"],
    &["validate", "samples/run-001"],
    &["compare", "samples/run-001", "samples/run-002"],
];

#[test]
fn a_closed_pipe_ends_an_output_command_quietly() {
    // The reading end is closed before the command starts, so its first
    // write fails with EPIPE every time (as `| head` does, sooner or later).
    for args in OUTPUT_COMMANDS {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("canary-report"))
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
}

#[test]
fn a_full_disk_is_a_clean_error_not_a_panic() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        panic!("/dev/full is part of every Linux; this test needs it");
    };
    for args in OUTPUT_COMMANDS {
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("canary-report"))
            .args(args)
            .stdout(full.try_clone().unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("No space left on device") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_bad_capture_option_is_bad_input_naming_what_it_got() {
    // Refused before any connection: no server is needed.
    let base = [
        "capture",
        "--table",
        "orders",
        "--index",
        "idx_a",
        "--columns",
        "a",
        "--global-kill-switch",
        "file:/nonexistent/g",
        "--connection-kill-switch",
        "file:/nonexistent/c",
        "--dry-run",
    ];
    let cases: [(&[&str], &str); 5] = [
        (
            &["--dsn", "postgres://app:hunter2@127.0.0.1/shop"],
            "--dsn: expected mysql://USER@HOST:PORT/DB, got `postgres://app:***@127.0.0.1/shop`",
        ),
        (&["--dsn", "mysql://root@127.0.0.1"], "--dsn: no database"),
        (
            &["--dsn", "mysql://root:pw@127.0.0.1/shop"],
            "--dsn: a password in the DSN is refused",
        ),
        (
            &["--dsn", "mysql://root@127.0.0.1/shop", "--interval", "0"],
            "--interval: must be above 0",
        ),
        (
            &[
                "--dsn",
                "mysql://root@127.0.0.1/shop",
                "--checkpoints",
                "2h",
            ],
            "--checkpoints: 2h is past the end of the monitoring window",
        ),
    ];
    for (extra, message) in cases {
        let out = canary()
            .args(base)
            .args(extra)
            .env_remove("MYSQL_PWD")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(message), "{extra:?}: {stderr}");
        assert!(
            !stderr.contains("hunter2") && !stderr.contains(":pw@"),
            "{stderr}"
        );
    }
}

#[test]
fn messages_say_each_thing_once_and_point_to_the_fix() {
    // A tree of runs: not "manifest.json missing", but how to build them.
    canary()
        .args(["build", "samples"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "samples: not a run directory (no manifest.json), but it holds 2 run directories: \
             run-001, run-002; build them all with `canary-report build --all samples`",
        ));
    // The OS error once, not once per layer.
    let dir = tempfile::tempdir().unwrap();
    let nope = dir.path().join("nope.toml");
    let out = canary()
        .args(["build", "samples/run-001", "--out"])
        .arg(dir.path().join("out"))
        .arg("--thresholds")
        .arg(&nope)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    // A missing run directory is one problem, in no file.
    canary()
        .arg("validate")
        .arg(dir.path().join("absent"))
        .assert()
        .code(2)
        .stdout(predicate::str::ends_with("absent: 1 problem\n"));
}

#[test]
fn warnings_go_to_stderr_and_results_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let out = canary()
        .args(["build", "tests/fixtures/real-example", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stdout.starts_with("CANARY-EXEC-V1-MARIADB: STOP_AND_FIX"),
        "{stdout}"
    );
    assert!(!stdout.contains("warning:"), "{stdout}");
    assert!(
        stderr.contains(
            "warning: metrics/sysbench.sysbench.log: 53 reports with no completed transaction"
        ),
        "{stderr}"
    );
}

/// Every exit code `build` and `validate` can give, each by a real
/// invocation (capture's 4, 5 and 6 are in tests/capture.rs and
/// tests/capture_faults.rs, against a real server; a closed pipe and a full
/// disk above).
#[test]
fn every_exit_code_of_build_and_validate() {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).display().to_string();
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            vec![
                "build".into(),
                "samples/run-001".into(),
                "--out".into(),
                out("a"),
            ],
            0,
            "",
        ),
        (
            vec![
                "build".into(),
                "samples/run-002".into(),
                "--fail-on-stop".into(),
                "--out".into(),
                out("b"),
            ],
            3,
            "",
        ),
        (
            vec!["build".into(), out("absent"), "--out".into(), out("c")],
            2,
            "run directory",
        ),
        (vec!["validate".into(), out("absent")], 2, ""),
        (vec!["validate".into(), "samples/run-001".into()], 0, ""),
        (
            // An error outside the input: the output cannot be written.
            vec![
                "build".into(),
                "samples/run-001".into(),
                "--out".into(),
                "/proc/canary-report-cannot-write-here".into(),
            ],
            1,
            "cannot create output directory",
        ),
        (vec!["--no-such-flag".into()], 2, "unexpected argument"),
        (vec!["--help".into()], 0, ""),
    ];
    for (args, code, stderr_says) in cases {
        let o = canary().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(stderr_says), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
