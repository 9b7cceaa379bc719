//! Resolution: the model evaluated for one environment, as Ansible would run it.
//!
//! Owns: choosing the inventory for `--env` ([`inventory`]), the entry
//! playbooks, Ansible's variable precedence (role defaults < inventory group
//! vars, parents before children < host_vars < play vars < vars_files < role
//! vars < block vars < task vars < include and role params < set_fact < extra
//! vars), vault decryption of the variables it uses, and the walk
//! ([`walk`]): roles with their dependencies, includes, blocks, loops, `when:`
//! against the simulated facts, `set_fact`, `register`. The output is a
//! [`ResolvedRun`] plus the scope table that `template:` sources are rendered
//! with (`rules::scope_renderer`).
//!
//! Does not: read files outside the [`SourceSet`], evaluate Jinja itself (the
//! [`Templar`] does), decide anything about containers, or ever put a vault
//! plaintext anywhere but a [`Sensitive`] / `Vars::set_secret`.

pub mod inventory;
mod walk;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::Value as Json;

use crate::config::Config;
use crate::diagnostics::{Finding, Severity, codes};
use crate::sensitive::Sensitive;
use crate::source::SourceSet;
use crate::source::vault::{VaultEnvelope, VaultError, VaultPasswords};

use super::Project;
use super::resolved::ResolvedRun;
use super::template::{Facts, Site, Templar, VarValue};
use super::value::{Value, Var};

/// What to resolve for.
#[derive(Default)]
pub struct Options {
    /// `--env NAME`.
    pub env: Option<String>,
    /// Vault passwords (`--vault-password-file`, `ANSIBLE_VAULT_PASSWORD_FILE`); may be empty.
    pub vault: VaultPasswords,
    /// The simulated facts of the chosen base image (`Facts::for_image`).
    pub facts: Option<Facts>,
    /// `--extra-vars`, highest precedence.
    pub extra_vars: serde_json::Map<String, Json>,
}

/// Why resolution stopped: a choice the user must fix, or a vault that does not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("unknown environment `{name}`; known environments: {}", list(known))]
    UnknownEnv { name: String, known: Vec<String> },
    #[error("environment `{name}`: inventory `{path}` (from migrate.yaml) is not an inventory of the repository")]
    MissingInventory { name: String, path: String },
    #[error("{0}")]
    Vault(#[from] VaultError),
}

fn list(known: &[String]) -> String {
    if known.is_empty() { "none (no inventory found)".into() } else { known.join(", ") }
}

/// One row of the scope table: the variables a task ran with, to render its
/// `template:` sources later.
#[derive(Debug, Clone)]
pub struct TaskScope {
    pub templar: Templar,
    pub site: Site,
}

/// Resolves the project for `options.env`. `set` is shared with the Templar's
/// file lookups. Errors: an unknown environment, a vault that the given
/// passwords do not open.
pub fn resolve(
    project: &Project,
    set: &Arc<SourceSet>,
    config: &Config,
    options: &Options,
) -> Result<ResolvedRun, ResolveError> {
    let mut findings = Vec::new();
    let extra_inventory = inventory::load_extra(project, set, config, options.env.as_deref());
    let inv = inventory::choose(project, extra_inventory.as_ref(), config, options.env.as_deref(), &mut findings)?;
    let entries = entry_playbooks(project, &mut findings);
    let mut run = ResolvedRun {
        env: options.env.clone(),
        inventory: inv.map(|i| i.path.clone()),
        playbooks: entries.iter().map(|(p, _)| p.clone()).collect(),
        ..Default::default()
    };
    let mut extra = options.extra_vars.clone();
    // Packer's ansible provisioners pass these to every play they run.
    if let Some(kind) = entries.iter().find_map(|(_, k)| k.clone()) {
        extra.entry("packer_builder_type".to_string()).or_insert(Json::String(kind));
    }
    let common = walk::Common::new(project, set, options.facts.as_ref(), inv, extra, VaultCache::new(&options.vault));
    let mut units = Vec::new();
    for (path, _) in &entries {
        walk::plays_of(project, path, &mut units);
    }
    // Plays are walked in parallel and joined in order: the first error in play order wins,
    // as it would in one walk.
    let walks: Vec<Result<walk::Walked, ResolveError>> = units.par_iter().map(|u| common.walk(u)).collect();
    let mut walked = walk::Walked::default();
    for w in walks {
        walked.append(w?);
    }
    if entries.is_empty()
        && let Some((play, roles)) = walk::roles_play(project)
    {
        // Role directories resolve against the repository root.
        walked.append(common.walk_play("play.yml", &play, &walk::Imported::default())?);
        walked.findings.push(Finding::new(
            codes::ENTRY_PLAYBOOKS,
            Severity::Info,
            "",
            0,
            format!(
                "no playbook runs the roles: converting them as one play applying {} to all hosts",
                roles.join(", ")
            ),
        ));
    }
    let mut vault = common.into_vault();
    findings.append(&mut walked.findings);
    run.plays = walked.plays;
    run.scopes = walked.scopes;
    run.scopes.shrink_to_fit();
    run.definitions = std::mem::take(&mut vault.definitions);
    run.definitions.append(walked.definitions);
    run.env_specific = inventory::env_specific(project, set, &options.vault);
    if vault.undecrypted > 0 {
        findings.push(Finding::new(
            codes::VAULT_NOT_DECRYPTED,
            Severity::Info,
            "",
            0,
            format!(
                "{} vault value(s) used without a vault password: they stay unknown and are rendered at container \
                 start (give --vault-password-file to check them)",
                vault.undecrypted
            ),
        ));
    }
    run.findings = dedup(findings);
    Ok(run)
}

/// Findings without duplicates, in the order they were found (the walk's order).
pub(crate) fn dedup(mut findings: Vec<Finding>) -> Vec<Finding> {
    let mut seen = BTreeSet::new();
    findings.retain(|f| seen.insert(f.to_string()));
    findings
}

/// The playbooks the run starts from, with the Packer builder type that runs them.
fn entry_playbooks(project: &Project, findings: &mut Vec<Finding>) -> Vec<(Arc<str>, Option<String>)> {
    let mut out: Vec<(Arc<str>, Option<String>)> = Vec::new();
    let mut templates: Vec<_> = project.packer.iter().collect();
    templates.sort_by(|a, b| a.path.cmp(&b.path));
    for t in &templates {
        for (build, p) in t.provisioners() {
            let crate::model::packer::ProvisionerAction::Ansible(a) = &p.action else { continue };
            let kind = t
                .builders
                .iter()
                .find(|b| build.sources.is_empty() || build.sources.iter().any(|s| s.reference == b.reference()))
                .or(t.builders.first())
                .map(|b| b.kind.clone());
            for link in &a.playbooks {
                if let Some(pb) = project.playbook(&link.path)
                    && !out.iter().any(|(p, _)| p == &pb.path)
                {
                    out.push((pb.path.clone(), kind.clone()));
                }
            }
        }
    }
    if !out.is_empty() {
        let names: Vec<&str> = out.iter().map(|(p, _)| &**p).collect();
        findings.push(Finding::new(
            codes::ENTRY_PLAYBOOKS,
            Severity::Info,
            "",
            0,
            format!("the image build runs {} (from Packer)", names.join(", ")),
        ));
        return out;
    }
    let imported: BTreeSet<&str> =
        project.playbooks.iter().flat_map(|p| p.imports()).filter_map(|i| i.file.target.path().map(|p| &**p)).collect();
    let candidates: Vec<&Arc<str>> = project
        .playbooks
        .iter()
        .map(|p| &p.path)
        .filter(|p| !imported.contains(&***p))
        .filter(|p| !p.split('/').any(|c| matches!(c, "tests" | "molecule" | "test")))
        .collect();
    let conventional = ["site.yml", "site.yaml", "main.yml", "main.yaml", "playbook.yml", "playbook.yaml"];
    let top = conventional.iter().find_map(|n| candidates.iter().find(|p| &****p == *n));
    let chosen: Vec<Arc<str>> = match top {
        Some(p) => vec![(*p).clone()],
        None => candidates.into_iter().cloned().collect(),
    };
    if !chosen.is_empty() {
        let names: Vec<&str> = chosen.iter().map(|p| &**p).collect();
        findings.push(Finding::new(
            codes::ENTRY_PLAYBOOKS,
            Severity::Info,
            "",
            0,
            format!("no Packer provisioner runs a playbook; starting from {}", names.join(", ")),
        ));
    }
    chosen.into_iter().map(|p| (p, None)).collect()
}

/// Where each variable value the walk shared into scopes was written (`file:line`), keyed
/// by the identity of its `Arc`: every scope holds the same `Arc` the layer made, so the
/// value a name resolves to in a scope leads back to the line that defined it without
/// tracking origins through the templating engine. The `Arc`s live as long as the run's
/// scopes, so an address is never reused while the map is in use.
#[derive(Debug, Default, Clone)]
pub struct Definitions(std::collections::HashMap<usize, crate::model::Origin>);

impl Definitions {
    fn record(&mut self, value: &Arc<VarValue>, origin: crate::model::Origin) {
        self.0.insert(Arc::as_ptr(value) as usize, origin);
    }

    /// Adds the records of another walk (each value is recorded by one walk only).
    fn append(&mut self, other: Definitions) {
        if self.0.is_empty() {
            self.0 = other.0;
        } else {
            self.0.extend(other.0);
        }
    }

    /// The line that defined `value`, if the walk made it from a source line.
    pub fn origin_of(&self, value: &Arc<VarValue>) -> Option<&crate::model::Origin> {
        self.0.get(&(Arc::as_ptr(value) as usize))
    }
}

/// One source's variables in definition order (a vars file, a play's `vars:`), shared
/// by every scope that sees them.
pub(crate) type Layer = Arc<Vec<(Arc<str>, Arc<VarValue>)>>;

/// Decrypts the vault values the run uses, once each.
pub(crate) struct VaultCache<'a> {
    passwords: &'a VaultPasswords,
    files: BTreeMap<Arc<str>, Layer>,
    /// Where each shared value was defined (see [`Definitions`]).
    pub definitions: Definitions,
    /// Vault values entered as unknown secrets (no password).
    pub undecrypted: usize,
    /// [`vault_names`], computed at the first encrypted file (it reads the whole project).
    vault_names: Option<Vec<String>>,
}

impl<'a> VaultCache<'a> {
    pub fn new(passwords: &'a VaultPasswords) -> VaultCache<'a> {
        VaultCache {
            passwords,
            files: BTreeMap::new(),
            definitions: Definitions::default(),
            undecrypted: 0,
            vault_names: None,
        }
    }

    /// A variable that is not a vault value, as the Templar takes it (no cache needed).
    pub fn plain(var: &Var) -> Option<VarValue> {
        match &var.value {
            Value::Vault(_) => None,
            other => Some(VarValue::Json(other.to_json())),
        }
    }

    /// One variable as the Templar takes it; inline `!vault` values decrypted.
    pub fn var(&mut self, var: &Var) -> Result<VarValue, VaultError> {
        let Value::Vault(v) = &var.value else { return Ok(VarValue::Json(var.value.to_json())) };
        if self.passwords.is_empty() {
            self.undecrypted += 1;
            return Ok(VarValue::Secret(None));
        }
        let path = var.origin.path.to_string();
        let line = var.origin.line;
        let envelope = VaultEnvelope::parse(v.ciphertext.expose()).map_err(|problem| VaultError::Malformed {
            path: path.clone(),
            line,
            inline: true,
            problem,
        })?;
        let (plain, _) = self.passwords.decrypt(&envelope).map_err(|e| match e {
            crate::source::vault::DecryptError::HmacMismatch => {
                VaultError::WrongPassword { path: path.clone(), line, inline: true, tried: self.passwords.len() }
            }
            crate::source::vault::DecryptError::BadPadding => {
                VaultError::BadPadding { path: path.clone(), line, inline: true }
            }
        })?;
        let text = String::from_utf8(plain.into_exposed()).map_err(|_| VaultError::NotText {
            path: path.clone(),
            line,
            inline: true,
        })?;
        Ok(VarValue::Secret(Some(Sensitive::new(text))))
    }

    /// The variables of a vars file, by path; a whole-file vault is decrypted
    /// (every value a secret) or, without a password, known by no name.
    pub fn file(&mut self, project: &Project, set: &SourceSet, path: &str) -> Result<Layer, VaultError> {
        if let Some(v) = self.files.get(path) {
            return Ok(v.clone());
        }
        let key: Arc<str> = Arc::from(path);
        let mut out = Vec::new();
        match project.vars_files.get(path) {
            Some(file) if file.encrypted.is_some() => {
                if self.passwords.is_empty() {
                    // The names are inside the ciphertext: take the `vault_*` names the plain
                    // variables refer to and nothing defines (Ansible's documented convention).
                    self.undecrypted += 1;
                    let names = self.vault_names.get_or_insert_with(|| vault_names(project));
                    for name in names.iter() {
                        out.push((name.clone(), VarValue::Secret(None), None));
                    }
                } else if let Some(text) = set.get(path).and_then(|f| f.text().ok()) {
                    let docs = self.passwords.decrypt_yaml_file(path, text)?;
                    if let Some(doc) = docs.docs.first() {
                        for var in super::value::vars_of_map(doc, &key) {
                            let text = match &var.value {
                                Value::Vault(_) => continue,
                                other => other.scalar_text().unwrap_or_else(|| other.to_json().to_string()),
                            };
                            out.push((var.name, VarValue::Secret(Some(Sensitive::new(text))), Some(var.origin)));
                        }
                    }
                }
            }
            Some(file) => {
                for var in &file.vars {
                    out.push((var.name.clone(), self.var(var)?, Some(var.origin.clone())));
                }
            }
            None => {
                // A file the loader did not index (a templated `vars_files` choice).
                if let Some(doc) = set.get(path).and_then(|f| f.yaml().ok()).and_then(|d| d.docs.first()) {
                    for var in super::value::vars_of_map(doc, &key) {
                        let value = self.var(&var)?;
                        out.push((var.name, value, Some(var.origin)));
                    }
                }
            }
        }
        let out: Layer = Arc::new(
            out.into_iter()
                .map(|(k, v, origin)| {
                    let v = Arc::new(v);
                    if let Some(origin) = origin {
                        self.definitions.record(&v, origin);
                    }
                    (Arc::from(k), v)
                })
                .collect(),
        );
        self.files.insert(key, out.clone());
        Ok(out)
    }
}

/// `vault_*` names that plain variables refer to and no plain vars file defines:
/// the likely contents of the vault files that could not be decrypted.
fn vault_names(project: &Project) -> Vec<String> {
    static NAME: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\bvault_[A-Za-z0-9_]+").ok());
    let Some(re) = NAME.as_ref() else { return Vec::new() };
    let mut defined = BTreeSet::new();
    let mut used = BTreeSet::new();
    fn strings<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
        match v {
            Value::Str(s) => out.push(s),
            Value::List(items) => items.iter().for_each(|i| strings(i, out)),
            Value::Map(m) => m.iter().for_each(|(_, i)| strings(i, out)),
            _ => {}
        }
    }
    let all_vars = project
        .vars_files
        .values()
        .flat_map(|f| f.vars.iter())
        .chain(project.inventories.iter().flat_map(|i| i.groups.iter().flat_map(|g| g.vars.iter())));
    for var in all_vars {
        defined.insert(var.name.clone());
        let mut texts = Vec::new();
        strings(&var.value, &mut texts);
        for t in texts {
            used.extend(re.find_iter(t).map(|m| m.as_str().to_string()));
        }
    }
    used.into_iter().filter(|n| !defined.contains(n)).collect()
}
