//! The number and time fields every text parser uses, against the standard
//! library and chrono: `parse_value`'s fast path must give what `str::parse`
//! gives, to the bit, and accept nothing it refuses; `parse_timestamp`'s fast
//! paths what its general path (a decimal by `str::parse`, else RFC 3339 by
//! chrono) gives, within the plausible range.
#![no_main]

use canary_report::ingest::{check_unix_seconds, parse_timestamp, parse_value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = std::str::from_utf8(data).ok();

    let want = text
        .and_then(|t| t.parse::<f64>().ok())
        .filter(|v| v.is_finite());
    match (parse_value(data), want) {
        (Ok(got), Some(want)) => assert_eq!(
            got.to_bits(),
            want.to_bits(),
            "parse_value gives {got:e}, str::parse {want:e}"
        ),
        (Err(_), None) => {}
        (got, want) => panic!("parse_value {got:?}, str::parse {want:?}"),
    }

    let want = text.and_then(reference_timestamp);
    match (parse_timestamp(data), want) {
        (Ok(got), Some(want)) => assert_eq!(
            got.to_bits(),
            want.to_bits(),
            "parse_timestamp gives {got}, the reference {want}"
        ),
        (Err(_), None) => {}
        (got, want) => panic!("parse_timestamp {got:?}, the reference {want:?}"),
    }
});

/// The documented forms: `-?digits[.digits]` or `-?.digits` as unix seconds,
/// anything else RFC 3339 with an offset; plausible (2000 to 2100) or none.
fn reference_timestamp(text: &str) -> Option<f64> {
    let body = text.strip_prefix('-').unwrap_or(text);
    let decimal = body.bytes().any(|b| b.is_ascii_digit())
        && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && body.bytes().filter(|&b| b == b'.').count() <= 1;
    let t = if decimal {
        text.parse::<f64>().ok()?
    } else {
        let dt = chrono::DateTime::parse_from_rfc3339(text).ok()?;
        dt.timestamp() as f64 + f64::from(dt.timestamp_subsec_nanos()) * 1e-9
    };
    check_unix_seconds(t).is_ok().then_some(t)
}
