//! Roles and the places that use them.
//!
//! Owns [`Role`] (what a role directory holds: entry task files, handlers,
//! defaults, vars, templates, files, `meta/main.yml` dependencies) and
//! [`RoleUse`] (a play's `roles:` entry or a meta dependency, with its
//! parameters). Parsing only; finding a role by name is the loader's job.

use std::sync::Arc;

use serde::Serialize;

use crate::diagnostics::codes;
use crate::source::yaml::{self, Node};

use super::task::{Environment, parse_environment, parse_vars, tags};
use super::value::{Flag, Map, Value, Var, key_text, string_list};
use super::{Cx, Origin};

/// Keywords of a role entry (Ansible's RoleDefinition attributes). Any other
/// key of the entry is a role parameter.
const ROLE_KEYWORDS: &[&str] = &[
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
    "ignore_errors",
    "ignore_unreachable",
    "module_defaults",
    "name",
    "no_log",
    "port",
    "remote_user",
    "role",
    "run_once",
    "tags",
    "throttle",
    "timeout",
    "vars",
    "when",
];

/// A role directory and what it holds. Paths are repo-relative.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Role {
    /// The directory name (`nginx`, `geerlingguy.java`).
    pub name: String,
    /// The role directory (`""` when the repository itself is the role).
    pub path: Arc<str>,
    /// `tasks/main.yml` (or `main.yaml`, `main`, `main.json`).
    pub tasks: Option<Arc<str>>,
    /// `handlers/main.yml`.
    pub handlers: Option<Arc<str>>,
    /// `defaults/main.yml`, or every file of `defaults/main/`.
    pub defaults: Vec<Arc<str>>,
    /// `vars/main.yml`, or every file of `vars/main/`.
    pub vars: Vec<Arc<str>>,
    /// Every file under `templates/` and `files/`.
    pub templates: Vec<Arc<str>>,
    pub files: Vec<Arc<str>>,
    /// `meta/main.yml`.
    pub meta: Option<Arc<str>>,
    pub dependencies: Vec<RoleUse>,
    /// `galaxy_info` from the meta file, when present.
    pub galaxy: Option<GalaxyInfo>,
    /// True when a play, an include or another role uses this role.
    pub used: bool,
}

/// What `meta/main.yml` says about the role's Galaxy identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GalaxyInfo {
    pub role_name: Option<String>,
    pub namespace: Option<String>,
    pub author: Option<String>,
}

impl GalaxyInfo {
    /// Galaxy names this role is known by (`namespace.role_name`, `author.role_name`).
    pub fn names(&self) -> Vec<String> {
        let Some(role) = &self.role_name else { return Vec::new() };
        [&self.namespace, &self.author].iter().filter_map(|o| o.as_ref().map(|ns| format!("{ns}.{role}"))).collect()
    }
}

/// A use of a role: a play's `roles:` entry, a meta dependency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleUse {
    pub origin: Origin,
    /// The role as named (`role:`, `name:`, a plain string, or a Galaxy `src:`).
    pub name: String,
    /// The role directory once found (`None`: missing or templated).
    pub role: Option<Arc<str>>,
    pub when: Vec<String>,
    pub tags: Vec<String>,
    pub vars: Vec<Var>,
    /// Entry keys that are not keywords: role parameters (variables).
    pub params: Vec<Var>,
    pub environment: Option<Environment>,
    #[serde(rename = "become")]
    pub become_: Option<Flag>,
    pub become_user: Option<String>,
    /// Other keywords, as written.
    pub keywords: Map,
}

/// Reads a `roles:` list or a meta `dependencies:` list.
pub(crate) fn parse_role_uses(node: &Node, what: &str, cx: &mut Cx<'_>) -> Vec<RoleUse> {
    match &node.value {
        yaml::Value::Null => Vec::new(),
        yaml::Value::Seq(items) => items.iter().filter_map(|i| parse_role_use(i, cx)).collect(),
        _ => {
            cx.warning(codes::UNEXPECTED_SHAPE, node.line, format!("`{what}` must be a list, found {}", node.kind()));
            Vec::new()
        }
    }
}

fn parse_role_use(node: &Node, cx: &mut Cx<'_>) -> Option<RoleUse> {
    let mut use_ = RoleUse {
        origin: cx.origin(node.line),
        name: String::new(),
        role: None,
        when: Vec::new(),
        tags: Vec::new(),
        vars: Vec::new(),
        params: Vec::new(),
        environment: None,
        become_: None,
        become_user: None,
        keywords: Map::new(),
    };
    match &node.value {
        yaml::Value::Map(entries) => {
            let named = node.get("role").or_else(|| node.get("name")).and_then(|n| n.scalar_text());
            let from_src = || node.get("src").and_then(|n| n.as_str()).map(role_name_from_src);
            match named.map(|c| c.into_owned()).or_else(from_src) {
                Some(name) => use_.name = name.trim().to_string(),
                None => {
                    cx.warning(codes::UNEXPECTED_SHAPE, node.line, "role entry has no `role` or `name`");
                    return None;
                }
            }
            for (k, v) in entries {
                let key = key_text(k);
                match key.as_str() {
                    "role" | "name" => {}
                    "when" => use_.when = string_list(v),
                    "tags" => use_.tags = tags(v),
                    "vars" => use_.vars = parse_vars(v, cx),
                    "environment" => use_.environment = Some(parse_environment(v, cx)),
                    "become" => use_.become_ = Some(Flag::from_node(v)),
                    "become_user" => use_.become_user = v.scalar_text().map(|c| c.into_owned()),
                    k2 if ROLE_KEYWORDS.contains(&k2) => use_.keywords.insert(key, Value::from_node(v)),
                    _ => use_.params.push(Var { name: key, value: Value::from_node(v), origin: cx.origin(k.line) }),
                }
            }
        }
        _ => match node.scalar_text() {
            Some(name) if !name.trim().is_empty() => use_.name = name.trim().to_string(),
            _ => {
                cx.warning(
                    codes::UNEXPECTED_SHAPE,
                    node.line,
                    format!("a role entry must be a name or a mapping, found {}", node.kind()),
                );
                return None;
            }
        },
    }
    Some(use_)
}

/// `git+https://github.com/x/ansible-role-y.git,v1` → `ansible-role-y`;
/// `geerlingguy.java` → `geerlingguy.java` (as ansible-galaxy names them).
fn role_name_from_src(src: &str) -> String {
    let src = src.split(',').next().unwrap_or(src).trim();
    if !src.contains("://") && !src.contains('@') && !src.contains('/') {
        return src.to_string();
    }
    let last = src.trim_end_matches('/').rsplit(['/', ':']).next().unwrap_or(src);
    let last = last.strip_suffix(".git").unwrap_or(last);
    last.strip_suffix(".tar.gz").unwrap_or(last).to_string()
}

/// Reads `meta/main.yml`: dependencies and `galaxy_info`.
pub(crate) fn parse_meta(doc: &Node, cx: &mut Cx<'_>) -> (Vec<RoleUse>, Option<GalaxyInfo>) {
    if doc.is_null() {
        return (Vec::new(), None);
    }
    if doc.as_map().is_none() {
        cx.warning(codes::UNEXPECTED_SHAPE, doc.line, format!("role meta must be a mapping, found {}", doc.kind()));
        return (Vec::new(), None);
    }
    let deps = doc.get("dependencies").map(|d| parse_role_uses(d, "dependencies", cx)).unwrap_or_default();
    let galaxy = doc.get("galaxy_info").filter(|g| g.as_map().is_some()).map(|g| {
        let text =
            |k: &str| g.get(k).and_then(|n| n.scalar_text()).map(|c| c.trim().to_string()).filter(|s| !s.is_empty());
        GalaxyInfo { role_name: text("role_name"), namespace: text("namespace"), author: text("author") }
    });
    (deps, galaxy)
}

/// What a Galaxy `requirements.yml` installs: role names (from a plain list
/// or `roles:`) and collection names (`collections:`; a Git source such as
/// `git@host:org/repo.git#/ns/coll/` counts as `ns.coll`). Used to tell a
/// role that `ansible-galaxy` installs apart from a typo.
pub(crate) fn requirements(doc: &Node) -> (Vec<String>, Vec<String>) {
    let roles = match &doc.value {
        yaml::Value::Seq(_) => Some(doc),
        yaml::Value::Map(_) => doc.get("roles"),
        _ => None,
    };
    let mut role_names = Vec::new();
    for item in roles.and_then(|l| l.as_seq()).unwrap_or(&[]) {
        if let Some(s) = item.as_str() {
            role_names.push(role_name_from_src(s));
        } else if let Some(name) = item.get("name").and_then(|n| n.as_str()) {
            role_names.push(name.trim().to_string());
        } else if let Some(src) = item.get("src").and_then(|n| n.as_str()) {
            role_names.push(role_name_from_src(src));
        }
    }
    let mut collections = Vec::new();
    let items = doc.get("collections").and_then(|c| c.as_seq()).unwrap_or(&[]);
    for item in items {
        let Some(name) = item.as_str().or_else(|| item.get("name").and_then(|n| n.as_str())) else { continue };
        let name = match name.split_once('#') {
            Some((_, sub)) => sub.trim_matches('/').replace('/', "."),
            None => name.trim().to_string(),
        };
        if name.split('.').count() == 2 {
            collections.push(name);
        }
    }
    (role_names, collections)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uses(text: &str) -> (Vec<RoleUse>, Vec<crate::diagnostics::Finding>) {
        let doc = yaml::parse(text).unwrap().docs.remove(0);
        let mut findings = Vec::new();
        let mut cx = Cx::new(Arc::from("site.yml"), &mut findings);
        let out = parse_role_uses(&doc, "roles", &mut cx);
        (out, findings)
    }

    #[test]
    fn role_entries_in_every_spelling() {
        let (u, f) = uses(
            "- common\n- role: nginx\n  when: web\n  tags: [www]\n  vars: {port: 80}\n  become: yes\n- { name: app, app_port: 8080 }\n- role: geerlingguy.java\n  environment: {JAVA_HOME: /opt}\n",
        );
        assert!(f.is_empty(), "{f:?}");
        let names: Vec<&str> = u.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, vec!["common", "nginx", "app", "geerlingguy.java"]);
        assert_eq!(u[1].when, vec!["web"]);
        assert_eq!(u[1].tags, vec!["www"]);
        assert_eq!(u[1].vars[0].name, "port");
        assert_eq!(u[1].become_, Some(Flag::Bool(true)));
        assert_eq!(u[2].params[0].name, "app_port");
        assert_eq!(u[2].params[0].origin.line, 7);
        assert_eq!(u[3].environment.as_ref().unwrap().vars[0].name, "JAVA_HOME");
    }

    #[test]
    fn bad_role_entries_are_findings() {
        let (u, f) = uses("- when: x\n- [a]\n");
        assert!(u.is_empty());
        let lines: Vec<String> = f.iter().map(|f| f.to_string()).collect();
        assert_eq!(
            lines,
            vec![
                "site.yml:1 M008 warning: role entry has no `role` or `name`",
                "site.yml:2 M008 warning: a role entry must be a name or a mapping, found a list",
            ]
        );
    }

    #[test]
    fn meta_dependencies_and_galaxy_info() {
        let doc = yaml::parse(
            "galaxy_info:\n  role_name: java\n  author: geerlingguy\ndependencies:\n  - common\n  - role: pip\n    pip_version: 3\n  - src: git+https://github.com/x/ansible-role-y.git\n",
        )
        .unwrap()
        .docs
        .remove(0);
        let mut findings = Vec::new();
        let mut cx = Cx::new(Arc::from("roles/java/meta/main.yml"), &mut findings);
        let (deps, galaxy) = parse_meta(&doc, &mut cx);
        let names: Vec<&str> = deps.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, vec!["common", "pip", "ansible-role-y"]);
        assert_eq!(galaxy.unwrap().names(), vec!["geerlingguy.java"]);
    }

    #[test]
    fn requirements_files() {
        let doc = yaml::parse(
            "roles:\n  - name: geerlingguy.mysql\n  - src: geerlingguy.php\ncollections:\n  - x.y\n  - name: git@github.com:o/c.git#/ch/base/\n    type: git\n",
        )
        .unwrap()
        .docs
        .remove(0);
        let (roles, collections) = requirements(&doc);
        assert_eq!(roles, vec!["geerlingguy.mysql", "geerlingguy.php"]);
        assert_eq!(collections, vec!["x.y", "ch.base"]);
        let doc = yaml::parse("- src: https://github.com/a/b.git\n  name: b_role\n- geerlingguy.git\n")
            .unwrap()
            .docs
            .remove(0);
        assert_eq!(requirements(&doc).0, vec!["b_role", "geerlingguy.git"]);
    }
}
