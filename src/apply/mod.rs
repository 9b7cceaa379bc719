//! Stage: apply, the plan made real. Writes and removes files in the output directory,
//! keeps its manifest, and pushes parameters through a [`ParameterWriter`].
//!
//! Does exactly what the [`Plan`] says and never recomputes it. Guarantees:
//! - every path is validated (relative, no `..`, no link on the way) before anything is written;
//! - a conflict (a file changed or added by hand) stops the apply before anything is written,
//!   unless `force`; a directory or link in the way stops it even then;
//! - every write is atomic ([`atomic::write`], [`atomic::write_many`]); the manifest first records the digests about
//!   to be written (`pending`), so after an interruption every file is old or new and both
//!   are still recognised as migrate's own;
//! - only files that the manifest says migrate wrote, unchanged since, are removed; directories
//!   left empty by a removal are removed too, never the output directory itself.

pub mod atomic;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::plan::{self, Action, Conflict, FileChange, MANIFEST_FILE, Manifest, ParameterChange, Plan, PlanError};

pub use atomic::FailPoint;

/// Where `apply` sends parameter changes (the SSM push engine, wired by the commands).
///
/// It gets every change at once, so a store can write them concurrently, rate-limited and
/// retried, and check each against the version the plan saw (`before_version`).
pub trait ParameterWriter {
    /// Carries out `changes` (creates, updates, deletes, sorted by name). A parameter that
    /// could not be written goes into [`ParameterOutcome::failed`]; `Err` only when none
    /// could be attempted (no connection).
    fn write(&mut self, changes: &[&ParameterChange]) -> anyhow::Result<ParameterOutcome>;
}

/// What a [`ParameterWriter`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParameterOutcome {
    pub added: usize,
    pub changed: usize,
    pub destroyed: usize,
    /// `(name, why)` of every change not made; never a value.
    pub failed: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Overwrite files edited or added by hand, and remove stale generated files edited by hand.
    pub force: bool,
    /// Tests only: make the n-th file write (0-based, in path order) fail at this point.
    #[doc(hidden)]
    pub fail_write: Option<(usize, FailPoint)>,
}

/// What was done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    pub added: usize,
    pub changed: usize,
    pub destroyed: usize,
    /// Directories removed because a removal left them empty, relative to the output directory.
    pub removed_dirs: Vec<String>,
    pub manifest_written: bool,
}

impl ApplyReport {
    /// `X added, Y changed, Z destroyed`.
    pub fn summary_counts(&self) -> String {
        format!("{} added, {} changed, {} destroyed", self.added, self.changed, self.destroyed)
    }

    /// `Apply complete! Resources: X added, Y changed, Z destroyed.`, terraform's words.
    pub fn summary_line(&self) -> String {
        format!("Apply complete! Resources: {}.", self.summary_counts())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    BadPath(#[from] PlanError),
    #[error(
        "refusing to apply: {} changed by hand ({}); move or remove {}, or run `migrate apply --force`",
        plural(.0.len()), .0.join(", "), if .0.len() == 1 { "it" } else { "them" }
    )]
    Conflicts(Vec<String>),
    #[error("refusing to apply: {} in the way of {}; remove {} by hand", .0.join(", "),
        if .0.len() == 1 { "a directory or symbolic link is" } else { "directories or symbolic links are" },
        if .0.len() == 1 { "it" } else { "them" })]
    Blocked(Vec<String>),
    #[error("`{}` goes through a symbolic link or a file; refusing to write there", .0.display())]
    UnsafePath(PathBuf),
    #[error("the plan changes {0} SSM parameters, but no Parameter Store is connected")]
    NoParameterStore(usize),
    #[error("cannot write `{}`: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot write the SSM parameters: {0:#}")]
    ParameterStore(anyhow::Error),
    #[error(
        "partly applied (resources: {}): {} SSM parameter{} not written: {}; run `migrate apply` again \
         to finish (what was written is not written again)",
        .written, .failed.len(), if .failed.len() == 1 { " was" } else { "s were" },
        .failed.iter().map(|(n, why)| format!("{n} ({why})")).collect::<Vec<_>>().join(", ")
    )]
    Parameters { written: String, failed: Vec<(String, String)> },
}

fn plural(n: usize) -> String {
    if n == 1 { "1 file was".to_string() } else { format!("{n} files were") }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ApplyError + '_ {
    move |source| ApplyError::Io { path: path.to_path_buf(), source }
}

/// Applies `plan` to `out_dir`. `parameters` receives the parameter changes; it may be
/// None only when the plan has none.
pub fn apply(
    plan: &Plan,
    out_dir: &Path,
    opts: &ApplyOptions,
    parameters: Option<&mut dyn ParameterWriter>,
) -> Result<ApplyReport, ApplyError> {
    for f in &plan.files {
        plan::validate_path(&f.path)?;
    }
    let blocked: Vec<String> = plan
        .files
        .iter()
        .filter(|f| f.action == Action::Conflict(Conflict::NotAFile))
        .map(|f| plan.display_path(&f.path))
        .collect();
    if !blocked.is_empty() {
        return Err(ApplyError::Blocked(blocked));
    }
    let conflicts: Vec<String> = plan.conflicts().map(|f| plan.display_path(&f.path)).collect();
    if !conflicts.is_empty() && !opts.force {
        return Err(ApplyError::Conflicts(conflicts));
    }
    let param_changes: Vec<_> = plan.parameters.iter().filter(|p| p.action.is_change()).collect();
    if !param_changes.is_empty() && parameters.is_none() {
        return Err(ApplyError::NoParameterStore(param_changes.len()));
    }

    let mut report = ApplyReport::default();
    let writes: Vec<&FileChange> = plan
        .files
        .iter()
        .filter(|f| f.after.is_some() && matches!(f.action, Action::Create | Action::Update | Action::Conflict(_)))
        .collect();
    let removals: Vec<&FileChange> = plan
        .files
        .iter()
        .filter(|f| matches!(f.action, Action::Delete | Action::Conflict(Conflict::StaleEdited)))
        .collect();
    let final_files: BTreeMap<String, String> =
        plan.files.iter().filter_map(|f| f.after.as_ref().map(|a| (f.path.clone(), a.sha256().to_string()))).collect();
    let final_manifest = Manifest::new(final_files);

    let manifest_path = out_dir.join(MANIFEST_FILE);
    if !writes.is_empty() || !removals.is_empty() {
        std::fs::create_dir_all(out_dir).map_err(io_err(out_dir))?;
        // Before touching a file, record the digests about to be written, so an
        // interrupted apply leaves only files the next plan recognises as migrate's.
        let mut pending = plan.manifest.clone();
        pending.format_version = plan::manifest::MANIFEST_VERSION;
        for f in &writes {
            if let Some(a) = &f.after {
                pending.pending.insert(f.path.clone(), a.sha256().to_string());
            }
        }
        if !writes.is_empty() {
            atomic::write(&manifest_path, &pending.to_bytes(), false, None).map_err(io_err(&manifest_path))?;
        }

        let mut files = Vec::with_capacity(writes.len());
        for f in &writes {
            let Some(after) = &f.after else { continue };
            let target = prepare_parent(out_dir, &f.path)?;
            files.push(atomic::NewFile { target, content: &after.content, executable: after.executable });
        }
        atomic::write_many(&files, opts.fail_write).map_err(|(i, e)| match files.get(i) {
            Some(file) => io_err(&file.target)(e),
            None => io_err(out_dir)(e),
        })?;
        for f in &writes {
            if f.before.is_some() {
                report.changed += 1;
            } else {
                report.added += 1;
            }
        }
        for f in &removals {
            let target = checked_target(out_dir, &f.path)?;
            match std::fs::remove_file(&target) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&target)(e)),
            }
            report.destroyed += 1;
            remove_empty_parents(out_dir, &f.path, &mut report.removed_dirs);
        }
    }

    let manifest_exists = manifest_path.exists();
    if final_manifest.files.is_empty() {
        if manifest_exists {
            std::fs::remove_file(&manifest_path).map_err(io_err(&manifest_path))?;
            report.manifest_written = true;
        }
    } else if !manifest_exists || final_manifest != plan.manifest || !writes.is_empty() {
        std::fs::create_dir_all(out_dir).map_err(io_err(out_dir))?;
        atomic::write(&manifest_path, &final_manifest.to_bytes(), false, None).map_err(io_err(&manifest_path))?;
        report.manifest_written = true;
    }
    if report.manifest_written || report.destroyed > 0 {
        atomic::sync_dir(out_dir).map_err(io_err(out_dir))?;
    }

    if let Some(store) = parameters
        && !param_changes.is_empty()
    {
        let outcome = store.write(&param_changes).map_err(ApplyError::ParameterStore)?;
        report.added += outcome.added;
        report.changed += outcome.changed;
        report.destroyed += outcome.destroyed;
        if !outcome.failed.is_empty() {
            report.removed_dirs.sort();
            return Err(ApplyError::Parameters { written: report.summary_counts(), failed: outcome.failed });
        }
    }
    report.removed_dirs.sort();
    Ok(report)
}

/// The absolute target of `rel`, refusing any existing link or non-directory on the way
/// (checked again here: the output directory may have changed since it was read).
fn checked_target(out_dir: &Path, rel: &str) -> Result<PathBuf, ApplyError> {
    let mut at = out_dir.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) => {
                let last = i + 1 == parts.len();
                if meta.file_type().is_symlink() || (!last && !meta.is_dir()) || (last && meta.is_dir()) {
                    return Err(ApplyError::UnsafePath(at));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => break,
            Err(e) => return Err(io_err(&at)(e)),
        }
    }
    Ok(out_dir.join(rel))
}

/// Checks the path and creates the missing parent directories of `rel`.
fn prepare_parent(out_dir: &Path, rel: &str) -> Result<PathBuf, ApplyError> {
    let target = checked_target(out_dir, rel)?;
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    Ok(target)
}

/// Removes the directories of `rel` that are now empty, deepest first, stopping at the
/// first one that is not (never the output directory itself).
fn remove_empty_parents(out_dir: &Path, rel: &str, removed: &mut Vec<String>) {
    let mut parts: Vec<&str> = rel.split('/').collect();
    parts.pop();
    while !parts.is_empty() {
        let dir = parts.join("/");
        // `remove_dir` only removes an empty directory: anything a human left there keeps it.
        if std::fs::remove_dir(out_dir.join(&dir)).is_err() {
            break;
        }
        if !removed.contains(&dir) {
            removed.push(dir);
        }
        parts.pop();
    }
}

#[cfg(test)]
mod tests;
