//! Small pieces shared by the readers: file reading, JSON error shaping,
//! timestamp and value parsing from bytes.

use crate::error::InputError;
use crate::model::UnixSeconds;
use chrono::{DateTime, SecondsFormat};
use std::path::Path;

/// 2000-01-01T00:00:00Z: earlier timestamps are taken for a mistake.
pub const EARLIEST_PLAUSIBLE: UnixSeconds = 946_684_800.0;
/// 2100-01-01T00:00:00Z: this and later timestamps are taken for a mistake.
pub const LATEST_PLAUSIBLE: UnixSeconds = 4_102_444_800.0;
/// A numeric timestamp above this is in milliseconds (or finer), not seconds.
pub const MILLISECONDS_THRESHOLD: f64 = 1e11;

pub const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// How many characters of an offending input value an error message quotes.
const QUOTE_LIMIT: usize = 60;

/// Reads a whole file that must exist; a missing file is [`InputError::Missing`].
pub fn read_required(path: &Path, what: &str) -> Result<Vec<u8>, InputError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(InputError::Missing {
            path: path.to_path_buf(),
            what: what.to_owned(),
        }),
        Err(source) => Err(InputError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The bytes without a leading UTF-8 byte order mark.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes)
}

/// An input value as an error message quotes it: lossy UTF-8, cut when long.
pub fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut chars = text.chars();
    let mut out: String = chars.by_ref().take(QUOTE_LIMIT).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

/// serde_json's message without its trailing "at line L column C" (the line
/// goes into the error's location instead). Syntax errors keep the column.
pub fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if e.line() == 0 {
        return text;
    }
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let base = text.strip_suffix(suffix.as_str()).unwrap_or(&text);
    match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("{base} (column {})", e.column())
        }
        _ => base.to_owned(),
    }
}

/// serde_json's line of an error, when it has one.
pub fn json_line(e: &serde_json::Error) -> Option<u64> {
    (e.line() > 0).then_some(e.line() as u64)
}

/// The field path of a serde_path_to_error error, `None` at the root.
pub fn field_of(path: &serde_path_to_error::Path) -> Option<String> {
    let text = path.to_string();
    (text != ".").then_some(text)
}

/// An [`InputError::Invalid`] from a serde_json error traced with serde_path_to_error.
pub fn json_error(
    path: &Path,
    line: Option<u64>,
    err: serde_path_to_error::Error<serde_json::Error>,
) -> InputError {
    let field = field_of(err.path());
    let inner = err.into_inner();
    let line = line.or_else(|| json_line(&inner));
    InputError::invalid(path, line, field.as_deref(), json_message(&inner))
}

/// Formats unix seconds as RFC 3339 UTC, for messages.
pub fn format_unix(t: UnixSeconds) -> String {
    let secs = t.floor();
    let nanos = ((t - secs) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
    match DateTime::from_timestamp(secs as i64, nanos) {
        Some(dt) => dt.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        None => format!("{t} s"),
    }
}

/// Why a timestamp is not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Implausible {
    NotFinite,
    Milliseconds,
    Before2000,
    After2100,
}

impl Implausible {
    fn check(t: UnixSeconds) -> Result<(), Implausible> {
        if !t.is_finite() {
            Err(Implausible::NotFinite)
        } else if t > MILLISECONDS_THRESHOLD {
            Err(Implausible::Milliseconds)
        } else if t < EARLIEST_PLAUSIBLE {
            Err(Implausible::Before2000)
        } else if t >= LATEST_PLAUSIBLE {
            Err(Implausible::After2100)
        } else {
            Ok(())
        }
    }

    fn describe(self, t: UnixSeconds, raw: &str) -> String {
        match self {
            Implausible::NotFinite => format!("not a finite timestamp: `{raw}`"),
            Implausible::Milliseconds => format!(
                "`{raw}` looks like milliseconds (or a finer unit): give unix seconds \
                 (decimals allowed) or RFC 3339"
            ),
            Implausible::Before2000 => format!(
                "implausible timestamp `{raw}` ({}): before 2000-01-01",
                format_unix(t)
            ),
            Implausible::After2100 => format!(
                "implausible timestamp `{raw}` ({}): after 2100-01-01",
                format_unix(t)
            ),
        }
    }
}

/// Checks that unix seconds are plausible for a canary run: in seconds, not
/// milliseconds, and from 2000-01-01 to before 2100-01-01.
pub fn check_unix_seconds(t: UnixSeconds) -> Result<(), String> {
    Implausible::check(t).map_err(|why| why.describe(t, &t.to_string()))
}

/// `-?digits[.digits]` or `-?.digits`: a unix-seconds timestamp.
fn is_decimal_number(bytes: &[u8]) -> bool {
    let body = bytes.strip_prefix(b"-").unwrap_or(bytes);
    let mut digits = 0usize;
    let mut dots = 0usize;
    for &b in body {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => dots += 1,
            _ => return false,
        }
    }
    digits > 0 && dots <= 1
}

/// Parses a timestamp field: RFC 3339 with an offset, or unix seconds as an
/// integer or a decimal. Returns unix seconds; the error is a message.
pub fn parse_timestamp(bytes: &[u8]) -> Result<UnixSeconds, String> {
    if bytes.is_empty() {
        return Err("empty timestamp".to_owned());
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(format!("not valid UTF-8: `{}`", quote(bytes)));
    };
    let t = if is_decimal_number(bytes) {
        text.parse::<f64>()
            .map_err(|_| format!("not a timestamp: `{}`", quote(bytes)))?
    } else {
        let dt = DateTime::parse_from_rfc3339(text).map_err(|e| {
            format!(
                "not a timestamp: `{}` ({e}); expected RFC 3339 with an offset, \
                 e.g. `2026-11-29T17:08:29Z`, or unix seconds",
                quote(bytes)
            )
        })?;
        dt.timestamp() as f64 + f64::from(dt.timestamp_subsec_nanos()) * 1e-9
    };
    Implausible::check(t).map_err(|why| why.describe(t, &quote(bytes)))?;
    Ok(t)
}

/// Parses a sample value field: a finite decimal number.
pub fn parse_value(bytes: &[u8]) -> Result<f64, String> {
    if bytes.is_empty() {
        return Err("empty value".to_owned());
    }
    let parsed = std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| text.parse::<f64>().ok());
    match parsed {
        Some(v) if v.is_finite() => Ok(v),
        Some(_) => Err(format!("not a finite number: `{}`", quote(bytes))),
        None => Err(format!("not a number: `{}`", quote(bytes))),
    }
}

/// Metrics whose values are durations in milliseconds: never negative.
pub fn is_latency_key(key: &str) -> bool {
    key.ends_with("_ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_each_accepted_form() {
        assert_eq!(parse_timestamp(b"1795972079"), Ok(1_795_972_079.0));
        assert_eq!(parse_timestamp(b"1795972079.25"), Ok(1_795_972_079.25));
        assert_eq!(
            parse_timestamp(b"2026-11-29T17:07:59Z"),
            Ok(1_795_972_079.0)
        );
        assert_eq!(
            parse_timestamp(b"2026-11-30T00:07:59.5+07:00"),
            Ok(1_795_972_079.5)
        );
    }

    #[test]
    fn milliseconds_are_named_as_such() {
        let e = parse_timestamp(b"1795972079000").unwrap_err();
        assert!(e.contains("looks like milliseconds"), "{e}");
    }

    #[test]
    fn implausible_timestamps() {
        let e = parse_timestamp(b"12345").unwrap_err();
        assert!(
            e.contains("implausible") && e.contains("before 2000-01-01"),
            "{e}"
        );
        let e = parse_timestamp(b"2100-01-01T00:00:00Z").unwrap_err();
        assert!(
            e.contains("implausible") && e.contains("after 2100-01-01"),
            "{e}"
        );
        let e = parse_timestamp(b"-5").unwrap_err();
        assert!(e.contains("implausible"), "{e}");
    }

    #[test]
    fn timestamp_without_offset_or_garbage_is_rejected() {
        let e = parse_timestamp(b"2026-11-29T17:07:59").unwrap_err();
        assert!(
            e.contains("not a timestamp") && e.contains("RFC 3339"),
            "{e}"
        );
        assert!(parse_timestamp(b"").unwrap_err().contains("empty"));
        assert!(parse_timestamp(b"1.2.3").is_err());
        assert!(parse_timestamp(b"\xff\xfe").unwrap_err().contains("UTF-8"));
        assert!(parse_timestamp(b"1e9").is_err());
    }

    #[test]
    fn values_must_be_finite_numbers() {
        assert_eq!(parse_value(b"1.5"), Ok(1.5));
        assert_eq!(parse_value(b"-2"), Ok(-2.0));
        assert!(parse_value(b"").unwrap_err().contains("empty"));
        for bad in [&b"NaN"[..], b"inf", b"-Infinity"] {
            assert!(
                parse_value(bad)
                    .unwrap_err()
                    .contains("not a finite number")
            );
        }
        assert!(
            parse_value(b"abc")
                .unwrap_err()
                .contains("not a number: `abc`")
        );
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = vec![b'x'; 1000];
        let q = quote(&long);
        assert!(q.chars().count() <= QUOTE_LIMIT + 1 && q.ends_with('…'));
    }

    #[test]
    fn unix_seconds_format_as_rfc3339() {
        assert_eq!(format_unix(1_795_972_079.0), "2026-11-29T17:07:59Z");
        assert_eq!(format_unix(1_795_972_079.5), "2026-11-29T17:07:59.500Z");
    }
}
