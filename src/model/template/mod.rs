//! Jinja2 evaluation as Ansible does it: variables, `when:`, templates.
//!
//! Owns: a minijinja environment configured like Ansible's (strict undefined,
//! `trim_blocks`, `#jinja2:` overrides, Python's `str()` in output), the
//! Ansible filters, tests and lookups the converter meets in real repos, lazy
//! resolution of variables that are themselves templates (with cycle
//! detection), simulated facts for the target base image, and the report of
//! what could not be known (undefined names, unsupported lookups, runtime-only
//! values, vault secrets).
//!
//! Does not: decide variable precedence (the caller hands in the merged
//! variables), read the real process environment unless told to, read files
//! other than through the caller's [`FileReader`], or run anything. Nothing
//! it cannot evaluate becomes an empty string: the result is
//! [`Output::Failed`] and the [`Report`] says why.
//!
//! ```text
//!   Templar::new(facts, vars, lookups)
//!     .render_str("{{ a }}", &site)      -> Rendered<String>   module args, names
//!     .resolve_value(&json, &site)       -> Rendered<Json>     vars, whole argument maps
//!     .render_file("nginx.conf.j2", ..)  -> Rendered<String>   `template:` src
//!     .eval_condition("x is defined", ..) -> Condition         `when:`
//! ```

mod checks;
mod engine;
mod facts;
mod filters;
mod lookups;
pub(crate) mod preprocess;
mod pyfmt;
mod pyyaml;
mod scope;
mod version;

#[cfg(test)]
mod ansible_parity;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value as Json;

use crate::diagnostics::{Code, Finding, Severity};
use crate::model::Origin;
use crate::sensitive::Sensitive;

pub use facts::Facts;
pub use lookups::{EnvSource, FileReader, Lookups};

/// Where a template is evaluated: the finding location and the directories
/// Ansible searches for `lookup('file')`, `lookup('template')` and `template:`
/// sources (the role first, then the playbook's directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub origin: Origin,
    /// Repo-relative role directory (`roles/nginx`) when the task is in a role.
    pub role_dir: Option<String>,
    /// Repo-relative directory of the playbook being run.
    pub playbook_dir: String,
}

impl Site {
    /// A site whose search path is guessed from the origin: a file under
    /// `.../roles/<name>/` is in that role; the playbook directory defaults to
    /// the file's own directory (set it with [`Site::with_playbook_dir`]).
    pub fn new(origin: Origin) -> Site {
        let path: &str = &origin.path;
        let role_dir = role_dir_of(path);
        let playbook_dir = match &role_dir {
            Some(role) => crate::source::parent(crate::source::parent(role)).to_string(),
            None => crate::source::parent(path).to_string(),
        };
        Site { origin, role_dir, playbook_dir }
    }

    pub fn with_playbook_dir(mut self, dir: impl Into<String>) -> Site {
        self.playbook_dir = dir.into();
        self
    }

    pub fn with_role_dir(mut self, dir: Option<String>) -> Site {
        self.role_dir = dir;
        self
    }
}

/// `x/roles/web/tasks/main.yml` is in role `x/roles/web`; a role may sit in a
/// subdirectory (`roles/configure/adcs/tasks/...`): it ends where one of the
/// role's own directories starts.
fn role_dir_of(path: &str) -> Option<String> {
    const ROLE_DIRS: &[&str] = &["tasks", "handlers", "templates", "files", "vars", "defaults", "meta", "library"];
    let parts: Vec<&str> = path.split('/').collect();
    let idx = parts.iter().rposition(|p| *p == "roles")?;
    let end = (idx + 2..parts.len()).find(|&j| ROLE_DIRS.contains(&parts[j]))?;
    Some(parts[..end].join("/"))
}

/// A variable as the caller hands it over. Plain values are JSON; strings in
/// them are templates, resolved lazily and only when used, as in Ansible.
///
/// Inside JSON values three markers are understood (Ansible's own JSON forms
/// for the first two): `{"__ansible_vault": "<ciphertext>"}` is a secret that
/// was not decrypted, `{"__ansible_unsafe": "text"}` is text never templated
/// (`!unsafe`), `{"__migrate_unknown": "why"}` is a value only known at run
/// time.
#[derive(Debug, Clone)]
pub enum VarValue {
    Json(Json),
    /// A vault value (`!vault` or a vaulted vars file). `None`: could not be
    /// decrypted. Whatever touches it comes back [`Output::Sensitive`].
    Secret(Option<Sensitive<String>>),
    /// Exists, but its value is only known when the play runs: a `register:`
    /// result, a `set_fact` computed from command output. The text says why.
    Unknown(String),
}

/// The variables of one host at one point of a play, already merged by
/// precedence. Names set here shadow the simulated facts.
///
/// Values are shared (`Arc`), not copied: the walk hands the same layer values
/// (an inventory's `groups`, a role's defaults) to thousands of scopes.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    entries: BTreeMap<Arc<str>, Arc<VarValue>>,
}

impl Vars {
    pub fn new() -> Vars {
        Vars::default()
    }

    /// Every top-level key of a JSON object becomes a variable.
    pub fn from_json(map: serde_json::Map<String, Json>) -> Vars {
        Vars { entries: map.into_iter().map(|(k, v)| (Arc::from(k), Arc::new(VarValue::Json(v)))).collect() }
    }

    pub fn set(&mut self, name: impl Into<String>, value: Json) -> &mut Vars {
        self.entries.insert(Arc::from(name.into()), Arc::new(VarValue::Json(value)));
        self
    }

    pub fn set_secret(&mut self, name: impl Into<String>, plaintext: Option<Sensitive<String>>) -> &mut Vars {
        self.entries.insert(Arc::from(name.into()), Arc::new(VarValue::Secret(plaintext)));
        self
    }

    pub fn set_unknown(&mut self, name: impl Into<String>, why: impl Into<String>) -> &mut Vars {
        self.entries.insert(Arc::from(name.into()), Arc::new(VarValue::Unknown(why.into())));
        self
    }

    pub fn insert(&mut self, name: impl Into<String>, value: VarValue) -> &mut Vars {
        self.entries.insert(Arc::from(name.into()), Arc::new(value));
        self
    }

    /// Like [`Vars::insert`], sharing a name and a value the caller keeps (no copy).
    pub fn insert_shared(&mut self, name: Arc<str>, value: Arc<VarValue>) -> &mut Vars {
        self.entries.insert(name, value);
        self
    }

    /// [`Vars::insert_shared`], saying whether `name` now has another value than
    /// before (a new name, or a different shared value).
    pub fn replace_shared(&mut self, name: Arc<str>, value: Arc<VarValue>) -> bool {
        match self.entries.insert(name, value.clone()) {
            Some(old) => !Arc::ptr_eq(&old, &value),
            None => true,
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// An undefined variable that made an evaluation fail. `via` is the chain of
/// variables whose templates led to it (`a` -> `b` when `a: "{{ b }}"` and
/// `b: "{{ name }}"`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Undefined {
    pub name: String,
    pub via: Vec<String>,
}

impl fmt::Display for Undefined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.via.is_empty() {
            write!(f, " (needed by {})", self.via.join(" <- "))?;
        }
        Ok(())
    }
}

/// True when [`Templar::resolve_value`] gives `value` back unchanged with an empty report
/// whatever the variables: no string in it is a template, no map has one of the keys
/// that mark an unsafe, vault or unknown value, and every number is an integer (a float
/// goes through the template engine's own number type on the way, which is left to it).
pub fn is_plain(value: &Json) -> bool {
    match value {
        Json::Null | Json::Bool(_) => true,
        Json::Number(n) => n.is_i64() || n.is_u64(),
        Json::String(s) => !preprocess::is_template(s, preprocess::Delims::ansible()),
        Json::Array(items) => items.iter().all(is_plain),
        Json::Object(map) => map.iter().all(|(k, v)| {
            !matches!(k.as_str(), "__ansible_unsafe" | "__ansible_vault" | "__migrate_unknown") && is_plain(v)
        }),
    }
}

/// Everything an evaluation could not do, or did with a value that is not
/// plain text. Sorted, without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Undefined variables that made the evaluation fail.
    pub undefined: Vec<Undefined>,
    /// Filters, tests, lookups or template features this tool does not
    /// evaluate (`lookup('pipe')`, `password_hash`, `{% include %}`).
    pub unsupported: Vec<String>,
    /// Values only known when the play runs (registered results, runtime facts,
    /// undecryptable vault values, environment variables nobody provided).
    pub unknown: Vec<String>,
    /// Template errors: syntax, types, cycles, `mandatory` failures.
    pub errors: Vec<String>,
    /// Names of vault values the evaluation touched.
    pub secrets: Vec<String>,
    /// Facts with stand-in values that were used (`ansible_hostname`).
    pub placeholders: Vec<String>,
    /// Non-fatal remarks: deprecated filters, non-boolean conditionals.
    pub notes: Vec<String>,
}

impl Report {
    /// True when the output cannot be trusted at all.
    pub fn failed(&self) -> bool {
        !(self.undefined.is_empty() && self.unsupported.is_empty() && self.unknown.is_empty() && self.errors.is_empty())
    }

    /// The report as findings at `origin`, one per item.
    pub fn findings(&self, origin: &Origin) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut push = |code: Code, severity: Severity, message: String| {
            out.push(Finding::new(code, severity, origin.path.to_string(), origin.line, message));
        };
        for u in &self.undefined {
            push(codes::UNDEFINED_VARIABLE, Severity::Warning, format!("`{u}` is undefined"));
        }
        for u in &self.unsupported {
            push(codes::UNSUPPORTED_TEMPLATE, Severity::Warning, format!("not evaluated: {u}"));
        }
        for u in &self.unknown {
            push(codes::RUNTIME_VALUE, Severity::Warning, format!("only known at run time: {u}"));
        }
        for e in &self.errors {
            push(codes::TEMPLATE_ERROR, Severity::Error, e.clone());
        }
        for s in &self.secrets {
            push(codes::SECRET_IN_TEMPLATE, Severity::Info, format!("uses the vault value `{s}`"));
        }
        for p in &self.placeholders {
            push(codes::PLACEHOLDER_FACT, Severity::Info, format!("`{p}` has a stand-in value at conversion time"));
        }
        for n in &self.notes {
            push(codes::TEMPLATE_NOTE, Severity::Info, n.clone());
        }
        out
    }
}

/// The finding codes of template evaluation (registered with the loader's in
/// `diagnostics::codes`).
pub mod codes {
    pub use crate::diagnostics::codes::{
        PLACEHOLDER_FACT, RUNTIME_VALUE, SECRET_IN_TEMPLATE, TEMPLATE_ERROR, TEMPLATE_NOTE, UNDEFINED_VARIABLE,
        UNSUPPORTED_TEMPLATE,
    };
}

/// The value of an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Output<T> {
    /// Fully known, no secret involved.
    Value(T),
    /// Fully known but computed from a vault value: keep it out of images and
    /// logs; render it at container start instead.
    Sensitive(Sensitive<T>),
    /// The result is Ansible's `omit` placeholder: drop the argument.
    Omit,
    /// Not known: see the report.
    Failed,
}

impl<T> Output<T> {
    /// The plain value, if there is one and it holds no secret.
    pub fn value(&self) -> Option<&T> {
        match self {
            Output::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// The outcome of one evaluation: a value (maybe sensitive) and the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered<T> {
    pub output: Output<T>,
    pub report: Report,
}

impl<T> Rendered<T> {
    pub fn findings(&self, origin: &Origin) -> Vec<Finding> {
        self.report.findings(origin)
    }
}

/// What a `when:` evaluates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Truth {
    True,
    False,
    /// Depends on something undefined, unsupported or only known at run time.
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub truth: Truth,
    pub report: Report,
}

/// Options of the `template` module (and `#jinja2:` first-line overrides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOptions {
    pub trim_blocks: bool,
    pub lstrip_blocks: bool,
    pub newline_sequence: String,
    pub block_start: String,
    pub block_end: String,
    pub variable_start: String,
    pub variable_end: String,
    pub comment_start: String,
    pub comment_end: String,
    /// `dest:` of the task, published to the template as `template_destpath`.
    pub dest: Option<String>,
}

impl Default for FileOptions {
    fn default() -> FileOptions {
        FileOptions {
            trim_blocks: true,
            lstrip_blocks: false,
            newline_sequence: "\n".into(),
            block_start: "{%".into(),
            block_end: "%}".into(),
            variable_start: "{{".into(),
            variable_end: "}}".into(),
            comment_start: "{#".into(),
            comment_end: "#}".into(),
            dest: None,
        }
    }
}

/// Simulated facts as template variables (`ansible_*`, `inventory_hostname`),
/// built once: every [`Templar`] made with [`Templar::with_facts`] shares them.
#[derive(Clone)]
pub struct SharedFacts(Arc<scope::FactTable>);

impl SharedFacts {
    pub fn new(facts: &Facts) -> SharedFacts {
        SharedFacts(Arc::new(scope::FactTable::new(facts)))
    }
}

/// Variables many templars have in common, below their own (see
/// [`Templar::layered`]): built once instead of copied into each.
#[derive(Clone)]
pub struct SharedVars(Arc<scope::VarTable>);

impl SharedVars {
    pub fn new(vars: Vars) -> SharedVars {
        SharedVars(Arc::new(scope::VarTable::new(vars)))
    }

    /// `vars` on top of these shared variables, as if inserted into a copy of them
    /// (later wins), without copying them: only the entries that differ are kept.
    pub fn with(&self, vars: Vars) -> SharedVars {
        SharedVars(Arc::new(scope::VarTable::over(self.0.clone(), vars)))
    }
}

/// Evaluates templates against one set of variables.
///
/// Cheap to clone and to derive with [`Templar::with_locals`] (loop items):
/// the environment is built once per process, each distinct template is
/// compiled once, and a variable's resolved value is cached unless it
/// depends on loop-local names.
#[derive(Clone)]
pub struct Templar {
    pub(crate) base: Arc<scope::Base>,
    pub(crate) locals: Option<Arc<scope::Layer>>,
}

impl fmt::Debug for Templar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Templar").finish_non_exhaustive()
    }
}

impl Templar {
    /// `facts`: the simulated facts of the target image, if known (they sit
    /// below `vars`). `vars`: the merged variables. `lookups`: where `env`
    /// and `file` lookups read from.
    pub fn new(facts: Option<&Facts>, vars: Vars, lookups: Lookups) -> Templar {
        Templar::with_facts(facts.map(SharedFacts::new).as_ref(), vars, lookups)
    }

    /// [`Templar::new`] with facts prepared once and shared by many templars
    /// (one per task scope on a large repository).
    pub fn with_facts(facts: Option<&SharedFacts>, vars: Vars, lookups: Lookups) -> Templar {
        Templar::layered(facts, None, vars, lookups)
    }

    /// A templar whose `vars` sit on top of `shared` ones (built once for many
    /// templars), on top of the facts.
    pub fn layered(facts: Option<&SharedFacts>, shared: Option<&SharedVars>, vars: Vars, lookups: Lookups) -> Templar {
        let base = scope::Base::new(facts.map(|f| f.0.clone()), shared.map(|s| s.0.clone()), vars, lookups);
        Templar { base: Arc::new(base), locals: None }
    }

    /// A templar with extra variables on top (loop `item`, include params,
    /// `template_vars`). Values resolved from them are cached separately.
    pub fn with_locals(&self, locals: Vars) -> Templar {
        let parent = self.locals.clone();
        Templar { base: self.base.clone(), locals: Some(Arc::new(scope::Layer::new(locals, parent))) }
    }

    /// A string from a playbook (module argument, name, var): rendered to
    /// text as Ansible would print it. A single `{{ expr }}` gives Python's
    /// `str()` of its value; `omit` gives [`Output::Omit`].
    pub fn render_str(&self, text: &str, site: &Site) -> Rendered<String> {
        // Text without a template prints as itself and records nothing (most names and
        // arguments): no evaluation needed.
        if !preprocess::is_template(text, preprocess::Delims::ansible()) {
            return Rendered { output: Output::Value(text.to_string()), report: Report::default() };
        }
        scope::Call::new(self, site).render_str(text)
    }

    /// A YAML value from a playbook (an argument map, a var): every string in
    /// it templated, single expressions keep their type (`"{{ [1, 2] }}"` is a
    /// list), `omit` removed from maps and lists.
    pub fn resolve_value(&self, value: &Json, site: &Site) -> Rendered<Json> {
        if is_plain(value) {
            return Rendered { output: Output::Value(value.clone()), report: Report::default() };
        }
        scope::Call::new(self, site).resolve_value(value)
    }

    /// The value of variable `name`, resolved (`lookup('vars', name)`).
    /// The value `name` has among this scope's variables, as shared with the layer that
    /// defined it (`model::resolve` maps it back to its line). `None` for facts, loop
    /// locals and unknown names.
    pub fn definition(&self, name: &str) -> Option<Arc<VarValue>> {
        if self.locals.as_ref().is_some_and(|l| l.find(name).is_some()) {
            return None;
        }
        self.base.definition(name)
    }

    pub fn resolve_var(&self, name: &str, site: &Site) -> Rendered<Json> {
        scope::Call::new(self, site).resolve_var(name)
    }

    /// A `when:` expression (Ansible evaluates it as a bare expression).
    pub fn eval_condition(&self, when: &str, site: &Site) -> Condition {
        scope::Call::new(self, site).eval_condition(when)
    }

    /// A `when:` list: all must hold; stops at the first false one.
    pub fn eval_conditions(&self, when: &[&str], site: &Site) -> Condition {
        let mut report = Report::default();
        let mut truth = Truth::True;
        for w in when {
            let c = self.eval_condition(w, site);
            merge_report(&mut report, c.report);
            match c.truth {
                Truth::False => return Condition { truth: Truth::False, report },
                Truth::Unknown => truth = Truth::Unknown,
                Truth::True => {}
            }
        }
        Condition { truth, report }
    }

    /// A template file (`template: src=...`): found in the role's
    /// `templates/`, then the playbook directory's, read through the
    /// [`FileReader`], rendered like the `template` module.
    pub fn render_file(&self, src: &str, site: &Site, options: &FileOptions) -> Rendered<String> {
        scope::Call::new(self, site).render_file(src, options)
    }

    /// Template text the caller already read (`name` is its repo path).
    pub fn render_template_text(&self, text: &str, name: &str, site: &Site, options: &FileOptions) -> Rendered<String> {
        scope::Call::new(self, site).render_template_text(text, name, options)
    }

    /// [`Self::render_template_text`] plus the local variables read inside the
    /// resolution of another variable (see [`scope::Call::render_template_text_traced`]).
    pub fn render_template_text_traced(
        &self,
        text: &str,
        name: &str,
        site: &Site,
        options: &FileOptions,
    ) -> (Rendered<String>, BTreeSet<String>) {
        scope::Call::new(self, site).render_template_text_traced(text, name, options)
    }

    /// `query(plugin, *terms)` with already-evaluated terms, as `with_<plugin>:`
    /// loops need it.
    pub fn query(&self, plugin: &str, terms: &[Json], site: &Site) -> Rendered<Json> {
        scope::Call::new(self, site).query(plugin, terms)
    }
}

pub(crate) fn merge_report(into: &mut Report, from: Report) {
    fn merge<T: Ord>(a: &mut Vec<T>, b: Vec<T>) {
        let set: BTreeSet<T> = a.drain(..).chain(b).collect();
        a.extend(set);
    }
    merge(&mut into.undefined, from.undefined);
    merge(&mut into.unsupported, from.unsupported);
    merge(&mut into.unknown, from.unknown);
    merge(&mut into.errors, from.errors);
    merge(&mut into.secrets, from.secrets);
    merge(&mut into.placeholders, from.placeholders);
    merge(&mut into.notes, from.notes);
}

#[cfg(test)]
mod tests;
