//! Stage 2, model: the normalised picture of what the VM image build does.
//!
//! Built from a [`SourceSet`] by [`build`]; knows Ansible (and, at merge,
//! Packer), knows nothing about Docker. Every node carries its [`Origin`].
//! Spelling differences (short vs FQCN module names, free-form `k=v`
//! strings, `action:`/`local_action:`, `sudo:` vs `become:`) are removed here,
//! once, so later stages never see them.
//!
//! Files are stored once each, by path: playbooks, task files and vars files
//! live in the [`Project`] and refer to one another by repo-relative path, so
//! a task file included from ten places is parsed and counted once and
//! include cycles cannot make anything loop.
//!
//! Layout: `value` (data), `module_name` and `freeform` (normalisation),
//! `task`, `playbook`, `role`, `inventory`, `vars`, `config` (parsers of one
//! node or file each), `link` (references between files), `loader` (finds
//! files, follows references, reports), `summary` (what `scan` shows).

pub mod config;
pub mod freeform;
pub mod inventory;
pub mod link;
mod loader;
pub mod module_name;
pub mod packer;
pub mod playbook;
pub mod resolve;
pub mod resolved;
pub mod role;
pub mod summary;
pub mod target;
pub mod task;
pub mod template;
pub mod value;
pub mod vars;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::diagnostics::{Code, Finding, Severity};
use crate::source::SourceSet;

pub use config::AnsibleConfig;
pub use inventory::Inventory;
pub use playbook::{Play, Playbook};
pub use role::{Role, RoleUse};
pub use task::Task;
pub use value::{Value, Var};
pub use vars::{ScopedVars, Secret, VarsFile};

/// Where a model node came from: repo-relative path and 1-based line.
/// Paths are shared (`Arc<str>`) since thousands of nodes point at one file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Origin {
    pub path: Arc<str>,
    pub line: u32,
}

impl Origin {
    pub fn new(path: Arc<str>, line: u32) -> Origin {
        Origin { path, line }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path, self.line)
    }
}

/// Everything the loader found in a repository.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Project {
    /// Playbooks (found by content, or imported by another), by path.
    pub playbooks: Vec<Playbook>,
    /// Roles, by directory; unused ones included (`used: false`).
    pub roles: Vec<Role>,
    /// Task files (role `tasks/` and `handlers/` files, included files), by path.
    pub task_files: BTreeMap<Arc<str>, TaskFile>,
    /// Vars files (group/host vars, role defaults and vars, `vars_files`,
    /// `include_vars`), by path.
    pub vars_files: BTreeMap<Arc<str>, VarsFile>,
    pub inventories: Vec<Inventory>,
    /// `group_vars/` and `host_vars/` entries.
    pub scoped_vars: Vec<ScopedVars>,
    pub configs: Vec<AnsibleConfig>,
    /// Vault ciphertext seen (whole files and inline `!vault` values).
    pub secrets: Vec<Secret>,
    /// Packer templates (legacy JSON and HCL2), by path. Not serialised whole:
    /// their summaries are (see `summary`), which never hold variable values.
    #[serde(skip)]
    pub packer: Vec<packer::PackerTemplate>,
    pub findings: Vec<Finding>,
}

/// A file of tasks (or handlers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskFile {
    pub path: Arc<str>,
    /// The role directory this file belongs to, if any.
    pub role: Option<Arc<str>>,
    pub tasks: Vec<Task>,
}

impl Project {
    pub fn playbook(&self, path: &str) -> Option<&Playbook> {
        self.playbooks.iter().find(|p| &*p.path == path)
    }

    pub fn role(&self, dir: &str) -> Option<&Role> {
        // The loader sorts roles by path, so a binary search finds the first match in
        // O(log n) (a linear scan made the walk quadratic in roles); a project built
        // otherwise (unsorted) still gets the linear answer on a miss.
        let i = self.roles.partition_point(|r| &*r.path < dir);
        match self.roles.get(i) {
            Some(r) if &*r.path == dir => Some(r),
            _ => self.roles.iter().find(|r| &*r.path == dir),
        }
    }

    /// True when nothing Ansible was found (M011 is reported then).
    pub fn is_empty(&self) -> bool {
        self.playbooks.is_empty() && self.roles.is_empty() && self.inventories.is_empty() && self.packer.is_empty()
    }
}

/// Builds the model of a loaded repository. Never fails: every problem is a
/// finding in `project.findings` (the source stage's findings included).
pub fn build(set: &SourceSet) -> Project {
    loader::Loader::new(set).run()
}

/// The file a parser is reading and where its findings go.
pub(crate) struct Cx<'a> {
    pub path: Arc<str>,
    pub findings: &'a mut Vec<Finding>,
}

impl<'a> Cx<'a> {
    pub fn new(path: Arc<str>, findings: &'a mut Vec<Finding>) -> Cx<'a> {
        Cx { path, findings }
    }

    pub fn origin(&self, line: u32) -> Origin {
        Origin::new(self.path.clone(), line)
    }

    pub fn push(&mut self, code: Code, severity: Severity, line: u32, message: impl Into<String>) {
        self.findings.push(Finding::new(code, severity, self.path.to_string(), line, message));
    }

    pub fn error(&mut self, code: Code, line: u32, message: impl Into<String>) {
        self.push(code, Severity::Error, line, message);
    }

    pub fn warning(&mut self, code: Code, line: u32, message: impl Into<String>) {
        self.push(code, Severity::Warning, line, message);
    }
}
