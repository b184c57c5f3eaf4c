//! Percentiles and means against numpy's, stored in tests/fixtures/stats
//! (made by tests/reference/make_percentiles.py).

use canary_report::stats::summarize;
use serde_json::Value;

fn close(actual: f64, expected: f64, rel: f64) -> bool {
    actual == expected || (actual - expected).abs() <= rel * expected.abs().max(f64::MIN_POSITIVE)
}

#[test]
fn stats_match_numpy() {
    let text = std::fs::read_to_string("tests/fixtures/stats/percentiles.json").unwrap();
    let reference: Value = serde_json::from_str(&text).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert!(cases.len() >= 7);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let mut values: Vec<f64> = case["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let s = summarize(&mut values).unwrap();
        assert_eq!(s.count, case["count"].as_u64().unwrap(), "{name}: count");
        for (field, actual) in [
            ("min", s.min),
            ("max", s.max),
            ("p50", s.p50),
            ("p95", s.p95),
            ("p99", s.p99),
            ("mean", s.mean),
        ] {
            let expected = case[field].as_f64().unwrap();
            assert!(
                close(actual, expected, 1e-9),
                "{name}: {field} = {actual:e}, numpy says {expected:e}"
            );
        }
    }
}
