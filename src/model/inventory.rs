//! Inventories: groups, hosts and their variables.
//!
//! Owns [`Inventory`] and the two static formats Ansible reads: INI
//! (`[group]`, `[group:children]`, `[group:vars]`, host lines with inline
//! `k=v` variables, parsed as Ansible's `ini` plugin does with shell-like
//! quoting) and YAML (`all:` / `children:` / `hosts:` / `vars:`). A YAML file
//! naming an inventory `plugin:` is recorded as such (dynamic, not expanded).
//! Host ranges such as `web[01:03]` are kept as written. `group_vars/` and
//! `host_vars/` are read by the loader, not here.

use std::sync::Arc;

use serde::Serialize;

use crate::diagnostics::codes;
use crate::source::yaml::{self, Node};

use super::value::{Value, Var, key_text};
use super::{Cx, Origin};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inventory {
    pub path: Arc<str>,
    pub format: InventoryFormat,
    /// Groups in order of first appearance, each listed once.
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InventoryFormat {
    Ini,
    Yaml,
    /// A dynamic inventory plugin configuration (`plugin: aws_ec2`).
    Plugin {
        name: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub name: String,
    pub origin: Origin,
    pub hosts: Vec<Host>,
    pub children: Vec<String>,
    pub vars: Vec<Var>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Host {
    /// As written; a range pattern (`web[01:03].example.com`) is not expanded.
    pub name: String,
    pub origin: Origin,
    pub vars: Vec<Var>,
}

impl Host {
    /// True for a range pattern such as `web[01:03]`.
    pub fn is_range(&self) -> bool {
        self.name.contains('[') && self.name.contains(':') && self.name.contains(']')
    }
}

impl Inventory {
    fn group_mut(&mut self, name: &str, origin: Origin) -> &mut Group {
        // Host lines come in runs under one group: look at the last group first.
        let last = self.groups.len().checked_sub(1).filter(|&i| self.groups[i].name == name);
        let pos = match last.or_else(|| self.groups.iter().position(|g| g.name == name)) {
            Some(p) => p,
            None => {
                self.groups.push(Group {
                    name: name.to_string(),
                    origin,
                    hosts: Vec::new(),
                    children: Vec::new(),
                    vars: Vec::new(),
                });
                self.groups.len() - 1
            }
        };
        &mut self.groups[pos]
    }

    /// Distinct host names (patterns) across all groups.
    pub fn host_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.groups.iter().flat_map(|g| g.hosts.iter().map(|h| h.name.as_str())).collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// True for a YAML document shaped like an inventory: a mapping whose values
/// are groups (`hosts`/`children`/`vars` mappings) and which has `all:` or
/// any group with `hosts`/`children`.
pub fn is_yaml_inventory(doc: &Node) -> bool {
    let Some(entries) = doc.as_map() else { return false };
    if entries.is_empty() {
        return false;
    }
    let group_like = |v: &Node| {
        v.is_null() || v.entries().all(|(k, _)| matches!(k, "hosts" | "children" | "vars")) && v.as_map().is_some()
    };
    let all_groups = entries.iter().all(|(_, v)| group_like(v));
    let has_members = entries.iter().any(|(_, v)| v.get("hosts").is_some() || v.get("children").is_some());
    all_groups && has_members
}

/// True for a dynamic inventory plugin configuration.
pub fn plugin_name(doc: &Node) -> Option<&str> {
    doc.get("plugin").and_then(|p| p.as_str())
}

/// Reads a YAML inventory (or plugin configuration).
pub(crate) fn parse_yaml_inventory(doc: &Node, cx: &mut Cx<'_>) -> Inventory {
    if let Some(name) = plugin_name(doc) {
        return Inventory {
            path: cx.path.clone(),
            format: InventoryFormat::Plugin { name: name.to_string() },
            groups: Vec::new(),
        };
    }
    let mut inv = Inventory { path: cx.path.clone(), format: InventoryFormat::Yaml, groups: Vec::new() };
    match &doc.value {
        yaml::Value::Map(entries) => {
            for (k, v) in entries {
                yaml_group(&mut inv, &key_text(k), k.line, v, cx);
            }
        }
        yaml::Value::Null => {}
        _ => cx.warning(
            codes::UNEXPECTED_SHAPE,
            doc.line,
            format!("a YAML inventory must be a mapping of groups, found {}", doc.kind()),
        ),
    }
    inv
}

fn yaml_group(inv: &mut Inventory, name: &str, line: u32, data: &Node, cx: &mut Cx<'_>) {
    let origin = cx.origin(line);
    inv.group_mut(name, origin);
    if data.is_null() {
        return;
    }
    if data.as_map().is_none() {
        cx.warning(
            codes::UNEXPECTED_SHAPE,
            data.line,
            format!("group `{name}` must be a mapping, found {}; skipped", data.kind()),
        );
        return;
    }
    for (k, v) in data.as_map().unwrap_or(&[]) {
        let key = key_text(k);
        match key.as_str() {
            "vars" => match &v.value {
                yaml::Value::Map(_) => {
                    let vars = super::value::vars_of_map(v, &cx.path);
                    inv.group_mut(name, cx.origin(line)).vars.extend(vars);
                }
                yaml::Value::Null => {}
                _ => cx.warning(
                    codes::UNEXPECTED_SHAPE,
                    v.line,
                    format!("`vars` of group `{name}` must be a mapping, found {}", v.kind()),
                ),
            },
            "hosts" => match &v.value {
                yaml::Value::Map(hosts) => {
                    for (hk, hv) in hosts {
                        let vars =
                            if hv.as_map().is_some() { super::value::vars_of_map(hv, &cx.path) } else { Vec::new() };
                        if !hv.is_null() && hv.as_map().is_none() {
                            cx.warning(
                                codes::UNEXPECTED_SHAPE,
                                hv.line,
                                format!("host `{}` must map to its variables, found {}", key_text(hk), hv.kind()),
                            );
                        }
                        let host = Host { name: key_text(hk), origin: cx.origin(hk.line), vars };
                        inv.group_mut(name, cx.origin(line)).hosts.push(host);
                    }
                }
                yaml::Value::Null => {}
                _ => cx.warning(
                    codes::UNEXPECTED_SHAPE,
                    v.line,
                    format!("`hosts` of group `{name}` must be a mapping of host names, found {}; skipped", v.kind()),
                ),
            },
            "children" => match &v.value {
                yaml::Value::Map(children) => {
                    for (ck, cv) in children {
                        let child = key_text(ck);
                        let group = inv.group_mut(name, cx.origin(line));
                        if !group.children.contains(&child) {
                            group.children.push(child.clone());
                        }
                        yaml_group(inv, &child, ck.line, cv, cx);
                    }
                }
                yaml::Value::Null => {}
                _ => cx.warning(
                    codes::UNEXPECTED_SHAPE,
                    v.line,
                    format!("`children` of group `{name}` must be a mapping of groups, found {}; skipped", v.kind()),
                ),
            },
            _ => cx.warning(
                codes::UNKNOWN_KEY,
                k.line,
                format!("`{key}` in group `{name}` is not `hosts`, `children` or `vars`; skipped"),
            ),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Hosts,
    Children,
    Vars,
}

/// Reads an INI inventory. Malformed lines are reported (M002) and skipped.
pub(crate) fn parse_ini_inventory(text: &str, cx: &mut Cx<'_>) -> Inventory {
    let mut inv = Inventory { path: cx.path.clone(), format: InventoryFormat::Ini, groups: Vec::new() };
    let mut group = String::from("ungrouped");
    let mut section = Section::Hosts;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i as u32 + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            match parse_section(line) {
                Some((name, kind)) => {
                    let kind = match kind {
                        None | Some("hosts") => Section::Hosts,
                        Some("children") => Section::Children,
                        Some("vars") => Section::Vars,
                        Some(other) => {
                            cx.error(
                                codes::INVALID_SYNTAX,
                                line_no,
                                format!("section `[{name}:{other}]` has an unknown type"),
                            );
                            group = name.to_string();
                            section = Section::Vars;
                            continue;
                        }
                    };
                    group = name.to_string();
                    section = kind;
                    inv.group_mut(&group, cx.origin(line_no));
                    continue;
                }
                None if line.ends_with(']') => {
                    cx.error(codes::INVALID_SYNTAX, line_no, format!("invalid section header `{line}`"));
                    continue;
                }
                None => {}
            }
        }
        match section {
            Section::Hosts => {
                let tokens = match shell_words(line) {
                    Ok(t) => t,
                    Err(msg) => {
                        cx.error(codes::INVALID_SYNTAX, line_no, msg);
                        continue;
                    }
                };
                let Some((host, rest)) = tokens.split_first() else { continue };
                let mut vars = Vec::new();
                for t in rest {
                    match t.split_once('=') {
                        Some((k, v)) => vars.push(Var {
                            name: k.to_string(),
                            value: Value::Str(v.to_string()),
                            origin: cx.origin(line_no),
                        }),
                        None => cx.error(
                            codes::INVALID_SYNTAX,
                            line_no,
                            format!("expected `key=value` after host `{host}`, found `{t}`"),
                        ),
                    }
                }
                let host = Host { name: host.clone(), origin: cx.origin(line_no), vars };
                inv.group_mut(&group, cx.origin(line_no)).hosts.push(host);
            }
            Section::Children => {
                let child = line.split_whitespace().next().unwrap_or(line).to_string();
                inv.group_mut(&child, cx.origin(line_no));
                let g = inv.group_mut(&group, cx.origin(line_no));
                if !g.children.contains(&child) {
                    g.children.push(child);
                }
            }
            Section::Vars => match line.split_once('=') {
                Some((k, v)) => {
                    let var = Var {
                        name: k.trim().to_string(),
                        value: Value::Str(v.trim().to_string()),
                        origin: cx.origin(line_no),
                    };
                    inv.group_mut(&group, cx.origin(line_no)).vars.push(var);
                }
                None => cx.error(codes::INVALID_SYNTAX, line_no, format!("expected `key=value`, found `{line}`")),
            },
        }
    }
    inv
}

/// `[name]` / `[name:kind]` with an optional trailing comment, as Ansible's
/// section pattern `^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?$`.
fn parse_section(line: &str) -> Option<(&str, Option<&str>)> {
    let body = line.strip_prefix('[')?;
    let close = body.find(']')?;
    let tail = body[close + 1..].trim_start();
    if !(tail.is_empty() || tail.starts_with('#') || tail.starts_with(';')) {
        return None;
    }
    let inner = &body[..close];
    let (name, kind) = match inner.split_once(':') {
        Some((n, k)) => (n, Some(k)),
        None => (inner, None),
    };
    let name_ok = !name.is_empty() && !name.contains(char::is_whitespace);
    let kind_ok = kind.is_none_or(|k| !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_'));
    (name_ok && kind_ok).then_some((name, kind))
}

/// POSIX-shell-like word splitting with `#` comments, as Python's
/// `shlex.split(line, comments=True)` that Ansible's INI inventory uses.
fn shell_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '#' if !in_word => break,
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err("no closing quotation in host line".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$' | '`')) => cur.push(x),
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => return Err("no closing quotation in host line".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("no closing quotation in host line".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(x) => cur.push(x),
                    None => return Err("no escaped character at the end of the host line".into()),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Finding;

    fn ini(text: &str) -> (Inventory, Vec<Finding>) {
        let mut findings = Vec::new();
        let mut cx = Cx::new(Arc::from("hosts"), &mut findings);
        (parse_ini_inventory(text, &mut cx), findings)
    }

    #[test]
    fn ini_groups_children_vars_and_ranges() {
        let (inv, f) = ini(
            "lonely.example.com\n[web]\nweb[01:03].example.com ansible_user=deploy http_port=\"80 81\" # comment\nweb9 ansible_host=10.0.0.9\n\n[db]\ndb1\n\n[prod:children]\nweb\ndb\n\n[prod:vars]\nntp_server = ntp.example.com\n",
        );
        assert!(f.is_empty(), "{f:?}");
        let names: Vec<&str> = inv.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, vec!["ungrouped", "web", "db", "prod"]);
        let web = &inv.groups[1];
        assert_eq!(web.hosts[0].name, "web[01:03].example.com");
        assert!(web.hosts[0].is_range());
        assert_eq!(web.hosts[0].vars[1].value, Value::Str("80 81".into()));
        assert_eq!(web.hosts[1].origin.line, 4);
        assert_eq!(inv.groups[3].children, vec!["web", "db"]);
        assert_eq!(inv.groups[3].vars[0].name, "ntp_server");
        assert_eq!(inv.host_names().len(), 4);
    }

    #[test]
    fn ini_mistakes_are_findings() {
        let (_, f) = ini("[web\n[a b]\n[web]\nhost1 novalue\n[web:vars]\nnovalue\n[x:weird]\nhost2 'open\n");
        let lines: Vec<String> = f.iter().map(|f| f.to_string()).collect();
        assert_eq!(
            lines,
            vec![
                "hosts:2 M002 error: invalid section header `[a b]`",
                "hosts:4 M002 error: expected `key=value` after host `host1`, found `novalue`",
                "hosts:6 M002 error: expected `key=value`, found `novalue`",
                "hosts:7 M002 error: section `[x:weird]` has an unknown type",
                "hosts:8 M002 error: expected `key=value`, found `host2 'open`",
            ]
        );
    }

    #[test]
    fn yaml_inventory() {
        let doc = yaml::parse(
            "all:\n  vars:\n    ntp: pool.ntp.org\n  children:\n    web:\n      hosts:\n        web1:\n          http_port: 80\n        web2:\n    db:\n      hosts:\n        db1: {}\n",
        )
        .unwrap()
        .docs
        .remove(0);
        assert!(is_yaml_inventory(&doc));
        let mut findings = Vec::new();
        let mut cx = Cx::new(Arc::from("inventory.yml"), &mut findings);
        let inv = parse_yaml_inventory(&doc, &mut cx);
        assert!(findings.is_empty(), "{findings:?}");
        let names: Vec<&str> = inv.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, vec!["all", "web", "db"]);
        assert_eq!(inv.groups[0].children, vec!["web", "db"]);
        assert_eq!(inv.groups[1].hosts[0].vars[0].name, "http_port");
        assert_eq!(inv.groups[1].hosts[0].origin.line, 7);
    }

    #[test]
    fn yaml_inventory_shapes() {
        let doc = |t: &str| yaml::parse(t).unwrap().docs.remove(0);
        assert!(!is_yaml_inventory(&doc("name: x\nversion: 2\n")));
        assert_eq!(plugin_name(&doc("plugin: aws_ec2\nregions: [us-east-1]\n")), Some("aws_ec2"));
        let mut findings = Vec::new();
        let mut cx = Cx::new(Arc::from("inv.yaml"), &mut findings);
        let inv = parse_yaml_inventory(&doc("node_1:\n  hosts:\n    10.[0:10].1.2\n"), &mut cx);
        assert_eq!(inv.groups.len(), 1);
        assert_eq!(
            findings[0].to_string(),
            "inv.yaml:3 M008 warning: `hosts` of group `node_1` must be a mapping of host names, found a string; skipped"
        );
    }

    #[test]
    fn shell_words_like_shlex() {
        assert_eq!(shell_words("a b='c d' e=\"f\\\"g\" # x").unwrap(), vec!["a", "b=c d", "e=f\"g"]);
        assert!(shell_words("a 'b").is_err());
    }
}
