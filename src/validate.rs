//! `validate RUN`: checks a run directory without building, and lists every
//! problem it can find, each with its file, line and field.
//!
//! `build` stops at the first fault; here each file is checked on its own,
//! and within `events.jsonl` and each CSV file checking goes on past a bad
//! line, up to [`MAX_PER_FILE`] problems a file. The checks are the ingest
//! module's own parsers, applied per file and per line:
//!
//! - `manifest.json`: [`ingest::parse_manifest`] (one problem at most: JSON
//!   stops at its first fault);
//! - `events.jsonl`: [`ingest::parse_events`] line by line, plus the time
//!   order across lines;
//! - `metrics/*.csv`: [`ingest::parse_long_csv`], resumed after each bad row
//!   with the header put back in front of the rest;
//! - `metrics/*.json`: [`ingest::parse_prometheus`] (one problem at most);
//! - across files: [`ingest::merge_series`] (duplicate series timestamps).
//!
//! When all of that finds nothing, [`ingest::read_run`] reads the whole
//! directory as `build` would, so that a clean `validate` means `build` reads
//! the run.

use crate::error::InputError;
use crate::ingest::{self, FileSamples};
use chrono::{DateTime, SecondsFormat, Utc};
use std::path::{Path, PathBuf};

/// At most this many problems are listed per file.
pub const MAX_PER_FILE: usize = 100;

/// One problem, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    pub line: Option<u64>,
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let loc = crate::error::Location {
            path: self.path.clone(),
            line: self.line,
            field: self.field.clone(),
        };
        write!(f, "{loc}: {}", self.message)
    }
}

impl From<InputError> for Problem {
    fn from(e: InputError) -> Self {
        match e {
            InputError::Invalid {
                path,
                line,
                field,
                message,
            } => Problem {
                path,
                line,
                field,
                message,
            },
            InputError::Missing { path, what } => Problem {
                path,
                line: None,
                field: None,
                message: format!("missing: {what}"),
            },
            InputError::Io { path, source } => Problem {
                path,
                line: None,
                field: None,
                message: format!("cannot read: {source}"),
            },
        }
    }
}

/// What `validate` found.
#[derive(Debug, Clone, Default)]
pub struct Validation {
    pub problems: Vec<Problem>,
    /// Things `build` would warn about.
    pub warnings: Vec<String>,
    /// Files checked, relative to the run directory.
    pub files: Vec<String>,
    /// Files where listing stopped at [`MAX_PER_FILE`].
    pub truncated: Vec<PathBuf>,
}

impl Validation {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks a run directory. Reads, never writes.
pub fn validate(dir: &Path) -> Validation {
    let mut v = Validation::default();
    if !dir.exists() {
        v.problems.push(
            InputError::Missing {
                path: dir.to_path_buf(),
                what: "the run directory".into(),
            }
            .into(),
        );
        return v;
    }
    if !dir.is_dir() {
        v.problems.push(
            InputError::invalid(
                dir,
                None,
                None,
                "not a directory: give the run directory (manifest.json, events.jsonl, metrics/)",
            )
            .into(),
        );
        return v;
    }
    check_manifest(dir, &mut v);
    check_events(dir, &mut v);
    let parsed = check_metrics(dir, &mut v);
    if v.problems.is_empty()
        && let Err(e) = ingest::merge_series(parsed)
    {
        v.problems.push(e.into());
    }
    if v.problems.is_empty() {
        // The authority: read the directory exactly as `build` does.
        match ingest::read_run(dir) {
            Ok(run) => v.warnings = run.warnings,
            Err(e) => v.problems.push(e.into()),
        }
    }
    v
}

fn read(path: &Path, what: &str, v: &mut Validation) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            v.problems.push(
                InputError::Missing {
                    path: path.to_path_buf(),
                    what: what.into(),
                }
                .into(),
            );
            None
        }
        Err(source) => {
            v.problems.push(
                InputError::Io {
                    path: path.to_path_buf(),
                    source,
                }
                .into(),
            );
            None
        }
    }
}

fn check_manifest(dir: &Path, v: &mut Validation) {
    let path = dir.join("manifest.json");
    let Some(bytes) = read(&path, "the run manifest", v) else {
        return;
    };
    v.files.push("manifest.json".into());
    if let Err(e) = ingest::parse_manifest(&path, &bytes) {
        v.problems.push(e.into());
    }
}

/// Pushes a problem unless the file has had its fill; false when full.
fn push_capped(v: &mut Validation, count: &mut usize, path: &Path, p: Problem) -> bool {
    if *count >= MAX_PER_FILE {
        if !v.truncated.iter().any(|t| t == path) {
            v.truncated.push(path.to_path_buf());
        }
        return false;
    }
    *count += 1;
    v.problems.push(p);
    true
}

fn check_events(dir: &Path, v: &mut Validation) {
    let path = dir.join("events.jsonl");
    let Some(bytes) = read(&path, "the execution log (one JSON event per line)", v) else {
        return;
    };
    v.files.push("events.jsonl".into());
    let name = "events.jsonl";
    let mut count = 0usize;
    let mut previous: Option<(u64, DateTime<Utc>)> = None;
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = index as u64 + 1;
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        // Line 1 alone (a BOM is allowed there); any other line after one
        // newline, so that a BOM there is not taken away, and its error says
        // line 2.
        let (input, first) = if index == 0 {
            (raw.to_vec(), 1u64)
        } else {
            let mut b = Vec::with_capacity(raw.len() + 1);
            b.push(b'\n');
            b.extend_from_slice(raw);
            (b, 2u64)
        };
        match ingest::parse_events(&path, &input) {
            Ok(log) => {
                for w in log.warnings {
                    let prefix = format!("{name}:{first}:");
                    v.warnings.push(match w.strip_prefix(&prefix) {
                        Some(rest) => format!("{name}:{line_no}:{rest}"),
                        None => w,
                    });
                }
                if let Some(record) = log.records.first() {
                    if let Some((prev_line, prev_ts)) = previous
                        && record.ts < prev_ts
                    {
                        let p = Problem {
                            path: path.clone(),
                            line: Some(line_no),
                            field: Some("ts".into()),
                            message: format!(
                                "out of order: the event on line {line_no} ({}) is earlier than \
                                 the one on line {prev_line} ({}); events must be in time order",
                                record.ts.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                                prev_ts.to_rfc3339_opts(SecondsFormat::AutoSi, true)
                            ),
                        };
                        if !push_capped(v, &mut count, &path, p) {
                            return;
                        }
                    }
                    // A later event is compared with the latest time so far.
                    if previous.is_none_or(|(_, t)| record.ts >= t) {
                        previous = Some((line_no, record.ts));
                    }
                }
            }
            Err(e) => {
                let mut p: Problem = e.into();
                p.line = Some(line_no);
                if !push_capped(v, &mut count, &path, p) {
                    return;
                }
            }
        }
    }
}

/// Every file under `dir/metrics`, sorted by name, recursively.
fn metric_files(dir: &Path, v: &mut Validation) -> Vec<PathBuf> {
    let metrics = dir.join("metrics");
    if !metrics.exists() {
        return Vec::new();
    }
    if !metrics.is_dir() {
        v.problems.push(
            InputError::invalid(
                &metrics,
                None,
                None,
                "not a directory: `metrics` must be a directory of metrics files",
            )
            .into(),
        );
        return Vec::new();
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(&metrics)
        .min_depth(1)
        .follow_links(true)
        .sort_by_file_name()
    {
        match entry {
            Ok(e) if e.file_type().is_file() => files.push(e.path().to_path_buf()),
            Ok(_) => {}
            Err(e) => v.problems.push(Problem {
                path: e.path().map(Path::to_path_buf).unwrap_or(metrics.clone()),
                line: None,
                field: None,
                message: format!("cannot walk: {e}"),
            }),
        }
    }
    files
}

fn rel(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Checks each metrics file; returns the samples of the good ones.
fn check_metrics(dir: &Path, v: &mut Validation) -> Vec<(PathBuf, FileSamples)> {
    let mut parsed = Vec::new();
    // The mapping `build` would use, so that mapped and ignored files are
    // judged as `build` judges them.
    let mapping = match ingest::load_mapping(dir, None) {
        Ok(m) => m,
        Err(e) => {
            v.problems.push(e.into());
            return parsed;
        }
    };
    for path in metric_files(dir, v) {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("csv") | Some("json") | Some("log") => {}
            _ => continue, // read_run warns about these
        }
        // A long CSV is checked row by row, going on after each bad row;
        // any other file is read whole, as `build` reads it.
        let long_csv = ext.as_deref() == Some("csv") && !ingest::is_grafana_csv(&path);
        let result = if long_csv {
            let Some(bytes) = read(&path, "a metrics file", v) else {
                continue;
            };
            v.files.push(rel(dir, &path));
            check_csv(&path, &bytes, v)
        } else {
            match ingest::read_metrics_file(&path, &mapping) {
                Ok(Ok(samples)) => {
                    v.files.push(rel(dir, &path));
                    Some(samples)
                }
                Ok(Err(_skipped)) => None, // read_run warns about these
                Err(e) => {
                    v.files.push(rel(dir, &path));
                    v.problems.push(e.into());
                    None
                }
            }
        };
        if let Some(samples) = result {
            parsed.push((path, samples));
        }
    }
    parsed
}

/// The byte offset just past the `n`-th line feed (1-based lines: the start
/// of line n + 1).
fn after_line(bytes: &[u8], n: u64) -> Option<usize> {
    let mut seen = 0u64;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            seen += 1;
            if seen == n {
                return Some(i + 1);
            }
        }
    }
    None
}

/// Parses a long CSV file, going on after each bad row. `Some` when clean.
fn check_csv(path: &Path, bytes: &[u8], v: &mut Validation) -> Option<FileSamples> {
    let first = match ingest::parse_long_csv(path, std::io::Cursor::new(bytes)) {
        Ok(s) => return Some(s),
        Err(e) => e,
    };
    // The header: the first line that is not blank (a BOM counts as blank).
    let text_start = if bytes.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    let mut header_line = 1u64;
    let mut header: &[u8] = b"";
    for (i, line) in bytes[text_start..].split(|&b| b == b'\n').enumerate() {
        if !line.iter().all(|b| b.is_ascii_whitespace()) {
            header_line = i as u64 + 1;
            header = line;
            break;
        }
    }
    let mut count = 0usize;
    let mut error = first;
    // Lines of the original before the resumed input's line 2.
    let mut base = 0u64;
    loop {
        let mut p: Problem = error.into();
        let Some(line) = p.line.map(|l| if base == 0 { l } else { base + l - 1 }) else {
            push_capped(v, &mut count, path, p);
            return None;
        };
        p.line = Some(line);
        if !push_capped(v, &mut count, path, p) || line <= header_line {
            return None;
        }
        let rest_at = after_line(bytes, line)?;
        let mut resumed = Vec::with_capacity(header.len() + 1 + bytes.len() - rest_at);
        resumed.extend_from_slice(header);
        resumed.push(b'\n');
        resumed.extend_from_slice(&bytes[rest_at..]);
        base = line;
        match ingest::parse_long_csv(path, std::io::Cursor::new(&resumed)) {
            Ok(_) => return None,
            Err(e) => error = e,
        }
    }
}
