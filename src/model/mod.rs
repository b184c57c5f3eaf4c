//! Plain data types: what a run directory holds once read.

pub mod events;
pub mod manifest;
pub mod metric;
pub mod phase;
pub mod ratio;
pub mod rule;

pub use events::*;
pub use manifest::*;
pub use metric::*;
pub use phase::*;
pub use ratio::*;
pub use rule::*;

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Everything read from one run directory, validated, before any analysis.
#[derive(Debug, Clone)]
pub struct RunData {
    /// The run directory as given.
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// The execution log, in time order.
    pub events: Vec<EventRecord>,
    /// Samples by input metric, each sorted by time.
    pub series: BTreeMap<InputMetric, Vec<Sample>>,
    /// Every metrics file read.
    pub sources: Vec<SourceFile>,
    /// Things worth a user's attention that did not stop the build
    /// (duplicate timestamps merged, unknown manifest fields, ...).
    pub warnings: Vec<String>,
}
