//! Command-line arguments (clap). Parsing only: `commands` resolves and runs them.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "migrate",
    version,
    about = "Move workloads from Packer + Ansible VM images to one-process containers"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what a repository holds: playbooks, roles, tasks, inventories, Packer templates, findings.
    Scan(ScanArgs),
}

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// The repository to read.
    pub repo: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}
