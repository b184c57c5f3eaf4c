//! Prometheus `/api/v1/query_range` responses, as Prometheus returns them:
//! `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{..},"values":[[t,"v"],..]}]}}`.

use super::FileSamples;
use super::progress::Progress;
use super::util::{check_unix_seconds, is_latency_key, json_error, json_line, json_message};
use crate::error::InputError;
use crate::model::{InputMetric, Sample};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::de::{IoRead, SliceRead};
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// Parses one query_range response; `path` names the file in errors and its
/// stem names the metric when the series' `__name__` is not a metric name.
///
/// One series per file. `"NaN"`, `"+Inf"` and `"-Inf"` values (Prometheus's
/// "no value") are skipped and counted in a note; any other value that is not
/// a number is an error naming its JSON path.
pub fn parse_prometheus(path: &Path, bytes: &[u8]) -> Result<FileSamples, InputError> {
    // A BOM is not JSON, but editors and some exporters write one.
    let bytes = super::util::strip_bom(bytes);
    if bytes.is_empty() {
        return Err(empty_file(path));
    }
    match one_pass(path, SliceRead::new(bytes)) {
        Some(parsed) => parsed,
        None => two_passes(path, || Ok(SliceRead::new(bytes))),
    }
}

/// Files up to this size are read whole, then parsed; larger ones are
/// streamed, so that memory holds the samples and not the text as well.
const IN_MEMORY_MAX: u64 = 32 << 20;

/// [`parse_prometheus`] on an open file, telling `progress` of the bytes read.
pub(super) fn parse_prometheus_file(
    path: &Path,
    file: File,
    progress: &Progress,
) -> Result<FileSamples, InputError> {
    parse_file(path, file, progress, IN_MEMORY_MAX)
}

/// Files above `in_memory_max` bytes are streamed.
fn parse_file(
    path: &Path,
    mut file: File,
    progress: &Progress,
    in_memory_max: u64,
) -> Result<FileSamples, InputError> {
    let io_error = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = file.metadata().map_err(io_error)?.len();
    if len <= in_memory_max {
        let mut bytes = Vec::with_capacity(len as usize);
        file.read_to_end(&mut bytes).map_err(io_error)?;
        progress.advance(bytes.len() as u64);
        return parse_prometheus(path, &bytes);
    }
    let counted = Counted {
        inner: &file,
        progress,
    };
    let parsed = one_pass(
        path,
        IoRead::new(BufReader::with_capacity(1 << 20, counted)),
    );
    match parsed {
        Some(parsed) => parsed,
        None => two_passes(path, || {
            (&file).seek(SeekFrom::Start(0))?;
            Ok(IoRead::new(BufReader::with_capacity(1 << 20, &file)))
        }),
    }
}

/// A reader that tells a progress of what it reads.
struct Counted<'a, R> {
    inner: R,
    progress: &'a Progress,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

fn empty_file(path: &Path) -> InputError {
    InputError::invalid(
        path,
        None,
        None,
        "empty file (0 bytes): expected a Prometheus query_range response",
    )
}

/// The usual case in one pass over the text, samples straight into their
/// vector. `None` when the text does not deserialize as a whole; the two
/// passes then find the error as they always have (the envelope first, so
/// that e.g. a Prometheus error or a vector result is named as such).
fn one_pass<'de, R: serde_json::de::Read<'de>>(
    path: &Path,
    read: R,
) -> Option<Result<FileSamples, InputError>> {
    let mut de = serde_json::Deserializer::new(read);
    let whole = Whole::deserialize(&mut de).ok()?;
    de.end().ok()?;
    let head = Head {
        status: whole.status,
        error_type: whole.error_type,
        error: whole.error,
        data: whole.data.as_ref().map(|d| HeadData {
            result_type: d.result_type.clone(),
        }),
        warnings: whole.warnings,
        infos: whole.infos,
    };
    Some(check_head(path, &head).and_then(|()| {
        let result = whole.data.map(|d| d.result).unwrap_or_default();
        samples_of(path, &head, result)
    }))
}

/// The envelope first (status, resultType; `result` skipped), then the series.
fn two_passes<'de, R: serde_json::de::Read<'de>>(
    path: &Path,
    mut open: impl FnMut() -> std::io::Result<R>,
) -> Result<FileSamples, InputError> {
    let io_error = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    let head: Head = deserialize(path, open().map_err(io_error)?)?;
    check_head(path, &head)?;
    let body: Body = deserialize(path, open().map_err(io_error)?)?;
    samples_of(path, &head, body.data.result)
}

fn check_head(path: &Path, head: &Head) -> Result<(), InputError> {
    match head.status.as_str() {
        "success" => {}
        "error" => {
            return Err(InputError::invalid(
                path,
                None,
                Some("status"),
                format!(
                    "Prometheus returned an error: {}: {}",
                    head.error_type.as_deref().unwrap_or("(no errorType)"),
                    head.error.as_deref().unwrap_or("(no error message)")
                ),
            ));
        }
        other => {
            return Err(InputError::invalid(
                path,
                None,
                Some("status"),
                format!("unexpected status `{other}`: expected `success`"),
            ));
        }
    }
    let Some(data) = &head.data else {
        return Err(InputError::invalid(path, None, Some("data"), "missing"));
    };
    if data.result_type != "matrix" {
        return Err(InputError::invalid(
            path,
            None,
            Some("data.resultType"),
            format!(
                "result type `{}`: expected `matrix` (a range query, /api/v1/query_range)",
                data.result_type
            ),
        ));
    }
    Ok(())
}

/// The samples of a checked response's series.
fn samples_of(
    path: &Path,
    head: &Head,
    mut series: Vec<Series>,
) -> Result<FileSamples, InputError> {
    let mut out = FileSamples::default();
    for warning in head.warnings.iter().chain(&head.infos) {
        out.notes.push(format!("Prometheus said: {warning}"));
    }
    if series.len() > 1 {
        return Err(InputError::invalid(
            path,
            None,
            Some("data.result"),
            format!(
                "{} series in one file: choose or aggregate them with a [[metric]] rule \
                 in mapping.toml, or narrow the query, e.g. with sum()",
                series.len()
            ),
        ));
    }
    let name_label = series.first().and_then(|s| s.metric.name.clone());
    let metric = metric_of(path, name_label.as_deref())?;
    let Some(series) = series.pop() else {
        out.notes.push("no series (empty result)".to_owned());
        return Ok(out);
    };

    let points = series.values;
    if is_latency_key(metric.key())
        && let Some((index, v)) = points.first_negative
    {
        return Err(InputError::invalid(
            path,
            None,
            Some(&format!("data.result[0].values[{index}][1]")),
            format!("negative latency `{v}` for `{}`", metric.key()),
        ));
    }
    out.rows = points.rows;
    if points.skipped > 0 {
        out.notes
            .push(format!("{} NaN/Inf samples skipped", points.skipped));
    }
    out.series.insert(metric, points.samples);
    Ok(out)
}

/// The metric a file holds: the series' `__name__` if it is a metric name,
/// else the file stem.
fn metric_of(path: &Path, name_label: Option<&str>) -> Result<InputMetric, InputError> {
    if let Some(metric) = name_label.and_then(|n| n.parse::<InputMetric>().ok()) {
        return Ok(metric);
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Ok(metric) = stem.parse::<InputMetric>() {
        return Ok(metric);
    }
    let label = match name_label {
        Some(name) => format!("the series' `__name__` label (`{name}`) nor "),
        None => String::new(),
    };
    Err(InputError::invalid(
        path,
        None,
        None,
        format!(
            "cannot tell which metric this file holds: neither {label}the file name \
             (`{stem}`) is a metric name; name the file after its metric, one of: {}",
            InputMetric::accepted_names().join(", ")
        ),
    ))
}

fn deserialize<'de, T: Deserialize<'de>, R: serde_json::de::Read<'de>>(
    path: &Path,
    read: R,
) -> Result<T, InputError> {
    let mut de = serde_json::Deserializer::new(read);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| json_error(path, None, e))?;
    de.end()
        .map_err(|e| InputError::invalid(path, json_line(&e), None, json_message(&e)))?;
    Ok(value)
}

/// A whole response, for [`one_pass`].
#[derive(Deserialize)]
struct Whole {
    status: String,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    data: Option<WholeData>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    infos: Vec<String>,
}

#[derive(Deserialize)]
struct WholeData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Series>,
}

#[derive(Deserialize)]
struct Head {
    status: String,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    data: Option<HeadData>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    infos: Vec<String>,
}

#[derive(Deserialize)]
struct HeadData {
    #[serde(rename = "resultType")]
    result_type: String,
}

#[derive(Deserialize)]
struct Body {
    data: BodyData,
}

#[derive(Deserialize)]
struct BodyData {
    result: Vec<Series>,
}

#[derive(Deserialize)]
struct Series {
    #[serde(default)]
    metric: Labels,
    values: Points,
}

/// A series' `values`, straight into samples: NaN/Inf values counted and
/// skipped, the first negative value kept for the latency check (which needs
/// the metric, known only once the whole series is read).
#[derive(Default)]
struct Points {
    samples: Vec<Sample>,
    /// Points, skipped ones included.
    rows: u64,
    skipped: u64,
    /// Index and value of the first negative value.
    first_negative: Option<(usize, f64)>,
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(PointsVisitor)
    }
}

struct PointsVisitor;

impl<'de> Visitor<'de> for PointsVisitor {
    type Value = Points;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence of [time, \"value\"] points")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Points, A::Error> {
        let mut points = Points {
            samples: Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16)),
            ..Points::default()
        };
        while let Some((PromTime(t), value)) = seq.next_element::<(PromTime, PromValue)>()? {
            match value {
                PromValue::Number(v) => {
                    if v < 0.0 && points.first_negative.is_none() {
                        points.first_negative = Some((points.rows as usize, v));
                    }
                    points.samples.push(Sample { t, v });
                }
                PromValue::NotFinite => points.skipped += 1,
            }
            points.rows += 1;
        }
        Ok(points)
    }
}

#[derive(Deserialize, Default)]
struct Labels {
    #[serde(default, rename = "__name__")]
    name: Option<String>,
}

/// A sample time: unix seconds, checked plausible.
struct PromTime(f64);

impl<'de> Deserialize<'de> for PromTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let t = f64::deserialize(deserializer)?;
        check_unix_seconds(t).map_err(de::Error::custom)?;
        Ok(PromTime(t))
    }
}

/// A sample value: Prometheus writes it as a string, e.g. `"1.5"`, `"NaN"`.
enum PromValue {
    Number(f64),
    /// NaN or ±Inf: no value.
    NotFinite,
}

impl<'de> Deserialize<'de> for PromValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PromValueVisitor)
    }
}

struct PromValueVisitor;

impl PromValueVisitor {
    fn number(v: f64) -> PromValue {
        if v.is_finite() {
            PromValue::Number(v)
        } else {
            PromValue::NotFinite
        }
    }
}

impl Visitor<'_> for PromValueVisitor {
    type Value = PromValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sample value as a string, e.g. \"1.5\"")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<PromValue, E> {
        s.parse::<f64>().map(Self::number).map_err(|_| {
            E::custom(format!(
                "not a number: `{}`",
                super::util::quote(s.as_bytes())
            ))
        })
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<PromValue, E> {
        Ok(Self::number(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<PromValue, E> {
        Ok(Self::number(v as f64))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<PromValue, E> {
        Ok(Self::number(v as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MetricId;

    fn parse_at(path: &str, text: &str) -> Result<FileSamples, InputError> {
        parse_prometheus(Path::new(path), text.as_bytes())
    }

    fn err_at(path: &str, text: &str) -> String {
        parse_at(path, text).unwrap_err().to_string()
    }

    fn matrix(series: &str) -> String {
        format!(r#"{{"status":"success","data":{{"resultType":"matrix","result":[{series}]}}}}"#)
    }

    const CPU: InputMetric = InputMetric::Series(MetricId::CpuUsagePct);

    #[test]
    fn a_real_response_parses() {
        let text = matrix(
            r#"{"metric":{},"values":[[1795972079,"5.071428571428427"],[1795972080.5,"5.25"]]}"#,
        );
        let f = parse_at("run/metrics/cpu_usage_pct.json", &text).unwrap();
        assert_eq!(f.rows, 2);
        assert!(f.notes.is_empty());
        assert_eq!(
            f.series[&CPU],
            vec![
                Sample {
                    t: 1_795_972_079.0,
                    v: 5.071428571428427
                },
                Sample {
                    t: 1_795_972_080.5,
                    v: 5.25
                }
            ]
        );
    }

    /// Streamed from a file (as large files are), a response gives what it
    /// gives from memory, errors included.
    #[test]
    fn streamed_files_parse_as_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/ingest/run-mariadb/metrics/buffer_pool_hit_rate_pct.json");
        let texts = [
            std::fs::read_to_string(&fixture).unwrap(),
            matrix(r#"{"metric":{},"values":[[1795972079,"1"],[1795972080,"-2"]]}"#),
            matrix(r#"{"metric":{},"values":[[1795972079,"1"],[1795972080]]}"#),
            matrix(r#"{"metric":{"__name__":"query_latency_ms"},"values":[[1795972079,"1"],[1795972079,"NaN"],[1795972080,"-2"]]}"#),
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1795972079,"1"]}]}}"#.to_owned(),
            r#"{"status":"error","errorType":"bad_data","error":"x"}"#.to_owned(),
            format!("{} x", matrix("")),
            "{\"status\":".to_owned(),
        ];
        for (i, text) in texts.iter().enumerate() {
            let path = dir.path().join(format!("query_latency_p99_ms-{i}.json"));
            std::fs::write(&path, text).unwrap();
            let named = dir.path().join("query_latency_p99_ms.json");
            std::fs::rename(&path, &named).unwrap();
            let in_memory = parse_prometheus(&named, text.as_bytes()).map_err(|e| e.to_string());
            let file = File::open(&named).unwrap();
            let streamed =
                parse_file(&named, file, &Progress::hidden(), 0).map_err(|e| e.to_string());
            assert_eq!(streamed, in_memory, "{text}");
        }
    }

    #[test]
    fn a_real_file_with_nan_samples() {
        // prometheus/buffer_pool_hit_rate_pct.json of the MariaDB example, unchanged
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/ingest/run-mariadb/metrics/buffer_pool_hit_rate_pct.json");
        let bytes = std::fs::read(&path).unwrap();
        let f = parse_prometheus(&path, &bytes).unwrap();
        assert_eq!(f.notes, vec!["18 NaN/Inf samples skipped"]);
        let samples = &f.series[&InputMetric::Series(MetricId::BufferPoolHitRatePct)];
        assert_eq!(f.rows, samples.len() as u64 + 18);
        assert!(
            samples
                .iter()
                .all(|s| s.v.is_finite() && s.t >= 1_795_972_079.0)
        );
    }

    #[test]
    fn name_label_wins_over_the_file_stem() {
        let text =
            matrix(r#"{"metric":{"__name__":"threads_running"},"values":[[1795972079,"3"]]}"#);
        let f = parse_at("metrics/whatever.json", &text).unwrap();
        assert!(
            f.series
                .contains_key(&InputMetric::Series(MetricId::ThreadsRunning))
        );
        // a foreign __name__ falls back to the stem
        let text = matrix(
            r#"{"metric":{"__name__":"mysql_global_status_threads_running"},"values":[[1795972079,"3"]]}"#,
        );
        let f = parse_at("metrics/threads_running.json", &text).unwrap();
        assert!(
            f.series
                .contains_key(&InputMetric::Series(MetricId::ThreadsRunning))
        );
    }

    #[test]
    fn unknown_metric_names_file_and_accepted_names() {
        let text = matrix(
            r#"{"metric":{"__name__":"mysql_global_status_threads_running"},"values":[[1795972079,"3"]]}"#,
        );
        let e = err_at("run/metrics/mysql_threads.json", &text);
        assert!(
            e.starts_with("run/metrics/mysql_threads.json: cannot tell which metric"),
            "{e}"
        );
        assert!(e.contains("`mysql_global_status_threads_running`"), "{e}");
        assert!(e.contains("`mysql_threads`"), "{e}");
        assert!(e.contains("cpu_usage_pct, memory_usage_pct"), "{e}");
    }

    #[test]
    fn nan_and_inf_are_skipped_and_counted() {
        let text = matrix(
            r#"{"metric":{},"values":[[1795972079,"NaN"],[1795972080,"1"],[1795972081,"+Inf"],[1795972082,"-Inf"]]}"#,
        );
        let f = parse_at("metrics/cpu_usage_pct.json", &text).unwrap();
        assert_eq!(f.rows, 4);
        assert_eq!(
            f.series[&CPU],
            vec![Sample {
                t: 1_795_972_080.0,
                v: 1.0
            }]
        );
        assert_eq!(f.notes, vec!["3 NaN/Inf samples skipped"]);
    }

    #[test]
    fn bad_value_names_its_json_path() {
        let values: Vec<String> = (0..17)
            .map(|i| format!("[{},\"1\"]", 1_795_972_079 + i))
            .chain(["[1795972100,\"1.2.3\"]".to_owned()])
            .collect();
        let text = matrix(&format!(
            r#"{{"metric":{{}},"values":[{}]}}"#,
            values.join(",")
        ));
        let e = err_at("run/metrics/cpu_usage_pct.json", &text);
        assert_eq!(
            e,
            "run/metrics/cpu_usage_pct.json:1: field `data.result[0].values[17][1]`: not a number: `1.2.3`"
        );
    }

    #[test]
    fn bad_time_names_its_json_path() {
        let text = matrix(r#"{"metric":{},"values":[[1795972079000,"1"]]}"#);
        let e = err_at("m/cpu_usage_pct.json", &text);
        assert!(
            e.starts_with("m/cpu_usage_pct.json:1: field `data.result[0].values[0][0]`: "),
            "{e}"
        );
        assert!(e.contains("looks like milliseconds"), "{e}");
        let text = matrix(r#"{"metric":{},"values":[[5,"1"]]}"#);
        assert!(err_at("m/cpu_usage_pct.json", &text).contains("implausible"));
        let text = matrix(r#"{"metric":{},"values":[["1795972079","1"]]}"#);
        assert!(
            err_at("m/cpu_usage_pct.json", &text)
                .contains("field `data.result[0].values[0][0]`: invalid type")
        );
    }

    #[test]
    fn malformed_points_name_their_path() {
        let text = matrix(r#"{"metric":{},"values":[[1795972079,"1"],[1795972080]]}"#);
        let e = err_at("m/cpu_usage_pct.json", &text);
        assert!(e.contains("field `data.result[0].values[1]`"), "{e}");
        let text = matrix(r#"{"metric":{},"values":[[1795972079,"1",3]]}"#);
        assert!(err_at("m/cpu_usage_pct.json", &text).contains("data.result[0].values[0]"));
        let text = matrix(r#"{"metric":{},"values":[[1795972079,true]]}"#);
        let e = err_at("m/cpu_usage_pct.json", &text);
        assert!(
            e.contains("field `data.result[0].values[0][1]`: invalid type"),
            "{e}"
        );
    }

    #[test]
    fn negative_latency_is_an_error() {
        let text = matrix(r#"{"metric":{},"values":[[1795972079,"1"],[1795972080,"-2"]]}"#);
        let e = err_at("m/query_latency_p99_ms.json", &text);
        assert_eq!(
            e,
            "m/query_latency_p99_ms.json: field `data.result[0].values[1][1]`: negative latency `-2` for `query_latency_p99_ms`"
        );
    }

    #[test]
    fn error_status_quotes_prometheus() {
        let text = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error"}"#;
        let e = err_at("m/cpu_usage_pct.json", text);
        assert_eq!(
            e,
            "m/cpu_usage_pct.json: field `status`: Prometheus returned an error: bad_data: invalid parameter \"query\": 1:5: parse error"
        );
    }

    #[test]
    fn other_result_types_are_rejected() {
        let text = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1795972079,"1"]}]}}"#;
        let e = err_at("m/cpu_usage_pct.json", text);
        assert!(
            e.contains("field `data.resultType`: result type `vector`: expected `matrix`"),
            "{e}"
        );
    }

    #[test]
    fn several_series_are_rejected_with_their_count() {
        let one = r#"{"metric":{"device":"lo"},"values":[[1795972079,"1"]]}"#;
        let text = matrix(&[one, one, one].join(","));
        let e = err_at("m/cpu_usage_pct.json", &text);
        assert!(
            e.contains("3 series in one file: choose or aggregate them with a [[metric]] rule"),
            "{e}"
        );
    }

    #[test]
    fn empty_result_is_a_note() {
        let f = parse_at("m/cpu_usage_pct.json", &matrix("")).unwrap();
        assert_eq!(f.notes, vec!["no series (empty result)"]);
        assert!(f.series.is_empty());
    }

    #[test]
    fn prometheus_warnings_are_kept() {
        let text = r#"{"status":"success","warnings":["too many samples"],"data":{"resultType":"matrix","result":[]}}"#;
        let f = parse_at("m/cpu_usage_pct.json", text).unwrap();
        assert_eq!(f.notes[0], "Prometheus said: too many samples");
    }

    #[test]
    fn empty_and_garbage_files() {
        assert!(err_at("m/cpu_usage_pct.json", "").contains("empty file (0 bytes)"));
        let e = err_at("m/cpu_usage_pct.json", "{\"status\":");
        assert!(e.starts_with("m/cpu_usage_pct.json:1: "), "{e}");
        let e = err_at("m/cpu_usage_pct.json", "[]");
        assert!(
            e.starts_with("m/cpu_usage_pct.json:1: invalid length 0"),
            "{e}"
        );
        let e = err_at("m/cpu_usage_pct.json", "\"x\"");
        assert!(e.contains("invalid type"), "{e}");
        let e = err_at("m/cpu_usage_pct.json", &format!("{} x", matrix("")));
        assert!(e.contains("trailing characters"), "{e}");
    }

    #[test]
    fn hostile_nesting_does_not_overflow() {
        let deep = "[".repeat(200_000);
        for text in [
            deep.clone(),
            format!(r#"{{"status":"success","x":{deep}"#),
            format!(
                r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{}},"values":{deep}"#
            ),
            format!(
                r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{deep}"#
            ),
        ] {
            assert!(parse_at("m/cpu_usage_pct.json", &text).is_err());
        }
    }
}
