//! Long CSV metrics files: one sample per row, `timestamp,metric,value` plus
//! any label columns (ignored).

use super::FileSamples;
use super::csv_fast::{self, Fast};
use super::progress::Progress;
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
/// lines (counted from where `input` stands when given).
///
/// Lines without quotes are read in blocks parsed on every core (see
/// `csv_fast`); from the first block with a quote character on, the csv crate
/// reads the rest, and finds the line of a faulty row by reading the input
/// again up to it; hence `Seek`.
pub fn parse_long_csv<R: Read + Seek>(path: &Path, input: R) -> Result<FileSamples, InputError> {
    parse_long_csv_with(path, input, &Progress::hidden())
}

/// [`parse_long_csv`], telling `progress` of the bytes read.
pub(super) fn parse_long_csv_with<R: Read + Seek>(
    path: &Path,
    input: R,
    progress: &Progress,
) -> Result<FileSamples, InputError> {
    parse_in_blocks(path, input, progress, csv_fast::BLOCK)
}

fn parse_in_blocks<R: Read + Seek>(
    path: &Path,
    mut input: R,
    progress: &Progress,
    block: usize,
) -> Result<FileSamples, InputError> {
    let origin = input.stream_position().ok();
    let scanned = match csv_fast::scan(&mut input, progress, block) {
        Ok(Fast::Done(samples)) => Ok(samples),
        Ok(Fast::Rest {
            from,
            header,
            mut samples,
        }) => match origin {
            Some(origin) => {
                // The csv crate's rows follow unchecked.
                samples.in_time_order.clear();
                slow_scan(&mut input, origin + from, header, samples)
            }
            .map_err(
                // Row offsets from where the csv crate started: from the origin.
                |fault| match fault {
                    Fault::Row {
                        offset,
                        field,
                        message,
                    } => Fault::Row {
                        offset: offset.map(|o| o + from),
                        field,
                        message,
                    },
                    other => other,
                },
            ),
            None => Err(Fault::Io(std::io::Error::other(
                "cannot tell the input's position",
            ))),
        },
        Err(fault) => Err(fault),
    };
    scanned.map_err(|fault| input_error(path, &mut input, origin, fault))
}

fn input_error<R: Read + Seek>(
    path: &Path,
    input: &mut R,
    origin: Option<u64>,
    fault: Fault,
) -> InputError {
    match fault {
        Fault::Io(source) => InputError::Io {
            path: path.to_path_buf(),
            source,
        },
        Fault::Line {
            line,
            field,
            message,
        } => InputError::invalid(path, line, field, message),
        Fault::Row {
            offset,
            field,
            message,
        } => {
            let line = match (origin, offset) {
                (Some(origin), Some(offset)) => line_at(input, origin, offset),
                _ => None,
            };
            InputError::invalid(path, line, field, message)
        }
    }
}

/// Reads from byte `start` of `input` on with the csv crate: the header too
/// when `header` is `None`, else data rows only, appended to `samples`.
fn slow_scan<R: Read + Seek>(
    input: &mut R,
    start: u64,
    header: Option<(Columns, usize)>,
    samples: FileSamples,
) -> Result<FileSamples, Fault> {
    input.seek(SeekFrom::Start(start)).map_err(Fault::Io)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        // Fields are trimmed here, not by csv (its trim allocates per record).
        // Only LF ends a record, so that a record's start offset is exact; the
        // CR of a CRLF is trimmed off the last field.
        .terminator(csv::Terminator::Any(b'\n'))
        .buffer_capacity(1 << 18)
        .from_reader(input);
    scan(&mut reader, header, samples)
}

/// A fault found while reading.
pub(super) enum Fault {
    Io(std::io::Error),
    /// A faulty row whose line is known (or a file without one).
    Line {
        line: Option<u64>,
        field: Option<&'static str>,
        message: String,
    },
    /// A faulty row found by the csv crate: the byte offset where its parsing
    /// began (blank lines may come first), for the line number.
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

fn scan<R: Read>(
    reader: &mut csv::Reader<R>,
    header: Option<(Columns, usize)>,
    mut out: FileSamples,
) -> Result<FileSamples, Fault> {
    let mut record = csv::ByteRecord::new();
    let (columns, width) = match header {
        Some(known) => known,
        None => {
            if !next_record(reader, &mut record)? {
                return Err(Fault::Row {
                    offset: None,
                    field: None,
                    message:
                        "empty file: expected a header row naming the columns timestamp, metric, value"
                            .to_owned(),
                });
            }
            let fields: Vec<&[u8]> = record.iter().collect();
            let columns = find_columns(&fields).map_err(|m| row_fault(&record, None, m))?;
            (columns, record.len())
        }
    };

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
fn line_at<R: Read + Seek>(input: &mut R, origin: u64, offset: u64) -> Option<u64> {
    input.seek(SeekFrom::Start(origin)).ok()?;
    let mut buf = vec![0u8; 1 << 16];
    let mut pos = 0u64;
    let mut line = 1u64;
    // A whole BOM at the start, that is: not a byte or two of one.
    let mut bom_len = None;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Some(line),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        let read = buf.get(..n)?;
        let bom_len = *bom_len.get_or_insert(if read.starts_with(UTF8_BOM) {
            UTF8_BOM.len() as u64
        } else {
            0
        });
        for &b in read {
            let bom = pos < bom_len;
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

/// Where the three columns are, by index.
#[derive(Debug, Clone, Copy)]
pub(super) struct Columns {
    pub timestamp: usize,
    pub metric: usize,
    pub value: usize,
}

/// The three columns in a header's fields (not trimmed yet).
pub(super) fn find_columns(header: &[&[u8]]) -> Result<Columns, String> {
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

    /// The csv crate alone, from the first byte: what the fast path must
    /// give, samples and errors alike.
    fn csv_crate_only(text: &[u8]) -> Result<FileSamples, String> {
        let path = Path::new("run/metrics/a.csv");
        let mut input = std::io::Cursor::new(text);
        slow_scan(&mut input, 0, None, FileSamples::default())
            .map_err(|fault| input_error(path, &mut input, Some(0), fault).to_string())
    }

    /// The blocks' reading, its claims of time order checked and then left
    /// out (the csv crate makes none).
    fn in_blocks(text: &[u8], block: usize) -> Result<FileSamples, String> {
        let path = Path::new("run/metrics/a.csv");
        let input = std::io::Cursor::new(text);
        let mut samples =
            parse_in_blocks(path, input, &Progress::hidden(), block).map_err(|e| e.to_string())?;
        for metric in std::mem::take(&mut samples.in_time_order) {
            let series = &samples.series[&metric];
            assert!(
                series.is_sorted_by(|a, b| a.t <= b.t),
                "{metric:?} said in order"
            );
        }
        Ok(samples)
    }

    /// A metric is said to be in time order when it is, across blocks too.
    #[test]
    fn time_order_is_told_across_blocks() {
        let rows = |times: &[u32]| -> Vec<u8> {
            let mut text = String::from("timestamp,metric,value\n");
            for t in times {
                text.push_str(&format!("17959720{t:02},query_latency_ms,1\n"));
                text.push_str(&format!("17959720{t:02},request_latency_ms,2\n"));
            }
            text.into_bytes()
        };
        let in_order = rows(&(10..60).collect::<Vec<_>>());
        let mut swapped: Vec<u32> = (10..60).collect();
        swapped.swap(30, 31);
        let swapped = rows(&swapped);
        let path = Path::new("run/metrics/a.csv");
        // Blocks of the smallest size hold one row each: a metric's samples
        // meet only where one block ends and the next begins.
        let read = |text: &[u8]| {
            let input = std::io::Cursor::new(text.to_vec());
            parse_in_blocks(path, input, &Progress::hidden(), 16).unwrap()
        };
        assert_eq!(read(&in_order).in_time_order.len(), 2);
        assert!(read(&swapped).in_time_order.is_empty());
    }

    /// Many blocks (tiny ones, so that lines straddle them, and two threads
    /// take them), every kind of line, and faults anywhere: the same samples,
    /// rows, notes and errors (line numbers included) as the csv crate's.
    #[test]
    fn blocks_read_as_the_csv_crate_reads() {
        let mut next = crate::stats::xorshift(0x2545_f491_4f6c_dd1d);
        let good = [
            "1795972079.250123,query_latency_ms,2.780",
            "1795972079,request_latency_ms,24.5",
            "2026-11-29T17:08:00.125Z,cpu_usage_pct,12",
            "1795972080.5,query_latency_ms,0.001",
            " 1795972081 , query_latency_ms , 3.5 ",
            "1795972082,cpu_usage_pct,-1.5",
            "1795972083,query_latency_ms,.5",
            "1795972084.,query_latency_ms,7.",
            "1795972085,query_latency_ms,1e2",
            "1795972086,query_latency_ms,+4",
            "1795972087,request_latency_ms,123456789012345678901",
            // Names that share a prefix, and more metrics than the standard
            // lane compares at once.
            "1795972088.000001,query_latency_p50_ms,2.5",
            "1795972088.000002,query_latency_p99_ms,9.25",
            "1795972088.000003,threads_running,4",
        ];
        // The rows most lines are, in turn.
        let common = [0, 1, 2, 3, 11, 12, 13];
        let blank = ["", "  ", "\r", " \t "];
        let bad = [
            "1795972089,query_latency_ms,-2",
            "1795972089,query_latency_ms,abc",
            "1795972089,query_latency_ms",
            "1795972089,query_latency_ms,1,2",
            "1795972089000,query_latency_ms,1",
            "17959720x9,query_latency_ms,1",
            "1795972089,nope_ms,1",
            "1795972089,query_latency_ms,NaN",
            "\"1795972089\",query_latency_ms,1",
            "1795972089,query_latency_ms,\"a\nb\"",
        ];
        let headers = [
            "timestamp,metric,value",
            "\u{feff}timestamp,metric,value",
            "metric,value,timestamp",
            "host,timestamp,metric,value,zone",
            "timestamp,metric,value\r",
        ];
        let (mut rows, mut errors) = (0, 0);
        for round in 0..400 {
            let header = headers[round % headers.len()];
            let columns: Vec<&str> = header
                .trim_start_matches('\u{feff}')
                .trim_end()
                .split(',')
                .collect();
            let mut text = String::new();
            for _ in 0..(next() % 3) {
                text.push('\n');
            }
            text.push_str(header);
            text.push('\n');
            let lines = 20 + next() % 200;
            for i in 0..lines {
                let r = next();
                let row = if r.is_multiple_of(50) && round.is_multiple_of(3) {
                    bad[(r >> 8) as usize % bad.len()]
                } else if r.is_multiple_of(9) {
                    blank[(r >> 8) as usize % blank.len()]
                } else if r.is_multiple_of(4) {
                    good[(r >> 8) as usize % good.len()]
                } else {
                    good[common[i as usize % common.len()]]
                };
                // the row's fields in the header's order
                let fields: Vec<&str> = row.split(',').collect();
                if fields.len() == 3
                    && columns.len() >= 3
                    && (!r.is_multiple_of(7) || !round.is_multiple_of(5))
                {
                    let pick = |name: &str| match name.trim() {
                        "timestamp" => fields[0],
                        "metric" => fields[1],
                        "value" => fields[2],
                        _ => "x",
                    };
                    let line: Vec<&str> = columns.iter().map(|c| pick(c)).collect();
                    text.push_str(&line.join(","));
                } else {
                    text.push_str(row);
                }
                if i + 1 < lines || r.is_multiple_of(2) {
                    text.push(if r.is_multiple_of(11) { '\r' } else { '\n' });
                    if r.is_multiple_of(11) {
                        text.push('\n');
                    }
                }
            }
            let want = csv_crate_only(text.as_bytes());
            match &want {
                Ok(f) => rows += f.rows,
                Err(_) => errors += 1,
            }
            for block in [16, 37, 256, 1 << 20] {
                let got = in_blocks(text.as_bytes(), block);
                assert_eq!(got, want, "round {round}, blocks of {block}:\n{text}");
            }
        }
        assert!(rows > 10_000 && errors > 50, "{rows} rows, {errors} errors");
    }

    /// Bytes flipped, cut, duplicated, structural characters spliced in:
    /// still what the csv crate makes of them.
    #[test]
    fn mutated_files_read_as_the_csv_crate_reads() {
        let base = b"\xef\xbb\xbftimestamp,metric,value,host\r\n1795972079,cpu_usage_pct,1.5,a\r\n2026-11-29T17:08:00Z,query_latency_ms,3,b\n\n1795972081.25,request_latency_ms,0,c\n1795972082.5,query_latency_ms,12.25,d\n";
        let splice: &[&[u8]] = &[
            b"\n",
            b"\r",
            b",",
            b"\"",
            b" ",
            b"\xff",
            b"-",
            b".",
            b"9",
            b"\xef\xbb\xbf",
        ];
        let mut next = crate::stats::xorshift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            let mut input = base.to_vec();
            crate::ingest::util::mutate(&mut input, &mut next, splice);
            let want = csv_crate_only(&input);
            for block in [16, 1 << 20] {
                assert_eq!(
                    in_blocks(&input, block),
                    want,
                    "{}",
                    String::from_utf8_lossy(&input)
                );
            }
        }
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
