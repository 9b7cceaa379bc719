//! The model evaluated for one environment: what Ansible would run, in order.
//!
//! `model::resolve` (variable precedence, `when:` against the simulated facts
//! of the target base image, loops, includes, roles and their dependencies)
//! produces these types; `rules` consumes them. Every task that the source
//! holds appears exactly once per time Ansible would reach it (loops expand to
//! one task per item), including the ones whose `when:` is false, so the
//! converter can account for 100% of tasks.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::diagnostics::Finding;
use crate::sensitive::Sensitive;

use super::Origin;
use super::link::FileRef;
use super::module_name::ModuleName;

/// One environment's run of the repository's image build.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResolvedRun {
    /// The environment (`staging`, `production`), if one was chosen.
    pub env: Option<String>,
    /// The inventory used for group and host variables, if any.
    pub inventory: Option<Arc<str>>,
    /// The entry playbooks, in the order they run (Packer-linked ones first).
    pub playbooks: Vec<Arc<str>>,
    pub plays: Vec<ResolvedPlay>,
    /// Unresolvable variables, unknown conditions, unsupported lookups, ...
    pub findings: Vec<Finding>,
    /// The scope table: `ResolvedTask::scope` indexes it. Not serialised (it
    /// holds the variables, secrets included).
    #[serde(skip)]
    pub scopes: Vec<super::resolve::TaskScope>,
    /// Inventory variables whose values differ between the repository's
    /// environments: templates using them are rendered at container start.
    pub env_specific: std::collections::BTreeSet<String>,
    /// Where the variable values in `scopes` were defined ([`ResolvedRun::definition_of`]).
    #[serde(skip)]
    pub definitions: super::resolve::Definitions,
}

impl ResolvedRun {
    /// The line that defined the value `name` has in the scope of `task` (a group_vars or
    /// role defaults line, a play's `vars:`), when it came from a source line; not for
    /// facts, loop items or registered results.
    pub fn definition_of(&self, task: &ResolvedTask, name: &str) -> Option<Origin> {
        let scope = self.scopes.get(task.scope)?;
        let value = scope.templar.definition(name)?;
        self.definitions.origin_of(&value).cloned()
    }
}

/// One play with its roles and tasks flattened in execution order.
#[derive(Debug, Clone, Serialize)]
pub struct ResolvedPlay {
    pub origin: Origin,
    pub name: Option<String>,
    /// `hosts:` as written.
    pub hosts: String,
    /// Inventory groups the pattern selects (empty without an inventory).
    pub groups: Vec<String>,
    /// `pre_tasks`, role tasks (dependencies first), `tasks`, `post_tasks`.
    pub tasks: Vec<ResolvedTask>,
    /// Handlers of the play and of its roles.
    pub handlers: Vec<ResolvedTask>,
}

/// One module call as Ansible would make it on the target.
#[derive(Debug, Clone, Serialize)]
pub struct ResolvedTask {
    pub origin: Origin,
    /// The task's `name:`, templated.
    pub name: Option<String>,
    /// The role the task belongs to (through `roles:`, `include_role`, a dependency).
    pub role: Option<RoleRef>,
    /// Shared by the tasks of a play that call the same module (one copy per task was
    /// three strings each).
    pub module: Arc<ModuleName>,
    /// Arguments after templating. A string that could not be fully resolved
    /// keeps its Jinja text; `unresolved` names why.
    pub args: serde_json::Map<String, serde_json::Value>,
    /// Arguments whose value touched a secret (vault) variable: the plaintext
    /// is only here, never in `args` (which then holds `(sensitive value)`).
    pub secret_args: BTreeMap<String, Sensitive<serde_json::Value>>,
    /// Variables that were undefined and lookups that are unsupported.
    pub unresolved: Vec<String>,
    pub condition: Condition,
    /// The loop item this task was expanded for (`item`, or `loop_var`).
    pub loop_item: Option<serde_json::Value>,
    pub notify: Vec<String>,
    /// Handlers only: their name and `listen` topics.
    pub listen: Vec<String>,
    pub is_handler: bool,
    /// `environment:` merged from play, role, block and task, templated.
    pub environment: BTreeMap<String, EnvEntry>,
    pub become_user: Option<String>,
    pub delegate_to: Option<String>,
    pub register: Option<String>,
    pub no_log: bool,
    /// Repository files the module reads (template/copy `src`, scripts).
    pub files: Vec<FileRef>,
    /// The variable scope the task ran with, to render its `template:` sources
    /// (an index into the scope table that `model::resolve` keeps with the run).
    pub scope: usize,
}

/// The role a task came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleRef {
    pub name: String,
    /// The role directory.
    pub path: Arc<str>,
}

/// Whether the task runs on the target base image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// No `when:`.
    Always,
    /// `when:` evaluated against the simulated facts and the variables.
    True {
        when: String,
    },
    False {
        when: String,
    },
    /// Depends on run-time state (a registered result, an undefined variable).
    Unknown {
        when: String,
        why: String,
    },
}

/// One `environment:` entry.
#[derive(Debug, Clone, Serialize)]
pub struct EnvEntry {
    pub origin: Origin,
    /// The templated value; `Sensitive` when it touched a secret.
    pub value: EnvValue,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EnvValue {
    Plain {
        value: String,
    },
    Secret {
        value: Sensitive<String>,
    },
    /// Could not be resolved; the Jinja text as written.
    Unresolved {
        text: String,
    },
}
