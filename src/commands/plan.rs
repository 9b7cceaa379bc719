//! `migrate plan`: the desired state against the output directory, rendered as text,
//! JSON or markdown; optionally saved for `migrate apply --plan`. Wiring and printing only.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::apply::atomic;
use crate::cli::{PlanArgs, PlanFormat};
use crate::diagnostics;
use crate::plan::{self, Current, Desired, Plan, saved};

use super::ExitStatus;

/// The desired state, current state and plan of one run.
pub(super) struct Planned {
    pub desired: Desired,
    pub current: Current,
    pub plan: Plan,
    pub origin: saved::Origin,
}

/// Reads everything and computes the plan (no output).
pub(super) fn compute(
    repo: &Path,
    env: Option<&str>,
    out: &Path,
    vault: &crate::source::vault::VaultPasswords,
    ssm: Option<&crate::cli::AwsArgs>,
) -> anyhow::Result<Planned> {
    let desired = super::desired_state(repo, env, vault)?;
    let mut timings = crate::timings::Timings::start();
    let live = match ssm {
        Some(aws) => Some(super::ssm::live_parameters(aws, &desired)?),
        None => None,
    };
    let label = label(out);
    let out_abs = std::path::absolute(out).with_context(|| format!("cannot resolve `{}`", out.display()))?;
    let repo_abs = std::path::absolute(repo).with_context(|| format!("cannot resolve `{}`", repo.display()))?;
    let current = plan::current::read(&out_abs, &label, &desired, live)?;
    timings.mark("current");
    let plan = plan::diff(&desired, &current)?;
    timings.mark("diff");
    let origin = saved::Origin {
        repo: repo_abs.to_string_lossy().into_owned(),
        env: env.map(str::to_string),
        out: out_abs.to_string_lossy().into_owned(),
        out_label: label,
    };
    Ok(Planned { desired, current, plan, origin })
}

/// The output directory as the user named it, `/`-separated, for addresses.
pub(super) fn label(out: &Path) -> String {
    let s = out.to_string_lossy().replace('\\', "/");
    let s = s.trim_end_matches('/');
    let s = s.strip_prefix("./").unwrap_or(s);
    if s.is_empty() { ".".to_string() } else { s.to_string() }
}

pub fn run(args: &PlanArgs) -> anyhow::Result<ExitStatus> {
    let ssm = args.ssm.then_some(&args.aws);
    let planned = compute(&args.repo, args.env.as_deref(), &args.out, &args.vault.load()?, ssm)?;
    let mut timings = crate::timings::Timings::start();
    let plan = &planned.plan;
    let style = plan::text::Style::for_terminal(io::stdout().is_terminal());
    let mut stdout = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    match args.format {
        // The text plan is written as it is rendered: at 1,000 roles it is tens of megabytes.
        PlanFormat::Text => plan::text::write(plan, style, &mut stdout)?,
        PlanFormat::Json => stdout.write_all(plan::json::render(plan).as_bytes())?,
        PlanFormat::Markdown => stdout.write_all(plan::markdown::render(plan).as_bytes())?,
    }
    stdout.flush()?;
    timings.mark("print");

    if let Some(file) = &args.save {
        save(file, &planned)?;
        eprintln!("Saved the plan to: {}", file.display());
        eprintln!("To perform exactly these actions, run: migrate apply --plan {}", file.display());
    }

    Ok(if diagnostics::has_errors(&plan.findings) {
        ExitStatus::Failure
    } else if args.detailed_exitcode && !plan.is_empty() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

fn save(file: &PathBuf, planned: &Planned) -> anyhow::Result<()> {
    let saved = saved::SavedPlan::new(planned.origin.clone(), &planned.desired, &planned.current, &planned.plan);
    let target = std::path::absolute(file).with_context(|| format!("cannot resolve `{}`", file.display()))?;
    atomic::write(&target, &saved.to_bytes(), false, None)
        .with_context(|| format!("cannot save the plan to `{}`", file.display()))
}
