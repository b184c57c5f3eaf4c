//! Grafana's panel CSV export (a `Time` column, then one column per
//! series), as `build` reads a `.csv` in `metrics/` whose header is
//! Grafana's. The first byte picks the mapping's `[grafana] timezone`; the
//! rest is the file. Files that are not Grafana exports are left to
//! `long_csv`.
#![no_main]

use canary_fuzz::{check_error, check_samples, fixture_mapping, scratch};
use canary_report::ingest::{is_grafana_csv, read_metrics_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&options, csv)) = data.split_first() else {
        return;
    };
    let mut mapping = fixture_mapping().clone();
    mapping.grafana.timezone_s = match options & 0b11 {
        0 => mapping.grafana.timezone_s,
        1 => None,
        2 => Some(-12 * 3600),
        _ => Some(14 * 3600 - 1),
    };
    let file = scratch().join("panel.csv");
    std::fs::write(&file, csv).expect("writing the scratch file");
    if !is_grafana_csv(&file) {
        return;
    }
    match read_metrics_file(&file, &mapping) {
        Ok(Ok(samples)) => check_samples(&samples),
        Ok(Err(why)) => assert!(!why.is_empty(), "skipped without a reason"),
        Err(e) => check_error(&e, &file),
    }
});
