//! `build` on run-001's manifest and log with its metrics in the other input
//! kinds: multi-series Prometheus files through the mapping, a sysbench log
//! and a Grafana CSV export (tests/fixtures/inputs/). The report's baseline
//! numbers are checked against values computed here from the fixtures.

use super::cli::canary;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The fixtures' Prometheus files are at the shared example's times; this
/// moves them onto run-001's (the mapping's sysbench start and the Grafana
/// export are already there).
const SHIFT: f64 = -768_209.0;
/// `[sysbench] start` in the fixture mapping: 2026-11-20T19:44:30.617Z.
const SYSBENCH_START: f64 = 1_795_203_870.617;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/inputs")
        .join(name)
}

fn prometheus(name: &str) -> Value {
    let mut v: Value = serde_json::from_slice(&std::fs::read(fixture(name)).unwrap()).unwrap();
    for series in v["data"]["result"].as_array_mut().unwrap() {
        for point in series["values"].as_array_mut().unwrap() {
            let t = point[0].as_f64().unwrap() + SHIFT;
            point[0] = Value::from(t as i64);
        }
    }
    v
}

/// run-001's manifest and events, and metrics/ from the fixtures.
fn assemble(with_mapping: bool) -> tempfile::TempDir {
    let run = tempfile::tempdir().unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/run-001");
    for file in ["manifest.json", "events.jsonl"] {
        std::fs::copy(samples.join(file), run.path().join(file)).unwrap();
    }
    let metrics = run.path().join("metrics");
    std::fs::create_dir_all(metrics.join("prometheus")).unwrap();
    for name in [
        "mysql_processlist_threads_by_state.json",
        "mysql_threads_connected.json",
        "scrape_up.json",
    ] {
        std::fs::write(
            metrics.join("prometheus").join(name),
            serde_json::to_vec(&prometheus(name)).unwrap(),
        )
        .unwrap();
    }
    for name in ["sysbench-oltp.sysbench.log", "grafana-system-panel.csv"] {
        std::fs::copy(fixture(name), metrics.join(name)).unwrap();
    }
    if with_mapping {
        std::fs::copy(fixture("mapping.toml"), run.path().join("mapping.toml")).unwrap();
    }
    run
}

fn build(run: &Path, extra: &[&str]) -> Value {
    let out = run.join("out");
    canary()
        .args(["build", "-q", "--format", "json", "--out"])
        .arg(&out)
        .arg(run)
        .args(extra)
        .assert()
        .success();
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

fn metric<'a>(summary: &'a Value, key: &str) -> &'a Value {
    summary["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == key)
        .unwrap_or_else(|| panic!("no metric {key}"))
}

fn baseline(summary: &Value) -> (f64, f64) {
    let w = &summary["windows"]["baseline"];
    (w["start"].as_f64().unwrap(), w["end"].as_f64().unwrap())
}

/// Mean and count of the values whose time is in [start, end).
fn mean_in(points: &[(f64, f64)], (start, end): (f64, f64)) -> (f64, u64) {
    let inside: Vec<f64> = points
        .iter()
        .filter(|(t, _)| *t >= start && *t < end)
        .map(|(_, v)| *v)
        .collect();
    (
        inside.iter().sum::<f64>() / inside.len() as f64,
        inside.len() as u64,
    )
}

fn assert_baseline(summary: &Value, key: &str, want: (f64, u64)) {
    let b = &metric(summary, key)["baseline"];
    let (mean, count) = (b["mean"].as_f64().unwrap(), b["count"].as_u64().unwrap());
    assert_eq!(count, want.1, "{key}: count");
    assert!(
        (mean - want.0).abs() <= 1e-9 * want.0.abs().max(1.0),
        "{key}: baseline mean {mean}, expected {}",
        want.0
    );
}

/// `[ Ns ] thds: .. tps: X ...` lines: (start + N, tps, err/s).
fn sysbench_reports() -> Vec<(f64, f64, f64)> {
    reports_of(&std::fs::read_to_string(fixture("sysbench-oltp.sysbench.log")).unwrap())
}

fn reports_of(text: &str) -> Vec<(f64, f64, f64)> {
    text.lines()
        .filter(|l| l.contains("] thds:"))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let after = |key: &str| {
                let i = words.iter().position(|w| *w == key).unwrap();
                words[i + 1].parse::<f64>().unwrap()
            };
            let secs: f64 = words[1].trim_end_matches('s').parse().unwrap();
            (SYSBENCH_START + secs, after("tps:"), after("err/s:"))
        })
        .collect()
}

/// Each report's counts: (time, attempts, errors), its rates times the
/// seconds back to the report before (the first: the log's 1 s interval).
fn counts(reports: &[(f64, f64, f64)]) -> Vec<(f64, f64, f64)> {
    let mut previous = None;
    reports
        .iter()
        .map(|&(t, tps, err)| {
            let dt = previous.map_or(1.0, |p| t - p);
            previous = Some(t);
            (t, (tps + err) * dt, err * dt)
        })
        .collect()
}

/// Σ attempts and Σ errors of the counts whose time is in [start, end).
fn sums_in(counts: &[(f64, f64, f64)], (start, end): (f64, f64)) -> (f64, f64) {
    counts
        .iter()
        .filter(|(t, _, _)| *t >= start && *t < end)
        .fold((0.0, 0.0), |(a, e), (_, attempts, errors)| {
            (a + attempts, e + errors)
        })
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-9 * want.abs().max(1.0)
}

/// (unix seconds, value) points.
type Points = Vec<(f64, f64)>;

/// The Grafana export's two columns in the report's units.
fn grafana_columns() -> (Points, Points) {
    let text = std::fs::read_to_string(fixture("grafana-system-panel.csv")).unwrap();
    let (mut memory, mut disk) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').map(|c| c.trim_matches('"')).collect();
        let local = chrono::NaiveDateTime::parse_from_str(cells[0], "%Y-%m-%d %H:%M:%S").unwrap();
        let t = (local.and_utc().timestamp() - 7 * 3600) as f64;
        memory.push((t, cells[1].trim_end_matches('%').parse::<f64>().unwrap()));
        let (number, unit) = cells[2].split_once(' ').unwrap();
        let v: f64 = number.parse().unwrap();
        disk.push((
            t,
            match unit {
                "kB/s" => v / 1000.0,
                "MB/s" => v,
                other => panic!("unit {other}"),
            },
        ));
    }
    (memory, disk)
}

#[test]
fn other_input_kinds_feed_the_report_through_the_mapping() {
    let run = assemble(true);
    let summary = build(run.path(), &[]);
    let window = baseline(&summary);

    // sysbench: the window's error rate is Σ errors ÷ Σ attempts of its
    // reports, its throughput the completed transactions ÷ its seconds; each
    // second's error rate (charts, episodes) only where it had the minimum of attempts.
    let reports = sysbench_reports();
    let counts = counts(&reports);
    let (attempts, errors) = sums_in(&counts, window);
    let rate = &metric(&summary, "error_rate_pct")["verdict"];
    let value = rate["baseline_value"].as_f64().unwrap();
    assert!(close(value, errors / attempts * 100.0), "{value}");
    assert!(
        rate["method"]
            .as_str()
            .unwrap()
            .starts_with("Σ request_errors ÷ Σ requests per window"),
        "{rate}"
    );
    // The second at 204 s: 15.99 failed of 15.99. Its share alone, averaged
    // with the others as before, read 100/300 = 0.33 %: a WARNING.
    let per_second: Vec<(f64, f64)> = reports
        .iter()
        .filter(|(_, tps, err)| tps + err >= canary_report::model::MIN_EVENTS_FOR_A_RATIO)
        .map(|&(t, tps, err)| (t, err / (tps + err) * 100.0))
        .collect();
    assert_baseline(&summary, "error_rate_pct", mean_in(&per_second, window));
    assert_eq!(mean_in(&per_second, window).0, 0.0);
    let every_share: Vec<(f64, f64)> = reports
        .iter()
        .filter(|(_, tps, err)| tps + err > 0.0)
        .map(|&(t, tps, err)| (t, err / (tps + err) * 100.0))
        .collect();
    let warning = 0.1;
    assert!(mean_in(&every_share, window).0 > warning);
    assert!(value < warning, "{value}");
    assert_eq!(rate["baseline_status"], "OK");
    let throughput = metric(&summary, "throughput_rps")["verdict"]["baseline_value"]
        .as_f64()
        .unwrap();
    let completed = attempts - errors;
    assert!(
        close(throughput, completed / (window.1 - window.0)),
        "{throughput}"
    );
    // Its P95 is reported as a P95, never as a P99: the baseline holds each
    // second's printed P95 where a transaction completed; P50 and P99 have
    // no data and are not required, the P95 standing for request latency.
    let text = std::fs::read_to_string(fixture("sysbench-oltp.sysbench.log")).unwrap();
    let p95: Vec<(f64, f64)> = text
        .lines()
        .filter(|l| l.contains("] thds:") && !l.contains(" tps: 0.00 "))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let secs: f64 = words[1].trim_end_matches('s').parse().unwrap();
            let i = words.iter().position(|w| *w == "(ms,95%):").unwrap();
            (SYSBENCH_START + secs, words[i + 1].parse().unwrap())
        })
        .collect();
    let inside: Vec<f64> = p95
        .iter()
        .filter(|(t, _)| *t >= window.0 && *t < window.1)
        .map(|(_, v)| *v)
        .collect();
    let b = &metric(&summary, "request_latency_p95_ms")["baseline"];
    assert_eq!(b["count"].as_u64().unwrap(), inside.len() as u64);
    assert_eq!(
        b["max"].as_f64().unwrap(),
        inside.iter().copied().fold(f64::MIN, f64::max)
    );
    for key in ["request_latency_p50_ms", "request_latency_p99_ms"] {
        let v = &metric(&summary, key)["verdict"];
        assert_eq!(
            (&v["status"], &v["required"]),
            (&"NO_DATA".into(), &false.into()),
            "{key}"
        );
    }

    // several series, summed over the `command="query"` ones by the run's rule
    let processlist = prometheus("mysql_processlist_threads_by_state.json");
    let mut by_time = std::collections::BTreeMap::<i64, f64>::new();
    for series in processlist["data"]["result"].as_array().unwrap() {
        if series["metric"]["command"] != "query" {
            continue;
        }
        for point in series["values"].as_array().unwrap() {
            let v: f64 = point[1].as_str().unwrap().parse().unwrap();
            *by_time.entry(point[0].as_i64().unwrap()).or_default() += v;
        }
    }
    let threads: Vec<(f64, f64)> = by_time.iter().map(|(t, v)| (*t as f64, *v)).collect();
    assert_baseline(&summary, "threads_running", mean_in(&threads, window));

    // an exporter name, by the default mapping
    let connected = prometheus("mysql_threads_connected.json");
    let connected: Vec<(f64, f64)> = connected["data"]["result"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_f64().unwrap(),
                p[1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert_baseline(&summary, "active_connections", mean_in(&connected, window));

    // Grafana: local times, units in the cells
    let (memory, disk) = grafana_columns();
    assert_baseline(&summary, "memory_usage_pct", mean_in(&memory, window));
    assert_baseline(&summary, "disk_write_mb_s", mean_in(&disk, window));

    let formats: Vec<(&str, &str)> = summary["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["path"].as_str().unwrap(), i["format"].as_str().unwrap()))
        .collect();
    assert_eq!(
        formats,
        vec![
            ("metrics/grafana-system-panel.csv", "grafana"),
            (
                "metrics/prometheus/mysql_processlist_threads_by_state.json",
                "prometheus"
            ),
            (
                "metrics/prometheus/mysql_threads_connected.json",
                "prometheus"
            ),
            ("metrics/sysbench-oltp.sysbench.log", "sysbench"),
        ]
    );
    let warnings: Vec<&str> = summary["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings.iter().any(|w| w.starts_with(
            "metrics/prometheus/scrape_up.json: skipped: `up` is not a report metric"
        )),
        "{warnings:#?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("P95")),
        "the P95 is reported, not left out: {warnings:#?}"
    );
}

/// `build RUN` that must fail: its stderr.
fn build_error(run: &Path) -> String {
    let out = canary()
        .args(["build", "-q", "--format", "json", "--out"])
        .arg(run.join("out"))
        .arg(run)
        .assert()
        .failure();
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

#[test]
fn what_the_inputs_need_from_the_mapping_is_named() {
    let run = assemble(false);
    // Grafana's local times need a time zone
    let e = build_error(run.path());
    assert!(
        e.contains(
            "metrics/grafana-system-panel.csv:2: field `Time`: `2026-11-21 02:44:30` has no UTC offset"
        ),
        "{e}"
    );
    assert!(e.contains("[grafana] timezone = "), "{e}");
    // columns that are no metric name need a rule
    std::fs::write(
        run.path().join("mapping.toml"),
        "[grafana]\ntimezone = \"+07:00\"\n",
    )
    .unwrap();
    let e = build_error(run.path());
    assert!(
        e.contains(
            "metrics/grafana-system-panel.csv: no column is a metric name or mapped (`Memory used`, `vda write`)"
        ),
        "{e}"
    );
    assert!(e.contains("RUN/mapping.toml"), "{e}");
    // sysbench's times need its start
    let full = std::fs::read_to_string(fixture("mapping.toml")).unwrap();
    let without_start = full.replace("start = \"2026-11-20T19:44:30.617Z\"\n", "");
    assert_ne!(full, without_start);
    std::fs::write(run.path().join("mapping.toml"), without_start).unwrap();
    let e = build_error(run.path());
    assert!(
        e.contains("sysbench-oltp.sysbench.log: sysbench's `[ Ns ]` times count from"),
        "{e}"
    );
    assert!(e.contains("[sysbench] start = "), "{e}");

    // --mapping is used instead of RUN/mapping.toml
    let mapping = fixture("mapping.toml");
    let summary = build(run.path(), &["--mapping", mapping.to_str().unwrap()]);
    let tps: Vec<(f64, f64)> = sysbench_reports()
        .iter()
        .map(|&(t, tps, _)| (t, tps))
        .collect();
    assert_baseline(
        &summary,
        "throughput_rps",
        mean_in(&tps, baseline(&summary)),
    );
}

#[test]
fn validate_judges_these_inputs_as_build_does() {
    // The same directory build accepts: validate finds no problem in it.
    let run = assemble(true);
    super::cli::canary()
        .arg("validate")
        .arg(run.path())
        .assert()
        .success();
}

/// A sysbench report line at `n` s.
fn report_line(n: u32, tps: f64, err: f64) -> String {
    format!(
        "[ {n}s ] thds: 16 tps: {tps:.2} qps: {:.2} (r/w/o: 0.00/0.00/0.00) lat (ms,95%): 9.00 err/s: {err:.2} reconn/s: 0.00\n",
        tps * 20.0
    )
}

#[test]
fn a_windows_error_rate_weighs_each_second_by_its_attempts() {
    // run-001's windows against the log's seconds: baseline 30-329 s,
    // during (the DDL) 331-599 s, post after that.
    let mut log = String::from(
        "sysbench 1.0.20\nReport intermediate results every 1 second(s)\nThreads started!\n\n",
    );
    for n in 1..=900 {
        let (tps, err) = match n {
            // 0 % of 540 attempts, then 100 % of 160: 160 of 700 failed.
            100 => (540.0, 0.0),
            101 => (0.0, 160.0),
            // 5 attempts: too few for a share of its own.
            102 => (3.0, 2.0),
            // The DDL's window: 42 attempts in all.
            400 => (30.0, 12.0),
            n if n >= 600 => (500.0, 1.0),
            _ => (0.0, 0.0),
        };
        log.push_str(&report_line(n, tps, err));
    }
    let run = assemble(true);
    std::fs::write(run.path().join("metrics/sysbench-oltp.sysbench.log"), &log).unwrap();
    let summary = build(run.path(), &["--format", "json,md"]);
    let window = baseline(&summary);
    let counts = counts(&reports_of(&log));
    let rate = metric(&summary, "error_rate_pct");
    let verdict = &rate["verdict"];

    // The baseline: Σ errors ÷ Σ attempts, not the mean of the seconds'
    // shares (0 % and 100 %: 50 %); the 5-attempt second has no share.
    let (attempts, errors) = sums_in(&counts, window);
    assert_eq!((attempts, errors), (705.0, 162.0));
    let value = verdict["baseline_value"].as_f64().unwrap();
    assert!(close(value, errors / attempts * 100.0), "{value}");
    let seconds = &rate["baseline"];
    assert_eq!(seconds["count"], 2, "{seconds}");
    assert_eq!(seconds["mean"], 50.0, "{seconds}");

    // Throughput: completed transactions ÷ the window's seconds.
    let throughput = metric(&summary, "throughput_rps")["verdict"]["baseline_value"]
        .as_f64()
        .unwrap();
    assert!(
        close(throughput, (attempts - errors) / (window.1 - window.0)),
        "{throughput}"
    );

    // During: 42 attempts are not a measurement; the verdict says why.
    assert_eq!(verdict["during_value"], Value::Null, "{verdict}");
    assert_eq!(verdict["during_status"], "NO_DATA", "{verdict}");
    let method = verdict["method"].as_str().unwrap();
    assert!(
        method.contains("during: 42 requests, fewer than 50: not judged"),
        "{method}"
    );
    // Post: 1 failed of 501 a second.
    let (attempts, errors) = sums_in(
        &counts,
        (
            summary["windows"]["post"]["start"].as_f64().unwrap(),
            summary["windows"]["post"]["end"].as_f64().unwrap(),
        ),
    );
    let post = verdict["post_value"].as_f64().unwrap();
    assert!(close(post, errors / attempts * 100.0), "{post}");

    // The report shows the method under the application table.
    let md = std::fs::read_to_string(run.path().join("out/report.md")).unwrap();
    assert!(
        md.contains("- Error Rate (%): Σ request_errors ÷ Σ requests per window"),
        "{md}"
    );
    assert!(md.contains("during: 42 requests, fewer than 50: not judged"));
}
