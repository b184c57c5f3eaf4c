//! Talking to the server: connections, and the few queries capture needs.
//!
//! Every name put into SQL text is a checked [`Ident`], backtick-quoted; values
//! are passed as parameters.

use super::args::{Config, Replica, Secret, SslMode, Tls};
use super::ident::{Ident, literal};
use anyhow::{Context, Result, bail};
use mysql::prelude::*;
use mysql::{Conn, OptsBuilder, Row, SslOpts, Value};
use std::time::Duration;

/// MariaDB or MySQL: a few queries differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    MariaDb,
    MySql,
}

/// What the pre-check learnt about the server.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub flavour: Flavour,
    /// `VERSION()`, e.g. `10.11.19-MariaDB-0+deb12u1`.
    pub version: String,
    pub max_connections: u64,
    pub server_id: u64,
}

/// Opens a connection to the server (--dsn). `read_timeout` bounds every
/// read of a query's answer.
pub fn connect(cfg: &Config, read_timeout: Option<Duration>) -> Result<Conn, mysql::Error> {
    open(
        &cfg.target.opts,
        cfg.password.as_ref(),
        &cfg.tls,
        read_timeout,
    )
}

/// Opens a connection to the replica (--replica).
pub fn connect_replica(
    replica: &Replica,
    tls: &Tls,
    read_timeout: Option<Duration>,
) -> Result<Conn, mysql::Error> {
    open(&replica.opts, replica.password.as_ref(), tls, read_timeout)
}

fn open(
    opts: &mysql::Opts,
    password: Option<&Secret>,
    tls: &Tls,
    read_timeout: Option<Duration>,
) -> Result<Conn, mysql::Error> {
    let plain = OptsBuilder::from_opts(opts.clone())
        .pass(password.map(|p| p.expose().to_string()))
        .read_timeout(read_timeout)
        .write_timeout(Some(Duration::from_secs(30)))
        .tcp_connect_timeout(Some(Duration::from_secs(5)))
        .tcp_keepalive_time_ms(Some(30_000))
        .stmt_cache_size(Some(16))
        .ssl_opts(None::<SslOpts>);
    // The driver never encrypts a Unix socket (--ssl-mode REQUIRED and up
    // refuse one when the options are checked).
    let Some(ssl) = ssl_opts(tls).filter(|_| opts.get_socket().is_none()) else {
        return Conn::new(plain);
    };
    // Not switching a TCP connection to 127.0.0.1 over to the server's socket,
    // as the driver otherwise does: the socket would not be encrypted.
    let secure = plain.clone().ssl_opts(Some(ssl)).prefer_socket(false);
    match Conn::new(secure) {
        Err(mysql::Error::DriverError(mysql::DriverError::TlsNotSupported))
            if tls.mode == SslMode::Preferred =>
        {
            Conn::new(plain)
        }
        r => r,
    }
}

/// The driver's TLS options for a mode; `None` for DISABLED.
fn ssl_opts(tls: &Tls) -> Option<SslOpts> {
    let ca = tls.ca.clone().map(std::borrow::Cow::Owned);
    match tls.mode {
        SslMode::Disabled => None,
        // As the mysql client: encrypted, the certificate not checked.
        SslMode::Preferred | SslMode::Required => {
            Some(SslOpts::default().with_danger_accept_invalid_certs(true))
        }
        SslMode::VerifyCa => Some(
            SslOpts::default()
                .with_root_cert_path(ca)
                .with_danger_skip_domain_validation(true),
        ),
        SslMode::VerifyIdentity => Some(SslOpts::default().with_root_cert_path(ca)),
    }
}

/// A connection error as a person reads it, with what TLS had to do with it.
pub fn connect_err(e: &mysql::Error, tls: &Tls) -> String {
    let text = err(e);
    // The driver wraps the TLS layer's errors as `IO error: `...'`.
    let text = text
        .strip_prefix("IO error: `")
        .and_then(|t| t.strip_suffix('\''))
        .map(str::to_string)
        .unwrap_or(text);
    let tls_failure = matches!(e, mysql::Error::TlsError(_))
        || (matches!(e, mysql::Error::IoError(_) | mysql::Error::CodecError(_))
            && ["certificate", "TLS", "tls", "handshake", "alert"]
                .iter()
                .any(|w| text.contains(w)));
    match e {
        mysql::Error::DriverError(mysql::DriverError::TlsNotSupported) => format!(
            "the server does not offer TLS, and --ssl-mode {} requires it",
            tls.mode
        ),
        _ if tls_failure && tls.mode != SslMode::Disabled => {
            format!("TLS (--ssl-mode {}): {text}", tls.describe())
        }
        _ => text,
    }
}

/// The session's TLS as the server sees it: `(Ssl_version, Ssl_cipher)`,
/// `None` when the session is not encrypted.
pub fn session_tls(conn: &mut Conn) -> Result<Option<(String, String)>> {
    let rows: Vec<(String, String)> = conn
        .query("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_cipher', 'Ssl_version')")
        .clean()?;
    let get = |k: &str| {
        rows.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    Ok(get("Ssl_cipher").map(|cipher| (get("Ssl_version").unwrap_or_default(), cipher)))
}

/// The server went away (as opposed to an SQL error).
pub fn is_connectivity(e: &mysql::Error) -> bool {
    match e {
        mysql::Error::MySqlError(m) => {
            // Server shutdown in progress, connection killed.
            matches!(m.code, 1053 | 1927 | 2006 | 2013)
        }
        mysql::Error::IoError(_) | mysql::Error::DriverError(_) | mysql::Error::CodecError(_) => {
            true
        }
        mysql::Error::TlsError(_) => true,
        _ => false,
    }
}

/// An error as a person reads it (`ERROR 1205 (HY000): Lock wait timeout ...`),
/// without the driver's `MySqlError { ... }` wrapping.
pub fn err(e: &mysql::Error) -> String {
    match e {
        mysql::Error::MySqlError(m) => m.to_string(),
        mysql::Error::IoError(io) => io.to_string(),
        mysql::Error::DriverError(d) => d.to_string(),
        mysql::Error::CodecError(c) => c.to_string(),
        mysql::Error::TlsError(t) => t.to_string(),
        mysql::Error::UrlError(u) => u.to_string(),
        other => other.to_string(),
    }
}

/// `?` for driver results inside functions returning `anyhow::Result`.
pub trait Clean<T> {
    fn clean(self) -> Result<T>;
}

impl<T> Clean<T> for Result<T, mysql::Error> {
    fn clean(self) -> Result<T> {
        self.map_err(|e| anyhow::anyhow!(err(&e)))
    }
}

/// The server's error code, if it sent one.
pub fn error_code(e: &mysql::Error) -> Option<u16> {
    match e {
        mysql::Error::MySqlError(m) => Some(m.code),
        _ => None,
    }
}

pub fn server_info(conn: &mut Conn) -> Result<ServerInfo> {
    let row: Option<(String, u64, u64)> = conn
        .query_first("SELECT VERSION(), @@max_connections, @@server_id")
        .clean()?;
    let (version, max_connections, server_id) = row.context("SELECT VERSION() returned nothing")?;
    let flavour = if version.to_ascii_lowercase().contains("mariadb") {
        Flavour::MariaDb
    } else {
        Flavour::MySql
    };
    Ok(ServerInfo {
        flavour,
        version,
        max_connections,
        server_id,
    })
}

/// A value as the `mysql` client prints it (`NULL` for NULL).
pub fn value_text(v: &Value) -> String {
    match v {
        Value::NULL => "NULL".into(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(f) => f.to_string(),
        Value::Date(y, mo, d, h, mi, s, us) => {
            if *us > 0 {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}")
            } else {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            }
        }
        Value::Time(neg, d, h, mi, s, us) => {
            let sign = if *neg { "-" } else { "" };
            let hours = u32::from(*h) + d * 24;
            if *us > 0 {
                format!("{sign}{hours:02}:{mi:02}:{s:02}.{us:06}")
            } else {
                format!("{sign}{hours:02}:{mi:02}:{s:02}")
            }
        }
    }
}

/// A column of a row by name (any case), as text; `None` when absent or NULL.
pub fn col(row: &Row, name: &str) -> Option<String> {
    let i = row
        .columns_ref()
        .iter()
        .position(|c| c.name_str().eq_ignore_ascii_case(name))?;
    match row.as_ref(i)? {
        Value::NULL => None,
        v => Some(value_text(v)),
    }
}

pub fn col_f64(row: &Row, name: &str) -> Option<f64> {
    col(row, name)?.trim().parse().ok()
}

/// Rows as tab-separated text with a header line, as `mysql --batch` prints them.
pub fn rows_tsv(rows: &[Row]) -> String {
    let Some(first) = rows.first() else {
        return String::new();
    };
    let mut out: Vec<String> = vec![
        first
            .columns_ref()
            .iter()
            .map(|c| c.name_str().into_owned())
            .collect::<Vec<_>>()
            .join("\t"),
    ];
    for r in rows {
        let cells: Vec<String> = (0..r.len())
            .map(|i| r.as_ref(i).map(value_text).unwrap_or_default())
            .map(|s| s.replace(['\t', '\n'], " "))
            .collect();
        out.push(cells.join("\t"));
    }
    out.join("\n")
}

/// The table as information_schema sees it.
#[derive(Debug, Clone)]
pub struct TableInfo {
    pub engine: Option<String>,
    pub table_type: String,
    /// Estimated by the engine.
    pub rows: Option<u64>,
    pub data_bytes: Option<u64>,
    pub index_bytes: Option<u64>,
}

pub fn table_info(conn: &mut Conn, db: &Ident, table: &Ident) -> Result<Option<TableInfo>> {
    let row: Option<Row> = conn
        .exec_first(
            "SELECT ENGINE, TABLE_TYPE, TABLE_ROWS, DATA_LENGTH, INDEX_LENGTH \
         FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (db.as_str(), table.as_str()),
        )
        .clean()?;
    Ok(row.map(|r| TableInfo {
        engine: col(&r, "ENGINE"),
        table_type: col(&r, "TABLE_TYPE").unwrap_or_default(),
        rows: col(&r, "TABLE_ROWS").and_then(|s| s.parse().ok()),
        data_bytes: col(&r, "DATA_LENGTH").and_then(|s| s.parse().ok()),
        index_bytes: col(&r, "INDEX_LENGTH").and_then(|s| s.parse().ok()),
    }))
}

/// One column of the table.
#[derive(Debug, Clone)]
pub struct ColumnInfo {
    pub name: String,
    /// `int`, `varchar`, `text`, ...
    pub data_type: String,
    /// `PRI`, `UNI`, `MUL` or empty.
    pub key: String,
}

impl ColumnInfo {
    pub fn is_integer(&self) -> bool {
        matches!(
            self.data_type.to_ascii_lowercase().as_str(),
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint"
        )
    }

    pub fn is_numeric(&self) -> bool {
        self.is_integer()
            || matches!(
                self.data_type.to_ascii_lowercase().as_str(),
                "decimal" | "numeric" | "float" | "double" | "real" | "bit"
            )
    }

    /// BLOB and TEXT columns can only be indexed with a prefix length.
    pub fn needs_prefix(&self) -> bool {
        let t = self.data_type.to_ascii_lowercase();
        t.ends_with("blob") || t.ends_with("text") || t == "json" || t == "geometry"
    }
}

pub fn columns(conn: &mut Conn, db: &Ident, table: &Ident) -> Result<Vec<ColumnInfo>> {
    let rows: Vec<Row> = conn
        .exec(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_KEY FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (db.as_str(), table.as_str()),
        )
        .clean()?;
    Ok(rows
        .iter()
        .map(|r| ColumnInfo {
            name: col(r, "COLUMN_NAME").unwrap_or_default(),
            data_type: col(r, "DATA_TYPE").unwrap_or_default(),
            key: col(r, "COLUMN_KEY").unwrap_or_default(),
        })
        .collect())
}

/// The table's indexes: name → columns in order.
pub fn indexes(conn: &mut Conn, db: &Ident, table: &Ident) -> Result<Vec<(String, Vec<String>)>> {
    let rows: Vec<Row> = conn
        .exec(
            "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX",
            (db.as_str(), table.as_str()),
        )
        .clean()?;
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for r in &rows {
        let name = col(r, "INDEX_NAME").unwrap_or_default();
        let column = col(r, "COLUMN_NAME").unwrap_or_default();
        match out.last_mut() {
            Some((n, cols)) if *n == name => cols.push(column),
            _ => out.push((name, vec![column])),
        }
    }
    Ok(out)
}

/// An open transaction older than the limit.
#[derive(Debug, Clone)]
pub struct OldTrx {
    pub thread_id: String,
    pub age_s: u64,
    pub query: Option<String>,
}

pub fn old_transactions(conn: &mut Conn, older_than: Duration) -> Result<Vec<OldTrx>> {
    let rows: Vec<Row> = conn
        .exec(
            "SELECT trx_mysql_thread_id AS thread_id, \
                TIMESTAMPDIFF(SECOND, trx_started, NOW()) AS age_s, trx_query \
         FROM information_schema.INNODB_TRX \
         WHERE trx_started < NOW() - INTERVAL ? SECOND ORDER BY trx_started",
            (older_than.as_secs(),),
        )
        .clean()?;
    Ok(rows
        .iter()
        .map(|r| OldTrx {
            thread_id: col(r, "thread_id").unwrap_or_default(),
            age_s: col(r, "age_s").and_then(|s| s.parse().ok()).unwrap_or(0),
            query: col(r, "trx_query"),
        })
        .collect())
}

/// Sessions waiting for a metadata lock whose statement names the table,
/// leaving out `except` (the ALTER's own session).
pub fn mdl_waiters(
    conn: &mut Conn,
    table: &Ident,
    except: Option<u32>,
) -> Result<u32, mysql::Error> {
    let n: Option<u64> = conn.exec_first(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
         WHERE STATE = 'Waiting for table metadata lock' AND INSTR(INFO, ?) > 0 AND ID <> ?",
        (table.as_str(), except.unwrap_or(0)),
    )?;
    Ok(n.unwrap_or(0) as u32)
}

/// The ALTER's session as the process list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DdlProgress {
    pub state: Option<String>,
    pub time_s: Option<f64>,
    /// MariaDB's PROGRESS column (percent of the current stage).
    pub progress_pct: Option<f64>,
    pub stage: Option<(u32, u32)>,
}

pub fn ddl_progress(
    conn: &mut Conn,
    flavour: Flavour,
    id: u32,
) -> Result<Option<DdlProgress>, mysql::Error> {
    let row: Option<Row> = match flavour {
        Flavour::MariaDb => conn.exec_first(
            "SELECT STATE, TIME_MS, PROGRESS, STAGE, MAX_STAGE FROM information_schema.PROCESSLIST WHERE ID = ?",
            (id,),
        )?,
        Flavour::MySql => conn.exec_first(
            "SELECT STATE, TIME FROM information_schema.PROCESSLIST WHERE ID = ?",
            (id,),
        )?,
    };
    Ok(row.map(|r| {
        let stage = match (col(&r, "STAGE"), col(&r, "MAX_STAGE")) {
            (Some(s), Some(m)) => match (s.parse(), m.parse()) {
                (Ok(s), Ok(m)) if m > 0 => Some((s, m)),
                _ => None,
            },
            _ => None,
        };
        DdlProgress {
            state: col(&r, "STATE").filter(|s| !s.is_empty()),
            time_s: col_f64(&r, "TIME_MS")
                .map(|ms| ms / 1000.0)
                .or_else(|| col_f64(&r, "TIME")),
            progress_pct: col_f64(&r, "PROGRESS"),
            stage,
        }
    }))
}

/// `SHOW INDEX FROM db.t WHERE Key_name = 'idx'`, as the template writes it.
pub fn show_index_sql(db: &Ident, table: &Ident, index: &Ident) -> String {
    format!(
        "SHOW INDEX FROM {}.{} WHERE Key_name = {}",
        db.quoted(),
        table.quoted(),
        literal(index)
    )
}

/// The index as SHOW INDEX shows it.
#[derive(Debug, Clone, Default)]
pub struct ShownIndex {
    pub exists: bool,
    pub columns: Vec<String>,
    pub index_type: Option<String>,
    /// The raw rows, tab-separated with a header.
    pub raw: String,
}

pub fn show_index(
    conn: &mut Conn,
    db: &Ident,
    table: &Ident,
    index: &Ident,
) -> Result<ShownIndex, mysql::Error> {
    let rows: Vec<Row> = conn.query(show_index_sql(db, table, index))?;
    let mut cols: Vec<(u32, String)> = rows
        .iter()
        .map(|r| {
            (
                col(r, "Seq_in_index")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
                col(r, "Column_name").unwrap_or_default(),
            )
        })
        .collect();
    cols.sort();
    Ok(ShownIndex {
        exists: !rows.is_empty(),
        columns: cols.into_iter().map(|(_, c)| c).collect(),
        index_type: rows.first().and_then(|r| col(r, "Index_type")),
        raw: rows_tsv(&rows),
    })
}

/// A value of the column to look up in the verification EXPLAIN.
pub fn sample_value(
    conn: &mut Conn,
    db: &Ident,
    table: &Ident,
    column: &Ident,
) -> Result<Option<Value>> {
    let sql = format!(
        "SELECT {c} FROM {d}.{t} WHERE {c} IS NOT NULL LIMIT 1",
        c = column.quoted(),
        d = db.quoted(),
        t = table.quoted()
    );
    let row: Option<Row> = conn.query_first(sql).clean()?;
    Ok(row.and_then(|r| r.as_ref(0).cloned()))
}

/// A value written as an SQL literal, for showing the EXPLAIN query to people
/// (the query itself is run with the value as a parameter).
pub fn shown_literal(v: &Value, numeric: bool) -> String {
    let text = value_text(v);
    if matches!(v, Value::NULL) {
        return "NULL".into();
    }
    if numeric && text.parse::<f64>().is_ok() {
        return text;
    }
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// EXPLAIN of `SELECT * FROM db.t WHERE col = ?` with the value as a parameter.
pub struct Explained {
    pub access_type: Option<String>,
    pub key: Option<String>,
    pub raw: String,
}

pub fn explain_lookup(
    conn: &mut Conn,
    db: &Ident,
    table: &Ident,
    column: &Ident,
    value: Value,
) -> Result<Explained> {
    let sql = format!(
        "EXPLAIN SELECT * FROM {}.{} WHERE {} = ?",
        db.quoted(),
        table.quoted(),
        column.quoted()
    );
    let rows: Vec<Row> = conn.exec(sql, vec![value]).clean()?;
    let first = rows.first();
    Ok(Explained {
        access_type: first.and_then(|r| col(r, "type")),
        key: first.and_then(|r| col(r, "key")),
        raw: rows_tsv(&rows),
    })
}

/// A server-side latency histogram, when the server keeps one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Histogram {
    /// MariaDB's QUERY_RESPONSE_TIME plugin.
    QueryResponseTime,
    /// MySQL 8's performance_schema.events_statements_histogram_global.
    StatementsHistogram,
}

impl Histogram {
    pub fn name(self) -> &'static str {
        match self {
            Histogram::QueryResponseTime => {
                "information_schema.QUERY_RESPONSE_TIME (MariaDB plugin)"
            }
            Histogram::StatementsHistogram => {
                "performance_schema.events_statements_histogram_global"
            }
        }
    }
}

/// Which histogram this server has, and why not when it has none.
pub fn find_histogram(conn: &mut Conn, flavour: Flavour) -> Result<Histogram, String> {
    match flavour {
        Flavour::MariaDb => {
            let active: Option<u64> = conn
                .query_first(
                    "SELECT COUNT(*) FROM information_schema.PLUGINS \
                     WHERE PLUGIN_NAME = 'QUERY_RESPONSE_TIME' AND PLUGIN_STATUS = 'ACTIVE'",
                )
                .map_err(|e| err(&e))?;
            if active.unwrap_or(0) == 0 {
                return Err("the QUERY_RESPONSE_TIME plugin is not installed".into());
            }
            let on: Option<String> = conn
                .query_first("SELECT @@query_response_time_stats")
                .map_err(|e| err(&e))?;
            if !matches!(on.as_deref(), Some("1") | Some("ON")) {
                return Err(
                    "the QUERY_RESPONSE_TIME plugin is installed but query_response_time_stats is OFF"
                        .into(),
                );
            }
            // With its default base of 10 the buckets are decades (1 ms, 10 ms,
            // 100 ms): a P99 interpolated inside one can be off by a factor of
            // several, enough to fake a breach. Only a base of 2 is fine enough.
            let base: Option<u64> = conn
                .query_first("SELECT @@query_response_time_range_base")
                .map_err(|e| err(&e))?;
            match base {
                Some(2) => Ok(Histogram::QueryResponseTime),
                Some(b) => Err(format!(
                    "the QUERY_RESPONSE_TIME plugin's buckets are too coarse \
                     (query_response_time_range_base = {b}; 2 is needed for percentiles)"
                )),
                None => Err("query_response_time_range_base is unknown".into()),
            }
        }
        Flavour::MySql => {
            let on: Option<String> = conn
                .query_first("SELECT @@performance_schema")
                .map_err(|e| err(&e))?;
            if !matches!(on.as_deref(), Some("1") | Some("ON")) {
                return Err("performance_schema is OFF".into());
            }
            conn.query_drop(
                "SELECT 1 FROM performance_schema.events_statements_histogram_global LIMIT 1",
            )
            .map_err(|e| err(&e))?;
            Ok(Histogram::StatementsHistogram)
        }
    }
}

/// The histogram's buckets: (upper bound in ms, cumulative count so far).
pub fn read_histogram(conn: &mut Conn, h: Histogram) -> Result<Vec<(f64, u64)>, mysql::Error> {
    match h {
        Histogram::QueryResponseTime => {
            let rows: Vec<(String, u64)> =
                conn.query("SELECT TRIM(TIME), COUNT FROM information_schema.QUERY_RESPONSE_TIME")?;
            Ok(rows
                .into_iter()
                .map(|(t, c)| {
                    (
                        t.parse::<f64>()
                            .map(|s| s * 1000.0)
                            .unwrap_or(f64::INFINITY),
                        c,
                    )
                })
                .collect())
        }
        Histogram::StatementsHistogram => {
            let rows: Vec<(u64, u64)> = conn.query(
                "SELECT BUCKET_TIMER_HIGH, COUNT_BUCKET \
                 FROM performance_schema.events_statements_histogram_global ORDER BY BUCKET_NUMBER",
            )?;
            // Picoseconds to milliseconds.
            Ok(rows
                .into_iter()
                .map(|(hi, c)| (hi as f64 / 1e9, c))
                .collect())
        }
    }
}

/// The q-quantile (ms) of the queries between two reads, interpolated
/// linearly inside its bucket as Prometheus' `histogram_quantile` does; a
/// quantile in the open-ended last bucket is that bucket's lower bound.
pub fn histogram_quantile(before: &[(f64, u64)], after: &[(f64, u64)], q: f64) -> Option<f64> {
    if before.len() != after.len() {
        return None;
    }
    let deltas: Vec<(f64, u64)> = before
        .iter()
        .zip(after)
        .map(|((_, b), (hi, a))| (*hi, a.saturating_sub(*b)))
        .collect();
    let total: u64 = deltas.iter().map(|(_, d)| d).sum();
    if total == 0 {
        return None;
    }
    let want = q.clamp(0.0, 1.0) * total as f64;
    let mut seen = 0u64;
    let mut lower = 0.0;
    for (hi, d) in &deltas {
        if *d > 0 && (seen + d) as f64 >= want {
            if !hi.is_finite() {
                return Some(lower);
            }
            let frac = ((want - seen as f64) / *d as f64).clamp(0.0, 1.0);
            return Some(lower + (hi - lower) * frac);
        }
        seen += d;
        if hi.is_finite() {
            lower = *hi;
        }
    }
    Some(lower)
}

/// One replication channel of a replica, as SHOW SLAVE STATUS / SHOW REPLICA
/// STATUS shows it (columns read by name: MariaDB's and MySQL 8's differ).
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// MariaDB's Connection_name / MySQL's Channel_Name; empty for the default.
    pub name: String,
    pub io_running: String,
    pub sql_running: String,
    /// Seconds_Behind_Master (Source); `None` when NULL.
    pub lag_s: Option<f64>,
    /// `HOST:PORT` it replicates from.
    pub source: String,
    /// The server id of the server it replicates from, once connected to it.
    pub source_server_id: Option<u64>,
    pub last_error: Option<String>,
}

impl Channel {
    pub fn running(&self) -> bool {
        self.io_running.eq_ignore_ascii_case("Yes")
            && self.sql_running.eq_ignore_ascii_case("Yes")
            && self.lag_s.is_some()
    }

    /// `IO Yes, SQL No, lag NULL, from 127.0.0.1:3306, last error: ...`
    pub fn describe(&self) -> String {
        let name = if self.name.is_empty() {
            String::new()
        } else {
            format!("channel '{}': ", self.name)
        };
        let lag = self
            .lag_s
            .map_or("NULL".to_string(), |l| format!("{} s", fmt_lag(l)));
        let error = self
            .last_error
            .as_ref()
            .map(|e| format!(", last error: {e}"))
            .unwrap_or_default();
        format!(
            "{name}IO thread {}, SQL thread {}, lag {lag}, from {}{error}",
            self.io_running, self.sql_running, self.source
        )
    }
}

fn fmt_lag(l: f64) -> String {
    if l == l.trunc() {
        format!("{l:.0}")
    } else {
        format!("{l:.3}")
    }
}

/// A replica's state: every channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaStatus {
    pub channels: Vec<Channel>,
}

impl ReplicaStatus {
    /// The largest lag of the channels; `None` when any channel is stopped
    /// (a thread not running, or its lag NULL).
    pub fn lag_s(&self) -> Option<f64> {
        if self.channels.iter().any(|c| !c.running()) {
            return None;
        }
        self.channels
            .iter()
            .filter_map(|c| c.lag_s)
            .reduce(f64::max)
    }

    pub fn describe(&self) -> String {
        self.channels
            .iter()
            .map(Channel::describe)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The server's replication state; `Ok(None)` when it is not a replica.
pub fn replica_status(
    conn: &mut Conn,
    flavour: Flavour,
) -> Result<Option<ReplicaStatus>, mysql::Error> {
    let rows: Vec<Row> = match flavour {
        // Every named connection, not only the default one.
        Flavour::MariaDb => conn.query("SHOW ALL SLAVES STATUS")?,
        Flavour::MySql => match conn.query("SHOW REPLICA STATUS") {
            Ok(r) => r,
            // Before 8.0.22.
            Err(_) => conn.query("SHOW SLAVE STATUS")?,
        },
    };
    if rows.is_empty() {
        return Ok(None);
    }
    let either = |r: &Row, a: &str, b: &str| col(r, a).or_else(|| col(r, b));
    let channels = rows
        .iter()
        .map(|r| {
            let last_error = [
                either(r, "Last_IO_Error", "Last_IO_Error"),
                either(r, "Last_SQL_Error", "Last_SQL_Error"),
            ]
            .into_iter()
            .flatten()
            .filter(|e| !e.trim().is_empty())
            .collect::<Vec<_>>();
            Channel {
                name: either(r, "Connection_name", "Channel_Name").unwrap_or_default(),
                io_running: either(r, "Slave_IO_Running", "Replica_IO_Running")
                    .unwrap_or_else(|| "?".into()),
                sql_running: either(r, "Slave_SQL_Running", "Replica_SQL_Running")
                    .unwrap_or_else(|| "?".into()),
                lag_s: col_f64(r, "Seconds_Behind_Master")
                    .or_else(|| col_f64(r, "Seconds_Behind_Source")),
                source: format!(
                    "{}:{}",
                    either(r, "Master_Host", "Source_Host").unwrap_or_else(|| "?".into()),
                    either(r, "Master_Port", "Source_Port").unwrap_or_else(|| "?".into())
                ),
                source_server_id: either(r, "Master_Server_Id", "Source_Server_Id")
                    .and_then(|v| v.parse().ok())
                    .filter(|id| *id != 0),
                last_error: (!last_error.is_empty()).then(|| last_error.join("; ")),
            }
        })
        .collect();
    Ok(Some(ReplicaStatus { channels }))
}

/// A global status snapshot of the counters capture samples.
pub fn global_status(
    conn: &mut Conn,
) -> Result<std::collections::HashMap<String, f64>, mysql::Error> {
    let rows: Vec<(String, String)> = conn.query(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected', 'Threads_running', \
         'Innodb_row_lock_time', 'Table_locks_waited', 'Innodb_buffer_pool_reads', \
         'Innodb_buffer_pool_read_requests', 'Uptime')",
    )?;
    Ok(rows
        .into_iter()
        .filter_map(|(k, v)| {
            v.trim()
                .parse::<f64>()
                .ok()
                .map(|v| (k.to_ascii_lowercase(), v))
        })
        .collect())
}

/// Refuses a statement that is not a single read, for --probe-query.
pub fn check_probe_query(sql: &str) -> Result<()> {
    let s = sql.trim().trim_end_matches(';').trim();
    let first = s
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    if !matches!(first.as_str(), "SELECT" | "WITH" | "(SELECT") {
        bail!(
            "--probe-query: must be a SELECT, got `{}`",
            s.chars().take(40).collect::<String>()
        );
    }
    if s.contains(';') {
        bail!("--probe-query: one statement only");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_come_from_the_deltas() {
        let before = vec![
            (0.001, 10),
            (0.01, 10),
            (0.1, 0),
            (1.0, 0),
            (f64::INFINITY, 0),
        ];
        let after = vec![
            (0.001, 10),
            (0.01, 108),
            (0.1, 1),
            (1.0, 1),
            (f64::INFINITY, 0),
        ];
        // 100 new queries: 98 in (0.001, 0.01] ms, 1 in (0.01, 0.1], 1 in (0.1, 1].
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-12);
        assert!(close(
            histogram_quantile(&before, &after, 0.49),
            0.001 + 0.009 * 0.5
        ));
        assert!(close(histogram_quantile(&before, &after, 0.99), 0.1));
        assert!(close(
            histogram_quantile(&before, &after, 0.995),
            0.01 + 0.09 * 1.0 + 0.45
        ));
        assert!(close(histogram_quantile(&before, &after, 1.0), 1.0));
        assert_eq!(histogram_quantile(&after, &after, 0.5), None);
        // In the open-ended bucket: its lower bound.
        let b = vec![(1.0, 0), (f64::INFINITY, 0)];
        let a = vec![(1.0, 0), (f64::INFINITY, 5)];
        assert_eq!(histogram_quantile(&b, &a, 0.5), Some(1.0));
    }

    #[test]
    fn literals_for_people() {
        assert_eq!(shown_literal(&Value::Bytes(b"42".to_vec()), true), "42");
        assert_eq!(shown_literal(&Value::Bytes(b"42".to_vec()), false), "'42'");
        assert_eq!(
            shown_literal(&Value::Bytes(b"it's".to_vec()), false),
            "'it''s'"
        );
    }

    #[test]
    fn probe_queries_must_be_reads() {
        assert!(check_probe_query("SELECT 1").is_ok());
        assert!(check_probe_query("select * from t where id = 3;").is_ok());
        assert!(check_probe_query("DELETE FROM t").is_err());
        assert!(check_probe_query("SELECT 1; DROP TABLE t").is_err());
    }
}
