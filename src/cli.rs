//! The command line: flags are parsed and validated here, then handed to the
//! library as typed options. Nothing below this module sees raw strings.

use crate::build::{self, BuildOptions, Format};
use crate::error::InputError;
use crate::judge::rules::Verdict;
use crate::report::Lang;
use crate::report::view::{counted, human_bytes};
use clap::{Args, CommandFactory, Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};

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
        section 7.2, and writes report.md, a self-contained report.html with SVG charts, and summary.json.",
    after_help = "Examples:\n  \
        canary-report build samples/run-001\n  \
        canary-report build ./run-042 --out artifacts/ --lang en --fail-on-stop\n  \
        canary-report build ./run-042 --thresholds stricter.toml --out rejudged/\n  \
        canary-report build --all runs/ --out reports/ --junit junit.xml\n  \
        canary-report compare run-042 run-042 --thresholds-b stricter.toml\n  \
        canary-report validate ./run-042\n  \
        canary-report init ./run-043\n\n\
        Exit codes: 0 report written (validate: no problem), 1 error, 2 bad input (validate: problems\n  \
        found; build --all: any run's input), 3 STOP_AND_FIX with --fail-on-stop;\n  \
        capture also: 4 rolled back (index verified absent), 5 index state unknown, 6 nothing changed."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the report of one run directory (or, with --all, of every run under a directory).
    Build(BuildArgs),
    /// Judge two runs (or one run under two thresholds files) and show what
    /// changed and why.
    Compare(CompareArgs),
    /// Check a run directory without building: every problem, with file, line and field.
    Validate(ValidateArgs),
    /// Write a run directory skeleton to fill in: manifest.json, events.jsonl,
    /// metrics/, and READMEs explaining each field.
    Init(InitArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) to stdout.
    Man,
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
    /// The run directory: manifest.json, events.jsonl and metrics/. With
    /// --all: a directory tree holding run directories.
    pub run: PathBuf,
    /// Where to write the report [default: RUN/report]. The run directory's
    /// inputs are never modified. With --all: where the index goes, each
    /// run's report in OUT/<run's path under RUN>/ [default: RUN/reports-index].
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Build every run directory (a directory holding manifest.json) under
    /// RUN, in parallel, and write index.md and index.html. A run that fails
    /// is listed with its error; the others are built.
    #[arg(long)]
    pub all: bool,
    /// Parallel builds with --all.
    #[arg(long, value_name = "N", default_value_t = 2, requires = "all", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Also write a JUnit XML report: one test case per rule and per metric,
    /// failures with their reason (with --all: one test suite per run).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// A TOML file overriding bounds and rules, e.g. to re-judge an old run.
    /// The report names the file and its SHA-256.
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,
    /// A metric mapping TOML (source names, labels, units -> report metrics),
    /// used instead of RUN/mapping.toml; either extends the built-in mapping.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Language of report.md: th (Thai with English, as the template) or en.
    #[arg(long, value_enum, default_value_t = Lang::Th)]
    pub lang: Lang,
    /// Outputs to write, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Format::ALL)]
    pub format: Vec<Format>,
    /// Exit with code 3 when the decision is STOP_AND_FIX (for CI gates).
    #[arg(long)]
    pub fail_on_stop: bool,
    /// Print nothing but errors, and draw no progress bar.
    ///
    /// Otherwise a progress bar appears on stderr, when it is a terminal, once
    /// reading has taken a second (CANARY_REPORT_PROGRESS_DELAY_MS sets that
    /// delay in milliseconds).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The first run directory (A).
    pub a: PathBuf,
    /// The second run directory (B); may be A again, with other thresholds.
    pub b: PathBuf,
    /// Thresholds TOML for A [default: the template's bounds].
    #[arg(long, value_name = "FILE")]
    pub thresholds_a: Option<PathBuf>,
    /// Thresholds TOML for B [default: the template's bounds].
    #[arg(long, value_name = "FILE")]
    pub thresholds_b: Option<PathBuf>,
    /// Also write compare.md and compare.json into this directory.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The run directory to check.
    pub run: PathBuf,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The run directory to create (or an empty directory to fill).
    pub run: PathBuf,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
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
            eprintln!("error: {}", message_of(&err));
            if err.chain().any(|c| {
                c.downcast_ref::<InputError>().is_some()
                    || c.downcast_ref::<crate::error::BadOption>().is_some()
            }) {
                exit::BAD_INPUT
            } else {
                exit::ERROR
            }
        }
    }
}

/// The error and its causes, each said once: a cause whose text the
/// message already holds (an I/O error quoted by its context) is not
/// repeated.
fn message_of(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Build(args) if args.all => run_build_all(args),
        Command::Build(args) => run_build(args),
        Command::Capture(args) => run_capture(args),
        Command::Compare(args) => run_compare(args),
        Command::Validate(args) => run_validate(args),
        Command::Init(args) => run_init(args),
        Command::Completions(args) => {
            // clap_complete panics on a write error: render to memory, then
            // write, so that a closed pipe or a full disk is an error we handle.
            let mut script = Vec::new();
            clap_complete::generate(
                args.shell,
                &mut Cli::command(),
                "canary-report",
                &mut script,
            );
            let mut out = std::io::stdout().lock();
            out.write_all(&script)?;
            out.flush()?;
            Ok(exit::OK)
        }
        Command::Man => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            out.flush()?;
            Ok(exit::OK)
        }
    }
}

fn run_capture(args: Box<CaptureCommand>) -> anyhow::Result<i32> {
    use crate::capture::Ending;
    let outcome = crate::capture::run(&args.capture)?;
    let capture_code = match outcome.ending() {
        Ending::Completed => exit::OK,
        Ending::NothingChanged => exit::NOTHING_CHANGED,
        Ending::RolledBack => exit::ROLLED_BACK,
        Ending::IndexStateUnknown => exit::INDEX_STATE_UNKNOWN,
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
            // The report judges by the bounds the canary was run with.
            thresholds: args.capture.thresholds.clone(),
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

/// A directory with no manifest but run directories below it is a tree of
/// runs: say so, and how to build them, instead of "manifest.json missing".
fn refuse_a_tree_of_runs(dir: &Path) -> anyhow::Result<()> {
    if !dir.is_dir() || dir.join("manifest.json").exists() {
        return Ok(());
    }
    // The runs `build --all` would build, found as it finds them.
    let runs: Vec<String> = crate::batch::find_runs(dir, None)
        .unwrap_or_default()
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap_or(p).display().to_string())
        .collect();
    if runs.is_empty() {
        return Ok(());
    }
    Err(crate::error::BadOption(format!(
        "{}: not a run directory (no manifest.json), but it holds {}: {}; build them all \
         with `canary-report build --all {}`, or name one",
        dir.display(),
        match runs.len() {
            1 => "1 run directory".to_string(),
            n => format!("{n} run directories"),
        },
        runs.join(", "),
        dir.display()
    ))
    .into())
}

fn run_build(args: BuildArgs) -> anyhow::Result<i32> {
    let started = std::time::Instant::now();
    let opts = BuildOptions {
        out: args.out,
        thresholds: args.thresholds,
        lang: args.lang,
        formats: args.format,
        mapping: args.mapping,
    };
    // A progress bar on stderr while large inputs are read (on a terminal only).
    crate::ingest::show_progress(!args.quiet);
    refuse_a_tree_of_runs(&args.run)?;
    let built = build::build(&args.run, &opts)?;
    let d = &built.data;
    if let Some(path) = &args.junit {
        write_file(path, &crate::junit::render(&[d])?)?;
    }
    append_step_summary(&crate::junit::step_summary(d));
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
        // Warnings are about the inputs, not the result: stderr.
        for w in &d.warnings {
            eprintln!("warning: {w}");
        }
        // Name the reports; count the charts.
        let (charts, reports): (Vec<_>, Vec<_>) = built
            .files
            .iter()
            .partition(|p| p.extension().is_some_and(|e| e == "svg"));
        let mut wrote: Vec<String> = reports
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        if !charts.is_empty() {
            wrote.push(format!("{} charts", charts.len()));
        }
        writeln!(
            out,
            "read {}, {} rows, {}; built in {:.2} s; wrote {} to {}",
            counted(d.inputs.len(), "file"),
            rows,
            human_bytes(bytes),
            started.elapsed().as_secs_f64(),
            wrote.join(", "),
            built.out_dir.display()
        )?;
    }
    Ok(if args.fail_on_stop && d.decision == Verdict::StopAndFix {
        exit::STOP_AND_FIX
    } else {
        exit::OK
    })
}

/// Writes a whole file, creating its directory.
fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Appends Markdown to the file named by `GITHUB_STEP_SUMMARY`, when set. A
/// failure is a warning: the job summary is a courtesy, not the gate.
fn append_step_summary(markdown: &str) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return;
    };
    let result = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(markdown.as_bytes()));
    if let Err(e) = result {
        eprintln!(
            "warning: cannot append to GITHUB_STEP_SUMMARY {}: {e}",
            Path::new(&path).display()
        );
    }
}

fn run_build_all(args: BuildArgs) -> anyhow::Result<i32> {
    use crate::batch;
    let root = &args.run;
    if !root.is_dir() {
        return Err(crate::error::InputError::invalid(
            root,
            None,
            None,
            "not a directory: --all takes a directory holding run directories",
        )
        .into());
    }
    // Fail early on a bad thresholds file rather than once per run.
    build::load_thresholds(args.thresholds.as_deref())?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join(batch::DEFAULT_OUT));
    let runs = batch::find_runs(root, Some(&out))?;
    if runs.is_empty() {
        return Err(crate::error::InputError::invalid(
            root,
            None,
            None,
            "no run directory (a directory holding manifest.json) under it",
        )
        .into());
    }
    let opts = BuildOptions {
        out: None,
        thresholds: args.thresholds.clone(),
        lang: args.lang,
        formats: args.format.clone(),
        mapping: args.mapping.clone(),
    };
    let outcomes = batch::build_all(root, &runs, &out, &opts, usize::from(args.jobs));
    let index_md = batch::render_index_md(root, &outcomes)?;
    build::write_outputs(
        &out,
        &[
            ("index.md".to_string(), index_md.clone()),
            (
                "index.html".to_string(),
                batch::render_index_html(root, &outcomes)?,
            ),
        ],
    )?;
    let built: Vec<&crate::report::ReportData> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().ok().map(|b| &b.data))
        .collect();
    if let Some(path) = &args.junit {
        write_file(path, &crate::junit::render(&built)?)?;
    }
    append_step_summary(&index_md);
    let bad_input = outcomes
        .iter()
        .any(|o| o.result.as_ref().is_err_and(|e| e.bad_input));
    let failed = outcomes.iter().any(|o| o.result.is_err());
    let stop = built.iter().any(|d| d.decision == Verdict::StopAndFix);
    let mut stdout = std::io::stdout().lock();
    if !args.quiet {
        for o in &outcomes {
            if let Ok(b) = &o.result {
                let d = &b.data;
                writeln!(
                    stdout,
                    "{}: {}: {} ({} critical, {} warning, {} no data)",
                    o.rel.display(),
                    d.run_id,
                    d.decision.key(),
                    d.counts.total.critical,
                    d.counts.total.warning,
                    d.counts.total.no_data
                )?;
            }
        }
        writeln!(
            stdout,
            "{}: {} built, {} failed; index in {}",
            counted(outcomes.len(), "run"),
            built.len(),
            outcomes.len() - built.len(),
            out.join("index.md").display()
        )?;
    }
    drop(stdout);
    for o in &outcomes {
        if let Err(e) = &o.result {
            eprintln!("error: {}: {}", o.rel.display(), e.message);
        }
    }
    Ok(if bad_input {
        exit::BAD_INPUT
    } else if failed {
        exit::ERROR
    } else if args.fail_on_stop && stop {
        exit::STOP_AND_FIX
    } else {
        exit::OK
    })
}

fn run_compare(args: CompareArgs) -> anyhow::Result<i32> {
    use crate::compare;
    let c = compare::compare(&compare::CompareOptions {
        a: args.a,
        b: args.b,
        thresholds_a: args.thresholds_a,
        thresholds_b: args.thresholds_b,
    })?;
    let mut written = Vec::new();
    if let Some(out) = &args.out {
        written = build::write_outputs(
            out,
            &[
                ("compare.md".to_string(), compare::render_markdown(&c)),
                ("compare.json".to_string(), compare::render_json(&c)),
            ],
        )?;
    }
    if !args.quiet {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(compare::render_text(&c).as_bytes())?;
        if !written.is_empty() {
            writeln!(
                stdout,
                "wrote {}",
                written
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
    }
    Ok(exit::OK)
}

fn run_validate(args: ValidateArgs) -> anyhow::Result<i32> {
    let v = crate::validate::validate(&args.run);
    let mut out = std::io::stdout().lock();
    for p in &v.problems {
        writeln!(out, "{p}")?;
    }
    for t in &v.truncated {
        writeln!(
            out,
            "{}: stopped after {} problems",
            t.display(),
            crate::validate::MAX_PER_FILE
        )?;
    }
    // Warnings are not the result: stderr, as for build.
    for w in &v.warnings {
        eprintln!("warning: {w}");
    }
    if v.is_clean() {
        writeln!(
            out,
            "{}: valid ({} checked: {})",
            args.run.display(),
            counted(v.files.len(), "file"),
            v.files.join(", ")
        )?;
        Ok(exit::OK)
    } else {
        // The run directory itself missing is a problem in no file.
        let files: std::collections::BTreeSet<&Path> = v
            .problems
            .iter()
            .map(|p| p.path.as_path())
            .filter(|p| *p != args.run.as_path())
            .collect();
        let problems = counted(v.problems.len(), "problem");
        if files.is_empty() {
            writeln!(out, "{}: {problems}", args.run.display())?;
        } else {
            writeln!(
                out,
                "{}: {problems} in {}",
                args.run.display(),
                counted(files.len(), "file")
            )?;
        }
        Ok(exit::BAD_INPUT)
    }
}

fn run_init(args: InitArgs) -> anyhow::Result<i32> {
    let written = crate::init::init(&args.run, chrono::Utc::now())?;
    let mut out = std::io::stdout().lock();
    for p in &written {
        writeln!(out, "wrote {}", p.display())?;
    }
    writeln!(
        out,
        "next: fill in {} (see its README.md), then `canary-report validate {}`",
        args.run.join("manifest.json").display(),
        args.run.display()
    )?;
    Ok(exit::OK)
}
