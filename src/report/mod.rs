//! Rendering: the report's data in, strings out. Nothing here reads or writes
//! files; the writer in [`crate::build`] does.

pub mod charts;
pub mod format;
pub mod labels;
pub mod story;
pub mod summary;
pub mod view;

pub use labels::Lang;
pub use summary::{ReportData, assemble};
pub use view::{Markup, ReportView, build_view, build_view_for};

use minijinja::{Environment, UndefinedBehavior};

/// The templates, embedded so that the binary needs no files beside it.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("report.md", include_str!("../../templates/report.md.j2")),
    (
        "report.html",
        include_str!("../../templates/report.html.j2"),
    ),
    ("index.md", include_str!("../../templates/index.md.j2")),
    ("index.html", include_str!("../../templates/index.html.j2")),
];

/// GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes.
/// Thai letters and their vowel and tone marks are kept, as GitHub keeps them.
pub fn slug(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter(|c| !(c.is_ascii_punctuation() && *c != '-' && *c != '_'))
        .map(|c| if c.is_whitespace() { '-' } else { c })
        .collect()
}

/// The template environment: strict about undefined values so that a
/// misspelt field fails the render instead of printing nothing.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("default delimiters are valid"),
    );
    // Markdown is not escaped; the HTML template is (see `auto_escape`).
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    env.add_filter("slug", |s: String| slug(&s));
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .expect("embedded templates are checked by the test suite");
    }
    env
}

/// Markdown cells must not break the table: pipes and newlines from input
/// text are escaped before rendering.
fn md_cell_safe(view: &ReportView) -> Result<minijinja::Value, minijinja::Error> {
    let json = serde_json::to_value(view).map_err(|e| {
        minijinja::Error::new(minijinja::ErrorKind::BadSerialization, e.to_string())
    })?;
    Ok(minijinja::Value::from(minijinja::value::Serde(
        escape_cells(json),
    )))
}

/// Escapes the `|` of one-line strings so that no value breaks a Markdown
/// table.
pub(crate) fn escape_cells(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) if s.contains('|') || s.contains('\n') => {
            // Multi-line text (SQL output, notes) goes into code blocks where
            // newlines are right; only a lone line is made table-safe.
            if s.contains('\n') {
                Value::String(s)
            } else {
                Value::String(s.replace('|', "\\|"))
            }
        }
        Value::Array(a) => Value::Array(a.into_iter().map(escape_cells).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, escape_cells(v))).collect())
        }
        other => other,
    }
}

/// `report.md`.
pub fn render_markdown(view: &ReportView) -> Result<String, minijinja::Error> {
    let env = environment();
    let tmpl = env.get_template("report.md")?;
    tmpl.render(md_cell_safe(view)?)
}

/// `report.html`: one self-contained page. Every value of the view is
/// HTML-escaped by the template environment; only the charts' SVG, from our
/// own renderer, goes in as is (`svg[file]` in the template).
pub fn render_html(
    view: &ReportView,
    charts: &[charts::Chart],
) -> Result<String, minijinja::Error> {
    let env = environment();
    let tmpl = env.get_template("report.html")?;
    let svg = minijinja::Value::from_pairs(charts.iter().map(|c| {
        (
            c.file.clone(),
            minijinja::Value::from_safe_string(c.svg.clone()),
        )
    }));
    let html = tmpl.render(minijinja::context! {
        svg => svg,
        ..minijinja::Value::from(minijinja::value::Serde(view))
    })?;
    Ok(drawn_marks(&html))
}

/// The emoji a report uses as marks, and what the page draws instead: a
/// shape in CSS with, where it has one, a glyph every text font has (✓ ✕ ↻
/// i). A machine without a colour-emoji font (Debian's chromium brings
/// none) would show every emoji as the same empty box; the words beside the
/// marks (Pass, CRITICAL, ...) carry the meaning either way. Decorative
/// emoji (🎯 ⏱️ 📈) are dropped.
const MARKS: [(&str, &str); 17] = [
    (
        "✅",
        r#"<span class="mk mk-ok" aria-hidden="true">✓</span>"#,
    ),
    (
        "❌",
        r#"<span class="mk mk-bad" aria-hidden="true">✕</span>"#,
    ),
    (
        "⛔",
        r#"<span class="mk mk-bad" aria-hidden="true">✕</span>"#,
    ),
    (
        "🔴",
        r#"<span class="mk mk-dot mk-crit" aria-hidden="true"></span>"#,
    ),
    (
        "🟠",
        r#"<span class="mk mk-dot mk-warn" aria-hidden="true"></span>"#,
    ),
    (
        "🟢",
        r#"<span class="mk mk-dot mk-okdot" aria-hidden="true"></span>"#,
    ),
    (
        "⚪",
        r#"<span class="mk mk-dot mk-none" aria-hidden="true"></span>"#,
    ),
    (
        "⬜",
        r#"<span class="mk mk-box" aria-hidden="true"></span>"#,
    ),
    (
        "🔄",
        r#"<span class="mk mk-info" aria-hidden="true">↻</span>"#,
    ),
    (
        "💡",
        r#"<span class="mk mk-info" aria-hidden="true">i</span>"#,
    ),
    (
        "⏭️",
        r#"<span class="mk mk-info" aria-hidden="true">»</span>"#,
    ),
    ("⚠️", "⚠"),
    ("🎯 ", ""),
    ("⏱️ ", ""),
    ("📈 ", ""),
    ("📋 ", ""),
    ("📊 ", ""),
];

/// `html` with each emoji mark replaced by [`MARKS`], outside the charts'
/// SVG (whose text is drawn by the chart, not by a font of the page).
fn drawn_marks(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + html.len() / 8);
    let mut rest = html;
    loop {
        let (text, svg) = match rest.find("<svg") {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let mut t = text.to_string();
        for (emoji, drawn) in MARKS {
            t = t.replace(emoji, drawn);
        }
        out.push_str(&t);
        if svg.is_empty() {
            return out;
        }
        let end = svg.find("</svg>").map_or(svg.len(), |i| i + "</svg>".len());
        out.push_str(&svg[..end]);
        rest = &svg[end..];
    }
}

/// `summary.json`: the report's data, pretty-printed.
pub fn render_json(data: &ReportData) -> String {
    let mut s = serde_json::to_string_pretty(data).expect("report data is plain values");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_drawn_outside_the_charts_only() {
        let html = "<p>✅ Pass ❌ Fail</p><svg><text>✅</text></svg><td>🔴 CRITICAL ⚠️</td>";
        let drawn = drawn_marks(html);
        assert_eq!(
            drawn,
            "<p><span class=\"mk mk-ok\" aria-hidden=\"true\">✓</span> Pass \
             <span class=\"mk mk-bad\" aria-hidden=\"true\">✕</span> Fail</p>\
             <svg><text>✅</text></svg>\
             <td><span class=\"mk mk-dot mk-crit\" aria-hidden=\"true\"></span> CRITICAL ⚠</td>"
        );
    }

    #[test]
    fn slugs_match_github_for_the_templates_headings() {
        assert_eq!(slug("1. Executive Summary"), "1-executive-summary");
        assert_eq!(slug("4. Incident / Warning"), "4-incident--warning");
        assert_eq!(
            slug("3. Metrics ก่อน/ระหว่าง/หลัง Canary"),
            "3-metrics-ก่อนระหว่างหลัง-canary"
        );
    }

    #[test]
    fn every_embedded_template_loads() {
        let env = environment();
        for (name, _) in TEMPLATES {
            env.get_template(name).unwrap();
        }
    }
}
