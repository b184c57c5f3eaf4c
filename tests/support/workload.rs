//! A small concurrent workload on a test table: point reads and updates by
//! primary key from a few threads, bounded in rate, until dropped.

use super::mariadb::MariaDb;
use mysql::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Workload {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    pub ops: Arc<AtomicU64>,
    pub errors: Arc<AtomicU64>,
}

impl Workload {
    /// `threads` sessions on `shop.<table>` (ids 1..=max_id), one statement
    /// every ~10 ms each.
    pub fn start(server: &MariaDb, table: &str, threads: usize, max_id: u64) -> Workload {
        let stop = Arc::new(AtomicBool::new(false));
        let ops = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let mut handles = Vec::new();
        for n in 0..threads {
            let (stop, ops, errors) = (stop.clone(), ops.clone(), errors.clone());
            let server_port = server.port;
            let password = server.password.clone();
            let table = table.to_string();
            handles.push(std::thread::spawn(move || {
                let mut conn = None;
                let mut id: u64 = 1 + n as u64 * 7919;
                while !stop.load(Ordering::Relaxed) {
                    if conn.is_none() {
                        let opts = mysql::OptsBuilder::new()
                            .ip_or_hostname(Some("127.0.0.1"))
                            .tcp_port(server_port)
                            .user(Some("root"))
                            .pass(Some(password.clone()))
                            .db_name(Some("shop"))
                            .prefer_socket(false)
                            .read_timeout(Some(Duration::from_secs(5)))
                            .init(vec!["SET SESSION lock_wait_timeout = 5"])
                            .tcp_connect_timeout(Some(Duration::from_secs(1)));
                        match mysql::Conn::new(opts) {
                            Ok(c) => conn = Some(c),
                            Err(_) => {
                                errors.fetch_add(1, Ordering::Relaxed);
                                std::thread::sleep(Duration::from_millis(200));
                                continue;
                            }
                        }
                    }
                    let c = conn.as_mut().unwrap();
                    id = (id * 48271) % max_id.max(1) + 1;
                    let r = if id.is_multiple_of(3) {
                        c.exec_drop(
                            format!("UPDATE `{table}` SET c = c + 1 WHERE id = ?"),
                            (id,),
                        )
                    } else {
                        c.exec_drop(format!("SELECT * FROM `{table}` WHERE id = ?"), (id,))
                    };
                    match r {
                        Ok(()) => {
                            ops.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            conn = None;
                        }
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }));
        }
        Workload {
            stop,
            threads: handles,
            ops,
            errors,
        }
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.threads.drain(..) {
            let _ = h.join();
        }
    }
}

/// Sessions each running `SELECT SLEEP(..)`: every one counts in
/// `threads_running` until dropped (their queries are then killed).
pub struct Sleepers {
    ids: Vec<u32>,
    threads: Vec<JoinHandle<()>>,
    server: (u16, String),
}

impl Sleepers {
    /// Starts `n` sleeping sessions and waits until all of them sleep.
    pub fn start(server: &MariaDb, n: usize) -> Sleepers {
        let mut ids = Vec::new();
        let mut threads = Vec::new();
        for _ in 0..n {
            let mut conn = server.conn();
            let id: u32 = conn.query_first("SELECT CONNECTION_ID()").unwrap().unwrap();
            ids.push(id);
            threads.push(std::thread::spawn(move || {
                // Ends with the KILL QUERY of drop (an error then), or after a minute.
                let _ = conn.query_drop("SELECT SLEEP(60)");
            }));
        }
        let mut watch = server.conn();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let sleeping: Option<u64> = watch
                .query_first("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(60)'")
                .unwrap();
            if sleeping.unwrap_or(0) >= n as u64 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{n} sleeping sessions not started after 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Sleepers {
            ids,
            threads,
            server: (server.port, server.password.clone()),
        }
    }
}

impl Drop for Sleepers {
    fn drop(&mut self) {
        let opts = mysql::OptsBuilder::new()
            .ip_or_hostname(Some("127.0.0.1"))
            .tcp_port(self.server.0)
            .user(Some("root"))
            .pass(Some(self.server.1.clone()))
            .prefer_socket(false);
        if let Ok(mut c) = mysql::Conn::new(opts) {
            for id in &self.ids {
                let _ = c.query_drop(format!("KILL QUERY {id}"));
            }
        }
        for h in self.threads.drain(..) {
            let _ = h.join();
        }
    }
}
