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

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// `index.md`.
pub fn render_index_md(root: &Path, outcomes: &[RunOutcome]) -> String {
    let mut o = String::new();
    let ok = outcomes.iter().filter(|r| r.result.is_ok()).count();
    let _ = writeln!(
        o,
        "# Canary reports: {}\n",
        md_cell(&root.display().to_string())
    );
    let _ = writeln!(
        o,
        "{}: {} built, {} failed.\n",
        counted(outcomes.len(), "run"),
        ok,
        outcomes.len() - ok
    );
    let _ = writeln!(
        o,
        "| Run | Run ID | Decision | Rules passed | OK | WARNING | CRITICAL | NO_DATA | Report |\n\
         |-----|--------|----------|--------------|----|---------|----------|---------|--------|"
    );
    for r in outcomes {
        let rel = md_cell(&link_path(&r.rel));
        match &r.result {
            Ok(b) => {
                let d = &b.data;
                let c = &d.counts.total;
                let link = main_file(b)
                    .map(|f| format!("[{}]({})", link_path(f), link_path(f)))
                    .unwrap_or_default();
                let _ = writeln!(
                    o,
                    "| {rel} | {} | {} {} | {}/{} | {} | {} | {} | {} | {link} |",
                    md_cell(&d.run_id),
                    if d.approved() { "✅" } else { "⛔" },
                    d.decision.key(),
                    d.reasons.iter().filter(|x| x.passed).count(),
                    d.reasons.len(),
                    c.ok,
                    c.warning,
                    c.critical,
                    c.no_data
                );
            }
            Err(e) => {
                let _ = writeln!(
                    o,
                    "| {rel} | - | ❌ {} | - | - | - | - | - | - |",
                    if e.bad_input { "BAD INPUT" } else { "ERROR" }
                );
            }
        }
    }
    let errors: Vec<&RunOutcome> = outcomes.iter().filter(|r| r.result.is_err()).collect();
    if !errors.is_empty() {
        let _ = writeln!(o, "\n## Errors\n");
        for r in errors {
            if let Err(e) = &r.result {
                let _ = writeln!(
                    o,
                    "- **{}**: {}",
                    md_cell(&link_path(&r.rel)),
                    md_cell(&e.message)
                );
            }
        }
    }
    o
}

fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
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

/// `index.html`: one self-contained page, no scripts, no external resources.
pub fn render_index_html(root: &Path, outcomes: &[RunOutcome]) -> String {
    let mut o = String::new();
    let title = format!("Canary reports: {}", root.display());
    let ok = outcomes.iter().filter(|r| r.result.is_ok()).count();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n\
         body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}\n\
         table{{border-collapse:collapse}}\n\
         th,td{{border:1px solid #ccc;padding:.35rem .6rem;text-align:left}}\n\
         th{{background:#f3f3f3}}\n\
         td.num{{text-align:right}}\n\
         .approved{{color:#106b21;font-weight:600}}\n\
         .stop{{color:#a4000f;font-weight:600}}\n\
         .error{{color:#a4000f}}\n\
         </style>\n</head>\n<body>\n<h1>{}</h1>\n<p>{}: {} built, {} failed.</p>\n",
        html_escape(&title),
        html_escape(&title),
        counted(outcomes.len(), "run"),
        ok,
        outcomes.len() - ok
    );
    o.push_str(
        "<table>\n<thead><tr><th>Run</th><th>Run ID</th><th>Decision</th><th>Rules passed</th>\
         <th>OK</th><th>WARNING</th><th>CRITICAL</th><th>NO_DATA</th><th>Report</th></tr></thead>\n<tbody>\n",
    );
    for r in outcomes {
        let rel = html_escape(&link_path(&r.rel));
        match &r.result {
            Ok(b) => {
                let d = &b.data;
                let c = &d.counts.total;
                let link = main_file(b)
                    .map(|f| {
                        let p = link_path(f);
                        format!(
                            "<a href=\"{}\">{}</a>",
                            html_escape(&url_path(&p)),
                            html_escape(&p)
                        )
                    })
                    .unwrap_or_default();
                let _ = writeln!(
                    o,
                    "<tr><td>{rel}</td><td>{}</td><td class=\"{}\">{}</td><td class=\"num\">{}/{}</td>\
                     <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                     <td class=\"num\">{}</td><td>{link}</td></tr>",
                    html_escape(&d.run_id),
                    if d.decision == Verdict::ApprovedForLimitedProd {
                        "approved"
                    } else {
                        "stop"
                    },
                    d.decision.key(),
                    d.reasons.iter().filter(|x| x.passed).count(),
                    d.reasons.len(),
                    c.ok,
                    c.warning,
                    c.critical,
                    c.no_data
                );
            }
            Err(e) => {
                let _ = writeln!(
                    o,
                    "<tr><td>{rel}</td><td>-</td><td class=\"error\">{}</td><td colspan=\"6\" class=\"error\">{}</td></tr>",
                    if e.bad_input { "BAD INPUT" } else { "ERROR" },
                    html_escape(&e.message)
                );
            }
        }
    }
    o.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    o
}
