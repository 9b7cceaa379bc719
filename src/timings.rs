//! `MIGRATE_TIMINGS=1`: the wall time of each pipeline stage on stderr, for profiling
//! (`docs/performance.md`). Off by default, so it costs one environment lookup per run.

use std::time::Instant;

/// Marks the end of stages; each mark prints the time since the previous one.
pub struct Timings {
    last: Option<Instant>,
}

impl Timings {
    /// Starts the clock when `MIGRATE_TIMINGS` is set to anything but `0` or empty.
    pub fn start() -> Self {
        let on = std::env::var_os("MIGRATE_TIMINGS").is_some_and(|v| !v.is_empty() && v != "0");
        Timings { last: on.then(Instant::now) }
    }

    /// Prints `timing: <stage> <ms>` for the stage that just ended.
    pub fn mark(&mut self, stage: &str) {
        if let Some(last) = self.last {
            let now = Instant::now();
            eprintln!("timing: {stage:<12} {:>8.1} ms", (now - last).as_secs_f64() * 1e3);
            self.last = Some(now);
        }
    }
}
