//! The loader: finds the Ansible content of a repository, follows every
//! reference once, and reports what it cannot find or read.
//!
//! How it works: roles are discovered by directory (`roles/*` anywhere,
//! `roles_path` from `ansible.cfg`, the repository itself when it is a
//! role), playbooks by content. Each is queued; loading a file parses it
//! (through the already-parsed [`SourceSet`]), resolves what it names, and
//! queues what it found. Every file is loaded once, keyed by path, so the
//! work is linear in the size of the repository and a cycle cannot loop.
//! Literal references become edges of one graph (playbook → playbook, file →
//! task file, file → role, role → role); a depth-first pass over that graph
//! reports each cycle once (M007). Templated references (`{{ x }}.yml`) are
//! not edges: the files they could name are loaded as candidates (M013).
//!
//! The loader never panics on input and never stops at a broken file: each
//! problem is a finding at the file and line it concerns.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, LazyLock, mpsc};

use rayon::prelude::*;
use regex::Regex;

use crate::diagnostics::{self, Finding, Severity, codes};
use crate::source::yaml::{self, Node, NodeTag};
use crate::source::{self, FileProblem, SourceSet};

use super::config::{AnsibleConfig, parse_config};
use super::inventory::{self, Inventory};
use super::link::{FileRef, RefKind, Target};
use super::playbook::{self, Play, Playbook, PlaybookEntry};
use super::role::{self, Role, RoleUse};
use super::task::{self, Include, Loop, Task};
use super::value::{VaultHeader, is_template};
use super::vars::{self, Scope, ScopedVars, Secret, VarsFile};
use super::{Cx, Origin, Project, TaskFile};

/// Role subdirectories whose `main` file Ansible loads.
const MAIN_SUBDIRS: &[&str] = &["tasks", "handlers", "defaults", "vars", "meta"];

/// Names Ansible tries for a role's `main` file, in order.
const MAIN_NAMES: &[&str] = &["main.yml", "main.yaml", "main", "main.json"];

/// Extensions Ansible reads in `group_vars/`, `host_vars/` and vars directories.
const VARS_EXTENSIONS: &[&str] = &["yml", "yaml", "json", ""];

/// File names that are inventories wherever they are.
const INVENTORY_NAMES: &[&str] =
    &["hosts", "hosts.ini", "hosts.yml", "hosts.yaml", "inventory", "inventory.ini", "inventory.yml", "inventory.yaml"];

/// At most this many candidate files are loaded for one templated reference.
const MAX_CANDIDATES: usize = 100;

static NULL_NODE: Node = Node { value: yaml::Value::Null, line: 1, tag: NodeTag::None };

static MAGIC_VAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\{\{\s*(role_path|playbook_dir)\s*\}\}/?").unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

static JINJA_SPAN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)\{\{.*?\}\}|\{%.*?%\}").unwrap_or_else(|e| unreachable!("static regex: {e}")));

static ITEM_VAR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{\s*item\s*\}\}").unwrap_or_else(|e| unreachable!("static regex: {e}")));

/// The context a task runs in: it decides where relative paths are looked up.
#[derive(Debug, Clone)]
struct Ctx {
    /// The role directory, when the tasks belong to a role.
    role: Option<Arc<str>>,
    /// The directory of the playbook (Ansible's "basedir").
    playbook_dir: Arc<str>,
    /// The play's `collections:` keyword: where short role names may also come from.
    collections: Arc<[String]>,
}

/// A node of the include graph.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum GraphNode {
    Playbook(Arc<str>),
    Tasks(Arc<str>),
    Role(Arc<str>),
}

enum Work {
    Playbook(Arc<str>),
    Tasks(Arc<str>, Ctx),
    Role(Arc<str>, Arc<str>),
}

pub(crate) struct Loader<'s> {
    set: &'s SourceSet,
    findings: Vec<Finding>,
    interned: HashSet<Arc<str>>,
    configs: Vec<AnsibleConfig>,
    /// Role and collection names listed in Galaxy `requirements.yml` files.
    /// Name → the requirements files listing it.
    requirements: BTreeMap<String, Vec<Arc<str>>>,
    required_collections: BTreeMap<String, Vec<Arc<str>>>,
    roles: Vec<Role>,
    role_index: HashMap<Arc<str>, usize>,
    used_roles: HashSet<Arc<str>>,
    playbooks: BTreeMap<Arc<str>, Playbook>,
    task_files: BTreeMap<Arc<str>, TaskFile>,
    vars_files: BTreeMap<Arc<str>, VarsFile>,
    /// Files (not YAML) referenced as `template`/`copy` sources.
    payload_refs: BTreeSet<Arc<str>>,
    queue: VecDeque<Work>,
    edges: BTreeMap<GraphNode, Vec<(GraphNode, Origin)>>,
    /// Files under `tasks/` or `handlers/` parsed as task lists ahead of the walk, in
    /// parallel, with the findings of parsing them: taken when the walk loads the file.
    parsed_tasks: HashMap<Arc<str>, (Vec<Task>, Vec<Finding>)>,
    /// Likely vars files parsed ahead in the same way.
    parsed_vars: HashMap<Arc<str>, (VarsFile, Vec<Finding>)>,
    /// While the walk runs: where each new `template`/`copy` source goes to be read
    /// on the other core ([`prefetch_payload`]).
    prefetch: Option<mpsc::Sender<Arc<str>>>,
}

impl<'s> Loader<'s> {
    pub(crate) fn new(set: &'s SourceSet) -> Loader<'s> {
        Loader {
            set,
            findings: set.findings.clone(),
            interned: HashSet::new(),
            configs: Vec::new(),
            requirements: BTreeMap::new(),
            required_collections: BTreeMap::new(),
            roles: Vec::new(),
            role_index: HashMap::new(),
            used_roles: HashSet::new(),
            playbooks: BTreeMap::new(),
            task_files: BTreeMap::new(),
            vars_files: BTreeMap::new(),
            payload_refs: BTreeSet::new(),
            queue: VecDeque::new(),
            edges: BTreeMap::new(),
            parsed_tasks: HashMap::new(),
            parsed_vars: HashMap::new(),
            prefetch: None,
        }
    }

    pub(crate) fn run(mut self) -> Project {
        let set = self.set;
        // The walk below is one thread; what depends on nothing but the files (the Packer
        // templates, the vault values of every YAML file) is worked out on the pool beside it.
        let ((packer, yaml_secrets), (inventories, scoped_vars)) = rayon::join(
            || rayon::join(|| super::packer::load(set), || scan_secrets(set, scanned_ahead_paths(set), None)),
            || {
                self.read_configs_and_requirements();
                self.check_yaml_files();
                self.parse_ahead();
                // The walk is one thread; the sources it finds are read beside it. The reader
                // is a thread of its own, not a pool worker: it blocks on the channel until
                // the walk drops the sender, and a blocked worker could hold up pool work the
                // walk waits for. Without the thread the scan reads the sources later.
                std::thread::scope(|scope| {
                    let (sender, receiver) = mpsc::channel();
                    let reader = std::thread::Builder::new()
                        .name("migrate-prefetch".into())
                        .spawn_scoped(scope, move || prefetch_payload(set, receiver));
                    self.prefetch = reader.is_ok().then_some(sender);
                    self.discover_roles();
                    self.discover_playbooks();
                    self.drain();
                    self.prefetch = None;
                });
                (self.load_inventories(), self.load_scoped_vars())
            },
        );
        let secrets = self.collect_secrets(yaml_secrets);
        self.check_cycles();
        self.finish(packer, inventories, scoped_vars, secrets)
    }

    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.interned.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.interned.insert(a.clone());
        a
    }

    fn finding(&mut self, code: diagnostics::Code, severity: Severity, origin: &Origin, msg: impl Into<String>) {
        self.findings.push(Finding::new(code, severity, origin.path.to_string(), origin.line, msg));
    }

    fn edge(&mut self, from: &GraphNode, to: GraphNode, origin: &Origin) {
        self.edges.entry(from.clone()).or_default().push((to, origin.clone()));
    }

    /// The first YAML document of a file (a null node when the file is empty),
    /// or `None` with a finding when it cannot be read or parsed.
    fn doc(&mut self, path: &Arc<str>) -> Option<&'s Node> {
        let set = self.set;
        let file = set.get(path)?;
        match file.yaml() {
            Err(p) => {
                self.findings.push(p.to_finding(path));
                None
            }
            Ok(docs) => {
                self.yaml_warnings(path, docs);
                if let Some(extra) = docs.docs.iter().skip(1).find(|d| !d.is_null()) {
                    self.findings.push(Finding::warning(
                        codes::UNEXPECTED_SHAPE,
                        path.to_string(),
                        extra.line,
                        "more than one YAML document; Ansible reads one, only the first is used",
                    ));
                }
                Some(docs.docs.first().unwrap_or(&NULL_NODE))
            }
        }
    }

    fn yaml_warnings(&mut self, path: &str, docs: &yaml::Documents) {
        for w in &docs.warnings {
            let code =
                if w.message.starts_with("duplicate key") { codes::DUPLICATE_KEY } else { codes::UNEXPECTED_SHAPE };
            self.findings.push(Finding::warning(code, path, w.line, w.message.clone()));
        }
    }

    // ---- discovery -------------------------------------------------------

    fn read_configs_and_requirements(&mut self) {
        let set = self.set;
        for f in set.files() {
            if is_payload(&f.rel) {
                continue;
            }
            let name = f.name();
            if name == "ansible.cfg" {
                let path = self.intern(&f.rel);
                match f.text() {
                    Ok(text) => {
                        let mut cx = Cx::new(path, &mut self.findings);
                        let cfg = parse_config(text, &mut cx);
                        self.configs.push(cfg);
                    }
                    Err(p) => self.findings.push(p.to_finding(&f.rel)),
                }
            } else if matches!(name, "requirements.yml" | "requirements.yaml")
                && let Ok(docs) = f.yaml()
                && let Some(doc) = docs.docs.first()
            {
                let (roles, collections) = role::requirements(doc);
                let path = self.intern(&f.rel);
                for r in roles {
                    self.requirements.entry(r).or_default().push(path.clone());
                }
                for c in collections {
                    self.required_collections.entry(c).or_default().push(path.clone());
                }
            }
        }
    }

    /// Reports every YAML file that cannot be read or parsed, used or not.
    fn check_yaml_files(&mut self) {
        let set = self.set;
        for f in set.files() {
            if !is_yaml_name(&f.rel) || is_payload(&f.rel) {
                continue;
            }
            match f.yaml() {
                Err(p) => self.findings.push(p.to_finding(&f.rel)),
                Ok(docs) => self.yaml_warnings(&f.rel, docs),
            }
        }
    }

    /// Parses the likely task files (YAML under a `tasks/` or `handlers/` directory) and
    /// vars files (YAML under `defaults/`, `vars/`, `group_vars/` or `host_vars/`) in
    /// parallel; parsing depends on nothing but the file. A file the walk never loads as
    /// tasks or vars is dropped unused, with its findings.
    fn parse_ahead(&mut self) {
        let set = self.set;
        let mut tasks = Vec::new();
        let mut vars = Vec::new();
        for f in set.files() {
            if !is_yaml_name(&f.rel) || is_payload(&f.rel) {
                continue;
            }
            let mut dirs = f.rel.split('/').rev().skip(1);
            if dirs.clone().any(|c| c == "tasks" || c == "handlers") {
                tasks.push(self.intern(&f.rel));
            }
            if dirs.any(|c| matches!(c, "defaults" | "vars" | "group_vars" | "host_vars")) {
                vars.push(self.intern(&f.rel));
            }
        }
        let (parsed_tasks, parsed_vars) = rayon::join(
            || {
                tasks
                    .into_par_iter()
                    .filter_map(|path| {
                        let docs = set.get(&path)?.yaml().ok()?;
                        let doc = docs.docs.first().unwrap_or(&NULL_NODE);
                        let mut findings = Vec::new();
                        let tasks = task::parse_tasks(doc, &mut Cx::new(path.clone(), &mut findings));
                        Some((path, (tasks, findings)))
                    })
                    .collect()
            },
            || {
                vars.into_par_iter()
                    .filter_map(|path| {
                        let file = set.get(&path)?;
                        let text = file.text().ok()?;
                        // As `load_vars_file` reads it: no tree for a vault file or one that does not parse.
                        let doc = if VaultHeader::parse(text).is_some() {
                            None
                        } else {
                            file.yaml().ok().map(|docs| docs.docs.first().unwrap_or(&NULL_NODE))
                        };
                        let mut findings = Vec::new();
                        let vf = vars::parse_vars_file(text, doc, &mut Cx::new(path.clone(), &mut findings));
                        Some((path, (vf, findings)))
                    })
                    .collect()
            },
        );
        self.parsed_tasks = parsed_tasks;
        self.parsed_vars = parsed_vars;
    }

    fn discover_roles(&mut self) {
        let set = self.set;
        // A role is a directory under `roles/` (at any depth: `roles/wazuh/indexer`)
        // holding a `main` file that Ansible loads. Directories that only group
        // roles or hold loose files are not roles.
        let mut found: BTreeMap<String, String> = BTreeMap::new();
        for f in set.files() {
            let parts: Vec<&str> = f.rel.split('/').collect();
            let Some(i) = parts.iter().position(|p| *p == "roles") else { continue };
            for j in i + 2..parts.len().saturating_sub(1) {
                if is_role_main(parts[j], parts[j + 1], j + 2 == parts.len()) {
                    let dir = parts[..j].join("/");
                    if !is_payload(&format!("{dir}/")) {
                        found.entry(dir).or_insert_with(|| parts[..i].join("/"));
                    }
                    break;
                }
            }
        }
        for cfg in &self.configs {
            for rp in &cfg.roles_path {
                for sub in set.subdirs(rp) {
                    let dir = join(rp, sub);
                    let has_main = MAIN_SUBDIRS.iter().any(|s| {
                        MAIN_NAMES.iter().any(|m| set.is_file(&join(&join(&dir, s), m)))
                            || set.is_dir(&join(&dir, &format!("{s}/main")))
                    });
                    if has_main {
                        found.entry(dir).or_insert_with(|| cfg.dir().to_string());
                    }
                }
            }
        }
        // The repository itself is a role (a Galaxy role's own repository).
        if MAIN_NAMES.iter().any(|m| set.is_file(&format!("tasks/{m}")) || set.is_file(&format!("meta/{m}"))) {
            found.insert(String::new(), String::new());
        }
        for (dir, playbook_dir) in found {
            let dir = self.intern(&dir);
            let pd = self.intern(&playbook_dir);
            self.load_role(dir, pd);
        }
    }

    fn discover_playbooks(&mut self) {
        let set = self.set;
        for f in set.files() {
            if !is_yaml_name(&f.rel) || is_payload(&f.rel) {
                continue;
            }
            if let Ok(docs) = f.yaml()
                && docs.docs.first().is_some_and(playbook::is_playbook)
            {
                let path = self.intern(&f.rel);
                self.queue.push_back(Work::Playbook(path));
            }
        }
    }

    fn drain(&mut self) {
        while let Some(work) = self.queue.pop_front() {
            match work {
                Work::Playbook(p) => self.load_playbook(p),
                Work::Tasks(p, ctx) => self.load_task_file(p, ctx),
                Work::Role(dir, pd) => self.load_role(dir, pd),
            }
        }
    }

    // ---- playbooks ---------------------------------------------------------

    fn load_playbook(&mut self, path: Arc<str>) {
        if self.playbooks.contains_key(&path) {
            return;
        }
        let Some(doc) = self.doc(&path) else {
            self.playbooks.insert(path.clone(), Playbook { path, entries: Vec::new() });
            return;
        };
        let mut pb = {
            let mut cx = Cx::new(path.clone(), &mut self.findings);
            playbook::parse_playbook(doc, &mut cx)
        };
        // Insert first: an import of itself then finds it loaded.
        self.playbooks.insert(path.clone(), Playbook { path: path.clone(), entries: Vec::new() });
        let dir = self.intern(source::parent(&path));
        let ctx = Ctx { role: None, playbook_dir: dir.clone(), collections: Arc::from([]) };
        let me = GraphNode::Playbook(path.clone());
        for entry in &mut pb.entries {
            match entry {
                PlaybookEntry::Import(import) => {
                    self.resolve_ref(&mut import.file, &ctx, &dir, None, None);
                    match &import.file.target {
                        Target::Found { path: p } => {
                            let p = p.clone();
                            self.edge(&me, GraphNode::Playbook(p.clone()), &import.origin);
                            self.queue.push_back(Work::Playbook(p));
                        }
                        Target::Templated { candidates } => {
                            for c in candidates.clone() {
                                self.queue.push_back(Work::Playbook(c));
                            }
                        }
                        _ => {}
                    }
                }
                PlaybookEntry::Play(play) => {
                    let collections: Vec<String> = play
                        .keywords
                        .get("collections")
                        .and_then(|v| v.as_list())
                        .map(|l| l.iter().filter_map(|c| c.as_str().map(String::from)).collect())
                        .unwrap_or_default();
                    let ctx = Ctx { collections: Arc::from(collections), ..ctx.clone() };
                    self.resolve_play(play, &ctx, &me)
                }
            }
        }
        self.playbooks.insert(path, pb);
    }

    fn resolve_play(&mut self, play: &mut Play, ctx: &Ctx, me: &GraphNode) {
        let dir = ctx.playbook_dir.clone();
        for entry in &mut play.vars_files {
            for choice in &mut entry.choices {
                self.resolve_ref_quiet(choice, ctx, &dir, None);
            }
            self.report_first_found(&entry.choices, &entry.origin);
            let found: Vec<Arc<str>> = entry.choices.iter().flat_map(|c| target_files(&c.target)).collect();
            for p in found {
                self.load_vars_file(p);
            }
        }
        let from_path = me_path(me);
        for use_ in &mut play.roles {
            self.resolve_role_use(use_, ctx, &[], me, &from_path);
        }
        for list in [&mut play.pre_tasks, &mut play.tasks, &mut play.post_tasks, &mut play.handlers] {
            self.resolve_tasks(list, ctx, &dir, me, None);
        }
    }

    // ---- roles ---------------------------------------------------------------

    fn load_role(&mut self, dir: Arc<str>, playbook_dir: Arc<str>) {
        if self.role_index.contains_key(&dir) {
            return;
        }
        let set = self.set;
        let main = |sub: &str| MAIN_NAMES.iter().map(|m| join(&join(&dir, sub), m)).find(|p| set.is_file(p));
        let tasks = main("tasks").map(|p| self.intern(&p));
        let handlers = main("handlers").map(|p| self.intern(&p));
        let meta = main("meta").map(|p| self.intern(&p));
        let mut defaults = Vec::new();
        let mut vars = Vec::new();
        for (sub, out) in [("defaults", &mut defaults), ("vars", &mut vars)] {
            if let Some(p) = main(sub) {
                out.push(self.intern(&p));
            } else {
                let main_dir = join(&join(&dir, sub), "main");
                if set.is_dir(&main_dir) {
                    let files: Vec<String> =
                        set.files_under(&main_dir).filter(|f| is_vars_name(&f.rel)).map(|f| f.rel.clone()).collect();
                    for f in files {
                        out.push(self.intern(&f));
                    }
                }
            }
        }
        let templates: Vec<Arc<str>> = set
            .files_under(&join(&dir, "templates"))
            .map(|f| f.rel.clone())
            .collect::<Vec<_>>()
            .iter()
            .map(|p| self.intern(p))
            .collect();
        let files: Vec<Arc<str>> = set
            .files_under(&join(&dir, "files"))
            .map(|f| f.rel.clone())
            .collect::<Vec<_>>()
            .iter()
            .map(|p| self.intern(p))
            .collect();
        let (mut deps, galaxy) = match &meta {
            Some(m) => match self.doc(m) {
                Some(doc) => {
                    let mut cx = Cx::new(m.clone(), &mut self.findings);
                    role::parse_meta(doc, &mut cx)
                }
                None => (Vec::new(), None),
            },
            None => (Vec::new(), None),
        };
        let name = if dir.is_empty() {
            galaxy
                .as_ref()
                .and_then(|g| g.role_name.clone())
                .unwrap_or_else(|| set.root().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
        } else {
            dir.rsplit('/').next().unwrap_or(&dir).to_string()
        };
        let idx = self.roles.len();
        self.roles.push(Role {
            name,
            path: dir.clone(),
            tasks: tasks.clone(),
            handlers: handlers.clone(),
            defaults: defaults.clone(),
            vars: vars.clone(),
            templates,
            files,
            meta: meta.clone(),
            dependencies: Vec::new(),
            galaxy,
            used: false,
        });
        self.role_index.insert(dir.clone(), idx);
        for p in defaults.into_iter().chain(vars) {
            self.load_vars_file(p);
        }
        let ctx = Ctx { role: Some(dir.clone()), playbook_dir, collections: Arc::from([]) };
        let me = GraphNode::Role(dir.clone());
        if let Some(meta) = &meta {
            let parent = self.intern(source::parent(&dir));
            let bases = [dir.clone(), parent];
            for dep in &mut deps {
                self.resolve_role_use(dep, &ctx, &bases, &me, meta);
            }
        }
        self.roles[idx].dependencies = deps;
        for t in [tasks, handlers].into_iter().flatten() {
            let origin = Origin::new(t.clone(), 0);
            self.edge(&me, GraphNode::Tasks(t.clone()), &origin);
            self.queue.push_back(Work::Tasks(t, ctx.clone()));
        }
    }

    /// Resolves a `roles:` entry or meta dependency and queues the role.
    fn resolve_role_use(
        &mut self,
        use_: &mut RoleUse,
        ctx: &Ctx,
        bases: &[Arc<str>],
        from: &GraphNode,
        from_path: &str,
    ) {
        let Some(dir) = self.find_role(&use_.name, ctx, bases, from_path, &use_.origin) else { return };
        use_.role = Some(dir.clone());
        self.edge(from, GraphNode::Role(dir.clone()), &use_.origin);
        self.use_role(dir, ctx.playbook_dir.clone());
    }

    fn use_role(&mut self, dir: Arc<str>, playbook_dir: Arc<str>) {
        self.used_roles.insert(dir.clone());
        if !self.role_index.contains_key(&dir) {
            self.queue.push_back(Work::Role(dir, playbook_dir));
        }
    }

    /// Finds a role by name as Ansible does: `roles/` beside the playbook,
    /// `roles_path` from `ansible.cfg`, the depending role's directory, the
    /// playbook directory; a Galaxy name `owner.role` also matches a
    /// directory named after the part after the dot; a path is taken as one.
    /// A playbook inside a role (role tests, Molecule scenarios) may name its
    /// enclosing role by its Galaxy name, as those tools arrange.
    fn find_role(
        &mut self,
        name: &str,
        ctx: &Ctx,
        bases: &[Arc<str>],
        from_path: &str,
        origin: &Origin,
    ) -> Option<Arc<str>> {
        let (substituted, anchored) = substitute_magic(name, ctx);
        if is_template(&substituted) {
            let msg = format!("role `{name}` is named by a template; known only at run time");
            self.finding(codes::TEMPLATED_PATH, Severity::Info, origin, msg);
            return None;
        }
        if anchored {
            match source::resolve("", &substituted) {
                Ok(p) if self.set.is_dir(&p) => return Some(self.intern(&p)),
                Ok(p) => {
                    let msg = format!("role `{name}` not found (searched {p})");
                    self.finding(codes::MISSING_ROLE, Severity::Warning, origin, msg);
                }
                Err(_) => self.report_outside("role", name, origin),
            }
            return None;
        }
        let set = self.set;
        let pd: &str = &ctx.playbook_dir;
        let mut dirs: Vec<String> = vec![join(pd, "roles")];
        if let Some(cfg) = self.config_for(pd) {
            dirs.extend(cfg.roles_path.iter().cloned());
        }
        dirs.extend(bases.iter().map(|b| b.to_string()));
        dirs.push(pd.to_string());
        dedup_keep_order(&mut dirs);
        let mut names = vec![name.to_string()];
        if let Some((_, after)) = name.rsplit_once('.')
            && !after.is_empty()
        {
            names.push(after.to_string());
        }
        for dir in &dirs {
            for n in &names {
                if let Ok(p) = source::resolve(dir, n)
                    && set.is_dir(&p)
                    && !p.is_empty()
                {
                    return Some(self.intern(&p));
                }
            }
        }
        // Collection roles: `namespace.collection.role`.
        let parts: Vec<&str> = name.split('.').collect();
        if parts.len() == 3 {
            let mut base = pd.to_string();
            loop {
                let p = join(
                    &base,
                    &format!("collections/ansible_collections/{}/{}/roles/{}", parts[0], parts[1], parts[2]),
                );
                if set.is_dir(&p) {
                    return Some(self.intern(&p));
                }
                if base.is_empty() {
                    break;
                }
                base = source::parent(&base).to_string();
            }
        }
        // The role that encloses the playbook or file naming it.
        let enclosing = self.roles.iter().find(|r| {
            (r.path.is_empty() || from_path.starts_with(&format!("{}/", r.path)))
                && (r.name == name || r.galaxy.as_ref().is_some_and(|g| g.names().iter().any(|n| n == name)))
        });
        if let Some(r) = enclosing {
            return Some(r.path.clone());
        }
        let searched = dirs.iter().map(|d| if d.is_empty() { ".".to_string() } else { d.clone() }).collect::<Vec<_>>();
        // Installed by ansible-galaxy: a listed role, or a role of a listed collection.
        // The requirements file nearest to the referencing file is named.
        let nearest = |files: &[Arc<str>]| -> Option<Arc<str>> {
            let near = files.iter().find(|f| {
                let d = source::parent(f);
                d.is_empty() || from_path.starts_with(&format!("{d}/"))
            });
            near.or(files.first()).cloned()
        };
        let role_file = names.iter().find_map(|n| {
            self.requirements
                .iter()
                .find(|(r, _)| *r == n || (n != name && r.rsplit('.').next() == Some(n.as_str())))
                .and_then(|(_, files)| nearest(files))
        });
        let collection_of = |n: &str| n.rsplit_once('.').map(|(c, _)| c.to_string()).filter(|c| c.contains('.'));
        let collection = collection_of(name)
            .into_iter()
            .chain(ctx.collections.iter().cloned())
            .find_map(|c| self.required_collections.get(&c).and_then(|files| nearest(files)).map(|f| (c, f)));
        if let Some(file) = role_file {
            let msg = format!("role `{name}` is not in the repository; `{file}` lists it (ansible-galaxy installs it)");
            self.finding(codes::MISSING_ROLE, Severity::Info, origin, msg);
        } else if let Some((c, file)) = collection {
            let msg =
                format!("role `{name}` is not in the repository; it comes from collection `{c}`, which `{file}` lists");
            self.finding(codes::MISSING_ROLE, Severity::Info, origin, msg);
        } else {
            let msg = format!("role `{name}` not found (searched {})", searched.join(", "));
            self.finding(codes::MISSING_ROLE, Severity::Warning, origin, msg);
        }
        None
    }

    /// The `ansible.cfg` that applies in `dir`: the nearest one in it or above it.
    fn config_for(&self, dir: &str) -> Option<&AnsibleConfig> {
        let mut d = dir.to_string();
        loop {
            if let Some(c) = self.configs.iter().find(|c| c.dir() == d) {
                return Some(c);
            }
            if d.is_empty() {
                return None;
            }
            d = source::parent(&d).to_string();
        }
    }

    // ---- task files ----------------------------------------------------------

    fn load_task_file(&mut self, path: Arc<str>, ctx: Ctx) {
        if self.task_files.contains_key(&path) {
            return;
        }
        let role = ctx.role.clone().filter(|r| r.is_empty() || path.starts_with(&format!("{r}/")));
        // Insert first so that an include of itself finds it loaded.
        self.task_files.insert(path.clone(), TaskFile { path: path.clone(), role: role.clone(), tasks: Vec::new() });
        let Some(doc) = self.doc(&path) else { return };
        let mut tasks = match self.parsed_tasks.remove(&path) {
            Some((tasks, findings)) => {
                self.findings.extend(findings);
                tasks
            }
            None => {
                let mut cx = Cx::new(path.clone(), &mut self.findings);
                task::parse_tasks(doc, &mut cx)
            }
        };
        let dir = source::parent(&path).to_string();
        let me = GraphNode::Tasks(path.clone());
        self.resolve_tasks(&mut tasks, &ctx, &dir, &me, Some(&path));
        self.task_files.insert(path.clone(), TaskFile { path, role, tasks });
    }

    fn resolve_tasks(&mut self, tasks: &mut [Task], ctx: &Ctx, dir: &str, from: &GraphNode, this: Option<&Arc<str>>) {
        task::for_each_mut(tasks, &mut |t| self.resolve_task(t, ctx, dir, from, this));
    }

    fn resolve_task(&mut self, t: &mut Task, ctx: &Ctx, dir: &str, from: &GraphNode, this: Option<&Arc<str>>) {
        let loop_ = t.loop_.clone();
        let from_path = me_path(from);
        let task_origin = t.origin.clone();
        let Some(action) = t.action_mut() else { return };
        match action.include.as_deref_mut() {
            Some(Include::Tasks { file, .. }) => {
                self.resolve_ref(file, ctx, dir, loop_.as_deref(), this);
                let origin = file.origin.clone();
                match &file.target {
                    Target::Found { path } => {
                        let p = path.clone();
                        self.edge(from, GraphNode::Tasks(p.clone()), &origin);
                        self.queue.push_back(Work::Tasks(p, ctx.clone()));
                    }
                    Target::Templated { candidates } => {
                        for c in candidates.clone() {
                            self.queue.push_back(Work::Tasks(c, ctx.clone()));
                        }
                    }
                    _ => {}
                }
            }
            Some(Include::Role { name, role, tasks_from, handlers_from, .. }) => {
                let origin = task_origin;
                let bases: Vec<Arc<str>> = ctx.role.iter().map(|r| self.intern(source::parent(r))).collect();
                if let Some(dir) = self.find_role(name, ctx, &bases, &from_path, &origin) {
                    *role = Some(dir.clone());
                    self.used_roles.insert(dir.clone());
                    if !self.role_index.contains_key(&dir) {
                        self.load_role(dir.clone(), ctx.playbook_dir.clone());
                    }
                    let role_ctx = Ctx { role: Some(dir.clone()), ..ctx.clone() };
                    match tasks_from {
                        Some(r) => {
                            self.resolve_in_role(r, &dir, "tasks");
                            if let Target::Found { path } = &r.target {
                                let p = path.clone();
                                self.edge(from, GraphNode::Tasks(p.clone()), &origin);
                                self.queue.push_back(Work::Tasks(p, role_ctx.clone()));
                            }
                        }
                        None => self.edge(from, GraphNode::Role(dir.clone()), &origin),
                    }
                    if let Some(r) = handlers_from {
                        self.resolve_in_role(r, &dir, "handlers");
                        if let Target::Found { path } = &r.target {
                            self.queue.push_back(Work::Tasks(path.clone(), role_ctx));
                        }
                    }
                }
            }
            None => {}
        }
        for f in &mut action.files {
            self.resolve_ref(f, ctx, dir, loop_.as_deref(), None);
            let files: Vec<Arc<str>> = target_files(&f.target);
            match f.kind {
                RefKind::Vars | RefKind::VarsFiles => files.into_iter().for_each(|p| self.load_vars_file(p)),
                RefKind::VarsDir => {
                    for d in files {
                        let set = self.set;
                        let inside: Vec<String> =
                            set.files_under(&d).filter(|x| is_vars_name(&x.rel)).map(|x| x.rel.clone()).collect();
                        for p in inside {
                            let p = self.intern(&p);
                            self.load_vars_file(p);
                        }
                    }
                }
                RefKind::Template | RefKind::File => {
                    for p in files {
                        if self.payload_refs.insert(p.clone())
                            && let Some(prefetch) = &self.prefetch
                        {
                            let _ = prefetch.send(p);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// `tasks_from: x` / `handlers_from: x` inside role `dir` (`x`, `x.yml`, `x.yaml`, `x.json`).
    fn resolve_in_role(&mut self, r: &mut FileRef, dir: &str, sub: &str) {
        let written = r.written.clone();
        let origin = r.origin.clone();
        if is_template(&written) {
            r.target = Target::Templated { candidates: Vec::new() };
            let msg = format!("`{sub}_from: {written}` is named by a template, known only at run time");
            self.finding(codes::TEMPLATED_PATH, Severity::Info, &origin, msg);
            return;
        }
        let base = join(dir, sub);
        for ext in ["", ".yml", ".yaml", ".json"] {
            match source::resolve(&base, &format!("{written}{ext}")) {
                Ok(p) if self.set.is_file(&p) => {
                    r.target = Target::Found { path: self.intern(&p) };
                    return;
                }
                Ok(_) => {}
                Err(_) => {
                    r.target = Target::OutsideRepo;
                    let msg = FileProblem::EscapesRoot(written.clone()).message();
                    self.finding(codes::PATH_ESCAPES_ROOT, Severity::Error, &origin, format!("task file {msg}"));
                    return;
                }
            }
        }
        let searched = vec![join(&base, &written), join(&base, &format!("{written}.yml"))];
        let msg = format!("`{sub}_from: {written}` not found in role `{dir}` (searched {})", searched.join(", "));
        self.finding(codes::MISSING_FILE, Severity::Warning, &origin, msg);
        r.target = Target::Missing { searched };
    }

    // ---- references ------------------------------------------------------------

    /// Resolves a reference and reports what it found (missing, outside the
    /// repository, templated).
    fn resolve_ref(&mut self, r: &mut FileRef, ctx: &Ctx, dir: &str, loop_: Option<&Loop>, this: Option<&Arc<str>>) {
        self.lookup(r, ctx, dir, loop_, this);
        let origin = r.origin.clone();
        let what = describe(r.kind);
        match &r.target {
            Target::Missing { searched } => {
                let msg = format!("{what} `{}` not found (searched {})", r.written, searched_text(searched));
                self.finding(codes::MISSING_FILE, Severity::Warning, &origin, msg);
            }
            Target::OutsideRepo => self.report_outside(what, &r.written, &origin),
            Target::Templated { candidates } => {
                let n = candidates.len();
                let msg = format!(
                    "{what} `{}` is named by a template, known only at run time; {n} candidate file{} in the repository",
                    r.written,
                    if n == 1 { "" } else { "s" }
                );
                self.finding(codes::TEMPLATED_PATH, Severity::Info, &origin, msg);
            }
            Target::Found { .. } | Target::Pending => {}
        }
    }

    /// A reference outside the repository: an absolute path on the controller
    /// is not read (warning); a `..` path climbing out is refused (error).
    fn report_outside(&mut self, what: &str, written: &str, origin: &Origin) {
        if written.starts_with('/') || written.starts_with('~') {
            let msg =
                format!("{what} `{written}` is an absolute path on the controller, outside the repository; not read");
            self.finding(codes::PATH_ESCAPES_ROOT, Severity::Warning, origin, msg);
        } else {
            let msg = FileProblem::EscapesRoot(written.to_string()).message();
            self.finding(codes::PATH_ESCAPES_ROOT, Severity::Error, origin, format!("{what} {msg}"));
        }
    }

    /// Like `resolve_ref` but reports nothing (for `vars_files` choices,
    /// reported together).
    fn resolve_ref_quiet(&mut self, r: &mut FileRef, ctx: &Ctx, dir: &str, loop_: Option<&Loop>) {
        self.lookup(r, ctx, dir, loop_, None);
    }

    /// A `vars_files` entry: the first choice found is used; report only when
    /// none can be.
    fn report_first_found(&mut self, choices: &[FileRef], origin: &Origin) {
        if choices.iter().any(|c| matches!(c.target, Target::Found { .. })) {
            return;
        }
        for c in choices {
            match &c.target {
                Target::OutsideRepo => {
                    self.report_outside("vars file", &c.written, origin);
                    return;
                }
                Target::Templated { candidates } => {
                    let n = candidates.len();
                    let msg = format!(
                        "vars file `{}` is named by a template, known only at run time; {n} candidate file{} in the repository",
                        c.written,
                        if n == 1 { "" } else { "s" }
                    );
                    self.finding(codes::TEMPLATED_PATH, Severity::Info, origin, msg);
                    return;
                }
                _ => {}
            }
        }
        let names: Vec<String> = choices.iter().map(|c| format!("`{}`", c.written)).collect();
        let searched: Vec<String> = choices
            .iter()
            .flat_map(|c| match &c.target {
                Target::Missing { searched } => searched.clone(),
                _ => Vec::new(),
            })
            .collect();
        let msg = format!("vars file {} not found (searched {})", names.join(" or "), searched_text(&searched));
        self.finding(codes::MISSING_FILE, Severity::Warning, origin, msg);
    }

    /// Sets `r.target` by Ansible's search rules.
    fn lookup(&mut self, r: &mut FileRef, ctx: &Ctx, dir: &str, loop_: Option<&Loop>, this: Option<&Arc<str>>) {
        let set = self.set;
        let (written, anchored) = substitute_magic(&r.written, ctx);
        if written.starts_with('/') || written.starts_with('~') {
            r.target = Target::OutsideRepo;
            return;
        }
        if is_template(&written) {
            let candidates = self.candidates(&r.written, r.kind, ctx, dir, loop_, this);
            r.target = Target::Templated { candidates };
            return;
        }
        let dirs = if anchored { vec![String::new()] } else { search_dirs(r.kind, ctx, dir, &written) };
        let mut searched = Vec::new();
        for d in &dirs {
            match source::resolve(d, &written) {
                Ok(p) if exists(set, r.kind, &p) => {
                    r.target = Target::Found { path: self.intern(&p) };
                    return;
                }
                Ok(p) => searched.push(if p.is_empty() { ".".to_string() } else { p }),
                Err(_) => {
                    r.target = Target::OutsideRepo;
                    return;
                }
            }
        }
        dedup_keep_order(&mut searched);
        r.target = Target::Missing { searched };
    }

    /// The files a templated reference could name: each Jinja span read as a
    /// wildcard, or, for `{{ item }}`, each literal loop item.
    fn candidates(
        &mut self,
        written: &str,
        kind: RefKind,
        ctx: &Ctx,
        dir: &str,
        loop_: Option<&Loop>,
        this: Option<&Arc<str>>,
    ) -> Vec<Arc<str>> {
        let set = self.set;
        let mut patterns: Vec<String> = Vec::new();
        match loop_.map(loop_patterns) {
            Some(Some(items)) if ITEM_VAR.is_match(written) => {
                for item in items {
                    patterns.push(ITEM_VAR.replace_all(written, item.as_str()).into_owned());
                }
            }
            _ => patterns.push(written.to_string()),
        }
        let mut out: BTreeSet<String> = BTreeSet::new();
        for pattern in patterns {
            let (pattern, anchored) = substitute_magic(&pattern, ctx);
            if pattern.starts_with('/') || pattern.starts_with('~') {
                continue;
            }
            // Only the first existing search directory: where Ansible looks
            // first is where the author put the files (`vars/`, `templates/`).
            let dirs = if anchored { vec![String::new()] } else { search_dirs(kind, ctx, dir, &pattern) };
            let Some(base) = dirs.iter().find(|d| set.is_dir(d)) else { continue };
            let glob = JINJA_SPAN.replace_all(&pattern, "*").into_owned();
            // A pattern that is nothing but wildcards names nothing in particular,
            // except inside a role's own directories.
            let stem = glob.rsplit_once('.').map(|(s, _)| s).unwrap_or(&glob);
            if ctx.role.is_none() && !stem.bytes().any(|b| b.is_ascii_alphanumeric()) {
                continue;
            }
            let Ok(full) = source::resolve(base, &glob) else { continue };
            for p in glob_files(set, &full) {
                if out.len() >= MAX_CANDIDATES {
                    break;
                }
                out.insert(p);
            }
        }
        let mut result = Vec::new();
        for p in out {
            if this.is_some_and(|t| **t == *p) || !fits(set, kind, &p) {
                continue;
            }
            result.push(self.intern(&p));
        }
        result
    }

    // ---- vars ------------------------------------------------------------------

    fn load_vars_file(&mut self, path: Arc<str>) {
        if self.vars_files.contains_key(&path) {
            return;
        }
        let set = self.set;
        let Some(file) = set.get(&path) else { return };
        let text = match file.text() {
            Ok(t) => t,
            Err(p) => {
                self.findings.push(p.to_finding(&path));
                self.vars_files.insert(path.clone(), VarsFile { path, vars: Vec::new(), encrypted: None });
                return;
            }
        };
        let doc = if VaultHeader::parse(text).is_some() { None } else { self.doc(&path) };
        let vf = match self.parsed_vars.remove(&path) {
            Some((vf, findings)) => {
                self.findings.extend(findings);
                vf
            }
            None => {
                let mut cx = Cx::new(path.clone(), &mut self.findings);
                vars::parse_vars_file(text, doc, &mut cx)
            }
        };
        self.vars_files.insert(path, vf);
    }

    // ---- inventories and group/host vars -------------------------------------------

    fn load_inventories(&mut self) -> Vec<Inventory> {
        let set = self.set;
        let mut candidates: BTreeSet<String> = BTreeSet::new();
        for cfg in &self.configs {
            for p in &cfg.inventory {
                if set.is_file(p) {
                    candidates.insert(p.clone());
                } else if set.is_dir(p) {
                    candidates.extend(set.files_under(p).filter(|f| !is_vars_dir_file(&f.rel)).map(|f| f.rel.clone()));
                }
            }
        }
        for f in set.files() {
            if is_payload(&f.rel) || is_vars_dir_file(&f.rel) {
                continue;
            }
            let in_inventory_dir = f.rel.split('/').rev().skip(1).any(|c| c == "inventory" || c == "inventories");
            let ext = f.extension();
            if INVENTORY_NAMES.contains(&f.name())
                || (in_inventory_dir && matches!(ext.as_str(), "" | "ini" | "yml" | "yaml"))
            {
                candidates.insert(f.rel.clone());
            } else if matches!(ext.as_str(), "yml" | "yaml")
                && let Ok(docs) = f.yaml()
                && docs.docs.first().is_some_and(|d| d.get("all").is_some() && inventory::is_yaml_inventory(d))
            {
                candidates.insert(f.rel.clone());
            }
        }
        let mut out = Vec::new();
        for rel in candidates {
            let path = self.intern(&rel);
            let Some(file) = set.get(&rel) else { continue };
            let ext = file.extension();
            if matches!(ext.as_str(), "yml" | "yaml" | "json") {
                let Some(doc) = self.doc(&path) else { continue };
                // In an inventory directory, only inventory-shaped YAML counts.
                if inventory::plugin_name(doc).is_none() && !inventory::is_yaml_inventory(doc) {
                    let named = INVENTORY_NAMES.contains(&file.name());
                    if !named || doc.is_null() {
                        continue;
                    }
                }
                let mut cx = Cx::new(path, &mut self.findings);
                out.push(inventory::parse_yaml_inventory(doc, &mut cx));
            } else {
                match file.text() {
                    Ok(text) => {
                        if VaultHeader::parse(text).is_some() {
                            continue;
                        }
                        let mut cx = Cx::new(path, &mut self.findings);
                        out.push(inventory::parse_ini_inventory(text, &mut cx));
                    }
                    Err(p) => self.findings.push(p.to_finding(&rel)),
                }
            }
        }
        out
    }

    fn load_scoped_vars(&mut self) -> Vec<ScopedVars> {
        let set = self.set;
        let mut entries: BTreeMap<(String, Scope, String), Vec<String>> = BTreeMap::new();
        for f in set.files() {
            if is_payload(&f.rel) {
                continue;
            }
            let parts: Vec<&str> = f.rel.split('/').collect();
            let Some(i) = parts.iter().position(|c| *c == "group_vars" || *c == "host_vars") else { continue };
            if i + 1 >= parts.len() || !is_vars_name(&f.rel) {
                continue;
            }
            let scope = if parts[i] == "group_vars" { Scope::Group } else { Scope::Host };
            let entry = parts[i + 1];
            let name = if i + 2 == parts.len() { strip_vars_ext(entry) } else { entry };
            entries.entry((parts[..i].join("/"), scope, name.to_string())).or_default().push(f.rel.clone());
        }
        let mut out = Vec::new();
        for ((base, scope, name), files) in entries {
            let base_dir = self.intern(&base);
            let files: Vec<Arc<str>> = files.iter().map(|f| self.intern(f)).collect();
            for f in &files {
                self.load_vars_file(f.clone());
            }
            out.push(ScopedVars { base_dir, scope, name, files });
        }
        out
    }

    // ---- secrets ---------------------------------------------------------------------

    /// Every vault value of the repository: `ahead` holds those of the YAML files
    /// ([`scanned_ahead_paths`]); the vars files and `template`/`copy` sources the walk
    /// found besides them are scanned here.
    fn collect_secrets(&mut self, ahead: Vec<Secret>) -> Vec<Secret> {
        let set = self.set;
        // Path → the size a file must stay under to be looked at. Only small text files
        // can be vault ciphertext worth looking at among the `template`/`copy` sources;
        // the size is checked by the scan, from the opened file.
        let mut paths: BTreeMap<Arc<str>, Option<u64>> =
            self.vars_files.keys().filter(|p| !is_scanned_ahead(p)).map(|p| (p.clone(), None)).collect();
        for p in self.payload_refs.iter() {
            if !is_scanned_ahead(p) && set.get(p).is_some() {
                paths.entry(p.clone()).or_insert(Some(PAYLOAD_SCAN_LIMIT));
            }
        }
        let mut out = ahead;
        out.extend(scan_secrets(set, paths.into_iter().collect(), Some(&self.payload_refs)));
        out.sort();
        out.dedup();
        for s in &out {
            let msg = match (&s.whole_file, &s.key) {
                (true, _) => format!(
                    "file is Ansible Vault ciphertext ({}); treated as secret, not decrypted here",
                    vault_id_text(&s.vault_id)
                ),
                (false, Some(k)) => {
                    format!("`{k}` is an inline vault value ({}); treated as secret", vault_id_text(&s.vault_id))
                }
                (false, None) => format!("inline vault value ({}); treated as secret", vault_id_text(&s.vault_id)),
            };
            self.findings.push(Finding::info(codes::VAULT_ENCRYPTED, s.origin.path.to_string(), s.origin.line, msg));
        }
        out
    }

    // ---- cycles ----------------------------------------------------------------------

    /// Depth-first search over literal references; each back edge is a cycle,
    /// reported once at the reference that closes it.
    fn check_cycles(&mut self) {
        #[derive(Clone, Copy, PartialEq)]
        enum Color {
            Grey,
            Black,
        }
        let mut color: HashMap<GraphNode, Color> = HashMap::new();
        let roots: Vec<GraphNode> = self.edges.keys().cloned().collect();
        let mut found: Vec<Finding> = Vec::new();
        let empty = Vec::new();
        for root in roots {
            if color.contains_key(&root) {
                continue;
            }
            color.insert(root.clone(), Color::Grey);
            let mut stack: Vec<(GraphNode, usize)> = vec![(root, 0)];
            while let Some((node, i)) = stack.last().cloned() {
                let out = self.edges.get(&node).unwrap_or(&empty);
                if i >= out.len() {
                    color.insert(node, Color::Black);
                    stack.pop();
                    continue;
                }
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
                let (next, origin) = &out[i];
                match color.get(next) {
                    None => {
                        color.insert(next.clone(), Color::Grey);
                        stack.push((next.clone(), 0));
                    }
                    Some(Color::Grey) => {
                        let start = stack.iter().position(|(n, _)| n == next).unwrap_or(0);
                        let mut chain: Vec<String> = stack[start..].iter().map(|(n, _)| self.node_name(n)).collect();
                        chain.push(self.node_name(next));
                        found.push(Finding::warning(
                            codes::INCLUDE_CYCLE,
                            origin.path.to_string(),
                            origin.line,
                            format!("include cycle {}; not followed again", chain.join(" → ")),
                        ));
                    }
                    Some(Color::Black) => {}
                }
            }
        }
        self.findings.extend(found);
    }

    fn node_name(&self, n: &GraphNode) -> String {
        match n {
            GraphNode::Playbook(p) | GraphNode::Tasks(p) => p.to_string(),
            GraphNode::Role(d) => {
                let name = self.role_index.get(d).map(|&i| self.roles[i].name.as_str()).unwrap_or(d);
                format!("role `{name}`")
            }
        }
    }

    // ---- result ------------------------------------------------------------------------

    fn finish(
        mut self,
        (packer, packer_findings): (Vec<super::packer::PackerTemplate>, Vec<Finding>),
        inventories: Vec<Inventory>,
        scoped_vars: Vec<ScopedVars>,
        secrets: Vec<Secret>,
    ) -> Project {
        self.findings.extend(packer_findings);
        for r in &mut self.roles {
            r.used = self.used_roles.contains(&r.path);
        }
        self.roles.sort_by(|a, b| a.path.cmp(&b.path));
        let mut project = Project {
            playbooks: self.playbooks.into_values().collect(),
            roles: self.roles,
            task_files: self.task_files,
            vars_files: self.vars_files,
            inventories,
            scoped_vars,
            configs: self.configs,
            secrets,
            packer,
            findings: self.findings,
        };
        if project.is_empty() {
            project.findings.push(Finding::info(
                codes::NOT_PROVISIONING,
                "",
                0,
                "no playbook, role or inventory found; this does not look like an Ansible repository",
            ));
        }
        diagnostics::normalize(&mut project.findings);
        project
    }
}

// ---- helpers ------------------------------------------------------------------------------

/// True for the files whose vault values are looked for ahead of the walk: every YAML file
/// that is not a `template`/`copy` payload.
fn is_scanned_ahead(rel: &str) -> bool {
    is_yaml_name(rel) && !is_payload(rel)
}

fn scanned_ahead_paths(set: &SourceSet) -> Vec<(Arc<str>, Option<u64>)> {
    set.files().filter(|f| is_scanned_ahead(&f.rel)).map(|f| (Arc::from(f.rel.as_str()), None)).collect()
}

/// `template`/`copy` sources of this size or more are not looked at for vault ciphertext.
const PAYLOAD_SCAN_LIMIT: u64 = 1024 * 1024;

/// Reads the `template`/`copy` sources the walk sends, as [`Loader::collect_secrets`] will
/// ask for them (the same call: the scan then finds the text read), until the walk drops
/// the sender. Only when the reading happens changes.
fn prefetch_payload(set: &SourceSet, sources: mpsc::Receiver<Arc<str>>) {
    while let Ok(p) = sources.recv() {
        if !is_scanned_ahead(&p)
            && let Some(file) = set.get(&p)
        {
            let _ = file.text_within(PAYLOAD_SCAN_LIMIT);
        }
    }
}

/// The vault ciphertext of each file (whole files and inline `!vault` values), each file
/// read and scanned on its own, in parallel. A `payload` file that is not YAML is only
/// checked for being a whole vault file. A path with a limit is skipped when its file
/// is that large or larger.
fn scan_secrets(
    set: &SourceSet,
    paths: Vec<(Arc<str>, Option<u64>)>,
    payload: Option<&BTreeSet<Arc<str>>>,
) -> Vec<Secret> {
    let found: Vec<Vec<Secret>> = paths
        .into_par_iter()
        .map(|(p, limit)| {
            let mut out = Vec::new();
            let Some(file) = set.get(&p) else { return out };
            let text = match limit {
                Some(limit) => file.text_within(limit),
                None => Some(file.text()),
            };
            let Some(Ok(text)) = text else { return out };
            if let Some(h) = VaultHeader::parse(text) {
                let origin = Origin::new(p.clone(), 1);
                out.push(Secret { origin, key: None, whole_file: true, vault_id: h.vault_id });
                return out;
            }
            if payload.is_some_and(|payload| payload.contains(&p)) && !is_yaml_name(&p) {
                return out;
            }
            if let Ok(docs) = file.yaml() {
                for d in &docs.docs {
                    vars::inline_vault_values(d, &p, &mut out);
                }
            }
            out
        })
        .collect();
    found.into_iter().flatten().collect()
}

/// `tasks/main.yml`, `defaults/main/x.yml`, ...: a file that makes its
/// grandparent directory a role. `last` is true when `name` is the file itself.
fn is_role_main(sub: &str, name: &str, last: bool) -> bool {
    MAIN_SUBDIRS.contains(&sub) && (MAIN_NAMES.contains(&name) && last || name == "main" && !last)
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else if name.is_empty() {
        dir.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Drops repeated entries, keeping the first. The lists are a handful of
/// search directories, so a linear scan beats hashing.
fn dedup_keep_order(v: &mut Vec<String>) {
    let mut i = 0;
    while i < v.len() {
        if v[..i].contains(&v[i]) {
            v.remove(i);
        } else {
            i += 1;
        }
    }
}

fn me_path(n: &GraphNode) -> String {
    match n {
        GraphNode::Playbook(p) | GraphNode::Tasks(p) | GraphNode::Role(p) => p.to_string(),
    }
}

/// Files a target stands for (the found file, or the candidates).
fn target_files(t: &Target) -> Vec<Arc<str>> {
    match t {
        Target::Found { path } => vec![path.clone()],
        Target::Templated { candidates } => candidates.clone(),
        _ => Vec::new(),
    }
}

/// The first place searched and how many others, for messages.
fn searched_text(searched: &[String]) -> String {
    match searched {
        [] => "nowhere".into(),
        [one] => one.clone(),
        [first, rest @ ..] => {
            format!("{first} and {} other place{}", rest.len(), if rest.len() == 1 { "" } else { "s" })
        }
    }
}

fn describe(kind: RefKind) -> &'static str {
    match kind {
        RefKind::Playbook => "playbook",
        RefKind::Tasks => "task file",
        RefKind::Vars | RefKind::VarsFiles => "vars file",
        RefKind::VarsDir => "vars directory",
        RefKind::Template => "template",
        RefKind::File => "file",
        RefKind::Script => "script",
    }
}

fn vault_id_text(id: &Option<String>) -> String {
    match id {
        Some(id) => format!("vault id `{id}`"),
        None => "default vault id".into(),
    }
}

/// True for files under a `templates/` or `files/` directory: payload that
/// Ansible copies or templates, not Ansible content.
fn is_payload(rel: &str) -> bool {
    let Some((dirs, _)) = rel.rsplit_once('/') else { return false };
    dirs.split('/').any(|p| p == "templates" || p == "files")
}

/// YAML by name: `.yml`/`.yaml`, or an extensionless or `.json` file under
/// `group_vars/`/`host_vars/`.
fn is_yaml_name(rel: &str) -> bool {
    let ext = extension(rel);
    ext.eq_ignore_ascii_case("yml") || ext.eq_ignore_ascii_case("yaml") || (is_vars_dir_file(rel) && is_vars_name(rel))
}

/// The extension of the file name, as written (`""` for none or a dot-file's name).
/// Compared without copying it to lower case: these run for every file, several times.
fn extension(rel: &str) -> &str {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.rfind('.').filter(|&i| i > 0).map_or("", |i| &name[i + 1..])
}

/// True for files under `group_vars/` or `host_vars/`.
fn is_vars_dir_file(rel: &str) -> bool {
    rel.split('/').rev().skip(1).any(|c| c == "group_vars" || c == "host_vars")
}

/// Files Ansible reads as variables: `.yml`, `.yaml`, `.json` or no
/// extension; never hidden or backup files.
fn is_vars_name(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    if name.starts_with('.') || name.ends_with('~') {
        return false;
    }
    let ext = extension(rel);
    VARS_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext))
}

fn strip_vars_ext(name: &str) -> &str {
    for ext in [".yml", ".yaml", ".json"] {
        if let Some(s) = name.strip_suffix(ext) {
            return s;
        }
    }
    name
}

/// Whether a candidate file of a templated reference can be what the
/// reference needs: a list of tasks (not a playbook), a mapping of variables
/// (or vault ciphertext), a playbook. Templates and files can be anything.
fn fits(set: &SourceSet, kind: RefKind, p: &str) -> bool {
    let doc = || set.get(p).and_then(|f| f.yaml().ok()).and_then(|d| d.docs.first());
    match kind {
        RefKind::Tasks => is_vars_name(p) && doc().is_some_and(|d| d.as_seq().is_some() && !playbook::is_playbook(d)),
        RefKind::Playbook => is_vars_name(p) && doc().is_some_and(playbook::is_playbook),
        RefKind::Vars | RefKind::VarsFiles => {
            let vault = set.get(p).and_then(|f| f.text().ok()).is_some_and(|t| VaultHeader::parse(t).is_some());
            is_vars_name(p) && (vault || doc().is_some_and(|d| d.as_map().is_some() || d.is_null()))
        }
        RefKind::VarsDir | RefKind::Template | RefKind::File | RefKind::Script => true,
    }
}

fn exists(set: &SourceSet, kind: RefKind, p: &str) -> bool {
    match kind {
        RefKind::VarsDir => set.is_dir(p),
        RefKind::File => set.is_file(p) || set.is_dir(p),
        _ => set.is_file(p),
    }
}

/// `{{ role_path }}/x` and `{{ playbook_dir }}/x` become repo-relative paths.
/// Returns the path and whether it is now anchored at the repository root.
fn substitute_magic(written: &str, ctx: &Ctx) -> (String, bool) {
    let Some(caps) = MAGIC_VAR.captures(written) else { return (written.to_string(), false) };
    let base: &str = match &caps[1] {
        "role_path" => match &ctx.role {
            Some(r) => r,
            None => return (written.to_string(), false),
        },
        _ => &ctx.playbook_dir,
    };
    let rest = &written[caps[0].len()..];
    (join(base, rest), true)
}

/// Where Ansible looks for a relative path of this kind, in order
/// (`path_dwim_relative_stack`): the role's `<sub>/` and the role, the
/// including file's directory (and, for a file in a `tasks/` directory, the
/// directory above it, as Ansible 1 did), then the playbook directory. A
/// path that already starts with `<sub>/` is not looked up under `<sub>/` again.
fn search_dirs(kind: RefKind, ctx: &Ctx, dir: &str, written: &str) -> Vec<String> {
    let sub = kind.role_dir();
    let pd: &str = &ctx.playbook_dir;
    let mut dirs = Vec::new();
    match kind {
        RefKind::Playbook => dirs.push(dir.to_string()),
        RefKind::VarsFiles => dirs.push(pd.to_string()),
        RefKind::Tasks => {
            if let Some(r) = &ctx.role {
                dirs.push(join(r, "tasks"));
                dirs.push(r.to_string());
            }
            dirs.push(dir.to_string());
            if ctx.role.is_none() {
                dirs.push(pd.to_string());
            }
        }
        _ => {
            let spelled = written.split('/').next() == Some(sub);
            let add = |base: &str, dirs: &mut Vec<String>| {
                if !spelled {
                    dirs.push(join(base, sub));
                }
                dirs.push(base.to_string());
            };
            if let Some(r) = &ctx.role {
                add(r, &mut dirs);
            }
            if dir == "tasks" || dir.ends_with("/tasks") {
                add(source::parent(dir), &mut dirs);
            }
            add(dir, &mut dirs);
            add(pd, &mut dirs);
        }
    }
    dedup_keep_order(&mut dirs);
    dirs
}

/// Literal path patterns from a loop: plain string items, and the `files`
/// (joined with `paths`) of `with_first_found`'s mapping form.
fn loop_patterns(l: &Loop) -> Option<Vec<String>> {
    use super::value::Value;
    let mut out = Vec::new();
    let add_item = |v: &Value, out: &mut Vec<String>| -> bool {
        match v {
            Value::Str(s) => {
                out.push(s.clone());
                true
            }
            Value::Map(m) => {
                let list = |key: &str| -> Vec<String> {
                    match m.get(key) {
                        Some(Value::List(items)) => items.iter().filter_map(|i| i.as_str().map(String::from)).collect(),
                        Some(Value::Str(s)) => s.split([',', ';']).map(|x| x.trim().to_string()).collect(),
                        _ => Vec::new(),
                    }
                };
                let files = list("files");
                let mut paths = list("paths");
                if paths.is_empty() {
                    paths.push(String::new());
                }
                for p in &paths {
                    for f in &files {
                        out.push(join(p, f));
                    }
                }
                !files.is_empty()
            }
            _ => false,
        }
    };
    match &l.items {
        super::value::Value::List(items) => {
            for i in items {
                if !add_item(i, &mut out) {
                    return None;
                }
            }
        }
        v @ super::value::Value::Map(_) => {
            if !add_item(v, &mut out) {
                return None;
            }
        }
        _ => return None,
    }
    Some(out)
}

/// Files matching a `/`-separated pattern whose segments may hold `*`.
fn glob_files(set: &SourceSet, pattern: &str) -> Vec<String> {
    let segs: Vec<&str> = pattern.split('/').collect();
    let Some(first_wild) = segs.iter().position(|s| s.contains('*')) else {
        return if set.is_file(pattern) { vec![pattern.to_string()] } else { Vec::new() };
    };
    let prefix = segs[..first_wild].join("/");
    let matches = |rel: &str| {
        let parts: Vec<&str> = rel.split('/').collect();
        parts.len() == segs.len() && parts.iter().zip(&segs).all(|(p, s)| glob_match(s, p))
    };
    if first_wild == segs.len() - 1 {
        set.files_in(&prefix).map(|f| f.rel.clone()).filter(|r| matches(r)).collect()
    } else {
        set.files_under(&prefix).map(|f| f.rel.clone()).filter(|r| matches(r)).collect()
    }
}

/// `*` matches any run of characters (within one path segment).
fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds the model of a repository written to a temp directory.
    fn project(files: &[(&str, &str)]) -> Project {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let set = SourceSet::load(dir.path()).unwrap();
        super::super::build(&set)
    }

    fn lines(p: &Project) -> Vec<String> {
        p.findings.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn role_layouts_main_yaml_and_main_directories() {
        let p = project(&[
            ("site.yml", "- hosts: all\n  roles: [db]\n"),
            ("roles/db/tasks/main.yaml", "- package: name=postgresql\n"),
            ("roles/db/handlers/main.yml", "- name: restart db\n  service: name=postgresql state=restarted\n"),
            ("roles/db/defaults/main/a.yml", "a: 1\n"),
            ("roles/db/defaults/main/b.yml", "b: 2\n"),
            ("roles/db/vars/main.yml", "v: 3\n"),
            ("roles/db/meta/main.yml", "dependencies:\n  - role: base\n    when: x\n"),
            ("roles/base/tasks/main.yml", "- ping:\n"),
        ]);
        assert!(p.findings.is_empty(), "{:?}", lines(&p));
        let db = p.role("roles/db").unwrap();
        assert_eq!(db.tasks.as_deref(), Some("roles/db/tasks/main.yaml"));
        assert_eq!(db.handlers.as_deref(), Some("roles/db/handlers/main.yml"));
        assert_eq!(db.defaults.len(), 2);
        assert_eq!(db.vars.len(), 1);
        assert_eq!(db.dependencies[0].role.as_deref(), Some("roles/base"));
        assert_eq!(db.dependencies[0].when, vec!["x"]);
        assert!(p.role("roles/base").unwrap().used);
        assert_eq!(p.vars_files["roles/db/defaults/main/b.yml"].vars[0].name, "b");
        assert_eq!(p.task_files["roles/db/handlers/main.yml"].role.as_deref(), Some("roles/db"));
    }

    #[test]
    fn include_role_tasks_from_and_collection_roles() {
        let p = project(&[
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - include_role: name=web tasks_from=vhost\n    - import_role:\n        name: acme.tools.lint\n",
            ),
            ("roles/web/tasks/main.yml", "- ping:\n"),
            ("roles/web/tasks/vhost.yml", "- template: src=vhost.j2 dest=/etc/vhost\n"),
            ("roles/web/templates/vhost.j2", "x\n"),
            ("collections/ansible_collections/acme/tools/roles/lint/tasks/main.yml", "- command: lint\n"),
        ]);
        assert!(p.findings.is_empty(), "{:?}", lines(&p));
        let play = p.playbooks[0].plays().next().unwrap();
        let Some(Include::Role { role, tasks_from, .. }) = play.tasks[0].action().unwrap().include.as_deref() else {
            panic!()
        };
        assert_eq!(role.as_deref(), Some("roles/web"));
        assert_eq!(tasks_from.as_ref().unwrap().target.path().map(|p| &**p), Some("roles/web/tasks/vhost.yml"));
        let Some(Include::Role { role, .. }) = play.tasks[1].action().unwrap().include.as_deref() else { panic!() };
        assert_eq!(role.as_deref(), Some("collections/ansible_collections/acme/tools/roles/lint"));
        let vhost = &p.task_files["roles/web/tasks/vhost.yml"];
        let src = &vhost.tasks[0].action().unwrap().files[0];
        assert_eq!(src.target.path().map(|p| &**p), Some("roles/web/templates/vhost.j2"));
    }

    #[test]
    fn a_task_file_is_loaded_once_however_often_included() {
        let p = project(&[
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - include_tasks: common.yml\n    - include_tasks: common.yml\n    - import_tasks: ./common.yml\n",
            ),
            ("common.yml", "- debug: msg=hi\n"),
        ]);
        assert!(p.findings.is_empty(), "{:?}", lines(&p));
        assert_eq!(p.task_files.len(), 1);
    }

    #[test]
    fn vars_files_first_found_and_ansible_cfg_roles_path() {
        let p = project(&[
            ("ansible.cfg", "[defaults]\nroles_path = ../shared-roles:vendor\n"),
            (
                "site.yml",
                "- hosts: all\n  vars_files:\n    - [\"vars/{{ env }}.yml\", vars/default.yml]\n    - [vars/none.yml, vars/also-none.yml]\n  roles: [ntp]\n",
            ),
            ("vars/default.yml", "a: 1\n"),
            ("vendor/ntp/tasks/main.yml", "- service: name=ntp state=started\n"),
        ]);
        assert_eq!(
            lines(&p),
            vec![
                "site.yml:4 M005 warning: vars file `vars/none.yml` or `vars/also-none.yml` not found (searched vars/none.yml and 1 other place)",
            ]
        );
        assert!(p.role("vendor/ntp").unwrap().used);
        assert_eq!(p.configs[0].roles_path, vec!["vendor"]);
    }

    #[test]
    fn globbing() {
        assert!(glob_match("setup-*.yml", "setup-Debian.yml"));
        assert!(glob_match("*", "x"));
        assert!(glob_match("*-*.yml", "RedHat-9.yml"));
        assert!(!glob_match("setup-*.yml", "main.yml"));
    }

    #[test]
    fn payload_and_yaml_names() {
        assert!(is_payload("roles/x/templates/a.yml"));
        assert!(is_payload("files/a.yml"));
        assert!(!is_payload("roles/x/tasks/files.yml"));
        assert!(is_yaml_name("group_vars/all"));
        assert!(is_yaml_name("host_vars/web1/vars.json"));
        assert!(!is_yaml_name("hosts"));
        assert!(is_yaml_name("site.yaml"));
    }

    #[test]
    fn search_orders() {
        let role = Ctx { role: Some(Arc::from("roles/web")), playbook_dir: Arc::from(""), collections: Arc::from([]) };
        assert_eq!(
            search_dirs(RefKind::Template, &role, "roles/web/tasks", "a.j2"),
            vec!["roles/web/templates", "roles/web", "roles/web/tasks/templates", "roles/web/tasks", "templates", "",]
        );
        assert_eq!(
            search_dirs(RefKind::Template, &role, "roles/web/tasks", "templates/a.j2"),
            vec!["roles/web", "roles/web/tasks", "",]
        );
        let play = Ctx { role: None, playbook_dir: Arc::from("pb"), collections: Arc::from([]) };
        assert_eq!(search_dirs(RefKind::Tasks, &play, "pb/tasks", "x.yml"), vec!["pb/tasks", "pb"]);
        // A task file in a role's tasks/ directory, included from a playbook.
        assert_eq!(
            search_dirs(RefKind::File, &play, "pb/roles/db/tasks", "x")[..2],
            ["pb/roles/db/files", "pb/roles/db"]
        );
        let (p, anchored) = substitute_magic("{{ role_path }}/files/x", &role);
        assert_eq!((p.as_str(), anchored), ("roles/web/files/x", true));
        let (p, anchored) = substitute_magic("{{playbook_dir}}/vars.yml", &play);
        assert_eq!((p.as_str(), anchored), ("pb/vars.yml", true));
    }

    #[test]
    fn template_and_copy_sources_are_scanned_for_vault_files_under_the_size_limit() {
        let vault = "$ANSIBLE_VAULT;1.2;AES256;prod\n6162\n";
        let big = format!("$ANSIBLE_VAULT;1.1;AES256\n{}\n", "6".repeat(PAYLOAD_SCAN_LIMIT as usize));
        let mut files: Vec<(String, String)> = vec![
            ("site.yml".into(), "- hosts: all\n  roles: [app]\n".into()),
            ("roles/app/templates/small.j2".into(), vault.into()),
            ("roles/app/files/big.bin".into(), big),
            ("roles/app/files/plain.txt".into(), "hello\n".into()),
        ];
        let mut tasks = String::from(
            "- template: src=small.j2 dest=/a\n- copy: src=big.bin dest=/b\n- copy: src=plain.txt dest=/c\n",
        );
        // Enough sources that the reader beside the walk has work while the walk goes on.
        for i in 0..200 {
            files.push((format!("roles/app/templates/t{i}.j2"), if i % 50 == 7 { vault.into() } else { "x\n".into() }));
            tasks.push_str(&format!("- template: src=t{i}.j2 dest=/t{i}\n"));
        }
        files.push(("roles/app/tasks/main.yml".into(), tasks));
        let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let p = project(&refs);
        let found: Vec<(&str, bool, Option<&str>)> =
            p.secrets.iter().map(|s| (&*s.origin.path, s.whole_file, s.vault_id.as_deref())).collect();
        assert_eq!(
            found,
            [
                ("roles/app/templates/small.j2", true, Some("prod")),
                ("roles/app/templates/t107.j2", true, Some("prod")),
                ("roles/app/templates/t157.j2", true, Some("prod")),
                ("roles/app/templates/t57.j2", true, Some("prod")),
                ("roles/app/templates/t7.j2", true, Some("prod")),
            ]
        );
    }

    #[test]
    fn name_tests_without_copies_agree_with_the_copying_ones() {
        // The versions before they stopped allocating: the oracle.
        fn old_is_payload(rel: &str) -> bool {
            let mut parts: Vec<&str> = rel.split('/').collect();
            parts.pop();
            parts.iter().any(|p| *p == "templates" || *p == "files")
        }
        fn old_ext(rel: &str) -> String {
            let name = rel.rsplit('/').next().unwrap_or(rel);
            name.rfind('.').filter(|&i| i > 0).map(|i| name[i + 1..].to_ascii_lowercase()).unwrap_or_default()
        }
        fn old_is_vars_name(rel: &str) -> bool {
            let name = rel.rsplit('/').next().unwrap_or(rel);
            if name.starts_with('.') || name.ends_with('~') {
                return false;
            }
            VARS_EXTENSIONS.contains(&old_ext(rel).as_str())
        }
        fn old_is_yaml_name(rel: &str) -> bool {
            matches!(old_ext(rel).as_str(), "yml" | "yaml") || (is_vars_dir_file(rel) && old_is_vars_name(rel))
        }
        let dirs = ["", "templates/", "files/", "roles/a/templates/x/", "group_vars/", "a/host_vars/b/", "tfiles/"];
        let names = [
            "main.yml",
            "MAIN.YML",
            "x.Yaml",
            "x.json",
            "x.JSON",
            "all",
            ".hidden.yml",
            "x.yml~",
            "a.b.yml",
            "x.",
            ".",
            "templates",
            "files",
            "x.j2",
            "x.yamlx",
            "ß.yml",
            "x.ÝML",
            "",
        ];
        let mut checked = 0;
        for d in dirs {
            for n in names {
                let rel = format!("{d}{n}");
                assert_eq!(is_payload(&rel), old_is_payload(&rel), "{rel}");
                assert_eq!(is_vars_name(&rel), old_is_vars_name(&rel), "{rel}");
                assert_eq!(is_yaml_name(&rel), old_is_yaml_name(&rel), "{rel}");
                checked += 1;
            }
        }
        assert_eq!(checked, dirs.len() * names.len());
    }
}
