//! Test support for `capture`: a throw-away MariaDB server, a kill switch API
//! and a workload.

pub mod killswitch;
pub mod mariadb;
pub mod workload;

use std::path::{Path, PathBuf};

/// Bounds the tests leave unjudged unless they are the point: this machine's
/// CPU, memory and disk, shared with the other tests and whatever else runs,
/// and the buffer pool hit rate of a server the other tests' tables share.
/// Capture stops before the DDL when the baseline already breaks a critical
/// bound, and a busy machine would break these.
pub const SHARED_NOT_JUDGED: &str = "[metrics.cpu_usage_pct]\nkind = \"none\"\n\
     [metrics.memory_usage_pct]\nkind = \"none\"\n\
     [metrics.disk_read_mb_s]\nkind = \"none\"\n\
     [metrics.disk_write_mb_s]\nkind = \"none\"\n\
     [metrics.buffer_pool_hit_rate_pct]\nkind = \"none\"\n";

/// The bounds of a test that gives none. Query latency here is a handful of
/// sub-millisecond loopback probes, whose P50/P99 over a few-second DDL window
/// doubles whenever the machine is busy: its window value is not judged
/// (breaches sustained for 60 s still are), so that a run's outcome never
/// depends on the machine's load. Tests about latency set their own bounds.
pub const DEFAULT_TEST_BOUNDS: &str = "[metrics.query_latency_p50_ms]\nwindow_statistic = false\n\
     [metrics.query_latency_p99_ms]\nwindow_statistic = false\n";

/// Writes `path`: the bounds of `toml`, with [`SHARED_NOT_JUDGED`] after them.
pub fn thresholds_file(path: &Path, toml: &str) -> PathBuf {
    std::fs::write(path, format!("{toml}\n{SHARED_NOT_JUDGED}")).unwrap();
    path.to_path_buf()
}
