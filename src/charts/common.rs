//! Shared helpers of the chart module: text cleaning and escaping, the final
//! accessible wrapper (`role`, `<title>`, `<desc>`), number and time
//! formatting, a time axis with HH:MM ticks, and the "no data" chart.

use std::error::Error;
use std::fmt::Write as _;
use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Font family list written on every text element. Thai-capable first, then
/// general fallbacks; plotters copies the string verbatim into
/// `font-family="…"` (XML-escaped).
pub(crate) const FONT: &str = "Noto Sans Thai, Noto Sans, DejaVu Sans, sans-serif";

pub(crate) const WIDTH: u32 = 800;

pub(crate) const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub(crate) const MUTED: RGBColor = RGBColor(0x55, 0x55, 0x55);
pub(crate) const FAINT: RGBColor = RGBColor(0x99, 0x99, 0x99);
pub(crate) const GRID: RGBColor = RGBColor(0xE3, 0xE3, 0xE3);
pub(crate) const SERIES: RGBColor = RGBColor(0x2F, 0x5D, 0x9A);
pub(crate) const WARNING: RGBColor = RGBColor(0xE0, 0x7B, 0x00);
pub(crate) const CRITICAL: RGBColor = RGBColor(0xC6, 0x28, 0x28);
pub(crate) const OK_GREEN: RGBColor = RGBColor(0x2E, 0x7D, 0x32);

/// What a drawing closure returns.
pub(crate) type DrawResult = Result<(), Box<dyn Error>>;

/// Longest `<desc>` text, in characters.
const MAX_DESC_CHARS: usize = 2000;

/// A text style in [`FONT`].
pub(crate) fn text_style(
    size: f64,
    color: RGBColor,
    bold: bool,
    h: HPos,
    v: VPos,
) -> TextStyle<'static> {
    let style = if bold {
        FontStyle::Bold
    } else {
        FontStyle::Normal
    };
    TextStyle {
        font: FontDesc::new(FontFamily::Name(FONT), size, style),
        color: color.to_backend_color(),
        pos: Pos::new(h, v),
    }
}

/// Draws into a fresh SVG string of the given size. `None` if plotters
/// reported an error (the caller then falls back to a hand-written chart).
pub(crate) fn render(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult,
) -> Option<String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).ok()?;
        draw(&root).ok()?;
        root.present().ok()?;
    }
    Some(buf)
}

/// Renders with [`render`], then [`finalize`]; on a plotters error returns a
/// hand-written chart that still carries the title and desc.
pub(crate) fn render_chart(
    size: (u32, u32),
    title: &str,
    desc: &str,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult,
) -> String {
    match render(size, draw) {
        Some(svg) => finalize(svg, title, desc),
        None => fallback_svg(size, title, desc, "chart could not be drawn"),
    }
}

/// Whether `c` may appear in an XML 1.0 document.
fn xml_char_ok(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Cleans a caller-supplied label for display: drops characters XML cannot
/// carry, turns whitespace runs into one space, trims, and keeps at most
/// `max_chars` characters (ending in "…" when cut).
pub(crate) fn clean_text(s: &str, max_chars: usize) -> String {
    let mut out = String::new();
    let mut n = 0usize;
    let mut pending_space = false;
    let mut truncated = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = n > 0;
            continue;
        }
        if !xml_char_ok(c) || c.is_control() {
            continue;
        }
        let need = if pending_space { 2 } else { 1 };
        if n + need > max_chars {
            truncated = true;
            break;
        }
        if pending_space {
            out.push(' ');
            n += 1;
            pending_space = false;
        }
        out.push(c);
        n += 1;
    }
    if truncated {
        // Make room for the ellipsis.
        if n + 1 > max_chars {
            out.pop();
        }
        format!("{}…", out.trim_end())
    } else {
        out
    }
}

/// XML-escapes text for element content or a double-quoted attribute.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if xml_char_ok(c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// A short stable id from the chart's text, so several charts inlined in one
/// HTML page do not share `id`s.
fn short_id(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("chart-{:08x}", h >> 32)
}

/// Adds `role="img"`, `aria-labelledby`, `<title>` and `<desc>` right after
/// the opening `<svg …>` tag, and rounds long decimals plotters writes.
pub(crate) fn finalize(svg: String, title: &str, desc: &str) -> String {
    let title = clean_text(title, 200);
    let desc = clean_text(desc, MAX_DESC_CHARS);
    let svg = tidy_numbers(&svg);
    let Some(start) = svg.find("<svg") else {
        return fallback_svg((WIDTH, 300), &title, &desc, "no data");
    };
    let Some(rel_end) = svg[start..].find('>') else {
        return fallback_svg((WIDTH, 300), &title, &desc, "no data");
    };
    let open_end = start + rel_end; // index of '>'
    let id = short_id(&[&title, &desc]);
    let mut out = String::with_capacity(svg.len() + title.len() + desc.len() + 200);
    out.push_str(&svg[start..start + 4]);
    let _ = write!(
        out,
        " role=\"img\" aria-labelledby=\"{id}-title {id}-desc\""
    );
    let mut head = &svg[start + 4..open_end];
    // plotters never self-closes the root, but be safe.
    let self_closing = head.ends_with('/');
    if self_closing {
        head = &head[..head.len() - 1];
    }
    out.push_str(head);
    out.push_str(">\n");
    let _ = writeln!(
        out,
        "<title id=\"{id}-title\">{}</title>\n<desc id=\"{id}-desc\">{}</desc>",
        xml_escape(&title),
        xml_escape(&desc)
    );
    if self_closing {
        out.push_str("</svg>\n");
    } else {
        out.push_str(svg[open_end + 1..].trim_start_matches('\n'));
    }
    out
}

/// Rounds the values of `font-size` and `opacity` attributes (plotters writes
/// e.g. `font-size="9.67741935483871"`) to at most two decimals.
pub(crate) fn tidy_numbers(svg: &str) -> String {
    let mut s = svg.to_string();
    for attr in [" font-size=\"", " opacity=\""] {
        let mut out = String::with_capacity(s.len());
        let mut rest = s.as_str();
        while let Some(pos) = rest.find(attr) {
            let value_start = pos + attr.len();
            out.push_str(&rest[..value_start]);
            let after = &rest[value_start..];
            let value_len = after.find('"').unwrap_or(after.len());
            let raw = &after[..value_len];
            match raw.parse::<f64>() {
                Ok(v) if v.is_finite() => out.push_str(&round_str(v, 2)),
                _ => out.push_str(raw),
            }
            rest = &after[value_len..];
        }
        out.push_str(rest);
        s = out;
    }
    s
}

/// `v` with at most `decimals` decimals, trailing zeros trimmed.
pub(crate) fn round_str(v: f64, decimals: usize) -> String {
    let mut t = format!("{v:.decimals$}");
    if t.contains('.') {
        while t.ends_with('0') {
            t.pop();
        }
        if t.ends_with('.') {
            t.pop();
        }
    }
    if t == "-0" { "0".to_string() } else { t }
}

/// A compact human number: 12345, 123, 12.5, 1.25, 1.2e-5.
pub(crate) fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".to_string();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".to_string()
    } else if !(1e-3..1e15).contains(&a) {
        format!("{v:.2e}")
    } else if a >= 100.0 {
        round_str(v, 0)
    } else if a >= 10.0 {
        round_str(v, 1)
    } else {
        round_str(v, 2)
    }
}

/// Number with unit, "250 ms"; the unit is omitted when empty.
pub(crate) fn with_unit(v: f64, unit: &str) -> String {
    if unit.is_empty() {
        fmt_num(v)
    } else {
        format!("{} {}", fmt_num(v), unit)
    }
}

/// Local seconds since the epoch, saturating for absurd inputs.
fn local_secs(t: f64, tz_offset_s: i32) -> i64 {
    let v = (t + f64::from(tz_offset_s)).floor();
    if v.is_nan() { 0 } else { v as i64 }
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// "HH:MM" in the given offset.
pub(crate) fn hhmm(t: f64, tz_offset_s: i32) -> String {
    let s = local_secs(t, tz_offset_s).rem_euclid(86_400);
    format!("{:02}:{:02}", s / 3600, s % 3600 / 60)
}

/// "HH:MM:SS" in the given offset.
pub(crate) fn hhmmss(t: f64, tz_offset_s: i32) -> String {
    let s = local_secs(t, tz_offset_s).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

/// "MM-DD" in the given offset.
pub(crate) fn month_day(t: f64, tz_offset_s: i32) -> String {
    let (_, m, d) = civil_from_days(local_secs(t, tz_offset_s).div_euclid(86_400));
    format!("{m:02}-{d:02}")
}

/// "YYYY-MM-DD HH:MM" in the given offset.
pub(crate) fn date_hhmm(t: f64, tz_offset_s: i32) -> String {
    let (y, m, d) = civil_from_days(local_secs(t, tz_offset_s).div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02} {}", hhmm(t, tz_offset_s))
}

/// "UTC", "UTC+07:00", "UTC-03:30".
pub(crate) fn tz_label(tz_offset_s: i32) -> String {
    if tz_offset_s == 0 {
        return "UTC".to_string();
    }
    let sign = if tz_offset_s < 0 { '-' } else { '+' };
    let a = tz_offset_s.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", a / 3600, a % 3600 / 60)
}

/// Same-day-aware time of `t` for prose: "10:05" when `t` falls on the same
/// local day as `reference`, else "2024-05-01 10:05".
pub(crate) fn prose_time(t: f64, reference: f64, tz_offset_s: i32) -> String {
    let same_day = local_secs(t, tz_offset_s).div_euclid(86_400)
        == local_secs(reference, tz_offset_s).div_euclid(86_400);
    if same_day {
        hhmm(t, tz_offset_s)
    } else {
        date_hhmm(t, tz_offset_s)
    }
}

/// Human duration: "45 s", "12 min", "2 h 05 min", "3 d 4 h".
pub(crate) fn fmt_duration(secs: f64) -> String {
    if !secs.is_finite() {
        return "n/a".to_string();
    }
    let sign = if secs < 0.0 { "-" } else { "" };
    let s = secs.abs().round();
    if s < 60.0 {
        format!("{sign}{s} s")
    } else if s < 3600.0 {
        format!("{sign}{} min", (s / 60.0).round())
    } else if s < 86_400.0 {
        let m = (s / 60.0).round() as i64;
        format!("{sign}{} h {:02} min", m / 60, m % 60)
    } else if s < 1e12 {
        let h = (s / 3600.0).round() as i64;
        format!("{sign}{} d {} h", h / 24, h % 24)
    } else {
        format!("{sign}{s:.2e} s")
    }
}

/// Candidate tick steps of the time axis, in seconds.
const TIME_STEPS: [f64; 22] = [
    1.0,
    2.0,
    5.0,
    10.0,
    15.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    900.0,
    1800.0,
    3600.0,
    7200.0,
    10_800.0,
    21_600.0,
    43_200.0,
    86_400.0,
    172_800.0,
    432_000.0,
    864_000.0,
    2_592_000.0,
];

/// The step (seconds) that gives at most `max` ticks over `span` seconds.
pub(crate) fn time_step(span: f64, max: usize) -> f64 {
    let max = max.max(1) as f64;
    for s in TIME_STEPS {
        if span / s <= max {
            return s;
        }
    }
    // Beyond 30 days: a power of ten of days.
    let days = span / 86_400.0 / max;
    86_400.0 * 10f64.powf(days.log10().ceil()).max(1.0)
}

/// Tick positions aligned to local (offset) boundaries of `step`.
pub(crate) fn time_ticks(start: f64, end: f64, tz_offset_s: i32, max: usize) -> Vec<f64> {
    if max == 0 || !start.is_finite() || !end.is_finite() || end <= start {
        return Vec::new();
    }
    let span = end - start;
    let step = time_step(span, max);
    let tz = f64::from(tz_offset_s);
    let first = ((start + tz) / step).ceil() * step - tz;
    if !span.is_finite() || !step.is_finite() || !first.is_finite() {
        return vec![start, end];
    }
    let mut out = Vec::new();
    // Bounded: at most max + 2 candidates are looked at.
    for i in 0..=max + 1 {
        let t = first + i as f64 * step;
        if t > end + span * 1e-9 {
            break;
        }
        if t >= start - span * 1e-9 && out.len() < max {
            out.push(t);
        }
    }
    out
}

/// Label of one time tick, given the span of the axis.
pub(crate) fn time_tick_label(t: f64, span: f64, max: usize, tz_offset_s: i32) -> String {
    let step = time_step(span, max);
    if step < 60.0 {
        hhmmss(t, tz_offset_s)
    } else if step >= 86_400.0
        || span > 86_400.0 && local_secs(t, tz_offset_s).rem_euclid(86_400) == 0
    {
        // Whole days, or midnight on a multi-day axis: the date.
        month_day(t, tz_offset_s)
    } else {
        hhmm(t, tz_offset_s)
    }
}

/// A time axis in unix seconds whose key points fall on whole local minutes,
/// hours or days (plotters' f64 axis would put them on decimal values).
#[derive(Debug, Clone)]
pub(crate) struct TimeAxis {
    pub start: f64,
    pub end: f64,
    pub tz_offset_s: i32,
}

impl Ranged for TimeAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        map_linear(*value, self.start, self.end, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        time_ticks(
            self.start,
            self.end,
            self.tz_offset_s,
            hint.max_num_points(),
        )
    }

    fn range(&self) -> Range<f64> {
        self.start..self.end
    }
}

/// Linear map of `value` in [start, end] onto pixel `limit`, never NaN.
fn map_linear(value: f64, start: f64, end: f64, limit: (i32, i32)) -> i32 {
    let span = end - start;
    if !(span > 0.0) || !span.is_finite() || !value.is_finite() {
        return limit.0;
    }
    let frac = (value - start) / span;
    let px = f64::from(limit.0) + frac * f64::from(limit.1 - limit.0);
    if px.is_nan() {
        return limit.0;
    }
    px.round().clamp(-1e6, 1e6) as i32
}

/// Nice value ticks (1, 2, 5 × 10^k steps), at most `max`, never looping
/// forever on tiny, huge or degenerate ranges (plotters' own f64 axis can).
pub(crate) fn value_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    if max == 0 || !(hi > lo) || !(hi - lo).is_finite() {
        return Vec::new();
    }
    let raw = (hi - lo) / max as f64;
    let mag = 10f64.powf(raw.log10().floor());
    if !(raw > 0.0) || !(mag > 0.0) || !mag.is_finite() {
        return vec![lo, hi];
    }
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let k0 = (lo / step).ceil();
    let mut out = Vec::new();
    for i in 0..=max {
        let t = (k0 + i as f64) * step;
        if t > hi + step * 1e-9 || !t.is_finite() {
            break;
        }
        // Snap float noise such as 0.30000000000000004.
        let t = if t.abs() < step * 1e-9 { 0.0 } else { t };
        out.push(t);
    }
    out
}

/// A plain value axis with robust ticks; see [`value_ticks`].
#[derive(Debug, Clone)]
pub(crate) struct ValueAxis {
    pub lo: f64,
    pub hi: f64,
}

impl Ranged for ValueAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        map_linear(*value, self.lo, self.hi, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        value_ticks(self.lo, self.hi, hint.max_num_points())
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// Makes [lo, hi] a drawable range: finite, non-empty, within ±1e300.
pub(crate) fn sane_range(lo: f64, hi: f64) -> (f64, f64) {
    const LIM: f64 = 1e300;
    let (mut lo, mut hi) = (clamp_to(lo, -LIM, LIM), clamp_to(hi, -LIM, LIM));
    if lo > hi {
        std::mem::swap(&mut lo, &mut hi);
    }
    if !(hi > lo) {
        let pad = (hi.abs() * 0.1).max(1.0);
        lo = hi - pad;
        hi += pad;
    }
    (lo, hi)
}

/// Maps a value into [lo, hi] for drawing (NaN goes to lo).
pub(crate) fn clamp_to(v: f64, lo: f64, hi: f64) -> f64 {
    if v.is_nan() { lo } else { v.clamp(lo, hi) }
}

/// Rough width in pixels of `s` at font size `size` (for layout only).
pub(crate) fn text_width(s: &str, size: f64) -> i32 {
    let chars = s
        .chars()
        .filter(|c| {
            // Thai combining marks take no advance.
            !matches!(*c as u32, 0x0E31 | 0x0E34..=0x0E3A | 0x0E47..=0x0E4E)
        })
        .count();
    (chars as f64 * size * 0.52).round() as i32
}

/// Draws the chart title at the top left.
pub(crate) fn draw_title(root: &DrawingArea<SVGBackend<'_>, Shift>, title: &str) -> DrawResult {
    root.draw(&Text::new(
        title.to_string(),
        (12, 8),
        text_style(16.0, INK, true, HPos::Left, VPos::Top),
    ))?;
    Ok(())
}

/// Text on a translucent white box, so it stays readable over bars and
/// lines. Only horizontal, right/left/centre anchored text.
pub(crate) fn draw_halo_label(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    text: String,
    at: (i32, i32),
    style: TextStyle<'static>,
) -> DrawResult {
    let size = style.font.get_size();
    let w = text_width(&text, size) + 6;
    let h = (size * 1.2).round() as i32;
    let x0 = match style.pos.h_pos {
        HPos::Left => at.0 - 3,
        HPos::Center => at.0 - w / 2,
        HPos::Right => at.0 - w + 3,
    };
    let y0 = match style.pos.v_pos {
        VPos::Top => at.1 - 1,
        VPos::Center => at.1 - h / 2,
        VPos::Bottom => at.1 - h + 1,
    };
    root.draw(&Rectangle::new(
        [(x0, y0), (x0 + w, y0 + h)],
        WHITE.mix(0.8).filled(),
    ))?;
    root.draw(&Text::new(text, at, style))?;
    Ok(())
}

/// Picks where a bound's label goes, given the pixel row `py` of its line:
/// above the line unless that overlaps a label already placed, then below.
/// Returns (y, vertical anchor) and records the space taken in `used`.
pub(crate) fn place_line_label(used: &mut Vec<(i32, i32)>, py: i32) -> (i32, VPos) {
    let above = (py - 16, py - 2);
    let below = (py + 2, py + 16);
    let free = |r: (i32, i32)| !used.iter().any(|u| r.0 < u.1 && u.0 < r.1);
    if free(above) || !free(below) {
        used.push(above);
        (py - 3, VPos::Bottom)
    } else {
        used.push(below);
        (py + 3, VPos::Top)
    }
}

/// A chart that says "no data" (or `message`), with title and desc.
pub(crate) fn no_data_svg(size: (u32, u32), title: &str, desc: &str, message: &str) -> String {
    let drawn = render(size, |root| {
        draw_title(root, title)?;
        let (w, h) = (size.0 as i32, size.1 as i32);
        root.draw(&Rectangle::new(
            [(12, 36), (w - 12, h - 12)],
            ShapeStyle::from(&FAINT).stroke_width(1),
        ))?;
        root.draw(&Text::new(
            message.to_string(),
            (w / 2, (h + 24) / 2),
            text_style(18.0, MUTED, false, HPos::Center, VPos::Center),
        ))?;
        Ok(())
    });
    match drawn {
        Some(svg) => finalize(svg, title, desc),
        None => fallback_svg(size, title, desc, message),
    }
}

/// A hand-written minimal chart; used only if plotters itself fails.
pub(crate) fn fallback_svg(size: (u32, u32), title: &str, desc: &str, message: &str) -> String {
    let title = clean_text(title, 200);
    let desc = clean_text(desc, MAX_DESC_CHARS);
    let id = short_id(&[&title, &desc]);
    let (w, h) = size;
    format!(
        "<svg role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">\n\
         <title id=\"{id}-title\">{t}</title>\n<desc id=\"{id}-desc\">{d}</desc>\n\
         <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#FFFFFF\"/>\n\
         <text x=\"12\" y=\"24\" font-family=\"{FONT}\" font-size=\"16\" font-weight=\"bold\" \
         fill=\"#222222\">{t}</text>\n\
         <text x=\"{cx}\" y=\"{cy}\" text-anchor=\"middle\" font-family=\"{FONT}\" \
         font-size=\"18\" fill=\"#555555\">{m}</text>\n</svg>\n",
        t = xml_escape(&title),
        d = xml_escape(&desc),
        m = xml_escape(message),
        cx = w / 2,
        cy = h / 2,
    )
}

/// Joins clauses into a desc, keeping at most `max` list items and saying
/// how many were left out.
pub(crate) fn list_with_more(items: &[String], max: usize) -> String {
    let mut s = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > max {
        let _ = write!(s, "; and {} more", items.len() - max);
    }
    s
}

/// One entry of a chart legend.
pub(crate) enum LegendItem {
    Line(String, RGBColor, u32),
    Dashed(String, RGBColor, u32),
    Triangle(String, RGBColor),
    Swatch(String, RGBColor, f64),
    Cross(String, RGBColor),
}

/// One row of legend items from `x`, vertically centred on `y`; items that
/// do not fit before `max_x` are left out (they are in the desc anyway).
pub(crate) fn draw_legend(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    items: &[LegendItem],
    mut x: i32,
    y: i32,
    max_x: i32,
) -> DrawResult {
    for item in items {
        let label = match item {
            LegendItem::Line(l, ..)
            | LegendItem::Dashed(l, ..)
            | LegendItem::Triangle(l, _)
            | LegendItem::Swatch(l, ..)
            | LegendItem::Cross(l, _) => l,
        };
        let w = 22 + text_width(label, 12.0);
        if x + w > max_x {
            break;
        }
        match item {
            LegendItem::Line(_, c, sw) => {
                root.draw(&PathElement::new(
                    vec![(x, y), (x + 18, y)],
                    c.stroke_width(*sw),
                ))?;
            }
            LegendItem::Dashed(_, c, sw) => {
                for (a, b) in [(x, x + 5), (x + 8, x + 13), (x + 16, x + 18)] {
                    root.draw(&PathElement::new(vec![(a, y), (b, y)], c.stroke_width(*sw)))?;
                }
            }
            LegendItem::Triangle(_, c) => {
                root.draw(&TriangleMarker::new((x + 9, y + 1), 6, c.filled()))?;
            }
            LegendItem::Cross(_, c) => {
                root.draw(&Cross::new((x + 9, y), 5, c.stroke_width(2)))?;
            }
            LegendItem::Swatch(_, c, alpha) => {
                root.draw(&Rectangle::new(
                    [(x + 2, y - 6), (x + 16, y + 6)],
                    c.mix(*alpha).filled(),
                ))?;
                root.draw(&Rectangle::new(
                    [(x + 2, y - 6), (x + 16, y + 6)],
                    MUTED.stroke_width(1),
                ))?;
            }
        }
        root.draw(&Text::new(
            label.clone(),
            (x + 22, y),
            text_style(12.0, INK, false, HPos::Left, VPos::Center),
        ))?;
        x += w + 16;
    }
    Ok(())
}
