//! A `--thresholds` TOML: parsed, then judged against the corpus's base run
//! (tests/corpus/_base), whose summary must hold up whatever the bounds.
#![no_main]

use canary_fuzz::{check_summary, repo_root};
use canary_report::build::judge;
use canary_report::ingest::read_run;
use canary_report::model::RunData;
use canary_report::report::{render_json, summary::ThresholdsUsed};
use canary_report::thresholds::Thresholds;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn base_run() -> &'static RunData {
    static RUN: OnceLock<RunData> = OnceLock::new();
    RUN.get_or_init(|| {
        read_run(&repo_root().join("tests/corpus/_base")).expect("the base run reads")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let values = match Thresholds::from_toml_str(text) {
        Ok(values) => values,
        Err(message) => {
            assert!(!message.trim().is_empty(), "an empty error");
            return;
        }
    };
    assert!(
        values.rolling_window_s.is_finite() && values.rolling_window_s > 0.0,
        "rolling_window_s {} accepted",
        values.rolling_window_s
    );
    for (metric, t) in &values.metrics {
        for bound in [t.warning, t.critical].into_iter().flatten() {
            assert!(bound.is_finite(), "{metric:?}: bound {bound} accepted");
        }
        assert!(
            t.sustained_for_s.is_finite() && t.sustained_for_s >= 0.0,
            "{metric:?}: sustained_for_s {} accepted",
            t.sustained_for_s
        );
    }
    let used = ThresholdsUsed {
        source: "fuzz.toml".into(),
        sha256: None,
        values,
    };
    let judged = judge(base_run(), used);
    check_summary(&render_json(&judged.data));
});
