//! The executor flow: phases and the main loop. The pre-check, the
//! verification and the rollback are in the submodules.

mod precheck;
mod rollback;
mod verify;

use super::args::{Config, LatencySource};
use super::breach::{Breach, Detector, Watched, fmt_num};
use super::db::{self, Flavour, ServerInfo};
use super::display::Sink;
use super::ident::Ident;
use super::rundir::{Recorder, now};
use super::switch::{Observation, Reading, Which};
use super::workers::{self, DdlResult, Msg, ProbeSpec, ReplicaMsg, SampleMsg, SamplerSpec, Shared};
use super::{CaptureOutcome, CaptureStatus, ctrl_c_presses};
use crate::judge::bounds::{Status, TumblingQuantiles, representative_of};
use crate::model::{
    ActualScope, DdlOutcome, Event, HumanInput, IncidentStatus, Manifest, MetricId, Phase,
    PhaseStatus, Plan, PlannedPhase, PlannedScope, RawLatency, RollbackTrigger, RunStatus, Scope,
    Severity, StepStatus, SwitchState, Target,
};
use crate::model::{Sample, Window};
use anyhow::Result;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

const DECIDED_BY: &str = "canary-report capture";
/// How long a first Ctrl-C waits for the second that confirms the rollback.
const CTRL_C_CONFIRM: Duration = Duration::from_secs(10);
/// How long to wait for a killed ALTER to stop before killing its connection.
const KILL_WAIT: Duration = Duration::from_secs(60);

/// Why the main loop stopped waiting.
#[derive(Debug)]
enum Stop {
    Switch {
        global: Reading,
        connection: Reading,
    },
    Breach(Breach),
    /// A window's representative value beyond a critical bound, judged when
    /// the window ended (the DDL, or the post window): one sentence each.
    Window(Vec<String>),
    ServerLost(String),
    /// The replica (--replica) could not be read again.
    ReplicaLost(String),
    Operator,
    DdlDone(DdlResult),
    /// At the end of the baseline, bounds it already broke: one sentence each.
    CriticalBaseline(Vec<String>),
}

impl Stop {
    fn reason(&self) -> String {
        match self {
            Stop::Switch { global, connection } => {
                let one = |name: &str, r: &Reading| match r.state {
                    SwitchState::Off => None,
                    SwitchState::On => Some(format!("{name} kill switch ON")),
                    SwitchState::Unknown => Some(format!(
                        "{name} kill switch unreadable ({}), treated as ON",
                        r.error.as_deref().unwrap_or("no answer")
                    )),
                };
                [one("global", global), one("connection", connection)]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("; ")
            }
            Stop::Breach(b) => format!("critical breach: {}", b.describe()),
            Stop::Window(found) => format!("critical breach: {}", found.join("; ")),
            Stop::ServerLost(e) => format!("lost the server: {e}"),
            Stop::ReplicaLost(e) => {
                format!("{e}; replication_lag_s is no longer known, treated as a critical breach")
            }
            Stop::Operator => "operator stopped the canary (Ctrl-C or SIGTERM)".into(),
            Stop::DdlDone(_) => "DDL finished".into(),
            Stop::CriticalBaseline(found) => found.join("; "),
        }
    }
}

/// The latest values, for the status line.
#[derive(Default)]
struct Latest {
    threads_running: Option<f64>,
    probe_ms: Option<f64>,
    lag_s: Option<f64>,
    mdl: Option<u32>,
    ddl_pct: Option<f64>,
    switches: Option<(SwitchState, SwitchState)>,
}

struct Runner {
    cfg: Arc<Config>,
    rec: Recorder,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    shared: Arc<Shared>,
    info: Option<ServerInfo>,
    columns: Vec<db::ColumnInfo>,
    probe: Option<ProbeSpec>,
    histogram: Option<db::Histogram>,
    /// The server is itself a replica: the sampler reads its lag.
    replica: bool,
    /// --replica passed the pre-check: its watcher reads the lag (its flavour).
    replica_flavour: Option<Flavour>,
    detector: Detector,

    phase: Option<(Phase, Instant)>,
    phase_deadline: Option<Instant>,
    /// Breaches act only while the index may exist (from the DDL's start).
    armed: bool,
    ddl_started: bool,
    ddl_running: bool,
    ddl_conn: u32,
    /// A connection opened when the ALTER starts, for its KILL QUERY: a
    /// rollback then need not connect first.
    kill_conn: Option<mysql::Conn>,
    index_present: Option<bool>,
    rolled_back: bool,
    rollback_ok: Option<bool>,
    stopped_early: Option<String>,
    server_lost: bool,

    /// The probe's latencies by tumbling window, as `build` reads the raw
    /// `query_latency_ms` samples: each closed window's P50 and P99 is judged.
    probe_windows: TumblingQuantiles<2>,
    /// Query latency is judged from the probe (no server histogram, whose
    /// series would win in `build`).
    judge_probes: bool,
    /// Every judged sample of the run, by metric, and the probe's raw
    /// latencies: a window's representative value is judged from them when
    /// the window ends.
    recorded: HashMap<MetricId, Vec<Sample>>,
    probe_samples: Vec<Sample>,
    ddl_start_t: Option<f64>,
    ddl_end_t: Option<f64>,
    baseline_probes: Vec<f64>,
    baseline_values: HashMap<MetricId, Vec<f64>>,
    /// Critical breaches confirmed in the baseline, the first of each.
    baseline_breaches: Vec<Breach>,
    after_probes: Vec<f64>,
    probe_counts: HashMap<Phase, (u64, u64)>,
    alerts_after_rollback: usize,
    rollback_at: Option<Instant>,

    /// The latest reading of each kill switch (global, connection).
    switch_now: [Option<Reading>; 2],
    switch_alarm: bool,
    ctrl_c_seen: usize,
    ctrl_c_armed: Option<Instant>,
    replication_stopped: bool,
    last_progress_log: Option<(Instant, f64)>,
    latest: Latest,
}

pub fn run(cfg: Config, sink: Sink) -> Result<CaptureOutcome> {
    let cfg = Arc::new(cfg);
    let manifest = initial_manifest(&cfg);
    let rec = if cfg.dry_run {
        Recorder::discard(manifest, cfg.quiet, sink)
    } else {
        Recorder::create(&cfg.out, manifest, cfg.quiet, sink)?
    };
    let (tx, rx) = channel();
    let mut r = Runner {
        detector: Detector::new(cfg.thresholds.clone(), None, cfg.max_mdl_waiters),
        probe_windows: TumblingQuantiles::new(cfg.thresholds.rolling_window_s, [0.50, 0.99]),
        cfg,
        rec,
        tx,
        rx,
        shared: Arc::new(Shared::default()),
        info: None,
        columns: Vec::new(),
        probe: None,
        histogram: None,
        replica: false,
        replica_flavour: None,
        phase: None,
        phase_deadline: None,
        armed: false,
        ddl_started: false,
        ddl_running: false,
        ddl_conn: 0,
        kill_conn: None,
        index_present: None,
        rolled_back: false,
        rollback_ok: None,
        stopped_early: None,
        server_lost: false,
        judge_probes: true,
        recorded: HashMap::new(),
        probe_samples: Vec::new(),
        ddl_start_t: None,
        ddl_end_t: None,
        baseline_probes: Vec::new(),
        baseline_values: HashMap::new(),
        baseline_breaches: Vec::new(),
        after_probes: Vec::new(),
        probe_counts: HashMap::new(),
        alerts_after_rollback: 0,
        rollback_at: None,
        switch_now: [None, None],
        switch_alarm: false,
        ctrl_c_seen: ctrl_c_presses(),
        ctrl_c_armed: None,
        replication_stopped: false,
        last_progress_log: None,
        latest: Latest::default(),
    };
    let result = r.run_phases();
    r.shared.stop.store(true, Ordering::SeqCst);
    r.rec.display.finish();
    match result {
        Ok(dry_run) => Ok(r.outcome(dry_run)),
        Err(e) => {
            // The run directory could not be written: still leave the server as
            // it was, as far as possible, before reporting the error. A
            // rollback cut short by the same error is done again.
            if r.ddl_started && r.index_present != Some(false) {
                r.rec.display.line(
                    now(),
                    &format!("capture failed ({e:#}); rolling back before exiting"),
                );
                r.rec.best_effort();
                let _ = r.rollback(RollbackTrigger::Automatic, format!("capture failed: {e:#}"));
                let state = if r.index_present == Some(false) {
                    "rolled back: the index is verified absent"
                } else {
                    "the rollback did not complete: check the index on the server"
                };
                return Err(e.context(format!("capture stopped ({state})")));
            }
            Err(e)
        }
    }
}

fn initial_manifest(cfg: &Config) -> Manifest {
    let start = now();
    let min = |d: Duration| d.as_secs_f64() / 60.0;
    let precheck = 0.1;
    let mut at = 0.0;
    let mut phases = Vec::new();
    for (phase, dur) in [
        (Phase::Precheck, precheck),
        (Phase::Baseline, min(cfg.baseline)),
        (Phase::Execute, 0.0),
        (Phase::Verification, 0.0),
        (Phase::Monitoring, min(cfg.monitoring)),
        (Phase::After, min(cfg.after)),
    ] {
        phases.push(PlannedPhase {
            phase,
            offset_min: at,
            duration_min: dur,
        });
        at += dur;
    }
    Manifest {
        schema_version: 1,
        run_id: cfg.run_id.clone(),
        lead: cfg.lead.clone(),
        team: Vec::new(),
        scope: Scope {
            planned: PlannedScope::default(),
            actual: ActualScope {
                tenant: cfg.tenant.clone(),
                connection: cfg.connection_id.clone(),
                database: cfg.target.database.to_string(),
                table: cfg.table.to_string(),
                operation: "ADD_INDEX".into(),
                window_start: Some(start),
                window_end: None,
            },
        },
        target: Target {
            engine: None,
            rows: None,
            data_size_bytes: None,
            index_name: cfg.index.to_string(),
            columns: cfg.columns.iter().map(|c| c.to_string()).collect(),
            index_type: "BTREE".into(),
        },
        ddl: Some(add_index_sql(cfg)),
        plan: Plan {
            start,
            phases,
            kill_switch_checkpoints: match cfg.switches {
                Some(_) => planned_checkpoints(&cfg.checkpoints),
                None => Vec::new(),
            },
            no_kill_switch: cfg.switches.is_none(),
        },
        display_timezone: cfg.display_offset.to_string(),
        max_connections: None,
        replica: cfg.replica.as_ref().map(|r| r.label.clone()),
        sources: Default::default(),
        human: HumanInput::default(),
    }
}

fn table_sql(cfg: &Config) -> String {
    format!("{}.{}", cfg.target.database.quoted(), cfg.table.quoted())
}

/// The DDL, exactly as executed.
pub fn add_index_sql(cfg: &Config) -> String {
    format!(
        "ALTER TABLE {} ADD INDEX {} ({}), ALGORITHM=INPLACE, LOCK=NONE",
        table_sql(cfg),
        cfg.index.quoted(),
        cfg.columns
            .iter()
            .map(Ident::quoted)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The rollback statement, exactly as executed.
pub fn drop_index_sql(cfg: &Config) -> String {
    format!(
        "ALTER TABLE {} DROP INDEX {}, ALGORITHM=INPLACE, LOCK=NONE",
        table_sql(cfg),
        cfg.index.quoted()
    )
}

fn unix(ts: DateTime<Utc>) -> f64 {
    ts.timestamp_millis() as f64 / 1000.0
}

fn human(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs()))
        .to_string()
        .replace(' ', "")
}

/// The checkpoints capture checks, in order: before the DDL, after it, at
/// each monitoring offset, and at the end.
fn planned_checkpoints(monitoring: &[Duration]) -> Vec<String> {
    std::iter::once(PRE_EXECUTION.to_string())
        .chain(std::iter::once(POST_ADD_INDEX.to_string()))
        .chain(monitoring.iter().map(|&c| checkpoint_name(c)))
        .chain(std::iter::once(FINAL_CHECK.to_string()))
        .collect()
}

/// The template's checkpoint names, as capture writes them.
pub const PRE_EXECUTION: &str = "Pre-execution";
pub const POST_ADD_INDEX: &str = "Post-ADD INDEX";
pub const FINAL_CHECK: &str = "Final Check";

/// The name of a monitoring checkpoint: `During Monitoring (T+15m)`, in
/// minutes as the template counts them (`T+60m`, `T+1m30s`, `T+20s`).
pub fn checkpoint_name(offset: Duration) -> String {
    let s = offset.as_secs();
    let t = match (s / 60, s % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    };
    format!("During Monitoring (T+{t})")
}

impl Runner {
    fn outcome(&self, dry_run: bool) -> CaptureOutcome {
        let status = if dry_run {
            CaptureStatus::DryRun
        } else if self.stopped_early.is_some() {
            CaptureStatus::Aborted
        } else {
            CaptureStatus::Completed
        };
        CaptureOutcome {
            run_dir: self.rec.dir().map(|p| p.to_path_buf()),
            status,
            rolled_back: self.rolled_back,
            rollback_succeeded: self.rollback_ok,
            ddl_started: self.ddl_started,
            index_present: self.index_present,
            reason: self.stopped_early.clone(),
        }
    }

    // ---- phases -------------------------------------------------------------

    fn phase_start(&mut self, phase: Phase, length: Option<Duration>) -> Result<()> {
        self.rec.event(Event::PhaseStart { phase })?;
        let now = Instant::now();
        self.phase = Some((phase, now));
        self.phase_deadline = length.map(|l| now + l);
        Ok(())
    }

    fn phase_end(&mut self, status: PhaseStatus) -> Result<()> {
        if let Some((phase, _)) = self.phase.take() {
            self.rec.event(Event::PhaseEnd { phase, status })?;
        }
        self.phase_deadline = None;
        Ok(())
    }

    fn end_run(&mut self, status: RunStatus) -> Result<()> {
        self.rec.event(Event::RunEnd { status })?;
        self.rec.manifest.scope.actual.window_end = Some(now());
        self.rec.write_manifest()
    }

    /// Returns `Ok(true)` for a dry run.
    fn run_phases(&mut self) -> Result<bool> {
        self.rec.log(
            "INFO",
            if self.cfg.dry_run {
                format!(
                    "DRY RUN of canary {}: pre-checks only; nothing is changed or written \
                     (would run: {})",
                    self.cfg.run_id,
                    add_index_sql(&self.cfg)
                )
            } else {
                format!(
                    "canary {} starting: {}",
                    self.cfg.run_id,
                    add_index_sql(&self.cfg)
                )
            },
        )?;
        if let Some(dir) = self.rec.dir() {
            let dir = dir.display().to_string();
            self.rec.log("INFO", format!("run directory: {dir}"))?;
        }

        // 1. Pre-check.
        self.phase_start(Phase::Precheck, None)?;
        if let Err(why) = self.precheck()? {
            self.rec.log(
                "ERROR",
                format!("pre-check failed: {why}; nothing was changed"),
            )?;
            self.phase_end(PhaseStatus::Failed)?;
            self.stopped_early = Some(format!("pre-check failed: {why}"));
            if !self.cfg.dry_run {
                self.end_run(RunStatus::Aborted)?;
            }
            return Ok(self.cfg.dry_run);
        }
        self.phase_end(PhaseStatus::Done)?;
        self.rec.write_manifest()?;
        if self.cfg.dry_run {
            self.print_plan();
            return Ok(true);
        }

        // 2. Baseline.
        self.start_workers()?;
        self.phase_start(Phase::Baseline, Some(self.cfg.baseline))?;
        if let Some(stop) = self.wait(Phase::Baseline, &mut Vec::new())? {
            return self.abort_before_ddl(stop).map(|_| false);
        }
        self.phase_end(PhaseStatus::Done)?;
        if let Some(stop) = self.finish_baseline()? {
            return self.abort_before_ddl(stop).map(|_| false);
        }

        // 3. Execute.
        self.execute()?;
        if self.server_lost {
            return Ok(false);
        }

        // 4. Verification, and 5. monitoring, when the index is in place.
        if self.index_present == Some(true) && !self.rolled_back {
            self.verification()?;
        }
        if self.server_lost {
            return Ok(false);
        }
        if self.index_present == Some(true) && !self.rolled_back {
            self.monitoring()?;
        }
        if self.server_lost {
            return Ok(false);
        }

        // 6. After window (also after a rollback: it shows the recovery).
        self.after()?;
        if self.server_lost {
            return Ok(false);
        }
        self.final_check()?;
        let status = if self.stopped_early.is_some() {
            RunStatus::Aborted
        } else {
            RunStatus::Completed
        };
        self.end_run(status)?;
        Ok(false)
    }

    // ---- workers and the main loop -------------------------------------------------

    fn start_workers(&mut self) -> Result<()> {
        self.judge_probes = self.histogram.is_none();
        let info = self.info.as_ref().expect("pre-check passed");
        let spec = SamplerSpec {
            flavour: info.flavour,
            histogram: self.histogram,
            replica: self.replica,
            host_metrics: self.cfg.host_metrics,
        };
        workers::spawn_sampler(self.cfg.clone(), spec, self.tx.clone(), self.shared.clone());
        if let Some(flavour) = self.replica_flavour {
            workers::spawn_replica(
                self.cfg.clone(),
                flavour,
                self.tx.clone(),
                self.shared.clone(),
            );
        }
        if let Some(p) = self.probe.clone() {
            workers::spawn_probe(
                self.cfg.clone(),
                info.flavour,
                p,
                self.tx.clone(),
                self.shared.clone(),
            );
        }
        if let Some(switches) = &self.cfg.switches {
            let (tx, shared) = (self.tx.clone(), self.shared.clone());
            let how = switches.watch(move |o| {
                !shared.stop.load(Ordering::Relaxed) && tx.send(Msg::Switch(o)).is_ok()
            });
            for line in how {
                self.rec.log("INFO", line)?;
            }
        }
        Ok(())
    }

    /// Both switches, read in parallel; `None` without kill switches
    /// (--no-kill-switch).
    fn read_switches(&self) -> Option<(Reading, Reading)> {
        self.cfg.switches.as_ref().map(|s| s.read())
    }

    fn write_switch_check(&mut self, checkpoint: &str, g: &Reading, c: &Reading) -> Result<()> {
        let response_ms = match (g.response_ms, c.response_ms) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        let errors: Vec<String> = [("global", g), ("connection", c)]
            .iter()
            .filter_map(|(n, r)| r.error.as_ref().map(|e| format!("{n}: {e}")))
            .collect();
        self.rec.event(Event::KillSwitchCheck {
            checkpoint: checkpoint.to_string(),
            global: g.state,
            connection: c.state,
            response_ms,
            error: (!errors.is_empty()).then(|| errors.join("; ")),
        })?;
        Ok(())
    }

    /// Reads both switches now, for a checkpoint: writes its check event.
    /// Returns a stop the first time a switch is not OFF.
    fn check_switches(&mut self, checkpoint: String) -> Result<Option<Stop>> {
        let Some((g, c)) = self.read_switches() else {
            return Ok(None);
        };
        self.switch_now = [Some(g), Some(c)];
        self.judge_switches(Some(checkpoint))
    }

    /// A watcher's reading.
    fn on_switch(&mut self, o: Observation) -> Result<Option<Stop>> {
        let slot = match o.which {
            Which::Global => 0,
            Which::Connection => 1,
        };
        self.switch_now[slot] = Some(o.reading);
        self.judge_switches(None)
    }

    /// Judges the latest readings: a check event at a checkpoint, or when
    /// the switches change to a state that is not both OFF. Returns a stop
    /// the first time a switch is not OFF (again after both read OFF).
    fn judge_switches(&mut self, checkpoint: Option<String>) -> Result<Option<Stop>> {
        let [g, c] = self.switch_now.clone().map(|r| {
            r.unwrap_or(Reading {
                state: SwitchState::Unknown,
                response_ms: None,
                error: Some("not read yet".into()),
            })
        });
        let states = (g.state, c.state);
        let changed = self.latest.switches != Some(states);
        self.latest.switches = Some(states);
        let off = g.state.is_off() && c.state.is_off();
        let name = match checkpoint {
            Some(n) => Some(n),
            None if !off && changed => Some(self.sample_check_name()),
            None => None,
        };
        if !off && !self.switch_alarm {
            // A stop follows: the rollback syncs once its statement is sent.
            self.rec.hold_sync();
        }
        if let Some(name) = name {
            self.write_switch_check(&name, &g, &c)?;
        }
        if off {
            if self.switch_alarm {
                self.switch_alarm = false;
                self.rec.log("INFO", "both kill switches read OFF again")?;
            }
            return Ok(None);
        }
        if self.switch_alarm {
            return Ok(None);
        }
        self.switch_alarm = true;
        Ok(Some(Stop::Switch {
            global: g,
            connection: c,
        }))
    }

    fn sample_check_name(&self) -> String {
        match self.phase {
            Some((p, start)) => format!("Sample check ({} +{})", p.label(), human(start.elapsed())),
            None => "Sample check".into(),
        }
    }

    /// Runs the main loop until the phase's deadline (or, without one, a stop):
    /// samples and kill switch readings judged as they come, due checkpoints
    /// read and written, Ctrl-C watched.
    fn wait(
        &mut self,
        phase: Phase,
        checkpoints: &mut Vec<(Instant, String)>,
    ) -> Result<Option<Stop>> {
        loop {
            let now = Instant::now();
            if let Some(i) = checkpoints.iter().position(|(t, _)| *t <= now) {
                let (_, name) = checkpoints.remove(i);
                if let Some(stop) = self.check_switches(name)? {
                    return Ok(Some(stop));
                }
                continue;
            }
            if self.phase_deadline.is_some_and(|d| now >= d) {
                return Ok(None);
            }
            if let Some(stop) = self.watch_ctrl_c()? {
                return Ok(Some(stop));
            }
            let mut until = now + Duration::from_millis(200);
            if let Some(d) = self.phase_deadline {
                until = until.min(d);
            }
            if let Some((t, _)) = checkpoints.iter().min_by_key(|(t, _)| *t) {
                until = until.min(*t);
            }
            match self
                .rx
                .recv_timeout(until.saturating_duration_since(Instant::now()))
            {
                Ok(msg) => {
                    if let Some(stop) = self.handle(msg, phase)? {
                        return Ok(Some(stop));
                    }
                    // Everything else waiting too: when handling a message
                    // takes longer than the messages' pace, one per turn
                    // would let them pile up (and a finished DDL or a lost
                    // server be seen ever later).
                    while let Ok(msg) = self.rx.try_recv() {
                        if let Some(stop) = self.handle(msg, phase)? {
                            return Ok(Some(stop));
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => unreachable!("the runner holds a sender"),
            }
        }
    }

    fn watch_ctrl_c(&mut self) -> Result<Option<Stop>> {
        let presses = ctrl_c_presses();
        if presses > self.ctrl_c_seen {
            self.ctrl_c_seen = presses;
            let confirmed = self
                .ctrl_c_armed
                .is_some_and(|t| t.elapsed() < CTRL_C_CONFIRM);
            if confirmed || !self.rec.display.interactive() {
                self.ctrl_c_armed = None;
                return Ok(Some(Stop::Operator));
            }
            self.ctrl_c_armed = Some(Instant::now());
            let what = if self.ddl_started && !self.rolled_back {
                "stop the canary and ROLL BACK (KILL QUERY / DROP INDEX)"
            } else {
                "stop the canary"
            };
            self.rec.log(
                "WARN",
                format!("Ctrl-C: press Ctrl-C again within 10 s to {what}"),
            )?;
        } else if self
            .ctrl_c_armed
            .is_some_and(|t| t.elapsed() >= CTRL_C_CONFIRM)
        {
            self.ctrl_c_armed = None;
            self.rec
                .log("INFO", "Ctrl-C not confirmed: the canary goes on")?;
        }
        Ok(None)
    }

    /// Records a worker's message; returns a stop when it calls for one.
    fn handle(&mut self, msg: Msg, phase: Phase) -> Result<Option<Stop>> {
        match msg {
            Msg::Sample(s) => self.on_sample(s, phase),
            Msg::Probe(p) => {
                let counts = self.probe_counts.entry(phase).or_default();
                if p.error.is_some() {
                    counts.1 += 1;
                } else {
                    counts.0 += 1;
                }
                if let Some(ms) = p.latency_ms {
                    self.rec.metrics(&[(p.ts, RawLatency::Query.key(), ms)])?;
                    self.latest.probe_ms = Some(ms);
                    let t = unix(p.ts);
                    self.probe_samples.push(Sample { t, v: ms });
                    match phase {
                        Phase::Baseline => self.baseline_probes.push(ms),
                        Phase::After if self.rolled_back => self.after_probes.push(ms),
                        _ => {}
                    }
                    if let Some((start, [p50, p99])) = self.probe_windows.push(t, ms)
                        && self.judge_probes
                    {
                        let values = [
                            (MetricId::QueryLatencyP50Ms, p50),
                            (MetricId::QueryLatencyP99Ms, p99),
                        ];
                        let breaches = self.detector.observe(start, &values, None);
                        return self.judge(breaches);
                    }
                }
                Ok(None)
            }
            Msg::Note { level, message } => {
                self.rec.log(level, message)?;
                Ok(None)
            }
            Msg::Lost(e) => Ok(Some(Stop::ServerLost(e))),
            Msg::Ddl(r) => Ok(Some(Stop::DdlDone(r))),
            Msg::Replica(r) => self.on_replica(r, phase),
            Msg::ReplicaLost(e) => {
                self.latest.lag_s = None;
                Ok(Some(Stop::ReplicaLost(e)))
            }
            Msg::Switch(o) => self.on_switch(o),
        }
    }

    /// Where replication_lag_s is read from, in words; `None` when it is not.
    fn lag_source(&self) -> Option<String> {
        if let (Some(r), Some(_)) = (&self.cfg.replica, self.replica_flavour) {
            Some(format!("the replica {}", r.label))
        } else if self.replica {
            Some("the server itself (a replica)".into())
        } else {
            None
        }
    }

    /// Records a change of replication between running and stopped, and
    /// judges it: stopped is critical once confirmed.
    fn replication_state(&mut self, t: f64, stopped: Option<String>) -> Result<Option<Breach>> {
        let source = self.lag_source().unwrap_or_else(|| "the server".into());
        if stopped.is_some() != self.replication_stopped {
            self.replication_stopped = stopped.is_some();
            match &stopped {
                Some(state) => self.rec.log(
                    "WARN",
                    format!("replication is stopped on {source}: {state}"),
                )?,
                None => self
                    .rec
                    .log("INFO", format!("replication is running again on {source}"))?,
            }
        }
        let why = stopped.map(|state| format!("{state}, on {source}"));
        Ok(self.detector.observe_replication(t, why))
    }

    fn on_replica(&mut self, r: ReplicaMsg, phase: Phase) -> Result<Option<Stop>> {
        let mut values = Vec::new();
        if let Some(lag) = r.lag_s {
            let m = MetricId::ReplicationLagS;
            self.rec.metrics(&[(r.ts, m.key(), lag)])?;
            values.push((m, lag));
            self.recorded.entry(m).or_default().push(Sample {
                t: unix(r.ts),
                v: lag,
            });
            if phase == Phase::Baseline {
                self.baseline_values.entry(m).or_default().push(lag);
            }
        }
        self.latest.lag_s = r.lag_s;
        let t = unix(r.ts);
        let stopped = r.lag_s.is_none().then_some(r.state);
        let mut breaches: Vec<Breach> = self.replication_state(t, stopped)?.into_iter().collect();
        breaches.extend(self.detector.observe(t, &values, None));
        self.update_status(phase);
        self.judge(breaches)
    }

    fn on_sample(&mut self, s: SampleMsg, phase: Phase) -> Result<Option<Stop>> {
        let rows: Vec<(DateTime<Utc>, &str, f64)> =
            s.values.iter().map(|(m, v)| (s.ts, m.key(), *v)).collect();
        self.rec.metrics(&rows)?;
        if let Some(uptime) = s.restarted {
            // The sampler reconnected to a server that came back: its caches are
            // cold and whatever happened to it is unknown, so the canary stops
            // as if it had been lost (before the DDL with nothing changed,
            // after it with a rollback).
            return Ok(Some(Stop::ServerLost(format!(
                "the server restarted (up for {} s)",
                fmt_num(uptime)
            ))));
        }
        let get = |m: MetricId| s.values.iter().find(|(x, _)| *x == m).map(|(_, v)| *v);
        self.latest.threads_running = get(MetricId::ThreadsRunning);
        if self.replica {
            self.latest.lag_s = get(MetricId::ReplicationLagS);
        }
        self.latest.mdl = s.mdl_waiters;
        if phase == Phase::Baseline {
            for (m, v) in &s.values {
                self.baseline_values.entry(*m).or_default().push(*v);
            }
        }
        let stopped = if self.replica {
            self.replication_state(unix(s.ts), s.replication_stopped.clone())?
        } else {
            None
        };
        if let Some(p) = &s.ddl {
            self.latest.ddl_pct = p.progress_pct;
            self.log_progress(p)?;
        }
        self.update_status(phase);

        // Judge what `build` will judge: the sampler's series (a server
        // histogram's latency series wins over the probe, as in `build`).
        let t = unix(s.ts);
        for (m, v) in &s.values {
            self.recorded
                .entry(*m)
                .or_default()
                .push(Sample { t, v: *v });
        }
        let values: Vec<(MetricId, f64)> = s.values.clone();
        let mdl = if self.ddl_running || self.armed {
            s.mdl_waiters
        } else {
            None
        };
        let mut breaches: Vec<Breach> = stopped.into_iter().collect();
        breaches.extend(self.detector.observe(unix(s.ts), &values, mdl));
        self.judge(breaches)
    }

    /// Acts on confirmed breaches: logged before the DDL; from the DDL's
    /// start an alert each, and the first critical one a stop.
    fn judge(&mut self, breaches: Vec<Breach>) -> Result<Option<Stop>> {
        let mut stop = None;
        for mut b in breaches {
            if b.what == Watched::Metric(MetricId::ReplicationLagS)
                && let Some(source) = self.lag_source()
            {
                b.bound = format!("{} (read from {source})", b.bound);
            }
            if !self.ddl_started {
                // Before the DDL a critical breach is kept for the end of the
                // baseline, where it stops the canary.
                if b.level == Status::Critical {
                    self.rec.log(
                        "WARN",
                        format!(
                            "in the baseline: {}; the canary will stop before the DDL at the end of the baseline",
                            b.describe()
                        ),
                    )?;
                    if !self.baseline_breaches.iter().any(|x| x.what == b.what) {
                        self.baseline_breaches.push(b);
                    }
                }
                continue;
            }
            let severity = if b.level == Status::Critical {
                Severity::Critical
            } else {
                Severity::Warning
            };
            self.rec.event(Event::Alert {
                name: format!(
                    "{} {}",
                    b.what.key(),
                    if b.level == Status::Critical {
                        "critical"
                    } else {
                        "warning"
                    }
                ),
                severity,
                message: Some(b.describe()),
            })?;
            if self.rolled_back {
                self.alerts_after_rollback += usize::from(b.level == Status::Critical);
                continue;
            }
            if self.armed && b.level == Status::Critical && stop.is_none() {
                stop = Some(Stop::Breach(b));
            }
        }
        Ok(stop)
    }

    fn log_progress(&mut self, p: &db::DdlProgress) -> Result<()> {
        let pct = p.progress_pct.unwrap_or(0.0);
        let due = match self.last_progress_log {
            None => true,
            Some((t, last)) => pct - last >= 10.0 || t.elapsed() >= Duration::from_secs(30),
        };
        if due {
            self.last_progress_log = Some((Instant::now(), pct));
            let stage = p
                .stage
                .map(|(s, m)| format!(", stage {s}/{m}"))
                .unwrap_or_default();
            let pct_text = p
                .progress_pct
                .map(|v| format!("{v:.1}%"))
                .unwrap_or_else(|| "-".into());
            self.rec.log(
                "INFO",
                format!(
                    "DDL progress: {pct_text}{stage}, state {}, running {:.1} s",
                    p.state.as_deref().unwrap_or("-"),
                    p.time_s.unwrap_or(0.0)
                ),
            )?;
        }
        Ok(())
    }

    fn update_status(&mut self, phase: Phase) {
        let left = self
            .phase_deadline
            .map(|d| {
                format!(
                    "{} left",
                    human(d.saturating_duration_since(Instant::now()))
                )
            })
            .unwrap_or_else(|| "running".into());
        let l = &self.latest;
        let opt = |v: Option<f64>| v.map_or("-".to_string(), fmt_num);
        let switches = l.switches.map_or("-/-".to_string(), |(g, c)| {
            format!("{}/{}", g.label(), c.label())
        });
        let mut text = format!(
            "[{}] {left} | threads_running {} | probe {} ms | lag {} | mdl waiters {} | kill switches {switches}",
            phase.label(),
            opt(l.threads_running),
            l.probe_ms.map_or("-".into(), |v| format!("{v:.2}")),
            opt(l.lag_s),
            l.mdl.map_or("-".into(), |v| v.to_string()),
        );
        if self.ddl_running {
            text.push_str(&format!(
                " | DDL {}",
                l.ddl_pct.map_or("-".into(), |p| format!("{p:.1}%"))
            ));
        }
        self.rec.display.status(&text);
    }

    // ---- 2. baseline ------------------------------------------------------------

    /// Sets the baseline of the relative bounds; returns a stop when the
    /// baseline already broke a critical bound.
    fn finish_baseline(&mut self) -> Result<Option<Stop>> {
        let th = self.cfg.thresholds.clone();
        for m in MetricId::ALL {
            if !self.detector.is_relative(m) {
                continue;
            }
            let stat = th.for_metric(m).statistic;
            let mut values = self.baseline_of(m);
            if values.len() < 2 {
                continue;
            }
            if let Some(v) = representative_of(&mut values, stat) {
                self.detector.set_baseline(m, v);
            }
        }
        let p50 = self.detector.baseline(MetricId::QueryLatencyP50Ms);
        let p99 = self.detector.baseline(MetricId::QueryLatencyP99Ms);
        self.rec.log(
            "INFO",
            format!(
                "baseline: {} probe queries, P50 {} ms, P99 {} ms",
                self.baseline_probes.len(),
                p50.map_or("-".into(), fmt_num),
                p99.map_or("-".into(), fmt_num)
            ),
        )?;
        if self.baseline_probes.len() < 2 {
            self.rec.log(
                "WARN",
                "too few probe queries in the baseline: latency is not judged against it",
            )?;
        }
        let found = self.critical_in_baseline();
        Ok((!found.is_empty()).then_some(Stop::CriticalBaseline(found)))
    }

    /// The critical bounds the baseline already broke, one sentence each: a
    /// breach the detector confirmed during it (two readings in a row for the
    /// metric's `sustained_for_s`), or the baseline as a whole, its statistic
    /// beyond the bound as `build` judges it (which catches a baseline
    /// shorter than `sustained_for_s`). Relative bounds have nothing to
    /// compare with yet. The DDL on top of that would be blamed for it, or
    /// rolled back for it: there is nothing left for the canary to measure.
    fn critical_in_baseline(&self) -> Vec<String> {
        let mut found = Vec::new();
        for first in &self.baseline_breaches {
            // As it stands at the end of the baseline, or as it was confirmed
            // when it has ended since (it lasted at least that long).
            let (b, going_on) = match self.detector.ongoing(first.what, Status::Critical) {
                Some(now) => (now, true),
                None => (first.clone(), false),
            };
            let (at_least, back) = if going_on {
                ("", "")
            } else {
                ("at least ", ", back within it before the baseline ended")
            };
            found.push(match b.what {
                Watched::ReplicationStopped => format!(
                    "replication was already stopped in the baseline ({}) for {at_least}{:.1} s ({} readings in a row){back}",
                    b.bound, b.lasted_s, b.readings
                ),
                _ => format!(
                    "{} was already beyond its critical bound in the baseline: {} {} for {at_least}{:.1} s ({} readings in a row){back}",
                    b.what.key(),
                    fmt_num(b.value),
                    b.bound,
                    b.lasted_s,
                    b.readings
                ),
            });
        }
        for m in MetricId::ALL {
            if self
                .baseline_breaches
                .iter()
                .any(|b| b.what == Watched::Metric(m))
            {
                continue;
            }
            let th = self.cfg.thresholds.for_metric(m);
            if !th.judges_window_value(Window::Baseline) {
                continue;
            }
            let mut values = self.baseline_of(m);
            let n = values.len();
            if n < 2 {
                continue;
            }
            let Some(v) = representative_of(&mut values, th.statistic) else {
                continue;
            };
            if let Some(bound) = self.detector.beyond_critical(m, v) {
                found.push(format!(
                    "{} was already beyond its critical bound in the baseline: {} {} {bound} over the {} baseline ({n} readings)",
                    m.key(),
                    th.statistic.name(),
                    fmt_num(v),
                    human(self.cfg.baseline)
                ));
            }
        }
        found
    }

    /// The baseline's values of a metric, from the source `build` judges.
    fn baseline_of(&self, m: MetricId) -> Vec<f64> {
        match m {
            MetricId::QueryLatencyP50Ms | MetricId::QueryLatencyP99Ms if self.judge_probes => {
                self.baseline_probes.clone()
            }
            _ => self.baseline_values.get(&m).cloned().unwrap_or_default(),
        }
    }

    /// A stop before the DDL: nothing was changed, the run ends here.
    fn abort_before_ddl(&mut self, stop: Stop) -> Result<()> {
        let reason = stop.reason();
        self.phase_end(PhaseStatus::Aborted)?;
        match &stop {
            Stop::Switch { .. } => {
                self.rec.event(Event::Incident {
                    id: None,
                    severity: Severity::Warning,
                    description: format!("{reason} before the DDL"),
                    action: Some("canary aborted before the DDL".into()),
                    resolution: Some("nothing was changed".into()),
                    status: IncidentStatus::Resolved,
                })?;
            }
            Stop::CriticalBaseline(found) => {
                for what in found {
                    self.rec.event(Event::Incident {
                        id: None,
                        severity: Severity::Critical,
                        description: format!(
                            "{what}; the canary would measure nothing; reduce the load or loosen the bound with --thresholds"
                        ),
                        action: Some("canary stopped before the DDL".into()),
                        resolution: Some("nothing was changed".into()),
                        status: IncidentStatus::Open,
                    })?;
                }
            }
            Stop::ServerLost(_) | Stop::ReplicaLost(_) => {
                self.server_lost = matches!(stop, Stop::ServerLost(_));
                self.rec.event(Event::Incident {
                    id: None,
                    severity: Severity::Critical,
                    description: reason.clone(),
                    action: Some("canary aborted before the DDL".into()),
                    resolution: Some("nothing was changed by the canary".into()),
                    status: IncidentStatus::Open,
                })?;
            }
            _ => {}
        }
        self.rec.log(
            "WARN",
            format!("canary aborted before the DDL ({reason}); nothing was changed"),
        )?;
        self.stopped_early = Some(reason);
        self.index_present = Some(false);
        self.final_check()?;
        self.end_run(RunStatus::Aborted)
    }

    // ---- 3. execute ---------------------------------------------------------------

    fn execute(&mut self) -> Result<()> {
        self.phase_start(Phase::Execute, None)?;
        self.armed = true;
        let statement = add_index_sql(&self.cfg);
        let started = self.rec.event(Event::DdlStart {
            statement: statement.clone(),
        })?;
        self.ddl_start_t = Some(unix(started));
        self.detector.ddl_started(unix(started));
        self.ddl_started = true;
        match workers::spawn_ddl(&self.cfg, statement, self.tx.clone()) {
            Ok((id, _handle)) => {
                self.ddl_conn = id;
                self.ddl_running = true;
                self.kill_conn = self.control().ok();
                self.shared.ddl_conn.store(id, Ordering::SeqCst);
                self.rec
                    .log("INFO", format!("ALTER running on connection {id}"))?;
            }
            Err(e) => {
                self.rec.event(Event::DdlEnd {
                    outcome: DdlOutcome::Failed,
                    error: Some(format!("cannot open the DDL connection: {}", db::err(&e))),
                    duration_s: None,
                })?;
                self.index_present = Some(false);
                self.stopped_early = Some(format!("the DDL could not start: {}", db::err(&e)));
                return self.phase_end(PhaseStatus::Failed);
            }
        }
        loop {
            match self.wait(Phase::Execute, &mut Vec::new())? {
                Some(Stop::DdlDone(r)) => {
                    let lost = r.lost_connection();
                    let outcome = self.ddl_finished(r, false)?;
                    if lost && outcome == DdlOutcome::Failed && self.control().is_err() {
                        return self.server_lost_under_ddl();
                    }
                    let status = match outcome {
                        DdlOutcome::Success => PhaseStatus::Done,
                        _ => PhaseStatus::Failed,
                    };
                    if outcome != DdlOutcome::Success {
                        self.after_failed_ddl()?;
                    }
                    self.phase_end(status)?;
                    // The DDL's window ended: judged now as `build` judges it.
                    if outcome == DdlOutcome::Success
                        && let (Some(start), Some(end)) = (self.ddl_start_t, self.ddl_end_t)
                    {
                        let found = self.critical_in_window(Window::During, start, end);
                        if !found.is_empty() {
                            self.act_on(Stop::Window(found))?;
                        }
                    }
                    return Ok(());
                }
                Some(Stop::ServerLost(e)) => return self.fail_safe(e),
                Some(stop) => {
                    if self.act_on(stop)? {
                        let status = if self.index_present == Some(false) {
                            PhaseStatus::Aborted
                        } else {
                            PhaseStatus::Failed
                        };
                        return self.phase_end(status);
                    }
                }
                None => unreachable!("the execute phase has no deadline"),
            }
        }
    }

    /// Writes ddl_end; returns the outcome.
    fn ddl_finished(&mut self, r: DdlResult, killed_by_us: bool) -> Result<DdlOutcome> {
        self.ddl_running = false;
        self.shared.ddl_conn.store(0, Ordering::SeqCst);
        // No ALTER left to kill: the session kept for it is closed.
        self.kill_conn = None;
        let (outcome, error) = match &r.outcome {
            Ok(()) => (DdlOutcome::Success, None),
            // 1317: query execution was interrupted (KILL QUERY); 2013: lost
            // connection (KILL of the connection).
            Err((code, msg))
                if killed_by_us && matches!(code, Some(1317) | Some(1927) | Some(2013) | None) =>
            {
                (DdlOutcome::Killed, Some(msg.clone()))
            }
            Err((_, msg)) => (DdlOutcome::Failed, Some(msg.clone())),
        };
        let ended = self.rec.event_at(
            r.finished,
            Event::DdlEnd {
                outcome,
                error,
                duration_s: Some((r.duration.as_secs_f64() * 1000.0).round() / 1000.0),
            },
        )?;
        self.ddl_end_t = Some(unix(ended));
        self.detector.ddl_ended();
        if outcome == DdlOutcome::Success {
            self.index_present = Some(true);
        }
        Ok(outcome)
    }

    /// The ALTER lost its connection and the server does not answer (it
    /// crashed or is restarting): what became of the index is known only once
    /// it is back, so wait for it as the sampler does, then fail safe (the
    /// rollback verifies the index; InnoDB drops an interrupted one).
    fn server_lost_under_ddl(&mut self) -> Result<()> {
        let wait = self.cfg.reconnect_for;
        self.rec.log(
            "ERROR",
            format!(
                "the ALTER lost its connection and the server does not answer; waiting up to {} for it, to check the index",
                human(wait)
            ),
        )?;
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline && self.control().is_err() {
            // Records the samples that still come in while waiting.
            self.wait_ddl(Duration::from_secs(1))?;
        }
        self.fail_safe("the server went away during the ALTER".into())
    }

    /// The ALTER failed by itself: check the index is absent, then go on to the
    /// after window.
    fn after_failed_ddl(&mut self) -> Result<()> {
        self.stopped_early = Some("the DDL failed".into());
        let present = self.index_exists()?;
        self.index_present = present;
        let state = match present {
            Some(false) => "the index is absent: nothing was changed",
            Some(true) => "yet the index is PRESENT",
            None => "the index state could not be checked",
        };
        self.rec.event(Event::Incident {
            id: None,
            severity: Severity::Warning,
            description: format!("ADD INDEX failed; {state}"),
            action: Some("canary stopped; after-metrics still collected".into()),
            resolution: (present == Some(false)).then(|| "no change to roll back".into()),
            status: if present == Some(false) {
                IncidentStatus::Resolved
            } else {
                IncidentStatus::Open
            },
        })?;
        self.armed = false;
        Ok(())
    }

    // ---- 5. monitoring -----------------------------------------------------------------

    fn monitoring(&mut self) -> Result<()> {
        if self.rolled_back {
            return Ok(());
        }
        self.phase_start(Phase::Monitoring, Some(self.cfg.monitoring))?;
        let start = Instant::now();
        // Without kill switches there are no checkpoints to read.
        let mut checkpoints: Vec<(Instant, String)> = match self.cfg.switches {
            Some(_) => self
                .cfg
                .checkpoints
                .iter()
                .map(|d| (start + *d, checkpoint_name(*d)))
                .collect(),
            None => Vec::new(),
        };
        loop {
            match self.wait(Phase::Monitoring, &mut checkpoints)? {
                None => break,
                Some(Stop::ServerLost(e)) => return self.fail_safe(e),
                Some(Stop::DdlDone(_)) => {}
                Some(stop) => {
                    if self.act_on(stop)? {
                        // Checkpoints not reached are not read: the window ended here.
                        return self.phase_end(PhaseStatus::Aborted);
                    }
                }
            }
        }
        // A checkpoint at the very end of the window is still read.
        for (_, name) in std::mem::take(&mut checkpoints) {
            if let Some(stop) = self.check_switches(name)?
                && self.act_on(stop)?
            {
                return self.phase_end(PhaseStatus::Aborted);
            }
        }
        self.phase_end(PhaseStatus::Done)
    }

    // ---- 7. after ------------------------------------------------------------------------

    fn after(&mut self) -> Result<()> {
        self.phase_start(Phase::After, Some(self.cfg.after))?;
        self.after_window()?;
        self.post_rollback_checks()?;
        self.phase_end(PhaseStatus::Done)
    }

    /// The after phase's wait; at its end the post window (the DDL's end to
    /// now) is judged as `build` judges it, and a critical value rolls back.
    fn after_window(&mut self) -> Result<()> {
        loop {
            match self.wait(Phase::After, &mut Vec::new())? {
                None => break,
                Some(Stop::ServerLost(e)) => return self.fail_safe(e),
                Some(Stop::DdlDone(_)) => {}
                Some(stop) => {
                    let was_rolled_back = self.rolled_back;
                    if self.act_on(stop)? && was_rolled_back {
                        // Ctrl-C after the rollback: end the window now.
                        self.post_rollback_checks()?;
                        return self.phase_end(PhaseStatus::Aborted);
                    }
                }
            }
        }
        if !self.rolled_back
            && self.index_present == Some(true)
            && let Some(start) = self.ddl_end_t
        {
            let found = self.critical_in_window(Window::Post, start, unix(now()));
            if !found.is_empty() {
                self.act_on(Stop::Window(found))?;
            }
        }
        Ok(())
    }

    /// The metrics whose representative value over `[start, end)` is beyond
    /// the critical bound, one sentence each: the window-level judgement of
    /// `build` (judge::classify), on the same samples, when the window ends.
    fn critical_in_window(&self, window: Window, start: f64, end: f64) -> Vec<String> {
        let mut found = Vec::new();
        for m in MetricId::ALL {
            let th = self.cfg.thresholds.for_metric(m);
            if !th.judges_window_value(window) {
                continue;
            }
            let Some(bounds) = self.detector.bounds(m) else {
                continue;
            };
            let samples = self.judged_samples(m);
            let mut values: Vec<f64> = samples
                .iter()
                .filter(|s| s.t >= start && s.t < end)
                .map(|s| s.v)
                .collect();
            let n = values.len();
            let Some(v) = representative_of(&mut values, th.statistic) else {
                continue;
            };
            if bounds.level_of(v) == Status::Critical {
                found.push(format!(
                    "{} over the {} window ({n} samples): {} {} beyond the critical bound {}",
                    m.key(),
                    window.key(),
                    th.statistic.name(),
                    fmt_num(v),
                    fmt_num(bounds.critical.unwrap_or(f64::NAN))
                ));
            }
        }
        found
    }

    /// The samples `build` will judge a metric's windows on: the probe's raw
    /// latencies for query latency (unless a server histogram gives its own
    /// series), else the recorded series.
    fn judged_samples(&self, m: MetricId) -> &[Sample] {
        match m {
            MetricId::QueryLatencyP50Ms | MetricId::QueryLatencyP99Ms if self.judge_probes => {
                &self.probe_samples
            }
            _ => self.recorded.get(&m).map_or(&[], |v| v.as_slice()),
        }
    }

    fn final_check(&mut self) -> Result<()> {
        match self.read_switches() {
            Some((g, c)) => self.write_switch_check(FINAL_CHECK, &g, &c),
            None => Ok(()),
        }
    }
}

fn human_ms(d: Duration) -> String {
    humantime::format_duration(d).to_string().replace(' ', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_names_follow_the_template() {
        assert_eq!(
            checkpoint_name(Duration::from_secs(900)),
            "During Monitoring (T+15m)"
        );
        assert_eq!(
            checkpoint_name(Duration::from_secs(3600)),
            "During Monitoring (T+60m)"
        );
        assert_eq!(
            checkpoint_name(Duration::from_secs(90)),
            "During Monitoring (T+1m30s)"
        );
        assert_eq!(
            checkpoint_name(Duration::from_secs(5)),
            "During Monitoring (T+5s)"
        );
    }
}
