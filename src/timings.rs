//! `MIGRATE_TIMINGS=1`: the wall time of each pipeline stage on stderr, with the resident
//! processor time all threads spent in it (how well it uses both cores), the resident memory at
//! its end and the peak so far (Linux only), for profiling (`docs/performance.md`).
//! Off by default, so it costs one environment lookup per run.

use std::time::Instant;

/// Marks the end of stages; each mark prints the time since the previous one.
pub struct Timings {
    last: Option<Instant>,
    /// Processor time of the process at the last mark, in clock ticks.
    last_cpu: Option<u64>,
}

impl Timings {
    /// Starts the clock when `MIGRATE_TIMINGS` is set to anything but `0` or empty.
    pub fn start() -> Self {
        let on = std::env::var_os("MIGRATE_TIMINGS").is_some_and(|v| !v.is_empty() && v != "0");
        Timings { last: on.then(Instant::now), last_cpu: cpu_ticks() }
    }

    /// Prints `timing: <stage> <ms>` for the stage that just ended.
    pub fn mark(&mut self, stage: &str) {
        if let Some(last) = self.last {
            let now = Instant::now();
            let ms = (now - last).as_secs_f64() * 1e3;
            let cpu = cpu_ticks();
            let cpu_ms = match (self.last_cpu, cpu) {
                // Clock ticks are 10 ms on Linux (USER_HZ = 100), so this is coarse.
                (Some(before), Some(after)) => format!("  cpu {:>5} ms", after.saturating_sub(before) * 10),
                _ => String::new(),
            };
            match memory() {
                Some((rss, peak)) => {
                    eprintln!("timing: {stage:<12} {ms:>8.1} ms{cpu_ms}  rss {rss:>5} MiB  peak {peak:>5} MiB")
                }
                None => eprintln!("timing: {stage:<12} {ms:>8.1} ms{cpu_ms}"),
            }
            self.last = Some(now);
            self.last_cpu = cpu;
        }
    }
}

/// User plus system time of all the process's threads (`utime` + `stime` of
/// `/proc/self/stat`, fields 14 and 15), in clock ticks.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after it start past its `)`.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// Resident and peak resident memory in MiB (`VmRSS`, `VmHWM` of `/proc/self/status`).
fn memory() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib / 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}
