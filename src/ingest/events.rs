//! `events.jsonl` → [`EventRecord`]s: one JSON object per line, in time order.

use super::util::{field_of, json_message, read_required, strip_bom};
use crate::error::InputError;
use crate::model::{Event, EventRecord};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use std::path::Path;

/// The execution log as read, with what deserves a user's attention.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventLog {
    /// In file order, which is time order (checked).
    pub records: Vec<EventRecord>,
    /// e.g. `events.jsonl:7: unknown field `responce_ms` ignored (...)`.
    pub warnings: Vec<String>,
    /// Lines of the first `ddl_start` and the first `ddl_end`.
    pub ddl_lines: (Option<u64>, Option<u64>),
}

/// Reads `events.jsonl`. A missing file is [`InputError::Missing`]; an empty
/// file is an empty log.
pub fn read_events(path: &Path) -> Result<EventLog, InputError> {
    let bytes = read_required(path, "the execution log (one JSON event per line)")?;
    let log = parse_events(path, &bytes)?;
    check_ddl_order(path, log.ddl_lines)?;
    Ok(log)
}

/// A `ddl_end` before its `ddl_start` (or with none) leaves the DDL's window
/// unknowable: the whole log is refused, naming both lines.
pub fn check_ddl_order(
    path: &Path,
    (start, end): (Option<u64>, Option<u64>),
) -> Result<(), InputError> {
    match (start, end) {
        (start, Some(end)) if start.is_none_or(|s| end < s) => {
            let why = match start {
                Some(s) => format!("ddl_end comes before the ddl_start on line {s}"),
                None => "ddl_end with no ddl_start".to_string(),
            };
            Err(InputError::invalid(
                path,
                Some(end),
                Some("type"),
                format!("{why}: the log contradicts itself and the DDL's window cannot be told"),
            ))
        }
        _ => Ok(()),
    }
}

/// Parses the bytes of an events file; `path` is used in messages (errors
/// show it whole, warnings its file name).
///
/// Blank lines are skipped, CRLF and a BOM on line 1 are tolerated. Errors
/// name the 1-based line and the field. Events must be in non-decreasing `ts`
/// order.
pub fn parse_events(path: &Path, bytes: &[u8]) -> Result<EventLog, InputError> {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut log = EventLog::default();
    let mut previous: Option<(u64, DateTime<Utc>)> = None;
    // Lines of the first ddl_start and ddl_end: an end before its start
    // leaves the DDL's window unknowable, and is refused.
    let mut ddl_lines: (Option<u64>, Option<u64>) = (None, None);
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = index as u64 + 1;
        let raw = if index == 0 { strip_bom(raw) } else { raw };
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = std::str::from_utf8(raw).map_err(|e| {
            InputError::invalid(
                path,
                Some(line_no),
                None,
                format!(
                    "not valid UTF-8 (at byte {} of the line)",
                    e.valid_up_to() + 1
                ),
            )
        })?;
        if text.trim().is_empty() {
            continue;
        }
        let record = parse_event_line(path, line_no, text, &name, &mut log.warnings)?;
        check_record(&record).map_err(|(field, message)| {
            InputError::invalid(path, Some(line_no), Some(field), message)
        })?;
        match record.event {
            Event::DdlStart { .. } => {
                ddl_lines.0.get_or_insert(line_no);
            }
            Event::DdlEnd { .. } => {
                ddl_lines.1.get_or_insert(line_no);
            }
            _ => {}
        }
        if let Some((prev_line, prev_ts)) = previous
            && record.ts < prev_ts
        {
            return Err(InputError::invalid(
                path,
                Some(line_no),
                Some("ts"),
                format!(
                    "out of order: the event on line {line_no} ({}) is earlier than the one \
                     on line {prev_line} ({}); events must be in time order",
                    record.ts.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                    prev_ts.to_rfc3339_opts(SecondsFormat::AutoSi, true)
                ),
            ));
        }
        previous = Some((line_no, record.ts));
        log.records.push(record);
    }
    log.ddl_lines = ddl_lines;
    Ok(log)
}

/// What a line's types cannot say: a plausible time, no negative durations,
/// rollback steps 1 to 6, and a DDL that ends after it starts. Returns the
/// field at fault and why.
fn check_record(record: &EventRecord) -> Result<(), (&'static str, String)> {
    let t = crate::model::unix_seconds(&record.ts);
    super::util::check_unix_seconds(t).map_err(|why| ("ts", why))?;
    let non_negative = |field: &'static str, v: Option<f64>| match v {
        Some(x) if !x.is_finite() || x < 0.0 => Err((
            field,
            format!("a negative or non-finite duration is not possible: {x}"),
        )),
        _ => Ok(()),
    };
    match &record.event {
        Event::KillSwitchCheck { response_ms, .. } => non_negative("response_ms", *response_ms),
        Event::DdlEnd { duration_s, .. } => non_negative("duration_s", *duration_s),
        Event::RollbackStep { step, .. } if !(1..=6).contains(step) => Err((
            "step",
            format!("rollback steps are numbered 1 to 6 (template 5.3), found {step}"),
        )),
        _ => Ok(()),
    }
}

/// Parses one non-blank line of the log.
fn parse_event_line(
    path: &Path,
    line_no: u64,
    text: &str,
    name: &str,
    warnings: &mut Vec<String>,
) -> Result<EventRecord, InputError> {
    // A Value first (serde_json's recursion limit applies), so that a failing
    // line can be probed for the field at fault.
    let value: Value = serde_json::from_str(text)
        .map_err(|e| InputError::invalid(path, Some(line_no), None, json_message(&e)))?;
    match serde_path_to_error::deserialize::<_, EventRecord>(&value) {
        Ok(record) => {
            warn_unknown_fields(&value, &record, name, line_no, warnings);
            Ok(record)
        }
        Err(err) => {
            let message = err.inner().to_string();
            let (field, message) = match field_of(err.path()) {
                Some(field) => (Some(field), message),
                None => locate_fault(&value, message),
            };
            let message = if field.as_deref() == Some("ts") && !message.starts_with("missing") {
                format!("{message} (expected RFC 3339 with an offset, e.g. `2026-11-29T17:08:29Z`)")
            } else {
                message
            };
            Err(InputError::invalid(
                path,
                Some(line_no),
                field.as_deref(),
                message,
            ))
        }
    }
}

/// The event type's fields sit behind `#[serde(flatten)]`, where serde loses
/// the path of an error. Find the field by message (missing fields) or by
/// removing one field at a time: the field whose removal changes the error is
/// the one at fault.
fn locate_fault(value: &Value, message: String) -> (Option<String>, String) {
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let field = field.to_owned();
        let message = match value.get("type").and_then(Value::as_str) {
            Some(kind) if field != "type" => format!("missing (required in `{kind}` events)"),
            _ => "missing".to_owned(),
        };
        return (Some(field), message);
    }
    let Some(object) = value.as_object() else {
        return (None, message);
    };
    // `ts` is outside the flatten (its errors have a path); `type` goes last,
    // as removing it changes any error.
    let candidates = object
        .keys()
        .filter(|k| *k != "ts" && *k != "type")
        .chain(object.keys().filter(|k| *k == "type"));
    for key in candidates {
        let mut without: Map<String, Value> = object.clone();
        without.remove(key);
        let same = match serde_json::from_value::<EventRecord>(Value::Object(without)) {
            Ok(_) => false,
            Err(e) => e.to_string() == message,
        };
        if !same {
            return (Some(key.clone()), message);
        }
    }
    (None, message)
}

/// The event types ignore fields they do not know; say so, since a misspelt
/// optional field (`responce_ms`) would otherwise vanish silently.
fn warn_unknown_fields(
    value: &Value,
    record: &EventRecord,
    name: &str,
    line_no: u64,
    warnings: &mut Vec<String>,
) {
    let (Some(input), Ok(Value::Object(known))) = (value.as_object(), serde_json::to_value(record))
    else {
        return;
    };
    let kind = input.get("type").and_then(Value::as_str).unwrap_or("?");
    for (key, v) in input {
        if !known.contains_key(key) && !v.is_null() {
            warnings.push(format!(
                "{name}:{line_no}: unknown field `{key}` ignored (not a field of `{kind}` events)"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Event, SwitchState};

    const KS_OK: &str = r#"{"ts":"2026-11-29T17:10:00Z","type":"kill_switch_check","checkpoint":"Pre-execution","global":"off","connection":"off","response_ms":42.5}"#;

    fn parse(text: &str) -> Result<EventLog, InputError> {
        parse_events(Path::new("run/events.jsonl"), text.as_bytes())
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn lines_parse_blank_lines_crlf_and_bom_tolerated() {
        let text = format!(
            "\u{feff}{{\"ts\":\"2026-11-29T17:00:00Z\",\"type\":\"phase_start\",\"phase\":\"baseline\"}}\r\n\r\n   \n{KS_OK}\r\n"
        );
        let log = parse(&text).unwrap();
        assert_eq!(log.records.len(), 2);
        assert!(log.warnings.is_empty(), "{:?}", log.warnings);
        assert!(matches!(
            log.records[1].event,
            Event::KillSwitchCheck {
                global: SwitchState::Off,
                ..
            }
        ));
    }

    #[test]
    fn empty_file_is_an_empty_log() {
        assert_eq!(parse("").unwrap().records.len(), 0);
        assert_eq!(parse("\n\r\n").unwrap().records.len(), 0);
    }

    #[test]
    fn bad_variant_names_line_and_field() {
        let bad = KS_OK.replace(r#""global":"off""#, r#""global":"maybe""#);
        let text = format!("{KS_OK}\n\n{KS_OK}\n{KS_OK}\n{KS_OK}\n{KS_OK}\n{bad}\n");
        assert_eq!(
            err(&text),
            "run/events.jsonl:7: field `global`: unknown variant `maybe`, expected one of `off`, `on`, `unknown`"
        );
    }

    #[test]
    fn missing_field_is_named() {
        let bad = KS_OK.replace(r#""connection":"off","#, "");
        assert_eq!(
            err(&bad),
            "run/events.jsonl:1: field `connection`: missing (required in `kill_switch_check` events)"
        );
    }

    #[test]
    fn wrong_type_of_an_optional_field_is_named() {
        let bad = KS_OK.replace("42.5", r#""fast""#);
        let e = err(&bad);
        assert!(
            e.starts_with("run/events.jsonl:1: field `response_ms`: invalid type"),
            "{e}"
        );
    }

    #[test]
    fn out_of_range_number_is_named() {
        let line = r#"{"ts":"2026-11-29T17:10:00Z","type":"rollback_step","step":300,"actual":"a","status":"done"}"#;
        let e = err(line);
        assert!(
            e.starts_with("run/events.jsonl:1: field `step`: invalid value"),
            "{e}"
        );
    }

    #[test]
    fn unknown_type_is_named() {
        let e = err(r#"{"ts":"2026-11-29T17:10:00Z","type":"coffee_break"}"#);
        assert!(
            e.starts_with("run/events.jsonl:1: field `type`: unknown variant `coffee_break`"),
            "{e}"
        );
        let e = err(r#"{"ts":"2026-11-29T17:10:00Z","phase":"baseline"}"#);
        assert_eq!(e, "run/events.jsonl:1: field `type`: missing");
    }

    #[test]
    fn bad_timestamp_is_named() {
        let e = err(r#"{"ts":"2026-11-29 17:10","type":"log","message":"x"}"#);
        assert!(e.starts_with("run/events.jsonl:1: field `ts`: "), "{e}");
        assert!(e.contains("RFC 3339"), "{e}");
        let e = err(r#"{"type":"log","message":"x"}"#);
        assert_eq!(
            e,
            "run/events.jsonl:1: field `ts`: missing (required in `log` events)"
        );
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let e = err(&format!("{KS_OK}\n{{\"ts\": oops}}"));
        assert!(
            e.starts_with("run/events.jsonl:2: expected value (column"),
            "{e}"
        );
        let e = err(&format!("{KS_OK}\n[1, 2]"));
        assert!(e.starts_with("run/events.jsonl:2: invalid type"), "{e}");
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let mut bytes = KS_OK.as_bytes().to_vec();
        bytes.extend_from_slice(b"\n{\"ts\":\"\xff\"}\n");
        let e = parse_events(Path::new("events.jsonl"), &bytes)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("events.jsonl:2: not valid UTF-8"), "{e}");
    }

    #[test]
    fn out_of_order_names_both_lines() {
        let earlier = KS_OK.replace("17:10:00", "17:05:00");
        let text = format!("{KS_OK}\n{KS_OK}\n\n{earlier}\n");
        let e = err(&text);
        assert!(
            e.starts_with("run/events.jsonl:4: field `ts`: out of order"),
            "{e}"
        );
        assert!(e.contains("line 4") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn equal_timestamps_are_in_order() {
        assert_eq!(
            parse(&format!("{KS_OK}\n{KS_OK}")).unwrap().records.len(),
            2
        );
    }

    #[test]
    fn unknown_fields_are_warned_about() {
        let line = KS_OK.replace("\"response_ms\"", "\"responce_ms\"");
        let log = parse_events(
            Path::new("run/events.jsonl"),
            format!("\n{line}").as_bytes(),
        )
        .unwrap();
        assert_eq!(
            log.warnings,
            vec![
                "events.jsonl:2: unknown field `responce_ms` ignored (not a field of `kill_switch_check` events)"
            ]
        );
        // an explicit null for an optional field is not unknown
        let line = KS_OK.replace("42.5", "null");
        assert!(parse(&line).unwrap().warnings.is_empty());
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = err(&deep);
        assert!(e.contains("recursion limit"), "{e}");
    }

    #[test]
    fn missing_file_is_missing() {
        let e = read_events(Path::new("/nonexistent/events.jsonl")).unwrap_err();
        assert!(matches!(e, InputError::Missing { .. }));
    }
}
