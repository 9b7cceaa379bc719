//! References from one file to another, and what the loader found for them.
//!
//! Parsers create [`FileRef`]s with [`Target::Pending`] from what is written
//! (`include_tasks: x.yml`, `src: nginx.conf.j2`, `vars_files: ...`); the
//! loader resolves each one exactly once. Owns no file access.

use std::sync::Arc;

use serde::Serialize;

use super::Origin;

/// What a reference is for, which decides where Ansible looks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefKind {
    /// `import_playbook`, legacy play-level `include`.
    Playbook,
    /// `include_tasks`, `import_tasks`, legacy `include`, `tasks_from`.
    Tasks,
    /// A play's `vars_files` entry (relative to the playbook directory only).
    VarsFiles,
    /// `include_vars` (file).
    Vars,
    /// `include_vars: dir=...`.
    VarsDir,
    /// `template`'s `src` (looked up in `templates/`).
    Template,
    /// `copy`/`unarchive`'s `src` (looked up in `files/`).
    File,
    /// `script`'s script (looked up in `files/`).
    Script,
}

impl RefKind {
    /// The role subdirectory Ansible searches first for this kind.
    pub fn role_dir(self) -> &'static str {
        match self {
            RefKind::Playbook | RefKind::Tasks => "tasks",
            RefKind::VarsFiles | RefKind::Vars | RefKind::VarsDir => "vars",
            RefKind::Template => "templates",
            RefKind::File | RefKind::Script => "files",
        }
    }
}

/// Where a reference led.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Target {
    /// Not looked up yet.
    Pending,
    /// The repo-relative path of the file (or directory) it names.
    Found { path: Arc<str> },
    /// The path is a Jinja template. `candidates` are the files it could
    /// name (each `{{ }}` read as a wildcard, or the literal loop items).
    Templated { candidates: Vec<Arc<str>> },
    /// Not found at any of the `searched` places.
    Missing { searched: Vec<String> },
    /// Points outside the repository; refused and never read.
    OutsideRepo,
}

impl Target {
    pub fn path(&self) -> Option<&Arc<str>> {
        match self {
            Target::Found { path } => Some(path),
            _ => None,
        }
    }
}

/// A file named in a task, play or role, and where it led.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRef {
    pub kind: RefKind,
    /// As written (before any resolution).
    pub written: String,
    pub origin: Origin,
    pub target: Target,
}

impl FileRef {
    pub fn new(kind: RefKind, written: impl Into<String>, origin: Origin) -> FileRef {
        FileRef { kind, written: written.into(), origin, target: Target::Pending }
    }
}
