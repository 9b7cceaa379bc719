//! `ansible.cfg`: the settings that change where Ansible looks for things.
//!
//! Read as Python's `configparser` reads it (Ansible uses it with `;` as the
//! inline comment prefix): `[section]` headers, `key = value` or `key: value`,
//! full-line `#`/`;` comments, indented continuation lines. Only
//! `[defaults] roles_path` and `inventory` (or the old `hostfile`) are used;
//! paths are made repo-relative and those outside the repository (`~/...`,
//! `/etc/ansible/roles`) are dropped, since nothing there can be read.

use std::sync::Arc;

use serde::Serialize;

use crate::diagnostics::codes;
use crate::source;

use super::Cx;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnsibleConfig {
    pub path: Arc<str>,
    /// `[defaults] roles_path`, repo-relative, in order.
    pub roles_path: Vec<String>,
    /// `[defaults] inventory`, repo-relative.
    pub inventory: Vec<String>,
}

impl AnsibleConfig {
    /// The directory holding this `ansible.cfg`.
    pub fn dir(&self) -> &str {
        source::parent(&self.path)
    }
}

/// One `key = value` of an INI file, with the line of its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IniEntry {
    pub section: String,
    pub key: String,
    pub value: String,
    pub line: u32,
}

/// Parses configparser-style INI. Lines that are neither a header, an entry
/// nor a continuation are reported (M002) and skipped.
pub(crate) fn parse_ini(text: &str, cx: &mut Cx<'_>) -> Vec<IniEntry> {
    let mut out: Vec<IniEntry> = Vec::new();
    let mut section: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i as u32 + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let indented = raw.starts_with([' ', '\t']);
        if indented && let Some(last) = out.last_mut().filter(|e| Some(&e.section) == section.as_ref()) {
            if !last.value.is_empty() {
                last.value.push('\n');
            }
            last.value.push_str(strip_inline_comment(trimmed));
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = Some(name.trim().to_string());
            continue;
        }
        let Some(sec) = &section else {
            cx.error(codes::INVALID_SYNTAX, line_no, "entry before any `[section]` header");
            continue;
        };
        let sep = trimmed.find(['=', ':']);
        match sep {
            Some(pos) if pos > 0 => out.push(IniEntry {
                section: sec.clone(),
                key: trimmed[..pos].trim().to_ascii_lowercase(),
                value: strip_inline_comment(trimmed[pos + 1..].trim()).to_string(),
                line: line_no,
            }),
            _ => cx.error(codes::INVALID_SYNTAX, line_no, format!("expected `key = value`, found `{trimmed}`")),
        }
    }
    out
}

/// configparser strips ` ;comment` (a `;` after whitespace).
fn strip_inline_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for i in 1..bytes.len() {
        if bytes[i] == b';' && bytes[i - 1].is_ascii_whitespace() {
            return value[..i].trim_end();
        }
    }
    value
}

/// Reads an `ansible.cfg`.
pub(crate) fn parse_config(text: &str, cx: &mut Cx<'_>) -> AnsibleConfig {
    let dir = source::parent(&cx.path).to_string();
    let mut cfg = AnsibleConfig { path: cx.path.clone(), roles_path: Vec::new(), inventory: Vec::new() };
    for e in parse_ini(text, cx) {
        if e.section != "defaults" {
            continue;
        }
        match e.key.as_str() {
            "roles_path" => cfg.roles_path = repo_paths(&dir, e.value.split(':')),
            "inventory" | "hostfile" => cfg.inventory = repo_paths(&dir, e.value.split(',')),
            _ => {}
        }
    }
    cfg
}

fn repo_paths<'a>(dir: &str, parts: impl Iterator<Item = &'a str>) -> Vec<String> {
    parts.map(str::trim).filter(|p| !p.is_empty()).filter_map(|p| source::resolve(dir, p).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(path: &str, text: &str) -> (AnsibleConfig, Vec<crate::diagnostics::Finding>) {
        let mut findings = Vec::new();
        let mut cx = Cx::new(Arc::from(path), &mut findings);
        (parse_config(text, &mut cx), findings)
    }

    #[test]
    fn roles_path_and_inventory() {
        let (c, f) = cfg(
            "ansible/ansible.cfg",
            "# comment\n[defaults]\nroles_path=dmdirc-roles:thirdparty-roles:~/.ansible/roles:/etc/ansible/roles\ninventory : hosts ; inline\n\n[ssh_connection]\npipelining = True\n",
        );
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(c.roles_path, vec!["ansible/dmdirc-roles", "ansible/thirdparty-roles"]);
        assert_eq!(c.inventory, vec!["ansible/hosts"]);
    }

    #[test]
    fn continuation_lines() {
        let (c, _) = cfg("ansible.cfg", "[defaults]\nroles_path = roles:\n    vendor\n");
        // configparser joins continuations with a newline; `:` splitting keeps it apart.
        assert_eq!(c.roles_path.len(), 2);
    }

    #[test]
    fn broken_lines_are_findings() {
        let (_, f) = cfg("ansible.cfg", "roles_path = x\n[defaults]\njust words\n");
        let lines: Vec<String> = f.iter().map(|f| f.to_string()).collect();
        assert_eq!(
            lines,
            vec![
                "ansible.cfg:1 M002 error: entry before any `[section]` header",
                "ansible.cfg:3 M002 error: expected `key = value`, found `just words`",
            ]
        );
    }
}
