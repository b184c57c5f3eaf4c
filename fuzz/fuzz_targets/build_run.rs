//! The whole `build`: a run directory unpacked from the input (files as
//! `head` prints several: `==> manifest.json <==` then its bytes; see
//! `canary_fuzz::unpack`), read, judged and rendered as Markdown, HTML and
//! JSON. A `thresholds.toml` in the input goes in as `--thresholds`. No
//! panic; a report that holds up when it builds; no report when it fails.
//! `CANARY_FUZZ_VERBOSE=1` prints each input's outcome (for replaying).
#![no_main]

use canary_fuzz::{check_summary, scratch, unpack};
use canary_report::build::{BuildOptions, Format, build};
use canary_report::report::Lang;
use libfuzzer_sys::fuzz_target;
use std::sync::atomic::{AtomicU64, Ordering};

fuzz_target!(|data: &[u8]| {
    static N: AtomicU64 = AtomicU64::new(0);
    let root = scratch().join(format!("run-{}", N.fetch_add(1, Ordering::Relaxed)));
    let run = root.join("run");
    std::fs::create_dir_all(&run).expect("a scratch run directory");
    let mut thresholds = None;
    for (name, contents) in unpack(data) {
        let path = if name.as_os_str() == "thresholds.toml" {
            thresholds = Some(root.join("thresholds.toml"));
            root.join("thresholds.toml")
        } else {
            run.join(&name)
        };
        // A name may clash with a directory made for another (`metrics` and
        // `metrics/a.csv`): then that file is left out.
        if let Some(parent) = path.parent()
            && std::fs::create_dir_all(parent).is_err()
        {
            continue;
        }
        let _ = std::fs::write(&path, contents);
    }
    let out = root.join("out");
    let opts = BuildOptions {
        out: Some(out.clone()),
        thresholds,
        lang: if data.len().is_multiple_of(2) {
            Lang::Th
        } else {
            Lang::En
        },
        formats: Format::ALL.to_vec(),
        mapping: None,
    };
    let result = build(&run, &opts);
    if std::env::var_os("CANARY_FUZZ_VERBOSE").is_some() {
        match &result {
            Ok(built) => eprintln!("built: {:?}", built.data.decision),
            Err(e) => eprintln!("refused: {e:#}"),
        }
    }
    match result {
        Ok(built) => {
            let charts = built
                .files
                .iter()
                .filter(|f| f.extension().is_some_and(|e| e == "svg"))
                .count();
            assert_eq!(
                built.files.len(),
                charts + 3,
                "report.md, report.html, summary.json and the charts: {:?}",
                built.files
            );
            let summary =
                std::fs::read_to_string(out.join("summary.json")).expect("summary.json written");
            check_summary(&summary);
            for name in ["report.md", "report.html"] {
                let text = std::fs::read_to_string(out.join(name)).expect("report written");
                assert!(!text.trim().is_empty(), "{name} is empty");
            }
        }
        Err(e) => {
            let message = format!("{e:#}");
            assert!(!message.trim().is_empty(), "an empty error");
            assert!(
                !out.join("summary.json").exists(),
                "a failed build wrote a report"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&root);
});
