//! Writing the run directory: `manifest.json` (rewritten whole, atomically),
//! `events.jsonl` and `metrics/capture.csv` (append-only, each line written
//! and synced as it happens), so the directory is valid at every moment.

use super::display::{Display, Sink};
use crate::model::{Event, EventRecord, Manifest};
use anyhow::{Context, Result, bail};
use chrono::{DateTime, SubsecRound, Utc};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The CSV file capture writes, relative to the run directory.
pub const METRICS_FILE: &str = "metrics/capture.csv";

/// Now, to the millisecond (the precision of every time written).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// The time format of the CSV: RFC 3339, UTC, milliseconds.
pub fn rfc3339_ms(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

struct Files {
    dir: PathBuf,
    events: File,
    metrics: File,
}

/// The run directory being written, and the person watching.
pub struct Recorder {
    files: Option<Files>,
    pub manifest: Manifest,
    last_ts: Option<DateTime<Utc>>,
    pub display: Display,
    /// Write failures are ignored (see [`Recorder::best_effort`]).
    best_effort: bool,
    /// Why the last event could not be written to events.jsonl, if it could not.
    events_unwritable: Option<String>,
    /// Events are written but not synced until [`Recorder::sync`]; whether
    /// one was written meanwhile.
    sync_held: Option<bool>,
}

/// Appends `bytes` to `file` and, when `sync`, syncs it. A failed write (a
/// full disk) is undone, so that the file never ends in half a line that no
/// reader accepts.
fn append(file: &mut File, path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    let len = file
        .metadata()
        .with_context(|| format!("cannot write {}", path.display()))?
        .len();
    if let Err(e) = file.write_all(bytes) {
        let _ = file.set_len(len);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    if !sync {
        return Ok(());
    }
    file.sync_data()
        .with_context(|| format!("cannot sync {}", path.display()))
}

impl Recorder {
    /// Creates the run directory (it must not exist, or be empty) and writes the
    /// first manifest.
    pub fn create(dir: &Path, manifest: Manifest, quiet: bool, sink: Sink) -> Result<Recorder> {
        if dir.exists() {
            let mut entries = std::fs::read_dir(dir)
                .with_context(|| format!("--out {}: cannot read", dir.display()))?;
            if entries.next().is_some() {
                bail!(
                    "--out {}: the directory exists and is not empty; a run directory is never overwritten",
                    dir.display()
                );
            }
        }
        std::fs::create_dir_all(dir.join("metrics"))
            .with_context(|| format!("cannot create {}", dir.join("metrics").display()))?;
        let open = |p: PathBuf| {
            OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(&p)
                .with_context(|| format!("cannot create {}", p.display()))
        };
        let events = open(dir.join("events.jsonl"))?;
        let mut metrics = open(dir.join(METRICS_FILE))?;
        metrics.write_all(b"timestamp,metric,value\n")?;
        metrics.sync_data()?;
        let mut r = Recorder {
            files: Some(Files {
                dir: dir.to_path_buf(),
                events,
                metrics,
            }),
            display: Display::new(quiet, crate::model::Clock::of(&manifest).tz, sink),
            manifest,
            last_ts: None,
            best_effort: false,
            events_unwritable: None,
            sync_held: None,
        };
        r.write_manifest()?;
        Ok(r)
    }

    /// A recorder that writes nothing (dry run): events are only shown.
    pub fn discard(manifest: Manifest, quiet: bool, sink: Sink) -> Recorder {
        Recorder {
            files: None,
            display: Display::new(quiet, crate::model::Clock::of(&manifest).tz, sink),
            manifest,
            last_ts: None,
            best_effort: false,
            events_unwritable: None,
            sync_held: None,
        }
    }

    /// From now until [`Recorder::sync`], events are written to events.jsonl
    /// (where a reader, or the next capture after a crash of this one, finds
    /// them) but not synced to disk. On the way to a rollback's first
    /// statement, each sync under the ALTER's I/O took 1 to 90 ms; only a
    /// crash of the machine itself in those milliseconds could lose the lines.
    pub fn hold_sync(&mut self) {
        self.sync_held.get_or_insert(false);
    }

    /// Syncs what was written since [`Recorder::hold_sync`], and syncs each
    /// event again from now on.
    pub fn sync(&mut self) -> Result<()> {
        let Some(written) = self.sync_held.take() else {
            return Ok(());
        };
        let Some(files) = &mut self.files else {
            return Ok(());
        };
        if !written {
            return Ok(());
        }
        let path = files.dir.join("events.jsonl");
        let r = files
            .events
            .sync_data()
            .with_context(|| format!("cannot sync {}", path.display()));
        self.check(r)
    }

    /// From now on a write that fails is skipped instead of failing: once the
    /// run directory could not be written, the rollback must still run to its
    /// end (it is shown on stderr).
    pub fn best_effort(&mut self) {
        self.best_effort = true;
    }

    fn check(&self, r: Result<()>) -> Result<()> {
        if self.best_effort { Ok(()) } else { r }
    }

    /// Why events.jsonl could not be written the last time an event was,
    /// if it could not (a full disk): what comes next is likely lost too.
    pub fn events_unwritable(&self) -> Option<&str> {
        self.events_unwritable.as_deref()
    }

    pub fn dir(&self) -> Option<&Path> {
        self.files.as_ref().map(|f| f.dir.as_path())
    }

    /// Rewrites manifest.json: a temporary file, synced, then renamed over it.
    pub fn write_manifest(&mut self) -> Result<()> {
        let Some(files) = &self.files else {
            return Ok(());
        };
        let tmp = files.dir.join(".manifest.json.tmp");
        let final_path = files.dir.join("manifest.json");
        let mut text = serde_json::to_string_pretty(&self.manifest)?;
        text.push('\n');
        let written = File::create(&tmp)
            .and_then(|mut f| {
                f.write_all(text.as_bytes())?;
                f.sync_all()
            })
            .with_context(|| format!("cannot write {}", tmp.display()))
            .and_then(|()| {
                std::fs::rename(&tmp, &final_path).with_context(|| {
                    format!(
                        "cannot rename {} to {}",
                        tmp.display(),
                        final_path.display()
                    )
                })
            });
        if written.is_err() {
            // The manifest in place stays whole; leave no half-written copy.
            let _ = std::fs::remove_file(&tmp);
        }
        self.check(written)
    }

    /// Writes an event stamped now.
    pub fn event(&mut self, event: Event) -> Result<DateTime<Utc>> {
        self.event_at(now(), event)
    }

    /// Writes an event; a time before the last event's is moved up to it, so
    /// that the log stays in time order.
    pub fn event_at(&mut self, ts: DateTime<Utc>, event: Event) -> Result<DateTime<Utc>> {
        let ts = match self.last_ts {
            Some(last) if ts < last => last,
            _ => ts.trunc_subsecs(3),
        };
        self.last_ts = Some(ts);
        let rec = EventRecord { ts, event };
        let mut written = Ok(());
        if let Some(files) = &mut self.files {
            let mut line = serde_json::to_string(&rec)?;
            line.push('\n');
            let path = files.dir.join("events.jsonl");
            let sync = self.sync_held.is_none();
            written = append(&mut files.events, &path, line.as_bytes(), sync);
            if let Some(w) = &mut self.sync_held {
                *w = true;
            }
        }
        self.events_unwritable = written.as_ref().err().map(|e| e.root_cause().to_string());
        // Shown once the write is known, so that stderr never claims a line
        // is in events.jsonl when it is not.
        self.display
            .event(ts, &rec.event, self.events_unwritable.as_deref());
        self.check(written)?;
        Ok(ts)
    }

    pub fn log(&mut self, level: &str, message: impl Into<String>) -> Result<()> {
        self.event(Event::Log {
            level: level.into(),
            message: message.into(),
        })?;
        Ok(())
    }

    /// Appends rows `(time, metric, value)` to the CSV and syncs it.
    pub fn metrics(&mut self, rows: &[(DateTime<Utc>, &str, f64)]) -> Result<()> {
        let Some(files) = &mut self.files else {
            return Ok(());
        };
        let mut text = String::new();
        for (ts, metric, value) in rows {
            if !value.is_finite() {
                continue;
            }
            let v = (value * 1e6).round() / 1e6;
            text.push_str(&format!("{},{metric},{v}\n", rfc3339_ms(*ts)));
        }
        if text.is_empty() {
            return Ok(());
        }
        let path = files.dir.join(METRICS_FILE);
        let r = append(&mut files.metrics, &path, text.as_bytes(), true);
        self.check(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_that_cannot_be_written_is_known_as_such() {
        let manifest: Manifest =
            serde_json::from_str(include_str!("../../samples/run-001/manifest.json")).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let mut r =
            Recorder::create(&tmp.path().join("run"), manifest, true, Sink::Stderr).unwrap();
        let log = |m: &str| Event::Log {
            level: "INFO".into(),
            message: m.into(),
        };
        r.event(log("written")).unwrap();
        assert_eq!(r.events_unwritable(), None);

        // A full disk: /dev/full refuses every write with ENOSPC.
        r.files.as_mut().unwrap().events =
            OpenOptions::new().append(true).open("/dev/full").unwrap();
        assert!(r.event(log("lost")).is_err(), "fails the run at first");
        r.best_effort();
        assert!(r.event(log("lost too")).is_ok(), "then goes on");
        let why = r.events_unwritable().unwrap();
        assert!(why.contains("No space left on device"), "{why}");
    }
}
