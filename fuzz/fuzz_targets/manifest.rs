//! `manifest.json`.
#![no_main]

use canary_fuzz::check_error;
use canary_report::ingest::parse_manifest;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("run/manifest.json");
    match parse_manifest(path, data) {
        Ok(manifest) => {
            // What the parser returns is what it reads back, once written as JSON.
            let text = serde_json::to_vec(&manifest).expect("a manifest serialises");
            let again = parse_manifest(path, &text).unwrap_or_else(|e| {
                panic!(
                    "its own output does not read back: {e}\n{}",
                    String::from_utf8_lossy(&text)
                )
            });
            assert_eq!(again, manifest);
        }
        Err(e) => check_error(&e, path),
    }
});
