//! Findings: what every stage reports when it can go on but a human should know.
//!
//! A finding is data, never an `Err`: it has a stable code, a severity, a message
//! and the file and line it is about. It prints as one line in hadolint's shape,
//! `path:line CODE severity: message`, so editors and CI annotate it for free.
//! Errors (see each stage's error type) stop the run; findings never do.
//!
//! The codes of the loader live here (`M0xx`); the converter's codes come from
//! the rule files under `rules/`. Codes are never reused.

use std::fmt;

use serde::Serialize;

/// How much a finding matters. `Error` means something could not be read or
/// translated at all; the commands exit 1 when any such finding exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stable finding code such as `M005`, with its kebab-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Code {
    pub id: &'static str,
    pub name: &'static str,
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id)
    }
}

/// One finding. `path` is relative to the repository root with `/` separators;
/// `line` is 1-based, 0 when the finding concerns the file as a whole.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Finding {
    pub path: String,
    pub line: u32,
    pub code: Code,
    pub severity: Severity,
    pub message: String,
}

impl Finding {
    pub fn new(
        code: Code,
        severity: Severity,
        path: impl Into<String>,
        line: u32,
        message: impl Into<String>,
    ) -> Finding {
        Finding { path: path.into(), line, code, severity, message: message.into() }
    }

    pub fn error(code: Code, path: impl Into<String>, line: u32, msg: impl Into<String>) -> Finding {
        Finding::new(code, Severity::Error, path, line, msg)
    }

    pub fn warning(code: Code, path: impl Into<String>, line: u32, msg: impl Into<String>) -> Finding {
        Finding::new(code, Severity::Warning, path, line, msg)
    }

    pub fn info(code: Code, path: impl Into<String>, line: u32, msg: impl Into<String>) -> Finding {
        Finding::new(code, Severity::Info, path, line, msg)
    }
}

/// `path:line CODE severity: message`; a finding about no file in particular (the
/// repository or the run as a whole, empty `path`) has no location and is printed
/// as the tool's own: `migrate: CODE severity: message`.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "migrate: {} {}: {}", self.code, self.severity, self.message)
        } else {
            write!(f, "{}:{} {} {}: {}", self.path, self.line, self.code, self.severity, self.message)
        }
    }
}

/// Sorts findings into their canonical order (path, line, code, message) and
/// drops exact duplicates, so output is byte-for-byte deterministic.
pub fn normalize(findings: &mut Vec<Finding>) {
    findings.sort();
    findings.dedup();
}

/// True when any finding is an error: the caller exits 1.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// The loader's codes. Each entry carries the docs that `docs/rules/` is built from.
pub mod codes {
    use super::Code;

    macro_rules! codes {
        ($($konst:ident = $id:literal, $name:literal, $summary:literal;)*) => {
            $(pub const $konst: Code = Code { id: $id, name: $name };)*
            /// Every loader code with a one-line summary, in code order.
            pub const ALL: &[(Code, &str)] = &[$(($konst, $summary)),*];
        };
    }

    codes! {
        UNREADABLE_FILE = "M001", "unreadable-file",
            "A file could not be read: I/O error, not UTF-8, binary, or over the size cap.";
        INVALID_SYNTAX = "M002", "invalid-syntax",
            "A YAML, JSON, HCL or INI file does not parse; the message names the line.";
        RESOURCE_LIMIT = "M003", "resource-limit",
            "A file exceeds a safety limit: YAML alias expansion (billion laughs) or nesting depth.";
        PATH_ESCAPES_ROOT = "M004", "path-escapes-root",
            "A path or symlink points outside the repository; it is refused and never followed.";
        MISSING_FILE = "M005", "missing-file",
            "A file referenced by a playbook, task, vars_files or Packer template does not exist.";
        MISSING_ROLE = "M006", "missing-role",
            "A role named by a play, `include_role`, `import_role` or `meta/main.yml` was not found.";
        INCLUDE_CYCLE = "M007", "include-cycle",
            "A playbook, task file or role includes itself, directly or through others.";
        UNEXPECTED_SHAPE = "M008", "unexpected-shape",
            "A file parses but does not have the shape Ansible or Packer expects there.";
        DUPLICATE_KEY = "M009", "duplicate-key",
            "A YAML mapping repeats a key; as in Ansible, the last value wins.";
        VAULT_ENCRYPTED = "M010", "vault-encrypted",
            "A value or file is Ansible Vault ciphertext; it is treated as secret.";
        NOT_PROVISIONING = "M011", "not-provisioning-code",
            "The repository holds no playbook, role or Packer template.";
        UNKNOWN_KEY = "M012", "unknown-key",
            "A play or task key that Ansible does not know; it is kept but not interpreted.";
        TEMPLATED_PATH = "M013", "templated-path",
            "A file or role is named by a Jinja expression, known only at run time; matching files are candidates.";
        UNRESOLVED_REFERENCE = "M020", "unresolved-reference",
            "A Packer value refers to an undeclared or unset variable or cannot be worked out; kept as written.";
        NO_BASE_IMAGE = "M021", "no-base-image",
            "No container base image is known for a Packer builder's source image; one must be chosen by hand.";
        UNDEFINED_VARIABLE = "M030", "undefined-variable",
            "A template uses a variable that no inventory, vars file, role or fact defines.";
        UNSUPPORTED_TEMPLATE = "M031", "unsupported-template-feature",
            "A filter, test, lookup or template feature that is not evaluated (e.g. `lookup('pipe')`).";
        RUNTIME_VALUE = "M032", "runtime-only-value",
            "A value that only exists when the play runs: a registered result, a hardware fact, a secret.";
        TEMPLATE_ERROR = "M033", "template-error",
            "A template does not compile or fails: syntax, type errors, variable cycles, `mandatory`.";
        SECRET_IN_TEMPLATE = "M034", "secret-in-template",
            "A rendering uses a vault value; it must happen at container start, never in the image.";
        PLACEHOLDER_FACT = "M035", "placeholder-fact",
            "A fact such as `ansible_hostname` has a stand-in value until the container runs.";
        TEMPLATE_NOTE = "M036", "template-note",
            "A remark on a template: deprecated filter, non-boolean `when:`, a no-op such as `expanduser`.";
        INVENTORY_CHOICE = "M040", "inventory-choice",
            "Which inventory (environment) the run uses, or that none is used and only role and play variables apply.";
        HOST_VARS_DIFFER = "M041", "host-vars-differ",
            "Hosts of one group have different `host_vars`; the first host's are used for the image.";
        VAULT_NOT_DECRYPTED = "M042", "vault-not-decrypted",
            "No vault password was given: vault values stay secret and unknown, rendered at container start.";
        UNRESOLVED_INCLUDE = "M043", "unresolved-include",
            "An include, `vars_files` entry or role could not be followed for this environment.";
        UNRESOLVED_LOOP = "M044", "unresolved-loop",
            "A loop's items cannot be known before the play runs; the task is kept once, unexpanded.";
        ENTRY_PLAYBOOKS = "M045", "entry-playbooks",
            "Which playbooks the run starts from: those Packer runs, else `site.yml`/`main.yml` or top-level ones.";
        IMAGE_NOT_RENDERED = "M046", "image-not-rendered",
            "A service's Dockerfile could not be generated (no command, an unsafe value); the others still are.";
        PARAMETER_VALUE_UNKNOWN = "M047", "parameter-value-unknown",
            "A value a service needs at start is unknown (a vault value without a password): it is not pushed.";
        BUILD_TIME_ENVIRONMENT = "M048", "build-time-environment",
            "An environment variable only the image build uses (Packer, a build task): reported, not pushed to SSM.";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_prints_in_hadolint_shape() {
        let f = Finding::warning(codes::MISSING_FILE, "roles/app/tasks/main.yml", 12, "no `x`");
        assert_eq!(f.to_string(), "roles/app/tasks/main.yml:12 M005 warning: no `x`");
        // No file: no location (never `.:0`).
        let f = Finding::info(codes::MISSING_FILE, "", 0, "about the run");
        assert_eq!(f.to_string(), "migrate: M005 info: about the run");
    }

    #[test]
    fn codes_are_unique_and_ordered() {
        let ids: Vec<&str> = codes::ALL.iter().map(|(c, _)| c.id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted);
    }
}
