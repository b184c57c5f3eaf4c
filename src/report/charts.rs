//! The report's charts: the inputs of [`crate::charts`] built from the
//! analysis (the series judged), the judgement (bounds, breaches, statuses)
//! and the run's record, then drawn. Pure: strings out, nothing written.
//!
//! Drawn, as `charts/<name>.svg` beside the report:
//! - `status_grid`: every metric's status in the baseline, during and post
//!   windows;
//! - `timeline`: planned against actual phases;
//! - `kill_switch`: the kill switch API's response time at each check, with
//!   its bounds (the three kill switch metrics come from these checks);
//! - one per metric with data in `metrics/`, named by its key: the series
//!   judged over the whole run, the three windows as bands, the warning and
//!   critical bounds (relative ones resolved against the baseline), the
//!   baseline level and a marker where each breach began. A latency metric
//!   fed by raw samples is drawn as its rolling quantile (and a P99 chart
//!   with the rolling P50 too), never as the raw samples.
//!
//! Each SVG stays under 300 KB whatever the input size: the chart functions
//! downsample and cap everything they draw.

use super::summary::{MetricRow, ReportData};
use crate::charts::{
    Band, BoundDirection, BoundLine, GanttRow, NamedLine, TimeSeriesChart, gantt_svg,
    kill_switch_svg, status_grid_svg, time_series_svg,
};
use crate::judge::analysis::{
    self, DataSource, MetricAnalysis, PhaseTiming, RunAnalysis, TimeSource,
};
use crate::judge::bounds::Episode;
use crate::judge::classify::Status;
use crate::model::{
    Event, InputMetric, MetricId, PhaseStatus, RawLatency, RunData, Sample, Window,
};
use crate::thresholds::{BoundKind, Statistic, Thresholds};
use std::collections::BTreeMap;

/// What a chart shows; decides where `report.html` places it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    StatusGrid,
    Timeline,
    KillSwitch,
    Metric(MetricId),
}

impl ChartKind {
    pub fn key(self) -> &'static str {
        match self {
            ChartKind::StatusGrid => "status_grid",
            ChartKind::Timeline => "timeline",
            ChartKind::KillSwitch => "kill_switch",
            ChartKind::Metric(_) => "metric",
        }
    }

    /// The file's name without directory or extension.
    pub fn stem(self) -> &'static str {
        match self {
            ChartKind::Metric(m) => m.key(),
            other => other.key(),
        }
    }
}

/// One drawn chart.
#[derive(Debug, Clone)]
pub struct Chart {
    pub kind: ChartKind,
    /// Relative to the report: `charts/<stem>.svg`.
    pub file: String,
    /// The chart's title (its SVG `<title>`).
    pub title: String,
    /// The chart's text alternative (its SVG `<desc>`).
    pub alt: String,
    /// The SVG document, from our own renderer only.
    pub svg: String,
}

impl Chart {
    fn new(kind: ChartKind, title: &str, svg: String) -> Chart {
        Chart {
            kind,
            file: format!("charts/{}.svg", kind.stem()),
            title: element_text(&svg, "title").unwrap_or_else(|| title.to_string()),
            alt: element_text(&svg, "desc").unwrap_or_else(|| title.to_string()),
            svg,
        }
    }
}

/// The text of the first `<tag …>…</tag>` of an SVG the chart module wrote,
/// unescaped.
fn element_text(svg: &str, tag: &str) -> Option<String> {
    let open = svg.find(&format!("<{tag}"))?;
    let body = open + svg[open..].find('>')? + 1;
    let end = body + svg[body..].find(&format!("</{tag}>"))?;
    Some(
        svg[body..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// `10 s`, `0.5 s`.
fn seconds_text(s: f64) -> String {
    let t = format!("{s:.3}");
    let t = t.trim_end_matches('0').trim_end_matches('.');
    format!("{t} s")
}

/// The raw distribution a latency metric is computed from, and its quantile.
fn raw_source(metric: MetricId) -> Option<(RawLatency, f64)> {
    RawLatency::ALL.into_iter().find_map(|r| {
        let (p50, p99) = r.metrics();
        if metric == p50 {
            Some((r, 0.50))
        } else if metric == p99 {
            Some((r, 0.99))
        } else {
            None
        }
    })
}

fn points(samples: &[Sample]) -> Vec<(f64, f64)> {
    samples.iter().map(|s| (s.t, s.v)).collect()
}

/// The baseline, during and post windows as shaded bands.
pub fn phase_bands(windows: &analysis::Windows) -> Vec<Band> {
    Window::ALL
        .into_iter()
        .filter_map(|w| {
            windows.get(w).map(|s| Band {
                label: w.key().to_string(),
                start: s.start,
                end: s.end,
            })
        })
        .collect()
}

/// The line a window's level is drawn at: the representative value, or the
/// mean for a sum or a count (which grow with the window, not the level).
fn baseline_level(row: &MetricRow) -> Option<f64> {
    match row.statistic {
        Statistic::Sum | Statistic::Count => row.baseline.map(|s| s.mean),
        _ => row.verdict.baseline_value,
    }
}

/// The chart input of one metric. `metric.timeline` is the series judged;
/// for a latency metric fed by raw samples it is the rolling quantile (the
/// title says so), and `other_quantile` (the rolling P50 on a P99 chart) is
/// drawn beside it for context.
pub fn metric_chart_input(
    metric: &MetricAnalysis,
    row: &MetricRow,
    episodes: &[&Episode],
    windows: &analysis::Windows,
    rolling_window_s: f64,
    other_quantile: Option<NamedLine>,
    tz_offset_s: i32,
) -> TimeSeriesChart {
    let v = &row.verdict;
    let direction = match row.bound_kind {
        BoundKind::Below | BoundKind::DecreasePct => BoundDirection::Below,
        _ => BoundDirection::Above,
    };
    // Resolved bounds: a relative one is the baseline × (1 ± bound).
    let bounds = [("warning", v.warning_bound), ("critical", v.critical_bound)]
        .into_iter()
        .filter_map(|(label, b)| {
            b.map(|value| BoundLine {
                label: label.into(),
                value,
                direction,
            })
        })
        .collect();
    let breaches = episodes
        .iter()
        .map(|e| {
            let level = if e.level == Status::Critical {
                "critical"
            } else {
                "warning"
            };
            let label = if e.pre_existing {
                format!("{level} (pre-existing)")
            } else {
                level.to_string()
            };
            (e.start, label)
        })
        .collect();
    let mut chart = TimeSeriesChart {
        title: row.label.clone(),
        unit: row.unit.clone(),
        points: Vec::new(),
        bands: phase_bands(windows),
        bounds,
        baseline_level: baseline_level(row),
        breaches,
        extra_lines: Vec::new(),
        tz_offset_s,
    };
    // The series judged is the main line: the chart's text alternative
    // counts the bound crossings of the main line only.
    chart.points = points(&metric.timeline);
    if let (DataSource::RawSamples, Some((_, q))) = (metric.source, raw_source(metric.metric)) {
        // Not the raw samples but one quantile per rolling window; say so.
        chart.title = format!(
            "{} · rolling P{:.0} per {}",
            row.label,
            q * 100.0,
            seconds_text(rolling_window_s)
        );
        chart.extra_lines.extend(other_quantile);
    }
    chart
}

/// The rolling P50 of a raw distribution, to draw beside its P99.
pub fn rolling_p50_line(samples: &[Sample], window_s: f64) -> NamedLine {
    NamedLine {
        name: rolling_p50_name(window_s),
        points: points(&analysis::rolling_quantile(samples, window_s, 0.50)),
    }
}

/// The rolling P50 of a raw distribution: the analysis's own timeline of its
/// P50 metric when the raw samples fed it (the same numbers), else computed
/// from the samples (a series given for the P50 metric won there).
fn raw_p50_line(
    run: &RunData,
    analysis: &RunAnalysis,
    raw: RawLatency,
    window_s: f64,
) -> Option<NamedLine> {
    let (p50, _) = raw.metrics();
    match analysis.metrics.iter().find(|m| m.metric == p50) {
        Some(m) if m.source == DataSource::RawSamples => Some(NamedLine {
            name: rolling_p50_name(window_s),
            points: points(&m.timeline),
        }),
        _ => run
            .series
            .get(&InputMetric::Raw(raw))
            .map(|s| rolling_p50_line(s, window_s)),
    }
}

fn rolling_p50_name(window_s: f64) -> String {
    format!("rolling P50 ({})", seconds_text(window_s))
}

/// Planned against actual, one row per phase.
pub fn gantt_rows(phases: &[PhaseTiming]) -> Vec<GanttRow> {
    phases
        .iter()
        .map(|p| GanttRow {
            label: p.phase.label().to_string(),
            planned: p.planned.map(|s| (s.start, s.end)),
            actual: p.actual.map(|s| (s.start, s.end)),
            status: match (p.status, p.source) {
                (Some(PhaseStatus::Aborted), TimeSource::Unfinished) => "unfinished (aborted)",
                (Some(PhaseStatus::Done), _) => "done",
                (Some(PhaseStatus::Failed), _) => "failed",
                (Some(PhaseStatus::Skipped), _) => "skipped",
                (Some(PhaseStatus::Aborted), _) => "aborted",
                (None, _) => "not run",
            }
            .to_string(),
        })
        .collect()
}

/// Each kill switch check: (checkpoint, time, response in ms when answered).
pub fn kill_switch_checks(run: &RunData) -> Vec<(String, f64, Option<f64>)> {
    run.events
        .iter()
        .filter_map(|e| match &e.event {
            Event::KillSwitchCheck {
                checkpoint,
                response_ms,
                ..
            } => Some((checkpoint.clone(), analysis::unix(&e.ts), *response_ms)),
            _ => None,
        })
        .collect()
}

/// Every metric's status per window, in the template's order.
pub fn status_rows(data: &ReportData) -> Vec<(String, [String; 3])> {
    data.metrics
        .iter()
        .map(|r| {
            let v = &r.verdict;
            (
                r.label.clone(),
                [v.baseline_status, v.during_status, v.post_status].map(|s| s.key().to_string()),
            )
        })
        .collect()
}

/// Draws every chart of the report: the status grid, the timeline, the kill
/// switch checks (when there are any) and one chart per metric with data in
/// `metrics/`, in the template's order.
pub fn build_charts(
    run: &RunData,
    analysis: &RunAnalysis,
    data: &ReportData,
    thresholds: &Thresholds,
    tz_offset_s: i32,
) -> Vec<Chart> {
    let mut out = vec![
        Chart::new(
            ChartKind::StatusGrid,
            "Status by phase",
            status_grid_svg(&status_rows(data)),
        ),
        Chart::new(
            ChartKind::Timeline,
            "Phases: planned vs actual",
            gantt_svg(&gantt_rows(&analysis.phases), tz_offset_s),
        ),
    ];
    let checks = kill_switch_checks(run);
    if !checks.is_empty() {
        let th = thresholds.for_metric(MetricId::KillSwitchApiResponseMs);
        out.push(Chart::new(
            ChartKind::KillSwitch,
            "Kill-switch checks: response time",
            kill_switch_svg(
                &checks,
                th.warning.unwrap_or(f64::NAN),
                th.critical.unwrap_or(f64::NAN),
                tz_offset_s,
            ),
        ));
    }

    // A P99 chart shows its distribution's rolling P50 too; computed once.
    let mut p50_lines: BTreeMap<RawLatency, Option<NamedLine>> = BTreeMap::new();
    for m in &analysis.metrics {
        if !matches!(
            m.source,
            DataSource::Series | DataSource::RawSamples | DataSource::Counts
        ) {
            continue;
        }
        let Some(row) = data.metric(m.metric) else {
            continue;
        };
        let other = match (m.source, raw_source(m.metric)) {
            (DataSource::RawSamples, Some((raw, q))) if q > 0.5 => p50_lines
                .entry(raw)
                .or_insert_with(|| raw_p50_line(run, analysis, raw, thresholds.rolling_window_s))
                .clone(),
            _ => None,
        };
        let episodes: Vec<&Episode> = data.episodes_of(m.metric).collect();
        let input = metric_chart_input(
            m,
            row,
            &episodes,
            &analysis.windows,
            thresholds.rolling_window_s,
            other,
            tz_offset_s,
        );
        out.push(Chart::new(
            ChartKind::Metric(m.metric),
            &input.title,
            time_series_svg(&input),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_text_unescapes_what_the_chart_module_escaped() {
        let svg = "<svg role=\"img\">\n<title id=\"a\">A &amp; B</title>\n<desc id=\"b\">x &lt;script&gt; y</desc></svg>";
        assert_eq!(element_text(svg, "title").unwrap(), "A & B");
        assert_eq!(element_text(svg, "desc").unwrap(), "x <script> y");
        assert_eq!(element_text(svg, "g"), None);
    }

    /// A P99 chart's P50 line is the rolling P50 of the raw samples, whether
    /// the analysis's timeline gave it or a series of the P50 metric won there.
    #[test]
    fn a_p99_charts_p50_line_is_the_raw_samples_rolling_p50() {
        let mut run = crate::ingest::read_run(std::path::Path::new("samples/run-001")).unwrap();
        let th = crate::thresholds::Thresholds::default();
        let raw = RawLatency::Query;
        let samples = run.series[&InputMetric::Raw(raw)].clone();
        let expected = rolling_p50_line(&samples, th.rolling_window_s);
        assert!(expected.points.len() > 100, "the sample has a timeline");

        let analysis = analysis::analyze(&run, &th);
        let line = raw_p50_line(&run, &analysis, raw, th.rolling_window_s).unwrap();
        assert_eq!(line, expected);

        // A P50 series given beside the raw samples wins for the P50 metric.
        let (p50, _) = raw.metrics();
        let series: Vec<Sample> = samples.iter().map(|s| Sample { t: s.t, v: 1.0 }).collect();
        run.series.insert(InputMetric::Series(p50), series);
        let analysis = analysis::analyze(&run, &th);
        let line = raw_p50_line(&run, &analysis, raw, th.rolling_window_s).unwrap();
        assert_eq!(line, expected);
    }

    #[test]
    fn seconds_read_like_people_write_them() {
        assert_eq!(seconds_text(10.0), "10 s");
        assert_eq!(seconds_text(0.5), "0.5 s");
    }

    #[test]
    fn raw_latency_metrics_know_their_quantile() {
        assert_eq!(
            raw_source(MetricId::QueryLatencyP99Ms),
            Some((RawLatency::Query, 0.99))
        );
        assert_eq!(
            raw_source(MetricId::RequestLatencyP50Ms),
            Some((RawLatency::Request, 0.50))
        );
        assert_eq!(raw_source(MetricId::CpuUsagePct), None);
    }
}
