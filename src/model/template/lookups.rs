//! `lookup()` / `query()` / `q()` and where lookups may read from.
//!
//! `env` reads a map the caller provides (the real process environment only
//! when the caller asks for it: Ansible's `env` lookup describes the machine
//! that ran Ansible, not the container). `file`, `template` and
//! `first_found` read repository files through the caller's [`FileReader`],
//! searching the role, then the playbook directory, like Ansible; absolute
//! paths and paths that climb out of the repository are refused. `vars` and
//! the list plugins behind `with_*` loops are evaluated. Every other plugin
//! (`pipe`, `password`, `url`, `aws_ssm`...) is reported unsupported and
//! never produces a value.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use minijinja::value::{Rest, Value, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind, State};
use serde_json::Value as Json;

use super::FileOptions;
use super::filters::{get_opt, split_kwargs};
use super::pyfmt;
use super::scope::{Scope, UNKNOWN_MARK, UNSUPPORTED_MARK, template_vars};
use crate::source::SourceSet;

/// Reads repository files for lookups and `template:` sources.
pub trait FileReader: Send + Sync {
    /// The text of repo-relative `path`; `Ok(None)` when there is no such file.
    fn read_text(&self, path: &str) -> Result<Option<String>, String>;
}

impl FileReader for SourceSet {
    fn read_text(&self, path: &str) -> Result<Option<String>, String> {
        match self.get(path) {
            None => Ok(None),
            Some(file) => file.text().map(|t| Some(t.to_string())).map_err(|p| p.message()),
        }
    }
}

/// Where `lookup('env', ...)` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvSource {
    /// Only these variables exist; any other name is unknown (not empty).
    Map(BTreeMap<String, String>),
    /// The environment of this process, with Ansible's semantics (missing
    /// is the `default`, `''` without one). Only when the caller says so.
    Process,
}

/// The sources lookups may read.
#[derive(Clone)]
pub struct Lookups {
    pub env: EnvSource,
    pub files: Option<Arc<dyn FileReader>>,
}

impl Default for Lookups {
    fn default() -> Lookups {
        Lookups { env: EnvSource::Map(BTreeMap::new()), files: None }
    }
}

impl fmt::Debug for Lookups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lookups").field("env", &self.env).field("files", &self.files.is_some()).finish()
    }
}

impl Lookups {
    pub fn new(env: EnvSource, files: Option<Arc<dyn FileReader>>) -> Lookups {
        Lookups { env, files }
    }
}

pub fn register(env: &mut Environment<'static>) {
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
}

fn scope_of(state: &State) -> Result<Arc<Scope>, Error> {
    Scope::from_state(state).ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "lookups need the variable scope"))
}

fn lookup(state: &State, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    call(state, args, false)
}

fn query(state: &State, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    call(state, args, true)
}

fn call(state: &State, args: Rest<ValueOrKwargs>, always_list: bool) -> Result<Value, Error> {
    let args = args.into_values();
    let scope = scope_of(state)?;
    let (pos, kw) = split_kwargs(&args);
    let Some(name) = pos.first().and_then(|v| v.as_str()).map(str::to_string) else {
        return Err(Error::new(ErrorKind::InvalidOperation, "lookup() needs a plugin name"));
    };
    let mut kwargs: BTreeMap<String, Value> = kw.into_iter().collect();
    let wantlist = always_list || kwargs.remove("wantlist").is_some_and(|v| v.is_true());
    let errors = kwargs.remove("errors").and_then(|v| v.as_str().map(str::to_string)).unwrap_or("strict".into());
    let mut terms = Vec::with_capacity(pos.len().saturating_sub(1));
    for t in &pos[1..] {
        if t.is_undefined() {
            minijinja::value::StringInput::new(state, t)?;
        }
        // Ansible templates lookup terms once more: `lookup('file', '{{ role_path }}/x')`.
        match t.as_str() {
            Some(s) if crate::model::template::preprocess::is_template(s, &Default::default()) => {
                terms.push(scope.eval_yaml_string(s)?);
            }
            _ => terms.push(t.clone()),
        }
    }
    let result = match run_plugin(&scope, &name, &terms, &kwargs) {
        Ok(r) => r,
        Err(e) if is_marked(&e) || errors == "strict" => return Err(e),
        Err(_) => {
            scope.touch(|t| {
                t.notes.insert(format!("lookup('{name}') failed and was ignored (errors={errors})"));
            });
            return Ok(if wantlist { Value::from(Vec::<Value>::new()) } else { Value::from(()) });
        }
    };
    if wantlist {
        return Ok(Value::from(result));
    }
    Ok(match result.len() {
        0 => Value::from(result),
        1 => result.into_iter().next().unwrap_or_default(),
        _ if result.iter().all(|v| v.kind() == ValueKind::String) => {
            Value::from(result.iter().map(|v| v.as_str().unwrap_or_default()).collect::<Vec<_>>().join(","))
        }
        _ => Value::from(result),
    })
}

fn is_marked(e: &Error) -> bool {
    e.detail().is_some_and(|d| d.starts_with(UNSUPPORTED_MARK) || d.starts_with(UNKNOWN_MARK))
}

fn unsupported(scope: &Scope, what: String) -> Error {
    let msg = format!("{UNSUPPORTED_MARK}{what}");
    scope.touch(|t| {
        t.unsupported.insert(what);
    });
    Error::new(ErrorKind::InvalidOperation, msg)
}

fn unknown(scope: &Scope, what: String) -> Error {
    let msg = format!("{UNKNOWN_MARK}{what}");
    scope.touch(|t| {
        t.unknown.insert(what);
    });
    Error::new(ErrorKind::InvalidOperation, msg)
}

fn failure(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn text(v: &Value) -> String {
    pyfmt::to_python_str_keep_none(v)
}

fn flatten_one(terms: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for t in terms {
        if matches!(t.kind(), ValueKind::Seq | ValueKind::Iterable) {
            out.extend(t.try_iter().into_iter().flatten());
        } else {
            out.push(t.clone());
        }
    }
    out
}

/// Runs lookup plugin `name` (with or without `ansible.builtin.`).
pub fn run_plugin(
    scope: &Arc<Scope>,
    name: &str,
    terms: &[Value],
    kwargs: &BTreeMap<String, Value>,
) -> Result<Vec<Value>, Error> {
    let short = name.strip_prefix("ansible.builtin.").or_else(|| name.strip_prefix("ansible.legacy.")).unwrap_or(name);
    let kw = |k: &str| kwargs.get(k).cloned();
    match short {
        "env" => {
            let mut out = Vec::new();
            for t in flatten_one(terms) {
                let var = text(&t);
                let value = match &scope.lookups().env {
                    EnvSource::Map(m) => match m.get(&var) {
                        Some(v) => v.clone(),
                        None => {
                            return Err(unknown(
                                scope,
                                format!("lookup('env', '{var}'): the environment of the machine that ran Ansible"),
                            ));
                        }
                    },
                    EnvSource::Process => match std::env::var(&var) {
                        Ok(v) => v,
                        Err(_) => kw("default").map(|d| text(&d)).unwrap_or_default(),
                    },
                };
                out.push(Value::from(value));
            }
            Ok(out)
        }
        "file" => {
            let lstrip = kw("lstrip").is_some_and(|v| v.is_true());
            let rstrip = kw("rstrip").map(|v| v.is_true()).unwrap_or(true);
            let mut out = Vec::new();
            for t in flatten_one(terms) {
                let (_, mut contents) = find_or_fail(scope, "files", &text(&t), "file")?;
                if lstrip {
                    contents = contents.trim_start().to_string();
                }
                if rstrip {
                    contents = contents.trim_end().to_string();
                }
                out.push(Value::from(contents));
            }
            Ok(out)
        }
        "template" => {
            let mut options = FileOptions::default();
            if let Some(v) = kw("trim_blocks") {
                options.trim_blocks = v.is_true();
            }
            for (key, slot) in [
                ("variable_start_string", &mut options.variable_start),
                ("variable_end_string", &mut options.variable_end),
                ("comment_start_string", &mut options.comment_start),
                ("comment_end_string", &mut options.comment_end),
            ] {
                if let Some(v) = kw(key) {
                    *slot = text(&v);
                }
            }
            let extra = kw("template_vars");
            let mut out = Vec::new();
            for t in flatten_one(terms) {
                let (_, contents) = find_or_fail(scope, "templates", &text(&t), "template")?;
                let mut vars = template_vars(scope, &text(&t), None);
                if let Some(extra) = &extra
                    && extra.kind() == ValueKind::Map
                {
                    for k in extra.try_iter()? {
                        let v = extra.get_item(&k)?;
                        vars.set(text(&k), value_to_plain_json(&v));
                    }
                }
                let child = scope.with_locals(vars);
                out.push(Value::from(child.render_file_text(&contents, &options)?));
            }
            Ok(out)
        }
        "vars" => {
            let mut out = Vec::new();
            for t in flatten_one(terms) {
                let var = text(&t);
                match scope.lookup(&var) {
                    Some(v) if !v.is_undefined() => out.push(v),
                    _ => match kw("default").filter(|d| !d.is_none()) {
                        Some(d) => out.push(d),
                        None => {
                            return Err(Error::new(ErrorKind::UndefinedError, format!("`{var}` is undefined")));
                        }
                    },
                }
            }
            Ok(out)
        }
        "first_found" => first_found(scope, terms, kwargs),
        "items" => Ok(flatten_one(terms)),
        "list" => Ok(terms.to_vec()),
        "indexed_items" => {
            Ok(flatten_one(terms).into_iter().enumerate().map(|(i, v)| Value::from(vec![Value::from(i), v])).collect())
        }
        "flattened" => {
            fn rec(out: &mut Vec<Value>, v: &Value) {
                if matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable) {
                    for i in v.try_iter().into_iter().flatten() {
                        rec(out, &i);
                    }
                } else if !v.is_none() {
                    out.push(v.clone());
                }
            }
            let mut out = Vec::new();
            for t in terms {
                rec(&mut out, t);
            }
            Ok(out)
        }
        "dict" => {
            let mut out = Vec::new();
            for t in terms {
                if t.kind() != ValueKind::Map {
                    return Err(failure("with_dict expects a dict"));
                }
                for k in t.try_iter()? {
                    let v = t.get_item(&k)?;
                    out.push(Value::from_pairs([("key", k), ("value", v)]));
                }
            }
            Ok(out)
        }
        "nested" | "cartesian" => {
            let lists: Vec<Vec<Value>> =
                terms.iter().map(|t| t.try_iter().map(|i| i.collect())).collect::<Result<_, _>>()?;
            let mut result: Vec<Vec<Value>> = vec![Vec::new()];
            for l in &lists {
                result = result
                    .into_iter()
                    .flat_map(|prefix| {
                        l.iter().map(move |x| {
                            let mut p = prefix.clone();
                            p.push(x.clone());
                            p
                        })
                    })
                    .collect();
            }
            if lists.is_empty() {
                return Err(failure("with_nested requires at least one element in the nested list"));
            }
            Ok(result.into_iter().map(Value::from).collect())
        }
        "together" => {
            let lists: Vec<Vec<Value>> =
                terms.iter().map(|t| t.try_iter().map(|i| i.collect())).collect::<Result<_, _>>()?;
            let n = lists.iter().map(Vec::len).max().unwrap_or(0);
            let row = |i: usize| lists.iter().map(|l| l.get(i).cloned().unwrap_or(Value::from(()))).collect::<Vec<_>>();
            Ok((0..n).map(|i| Value::from(row(i))).collect())
        }
        "subelements" => {
            let (Some(obj), Some(key)) = (terms.first(), terms.get(1)) else {
                return Err(failure("subelements lookup expects a list of two or three items"));
            };
            let skip = terms.get(2).and_then(|f| get_opt(f, &Value::from("skip_missing"))).is_some_and(|v| v.is_true());
            let flat: Vec<Value> = if obj.kind() == ValueKind::Map { vec![obj.clone()] } else { Vec::new() };
            let obj = if flat.is_empty() { obj.clone() } else { Value::from(flat) };
            subelements_lookup(&obj, key, skip)
        }
        "sequence" => sequence(terms),
        other => Err(unsupported(scope, format!("lookup('{other}')"))),
    }
}

/// `with_subelements`: pairs of (element, sub-item) for `key` (dotted path).
fn subelements_lookup(obj: &Value, key: &Value, skip: bool) -> Result<Vec<Value>, Error> {
    let elements: Vec<Value> = obj.try_iter()?.collect();
    let keys: Vec<Value> = text(key).split('.').map(Value::from).collect();
    let mut out = Vec::new();
    for el in elements {
        let mut values = el.clone();
        let mut missing = false;
        for k in &keys {
            match get_opt(&values, k) {
                Some(v) => values = v,
                None if skip => {
                    missing = true;
                    break;
                }
                None => return Err(failure(format!("could not find '{k}' key in iterated item"))),
            }
        }
        if missing {
            continue;
        }
        if !matches!(values.kind(), ValueKind::Seq | ValueKind::Iterable) {
            return Err(failure(format!("the key {} should point to a list", text(key))));
        }
        for v in values.try_iter()? {
            out.push(Value::from(vec![el.clone(), v]));
        }
    }
    Ok(out)
}

/// `with_sequence` / `lookup('sequence', 'start=1 end=5 format=web%02d')`.
fn sequence(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        let spec = text(t);
        let (mut start, mut end, mut count, mut stride, mut format) = (1i64, None, None, 1i64, "%d".to_string());
        let parse_num = |s: &str| -> Result<i64, Error> {
            let s = s.trim();
            let (neg, s) = match s.strip_prefix('-') {
                Some(r) => (true, r),
                None => (false, s),
            };
            let n = if let Some(h) = s.strip_prefix("0x") {
                i64::from_str_radix(h, 16)
            } else if let Some(o) = s.strip_prefix("0o").or_else(|| s.strip_prefix('0').filter(|r| !r.is_empty())) {
                i64::from_str_radix(o, 8)
            } else {
                s.parse()
            }
            .map_err(|_| failure(format!("can't parse {s:?} as an integer")))?;
            Ok(if neg { -n } else { n })
        };
        if spec.contains('=') {
            for part in spec.split([' ', ',']).filter(|p| !p.is_empty()) {
                let Some((k, v)) = part.split_once('=') else {
                    return Err(failure(format!("bad sequence term {part:?}")));
                };
                match k {
                    "start" => start = parse_num(v)?,
                    "end" => end = Some(parse_num(v)?),
                    "count" => count = Some(parse_num(v)?),
                    "stride" => stride = parse_num(v)?,
                    "format" => format = v.to_string(),
                    _ => return Err(failure(format!("unrecognized arguments to with_sequence: {k}"))),
                }
            }
        } else {
            let (range, fmt) = match spec.split_once(':') {
                Some((r, f)) => (r, Some(f)),
                None => (spec.as_str(), None),
            };
            let (range, st) = match range.split_once('/') {
                Some((r, s)) => (r, Some(s)),
                None => (range, None),
            };
            match range.split_once('-') {
                Some((a, b)) => {
                    start = parse_num(a)?;
                    end = Some(parse_num(b)?);
                }
                None => end = Some(parse_num(range)?),
            }
            if let Some(s) = st {
                stride = parse_num(s)?;
            }
            if let Some(f) = fmt {
                format = f.to_string();
            }
        }
        let end = match (end, count) {
            (Some(_), Some(_)) => return Err(failure("can't specify both count and end in with_sequence")),
            (Some(e), None) => e,
            (None, Some(c)) => {
                if c == 0 {
                    continue;
                }
                start + (c - 1) * stride
            }
            (None, None) => return Err(failure("must specify count or end in with_sequence")),
        };
        if stride == 0 {
            continue;
        }
        let mut i = start;
        let mut guard = 0;
        while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
            out.push(Value::from(printf_int(&format, i)?));
            i += stride;
            guard += 1;
            if guard > 1_000_000 {
                return Err(failure("with_sequence produces more than a million items"));
            }
        }
    }
    Ok(out)
}

/// Python `format % i` for one integer conversion (`%d`, `%02d`, `%x`, `%o`, `%s`).
fn printf_int(format: &str, i: i64) -> Result<String, Error> {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut used = false;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let mut spec = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() || d == '-' || d == '0' || d == '+' || d == ' ' {
                spec.push(d);
                chars.next();
            } else {
                break;
            }
        }
        let conv = chars.next().ok_or_else(|| failure("incomplete format"))?;
        if used {
            return Err(failure("not enough arguments for format string"));
        }
        used = true;
        let left = spec.starts_with('-');
        let zero = spec.trim_start_matches(['-', '+', ' ']).starts_with('0') && !left;
        let width: usize = spec.trim_start_matches(['-', '+', ' ', '0']).parse().unwrap_or(0);
        if width > 10_000 {
            return Err(failure(format!("format width {width} is too large")));
        }
        let body = match conv {
            'd' | 'i' | 's' | 'u' => i.to_string(),
            'x' => format!("{i:x}"),
            'X' => format!("{i:X}"),
            'o' => format!("{i:o}"),
            other => return Err(failure(format!("unsupported format character {other:?}"))),
        };
        let padded = if body.len() >= width {
            body
        } else if left {
            format!("{body:<width$}")
        } else if zero {
            let (sign, digits) = if let Some(d) = body.strip_prefix('-') { ("-", d) } else { ("", body.as_str()) };
            format!("{sign}{digits:0>w$}", w = width - sign.len())
        } else {
            format!("{body:>width$}")
        };
        out.push_str(&padded);
    }
    Ok(out)
}

fn first_found(scope: &Arc<Scope>, terms: &[Value], kwargs: &BTreeMap<String, Value>) -> Result<Vec<Value>, Error> {
    let split = |s: &str, seps: &[char]| -> Vec<String> {
        s.split(seps).map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect()
    };
    let mut files: Vec<String> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    let mut skip = kwargs.get("skip").is_some_and(|v| v.is_true());
    let add_files = |v: &Value, files: &mut Vec<String>| {
        if v.kind() == ValueKind::String {
            files.extend(split(v.as_str().unwrap_or_default(), &[',', ';']));
        } else if let Ok(items) = v.try_iter() {
            for i in items {
                files.extend(split(&text(&i), &[',', ';']));
            }
        }
    };
    if let Some(f) = kwargs.get("files") {
        add_files(f, &mut files);
    }
    if let Some(p) = kwargs.get("paths")
        && let Ok(items) = p.try_iter()
    {
        for i in items {
            paths.extend(split(&text(&i), &[',', ':', ';']));
        }
    }
    for t in flatten_one(terms) {
        if t.kind() == ValueKind::Map {
            if let Some(f) = get_opt(&t, &Value::from("files")) {
                add_files(&f, &mut files);
            }
            if let Some(p) = get_opt(&t, &Value::from("paths")) {
                if p.kind() == ValueKind::String {
                    paths.extend(split(p.as_str().unwrap_or_default(), &[',', ':', ';']));
                } else if let Ok(items) = p.try_iter() {
                    for i in items {
                        paths.extend(split(&text(&i), &[',', ':', ';']));
                    }
                }
            }
            if let Some(s) = get_opt(&t, &Value::from("skip")) {
                skip = s.is_true();
            }
        } else {
            add_files(&t, &mut files);
        }
    }
    let candidates: Vec<String> = if paths.is_empty() {
        files.clone()
    } else {
        paths.iter().flat_map(|p| files.iter().map(move |f| format!("{}/{f}", p.trim_end_matches('/')))).collect()
    };
    let mut outside = Vec::new();
    for c in &candidates {
        match find_file(scope, "files", c) {
            Ok((path, _)) => return Ok(vec![Value::from(path)]),
            Err(FindError::Refused(_)) => outside.push(c.clone()),
            Err(FindError::Missing(_)) => {}
        }
    }
    if !outside.is_empty() {
        return Err(unknown(scope, format!("lookup('first_found'): {} is outside the repository", outside.join(", "))));
    }
    if skip {
        return Ok(Vec::new());
    }
    Err(failure(format!("No file was found when using first_found (looked for {})", candidates.join(", "))))
}

/// Why a file could not be found.
pub enum FindError {
    /// Outside the repository, absolute, or no file access: not evaluated.
    Refused(String),
    /// Not in any of the places Ansible looks.
    Missing(String),
}

/// Finds `name` as Ansible does for a task: `<role>/<subdir>/name`,
/// `<role>/name`, then `<playbook_dir>/<subdir>/name`, `<playbook_dir>/name`.
/// Returns the repo-relative path and the text.
pub fn find_file(scope: &Scope, subdir: &str, name: &str) -> Result<(String, String), FindError> {
    if name.starts_with('/') || name.starts_with('~') {
        return Err(FindError::Refused(format!("{name} is an absolute path outside the repository")));
    }
    let Some(reader) = scope.lookups().files.clone() else {
        return Err(FindError::Refused(format!("reading {name} needs access to the repository files")));
    };
    // Ansible's search path for a task: the role, the task file's directory,
    // then the playbook directory; in each `<dir>/<subdir>/name` (unless the
    // name already starts with `<subdir>/`) and `<dir>/name`.
    let site = scope.site();
    let mut bases: Vec<&str> = Vec::new();
    if let Some(role) = &site.role_dir {
        bases.push(role);
    }
    bases.push(crate::source::parent(&site.origin.path));
    bases.push(&site.playbook_dir);
    bases.dedup();
    let names_subdir = name.split('/').next() == Some(subdir);
    let mut tried = Vec::new();
    for base in bases {
        let with_subdir = if names_subdir { None } else { Some(crate::source::resolve(base, subdir)) };
        for dir in with_subdir.into_iter().chain([Ok(base.to_string())]) {
            let Ok(dir) = dir else { continue };
            match crate::source::resolve(&dir, name) {
                Ok(path) => {
                    match reader.read_text(&path) {
                        Ok(Some(text)) => return Ok((path, text)),
                        Ok(None) => {}
                        Err(msg) => return Err(FindError::Missing(format!("{path}: {msg}"))),
                    }
                    tried.push(path);
                }
                Err(_) => return Err(FindError::Refused(format!("{name} climbs out of the repository"))),
            }
        }
    }
    // `role_path` and `playbook_dir` are repo-relative here (absolute in
    // Ansible), so `{{ role_path }}/files/x` names a path from the repo root.
    if let Ok(path) = crate::source::resolve("", name)
        && let Ok(Some(text)) = reader.read_text(&path)
    {
        return Ok((path, text));
    }
    Err(FindError::Missing(format!("could not find {name:?} (looked in {})", tried.join(", "))))
}

fn find_or_fail(scope: &Scope, subdir: &str, name: &str, plugin: &str) -> Result<(String, String), Error> {
    match find_file(scope, subdir, name) {
        Ok(found) => Ok(found),
        Err(FindError::Refused(why)) => Err(unsupported(scope, format!("lookup('{plugin}', '{name}'): {why}"))),
        Err(FindError::Missing(why)) => Err(failure(format!("lookup('{plugin}'): {why}"))),
    }
}

/// Template value to JSON for re-use as a variable (template_vars).
fn value_to_plain_json(v: &Value) -> Json {
    match v.kind() {
        ValueKind::None | ValueKind::Undefined => Json::Null,
        ValueKind::Bool => Json::Bool(v.is_true()),
        ValueKind::Number => {
            if let Some(i) = v.as_i64() {
                Json::from(i)
            } else {
                let f = f64::try_from(v.clone()).ok();
                f.and_then(serde_json::Number::from_f64).map(Json::Number).unwrap_or(Json::Null)
            }
        }
        ValueKind::String => {
            // Already evaluated: must not be templated a second time.
            let s = v.as_str().unwrap_or_default();
            if s.contains("{{") || s.contains("{%") || s.contains("{#") {
                serde_json::json!({ "__ansible_unsafe": s })
            } else {
                Json::from(s)
            }
        }
        ValueKind::Map => {
            let mut m = serde_json::Map::new();
            for k in v.try_iter().into_iter().flatten() {
                m.insert(text(&k), value_to_plain_json(&v.get_item(&k).unwrap_or_default()));
            }
            Json::Object(m)
        }
        ValueKind::Seq | ValueKind::Iterable => {
            Json::Array(v.try_iter().into_iter().flatten().map(|i| value_to_plain_json(&i)).collect())
        }
        _ => Json::from(v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printf_matches_python_percent_formatting() {
        assert_eq!(printf_int("web%02d", 3).unwrap(), "web03");
        assert_eq!(printf_int("%d", -3).unwrap(), "-3");
        assert_eq!(printf_int("%05d", -3).unwrap(), "-0003");
        assert_eq!(printf_int("0x%x", 255).unwrap(), "0xff");
        assert_eq!(printf_int("%-4d|", 7).unwrap(), "7   |");
    }

    #[test]
    fn sequence_terms() {
        let got = sequence(&[Value::from("start=1 end=3 format=h%02d")]).unwrap();
        assert_eq!(got, vec![Value::from("h01"), Value::from("h02"), Value::from("h03")]);
        let got = sequence(&[Value::from("4-8/2")]).unwrap();
        assert_eq!(got, vec![Value::from("4"), Value::from("6"), Value::from("8")]);
        let got = sequence(&[Value::from("count=2")]).unwrap();
        assert_eq!(got, vec![Value::from("1"), Value::from("2")]);
    }
}
