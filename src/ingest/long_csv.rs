//! Long CSV metrics files: one sample per row, `timestamp,metric,value` plus
//! any label columns (ignored).

use super::FileSamples;
use super::util::{UTF8_BOM, is_latency_key, parse_timestamp, parse_value, quote};
use crate::error::InputError;
use crate::model::{InputMetric, Sample};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

const REQUIRED: [&str; 3] = ["timestamp", "metric", "value"];

/// Parses a long CSV metrics file from `input`; `path` is only used in error
/// messages. Samples are returned in file order (not sorted).
///
/// The header (the first non-blank line) must name `timestamp`, `metric` and
/// `value`, in any order; other columns are ignored. A UTF-8 BOM, CRLF line
/// ends and blank lines are accepted. Line numbers in errors are 1-based file
/// lines (counted from where `input` stands when given): they are found by
/// reading the input again up to the faulty row, so that the hot path counts
/// nothing; hence `Seek`.
pub fn parse_long_csv<R: Read + Seek>(
    path: &Path,
    mut input: R,
) -> Result<FileSamples, InputError> {
    let origin = input.stream_position().ok();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        // Fields are trimmed here, not by csv (its trim allocates per record).
        // Only LF ends a record, so that a record's start offset is exact; the
        // CR of a CRLF is trimmed off the last field.
        .terminator(csv::Terminator::Any(b'\n'))
        .buffer_capacity(1 << 18)
        .from_reader(input);
    match scan(&mut reader) {
        Ok(samples) => Ok(samples),
        Err(Fault::Io(source)) => Err(InputError::Io {
            path: path.to_path_buf(),
            source,
        }),
        Err(Fault::Row {
            offset,
            field,
            message,
        }) => {
            let line = match (origin, offset) {
                (Some(origin), Some(offset)) => line_at(reader.into_inner(), origin, offset),
                _ => None,
            };
            Err(InputError::invalid(path, line, field, message))
        }
    }
}

/// A fault found while scanning: the byte offset where the faulty row's
/// parsing began (blank lines may come first), for the line number.
enum Fault {
    Io(std::io::Error),
    Row {
        offset: Option<u64>,
        field: Option<&'static str>,
        message: String,
    },
}

fn row_fault(record: &csv::ByteRecord, field: Option<&'static str>, message: String) -> Fault {
    Fault::Row {
        offset: record.position().map(|p| p.byte()),
        field,
        message,
    }
}

/// Reads the next record that is not blank (a CRLF or whitespace-only line
/// comes through as one empty field).
fn next_record<R: Read>(
    reader: &mut csv::Reader<R>,
    record: &mut csv::ByteRecord,
) -> Result<bool, Fault> {
    loop {
        if !reader.read_byte_record(record).map_err(csv_fault)? {
            return Ok(false);
        }
        if !(record.len() == 1 && record.get(0).is_some_and(|f| f.trim_ascii().is_empty())) {
            return Ok(true);
        }
    }
}

fn scan<R: Read>(reader: &mut csv::Reader<R>) -> Result<FileSamples, Fault> {
    let mut record = csv::ByteRecord::new();
    if !next_record(reader, &mut record)? {
        return Err(Fault::Row {
            offset: None,
            field: None,
            message:
                "empty file: expected a header row naming the columns timestamp, metric, value"
                    .to_owned(),
        });
    }
    let columns = find_columns(&record).map_err(|m| row_fault(&record, None, m))?;
    let width = record.len();

    let mut out = FileSamples::default();
    // The last metric seen and whether it is a latency: rows of one metric
    // tend to come together, and this skips the name lookup.
    let mut last: Option<(InputMetric, bool)> = None;
    while next_record(reader, &mut record)? {
        let fields = (
            record.get(columns.timestamp),
            record.get(columns.metric),
            record.get(columns.value),
        );
        let (Some(t_field), Some(m_field), Some(v_field)) = fields else {
            return Err(width_fault(&record, width));
        };
        let (t_field, m_field, v_field) = (
            t_field.trim_ascii(),
            m_field.trim_ascii(),
            v_field.trim_ascii(),
        );
        if record.len() != width {
            return Err(width_fault(&record, width));
        }

        let t = parse_timestamp(t_field).map_err(|m| row_fault(&record, Some("timestamp"), m))?;

        let (metric, is_latency) = match last {
            Some((m, lat)) if m.key().as_bytes() == m_field => (m, lat),
            _ => {
                let m =
                    parse_metric(m_field).map_err(|msg| row_fault(&record, Some("metric"), msg))?;
                let entry = (m, is_latency_key(m.key()));
                last = Some(entry);
                entry
            }
        };

        let v = parse_value(v_field).map_err(|m| row_fault(&record, Some("value"), m))?;
        if is_latency && v < 0.0 {
            let message = format!(
                "negative latency `{}` for `{}`",
                quote(v_field),
                metric.key()
            );
            return Err(row_fault(&record, Some("value"), message));
        }

        out.series.entry(metric).or_default().push(Sample { t, v });
        out.rows += 1;
    }
    if out.rows == 0 {
        out.notes.push("no data rows (header only)".to_owned());
    }
    Ok(out)
}

/// The 1-based line of the first non-blank byte (a BOM is blank) at or after
/// `offset` bytes from `origin`: one plus the line feeds before it. `None` if
/// the input cannot be re-read.
fn line_at<R: Read + Seek>(mut input: R, origin: u64, offset: u64) -> Option<u64> {
    input.seek(SeekFrom::Start(origin)).ok()?;
    let mut buf = vec![0u8; 1 << 16];
    let mut pos = 0u64;
    let mut line = 1u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Some(line),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        for &b in buf.get(..n)? {
            let bom = usize::try_from(pos).ok().and_then(|i| UTF8_BOM.get(i)) == Some(&b);
            if pos >= offset && !bom && !matches!(b, b'\n' | b'\r' | b' ' | b'\t') {
                return Some(line);
            }
            line += u64::from(b == b'\n');
            pos += 1;
        }
    }
}

/// Parses a metric name as found in an input file.
pub fn parse_metric(name: &[u8]) -> Result<InputMetric, String> {
    std::str::from_utf8(name)
        .ok()
        .and_then(|s| s.parse::<InputMetric>().ok())
        .ok_or_else(|| {
            format!(
                "unknown metric `{}`; accepted: {}",
                quote(name),
                InputMetric::accepted_names().join(", ")
            )
        })
}

struct Columns {
    timestamp: usize,
    metric: usize,
    value: usize,
}

fn find_columns(header: &csv::ByteRecord) -> Result<Columns, String> {
    let mut found: [Option<usize>; 3] = [None; 3];
    for (index, name) in header.iter().enumerate() {
        let name = name.trim_ascii();
        for (slot, required) in found.iter_mut().zip(REQUIRED) {
            if name == required.as_bytes() {
                if slot.is_some() {
                    return Err(format!("column `{required}` appears twice in the header"));
                }
                *slot = Some(index);
            }
        }
    }
    match found {
        [Some(timestamp), Some(metric), Some(value)] => Ok(Columns {
            timestamp,
            metric,
            value,
        }),
        _ => {
            let missing: Vec<&str> = found
                .iter()
                .zip(REQUIRED)
                .filter(|(slot, _)| slot.is_none())
                .map(|(_, name)| name)
                .collect();
            let mut names: Vec<String> = header
                .iter()
                .take(12)
                .map(|f| format!("`{}`", quote(f.trim_ascii())))
                .collect();
            if header.len() > names.len() {
                names.push(format!("… {} columns in all", header.len()));
            }
            Err(format!(
                "the header must name the columns timestamp, metric, value; missing: {} \
                 (found: {})",
                missing.join(", "),
                names.join(", ")
            ))
        }
    }
}

fn width_fault(record: &csv::ByteRecord, expected: usize) -> Fault {
    let message = format!("{} columns where the header has {expected}", record.len());
    row_fault(record, None, message)
}

fn csv_fault(e: csv::Error) -> Fault {
    let offset = e.position().map(|p| p.byte());
    match e.into_kind() {
        csv::ErrorKind::Io(source) => Fault::Io(source),
        kind => Fault::Row {
            offset,
            field: None,
            message: format!("{kind:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MetricId, RawLatency};

    fn parse(text: &str) -> Result<FileSamples, InputError> {
        parse_long_csv(
            Path::new("run/metrics/a.csv"),
            std::io::Cursor::new(text.as_bytes()),
        )
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn rows_parse_in_file_order_with_extra_columns() {
        let text = "host,value,timestamp,metric\n\
                    db1,12.5,1795972079,cpu_usage_pct\n\
                    db1,3,2026-11-29T17:07:58Z,query_latency_ms\n\
                    db1,11,1795972078.5,cpu_usage_pct\n";
        let f = parse(text).unwrap();
        assert_eq!(f.rows, 3);
        assert_eq!(
            f.series[&InputMetric::Series(MetricId::CpuUsagePct)],
            vec![
                Sample {
                    t: 1_795_972_079.0,
                    v: 12.5
                },
                Sample {
                    t: 1_795_972_078.5,
                    v: 11.0
                }
            ]
        );
        assert_eq!(
            f.series[&InputMetric::Raw(RawLatency::Query)],
            vec![Sample {
                t: 1_795_972_078.0,
                v: 3.0
            }]
        );
    }

    #[test]
    fn bom_crlf_blank_lines_and_padding_are_accepted() {
        let text = "\u{feff}timestamp,metric,value\r\n1795972079, cpu_usage_pct ,1\r\n\r\n1795972080,cpu_usage_pct,2\r\n";
        let f = parse(text).unwrap();
        assert_eq!(f.rows, 2);
    }

    #[test]
    fn line_numbers_are_file_lines_with_crlf_and_blank_lines() {
        let text = "timestamp,metric,value\r\n1795972079,cpu_usage_pct,1\r\n\r\n1795972080,cpu_usage_pct,x\r\n";
        assert_eq!(
            err(text),
            "run/metrics/a.csv:4: field `value`: not a number: `x`"
        );
    }

    #[test]
    fn line_numbers_count_every_kind_of_blank_line() {
        let text = "\n\ntimestamp,metric,value\n\n\n1795972079,cpu_usage_pct,1\n   \n\r\n\t\n1795972080,cpu_usage_pct,x\n";
        assert_eq!(
            err(text),
            "run/metrics/a.csv:10: field `value`: not a number: `x`"
        );
        let e = err("\u{feff}\n\ntime,metric,value\n");
        assert!(
            e.starts_with("run/metrics/a.csv:3: the header must name"),
            "{e}"
        );
        // the last line, without a final line feed
        let e = err("timestamp,metric,value\r\n1795972079,cpu_usage_pct,1\r\n1795972080,cpu_pct,1");
        assert!(e.starts_with("run/metrics/a.csv:3: field `metric`"), "{e}");
    }

    #[test]
    fn header_must_name_the_three_columns() {
        let e = err("time,metric,value\n1795972079,cpu_usage_pct,1\n");
        assert!(
            e.starts_with("run/metrics/a.csv:1: the header must name"),
            "{e}"
        );
        assert!(e.contains("missing: timestamp"), "{e}");
        assert!(e.contains("found: `time`, `metric`, `value`"), "{e}");
        // case-sensitive
        assert!(err("Timestamp,metric,value\n").contains("missing: timestamp"));
        assert!(err("timestamp,metric,value,value\n").contains("`value` appears twice"));
    }

    #[test]
    fn empty_file_and_header_only() {
        assert!(err("").contains("empty file"));
        let f = parse("timestamp,metric,value\n").unwrap();
        assert_eq!(f.rows, 0);
        assert_eq!(f.notes, vec!["no data rows (header only)"]);
    }

    #[test]
    fn wrong_column_count_names_the_line() {
        let e = err(
            "timestamp,metric,value\n1795972079,cpu_usage_pct,1\n1795972079,cpu_usage_pct,1,7\n",
        );
        assert_eq!(e, "run/metrics/a.csv:3: 4 columns where the header has 3");
        let e = err("metric,value,timestamp\ncpu_usage_pct,1\n");
        assert_eq!(e, "run/metrics/a.csv:2: 2 columns where the header has 3");
    }

    #[test]
    fn value_errors_name_line_and_field() {
        let head = "timestamp,metric,value\n";
        for (v, want) in [
            ("", "empty value"),
            ("NaN", "not a finite number: `NaN`"),
            ("inf", "not a finite number: `inf`"),
            ("-Infinity", "not a finite number"),
            ("1,5", "not a number"),
        ] {
            let e = err(&format!("{head}1795972079,cpu_usage_pct,\"{v}\"\n"));
            assert!(e.starts_with("run/metrics/a.csv:2: field `value`: "), "{e}");
            assert!(e.contains(want), "{e}");
        }
    }

    #[test]
    fn negative_latency_is_an_error_other_negatives_are_not() {
        let e = err("timestamp,metric,value\n1795972079,query_latency_p99_ms,-1\n");
        assert_eq!(
            e,
            "run/metrics/a.csv:2: field `value`: negative latency `-1` for `query_latency_p99_ms`"
        );
        let e = err("timestamp,metric,value\n1795972079,request_latency_ms,-0.5\n");
        assert!(e.contains("negative latency"), "{e}");
        assert!(parse("timestamp,metric,value\n1795972079,replication_lag_s,-1\n").is_ok());
    }

    #[test]
    fn unknown_metric_lists_accepted_names() {
        let e = err("timestamp,metric,value\n1795972079,cpu_usage_pct,1\n1795972079,cpu_pct,1\n");
        assert!(
            e.starts_with("run/metrics/a.csv:3: field `metric`: unknown metric `cpu_pct`; accepted: cpu_usage_pct, "),
            "{e}"
        );
        assert!(e.contains("query_latency_ms"), "{e}");
        // derived from the events, never read from metrics/
        let e = err("timestamp,metric,value\n1795972079,kill_switch_check_count,1\n");
        assert!(
            e.contains("unknown metric `kill_switch_check_count`"),
            "{e}"
        );
    }

    #[test]
    fn timestamp_errors_name_line_and_field() {
        let head = "timestamp,metric,value\n";
        for (t, want) in [
            ("1795972079000", "looks like milliseconds"),
            ("946684799", "implausible"),
            ("2100-01-02T00:00:00Z", "implausible"),
            ("yesterday", "not a timestamp: `yesterday`"),
            ("", "empty timestamp"),
        ] {
            let e = err(&format!("{head}{t},cpu_usage_pct,1\n"));
            assert!(
                e.starts_with("run/metrics/a.csv:2: field `timestamp`: "),
                "{e}"
            );
            assert!(e.contains(want), "{e}");
        }
    }

    #[test]
    fn invalid_utf8_never_panics() {
        let bytes = b"timestamp,metric,value\n\xff\xfe,\xc3,\x80\n";
        let e = parse_long_csv(Path::new("a.csv"), std::io::Cursor::new(&bytes[..]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("a.csv:2: field `timestamp`"), "{e}");
    }

    #[test]
    fn quoted_fields_with_newlines_keep_line_numbers() {
        let text = "timestamp,metric,value,note\n1795972079,cpu_usage_pct,1,\"a\nb\"\n1795972080,cpu_usage_pct,bad,x\n";
        assert!(err(text).starts_with("run/metrics/a.csv:4: field `value`"));
    }
}
