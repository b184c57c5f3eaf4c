//! `capture` when things break under it, through the real binary against a
//! real, throw-away MariaDB: the server restarted mid-baseline or
//! mid-monitoring, or killed mid-ALTER, capture's own sessions killed, the ALTER's session killed, the
//! run directory's disk full, SIGINT/SIGTERM in every phase but monitoring
//! (tests/capture.rs has that one), and the password in the process title.
//!
//! Each case checks what capture did (exit code, events.jsonl, the index on
//! the server), that no row already written to the run directory was lost,
//! and that `canary-report build` still reports on it.

#[allow(dead_code)]
mod support;

use canary_report::model::{
    DdlOutcome, Event, EventRecord, IncidentStatus, Phase, PhaseStatus, RollbackTrigger, RunStatus,
    Severity, StepStatus, SwitchState,
};
use mysql::prelude::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use support::killswitch::{KillSwitchServer, Mode};
use support::mariadb::{self, MariaDb};

/// A loaded two-core machine: generous, but a hang still fails.
const TIMEOUT: Duration = Duration::from_secs(90);

/// A server of its own, one case at a time: for the cases that stop it, and
/// the one that judges its metrics (the shared server's buffer pool is busy
/// with the other tests' tables).
fn dedicated() -> MutexGuard<'static, MariaDb> {
    static SERVER: OnceLock<Mutex<MariaDb>> = OnceLock::new();
    SERVER
        .get_or_init(|| Mutex::new(MariaDb::start("Dedicated-Pw-7")))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Who capture logs in as.
struct Login {
    user: String,
    password: String,
}

fn root(server: &MariaDb) -> Login {
    Login {
        user: "root".into(),
        password: server.password.clone(),
    }
}

/// A user of its own, so that capture's sessions can be told apart from the
/// test's in the process list.
fn own_user(server: &MariaDb, user: &str) -> Login {
    let password = format!("{user}-Secret-Pw-{}", std::process::id());
    let mut c = server.conn();
    c.query_drop(format!(
        "CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'"
    ))
    .unwrap();
    c.query_drop(format!("GRANT ALL ON *.* TO '{user}'@'127.0.0.1'"))
        .unwrap();
    Login {
        user: user.into(),
        password,
    }
}

/// Short phases (1 s baseline, 2 s monitoring, 1 s after, a sample every
/// 250 ms), the index `idx_canary` on (a); `extra` overrides or adds.
const OPTS: &[&str] = &[
    "--baseline",
    "1s",
    "--monitoring",
    "2s",
    "--checkpoints",
    "1s",
    "--after",
    "1s",
    "--interval",
    "250ms",
    "--kill-switch-timeout",
    "1s",
    "--index",
    "idx_canary",
    "--columns",
    "a",
];

/// The real `canary-report capture`, running; killed if the test fails first.
struct Capture {
    child: Option<Child>,
    out: PathBuf,
    stderr: PathBuf,
    _logs: tempfile::TempDir,
}

struct Finished {
    code: Option<i32>,
    stderr: String,
    took: Duration,
}

impl Capture {
    /// Starts capture on `shop.<table>` with the password in MYSQL_PWD only
    /// and both kill switches file flags that do not exist (OFF), unless
    /// `extra` says otherwise; the machine's metrics not judged
    /// (`support::SHARED_NOT_JUDGED`) unless it gives `--thresholds`. Its
    /// output goes outside the run directory.
    fn start(server: &MariaDb, login: &Login, table: &str, out: &Path, extra: &[&str]) -> Capture {
        let logs = tempfile::tempdir().unwrap();
        let flag = format!("file:{}", logs.path().join("no-flag").display());
        let dsn = format!("mysql://{}@127.0.0.1:{}/shop", login.user, server.port);
        let out_s = out.display().to_string();
        let mut v: Vec<&str> = vec![
            "capture",
            "--no-report",
            "--dsn",
            &dsn,
            "--table",
            table,
            "--out",
            &out_s,
            "--global-kill-switch",
            &flag,
            "--connection-kill-switch",
            &flag,
            "--run-id",
            "CANARY-FAULT",
        ];
        v.extend(OPTS);
        let mut i = 0;
        while i < extra.len() {
            match v.iter().position(|a| *a == extra[i]) {
                Some(at) => v[at + 1] = extra[i + 1],
                None => v.extend([extra[i], extra[i + 1]]),
            }
            i += 2;
        }
        let th = logs.path().join("thresholds.toml");
        let th_s = th.display().to_string();
        if !v.contains(&"--thresholds") {
            support::thresholds_file(&th, support::DEFAULT_TEST_BOUNDS);
            v.extend(["--thresholds", &th_s]);
        }
        let stderr = logs.path().join("stderr");
        let child = Command::new(env!("CARGO_BIN_EXE_canary-report"))
            .args(&v)
            .env("MYSQL_PWD", &login.password)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(logs.path().join("stdout")).unwrap())
            // A file, not a pipe nobody reads while it runs.
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Capture {
            child: Some(child),
            out: out.to_path_buf(),
            stderr,
            _logs: logs,
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn running(&mut self) -> bool {
        matches!(self.child.as_mut().unwrap().try_wait(), Ok(None))
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([format!("-{sig}"), self.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} {}", self.pid());
    }

    /// Waits for an event matching `pred` in the run directory, failing the
    /// test (with capture's stderr) if it does not come or capture exits first.
    fn wait_for(&mut self, what: &str, pred: impl Fn(&Event) -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if read_events(&self.out).iter().any(|r| pred(&r.event)) {
                return;
            }
            let exited = !self.running();
            if exited || Instant::now() > deadline {
                panic!(
                    "no {what} in events.jsonl ({}):\n{}",
                    if exited {
                        "capture exited"
                    } else {
                        "timed out"
                    },
                    std::fs::read_to_string(&self.stderr).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn finish(mut self) -> Finished {
        let t0 = Instant::now();
        let mut child = self.child.take().unwrap();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if t0.elapsed() > TIMEOUT {
                let _ = child.kill();
                panic!(
                    "capture still running after {TIMEOUT:?}:\n{}",
                    std::fs::read_to_string(&self.stderr).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Finished {
            code: status.code(),
            stderr: std::fs::read_to_string(&self.stderr).unwrap_or_default(),
            took: t0.elapsed(),
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The lines of events.jsonl that parse (the file is being written).
fn read_events(dir: &Path) -> Vec<EventRecord> {
    std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Every line of events.jsonl, each of which must parse, in time order.
fn events(dir: &Path) -> Vec<EventRecord> {
    let text = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    assert!(text.ends_with('\n'), "events.jsonl ends mid-line");
    let recs: Vec<EventRecord> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("events.jsonl:{}: {e}: {l}", i + 1))
        })
        .collect();
    assert!(recs.windows(2).all(|w| w[0].ts <= w[1].ts), "out of order");
    recs
}

fn metrics_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("metrics/capture.csv")).unwrap_or_default()
}

/// The rows of metrics/capture.csv as `(metric, timestamp)`; every row must be whole.
fn metric_rows(text: &str) -> Vec<(String, String)> {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("timestamp,metric,value"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert!(
                f.len() == 3 && f[2].parse::<f64>().is_ok() && f[0].len() == 24,
                "bad row {l:?}"
            );
            (f[1].to_string(), f[0].to_string())
        })
        .collect()
}

/// What was in the run directory's files at `before` is still there, byte for
/// byte, at the start of them now; and both end on a whole line.
fn nothing_lost(dir: &Path, before: &Snapshot) {
    let metrics = metrics_text(dir);
    assert!(
        metrics.starts_with(&before.metrics),
        "metrics/capture.csv lost rows written before the fault"
    );
    assert!(metrics.ends_with('\n'), "metrics/capture.csv ends mid-row");
    metric_rows(&metrics);
    let ev = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    assert!(
        ev.starts_with(&before.events),
        "events.jsonl lost lines written before the fault"
    );
}

struct Snapshot {
    metrics: String,
    events: String,
    rows: usize,
}

fn snapshot(dir: &Path) -> Snapshot {
    let metrics = metrics_text(dir);
    let rows = metrics.lines().count().saturating_sub(1);
    Snapshot {
        metrics,
        events: std::fs::read_to_string(dir.join("events.jsonl")).unwrap(),
        rows,
    }
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn find(evs: &[EventRecord], pred: impl Fn(&Event) -> bool) -> Option<&Event> {
    evs.iter().map(|r| &r.event).find(|e| pred(e))
}

fn position(evs: &[EventRecord], pred: impl Fn(&Event) -> bool) -> Option<usize> {
    evs.iter().position(|r| pred(&r.event))
}

fn logged(evs: &[EventRecord], text: &str) -> bool {
    find(
        evs,
        |e| matches!(e, Event::Log { message, .. } if message.contains(text)),
    )
    .is_some()
}

fn run_end(evs: &[EventRecord]) -> Option<RunStatus> {
    match evs.last().map(|r| &r.event) {
        Some(Event::RunEnd { status }) => Some(*status),
        _ => None,
    }
}

fn rollback_steps(evs: &[EventRecord]) -> Vec<(u8, StepStatus)> {
    evs.iter()
        .filter_map(|r| match &r.event {
            Event::RollbackStep { step, status, .. } => Some((*step, *status)),
            _ => None,
        })
        .collect()
}

fn phase_end(evs: &[EventRecord], phase: Phase) -> Option<PhaseStatus> {
    evs.iter().find_map(|r| match &r.event {
        Event::PhaseEnd { phase: p, status } if *p == phase => Some(*status),
        _ => None,
    })
}

/// What `canary-report build` (the binary) makes of a run directory.
struct Report {
    decision: String,
    failed: Vec<String>,
    markdown: String,
}

fn report(run: &Path, thresholds: Option<&Path>) -> Report {
    let out = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_canary-report"));
    cmd.arg("build")
        .arg(run)
        .arg("--out")
        .arg(out.path())
        .args(["--format", "json,md", "--lang", "en", "--quiet"]);
    if let Some(t) = thresholds {
        cmd.arg("--thresholds").arg(t);
    }
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "build failed on {}: {}",
        run.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("summary.json")).unwrap()).unwrap();
    Report {
        decision: summary["decision"].as_str().unwrap().to_string(),
        failed: summary["blockers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["rule"].as_str().unwrap().to_string())
            .collect(),
        markdown: std::fs::read_to_string(out.path().join("report.md")).unwrap(),
    }
}

/// Waits until the sampler has written `n` samples since `phase` started.
fn wait_for_samples(out: &Path, phase: Phase, n: usize) {
    wait_until("samples", || {
        let Some(start) = read_events(out)
            .iter()
            .find(|r| is_phase_start(phase)(&r.event))
            .map(|r| r.ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        else {
            return false;
        };
        metric_rows(&metrics_text(out))
            .iter()
            .filter(|(m, ts)| m == "threads_running" && *ts >= start)
            .count()
            >= n
    });
}

/// A clean shutdown of `server`, seen by capture's sampler, then the same
/// server back a moment later.
fn restart_cleanly(server: &mut MariaDb, cap: &mut Capture) {
    let stopped = server.stop(false);
    cap.wait_for("the sampler losing the server", |e| {
        matches!(e, Event::Log { message, .. } if message.contains("lost the connection to the server"))
    });
    server.start_again(stopped);
}

fn is_phase_start(phase: Phase) -> impl Fn(&Event) -> bool {
    move |e| matches!(e, Event::PhaseStart { phase: p } if *p == phase)
}

/// Waits until the ALTER on `shop.<table>` is building the index, then opens a
/// transaction that reads the table: the ALTER builds the whole index and
/// then waits for that metadata lock to commit it. Returns the transaction's
/// connection (COMMIT or drop it to let the ALTER finish) and the ALTER's
/// connection id, once it waits.
fn hold_alter_at_commit(server: &MariaDb, table: &str) -> (mysql::Conn, u64) {
    let mut watch = server.conn();
    let like = format!("ALTER TABLE `shop`.`{table}` ADD INDEX%");
    let alter = |watch: &mut mysql::Conn| -> Option<(u64, String)> {
        watch
            .exec_first(
                "SELECT ID, COALESCE(STATE, '') FROM information_schema.PROCESSLIST WHERE INFO LIKE ?",
                (like.as_str(),),
            )
            .unwrap()
    };
    let deadline = Instant::now() + TIMEOUT;
    let id = loop {
        match alter(&mut watch) {
            Some((id, state)) if state == "altering table" => break id,
            _ => {
                assert!(
                    Instant::now() < deadline,
                    "the ALTER never started building"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    };
    let mut blocker = server.conn();
    blocker.query_drop("START TRANSACTION").unwrap();
    blocker
        .query_drop(format!("SELECT id FROM shop.`{table}` LIMIT 1"))
        .unwrap();
    loop {
        match alter(&mut watch) {
            Some((_, state)) if state == "Waiting for table metadata lock" => break,
            Some(_) => std::thread::sleep(Duration::from_millis(20)),
            None => panic!("the ALTER finished before the test could hold it: a bigger table?"),
        }
        assert!(Instant::now() < deadline, "the ALTER never waited");
    }
    (blocker, id)
}

/// Bounds under which a clean loopback canary passes every rule of the report
/// while other tests load the machine: host metrics recorded but not judged
/// (as in tests/capture.rs's clean case), and probe latency judged only
/// against a thousandfold increase, as a few sub-millisecond baseline probes
/// against one probe that waited for a busy CPU swing by +2000 %. A probe
/// that took a second still fails it.
fn loaded_loopback_thresholds(dir: &Path) -> PathBuf {
    support::thresholds_file(
        &dir.join("loopback.toml"),
        "[rules]\nmax_post_latency_degradation_pct = 100000\n\
         [metrics.query_latency_p50_ms]\nwarning = 50000\ncritical = 100000\n\
         [metrics.query_latency_p99_ms]\nwarning = 50000\ncritical = 100000\n",
    )
}

// ---- 1. the server restarted mid-baseline -------------------------------------

#[test]
fn server_restarted_mid_baseline_stops_before_the_ddl() {
    needs_mariadb!("server_restarted_mid_baseline_stops_before_the_ddl");
    let t0 = Instant::now();
    let mut server = dedicated();
    server.create_table("orders_restart", 20_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let mut cap = Capture::start(
        &server,
        &root(&server),
        "orders_restart",
        &out,
        &["--baseline", "60s"],
    );
    cap.wait_for("baseline", is_phase_start(Phase::Baseline));
    wait_for_samples(&out, Phase::Baseline, 3);
    let before = snapshot(&out);

    // A clean shutdown, then the same server back a moment later.
    restart_cleanly(&mut server, &mut cap);
    let done = cap.finish();

    // Nothing changed: exit 6, no DDL, the index absent.
    assert_eq!(done.code, Some(6), "{}", done.stderr);
    assert!(!server.index_exists("orders_restart", "idx_canary"));
    let evs = events(&out);
    assert!(find(&evs, |e| matches!(e, Event::DdlStart { .. })).is_none());
    assert!(logged(&evs, "reconnected to the server"));
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::Incident { severity: Severity::Critical, description, resolution: Some(r), .. }
                if description.contains("the server restarted") && r.contains("nothing was changed")
        ))
        .is_some(),
        "{evs:#?}"
    );
    assert_eq!(phase_end(&evs, Phase::Baseline), Some(PhaseStatus::Aborted));
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted));
    assert!(
        logged(&evs, "canary aborted before the DDL"),
        "the log says why it stopped"
    );
    nothing_lost(&out, &before);
    let rows = metric_rows(&metrics_text(&out));
    assert!(rows.len() > before.rows, "the restarted server was sampled");

    let r = report(&out, None);
    assert_eq!(r.decision, "STOP_AND_FIX");
    assert!(
        r.failed.contains(&"canary_completed".into()),
        "{:?}",
        r.failed
    );
    assert!(r.markdown.contains("the server restarted"));
    eprintln!(
        "server restarted mid-baseline: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

// ---- 2. the server killed mid-ALTER, then restarted ------------------------------

#[test]
fn server_killed_mid_alter_is_verified_rolled_back_once_it_is_back() {
    needs_mariadb!("server_killed_mid_alter_is_verified_rolled_back_once_it_is_back");
    let t0 = Instant::now();
    let mut server = dedicated();
    server.create_wide_table("orders_crash_alter", 200_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let mut cap = Capture::start(
        &server,
        &root(&server),
        "orders_crash_alter",
        &out,
        &["--columns", "w,pad", "--lock-wait-timeout", "60s"],
    );
    cap.wait_for("the ALTER", |e| matches!(e, Event::DdlStart { .. }));
    // The index is fully built but not committed when the server dies.
    let (blocker, _) = hold_alter_at_commit(&server, "orders_crash_alter");
    let before = snapshot(&out);
    let stopped = server.stop(true);
    drop(blocker);
    cap.wait_for("capture waiting for the server", |e| {
        matches!(e, Event::Log { message, .. } if message.contains("the server does not answer"))
    });
    server.start_again(stopped);
    let done = cap.finish();

    // Exit 4: rolled back (InnoDB dropped the interrupted index), verified.
    assert_eq!(done.code, Some(4), "{}", done.stderr);
    assert!(!server.index_exists("orders_crash_alter", "idx_canary"));
    let n: Option<u64> = server
        .conn()
        .query_first("SELECT COUNT(*) FROM shop.orders_crash_alter")
        .unwrap();
    assert_eq!(n, Some(200_000), "the table survived the crash");
    let evs = events(&out);
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::DdlEnd { .. })),
        Some(Event::DdlEnd {
            outcome: DdlOutcome::Failed,
            error: Some(_),
            ..
        })
    ));
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::Incident { severity: Severity::Critical, description, .. }
                if description.contains("lost the server") && description.contains("during the ALTER")
        ))
        .is_some(),
        "{evs:#?}"
    );
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::RollbackDecision { .. })),
        Some(Event::RollbackDecision {
            trigger: RollbackTrigger::Automatic,
            ..
        })
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
        ],
        "the index found absent once the server is back"
    );
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::RollbackEnd { success: true, .. }
        ))
        .is_some()
    );
    assert!(
        find(&evs, |e| matches!(e, Event::PostRollbackCheck { check, passed: true, .. } if check == "Index removed"))
            .is_some()
    );
    assert_eq!(phase_end(&evs, Phase::Execute), Some(PhaseStatus::Aborted));
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted));
    nothing_lost(&out, &before);

    let r = report(&out, None);
    assert_eq!(r.decision, "STOP_AND_FIX");
    assert!(r.markdown.contains("the server went away during the ALTER"));
    for rule in ["canary_completed", "no_rollback"] {
        assert!(r.failed.contains(&rule.into()), "{rule}: {:?}", r.failed);
    }
    eprintln!(
        "server killed mid-ALTER and restarted: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

// ---- 2b. the server restarted mid-monitoring ------------------------------------

#[test]
fn server_restarted_mid_monitoring_rolls_back_once_it_is_back() {
    needs_mariadb!("server_restarted_mid_monitoring_rolls_back_once_it_is_back");
    let t0 = Instant::now();
    let mut server = dedicated();
    server.create_table("orders_restart_mon", 20_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let mut cap = Capture::start(
        &server,
        &root(&server),
        "orders_restart_mon",
        &out,
        &["--monitoring", "60s", "--checkpoints", "60s"],
    );
    cap.wait_for("monitoring", is_phase_start(Phase::Monitoring));
    wait_for_samples(&out, Phase::Monitoring, 3);
    assert!(server.index_exists("orders_restart_mon", "idx_canary"));
    let before = snapshot(&out);

    // A clean shutdown, then the same server back a moment later: the index
    // the canary added survives it.
    restart_cleanly(&mut server, &mut cap);
    let done = cap.finish();

    // Exit 4: rolled back once the server was back, the index verified absent.
    assert_eq!(done.code, Some(4), "{}", done.stderr);
    assert!(!server.index_exists("orders_restart_mon", "idx_canary"));
    let evs = events(&out);
    assert!(logged(&evs, "reconnected to the server"));
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::Incident { severity: Severity::Critical, description, .. }
                if description.starts_with("lost the server: the server restarted (up for ")
        ))
        .is_some(),
        "{evs:#?}"
    );
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::RollbackDecision { .. })),
        Some(Event::RollbackDecision { trigger: RollbackTrigger::Automatic, reason, .. })
            if reason.contains("the server restarted")
    ));
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::RollbackStart { .. })),
        Some(Event::RollbackStart { statement: Some(s) }) if s.contains("DROP INDEX `idx_canary`")
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
        ],
        "the index found present after the restart, dropped, verified gone"
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
    assert_eq!(
        phase_end(&evs, Phase::Monitoring),
        Some(PhaseStatus::Aborted)
    );
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted));
    nothing_lost(&out, &before);
    let rows = metric_rows(&metrics_text(&out));
    assert!(rows.len() > before.rows, "the restarted server was sampled");

    let r = report(&out, None);
    assert_eq!(r.decision, "STOP_AND_FIX");
    for rule in ["canary_completed", "no_rollback"] {
        assert!(r.failed.contains(&rule.into()), "{rule}: {:?}", r.failed);
    }
    assert!(r.markdown.contains("the server restarted"));
    eprintln!(
        "server restarted mid-monitoring: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

// ---- 2c. a crash (kill -9) mid-monitoring, the server back later ------------------

/// Crashes the server (SIGKILL) once monitoring has samples, keeps it down
/// for `down_for`, starts it again, and lets capture finish; `extra` adds to
/// the otherwise default reconnect settings.
fn crash_mid_monitoring(
    table: &str,
    down_for: Duration,
    extra: &[&str],
) -> (Finished, PathBuf, tempfile::TempDir) {
    let mut server = dedicated();
    server.create_table(table, 20_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let mut args = vec!["--monitoring", "120s", "--checkpoints", "120s"];
    args.extend(extra);
    let mut cap = Capture::start(&server, &root(&server), table, &out, &args);
    cap.wait_for("monitoring", is_phase_start(Phase::Monitoring));
    wait_for_samples(&out, Phase::Monitoring, 3);
    assert!(server.index_exists(table, "idx_canary"));
    let stopped = server.stop(true);
    std::thread::sleep(down_for);
    server.start_again(stopped);
    let done = cap.finish();
    assert_eq!(
        server.index_exists(table, "idx_canary"),
        done.code != Some(4),
        "exit {:?}: {}",
        done.code,
        done.stderr
    );
    (done, out, tmp)
}

#[test]
fn a_crash_is_waited_for_with_default_settings_then_rolled_back() {
    needs_mariadb!("a_crash_is_waited_for_with_default_settings_then_rolled_back");
    for (table, down_for) in [("orders_crash_10s", 10), ("orders_crash_60s", 60)] {
        let t0 = Instant::now();
        let (done, out, _tmp) = crash_mid_monitoring(table, Duration::from_secs(down_for), &[]);
        // Exit 4: rolled back once the server was back, the index verified absent.
        assert_eq!(done.code, Some(4), "down {down_for} s: {}", done.stderr);
        let evs = events(&out);
        assert!(logged(&evs, "reconnecting for up to 10m"), "{evs:#?}");
        assert!(logged(&evs, "reconnected to the server"), "{evs:#?}");
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
            ],
            "down {down_for} s"
        );
        let r = report(&out, None);
        assert!(
            r.markdown
                .contains("| **Rollback Performed** | 🔄 Yes: the index verified absent at "),
            "{}",
            r.markdown
        );
        eprintln!(
            "crash, server back after {down_for} s: capture done in {:.1} s",
            t0.elapsed().as_secs_f64()
        );
    }
}

#[test]
fn a_server_back_after_the_deadline_is_exit_5_and_the_report_says_the_index_is_there() {
    needs_mariadb!(
        "a_server_back_after_the_deadline_is_exit_5_and_the_report_says_the_index_is_there"
    );
    let (done, out, _tmp) = crash_mid_monitoring(
        "orders_crash_late",
        Duration::from_secs(10),
        &["--reconnect-for", "3s"],
    );
    assert_eq!(done.code, Some(5), "{}", done.stderr);
    let evs = events(&out);
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::Incident { description, .. } if description.contains("reconnect attempts over 3s")
        ))
        .is_some(),
        "the loss says how long it waited: {evs:#?}"
    );
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::RollbackEnd { success: false, .. }
        ))
        .is_some(),
        "{evs:#?}"
    );
    let r = report(&out, None);
    assert!(
        r.markdown.contains(
            "| **Rollback Performed** | ⚠️ No (attempted, NOT done): the index is still there \
             (last verified present at "
        ),
        "{}",
        r.markdown
    );
}

// ---- 3. capture's own sessions killed during monitoring --------------------------

/// Capture's sessions on the server, by its user (the test logs in as root).
fn sessions_of(server: &MariaDb, user: &str) -> Vec<u64> {
    server
        .conn()
        .exec(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID() ORDER BY ID",
            (user,),
        )
        .unwrap()
}

#[test]
fn killed_sampler_and_probe_sessions_reconnect_and_go_on() {
    needs_mariadb!("killed_sampler_and_probe_sessions_reconnect_and_go_on");
    let t0 = Instant::now();
    let guard = dedicated();
    let server = &*guard;
    server.create_table("orders_sesskill", 20_000);
    let login = own_user(server, "canary_sesskill");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let th = loaded_loopback_thresholds(tmp.path());
    let th_s = th.display().to_string();
    let mut cap = Capture::start(
        server,
        &login,
        "orders_sesskill",
        &out,
        // Monitoring long enough that both new sessions are seen before it
        // ends, however slowly a loaded machine reconnects (8 s was not).
        &[
            "--monitoring",
            "30s",
            "--checkpoints",
            "15s,30s",
            "--thresholds",
            &th_s,
        ],
    );
    cap.wait_for("monitoring", is_phase_start(Phase::Monitoring));
    wait_for_samples(&out, Phase::Monitoring, 2);
    // In monitoring capture holds two sessions: the sampler's and the probe's
    // (the ALTER's and verification's are closed).
    let mut killed = Vec::new();
    wait_until("the sampler's and probe's sessions", || {
        killed = sessions_of(server, &login.user);
        killed.len() == 2
    });
    let before = snapshot(&out);
    let mut c = server.conn();
    for id in &killed {
        c.query_drop(format!("KILL CONNECTION {id}")).unwrap();
    }
    cap.wait_for("the sampler reconnecting", |e| {
        matches!(e, Event::Log { message, .. } if message.starts_with("reconnected to the server"))
    });
    cap.wait_for("the probe reconnecting", |e| {
        matches!(e, Event::Log { message, .. } if message == "probe: reconnected to the server")
    });
    // Two new sessions, once the killed ones have left the process list (a
    // killed session lingers there until its thread has noticed).
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let now = sessions_of(server, &login.user);
        if now.len() == 2 && now.iter().all(|id| !killed.contains(id)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "capture's sessions {now:?}, killed {killed:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let rows_then = metric_rows(&metrics_text(&out)).len();
    let done = cap.finish();

    // It went on to the end: exit 0, index kept, no incident, no rollback.
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(server.index_exists("orders_sesskill", "idx_canary"));
    let evs = events(&out);
    assert!(
        find(&evs, |e| matches!(e, Event::Log { message, .. } if message.starts_with("lost the connection to the server"))).is_some(),
        "the sampler's loss is logged"
    );
    assert!(logged(&evs, "probe: lost the connection to the server"));
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::Incident { .. } | Event::RollbackDecision { .. }
        ))
        .is_none()
    );
    assert_eq!(phase_end(&evs, Phase::Monitoring), Some(PhaseStatus::Done));
    assert_eq!(run_end(&evs), Some(RunStatus::Completed));
    let checks: Vec<&str> = evs
        .iter()
        .filter_map(|r| match &r.event {
            Event::KillSwitchCheck {
                checkpoint,
                global: SwitchState::Off,
                connection: SwitchState::Off,
                ..
            } => Some(checkpoint.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        checks,
        [
            "Pre-execution",
            "Post-ADD INDEX",
            "During Monitoring (T+15s)",
            "During Monitoring (T+30s)",
            "Final Check"
        ]
    );
    nothing_lost(&out, &before);
    let rows = metric_rows(&metrics_text(&out));
    assert!(rows.len() > rows_then, "sampling went on after the kill");
    let last_before = before.metrics.lines().last().unwrap()[..24].to_string();
    for m in ["threads_running", "query_latency_ms"] {
        let after = rows
            .iter()
            .filter(|(n, ts)| n == m && *ts > last_before)
            .count();
        assert!(after >= 4, "{after} {m} rows after the kill");
    }

    // No probe was timed across the reconnect, and the decision is the clean run's.
    let slowest = metrics_text(&out)
        .lines()
        .filter(|l| l.contains(",query_latency_ms,"))
        .filter_map(|l| l.rsplit(',').next()?.parse::<f64>().ok())
        .fold(0.0, f64::max);
    assert!(slowest < 1000.0, "a probe took {slowest} ms");
    let r = report(&out, Some(&th));
    assert_eq!(r.decision, "APPROVED_FOR_LIMITED_PROD", "{:?}", r.failed);
    eprintln!(
        "sampler and probe sessions killed: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

// ---- 4. the ALTER's session killed -------------------------------------------------

#[test]
fn killing_the_alters_session_is_a_failed_ddl_that_changed_nothing() {
    needs_mariadb!("killing_the_alters_session_is_a_failed_ddl_that_changed_nothing");
    let t0 = Instant::now();
    let server = mariadb::shared();
    server.create_wide_table("orders_ddlkill", 200_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let mut cap = Capture::start(
        server,
        &root(server),
        "orders_ddlkill",
        &out,
        &["--columns", "w,pad", "--lock-wait-timeout", "60s"],
    );
    cap.wait_for("the ALTER", |e| matches!(e, Event::DdlStart { .. }));
    let (mut blocker, alter) = hold_alter_at_commit(server, "orders_ddlkill");
    let before = snapshot(&out);
    server
        .conn()
        .query_drop(format!("KILL CONNECTION {alter}"))
        .unwrap();
    blocker.query_drop("COMMIT").unwrap();
    let done = cap.finish();

    // The ALTER failed by itself; the index is verified absent: exit 6.
    assert_eq!(done.code, Some(6), "{}", done.stderr);
    assert!(!server.index_exists("orders_ddlkill", "idx_canary"));
    let evs = events(&out);
    assert!(matches!(
        find(&evs, |e| matches!(e, Event::DdlEnd { .. })),
        Some(Event::DdlEnd {
            outcome: DdlOutcome::Failed,
            error: Some(_),
            ..
        })
    ));
    assert!(
        find(&evs, |e| matches!(
            e,
            Event::Incident { description, status: IncidentStatus::Resolved, .. }
                if description.contains("the index is absent")
        ))
        .is_some(),
        "{evs:#?}"
    );
    assert_eq!(phase_end(&evs, Phase::Execute), Some(PhaseStatus::Failed));
    assert!(find(&evs, |e| matches!(e, Event::RollbackDecision { .. })).is_none());
    assert!(
        find(&evs, is_phase_start(Phase::Monitoring)).is_none(),
        "no monitoring without the index"
    );
    assert_eq!(phase_end(&evs, Phase::After), Some(PhaseStatus::Done));
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted));
    nothing_lost(&out, &before);

    let r = report(&out, None);
    assert_eq!(r.decision, "STOP_AND_FIX");
    assert!(r.markdown.contains("ADD INDEX failed; the index is absent"));
    assert!(
        r.failed.contains(&"canary_completed".into()),
        "{:?}",
        r.failed
    );
    eprintln!(
        "the ALTER's session killed: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

// ---- 5. the run directory's disk full -----------------------------------------------

/// A small tmpfs, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "mount -t tmpfs (the test needs root): {}",
            String::from_utf8_lossy(&o.stderr)
        );
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the file system is full.
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.path().join("filler")).unwrap();
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

#[test]
fn a_full_disk_rolls_back_and_keeps_what_was_written() {
    needs_mariadb!("a_full_disk_rolls_back_and_keeps_what_was_written");
    if support::skip_for_want_of(
        "a_full_disk_rolls_back_and_keeps_what_was_written",
        support::missing_root(),
    ) {
        return;
    }
    let t0 = Instant::now();
    let server = mariadb::shared();
    server.create_table("orders_diskfull", 20_000);
    let disk = Tmpfs::mount("2m");
    let out = disk.path().join("run");
    let mut cap = Capture::start(
        server,
        &root(server),
        "orders_diskfull",
        &out,
        &["--monitoring", "60s", "--checkpoints", "60s"],
    );
    cap.wait_for("monitoring", is_phase_start(Phase::Monitoring));
    wait_for_samples(&out, Phase::Monitoring, 2);
    let before = snapshot(&out);
    disk.fill();
    let done = cap.finish();

    // It stops at once, says which file it could not write, and rolls back.
    assert!(
        done.took < Duration::from_secs(30),
        "stopped {:?} after the disk filled",
        done.took
    );
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    let named = ["metrics/capture.csv", "events.jsonl", "manifest.json"]
        .iter()
        .any(|f| done.stderr.contains(&out.join(f).display().to_string()));
    assert!(named, "no file named: {}", done.stderr);
    assert!(
        done.stderr.contains("No space left on device"),
        "{}",
        done.stderr
    );
    assert!(
        done.stderr
            .contains("rolled back: the index is verified absent"),
        "{}",
        done.stderr
    );
    assert!(!server.index_exists("orders_diskfull", "idx_canary"));

    // Everything written before is there, whole; the report builds on it.
    nothing_lost(&out, &before);
    let evs = events(&out);
    // Stderr claims no line is in events.jsonl that is not: a rollback step
    // the full disk kept out of it says it could not be recorded.
    let written = rollback_steps(&evs);
    for n in 1..=6u8 {
        let line = done
            .stderr
            .lines()
            .find(|l| l.contains(&format!(" rollback step {n} ")))
            .unwrap_or_else(|| panic!("no rollback step {n} on stderr:\n{}", done.stderr));
        if written.iter().any(|(s, _)| *s == n) {
            assert!(!line.contains("[could not be recorded"), "{line}");
        } else {
            assert!(
                line.contains("could not be recorded in events.jsonl"),
                "step {n} is not in events.jsonl, yet stderr says: {line}"
            );
        }
    }
    let r = report(&out, None);
    assert_eq!(r.decision, "STOP_AND_FIX");
    assert!(
        r.failed.contains(&"canary_completed".into()),
        "{:?}",
        r.failed
    );
    eprintln!("disk full: {:.1} s", t0.elapsed().as_secs_f64());
}

// ---- 6. SIGINT and SIGTERM in every phase but monitoring -----------------------------

struct SignalCase {
    phase: Phase,
    signal: &'static str,
    exit: i32,
}

#[test]
fn signals_in_each_phase_stop_safely() {
    needs_mariadb!("signals_in_each_phase_stop_safely");
    let t0 = Instant::now();
    let server = mariadb::shared();
    let cases = [
        SignalCase {
            phase: Phase::Precheck,
            signal: "INT",
            exit: 6,
        },
        SignalCase {
            phase: Phase::Baseline,
            signal: "TERM",
            exit: 6,
        },
        SignalCase {
            phase: Phase::Execute,
            signal: "INT",
            exit: 4,
        },
        SignalCase {
            phase: Phase::Verification,
            signal: "TERM",
            exit: 4,
        },
        SignalCase {
            phase: Phase::After,
            signal: "INT",
            exit: 4,
        },
    ];
    std::thread::scope(|s| {
        for case in &cases {
            s.spawn(move || signal_case(server, case));
        }
    });
    eprintln!("signals in each phase: {:.1} s", t0.elapsed().as_secs_f64());
}

fn signal_case(server: &MariaDb, case: &SignalCase) {
    let name = format!("{:?}", case.phase).to_lowercase();
    let table = format!("orders_sig_{name}");
    server.create_table(&table, 5_000);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    // A kill switch answering slowly (still OFF) keeps capture in the
    // pre-check's and the verification's switch reads long enough for the
    // signal to land there.
    let ks = KillSwitchServer::start();
    ks.set_mode("/slow", Mode::Slow(Duration::from_millis(800)));
    let slow = ks.url("/slow");
    let mut extra: Vec<&str> = Vec::new();
    if matches!(case.phase, Phase::Precheck | Phase::Verification) {
        extra.extend([
            "--global-kill-switch",
            slow.as_str(),
            "--kill-switch-timeout",
            "3s",
        ]);
    }
    match case.phase {
        Phase::Baseline => extra.extend(["--baseline", "60s"]),
        // Long enough for samples to pile up behind slow switch reads.
        Phase::Verification => extra.extend(["--baseline", "3s"]),
        Phase::Execute => extra.extend(["--lock-wait-timeout", "60s"]),
        Phase::After => extra.extend(["--after", "60s"]),
        _ => {}
    }
    // During the ALTER: a transaction holding the table's metadata lock keeps
    // it waiting.
    let mut blocker = server.conn();
    if case.phase == Phase::Execute {
        blocker.query_drop("START TRANSACTION").unwrap();
        blocker
            .query_drop(format!("SELECT id FROM shop.`{table}` LIMIT 1"))
            .unwrap();
    }
    let mut cap = Capture::start(server, &root(server), &table, &out, &extra);
    cap.wait_for(&format!("{name} start"), is_phase_start(case.phase));
    let before = snapshot(&out);
    cap.signal(case.signal);
    if case.phase == Phase::After {
        // The first rolls back; a second then ends the after window.
        cap.wait_for("the rollback", |e| matches!(e, Event::RollbackEnd { .. }));
        cap.signal(case.signal);
    }
    let done = cap.finish();
    blocker.query_drop("COMMIT").unwrap();

    let ctx = format!("{name} (SIG{})", case.signal);
    assert_eq!(done.code, Some(case.exit), "{ctx}: {}", done.stderr);
    nothing_lost(&out, &before);
    assert!(!server.index_exists(&table, "idx_canary"), "{ctx}");
    let evs = events(&out);
    assert_eq!(run_end(&evs), Some(RunStatus::Aborted), "{ctx}");
    assert!(
        find(&evs, |e| matches!(e, Event::Incident { .. })).is_none(),
        "{ctx}: an operator's stop is no incident"
    );
    let ddl = find(&evs, |e| matches!(e, Event::DdlStart { .. }));
    if case.exit == 6 {
        assert!(ddl.is_none(), "{ctx}: no DDL may run");
        assert!(logged(&evs, "nothing was changed"), "{ctx}");
        assert!(find(&evs, |e| matches!(e, Event::RollbackDecision { .. })).is_none());
    } else {
        assert!(
            matches!(
                find(&evs, |e| matches!(e, Event::RollbackDecision { .. })),
                Some(Event::RollbackDecision { trigger: RollbackTrigger::Manual, decided_by: Some(by), .. })
                    if by == "operator (Ctrl-C or SIGTERM)"
            ),
            "{ctx}"
        );
        assert!(
            find(&evs, |e| matches!(
                e,
                Event::RollbackEnd { success: true, .. }
            ))
            .is_some(),
            "{ctx}"
        );
        let r = report(&out, None);
        assert!(
            r.failed.contains(&"no_rollback".into()),
            "{ctx}: {:?}",
            r.failed
        );
        assert!(r.markdown.contains("operator stopped the canary"), "{ctx}");
        let start = find(&evs, |e| matches!(e, Event::RollbackStart { .. }));
        let Some(Event::RollbackStart {
            statement: Some(statement),
        }) = start
        else {
            panic!("{ctx}: no rollback_start")
        };
        if case.phase == Phase::Execute {
            // The ALTER killed before it finished.
            assert!(statement.starts_with("KILL QUERY "), "{ctx}: {statement}");
            assert!(matches!(
                find(&evs, |e| matches!(e, Event::DdlEnd { .. })),
                Some(Event::DdlEnd {
                    outcome: DdlOutcome::Killed,
                    ..
                })
            ));
        } else {
            // The index built, verified, then dropped.
            assert!(statement.contains("DROP INDEX"), "{ctx}: {statement}");
            let verified = position(&evs, |e| {
                matches!(
                    e,
                    Event::Verification {
                        index_exists: true,
                        ..
                    }
                )
            });
            let decided = position(&evs, |e| matches!(e, Event::RollbackDecision { .. }));
            assert!(verified < decided, "{ctx}");
        }
        if case.phase == Phase::Verification {
            // Kill switch reads slower than the interval do not delay the
            // rest: the ALTER's end is acted on at the next read.
            let at = |pred: &dyn Fn(&Event) -> bool| {
                evs.iter().find(|r| pred(&r.event)).map(|r| r.ts).unwrap()
            };
            let started = at(&|e| matches!(e, Event::DdlStart { .. }));
            let acted = at(&|e| {
                matches!(
                    e,
                    Event::PhaseEnd {
                        phase: Phase::Execute,
                        ..
                    }
                )
            });
            let Some(Event::DdlEnd {
                duration_s: Some(took),
                ..
            }) = find(&evs, |e| matches!(e, Event::DdlEnd { .. }))
            else {
                panic!("{ctx}: no ddl_end")
            };
            let seen_after = (acted - started).as_seconds_f64() - took;
            assert!(
                seen_after < 5.0,
                "{ctx}: the ALTER's end seen {seen_after:.1} s after it"
            );
        }
    }
    if case.phase == Phase::After {
        assert!(
            done.took < Duration::from_secs(30),
            "{ctx}: the second signal ends the 60 s after window"
        );
        assert_eq!(phase_end(&evs, Phase::After), Some(PhaseStatus::Aborted));
        assert!(logged(&evs, "after the rollback: ending the run now"));
    }
    let r = report(&out, None);
    assert_eq!(r.decision, "STOP_AND_FIX", "{ctx}");
    assert!(
        r.failed.contains(&"canary_completed".into()),
        "{ctx}: {:?}",
        r.failed
    );
}

// ---- 7. the password in the process title --------------------------------------------

#[test]
fn the_password_is_not_in_the_process_title() {
    needs_mariadb!("the_password_is_not_in_the_process_title");
    let server = mariadb::shared();
    server.create_table("orders_title", 5_000);
    let login = own_user(server, "canary_title");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let mut cap = Capture::start(server, &login, "orders_title", &out, &[]);
    let pid = cap.pid();
    let mut reads = 0;
    let mut threads = std::collections::BTreeSet::new();
    while cap.running() {
        let mut texts = Vec::new();
        for f in ["cmdline", "comm"] {
            if let Ok(b) = std::fs::read(format!("/proc/{pid}/{f}")) {
                texts.push(String::from_utf8_lossy(&b).into_owned());
            }
        }
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for t in tasks.flatten() {
                if let Ok(b) = std::fs::read(t.path().join("comm")) {
                    let name = String::from_utf8_lossy(&b).trim().to_string();
                    texts.push(name.clone());
                    threads.insert(name);
                }
            }
        }
        for t in &texts {
            assert!(!t.contains(&login.password), "the password is in {t:?}");
        }
        reads += usize::from(!texts.is_empty());
        std::thread::sleep(Duration::from_millis(25));
    }
    let done = cap.finish();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(reads >= 20, "{reads} reads of /proc");
    // The worker threads were up while it was read.
    for t in ["capture-sampler", "capture-probe"] {
        assert!(threads.contains(t), "{t} not seen: {threads:?}");
    }
}
