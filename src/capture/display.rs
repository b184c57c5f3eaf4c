//! What a person watching sees on stderr: timestamped lines for what happens,
//! and on a terminal a status line kept up to date below them.

use crate::model::{Event, StepStatus};
use chrono::{DateTime, Utc};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Where the lines go.
pub enum Sink {
    /// stderr: what a person running capture sees.
    Stderr,
    /// Each piece of text to a function, for a caller that collects the
    /// lines (a test hands them to its harness, which shows them only when
    /// the test fails).
    Text(Box<dyn FnMut(&str) + Send>),
}

pub struct Display {
    sink: Sink,
    /// The zone lines are timed in (the manifest's display zone).
    tz: chrono::FixedOffset,
    tty: bool,
    /// Only what a person must see: incidents, rollbacks, errors, the end.
    quiet: bool,
    status_shown: bool,
    last_plain_status: Option<Instant>,
}

/// How often the status is printed as a plain line when stderr is not a terminal.
const PLAIN_STATUS_EVERY: Duration = Duration::from_secs(30);

impl Display {
    pub fn new(quiet: bool, tz: chrono::FixedOffset, sink: Sink) -> Display {
        Display {
            tz,
            tty: matches!(sink, Sink::Stderr) && std::io::stderr().is_terminal(),
            sink,
            quiet,
            status_shown: false,
            last_plain_status: None,
        }
    }

    /// Shows an event's line, unless quiet and the event is routine;
    /// `unwritten` says why it could not be written to events.jsonl, if it
    /// could not (then it is always shown: stderr is all that is left).
    pub fn event(&mut self, ts: DateTime<Utc>, e: &Event, unwritten: Option<&str>) {
        let important = matches!(
            e,
            Event::Incident { .. }
                | Event::RollbackDecision { .. }
                | Event::RollbackEnd { .. }
                | Event::RunEnd { .. }
        ) || matches!(e, Event::Log { level, .. } if level == "ERROR");
        match unwritten {
            Some(why) => self.line(
                ts,
                &format!(
                    "{} [could not be recorded in events.jsonl: {why}]",
                    describe(e)
                ),
            ),
            None if important || !self.quiet => self.line(ts, &describe(e)),
            None => {}
        }
    }

    /// Whether a person can be asked something (Ctrl-C confirmation).
    pub fn interactive(&self) -> bool {
        self.tty && std::io::stdin().is_terminal()
    }

    /// Writes `text`; a failed write to stderr is ignored: the run, and a
    /// rollback, must go on without it.
    fn write(&mut self, text: &str) {
        match &mut self.sink {
            Sink::Stderr => {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(text.as_bytes());
                let _ = err.flush();
            }
            Sink::Text(f) => f(text),
        }
    }

    pub fn line(&mut self, ts: DateTime<Utc>, text: &str) {
        if self.status_shown {
            self.write("\r\x1b[2K");
            self.status_shown = false;
        }
        let line = format!(
            "{} {text}\n",
            ts.with_timezone(&self.tz).format("%H:%M:%S%.3f")
        );
        self.write(&line);
    }

    pub fn status(&mut self, text: &str) {
        if self.quiet {
            return;
        }
        if self.tty {
            let shown: String = text.chars().take(160).collect();
            self.write(&format!("\r\x1b[2K{shown}"));
            self.status_shown = true;
        } else if self
            .last_plain_status
            .is_none_or(|t| t.elapsed() >= PLAIN_STATUS_EVERY)
        {
            self.last_plain_status = Some(Instant::now());
            self.line(Utc::now(), &format!("status: {text}"));
        }
    }

    pub fn finish(&mut self) {
        if self.status_shown {
            self.write("\n");
            self.status_shown = false;
        }
    }
}

fn step(s: StepStatus) -> &'static str {
    match s {
        StepStatus::Done => "done",
        StepStatus::Failed => "FAILED",
        StepStatus::Skipped => "skipped",
    }
}

/// One line for an event.
pub fn describe(e: &Event) -> String {
    match e {
        Event::PhaseStart { phase } => format!("== {} ==", phase.label()),
        Event::PhaseEnd { phase, status } => format!("== {} ended: {status:?} ==", phase.label()),
        Event::DdlStart { statement } => format!("DDL: {statement}"),
        Event::DdlEnd {
            outcome,
            error,
            duration_s,
        } => format!(
            "DDL ended: {outcome:?}{}{}",
            duration_s
                .map(|d| format!(" after {d:.3} s"))
                .unwrap_or_default(),
            error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
        ),
        Event::KillSwitchCheck {
            checkpoint,
            global,
            connection,
            response_ms,
            error,
        } => format!(
            "kill switches [{checkpoint}]: global {} / connection {}{}{}",
            global.label(),
            connection.label(),
            response_ms
                .map(|r| format!(" ({r:.1} ms)"))
                .unwrap_or_default(),
            error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
        ),
        Event::Incident {
            severity,
            description,
            action,
            ..
        } => format!(
            "INCIDENT ({severity:?}): {description}{}",
            action
                .as_ref()
                .map(|a| format!(" -> {a}"))
                .unwrap_or_default()
        ),
        Event::RollbackDecision {
            trigger, reason, ..
        } => format!("ROLLBACK decided ({trigger:?}): {reason}"),
        Event::RollbackStart { statement } => {
            format!(
                "rollback started{}",
                statement
                    .as_ref()
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default()
            )
        }
        Event::RollbackStep {
            step: n,
            actual,
            status,
        } => format!("rollback step {n} {}: {actual}", step(*status)),
        Event::RollbackEnd { success, error } => format!(
            "rollback {}{}",
            if *success { "complete" } else { "FAILED" },
            error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
        ),
        Event::PostRollbackCheck {
            check,
            actual,
            passed,
        } => {
            format!(
                "post-rollback check {check}: {} ({actual})",
                if *passed { "ok" } else { "NOT OK" }
            )
        }
        Event::Verification {
            index_exists,
            columns,
            index_type,
            explain_type,
            explain_key,
            ..
        } => format!(
            "verification: index {} columns [{}] type {} / EXPLAIN type {} key {}",
            if *index_exists { "present" } else { "ABSENT" },
            columns.join(", "),
            index_type.as_deref().unwrap_or("-"),
            explain_type.as_deref().unwrap_or("-"),
            explain_key.as_deref().unwrap_or("-")
        ),
        Event::AppCheck {
            check,
            actual,
            passed,
        } => {
            format!(
                "app check {check}: {} ({actual})",
                if *passed { "ok" } else { "NOT OK" }
            )
        }
        Event::Alert {
            name,
            severity,
            message,
        } => format!(
            "ALERT ({severity:?}) {name}{}",
            message
                .as_ref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ),
        Event::RunEnd { status } => format!("run ended: {status:?}"),
        Event::Log { level, message } => {
            if level == "INFO" {
                message.clone()
            } else {
                format!("{level}: {message}")
            }
        }
    }
}
