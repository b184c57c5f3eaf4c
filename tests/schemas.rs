//! The JSON Schemas of `schemas/` and the samples of `samples/`.
//!
//! - The checked-in schemas equal those generated from the types. After a
//!   change to the types, rewrite them with
//!   `UPDATE_SCHEMAS=1 cargo test --test schemas`.
//! - Every sample manifest and event line is valid against them.
//! - `cargo run --example gen_samples -- samples` reproduces `samples/` byte for byte.

use canary_report::model::{EventRecord, Manifest};
use canary_report::report::summary::ReportData;
use canary_report::thresholds::Thresholds;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "../examples/gen_samples.rs"]
mod gen_samples;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Each schema's file name and its text as generated from the types now.
fn generated_schemas() -> Vec<(&'static str, String)> {
    let pretty = |schema: schemars::Schema| {
        let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
        text.push('\n');
        text
    };
    vec![
        (
            "manifest.schema.json",
            pretty(schemars::schema_for!(Manifest)),
        ),
        (
            "event.schema.json",
            pretty(schemars::schema_for!(EventRecord)),
        ),
        (
            "thresholds.schema.json",
            pretty(schemars::schema_for!(Thresholds)),
        ),
        (
            "summary.schema.json",
            pretty(schemars::schema_for!(ReportData)),
        ),
    ]
}

fn load_schema(name: &str) -> jsonschema::Validator {
    let path = root().join("schemas").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
    jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("{}: not a valid schema: {e}", path.display()))
}

/// `file:line: /instance/path: message` for every error of one instance.
fn errors(validator: &jsonschema::Validator, instance: &Value, at: &str) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{at}: {}: {e}", e.instance_path()))
        .collect()
}

fn sample_dirs() -> Vec<PathBuf> {
    let samples = root().join("samples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&samples)
        .unwrap_or_else(|e| panic!("{}: {e}", samples.display()))
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    dirs.sort();
    assert!(
        !dirs.is_empty(),
        "no run directory under {}",
        samples.display()
    );
    dirs
}

#[test]
fn checked_in_schemas_match_the_types() {
    let dir = root().join("schemas");
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (name, text) in generated_schemas() {
        let path = dir.join(name);
        if update {
            std::fs::create_dir_all(&dir).expect("schemas/ can be created");
            std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(current) if current == text => {}
            Ok(_) => stale.push(format!("{} differs from the types", path.display())),
            Err(e) => stale.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(
        stale.is_empty(),
        "{}\nrun `UPDATE_SCHEMAS=1 cargo test --test schemas` and commit schemas/",
        stale.join("\n")
    );
}

#[test]
fn samples_are_valid_against_the_schemas() {
    let manifest_schema = load_schema("manifest.schema.json");
    let event_schema = load_schema("event.schema.json");
    let mut problems = Vec::new();
    for dir in sample_dirs() {
        let path = dir.join("manifest.json");
        let at = path.display().to_string();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{at}: {e}"));
        match serde_json::from_str::<Value>(&text) {
            Ok(v) => problems.extend(errors(&manifest_schema, &v, &at)),
            Err(e) => problems.push(format!("{at}: not JSON: {e}")),
        }
        if let Err(e) = serde_json::from_str::<Manifest>(&text) {
            problems.push(format!("{at}: does not deserialize: {e}"));
        }

        let path = dir.join("events.jsonl");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut lines = 0;
        for (i, line) in text.lines().enumerate() {
            let at = format!("{}:{}", path.display(), i + 1);
            lines += 1;
            match serde_json::from_str::<Value>(line) {
                Ok(v) => problems.extend(errors(&event_schema, &v, &at)),
                Err(e) => problems.push(format!("{at}: not JSON: {e}")),
            }
            if let Err(e) = serde_json::from_str::<EventRecord>(line) {
                problems.push(format!("{at}: does not deserialize: {e}"));
            }
        }
        assert!(lines > 0, "{}: no events", path.display());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn default_thresholds_are_valid_against_their_schema() {
    let schema = load_schema("thresholds.schema.json");
    let value = serde_json::to_value(Thresholds::default()).expect("thresholds serialize");
    let problems = errors(&schema, &value, "Thresholds::default()");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every file under `dir`, relative, `/`-separated, leaving out `report/`
/// directories (build outputs, not generator outputs).
fn files_under(dir: &Path) -> BTreeSet<String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("readable directory entry").path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "report") {
                    continue;
                }
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).expect("under base");
                let rel: Vec<_> = rel.iter().map(|c| c.to_string_lossy()).collect();
                out.insert(rel.join("/"));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn generator_reproduces_the_samples() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let runs = gen_samples::write_samples(tmp.path()).expect("the generator writes");
    let samples = root().join("samples");
    let mut problems = Vec::new();
    for run in runs {
        let fresh = tmp.path().join(&run.name);
        let kept = samples.join(&run.name);
        let (fresh_files, kept_files) = (files_under(&fresh), files_under(&kept));
        for f in fresh_files.symmetric_difference(&kept_files) {
            let side = if fresh_files.contains(f) {
                "generated but not in samples/"
            } else {
                "in samples/ but not generated"
            };
            problems.push(format!("{}/{f}: {side}", run.name));
        }
        let mut bytes = 0;
        for f in fresh_files.intersection(&kept_files) {
            let a = std::fs::read(fresh.join(f)).expect("generated file readable");
            let b = std::fs::read(kept.join(f)).expect("sample file readable");
            bytes += a.len();
            if a != b {
                let line = a
                    .split(|&c| c == b'\n')
                    .zip(b.split(|&c| c == b'\n'))
                    .position(|(x, y)| x != y)
                    .map_or(0, |i| i + 1);
                problems.push(format!(
                    "samples/{}/{f}: differs from the generator's output (first at line {line})",
                    run.name
                ));
            }
        }
        assert!(
            bytes < 6_000_000,
            "{}: {bytes} bytes, keep a sample under 6 MB",
            run.name
        );
    }
    assert!(
        problems.is_empty(),
        "{}\nregenerate with `cargo run --example gen_samples -- samples`",
        problems.join("\n")
    );
}

/// Each sample's summary.json, as `build` writes it, is valid against
/// summary.schema.json, and reads back as the same data.
#[test]
fn summaries_are_valid_against_their_schema() {
    let schema = load_schema("summary.schema.json");
    let mut problems = Vec::new();
    for dir in sample_dirs() {
        let out = tempfile::tempdir().expect("a temporary directory");
        let built = std::process::Command::new(env!("CARGO_BIN_EXE_canary-report"))
            .args(["build", "--quiet", "--format", "json", "--out"])
            .arg(out.path())
            .arg(&dir)
            .output()
            .expect("canary-report runs");
        assert!(
            built.status.code().is_some_and(|c| c == 0 || c == 3),
            "{}: {}",
            dir.display(),
            String::from_utf8_lossy(&built.stderr)
        );
        let path = out.path().join("summary.json");
        let text = std::fs::read_to_string(&path).expect("summary.json written");
        let value: Value = serde_json::from_str(&text).expect("summary.json is JSON");
        problems.extend(errors(
            &schema,
            &value,
            &dir.join("summary.json").display().to_string(),
        ));
        if let Err(e) = serde_json::from_str::<ReportData>(&text) {
            problems.push(format!("{}: does not deserialize: {e}", dir.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
