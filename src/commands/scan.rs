//! `migrate scan`: what the repository holds.

use anyhow::Context;

use crate::cli::{Format, ScanArgs};
use crate::diagnostics::{self, Finding};
use crate::source::SourceSet;

use super::ExitStatus;

pub fn run(args: &ScanArgs) -> anyhow::Result<ExitStatus> {
    let set = SourceSet::load(&args.repo).with_context(|| format!("cannot scan `{}`", args.repo.display()))?;
    let mut findings: Vec<Finding> = set.findings.clone();
    for f in set.files() {
        if let Err(p) = f.yaml().map(|_| ()).or_else(|p| if is_yaml(f) { Err(p) } else { Ok(()) }) {
            findings.push(p.to_finding(&f.rel));
        }
    }
    diagnostics::normalize(&mut findings);
    match args.format {
        Format::Text => {
            for f in &findings {
                println!("{f}");
            }
            println!("{} files", set.file_count());
        }
        Format::Json => {
            let out = serde_json::json!({ "files": set.file_count(), "findings": findings });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(if diagnostics::has_errors(&findings) { ExitStatus::Failure } else { ExitStatus::Success })
}

fn is_yaml(f: &crate::source::SourceFile) -> bool {
    matches!(f.extension().as_str(), "yml" | "yaml")
}
