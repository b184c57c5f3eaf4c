//! Acting on a stop: the incident, the rollback of template 5.3 (KILL QUERY
//! of a running ALTER, or DROP INDEX), the fail-safe when the server is lost,
//! and the post-rollback checks of 5.4.

use super::*;

/// Id of the incident that triggers an automatic rollback, so that the
/// rollback's outcome can update it in the append-only log.
pub(super) const TRIGGER_INCIDENT: &str = "rollback-trigger";

impl Runner {
    /// SHOW INDEX on a fresh connection; `None` when the server cannot be asked.
    pub(super) fn index_exists(&mut self) -> Result<Option<bool>> {
        match self.control().and_then(|mut c| {
            db::show_index(
                &mut c,
                &self.cfg.target.database,
                &self.cfg.table,
                &self.cfg.index,
            )
            .map_err(|e| db::err(&e))
        }) {
            Ok(s) => Ok(Some(s.exists)),
            Err(e) => {
                self.rec
                    .log("WARN", format!("cannot check the index: {e}"))?;
                Ok(None)
            }
        }
    }

    /// A connection for verification and rollback statements.
    pub(super) fn control(&self) -> Result<mysql::Conn, String> {
        let timeout = self.cfg.lock_wait_timeout + Duration::from_secs(60);
        let mut c = db::connect(&self.cfg, Some(timeout))
            .map_err(|e| format!("cannot connect: {}", db::err(&e)))?;
        mysql::prelude::Queryable::query_drop(
            &mut c,
            format!(
                "SET SESSION lock_wait_timeout = {}",
                self.cfg.lock_wait_timeout.as_secs().max(1)
            ),
        )
        .map_err(|e| db::err(&e))?;
        Ok(c)
    }

    /// Records an incident for a stop and rolls back when it should.
    /// Returns whether it rolled back. Events are synced once the rollback's
    /// statement is sent, not before (see [`Recorder::hold_sync`]).
    pub(super) fn act_on(&mut self, stop: Stop) -> Result<bool> {
        self.rec.hold_sync();
        let acted = self.decide_and_roll_back(stop);
        let synced = self.rec.sync();
        let acted = acted?;
        synced?;
        Ok(acted)
    }

    fn decide_and_roll_back(&mut self, stop: Stop) -> Result<bool> {
        let reason = stop.reason();
        let manual = matches!(stop, Stop::Operator);
        // Nothing to undo once a failed ALTER left the index verified absent.
        let changed = self.ddl_running || self.index_present != Some(false);
        let will_roll_back = !self.rolled_back && changed && (manual || self.cfg.auto_rollback);
        if !self.rolled_back && !changed {
            if manual {
                self.rec
                    .log("WARN", "Ctrl-C: ending the run now (nothing to roll back)")?;
                self.stopped_early.get_or_insert(reason);
                return Ok(true);
            }
            self.rec.log(
                "WARN",
                format!("{reason} (nothing to roll back: the index is absent)"),
            )?;
            return Ok(false);
        }
        if self.rolled_back {
            if manual {
                self.rec
                    .log("WARN", "Ctrl-C after the rollback: ending the run now")?;
                self.stopped_early.get_or_insert(reason);
                return Ok(true);
            }
            self.rec
                .log("WARN", format!("after the rollback: {reason}"))?;
            return Ok(false);
        }
        if !manual {
            let action = if will_roll_back {
                if self.ddl_running {
                    "automatic rollback: KILL QUERY of the ALTER"
                } else {
                    "automatic rollback: DROP INDEX"
                }
            } else {
                "none: automatic rollback is off (--no-auto-rollback)"
            };
            self.rec.event(Event::Incident {
                id: Some(TRIGGER_INCIDENT.into()),
                severity: Severity::Critical,
                description: reason.clone(),
                action: Some(action.into()),
                resolution: None,
                status: IncidentStatus::Open,
            })?;
        }
        if !will_roll_back {
            self.rec.log(
                "WARN",
                format!("{reason}: not rolling back (--no-auto-rollback)"),
            )?;
            return Ok(false);
        }
        let trigger = if manual {
            RollbackTrigger::Manual
        } else {
            RollbackTrigger::Automatic
        };
        self.rollback(trigger, reason.clone())?;
        self.stopped_early.get_or_insert(reason);
        Ok(true)
    }

    // ---- 6. rollback ----------------------------------------------------------------

    /// Where an announcement went: events.jsonl only while it can be written.
    fn announced_where(&self) -> String {
        match self.rec.events_unwritable() {
            None => "on stderr and in events.jsonl".into(),
            Some(why) => format!("on stderr only (events.jsonl could not be written: {why})"),
        }
    }

    pub(super) fn step(
        &mut self,
        step: u8,
        actual: impl Into<String>,
        status: StepStatus,
    ) -> Result<()> {
        self.rec.event(Event::RollbackStep {
            step,
            actual: actual.into(),
            status,
        })?;
        Ok(())
    }

    /// The template's rollback (5.3): KILL QUERY of a running ALTER, or DROP
    /// INDEX, each verified with SHOW INDEX.
    pub(super) fn rollback(&mut self, trigger: RollbackTrigger, reason: String) -> Result<()> {
        self.rolled_back = true;
        self.rollback_at = Some(Instant::now());
        let decided_by = match trigger {
            RollbackTrigger::Automatic => DECIDED_BY.to_string(),
            RollbackTrigger::Manual => "operator (Ctrl-C or SIGTERM)".to_string(),
        };
        self.rec.event(Event::RollbackDecision {
            trigger,
            reason: reason.clone(),
            decided_by: Some(decided_by),
        })?;
        let kill = self.ddl_running;
        let statement = if kill {
            format!("KILL QUERY {}", self.ddl_conn)
        } else {
            drop_index_sql(&self.cfg)
        };
        self.rec.event(Event::RollbackStart {
            statement: Some(statement.clone()),
        })?;
        self.step(
            1,
            format!("rollback announced {}: {reason}", self.announced_where()),
            StepStatus::Done,
        )?;

        let mut error: Option<String> = None;
        let mut need_drop = !kill;
        if kill {
            match self.kill_ddl() {
                Ok(DdlOutcome::Success) => {
                    self.rec.log(
                        "WARN",
                        "the ALTER completed before it could be stopped: dropping the index",
                    )?;
                    need_drop = true;
                }
                Ok(_) => {}
                Err(e) => error = Some(e),
            }
        }

        if need_drop {
            // 2. Verify the index exists before DROP.
            let exists = self.index_exists()?;
            match exists {
                Some(true) => self.step(2, "index present in SHOW INDEX", StepStatus::Done)?,
                Some(false) => {
                    self.step(2, "index not present: nothing to drop", StepStatus::Skipped)?;
                }
                None => self.step(
                    2,
                    "cannot run SHOW INDEX: the server does not answer",
                    StepStatus::Failed,
                )?,
            }
            // 3. Execute DROP INDEX.
            if exists == Some(false) {
                self.step(3, "DROP INDEX not needed", StepStatus::Skipped)?;
            } else {
                let dropped = self.drop_index();
                self.rec.sync()?;
                match dropped {
                    Ok(secs) => self.step(
                        3,
                        format!("{}: success in {secs:.3} s", drop_index_sql(&self.cfg)),
                        StepStatus::Done,
                    )?,
                    Err(e) => {
                        self.step(
                            3,
                            format!("{}: {e}", drop_index_sql(&self.cfg)),
                            StepStatus::Failed,
                        )?;
                        error = Some(e);
                    }
                }
            }
        } else {
            let why = error
                .clone()
                .unwrap_or_else(|| "the ALTER was stopped before it completed".into());
            self.step(2, format!("no index to drop: {why}"), StepStatus::Skipped)?;
            self.step(
                3,
                "DROP INDEX not needed: the ALTER was killed",
                StepStatus::Skipped,
            )?;
        }

        // 4. Verify the index is gone.
        let present = self.index_exists()?;
        self.index_present = present;
        let show = db::show_index_sql(&self.cfg.target.database, &self.cfg.table, &self.cfg.index);
        match present {
            Some(false) => self.step(
                4,
                format!("{show}: empty, the index is gone"),
                StepStatus::Done,
            )?,
            Some(true) => self.step(
                4,
                format!("{show}: the index is STILL PRESENT"),
                StepStatus::Failed,
            )?,
            None => self.step(
                4,
                format!("{show}: cannot run, the server does not answer"),
                StepStatus::Failed,
            )?,
        }
        let ok = present == Some(false);
        self.rollback_ok = Some(ok);
        // 5. Execution status.
        if ok {
            match self.rec.events_unwritable().map(str::to_string) {
                None => self.step(
                    5,
                    "execution status ROLLED_BACK recorded in events.jsonl",
                    StepStatus::Done,
                )?,
                Some(why) => self.step(
                    5,
                    format!(
                        "execution status ROLLED_BACK could not be recorded in events.jsonl ({why})"
                    ),
                    StepStatus::Failed,
                )?,
            }
        } else {
            self.step(
                5,
                "execution status not ROLLED_BACK: the index state is not verified",
                StepStatus::Failed,
            )?;
        }
        // 6. Announce.
        let msg = if ok {
            "rollback complete: the index is absent"
        } else {
            "rollback NOT complete: check the server by hand"
        };
        self.rec.log(if ok { "INFO" } else { "ERROR" }, msg)?;
        self.step(
            6,
            format!("announced {}: {msg}", self.announced_where()),
            StepStatus::Done,
        )?;
        let error = if ok {
            None
        } else {
            Some(error.unwrap_or_else(|| "the index is not verified absent".into()))
        };
        self.rec.event(Event::RollbackEnd { success: ok, error })?;
        if ok {
            self.rec.event(Event::PostRollbackCheck {
                check: "Index removed".into(),
                actual: format!("{show} returns no row"),
                passed: true,
            })?;
            if trigger == RollbackTrigger::Automatic {
                // The same incident, now resolved by the rollback.
                self.rec.event(Event::Incident {
                    id: Some(TRIGGER_INCIDENT.into()),
                    severity: Severity::Critical,
                    description: reason.clone(),
                    action: Some("automatic rollback".into()),
                    resolution: Some("rolled back: the index is verified absent".into()),
                    status: IncidentStatus::Resolved,
                })?;
            }
        } else if present.is_some() {
            self.rec.event(Event::PostRollbackCheck {
                check: "Index removed".into(),
                actual: format!("{show} still returns the index"),
                passed: false,
            })?;
        }
        self.armed = false;
        Ok(())
    }

    /// KILL QUERY of the ALTER, then waits for it to stop (KILL of its
    /// connection if it does not). Writes ddl_end.
    pub(super) fn kill_ddl(&mut self) -> Result<DdlOutcome, String> {
        let id = self.ddl_conn;
        let kill = format!("KILL QUERY {id}");
        let spare = self.kill_conn.take().and_then(|mut c| {
            mysql::prelude::Queryable::query_drop(&mut c, &kill)
                .is_ok()
                .then_some(c)
        });
        // The connection kept for it may have gone stale: then a new one.
        let mut conn = match spare {
            Some(c) => c,
            None => {
                let mut conn = self.control()?;
                mysql::prelude::Queryable::query_drop(&mut conn, &kill)
                    .map_err(|e| format!("{kill}: {}", db::err(&e)))?;
                conn
            }
        };
        let sent = now();
        let _ = self.rec.sync();
        let _ = self.rec.event_at(
            sent,
            Event::Log {
                level: "INFO".into(),
                message: format!("KILL QUERY {id} sent; waiting for the ALTER to stop"),
            },
        );
        if let Some(r) = self.wait_ddl(KILL_WAIT).map_err(|e| e.to_string())? {
            return self.ddl_finished(r, true).map_err(|e| e.to_string());
        }
        let _ = self.rec.log(
            "WARN",
            format!(
                "the ALTER did not stop within {}: KILL {id}",
                human(KILL_WAIT)
            ),
        );
        mysql::prelude::Queryable::query_drop(&mut conn, format!("KILL {id}"))
            .map_err(|e| format!("KILL {id}: {}", db::err(&e)))?;
        match self
            .wait_ddl(Duration::from_secs(30))
            .map_err(|e| e.to_string())?
        {
            Some(r) => self.ddl_finished(r, true).map_err(|e| e.to_string()),
            None => Err(format!(
                "the ALTER on connection {id} did not stop after KILL QUERY and KILL"
            )),
        }
    }

    /// Waits for the DDL thread's result, recording samples meanwhile.
    pub(super) fn wait_ddl(&mut self, timeout: Duration) -> Result<Option<DdlResult>> {
        let deadline = Instant::now() + timeout;
        let phase = self.phase.map(|(p, _)| p).unwrap_or(Phase::Execute);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            match self.rx.recv_timeout(left) {
                Ok(Msg::Ddl(r)) => return Ok(Some(r)),
                Ok(Msg::Lost(e)) => {
                    self.rec.log(
                        "ERROR",
                        format!("lost the server while stopping the ALTER: {e}"),
                    )?;
                    self.server_lost = true;
                }
                Ok(Msg::Sample(s)) => {
                    // Recorded, not judged: the rollback is already under way.
                    let rows: Vec<(DateTime<Utc>, &str, f64)> =
                        s.values.iter().map(|(m, v)| (s.ts, m.key(), *v)).collect();
                    self.rec.metrics(&rows)?;
                }
                Ok(Msg::Replica(r)) => {
                    self.latest.lag_s = r.lag_s;
                    if let Some(lag) = r.lag_s {
                        self.rec
                            .metrics(&[(r.ts, MetricId::ReplicationLagS.key(), lag)])?;
                    }
                }
                Ok(Msg::ReplicaLost(e)) => {
                    self.latest.lag_s = None;
                    self.rec
                        .log("ERROR", format!("while stopping the ALTER: {e}"))?;
                }
                Ok(other) => {
                    self.handle(other, phase)?;
                }
                Err(RecvTimeoutError::Timeout) => return Ok(None),
                Err(RecvTimeoutError::Disconnected) => unreachable!("the runner holds a sender"),
            }
        }
    }

    /// DROP INDEX, retried on a metadata lock timeout; returns its duration.
    pub(super) fn drop_index(&mut self) -> Result<f64, String> {
        let sql = drop_index_sql(&self.cfg);
        let mut conn = self.control()?;
        let mut last = String::new();
        for attempt in 1..=3 {
            let t0 = Instant::now();
            match mysql::prelude::Queryable::query_drop(&mut conn, &sql) {
                Ok(()) => return Ok(t0.elapsed().as_secs_f64()),
                Err(e) if db::error_code(&e) == Some(1205) && attempt < 3 => {
                    last = db::err(&e);
                    let _ = self.rec.log(
                        "WARN",
                        format!("DROP INDEX attempt {attempt}: {last}; retrying"),
                    );
                }
                Err(e) => return Err(db::err(&e)),
            }
        }
        Err(last)
    }

    // ---- server lost ------------------------------------------------------------------

    /// The server is gone: incident, a rollback attempt if anything may have
    /// changed, run_end aborted.
    pub(super) fn fail_safe(&mut self, e: String) -> Result<()> {
        self.server_lost = true;
        let reason = format!("lost the server: {e}");
        self.rec.event(Event::Incident {
            id: Some(TRIGGER_INCIDENT.into()),
            severity: Severity::Critical,
            description: reason.clone(),
            action: Some(if self.rolled_back {
                "run aborted".into()
            } else {
                "rollback attempt, run aborted".into()
            }),
            resolution: None,
            status: IncidentStatus::Open,
        })?;
        if self.ddl_running {
            // The ALTER's own connection fails with the server; give it a moment.
            if let Some(r) = self.wait_ddl(Duration::from_secs(5))? {
                self.ddl_finished(r, false)?;
            }
        }
        if !self.rolled_back && self.ddl_started && self.index_present != Some(false) {
            self.rollback(RollbackTrigger::Automatic, reason.clone())?;
        }
        self.phase_end(PhaseStatus::Aborted)?;
        self.stopped_early = Some(reason);
        self.final_check()?;
        self.end_run(RunStatus::Aborted)
    }

    /// The checks of 5.4 that need the after window's data.
    pub(super) fn post_rollback_checks(&mut self) -> Result<()> {
        if !self.rolled_back || self.rollback_ok != Some(true) {
            return Ok(());
        }
        let max_pct = self.cfg.thresholds.rules.max_post_latency_degradation_pct;
        let mut after = self.after_probes.clone();
        let mut base = self.baseline_probes.clone();
        if let (Some(a), Some(b)) = (
            crate::judge::bounds::representative_of(&mut after, crate::thresholds::Statistic::P50),
            crate::judge::bounds::representative_of(&mut base, crate::thresholds::Statistic::P50),
        ) {
            let limit = b * (1.0 + max_pct / 100.0);
            self.rec.event(Event::PostRollbackCheck {
                check: "Latency returning to baseline".into(),
                actual: format!(
                    "probe P50 {} ms after the rollback vs {} ms in the baseline (limit +{}%)",
                    fmt_num(a),
                    fmt_num(b),
                    fmt_num(max_pct)
                ),
                passed: a <= limit,
            })?;
        }
        let (b_ok, b_err) = self
            .probe_counts
            .get(&Phase::Baseline)
            .copied()
            .unwrap_or_default();
        let (a_ok, a_err) = self
            .probe_counts
            .get(&Phase::After)
            .copied()
            .unwrap_or_default();
        if a_ok + a_err > 0 && b_ok + b_err > 0 {
            let rate = |ok: u64, err: u64| err as f64 / (ok + err) as f64 * 100.0;
            let (ra, rb) = (rate(a_ok, a_err), rate(b_ok, b_err));
            self.rec.event(Event::PostRollbackCheck {
                check: "Error rate returning to baseline".into(),
                actual: format!(
                    "probe errors {a_err} of {} ({ra:.1}%) after the rollback vs {b_err} of {} ({rb:.1}%) in the baseline",
                    a_ok + a_err,
                    b_ok + b_err
                ),
                passed: ra <= rb,
            })?;
        }
        let minutes = self
            .rollback_at
            .map(|t| t.elapsed().as_secs_f64() / 60.0)
            .unwrap_or(0.0);
        self.rec.event(Event::PostRollbackCheck {
            check: "No new alerts".into(),
            actual: format!(
                "{} critical alert(s) in the {minutes:.1} min after the rollback",
                self.alerts_after_rollback
            ),
            passed: self.alerts_after_rollback == 0,
        })?;
        if let Some(source) = self.lag_source() {
            let lag = self.latest.lag_s;
            self.rec.event(Event::PostRollbackCheck {
                check: "Replication healthy".into(),
                actual: lag.map_or(
                    format!(
                        "replication lag unknown on {source} (replication stopped, or unreadable)"
                    ),
                    |l| format!("replication lag {} s on {source}", fmt_num(l)),
                ),
                passed: lag.is_some_and(|l| {
                    l <= self
                        .cfg
                        .thresholds
                        .for_metric(MetricId::ReplicationLagS)
                        .warning
                        .unwrap_or(30.0)
                }),
            })?;
        }
        Ok(())
    }
}
