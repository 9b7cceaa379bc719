//! Progress of a push on stderr: an indicatif bar on a terminal, one plain line per
//! finished parameter otherwise (CI logs). Shows names and results, never values.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::push::{Outcome, Progress, ReportEntry};

/// The progress display that fits stderr.
pub fn for_stderr() -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() { Box::new(Bar::new()) } else { Box::new(Lines::default()) }
}

fn result(entry: &ReportEntry) -> &'static str {
    match entry.outcome {
        Outcome::Ok => "ok",
        Outcome::Skipped(_) => "skipped",
        Outcome::Failed(_) => "FAILED",
    }
}

/// A progress bar on the terminal.
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    fn new() -> Bar {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} parameters  {elapsed}  {wide_msg}") {
            bar.set_style(style);
        }
        Bar { bar }
    }
}

impl Progress for Bar {
    fn begin(&self, writes: usize) {
        self.bar.set_length(writes as u64);
    }

    fn advance(&self, entry: &ReportEntry) {
        if let Outcome::Failed(_) = entry.outcome {
            self.bar.println(format!("FAILED {} {}", entry.action.as_str(), entry.name));
        }
        self.bar.set_message(entry.name.clone());
        self.bar.inc(1);
    }

    fn end(&self) {
        self.bar.finish_and_clear();
    }
}

/// One line per finished parameter.
#[derive(Default)]
pub struct Lines {
    total: AtomicUsize,
    done: AtomicUsize,
}

impl Progress for Lines {
    fn begin(&self, writes: usize) {
        self.total.store(writes, Ordering::Relaxed);
    }

    fn advance(&self, entry: &ReportEntry) {
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.total.load(Ordering::Relaxed);
        eprintln!("[{n}/{total}] {} {} {}", result(entry), entry.action.as_str(), entry.name);
    }

    fn end(&self) {}
}
