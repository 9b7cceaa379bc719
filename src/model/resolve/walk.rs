//! The walk: plays in order, each task as Ansible reaches it, with its scope.
//!
//! Variables live in layers (`Arc`ed lists of name → value, later wins); a
//! task's scope is the concatenation in precedence order (see the parent
//! module). A scope is built once per context and `set_fact` generation and
//! shared by the tasks that see the same layers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value as Json;

use crate::diagnostics::{Finding, Severity, codes};
use crate::model::link::{FileRef, RefKind, Target};
use crate::model::module_name::ModuleName;
use crate::model::playbook::{Play, PlaybookEntry};
use crate::model::resolved::{Condition, EnvEntry, EnvValue, ResolvedPlay, ResolvedTask, RoleRef};
use crate::model::role::RoleUse;
use crate::model::task::{Action, Environment, Include, Task, TaskBody};
use crate::model::template::{
    EnvSource, Facts, FileReader, Lookups, Output, Rendered, Report, SharedFacts, SharedVars, Site, Templar, Truth,
    VarValue, Vars,
};
use crate::model::value::{Value, Var};
use crate::model::vars::Scope;
use crate::model::{Origin, Project};
use crate::sensitive::{REDACTED, Sensitive};
use crate::source::SourceSet;

use super::inventory::{Groups, ScopedIndex};
use super::{Definitions, ResolveError, TaskScope, VaultCache};

use super::Layer;

/// How deep includes and role dependencies may nest (a cycle the loader did
/// not catch stops here).
const MAX_DEPTH: usize = 48;

/// State of the play being walked.
#[derive(Default)]
struct PlayState {
    playbook_dir: String,
    magic: Vec<(Arc<str>, Arc<VarValue>)>,
    defaults: Vec<Layer>,
    inventory: Vec<Layer>,
    play_vars: Vec<Layer>,
    vars_files: Vec<Layer>,
    role_vars: Vec<Layer>,
    /// `set_fact`, `include_vars`, `register`.
    facts: BTreeMap<Arc<str>, Arc<VarValue>>,
    facts_gen: u64,
    seen_roles: BTreeSet<String>,
    seen_handlers: BTreeSet<Arc<str>>,
    tasks: Vec<ResolvedTask>,
    handlers: Vec<ResolvedTask>,
    /// Roles' own defaults and vars, by directory.
    role_layers: BTreeMap<Arc<str>, (Vec<Layer>, Vec<Layer>)>,
}

/// What a task inherits from the plays, roles, blocks and includes around it.
#[derive(Clone, Default)]
struct Ctx {
    role: Option<RoleRef>,
    role_defaults: Vec<Layer>,
    role_vars: Vec<Layer>,
    block_vars: Vec<Layer>,
    params: Vec<Layer>,
    when: Vec<String>,
    env: Vec<Environment>,
    become_user: Option<String>,
    locals: Vec<(String, Json)>,
    stack: Vec<Arc<str>>,
    handler: bool,
}

/// What an `import_playbook` chain passes to the plays it brings in.
#[derive(Clone, Default)]
pub(super) struct Imported {
    vars: Vec<Var>,
    when: Vec<String>,
}

/// `include_role`'s `tasks_from`, `vars_from`, `defaults_from`.
#[derive(Default)]
struct RoleFrom {
    tasks: Option<FileRef>,
    vars: Option<String>,
    defaults: Option<String>,
}

/// A loop's items, as far as they are known.
enum Items {
    NoLoop,
    List { items: Vec<Json>, loop_var: String, index_var: Option<String> },
    Unknown(String),
}

/// What the walks of all plays share: the inputs, read only, and the vault cache.
pub(super) struct Common<'a> {
    project: &'a Project,
    set: &'a Arc<SourceSet>,
    groups: Option<Groups<'a>>,
    scoped: ScopedIndex<'a>,
    extra: Layer,
    vault: Mutex<VaultCache<'a>>,
    lookups: Lookups,
    /// The facts as template variables, shared by every scope.
    shared_facts: Option<SharedFacts>,
    /// `groups` (every inventory group with its hosts), shared by every play.
    groups_var: Option<Arc<VarValue>>,
}

impl<'a> Common<'a> {
    pub fn new(
        project: &'a Project,
        set: &'a Arc<SourceSet>,
        facts: Option<&'a Facts>,
        inv: Option<&'a crate::model::Inventory>,
        extra: serde_json::Map<String, Json>,
        vault: VaultCache<'a>,
    ) -> Common<'a> {
        let reader: Arc<dyn FileReader> = set.clone();
        let groups = inv.map(Groups::new);
        // The same for every play: built once (it grows with the inventory).
        let groups_var = groups.as_ref().map(|g| {
            let mut all = serde_json::Map::new();
            all.insert("all".into(), serde_json::json!(g.hosts("all")));
            for gr in &g.inv.groups {
                all.insert(gr.name.clone(), serde_json::json!(g.hosts(&gr.name)));
            }
            Arc::new(VarValue::Json(Json::Object(all)))
        });
        Common {
            project,
            set,
            groups,
            scoped: ScopedIndex::new(project),
            extra: Arc::new(extra.into_iter().map(|(k, v)| (Arc::from(k), Arc::new(VarValue::Json(v)))).collect()),
            vault: Mutex::new(vault),
            lookups: Lookups::new(EnvSource::Map(BTreeMap::new()), Some(reader)),
            shared_facts: facts.map(SharedFacts::new),
            groups_var,
        }
    }

    /// The vault cache, once every walk is done.
    pub fn into_vault(self) -> VaultCache<'a> {
        self.vault.into_inner().unwrap_or_else(|p| p.into_inner())
    }

    fn vault(&self) -> MutexGuard<'_, VaultCache<'a>> {
        self.vault.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Walks one play of the sequence (or passes a finding of the sequence on).
    pub fn walk(&self, unit: &Unit<'a>) -> Result<Walked, ResolveError> {
        match unit {
            Unit::Finding(f) => Ok(Walked { findings: vec![f.clone()], ..Default::default() }),
            Unit::Play { playbook, play, from } => self.walk_play(playbook, play, from),
        }
    }

    pub fn walk_play(&self, playbook: &str, play: &Play, from: &Imported) -> Result<Walked, ResolveError> {
        let mut w = Walker::new(self);
        w.pending_import = from.clone();
        w.play(playbook, play)?;
        Ok(Walked { plays: w.plays, scopes: w.scopes, findings: w.findings, definitions: w.definitions })
    }
}

/// What walking plays produced; scope indices count from the first scope of `scopes`.
#[derive(Default)]
pub(super) struct Walked {
    pub plays: Vec<ResolvedPlay>,
    pub scopes: Vec<TaskScope>,
    pub findings: Vec<Finding>,
    pub definitions: Definitions,
}

impl Walked {
    /// Appends the walk of later plays, renumbering their scopes after ours.
    pub fn append(&mut self, mut later: Walked) {
        let offset = self.scopes.len();
        for play in &mut later.plays {
            for t in play.tasks.iter_mut().chain(play.handlers.iter_mut()) {
                t.scope += offset;
            }
        }
        self.plays.append(&mut later.plays);
        self.scopes.append(&mut later.scopes);
        self.findings.append(&mut later.findings);
        self.definitions.append(later.definitions);
    }
}

/// One step of the run, in order: a play to walk, or a finding met on the way to the plays.
pub(super) enum Unit<'a> {
    Play { playbook: Arc<str>, play: &'a Play, from: Imported },
    Finding(Finding),
}

/// The plays a playbook runs, `import_playbook`s followed, in order. Plays do not
/// depend on one another (each starts from its own variables), so they can be walked
/// apart and their results joined in this order.
pub(super) fn plays_of<'a>(project: &'a Project, path: &str, out: &mut Vec<Unit<'a>>) {
    imported(project, path, &mut Vec::new(), &Imported::default(), out);
}

/// A playbook reached through `import_playbook` with its `vars:` and `when:`.
fn imported<'a>(project: &'a Project, path: &str, stack: &mut Vec<Arc<str>>, from: &Imported, out: &mut Vec<Unit<'a>>) {
    let Some(pb) = project.playbook(path) else { return };
    if stack.iter().any(|p| **p == *path) || stack.len() > MAX_DEPTH {
        return;
    }
    stack.push(pb.path.clone());
    for entry in &pb.entries {
        match entry {
            PlaybookEntry::Play(play) => out.push(Unit::Play { playbook: pb.path.clone(), play, from: from.clone() }),
            PlaybookEntry::Import(imp) => match imp.file.target.path() {
                Some(target) => {
                    let mut inner = from.clone();
                    inner.vars.extend(imp.vars.iter().cloned());
                    inner.when.extend(imp.when.iter().cloned());
                    imported(project, &target.clone(), stack, &inner, out)
                }
                None => out.push(Unit::Finding(Finding::new(
                    codes::UNRESOLVED_INCLUDE,
                    Severity::Warning,
                    imp.origin.path.to_string(),
                    imp.origin.line,
                    format!("`import_playbook: {}` cannot be followed", imp.file.written),
                ))),
            },
        }
    }
    stack.pop();
}

/// A repository of roles without a playbook that runs them: one play applying every
/// role that is not another's dependency to all hosts, with the names of those roles.
pub(super) fn roles_play(project: &Project) -> Option<(Play, Vec<String>)> {
    let deps: BTreeSet<&Arc<str>> =
        project.roles.iter().flat_map(|r| r.dependencies.iter().filter_map(|d| d.role.as_ref())).collect();
    let mut roles: Vec<&crate::model::Role> =
        project.roles.iter().filter(|r| !deps.contains(&r.path) && r.tasks.is_some()).collect();
    roles.sort_by(|a, b| a.path.cmp(&b.path));
    let first = roles.first()?;
    let origin = Origin::new(first.tasks.clone().unwrap_or_else(|| first.path.clone()), 1);
    let uses: Vec<RoleUse> = roles
        .iter()
        .map(|r| RoleUse {
            origin: origin.clone(),
            name: r.name.clone(),
            role: Some(r.path.clone()),
            when: Vec::new(),
            tags: Vec::new(),
            vars: Vec::new(),
            params: Vec::new(),
            environment: None,
            become_: None,
            become_user: None,
            keywords: Default::default(),
        })
        .collect();
    let play = Play {
        name: Some("roles of the repository".into()),
        hosts: vec!["all".into()],
        roles: uses,
        ..Play::new(origin.clone())
    };
    Some((play, roles.iter().map(|r| r.name.clone()).collect()))
}

/// The walk of one play.
struct Walker<'a, 'c> {
    project: &'a Project,
    set: &'a Arc<SourceSet>,
    common: &'c Common<'a>,
    findings: Vec<Finding>,
    plays: Vec<ResolvedPlay>,
    scopes: Vec<TaskScope>,
    /// Where the values of the layers this walk made were defined.
    definitions: Definitions,
    play: PlayState,
    /// Templars by what they are built from: contexts with the same layers (a role, its
    /// includes and blocks without vars, its handlers) share one, and with it the values
    /// it already resolved.
    cache: foldhash::HashMap<TemplarKey, Templar>,
    /// The variables below the task's own, by what they are built from.
    shared_cache: foldhash::HashMap<SharedKey, SharedVars>,
    /// Every layer a cache key names, kept alive for as long as the caches so that an
    /// address in a key is never reused by another layer.
    pinned: Vec<Layer>,
    /// The play's own layers merged, for the layer counts they were merged at.
    play_base: Option<([usize; 5], PlayBase)>,
    /// One shared copy of each module name the play's tasks call.
    modules: foldhash::HashMap<ModuleName, Arc<ModuleName>>,
    /// The last [`PlayBase::generation`] given out in this play.
    base_generations: u64,
    pending_import: Imported,
}

/// The play's layers merged once (magic variables, all roles' defaults, inventory, play
/// vars, vars files, all roles' vars), for the shared tables of its contexts to start from.
struct PlayBase {
    vars: Vars,
    /// Names the roles' defaults define.
    defaults: foldhash::HashSet<Arc<str>>,
    /// Names the layers above the defaults (inventory to roles' vars) define: a context's
    /// own role defaults, which sit below them, do not replace these.
    above_defaults: foldhash::HashSet<Arc<str>>,
    /// `vars` as the shared table the contexts' tables sit on, made when first needed
    /// and again after `vars` changed.
    table: Option<SharedVars>,
    /// Names what this base holds within the play: it changes whenever `vars`,
    /// `defaults` or `above_defaults` do, so a context's shared table is keyed by it.
    generation: u64,
}

impl PlayBase {
    fn merge(p: &PlayState, generation: u64) -> PlayBase {
        let mut vars = Vars::new();
        for (k, v) in p.magic.iter() {
            vars.insert_shared(k.clone(), v.clone());
        }
        let mut defaults = foldhash::HashSet::default();
        for (k, v) in p.defaults.iter().flat_map(|l| l.iter()) {
            defaults.insert(k.clone());
            vars.insert_shared(k.clone(), v.clone());
        }
        let mut above_defaults = foldhash::HashSet::default();
        let above: [&[Layer]; 4] = [&p.inventory, &p.play_vars, &p.vars_files, &p.role_vars];
        for (k, v) in above.into_iter().flatten().flat_map(|l| l.iter()) {
            above_defaults.insert(k.clone());
            vars.insert_shared(k.clone(), v.clone());
        }
        PlayBase { vars, defaults, above_defaults, table: None, generation }
    }

    /// Merges the layers appended to the play's defaults and roles' vars since `built`
    /// (the counts of [`Walker::templar`]'s shape); `None` when other layers changed,
    /// else whether anything changed (running a role appends its layers again, which
    /// usually changes nothing).
    fn extend(&mut self, p: &PlayState, built: [usize; 5], now: [usize; 5]) -> Option<bool> {
        let [defaults, inventory, play_vars, vars_files, role_vars] = built;
        if [inventory, play_vars, vars_files] != [now[1], now[2], now[3]] || now[0] < defaults || now[4] < role_vars {
            return None;
        }
        let mut changed = false;
        // New defaults win over older defaults and the magic variables, not over the layers above them.
        for (k, v) in p.defaults[defaults..].iter().flat_map(|l| l.iter()) {
            changed |= self.defaults.insert(k.clone());
            if !self.above_defaults.contains(k) {
                changed |= self.vars.replace_shared(k.clone(), v.clone());
            }
        }
        // The roles' vars are the last of the play's layers: new ones win over everything.
        for (k, v) in p.role_vars[role_vars..].iter().flat_map(|l| l.iter()) {
            changed |= self.above_defaults.insert(k.clone());
            changed |= self.vars.replace_shared(k.clone(), v.clone());
        }
        if changed {
            self.table = None;
        }
        Some(changed)
    }
}

impl<'a, 'c> Walker<'a, 'c> {
    fn new(common: &'c Common<'a>) -> Walker<'a, 'c> {
        Walker {
            project: common.project,
            set: common.set,
            common,
            findings: Vec::new(),
            plays: Vec::new(),
            scopes: Vec::new(),
            definitions: Definitions::default(),
            play: PlayState::default(),
            cache: foldhash::HashMap::default(),
            shared_cache: foldhash::HashMap::default(),
            pinned: Vec::new(),
            play_base: None,
            modules: foldhash::HashMap::default(),
            base_generations: 0,
            pending_import: Imported::default(),
        }
    }

    fn warn(&mut self, origin: &Origin, code: crate::diagnostics::Code, severity: Severity, message: String) {
        self.findings.push(Finding::new(code, severity, origin.path.to_string(), origin.line, message));
    }

    fn layer(&mut self, vars: &[Var]) -> Result<Layer, ResolveError> {
        let mut out = Vec::with_capacity(vars.len());
        for v in vars {
            // Only a vault value needs the cache (and its lock, which the plays walked in
            // parallel share); where the value was defined is this walk's own record.
            let value = match VaultCache::plain(v) {
                Some(plain) => plain,
                None => self.common.vault().var(v)?,
            };
            let value = Arc::new(value);
            self.definitions.record(&value, v.origin.clone());
            out.push((Arc::from(v.name.as_str()), value));
        }
        Ok(Arc::new(out))
    }

    fn file_layer(&mut self, path: &str) -> Result<Layer, ResolveError> {
        Ok(self.common.vault().file(self.project, self.set, path)?)
    }

    // ---- plays ---------------------------------------------------------------------

    fn play(&mut self, playbook: &str, play: &Play) -> Result<(), ResolveError> {
        self.play = PlayState {
            playbook_dir: crate::source::parent(playbook).to_string(),
            // Room for a typical play's tasks at once (`ResolvedTask` is large): growing by doubling
            // copied the list and touched fresh pages at every step; pages never written cost nothing.
            tasks: Vec::with_capacity(256),
            ..Default::default()
        };
        self.cache.clear();
        self.shared_cache.clear();
        self.pinned.clear();
        self.play_base = None;
        self.base_generations = 0;
        let pattern = play.hosts.join(",");
        let groups = self.inventory_layers(play, &pattern)?;
        let from = std::mem::take(&mut self.pending_import);
        // `import_playbook` vars sit below the play's own; its `when:` applies to every task.
        let import_vars = self.layer(&from.vars)?;
        self.play.play_vars.push(import_vars);
        let play_vars = self.layer(&play.vars)?;
        self.play.play_vars.push(play_vars);
        // `vars_prompt` answers: the default when there is one, else known only when the play runs.
        let mut prompted = Vec::new();
        for p in &play.vars_prompt {
            let value = match &p.default {
                Some(d) => VarValue::Json(d.to_json()),
                None => VarValue::Unknown(format!("asked by `vars_prompt` at {}", p.origin)),
            };
            prompted.push((Arc::from(p.name.as_str()), Arc::new(value)));
        }
        self.play.play_vars.push(Arc::new(prompted));
        let mut root = Ctx { when: from.when.clone(), ..Default::default() };
        if let Some(env) = &play.environment {
            root.env.push(env.clone());
        }
        root.become_user = play.become_user.clone();
        self.vars_files(play, &root)?;
        // Every role of the play (and its dependencies) exposes its defaults and vars to the whole play.
        let mut seen = BTreeSet::new();
        for r in &play.roles {
            if let Some(dir) = &r.role {
                self.collect_role(dir, &mut seen, 0)?;
            }
        }
        self.tasks(&play.pre_tasks, &root)?;
        for r in &play.roles {
            self.role(r, &root, &RoleFrom::default(), false, 0)?;
        }
        self.tasks(&play.tasks, &root)?;
        self.tasks(&play.post_tasks, &root)?;
        let mut hroot = root.clone();
        hroot.handler = true;
        self.tasks(&play.handlers, &hroot)?;
        let state = std::mem::take(&mut self.play);
        // The run keeps these until the rules are done: each list is made at its length
        // (the walk's list has room to spare).
        let mut handlers = state.handlers;
        let plain = state.tasks.iter().filter(|t| !t.is_handler).count();
        handlers.reserve_exact(state.tasks.len() - plain);
        let mut tasks: Vec<ResolvedTask> = Vec::with_capacity(plain);
        for t in state.tasks {
            if t.is_handler {
                handlers.push(t);
            } else {
                tasks.push(t);
            }
        }
        handlers.shrink_to_fit();
        self.plays.push(ResolvedPlay {
            origin: play.origin.clone(),
            name: play.name.clone(),
            hosts: pattern,
            groups,
            tasks,
            handlers,
        });
        Ok(())
    }

    /// Group and host variables for the play's pattern; the groups it selects.
    fn inventory_layers(&mut self, play: &Play, pattern: &str) -> Result<Vec<String>, ResolveError> {
        let pb_dir = self.play.playbook_dir.clone();
        let Some(groups) = &self.common.groups else {
            // Without an inventory Ansible still reads `group_vars/all` beside the playbook.
            let files: Vec<Arc<str>> =
                self.common.scoped.files(&pb_dir, Scope::Group, "all").into_iter().cloned().collect();
            for f in files {
                let l = self.file_layer(&f)?;
                self.play.inventory.push(l);
            }
            self.magic("localhost", &[]);
            return Ok(Vec::new());
        };
        let inv_dir = crate::source::parent(&groups.inv.path).to_string();
        let (selected, hosts) = groups.select(pattern);
        let host: Option<String> =
            hosts.first().cloned().or_else(|| selected.iter().flat_map(|g| groups.hosts(g)).next().map(str::to_string));
        let order: Vec<String> = match &host {
            Some(h) => groups.groups_of_host(h).into_iter().map(str::to_string).collect(),
            None => {
                let mut set: Vec<String> = Vec::new();
                for g in &selected {
                    for c in groups.chain(g) {
                        if !set.iter().any(|s| s == c) {
                            set.push(c.to_string());
                        }
                    }
                }
                if set.is_empty() {
                    set.push("all".into());
                }
                set
            }
        };
        let mut layers: Vec<(Vec<Var>, Vec<Arc<str>>)> = Vec::new();
        let dirs: Vec<&str> = if inv_dir == pb_dir { vec![&inv_dir] } else { vec![&inv_dir, &pb_dir] };
        for g in &order {
            let inline = groups.group(g).map(|gr| gr.vars.clone()).unwrap_or_default();
            let mut files = Vec::new();
            for d in &dirs {
                files.extend(self.common.scoped.files(d, Scope::Group, g).into_iter().cloned());
            }
            layers.push((inline, files));
        }
        // Host variables: the first host's; others of the selected groups that differ are reported.
        let host_layer = |name: &str| -> (Vec<Var>, Vec<Arc<str>>) {
            let inline = groups.host(name).map(|h| h.vars.clone()).unwrap_or_default();
            let mut files = Vec::new();
            for d in &dirs {
                files.extend(self.common.scoped.files(d, Scope::Host, name).into_iter().cloned());
            }
            (inline, files)
        };
        let mut differ: Vec<String> = Vec::new();
        if let Some(h) = &host {
            let mine = host_layer(h);
            layers.push(mine.clone());
            let written = |l: &(Vec<Var>, Vec<Arc<str>>)| -> Vec<(String, String)> {
                let mut v: Vec<(String, String)> =
                    l.0.iter()
                        .filter(|v| !v.name.starts_with("ansible_"))
                        .map(|v| (v.name.clone(), v.value.to_json().to_string()))
                        .collect();
                for f in &l.1 {
                    if let Some(vf) = self.project.vars_files.get(f) {
                        v.extend(vf.vars.iter().map(|v| (v.name.clone(), v.value.to_json().to_string())));
                    }
                }
                v.sort();
                v
            };
            let mine_w = written(&mine);
            for g in &selected {
                for other in groups.hosts(g) {
                    if other != h && written(&host_layer(other)) != mine_w && !differ.iter().any(|d| d == other) {
                        differ.push(other.to_string());
                    }
                }
            }
        }
        if let Some(h) = &host
            && !differ.is_empty()
        {
            self.warn(
                &play.origin,
                codes::HOST_VARS_DIFFER,
                Severity::Info,
                format!("`hosts: {pattern}`: using the host variables of `{h}`; {} differ", differ.join(", ")),
            );
        }
        for (inline, files) in layers {
            let l = self.layer(&inline)?;
            self.play.inventory.push(l);
            for f in files {
                let l = self.file_layer(&f)?;
                self.play.inventory.push(l);
            }
        }
        let group_names: Vec<String> = order.iter().filter(|g| *g != "all").cloned().collect();
        self.magic(host.as_deref().unwrap_or("localhost"), &group_names);
        Ok(selected)
    }

    fn magic(&mut self, host: &str, group_names: &[String]) {
        let json = |v: Json| Arc::new(VarValue::Json(v));
        let mut m: Vec<(Arc<str>, Arc<VarValue>)> = vec![
            ("inventory_hostname".into(), json(Json::String(host.into()))),
            ("inventory_hostname_short".into(), json(Json::String(host.split('.').next().unwrap_or(host).into()))),
            ("group_names".into(), json(serde_json::json!(group_names))),
            ("playbook_dir".into(), json(Json::String(self.play.playbook_dir.clone()))),
            ("ansible_check_mode".into(), json(Json::Bool(false))),
        ];
        if let Some(groups) = &self.common.groups_var {
            m.push(("groups".into(), groups.clone()));
        }
        self.play.magic = m;
    }

    fn vars_files(&mut self, play: &Play, root: &Ctx) -> Result<(), ResolveError> {
        for entry in &play.vars_files {
            let mut chosen: Option<String> = None;
            let mut tried = Vec::new();
            for choice in &entry.choices {
                let path = match &choice.target {
                    Target::Found { path } => Some(path.to_string()),
                    Target::Templated { .. } | Target::Missing { .. } | Target::Pending => {
                        let templar = self.templar(root, None);
                        let site = self.site(&choice.origin, root);
                        let r = templar.render_str(&choice.written, &site);
                        match r.output {
                            Output::Value(p) => {
                                crate::source::resolve(&self.play.playbook_dir, &p).ok().filter(|p| self.set.is_file(p))
                            }
                            _ => None,
                        }
                    }
                    Target::OutsideRepo => None,
                };
                tried.push(choice.written.clone());
                if let Some(p) = path {
                    chosen = Some(p);
                    break;
                }
            }
            match chosen {
                Some(p) => {
                    let l = self.file_layer(&p)?;
                    self.play.vars_files.push(l);
                }
                None => self.warn(
                    &entry.origin,
                    codes::UNRESOLVED_INCLUDE,
                    Severity::Warning,
                    format!("no file of `vars_files` entry [{}] exists for this environment", tried.join(", ")),
                ),
            }
        }
        Ok(())
    }

    // ---- roles ------------------------------------------------------------------------

    /// Loads the defaults and vars of a role and its dependencies into the play.
    fn collect_role(
        &mut self,
        dir: &Arc<str>,
        seen: &mut BTreeSet<Arc<str>>,
        depth: usize,
    ) -> Result<(), ResolveError> {
        if depth > MAX_DEPTH || !seen.insert(dir.clone()) {
            return Ok(());
        }
        let Some(role) = self.project.role(dir) else { return Ok(()) };
        for dep in &role.dependencies {
            if let Some(d) = &dep.role {
                self.collect_role(d, seen, depth + 1)?;
            }
        }
        let (defaults, vars) = self.role_layers(dir)?;
        self.play.defaults.extend(defaults);
        self.play.role_vars.extend(vars);
        Ok(())
    }

    fn role_layers(&mut self, dir: &Arc<str>) -> Result<(Vec<Layer>, Vec<Layer>), ResolveError> {
        if let Some(l) = self.play.role_layers.get(dir) {
            return Ok(l.clone());
        }
        let Some(role) = self.project.role(dir) else { return Ok((Vec::new(), Vec::new())) };
        let mut defaults = Vec::new();
        for f in &role.defaults {
            defaults.push(self.file_layer(f)?);
        }
        let mut vars = Vec::new();
        for f in &role.vars {
            vars.push(self.file_layer(f)?);
        }
        self.play.role_layers.insert(dir.clone(), (defaults.clone(), vars.clone()));
        Ok((defaults, vars))
    }

    fn allow_duplicates(&self, role: &crate::model::Role) -> bool {
        let Some(meta) = &role.meta else { return false };
        let Some(doc) = self.set.get(meta).and_then(|f| f.yaml().ok()).and_then(|d| d.docs.first()) else {
            return false;
        };
        doc.get("allow_duplicates")
            .and_then(|n| n.scalar_text())
            .is_some_and(|t| matches!(t.to_ascii_lowercase().as_str(), "true" | "yes" | "on" | "1"))
    }

    /// Runs a role: dependencies first, then its tasks (or `tasks_from`), its
    /// handlers once per play. `dynamic`: `include_role`/`import_role`, which
    /// run every time they are reached.
    fn role(
        &mut self,
        use_: &RoleUse,
        parent: &Ctx,
        from: &RoleFrom,
        dynamic: bool,
        depth: usize,
    ) -> Result<(), ResolveError> {
        let tasks_from = from.tasks.as_ref();
        let Some(dir) = &use_.role else { return Ok(()) };
        let Some(role) = self.project.role(dir) else { return Ok(()) };
        if depth > MAX_DEPTH {
            return Ok(());
        }
        let mut params: Vec<Var> = use_.vars.clone();
        params.extend(use_.params.iter().cloned());
        let key = format!(
            "{dir}\u{0}{}",
            params.iter().map(|v| format!("{}={}", v.name, v.value.to_json())).collect::<Vec<_>>().join("\u{0}")
        );
        if !dynamic && !self.allow_duplicates(role) && !self.play.seen_roles.insert(key) {
            return Ok(());
        }
        self.collect_role(dir, &mut BTreeSet::new(), 0)?;
        let mut ctx = parent.clone();
        ctx.when.extend(use_.when.iter().cloned());
        if let Some(env) = &use_.environment {
            ctx.env.push(env.clone());
        }
        if use_.become_user.is_some() {
            ctx.become_user = use_.become_user.clone();
        }
        // Dependencies see the parent's conditions, not this role's parameters.
        let dep_ctx = ctx.clone();
        for dep in &role.dependencies {
            self.role(dep, &dep_ctx, &RoleFrom::default(), false, depth + 1)?;
        }
        let (mut defaults, mut vars) = self.role_layers(dir)?;
        // `include_role: {vars_from: x, defaults_from: y}` replace the role's main files.
        for (name, sub, target) in [(&from.vars, "vars", &mut vars), (&from.defaults, "defaults", &mut defaults)] {
            let Some(name) = name else { continue };
            let candidates =
                [format!("{dir}/{sub}/{name}"), format!("{dir}/{sub}/{name}.yml"), format!("{dir}/{sub}/{name}.yaml")];
            match candidates.iter().find(|c| self.set.is_file(c)) {
                Some(path) => *target = vec![self.file_layer(path)?],
                None => self.warn(
                    &use_.origin,
                    codes::UNRESOLVED_INCLUDE,
                    Severity::Warning,
                    format!("`{sub}_from: {name}` of role `{}` cannot be found", role.name),
                ),
            }
        }
        ctx.role = Some(RoleRef { name: role.name.clone(), path: dir.clone() });
        ctx.role_defaults = defaults;
        ctx.role_vars = vars;
        let pl = self.layer(&params)?;
        ctx.params.push(pl);
        let file = match tasks_from {
            Some(f) => f.target.path().cloned(),
            None => role.tasks.clone(),
        };
        if let Some(path) = file {
            self.task_file(&path, &ctx)?;
        } else if let Some(f) = tasks_from {
            self.warn(
                &f.origin,
                codes::UNRESOLVED_INCLUDE,
                Severity::Warning,
                format!("`tasks_from: {}` of role `{}` cannot be followed", f.written, role.name),
            );
        }
        if let Some(h) = &role.handlers
            && self.play.seen_handlers.insert(h.clone())
        {
            let mut hctx = ctx.clone();
            hctx.handler = true;
            self.task_file(h, &hctx)?;
        }
        Ok(())
    }

    fn task_file(&mut self, path: &Arc<str>, ctx: &Ctx) -> Result<(), ResolveError> {
        if ctx.stack.iter().any(|p| p == path) || ctx.stack.len() > MAX_DEPTH {
            return Ok(());
        }
        let Some(tf) = self.project.task_files.get(path) else { return Ok(()) };
        let mut c = ctx.clone();
        c.stack.push(path.clone());
        self.tasks(&tf.tasks, &c)
    }

    // ---- tasks ------------------------------------------------------------------------

    fn tasks(&mut self, tasks: &[Task], ctx: &Ctx) -> Result<(), ResolveError> {
        for t in tasks {
            self.task(t, ctx)?;
        }
        Ok(())
    }

    fn task(&mut self, t: &Task, ctx: &Ctx) -> Result<(), ResolveError> {
        match &t.body {
            TaskBody::Invalid => Ok(()),
            TaskBody::Block(b) => {
                let mut c = ctx.clone();
                c.when.extend(t.when.iter().cloned());
                if !t.vars.is_empty() {
                    let l = self.layer(&t.vars)?;
                    c.block_vars.push(l);
                }
                if let Some(env) = t.environment.as_deref() {
                    c.env.push(env.clone());
                }
                if t.become_user.is_some() {
                    c.become_user = t.become_user.clone();
                }
                self.tasks(&b.block, &c)?;
                self.tasks(&b.rescue, &c)?;
                self.tasks(&b.always, &c)
            }
            TaskBody::Action(a) => match a.include.as_deref() {
                Some(Include::Tasks { file, .. }) => self.include(t, a, ctx, |w, c| {
                    let path = w.include_path(file, t, c);
                    match path {
                        Some(p) => w.task_file(&p, c),
                        None => {
                            w.warn(
                                &t.origin,
                                codes::UNRESOLVED_INCLUDE,
                                Severity::Warning,
                                format!("the task file `{}` cannot be found for this environment", file.written),
                            );
                            Ok(())
                        }
                    }
                }),
                Some(Include::Role { name, role, tasks_from, vars_from, defaults_from, .. }) => {
                    let use_ = RoleUse {
                        origin: t.origin.clone(),
                        name: name.clone(),
                        role: role.clone(),
                        when: Vec::new(),
                        tags: t.tags.clone(),
                        vars: Vec::new(),
                        params: Vec::new(),
                        environment: None,
                        become_: t.become_.clone(),
                        become_user: None,
                        keywords: Default::default(),
                    };
                    let from = RoleFrom {
                        tasks: tasks_from.clone(),
                        vars: vars_from.clone(),
                        defaults: defaults_from.clone(),
                    };
                    self.include(t, a, ctx, |w, c| w.role(&use_, c, &from, true, c.stack.len()))
                }
                None => self.emit(t, a, ctx),
            },
        }
    }

    /// An include (tasks or role): its conditions, vars and loop apply to what it brings in.
    fn include(
        &mut self,
        t: &Task,
        a: &Action,
        ctx: &Ctx,
        mut body: impl FnMut(&mut Self, &Ctx) -> Result<(), ResolveError>,
    ) -> Result<(), ResolveError> {
        let mut c = ctx.clone();
        c.when.extend(t.when.iter().cloned());
        let mut params = t.vars.clone();
        // Legacy `include: file.yml a=1` and include_role arguments other than its own options.
        for (k, v) in a.args.iter() {
            if !matches!(
                k,
                "file"
                    | "_raw_params"
                    | "name"
                    | "tasks_from"
                    | "vars_from"
                    | "defaults_from"
                    | "handlers_from"
                    | "apply"
                    | "public"
                    | "allow_duplicates"
                    | "rolespec_validate"
            ) {
                params.push(Var { name: k.to_string(), value: v.clone(), origin: t.origin.clone() });
            }
        }
        if !params.is_empty() {
            let l = self.layer(&params)?;
            c.params.push(l);
        }
        if let Some(env) = t.environment.as_deref() {
            c.env.push(env.clone());
        }
        if t.become_user.is_some() {
            c.become_user = t.become_user.clone();
        }
        // The scope is only needed for a loop's items (what the include brings in builds its own).
        let items = if t.loop_.is_some() {
            let templar = self.templar(&c, None);
            let site = self.site(&t.origin, &c);
            self.loop_items(t, &templar, &site)
        } else {
            Items::NoLoop
        };
        match items {
            Items::NoLoop | Items::Unknown(_) => body(self, &c),
            Items::List { items, loop_var, index_var } => {
                for (i, item) in items.into_iter().enumerate() {
                    let mut ci = c.clone();
                    ci.locals.push((loop_var.clone(), item));
                    if let Some(iv) = &index_var {
                        ci.locals.push((iv.clone(), Json::from(i)));
                    }
                    body(self, &ci)?;
                }
                Ok(())
            }
        }
    }

    /// The task file an include names, rendered for this scope when templated.
    fn include_path(&mut self, file: &FileRef, t: &Task, c: &Ctx) -> Option<Arc<str>> {
        if let Some(p) = file.target.path() {
            return Some(p.clone());
        }
        let templar = self.templar(c, None);
        let site = self.site(&t.origin, c);
        let Output::Value(rendered) = templar.render_str(&file.written, &site).output else { return None };
        let mut bases: Vec<String> = Vec::new();
        if let Some(r) = &c.role {
            bases.push(format!("{}/tasks", r.path));
        }
        bases.push(crate::source::parent(&t.origin.path).to_string());
        bases.push(self.play.playbook_dir.clone());
        if let Target::Templated { candidates } = &file.target {
            for cand in candidates {
                if cand.ends_with(&format!("/{rendered}")) || **cand == *rendered {
                    return Some(cand.clone());
                }
            }
        }
        for b in bases {
            if let Ok(p) = crate::source::resolve(&b, &rendered)
                && let Some((k, _)) = self.project.task_files.get_key_value(p.as_str())
            {
                return Some(k.clone());
            }
        }
        None
    }

    // ---- scopes -----------------------------------------------------------------------

    fn site(&self, origin: &Origin, ctx: &Ctx) -> Site {
        // Both directories are known here: what `Site::new` would derive from the path is not needed.
        Site {
            origin: origin.clone(),
            role_dir: ctx.role.as_ref().map(|r| r.path.to_string()),
            playbook_dir: self.play.playbook_dir.clone(),
        }
    }

    /// The Templar for a context (and a task's own `vars:`), in precedence order.
    fn templar(&mut self, ctx: &Ctx, task_vars: Option<&Layer>) -> Templar {
        let p = &self.play;
        // The play's layers only grow during a play, so their lengths say whether they changed.
        let shape = [p.defaults.len(), p.inventory.len(), p.play_vars.len(), p.vars_files.len(), p.role_vars.len()];
        let generation = self.play_base(shape).generation;
        let p = &self.play;
        let shared_key = SharedKey {
            base: generation,
            role: ctx.role.as_ref().map(|r| (r.name.clone(), r.path.clone())),
            layers: [layer_ids(&ctx.role_defaults), layer_ids(&ctx.role_vars), layer_ids(&ctx.block_vars)],
        };
        let key = TemplarKey {
            shared: shared_key,
            params: layer_ids(&ctx.params),
            facts_gen: p.facts_gen,
            locals: if ctx.locals.is_empty() { String::new() } else { locals_key(&ctx.locals) },
        };
        if task_vars.is_none()
            && let Some(t) = self.cache.get(&key)
        {
            return t.clone();
        }
        // Everything up to the block's vars is the same for every context with the same
        // role and layers: built once and shared.
        let shared = match self.shared_cache.get(&key.shared) {
            Some(sh) => sh.clone(),
            None => {
                // As if every layer were inserted in precedence order (magic, role_name and
                // role_path, the play's defaults, the context's role defaults, inventory to
                // the play's role vars, the context's role vars, block vars), later wins:
                // the play's part is merged once and shared, the context's part sits on it.
                let base = self.play_base(shape);
                let PlayBase { vars: merged, table, .. } = &mut *base;
                let play_table = table.get_or_insert_with(|| SharedVars::new(merged.clone())).clone();
                let base = &*base;
                let mut vars = Vars::new();
                if let Some(r) = &ctx.role {
                    let layered = |name: &str| base.defaults.contains(name) || base.above_defaults.contains(name);
                    if !layered("role_name") {
                        vars.set("role_name", Json::String(r.name.clone()));
                    }
                    if !layered("role_path") {
                        vars.set("role_path", Json::String(r.path.to_string()));
                    }
                }
                for l in &ctx.role_defaults {
                    for (k, v) in l.iter() {
                        if !base.above_defaults.contains(k) {
                            vars.insert_shared(k.clone(), v.clone());
                        }
                    }
                }
                for l in ctx.role_vars.iter().chain(&ctx.block_vars) {
                    for (k, v) in l.iter() {
                        vars.insert_shared(k.clone(), v.clone());
                    }
                }
                let sh = play_table.with(vars);
                self.pinned.extend(ctx.role_defaults.iter().chain(&ctx.role_vars).chain(&ctx.block_vars).cloned());
                self.shared_cache.insert(key.shared.clone(), sh.clone());
                sh
            }
        };
        let p = &self.play;
        let mut vars = Vars::new();
        for l in task_vars.into_iter().chain(ctx.params.iter()) {
            for (k, v) in l.iter() {
                vars.insert_shared(k.clone(), v.clone());
            }
        }
        for (k, v) in &p.facts {
            vars.insert_shared(k.clone(), v.clone());
        }
        for (k, v) in self.common.extra.iter() {
            vars.insert_shared(k.clone(), v.clone());
        }
        let mut templar =
            Templar::layered(self.common.shared_facts.as_ref(), Some(&shared), vars, self.common.lookups.clone());
        if !ctx.locals.is_empty() {
            let locals: serde_json::Map<String, Json> = ctx.locals.iter().cloned().collect();
            templar = templar.with_locals(Vars::from_json(locals));
        }
        if task_vars.is_none() {
            self.pinned.extend(ctx.params.iter().cloned());
            self.cache.insert(key, templar.clone());
        }
        templar
    }

    /// The play's layers merged (see [`PlayBase`]) for the current layer counts.
    fn play_base(&mut self, shape: [usize; 5]) -> &mut PlayBase {
        let play = &self.play;
        if let Some((built, base)) = &mut self.play_base
            && *built != shape
        {
            // Running a role appends its defaults and vars to the play's again; only
            // those appended layers need merging. Anything else: merge anew.
            match base.extend(play, *built, shape) {
                Some(false) => {}
                Some(true) => {
                    self.base_generations += 1;
                    base.generation = self.base_generations;
                }
                None => {
                    self.base_generations += 1;
                    *base = PlayBase::merge(play, self.base_generations);
                }
            }
            *built = shape;
        }
        if self.play_base.is_none() {
            self.base_generations += 1;
        }
        let generation = self.base_generations;
        &mut self.play_base.get_or_insert_with(|| (shape, PlayBase::merge(play, generation))).1
    }

    fn report<T>(&mut self, r: &Rendered<T>, origin: &Origin, unresolved: &mut Vec<String>) {
        self.findings.extend(r.findings(origin));
        note_unresolved(&r.report, unresolved);
    }

    // ---- loops ------------------------------------------------------------------------

    fn loop_items(&mut self, t: &Task, templar: &Templar, site: &Site) -> Items {
        let Some(l) = &t.loop_ else { return Items::NoLoop };
        let control = t.loop_control.as_deref().and_then(Value::as_map);
        let loop_var = control.and_then(|m| m.str("loop_var")).unwrap_or("item").to_string();
        let index_var = control.and_then(|m| m.str("index_var")).map(str::to_string);
        let items_json = l.items.to_json();
        let r = templar.resolve_value(&items_json, site);
        let mut ignored = Vec::new();
        self.report(&r, &l.origin, &mut ignored);
        let terms = match r.output {
            Output::Value(v) => v,
            Output::Sensitive(_) => return self.unknown_loop(l, "the loop's items use a vault value".into()),
            Output::Omit => Json::Array(Vec::new()),
            Output::Failed => return self.unknown_loop(l, why(&r.report)),
        };
        let items = match l.kind.as_str() {
            "loop" => match terms {
                Json::Array(v) => v,
                other => return self.unknown_loop(l, format!("`loop:` is not a list ({})", kind_of(&other))),
            },
            "fileglob" => {
                let patterns: Vec<String> = match terms {
                    Json::Array(v) => v.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
                    Json::String(s) => vec![s],
                    _ => Vec::new(),
                };
                self.fileglob(&patterns, site).into_iter().map(Json::String).collect()
            }
            kind => {
                let mut terms = match terms {
                    Json::Array(v) if kind != "dict" => v,
                    other => vec![other],
                };
                if kind == "first_found" {
                    terms = self.first_found_terms(terms, t, site);
                }
                let r = templar.query(kind, &terms, site);
                self.report(&r, &l.origin, &mut ignored);
                match r.output {
                    Output::Value(Json::Array(v)) => v,
                    Output::Value(other) => vec![other],
                    Output::Sensitive(_) => return self.unknown_loop(l, "the loop's items use a vault value".into()),
                    _ => return self.unknown_loop(l, why(&r.report)),
                }
            }
        };
        Items::List { items, loop_var, index_var }
    }

    /// Ansible searches `with_first_found` files in `vars/` for `include_vars`
    /// and `templates/` for `template` (the lookup's `_subdir`), `files/` otherwise:
    /// plain names become one term with those search paths.
    fn first_found_terms(&self, terms: Vec<Json>, t: &Task, site: &Site) -> Vec<Json> {
        let module = t.action().map(|a| a.module.short.as_str()).unwrap_or("");
        let subdir = if module.contains("var") {
            "vars"
        } else if module.contains("template") {
            "templates"
        } else {
            return terms;
        };
        if terms.iter().any(|x| x.get("paths").is_some()) {
            return terms;
        }
        let mut files = Vec::new();
        let mut skip = false;
        for x in terms {
            match x {
                Json::Object(m) => {
                    skip |= m.get("skip").is_some_and(|s| s == &Json::Bool(true) || s.as_str() == Some("true"));
                    if let Some(f) = m.get("files") {
                        match f {
                            Json::Array(v) => files.extend(v.iter().cloned()),
                            other => files.push(other.clone()),
                        }
                    }
                }
                other => files.push(other),
            }
        }
        let mut paths: Vec<String> = Vec::new();
        let task_dir = crate::source::parent(&t.origin.path).to_string();
        for base in site.role_dir.iter().cloned().chain([task_dir, site.playbook_dir.clone()]) {
            for p in [join(&base, subdir), base.clone()] {
                // The lookup joins `path/file`: the repository root is `.`.
                let p = if p.is_empty() { ".".to_string() } else { p };
                if !paths.contains(&p) {
                    paths.push(p);
                }
            }
        }
        vec![serde_json::json!({ "files": files, "paths": paths, "skip": skip })]
    }

    fn unknown_loop(&mut self, l: &crate::model::task::Loop, why: String) -> Items {
        let msg =
            format!("the items of `{}` are not known before the play runs ({why}); kept as one task", loop_name(l));
        self.warn(&l.origin, codes::UNRESOLVED_LOOP, Severity::Warning, msg);
        Items::Unknown(why)
    }

    /// `with_fileglob`: repository files matching the patterns, searched in the
    /// role's `files/`, then the playbook directory's `files/` and itself.
    fn fileglob(&self, patterns: &[String], site: &Site) -> Vec<String> {
        let mut out = Vec::new();
        for pat in patterns {
            let (dir, file) = match pat.rsplit_once('/') {
                Some((d, f)) => (d.to_string(), f.to_string()),
                None => (String::new(), pat.clone()),
            };
            let re = format!("^{}$", regex::escape(&file).replace("\\*", "[^/]*").replace("\\?", "[^/]"));
            let Ok(re) = regex::Regex::new(&re) else { continue };
            let mut bases = Vec::new();
            if let Some(r) = &site.role_dir {
                bases.push(format!("{r}/files"));
            }
            bases.push(join(&site.playbook_dir, "files"));
            bases.push(site.playbook_dir.clone());
            for b in bases {
                let Ok(d) = crate::source::resolve(&b, if dir.is_empty() { "." } else { &dir }) else { continue };
                let mut found: Vec<String> =
                    self.set.files_in(&d).filter(|f| re.is_match(f.name())).map(|f| f.rel.clone()).collect();
                if !found.is_empty() {
                    found.sort();
                    out.extend(found);
                    break;
                }
            }
        }
        out
    }

    // ---- one module call ----------------------------------------------------------------

    fn emit(&mut self, t: &Task, a: &Action, ctx: &Ctx) -> Result<(), ResolveError> {
        let task_vars = if t.vars.is_empty() { None } else { Some(self.layer(&t.vars)?) };
        let templar = self.templar(ctx, task_vars.as_ref());
        let site = self.site(&t.origin, ctx);
        match self.loop_items(t, &templar, &site) {
            Items::NoLoop => self.one(t, a, ctx, &templar, &site, None, None),
            Items::Unknown(why) => self.one(t, a, ctx, &templar, &site, None, Some(why)),
            Items::List { items, .. } if items.is_empty() => {
                let reported = self.findings.len();
                let mut task = self.build(t, a, ctx, &templar, &site, None);
                self.findings.truncate(reported);
                task.condition = Condition::False { when: format!("{} has no items", loop_name_t(t)) };
                self.push(task);
                Ok(())
            }
            Items::List { items, loop_var, index_var } => {
                for (i, item) in items.into_iter().enumerate() {
                    let mut locals = Vars::new();
                    locals.set(loop_var.clone(), item.clone());
                    locals.set("ansible_loop_var", Json::String(loop_var.clone()));
                    if let Some(iv) = &index_var {
                        locals.set(iv.clone(), Json::from(i));
                    }
                    let it = templar.with_locals(locals);
                    self.one(t, a, ctx, &it, &site, Some(item), None)?;
                }
                Ok(())
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn one(
        &mut self,
        t: &Task,
        a: &Action,
        ctx: &Ctx,
        templar: &Templar,
        site: &Site,
        item: Option<Json>,
        loop_unknown: Option<String>,
    ) -> Result<(), ResolveError> {
        let mut task = self.build(t, a, ctx, templar, site, item);
        if let Some(why) = loop_unknown {
            task.unresolved.push(format!("loop items: {why}"));
        }
        let runs = !matches!(task.condition, Condition::False { .. });
        let certain = matches!(task.condition, Condition::Always | Condition::True { .. });
        let short = a.module.short.as_str();
        if runs && short == "set_fact" {
            let mut changed = false;
            for (k, _) in a.args.iter() {
                if k == "cacheable" {
                    continue;
                }
                let value = if !certain {
                    VarValue::Unknown(format!("set by {} under a condition known only at run time", t.origin))
                } else if let Some(s) = task.secret_args.get(k) {
                    match s.expose() {
                        Json::String(text) => VarValue::Secret(Some(Sensitive::new(text.clone()))),
                        other => VarValue::Secret(Some(Sensitive::new(other.to_string()))),
                    }
                } else if task.unresolved_arg(k) {
                    VarValue::Unknown(format!("set by {} from values not known here", t.origin))
                } else {
                    match task.args.get(k) {
                        Some(v) => VarValue::Json(v.clone()),
                        None => continue,
                    }
                };
                self.play.facts.insert(Arc::from(k), Arc::new(value));
                changed = true;
            }
            if changed {
                self.play.facts_gen += 1;
            }
        }
        if runs && short == "include_vars" {
            let mut paths: Vec<Arc<str>> = task
                .files
                .iter()
                .filter(|f| f.kind == RefKind::Vars)
                .filter_map(|f| f.target.path().cloned())
                .collect();
            if paths.is_empty() {
                let named = ["file", "_raw_params"].iter().find_map(|k| task.args.get(*k).and_then(Json::as_str));
                if let Some(name) = named.filter(|n| !crate::model::value::is_template(n)) {
                    let mut bases = Vec::new();
                    if let Some(r) = &ctx.role {
                        bases.push(format!("{}/vars", r.path));
                    }
                    let dir = crate::source::parent(&t.origin.path).to_string();
                    bases.push(join(&dir, "vars"));
                    bases.push(dir);
                    bases.push(join(&self.play.playbook_dir, "vars"));
                    bases.push(self.play.playbook_dir.clone());
                    // `with_first_found` items are repository paths already.
                    bases.push(String::new());
                    let found =
                        bases.iter().filter_map(|b| crate::source::resolve(b, name).ok()).find(|p| self.set.is_file(p));
                    match found {
                        Some(p) => paths.push(Arc::from(p.as_str())),
                        None => self.warn(
                            &t.origin,
                            codes::UNRESOLVED_INCLUDE,
                            Severity::Warning,
                            format!("`include_vars: {name}`: no such file for this environment"),
                        ),
                    }
                }
            }
            for p in paths {
                {
                    let l = self.file_layer(&p)?;
                    for (k, v) in l.iter() {
                        let v = if certain {
                            v.clone()
                        } else {
                            Arc::new(VarValue::Unknown(format!("loaded by {} under a run-time condition", t.origin)))
                        };
                        self.play.facts.insert(k.clone(), v);
                    }
                    self.play.facts_gen += 1;
                }
            }
        }
        if runs && let Some(reg) = &t.register {
            self.play
                .facts
                .insert(Arc::from(reg.as_str()), Arc::new(VarValue::Unknown(format!("registered by {}", t.origin))));
            self.play.facts_gen += 1;
        }
        self.push(task);
        Ok(())
    }

    fn push(&mut self, task: ResolvedTask) {
        self.play.tasks.push(task);
    }

    /// The resolved task for one item.
    fn build(
        &mut self,
        t: &Task,
        a: &Action,
        ctx: &Ctx,
        templar: &Templar,
        site: &Site,
        item: Option<Json>,
    ) -> ResolvedTask {
        let origin = &t.origin;
        let mut unresolved = Vec::new();
        // Condition: inherited (role, include, block) first, then the task's own.
        let when: Vec<&str> = ctx.when.iter().chain(t.when.iter()).map(String::as_str).collect();
        let condition = if when.is_empty() {
            Condition::Always
        } else {
            let c = templar.eval_conditions(&when, site);
            self.findings.extend(c.report.findings(origin));
            let text = when.join(" and ");
            match c.truth {
                Truth::True => Condition::True { when: text },
                Truth::False => Condition::False { when: text },
                Truth::Unknown => Condition::Unknown { when: text, why: why(&c.report) },
            }
        };
        // Ansible does not template a skipped task: nothing it would not have evaluated is reported.
        let reported = self.findings.len();
        let name = t.name.as_ref().map(|n| {
            let r = templar.render_str(n, site);
            self.report(&r, origin, &mut Vec::new());
            match r.output {
                Output::Value(v) => v,
                _ => n.clone(),
            }
        });
        let mut args = serde_json::Map::with_capacity(a.args.len());
        let mut secret_args = BTreeMap::new();
        for (k, v) in a.args.iter() {
            let raw = v.to_json();
            if crate::model::template::is_plain(&raw) {
                // What `resolve_value` would give back (itself, nothing reported), without the copy.
                args.insert(k.to_string(), raw);
                continue;
            }
            let r = templar.resolve_value(&raw, site);
            self.report(&r, origin, &mut unresolved);
            match r.output {
                Output::Value(j) => {
                    args.insert(k.to_string(), j);
                }
                Output::Sensitive(s) => {
                    args.insert(k.to_string(), Json::String(REDACTED.into()));
                    secret_args.insert(k.to_string(), s);
                }
                Output::Omit => {}
                Output::Failed => {
                    args.insert(k.to_string(), raw);
                }
            }
        }
        let mut environment = BTreeMap::new();
        for env in ctx.env.iter().chain(t.environment.as_deref()) {
            self.environment(env, templar, site, origin, &mut environment, &mut unresolved);
        }
        let str_of = |w: &mut Self, text: &str, unresolved: &mut Vec<String>| -> String {
            let r = templar.render_str(text, site);
            w.report(&r, origin, unresolved);
            match r.output {
                Output::Value(v) => v,
                _ => text.to_string(),
            }
        };
        let become_user =
            t.become_user.clone().or_else(|| ctx.become_user.clone()).map(|u| str_of(self, &u, &mut unresolved));
        let delegate_to = t.delegate_to.clone().map(|d| str_of(self, &d, &mut unresolved));
        let notify: Vec<String> = t.notify.iter().map(|n| str_of(self, n, &mut Vec::new())).collect();
        let mut listen = Vec::new();
        if ctx.handler {
            if let Some(n) = &name {
                listen.push(n.clone());
            }
            for l in &t.listen {
                if !listen.contains(l) {
                    listen.push(l.clone());
                }
            }
        }
        let files = a.files.iter().map(|f| self.file_ref(f, templar, site)).collect();
        unresolved.sort();
        unresolved.dedup();
        if matches!(condition, Condition::False { .. }) {
            self.findings.truncate(reported);
        }
        self.scopes.push(TaskScope { templar: templar.clone(), site: site.clone() });
        ResolvedTask {
            origin: origin.clone(),
            name,
            role: ctx.role.clone(),
            module: self.module(&a.module),
            args,
            secret_args,
            unresolved,
            condition,
            loop_item: item,
            notify,
            listen,
            is_handler: ctx.handler,
            environment,
            become_user,
            delegate_to,
            register: t.register.clone(),
            no_log: t.no_log.as_ref().is_some_and(|f| f.is_true()),
            files,
            scope: self.scopes.len() - 1,
        }
    }

    /// The play's shared copy of `name`.
    fn module(&mut self, name: &ModuleName) -> Arc<ModuleName> {
        if let Some(m) = self.modules.get(name) {
            return m.clone();
        }
        let m = Arc::new(name.clone());
        self.modules.insert(name.clone(), m.clone());
        m
    }

    /// A templated file reference (`src: "{{ item }}.j2"`) pinned to the candidate this scope names.
    fn file_ref(&mut self, f: &FileRef, templar: &Templar, site: &Site) -> FileRef {
        let Target::Templated { candidates } = &f.target else { return f.clone() };
        let Output::Value(rendered) = templar.render_str(&f.written, site).output else { return f.clone() };
        let rendered = rendered.trim_start_matches("./");
        let hit = candidates.iter().find(|c| ***c == *rendered || c.ends_with(&format!("/{rendered}")));
        match hit {
            Some(path) => FileRef { target: Target::Found { path: path.clone() }, ..f.clone() },
            None if self.set.is_file(rendered) => {
                FileRef { target: Target::Found { path: Arc::from(rendered) }, ..f.clone() }
            }
            None => f.clone(),
        }
    }

    fn environment(
        &mut self,
        env: &Environment,
        templar: &Templar,
        site: &Site,
        origin: &Origin,
        out: &mut BTreeMap<String, EnvEntry>,
        unresolved: &mut Vec<String>,
    ) {
        for v in &env.vars {
            let raw = v.value.to_json();
            let r = templar.resolve_value(&raw, site);
            self.report(&r, origin, unresolved);
            let value = match r.output {
                Output::Value(j) => EnvValue::Plain { value: py_str(&j) },
                Output::Sensitive(s) => EnvValue::Secret { value: Sensitive::new(py_str(s.expose())) },
                Output::Omit => continue,
                Output::Failed => EnvValue::Unresolved { text: py_str(&raw) },
            };
            out.insert(v.name.clone(), EnvEntry { origin: v.origin.clone(), value });
        }
        for text in &env.templated {
            let r = templar.resolve_value(&Json::String(text.clone()), site);
            self.report(&r, origin, unresolved);
            match r.output {
                Output::Value(Json::Object(m)) => {
                    for (k, v) in m {
                        out.insert(
                            k,
                            EnvEntry { origin: origin.clone(), value: EnvValue::Plain { value: py_str(&v) } },
                        );
                    }
                }
                Output::Sensitive(s) => match s.expose() {
                    Json::Object(m) => {
                        for (k, v) in m {
                            let value = EnvValue::Secret { value: Sensitive::new(py_str(v)) };
                            out.insert(k.clone(), EnvEntry { origin: origin.clone(), value });
                        }
                    }
                    _ => unresolved.push(format!("environment `{text}` is not a mapping")),
                },
                _ => unresolved.push(format!("environment `{text}` cannot be resolved")),
            }
        }
    }
}

impl ResolvedTask {
    /// True when argument `k` kept its Jinja text because it could not be resolved.
    fn unresolved_arg(&self, k: &str) -> bool {
        self.args.get(k).is_some_and(|v| v.as_str().is_some_and(crate::model::value::is_template))
            && !self.unresolved.is_empty()
    }
}

/// Python's `str()` of a value, as Ansible puts it in the environment.
fn py_str(j: &Json) -> String {
    match j {
        Json::String(s) => s.clone(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Null => "None".into(),
        other => other.to_string(),
    }
}

fn kind_of(j: &Json) -> &'static str {
    match j {
        Json::Null => "none",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a mapping",
    }
}

fn loop_name(l: &crate::model::task::Loop) -> String {
    if l.kind == "loop" { "loop".into() } else { format!("with_{}", l.kind) }
}

fn loop_name_t(t: &Task) -> String {
    t.loop_.as_deref().map(loop_name).unwrap_or_else(|| "loop".into())
}

/// Why a report's evaluation failed, in one line.
fn why(r: &Report) -> String {
    let mut parts: Vec<String> = Vec::new();
    parts.extend(r.undefined.iter().map(|u| format!("`{u}` is undefined")));
    parts.extend(r.unknown.iter().map(|u| format!("only known at run time: {u}")));
    parts.extend(r.unsupported.iter().map(|u| format!("not evaluated: {u}")));
    parts.extend(r.errors.iter().cloned());
    if parts.is_empty() && !r.secrets.is_empty() {
        parts.push(format!("uses the vault value(s) {}", r.secrets.join(", ")));
    }
    if parts.is_empty() { "not known before the play runs".into() } else { parts.join("; ") }
}

fn note_unresolved(r: &Report, out: &mut Vec<String>) {
    out.extend(r.undefined.iter().map(|u| format!("`{u}` is undefined")));
    out.extend(r.unsupported.iter().map(|u| format!("not evaluated: {u}")));
    out.extend(r.unknown.iter().map(|u| format!("only known at run time: {u}")));
    out.extend(r.errors.iter().cloned());
}

/// What a context's shared variables are built from: the play's layers merged (named by
/// their [`PlayBase::generation`]), the role and the layers of the context.
#[derive(Clone, PartialEq, Eq, Hash)]
struct SharedKey {
    base: u64,
    role: Option<(String, Arc<str>)>,
    layers: [Vec<usize>; 3],
}

/// What a context's Templar is built from.
#[derive(PartialEq, Eq, Hash)]
struct TemplarKey {
    shared: SharedKey,
    params: Vec<usize>,
    facts_gen: u64,
    /// The loop variables of enclosing includes, as JSON text.
    locals: String,
}

/// The identities of layers (the walk's caches pin them, see `Walker::pinned`).
fn layer_ids(layers: &[Layer]) -> Vec<usize> {
    layers.iter().map(|l| Arc::as_ptr(l) as usize).collect()
}

fn locals_key(locals: &[(String, Json)]) -> String {
    let mut out = String::new();
    for (k, v) in locals {
        out.push_str(k);
        out.push('\u{0}');
        out.push_str(&v.to_string());
        out.push('\u{0}');
    }
    out
}

/// `base/sub`, or `sub` when the base is the repository root.
fn join(base: &str, sub: &str) -> String {
    if base.is_empty() { sub.to_string() } else { format!("{base}/{sub}") }
}
