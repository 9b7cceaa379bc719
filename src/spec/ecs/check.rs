//! Checks on a task definition — one `migrate` generated or one a user passes to
//! `migrate check-taskdef`: Fargate's rules (M900-M949) and the NIST SP 800-190
//! items a task definition shows statically (M950-M999; container-kb.md §3.3, §6.5).
//!
//! Works on the JSON text so that every finding names the file and the line of
//! the field it is about. Never echoes an `environment` value: it could be a secret.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::{MAX_STOP_TIMEOUT, fargate};
use crate::diagnostics::{Code, Finding, Severity, codes};

/// Task-level fields Fargate rejects.
const TASK_INVALID: &[&str] = &["ipcMode", "placementConstraints", "inferenceAccelerators"];
/// Container-level fields Fargate rejects.
const CONTAINER_INVALID: &[&str] = &[
    "links",
    "dockerSecurityOptions",
    "extraHosts",
    "dnsServers",
    "dnsSearchDomains",
    "disableNetworking",
    "hostname",
    "gpu",
];
/// `linuxParameters` fields Fargate rejects.
const LINUX_INVALID: &[&str] = &["devices", "sharedMemorySize", "tmpfs", "maxSwap", "swappiness"];
/// Log drivers Fargate supports.
const LOG_DRIVERS: &[&str] = &["awslogs", "splunk", "awsfirelens"];

static SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(^|[_.-])(PASSWORD|PASSWD|PWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?|DSN)($|[_.-])",
    )
    .unwrap_or_else(|_| unreachable!("literal regex"))
});
static SECRET_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY|xox[abpr]-|ghp_[A-Za-z0-9]{20}|://[^/\s:@]+:[^/\s@]+@)",
    )
    .unwrap_or_else(|_| unreachable!("literal regex"))
});
static SECRET_ARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^arn:aws(-cn|-us-gov)?:(ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9_.\-/]+|secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+)$",
    )
    .unwrap_or_else(|_| unreachable!("literal regex"))
});
static SECRETS_MANAGER_ARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^arn:aws(-cn|-us-gov)?:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$")
        .unwrap_or_else(|_| unreachable!("literal regex"))
});

/// Checks the task definition in `text`; `path` names it in findings.
pub fn check_task_definition(path: &str, text: &str) -> Vec<Finding> {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let line = u32::try_from(e.line()).unwrap_or(0);
            return vec![Finding::error(codes::INVALID_SYNTAX, path, line, format!("not valid JSON: {e}"))];
        }
    };
    check_parsed_task_definition(path, text, &value)
}

/// [`check_task_definition`] of `text` already parsed into `value` (the renderer prints the
/// task definitions it builds from a `Value`, and need not parse them back).
pub fn check_parsed_task_definition(path: &str, text: &str, value: &Value) -> Vec<Finding> {
    let mut c = Checker { path, text, findings: Vec::new() };
    c.task(value);
    c.findings.sort();
    c.findings
}

struct Checker<'a> {
    path: &'a str,
    text: &'a str,
    findings: Vec<Finding>,
}

impl Checker<'_> {
    /// Adds a finding at the line of the last of `anchors` found in order.
    fn at(&mut self, code: Code, severity: Severity, anchors: &[&str], message: String) {
        let line = locate(self.text, anchors);
        self.findings.push(Finding::new(code, severity, self.path, line, message));
    }

    fn task(&mut self, td: &Value) {
        let Some(obj) = td.as_object() else {
            self.at(codes::TASK_DEFINITION_SHAPE, Severity::Error, &[], "the file is not a JSON object".into());
            return;
        };
        // Accept the DescribeTaskDefinition output shape too.
        if let Some(inner) = obj.get("taskDefinition").filter(|v| v.is_object()) {
            return self.task(inner);
        }
        if obj.get("family").and_then(Value::as_str).is_none_or(str::is_empty) {
            self.at(codes::TASK_DEFINITION_SHAPE, Severity::Error, &[], "`family` is missing or not a string".into());
        }
        let compat = obj.get("requiresCompatibilities").and_then(Value::as_array);
        if !compat.is_some_and(|a| a.iter().any(|v| v == "FARGATE")) {
            self.at(
                codes::FARGATE_COMPATIBILITY,
                Severity::Error,
                &["\"requiresCompatibilities\""],
                "`requiresCompatibilities` does not contain `FARGATE`: ECS will not validate the task for Fargate"
                    .into(),
            );
        }
        match obj.get("networkMode").and_then(Value::as_str) {
            Some("awsvpc") => {}
            other => self.at(
                codes::FARGATE_NETWORK_MODE,
                Severity::Error,
                &["\"networkMode\""],
                format!(
                    "`networkMode` is {}; Fargate needs `awsvpc`",
                    other.map_or("missing".into(), |m| format!("`{m}`"))
                ),
            ),
        }
        self.size(obj.get("cpu"), obj.get("memory"));
        for field in TASK_INVALID {
            if obj.get(*field).is_some_and(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty())) {
                let anchor = format!("\"{field}\"");
                self.at(
                    codes::FARGATE_INVALID_FIELD,
                    Severity::Error,
                    &[&anchor],
                    format!("`{field}` is not valid on Fargate"),
                );
            }
        }
        if obj.get("pidMode").and_then(Value::as_str) == Some("host") {
            self.at(
                codes::NIST_HOST_NAMESPACE,
                Severity::Error,
                &["\"pidMode\""],
                "`pidMode: host` shares the host's process namespace".into(),
            );
        }
        if obj.get("ipcMode").and_then(Value::as_str) == Some("host") {
            self.at(
                codes::NIST_HOST_NAMESPACE,
                Severity::Error,
                &["\"ipcMode\""],
                "`ipcMode: host` shares the host's IPC namespace".into(),
            );
        }
        let execution_role = obj.get("executionRoleArn").and_then(Value::as_str).filter(|s| !s.is_empty());
        let task_role = obj.get("taskRoleArn").and_then(Value::as_str).filter(|s| !s.is_empty());
        if let (Some(e), Some(t)) = (execution_role, task_role)
            && e == t
        {
            self.at(
                codes::NIST_ROLE_SEPARATION,
                Severity::Warning,
                &["\"taskRoleArn\""],
                "the task role is the execution role: the application gets the rights to read every secret and pull \
                 images"
                    .into(),
            );
        }
        for (i, volume) in obj.get("volumes").and_then(Value::as_array).into_iter().flatten().enumerate() {
            self.volume(i, volume);
        }
        let containers = obj.get("containerDefinitions").and_then(Value::as_array);
        let Some(containers) = containers.filter(|c| !c.is_empty()) else {
            self.at(
                codes::NO_ESSENTIAL_CONTAINER,
                Severity::Error,
                &["\"containerDefinitions\""],
                "`containerDefinitions` is missing or empty".into(),
            );
            return;
        };
        if !containers.iter().any(|c| c.get("essential").and_then(Value::as_bool) != Some(false)) {
            self.at(
                codes::NO_ESSENTIAL_CONTAINER,
                Severity::Error,
                &["\"containerDefinitions\""],
                "no container is essential; a task needs at least one".into(),
            );
        }
        for (i, container) in containers.iter().enumerate() {
            self.container(i, container, execution_role.is_some());
        }
    }

    fn size(&mut self, cpu: Option<&Value>, memory: Option<&Value>) {
        let (Some(cpu), Some(memory)) = (cpu.and_then(units), memory.and_then(mebibytes)) else {
            self.at(
                codes::FARGATE_CPU_MEMORY,
                Severity::Error,
                &["\"cpu\""],
                format!(
                    "task-level `cpu` and `memory` are missing or not numbers; Fargate needs one of: {}",
                    fargate::valid_pairs()
                ),
            );
            return;
        };
        if !fargate::is_valid(cpu, memory) {
            self.at(
                codes::FARGATE_CPU_MEMORY,
                Severity::Error,
                &["\"memory\""],
                format!("Fargate has no task with cpu {cpu} and memory {memory}; valid: {}", fargate::valid_pairs()),
            );
        }
    }

    fn volume(&mut self, i: usize, v: &Value) {
        let name = v.get("name").and_then(Value::as_str).unwrap_or("");
        let label = if name.is_empty() { format!("volume {}", i + 1) } else { format!("volume `{name}`") };
        let anchor = format!("\"{name}\"");
        if v.get("host").and_then(|h| h.get("sourcePath")).is_some_and(|p| !p.is_null()) {
            self.at(
                codes::FARGATE_HOST_PATH,
                Severity::Error,
                &["\"volumes\"", &anchor, "\"sourcePath\""],
                format!("{label} mounts a host path; Fargate has none"),
            );
        }
        if v.get("dockerVolumeConfiguration").is_some_and(|d| !d.is_null()) {
            self.at(
                codes::FARGATE_INVALID_FIELD,
                Severity::Error,
                &["\"volumes\"", &anchor, "\"dockerVolumeConfiguration\""],
                format!("{label}: `dockerVolumeConfiguration` is not valid on Fargate"),
            );
        }
        if let Some(efs) = v.get("efsVolumeConfiguration").filter(|e| e.is_object())
            && efs.get("transitEncryption").and_then(Value::as_str) != Some("ENABLED")
        {
            self.at(
                codes::NIST_EFS_TRANSIT,
                Severity::Warning,
                &["\"volumes\"", &anchor, "\"efsVolumeConfiguration\""],
                format!("{label}: EFS traffic is not encrypted (`transitEncryption: ENABLED`)"),
            );
        }
    }

    fn container(&mut self, i: usize, c: &Value, has_execution_role: bool) {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("");
        let label = if name.is_empty() { format!("container {}", i + 1) } else { format!("container `{name}`") };
        let name_anchor = format!("\"{name}\"");
        let root = ["\"containerDefinitions\"", name_anchor.as_str()];
        let at = |field: &str| -> Vec<String> {
            let mut v: Vec<String> = root.iter().map(|s| s.to_string()).collect();
            // An empty field: the finding is about the container as a whole (its name's line).
            if !field.is_empty() {
                v.push(format!("\"{field}\""));
            }
            v
        };
        let essential = c.get("essential").and_then(Value::as_bool) != Some(false);
        macro_rules! report {
            ($code:expr, $sev:expr, $field:expr, $($msg:tt)*) => {{
                let anchors = at($field);
                let refs: Vec<&str> = anchors.iter().map(String::as_str).collect();
                self.at($code, $sev, &refs, format!("{label}: {}", format!($($msg)*)));
            }};
        }
        for field in CONTAINER_INVALID {
            if c.get(*field).is_some_and(|v| !v.is_null()) {
                report!(codes::FARGATE_INVALID_FIELD, Severity::Error, field, "`{field}` is not valid on Fargate");
            }
        }
        if c.get("privileged").and_then(Value::as_bool) == Some(true) {
            report!(codes::NIST_PRIVILEGED, Severity::Error, "privileged", "runs privileged (also invalid on Fargate)");
        }
        let linux = c.get("linuxParameters");
        for field in LINUX_INVALID {
            if linux.and_then(|l| l.get(*field)).is_some_and(|v| !v.is_null()) {
                report!(
                    codes::FARGATE_INVALID_FIELD,
                    Severity::Error,
                    field,
                    "`linuxParameters.{field}` is not valid on Fargate"
                );
            }
        }
        let caps = linux.and_then(|l| l.get("capabilities"));
        for cap in caps.and_then(|c| c.get("add")).and_then(Value::as_array).into_iter().flatten() {
            let cap = cap.as_str().unwrap_or("");
            if cap != "SYS_PTRACE" && cap != "CAP_SYS_PTRACE" {
                report!(
                    codes::FARGATE_CAPABILITY,
                    Severity::Error,
                    "add",
                    "adds capability `{cap}`; Fargate only allows `SYS_PTRACE`"
                );
            }
        }
        let drops: Vec<&str> = caps
            .and_then(|c| c.get("drop"))
            .and_then(Value::as_array)
            .map(|d| d.iter().filter_map(Value::as_str).map(|s| s.trim_start_matches("CAP_")).collect())
            .unwrap_or_default();
        // Dropping every default but NET_BIND_SERVICE is as tight as `ALL` for a non-root
        // server that binds a port below 1024 through its binary's file capability.
        let drops_all = drops.contains(&"ALL")
            || crate::spec::ecs::DEFAULT_CAPABILITIES_BUT_NET_BIND.iter().all(|cap| drops.contains(cap));
        let keeps_net_bind = !drops.iter().any(|d| *d == "ALL" || *d == "NET_BIND_SERVICE");
        if !drops_all {
            report!(codes::NIST_CAPABILITIES, Severity::Warning, "linuxParameters", "does not drop `ALL` capabilities");
        }
        if let Some(t) = c.get("stopTimeout").and_then(Value::as_u64)
            && t > u64::from(MAX_STOP_TIMEOUT)
        {
            report!(
                codes::FARGATE_STOP_TIMEOUT,
                Severity::Error,
                "stopTimeout",
                "`stopTimeout` {t} is over Fargate's {MAX_STOP_TIMEOUT} s"
            );
        }
        if c.get("readonlyRootFilesystem").and_then(Value::as_bool) != Some(true) {
            report!(
                codes::NIST_READONLY_ROOT,
                Severity::Warning,
                "readonlyRootFilesystem",
                "the root filesystem is writable; set `readonlyRootFilesystem: true` with volumes for the paths it writes"
            );
        }
        let user = c.get("user").and_then(Value::as_str).unwrap_or("").trim().to_string();
        let root_user = crate::spec::ecs::runs_as_root(&user);
        if root_user {
            let what = if user.is_empty() {
                "has no `user`: it runs as the image's user, root unless the image says otherwise".to_string()
            } else {
                format!("runs as root (`{user}`)")
            };
            report!(codes::NIST_ROOT_USER, Severity::Warning, "user", "{what}");
        }
        for pm in c.get("portMappings").and_then(Value::as_array).into_iter().flatten() {
            let container_port = pm.get("containerPort").and_then(Value::as_u64);
            if let Some(host) = pm.get("hostPort").and_then(Value::as_u64)
                && Some(host) != container_port
            {
                report!(
                    codes::FARGATE_HOST_PORT,
                    Severity::Error,
                    "hostPort",
                    "`hostPort` {host} differs from `containerPort`; awsvpc maps ports one to one"
                );
            }
            if let Some(port) = container_port
                && port < 1024
                && !root_user
            {
                if keeps_net_bind {
                    report!(
                        codes::NIST_PRIVILEGED_PORT,
                        Severity::Info,
                        "containerPort",
                        "listens on port {port} as non-root user `{user}`: it needs NET_BIND_SERVICE (kept here) and \
                         a binary with the file capability cap_net_bind_service (migrate's Dockerfiles set it); a \
                         port >= 1024 needs neither"
                    );
                } else {
                    report!(
                        codes::NIST_PRIVILEGED_PORT,
                        Severity::Warning,
                        "containerPort",
                        "listens on port {port} as non-root user `{user}` but drops NET_BIND_SERVICE, which Fargate \
                         cannot add back: it cannot bind; drop the other capabilities by name or use a port >= 1024"
                    );
                }
            }
        }
        self.logging(c, &label, &root, has_execution_role);
        self.secrets(c, &label, &root, has_execution_role);
        if essential {
            match c.get("healthCheck").filter(|h| h.is_object()) {
                None => report!(
                    codes::NIST_HEALTH_CHECK,
                    Severity::Warning,
                    "",
                    "is essential but has no `healthCheck`; ECS ignores the image's HEALTHCHECK"
                ),
                Some(h) => {
                    for (field, low, high) in
                        [("interval", 5, 300), ("timeout", 2, 60), ("retries", 1, 10), ("startPeriod", 0, 300)]
                    {
                        if let Some(v) = h.get(field).and_then(Value::as_u64)
                            && !(low..=high).contains(&v)
                        {
                            report!(
                                codes::HEALTH_CHECK_RANGE,
                                Severity::Error,
                                field,
                                "`healthCheck.{field}` {v} is outside {low}-{high}"
                            );
                        }
                    }
                }
            }
        }
        let image = c.get("image").and_then(Value::as_str).unwrap_or("");
        let last = image.rsplit('/').next().unwrap_or(image);
        if !last.contains('@') {
            match last.split_once(':') {
                None => report!(
                    codes::NIST_IMAGE_TAG,
                    Severity::Warning,
                    "image",
                    "image `{image}` has no tag: it means `latest`"
                ),
                Some((_, "latest")) => {
                    report!(codes::NIST_IMAGE_TAG, Severity::Warning, "image", "image `{image}` is `:latest`")
                }
                _ => {}
            }
        }
        if image.contains("dkr.ecr.") && !has_execution_role {
            report!(
                codes::EXECUTION_ROLE_MISSING,
                Severity::Error,
                "image",
                "pulls from ECR but the task has no `executionRoleArn`"
            );
        }
        if let Some(cred) =
            c.get("repositoryCredentials").and_then(|r| r.get("credentialsParameter")).and_then(Value::as_str)
            && !SECRETS_MANAGER_ARN.is_match(cred)
        {
            report!(
                codes::NIST_REGISTRY_CREDENTIALS,
                Severity::Error,
                "credentialsParameter",
                "`repositoryCredentials.credentialsParameter` is not a Secrets Manager ARN"
            );
        }
    }

    fn logging(&mut self, c: &Value, label: &str, root: &[&str; 2], has_execution_role: bool) {
        let mut anchors: Vec<&str> = root.to_vec();
        anchors.push("\"logConfiguration\"");
        let Some(log) = c.get("logConfiguration").filter(|l| l.is_object()) else {
            self.at(
                codes::NIST_LOGGING,
                Severity::Warning,
                &anchors,
                format!("{label} has no `logConfiguration`: its output is lost"),
            );
            return;
        };
        let driver = log.get("logDriver").and_then(Value::as_str).unwrap_or("");
        if !LOG_DRIVERS.contains(&driver) {
            self.at(
                codes::FARGATE_INVALID_FIELD,
                Severity::Error,
                &anchors,
                format!("{label}: log driver `{driver}` is not one Fargate supports ({})", LOG_DRIVERS.join(", ")),
            );
            return;
        }
        if driver != "awslogs" {
            return;
        }
        let options = log.get("options");
        let opt = |k: &str| options.and_then(|o| o.get(k)).and_then(Value::as_str).filter(|s| !s.is_empty());
        let missing: Vec<&str> = ["awslogs-group", "awslogs-region", "awslogs-stream-prefix"]
            .into_iter()
            .filter(|k| opt(k).is_none())
            .collect();
        if !missing.is_empty() {
            self.at(
                codes::FARGATE_LOG_OPTIONS,
                Severity::Error,
                &anchors,
                format!(
                    "{label}: awslogs lacks {} (required on Fargate)",
                    missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
                ),
            );
        }
        match opt("mode") {
            Some("blocking" | "non-blocking") => {}
            Some(other) => self.at(
                codes::FARGATE_LOG_OPTIONS,
                Severity::Error,
                &anchors,
                format!("{label}: awslogs `mode` `{other}` is neither `blocking` nor `non-blocking`"),
            ),
            None => self.at(
                codes::FARGATE_LOG_OPTIONS,
                Severity::Warning,
                &anchors,
                format!("{label}: awslogs `mode` is not set; its default changed in 2025, set it explicitly"),
            ),
        }
        if !has_execution_role {
            self.at(
                codes::EXECUTION_ROLE_MISSING,
                Severity::Error,
                &anchors,
                format!("{label} logs with awslogs but the task has no `executionRoleArn`"),
            );
        }
    }

    fn secrets(&mut self, c: &Value, label: &str, root: &[&str; 2], has_execution_role: bool) {
        let secrets = c.get("secrets").and_then(Value::as_array);
        for s in secrets.into_iter().flatten() {
            let name = s.get("name").and_then(Value::as_str).unwrap_or("");
            let from = s.get("valueFrom").and_then(Value::as_str).unwrap_or("");
            if !SECRET_ARN.is_match(from) {
                let anchor = format!("\"{name}\"");
                self.at(codes::SECRET_SOURCE, Severity::Error, &[root[0], root[1], "\"secrets\"", &anchor], format!("{label}: secret `{name}` comes from `{from}`, which is not an SSM parameter or Secrets Manager ARN"));
            }
        }
        if secrets.is_some_and(|s| !s.is_empty()) && !has_execution_role {
            self.at(
                codes::EXECUTION_ROLE_MISSING,
                Severity::Error,
                &[root[0], root[1], "\"secrets\""],
                format!("{label} has `secrets` but the task has no `executionRoleArn` to fetch them"),
            );
        }
        for e in c.get("environment").and_then(Value::as_array).into_iter().flatten() {
            let name = e.get("name").and_then(Value::as_str).unwrap_or("");
            let value = e.get("value").and_then(Value::as_str).unwrap_or("");
            let anchor = format!("\"{name}\"");
            // `JWT_PRIVATE_KEY_FILE=/etc/...` names where a secret is, not the secret.
            let names_a_location =
                ["_FILE", "_PATH", "_DIR", "_FILENAME"].iter().any(|s| name.to_ascii_uppercase().ends_with(s));
            if SECRET_NAME.is_match(name) && !names_a_location {
                self.at(
                    codes::SECRET_IN_ENVIRONMENT,
                    Severity::Error,
                    &[root[0], root[1], "\"environment\"", &anchor],
                    format!(
                        "{label}: `environment` entry `{name}` looks secret by its name; move it to `secrets` (SSM)"
                    ),
                );
            } else if SECRET_VALUE.is_match(value) {
                // The value is never echoed.
                self.at(codes::SECRET_IN_ENVIRONMENT, Severity::Error, &[root[0], root[1], "\"environment\"", &anchor], format!("{label}: the value of `environment` entry `{name}` looks like a credential; move it to `secrets` (SSM)"));
            }
        }
        if c.get("environmentFiles").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
            self.at(
                codes::SECRET_IN_ENVIRONMENT,
                Severity::Warning,
                &[root[0], root[1], "\"environmentFiles\""],
                format!("{label}: `environmentFiles` are plain S3 objects; keep secrets out of them"),
            );
        }
    }
}

/// Task CPU units from `"256"`, `256` or `"0.25 vCPU"`.
fn units(v: &Value) -> Option<u32> {
    scaled_by_1024(v, "vCPU")
}

/// Task memory in MiB from `"512"`, `512` or `"1 GB"`.
fn mebibytes(v: &Value) -> Option<u32> {
    scaled_by_1024(v, "GB")
}

/// A whole number as written, or a number followed by `unit` (either case) times 1024:
/// the two spellings ECS accepts for task CPU and memory.
fn scaled_by_1024(v: &Value, unit: &str) -> Option<u32> {
    if let Some(n) = v.as_u64() {
        return u32::try_from(n).ok();
    }
    let s = v.as_str()?.trim();
    let lower = unit.to_ascii_lowercase();
    if let Some(amount) = s.strip_suffix(unit).or_else(|| s.strip_suffix(lower.as_str())) {
        let f: f64 = amount.trim().parse().ok()?;
        return Some((f * 1024.0).round() as u32);
    }
    s.parse().ok()
}

/// The 1-based line of the last of `anchors` found, each searched after the
/// previous one; 0 when none is found (a finding about the whole file).
fn locate(text: &str, anchors: &[&str]) -> u32 {
    let mut pos = 0;
    let mut found = None;
    for a in anchors {
        if let Some(i) = text[pos..].find(a) {
            pos += i;
            found = Some(pos);
            pos += a.len();
        }
    }
    found.map_or(0, |p| u32::try_from(text[..p].matches('\n').count() + 1).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A task definition that passes every check.
    fn good() -> Value {
        json!({
            "family": "shop-web",
            "taskRoleArn": "arn:aws:iam::111122223333:role/task",
            "executionRoleArn": "arn:aws:iam::111122223333:role/exec",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "512",
            "memory": "1024",
            "volumes": [{"name": "tmp"}],
            "containerDefinitions": [{
                "name": "web",
                "image": "111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web:1.2.3",
                "essential": true,
                "user": "10001:10001",
                "readonlyRootFilesystem": true,
                "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                "environment": [{"name": "PORT", "value": "8080"}, {"name": "KEY_FILE", "value": "/etc/k.pem"}],
                "secrets": [
                    {"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:111122223333:parameter/shop/prod/DB"},
                    {"name": "API", "valueFrom": "arn:aws:secretsmanager:us-east-1:111122223333:secret:api-AbCdEf"}
                ],
                "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp"}],
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": "/ecs/shop", "awslogs-region": "us-east-1",
                    "awslogs-stream-prefix": "ecs", "mode": "non-blocking"}},
                "healthCheck": {"command": ["CMD", "true"], "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 0},
                "stopTimeout": 120,
                "linuxParameters": {"capabilities": {"drop": ["ALL"], "add": ["SYS_PTRACE"]}}
            }]
        })
    }

    fn codes_of(v: &Value) -> Vec<&'static str> {
        let text = serde_json::to_string_pretty(v).unwrap();
        let mut ids: Vec<&str> = check_task_definition("td.json", &text).iter().map(|f| f.code.id).collect();
        ids.dedup();
        ids
    }

    #[test]
    fn a_good_task_definition_passes() {
        assert_eq!(codes_of(&good()), Vec::<&str>::new());
        // The DescribeTaskDefinition shape too.
        assert_eq!(codes_of(&json!({"taskDefinition": good()})), Vec::<&str>::new());
    }

    /// Each check fires on exactly the change that breaks it.
    #[test]
    fn each_check_fires() {
        let c = "/containerDefinitions/0";
        let cases: Vec<(&str, &str, Value, &str)> = vec![
            ("", "/requiresCompatibilities", json!(["EC2"]), "M900"),
            ("", "/networkMode", json!("bridge"), "M901"),
            ("", "/memory", json!("8192"), "M902"),
            ("", "/cpu", json!("lots"), "M902"),
            ("", "/ipcMode", json!("task"), "M903"),
            (c, "/links", json!(["db"]), "M903"),
            (c, "/linuxParameters/devices", json!([{"hostPath": "/dev/x"}]), "M903"),
            (c, "/logConfiguration/logDriver", json!("syslog"), "M903"),
            ("", "/volumes/0/host", json!({"sourcePath": "/data"}), "M904"),
            (c, "/linuxParameters/capabilities/add", json!(["NET_ADMIN"]), "M905"),
            (c, "/stopTimeout", json!(121), "M906"),
            (c, "/logConfiguration/options/awslogs-stream-prefix", json!(""), "M907"),
            (c, "/logConfiguration/options/mode", json!(""), "M907"),
            (c, "/secrets/0/valueFrom", json!("/shop/prod/DB"), "M908"),
            (c, "/environment/0/name", json!("API_TOKEN"), "M909"),
            (c, "/environment/0/value", json!("AKIAABCDEFGHIJKLMNOP"), "M909"),
            (c, "/essential", json!(false), "M910"),
            (c, "/portMappings/0/hostPort", json!(80), "M911"),
            ("", "/executionRoleArn", json!(""), "M912"),
            (c, "/healthCheck/interval", json!(1), "M913"),
            ("", "/family", json!(""), "M914"),
            (c, "/readonlyRootFilesystem", json!(false), "M950"),
            (c, "/privileged", json!(true), "M951"),
            (c, "/user", json!("0:0"), "M952"),
            (c, "/linuxParameters/capabilities/drop", json!([]), "M953"),
            ("", "/pidMode", json!("host"), "M955"),
            ("", "/volumes/0/efsVolumeConfiguration", json!({"fileSystemId": "fs-1"}), "M956"),
            (c, "/image", json!("111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web:latest"), "M957"),
            ("", "/taskRoleArn", json!("arn:aws:iam::111122223333:role/exec"), "M958"),
            (c, "/portMappings/0/containerPort", json!(80), "M960"),
            (c, "/repositoryCredentials", json!({"credentialsParameter": "arn:aws:ssm:x"}), "M961"),
        ];
        for (base, pointer, value, code) in cases {
            let mut td = good();
            let full = format!("{base}{pointer}");
            let (parent, key) = full.rsplit_once('/').unwrap();
            let target = td.pointer_mut(parent).unwrap_or_else(|| panic!("{parent}"));
            target.as_object_mut().unwrap().insert(key.to_string(), value);
            let codes = codes_of(&td);
            assert!(codes.contains(&code), "{full}: expected {code}, got {codes:?}");
        }
        // Removing fields fires the checks for missing things.
        for (pointer, code) in [
            ("/containerDefinitions/0/logConfiguration", "M954"),
            ("/containerDefinitions/0/healthCheck", "M959"),
            ("/containerDefinitions/0/user", "M952"),
        ] {
            let mut td = good();
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            td.pointer_mut(parent).unwrap().as_object_mut().unwrap().remove(key);
            assert!(codes_of(&td).contains(&code), "{pointer}: {:?}", codes_of(&td));
        }
        let mut td = good();
        td.as_object_mut().unwrap().insert("containerDefinitions".into(), json!([]));
        assert!(codes_of(&td).contains(&"M910"));
    }

    #[test]
    fn findings_name_the_line_and_never_a_value() {
        let text = "{\n  \"family\": \"x\",\n  \"networkMode\": \"bridge\"\n}\n";
        let findings = check_task_definition("td.json", text);
        let f = findings.iter().find(|f| f.code.id == "M901").unwrap();
        assert_eq!(f.line, 3);
        let mut td = good();
        td.pointer_mut("/containerDefinitions/0/environment/0").unwrap()["value"] = json!("postgres://u:hunter2@db/x");
        let text = serde_json::to_string_pretty(&td).unwrap();
        let findings = check_task_definition("td.json", &text);
        assert!(findings.iter().any(|f| f.code.id == "M909"));
        assert!(findings.iter().all(|f| !f.message.contains("hunter2")));
    }

    #[test]
    fn bad_json_is_an_error_with_its_line() {
        let findings = check_task_definition("td.json", "{\n  \"family\": ,\n}");
        assert_eq!(findings.len(), 1);
        assert_eq!((findings[0].code.id, findings[0].line), ("M002", 2));
    }

    #[test]
    fn sizes_in_api_spellings() {
        assert_eq!(units(&json!("1 vCPU")), Some(1024));
        assert_eq!(units(&json!(256)), Some(256));
        assert_eq!(mebibytes(&json!("2 GB")), Some(2048));
        assert_eq!(mebibytes(&json!("0.5GB")), Some(512));
    }
}
