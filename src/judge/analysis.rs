//! From a run's raw data to numbers: the phase timeline, the three comparison
//! windows, and each metric's statistics per window.

use crate::model::{
    Event, EventCount, EventRecord, InputMetric, MIN_EVENTS_FOR_A_RATIO, Manifest, MetricId, Phase,
    PhaseStatus, RawLatency, RunData, Sample, Share, UnixSeconds, Window, plain_number, share_pct,
};
use crate::stats::{self, Summary};
use crate::thresholds::Statistic;
use crate::thresholds::Thresholds;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A time span, start inclusive, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Span {
    pub start: UnixSeconds,
    pub end: UnixSeconds,
}

impl Span {
    pub fn contains(&self, t: UnixSeconds) -> bool {
        t >= self.start && t < self.end
    }
    pub fn duration_s(&self) -> f64 {
        self.end - self.start
    }
}

/// Where a phase's times come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// From `phase_start` / `phase_end` events.
    Events,
    /// Started in the events but never ended (the run stopped): ends at the
    /// next phase or the last record.
    Unfinished,
    /// Not in the events: taken from the manifest's plan.
    Plan,
}

/// One row of the timeline table: planned against actual.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhaseTiming {
    pub phase: Phase,
    /// `None` for a phase the plan does not name (e.g. verification).
    pub planned: Option<Span>,
    pub actual: Option<Span>,
    pub source: TimeSource,
    /// `None` when the phase never ran.
    pub status: Option<PhaseStatus>,
}

/// The comparison windows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Windows {
    /// The baseline phase.
    pub baseline: Option<Span>,
    /// The DDL, from its start to its end.
    pub during: Option<Span>,
    /// With the index in place: from the DDL's end (plus `settle_s`) to the
    /// rollback's start, or to the end of the after phase.
    pub post: Option<Span>,
    /// From the rollback's end to the end of the after phase: the recovery,
    /// shown but not judged by the rules. Only when the index was rolled back.
    #[serde(default)]
    pub after_rollback: Option<Span>,
    /// Seconds after the DDL's end left out of the post window
    /// (`rules.settle_after_ddl_s`).
    #[serde(default)]
    pub settle_s: f64,
    /// Whether the windows come from the execution log or only from the plan.
    pub source: TimeSource,
}

impl Windows {
    pub fn get(&self, w: Window) -> Option<Span> {
        match w {
            Window::Baseline => self.baseline,
            Window::During => self.during,
            Window::Post => self.post,
            Window::AfterRollback => self.after_rollback,
        }
    }

    /// The span the judge reads samples from: the first window's start to
    /// the last one's end. Samples outside it (an export's margins) are
    /// never judged.
    pub fn judged_span(&self) -> Option<Span> {
        let spans = || Window::ALL.into_iter().filter_map(|w| self.get(w));
        let start = spans().map(|s| s.start).reduce(f64::min)?;
        let end = spans().map(|s| s.end).reduce(f64::max)?;
        Some(Span { start, end })
    }
}

/// Where a metric's numbers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// A time series in `metrics/`.
    Series,
    /// Per-query or per-request samples in `metrics/`, summarised per window.
    RawSamples,
    /// Kill switch checks in `events.jsonl`.
    Events,
    /// Event counts (`requests`, `request_errors`) in `metrics/`, summed per
    /// window.
    Counts,
    /// Nothing recorded.
    None,
}

/// One metric's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MetricAnalysis {
    pub metric: MetricId,
    pub source: DataSource,
    pub baseline: Option<Summary>,
    pub during: Option<Summary>,
    pub post: Option<Summary>,
    #[serde(default)]
    pub after_rollback: Option<Summary>,
    /// The window values taken from event counts (error rate, throughput),
    /// when the run has them: they stand for the windows instead of a
    /// statistic of the timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_counts: Option<CountedWindows>,
    /// The series judged over time and drawn: the samples themselves, or for
    /// raw samples the P50 or P99 of each rolling window.
    #[serde(skip)]
    pub timeline: Vec<Sample>,
}

impl MetricAnalysis {
    pub fn summary(&self, w: Window) -> Option<&Summary> {
        match w {
            Window::Baseline => self.baseline.as_ref(),
            Window::During => self.during.as_ref(),
            Window::Post => self.post.as_ref(),
            Window::AfterRollback => self.after_rollback.as_ref(),
        }
    }

    /// The value that stands for window `w`: the one from counts when the
    /// metric has them (none for a window with too few events), else the
    /// statistic `stat` of the window's samples. The one place a window's
    /// value is taken.
    pub fn window_value(&self, w: Window, stat: Statistic) -> Option<f64> {
        match &self.from_counts {
            Some(c) => c.get(w).and_then(|x| x.value),
            None => self
                .summary(w)
                .map(|s| crate::judge::bounds::representative(s, stat)),
        }
    }
}

/// One window's events, from the counts whose time is in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CountedWindow {
    pub window: Window,
    /// Σ requests (attempts, failed ones included).
    pub requests: f64,
    /// Σ request errors.
    pub errors: f64,
    /// Seconds the counts cover: from the end of the interval before the
    /// window's first count to its last count's time (the window's length
    /// when the counts cover all of it).
    pub seconds: Option<f64>,
    /// The window's length, in seconds.
    #[serde(default)]
    pub window_s: f64,
    /// The window's value; `None` when too few events (error rate) or no
    /// covered time (throughput).
    pub value: Option<f64>,
    /// Why there is no value, when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_judged: Option<String>,
}

/// A metric's window values from counts, and how they were taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CountedWindows {
    /// How each window's value is computed, in words.
    pub method: String,
    /// The windows that exist, with counts or not.
    pub windows: Vec<CountedWindow>,
}

impl CountedWindows {
    pub fn get(&self, w: Window) -> Option<&CountedWindow> {
        self.windows.iter().find(|x| x.window == w)
    }

    /// The method and, for each window not judged, why: what a report shows.
    pub fn describe(&self) -> String {
        let mut text = self.method.clone();
        for w in &self.windows {
            if let Some(why) = &w.not_judged {
                text.push_str(&format!("; {}: {why}", w.window.key()));
            } else if let Some(s) = w.seconds.filter(|s| *s < 0.9 * w.window_s) {
                // A log that ends, or starts, inside the window.
                text.push_str(&format!(
                    "; {}: the counts cover {} s of its {} s",
                    w.window.key(),
                    plain_number(s),
                    plain_number(w.window_s)
                ));
            }
        }
        text
    }
}

/// A run's `requests` and `request_errors` counts, joined on their times:
/// (time, requests, errors, seconds since the previous count). `None` unless
/// both are given.
struct Counts {
    rows: Vec<(UnixSeconds, f64, f64, Option<f64>)>,
    /// Request counts with no error count at the same time (left out).
    unmatched: usize,
}

fn counts_of(run: &RunData) -> Option<Counts> {
    let requests = run.series.get(&InputMetric::Count(EventCount::Requests))?;
    let errors = run
        .series
        .get(&InputMetric::Count(EventCount::RequestErrors))?;
    let mut rows = Vec::with_capacity(requests.len());
    let mut unmatched = 0;
    for r in requests {
        // Both sorted by time with one value per time (see merge_series).
        match errors.binary_search_by(|e| e.t.total_cmp(&r.t)) {
            Ok(i) => rows.push((r.t, r.v, errors[i].v, None)),
            Err(_) => unmatched += 1,
        }
    }
    // Each count is the events of the interval ending at its time: the
    // interval runs from the previous count; the first one's is taken to be
    // as long as the next gap (counts come at a regular interval).
    for i in 0..rows.len() {
        let dt = if i > 0 {
            Some(rows[i].0 - rows[i - 1].0)
        } else {
            rows.get(1).map(|next| next.0 - rows[0].0)
        };
        rows[i].3 = dt.filter(|d| *d > 0.0);
    }
    Some(Counts { rows, unmatched })
}

impl Counts {
    /// The counts whose time is in `span`.
    fn in_span(&self, span: Span) -> &[(UnixSeconds, f64, f64, Option<f64>)] {
        let first = self.rows.partition_point(|r| r.0 < span.start);
        let len = self.rows[first..].partition_point(|r| r.0 < span.end);
        &self.rows[first..first + len]
    }

    /// Σ requests, Σ errors and the seconds covered in `span`.
    fn window(&self, w: Window, span: Span) -> (Span, Window, usize, f64, f64, Option<f64>) {
        let rows = self.in_span(span);
        let requests = rows.iter().map(|r| r.1).sum();
        let errors = rows.iter().map(|r| r.2).sum();
        let seconds = match (rows.first(), rows.last()) {
            (Some(first), Some(last)) => first.3.map(|dt| last.0 - first.0 + dt),
            _ => None,
        };
        (span, w, rows.len(), requests, errors, seconds)
    }

    fn left_out(&self) -> String {
        if self.unmatched == 0 {
            String::new()
        } else {
            format!(
                " ({} left out: no `request_errors` count at their time)",
                crate::model::counted(self.unmatched, "`requests` count")
            )
        }
    }

    /// Error rate per window: Σ errors ÷ Σ requests; none below the minimum.
    fn error_rate(&self, windows: &Windows) -> CountedWindows {
        let windows = Window::ALL
            .into_iter()
            .filter_map(|w| windows.get(w).map(|span| self.window(w, span)))
            .map(|(span, window, n, requests, errors, seconds)| {
                let (value, not_judged) = match share_pct(errors, requests) {
                    _ if n == 0 => (None, Some("no counts".to_owned())),
                    Share::Pct(v) => (Some(v), None),
                    Share::Insufficient { events } => (
                        None,
                        Some(format!(
                            "{} requests, fewer than {}: not judged",
                            plain_number(events),
                            plain_number(MIN_EVENTS_FOR_A_RATIO)
                        )),
                    ),
                };
                CountedWindow {
                    window,
                    requests,
                    errors,
                    seconds,
                    window_s: span.duration_s(),
                    value,
                    not_judged,
                }
            })
            .collect();
        CountedWindows {
            method: format!(
                "Σ request_errors ÷ Σ requests per window, from the counts{}",
                self.left_out()
            ),
            windows,
        }
    }

    /// Throughput per window: completed requests ÷ the seconds covered.
    fn throughput(&self, windows: &Windows) -> CountedWindows {
        let windows = Window::ALL
            .into_iter()
            .filter_map(|w| windows.get(w).map(|span| self.window(w, span)))
            .map(|(span, window, _, requests, errors, seconds)| {
                let value = seconds.map(|s| (requests - errors) / s);
                CountedWindow {
                    window,
                    requests,
                    errors,
                    seconds,
                    window_s: span.duration_s(),
                    value,
                    not_judged: value.is_none().then(|| "no counts".to_owned()),
                }
            })
            .collect();
        CountedWindows {
            method: format!(
                "(Σ requests − Σ request_errors) ÷ seconds covered per window, from the counts{}",
                self.left_out()
            ),
            windows,
        }
    }

    /// Each count's error rate, where it has enough requests.
    fn error_rate_timeline(&self) -> Vec<Sample> {
        self.rows
            .iter()
            .filter_map(|&(t, requests, errors, _)| {
                share_pct(errors, requests).pct().map(|v| Sample { t, v })
            })
            .collect()
    }

    /// Each count's completed requests per second of its interval.
    fn throughput_timeline(&self) -> Vec<Sample> {
        self.rows
            .iter()
            .filter_map(|&(t, requests, errors, dt)| {
                dt.map(|dt| Sample {
                    t,
                    v: (requests - errors) / dt,
                })
            })
            .collect()
    }
}

/// The numbers of a whole run, before any judgement.
#[derive(Debug, Clone)]
pub struct RunAnalysis {
    pub phases: Vec<PhaseTiming>,
    pub windows: Windows,
    pub metrics: Vec<MetricAnalysis>,
    /// First and last record of the run (events and samples).
    pub extent: Option<Span>,
}

/// Planned span of a phase from the manifest.
fn planned_spans(manifest: &Manifest) -> BTreeMap<Phase, Span> {
    let t0 = unix(&manifest.plan.start);
    manifest
        .plan
        .phases
        .iter()
        .map(|p| {
            let start = t0 + p.offset_min * 60.0;
            (
                p.phase,
                Span {
                    start,
                    end: start + p.duration_min * 60.0,
                },
            )
        })
        .collect()
}

pub use crate::model::unix_seconds as unix;

/// Actual phase times from the log; an unfinished phase ends where the next
/// begins, or at the last record.
pub fn phase_timings(
    manifest: &Manifest,
    events: &[EventRecord],
    last_record: Option<UnixSeconds>,
) -> Vec<PhaseTiming> {
    let planned = planned_spans(manifest);
    let mut starts: BTreeMap<Phase, UnixSeconds> = BTreeMap::new();
    let mut ends: BTreeMap<Phase, (UnixSeconds, PhaseStatus)> = BTreeMap::new();
    for e in events {
        match &e.event {
            Event::PhaseStart { phase } => {
                starts.entry(*phase).or_insert(unix(&e.ts));
            }
            Event::PhaseEnd { phase, status } => {
                ends.insert(*phase, (unix(&e.ts), *status));
            }
            _ => {}
        }
    }
    let next_start = |after: UnixSeconds| {
        starts
            .values()
            .copied()
            .filter(|s| *s > after)
            .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.min(s))))
    };
    Phase::ALL
        .into_iter()
        .filter_map(|phase| {
            let plan = planned.get(&phase).copied();
            let (actual, source, status) = match (starts.get(&phase), ends.get(&phase)) {
                (Some(&s), Some(&(e, st))) => (
                    Some(Span { start: s, end: e }),
                    TimeSource::Events,
                    Some(st),
                ),
                (Some(&s), None) => {
                    let end = next_start(s).or(last_record).unwrap_or(s).max(s);
                    (
                        Some(Span { start: s, end }),
                        TimeSource::Unfinished,
                        Some(PhaseStatus::Aborted),
                    )
                }
                (None, Some(&(e, st))) => (
                    Some(Span { start: e, end: e }),
                    TimeSource::Events,
                    Some(st),
                ),
                (None, None) => (None, TimeSource::Plan, None),
            };
            // A phase neither planned nor run (e.g. verification without a plan entry) is left out.
            if plan.is_none() && actual.is_none() {
                return None;
            }
            let planned = plan;
            Some(PhaseTiming {
                phase,
                planned,
                actual,
                source,
                status,
            })
        })
        .collect()
}

/// The comparison windows: baseline is the baseline phase; during is the DDL
/// (its phase, or its ddl_start/ddl_end events); post runs from the DDL's end
/// plus `settle_s` to the rollback's start or, without a rollback, to the end
/// of the after phase (verification, monitoring and after metrics);
/// after-rollback runs from the rollback's end to the end of the after phase.
/// A DDL that never ended runs to `last_record`.
pub fn windows(
    phases: &[PhaseTiming],
    events: &[EventRecord],
    last_record: Option<UnixSeconds>,
    settle_s: f64,
) -> Windows {
    let get = |p: Phase| phases.iter().find(|t| t.phase == p);
    let from_log = phases.iter().any(|t| t.actual.is_some());
    let span_of = |p: Phase| get(p).and_then(|t| if from_log { t.actual } else { t.planned });
    let ddl_start = events
        .iter()
        .find_map(|e| matches!(e.event, Event::DdlStart { .. }).then(|| unix(&e.ts)));
    let ddl_end = events
        .iter()
        .find_map(|e| matches!(e.event, Event::DdlEnd { .. }).then(|| unix(&e.ts)));

    let baseline = span_of(Phase::Baseline);
    let during = match (span_of(Phase::Execute), ddl_start, ddl_end) {
        (_, Some(s), Some(e)) => Some(Span { start: s, end: e }),
        (Some(span), _, _) => Some(span),
        (None, Some(s), None) => Some(Span {
            start: s,
            // Just past the last record, so that the last sample counts.
            end: last_record.map_or(s, |l| l.max(s)) + 1e-6,
        }),
        _ => None,
    };
    let last_end = [Phase::After, Phase::Monitoring, Phase::Verification]
        .into_iter()
        .find_map(|p| span_of(p).map(|s| s.end));
    let first_of = |pick: fn(&Event) -> bool| {
        events
            .iter()
            .find_map(|e| pick(&e.event).then(|| unix(&e.ts)))
    };
    let rollback_start = first_of(|e| matches!(e, Event::RollbackStart { .. }))
        .or_else(|| first_of(|e| matches!(e, Event::RollbackDecision { .. })));
    let rollback_end = events
        .iter()
        .rev()
        .find_map(|e| matches!(e.event, Event::RollbackEnd { .. }).then(|| unix(&e.ts)))
        .or(rollback_start);
    let settle_s = settle_s.max(0.0);
    // With a rollback the index existed only up to its start.
    let post_end = match (rollback_start, last_end) {
        (Some(r), Some(end)) => Some(r.min(end)),
        (Some(r), None) => Some(r),
        (None, end) => end,
    };
    let post = match (during, post_end) {
        (Some(d), Some(end)) if end > d.end + settle_s => Some(Span {
            start: d.end + settle_s,
            end,
        }),
        _ => None,
    };
    let after_rollback = match (during, rollback_end, last_end) {
        (Some(d), Some(start), Some(end)) if start >= d.start && end > start => {
            Some(Span { start, end })
        }
        _ => None,
    };
    Windows {
        baseline,
        during,
        post,
        after_rollback,
        settle_s,
        source: if from_log {
            TimeSource::Events
        } else {
            TimeSource::Plan
        },
    }
}

fn summarize_in(samples: &[Sample], span: Option<Span>) -> Option<Summary> {
    let mut values = Vec::new();
    let sorted = samples.is_sorted_by(|a, b| a.t <= b.t);
    summarize_into(samples, sorted, span, &mut values)
}

/// The samples inside `span` (start inclusive, end exclusive), found by binary
/// search: `samples` must be sorted by time, as every series of a [`RunData`] is.
pub fn span_slice(samples: &[Sample], span: Span) -> &[Sample] {
    let first = samples.partition_point(|s| s.t < span.start);
    let len = samples[first..].partition_point(|s| s.t < span.end);
    &samples[first..first + len]
}

/// Summarises the samples inside `span` (`sorted`: whether `samples` is sorted
/// by time): in place when sorted, else copying their values into `buf`,
/// which is cleared first and reused so that one buffer serves every window.
fn summarize_into(
    samples: &[Sample],
    sorted: bool,
    span: Option<Span>,
    buf: &mut Vec<f64>,
) -> Option<Summary> {
    let span = span?;
    if sorted {
        return stats::summarize_by(span_slice(samples, span), |s| s.v);
    }
    buf.clear();
    buf.extend(samples.iter().filter(|s| span.contains(s.t)).map(|s| s.v));
    stats::summarize(buf)
}

/// P-quantile of each rolling (tumbling) window of raw samples, stamped at the
/// window's start. Samples must be sorted by time.
pub fn rolling_quantile(samples: &[Sample], window_s: f64, q: f64) -> Vec<Sample> {
    let [out] = rolling_quantiles(samples, window_s, [q]);
    out
}

/// Several quantiles of each rolling (tumbling) window at once, as
/// [`rolling_quantile`] gives each: one copy and one selection per window.
pub fn rolling_quantiles<const K: usize>(
    samples: &[Sample],
    window_s: f64,
    qs: [f64; K],
) -> [Vec<Sample>; K] {
    let mut out: [Vec<Sample>; K] = std::array::from_fn(|_| Vec::new());
    let mut i = 0;
    let mut buf = Vec::new();
    while i < samples.len() {
        let start = (samples[i].t / window_s).floor() * window_s;
        let end = start + window_s;
        // The window's samples run to the first one at or after its end; a
        // few hundred at most in practice, so a linear scan.
        let len = samples[i..]
            .iter()
            .position(|s| s.t >= end)
            .unwrap_or(samples.len() - i)
            .max(1);
        buf.clear();
        buf.extend(samples[i..i + len].iter().map(|s| stats::order_key(s.v)));
        i += len;
        if let Some(values) = stats::quantiles_of_keys(&mut buf, qs) {
            for (series, v) in out.iter_mut().zip(values) {
                series.push(Sample { t: start, v });
            }
        }
    }
    out
}

/// The numbers raw latency samples give: per-window summaries and the rolling
/// P50 and P99 timelines; computed once per distribution, shared by its P50
/// and P99 metrics.
struct RawNumbers {
    baseline: Option<Summary>,
    during: Option<Summary>,
    post: Option<Summary>,
    after_rollback: Option<Summary>,
    p50: Vec<Sample>,
    p99: Vec<Sample>,
}

/// `samples` sorted by time, as [`RunData::series`] keeps them.
fn raw_numbers(samples: &[Sample], windows: &Windows, window_s: f64) -> RawNumbers {
    let summaries = || {
        [
            windows.baseline,
            windows.during,
            windows.post,
            windows.after_rollback,
        ]
        .map(|span| span.and_then(|s| stats::summarize_by(span_slice(samples, s), |x| x.v)))
    };
    // Millions of samples: the timelines on a second thread, the summaries
    // here; both only read the samples.
    let ([baseline, during, post, after_rollback], [p50, p99]) = if samples.len() >= PARALLEL_MIN {
        std::thread::scope(|scope| {
            let timelines = scope.spawn(|| rolling_quantiles(samples, window_s, [0.50, 0.99]));
            let summaries = summaries();
            let timelines = timelines
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            (summaries, timelines)
        })
    } else {
        (
            summaries(),
            rolling_quantiles(samples, window_s, [0.50, 0.99]),
        )
    };
    RawNumbers {
        baseline,
        during,
        post,
        after_rollback,
        p50,
        p99,
    }
}

/// Below this many samples a second thread is not worth starting.
const PARALLEL_MIN: usize = 100_000;

/// Kill switch metrics as samples, from the log's checks.
fn kill_switch_samples(events: &[EventRecord], metric: MetricId) -> Vec<Sample> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            Event::KillSwitchCheck {
                response_ms,
                global,
                connection,
                ..
            } => {
                let t = unix(&e.ts);
                let answered = response_ms.is_some()
                    && *global != crate::model::SwitchState::Unknown
                    && *connection != crate::model::SwitchState::Unknown;
                match metric {
                    MetricId::KillSwitchCheckCount => Some(Sample { t, v: 1.0 }),
                    MetricId::KillSwitchApiResponseMs => response_ms.map(|v| Sample { t, v }),
                    MetricId::KillSwitchApiAvailabilityPct => Some(Sample {
                        t,
                        v: if answered { 100.0 } else { 0.0 },
                    }),
                    _ => None,
                }
            }
            _ => None,
        })
        .collect()
}

/// The run's windows, as [`analyze`] finds them: for work that needs only
/// the windows and the samples, to start before the analysis ends.
pub fn windows_of(run: &RunData, settle_s: f64) -> Windows {
    timing(run, settle_s).2
}

/// The raw latency distributions of `run` that feed a metric: those whose
/// P50 or P99 is not given as a series of its own (a series wins, as
/// [`analyze`] takes it).
pub fn fed_raw_distributions(run: &RunData) -> impl Iterator<Item = (RawLatency, &[Sample])> {
    RawLatency::ALL.into_iter().filter_map(|raw| {
        let (p50, p99) = raw.metrics();
        let fed = [p50, p99]
            .iter()
            .any(|m| !run.series.contains_key(&InputMetric::Series(*m)));
        let samples = run.series.get(&InputMetric::Raw(raw))?;
        fed.then_some((raw, samples.as_slice()))
    })
}

/// The run's extent, phase timings and windows.
fn timing(run: &RunData, settle_s: f64) -> (Option<Span>, Vec<PhaseTiming>, Windows) {
    let extent = run_extent(run);
    let phases = phase_timings(&run.manifest, &run.events, extent.map(|e| e.end));
    let windows = windows(&phases, &run.events, extent.map(|e| e.end), settle_s);
    (extent, phases, windows)
}

/// Computes every metric's statistics per window.
pub fn analyze(run: &RunData, thresholds: &Thresholds) -> RunAnalysis {
    let (extent, phases, windows) = timing(run, thresholds.rules.settle_after_ddl_s);

    let raw_feeding = |m: MetricId| {
        RawLatency::ALL.into_iter().find_map(|r| {
            let (p50, p99) = r.metrics();
            if m == p50 {
                Some((r, true))
            } else if m == p99 {
                Some((r, false))
            } else {
                None
            }
        })
    };

    let mut raw_cache: BTreeMap<RawLatency, RawNumbers> = BTreeMap::new();
    let counts = counts_of(run);
    let metrics = MetricId::ALL
        .into_iter()
        .map(|metric| {
            // Event-derived metrics: the window before the DDL counts as "before",
            // since the pre-execution check usually comes before the baseline phase.
            if metric.is_derived_from_events() {
                let samples = kill_switch_samples(&run.events, metric);
                // Likewise every check after the DDL, the final one included, counts as "post".
                let before = windows.during.map(|d| Span {
                    start: f64::MIN,
                    end: d.start,
                });
                let after = windows.post.map(|p| Span {
                    start: p.start,
                    end: f64::MAX,
                });
                return MetricAnalysis {
                    metric,
                    source: if samples.is_empty() {
                        DataSource::None
                    } else {
                        DataSource::Events
                    },
                    baseline: summarize_in(&samples, before.or(windows.baseline)),
                    during: summarize_in(&samples, windows.during),
                    post: summarize_in(&samples, after),
                    after_rollback: None,
                    from_counts: None,
                    timeline: samples,
                };
            }
            let series = run.series.get(&InputMetric::Series(metric));
            // Counts give the error rate of each window (a per-second series
            // of shares cannot be pooled: it has no weights) and, unless a
            // series of rates is given (sysbench's qps), the throughput.
            if let Some(counts) = &counts {
                let counted = match metric {
                    MetricId::ErrorRatePct => Some((
                        counts.error_rate(&windows),
                        series
                            .cloned()
                            .unwrap_or_else(|| counts.error_rate_timeline()),
                    )),
                    MetricId::ThroughputRps if series.is_none() => {
                        Some((counts.throughput(&windows), counts.throughput_timeline()))
                    }
                    _ => None,
                };
                if let Some((from_counts, timeline)) = counted {
                    return MetricAnalysis {
                        metric,
                        source: DataSource::Counts,
                        baseline: summarize_in(&timeline, windows.baseline),
                        during: summarize_in(&timeline, windows.during),
                        post: summarize_in(&timeline, windows.post),
                        after_rollback: summarize_in(&timeline, windows.after_rollback),
                        from_counts: Some(from_counts),
                        timeline,
                    };
                }
            }
            // Raw per-query samples feed P50 and P99 metrics; a series of the
            // metric itself, if also given, wins.
            if let Some(series) = series {
                return MetricAnalysis {
                    metric,
                    source: DataSource::Series,
                    baseline: summarize_in(series, windows.baseline),
                    during: summarize_in(series, windows.during),
                    post: summarize_in(series, windows.post),
                    after_rollback: summarize_in(series, windows.after_rollback),
                    from_counts: None,
                    timeline: series.clone(),
                };
            }
            if let Some((raw, is_p50)) = raw_feeding(metric)
                && let Some(samples) = run.series.get(&InputMetric::Raw(raw))
            {
                let numbers = raw_cache
                    .entry(raw)
                    .or_insert_with(|| raw_numbers(samples, &windows, thresholds.rolling_window_s));
                let timeline = if is_p50 {
                    std::mem::take(&mut numbers.p50)
                } else {
                    std::mem::take(&mut numbers.p99)
                };
                return MetricAnalysis {
                    metric,
                    source: DataSource::RawSamples,
                    baseline: numbers.baseline,
                    during: numbers.during,
                    post: numbers.post,
                    after_rollback: numbers.after_rollback,
                    from_counts: None,
                    timeline,
                };
            }
            MetricAnalysis {
                metric,
                source: DataSource::None,
                baseline: None,
                during: None,
                post: None,
                after_rollback: None,
                from_counts: None,
                timeline: Vec::new(),
            }
        })
        // A metric outside the template's twenty is in the run only when
        // measured.
        .filter(|a: &MetricAnalysis| a.metric.in_template() || a.source != DataSource::None)
        .collect();

    RunAnalysis {
        phases,
        windows,
        metrics,
        extent,
    }
}

/// First and last timestamp of anything recorded.
fn run_extent(run: &RunData) -> Option<Span> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for e in &run.events {
        let t = unix(&e.ts);
        lo = lo.min(t);
        hi = hi.max(t);
    }
    for s in run.series.values() {
        if let (Some(a), Some(b)) = (s.first(), s.last()) {
            lo = lo.min(a.t);
            hi = hi.max(b.t);
        }
    }
    (lo <= hi).then_some(Span { start: lo, end: hi })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: f64, v: f64) -> Sample {
        Sample { t, v }
    }

    #[test]
    fn rolling_quantile_summarises_each_window() {
        let samples = [
            s(0.0, 1.0),
            s(1.0, 3.0),
            s(10.0, 10.0),
            s(25.0, 4.0),
            s(29.9, 8.0),
        ];
        let p50 = rolling_quantile(&samples, 10.0, 0.5);
        assert_eq!(p50, vec![s(0.0, 2.0), s(10.0, 10.0), s(20.0, 6.0)]);
    }

    #[test]
    fn summaries_take_only_samples_inside_the_window() {
        let samples = [s(0.0, 1.0), s(5.0, 2.0), s(10.0, 100.0)];
        let sum = summarize_in(
            &samples,
            Some(Span {
                start: 0.0,
                end: 10.0,
            }),
        )
        .unwrap();
        assert_eq!((sum.count, sum.max), (2, 2.0));
        assert!(
            summarize_in(
                &samples,
                Some(Span {
                    start: 20.0,
                    end: 30.0
                })
            )
            .is_none()
        );
        assert!(summarize_in(&samples, None).is_none());
    }
}
