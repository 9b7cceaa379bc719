//! `migrate apply`: plan (or load a saved plan and check it is still current), print the
//! plan, then apply it. Wiring and printing only.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::apply::{self, ApplyOptions};
use crate::cli::ApplyArgs;
use crate::diagnostics;
use crate::plan::{self, saved::SavedPlan};

use super::ExitStatus;
use super::plan::compute;

pub fn run(args: &ApplyArgs) -> anyhow::Result<ExitStatus> {
    super::ssm::check_write_args(&args.write)?;
    let (planned, saved) = match &args.plan {
        Some(file) => {
            let bytes = std::fs::read(file).with_context(|| format!("cannot read saved plan `{}`", file.display()))?;
            let saved = SavedPlan::parse(&bytes, &file.display().to_string()).map_err(anyhow::Error::msg)?;
            if let Some(repo) = &args.repo {
                let given = std::path::absolute(repo)?;
                if given != Path::new(&saved.repo) {
                    bail!(
                        "the saved plan `{}` was made for repository `{}`, not `{}`",
                        file.display(),
                        saved.repo,
                        repo.display()
                    );
                }
            }
            let repo = PathBuf::from(&saved.repo);
            // A plan that compared Parameter Store is checked against it again, and writes to it.
            let ssm = (args.ssm || saved.parameters_compared).then_some(&args.aws);
            let mut planned = compute(&repo, saved.env.as_deref(), Path::new(&saved.out), &args.vault.load()?, ssm)?;
            planned.plan.output_dir = saved.out_label.clone();
            (planned, Some(saved))
        }
        None => {
            let Some(repo) = &args.repo else { bail!("a repository is needed (or --plan FILE)") };
            let out = args.out.clone().unwrap_or_else(|| PathBuf::from("out"));
            let ssm = args.ssm.then_some(&args.aws);
            (compute(repo, args.env.as_deref(), &out, &args.vault.load()?, ssm)?, None)
        }
    };
    if let Some(saved) = &saved {
        saved.check(&planned.desired, &planned.current, &planned.plan)?;
    }

    let plan = &planned.plan;
    let style = plan::text::Style::for_terminal(io::stdout().is_terminal());
    let mut stdout = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    plan::text::write(plan, style, &mut stdout)?;
    stdout.flush()?;

    if !(args.writes_per_second.is_finite() && args.writes_per_second >= 0.0) {
        bail!("--writes-per-second must be a number >= 0 (0: no limit)");
    }
    let options = ApplyOptions { force: args.force, ..ApplyOptions::default() };
    let mut store = super::ssm::PlanParameterWriter::new(&args.aws, &args.write, args.writes_per_second);
    let writer: Option<&mut dyn apply::ParameterWriter> =
        if plan.parameters_compared { Some(&mut store) } else { None };
    let report = apply::apply(plan, Path::new(&planned.origin.out), &options, writer)?;
    if !plan.is_empty() {
        writeln!(stdout, "\n{}", report.summary_line())?;
    }
    stdout.flush()?;
    Ok(if diagnostics::has_errors(&plan.findings) { ExitStatus::Failure } else { ExitStatus::Success })
}
