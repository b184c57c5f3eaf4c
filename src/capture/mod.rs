//! `canary-report capture`: runs the canary of an online `ALTER TABLE ... ADD
//! INDEX` against a live MySQL 8 / MariaDB server and writes the run directory
//! that `canary-report build` reads.
//!
//! The flow is the template's (sections 2-6): pre-check, baseline, the DDL,
//! verification, the monitoring window with its kill switch checkpoints, the
//! after window, with an automatic rollback (KILL QUERY of a running ALTER, or
//! DROP INDEX) when a kill switch is ON or unreadable, or a critical breach is
//! confirmed. See `docs/capture.md`.
//!
//! What is written, and when:
//! - `manifest.json` at the start, after the pre-check and at the end, each
//!   time whole and atomically (a temporary file renamed over it);
//! - `events.jsonl`, one [`EventRecord`](crate::model::EventRecord) per line,
//!   written and synced as each event happens;
//! - `metrics/capture.csv` (`timestamp,metric,value`), appended and synced at
//!   every sample.

pub mod args;
mod breach;
mod db;
mod display;
mod host;
mod ident;
mod rundir;
mod runner;
mod switch;
mod workers;

pub use args::CaptureArgs;
pub use display::Sink;

use crate::model::RunStatus;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How a capture ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureStatus {
    /// Every phase ran (`run_end` `completed`).
    Completed,
    /// Stopped early: pre-check refused, a critical bound the baseline already
    /// broke, kill switch, breach, operator, lost server, failed DDL
    /// (`run_end` `aborted`).
    Aborted,
    /// `--dry-run`: the pre-check only; nothing written, nothing changed.
    DryRun,
}

/// What [`run`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureOutcome {
    /// The run directory written; `None` for a dry run.
    pub run_dir: Option<PathBuf>,
    pub status: CaptureStatus,
    /// Whether a rollback was carried out (ALTER killed or index dropped),
    /// successfully or not.
    pub rolled_back: bool,
    /// Whether the rollback left the index verified absent.
    pub rollback_succeeded: Option<bool>,
    /// Whether the DDL was started at all (anything may have changed).
    pub ddl_started: bool,
    /// Whether the index exists at the end, as last verified; `None` when unknown.
    pub index_present: Option<bool>,
    /// Why the run stopped early, in words.
    pub reason: Option<String>,
}

impl CaptureOutcome {
    /// The `run_end` status written, if any.
    pub fn run_status(&self) -> Option<RunStatus> {
        match self.status {
            CaptureStatus::Completed => Some(RunStatus::Completed),
            CaptureStatus::Aborted => Some(RunStatus::Aborted),
            CaptureStatus::DryRun => None,
        }
    }

    /// How the canary ended, for a person or a process exit code.
    pub fn ending(&self) -> Ending {
        match self.status {
            CaptureStatus::Completed | CaptureStatus::DryRun if self.reason.is_none() => {
                Ending::Completed
            }
            _ if !self.ddl_started => Ending::NothingChanged,
            _ if self.rolled_back && self.rollback_succeeded == Some(true) => Ending::RolledBack,
            _ if !self.rolled_back && self.index_present == Some(false) => Ending::NothingChanged,
            CaptureStatus::Completed => Ending::Completed,
            _ => Ending::IndexStateUnknown,
        }
    }
}

/// How a canary ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Completed (with `--no-auto-rollback`, possibly with incidents), or a
    /// dry run whose pre-check passed.
    Completed,
    /// Stopped with nothing changed: the pre-check refused, it stopped before
    /// the DDL, or the ALTER failed by itself and the index is verified absent.
    NothingChanged,
    /// Rolled back, the index verified absent.
    RolledBack,
    /// Stopped with the index state not verified: look at the server.
    IndexStateUnknown,
}

static CTRL_C: AtomicUsize = AtomicUsize::new(0);
/// How many captures are running in this process.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// Installs the Ctrl-C handler once per process. While a capture runs,
/// presses are counted for it to act on; otherwise Ctrl-C ends the process as
/// usual (exit status 130).
fn install_ctrl_c() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        // Another handler already installed (e.g. by an embedding program) is
        // not an error: Ctrl-C then simply keeps its old meaning.
        let _ = ctrlc::set_handler(|| {
            if ACTIVE.load(Ordering::SeqCst) == 0 {
                std::process::exit(130);
            }
            CTRL_C.fetch_add(1, Ordering::SeqCst);
        });
    });
}

/// Marks a capture as running for as long as it lives.
struct Active;

impl Active {
    fn new() -> Active {
        ACTIVE.fetch_add(1, Ordering::SeqCst);
        Active
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(crate) fn ctrl_c_presses() -> usize {
    CTRL_C.load(Ordering::SeqCst)
}

/// Runs the capture: checks the options (nothing is touched if they are
/// wrong), then pre-check, baseline, DDL, verification, monitoring and after
/// window, writing the run directory as it goes.
///
/// `Err` only when nothing could be started (bad options, the run directory
/// cannot be created) or when the run directory could no longer be written;
/// every other ending, including a refused pre-check, a rollback and a lost
/// server, is `Ok` with the run directory complete (`run_end` written).
/// The password comes from MYSQL_PWD or `--password-file`.
pub fn run(args: &CaptureArgs) -> anyhow::Result<CaptureOutcome> {
    run_with(args, Sink::Stderr)
}

/// [`run`], its lines shown through `sink` instead of on stderr.
pub fn run_with(args: &CaptureArgs, sink: Sink) -> anyhow::Result<CaptureOutcome> {
    let cfg = args::Config::from_args(args, std::env::var("MYSQL_PWD").ok())
        .map_err(|e| crate::error::BadOption(format!("{e:#}")))?;
    let _active = Active::new();
    install_ctrl_c();
    runner::run(cfg, sink)
}
