//! A throw-away MariaDB server for the capture tests: its own data directory,
//! socket and free TCP port on 127.0.0.1, never the server on 3306.
//!
//! Needs Debian's `mariadb-server` (mariadb-install-db, mariadbd). One server
//! is shared by the tests of one test binary ([`shared`]); a test that kills
//! its server starts its own ([`MariaDb::start`]). A watchdog process kills the
//! server and removes its directory when the test binary exits, since a
//! `static` is never dropped.

use mysql::prelude::*;
use mysql::{Conn, OptsBuilder};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct MariaDb {
    child: Option<Child>,
    pub dir: PathBuf,
    pub port: u16,
    pub socket: PathBuf,
    pub password: String,
    /// Whether this process started the server (and so stops it).
    owned: bool,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}{}x{nanos}", std::process::id())
}

/// How [`MariaDb::start_with`] starts a server; the default is [`MariaDb::start`]'s.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--log-bin --server-id=N` (a replication source) instead of `--skip-log-bin`.
    pub log_bin: bool,
    /// `--server-id` (1 when `log_bin` and none is given).
    pub server_id: Option<u32>,
    /// Serve TLS: a CA and a server certificate made with the `openssl` CLI in
    /// the server's directory (see [`MariaDb::tls_ca`]); plain connections stay allowed.
    pub tls: bool,
}

/// The server shared by every test of this binary.
pub fn shared() -> &'static MariaDb {
    static SERVER: OnceLock<MariaDb> = OnceLock::new();
    SERVER.get_or_init(|| MariaDb::start(&unique("Pw-")))
}

impl MariaDb {
    /// Initialises a data directory and starts a server on it, with `password`
    /// for root (over the socket and from 127.0.0.1).
    pub fn start(password: &str) -> MariaDb {
        MariaDb::start_with(password, &Options::default())
    }

    /// [`MariaDb::start`] with options: a replication source, a server id, TLS.
    pub fn start_with(password: &str, options: &Options) -> MariaDb {
        let dir = std::env::temp_dir().join(unique("canary-mariadb-"));
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("data");
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let t0 = Instant::now();
        // Two bootstraps at once trip over each other: one at a time.
        static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
        let out = Command::new(
            super::program_path("mariadb-install-db").unwrap_or("mariadb-install-db".into()),
        )
        .args([
            "--no-defaults",
            &format!("--datadir={}", data.display()),
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--user=root",
            &format!("--tmpdir={}", tmp.display()),
        ])
        .output()
        .expect("mariadb-install-db not found: apt-get install mariadb-server");
        if !out.status.success() {
            let _ = std::fs::remove_dir_all(&dir);
            panic!(
                "mariadb-install-db failed:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        drop(guard);
        let port = free_port();
        let socket = dir.join("sock");
        let mut extra: Vec<String> = Vec::new();
        if options.log_bin {
            extra.push(format!("--log-bin={}", dir.join("binlog").display()));
        } else {
            extra.push("--skip-log-bin".into());
        }
        if let Some(id) = options.server_id.or(options.log_bin.then_some(1)) {
            extra.push(format!("--server-id={id}"));
        }
        if options.tls {
            let tls = make_certs(&dir.join("tls"), "localhost");
            extra.extend([
                format!("--ssl-ca={}", tls.join("ca.pem").display()),
                format!("--ssl-cert={}", tls.join("server-cert.pem").display()),
                format!("--ssl-key={}", tls.join("server-key.pem").display()),
            ]);
        }
        let child = Command::new(super::program_path("mariadbd").unwrap_or("mariadbd".into()))
            .args([
                "--no-defaults".to_string(),
                format!("--datadir={}", data.display()),
                format!("--socket={}", socket.display()),
                format!("--port={port}"),
                "--bind-address=127.0.0.1".into(),
                "--skip-networking=0".into(),
                "--skip-name-resolve".into(),
                "--user=root".into(),
                format!("--pid-file={}", dir.join("pid").display()),
                format!("--log-error={}", dir.join("error.log").display()),
                format!("--tmpdir={}", tmp.display()),
                "--innodb-buffer-pool-size=128M".into(),
                "--innodb-flush-log-at-trx-commit=2".into(),
                "--plugin-load-add=query_response_time".into(),
                "--query-response-time-stats=ON".into(),
                // Power-of-two buckets: fine enough for percentiles (capture
                // refuses the default decades).
                "--query-response-time-range-base=2".into(),
            ])
            .args(&extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd not found: apt-get install mariadb-server");
        watchdog(child.id(), &dir);
        let mut db = MariaDb {
            child: Some(child),
            dir,
            port,
            socket,
            password: password.to_string(),
            owned: true,
        };
        let mut conn = db.wait_ready();
        conn.query_drop(format!(
            "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '{password}'"
        ))
        .unwrap();
        conn.query_drop("GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION")
            .unwrap();
        for host in ["localhost", "127.0.0.1"] {
            conn.query_drop(format!(
                "ALTER USER 'root'@'{host}' IDENTIFIED BY '{password}'"
            ))
            .unwrap();
        }
        conn.query_drop("CREATE DATABASE shop").unwrap();
        eprintln!(
            "test MariaDB on 127.0.0.1:{port} ({}) ready in {:.1} s",
            db.dir.display(),
            t0.elapsed().as_secs_f64()
        );
        db.owned = true;
        db
    }

    /// Waits until the new server accepts root over its socket (no password yet).
    fn wait_ready(&mut self) -> Conn {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let opts = OptsBuilder::new()
                .socket(Some(self.socket.display().to_string()))
                .user(Some("root"))
                .prefer_socket(true);
            match Conn::new(opts) {
                Ok(c) => return c,
                Err(e) => {
                    if let Some(child) = self.child.as_mut()
                        && let Ok(Some(status)) = child.try_wait()
                    {
                        panic!(
                            "mariadbd exited with {status}:\n{}",
                            std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
                        );
                    }
                    assert!(
                        Instant::now() < deadline,
                        "mariadbd not ready after 60 s: {e}"
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    /// `mysql://root@127.0.0.1:PORT/DB` (no password: it comes from a file or MYSQL_PWD).
    pub fn dsn(&self, db: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{db}", self.port)
    }

    /// A file holding the root password.
    pub fn password_file(&self) -> PathBuf {
        let p = self.dir.join("root-password");
        if !p.exists() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(&p, format!("{}\n", self.password)).unwrap();
            // capture refuses a secret others can read.
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        p
    }

    /// A root connection over TCP.
    pub fn conn(&self) -> Conn {
        self.try_conn().expect("connect to the test server")
    }

    pub fn try_conn(&self) -> Result<Conn, mysql::Error> {
        let opts = OptsBuilder::new()
            .ip_or_hostname(Some("127.0.0.1"))
            .tcp_port(self.port)
            .user(Some("root"))
            .pass(Some(self.password.clone()))
            .prefer_socket(false)
            .tcp_connect_timeout(Some(Duration::from_secs(5)));
        Conn::new(opts)
    }

    /// Creates `shop.<name>` (id, a, b, c, pad) with `rows` rows, fast.
    pub fn create_table(&self, name: &str, rows: u64) {
        let mut c = self.conn();
        c.query_drop(format!(
            "CREATE TABLE shop.`{name}` (id INT AUTO_INCREMENT PRIMARY KEY, a INT NOT NULL, \
             b VARCHAR(32) NOT NULL, c INT NOT NULL, pad CHAR(60) NOT NULL) ENGINE=InnoDB"
        ))
        .unwrap();
        c.query_drop(format!(
            "INSERT INTO shop.`{name}` (a, b, c, pad) \
             SELECT seq % 1000, CONCAT('v', seq % 5000), seq, REPEAT('x', 60) FROM shop.seq_1_to_{rows}"
        ))
        .unwrap();
        c.query_drop(format!("ANALYZE TABLE shop.`{name}`"))
            .unwrap();
    }

    pub fn index_exists(&self, table: &str, index: &str) -> bool {
        let mut c = self.conn();
        let n: Option<u64> = c
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.STATISTICS \
                 WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = ? AND INDEX_NAME = ?",
                (table, index),
            )
            .unwrap();
        n.unwrap_or(0) > 0
    }

    /// The CA certificate that signed this server's (started with `tls`).
    pub fn tls_ca(&self) -> PathBuf {
        self.dir.join("tls").join("ca.pem")
    }

    /// Makes this server a replica of `primary` (started with `log_bin`) from
    /// the primary's current position, as root over 127.0.0.1, and waits until
    /// both replication threads run.
    pub fn replicate_from(&self, primary: &MariaDb) {
        let pos: Option<String> = primary
            .conn()
            .query_first("SELECT @@gtid_binlog_pos")
            .unwrap();
        let mut c = self.conn();
        // What the primary already holds (its users, `shop`) exists here too.
        c.exec_drop("SET GLOBAL gtid_slave_pos = ?", (pos.unwrap_or_default(),))
            .unwrap();
        c.query_drop(format!(
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='root', \
             MASTER_PASSWORD='{}', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
            primary.port, primary.password
        ))
        .unwrap();
        c.query_drop("START SLAVE").unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (io, sql) = self.replication_threads();
            if io == "Yes" && sql == "Yes" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "replication not running after 30 s: IO {io}, SQL {sql}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// (Slave_IO_Running, Slave_SQL_Running); empty when not a replica.
    pub fn replication_threads(&self) -> (String, String) {
        let row: Option<mysql::Row> = self.conn().query_first("SHOW SLAVE STATUS").unwrap();
        let get = |r: &mysql::Row, k: &str| -> String {
            r.get_opt::<String, &str>(k)
                .and_then(Result::ok)
                .unwrap_or_default()
        };
        row.map(|r| (get(&r, "Slave_IO_Running"), get(&r, "Slave_SQL_Running")))
            .unwrap_or_default()
    }

    /// Waits until this replica has applied everything `primary` has written.
    pub fn wait_caught_up(&self, primary: &MariaDb) {
        let pos: Option<String> = primary
            .conn()
            .query_first("SELECT @@gtid_binlog_pos")
            .unwrap();
        let waited: Option<i64> = self
            .conn()
            .exec_first("SELECT MASTER_GTID_WAIT(?, 60)", (pos.unwrap_or_default(),))
            .unwrap();
        assert_eq!(waited, Some(0), "the replica did not catch up within 60 s");
    }

    /// SIGKILL: the server dies as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        if self.owned {
            self.kill();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Makes, with the `openssl` CLI, a CA (`ca.pem`, `ca-key.pem`) and a server
/// certificate it signed for `host` (`server-cert.pem`, `server-key.pem`, its
/// only subject alternative name `DNS:<host>`) in `dir`. Returns `dir`.
pub fn make_certs(dir: &Path, host: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("the openssl CLI is needed for the TLS tests: apt-get install openssl");
        assert!(
            out.status.success(),
            "openssl {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(key);
    ca.extend([
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=canary-report test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(&ca);
    let subject = format!("/CN={host}");
    let mut csr = vec!["req"];
    csr.extend(key);
    csr.extend([
        "-keyout",
        "server-key.pem",
        "-out",
        "server.csr",
        "-subj",
        &subject,
    ]);
    openssl(&csr);
    std::fs::write(
        dir.join("server-ext.cnf"),
        format!(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=DNS:{host}\n"
        ),
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-out",
        "server-cert.pem",
        "-days",
        "2",
        "-extfile",
        "server-ext.cnf",
    ]);
    dir.to_path_buf()
}

/// A process that outlives this one: when the test binary exits, it kills the
/// server and removes its directory.
fn watchdog(server_pid: u32, dir: &Path) {
    let script = r#"while kill -0 "$0" 2>/dev/null; do sleep 0.5; done; kill -9 "$1" 2>/dev/null; sleep 0.5; rm -rf "$2""#;
    let _ = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(std::process::id().to_string())
        .arg(server_pid.to_string())
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

/// A stopped server's command line, to start it again as it was.
#[allow(dead_code)]
pub struct Stopped {
    argv: Vec<String>,
}

// Used by tests/capture_faults.rs only.
#[allow(dead_code)]
impl MariaDb {
    /// Stops the server: SIGKILL (`hard`, as in a crash) or SIGTERM (a clean
    /// shutdown, waited for). The data directory, socket and port stay.
    pub fn stop(&mut self, hard: bool) -> Stopped {
        let child = self.child.as_mut().expect("the server is running");
        let pid = child.id();
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).expect("read the server's cmdline");
        let argv = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if hard {
            self.kill();
        } else {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let mut child = self.child.take().unwrap();
            let _ = child.wait();
        }
        Stopped { argv }
    }

    /// Starts a stopped server again with the same command line (after a
    /// SIGKILL, InnoDB recovers first) and waits until root can log in over TCP.
    pub fn start_again(&mut self, stopped: Stopped) {
        let t0 = Instant::now();
        let child = Command::new(&stopped.argv[0])
            .args(&stopped.argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd again");
        watchdog(child.id(), &self.dir);
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Err(e) = self.try_conn() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "mariadbd exited with {status} on restart:\n{}",
                    std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "mariadbd not ready 60 s after a restart: {e}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!(
            "test MariaDB on 127.0.0.1:{} restarted in {:.1} s",
            self.port,
            t0.elapsed().as_secs_f64()
        );
    }

    /// Creates `shop.<name>` as [`MariaDb::create_table`] does, with a wide
    /// column `w` (about 230 bytes) besides, so that an index on `(w, pad)`
    /// takes a while to build.
    pub fn create_wide_table(&self, name: &str, rows: u64) {
        let mut c = self.conn();
        c.query_drop(format!(
            "CREATE TABLE shop.`{name}` (id INT AUTO_INCREMENT PRIMARY KEY, a INT NOT NULL, \
             b VARCHAR(32) NOT NULL, c INT NOT NULL, pad CHAR(60) NOT NULL, \
             w VARCHAR(255) NOT NULL) ENGINE=InnoDB"
        ))
        .unwrap();
        c.query_drop(format!(
            "INSERT INTO shop.`{name}` (a, b, c, pad, w) \
             SELECT seq % 1000, CONCAT('v', seq % 5000), seq, REPEAT('x', 60), \
             CONCAT(MD5(seq), REPEAT('w', 200)) FROM shop.seq_1_to_{rows}"
        ))
        .unwrap();
        c.query_drop(format!("ANALYZE TABLE shop.`{name}`"))
            .unwrap();
    }
}
