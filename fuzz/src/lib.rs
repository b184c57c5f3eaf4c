//! What the fuzz targets share: the checks that a parser's `Ok` is sane and
//! its `Err` names the file, the mapping the metrics parsers read through,
//! and the archive format that `build_run` unpacks into a run directory.

use canary_report::error::InputError;
use canary_report::ingest::{FileSamples, Mapping, check_unix_seconds, load_mapping};
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

/// The path the in-memory parsers are given: errors must name it.
pub const INPUT: &str = "run/metrics/fuzz-input";

/// A parser's error must say which file failed, in a message of its own.
pub fn check_error(e: &InputError, path: &Path) {
    let text = e.to_string();
    let shown = path.display().to_string();
    assert!(
        text.starts_with(&shown),
        "the error does not start with the file `{shown}`: {text}"
    );
    assert!(
        text.len() > shown.len() + 2,
        "the error says nothing past the file: {text}"
    );
}

/// Samples as every parser promises them: plausible unix seconds (2000 to
/// 2100, not milliseconds) and finite values.
pub fn check_samples(samples: &FileSamples) {
    for (metric, series) in &samples.series {
        for s in series {
            assert!(
                check_unix_seconds(s.t).is_ok(),
                "{metric:?}: implausible time {} escaped the parser",
                s.t
            );
            assert!(
                s.v.is_finite(),
                "{metric:?}: a non-finite value {} escaped the parser",
                s.v
            );
        }
    }
    for metric in &samples.in_time_order {
        let series = &samples.series[metric];
        assert!(
            series.is_sorted_by(|a, b| a.t <= b.t),
            "{metric:?} said to be in time order, and is not"
        );
    }
}

/// Number of samples over every series.
pub fn sample_count(samples: &FileSamples) -> u64 {
    samples.series.values().map(|s| s.len() as u64).sum()
}

/// The repository's root (the fuzz crate lives in `fuzz/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("fuzz/ has a parent")
        .to_path_buf()
}

/// The inputs fixture's mapping (tests/fixtures/inputs/mapping.toml): the
/// built-in default plus a `[sysbench]` start, a `[grafana]` time zone and
/// rules for Grafana column names.
pub fn fixture_mapping() -> &'static Mapping {
    static MAPPING: OnceLock<Mapping> = OnceLock::new();
    MAPPING.get_or_init(|| {
        let file = repo_root().join("tests/fixtures/inputs/mapping.toml");
        load_mapping(&repo_root(), Some(&file)).expect("the fixture mapping loads")
    })
}

/// A scratch directory kept for the whole fuzzing process.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("canary-fuzz-")
            .tempdir()
            .expect("a temporary directory")
    })
    .path()
}

/// The files of a run directory packed in one input, as `head` prints
/// several files: each starts with a line `==> NAME <==`, and the bytes up to
/// the next such line are its contents. Bytes before the first header are
/// ignored. Names are relative paths of plain parts (`metrics/app.csv`);
/// any other name is skipped, so that nothing is written outside the run.
/// Later files of the same name replace earlier ones.
pub fn unpack(data: &[u8]) -> Vec<(PathBuf, &[u8])> {
    const OPEN: &[u8] = b"==> ";
    const CLOSE: &[u8] = b" <==";
    let mut files: Vec<(PathBuf, &[u8])> = Vec::new();
    let mut current: Option<(PathBuf, usize)> = None;
    let mut pos = 0;
    let mut finish = |current: Option<(PathBuf, usize)>, end: usize| {
        if let Some((name, start)) = current {
            let contents = &data[start..end.max(start)];
            files.retain(|(n, _)| *n != name);
            files.push((name, contents));
        }
    };
    while pos <= data.len() {
        let end = data[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |i| pos + i);
        let line = &data[pos..end];
        if let Some(name) = line
            .strip_prefix(OPEN)
            .and_then(|l| l.strip_suffix(CLOSE))
            .and_then(safe_name)
        {
            finish(current.take(), pos);
            current = Some((name, (end + 1).min(data.len())));
        }
        pos = end + 1;
    }
    finish(current, data.len());
    files
}

/// A name `unpack` writes: up to three plain parts of `[A-Za-z0-9._-]`, none
/// of them `.` or `..`.
fn safe_name(name: &[u8]) -> Option<PathBuf> {
    let text = std::str::from_utf8(name).ok()?;
    let path = PathBuf::from(text);
    let parts = path.components().count();
    let plain = path.components().all(|c| matches!(c, Component::Normal(_)));
    let chars = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'));
    (plain && chars && (1..=3).contains(&parts) && !text.ends_with('/')).then_some(path)
}

/// The facts of a `summary.json` that hold for every report (as the corpus
/// test checks them): twenty metrics whose counts add up, NO_DATA always with
/// a reason, a judged metric with a bound, APPROVED exactly when nothing
/// blocks, and no number that JSON could not carry (serde_json writes NaN
/// and infinities as `null`, so a statistic that is `null` where the
/// metric has data is one).
pub fn check_summary(json: &str) {
    let s: serde_json::Value = serde_json::from_str(json).expect("summary.json is JSON");
    let metrics = s["metrics"].as_array().expect("summary.json has metrics");
    assert_eq!(metrics.len(), 20, "twenty metrics");
    let total = &s["counts"]["total"];
    let parts: u64 = ["ok", "warning", "critical", "no_data"]
        .iter()
        .map(|k| total[k].as_u64().expect("a count"))
        .sum();
    assert_eq!(total["total"].as_u64(), Some(20), "{total}");
    assert_eq!(parts, 20, "counts add up: {total}");
    let blockers = s["blockers"].as_array().map_or(0, Vec::len);
    let approved = s["decision"] == "APPROVED_FOR_LIMITED_PROD";
    assert_eq!(
        approved,
        blockers == 0,
        "decision {} with {blockers} blocker(s)",
        s["decision"]
    );
    for m in metrics {
        let status = m["status"].as_str().expect("a status");
        let v = &m["verdict"];
        if status == "NO_DATA" {
            assert!(
                v["no_data_reason"].is_string(),
                "{} NO_DATA without a reason",
                m["metric"]
            );
        }
        if matches!(status, "WARNING" | "CRITICAL") {
            assert!(
                !(v["warning_bound"].is_null() && v["critical_bound"].is_null()),
                "{} is {status} without a bound",
                m["metric"]
            );
        }
        for window in ["baseline", "during", "post"] {
            let w = &m[window];
            if w.is_object() && w["count"].as_u64().is_some_and(|n| n > 0) {
                // Not `sum`: values near f64::MAX can add up beyond it.
                for stat in ["mean", "min", "max", "p50", "p95", "p99"] {
                    assert!(
                        w[stat].is_number(),
                        "{} {window} {stat} is not a number ({}) with {} samples",
                        m["metric"],
                        w[stat],
                        w["count"]
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_head_output() {
        let data =
            b"junk\n==> manifest.json <==\n{}\n\n==> metrics/a.csv <==\nx\n==> ../evil <==\ny";
        let files = unpack(data);
        let names: Vec<_> = files.iter().map(|(n, _)| n.display().to_string()).collect();
        assert_eq!(names, ["manifest.json", "metrics/a.csv"]);
        assert_eq!(files[0].1, b"{}\n\n");
        assert_eq!(files[1].1, b"x\n==> ../evil <==\ny");
    }
}
