//! A kill switch API for the tests: a tiny HTTP server on 127.0.0.1 answering
//! `GET /any/path` with `{"enabled": bool}`, per path, and misbehaving on demand;
//! or the same over HTTPS (rustls, a certificate made by the `openssl` CLI),
//! optionally requiring `Authorization: Bearer <token>` (401 without it).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
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
    /// Requests refused for a missing or wrong token.
    unauthorized: u64,
}

/// HTTPS, and the token it requires.
struct Tls {
    config: Arc<rustls::ServerConfig>,
    token: Option<String>,
}

pub struct KillSwitchServer {
    pub port: u16,
    https: bool,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl KillSwitchServer {
    pub fn start() -> KillSwitchServer {
        Self::serve(None)
    }

    /// HTTPS with the certificate and key of `certs` (as made by
    /// `mariadb::make_certs(dir, "localhost")`), requiring
    /// `Authorization: Bearer <token>` when a token is given.
    pub fn start_https(certs: &Path, token: Option<&str>) -> KillSwitchServer {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(certs.join("server-cert.pem"))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        let key = PrivateKeyDer::from_pem_file(certs.join("server-key.pem")).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
        Self::serve(Some(Arc::new(Tls {
            config: Arc::new(config),
            token: token.map(str::to_string),
        })))
    }

    fn serve(tls: Option<Arc<Tls>>) -> KillSwitchServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let https = tls.is_some();
        std::thread::spawn(move || {
            while !sp.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let st = st.clone();
                        let tls = tls.clone();
                        std::thread::spawn(move || {
                            let _ = stream.set_nonblocking(false);
                            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                            match tls {
                                None => serve(stream, &st, None),
                                Some(tls) => {
                                    let Ok(conn) =
                                        rustls::ServerConnection::new(tls.config.clone())
                                    else {
                                        return;
                                    };
                                    let mut s = rustls::StreamOwned::new(conn, stream);
                                    serve(&mut s, &st, tls.token.as_deref());
                                    s.conn.send_close_notify();
                                    let _ = s.flush();
                                }
                            }
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        KillSwitchServer {
            port,
            https,
            state,
            stop,
        }
    }

    /// `http://127.0.0.1:PORT/path`, or `https://localhost:PORT/path` (the
    /// certificate's name).
    pub fn url(&self, path: &str) -> String {
        if self.https {
            format!("https://localhost:{}{path}", self.port)
        } else {
            format!("http://127.0.0.1:{}{path}", self.port)
        }
    }

    /// Requests answered 401 for a missing or wrong token.
    pub fn unauthorized(&self) -> u64 {
        self.state.lock().unwrap().unauthorized
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

/// Answers one request; with a token, only one holding
/// `Authorization: Bearer <token>` (else 401).
fn serve(mut stream: impl Read + Write, state: &Mutex<State>, token: Option<&str>) {
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
    let respond = |stream: &mut dyn Write, status: &str, body: &str| {
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    };
    if let Some(token) = token {
        let want = format!("bearer {token}");
        let authorized = head.lines().any(|l| {
            l.split_once(':').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("authorization")
                    && v.trim().eq_ignore_ascii_case(&want)
                    && v.trim().ends_with(token)
            })
        });
        if !authorized {
            state.lock().unwrap().unauthorized += 1;
            respond(&mut stream, "401 Unauthorized", "{\"error\": \"no token\"}");
            return;
        }
    }
    let (enabled, mode) = {
        let mut s = state.lock().unwrap();
        *s.hits.entry(path.clone()).or_default() += 1;
        (
            s.enabled.get(&path).copied().unwrap_or(false),
            s.mode.get(&path).copied().unwrap_or(Mode::Normal),
        )
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
