//! Variables as a template sees them, and the bookkeeping of one evaluation.
//!
//! [`Scope`] is the root context handed to minijinja: every variable lookup
//! comes here. Variables whose values are templates are resolved on first
//! use, as Ansible's lazy templating does, and cached; a resolution that is
//! already in progress for the same name is a cycle (`a: "{{ b }}"`,
//! `b: "{{ a }}"`) and yields undefined plus an error, never a stack overflow.
//!
//! While an evaluation runs, everything that matters for trusting its result
//! is recorded: which vault values and placeholder facts were read, which
//! runtime-only values were touched, which lookups were refused. A variable's
//! record travels with its cached value, so reading a cached secret still
//! marks the evaluation sensitive.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use minijinja::value::{Enumerator, Object, ObjectRepr, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};
use regex::Regex;
use serde_json::Value as Json;

use super::engine::{self, Dialect, ENGINE};
use super::facts::Facts;
use super::lookups::Lookups;
use super::preprocess::{self, Delims};
use super::pyfmt;
use super::{Condition, FileOptions, Output, Rendered, Report, Site, Templar, Truth, Undefined, VarValue, Vars};
use crate::sensitive::Sensitive;

/// How many variable resolutions may nest (`a: "{{ b }}"`, `b: "{{ c }}"`...).
/// Each level is a render inside a render; deeper chains would exhaust the
/// stack of a 2 MiB thread in a debug build around 60 levels.
const MAX_NESTING: usize = 32;

/// The context key under which filters and functions find the scope.
pub const SCOPE_KEY: &str = "__migrate_scope__";

/// Errors whose text starts with this were already recorded in the report
/// (unsupported features, runtime-only values) and are not repeated there.
pub const UNSUPPORTED_MARK: &str = "\u{1}unsupported:";
pub const UNKNOWN_MARK: &str = "\u{1}unknown:";

/// What `omit` is: a marker that makes Ansible drop the argument.
#[derive(Debug)]
pub struct Omit;

impl Object for Omit {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn render(self: &Arc<Self>, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

pub fn is_omit(v: &Value) -> bool {
    v.downcast_object_ref::<Omit>().is_some()
}

/// A value that exists but is only known at run time. It is recorded as
/// unknown when created, so whatever a template then does with it (iterate,
/// test, read attributes) may go on quietly: the result is discarded anyway.
#[derive(Debug)]
pub struct Unknown {
    pub what: String,
}

impl Object for Unknown {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Iterable
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Empty
    }

    fn get_value(self: &Arc<Self>, _key: &Value) -> Option<Value> {
        // Parts of an unknown value are unknown for the same reason.
        Some(Value::from_object(Unknown { what: self.what.clone() }))
    }

    fn is_true(self: &Arc<Self>) -> bool {
        false
    }

    fn render(self: &Arc<Self>, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }

    // `result.stdout.find('x')`: what a method of an unknown value returns is unknown too.
    fn call_method(self: &Arc<Self>, _state: &mut State, _method: &str, _args: &[Value]) -> Result<Value, Error> {
        Ok(Value::from_object(Unknown { what: self.what.clone() }))
    }
}

pub fn unknown_of(v: &Value) -> Option<&str> {
    v.downcast_object_ref::<Unknown>().map(|u| u.what.as_str())
}

/// What the formatter prints for our special objects (recording unknowns).
pub fn render_special(state: &State, value: &Value) -> Result<Option<String>, Error> {
    if let Some(what) = unknown_of(value) {
        return Err(unknown_error(state, what));
    }
    Ok(None)
}

/// Records `what` as runtime-only and returns the error that stops the render.
pub fn unknown_error(state: &State, what: &str) -> Error {
    if let Some(scope) = Scope::from_state(state) {
        scope.touch(|t| {
            t.unknown.insert(what.to_string());
        });
    }
    Error::new(ErrorKind::InvalidOperation, format!("{UNKNOWN_MARK}{what}"))
}

/// How a runtime-only fact is described (`ansible_processor_vcpus (a fact of the running machine)`).
pub const RUNTIME_FACT: &str = " (a fact of the running machine)";

/// `default()` over a runtime-only fact: the fact would describe the build host
/// inside `docker build`, never the container that runs, so the template's own
/// fallback is the container's answer (`ansible_processor_vcpus | default('auto')`).
/// Withdraws the unknown the lookup recorded, notes the choice, and says whether
/// `what` was such a fact.
pub fn default_over_runtime_fact(state: &State, what: &str, fallback: &Value) -> bool {
    let Some(name) = what.strip_suffix(RUNTIME_FACT) else { return false };
    if let Some(scope) = Scope::from_state(state) {
        scope.touch(|t| {
            t.unknown.remove(what);
            t.notes.insert(format!(
                "`{name}` is a fact of the running machine; its `default()` value `{fallback}` is used"
            ));
        });
    }
    true
}

/// Records `what` as unsupported and returns the error that stops the render.
pub fn unsupported_error(state: &State, what: &str) -> Error {
    if let Some(scope) = Scope::from_state(state) {
        scope.touch(|t| {
            t.unsupported.insert(what.to_string());
        });
    }
    Error::new(ErrorKind::InvalidOperation, format!("{UNSUPPORTED_MARK}{what}"))
}

/// Adds a non-fatal note to the evaluation's report.
pub fn note(state: &State, text: String) {
    if let Some(scope) = Scope::from_state(state) {
        scope.touch(|t| {
            t.notes.insert(text);
        });
    }
}

/// The recorded side of evaluating something.
#[derive(Debug, Clone, Default)]
pub struct Touched {
    pub secrets: BTreeSet<String>,
    pub unknown: BTreeSet<String>,
    pub placeholders: BTreeSet<String>,
    pub unsupported: BTreeSet<String>,
    pub errors: BTreeSet<String>,
    pub notes: BTreeSet<String>,
    /// Undefined values inside resolved variables, by path (`cfg.x`), with
    /// the undefined names that caused them.
    pub deferred: BTreeMap<String, BTreeSet<Undefined>>,
    /// Names looked up and not found: a cached value is stale for a templar
    /// whose locals define one of them.
    pub missed: BTreeSet<String>,
    pub uses_locals: bool,
    pub tainted: bool,
}

impl Touched {
    fn is_empty(&self) -> bool {
        self.secrets.is_empty()
            && self.unknown.is_empty()
            && self.placeholders.is_empty()
            && self.unsupported.is_empty()
            && self.errors.is_empty()
            && self.notes.is_empty()
            && self.deferred.is_empty()
            && self.missed.is_empty()
            && !self.uses_locals
            && !self.tainted
    }

    fn merge(&mut self, other: &Touched) {
        self.secrets.extend(other.secrets.iter().cloned());
        self.unknown.extend(other.unknown.iter().cloned());
        self.placeholders.extend(other.placeholders.iter().cloned());
        self.unsupported.extend(other.unsupported.iter().cloned());
        self.errors.extend(other.errors.iter().cloned());
        self.notes.extend(other.notes.iter().cloned());
        for (k, v) in &other.deferred {
            self.deferred.entry(k.clone()).or_default().extend(v.iter().cloned());
        }
        self.missed.extend(other.missed.iter().cloned());
        self.uses_locals |= other.uses_locals;
        self.tainted |= other.tainted;
    }
}

/// A variable's resolved value and what resolving it touched.
#[derive(Debug)]
pub struct Resolved {
    value: Value,
    /// `None` when nothing was touched (most values): the cache holds thousands.
    touched: Option<Box<Touched>>,
}

impl Resolved {
    fn new(value: Value, touched: &Touched) -> Resolved {
        let touched = if touched.is_empty() { None } else { Some(Box::new(touched.clone())) };
        Resolved { value, touched }
    }

    fn missed(&self) -> impl Iterator<Item = &String> {
        self.touched.iter().flat_map(|t| t.missed.iter())
    }
}

/// A fact as the [`FactTable`] holds it.
#[derive(Debug, Clone)]
enum FactEntry {
    Fact(Json),
    Placeholder(Json),
    RuntimeFact,
}

/// What a name finds: a variable (as the layer that defined it shares it) or a fact.
#[derive(Debug, Clone, Copy)]
enum Entry<'a> {
    Var(&'a Arc<VarValue>),
    Fact(&'a FactEntry),
}

/// The simulated facts as variables, built once per run and shared by every
/// [`Base`] (a copy per task scope cost most of the memory on large repos).
pub struct FactTable {
    entries: BTreeMap<String, FactEntry>,
    facts: Facts,
}

impl FactTable {
    pub fn new(f: &Facts) -> FactTable {
        let mut map = BTreeMap::new();
        for (k, v) in f.values() {
            let entry =
                if f.is_placeholder(k) { FactEntry::Placeholder(v.clone()) } else { FactEntry::Fact(v.clone()) };
            map.insert(format!("ansible_{k}"), entry);
        }
        for k in f.runtime_only() {
            map.insert(format!("ansible_{k}"), FactEntry::RuntimeFact);
        }
        let host = f.get("hostname").cloned().unwrap_or_else(|| Json::from("localhost"));
        let short = host.as_str().map(|h| h.split('.').next().unwrap_or(h).to_string()).map(Json::from);
        map.insert("inventory_hostname".into(), FactEntry::Placeholder(host.clone()));
        map.insert("inventory_hostname_short".into(), FactEntry::Placeholder(short.unwrap_or(host)));
        FactTable { entries: map, facts: f.clone() }
    }
}

/// Variables sorted by name in one allocation: a third of a `BTreeMap`'s size
/// for the tens of thousands of small tables a large repository makes.
#[derive(Default)]
struct SortedVars(Box<[(Arc<str>, Arc<VarValue>)]>);

impl SortedVars {
    fn new(vars: Vars) -> SortedVars {
        // A BTreeMap iterates in key order: already sorted.
        SortedVars(vars.entries.into_iter().collect())
    }

    fn get(&self, name: &str) -> Option<&Arc<VarValue>> {
        let i = self.0.binary_search_by(|(k, _)| (**k).cmp(name)).ok()?;
        Some(&self.0[i].1)
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| &**k)
    }
}

/// Variables shared by many [`Base`]s (what a role's or block's tasks have in
/// common), below each base's own: its own entries over an optional parent
/// table (the play's variables), as if merged into one.
pub struct VarTable {
    own: SortedVars,
    parent: Option<Arc<VarTable>>,
}

impl VarTable {
    pub fn new(vars: Vars) -> VarTable {
        VarTable { own: SortedVars::new(vars), parent: None }
    }

    /// `vars` over `parent`: the same lookups as `parent`'s variables with `vars`
    /// inserted, keeping only the entries that differ from the parent's.
    pub fn over(parent: Arc<VarTable>, mut vars: Vars) -> VarTable {
        vars.entries.retain(|k, v| !parent.get(k).is_some_and(|p| Arc::ptr_eq(p, v)));
        VarTable { own: SortedVars::new(vars), parent: Some(parent) }
    }

    fn get(&self, name: &str) -> Option<&Arc<VarValue>> {
        self.own.get(name).or_else(|| self.parent.as_ref()?.get(name))
    }

    fn names(&self, out: &mut BTreeSet<String>) {
        out.extend(self.own.names().map(str::to_string));
        if let Some(p) = &self.parent {
            p.names(out);
        }
    }
}

/// The variables of a [`Templar`]: facts below the shared variables below the
/// caller's own.
pub struct Base {
    /// The caller's variables; they shadow the rest.
    vars: SortedVars,
    shared: Option<Arc<VarTable>>,
    facts: Option<Arc<FactTable>>,
    pub lookups: Lookups,
    cache: Mutex<foldhash::HashMap<String, Arc<Resolved>>>,
}

impl Base {
    pub fn new(facts: Option<Arc<FactTable>>, shared: Option<Arc<VarTable>>, vars: Vars, lookups: Lookups) -> Base {
        Base { vars: SortedVars::new(vars), shared, facts, lookups, cache: Mutex::new(foldhash::HashMap::default()) }
    }

    /// The caller's or shared variable `name`, as the layer that defined it holds it.
    pub fn definition(&self, name: &str) -> Option<Arc<VarValue>> {
        match self.get(name)? {
            Entry::Var(v) => Some(v.clone()),
            Entry::Fact(_) => None,
        }
    }

    fn get(&self, name: &str) -> Option<Entry<'_>> {
        self.vars
            .get(name)
            .or_else(|| self.shared.as_ref().and_then(|s| s.get(name)))
            .map(Entry::Var)
            .or_else(|| self.facts.as_ref()?.entries.get(name).map(Entry::Fact))
    }

    fn facts(&self) -> Option<&Facts> {
        self.facts.as_ref().map(|f| &f.facts)
    }

    /// Every variable name, facts included.
    fn names(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self.vars.names().map(str::to_string).collect();
        if let Some(s) = &self.shared {
            s.names(&mut names);
        }
        if let Some(f) = &self.facts {
            names.extend(f.entries.keys().cloned());
        }
        names
    }
}

/// Extra variables on top of the base (loop items, template vars).
pub struct Layer {
    vars: SortedVars,
    parent: Option<Arc<Layer>>,
    cache: Mutex<foldhash::HashMap<String, Arc<Resolved>>>,
}

impl Layer {
    pub fn new(vars: Vars, parent: Option<Arc<Layer>>) -> Layer {
        Layer { vars: SortedVars::new(vars), parent, cache: Mutex::new(foldhash::HashMap::default()) }
    }

    pub(crate) fn find(&self, name: &str) -> Option<&Arc<VarValue>> {
        match self.vars.get(name) {
            Some(v) => Some(v),
            None => self.parent.as_ref().and_then(|p| p.find(name)),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug, Default)]
struct Frame {
    name: String,
    touched: Touched,
}

/// The state of one top-level evaluation, shared by nested renders.
#[derive(Debug, Default)]
struct CallState {
    frames: Vec<Frame>,
    root: Touched,
    undefined: BTreeSet<Undefined>,
    /// Results that must not be shared (part of a cycle, or cut by the
    /// nesting limit) but are reused within this call, so that a failing
    /// chain is not re-resolved again and again.
    tainted: HashMap<String, Arc<Resolved>>,
    /// Set by [`Call::render_template_text_traced`]: record in `nested_locals`
    /// the local variables read while another variable was being resolved.
    trace_nested_locals: bool,
    nested_locals: BTreeSet<String>,
}

/// The root context of one evaluation.
pub struct Scope {
    templar: Templar,
    site: Site,
    state: Arc<Mutex<CallState>>,
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<variables>")
    }
}

impl Object for Scope {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        if name == SCOPE_KEY {
            return Some(Value::from_dyn_object(self.clone()));
        }
        self.lookup(name)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::NonEnumerable
    }
}

impl Scope {
    pub fn from_state(state: &State) -> Option<Arc<Scope>> {
        state.lookup(SCOPE_KEY).and_then(|v| v.downcast_object::<Scope>())
    }

    pub fn site(&self) -> &Site {
        &self.site
    }

    pub fn lookups(&self) -> &Lookups {
        &self.templar.base.lookups
    }

    /// A scope with more variables on top, recording into the same report.
    pub fn with_locals(self: &Arc<Self>, vars: Vars) -> Arc<Scope> {
        Arc::new(Scope { templar: self.templar.with_locals(vars), site: self.site.clone(), state: self.state.clone() })
    }

    pub fn touch(&self, f: impl FnOnce(&mut Touched)) {
        let mut st = lock(&self.state);
        match st.frames.last_mut() {
            Some(frame) => f(&mut frame.touched),
            None => f(&mut st.root),
        }
    }

    fn merge_touched(&self, t: &Touched) {
        if t.is_empty() {
            return;
        }
        self.touch(|cur| cur.merge(t));
    }

    /// A variable by name, resolved; `None` when it does not exist.
    pub fn lookup(self: &Arc<Self>, name: &str) -> Option<Value> {
        if let Some(layer) = &self.templar.locals
            && let Some(v) = layer.find(name)
        {
            {
                let mut st = lock(&self.state);
                if st.trace_nested_locals && !st.frames.is_empty() {
                    st.nested_locals.insert(name.to_string());
                }
                match st.frames.last_mut() {
                    Some(frame) => frame.touched.uses_locals = true,
                    None => st.root.uses_locals = true,
                }
            }
            // Undefined (its template failed): `None` lets minijinja name it.
            return Some(self.resolve_cached(name, Entry::Var(v), Some(layer))).filter(|v| !v.is_undefined());
        }
        if let Some(entry) = self.templar.base.get(name) {
            return Some(self.resolve_cached(name, entry, None)).filter(|v| !v.is_undefined());
        }
        let special = self.special(name);
        if special.is_none() {
            self.touch(|t| {
                t.missed.insert(name.to_string());
            });
        }
        special
    }

    /// Magic variables Ansible always has, unless the caller set them.
    fn special(self: &Arc<Self>, name: &str) -> Option<Value> {
        match name {
            "vars" => Some(Value::from_object(VarsView { scope: self.clone() })),
            "hostvars" => Some(Value::from_object(HostVars { scope: self.clone() })),
            "ansible_facts" if self.templar.base.facts().is_some() => {
                Some(Value::from_object(FactsView { scope: self.clone() }))
            }
            "playbook_dir" => Some(Value::from(self.site.playbook_dir.clone())),
            "role_path" => self.site.role_dir.clone().map(Value::from),
            // Inventory membership: the caller knows it for the chosen environment.
            "groups"
            | "group_names"
            | "ansible_play_hosts"
            | "ansible_play_hosts_all"
            | "play_hosts"
            | "ansible_play_batch" => {
                let what = format!("{name} (inventory membership; not provided)");
                self.touch(|t| {
                    t.unknown.insert(what.clone());
                });
                Some(Value::from_object(Unknown { what }))
            }
            "role_name" => {
                self.site.role_dir.as_deref().map(|r| Value::from(r.rsplit('/').next().unwrap_or(r).to_string()))
            }
            _ => None,
        }
    }

    fn resolve_cached(self: &Arc<Self>, name: &str, entry: Entry<'_>, layer: Option<&Arc<Layer>>) -> Value {
        let locals = self.templar.locals.as_ref();
        let hit = match layer {
            // A loop-local variable is cached only with its own layer.
            Some(l) => lock(&l.cache).get(name).cloned(),
            None => locals.and_then(|l| lock(&l.cache).get(name).cloned()).or_else(|| {
                let hit = lock(&self.templar.base.cache).get(name).cloned()?;
                // Resolved while a name it needs was missing; these locals may define it.
                match locals {
                    Some(l) if hit.missed().any(|m| l.find(m).is_some()) => None,
                    _ => Some(hit),
                }
            }),
        };
        let hit = hit.or_else(|| lock(&self.state).tainted.get(name).cloned());
        if let Some(hit) = hit {
            if let Some(t) = &hit.touched {
                self.merge_touched(t);
            }
            return hit.value.clone();
        }
        // A cycle: the variable is being resolved further up this very call.
        {
            let mut st = lock(&self.state);
            if let Some(pos) = st.frames.iter().position(|f| f.name == name) {
                let mut chain: Vec<String> = st.frames[pos..].iter().map(|f| f.name.clone()).collect();
                chain.push(name.to_string());
                let msg = format!("variables refer to each other in a loop: {}", chain.join(" -> "));
                for f in st.frames[pos..].iter_mut() {
                    f.touched.tainted = true;
                }
                if let Some(top) = st.frames.last_mut() {
                    top.touched.errors.insert(msg);
                }
                return Value::UNDEFINED;
            }
            if st.frames.len() >= MAX_NESTING {
                let msg = format!("variables nest deeper than {MAX_NESTING} levels at `{name}`");
                for f in st.frames.iter_mut() {
                    f.touched.tainted = true;
                }
                if let Some(top) = st.frames.last_mut() {
                    top.touched.errors.insert(msg);
                }
                return Value::UNDEFINED;
            }
            st.frames.push(Frame { name: name.to_string(), touched: Touched::default() });
        }
        let value = self.resolve_entry(name, entry);
        let touched = {
            let mut st = lock(&self.state);
            let frame = st.frames.pop().unwrap_or_default();
            frame.touched
        };
        self.merge_touched(&touched);
        if touched.tainted {
            let resolved = Arc::new(Resolved::new(value.clone(), &touched));
            lock(&self.state).tainted.insert(name.to_string(), resolved);
        } else {
            let resolved = Arc::new(Resolved::new(value.clone(), &touched));
            if let Some(l) = layer {
                lock(&l.cache).insert(name.to_string(), resolved);
            } else if touched.uses_locals {
                if let Some(l) = &self.templar.locals {
                    lock(&l.cache).insert(name.to_string(), resolved);
                }
            } else {
                lock(&self.templar.base.cache).insert(name.to_string(), resolved);
            }
        }
        value
    }

    fn resolve_entry(self: &Arc<Self>, name: &str, entry: Entry<'_>) -> Value {
        match entry {
            Entry::Var(v) => match &**v {
                VarValue::Json(j) => self.convert(j, name, Mode::Lazy),
                VarValue::Secret(plain) => {
                    self.touch(|t| {
                        t.secrets.insert(name.to_string());
                    });
                    match plain {
                        Some(p) => Value::from(p.expose().clone()),
                        None => {
                            let what = format!("{name} (vault-encrypted, not decrypted)");
                            self.touch(|t| {
                                t.unknown.insert(what.clone());
                            });
                            Value::from_object(Unknown { what })
                        }
                    }
                }
                VarValue::Unknown(why) => {
                    let what = format!("{name} ({why})");
                    self.touch(|t| {
                        t.unknown.insert(what.clone());
                    });
                    Value::from_object(Unknown { what })
                }
            },
            Entry::Fact(FactEntry::Fact(j)) => json_to_value(j),
            Entry::Fact(FactEntry::Placeholder(j)) => {
                self.touch(|t| {
                    t.placeholders.insert(name.to_string());
                });
                json_to_value(j)
            }
            Entry::Fact(FactEntry::RuntimeFact) => {
                let what = format!("{name}{RUNTIME_FACT}");
                self.touch(|t| {
                    t.unknown.insert(what.clone());
                });
                Value::from_object(Unknown { what })
            }
        }
    }

    /// JSON to a template value, templating every string. `Lazy`: failures
    /// become undefined (recorded under `path`), as an Ansible variable that
    /// fails only when used. `Eager`: failures go straight to the report.
    fn convert(self: &Arc<Self>, j: &Json, path: &str, mode: Mode) -> Value {
        match j {
            Json::String(s) => {
                if !preprocess::is_template(s, Delims::ansible()) {
                    return Value::from(s.as_str());
                }
                match self.eval_yaml_string(s) {
                    Ok(v) => v,
                    Err(e) => {
                        self.record_failure(&e, path, mode);
                        Value::UNDEFINED
                    }
                }
            }
            Json::Array(items) => Value::from(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.convert(v, &format!("{path}[{i}]"), mode))
                    .collect::<Vec<_>>(),
            ),
            Json::Object(map) => {
                if map.len() == 1 {
                    if let Some(Json::String(text)) = map.get("__ansible_unsafe") {
                        return Value::from(text.as_str());
                    }
                    if map.contains_key("__ansible_vault") {
                        let label = if path.is_empty() { "(value)".to_string() } else { path.to_string() };
                        let what = format!("{label} (vault-encrypted, not decrypted)");
                        self.touch(|t| {
                            t.secrets.insert(label.clone());
                            t.unknown.insert(what.clone());
                        });
                        return Value::from_object(Unknown { what });
                    }
                    if let Some(why) = map.get("__migrate_unknown") {
                        let label = if path.is_empty() { "(value)".to_string() } else { path.to_string() };
                        let what = format!("{label} ({})", why.as_str().unwrap_or("only known at run time"));
                        self.touch(|t| {
                            t.unknown.insert(what.clone());
                        });
                        return Value::from_object(Unknown { what });
                    }
                }
                let mut out = Vec::<(Value, Value)>::with_capacity(map.len());
                for (k, v) in map {
                    let value = self.convert(v, &child_path(path, k), mode);
                    // A member whose template failed is left out: using it is then
                    // minijinja's "`cfg.x` is undefined", which names the path.
                    if !value.is_undefined() {
                        out.push((Value::from(k.as_str()), value));
                    }
                }
                Value::from_pairs(out)
            }
            other => json_to_value(other),
        }
    }

    fn record_failure(self: &Arc<Self>, e: &Error, path: &str, mode: Mode) {
        self.record_marks(e);
        if let Some(feature) = unknown_feature(e) {
            self.touch(|t| {
                t.unsupported.insert(feature);
            });
            return;
        }
        let undefined = self.undefined_in(e);
        match mode {
            Mode::Lazy => {
                if !undefined.is_empty() {
                    self.touch(|t| {
                        t.deferred.entry(path.to_string()).or_default().extend(undefined);
                    });
                } else if let Some(msg) = error_message(e) {
                    self.touch(|t| {
                        t.errors.insert(format!("{path}: {msg}"));
                    });
                }
            }
            Mode::Eager => {
                if !undefined.is_empty() {
                    lock(&self.state).undefined.extend(undefined);
                } else if let Some(msg) = error_message(e) {
                    self.touch(|t| {
                        t.errors.insert(msg);
                    });
                }
            }
        }
    }

    /// Marked errors raised where the scope is out of reach (the template
    /// loader) are recorded here; the others were recorded when raised.
    fn record_marks(&self, e: &Error) {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = cur {
            if let Some(d) = err.downcast_ref::<Error>().and_then(|mj| mj.detail()) {
                if let Some(what) = d.strip_prefix(UNSUPPORTED_MARK) {
                    let what = what.to_string();
                    self.touch(|t| {
                        t.unsupported.insert(what);
                    });
                } else if let Some(what) = d.strip_prefix(UNKNOWN_MARK) {
                    let what = what.to_string();
                    self.touch(|t| {
                        t.unknown.insert(what);
                    });
                }
            }
            cur = err.source();
        }
    }

    /// The undefined names an error is about, following recorded chains:
    /// `a` undefined because its template needed `b` reports `b` via `a`.
    fn undefined_in(&self, e: &Error) -> Vec<Undefined> {
        let names = undefined_names(e);
        if names.is_empty() {
            return Vec::new();
        }
        let st = lock(&self.state);
        let mut deferred: BTreeMap<&str, &BTreeSet<Undefined>> = BTreeMap::new();
        for t in st.frames.iter().map(|f| &f.touched).chain(std::iter::once(&st.root)) {
            for (k, v) in &t.deferred {
                deferred.insert(k.as_str(), v);
            }
        }
        let mut out = Vec::new();
        for name in names {
            match deferred.get(name.as_str()) {
                Some(causes) => {
                    for c in causes.iter() {
                        let mut via = vec![name.clone()];
                        via.extend(c.via.iter().cloned());
                        out.push(Undefined { name: c.name.clone(), via });
                    }
                }
                None => out.push(Undefined { name, via: Vec::new() }),
            }
        }
        out
    }

    /// A string from YAML: a single `{{ expr }}` keeps its native value,
    /// anything else renders to text.
    pub fn eval_yaml_string(self: &Arc<Self>, s: &str) -> Result<Value, Error> {
        let (overrides, body) = engine::parse_header(s).map_err(|m| Error::new(ErrorKind::SyntaxError, m))?;
        let dialect = if overrides.pairs.is_empty() {
            Cow::Borrowed(Dialect::yaml_shared())
        } else {
            Cow::Owned(dialect_for(Dialect::yaml_shared(), &overrides))
        };
        if overrides.pairs.is_empty()
            && let Some(expr) = preprocess::single_expression(body, &dialect.delims)
        {
            // `{{ name }}`: the value is the name's, as minijinja would load it from this
            // scope (which comes before its globals); anything else is compiled.
            if let Some(name) = preprocess::bare_name(expr)
                && let Some(v) = self.lookup(name)
            {
                return Ok(v);
            }
            let rewritten = preprocess::rewrite_expression(expr, true);
            let v = ENGINE.eval(&rewritten, Value::from_dyn_object(self.clone()))?;
            if !v.is_undefined() {
                return Ok(v);
            }
            // Printing it fails with minijinja's error naming the expression.
            self.render_text(body, &dialect, true)?;
            return Ok(v);
        }
        if overrides.pairs.is_empty()
            && let Some(text) = self.print_names(body, &dialect.delims, true)
        {
            return Ok(Value::from(keep_trailing_newlines(body, text)));
        }
        let source = preprocess::rewrite_template(body, &dialect.delims, true);
        let (text, native) = ENGINE.render_native(&dialect, &source, Value::from_dyn_object(self.clone()))?;
        if let Some(v) = native
            && v.kind() != ValueKind::String
        {
            return Ok(v);
        }
        Ok(Value::from(keep_trailing_newlines(body, text)))
    }

    /// Text and `{{ name }}`s (or `{{ name.attr }}`s) rendered without minijinja (see
    /// [`preprocess::name_template`]): each name's value printed as the formatter prints it,
    /// over the text minijinja's lexer reads ([`preprocess::lexed_source`]; the caller puts back
    /// the trailing newlines with [`keep_trailing_newlines`], as after a minijinja render). `None` when anything else is
    /// needed (another kind of template, delimiters other than Ansible's, a value that is
    /// undefined, unknown or `omit`): minijinja renders it then, looking the same names up
    /// again, which records nothing new. `native`: a render that would keep the native value
    /// of a lone `{{ name }}` (a YAML string); a lone name is printed there only when its value
    /// is a string, whose native value is its text, and never when the lexer drops nothing
    /// (the caller looked that up already). A render with text beside its value never keeps a
    /// native value.
    fn print_names(self: &Arc<Self>, body: &str, delims: &Delims, native: bool) -> Option<String> {
        if delims != Delims::ansible() {
            return None;
        }
        let lexed = preprocess::lexed_source(body);
        let pieces = preprocess::name_template(lexed, delims)?;
        let lone = match pieces.as_slice() {
            [] => return None,
            [preprocess::Piece::Name(_)] => true,
            _ => false,
        };
        if native && lone && lexed.len() == body.len() {
            return None;
        }
        let mut out = String::with_capacity(body.len() + 16);
        for piece in pieces {
            match piece {
                preprocess::Piece::Text(t) => out.push_str(t),
                preprocess::Piece::Name(path) => {
                    // `item.name`: the first name looked up, then each attribute read as minijinja
                    // reads it (`get_attr`); one that is missing leaves the render to minijinja.
                    let mut names = path.split('.');
                    let mut v = self.lookup(names.next()?)?;
                    for attr in names {
                        v = v.get_attr(attr).ok().filter(|a| !a.is_undefined())?;
                    }
                    if is_omit(&v) || unknown_of(&v).is_some() || (native && lone && v.kind() != ValueKind::String) {
                        return None;
                    }
                    out.push_str(&pyfmt::to_python_str(&v));
                }
            }
        }
        Some(out)
    }

    /// Renders template text to a string, keeping trailing newlines as Ansible does.
    pub fn render_text(self: &Arc<Self>, body: &str, dialect: &Dialect, from_yaml: bool) -> Result<String, Error> {
        // Text and bare names (most generated and many real template files): nothing to compile.
        if let Some(out) = self.print_names(body, &dialect.delims, false) {
            return Ok(keep_trailing_newlines(body, out));
        }
        let source = rewrite_template_again(body, &dialect.delims, from_yaml);
        let out = ENGINE.render(dialect, &source, Value::from_dyn_object(self.clone()))?;
        Ok(keep_trailing_newlines(body, out))
    }

    /// A template file's text rendered like the `template` module (or lookup).
    pub fn render_file_text(self: &Arc<Self>, text: &str, options: &FileOptions) -> Result<String, Error> {
        let (overrides, body) = engine::parse_header(text).map_err(|m| Error::new(ErrorKind::SyntaxError, m))?;
        let base = Dialect {
            delims: Delims {
                block: (options.block_start.clone(), options.block_end.clone()),
                variable: (options.variable_start.clone(), options.variable_end.clone()),
                comment: (options.comment_start.clone(), options.comment_end.clone()),
            },
            trim_blocks: options.trim_blocks,
            lstrip_blocks: options.lstrip_blocks,
        };
        let dialect = dialect_for(&base, &overrides);
        let newline = overrides
            .pairs
            .iter()
            .find_map(|(k, v)| match (k.as_str(), v) {
                ("newline_sequence", engine::OverrideValue::Str(s)) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_else(|| options.newline_sequence.clone());
        if overrides.pairs.iter().any(|(k, _)| k.starts_with("line_")) {
            note_scope(self, "`#jinja2:` line statement/comment prefixes are ignored".into());
        }
        let out = self.render_text(body, &dialect, false)?;
        Ok(if newline == "\n" { out } else { out.replace('\n', &newline) })
    }
}

/// The last template text a thread rewrote for [`Scope::render_text`]: its delimiters, whether it
/// came from YAML, the text, and the rewritten text (`None`: unchanged).
type LastRewrite = Option<(Delims, bool, String, Option<String>)>;

thread_local! {
    static LAST_REWRITE: std::cell::RefCell<LastRewrite> = const { std::cell::RefCell::new(None) };
}

/// [`preprocess::rewrite_template`], remembering the last text this thread rewrote: the rules
/// stage renders one template file two or three times in a row (with placeholders, with a
/// probe, with the values baked), and rewriting it again cost as much as comparing it once.
/// The result depends only on the arguments, so which thread remembers what does not matter.
fn rewrite_template_again<'a>(body: &'a str, delims: &Delims, from_yaml: bool) -> Cow<'a, str> {
    let hit = LAST_REWRITE.with_borrow(|last| match last {
        Some((d, y, text, rewritten)) if *y == from_yaml && text == body && d == delims => Some(rewritten.clone()),
        _ => None,
    });
    if let Some(rewritten) = hit {
        return rewritten.map_or(Cow::Borrowed(body), Cow::Owned);
    }
    let source = preprocess::rewrite_template(body, delims, from_yaml);
    let rewritten = match &source {
        Cow::Borrowed(_) => None,
        Cow::Owned(s) => Some(s.clone()),
    };
    LAST_REWRITE.set(Some((delims.clone(), from_yaml, body.to_string(), rewritten)));
    source
}

/// Jinja drops one trailing newline of the source; Ansible adds back as many
/// as the source had beyond those of the output.
fn keep_trailing_newlines(source: &str, mut out: String) -> String {
    let want = source.len() - source.trim_end_matches('\n').len();
    let have = out.len() - out.trim_end_matches('\n').len();
    for _ in have..want {
        out.push('\n');
    }
    out
}

fn note_scope(scope: &Scope, text: String) {
    scope.touch(|t| {
        t.notes.insert(text);
    });
}

fn dialect_for(base: &Dialect, overrides: &engine::Overrides) -> Dialect {
    let mut d = base.clone();
    for (k, v) in &overrides.pairs {
        match (k.as_str(), v) {
            ("trim_blocks", engine::OverrideValue::Bool(b)) => d.trim_blocks = *b,
            ("lstrip_blocks", engine::OverrideValue::Bool(b)) => d.lstrip_blocks = *b,
            ("block_start_string", engine::OverrideValue::Str(s)) => d.delims.block.0 = s.clone(),
            ("block_end_string", engine::OverrideValue::Str(s)) => d.delims.block.1 = s.clone(),
            ("variable_start_string", engine::OverrideValue::Str(s)) => d.delims.variable.0 = s.clone(),
            ("variable_end_string", engine::OverrideValue::Str(s)) => d.delims.variable.1 = s.clone(),
            ("comment_start_string", engine::OverrideValue::Str(s)) => d.delims.comment.0 = s.clone(),
            ("comment_end_string", engine::OverrideValue::Str(s)) => d.delims.comment.1 = s.clone(),
            _ => {}
        }
    }
    d
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Lazy,
    Eager,
}

fn child_path(path: &str, key: &str) -> String {
    let ident = !key.is_empty()
        && key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match (path.is_empty(), ident) {
        (true, _) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (false, false) => format!("{path}[{key:?}]"),
    }
}

static UNDEFINED_NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`([^`]+)` is undefined").expect("static regex"));

/// The expressions minijinja names in an undefined error (`foo.bar`).
fn undefined_names(e: &Error) -> Vec<String> {
    let mut names = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(mj) = err.downcast_ref::<Error>()
            && let Some(detail) = mj.detail()
        {
            for c in UNDEFINED_NAME.captures_iter(detail) {
                names.push(c[1].to_string());
            }
        }
        cur = err.source();
    }
    if names.is_empty() && e.kind() == ErrorKind::UndefinedError {
        names.push("(an undefined value)".to_string());
    }
    names.sort();
    names.dedup();
    names
}

static UNKNOWN_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:(filter|test) )?(\S+) is unknown").expect("static regex"));

/// A filter, test or function minijinja does not know: an Ansible feature
/// (often from a collection) that is not evaluated.
fn unknown_feature(e: &Error) -> Option<String> {
    let kind = match e.kind() {
        ErrorKind::UnknownFilter => "filter",
        ErrorKind::UnknownTest => "test",
        ErrorKind::UnknownFunction => "function",
        _ => return None,
    };
    let detail = e.detail().unwrap_or_default();
    let name = UNKNOWN_NAME.captures(detail).map(|c| c[2].to_string()).unwrap_or_else(|| detail.to_string());
    let name = match name.strip_prefix(preprocess::FQCN_PREFIX) {
        Some(mangled) => mangled.replace("__", "."),
        None => name,
    };
    Some(format!("{kind} `{name}`"))
}

/// The message of a non-undefined error, or `None` when the error carries
/// a mark (already in the report).
fn error_message(e: &Error) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(mj) = err.downcast_ref::<Error>()
            && let Some(d) = mj.detail()
            && (d.starts_with(UNSUPPORTED_MARK) || d.starts_with(UNKNOWN_MARK))
        {
            return None;
        }
        cur = err.source();
    }
    if unknown_feature(e).is_some() {
        return None;
    }
    let mut msg = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    if let Some(line) = e.line() {
        msg.push_str(&format!(" (template line {line})"));
    }
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(&format!("; {s}"));
        src = s.source();
    }
    Some(msg)
}

pub fn json_to_value(j: &Json) -> Value {
    match j {
        Json::Null => Value::from(()),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(a) => Value::from(a.iter().map(json_to_value).collect::<Vec<_>>()),
        Json::Object(m) => Value::from_pairs(m.iter().map(|(k, v)| (Value::from(k.as_str()), json_to_value(v)))),
    }
}

/// What final conversion to JSON found besides the value.
#[derive(Default)]
struct Finish {
    undefined_paths: Vec<String>,
    unknown: Vec<String>,
}

/// Template value to JSON for the caller: `omit` is dropped from maps and
/// lists (Ansible does that when it finalises a result).
fn value_to_json(v: &Value, path: &str, fin: &mut Finish) -> Option<Json> {
    if is_omit(v) {
        return None;
    }
    if let Some(what) = unknown_of(v) {
        fin.unknown.push(what.to_string());
        return Some(Json::Null);
    }
    Some(match v.kind() {
        ValueKind::Undefined => {
            fin.undefined_paths.push(path.to_string());
            Json::Null
        }
        ValueKind::None => Json::Null,
        ValueKind::Bool => Json::Bool(v.is_true()),
        ValueKind::Number => {
            if let Some(i) = v.as_i64() {
                Json::from(i)
            } else if let Ok(u) = u64::try_from(v.clone()) {
                Json::from(u)
            } else if v.is_integer() {
                // Beyond 64 bits: keep the digits rather than lose precision.
                Json::String(v.to_string())
            } else {
                let f = f64::try_from(v.clone()).unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f).map(Json::Number).unwrap_or(Json::String(pyfmt::float_repr(f)))
            }
        }
        ValueKind::String => Json::String(v.as_str().unwrap_or_default().to_string()),
        ValueKind::Bytes => Json::String(String::from_utf8_lossy(v.as_bytes().unwrap_or_default()).into_owned()),
        ValueKind::Seq | ValueKind::Iterable => {
            let mut out = Vec::new();
            if let Ok(iter) = v.try_iter() {
                for (i, item) in iter.enumerate() {
                    if let Some(j) = value_to_json(&item, &format!("{path}[{i}]"), fin) {
                        out.push(j);
                    }
                }
            }
            Json::Array(out)
        }
        ValueKind::Map => {
            let mut out = serde_json::Map::new();
            if let Ok(iter) = v.try_iter() {
                for key in iter {
                    let k = match key.as_str() {
                        Some(s) => s.to_string(),
                        None => pyfmt::to_python_str_keep_none(&key),
                    };
                    let item = v.get_item(&key).unwrap_or_default();
                    if let Some(j) = value_to_json(&item, &child_path(path, &k), fin) {
                        out.insert(k, j);
                    }
                }
            }
            Json::Object(out)
        }
        _ => Json::String(v.to_string()),
    })
}

/// `vars`: every variable of the scope by name.
#[derive(Debug)]
struct VarsView {
    scope: Arc<Scope>,
}

impl Object for VarsView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.scope.lookup(key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut names = self.scope.templar.base.names();
        let mut layer = self.scope.templar.locals.clone();
        while let Some(l) = layer {
            names.extend(l.vars.names().map(str::to_string));
            layer = l.parent.clone();
        }
        Enumerator::Values(names.into_iter().map(Value::from).collect())
    }
}

/// `hostvars`: this host's variables; other hosts are unknown.
#[derive(Debug)]
struct HostVars {
    scope: Arc<Scope>,
}

impl Object for HostVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let host = key.as_str()?;
        let me = self.scope.lookup("inventory_hostname");
        if me.as_ref().and_then(|v| v.as_str()) == Some(host) {
            return Some(Value::from_object(VarsView { scope: self.scope.clone() }));
        }
        let what = format!("hostvars[{host:?}] (variables of another host)");
        self.scope.touch(|t| {
            t.unknown.insert(what.clone());
        });
        Some(Value::from_object(Unknown { what }))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::NonEnumerable
    }
}

/// `ansible_facts`: the simulated facts, prefix-less; runtime-only ones are unknown.
#[derive(Debug)]
struct FactsView {
    scope: Arc<Scope>,
}

impl Object for FactsView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        let facts = self.scope.templar.base.facts()?;
        if facts.is_runtime_only(name) {
            let what = format!("ansible_facts.{name}{RUNTIME_FACT}");
            self.scope.touch(|t| {
                t.unknown.insert(what.clone());
            });
            return Some(Value::from_object(Unknown { what }));
        }
        let v = facts.get(name)?;
        if facts.is_placeholder(name) {
            self.scope.touch(|t| {
                t.placeholders.insert(format!("ansible_facts.{name}"));
            });
        }
        Some(json_to_value(v))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.scope.templar.base.facts() {
            Some(f) => Enumerator::Values(f.values().keys().map(|k| Value::from(k.as_str())).collect()),
            None => Enumerator::Empty,
        }
    }
}

/// `__ansible_chain(base, k1, k2, ...)`: attribute/item access that yields
/// undefined instead of failing when a link is missing (see `preprocess`).
fn chain(base: Value, keys: Rest<Value>) -> Value {
    let mut cur = base;
    for key in keys.iter() {
        if cur.is_undefined() || cur.is_none() {
            return Value::UNDEFINED;
        }
        cur = match key.as_str() {
            Some(name) => match cur.get_attr(name) {
                Ok(v) if !v.is_undefined() => v,
                _ => cur.get_item(key).unwrap_or(Value::UNDEFINED),
            },
            None => cur.get_item(key).unwrap_or(Value::UNDEFINED),
        };
    }
    cur
}

pub fn register(env: &mut Environment<'static>) {
    env.add_function(preprocess::CHAIN_FN, chain);
    env.add_global("omit", Value::from_object(Omit));
}

/// One top-level evaluation: a fresh report, a fresh scope.
pub struct Call {
    scope: Arc<Scope>,
}

impl Call {
    pub fn new(templar: &Templar, site: &Site) -> Call {
        Call {
            scope: Arc::new(Scope {
                templar: templar.clone(),
                site: site.clone(),
                state: Arc::new(Mutex::new(CallState::default())),
            }),
        }
    }

    /// The report of everything recorded, plus the failure `err` if any.
    fn report(&self, err: Option<&Error>, fin: Finish) -> Report {
        let mut undefined: BTreeSet<Undefined> = BTreeSet::new();
        if let Some(e) = err {
            undefined.extend(self.scope.undefined_in(e));
        }
        let st = lock(&self.scope.state);
        undefined.extend(st.undefined.iter().cloned());
        for p in fin.undefined_paths {
            match st.root.deferred.get(&p) {
                Some(causes) => undefined.extend(causes.iter().map(|c| {
                    let mut via = vec![p.clone()];
                    via.extend(c.via.iter().cloned());
                    Undefined { name: c.name.clone(), via }
                })),
                None => {
                    undefined.insert(Undefined { name: p, via: Vec::new() });
                }
            }
        }
        let t = &st.root;
        let mut unsupported = t.unsupported.clone();
        if let Some(feature) = err.and_then(unknown_feature) {
            unsupported.insert(feature);
        }
        let mut errors: BTreeSet<String> = t.errors.clone();
        if let Some(e) = err
            && undefined_names(e).is_empty()
            && let Some(m) = error_message(e)
        {
            errors.insert(m);
        }
        let mut unknown = t.unknown.clone();
        unknown.extend(fin.unknown);
        Report {
            undefined: undefined.into_iter().collect(),
            unsupported: unsupported.into_iter().collect(),
            unknown: unknown.into_iter().collect(),
            errors: errors.into_iter().collect(),
            secrets: t.secrets.iter().cloned().collect(),
            placeholders: t.placeholders.iter().cloned().collect(),
            notes: t.notes.iter().cloned().collect(),
        }
    }

    fn finish<T>(&self, value: Result<Option<T>, Error>, fin: Finish) -> Rendered<T> {
        let (value, err) = match value {
            Ok(v) => (v, None),
            Err(e) => (None, Some(e)),
        };
        if let Some(e) = &err {
            self.scope.record_marks(e);
        }
        let mut report = self.report(err.as_ref(), fin);
        if err.is_some() && !report.failed() {
            // Never let a failure pass for `omit`.
            report.errors.push("the evaluation failed without a reason (please report)".into());
        }
        let output = match value {
            _ if report.failed() => Output::Failed,
            None => Output::Omit,
            Some(v) if !report.secrets.is_empty() => Output::Sensitive(Sensitive::new(v)),
            Some(v) => Output::Value(v),
        };
        Rendered { output, report }
    }

    pub fn render_str(&self, text: &str) -> Rendered<String> {
        let result = if preprocess::is_template(text, Delims::ansible()) {
            self.scope.eval_yaml_string(text)
        } else {
            Ok(Value::from(text))
        };
        let mut fin = Finish::default();
        let result = result.map(|v| {
            if is_omit(&v) {
                None
            } else {
                if let Some(what) = unknown_of(&v) {
                    fin.unknown.push(what.to_string());
                }
                // The whole value is checked for omit/unknown/undefined parts.
                let _ = value_to_json(&v, "(value)", &mut fin);
                Some(pyfmt::to_python_str(&v))
            }
        });
        self.finish(result, fin)
    }

    pub fn resolve_value(&self, value: &Json) -> Rendered<Json> {
        let v = self.scope.convert(value, "", Mode::Eager);
        let mut fin = Finish::default();
        let out = value_to_json(&v, "", &mut fin);
        // Undefined leaves were reported when they failed (eager mode).
        fin.undefined_paths.clear();
        self.finish(Ok(out), fin)
    }

    pub fn resolve_var(&self, name: &str) -> Rendered<Json> {
        let mut fin = Finish::default();
        let result = match self.scope.lookup(name) {
            None => {
                lock(&self.scope.state).undefined.insert(Undefined { name: name.to_string(), via: Vec::new() });
                Ok(Some(Json::Null))
            }
            Some(v) => Ok(value_to_json(&v, name, &mut fin)),
        };
        self.finish(result, fin)
    }

    pub fn eval_condition(&self, when: &str) -> Condition {
        let mut fin = Finish::default();
        let (value, err) = match self.condition_value(when) {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(e)),
        };
        if let Some(v) = &value {
            if let Some(what) = unknown_of(v) {
                fin.unknown.push(what.to_string());
            } else if v.kind() != ValueKind::Bool {
                note_scope(
                    &self.scope,
                    format!(
                        "conditional `{when}` is a {} rather than a boolean; its truthiness is used \
                         (Ansible 2.19+ rejects this)",
                        v.kind()
                    ),
                );
            }
        }
        let report = self.report(err.as_ref(), fin);
        let truth = match value {
            Some(v) if !report.failed() => {
                if v.is_true() {
                    Truth::True
                } else {
                    Truth::False
                }
            }
            _ => Truth::Unknown,
        };
        Condition { truth, report }
    }

    fn condition_value(&self, when: &str) -> Result<Value, Error> {
        let when = when.trim();
        let expr: String = if preprocess::is_template(when, Delims::ansible()) {
            // `when: "{{ x }}"`: templated first; a string result is then an expression.
            let v = self.scope.eval_yaml_string(when)?;
            match v.as_str() {
                Some(s) => s.to_string(),
                None => return Ok(v),
            }
        } else {
            when.to_string()
        };
        let expr = preprocess::rewrite_expression(&expr, false);
        let v = ENGINE.eval(&expr, Value::from_dyn_object(self.scope.clone()))?;
        if v.is_undefined() {
            // An expression hands back undefined silently; a test of it inside
            // `{% if %}` fails with the undefined expression's name, as Ansible does.
            let probe = format!("{{% if {expr} %}}{{% endif %}}");
            self.scope.render_text(&probe, &Dialect::yaml(), false)?;
        }
        Ok(v)
    }

    pub fn render_file(&self, src: &str, options: &FileOptions) -> Rendered<String> {
        let found = super::lookups::find_file(&self.scope, "templates", src);
        match found {
            Ok((path, text)) => self.render_template_text(&text, &path, options),
            Err(e) => {
                let fin = Finish::default();
                match e {
                    super::lookups::FindError::Refused(what) => {
                        self.scope.touch(|t| {
                            t.unsupported.insert(what);
                        });
                    }
                    super::lookups::FindError::Missing(msg) => {
                        self.scope.touch(|t| {
                            t.errors.insert(msg);
                        });
                    }
                }
                self.finish(Ok(None::<String>), fin)
            }
        }
    }

    pub fn render_template_text(&self, text: &str, name: &str, options: &FileOptions) -> Rendered<String> {
        let scope = self.scope.with_locals(template_vars(&self.scope, name, options.dest.as_deref()));
        let result = scope.render_file_text(text, options).map(Some);
        self.finish(result, Finish::default())
    }

    /// [`Self::render_template_text`], also naming the local variables that were
    /// read while another variable was being resolved (`b: "{{ a }}"` read `a`):
    /// a local read only by the template itself cannot reach the output any
    /// other way than through what the template does with it.
    pub fn render_template_text_traced(
        &self,
        text: &str,
        name: &str,
        options: &FileOptions,
    ) -> (Rendered<String>, BTreeSet<String>) {
        lock(&self.scope.state).trace_nested_locals = true;
        let rendered = self.render_template_text(text, name, options);
        let nested = std::mem::take(&mut lock(&self.scope.state).nested_locals);
        (rendered, nested)
    }

    pub fn query(&self, plugin: &str, terms: &[Json]) -> Rendered<Json> {
        let terms: Vec<Value> = terms.iter().map(json_to_value).collect();
        let result = super::lookups::run_plugin(&self.scope, plugin, &terms, &BTreeMap::new());
        let mut fin = Finish::default();
        let result = result.map(|v| value_to_json(&Value::from(v), "", &mut fin));
        self.finish(result, fin)
    }
}

/// The variables the `template` module adds (`ansible_managed`, `template_*`).
pub fn template_vars(scope: &Arc<Scope>, path: &str, dest: Option<&str>) -> Vars {
    let mut vars = Vars::new();
    if scope.lookup("ansible_managed").is_none() {
        vars.set("ansible_managed", Json::from("Ansible managed"));
    }
    vars.set("template_path", Json::from(path));
    vars.set("template_fullpath", Json::from(path));
    vars.set("template_destpath", dest.map(Json::from).unwrap_or(Json::Null));
    for (name, why) in [
        ("template_host", "the host that ran Ansible"),
        ("template_uid", "the owner of the template on the machine that ran Ansible"),
        ("template_run_date", "when Ansible ran"),
        ("template_mtime", "the template's modification time on the machine that ran Ansible"),
    ] {
        vars.set_unknown(name, why);
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The remembered rewrite gives what a fresh rewrite gives, whatever came before it
    /// (the same text again, another text, the same text with other delimiters or from YAML).
    #[test]
    fn remembered_rewrites_equal_fresh_ones() {
        let custom = Delims {
            block: ("[%".into(), "%]".into()),
            variable: ("[[".into(), "]]".into()),
            comment: ("[#".into(), "#]".into()),
        };
        let texts = [
            "plain {{ a }}\n",
            "{% if a.b is defined %}{{ 'x\\y' }}{% endif %}\n",
            "[[ a.b is defined ]] {{ 'x\\y' }}",
            "{{ 'x\\y' }}",
            "",
        ];
        let mut changed = 0;
        for _ in 0..2 {
            for text in texts {
                for delims in [Delims::ansible(), &custom] {
                    for from_yaml in [false, true, false] {
                        let fresh = preprocess::rewrite_template(text, delims, from_yaml);
                        changed += usize::from(matches!(fresh, Cow::Owned(_)));
                        for _ in 0..2 {
                            assert_eq!(rewrite_template_again(text, delims, from_yaml), fresh, "{text:?} {from_yaml}");
                        }
                    }
                }
            }
        }
        // Both kinds of result were remembered.
        assert!(changed > 0 && changed < 60, "{changed}");
    }
}
