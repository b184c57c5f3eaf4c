//! Phase timeline: planned (grey, upper) and actual (coloured by status,
//! lower) bars per phase, with the status written at the right.

use std::fmt::Write as _;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::GanttRow;
use super::common::*;

const MAX_ROWS: usize = 30;
const ROW_PX: u32 = 30;
const TITLE: &str = "Phases: planned vs actual";
const PLANNED: RGBColor = RGBColor(0xC8, 0xC8, 0xC8);
const NEUTRAL: RGBColor = RGBColor(0x5C, 0x6B, 0x7A);

/// A drawn row: label, planned span, actual span, status (all cleaned).
type Shown = (String, Option<(f64, f64)>, Option<(f64, f64)>, String);

fn span_of(p: Option<(f64, f64)>) -> Option<(f64, f64)> {
    p.filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(a, b)| (a.min(b), a.max(b)))
}

/// Colour of an actual bar from its free-text status.
fn status_colour(status: &str) -> RGBColor {
    let s = status.to_lowercase();
    if ["crit", "fail", "abort", "error", "rollback", "rolled"]
        .iter()
        .any(|k| s.contains(k))
    {
        CRITICAL
    } else if ["warn", "late", "overrun", "slow", "partial"]
        .iter()
        .any(|k| s.contains(k))
    {
        WARNING
    } else if ["ok", "done", "complete", "success", "pass", "finished"]
        .iter()
        .any(|k| s.contains(k))
    {
        OK_GREEN
    } else {
        NEUTRAL
    }
}

/// Renders planned vs actual bars per phase (800 wide, 30 px per row, at
/// most 30 rows; further rows are counted in the desc). Times are labelled
/// HH:MM at `tz_offset_s`.
pub fn gantt_svg(rows: &[GanttRow], tz_offset_s: i32) -> String {
    let tz = tz_offset_s;
    let shown: Vec<Shown> = rows
        .iter()
        .take(MAX_ROWS)
        .map(|r| {
            (
                clean_text(&r.label, 60),
                span_of(r.planned),
                span_of(r.actual),
                clean_text(&r.status, 40),
            )
        })
        .collect();
    let (mut x_lo, mut x_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (_, p, a, _) in &shown {
        for (s, e) in p.iter().chain(a.iter()) {
            x_lo = x_lo.min(*s);
            x_hi = x_hi.max(*e);
        }
    }
    let n = shown.len();
    let height = 96 + ROW_PX * n.max(1) as u32;
    if !(x_lo <= x_hi) {
        let desc = format!(
            "{TITLE}: no phase times to chart ({} phases given).",
            rows.len()
        );
        return no_data_svg((WIDTH, 200), TITLE, &desc, "no data");
    }
    x_lo = x_lo.max(-1e13);
    x_hi = x_hi.min(1e13);
    let span = x_hi - x_lo;
    if !(span > 0.0) || !span.is_finite() {
        x_lo -= 300.0;
        x_hi += 300.0;
    } else {
        x_lo -= span * 0.02;
        x_hi += span * 0.02;
    }

    let desc = describe(rows, tz);
    let nf = n as f64;

    render_chart((WIDTH, height), TITLE, &desc, |root| {
        draw_title(root, TITLE)?;
        let mut ctx = ChartBuilder::on(root)
            .margin_top(48)
            .margin_right(120)
            .margin_left(8)
            .margin_bottom(6)
            .x_label_area_size(40)
            .y_label_area_size(170)
            .build_cartesian_2d(
                TimeAxis {
                    start: x_lo,
                    end: x_hi,
                    tz_offset_s: tz,
                },
                ValueAxis { lo: 0.0, hi: nf },
            )?;
        // Zebra rows first, under the grid.
        for i in (0..n).step_by(2) {
            let top = nf - i as f64;
            ctx.draw_series(std::iter::once(Rectangle::new(
                [(x_lo, top), (x_hi, top - 1.0)],
                RGBColor(0xF4, 0xF4, 0xF4).filled(),
            )))?;
        }
        let t_span = x_hi - x_lo;
        let x_fmt = |t: &f64| time_tick_label(*t, t_span, 8, tz);
        ctx.configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(8)
            .max_light_lines(0)
            .bold_line_style(GRID.stroke_width(1))
            .axis_style(FAINT.stroke_width(1))
            .x_label_formatter(&x_fmt)
            .label_style(text_style(12.0, MUTED, false, HPos::Center, VPos::Top))
            .axis_desc_style(text_style(13.0, INK, false, HPos::Center, VPos::Top))
            .x_desc(format!("Time ({})", tz_label(tz)))
            .draw()?;

        let (plot_left, _) = ctx.backend_coord(&(x_lo, 0.0));
        let (plot_right, _) = ctx.backend_coord(&(x_hi, 0.0));
        // Bars in pixel space, at least 3 px wide so instants show.
        let bar = |s: f64, e: f64, y_top: f64, y_bottom: f64| {
            let (x0, y0) = ctx.backend_coord(&(s, y_top));
            let (x1, y1) = ctx.backend_coord(&(e, y_bottom));
            let x1 = x1.max(x0 + 3);
            [(x0, y0), (x1, y1)]
        };
        for (i, (label, planned, actual, status)) in shown.iter().enumerate() {
            let top = nf - i as f64;
            if let Some((s, e)) = planned {
                let r = bar(*s, *e, top - 0.14, top - 0.46);
                root.draw(&Rectangle::new(r, PLANNED.filled()))?;
                root.draw(&Rectangle::new(r, MUTED.stroke_width(1)))?;
            }
            if let Some((s, e)) = actual {
                let r = bar(*s, *e, top - 0.54, top - 0.86);
                root.draw(&Rectangle::new(r, status_colour(status).filled()))?;
                root.draw(&Rectangle::new(r, INK.stroke_width(1)))?;
            }
            let (_, cy) = ctx.backend_coord(&(x_lo, top - 0.5));
            root.draw(&Text::new(
                clean_text(label, 26),
                (plot_left - 8, cy),
                text_style(12.0, INK, false, HPos::Right, VPos::Center),
            ))?;
            let status_text = match (actual, status.is_empty()) {
                (None, true) => "not run".to_string(),
                (_, true) => String::new(),
                (_, false) => clean_text(status, 16),
            };
            root.draw(&Text::new(
                status_text,
                (plot_right + 8, cy),
                text_style(12.0, status_colour(status), true, HPos::Left, VPos::Center),
            ))?;
        }
        draw_legend(
            root,
            &[
                LegendItem::Swatch("planned".into(), PLANNED, 1.0),
                LegendItem::Swatch("actual (colour = status)".into(), OK_GREEN, 1.0),
            ],
            plot_left,
            36,
            WIDTH as i32 - 12,
        )?;
        Ok(())
    })
}

fn describe(rows: &[GanttRow], tz: i32) -> String {
    let t0 = rows
        .iter()
        .flat_map(|r| [span_of(r.planned), span_of(r.actual)])
        .flatten()
        .map(|(s, _)| s)
        .fold(f64::INFINITY, f64::min);
    let mut d = format!("{TITLE} ({}), {} phases.", tz_label(tz), rows.len());
    for r in rows.iter().take(12) {
        let label = clean_text(&r.label, 60);
        let _ = write!(d, " {}:", if label.is_empty() { "phase" } else { &label });
        let planned = span_of(r.planned);
        let actual = span_of(r.actual);
        match planned {
            Some((s, e)) => {
                let _ = write!(
                    d,
                    " planned {}–{} ({})",
                    prose_time(s, t0, tz),
                    prose_time(e, t0, tz),
                    fmt_duration(e - s)
                );
            }
            None => d.push_str(" not planned"),
        }
        match actual {
            Some((s, e)) => {
                let _ = write!(
                    d,
                    ", actual {}–{} ({})",
                    prose_time(s, t0, tz),
                    prose_time(e, t0, tz),
                    fmt_duration(e - s)
                );
                if let Some((ps, pe)) = planned {
                    let late = s - ps;
                    if late.abs() >= 60.0 {
                        let _ = write!(
                            d,
                            ", started {} {}",
                            fmt_duration(late.abs()),
                            if late > 0.0 { "late" } else { "early" }
                        );
                    }
                    let longer = (e - s) - (pe - ps);
                    if longer.abs() >= 60.0 {
                        let _ = write!(
                            d,
                            ", ran {} {}",
                            fmt_duration(longer.abs()),
                            if longer > 0.0 { "longer" } else { "shorter" }
                        );
                    }
                }
            }
            None => d.push_str(", did not run"),
        }
        let status = clean_text(&r.status, 40);
        if !status.is_empty() {
            let _ = write!(d, ", status {status}");
        }
        d.push('.');
    }
    if rows.len() > 12 {
        let _ = write!(d, " And {} more phases.", rows.len() - 12);
    }
    if rows.len() > MAX_ROWS {
        let _ = write!(d, " Only the first {MAX_ROWS} are drawn.");
    }
    d
}
