//! Kill-switch checks: one bar per check (response time), warning and
//! critical lines, and a distinct cross marked "no answer" for a check that
//! got no response.

use std::fmt::Write as _;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::common::*;

const HEIGHT: u32 = 300;
/// Beyond this many checks, consecutive checks are grouped into one bar.
const MAX_BARS: usize = 48;
const MAX_AXIS_LABELS: usize = 12;
const TITLE: &str = "Kill-switch checks: response time";

/// One drawn bar: a check, or a group of consecutive checks.
struct Slot {
    label: String,
    t: f64,
    /// Slowest answered response in the slot.
    response: Option<f64>,
    answered: usize,
    no_answer: usize,
}

fn level_colour(v: f64, warning: f64, critical: f64) -> RGBColor {
    if critical.is_finite() && v >= critical {
        CRITICAL
    } else if warning.is_finite() && v >= warning {
        WARNING
    } else {
        SERIES
    }
}

/// Renders the kill-switch checks (800×300).
///
/// `checkpoints` are (label, unix seconds, response in ms or `None` when the
/// check got no answer), drawn in the given order; a non-finite response
/// counts as no answer. `warning` and `critical` are in ms (a non-finite one
/// is not drawn). Times are labelled HH:MM at `tz_offset_s`.
pub fn kill_switch_svg(
    checkpoints: &[(String, f64, Option<f64>)],
    warning: f64,
    critical: f64,
    tz_offset_s: i32,
) -> String {
    let tz = tz_offset_s;
    let response = |r: &Option<f64>| r.filter(|v| v.is_finite());
    let n = checkpoints.len();
    if n == 0 {
        let desc = format!("{TITLE}: no checks to chart.");
        return no_data_svg((WIDTH, HEIGHT), TITLE, &desc, "no data");
    }

    let group = n.div_ceil(MAX_BARS);
    let slots: Vec<Slot> = checkpoints
        .chunks(group)
        .map(|chunk| {
            let answered: Vec<f64> = chunk.iter().filter_map(|c| response(&c.2)).collect();
            let first = &chunk[0];
            let mut label = clean_text(&first.0, 40);
            if chunk.len() > 1 {
                let _ = write!(label, " +{}", chunk.len() - 1);
            }
            Slot {
                label,
                t: first.1,
                response: answered.iter().copied().reduce(f64::max),
                answered: answered.len(),
                no_answer: chunk.len() - answered.len(),
            }
        })
        .collect();

    let finite_max = checkpoints
        .iter()
        .filter_map(|c| response(&c.2))
        .chain([warning, critical].into_iter().filter(|v| v.is_finite()))
        .fold(f64::NEG_INFINITY, f64::max);
    let finite_min = checkpoints
        .iter()
        .filter_map(|c| response(&c.2))
        .fold(0.0, f64::min);
    let y_hi = if finite_max.is_finite() && finite_max > 0.0 {
        finite_max * 1.18
    } else {
        1.0
    };
    let y_lo = if finite_min < 0.0 {
        finite_min * 1.1
    } else {
        0.0
    };
    let (y_lo, y_hi) = sane_range(y_lo, y_hi);

    let desc = describe(checkpoints, warning, critical, tz, group);
    let count = slots.len();
    let stride = count.div_ceil(MAX_AXIS_LABELS).max(1);

    render_chart((WIDTH, HEIGHT), TITLE, &desc, |root| {
        draw_title(root, TITLE)?;
        let mut ctx = ChartBuilder::on(root)
            .margin_top(56)
            .margin_right(18)
            .margin_left(8)
            .margin_bottom(6)
            .x_label_area_size(52)
            .y_label_area_size(62)
            .build_cartesian_2d(
                ValueAxis {
                    lo: 0.0,
                    hi: count as f64,
                },
                ValueAxis { lo: y_lo, hi: y_hi },
            )?;
        let y_fmt = |v: &f64| fmt_num(*v);
        ctx.configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(6)
            .max_light_lines(0)
            .bold_line_style(GRID.stroke_width(1))
            .axis_style(FAINT.stroke_width(1))
            .y_label_formatter(&y_fmt)
            .label_style(text_style(12.0, MUTED, false, HPos::Center, VPos::Top))
            .axis_desc_style(text_style(13.0, INK, false, HPos::Center, VPos::Top))
            .x_desc(format!("Check (time, {})", tz_label(tz)))
            .y_desc("response (ms)")
            .draw()?;

        let (left, _) = ctx.backend_coord(&(0.0, y_lo));
        let (right, bottom) = ctx.backend_coord(&(count as f64, y_lo));
        let slot_px = (right - left) / count.max(1) as i32;

        for (i, s) in slots.iter().enumerate() {
            let x = i as f64;
            if let Some(v) = s.response {
                let colour = level_colour(v, warning, critical);
                ctx.draw_series(std::iter::once(Rectangle::new(
                    [
                        (x + 0.18, y_lo.max(0.0).min(v)),
                        (x + 0.82, clamp_to(v, y_lo, y_hi)),
                    ],
                    colour.filled(),
                )))?;
                if slot_px >= 28 {
                    let (px, py) = ctx.backend_coord(&(x + 0.5, clamp_to(v, y_lo, y_hi)));
                    root.draw(&Text::new(
                        fmt_num(v),
                        (px, py - 3),
                        text_style(11.0, INK, false, HPos::Center, VPos::Bottom),
                    ))?;
                }
            }
            if s.no_answer > 0 {
                // A cross on the axis, with "no answer" above it.
                let (px, _) = ctx.backend_coord(&(x + 0.5, y_lo));
                let cy = bottom - 12;
                root.draw(&Cross::new((px, cy), 7, CRITICAL.stroke_width(3)))?;
                let label = if s.answered > 0 {
                    format!("no answer ×{}", s.no_answer)
                } else {
                    "no answer".to_string()
                };
                // Narrow slots carry no text: the legend names the cross.
                if slot_px >= text_width(&label, 11.0) + 4 {
                    root.draw(&Text::new(
                        label,
                        (px, cy - 12),
                        text_style(11.0, CRITICAL, true, HPos::Center, VPos::Bottom),
                    ))?;
                }
            }
            if i % stride == 0 {
                let (px, _) = ctx.backend_coord(&(x + 0.5, y_lo));
                // Grouped bars are named by time only.
                let time_y = if group == 1 {
                    let room = (slot_px * stride as i32 - 4).max(20);
                    let max_chars = (room as f64 / (11.0 * 0.52)).floor().max(3.0) as usize;
                    root.draw(&Text::new(
                        clean_text(&s.label, max_chars),
                        (px, bottom + 6),
                        text_style(11.0, INK, false, HPos::Center, VPos::Top),
                    ))?;
                    bottom + 20
                } else {
                    bottom + 6
                };
                let time = if s.t.is_finite() {
                    hhmm(s.t, tz)
                } else {
                    "?".to_string()
                };
                root.draw(&Text::new(
                    time,
                    (px, time_y),
                    text_style(11.0, MUTED, false, HPos::Center, VPos::Top),
                ))?;
            }
        }

        // Bound lines over the bars.
        let mut used: Vec<(i32, i32)> = Vec::new();
        let mut lines = [
            ("warning", warning, WARNING, RGBColor(0xA8, 0x55, 0x00)),
            ("critical", critical, CRITICAL, CRITICAL),
        ];
        // Top line first, so its label takes the space above it.
        lines.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (name, value, colour, text_colour) in lines {
            if !value.is_finite() || value < y_lo || value > y_hi {
                continue;
            }
            let pts = vec![(0.0, value), (count as f64, value)];
            if name == "critical" {
                ctx.draw_series(LineSeries::new(pts, colour.stroke_width(2)))?;
            } else {
                ctx.draw_series(DashedLineSeries::new(pts, 8, 5, colour.stroke_width(2)))?;
            }
            let (px, py) = ctx.backend_coord(&(count as f64, value));
            let (ly, vpos) = place_line_label(&mut used, py);
            draw_halo_label(
                root,
                format!("{name} {} ms", fmt_num(value)),
                (px - 4, ly),
                text_style(11.0, text_colour, true, HPos::Right, vpos),
            )?;
        }

        let mut items = vec![LegendItem::Swatch("below warning".into(), SERIES, 1.0)];
        if warning.is_finite() {
            items.push(LegendItem::Swatch("≥ warning".into(), WARNING, 1.0));
        }
        if critical.is_finite() {
            items.push(LegendItem::Swatch("≥ critical".into(), CRITICAL, 1.0));
        }
        if slots.iter().any(|s| s.no_answer > 0) {
            items.push(LegendItem::Cross("no answer".into(), CRITICAL));
        }
        draw_legend(root, &items, 78, 40, WIDTH as i32 - 12)?;
        Ok(())
    })
}

fn describe(
    checkpoints: &[(String, f64, Option<f64>)],
    warning: f64,
    critical: f64,
    tz: i32,
    group: usize,
) -> String {
    let response = |r: &Option<f64>| r.filter(|v| v.is_finite());
    let times: Vec<f64> = checkpoints
        .iter()
        .map(|c| c.1)
        .filter(|t| t.is_finite())
        .collect();
    let t0 = times.iter().copied().fold(f64::INFINITY, f64::min);
    let t1 = times.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let name = |c: &(String, f64, Option<f64>)| {
        let l = clean_text(&c.0, 40);
        if c.1.is_finite() {
            format!("{l} ({})", prose_time(c.1, t0, tz))
        } else {
            l
        }
    };
    let mut d = format!("{TITLE}: {} checks", checkpoints.len());
    if t0.is_finite() {
        let _ = write!(
            d,
            " from {} to {} ({})",
            date_hhmm(t0, tz),
            prose_time(t1, t0, tz),
            tz_label(tz)
        );
    }
    d.push('.');
    if warning.is_finite() {
        let _ = write!(d, " Warning bound {} ms.", fmt_num(warning));
    }
    if critical.is_finite() {
        let _ = write!(d, " Critical bound {} ms.", fmt_num(critical));
    }
    let answered: Vec<&(String, f64, Option<f64>)> = checkpoints
        .iter()
        .filter(|c| response(&c.2).is_some())
        .collect();
    let slowest = answered.iter().copied().reduce(|a, b| {
        if response(&b.2) > response(&a.2) {
            b
        } else {
            a
        }
    });
    let _ = write!(d, " {} answered", answered.len());
    if let Some(c) = slowest {
        let _ = write!(
            d,
            "; slowest {} ms at {}",
            fmt_num(response(&c.2).unwrap_or(f64::NAN)),
            name(c)
        );
    }
    d.push('.');
    let at_or_above = |bound: f64| -> Vec<String> {
        if !bound.is_finite() {
            return Vec::new();
        }
        answered
            .iter()
            .filter(|c| response(&c.2).is_some_and(|v| v >= bound))
            .take(7)
            .map(|c| {
                format!(
                    "{} {} ms",
                    name(c),
                    fmt_num(response(&c.2).unwrap_or(f64::NAN))
                )
            })
            .collect()
    };
    let count_at_or_above = |bound: f64| {
        answered
            .iter()
            .filter(|c| bound.is_finite() && response(&c.2).is_some_and(|v| v >= bound))
            .count()
    };
    for (what, bound) in [("warning", warning), ("critical", critical)] {
        let list = at_or_above(bound);
        if bound.is_finite() {
            let n = count_at_or_above(bound);
            if n == 0 {
                let _ = write!(d, " None at or above {what}.");
            } else {
                let _ = write!(
                    d,
                    " {n} at or above {what}: {}{}.",
                    list.iter().take(6).cloned().collect::<Vec<_>>().join("; "),
                    if n > 6 {
                        format!("; and {} more", n - 6)
                    } else {
                        String::new()
                    }
                );
            }
        }
    }
    let silent: Vec<String> = checkpoints
        .iter()
        .filter(|c| response(&c.2).is_none())
        .take(7)
        .map(name)
        .collect();
    let n_silent = checkpoints
        .iter()
        .filter(|c| response(&c.2).is_none())
        .count();
    if n_silent > 0 {
        let _ = write!(
            d,
            " {n_silent} with no answer: {}{}.",
            silent
                .iter()
                .take(6)
                .cloned()
                .collect::<Vec<_>>()
                .join("; "),
            if n_silent > 6 {
                format!("; and {} more", n_silent - 6)
            } else {
                String::new()
            }
        );
    }
    if group > 1 {
        let _ = write!(
            d,
            " Drawn in groups of {group} consecutive checks, each bar the slowest answer of its group."
        );
    }
    d
}
