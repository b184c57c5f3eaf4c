//! The bad-input corpus: every directory under `tests/corpus/` (but `_base`) is
//! one case, run through the binary and held to its exact expected outcome.
//!
//! A case is a `case.toml` and, optionally, a `run/` tree of files laid over a
//! copy of the base run (`tests/corpus/_base/`, a small APPROVED run). The
//! TOML can also remove files, edit them (find/replace, prepend, append, cut),
//! generate large ones at test time (never stored in git) and make symbolic
//! links. Then `canary-report build RUN --out OUT [args]` runs with a timeout,
//! and the exit code, stderr and, for a report, summary.json facts are checked.
//! Every case also checks that nothing panicked, that stderr stays short, and
//! that a failed build wrote no report.
//!
//! Cases named in `tests/corpus/KNOWN_FAILING.txt` are reported and skipped
//! (set `CORPUS_RUN_KNOWN_FAILING=1` to run them and see whether they still
//! fail). `CORPUS_CASE=name` runs only the cases whose name contains `name`.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_canary-report");
const DEFAULT_TIMEOUT_S: f64 = 20.0;
/// An error message, even one quoting input, has no business being longer.
const DEFAULT_STDERR_MAX_BYTES: usize = 16 * 1024;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// What the case checks, for the reader.
    #[allow(dead_code)]
    description: String,
    /// The base run copied first: a directory of tests/corpus, or "none" (the
    /// run is exactly the case's `run/`).
    #[serde(default = "base_default")]
    base: String,
    /// Paths under the run removed before anything is laid over it.
    #[serde(default)]
    remove: Vec<String>,
    #[serde(default)]
    edit: Vec<Edit>,
    #[serde(default)]
    generate: Vec<Generate>,
    #[serde(default)]
    symlink: Vec<Symlink>,
    /// Extra arguments after `build RUN --out OUT`; `{case}` is the case's
    /// directory, `{run}` the run directory, `{tmp}` the scratch directory.
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    timeout_s: Option<f64>,
    /// Peak resident memory allowed, in MiB (measured from /proc).
    #[serde(default)]
    max_rss_mb: Option<u64>,

    // --- expected outcome ---
    exit: i32,
    #[serde(default)]
    stderr_contains: Vec<String>,
    #[serde(default)]
    stderr_not_contains: Vec<String>,
    #[serde(default)]
    stdout_contains: Vec<String>,
    #[serde(default)]
    stderr_max_bytes: Option<usize>,
    #[serde(default)]
    summary: Option<SummaryExpect>,
}

fn base_default() -> String {
    "_base".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    file: String,
    #[serde(default)]
    find: Option<String>,
    #[serde(default)]
    replace: Option<String>,
    /// Replace every occurrence (at least one) instead of exactly one.
    #[serde(default)]
    all: bool,
    #[serde(default)]
    prepend: Option<String>,
    #[serde(default)]
    append: Option<String>,
    /// Cut the file right after the last occurrence of this text.
    #[serde(default)]
    cut_after_last: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Generate {
    file: String,
    /// Add to the end of the file instead of replacing it.
    #[serde(default)]
    append: bool,
    parts: Vec<Part>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Part {
    text: String,
    #[serde(default = "one")]
    times: u64,
}

fn one() -> u64 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Symlink {
    /// The link, relative to the run directory.
    link: String,
    /// A target relative to the run directory...
    #[serde(default)]
    target: Option<String>,
    /// ...or a file outside the run directory, made with this content.
    #[serde(default)]
    outside: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SummaryExpect {
    #[serde(default)]
    decision: Option<String>,
    #[serde(default)]
    complete: Option<bool>,
    /// The rules that did not pass, exactly (disabled ones included).
    #[serde(default)]
    failed_rules: Option<Vec<String>>,
    /// Rules that must be among those that did not pass.
    #[serde(default)]
    failed_rules_include: Vec<String>,
    /// counts.total.no_data
    #[serde(default)]
    no_data: Option<u64>,
    #[serde(default)]
    warnings_contain: Vec<String>,
    /// No warning at all.
    #[serde(default)]
    no_warnings: bool,
    #[serde(default)]
    report_contains: Vec<String>,
    #[serde(default)]
    report_not_contains: Vec<String>,
    /// summary.json keys (e.g. `metrics`, `windows`) equal to the base run's.
    #[serde(default)]
    same_as_base: Vec<String>,
    #[serde(default)]
    metric: Vec<MetricExpect>,
    #[serde(default)]
    rule: Vec<RuleExpect>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleExpect {
    rule: String,
    #[serde(default)]
    passed: Option<bool>,
    #[serde(default)]
    detail_contains: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricExpect {
    metric: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    reason_contains: Option<String>,
    #[serde(default)]
    source: Option<String>,
    /// Representative values; NaN stands for "absent" (null).
    #[serde(default)]
    baseline_value: Option<f64>,
    #[serde(default)]
    post_value: Option<f64>,
}

/// What one run of the binary gave.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    peak_rss_kb: u64,
    timed_out: bool,
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs the binary with a timeout, measuring its peak memory.
fn run_binary(args: &[String], scratch: &Path, timeout: Duration) -> Outcome {
    let out_path = scratch.join("stdout.txt");
    let err_path = scratch.join("stderr.txt");
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .env_remove("RUST_BACKTRACE")
        .spawn()
        .expect("the binary starts");
    let pid = child.id();
    let mut peak = 0;
    let mut timed_out = false;
    let status = loop {
        if let Some(kb) = peak_rss_kb(pid) {
            peak = peak.max(kb);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > timeout {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Outcome {
        code: status.code(),
        stdout: read(&out_path),
        stderr: read(&err_path),
        elapsed,
        peak_rss_kb: peak,
        timed_out,
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from).min_depth(1) {
        let entry = entry.unwrap();
        let dest = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            // Replace whatever is there (a directory included: `metrics` as a file).
            if dest.is_dir() {
                std::fs::remove_dir_all(&dest).unwrap();
            }
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

fn remove_path(p: &Path) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(p).map_err(|e| format!("remove {}: {e}", p.display()))?;
    if meta.is_dir() {
        std::fs::remove_dir_all(p).map_err(|e| e.to_string())
    } else {
        std::fs::remove_file(p).map_err(|e| e.to_string())
    }
}

fn apply_edit(run: &Path, e: &Edit) -> Result<(), String> {
    let path = run.join(&e.file);
    let mut bytes = std::fs::read(&path).map_err(|err| format!("edit {}: {err}", e.file))?;
    if let Some(find) = &e.find {
        let replace = e.replace.as_deref().unwrap_or("");
        let text = String::from_utf8(bytes).map_err(|_| format!("edit {}: not UTF-8", e.file))?;
        let n = text.matches(find.as_str()).count();
        if n == 0 || (!e.all && n != 1) {
            return Err(format!(
                "edit {}: `{find}` found {n} times (want {})",
                e.file,
                if e.all {
                    "at least once"
                } else {
                    "exactly once"
                }
            ));
        }
        bytes = text.replace(find.as_str(), replace).into_bytes();
    }
    if let Some(cut) = &e.cut_after_last {
        let at = bytes
            .windows(cut.len())
            .rposition(|w| w == cut.as_bytes())
            .ok_or_else(|| format!("edit {}: `{cut}` not found", e.file))?;
        bytes.truncate(at + cut.len());
    }
    if let Some(p) = &e.prepend {
        let mut with = p.as_bytes().to_vec();
        with.extend_from_slice(&bytes);
        bytes = with;
    }
    if let Some(a) = &e.append {
        bytes.extend_from_slice(a.as_bytes());
    }
    std::fs::write(&path, bytes).map_err(|err| err.to_string())
}

fn generate(run: &Path, g: &Generate) -> Result<(), String> {
    let path = run.join(&g.file);
    std::fs::create_dir_all(path.parent().unwrap()).map_err(|e| e.to_string())?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(g.append)
        .truncate(!g.append)
        .open(&path)
        .map_err(|e| e.to_string())?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    for part in &g.parts {
        // Write large repetitions in chunks of about 1 MiB.
        let per_chunk = ((1 << 20) / part.text.len().max(1)).max(1) as u64;
        let chunk = part.text.repeat(per_chunk.min(part.times) as usize);
        let mut left = part.times;
        while left > 0 {
            let n = per_chunk.min(left);
            w.write_all(&chunk.as_bytes()[..part.text.len() * n as usize])
                .map_err(|e| e.to_string())?;
            left -= n;
        }
    }
    w.flush().map_err(|e| e.to_string())
}

/// Lays out the case's run directory in `scratch/run`.
fn prepare(name: &str, case: &Case, case_dir: &Path, scratch: &Path) -> Result<PathBuf, String> {
    let run = scratch.join("run");
    std::fs::create_dir_all(&run).unwrap();
    if case.base != "none" {
        let base = corpus_dir().join(&case.base);
        if !base.is_dir() {
            return Err(format!("{name}: no base `{}`", case.base));
        }
        copy_tree(&base, &run);
    }
    for r in &case.remove {
        remove_path(&run.join(r))?;
    }
    let overlay = case_dir.join("run");
    if overlay.is_dir() {
        copy_tree(&overlay, &run);
    }
    for e in &case.edit {
        apply_edit(&run, e)?;
    }
    for g in &case.generate {
        generate(&run, g)?;
    }
    for s in &case.symlink {
        let link = run.join(&s.link);
        std::fs::create_dir_all(link.parent().unwrap()).map_err(|e| e.to_string())?;
        let target = match (&s.target, &s.outside) {
            (Some(t), None) => PathBuf::from(t),
            (None, Some(content)) => {
                let outside = scratch.join("outside");
                std::fs::create_dir_all(&outside).unwrap();
                let file = outside.join(Path::new(&s.link).file_name().unwrap());
                std::fs::write(&file, content).unwrap();
                file
            }
            _ => return Err(format!("{name}: a symlink needs `target` or `outside`")),
        };
        std::os::unix::fs::symlink(&target, &link).map_err(|e| e.to_string())?;
    }
    Ok(run)
}

fn metric_row<'a>(summary: &'a Value, metric: &str) -> Result<&'a Value, String> {
    summary["metrics"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["metric"] == metric))
        .ok_or_else(|| format!("summary.json has no metric `{metric}`"))
}

fn check_value(what: &str, got: &Value, want: f64) -> Result<(), String> {
    let ok = if want.is_nan() {
        got.is_null()
    } else {
        got.as_f64()
            .is_some_and(|g| (g - want).abs() <= 1e-9 * want.abs().max(1.0))
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what}: got {got}, want {}",
            if want.is_nan() {
                "null".into()
            } else {
                want.to_string()
            }
        ))
    }
}

/// Facts that hold for every summary.json, whatever the input.
fn check_invariants(s: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    let metrics = s["metrics"].as_array().map_or(0, Vec::len);
    if metrics != 20 {
        errs.push(format!("{metrics} metrics in summary.json, want 20"));
    }
    let total = &s["counts"]["total"];
    let parts: u64 = ["ok", "warning", "critical", "no_data"]
        .iter()
        .map(|k| total[k].as_u64().unwrap_or(0))
        .sum();
    if total["total"].as_u64() != Some(20) || parts != 20 {
        errs.push(format!("counts.total does not add up to 20: {total}"));
    }
    let blockers = s["blockers"].as_array().map_or(0, Vec::len);
    let approved = s["decision"] == "APPROVED_FOR_LIMITED_PROD";
    if approved != (blockers == 0) {
        errs.push(format!(
            "decision {} with {blockers} blocker(s)",
            s["decision"]
        ));
    }
    for m in s["metrics"].as_array().into_iter().flatten() {
        let status = m["status"].as_str().unwrap_or("");
        let reason = &m["verdict"]["no_data_reason"];
        if status == "NO_DATA" && !reason.is_string() {
            errs.push(format!("{} is NO_DATA without a reason", m["metric"]));
        }
        // A judged metric has numbers behind it, and bounds that are numbers.
        if matches!(status, "WARNING" | "CRITICAL") {
            let v = &m["verdict"];
            if v["warning_bound"].is_null() && v["critical_bound"].is_null() {
                errs.push(format!("{} is {status} without a bound", m["metric"]));
            }
        }
    }
    errs
}

fn check_summary(
    want: &SummaryExpect,
    s: &Value,
    report: &str,
    base: Option<&Value>,
) -> Vec<String> {
    let mut errs = check_invariants(s);
    if let Some(d) = &want.decision
        && s["decision"] != d.as_str()
    {
        errs.push(format!("decision {}, want {d}", s["decision"]));
    }
    if let Some(c) = want.complete
        && s["complete"] != c
    {
        errs.push(format!("complete {}, want {c}", s["complete"]));
    }
    if let Some(rules) = &want.failed_rules {
        let got: BTreeSet<String> = s["reasons"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["passed"] == false)
            .filter_map(|r| r["rule"].as_str().map(str::to_owned))
            .collect();
        let want: BTreeSet<String> = rules.iter().cloned().collect();
        if got != want {
            errs.push(format!("failed rules {got:?}, want {want:?}"));
        }
    }
    if let Some(n) = want.no_data
        && s["counts"]["total"]["no_data"] != n
    {
        errs.push(format!(
            "{} NO_DATA metrics, want {n}",
            s["counts"]["total"]["no_data"]
        ));
    }
    let warnings: Vec<&str> = s["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if want.no_warnings && !warnings.is_empty() {
        errs.push(format!("warnings {warnings:?}, want none"));
    }
    for w in &want.warnings_contain {
        if !warnings.iter().any(|x| x.contains(w.as_str())) {
            errs.push(format!("no warning contains `{w}`: {warnings:?}"));
        }
    }
    for r in &want.report_contains {
        if !report.contains(r.as_str()) {
            errs.push(format!("report.md lacks `{r}`"));
        }
    }
    for r in &want.report_not_contains {
        if report.contains(r.as_str()) {
            errs.push(format!("report.md contains `{r}`"));
        }
    }
    for key in &want.same_as_base {
        let base = base.expect("the base summary is built first");
        if s[key.as_str()].is_null() || s[key.as_str()] != base[key.as_str()] {
            errs.push(format!("`{key}` differs from the base run's"));
        }
    }
    for r in &want.failed_rules_include {
        let failed = s["reasons"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|x| x["rule"] == r.as_str() && x["passed"] == false);
        if !failed {
            errs.push(format!("rule {r} passed, want it failed"));
        }
    }
    for r in &want.rule {
        let Some(row) = s["reasons"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["rule"] == r.rule.as_str()))
        else {
            errs.push(format!("no rule `{}` in summary.json", r.rule));
            continue;
        };
        if let Some(p) = r.passed
            && row["passed"] != p
        {
            errs.push(format!(
                "rule {}: passed {}, want {p}",
                r.rule, row["passed"]
            ));
        }
        if let Some(d) = &r.detail_contains {
            let got = row["detail"].as_str().unwrap_or("");
            if !got.contains(d.as_str()) {
                errs.push(format!("rule {}: detail `{got}` lacks `{d}`", r.rule));
            }
        }
    }
    for m in &want.metric {
        let row = match metric_row(s, &m.metric) {
            Ok(r) => r,
            Err(e) => {
                errs.push(e);
                continue;
            }
        };
        let name = &m.metric;
        if let Some(st) = &m.status
            && row["status"] != st.as_str()
        {
            errs.push(format!(
                "{name}: status {}, want {st} (reason {})",
                row["status"], row["verdict"]["no_data_reason"]
            ));
        }
        if let Some(r) = &m.reason_contains {
            let got = row["verdict"]["no_data_reason"].as_str().unwrap_or("");
            if !got.contains(r.as_str()) {
                errs.push(format!("{name}: no_data_reason `{got}` lacks `{r}`"));
            }
        }
        if let Some(src) = &m.source
            && row["source"] != src.as_str()
        {
            errs.push(format!("{name}: source {}, want {src}", row["source"]));
        }
        if let Some(v) = m.baseline_value {
            errs.extend(
                check_value(
                    &format!("{name}.baseline_value"),
                    &row["verdict"]["baseline_value"],
                    v,
                )
                .err(),
            );
        }
        if let Some(v) = m.post_value {
            errs.extend(
                check_value(
                    &format!("{name}.post_value"),
                    &row["verdict"]["post_value"],
                    v,
                )
                .err(),
            );
        }
    }
    errs
}

struct CaseResult {
    name: String,
    errors: Vec<String>,
    elapsed: Duration,
    peak_rss_kb: u64,
}

fn run_case(name: &str, base_summary: Option<&Value>) -> CaseResult {
    let case_dir = corpus_dir().join(name);
    let mut result = CaseResult {
        name: name.to_owned(),
        errors: Vec::new(),
        elapsed: Duration::ZERO,
        peak_rss_kb: 0,
    };
    let text = match std::fs::read_to_string(case_dir.join("case.toml")) {
        Ok(t) => t,
        Err(e) => {
            result.errors.push(format!("case.toml: {e}"));
            return result;
        }
    };
    let case: Case = match toml::from_str(&text) {
        Ok(c) => c,
        Err(e) => {
            result.errors.push(format!("case.toml: {e}"));
            return result;
        }
    };
    let scratch = tempfile::tempdir().unwrap();
    let run = match prepare(name, &case, &case_dir, scratch.path()) {
        Ok(r) => r,
        Err(e) => {
            result.errors.push(format!("setting up: {e}"));
            return result;
        }
    };
    let out = scratch.path().join("out");
    let subst = |a: &str| {
        a.replace("{case}", &case_dir.display().to_string())
            .replace("{run}", &run.display().to_string())
            .replace("{tmp}", &scratch.path().display().to_string())
    };
    let mut args: Vec<String> = vec![
        "build".into(),
        run.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ];
    args.extend(case.args.iter().map(|a| subst(a)));
    let timeout = Duration::from_secs_f64(case.timeout_s.unwrap_or(DEFAULT_TIMEOUT_S));
    let o = run_binary(&args, scratch.path(), timeout);
    if std::env::var_os("CORPUS_VERBOSE").is_some() {
        println!("--- {name}: exit {:?}\n{}{}", o.code, o.stdout, o.stderr);
    }
    result.elapsed = o.elapsed;
    result.peak_rss_kb = o.peak_rss_kb;
    let errs = &mut result.errors;

    if o.timed_out {
        errs.push(format!("did not finish within {timeout:?} (a hang)"));
        return result;
    }
    if o.stderr.contains("panicked") || o.code == Some(101) {
        errs.push(format!("panicked: {}", o.stderr.trim()));
        return result;
    }
    if o.code != Some(case.exit) {
        errs.push(format!(
            "exit code {:?}, want {}; stderr: {}",
            o.code,
            case.exit,
            o.stderr.trim()
        ));
    }
    let max = case.stderr_max_bytes.unwrap_or(DEFAULT_STDERR_MAX_BYTES);
    if o.stderr.len() > max {
        errs.push(format!("stderr is {} bytes, over {max}", o.stderr.len()));
    }
    for s in &case.stderr_contains {
        if !o.stderr.contains(s.as_str()) {
            errs.push(format!("stderr lacks `{s}`: {}", o.stderr.trim()));
        }
    }
    for s in &case.stderr_not_contains {
        if o.stderr.contains(s.as_str()) {
            errs.push(format!("stderr contains `{s}`: {}", o.stderr.trim()));
        }
    }
    for s in &case.stdout_contains {
        if !o.stdout.contains(s.as_str()) {
            errs.push(format!("stdout lacks `{s}`: {}", o.stdout.trim()));
        }
    }
    if let Some(mb) = case.max_rss_mb
        && o.peak_rss_kb > mb * 1024
    {
        errs.push(format!(
            "peak memory {} MiB, over {mb} MiB",
            o.peak_rss_kb / 1024
        ));
    }
    let summary_path = out.join("summary.json");
    if case.exit == 0 {
        if o.code == Some(0) {
            let summary = std::fs::read_to_string(&summary_path)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok());
            let report = std::fs::read_to_string(out.join("report.md")).unwrap_or_default();
            match summary {
                None => errs.push("no readable summary.json".into()),
                Some(s) => {
                    if report.is_empty() {
                        errs.push("no report.md".into());
                    }
                    let want = case.summary.as_ref();
                    let empty = SummaryExpect::default();
                    errs.extend(check_summary(
                        want.unwrap_or(&empty),
                        &s,
                        &report,
                        base_summary,
                    ));
                }
            }
        }
    } else {
        if case.summary.is_some() {
            errs.push("case.toml: `summary` only goes with `exit = 0`".into());
        }
        if summary_path.exists() || out.join("report.md").exists() {
            errs.push("a failed build wrote a report".into());
        }
    }
    result
}

fn known_failing() -> BTreeSet<String> {
    std::fs::read_to_string(corpus_dir().join("KNOWN_FAILING.txt"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

fn case_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('_'))
        .collect();
    names.sort();
    names
}

/// The base run itself: it must build, APPROVED, with every metric judged.
fn build_base() -> Value {
    let scratch = tempfile::tempdir().unwrap();
    let run = scratch.path().join("run");
    copy_tree(&corpus_dir().join("_base"), &run);
    let out = scratch.path().join("out");
    let args: Vec<String> = vec![
        "build".into(),
        run.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ];
    let o = run_binary(&args, scratch.path(), Duration::from_secs(60));
    assert_eq!(o.code, Some(0), "the base run does not build: {}", o.stderr);
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        s["decision"], "APPROVED_FOR_LIMITED_PROD",
        "{:#}",
        s["blockers"]
    );
    assert_eq!(s["counts"]["total"]["ok"], 20, "{:#}", s["counts"]);
    assert!(
        s["warnings"].as_array().unwrap().is_empty(),
        "{:#}",
        s["warnings"]
    );
    assert!(check_invariants(&s).is_empty());
    s
}

#[test]
fn corpus_of_bad_inputs() {
    let started = Instant::now();
    let known = known_failing();
    let all = case_names();
    for k in &known {
        assert!(
            all.contains(k),
            "KNOWN_FAILING.txt names `{k}`, which is not a case"
        );
    }
    assert!(all.len() >= 45, "only {} cases", all.len());
    let filter = std::env::var("CORPUS_CASE").ok();
    let run_known = std::env::var_os("CORPUS_RUN_KNOWN_FAILING").is_some();
    let selected: Vec<&String> = all
        .iter()
        .filter(|n| filter.as_deref().is_none_or(|f| n.contains(f)))
        .collect();
    let (to_run, skipped): (Vec<&String>, Vec<&String>) = selected
        .into_iter()
        .partition(|n| run_known || !known.contains(*n));

    let base = build_base();
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(name) = to_run.get(i) else { break };
                    let r = run_case(name, Some(&base));
                    results.lock().unwrap().push(r);
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.name.cmp(&b.name));

    let mut failed = Vec::new();
    let mut fixed = Vec::new();
    for r in &results {
        let is_known = known.contains(&r.name);
        let verdict = match (r.errors.is_empty(), is_known) {
            (true, false) => "ok",
            (true, true) => {
                fixed.push(r.name.clone());
                "ok (listed in KNOWN_FAILING.txt: remove it)"
            }
            (false, true) => "still failing (known)",
            (false, false) => {
                failed.push(r.name.clone());
                "FAILED"
            }
        };
        println!(
            "{:<44} {:>7.2} s {:>6} MiB  {verdict}",
            r.name,
            r.elapsed.as_secs_f64(),
            r.peak_rss_kb / 1024
        );
        for e in &r.errors {
            println!("    {e}");
        }
    }
    // Written to the real stderr (not captured by the test harness), so that
    // skipped cases show in every run.
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "corpus: {} cases run, {} failed, {} known-failing skipped ({}) in {:.1} s",
        results.len(),
        failed.len(),
        skipped.len(),
        skipped
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        started.elapsed().as_secs_f64()
    );
    if !fixed.is_empty() {
        let _ = writeln!(
            err,
            "corpus: now passing, remove from KNOWN_FAILING.txt: {}",
            fixed.join(", ")
        );
    }
    drop(err);
    assert!(
        failed.is_empty(),
        "corpus cases failed: {failed:?} (details above)"
    );
}
