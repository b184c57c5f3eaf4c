//! A progress bar for large inputs, on stderr: only when the CLI turned it on
//! ([`show_progress`], not under `--quiet`), stderr is a terminal, and reading
//! has already taken [`DELAY`] (or `CANARY_REPORT_PROGRESS_DELAY_MS`
//! milliseconds, when set), so that a small run directory never flickers.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// How long reading must have taken before the bar appears.
pub const DELAY: Duration = Duration::from_secs(1);

/// How long reading must have taken before the bar appears: [`DELAY`], or
/// `CANARY_REPORT_PROGRESS_DELAY_MS` when it holds a number of milliseconds.
fn delay() -> Duration {
    static SET: OnceLock<Duration> = OnceLock::new();
    *SET.get_or_init(|| {
        std::env::var("CANARY_REPORT_PROGRESS_DELAY_MS")
            .ok()
            .and_then(|ms| ms.trim().parse().ok())
            .map_or(DELAY, Duration::from_millis)
    })
}

/// Turns the progress bar of [`super::read_run`] on or off (off by default,
/// so that library callers and tests never draw one).
pub fn show_progress(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Bytes read out of a known total; files read at once on several threads
/// advance the same one.
pub struct Progress {
    total: u64,
    done: AtomicU64,
    started: Instant,
    delay: Duration,
    live: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress {
    /// A progress of `total` bytes, drawn if enabled and on a terminal.
    pub fn new(total: u64) -> Progress {
        Progress {
            total,
            done: AtomicU64::new(0),
            started: Instant::now(),
            delay: delay(),
            live: ENABLED.load(Ordering::Relaxed) && std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }

    /// A progress that is never drawn.
    pub fn hidden() -> Progress {
        Progress {
            total: 0,
            done: AtomicU64::new(0),
            started: Instant::now(),
            delay: DELAY,
            live: false,
            bar: Mutex::new(None),
        }
    }

    pub fn advance(&self, bytes: u64) {
        let done = self.done.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if !self.live {
            return;
        }
        let mut bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bar) = bar.as_ref() {
            bar.set_position(done);
        } else if done < self.total && self.started.elapsed() >= self.delay {
            let new = ProgressBar::with_draw_target(Some(self.total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "reading inputs {wide_bar} {binary_bytes}/{binary_total_bytes}, {eta} left",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            new.set_style(style);
            new.set_position(done);
            // The rate (and so the time left) from here on, not from zero.
            new.reset_eta();
            *bar = Some(new);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        let bar = self.bar.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(bar) = bar.take() {
            bar.finish_and_clear();
        }
    }
}
