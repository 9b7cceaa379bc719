//! Wiring: each subcommand calls the pipeline stages in order and prints.
//! Commands own no domain logic.

mod apply;
mod check_taskdef;
mod desired;
mod plan;
mod rules;
mod scan;
mod ssm;

pub use desired::desired_state;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// How a command ended when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything could be read and done.
    Success = 0,
    /// The run went through, but something could not be read or done (exit 1).
    Failure = 1,
    /// `--detailed-exitcode`: succeeded and there are changes (exit 2).
    Changes = 2,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        ExitCode::from(s as u8)
    }
}

/// Runs one command.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Scan(args) => scan::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Apply(args) => apply::run(&args),
        Command::Ssm(args) => ssm::run(&args),
        Command::Rules(args) => rules::run(&args),
        Command::CheckTaskdef(args) => check_taskdef::run(&args),
    }
}
