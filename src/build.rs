//! `build`: a run directory in, the report out. Judging and rendering are
//! pure; [`write_outputs`] is the one place that writes.

use crate::analysis;
use crate::classify;
use crate::error::InputError;
use crate::ingest;
use crate::model::RunData;
use crate::report::{self, Lang, ReportData, summary::ThresholdsUsed};
use crate::rules;
use crate::thresholds::Thresholds;
use anyhow::Context;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Format {
    /// report.md
    Md,
    /// summary.json
    Json,
}

#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Where the outputs go; `RUN/report` when `None`.
    pub out: Option<PathBuf>,
    /// A thresholds TOML; the template's bounds when `None`.
    pub thresholds: Option<PathBuf>,
    pub lang: Lang,
    pub formats: Vec<Format>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            out: None,
            thresholds: None,
            lang: Lang::Th,
            formats: vec![Format::Md, Format::Json],
        }
    }
}

/// What a build produced.
#[derive(Debug)]
pub struct Built {
    pub data: ReportData,
    pub out_dir: PathBuf,
    pub files: Vec<PathBuf>,
}

/// Loads the thresholds in force: the defaults, or a file's overrides with its
/// path and content hash so the report can name them.
pub fn load_thresholds(path: Option<&Path>) -> Result<ThresholdsUsed, InputError> {
    match path {
        None => Ok(ThresholdsUsed {
            source: "built-in defaults (template)".into(),
            sha256: None,
            values: Thresholds::default(),
        }),
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|source| InputError::Io {
                path: p.to_path_buf(),
                source,
            })?;
            let values = Thresholds::from_toml_file(p)?;
            Ok(ThresholdsUsed {
                source: p.display().to_string(),
                sha256: Some(
                    Sha256::digest(&bytes)
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect(),
                ),
                values,
            })
        }
    }
}

/// Analyses, classifies and decides. Pure.
pub fn judge(run: &RunData, thresholds: ThresholdsUsed) -> ReportData {
    let th = &thresholds.values;
    let analysis = analysis::analyze(run, th);
    let verdicts = classify::classify(&analysis, th, run.manifest.max_connections);
    let facts = rules::log_facts(&run.events);
    let decision = rules::decide(&run.manifest, &facts, &verdicts, th);
    report::assemble(run, &analysis, &verdicts, &facts, &decision, thresholds)
}

/// Renders the chosen formats as (file name, contents). Pure.
pub fn render(
    run: &RunData,
    data: &ReportData,
    lang: Lang,
    formats: &[Format],
) -> Result<Vec<(String, String)>, minijinja::Error> {
    let mut out = Vec::new();
    if formats.contains(&Format::Md) {
        let view = report::build_view(run, data, lang);
        out.push(("report.md".to_string(), report::render_markdown(&view)?));
    }
    if formats.contains(&Format::Json) {
        out.push(("summary.json".to_string(), report::render_json(data)));
    }
    Ok(out)
}

/// Writes each output file into `dir`, creating it. The only writer of a build.
pub fn write_outputs(dir: &Path, files: &[(String, String)]) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create output directory {}", dir.display()))?;
    files
        .iter()
        .map(|(name, contents)| {
            let path = dir.join(name);
            // Write beside, then rename: a reader never sees half a report.
            let tmp = dir.join(format!(".{name}.tmp"));
            std::fs::write(&tmp, contents)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            std::fs::rename(&tmp, &path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(path)
        })
        .collect()
}

/// The whole `build`: read, judge, render, write.
pub fn build(run_dir: &Path, opts: &BuildOptions) -> anyhow::Result<Built> {
    let thresholds = load_thresholds(opts.thresholds.as_deref())?;
    let run = ingest::read_run(run_dir)?;
    let data = judge(&run, thresholds);
    let files = render(&run, &data, opts.lang, &opts.formats).context("rendering the report")?;
    let out_dir = opts.out.clone().unwrap_or_else(|| run_dir.join("report"));
    let files = write_outputs(&out_dir, &files)?;
    Ok(Built {
        data,
        out_dir,
        files,
    })
}
