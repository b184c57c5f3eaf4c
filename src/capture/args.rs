//! `canary-report capture` options, and the validated configuration made from them.
//!
//! Parsing happens in two stages: clap gives [`CaptureArgs`] (raw values), then
//! [`Config::from_args`] checks everything (identifiers, durations, the DSN, the
//! kill switch addresses, the thresholds file) before anything touches a server.

use super::ident::Ident;
use super::switch::SwitchSource;
use crate::thresholds::Thresholds;
use anyhow::{Context, Result, bail};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Run the canary of an online `ALTER TABLE ... ADD INDEX` against a live
/// MySQL 8 / MariaDB server, and record it in a run directory.
#[derive(Debug, Clone, clap::Args)]
pub struct CaptureArgs {
    /// The server and database: `mysql://USER@HOST:PORT/DB`. A Unix socket can
    /// be given with `?socket=/path/to/sock`. A password in the DSN is refused:
    /// give it in the environment variable MYSQL_PWD or with --password-file.
    #[arg(long, value_name = "URL")]
    pub dsn: String,

    /// Read the password from the first line of this file (instead of MYSQL_PWD).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// The table to add the index to (letters, digits, `_` and `$` only).
    #[arg(long, value_name = "NAME")]
    pub table: String,

    /// The name of the new index (letters, digits, `_` and `$` only).
    #[arg(long, value_name = "NAME")]
    pub index: String,

    /// The index's columns, in order, comma-separated: `--columns a,b`.
    #[arg(long, value_name = "COLS", value_delimiter = ',', num_args = 1.., required = true)]
    pub columns: Vec<String>,

    /// The run directory to create; it must not exist or be empty.
    /// [default: runs/<RUN_ID>]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// The run's identifier, e.g. CANARY-EXEC-V1-001. [default: CANARY-<UTC time>]
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,

    /// The tenant the canary runs for, recorded in the manifest.
    #[arg(long, value_name = "ID")]
    pub tenant: Option<String>,

    /// The MySQL connection the canary runs on, recorded in the manifest.
    /// [default: USER@HOST:PORT]
    #[arg(long, value_name = "ID")]
    pub connection_id: Option<String>,

    /// The Canary Lead, recorded in the manifest.
    #[arg(long, value_name = "NAME")]
    pub lead: Option<String>,

    /// Global kill switch: `http://127.0.0.1:PORT/path` (GET answering
    /// `{"enabled": true|false}`) or `file:/path` (the file existing means ON).
    /// Unreachable, slow or malformed counts as ON.
    #[arg(long, value_name = "URL")]
    pub global_kill_switch: String,

    /// Connection kill switch, same forms as --global-kill-switch.
    #[arg(long, value_name = "URL")]
    pub connection_kill_switch: String,

    /// How long a kill switch API may take to answer before it counts as ON.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub kill_switch_timeout: Duration,

    /// Length of the baseline sampling before the DDL.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub baseline: Duration,

    /// Length of the monitoring window after the DDL and its verification.
    #[arg(long, value_name = "DURATION", default_value = "60m", value_parser = parse_duration)]
    pub monitoring: Duration,

    /// Kill switch checkpoints, as offsets into the monitoring window.
    #[arg(
        long,
        value_name = "DURATIONS",
        default_value = "15m,30m,45m,60m",
        value_delimiter = ',',
        value_parser = parse_duration
    )]
    pub checkpoints: Vec<Duration>,

    /// Length of the after-metrics sampling at the end.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub after: Duration,

    /// Time between two samples (and two kill switch reads).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,

    /// Bounds that trigger the automatic rollback: the same TOML file as
    /// `build --thresholds`. A critical bound crossed on two readings in a row,
    /// for the metric's `sustained_for_s`, is a critical breach.
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,

    /// Record incidents and breaches but never roll back by itself
    /// (Ctrl-C still rolls back).
    #[arg(long)]
    pub no_auto_rollback: bool,

    /// Run the pre-check only, then print the DDL and the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Session lock_wait_timeout of the DDL and rollback connections: how long
    /// the ALTER may wait for the table's metadata lock before it gives up.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub lock_wait_timeout: Duration,

    /// The pre-check fails if a transaction older than this is open.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub max_trx_age: Duration,

    /// More sessions than this waiting on the table's metadata lock, for the
    /// lock_wait_time_s metric's sustained_for_s, is a critical breach.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub max_mdl_waiters: u32,

    /// The query timed at every sample (`query_latency_ms`). Runs on a
    /// read-only session. [default: a primary-key point read of the table]
    #[arg(long, value_name = "SQL")]
    pub probe_query: Option<String>,

    /// Timeout of each query of the monitoring connections (status, probe).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub query_timeout: Duration,

    /// How many times to reconnect, one second apart, when the server stops
    /// answering, before the run fails safe (rollback attempt, run aborted).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub reconnect_attempts: u32,

    /// Show only incidents, rollbacks, errors and the end on stderr (no
    /// progress lines, no status line).
    #[arg(long)]
    pub quiet: bool,

    /// Sample this machine's CPU, memory and disk from /proc: `auto` does when
    /// the server is on localhost / 127.0.0.1 / a Unix socket.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = HostMetrics::Auto)]
    pub host_metrics: HostMetrics,

    /// Where query_latency_p50_ms / p99_ms come from. `probe`: the timed probe
    /// query's own samples (what capture judges by, unaffected by capture's
    /// own status queries). `histogram`: the server's statement histogram
    /// (MySQL 8 performance_schema, or MariaDB's QUERY_RESPONSE_TIME with
    /// query_response_time_range_base=2), which covers every statement on
    /// the server, capture's own included.
    #[arg(long, value_enum, value_name = "SOURCE", default_value_t = LatencySource::Probe)]
    pub latency_source: LatencySource,
}

/// Where query latency percentiles come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LatencySource {
    Probe,
    Histogram,
}

/// When to sample the host's CPU, memory and disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HostMetrics {
    Auto,
    Always,
    Never,
}

/// Parses `30s`, `5m`, `1h 30m`, `500ms`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
        return Err(format!("`{s}` is not a duration"));
    }
    humantime::parse_duration(s)
        .map_err(|e| format!("`{s}` is not a duration ({e}); use e.g. 30s, 5m, 1h"))
}

/// A password, never printed.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where to connect, without the password.
#[derive(Debug, Clone)]
pub struct Target {
    /// The DSN's options, password-free.
    pub opts: mysql::Opts,
    pub user: String,
    pub host: String,
    pub port: u16,
    pub socket: Option<String>,
    pub database: Ident,
    /// The server is this machine.
    pub is_local: bool,
}

/// Everything capture needs, checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub target: Target,
    pub password: Option<Secret>,
    pub table: Ident,
    pub index: Ident,
    pub columns: Vec<Ident>,
    pub out: PathBuf,
    pub run_id: String,
    pub tenant: String,
    pub connection_id: String,
    pub lead: Option<String>,
    pub global_switch: SwitchSource,
    pub connection_switch: SwitchSource,
    pub switch_timeout: Duration,
    pub baseline: Duration,
    pub monitoring: Duration,
    pub checkpoints: Vec<Duration>,
    pub after: Duration,
    pub interval: Duration,
    pub thresholds: Thresholds,
    pub auto_rollback: bool,
    pub dry_run: bool,
    pub lock_wait_timeout: Duration,
    pub max_trx_age: Duration,
    pub max_mdl_waiters: u32,
    pub probe_query: Option<String>,
    pub query_timeout: Duration,
    pub reconnect_attempts: u32,
    pub host_metrics: bool,
    pub latency_source: LatencySource,
    pub quiet: bool,
}

impl Config {
    /// Checks the options. `env_password` is the value of MYSQL_PWD, if set.
    /// Nothing here connects to anything.
    pub fn from_args(args: &CaptureArgs, env_password: Option<String>) -> Result<Config> {
        let table = Ident::new("--table", &args.table)?;
        let index = Ident::new("--index", &args.index)?;
        if args.columns.is_empty() {
            bail!("--columns: give at least one column");
        }
        let mut columns: Vec<Ident> = Vec::new();
        for c in &args.columns {
            let id = Ident::new("--columns", c.trim())?;
            if columns.iter().any(|x| x.eq_ignore_case(&id)) {
                bail!("--columns: column `{id}` is given twice");
            }
            columns.push(id);
        }
        if columns.len() > 16 {
            bail!(
                "--columns: an index has at most 16 columns, {} given",
                columns.len()
            );
        }
        let target = parse_dsn(&args.dsn)?;

        let password = match (&args.password_file, env_password) {
            (Some(path), _) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("--password-file {}: cannot read", path.display()))?;
                let first = text.lines().next().unwrap_or("").to_string();
                Some(Secret::new(first))
            }
            (None, Some(p)) => Some(Secret::new(p)),
            (None, None) => None,
        };

        for (name, d) in [
            ("--interval", args.interval),
            ("--kill-switch-timeout", args.kill_switch_timeout),
            ("--query-timeout", args.query_timeout),
            ("--lock-wait-timeout", args.lock_wait_timeout),
        ] {
            if d.is_zero() {
                bail!("{name}: must be above 0");
            }
        }
        if args.lock_wait_timeout.as_secs() < 1 {
            bail!("--lock-wait-timeout: must be at least 1s (the server counts whole seconds)");
        }
        let mut checkpoints = args.checkpoints.clone();
        checkpoints.sort();
        checkpoints.dedup();
        if let Some(late) = checkpoints.iter().find(|c| **c > args.monitoring) {
            bail!(
                "--checkpoints: {} is past the end of the monitoring window ({})",
                humantime::format_duration(*late),
                humantime::format_duration(args.monitoring)
            );
        }

        let thresholds = match &args.thresholds {
            Some(path) => Thresholds::from_toml_file(path)?,
            None => Thresholds::default(),
        };

        if let Some(q) = &args.probe_query {
            super::db::check_probe_query(q)?;
        }
        let global_switch = SwitchSource::parse("--global-kill-switch", &args.global_kill_switch)?;
        let connection_switch =
            SwitchSource::parse("--connection-kill-switch", &args.connection_kill_switch)?;

        let run_id = match &args.run_id {
            Some(id) => {
                let id = id.trim();
                if id.is_empty()
                    || !id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                {
                    bail!("--run-id: use letters, digits, `-`, `_` and `.` only, got `{id}`");
                }
                id.to_string()
            }
            None => format!("CANARY-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")),
        };
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs").join(&run_id));

        let connection_id = args
            .connection_id
            .clone()
            .unwrap_or_else(|| match &target.socket {
                Some(s) => format!("{}@{}", target.user, s),
                None => format!("{}@{}:{}", target.user, target.host, target.port),
            });
        let host_metrics = match args.host_metrics {
            HostMetrics::Always => true,
            HostMetrics::Never => false,
            HostMetrics::Auto => target.is_local && cfg!(target_os = "linux"),
        };
        Ok(Config {
            tenant: args.tenant.clone().unwrap_or_else(|| "(not given)".into()),
            connection_id,
            lead: args.lead.clone(),
            target,
            password,
            table,
            index,
            columns,
            out,
            run_id,
            global_switch,
            connection_switch,
            switch_timeout: args.kill_switch_timeout,
            baseline: args.baseline,
            monitoring: args.monitoring,
            checkpoints,
            after: args.after,
            interval: args.interval,
            thresholds,
            auto_rollback: !args.no_auto_rollback,
            dry_run: args.dry_run,
            lock_wait_timeout: args.lock_wait_timeout,
            max_trx_age: args.max_trx_age,
            max_mdl_waiters: args.max_mdl_waiters,
            probe_query: args.probe_query.clone(),
            query_timeout: args.query_timeout,
            reconnect_attempts: args.reconnect_attempts,
            host_metrics,
            latency_source: args.latency_source,
            quiet: args.quiet,
        })
    }
}

/// Parses and checks the DSN: scheme `mysql`, a user, a database, no password.
fn parse_dsn(dsn: &str) -> Result<Target> {
    let url = dsn.trim();
    // Look for a password before handing the string to anything that might echo it.
    if let Some(rest) = url.strip_prefix("mysql://") {
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && userinfo.contains(':')
        {
            bail!(
                "--dsn: a password in the DSN is refused (it would be seen in the process list \
                 and shell history); set MYSQL_PWD or use --password-file"
            );
        }
    } else {
        bail!("--dsn: expected mysql://USER@HOST:PORT/DB");
    }
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    if query.split('&').any(|kv| {
        kv.split('=')
            .next()
            .is_some_and(|k| k.eq_ignore_ascii_case("password"))
    }) {
        bail!("--dsn: a password in the DSN is refused; set MYSQL_PWD or use --password-file");
    }
    let opts = mysql::Opts::from_url(url).map_err(|e| anyhow::anyhow!("--dsn: {e}"))?;
    let user = opts
        .get_user()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| anyhow::anyhow!("--dsn: no user; expected mysql://USER@HOST:PORT/DB"))?
        .to_string();
    let db = opts
        .get_db_name()
        .filter(|d| !d.is_empty())
        .ok_or_else(|| anyhow::anyhow!("--dsn: no database; expected mysql://USER@HOST:PORT/DB"))?;
    let database = Ident::new("--dsn database", db)?;
    let host = opts.get_ip_or_hostname().to_string();
    let socket = opts.get_socket().map(str::to_string);
    let is_local =
        socket.is_some() || opts.addr_is_loopback() || host.eq_ignore_ascii_case("localhost");
    Ok(Target {
        user,
        host,
        port: opts.get_tcp_port(),
        socket,
        database,
        is_local,
        opts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: CaptureArgs,
    }

    fn args(extra: &[&str]) -> CaptureArgs {
        let mut v = vec![
            "x",
            "--dsn",
            "mysql://root@127.0.0.1:3307/shop",
            "--table",
            "orders",
            "--index",
            "idx_a",
            "--columns",
            "a,b",
            "--global-kill-switch",
            "file:/tmp/none-g",
            "--connection-kill-switch",
            "file:/tmp/none-c",
        ];
        v.extend_from_slice(extra);
        Cli::try_parse_from(v).unwrap().args
    }

    #[test]
    fn defaults_are_the_templates() {
        let c = Config::from_args(&args(&[]), None).unwrap();
        assert_eq!(c.baseline, Duration::from_secs(300));
        assert_eq!(c.monitoring, Duration::from_secs(3600));
        assert_eq!(c.after, Duration::from_secs(300));
        assert_eq!(c.interval, Duration::from_secs(1));
        assert_eq!(c.checkpoints.len(), 4);
        assert_eq!(c.columns.len(), 2);
        assert_eq!(c.target.database.as_str(), "shop");
        assert!(c.target.is_local);
        assert!(c.auto_rollback);
    }

    #[test]
    fn short_durations_parse() {
        let c = Config::from_args(
            &args(&[
                "--baseline",
                "3s",
                "--monitoring",
                "10s",
                "--checkpoints",
                "2s,5s",
                "--interval",
                "250ms",
            ]),
            None,
        )
        .unwrap();
        assert_eq!(c.baseline, Duration::from_secs(3));
        assert_eq!(
            c.checkpoints,
            vec![Duration::from_secs(2), Duration::from_secs(5)]
        );
        assert_eq!(c.interval, Duration::from_millis(250));
    }

    #[test]
    fn a_checkpoint_past_the_window_is_refused() {
        let e = Config::from_args(
            &args(&["--monitoring", "10s", "--checkpoints", "20s"]),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("--checkpoints"), "{e}");
    }

    #[test]
    fn a_password_in_the_dsn_is_refused_without_echoing_it() {
        let mut a = args(&[]);
        a.dsn = "mysql://root:hunter2@127.0.0.1/shop".into();
        let e = Config::from_args(&a, None).unwrap_err().to_string();
        assert!(e.contains("password"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        a.dsn = "mysql://root@127.0.0.1/shop?password=hunter2".into();
        let e = Config::from_args(&a, None).unwrap_err().to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn injection_in_any_identifier_is_refused() {
        for (field, value) in [
            ("table", "t; DROP TABLE x"),
            ("index", "i`x"),
            ("columns", "a) ,ALGORITHM=COPY"),
        ] {
            let mut a = args(&[]);
            match field {
                "table" => a.table = value.into(),
                "index" => a.index = value.into(),
                _ => a.columns = vec![value.into()],
            }
            let e = Config::from_args(&a, None).unwrap_err().to_string();
            assert!(e.contains(&format!("--{field}")), "{e}");
        }
        let mut a = args(&[]);
        a.dsn = "mysql://root@127.0.0.1/sh%60op".into();
        assert!(Config::from_args(&a, None).is_err());
    }

    #[test]
    fn password_comes_from_the_file_first_then_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "s3cret\n").unwrap();
        let mut a = args(&[]);
        a.password_file = Some(f);
        let c = Config::from_args(&a, Some("env".into())).unwrap();
        assert_eq!(c.password.unwrap().expose(), "s3cret");
        let c = Config::from_args(&args(&[]), Some("env".into())).unwrap();
        assert_eq!(c.password.as_ref().unwrap().expose(), "env");
        assert_eq!(format!("{:?}", c.password), "Some(Secret(***))");
    }
}
