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
