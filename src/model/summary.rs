//! What `migrate scan` shows: counts and lists computed from a [`Project`].
//!
//! One [`Summary`] feeds both the text and the JSON output, so the two never
//! disagree. Its JSON shape is a public interface, documented field by field
//! in `docs/scan-format.md`; change it only with `FORMAT_VERSION`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::diagnostics::{Finding, Severity};

use super::inventory::InventoryFormat;
use super::task::{Environment, Task, TaskBody, flatten};
use super::{Project, TaskFile};

/// Version of the JSON form; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub format_version: u32,
    /// Files in the repository (after the safe walk).
    pub files: usize,
    pub playbooks: Vec<PlaybookSummary>,
    pub roles: Vec<RoleSummary>,
    pub tasks: TaskSummary,
    pub inventories: Vec<InventorySummary>,
    pub environment: EnvironmentSummary,
    pub secrets: SecretSummary,
    pub packer: PackerSummary,
    pub findings: FindingSummary,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlaybookSummary {
    pub path: String,
    pub plays: Vec<PlaySummary>,
    /// `import_playbook` targets as written, with the line of each.
    pub imports: Vec<ImportSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlaySummary {
    pub line: u32,
    pub name: Option<String>,
    pub hosts: Vec<String>,
    /// Role names as written, in order.
    pub roles: Vec<String>,
    /// Tasks written in the play itself (`pre_tasks`, `tasks`, `post_tasks`; blocks flattened).
    pub tasks: usize,
    pub handlers: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    pub line: u32,
    pub file: String,
    /// The playbook it resolved to, when found.
    pub resolved: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoleSummary {
    pub name: String,
    /// The role directory (`.` when the repository is the role).
    pub path: String,
    pub used: bool,
    /// Tasks in the role's task files (handlers excluded; blocks flattened).
    pub tasks: usize,
    pub handlers: usize,
    pub templates: usize,
    pub files: usize,
    /// Dependencies from `meta/main.yml`, as written.
    pub dependencies: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskSummary {
    /// Every task that calls a module (blocks are not counted, their tasks are).
    pub total: usize,
    /// Task files loaded (role task files, handlers, included files).
    pub task_files: usize,
    /// Tasks per module short name, most used first, then by name.
    pub by_module: Vec<ModuleCount>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModuleCount {
    pub module: String,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct InventorySummary {
    pub path: String,
    /// `ini`, `yaml`, or `plugin:<name>`.
    pub format: String,
    pub groups: Vec<GroupSummary>,
    /// Distinct host names or patterns.
    pub hosts: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupSummary {
    pub name: String,
    pub hosts: usize,
    pub children: Vec<String>,
    pub vars: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentSummary {
    /// `environment:` keywords (play, role entry, block and task level).
    pub blocks: usize,
    /// Variables set across them (a name set twice counts twice).
    pub keys: usize,
    /// Distinct variable names, sorted: the candidate container environment.
    pub names: Vec<String>,
    /// Templated `environment:` values (`"{{ proxy_env }}"`) resolved only at run time.
    pub templated: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SecretSummary {
    /// Files that are entirely Ansible Vault ciphertext.
    pub vault_files: Vec<VaultFileSummary>,
    /// Inline `!vault` values.
    pub inline_values: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct VaultFileSummary {
    pub path: String,
    pub vault_id: Option<String>,
}

/// Packer templates. Filled at merge from `Project::packer` (see `packer()` below).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PackerSummary {
    pub templates: Vec<super::packer::TemplateSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingSummary {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    pub items: Vec<Finding>,
}

impl Summary {
    /// Summarises `project`; `files` is the number of files the walk found.
    pub fn of(project: &Project, files: usize) -> Summary {
        Summary {
            format_version: FORMAT_VERSION,
            files,
            playbooks: playbooks(project),
            roles: roles(project),
            tasks: tasks(project),
            inventories: inventories(project),
            environment: environment(project),
            secrets: secrets(project),
            packer: packer(project),
            findings: findings(&project.findings),
        }
    }
}

/// Module calls among `tasks` (nested block tasks included, blocks not).
fn action_count(tasks: &[Task]) -> usize {
    flatten(tasks).iter().filter(|t| matches!(t.body, TaskBody::Action(_))).count()
}

fn playbooks(project: &Project) -> Vec<PlaybookSummary> {
    project
        .playbooks
        .iter()
        .map(|pb| PlaybookSummary {
            path: pb.path.to_string(),
            plays: pb
                .plays()
                .map(|p| PlaySummary {
                    line: p.origin.line,
                    name: p.name.clone(),
                    hosts: p.hosts.clone(),
                    roles: p.roles.iter().map(|r| r.name.clone()).collect(),
                    tasks: action_count(&p.pre_tasks) + action_count(&p.tasks) + action_count(&p.post_tasks),
                    handlers: action_count(&p.handlers),
                })
                .collect(),
            imports: pb
                .imports()
                .map(|i| ImportSummary {
                    line: i.origin.line,
                    file: i.file.written.clone(),
                    resolved: i.file.target.path().map(|p| p.to_string()),
                })
                .collect(),
        })
        .collect()
}

fn roles(project: &Project) -> Vec<RoleSummary> {
    let mut by_role: BTreeMap<&str, Vec<&TaskFile>> = BTreeMap::new();
    for tf in project.task_files.values() {
        if let Some(r) = &tf.role {
            by_role.entry(r).or_default().push(tf);
        }
    }
    project
        .roles
        .iter()
        .map(|r| {
            let files = by_role.get(&*r.path).map(Vec::as_slice).unwrap_or(&[]);
            let is_handlers = |tf: &TaskFile| {
                let rel = if r.path.is_empty() { &tf.path[..] } else { tf.path.get(r.path.len() + 1..).unwrap_or("") };
                rel.starts_with("handlers/")
            };
            RoleSummary {
                name: r.name.clone(),
                path: if r.path.is_empty() { ".".into() } else { r.path.to_string() },
                used: r.used,
                tasks: files.iter().filter(|tf| !is_handlers(tf)).map(|tf| action_count(&tf.tasks)).sum(),
                handlers: files.iter().filter(|tf| is_handlers(tf)).map(|tf| action_count(&tf.tasks)).sum(),
                templates: r.templates.len(),
                files: r.files.len(),
                dependencies: r.dependencies.iter().map(|d| d.name.clone()).collect(),
            }
        })
        .collect()
}

/// Every task list of the project: task files and the plays' own lists.
fn all_task_lists(project: &Project) -> Vec<&[Task]> {
    let mut lists: Vec<&[Task]> = project.task_files.values().map(|tf| tf.tasks.as_slice()).collect();
    for pb in &project.playbooks {
        for p in pb.plays() {
            lists.extend([&p.pre_tasks[..], &p.tasks[..], &p.post_tasks[..], &p.handlers[..]]);
        }
    }
    lists
}

fn tasks(project: &Project) -> TaskSummary {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut total = 0;
    for list in all_task_lists(project) {
        for t in flatten(list) {
            if let Some(a) = t.action() {
                *counts.entry(a.module.short.as_str()).or_default() += 1;
                total += 1;
            }
        }
    }
    let mut by_module: Vec<ModuleCount> =
        counts.into_iter().map(|(m, c)| ModuleCount { module: m.to_string(), count: c }).collect();
    by_module.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.module.cmp(&b.module)));
    TaskSummary { total, task_files: project.task_files.len(), by_module }
}

fn inventories(project: &Project) -> Vec<InventorySummary> {
    project
        .inventories
        .iter()
        .map(|inv| InventorySummary {
            path: inv.path.to_string(),
            format: match &inv.format {
                InventoryFormat::Ini => "ini".into(),
                InventoryFormat::Yaml => "yaml".into(),
                InventoryFormat::Plugin { name } => format!("plugin:{name}"),
            },
            groups: inv
                .groups
                .iter()
                .map(|g| GroupSummary {
                    name: g.name.clone(),
                    hosts: g.hosts.len(),
                    children: g.children.clone(),
                    vars: g.vars.len(),
                })
                .collect(),
            hosts: inv.host_names().len(),
        })
        .collect()
}

fn environment(project: &Project) -> EnvironmentSummary {
    let mut envs: Vec<&Environment> = Vec::new();
    for list in all_task_lists(project) {
        envs.extend(flatten(list).iter().filter_map(|t| t.environment.as_deref()));
    }
    for pb in &project.playbooks {
        for p in pb.plays() {
            envs.extend(p.environment.iter());
            envs.extend(p.roles.iter().filter_map(|r| r.environment.as_ref()));
        }
    }
    for r in &project.roles {
        envs.extend(r.dependencies.iter().filter_map(|d| d.environment.as_ref()));
    }
    let names: BTreeSet<String> = envs.iter().flat_map(|e| e.vars.iter().map(|v| v.name.clone())).collect();
    EnvironmentSummary {
        blocks: envs.len(),
        keys: envs.iter().map(|e| e.vars.len()).sum(),
        names: names.into_iter().collect(),
        templated: envs.iter().map(|e| e.templated.len()).sum(),
    }
}

fn secrets(project: &Project) -> SecretSummary {
    SecretSummary {
        vault_files: project
            .secrets
            .iter()
            .filter(|s| s.whole_file)
            .map(|s| VaultFileSummary { path: s.origin.path.to_string(), vault_id: s.vault_id.clone() })
            .collect(),
        inline_values: project.secrets.iter().filter(|s| !s.whole_file).count(),
    }
}

fn packer(project: &Project) -> PackerSummary {
    PackerSummary { templates: project.packer.iter().map(|t| t.summary()).collect() }
}

fn findings(all: &[Finding]) -> FindingSummary {
    let count = |s: Severity| all.iter().filter(|f| f.severity == s).count();
    FindingSummary {
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        infos: count(Severity::Info),
        items: all.to_vec(),
    }
}
