//! `events.jsonl`: one JSON event per line, in time order.
#![no_main]

use canary_fuzz::check_error;
use canary_report::ingest::{check_unix_seconds, parse_events};
use canary_report::model::{EventRecord, unix_seconds};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("run/events.jsonl");
    match parse_events(path, data) {
        Ok(log) => {
            for r in &log.records {
                let t = unix_seconds(&r.ts);
                assert!(check_unix_seconds(t).is_ok(), "implausible ts {t} escaped");
            }
            assert!(
                log.records.is_sorted_by(|a, b| a.ts <= b.ts),
                "events out of time order escaped"
            );
            // What the parser returns is what it reads back, once written as JSON.
            let text: String = log
                .records
                .iter()
                .map(|r| serde_json::to_string(r).expect("an event serialises") + "\n")
                .collect();
            let again = parse_events(path, text.as_bytes())
                .unwrap_or_else(|e| panic!("its own output does not read back: {e}\n{text}"));
            let same: Vec<&EventRecord> = again.records.iter().collect();
            assert_eq!(same, log.records.iter().collect::<Vec<_>>());
        }
        Err(e) => check_error(&e, path),
    }
});
