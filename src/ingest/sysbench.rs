//! sysbench's `--report-interval` output as application-side metrics:
//!
//! ```text
//! [ 1s ] thds: 16 tps: 540.52 qps: 11035.88 (r/w/o: 7762.81/2176.06/1097.01) lat (ms,95%): 40.37 err/s: 0.00 reconn/s: 0.00
//! [ 1s ] queue length: 8, concurrency: 16
//! ```
//!
//! Each report line gives, at `start + N` s (`[ Ns ]` counts from "Threads
//! started!", whose time the mapping's `[sysbench] start` gives), the counts
//! of its interval Δt (back to the previous report; the first one's is its
//! own N): `requests` = (tps + err/s) × Δt transaction attempts and
//! `request_errors` = err/s × Δt failed ones. The judge takes each window's
//! error rate (Σ errors ÷ Σ attempts) and throughput (completed ÷ seconds)
//! from them, and each report's error rate where it has at least
//! [`MIN_EVENTS_FOR_A_RATIO`] attempts. With `throughput = "qps"` the
//! throughput is the `throughput_rps` series of qps instead. The printed
//! latency percentile goes where the mapping sends it; a second in which no
//! transaction completed (tps 0) has no latency: sysbench prints 0.00 there,
//! which is not 0 ms. `queue length` lines (rate mode) and everything outside
//! report lines are ignored.

use super::FileSamples;
use super::mapping::{SysbenchLatency, SysbenchOptions};
use super::util::check_unix_seconds;
use crate::error::InputError;
use crate::model::{
    EventCount, InputMetric, MIN_EVENTS_FOR_A_RATIO, MetricId, Sample, plain_number, share_pct,
};
use std::path::Path;

/// Whether a `.log` file is sysbench output: named `*.sysbench.log`, or
/// "sysbench" in its first lines.
pub(super) fn is_sysbench_log(path: &Path, head: &[u8]) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.ends_with(".sysbench.log") {
        return true;
    }
    String::from_utf8_lossy(head)
        .lines()
        .take(5)
        .any(|line| line.contains("sysbench"))
}

/// One report line's numbers.
struct Report {
    secs: f64,
    tps: f64,
    qps: f64,
    percentile: String,
    latency_ms: f64,
    errors: f64,
}

/// Parses a sysbench log; `options.start` is required.
pub fn parse_sysbench(
    path: &Path,
    bytes: &[u8],
    options: &SysbenchOptions,
) -> Result<FileSamples, InputError> {
    let Some(start) = options.start else {
        return Err(InputError::invalid(
            path,
            None,
            None,
            "sysbench's `[ Ns ]` times count from \"Threads started!\", whose time the log \
             does not hold: give it as `[sysbench] start = \"2026-11-29T17:07:59.617Z\"` \
             (RFC 3339) in RUN/mapping.toml or the --mapping file",
        ));
    };
    let text = String::from_utf8_lossy(bytes);
    let mut reports = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index as u64 + 1;
        let fail = |field: &str, message: String| {
            InputError::invalid(path, Some(line_no), Some(field), message)
        };
        if let Some(report) = parse_line(line).map_err(|(field, message)| fail(field, message))? {
            check_unix_seconds(start + report.secs).map_err(|e| fail("time", e))?;
            if let Some(first) = reports.first().map(|(_, r): &(u64, Report)| &r.percentile)
                && *first != report.percentile
            {
                return Err(fail(
                    "lat",
                    format!(
                        "latency percentile `{}` here but `{first}` above: one per log",
                        report.percentile
                    ),
                ));
            }
            reports.push((line_no, report));
        }
    }
    if reports.is_empty() {
        return Err(InputError::invalid(
            path,
            None,
            None,
            "no report lines (`[ 1s ] thds: .. tps: .. qps: .. lat (ms,95%): .. err/s: ..`): \
             run sysbench with --report-interval=1",
        ));
    }

    let percentile = reports[0].1.percentile.clone();
    let mut notes = Vec::new();
    // The printed percentile feeds the metric of that percentile, and no
    // other: a P95 is never relabelled as a P99.
    let latency_target = match options.latency {
        SysbenchLatency::Drop => None,
        SysbenchLatency::To(metric) if percentile_of(metric) == Some(percentile.as_str()) => {
            Some(metric)
        }
        SysbenchLatency::To(metric) => {
            return Err(InputError::invalid(
                path,
                Some(reports[0].0),
                Some("lat"),
                format!(
                    "sysbench's latency is its {} (`lat (ms,{percentile})`); the mapping's \
                     `[sysbench] latency = \"{}\"` would report it as another percentile: \
                     remove that line (it is then reported as what it is{}), or run sysbench \
                     with --percentile={}",
                    describe_percentile(&percentile),
                    metric.key(),
                    metric_of(&percentile)
                        .map(|m| format!(", `{}`", m.key()))
                        .unwrap_or_default(),
                    percentile_of(metric).unwrap_or("99%").trim_end_matches('%'),
                ),
            ));
        }
        SysbenchLatency::Auto => {
            let metric = metric_of(&percentile);
            if metric.is_none() {
                notes.push(format!(
                    "sysbench's latency is its {} (`lat (ms,{percentile})`), which no report \
                     metric is (P50, P95, P99): left out; run sysbench with --percentile=99",
                    describe_percentile(&percentile)
                ));
            }
            metric
        }
    };

    let mut throughput = Vec::with_capacity(reports.len());
    let mut requests = Vec::with_capacity(reports.len());
    let mut errors = Vec::with_capacity(reports.len());
    let mut latency = Vec::with_capacity(reports.len());
    let mut idle = 0u64;
    let mut too_few = 0u64;
    let mut previous: Option<f64> = None;
    let interval = report_interval(&text);
    for (line_no, r) in &reports {
        let t = start + r.secs;
        // A report's rates are over its interval: back to the report before,
        // or for the first one the interval the header states (a log whose
        // start was cut), else its own N.
        let dt = match previous {
            Some(p) => r.secs - p,
            None => interval.unwrap_or(r.secs),
        };
        if dt <= 0.0 {
            return Err(InputError::invalid(
                path,
                Some(*line_no),
                Some("time"),
                format!(
                    "`[ {}s ]` does not come after the report before it (`[ {}s ]`)",
                    plain_number(r.secs),
                    plain_number(previous.unwrap_or(0.0))
                ),
            ));
        }
        previous = Some(r.secs);
        let attempts = (r.tps + r.errors) * dt;
        requests.push(Sample { t, v: attempts });
        errors.push(Sample {
            t,
            v: r.errors * dt,
        });
        if share_pct(r.errors * dt, attempts).pct().is_none() {
            too_few += 1;
        }
        if options.use_qps {
            throughput.push(Sample { t, v: r.qps });
        }
        if r.tps == 0.0 {
            // Nothing completed: sysbench's 0.00 latency is no data.
            idle += 1;
            continue;
        }
        latency.push(Sample { t, v: r.latency_ms });
    }
    if idle > 0 {
        notes.push(format!(
            "{idle} reports with no completed transaction (tps 0): their latency is no data, not 0 ms"
        ));
    }
    if too_few > 0 {
        notes.push(format!(
            "{too_few} reports with fewer than {} transaction attempts: no error rate of their \
             own (too few to be a measurement); the windows' error rates count their attempts",
            plain_number(MIN_EVENTS_FOR_A_RATIO)
        ));
    }
    let mut out = FileSamples {
        rows: reports.len() as u64,
        notes,
        ..FileSamples::default()
    };
    if options.use_qps {
        out.series
            .insert(InputMetric::Series(MetricId::ThroughputRps), throughput);
    }
    out.series
        .insert(InputMetric::Count(EventCount::Requests), requests);
    out.series
        .insert(InputMetric::Count(EventCount::RequestErrors), errors);
    if let Some(metric) = latency_target {
        out.series.insert(InputMetric::Series(metric), latency);
    }
    Ok(out)
}

/// `Report intermediate results every N second(s)` in the header: N.
fn report_interval(text: &str) -> Option<f64> {
    text.lines().take(50).find_map(|line| {
        line.trim()
            .strip_prefix("Report intermediate results every ")?
            .split_whitespace()
            .next()?
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n > 0.0)
    })
}

fn percentile_of(metric: MetricId) -> Option<&'static str> {
    match metric {
        MetricId::QueryLatencyP50Ms | MetricId::RequestLatencyP50Ms => Some("50%"),
        MetricId::RequestLatencyP95Ms => Some("95%"),
        MetricId::QueryLatencyP99Ms | MetricId::RequestLatencyP99Ms => Some("99%"),
        _ => None,
    }
}

/// The request latency metric of a printed percentile (`95%`), if any.
fn metric_of(percentile: &str) -> Option<MetricId> {
    MetricId::REQUEST_LATENCY
        .into_iter()
        .find(|&m| percentile_of(m) == Some(percentile))
}

fn describe_percentile(label: &str) -> String {
    match label.strip_suffix('%') {
        Some(p) => format!("P{p}"),
        None => format!("`{label}`"),
    }
}

/// A report line's numbers, `None` for any other line, or the field at fault.
fn parse_line(line: &str) -> Result<Option<Report>, (&'static str, String)> {
    let line = line.trim();
    let Some(rest) = line.strip_prefix('[') else {
        return Ok(None);
    };
    let Some((time, body)) = rest.split_once(']') else {
        return Ok(None);
    };
    let time = time.trim();
    let secs = time
        .strip_suffix('s')
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .ok_or(("time", format!("not a report time: `[ {time} ]`")))?;
    let body = body.trim();
    if body.starts_with("queue length") {
        return Ok(None);
    }
    if !body.starts_with("thds:") {
        return Err((
            "time",
            format!(
                "unrecognised report line `{}`: expected `thds: .. tps: ..` or `queue length: ..`",
                super::util::quote(line.as_bytes())
            ),
        ));
    }
    let number = |key: &'static str| -> Result<f64, (&'static str, String)> {
        let field = key.trim_end_matches(':');
        let token = token_after(body, key).ok_or((field, "missing".to_owned()))?;
        token
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or((field, format!("not a number: `{token}`")))
    };
    let tps = number("tps:")?;
    let qps = number("qps:")?;
    let errors = number("err/s:")?;
    let lat_at = body.find("lat (").ok_or(("lat", "missing".to_owned()))?;
    let lat = &body[lat_at + "lat (".len()..];
    let (label, after) = lat
        .split_once("):")
        .ok_or(("lat", format!("not `lat (ms,95%): N`: `{lat}`")))?;
    let percentile = label
        .strip_prefix("ms,")
        .ok_or(("lat", format!("latency not in ms: `({label})`")))?
        .trim()
        .to_owned();
    let token = after.split_whitespace().next().unwrap_or("");
    let latency_ms = token
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or(("lat", format!("not a number: `{token}`")))?;
    Ok(Some(Report {
        secs,
        tps,
        qps,
        percentile,
        latency_ms,
        errors,
    }))
}

/// The whitespace-separated token after `key` (which must start a token).
fn token_after<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    let mut tokens = body.split_whitespace();
    tokens.find(|t| *t == key)?;
    tokens.next()
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: f64 = 1_795_972_079.617;

    fn options() -> SysbenchOptions {
        SysbenchOptions {
            start: Some(START),
            ..SysbenchOptions::default()
        }
    }

    /// Copied from the shared example's sysbench.log (its start, then seconds 1-2 and 152).
    const LOG: &str = "sysbench 1.0.20 (using system LuaJIT 2.1.0-beta3)

Running the test with following options:
Number of threads: 16
Target transaction rate: 600/sec
Report intermediate results every 1 second(s)
Initializing random number generator from current time


Initializing worker threads...

Threads started!

[ 1s ] thds: 16 tps: 540.52 qps: 11035.88 (r/w/o: 7762.81/2176.06/1097.01) lat (ms,95%): 40.37 err/s: 0.00 reconn/s: 0.00
[ 1s ] queue length: 8, concurrency: 16
[ 2s ] thds: 16 tps: 611.26 qps: 12068.16 (r/w/o: 8415.60/2441.04/1211.52) lat (ms,95%): 43.39 err/s: 0.00 reconn/s: 0.00
[ 2s ] queue length: 0, concurrency: 5
[ 152s ] thds: 16 tps: 0.00 qps: 0.00 (r/w/o: 0.00/0.00/0.00) lat (ms,95%): 0.00 err/s: 0.00 reconn/s: 0.00
";

    fn values(out: &FileSamples, metric: MetricId) -> Vec<(f64, f64)> {
        points(out, InputMetric::Series(metric))
    }

    fn points(out: &FileSamples, input: InputMetric) -> Vec<(f64, f64)> {
        out.series[&input].iter().map(|s| (s.t, s.v)).collect()
    }

    const REQUESTS: InputMetric = InputMetric::Count(EventCount::Requests);
    const ERRORS: InputMetric = InputMetric::Count(EventCount::RequestErrors);

    #[test]
    fn a_real_log_gives_counts_and_its_p95_as_a_p95() {
        let out = parse_sysbench(Path::new("sb.log"), LOG.as_bytes(), &options()).unwrap();
        assert_eq!(out.rows, 3);
        // 1 s, 1 s, then 150 s back to the report at 2 s.
        assert_eq!(
            points(&out, REQUESTS),
            vec![
                (START + 1.0, 540.52),
                (START + 2.0, 611.26),
                (START + 152.0, 0.0)
            ]
        );
        assert_eq!(
            points(&out, ERRORS),
            vec![(START + 1.0, 0.0), (START + 2.0, 0.0), (START + 152.0, 0.0)]
        );
        // tps comes from the counts; the P95 is reported as what it is.
        assert_eq!(
            values(&out, MetricId::RequestLatencyP95Ms),
            vec![(START + 1.0, 40.37), (START + 2.0, 43.39)]
        );
        assert_eq!(out.series.len(), 3, "requests, request_errors, P95");
        assert_eq!(
            out.notes,
            vec![
                "1 reports with no completed transaction (tps 0): their latency is no data, not 0 ms"
                    .to_owned(),
                "1 reports with fewer than 50 transaction attempts: no error rate of their own \
                 (too few to be a measurement); the windows' error rates count their attempts"
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn p99_goes_to_request_latency_and_zero_latency_is_no_data() {
        let log = LOG.replace("ms,95%", "ms,99%");
        let out = parse_sysbench(Path::new("sb.log"), log.as_bytes(), &options()).unwrap();
        assert_eq!(
            values(&out, MetricId::RequestLatencyP99Ms),
            vec![(START + 1.0, 40.37), (START + 2.0, 43.39)]
        );
        assert_eq!(out.notes.len(), 2, "the idle report, too few attempts");
    }

    #[test]
    fn the_mapping_chooses_qps_and_the_latency_series() {
        let opts = SysbenchOptions {
            start: Some(START),
            use_qps: true,
            latency: SysbenchLatency::To(MetricId::RequestLatencyP99Ms),
        };
        // A P95 is never relabelled as a P99, whatever the mapping says.
        let relabel = SysbenchOptions {
            use_qps: false,
            ..opts.clone()
        };
        let e = parse_sysbench(Path::new("sb.log"), LOG.as_bytes(), &relabel)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("sb.log:"), "{e}");
        assert!(e.contains("`lat`"), "{e}");
        assert!(
            e.contains(
                "sysbench's latency is its P95 (`lat (ms,95%)`); the mapping's \
                 `[sysbench] latency = \"request_latency_p99_ms\"` would report it as another \
                 percentile"
            ),
            "{e}"
        );
        let opts = SysbenchOptions {
            latency: SysbenchLatency::To(MetricId::RequestLatencyP95Ms),
            ..opts
        };
        let out = parse_sysbench(Path::new("sb.log"), LOG.as_bytes(), &opts).unwrap();
        assert_eq!(
            values(&out, MetricId::ThroughputRps)[0],
            (START + 1.0, 11035.88)
        );
        assert_eq!(
            values(&out, MetricId::RequestLatencyP95Ms)[1],
            (START + 2.0, 43.39)
        );
        let opts = SysbenchOptions {
            latency: SysbenchLatency::Drop,
            ..opts
        };
        let out = parse_sysbench(Path::new("sb.log"), LOG.as_bytes(), &opts).unwrap();
        assert_eq!(out.series.len(), 3, "qps, requests, request_errors");
    }

    #[test]
    fn counts_are_rates_times_the_interval() {
        // No header: the first report's interval is its own N (2 s), then
        // the gap back to the report before (3 s).
        let log = "[ 2s ] thds: 4 tps: 90.00 qps: 1800.00 (r/w/o: 1/1/1) lat (ms,99%): 5.00 err/s: 10.00 reconn/s: 0.00\n\
                   [ 5s ] thds: 4 tps: 0.00 qps: 0.00 (r/w/o: 0/0/0) lat (ms,99%): 0.00 err/s: 3.00 reconn/s: 0.00\n";
        let out = parse_sysbench(Path::new("sb.log"), log.as_bytes(), &options()).unwrap();
        assert_eq!(
            points(&out, REQUESTS),
            vec![(START + 2.0, (90.0 + 10.0) * 2.0), (START + 5.0, 3.0 * 3.0)]
        );
        assert_eq!(
            points(&out, ERRORS),
            vec![(START + 2.0, 20.0), (START + 5.0, 9.0)]
        );
        assert!(
            out.notes
                .iter()
                .any(|n| n.starts_with("1 reports with fewer than 50"))
        );
        // With the header's interval, the first report's is that.
        let log = format!("Report intermediate results every 1 second(s)\n{log}");
        let out = parse_sysbench(Path::new("sb.log"), log.as_bytes(), &options()).unwrap();
        assert_eq!(points(&out, REQUESTS)[0], (START + 2.0, 100.0));
    }

    #[test]
    fn a_report_not_after_the_one_before_is_an_error() {
        let log = "[ 2s ] thds: 4 tps: 9 qps: 1 lat (ms,99%): 5 err/s: 1\n\
                   [ 2s ] thds: 4 tps: 9 qps: 1 lat (ms,99%): 5 err/s: 1\n";
        let e = parse_sysbench(Path::new("sb.log"), log.as_bytes(), &options())
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "sb.log:2: field `time`: `[ 2s ]` does not come after the report before it (`[ 2s ]`)"
        );
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let e = |text: &str| {
            parse_sysbench(Path::new("m/sb.log"), text.as_bytes(), &options())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e("x\n[ 1s ] thds: 16 tps: abc qps: 1 lat (ms,95%): 1 err/s: 0\n"),
            "m/sb.log:2: field `tps`: not a number: `abc`"
        );
        assert_eq!(
            e("[ 1s ] thds: 16 tps: 1 lat (ms,95%): 1 err/s: 0\n"),
            "m/sb.log:1: field `qps`: missing"
        );
        assert_eq!(
            e("[ 1s ] thds: 16 tps: 1 qps: 2 lat (ms,95%): - err/s: 0\n"),
            "m/sb.log:1: field `lat`: not a number: `-`"
        );
        assert_eq!(
            e("[ xs ] thds: 16\n"),
            "m/sb.log:1: field `time`: not a report time: `[ xs ]`"
        );
        assert!(
            e("[ 1s ] thds: 1 tps: 1 qps: 1 lat (ms,95%): 1 err/s: 0\n\
               [ 2s ] thds: 1 tps: 1 qps: 1 lat (ms,99%): 1 err/s: 0\n")
            .starts_with("m/sb.log:2: field `lat`: latency percentile `99%` here but `95%` above")
        );
        assert!(e("sysbench 1.0.20\n").starts_with("m/sb.log: no report lines"));
        let e = parse_sysbench(
            Path::new("m/sb.log"),
            LOG.as_bytes(),
            &SysbenchOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("m/sb.log: sysbench's `[ Ns ]` times count from"),
            "{e}"
        );
        assert!(e.contains("[sysbench] start = "), "{e}");
    }

    #[test]
    fn detection_by_name_or_first_lines() {
        assert!(is_sysbench_log(Path::new("a/load.sysbench.log"), b""));
        assert!(is_sysbench_log(Path::new("a/run.log"), LOG.as_bytes()));
        assert!(!is_sysbench_log(Path::new("a/run.log"), b"hello\n"));
    }
}
