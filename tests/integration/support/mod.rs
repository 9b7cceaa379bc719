//! Shared helpers for integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `migrate` binary built for this test run.
pub fn migrate_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_migrate"))
}

/// Runs `migrate` with `args` in `cwd` and returns its output.
pub fn run_migrate(cwd: &Path, args: &[&str]) -> Output {
    Command::new(migrate_bin())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("the migrate binary runs")
}

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding the test tools (moto_server, hadolint, ansible-vault, ...).
/// `scripts/test` installs them into `.venv/` and exports `MIGRATE_TOOLS`.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("MIGRATE_TOOLS").map(PathBuf::from).unwrap_or_else(|| repo_root().join(".venv/bin"))
}

/// A test tool by name. A missing tool fails the test: tests never skip silently.
pub fn tool(name: &str) -> PathBuf {
    let path = tools_dir().join(name);
    assert!(
        path.exists(),
        "test tool `{name}` not found at {}; run `scripts/test` (it installs the test tools) or set MIGRATE_TOOLS",
        path.display()
    );
    path
}

pub mod fault;
pub mod moto;
