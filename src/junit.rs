//! Outputs for CI: a JUnit XML report (`build --junit FILE`) and the Markdown
//! appended to GitHub's step summary (`$GITHUB_STEP_SUMMARY`). Pure.
//!
//! JUnit: one `<testsuite>` per run, `<testcase>`s named by rule and by
//! metric:
//!
//! - a rule fails when it fails and is not disabled; a failing disabled rule
//!   is `<skipped>`;
//! - a metric fails when it is CRITICAL, WARNING while `warnings_block` is
//!   set, or significantly worse while its `significance_blocks` is set; a
//!   NO_DATA metric is `<skipped>`; a WARNING that does not block passes with
//!   the warning in `<system-out>`.
//!
//! Every `<failure>` carries the reason as `message` and in its text. The XML
//! is written by `quick-junit` (escaping, and characters XML 1.0 cannot hold).

use crate::judge::classify::Status;
use crate::judge::rules::RuleResult;
use crate::model::{Severity, plain_value};
use crate::report::ReportData;
use crate::report::summary::MetricRow;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::fmt::Write as _;

/// One test case's outcome.
enum Outcome {
    Pass(Option<String>),
    Fail { kind: &'static str, message: String },
    Skip(String),
}

struct Case {
    name: String,
    classname: String,
    outcome: Outcome,
}

fn rule_case(run_id: &str, r: &RuleResult) -> Case {
    Case {
        name: r.rule.key().to_string(),
        classname: format!("canary-report.{run_id}.rules"),
        outcome: if r.passed {
            Outcome::Pass(Some(r.detail.clone()))
        } else if r.disabled {
            Outcome::Skip(format!(
                "rule disabled by the thresholds file; it failed: {}",
                r.detail
            ))
        } else {
            Outcome::Fail {
                kind: "rule",
                message: format!("{}: {}", r.rule.requirement(), r.detail),
            }
        },
    }
}

fn metric_facts(m: &MetricRow) -> String {
    let v = &m.verdict;
    format!(
        "{} {}: baseline {}, during {}, post {}; bounds {:?} warning {}, critical {} ({:?})",
        m.label,
        m.status.key(),
        plain_value(v.baseline_value, &m.unit),
        plain_value(v.during_value, &m.unit),
        plain_value(v.post_value, &m.unit),
        m.bound_kind,
        m.warning.map_or("none".into(), |w| format!("{w}")),
        m.critical.map_or("none".into(), |c| format!("{c}")),
        m.statistic
    )
}

fn metric_case(data: &ReportData, m: &MetricRow) -> Case {
    let warnings_block = data.thresholds.values.rules.warnings_block;
    let sig = m.significance.as_ref();
    let sig_blocks = sig.is_some_and(|s| s.blocks && s.worsened());
    let worst_breach = data
        .episodes_of(m.metric)
        .filter(|e| e.level == m.status)
        .max_by(|a, b| a.duration_s().total_cmp(&b.duration_s()))
        .map(|e| {
            format!(
                "; beyond the {} bound {} for {:.0} s, peak {}",
                e.level.key().to_lowercase(),
                plain_value(Some(e.bound), &m.unit),
                e.duration_s(),
                plain_value(Some(e.peak), &m.unit)
            )
        })
        .unwrap_or_default();
    let facts = format!("{}{worst_breach}", metric_facts(m));
    let outcome = match m.status {
        Status::Critical => Outcome::Fail {
            kind: "CRITICAL",
            message: facts,
        },
        Status::Warning if warnings_block => Outcome::Fail {
            kind: "WARNING",
            message: format!("{facts} (warnings block under these thresholds)"),
        },
        Status::NoData => Outcome::Skip(
            m.verdict
                .no_data_reason
                .clone()
                .unwrap_or_else(|| "no data".into()),
        ),
        _ if sig_blocks => Outcome::Fail {
            kind: "significant_worsening",
            message: format!(
                "{facts}; significantly worse than the baseline and significance_blocks is set: {}",
                sig.into_iter()
                    .flat_map(|s| s.windows())
                    .filter(|w| w.worsening)
                    .map(|w| {
                        w.note
                            .clone()
                            .unwrap_or_else(|| format!("{} window", w.window.key()))
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        },
        _ => Outcome::Pass(Some(facts)),
    };
    Case {
        name: m.metric.key().to_string(),
        classname: format!("canary-report.{}.metrics.{:?}", data.run_id, m.category).to_lowercase(),
        outcome,
    }
}

fn suite(data: &ReportData) -> TestSuite {
    let cases: Vec<Case> = data
        .reasons
        .iter()
        .map(|r| rule_case(&data.run_id, r))
        .chain(data.metrics.iter().map(|m| metric_case(data, m)))
        .collect();
    let mut suite = TestSuite::new(data.run_id.as_str());
    for (name, value) in [
        ("decision", data.decision.key().to_string()),
        ("thresholds", data.thresholds.source.clone()),
        (
            "thresholds_sha256",
            data.thresholds.sha256.clone().unwrap_or_default(),
        ),
        ("generator", data.generator.clone()),
    ] {
        suite.add_property(Property::new(name, value));
    }
    for c in cases {
        let (status, out) = match c.outcome {
            Outcome::Pass(out) => (TestCaseStatus::success(), out),
            Outcome::Fail { kind, message } => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(message.as_str())
                    .set_type(kind)
                    .set_description(message.as_str());
                (s, None)
            }
            Outcome::Skip(why) => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(why);
                (s, None)
            }
        };
        let mut case = TestCase::new(c.name, status);
        case.set_classname(c.classname);
        if let Some(out) = out {
            case.set_system_out(out);
        }
        suite.add_test_case(case);
    }
    suite
}

/// The JUnit XML of one or more runs: one test suite each.
pub fn render(runs: &[&ReportData]) -> Result<String, quick_junit::SerializeError> {
    let mut report = Report::new("canary-report");
    report.add_test_suites(runs.iter().map(|d| suite(d)));
    report.to_string()
}

/// Markdown for `$GITHUB_STEP_SUMMARY`: the quick summary and the blockers.
pub fn step_summary(data: &ReportData) -> String {
    let mut o = String::new();
    let cell = |s: &str| s.replace('|', "\\|").replace(['\n', '\r'], " ");
    let _ = writeln!(
        o,
        "### Canary {}: {} **{}**\n",
        cell(&data.run_id),
        if data.approved() { "✅" } else { "⛔" },
        data.decision.key()
    );
    let c = &data.counts;
    let _ = writeln!(
        o,
        "| Category | Total | OK | WARNING | CRITICAL | NO_DATA |\n|---|---|---|---|---|---|"
    );
    for (name, s) in [
        ("System", &c.system),
        ("Database", &c.database),
        ("Application", &c.application),
        ("Kill Switch", &c.kill_switch),
        ("**Total**", &c.total),
    ] {
        let _ = writeln!(
            o,
            "| {name} | {} | {} | {} | {} | {} |",
            s.total, s.ok, s.warning, s.critical, s.no_data
        );
    }
    let passed = data.reasons.iter().filter(|r| r.passed).count();
    let _ = writeln!(
        o,
        "\nRules passed: {passed}/{}; alerts logged: {} ({} critical, {} warning); incidents logged: {}; breach episodes: {}; thresholds: {}\n",
        data.reasons.len(),
        data.alerts.len(),
        data.alerts_of(Severity::Critical),
        data.alerts_of(Severity::Warning),
        data.incidents.len(),
        data.episodes.len(),
        cell(&data.thresholds.source)
    );
    if data.blockers.is_empty() {
        let _ = writeln!(o, "**Blockers:** none");
    } else {
        let _ = writeln!(o, "**Blockers:**\n");
        for b in &data.blockers {
            let _ = writeln!(o, "- `{}`: {}", b.rule.key(), cell(&b.detail));
        }
    }
    if !data.conditions.is_empty() {
        let _ = writeln!(o, "\n**Conditions:**\n");
        for c in &data.conditions {
            let _ = writeln!(o, "- {}", cell(&c.condition));
        }
    }
    o.push('\n');
    o
}
