//! A kill switch API for the tests: a tiny HTTP server on 127.0.0.1 answering
//! `GET /any/path` with `{"enabled": bool}`, per path, and misbehaving on demand.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// `200 {"enabled": <state>}`.
    Normal,
    /// Answers after this long.
    Slow(Duration),
    /// `500 Internal Server Error`.
    Status500,
    /// `200` with a body that is not JSON.
    Garbage,
    /// Accepts the connection and closes it without a word.
    Refuse,
}

#[derive(Default)]
struct State {
    enabled: HashMap<String, bool>,
    mode: HashMap<String, Mode>,
    hits: HashMap<String, u64>,
}

pub struct KillSwitchServer {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl KillSwitchServer {
    pub fn start() -> KillSwitchServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            while !sp.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let st = st.clone();
                        std::thread::spawn(move || serve(stream, &st));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        KillSwitchServer { port, state, stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn set_enabled(&self, path: &str, on: bool) {
        self.state.lock().unwrap().enabled.insert(path.into(), on);
    }

    pub fn set_mode(&self, path: &str, mode: Mode) {
        self.state.lock().unwrap().mode.insert(path.into(), mode);
    }

    pub fn hits(&self, path: &str) -> u64 {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for KillSwitchServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(mut stream: TcpStream, state: &Mutex<State>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 16 * 1024 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let (enabled, mode) = {
        let mut s = state.lock().unwrap();
        *s.hits.entry(path.clone()).or_default() += 1;
        (
            s.enabled.get(&path).copied().unwrap_or(false),
            s.mode.get(&path).copied().unwrap_or(Mode::Normal),
        )
    };
    let respond = |stream: &mut TcpStream, status: &str, body: &str| {
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    };
    match mode {
        Mode::Normal => respond(
            &mut stream,
            "200 OK",
            &format!("{{\"enabled\": {enabled}}}"),
        ),
        Mode::Slow(d) => {
            std::thread::sleep(d);
            respond(
                &mut stream,
                "200 OK",
                &format!("{{\"enabled\": {enabled}}}"),
            );
        }
        Mode::Status500 => respond(
            &mut stream,
            "500 Internal Server Error",
            "{\"error\": \"boom\"}",
        ),
        Mode::Garbage => respond(&mut stream, "200 OK", "<html>surprise</html>"),
        Mode::Refuse => {}
    }
}

/// An address where nothing listens.
pub fn closed_port_url(path: &str) -> String {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    format!("http://127.0.0.1:{port}{path}")
}
