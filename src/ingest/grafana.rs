//! Grafana's panel "Download CSV" (Inspect > Data): a wide CSV, a `Time`
//! column then one column per series, as Grafana writes it:
//!
//! ```text
//! "Time","cpu_usage_pct","{device=""vda"", instance=""db:9100""}"
//! 1795972109000,22.5,7120000
//! ```
//!
//! With "Formatted data" on, times are `2026-11-29 17:08:29` in the
//! browser's time zone (which the mapping's `[grafana] timezone` names) and
//! values carry units (`12.5%`, `35 ms`, `1.2 MB/s`); "Download for Excel"
//! adds a `sep=,` first line. Series joined by time or not (a new `Time`
//! header row starts each frame). Each column is a series named by its
//! header (`name{label="value", ...} (unit)`, each part optional), mapped as
//! a Prometheus series is.

use super::mapping::{self, FileOutcome, LabeledSeries, Mapping, Unit};
use super::util::{MILLISECONDS_THRESHOLD, check_unix_seconds, parse_timestamp, strip_bom};
use crate::error::InputError;
use crate::model::{InputMetric, Sample};
use std::collections::BTreeMap;
use std::path::Path;

/// Whether a CSV's first record is a Grafana header: first column `Time`
/// (any case) and no `metric` column (that is a long CSV).
pub(super) fn is_grafana_csv(head: &[u8]) -> bool {
    let (delimiter, body) = excel_separator(strip_bom(head));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(body);
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => {
            record
                .get(0)
                .is_some_and(|f| f.trim().eq_ignore_ascii_case("time"))
                && !record
                    .iter()
                    .any(|f| f.trim().eq_ignore_ascii_case("metric"))
        }
        _ => false,
    }
}

/// A `sep=;` first line (Grafana's "Download for Excel"): the delimiter and
/// the text after it.
fn excel_separator(bytes: &[u8]) -> (u8, &[u8]) {
    if let Some(rest) = bytes.strip_prefix(b"sep=")
        && let [delimiter, tail @ ..] = rest
    {
        let tail = tail.strip_prefix(b"\r").unwrap_or(tail);
        let tail = tail.strip_prefix(b"\n").unwrap_or(tail);
        return (*delimiter, tail);
    }
    (b',', bytes)
}

/// The time forms accepted, for messages.
const TIME_FORMS: &str = "epoch milliseconds (`1795972109000`), unix seconds, RFC 3339 \
     (`2026-11-29T17:08:29Z`, `2026-11-29 17:08:29+07:00`), or `2026-11-29 17:08:29` \
     with `[grafana] timezone` in mapping.toml";

/// Reads a Grafana CSV through the mapping.
pub(super) fn read_grafana(
    path: &Path,
    bytes: &[u8],
    mapping: &Mapping,
) -> Result<FileOutcome, InputError> {
    let unbommed = strip_bom(bytes);
    let (delimiter, body) = excel_separator(unbommed);
    // Lines before `body` (a `sep=` line), and a running count for line numbers.
    let sep_lines = unbommed[..unbommed.len() - body.len()]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64;
    let (mut counted_to, mut newlines) = (0usize, 0u64);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(body);
    let mut series: Vec<LabeledSeries> = Vec::new();
    let mut header_units: Vec<Option<Unit>> = Vec::new();
    // The current frame's columns: series index, or None for the Time column.
    let mut columns: Vec<usize> = Vec::new();
    let mut by_header: BTreeMap<String, usize> = BTreeMap::new();
    let mut rows = 0u64;
    let mut blanks = 0u64;
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = e.position().map(|p| p.line());
            InputError::invalid(path, line, None, format!("not CSV: {e}"))
        })?;
        if !more {
            break;
        }
        // csv's own line is one short after a CRLF (the record starts at the
        // `\n`): count the newlines before the record's first character.
        let mut start = record.position().map_or(0, |p| p.byte() as usize);
        while body.get(start).is_some_and(|b| matches!(b, b'\n' | b'\r')) {
            start += 1;
        }
        let start = start.min(body.len()).max(counted_to);
        newlines += body[counted_to..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        counted_to = start;
        let line = sep_lines + newlines + 1;
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim().is_empty()) {
            continue;
        }
        let first = record.get(0).unwrap_or("").trim();
        if first.eq_ignore_ascii_case("time") {
            columns.clear();
            for header in record.iter().skip(1) {
                let header = header.trim();
                let index = *by_header.entry(header.to_owned()).or_insert_with(|| {
                    let (s, unit) = parse_header(header);
                    series.push(s);
                    header_units.push(unit);
                    series.len() - 1
                });
                columns.push(index);
            }
            continue;
        }
        if columns.is_empty() && series.is_empty() {
            return Err(InputError::invalid(
                path,
                Some(line),
                None,
                "expected a header whose first column is `Time`",
            ));
        }
        rows += 1;
        let t = parse_time(first, mapping.grafana.timezone_s)
            .map_err(|e| InputError::invalid(path, Some(line), Some("Time"), e))?;
        for (cell, &index) in record.iter().skip(1).zip(&columns) {
            let s = &mut series[index];
            let field = || header_of(&by_header, index);
            let Some((v, unit)) = parse_cell(cell)
                .map_err(|e| InputError::invalid(path, Some(line), Some(&field()), e))?
            else {
                blanks += 1;
                continue;
            };
            let unit = unit.or(header_units[index]);
            let v = match unit {
                Some(u) => {
                    if s.unit.is_some_and(|have| !same_kind(u, have)) {
                        return Err(InputError::invalid(
                            path,
                            Some(line),
                            Some(&field()),
                            format!(
                                "`{}`: a unit of another kind than the column's",
                                cell.trim()
                            ),
                        ));
                    }
                    let (v, base) = normalise(v, u);
                    s.unit = base;
                    v
                }
                None => v,
            };
            s.samples.push(Sample { t, v });
        }
    }
    if series.is_empty() {
        return Err(InputError::invalid(
            path,
            None,
            None,
            "no columns besides `Time`",
        ));
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let outcome = mapping
        .resolve(&stem, &series)
        .map_err(|message| InputError::invalid(path, None, None, message))?;
    let mut notes = Vec::new();
    if blanks > 0 {
        notes.push(format!("{blanks} empty cells skipped"));
    }
    match mapping::to_file_outcome(path, outcome, rows, notes)? {
        Some(outcome) => Ok(outcome),
        None => Err(InputError::invalid(
            path,
            None,
            None,
            format!(
                "no column is a metric name or mapped ({}); accepted names: {}; {}",
                by_header
                    .keys()
                    .map(|h| format!("`{h}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                InputMetric::accepted_names().join(", "),
                mapping::MAPPING_HINT
            ),
        )),
    }
}

fn header_of(by_header: &BTreeMap<String, usize>, index: usize) -> String {
    by_header
        .iter()
        .find(|(_, i)| **i == index)
        .map(|(h, _)| h.clone())
        .unwrap_or_default()
}

fn same_kind(a: Unit, b: Unit) -> bool {
    std::mem::discriminant(&a) == std::mem::discriminant(&b)
}

/// A value in its kind's base unit (seconds, bytes), and that base.
fn normalise(v: f64, unit: Unit) -> (f64, Option<Unit>) {
    match unit {
        Unit::Time(f) => (v * f, Some(Unit::Time(1.0))),
        Unit::Bytes(f) => (v * f, Some(Unit::Bytes(1.0))),
        other => (v, Some(other)),
    }
}

/// `name{k="v", ...} (unit)`, each part optional; a header that does not
/// parse so is a name as it stands. The unit is returned as written: it
/// scales the column's cells that state none.
fn parse_header(header: &str) -> (LabeledSeries, Option<Unit>) {
    let mut rest = header.trim();
    let mut unit = None;
    if let Some(open) = rest.rfind(" (")
        && rest.ends_with(')')
        && let Some(u) = Unit::parse(&rest[open + 2..rest.len() - 1])
    {
        unit = Some(u);
        rest = rest[..open].trim_end();
    }
    let mut out = LabeledSeries {
        name: Some(rest.to_owned()),
        unit: unit.and_then(|u| normalise(1.0, u).1),
        ..LabeledSeries::default()
    };
    if let Some(labels_at) = rest.find('{')
        && rest.ends_with('}')
        && let Some(labels) = parse_labels(&rest[labels_at + 1..rest.len() - 1])
    {
        let name = rest[..labels_at].trim();
        out.name = (!name.is_empty()).then(|| name.to_owned());
        out.labels = labels;
    }
    (out, unit)
}

/// `k="v", k2="v2"` (Grafana writes a space after each comma).
fn parse_labels(text: &str) -> Option<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let after = after.strip_prefix('"')?;
        let end = after.find('"')?;
        labels.insert(key.trim().to_owned(), after[..end].to_owned());
        rest = after[end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Some(labels)
}

/// A cell: `None` when empty (a gap), else the number and the unit it
/// states (`12.5%`, `35 ms`, `1.2 MB/s`).
fn parse_cell(cell: &str) -> Result<Option<(f64, Option<Unit>)>, String> {
    let cell = cell.trim();
    if cell.is_empty() || matches!(cell, "null" | "NaN" | "undefined" | "-") {
        return Ok(None);
    }
    let split = cell
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_digit()
                || c == '.'
                || ((c == '-' || c == '+') && (i == 0 || cell[..i].ends_with(['e', 'E'])))
                || ((c == 'e' || c == 'E')
                    && i > 0
                    && cell[i + 1..]
                        .starts_with(|d: char| d.is_ascii_digit() || d == '-' || d == '+')))
        })
        .map_or(cell.len(), |(i, _)| i);
    let (number, unit) = cell.split_at(split);
    let v: f64 = number
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| format!("not a number: `{cell}`"))?;
    let unit = unit.trim();
    if unit.is_empty() {
        return Ok(Some((v, None)));
    }
    match Unit::parse(unit) {
        Some(u) => Ok(Some((v, Some(u)))),
        None => Err(format!(
            "unknown unit `{unit}` in `{cell}`; known: {}",
            Unit::ACCEPTED
        )),
    }
}

/// A Grafana time: epoch ms, unix seconds, RFC 3339, or a local time in
/// `timezone_s` (seconds east of UTC).
fn parse_time(text: &str, timezone_s: Option<i32>) -> Result<f64, String> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let n: f64 = text.parse().map_err(|_| format!("not a time: `{text}`"))?;
        let t = if n > MILLISECONDS_THRESHOLD {
            n / 1000.0
        } else {
            n
        };
        check_unix_seconds(t)?;
        return Ok(t);
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, format) {
            let Some(offset) = timezone_s else {
                return Err(format!(
                    "`{text}` has no UTC offset (Grafana writes the browser's local time): \
                     say which zone with `[grafana] timezone = \"+07:00\"` (or \"UTC\") in \
                     RUN/mapping.toml"
                ));
            };
            let utc = naive.and_utc();
            let t = utc.timestamp() as f64 + f64::from(utc.timestamp_subsec_nanos()) * 1e-9
                - f64::from(offset);
            check_unix_seconds(t)?;
            return Ok(t);
        }
    }
    parse_timestamp(text.as_bytes())
        .map_err(|_| format!("not a time Grafana writes: `{text}`; accepted: {TIME_FORMS}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MetricId;

    fn read(text: &str, mapping: &Mapping) -> Result<FileOutcome, InputError> {
        read_grafana(Path::new("m/panel.csv"), text.as_bytes(), mapping)
    }

    fn samples(outcome: FileOutcome, metric: MetricId) -> Vec<(f64, f64)> {
        let FileOutcome::Samples(s) = outcome else {
            panic!("{outcome:?}")
        };
        s.series[&InputMetric::Series(metric)]
            .iter()
            .map(|s| (s.t, s.v))
            .collect()
    }

    #[test]
    fn detects_grafana_headers_only() {
        assert!(is_grafana_csv(b"\"Time\",\"cpu_usage_pct\"\r\n1,2\r\n"));
        assert!(is_grafana_csv(b"\xef\xbb\xbfsep=;\ntime;a\n"));
        assert!(!is_grafana_csv(b"timestamp,metric,value\n"));
        assert!(!is_grafana_csv(b"time,metric,value\n"));
    }

    #[test]
    fn raw_export_with_epoch_ms() {
        let text = "\"Time\",\"cpu_usage_pct\",\"disk_write_mb_s\"\r\n\
                    1795972109000,22.5,7.12\r\n\
                    1795972110000,,7.5\r\n";
        let out = read(text, &Mapping::default()).unwrap();
        assert_eq!(
            samples(out.clone(), MetricId::CpuUsagePct),
            vec![(1_795_972_109.0, 22.5)]
        );
        let FileOutcome::Samples(s) = out else {
            panic!()
        };
        assert_eq!(s.rows, 2);
        assert_eq!(s.notes, vec!["1 empty cells skipped"]);
    }

    #[test]
    fn formatted_export_with_units_and_local_time() {
        let mut mapping = Mapping::default();
        mapping.grafana.timezone_s = Some(7 * 3600);
        let text = "\"Time\",\"disk_write_mb_s\",\"query_latency_p99_ms\",\"cpu (%)\"\r\n\
                    \"2026-11-30 00:08:29\",\"950 kB/s\",\"1.2 s\",\"12.5\"\r\n\
                    \"2026-11-30 00:08:30\",\"1.5 MB/s\",\"35 ms\",\"13\"\r\n";
        let e = read(text, &mapping).unwrap_err().to_string();
        assert!(e.contains("no mapping rule for `cpu`"), "{e}");
        let text = text.replace("cpu (%)", "cpu_usage_pct (%)");
        let out = read(&text, &mapping).unwrap();
        let t = 1_795_972_109.0;
        let close = |got: Vec<(f64, f64)>, want: &[(f64, f64)]| {
            assert_eq!(got.len(), want.len());
            for ((gt, gv), (wt, wv)) in got.iter().zip(want) {
                assert_eq!(gt, wt);
                assert!((gv - wv).abs() < 1e-9, "{gv} vs {wv}");
            }
        };
        close(
            samples(out.clone(), MetricId::DiskWriteMbS),
            &[(t, 0.95), (t + 1.0, 1.5)],
        );
        close(
            samples(out.clone(), MetricId::QueryLatencyP99Ms),
            &[(t, 1200.0), (t + 1.0, 35.0)],
        );
        close(
            samples(out, MetricId::CpuUsagePct),
            &[(t, 12.5), (t + 1.0, 13.0)],
        );
    }

    #[test]
    fn label_headers_map_like_prometheus_series() {
        let text = "\"Time\",\"{device=\"\"vda\"\", instance=\"\"db:9100\"\"}\",\"{device=\"\"vdb\"\", instance=\"\"db:9100\"\"}\"\r\n\
                    2026-11-29T17:08:29Z,1.5,2.5\r\n";
        let m = mapping_with(
            "[[metric]]\nsource = \"disk\"\naggregate = \"sum\"\nunit = \"MB/s\"\ntarget = \"disk_read_mb_s\"\n",
        );
        let out = read_grafana(Path::new("m/disk.csv"), text.as_bytes(), &m).unwrap();
        assert_eq!(
            samples(out, MetricId::DiskReadMbS),
            vec![(1_795_972_109.0, 4.0)]
        );
        assert_eq!(
            parse_header("node_cpu_seconds_total{cpu=\"0\", mode=\"idle\"}")
                .0
                .labels["mode"],
            "idle"
        );
    }

    fn mapping_with(text: &str) -> Mapping {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mapping.toml");
        std::fs::write(&path, text).unwrap();
        mapping::load_mapping(dir.path(), None).unwrap()
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let m = Mapping::default();
        let e = read("Time,cpu_usage_pct\r\n\r\n2026-11-29 17:08:29,1\r\n", &m)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("m/panel.csv:3: field `Time`: `2026-11-29 17:08:29` has no UTC offset"),
            "{e}"
        );
        let e = read("Time,cpu_usage_pct\nyesterday,1\n", &m)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "m/panel.csv:2: field `Time`: not a time Grafana writes: `yesterday`; accepted: {TIME_FORMS}"
            )
        );
        let e = read("sep=,\nTime,cpu_usage_pct\n1795972109000,12 furlongs\n", &m)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "m/panel.csv:3: field `cpu_usage_pct`: unknown unit `furlongs` in `12 furlongs`"
            ),
            "{e}"
        );
        let e = read("Time,cpu_usage_pct\n1795972109000,12 ms\n", &m)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cannot convert a time to `cpu_usage_pct`"),
            "{e}"
        );
        let e = read("Time,foo\n1795972109000,1\n", &m)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("m/panel.csv: no column is a metric name or mapped (`foo`)"),
            "{e}"
        );
        assert!(e.contains("RUN/mapping.toml"), "{e}");
    }

    #[test]
    fn cells_and_times() {
        assert_eq!(
            parse_cell("12.5%").unwrap(),
            Some((12.5, Some(Unit::Percent)))
        );
        assert_eq!(
            parse_cell(" -3e2 ms").unwrap(),
            Some((-300.0, Some(Unit::Time(1e-3))))
        );
        assert_eq!(parse_cell("").unwrap(), None);
        assert_eq!(parse_time("1795972109", None).unwrap(), 1_795_972_109.0);
        assert_eq!(parse_time("1795972109250", None).unwrap(), 1_795_972_109.25);
        assert_eq!(
            parse_time("2026-11-29 17:08:29", Some(0)).unwrap(),
            1_795_972_109.0
        );
        assert_eq!(
            parse_time("2026-11-30T00:08:29+07:00", None).unwrap(),
            1_795_972_109.0
        );
    }
}
