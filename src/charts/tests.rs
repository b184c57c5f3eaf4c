//! Tests common to every chart: well-formed XML, accessible wrapper, size
//! bound, robustness to empty/NaN/degenerate input.

use super::common::{clean_text, fmt_num, hhmm, time_ticks, tz_label};
use super::*;

const LIMIT: usize = 300 * 1024;
/// 2024-05-01 10:00:00 UTC.
const T0: f64 = 1_714_557_600.0;

/// Parses the SVG and checks the wrapper; returns the desc text.
fn check(svg: &str, title: &str) -> String {
    assert!(svg.starts_with("<svg"), "starts with {:?}", &svg[..20]);
    assert!(svg.len() < LIMIT, "{} bytes", svg.len());
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("role"), Some("img"));
    let mut kids = root.children().filter(|n| n.is_element());
    let t = kids.next().expect("title");
    assert_eq!(t.tag_name().name(), "title");
    assert_eq!(t.text().unwrap_or(""), title);
    let d = kids.next().expect("desc");
    assert_eq!(d.tag_name().name(), "desc");
    let desc = d.text().unwrap_or("").to_string();
    assert!(!desc.is_empty());
    let ids = root.attribute("aria-labelledby").expect("aria-labelledby");
    assert_eq!(
        ids,
        format!(
            "{} {}",
            t.attribute("id").unwrap(),
            d.attribute("id").unwrap()
        )
    );
    for text in root.descendants().filter(|n| n.has_tag_name("text")) {
        assert_eq!(
            text.attribute("font-family"),
            Some("Noto Sans Thai, Noto Sans, DejaVu Sans, sans-serif")
        );
    }
    // No long floats anywhere (plotters' font-size is rounded).
    let b = svg.as_bytes();
    for i in 0..b.len().saturating_sub(5) {
        if b[i] == b'.' && b[i + 1..i + 5].iter().all(u8::is_ascii_digit) {
            panic!("long decimal near {:?}", &svg[i.saturating_sub(20)..i + 8]);
        }
    }
    desc
}

fn says_no_data(svg: &str) -> bool {
    svg.contains(">\nno data\n</text>")
}

fn sample_series() -> TimeSeriesChart {
    let points: Vec<(f64, f64)> = (0..5400)
        .map(|i| {
            let t = T0 + f64::from(i);
            let base = 40.0 + 8.0 * (f64::from(i) / 300.0).sin();
            let bump = if (1900..2300).contains(&i) { 90.0 } else { 0.0 };
            (t, base + bump + f64::from(i % 7))
        })
        .collect();
    let roll = |q: f64| NamedLine {
        name: format!("rolling P{q}"),
        points: points
            .iter()
            .step_by(60)
            .map(|p| (p.0, p.1 * (0.8 + q / 250.0)))
            .collect(),
    };
    TimeSeriesChart {
        title: "Read latency P99".into(),
        unit: "ms".into(),
        bands: vec![
            Band {
                label: "baseline".into(),
                start: T0,
                end: T0 + 1800.0,
            },
            Band {
                label: "during".into(),
                start: T0 + 1800.0,
                end: T0 + 3600.0,
            },
            Band {
                label: "post".into(),
                start: T0 + 3600.0,
                end: T0 + 5400.0,
            },
        ],
        bounds: vec![
            BoundLine {
                label: "warning".into(),
                value: 100.0,
                direction: BoundDirection::Above,
            },
            BoundLine {
                label: "critical".into(),
                value: 150.0,
                direction: BoundDirection::Above,
            },
        ],
        baseline_level: Some(42.0),
        breaches: vec![
            (T0 + 1900.0, "warning".into()),
            (T0 + 2100.0, "critical".into()),
        ],
        extra_lines: vec![roll(50.0), roll(99.0)],
        points,
        tz_offset_s: 7 * 3600,
    }
}

fn checks() -> Vec<(String, f64, Option<f64>)> {
    vec![
        ("pre-check".into(), T0, Some(12.0)),
        ("T+5m".into(), T0 + 300.0, Some(35.0)),
        ("T+10m".into(), T0 + 600.0, Some(260.0)),
        ("T+15m".into(), T0 + 900.0, None),
        ("T+20m".into(), T0 + 1200.0, Some(620.0)),
        ("T+25m".into(), T0 + 1500.0, Some(40.0)),
        ("post".into(), T0 + 1800.0, Some(18.0)),
    ]
}

fn gantt_rows() -> Vec<GanttRow> {
    let row = |label: &str, p: (f64, f64), a: Option<(f64, f64)>, status: &str| GanttRow {
        label: label.into(),
        planned: Some((T0 + p.0 * 60.0, T0 + p.1 * 60.0)),
        actual: a.map(|(s, e)| (T0 + s * 60.0, T0 + e * 60.0)),
        status: status.into(),
    };
    vec![
        row("baseline", (0.0, 30.0), Some((0.0, 30.0)), "done"),
        row("build index", (30.0, 60.0), Some((33.0, 78.0)), "late"),
        row("validate", (60.0, 70.0), Some((78.0, 80.0)), "failed"),
        row("post window", (70.0, 100.0), None, ""),
    ]
}

fn grid_rows() -> Vec<(String, [String; 3])> {
    let r = |l: &str, a: &str, b: &str, c: &str| (l.to_string(), [a.into(), b.into(), c.into()]);
    vec![
        r("read latency p99", "OK", "WARNING", "OK"),
        r("write latency p99", "OK", "CRITICAL", "WARNING"),
        r("replication lag", "NO_DATA", "OK", "OK"),
        r("ความหน่วงการอ่าน", "OK", "OK", "no data"),
    ]
}

#[test]
fn time_series_is_accessible_and_describes_crossings() {
    let svg = time_series_svg(&sample_series());
    let desc = check(&svg, "Read latency P99");
    assert!(
        desc.contains("time series in ms from 2024-05-01 17:00"),
        "{desc}"
    );
    assert!(desc.contains("(UTC+07:00)"), "{desc}");
    assert!(desc.contains("warning bound 100 ms: "), "{desc}");
    assert!(
        desc.contains("at or above it, in 1 stretch: 17:3"),
        "{desc}"
    );
    assert!(
        desc.contains("critical bound 150 ms: not crossed"),
        "{desc}"
    );
    assert!(desc.contains("2 breaches marked"), "{desc}");
    assert!(svg.contains("Time (UTC+07:00)"));
    assert!(
        svg.contains(">\n17:30\n</text>"),
        "HH:MM tick at local time"
    );
    assert!(!says_no_data(&svg));
}

#[test]
fn time_series_degenerate_inputs_never_panic() {
    let base = TimeSeriesChart {
        title: "t".into(),
        unit: "ms".into(),
        ..Default::default()
    };
    // Empty and all-NaN: a "no data" chart.
    for points in [
        vec![],
        vec![(f64::NAN, 1.0), (T0, f64::NAN), (f64::INFINITY, 2.0)],
    ] {
        let svg = time_series_svg(&TimeSeriesChart {
            points,
            ..base.clone()
        });
        let desc = check(&svg, "t");
        assert!(says_no_data(&svg));
        assert!(desc.contains("no data"), "{desc}");
    }
    // One point, all equal, zero-width time, NaN mixed in, huge values.
    let cases: Vec<Vec<(f64, f64)>> = vec![
        vec![(T0, 5.0)],
        (0..100).map(|i| (T0 + f64::from(i), 7.0)).collect(),
        (0..100).map(|i| (T0, f64::from(i))).collect(),
        vec![
            (T0, 1.0),
            (f64::NAN, 3.0),
            (T0 + 60.0, f64::NAN),
            (T0 + 120.0, 2.0),
        ],
        vec![(T0, f64::MAX), (T0 + 1.0, -f64::MAX)],
        vec![(-f64::MAX, 1.0), (f64::MAX, 2.0)],
        vec![(T0, 0.0), (T0 + 1.0, 1e-300)],
    ];
    for points in cases {
        let chart = TimeSeriesChart {
            points,
            bands: vec![Band {
                label: "during".into(),
                start: f64::NAN,
                end: T0,
            }],
            bounds: vec![BoundLine {
                label: "warning".into(),
                value: f64::NAN,
                ..Default::default()
            }],
            baseline_level: Some(f64::INFINITY),
            breaches: vec![(f64::NAN, "x".into()), (T0, String::new())],
            ..base.clone()
        };
        let svg = time_series_svg(&chart);
        check(&svg, "t");
        assert!(!says_no_data(&svg));
    }
}

#[test]
fn time_series_only_extra_lines_still_draws() {
    let chart = TimeSeriesChart {
        title: "p50 only".into(),
        extra_lines: vec![NamedLine {
            name: "P50".into(),
            points: vec![(T0, 1.0), (T0 + 60.0, 2.0)],
        }],
        breaches: vec![(T0 + 30.0, "b".into())],
        ..Default::default()
    };
    let svg = time_series_svg(&chart);
    let desc = check(&svg, "p50 only");
    assert!(desc.contains("no samples for the main series"), "{desc}");
}

#[test]
fn hostile_text_is_cleaned_and_escaped() {
    let chart = TimeSeriesChart {
        title: "a<b & \"c\"\u{0}\u{1b}[31m\u{FFFE} ความหน่วง\n".into(),
        unit: "m&s".into(),
        points: vec![(T0, 1.0), (T0 + 60.0, 2.0)],
        bands: vec![Band {
            label: "<during>".into(),
            start: T0,
            end: T0 + 60.0,
        }],
        breaches: vec![(T0, "]]>".into())],
        ..Default::default()
    };
    let svg = time_series_svg(&chart);
    check(&svg, "a<b & \"c\"[31m ความหน่วง");
    let long = "x".repeat(1_000_000);
    let svg = time_series_svg(&TimeSeriesChart {
        title: long.clone(),
        unit: long.clone(),
        points: vec![(T0, 1.0)],
        bounds: vec![BoundLine {
            label: long.clone(),
            value: 1.0,
            ..Default::default()
        }],
        breaches: vec![(T0, long.clone()); 1000],
        extra_lines: vec![
            NamedLine {
                name: long.clone(),
                points: vec![(T0, 1.0)],
            };
            100
        ],
        bands: vec![
            Band {
                label: long,
                start: T0,
                end: T0,
            };
            100
        ],
        ..Default::default()
    });
    check(&svg, &format!("{}…", "x".repeat(99)));
}

/// The full chart on 5,000,000 points per series (main + one extra line)
/// with 100,000 breaches stays under 300 KB.
#[test]
fn time_series_five_million_points_stays_small() {
    let n = 5_000_000usize;
    let mut points = Vec::with_capacity(n);
    points.extend((0..n).map(|i| (T0 + i as f64 * 0.001, (i % 1000) as f64)));
    points[3_333_333].1 = 1e6;
    let extra = NamedLine {
        name: "P99".into(),
        points: points.clone(),
    };
    let chart = TimeSeriesChart {
        title: "big".into(),
        unit: "ms".into(),
        breaches: (0..100_000)
            .map(|i| (T0 + f64::from(i) * 0.05, "warning".to_string()))
            .collect(),
        extra_lines: vec![extra],
        points,
        bounds: vec![BoundLine {
            label: "warning".into(),
            value: 990.0,
            ..Default::default()
        }],
        ..Default::default()
    };
    let svg = time_series_svg(&chart);
    let desc = check(&svg, "big");
    assert!(desc.contains("maximum 1000000 ms"), "{desc}");
    assert!(desc.contains("100000 breaches marked"), "{desc}");
    assert!(svg.len() < 100 * 1024, "{} bytes", svg.len());
}

#[test]
fn kill_switch_marks_no_answer() {
    let svg = kill_switch_svg(&checks(), 250.0, 500.0, 7 * 3600);
    let desc = check(&svg, "Kill-switch checks: response time");
    assert!(svg.contains(">\nno answer\n</text>"));
    assert!(desc.contains("1 with no answer: T+15m (17:15)"), "{desc}");
    assert!(desc.contains("2 at or above warning"), "{desc}");
    assert!(
        desc.contains("1 at or above critical: T+20m (17:20) 620 ms"),
        "{desc}"
    );
    assert!(desc.contains("slowest 620 ms"), "{desc}");
}

#[test]
fn kill_switch_degenerate_inputs() {
    let t = "Kill-switch checks: response time";
    let svg = kill_switch_svg(&[], 1.0, 2.0, 0);
    check(&svg, t);
    assert!(says_no_data(&svg));
    let none: Vec<(String, f64, Option<f64>)> = vec![
        ("a".into(), f64::NAN, None),
        ("b".into(), T0, Some(f64::NAN)),
    ];
    check(&kill_switch_svg(&none, f64::NAN, f64::INFINITY, 0), t);
    let equal: Vec<_> = (0..5).map(|i| (format!("c{i}"), T0, Some(0.0))).collect();
    check(&kill_switch_svg(&equal, 0.0, 0.0, 0), t);
    let negative = vec![("neg".to_string(), T0, Some(-5.0))];
    check(&kill_switch_svg(&negative, f64::NAN, f64::NAN, 0), t);
    let many: Vec<_> = (0..200_000)
        .map(|i| {
            let r = if i % 97 == 0 {
                None
            } else {
                Some(f64::from(i % 300))
            };
            (format!("check {i}"), T0 + f64::from(i), r)
        })
        .collect();
    let svg = kill_switch_svg(&many, 250.0, 290.0, 0);
    let desc = check(&svg, t);
    assert!(desc.contains("groups of"), "{desc}");
}

#[test]
fn gantt_draws_planned_and_actual() {
    let svg = gantt_svg(&gantt_rows(), 7 * 3600);
    let desc = check(&svg, "Phases: planned vs actual");
    assert!(
        desc.contains("build index: planned 17:30–18:00 (30 min), actual 17:33–18:18 (45 min), started 3 min late, ran 15 min longer, status late."),
        "{desc}"
    );
    assert!(
        desc.contains("post window: planned 18:10–18:40 (30 min), did not run."),
        "{desc}"
    );
    assert!(svg.contains(">\nnot run\n</text>"));
}

#[test]
fn gantt_degenerate_inputs() {
    let t = "Phases: planned vs actual";
    assert!(says_no_data(&gantt_svg(&[], 0)));
    let no_times = vec![GanttRow {
        label: "x".into(),
        planned: Some((f64::NAN, T0)),
        ..Default::default()
    }];
    let svg = gantt_svg(&no_times, 0);
    check(&svg, t);
    assert!(says_no_data(&svg));
    let instant = vec![GanttRow {
        label: "x".into(),
        planned: Some((T0, T0)),
        actual: Some((T0 + 10.0, T0)),
        status: "ok".into(),
    }];
    check(&gantt_svg(&instant, -3 * 3600 - 1800), t);
    let many: Vec<GanttRow> = (0..10_000)
        .map(|i| GanttRow {
            label: format!("phase {i}"),
            planned: Some((T0 + f64::from(i), T0 + f64::from(i) + 100.0)),
            actual: Some((T0 + f64::from(i), T0 + f64::from(i) + 150.0)),
            status: "done".into(),
        })
        .collect();
    let desc = check(&gantt_svg(&many, 0), t);
    assert!(desc.contains("Only the first 30 are drawn"), "{desc}");
}

#[test]
fn status_grid_has_text_in_every_cell() {
    let svg = status_grid_svg(&grid_rows());
    let desc = check(&svg, "Status by phase");
    for word in [
        "✓ OK",
        "! WARNING",
        "✕ CRITICAL",
        "– no data",
        "ความหน่วงการอ่าน",
    ] {
        assert!(svg.contains(word), "{word}");
    }
    assert!(
        desc.contains("During: 2 OK, 1 WARNING, 1 CRITICAL, 0 no data."),
        "{desc}"
    );
    assert!(
        desc.contains("write latency p99 during: CRITICAL"),
        "{desc}"
    );
}

#[test]
fn status_grid_degenerate_inputs() {
    let svg = status_grid_svg(&[]);
    check(&svg, "Status by phase");
    assert!(says_no_data(&svg));
    let weird = vec![(
        "\u{0}<x>".to_string(),
        ["".to_string(), "maybe\u{7}".to_string(), "x".repeat(10_000)],
    )];
    check(&status_grid_svg(&weird), "Status by phase");
    let many: Vec<(String, [String; 3])> = (0..50_000)
        .map(|i| {
            (
                format!("metric {i}"),
                ["OK".into(), "CRITICAL".into(), "OK".into()],
            )
        })
        .collect();
    let svg = status_grid_svg(&many);
    let desc = check(&svg, "Status by phase");
    assert!(desc.contains("and 49988 more"), "{desc}");
    assert!(svg.contains("and 49960 more metrics"));
}

#[test]
fn helpers() {
    assert_eq!(hhmm(T0, 7 * 3600), "17:00");
    assert_eq!(hhmm(T0, -5 * 3600 - 1800), "04:30");
    assert_eq!(tz_label(-5 * 3600 - 1800), "UTC-05:30");
    assert_eq!(tz_label(0), "UTC");
    assert_eq!(fmt_num(1234.6), "1235");
    assert_eq!(fmt_num(12.34), "12.3");
    assert_eq!(fmt_num(0.5), "0.5");
    assert_eq!(fmt_num(f64::NAN), "n/a");
    assert_eq!(clean_text("  a \n\t b\u{0} ", 10), "a b");
    assert_eq!(clean_text("abcdef", 4), "abc…");
    // Ticks fall on local 5-minute boundaries in UTC+05:30... i.e. :00/:05.
    let ticks = time_ticks(T0 + 17.0, T0 + 3600.0, 5 * 3600 + 1800, 12);
    assert!(!ticks.is_empty());
    for t in ticks {
        assert_eq!((t + 5.0 * 3600.0 + 1800.0).rem_euclid(300.0), 0.0);
    }
    assert!(time_ticks(T0, T0, 0, 10).is_empty());
    assert!(time_ticks(-f64::MAX, f64::MAX, 0, 10).len() <= 11);
}
