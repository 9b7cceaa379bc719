//! The inventory of an environment and the group and host variables a play sees.
//!
//! `--env NAME` → `migrate.yaml` `environments.NAME.inventory`, else the
//! conventional `inventories/NAME/` (any inventory whose directory is named
//! NAME) or an inventory file named `NAME`, `NAME.ini`, `NAME.yml`. Without
//! `--env`, the only inventory, or `ansible.cfg`'s `inventory =`.
//!
//! Group variables follow Ansible's order: `all`, then groups by depth (parents
//! before children) and name; within a group, the inventory file's own vars,
//! then `group_vars/` beside the inventory, then beside the playbook. Host
//! variables are those of the group's first host.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::config::Config;
use crate::diagnostics::{Finding, Severity, codes};
use crate::model::Project;
use crate::model::inventory::{Group, Host, Inventory};
use crate::model::vars::{Scope, ScopedVars};
use crate::source::SourceSet;
use crate::source::vault::VaultPasswords;

use super::ResolveError;

/// The environment names an inventory answers to: its directory's name (when
/// not the repository root or a generic `inventory`/`inventories` folder) and
/// its file stem.
fn names_of(inv: &Inventory) -> Vec<String> {
    let path: &str = &inv.path;
    let mut out = Vec::new();
    let parent = crate::source::parent(path);
    let dir = parent.rsplit('/').next().unwrap_or("");
    if !dir.is_empty() && !matches!(dir, "inventory" | "inventories" | "hosts") {
        out.push(dir.to_string());
    }
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    if !stem.is_empty() && !matches!(stem, "hosts" | "inventory" | "main") {
        out.push(stem.to_string());
    }
    out
}

/// Every environment name the repository knows, sorted.
pub fn known_envs(project: &Project, config: &Config) -> Vec<String> {
    let mut names: BTreeSet<String> = config.environments.keys().cloned().collect();
    for inv in &project.inventories {
        names.extend(names_of(inv));
    }
    names.into_iter().collect()
}

/// An inventory the loader did not pick up because nothing marks it as one
/// (`migrate.yaml` names it, or it is a file named after the environment):
/// `NAME`, `NAME.ini`, `NAME.yml`, `NAME.yaml` anywhere outside vars directories.
pub fn load_extra(project: &Project, set: &SourceSet, config: &Config, env: Option<&str>) -> Option<Inventory> {
    let name = env?;
    let loaded = |p: &str| project.inventories.iter().any(|i| *i.path == *p || crate::source::parent(&i.path) == p);
    let mut wanted: Vec<String> = Vec::new();
    if let Some(e) = config.environments.get(name) {
        let p = e.inventory.trim_end_matches('/').trim_start_matches("./").to_string();
        if loaded(&p) {
            return None;
        }
        if set.is_dir(&p) {
            wanted.extend(set.files_in(&p).map(|f| f.rel.clone()));
        } else {
            wanted.push(p);
        }
    } else {
        if project.inventories.iter().any(|i| names_of(i).iter().any(|n| n == name)) {
            return None;
        }
        let names = [name.to_string(), format!("{name}.ini"), format!("{name}.yml"), format!("{name}.yaml")];
        let mut files: Vec<String> = set
            .files()
            .filter(|f| names.iter().any(|n| n == f.name()))
            .filter(|f| !f.rel.split('/').any(|c| matches!(c, "group_vars" | "host_vars" | "vars" | "defaults")))
            .map(|f| f.rel.clone())
            .collect();
        files.sort_by_key(|f| (f.matches('/').count(), f.clone()));
        wanted.extend(files);
    }
    wanted.iter().find_map(|p| parse(set, p))
}

fn parse(set: &SourceSet, path: &str) -> Option<Inventory> {
    let file = set.get(path)?;
    let mut ignored = Vec::new();
    let mut cx = crate::model::Cx::new(Arc::from(path), &mut ignored);
    let inv = if matches!(file.extension().as_str(), "yml" | "yaml") {
        let doc = file.yaml().ok()?.docs.first()?;
        if !crate::model::inventory::is_yaml_inventory(doc) {
            return None;
        }
        crate::model::inventory::parse_yaml_inventory(doc, &mut cx)
    } else {
        crate::model::inventory::parse_ini_inventory(file.text().ok()?, &mut cx)
    };
    inv.groups.iter().any(|g| !g.hosts.is_empty()).then_some(inv)
}

/// The inventory of `env` (see the module docs). `extra`: from [`load_extra`].
pub fn choose<'p>(
    project: &'p Project,
    extra: Option<&'p Inventory>,
    config: &Config,
    env: Option<&str>,
    findings: &mut Vec<Finding>,
) -> Result<Option<&'p Inventory>, ResolveError> {
    let info = |message: String| Finding::new(codes::INVENTORY_CHOICE, Severity::Info, "", 0, message);
    let Some(name) = env else {
        let from_cfg = project.configs.iter().flat_map(|c| {
            c.inventory.iter().map(move |i| crate::source::resolve(c.dir(), i.trim_end_matches('/')).ok())
        });
        let mut chosen: Option<&Inventory> = None;
        for p in from_cfg.flatten() {
            chosen = project.inventories.iter().find(|i| *i.path == p || crate::source::parent(&i.path) == p);
            if chosen.is_some() {
                break;
            }
        }
        if chosen.is_none() && project.inventories.len() == 1 {
            chosen = project.inventories.first();
        }
        match chosen {
            Some(inv) => findings.push(info(format!("no --env given: using the inventory `{}`", inv.path))),
            None if project.inventories.is_empty() => {
                findings.push(info("no inventory in the repository: only role, play and extra variables apply".into()))
            }
            None => findings.push(Finding::new(
                codes::INVENTORY_CHOICE,
                Severity::Warning,
                "",
                0,
                format!(
                    "{} inventories and no --env: no group or host variables apply (choose one of: {})",
                    project.inventories.len(),
                    known_envs(project, &Config::default()).join(", ")
                ),
            )),
        }
        return Ok(chosen);
    };
    if let Some(e) = config.environments.get(name) {
        let wanted = e.inventory.trim_end_matches('/').trim_start_matches("./");
        let all = || project.inventories.iter().chain(extra);
        let inv =
            all().find(|i| *i.path == *wanted).or_else(|| all().find(|i| crate::source::parent(&i.path) == wanted));
        return match inv {
            Some(inv) => {
                findings.push(info(format!("environment `{name}`: inventory `{}` (migrate.yaml)", inv.path)));
                Ok(Some(inv))
            }
            None => Err(ResolveError::MissingInventory { name: name.into(), path: e.inventory.clone() }),
        };
    }
    let mut matches: Vec<&Inventory> =
        project.inventories.iter().chain(extra).filter(|i| names_of(i).iter().any(|n| n == name)).collect();
    // `inventories/NAME/` beats a file that merely shares the name.
    matches.sort_by_key(|i| (!i.path.starts_with(&format!("inventories/{name}/")), i.path.len(), i.path.clone()));
    match matches.first() {
        Some(inv) => {
            findings.push(info(format!("environment `{name}`: inventory `{}`", inv.path)));
            Ok(Some(*inv))
        }
        None => Err(ResolveError::UnknownEnv { name: name.into(), known: known_envs(project, config) }),
    }
}

/// The groups of an inventory, with `all` (implicit or written) and depth.
pub struct Groups<'a> {
    pub inv: &'a Inventory,
    by_name: BTreeMap<&'a str, &'a Group>,
    /// Parent names of each group.
    parents: BTreeMap<&'a str, BTreeSet<&'a str>>,
    /// Each host's first entry in inventory order and the groups listing it: looked up once
    /// per play, so a scan of the whole inventory would make the walk quadratic in plays.
    host_entries: BTreeMap<&'a str, (&'a Host, Vec<&'a str>)>,
}

impl<'a> Groups<'a> {
    pub fn new(inv: &'a Inventory) -> Groups<'a> {
        let mut by_name = BTreeMap::new();
        let mut parents: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut host_entries: BTreeMap<&str, (&Host, Vec<&str>)> = BTreeMap::new();
        for g in &inv.groups {
            by_name.insert(g.name.as_str(), g);
            for c in &g.children {
                parents.entry(c.as_str()).or_default().insert(g.name.as_str());
            }
            for h in &g.hosts {
                let entry = host_entries.entry(h.name.as_str()).or_insert_with(|| (h, Vec::new()));
                if entry.1.last() != Some(&g.name.as_str()) {
                    entry.1.push(g.name.as_str());
                }
            }
        }
        Groups { inv, by_name, parents, host_entries }
    }

    fn depth(&self, name: &str, guard: usize) -> usize {
        if name == "all" || guard > 64 {
            return 0;
        }
        match self.parents.get(name) {
            Some(ps) => ps.iter().map(|p| self.depth(p, guard + 1) + 1).max().unwrap_or(1),
            None => 1,
        }
    }

    /// Hosts of a group and of its children, in inventory order, each once.
    pub fn hosts(&self, group: &str) -> Vec<&'a str> {
        let mut out: Vec<&str> = Vec::new();
        let mut stack = vec![group];
        let mut seen = BTreeSet::new();
        while let Some(g) = stack.pop() {
            if !seen.insert(g) {
                continue;
            }
            if g == "all" {
                for gr in &self.inv.groups {
                    for h in &gr.hosts {
                        if !out.contains(&h.name.as_str()) {
                            out.push(&h.name);
                        }
                    }
                }
                continue;
            }
            if let Some(gr) = self.by_name.get(g) {
                for h in &gr.hosts {
                    if !out.contains(&h.name.as_str()) {
                        out.push(&h.name);
                    }
                }
                for c in gr.children.iter().rev() {
                    stack.push(c);
                }
            }
        }
        out
    }

    /// Every group containing `host`, with its ancestors, ordered `all` first,
    /// then by depth and name (Ansible's order).
    pub fn groups_of_host(&self, host: &str) -> Vec<&'a str> {
        let mut set: BTreeSet<&str> = BTreeSet::new();
        if let Some((_, groups)) = self.host_entries.get(host) {
            for g in groups {
                self.ancestors(g, &mut set);
            }
        }
        self.ordered(set)
    }

    /// A group with its ancestors, ordered.
    pub fn chain(&self, group: &str) -> Vec<&'a str> {
        let mut set = BTreeSet::new();
        if let Some((name, _)) = self.by_name.get_key_value(group) {
            self.ancestors(name, &mut set);
        }
        self.ordered(set)
    }

    fn ancestors(&self, name: &'a str, set: &mut BTreeSet<&'a str>) {
        if !set.insert(name) {
            return;
        }
        if let Some(ps) = self.parents.get(name) {
            for p in ps {
                self.ancestors(p, set);
            }
        }
    }

    fn ordered(&self, set: BTreeSet<&'a str>) -> Vec<&'a str> {
        let mut v: Vec<&str> = set.into_iter().filter(|g| *g != "all").collect();
        v.sort_by_key(|g| (self.depth(g, 0), *g));
        let mut out = vec!["all"];
        out.extend(v);
        out
    }

    /// The first entry of `name` in inventory order (the one whose inline variables count).
    pub fn host(&self, name: &str) -> Option<&'a Host> {
        self.host_entries.get(name).map(|(h, _)| *h)
    }

    pub fn group(&self, name: &str) -> Option<&'a Group> {
        self.by_name.get(name).copied()
    }

    pub fn is_group(&self, name: &str) -> bool {
        name == "all" || self.by_name.contains_key(name)
    }

    /// The groups and hosts a `hosts:` pattern selects: groups by name (or
    /// `all`/`*`), hosts by name; `!x` exclusions and `&x` intersections are
    /// read as the positive names (the image bakes what the group gets).
    pub fn select(&self, pattern: &str) -> (Vec<String>, Vec<String>) {
        let mut groups = Vec::new();
        let mut hosts = Vec::new();
        for part in pattern.split([':', ',']).map(str::trim).filter(|p| !p.is_empty()) {
            if part.starts_with('!') {
                continue;
            }
            let part = part.trim_start_matches('&');
            if part == "*" || part == "all" {
                groups.push("all".to_string());
            } else if self.is_group(part) {
                groups.push(part.to_string());
            } else if part.contains('*') {
                let re = regex::Regex::new(&format!("^{}$", regex::escape(part).replace("\\*", ".*"))).ok();
                for g in &self.inv.groups {
                    if re.as_ref().is_some_and(|r| r.is_match(&g.name)) {
                        groups.push(g.name.clone());
                    }
                }
            } else if self.inv.groups.iter().any(|g| g.hosts.iter().any(|h| h.name == part)) {
                hosts.push(part.to_string());
            }
        }
        groups.dedup();
        (groups, hosts)
    }
}

/// Files of `group_vars/NAME` or `host_vars/NAME` under `base_dir`.
/// `group_vars/` and `host_vars/` entries by group or host name, in the project's order:
/// the walk asks for a few names per play, so a scan of every entry would make it
/// quadratic in plays (one group per play in large repositories).
pub struct ScopedIndex<'p>(BTreeMap<&'p str, Vec<&'p ScopedVars>>);

impl<'p> ScopedIndex<'p> {
    pub fn new(project: &'p Project) -> ScopedIndex<'p> {
        let mut by_name: BTreeMap<&str, Vec<&ScopedVars>> = BTreeMap::new();
        for s in &project.scoped_vars {
            by_name.entry(s.name.as_str()).or_default().push(s);
        }
        ScopedIndex(by_name)
    }

    /// The files of `name`'s entries of `scope` under `base_dir`, in the project's order.
    pub fn files(&self, base_dir: &str, scope: Scope, name: &str) -> Vec<&'p Arc<str>> {
        let Some(entries) = self.0.get(name) else { return Vec::new() };
        entries.iter().filter(|s| s.scope == scope && &*s.base_dir == base_dir).flat_map(|s| s.files.iter()).collect()
    }
}

/// Names of inventory variables whose values differ between the repository's
/// inventories (or exist in only some): rendered at container start, not baked.
/// Compares the written values (and vault ciphertext presence), which is cheap
/// and needs no password.
pub fn env_specific(project: &Project, _set: &SourceSet, _vault: &VaultPasswords) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if project.inventories.len() < 2 {
        return out;
    }
    // name -> inventory index -> written value
    let mut seen: BTreeMap<String, BTreeMap<usize, String>> = BTreeMap::new();
    for (i, inv) in project.inventories.iter().enumerate() {
        let base = crate::source::parent(&inv.path);
        for g in &inv.groups {
            for v in &g.vars {
                seen.entry(v.name.clone()).or_default().insert(i, v.value.to_json().to_string());
            }
        }
        for s in project.scoped_vars.iter().filter(|s| &*s.base_dir == base && s.scope == Scope::Group) {
            for f in &s.files {
                if let Some(vf) = project.vars_files.get(f) {
                    for v in &vf.vars {
                        // Vault values always count as secrets, never as per-environment settings.
                        if v.is_secret() {
                            continue;
                        }
                        seen.entry(v.name.clone()).or_default().insert(i, v.value.to_json().to_string());
                    }
                }
            }
        }
    }
    let n = project.inventories.len();
    for (name, per) in seen {
        let distinct: BTreeSet<&String> = per.values().collect();
        if distinct.len() > 1 || per.len() < n {
            out.insert(name);
        }
    }
    out
}
