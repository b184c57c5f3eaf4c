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

/// Set by `scripts/test` (and so by CI): a test whose program is missing
/// fails instead of being skipped.
pub const REQUIRE: &str = "CANARY_REPORT_REQUIRE_DB";

/// Where `program` is on this machine: on PATH, or in /usr/sbin (where
/// Debian puts `mariadbd`, off a normal user's PATH).
pub fn program_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(std::iter::once(PathBuf::from("/usr/sbin")))
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

pub fn has_program(program: &str) -> bool {
    program_path(program).is_some()
}

/// True when the calling test must be skipped for want of `what` (`missing`
/// says what is missing and how to get it): one line on stderr saying so.
/// With CANARY_REPORT_REQUIRE_DB set, a missing part is a failure instead,
/// so that a machine meant to run everything cannot pass by skipping.
pub fn skip_for_want_of(test: &str, missing: Option<String>) -> bool {
    let Some(missing) = missing else {
        return false;
    };
    if std::env::var_os(REQUIRE).is_some() {
        panic!("{test}: {missing} ({REQUIRE} is set: a failure, not a skip)");
    }
    // Straight to stderr: libtest hides what eprintln! says in a passing test.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED {test}: {missing}; set {REQUIRE}=1 to make this a failure"
    );
    true
}

/// What the MariaDB tests need and this machine lacks, if anything.
pub fn missing_mariadb() -> Option<String> {
    ["mariadbd", "mariadb-install-db"]
        .into_iter()
        .find(|p| !has_program(p))
        .map(|p| format!("`{p}` not found (apt-get install mariadb-server)"))
}

/// Skips (returns from) the test without a MariaDB server binary.
#[macro_export]
macro_rules! needs_mariadb {
    ($test:literal) => {
        if support::skip_for_want_of($test, support::missing_mariadb()) {
            return;
        }
    };
}

/// `Some` unless this process runs as root (the fault tests mount a tmpfs).
// Used by tests/capture_faults.rs only.
#[allow(dead_code)]
pub fn missing_root() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next().map(str::to_string));
    (uid.as_deref() != Some("0")).then(|| "root, to mount a tmpfs (run as root)".to_string())
}
