//! Playbooks: lists of plays and playbook imports.
//!
//! Owns [`Playbook`], [`Play`] and [`PlaybookImport`], how a YAML document is
//! recognised as a playbook, and how a play is read. Parsing only: roles,
//! task files and vars files named here are resolved by the loader.

use std::sync::Arc;

use serde::Serialize;

use crate::diagnostics::codes;
use crate::source::yaml::{self, Node};

use super::freeform;
use super::link::{FileRef, RefKind};
use super::role::{RoleUse, parse_role_uses};
use super::task::{Environment, Task, parse_environment, parse_tasks, parse_vars, tags};
use super::value::{Flag, Map, Value, Var, key_text, string_list};
use super::{Cx, Origin};

/// Play keywords (Ansible's Play attributes).
const PLAY_KEYWORDS: &[&str] = &[
    "any_errors_fatal",
    "become",
    "become_exe",
    "become_flags",
    "become_method",
    "become_user",
    "check_mode",
    "collections",
    "connection",
    "debugger",
    "diff",
    "environment",
    "fact_path",
    "force_handlers",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "handlers",
    "hosts",
    "ignore_errors",
    "ignore_unreachable",
    "max_fail_percentage",
    "module_defaults",
    "name",
    "no_log",
    "order",
    "port",
    "post_tasks",
    "pre_tasks",
    "remote_user",
    "roles",
    "run_once",
    "serial",
    "strategy",
    "tags",
    "tasks",
    "throttle",
    "timeout",
    "vars",
    "vars_files",
    "vars_prompt",
];

/// Play keywords of Ansible 1.x still found in old playbooks.
const LEGACY_PLAY_KEYWORDS: &[&str] =
    &["accelerate", "accelerate_ipv6", "accelerate_port", "su", "su_user", "sudo", "sudo_user", "user"];

/// Keys of an `import_playbook` entry besides the import itself.
const IMPORT_KEYWORDS: &[&str] = &[
    "any_errors_fatal",
    "become",
    "become_exe",
    "become_flags",
    "become_method",
    "become_user",
    "check_mode",
    "connection",
    "debugger",
    "diff",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "module_defaults",
    "name",
    "no_log",
    "port",
    "remote_user",
    "run_once",
    "tags",
    "throttle",
    "timeout",
    "vars",
    "when",
];

const IMPORT_KEYS: &[&str] = &["import_playbook", "ansible.builtin.import_playbook", "ansible.legacy.import_playbook"];

/// One playbook file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Playbook {
    pub path: Arc<str>,
    pub entries: Vec<PlaybookEntry>,
}

impl Playbook {
    pub fn plays(&self) -> impl Iterator<Item = &Play> {
        self.entries.iter().filter_map(|e| match e {
            PlaybookEntry::Play(p) => Some(&**p),
            PlaybookEntry::Import(_) => None,
        })
    }

    pub fn imports(&self) -> impl Iterator<Item = &PlaybookImport> {
        self.entries.iter().filter_map(|e| match e {
            PlaybookEntry::Import(i) => Some(i),
            PlaybookEntry::Play(_) => None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlaybookEntry {
    Play(Box<Play>),
    Import(PlaybookImport),
}

/// `- import_playbook: other.yml` (or the legacy `- include: other.yml`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaybookImport {
    pub origin: Origin,
    pub file: FileRef,
    pub when: Vec<String>,
    pub tags: Vec<String>,
    /// `vars:` plus legacy `k=v` words after the file name.
    pub vars: Vec<Var>,
    pub keywords: Map,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Play {
    pub origin: Origin,
    pub name: Option<String>,
    /// Host patterns (`web:&staging` kept as one pattern).
    pub hosts: Vec<String>,
    pub gather_facts: Option<Flag>,
    pub vars: Vec<Var>,
    pub vars_files: Vec<VarsFilesEntry>,
    pub vars_prompt: Vec<VarPrompt>,
    pub roles: Vec<RoleUse>,
    pub pre_tasks: Vec<Task>,
    pub tasks: Vec<Task>,
    pub post_tasks: Vec<Task>,
    pub handlers: Vec<Task>,
    pub environment: Option<Environment>,
    /// `become` (or legacy `sudo`).
    #[serde(rename = "become")]
    pub become_: Option<Flag>,
    pub become_user: Option<String>,
    pub tags: Vec<String>,
    /// Other play keywords, as written (`serial`, `strategy`, `remote_user`, ...).
    pub keywords: Map,
    /// Keys Ansible does not know (reported as M012).
    pub unknown: Map,
}

impl Play {
    /// A play at `origin` with nothing in it yet (no name, hosts, vars, roles or tasks).
    pub fn new(origin: Origin) -> Play {
        Play {
            origin,
            name: None,
            hosts: Vec::new(),
            gather_facts: None,
            vars: Vec::new(),
            vars_files: Vec::new(),
            vars_prompt: Vec::new(),
            roles: Vec::new(),
            pre_tasks: Vec::new(),
            tasks: Vec::new(),
            post_tasks: Vec::new(),
            handlers: Vec::new(),
            environment: None,
            become_: None,
            become_user: None,
            tags: Vec::new(),
            keywords: Map::new(),
            unknown: Map::new(),
        }
    }
}

/// One `vars_files` entry: a file, or a list of which the first found is used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VarsFilesEntry {
    pub origin: Origin,
    pub choices: Vec<FileRef>,
}

/// One `vars_prompt` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VarPrompt {
    pub origin: Origin,
    pub name: String,
    pub prompt: Option<String>,
    pub private: Option<Flag>,
    pub default: Option<Value>,
}

/// True when a YAML document looks like a playbook: a list of mappings at
/// least one of which has `hosts` or `import_playbook`.
pub fn is_playbook(doc: &Node) -> bool {
    let Some(items) = doc.as_seq() else { return false };
    // One pass over each entry's keys (every YAML list in the repository is asked).
    items.iter().any(|i| i.entries().any(|(k, _)| k == "hosts" || IMPORT_KEYS.contains(&k)))
}

/// Reads a playbook document (a list of plays and imports).
pub(crate) fn parse_playbook(doc: &Node, cx: &mut Cx<'_>) -> Playbook {
    let mut entries = Vec::new();
    match &doc.value {
        yaml::Value::Seq(items) => {
            for item in items {
                if item.as_map().is_none() {
                    cx.warning(
                        codes::UNEXPECTED_SHAPE,
                        item.line,
                        format!("a playbook entry must be a mapping, found {}", item.kind()),
                    );
                    continue;
                }
                let import = IMPORT_KEYS.iter().find_map(|k| item.get(k).map(|v| (*k, v)));
                // A play-level legacy `include` imports a playbook.
                let import = import
                    .or_else(|| item.get("include").filter(|_| item.get("hosts").is_none()).map(|v| ("include", v)));
                match import {
                    Some((key, value)) => {
                        if let Some(i) = parse_import(item, key, value, cx) {
                            entries.push(PlaybookEntry::Import(i));
                        }
                    }
                    None => entries.push(PlaybookEntry::Play(Box::new(parse_play(item, cx)))),
                }
            }
        }
        yaml::Value::Null => {}
        _ => cx.warning(
            codes::UNEXPECTED_SHAPE,
            doc.line,
            format!("a playbook must be a list of plays, found {}", doc.kind()),
        ),
    }
    Playbook { path: cx.path.clone(), entries }
}

fn parse_import(item: &Node, key: &str, value: &Node, cx: &mut Cx<'_>) -> Option<PlaybookImport> {
    let origin = cx.origin(item.line);
    let Some(text) = value.as_str() else {
        cx.warning(codes::UNEXPECTED_SHAPE, value.line, format!("`{key}` must name a playbook file"));
        return None;
    };
    // Legacy `include: other.yml a=1`: the first word is the file, the rest are vars.
    let (file, params) = match freeform::split_module_string(text) {
        Ok((file, rest)) if !file.is_empty() => (file, rest),
        _ => (text.trim().to_string(), String::new()),
    };
    let mut import = PlaybookImport {
        origin: origin.clone(),
        file: FileRef::new(RefKind::Playbook, file, cx.origin(value.line)),
        when: Vec::new(),
        tags: Vec::new(),
        vars: Vec::new(),
        keywords: Map::new(),
    };
    if let Ok(pairs) = freeform::parse_kv(&params, false) {
        for (k, v) in pairs.into_iter().filter(|(k, _)| k != "_raw_params") {
            import.vars.push(Var { name: k, value: Value::Str(v), origin: cx.origin(value.line) });
        }
    }
    for (k, v) in item.as_map().unwrap_or(&[]) {
        let name = key_text(k);
        match name.as_str() {
            n if n == key => {}
            "when" => import.when = string_list(v),
            "tags" => import.tags = tags(v),
            "vars" => import.vars.extend(parse_vars(v, cx)),
            n if IMPORT_KEYWORDS.contains(&n) => import.keywords.insert(name, Value::from_node(v)),
            _ => {
                cx.warning(
                    codes::UNKNOWN_KEY,
                    k.line,
                    format!("`{name}` is not a keyword of `{key}`; kept, not interpreted"),
                );
                import.keywords.insert(name, Value::from_node(v));
            }
        }
    }
    Some(import)
}

fn parse_play(item: &Node, cx: &mut Cx<'_>) -> Play {
    let mut play = Play::new(cx.origin(item.line));
    let mut has_hosts = false;
    for (k, v) in item.as_map().unwrap_or(&[]) {
        let key = key_text(k);
        match key.as_str() {
            "name" => play.name = v.scalar_text().map(|c| c.into_owned()),
            "hosts" => {
                has_hosts = true;
                play.hosts = string_list(v);
                let bad = v.as_seq().unwrap_or(&[]).iter().find(|h| h.scalar_text().is_none());
                if let Some(h) = bad.or_else(|| (v.as_map().is_some()).then_some(v)) {
                    cx.warning(
                        codes::UNEXPECTED_SHAPE,
                        h.line,
                        format!("a host pattern must be a string, found {}; ignored", h.kind()),
                    );
                }
            }
            "gather_facts" => play.gather_facts = Some(Flag::from_node(v)),
            "vars" => play.vars = parse_vars(v, cx),
            "vars_files" => play.vars_files = parse_vars_files(v, cx),
            "vars_prompt" => play.vars_prompt = parse_vars_prompt(v, cx),
            "roles" => play.roles = parse_role_uses(v, "roles", cx),
            "pre_tasks" => play.pre_tasks = parse_tasks(v, cx),
            "tasks" => play.tasks = parse_tasks(v, cx),
            "post_tasks" => play.post_tasks = parse_tasks(v, cx),
            "handlers" => play.handlers = parse_tasks(v, cx),
            "environment" => play.environment = Some(parse_environment(v, cx)),
            "become" | "sudo" => play.become_ = Some(Flag::from_node(v)),
            "become_user" | "sudo_user" => play.become_user = v.scalar_text().map(|c| c.into_owned()),
            "tags" => play.tags = tags(v),
            // Ansible 1 spellings, normalised: `user` is `remote_user`, `su` is a become method.
            "user" => play.keywords.insert("remote_user", Value::from_node(v)),
            "su" => {
                play.become_ = Some(Flag::from_node(v));
                play.keywords.insert("become_method", Value::Str("su".into()));
            }
            "su_user" => play.become_user = v.scalar_text().map(|c| c.into_owned()),
            k2 if PLAY_KEYWORDS.contains(&k2) || LEGACY_PLAY_KEYWORDS.contains(&k2) => {
                play.keywords.insert(key, Value::from_node(v));
            }
            _ => {
                cx.warning(codes::UNKNOWN_KEY, k.line, format!("`{key}` is not a play keyword; kept, not interpreted"));
                play.unknown.insert(key, Value::from_node(v));
            }
        }
    }
    if !has_hosts {
        cx.warning(codes::UNEXPECTED_SHAPE, item.line, "play has no `hosts`; Ansible requires it");
    }
    play
}

fn parse_vars_files(node: &Node, cx: &mut Cx<'_>) -> Vec<VarsFilesEntry> {
    let entry = |n: &Node, cx: &mut Cx<'_>| -> Option<VarsFilesEntry> {
        let names: Vec<String> = match &n.value {
            yaml::Value::Seq(items) => items.iter().filter_map(|i| i.scalar_text().map(|c| c.into_owned())).collect(),
            _ => n.scalar_text().map(|c| vec![c.into_owned()]).unwrap_or_default(),
        };
        if names.is_empty() {
            cx.warning(codes::UNEXPECTED_SHAPE, n.line, "`vars_files` entry names no file");
            return None;
        }
        let origin = cx.origin(n.line);
        let choices = names.into_iter().map(|w| FileRef::new(RefKind::VarsFiles, w.trim(), origin.clone())).collect();
        Some(VarsFilesEntry { origin, choices })
    };
    match &node.value {
        yaml::Value::Null => Vec::new(),
        yaml::Value::Seq(items) => items.iter().filter_map(|i| entry(i, cx)).collect(),
        _ => entry(node, cx).into_iter().collect(),
    }
}

fn parse_vars_prompt(node: &Node, cx: &mut Cx<'_>) -> Vec<VarPrompt> {
    let mut out = Vec::new();
    match &node.value {
        yaml::Value::Seq(items) => {
            for i in items {
                let Some(name) = i.get("name").and_then(|n| n.scalar_text()) else {
                    cx.warning(codes::UNEXPECTED_SHAPE, i.line, "`vars_prompt` entry has no `name`");
                    continue;
                };
                out.push(VarPrompt {
                    origin: cx.origin(i.line),
                    name: name.into_owned(),
                    prompt: i.get("prompt").and_then(|n| n.scalar_text()).map(|c| c.into_owned()),
                    private: i.get("private").map(Flag::from_node),
                    default: i.get("default").map(Value::from_node),
                });
            }
        }
        // Ansible 1: `vars_prompt: { name: "prompt text" }`.
        yaml::Value::Map(entries) => {
            for (k, v) in entries {
                out.push(VarPrompt {
                    origin: cx.origin(k.line),
                    name: key_text(k),
                    prompt: v.scalar_text().map(|c| c.into_owned()),
                    private: None,
                    default: None,
                });
            }
        }
        yaml::Value::Null => {}
        _ => cx.warning(
            codes::UNEXPECTED_SHAPE,
            node.line,
            format!("`vars_prompt` must be a list, found {}", node.kind()),
        ),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Finding;

    fn book(text: &str) -> (Playbook, Vec<Finding>) {
        let doc = yaml::parse(text).unwrap().docs.remove(0);
        let mut findings = Vec::new();
        let mut cx = Cx::new(Arc::from("site.yml"), &mut findings);
        (parse_playbook(&doc, &mut cx), findings)
    }

    #[test]
    fn recognises_playbooks_by_content() {
        let doc = |t: &str| yaml::parse(t).unwrap().docs.remove(0);
        assert!(is_playbook(&doc("- hosts: all\n  tasks: []\n")));
        assert!(is_playbook(&doc("- import_playbook: web.yml\n")));
        assert!(is_playbook(&doc("- ansible.builtin.import_playbook: web.yml\n")));
        assert!(!is_playbook(&doc("- name: a task\n  apt: name=x\n")));
        assert!(!is_playbook(&doc("hosts: all\n")));
    }

    #[test]
    fn plays_with_every_section() {
        let (pb, f) = book(
            "- name: web\n  hosts: web:&staging\n  gather_facts: no\n  become: yes\n  become_user: root\n  tags: [w]\n  vars: {a: 1}\n  vars_files:\n    - vars/common.yml\n    - [\"vars/{{ env }}.yml\", vars/default.yml]\n  vars_prompt:\n    - name: pw\n      prompt: Password?\n      private: yes\n  environment: {HTTP_PROXY: 'http://p'}\n  roles: [common]\n  pre_tasks: [{ping: }]\n  tasks: [{apt: name=x}]\n  post_tasks: [{debug: msg=done}]\n  handlers: [{name: restart, service: name=x state=restarted}]\n  serial: 2\n",
        );
        assert!(f.is_empty(), "{f:?}");
        let play = pb.plays().next().unwrap();
        assert_eq!(play.hosts, vec!["web:&staging"]);
        assert_eq!(play.gather_facts, Some(Flag::Bool(false)));
        assert_eq!(play.become_, Some(Flag::Bool(true)));
        assert_eq!(play.vars_files.len(), 2);
        assert_eq!(play.vars_files[1].choices.len(), 2);
        assert_eq!(play.vars_prompt[0].name, "pw");
        assert_eq!(play.environment.as_ref().unwrap().vars[0].name, "HTTP_PROXY");
        assert_eq!(play.roles[0].name, "common");
        assert_eq!((play.pre_tasks.len(), play.tasks.len(), play.post_tasks.len(), play.handlers.len()), (1, 1, 1, 1));
        assert_eq!(play.keywords.str("serial"), Some("2"));
    }

    #[test]
    fn imports_old_and_new() {
        let (pb, f) = book(
            "- import_playbook: web.yml\n  when: x\n- include: db.yml a=1\n  vars: {b: 2}\n- hosts: all\n  user: root\n",
        );
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(pb.plays().next().unwrap().keywords.str("remote_user"), Some("root"));
        let imports: Vec<&PlaybookImport> = pb.imports().collect();
        assert_eq!(imports[0].file.written, "web.yml");
        assert_eq!(imports[0].when, vec!["x"]);
        assert_eq!(imports[1].file.written, "db.yml");
        let vars: Vec<&str> = imports[1].vars.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(vars, vec!["a", "b"]);
        assert_eq!(pb.plays().count(), 1);
    }

    #[test]
    fn odd_plays_are_findings() {
        let (_, mut f) = book("- name: no hosts\n  taks: []\n- 42\n");
        f.sort();
        let lines: Vec<String> = f.iter().map(|f| f.to_string()).collect();
        assert_eq!(
            lines,
            vec![
                "site.yml:1 M008 warning: play has no `hosts`; Ansible requires it",
                "site.yml:2 M012 warning: `taks` is not a play keyword; kept, not interpreted",
                "site.yml:3 M008 warning: a playbook entry must be a mapping, found a number",
            ]
        );
    }

    #[test]
    fn legacy_vars_prompt_mapping() {
        let (pb, _) = book("- hosts: all\n  vars_prompt:\n    release: Which release?\n");
        let play = pb.plays().next().unwrap();
        assert_eq!(play.vars_prompt[0].name, "release");
        assert_eq!(play.vars_prompt[0].prompt.as_deref(), Some("Which release?"));
    }
}
