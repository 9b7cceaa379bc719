//! The `migrate` binary: parse arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

// jemalloc instead of glibc's malloc: a quarter less CPU for `plan` at 1,000 roles at the
// same peak memory (docs/performance.md, "allocator (session 4)").
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = migrate::cli::Cli::parse();
    match migrate::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            // A closed pipe (`migrate scan . | head`) is not a failure.
            if err
                .chain()
                .any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
