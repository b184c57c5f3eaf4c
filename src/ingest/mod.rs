//! Reading a run directory: the only module that touches input files.
//!
//! A run directory holds `manifest.json` ([`read_manifest`]), `events.jsonl`
//! ([`read_events`]) and optionally `metrics/` ([`read_metrics`]): long CSV
//! files ([`parse_long_csv`]) and Prometheus query_range responses
//! ([`parse_prometheus`]). Every error names the file, and the line and field
//! where they are known; nothing here panics on any input.

mod csv_fast;
pub mod digest;
mod events;
mod grafana;
mod long_csv;
mod manifest;
mod mapping;
mod metrics;
mod progress;
mod prometheus;
mod sysbench;
mod util;

pub use events::{EventLog, parse_events, read_events};
pub use long_csv::{parse_long_csv, parse_metric};
pub use manifest::{parse_manifest, read_manifest};
pub use mapping::{DEFAULT_MAPPING, Mapping, load_mapping};
pub use metrics::{
    Metrics, is_grafana_csv, merge_series, read_metrics, read_metrics_file, read_metrics_with,
};
pub use progress::show_progress;
pub use prometheus::parse_prometheus;
pub use util::{check_unix_seconds, parse_timestamp, parse_value};

use crate::error::InputError;
use crate::model::{InputMetric, RunData, Sample};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The samples read from one metrics file, before merging.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileSamples {
    /// Samples by metric, in file order (not sorted).
    pub series: BTreeMap<InputMetric, Vec<Sample>>,
    /// Data rows (CSV) or points (Prometheus) in the file, skipped ones included.
    pub rows: u64,
    /// Things worth a warning, without the file name (e.g. `3 NaN/Inf samples skipped`).
    pub notes: Vec<String>,
    /// Metrics whose samples the reader saw in time order, so that merging
    /// need not look again (the others are checked, and sorted if need be).
    pub in_time_order: BTreeSet<InputMetric>,
}

/// Reads and validates a whole run directory, with `RUN/mapping.toml` (if
/// any) over the built-in metric mapping.
pub fn read_run(dir: &Path) -> Result<RunData, InputError> {
    read_run_with(dir, None)
}

/// [`read_run`] with the metric mapping from `mapping` (instead of
/// `RUN/mapping.toml`) when given.
pub fn read_run_with(dir: &Path, mapping: Option<&Path>) -> Result<RunData, InputError> {
    if !dir.exists() {
        return Err(InputError::Missing {
            path: dir.to_path_buf(),
            what: "the run directory".to_owned(),
        });
    }
    if !dir.is_dir() {
        return Err(InputError::invalid(
            dir,
            None,
            None,
            "not a directory: give the run directory (manifest.json, events.jsonl, metrics/)",
        ));
    }
    let manifest = read_manifest(&dir.join("manifest.json"))?;
    let events = read_events(&dir.join("events.jsonl"))?;
    let mapping = load_mapping(dir, mapping)?;
    let metrics = read_metrics_with(dir, &mapping)?;
    let mut warnings = events.warnings;
    warnings.extend(metrics.warnings);
    Ok(RunData {
        dir: dir.to_path_buf(),
        manifest,
        events: events.records,
        series: metrics.series,
        sources: metrics.sources,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Event, MetricId, RawLatency};
    use std::path::PathBuf;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/ingest")
            .join(name)
    }

    #[test]
    fn reads_a_whole_run() {
        let dir = fixture("run-mariadb");
        let run = read_run(&dir).unwrap();
        assert_eq!(run.dir, dir);
        assert_eq!(run.manifest.run_id, "CANARY-EXEC-V1-MARIADB");
        assert_eq!(run.events.len(), 9);
        assert!(
            matches!(run.events[4].event, Event::DdlEnd { duration_s: Some(d), .. } if d == 54.72)
        );

        let keys: Vec<InputMetric> = run.series.keys().copied().collect();
        assert_eq!(
            keys,
            vec![
                InputMetric::Series(MetricId::CpuUsagePct),
                InputMetric::Series(MetricId::BufferPoolHitRatePct),
                InputMetric::Raw(RawLatency::Query),
                InputMetric::Raw(RawLatency::Request),
            ]
        );
        for samples in run.series.values() {
            assert!(samples.is_sorted_by(|a, b| a.t <= b.t));
        }
        let query: Vec<(f64, f64)> = run.series[&InputMetric::Raw(RawLatency::Query)]
            .iter()
            .map(|s| (s.t, s.v))
            .collect();
        assert_eq!(
            query,
            vec![
                (1_795_972_110.5, 3.9),
                (1_795_972_110.5, 12.0),
                (1_795_972_111.0, 4.2)
            ]
        );

        let sources: Vec<(&str, &str, u64, u64)> = run
            .sources
            .iter()
            .map(|s| (s.path.as_str(), s.format.as_str(), s.rows, s.bytes))
            .collect();
        assert_eq!(
            sources,
            vec![
                (
                    "metrics/buffer_pool_hit_rate_pct.json",
                    "prometheus",
                    537,
                    17_531
                ),
                ("metrics/cpu_usage_pct.json", "prometheus", 537, 17_751),
                ("metrics/latency.csv", "csv", 4, 194),
            ]
        );
        assert_eq!(
            run.warnings,
            vec![
                // file name order is byte order: upper case first
                "metrics/README.txt: skipped (only .csv, .json and sysbench .log files are read from metrics/)",
                "metrics/buffer_pool_hit_rate_pct.json: 18 NaN/Inf samples skipped",
            ]
        );
    }

    #[test]
    fn missing_pieces_are_named() {
        let e = read_run(Path::new("/nonexistent/run")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/nonexistent/run: missing: the run directory"
        );

        let run = tempfile::tempdir().unwrap();
        let file = run.path().join("a-file");
        std::fs::write(&file, "x").unwrap();
        let e = read_run(&file).unwrap_err().to_string();
        assert!(e.ends_with("a-file: not a directory: give the run directory (manifest.json, events.jsonl, metrics/)"), "{e}");

        let e = read_run(run.path()).unwrap_err();
        assert!(
            matches!(&e, InputError::Missing { path, .. } if path.ends_with("manifest.json")),
            "{e}"
        );

        let manifest = std::fs::read(fixture("run-mariadb/manifest.json")).unwrap();
        std::fs::write(run.path().join("manifest.json"), manifest).unwrap();
        let e = read_run(run.path()).unwrap_err();
        assert!(
            matches!(&e, InputError::Missing { path, .. } if path.ends_with("events.jsonl")),
            "{e}"
        );
        assert!(
            e.to_string()
                .ends_with("events.jsonl: missing: the execution log (one JSON event per line)")
        );

        // an empty log and no metrics/ make a run with nothing measured
        std::fs::write(run.path().join("events.jsonl"), "").unwrap();
        let data = read_run(run.path()).unwrap();
        assert!(data.events.is_empty() && data.series.is_empty() && data.sources.is_empty());
    }

    /// Mutated inputs (bytes flipped, cut, duplicated, structural characters
    /// spliced in) must come back as `Ok` or `Err`, never as a panic.
    #[test]
    fn mutated_inputs_never_panic() {
        let csv = b"\xef\xbb\xbftimestamp,metric,value,host\r\n1795972079,cpu_usage_pct,1.5,a\r\n2026-11-29T17:08:00Z,query_latency_ms,3,\"b\"\r\n\r\n1795972081.25,request_latency_ms,0,c\n";
        let prom = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"cpu_usage_pct"},"values":[[1795972079,"1"],[1795972080.5,"NaN"],[1795972081,"+Inf"]]}]}}"#;
        let events = std::fs::read(fixture("run-mariadb/events.jsonl")).unwrap();
        let manifest = std::fs::read(fixture("run-mariadb/manifest.json")).unwrap();
        let splice: &[&[u8]] = &[
            b"\n",
            b"\r",
            b",",
            b"\"",
            b"[",
            b"]",
            b"{",
            b"}",
            b":",
            b"\xff",
            b"\xef\xbb\xbf",
            b"-",
            b"1e400",
            b"NaN",
            b"9999999999999",
            b"\\u0000",
            b"null",
            b"0",
        ];
        let mut next = crate::stats::xorshift(0x9e37_79b9_7f4a_7c15);
        for round in 0..3000 {
            let source: &[u8] = match round % 4 {
                0 => csv,
                1 => prom,
                2 => &events,
                _ => &manifest,
            };
            let mut input = source.to_vec();
            crate::ingest::util::mutate(&mut input, &mut next, splice);
            let path = Path::new("metrics/cpu_usage_pct.x");
            let _ = match round % 4 {
                0 => parse_long_csv(path, std::io::Cursor::new(&input)).map(|_| ()),
                1 => parse_prometheus(path, &input).map(|_| ()),
                2 => parse_events(path, &input).map(|_| ()),
                _ => parse_manifest(path, &input).map(|_| ()),
            };
        }
    }
}
