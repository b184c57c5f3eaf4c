//! The library's errors. Every input error names the file, and the line and
//! field where they are known, so a user can go straight to the fault.

use std::fmt;
use std::path::PathBuf;
use thiserror::Error;

/// Where in an input file a fault is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub line: Option<u64>,
    pub field: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        Ok(())
    }
}

#[derive(Debug, Error)]
pub enum InputError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", Location { path: path.clone(), line: *line, field: field.clone() })]
    Invalid {
        path: PathBuf,
        line: Option<u64>,
        field: Option<String>,
        message: String,
    },
    #[error("{}: missing: {what}", path.display())]
    Missing { path: PathBuf, what: String },
}

/// A command-line option that cannot be used as given (exit 2, as any bad
/// input): its message names the option, the value and the fix.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct BadOption(pub String);

impl InputError {
    pub fn invalid(
        path: impl Into<PathBuf>,
        line: Option<u64>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        InputError::Invalid {
            path: path.into(),
            line,
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_file_line_and_field() {
        let e = InputError::invalid(
            "run/metrics/a.csv",
            Some(12),
            Some("value"),
            "not a number: `abc`",
        );
        assert_eq!(
            e.to_string(),
            "run/metrics/a.csv:12: field `value`: not a number: `abc`"
        );
    }
}
