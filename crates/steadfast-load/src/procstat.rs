//! What this process costs, read from Linux `/proc` (no `unsafe`, no libc): CPU time of every
//! thread, resident memory (current and peak), open file descriptors and threads.

use std::collections::HashMap;
use std::fs;
use std::time::Duration;

/// CPU time consumed so far, per thread, from `/proc/self/task/*/schedstat` (nanoseconds) and
/// for the whole process from `/proc/self/stat` (clock ticks, 10 ms resolution).
#[derive(Debug, Clone, Default)]
pub struct CpuSnapshot {
    per_thread_ns: HashMap<u64, u64>,
    ticks: u64,
}

impl CpuSnapshot {
    /// Reads the current values. Missing files (a non-Linux system) read as zero.
    pub fn now() -> Self {
        let mut per_thread_ns = HashMap::new();
        if let Ok(dir) = fs::read_dir("/proc/self/task") {
            for entry in dir.flatten() {
                let Some(tid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<u64>().ok())
                else {
                    continue;
                };
                let path = entry.path().join("schedstat");
                if let Some(ns) = fs::read_to_string(path)
                    .ok()
                    .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                {
                    per_thread_ns.insert(tid, ns);
                }
            }
        }
        CpuSnapshot {
            per_thread_ns,
            ticks: process_ticks().unwrap_or(0),
        }
    }

    /// CPU time used since `earlier`, at nanosecond resolution: the sum over the threads alive now
    /// of their time since `earlier` (a thread born since then counts from zero). Time of threads
    /// that exited in between is missing; [`CpuSnapshot::ticks_since`] covers those.
    pub fn since(&self, earlier: &CpuSnapshot) -> Duration {
        let ns: u64 = self
            .per_thread_ns
            .iter()
            .map(|(tid, now)| {
                now.saturating_sub(earlier.per_thread_ns.get(tid).copied().unwrap_or(0))
            })
            .sum();
        Duration::from_nanos(ns)
    }

    /// CPU time (user + system) of the whole process since `earlier`, from `/proc/self/stat`,
    /// exited threads included, at clock-tick (10 ms) resolution.
    pub fn ticks_since(&self, earlier: &CpuSnapshot) -> Duration {
        Duration::from_millis(self.ticks.saturating_sub(earlier.ticks) * 10)
    }
}

/// utime + stime of the process in clock ticks (`USER_HZ`, 100 on Linux).
fn process_ticks() -> Option<u64> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    // The command name is in parentheses and may contain spaces: split after the last `)`.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime field 15 (1-based).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn status_kb(key: &str) -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    status_field_kb(&status, key)
}

fn status_field_kb(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Resident memory, current and peak, read together from one `/proc/self/status` so the two
/// describe the same moment (read one after the other, another thread's allocation in between
/// could make the current figure exceed the peak read before it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resident {
    /// Current resident memory (`VmRSS`), in bytes.
    pub now: u64,
    /// Peak resident memory of the process so far (`VmHWM`), in bytes.
    pub peak: u64,
}

/// Current and peak resident memory from one read. Missing files read as zero.
pub fn resident() -> Resident {
    let Ok(status) = fs::read_to_string("/proc/self/status") else {
        return Resident::default();
    };
    let kb = |key| status_field_kb(&status, key).unwrap_or(0) * 1024;
    Resident {
        now: kb("VmRSS"),
        peak: kb("VmHWM"),
    }
}

/// Current resident memory (`VmRSS`), in bytes.
pub fn rss_bytes() -> u64 {
    status_kb("VmRSS").unwrap_or(0) * 1024
}

/// Threads of the process.
pub fn threads() -> u64 {
    status_kb("Threads").unwrap_or(0)
}

/// Open file descriptors (entries of `/proc/self/fd`).
pub fn open_fds() -> u64 {
    fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64)
}

/// Bytes as mebibytes, for printing.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let a = CpuSnapshot::now();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let b = CpuSnapshot::now();
        assert!(b.since(&a) > Duration::ZERO);
        assert!(rss_bytes() > 0);
        // One read, so the two figures are of the same moment: other tests of this binary
        // allocate on their own threads meanwhile.
        let memory = resident();
        assert!(memory.now > 0);
        assert!(memory.peak >= memory.now, "{memory:?}");
        assert!(open_fds() >= 3);
        assert!(threads() >= 1);
    }
}
