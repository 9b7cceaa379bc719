//! `migrate check-taskdef FILE...`: the ECS task definition checks
//! (`spec::ecs::check`) on files a user passes in. Prints one finding per line;
//! exits 1 when any is an error or a file cannot be read.

use super::ExitStatus;
use crate::cli::CheckTaskdefArgs;
use crate::diagnostics::{self, Finding, codes};
use crate::spec::ecs::check::check_task_definition;

/// Largest file read (task definitions are at most 64 KiB for ECS).
const MAX_BYTES: u64 = 1024 * 1024;

pub fn run(args: &CheckTaskdefArgs) -> anyhow::Result<ExitStatus> {
    let mut findings = Vec::new();
    for file in &args.files {
        let path = file.display().to_string();
        let text = match std::fs::metadata(file) {
            Ok(m) if m.len() > MAX_BYTES => Err("larger than 1 MiB".to_string()),
            Ok(_) => std::fs::read_to_string(file).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match text {
            Ok(text) => findings.extend(check_task_definition(&path, &text)),
            Err(e) => findings.push(Finding::error(codes::UNREADABLE_FILE, &path, 0, format!("cannot read: {e}"))),
        }
    }
    diagnostics::normalize(&mut findings);
    let mut out = String::new();
    for f in &findings {
        out.push_str(&format!("{f}\n"));
    }
    print!("{out}");
    let errors = findings.iter().filter(|f| f.severity == diagnostics::Severity::Error).count();
    eprintln!("{} file(s) checked: {errors} error(s), {} warning(s)", args.files.len(), findings.len() - errors);
    Ok(if diagnostics::has_errors(&findings) { ExitStatus::Failure } else { ExitStatus::Success })
}
