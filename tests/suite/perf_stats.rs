//! A seeded 1M-row raw latency export (bench/gen, as `bench/run.sh` makes
//! them), end to end through ingest and analysis: per-window count, min, max
//! and P50/P95/P99 equal numpy's to the bit, means within 1e-12 (numpy sums
//! pairwise, canary-report with compensation). The reference values come from
//! tests/reference/make_perf_stats.py (tests/fixtures/stats/perf-1m.json).

#[allow(dead_code)]
#[path = "../../bench/gen/export.rs"]
mod export;

use canary_report::judge::analysis;
use canary_report::model::MetricId;
use canary_report::thresholds::Thresholds;
use serde_json::Value;

/// Σ byte·(index+1) mod 2⁶⁴, as the reference script computes it.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().enumerate().fold(0u64, |sum, (i, &b)| {
        sum.wrapping_add(u64::from(b).wrapping_mul(i as u64 + 1))
    })
}

#[test]
fn million_row_export_matches_numpy() {
    let text = std::fs::read_to_string("tests/fixtures/stats/perf-1m.json").unwrap();
    let reference: Value = serde_json::from_str(&text).unwrap();
    let rows = reference["rows"].as_u64().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let bytes = export::write_run(dir.path(), rows, export::SEED, export::Format::Csv).unwrap();
    let csv = std::fs::read(dir.path().join("metrics/latency.csv")).unwrap();
    assert!(
        bytes == reference["bytes"].as_u64().unwrap()
            && checksum(&csv).to_string() == reference["checksum"].as_str().unwrap(),
        "bench/gen no longer writes the export the reference was computed on: \
         rerun tests/reference/make_perf_stats.py"
    );

    let run = canary_report::ingest::read_run(dir.path()).unwrap();
    assert_eq!(run.sources[0].rows, rows);
    let analysis = analysis::analyze(&run, &Thresholds::default());
    let mut checked = 0;
    for (raw, metrics) in [
        (
            "query_latency_ms",
            [MetricId::QueryLatencyP50Ms, MetricId::QueryLatencyP99Ms],
        ),
        (
            "request_latency_ms",
            [MetricId::RequestLatencyP50Ms, MetricId::RequestLatencyP99Ms],
        ),
    ] {
        for metric in metrics {
            let m = analysis
                .metrics
                .iter()
                .find(|m| m.metric == metric)
                .unwrap();
            assert_eq!(m.source, analysis::DataSource::RawSamples);
            for (name, summary) in [
                ("baseline", m.baseline),
                ("during", m.during),
                ("post", m.post),
            ] {
                let want = &reference["stats"][raw][name];
                let got = summary.unwrap_or_else(|| panic!("{raw} {name}: no summary"));
                let at = format!("{raw} {name}");
                assert_eq!(got.count, want["count"].as_u64().unwrap(), "{at}: count");
                for (stat, value) in [
                    ("min", got.min),
                    ("max", got.max),
                    ("p50", got.p50),
                    ("p95", got.p95),
                    ("p99", got.p99),
                ] {
                    let expected = want[stat].as_f64().unwrap();
                    assert_eq!(
                        value.to_bits(),
                        expected.to_bits(),
                        "{at}: {stat} = {value:e}, numpy says {expected:e}"
                    );
                }
                let mean = want["mean"].as_f64().unwrap();
                assert!(
                    (got.mean - mean).abs() <= 1e-12 * mean.abs(),
                    "{at}: mean = {:e}, numpy says {mean:e}",
                    got.mean
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 12);
}
