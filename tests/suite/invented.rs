//! Nothing in a report is invented: every date it shows is a date of the
//! run's own records (in UTC or the manifest's display zone) or written in the
//! manifest, and every owner is a name or role the manifest gives, or
//! "unassigned".

use super::samples::build;
use canary_report::model::Clock;
use regex::Regex;
use std::collections::BTreeSet;
use std::path::Path;

const RUNS: [&str; 3] = [
    "samples/run-001",
    "samples/run-002",
    "tests/fixtures/real-example",
];

/// Dates the inputs hold: each recorded time's date in UTC and in the display
/// zone (a day's records can straddle midnight in either), and each date
/// written in the manifest.
fn dates_in_inputs(run: &str) -> BTreeSet<String> {
    let data = canary_report::ingest::read_run(Path::new(run)).unwrap();
    let clock = Clock::of(&data.manifest);
    let mut times: Vec<f64> = data
        .events
        .iter()
        .map(|e| canary_report::model::unix_seconds(&e.ts))
        .collect();
    for samples in data.series.values() {
        times.extend(samples.iter().map(|s| s.t));
    }
    let mut dates = BTreeSet::new();
    for t in times {
        dates.insert(clock.date(t));
        dates.insert(canary_report::model::format_unix(t)[..10].to_string());
    }
    let manifest = std::fs::read_to_string(Path::new(run).join("manifest.json")).unwrap();
    let date = Regex::new(r"\d{4}-\d{2}-\d{2}").unwrap();
    dates.extend(date.find_iter(&manifest).map(|m| m.as_str().to_string()));
    dates
}

#[test]
fn every_date_in_a_report_is_a_date_of_the_inputs() {
    let date = Regex::new(r"\b\d{4}-\d{2}-\d{2}\b").unwrap();
    for run in RUNS {
        let allowed = dates_in_inputs(run);
        for lang in ["th", "en"] {
            let built = build(run, &["--lang", lang]);
            let html = std::fs::read_to_string(built.out.join("report.html")).unwrap();
            for (name, text) in [("report.md", &built.markdown), ("report.html", &html)] {
                let invented: BTreeSet<&str> = date
                    .find_iter(text)
                    .map(|m| m.as_str())
                    .filter(|d| !allowed.contains(*d))
                    .collect();
                assert!(
                    invented.is_empty(),
                    "{run} {name} ({lang}): dates in no input: {invented:?}"
                );
            }
        }
    }
}

/// The Owner column of 7.3, 7.4 and 8.x.
fn owners(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    for heading in ["### 7.3", "### 7.4", "### 8.1", "### 8.2"] {
        let Some(start) = markdown.find(heading) else {
            continue;
        };
        let mut lines = markdown[start..]
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with('#'))
            .skip_while(|l| !l.starts_with('|'));
        let Some(header) = lines.next() else { continue };
        let cells = |l: &str| -> Vec<String> {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        };
        let Some(col) = cells(header).iter().position(|c| c == "Owner") else {
            continue;
        };
        out.extend(
            lines
                .skip(1)
                .take_while(|l| l.starts_with('|'))
                .map(|l| cells(l)[col].clone()),
        );
    }
    out
}

#[test]
fn every_owner_is_the_manifests_or_unassigned() {
    for run in RUNS {
        let manifest = std::fs::read_to_string(Path::new(run).join("manifest.json")).unwrap();
        let built = build(run, &["--lang", "en"]);
        let found = owners(&built.markdown);
        assert!(!found.is_empty(), "{run}: no owner column read");
        for owner in found {
            assert!(
                owner == "unassigned"
                    || owner == "_(not recorded)_"
                    || manifest.contains(&format!("\"{owner}\"")),
                "{run}: owner `{owner}` is in no input"
            );
        }
    }
}

#[test]
fn action_items_given_in_the_manifest_are_reported_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    super::samples::copy_dir(Path::new("samples/run-001"), &run);
    let path = run.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    manifest["human"]["actions"] = serde_json::json!([
        {"item": "Widen to tenant-0058", "priority": "High", "owner": "Nattapong Srisuk", "due": "2026-12-01", "status": "In progress"},
        {"item": "Add the lag alert to the runbook"}
    ]);
    std::fs::write(&path, manifest.to_string()).unwrap();
    let built = build(run.to_str().unwrap(), &["--lang", "en"]);
    let md = &built.markdown;
    assert!(
        md.contains(
            "| 1 | 🔴 High | Widen to tenant-0058 | Nattapong Srisuk | 2026-12-01 | In progress |"
        ),
        "{md}"
    );
    assert!(md.contains("|  | Add the lag alert to the runbook | unassigned | — | ⬜ Pending |"));
    assert!(!md.contains("Suggested follow-ups"));
}
