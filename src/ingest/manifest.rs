//! `manifest.json` → [`Manifest`].

use super::util::{json_error, json_line, json_message, read_required, strip_bom};
use crate::error::InputError;
use crate::model::Manifest;
use std::path::Path;

/// Reads `manifest.json`. A missing file is [`InputError::Missing`].
pub fn read_manifest(path: &Path) -> Result<Manifest, InputError> {
    let bytes = read_required(path, "the run manifest")?;
    parse_manifest(path, &bytes)
}

/// Parses the manifest's bytes; `path` is only used in error messages.
///
/// Errors carry serde_json's line and the field path (e.g. `scope.actual.foo`
/// for an unknown field `foo`, which the types reject).
pub fn parse_manifest(path: &Path, bytes: &[u8]) -> Result<Manifest, InputError> {
    let mut de = serde_json::Deserializer::from_slice(strip_bom(bytes));
    let manifest: Manifest =
        serde_path_to_error::deserialize(&mut de).map_err(|e| json_error(path, None, e))?;
    de.end()
        .map_err(|e| InputError::invalid(path, json_line(&e), None, json_message(&e)))?;
    let times = [
        ("plan.start", Some(&manifest.plan.start)),
        (
            "scope.actual.window_start",
            manifest.scope.actual.window_start.as_ref(),
        ),
        (
            "scope.actual.window_end",
            manifest.scope.actual.window_end.as_ref(),
        ),
    ];
    for (field, t) in times {
        if let Some(t) = t {
            super::util::check_unix_seconds(crate::model::unix_seconds(t))
                .map_err(|why| InputError::invalid(path, None, Some(field), why))?;
        }
    }
    if manifest.plan.no_kill_switch && !manifest.plan.kill_switch_checkpoints.is_empty() {
        return Err(InputError::invalid(
            path,
            None,
            Some("plan.no_kill_switch"),
            "true (no kill switch) while plan.kill_switch_checkpoints lists checkpoints: \
             remove one of the two"
                .to_string(),
        ));
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{
  "run_id": "CANARY-EXEC-V1-001",
  "scope": {
    "actual": {
      "tenant": "t1",
      "connection": "c1",
      "database": "sbtest",
      "table": "sbtest1",
      "operation": "ADD_INDEX"
    }
  },
  "target": { "index_name": "idx_canary_pad", "columns": ["pad"] },
  "plan": { "start": "2026-11-29T17:00:00Z" }
}
"#;

    fn err(text: &str) -> String {
        parse_manifest(Path::new("run/manifest.json"), text.as_bytes())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn minimal_manifest_parses_with_defaults() {
        let m = parse_manifest(Path::new("manifest.json"), MINIMAL.as_bytes()).unwrap();
        assert_eq!(m.run_id, "CANARY-EXEC-V1-001");
        assert_eq!(m.schema_version, 1);
        assert_eq!(m.target.index_type, "BTREE");
        assert_eq!(m.plan.phases.len(), 7);
    }

    #[test]
    fn bom_is_tolerated() {
        let text = format!("\u{feff}{MINIMAL}");
        assert!(parse_manifest(Path::new("manifest.json"), text.as_bytes()).is_ok());
    }

    #[test]
    fn unknown_field_is_named_with_its_path_and_line() {
        let text = MINIMAL.replace("\"tenant\": \"t1\",", "\"tenant\": \"t1\", \"tenantt\": 1,");
        let e = err(&text);
        assert!(
            e.starts_with(
                "run/manifest.json:5: field `scope.actual.tenantt`: unknown field `tenantt`"
            ),
            "{e}"
        );
    }

    #[test]
    fn unknown_top_level_field() {
        let text = MINIMAL.replace("\"run_id\"", "\"colour\": \"red\",\n  \"run_id\"");
        let e = err(&text);
        assert!(
            e.starts_with("run/manifest.json:2: field `colour`: unknown field `colour`"),
            "{e}"
        );
    }

    #[test]
    fn wrong_type_names_field() {
        let text = MINIMAL.replace("\"columns\": [\"pad\"]", "\"columns\": \"pad\"");
        let e = err(&text);
        assert!(
            e.starts_with("run/manifest.json:12: field `target.columns`: invalid type"),
            "{e}"
        );
    }

    #[test]
    fn missing_required_field() {
        let text = MINIMAL.replace("\"run_id\": \"CANARY-EXEC-V1-001\",", "");
        let e = err(&text);
        assert!(e.contains("missing field `run_id`"), "{e}");
        assert!(e.starts_with("run/manifest.json:"), "{e}");
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let e = err("{\n  \"run_id\": \"x\",,\n}");
        assert!(e.starts_with("run/manifest.json:2: "), "{e}");
        assert!(e.contains("(column"), "{e}");
    }

    #[test]
    fn trailing_content_is_rejected() {
        let e = err(&format!("{MINIMAL} {{}}"));
        assert!(e.contains("trailing characters"), "{e}");
    }

    #[test]
    fn missing_file_is_missing() {
        let e = read_manifest(Path::new("/nonexistent/run/manifest.json")).unwrap_err();
        assert!(matches!(e, InputError::Missing { .. }), "{e:?}");
        assert!(e.to_string().contains("manifest.json: missing"), "{e}");
    }

    #[test]
    fn no_kill_switch_with_checkpoints_is_an_error() {
        let with =
            |plan: &str| MINIMAL.replace(r#""plan": { "start": "2026-11-29T17:00:00Z" }"#, plan);
        let ok = with(r#""plan": { "start": "2026-11-29T17:00:00Z", "no_kill_switch": true }"#);
        assert!(
            parse_manifest(Path::new("m.json"), ok.as_bytes())
                .unwrap()
                .plan
                .no_kill_switch
        );
        let bad = with(
            r#""plan": { "start": "2026-11-29T17:00:00Z", "no_kill_switch": true, "kill_switch_checkpoints": ["Final Check"] }"#,
        );
        let e = parse_manifest(Path::new("m.json"), bad.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("plan.no_kill_switch") && e.contains("remove one of the two"),
            "{e}"
        );
    }
}
