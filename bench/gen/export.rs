//! A seeded generator of raw latency exports: a whole run directory
//! (`manifest.json`, `events.jsonl` and `metrics/`) around one very long
//! `timestamp,metric,value` CSV, or the same samples as Prometheus
//! query_range JSON (one file per metric).
//!
//! Pure `std`, so that `bench/gen/main.rs` builds with a bare `rustc` and the
//! test `tests/suite/perf_stats.rs` includes this file as a module. The output
//! is a pure function of (rows, seed): integer arithmetic and IEEE `+ - * /`
//! only (no `ln`/`exp` from a platform's math library), and the text is written
//! from integers (microseconds), so every platform writes the same bytes.
//!
//! The run around the samples is `samples/run-001`'s (copied into
//! `run-template/`): a 5-minute baseline, a 4.5-minute `ADD INDEX`, then about
//! 65 minutes of verification, monitoring and after-metrics. The samples span
//! the whole run (19:00:00.180 to 21:02:35.200 UTC, 7,355 s), half queries
//! (`query_latency_ms`, ~2.5 ms) and half requests (`request_latency_ms`,
//! ~25 ms), each with a heavy tail, and slower during the DDL.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// The seed of `bench/` and of the 1M-row test.
pub const SEED: u64 = 0x5EED_0CA4_A41A_7E4C;

/// First and last sample time, microseconds since the Unix epoch: the run's
/// `window_start` and `window_end`.
pub const START_US: u64 = 1_795_201_200_180_000;
pub const END_US: u64 = 1_795_208_555_200_000;
/// The DDL (`ddl_start` .. `ddl_end` events): latency is higher in between.
pub const DDL_START_US: u64 = 1_795_204_201_602_000;
pub const DDL_END_US: u64 = 1_795_204_469_951_000;

pub const MANIFEST: &str = include_str!("run-template/manifest.json");
pub const EVENTS: &str = include_str!("run-template/events.jsonl");

/// The two raw latency metrics.
pub const METRICS: [&str; 2] = ["query_latency_ms", "request_latency_ms"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `metrics/latency.csv`: `timestamp,metric,value`, unix seconds with
    /// microseconds, values in ms with three decimals.
    Csv,
    /// `metrics/query_latency_ms.json` and `metrics/request_latency_ms.json`.
    Prometheus,
}

/// One generated sample: time in microseconds, metric index in [`METRICS`],
/// value in microseconds (written as milliseconds with three decimals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub t_us: u64,
    pub metric: usize,
    pub v_us: u64,
}

/// SplitMix64: small, fast, and fixed here so no crate upgrade changes a byte.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// The rows of an export of `rows` samples, in time order.
pub fn rows(rows: u64, seed: u64) -> impl Iterator<Item = Row> {
    let mut rng = SplitMix64(seed);
    let span = u128::from(END_US - START_US);
    let n = u128::from(rows.max(1));
    (0..rows).map(move |i| {
        // Sample i falls in the i-th of `rows` equal slots, anywhere inside:
        // times never decrease, and some repeat when slots are short.
        let jitter = u128::from(rng.next()) % span;
        let t_us = START_US + ((u128::from(i) * span + jitter) / n) as u64;
        let metric = (rng.next() & 1) as usize;
        let base = if metric == 0 { 2.5 } else { 25.0 };
        let slower = if (DDL_START_US..DDL_END_US).contains(&t_us) {
            if metric == 0 { 1.35 } else { 1.25 }
        } else {
            1.0
        };
        // A bell-shaped body (mean of four uniforms) and a 3 % heavy tail.
        let body = 0.5 + (rng.unit() + rng.unit() + rng.unit() + rng.unit()) * 0.25;
        let tail = if rng.unit() < 0.03 {
            1.5 + 0.4 / (rng.unit() + 0.01)
        } else {
            body
        };
        let ms = base * slower * tail;
        let v_us = (ms * 1000.0).round() as u64;
        Row { t_us, metric, v_us }
    })
}

/// Appends `value / 10^decimals` with exactly `decimals` decimals.
fn push_fixed(out: &mut Vec<u8>, value: u64, decimals: u32) {
    let scale = 10u64.pow(decimals);
    let mut int = itoa(value / scale);
    out.append(&mut int);
    out.push(b'.');
    let frac = value % scale;
    let digits = itoa(frac);
    for _ in digits.len()..decimals as usize {
        out.push(b'0');
    }
    out.extend_from_slice(&digits);
}

fn itoa(mut n: u64) -> Vec<u8> {
    let mut buf = Vec::with_capacity(20);
    loop {
        buf.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.reverse();
    buf
}

/// One CSV data row, with its line feed.
pub fn csv_line(row: &Row, out: &mut Vec<u8>) {
    push_fixed(out, row.t_us, 6);
    out.push(b',');
    out.extend_from_slice(METRICS[row.metric].as_bytes());
    out.push(b',');
    push_fixed(out, row.v_us, 3);
    out.push(b'\n');
}

pub const CSV_HEADER: &[u8] = b"timestamp,metric,value\n";

/// Writes the CSV export to `out`; returns the bytes written.
pub fn write_csv<W: Write>(n: u64, seed: u64, out: W) -> io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, out);
    out.write_all(CSV_HEADER)?;
    let mut written = CSV_HEADER.len() as u64;
    let mut line = Vec::with_capacity(64);
    for row in rows(n, seed) {
        line.clear();
        csv_line(&row, &mut line);
        out.write_all(&line)?;
        written += line.len() as u64;
    }
    out.flush()?;
    Ok(written)
}

/// Writes one Prometheus query_range response per metric, both in one pass
/// over the rows. Returns the bytes written.
pub fn write_prometheus(n: u64, seed: u64, dir: &Path) -> io::Result<u64> {
    let mut files = Vec::new();
    for name in METRICS {
        let file = File::create(dir.join(format!("{name}.json")))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        write!(
            w,
            r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{"__name__":"{name}","instance":"db-t42-p01:9104"}},"values":["#
        )?;
        files.push((w, true));
    }
    let mut point = Vec::with_capacity(64);
    for row in rows(n, seed) {
        let (w, first) = &mut files[row.metric];
        point.clear();
        if !*first {
            point.push(b',');
        }
        *first = false;
        point.push(b'[');
        push_fixed(&mut point, row.t_us, 6);
        point.extend_from_slice(b",\"");
        push_fixed(&mut point, row.v_us, 3);
        point.extend_from_slice(b"\"]");
        w.write_all(&point)?;
    }
    let mut written = 0;
    for (name, (mut w, _)) in METRICS.iter().zip(files) {
        w.write_all(b"]}]}}\n")?;
        w.flush()?;
        written += fs::metadata(dir.join(format!("{name}.json")))?.len();
    }
    Ok(written)
}

/// Writes a whole run directory at `dir` (created if needed): the template's
/// manifest and events, and the export in `metrics/`. Returns the bytes of
/// the metrics files.
pub fn write_run(dir: &Path, n: u64, seed: u64, format: Format) -> io::Result<u64> {
    let metrics = dir.join("metrics");
    fs::create_dir_all(&metrics)?;
    fs::write(dir.join("manifest.json"), MANIFEST)?;
    fs::write(dir.join("events.jsonl"), EVENTS)?;
    match format {
        Format::Csv => write_csv(n, seed, File::create(metrics.join("latency.csv"))?),
        Format::Prometheus => write_prometheus(n, seed, &metrics),
    }
}
