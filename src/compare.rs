//! `compare A B`: two judgements side by side, and what changed and why.
//!
//! A and B are run directories, each judged with its own thresholds (the
//! same run may be given twice with two thresholds files, to see what a policy
//! change does). Reading and judging go through [`crate::build`]; everything
//! else here is pure: [`diff`] builds the comparison, [`render_text`] and
//! [`render_markdown`] print it, and `compare.json` is [`Comparison`] as is.

use crate::build;
use crate::ingest;
use crate::judge::classify::Status;
use crate::judge::rules::{RuleId, RuleResult, Verdict};
use crate::model::MetricId;
use crate::model::{plain_number, plain_value};
use crate::report::ReportData;
use crate::thresholds::{BoundKind, Statistic};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One side of a comparison: which run, judged by which thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Side {
    pub run_dir: String,
    pub run_id: String,
    pub thresholds: String,
    pub thresholds_sha256: Option<String>,
    pub decision: Verdict,
    pub rules_passed: usize,
    pub rules_total: usize,
    pub ok: usize,
    pub warning: usize,
    pub critical: usize,
    pub no_data: usize,
}

/// A rule's outcome on one side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSide {
    pub passed: bool,
    pub disabled: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleDiff {
    pub rule: RuleId,
    /// `None` when the rule was not evaluated on that side (e.g.
    /// `no_significant_worsening` without `significance_blocks`).
    pub a: Option<RuleSide>,
    pub b: Option<RuleSide>,
    /// Passed or blocking differently.
    pub changed: bool,
}

/// A metric's numbers, bounds and status on one side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSide {
    pub status: Status,
    pub baseline: Option<f64>,
    pub during: Option<f64>,
    pub post: Option<f64>,
    pub bound_kind: BoundKind,
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    pub statistic: Statistic,
    /// Significant worsening during or after the DDL (report section 3.6).
    pub significant_worsening: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricDiff {
    pub metric: MetricId,
    pub label: String,
    pub unit: String,
    pub a: MetricSide,
    pub b: MetricSide,
    /// Status differs.
    pub changed: bool,
    /// Why, when it changed: bounds, values, or both.
    pub why: Option<String>,
}

/// `compare.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub generator: String,
    pub a: Side,
    pub b: Side,
    pub decision_changed: bool,
    pub rules: Vec<RuleDiff>,
    pub metrics: Vec<MetricDiff>,
    /// What changed and why, one sentence each, the decision first.
    pub changes: Vec<String>,
}

/// What to compare.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    pub a: PathBuf,
    pub b: PathBuf,
    pub thresholds_a: Option<PathBuf>,
    pub thresholds_b: Option<PathBuf>,
}

/// Reads both runs (once when they are the same directory), judges each
/// with its thresholds and compares.
pub fn compare(opts: &CompareOptions) -> anyhow::Result<Comparison> {
    let th_a = build::load_thresholds(opts.thresholds_a.as_deref())?;
    let th_b = build::load_thresholds(opts.thresholds_b.as_deref())?;
    let run_a = ingest::read_run(&opts.a)?;
    let same = std::fs::canonicalize(&opts.a).ok() == std::fs::canonicalize(&opts.b).ok();
    let data_a = build::judge(&run_a, th_a).data;
    let data_b = if same {
        build::judge(&run_a, th_b).data
    } else {
        let run_b = ingest::read_run(&opts.b)?;
        build::judge(&run_b, th_b).data
    };
    Ok(diff(&opts.a, &data_a, &opts.b, &data_b))
}

fn side(dir: &Path, d: &ReportData) -> Side {
    Side {
        run_dir: dir.display().to_string(),
        run_id: d.run_id.clone(),
        thresholds: d.thresholds.source.clone(),
        thresholds_sha256: d.thresholds.sha256.clone(),
        decision: d.decision,
        rules_passed: d.reasons.iter().filter(|r| r.passed).count(),
        rules_total: d.reasons.len(),
        ok: d.counts.total.ok,
        warning: d.counts.total.warning,
        critical: d.counts.total.critical,
        no_data: d.counts.total.no_data,
    }
}

fn rule_side(r: &RuleResult) -> RuleSide {
    RuleSide {
        passed: r.passed,
        disabled: r.disabled,
        detail: r.detail.clone(),
    }
}

fn blocking(r: &Option<RuleSide>) -> bool {
    r.as_ref().is_some_and(|r| !r.passed && !r.disabled)
}

/// A bound as the tables write it, e.g. `>40 MB/s` or `>50% increase`.
fn bound_text(kind: BoundKind, v: Option<f64>, unit: &str) -> String {
    let Some(v) = v else {
        return "none".into();
    };
    match kind {
        BoundKind::Above => format!(">{}", plain_value(Some(v), unit)),
        BoundKind::Below => format!("<{}", plain_value(Some(v), unit)),
        BoundKind::IncreasePct => format!(">{}% increase", plain_number(v)),
        BoundKind::DecreasePct => format!(">{}% decrease", plain_number(v)),
        BoundKind::AbovePctOfMaxConnections => format!(">{}% of max_connections", plain_number(v)),
        BoundKind::None => "none".into(),
    }
}

fn metric_side(m: &crate::report::summary::MetricRow) -> MetricSide {
    MetricSide {
        status: m.status,
        baseline: m.verdict.baseline_value,
        during: m.verdict.during_value,
        post: m.verdict.post_value,
        bound_kind: m.bound_kind,
        warning: m.warning,
        critical: m.critical,
        statistic: m.statistic,
        significant_worsening: m.significance.as_ref().is_some_and(|s| s.worsened()),
    }
}

/// Why a metric's status moved: its bounds, its values, or both.
fn metric_why(unit: &str, a: &MetricSide, b: &MetricSide) -> String {
    let mut parts = Vec::new();
    if a.bound_kind != b.bound_kind {
        parts.push(format!(
            "bound kind {:?} → {:?}",
            a.bound_kind, b.bound_kind
        ));
    }
    if a.warning != b.warning {
        parts.push(format!(
            "warning bound {} → {}",
            bound_text(a.bound_kind, a.warning, unit),
            bound_text(b.bound_kind, b.warning, unit)
        ));
    }
    if a.critical != b.critical {
        parts.push(format!(
            "critical bound {} → {}",
            bound_text(a.bound_kind, a.critical, unit),
            bound_text(b.bound_kind, b.critical, unit)
        ));
    }
    if a.statistic != b.statistic {
        parts.push(format!("statistic {:?} → {:?}", a.statistic, b.statistic));
    }
    let mut values = Vec::new();
    for (name, x, y) in [
        ("baseline", a.baseline, b.baseline),
        ("during", a.during, b.during),
        ("post", a.post, b.post),
    ] {
        if x != y {
            values.push(format!(
                "{name} {} → {}",
                plain_value(x, unit),
                plain_value(y, unit)
            ));
        }
    }
    if !values.is_empty() {
        parts.push(format!("values {}", values.join(", ")));
    } else if !parts.is_empty() {
        parts.push(format!(
            "same values (during {}, post {})",
            plain_value(b.during, unit),
            plain_value(b.post, unit)
        ));
    }
    if parts.is_empty() {
        "other settings changed (sustained time or rolling window)".into()
    } else {
        parts.join("; ")
    }
}

fn verdict_word(v: Verdict) -> &'static str {
    v.key()
}

fn rule_word(r: &Option<RuleSide>) -> &'static str {
    match r {
        None => "not evaluated",
        Some(r) if r.passed => "passes",
        Some(r) if r.disabled => "fails (disabled)",
        Some(_) => "fails",
    }
}

/// Compares two judgements. Pure.
pub fn diff(a_dir: &Path, a: &ReportData, b_dir: &Path, b: &ReportData) -> Comparison {
    let rules: Vec<RuleDiff> = RuleId::ALL
        .into_iter()
        .filter_map(|rule| {
            let ra = a.reasons.iter().find(|r| r.rule == rule).map(rule_side);
            let rb = b.reasons.iter().find(|r| r.rule == rule).map(rule_side);
            if ra.is_none() && rb.is_none() {
                return None;
            }
            let changed = ra.as_ref().map(|r| r.passed) != rb.as_ref().map(|r| r.passed)
                || blocking(&ra) != blocking(&rb);
            Some(RuleDiff {
                rule,
                a: ra,
                b: rb,
                changed,
            })
        })
        .collect();
    let metrics: Vec<MetricDiff> = MetricId::ALL
        .into_iter()
        .filter_map(|id| {
            let (ma, mb) = (a.metric(id)?, b.metric(id)?);
            let (sa, sb) = (metric_side(ma), metric_side(mb));
            let changed = sa.status != sb.status;
            let why = changed.then(|| metric_why(&ma.unit, &sa, &sb));
            Some(MetricDiff {
                metric: id,
                label: ma.label.clone(),
                unit: ma.unit.clone(),
                a: sa,
                b: sb,
                changed,
                why,
            })
        })
        .collect();

    let mut changes = Vec::new();
    let flipped: Vec<&RuleDiff> = rules.iter().filter(|r| r.changed).collect();
    if a.decision != b.decision {
        let because: Vec<String> = flipped
            .iter()
            .filter(|r| blocking(&r.a) != blocking(&r.b))
            .map(|r| {
                let detail = if blocking(&r.b) {
                    r.b.as_ref().map(|s| s.detail.clone())
                } else {
                    r.a.as_ref().map(|s| s.detail.clone())
                }
                .unwrap_or_default();
                format!(
                    "rule {} now {}: {}",
                    r.rule.key(),
                    if blocking(&r.b) {
                        "fails"
                    } else if r.b.is_none() {
                        "is not evaluated"
                    } else if r.b.as_ref().is_some_and(|s| s.disabled && !s.passed) {
                        "fails but is disabled"
                    } else {
                        "passes"
                    },
                    if blocking(&r.b) {
                        detail
                    } else {
                        format!("it had failed with: {detail}")
                    }
                )
            })
            .collect();
        let extra_blockers = |d: &ReportData, other: &ReportData| -> Vec<String> {
            // Blockers that are not a failing rule of their own (warnings_block).
            d.blockers
                .iter()
                .filter(|x| {
                    d.reasons.iter().any(|r| r.rule == x.rule && r.passed)
                        && !other.blockers.contains(x)
                })
                .map(|x| x.detail.clone())
                .collect()
        };
        let mut reasons = because;
        for e in extra_blockers(b, a) {
            reasons.push(format!("new blocker: {e}"));
        }
        for e in extra_blockers(a, b) {
            reasons.push(format!("blocker gone: {e}"));
        }
        changes.push(format!(
            "decision {}→{} because {}",
            verdict_word(a.decision),
            verdict_word(b.decision),
            if reasons.is_empty() {
                "the blockers differ".to_string()
            } else {
                reasons.join("; ")
            }
        ));
    } else {
        changes.push(format!("decision unchanged: {}", verdict_word(a.decision)));
    }
    for r in &flipped {
        // Rules that moved without moving the decision (another blocker stays).
        if a.decision != b.decision && blocking(&r.a) != blocking(&r.b) {
            continue;
        }
        changes.push(format!(
            "rule {}: {} → {}: {}",
            r.rule.key(),
            rule_word(&r.a),
            rule_word(&r.b),
            r.b.as_ref()
                .or(r.a.as_ref())
                .map(|s| s.detail.as_str())
                .unwrap_or_default()
        ));
    }
    for m in metrics.iter().filter(|m| m.changed) {
        changes.push(format!(
            "{}: {} → {} ({})",
            m.label,
            m.a.status.key(),
            m.b.status.key(),
            m.why.as_deref().unwrap_or_default()
        ));
    }
    if a.thresholds.sha256 != b.thresholds.sha256 || a.thresholds.source != b.thresholds.source {
        let bounds_moved = metrics
            .iter()
            .filter(|m| {
                m.a.warning != m.b.warning
                    || m.a.critical != m.b.critical
                    || m.a.bound_kind != m.b.bound_kind
            })
            .count();
        changes.push(format!(
            "thresholds: {} → {} ({} metric bound(s) differ)",
            a.thresholds.source, b.thresholds.source, bounds_moved
        ));
    }

    Comparison {
        generator: format!("canary-report {}", env!("CARGO_PKG_VERSION")),
        a: side(a_dir, a),
        b: side(b_dir, b),
        decision_changed: a.decision != b.decision,
        rules,
        metrics,
        changes,
    }
}

fn pass_word(r: &Option<RuleSide>) -> &'static str {
    match r {
        None => "-",
        Some(r) if r.passed => "pass",
        Some(r) if r.disabled => "FAIL (off)",
        Some(_) => "FAIL",
    }
}

fn values(m: &MetricSide, unit: &str) -> String {
    format!(
        "{} / {} / {}",
        plain_value(m.baseline, unit),
        plain_value(m.during, unit),
        plain_value(m.post, unit)
    )
}

fn side_title(s: &Side) -> String {
    format!(
        "{} ({}), thresholds: {}{}",
        s.run_dir,
        s.run_id,
        s.thresholds,
        s.thresholds_sha256
            .as_deref()
            .map(|h| format!(" sha256 {}…", &h[..h.len().min(12)]))
            .unwrap_or_default()
    )
}

/// The side-by-side for a terminal.
pub fn render_text(c: &Comparison) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "A: {}", side_title(&c.a));
    let _ = writeln!(o, "B: {}", side_title(&c.b));
    let _ = writeln!(o);
    let mark = |changed: bool| if changed { "<- changed" } else { "" }.to_string();
    let counts = |s: &Side| {
        format!(
            "{} ok, {} warn, {} crit, {} n/d",
            s.ok, s.warning, s.critical, s.no_data
        )
    };
    o.push_str(&aligned(
        "",
        &[
            vec!["".into(), "A".into(), "B".into(), String::new()],
            vec![
                "decision".into(),
                c.a.decision.key().into(),
                c.b.decision.key().into(),
                mark(c.decision_changed),
            ],
            vec![
                "rules passed".into(),
                format!("{}/{}", c.a.rules_passed, c.a.rules_total),
                format!("{}/{}", c.b.rules_passed, c.b.rules_total),
                String::new(),
            ],
            vec!["metrics".into(), counts(&c.a), counts(&c.b), String::new()],
        ],
    ));
    let _ = writeln!(o, "\nrules:");
    let rules: Vec<Vec<String>> = c
        .rules
        .iter()
        .map(|r| {
            vec![
                r.rule.key().into(),
                pass_word(&r.a).into(),
                pass_word(&r.b).into(),
                mark(r.changed),
            ]
        })
        .collect();
    o.push_str(&aligned("  ", &rules));
    let _ = writeln!(o, "\nmetrics (baseline / during / post, status):");
    let metrics: Vec<Vec<String>> = c
        .metrics
        .iter()
        .map(|m| {
            vec![
                m.label.clone(),
                format!("{} {}", values(&m.a, &m.unit), m.a.status.key()),
                format!("{} {}", values(&m.b, &m.unit), m.b.status.key()),
                mark(m.changed),
            ]
        })
        .collect();
    o.push_str(&aligned("  ", &metrics));
    let _ = writeln!(o, "\nwhat changed:");
    for ch in &c.changes {
        let _ = writeln!(o, "  - {ch}");
    }
    o
}

/// Rows as columns as wide as their widest cell (two spaces apart), each
/// line after `indent`, trailing space trimmed: no cell runs into the next
/// whatever its length.
fn aligned(indent: &str, rows: &[Vec<String>]) -> String {
    let width = |s: &str| s.chars().count();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| width(c))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = indent.to_string();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                line.push_str(&" ".repeat(widths[i] - width(cell) + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `compare.md`.
pub fn render_markdown(c: &Comparison) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Canary comparison: {} vs {}\n",
        md(&c.a.run_id),
        md(&c.b.run_id)
    );
    let _ = writeln!(o, "- **A:** {}", md(&side_title(&c.a)));
    let _ = writeln!(o, "- **B:** {}\n", md(&side_title(&c.b)));
    let _ = writeln!(o, "## What changed\n");
    for ch in &c.changes {
        let _ = writeln!(o, "- {}", md(ch));
    }
    let _ = writeln!(o, "\n## Decision\n");
    let _ = writeln!(o, "| | A | B |\n|---|---|---|");
    let _ = writeln!(
        o,
        "| **Decision** | {} | {} |",
        c.a.decision.key(),
        c.b.decision.key()
    );
    let _ = writeln!(
        o,
        "| **Rules passed** | {}/{} | {}/{} |",
        c.a.rules_passed, c.a.rules_total, c.b.rules_passed, c.b.rules_total
    );
    for (name, f) in [
        ("OK", (|s: &Side| s.ok) as fn(&Side) -> usize),
        ("WARNING", |s: &Side| s.warning),
        ("CRITICAL", |s: &Side| s.critical),
        ("NO_DATA", |s: &Side| s.no_data),
    ] {
        let _ = writeln!(o, "| **{name}** | {} | {} |", f(&c.a), f(&c.b));
    }
    let _ = writeln!(o, "\n## Rules\n");
    let _ = writeln!(
        o,
        "| Rule | A | B | Changed | Detail (B) |\n|---|---|---|---|---|"
    );
    for r in &c.rules {
        let _ = writeln!(
            o,
            "| `{}` | {} | {} | {} | {} |",
            r.rule.key(),
            pass_word(&r.a),
            pass_word(&r.b),
            if r.changed { "**yes**" } else { "" },
            md(r.b
                .as_ref()
                .or(r.a.as_ref())
                .map_or("", |s| s.detail.as_str()))
        );
    }
    let _ = writeln!(o, "\n## Metrics\n");
    let _ = writeln!(
        o,
        "| Metric | A: baseline / during / post | A status | B: baseline / during / post | B status | Why |\n|---|---|---|---|---|---|"
    );
    for m in &c.metrics {
        let _ = writeln!(
            o,
            "| {}{} | {} | {} | {} | {} | {} |",
            md(&m.label),
            if m.changed { " **(changed)**" } else { "" },
            values(&m.a, &m.unit),
            m.a.status.key(),
            values(&m.b, &m.unit),
            m.b.status.key(),
            md(m.why.as_deref().unwrap_or(""))
        );
    }
    o
}

/// `compare.json`.
pub fn render_json(c: &Comparison) -> String {
    let mut s = serde_json::to_string_pretty(c).expect("a comparison is plain values");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let long = "x".repeat(60);
        let rows = vec![
            vec![
                "a".to_string(),
                long.clone(),
                "B1".into(),
                "<- changed".into(),
            ],
            vec![long.clone(), "short".into(), "B2".into(), String::new()],
        ];
        let text = aligned("  ", &rows);
        let lines: Vec<&str> = text.lines().collect();
        // Each column starts at the same place in every line, two spaces
        // after the widest cell before it, and nothing runs together.
        let at = |line: &str, cell: &str| line.find(cell).unwrap();
        assert_eq!(at(lines[0], "B1"), at(lines[1], "B2"));
        assert_eq!(at(lines[0], "B1"), 2 + 60 + 2 + 60 + 2);
        assert_eq!(lines[1], format!("  {long}  short{}B2", " ".repeat(57)));
    }
}
