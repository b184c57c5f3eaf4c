//! The command line: flags are parsed and validated here, then handed to the
//! library as typed options. Nothing below this module sees raw strings.

use crate::build::{self, BuildOptions, Format};
use crate::error::InputError;
use crate::report::Lang;
use crate::rules::Verdict;
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;

/// Exit codes, stable for CI.
pub mod exit {
    /// The report was written (and, with --fail-on-stop, the canary was approved).
    pub const OK: i32 = 0;
    /// Something outside the input went wrong (I/O, an internal error).
    pub const ERROR: i32 = 1;
    /// The input is wrong: a run directory, a thresholds file or a flag.
    pub const BAD_INPUT: i32 = 2;
    /// The decision is STOP_AND_FIX and --fail-on-stop was given.
    pub const STOP_AND_FIX: i32 = 3;
    /// capture: the canary was rolled back and the index verified absent.
    pub const ROLLED_BACK: i32 = 4;
    /// capture: the run stopped and the index's state could not be verified.
    pub const INDEX_STATE_UNKNOWN: i32 = 5;
    /// capture: refused before changing anything (pre-check, kill switch, DDL refused).
    pub const NOTHING_CHANGED: i32 = 6;
}

#[derive(Debug, Parser)]
#[command(
    name = "canary-report",
    version,
    about = "Build the outcome report of an online ADD INDEX canary, decided by explicit rules.",
    long_about = "Build the outcome report of an online ADD INDEX canary on MySQL/MariaDB.\n\n\
        canary-report reads a run directory (manifest.json, events.jsonl, metrics/), computes \
        per-phase statistics (baseline, during the DDL, post), judges the template's 20 metrics \
        against their bounds, decides APPROVED_FOR_LIMITED_PROD or STOP_AND_FIX by the rules of \
        section 7.2, and writes report.md and summary.json.",
    after_help = "Examples:\n  \
        canary-report build samples/run-001\n  \
        canary-report build ./run-042 --out artifacts/ --lang en --fail-on-stop\n  \
        canary-report build ./run-042 --thresholds stricter.toml --out rejudged/\n\n\
        Exit codes: 0 report written, 1 error, 2 bad input, 3 STOP_AND_FIX with --fail-on-stop;\n  \
        capture also: 4 rolled back (index verified absent), 5 index state unknown, 6 nothing changed."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the report of one run directory.
    Build(BuildArgs),
    /// Run the ADD INDEX canary against a live MySQL/MariaDB, record it in a
    /// run directory, then build its report.
    Capture(Box<CaptureCommand>),
}

#[derive(Debug, Args)]
pub struct CaptureCommand {
    #[command(flatten)]
    pub capture: crate::capture::CaptureArgs,
    /// Do not build the report after capturing.
    #[arg(long)]
    pub no_report: bool,
    /// Language of the report built after capturing.
    #[arg(long, value_enum, default_value_t = Lang::Th)]
    pub lang: Lang,
    /// Exit with code 3 when the report's decision is STOP_AND_FIX and the
    /// capture itself completed.
    #[arg(long)]
    pub fail_on_stop: bool,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The run directory: manifest.json, events.jsonl and metrics/.
    pub run: PathBuf,
    /// Where to write the report [default: RUN/report]. The run directory's
    /// inputs are never modified.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// A TOML file overriding bounds and rules, e.g. to re-judge an old run.
    /// The report names the file and its SHA-256.
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,
    /// Language of report.md: th (Thai with English, as the template) or en.
    #[arg(long, value_enum, default_value_t = Lang::Th)]
    pub lang: Lang,
    /// Outputs to write, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Format::Md, Format::Json])]
    pub format: Vec<Format>,
    /// Exit with code 3 when the decision is STOP_AND_FIX (for CI gates).
    #[arg(long)]
    pub fail_on_stop: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::BAD_INPUT
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return exit::OK;
            }
            eprintln!("error: {err:#}");
            if err
                .chain()
                .any(|c| c.downcast_ref::<InputError>().is_some())
            {
                exit::BAD_INPUT
            } else {
                exit::ERROR
            }
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Build(args) => run_build(args),
        Command::Capture(args) => run_capture(args),
    }
}

fn run_capture(args: Box<CaptureCommand>) -> anyhow::Result<i32> {
    let outcome = crate::capture::run(&args.capture)?;
    let capture_code = match outcome.exit_code() {
        0 => exit::OK,
        3 => exit::NOTHING_CHANGED,
        4 => exit::ROLLED_BACK,
        _ => exit::INDEX_STATE_UNKNOWN,
    };
    let Some(run_dir) = outcome.run_dir.as_deref() else {
        return Ok(capture_code);
    };
    if args.no_report {
        return Ok(capture_code);
    }
    let built = build::build(
        run_dir,
        &BuildOptions {
            lang: args.lang,
            ..BuildOptions::default()
        },
    )?;
    if !args.capture.quiet {
        eprintln!(
            "{}: {} — report in {}",
            built.data.run_id,
            built.data.decision.key(),
            built.out_dir.display()
        );
    }
    Ok(
        if capture_code == exit::OK
            && args.fail_on_stop
            && built.data.decision == Verdict::StopAndFix
        {
            exit::STOP_AND_FIX
        } else {
            capture_code
        },
    )
}

fn run_build(args: BuildArgs) -> anyhow::Result<i32> {
    let started = std::time::Instant::now();
    let opts = BuildOptions {
        out: args.out,
        thresholds: args.thresholds,
        lang: args.lang,
        formats: args.format,
    };
    let built = build::build(&args.run, &opts)?;
    let d = &built.data;
    if !args.quiet {
        let mut out = std::io::stdout().lock();
        let rows: u64 = d.inputs.iter().map(|s| s.rows).sum();
        let bytes: u64 = d.inputs.iter().map(|s| s.bytes).sum();
        let passed = d.reasons.iter().filter(|r| r.passed).count();
        writeln!(
            out,
            "{}: {} ({}/{} rules passed; {} critical, {} warning, {} no data)",
            d.run_id,
            d.decision.key(),
            passed,
            d.reasons.len(),
            d.counts.total.critical,
            d.counts.total.warning,
            d.counts.total.no_data
        )?;
        for b in &d.blockers {
            writeln!(out, "  blocker: {}: {}", b.rule.key(), b.detail)?;
        }
        for w in &d.warnings {
            writeln!(out, "  warning: {w}")?;
        }
        writeln!(
            out,
            "read {} files, {} rows, {} bytes in {:.2} s; wrote {}",
            d.inputs.len(),
            rows,
            bytes,
            started.elapsed().as_secs_f64(),
            built
                .files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    Ok(if args.fail_on_stop && d.decision == Verdict::StopAndFix {
        exit::STOP_AND_FIX
    } else {
        exit::OK
    })
}
