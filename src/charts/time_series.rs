//! One metric over time: phase bands, warning/critical bounds, baseline
//! level, breaches and extra lines (e.g. rolling P50/P99).

use std::fmt::Write as _;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::common::*;
use super::downsample_min_max;
use super::{BoundDirection, TimeSeriesChart};

const HEIGHT: u32 = 300;
/// Min/max buckets per series: about the plot width in pixels, so at most
/// two points per pixel column.
const BUCKETS: usize = 700;
const MAX_BANDS: usize = 12;
const MAX_BOUNDS: usize = 6;
const MAX_EXTRA: usize = 6;
const MAX_BREACH_MARKS: usize = 200;
const MAX_BREACH_LABELS: usize = 8;
const X_LABELS: usize = 9;

const PLOT_TOP: u32 = 56;
const EXTRA_COLOURS: [RGBColor; 4] = [
    RGBColor(0x1B, 0x78, 0x37),
    RGBColor(0x8E, 0x44, 0xAD),
    RGBColor(0x80, 0x50, 0x10),
    RGBColor(0x00, 0x83, 0x8F),
];

/// An extra line: cleaned name, downsampled points, raw stats.
type Extra = (String, Vec<(f64, f64)>, RawStats);

/// Per-series facts gathered in one pass over the raw points.
struct RawStats {
    given: usize,
    count: usize,
    t_min: f64,
    t_max: f64,
    min: (f64, f64),
    max: (f64, f64),
    /// Per bound: number of points beyond it.
    beyond: Vec<usize>,
}

fn raw_stats(points: &[(f64, f64)], bounds: &[Bound]) -> RawStats {
    let mut s = RawStats {
        given: points.len(),
        count: 0,
        t_min: f64::INFINITY,
        t_max: f64::NEG_INFINITY,
        min: (f64::NAN, f64::INFINITY),
        max: (f64::NAN, f64::NEG_INFINITY),
        beyond: vec![0; bounds.len()],
    };
    for &(t, v) in points {
        if !t.is_finite() || !v.is_finite() {
            continue;
        }
        s.count += 1;
        s.t_min = s.t_min.min(t);
        s.t_max = s.t_max.max(t);
        if v < s.min.1 || (v == s.min.1 && t < s.min.0) {
            s.min = (t, v);
        }
        if v > s.max.1 || (v == s.max.1 && t < s.max.0) {
            s.max = (t, v);
        }
        for (b, n) in bounds.iter().zip(s.beyond.iter_mut()) {
            if b.is_beyond(v) {
                *n += 1;
            }
        }
    }
    s
}

#[derive(Clone)]
struct Bound {
    label: String,
    value: f64,
    direction: BoundDirection,
    on_scale: bool,
}

impl Bound {
    fn is_beyond(&self, v: f64) -> bool {
        match self.direction {
            BoundDirection::Above => v >= self.value,
            BoundDirection::Below => v <= self.value,
        }
    }
    fn kind(&self) -> BoundKind {
        let l = self.label.to_lowercase();
        if l.contains("crit") {
            BoundKind::Critical
        } else if l.contains("warn") {
            BoundKind::Warning
        } else {
            BoundKind::Other
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum BoundKind {
    Warning,
    Critical,
    Other,
}

fn band_colour(label: &str) -> (RGBColor, f64) {
    let l = label.to_lowercase();
    if l.contains("baseline") || l.contains("before") || l.contains("pre") && !l.contains("post") {
        (RGBColor(0x80, 0x80, 0x80), 0.16)
    } else if l.contains("during") || l.contains("canary") {
        (RGBColor(0xFF, 0xB3, 0x00), 0.22)
    } else if l.contains("post") || l.contains("after") {
        (RGBColor(0x42, 0x8B, 0xF5), 0.16)
    } else {
        (RGBColor(0xB0, 0xB0, 0xB0), 0.12)
    }
}

/// Maximal runs of consecutive samples beyond the bound, as (first, last).
fn stretches(series: &[(f64, f64)], bound: &Bound) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let mut cur: Option<(f64, f64)> = None;
    for &(t, v) in series {
        if bound.is_beyond(v) {
            cur = Some(match cur {
                Some((s, _)) => (s, t),
                None => (t, t),
            });
        } else if let Some(run) = cur.take() {
            out.push(run);
        }
    }
    out.extend(cur);
    out
}

/// Renders a time series chart (800×300). See [`TimeSeriesChart`].
pub fn time_series_svg(chart: &TimeSeriesChart) -> String {
    let tz = chart.tz_offset_s;
    let title = clean_text(&chart.title, 100);
    let unit = clean_text(&chart.unit, 20);
    let mut bounds: Vec<Bound> = chart
        .bounds
        .iter()
        .filter(|b| b.value.is_finite())
        .take(MAX_BOUNDS)
        .map(|b| Bound {
            label: clean_text(&b.label, 24),
            value: b.value,
            direction: b.direction,
            on_scale: true,
        })
        .collect();

    let stats = raw_stats(&chart.points, &bounds);
    let series = downsample_min_max(&chart.points, BUCKETS);
    let extras: Vec<Extra> = chart
        .extra_lines
        .iter()
        .take(MAX_EXTRA)
        .map(|l| {
            (
                clean_text(&l.name, 24),
                downsample_min_max(&l.points, BUCKETS),
                raw_stats(&l.points, &[]),
            )
        })
        .collect();

    let all_stats = std::iter::once(&stats).chain(extras.iter().map(|e| &e.2));
    let (mut d_lo, mut d_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut t_lo, mut t_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for s in all_stats.filter(|s| s.count > 0) {
        d_lo = d_lo.min(s.min.1);
        d_hi = d_hi.max(s.max.1);
        t_lo = t_lo.min(s.t_min);
        t_hi = t_hi.max(s.t_max);
    }
    if !(d_lo <= d_hi) {
        let desc = format!(
            "{}: no data to chart ({} points given, none with a finite time and value).",
            if title.is_empty() { "Chart" } else { &title },
            stats.given
        );
        return no_data_svg((WIDTH, HEIGHT), &title, &desc, "no data");
    }

    // Time range: data, widened by phase bands that sit near it.
    let data_t_span = t_hi - t_lo;
    let t_slack = if data_t_span > 0.0 {
        data_t_span
    } else {
        86_400.0
    };
    let bands: Vec<(String, f64, f64)> = chart
        .bands
        .iter()
        .filter(|b| b.start.is_finite() && b.end.is_finite())
        .take(MAX_BANDS)
        .map(|b| {
            (
                clean_text(&b.label, 24),
                b.start.min(b.end),
                b.start.max(b.end),
            )
        })
        .collect();
    let (mut x_lo, mut x_hi) = (t_lo, t_hi);
    for (_, s, e) in &bands {
        for edge in [*s, *e] {
            if edge >= t_lo - t_slack && edge <= t_hi + t_slack {
                x_lo = x_lo.min(edge);
                x_hi = x_hi.max(edge);
            }
        }
    }
    if x_hi - x_lo <= 0.0 || !(x_hi - x_lo).is_finite() {
        x_lo -= 300.0;
        x_hi += 300.0;
    }

    // Value range: data, plus baseline level and bounds that are near it;
    // far ones are named as off scale instead of squashing the data.
    let scale = (d_hi - d_lo).max(d_lo.abs()).max(d_hi.abs());
    let scale = if scale > 0.0 && scale.is_finite() {
        scale
    } else {
        1.0
    };
    let near = |v: f64| v >= d_lo - 3.0 * scale && v <= d_hi + 3.0 * scale;
    let (mut y_lo, mut y_hi) = (d_lo, d_hi);
    let baseline_level = chart.baseline_level.filter(|v| v.is_finite());
    let baseline_on_scale = baseline_level.filter(|v| near(*v));
    if let Some(b) = baseline_on_scale {
        y_lo = y_lo.min(b);
        y_hi = y_hi.max(b);
    }
    for b in bounds.iter_mut() {
        b.on_scale = near(b.value);
        if b.on_scale {
            y_lo = y_lo.min(b.value);
            y_hi = y_hi.max(b.value);
        }
    }
    let from_zero = y_lo >= 0.0 && y_lo <= 0.3 * y_hi;
    if from_zero {
        y_lo = 0.0;
    }
    let span = y_hi - y_lo;
    if span > 0.0 && span.is_finite() {
        y_hi += span * 0.08;
        if !from_zero {
            y_lo -= span * 0.05;
        }
    } else {
        let pad = (y_hi.abs() * 0.1).max(1.0);
        y_hi += pad;
        y_lo -= pad;
    }
    // Keep both spans finite; values beyond are clamped when drawn.
    let (y_lo, y_hi) = sane_range(y_lo, y_hi);
    const X_LIM: f64 = 1e13;
    x_lo = x_lo.clamp(-X_LIM, X_LIM);
    x_hi = x_hi.clamp(-X_LIM, X_LIM);
    if !(x_hi > x_lo) {
        x_lo -= 300.0;
        x_hi += 300.0;
    }
    let fit = |p: &(f64, f64)| (clamp_to(p.0, x_lo, x_hi), clamp_to(p.1, y_lo, y_hi));
    let series_drawn: Vec<(f64, f64)> = series.iter().map(fit).collect();

    let desc = describe(
        chart,
        &title,
        &unit,
        &stats,
        &series,
        &bounds,
        baseline_level,
        &extras,
        &bands,
    );

    // At most MAX_BREACH_MARKS markers, spread evenly over all breaches.
    let breaches: Vec<(f64, String)> = {
        let mut v: Vec<(f64, &String)> = chart
            .breaches
            .iter()
            .filter(|(t, _)| t.is_finite() && *t >= x_lo && *t <= x_hi)
            .map(|(t, l)| (*t, l))
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        let stride = v.len().div_ceil(MAX_BREACH_MARKS).max(1);
        v.iter()
            .step_by(stride)
            .map(|(t, l)| (*t, clean_text(l, 20)))
            .collect()
    };
    let breach_y = |t: f64| -> f64 {
        let source = if series.is_empty() {
            extras
                .iter()
                .map(|e| &e.1)
                .find(|s| !s.is_empty())
                .map_or(&series, |s| s)
        } else {
            &series
        };
        let i = source.partition_point(|p| p.0 < t);
        // The higher of the two samples around t (the worse one for the
        // usual above-the-bound breach; a bucket's max, not its min).
        let best = [i.checked_sub(1), Some(i)]
            .into_iter()
            .flatten()
            .filter_map(|j| source.get(j))
            .map(|p| p.1)
            .reduce(f64::max);
        clamp_to(best.unwrap_or(y_hi), y_lo, y_hi)
    };

    render_chart((WIDTH, HEIGHT), &title, &desc, |root| {
        draw_title(root, &title)?;
        let mut ctx = ChartBuilder::on(root)
            .margin_top(PLOT_TOP)
            .margin_right(18)
            .margin_left(8)
            .margin_bottom(6)
            .x_label_area_size(38)
            .y_label_area_size(62)
            .build_cartesian_2d(
                TimeAxis {
                    start: x_lo,
                    end: x_hi,
                    tz_offset_s: tz,
                },
                ValueAxis { lo: y_lo, hi: y_hi },
            )?;

        // Phase bands under everything else.
        for (label, s, e) in &bands {
            let (s, e) = (clamp_to(*s, x_lo, x_hi), clamp_to(*e, x_lo, x_hi));
            if e <= s {
                continue;
            }
            let (colour, alpha) = band_colour(label);
            ctx.draw_series(std::iter::once(Rectangle::new(
                [(s, y_hi), (e, y_lo)],
                colour.mix(alpha).filled(),
            )))?;
        }

        let t_span = x_hi - x_lo;
        let x_fmt = |t: &f64| time_tick_label(*t, t_span, X_LABELS, tz);
        let y_fmt = |v: &f64| fmt_num(*v);
        ctx.configure_mesh()
            .x_labels(X_LABELS)
            .y_labels(6)
            .max_light_lines(0)
            .bold_line_style(GRID.stroke_width(1))
            .axis_style(FAINT.stroke_width(1))
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style(text_style(12.0, MUTED, false, HPos::Center, VPos::Top))
            .axis_desc_style(text_style(13.0, INK, false, HPos::Center, VPos::Top))
            .x_desc(format!("Time ({})", tz_label(tz)))
            .y_desc(if unit.is_empty() {
                "value".to_string()
            } else {
                unit.clone()
            })
            .draw()?;

        // Band labels, top left inside each band when there is room.
        for (label, s, e) in &bands {
            let (s, e) = (clamp_to(*s, x_lo, x_hi), clamp_to(*e, x_lo, x_hi));
            let (px0, py) = ctx.backend_coord(&(s, y_hi));
            let (px1, _) = ctx.backend_coord(&(e, y_hi));
            if px1 - px0 >= text_width(label, 11.0) + 8 {
                root.draw(&Text::new(
                    label.clone(),
                    (px0 + 4, py + 3),
                    text_style(11.0, MUTED, false, HPos::Left, VPos::Top),
                ))?;
            }
        }

        if let Some(b) = baseline_on_scale {
            let b = clamp_to(b, y_lo, y_hi);
            ctx.draw_series(DashedLineSeries::new(
                vec![(x_lo, b), (x_hi, b)],
                2,
                3,
                MUTED.stroke_width(1),
            ))?;
        }

        // Data: the main series, then extra lines on top.
        ctx.draw_series(LineSeries::new(
            series_drawn.iter().copied(),
            SERIES.stroke_width(1),
        ))?;
        if series_drawn.len() <= 60 {
            ctx.draw_series(
                series_drawn
                    .iter()
                    .map(|p| Circle::new(*p, 2, SERIES.filled())),
            )?;
        }
        for (i, (_, pts, _)) in extras.iter().enumerate() {
            let colour = EXTRA_COLOURS[i % EXTRA_COLOURS.len()];
            ctx.draw_series(LineSeries::new(pts.iter().map(fit), colour.stroke_width(2)))?;
            if pts.len() == 1 {
                ctx.draw_series(pts.iter().map(|p| Circle::new(fit(p), 3, colour.filled())))?;
            }
        }

        // Bounds, above the data so they always show.
        let mut used: Vec<(i32, i32)> = Vec::new();
        let mut off_scale_row = 0;
        let mut by_height: Vec<&Bound> = bounds.iter().collect();
        // Top line first, so its label takes the space above it.
        by_height.sort_by(|a, b| b.value.total_cmp(&a.value));
        for b in by_height {
            let (line_colour, text_colour) = match b.kind() {
                BoundKind::Critical => (CRITICAL, CRITICAL),
                BoundKind::Warning => (WARNING, RGBColor(0xA8, 0x55, 0x00)),
                BoundKind::Other => (MUTED, MUTED),
            };
            let text = format!("{} {}", b.label, with_unit(b.value, &unit));
            if !b.on_scale {
                let side = if b.value > y_hi { "above" } else { "below" };
                let (px, py) = ctx.backend_coord(&(x_hi, y_hi));
                root.draw(&Text::new(
                    format!("{text}: off scale ({side})"),
                    (px - 4, py + 3 + off_scale_row * 14),
                    text_style(11.0, text_colour, false, HPos::Right, VPos::Top),
                ))?;
                off_scale_row += 1;
                continue;
            }
            let value = clamp_to(b.value, y_lo, y_hi);
            let pts = vec![(x_lo, value), (x_hi, value)];
            match b.kind() {
                BoundKind::Critical => {
                    ctx.draw_series(LineSeries::new(pts, line_colour.stroke_width(2)))?;
                }
                BoundKind::Warning => {
                    ctx.draw_series(DashedLineSeries::new(
                        pts,
                        8,
                        5,
                        line_colour.stroke_width(2),
                    ))?;
                }
                BoundKind::Other => {
                    ctx.draw_series(DashedLineSeries::new(
                        pts,
                        3,
                        3,
                        line_colour.stroke_width(1),
                    ))?;
                }
            }
            let (px, py) = ctx.backend_coord(&(x_hi, value));
            let (ly, vpos) = place_line_label(&mut used, py);
            draw_halo_label(
                root,
                text,
                (px - 4, ly),
                text_style(11.0, text_colour, true, HPos::Right, vpos),
            )?;
        }

        // Breaches: red triangles on the series, a few labelled.
        let mut last_label_px = i32::MIN;
        let mut labelled = 0;
        for (t, label) in &breaches {
            let y = breach_y(*t);
            ctx.draw_series(std::iter::once(TriangleMarker::new(
                (*t, y),
                6,
                CRITICAL.filled(),
            )))?;
            let (px, py) = ctx.backend_coord(&(*t, y));
            if labelled < MAX_BREACH_LABELS
                && !label.is_empty()
                && px.saturating_sub(last_label_px) > 70
            {
                // Keep the label inside the plot horizontally.
                let (left, _) = ctx.backend_coord(&(x_lo, y_lo));
                let (right, _) = ctx.backend_coord(&(x_hi, y_lo));
                let half = text_width(label, 10.0) / 2 + 4;
                let lx = px.clamp(left + half, (right - half).max(left + half));
                draw_halo_label(
                    root,
                    label.clone(),
                    (lx, py - 9),
                    text_style(10.0, CRITICAL, false, HPos::Center, VPos::Bottom),
                )?;
                last_label_px = px;
                labelled += 1;
            }
        }

        // Legend under the title.
        let mut items: Vec<LegendItem> = Vec::new();
        if !series.is_empty() {
            items.push(LegendItem::Line("samples".into(), SERIES, 1));
        }
        for (i, (name, pts, _)) in extras.iter().enumerate() {
            if !pts.is_empty() {
                let colour = EXTRA_COLOURS[i % EXTRA_COLOURS.len()];
                items.push(LegendItem::Line(name.clone(), colour, 2));
            }
        }
        for b in bounds.iter().filter(|b| b.on_scale) {
            items.push(match b.kind() {
                BoundKind::Critical => LegendItem::Line(b.label.clone(), CRITICAL, 2),
                BoundKind::Warning => LegendItem::Dashed(b.label.clone(), WARNING, 2),
                BoundKind::Other => LegendItem::Dashed(b.label.clone(), MUTED, 1),
            });
        }
        if baseline_on_scale.is_some() {
            items.push(LegendItem::Dashed("baseline level".into(), MUTED, 1));
        }
        if !breaches.is_empty() {
            items.push(LegendItem::Triangle("breach".into(), CRITICAL));
        }
        draw_legend(root, &items, 78, 40, WIDTH as i32 - 12)?;
        Ok(())
    })
}

/// The text alternative of a time series chart.
#[allow(clippy::too_many_arguments)]
fn describe(
    chart: &TimeSeriesChart,
    title: &str,
    unit: &str,
    stats: &RawStats,
    series: &[(f64, f64)],
    bounds: &[Bound],
    baseline_level: Option<f64>,
    extras: &[Extra],
    bands: &[(String, f64, f64)],
) -> String {
    let tz = chart.tz_offset_s;
    let mut d = String::new();
    let what = if title.is_empty() { "Metric" } else { title };
    if stats.count > 0 {
        let t0 = stats.t_min;
        let _ = write!(
            d,
            "{what}: time series{} from {} to {} ({}), {} points",
            if unit.is_empty() {
                String::new()
            } else {
                format!(" in {unit}")
            },
            date_hhmm(t0, tz),
            prose_time(stats.t_max, t0, tz),
            tz_label(tz),
            stats.count
        );
        if stats.count < stats.given {
            let _ = write!(d, " ({} skipped as not numeric)", stats.given - stats.count);
        }
        if series.len() < stats.count {
            let _ = write!(d, ", drawn as {} after min/max downsampling", series.len());
        }
        let _ = write!(
            d,
            ". Minimum {} at {}, maximum {} at {}.",
            with_unit(stats.min.1, unit),
            prose_time(stats.min.0, t0, tz),
            with_unit(stats.max.1, unit),
            prose_time(stats.max.0, t0, tz)
        );
    } else {
        let _ = write!(d, "{what}: no samples for the main series.");
    }
    let t0 = if stats.count > 0 {
        stats.t_min
    } else {
        extras
            .iter()
            .map(|e| e.2.t_min)
            .fold(f64::INFINITY, f64::min)
    };

    if !bands.is_empty() {
        let parts: Vec<String> = bands
            .iter()
            .map(|(l, s, e)| format!("{l} {}–{}", prose_time(*s, t0, tz), prose_time(*e, t0, tz)))
            .collect();
        let _ = write!(d, " Phases: {}.", list_with_more(&parts, 6));
    }
    if let Some(b) = baseline_level {
        let _ = write!(d, " Baseline level {}.", with_unit(b, unit));
    }
    for (i, b) in bounds.iter().enumerate() {
        let side = match b.direction {
            BoundDirection::Above => "at or above",
            BoundDirection::Below => "at or below",
        };
        let name = if b.label.is_empty() {
            "Bound"
        } else {
            &b.label
        };
        let _ = write!(d, " {name} bound {}", with_unit(b.value, unit));
        if !b.on_scale {
            let _ = write!(d, " (off the chart's scale)");
        }
        let n = stats.beyond.get(i).copied().unwrap_or(0);
        if n == 0 || stats.count == 0 {
            let _ = write!(d, ": not crossed.");
            continue;
        }
        let runs = stretches(series, b);
        let parts: Vec<String> = runs
            .iter()
            .map(|(s, e)| {
                if hhmm(*s, tz) == hhmm(*e, tz) {
                    prose_time(*s, t0, tz)
                } else {
                    format!("{}–{}", prose_time(*s, t0, tz), prose_time(*e, t0, tz))
                }
            })
            .collect();
        let _ = write!(
            d,
            ": {n} of {} points {side} it, in {} stretch{}: {}.",
            stats.count,
            runs.len(),
            if runs.len() == 1 { "" } else { "es" },
            list_with_more(&parts, 4)
        );
    }
    for (name, _, s) in extras {
        if s.count > 0 {
            let _ = write!(
                d,
                " {}: from {} to {}.",
                if name.is_empty() { "Line" } else { name },
                with_unit(s.min.1, unit),
                with_unit(s.max.1, unit)
            );
        }
    }
    let mut marked: Vec<(f64, &String)> = chart
        .breaches
        .iter()
        .filter(|b| b.0.is_finite())
        .map(|(t, l)| (*t, l))
        .collect();
    marked.sort_by(|a, b| a.0.total_cmp(&b.0));
    let shown: Vec<String> = marked
        .iter()
        .take(6)
        .map(|(t, l)| {
            let l = clean_text(l, 40);
            if l.is_empty() {
                prose_time(*t, t0, tz)
            } else {
                format!("{} {l}", prose_time(*t, t0, tz))
            }
        })
        .collect();
    if !marked.is_empty() {
        let mut list = shown.join("; ");
        if marked.len() > shown.len() {
            let _ = write!(list, "; and {} more", marked.len() - shown.len());
        }
        let _ = write!(
            d,
            " {} breach{} marked: {list}.",
            marked.len(),
            if marked.len() == 1 { "" } else { "es" },
        );
    }
    d
}
