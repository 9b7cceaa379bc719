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
    /// List the conversion rules or explain one (`migrate rules explain M101`).
    Rules(RulesArgs),
}

#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    /// A directory of rule files replacing the built-in ones (a copy of `rules/`).
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Print every rule: code, name, summary.
    List,
    /// Print a rule's documentation.
    Explain {
        /// The rule code (`M101`) or name (`apt-install`).
        code: String,
    },
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
