//! The metric mapping: from the names people's tools write (a Prometheus
//! `__name__` or file stem, a Grafana column, a sysbench field) to the
//! report's input metrics, with label selection, aggregation across series,
//! counter rates and unit conversion.
//!
//! The built-in [`DEFAULT_MAPPING`] always applies; `RUN/mapping.toml` (or
//! `build --mapping FILE`) extends it, its rules replacing default rules with
//! the same `source`. The format is in docs/run-directory.md, "Metric mapping".

use super::FileSamples;
use super::util::{check_unix_seconds, is_latency_key, parse_timestamp};
use crate::error::InputError;
use crate::model::{InputMetric, MetricId, Sample};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The shipped mapping: node_exporter and mysqld_exporter names, and the
/// known-but-unused names that are skipped with a warning.
pub const DEFAULT_MAPPING: &str = include_str!("default_mapping.toml");

const DEFAULT_NAME: &str = "default_mapping.toml (built in)";

/// Where the mapping hint in errors points.
pub(super) const MAPPING_HINT: &str = "or map it with a `[[metric]]` rule in RUN/mapping.toml \
     (docs/run-directory.md, \"Metric mapping\")";

/// A loaded mapping: the user's rules first, then the default's.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    rules: Vec<Rule>,
    /// Known names that are not report metrics, with the reason.
    ignore: BTreeMap<String, String>,
    pub sysbench: SysbenchOptions,
    pub grafana: GrafanaOptions,
    /// The user's mapping file, when there is one.
    pub file: Option<PathBuf>,
}

impl Default for Mapping {
    /// The built-in mapping alone.
    fn default() -> Self {
        // Checked by the tests: the built-in file is part of the program.
        parse_file(Path::new(DEFAULT_NAME), DEFAULT_MAPPING)
            .and_then(|f| Mapping::build(f, None))
            .expect("the built-in mapping is valid")
    }
}

/// One `[[metric]]` rule.
#[derive(Debug, Clone, PartialEq)]
struct Rule {
    source: String,
    labels: BTreeMap<String, Vec<String>>,
    exclude: BTreeMap<String, Vec<String>>,
    counter: Option<Counter>,
    aggregate: Option<Aggregate>,
    unit: Option<Unit>,
    complement: bool,
    target: InputMetric,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Counter {
    Rate,
    Increase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Aggregate {
    Sum,
    Avg,
    Max,
    Min,
}

/// `[sysbench]`: how sysbench's per-interval reports become metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SysbenchOptions {
    /// When sysbench printed "Threads started!" (unix seconds): `[ Ns ]` counts from it.
    pub start: Option<f64>,
    /// `qps` instead of `tps` for throughput_rps.
    pub use_qps: bool,
    pub latency: SysbenchLatency,
}

/// Where sysbench's one printed latency percentile goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SysbenchLatency {
    /// `request_latency_p99_ms` when sysbench printed the 99th percentile,
    /// `request_latency_p50_ms` for the 50th; otherwise left out with a warning.
    #[default]
    Auto,
    /// Left out.
    Drop,
    /// To this metric, whatever the percentile (a note says so when they differ).
    To(MetricId),
}

/// `[grafana]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrafanaOptions {
    /// Offset east of UTC, in seconds, of times written without one.
    pub timezone_s: Option<i32>,
}

/// A unit a source writes its values in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    Percent,
    /// 0..1
    Ratio,
    /// Seconds per unit.
    Time(f64),
    /// Bytes per unit (a rate's `/s` is implied).
    Bytes(f64),
    /// A plain number: a count or a rate per second.
    Count,
}

impl Unit {
    /// Parses a unit as people and Grafana write it (`%`, `ms`, `MB/s`, `ratio`, ...).
    pub fn parse(text: &str) -> Option<Unit> {
        let text = text.trim();
        let unit = match text {
            "%" | "percent" | "pct" => Unit::Percent,
            "ratio" | "percentunit" => Unit::Ratio,
            "s" | "sec" | "second" | "seconds" => Unit::Time(1.0),
            "ms" | "millisecond" | "milliseconds" => Unit::Time(1e-3),
            "µs" | "μs" | "us" | "microsecond" | "microseconds" => Unit::Time(1e-6),
            "ns" | "nanosecond" | "nanoseconds" => Unit::Time(1e-9),
            "count" | "none" | "short" | "req/s" | "rps" | "ops/s" | "tps" | "qps" | "/s" => {
                Unit::Count
            }
            _ => {
                let bytes = text.strip_suffix("/s").unwrap_or(text);
                Unit::Bytes(match bytes {
                    "B" | "byte" | "bytes" => 1.0,
                    "kB" | "KB" => 1e3,
                    "MB" => 1e6,
                    "GB" => 1e9,
                    "KiB" => 1024.0,
                    "MiB" => 1_048_576.0,
                    "GiB" => 1_073_741_824.0,
                    _ => return None,
                })
            }
        };
        Some(unit)
    }

    /// The units [`Unit::parse`] takes, for messages.
    pub const ACCEPTED: &'static str = "%, ratio, s, ms, us, ns, B, kB, MB, GB, KiB, MiB, GiB \
         (each optionally with /s), count, req/s";

    /// The factor from this unit to `target`'s unit.
    fn factor_to(self, target: InputMetric) -> Result<f64, String> {
        let to = unit_of(target);
        let factor = match (self, to) {
            (Unit::Percent, "%") => 1.0,
            (Unit::Ratio, "%") => 100.0,
            (Unit::Time(f), "ms") => f * 1e3,
            (Unit::Time(f), "s") => f,
            (Unit::Bytes(f), "MB/s") => f / 1e6,
            (Unit::Count, "count" | "req/s") => 1.0,
            _ => {
                return Err(format!(
                    "cannot convert {} to `{}`, whose unit is {to}",
                    self.describe(),
                    target.key()
                ));
            }
        };
        Ok(factor)
    }

    fn describe(self) -> String {
        match self {
            Unit::Percent => "a percentage".to_owned(),
            Unit::Ratio => "a ratio".to_owned(),
            Unit::Time(_) => "a time".to_owned(),
            Unit::Bytes(_) => "bytes".to_owned(),
            Unit::Count => "a plain number".to_owned(),
        }
    }
}

fn unit_of(metric: InputMetric) -> &'static str {
    match metric {
        InputMetric::Series(m) => m.unit(),
        InputMetric::Raw(_) => "ms",
        InputMetric::Count(_) => "count",
    }
}

/// One series of a source file, before mapping.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabeledSeries {
    /// Prometheus `__name__`, or a Grafana column's name.
    pub name: Option<String>,
    /// The other labels.
    pub labels: BTreeMap<String, String>,
    /// In file order.
    pub samples: Vec<Sample>,
    /// The unit the data itself states (a Grafana header or value), if any.
    pub unit: Option<Unit>,
}

/// What the mapping makes of one file's series.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Mapped {
        series: Vec<(InputMetric, Vec<Sample>)>,
        notes: Vec<String>,
    },
    /// Every series is a known name the report does not use: why.
    Ignored { name: String, reason: String },
    /// No rule and no metric name matches anything in the file.
    Unmapped,
}

/// A file read through the mapping: samples, or skipped with a warning.
#[derive(Debug, Clone, PartialEq)]
pub enum FileOutcome {
    Samples(FileSamples),
    Skipped(String),
}

impl Mapping {
    /// Maps one file's series (`stem`: the file name without extension).
    ///
    /// Rules are tried in order (the user's, then the default's); each claims
    /// the still-unclaimed series it names (by `__name__` or the file stem)
    /// and selects (by labels). Unclaimed series named after an input metric
    /// are taken as they are; the rest are ignored names, unselected series
    /// of a rule's name (notes), or unknown (an error, or [`Outcome::Unmapped`]
    /// when nothing in the file is known).
    pub fn resolve(&self, stem: &str, series: &[LabeledSeries]) -> Result<Outcome, String> {
        let n = series.len();
        let mut claimed = vec![false; n];
        let mut out: Vec<(InputMetric, Vec<Sample>)> = Vec::new();
        let mut notes = Vec::new();
        let mut named = false;
        for rule in &self.rules {
            let hits: Vec<usize> = (0..n)
                .filter(|&i| !claimed[i] && rule.names(&series[i], stem))
                .collect();
            if hits.is_empty() {
                named |= n == 0 && rule.source == stem;
                continue;
            }
            named = true;
            let selected: Vec<usize> = hits
                .into_iter()
                .filter(|&i| rule.selects(&series[i]))
                .collect();
            if selected.is_empty() {
                continue;
            }
            for &i in &selected {
                claimed[i] = true;
            }
            let chosen: Vec<&LabeledSeries> = selected.iter().map(|&i| &series[i]).collect();
            out.push((rule.target, rule.apply(&chosen)?));
        }

        // Series named after an input metric need no rule.
        let mut direct: BTreeMap<InputMetric, Vec<usize>> = BTreeMap::new();
        for i in (0..n).filter(|&i| !claimed[i]) {
            if let Some(metric) = series[i]
                .name
                .as_deref()
                .and_then(|name| name.parse::<InputMetric>().ok())
            {
                direct.entry(metric).or_default().push(i);
            }
        }
        for (metric, indices) in direct {
            if indices.len() > 1 {
                return Err(format!(
                    "{} series in one file named `{}` ({}): one series per metric is required, \
                     unless a `[[metric]]` rule for it selects one (`labels`) or combines them \
                     (`aggregate`)",
                    indices.len(),
                    metric.key(),
                    indices
                        .iter()
                        .map(|&i| describe_labels(&series[i].labels))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            claimed[indices[0]] = true;
            let identity = Rule::identity(metric);
            out.push((metric, identity.apply(&[&series[indices[0]]])?));
        }

        let mut ignored: Option<(String, String)> = None;
        let mut ignored_count = 0usize;
        let mut unselected = 0usize;
        let mut unknown = BTreeSet::new();
        for s in (0..n).filter(|&i| !claimed[i]).map(|i| &series[i]) {
            let name = s.name.as_deref().unwrap_or(stem);
            let reason = s
                .name
                .as_deref()
                .and_then(|n| self.ignore.get(n).map(|r| (n, r)))
                .or_else(|| self.ignore.get(stem).map(|r| (stem, r)));
            if let Some((key, reason)) = reason {
                ignored_count += 1;
                ignored.get_or_insert((key.to_owned(), reason.clone()));
            } else if named {
                unselected += 1;
            } else {
                unknown.insert(name.to_owned());
            }
        }
        if n == 0
            && !named
            && let Some(reason) = self.ignore.get(stem)
        {
            return Ok(Outcome::Ignored {
                name: stem.to_owned(),
                reason: reason.clone(),
            });
        }
        if !unknown.is_empty() {
            if out.is_empty() && !named && ignored_count == 0 {
                return Ok(Outcome::Unmapped);
            }
            return Err(format!(
                "no mapping rule for {} (not a metric name either); accepted names: {}; {MAPPING_HINT}",
                unknown
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                InputMetric::accepted_names().join(", ")
            ));
        }
        if out.is_empty() {
            if let Some((name, reason)) = ignored
                && unselected == 0
            {
                return Ok(Outcome::Ignored { name, reason });
            }
            if named {
                return Err(format!(
                    "the mapping rules for this file select none of its {n} series ({}); \
                     check the rules' `labels` and `exclude`",
                    series
                        .iter()
                        .map(|s| describe_labels(&s.labels))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            return Ok(Outcome::Unmapped);
        }
        if let Some((name, reason)) = ignored {
            notes.push(format!(
                "{ignored_count} series skipped (`{name}`: known, not used: {reason})"
            ));
        }
        if unselected > 0 {
            notes.push(format!(
                "{unselected} series not selected by the mapping's `labels`/`exclude` skipped"
            ));
        }
        Ok(Outcome::Mapped { series: out, notes })
    }

    /// Builds a mapping from the default file and the user's, if any.
    fn build(
        default: MappingFile,
        user: Option<(PathBuf, MappingFile)>,
    ) -> Result<Mapping, InputError> {
        let default_path = Path::new(DEFAULT_NAME);
        let mut mapping = Mapping {
            rules: Vec::new(),
            ignore: BTreeMap::new(),
            sysbench: SysbenchOptions::default(),
            grafana: GrafanaOptions::default(),
            file: None,
        };
        let mut default_rules = default.rules(default_path)?;
        let mut ignore = default.ignore;
        if let Some((path, user)) = user {
            let user_rules = user.rules(&path)?;
            if user.use_default {
                let sources: BTreeSet<&str> =
                    user_rules.iter().map(|r| r.source.as_str()).collect();
                default_rules.retain(|r| !sources.contains(r.source.as_str()));
                for rule in &user_rules {
                    ignore.remove(&rule.source);
                }
            } else {
                default_rules.clear();
                ignore.clear();
            }
            mapping.rules = user_rules;
            ignore.extend(user.ignore);
            mapping.sysbench = user.sysbench.options(&path)?;
            mapping.grafana = user.grafana.options(&path)?;
            mapping.file = Some(path);
        }
        mapping.rules.extend(default_rules);
        mapping.ignore = ignore;
        Ok(mapping)
    }
}

/// Loads the mapping for a run: `explicit` (from `--mapping`) when given,
/// else `RUN/mapping.toml` when present; either extends the built-in default.
pub fn load_mapping(run_dir: &Path, explicit: Option<&Path>) -> Result<Mapping, InputError> {
    let path = match explicit {
        Some(path) => Some(path.to_path_buf()),
        None => Some(run_dir.join("mapping.toml")).filter(|p| p.exists()),
    };
    let default = parse_file(Path::new(DEFAULT_NAME), DEFAULT_MAPPING)?;
    let user = match path {
        None => None,
        Some(path) => {
            let bytes = super::util::read_required(&path, "the metric mapping (TOML)")?;
            let text = String::from_utf8(bytes)
                .map_err(|_| InputError::invalid(&path, None, None, "not valid UTF-8"))?;
            let file = parse_file(&path, &text)?;
            Some((path, file))
        }
    };
    Mapping::build(default, user)
}

/// Parses a mapping file's text; errors name the line and the key path.
fn parse_file(path: &Path, text: &str) -> Result<MappingFile, InputError> {
    let line_of = |span: Option<std::ops::Range<usize>>| {
        span.map(|s| text[..s.start.min(text.len())].matches('\n').count() as u64 + 1)
    };
    let de = toml::Deserializer::parse(text).map_err(|e| {
        InputError::invalid(path, line_of(e.span()), None, e.message().trim().to_owned())
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        InputError::invalid(
            path,
            line_of(inner.span()),
            (field != ".").then_some(field.as_str()),
            inner.message().trim().to_owned(),
        )
    })
}

impl Rule {
    fn identity(target: InputMetric) -> Rule {
        Rule {
            source: target.key().to_owned(),
            labels: BTreeMap::new(),
            exclude: BTreeMap::new(),
            counter: None,
            aggregate: None,
            unit: None,
            complement: false,
            target,
        }
    }

    fn names(&self, series: &LabeledSeries, stem: &str) -> bool {
        series.name.as_deref() == Some(self.source.as_str()) || self.source == stem
    }

    fn selects(&self, series: &LabeledSeries) -> bool {
        let value = |k: &str| series.labels.get(k).map_or("", String::as_str);
        self.labels
            .iter()
            .all(|(k, vs)| vs.iter().any(|v| v == value(k)))
            && !self
                .exclude
                .iter()
                .any(|(k, vs)| vs.iter().any(|v| v == value(k)))
    }

    /// Counter, unit, aggregation, complement, in that order.
    fn apply(&self, series: &[&LabeledSeries]) -> Result<Vec<Sample>, String> {
        let mut per = Vec::with_capacity(series.len());
        for s in series {
            let mut samples = s.samples.clone();
            samples.sort_by(|a, b| a.t.total_cmp(&b.t));
            if let Some(counter) = self.counter {
                samples = counter_values(counter, &samples);
            }
            if let Some(unit) = s.unit.or(self.unit) {
                let factor = unit.factor_to(self.target).map_err(|e| {
                    format!("mapping `{}` to `{}`: {e}", self.source, self.target.key())
                })?;
                if factor != 1.0 {
                    for x in &mut samples {
                        x.v *= factor;
                    }
                }
            }
            per.push(samples);
        }
        let mut out = if per.len() == 1 {
            per.pop().unwrap_or_default()
        } else {
            let Some(aggregate) = self.aggregate else {
                return Err(format!(
                    "{} series for `{}` ({}): the rule mapping it to `{}` needs `aggregate` \
                     (sum, avg, max, min) or `labels` that select one",
                    per.len(),
                    self.source,
                    series
                        .iter()
                        .map(|s| describe_labels(&s.labels))
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.target.key()
                ));
            };
            aggregate_values(aggregate, per)
        };
        if self.complement {
            for x in &mut out {
                x.v = 100.0 - x.v;
            }
        }
        Ok(out)
    }
}

/// Per-second rate or per-interval increase of a sorted counter, at each
/// sample after the first; a fall is a counter reset (the increase is then
/// the new value, as Prometheus takes it).
fn counter_values(counter: Counter, samples: &[Sample]) -> Vec<Sample> {
    samples
        .windows(2)
        .filter_map(|w| {
            let [a, b] = w else { return None };
            let dt = b.t - a.t;
            if dt <= 0.0 {
                return None;
            }
            let increase = if b.v >= a.v { b.v - a.v } else { b.v };
            let v = match counter {
                Counter::Rate => increase / dt,
                Counter::Increase => increase,
            };
            Some(Sample { t: b.t, v })
        })
        .collect()
}

/// Combines sorted series at each time any of them has a value, over the
/// series that have one then.
fn aggregate_values(aggregate: Aggregate, per: Vec<Vec<Sample>>) -> Vec<Sample> {
    let mut all: Vec<Sample> = per.into_iter().flatten().collect();
    all.sort_by(|a, b| a.t.total_cmp(&b.t));
    let mut out: Vec<Sample> = Vec::new();
    for group in all.chunk_by(|a, b| a.t == b.t) {
        let values = group.iter().map(|s| s.v);
        let v = match aggregate {
            Aggregate::Sum => values.sum(),
            Aggregate::Avg => values.sum::<f64>() / group.len() as f64,
            Aggregate::Max => values.fold(f64::NEG_INFINITY, f64::max),
            Aggregate::Min => values.fold(f64::INFINITY, f64::min),
        };
        out.push(Sample { t: group[0].t, v });
    }
    out
}

fn describe_labels(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{{{}}}", inner.join(","))
}

/// The samples of a mapped file, or why it is skipped; negative latencies are
/// errors, as in the other readers.
pub(super) fn to_file_outcome(
    path: &Path,
    outcome: Outcome,
    rows: u64,
    mut notes: Vec<String>,
) -> Result<Option<FileOutcome>, InputError> {
    match outcome {
        Outcome::Unmapped => Ok(None),
        Outcome::Ignored { name, reason } => {
            let why = if reason.is_empty() {
                String::new()
            } else {
                format!(" ({reason})")
            };
            Ok(Some(FileOutcome::Skipped(format!(
                "skipped: `{name}` is not a report metric{why}; a `[[metric]]` rule in \
                 RUN/mapping.toml would map it"
            ))))
        }
        Outcome::Mapped {
            series,
            notes: more,
        } => {
            let mut out = FileSamples {
                rows,
                ..FileSamples::default()
            };
            for (metric, samples) in series {
                if is_latency_key(metric.key())
                    && let Some(s) = samples.iter().find(|s| s.v < 0.0)
                {
                    return Err(InputError::invalid(
                        path,
                        None,
                        None,
                        format!(
                            "negative latency `{}` for `{}` at {}",
                            s.v,
                            metric.key(),
                            super::util::format_unix(s.t)
                        ),
                    ));
                }
                out.series.entry(metric).or_default().extend(samples);
            }
            notes.extend(more);
            out.notes = notes;
            Ok(Some(FileOutcome::Samples(out)))
        }
    }
}

/// A Prometheus file the fast reader turned down (`original`): several
/// series, or a name that is no metric. The mapping may know it; if not, the
/// original error stands, with a hint that a mapping could map it.
pub(super) fn prometheus_fallback(
    path: &Path,
    mapping: &Mapping,
    original: InputError,
) -> Result<FileOutcome, InputError> {
    let Ok(bytes) = std::fs::read(path) else {
        return Err(original);
    };
    let Some((series, rows, skipped)) = parse_prometheus_series(&bytes) else {
        return Err(original);
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let accepted = |name: Option<&str>| name.is_some_and(|n| n.parse::<InputMetric>().is_ok());
    if series.len() == 1 && (accepted(series[0].name.as_deref()) || accepted(Some(&stem))) {
        // Named well: the fault is elsewhere (e.g. a negative latency).
        return Err(original);
    }
    let outcome = mapping
        .resolve(&stem, &series)
        .map_err(|message| InputError::invalid(path, None, Some("data.result"), message))?;
    let mut notes = Vec::new();
    if skipped > 0 {
        notes.push(format!("{skipped} NaN/Inf samples skipped"));
    }
    match to_file_outcome(path, outcome, rows, notes)? {
        Some(outcome) => Ok(outcome),
        None if series.len() > 1 => {
            let names: BTreeSet<&str> = series.iter().filter_map(|s| s.name.as_deref()).collect();
            let names = if names.is_empty() {
                "no `__name__`".to_owned()
            } else {
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            Err(InputError::invalid(
                path,
                None,
                Some("data.result"),
                format!(
                    "{} series in one file ({names}; file stem `{stem}`) and no mapping rule \
                     for them: one series per file is required, unless a `[[metric]]` rule in \
                     RUN/mapping.toml selects one (`labels`) or combines them (`aggregate`); \
                     or narrow the query, e.g. with sum()",
                    series.len()
                ),
            ))
        }
        None => Err(with_hint(original)),
    }
}

/// `error` with [`MAPPING_HINT`] appended to its message.
pub(super) fn with_hint(error: InputError) -> InputError {
    match error {
        InputError::Invalid {
            path,
            line,
            field,
            message,
        } => InputError::Invalid {
            path,
            line,
            field,
            message: format!("{message}; {MAPPING_HINT}"),
        },
        other => other,
    }
}

/// Every series of a query_range response with its labels, the points read
/// (skipped ones included) and the NaN/Inf points skipped. `None` for
/// anything that is not a well-formed successful matrix (the fast reader's
/// error then stands).
fn parse_prometheus_series(bytes: &[u8]) -> Option<(Vec<LabeledSeries>, u64, u64)> {
    #[derive(Deserialize)]
    struct Response {
        status: String,
        data: Data,
    }
    #[derive(Deserialize)]
    struct Data {
        #[serde(rename = "resultType")]
        result_type: String,
        result: Vec<Series>,
    }
    #[derive(Deserialize)]
    struct Series {
        #[serde(default)]
        metric: BTreeMap<String, String>,
        values: Vec<(f64, String)>,
    }
    let response: Response = serde_json::from_slice(super::util::strip_bom(bytes)).ok()?;
    if response.status != "success" || response.data.result_type != "matrix" {
        return None;
    }
    let (mut rows, mut skipped) = (0u64, 0u64);
    let mut out = Vec::with_capacity(response.data.result.len());
    for series in response.data.result {
        let mut labels = series.metric;
        let name = labels.remove("__name__");
        let mut samples = Vec::with_capacity(series.values.len());
        for (t, v) in series.values {
            rows += 1;
            check_unix_seconds(t).ok()?;
            let v: f64 = v.parse().ok()?;
            if v.is_finite() {
                samples.push(Sample { t, v });
            } else {
                skipped += 1;
            }
        }
        out.push(LabeledSeries {
            name,
            labels,
            samples,
            unit: None,
        });
    }
    Some((out, rows, skipped))
}

// ---- the file format --------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default = "yes")]
    use_default: bool,
    #[serde(default)]
    metric: Vec<RuleFile>,
    #[serde(default)]
    ignore: BTreeMap<String, String>,
    #[serde(default)]
    sysbench: SysbenchFile,
    #[serde(default)]
    grafana: GrafanaFile,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    source: String,
    #[serde(default)]
    labels: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    exclude: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    counter: Option<Counter>,
    #[serde(default)]
    aggregate: Option<Aggregate>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    complement: bool,
    target: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(v) => vec![v],
            OneOrMany::Many(vs) => vs,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SysbenchFile {
    start: Option<String>,
    throughput: Option<String>,
    latency: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrafanaFile {
    timezone: Option<String>,
}

impl MappingFile {
    fn rules(&self, path: &Path) -> Result<Vec<Rule>, InputError> {
        let mut rules = Vec::with_capacity(self.metric.len());
        for (i, r) in self.metric.iter().enumerate() {
            let field = |name: &str| format!("metric[{i}].{name}");
            let invalid = |name: &str, message: String| {
                InputError::invalid(path, None, Some(&field(name)), message)
            };
            let target = r.target.parse::<InputMetric>().map_err(|()| {
                invalid(
                    "target",
                    format!(
                        "`{}` is not an input metric; one of: {}",
                        r.target,
                        InputMetric::accepted_names().join(", ")
                    ),
                )
            })?;
            let unit = match &r.unit {
                None => None,
                Some(text) => Some(Unit::parse(text).ok_or_else(|| {
                    invalid(
                        "unit",
                        format!("unknown unit `{text}`; one of: {}", Unit::ACCEPTED),
                    )
                })?),
            };
            if let Some(unit) = unit {
                unit.factor_to(target).map_err(|e| invalid("unit", e))?;
            }
            if r.complement && unit_of(target) != "%" {
                return Err(invalid(
                    "complement",
                    format!(
                        "`complement` (100 minus the value) is for % metrics, not `{}`",
                        target.key()
                    ),
                ));
            }
            let matchers = |m: &BTreeMap<String, OneOrMany>| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.clone().into_vec()))
                    .collect()
            };
            rules.push(Rule {
                source: r.source.clone(),
                labels: matchers(&r.labels),
                exclude: matchers(&r.exclude),
                counter: r.counter,
                aggregate: r.aggregate,
                unit,
                complement: r.complement,
                target,
            });
        }
        Ok(rules)
    }
}

impl SysbenchFile {
    fn options(&self, path: &Path) -> Result<SysbenchOptions, InputError> {
        let invalid = |name: &str, message: String| {
            InputError::invalid(path, None, Some(&format!("sysbench.{name}")), message)
        };
        let start = match &self.start {
            None => None,
            Some(text) => Some(parse_timestamp(text.as_bytes()).map_err(|e| invalid("start", e))?),
        };
        let use_qps = match self.throughput.as_deref() {
            None | Some("tps") => false,
            Some("qps") => true,
            Some(other) => {
                return Err(invalid(
                    "throughput",
                    format!("`{other}`: expected `tps` or `qps`"),
                ));
            }
        };
        let latency = match self.latency.as_deref() {
            None | Some("auto") => SysbenchLatency::Auto,
            Some("none") => SysbenchLatency::Drop,
            Some(key) => match key.parse::<MetricId>() {
                Ok(m) if m.is_latency() => SysbenchLatency::To(m),
                _ => {
                    return Err(invalid(
                        "latency",
                        format!(
                            "`{key}`: expected `auto`, `none` or a latency percentile series: \
                             query_latency_p50_ms, query_latency_p99_ms, request_latency_p50_ms, \
                             request_latency_p99_ms"
                        ),
                    ));
                }
            },
        };
        Ok(SysbenchOptions {
            start,
            use_qps,
            latency,
        })
    }
}

impl GrafanaFile {
    fn options(&self, path: &Path) -> Result<GrafanaOptions, InputError> {
        let Some(text) = &self.timezone else {
            return Ok(GrafanaOptions::default());
        };
        let offset = parse_offset(text).ok_or_else(|| {
            InputError::invalid(
                path,
                None,
                Some("grafana.timezone"),
                format!("`{text}`: expected `UTC` or an offset like `+07:00`"),
            )
        })?;
        Ok(GrafanaOptions {
            timezone_s: Some(offset),
        })
    }
}

/// `UTC`, `Z` or `±HH:MM` as seconds east of UTC.
fn parse_offset(text: &str) -> Option<i32> {
    if matches!(text, "UTC" | "utc" | "Z") {
        return Some(0);
    }
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RawLatency;

    fn series(name: Option<&str>, labels: &[(&str, &str)], points: &[(f64, f64)]) -> LabeledSeries {
        LabeledSeries {
            name: name.map(str::to_owned),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            samples: points.iter().map(|&(t, v)| Sample { t, v }).collect(),
            unit: None,
        }
    }

    fn user(text: &str) -> Mapping {
        let file = parse_file(Path::new("run/mapping.toml"), text).unwrap();
        let default = parse_file(Path::new(DEFAULT_NAME), DEFAULT_MAPPING).unwrap();
        Mapping::build(default, Some(("run/mapping.toml".into(), file))).unwrap()
    }

    fn mapped(outcome: Outcome) -> Vec<(InputMetric, Vec<(f64, f64)>)> {
        match outcome {
            Outcome::Mapped { series, .. } => series
                .into_iter()
                .map(|(m, s)| (m, s.iter().map(|s| (s.t, s.v)).collect()))
                .collect(),
            other => panic!("not mapped: {other:?}"),
        }
    }

    const T: f64 = 1_795_972_079.0;

    #[test]
    fn the_default_mapping_loads_and_maps_exporter_names() {
        let m = Mapping::default();
        assert!(m.file.is_none());
        // node_cpu_seconds_total: rate of idle per CPU, averaged, 100 - x%.
        let cpu = [
            series(
                Some("node_cpu_seconds_total"),
                &[("cpu", "0"), ("mode", "idle")],
                &[(T, 100.0), (T + 1.0, 100.8), (T + 2.0, 101.4)],
            ),
            series(
                Some("node_cpu_seconds_total"),
                &[("cpu", "1"), ("mode", "idle")],
                &[(T, 50.0), (T + 1.0, 50.6), (T + 2.0, 51.6)],
            ),
            series(
                Some("node_cpu_seconds_total"),
                &[("cpu", "0"), ("mode", "user")],
                &[(T, 9.0), (T + 1.0, 9.2), (T + 2.0, 9.9)],
            ),
        ];
        let out = m.resolve("whatever", &cpu).unwrap();
        let Outcome::Mapped { notes, .. } = &out else {
            panic!("{out:?}")
        };
        assert_eq!(
            notes,
            &vec!["1 series not selected by the mapping's `labels`/`exclude` skipped".to_owned()]
        );
        let got = mapped(out);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, InputMetric::Series(MetricId::CpuUsagePct));
        let want = [(T + 1.0, 100.0 - 70.0), (T + 2.0, 100.0 - 80.0)];
        for ((t, v), (wt, wv)) in got[0].1.iter().zip(want) {
            assert_eq!(*t, wt);
            assert!((v - wv).abs() < 1e-9, "{v} vs {wv}");
        }

        // a counter of ms -> rate -> s per second
        let lock = [series(
            Some("mysql_global_status_innodb_row_lock_time"),
            &[],
            &[(T, 1000.0), (T + 5.0, 1250.0), (T + 10.0, 100.0)],
        )];
        let got = mapped(m.resolve("x", &lock).unwrap());
        assert_eq!(got[0].0, InputMetric::Series(MetricId::LockWaitTimeS));
        assert_eq!(got[0].1, vec![(T + 5.0, 0.05), (T + 10.0, 0.02)]);

        // a counter -> increase per interval
        let locks = [series(
            Some("mysql_global_status_table_locks_waited"),
            &[],
            &[(T, 7.0), (T + 5.0, 9.0), (T + 10.0, 9.0)],
        )];
        let got = mapped(m.resolve("x", &locks).unwrap());
        assert_eq!(got[0].1, vec![(T + 5.0, 2.0), (T + 10.0, 0.0)]);

        // bytes counters summed over devices -> MB/s
        let disk = [
            series(
                Some("node_disk_written_bytes_total"),
                &[("device", "vda")],
                &[(T, 0.0), (T + 2.0, 4e6)],
            ),
            series(
                Some("node_disk_written_bytes_total"),
                &[("device", "vdb")],
                &[(T, 0.0), (T + 2.0, 2e6)],
            ),
        ];
        let got = mapped(m.resolve("x", &disk).unwrap());
        assert_eq!(
            got,
            vec![(
                InputMetric::Series(MetricId::DiskWriteMbS),
                vec![(T + 2.0, 3.0)]
            )]
        );

        // the worst replication channel
        let lag = [
            series(
                Some("mysql_slave_status_seconds_behind_source"),
                &[("channel_name", "a")],
                &[(T, 1.0)],
            ),
            series(
                Some("mysql_slave_status_seconds_behind_source"),
                &[("channel_name", "b")],
                &[(T, 4.0)],
            ),
        ];
        let got = mapped(m.resolve("x", &lag).unwrap());
        assert_eq!(
            got,
            vec![(
                InputMetric::Series(MetricId::ReplicationLagS),
                vec![(T, 4.0)]
            )]
        );

        // gauges by __name__ and by file stem
        let threads = [series(
            Some("mysql_global_status_threads_running"),
            &[("instance", "127.0.0.1:9104")],
            &[(T, 3.0)],
        )];
        let got = mapped(m.resolve("mysql_threads_running", &threads).unwrap());
        assert_eq!(
            got,
            vec![(
                InputMetric::Series(MetricId::ThreadsRunning),
                vec![(T, 3.0)]
            )]
        );
        let p99 = [series(None, &[("instance", "x")], &[(T, 12.5)])];
        let got = mapped(m.resolve("query_response_time_p99_ms", &p99).unwrap());
        assert_eq!(got[0].0, InputMetric::Series(MetricId::QueryLatencyP99Ms));
    }

    #[test]
    fn known_unused_names_are_ignored_and_unknown_ones_unmapped() {
        let m = Mapping::default();
        let up: Vec<LabeledSeries> = (0..3)
            .map(|i| series(Some("up"), &[("job", ["a", "b", "c"][i])], &[(T, 1.0)]))
            .collect();
        assert_eq!(
            m.resolve("scrape_up", &up).unwrap(),
            Outcome::Ignored {
                name: "up".into(),
                reason: "Prometheus scrape health".into()
            }
        );
        let p95 = [series(None, &[], &[(T, 1.0)])];
        assert!(matches!(
            m.resolve("query_response_time_p95_ms", &p95).unwrap(),
            Outcome::Ignored { .. }
        ));
        let other = [series(Some("foo"), &[], &[(T, 1.0)])];
        assert_eq!(m.resolve("bar", &other).unwrap(), Outcome::Unmapped);
    }

    #[test]
    fn several_series_need_an_aggregate() {
        let m = user(
            r#"
[[metric]]
source = "mysql_global_status_threads_running"
target = "threads_running"
"#,
        );
        let two = [
            series(
                Some("mysql_global_status_threads_running"),
                &[("instance", "a")],
                &[(T, 1.0)],
            ),
            series(
                Some("mysql_global_status_threads_running"),
                &[("instance", "b")],
                &[(T, 2.0)],
            ),
        ];
        let e = m.resolve("x", &two).unwrap_err();
        assert_eq!(
            e,
            "2 series for `mysql_global_status_threads_running` ({instance=\"a\"}, \
             {instance=\"b\"}): the rule mapping it to `threads_running` needs `aggregate` \
             (sum, avg, max, min) or `labels` that select one"
        );
        let m = user(
            r#"
[[metric]]
source = "mysql_global_status_threads_running"
labels = { instance = ["b", "c"] }
target = "threads_running"
"#,
        );
        let got = mapped(m.resolve("x", &two).unwrap());
        assert_eq!(got[0].1, vec![(T, 2.0)]);
        for (agg, want) in [("sum", 3.0), ("avg", 1.5), ("max", 2.0), ("min", 1.0)] {
            let m = user(&format!(
                "[[metric]]\nsource = \"mysql_global_status_threads_running\"\n\
                 aggregate = \"{agg}\"\ntarget = \"threads_running\"\n"
            ));
            assert_eq!(mapped(m.resolve("x", &two).unwrap())[0].1, vec![(T, want)]);
        }
        let m = user(
            r#"
[[metric]]
source = "mysql_global_status_threads_running"
exclude = { instance = "a" }
target = "threads_running"
"#,
        );
        assert_eq!(mapped(m.resolve("x", &two).unwrap())[0].1, vec![(T, 2.0)]);
    }

    #[test]
    fn user_rules_replace_default_rules_of_the_same_source_and_unignore() {
        let m = user(
            r#"
[[metric]]
source = "query_response_time_p95_ms"
target = "query_latency_p99_ms"

[[metric]]
source = "mysql_global_status_threads_running"
unit = "count"
target = "active_connections"

[ignore]
my_thing = "mine"
"#,
        );
        let p95 = [series(None, &[], &[(T, 9.0)])];
        let got = mapped(m.resolve("query_response_time_p95_ms", &p95).unwrap());
        assert_eq!(got[0].0, InputMetric::Series(MetricId::QueryLatencyP99Ms));
        let threads = [series(
            Some("mysql_global_status_threads_running"),
            &[],
            &[(T, 3.0)],
        )];
        let got = mapped(m.resolve("x", &threads).unwrap());
        assert_eq!(got[0].0, InputMetric::Series(MetricId::ActiveConnections));
        assert!(matches!(
            m.resolve("my_thing", &p95).unwrap(),
            Outcome::Ignored { .. }
        ));
        // without the default
        let m = user("use_default = false\n");
        assert_eq!(m.resolve("x", &threads).unwrap(), Outcome::Unmapped);
    }

    #[test]
    fn series_named_after_metrics_need_no_rule_but_one_each() {
        let m = Mapping::default();
        let s = [
            series(Some("cpu_usage_pct"), &[], &[(T, 1.0)]),
            series(Some("query_latency_ms"), &[], &[(T, 2.0)]),
        ];
        let got = mapped(m.resolve("x", &s).unwrap());
        assert_eq!(got[0].0, InputMetric::Series(MetricId::CpuUsagePct));
        assert_eq!(got[1].0, InputMetric::Raw(RawLatency::Query));
        let s = [
            series(Some("cpu_usage_pct"), &[("i", "a")], &[(T, 1.0)]),
            series(Some("cpu_usage_pct"), &[("i", "b")], &[(T, 2.0)]),
        ];
        let e = m.resolve("x", &s).unwrap_err();
        assert!(
            e.starts_with("2 series in one file named `cpu_usage_pct`"),
            "{e}"
        );
        // a known series next to an unknown one
        let s = [
            series(Some("cpu_usage_pct"), &[], &[(T, 1.0)]),
            series(Some("foo"), &[], &[(T, 2.0)]),
        ];
        let e = m.resolve("x", &s).unwrap_err();
        assert!(e.starts_with("no mapping rule for `foo`"), "{e}");
        assert!(e.contains("RUN/mapping.toml"), "{e}");
    }

    #[test]
    fn units_convert_to_the_targets_unit() {
        let cases: &[(&str, &str, f64, f64)] = &[
            ("ratio", "cpu_usage_pct", 0.25, 25.0),
            ("%", "cpu_usage_pct", 25.0, 25.0),
            ("seconds", "query_latency_p99_ms", 0.012, 12.0),
            ("us", "query_latency_p99_ms", 1500.0, 1.5),
            ("ms", "replication_lag_s", 2500.0, 2.5),
            ("bytes/s", "disk_read_mb_s", 3_500_000.0, 3.5),
            ("MiB/s", "disk_read_mb_s", 1.0, 1.048_576),
            ("kB", "disk_read_mb_s", 2000.0, 2.0),
            ("count", "threads_running", 4.0, 4.0),
        ];
        for &(unit, target, v, want) in cases {
            let m = user(&format!(
                "[[metric]]\nsource = \"s\"\nunit = \"{unit}\"\ntarget = \"{target}\"\n"
            ));
            let got = mapped(m.resolve("s", &[series(None, &[], &[(T, v)])]).unwrap());
            assert!((got[0].1[0].1 - want).abs() < 1e-9, "{unit}: {got:?}");
        }
    }

    #[test]
    fn mapping_file_errors_name_file_line_and_field() {
        let e = parse_file(Path::new("m.toml"), "[[metric]]\nsource = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("m.toml:2: field `metric[0].source`"), "{e}");
        let e = parse_file(
            Path::new("m.toml"),
            "[[metric]]\nsource = \"a\"\ntarget = \"b\"\nfoo = 1\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("m.toml:4: field `metric[0].foo`"), "{e}");
        assert!(e.contains("unknown field `foo`"), "{e}");
        let bad = |text: &str| {
            let file = parse_file(Path::new("m.toml"), text).unwrap();
            let default = parse_file(Path::new(DEFAULT_NAME), DEFAULT_MAPPING).unwrap();
            Mapping::build(default, Some(("m.toml".into(), file)))
                .unwrap_err()
                .to_string()
        };
        let e = bad("[[metric]]\nsource = \"a\"\ntarget = \"cpu\"\n");
        assert!(
            e.starts_with("m.toml: field `metric[0].target`: `cpu` is not an input metric; one of: cpu_usage_pct,"),
            "{e}"
        );
        let e = bad("[[metric]]\nsource = \"a\"\nunit = \"bytes\"\ntarget = \"cpu_usage_pct\"\n");
        assert_eq!(
            e,
            "m.toml: field `metric[0].unit`: cannot convert bytes to `cpu_usage_pct`, whose unit is %"
        );
        let e =
            bad("[[metric]]\nsource = \"a\"\nunit = \"furlongs\"\ntarget = \"cpu_usage_pct\"\n");
        assert!(
            e.contains("unknown unit `furlongs`; one of: %, ratio"),
            "{e}"
        );
        let e =
            bad("[[metric]]\nsource = \"a\"\ncomplement = true\ntarget = \"threads_running\"\n");
        assert!(e.contains("field `metric[0].complement`"), "{e}");
        let e = bad("[sysbench]\nstart = \"yesterday\"\n");
        assert!(
            e.starts_with("m.toml: field `sysbench.start`: not a timestamp"),
            "{e}"
        );
        let e = bad("[sysbench]\nlatency = \"cpu_usage_pct\"\n");
        assert!(e.starts_with("m.toml: field `sysbench.latency`"), "{e}");
        let e = bad("[grafana]\ntimezone = \"Asia/Bangkok\"\n");
        assert!(
            e.contains("expected `UTC` or an offset like `+07:00`"),
            "{e}"
        );
    }

    #[test]
    fn load_prefers_explicit_then_run_file_then_default() {
        let run = tempfile::tempdir().unwrap();
        assert_eq!(load_mapping(run.path(), None).unwrap(), Mapping::default());
        std::fs::write(
            run.path().join("mapping.toml"),
            "[sysbench]\nstart = \"2026-11-29T17:07:59.617Z\"\nthroughput = \"qps\"\n",
        )
        .unwrap();
        let m = load_mapping(run.path(), None).unwrap();
        assert_eq!(m.sysbench.start, Some(1_795_972_079.617));
        assert!(m.sysbench.use_qps);
        assert_eq!(m.file, Some(run.path().join("mapping.toml")));
        let other = run.path().join("other.toml");
        std::fs::write(&other, "[grafana]\ntimezone = \"+07:00\"\n").unwrap();
        let m = load_mapping(run.path(), Some(&other)).unwrap();
        assert_eq!(m.grafana.timezone_s, Some(7 * 3600));
        assert_eq!(m.sysbench.start, None);
        let e = load_mapping(run.path(), Some(&run.path().join("nope.toml"))).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("nope.toml: missing: the metric mapping (TOML)")
        );
    }

    #[test]
    fn prometheus_series_keep_labels_and_skip_nan() {
        let text = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"up","job":"a"},"values":[[1795972079,"1"],[1795972080,"NaN"]]},
            {"metric":{"job":"b"},"values":[[1795972079,"0"]]}]}}"#;
        let (s, rows, skipped) = parse_prometheus_series(text).unwrap();
        assert_eq!((rows, skipped), (3, 1));
        assert_eq!(s[0].name.as_deref(), Some("up"));
        assert_eq!(s[0].labels["job"], "a");
        assert_eq!(s[1].name, None);
        assert_eq!(s[0].samples, vec![Sample { t: T, v: 1.0 }]);
        assert!(parse_prometheus_series(b"{\"status\":\"error\"}").is_none());
    }
}
