//! Variable files: `group_vars/`, `host_vars/`, role `defaults/` and `vars/`,
//! `vars_files`, `include_vars`.
//!
//! Owns [`VarsFile`] (the variables of one file, or the fact that the whole
//! file is Ansible Vault ciphertext), [`ScopedVars`] (which group or host a
//! `group_vars`/`host_vars` entry is for) and [`Secret`] (where vault
//! ciphertext was seen). Decryption is not done here.

use std::sync::Arc;

use serde::Serialize;

use crate::diagnostics::codes;
use crate::source::yaml::{self, Node, NodeTag};

use super::value::{Var, VaultHeader, key_text, vars_of_map};
use super::{Cx, Origin};

/// The variables of one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VarsFile {
    pub path: Arc<str>,
    pub vars: Vec<Var>,
    /// Set when the whole file is vault ciphertext: `vars` is then empty
    /// until the vault stage decrypts it.
    pub encrypted: Option<VaultHeader>,
}

/// What a `group_vars` or `host_vars` entry applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Group,
    Host,
}

/// One group's or host's variables from a `group_vars/` or `host_vars/`
/// directory: a file (`web.yml`, `web`) or every file of a directory (`web/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopedVars {
    /// The directory holding `group_vars/` (beside an inventory or a playbook).
    pub base_dir: Arc<str>,
    pub scope: Scope,
    /// The group or host name.
    pub name: String,
    pub files: Vec<Arc<str>>,
}

/// Where vault ciphertext was found. Counted and reported, never printed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Secret {
    pub origin: Origin,
    /// The variable holding an inline value (`None` for a whole file or a
    /// value that is not under a mapping key).
    pub key: Option<String>,
    pub whole_file: bool,
    pub vault_id: Option<String>,
}

/// Reads a vars file from its text and parsed YAML.
pub(crate) fn parse_vars_file(text: &str, doc: Option<&Node>, cx: &mut Cx<'_>) -> VarsFile {
    let mut file = VarsFile { path: cx.path.clone(), vars: Vec::new(), encrypted: None };
    if let Some(header) = VaultHeader::parse(text) {
        file.encrypted = Some(header);
        return file;
    }
    let Some(doc) = doc else { return file };
    match &doc.value {
        yaml::Value::Map(_) => file.vars = vars_of_map(doc, &cx.path),
        yaml::Value::Null => {}
        _ => cx.warning(
            codes::UNEXPECTED_SHAPE,
            doc.line,
            format!("a vars file must be a mapping of variables, found {}", doc.kind()),
        ),
    }
    file
}

/// Every `!vault` value in a YAML tree, with the key it sits under.
pub(crate) fn inline_vault_values(doc: &Node, path: &Arc<str>, out: &mut Vec<Secret>) {
    // Iterative: trees can be up to the parser's depth limit.
    // The key's text is made only for a hit: every YAML file is scanned, few hold vault values.
    let mut stack: Vec<(&Node, Option<&Node>)> = vec![(doc, None)];
    while let Some((node, key)) = stack.pop() {
        if node.tag == NodeTag::Vault {
            let header = node.as_str().and_then(VaultHeader::parse);
            out.push(Secret {
                origin: Origin::new(path.clone(), node.line),
                key: key.map(key_text),
                whole_file: false,
                vault_id: header.and_then(|h| h.vault_id),
            });
            continue;
        }
        match &node.value {
            yaml::Value::Seq(items) => stack.extend(items.iter().map(|i| (i, None))),
            yaml::Value::Map(entries) => stack.extend(entries.iter().map(|(k, v)| (v, Some(k)))),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_file_is_recognised_not_parsed() {
        let text = "$ANSIBLE_VAULT;1.2;AES256;prod\n616263\n";
        let mut findings = Vec::new();
        let mut cx = Cx::new(Arc::from("group_vars/all/vault.yml"), &mut findings);
        let f = parse_vars_file(text, None, &mut cx);
        assert_eq!(f.encrypted.unwrap().vault_id.as_deref(), Some("prod"));
        assert!(f.vars.is_empty());
    }

    #[test]
    fn plain_vars_and_shapes() {
        let docs = yaml::parse("a: 1\nb: [x]\n").unwrap();
        let mut findings = Vec::new();
        let mut cx = Cx::new(Arc::from("vars.yml"), &mut findings);
        let f = parse_vars_file("a: 1\nb: [x]\n", docs.docs.first(), &mut cx);
        assert_eq!(f.vars.len(), 2);
        assert_eq!(f.vars[1].origin.line, 2);
        let docs = yaml::parse("- a\n").unwrap();
        let f = parse_vars_file("- a\n", docs.docs.first(), &mut cx);
        assert!(f.vars.is_empty());
        assert_eq!(
            findings[0].to_string(),
            "vars.yml:1 M008 warning: a vars file must be a mapping of variables, found a list"
        );
    }

    #[test]
    fn finds_inline_vault_values() {
        let docs = yaml::parse("db:\n  password: !vault |\n    $ANSIBLE_VAULT;1.1;AES256\n    3031\nlist:\n  - !vault |\n    $ANSIBLE_VAULT;1.2;AES256;dev\n    3032\n").unwrap();
        let mut out = Vec::new();
        inline_vault_values(&docs.docs[0], &Arc::from("v.yml"), &mut out);
        out.sort();
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].origin.line, out[0].key.as_deref()), (2, Some("password")));
        assert_eq!((out[1].key.as_deref(), out[1].vault_id.as_deref()), (None, Some("dev")));
    }
}
