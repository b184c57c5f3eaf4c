//! Phase 1: the pre-check (nothing is changed), and the dry run's plan.

use super::super::args::{Replica, SslMode};
use super::*;
use crate::thresholds::BoundKind;

impl Runner {
    pub(super) fn print_plan(&self) {
        let c = &self.cfg;
        let checkpoints: Vec<String> = c
            .checkpoints
            .iter()
            .map(|d| format!("+{}", human(*d)))
            .collect();
        println!("Dry run: the pre-check passed; nothing was changed.");
        println!();
        println!("DDL:      {};", add_index_sql(c));
        println!("Rollback: {};", drop_index_sql(c));
        println!();
        println!("Plan:");
        println!("  1. pre-check (done)");
        println!(
            "  2. baseline        {} (sample every {})",
            human(c.baseline),
            human_ms(c.interval)
        );
        println!(
            "  3. execute         the DDL above (lock_wait_timeout {})",
            human(c.lock_wait_timeout)
        );
        println!(
            "  4. verification    {}; EXPLAIN of a lookup on `{}`",
            db::show_index_sql(&c.target.database, &c.table, &c.index),
            c.columns[0]
        );
        println!(
            "  5. monitoring      {} (kill switch checkpoints {})",
            human(c.monitoring),
            checkpoints.join(", ")
        );
        println!("  6. after           {}", human(c.after));
        match &c.switches {
            Some(s) => println!(
                "Kill switches: global {}, connection {} (timeout {})",
                s.describe(&s.global),
                s.describe(&s.connection),
                human_ms(s.timeout)
            ),
            None => println!("Kill switches: none (--no-kill-switch: the team declared none)"),
        }
        println!(
            "Automatic rollback: {}",
            if c.auto_rollback {
                "on (kill switch ON/unreadable, or a confirmed critical breach)"
            } else {
                "off (--no-auto-rollback)"
            }
        );
        if let Some(p) = &self.probe {
            println!("Probe query: {}", p.describe());
        }
        println!(
            "Replication lag: {}",
            self.lag_source()
                .map_or("not sampled (no replica)".into(), |s| format!("from {s}"))
        );
        println!("TLS: --ssl-mode {}", c.tls.describe());
    }

    /// Where the run's readings come from, for the manifest (and so the
    /// report): the server, the latency, the lag, the host, the switches.
    fn sources(&self, info: &ServerInfo) -> crate::model::Sources {
        let c = &self.cfg;
        let latency = match (&self.histogram, &self.probe) {
            (Some(h), _) => format!("query latency: {}", h.name()),
            (None, Some(p)) => format!("query latency: the probe query, {}", p.describe()),
            (None, None) => "query latency: not sampled".into(),
        };
        let lag = match self.lag_source() {
            Some(s) => format!("replication lag: {s}"),
            None => "replication lag: not sampled (no replica)".into(),
        };
        let host = if c.host_metrics {
            "host CPU, memory and disk: this machine's /proc (the server is local)"
        } else {
            "host CPU, memory and disk: not sampled (the server is not on this machine)"
        };
        crate::model::Sources {
            global_kill_switch: c.switches.as_ref().map(|s| s.record(&s.global)),
            connection_kill_switch: c.switches.as_ref().map(|s| s.record(&s.connection)),
            metrics: vec![
                format!(
                    "{} at {}: server status, the process list and InnoDB transactions every {}",
                    info.version,
                    c.connection_id,
                    humantime::format_duration(c.interval)
                ),
                latency,
                lag,
                host.into(),
            ],
        }
    }

    // ---- 1. pre-check ---------------------------------------------------------

    /// `Ok(Err(why))` when the pre-check refuses.
    pub(super) fn precheck(&mut self) -> Result<Result<(), String>> {
        let cfg = self.cfg.clone();
        let (db_, table, index) = (&cfg.target.database, &cfg.table, &cfg.index);
        self.rec
            .log("INFO", format!("connecting to {}", cfg.connection_id))?;
        let mut conn = match db::connect(&cfg, Some(cfg.query_timeout)) {
            Ok(c) => c,
            Err(e) => {
                return Ok(Err(format!(
                    "cannot connect to {}: {}",
                    cfg.connection_id,
                    db::connect_err(&e, &cfg.tls)
                )));
            }
        };
        macro_rules! try_q {
            ($what:expr, $e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(format!("{}: {e}", $what))),
                }
            };
        }
        if let Err(why) = self.check_tls(&mut conn, &cfg.connection_id)? {
            return Ok(Err(why));
        }
        let info = try_q!("cannot read the server version", db::server_info(&mut conn));
        self.rec.log(
            "INFO",
            format!(
                "server: {} {} (max_connections {})",
                if info.flavour == Flavour::MariaDb {
                    "MariaDB"
                } else {
                    "MySQL"
                },
                info.version,
                info.max_connections
            ),
        )?;
        self.rec.manifest.max_connections = Some(info.max_connections);
        self.detector = Detector::new(
            cfg.thresholds.clone(),
            Some(info.max_connections),
            cfg.max_mdl_waiters,
        );

        let t = try_q!(
            "cannot read information_schema.TABLES",
            db::table_info(&mut conn, db_, table)
        );
        let Some(t) = t else {
            return Ok(Err(format!("table `{db_}`.`{table}` does not exist")));
        };
        if t.table_type != "BASE TABLE" {
            return Ok(Err(format!(
                "`{db_}`.`{table}` is a {}, not a base table",
                t.table_type
            )));
        }
        let engine = t.engine.clone().unwrap_or_default();
        self.rec.manifest.target.engine = t.engine.clone();
        self.rec.manifest.target.rows = t.rows;
        self.rec.manifest.target.data_size_bytes = t.data_bytes;
        self.rec.log(
            "INFO",
            format!(
                "table `{db_}`.`{table}`: engine {engine}, ~{} rows (estimate), data {} bytes, indexes {} bytes",
                t.rows.map_or("?".into(), |r| r.to_string()),
                t.data_bytes.map_or("?".into(), |r| r.to_string()),
                t.index_bytes.map_or("?".into(), |r| r.to_string()),
            ),
        )?;
        if !engine.eq_ignore_ascii_case("InnoDB") {
            return Ok(Err(format!(
                "engine {engine}: an online ADD INDEX (ALGORITHM=INPLACE, LOCK=NONE) needs InnoDB"
            )));
        }

        let columns = try_q!(
            "cannot read information_schema.COLUMNS",
            db::columns(&mut conn, db_, table)
        );
        for c in &cfg.columns {
            match columns
                .iter()
                .find(|x| x.name.eq_ignore_ascii_case(c.as_str()))
            {
                None => {
                    return Ok(Err(format!(
                        "column `{c}` does not exist in `{db_}`.`{table}`"
                    )));
                }
                Some(x) if x.needs_prefix() => {
                    return Ok(Err(format!(
                        "column `{c}` is {}: it can only be indexed with a prefix length, which capture does not do",
                        x.data_type
                    )));
                }
                Some(_) => {}
            }
        }
        self.rec.log(
            "INFO",
            format!(
                "columns present: {}",
                cfg.columns
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )?;
        let indexes = try_q!(
            "cannot read information_schema.STATISTICS",
            db::indexes(&mut conn, db_, table)
        );
        if let Some((name, _)) = indexes
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(index.as_str()))
        {
            return Ok(Err(format!(
                "an index named `{name}` already exists on `{db_}`.`{table}`"
            )));
        }
        let wanted: Vec<String> = cfg
            .columns
            .iter()
            .map(|c| c.as_str().to_ascii_lowercase())
            .collect();
        for (name, cols) in &indexes {
            let cols: Vec<String> = cols.iter().map(|c| c.to_ascii_lowercase()).collect();
            if cols.starts_with(&wanted) {
                self.rec.log(
                    "WARN",
                    format!("index `{name}` ({}) already covers these columns: the new index may be redundant", cols.join(", ")),
                )?;
            }
        }
        self.rec
            .log("INFO", format!("index `{index}` not present yet"))?;

        let old = try_q!(
            "cannot read information_schema.INNODB_TRX (the PROCESS privilege is needed)",
            db::old_transactions(&mut conn, cfg.max_trx_age)
        );
        if !old.is_empty() {
            let list: Vec<String> = old
                .iter()
                .take(5)
                .map(|t| {
                    format!(
                        "thread {} open {} s{}",
                        t.thread_id,
                        t.age_s,
                        t.query
                            .as_ref()
                            .map(|q| format!(" ({})", q.chars().take(60).collect::<String>()))
                            .unwrap_or_default()
                    )
                })
                .collect();
            return Ok(Err(format!(
                "{} transaction(s) open for longer than {}: {}; the ALTER would wait for their metadata locks",
                old.len(),
                human(cfg.max_trx_age),
                list.join("; ")
            )));
        }
        self.rec.log(
            "INFO",
            format!(
                "no transaction open for longer than {}",
                human(cfg.max_trx_age)
            ),
        )?;
        let waiters = try_q!(
            "cannot read the process list",
            db::mdl_waiters(&mut conn, table, None).map_err(|e| db::err(&e))
        );
        if waiters > 0 {
            return Ok(Err(format!(
                "{waiters} session(s) already waiting for the metadata lock of `{table}`"
            )));
        }
        self.rec
            .log("INFO", "no session waiting for the table's metadata lock")?;

        match db::find_histogram(&mut conn, info.flavour) {
            Ok(h) if self.cfg.latency_source == LatencySource::Probe => self.rec.log(
                "INFO",
                format!(
                    "query latency from the probe query (--latency-source probe); \
                     the server's {} is not sampled",
                    h.name()
                ),
            )?,
            Ok(h) => {
                self.histogram = Some(h);
                self.rec.log(
                    "INFO",
                    format!(
                        "server query latency (query_latency_p50_ms / p99_ms) from {}",
                        h.name()
                    ),
                )?;
            }
            Err(why) => self
                .rec
                .log("INFO", format!("no server-side latency histogram: {why}"))?,
        }
        match &cfg.replica {
            Some(replica) => {
                if let Err(why) = self.check_replica(replica, info.server_id)? {
                    return Ok(Err(why));
                }
            }
            None => match db::replica_status(&mut conn, info.flavour) {
                Ok(Some(status)) => {
                    if let Err(why) =
                        self.check_replication("the server itself (a replica)", &status)?
                    {
                        return Ok(Err(why));
                    }
                    self.replica = true;
                    self.rec.log(
                        "INFO",
                        "the server is a replica: replication_lag_s is read from it",
                    )?;
                }
                Ok(None) => self.rec.log(
                    "INFO",
                    "the server is not a replica and no --replica is given: \
                     replication_lag_s is not sampled",
                )?,
                // The operator says there is no replication: trusted, said.
                Err(e) if cfg.no_replication => self.rec.log(
                    "INFO",
                    format!(
                        "replication status not readable ({}); --no-replication says the \
                         server has none: replication_lag_s is not sampled",
                        db::err(&e)
                    ),
                )?,
                // A privilege it lacks must not pass for "not a replica".
                Err(e) => {
                    return Ok(Err(format!(
                        "cannot tell whether the server is a replica: {} fails ({}); grant \
                         {} to the capture user, or pass --no-replication if the server has \
                         no replication",
                        replica_status_sql(info.flavour),
                        db::err(&e),
                        replica_status_privilege(info.flavour)
                    )));
                }
            },
        }
        self.rec.log(
            "INFO",
            if cfg.host_metrics {
                "host metrics (CPU, memory, disk) from this machine's /proc".to_string()
            } else {
                "host metrics not sampled (the server is not on this machine)".to_string()
            },
        )?;

        self.probe = Some(match &cfg.probe_query {
            Some(sql) => ProbeSpec::Fixed(sql.clone()),
            None => {
                let pk: Vec<&db::ColumnInfo> = columns.iter().filter(|c| c.key == "PRI").collect();
                match pk.as_slice() {
                    [one] if one.is_integer() && Ident::new("primary key", &one.name).is_ok() => {
                        let pk = Ident::new("primary key", &one.name)?;
                        let sql = format!(
                            "SELECT MIN({0}), MAX({0}) FROM {1}",
                            pk.quoted(),
                            table_sql(&cfg)
                        );
                        let range: Option<(Option<String>, Option<String>)> = try_q!(
                            "cannot read the primary key range",
                            mysql::prelude::Queryable::query_first(&mut conn, sql)
                                .map_err(|e| db::err(&e))
                        );
                        let parse = |v: Option<String>| v.and_then(|s| s.parse::<i64>().ok());
                        match range.map(|(a, b)| (parse(a), parse(b))) {
                            Some((Some(min), Some(max))) => ProbeSpec::PointRead {
                                table_sql: table_sql(&cfg),
                                pk,
                                min,
                                max,
                            },
                            _ => ProbeSpec::Fixed(format!(
                                "SELECT * FROM {} LIMIT 1",
                                table_sql(&cfg)
                            )),
                        }
                    }
                    _ => ProbeSpec::Fixed(format!("SELECT * FROM {} LIMIT 1", table_sql(&cfg))),
                }
            }
        });
        let probe = self
            .probe
            .as_ref()
            .map(|p| p.describe())
            .unwrap_or_default();
        self.rec
            .log("INFO", format!("probe query (query_latency_ms): {probe}"))?;
        self.columns = columns;
        self.rec.manifest.sources = self.sources(&info);
        self.info = Some(info);

        let Some(switches) = cfg.switches.as_ref() else {
            self.rec.log(
                "WARN",
                "no kill switch: the team declared none (--no-kill-switch); the canary stops \
                 only on a critical breach, a lost server or the operator (Ctrl-C)",
            )?;
            return Ok(Ok(()));
        };
        for (name, s) in [
            ("global", &switches.global),
            ("connection", &switches.connection),
        ] {
            self.rec.log(
                "INFO",
                format!("{name} kill switch: {}", switches.describe(s)),
            )?;
        }
        match self.check_switches(super::PRE_EXECUTION.into())? {
            Some(stop) => Ok(Err(stop.reason())),
            None => Ok(Ok(())),
        }
    }

    /// Records the session's TLS; refuses an unencrypted session when
    /// --ssl-mode requires TLS.
    fn check_tls(&mut self, conn: &mut mysql::Conn, who: &str) -> Result<Result<(), String>> {
        let tls = &self.cfg.tls;
        let session = match db::session_tls(conn) {
            Ok(s) => s,
            Err(e) => {
                return Ok(Err(format!(
                    "{who}: cannot read the session's TLS status (Ssl_cipher): {e}"
                )));
            }
        };
        let checked = match tls.mode {
            SslMode::VerifyCa => "certificate checked against the CA, host name not checked",
            SslMode::VerifyIdentity => "certificate checked against the CA, and the host name",
            SslMode::Disabled => "TLS not used",
            _ => "certificate not checked",
        };
        match session {
            Some((version, cipher)) => self.rec.log(
                "INFO",
                format!(
                    "TLS to {who}: --ssl-mode {} ({checked}); session encrypted, \
                     Ssl_version {version}, Ssl_cipher {cipher}",
                    tls.describe()
                ),
            )?,
            None if tls.mode.requires_tls() => {
                return Ok(Err(format!(
                    "{who}: the session is not encrypted (Ssl_cipher empty), \
                     and --ssl-mode {} requires TLS",
                    tls.mode
                )));
            }
            None => self.rec.log(
                if tls.mode == SslMode::Disabled {
                    "INFO"
                } else {
                    "WARN"
                },
                format!(
                    "TLS to {who}: --ssl-mode {}; session NOT encrypted (Ssl_cipher empty{})",
                    tls.describe(),
                    if tls.mode == SslMode::Preferred {
                        ": the server offers no TLS, or this is a Unix socket"
                    } else {
                        ""
                    }
                ),
            )?,
        }
        Ok(Ok(()))
    }

    /// The replica given with --replica: reachable (with the same TLS), a
    /// replica, replicating, its lag within the critical bound.
    fn check_replica(&mut self, replica: &Replica, primary_id: u64) -> Result<Result<(), String>> {
        let who = format!("the replica {}", replica.label);
        self.rec.log("INFO", format!("connecting to {who}"))?;
        let tls = self.cfg.tls.clone();
        let mut conn = match db::connect_replica(replica, &tls, Some(self.cfg.query_timeout)) {
            Ok(c) => c,
            Err(e) => {
                return Ok(Err(format!(
                    "cannot connect to {who}: {}",
                    db::connect_err(&e, &tls)
                )));
            }
        };
        if let Err(why) = self.check_tls(&mut conn, &who)? {
            return Ok(Err(why));
        }
        let info = match db::server_info(&mut conn) {
            Ok(i) => i,
            Err(e) => return Ok(Err(format!("{who}: cannot read the server version: {e}"))),
        };
        let status = match db::replica_status(&mut conn, info.flavour) {
            Ok(Some(s)) => s,
            Ok(None) => {
                return Ok(Err(format!(
                    "{who} ({}) is not a replica: {} returns no row; \
                     --replica must name a replica of {}",
                    info.version,
                    replica_status_sql(info.flavour),
                    self.cfg.connection_id
                )));
            }
            Err(e) => {
                return Ok(Err(format!(
                    "{who}: cannot read its replica status (the {} privilege is needed): {}",
                    replica_status_privilege(info.flavour),
                    db::err(&e)
                )));
            }
        };
        if let Err(why) = self.check_replication(&who, &status)? {
            return Ok(Err(why));
        }
        let sources: Vec<u64> = status
            .channels
            .iter()
            .filter_map(|c| c.source_server_id)
            .collect();
        if !sources.is_empty() && !sources.contains(&primary_id) {
            // A replica of a replica is fine; another primary's is not.
            self.rec.log(
                "WARN",
                format!(
                    "{who} replicates from server id {}, and {} is server id {primary_id}: \
                     fine for a replica of a replica of it, otherwise its lag is not this server's",
                    sources
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.cfg.connection_id
                ),
            )?;
        }
        self.replica_flavour = Some(info.flavour);
        self.rec.log(
            "INFO",
            format!(
                "replication_lag_s is read from {who} ({}, --replica), on its own connection; \
                 the server's own replication status is not sampled",
                info.version
            ),
        )?;
        Ok(Ok(()))
    }

    /// Replication must run, with its lag within the critical bound of
    /// replication_lag_s, unless the thresholds turn that metric off.
    fn check_replication(
        &mut self,
        who: &str,
        status: &db::ReplicaStatus,
    ) -> Result<Result<(), String>> {
        let th = self
            .cfg
            .thresholds
            .for_metric(MetricId::ReplicationLagS)
            .clone();
        let judged = th.kind != BoundKind::None;
        let state = status.describe();
        let Some(lag) = status.lag_s() else {
            if !judged {
                self.rec.log(
                    "WARN",
                    format!(
                        "replication is stopped on {who}: {state} \
                         (not judged: replication_lag_s is kind \"none\")"
                    ),
                )?;
                return Ok(Ok(()));
            }
            return Ok(Err(format!(
                "replication is stopped on {who}: {state}; start it (START SLAVE / \
                 START REPLICA) before the canary"
            )));
        };
        if judged
            && th.kind == BoundKind::Above
            && let Some(critical) = th.critical
            && lag > critical
        {
            return Ok(Err(format!(
                "replication lag on {who} is already {} s, above the critical bound {} s \
                 of replication_lag_s: {state}",
                fmt_num(lag),
                fmt_num(critical)
            )));
        }
        self.rec
            .log("INFO", format!("replication on {who}: running, {state}"))?;
        Ok(Ok(()))
    }
}

/// The statement that reads replication status.
fn replica_status_sql(flavour: Flavour) -> &'static str {
    match flavour {
        Flavour::MariaDb => "SHOW ALL SLAVES STATUS",
        Flavour::MySql => "SHOW REPLICA STATUS",
    }
}

/// The privilege that statement needs.
fn replica_status_privilege(flavour: Flavour) -> &'static str {
    match flavour {
        // MariaDB 10.5.9 split it out of REPLICATION CLIENT (1227 without it).
        Flavour::MariaDb => "SLAVE MONITOR (REPLICATION CLIENT before MariaDB 10.5.9)",
        Flavour::MySql => "REPLICATION CLIENT",
    }
}
