//! The phases of a canary run, as the template's timeline names them, and the
//! windows the analysis compares.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A phase of the executor flow (template section 2.3).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Precheck,
    Readiness,
    Baseline,
    /// Execute ADD INDEX.
    Execute,
    /// Post-ADD verification (SHOW INDEX, EXPLAIN).
    Verification,
    Monitoring,
    After,
    Analysis,
}

impl Phase {
    pub const ALL: [Phase; 8] = [
        Phase::Precheck,
        Phase::Readiness,
        Phase::Baseline,
        Phase::Execute,
        Phase::Verification,
        Phase::Monitoring,
        Phase::After,
        Phase::Analysis,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Phase::Precheck => "precheck",
            Phase::Readiness => "readiness",
            Phase::Baseline => "baseline",
            Phase::Execute => "execute",
            Phase::Verification => "verification",
            Phase::Monitoring => "monitoring",
            Phase::After => "after",
            Phase::Analysis => "analysis",
        }
    }

    /// The template's name for the phase.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Precheck => "Pre-check",
            Phase::Readiness => "Team Readiness",
            Phase::Baseline => "Baseline Metrics",
            Phase::Execute => "Execute ADD INDEX",
            Phase::Verification => "Post-ADD Verification",
            Phase::Monitoring => "Monitoring Window",
            Phase::After => "After Metrics",
            Phase::Analysis => "Result Analysis",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The windows metrics are compared over: before the DDL, during it, after it
/// with the index in place, and, when the index was rolled back, after that.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    Baseline,
    During,
    Post,
    AfterRollback,
}

impl Window {
    pub const ALL: [Window; 4] = [
        Window::Baseline,
        Window::During,
        Window::Post,
        Window::AfterRollback,
    ];

    /// The windows in which the index existed: the ones the rules judge.
    pub const WITH_INDEX: [Window; 2] = [Window::During, Window::Post];

    pub fn key(self) -> &'static str {
        match self {
            Window::Baseline => "baseline",
            Window::During => "during",
            Window::Post => "post",
            Window::AfterRollback => "after_rollback",
        }
    }
}
