//! The threads that talk to the servers while the main loop keeps time and
//! judges (the kill switches have their own watchers, in `switch`): the sampler (status counters, process list,
//! histograms, host), the probe (the timed query), the DDL itself, and with
//! --replica the replica's watcher (replication lag). Each has its own
//! connection and reports through one channel, so a blocked query, or a
//! blocked replica, never stops the kill switch checks or the other samples.

use super::args::Config;
use super::db::{self, DdlProgress, Flavour, Histogram};
use super::host;
use super::ident::Ident;
use super::rundir::now;
use super::switch::Observation;
use crate::model::{MIN_EVENTS_FOR_A_RATIO, MetricId, Share, plain_number, share_pct};
use chrono::{DateTime, Utc};
use mysql::prelude::*;
use mysql::{Conn, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the workers send to the main loop.
#[derive(Debug)]
pub enum Msg {
    Sample(SampleMsg),
    Probe(ProbeMsg),
    Note {
        level: &'static str,
        message: String,
    },
    /// The sampler could not reconnect: the server is gone.
    Lost(String),
    Ddl(DdlResult),
    /// A reading of the replica (--replica).
    Replica(ReplicaMsg),
    /// The replica could not be read again: replication lag is unknown.
    ReplicaLost(String),
    /// A reading of a kill switch, by its watcher.
    Switch(Observation),
}

#[derive(Debug, Clone)]
pub struct ReplicaMsg {
    pub ts: DateTime<Utc>,
    /// Its lag; `None` when replication is stopped.
    pub lag_s: Option<f64>,
    /// Its state in words (threads, lag, source, last error).
    pub state: String,
}

#[derive(Debug, Clone)]
pub struct SampleMsg {
    pub ts: DateTime<Utc>,
    pub values: Vec<(MetricId, f64)>,
    /// Sessions waiting on the table's metadata lock (the ALTER left out).
    pub mdl_waiters: Option<u32>,
    /// The ALTER's session, while it runs.
    pub ddl: Option<DdlProgress>,
    /// The server is a replica whose replication is stopped: its state.
    pub replication_stopped: Option<String>,
    /// The server restarted since the last sample (its uptime went down):
    /// its uptime now, in seconds.
    pub restarted: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct ProbeMsg {
    /// When the probe query was sent.
    pub ts: DateTime<Utc>,
    /// Its latency; `None` when it never reached the server.
    pub latency_ms: Option<f64>,
    pub error: Option<String>,
}

#[derive(Debug)]
pub struct DdlResult {
    /// Error code and message when it failed.
    pub outcome: Result<(), (Option<u16>, String)>,
    pub duration: Duration,
    pub finished: DateTime<Utc>,
}

impl DdlResult {
    /// It failed because its connection went away (server gone, connection
    /// killed), not on an SQL error.
    pub fn lost_connection(&self) -> bool {
        matches!(
            &self.outcome,
            Err((None | Some(1053 | 1927 | 2006 | 2013), _))
        )
    }
}

/// State shared with the workers.
#[derive(Debug, Default)]
pub struct Shared {
    pub stop: AtomicBool,
    /// The ALTER's connection id while it runs; 0 otherwise.
    pub ddl_conn: AtomicU32,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Sleeps until `t` (or the stop flag), in short steps.
fn sleep_until(shared: &Shared, t: Instant) {
    while !shared.stopped() {
        let now = Instant::now();
        if now >= t {
            return;
        }
        std::thread::sleep((t - now).min(Duration::from_millis(100)));
    }
}

/// What the sampler needs to know.
pub struct SamplerSpec {
    pub flavour: Flavour,
    pub histogram: Option<Histogram>,
    pub replica: bool,
    pub host_metrics: bool,
}

pub fn spawn_sampler(
    cfg: Arc<Config>,
    spec: SamplerSpec,
    tx: Sender<Msg>,
    shared: Arc<Shared>,
) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("capture-sampler".into())
        .spawn(move || Sampler::new(cfg, spec, tx, shared).run())
        .expect("cannot start the sampler thread")
}

struct Sampler {
    cfg: Arc<Config>,
    spec: SamplerSpec,
    tx: Sender<Msg>,
    shared: Arc<Shared>,
    prev_status: Option<HashMap<String, f64>>,
    prev_hist: Option<Vec<(f64, u64)>>,
    prev_host: Option<host::HostSnapshot>,
    /// When the connection was lost, until the first sample after reconnecting.
    lost_at: Option<Instant>,
    /// Whether the log has said that too few page requests give no hit rate.
    hit_rate_too_few_noted: bool,
}

impl Sampler {
    fn new(cfg: Arc<Config>, spec: SamplerSpec, tx: Sender<Msg>, shared: Arc<Shared>) -> Sampler {
        Sampler {
            cfg,
            spec,
            tx,
            shared,
            prev_status: None,
            prev_hist: None,
            prev_host: None,
            lost_at: None,
            hit_rate_too_few_noted: false,
        }
    }

    fn note(&self, level: &'static str, message: String) {
        let _ = self.tx.send(Msg::Note { level, message });
    }

    fn connect(&self) -> Result<Conn, mysql::Error> {
        db::connect(&self.cfg, Some(self.cfg.query_timeout))
    }

    fn run(mut self) {
        let mut conn = match self.connect() {
            Ok(c) => Some(c),
            Err(e) => {
                self.note("WARN", format!("sampler: cannot connect: {}", db::err(&e)));
                None
            }
        };
        let mut next = Instant::now();
        while !self.shared.stopped() {
            let result = match conn.as_mut() {
                Some(c) => self.sample(c),
                None => Err(mysql::Error::DriverError(
                    mysql::DriverError::ConnectTimeout,
                )),
            };
            match result {
                Ok(msg) => {
                    if self.tx.send(Msg::Sample(msg)).is_err() {
                        return;
                    }
                }
                Err(e) if db::is_connectivity(&e) => match self.reconnect(&e) {
                    Some(c) => conn = Some(c),
                    None => return,
                },
                Err(e) => self.note("WARN", format!("sampler: {}", db::err(&e))),
            }
            next += self.cfg.interval;
            let now = Instant::now();
            if next < now {
                next = now;
            }
            sleep_until(&self.shared, next);
        }
    }

    /// Tries to reconnect, with backoff, until `--reconnect-for` has passed;
    /// reports the server lost if it cannot.
    fn reconnect(&mut self, e: &mysql::Error) -> Option<Conn> {
        let lost_at = Instant::now();
        let deadline = lost_at + self.cfg.reconnect_for;
        self.lost_at = Some(lost_at);
        self.note(
            "WARN",
            format!(
                "lost the connection to the server ({}); reconnecting for up to {}",
                db::err(e),
                humantime::format_duration(self.cfg.reconnect_for)
            ),
        );
        let mut last = db::err(e);
        let mut attempt = 0;
        while let Some(wait) = next_try(deadline, attempt) {
            attempt += 1;
            sleep_until(&self.shared, Instant::now() + wait);
            if self.shared.stopped() {
                return None;
            }
            match self.connect() {
                Ok(c) => {
                    self.note(
                        "WARN",
                        format!(
                            "reconnected to the server (attempt {attempt}, {:.1} s after the loss)",
                            lost_at.elapsed().as_secs_f64()
                        ),
                    );
                    return Some(c);
                }
                Err(e) => last = db::err(&e),
            }
        }
        let attempts = attempt;
        let _ = self.tx.send(Msg::Lost(format!(
            "{last} (after {attempts} reconnect attempts over {})",
            humantime::format_duration(self.cfg.reconnect_for)
        )));
        None
    }

    fn sample(&mut self, conn: &mut Conn) -> Result<SampleMsg, mysql::Error> {
        let ts = now();
        let mut values = Vec::new();
        let t0 = Instant::now();
        conn.ping()?;
        values.push((
            MetricId::NetworkLatencyMs,
            t0.elapsed().as_secs_f64() * 1000.0,
        ));

        let status = db::global_status(conn)?;
        let get = |m: &HashMap<String, f64>, k: &str| m.get(k).copied();
        if let Some(v) = get(&status, "threads_connected") {
            values.push((MetricId::ActiveConnections, v));
        }
        if let Some(v) = get(&status, "threads_running") {
            values.push((MetricId::ThreadsRunning, v));
        }
        // A restart shows as an uptime that went down, or, after a lost
        // connection, as a server up for no longer than the connection was
        // gone (Uptime counts whole seconds: one of slack). A session killed
        // on a server that stayed up is neither.
        let down_for = self.lost_at.take().map(|t| t.elapsed().as_secs_f64());
        let restarted = match (
            self.prev_status.as_ref().and_then(|p| get(p, "uptime")),
            get(&status, "uptime"),
        ) {
            (Some(before), Some(now)) if now < before => Some(now),
            (_, Some(now)) if down_for.is_some_and(|d| now <= d + 1.0) => Some(now),
            _ => None,
        };
        if let Some(prev) = &self.prev_status {
            // A counter that went down means the server restarted: no delta then.
            let delta = |k: &str| match (get(prev, k), get(&status, k)) {
                (Some(a), Some(b)) if b >= a => Some(b - a),
                _ => None,
            };
            if let Some(d) = delta("innodb_row_lock_time") {
                values.push((MetricId::LockWaitTimeS, d / 1000.0));
            }
            if let Some(d) = delta("table_locks_waited") {
                values.push((MetricId::TableLocksWaited, d));
            }
            if let (Some(reads), Some(requests)) = (
                delta("innodb_buffer_pool_reads"),
                delta("innodb_buffer_pool_read_requests"),
            ) {
                match buffer_pool_hit_rate(reads, requests) {
                    Share::Pct(v) => values.push((MetricId::BufferPoolHitRatePct, v)),
                    Share::Insufficient { events } => {
                        if !self.hit_rate_too_few_noted {
                            self.hit_rate_too_few_noted = true;
                            self.note(
                                "INFO",
                                format!(
                                    "buffer_pool_hit_rate_pct not recorded for an interval with {} \
                                     page read requests, fewer than {}: too few for a rate; \
                                     so for every such interval (noted once)",
                                    plain_number(events),
                                    plain_number(MIN_EVENTS_FOR_A_RATIO)
                                ),
                            );
                        }
                    }
                }
            }
        }
        self.prev_status = Some(status);

        let ddl_id = self.shared.ddl_conn.load(Ordering::Relaxed);
        let except = (ddl_id != 0).then_some(ddl_id);
        let mdl_waiters = Some(db::mdl_waiters(conn, &self.cfg.table, except)?);
        let ddl = match except {
            Some(id) => db::ddl_progress(conn, self.spec.flavour, id)?,
            None => None,
        };

        if let Some(h) = self.spec.histogram {
            match db::read_histogram(conn, h) {
                Ok(now_hist) => {
                    if let Some(prev) = &self.prev_hist {
                        if let Some(p50) = db::histogram_quantile(prev, &now_hist, 0.50) {
                            values.push((MetricId::QueryLatencyP50Ms, p50));
                        }
                        if let Some(p99) = db::histogram_quantile(prev, &now_hist, 0.99) {
                            values.push((MetricId::QueryLatencyP99Ms, p99));
                        }
                    }
                    self.prev_hist = Some(now_hist);
                }
                Err(e) if db::is_connectivity(&e) => return Err(e),
                Err(e) => {
                    self.note(
                        "WARN",
                        format!(
                            "server latency histogram unreadable, no longer sampled: {}",
                            db::err(&e)
                        ),
                    );
                    self.spec.histogram = None;
                }
            }
        }

        let mut replication_stopped = None;
        if self.spec.replica {
            match db::replica_status(conn, self.spec.flavour) {
                Ok(Some(s)) => match s.lag_s() {
                    Some(lag) => values.push((MetricId::ReplicationLagS, lag)),
                    None => replication_stopped = Some(s.describe()),
                },
                Ok(None) => {
                    replication_stopped = Some("not a replica any more (no replica status)".into())
                }
                Err(e) if db::is_connectivity(&e) => return Err(e),
                Err(e) => {
                    self.note(
                        "WARN",
                        format!(
                            "replication status unreadable, no longer sampled: {}",
                            db::err(&e)
                        ),
                    );
                    self.spec.replica = false;
                }
            }
        }

        if self.spec.host_metrics {
            let snap = host::snapshot();
            if let Some(prev) = &self.prev_host {
                let h = host::values(prev, &snap);
                for (m, v) in [
                    (MetricId::CpuUsagePct, h.cpu_pct),
                    (MetricId::MemoryUsagePct, h.memory_pct),
                    (MetricId::DiskReadMbS, h.disk_read_mb_s),
                    (MetricId::DiskWriteMbS, h.disk_write_mb_s),
                ] {
                    if let Some(v) = v {
                        values.push((m, v));
                    }
                }
            }
            self.prev_host = Some(snap);
        }
        Ok(SampleMsg {
            ts,
            values,
            mdl_waiters,
            ddl,
            replication_stopped,
            restarted,
        })
    }
}

/// The share of page read requests in an interval served from the buffer
/// pool: `reads` (from disk) of `requests`; insufficient below the minimum
/// (an idle server's 7 of 8 read 87.5 %, below the critical bound).
pub fn buffer_pool_hit_rate(reads: f64, requests: f64) -> Share {
    share_pct(requests - reads, requests)
}

/// Reads the replica's status every interval on its own connection (with
/// --query-timeout as read timeout). A failed read (lost connection, timeout,
/// SQL error) is retried on a new connection with backoff for
/// --reconnect-for; then the replica is reported lost.
pub fn spawn_replica(
    cfg: Arc<Config>,
    flavour: Flavour,
    tx: Sender<Msg>,
    shared: Arc<Shared>,
) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("capture-replica".into())
        .spawn(move || replica_loop(cfg, flavour, tx, shared))
        .expect("cannot start the replica thread")
}

fn replica_loop(cfg: Arc<Config>, flavour: Flavour, tx: Sender<Msg>, shared: Arc<Shared>) {
    let Some(replica) = cfg.replica.as_ref() else {
        return;
    };
    let note = |message: String| {
        let _ = tx.send(Msg::Note {
            level: "WARN",
            message,
        });
    };
    let mut conn: Option<Conn> = None;
    let mut failures = 0u32;
    let mut lost_at: Option<Instant> = None;
    let mut next = Instant::now();
    while !shared.stopped() {
        let read = match conn.as_mut() {
            Some(c) => db::replica_status(c, flavour).map_err(|e| db::err(&e)),
            None => db::connect_replica(replica, &cfg.tls, Some(cfg.query_timeout))
                .map_err(|e| db::connect_err(&e, &cfg.tls))
                .and_then(|mut c| {
                    let r = db::replica_status(&mut c, flavour).map_err(|e| db::err(&e));
                    conn = Some(c);
                    r
                }),
        };
        match read {
            Ok(status) => {
                if failures > 0 {
                    note(format!(
                        "replica {}: read again (after {failures} failed attempt(s))",
                        replica.label
                    ));
                    failures = 0;
                    lost_at = None;
                }
                let (lag_s, state) = match status {
                    Some(s) => (s.lag_s(), s.describe()),
                    None => (None, "not a replica any more (no replica status)".into()),
                };
                let msg = ReplicaMsg {
                    ts: now(),
                    lag_s,
                    state,
                };
                if tx.send(Msg::Replica(msg)).is_err() {
                    return;
                }
                next += cfg.interval;
            }
            Err(e) => {
                conn = None;
                let since = *lost_at.get_or_insert_with(Instant::now);
                if failures == 0 {
                    note(format!(
                        "replica {}: cannot read its status ({e}); retrying for up to {}",
                        replica.label,
                        humantime::format_duration(cfg.reconnect_for)
                    ));
                }
                let Some(wait) = next_try(since + cfg.reconnect_for, failures) else {
                    let _ = tx.send(Msg::ReplicaLost(format!(
                        "replica {} unreadable: {e} (after {failures} reconnect attempts over {})",
                        replica.label,
                        humantime::format_duration(cfg.reconnect_for)
                    )));
                    return;
                };
                failures += 1;
                next = Instant::now() + wait;
            }
        }
        let now = Instant::now();
        if next < now {
            next = now;
        }
        sleep_until(&shared, next);
    }
}

/// How long to wait before reconnect attempt `attempt` (0-based): 1 s, 2 s,
/// 4 s, then every 5 s, the last one at the deadline; `None` once the
/// deadline has passed.
pub(crate) fn next_try(deadline: Instant, attempt: u32) -> Option<Duration> {
    let now = Instant::now();
    if now >= deadline {
        return None;
    }
    let backoff = Duration::from_secs(1u64 << attempt.min(3)).min(Duration::from_secs(5));
    Some(backoff.min(deadline - now))
}

/// The timed query.
#[derive(Debug, Clone)]
pub enum ProbeSpec {
    /// `SELECT * FROM t WHERE pk >= ? ORDER BY pk LIMIT 1`, with a random key in [min, max].
    PointRead {
        table_sql: String,
        pk: Ident,
        min: i64,
        max: i64,
    },
    /// A fixed query.
    Fixed(String),
}

impl ProbeSpec {
    pub fn describe(&self) -> String {
        match self {
            ProbeSpec::PointRead {
                table_sql,
                pk,
                min,
                max,
            } => format!(
                "SELECT * FROM {table_sql} WHERE {} >= ? ORDER BY {} LIMIT 1 (? random in {min}..={max})",
                pk.quoted(),
                pk.quoted()
            ),
            ProbeSpec::Fixed(sql) => sql.clone(),
        }
    }
}

pub fn spawn_probe(
    cfg: Arc<Config>,
    flavour: Flavour,
    spec: ProbeSpec,
    tx: Sender<Msg>,
    shared: Arc<Shared>,
) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("capture-probe".into())
        .spawn(move || probe_loop(cfg, flavour, spec, tx, shared))
        .expect("cannot start the probe thread")
}

fn probe_connect(cfg: &Config, flavour: Flavour) -> Result<Conn, mysql::Error> {
    let timeout = cfg.query_timeout;
    let mut conn = db::connect(cfg, Some(timeout + Duration::from_secs(1)))?;
    let secs = timeout.as_secs().max(1);
    conn.query_drop("SET SESSION TRANSACTION READ ONLY")?;
    conn.query_drop(format!(
        "SET SESSION lock_wait_timeout = {secs}, innodb_lock_wait_timeout = {secs}"
    ))?;
    match flavour {
        Flavour::MariaDb => conn.query_drop(format!(
            "SET SESSION max_statement_time = {}",
            timeout.as_secs_f64()
        ))?,
        Flavour::MySql => conn.query_drop(format!(
            "SET SESSION max_execution_time = {}",
            timeout.as_millis()
        ))?,
    }
    Ok(conn)
}

fn probe_loop(
    cfg: Arc<Config>,
    flavour: Flavour,
    spec: ProbeSpec,
    tx: Sender<Msg>,
    shared: Arc<Shared>,
) {
    let mut conn: Option<Conn> = None;
    let mut lost = false;
    let mut rng = Rng::new();
    let mut next = Instant::now();
    while !shared.stopped() {
        if conn.is_none() {
            match probe_connect(&cfg, flavour) {
                Ok(c) => {
                    conn = Some(c);
                    if std::mem::take(&mut lost) {
                        let _ = tx.send(Msg::Note {
                            level: "WARN",
                            message: "probe: reconnected to the server".into(),
                        });
                    }
                }
                Err(e) => {
                    let msg = ProbeMsg {
                        ts: now(),
                        latency_ms: None,
                        error: Some(format!("cannot connect: {}", db::err(&e))),
                    };
                    if tx.send(Msg::Probe(msg)).is_err() {
                        return;
                    }
                }
            }
        }
        if let Some(c) = conn.as_mut() {
            let ts = now();
            let t0 = Instant::now();
            let result = match &spec {
                ProbeSpec::PointRead {
                    table_sql,
                    pk,
                    min,
                    max,
                } => {
                    let key = rng.range(*min, *max);
                    let sql = format!(
                        "SELECT * FROM {table_sql} WHERE {} >= ? ORDER BY {} LIMIT 1",
                        pk.quoted(),
                        pk.quoted()
                    );
                    c.exec_drop(sql, vec![Value::Int(key)])
                }
                ProbeSpec::Fixed(sql) => c.query_drop(sql),
            };
            let ms = t0.elapsed().as_secs_f64() * 1000.0;
            let msg = match result {
                Ok(()) => ProbeMsg {
                    ts,
                    latency_ms: Some(ms),
                    error: None,
                },
                Err(e) => {
                    let timed_out = matches!(&e, mysql::Error::IoError(io)
                        if matches!(io.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock));
                    let connectivity = db::is_connectivity(&e);
                    if connectivity {
                        conn = None;
                        lost = true;
                        let _ = tx.send(Msg::Note {
                            level: "WARN",
                            message: format!(
                                "probe: lost the connection to the server ({}); reconnecting",
                                db::err(&e)
                            ),
                        });
                    }
                    // The server answered (an error, a timeout): that took `ms`.
                    let latency_ms = (!connectivity || timed_out).then_some(ms);
                    ProbeMsg {
                        ts,
                        latency_ms,
                        error: Some(db::err(&e)),
                    }
                }
            };
            if tx.send(Msg::Probe(msg)).is_err() {
                return;
            }
        }
        next += cfg.interval;
        let now = Instant::now();
        if next < now {
            next = now;
        }
        sleep_until(&shared, next);
    }
}

/// Starts the ALTER on its own connection; returns that connection's id.
pub fn spawn_ddl(
    cfg: &Config,
    statement: String,
    tx: Sender<Msg>,
) -> Result<(u32, JoinHandle<()>), mysql::Error> {
    let mut conn = db::connect(cfg, None)?;
    conn.query_drop(format!(
        "SET SESSION lock_wait_timeout = {}",
        cfg.lock_wait_timeout.as_secs().max(1)
    ))?;
    let id = conn.connection_id();
    let handle = std::thread::Builder::new()
        .name("capture-ddl".into())
        .spawn(move || {
            let t0 = Instant::now();
            let r = conn.query_drop(&statement);
            let duration = t0.elapsed();
            let outcome = r.map_err(|e| (db::error_code(&e), db::err(&e)));
            let _ = tx.send(Msg::Ddl(DdlResult {
                outcome,
                duration,
                finished: now(),
            }));
        })
        .expect("cannot start the DDL thread");
    Ok((id, handle))
}

/// xorshift64*: enough to spread probe keys.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn range(&mut self, min: i64, max: i64) -> i64 {
        if max <= min {
            return min;
        }
        let span = (max as i128 - min as i128 + 1) as u128;
        (min as i128 + (self.next() as u128 % span) as i128) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hit_rate_over_a_handful_of_page_requests_is_not_recorded() {
        // The idle test server's interval: 1 of 8 page requests from disk.
        assert_eq!(
            buffer_pool_hit_rate(1.0, 8.0),
            Share::Insufficient { events: 8.0 }
        );
        assert_eq!(buffer_pool_hit_rate(0.0, 0.0).pct(), None);
        let reads = 3.0;
        let requests = 400.0;
        assert_eq!(
            buffer_pool_hit_rate(reads, requests),
            Share::Pct((requests - reads) / requests * 100.0)
        );
    }
}
