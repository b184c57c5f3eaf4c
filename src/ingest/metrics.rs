//! The `metrics/` directory: every file in it, recursively, merged into one
//! time-sorted series per input metric.

use super::FileSamples;
use super::long_csv::parse_long_csv_with;
use super::mapping::{FileOutcome, Mapping, load_mapping};
use super::progress::Progress;
use super::prometheus::parse_prometheus_file;
use super::util::format_unix;
use crate::error::InputError;
use crate::model::{EventCount, InputMetric, Sample, SourceFile};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// What `metrics/` holds once read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// Samples by input metric, each sorted by time (stable).
    pub series: BTreeMap<InputMetric, Vec<Sample>>,
    /// One per file read, in the order read.
    pub sources: Vec<SourceFile>,
    /// Files skipped, NaN samples skipped, empty files, ...; each starts with
    /// the file's path relative to the run directory.
    pub warnings: Vec<String>,
}

/// Reads `run_dir/metrics/`, recursively, in file name order. An absent or
/// empty directory gives no series. `*.csv` files are long CSV (or Grafana
/// CSV, told by their header), `*.json` Prometheus query_range responses,
/// sysbench `*.log` files sysbench output; other files are skipped with a
/// warning. Symbolic links must resolve inside the run directory. Names that
/// are not metric names go through the run's mapping (`RUN/mapping.toml`
/// over the built-in default).
pub fn read_metrics(run_dir: &Path) -> Result<Metrics, InputError> {
    read_metrics_with(run_dir, &load_mapping(run_dir, None)?)
}

/// [`read_metrics`] with a given mapping.
pub fn read_metrics_with(run_dir: &Path, mapping: &Mapping) -> Result<Metrics, InputError> {
    let dir = run_dir.join("metrics");
    let meta = match fs::symlink_metadata(&dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Metrics::default()),
        Err(source) => return Err(InputError::Io { path: dir, source }),
    };
    let canonical_run = fs::canonicalize(run_dir).map_err(|source| InputError::Io {
        path: run_dir.to_path_buf(),
        source,
    })?;
    if meta.file_type().is_symlink() {
        check_link_inside(&dir, &canonical_run)?;
    }
    if !dir.is_dir() {
        return Err(InputError::invalid(
            &dir,
            None,
            None,
            "not a directory: `metrics` must be a directory of metrics files",
        ));
    }

    // First the list (so that the progress knows the total), then the reading.
    enum Entry {
        Skipped(String),
        File {
            path: PathBuf,
            rel: String,
            format: &'static str,
            bytes: u64,
        },
    }
    let mut entries = Vec::new();
    let walk = WalkDir::new(&dir)
        .min_depth(1)
        .follow_links(true)
        .sort_by_file_name();
    for entry in walk {
        let entry = entry.map_err(walk_error)?;
        let path = entry.path();
        if entry.path_is_symlink() {
            check_link_inside(path, &canonical_run)?;
        }
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = relative(run_dir, path);
        let format = match format_of(path) {
            Ok(format) => format,
            Err(why) => {
                entries.push(Entry::Skipped(format!("{rel}: skipped ({why})")));
                continue;
            }
        };
        if !entry.file_type().is_file() {
            entries.push(Entry::Skipped(format!(
                "{rel}: skipped (not a regular file)"
            )));
            continue;
        }
        let bytes = entry.metadata().map_or(0, |m| m.len());
        entries.push(Entry::File {
            path: path.to_path_buf(),
            rel,
            format,
            bytes,
        });
    }

    let total = entries
        .iter()
        .map(|e| match e {
            Entry::File { bytes, .. } => *bytes,
            Entry::Skipped(_) => 0,
        })
        .sum();
    let progress = Progress::new(total);
    let files: Vec<(&Path, &'static str)> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::File { path, format, .. } => Some((path.as_path(), *format)),
            Entry::Skipped(_) => None,
        })
        .collect();
    let mut outcomes = read_files(&files, mapping, &progress).into_iter();
    let mut out = Metrics::default();
    let mut parts: Vec<(PathBuf, FileSamples)> = Vec::new();
    for entry in entries {
        let (path, rel, bytes) = match entry {
            Entry::Skipped(warning) => {
                out.warnings.push(warning);
                continue;
            }
            Entry::File {
                path, rel, bytes, ..
            } => (path, rel, bytes),
        };
        let Some(outcome) = outcomes.next() else {
            break;
        };
        let (format, read) = outcome?;
        let samples = match read {
            FileOutcome::Samples(samples) => samples,
            FileOutcome::Skipped(why) => {
                out.warnings.push(format!("{rel}: {why}"));
                continue;
            }
        };
        out.warnings
            .extend(samples.notes.iter().map(|note| format!("{rel}: {note}")));
        let (first, last) = time_range(&samples);
        out.sources.push(SourceFile {
            // Read again once parsed (from the page cache): 0.5 s for 850 MB
            // with SHA-NI. A file rewritten in between would show a hash of
            // its new bytes; run directories are written before `build`.
            sha256: super::digest::sha256_of_file(&path).ok(),
            path: rel,
            format: format.to_owned(),
            rows: samples.rows,
            bytes,
            first,
            last,
        });
        parts.push((path, samples));
    }
    drop(progress);
    out.series = merge_series(parts)?;
    // Counts are used as a pair: errors over requests, completed ones per second.
    let [requests, errors] = EventCount::ALL.map(InputMetric::Count);
    for (have, lacks) in [(requests, errors), (errors, requests)] {
        if out.series.contains_key(&have) && !out.series.contains_key(&lacks) {
            out.warnings.push(format!(
                "`{}` counts without `{}` counts: not used (the error rate and the \
                 throughput need both)",
                have.key(),
                lacks.key()
            ));
        }
    }
    Ok(out)
}

/// The first and last sample time of a file (its series in time order need
/// only their ends looked at).
fn time_range(samples: &FileSamples) -> (Option<f64>, Option<f64>) {
    let mut range: Option<(f64, f64)> = None;
    for (metric, series) in &samples.series {
        let ends = if samples.in_time_order.contains(metric) {
            series.first().zip(series.last()).map(|(a, b)| (a.t, b.t))
        } else {
            series.iter().fold(None, |r: Option<(f64, f64)>, s| {
                Some(r.map_or((s.t, s.t), |(lo, hi)| (lo.min(s.t), hi.max(s.t))))
            })
        };
        if let Some((lo, hi)) = ends {
            range = Some(range.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
        }
    }
    (range.map(|r| r.0), range.map(|r| r.1))
}

type ReadOutcome = Result<(&'static str, FileOutcome), InputError>;

/// Reads `files` on as many threads as there are cores (a few large
/// exports, one per metric, are the common case), and returns each file's
/// outcome in the order given. A file that fails does not stop the others;
/// the caller reports the first failure in that order, so that the error is
/// the same on any machine.
fn read_files(
    files: &[(&Path, &'static str)],
    mapping: &Mapping,
    progress: &Progress,
) -> Vec<ReadOutcome> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len());
    if threads <= 1 {
        return files
            .iter()
            .map(|(path, format)| read_file(path, format, mapping, progress))
            .collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut outcomes: Vec<(usize, ReadOutcome)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((path, format)) = files.get(i) else {
                            return done;
                        };
                        done.push((i, read_file(path, format, mapping, progress)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    outcomes.sort_by_key(|(i, _)| *i);
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}

/// One metrics file read as `build` reads it, through the mapping: its
/// samples, or (as `Err`) why `build` skips it. For `validate`.
pub fn read_metrics_file(
    path: &Path,
    mapping: &Mapping,
) -> Result<Result<FileSamples, String>, InputError> {
    let format = match format_of(path) {
        Ok(format) => format,
        Err(why) => return Ok(Err(format!("skipped ({why})"))),
    };
    let (_, outcome) = read_file(path, format, mapping, &Progress::new(0))?;
    Ok(match outcome {
        FileOutcome::Samples(samples) => Ok(samples),
        FileOutcome::Skipped(why) => Err(why),
    })
}

/// The kind of a file in `metrics/` by its name (and, for `.log`, its first
/// lines), or why it is not read.
fn format_of(path: &Path) -> Result<&'static str, &'static str> {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match extension.as_deref() {
        Some("csv") => Ok("csv"),
        Some("json") => Ok("prometheus"),
        Some("log") if super::sysbench::is_sysbench_log(path, &read_head(path)) => Ok("sysbench"),
        Some("log") => Err("a .log file is read only when it is sysbench output"),
        _ => Err("only .csv, .json and sysbench .log files are read from metrics/"),
    }
}

/// Whether a CSV is a Grafana export (a `Time` column, no `metric` column).
pub fn is_grafana_csv(path: &Path) -> bool {
    super::grafana::is_grafana_csv(&read_head(path))
}

/// Reads one metrics file of the given kind (`csv`, `sysbench`, `prometheus`),
/// through the mapping. Returns the format actually read (a CSV may turn out
/// to be a Grafana export) and the samples, or why the file was skipped.
pub(crate) fn read_file(
    path: &Path,
    format: &'static str,
    mapping: &Mapping,
    progress: &Progress,
) -> Result<(&'static str, FileOutcome), InputError> {
    let io_error = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::open(path).map_err(io_error)?;
    Ok(match format {
        "csv" if super::grafana::is_grafana_csv(&read_head(path)) => {
            let text = fs::read(path).map_err(io_error)?;
            progress.advance(text.len() as u64);
            (
                "grafana",
                super::grafana::read_grafana(path, &text, mapping)?,
            )
        }
        "csv" => (
            "csv",
            FileOutcome::Samples(parse_long_csv_with(path, file, progress)?),
        ),
        "sysbench" => {
            let text = fs::read(path).map_err(io_error)?;
            progress.advance(text.len() as u64);
            (
                "sysbench",
                FileOutcome::Samples(super::sysbench::parse_sysbench(
                    path,
                    &text,
                    &mapping.sysbench,
                )?),
            )
        }
        _ => (
            "prometheus",
            match parse_prometheus_file(path, file, progress) {
                Ok(samples) => FileOutcome::Samples(samples),
                Err(e) => super::mapping::prometheus_fallback(path, mapping, e)?,
            },
        ),
    })
}

/// Merges the samples of several files (`path` for messages, samples in
/// file order) into one series per metric, each sorted by time; the sort is
/// stable, so equal times keep file order, then row order.
///
/// A [`InputMetric::Series`] or [`InputMetric::Count`] metric has one value per timestamp: two samples at
/// the same time are an error naming the metric, the time and the file(s).
/// [`InputMetric::Raw`] latency samples may share a time.
pub fn merge_series(
    parts: Vec<(PathBuf, FileSamples)>,
) -> Result<BTreeMap<InputMetric, Vec<Sample>>, InputError> {
    let mut paths = Vec::with_capacity(parts.len());
    let mut by_metric: BTreeMap<InputMetric, Vec<(usize, Vec<Sample>)>> = BTreeMap::new();
    // (file, metric) pairs whose file saw the metric's samples in time order.
    let mut told_in_order: Vec<(usize, InputMetric)> = Vec::new();
    for (index, (path, samples)) in parts.into_iter().enumerate() {
        paths.push(path);
        told_in_order.extend(samples.in_time_order.iter().map(|&m| (index, m)));
        for (metric, chunk) in samples.series {
            by_metric.entry(metric).or_default().push((index, chunk));
        }
    }
    let path_of = |index: usize| paths.get(index).cloned().unwrap_or_default();

    let mut merged = BTreeMap::new();
    for (metric, mut chunks) in by_metric {
        let all = match metric {
            InputMetric::Raw(_) => {
                // Possibly tens of millions of samples: move, do not copy twice.
                // In order already when it all comes from one file that saw it so.
                let known = matches!(chunks.as_slice(),
                    [(index, _)] if told_in_order.contains(&(*index, metric)));
                let mut all = concat(chunks);
                if !known {
                    sort_by_time(&mut all);
                }
                all
            }
            // Counts, like series, have one value per interval's end.
            InputMetric::Series(_) | InputMetric::Count(_) => {
                for (index, chunk) in &mut chunks {
                    if let InputMetric::Count(_) = metric
                        && let Some(s) = chunk.iter().find(|s| !s.v.is_finite() || s.v < 0.0)
                    {
                        return Err(InputError::invalid(
                            path_of(*index),
                            None,
                            Some("value"),
                            format!(
                                "`{}` at {} (unix {}) is {}: a count of events is 0 or more",
                                metric.key(),
                                format_unix(s.t),
                                s.t,
                                s.v
                            ),
                        ));
                    }
                    sort_by_time(chunk);
                    if let Some(t) = first_duplicate(chunk) {
                        return Err(duplicate_error(metric, t, &path_of(*index), None));
                    }
                }
                let mut all: Vec<Sample> =
                    chunks.iter().flat_map(|(_, c)| c.iter().copied()).collect();
                sort_by_time(&mut all);
                if let Some(t) = first_duplicate(&all) {
                    let mut holders = chunks
                        .iter()
                        .filter(|(_, c)| c.binary_search_by(|s| s.t.total_cmp(&t)).is_ok())
                        .map(|(index, _)| path_of(*index));
                    let first = holders.next().unwrap_or_default();
                    let second = holders.next();
                    return Err(duplicate_error(metric, t, &first, second.as_deref()));
                }
                all
            }
        };
        merged.insert(metric, all);
    }
    Ok(merged)
}

fn concat(chunks: Vec<(usize, Vec<Sample>)>) -> Vec<Sample> {
    let total: usize = chunks.iter().map(|(_, c)| c.len()).sum();
    let mut iter = chunks.into_iter();
    let Some((_, mut all)) = iter.next() else {
        return Vec::new();
    };
    all.reserve(total - all.len());
    for (_, chunk) in iter {
        all.extend_from_slice(&chunk);
    }
    all
}

fn sort_by_time(samples: &mut [Sample]) {
    if !samples.is_sorted_by(|a, b| a.t <= b.t) {
        samples.sort_by(|a, b| a.t.total_cmp(&b.t));
    }
}

/// The first time that two adjacent samples of a sorted series share.
fn first_duplicate(sorted: &[Sample]) -> Option<f64> {
    sorted.windows(2).find_map(|w| match w {
        [a, b] if a.t == b.t => Some(a.t),
        _ => None,
    })
}

fn duplicate_error(metric: InputMetric, t: f64, first: &Path, second: Option<&Path>) -> InputError {
    let place = match second {
        Some(other) => format!("one here and one in {}", other.display()),
        None => "both in this file".to_owned(),
    };
    InputError::invalid(
        first,
        None,
        None,
        format!(
            "two samples of `{}` at the same time {} (unix {t}), {place}; \
             a time series has one value per timestamp",
            metric.key(),
            format_unix(t)
        ),
    )
}

/// The first few kilobytes of a file (empty when unreadable: the full read
/// reports the error).
fn read_head(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut head = Vec::with_capacity(4096);
    if let Ok(file) = fs::File::open(path) {
        let _ = file.take(4096).read_to_end(&mut head);
    }
    head
}

/// `path` relative to `run_dir`, with `/` separators.
fn relative(run_dir: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(run_dir).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn check_link_inside(link: &Path, canonical_run: &Path) -> Result<(), InputError> {
    let target = match fs::canonicalize(link) {
        Ok(target) => target,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(InputError::invalid(
                link,
                None,
                None,
                "broken symbolic link",
            ));
        }
        Err(source) => {
            return Err(InputError::Io {
                path: link.to_path_buf(),
                source,
            });
        }
    };
    if target.starts_with(canonical_run) {
        Ok(())
    } else {
        Err(InputError::invalid(
            link,
            None,
            None,
            format!(
                "symbolic link resolves outside the run directory (to {}); \
                 only files inside the run directory are read",
                target.display()
            ),
        ))
    }
}

fn walk_error(e: walkdir::Error) -> InputError {
    let path = e.path().map(Path::to_path_buf).unwrap_or_default();
    if let Some(ancestor) = e.loop_ancestor() {
        let message = format!("symbolic link loop (back to {})", ancestor.display());
        return InputError::invalid(path, None, None, message);
    }
    let is_link = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
    match e.into_io_error() {
        Some(source) if is_link && source.kind() == std::io::ErrorKind::NotFound => {
            InputError::invalid(path, None, None, "broken symbolic link")
        }
        Some(source) => InputError::Io { path, source },
        None => InputError::invalid(path, None, None, "cannot walk the directory"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MetricId, RawLatency};
    use std::os::unix::fs::symlink;

    const CPU: InputMetric = InputMetric::Series(MetricId::CpuUsagePct);
    const QUERY: InputMetric = InputMetric::Raw(RawLatency::Query);

    fn run_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let run = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = run.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        run
    }

    fn prom(t0: u64, values: &[&str]) -> String {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("[{},\"{v}\"]", t0 + i as u64))
            .collect();
        format!(
            r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{}},"values":[{}]}}]}}}}"#,
            points.join(",")
        )
    }

    #[test]
    fn absent_or_empty_metrics_dir_is_no_series() {
        let run = run_with(&[]);
        assert_eq!(read_metrics(run.path()).unwrap(), Metrics::default());
        fs::create_dir(run.path().join("metrics")).unwrap();
        assert_eq!(read_metrics(run.path()).unwrap(), Metrics::default());
    }

    #[test]
    fn files_are_read_recursively_sorted_and_merged() {
        let run = run_with(&[
            (
                "metrics/b.csv",
                "timestamp,metric,value\n1795972081,cpu_usage_pct,3\n1795972079,query_latency_ms,9\n",
            ),
            (
                "metrics/a/cpu_usage_pct.json",
                &prom(1_795_972_079, &["1", "NaN"]),
            ),
            (
                "metrics/c.csv",
                "timestamp,metric,value\n1795972080,cpu_usage_pct,2\n1795972079,query_latency_ms,8\n",
            ),
            ("metrics/notes.txt", "hello"),
        ]);
        let m = read_metrics(run.path()).unwrap();
        let ts: Vec<(f64, f64)> = m.series[&CPU].iter().map(|s| (s.t, s.v)).collect();
        assert_eq!(
            ts,
            vec![
                (1_795_972_079.0, 1.0),
                (1_795_972_080.0, 2.0),
                (1_795_972_081.0, 3.0)
            ]
        );
        // raw latency samples may share a time; equal times keep file order
        let q: Vec<f64> = m.series[&QUERY].iter().map(|s| s.v).collect();
        assert_eq!(q, vec![9.0, 8.0]);
        let sources: Vec<(&str, &str, u64)> = m
            .sources
            .iter()
            .map(|s| (s.path.as_str(), s.format.as_str(), s.rows))
            .collect();
        assert_eq!(
            sources,
            vec![
                ("metrics/a/cpu_usage_pct.json", "prometheus", 2),
                ("metrics/b.csv", "csv", 2),
                ("metrics/c.csv", "csv", 2),
            ]
        );
        assert!(m.sources.iter().all(|s| s.bytes > 0));
        assert_eq!(
            m.warnings,
            vec![
                "metrics/a/cpu_usage_pct.json: 1 NaN/Inf samples skipped",
                "metrics/notes.txt: skipped (only .csv, .json and sysbench .log files are read from metrics/)",
            ]
        );
    }

    #[test]
    fn duplicate_time_across_files_names_both() {
        let run = run_with(&[
            (
                "metrics/a.csv",
                "timestamp,metric,value\n1795972080,cpu_usage_pct,2\n",
            ),
            (
                "metrics/cpu_usage_pct.json",
                &prom(1_795_972_079, &["1", "1"]),
            ),
        ]);
        let e = read_metrics(run.path()).unwrap_err().to_string();
        let a = run.path().join("metrics/a.csv");
        let b = run.path().join("metrics/cpu_usage_pct.json");
        assert!(
            e.starts_with(&format!("{}: two samples of `cpu_usage_pct`", a.display())),
            "{e}"
        );
        assert!(e.contains("2026-11-29T17:08:00Z (unix 1795972080)"), "{e}");
        assert!(
            e.contains(&format!("one here and one in {}", b.display())),
            "{e}"
        );
    }

    #[test]
    fn duplicate_time_within_a_file() {
        let run = run_with(&[(
            "metrics/a.csv",
            "timestamp,metric,value\n1795972080,cpu_usage_pct,2\n2026-11-29T17:08:00Z,cpu_usage_pct,3\n",
        )]);
        let e = read_metrics(run.path()).unwrap_err().to_string();
        assert!(e.contains("a.csv: two samples of `cpu_usage_pct`"), "{e}");
        assert!(e.contains("both in this file"), "{e}");
    }

    #[test]
    fn errors_in_files_name_the_file() {
        let run = run_with(&[(
            "metrics/x.csv",
            "timestamp,metric,value\n1795972080,cpu_usage_pct,abc\n",
        )]);
        let e = read_metrics(run.path()).unwrap_err().to_string();
        assert!(
            e.ends_with("metrics/x.csv:2: field `value`: not a number: `abc`"),
            "{e}"
        );
    }

    #[test]
    fn symlink_outside_the_run_is_rejected() {
        let outside = run_with(&[("elsewhere.csv", "timestamp,metric,value\n")]);
        let run = run_with(&[]);
        fs::create_dir(run.path().join("metrics")).unwrap();
        let link = run.path().join("metrics/stolen.csv");
        symlink(outside.path().join("elsewhere.csv"), &link).unwrap();
        let e = read_metrics(run.path()).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "{}: symbolic link resolves outside",
                link.display()
            )),
            "{e}"
        );
    }

    #[test]
    fn symlinked_metrics_dir_outside_the_run_is_rejected() {
        let outside = run_with(&[("m/a.csv", "timestamp,metric,value\n")]);
        let run = run_with(&[]);
        symlink(outside.path().join("m"), run.path().join("metrics")).unwrap();
        let e = read_metrics(run.path()).unwrap_err().to_string();
        assert!(e.contains("metrics: symbolic link resolves outside"), "{e}");
    }

    #[test]
    fn symlink_inside_the_run_is_followed() {
        let run = run_with(&[(
            "data/a.csv",
            "timestamp,metric,value\n1795972080,cpu_usage_pct,2\n",
        )]);
        fs::create_dir(run.path().join("metrics")).unwrap();
        symlink(
            run.path().join("data/a.csv"),
            run.path().join("metrics/a.csv"),
        )
        .unwrap();
        symlink("../data", run.path().join("metrics/d")).unwrap();
        let m = read_metrics(run.path()).unwrap_err().to_string();
        // the same file reached twice holds the same samples twice
        assert!(m.contains("two samples of `cpu_usage_pct`"), "{m}");
        fs::remove_file(run.path().join("metrics/d")).unwrap();
        let m = read_metrics(run.path()).unwrap();
        assert_eq!(m.series[&CPU].len(), 1);
        assert_eq!(m.sources[0].path, "metrics/a.csv");
    }

    #[test]
    fn broken_symlink_and_loops_are_errors_not_panics() {
        let run = run_with(&[]);
        fs::create_dir(run.path().join("metrics")).unwrap();
        symlink(
            run.path().join("nowhere.csv"),
            run.path().join("metrics/a.csv"),
        )
        .unwrap();
        let e = read_metrics(run.path()).unwrap_err().to_string();
        assert!(e.contains("a.csv: broken symbolic link"), "{e}");
        fs::remove_file(run.path().join("metrics/a.csv")).unwrap();
        symlink("..", run.path().join("metrics/up")).unwrap();
        let e = read_metrics(run.path()).unwrap_err().to_string();
        assert!(e.contains("symbolic link loop"), "{e}");
    }

    #[test]
    fn metrics_as_a_file_is_an_error() {
        let run = run_with(&[("metrics", "oops")]);
        let e = read_metrics(run.path()).unwrap_err().to_string();
        assert!(e.contains("metrics: not a directory"), "{e}");
    }

    #[test]
    fn files_the_mapping_knows_are_mapped_skipped_or_refused() {
        let two = |name: &str| {
            format!(
                r#"{{"status":"success","data":{{"resultType":"matrix","result":[
                {{"metric":{{"__name__":"{name}","instance":"a"}},"values":[[1795972079,"1"]]}},
                {{"metric":{{"__name__":"{name}","instance":"b"}},"values":[[1795972079,"2"]]}}]}}}}"#
            )
        };
        // several series and no rule: still an error, now with the way out
        let run = run_with(&[("metrics/x.json", &two("foo"))]);
        let e = read_metrics(run.path()).unwrap_err().to_string();
        assert!(
            e.contains("x.json: field `data.result`: 2 series in one file (`foo`; file stem `x`) and no mapping rule"),
            "{e}"
        );
        assert!(e.contains("RUN/mapping.toml"), "{e}");
        // one series, a name nobody knows: the reader's error and the hint
        let run = run_with(&[("metrics/x.json", &prom(1_795_972_079, &["1"]))]);
        let e = read_metrics(run.path()).unwrap_err().to_string();
        assert!(
            e.contains("cannot tell which metric this file holds"),
            "{e}"
        );
        assert!(
            e.ends_with("(docs/run-directory.md, \"Metric mapping\")"),
            "{e}"
        );
        // known but unused: skipped with a warning
        let run = run_with(&[("metrics/scrape_up.json", &two("up"))]);
        let m = read_metrics(run.path()).unwrap();
        assert!(m.series.is_empty() && m.sources.is_empty());
        assert!(
            m.warnings[0].starts_with(
                "metrics/scrape_up.json: skipped: `up` is not a report metric (Prometheus scrape health)"
            ),
            "{:?}",
            m.warnings
        );
        // a rule in RUN/mapping.toml combines them
        let run = run_with(&[
            ("metrics/x.json", &two("foo")),
            (
                "mapping.toml",
                "[[metric]]\nsource = \"foo\"\naggregate = \"max\"\ntarget = \"threads_running\"\n",
            ),
        ]);
        let m = read_metrics(run.path()).unwrap();
        let threads = InputMetric::Series(crate::model::MetricId::ThreadsRunning);
        assert_eq!(
            m.series[&threads],
            vec![Sample {
                t: 1_795_972_079.0,
                v: 2.0
            }]
        );
        assert_eq!(m.sources[0].format, "prometheus");
        assert_eq!(m.sources[0].rows, 2);
    }

    #[test]
    fn a_negative_count_names_its_file_and_time() {
        let run = run_with(&[(
            "metrics/app.csv",
            "timestamp,metric,value\n1795972079,requests,120\n1795972080,requests,-3\n",
        )]);
        let e = read_metrics(run.path()).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "app.csv: field `value`: `requests` at 2026-11-29T17:08:00Z (unix 1795972080) \
                 is -3: a count of events is 0 or more"
            ),
            "{e}"
        );
    }

    #[test]
    fn logs_and_grafana_csv_are_told_apart() {
        let run = run_with(&[
            ("metrics/app.log", "hello\n"),
            (
                "metrics/g.csv",
                "\"Time\",\"cpu_usage_pct\"\r\n1795972079000,12.5\r\n",
            ),
            (
                "metrics/sb.log",
                "sysbench 1.0.20\n[ 1s ] thds: 1 tps: 5.00 qps: 9.00 (r/w/o: 1/1/1) lat (ms,99%): 3.00 err/s: 0.00 reconn/s: 0.00\n",
            ),
            (
                "mapping.toml",
                "[sysbench]\nstart = \"2026-11-29T17:07:59Z\"\n",
            ),
        ]);
        let m = read_metrics(run.path()).unwrap();
        let formats: Vec<(&str, &str)> = m
            .sources
            .iter()
            .map(|s| (s.path.as_str(), s.format.as_str()))
            .collect();
        assert_eq!(
            formats,
            vec![("metrics/g.csv", "grafana"), ("metrics/sb.log", "sysbench")]
        );
        assert_eq!(
            m.warnings,
            vec![
                "metrics/app.log: skipped (a .log file is read only when it is sysbench output)",
                "metrics/sb.log: 1 reports with fewer than 50 transaction attempts: no error \
                 rate of their own (too few to be a measurement); the windows' error rates \
                 count their attempts"
            ]
        );
        assert_eq!(
            m.series[&CPU],
            vec![Sample {
                t: 1_795_972_079.0,
                v: 12.5
            }]
        );
        let p99 = InputMetric::Series(crate::model::MetricId::RequestLatencyP99Ms);
        assert_eq!(
            m.series[&p99],
            vec![Sample {
                t: 1_795_972_080.0,
                v: 3.0
            }]
        );
    }

    #[test]
    fn merge_keeps_raw_duplicates_and_sorts_stably() {
        let file = |samples: Vec<(f64, f64)>| FileSamples {
            series: BTreeMap::from([(
                QUERY,
                samples.into_iter().map(|(t, v)| Sample { t, v }).collect(),
            )]),
            rows: 0,
            notes: vec![],
            ..FileSamples::default()
        };
        let merged = merge_series(vec![
            ("a".into(), file(vec![(2.0, 1.0), (1.0, 2.0), (2.0, 3.0)])),
            ("b".into(), file(vec![(1.0, 4.0)])),
        ])
        .unwrap();
        let v: Vec<(f64, f64)> = merged[&QUERY].iter().map(|s| (s.t, s.v)).collect();
        assert_eq!(v, vec![(1.0, 2.0), (1.0, 4.0), (2.0, 1.0), (2.0, 3.0)]);

        // Two files each in time order are still merged in time order; one
        // file that saw its samples in order is taken as it is.
        let in_order = |samples: Vec<(f64, f64)>| FileSamples {
            in_time_order: [QUERY].into(),
            ..file(samples)
        };
        let merged = merge_series(vec![
            ("a".into(), in_order(vec![(1.0, 1.0), (3.0, 2.0)])),
            ("b".into(), in_order(vec![(2.0, 3.0)])),
        ])
        .unwrap();
        let v: Vec<(f64, f64)> = merged[&QUERY].iter().map(|s| (s.t, s.v)).collect();
        assert_eq!(v, vec![(1.0, 1.0), (2.0, 3.0), (3.0, 2.0)]);
        // Taken as it is: not even looked at, so a (false) claim shows through.
        let merged =
            merge_series(vec![("a".into(), in_order(vec![(3.0, 2.0), (1.0, 1.0)]))]).unwrap();
        let v: Vec<(f64, f64)> = merged[&QUERY].iter().map(|s| (s.t, s.v)).collect();
        assert_eq!(v, vec![(3.0, 2.0), (1.0, 1.0)]);
        // Without the claim, the same file is sorted.
        let merged = merge_series(vec![("a".into(), file(vec![(3.0, 2.0), (1.0, 1.0)]))]).unwrap();
        let v: Vec<(f64, f64)> = merged[&QUERY].iter().map(|s| (s.t, s.v)).collect();
        assert_eq!(v, vec![(1.0, 1.0), (3.0, 2.0)]);
    }
}
