//! `canary-report capture` options, and the validated configuration made from them.
//!
//! Parsing happens in two stages: clap gives [`CaptureArgs`] (raw values), then
//! [`Config::from_args`] checks everything (identifiers, durations, the DSN, the
//! kill switch addresses, the thresholds file) before anything touches a server.

use super::ident::Ident;
use super::switch::{self, Client, DEFAULT_POINTER, KillSwitches, SwitchSource};
use crate::model::counted;
use crate::thresholds::Thresholds;
use anyhow::{Context, Result, bail};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
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

    /// A replica of the server: `mysql://USER@HOST:PORT`. replication_lag_s
    /// is then read from it (SHOW SLAVE STATUS / SHOW REPLICA STATUS) on its
    /// own connection; the pre-check refuses a server that is not a replica,
    /// stopped replication, or a lag already above the critical bound.
    /// Without it, the lag is sampled only when the server is itself a replica.
    #[arg(long, value_name = "URL")]
    pub replica: Option<String>,

    /// Read the replica's password from the first line of this file.
    /// [default: the same password as --dsn's]
    #[arg(long, value_name = "FILE", requires = "replica")]
    pub replica_password_file: Option<PathBuf>,

    /// The server has no replication (neither a replica nor a primary with
    /// replicas to watch): its replication status is then not read. Without
    /// it, a pre-check that cannot read the status (a missing privilege)
    /// refuses to start, as it cannot tell whether the server is a replica.
    #[arg(long, conflicts_with = "replica")]
    pub no_replication: bool,

    /// TLS to the servers (--dsn and --replica), as the mysql client's
    /// --ssl-mode: DISABLED; PREFERRED (encrypted when the server offers TLS,
    /// certificate not checked); REQUIRED (encrypted or refused, certificate
    /// not checked); VERIFY_CA (also the certificate against --ssl-ca);
    /// VERIFY_IDENTITY (also the host name against the certificate).
    #[arg(long, value_enum, value_name = "MODE", ignore_case = true, default_value_t = SslMode::Preferred)]
    pub ssl_mode: SslMode,

    /// The CA certificate (PEM) that signed the servers' certificates, for
    /// --ssl-mode VERIFY_CA and VERIFY_IDENTITY.
    #[arg(long, value_name = "FILE")]
    pub ssl_ca: Option<PathBuf>,

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

    /// The zone times are shown in, on the console and in the report: an
    /// IANA name (`Asia/Bangkok`) or an offset (`+07:00`, `UTC`); the host's
    /// zone by default. Recorded in the manifest as its offset at the start.
    #[arg(long, value_name = "ZONE")]
    pub display_timezone: Option<String>,

    /// Global kill switch: `https://HOST:PORT/path` or `http://...` (GET
    /// answering JSON whose boolean at --kill-switch-pointer, `/enabled` by
    /// default, is the switch: `{"enabled": true|false}`), or `file:/path`
    /// (the file existing means ON). Unreachable, slow, an HTTP status other
    /// than 200 or a malformed answer counts as ON.
    /// Required unless --no-kill-switch.
    #[arg(long, value_name = "URL", required_unless_present = "no_kill_switch")]
    pub global_kill_switch: Option<String>,

    /// Connection kill switch, same forms as --global-kill-switch.
    #[arg(long, value_name = "URL", required_unless_present = "no_kill_switch")]
    pub connection_kill_switch: Option<String>,

    /// A header sent with every kill switch read: `'NAME: VALUE'`, or
    /// `@FILE` for a file of `NAME: VALUE` lines (as curl's -H @file) that
    /// only its owner can read (chmod 600). Repeatable. Values are never
    /// logged nor recorded; credentials (Authorization, Cookie) are refused
    /// on the command line: put them in a file.
    #[arg(long, value_name = "HEADER|@FILE", action = clap::ArgAction::Append)]
    pub kill_switch_header: Vec<String>,

    /// The CA certificate(s) (PEM) an https:// kill switch's certificate
    /// must be signed by, trusted instead of the Mozilla roots.
    #[arg(long, value_name = "FILE")]
    pub kill_switch_ca: Option<PathBuf>,

    /// Where the switch's state is in an HTTP kill switch's answer: a JSON
    /// pointer (RFC 6901) to a boolean, true meaning ON. [default: /enabled]
    #[arg(long, value_name = "POINTER")]
    pub kill_switch_pointer: Option<String>,

    /// The team has no kill switch: the canary runs without one. Recorded
    /// in the manifest (plan.no_kill_switch); the report states it, and the
    /// approval carries it as a condition.
    #[arg(long, conflicts_with_all = [
        "global_kill_switch",
        "connection_kill_switch",
        "kill_switch_header",
        "kill_switch_ca",
        "kill_switch_pointer",
    ])]
    pub no_kill_switch: bool,

    /// How long a kill switch API may take to answer before it counts as ON.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub kill_switch_timeout: Duration,

    /// How often each kill switch is read, apart from sampling. An HTTP
    /// switch gets one GET per poll (5 a second each at 200 ms: 10 a second
    /// for the two); a flag file is also watched with inotify and read the
    /// moment it changes.
    #[arg(long, value_name = "DURATION", default_value = "200ms", value_parser = parse_duration)]
    pub kill_switch_poll: Duration,

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

    /// Time between two samples (kill switches have --kill-switch-poll).
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

    /// How long to wait for a server (or replica) that stops answering
    /// (a crash, a restart) before the run fails safe: capture reconnects
    /// with backoff (1 s, 2 s, 4 s, then every 5 s) and, once the server is
    /// back, finishes the rollback and verifies it. A crash is a wait, not
    /// an end: give the time your server takes to restart and recover.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub reconnect_for: Duration,

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

/// TLS to the servers, with the mysql client's `--ssl-mode` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum SslMode {
    #[value(name = "DISABLED")]
    Disabled,
    #[value(name = "PREFERRED")]
    Preferred,
    #[value(name = "REQUIRED")]
    Required,
    #[value(name = "VERIFY_CA")]
    VerifyCa,
    #[value(name = "VERIFY_IDENTITY")]
    VerifyIdentity,
}

impl SslMode {
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disabled => "DISABLED",
            SslMode::Preferred => "PREFERRED",
            SslMode::Required => "REQUIRED",
            SslMode::VerifyCa => "VERIFY_CA",
            SslMode::VerifyIdentity => "VERIFY_IDENTITY",
        }
    }

    /// An unencrypted session is refused.
    pub fn requires_tls(self) -> bool {
        self >= SslMode::Required
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How every connection is secured.
#[derive(Debug, Clone)]
pub struct Tls {
    pub mode: SslMode,
    /// The CA certificate, for VERIFY_CA and VERIFY_IDENTITY.
    pub ca: Option<PathBuf>,
}

impl Tls {
    /// The mode as recorded: `VERIFY_CA (CA /etc/ca.pem)`.
    pub fn describe(&self) -> String {
        match &self.ca {
            Some(ca) => format!("{} (CA {})", self.mode, ca.display()),
            None => self.mode.to_string(),
        }
    }
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

/// The replica replication lag is read from (`--replica`), without the password.
#[derive(Debug, Clone)]
pub struct Replica {
    /// The URL's options, password- and database-free.
    pub opts: mysql::Opts,
    /// `USER@HOST:PORT` (or `USER@socket`), as recorded.
    pub label: String,
    pub password: Option<Secret>,
}

/// Everything capture needs, checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub target: Target,
    pub password: Option<Secret>,
    pub replica: Option<Replica>,
    /// `--no-replication`: the operator says the server has none.
    pub no_replication: bool,
    pub tls: Tls,
    pub table: Ident,
    pub index: Ident,
    pub columns: Vec<Ident>,
    pub out: PathBuf,
    pub run_id: String,
    pub tenant: String,
    pub connection_id: String,
    pub lead: Option<String>,
    /// Where times are shown: `--display-timezone`, else the host's zone.
    pub display_offset: chrono::FixedOffset,
    /// The kill switches; `None` with --no-kill-switch.
    pub switches: Option<KillSwitches>,
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
    pub reconnect_for: Duration,
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
            (Some(path), _) => Some(read_password("--password-file", path)?),
            (None, Some(p)) => Some(Secret::new(p)),
            (None, None) => None,
        };
        let tls = check_tls(args, &target)?;
        let replica = match &args.replica {
            Some(url) => {
                let (opts, label) = parse_replica(url, tls.mode)?;
                let password = match &args.replica_password_file {
                    Some(path) => Some(read_password("--replica-password-file", path)?),
                    None => password.clone(),
                };
                Some(Replica {
                    opts,
                    label,
                    password,
                })
            }
            None => None,
        };

        for (name, d) in [
            ("--interval", args.interval),
            ("--kill-switch-timeout", args.kill_switch_timeout),
            ("--kill-switch-poll", args.kill_switch_poll),
            ("--query-timeout", args.query_timeout),
            ("--lock-wait-timeout", args.lock_wait_timeout),
            ("--reconnect-for", args.reconnect_for),
        ] {
            if d.is_zero() {
                bail!("{name}: must be above 0");
            }
        }
        if args.kill_switch_poll < Duration::from_millis(10) {
            bail!(
                "--kill-switch-poll: must be at least 10ms, got {} (each poll is a request to \
                 the kill switch service)",
                humantime::format_duration(args.kill_switch_poll)
            );
        }
        if args.lock_wait_timeout.as_secs() < 1 {
            bail!("--lock-wait-timeout: must be at least 1s (the server counts whole seconds)");
        }
        let display_offset = match &args.display_timezone {
            Some(name) => {
                crate::model::resolve_zone(name, chrono::Utc::now()).with_context(|| {
                    format!(
                        "--display-timezone {name:?}: neither an offset (+07:00, UTC) nor an IANA \
                     zone name (Asia/Bangkok)"
                    )
                })?
            }
            None => {
                use chrono::Offset;
                chrono::Local::now().offset().fix()
            }
        };
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
        let switches = if args.no_kill_switch {
            None
        } else {
            Some(kill_switches(args)?)
        };

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
            replica,
            no_replication: args.no_replication,
            tls,
            table,
            index,
            columns,
            out,
            run_id,
            display_offset,
            switches,
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
            reconnect_for: args.reconnect_for,
            host_metrics,
            latency_source: args.latency_source,
            quiet: args.quiet,
        })
    }
}

/// The first line of a password file.
fn read_password(flag: &str, path: &Path) -> Result<Secret> {
    refuse_if_others_can_read(flag, path)?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{flag} {}: cannot read", path.display()))?;
    Ok(Secret::new(text.lines().next().unwrap_or("").to_string()))
}

/// The kill switches, their client, and the headers they are read with.
fn kill_switches(args: &CaptureArgs) -> Result<KillSwitches> {
    const FLAG: &str = "--kill-switch-header";
    let (Some(global), Some(connection)) = (&args.global_kill_switch, &args.connection_kill_switch)
    else {
        bail!(
            "--global-kill-switch and --connection-kill-switch are both needed; a team without \
             a kill switch says so with --no-kill-switch"
        );
    };
    // Options that mean nothing for flag files, refused before any file is read.
    let urls = [global.trim(), connection.trim()];
    let any_http = urls.iter().any(|u| !u.starts_with("file:"));
    let any_https = urls.iter().any(|u| u.starts_with("https://"));
    for (given, flag) in [
        (!args.kill_switch_header.is_empty(), FLAG),
        (args.kill_switch_pointer.is_some(), "--kill-switch-pointer"),
    ] {
        if given && !any_http {
            bail!("{flag}: used only with an http(s):// kill switch (both are file:)");
        }
    }
    if args.kill_switch_ca.is_some() && !any_https {
        bail!("--kill-switch-ca: used only with an https:// kill switch");
    }
    let mut headers = Vec::new();
    let mut sources = Vec::new();
    for h in &args.kill_switch_header {
        match h.strip_prefix('@') {
            Some(path) => {
                let path = Path::new(path);
                refuse_if_others_can_read(FLAG, path)?;
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("{FLAG} @{}: cannot read", path.display()))?;
                let file = switch::parse_header_file(FLAG, path, &text)?;
                sources.push(format!(
                    "{} from {}",
                    counted(file.len(), "header"),
                    path.display()
                ));
                headers.extend(file);
            }
            None => {
                headers.push(switch::parse_header(FLAG, h, None)?);
                sources.push("1 header from the command line".into());
            }
        }
    }
    let pointer = args
        .kill_switch_pointer
        .as_deref()
        .unwrap_or(DEFAULT_POINTER);
    let client = Arc::new(Client::new(
        headers,
        args.kill_switch_ca.as_deref(),
        pointer,
        args.kill_switch_timeout,
    )?);
    let global = SwitchSource::parse("--global-kill-switch", global, Some(&client))?;
    let connection = SwitchSource::parse("--connection-kill-switch", connection, Some(&client))?;
    Ok(KillSwitches {
        global,
        connection,
        timeout: args.kill_switch_timeout,
        poll: args.kill_switch_poll,
        headers_note: (!sources.is_empty()).then(|| sources.join(", ")),
    })
}

/// A secret in a file that others can read is no secret: refused, as ssh
/// refuses such a key, with the fix.
fn refuse_if_others_can_read(flag: &str, path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .with_context(|| format!("{flag} {}: cannot read", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "{flag} {}: readable by other users (mode {mode:03o}); a secret must be readable by \
             its owner only: chmod 600 {}",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

/// TLS settings in a URL would be overridden by --ssl-mode: refused rather
/// than silently ignored.
const URL_TLS_KEYS: [&str; 9] = [
    "require_ssl",
    "verify_ca",
    "verify_identity",
    "built_in_roots",
    "root_cert_path",
    "danger_skip_domain_validation",
    "danger_accept_invalid_certs",
    "cert_chain_path",
    "priv_key_path",
];

/// Parses a `mysql://` URL for `flag`, refusing a password in it (without
/// echoing it) and TLS settings (--ssl-mode decides those). Returns the
/// options and the user.
fn parse_url(flag: &str, url: &str, shape: &str) -> Result<(mysql::Opts, String)> {
    let url = url.trim();
    let what = if flag == "--dsn" { "DSN" } else { "URL" };
    // Look for a password before handing the string to anything that might echo it.
    if let Some(rest) = url.strip_prefix("mysql://") {
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && userinfo.contains(':')
        {
            bail!(
                "{flag}: a password in the {what} is refused (it would be seen in the process list \
                 and shell history); set MYSQL_PWD or use --password-file"
            );
        }
    } else {
        bail!("{flag}: expected {shape}, got `{}`", masked(url));
    }
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let keys = || query.split('&').filter_map(|kv| kv.split('=').next());
    if keys().any(|k| k.eq_ignore_ascii_case("password")) {
        bail!("{flag}: a password in the {what} is refused; set MYSQL_PWD or use --password-file");
    }
    if let Some(k) = keys().find(|k| URL_TLS_KEYS.iter().any(|t| t.eq_ignore_ascii_case(k))) {
        bail!("{flag}: `{k}` in the {what} is not used; TLS is set with --ssl-mode and --ssl-ca");
    }
    let opts = mysql::Opts::from_url(url).map_err(|e| anyhow::anyhow!("{flag}: {e}"))?;
    let user = opts
        .get_user()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| anyhow::anyhow!("{flag}: no user; expected {shape}"))?
        .to_string();
    Ok((opts, user))
}

/// `url` to echo in a message: a password in it replaced by `***`.
fn masked(url: &str) -> String {
    let url = url.trim();
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        _ => url.to_string(),
    }
}

/// Parses and checks the DSN: scheme `mysql`, a user, a database, no password.
fn parse_dsn(dsn: &str) -> Result<Target> {
    const SHAPE: &str = "mysql://USER@HOST:PORT/DB";
    let (opts, user) = parse_url("--dsn", dsn, SHAPE)?;
    let db = opts
        .get_db_name()
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--dsn: no database; expected {SHAPE}, got `{}`",
                masked(dsn)
            )
        })?;
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

/// Parses --replica: `mysql://USER@HOST:PORT`; a database in it is not used.
fn parse_replica(url: &str, mode: SslMode) -> Result<(mysql::Opts, String)> {
    let (opts, user) = parse_url("--replica", url, "mysql://USER@HOST:PORT")?;
    let label = match opts.get_socket() {
        Some(s) => {
            if mode.requires_tls() {
                bail!(socket_tls_refusal("--replica", mode));
            }
            format!("{user}@{s}")
        }
        None => format!(
            "{user}@{}:{}",
            opts.get_ip_or_hostname(),
            opts.get_tcp_port()
        ),
    };
    let opts = mysql::OptsBuilder::from_opts(opts)
        .db_name(None::<String>)
        .into();
    Ok((opts, label))
}

fn socket_tls_refusal(flag: &str, mode: SslMode) -> String {
    format!(
        "{flag}: --ssl-mode {mode} needs TLS, which a Unix socket connection does not use; \
         give a TCP address, or --ssl-mode PREFERRED"
    )
}

/// Checks --ssl-mode and --ssl-ca together, and that the CA file is readable.
fn check_tls(args: &CaptureArgs, target: &Target) -> Result<Tls> {
    let mode = args.ssl_mode;
    let verifies = matches!(mode, SslMode::VerifyCa | SslMode::VerifyIdentity);
    match (&args.ssl_ca, verifies) {
        (None, true) => bail!(
            "--ssl-mode {mode}: give the CA certificate that signed the server's with --ssl-ca FILE"
        ),
        (Some(_), false) => bail!(
            "--ssl-ca: used only with --ssl-mode VERIFY_CA or VERIFY_IDENTITY (--ssl-mode is {mode})"
        ),
        _ => {}
    }
    if let Some(ca) = &args.ssl_ca {
        let bytes =
            std::fs::read(ca).with_context(|| format!("--ssl-ca {}: cannot read", ca.display()))?;
        let pem = String::from_utf8_lossy(&bytes);
        // The driver also takes DER; a PEM file must hold a certificate.
        if bytes.is_empty() || (pem.contains("-----BEGIN") && !pem.contains("CERTIFICATE-----")) {
            bail!("--ssl-ca {}: no certificate in the file", ca.display());
        }
    }
    if target.socket.is_some() && mode.requires_tls() {
        bail!(socket_tls_refusal("--dsn", mode));
    }
    Ok(Tls {
        mode,
        ca: args.ssl_ca.clone(),
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
        Cli::try_parse_from(required(extra)).unwrap().args
    }

    #[test]
    fn the_display_zone_is_an_offset_or_an_iana_name() {
        let offset = |zone: &str| {
            Config::from_args(&args(&["--display-timezone", zone]), None)
                .map(|c| c.display_offset.to_string())
                .map_err(|e| e.to_string())
        };
        assert_eq!(offset("+07:00"), Ok("+07:00".into()));
        assert_eq!(offset("UTC"), Ok("+00:00".into()));
        // Bangkok has no DST; Kolkata is +05:30.
        assert_eq!(offset("Asia/Bangkok"), Ok("+07:00".into()));
        assert_eq!(offset("Asia/Kolkata"), Ok("+05:30".into()));
        let e = offset("Mars/Olympus").unwrap_err();
        assert!(
            e.starts_with("--display-timezone \"Mars/Olympus\": neither"),
            "{e}"
        );
    }

    #[test]
    fn a_bad_dsn_is_echoed_without_its_password() {
        let dsn = |d: &str| {
            let mut a = args(&[]);
            a.dsn = d.into();
            Config::from_args(&a, None).unwrap_err().to_string()
        };
        assert_eq!(
            dsn("postgres://app:hunter2@db:5432/shop"),
            "--dsn: expected mysql://USER@HOST:PORT/DB, got `postgres://app:***@db:5432/shop`"
        );
        assert_eq!(
            dsn("mysql://root@127.0.0.1"),
            "--dsn: no database; expected mysql://USER@HOST:PORT/DB, got `mysql://root@127.0.0.1`"
        );
    }

    /// The required options, then `extra`.
    fn required<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut v = without_switches();
        v.extend([
            "--global-kill-switch",
            "file:/tmp/none-g",
            "--connection-kill-switch",
            "file:/tmp/none-c",
        ]);
        v.extend_from_slice(extra);
        v
    }

    /// The required options but the kill switches.
    fn without_switches<'a>() -> Vec<&'a str> {
        vec![
            "x",
            "--dsn",
            "mysql://root@127.0.0.1:3307/shop",
            "--table",
            "orders",
            "--index",
            "idx_a",
            "--columns",
            "a,b",
        ]
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
        assert_eq!(
            c.switches.as_ref().map(|s| s.poll),
            Some(Duration::from_millis(200))
        );
    }

    #[test]
    fn a_kill_switch_poll_under_10ms_is_refused_with_what_it_got() {
        let e = Config::from_args(&args(&["--kill-switch-poll", "5ms"]), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--kill-switch-poll: must be at least 10ms, got 5ms"),
            "{e}"
        );
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
        a.password_file = Some(f.clone());
        // Readable by others: refused, with the fix.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Config::from_args(&a, None).unwrap_err().to_string();
        assert!(e.contains("readable by other users (mode 644)"), "{e}");
        assert!(e.ends_with(&format!("chmod 600 {}", f.display())), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = Config::from_args(&a, Some("env".into())).unwrap();
        assert_eq!(c.password.unwrap().expose(), "s3cret");
        let c = Config::from_args(&args(&[]), Some("env".into())).unwrap();
        assert_eq!(c.password.as_ref().unwrap().expose(), "env");
        assert_eq!(format!("{:?}", c.password), "Some(Secret(***))");
    }

    #[test]
    fn ssl_mode_takes_the_mysql_client_names() {
        let c = Config::from_args(&args(&[]), None).unwrap();
        assert_eq!(c.tls.mode, SslMode::Preferred);
        assert!(c.tls.ca.is_none());
        for (given, want) in [
            ("DISABLED", SslMode::Disabled),
            ("required", SslMode::Required),
            ("Verify_Identity", SslMode::VerifyIdentity),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let ca = dir.path().join("ca.pem");
            std::fs::write(
                &ca,
                "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
            )
            .unwrap();
            let ca = ca.display().to_string();
            let mut extra = vec!["--ssl-mode", given];
            if want >= SslMode::VerifyCa {
                extra.extend(["--ssl-ca", &ca]);
            }
            let c = Config::from_args(&args(&extra), None).unwrap();
            assert_eq!(c.tls.mode, want);
            assert_eq!(c.tls.mode.requires_tls(), want >= SslMode::Required);
        }
        let e = Cli::try_parse_from(required(&["--ssl-mode", "ON"]))
            .err()
            .expect("not a mode");
        assert_eq!(e.kind(), clap::error::ErrorKind::InvalidValue);
    }

    #[test]
    fn ssl_ca_goes_with_the_verifying_modes_only() {
        let e = Config::from_args(&args(&["--ssl-mode", "VERIFY_CA"]), None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--ssl-mode VERIFY_CA: give the CA"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let ca_s = ca.display().to_string();
        let e = Config::from_args(&args(&["--ssl-mode", "REQUIRED", "--ssl-ca", &ca_s]), None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--ssl-ca: used only with"), "{e}");
        let missing = dir.path().join("nope.pem").display().to_string();
        let e = format!(
            "{:#}",
            Config::from_args(
                &args(&["--ssl-mode", "VERIFY_CA", "--ssl-ca", &missing]),
                None
            )
            .unwrap_err()
        );
        assert!(
            e.starts_with(&format!("--ssl-ca {missing}: cannot read")),
            "{e}"
        );
        std::fs::write(&ca, "-----BEGIN PRIVATE KEY-----\nx\n").unwrap();
        let e = Config::from_args(&args(&["--ssl-mode", "VERIFY_CA", "--ssl-ca", &ca_s]), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no certificate in the file"), "{e}");
    }

    #[test]
    fn tls_settings_in_a_url_and_tls_over_a_socket_are_refused() {
        let mut a = args(&[]);
        a.dsn = "mysql://root@127.0.0.1:3307/shop?danger_accept_invalid_certs=true".into();
        let e = Config::from_args(&a, None).unwrap_err().to_string();
        assert!(e.contains("--ssl-mode and --ssl-ca"), "{e}");
        let mut a = args(&["--ssl-mode", "REQUIRED"]);
        a.dsn = "mysql://root@localhost/shop?socket=/run/mysqld/mysqld.sock".into();
        let e = Config::from_args(&a, None).unwrap_err().to_string();
        assert!(e.starts_with("--dsn: --ssl-mode REQUIRED needs TLS"), "{e}");
        // PREFERRED over a socket: plain, as the mysql client.
        a.ssl_mode = SslMode::Preferred;
        assert!(Config::from_args(&a, None).is_ok());
    }

    #[test]
    fn replica_is_a_url_without_password_and_shares_the_password() {
        let c = Config::from_args(
            &args(&["--replica", "mysql://monitor@127.0.0.1:3308/shop"]),
            Some("env".into()),
        )
        .unwrap();
        let r = c.replica.unwrap();
        assert_eq!(r.label, "monitor@127.0.0.1:3308");
        assert_eq!(r.opts.get_db_name(), None, "a database is not needed");
        assert_eq!(r.password.unwrap().expose(), "env");

        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("replica-pw");
        std::fs::write(&f, "r3plica\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let f = f.display().to_string();
        let c = Config::from_args(
            &args(&[
                "--replica",
                "mysql://monitor@127.0.0.1:3308",
                "--replica-password-file",
                &f,
            ]),
            Some("env".into()),
        )
        .unwrap();
        assert_eq!(c.replica.unwrap().password.unwrap().expose(), "r3plica");

        let e = Config::from_args(
            &args(&["--replica", "mysql://monitor:hunter2@127.0.0.1:3308"]),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("--replica: a password in the URL is refused"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
        let e = Config::from_args(&args(&["--replica", "127.0.0.1:3308"]), None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--replica: expected mysql://"), "{e}");
        let e = Cli::try_parse_from(required(&["--replica-password-file", "/tmp/pw"]))
            .err()
            .expect("--replica-password-file needs --replica");
        assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn kill_switch_headers_come_from_a_private_file_and_are_never_shown() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("headers");
        std::fs::write(&f, "Authorization: Bearer t0k3n\nX-Env: prod\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        let at = format!("@{}", f.display());
        let http = |extra: &[&str]| {
            let mut a = args(extra);
            a.global_kill_switch = Some("https://ks.internal/g".into());
            a.connection_kill_switch = Some("http://127.0.0.1:8080/c".into());
            Config::from_args(&a, None).map_err(|e| format!("{e:#}"))
        };
        let e = http(&["--kill-switch-header", &at]).unwrap_err();
        assert!(
            e.starts_with(&format!(
                "--kill-switch-header {}: readable by other users (mode 640)",
                f.display()
            )),
            "{e}"
        );
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = http(&[
            "--kill-switch-header",
            &at,
            "--kill-switch-header",
            "X-Team: db",
        ])
        .unwrap();
        let ks = c.switches.unwrap();
        assert_eq!(
            ks.describe(&ks.global),
            format!(
                "https://ks.internal:443/g (the boolean at /enabled; 2 headers from {}, \
                 1 header from the command line, not recorded)",
                f.display()
            )
        );
        assert!(
            ks.describe(&ks.connection)
                .ends_with("sent UNENCRYPTED over http://)")
        );
        let shown = format!("{ks:?}");
        assert!(
            !shown.contains("t0k3n") && shown.contains("Secret(***)"),
            "{shown}"
        );
        // A credential on the command line is refused, without echoing it.
        let e = http(&["--kill-switch-header", "Authorization: Bearer t0k3n"]).unwrap_err();
        assert!(
            e.contains("on the command line is refused") && !e.contains("t0k3n"),
            "{e}"
        );
        // Options that mean nothing for flag files are refused.
        let e = Config::from_args(&args(&["--kill-switch-header", "X-A: 1"]), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--kill-switch-header: used only with an http(s)://"),
            "{e}"
        );
        let e = http(&["--kill-switch-pointer", "data"]).unwrap_err();
        assert!(
            e.starts_with("--kill-switch-pointer: `data` is not a JSON pointer"),
            "{e}"
        );
        let e = Config::from_args(&args(&["--kill-switch-ca", "/x/ca.pem"]), None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "--kill-switch-ca: used only with an https:// kill switch"
        );
    }

    #[test]
    fn no_kill_switch_replaces_both_switches() {
        let mut v = without_switches();
        v.push("--no-kill-switch");
        let c = Config::from_args(&Cli::try_parse_from(v).unwrap().args, None).unwrap();
        assert!(c.switches.is_none());
        let e = Cli::try_parse_from(without_switches())
            .err()
            .expect("switches required");
        assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        assert!(e.to_string().contains("--global-kill-switch"), "{e}");
        let e = Cli::try_parse_from(required(&["--no-kill-switch"]))
            .err()
            .expect("conflicts");
        assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
    }
}
