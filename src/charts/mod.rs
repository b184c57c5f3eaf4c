//! Charts of the report, as self-contained SVG strings drawn with plotters.
//!
//! Every function here is pure: plain input structs in, one SVG document
//! out. Each SVG
//! - opens with `<svg role="img" aria-labelledby=…>` followed by a `<title>`
//!   (the chart title) and a `<desc>` (a generated text alternative: range,
//!   minimum/maximum, where bounds were crossed);
//! - is well-formed XML, with caller text cleaned of characters XML cannot
//!   carry and escaped;
//! - names the font list "Noto Sans Thai, Noto Sans, DejaVu Sans,
//!   sans-serif" on each text element, so Thai labels render;
//! - stays well under 300 KB whatever the input size: series are reduced
//!   with [`downsample_min_max`] to at most two points per pixel column, and
//!   every other list is capped (what is left out is counted in the desc);
//! - never panics: empty input, NaN/infinite values (skipped), one point,
//!   all-equal values and zero-width ranges give either a padded chart or a
//!   chart that says "no data".
//!
//! Times are unix seconds (f64); axis labels are HH:MM in the display
//! offset `tz_offset_s` (seconds east of UTC).

// Comparisons such as `!(hi > lo)` are meant to be true for NaN too.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

mod common;
mod downsample;
mod gantt;
mod kill_switch;
mod status_grid;
mod time_series;

#[cfg(test)]
mod tests;

pub use downsample::downsample_min_max;
pub use gantt::gantt_svg;
pub use kill_switch::kill_switch_svg;
pub use status_grid::status_grid_svg;
pub use time_series::time_series_svg;

/// One metric over time, drawn 800×300 by [`time_series_svg`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeSeriesChart {
    /// Chart title, also the SVG `<title>`.
    pub title: String,
    /// Unit of the values, e.g. "ms"; used on the y axis and in the desc.
    pub unit: String,
    /// (unix seconds, value); any order; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
    /// Shaded phase windows: "baseline" grey, "during" amber, "post" blue.
    pub bands: Vec<Band>,
    /// Horizontal bound lines: a label containing "warn" is drawn orange
    /// dashed, one containing "crit" red solid, others grey dotted.
    pub bounds: Vec<BoundLine>,
    /// The baseline's typical level, drawn as a grey dashed line.
    pub baseline_level: Option<f64>,
    /// Breach instants (unix seconds, label), marked with red triangles.
    pub breaches: Vec<(f64, String)>,
    /// Further lines over the same axis, e.g. rolling P50 and P99.
    pub extra_lines: Vec<NamedLine>,
    /// Display offset east of UTC in seconds, for HH:MM labels.
    pub tz_offset_s: i32,
}

/// A shaded time window (a phase of the canary).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Band {
    /// "baseline", "during" or "post" (others are drawn neutral grey).
    pub label: String,
    pub start: f64,
    pub end: f64,
}

/// Which side of a bound is the bad side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BoundDirection {
    /// Values at or above the bound cross it (latency, error rate).
    #[default]
    Above,
    /// Values at or below the bound cross it (throughput).
    Below,
}

/// A horizontal threshold line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BoundLine {
    /// "warning" or "critical" (or any other name).
    pub label: String,
    pub value: f64,
    /// Which side counts as crossed, for the desc (default: above).
    pub direction: BoundDirection,
}

/// An extra line drawn over a time series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NamedLine {
    pub name: String,
    /// (unix seconds, value); any order; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
}

/// One phase of the change for [`gantt_svg`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GanttRow {
    pub label: String,
    /// Planned (start, end), unix seconds.
    pub planned: Option<(f64, f64)>,
    /// Actual (start, end), unix seconds.
    pub actual: Option<(f64, f64)>,
    /// Free text shown beside the row and used to colour the actual bar
    /// ("ok"/"done" green, "warn"/"late" amber, "crit"/"fail"/"abort" red).
    pub status: String,
}
