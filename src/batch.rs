//! `build --all RUNS_DIR`: every run directory under a tree, built in
//! parallel, with an index of the results.
//!
//! A run directory is a directory holding `manifest.json`; `report/`
//! directories (earlier outputs) and the index's own output directory are
//! skipped, and the walk does not descend into a run. Each run's report goes
//! to `OUT/<path of the run relative to RUNS_DIR>/`. A run that fails to build
//! does not stop the others: its error is kept and listed at the end and in
//! the index.

use crate::build::{self, BuildOptions};
use crate::error::InputError;
use crate::judge::rules::Verdict;
use crate::report::ReportData;
use crate::report::view::counted;
use anyhow::Context;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Default name of the output directory inside RUNS_DIR.
pub const DEFAULT_OUT: &str = "reports-index";

/// How one run went.
#[derive(Debug)]
pub struct RunOutcome {
    /// The run directory relative to RUNS_DIR (`.` for RUNS_DIR itself).
    pub rel: PathBuf,
    pub result: Result<Built, RunError>,
}

/// A successful build: the report's data and the files written, relative to OUT.
#[derive(Debug)]
pub struct Built {
    pub data: ReportData,
    pub files: Vec<PathBuf>,
}

#[derive(Debug)]
pub struct RunError {
    pub message: String,
    /// The run's input is at fault (exit code 2), not the tool.
    pub bad_input: bool,
}

/// Every run directory under `root`, sorted. `skip` (the output directory)
/// is not walked.
pub fn find_runs(root: &Path, skip: Option<&Path>) -> anyhow::Result<Vec<PathBuf>> {
    let skip = skip.and_then(|s| std::fs::canonicalize(s).ok());
    let mut runs = Vec::new();
    let mut walk = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walk.next() {
        let entry = entry.with_context(|| format!("cannot walk {}", root.display()))?;
        if !entry.file_type().is_dir() {
            continue;
        }
        let path = entry.path();
        if entry.depth() > 0 && entry.file_name() == "report" {
            walk.skip_current_dir();
            continue;
        }
        if let Some(s) = &skip
            && std::fs::canonicalize(path).ok().as_ref() == Some(s)
        {
            walk.skip_current_dir();
            continue;
        }
        if path.join("manifest.json").is_file() {
            runs.push(path.to_path_buf());
            // A run holds no runs (metrics/ is data).
            walk.skip_current_dir();
        }
    }
    Ok(runs)
}

/// Builds every run with `workers` threads, each run into `out/<rel>/`.
/// The outcomes come back in the order of `runs`.
pub fn build_all(
    root: &Path,
    runs: &[PathBuf],
    out: &Path,
    opts: &BuildOptions,
    workers: usize,
) -> Vec<RunOutcome> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<RunOutcome>>> =
        Mutex::new((0..runs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1).min(runs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(run) = runs.get(i) else { break };
                    let outcome = build_one(root, run, out, opts);
                    results.lock().expect("no worker panics holding the lock")[i] = Some(outcome);
                }
            });
        }
    });
    results
        .into_inner()
        .expect("every worker has finished")
        .into_iter()
        .map(|o| o.expect("every run was built"))
        .collect()
}

fn relative(root: &Path, run: &Path) -> PathBuf {
    match run.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rel) => rel.to_path_buf(),
        Err(_) => run.to_path_buf(),
    }
}

fn build_one(root: &Path, run: &Path, out: &Path, opts: &BuildOptions) -> RunOutcome {
    let rel = relative(root, run);
    let dir = out.join(&rel);
    let opts = BuildOptions {
        out: Some(dir),
        ..opts.clone()
    };
    // A panic in one run must not take the batch down.
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| build::build(run, &opts)));
    let result = match result {
        Ok(Ok(built)) => Ok(Built {
            files: built
                .files
                .iter()
                .map(|f| f.strip_prefix(out).unwrap_or(f).to_path_buf())
                .collect(),
            data: built.data,
        }),
        Ok(Err(e)) => Err(RunError {
            message: format!("{e:#}"),
            bad_input: e.chain().any(|c| c.downcast_ref::<InputError>().is_some()),
        }),
        Err(panic) => Err(RunError {
            message: format!(
                "internal error: {}",
                panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("panic")
            ),
            bad_input: false,
        }),
    };
    RunOutcome { rel, result }
}

fn link_path(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The main file of a built run to link to: report.html, report.md or summary.json.
fn main_file(b: &Built) -> Option<&PathBuf> {
    ["report.html", "report.md", "summary.json"]
        .iter()
        .find_map(|name| b.files.iter().find(|f| f.ends_with(name)))
}

/// One row of the index.
#[derive(Debug, serde::Serialize)]
struct IndexRow {
    rel: String,
    run_id: String,
    decision: &'static str,
    approved: bool,
    rules_passed: usize,
    rules_total: usize,
    ok: usize,
    warning: usize,
    critical: usize,
    no_data: usize,
    /// The run's main file, relative to the index, and as a URL path.
    link: Option<String>,
    href: Option<String>,
    error: Option<IndexError>,
}

#[derive(Debug, serde::Serialize)]
struct IndexError {
    kind: &'static str,
    message: String,
}

/// What the index templates show.
#[derive(Debug, serde::Serialize)]
struct IndexView {
    title: String,
    summary: String,
    rows: Vec<IndexRow>,
}

fn index_view(root: &Path, outcomes: &[RunOutcome]) -> IndexView {
    let ok = outcomes.iter().filter(|r| r.result.is_ok()).count();
    let rows = outcomes
        .iter()
        .map(|r| {
            let rel = link_path(&r.rel);
            match &r.result {
                Ok(b) => {
                    let d = &b.data;
                    let c = &d.counts.total;
                    let link = main_file(b).map(|f| link_path(f));
                    IndexRow {
                        rel,
                        run_id: d.run_id.clone(),
                        decision: d.decision.key(),
                        approved: d.decision == Verdict::ApprovedForLimitedProd,
                        rules_passed: d.reasons.iter().filter(|x| x.passed).count(),
                        rules_total: d.reasons.len(),
                        ok: c.ok,
                        warning: c.warning,
                        critical: c.critical,
                        no_data: c.no_data,
                        href: link.as_deref().map(url_path),
                        link,
                        error: None,
                    }
                }
                Err(e) => IndexRow {
                    rel,
                    run_id: String::new(),
                    decision: "",
                    approved: false,
                    rules_passed: 0,
                    rules_total: 0,
                    ok: 0,
                    warning: 0,
                    critical: 0,
                    no_data: 0,
                    link: None,
                    href: None,
                    error: Some(IndexError {
                        kind: if e.bad_input { "BAD INPUT" } else { "ERROR" },
                        // One line: it stands in a table row and a list item.
                        message: e.message.replace(['\n', '\r'], " "),
                    }),
                },
            }
        })
        .collect();
    IndexView {
        title: root.display().to_string(),
        summary: format!(
            "{}: {} built, {} failed.",
            counted(outcomes.len(), "run"),
            ok,
            outcomes.len() - ok
        ),
        rows,
    }
}

/// Renders `template` with the index's view (for Markdown, table cells made
/// safe as the report's are).
fn render_index(
    template: &str,
    root: &Path,
    outcomes: &[RunOutcome],
) -> Result<String, minijinja::Error> {
    let view = index_view(root, outcomes);
    let env = crate::report::environment();
    let mut json = serde_json::to_value(&view).map_err(|e| {
        minijinja::Error::new(minijinja::ErrorKind::BadSerialization, e.to_string())
    })?;
    if template.ends_with(".md") {
        json = crate::report::escape_cells(json);
    }
    let errors: Vec<serde_json::Value> = json["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| !r["error"].is_null())
        .cloned()
        .collect();
    let context = minijinja::context! {
        errors => minijinja::Value::from(minijinja::value::Serde(&errors)),
        ..minijinja::Value::from(minijinja::value::Serde(&json))
    };
    env.get_template(template)?.render(context)
}

/// `index.md`. Table cells are made safe as the report's are.
pub fn render_index_md(root: &Path, outcomes: &[RunOutcome]) -> Result<String, minijinja::Error> {
    render_index("index.md", root, outcomes)
}

/// `index.html`: one self-contained page, no scripts, no external resources;
/// every value escaped by the template environment.
pub fn render_index_html(root: &Path, outcomes: &[RunOutcome]) -> Result<String, minijinja::Error> {
    render_index("index.html", root, outcomes)
}

/// Percent-encodes what a relative URL path cannot hold as is.
fn url_path(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            o.push(b as char);
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}
