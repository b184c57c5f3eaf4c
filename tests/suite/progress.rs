//! The progress bar of `build`: drawn on a terminal (a pseudo-terminal made
//! by util-linux's `script`), never into a pipe, never under `--quiet`.
//! `CANARY_REPORT_PROGRESS_DELAY_MS=0` shows it at once, so that a small run
//! directory draws it too.

use std::process::{Command, Output};

/// `build samples/run-001` with `args`, its output going to a terminal.
fn build_on_a_terminal(args: &str) -> (Output, String) {
    let out = tempfile::tempdir().unwrap();
    let command = format!(
        "'{}' build samples/run-001 --format json --out '{}' {args}",
        env!("CARGO_BIN_EXE_canary-report"),
        out.path().display()
    );
    let output = Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .env("CANARY_REPORT_PROGRESS_DELAY_MS", "0")
        .output()
        .expect("util-linux's script runs");
    let terminal = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, terminal)
}

#[test]
fn a_terminal_sees_the_progress_bar() {
    let (output, terminal) = build_on_a_terminal("");
    assert!(output.status.success(), "{terminal}");
    assert!(
        terminal.contains("reading inputs"),
        "no bar drawn:\n{terminal}"
    );
    assert!(terminal.contains("APPROVED_FOR_LIMITED_PROD"), "{terminal}");
}

#[test]
fn quiet_draws_no_bar_even_on_a_terminal() {
    let (output, terminal) = build_on_a_terminal("--quiet");
    assert!(output.status.success(), "{terminal}");
    assert!(!terminal.contains("reading inputs"), "{terminal}");
}

#[test]
fn a_pipe_gets_no_bar() {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_canary-report"))
        .args(["build", "samples/run-001", "--format", "json", "--out"])
        .arg(out.path())
        .env("CANARY_REPORT_PROGRESS_DELAY_MS", "0")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("reading inputs"), "{stderr}");
}
