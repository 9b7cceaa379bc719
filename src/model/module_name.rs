//! Module names: one spelling for later stages.
//!
//! A task may name its module short (`apt`), by FQCN (`ansible.builtin.apt`),
//! through `ansible.legacy.apt`, or by a collection (`community.general.ufw`).
//! [`ModuleName`] keeps what was written, the short name rules match on, and
//! the FQCN where it is known. Only ansible-core's own modules are known by
//! their short name; a short name from a collection keeps `fqcn: None`.

use serde::Serialize;

/// The modules and action plugins shipped in ansible-core (`ansible.builtin`),
/// plus the removed `include` that old playbooks still use. Sorted.
const BUILTIN: &[&str] = &[
    "add_host",
    "apt",
    "apt_key",
    "apt_repository",
    "assemble",
    "assert",
    "async_status",
    "blockinfile",
    "command",
    "copy",
    "cron",
    "deb822_repository",
    "debconf",
    "debug",
    "dnf",
    "dnf5",
    "dpkg_selections",
    "expect",
    "fail",
    "fetch",
    "file",
    "find",
    "gather_facts",
    "get_url",
    "getent",
    "git",
    "group",
    "group_by",
    "hostname",
    "import_playbook",
    "import_role",
    "import_tasks",
    "include",
    "include_role",
    "include_tasks",
    "include_vars",
    "iptables",
    "known_hosts",
    "lineinfile",
    "meta",
    "mount_facts",
    "package",
    "package_facts",
    "pause",
    "ping",
    "pip",
    "raw",
    "reboot",
    "replace",
    "rpm_key",
    "script",
    "service",
    "service_facts",
    "set_fact",
    "set_stats",
    "setup",
    "shell",
    "slurp",
    "stat",
    "subversion",
    "systemd",
    "systemd_service",
    "sysvinit",
    "tempfile",
    "template",
    "unarchive",
    "uri",
    "user",
    "validate_argument_spec",
    "wait_for",
    "wait_for_connection",
    "yum",
    "yum_repository",
];

/// Modules whose free-form string is a command line: words that are not one
/// of their few `k=v` options stay in `_raw_params` (Ansible's FREEFORM_ACTIONS).
const FREEFORM: &[&str] = &["command", "raw", "script", "shell", "win_command", "win_shell"];

/// Options that the free-form modules still take as `k=v` inside the string.
pub const FREEFORM_OPTIONS: &[&str] =
    &["creates", "removes", "chdir", "executable", "warn", "stdin", "stdin_add_newline", "strip_empty_ends"];

/// A module name in all its spellings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ModuleName {
    /// As written in the task (`ansible.builtin.apt`, `apt`).
    pub written: String,
    /// The last dotted part: what rules match on (`apt`).
    pub short: String,
    /// The fully qualified name when known (`ansible.builtin.apt`).
    pub fqcn: Option<String>,
}

impl ModuleName {
    pub fn parse(written: &str) -> ModuleName {
        let written = written.trim();
        let parts: Vec<&str> = written.split('.').collect();
        let (short, fqcn) = if parts.len() >= 3 && parts.iter().all(|p| !p.is_empty()) {
            let short = parts[parts.len() - 1];
            let collection = format!("{}.{}", parts[0], parts[1]);
            // `ansible.legacy.x` is "builtin or a local override"; the builtin is the canonical name.
            let fqcn = if collection == "ansible.legacy" {
                if is_builtin_short(short) { format!("ansible.builtin.{short}") } else { written.to_string() }
            } else {
                written.to_string()
            };
            (short.to_string(), Some(fqcn))
        } else if is_builtin_short(written) {
            (written.to_string(), Some(format!("ansible.builtin.{written}")))
        } else {
            (written.to_string(), None)
        };
        ModuleName { written: written.to_string(), short, fqcn }
    }

    /// The short name when the module is ansible-core's own (written short,
    /// `ansible.builtin.x` or `ansible.legacy.x`); `None` for collections.
    pub fn builtin(&self) -> Option<&str> {
        match &self.fqcn {
            Some(f) if f.starts_with("ansible.builtin.") => Some(&self.short),
            _ => None,
        }
    }

    /// True when this is the builtin module `short`.
    pub fn is_builtin(&self, short: &str) -> bool {
        self.builtin() == Some(short)
    }

    /// True for command-line modules whose free-form words are `_raw_params`.
    pub fn is_freeform(&self) -> bool {
        let windows = self.fqcn.as_deref().is_some_and(|f| f.starts_with("ansible.windows."));
        FREEFORM.contains(&self.short.as_str()) && (self.builtin().is_some() || windows || self.fqcn.is_none())
    }
}

/// True when `name` is an ansible-core module's short name.
pub fn is_builtin_short(name: &str) -> bool {
    BUILTIN.binary_search(&name).is_ok()
}

/// True when a task key plausibly names a module: a builtin, or a dotted
/// collection name (`community.general.ufw`).
pub fn looks_like_known_module(key: &str) -> bool {
    is_builtin_short(key) || {
        let parts: Vec<&str> = key.split('.').collect();
        parts.len() >= 3
            && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_list_is_sorted() {
        let mut sorted = BUILTIN.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, BUILTIN);
    }

    #[test]
    fn spellings() {
        let short = ModuleName::parse("apt");
        assert_eq!((short.short.as_str(), short.fqcn.as_deref()), ("apt", Some("ansible.builtin.apt")));
        let fq = ModuleName::parse("ansible.builtin.apt");
        assert_eq!((fq.short.as_str(), fq.fqcn.as_deref()), ("apt", Some("ansible.builtin.apt")));
        assert_eq!(fq.written, "ansible.builtin.apt");
        let legacy = ModuleName::parse("ansible.legacy.copy");
        assert_eq!(legacy.fqcn.as_deref(), Some("ansible.builtin.copy"));
        assert!(legacy.is_builtin("copy"));
        let coll = ModuleName::parse("community.general.ufw");
        assert_eq!((coll.short.as_str(), coll.fqcn.as_deref()), ("ufw", Some("community.general.ufw")));
        assert_eq!(coll.builtin(), None);
        let unknown = ModuleName::parse("docker_container");
        assert_eq!((unknown.short.as_str(), unknown.fqcn), ("docker_container", None));
        // A collection module that shares a builtin's short name is not the builtin.
        assert!(!ModuleName::parse("community.general.copy").is_builtin("copy"));
    }

    #[test]
    fn freeform_modules() {
        assert!(ModuleName::parse("shell").is_freeform());
        assert!(ModuleName::parse("ansible.builtin.command").is_freeform());
        assert!(ModuleName::parse("ansible.windows.win_shell").is_freeform());
        assert!(!ModuleName::parse("copy").is_freeform());
    }
}
