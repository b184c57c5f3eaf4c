//! Writes the sample run directories of `samples/`:
//!
//! ```text
//! cargo run --example gen_samples -- samples
//! ```
//!
//! Two canaries of `ALTER TABLE ... ADD INDEX` on one tenant's table:
//!
//! - `run-001` (CANARY-EXEC-V1-001): a clean run. One WARNING (disk write
//!   above 50 MB/s for about two minutes of the index build); everything else
//!   well inside its bounds. Should end APPROVED_FOR_LIMITED_PROD.
//! - `run-002` (CANARY-EXEC-V1-002): replication lag climbs past 60 s during
//!   the build and query latency P99 more than doubles; an automatic rollback
//!   at the T+15m monitoring checkpoint. Should end STOP_AND_FIX.
//!
//! The output is a pure function of this file: a fixed seed, a small PRNG
//! written out here (SplitMix64, so no crate upgrade can change a byte) and
//! the library's own model types for the manifest and the events. Before it
//! writes anything the generator checks the properties each sample exists to
//! show (the warning lasts long enough, the post phase is back within 5 % of
//! the baseline, ...) and panics if a change broke one of them.
//!
//! Reruns are byte-identical. `ln`, `exp` and `cos` come from the platform's
//! math library, so another platform could in principle differ in a last bit;
//! values are rounded to 1-3 decimals, which hides that in practice.
//! `tests/schemas.rs` checks that `samples/` is what this writes.

use canary_report::model::{
    ActualScope, Blocker, Condition, DdlOutcome, Event, EventRecord, HumanInput, IncidentStatus,
    Lesson, Link, Manifest, MetricId, Phase, PhaseStatus, Plan, PlannedPhase, PlannedScope,
    RawLatency, ReportStatus, RollbackTrigger, RunStatus, Scope, Severity, SignOff, StepStatus,
    SwitchState, Target, TeamMember,
};
use canary_report::stats;
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// The one seed every random stream derives from.
const SEED: u64 = 0x5EED_CA4A_2026_1120;

/// Milliseconds since the Unix epoch, UTC. All times here are whole milliseconds.
type Ms = i64;

fn main() -> anyhow::Result<()> {
    let out = std::env::args_os()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: gen_samples <output directory>"))?;
    let out = Path::new(&out);
    for run in write_samples(out)? {
        let bytes: usize = run.files.iter().map(|f| f.bytes.len()).sum();
        println!(
            "wrote {} ({} files, {:.1} MB)",
            out.join(&run.name).display(),
            run.files.len(),
            bytes as f64 / 1e6
        );
    }
    Ok(())
}

/// One file of a run directory.
pub struct OutFile {
    /// Path relative to the run directory, `/`-separated.
    pub path: String,
    pub bytes: Vec<u8>,
}

/// A whole run directory, in memory.
pub struct RunDir {
    /// Directory name under the output directory.
    pub name: String,
    pub files: Vec<OutFile>,
}

/// Builds both samples in memory.
pub fn build_samples() -> Vec<RunDir> {
    vec![build_run(&Spec::clean()), build_run(&Spec::lagging())]
}

/// Writes both samples under `out` and returns what it wrote. Replaces
/// `manifest.json`, `events.jsonl` and `metrics/` of each run directory;
/// leaves anything else (a `report/` built from it) alone.
pub fn write_samples(out: &Path) -> std::io::Result<Vec<RunDir>> {
    let runs = build_samples();
    for run in &runs {
        let dir = out.join(&run.name);
        let metrics = dir.join("metrics");
        if metrics.exists() {
            std::fs::remove_dir_all(&metrics)?;
        }
        std::fs::create_dir_all(&metrics)?;
        for f in &run.files {
            std::fs::write(dir.join(&f.path), &f.bytes)?;
        }
    }
    Ok(runs)
}

// ---------------------------------------------------------------------------
// Randomness

/// SplitMix64: tiny, fast, and fixed forever.
struct Rng(u64);

impl Rng {
    /// An independent stream per name, so that adding a metric leaves the others unchanged.
    fn stream(name: &str) -> Rng {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Rng(SEED ^ h)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Uniform integer in `lo..=hi`.
    fn int(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

// ---------------------------------------------------------------------------
// Time

fn parse_utc(s: &str) -> Ms {
    DateTime::parse_from_rfc3339(s)
        .expect("valid RFC 3339")
        .timestamp_millis()
}

/// `t0` plus an offset written `HH:MM:SS.mmm`.
fn at(t0: Ms, hms: &str) -> Ms {
    let (h, rest) = hms.split_once(':').expect("HH:MM:SS.mmm");
    let (m, s) = rest.split_once(':').expect("HH:MM:SS.mmm");
    let (s, frac) = s.split_once('.').unwrap_or((s, "0"));
    let n = |x: &str| x.parse::<i64>().expect("digits");
    let frac_ms = n(&format!("{frac:0<3}")[..3]);
    t0 + ((n(h) * 60 + n(m)) * 60 + n(s)) * 1000 + frac_ms
}

const SEC: Ms = 1000;
const MIN: Ms = 60 * SEC;

fn utc(t: Ms) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t).expect("in range")
}

fn rfc3339(t: Ms) -> String {
    utc(t).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `HH:MM` in the report's time zone (UTC+7), for text people read.
fn local_hm(t: Ms) -> String {
    let tz = FixedOffset::east_opt(7 * 3600).expect("valid offset");
    utc(t).with_timezone(&tz).format("%H:%M").to_string()
}

/// 0 before `a`, 1 after `b`, smooth in between.
fn ramp(t: Ms, a: Ms, b: Ms) -> f64 {
    if t <= a {
        0.0
    } else if t >= b {
        1.0
    } else {
        let x = (t - a) as f64 / (b - a) as f64;
        x * x * (3.0 - 2.0 * x)
    }
}

/// Rises over `rise` from `start`, holds, falls over `fall` from `end`.
fn window(t: Ms, start: Ms, end: Ms, rise: Ms, fall: Ms) -> f64 {
    ramp(t, start, start + rise) * (1.0 - ramp(t, end, end + fall))
}

fn round_to(v: f64, decimals: usize) -> f64 {
    let f = 10f64.powi(decimals as i32);
    (v * f).round() / f
}

// ---------------------------------------------------------------------------
// The two scenarios

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// run-001: clean, one sustained disk-write warning.
    Clean,
    /// run-002: replication lag and latency, automatic rollback.
    Lagging,
}

struct Rollback {
    /// The checkpoint at which the executor decided.
    checkpoint: Ms,
    decision: Ms,
    start: Ms,
    end: Ms,
    /// When the post-rollback checks ran.
    checks: Ms,
}

/// Everything that differs between the two runs.
struct Spec {
    kind: Kind,
    run_id: &'static str,
    dir: &'static str,
    tenant: &'static str,
    connection: &'static str,
    database: &'static str,
    table: &'static str,
    host: &'static str,
    replica: &'static str,
    rows: u64,
    data_size_bytes: u64,
    /// Cardinalities SHOW INDEX reports for the two columns.
    cardinality: (u64, u64),
    customer_id: u64,
    explain_rows: u64,
    plan_start: Ms,
    run_start: Ms,
    precheck: (Ms, Ms),
    readiness: (Ms, Ms),
    baseline: (Ms, Ms),
    kill_switch_pre: Ms,
    execute: (Ms, Ms),
    ddl: (Ms, Ms),
    /// The server's own duration of the DDL, seconds.
    ddl_server_s: f64,
    kill_switch_post_add: Ms,
    verification: (Ms, Ms),
    monitoring: (Ms, Ms),
    after: (Ms, Ms),
    kill_switch_final: Ms,
    analysis: (Ms, Ms),
    run_end: Ms,
    rollback: Option<Rollback>,
}

const INDEX: &str = "idx_orders_customer_created";
const COLUMNS: [&str; 2] = ["customer_id", "created_at"];

impl Spec {
    fn clean() -> Spec {
        let t0 = parse_utc("2026-11-20T19:00:00Z");
        let a = |s| at(t0, s);
        Spec {
            kind: Kind::Clean,
            run_id: "CANARY-EXEC-V1-001",
            dir: "run-001",
            tenant: "tenant-0042",
            connection: "mysql-t42-primary-01",
            database: "shop_t42",
            table: "orders_t42",
            host: "db-t42-p01",
            replica: "db-t42-r01",
            rows: 12_084_311,
            data_size_bytes: 3_942_645_760,
            cardinality: (1_184_032, 11_873_310),
            customer_id: 184_467,
            explain_rows: 37,
            plan_start: t0,
            run_start: a("00:00:00.180"),
            precheck: (a("00:00:00.412"), a("00:28:41.905")),
            readiness: (a("00:30:00.118"), a("00:43:12.640")),
            baseline: (a("00:45:00.250"), a("00:50:00.250")),
            kill_switch_pre: a("00:50:00.874"),
            execute: (a("00:50:01.530"), a("00:54:30.020")),
            ddl: (a("00:50:01.602"), a("00:54:29.951")),
            ddl_server_s: 268.35,
            kill_switch_post_add: a("00:54:30.615"),
            verification: (a("00:54:31.004"), a("00:54:58.300")),
            monitoring: (a("00:55:00.000"), a("01:55:00.400")),
            after: (a("01:55:00.600"), a("02:00:00.600")),
            kill_switch_final: a("02:00:01.100"),
            analysis: (a("02:00:01.800"), a("02:02:35.000")),
            run_end: a("02:02:35.200"),
            rollback: None,
        }
    }

    fn lagging() -> Spec {
        let t0 = parse_utc("2026-11-24T19:00:00Z");
        let a = |s| at(t0, s);
        Spec {
            kind: Kind::Lagging,
            run_id: "CANARY-EXEC-V1-002",
            dir: "run-002",
            tenant: "tenant-0057",
            connection: "mysql-t57-primary-01",
            database: "shop_t57",
            table: "orders_t57",
            host: "db-t57-p01",
            replica: "db-t57-r01",
            rows: 11_862_540,
            data_size_bytes: 4_118_806_528,
            cardinality: (1_095_118, 11_640_227),
            customer_id: 2_291_805,
            explain_rows: 42,
            plan_start: t0,
            run_start: a("00:00:00.205"),
            precheck: (a("00:00:00.350"), a("00:27:55.200")),
            readiness: (a("00:30:00.200"), a("00:44:20.700")),
            baseline: (a("00:45:00.300"), a("00:50:00.300")),
            kill_switch_pre: a("00:50:00.900"),
            execute: (a("00:50:01.400"), a("00:56:10.950")),
            ddl: (a("00:50:01.470"), a("00:56:10.880")),
            ddl_server_s: 369.38,
            kill_switch_post_add: a("00:56:11.500"),
            verification: (a("00:56:12.000"), a("00:56:40.500")),
            monitoring: (a("00:56:45.000"), a("01:11:50.000")),
            after: (a("01:17:00.000"), a("01:22:00.000")),
            kill_switch_final: a("01:22:00.600"),
            analysis: (a("01:22:01.200"), a("01:24:30.000")),
            run_end: a("01:24:30.300"),
            rollback: Some(Rollback {
                checkpoint: a("01:11:45.000"),
                decision: a("01:11:46.000"),
                start: a("01:11:46.400"),
                end: a("01:11:49.600"),
                checks: a("01:16:50.000"),
            }),
        }
    }

    fn qualified_table(&self) -> String {
        format!("{}.{}", self.database, self.table)
    }

    fn ddl_statement(&self) -> String {
        format!(
            "ALTER TABLE {} ADD INDEX {INDEX} ({}), ALGORITHM=INPLACE, LOCK=NONE",
            self.qualified_table(),
            COLUMNS.join(", ")
        )
    }

    fn rollback_statement(&self) -> String {
        format!("ALTER TABLE {} DROP INDEX {INDEX}", self.qualified_table())
    }

    /// First and last instant metrics cover: the baseline start to the after end.
    fn metrics_span(&self) -> (Ms, Ms) {
        (self.baseline.0, self.after.1)
    }

    /// The index build's load: 0 outside the DDL, 1 in its body.
    fn ddl_load(&self, t: Ms) -> f64 {
        window(t, self.ddl.0, self.ddl.1, 30 * SEC, 45 * SEC)
    }

    /// run-001's sort/merge phase: disk write above 50 MB/s for two minutes.
    fn merge_phase(&self) -> (Ms, Ms) {
        (self.ddl.0 + 100 * SEC, self.ddl.0 + 220 * SEC)
    }

    /// Effect of the new index once in place (a little faster).
    fn index_in_place(&self, t: Ms) -> f64 {
        let built = ramp(t, self.ddl.1, self.ddl.1 + MIN);
        match &self.rollback {
            Some(r) => built * (1.0 - ramp(t, r.start, r.end)),
            None => built,
        }
    }

    /// Replication lag without noise, in seconds above the usual ~1 s: a small
    /// bump in run-001, the climb, plateau and drain of run-002.
    fn lag_excess(&self, t: Ms) -> f64 {
        let Some(r) = &self.rollback else {
            // run-001: the replica falls a little behind while the build runs.
            return 2.2 * window(t, self.ddl.0 + 40 * SEC, self.ddl.1, 90 * SEC, 90 * SEC);
        };
        let climb_start = self.ddl.0 + 40 * SEC;
        let knee = self.ddl.0 + 190 * SEC;
        let plateau = |t: Ms| {
            let x = (t - self.ddl.1) as f64 / 300_000.0;
            82.0 + 4.0 * (std::f64::consts::TAU * x).sin()
        };
        if t < climb_start {
            0.0
        } else if t < knee {
            64.0 * (t - climb_start) as f64 / (knee - climb_start) as f64
        } else if t < self.ddl.1 {
            64.0 + 18.0 * (t - knee) as f64 / (self.ddl.1 - knee) as f64
        } else if t < r.end {
            plateau(t)
        } else {
            plateau(r.end) * (-((t - r.end) as f64) / 35_000.0).exp()
        }
    }

    /// run-002: share of read traffic that fell back from the lagging replica
    /// to the primary (the application does so above 30 s of lag).
    fn read_fallback(&self, t: Ms) -> f64 {
        if self.kind == Kind::Clean {
            return 0.0;
        }
        let x = ((self.lag_excess(t) - 20.0) / 20.0).clamp(0.0, 1.0);
        x * x * (3.0 - 2.0 * x)
    }

    /// One reading of a gauge at `t`, before rounding.
    fn gauge(&self, m: MetricId, t: Ms, rng: &mut Rng) -> f64 {
        use MetricId::*;
        let ddl = self.ddl_load(t);
        let fb = self.read_fallback(t);
        let n = rng.normal();
        let lagging = self.kind == Kind::Lagging;
        match m {
            CpuUsagePct => {
                let (base, d, f) = if lagging {
                    (24.0, 22.0, 14.0)
                } else {
                    (21.0, 33.0, 0.0)
                };
                (base + d * ddl + f * fb + 1.6 * n).clamp(1.0, 99.0)
            }
            MemoryUsagePct => {
                let base = if lagging { 66.4 } else { 63.2 };
                base + 2.4 * ddl + 1.1 * fb + 0.25 * n
            }
            DiskReadMbS => {
                let scan = window(t, self.ddl.0, self.ddl.0 + 150 * SEC, 20 * SEC, 30 * SEC);
                let base = if lagging { 10.5 } else { 9.0 };
                (base + 45.0 * scan + 16.0 * fb + 1.8 * n).max(0.4)
            }
            DiskWriteMbS => {
                let base = if lagging { 8.2 } else { 7.5 };
                let build = if lagging { 31.0 } else { 30.0 };
                let (m0, m1) = self.merge_phase();
                let merge = if !lagging && t >= m0 && t < m1 {
                    1.0
                } else {
                    0.0
                };
                let noise = if merge > 0.0 {
                    4.0 * n.clamp(-2.0, 2.5)
                } else {
                    1.5 * n.clamp(-2.5, 2.5)
                };
                (base + build * ddl + 32.0 * merge + 3.0 * fb + noise).max(0.2)
            }
            NetworkLatencyMs => (0.42 + 0.06 * ddl + 0.09 * fb + 0.04 * n).max(0.12),
            ActiveConnections => {
                let base = if lagging { 141.0 } else { 132.0 };
                (base + 12.0 * ddl + 88.0 * fb + 5.0 * n).round()
            }
            LockWaitTimeS => {
                let base = if lagging { 0.005 } else { 0.004 };
                (base + 0.018 * ddl + 0.025 * fb + 0.0015 * n.abs()).max(0.0)
            }
            TableLocksWaited => {
                // Metadata lock waits: at the build's start and end, and rarely otherwise.
                let near = |x: Ms| (t - x).abs() <= 5 * SEC;
                if near(self.ddl.0 + 5 * SEC) || near(self.ddl.1) {
                    rng.int(1, 2) as f64
                } else if rng.chance(0.01 + 0.04 * ddl) {
                    1.0
                } else {
                    0.0
                }
            }
            ReplicationLagS => {
                let base = 0.8 + 0.35 * n.abs();
                let excess = self.lag_excess(t);
                // On the plateau the reading wanders around the curve (73-93 s).
                let wobble = if excess > 60.0 {
                    (2.5 * rng.normal()).clamp(-5.0, 5.0)
                } else {
                    excess * 0.03 * rng.normal()
                };
                let v = base + excess + wobble;
                if lagging && t > self.ddl.1 && self.rollback.as_ref().is_some_and(|r| t < r.end) {
                    v.clamp(66.0, 95.0)
                } else {
                    v.max(0.0)
                }
            }
            BufferPoolHitRatePct => {
                let base = if lagging { 99.38 } else { 99.46 };
                (base - 0.9 * ddl - 0.5 * fb + 0.07 * n).min(99.97)
            }
            ThreadsRunning => {
                let base = if lagging { 10.0 } else { 9.0 };
                let d = if lagging { 16.0 } else { 7.0 };
                (base + d * ddl + 14.0 * fb + 2.0 * n).round().max(1.0)
            }
            ErrorRatePct => {
                let base = if lagging { 0.015 } else { 0.012 };
                (base + 0.008 * ddl + 0.024 * fb + 0.005 * n.abs()).max(0.0)
            }
            ThroughputRps => {
                let base = if lagging { 884.0 } else { 912.0 };
                base * (1.0 - 0.04 * ddl - 0.06 * fb) + 22.0 * n
            }
            _ => unreachable!("not a gauge of the samples: {m}"),
        }
    }

    /// How latency at `t` differs from the baseline's: a multiplier of the
    /// whole distribution and one of its spread (which moves P99 more than P50).
    fn latency_shape(&self, raw: RawLatency, t: Ms) -> (f64, f64) {
        let ddl = self.ddl_load(t);
        let fb = self.read_fallback(t);
        let built = self.index_in_place(t);
        match (self.kind, raw) {
            (Kind::Clean, RawLatency::Query) => {
                ((1.0 + 0.07 * ddl) * (1.0 - 0.02 * built), 1.0 + 0.10 * ddl)
            }
            (Kind::Clean, RawLatency::Request) => {
                ((1.0 + 0.05 * ddl) * (1.0 - 0.01 * built), 1.0 + 0.06 * ddl)
            }
            (Kind::Lagging, RawLatency::Query) => (1.0 + 0.9 * ddl + 1.1 * fb, 1.0 + 0.1 * ddl),
            (Kind::Lagging, RawLatency::Request) => (1.0 + 0.6 * ddl + 0.8 * fb, 1.0 + 0.1 * ddl),
        }
    }

    /// The latency in milliseconds at quantile `u` of the distribution at `t`:
    /// a lognormal body with a heavier upper tail.
    fn latency(&self, raw: RawLatency, t: Ms, u: f64) -> f64 {
        let lagging = self.kind == Kind::Lagging;
        let (median, sigma) = match raw {
            RawLatency::Query => (if lagging { 2.6 } else { 2.4 }, 0.42),
            RawLatency::Request => (if lagging { 41.0 } else { 36.0 }, 0.36),
        };
        let (scale, spread) = self.latency_shape(raw, t);
        let z = probit(u);
        let tail = 0.22 * (z - 1.5).max(0.0).powi(2);
        median * scale * (sigma * spread * z + tail).exp()
    }
}

/// The standard normal quantile function (Acklam's approximation, relative
/// error below 1.2e-9), written out rather than taken from a crate.
fn probit(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.024_25 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.024_25 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

// ---------------------------------------------------------------------------
// Metrics

struct Series {
    metric: MetricId,
    decimals: usize,
    /// Rounded values, as written.
    points: Vec<(Ms, f64)>,
}

impl Series {
    fn values_in(&self, from: Ms, to: Ms) -> Vec<f64> {
        in_range(&self.points, from, to)
    }
}

fn in_range(points: &[(Ms, f64)], from: Ms, to: Ms) -> Vec<f64> {
    points
        .iter()
        .filter(|(t, _)| *t >= from && *t < to)
        .map(|(_, v)| *v)
        .collect()
}

fn decimals(m: MetricId) -> usize {
    use MetricId::*;
    match m {
        ActiveConnections | TableLocksWaited | ThreadsRunning => 0,
        LockWaitTimeS | ErrorRatePct => 3,
        BufferPoolHitRatePct => 2,
        NetworkLatencyMs => 3,
        ReplicationLagS | ThroughputRps => 1,
        _ => 2,
    }
}

/// Every 5 s on the whole-second grid, inside the metrics span.
fn grid(spec: &Spec) -> Vec<Ms> {
    let (from, to) = spec.metrics_span();
    let step = 5 * SEC;
    let first = (from + step - 1).div_euclid(step) * step;
    (0..)
        .map(|i| first + i * step)
        .take_while(|t| *t <= to)
        .collect()
}

fn gauge_series(spec: &Spec, m: MetricId) -> Series {
    let mut rng = Rng::stream(&format!("{}/{}", spec.run_id, m.key()));
    let d = decimals(m);
    let points = grid(spec)
        .into_iter()
        .map(|t| (t, round_to(spec.gauge(m, t, &mut rng), d)))
        .collect();
    Series {
        metric: m,
        decimals: d,
        points,
    }
}

/// 5 to 10 samples in each second, at distinct milliseconds. The quantiles
/// are stratified over each 10 s block (one draw in each of n equal slices of
/// [0, 1), shuffled), so that a phase's P50 and P99 sit close to the
/// distribution's own and the samples still look like random traffic.
fn raw_latency(spec: &Spec, raw: RawLatency) -> Vec<(Ms, f64)> {
    let mut rng = Rng::stream(&format!("{}/{}", spec.run_id, raw.key()));
    let (from, to) = spec.metrics_span();
    let block = 10 * SEC;
    let mut out = Vec::new();
    let mut start = from.div_euclid(block) * block;
    while start <= to {
        let mut times = Vec::new();
        for second in (start..start + block).step_by(SEC as usize) {
            let n = rng.int(5, 10) as usize;
            let mut offsets: Vec<Ms> = Vec::with_capacity(n);
            while offsets.len() < n {
                let o = rng.int(0, 999) as Ms;
                if !offsets.contains(&o) {
                    offsets.push(o);
                }
            }
            offsets.sort_unstable();
            times.extend(offsets.into_iter().map(|o| second + o));
        }
        let n = times.len();
        let mut strata: Vec<f64> = (0..n)
            .map(|i| (i as f64 + rng.uniform()) / n as f64)
            .collect();
        for i in (1..n).rev() {
            strata.swap(i, rng.int(0, i as u64) as usize);
        }
        for (t, u) in times.into_iter().zip(strata) {
            if t >= from && t <= to {
                out.push((t, round_to(spec.latency(raw, t, u), 3)));
            }
        }
        start += block;
    }
    out
}

enum Stamp {
    Rfc3339,
    UnixSeconds,
}

/// A long CSV: `timestamp,metric,value[,label]`, rows in time order.
fn long_csv(series: &[&Series], label: Option<(&str, &str)>, stamp: Stamp) -> String {
    let mut rows: Vec<(Ms, usize, String)> = Vec::new();
    for (i, s) in series.iter().enumerate() {
        for &(t, v) in &s.points {
            let ts = match stamp {
                Stamp::Rfc3339 => rfc3339(t),
                Stamp::UnixSeconds => {
                    assert_eq!(t % SEC, 0, "unix-second files hold whole seconds");
                    (t / SEC).to_string()
                }
            };
            let mut row = format!("{ts},{},{:.*}", s.metric.key(), s.decimals, v);
            if let Some((_, value)) = label {
                row.push(',');
                row.push_str(value);
            }
            rows.push((t, i, row));
        }
    }
    rows.sort_by_key(|(t, i, _)| (*t, *i));
    let mut out = String::from("timestamp,metric,value");
    if let Some((name, _)) = label {
        out.push(',');
        out.push_str(name);
    }
    out.push('\n');
    for (_, _, row) in rows {
        out.push_str(&row);
        out.push('\n');
    }
    out
}

fn raw_csv(raw: RawLatency, samples: &[(Ms, f64)]) -> String {
    let mut out = String::from("timestamp,metric,value\n");
    for &(t, v) in samples {
        let _ = writeln!(out, "{},{},{v:.3}", rfc3339(t), raw.key());
    }
    out
}

/// The exact body of a Prometheus `/api/v1/query_range` response.
#[derive(Serialize)]
struct PromResponse {
    status: &'static str,
    data: PromData,
}

#[derive(Serialize)]
struct PromData {
    #[serde(rename = "resultType")]
    result_type: &'static str,
    result: Vec<PromSeries>,
}

#[derive(Serialize)]
struct PromSeries {
    metric: BTreeMap<&'static str, String>,
    /// `[unix seconds, "value"]`, the value as Prometheus writes a float.
    values: Vec<(i64, String)>,
}

fn prometheus_json(series: &Series, instance: String) -> String {
    let values = series
        .points
        .iter()
        .map(|&(t, v)| {
            assert_eq!(t % SEC, 0, "Prometheus steps are whole seconds here");
            (t / SEC, format!("{v}"))
        })
        .collect();
    let metric = BTreeMap::from([
        ("__name__", series.metric.key().to_string()),
        ("instance", instance),
    ]);
    let body = PromResponse {
        status: "success",
        data: PromData {
            result_type: "matrix",
            result: vec![PromSeries { metric, values }],
        },
    };
    serde_json::to_string(&body).expect("serializable")
}

// ---------------------------------------------------------------------------
// Checks: what each sample is for

/// numpy-linear summaries, as the tool computes them.
fn summary(mut values: Vec<f64>) -> stats::Summary {
    stats::summarize(&mut values).expect("non-empty window")
}

fn pct_change(after: f64, before: f64) -> f64 {
    (after / before - 1.0) * 100.0
}

/// Longest run of consecutive points above `bound`, as (first, last) times.
fn longest_run_above(points: &[(Ms, f64)], bound: f64) -> Option<(Ms, Ms)> {
    let mut best: Option<(Ms, Ms)> = None;
    let mut cur: Option<(Ms, Ms)> = None;
    for &(t, v) in points {
        if v > bound {
            let (a, b) = cur.map_or((t, t), |(a, _)| (a, t));
            cur = Some((a, b));
            if best.is_none_or(|(x, y)| b - a > y - x) {
                best = Some((a, b));
            }
        } else {
            cur = None;
        }
    }
    best
}

/// Facts the events quote, measured on the generated data.
struct Observed {
    disk_write_peak: f64,
    disk_write_over_50: Option<(Ms, Ms)>,
    lag_peak: f64,
    lag_over_60: Option<(Ms, Ms)>,
    query_p99_baseline: f64,
    query_p99_ddl: f64,
    query_p99_after_rollback: f64,
    error_rate_baseline: f64,
    error_rate_after_rollback: f64,
    lag_at_checks: f64,
}

fn check(ok: bool, what: String) {
    assert!(ok, "sample invariant broken: {what}");
}

fn observe_and_check(
    spec: &Spec,
    gauges: &BTreeMap<MetricId, Series>,
    raw: &BTreeMap<RawLatency, Vec<(Ms, f64)>>,
) -> Observed {
    let base = spec.baseline;
    let (after0, after1) = (spec.after.0, spec.after.1 + 1);
    let g = |m: MetricId| &gauges[&m];
    let id = spec.run_id;

    // The tool's windows: during is the DDL; post runs from the DDL's end to
    // the after phase's end. The after phase alone is checked too.
    let post = (spec.ddl.1, after1);

    // Latency: per-window P50/P99 from the raw samples.
    let mut q = BTreeMap::new();
    for r in RawLatency::ALL {
        let pts = &raw[&r];
        let b = summary(in_range(pts, base.0, base.1));
        let d = summary(in_range(pts, spec.ddl.0, spec.ddl.1));
        let p = summary(in_range(pts, post.0, post.1));
        let a = summary(in_range(pts, after0, after1));
        let mut post_windows = vec![("after phase", a)];
        if spec.kind == Kind::Clean {
            post_windows.push(("post", p));
        }
        for (w, s) in post_windows {
            for (name, x, y) in [("P50", b.p50, s.p50), ("P99", b.p99, s.p99)] {
                let c = pct_change(y, x);
                check(
                    c <= 5.0,
                    format!("{id} {} {name} {w} {c:+.1}% over baseline", r.key()),
                );
            }
        }
        let during_p99 = pct_change(d.p99, b.p99);
        match spec.kind {
            Kind::Clean => {
                if r == RawLatency::Query {
                    check(
                        (10.0..=20.0).contains(&during_p99),
                        format!("{id} query P99 during the DDL {during_p99:+.1}%, wanted +10..20%"),
                    );
                }
                let during_p50 = pct_change(d.p50, b.p50);
                check(
                    during_p50 < 20.0 && during_p99 < 30.0,
                    format!(
                        "{id} {} during P50 {during_p50:+.1}% P99 {during_p99:+.1}%",
                        r.key()
                    ),
                );
            }
            Kind::Lagging => {
                if r == RawLatency::Query {
                    check(
                        during_p99 > 100.0,
                        format!("{id} query P99 during the DDL {during_p99:+.1}%, wanted > +100%"),
                    );
                }
            }
        }
        q.insert(r, (b, d, a));
    }

    // Gauges: where each must stay.
    let limit: &[(MetricId, f64)] = &[
        (MetricId::CpuUsagePct, 68.0),
        (MetricId::MemoryUsagePct, 78.0),
        (MetricId::DiskReadMbS, 95.0),
        (MetricId::NetworkLatencyMs, 45.0),
        (MetricId::LockWaitTimeS, 0.9),
        (MetricId::ThreadsRunning, 48.0),
        (MetricId::ErrorRatePct, 0.095),
        (MetricId::ActiveConnections, 0.78 * 500.0),
    ];
    for &(m, max) in limit {
        let peak = summary(g(m).values_in(i64::MIN, i64::MAX)).max;
        check(
            peak <= max,
            format!("{id} {m} peaks at {peak}, above {max}"),
        );
    }
    let hit = summary(g(MetricId::BufferPoolHitRatePct).values_in(i64::MIN, i64::MAX)).min;
    check(
        hit >= 96.0,
        format!("{id} buffer pool hit rate down to {hit}"),
    );
    let tput_base = summary(g(MetricId::ThroughputRps).values_in(base.0, base.1)).mean;
    let tput_min = summary(g(MetricId::ThroughputRps).values_in(i64::MIN, i64::MAX)).min;
    check(
        pct_change(tput_min, tput_base) > -18.0,
        format!("{id} throughput dips to {tput_min} from {tput_base}"),
    );
    for m in [MetricId::CpuUsagePct, MetricId::DiskWriteMbS] {
        let b = summary(g(m).values_in(base.0, base.1)).mean;
        let mut windows = vec![("after phase", after0, after1)];
        if spec.kind == Kind::Clean {
            windows.push(("post", post.0, post.1));
        }
        for (w, from, to) in windows {
            let c = pct_change(summary(g(m).values_in(from, to)).mean, b);
            check(
                c.abs() <= 5.0,
                format!("{id} {m} {w} mean {c:+.1}% from baseline"),
            );
        }
    }
    let dw = g(MetricId::DiskWriteMbS);
    let disk_write_peak = summary(dw.values_in(i64::MIN, i64::MAX)).max;
    let disk_write_over_50 = longest_run_above(&dw.points, 50.0);
    let lag = g(MetricId::ReplicationLagS);
    let lag_peak = summary(lag.values_in(i64::MIN, i64::MAX)).max;
    let lag_over_60 = longest_run_above(&lag.points, 60.0);
    let lag_post = summary(lag.values_in(after0, after1)).max;
    check(
        lag_post < 3.0,
        format!("{id} replication lag after phase up to {lag_post}"),
    );
    match spec.kind {
        Kind::Clean => {
            check(
                disk_write_peak < 95.0,
                format!("{id} disk write peak {disk_write_peak}"),
            );
            let (a, b) = disk_write_over_50.expect("run-001 has its disk write warning");
            let secs = (b - a) / SEC;
            check(
                (100..=130).contains(&secs),
                format!("{id} disk write > 50 for {secs} s"),
            );
            let over = dw.points.iter().filter(|(_, v)| *v > 50.0).count();
            check(
                over <= 26,
                format!("{id} {over} disk write samples above 50"),
            );
            check(
                lag_peak < 10.0,
                format!("{id} replication lag peaks at {lag_peak}"),
            );
        }
        Kind::Lagging => {
            check(
                disk_write_peak < 49.0,
                format!("{id} disk write peak {disk_write_peak}"),
            );
            check(
                (70.0..95.0).contains(&lag_peak),
                format!("{id} lag peak {lag_peak}"),
            );
            let (a, b) = lag_over_60.expect("run-002 has its lag breach");
            check(
                a < spec.ddl.1 && spec.ddl.1 - a >= 2 * MIN,
                format!("{id} lag above 60 s from {} only", rfc3339(a)),
            );
            let r = spec.rollback.as_ref().expect("run-002 rolls back");
            check(
                b >= r.checkpoint,
                format!("{id} lag back under 60 s before the checkpoint"),
            );
        }
    }

    let (query_after_rollback, err_after_rollback, lag_at_checks) = match &spec.rollback {
        Some(r) => (
            summary(in_range(&raw[&RawLatency::Query], r.end + MIN, r.checks)).p99,
            summary(g(MetricId::ErrorRatePct).values_in(r.end + MIN, r.checks)).mean,
            summary(lag.values_in(r.checks - 30 * SEC, r.checks)).mean,
        ),
        None => (0.0, 0.0, 0.0),
    };
    let (qb, qd, _) = q[&RawLatency::Query];
    Observed {
        disk_write_peak,
        disk_write_over_50,
        lag_peak,
        lag_over_60,
        query_p99_baseline: qb.p99,
        query_p99_ddl: qd.p99,
        query_p99_after_rollback: query_after_rollback,
        error_rate_baseline: summary(g(MetricId::ErrorRatePct).values_in(base.0, base.1)).mean,
        error_rate_after_rollback: err_after_rollback,
        lag_at_checks,
    }
}

// ---------------------------------------------------------------------------
// Events

struct Log(Vec<EventRecord>);

impl Log {
    fn push(&mut self, t: Ms, event: Event) {
        self.0.push(EventRecord { ts: utc(t), event });
    }

    fn info(&mut self, t: Ms, message: impl Into<String>) {
        self.log(t, "INFO", message);
    }

    fn log(&mut self, t: Ms, level: &str, message: impl Into<String>) {
        self.push(
            t,
            Event::Log {
                level: level.into(),
                message: message.into(),
            },
        );
    }

    fn phase(&mut self, phase: Phase, (start, end): (Ms, Ms), status: PhaseStatus) {
        self.push(start, Event::PhaseStart { phase });
        self.push(end, Event::PhaseEnd { phase, status });
    }

    fn kill_switch(&mut self, t: Ms, checkpoint: &str, rng: &mut Rng) {
        let response_ms = round_to(rng.range(20.0, 120.0), 1);
        self.push(
            t,
            Event::KillSwitchCheck {
                checkpoint: checkpoint.into(),
                global: SwitchState::Off,
                connection: SwitchState::Off,
                response_ms: Some(response_ms),
                error: None,
            },
        );
        self.info(
            t + 5,
            format!("Kill switch check passed ({checkpoint}): global OFF, connection OFF, {response_ms} ms"),
        );
    }
}

fn show_index_output(spec: &Spec) -> String {
    let mut s = String::from(
        "Table\tNon_unique\tKey_name\tSeq_in_index\tColumn_name\tCollation\tCardinality\tSub_part\tPacked\tNull\tIndex_type\tComment\tIndex_comment\tVisible\tExpression\n",
    );
    for (i, (col, card)) in COLUMNS
        .iter()
        .zip([spec.cardinality.0, spec.cardinality.1])
        .enumerate()
    {
        let _ = writeln!(
            s,
            "{}\t1\t{INDEX}\t{}\t{col}\tA\t{card}\tNULL\tNULL\t\tBTREE\t\t\tYES\tNULL",
            spec.table,
            i + 1
        );
    }
    s
}

fn explain_query(spec: &Spec) -> String {
    format!(
        "SELECT * FROM {} WHERE customer_id = {} ORDER BY created_at DESC LIMIT 20",
        spec.qualified_table(),
        spec.customer_id
    )
}

fn explain_output(spec: &Spec) -> String {
    format!(
        "id\tselect_type\ttable\tpartitions\ttype\tpossible_keys\tkey\tkey_len\tref\trows\tfiltered\tExtra\n\
         1\tSIMPLE\t{}\tNULL\tref\t{INDEX}\t{INDEX}\t8\tconst\t{}\t100.00\tBackward index scan\n",
        spec.table, spec.explain_rows
    )
}

fn build_events(spec: &Spec, obs: &Observed) -> Vec<EventRecord> {
    let mut rng = Rng::stream(&format!("{}/events", spec.run_id));
    let mut log = Log(Vec::new());
    let lagging = spec.kind == Kind::Lagging;
    let qt = spec.qualified_table();

    log.info(
        spec.run_start,
        format!(
            "Starting canary run {} ({}, {qt}, connection {})",
            spec.run_id, spec.tenant, spec.connection
        ),
    );

    // Pre-check and readiness.
    log.phase(Phase::Precheck, spec.precheck, PhaseStatus::Done);
    let p0 = spec.precheck.0;
    log.info(
        p0 + 41_250,
        format!(
            "Pre-check: {qt} engine=InnoDB rows={} data={:.1} GiB; free disk 412 GiB",
            spec.rows,
            spec.data_size_bytes as f64 / (1u64 << 30) as f64
        ),
    );
    log.info(
        p0 + 95_730,
        format!(
            "Pre-check: no index named {INDEX} on {qt}; columns {} exist",
            COLUMNS.join(", ")
        ),
    );
    log.info(
        p0 + 182_400,
        format!(
            "Pre-check: replica {} healthy (Seconds_Behind_Source 0, IO/SQL running)",
            spec.replica
        ),
    );
    log.info(p0 + 260_020, "Pre-check: no transaction older than 60 s; lock_wait_timeout=5, innodb_online_alter_log_max_size=1 GiB");
    log.info(spec.precheck.1 - 300, "Pre-checks completed");
    log.phase(Phase::Readiness, spec.readiness, PhaseStatus::Done);
    log.info(
        spec.readiness.1 - 400,
        "Team readiness confirmed: Canary Lead, DBA, SRE, Developer on the bridge",
    );

    // Baseline.
    log.phase(Phase::Baseline, spec.baseline, PhaseStatus::Done);
    log.info(
        spec.baseline.0 + 10,
        "Collecting baseline metrics (5 minutes)",
    );
    log.info(spec.baseline.1 + 20, "Baseline metrics collected");

    // Execute.
    log.kill_switch(spec.kill_switch_pre, "Pre-execution", &mut rng);
    log.phase(Phase::Execute, spec.execute, PhaseStatus::Done);
    log.info(spec.ddl.0 - 20, "Executing ADD INDEX statement...");
    log.push(
        spec.ddl.0,
        Event::DdlStart {
            statement: spec.ddl_statement(),
        },
    );
    log.push(
        spec.ddl.1,
        Event::DdlEnd {
            outcome: DdlOutcome::Success,
            error: None,
            duration_s: Some(spec.ddl_server_s),
        },
    );
    log.info(
        spec.ddl.1 + 30,
        format!(
            "Index created successfully: Query OK, 0 rows affected ({:.2} sec)",
            spec.ddl_server_s
        ),
    );

    match spec.kind {
        Kind::Clean => {
            let (a, b) = obs.disk_write_over_50.expect("checked");
            log.push(
                a + MIN,
                Event::Alert {
                    name: "MySQLDiskWriteHigh".into(),
                    severity: Severity::Warning,
                    message: Some(format!("disk_write_mb_s > 50 for 1m on {}", spec.host)),
                },
            );
            log.push(
                b + 5 * SEC,
                Event::Incident {
                    id: None,
                    severity: Severity::Info,
                    description: format!(
                        "Disk write above 50 MB/s for about {} min during the index build's sort/merge phase (peak {:.1} MB/s; warning bound 50, critical 100)",
                        ((b - a) as f64 / 60_000.0).round(),
                        obs.disk_write_peak
                    ),
                    action: Some("Watched on the MySQL Overview dashboard; no rollback criterion met".into()),
                    resolution: Some("Back under 50 MB/s as the merge finished; ~8 MB/s after the DDL".into()),
                    status: IncidentStatus::Resolved,
                },
            );
        }
        Kind::Lagging => {
            let (a, _) = obs.lag_over_60.expect("checked");
            let lag30 = spec.ddl.0 + 40 * SEC + (150 * SEC * 30) / 64;
            log.push(
                lag30 + MIN,
                Event::Alert {
                    name: "MySQLReplicationLag".into(),
                    severity: Severity::Warning,
                    message: Some(format!("replication_lag_s > 30 for 1m on {}", spec.replica)),
                },
            );
            log.push(
                spec.ddl.0 + 150 * SEC,
                Event::Alert {
                    name: "QueryLatencyP99High".into(),
                    severity: Severity::Warning,
                    message: Some(format!(
                        "query latency P99 > 2x baseline for 1m on {}",
                        spec.host
                    )),
                },
            );
            log.push(
                a + MIN,
                Event::Alert {
                    name: "MySQLReplicationLagCritical".into(),
                    severity: Severity::Critical,
                    message: Some(format!("replication_lag_s > 60 for 1m on {}", spec.replica)),
                },
            );
            log.log(
                a + 2_500,
                "WARN",
                format!("Replication lag on {} above 60 s while the DDL runs; read traffic falling back to the primary", spec.replica),
            );
        }
    }

    // Post-ADD verification.
    log.kill_switch(spec.kill_switch_post_add, "Post-ADD INDEX", &mut rng);
    if lagging {
        log.log(
            spec.kill_switch_post_add + 300,
            "WARN",
            "Replication lag still above 60 s after the DDL; per runbook the lag is re-evaluated at the T+15m checkpoint",
        );
    }
    log.phase(Phase::Verification, spec.verification, PhaseStatus::Done);
    let v0 = spec.verification.0;
    log.push(
        v0 + 1_186,
        Event::Verification {
            index_exists: true,
            columns: COLUMNS.iter().map(|c| c.to_string()).collect(),
            index_type: Some("BTREE".into()),
            explain_type: Some("ref".into()),
            explain_key: Some(INDEX.into()),
            explain_query: Some(explain_query(spec)),
            show_index_output: Some(show_index_output(spec)),
            explain_output: Some(explain_output(spec)),
        },
    );
    log.info(
        v0 + 1_300,
        format!(
            "Verification passed: {INDEX} present (BTREE; {}), EXPLAIN type=ref key={INDEX}",
            COLUMNS.join(", ")
        ),
    );
    let app_checks: [(&str, String); 4] = [
        (
            "Application responds normally",
            if lagging {
                "order-api /healthz 200 OK; slower than baseline (request P99 elevated) but no 5xx"
                    .into()
            } else {
                "order-api /healthz 200 OK; 0 5xx in the last 5 min".into()
            },
        ),
        (
            "No new errors in logs",
            format!(
                "No new error signatures in order-api logs since {}",
                local_hm(spec.ddl.0)
            ),
        ),
        (
            "Critical queries work",
            "Order history, checkout and refund queries: smoke suite 24/24 passed".into(),
        ),
        (
            "User-facing features OK",
            "Synthetic checkout and order-history journeys passed".into(),
        ),
    ];
    for (i, (check, actual)) in app_checks.into_iter().enumerate() {
        log.push(
            v0 + 8_000 + 4_500 * i as Ms,
            Event::AppCheck {
                check: check.into(),
                actual,
                passed: true,
            },
        );
    }

    // Monitoring.
    let m0 = spec.monitoring.0;
    match &spec.rollback {
        None => {
            log.phase(Phase::Monitoring, spec.monitoring, PhaseStatus::Done);
            log.info(m0 + 15, "Starting monitoring window (60 minutes)");
            for k in [15, 30, 45, 60] {
                let t = if k == 60 {
                    spec.monitoring.1 - 600
                } else {
                    m0 + k * MIN + 200
                };
                log.kill_switch(t, &format!("During Monitoring (T+{k}m)"), &mut rng);
            }
            log.info(spec.monitoring.1 + 20, "Monitoring window completed");
        }
        Some(r) => {
            log.phase(Phase::Monitoring, spec.monitoring, PhaseStatus::Aborted);
            log.info(m0 + 15, "Starting monitoring window (60 minutes)");
            log.kill_switch(r.checkpoint, "During Monitoring (T+15m)", &mut rng);
            let (a, _) = obs.lag_over_60.expect("checked");
            let minutes = (r.checkpoint - a) / MIN;
            let p99_pct = pct_change(obs.query_p99_ddl, obs.query_p99_baseline);
            log.log(
                r.checkpoint + 400,
                "ERROR",
                format!("Rollback criterion met at T+15m: replication lag above 60 s for {minutes} min (peak {:.1} s)", obs.lag_peak),
            );
            log.push(
                r.checkpoint + 600,
                Event::Incident {
                    id: None,
                    severity: Severity::Critical,
                    description: format!(
                        "Replication lag > 60s on {} for {minutes} min, from {} (peak {:.1} s)",
                        spec.replica,
                        local_hm(a),
                        obs.lag_peak
                    ),
                    action: Some("Automatic rollback (DROP INDEX) at the T+15m checkpoint".into()),
                    resolution: Some(format!(
                        "Lag back to ~{:.0} s within 3 min of the rollback",
                        obs.lag_at_checks.max(1.0)
                    )),
                    status: IncidentStatus::Resolved,
                },
            );
            log.push(
                r.checkpoint + 700,
                Event::Incident {
                    id: None,
                    severity: Severity::Warning,
                    description: format!(
                        "Query latency P99 {:+.0}% over baseline during the DDL ({:.1} ms vs {:.1} ms); reads fell back to the primary while the replica lagged",
                        p99_pct, obs.query_p99_ddl, obs.query_p99_baseline
                    ),
                    action: Some("Included in the rollback decision".into()),
                    resolution: Some(format!("P99 {:.1} ms five minutes after the rollback", obs.query_p99_after_rollback)),
                    status: IncidentStatus::Resolved,
                },
            );
            log.push(
                r.decision,
                Event::RollbackDecision {
                    trigger: RollbackTrigger::Automatic,
                    reason: format!(
                        "replication_lag_s above the critical bound (60 s) for {minutes} min, peak {:.1} s; query latency P99 {p99_pct:+.0}% over baseline",
                        obs.lag_peak
                    ),
                    decided_by: Some("canary-report capture".into()),
                },
            );
            log.log(
                r.decision + 50,
                "WARN",
                format!("Rolling back: {}", spec.rollback_statement()),
            );
            log.push(
                r.start,
                Event::RollbackStart {
                    statement: Some(spec.rollback_statement()),
                },
            );
            let steps: [(Ms, String); 6] = [
                (
                    400,
                    format!(
                        "Posted to #db-canary and #inc-{}: rollback of {} started",
                        spec.tenant, spec.run_id
                    ),
                ),
                (
                    900,
                    format!("SHOW INDEX FROM {qt} WHERE Key_name = '{INDEX}': 2 rows"),
                ),
                (1_700, "Query OK, 0 rows affected (0.38 sec)".into()),
                (
                    2_200,
                    format!("SHOW INDEX FROM {qt} WHERE Key_name = '{INDEX}': Empty set"),
                ),
                (2_600, "execution_run status = ROLLED_BACK".into()),
                (
                    3_000,
                    "Posted to #db-canary: rollback complete, index removed".into(),
                ),
            ];
            for (i, (dt, actual)) in steps.into_iter().enumerate() {
                log.push(
                    r.start + dt,
                    Event::RollbackStep {
                        step: i as u8 + 1,
                        actual,
                        status: StepStatus::Done,
                    },
                );
            }
            log.push(
                r.end,
                Event::RollbackEnd {
                    success: true,
                    error: None,
                },
            );
            log.info(r.end + 100, "Rollback completed: index removed");
            log.push(
                spec.monitoring.1 + 400,
                Event::PostRollbackCheck {
                    check: "Index removed".into(),
                    actual: format!("SHOW INDEX FROM {qt} WHERE Key_name = '{INDEX}': Empty set"),
                    passed: true,
                },
            );
            log.info(
                spec.monitoring.1 + 500,
                "Post-rollback monitoring (5 minutes)",
            );
            let checks: [(&str, String); 4] = [
                (
                    "Latency returning to baseline",
                    format!(
                        "Query P99 {:.1} ms vs baseline {:.1} ms",
                        obs.query_p99_after_rollback, obs.query_p99_baseline
                    ),
                ),
                (
                    "Error rate returning to baseline",
                    format!(
                        "{:.3} % vs baseline {:.3} %",
                        obs.error_rate_after_rollback, obs.error_rate_baseline
                    ),
                ),
                (
                    "No new alerts",
                    format!("No alert fired after {}", local_hm(r.end)),
                ),
                (
                    "Replication healthy",
                    format!(
                        "{}: Seconds_Behind_Source {:.0}, Replica_IO_Running=Yes, Replica_SQL_Running=Yes",
                        spec.replica, obs.lag_at_checks
                    ),
                ),
            ];
            for (i, (check, actual)) in checks.into_iter().enumerate() {
                log.push(
                    r.checks + 300 * i as Ms,
                    Event::PostRollbackCheck {
                        check: check.into(),
                        actual,
                        passed: true,
                    },
                );
            }
        }
    }

    // After metrics, final check, analysis.
    log.phase(Phase::After, spec.after, PhaseStatus::Done);
    log.info(spec.after.0 + 10, "Collecting after metrics (5 minutes)");
    log.info(spec.after.1 + 20, "After metrics collected");
    log.kill_switch(spec.kill_switch_final, "Final Check", &mut rng);
    log.phase(Phase::Analysis, spec.analysis, PhaseStatus::Done);

    let status = if lagging {
        log.log(
            spec.run_end - 200,
            "WARN",
            format!("Canary run aborted: rolled back at the T+15m checkpoint; {INDEX} not present"),
        );
        RunStatus::Aborted
    } else {
        log.info(spec.run_end - 200, "Canary run completed successfully");
        RunStatus::Completed
    };
    log.push(spec.run_end, Event::RunEnd { status });

    let mut events = log.0;
    events.sort_by_key(|e| e.ts);
    events
}

// ---------------------------------------------------------------------------
// Manifest

fn build_manifest(spec: &Spec, obs: &Observed) -> Manifest {
    let lagging = spec.kind == Kind::Lagging;
    let report_date = utc(spec.run_end + 8 * 3_600_000)
        .format("%Y-%m-%d")
        .to_string();
    let day = |d: i64| {
        utc(spec.run_end + 7 * 3_600_000 + d * 86_400_000)
            .format("%Y-%m-%d")
            .to_string()
    };
    let grafana = |board: &str, uid: &str| {
        format!(
            "https://grafana.example.com/d/{uid}/{board}?var-instance={}&from={}&to={}",
            spec.host,
            spec.baseline.0 - 5 * MIN,
            spec.after.1 + 5 * MIN
        )
    };
    let link = |name: &str, url: String, notes: &str| Link {
        name: name.into(),
        url,
        notes: (!notes.is_empty()).then(|| notes.into()),
    };
    let doc = |name: &str, file: &str, notes: &str| {
        link(
            name,
            format!("https://docs.example.com/executor-v1/{file}"),
            notes,
        )
    };
    let human = if lagging {
        HumanInput {
            // No action items: the report lists the template's as suggestions.
            actions: Vec::new(),
            sign_off: vec![
                SignOff {
                    role: "Canary Lead".into(),
                    name: "Somchai Wongsakul".into(),
                    date: Some(report_date.clone()),
                    approved: true,
                    notes: Some("Agree with STOP_AND_FIX; rollback worked as designed".into()),
                },
                SignOff {
                    role: "DBA".into(),
                    name: "Nattapong Srisuk".into(),
                    date: Some(report_date.clone()),
                    approved: true,
                    notes: Some("Replica lag guard needed before re-run".into()),
                },
                SignOff {
                    role: "Tech Lead".into(),
                    name: "Pimchanok Thongdee".into(),
                    date: None,
                    approved: false,
                    notes: Some("Pending review of the blockers".into()),
                },
            ],
            conditions: vec![],
            blockers: vec![
                Blocker {
                    blocker: "The executor has no replication lag guard: the index build kept running while the replica fell more than 60 s behind".into(),
                    severity: "Critical".into(),
                    owner: Some("Nattapong Srisuk (DBA)".into()),
                    target: Some(day(4)),
                },
                Blocker {
                    blocker: "order-api sends replica reads to the primary above 30 s of lag, doubling query P99 on the primary".into(),
                    severity: "High".into(),
                    owner: Some("Arthit Rattanakul (Developer)".into()),
                    target: Some(day(7)),
                },
            ],
            lessons: vec![Lesson {
                what_happened: format!("Replication lag reached {:.0} s during and after the index build", obs.lag_peak),
                impact: Some("Query P99 more than doubled; automatic rollback at T+15m".into()),
                root_cause: Some("Row-change volume of the online build on a write-heavy tenant, applied by a single-threaded replica".into()),
                action_item: Some("Abort or pause the DDL when lag exceeds 30 s; enable replica_parallel_workers=8 on the t57 replicas".into()),
            }],
            dashboards: vec![
                link("MySQL Overview", grafana("mysql-overview", "mysql-ov"), "Replication lag panel shows the climb from 02:51"),
                link("Application APM", format!("https://apm.example.com/services/order-api?env=prod&tenant={}", spec.tenant), ""),
                link("Infrastructure", grafana("node-exporter", "node-full"), ""),
                link("Executor Metrics", grafana("executor-v1", "exec-v1"), "Rollback at the T+15m checkpoint"),
            ],
            related_documents: vec![
                doc("Canary Run Plan", "EXECUTOR_V1_CANARY_RUN_PLAN.md", "Plan used"),
                doc("Integration Test Plan", "EXECUTOR_V1_INTEGRATION_TEST_PLAN.md", "Metrics reference"),
                doc("Test Result Log", "EXECUTOR_V1_TEST_RESULT_LOG.md", "Integration test results"),
            ],
            incident_notes: Some("Both incidents resolved by the automatic rollback; no customer-facing errors above the bound.".into()),
            performance_notes: Some("Index build on a write-heavy tenant: replica lag and primary read load, not the index itself, drove the latency.".into()),
            final_notes: Some("Re-run after the lag guard ships; consider a pt-online-schema-change style throttled build for tables above 10M rows.".into()),
            report_status: Some(ReportStatus::Draft),
            report_author: Some("Somchai Wongsakul".into()),
            report_date: Some(report_date),
        }
    } else {
        HumanInput {
            // No action items: the report lists the template's as suggestions.
            actions: Vec::new(),
            sign_off: vec![
                SignOff {
                    role: "Canary Lead".into(),
                    name: "Somchai Wongsakul".into(),
                    date: Some(report_date.clone()),
                    approved: true,
                    notes: Some("Disk write warning reviewed: expected for an INPLACE build of this size".into()),
                },
                SignOff {
                    role: "DBA".into(),
                    name: "Nattapong Srisuk".into(),
                    date: Some(report_date.clone()),
                    approved: true,
                    notes: None,
                },
                SignOff {
                    role: "Tech Lead".into(),
                    name: "Pimchanok Thongdee".into(),
                    date: None,
                    approved: false,
                    notes: Some("Pending review".into()),
                },
            ],
            conditions: vec![
                Condition {
                    condition: format!("Monitor {} for 24 hours before expanding scope", spec.table),
                    owner: Some("Kanokwan Chaiyaporn (SRE)".into()),
                    due: Some(day(1)),
                },
                Condition {
                    condition: "Schedule builds on tables above 10M rows so that disk write bursts do not overlap backups".into(),
                    owner: Some("Nattapong Srisuk (DBA)".into()),
                    due: Some(day(3)),
                },
            ],
            blockers: vec![],
            lessons: vec![Lesson {
                what_happened: format!("Disk write peaked at {:.0} MB/s for about 2 minutes of the build", obs.disk_write_peak),
                impact: Some("One WARNING metric; no user-visible impact".into()),
                root_cause: Some("Sort/merge phase of the INPLACE build writes the sorted index runs".into()),
                action_item: Some("Add the expected write burst to the canary plan for tables above 10M rows".into()),
            }],
            dashboards: vec![
                link("MySQL Overview", grafana("mysql-overview", "mysql-ov"), ""),
                link("Application APM", format!("https://apm.example.com/services/order-api?env=prod&tenant={}", spec.tenant), ""),
                link("Infrastructure", grafana("node-exporter", "node-full"), "Disk write burst at 02:51-02:53"),
                link("Executor Metrics", grafana("executor-v1", "exec-v1"), ""),
            ],
            related_documents: vec![
                doc("Canary Run Plan", "EXECUTOR_V1_CANARY_RUN_PLAN.md", "Plan used"),
                doc("Integration Test Plan", "EXECUTOR_V1_INTEGRATION_TEST_PLAN.md", "Metrics reference"),
                doc("Test Result Log", "EXECUTOR_V1_TEST_RESULT_LOG.md", "Integration test results"),
            ],
            incident_notes: Some("One informational note on the disk write burst; nothing else.".into()),
            performance_notes: Some("CPU, disk and latency rose during the build only and returned to the baseline; the order-history query now uses the new index.".into()),
            final_notes: None,
            report_status: Some(ReportStatus::Draft),
            report_author: Some("Somchai Wongsakul".into()),
            report_date: Some(report_date),
        }
    };
    Manifest {
        schema_version: 1,
        run_id: spec.run_id.into(),
        lead: Some("Somchai Wongsakul".into()),
        team: [
            ("Nattapong Srisuk", "DBA"),
            ("Kanokwan Chaiyaporn", "SRE"),
            ("Arthit Rattanakul", "Developer"),
        ]
        .into_iter()
        .map(|(name, role)| TeamMember {
            name: name.into(),
            role: role.into(),
        })
        .collect(),
        scope: Scope {
            planned: PlannedScope::default(),
            actual: ActualScope {
                tenant: spec.tenant.into(),
                connection: spec.connection.into(),
                database: spec.database.into(),
                table: spec.table.into(),
                operation: "ADD_INDEX".into(),
                window_start: Some(utc(spec.run_start)),
                window_end: Some(utc(spec.run_end)),
            },
        },
        target: Target {
            engine: Some("InnoDB".into()),
            rows: Some(spec.rows),
            data_size_bytes: Some(spec.data_size_bytes),
            index_name: INDEX.into(),
            columns: COLUMNS.iter().map(|c| c.to_string()).collect(),
            index_type: "BTREE".into(),
        },
        ddl: Some(spec.ddl_statement()),
        plan: Plan {
            start: utc(spec.plan_start),
            phases: PlannedPhase::template_plan(),
            kill_switch_checkpoints: Plan::template_checkpoints(),
            no_kill_switch: false,
        },
        display_timezone: "+07:00".into(),
        max_connections: Some(500),
        replica: Some(spec.replica.into()),
        sources: Default::default(),
        human,
    }
}

// ---------------------------------------------------------------------------
// A whole run directory

fn build_run(spec: &Spec) -> RunDir {
    use MetricId::*;
    let gauges: BTreeMap<MetricId, Series> = [
        CpuUsagePct,
        MemoryUsagePct,
        DiskReadMbS,
        DiskWriteMbS,
        NetworkLatencyMs,
        ActiveConnections,
        LockWaitTimeS,
        TableLocksWaited,
        ReplicationLagS,
        BufferPoolHitRatePct,
        ThreadsRunning,
        ErrorRatePct,
        ThroughputRps,
    ]
    .into_iter()
    .map(|m| (m, gauge_series(spec, m)))
    .collect();
    let raw: BTreeMap<RawLatency, Vec<(Ms, f64)>> = RawLatency::ALL
        .into_iter()
        .map(|r| (r, raw_latency(spec, r)))
        .collect();
    let obs = observe_and_check(spec, &gauges, &raw);

    let manifest = build_manifest(spec, &obs);
    let events = build_events(spec, &obs);
    check(
        events.windows(2).all(|w| w[0].ts <= w[1].ts),
        format!("{} events in time order", spec.run_id),
    );

    let mut manifest_json = serde_json::to_string_pretty(&manifest).expect("serializable");
    manifest_json.push('\n');
    let mut events_jsonl = String::new();
    for e in &events {
        events_jsonl.push_str(&serde_json::to_string(e).expect("serializable"));
        events_jsonl.push('\n');
    }
    let g = |m: MetricId| &gauges[&m];
    let node = format!("{}:9100", spec.host);
    let mysqld = format!("{}:9104", spec.host);
    let files = vec![
        ("manifest.json".to_string(), manifest_json),
        ("events.jsonl".to_string(), events_jsonl),
        (
            "metrics/cpu_usage_pct.json".to_string(),
            prometheus_json(g(CpuUsagePct), node.clone()),
        ),
        (
            "metrics/system.csv".to_string(),
            long_csv(
                &[
                    g(MemoryUsagePct),
                    g(DiskReadMbS),
                    g(DiskWriteMbS),
                    g(NetworkLatencyMs),
                ],
                Some(("instance", &node)),
                Stamp::Rfc3339,
            ),
        ),
        (
            "metrics/mysql.csv".to_string(),
            long_csv(
                &[
                    g(ActiveConnections),
                    g(LockWaitTimeS),
                    g(TableLocksWaited),
                    g(ReplicationLagS),
                    g(BufferPoolHitRatePct),
                    g(ThreadsRunning),
                ],
                Some(("instance", &mysqld)),
                Stamp::Rfc3339,
            ),
        ),
        (
            "metrics/app.csv".to_string(),
            long_csv(
                &[g(ErrorRatePct), g(ThroughputRps)],
                Some(("service", "order-api")),
                Stamp::UnixSeconds,
            ),
        ),
        (
            "metrics/query_latency.csv".to_string(),
            raw_csv(RawLatency::Query, &raw[&RawLatency::Query]),
        ),
        (
            "metrics/request_latency.csv".to_string(),
            raw_csv(RawLatency::Request, &raw[&RawLatency::Request]),
        ),
    ];
    RunDir {
        name: spec.dir.into(),
        files: files
            .into_iter()
            .map(|(path, text)| OutFile {
                path,
                bytes: text.into_bytes(),
            })
            .collect(),
    }
}
