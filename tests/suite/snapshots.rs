//! Snapshots of the rendered reports: a change to any output shows up in review.

use super::samples::build;

#[test]
fn report_md_of_run_001() {
    insta::assert_snapshot!("run-001.report.md", build("samples/run-001", &[]).markdown);
}

#[test]
fn report_md_of_run_002() {
    insta::assert_snapshot!("run-002.report.md", build("samples/run-002", &[]).markdown);
}

#[test]
fn report_md_of_run_002_in_english() {
    insta::assert_snapshot!(
        "run-002.report.en.md",
        build("samples/run-002", &["--lang", "en"]).markdown
    );
}

#[test]
fn summary_json_of_run_002() {
    let b = build("samples/run-002", &[]);
    insta::assert_snapshot!(
        "run-002.summary.json",
        serde_json::to_string_pretty(&b.summary).unwrap()
    );
}
