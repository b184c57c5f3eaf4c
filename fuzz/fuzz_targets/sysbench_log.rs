//! sysbench `--report-interval` output, as `build` reads a `*.sysbench.log`
//! in `metrics/`. The first byte picks the mapping's `[sysbench]` options
//! (start near either end of the plausible range, tps or qps, where the
//! latency goes); the rest is the log.
#![no_main]

use canary_fuzz::{check_error, check_samples, scratch};
use canary_report::ingest::{Mapping, load_mapping, read_metrics_file};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const STARTS: [&str; 3] = [
    "2026-11-20T19:44:30.617Z",
    "2000-01-01T00:00:00Z",
    "2099-12-31T23:59:59.5Z",
];
const LATENCY: [&str; 3] = ["auto", "none", "request_latency_p99_ms"];

/// Every combination of the options, loaded once through the real loader.
fn mappings() -> &'static Vec<Mapping> {
    static ALL: OnceLock<Vec<Mapping>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = Vec::new();
        for start in STARTS {
            for throughput in ["tps", "qps"] {
                for latency in LATENCY {
                    let file = scratch().join("sysbench-mapping.toml");
                    let text = format!(
                        "[sysbench]\nstart = \"{start}\"\nthroughput = \"{throughput}\"\n\
                         latency = \"{latency}\"\n"
                    );
                    std::fs::write(&file, text).expect("writing the scratch file");
                    all.push(load_mapping(scratch(), Some(&file)).expect("the mapping loads"));
                }
            }
        }
        all
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&options, log)) = data.split_first() else {
        return;
    };
    let all = mappings();
    let mapping = &all[usize::from(options) % all.len()];
    let file = scratch().join("fuzz.sysbench.log");
    std::fs::write(&file, log).expect("writing the scratch file");
    match read_metrics_file(&file, mapping) {
        Ok(Ok(samples)) => check_samples(&samples),
        Ok(Err(why)) => panic!("a *.sysbench.log skipped: {why}"),
        Err(e) => check_error(&e, &file),
    }
});
