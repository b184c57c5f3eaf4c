//! Prometheus query_range JSON, from memory and from a file as `build` reads
//! it (through the metric mapping, whose fallback takes series the parser
//! does not name).
#![no_main]

use canary_fuzz::{INPUT, check_error, check_samples, fixture_mapping, sample_count, scratch};
use canary_report::ingest::{parse_prometheus, read_metrics_file};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new(INPUT);
    match parse_prometheus(path, data) {
        Ok(samples) => {
            check_samples(&samples);
            assert!(
                sample_count(&samples) <= samples.rows,
                "{} samples from {} points",
                sample_count(&samples),
                samples.rows
            );
        }
        Err(e) => check_error(&e, path),
    }

    // Named as a metric, so that a series without `__name__` has one.
    let file = scratch().join("cpu_usage_pct.json");
    std::fs::write(&file, data).expect("writing the scratch file");
    match read_metrics_file(&file, fixture_mapping()) {
        Ok(Ok(samples)) => check_samples(&samples),
        Ok(Err(why)) => assert!(!why.is_empty(), "skipped without a reason"),
        Err(e) => check_error(&e, &file),
    }
});
