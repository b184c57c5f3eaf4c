//! A progress bar for large inputs, on stderr: only when the CLI turned it on
//! ([`show_progress`], not under `--quiet`), stderr is a terminal, and reading
//! has already taken [`DELAY`], so that a small run directory never flickers.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// How long reading must have taken before the bar appears.
pub const DELAY: Duration = Duration::from_secs(1);

/// Turns the progress bar of [`super::read_run`] on or off (off by default,
/// so that library callers and tests never draw one).
pub fn show_progress(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Bytes read out of a known total.
pub struct Progress {
    total: u64,
    done: u64,
    started: Instant,
    live: bool,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A progress of `total` bytes, drawn if enabled and on a terminal.
    pub fn new(total: u64) -> Progress {
        Progress {
            total,
            done: 0,
            started: Instant::now(),
            live: ENABLED.load(Ordering::Relaxed) && std::io::stderr().is_terminal(),
            bar: None,
        }
    }

    /// A progress that is never drawn.
    pub fn hidden() -> Progress {
        Progress {
            total: 0,
            done: 0,
            started: Instant::now(),
            live: false,
            bar: None,
        }
    }

    pub fn advance(&mut self, bytes: u64) {
        self.done += bytes;
        if !self.live {
            return;
        }
        if let Some(bar) = &self.bar {
            bar.set_position(self.done);
        } else if self.done < self.total && self.started.elapsed() >= DELAY {
            let bar = ProgressBar::with_draw_target(Some(self.total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "reading inputs {wide_bar} {binary_bytes}/{binary_total_bytes}, {eta} left",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_position(self.done);
            // The rate (and so the time left) from here on, not from zero.
            bar.reset_eta();
            self.bar = Some(bar);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
