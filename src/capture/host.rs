//! This machine's CPU, memory and disk, from /proc (Linux), for when the
//! server runs here.

use std::time::Instant;

/// Cumulative counters at one moment.
#[derive(Debug, Clone)]
pub struct HostSnapshot {
    at: Instant,
    /// (busy, total) jiffies.
    cpu: Option<(u64, u64)>,
    /// (sectors read, sectors written) over the physical disks.
    disk: Option<(u64, u64)>,
}

/// Values between two snapshots, plus memory now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostValues {
    pub cpu_pct: Option<f64>,
    pub memory_pct: Option<f64>,
    pub disk_read_mb_s: Option<f64>,
    pub disk_write_mb_s: Option<f64>,
}

pub fn snapshot() -> HostSnapshot {
    HostSnapshot {
        at: Instant::now(),
        cpu: std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| parse_cpu(&s)),
        disk: std::fs::read_to_string("/proc/diskstats")
            .ok()
            .map(|s| parse_disks(&s, &physical_disks())),
    }
}

/// Values from `prev` to `now`; memory is read now.
pub fn values(prev: &HostSnapshot, now: &HostSnapshot) -> HostValues {
    let secs = now.at.duration_since(prev.at).as_secs_f64();
    let cpu_pct = match (prev.cpu, now.cpu) {
        (Some((b0, t0)), Some((b1, t1))) if t1 > t0 && b1 >= b0 => {
            Some((b1 - b0) as f64 / (t1 - t0) as f64 * 100.0)
        }
        _ => None,
    };
    let (disk_read_mb_s, disk_write_mb_s) = match (prev.disk, now.disk) {
        (Some((r0, w0)), Some((r1, w1))) if secs > 0.0 && r1 >= r0 && w1 >= w0 => (
            Some((r1 - r0) as f64 * 512.0 / 1e6 / secs),
            Some((w1 - w0) as f64 * 512.0 / 1e6 / secs),
        ),
        _ => (None, None),
    };
    HostValues {
        cpu_pct,
        memory_pct: std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| parse_mem(&s)),
        disk_read_mb_s,
        disk_write_mb_s,
    }
}

fn parse_cpu(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if f.len() < 4 {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest is inside user).
    let total: u64 = f.iter().take(8).sum();
    let idle = f[3] + f.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

fn parse_mem(meminfo: &str) -> Option<f64> {
    let get = |key: &str| {
        meminfo
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
    };
    let total = get("MemTotal:")?;
    let avail = get("MemAvailable:")?;
    (total > 0.0).then(|| (total - avail) / total * 100.0)
}

/// Whole physical disks (not partitions, loop, RAM or device-mapper devices,
/// which would count the same I/O twice).
fn physical_disks() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            !["loop", "ram", "zram", "dm-", "md", "sr", "fd", "nbd"]
                .iter()
                .any(|p| n.starts_with(p))
        })
        .collect()
}

fn parse_disks(diskstats: &str, disks: &[String]) -> (u64, u64) {
    let mut read = 0u64;
    let mut written = 0u64;
    for line in diskstats.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 || !disks.iter().any(|d| d == f[2]) {
            continue;
        }
        read += f[5].parse::<u64>().unwrap_or(0);
        written += f[9].parse::<u64>().unwrap_or(0);
    }
    (read, written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_parse() {
        assert_eq!(
            parse_cpu("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n"),
            Some((150, 1000))
        );
        assert_eq!(
            parse_mem("MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 250 kB\n"),
            Some(75.0)
        );
        let ds = "   8       0 sda 10 0 2000 5 20 0 4000 7 0 0 0\n   8       1 sda1 10 0 2000 5 20 0 4000 7 0 0 0\n";
        assert_eq!(parse_disks(ds, &["sda".into()]), (2000, 4000));
    }
}
