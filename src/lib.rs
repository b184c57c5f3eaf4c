//! canary-report: turns the record of an online index change canary into its
//! outcome report, decided by explicit rules.
//!
//! The data flows one way: [`ingest`] (the only reader of files) → [`model`]
//! → [`stats`] → [`analysis`] → [`classify`] → [`rules`] → [`report`] (strings)
//! → one writer.

pub mod analysis;
pub mod batch;
pub mod build;
pub mod capture;
pub mod charts;
pub mod classify;
pub mod cli;
pub mod compare;
pub mod error;
pub mod ingest;
pub mod init;
pub mod junit;
pub mod model;
pub mod report;
pub mod rules;
pub mod significance;
pub mod stats;
pub mod thresholds;
pub mod validate;
