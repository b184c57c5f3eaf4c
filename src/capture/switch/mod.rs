//! Kill switches: an HTTP(S) API answering a JSON document whose boolean at
//! a JSON pointer (`/enabled` by default) is the switch, or a flag file
//! (gh-ost's panic-flag style: the file existing means ON).
//!
//! The HTTP client is `ureq` with rustls. Fail safe: anything but a clear OFF
//! (unreachable, timed out, a TLS failure, an HTTP status other than 200, a
//! body that is not JSON or holds no boolean at the pointer, a body over
//! 64 KiB) reads as `unknown`, which counts as ON.
//!
//! Request headers (`--kill-switch-header`) may hold a token: their values
//! are [`Secret`]s, never printed, logged or recorded; only the URL is.

use super::args::Secret;
use crate::model::SwitchState;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use ureq::http::{HeaderName, HeaderValue};

mod watch;
pub use watch::{Observation, Which};

/// The largest answer read; more is malformed.
const MAX_BODY: u64 = 64 * 1024;

/// Where the switch's state is in the answer, by default.
pub const DEFAULT_POINTER: &str = "/enabled";

/// Where a kill switch is read.
#[derive(Debug, Clone)]
pub enum SwitchSource {
    /// `http://HOST:PORT/path` or `https://...`.
    Http(HttpSwitch),
    /// `file:/path`.
    File(PathBuf),
}

/// An HTTP(S) kill switch: its URL, and the client that reads it.
#[derive(Debug, Clone)]
pub struct HttpSwitch {
    pub url: SwitchUrl,
    client: Arc<Client>,
}

/// A kill switch URL, checked: no credentials in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchUrl {
    pub https: bool,
    pub host: String,
    pub port: u16,
    pub path: String,
}

/// A request header; its value is a secret.
#[derive(Debug, Clone)]
pub struct Header {
    pub name: String,
    pub value: Secret,
}

/// What every HTTP switch is read with.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    headers: Vec<Header>,
    pointer: String,
}

/// One read of one switch.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub state: SwitchState,
    /// How long the answer took; `None` when nothing answered.
    pub response_ms: Option<f64>,
    pub error: Option<String>,
}

/// The two kill switches of a run, and how long a read may take.
#[derive(Debug, Clone)]
pub struct KillSwitches {
    pub global: SwitchSource,
    pub connection: SwitchSource,
    pub timeout: Duration,
    /// How often each switch is read (a flag file is also watched with
    /// inotify, and read at once when it changes).
    pub poll: Duration,
    /// Where the headers came from, as recorded (`2 headers from FILE`);
    /// never their values.
    pub headers_note: Option<String>,
}

impl KillSwitches {
    /// Reads both switches in parallel.
    pub fn read(&self) -> (Reading, Reading) {
        std::thread::scope(|s| {
            let g = s.spawn(|| self.global.read(self.timeout));
            let c = s.spawn(|| self.connection.read(self.timeout));
            (
                g.join().expect("switch read"),
                c.join().expect("switch read"),
            )
        })
    }

    /// How a switch is recorded in the manifest: [`KillSwitches::describe`]
    /// and how often it is read.
    pub fn record(&self, s: &SwitchSource) -> String {
        let watched = match s {
            SwitchSource::File(_) => "watched with inotify and ",
            SwitchSource::Http(_) => "",
        };
        format!(
            "{}; {watched}read every {}",
            self.describe(s),
            humantime::format_duration(self.poll)
        )
    }

    /// How a switch is logged: its URL, and for an HTTP one the headers
    /// sent (where from, not what) and the pointer read.
    pub fn describe(&self, s: &SwitchSource) -> String {
        match s {
            SwitchSource::File(_) => format!("{s} (the file existing means ON)"),
            SwitchSource::Http(h) => {
                let mut notes = vec![format!("the boolean at {}", h.client.pointer)];
                if let Some(n) = &self.headers_note {
                    notes.push(format!("{n}, not recorded"));
                    if !h.url.https {
                        notes.push("sent UNENCRYPTED over http://".into());
                    }
                }
                format!("{s} ({})", notes.join("; "))
            }
        }
    }
}

impl Client {
    /// The client for every HTTP switch: `timeout` for a whole read, the
    /// CA certificates of `ca` trusted instead of the Mozilla roots when
    /// given, no proxy, no redirect followed, one connection per read.
    pub fn new(
        headers: Vec<Header>,
        ca: Option<&Path>,
        pointer: &str,
        timeout: Duration,
    ) -> Result<Client> {
        use ureq::tls::{PemItem, RootCerts, TlsConfig};
        let roots = match ca {
            None => RootCerts::WebPki,
            Some(path) => {
                let pem = std::fs::read(path)
                    .with_context(|| format!("--kill-switch-ca {}: cannot read", path.display()))?;
                let mut certs = Vec::new();
                for item in ureq::tls::parse_pem(&pem) {
                    match item {
                        Ok(PemItem::Certificate(c)) => certs.push(c),
                        Ok(_) => {}
                        Err(e) => {
                            bail!("--kill-switch-ca {}: not a PEM file ({e})", path.display())
                        }
                    }
                }
                if certs.is_empty() {
                    bail!(
                        "--kill-switch-ca {}: no certificate in the file (PEM expected)",
                        path.display()
                    );
                }
                RootCerts::new_with_certs(&certs)
            }
        };
        if !(pointer.is_empty() || pointer.starts_with('/')) {
            bail!(
                "--kill-switch-pointer: `{pointer}` is not a JSON pointer (RFC 6901): it starts \
                 with `/`, e.g. /enabled or /data/enabled"
            );
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            .user_agent("canary-report")
            .accept("application/json")
            .tls_config(TlsConfig::builder().root_certs(roots).build())
            .build()
            .new_agent();
        Ok(Client {
            agent,
            headers,
            pointer: pointer.to_string(),
        })
    }
}

impl SwitchUrl {
    pub fn parse(what: &str, s: &str) -> Result<SwitchUrl> {
        let (https, rest) = if let Some(r) = s.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("http://") {
            (false, r)
        } else {
            bail!("{what}: expected https://HOST:PORT/path, http://... or file:/path, got `{s}`");
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            bail!(
                "{what}: credentials in the URL are refused (they would be seen in the process \
                 list and recorded); give a header in a file with --kill-switch-header @FILE"
            );
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
            _ => (
                authority
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string(),
                if https { 443 } else { 80 },
            ),
        };
        if host.is_empty() {
            bail!("{what}: no host in `{s}`");
        }
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        if path
            .chars()
            .any(|c| c.is_ascii_control() || c == ' ' || c == '#')
        {
            bail!("{what}: the path may not hold spaces, control characters or a `#` fragment");
        }
        let url = SwitchUrl {
            https,
            host,
            port,
            path,
        };
        url.to_string()
            .parse::<ureq::http::Uri>()
            .map_err(|e| anyhow::anyhow!("{what}: `{s}` is not a valid URL ({e})"))?;
        Ok(url)
    }
}

impl std::fmt::Display for SwitchUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}{}", self.host, self.port, self.path)
        } else {
            write!(f, "{scheme}://{}:{}{}", self.host, self.port, self.path)
        }
    }
}

impl SwitchSource {
    /// A `file:` path, or an `http(s)://` URL read with `client` (`None`
    /// refuses a URL: the caller had no client to give).
    pub fn parse(what: &str, s: &str, client: Option<&Arc<Client>>) -> Result<SwitchSource> {
        let s = s.trim();
        if let Some(path) = s.strip_prefix("file:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                bail!("{what}: `file:` needs a path, e.g. file:/run/canary/kill");
            }
            return Ok(SwitchSource::File(PathBuf::from(path)));
        }
        let url = SwitchUrl::parse(what, s)?;
        let client = client
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("{what}: no HTTP client for `{url}`"))?;
        Ok(SwitchSource::Http(HttpSwitch { url, client }))
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
            SwitchSource::Http(h) => match h.get(timeout) {
                Err(e) => Reading {
                    state: SwitchState::Unknown,
                    response_ms: None,
                    error: Some(e),
                },
                Ok((status, body)) => {
                    let response_ms = Some(ms(start));
                    let (state, error) = judge_answer(status, &body, &h.client.pointer);
                    Reading {
                        state,
                        response_ms,
                        error,
                    }
                }
            },
        }
    }
}

/// The state an answer gives, and why it is not a clear one.
fn judge_answer(status: u16, body: &[u8], pointer: &str) -> (SwitchState, Option<String>) {
    if status != 200 {
        return (SwitchState::Unknown, Some(format!("HTTP status {status}")));
    }
    match state_at(body, pointer) {
        Some(true) => (SwitchState::On, None),
        Some(false) => (SwitchState::Off, None),
        None => (
            SwitchState::Unknown,
            Some(format!(
                "malformed answer (expected a JSON boolean at {pointer}): {}",
                String::from_utf8_lossy(body)
                    .chars()
                    .take(80)
                    .collect::<String>()
            )),
        ),
    }
}

impl std::fmt::Display for SwitchSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SwitchSource::Http(h) => h.url.fmt(f),
            SwitchSource::File(p) => write!(f, "file:{}", p.display()),
        }
    }
}

impl HttpSwitch {
    /// GET: the status and the body (at most 64 KiB), or why there is none.
    fn get(&self, timeout: Duration) -> Result<(u16, Vec<u8>), String> {
        let mut req = self.client.agent.get(self.url.to_string());
        for h in &self.client.headers {
            // Checked when the options were read.
            let (Ok(name), Ok(mut value)) = (
                HeaderName::from_bytes(h.name.as_bytes()),
                HeaderValue::from_str(h.value.expose()),
            ) else {
                return Err(format!("header `{}` cannot be sent", h.name));
            };
            value.set_sensitive(true);
            req = req.header(name, value);
        }
        let mut resp = req.call().map_err(|e| self.failure(e, timeout))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| self.failure(e, timeout))?;
        Ok((status, body))
    }

    /// What went wrong, in the words the run records.
    fn failure(&self, e: ureq::Error, timeout: Duration) -> String {
        use std::io::ErrorKind as K;
        use ureq::Error as E;
        let at = format!("{}:{}", self.url.host, self.url.port);
        let timed_out = || format!("timed out after {} ms", timeout.as_millis());
        match e {
            E::Timeout(_) => timed_out(),
            E::HostNotFound => format!("cannot resolve {}", self.url.host),
            E::ConnectionFailed => format!("cannot connect to {at}"),
            E::Io(e) if e.get_ref().is_some_and(|i| i.is::<rustls::Error>()) => {
                format!("TLS to {at}: {}", e.get_ref().expect("checked"))
            }
            E::Io(e) => match e.kind() {
                K::TimedOut | K::WouldBlock => timed_out(),
                K::ConnectionRefused | K::AddrNotAvailable | K::NetworkUnreachable => {
                    format!("cannot connect to {at}: {e}")
                }
                K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => {
                    format!("not an HTTP answer (the connection was closed: {e})")
                }
                _ => format!("cannot read the answer: {e}"),
            },
            E::Protocol(p) => format!("not an HTTP answer ({p})"),
            E::LargeResponseHeader(..) => "not an HTTP answer (headers over 64 KiB)".into(),
            E::BodyExceedsLimit(_) => "malformed answer (larger than 64 KiB)".into(),
            E::Tls(m) => format!("TLS to {at}: {m}"),
            E::Rustls(e) => format!("TLS to {at}: {e}"),
            E::Pem(e) => format!("TLS to {at}: {e:?}"),
            other => format!("cannot read {}: {other}", self.url),
        }
    }
}

fn ms(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
}

/// The JSON boolean at `pointer` in `body`.
fn state_at(body: &[u8], pointer: &str) -> Option<bool> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.pointer(pointer)?.as_bool()
}

/// Header names that carry credentials: refused on the command line.
const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

/// Parses one `NAME: VALUE` header. `from_file` is where it was read (its
/// values may be secrets); `None` means the command line, where a
/// credential header is refused. Errors never echo the value.
pub fn parse_header(flag: &str, line: &str, from_file: Option<(&Path, usize)>) -> Result<Header> {
    let place = match from_file {
        Some((p, n)) => format!("{flag} @{}: line {n}", p.display()),
        None => flag.to_string(),
    };
    let Some((name, value)) = line.split_once(':') else {
        bail!("{place}: expected `NAME: VALUE`");
    };
    let name = name.trim();
    let value = value.trim();
    if HeaderName::from_bytes(name.as_bytes()).is_err() {
        bail!("{place}: `{name}` is not a header name (letters, digits and -_.!#$%&'*+^`|~)");
    }
    if value.is_empty() {
        bail!("{place}: the header `{name}` has no value");
    }
    if HeaderValue::from_str(value).is_err() {
        bail!("{place}: the value of `{name}` holds a control character");
    }
    if from_file.is_none() && CREDENTIAL_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        bail!(
            "{place}: a `{name}` header on the command line is refused (it would be seen in the \
             process list and shell history); put it in a file only you can read (chmod 600) \
             and give {flag} @FILE"
        );
    }
    Ok(Header {
        name: name.to_string(),
        value: Secret::new(value.to_string()),
    })
}

/// The headers of a file (as curl's `-H @file`): one `NAME: VALUE` a line,
/// blank lines skipped. The caller checks who can read the file.
pub fn parse_header_file(flag: &str, path: &Path, text: &str) -> Result<Vec<Header>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        out.push(parse_header(flag, line, Some((path, i + 1)))?);
    }
    if out.is_empty() {
        bail!("{flag} @{}: no header in the file", path.display());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(pointer: &str) -> Arc<Client> {
        Arc::new(Client::new(Vec::new(), None, pointer, Duration::from_secs(1)).unwrap())
    }

    fn url(s: &str) -> Result<SwitchUrl> {
        SwitchUrl::parse("x", s)
    }

    #[test]
    fn sources_parse() {
        assert_eq!(
            url("http://127.0.0.1:8080/ks/global").unwrap(),
            SwitchUrl {
                https: false,
                host: "127.0.0.1".into(),
                port: 8080,
                path: "/ks/global".into()
            }
        );
        assert_eq!(
            url("http://localhost").unwrap().to_string(),
            "http://localhost:80/"
        );
        assert_eq!(
            url("https://ks.internal/v1/flags/canary?env=prod")
                .unwrap()
                .to_string(),
            "https://ks.internal:443/v1/flags/canary?env=prod"
        );
        assert_eq!(
            url("https://[::1]:8443/k").unwrap().to_string(),
            "https://[::1]:8443/k"
        );
        assert!(matches!(
            SwitchSource::parse("x", "file:/run/kill", None).unwrap(),
            SwitchSource::File(p) if p == Path::new("/run/kill")
        ));
        assert!(matches!(
            SwitchSource::parse("x", "https://a/b", Some(&client("/enabled"))).unwrap(),
            SwitchSource::Http(_)
        ));
        for bad in ["ftp://a/b", "http://h:99999/", "http:///x", "http://h/a b"] {
            assert!(url(bad).is_err(), "{bad}");
        }
        assert!(SwitchSource::parse("x", "file:", None).is_err());
        let e = url("https://user:tok3n@h/k").unwrap_err().to_string();
        assert!(e.contains("credentials in the URL are refused"), "{e}");
        assert!(!e.contains("tok3n"), "{e}");
    }

    #[test]
    fn answers_are_judged_at_the_pointer() {
        assert_eq!(
            judge_answer(200, b"{\"enabled\":false}", "/enabled"),
            (SwitchState::Off, None)
        );
        assert_eq!(
            judge_answer(200, b"{\"data\":{\"enabled\":true}}", "/data/enabled"),
            (SwitchState::On, None)
        );
        assert_eq!(judge_answer(200, b"true", "").0, SwitchState::On);
        for (body, pointer) in [
            (&b"{\"enabled\":\"no\"}"[..], "/enabled"),
            (b"{\"enabled\":0}", "/enabled"),
            (b"[true]", "/enabled"),
            (b"{\"enabled\":false}", "/data/enabled"),
            (b"<html>", "/enabled"),
        ] {
            let (state, error) = judge_answer(200, body, pointer);
            assert_eq!(state, SwitchState::Unknown);
            assert!(error.unwrap().starts_with(&format!(
                "malformed answer (expected a JSON boolean at {pointer})"
            )));
        }
        assert_eq!(
            judge_answer(500, b"{\"enabled\":false}", "/enabled"),
            (SwitchState::Unknown, Some("HTTP status 500".into()))
        );
        let e = Client::new(Vec::new(), None, "enabled", Duration::from_secs(1)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--kill-switch-pointer: `enabled` is not a JSON pointer")
        );
    }

    #[test]
    fn headers_parse_and_never_echo_their_value() {
        let h = parse_header("--h", "X-Team: payments", None).unwrap();
        assert_eq!((h.name.as_str(), h.value.expose()), ("X-Team", "payments"));
        assert_eq!(
            format!("{h:?}"),
            "Header { name: \"X-Team\", value: Secret(***) }"
        );
        let e = parse_header("--h", "authorization: Bearer s3cr3t", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("refused") && e.contains("--h @FILE"), "{e}");
        assert!(!e.contains("s3cr3t"), "{e}");
        let e = parse_header("--h", "no colon s3cr3t", None)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "--h: expected `NAME: VALUE`");
        let p = Path::new("/x/h");
        let hs =
            parse_header_file("--h", p, "Authorization: Bearer s3cr3t\r\n\nX-Env: prod\n").unwrap();
        assert_eq!(hs.len(), 2);
        assert_eq!(hs[0].value.expose(), "Bearer s3cr3t");
        let e = parse_header_file("--h", p, "X-A: 1\nBad Name: s3cr3t\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--h @/x/h: line 2: `Bad Name` is not a header name"),
            "{e}"
        );
        assert!(!e.contains("s3cr3t"), "{e}");
        let e = parse_header_file("--h", p, "\n\n").unwrap_err().to_string();
        assert_eq!(e, "--h @/x/h: no header in the file");
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
        let s = SwitchSource::parse(
            "x",
            &format!("http://127.0.0.1:{port}/ks"),
            Some(&client("/enabled")),
        )
        .unwrap();
        let r = s.read(Duration::from_millis(500));
        assert_eq!(r.state, SwitchState::Unknown);
        assert!(r.response_ms.is_none());
        let e = r.error.unwrap();
        assert!(
            e.starts_with(&format!("cannot connect to 127.0.0.1:{port}")),
            "{e}"
        );
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(
            &ca,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let e = Client::new(Vec::new(), Some(&ca), "/enabled", Duration::from_secs(1))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no certificate in the file"), "{e}");
    }
}
