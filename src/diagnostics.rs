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
        // ECS on Fargate output (spec::ecs): Fargate rules M900-M949.
        FARGATE_COMPATIBILITY = "M900", "fargate-compatibility",
            "A task definition does not list `FARGATE` in `requiresCompatibilities`.";
        FARGATE_NETWORK_MODE = "M901", "fargate-network-mode",
            "A task definition's `networkMode` is not `awsvpc`, the only mode Fargate runs.";
        FARGATE_CPU_MEMORY = "M902", "fargate-cpu-memory",
            "The task `cpu`/`memory` pair is not one Fargate offers; the message lists the valid ones.";
        FARGATE_INVALID_FIELD = "M903", "fargate-invalid-field",
            "A field Fargate rejects (`privileged`, `links`, `devices`, `dockerVolumeConfiguration`, ...).";
        FARGATE_HOST_PATH = "M904", "fargate-host-path",
            "A volume mounts a host path; Fargate has no host to mount from.";
        FARGATE_CAPABILITY = "M905", "fargate-capability",
            "A container adds a Linux capability other than `SYS_PTRACE`, the only one Fargate allows.";
        FARGATE_STOP_TIMEOUT = "M906", "fargate-stop-timeout",
            "`stopTimeout` is over 120 seconds, Fargate's maximum.";
        FARGATE_LOG_OPTIONS = "M907", "fargate-log-options",
            "awslogs lacks its group, region or stream prefix (required on Fargate), or `mode` is not set explicitly.";
        SECRET_SOURCE = "M908", "secret-source",
            "A `secrets[].valueFrom` is neither an SSM parameter nor a Secrets Manager secret.";
        SECRET_IN_ENVIRONMENT = "M909", "secret-in-environment",
            "An `environment` entry looks secret by name or value; secrets belong in `secrets` (SSM).";
        NO_ESSENTIAL_CONTAINER = "M910", "no-essential-container",
            "A task definition has no container, or no essential one.";
        FARGATE_HOST_PORT = "M911", "fargate-host-port",
            "A `hostPort` differs from its `containerPort` (awsvpc maps them one to one).";
        EXECUTION_ROLE_MISSING = "M912", "execution-role-missing",
            "awslogs, ECR or `secrets` are used without an `executionRoleArn` to fetch them.";
        HEALTH_CHECK_RANGE = "M913", "health-check-range",
            "A `healthCheck` interval, timeout, retries or start period is outside ECS's range.";
        TASK_DEFINITION_SHAPE = "M914", "task-definition-shape",
            "A task definition is not the RegisterTaskDefinition shape (missing `family`, a field of the wrong type).";
        SCHEDULE_NOT_CONVERTIBLE = "M930", "schedule-not-convertible",
            "A cron entry has no EventBridge `cron()` equivalent (`@reboot`, both day and weekday, a bad field).";
        JOB_WRITES_FILE = "M931", "job-writes-file",
            "A cron job redirects its output to a file: it gets a volume under the read-only root, but never reaches CloudWatch.";
        ECS_MANUAL_STEP = "M932", "ecs-manual-step",
            "Something the ECS files do not express: a cron job's own user, a vendor sidecar, a half-generated pair.";
        ECS_PLACEHOLDER = "M940", "ecs-placeholder",
            "`ecs.account_id`, `ecs.region` or the network is not configured: the ECS files use placeholders.";
        ECS_CONFIG = "M941", "ecs-config",
            "An `ecs:` setting cannot be used (a KMS alias in a policy, a bad template, a stop timeout cut to 120 s).";
        // NIST SP 800-190 items a task definition shows statically: M950-M999.
        NIST_READONLY_ROOT = "M950", "nist-readonly-root",
            "SP 800-190 4.4.4: a container's root filesystem is writable (`readonlyRootFilesystem` not true).";
        NIST_PRIVILEGED = "M951", "nist-privileged",
            "SP 800-190 4.4.3: a container is privileged.";
        NIST_ROOT_USER = "M952", "nist-root-user",
            "SP 800-190 4.1.2: a container's `user` is missing or root.";
        NIST_CAPABILITIES = "M953", "nist-capabilities",
            "SP 800-190 4.4.3: a container does not drop `ALL` capabilities.";
        NIST_LOGGING = "M954", "nist-logging",
            "SP 800-190 4.4.5: a container has no `logConfiguration`.";
        NIST_HOST_NAMESPACE = "M955", "nist-host-namespace",
            "SP 800-190 4.4.3: `pidMode` or `ipcMode` is `host`.";
        NIST_EFS_TRANSIT = "M956", "nist-efs-transit",
            "SP 800-190 4.5.5: an EFS volume without `transitEncryption: ENABLED`.";
        NIST_IMAGE_TAG = "M957", "nist-image-tag",
            "SP 800-190 4.2.2: an image is untagged or `:latest`, so what runs can change under the same name.";
        NIST_ROLE_SEPARATION = "M958", "nist-role-separation",
            "SP 800-190 4.3.1: the execution role and the task role are the same role.";
        NIST_HEALTH_CHECK = "M959", "nist-health-check",
            "An essential container has no `healthCheck` (ECS ignores the image's HEALTHCHECK).";
        NIST_PRIVILEGED_PORT = "M960", "nist-privileged-port",
            "SP 800-190 4.1.2: a non-root container listens on a port below 1024.";
        NIST_REGISTRY_CREDENTIALS = "M961", "nist-registry-credentials",
            "SP 800-190 4.2.3: `repositoryCredentials` is not a Secrets Manager ARN.";
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
