//! Watching the kill switches on their own cadence, apart from sampling: one
//! thread per switch. An HTTP switch is read every `--kill-switch-poll`
//! (200 ms by default), the next read starting when the last one ends if it
//! took longer. A flag file is watched with inotify (through `notify`), so
//! that its creation is read within milliseconds, and read every poll as
//! well, in case no event comes (a file system without inotify, such as NFS).
//!
//! Every reading is handed to `send`; the main loop judges them. A watcher
//! ends when `send` returns false.

use super::{KillSwitches, Reading, SwitchSource};
use notify::{RecursiveMode, Watcher};
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Which of the two kill switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Global,
    Connection,
}

impl Which {
    pub fn name(self) -> &'static str {
        match self {
            Which::Global => "global",
            Which::Connection => "connection",
        }
    }
}

/// One reading by a watcher.
#[derive(Debug, Clone)]
pub struct Observation {
    pub which: Which,
    pub reading: Reading,
    /// When the read began.
    pub started: Instant,
}

impl KillSwitches {
    /// Starts one watcher thread per switch. Returns how each is watched,
    /// for the log (`inotify on /run/canary and a read every 200 ms`).
    pub fn watch<F>(&self, send: F) -> Vec<String>
    where
        F: Fn(Observation) -> bool + Send + Clone + 'static,
    {
        [
            (Which::Global, &self.global),
            (Which::Connection, &self.connection),
        ]
        .into_iter()
        .map(|(which, source)| {
            let source = source.clone();
            let (poll, timeout) = (self.poll, self.timeout);
            let send = send.clone();
            let (how_tx, how_rx) = mpsc::channel();
            std::thread::Builder::new()
                .name(format!("{}-kill-switch", which.name()))
                .spawn(move || match &source {
                    SwitchSource::File(path) => {
                        watch_file(which, &source, path, poll, timeout, how_tx, send)
                    }
                    SwitchSource::Http(_) => {
                        let _ = how_tx.send(format!("read every {}", every(poll)));
                        poll_http(which, &source, poll, timeout, send)
                    }
                })
                .expect("spawn a kill switch watcher");
            let how = how_rx
                .recv()
                .unwrap_or_else(|_| "watcher ended at once".into());
            format!("{} kill switch: {how}", which.name())
        })
        .collect()
    }
}

fn every(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// Reads an HTTP switch every `poll`, or back to back when a read takes
/// longer.
fn poll_http<F>(which: Which, source: &SwitchSource, poll: Duration, timeout: Duration, send: F)
where
    F: Fn(Observation) -> bool,
{
    loop {
        let started = Instant::now();
        if !read_and_send(which, source, timeout, &send) {
            return;
        }
        std::thread::sleep((started + poll).saturating_duration_since(Instant::now()));
    }
}

/// Reads the switch and hands the reading on; false when `send` wants no more.
fn read_and_send<F>(which: Which, source: &SwitchSource, timeout: Duration, send: &F) -> bool
where
    F: Fn(Observation) -> bool,
{
    let started = Instant::now();
    let reading = source.read(timeout);
    send(Observation {
        which,
        reading,
        started,
    })
}

/// Reads a flag file at once on any change in its directory, and every
/// `poll` besides.
fn watch_file<F>(
    which: Which,
    source: &SwitchSource,
    path: &Path,
    poll: Duration,
    timeout: Duration,
    how: mpsc::Sender<String>,
    send: F,
) where
    F: Fn(Observation) -> bool,
{
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    let (wake_tx, wake) = mpsc::channel::<()>();
    let watcher = notify::recommended_watcher(move |_: notify::Result<notify::Event>| {
        // Any event in the directory (or an error from the watcher) is a
        // reason to read now: a read costs one stat().
        let _ = wake_tx.send(());
    })
    .and_then(|mut w| w.watch(&dir, RecursiveMode::NonRecursive).map(|()| w));
    let _ = how.send(match &watcher {
        Ok(_) => format!(
            "inotify on {} and a read every {}",
            dir.display(),
            every(poll)
        ),
        Err(e) => format!(
            "read every {} (inotify on {} is not available: {e})",
            every(poll),
            dir.display()
        ),
    });
    loop {
        if !read_and_send(which, source, timeout, &send) {
            return;
        }
        match wake.recv_timeout(poll) {
            Ok(()) => while wake.try_recv().is_ok() {},
            Err(RecvTimeoutError::Timeout) => {}
            // No watcher: poll only.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(poll),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SwitchState;
    use std::sync::{Arc, Mutex};

    fn switches(global: &Path, connection: &Path, poll: Duration) -> KillSwitches {
        KillSwitches {
            global: SwitchSource::File(global.to_path_buf()),
            connection: SwitchSource::File(connection.to_path_buf()),
            timeout: Duration::from_secs(2),
            poll,
            headers_note: None,
        }
    }

    /// What the watchers sent, each with when it arrived.
    type Seen = Arc<Mutex<Vec<(Observation, Instant)>>>;

    /// Collects what the watchers send until `stop` is set.
    fn collect(
        stop: Arc<Mutex<bool>>,
    ) -> (Seen, impl Fn(Observation) -> bool + Send + Clone + 'static) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let send = move |w: Observation| {
            sink.lock().unwrap().push((w, Instant::now()));
            !*stop.lock().unwrap()
        };
        (seen, send)
    }

    #[test]
    fn a_flag_file_is_seen_on_its_creation_not_at_the_next_poll() {
        let dir = tempfile::tempdir().unwrap();
        let (g, c) = (dir.path().join("global"), dir.path().join("connection"));
        let stop = Arc::new(Mutex::new(false));
        let (seen, send) = collect(stop.clone());
        // A poll far longer than the test: only inotify can see the file.
        let how = switches(&g, &c, Duration::from_secs(3600)).watch(send);
        assert!(how[0].contains("inotify on"), "{how:?}");
        let first_reads = Instant::now() + Duration::from_secs(5);
        while seen.lock().unwrap().len() < 2 {
            assert!(Instant::now() < first_reads, "no first reading");
            std::thread::sleep(Duration::from_millis(5));
        }
        let created = Instant::now();
        std::fs::write(&g, b"").unwrap();
        let deadline = created + Duration::from_secs(10);
        let on = loop {
            let found = seen.lock().unwrap().iter().find_map(|(w, at)| {
                (w.which == Which::Global && w.reading.state == SwitchState::On).then_some(*at)
            });
            if let Some(at) = found {
                break at;
            }
            assert!(Instant::now() < deadline, "the flag file was never read ON");
            std::thread::sleep(Duration::from_millis(5));
        };
        *stop.lock().unwrap() = true;
        // The poll is an hour: the reading came from the inotify event.
        assert!(on.duration_since(created) < Duration::from_secs(5));
        assert!(
            seen.lock()
                .unwrap()
                .iter()
                .all(|(w, _)| w.which == Which::Global || w.reading.state == SwitchState::Off)
        );
    }

    #[test]
    fn without_a_directory_to_watch_a_flag_file_is_polled() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir").join("flag");
        let stop = Arc::new(Mutex::new(false));
        let (seen, send) = collect(stop.clone());
        let how = switches(&missing, &missing, Duration::from_millis(20)).watch(send);
        assert!(how[0].contains("is not available"), "{how:?}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while seen.lock().unwrap().len() < 6 {
            assert!(Instant::now() < deadline, "no polling");
            std::thread::sleep(Duration::from_millis(5));
        }
        *stop.lock().unwrap() = true;
        assert!(
            seen.lock()
                .unwrap()
                .iter()
                .all(|(w, _)| w.reading.state == SwitchState::Off)
        );
    }
}
