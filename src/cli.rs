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
    /// Show what `apply` would write, change and remove, terraform-style; change nothing.
    Plan(PlanArgs),
    /// Write the generated files (and parameters) exactly as planned.
    Apply(ApplyArgs),
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

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The repository to read.
    pub repo: PathBuf,
    /// The environment (inventory) to plan for.
    #[arg(long)]
    pub env: Option<String>,
    /// The output directory that holds the generated files.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Exit 0 when there are no changes, 1 on error, 2 when there are changes (as terraform).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan to FILE, for `migrate apply --plan FILE`.
    #[arg(short = 'o', long = "save", value_name = "FILE")]
    pub save: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The repository to read (optional with --plan, which records it).
    #[arg(required_unless_present = "plan")]
    pub repo: Option<PathBuf>,
    /// The environment (inventory) to apply.
    #[arg(long, conflicts_with = "plan")]
    pub env: Option<String>,
    /// The output directory that holds the generated files [default: out].
    #[arg(long, value_name = "DIR", conflicts_with = "plan")]
    pub out: Option<PathBuf>,
    /// Apply exactly this saved plan (from `migrate plan -o FILE`); refused if anything changed since.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Also overwrite files edited or added by hand where migrate generates files, and remove
    /// stale generated files edited by hand.
    #[arg(long)]
    pub force: bool,
}
