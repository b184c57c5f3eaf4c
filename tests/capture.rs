//! `capture` against a real, throw-away MariaDB server (Debian's
//! `mariadb-server`): the clean run, the kill switch and breach rollbacks, the
//! fail-safe readings of a broken kill switch API, the server dying mid-run,
//! identifier injection and the password; replication lag read from a real
//! replica (--replica), and TLS (--ssl-mode) with certificates made by the
//! `openssl` CLI. Durations are seconds, not the template's minutes.

mod support;

use canary_report::capture::{self, CaptureArgs, CaptureOutcome, CaptureStatus, Ending};
use canary_report::judge::checkpoints::CheckpointState;
use canary_report::judge::rules::Verdict;
use canary_report::model::{
    DdlOutcome, Event, EventRecord, InputMetric, Manifest, Phase, PhaseStatus, RollbackTrigger,
    RunStatus, StepStatus, SwitchState,
};
use chrono::{DateTime, Utc};
use clap::Parser;
use mysql::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use support::killswitch::{KillSwitchServer, Mode, closed_port_url};
use support::mariadb::{self, MariaDb};
use support::thresholds_file;
use support::workload::{Sleepers, Workload};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: CaptureArgs,
}

/// Short phases: 2 s baseline, 3 s monitoring with checkpoints every second,
/// 2 s after, a sample every 500 ms; index `idx_canary` on (a, b).
const SHORT: &[&str] = &[
    "--baseline",
    "2s",
    "--monitoring",
    "3s",
    "--checkpoints",
    "1s,2s,3s",
    "--after",
    "2s",
    "--interval",
    "500ms",
    "--kill-switch-timeout",
    "500ms",
    "--index",
    "idx_canary",
    "--columns",
    "a,b",
    "--quiet",
];

/// The short options with `extra` added; an option given in both takes
/// `extra`'s value.
fn merged(extra: &[&str]) -> Vec<String> {
    const FLAGS: [&str; 3] = ["--dry-run", "--no-auto-rollback", "--quiet"];
    let split = |v: &[&str]| {
        let mut out: Vec<(String, Option<String>)> = Vec::new();
        let mut i = 0;
        while i < v.len() {
            if FLAGS.contains(&v[i]) {
                out.push((v[i].to_string(), None));
                i += 1;
            } else {
                out.push((v[i].to_string(), Some(v[i + 1].to_string())));
                i += 2;
            }
        }
        out
    };
    let mut opts = split(SHORT);
    for (k, v) in split(extra) {
        match opts.iter_mut().find(|(o, _)| *o == k) {
            Some(slot) => slot.1 = v,
            None => opts.push((k, v)),
        }
    }
    opts.into_iter()
        .flat_map(|(k, v)| std::iter::once(k).chain(v))
        .collect()
}

fn args(
    server: &MariaDb,
    table: &str,
    out: &Path,
    switches: (&str, &str),
    extra: &[&str],
) -> CaptureArgs {
    let dsn = server.dsn("shop");
    let pw = server.password_file();
    let out = out.display().to_string();
    let pw = pw.display().to_string();
    let mut v: Vec<&str> = vec![
        "capture",
        "--dsn",
        &dsn,
        "--password-file",
        &pw,
        "--table",
        table,
        "--out",
        &out,
        "--global-kill-switch",
        switches.0,
        "--connection-kill-switch",
        switches.1,
        "--run-id",
        "CANARY-TEST",
        "--tenant",
        "tenant-42",
    ];
    let extra = merged(extra);
    v.extend(extra.iter().map(String::as_str));
    let th;
    if !extra.iter().any(|a| a == "--thresholds") {
        th = thresholds_file(&thresholds_beside(&out), support::DEFAULT_TEST_BOUNDS)
            .display()
            .to_string();
        v.extend(["--thresholds", &th]);
    }
    Cli::try_parse_from(v).expect("arguments parse").args
}

/// A thresholds file beside the run directory `out`, for a test that gives none.
fn thresholds_beside(out: &str) -> PathBuf {
    PathBuf::from(format!("{out}.thresholds.toml"))
}

/// Every line of events.jsonl, each of which must parse; in time order.
fn events(dir: &Path) -> Vec<EventRecord> {
    let text = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let recs: Vec<EventRecord> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("events.jsonl:{}: {e}: {l}", i + 1))
        })
        .collect();
    for w in recs.windows(2) {
        assert!(
            w[0].ts <= w[1].ts,
            "events out of order: {:?} then {:?}",
            w[0],
            w[1]
        );
    }
    recs
}

/// Every row of metrics/capture.csv, each of which must parse.
fn metrics(dir: &Path) -> Vec<(DateTime<Utc>, String, f64)> {
    let text = std::fs::read_to_string(dir.join("metrics/capture.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("timestamp,metric,value"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 3, "bad row {l}");
            assert!(
                f[0].ends_with('Z') && f[0].len() == 24,
                "not RFC 3339 UTC with ms: {l}"
            );
            let ts = DateTime::parse_from_rfc3339(f[0])
                .unwrap()
                .with_timezone(&Utc);
            assert!(f[1].parse::<InputMetric>().is_ok(), "unknown metric in {l}");
            (
                ts,
                f[1].to_string(),
                f[2].parse::<f64>()
                    .unwrap_or_else(|_| panic!("bad value in {l}")),
            )
        })
        .collect()
}

fn manifest(dir: &Path) -> Manifest {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

/// What `build` decides on a captured run directory, and the rules that fail.
fn judged(dir: &Path, thresholds: Option<&Path>) -> (Verdict, Vec<String>) {
    let run = canary_report::ingest::read_run(dir).unwrap();
    let th = canary_report::build::load_thresholds(thresholds).unwrap();
    let data = canary_report::build::judge(&run, th).data;
    let failing = data
        .blockers
        .iter()
        .map(|b| format!("{}: {}", b.rule.key(), b.detail))
        .collect();
    (data.decision, failing)
}

fn fails(failing: &[String], rule: &str) -> bool {
    failing.iter().any(|f| f.starts_with(rule))
}

fn find(evs: &[EventRecord], pred: impl Fn(&Event) -> bool) -> Option<&Event> {
    evs.iter().map(|r| &r.event).find(|e| pred(e))
}

fn count(evs: &[EventRecord], pred: impl Fn(&Event) -> bool) -> usize {
    evs.iter().filter(|r| pred(&r.event)).count()
}

fn checkpoints(evs: &[EventRecord]) -> Vec<(String, SwitchState, SwitchState)> {
    evs.iter()
        .filter_map(|r| match &r.event {
            Event::KillSwitchCheck {
                checkpoint,
                global,
                connection,
                ..
            } => Some((checkpoint.clone(), *global, *connection)),
            _ => None,
        })
        .collect()
}

fn run_end(evs: &[EventRecord]) -> Option<RunStatus> {
    match evs.last().map(|r| &r.event) {
        Some(Event::RunEnd { status }) => Some(*status),
        _ => None,
    }
}

/// Waits until an event matching `pred` is in the file.
fn wait_for_event(dir: &Path, timeout: Duration, pred: impl Fn(&Event) -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(dir.join("events.jsonl")) {
            for l in text.lines() {
                if let Ok(r) = serde_json::from_str::<EventRecord>(l)
                    && pred(&r.event)
                {
                    return true;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Runs capture in this process, its lines handed to the test harness, which
/// shows them only for a test that fails.
fn run_capture(a: &CaptureArgs) -> anyhow::Result<CaptureOutcome> {
    capture::run_with(a, capture::Sink::Text(Box::new(|text| eprint!("{text}"))))
}

fn spawn_capture(a: CaptureArgs) -> std::thread::JoinHandle<anyhow::Result<CaptureOutcome>> {
    std::thread::spawn(move || run_capture(&a))
}

fn rollback_steps(evs: &[EventRecord]) -> Vec<(u8, StepStatus)> {
    evs.iter()
        .filter_map(|r| match &r.event {
            Event::RollbackStep { step, status, .. } => Some((*step, *status)),
            _ => None,
        })
        .collect()
}

/// Thresholds for a few seconds of sub-millisecond probes on a loopback
/// server, written in `dir`: P99 is the largest of a handful of samples, and a
/// 0.3 ms wobble is +100 %, so the latency bounds get margins fit for that
/// scale (a production canary keeps the template's); their window values are
/// not judged ([`support::DEFAULT_TEST_BOUNDS`] says why). And what the other tests
/// share (the host's CPU, memory and disk, the buffer pool) is recorded but
/// not judged ([`support::SHARED_NOT_JUDGED`]). Every other bound and rule is
/// the template's.
fn loopback_thresholds(dir: &Path) -> String {
    thresholds_file(
        &dir.join("loopback.toml"),
        "[rules]\nmax_post_latency_degradation_pct = 1000\n\
         [metrics.query_latency_p50_ms]\nwarning = 500\ncritical = 1000\nwindow_statistic = false\n\
         [metrics.query_latency_p99_ms]\nwarning = 500\ncritical = 1000\nwindow_statistic = false\n",
    )
    .display()
    .to_string()
}

/// The messages of the `log` events.
fn logs(evs: &[EventRecord]) -> Vec<&str> {
    evs.iter()
        .filter_map(|r| match &r.event {
            Event::Log { message, .. } => Some(message.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn clean_run_creates_the_index_and_records_every_phase() {
    needs_mariadb!("clean_run_creates_the_index_and_records_every_phase");
    let t0 = Instant::now();
    let server = mariadb::shared();
    server.create_table("orders_clean", 100_000);
    let ks = KillSwitchServer::start();
    let (g, c) = (ks.url("/ks/global"), ks.url("/ks/conn"));
    let load = Workload::start(server, "orders_clean", 2, 100_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");

    let th = loopback_thresholds(tmp.path());
    let mut extra = SHORT.to_vec();
    extra.extend(["--thresholds", &th, "--display-timezone", "Asia/Kolkata"]);
    let outcome = run_capture(&args(server, "orders_clean", &out, (&g, &c), &extra)).unwrap();
    // The team's zone, as its offset, is what the report shows times in.
    assert_eq!(manifest(&out).display_timezone, "+05:30");

    assert_eq!(outcome.status, CaptureStatus::Completed, "{outcome:?}");
    assert!(!outcome.rolled_back);
    assert_eq!(outcome.index_present, Some(true));
    assert_eq!(outcome.ending(), Ending::Completed);
    assert_eq!(outcome.run_dir.as_deref(), Some(out.as_path()));
    assert!(server.index_exists("orders_clean", "idx_canary"));
    let (ops, errors) = (
        load.ops.load(Ordering::Relaxed),
        load.errors.load(Ordering::Relaxed),
    );
    assert!(
        ops > 100 && errors == 0,
        "workload: {ops} statements, {errors} errors"
    );

    let evs = events(&out);
    let phases: Vec<(Phase, bool)> = evs
        .iter()
        .filter_map(|r| match &r.event {
            Event::PhaseStart { phase } => Some((*phase, true)),
            Event::PhaseEnd { phase, status } => {
                assert_eq!(*status, PhaseStatus::Done, "{phase:?}");
                Some((*phase, false))
            }
            _ => None,
        })
        .collect();
    use Phase::*;
    let want: Vec<(Phase, bool)> = [Precheck, Baseline, Execute, Verification, Monitoring, After]
        .into_iter()
        .flat_map(|p| [(p, true), (p, false)])
        .collect();
    assert_eq!(phases, want);
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::DdlStart { .. })),
        Some(Event::DdlStart { statement }) if statement
            == "ALTER TABLE `shop`.`orders_clean` ADD INDEX `idx_canary` (`a`, `b`), ALGORITHM=INPLACE, LOCK=NONE"
    ));
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::DdlEnd { .. })),
        Some(Event::DdlEnd {
            outcome: DdlOutcome::Success,
            duration_s: Some(_),
            ..
        })
    ));
    match find(&evs, |e| matches!(e, Event::Verification { .. })).unwrap() {
        Event::Verification {
            index_exists,
            columns,
            index_type,
            explain_type,
            explain_key,
            show_index_output,
            explain_output,
            ..
        } => {
            assert!(*index_exists);
            assert_eq!(columns, &["a", "b"]);
            assert_eq!(index_type.as_deref(), Some("BTREE"));
            assert_eq!(explain_type.as_deref(), Some("ref"));
            assert_eq!(explain_key.as_deref(), Some("idx_canary"));
            assert!(
                show_index_output
                    .as_ref()
                    .unwrap()
                    .starts_with("Table\tNon_unique\tKey_name")
            );
            assert!(explain_output.as_ref().unwrap().contains("idx_canary"));
        }
        _ => unreachable!(),
    }
    let names: Vec<String> = checkpoints(&evs)
        .into_iter()
        .map(|(n, g, c)| {
            assert_eq!((g, c), (SwitchState::Off, SwitchState::Off), "{n}");
            n
        })
        .collect();
    assert_eq!(
        names,
        [
            "Pre-execution",
            "Post-ADD INDEX",
            "During Monitoring (T+1s)",
            "During Monitoring (T+2s)",
            "During Monitoring (T+3s)",
            "Final Check"
        ]
    );
    // The plan capture writes is the checkpoints it checked.
    assert_eq!(manifest(&out).plan.kill_switch_checkpoints, names);
    assert_eq!(
        count(&evs, |e| matches!(
            e,
            Event::RollbackDecision { .. } | Event::Incident { .. }
        )),
        0
    );
    assert_eq!(run_end(&evs), Some(RunStatus::Completed));
    assert!(
        ks.hits("/ks/global") >= 8,
        "the switches are read at every sample"
    );

    let rows = metrics(&out);
    for m in [
        "query_latency_ms",
        "threads_running",
        "active_connections",
        "lock_wait_time_s",
        "table_locks_waited",
        "buffer_pool_hit_rate_pct",
        "network_latency_ms",
        "cpu_usage_pct",
        "memory_usage_pct",
        "disk_read_mb_s",
        "disk_write_mb_s",
    ] {
        assert!(
            rows.iter().any(|(_, n, _)| n == m),
            "no {m} in metrics/capture.csv"
        );
    }
    let probes = rows
        .iter()
        .filter(|(_, n, _)| n == "query_latency_ms")
        .count();
    assert!(probes >= 12, "{probes} probe rows");
    assert!(
        find(
            &evs,
            |e| matches!(e, Event::Log { message, .. } if message.contains("QUERY_RESPONSE_TIME"))
        )
        .is_some()
    );
    // The shared server offers no TLS: the default PREFERRED falls back to a
    // plain session, and says so; no replica, so no replication lag.
    let tls = logs(&evs)
        .into_iter()
        .find(|m| m.starts_with("TLS to "))
        .expect("the session's TLS is recorded");
    assert!(
        tls.contains("--ssl-mode PREFERRED") && tls.contains("NOT encrypted"),
        "{tls}"
    );
    assert!(!rows.iter().any(|(_, n, _)| n == "replication_lag_s"));
    assert!(
        logs(&evs)
            .iter()
            .any(|m| m.contains("not a replica and no --replica is given"))
    );

    let m = manifest(&out);
    assert_eq!(m.run_id, "CANARY-TEST");
    assert_eq!(m.scope.actual.tenant, "tenant-42");
    assert_eq!(m.scope.actual.table, "orders_clean");
    assert_eq!(m.scope.actual.database, "shop");
    assert!(m.scope.actual.window_end.is_some());
    assert_eq!(m.target.engine.as_deref(), Some("InnoDB"));
    assert!(m.target.rows.unwrap() > 50_000);
    assert_eq!(m.max_connections, Some(151));
    assert_eq!(m.target.columns, ["a", "b"]);

    // The report builder's reader takes it as it is, and approves it: every
    // rule passes on a clean canary.
    let run = canary_report::ingest::read_run(&out).unwrap();
    assert_eq!(run.events.len(), evs.len());
    let (verdict, failing) = judged(&out, Some(Path::new(&th)));
    assert_eq!(verdict, Verdict::ApprovedForLimitedProd, "{failing:#?}");
    for rule in [
        "canary_completed",
        "no_rollback",
        "kill_switch_checks_passed",
        "index_verified",
        "no_critical_or_open_incident",
    ] {
        assert!(
            !fails(&failing, rule),
            "{rule} failed on a clean capture: {failing:#?}"
        );
    }
    eprintln!(
        "clean run: {:.1} s, decision {verdict:?}, blockers {failing:?}",
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn kill_switch_turned_on_during_the_alter_kills_it() {
    needs_mariadb!("kill_switch_turned_on_during_the_alter_kills_it");
    let t0 = Instant::now();
    let server = mariadb::shared();
    server.create_table("orders_kill", 50_000);
    let ks = KillSwitchServer::start();
    let (g, c) = (ks.url("/global"), ks.url("/conn"));
    // An open transaction that read the table holds its metadata lock: the
    // ALTER waits for it, reliably, until the kill switch stops it.
    let mut blocker = server.conn();
    blocker.query_drop("START TRANSACTION").unwrap();
    blocker
        .query_drop("SELECT id FROM shop.orders_kill LIMIT 1")
        .unwrap();
    let _load = Workload::start(server, "orders_kill", 1, 50_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let h = spawn_capture(args(
        server,
        "orders_kill",
        &out,
        (&g, &c),
        &["--lock-wait-timeout", "60s"],
    ));

    assert!(wait_for_event(&out, Duration::from_secs(30), |e| matches!(
        e,
        Event::DdlStart { .. }
    )));
    std::thread::sleep(Duration::from_millis(1500));
    ks.set_enabled("/global", true);
    let outcome = h.join().unwrap().unwrap();
    blocker.query_drop("COMMIT").unwrap();

    assert_eq!(outcome.status, CaptureStatus::Aborted, "{outcome:?}");
    assert!(outcome.rolled_back);
    assert_eq!(outcome.rollback_succeeded, Some(true));
    assert_eq!(outcome.index_present, Some(false));
    assert_eq!(outcome.ending(), Ending::RolledBack);
    assert!(!server.index_exists("orders_kill", "idx_canary"));

    let evs = events(&out);
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::DdlEnd { .. })),
        Some(Event::DdlEnd {
            outcome: DdlOutcome::Killed,
            error: Some(_),
            ..
        })
    ));
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::Incident { .. })),
        Some(Event::Incident { description, .. }) if description.contains("global kill switch ON")
    ));
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::RollbackDecision { .. })),
        Some(Event::RollbackDecision {
            trigger: RollbackTrigger::Automatic,
            decided_by: Some(_),
            ..
        })
    ));
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::RollbackStart { .. })),
        Some(Event::RollbackStart { statement: Some(s) }) if s.starts_with("KILL QUERY ")
    ));
    use StepStatus::*;
    assert_eq!(
        rollback_steps(&evs),
        [
            (1, Done),
            (2, Skipped),
            (3, Skipped),
            (4, Done),
            (5, Done),
            (6, Done)
        ]
    );
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::RollbackEnd { success: true, .. }
        ))
        .is_some()
    );
    assert!(find(&evs, |e| matches!(e, Event::PostRollbackCheck { check, passed: true, .. } if check == "Index removed")).is_some());
    // The switch reading that stopped it is in the log.
    assert!(
        checkpoints(&evs)
            .iter()
            .any(|(n, g, _)| n.starts_with("Sample check (Execute") && *g == SwitchState::On)
    );
    // No verification or monitoring after a killed ALTER; the after window runs.
    assert_eq!(
        count(&evs, |e| matches!(
            e,
            Event::PhaseStart {
                phase: Phase::Monitoring | Phase::Verification
            }
        )),
        0
    );
    assert_eq!(
        count(&evs, |e| matches!(
            e,
            Event::PhaseStart {
                phase: Phase::After
            }
        )),
        1
    );
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::PhaseEnd {
                phase: Phase::Execute,
                status: PhaseStatus::Aborted
            }
        ))
        .is_some()
    );
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted));
    eprintln!(
        "kill switch during the ALTER: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn a_flag_file_stops_the_alter_when_it_appears_not_at_the_next_poll() {
    needs_mariadb!("a_flag_file_stops_the_alter_when_it_appears_not_at_the_next_poll");
    let server = mariadb::shared();
    server.create_table("orders_flag", 20_000);
    let tmp = tempfile::tempdir().unwrap();
    let flags = tmp.path().join("flags");
    std::fs::create_dir(&flags).unwrap();
    let (g, c) = (
        format!("file:{}", flags.join("global").display()),
        format!("file:{}", flags.join("connection").display()),
    );
    // The ALTER waits on the metadata lock of an open transaction.
    let mut blocker = server.conn();
    blocker.query_drop("START TRANSACTION").unwrap();
    blocker
        .query_drop("SELECT id FROM shop.orders_flag LIMIT 1")
        .unwrap();
    let out = tmp.path().join("run");
    // A poll of an hour: only the inotify watch can see the file in time.
    let h = spawn_capture(args(
        server,
        "orders_flag",
        &out,
        (&g, &c),
        &["--lock-wait-timeout", "60s", "--kill-switch-poll", "1h"],
    ));
    assert!(wait_for_event(&out, Duration::from_secs(30), |e| matches!(
        e,
        Event::DdlStart { .. }
    )));
    std::fs::write(flags.join("connection"), b"").unwrap();
    let outcome = h.join().unwrap().unwrap();
    blocker.query_drop("COMMIT").unwrap();

    assert!(outcome.rolled_back, "{outcome:?}");
    assert_eq!(outcome.index_present, Some(false));
    let evs = events(&out);
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::DdlEnd { .. })),
        Some(Event::DdlEnd {
            outcome: DdlOutcome::Killed,
            ..
        })
    ));
    assert!(
        checkpoints(&evs)
            .iter()
            .any(|(n, _, c)| n.starts_with("Sample check (Execute") && *c == SwitchState::On),
        "{:?}",
        checkpoints(&evs)
    );
    let how = logs(&evs);
    assert!(
        how.iter()
            .any(|l| l.starts_with("connection kill switch: inotify on")
                && l.ends_with("and a read every 1h")),
        "{how:?}"
    );
    assert!(!server.index_exists("orders_flag", "idx_canary"));
}

/// A server of its own, one test at a time, for the tests that judge
/// `threads_running`: on the shared server the other tests' sessions count too.
fn own_server() -> MutexGuard<'static, MariaDb> {
    static SERVER: OnceLock<Mutex<MariaDb>> = OnceLock::new();
    SERVER
        .get_or_init(|| Mutex::new(MariaDb::start("Own-Server-Pw-3")))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// `threads_running` critical above 4, confirmed on two readings in a row: a
/// server of its own stays under it in the baseline (capture's sampler and
/// probe are all that run there), and [`SLEEPERS`] sleeping sessions break it.
const THREADS_BOUND: &str =
    "[metrics.threads_running]\nwarning = 3\ncritical = 4\nsustained_for_s = 0\n";
const SLEEPERS: usize = 6;

/// Waits for the monitoring window, then puts [`SLEEPERS`] sessions to sleep.
fn load_in_monitoring(server: &MariaDb, out: &Path) -> Sleepers {
    assert!(
        wait_for_event(out, Duration::from_secs(60), |e| matches!(
            e,
            Event::PhaseStart {
                phase: Phase::Monitoring
            }
        )),
        "no monitoring window"
    );
    Sleepers::start(server, SLEEPERS)
}

#[test]
fn critical_breach_during_monitoring_drops_the_index() {
    needs_mariadb!("critical_breach_during_monitoring_drops_the_index");
    let t0 = Instant::now();
    let guard = own_server();
    let server = &*guard;
    server.create_table("orders_breach", 20_000);
    let ks = KillSwitchServer::start();
    let (g, c) = (ks.url("/g"), ks.url("/c"));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let th = thresholds_file(&tmp.path().join("thresholds.toml"), THREADS_BOUND);
    let th = th.display().to_string();
    let extra = [
        "--interval",
        "1s",
        "--monitoring",
        "6s",
        "--thresholds",
        &th,
    ];
    let h = spawn_capture(args(server, "orders_breach", &out, (&g, &c), &extra));
    let sleepers = load_in_monitoring(server, &out);
    assert!(wait_for_event(&out, Duration::from_secs(60), |e| matches!(
        e,
        Event::RollbackDecision { .. }
    )));
    drop(sleepers);
    let outcome = h.join().unwrap().unwrap();

    assert_eq!(outcome.status, CaptureStatus::Aborted, "{outcome:?}");
    assert!(outcome.rolled_back);
    assert_eq!(outcome.index_present, Some(false));
    assert!(!server.index_exists("orders_breach", "idx_canary"));

    let evs = events(&out);
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::DdlEnd { .. })),
        Some(Event::DdlEnd {
            outcome: DdlOutcome::Success,
            ..
        })
    ));
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::Verification {
                index_exists: true,
                ..
            }
        ))
        .is_some()
    );
    assert!(
        find(
            &evs,
            |e| matches!(e, Event::Alert { name, .. } if name == "threads_running critical")
        )
        .is_some()
    );
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::RollbackDecision { .. })),
        Some(Event::RollbackDecision { trigger: RollbackTrigger::Automatic, reason, .. }) if reason.contains("threads_running")
    ));
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::RollbackStart { .. })),
        Some(Event::RollbackStart { statement: Some(s) })
            if s == "ALTER TABLE `shop`.`orders_breach` DROP INDEX `idx_canary`, ALGORITHM=INPLACE, LOCK=NONE"
    ));
    use StepStatus::*;
    assert_eq!(
        rollback_steps(&evs),
        [
            (1, Done),
            (2, Done),
            (3, Done),
            (4, Done),
            (5, Done),
            (6, Done)
        ]
    );
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::RollbackEnd {
                success: true,
                error: None
            }
        ))
        .is_some()
    );
    let checks: Vec<&str> = evs
        .iter()
        .filter_map(|r| match &r.event {
            Event::PostRollbackCheck { check, .. } => Some(check.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        checks,
        [
            "Index removed",
            "Latency returning to baseline",
            "Error rate returning to baseline",
            "No new alerts"
        ]
    );
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::PhaseEnd {
                phase: Phase::Monitoring,
                status: PhaseStatus::Aborted
            }
        ))
        .is_some()
    );
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::PhaseEnd {
                phase: Phase::After,
                status: PhaseStatus::Done
            }
        ))
        .is_some()
    );
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted));
    // The report stops it for the rollback; the incident that triggered it is
    // resolved by the rollback, so it is not left open.
    let (verdict, failing) = judged(&out, None);
    assert_eq!(verdict, Verdict::StopAndFix);
    assert!(
        fails(&failing, "no_rollback") && fails(&failing, "canary_completed"),
        "{failing:#?}"
    );
    let incidents = canary_report::model::incidents(&evs);
    assert!(
        incidents
            .iter()
            .all(|i| i.status == canary_report::model::IncidentStatus::Resolved),
        "{incidents:#?}"
    );
    eprintln!(
        "breach during monitoring: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn no_auto_rollback_records_the_breach_and_keeps_the_index() {
    needs_mariadb!("no_auto_rollback_records_the_breach_and_keeps_the_index");
    let guard = own_server();
    let server = &*guard;
    server.create_table("orders_noauto", 20_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let flag = format!("file:{}", tmp.path().join("flag").display());
    let th = thresholds_file(&tmp.path().join("thresholds.toml"), THREADS_BOUND);
    let th = th.display().to_string();
    let extra = [
        "--interval",
        "1s",
        "--monitoring",
        "6s",
        "--thresholds",
        &th,
        "--no-auto-rollback",
        "--latency-source",
        "histogram",
    ];
    let h = spawn_capture(args(server, "orders_noauto", &out, (&flag, &flag), &extra));
    // Sleeping to the end of the run: one breach, never back within the bound.
    let sleepers = load_in_monitoring(server, &out);
    let outcome = h.join().unwrap().unwrap();
    drop(sleepers);
    // With --latency-source histogram, P50/P99 come from the server's
    // QUERY_RESPONSE_TIME buckets (base 2 on the test server).
    let rows = metrics(&out);
    for m in [
        "query_latency_p50_ms",
        "query_latency_p99_ms",
        "query_latency_ms",
    ] {
        assert!(
            rows.iter().any(|(_, n, _)| n == m),
            "no {m} in metrics/capture.csv"
        );
    }

    assert_eq!(outcome.status, CaptureStatus::Completed, "{outcome:?}");
    assert!(!outcome.rolled_back);
    assert!(server.index_exists("orders_noauto", "idx_canary"));
    let evs = events(&out);
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::Incident { .. })),
        Some(Event::Incident { action: Some(a), .. }) if a.contains("--no-auto-rollback")
    ));
    assert_eq!(
        count(
            &evs,
            |e| matches!(e, Event::Alert { name, .. } if name == "threads_running critical")
        ),
        1
    );
    assert_eq!(
        count(&evs, |e| matches!(e, Event::RollbackDecision { .. })),
        0
    );
    assert_eq!(run_end(&evs), Some(RunStatus::Completed));
}

/// The stop before the DDL of a baseline that already breaks a critical
/// bound: its incident, whose description starts with `starts`.
fn critical_baseline_incident<'a>(evs: &'a [EventRecord], starts: &str) -> &'a Event {
    let found = find(
        evs,
        |e| matches!(e, Event::Incident { description, .. } if description.starts_with(starts)),
    );
    let Some(
        incident @ Event::Incident {
            severity,
            description,
            action,
            resolution,
            status,
            ..
        },
    ) = found
    else {
        panic!("no incident starting {starts:?}: {evs:#?}");
    };
    assert_eq!(*severity, canary_report::model::Severity::Critical);
    assert!(
        description.ends_with(
            "; the canary would measure nothing; reduce the load or loosen the bound with --thresholds"
        ),
        "{description}"
    );
    assert_eq!(action.as_deref(), Some("canary stopped before the DDL"));
    assert_eq!(resolution.as_deref(), Some("nothing was changed"));
    assert_eq!(*status, canary_report::model::IncidentStatus::Open);
    incident
}

#[test]
fn a_baseline_already_beyond_a_critical_bound_stops_before_the_ddl() {
    needs_mariadb!("a_baseline_already_beyond_a_critical_bound_stops_before_the_ddl");
    let t0 = Instant::now();
    let server = mariadb::shared();
    server.create_table("orders_hot", 5_000);
    let load = Workload::start(server, "orders_hot", 2, 5_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    // The sampler's SHOW GLOBAL STATUS runs as it reads threads_running: at
    // least 1 on every reading, beyond 0.5 from the second one on.
    let th = thresholds_file(
        &tmp.path().join("hot.toml"),
        "[metrics.threads_running]\ncritical = 0.5\nsustained_for_s = 0\n",
    );
    let extra = format!(
        "--baseline 2s --interval 250ms --thresholds {} --run-id CANARY-HOT --lang en",
        th.display()
    );
    let run = command(server, "orders_hot", &out, &extra)
        .output()
        .unwrap();
    drop(load);
    let stderr = std::fs::read_to_string(out.with_extension("stderr")).unwrap();

    // Exit 6: stopped with nothing changed; the DDL never ran.
    assert_eq!(run.status.code(), Some(6), "{stderr}");
    assert!(!server.index_exists("orders_hot", "idx_canary"));
    let evs = events(&out);
    assert!(find(&evs, |e| matches!(e, Event::DdlStart { .. })).is_none());
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::PhaseStart {
                phase: Phase::Execute
            }
        ))
        .is_none()
    );
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::PhaseEnd {
                phase: Phase::Baseline,
                status: PhaseStatus::Done
            }
        ))
        .is_some(),
        "the whole baseline was recorded"
    );
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted));
    let Event::Incident { description, .. } = critical_baseline_incident(
        &evs,
        "threads_running was already beyond its critical bound in the baseline: ",
    ) else {
        unreachable!()
    };
    assert!(description.contains(" > 0.500 for "), "{description}");
    assert!(description.contains(" readings in a row)"), "{description}");
    let logs = logs(&evs);
    assert!(
        logs.iter()
            .any(|m| m.starts_with("in the baseline: threads_running = ")
                && m.ends_with("the canary will stop before the DDL at the end of the baseline")),
        "{logs:#?}"
    );
    assert!(
        logs.iter().any(|m| m.starts_with(
            "canary aborted before the DDL (threads_running was already beyond its critical bound"
        ) && m.ends_with("nothing was changed")),
        "{logs:#?}"
    );

    // What the person running it sees, and the report built after it.
    assert!(
        stderr.contains(
            "INCIDENT (Critical): threads_running was already beyond its critical bound in the baseline"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("CANARY-HOT: STOP_AND_FIX — report in"),
        "{stderr}"
    );
    let md = std::fs::read_to_string(out.join("report/report.md")).unwrap();
    assert!(
        md.contains("already CRITICAL in the baseline"),
        "no pre-existing flag in report.md"
    );
    let (verdict, failing) = judged(&out, Some(&th));
    assert_eq!(verdict, Verdict::StopAndFix);
    assert!(
        fails(&failing, "canary_completed") && fails(&failing, "no_critical_or_open_incident"),
        "{failing:#?}"
    );
    let run = canary_report::ingest::read_run(&out).unwrap();
    let th = canary_report::build::load_thresholds(Some(&th)).unwrap();
    let data = canary_report::build::judge(&run, th).data;
    let threads = data
        .metrics
        .iter()
        .find(|r| r.metric == canary_report::model::MetricId::ThreadsRunning)
        .unwrap();
    assert_eq!(
        threads.verdict.pre_existing,
        Some(canary_report::judge::classify::Status::Critical)
    );
    eprintln!(
        "critical bound broken in the baseline: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn a_baseline_shorter_than_the_sustained_time_is_judged_as_a_whole() {
    needs_mariadb!("a_baseline_shorter_than_the_sustained_time_is_judged_as_a_whole");
    let server = mariadb::shared();
    server.create_table("orders_hot_mean", 5_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let flag = format!("file:{}", tmp.path().join("flag").display());
    // The template's 60 s to confirm a breach, longer than the 2 s baseline:
    // the baseline's mean, as `build` judges it, is what stops the canary.
    let th = thresholds_file(
        &tmp.path().join("hot.toml"),
        "[metrics.threads_running]\ncritical = 0.5\n",
    );
    let th = th.display().to_string();
    let outcome = run_capture(&args(
        server,
        "orders_hot_mean",
        &out,
        (&flag, &flag),
        &["--thresholds", &th],
    ))
    .unwrap();

    assert_eq!(outcome.ending(), Ending::NothingChanged, "{outcome:?}");
    assert!(!outcome.ddl_started);
    assert!(
        outcome.reason.as_deref().unwrap().starts_with(
            "threads_running was already beyond its critical bound in the baseline: mean "
        ),
        "{outcome:?}"
    );
    assert!(!server.index_exists("orders_hot_mean", "idx_canary"));
    let evs = events(&out);
    assert!(find(&evs, |e| matches!(e, Event::DdlStart { .. })).is_none());
    let Event::Incident { description, .. } = critical_baseline_incident(
        &evs,
        "threads_running was already beyond its critical bound in the baseline: mean ",
    ) else {
        unreachable!()
    };
    assert!(
        description.contains(" > 0.500 over the 2s baseline ("),
        "{description}"
    );
    let (verdict, _) = judged(&out, Some(Path::new(&th)));
    assert_eq!(verdict, Verdict::StopAndFix);
}

#[test]
fn an_alter_giving_up_on_the_metadata_lock_changes_nothing() {
    needs_mariadb!("an_alter_giving_up_on_the_metadata_lock_changes_nothing");
    let server = mariadb::shared();
    server.create_table("orders_mdl", 5_000);
    let mut blocker = server.conn();
    blocker.query_drop("START TRANSACTION").unwrap();
    blocker
        .query_drop("SELECT id FROM shop.orders_mdl LIMIT 1")
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let flag = format!("file:{}", tmp.path().join("flag").display());
    let outcome = run_capture(&args(
        server,
        "orders_mdl",
        &out,
        (&flag, &flag),
        &["--lock-wait-timeout", "1s"],
    ))
    .unwrap();
    blocker.query_drop("COMMIT").unwrap();

    assert_eq!(outcome.status, CaptureStatus::Aborted, "{outcome:?}");
    assert!(!outcome.rolled_back);
    assert_eq!(outcome.index_present, Some(false));
    assert_eq!(outcome.ending(), Ending::NothingChanged);
    let evs = events(&out);
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::DdlEnd { .. })),
        Some(Event::DdlEnd { outcome: DdlOutcome::Failed, error: Some(e), .. }) if e.contains("1205")
    ));
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::Incident {
                status: canary_report::model::IncidentStatus::Resolved,
                ..
            }
        ))
        .is_some()
    );
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::PhaseEnd {
                phase: Phase::Execute,
                status: PhaseStatus::Failed
            }
        ))
        .is_some()
    );
    assert_eq!(
        count(&evs, |e| matches!(
            e,
            Event::PhaseStart {
                phase: Phase::Verification | Phase::Monitoring
            }
        )),
        0
    );
    assert_eq!(
        count(&evs, |e| matches!(e, Event::RollbackDecision { .. })),
        0
    );
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted));
    assert!(!server.index_exists("orders_mdl", "idx_canary"));
}

#[test]
fn unreachable_kill_switch_refuses_at_the_precheck() {
    needs_mariadb!("unreachable_kill_switch_refuses_at_the_precheck");
    let server = mariadb::shared();
    server.create_table("orders_unreach", 1_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let dead = closed_port_url("/ks");
    let absent = tmp.path().join("no-such-flag").display().to_string();
    let absent = format!("file:{absent}");
    let outcome =
        run_capture(&args(server, "orders_unreach", &out, (&dead, &absent), &[])).unwrap();

    assert_eq!(outcome.status, CaptureStatus::Aborted);
    assert!(!outcome.ddl_started);
    assert_eq!(outcome.ending(), Ending::NothingChanged);
    assert!(
        outcome.reason.as_deref().unwrap().contains("unreadable"),
        "{outcome:?}"
    );
    let evs = events(&out);
    match find(&evs, |e| matches!(e, Event::KillSwitchCheck { .. })).unwrap() {
        Event::KillSwitchCheck {
            checkpoint,
            global,
            connection,
            response_ms,
            error,
        } => {
            assert_eq!(checkpoint, "Pre-execution");
            assert_eq!(
                (*global, *connection),
                (SwitchState::Unknown, SwitchState::Off)
            );
            assert!(response_ms.is_none());
            assert!(error.as_deref().unwrap().starts_with("global: "));
        }
        _ => unreachable!(),
    }
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::PhaseEnd {
                phase: Phase::Precheck,
                status: PhaseStatus::Failed
            }
        ))
        .is_some()
    );
    assert_eq!(
        count(&evs, |e| matches!(
            e,
            Event::DdlStart { .. }
                | Event::PhaseStart {
                    phase: Phase::Baseline
                }
        )),
        0
    );
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted));
    assert!(!server.index_exists("orders_unreach", "idx_canary"));
    canary_report::ingest::read_run(&out).unwrap();
}

#[test]
fn kill_switch_api_failing_mid_run_rolls_back() {
    needs_mariadb!("kill_switch_api_failing_mid_run_rolls_back");
    let server = mariadb::shared();
    server.create_table("orders_apifail", 20_000);
    let ks = KillSwitchServer::start();
    let (g, c) = (ks.url("/g"), ks.url("/c"));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let extra = ["--monitoring", "20s", "--checkpoints", "10s,20s"];
    let h = spawn_capture(args(server, "orders_apifail", &out, (&g, &c), &extra));
    assert!(wait_for_event(&out, Duration::from_secs(30), |e| matches!(
        e,
        Event::PhaseStart {
            phase: Phase::Monitoring
        }
    )));
    ks.set_mode("/c", Mode::Status500);
    let outcome = h.join().unwrap().unwrap();

    assert!(outcome.rolled_back, "{outcome:?}");
    assert_eq!(outcome.index_present, Some(false));
    assert!(!server.index_exists("orders_apifail", "idx_canary"));
    let evs = events(&out);
    assert!(checkpoints(&evs).iter().any(|(n, g, c)| {
        n.starts_with("Sample check (Monitoring Window")
            && *g == SwitchState::Off
            && *c == SwitchState::Unknown
    }));
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::RollbackDecision { .. })),
        Some(Event::RollbackDecision { reason, .. }) if reason.contains("connection kill switch unreadable (HTTP status 500)")
    ));
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::RollbackStart { .. })),
        Some(Event::RollbackStart { statement: Some(s) }) if s.contains("DROP INDEX")
    ));
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted));

    // The report shows the planned checkpoints the rollback came before as
    // not reached, and "all passed" is not claimed.
    let run = canary_report::ingest::read_run(&out).unwrap();
    let th = canary_report::build::load_thresholds(None).unwrap();
    let data = canary_report::build::judge(&run, th).data;
    let not_reached: Vec<&str> = data
        .kill_switch_checkpoints
        .iter()
        .filter(|c| c.state == CheckpointState::NotReached)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        not_reached,
        ["During Monitoring (T+10s)", "During Monitoring (T+20s)"]
    );
    assert!(
        data.kill_switch_checkpoints
            .iter()
            .filter(|c| c.state == CheckpointState::NotReached)
            .all(|c| c.detail == "not reached: the run was rolled back before it")
    );
}

#[test]
fn every_kind_of_kill_switch_failure_reads_as_on() {
    needs_mariadb!("every_kind_of_kill_switch_failure_reads_as_on");
    let server = mariadb::shared();
    server.create_table("orders_dry", 1_000);
    let ks = KillSwitchServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let flag = tmp.path().join("panic-flag");
    let flag_url = format!("file:{}", flag.display());
    let out = tmp.path().join("never-written");
    let dry = |g: &str, c: &str| {
        run_capture(&args(server, "orders_dry", &out, (g, c), &["--dry-run"])).unwrap()
    };
    // All well: the dry run passes, writes nothing and changes nothing.
    let ok = dry(&ks.url("/ok"), &flag_url);
    assert_eq!(
        (ok.status, ok.reason.as_deref(), ok.ending()),
        (CaptureStatus::DryRun, None, Ending::Completed)
    );
    assert!(ok.run_dir.is_none());

    let cases: Vec<(&str, String, &str)> = vec![
        ("slow", "/slow".into(), "timed out"),
        ("500", "/500".into(), "HTTP status 500"),
        ("garbage", "/garbage".into(), "malformed"),
        ("refuse", "/refuse".into(), "not an HTTP answer"),
        ("closed port", closed_port_url("/x"), "cannot connect"),
    ];
    ks.set_mode("/slow", Mode::Slow(Duration::from_secs(2)));
    ks.set_mode("/500", Mode::Status500);
    ks.set_mode("/garbage", Mode::Garbage);
    ks.set_mode("/refuse", Mode::Refuse);
    ks.set_enabled("/on", true);
    for (name, path, why) in &cases {
        let url = if path.starts_with("http") {
            path.clone()
        } else {
            ks.url(path)
        };
        let o = dry(&url, &flag_url);
        assert_eq!(o.status, CaptureStatus::DryRun);
        let reason = o.reason.unwrap_or_default();
        assert!(
            reason.contains("global kill switch unreadable") && reason.contains(why),
            "{name}: {reason}"
        );
    }
    let o = dry(&ks.url("/on"), &flag_url);
    assert!(o.reason.unwrap().contains("global kill switch ON"));
    std::fs::write(&flag, "").unwrap();
    let o = dry(&ks.url("/ok"), &flag_url);
    assert!(o.reason.unwrap().contains("connection kill switch ON"));
    assert!(!out.exists(), "a dry run writes no run directory");
    assert!(!server.index_exists("orders_dry", "idx_canary"));
}

#[test]
fn precheck_refusals_change_nothing() {
    needs_mariadb!("precheck_refusals_change_nothing");
    let server = mariadb::shared();
    server.create_table("orders_pre", 1_000);
    let mut c = server.conn();
    c.query_drop("ALTER TABLE shop.orders_pre ADD INDEX idx_taken (c), ADD COLUMN notes TEXT")
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let absent = format!("file:{}", tmp.path().join("flag").display());
    let refuse = |table: &str, extra: &[&str]| -> String {
        let out = tmp.path().join(format!("run-{}", extra.len()));
        let mut v = vec!["--dry-run"];
        v.extend_from_slice(extra);
        let o = run_capture(&args(server, table, &out, (&absent, &absent), &v)).unwrap();
        assert!(!o.ddl_started);
        o.reason.expect("refused")
    };
    assert!(refuse("no_such_table", &[]).contains("does not exist"));
    assert!(
        refuse("orders_pre", &["--columns", "a,nope"]).contains("column `nope` does not exist")
    );
    assert!(refuse("orders_pre", &["--columns", "notes"]).contains("prefix length"));
    assert!(refuse("orders_pre", &["--index", "IDX_TAKEN"]).contains("already exists"));
    // A transaction open for longer than --max-trx-age.
    let mut trx = server.conn();
    trx.query_drop("START TRANSACTION").unwrap();
    trx.query_drop("SELECT COUNT(*) FROM shop.orders_pre")
        .unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    let why = refuse("orders_pre", &["--max-trx-age", "1s"]);
    assert!(why.contains("open for longer than 1s"), "{why}");
    trx.query_drop("COMMIT").unwrap();
    // The real run directory of a refusal: pre-check failed, run aborted.
    let out = tmp.path().join("real");
    let o = run_capture(&args(
        server,
        "no_such_table",
        &out,
        (&absent, &absent),
        &[],
    ))
    .unwrap();
    assert_eq!(o.status, CaptureStatus::Aborted);
    let evs = events(&out);
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::PhaseEnd {
                phase: Phase::Precheck,
                status: PhaseStatus::Failed
            }
        ))
        .is_some()
    );
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted));
}

#[test]
fn identifier_injection_is_refused_before_touching_the_server() {
    needs_mariadb!("identifier_injection_is_refused_before_touching_the_server");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let flag = format!("file:{}", tmp.path().join("flag").display());
    // Nothing listens there: reaching the server would fail differently.
    let dead_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dsn = format!("mysql://root@127.0.0.1:{dead_port}/shop");
    for (opt, value) in [
        ("--table", "t; DROP TABLE x"),
        ("--table", "t`; DROP TABLE x; --"),
        ("--index", "i` (a); DROP TABLE x; --"),
        ("--columns", "a`) ALGORITHM=COPY; --"),
        ("--columns", "a,b c"),
    ] {
        let mut v = vec![
            "capture",
            "--dsn",
            &dsn,
            "--out",
            out.to_str().unwrap(),
            "--global-kill-switch",
            &flag,
            "--connection-kill-switch",
            &flag,
        ];
        for (o, default) in [("--table", "t"), ("--index", "i"), ("--columns", "a")] {
            v.extend([o, if o == opt { value } else { default }]);
        }
        let a = Cli::try_parse_from(v).unwrap().args;
        let e = format!("{:#}", run_capture(&a).unwrap_err());
        assert!(e.starts_with(opt), "{opt} {value:?}: {e}");
        assert!(e.contains("not a plain identifier"), "{e}");
        assert!(!out.exists(), "nothing may be created");
    }
    let a = Cli::try_parse_from([
        "capture",
        "--dsn",
        &format!("mysql://root@127.0.0.1:{dead_port}/sh%60op"),
        "--table",
        "t",
        "--index",
        "i",
        "--columns",
        "a",
        "--global-kill-switch",
        &flag,
        "--connection-kill-switch",
        &flag,
    ])
    .unwrap()
    .args;
    assert!(format!("{:#}", run_capture(&a).unwrap_err()).contains("--dsn database"));
}

#[test]
fn server_killed_mid_monitoring_leaves_a_readable_run() {
    needs_mariadb!("server_killed_mid_monitoring_leaves_a_readable_run");
    let t0 = Instant::now();
    let mut server = MariaDb::start("Kill-Me-Pw-1");
    server.create_table("orders_crash", 20_000);
    let load = Workload::start(&server, "orders_crash", 1, 20_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let flag = format!("file:{}", tmp.path().join("flag").display());
    let extra = [
        "--monitoring",
        "30s",
        "--checkpoints",
        "15s,30s",
        "--reconnect-for",
        "2s",
    ];
    let h = spawn_capture(args(&server, "orders_crash", &out, (&flag, &flag), &extra));
    assert!(wait_for_event(&out, Duration::from_secs(30), |e| matches!(
        e,
        Event::PhaseStart {
            phase: Phase::Monitoring
        }
    )));
    std::thread::sleep(Duration::from_millis(1500));
    let killed_at = Utc::now();
    server.kill();
    let outcome = h.join().unwrap().unwrap();
    drop(load);

    assert_eq!(outcome.status, CaptureStatus::Aborted, "{outcome:?}");
    assert_eq!(outcome.ending(), Ending::IndexStateUnknown);
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap()
            .contains("lost the server")
    );
    let evs = events(&out);
    assert!(find(&evs, |e| matches!(
        e,
        Event::Incident { severity: canary_report::model::Severity::Critical, description, .. } if description.contains("lost the server")
    ))
    .is_some());
    assert!(
        find(&evs, |e| matches!(e, Event::RollbackDecision { .. })).is_some(),
        "a rollback is attempted"
    );
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::RollbackEnd {
                success: false,
                error: Some(_)
            }
        ))
        .is_some()
    );
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::PhaseEnd {
                phase: Phase::Monitoring,
                status: PhaseStatus::Aborted
            }
        ))
        .is_some()
    );
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted));

    let rows = metrics(&out);
    let before: Vec<_> = rows.iter().filter(|(t, _, _)| *t <= killed_at).collect();
    let last = before.iter().map(|(t, _, _)| *t).max().unwrap();
    assert!(
        killed_at - last < chrono::Duration::milliseconds(1500),
        "samples up to the kill: last {last}, kill {killed_at}"
    );
    assert!(
        before
            .iter()
            .any(|(t, n, _)| n == "threads_running"
                && *t >= killed_at - chrono::Duration::seconds(2))
    );
    let run = canary_report::ingest::read_run(&out).unwrap();
    assert_eq!(run.events.len(), evs.len());
    // The report built from what is there says STOP_AND_FIX, and why.
    let (verdict, failing) = judged(&out, None);
    assert_eq!(verdict, Verdict::StopAndFix);
    assert!(
        fails(&failing, "canary_completed") && fails(&failing, "no_critical_or_open_incident"),
        "{failing:#?}"
    );
    eprintln!("server killed mid-run: {:.1} s", t0.elapsed().as_secs_f64());
}

/// Starts the real `canary-report capture` binary as a child process, with
/// the password in MYSQL_PWD only, and no report built.
fn child(server: &MariaDb, table: &str, out: &Path, extra: &str) -> std::process::Child {
    command(server, table, out, &format!("--no-report {extra}"))
        .spawn()
        .unwrap()
}

/// The real `canary-report capture`, its stdout piped and its stderr in
/// `<out>.stderr`: short phases, `extra` overriding or adding options.
fn command(server: &MariaDb, table: &str, out: &Path, extra: &str) -> std::process::Command {
    let flag = format!("file:{}", out.with_extension("flag").display());
    let dsn = server.dsn("shop");
    let out_s = out.to_str().unwrap().to_string();
    let mut v: Vec<String> = [
        "capture",
        "--dsn",
        &dsn,
        "--table",
        table,
        "--index",
        "idx_canary",
        "--columns",
        "a",
        "--out",
        &out_s,
        "--global-kill-switch",
        &flag,
        "--connection-kill-switch",
        &flag,
        "--baseline",
        "1s",
        "--checkpoints",
        "1s",
        "--after",
        "2s",
        "--interval",
        "250ms",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if !extra.contains("--monitoring") {
        v.extend(["--monitoring".to_string(), "1s".to_string()]);
    }
    if !extra.contains("--thresholds") {
        let th = thresholds_file(&thresholds_beside(&out_s), support::DEFAULT_TEST_BOUNDS);
        v.extend(["--thresholds".to_string(), th.display().to_string()]);
    }
    for a in extra.split_whitespace() {
        if let Some(i) = v.iter().position(|x| x == a && a.starts_with("--")) {
            // Given again: drop the default and its value.
            v.drain(i..i + 2);
        }
    }
    v.extend(extra.split_whitespace().map(str::to_string));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_canary-report"));
    cmd.args(&v)
        .env("MYSQL_PWD", &server.password)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        // A file, not a pipe nobody reads while the child runs.
        .stderr(std::fs::File::create(out.with_extension("stderr")).unwrap());
    cmd
}

#[test]
fn the_password_is_written_nowhere() {
    needs_mariadb!("the_password_is_written_nowhere");
    let server = mariadb::shared();
    server.create_table("orders_pw", 5_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let run = child(server, "orders_pw", &out, "")
        .wait_with_output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = std::fs::read_to_string(out.with_extension("stderr")).unwrap();
    assert!(stderr.contains("== Monitoring Window =="), "{stderr}");
    assert!(run.status.success(), "capture failed:\n{stdout}\n{stderr}");
    assert!(!stdout.contains(&server.password) && !stderr.contains(&server.password));
    let mut files = 0;
    for entry in walk(&out) {
        let bytes = std::fs::read(&entry).unwrap();
        files += 1;
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&server.password),
            "the password is in {}",
            entry.display()
        );
    }
    assert!(files >= 3, "{files} files");
    assert!(server.index_exists("orders_pw", "idx_canary"));
}

#[test]
fn ctrl_c_rolls_back_as_a_manual_decision() {
    needs_mariadb!("ctrl_c_rolls_back_as_a_manual_decision");
    operator_signal_rolls_back("INT", "orders_ctrlc");
}

#[test]
fn sigterm_rolls_back_like_ctrl_c() {
    needs_mariadb!("sigterm_rolls_back_like_ctrl_c");
    // A service manager stopping capture mid-canary must not leave the index
    // half-judged: SIGTERM is the operator's stop, as Ctrl-C is.
    operator_signal_rolls_back("TERM", "orders_sigterm");
}

fn operator_signal_rolls_back(signal: &str, table: &str) {
    let server = mariadb::shared();
    server.create_table(table, 5_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let mut proc = child(server, table, &out, "--monitoring 30s --checkpoints 30s");
    assert!(wait_for_event(&out, Duration::from_secs(30), |e| matches!(
        e,
        Event::PhaseStart {
            phase: Phase::Monitoring
        }
    )));
    // No terminal: the first Ctrl-C (or SIGTERM) rolls back at once.
    let kill = std::process::Command::new("kill")
        .args([format!("-{signal}"), proc.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let t0 = Instant::now();
    let status = proc.wait().unwrap();
    let mut stdout = String::new();
    std::io::Read::read_to_string(proc.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    // Exit code 4: rolled back, the index verified absent.
    assert_eq!(status.code(), Some(4), "{stdout}");
    assert!(
        t0.elapsed() < Duration::from_secs(15),
        "the after window (2 s) follows the rollback"
    );
    let evs = events(&out);
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::RollbackDecision { .. })),
        Some(Event::RollbackDecision { trigger: RollbackTrigger::Manual, decided_by: Some(by), reason })
            if by == "operator (Ctrl-C or SIGTERM)" && reason.contains("SIGTERM")
    ));
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::RollbackEnd { success: true, .. }
        ))
        .is_some()
    );
    assert_eq!(
        count(&evs, |e| matches!(e, Event::Incident { .. })),
        0,
        "an operator's decision is no incident"
    );
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted));
    assert!(!server.index_exists(table, "idx_canary"));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A primary (binary log, server id 1) and its replica (server id 2), both
/// serving TLS with their own test CA, started once for the tests below.
struct ReplicaPair {
    primary: MariaDb,
    replica: MariaDb,
}

fn replica_pair() -> &'static ReplicaPair {
    static PAIR: OnceLock<ReplicaPair> = OnceLock::new();
    PAIR.get_or_init(|| {
        let t0 = Instant::now();
        // One password for both, so that MYSQL_PWD / --password-file serve both.
        let password = "Pair-Pw-7";
        let start = |log_bin: bool, id: u32| {
            let options = mariadb::Options {
                log_bin,
                server_id: Some(id),
                tls: true,
            };
            move || MariaDb::start_with(password, &options)
        };
        let (primary, replica) = std::thread::scope(|s| {
            let p = s.spawn(start(true, 1));
            let r = s.spawn(start(false, 2));
            (p.join().unwrap(), r.join().unwrap())
        });
        replica.replicate_from(&primary);
        eprintln!(
            "primary and replica ready in {:.1} s",
            t0.elapsed().as_secs_f64()
        );
        ReplicaPair { primary, replica }
    })
}

/// Held by the tests that read the pair's replica: one stops its replication.
static REPLICA_LOCK: Mutex<()> = Mutex::new(());

fn replica_dsn(replica: &MariaDb) -> String {
    format!("mysql://root@127.0.0.1:{}", replica.port)
}

/// Starts the replica's replication again when dropped, whatever happened,
/// and waits (up to 30 s) for both threads to run, so that the next test's
/// pre-check does not meet an IO thread still connecting.
struct RestartReplication<'a>(&'a MariaDb);

impl Drop for RestartReplication<'_> {
    fn drop(&mut self) {
        let Ok(mut c) = self.0.try_conn() else {
            return;
        };
        let _ = c.query_drop("START SLAVE");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let (io, sql) = self.0.replication_threads();
            if io == "Yes" && sql == "Yes" {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn replica_lag_is_read_from_the_replica() {
    needs_mariadb!("replica_lag_is_read_from_the_replica");
    let t0 = Instant::now();
    let pair = replica_pair();
    let _only = REPLICA_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (primary, replica) = (&pair.primary, &pair.replica);
    primary.create_table("orders_replica", 50_000);
    replica.wait_caught_up(primary);
    // The table reached the replica through replication.
    let rows: Option<u64> = replica
        .conn()
        .query_first("SELECT COUNT(*) FROM shop.orders_replica")
        .unwrap();
    assert_eq!(rows, Some(50_000));
    let ks = KillSwitchServer::start();
    let (g, c) = (ks.url("/g"), ks.url("/c"));
    let load = Workload::start(primary, "orders_replica", 2, 50_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let th = loopback_thresholds(tmp.path());
    let replica_url = replica_dsn(replica);
    let extra = ["--thresholds", &th, "--replica", &replica_url];
    let started = Instant::now();
    let outcome = run_capture(&args(primary, "orders_replica", &out, (&g, &c), &extra)).unwrap();
    let took = started.elapsed();
    drop(load);

    assert_eq!(outcome.status, CaptureStatus::Completed, "{outcome:?}");
    assert!(!outcome.rolled_back);
    assert!(primary.index_exists("orders_replica", "idx_canary"));
    // The ALTER replicated too.
    replica.wait_caught_up(primary);
    assert!(replica.index_exists("orders_replica", "idx_canary"));

    // The primary is no replica: every lag sample is the replica's.
    let lags: Vec<(DateTime<Utc>, f64)> = metrics(&out)
        .into_iter()
        .filter(|(_, n, _)| n == "replication_lag_s")
        .map(|(t, _, v)| (t, v))
        .collect();
    assert!(lags.iter().all(|(_, v)| *v >= 0.0), "{lags:?}");
    // One sample every 500 ms from the baseline to the end of the after
    // window (2 + 3 + 2 s at least, plus the ALTER), give or take a loaded
    // machine's delays.
    let span = (lags.last().unwrap().0 - lags[0].0).num_milliseconds() as f64 / 1000.0;
    let expected = span / 0.5 + 1.0;
    assert!(span >= 6.5, "lag sampled over {span} s only");
    assert!(
        lags.len() as f64 >= expected * 0.6 && lags.len() as f64 <= expected + 1.0,
        "{} lag samples over {span:.1} s (about {expected:.0} expected)",
        lags.len()
    );

    let evs = events(&out);
    let logs = logs(&evs);
    let label = format!("root@127.0.0.1:{}", replica.port);
    let says = |needle: &str| logs.iter().any(|m| m.contains(needle));
    assert!(
        says(&format!(
            "replication_lag_s is read from the replica {label}"
        )),
        "{logs:#?}"
    );
    assert!(
        says(&format!(
            "replication on the replica {label}: running, IO thread Yes, SQL thread Yes"
        )),
        "{logs:#?}"
    );
    // Both servers offer TLS: the default PREFERRED encrypts both sessions.
    for who in [
        format!(
            "TLS to root@127.0.0.1:{}: --ssl-mode PREFERRED",
            primary.port
        ),
        format!("TLS to the replica {label}: --ssl-mode PREFERRED"),
    ] {
        assert!(
            logs.iter()
                .any(|m| m.starts_with(&who) && m.contains("session encrypted")),
            "{who}: {logs:#?}"
        );
    }
    assert_eq!(run_end(&evs), Some(RunStatus::Completed));
    let (verdict, failing) = judged(&out, Some(Path::new(&th)));
    assert_eq!(verdict, Verdict::ApprovedForLimitedProd, "{failing:#?}");
    eprintln!(
        "replica run: {:.1} s (capture {:.1} s), {} lag samples, max {} s",
        t0.elapsed().as_secs_f64(),
        took.as_secs_f64(),
        lags.len(),
        lags.iter().map(|(_, v)| *v).fold(0.0, f64::max)
    );
}

#[test]
fn replication_stopped_on_the_replica_rolls_back() {
    needs_mariadb!("replication_stopped_on_the_replica_rolls_back");
    let t0 = Instant::now();
    let pair = replica_pair();
    let _only = REPLICA_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (primary, replica) = (&pair.primary, &pair.replica);
    primary.create_table("orders_repl_stop", 20_000);
    replica.wait_caught_up(primary);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let flag = format!("file:{}", tmp.path().join("flag").display());
    // Stopped replication is confirmed on two readings in a row, lasting
    // replication_lag_s's sustained_for_s: 1 s here.
    let th = thresholds_file(
        &tmp.path().join("thresholds.toml"),
        "[metrics.replication_lag_s]\nsustained_for_s = 1\n",
    );
    let th = th.display().to_string();
    let replica_url = replica_dsn(replica);
    let extra = [
        "--monitoring",
        "30s",
        "--checkpoints",
        "15s,30s",
        "--thresholds",
        &th,
        "--replica",
        &replica_url,
    ];
    let h = spawn_capture(args(
        primary,
        "orders_repl_stop",
        &out,
        (&flag, &flag),
        &extra,
    ));
    assert!(wait_for_event(&out, Duration::from_secs(60), |e| matches!(
        e,
        Event::PhaseStart {
            phase: Phase::Monitoring
        }
    )));
    let _restart = RestartReplication(replica);
    replica.conn().query_drop("STOP SLAVE").unwrap();
    let stopped_at = Instant::now();
    let outcome = h.join().unwrap().unwrap();

    assert_eq!(outcome.status, CaptureStatus::Aborted, "{outcome:?}");
    assert!(outcome.rolled_back);
    assert_eq!(outcome.rollback_succeeded, Some(true));
    assert_eq!(outcome.index_present, Some(false));
    assert_eq!(outcome.ending(), Ending::RolledBack);
    assert!(!primary.index_exists("orders_repl_stop", "idx_canary"));
    // Well before the 30 s window's end: 2 s of after window follow the rollback.
    assert!(
        stopped_at.elapsed() < Duration::from_secs(20),
        "stopped {:.1} s after STOP SLAVE",
        stopped_at.elapsed().as_secs_f64()
    );

    let evs = events(&out);
    let label = format!("root@127.0.0.1:{}", replica.port);
    assert!(
        logs(&evs).iter().any(|m| m.starts_with(&format!(
            "replication is stopped on the replica {label}: IO thread No, SQL thread No"
        ))),
        "{:#?}",
        logs(&evs)
    );
    assert!(
        find(&evs, |e| matches!(e, Event::Alert { name, severity: canary_report::model::Severity::Critical, .. } if name == "replication_stopped critical")).is_some()
    );
    match find(&evs, |e| matches!(e, Event::RollbackDecision { .. })).unwrap() {
        Event::RollbackDecision {
            trigger, reason, ..
        } => {
            assert_eq!(*trigger, RollbackTrigger::Automatic);
            assert!(
                reason.starts_with("critical breach: replication stopped (IO thread No")
                    && reason.contains(&format!("on the replica {label}")),
                "{reason}"
            );
        }
        _ => unreachable!(),
    }
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::RollbackStart { .. })),
        Some(Event::RollbackStart { statement: Some(s) }) if s.contains("DROP INDEX")
    ));
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::RollbackEnd { success: true, .. }
        ))
        .is_some()
    );
    // Replication is still stopped at the end of the after window, and the
    // post-rollback check says so, naming the replica.
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::PostRollbackCheck { check, .. } if check == "Replication healthy")),
        Some(Event::PostRollbackCheck { passed: false, actual, .. }) if actual.contains(&label)
    ));
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted));
    let (verdict, failing) = judged(&out, None);
    assert_eq!(verdict, Verdict::StopAndFix);
    assert!(fails(&failing, "no_rollback"), "{failing:#?}");

    // Replication resumes, and the DROP INDEX reaches the replica too.
    drop(_restart);
    replica.wait_caught_up(primary);
    assert!(!replica.index_exists("orders_repl_stop", "idx_canary"));
    eprintln!(
        "replication stopped mid-monitoring: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn a_replica_that_is_not_one_is_refused_before_anything_changes() {
    needs_mariadb!("a_replica_that_is_not_one_is_refused_before_anything_changes");
    // The shared server is no replica: given as --replica, the pre-check
    // refuses, through the real binary, with exit code 6 (nothing changed).
    let server = mariadb::shared();
    server.create_table("orders_notrepl", 1_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let url = replica_dsn(server);
    let run = child(server, "orders_notrepl", &out, &format!("--replica {url}"))
        .wait_with_output()
        .unwrap();
    let stderr = std::fs::read_to_string(out.with_extension("stderr")).unwrap();
    assert_eq!(run.status.code(), Some(6), "{stderr}");
    let label = format!("root@127.0.0.1:{}", server.port);
    let why = format!("pre-check failed: the replica {label}");
    assert!(
        stderr.contains(&why)
            && stderr.contains("is not a replica: SHOW ALL SLAVES STATUS returns no row"),
        "{stderr}"
    );
    let evs = events(&out);
    assert!(
        logs(&evs)
            .iter()
            .any(|m| m.starts_with(&why) && m.ends_with("nothing was changed")),
        "{:#?}",
        logs(&evs)
    );
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::PhaseEnd {
                phase: Phase::Precheck,
                status: PhaseStatus::Failed
            }
        ))
        .is_some()
    );
    assert_eq!(count(&evs, |e| matches!(e, Event::DdlStart { .. })), 0);
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted));
    assert!(!server.index_exists("orders_notrepl", "idx_canary"));
}

#[test]
fn tls_is_verified_recorded_and_required() {
    needs_mariadb!("tls_is_verified_recorded_and_required");
    let t0 = Instant::now();
    let server = &replica_pair().primary;
    server.create_table("orders_tls", 20_000);
    let tmp = tempfile::tempdir().unwrap();
    let flag = format!("file:{}", tmp.path().join("flag").display());
    let ca = server.tls_ca().display().to_string();

    // VERIFY_CA with the CA that signed the server's certificate: the whole
    // canary runs over TLS, and the pre-check records the cipher.
    let out = tmp.path().join("run");
    let th = loopback_thresholds(tmp.path());
    let extra = [
        "--ssl-mode",
        "VERIFY_CA",
        "--ssl-ca",
        &ca,
        "--thresholds",
        &th,
    ];
    let outcome = run_capture(&args(server, "orders_tls", &out, (&flag, &flag), &extra)).unwrap();
    assert_eq!(outcome.status, CaptureStatus::Completed, "{outcome:?}");
    assert!(!outcome.rolled_back);
    assert!(server.index_exists("orders_tls", "idx_canary"));
    let evs = events(&out);
    let tls = logs(&evs)
        .into_iter()
        .find(|m| m.starts_with("TLS to "))
        .expect("the session's TLS is recorded")
        .to_string();
    let cipher = tls
        .split("Ssl_cipher ")
        .nth(1)
        .unwrap_or_default()
        .trim()
        .to_string();
    assert!(
        tls.starts_with(&format!(
            "TLS to root@127.0.0.1:{}: --ssl-mode VERIFY_CA (CA {ca}) (certificate checked against the CA, host name not checked); session encrypted, Ssl_version TLSv1.",
            server.port
        )) && !cipher.is_empty(),
        "{tls}"
    );
    assert_eq!(run_end(&evs), Some(RunStatus::Completed));
    let (verdict, failing) = judged(&out, Some(Path::new(&th)));
    assert_eq!(verdict, Verdict::ApprovedForLimitedProd, "{failing:#?}");

    // The pre-check (a dry run) with other settings against the same server:
    // the reason it refuses, or None.
    let dry = |dsn_host: &str, extra: &[&str]| -> Option<String> {
        let mut v = vec!["--dry-run"];
        v.extend_from_slice(extra);
        let mut a = args(
            server,
            "orders_tls",
            &tmp.path().join("never"),
            (&flag, &flag),
            &v,
        );
        a.dsn = format!("mysql://root@{dsn_host}:{}/shop", server.port);
        let o = run_capture(&a).unwrap();
        assert_eq!(o.status, CaptureStatus::DryRun);
        assert!(!o.ddl_started);
        o.reason
    };
    // The certificate names `localhost` only: VERIFY_IDENTITY refuses
    // 127.0.0.1, and takes localhost.
    let why = dry(
        "127.0.0.1",
        &[
            "--index",
            "idx_tls2",
            "--ssl-mode",
            "VERIFY_IDENTITY",
            "--ssl-ca",
            &ca,
        ],
    )
    .expect("refused");
    assert!(
        why.contains("TLS (--ssl-mode VERIFY_IDENTITY")
            && why.contains("certificate not valid for name \"127.0.0.1\""),
        "{why}"
    );
    assert_eq!(
        dry(
            "localhost",
            &[
                "--index",
                "idx_tls2",
                "--ssl-mode",
                "VERIFY_IDENTITY",
                "--ssl-ca",
                &ca
            ]
        ),
        None
    );
    // A CA that did not sign the server's certificate.
    let other = mariadb::make_certs(&tmp.path().join("other-ca"), "localhost").join("ca.pem");
    let other = other.display().to_string();
    let why = dry(
        "127.0.0.1",
        &[
            "--index",
            "idx_tls2",
            "--ssl-mode",
            "VERIFY_CA",
            "--ssl-ca",
            &other,
        ],
    )
    .expect("refused");
    assert!(
        why.starts_with(&format!("pre-check failed: cannot connect to root@127.0.0.1:{}: TLS (--ssl-mode VERIFY_CA (CA {other}))", server.port))
            && why.contains("invalid peer certificate"),
        "{why}"
    );
    assert!(!server.index_exists("orders_tls", "idx_tls2"));

    // REQUIRED against the shared server, which offers no TLS: a real run,
    // refused at the pre-check with nothing changed.
    let plain = mariadb::shared();
    plain.create_table("orders_tls_plain", 1_000);
    let out = tmp.path().join("required");
    let o = run_capture(&args(
        plain,
        "orders_tls_plain",
        &out,
        (&flag, &flag),
        &["--ssl-mode", "REQUIRED"],
    ))
    .unwrap();
    assert_eq!(o.status, CaptureStatus::Aborted);
    assert!(!o.ddl_started);
    assert_eq!(o.ending(), Ending::NothingChanged);
    let why = o.reason.unwrap();
    assert_eq!(
        why,
        format!(
            "pre-check failed: cannot connect to root@127.0.0.1:{}: the server does not offer TLS, \
             and --ssl-mode REQUIRED requires it",
            plain.port
        )
    );
    let evs = events(&out);
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::PhaseEnd {
                phase: Phase::Precheck,
                status: PhaseStatus::Failed
            }
        ))
        .is_some()
    );
    assert_eq!(count(&evs, |e| matches!(e, Event::DdlStart { .. })), 0);
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted));
    assert!(!plain.index_exists("orders_tls_plain", "idx_canary"));
    eprintln!("TLS cases: {:.1} s", t0.elapsed().as_secs_f64());
}

/// A TCP forwarder from a free port of 127.0.0.1 to a server, until
/// [`Forwarder::cut`] closes its listener and every connection through it: the
/// network to a server failing for real, without stopping the server.
struct Forwarder {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<Mutex<Vec<std::net::TcpStream>>>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl Forwarder {
    fn start(target_port: u16) -> Forwarder {
        use std::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let conns = std::sync::Arc::new(Mutex::new(Vec::<TcpStream>::new()));
        let (s, c) = (stop.clone(), conns.clone());
        let accept = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                let client = match listener.accept() {
                    Ok((client, _)) => client,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                };
                client.set_nonblocking(false).unwrap();
                let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)) else {
                    continue;
                };
                let mut kept = c.lock().unwrap();
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server.try_clone().unwrap(), client.try_clone().unwrap()),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
                kept.extend([client, server]);
            }
            // The listener is dropped here: new connections are refused.
        });
        Forwarder {
            port,
            stop,
            conns,
            accept: Some(accept),
        }
    }

    fn cut(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.accept.take() {
            h.join().unwrap();
        }
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.cut();
    }
}

#[test]
fn an_unreachable_replica_fails_safe() {
    needs_mariadb!("an_unreachable_replica_fails_safe");
    let t0 = Instant::now();
    let pair = replica_pair();
    let _only = REPLICA_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (primary, replica) = (&pair.primary, &pair.replica);
    primary.create_table("orders_repl_lost", 20_000);
    replica.wait_caught_up(primary);
    let mut path = Forwarder::start(replica.port);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let flag = format!("file:{}", tmp.path().join("flag").display());
    let replica_url = format!("mysql://root@127.0.0.1:{}", path.port);
    let extra = [
        "--monitoring",
        "30s",
        "--checkpoints",
        "15s,30s",
        "--reconnect-for",
        "1s",
        "--replica",
        &replica_url,
    ];
    let h = spawn_capture(args(
        primary,
        "orders_repl_lost",
        &out,
        (&flag, &flag),
        &extra,
    ));
    assert!(wait_for_event(&out, Duration::from_secs(60), |e| matches!(
        e,
        Event::PhaseStart {
            phase: Phase::Monitoring
        }
    )));
    // The replica itself runs on; only the way to it is gone.
    path.cut();
    let cut_at = Instant::now();
    let outcome = h.join().unwrap().unwrap();

    assert_eq!(outcome.status, CaptureStatus::Aborted, "{outcome:?}");
    assert!(outcome.rolled_back);
    assert_eq!(outcome.rollback_succeeded, Some(true));
    assert_eq!(outcome.ending(), Ending::RolledBack);
    assert!(!primary.index_exists("orders_repl_lost", "idx_canary"));
    assert!(
        cut_at.elapsed() < Duration::from_secs(20),
        "stopped {:.1} s after the cut",
        cut_at.elapsed().as_secs_f64()
    );

    let evs = events(&out);
    let label = format!("root@127.0.0.1:{}", path.port);
    assert!(
        logs(&evs)
            .iter()
            .any(|m| m.starts_with(&format!("replica {label}: cannot read its status"))),
        "{:#?}",
        logs(&evs)
    );
    let why = format!("replica {label} unreadable: ");
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::Incident { .. })),
        Some(Event::Incident { severity: canary_report::model::Severity::Critical, description, .. })
            if description.starts_with(&why)
                && description.contains("reconnect attempts over 1s)")
                && description.ends_with("replication_lag_s is no longer known, treated as a critical breach")
    ));
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::RollbackDecision { .. })),
        Some(Event::RollbackDecision { trigger: RollbackTrigger::Automatic, reason, .. }) if reason.starts_with(&why)
    ));
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::PostRollbackCheck { check, .. } if check == "Replication healthy")),
        Some(Event::PostRollbackCheck { passed: false, actual, .. }) if actual.contains("unknown")
    ));
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted));
    let (verdict, failing) = judged(&out, None);
    assert_eq!(verdict, Verdict::StopAndFix);
    assert!(fails(&failing, "no_rollback"), "{failing:#?}");
    eprintln!(
        "replica unreachable mid-run: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

/// Capture and build judge the DDL's window alike: a window whose value is
/// beyond a critical bound (threads_running's max during the DDL, with no
/// breach sustained long enough to stop it live) rolls the index back when
/// the DDL ends, and the report of that run fails no_critical_metric for the
/// same metric and window. Deterministic: a transaction holds the table's
/// metadata lock, so the ALTER waits inside the DDL window while six
/// sleeping sessions run, until the sampler has recorded them.
#[test]
fn a_critical_window_during_the_ddl_rolls_back_and_the_report_agrees() {
    needs_mariadb!("a_critical_window_during_the_ddl_rolls_back_and_the_report_agrees");
    let t0 = Instant::now();
    let guard = own_server();
    let server = &*guard;
    server.create_table("orders_ddl_window", 5_000);
    let ks = KillSwitchServer::start();
    let (g, c) = (ks.url("/g"), ks.url("/c"));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let th = thresholds_file(
        &tmp.path().join("thresholds.toml"),
        "[metrics.threads_running]\nwarning = 3\ncritical = 5\nstatistic = \"max\"\nsustained_for_s = 3600\n\
         [metrics.lock_wait_time_s]\nsustained_for_s = 3600\n",
    );
    let th = th.display().to_string();
    let extra = [
        "--interval",
        "250ms",
        "--baseline",
        "2s",
        "--monitoring",
        "2s",
        "--checkpoints",
        "1s",
        "--after",
        "1s",
        "--lock-wait-timeout",
        "120s",
        "--thresholds",
        &th,
    ];
    let h = spawn_capture(args(server, "orders_ddl_window", &out, (&g, &c), &extra));
    // Hold the metadata lock from the baseline on: the ALTER will wait for it.
    assert!(
        wait_for_event(&out, Duration::from_secs(60), |e| matches!(
            e,
            Event::PhaseStart {
                phase: Phase::Baseline
            }
        )),
        "no baseline: {}",
        std::fs::read_to_string(out.join("events.jsonl")).unwrap_or_default()
    );
    let mut holder = server.conn();
    holder.query_drop("BEGIN").unwrap();
    holder
        .query_drop("SELECT * FROM shop.orders_ddl_window LIMIT 1")
        .unwrap();
    assert!(wait_for_event(&out, Duration::from_secs(60), |e| matches!(
        e,
        Event::DdlStart { .. }
    )));
    let sleepers = Sleepers::start(server, SLEEPERS);
    // Until the sampler has recorded them, during the DDL.
    let seen = || {
        let evs = events(&out);
        let Some(start) = evs
            .iter()
            .find(|e| matches!(e.event, Event::DdlStart { .. }))
            .map(|e| e.ts)
        else {
            return false;
        };
        std::fs::read_to_string(out.join("metrics/capture.csv"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(",threads_running,"))
            .any(|l| {
                let mut f = l.split(',');
                let ts: Option<DateTime<Utc>> = f.next().and_then(|t| t.parse().ok());
                let v: f64 = f.nth(1).and_then(|v| v.parse().ok()).unwrap_or(0.0);
                ts.is_some_and(|ts| ts > start) && v > 5.0
            })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !seen() {
        assert!(
            Instant::now() < deadline,
            "no threads_running above 5 recorded"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(sleepers);
    holder.query_drop("COMMIT").unwrap();
    let outcome = h.join().unwrap().unwrap();

    // Live: the DDL succeeded, its window was judged when it ended, and the
    // index was rolled back for it.
    assert!(outcome.rolled_back, "{outcome:?}");
    assert!(!server.index_exists("orders_ddl_window", "idx_canary"));
    let evs = events(&out);
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::DdlEnd { .. })),
        Some(Event::DdlEnd {
            outcome: DdlOutcome::Success,
            ..
        })
    ));
    let reason = match find(&evs, |e| matches!(e, Event::RollbackDecision { .. })) {
        Some(Event::RollbackDecision { reason, .. }) => reason.clone(),
        other => panic!("no rollback decision: {other:?}"),
    };
    assert!(
        reason.contains("threads_running over the during window") && reason.contains("max"),
        "{reason}"
    );

    // Offline: the report of the same run fails the same rule, for the same
    // metric and window.
    let built = canary_report::build::build(
        &out,
        &canary_report::build::BuildOptions {
            out: Some(tmp.path().join("report")),
            thresholds: Some(PathBuf::from(&th)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(built.data.decision, Verdict::StopAndFix);
    let rule = built
        .data
        .reasons
        .iter()
        .find(|r| r.rule == canary_report::model::RuleId::NoCriticalMetric)
        .unwrap();
    assert!(!rule.passed);
    assert!(
        rule.detail.contains("Threads Running") && rule.detail.contains("during window's max"),
        "{}",
        rule.detail
    );
    let threads = built
        .data
        .metric(canary_report::model::MetricId::ThreadsRunning)
        .unwrap();
    assert_eq!(
        threads.verdict.during_status,
        canary_report::judge::bounds::Status::Critical
    );
    assert_ne!(
        threads.verdict.baseline_status,
        canary_report::judge::bounds::Status::Critical
    );
    eprintln!("ddl window breach: {:.1} s", t0.elapsed().as_secs_f64());
}

#[test]
fn a_precheck_that_cannot_read_replication_status_names_the_privilege() {
    needs_mariadb!("a_precheck_that_cannot_read_replication_status_names_the_privilege");
    let server = mariadb::shared();
    server.create_table("orders_priv", 1_000);
    // The documented privileges on the table and PROCESS, not SLAVE MONITOR.
    let mut c = server.conn();
    for sql in [
        "CREATE USER IF NOT EXISTS 'canary_priv'@'127.0.0.1' IDENTIFIED BY 'Priv-Pw-1'",
        "GRANT SELECT, ALTER, INDEX ON shop.orders_priv TO 'canary_priv'@'127.0.0.1'",
        "GRANT PROCESS ON *.* TO 'canary_priv'@'127.0.0.1'",
    ] {
        c.query_drop(sql).unwrap();
    }
    let tmp = tempfile::tempdir().unwrap();
    let pw = tmp.path().join("pw");
    std::fs::write(&pw, "Priv-Pw-1\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let flag = format!("file:{}", tmp.path().join("flag").display());
    let out = tmp.path().join("run");
    let mut a = args(server, "orders_priv", &out, (&flag, &flag), &["--dry-run"]);
    a.dsn = format!("mysql://canary_priv@127.0.0.1:{}/shop", server.port);
    a.password_file = Some(pw);

    let refused = run_capture(&a).unwrap();
    let reason = refused.reason.unwrap_or_default();
    assert!(
        reason.starts_with(
            "pre-check failed: cannot tell whether the server is a replica: SHOW ALL SLAVES STATUS fails"
        )
            && reason.contains("grant SLAVE MONITOR")
            && reason.ends_with("or pass --no-replication if the server has no replication"),
        "{reason}"
    );

    // The operator says there is none: the pre-check passes, and says so.
    a.no_replication = true;
    let passed = run_capture(&a).unwrap();
    assert_eq!(passed.reason, None, "{passed:?}");
}

#[test]
fn a_dry_run_says_so_on_its_first_line() {
    needs_mariadb!("a_dry_run_says_so_on_its_first_line");
    let server = mariadb::shared();
    server.create_table("orders_dry_line", 1_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let run = child(server, "orders_dry_line", &out, "--dry-run")
        .wait_with_output()
        .unwrap();
    let stderr = std::fs::read_to_string(out.with_extension("stderr")).unwrap();
    assert!(run.status.success(), "{stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains("DRY RUN of canary") && first.contains("nothing is changed or written"),
        "{stderr}"
    );
    assert!(!out.exists(), "a dry run writes no run directory");
}

// ---- kill switches a real service can be: HTTPS, a bearer token, none ----------------

/// A token nobody could guess, different every run.
fn random_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut t = String::from("tok");
    for _ in 0..2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        t.push_str(&format!("{:016x}", h.finish()));
    }
    t
}

/// A file only its owner can read.
fn private_file(path: &Path, text: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.display().to_string()
}

#[test]
fn an_https_kill_switch_with_a_bearer_token_stops_the_alter_and_the_token_is_nowhere() {
    needs_mariadb!(
        "an_https_kill_switch_with_a_bearer_token_stops_the_alter_and_the_token_is_nowhere"
    );
    let t0 = Instant::now();
    let server = mariadb::shared();
    server.create_table("orders_https", 50_000);
    let tmp = tempfile::tempdir().unwrap();
    let certs = mariadb::make_certs(&tmp.path().join("ks-tls"), "localhost");
    let token = random_token();
    let ks = KillSwitchServer::start_https(&certs, Some(&token));
    let headers = private_file(
        &tmp.path().join("ks-headers"),
        &format!("Authorization: Bearer {token}\nX-Canary: orders_https\n"),
    );
    let ca = certs.join("ca.pem").display().to_string();
    // The ALTER waits for this transaction's metadata lock until the switch stops it.
    let mut blocker = server.conn();
    blocker.query_drop("START TRANSACTION").unwrap();
    blocker
        .query_drop("SELECT id FROM shop.orders_https LIMIT 1")
        .unwrap();
    let out = tmp.path().join("run");
    let (g, c) = (ks.url("/global"), ks.url("/conn"));
    let extra = format!(
        "--global-kill-switch {g} --connection-kill-switch {c} --kill-switch-header @{headers} \
         --kill-switch-ca {ca} --kill-switch-timeout 2s --lock-wait-timeout 60s --monitoring 3s"
    );
    let mut cap = child(server, "orders_https", &out, &extra);
    let pid = cap.id();

    // While it runs: the process title and every thread's name, read from /proc.
    let mut titles = 0;
    let mut turned_on = false;
    loop {
        for f in ["cmdline", "comm"] {
            if let Ok(b) = std::fs::read(format!("/proc/{pid}/{f}")) {
                titles += 1;
                assert!(
                    !String::from_utf8_lossy(&b).contains(&token),
                    "the token is in /proc/{pid}/{f}"
                );
            }
        }
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for t in tasks.flatten() {
                for f in ["comm", "cmdline"] {
                    if let Ok(b) = std::fs::read(t.path().join(f)) {
                        assert!(!String::from_utf8_lossy(&b).contains(&token));
                    }
                }
            }
        }
        if !turned_on
            && std::fs::read_to_string(out.join("events.jsonl"))
                .is_ok_and(|t| t.contains("\"type\":\"ddl_start\""))
        {
            // A few reads of the switch during the ALTER, then ON.
            std::thread::sleep(Duration::from_millis(1500));
            ks.set_enabled("/global", true);
            turned_on = true;
        }
        if cap.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let done = cap.wait_with_output().unwrap();
    blocker.query_drop("COMMIT").unwrap();
    let stderr = std::fs::read_to_string(out.with_extension("stderr")).unwrap();
    assert!(turned_on, "the ALTER never started:\n{stderr}");
    assert_eq!(done.status.code(), Some(4), "rolled back:\n{stderr}");
    assert!(titles >= 4, "{titles} reads of /proc");
    assert!(!server.index_exists("orders_https", "idx_canary"));
    assert_eq!(ks.unauthorized(), 0, "every read carried the token");
    assert!(ks.hits("/global") >= 3 && ks.hits("/conn") >= 3);

    let evs = events(&out);
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::DdlEnd { .. })),
        Some(Event::DdlEnd {
            outcome: DdlOutcome::Killed,
            ..
        })
    ));
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::Incident { .. })),
        Some(Event::Incident { description, .. }) if description.contains("global kill switch ON")
    ));
    assert!(
        checkpoints(&evs)
            .iter()
            .any(|(n, g, _)| n.starts_with("Sample check (Execute") && *g == SwitchState::On)
    );
    // The URLs are recorded, the headers are not: where they came from only.
    let logged = logs(&evs);
    let global = logged
        .iter()
        .find(|m| m.starts_with("global kill switch: "))
        .expect("the global switch is recorded");
    assert_eq!(
        *global,
        format!(
            "global kill switch: {g} (the boolean at /enabled; 2 headers from {headers}, not recorded)"
        )
    );
    assert!(
        logged
            .iter()
            .any(|m| m.starts_with(&format!("connection kill switch: {c} (")))
    );
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted));

    // The manifest records the switches, as read, and where the metrics came
    // from; the report shows both.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["sources"]["global_kill_switch"],
        format!(
            "{g} (the boolean at /enabled; 2 headers from {headers}, not recorded); read every 200ms"
        )
    );
    let metrics_from = manifest["sources"]["metrics"][0].as_str().unwrap();
    assert!(
        metrics_from.contains(&format!("127.0.0.1:{}", server.port)),
        "{metrics_from}"
    );
    let report = tmp.path().join("report");
    let built = std::process::Command::new(env!("CARGO_BIN_EXE_canary-report"))
        .args(["build", "--format", "md", "--quiet", "--out"])
        .arg(&report)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        built.status.code().is_some_and(|c| c == 0 || c == 3),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(
        md.contains(&format!("- Global: {g} (the boolean at /enabled")),
        "{md}"
    );
    assert!(md.contains(&format!("- {metrics_from}")));

    // The token is in no file of the run directory, nor beside it, nor in
    // what capture printed.
    let mut files = 0;
    for f in walk(tmp.path()) {
        if f == Path::new(&headers) {
            continue;
        }
        files += 1;
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(!text.contains(&token), "the token is in {}", f.display());
    }
    assert!(files >= 5, "{files} files");
    assert!(!stderr.contains(&token) && !String::from_utf8_lossy(&done.stdout).contains(&token));
    assert!(stderr.contains("global kill switch ON"), "{stderr}");
    eprintln!(
        "HTTPS kill switch with a token during the ALTER: {:.1} s, {} reads",
        t0.elapsed().as_secs_f64(),
        ks.hits("/global")
    );
}

#[test]
fn an_https_kill_switch_without_its_token_or_its_ca_reads_as_on() {
    needs_mariadb!("an_https_kill_switch_without_its_token_or_its_ca_reads_as_on");
    let server = mariadb::shared();
    server.create_table("orders_https_no", 1_000);
    let tmp = tempfile::tempdir().unwrap();
    let certs = mariadb::make_certs(&tmp.path().join("ks-tls"), "localhost");
    let token = random_token();
    let ks = KillSwitchServer::start_https(&certs, Some(&token));
    let (g, c) = (ks.url("/global"), ks.url("/conn"));
    let ca = certs.join("ca.pem").display().to_string();

    // No header file: 401, which reads as ON; the pre-check refuses.
    let out = tmp.path().join("run");
    let outcome = run_capture(&args(
        server,
        "orders_https_no",
        &out,
        (&g, &c),
        &["--kill-switch-ca", &ca],
    ))
    .unwrap();
    assert_eq!(outcome.ending(), Ending::NothingChanged, "{outcome:?}");
    assert!(!outcome.ddl_started);
    let reason = outcome.reason.unwrap();
    assert!(
        reason.contains("global kill switch unreadable (HTTP status 401), treated as ON")
            && reason.contains("connection kill switch unreadable (HTTP status 401)"),
        "{reason}"
    );
    assert!(ks.unauthorized() >= 2);
    let evs = events(&out);
    assert_eq!(
        checkpoints(&evs),
        [(
            "Pre-execution".to_string(),
            SwitchState::Unknown,
            SwitchState::Unknown
        )]
    );
    assert_eq!(count(&evs, |e| matches!(e, Event::DdlStart { .. })), 0);
    assert!(!server.index_exists("orders_https_no", "idx_canary"));

    // The token, but not the CA that signed the switch's certificate: the
    // Mozilla roots do not know it, and the read fails safe.
    let headers = private_file(
        &tmp.path().join("ks-headers"),
        &format!("Authorization: Bearer {token}\n"),
    );
    let header_arg = format!("@{headers}");
    let dry = |extra: &[&str]| {
        run_capture(&args(
            server,
            "orders_https_no",
            &tmp.path().join("never"),
            (&g, &c),
            &[&["--dry-run"], extra].concat(),
        ))
        .unwrap()
    };
    let o = dry(&["--kill-switch-header", &header_arg]);
    let reason = o.reason.unwrap_or_default();
    assert!(
        reason.contains(&format!(
            "global kill switch unreadable (TLS to localhost:{}: invalid peer certificate: \
             UnknownIssuer)",
            ks.port
        )),
        "{reason}"
    );
    // With both, it reads OFF.
    let o = dry(&["--kill-switch-header", &header_arg, "--kill-switch-ca", &ca]);
    assert_eq!((o.status, o.reason), (CaptureStatus::DryRun, None));
}

#[test]
fn a_run_without_a_kill_switch_is_declared_recorded_and_approved_with_a_condition() {
    needs_mariadb!(
        "a_run_without_a_kill_switch_is_declared_recorded_and_approved_with_a_condition"
    );
    let server = mariadb::shared();
    server.create_table("orders_noks", 20_000);
    let _load = Workload::start(server, "orders_noks", 1, 20_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let th = loopback_thresholds(tmp.path());
    let mut a = args(
        server,
        "orders_noks",
        &out,
        ("file:/unused", "file:/unused"),
        &["--thresholds", &th],
    );
    a.global_kill_switch = None;
    a.connection_kill_switch = None;
    a.no_kill_switch = true;
    let outcome = run_capture(&a).unwrap();
    assert_eq!(outcome.ending(), Ending::Completed, "{outcome:?}");
    assert!(server.index_exists("orders_noks", "idx_canary"));

    let evs = events(&out);
    assert_eq!(
        count(&evs, |e| matches!(e, Event::KillSwitchCheck { .. })),
        0
    );
    assert!(
        logs(&evs)
            .iter()
            .any(|m| m.starts_with("no kill switch: the team declared none (--no-kill-switch)"))
    );
    let m = manifest(&out);
    assert!(m.plan.no_kill_switch);
    assert!(m.plan.kill_switch_checkpoints.is_empty());
    let raw = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(raw.contains("\"no_kill_switch\": true"), "{raw}");

    let built = canary_report::build::build(
        &out,
        &canary_report::build::BuildOptions {
            out: Some(tmp.path().join("report")),
            thresholds: Some(PathBuf::from(&th)),
            lang: canary_report::report::Lang::En,
            ..Default::default()
        },
    )
    .unwrap();
    let d = &built.data;
    assert_eq!(
        d.decision,
        Verdict::ApprovedForLimitedProd,
        "{:#?}",
        d.blockers
    );
    let rule = d
        .reasons
        .iter()
        .find(|r| r.rule == canary_report::model::RuleId::KillSwitchChecksPassed)
        .unwrap();
    assert!(rule.passed);
    assert_eq!(
        rule.detail,
        "no kill switch: the team declared none (plan.no_kill_switch)"
    );
    assert!(
        d.conditions.iter().any(|c| c
            .condition
            .starts_with("No kill switch: the canary ran without one")),
        "{:#?}",
        d.conditions
    );
    let md = std::fs::read_to_string(tmp.path().join("report/report.md")).unwrap();
    let s24 = &md[md.find("### 2.4").unwrap()..];
    let s24 = &s24[..s24.find("---").unwrap()];
    assert!(
        s24.contains("No kill switch: the team declared none"),
        "{s24}"
    );
    assert!(!s24.contains("none recorded"), "{s24}");
    assert!(s24.contains("All passed: — (no kill switch)"), "{s24}");
    assert!(md.contains("No kill switch: the canary ran without one"));
}
