//! Test support for `capture`: a throw-away MariaDB server, a kill switch API
//! and a workload.

pub mod killswitch;
pub mod mariadb;
pub mod workload;
