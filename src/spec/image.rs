//! What each container image should be: the contract between `rules` (which
//! decides) and `render` (which writes Dockerfile text).
//!
//! Everything here is target-side and typed: no YAML, no Ansible modules, no
//! Dockerfile syntax. Every step keeps the [`Origin`] of the task it came from,
//! so the rendered Dockerfile can name it above each instruction group, and
//! every task of the source is accounted for in a [`Disposition`].

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::Origin;

/// Everything the converter decided for one environment of one repository.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Conversion {
    /// One image per long-running process, sorted by service name.
    pub images: Vec<ImageSpec>,
    /// Services replaced by a managed AWS offering (databases, caches, brokers).
    pub managed: Vec<ManagedService>,
    /// What happened to every task of the source, in source order.
    pub accounting: Vec<TaskAccount>,
    /// Vendor containers added to each application task (log routers, agents),
    /// sorted by service name. Nothing is built for them.
    pub sidecars: Vec<Sidecar>,
    /// Images that must run in the same ECS task (php-fpm behind its nginx),
    /// sorted.
    pub pairs: Vec<Pair>,
}

/// A vendor container that runs next to every application container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sidecar {
    pub service: String,
    /// The vendor image (`public.ecr.aws/datadog/agent`).
    pub image: String,
    pub reason: String,
    pub origin: Origin,
}

/// Two images that share an ECS task (and so localhost and volumes).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Pair {
    /// The image that is reached through the other (`php-fpm`).
    pub service: String,
    /// The image in front of it (`nginx`).
    pub with: String,
    pub reason: String,
}

/// One image: one service, one foreground process.
#[derive(Debug, Clone, Serialize)]
pub struct ImageSpec {
    /// The service name; also the output folder (`<out>/<service>/Dockerfile`).
    pub service: String,
    /// The catalog entry it was recognised as (`nginx`, `gunicorn`, `supervisor-program`).
    pub catalog: Option<String>,
    pub kind: ServiceKind,
    pub base: BaseImage,
    /// Build steps in source order; the renderer may merge adjacent steps of
    /// the same kind (one `RUN apt-get` for consecutive installs).
    pub steps: Vec<BuildStep>,
    /// Files the build context must contain (copied from the repo or rendered).
    pub context: Vec<ContextFile>,
    /// Config files rendered when the container starts, because they hold
    /// secrets or values that differ between environments.
    pub start_files: Vec<StartFile>,
    pub process: Process,
    pub ports: Vec<Port>,
    pub healthcheck: Option<HealthCheck>,
    /// The environment the process needs at start; values come from SSM or the
    /// task definition, never from the image.
    pub env: Vec<EnvVar>,
    /// Log files turned into streams.
    pub log_links: Vec<LogLink>,
    /// Paths the process writes to (volumes when the root filesystem is read-only).
    pub writable_paths: Vec<String>,
    /// Cron entries that run as one-off commands of this image.
    pub jobs: Vec<JobSpec>,
    /// Tasks that fed this image, dropped ones and ones needing a human, for MIGRATION.md.
    pub report: MigrationReport,
    /// The source's checks of the service's configuration (`nginx -t`) that can only pass
    /// once the start files are rendered: the entrypoint runs them before the service.
    pub start_checks: Vec<StartCheck>,
}

/// A configuration check run by the entrypoint after rendering the start files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StartCheck {
    /// The shell command as the task wrote it.
    pub command: String,
    pub origin: Origin,
    pub title: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// Serves HTTP to the outside (reverse proxy, web server).
    Web,
    /// An application server (behind the web tier or a load balancer).
    App,
    /// A long-running consumer without a listening port.
    Worker,
    /// Only runs scheduled jobs; no long-running process of its own.
    Jobs,
    /// Anything else that listens on a port.
    Daemon,
}

/// The base image and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseImage {
    /// `debian:bookworm-slim`, `ubuntu:22.04`, `amazonlinux:2023`.
    pub reference: String,
    pub family: PackageFamily,
    /// Where the choice came from (`migrate.yaml`, a Packer `source_ami_filter`).
    pub reason: String,
    pub origin: Option<Origin>,
}

/// How packages are installed in the base image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageFamily {
    Apt,
    Dnf,
    Yum,
    Microdnf,
    Apk,
}

/// One build step with the task it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildStep {
    pub origin: Origin,
    /// The task's name (or a description when it has none), for the provenance comment.
    pub title: String,
    /// The rule code that produced the step (`M101`).
    pub rule: String,
    pub action: StepAction,
}

/// What a build step does, independent of Dockerfile syntax.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum StepAction {
    /// OS packages; versions are kept when the source pins them.
    InstallPackages {
        manager: PackageFamily,
        packages: Vec<Package>,
    },
    /// Language packages (`pip`, `npm`, `gem`).
    InstallLanguagePackages {
        manager: LanguageManager,
        packages: Vec<Package>,
        /// A requirements/lock file in the build context.
        requirements: Option<String>,
        /// A virtualenv (pip) or prefix the packages go into.
        target: Option<String>,
    },
    CreateGroup {
        name: String,
        gid: Option<u32>,
        system: bool,
    },
    CreateUser {
        name: String,
        uid: Option<u32>,
        group: Option<String>,
        groups: Vec<String>,
        home: Option<String>,
        shell: Option<String>,
        system: bool,
        create_home: bool,
    },
    /// A file of the build context copied into the image.
    Copy {
        source: String,
        dest: String,
        owner: Option<String>,
        group: Option<String>,
        mode: Option<String>,
    },
    MakeDirectory {
        path: String,
        owner: Option<String>,
        group: Option<String>,
        mode: Option<String>,
    },
    Symlink {
        target: String,
        link: String,
    },
    Remove {
        path: String,
    },
    Download {
        url: String,
        dest: String,
        checksum: Option<String>,
        mode: Option<String>,
    },
    Extract {
        archive: String,
        dest: String,
    },
    /// Shell commands run at build time. `pipes` asks for a pipefail shell.
    Run {
        commands: Vec<String>,
        pipes: bool,
    },
    /// The working directory of the following steps (`WORKDIR`), from a
    /// task's `chdir:`; rendered instead of a `cd` inside `RUN` (hadolint DL3003).
    Workdir {
        path: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LanguageManager {
    Pip,
    Npm,
    Gem,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Package {
    pub name: String,
    /// A version the source pins (`nginx=1.22*`, `name: gunicorn==21.2`); kept as written.
    pub version: Option<String>,
}

/// A file in the build context (`<out>/<service>/<path>`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContextFile {
    /// Path inside the build context, `/`-separated, no `..`.
    pub path: String,
    pub content: ContextContent,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ContextContent {
    /// Copied byte for byte from the repository.
    Copy { from: Arc<str> },
    /// Rendered at conversion time (holds no secret and nothing per-environment).
    Text { text: String },
}

/// A config file rendered when the container starts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StartFile {
    /// Where the rendered file goes in the container.
    pub dest: String,
    /// The template, with `${NAME}` placeholders for the environment variables
    /// in `env` (rendered with `envsubst` in the entrypoint). Never holds a secret.
    pub template: String,
    pub owner: Option<String>,
    pub mode: Option<String>,
    pub origin: Origin,
    /// Why it is rendered at start (secret values, per-environment values).
    pub reason: String,
}

/// PID 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Process {
    /// The foreground command, exec form.
    pub command: Vec<String>,
    /// The user it runs as (name or uid); never root.
    pub user: String,
    pub workdir: Option<String>,
    /// `STOPSIGNAL` when the service needs another signal than SIGTERM to stop gracefully.
    pub stop_signal: Option<String>,
    /// Seconds to wait for a graceful stop (ECS `stopTimeout`).
    pub stop_timeout: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Port {
    pub port: u16,
    pub protocol: Protocol,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    /// `tcp` or `udp`, as Docker's EXPOSE, ECS and the reports spell it (and serde writes it).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    /// Exec form (`["curl", "-fsS", "http://127.0.0.1:8080/healthz"]`).
    pub command: Vec<String>,
    pub interval_secs: u32,
    pub timeout_secs: u32,
    pub retries: u32,
    pub start_period_secs: u32,
}

/// An environment variable the process needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvVar {
    pub name: String,
    pub value: EnvValue,
    pub origin: Origin,
    /// The variable of the task's scope the value comes from, when known (for
    /// `rules::env` discovery; not part of the generated files).
    #[serde(skip)]
    pub source: Option<EnvSource>,
}

/// Where a parameter's value comes from: a task (by origin) and either a
/// variable of its scope or one of its secret arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvSource {
    Variable {
        task: Origin,
        name: String,
    },
    TaskArg {
        task: Origin,
        key: String,
    },
    /// `NAME=value` on a line of the task's secret argument `key`.
    TaskArgLine {
        task: Origin,
        key: String,
        name: String,
    },
    /// Written in the repository as is (never a vault value).
    Literal {
        task: Origin,
        value: crate::sensitive::Sensitive<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EnvValue {
    /// The same in every environment and not secret: may be set in the task definition.
    Literal { value: String },
    /// Stored in SSM Parameter Store under `parameter`.
    Parameter { parameter: String, secret: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLink {
    pub path: String,
    pub stream: LogStream,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
}

impl LogStream {
    /// `stdout` or `stderr`, as the templates and reports spell it (and serde writes it).
    pub fn name(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        }
    }
}

/// A cron entry, to become a scheduled task (EventBridge Scheduler) running this image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobSpec {
    pub name: String,
    pub schedule: CronSchedule,
    /// The command, exec form.
    pub command: Vec<String>,
    pub user: Option<String>,
    pub origin: Origin,
}

/// The Ansible `cron` module's fields, as written (`*` when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CronSchedule {
    pub minute: String,
    pub hour: String,
    pub day: String,
    pub month: String,
    pub weekday: String,
    /// `special_time` (`hourly`, `daily`, `reboot`, ...), which replaces the five fields.
    pub special_time: Option<String>,
}

/// The human-readable account of one image, rendered as MIGRATION.md.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MigrationReport {
    pub converted: Vec<ReportItem>,
    pub dropped: Vec<ReportItem>,
    pub needs_human: Vec<ReportItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ReportItem {
    pub origin: Origin,
    /// The rule code that decided (`M401`).
    pub code: String,
    /// What the task did (`Install nginx`).
    pub what: String,
    /// Why it was converted this way, dropped, or needs a human.
    pub why: String,
}

/// A database, cache or broker replaced by a managed AWS service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagedService {
    pub service: String,
    /// `Amazon RDS for PostgreSQL`, `Amazon ElastiCache (Redis OSS)`.
    pub replacement: String,
    pub origin: Origin,
}

/// What happened to one task of the source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskAccount {
    pub origin: Origin,
    pub title: String,
    pub disposition: Disposition,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "disposition", rename_all = "snake_case")]
pub enum Disposition {
    /// Became build steps (or process settings) of these services.
    Converted { services: Vec<String>, code: String },
    /// Not needed in a container; the reason says why.
    Dropped { code: String, reason: String },
    /// Its `when:` is false for the target image (or the environment).
    Skipped { condition: String },
    /// Could not be translated; a human must look (also a finding).
    NeedsHuman { code: String, reason: String },
}
