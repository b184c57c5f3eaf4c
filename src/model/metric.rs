//! The twenty metrics of the report template (section 3), and the raw inputs that feed them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Seconds since the Unix epoch, UTC, with sub-second precision.
pub type UnixSeconds = f64;

/// A number too large to read digit by digit (|v| ≥ 1e15: a counter gone
/// wrong, a value near `f64::MAX`) in scientific notation, `1.70e308`, as the
/// charts write it; `None` for any other, which each table formats its way.
pub fn too_large_to_spell(v: f64) -> Option<String> {
    (v.is_finite() && v.abs() >= 1e15).then(|| format!("{v:.2e}"))
}

/// A value as the tables of rules, comparisons and JUnit print it: whole
/// numbers and |v| ≥ 100 without decimals, others to two.
pub fn plain_number(v: f64) -> String {
    if let Some(s) = too_large_to_spell(v) {
        s
    } else if v.fract() == 0.0 || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A value as [`plain_number`] prints it, with its unit; `-` when there is none.
pub fn plain_value(v: Option<f64>, unit: &str) -> String {
    v.map_or_else(|| "-".into(), |v| with_unit(plain_number(v), unit))
}

/// A formatted number with its unit as the report writes it: `42` for a
/// count, `12.5%`, `3.20 ms`.
pub fn with_unit(number: String, unit: &str) -> String {
    match unit {
        "count" => number,
        "%" => format!("{number}%"),
        u => format!("{number} {u}"),
    }
}

/// A UTC time as [`UnixSeconds`], to the microsecond.
pub fn unix_seconds(ts: &chrono::DateTime<chrono::Utc>) -> UnixSeconds {
    ts.timestamp_micros() as f64 / 1e6
}

/// The four tables of section 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    System,
    Database,
    Application,
    KillSwitch,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::System,
        Category::Database,
        Category::Application,
        Category::KillSwitch,
    ];
}

/// One of the report's twenty metrics, in the template's order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MetricId {
    CpuUsagePct,
    MemoryUsagePct,
    DiskReadMbS,
    DiskWriteMbS,
    NetworkLatencyMs,
    ActiveConnections,
    QueryLatencyP50Ms,
    QueryLatencyP99Ms,
    LockWaitTimeS,
    TableLocksWaited,
    ReplicationLagS,
    BufferPoolHitRatePct,
    ThreadsRunning,
    ErrorRatePct,
    RequestLatencyP50Ms,
    RequestLatencyP99Ms,
    /// Not one of the template's twenty: a source that prints a P95
    /// (sysbench's default `--percentile`) feeds it, never relabelled as P99.
    /// Judged and shown only when measured.
    RequestLatencyP95Ms,
    ThroughputRps,
    KillSwitchCheckCount,
    KillSwitchApiResponseMs,
    KillSwitchApiAvailabilityPct,
}

impl MetricId {
    pub const ALL: [MetricId; 21] = [
        MetricId::CpuUsagePct,
        MetricId::MemoryUsagePct,
        MetricId::DiskReadMbS,
        MetricId::DiskWriteMbS,
        MetricId::NetworkLatencyMs,
        MetricId::ActiveConnections,
        MetricId::QueryLatencyP50Ms,
        MetricId::QueryLatencyP99Ms,
        MetricId::LockWaitTimeS,
        MetricId::TableLocksWaited,
        MetricId::ReplicationLagS,
        MetricId::BufferPoolHitRatePct,
        MetricId::ThreadsRunning,
        MetricId::ErrorRatePct,
        MetricId::RequestLatencyP50Ms,
        MetricId::RequestLatencyP99Ms,
        MetricId::RequestLatencyP95Ms,
        MetricId::ThroughputRps,
        MetricId::KillSwitchCheckCount,
        MetricId::KillSwitchApiResponseMs,
        MetricId::KillSwitchApiAvailabilityPct,
    ];

    /// The identifier used in input files, thresholds files and JSON output.
    pub fn key(self) -> &'static str {
        use MetricId::*;
        match self {
            CpuUsagePct => "cpu_usage_pct",
            MemoryUsagePct => "memory_usage_pct",
            DiskReadMbS => "disk_read_mb_s",
            DiskWriteMbS => "disk_write_mb_s",
            NetworkLatencyMs => "network_latency_ms",
            ActiveConnections => "active_connections",
            QueryLatencyP50Ms => "query_latency_p50_ms",
            QueryLatencyP99Ms => "query_latency_p99_ms",
            LockWaitTimeS => "lock_wait_time_s",
            TableLocksWaited => "table_locks_waited",
            ReplicationLagS => "replication_lag_s",
            BufferPoolHitRatePct => "buffer_pool_hit_rate_pct",
            ThreadsRunning => "threads_running",
            ErrorRatePct => "error_rate_pct",
            RequestLatencyP50Ms => "request_latency_p50_ms",
            RequestLatencyP99Ms => "request_latency_p99_ms",
            RequestLatencyP95Ms => "request_latency_p95_ms",
            ThroughputRps => "throughput_rps",
            KillSwitchCheckCount => "kill_switch_check_count",
            KillSwitchApiResponseMs => "kill_switch_api_response_ms",
            KillSwitchApiAvailabilityPct => "kill_switch_api_availability_pct",
        }
    }

    /// The row label of the template (English, as the template writes it).
    pub fn label(self) -> &'static str {
        use MetricId::*;
        match self {
            CpuUsagePct => "CPU Usage (%)",
            MemoryUsagePct => "Memory Usage (%)",
            DiskReadMbS => "Disk I/O Read (MB/s)",
            DiskWriteMbS => "Disk I/O Write (MB/s)",
            NetworkLatencyMs => "Network Latency (ms)",
            ActiveConnections => "Active Connections",
            QueryLatencyP50Ms => "Query Latency P50 (ms)",
            QueryLatencyP99Ms => "Query Latency P99 (ms)",
            LockWaitTimeS => "Lock Wait Time (s)",
            TableLocksWaited => "Table Locks Waited",
            ReplicationLagS => "Replication Lag (s)",
            BufferPoolHitRatePct => "InnoDB Buffer Pool Hit Rate (%)",
            ThreadsRunning => "Threads Running",
            ErrorRatePct => "Error Rate (%)",
            RequestLatencyP50Ms => "Request Latency P50 (ms)",
            RequestLatencyP99Ms => "Request Latency P99 (ms)",
            RequestLatencyP95Ms => "Request Latency P95 (ms)",
            ThroughputRps => "Throughput (req/s)",
            KillSwitchCheckCount => "Kill Switch Check Count",
            KillSwitchApiResponseMs => "Kill Switch API Response Time (ms)",
            KillSwitchApiAvailabilityPct => "Kill Switch API Availability (%)",
        }
    }

    /// The unit a value of this metric is written in.
    pub fn unit(self) -> &'static str {
        use MetricId::*;
        match self {
            CpuUsagePct
            | MemoryUsagePct
            | BufferPoolHitRatePct
            | ErrorRatePct
            | KillSwitchApiAvailabilityPct => "%",
            DiskReadMbS | DiskWriteMbS => "MB/s",
            NetworkLatencyMs
            | QueryLatencyP50Ms
            | QueryLatencyP99Ms
            | RequestLatencyP50Ms
            | RequestLatencyP99Ms
            | RequestLatencyP95Ms
            | KillSwitchApiResponseMs => "ms",
            LockWaitTimeS | ReplicationLagS => "s",
            ActiveConnections | TableLocksWaited | ThreadsRunning | KillSwitchCheckCount => "count",
            ThroughputRps => "req/s",
        }
    }

    pub fn category(self) -> Category {
        use MetricId::*;
        match self {
            CpuUsagePct | MemoryUsagePct | DiskReadMbS | DiskWriteMbS | NetworkLatencyMs => {
                Category::System
            }
            ActiveConnections | QueryLatencyP50Ms | QueryLatencyP99Ms | LockWaitTimeS
            | TableLocksWaited | ReplicationLagS | BufferPoolHitRatePct | ThreadsRunning => {
                Category::Database
            }
            ErrorRatePct | RequestLatencyP50Ms | RequestLatencyP99Ms | RequestLatencyP95Ms
            | ThroughputRps => Category::Application,
            KillSwitchCheckCount | KillSwitchApiResponseMs | KillSwitchApiAvailabilityPct => {
                Category::KillSwitch
            }
        }
    }

    /// Metrics whose samples come from the execution log's kill switch checks,
    /// not from `metrics/`.
    pub fn is_derived_from_events(self) -> bool {
        self.category() == Category::KillSwitch
    }

    /// Latency metrics: these count toward the post-phase degradation rule.
    pub fn is_latency(self) -> bool {
        matches!(
            self,
            MetricId::QueryLatencyP50Ms
                | MetricId::QueryLatencyP99Ms
                | MetricId::RequestLatencyP50Ms
                | MetricId::RequestLatencyP99Ms
                | MetricId::RequestLatencyP95Ms
        )
    }

    /// One of the template's twenty metrics, always in the report. The others
    /// (request latency P95) are judged and shown only when measured.
    pub fn in_template(self) -> bool {
        self != MetricId::RequestLatencyP95Ms
    }

    /// The application's request latency percentiles.
    pub const REQUEST_LATENCY: [MetricId; 3] = [
        MetricId::RequestLatencyP50Ms,
        MetricId::RequestLatencyP95Ms,
        MetricId::RequestLatencyP99Ms,
    ];
}

impl fmt::Display for MetricId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for MetricId {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MetricId::ALL.into_iter().find(|m| m.key() == s).ok_or(())
    }
}

/// A latency distribution recorded one value per query or request. Each feeds a
/// P50 and a P99 metric, computed over the samples that fall in each phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RawLatency {
    /// `query_latency_ms`: one row per database query.
    Query,
    /// `request_latency_ms`: one row per application request.
    Request,
}

impl RawLatency {
    pub const ALL: [RawLatency; 2] = [RawLatency::Query, RawLatency::Request];

    pub fn key(self) -> &'static str {
        match self {
            RawLatency::Query => "query_latency_ms",
            RawLatency::Request => "request_latency_ms",
        }
    }

    /// The (P50, P99) metrics this distribution feeds.
    pub fn metrics(self) -> (MetricId, MetricId) {
        match self {
            RawLatency::Query => (MetricId::QueryLatencyP50Ms, MetricId::QueryLatencyP99Ms),
            RawLatency::Request => (MetricId::RequestLatencyP50Ms, MetricId::RequestLatencyP99Ms),
        }
    }
}

/// A count of application events: each sample is the number of events in
/// the interval that ends at its time (sysbench's report interval, a
/// Prometheus `increase()` step). Together they give the window's error rate
/// (Σ errors ÷ Σ requests) and throughput (completed requests ÷ seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventCount {
    /// `requests`: every request attempted, failed ones included.
    Requests,
    /// `request_errors`: the requests that failed.
    RequestErrors,
}

impl EventCount {
    pub const ALL: [EventCount; 2] = [EventCount::Requests, EventCount::RequestErrors];

    pub fn key(self) -> &'static str {
        match self {
            EventCount::Requests => "requests",
            EventCount::RequestErrors => "request_errors",
        }
    }
}

/// What a metric name found in an input file stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InputMetric {
    /// A time series of one of the twenty metrics (one value per scrape).
    Series(MetricId),
    /// Raw per-event latency samples feeding a P50 and a P99 metric.
    Raw(RawLatency),
    /// Event counts per interval feeding the error rate and the throughput.
    Count(EventCount),
}

impl InputMetric {
    pub fn key(self) -> &'static str {
        match self {
            InputMetric::Series(m) => m.key(),
            InputMetric::Raw(r) => r.key(),
            InputMetric::Count(c) => c.key(),
        }
    }

    /// Every name accepted in `metrics/` files.
    pub fn accepted_names() -> Vec<&'static str> {
        MetricId::ALL
            .iter()
            .filter(|m| !m.is_derived_from_events())
            .map(|m| m.key())
            .chain(RawLatency::ALL.iter().map(|r| r.key()))
            .chain(EventCount::ALL.iter().map(|c| c.key()))
            .collect()
    }
}

impl FromStr for InputMetric {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(r) = RawLatency::ALL.into_iter().find(|r| r.key() == s) {
            return Ok(InputMetric::Raw(r));
        }
        if let Some(c) = EventCount::ALL.into_iter().find(|c| c.key() == s) {
            return Ok(InputMetric::Count(c));
        }
        match s.parse::<MetricId>() {
            Ok(m) if !m.is_derived_from_events() => Ok(InputMetric::Series(m)),
            _ => Err(()),
        }
    }
}

/// `1 file`, `3 files`: a count with its noun (an English plural in -s).
pub fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Formats unix seconds as RFC 3339 UTC, for messages.
pub fn format_unix(t: UnixSeconds) -> String {
    let secs = t.floor();
    let nanos = ((t - secs) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
    match chrono::DateTime::from_timestamp(secs as i64, nanos) {
        Some(dt) => dt.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        None => format!("{t} s"),
    }
}

/// One observation: a time and a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub t: UnixSeconds,
    pub v: f64,
}

/// Where a sample was read from, kept so that a report can point at its raw data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SourceFile {
    /// Path relative to the run directory.
    pub path: String,
    pub format: String,
    pub rows: u64,
    pub bytes: u64,
    /// The SHA-256 of the file's bytes, in hex: which exact file the report
    /// was made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The first and last sample's time: whether the file covers the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<UnixSeconds>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<UnixSeconds>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_values_print_in_scientific_notation_and_the_rest_as_before() {
        assert_eq!(plain_number(1.7e307), "1.70e307");
        assert_eq!(plain_number(-2.5e15), "-2.50e15");
        assert_eq!(plain_number(999_999_999_999_999.0), "999999999999999");
        assert_eq!(plain_number(12.345), "12.35");
        assert_eq!(plain_number(250.4), "250");
        assert_eq!(plain_number(7.0), "7");
        assert_eq!(too_large_to_spell(f64::INFINITY), None);
        assert_eq!(with_unit(plain_number(1.7e307), "%"), "1.70e307%");
    }

    #[test]
    fn twenty_metrics_in_four_categories_as_the_template_counts_them() {
        let count = |c| {
            MetricId::ALL
                .iter()
                .filter(|m| m.in_template() && m.category() == c)
                .count()
        };
        assert_eq!(count(Category::System), 5);
        assert_eq!(count(Category::Database), 8);
        assert_eq!(count(Category::Application), 4);
        assert_eq!(count(Category::KillSwitch), 3);
        // And one more, measured by some sources only.
        assert_eq!(
            MetricId::ALL
                .iter()
                .filter(|m| !m.in_template())
                .collect::<Vec<_>>(),
            [&MetricId::RequestLatencyP95Ms]
        );
    }

    #[test]
    fn keys_round_trip_and_serde_agrees() {
        for m in MetricId::ALL {
            assert_eq!(m.key().parse::<MetricId>(), Ok(m));
            assert_eq!(
                serde_json::to_string(&m).unwrap(),
                format!("\"{}\"", m.key())
            );
        }
    }

    #[test]
    fn input_names_exclude_event_derived_metrics() {
        assert!("kill_switch_check_count".parse::<InputMetric>().is_err());
        assert_eq!(
            "query_latency_ms".parse::<InputMetric>(),
            Ok(InputMetric::Raw(RawLatency::Query))
        );
        assert_eq!(
            "cpu_usage_pct".parse::<InputMetric>(),
            Ok(InputMetric::Series(MetricId::CpuUsagePct))
        );
        for c in EventCount::ALL {
            assert_eq!(c.key().parse::<InputMetric>(), Ok(InputMetric::Count(c)));
            assert!(InputMetric::accepted_names().contains(&c.key()));
        }
    }
}
