//! `migrate rules list` and `migrate rules explain CODE`: the rule set's table and docs.

use anyhow::{Context, bail};

use super::ExitStatus;
use crate::cli::{RulesArgs, RulesCommand};
use crate::rules::RuleSet;
use crate::rules::docs;

pub fn run(args: &RulesArgs) -> anyhow::Result<ExitStatus> {
    let rules = match &args.rules {
        Some(dir) => RuleSet::load_dir(dir).with_context(|| format!("cannot load the rules in `{}`", dir.display()))?,
        None => RuleSet::load_embedded().context("the built-in rules are broken")?,
    };
    match &args.command {
        RulesCommand::List => {
            let width = rules.rules.iter().map(|r| r.name.len()).max().unwrap_or(4);
            let mut out = String::new();
            for r in &rules.rules {
                out.push_str(&format!("{}  {:width$}  {}\n", r.code, r.name, r.summary));
            }
            print!("{out}");
        }
        RulesCommand::Explain { code } => {
            let wanted = code.trim();
            let Some(rule) = rules.rules.iter().find(|r| r.code.eq_ignore_ascii_case(wanted) || r.name == wanted)
            else {
                bail!("no rule `{wanted}`; `migrate rules list` shows them all");
            };
            print!("{}", docs::page(rule));
        }
    }
    Ok(ExitStatus::Success)
}
