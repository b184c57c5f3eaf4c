//! `build --junit FILE` read back by JUnit consumers, and the GitHub step summary.

use super::cli::canary;
use super::samples::copy_dir;
use quick_junit::{NonSuccessKind, Report, TestCaseStatus};
use std::path::Path;

/// The JUnit XSD's structure: testsuites > testsuite > testcase, the
/// attributes it requires, and counts that add up.
fn check_structure(xml: &str) -> roxmltree::Document<'_> {
    let doc = roxmltree::Document::parse(xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let mut total = 0;
    for suite in root.children().filter(|n| n.is_element()) {
        assert_eq!(suite.tag_name().name(), "testsuite");
        for attr in ["name", "tests", "failures", "errors"] {
            assert!(suite.attribute(attr).is_some(), "testsuite lacks {attr}");
        }
        let cases: Vec<_> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        let failures = cases
            .iter()
            .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
            .count();
        let skipped = cases
            .iter()
            .filter(|c| c.children().any(|n| n.has_tag_name("skipped")))
            .count();
        assert_eq!(suite.attribute("tests").unwrap(), cases.len().to_string());
        assert_eq!(suite.attribute("failures").unwrap(), failures.to_string());
        assert_eq!(suite.attribute("skipped").unwrap(), skipped.to_string());
        for case in &cases {
            assert!(case.attribute("name").is_some() && case.attribute("classname").is_some());
            for child in case.children().filter(|n| n.is_element()) {
                let name = child.tag_name().name();
                assert!(
                    ["failure", "skipped", "system-out"].contains(&name),
                    "unexpected <{name}>"
                );
                if name == "failure" {
                    assert!(child.attribute("message").is_some());
                }
            }
        }
        total += cases.len();
    }
    assert_eq!(root.attribute("tests").unwrap(), total.to_string());
    doc
}

#[test]
fn junit_has_a_case_per_rule_and_metric_with_reasons_and_parses_back() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("ci/junit.xml");
    canary()
        .args(["build", "samples/run-002", "--quiet", "--out"])
        .arg(dir.path().join("out"))
        .arg("--junit")
        .arg(&junit)
        .assert()
        .success();
    let xml = std::fs::read_to_string(&junit).unwrap();
    check_structure(&xml);

    let report = Report::deserialize_from_str(&xml).expect("quick-junit reads it");
    assert_eq!(report.test_suites.len(), 1);
    let suite = &report.test_suites[0];
    assert_eq!(suite.name.as_str(), "CANARY-EXEC-V1-002");
    assert_eq!(suite.test_cases.len(), 8 + 20);
    let failed: Vec<&str> = suite
        .test_cases
        .iter()
        .filter(|c| {
            matches!(
                c.status,
                TestCaseStatus::NonSuccess {
                    kind: NonSuccessKind::Failure,
                    ..
                }
            )
        })
        .map(|c| c.name.as_str())
        .collect();
    for name in [
        "no_critical_metric",
        "no_rollback",
        "replication_lag_s",
        "query_latency_p99_ms",
    ] {
        assert!(failed.contains(&name), "{name} should fail: {failed:?}");
    }
    assert_eq!(report.failures, failed.len());
    let lag = suite
        .test_cases
        .iter()
        .find(|c| c.name.as_str() == "replication_lag_s")
        .unwrap();
    match &lag.status {
        TestCaseStatus::NonSuccess { message, .. } => {
            let m = message.as_ref().unwrap().as_str();
            assert!(m.contains("Replication Lag (s) CRITICAL"), "{m}");
            assert!(m.contains("critical bound 60 s"), "{m}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn junit_text_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    copy_dir(Path::new("samples/run-001"), &run);
    let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    let nasty = r#"Lock <wait> & \"timeout\" 'exceeded' ]]> \u0007 bell"#;
    let events: String = events
        .lines()
        .map(|l| {
            if l.contains("\"ddl_end\"") {
                l.replace(
                    "\"outcome\":\"success\"",
                    &format!("\"outcome\":\"failed\",\"error\":\"{nasty}\""),
                )
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect();
    std::fs::write(run.join("events.jsonl"), events).unwrap();
    let junit = dir.path().join("junit.xml");
    canary()
        .arg("build")
        .arg(&run)
        .arg("--quiet")
        .arg("--junit")
        .arg(&junit)
        .assert()
        .success();
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("Lock &lt;wait&gt; &amp; &quot;timeout&quot; &apos;exceeded&apos; ]]&gt;")
    );
    let doc = check_structure(&xml);
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("canary_completed"))
        .and_then(|c| c.children().find(|n| n.has_tag_name("failure")))
        .unwrap();
    // The text as given, but for the bell XML 1.0 cannot hold (left out).
    let message = failure.attribute("message").unwrap();
    assert!(
        message.contains("Lock <wait> & \"timeout\" 'exceeded' ]]>") && message.contains("bell"),
        "{message}"
    );
    assert!(!message.contains('\u{7}'), "{message}");
    Report::deserialize_from_str(&xml).expect("quick-junit reads it");
}

#[test]
fn github_step_summary_gets_the_quick_summary_and_blockers() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("step_summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    canary()
        .args(["build", "samples/run-002", "--quiet", "--out"])
        .arg(dir.path().join("out"))
        .env("GITHUB_STEP_SUMMARY", &summary)
        .assert()
        .success();
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.starts_with("earlier step\n"), "appended, not replaced");
    assert!(text.contains("### Canary CANARY-EXEC-V1-002: ⛔ **STOP_AND_FIX**"));
    assert!(text.contains("| **Total** | 20 |"));
    assert!(text.contains("- `no_rollback`: "));
}
