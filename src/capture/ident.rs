//! SQL identifiers: checked when parsed, backtick-quoted when used.
//!
//! Only ASCII letters, digits, `_` and `$`, 1 to 64 characters: anything else is
//! refused, so that no name given on the command line can change the meaning of
//! a statement.

use anyhow::{Result, bail};
use std::fmt;

/// A checked identifier (database, table, index or column name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident(String);

impl Ident {
    /// `what` names the option the value came from, for the error message.
    pub fn new(what: &str, s: &str) -> Result<Ident> {
        if s.is_empty() {
            bail!("{what}: an empty name is not allowed");
        }
        if s.chars().count() > 64 {
            bail!("{what}: `{}` is longer than 64 characters", shown(s));
        }
        if let Some(bad) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '$'))
        {
            bail!(
                "{what}: `{}` is not a plain identifier: {bad:?} is not allowed \
                 (use letters, digits, `_` and `$` only)",
                shown(s)
            );
        }
        Ok(Ident(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `` `name` ``: safe to paste into SQL.
    pub fn quoted(&self) -> String {
        // The characters are checked, so no backtick can be inside.
        format!("`{}`", self.0)
    }

    /// Names compare without case, as MySQL compares column and index names.
    pub fn eq_ignore_case(&self, other: &Ident) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The value as shown in an error: control characters escaped.
fn shown(s: &str) -> String {
    s.chars().flat_map(char::escape_debug).take(80).collect()
}

/// `'text'` as an SQL string literal, for the few places a name is compared as a
/// value (information_schema lookups). Only ever called with checked identifiers.
pub fn literal(id: &Ident) -> String {
    format!("'{}'", id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass_and_are_quoted() {
        let id = Ident::new("--table", "order_items$2").unwrap();
        assert_eq!(id.quoted(), "`order_items$2`");
        assert!(Ident::new("--table", &"a".repeat(64)).is_ok());
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "t; DROP TABLE x",
            "t`",
            "a b",
            "a-b",
            "a.b",
            "a'b",
            "a\"b",
            "a\0",
            "a\n",
            "ตาราง",
            "a/*",
        ] {
            assert!(Ident::new("--table", bad).is_err(), "{bad:?} passed");
        }
        assert!(Ident::new("--table", &"a".repeat(65)).is_err());
    }

    #[test]
    fn errors_name_the_option() {
        let e = Ident::new("--index", "x;y").unwrap_err().to_string();
        assert!(e.starts_with("--index:"), "{e}");
    }
}
