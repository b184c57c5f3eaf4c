//! A metric mapping (`RUN/mapping.toml`), then the inputs fixture's
//! Prometheus, Grafana and sysbench files read through it.
#![no_main]

use canary_fuzz::{check_error, check_samples, repo_root, scratch};
use canary_report::ingest::{load_mapping, read_metrics_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = scratch().join("mapping.toml");
    std::fs::write(&file, data).expect("writing the scratch file");
    let mapping = match load_mapping(scratch(), Some(&file)) {
        Ok(mapping) => mapping,
        Err(e) => {
            check_error(&e, &file);
            return;
        }
    };
    if let Some(start) = mapping.sysbench.start {
        assert!(start.is_finite(), "[sysbench] start {start} accepted");
    }
    let inputs = repo_root().join("tests/fixtures/inputs");
    for name in [
        "grafana-system-panel.csv",
        "mysql_processlist_threads_by_state.json",
        "mysql_threads_connected.json",
        "scrape_up.json",
        "sysbench-oltp.sysbench.log",
    ] {
        let path = inputs.join(name);
        match read_metrics_file(&path, &mapping) {
            Ok(Ok(samples)) => check_samples(&samples),
            Ok(Err(why)) => assert!(!why.is_empty(), "{name} skipped without a reason"),
            Err(e) => check_error(&e, &path),
        }
    }
});
