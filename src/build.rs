//! `build`: a run directory in, the report out. Judging and rendering are
//! pure; [`write_outputs`] is the one place that writes.

use crate::error::InputError;
use crate::ingest;
use crate::judge::Judgement;
use crate::model::RunData;
use crate::report::{self, Lang, ReportData, summary::ThresholdsUsed};
use crate::thresholds::Thresholds;
use anyhow::Context;
use std::path::{Component, Path, PathBuf};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Format {
    /// report.md, with its charts in charts/
    Md,
    /// report.html: one self-contained page, charts inline (and in charts/)
    Html,
    /// summary.json
    Json,
}

impl Format {
    /// Every format: the default.
    pub const ALL: [Format; 3] = [Format::Md, Format::Html, Format::Json];
}

#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Where the outputs go; `RUN/report` when `None`.
    pub out: Option<PathBuf>,
    /// A thresholds TOML; the template's bounds when `None`.
    pub thresholds: Option<PathBuf>,
    pub lang: Lang,
    pub formats: Vec<Format>,
    /// A metric mapping TOML used instead of `RUN/mapping.toml`; either
    /// extends the built-in mapping.
    pub mapping: Option<PathBuf>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            out: None,
            thresholds: None,
            lang: Lang::Th,
            formats: Format::ALL.to_vec(),
            mapping: None,
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
            // One read: the hash describes exactly the bytes parsed.
            let bytes = std::fs::read(p).map_err(|source| InputError::Io {
                path: p.to_path_buf(),
                source,
            })?;
            let values = Thresholds::from_toml_bytes(p, &bytes)?;
            Ok(ThresholdsUsed {
                source: p.display().to_string(),
                sha256: Some(crate::ingest::digest::sha256_hex(&bytes)),
                values,
            })
        }
    }
}

/// A judged run: the judgement (whose timelines the charts draw) and the
/// report's data gathered from it.
#[derive(Debug, Clone)]
pub struct Judged {
    pub judgement: Judgement,
    pub data: ReportData,
}

/// Judges the run, then gathers the report's data. Pure.
pub fn judge(run: &RunData, thresholds: ThresholdsUsed) -> Judged {
    let judgement = crate::judge::judge(run, &thresholds.values);
    let data = report::assemble(run, &judgement, thresholds);
    Judged { judgement, data }
}

/// Renders the chosen formats as (path relative to the output directory,
/// contents): `charts/*.svg` first when Markdown or HTML is asked for, then
/// `report.md`, `report.html`, `summary.json`. Pure.
pub fn render(
    run: &RunData,
    judged: &Judged,
    lang: Lang,
    formats: &[Format],
) -> Result<Vec<(String, String)>, minijinja::Error> {
    let data = &judged.data;
    let (md, html) = (
        formats.contains(&Format::Md),
        formats.contains(&Format::Html),
    );
    let charts = if md || html {
        report::charts::build_charts(
            run,
            &judged.judgement.analysis,
            data,
            &data.thresholds.values,
            report::view::display_offset_s(&run.manifest),
        )
    } else {
        Vec::new()
    };
    let refs: Vec<report::view::ChartRef> = charts.iter().map(report::view::chart_ref).collect();
    let mut out: Vec<(String, String)> = charts
        .iter()
        .map(|c| (c.file.clone(), c.svg.clone()))
        .collect();
    if md {
        let mut view = report::build_view(run, data, lang);
        view.charts = refs.clone();
        out.push(("report.md".to_string(), report::render_markdown(&view)?));
    }
    if html {
        let mut view = report::build_view_for(run, data, lang, report::Markup::Html);
        view.charts = refs;
        out.push((
            "report.html".to_string(),
            report::render_html(&view, &charts)?,
        ));
    }
    if formats.contains(&Format::Json) {
        out.push(("summary.json".to_string(), report::render_json(data)));
    }
    Ok(out)
}

/// Writes each output file under `dir`, creating it and any subdirectory a
/// name holds (`charts/x.svg`). Names must be relative paths that stay inside
/// `dir`. The only writer of a build.
pub fn write_outputs(dir: &Path, files: &[(String, String)]) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create output directory {}", dir.display()))?;
    files
        .iter()
        .map(|(name, contents)| {
            let rel = Path::new(name);
            let file_name = rel
                .file_name()
                .and_then(|f| f.to_str())
                .filter(|_| rel.components().all(|c| matches!(c, Component::Normal(_))))
                .with_context(|| format!("output name {name:?} is not a relative file path"))?;
            let path = dir.join(rel);
            let parent = path.parent().unwrap_or(dir);
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create output directory {}", parent.display()))?;
            // Write beside, then rename: a reader never sees half a file.
            let tmp = parent.join(format!(".{file_name}.tmp"));
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
    let run = ingest::read_run_with(run_dir, opts.mapping.as_deref())?;
    let judged = judge(&run, thresholds);
    let files = render(&run, &judged, opts.lang, &opts.formats).context("rendering the report")?;
    let out_dir = opts.out.clone().unwrap_or_else(|| run_dir.join("report"));
    let files = write_outputs(&out_dir, &files)?;
    Ok(Built {
        data: judged.data,
        out_dir,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_makes_subdirectories_and_stays_inside_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            ("charts/a.svg".to_string(), "<svg/>".to_string()),
            ("report.md".to_string(), "# r".to_string()),
        ];
        let written = write_outputs(dir.path(), &files).unwrap();
        assert_eq!(written[0], dir.path().join("charts/a.svg"));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("charts/a.svg")).unwrap(),
            "<svg/>"
        );
        assert!(!dir.path().join("charts/.a.svg.tmp").exists());
        for bad in ["../x.md", "/etc/x", "charts/../../x", ""] {
            let files = vec![(bad.to_string(), String::new())];
            assert!(write_outputs(dir.path(), &files).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_format_is_the_default() {
        assert_eq!(BuildOptions::default().formats, Format::ALL.to_vec());
    }
}
