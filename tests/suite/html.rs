//! `report.html` and the charts: what `--format` writes, that every chart is
//! a small well-formed SVG with a title and a text alternative, linked from
//! report.md and inlined in report.html, that input text is escaped, and that
//! the charts stay small however many samples come in.

use super::cli::canary;
use canary_report::build::{self, Judged};
use canary_report::model::{InputMetric, MetricId, RawLatency, RunData, Sample};
use canary_report::report::charts::{Chart, build_charts};
use canary_report::report::view::display_offset_s;
use std::path::{Path, PathBuf};

const MAX_CHART: usize = 300 * 1024;

fn build_into(run: &Path, out: &Path, extra: &[&str]) {
    canary()
        .arg("build")
        .arg(run)
        .arg("--quiet")
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert()
        .success();
}

/// Files under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    v.sort();
    v
}

/// Parses an SVG and checks the accessible wrapper; returns (title, desc).
fn check_svg(name: &str, svg: &str) -> (String, String) {
    assert!(svg.len() < MAX_CHART, "{name}: {} bytes", svg.len());
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{name}: not XML: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg", "{name}");
    assert_eq!(root.attribute("role"), Some("img"), "{name}");
    let text_of = |tag: &str| {
        root.children()
            .find(|n| n.has_tag_name(tag))
            .and_then(|n| n.text())
            .unwrap_or_default()
            .to_string()
    };
    let (title, desc) = (text_of("title"), text_of("desc"));
    assert!(
        !title.is_empty() && !desc.is_empty(),
        "{name}: no title/desc"
    );
    for text in root.descendants().filter(|n| n.has_tag_name("text")) {
        assert!(
            text.attribute("font-family")
                .is_some_and(|f| f.contains("Noto Sans Thai")),
            "{name}: a text without the Thai font fallback"
        );
    }
    (title, desc)
}

/// Text as the template environment escapes it.
fn html_escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

/// Every `href`/`src`-like attribute in an HTML page, with the tag it is on
/// and its value unescaped.
fn url_attributes(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for attr in [
        " href=",
        " src=",
        " srcset=",
        " xlink:href=",
        " action=",
        " data=",
    ] {
        let mut from = 0;
        while let Some(i) = html[from..].find(attr) {
            let at = from + i;
            from = at + attr.len();
            // Only inside a tag: text holds no raw `<` (it is escaped).
            let tag_start = html[..at].rfind('<').unwrap();
            if html[..at].rfind('>').is_some_and(|gt| gt > tag_start) {
                continue;
            }
            let tag: String = html[tag_start + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let value: String = html[at + attr.len()..]
                .trim_start_matches('"')
                .chars()
                .take_while(|c| *c != '"')
                .collect::<String>()
                .replace("&#x2f;", "/")
                .replace("&amp;", "&");
            out.push((format!("{tag}{}", attr.trim_end_matches('=')), value));
        }
    }
    out
}

/// What a self-contained page must not hold.
fn assert_self_contained(name: &str, html: &str) {
    let lower = html.to_lowercase();
    for bad in [
        "<script", "<link", "<iframe", "<object", "<embed", "<img", "@import", "url(",
    ] {
        assert!(!lower.contains(bad), "{name} holds {bad}");
    }
    for (tag_attr, value) in url_attributes(html) {
        let plain_link = tag_attr == "a href"
            && (value.starts_with('#')
                || value.starts_with("https://")
                || value.starts_with("http://"));
        assert!(plain_link, "{name}: {tag_attr}={value:?}");
    }
}

#[test]
fn both_samples_write_html_and_charts_linked_and_inlined() {
    let dir = tempfile::tempdir().unwrap();
    for (sample, decision) in [
        ("run-001", "APPROVED_FOR_LIMITED_PROD"),
        ("run-002", "STOP_AND_FIX"),
    ] {
        let out = dir.path().join(sample);
        build_into(Path::new(&format!("samples/{sample}")), &out, &[]);
        let all = files(&out);
        for f in ["report.md", "report.html", "summary.json"] {
            assert!(all.contains(&f.to_string()), "{sample}: no {f} in {all:?}");
        }
        let charts: Vec<&String> = all.iter().filter(|f| f.starts_with("charts/")).collect();
        for f in [
            "charts/status_grid.svg",
            "charts/timeline.svg",
            "charts/kill_switch.svg",
            "charts/cpu_usage_pct.svg",
            "charts/query_latency_p99_ms.svg",
            "charts/replication_lag_s.svg",
        ] {
            assert!(charts.iter().any(|c| *c == f), "{sample}: no {f}");
        }
        // Kill switch metrics are drawn by kill_switch.svg, not one by one.
        assert!(!charts.iter().any(|c| c.contains("kill_switch_api")));
        // No half-written file is left behind.
        assert!(!all.iter().any(|f| f.contains(".tmp")), "{all:?}");

        let md = std::fs::read_to_string(out.join("report.md")).unwrap();
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        for c in &charts {
            let svg = std::fs::read_to_string(out.join(c)).unwrap();
            let (title, _desc) = check_svg(c, &svg);
            assert!(
                md.contains(&format!("]({c})")),
                "{sample}: report.md lacks {c}"
            );
            // Inlined as is, once, with its own ids.
            let id = roxmltree::Document::parse(&svg)
                .unwrap()
                .root_element()
                .attribute("aria-labelledby")
                .unwrap()
                .to_string();
            assert_eq!(
                html.matches(&format!("aria-labelledby=\"{id}\"")).count(),
                1,
                "{sample}: {c} not inlined once"
            );
            assert!(
                html.contains(&format!("<figcaption>{}", html_escaped(&title))),
                "{c}"
            );
        }
        assert_eq!(html.matches("<svg").count(), charts.len());

        // Raw-sample latency: rolling lines, not a cloud of points.
        let p99 = std::fs::read_to_string(out.join("charts/query_latency_p99_ms.svg")).unwrap();
        let (title, desc) = check_svg("p99", &p99);
        assert_eq!(title, "Query Latency P99 (ms) · rolling P99 per 10 s");
        assert!(desc.contains("rolling P50 (10 s): from"), "{desc}");
        let p50 = std::fs::read_to_string(out.join("charts/query_latency_p50_ms.svg")).unwrap();
        let (title, desc) = check_svg("p50", &p50);
        assert_eq!(title, "Query Latency P50 (ms) · rolling P50 per 10 s");
        assert!(!desc.contains("rolling P99") && !desc.contains("rolling P50 (10 s)"));
        // The alternative text tells where the judged line crossed its bounds.
        if sample == "run-002" {
            assert!(desc.contains("critical bound 3.9 ms: "), "{desc}");
            assert!(
                !desc.contains("critical bound 3.9 ms: not crossed"),
                "{desc}"
            );
        }
        // Relative bounds are drawn at baseline × (1 + bound).
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        let row = summary["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"] == "query_latency_p99_ms")
            .unwrap();
        let base = row["verdict"]["baseline_value"].as_f64().unwrap();
        let warn = row["verdict"]["warning_bound"].as_f64().unwrap();
        assert!((warn - base * 1.30).abs() < 1e-9 * base.max(1.0));

        // The page: decision first, contents, print and Thai-capable styles.
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<html lang=\"th\">"));
        let verdict = html
            .find("class=\"verdict\" id=\"decision-title\">")
            .unwrap();
        let toc = html.find("<nav class=\"toc\"").unwrap();
        let s1 = html.find("<section id=\"s1\">").unwrap();
        assert!(
            verdict < toc && toc < s1,
            "decision, then contents, then sections"
        );
        assert!(html[verdict..toc].contains(decision));
        for id in [
            "s1",
            "s2",
            "s3",
            "s4",
            "s5",
            "s6",
            "s7",
            "s8",
            "s9",
            "appendices",
            "charts",
        ] {
            assert!(
                html.contains(&format!("href=\"#{id}\"")),
                "no TOC link to {id}"
            );
            assert!(html.contains(&format!("id=\"{id}\"")), "no #{id}");
        }
        assert!(html.contains("@media print"));
        assert!(html.contains("\"Noto Sans Thai\""));
        // Status reads without colour: a word (and a drawn mark, no emoji
        // font needed) in every cell.
        assert!(html.contains(
            "<span class=\"st st-OK\"><span class=\"mk mk-ok\" aria-hidden=\"true\">✓</span> OK</span>"
        ));
        assert!(!html.contains("_(ไม่มีข้อมูล)_"), "no Markdown italics in HTML");
        // Dashboards are plain links, nothing loads them.
        assert!(
            html.contains("<a class=\"ext\" href=\"https:&#x2f;&#x2f;grafana.example.com&#x2f;")
        );
        assert_self_contained(sample, &html);
    }
}

#[test]
fn english_html_says_so() {
    let dir = tempfile::tempdir().unwrap();
    build_into(
        Path::new("samples/run-002"),
        dir.path(),
        &["--lang", "en", "--format", "html"],
    );
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("What Was Actually Run"));
    assert!(!html.chars().any(|c| ('\u{0E00}'..='\u{0E7F}').contains(&c)));
}

#[test]
fn format_picks_the_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str], bool); 4] = [
        ("json", &["summary.json"], false),
        ("md", &["report.md"], true),
        ("html", &["report.html"], true),
        ("md,json", &["report.md", "summary.json"], true),
    ];
    for (format, expected, charts) in cases {
        let out = dir.path().join(format.replace(',', "-"));
        build_into(Path::new("samples/run-001"), &out, &["--format", format]);
        let all = files(&out);
        let top: Vec<&String> = all.iter().filter(|f| !f.contains('/')).collect();
        assert_eq!(top, expected, "--format {format}");
        assert_eq!(
            all.iter().any(|f| f.starts_with("charts/")),
            charts,
            "--format {format}: {all:?}"
        );
    }
    canary()
        .args(["build", "samples/run-001", "--format", "pdf"])
        .assert()
        .code(2);
}

/// Copies a sample's manifest and events (no metrics: fast), rewritten.
fn hostile_run(dir: &Path) -> PathBuf {
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("samples/run-001/manifest.json").unwrap())
            .unwrap();
    manifest["scope"]["actual"]["table"] = "orders<script>alert(1)</script>".into();
    manifest["lead"] = "\"><img src=x onerror=alert(1)>".into();
    manifest["human"]["incident_notes"] = "<svg onload=alert(1)>".into();
    manifest["human"]["dashboards"] = serde_json::json!([
        { "name": "<b>bold</b>", "url": "javascript:alert(1)" },
        { "name": "ok", "url": "https://grafana.example.com/d/x?a=1&b=<2>" }
    ]);
    std::fs::write(run.join("manifest.json"), manifest.to_string()).unwrap();
    let events: Vec<String> = std::fs::read_to_string("samples/run-001/events.jsonl")
        .unwrap()
        .lines()
        .map(|line| {
            let mut e: serde_json::Value = serde_json::from_str(line).unwrap();
            match e["type"].as_str() {
                Some("incident") => {
                    e["description"] =
                        "<script>alert(1)</script> and <svg onload=alert(2)> & more".into();
                }
                Some("kill_switch_check") => {
                    e["checkpoint"] = "<script>alert(3)</script>".into();
                }
                _ => {}
            }
            e.to_string()
        })
        .collect();
    std::fs::write(run.join("events.jsonl"), events.join("\n")).unwrap();
    run
}

#[test]
fn text_from_input_files_is_escaped_in_html_and_charts() {
    let dir = tempfile::tempdir().unwrap();
    let run = hostile_run(dir.path());
    let out = dir.path().join("out");
    build_into(&run, &out, &[]);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let lower = html.to_lowercase();
    for raw in [
        "<script",
        "<svg onload",
        "<img",
        "<b>bold",
        "href=\"javascript:",
    ] {
        assert!(!lower.contains(raw), "report.html holds {raw}");
    }
    for escaped in [
        "orders&lt;script&gt;alert(1)&lt;&#x2f;script&gt;",
        "&lt;svg onload=alert(1)&gt;",
        "&lt;script&gt;alert(1)&lt;&#x2f;script&gt; and &lt;svg onload=alert(2)&gt; &amp; more",
        "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;",
        "&lt;b&gt;bold&lt;&#x2f;b&gt;",
    ] {
        assert!(html.contains(escaped), "report.html lacks {escaped}");
    }
    // Only our own charts are SVG, each inlined once.
    let charts = files(&out)
        .into_iter()
        .filter(|f| f.starts_with("charts/"))
        .count();
    assert_eq!(html.matches("<svg").count(), charts);
    assert_self_contained("hostile report.html", &html);
    // The checkpoint names reach the kill switch chart escaped, as XML.
    let ks = std::fs::read_to_string(out.join("charts/kill_switch.svg")).unwrap();
    check_svg("kill_switch.svg", &ks);
    assert!(ks.contains("&lt;script&gt;alert(3)&lt;/script&gt;"));
    assert!(!ks.contains("<script"));
}

/// A run with 5,000,000 samples where it hurts: the raw query latency (drawn
/// as rolling lines), and 5,000,000-point timelines for a series metric and
/// both query latency quantiles. Every chart must stay under 300 KB.
#[test]
fn five_million_samples_keep_every_chart_under_300_kb() {
    const N: usize = 5_000_000;
    let mut run: RunData = canary_report::ingest::read_run(Path::new("samples/run-002")).unwrap();
    let thresholds = build::load_thresholds(None).unwrap();
    let Judged {
        judgement: canary_report::judge::Judgement { mut analysis, .. },
        data,
    } = build::judge(&run, thresholds);
    let extent = analysis.extent.expect("the sample has records");
    let span = extent.end - extent.start;
    // Deterministic noise with spikes, spread over the whole run.
    let synthetic = |scale: f64| -> Vec<Sample> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..N)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let noise = (x >> 11) as f64 / (1u64 << 53) as f64;
                let spike = if i % 250_000 == 0 { 20.0 } else { 1.0 };
                Sample {
                    t: extent.start + span * i as f64 / N as f64,
                    v: scale * (1.0 + noise) * spike,
                }
            })
            .collect()
    };
    run.series
        .insert(InputMetric::Raw(RawLatency::Query), synthetic(2.0));
    for m in analysis.metrics.iter_mut() {
        if matches!(
            m.metric,
            MetricId::CpuUsagePct | MetricId::QueryLatencyP50Ms | MetricId::QueryLatencyP99Ms
        ) {
            m.timeline = synthetic(if m.metric == MetricId::CpuUsagePct {
                40.0
            } else {
                3.0
            });
        }
    }
    let started = std::time::Instant::now();
    let charts: Vec<Chart> = build_charts(
        &run,
        &analysis,
        &data,
        &data.thresholds.values,
        display_offset_s(&run.manifest),
    );
    let took = started.elapsed();
    let mut sizes: Vec<(String, usize)> = Vec::new();
    for c in &charts {
        check_svg(&c.file, &c.svg);
        sizes.push((c.file.clone(), c.svg.len()));
    }
    let cpu = &charts
        .iter()
        .find(|c| c.file == "charts/cpu_usage_pct.svg")
        .unwrap();
    assert!(cpu.alt.contains("5000000 points, drawn as"), "{}", cpu.alt);
    for f in [
        "charts/query_latency_p50_ms.svg",
        "charts/query_latency_p99_ms.svg",
    ] {
        let c = charts.iter().find(|c| c.file == f).unwrap();
        assert!(c.svg.contains("rolling P50"), "{f}");
    }
    eprintln!(
        "5M samples: {} charts in {:.1} s; largest {:?}",
        charts.len(),
        took.as_secs_f64(),
        sizes
            .iter()
            .max_by_key(|s| s.1)
            .map(|(f, n)| format!("{f} {} KB", n / 1024))
    );
    for (f, n) in &sizes {
        eprintln!("  {f}: {:.1} KB", *n as f64 / 1024.0);
    }
}
