//! The significance module against scipy and numpy (values stored in
//! tests/fixtures/stats/mannwhitney.json by tests/reference/make_mannwhitney.py),
//! and section 3.6 of a built report.

use super::samples::build;
use canary_report::judge::significance::{
    MethodChoice, TestMethod, compare_samples, hodges_lehmann, mann_whitney_u,
};
use serde_json::Value;

const TOLERANCE: f64 = 1e-6;

/// Relative for values above 1, absolute below: p-values near 0 must agree to 1e-6 too.
fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= TOLERANCE * expected.abs().max(1.0)
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn significance_matches_scipy() {
    let text = std::fs::read_to_string("tests/fixtures/stats/mannwhitney.json").unwrap();
    let reference: Value = serde_json::from_str(&text).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert!(cases.len() >= 12);
    let mut compared = 0;
    let mut worst: f64 = 0.0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let (x, y) = (floats(&case["x"]), floats(&case["y"]));
        for (key, choice) in [
            ("asymptotic", MethodChoice::Asymptotic),
            ("exact", MethodChoice::Exact),
            ("auto", MethodChoice::Auto),
        ] {
            let Some(expected) = case["mannwhitneyu"].get(key) else {
                continue;
            };
            let r = mann_whitney_u(&x, &y, choice).unwrap();
            assert_eq!(r.u1, expected["u"].as_f64().unwrap(), "{name} {key}: U");
            if choice == MethodChoice::Exact && r.method != TestMethod::Exact {
                // Too large to count in 128 bits: documented fallback.
                assert!(x.len().min(y.len()) > 8, "{name}: exact fell back");
                continue;
            }
            let p = expected["p"].as_f64().unwrap();
            worst = worst.max((r.p_value - p).abs() / p.abs().max(1.0));
            assert!(
                close(r.p_value, p),
                "{name} {key}: p = {:e}, scipy says {p:e}",
                r.p_value
            );
            if key == "auto" {
                let method = match r.method {
                    TestMethod::Exact => "exact",
                    TestMethod::Asymptotic => "asymptotic",
                };
                assert_eq!(method, case["auto_method"], "{name}: auto method");
                assert!(close(
                    r.rank_biserial(),
                    case["rank_biserial"].as_f64().unwrap()
                ));
            }
            compared += 1;
        }
        let hl = hodges_lehmann(&x, &y, 0.95).unwrap();
        for (what, actual, field) in [
            ("shift", hl.shift, "hl_shift"),
            ("ci_low", hl.ci_low, "hl_ci_low"),
            ("ci_high", hl.ci_high, "hl_ci_high"),
        ] {
            let expected = case[field].as_f64().unwrap();
            worst = worst.max((actual - expected).abs() / expected.abs().max(1.0));
            assert!(
                close(actual, expected),
                "{name}: HL {what} = {actual}, numpy says {expected}"
            );
        }
        assert_eq!(hl.ci_rank, case["hl_ci_rank"].as_u64().unwrap(), "{name}");
        let t = compare_samples(&x, &y).unwrap();
        assert_eq!(t.hodges_lehmann, hl);
    }
    assert!(compared >= 35, "{compared} p-values compared");
    eprintln!("significance vs scipy/numpy: {compared} p-values, worst difference {worst:e}");
}

fn metric<'a>(summary: &'a Value, key: &str) -> &'a Value {
    summary["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == key)
        .unwrap()
}

#[test]
fn the_report_compares_each_window_with_the_baseline() {
    let b = build("samples/run-001", &["--lang", "en"]);
    assert!(b.markdown.contains("### 3.6 Statistical comparison"));
    // Latency is compared over the raw per-query samples, not the 10 s P99s.
    let p99 = &metric(&b.summary, "query_latency_p99_ms")["significance"];
    assert_eq!(p99["during"]["outcome"], "tested");
    assert!(p99["during"]["n_baseline"].as_u64().unwrap() > 1000);
    assert_eq!(p99["worse"], "higher");
    let test = &p99["during"]["test"];
    for field in [
        "u",
        "p_value",
        "rank_biserial",
        "probability_of_superiority",
    ] {
        assert!(test[field].is_number(), "{field}: {test:#}");
    }
    let hl = &test["hodges_lehmann"];
    assert!(hl["ci_low"].as_f64().unwrap() <= hl["shift"].as_f64().unwrap());
    assert!(hl["shift"].as_f64().unwrap() <= hl["ci_high"].as_f64().unwrap());
    // Kill switch checks are too few to judge: sparse, not judged.
    let ks = &metric(&b.summary, "kill_switch_api_response_ms")["significance"];
    assert_eq!(ks["post"]["outcome"], "sparse");
    assert_eq!(ks["post"]["significant"], false);
    assert!(b.markdown.contains("**Not judged (sparse):**"));
    // A rise during the build that the bounds let pass is a note.
    assert!(
        b.markdown
            .contains("CPU Usage (%) shifted higher during the DDL than the baseline, which the bounds did not flag")
    );
    // Notes do not change the decision without significance_blocks.
    assert_eq!(b.summary["decision"], "APPROVED_FOR_LIMITED_PROD");
}

#[test]
fn significance_blocks_turns_a_significant_worsening_into_a_blocker() {
    // run-001's disk writes rise during the index build (a WARNING by the
    // bounds): guarded with significance_blocks, that rise blocks.
    let dir = tempfile::tempdir().unwrap();
    let th = dir.path().join("sig.toml");
    std::fs::write(
        &th,
        "[metrics.disk_write_mb_s]\nsignificance_blocks = true\n",
    )
    .unwrap();
    let b = build("samples/run-001", &["--thresholds", th.to_str().unwrap()]);
    let sig = &metric(&b.summary, "disk_write_mb_s")["significance"];
    assert_eq!(sig["blocks"], true);
    assert_eq!(sig["during"]["worsening"], true, "{sig:#}");
    assert_eq!(b.summary["decision"], "STOP_AND_FIX");
    let blockers: Vec<&str> = b.summary["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(blockers, vec!["no_significant_worsening"]);
    assert!(
        b.summary["blockers"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("Disk I/O Write")
    );
    // Switched off like any other rule.
    std::fs::write(
        &th,
        "[rules]\ndisabled = [\"no_significant_worsening\"]\n\
         [metrics.disk_write_mb_s]\nsignificance_blocks = true\n",
    )
    .unwrap();
    let b = build("samples/run-001", &["--thresholds", th.to_str().unwrap()]);
    assert_eq!(b.summary["decision"], "APPROVED_FOR_LIMITED_PROD");
}
