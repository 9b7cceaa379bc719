//! Tasks: every Ansible spelling of a task becomes one normalised [`Task`].
//!
//! This is the model's `normalize_task_v2`: module names in any spelling
//! (short, FQCN, `ansible.legacy.`), free-form `k=v` strings, `action:` and
//! `local_action:` (module inside the string or under `module:`), `args:`
//! merged under the inline arguments, blocks, includes and imports, loops
//! (`loop`, any `with_<lookup>`), conditions, notifications and the other
//! keywords. Later stages see only the normalised form.
//!
//! Parsing here is pure: it reads one YAML node and reports findings. The
//! files a task names are recorded as [`FileRef`]s with a pending target;
//! the loader resolves them. Nothing here touches the repository.

use std::sync::Arc;

use serde::Serialize;

use crate::diagnostics::codes;
use crate::source::yaml::{self, Node};

use super::freeform::{self, SplitError};
use super::link::{FileRef, RefKind};
use super::module_name::{self, ModuleName};
use super::value::{Flag, Map, Value, Var, is_template, key_str, key_text, string_list, vars_of_map};
use super::{Cx, Origin};

/// Task keywords (Ansible's Task and Handler attributes, plus the two keys
/// its argument parser accepts). Any other key is a module or a mistake.
const TASK_KEYWORDS: &[&str] = &[
    "action",
    "any_errors_fatal",
    "args",
    "async",
    "async_val",
    "become",
    "become_exe",
    "become_flags",
    "become_method",
    "become_user",
    "changed_when",
    "check_mode",
    "collections",
    "connection",
    "debugger",
    "delay",
    "delegate_facts",
    "delegate_to",
    "diff",
    "environment",
    "failed_when",
    "ignore_errors",
    "ignore_unreachable",
    "listen",
    "local_action",
    "loop",
    "loop_control",
    "loop_with",
    "module_defaults",
    "name",
    "no_log",
    "notify",
    "poll",
    "port",
    "register",
    "remote_user",
    "retries",
    "run_once",
    "static",
    "tags",
    "throttle",
    "timeout",
    "until",
    "vars",
    "when",
];

/// Keywords of Ansible 1.x that old repositories still carry. `sudo` and
/// `sudo_user` are read as `become` and `become_user`; the rest are kept.
const LEGACY_TASK_KEYWORDS: &[&str] =
    &["always_run", "first_available_file", "su", "su_user", "sudo", "sudo_user", "transport"];

/// Keywords a `block:` accepts (Ansible's Block attributes).
const BLOCK_KEYWORDS: &[&str] = &[
    "always",
    "any_errors_fatal",
    "become",
    "become_exe",
    "become_flags",
    "become_method",
    "become_user",
    "block",
    "check_mode",
    "collections",
    "connection",
    "debugger",
    "delegate_facts",
    "delegate_to",
    "diff",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "module_defaults",
    "name",
    "no_log",
    "notify",
    "port",
    "remote_user",
    "rescue",
    "run_once",
    "tags",
    "throttle",
    "timeout",
    "vars",
    "when",
];

/// Modules that take free-form words besides the command modules (Ansible's RAW_PARAM_MODULES).
const RAW_PARAM_BUILTINS: &[&str] = &[
    "add_host",
    "group_by",
    "import_role",
    "import_tasks",
    "include",
    "include_role",
    "include_tasks",
    "include_vars",
    "meta",
    "set_fact",
];

/// One task, block or include, normalised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub origin: Origin,
    pub name: Option<String>,
    pub body: TaskBody,
    /// `when`: each condition as written (a boolean becomes `True`/`False`).
    pub when: Vec<String>,
    #[serde(rename = "loop")]
    pub loop_: Option<Box<Loop>>,
    pub loop_control: Option<Box<Value>>,
    pub tags: Vec<String>,
    pub notify: Vec<String>,
    /// Handlers only: the topics this handler also answers to.
    pub listen: Vec<String>,
    pub register: Option<String>,
    /// `delegate_to`; `localhost` for `local_action`.
    pub delegate_to: Option<String>,
    pub run_once: Option<Flag>,
    /// `become` (or legacy `sudo`).
    #[serde(rename = "become")]
    pub become_: Option<Flag>,
    pub become_user: Option<String>,
    pub environment: Option<Box<Environment>>,
    pub no_log: Option<Flag>,
    pub changed_when: Vec<String>,
    pub failed_when: Vec<String>,
    pub ignore_errors: Option<Flag>,
    pub vars: Vec<Var>,
    /// Other Ansible keywords, kept as written (`async`, `retries`, `until`, ...).
    pub keywords: Map,
    /// Keys that are neither keywords nor the module (reported as M012).
    pub unknown: Map,
}

/// What the task does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskBody {
    /// A module call (includes are module calls too; see [`Action::include`]).
    Action(Action),
    Block(Block),
    /// No module could be found in the task (reported).
    Invalid,
}

/// A module call with its arguments in one normalised map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    pub module: ModuleName,
    /// Arguments: `args:` first, then inline ones overriding them, free-form
    /// words as `_raw_params` (and a bare `{{ var }}` as `_variable_params`).
    pub args: Map,
    /// For includes and imports: what they bring in.
    pub include: Option<Box<Include>>,
    /// Files from the repository the module reads: `template`/`copy` sources,
    /// `script`, `include_vars`. Resolved by the loader.
    pub files: Vec<FileRef>,
}

/// What an include or import brings in.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Include {
    /// `include_tasks`, `import_tasks` or legacy `include`.
    Tasks { is_static: bool, file: FileRef },
    /// `include_role` or `import_role`.
    Role {
        is_static: bool,
        /// The role name as written (`name:`).
        name: String,
        /// The role's directory once found.
        role: Option<Arc<str>>,
        /// `tasks_from` and `handlers_from`, resolved inside the role.
        tasks_from: Option<FileRef>,
        handlers_from: Option<FileRef>,
        vars_from: Option<String>,
        defaults_from: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Block {
    pub block: Vec<Task>,
    pub rescue: Vec<Task>,
    pub always: Vec<Task>,
}

/// A loop: `loop:` (`kind` = `loop`) or `with_<lookup>:` (`kind` = the lookup).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Loop {
    pub kind: String,
    pub items: Value,
    pub origin: Origin,
}

impl Loop {
    /// The items when they are a literal list of plain strings.
    pub fn literal_strings(&self) -> Option<Vec<&str>> {
        match &self.items {
            Value::List(items) => items.iter().map(Value::as_str).collect(),
            Value::Str(s) if !is_template(s) => Some(vec![s.as_str()]),
            _ => None,
        }
    }
}

/// `environment:` at play, role, block or task level: literal variables and
/// templated entries (`"{{ proxy_env }}"`) that only resolve at run time.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Environment {
    pub vars: Vec<Var>,
    pub templated: Vec<String>,
}

impl Task {
    fn new(origin: Origin) -> Task {
        Task {
            origin,
            name: None,
            body: TaskBody::Invalid,
            when: Vec::new(),
            loop_: None,
            loop_control: None,
            tags: Vec::new(),
            notify: Vec::new(),
            listen: Vec::new(),
            register: None,
            delegate_to: None,
            run_once: None,
            become_: None,
            become_user: None,
            environment: None,
            no_log: None,
            changed_when: Vec::new(),
            failed_when: Vec::new(),
            ignore_errors: None,
            vars: Vec::new(),
            keywords: Map::new(),
            unknown: Map::new(),
        }
    }

    pub fn action(&self) -> Option<&Action> {
        match &self.body {
            TaskBody::Action(a) => Some(a),
            _ => None,
        }
    }

    pub fn action_mut(&mut self) -> Option<&mut Action> {
        match &mut self.body {
            TaskBody::Action(a) => Some(a),
            _ => None,
        }
    }

    /// This task and every task nested in its blocks, depth first.
    pub fn walk<'a>(&'a self, out: &mut Vec<&'a Task>) {
        out.push(self);
        if let TaskBody::Block(b) = &self.body {
            for t in b.block.iter().chain(&b.rescue).chain(&b.always) {
                t.walk(out);
            }
        }
    }
}

/// Every task of a list, blocks flattened (blocks themselves included).
pub fn flatten(tasks: &[Task]) -> Vec<&Task> {
    let mut out = Vec::new();
    for t in tasks {
        t.walk(&mut out);
    }
    out
}

/// Calls `f` on every task of the list, nested ones included.
pub fn for_each_mut(tasks: &mut [Task], f: &mut dyn FnMut(&mut Task)) {
    for t in tasks {
        f(t);
        if let TaskBody::Block(b) = &mut t.body {
            for_each_mut(&mut b.block, f);
            for_each_mut(&mut b.rescue, f);
            for_each_mut(&mut b.always, f);
        }
    }
}

/// Reads a list of tasks (a task file, `tasks:`, `handlers:`, a block).
pub(crate) fn parse_tasks(node: &Node, cx: &mut Cx<'_>) -> Vec<Task> {
    match &node.value {
        yaml::Value::Null => Vec::new(),
        yaml::Value::Seq(items) => {
            // Sized up front: a task is large and `collect` through a filter would double its way up.
            let mut tasks = Vec::with_capacity(items.len());
            tasks.extend(items.iter().filter_map(|item| parse_task(item, cx)));
            tasks
        }
        _ => {
            cx.warning(codes::UNEXPECTED_SHAPE, node.line, format!("expected a list of tasks, found {}", node.kind()));
            Vec::new()
        }
    }
}

/// Reads one task. `None` (with a finding) when it is not a mapping.
pub(crate) fn parse_task(node: &Node, cx: &mut Cx<'_>) -> Option<Task> {
    if node.as_map().is_none() {
        cx.warning(codes::UNEXPECTED_SHAPE, node.line, format!("a task must be a mapping, found {}", node.kind()));
        return None;
    }
    let mut task = Task::new(cx.origin(node.line));
    let is_block = ["block", "rescue", "always"].iter().any(|k| node.get(k).is_some());
    if is_block {
        parse_block(node, &mut task, cx);
    } else {
        parse_action_task(node, &mut task, cx);
    }
    Some(task)
}

fn parse_block(node: &Node, task: &mut Task, cx: &mut Cx<'_>) {
    let mut block = Block { block: Vec::new(), rescue: Vec::new(), always: Vec::new() };
    for (k, v) in node.as_map().unwrap_or(&[]) {
        let key = key_str(k);
        match &*key {
            "block" => block.block = parse_tasks(v, cx),
            "rescue" => block.rescue = parse_tasks(v, cx),
            "always" => block.always = parse_tasks(v, cx),
            _ if common_keyword(&key, v, task, cx) => {}
            _ if BLOCK_KEYWORDS.contains(&&*key) || LEGACY_TASK_KEYWORDS.contains(&&*key) => {
                task.keywords.insert(key, Value::from_node(v));
            }
            _ => {
                cx.warning(
                    codes::UNKNOWN_KEY,
                    k.line,
                    format!("`{key}` is not a block keyword; kept, not interpreted"),
                );
                task.unknown.insert(key, Value::from_node(v));
            }
        }
    }
    task.body = TaskBody::Block(block);
}

/// Handles the keywords shared by tasks and blocks. True when `key` was one.
fn common_keyword(key: &str, v: &Node, task: &mut Task, cx: &mut Cx<'_>) -> bool {
    match key {
        "name" => task.name = v.scalar_text().map(|c| c.into_owned()),
        "when" => task.when = string_list(v),
        "tags" => task.tags = tags(v),
        "notify" => task.notify = string_list(v),
        "delegate_to" => task.delegate_to = v.scalar_text().map(|c| c.into_owned()),
        "run_once" => task.run_once = Some(Flag::from_node(v)),
        "become" | "sudo" => task.become_ = Some(Flag::from_node(v)),
        "become_user" | "sudo_user" | "su_user" => task.become_user = v.scalar_text().map(|c| c.into_owned()),
        "su" => {
            task.become_ = Some(Flag::from_node(v));
            task.keywords.insert("become_method", Value::Str("su".into()));
        }
        "environment" => task.environment = Some(Box::new(parse_environment(v, cx))),
        "no_log" => task.no_log = Some(Flag::from_node(v)),
        "ignore_errors" => task.ignore_errors = Some(Flag::from_node(v)),
        "vars" => task.vars = parse_vars(v, cx),
        _ => return false,
    }
    true
}

/// `tags`: a list, or a comma-separated string (as Ansible splits it).
pub(crate) fn tags(node: &Node) -> Vec<String> {
    match &node.value {
        yaml::Value::Seq(_) | yaml::Value::Null => string_list(node),
        _ => node
            .scalar_text()
            .map(|t| t.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default(),
    }
}

/// `vars:` must be a mapping (a list of mappings is the Ansible 1 spelling).
pub(crate) fn parse_vars(node: &Node, cx: &mut Cx<'_>) -> Vec<Var> {
    match &node.value {
        yaml::Value::Map(_) => vars_of_map(node, &cx.path),
        yaml::Value::Null => Vec::new(),
        yaml::Value::Seq(items) if items.iter().all(|i| i.as_map().is_some()) => {
            items.iter().flat_map(|i| vars_of_map(i, &cx.path)).collect()
        }
        _ => {
            cx.warning(codes::UNEXPECTED_SHAPE, node.line, format!("`vars` must be a mapping, found {}", node.kind()));
            Vec::new()
        }
    }
}

/// `environment:`: a mapping, a template, or a list of either.
pub(crate) fn parse_environment(node: &Node, cx: &mut Cx<'_>) -> Environment {
    let mut env = Environment::default();
    let add = |n: &Node, env: &mut Environment, cx: &mut Cx<'_>| match &n.value {
        yaml::Value::Map(_) => env.vars.extend(vars_of_map(n, &cx.path)),
        yaml::Value::Null => {}
        yaml::Value::Str(s) => env.templated.push(s.to_string()),
        _ => cx.warning(
            codes::UNEXPECTED_SHAPE,
            n.line,
            format!("`environment` must be a mapping or a template, found {}", n.kind()),
        ),
    };
    match &node.value {
        yaml::Value::Seq(items) => items.iter().for_each(|i| add(i, &mut env, cx)),
        _ => add(node, &mut env, cx),
    }
    env
}

/// Where the module of a task came from (its name parsed once).
struct ModuleSource {
    module: ModuleName,
    line: u32,
    args: Map,
    local: bool,
}

fn parse_action_task(node: &Node, task: &mut Task, cx: &mut Cx<'_>) {
    let mut candidates: Vec<(&Node, &Node)> = Vec::new();
    for (k, v) in node.as_map().unwrap_or(&[]) {
        let key = key_str(k);
        if common_keyword(&key, v, task, cx) {
            continue;
        }
        match &*key {
            "loop" => set_loop(task, "loop", k, v, cx),
            "listen" => task.listen = string_list(v),
            "register" => task.register = v.scalar_text().map(|c| c.into_owned()),
            "changed_when" => task.changed_when = string_list(v),
            "failed_when" => task.failed_when = string_list(v),
            "loop_control" => task.loop_control = Some(Box::new(Value::from_node(v))),
            "action" | "local_action" | "args" => {}
            k2 if k2.starts_with("with_") && k2.len() > 5 => set_loop(task, &k2[5..], k, v, cx),
            k2 if TASK_KEYWORDS.contains(&k2) || LEGACY_TASK_KEYWORDS.contains(&k2) => {
                task.keywords.insert(key, Value::from_node(v));
            }
            _ => candidates.push((k, v)),
        }
    }

    let extra = extra_args(node.get("args"), cx);
    let mut source: Option<ModuleSource> = None;
    for key in ["action", "local_action"] {
        let Some(v) = node.get(key) else { continue };
        if source.is_some() {
            cx.warning(
                codes::UNEXPECTED_SHAPE,
                v.line,
                "`action` and `local_action` are mutually exclusive; the first one is used",
            );
            continue;
        }
        source = old_style_action(v, key == "local_action", cx);
    }

    // Among the remaining keys, the module is the one Ansible would resolve.
    // Without the collections at hand, a builtin or dotted name is preferred.
    let module_pos = if source.is_some() {
        None
    } else if candidates.len() <= 1 {
        (!candidates.is_empty()).then_some(0)
    } else {
        let known: Vec<usize> = (0..candidates.len())
            .filter(|&i| candidates[i].0.as_str().is_some_and(module_name::looks_like_known_module))
            .collect();
        if known.len() > 1 {
            let names: Vec<String> = known.iter().map(|&i| format!("`{}`", key_text(candidates[i].0))).collect();
            cx.warning(
                codes::UNEXPECTED_SHAPE,
                node.line,
                format!("conflicting action statements: {}; the first is used", names.join(", ")),
            );
        }
        Some(known.first().copied().unwrap_or(0))
    };
    for (i, (k, v)) in candidates.iter().enumerate() {
        if Some(i) == module_pos {
            let name = key_str(k);
            let module = ModuleName::parse(&name);
            let args = new_style_args(&name, &module, v, cx);
            source = Some(ModuleSource { module, line: k.line, args, local: false });
        } else {
            let key = key_text(k);
            let msg = format!("`{key}` is neither a task keyword nor the task's module; kept, not interpreted");
            cx.warning(codes::UNKNOWN_KEY, k.line, msg);
            task.unknown.insert(key, Value::from_node(v));
        }
    }

    let Some(source) = source else {
        cx.warning(codes::UNEXPECTED_SHAPE, node.line, "task has no module or action; it is kept but does nothing");
        return;
    };
    if source.local {
        task.delegate_to = Some("localhost".into());
    }
    let module = source.module;
    let mut args = extra;
    for (k, v) in source.args.0 {
        args.insert(k, v);
    }
    check_raw_params(&module, &mut args, source.line, cx);
    let origin = cx.origin(source.line);
    let include = include_of(&module, &args, &origin, cx);
    let files = file_refs(&module, &args, &origin);
    task.body = TaskBody::Action(Action { module, args, include, files });
}

fn set_loop(task: &mut Task, kind: &str, k: &Node, v: &Node, cx: &mut Cx<'_>) {
    if let Some(prev) = &task.loop_ {
        cx.warning(
            codes::UNEXPECTED_SHAPE,
            k.line,
            format!("a task takes one loop; `{}` replaces the earlier `{}`", key_text(k), prev.kind),
        );
    }
    task.loop_ = Some(Box::new(Loop { kind: kind.to_string(), items: Value::from_node(v), origin: cx.origin(k.line) }));
}

/// `args:`: a mapping, or a template that yields one (`_variable_params`).
fn extra_args(node: Option<&Node>, cx: &mut Cx<'_>) -> Map {
    let mut out = Map::new();
    let Some(node) = node else { return out };
    match &node.value {
        yaml::Value::Map(_) => {
            if let Value::Map(m) = Value::from_node(node) {
                out = m;
            }
        }
        yaml::Value::Null => {}
        _ => match node.as_str() {
            Some(s) if is_template(s) => out.insert("_variable_params", Value::Str(s.into())),
            _ => cx.warning(
                codes::UNEXPECTED_SHAPE,
                node.line,
                format!("`args` must be a mapping or a template, found {}; ignored", node.kind()),
            ),
        },
    }
    out
}

/// `module: <thing>`: a mapping, a `k=v` string, or nothing.
fn new_style_args(module: &str, parsed: &ModuleName, thing: &Node, cx: &mut Cx<'_>) -> Map {
    let freeform = parsed.is_freeform();
    if thing.tag == yaml::NodeTag::Vault {
        let mut m = Map::new();
        m.insert("_raw_params", Value::from_node(thing));
        return m;
    }
    match &thing.value {
        yaml::Value::Map(_) => match Value::from_node(thing) {
            Value::Map(m) => m,
            _ => Map::new(),
        },
        yaml::Value::Null => Map::new(),
        yaml::Value::Str(s) => kv_map(s, freeform, thing.line, cx),
        yaml::Value::Bool(_) | yaml::Value::Int(_) | yaml::Value::Float(_) | yaml::Value::Number { .. } => {
            // Ansible refuses non-string scalars; the words are still kept.
            cx.warning(
                codes::UNEXPECTED_SHAPE,
                thing.line,
                format!("arguments of `{module}` must be a mapping or a string, found {}", thing.kind()),
            );
            let text = thing.scalar_text().map(|c| c.into_owned()).unwrap_or_default();
            kv_map(&text, freeform, thing.line, cx)
        }
        yaml::Value::Seq(_) => {
            cx.warning(
                codes::UNEXPECTED_SHAPE,
                thing.line,
                format!("arguments of `{module}` must be a mapping or a string, found a list; ignored"),
            );
            Map::new()
        }
    }
}

/// `k=v` words as a map of strings; an unsplittable string is kept whole.
fn kv_map(text: &str, freeform: bool, line: u32, cx: &mut Cx<'_>) -> Map {
    match freeform::parse_kv(text, freeform) {
        Ok(pairs) => Map(pairs.into_iter().map(|(k, v)| (k, Value::Str(v))).collect()),
        Err(SplitError) => {
            cx.error(codes::INVALID_SYNTAX, line, format!("{SplitError}: `{}`", shorten(text)));
            let mut m = Map::new();
            m.insert("_raw_params", Value::Str(text.into()));
            m
        }
    }
}

/// `action: copy src=a` / `local_action: { module: copy, src: a }`.
fn old_style_action(thing: &Node, local: bool, cx: &mut Cx<'_>) -> Option<ModuleSource> {
    let key = if local { "local_action" } else { "action" };
    let (module, mut args) = match &thing.value {
        yaml::Value::Map(_) => {
            let Some(module) = thing.get("module").and_then(|m| m.as_str()) else {
                cx.warning(codes::UNEXPECTED_SHAPE, thing.line, format!("`{key}` mapping has no `module`"));
                return None;
            };
            let (name, rest) = split_module(module, thing.line, cx)?;
            let mut args = match Value::from_node(thing) {
                Value::Map(m) => m,
                _ => Map::new(),
            };
            args.remove("module");
            let module = ModuleName::parse(&name);
            for (k, v) in kv_map(&rest, module.is_freeform(), thing.line, cx).0 {
                args.insert(k, v);
            }
            (module, args)
        }
        _ => {
            let Some(text) = thing.as_str() else {
                cx.warning(
                    codes::UNEXPECTED_SHAPE,
                    thing.line,
                    format!("`{key}` must be a string or a mapping, found {}", thing.kind()),
                );
                return None;
            };
            let (name, rest) = split_module(text, thing.line, cx)?;
            let module = ModuleName::parse(&name);
            let args = kv_map(&rest, module.is_freeform(), thing.line, cx);
            (module, args)
        }
    };
    // `action: { module: x, args: ... }` nests its arguments once more.
    if let Some(inner) = args.remove("args") {
        match inner {
            Value::Map(m) => m.0.into_iter().for_each(|(k, v)| args.insert(k, v)),
            Value::Str(s) => kv_map(&s, false, thing.line, cx).0.into_iter().for_each(|(k, v)| args.insert(k, v)),
            _ => {}
        }
    }
    Some(ModuleSource { module, line: thing.line, args, local })
}

fn split_module(text: &str, line: u32, cx: &mut Cx<'_>) -> Option<(String, String)> {
    match freeform::split_module_string(text) {
        Ok((name, rest)) if !name.is_empty() => Some((name, rest)),
        Ok(_) => {
            cx.warning(codes::UNEXPECTED_SHAPE, line, "action names no module");
            None
        }
        Err(e) => {
            cx.error(codes::INVALID_SYNTAX, line, format!("{e}: `{}`", shorten(text)));
            None
        }
    }
}

/// Modules other than the command-like ones and the includes take no
/// free-form words. A template is kept as `_variable_params` (it may yield a
/// mapping); literal words are a mistake Ansible refuses.
fn check_raw_params(module: &ModuleName, args: &mut Map, line: u32, cx: &mut Cx<'_>) {
    if module.is_freeform() {
        return;
    }
    let Some(builtin) = module.builtin() else { return };
    if RAW_PARAM_BUILTINS.contains(&builtin) {
        return;
    }
    let Some(Value::Str(raw)) = args.get("_raw_params").cloned() else { return };
    if raw.trim().is_empty() {
        args.remove("_raw_params");
    } else if raw.trim_start().starts_with("{{") && raw.trim_end().ends_with("}}") {
        args.remove("_raw_params");
        args.insert("_variable_params", Value::Str(raw));
    } else {
        cx.warning(
            codes::UNEXPECTED_SHAPE,
            line,
            format!(
                "`{}` takes no free-form words (`{}`); they are kept as `_raw_params`",
                module.written,
                shorten(&raw)
            ),
        );
    }
}

/// The include or import a module call stands for, if any.
fn include_of(module: &ModuleName, args: &Map, origin: &Origin, cx: &mut Cx<'_>) -> Option<Box<Include>> {
    let builtin = module.builtin()?;
    match builtin {
        "include_tasks" | "import_tasks" | "include" => {
            let file = args.str("file").or_else(|| args.str("_raw_params")).map(str::trim);
            let Some(file) = file.filter(|f| !f.is_empty()) else {
                cx.warning(codes::UNEXPECTED_SHAPE, origin.line, format!("`{}` names no file", module.written));
                return None;
            };
            Some(Box::new(Include::Tasks {
                is_static: builtin == "import_tasks",
                file: FileRef::new(RefKind::Tasks, file, origin.clone()),
            }))
        }
        "include_role" | "import_role" => {
            let Some(name) = args.str("name").or_else(|| args.str("role")).map(str::trim) else {
                cx.warning(codes::UNEXPECTED_SHAPE, origin.line, format!("`{}` names no role", module.written));
                return None;
            };
            let from = |key: &str| args.str(key).map(str::trim).filter(|s| !s.is_empty());
            Some(Box::new(Include::Role {
                is_static: builtin == "import_role",
                name: name.to_string(),
                role: None,
                tasks_from: from("tasks_from").map(|f| FileRef::new(RefKind::Tasks, f, origin.clone())),
                handlers_from: from("handlers_from").map(|f| FileRef::new(RefKind::Tasks, f, origin.clone())),
                vars_from: from("vars_from").map(String::from),
                defaults_from: from("defaults_from").map(String::from),
            }))
        }
        _ => None,
    }
}

/// Files from the repository that a module call reads on the controller.
fn file_refs(module: &ModuleName, args: &Map, origin: &Origin) -> Vec<FileRef> {
    let remote =
        |key: &str| args.get(key).is_some_and(|v| v.scalar_text().is_some_and(|t| Flag::from_text(&t).is_true()));
    let mut out = Vec::new();
    let mut add = |kind: RefKind, written: Option<&str>| {
        if let Some(w) = written.map(str::trim).filter(|w| !w.is_empty()) {
            out.push(FileRef::new(kind, w, origin.clone()));
        }
    };
    let short = module.short.as_str();
    let core = module.builtin().is_some() || (module.fqcn.is_none() && short.starts_with("win_"));
    if !core && !matches!(module.fqcn.as_deref(), Some(f) if f.starts_with("ansible.windows.")) {
        return out;
    }
    match short {
        "template" | "win_template" => add(RefKind::Template, args.str("src")),
        "copy" | "win_copy" if !remote("remote_src") && args.get("content").is_none() => {
            add(RefKind::File, args.str("src"))
        }
        "unarchive"
            if !remote("remote_src")
                && args.get("copy").is_none_or(|v| v.scalar_text().is_none_or(|t| Flag::from_text(&t).is_true())) =>
        {
            if let Some(src) = args.str("src").filter(|s| !s.contains("://")) {
                add(RefKind::File, Some(src));
            }
        }
        "script" => {
            let cmd = args.str("cmd").or_else(|| args.str("_raw_params"));
            // The script is the first word of the command line.
            let first = cmd.and_then(|c| freeform::split_args(c).ok()).and_then(|w| w.into_iter().next());
            add(RefKind::Script, first.as_deref().map(freeform::unquote));
        }
        "include_vars" => {
            if let Some(dir) = args.str("dir") {
                add(RefKind::VarsDir, Some(dir));
            } else {
                add(RefKind::Vars, args.str("file").or_else(|| args.str("_raw_params")));
            }
        }
        _ => {}
    }
    out
}

/// A long argument string cut for messages.
fn shorten(text: &str) -> String {
    let one_line = text.replace('\n', " ");
    if one_line.chars().count() > 60 {
        format!("{}...", one_line.chars().take(57).collect::<String>())
    } else {
        one_line
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::diagnostics::Finding;

    /// Parses `text` (a YAML list of tasks) as file `t.yml`.
    pub(crate) fn tasks_of(text: &str) -> (Vec<Task>, Vec<Finding>) {
        let docs = yaml::parse(text).unwrap();
        let mut findings = Vec::new();
        let mut cx = Cx::new(Arc::from("t.yml"), &mut findings);
        let tasks = parse_tasks(&docs.docs[0], &mut cx);
        (tasks, findings)
    }

    fn one(text: &str) -> Task {
        let (mut tasks, findings) = tasks_of(text);
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(tasks.len(), 1);
        tasks.remove(0)
    }

    fn action(t: &Task) -> &Action {
        t.action().unwrap_or_else(|| panic!("not an action: {t:?}"))
    }

    fn args_json(t: &Task) -> serde_json::Value {
        action(t).args.to_json() // ordered
    }

    #[test]
    fn short_and_fqcn_names() {
        for text in ["- apt: name=nginx", "- ansible.builtin.apt: name=nginx", "- ansible.legacy.apt: {name: nginx}"] {
            let t = one(text);
            let a = action(&t);
            assert_eq!(a.module.short, "apt", "{text}");
            assert_eq!(a.module.fqcn.as_deref(), Some("ansible.builtin.apt"));
            assert_eq!(args_json(&t), serde_json::json!({"name": "nginx"}));
        }
        let t = one("- community.general.ufw: rule=allow port=22\n");
        assert_eq!(action(&t).module.short, "ufw");
        assert_eq!(action(&t).module.fqcn.as_deref(), Some("community.general.ufw"));
    }

    #[test]
    fn free_form_strings() {
        let t = one("- copy: src=a.conf dest=\"/etc/a b.conf\" mode=0644\n");
        assert_eq!(args_json(&t), serde_json::json!({"src": "a.conf", "dest": "/etc/a b.conf", "mode": "0644"}));
        let t = one("- shell: echo {{ x | default('a b') }} > /tmp/o chdir=/srv\n");
        assert_eq!(
            args_json(&t),
            serde_json::json!({"chdir": "/srv", "_raw_params": "echo {{ x | default('a b') }} > /tmp/o"})
        );
        let t = one("- command: /usr/bin/foo --x=1\n");
        assert_eq!(args_json(&t), serde_json::json!({"_raw_params": "/usr/bin/foo --x=1"}));
    }

    #[test]
    fn action_and_local_action() {
        let t = one("- action: copy src=a dest=b\n");
        assert_eq!(action(&t).module.short, "copy");
        assert_eq!(args_json(&t), serde_json::json!({"src": "a", "dest": "b"}));
        assert_eq!(t.delegate_to, None);
        let t = one("- local_action: command echo hi\n");
        assert_eq!(action(&t).module.short, "command");
        assert_eq!(args_json(&t), serde_json::json!({"_raw_params": "echo hi"}));
        assert_eq!(t.delegate_to.as_deref(), Some("localhost"));
        let t = one("- local_action:\n    module: ansible.builtin.copy\n    src: a\n    dest: b\n");
        assert_eq!(action(&t).module.fqcn.as_deref(), Some("ansible.builtin.copy"));
        assert_eq!(args_json(&t), serde_json::json!({"src": "a", "dest": "b"}));
        let t = one("- action:\n    module: file path=/x\n    args:\n      state: touch\n");
        assert_eq!(args_json(&t), serde_json::json!({"path": "/x", "state": "touch"}));
    }

    #[test]
    fn args_are_merged_under_inline_args() {
        let t = one("- command: ./configure creates=/x\n  args:\n    chdir: /src\n    creates: /y\n");
        assert_eq!(args_json(&t), serde_json::json!({"chdir": "/src", "creates": "/x", "_raw_params": "./configure"}));
        let t = one("- apt:\n  args:\n    name: git\n");
        assert_eq!(args_json(&t), serde_json::json!({"name": "git"}));
        let t = one("- user: \"{{ user_args }}\"\n");
        assert_eq!(args_json(&t), serde_json::json!({"_variable_params": "{{ user_args }}"}));
    }

    #[test]
    fn blocks_nest() {
        let t = one(
            "- name: b\n  when: x\n  become: yes\n  environment: {A: '1'}\n  block:\n    - debug: msg=1\n  rescue:\n    - debug: msg=2\n  always:\n    - block:\n        - ping:\n",
        );
        let TaskBody::Block(b) = &t.body else { panic!() };
        assert_eq!((b.block.len(), b.rescue.len(), b.always.len()), (1, 1, 1));
        assert_eq!(t.when, vec!["x"]);
        assert_eq!(t.become_, Some(Flag::Bool(true)));
        assert_eq!(t.environment.as_ref().unwrap().vars[0].name, "A");
        assert!(matches!(b.always[0].body, TaskBody::Block(_)));
        assert_eq!(flatten(std::slice::from_ref(&t)).len(), 5);
    }

    #[test]
    fn includes_and_imports() {
        let t = one("- include_tasks: setup.yml\n");
        let Some(Include::Tasks { is_static: false, file }) = action(&t).include.as_deref() else { panic!() };
        assert_eq!(file.written, "setup.yml");
        let t = one("- ansible.builtin.import_tasks:\n    file: x.yml\n");
        let Some(Include::Tasks { is_static: true, file }) = action(&t).include.as_deref() else { panic!() };
        assert_eq!(file.written, "x.yml");
        let t = one("- include: legacy.yml a=1\n");
        let Some(Include::Tasks { file, .. }) = action(&t).include.as_deref() else { panic!() };
        assert_eq!(file.written, "legacy.yml");
        assert_eq!(action(&t).args.str("a"), Some("1"));
        let t = one("- include_role:\n    name: nginx\n    tasks_from: vhost\n");
        let Some(Include::Role { is_static: false, name, tasks_from, .. }) = action(&t).include.as_deref() else {
            panic!()
        };
        assert_eq!((name.as_str(), tasks_from.as_ref().unwrap().written.as_str()), ("nginx", "vhost"));
        let t = one("- import_role: name=common\n");
        let Some(Include::Role { is_static: true, name, .. }) = action(&t).include.as_deref() else { panic!() };
        assert_eq!(name, "common");
    }

    #[test]
    fn include_vars_and_set_fact() {
        let t = one("- include_vars: \"{{ ansible_os_family }}.yml\"\n");
        assert_eq!(action(&t).files[0].kind, RefKind::Vars);
        assert_eq!(action(&t).files[0].written, "{{ ansible_os_family }}.yml");
        let t = one("- include_vars:\n    dir: vars/extra\n");
        assert_eq!(action(&t).files[0].kind, RefKind::VarsDir);
        let t = one("- set_fact: a=1 b=\"{{ c }}\"\n");
        assert_eq!(args_json(&t), serde_json::json!({"a": "1", "b": "{{ c }}"}));
    }

    #[test]
    fn loops_in_every_spelling() {
        for (text, kind) in [
            ("- debug: var=item\n  loop: [1, 2]\n", "loop"),
            ("- debug: var=item\n  with_items: [1, 2]\n", "items"),
            ("- debug: var=item\n  with_dict: \"{{ d }}\"\n", "dict"),
            ("- debug: var=item\n  with_fileglob: ['*.conf']\n", "fileglob"),
            ("- debug: var=item\n  with_together: [[1], [2]]\n", "together"),
            ("- debug: var=item\n  with_nested: [[1], [2]]\n", "nested"),
            ("- debug: var=item\n  with_subelements: [users, keys]\n", "subelements"),
            ("- debug: var=item\n  with_first_found: [a.yml, b.yml]\n", "first_found"),
            ("- debug: var=item\n  with_sequence: start=1 end=3\n", "sequence"),
        ] {
            let t = one(text);
            assert_eq!(t.loop_.as_ref().map(|l| l.kind.as_str()), Some(kind), "{text}");
        }
        let t = one("- debug: var=item\n  loop: [a, b]\n  loop_control:\n    loop_var: x\n");
        assert_eq!(t.loop_.unwrap().literal_strings(), Some(vec!["a", "b"]));
        assert!(t.loop_control.is_some());
    }

    #[test]
    fn conditions_notify_and_flags() {
        let t = one(
            "- service: name=x state=restarted\n  when: [a, b]\n  notify: restart x\n  register: r\n  tags: web, conf\n  delegate_to: db1\n  run_once: true\n  become: true\n  become_user: postgres\n  no_log: yes\n  changed_when: false\n  failed_when: r.rc > 1\n  ignore_errors: yes\n  vars: {v: 1}\n  environment: \"{{ proxy_env }}\"\n",
        );
        assert_eq!(t.when, vec!["a", "b"]);
        assert_eq!(t.notify, vec!["restart x"]);
        assert_eq!(t.register.as_deref(), Some("r"));
        assert_eq!(t.tags, vec!["web", "conf"]);
        assert_eq!(t.delegate_to.as_deref(), Some("db1"));
        assert_eq!(t.run_once, Some(Flag::Bool(true)));
        assert_eq!(t.become_user.as_deref(), Some("postgres"));
        assert_eq!(t.no_log, Some(Flag::Bool(true)));
        assert_eq!(t.changed_when, vec!["False"]);
        assert_eq!(t.failed_when, vec!["r.rc > 1"]);
        assert_eq!(t.ignore_errors, Some(Flag::Bool(true)));
        assert_eq!(t.vars[0].name, "v");
        assert_eq!(t.environment.unwrap().templated, vec!["{{ proxy_env }}"]);
        let t = one("- debug: msg=x\n  when: true\n  notify: [a, b]\n");
        assert_eq!(t.when, vec!["True"]);
        assert_eq!(t.notify, vec!["a", "b"]);
        let t = one("- name: h\n  service: name=x state=restarted\n  listen: web restart\n");
        assert_eq!(t.listen, vec!["web restart"]);
    }

    #[test]
    fn legacy_sudo_is_become() {
        let t = one("- apt: name=x\n  sudo: yes\n  sudo_user: root\n");
        assert_eq!(t.become_, Some(Flag::Bool(true)));
        assert_eq!(t.become_user.as_deref(), Some("root"));
    }

    #[test]
    fn file_sources() {
        let t = one("- template: src=nginx.conf.j2 dest=/etc/nginx/nginx.conf\n");
        assert_eq!(action(&t).files[0].kind, RefKind::Template);
        let t = one("- copy: src=app.tar dest=/srv\n");
        assert_eq!(action(&t).files[0].kind, RefKind::File);
        let t = one("- copy: src=/tmp/x dest=/srv remote_src=yes\n");
        assert!(action(&t).files.is_empty());
        let t = one("- copy: content=x dest=/srv\n");
        assert!(action(&t).files.is_empty());
        let t = one("- script: files/setup.sh --fast creates=/x\n");
        assert_eq!(action(&t).files[0].written, "files/setup.sh");
        let t = one("- unarchive: src=https://x/y.tgz dest=/srv\n");
        assert!(action(&t).files.is_empty());
    }

    #[test]
    fn other_keywords_and_unknown_keys() {
        let t = one("- command: sleep 1\n  async: 10\n  poll: 0\n  retries: 3\n  until: r is success\n");
        assert_eq!(t.keywords.len(), 4);
        let (tasks, findings) = tasks_of("- apt: name=x\n  becom: yes\n");
        assert_eq!(action(&tasks[0]).module.short, "apt");
        assert_eq!(tasks[0].unknown.len(), 1);
        assert_eq!(findings.len(), 1);
        assert_eq!(
            findings[0].to_string(),
            "t.yml:2 M012 warning: `becom` is neither a task keyword nor the task's module; kept, not interpreted"
        );
        // A non-builtin module next to a typo: the dotted/builtin one wins.
        let (tasks, findings) = tasks_of("- sudoo: yes\n  community.docker.docker_container: name=x\n");
        assert_eq!(action(&tasks[0]).module.short, "docker_container");
        assert_eq!(findings.len(), 1);
    }

    #[test]
    fn broken_tasks_are_findings() {
        let (tasks, findings) = tasks_of("- name: nothing here\n  when: x\n");
        assert_eq!(tasks[0].body, TaskBody::Invalid);
        assert_eq!(
            findings[0].to_string(),
            "t.yml:1 M008 warning: task has no module or action; it is kept but does nothing"
        );
        let (tasks, findings) = tasks_of("- just a string\n- apt: nginx\n- shell: echo \"unclosed\n");
        assert_eq!(tasks.len(), 2);
        let lines: Vec<String> = findings.iter().map(|f| f.to_string()).collect();
        assert_eq!(
            lines,
            vec![
                "t.yml:1 M008 warning: a task must be a mapping, found a string",
                "t.yml:2 M008 warning: `apt` takes no free-form words (`nginx`); they are kept as `_raw_params`",
                "t.yml:3 M002 error: unbalanced quotes or Jinja2 block in free-form arguments: `echo \"unclosed`",
            ]
        );
        let (_, findings) = tasks_of("- apt: name=a\n  yum: name=b\n");
        assert_eq!(
            findings[0].to_string(),
            "t.yml:1 M008 warning: conflicting action statements: `apt`, `yum`; the first is used"
        );
    }

    #[test]
    fn vault_and_unsafe_in_args() {
        let t = one(
            "- user:\n    name: x\n    password: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      3031\n    comment: !unsafe '{{ raw }}'\n",
        );
        let args = &action(&t).args;
        assert!(matches!(args.get("password"), Some(Value::Vault(_))));
        assert_eq!(args.get("comment"), Some(&Value::Unsafe("{{ raw }}".into())));
    }
}
