//! Kill switches: an HTTP API answering `{"enabled": bool}`, or a flag file
//! (gh-ost's panic-flag style: the file existing means ON).
//!
//! Fail safe: anything but a clear OFF (unreachable, timed out, an HTTP error,
//! a body that is not `{"enabled": bool}`) reads as `unknown`, which counts as ON.

use crate::model::SwitchState;
use anyhow::{Result, bail};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where a kill switch is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchSource {
    /// `http://HOST:PORT/path`.
    Http {
        host: String,
        port: u16,
        path: String,
    },
    /// `file:/path`.
    File(PathBuf),
}

/// One read of one switch.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub state: SwitchState,
    /// How long the answer took; `None` when nothing answered.
    pub response_ms: Option<f64>,
    pub error: Option<String>,
}

impl SwitchSource {
    pub fn parse(what: &str, s: &str) -> Result<SwitchSource> {
        let s = s.trim();
        if let Some(path) = s.strip_prefix("file:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                bail!("{what}: `file:` needs a path, e.g. file:/run/canary/kill");
            }
            return Ok(SwitchSource::File(PathBuf::from(path)));
        }
        let Some(rest) = s.strip_prefix("http://") else {
            bail!("{what}: expected http://HOST:PORT/path or file:/path, got `{s}`");
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            bail!("{what}: credentials in the URL are not supported");
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                let port: u16 = p
                    .parse()
                    .map_err(|_| anyhow::anyhow!("{what}: bad port `{p}` in `{s}`"))?;
                (
                    h.trim_start_matches('[').trim_end_matches(']').to_string(),
                    port,
                )
            }
            _ => (authority.to_string(), 80),
        };
        if host.is_empty() {
            bail!("{what}: no host in `{s}`");
        }
        if path.chars().any(|c| c.is_ascii_control() || c == ' ') {
            bail!("{what}: the path may not hold spaces or control characters");
        }
        Ok(SwitchSource::Http {
            host,
            port,
            path: path.to_string(),
        })
    }

    /// Reads the switch, taking at most about `timeout`.
    pub fn read(&self, timeout: Duration) -> Reading {
        let start = Instant::now();
        match self {
            SwitchSource::File(path) => match std::fs::metadata(path) {
                Ok(_) => Reading {
                    state: SwitchState::On,
                    response_ms: Some(ms(start)),
                    error: None,
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Reading {
                    state: SwitchState::Off,
                    response_ms: Some(ms(start)),
                    error: None,
                },
                Err(e) => Reading {
                    state: SwitchState::Unknown,
                    response_ms: None,
                    error: Some(format!("{}: {e}", path.display())),
                },
            },
            SwitchSource::Http { host, port, path } => {
                match http_get(host, *port, path, timeout, start) {
                    Err(e) => Reading {
                        state: SwitchState::Unknown,
                        response_ms: None,
                        error: Some(e),
                    },
                    Ok((status, body)) => {
                        let response_ms = Some(ms(start));
                        if status != 200 {
                            return Reading {
                                state: SwitchState::Unknown,
                                response_ms,
                                error: Some(format!("HTTP status {status}")),
                            };
                        }
                        match parse_enabled(&body) {
                            Some(true) => Reading {
                                state: SwitchState::On,
                                response_ms,
                                error: None,
                            },
                            Some(false) => Reading {
                                state: SwitchState::Off,
                                response_ms,
                                error: None,
                            },
                            None => Reading {
                                state: SwitchState::Unknown,
                                response_ms,
                                error: Some(format!(
                                    "malformed answer (expected {{\"enabled\": true|false}}): {}",
                                    String::from_utf8_lossy(&body)
                                        .chars()
                                        .take(80)
                                        .collect::<String>()
                                )),
                            },
                        }
                    }
                }
            }
        }
    }
}

impl std::fmt::Display for SwitchSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SwitchSource::Http { host, port, path } => write!(f, "http://{host}:{port}{path}"),
            SwitchSource::File(p) => write!(f, "file:{}", p.display()),
        }
    }
}

fn ms(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
}

fn parse_enabled(body: &[u8]) -> Option<bool> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.as_object()?.get("enabled")?.as_bool()
}

/// A minimal HTTP/1.0 GET: status and body, within `timeout` of `start`.
fn http_get(
    host: &str,
    port: u16,
    path: &str,
    timeout: Duration,
    start: Instant,
) -> Result<(u16, Vec<u8>), String> {
    let deadline = start + timeout;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    };
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let mut last_err = format!("no address for {host}");
    let mut stream = None;
    for addr in addrs {
        let Some(t) = left() else {
            return Err(format!("timed out after {} ms", timeout.as_millis()));
        };
        match TcpStream::connect_timeout(&addr, t) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_err = format!("cannot connect to {addr}: {e}"),
        }
    }
    let mut stream = stream.ok_or(last_err)?;
    let host_header = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let req = format!(
        "GET {path} HTTP/1.0\r\nHost: {host_header}\r\nAccept: application/json\r\nUser-Agent: canary-report\r\nConnection: close\r\n\r\n"
    );
    let timed_out = || format!("timed out after {} ms", timeout.as_millis());
    stream
        .set_write_timeout(left())
        .map_err(|e| e.to_string())?;
    stream
        .write_all(req.as_bytes())
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Some(t) = left() else {
            return Err(timed_out());
        };
        stream
            .set_read_timeout(Some(t))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > 64 * 1024 {
                    return Err("answer larger than 64 KiB".into());
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(timed_out());
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("cannot read the answer: {e}")),
        }
    }
    parse_response(&buf)
}

fn parse_response(buf: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| "not an HTTP answer (no end of headers)".to_string())?;
    let head = String::from_utf8_lossy(&buf[..split]);
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.split_whitespace();
    let proto = parts.next().unwrap_or("");
    if !proto.starts_with("HTTP/") {
        return Err(format!(
            "not an HTTP answer: `{}`",
            status_line.chars().take(60).collect::<String>()
        ));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line `{status_line}`"))?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = &buf[split + 4..];
    let body = if chunked {
        dechunk(body).ok_or("bad chunked body")?
    } else {
        body.to_vec()
    };
    Ok((status, body))
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&b[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse() {
        assert_eq!(
            SwitchSource::parse("x", "http://127.0.0.1:8080/ks/global").unwrap(),
            SwitchSource::Http {
                host: "127.0.0.1".into(),
                port: 8080,
                path: "/ks/global".into()
            }
        );
        assert_eq!(
            SwitchSource::parse("x", "http://localhost").unwrap(),
            SwitchSource::Http {
                host: "localhost".into(),
                port: 80,
                path: "/".into()
            }
        );
        assert_eq!(
            SwitchSource::parse("x", "file:/run/kill").unwrap(),
            SwitchSource::File("/run/kill".into())
        );
        assert!(SwitchSource::parse("x", "https://a/b").is_err());
        assert!(SwitchSource::parse("x", "http://h:99999/").is_err());
        assert!(SwitchSource::parse("x", "file:").is_err());
    }

    #[test]
    fn answers_parse() {
        let (s, b) = parse_response(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"enabled\":false}",
        )
        .unwrap();
        assert_eq!((s, parse_enabled(&b)), (200, Some(false)));
        let (s, b) = parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"enabled\":true}\r\n0\r\n\r\n").unwrap();
        assert_eq!((s, parse_enabled(&b)), (200, Some(true)));
        assert_eq!(parse_enabled(b"{\"enabled\":\"no\"}"), None);
        assert_eq!(parse_enabled(b"[true]"), None);
        assert!(parse_response(b"garbage").is_err());
    }

    #[test]
    fn a_flag_file_is_on_when_present() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kill");
        let s = SwitchSource::File(p.clone());
        assert_eq!(s.read(Duration::from_secs(1)).state, SwitchState::Off);
        std::fs::write(&p, "").unwrap();
        assert_eq!(s.read(Duration::from_secs(1)).state, SwitchState::On);
    }

    #[test]
    fn a_closed_port_is_unknown() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let s = SwitchSource::parse("x", &format!("http://127.0.0.1:{port}/ks")).unwrap();
        let r = s.read(Duration::from_millis(500));
        assert_eq!(r.state, SwitchState::Unknown);
        assert!(r.response_ms.is_none());
        assert!(r.error.is_some());
    }
}
