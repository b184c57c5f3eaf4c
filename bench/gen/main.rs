//! Writes a run directory around a large raw latency export (see export.rs).
//!
//! ```text
//! rustc --edition 2024 -O bench/gen/main.rs -o bench/data/gen
//! bench/data/gen --rows 20000000 --format csv --out bench/data/csv-20m
//! ```

mod export;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: gen --rows N [--format csv|prometheus] [--seed S] --out DIR";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut rows: Option<u64> = None;
    let mut format = export::Format::Csv;
    let mut seed = export::SEED;
    let mut out: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => rows = Some(parse_count(&value()?)?),
            "--format" => {
                format = match value()?.as_str() {
                    "csv" => export::Format::Csv,
                    "prometheus" | "prom" | "json" => export::Format::Prometheus,
                    other => return Err(format!("unknown format `{other}`")),
                }
            }
            "--seed" => seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--out" => out = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let rows = rows.ok_or("--rows is required")?;
    let out = out.ok_or("--out is required")?;
    let started = std::time::Instant::now();
    let bytes = export::write_run(&out, rows, seed, format)
        .map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "wrote {} ({rows} rows, {:.1} MB of metrics) in {:.1} s",
        out.display(),
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `20000000`, `20_000_000`, `20M` or `1m`.
fn parse_count(text: &str) -> Result<u64, String> {
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let (digits, scale) = match clean.strip_suffix(['M', 'm']) {
        Some(d) => (d, 1_000_000),
        None => match clean.strip_suffix(['K', 'k']) {
            Some(d) => (d, 1_000),
            None => (clean.as_str(), 1),
        },
    };
    digits
        .parse::<u64>()
        .map(|n| n * scale)
        .map_err(|e| format!("--rows `{text}`: {e}"))
}
