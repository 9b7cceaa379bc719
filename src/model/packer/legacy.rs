//! Legacy JSON templates: `variables`, `sensitive-variables`, `builders`,
//! `provisioners`, `post-processors`, and Go-template user-variable references.
//!
//! Values are expanded the way Packer's JSON front end does before a build
//! starts: `{{user `x`}}` / `{{ user "x" }}` become the variable's value,
//! `{{template_dir}}` and `{{pwd}}` become `.` (the loader resolves relative
//! paths against the template's directory). Everything else, `{{env `X`}}`
//! included, stays as written and marks the value as not known.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::{Build, BuildSource, PackerTemplate, Setting, Shapes, TemplateFormat, Text, Value, VarValue, Variable};
use crate::diagnostics::{Finding, codes};
use crate::model::Origin;
use crate::sensitive::Sensitive;
use crate::source::json::{JsonDoc, JsonNode};

/// Top-level keys Packer's JSON format knows.
const ROOT_KEYS: &[&str] = &[
    "builders",
    "description",
    "min_packer_version",
    "post-processors",
    "provisioners",
    "push",
    "sensitive-variables",
    "variables",
];

/// How deep variables may refer to variables; deeper chains (or cycles) are
/// kept as written, so hostile input cannot exhaust the stack.
const MAX_REFERENCE_DEPTH: usize = 32;

/// A `{{ … }}` action; `{{-`/`-}}` trim markers allowed.
static ACTION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{\{-?\s*(.*?)\s*-?\}\}").expect("constant regex"));
/// `user `x``, `user "x"`, `env `X``, `env "X"`.
static CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^(user|env)\s+(?:`([^`]*)`|"([^"]*)")$"#).expect("constant regex"));

struct Loader<'d> {
    path: Arc<str>,
    findings: &'d mut Vec<Finding>,
    /// Declared variables: name → raw default (None when `null`) and its line.
    declared: HashMap<String, (Option<String>, u32)>,
    sensitive: HashSet<String>,
    /// Variables already expanded (memo) and the ones being expanded (cycle guard).
    expanded: HashMap<String, Text>,
    expanding: Vec<String>,
}

/// Reads a legacy JSON template whose top level is known to have `builders`.
pub(super) fn load(path: Arc<str>, doc: &JsonDoc, findings: &mut Vec<Finding>) -> Option<PackerTemplate> {
    let root = doc.root();
    let origin = Origin::new(path.clone(), 1);
    if !root.value.is_object() {
        return None;
    }
    for d in &doc.duplicates {
        findings.push(Finding::warning(
            codes::DUPLICATE_KEY,
            path.as_ref(),
            d.line,
            format!("duplicate key `{}` (first at line {}); the last value wins", d.key, d.first_line),
        ));
    }
    let mut l = Loader {
        path: path.clone(),
        findings,
        declared: HashMap::new(),
        sensitive: HashSet::new(),
        expanded: HashMap::new(),
        expanding: Vec::new(),
    };
    for (key, node) in root.entries() {
        if !ROOT_KEYS.contains(&key) {
            l.warn(codes::UNEXPECTED_SHAPE, node.line(), format!("unknown top-level key `{key}`; Packer refuses it"));
        }
    }
    let variables = l.variables(&root);
    let builders = l.builders(&root);
    let provisioners = l.provisioners(&root);
    let post_processors = l.post_processors(&root);
    let description = root.get("description").and_then(|n| l.text(&n));
    let required_version = root.get("min_packer_version").and_then(|n| l.text(&n));
    let build = Build {
        name: None,
        origin: origin.clone(),
        sources: builders
            .iter()
            .enumerate()
            .map(|(i, b)| BuildSource {
                reference: b.reference(),
                builder: Some(i),
                name: None,
                origin: b.origin.clone(),
                settings: Vec::new(),
            })
            .collect(),
        provisioners,
        post_processors,
    };
    Some(PackerTemplate {
        dir: crate::source::parent(&path).to_string(),
        files: vec![path.clone()],
        path,
        format: TemplateFormat::Json,
        var_files: Vec::new(),
        origin,
        description,
        required_version,
        required_plugins: Vec::new(),
        variables,
        locals: Vec::new(),
        data_sources: Vec::new(),
        builders,
        builds: vec![build],
    })
}

impl Loader<'_> {
    fn origin(&self, line: u32) -> Origin {
        Origin::new(self.path.clone(), line)
    }

    fn warn(&mut self, code: crate::diagnostics::Code, line: u32, message: String) {
        self.findings.push(Finding::warning(code, self.path.as_ref(), line, message));
    }

    fn shape(&mut self, node: &JsonNode<'_>, what: &str, expected: &str) {
        let message = format!("{what} should be {expected}, not {}; ignored", node.kind());
        self.warn(codes::UNEXPECTED_SHAPE, node.line(), message);
    }

    fn variables(&mut self, root: &JsonNode<'_>) -> Vec<Variable> {
        if let Some(list) = root.get("sensitive-variables") {
            if list.value.is_array() {
                for item in list.items() {
                    match item.as_str() {
                        Some(name) => {
                            self.sensitive.insert(name.to_string());
                        }
                        None => self.shape(&item, "a `sensitive-variables` entry", "a variable name"),
                    }
                }
            } else {
                self.shape(&list, "`sensitive-variables`", "a list of variable names");
            }
        }
        let Some(vars) = root.get("variables") else { return Vec::new() };
        if !vars.value.is_object() {
            self.shape(&vars, "`variables`", "an object of names to default values");
            return Vec::new();
        }
        let entries = vars.entries();
        for (name, node) in &entries {
            let raw = match node.value {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Bool(_) | serde_json::Value::Number(_) => Some(node.value.to_string()),
                _ => {
                    self.shape(node, &format!("variable `{name}`"), "a string or null");
                    None
                }
            };
            self.declared.insert(name.to_string(), (raw, node.line()));
        }
        let mut out = Vec::new();
        for (name, node) in entries {
            let origin = self.origin(node.line());
            let sensitive = self.sensitive.contains(name);
            let value = match self.variable_value(name) {
                None => VarValue::Unset,
                Some(text) if sensitive => {
                    VarValue::Secret { value: Sensitive::new(Value::Str(text)), origin: origin.clone() }
                }
                Some(text) => VarValue::Plain { value: Value::Str(text), origin: origin.clone() },
            };
            out.push(Variable { name: name.to_string(), origin, type_expr: None, description: None, sensitive, value });
        }
        out
    }

    /// The expanded value of variable `name` (`None` when it is `null`).
    fn variable_value(&mut self, name: &str) -> Option<Text> {
        if let Some(t) = self.expanded.get(name) {
            return Some(t.clone());
        }
        let (raw, line) = self.declared.get(name)?.clone();
        let raw = raw?;
        self.expanding.push(name.to_string());
        let text = self.expand(&raw, line);
        self.expanding.pop();
        self.expanded.insert(name.to_string(), text.clone());
        Some(text)
    }

    /// Expands the Go-template actions Packer evaluates before a build.
    fn expand(&mut self, raw: &str, line: u32) -> Text {
        let mut text = Text::literal(raw, self.origin(line));
        if !raw.contains("{{") {
            return text;
        }
        let mut resolved = String::with_capacity(raw.len());
        // Set when an action stays as written: the value is then not known.
        let mut kept = false;
        let mut last = 0;
        for cap in ACTION.captures_iter(raw) {
            let (Some(whole), Some(inner)) = (cap.get(0), cap.get(1)) else { continue };
            resolved.push_str(&raw[last..whole.start()]);
            last = whole.end();
            let action = inner.as_str();
            let written = whole.as_str();
            if action == "template_dir" || action == "pwd" {
                resolved.push('.');
                continue;
            }
            let Some(call) = CALL.captures(action) else {
                // {{timestamp}}, {{.HTTPIP}}, {{isotime "…"}}, {{uuid}}: build-time values.
                resolved.push_str(written);
                kept = true;
                continue;
            };
            let func = call.get(1).map(|m| m.as_str()).unwrap_or_default();
            let arg = call.get(2).or(call.get(3)).map(|m| m.as_str()).unwrap_or_default().to_string();
            let value = if func == "env" {
                push_unique(&mut text.env, arg);
                None
            } else if self.sensitive.contains(&arg) {
                push_unique(&mut text.secrets, arg);
                None
            } else if !self.declared.contains_key(&arg) {
                self.warn(
                    codes::UNRESOLVED_REFERENCE,
                    line,
                    format!("`{written}` refers to variable `{arg}`, which `variables` does not declare; kept"),
                );
                None
            } else if self.expanding.contains(&arg) || self.expanding.len() >= MAX_REFERENCE_DEPTH {
                self.warn(
                    codes::UNRESOLVED_REFERENCE,
                    line,
                    format!("variable `{arg}` refers to itself through `{written}` (or nests too deep); kept"),
                );
                None
            } else {
                let value = self.variable_value(&arg);
                if value.is_none() {
                    push_unique(&mut text.unset, arg);
                }
                value
            };
            match value {
                None => {
                    resolved.push_str(written);
                    kept = true;
                }
                Some(value) => {
                    resolved.push_str(&value.resolved);
                    kept |= !value.known;
                    for e in value.env {
                        push_unique(&mut text.env, e);
                    }
                    for s in value.secrets {
                        push_unique(&mut text.secrets, s);
                    }
                    for u in value.unset {
                        push_unique(&mut text.unset, u);
                    }
                }
            }
        }
        resolved.push_str(&raw[last..]);
        text.resolved = resolved;
        text.known = !kept;
        text
    }

    /// A JSON value as a model value, strings expanded.
    fn value(&mut self, node: &JsonNode<'_>) -> Value {
        match node.value {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.to_string()),
            serde_json::Value::String(s) => Value::Str(self.expand(s, node.line())),
            serde_json::Value::Array(_) => Value::List(node.items().iter().map(|n| self.value(n)).collect()),
            serde_json::Value::Object(_) => {
                Value::Map(node.entries().iter().map(|(k, n)| (k.to_string(), self.value(n))).collect())
            }
        }
    }

    fn text(&mut self, node: &JsonNode<'_>) -> Option<Text> {
        let line = node.line();
        self.value(node).text(&self.origin(line))
    }

    /// An object's members as settings, leaving out `skip`.
    fn settings(&mut self, node: &JsonNode<'_>, skip: &[&str]) -> Vec<Setting> {
        node.entries()
            .iter()
            .filter(|(k, _)| !skip.contains(k))
            .map(|(k, n)| Setting { key: k.to_string(), value: self.value(n), origin: self.origin(n.line()) })
            .collect()
    }

    /// The `type` of a builder, provisioner or post-processor object.
    fn kind(&mut self, node: &JsonNode<'_>, what: &str) -> Option<String> {
        if !node.value.is_object() {
            self.shape(node, &format!("a {what}"), "an object with a `type`");
            return None;
        }
        match node.get("type") {
            Some(t) => match t.as_str() {
                Some(s) if !s.is_empty() => Some(s.to_string()),
                _ => {
                    self.shape(&t, &format!("the {what}'s `type`"), "a non-empty string");
                    None
                }
            },
            None => {
                self.warn(codes::UNEXPECTED_SHAPE, node.line(), format!("{what} without `type`; ignored"));
                None
            }
        }
    }

    /// A list under `key` (missing is empty; anything else is reported).
    fn list<'a>(&mut self, root: &JsonNode<'a>, key: &str) -> Vec<JsonNode<'a>> {
        let Some(node) = root.get(key) else { return Vec::new() };
        if !node.value.is_array() {
            self.shape(&node, &format!("`{key}`"), "a list");
            return Vec::new();
        }
        node.items()
    }

    fn builders(&mut self, root: &JsonNode<'_>) -> Vec<super::Builder> {
        let mut out = Vec::new();
        for node in self.list(root, "builders") {
            let Some(kind) = self.kind(&node, "builder") else { continue };
            let name = match node.get("name") {
                Some(n) => self.text(&n).map(|t| t.resolved).unwrap_or_else(|| kind.clone()),
                None => kind.clone(),
            };
            let settings = self.settings(&node, &["type", "name"]);
            let origin = self.origin(node.line());
            let builder =
                Shapes { findings: self.findings }.builder(kind, name, origin, settings, TemplateFormat::Json);
            out.push(builder);
        }
        out
    }

    fn provisioners(&mut self, root: &JsonNode<'_>) -> Vec<super::Provisioner> {
        let mut out = Vec::new();
        for node in self.list(root, "provisioners") {
            let Some(kind) = self.kind(&node, "provisioner") else { continue };
            let settings = self.settings(&node, &["type"]);
            let origin = self.origin(node.line());
            out.push(Shapes { findings: self.findings }.provisioner(kind, origin, settings));
        }
        out
    }

    /// `post-processors`: each item is a type name, an object, or a list of
    /// those (a chain run in sequence).
    fn post_processors(&mut self, root: &JsonNode<'_>) -> Vec<Vec<super::PostProcessor>> {
        let mut chains = Vec::new();
        for node in self.list(root, "post-processors") {
            let items = if node.value.is_array() { node.items() } else { vec![node] };
            let mut chain = Vec::new();
            for item in items {
                let origin = self.origin(item.line());
                if let Some(kind) = item.as_str() {
                    chain.push(Shapes { findings: self.findings }.post_processor(kind.to_string(), origin, Vec::new()));
                    continue;
                }
                let Some(kind) = self.kind(&item, "post-processor") else { continue };
                let settings = self.settings(&item, &["type"]);
                chain.push(Shapes { findings: self.findings }.post_processor(kind, origin, settings));
            }
            if !chain.is_empty() {
                chains.push(chain);
            }
        }
        chains
    }
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}
