//! canary-report: turns the record of an online index change canary into its
//! outcome report, decided by explicit rules.
//!
//! The data flows one way: [`ingest`] reads a run into [`model`] values;
//! [`judge`] turns them into one [`judge::Judgement`] (windows, statistics,
//! statuses, breach episodes, significance, rules, decision) using [`stats`];
//! [`report`], [`junit`], [`compare`] and `capture`'s display only render it.
//! `capture` judges live with the same [`judge::bounds`] engine.

pub mod batch;
pub mod build;
pub mod capture;
pub mod charts;
pub mod cli;
pub mod compare;
pub mod error;
pub mod ingest;
pub mod init;
pub mod judge;
pub mod junit;
pub mod model;
pub mod report;
pub mod stats;
pub mod thresholds;
pub mod validate;
