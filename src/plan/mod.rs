//! Stage: plan, desired state against current state.
//!
//! Owns resource addresses (`file "out/nginx/Dockerfile"`, `ssm_parameter "/shop/prod/web/DB_PASSWORD"`),
//! the action each resource needs (create, update, delete, no-op, conflict), the line diffs of file
//! bodies, the masking of secret values in every rendering, and the fingerprint that makes a saved
//! plan refusable when anything changed since it was made.
//!
//! Must not write anything: [`current::read`] only reads the output directory, and everything else
//! here is pure. Applying a plan is `apply`'s job. The renderers ([`text`], [`markdown`], [`json`])
//! read one [`Plan`] value and never recompute it.

pub mod current;
pub mod fingerprint;
pub mod json;
mod lines;
pub mod manifest;
pub mod markdown;
pub mod saved;
pub mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::diagnostics::Finding;
use crate::model::Origin;
use crate::render::Artifact;
use crate::sensitive::Sensitive;

pub use current::{Current, DiskEntry};
pub use manifest::{MANIFEST_FILE, Manifest};

/// Everything the playbooks say should exist: generated files and SSM parameters.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    /// Files under the output directory.
    pub artifacts: Vec<Artifact>,
    /// SSM parameters for the environment.
    pub parameters: Vec<DesiredParameter>,
    /// Findings of the stages that produced this state; printed above the plan.
    pub findings: Vec<Finding>,
}

/// One SSM parameter that should exist. `value` is always wrapped; `secure`
/// decides whether it is a `SecureString` and whether it may ever be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredParameter {
    pub name: String,
    pub secure: bool,
    pub value: Sensitive<String>,
    /// Where the value comes from (a vars file line), when known.
    pub origin: Option<Origin>,
}

impl DesiredParameter {
    pub fn plain(name: impl Into<String>, value: impl Into<String>) -> DesiredParameter {
        DesiredParameter { name: name.into(), secure: false, value: Sensitive::new(value.into()), origin: None }
    }

    pub fn secret(name: impl Into<String>, value: impl Into<String>) -> DesiredParameter {
        DesiredParameter { name: name.into(), secure: true, value: Sensitive::new(value.into()), origin: None }
    }
}

/// One SSM parameter as it is in Parameter Store now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentParameter {
    pub name: String,
    pub secure: bool,
    pub value: Sensitive<String>,
    pub version: i64,
    /// Written by migrate (tagged as such). Only those are ever destroyed when no
    /// playbook sets them any more; others under the prefix are left alone.
    pub managed: bool,
}

/// What a resource needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    NoOp,
    Create,
    Update,
    Delete,
    /// A file that a human changed or added where migrate writes: shown, never touched
    /// unless `apply --force`.
    Conflict(Conflict),
}

impl Action {
    /// The terraform-style symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
            Action::Conflict(_) => "!",
        }
    }

    /// The name used in JSON and markdown.
    pub fn name(self) -> &'static str {
        match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Conflict(_) => "conflict",
        }
    }

    pub fn is_change(self) -> bool {
        self != Action::NoOp
    }
}

/// Why a file is a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Conflict {
    /// migrate wrote it (the manifest says so), then someone changed it.
    EditedByHand,
    /// A file is where migrate generates one, but migrate never wrote it.
    NotGenerated,
    /// No longer generated, but edited by hand since migrate wrote it: not removed.
    StaleEdited,
    /// A directory or symbolic link is in the way.
    NotAFile,
}

impl Conflict {
    pub fn name(self) -> &'static str {
        match self {
            Conflict::EditedByHand => "edited-by-hand",
            Conflict::NotGenerated => "not-generated",
            Conflict::StaleEdited => "stale-edited-by-hand",
            Conflict::NotAFile => "not-a-file",
        }
    }

    /// Whether `apply --force` may resolve it (overwrite or remove the file).
    pub fn forceable(self) -> bool {
        self != Conflict::NotAFile
    }
}

/// The content of a file, with its digest computed once, when it is first asked for.
#[derive(Debug, Clone)]
pub struct FileBody {
    pub content: Arc<[u8]>,
    pub executable: bool,
    /// Lower-case hex SHA-256 of `content`. Most digests are never read (a text plan shows
    /// only those of binary files; the manifest is compared only for files that differ), and
    /// hashing every generated file was most of the diff after the copy.
    sha256: OnceLock<String>,
}

/// Equal content and mode; whether the digest was computed yet does not matter.
impl PartialEq for FileBody {
    fn eq(&self, other: &FileBody) -> bool {
        self.executable == other.executable && self.content == other.content
    }
}

impl Eq for FileBody {}

impl FileBody {
    pub fn new(content: impl Into<Arc<[u8]>>, executable: bool) -> FileBody {
        FileBody { content: content.into(), executable, sha256: OnceLock::new() }
    }

    /// Lower-case hex SHA-256 of the content.
    pub fn sha256(&self) -> &str {
        self.sha256.get_or_init(|| sha256_hex(&self.content))
    }

    /// The content as text, when it is UTF-8 without NUL bytes.
    pub fn text(&self) -> Option<&str> {
        if self.content.contains(&0) {
            return None;
        }
        std::str::from_utf8(&self.content).ok()
    }

    /// `0755` or `0644`.
    pub fn mode(&self) -> &'static str {
        if self.executable { "0755" } else { "0644" }
    }
}

/// One file under the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// `/`-separated path relative to the output directory.
    pub path: String,
    pub action: Action,
    /// What is on disk now (None: absent, or not a regular file).
    pub before: Option<FileBody>,
    /// What should be there (None: the file should not exist).
    pub after: Option<FileBody>,
}

/// A parameter's stored form, for before/after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterValue {
    pub secure: bool,
    pub value: Sensitive<String>,
}

impl ParameterValue {
    /// `SecureString` or `String`.
    pub fn kind(&self) -> &'static str {
        if self.secure { "SecureString" } else { "String" }
    }
}

/// One SSM parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterChange {
    pub name: String,
    pub action: Action,
    pub before: Option<ParameterValue>,
    /// The version in Parameter Store now, when it exists.
    pub before_version: Option<i64>,
    pub after: Option<ParameterValue>,
    pub origin: Option<Origin>,
}

impl ParameterChange {
    /// True when the value must be masked: either side is a `SecureString`. A value
    /// moving from secret to plain (or back) stays masked on both sides.
    pub fn sensitive(&self) -> bool {
        self.before.as_ref().is_some_and(|v| v.secure) || self.after.as_ref().is_some_and(|v| v.secure)
    }
}

/// Counts for the summary line. A conflict is counted apart: it is neither added,
/// changed nor destroyed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub conflict: usize,
}

impl Summary {
    fn count(&mut self, action: Action) {
        match action {
            Action::NoOp => {}
            Action::Create => self.add += 1,
            Action::Update => self.change += 1,
            Action::Delete => self.destroy += 1,
            Action::Conflict(_) => self.conflict += 1,
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Summary::default()
    }
}

/// The whole plan. Every renderer and `apply` read this one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The output directory as the user named it (`out`), used in addresses.
    pub output_dir: String,
    /// Findings from the stages before, sorted.
    pub findings: Vec<Finding>,
    /// Every file that is desired or in the manifest, by path, no-ops included.
    pub files: Vec<FileChange>,
    /// Every parameter that is desired or managed, by name; empty when Parameter
    /// Store was not read.
    pub parameters: Vec<ParameterChange>,
    /// False when live Parameter Store was not read: parameters are not compared.
    pub parameters_compared: bool,
    /// How many desired parameters were not compared (Parameter Store not read).
    pub parameters_not_compared: usize,
    /// The manifest as it was read; `apply` records the files it writes on top of it.
    pub manifest: Manifest,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for f in &self.files {
            s.count(f.action);
        }
        for p in &self.parameters {
            s.count(p.action);
        }
        s
    }

    /// True when there is nothing to do (conflicts are something to do).
    pub fn is_empty(&self) -> bool {
        self.summary().is_empty()
    }

    /// The address of a file: `file "out/nginx/Dockerfile"`.
    pub fn file_address(&self, path: &str) -> String {
        format!("file {}", quote(&self.display_path(path)))
    }

    /// The path shown to humans: the output directory as given, then the file.
    pub fn display_path(&self, path: &str) -> String {
        let dir = self.output_dir.trim_end_matches('/');
        if dir.is_empty() || dir == "." { path.to_string() } else { format!("{dir}/{path}") }
    }

    pub fn parameter_address(name: &str) -> String {
        format!("ssm_parameter {}", quote(name))
    }

    pub fn conflicts(&self) -> impl Iterator<Item = &FileChange> {
        self.files.iter().filter(|f| matches!(f.action, Action::Conflict(_)))
    }
}

/// A string in double quotes with JSON escapes, as terraform prints strings.
pub fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A desired state that cannot be planned at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("generated file path `{path}` is not allowed: {why}")]
    BadPath { path: String, why: &'static str },
    #[error("two generated files have the same path `{0}`")]
    DuplicatePath(String),
    #[error("two desired SSM parameters have the same name `{0}`")]
    DuplicateParameter(String),
}

/// Checks a generated file path before anything is read or written: relative,
/// `/`-separated, no `.`/`..`/empty components, not the manifest.
pub fn validate_path(path: &str) -> Result<(), PlanError> {
    let bad = |why| Err(PlanError::BadPath { path: path.to_string(), why });
    if path.is_empty() {
        return bad("it is empty");
    }
    if path.starts_with('/') {
        return bad("it is absolute");
    }
    if path.contains('\\') {
        return bad("it contains a backslash");
    }
    if path.contains('\0') {
        return bad("it contains a NUL byte");
    }
    for part in path.split('/') {
        match part {
            "" => return bad("it has an empty component"),
            "." => return bad("it has a `.` component"),
            ".." => return bad("it has a `..` component"),
            _ => {}
        }
    }
    if path == MANIFEST_FILE {
        return bad("it is the name of migrate's manifest");
    }
    Ok(())
}

/// Validates the desired state: paths, duplicates.
pub fn validate(desired: &Desired) -> Result<(), PlanError> {
    let mut seen = BTreeSet::new();
    for a in &desired.artifacts {
        validate_path(&a.path)?;
        if !seen.insert(a.path.as_str()) {
            return Err(PlanError::DuplicatePath(a.path.clone()));
        }
    }
    let mut names = BTreeSet::new();
    for p in &desired.parameters {
        if !names.insert(p.name.as_str()) {
            return Err(PlanError::DuplicateParameter(p.name.clone()));
        }
    }
    Ok(())
}

/// Computes the plan. `current` must have been read for this `desired`
/// ([`current::read`]) so every path of interest has been looked at.
pub fn diff(desired: &Desired, current: &Current) -> Result<Plan, PlanError> {
    validate(desired)?;
    // Copying and hashing every generated file is most of the diff's time: done on all cores.
    let mut wanted: BTreeMap<&str, FileBody> = desired
        .artifacts
        .par_iter()
        .map(|a| (a.path.as_str(), FileBody::new(a.content.as_slice(), a.executable)))
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    let mut paths: BTreeSet<&str> = wanted.keys().copied().collect();
    paths.extend(current.manifest.files.keys().map(String::as_str));

    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let after = wanted.remove(path);
        let on_disk = current.files.get(path).unwrap_or(&DiskEntry::Absent);
        let owned = |sha: &str| current.manifest.owns(path, sha);
        let (action, before) = match (on_disk, &after) {
            (DiskEntry::Other, Some(_)) => (Action::Conflict(Conflict::NotAFile), None),
            // Something that is not a file where a stale generated file was: not ours any more.
            (DiskEntry::Other, None) => (Action::NoOp, None),
            (DiskEntry::Absent, Some(_)) => (Action::Create, None),
            // A stale manifest entry whose file is gone: only the manifest changes.
            (DiskEntry::Absent, None) => (Action::NoOp, None),
            (DiskEntry::File(now), Some(want)) => {
                let action = if now.content == want.content {
                    if now.executable == want.executable { Action::NoOp } else { Action::Update }
                } else if owned(now.sha256()) {
                    Action::Update
                } else if current.manifest.files.contains_key(path) {
                    Action::Conflict(Conflict::EditedByHand)
                } else {
                    Action::Conflict(Conflict::NotGenerated)
                };
                (action, Some(now.clone()))
            }
            (DiskEntry::File(now), None) => {
                let action = if owned(now.sha256()) { Action::Delete } else { Action::Conflict(Conflict::StaleEdited) };
                (action, Some(now.clone()))
            }
        };
        files.push(FileChange { path: path.to_string(), action, before, after });
    }

    let mut parameters = Vec::new();
    let mut not_compared = 0;
    match &current.parameters {
        None => not_compared = desired.parameters.len(),
        Some(live) => {
            let live: BTreeMap<&str, &CurrentParameter> = live.iter().map(|p| (p.name.as_str(), p)).collect();
            let want: BTreeMap<&str, &DesiredParameter> =
                desired.parameters.iter().map(|p| (p.name.as_str(), p)).collect();
            let names: BTreeSet<&str> = live.keys().chain(want.keys()).copied().collect();
            for name in names {
                let before = live.get(name).map(|p| ParameterValue { secure: p.secure, value: p.value.clone() });
                let after = want.get(name).map(|p| ParameterValue { secure: p.secure, value: p.value.clone() });
                let action = match (&before, &after) {
                    (None, Some(_)) => Action::Create,
                    (Some(b), Some(a)) if b == a => Action::NoOp,
                    (Some(_), Some(_)) => Action::Update,
                    (Some(_), None) if live.get(name).is_some_and(|p| p.managed) => Action::Delete,
                    // Not written by migrate: someone else's parameter under the prefix.
                    (Some(_), None) | (None, None) => continue,
                };
                parameters.push(ParameterChange {
                    name: name.to_string(),
                    action,
                    before,
                    before_version: live.get(name).map(|p| p.version),
                    after,
                    origin: want.get(name).and_then(|p| p.origin.clone()),
                });
            }
        }
    }

    let mut findings = desired.findings.clone();
    crate::diagnostics::normalize(&mut findings);
    Ok(Plan {
        output_dir: current.output_dir.clone(),
        findings,
        files,
        parameters,
        parameters_compared: current.parameters.is_some(),
        parameters_not_compared: not_compared,
        manifest: current.manifest.clone(),
    })
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
pub(crate) mod tests;
