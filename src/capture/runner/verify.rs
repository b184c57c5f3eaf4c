//! Phase 4: SHOW INDEX and EXPLAIN after the DDL (template 6.1).

use super::*;

impl Runner {
    // ---- 4. verification ---------------------------------------------------------------

    pub(super) fn verification(&mut self) -> Result<()> {
        self.phase_start(Phase::Verification, None)?;
        let cfg = self.cfg.clone();
        let (d, t, i) = (&cfg.target.database, &cfg.table, &cfg.index);
        let lead = &cfg.columns[0];
        let numeric = self
            .columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(lead.as_str()) && c.is_numeric());
        let result = (|| -> Result<(db::ShownIndex, Option<(String, db::Explained)>), String> {
            let mut conn = self.control()?;
            let shown = db::show_index(&mut conn, d, t, i)
                .map_err(|e| format!("SHOW INDEX: {}", db::err(&e)))?;
            let value = db::sample_value(&mut conn, d, t, lead)
                .map_err(|e| format!("cannot read a value of `{lead}`: {e}"))?;
            let explained = match value {
                Some(v) => {
                    let query = format!(
                        "EXPLAIN SELECT * FROM {}.{} WHERE {} = {}",
                        d.quoted(),
                        t.quoted(),
                        lead.quoted(),
                        db::shown_literal(&v, numeric)
                    );
                    let e = db::explain_lookup(&mut conn, d, t, lead, v)
                        .map_err(|e| format!("EXPLAIN: {e}"))?;
                    Some((query, e))
                }
                None => None,
            };
            Ok((shown, explained))
        })();
        let (shown, explained) = match result {
            Ok(r) => r,
            Err(e) => {
                self.rec.log("ERROR", format!("verification failed: {e}"))?;
                self.phase_end(PhaseStatus::Failed)?;
                return self.verification_failed(format!("verification could not run: {e}"));
            }
        };
        if explained.is_none() {
            self.rec.log(
                "WARN",
                format!("`{lead}` has no non-NULL value: EXPLAIN skipped"),
            )?;
        }
        let (explain_query, explain) = match explained {
            Some((q, e)) => (Some(q), Some(e)),
            None => (None, None),
        };
        let columns_ok = shown.columns.len() == cfg.columns.len()
            && shown
                .columns
                .iter()
                .zip(&cfg.columns)
                .all(|(a, b)| a.eq_ignore_ascii_case(b.as_str()));
        let type_ok = shown
            .index_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("BTREE"));
        let explain_ok = explain.as_ref().is_some_and(|e| {
            matches!(
                e.access_type.as_deref(),
                Some("ref" | "range" | "eq_ref" | "const" | "ref_or_null" | "index_merge")
            ) && e
                .key
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case(i.as_str()))
        });
        self.rec.event(Event::Verification {
            index_exists: shown.exists,
            columns: shown.columns.clone(),
            index_type: shown.index_type.clone(),
            explain_type: explain.as_ref().and_then(|e| e.access_type.clone()),
            explain_key: explain.as_ref().and_then(|e| e.key.clone()),
            explain_query,
            show_index_output: Some(shown.raw.clone()),
            explain_output: explain.as_ref().map(|e| e.raw.clone()),
        })?;
        self.index_present = Some(shown.exists);
        if !shown.exists || !columns_ok || !type_ok {
            self.phase_end(PhaseStatus::Failed)?;
            let what = if !shown.exists {
                "the index is not in SHOW INDEX".to_string()
            } else if !columns_ok {
                format!(
                    "the index has columns ({}), not ({})",
                    shown.columns.join(", "),
                    cfg.columns
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                format!(
                    "the index type is {}, not BTREE",
                    shown.index_type.as_deref().unwrap_or("?")
                )
            };
            return self.verification_failed(format!("verification failed: {what}"));
        }
        if !explain_ok && explain.is_some() {
            self.rec.log(
                "WARN",
                "EXPLAIN does not use the new index for the lookup (the optimizer's choice for this value): recorded, no rollback",
            )?;
        }
        self.phase_end(PhaseStatus::Done)?;
        let Some((g, c)) = self.read_switches() else {
            return Ok(());
        };
        self.latest.switches = Some((g.state, c.state));
        self.write_switch_check(super::POST_ADD_INDEX, &g, &c)?;
        if !(g.state.is_off() && c.state.is_off()) {
            self.switch_alarm = true;
            self.act_on(Stop::Switch {
                global: g,
                connection: c,
            })?;
        }
        Ok(())
    }

    pub(super) fn verification_failed(&mut self, why: String) -> Result<()> {
        if self.index_present == Some(false) {
            self.rec.event(Event::Incident {
                id: None,
                severity: Severity::Critical,
                description: why.clone(),
                action: Some("canary stopped: nothing to roll back".into()),
                resolution: None,
                status: IncidentStatus::Open,
            })?;
            self.stopped_early = Some(why);
            return Ok(());
        }
        self.rec.event(Event::Incident {
            id: Some(super::rollback::TRIGGER_INCIDENT.into()),
            severity: Severity::Critical,
            description: why.clone(),
            action: Some(if self.cfg.auto_rollback {
                "automatic rollback: DROP INDEX".into()
            } else {
                "none: --no-auto-rollback".into()
            }),
            resolution: None,
            status: IncidentStatus::Open,
        })?;
        if self.cfg.auto_rollback {
            self.rollback(RollbackTrigger::Automatic, why.clone())?;
            self.stopped_early = Some(why);
        } else {
            self.rec.log(
                "WARN",
                format!("{why}: not rolling back (--no-auto-rollback)"),
            )?;
        }
        Ok(())
    }
}
