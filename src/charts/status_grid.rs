//! Status of each metric in the baseline, during and post windows: a grid of
//! cells with colour AND an icon and word in each cell, so it reads in grey
//! print too.

use std::fmt::Write as _;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::common::*;

const MAX_ROWS: usize = 40;
const ROW_PX: i32 = 26;
const TITLE: &str = "Status by phase";
const COLUMNS: [&str; 3] = ["Baseline", "During", "Post"];
const LABEL_X: i32 = 16;
const FIRST_COL_X: i32 = 350;
const COL_W: i32 = 142;
const HEADER_Y: i32 = 44;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Warning,
    Critical,
    NoData,
    Other,
}

fn parse(s: &str) -> Status {
    let n: String = s
        .trim()
        .chars()
        .map(|c| {
            if c == ' ' || c == '-' {
                '_'
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect();
    match n.as_str() {
        "OK" | "PASS" => Status::Ok,
        "WARNING" | "WARN" => Status::Warning,
        "CRITICAL" | "CRIT" => Status::Critical,
        "NO_DATA" | "NODATA" | "" | "N/A" | "NA" => Status::NoData,
        _ => Status::Other,
    }
}

/// (fill, cell text, text colour, bold) of a status.
fn look(raw: &str) -> (RGBColor, String, RGBColor, bool) {
    match parse(raw) {
        Status::Ok => (
            RGBColor(0xCD, 0xEB, 0xD0),
            "✓ OK".into(),
            RGBColor(0x1B, 0x5E, 0x20),
            false,
        ),
        Status::Warning => (
            RGBColor(0xFF, 0xE0, 0x99),
            "! WARNING".into(),
            RGBColor(0x6D, 0x40, 0x00),
            true,
        ),
        Status::Critical => (
            RGBColor(0xF2, 0xA7, 0xA7),
            "✕ CRITICAL".into(),
            RGBColor(0x7F, 0x00, 0x00),
            true,
        ),
        Status::NoData => (RGBColor(0xEE, 0xEE, 0xEE), "– no data".into(), MUTED, false),
        Status::Other => (WHITE, clean_text(raw, 16), INK, false),
    }
}

/// Renders the status grid: one row per metric (at most 40 drawn; further
/// rows are counted in the desc), columns baseline / during / post. A status
/// is OK, WARNING, CRITICAL or NO_DATA (case and `-`/space insensitive);
/// anything else is written as given on a white cell.
pub fn status_grid_svg(rows: &[(String, [String; 3])]) -> String {
    let desc = describe(rows);
    if rows.is_empty() {
        return no_data_svg((WIDTH, 200), TITLE, &desc, "no data");
    }
    let shown = &rows[..rows.len().min(MAX_ROWS)];
    let more = rows.len() - shown.len();
    let height = (HEADER_Y + ROW_PX * (shown.len() as i32 + 1) + 16 + if more > 0 { 20 } else { 0 })
        .max(120) as u32;

    render_chart((WIDTH, height), TITLE, &desc, |root| {
        draw_title(root, TITLE)?;
        let right = FIRST_COL_X + COL_W * 3;
        // Header row.
        let hy = HEADER_Y + ROW_PX / 2;
        root.draw(&Text::new(
            "Metric".to_string(),
            (LABEL_X, hy),
            text_style(13.0, INK, true, HPos::Left, VPos::Center),
        ))?;
        for (c, name) in COLUMNS.iter().enumerate() {
            root.draw(&Text::new(
                name.to_string(),
                (FIRST_COL_X + COL_W * c as i32 + COL_W / 2, hy),
                text_style(13.0, INK, true, HPos::Center, VPos::Center),
            ))?;
        }
        root.draw(&PathElement::new(
            vec![(LABEL_X, HEADER_Y + ROW_PX), (right, HEADER_Y + ROW_PX)],
            INK.stroke_width(1),
        ))?;

        for (r, (label, statuses)) in shown.iter().enumerate() {
            let y0 = HEADER_Y + ROW_PX * (r as i32 + 1);
            let y1 = y0 + ROW_PX;
            let cy = y0 + ROW_PX / 2;
            if r % 2 == 1 {
                root.draw(&Rectangle::new(
                    [(LABEL_X - 4, y0), (FIRST_COL_X, y1)],
                    RGBColor(0xF6, 0xF6, 0xF6).filled(),
                ))?;
            }
            root.draw(&Text::new(
                clean_text(label, 48),
                (LABEL_X, cy),
                text_style(12.0, INK, false, HPos::Left, VPos::Center),
            ))?;
            for (c, raw) in statuses.iter().enumerate() {
                let (fill, text, colour, bold) = look(raw);
                let x0 = FIRST_COL_X + COL_W * c as i32;
                let cell = [(x0 + 2, y0 + 2), (x0 + COL_W - 2, y1 - 2)];
                root.draw(&Rectangle::new(cell, fill.filled()))?;
                if parse(raw) == Status::Critical {
                    // A heavier border, so critical stands out in grey print.
                    root.draw(&Rectangle::new(cell, colour.stroke_width(2)))?;
                }
                root.draw(&Text::new(
                    text,
                    (x0 + COL_W / 2, cy),
                    text_style(12.0, colour, bold, HPos::Center, VPos::Center),
                ))?;
            }
        }
        if more > 0 {
            let y = HEADER_Y + ROW_PX * (shown.len() as i32 + 1) + 6;
            root.draw(&Text::new(
                format!("… and {more} more metrics (listed in the text alternative)"),
                (LABEL_X, y),
                text_style(12.0, MUTED, false, HPos::Left, VPos::Top),
            ))?;
        }
        Ok(())
    })
}

fn describe(rows: &[(String, [String; 3])]) -> String {
    if rows.is_empty() {
        return format!("{TITLE}: no metrics to show.");
    }
    let mut d = format!(
        "{TITLE}: {} metrics, each in the baseline, during and post windows.",
        rows.len()
    );
    for (c, name) in COLUMNS.iter().enumerate() {
        let count = |s: Status| rows.iter().filter(|r| parse(&r.1[c]) == s).count();
        let _ = write!(
            d,
            " {name}: {} OK, {} WARNING, {} CRITICAL, {} no data",
            count(Status::Ok),
            count(Status::Warning),
            count(Status::Critical),
            count(Status::NoData)
        );
        let other = count(Status::Other);
        if other > 0 {
            let _ = write!(d, ", {other} other");
        }
        d.push('.');
    }
    let mut flagged: Vec<String> = Vec::new();
    let mut n_flagged = 0usize;
    for (label, statuses) in rows {
        for (c, raw) in statuses.iter().enumerate() {
            let s = parse(raw);
            if matches!(s, Status::Warning | Status::Critical | Status::Other) {
                n_flagged += 1;
                if flagged.len() < 12 {
                    let word = match s {
                        Status::Warning => "WARNING".to_string(),
                        Status::Critical => "CRITICAL".to_string(),
                        _ => clean_text(raw, 20),
                    };
                    flagged.push(format!(
                        "{} {}: {word}",
                        clean_text(label, 48),
                        COLUMNS[c].to_lowercase()
                    ));
                }
            }
        }
    }
    if n_flagged > 0 {
        let _ = write!(d, " Not OK: {}", flagged.join("; "));
        if n_flagged > flagged.len() {
            let _ = write!(d, "; and {} more", n_flagged - flagged.len());
        }
        d.push('.');
    } else {
        d.push_str(" No warning or critical status.");
    }
    d
}
