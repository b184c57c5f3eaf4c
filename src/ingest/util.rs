//! Small pieces shared by the readers: file reading, JSON error shaping,
//! timestamp and value parsing from bytes.

use crate::error::InputError;
use crate::model::UnixSeconds;
use chrono::DateTime;
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

pub use crate::model::format_unix;

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

/// Whether [`check_unix_seconds`] takes `t`, without a message.
#[inline]
pub fn is_plausible(t: UnixSeconds) -> bool {
    Implausible::check(t).is_ok()
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
///
/// The common shapes (`1795972079.250123`, `2026-11-29T17:07:59.25Z`) take a
/// fast path that allocates nothing and gives the same value, to the bit, as
/// the general one; anything else, and every error, goes the general way.
pub fn parse_timestamp(bytes: &[u8]) -> Result<UnixSeconds, String> {
    let fast = match bytes.first() {
        Some(b'0'..=b'9') if bytes.get(4) == Some(&b'-') => fast_rfc3339_utc(bytes),
        Some(b'0'..=b'9' | b'.') => fast_decimal(bytes),
        _ => None,
    };
    if let Some(t) = fast
        && Implausible::check(t).is_ok()
    {
        return Ok(t);
    }
    parse_timestamp_general(bytes)
}

fn parse_timestamp_general(bytes: &[u8]) -> Result<UnixSeconds, String> {
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

/// Parses a sample value field: a finite decimal number. Plain decimals
/// (`12.5`, `-3`) take a fast path that gives the same value as the general one.
pub fn parse_value(bytes: &[u8]) -> Result<f64, String> {
    let fast = match bytes.first() {
        Some(b'-') => fast_decimal(&bytes[1..]).map(|v| -v),
        Some(b'+') => fast_decimal(&bytes[1..]),
        _ => fast_decimal(bytes),
    };
    if let Some(v) = fast {
        return Ok(v);
    }
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

/// Powers of ten that an f64 holds exactly.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `digits[.digits]` or `.digits` (no sign, no exponent) as the nearest f64,
/// when Clinger's fast path applies: the digits as an integer below 2⁵³ and at
/// most 22 decimals, so that both operands of one division are exact and
/// IEEE division rounds the quotient correctly, as `str::parse` would.
/// `None` for anything else (the caller then takes the general path).
fn fast_decimal(bytes: &[u8]) -> Option<f64> {
    let n = bytes.len();
    let (int_end, frac_start) = match bytes.iter().position(|&b| b == b'.') {
        Some(dot) => (dot, dot + 1),
        None => (n, n),
    };
    let frac_len = n - frac_start;
    let digits = int_end + frac_len;
    if digits == 0 || digits > 18 || int_end > 16 || frac_len > 16 {
        return None;
    }
    let int = digits_value(bytes, 0, int_end)?;
    let frac = digits_value(bytes, frac_start, n)?;
    let mantissa = int * 10u64.pow(frac_len as u32) + frac;
    if mantissa > 1 << 53 {
        return None;
    }
    Some(mantissa as f64 / EXACT_POWERS_OF_TEN[frac_len])
}

/// The value of the decimal digits `bytes[start..end]` (at most 16), or
/// `None` if one is not a digit.
fn digits_value(bytes: &[u8], start: usize, end: usize) -> Option<u64> {
    if end - start > 8 {
        Some(digits8(bytes, start, end - 8)? * 100_000_000 + digits8(bytes, end - 8, end)?)
    } else {
        digits8(bytes, start, end)
    }
}

/// ASCII '0' in every byte.
const ZEROS: u64 = 0x3030_3030_3030_3030;

/// The value of `bytes[start..end]` (at most 8 digits), read as one word when
/// `bytes` has 8 bytes from `start` or up to `end`: the digits are moved to
/// the word's top and '0's put below them, which add nothing.
fn digits8(bytes: &[u8], start: usize, end: usize) -> Option<u64> {
    let k = end - start;
    let word = if k == 0 {
        return Some(0);
    } else if let Some(w) = bytes.get(start..start + 8) {
        let w = u64::from_le_bytes(w.try_into().ok()?);
        if k == 8 {
            w
        } else {
            (w << (8 * (8 - k))) | (ZEROS >> (8 * k))
        }
    } else if let Some(w) = end.checked_sub(8).and_then(|s| bytes.get(s..end)) {
        let w = u64::from_le_bytes(w.try_into().ok()?);
        if k == 8 {
            w
        } else {
            (w & !(u64::MAX >> (8 * k))) | (ZEROS >> (8 * k))
        }
    } else {
        let mut acc = 0u64;
        for &b in bytes.get(start..end)? {
            if !b.is_ascii_digit() {
                return None;
            }
            acc = acc * 10 + u64::from(b - b'0');
        }
        return Some(acc);
    };
    eight_digits(word)
}

/// The value of eight ASCII digits read as a little-endian u64 (SWAR, as in
/// the standard library's float parser); `None` if one is not a digit.
fn eight_digits(v: u64) -> Option<u64> {
    let above = v.wrapping_add(0x4646_4646_4646_4646);
    let below = v.wrapping_sub(0x3030_3030_3030_3030);
    if (above | below) & 0x8080_8080_8080_8080 != 0 {
        return None;
    }
    const MASK: u64 = 0x0000_00ff_0000_00ff;
    const MUL1: u64 = 0x000f_4240_0000_0064;
    const MUL2: u64 = 0x0000_2710_0000_0001;
    let v = below.wrapping_mul(10) + (below >> 8);
    let v1 = (v & MASK).wrapping_mul(MUL1);
    let v2 = ((v >> 16) & MASK).wrapping_mul(MUL2);
    Some(u64::from((v1.wrapping_add(v2) >> 32) as u32))
}

/// Two ASCII digits as a number.
fn two_digits(bytes: &[u8], at: usize) -> Option<u32> {
    match bytes.get(at..at + 2)? {
        [a @ b'0'..=b'9', b @ b'0'..=b'9'] => Some(u32::from(a - b'0') * 10 + u32::from(b - b'0')),
        _ => None,
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (1 to 9 fraction digits, upper-case T
/// and Z, a valid date and time) as unix seconds, computed as the general
/// path computes it from chrono's parse. `None` for any other shape.
fn fast_rfc3339_utc(bytes: &[u8]) -> Option<f64> {
    if bytes.len() < 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || bytes[10] != b'T'
        || bytes[13] != b':'
        || bytes[16] != b':'
        || *bytes.last()? != b'Z'
    {
        return None;
    }
    let year = two_digits(bytes, 0)? * 100 + two_digits(bytes, 2)?;
    let (month, day) = (two_digits(bytes, 5)?, two_digits(bytes, 8)?);
    let (hour, minute, second) = (
        two_digits(bytes, 11)?,
        two_digits(bytes, 14)?,
        two_digits(bytes, 17)?,
    );
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > month_days || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let nanos = match &bytes[19..bytes.len() - 1] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            let mut n = 0u32;
            for &b in fraction {
                if !b.is_ascii_digit() {
                    return None;
                }
                n = n * 10 + u32::from(b - b'0');
            }
            n * 10u32.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
    // days_from_civil).
    let (y, m, d) = (i64::from(year), i64::from(month), i64::from(day));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some(secs as f64 + f64::from(nanos) * 1e-9)
}

/// Metrics whose values are durations in milliseconds: never negative.
pub fn is_latency_key(key: &str) -> bool {
    key.ends_with("_ms")
}

/// Applies one to four random edits to `input`: truncate, delete a byte,
/// splice in one of `splice`, or repeat the tail. For the never-panic tests.
#[cfg(test)]
pub(crate) fn mutate(input: &mut Vec<u8>, next: &mut impl FnMut() -> u64, splice: &[&[u8]]) {
    for _ in 0..(1 + next() % 4) {
        let at = (next() as usize) % (input.len() + 1);
        match next() % 4 {
            0 => input.truncate(at),
            1 => {
                if at < input.len() {
                    input.remove(at);
                }
            }
            2 => {
                let piece = splice[(next() as usize) % splice.len()];
                input.splice(at..at, piece.iter().copied());
            }
            _ => {
                let tail = input.get(at..).unwrap_or_default().to_vec();
                input.extend_from_slice(&tail);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

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

    /// The fast paths give what the general ones give, to the bit.
    #[test]
    fn fast_paths_agree_with_the_general_parsers() {
        let decimals = [
            "0",
            "7",
            "1795972079",
            "1795972079.5",
            "1795972079.250123",
            "1795972079.",
            ".5",
            "0.1",
            "0.30000000000000004",
            "2.780",
            "24.566",
            "123456789012.345678",
            "9007199254740993",
            "900719925474099.3",
            "1e3",
            "1.2.3",
            "",
            ".",
            "00012.50",
        ];
        for text in decimals {
            let general = std::str::from_utf8(text.as_bytes())
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .filter(|v| v.is_finite());
            assert_eq!(
                parse_value(text.as_bytes()).ok().map(f64::to_bits),
                general.map(f64::to_bits),
                "{text}"
            );
            if let Some(fast) = fast_decimal(text.as_bytes()) {
                assert_eq!(Some(fast.to_bits()), general.map(f64::to_bits), "{text}");
            }
        }
        assert_eq!(
            parse_value(b"-0").map(f64::to_bits),
            Ok((-0.0f64).to_bits())
        );
        assert_eq!(parse_value(b"+2.5"), Ok(2.5));

        let stamps = [
            "2026-11-29T17:07:59Z",
            "2026-11-29T17:07:59.5Z",
            "2026-11-20T19:45:00.253Z",
            "2024-02-29T23:59:59.999999999Z",
            "2000-03-01T00:00:00.000001Z",
            "2099-12-31T23:59:59.1Z",
            "2023-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-29T24:00:00Z",
            "2026-11-29T17:07:60Z",
            "2026-11-29t17:07:59z",
            "2026-11-29T17:07:59.Z",
            "2026-11-29T17:07:59.1234567891Z",
            "2026-11-29T17:07:59+07:00",
            "1795972079.250123",
            "946684800",
            "946684799.999999",
        ];
        for text in stamps {
            let general = parse_timestamp_general(text.as_bytes());
            assert_eq!(
                parse_timestamp(text.as_bytes()).map(f64::to_bits),
                general.clone().map(f64::to_bits),
                "{text}"
            );
            let fast = fast_rfc3339_utc(text.as_bytes()).or(fast_decimal(text.as_bytes()));
            if let (Some(fast), Ok(general)) = (fast, general) {
                assert_eq!(fast.to_bits(), general.to_bits(), "{text}");
            }
        }
        // every day of a few years, at a time with a fraction
        let mut day = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
        while day.year() < 2029 {
            let text = format!("{day}T13:57:08.123456Z");
            assert_eq!(
                fast_rfc3339_utc(text.as_bytes()).map(f64::to_bits),
                parse_timestamp_general(text.as_bytes())
                    .ok()
                    .map(f64::to_bits),
                "{text}"
            );
            day = day.succ_opt().unwrap();
        }
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
