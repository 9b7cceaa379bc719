//! ECS on Fargate: what each generated service needs to run on AWS — its task
//! definition, the least-privilege execution-role policy, the CodeDeploy
//! blue/green service and AppSpec, EventBridge Scheduler schedules for its cron
//! jobs, and Application Auto Scaling — plus the checks any task definition
//! (ours or a user's) must pass ([`check`]).
//!
//! Built from an [`ImageSpec`] and the `ecs:` section of `migrate.yaml`; the
//! parameters a container reads are the names its spec already carries, so no
//! value (secret or not) ever reaches this module's output. Owns no I/O and no
//! text format: `render::ecs` serialises, `commands` wires.

pub mod check;
pub mod cron;
pub mod fargate;
pub mod types;

use std::collections::{BTreeMap, BTreeSet};

use crate::config::EcsConfig;
use crate::diagnostics::{Finding, Severity, codes};
use crate::spec::image::{EnvValue, ImageSpec, JobSpec, Protocol, ServiceKind};

pub use types::*;

/// The account the files name when `ecs.account_id` is not set (with warning M940).
pub const PLACEHOLDER_ACCOUNT: &str = "000000000000";
/// The region used when `ecs.region` is not set (with warning M940).
pub const DEFAULT_REGION: &str = "us-east-1";
/// What `appspec.yaml` names as its task definition: CodePipeline's
/// `CodeDeployToECS` action replaces it with the registered revision's ARN.
pub const TASK_DEFINITION_PLACEHOLDER: &str = "<TASK_DEFINITION>";
/// Fargate's largest `stopTimeout`.
pub const MAX_STOP_TIMEOUT: u32 = 120;
/// The CodeDeploy ECS lifecycle hooks, in the order they run.
pub const HOOKS: [&str; 5] =
    ["BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"];

/// The `ecs:` section resolved for one application and environment: every
/// default filled in, every name expanded.
#[derive(Debug, Clone)]
pub struct Settings {
    pub app: String,
    pub env: Option<String>,
    pub account: String,
    pub region: String,
    pub partition: String,
    pub cluster: String,
    pub config: EcsConfig,
}

impl Settings {
    /// Fills in the defaults; warns (M940) for each placeholder the files will carry
    /// and reports unusable settings (M941).
    pub fn resolve(app: &str, env: Option<&str>, config: &EcsConfig) -> (Settings, Vec<Finding>) {
        let mut findings = Vec::new();
        let account = match &config.account_id {
            Some(a) if a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()) => a.clone(),
            Some(a) => {
                findings.push(config_error(format!("`ecs.account_id` `{a}` is not a 12-digit AWS account id")));
                PLACEHOLDER_ACCOUNT.to_string()
            }
            None => {
                findings.push(placeholder(format!(
                    "`ecs.account_id` is not set: the ECS files name the placeholder account {PLACEHOLDER_ACCOUNT}"
                )));
                PLACEHOLDER_ACCOUNT.to_string()
            }
        };
        let region_ok = |r: &str| {
            let parts: Vec<&str> = r.split('-').collect();
            parts.len() >= 3
                && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && parts.last().is_some_and(|p| p.parse::<u32>().is_ok())
        };
        let region = match &config.region {
            Some(r) if region_ok(r) => r.clone(),
            Some(r) => {
                findings.push(config_error(format!("`ecs.region` `{r}` is not an AWS region name")));
                DEFAULT_REGION.to_string()
            }
            None => {
                findings.push(placeholder(format!("`ecs.region` is not set: the ECS files use {DEFAULT_REGION}")));
                DEFAULT_REGION.to_string()
            }
        };
        let partition = partition(&region).to_string();
        if config.network.subnets.is_empty() || config.network.security_groups.is_empty() {
            findings.push(placeholder(
                "`ecs.network` has no subnets or security groups: services and schedules are written without a \
                 network configuration, which awsvpc tasks need"
                    .into(),
            ));
        }
        if let Some(key) = &config.kms_key_id
            && key.starts_with("alias/")
        {
            findings.push(config_error(format!(
                "`ecs.kms_key_id` `{key}` is an alias: IAM policies cannot grant `kms:Decrypt` through an alias; give \
                 the key id or key ARN"
            )));
        }
        if let Some(mode) = &config.log_mode
            && mode != "blocking"
            && mode != "non-blocking"
        {
            findings.push(config_error(format!("`ecs.log_mode` `{mode}` is neither `blocking` nor `non-blocking`")));
        }
        if let Some(arch) = &config.cpu_architecture
            && arch != "X86_64"
            && arch != "ARM64"
        {
            findings.push(config_error(format!("`ecs.cpu_architecture` `{arch}` is neither `X86_64` nor `ARM64`")));
        }
        for hook in config.codedeploy_hooks.keys() {
            if !HOOKS.contains(&hook.as_str()) {
                findings.push(config_error(format!(
                    "`ecs.codedeploy_hooks.{hook}` is not an ECS lifecycle hook ({})",
                    HOOKS.join(", ")
                )));
            }
        }
        let scaling = &config.autoscaling;
        if let (Some(min), Some(max)) = (scaling.min, scaling.max)
            && min > max
        {
            findings.push(config_error(format!("`ecs.autoscaling.min` {min} is larger than `max` {max}")));
        }
        for action in &scaling.scheduled {
            let s = action.schedule.trim();
            let shaped = ["cron(", "rate(", "at("].iter().any(|p| s.starts_with(p)) && s.ends_with(')');
            if !shaped {
                findings.push(config_error(format!(
                    "`ecs.autoscaling.scheduled` `{}`: schedule `{s}` is not `cron(...)`, `rate(...)` or `at(...)`",
                    action.name
                )));
            }
            if action.min.is_none() && action.max.is_none() {
                findings.push(config_error(format!(
                    "`ecs.autoscaling.scheduled` `{}` sets neither `min` nor `max`",
                    action.name
                )));
            }
        }
        let cluster = config.cluster.clone().unwrap_or_else(|| app.to_string());
        let settings = Settings {
            app: app.to_string(),
            env: env.map(str::to_string),
            account,
            region,
            partition,
            cluster,
            config: config.clone(),
        };
        (settings, findings)
    }

    /// Expands `{app}`, `{env}`, `{service}`, `{account}`, `{region}`, `{tag}` in `template`.
    fn expand(&self, template: &str, service: &str) -> Result<String, String> {
        let tag = self.config.image_tag.clone().unwrap_or_else(|| self.env_name().to_string());
        let values = [
            ("app", self.app.as_str()),
            ("env", self.env_name()),
            ("service", service),
            ("account", self.account.as_str()),
            ("region", self.region.as_str()),
            ("tag", tag.as_str()),
        ];
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let Some(len) = rest[start..].find('}') else { return Err(format!("`{template}` has an unclosed `{{`")) };
            let key = &rest[start + 1..start + len];
            match values.iter().find(|(k, _)| *k == key) {
                Some((_, v)) => out.push_str(v),
                None => return Err(format!("`{template}` uses the unknown placeholder `{{{key}}}`")),
            }
            rest = &rest[start + len + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The environment's name, `default` when the run has none.
    fn env_name(&self) -> &str {
        self.env.as_deref().unwrap_or("default")
    }

    /// `{app}-{env}-{service}`, limited to the characters ECS families and IAM
    /// role names share.
    pub fn family(&self, service: &str) -> String {
        let raw = match &self.env {
            Some(env) => format!("{}-{env}-{service}", self.app),
            None => format!("{}-{service}", self.app),
        };
        let mut name: String =
            raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
        name.truncate(255);
        name
    }

    fn role_arn(&self, value: Option<&str>, default_suffix: &str, service: &str) -> Result<String, String> {
        let name = match value {
            Some(v) if v.starts_with("arn:") => return Ok(v.to_string()),
            Some(v) => self.expand(v, service)?,
            None => {
                let mut base = self.family(service);
                // IAM role names are at most 64 characters.
                base.truncate(64 - default_suffix.len() - 1);
                format!("{base}-{default_suffix}")
            }
        };
        Ok(format!("arn:{}:iam::{}:role/{name}", self.partition, self.account))
    }

    /// The ARN of an SSM parameter (reference: ssm.md — no double slash for `/a/b`).
    pub fn parameter_arn(&self, name: &str) -> String {
        let sep = if name.starts_with('/') { "" } else { "/" };
        format!("arn:{}:ssm:{}:{}:parameter{sep}{name}", self.partition, self.region, self.account)
    }

    pub fn cluster_arn(&self) -> String {
        format!("arn:{}:ecs:{}:{}:cluster/{}", self.partition, self.region, self.account, self.cluster)
    }

    /// The family's ARN without a revision: RunTask takes the latest active one.
    pub fn task_definition_arn(&self, service: &str) -> String {
        format!("arn:{}:ecs:{}:{}:task-definition/{}", self.partition, self.region, self.account, self.family(service))
    }

    pub fn log_group(&self, service: &str) -> Result<String, String> {
        match &self.config.log_group {
            Some(t) => self.expand(t, service),
            None => Ok(match &self.env {
                Some(env) => format!("/ecs/{}/{env}/{service}", self.app),
                None => format!("/ecs/{}/{service}", self.app),
            }),
        }
    }

    pub fn image(&self, service: &str) -> Result<String, String> {
        let template =
            self.config.image.as_deref().unwrap_or("{account}.dkr.ecr.{region}.amazonaws.com/{app}/{service}:{tag}");
        self.expand(template, service)
    }

    fn kms_key_arn(&self) -> Option<String> {
        let key = self.config.kms_key_id.as_deref()?;
        if key.starts_with("arn:") {
            return Some(key.to_string());
        }
        if key.starts_with("alias/") {
            return None;
        }
        Some(format!("arn:{}:kms:{}:{}:key/{key}", self.partition, self.region, self.account))
    }

    fn network(&self) -> Option<EcsAwsvpcConfiguration> {
        let n = &self.config.network;
        if n.subnets.is_empty() || n.security_groups.is_empty() {
            return None;
        }
        let mut subnets = n.subnets.clone();
        subnets.sort();
        subnets.dedup();
        let mut groups = n.security_groups.clone();
        groups.sort();
        groups.dedup();
        let public = if n.assign_public_ip == Some(true) { "ENABLED" } else { "DISABLED" };
        Some(EcsAwsvpcConfiguration { subnets, security_groups: groups, assign_public_ip: public.into() })
    }
}

/// `aws`, `aws-cn` or `aws-us-gov`, from the region name.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn placeholder(message: String) -> Finding {
    Finding::new(codes::ECS_PLACEHOLDER, Severity::Warning, "migrate.yaml", 0, message)
}

fn config_error(message: String) -> Finding {
    Finding::new(codes::ECS_CONFIG, Severity::Error, "migrate.yaml", 0, message)
}

/// Everything generated for one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceFiles {
    pub service: String,
    pub task_definition: TaskDefinition,
    pub execution_policy: PolicyDocument,
    /// `None` for a service that only runs scheduled jobs.
    pub service_definition: Option<ServiceDefinition>,
    /// Only for services behind a load balancer (a port): CodeDeploy blue/green needs one.
    pub appspec: Option<AppSpec>,
    pub autoscaling: Option<Autoscaling>,
    /// By job name.
    pub schedules: BTreeMap<String, Schedule>,
}

/// Default task size per service kind: (cpu units, memory MiB).
pub fn default_size(kind: ServiceKind) -> (u32, u32) {
    match kind {
        ServiceKind::Web | ServiceKind::Jobs | ServiceKind::Daemon => (256, 512),
        ServiceKind::App | ServiceKind::Worker => (512, 1024),
    }
}

/// One container of a task, with what the task and its policy need from it.
struct BuiltContainer {
    definition: ContainerDefinition,
    volumes: Vec<Volume>,
    has_secure: bool,
    /// The image URI (for the ECR statement).
    images: String,
    log_group: String,
}

/// The container of `image`. `volume_prefix` keeps a partner's volume names apart
/// from the main container's (`php-fpm-tmp`).
fn container(
    image: &ImageSpec,
    user: &str,
    volume_prefix: Option<&str>,
    settings: &Settings,
    findings: &mut Vec<Finding>,
) -> BuiltContainer {
    let service = image.service.as_str();
    let mut need = |r: Result<String, String>| match r {
        Ok(v) => v,
        Err(e) => {
            findings.push(config_error(e));
            String::new()
        }
    };
    let image_uri = need(settings.image(service));
    let log_group = need(settings.log_group(service));
    // Environment: literals in `environment`, parameters in `secrets` (by ARN).
    let mut environment: BTreeMap<String, String> = BTreeMap::new();
    let mut secrets: BTreeMap<String, String> = BTreeMap::new();
    for var in &image.env {
        match &var.value {
            EnvValue::Literal { value } => {
                environment.insert(var.name.clone(), value.clone());
            }
            EnvValue::Parameter { parameter, .. } => {
                secrets.insert(var.name.clone(), settings.parameter_arn(parameter));
            }
        }
    }
    let secrets: Vec<Secret> = secrets.into_iter().map(|(name, value_from)| Secret { name, value_from }).collect();
    let has_secure = image.env.iter().any(|v| matches!(v.value, EnvValue::Parameter { secret: true, .. }));

    // Writable paths: the spec's, the start files' folders (the entrypoint writes
    // them) and /tmp, each a task-storage volume under a read-only root.
    let mut writable: BTreeSet<String> = BTreeSet::new();
    writable.insert("/tmp".into());
    for p in &image.writable_paths {
        writable.insert(normalise_path(p));
    }
    for f in &image.start_files {
        if let Some((dir, _)) = f.dest.rsplit_once('/')
            && !dir.is_empty()
        {
            writable.insert(normalise_path(dir));
        }
    }
    // A cron job that redirects to a file (`>> /var/log/x.log`) needs that folder
    // writable; its output is then lost with the task, so say so.
    for job in &image.jobs {
        for target in redirect_targets(&job.command) {
            findings.push(Finding::new(
                codes::JOB_WRITES_FILE,
                Severity::Warning,
                job.origin.path.to_string(),
                job.origin.line,
                format!(
                    "cron job `{}` of `{service}` writes its output to `{target}`: the folder gets a volume under the \
                     read-only root, but the file is lost when the task ends; drop the redirect so the output \
                     reaches CloudWatch Logs",
                    job.name
                ),
            ));
            if let Some((dir, _)) = target.rsplit_once('/')
                && !dir.is_empty()
            {
                writable.insert(normalise_path(dir));
            }
        }
    }
    let writable = outermost(writable);
    let mut volumes = Vec::new();
    let mut mount_points = Vec::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    for path in &writable {
        let base = match volume_prefix {
            Some(prefix) => format!("{prefix}-{}", volume_name(path)),
            None => volume_name(path),
        };
        let mut name = base.clone();
        let mut n = 2;
        while !used.insert(name.clone()) {
            name = format!("{base}-{n}");
            n += 1;
        }
        volumes.push(Volume { name: name.clone() });
        mount_points.push(MountPoint { source_volume: name, container_path: path.clone(), read_only: false });
    }

    let mut stop_timeout = image.process.stop_timeout.unwrap_or(30);
    if stop_timeout > MAX_STOP_TIMEOUT {
        findings.push(Finding::new(
            codes::ECS_CONFIG,
            Severity::Warning,
            "",
            0,
            format!("`{service}` wants {stop_timeout} s to stop; Fargate allows {MAX_STOP_TIMEOUT} s, which is used"),
        ));
        stop_timeout = MAX_STOP_TIMEOUT;
    }
    let health_check = image.healthcheck.as_ref().map(|h| HealthCheck {
        command: std::iter::once("CMD".to_string()).chain(h.command.iter().cloned()).collect(),
        interval: h.interval_secs,
        timeout: h.timeout_secs,
        retries: h.retries,
        start_period: h.start_period_secs,
    });
    let mut log_options = BTreeMap::new();
    log_options.insert("awslogs-group".to_string(), log_group.clone());
    log_options.insert("awslogs-region".to_string(), settings.region.clone());
    log_options.insert("awslogs-stream-prefix".to_string(), "ecs".to_string());
    let mode = settings.config.log_mode.clone().unwrap_or_else(|| "non-blocking".into());
    if mode == "non-blocking" {
        log_options.insert("max-buffer-size".to_string(), "25m".to_string());
    }
    log_options.insert("mode".to_string(), mode);
    let port_mappings: Vec<PortMapping> = image
        .ports
        .iter()
        .map(|p| PortMapping { container_port: p.port, protocol: p.protocol.name().into() })
        .collect();
    let container = ContainerDefinition {
        name: service.to_string(),
        image: image_uri.clone(),
        essential: true,
        command: None,
        user: user.to_string(),
        readonly_root_filesystem: true,
        port_mappings,
        environment: environment.into_iter().map(|(name, value)| KeyValue { name, value }).collect(),
        secrets,
        mount_points,
        log_configuration: LogConfiguration { log_driver: "awslogs".into(), options: log_options },
        health_check,
        stop_timeout,
        depends_on: Vec::new(),
        linux_parameters: LinuxParameters {
            init_process_enabled: true,
            capabilities: Capabilities { drop: capabilities_to_drop(user, &image.ports) },
        },
    };
    BuiltContainer { definition: container, volumes, has_secure, images: image_uri, log_group }
}

/// Docker's default capabilities (Fargate's too) except NET_BIND_SERVICE, by name.
pub(crate) const DEFAULT_CAPABILITIES_BUT_NET_BIND: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// An ECS `user` that means root: empty (the image's user, root unless it says otherwise),
/// `root`, `0`, or with a root user before the `:group`.
pub(crate) fn runs_as_root(user: &str) -> bool {
    let user = user.trim();
    user.is_empty() || user == "root" || user == "0" || user.starts_with("0:") || user.starts_with("root:")
}

/// `ALL`, except for a non-root process on a port below 1024: its binary carries the file
/// capability cap_net_bind_service (the Dockerfile's `setcap`), which the kernel refuses to
/// exec once NET_BIND_SERVICE left the bounding set, and Fargate cannot add it back. So
/// every other default is dropped by name and that one is kept.
fn capabilities_to_drop(user: &str, ports: &[crate::spec::image::Port]) -> Vec<String> {
    if !runs_as_root(user) && ports.iter().any(|p| p.port < 1024) {
        DEFAULT_CAPABILITIES_BUT_NET_BIND.iter().map(|c| c.to_string()).collect()
    } else {
        vec!["ALL".into()]
    }
}

/// Builds the ECS files of one image. `user` is the image's final `USER`
/// (numeric when known, as `render` resolves it). `partners` are images that must
/// run in the same task (php-fpm behind this nginx), each with its user: they
/// become more essential containers of this task, started before this one.
pub fn build(
    image: &ImageSpec,
    user: &str,
    partners: &[(&ImageSpec, String)],
    settings: &Settings,
) -> (ServiceFiles, Vec<Finding>) {
    let service = image.service.as_str();
    let mut findings = Vec::new();
    let mut need = |r: Result<String, String>| match r {
        Ok(v) => v,
        Err(e) => {
            findings.push(config_error(e));
            String::new()
        }
    };
    let execution_role = need(settings.role_arn(settings.config.execution_role.as_deref(), "execution", service));
    let task_role = need(settings.role_arn(settings.config.task_role.as_deref(), "task", service));
    let scheduler_role = need(settings.role_arn(settings.config.scheduler_role.as_deref(), "scheduler", service));
    let family = settings.family(service);
    let overrides = settings.config.services.get(service);
    // A shared task is sized for its largest member unless migrate.yaml says otherwise.
    let (default_cpu, default_memory) = std::iter::once(image.kind)
        .chain(partners.iter().map(|(p, _)| p.kind))
        .map(default_size)
        .max()
        .unwrap_or_else(|| default_size(image.kind));
    let cpu = overrides.and_then(|o| o.cpu).unwrap_or(default_cpu);
    let memory = overrides.and_then(|o| o.memory).unwrap_or(default_memory);

    let main = container(image, user, None, settings, &mut findings);
    let mut containers = vec![main.definition];
    let mut volumes = main.volumes;
    let mut policy_inputs = vec![(main.images, main.log_group)];
    let mut has_secure = main.has_secure;
    let mut all_jobs: Vec<(&ImageSpec, &JobSpec)> = image.jobs.iter().map(|j| (image, j)).collect();
    for (partner, partner_user) in partners {
        let built = container(partner, partner_user, Some(&partner.service), settings, &mut findings);
        containers[0]
            .depends_on
            .push(ContainerDependency { container_name: partner.service.clone(), condition: "START".into() });
        containers.push(built.definition);
        volumes.extend(built.volumes);
        policy_inputs.push((built.images, built.log_group));
        has_secure |= built.has_secure;
        all_jobs.extend(partner.jobs.iter().map(|j| (*partner, j)));
    }
    let secrets: Vec<Secret> = containers.iter().flat_map(|c| c.secrets.iter().cloned()).collect();
    let arch = settings.config.cpu_architecture.clone().unwrap_or_else(|| "X86_64".into());
    let task_definition = TaskDefinition {
        family: family.clone(),
        task_role_arn: task_role,
        execution_role_arn: execution_role,
        network_mode: "awsvpc".into(),
        requires_compatibilities: vec!["FARGATE".into()],
        cpu: cpu.to_string(),
        memory: memory.to_string(),
        runtime_platform: RuntimePlatform { operating_system_family: "LINUX".into(), cpu_architecture: arch },
        container_definitions: containers,
        volumes,
    };

    let execution_policy = execution_policy(settings, &secrets, has_secure, &policy_inputs);

    // The long-running service, its deployment and its scaling.
    let long_running = image.kind != ServiceKind::Jobs;
    let lb_port = image.ports.iter().find(|p| p.protocol == Protocol::Tcp).map(|p| p.port);
    let network = settings.network();
    let scaling = &settings.config.autoscaling;
    let min = overrides.and_then(|o| o.min).or(scaling.min).unwrap_or(1);
    let max = overrides.and_then(|o| o.max).or(scaling.max).unwrap_or(4).max(min);
    let service_definition = long_running.then(|| ServiceDefinition {
        cluster: settings.cluster.clone(),
        service_name: service.to_string(),
        task_definition: family.clone(),
        desired_count: min,
        launch_type: "FARGATE".into(),
        platform_version: "LATEST".into(),
        scheduling_strategy: "REPLICA".into(),
        deployment_controller: DeploymentController {
            kind: if lb_port.is_some() { "CODE_DEPLOY" } else { "ECS" }.into(),
        },
        deployment_configuration: lb_port.is_none().then_some(DeploymentConfiguration {
            deployment_circuit_breaker: CircuitBreaker { enable: true, rollback: true },
            minimum_healthy_percent: 100,
            maximum_percent: 200,
        }),
        load_balancers: lb_port
            .map(|port| LoadBalancer {
                target_group_arn: overrides.and_then(|o| o.target_group_arn.clone()),
                container_name: service.to_string(),
                container_port: port,
            })
            .into_iter()
            .collect(),
        health_check_grace_period_seconds: lb_port
            .map(|_| image.healthcheck.as_ref().map_or(60, |h| h.start_period_secs.max(60))),
        network_configuration: network.clone().map(|n| EcsNetworkConfiguration { awsvpc_configuration: n }),
        propagate_tags: "TASK_DEFINITION".into(),
        enable_ecs_managed_tags: true,
    });
    if long_running && lb_port.is_some() && overrides.and_then(|o| o.target_group_arn.as_ref()).is_none() {
        findings.push(placeholder(format!(
            "`ecs.services.{service}.target_group_arn` is not set: `{service}/ecs/service.json` names no target group, \
             which a CodeDeploy blue/green service needs"
        )));
    }
    let appspec = match (long_running, lb_port) {
        (true, Some(port)) => Some(AppSpec {
            task_definition: TASK_DEFINITION_PLACEHOLDER.into(),
            container_name: service.to_string(),
            container_port: port,
            platform_version: "LATEST".into(),
            network: network.clone(),
            hooks: HOOKS
                .iter()
                .filter_map(|h| settings.config.codedeploy_hooks.get(*h).map(|f| (h.to_string(), f.clone())))
                .collect(),
        }),
        _ => None,
    };
    let resource_id = format!("service/{}/{service}", settings.cluster);
    let timezone = settings.config.schedule_timezone.clone().unwrap_or_else(|| "UTC".into());
    let autoscaling = long_running.then(|| Autoscaling {
        scalable_target: ScalableTarget {
            service_namespace: "ecs".into(),
            resource_id: resource_id.clone(),
            scalable_dimension: "ecs:service:DesiredCount".into(),
            min_capacity: min,
            max_capacity: max,
        },
        scaling_policy: ScalingPolicy {
            policy_name: format!("{family}-cpu"),
            service_namespace: "ecs".into(),
            resource_id: resource_id.clone(),
            scalable_dimension: "ecs:service:DesiredCount".into(),
            policy_type: "TargetTrackingScaling".into(),
            target_tracking_scaling_policy_configuration: TargetTracking {
                target_value: scaling.target_cpu.unwrap_or(60),
                predefined_metric_specification: PredefinedMetric {
                    predefined_metric_type: "ECSServiceAverageCPUUtilization".into(),
                },
                scale_in_cooldown: 300,
                scale_out_cooldown: 60,
            },
        },
        scheduled_actions: scaling
            .scheduled
            .iter()
            .map(|a| ScheduledAction {
                service_namespace: "ecs".into(),
                scheduled_action_name: format!("{family}-{}", a.name),
                resource_id: resource_id.clone(),
                scalable_dimension: "ecs:service:DesiredCount".into(),
                schedule: a.schedule.clone(),
                timezone: timezone.clone(),
                scalable_target_action: ScalableTargetAction { min_capacity: a.min, max_capacity: a.max },
            })
            .collect(),
    });
    if let Some(t) = scaling.target_cpu
        && !(1..=100).contains(&t)
    {
        findings.push(config_error(format!("`ecs.autoscaling.target_cpu` {t} is not a percentage (1-100)")));
    }

    // A RunTask override cannot change the user: say when cron ran a job as someone else.
    for (owner, job) in &all_jobs {
        let user = if owner.service == image.service {
            user
        } else {
            partners.iter().find(|(p, _)| p.service == owner.service).map_or(user, |(_, u)| u.as_str())
        };
        // Only a plain user name or uid is worth a word (an unrendered template is reported elsewhere).
        let plain = |u: &&str| !u.is_empty() && u.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
        if let Some(job_user) = job.user.as_deref().map(str::trim).filter(plain)
            && job_user != owner.process.user.trim()
            && job_user != user
        {
            findings.push(Finding::new(
                codes::ECS_MANUAL_STEP,
                Severity::Warning,
                job.origin.path.to_string(),
                job.origin.line,
                format!(
                    "cron job `{}` ran as `{job_user}`; its scheduled task runs as the image's user `{user}` (a RunTask \
                     override cannot change the user): check its file permissions",
                    job.name
                ),
            ));
        }
    }

    // One schedule per cron job: the service's task definition with the job's command.
    let mut schedules = BTreeMap::new();
    for (owner, job) in &all_jobs {
        let expression = match cron::to_eventbridge(&job.schedule) {
            Ok(e) => e,
            Err(why) => {
                findings.push(Finding::new(
                    codes::SCHEDULE_NOT_CONVERTIBLE,
                    Severity::Warning,
                    job.origin.path.to_string(),
                    job.origin.line,
                    format!("cron job `{}` of `{}` gets no schedule: {why}", job.name, owner.service),
                ));
                continue;
            }
        };
        let overrides = TaskOverride {
            container_overrides: vec![ContainerOverride { name: owner.service.clone(), command: job.command.clone() }],
        };
        let input = serde_json::to_string(&overrides).unwrap_or_default();
        let mut name: String = format!("{family}-{}", job.name)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '-' })
            .collect();
        name.truncate(64);
        // Two jobs whose names differ only in punctuation get distinct files.
        let base = job_file_name(&job.name);
        let mut file = base.clone();
        let mut n = 2;
        while schedules.contains_key(&file) {
            file = format!("{base}-{n}");
            n += 1;
        }
        schedules.insert(
            file,
            Schedule {
                name,
                description: format!("cron job `{}` of {} ({})", job.name, owner.service, job.origin),
                schedule_expression: expression,
                schedule_expression_timezone: timezone.clone(),
                flexible_time_window: FlexibleTimeWindow { mode: "OFF".into() },
                state: "ENABLED".into(),
                target: ScheduleTarget {
                    arn: settings.cluster_arn(),
                    role_arn: scheduler_role.clone(),
                    ecs_parameters: EcsParameters {
                        task_definition_arn: settings.task_definition_arn(service),
                        task_count: 1,
                        launch_type: "FARGATE".into(),
                        platform_version: "LATEST".into(),
                        network_configuration: network.clone().map(|n| SchedulerNetworkConfiguration {
                            awsvpc_configuration: SchedulerAwsvpcConfiguration {
                                subnets: n.subnets,
                                security_groups: n.security_groups,
                                assign_public_ip: n.assign_public_ip,
                            },
                        }),
                    },
                    input,
                },
            },
        );
    }

    let files = ServiceFiles {
        service: service.to_string(),
        task_definition,
        execution_policy,
        service_definition,
        appspec,
        autoscaling,
        schedules,
    };
    (files, findings)
}

/// The execution role's policy: read exactly the task's parameters, decrypt them
/// with the custom key when there is one, pull the image from its ECR repository
/// and write to the task's log group. Nothing wider.
fn execution_policy(
    settings: &Settings,
    secrets: &[Secret],
    has_secure: bool,
    containers: &[(String, String)],
) -> PolicyDocument {
    let mut statement = Vec::new();
    let allow = |sid: &str, action: &[&str], resource: Vec<String>| Statement {
        sid: sid.into(),
        effect: "Allow".into(),
        action: action.iter().map(|a| a.to_string()).collect(),
        resource,
        condition: None,
    };
    let parameters: BTreeSet<String> = secrets.iter().map(|s| s.value_from.clone()).collect();
    if !parameters.is_empty() {
        statement.push(allow("ReadTaskParameters", &["ssm:GetParameters"], parameters.into_iter().collect()));
        if has_secure && let Some(key) = settings.kms_key_arn() {
            let mut decrypt = allow("DecryptTaskParameters", &["kms:Decrypt"], vec![key]);
            let mut via = BTreeMap::new();
            via.insert("kms:ViaService".to_string(), format!("ssm.{}.amazonaws.com", settings.region));
            decrypt.condition = Some(BTreeMap::from([("StringEquals".to_string(), via)]));
            statement.push(decrypt);
        }
    }
    let ecr_host = format!("{}.dkr.ecr.{}.amazonaws.com/", settings.account, settings.region);
    let repositories: BTreeSet<String> = containers
        .iter()
        .filter_map(|(image, _)| image.strip_prefix(&ecr_host))
        .map(|path| {
            let repository = path.split(['@', ':']).next().unwrap_or(path);
            format!("arn:{}:ecr:{}:{}:repository/{repository}", settings.partition, settings.region, settings.account)
        })
        .collect();
    if !repositories.is_empty() {
        statement.push(allow(
            "PullTaskImage",
            &["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            repositories.into_iter().collect(),
        ));
        // GetAuthorizationToken has no resource-level permissions: `*` is the only form.
        statement.push(allow("AuthenticateToEcr", &["ecr:GetAuthorizationToken"], vec!["*".into()]));
    }
    let logs: BTreeSet<String> = containers
        .iter()
        .map(|(_, group)| {
            format!("arn:{}:logs:{}:{}:log-group:{group}:*", settings.partition, settings.region, settings.account)
        })
        .collect();
    statement.push(allow("WriteTaskLogs", &["logs:CreateLogStream", "logs:PutLogEvents"], logs.into_iter().collect()));
    PolicyDocument { version: "2012-10-17".into(), statement }
}

/// Absolute files a shell command line redirects output to (`>> /var/log/x.log`,
/// `2>/tmp/err`), except `/dev/*`.
fn redirect_targets(command: &[String]) -> Vec<String> {
    static REDIRECT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?:^|[\s;&|])[12&]?>>?\s*(/[^\s;&|<>]+)").unwrap_or_else(|_| unreachable!("literal regex"))
    });
    let mut out: Vec<String> = command
        .iter()
        .flat_map(|part| REDIRECT.captures_iter(part).map(|c| c[1].to_string()).collect::<Vec<_>>())
        .filter(|t| !t.starts_with("/dev/"))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `/var/cache/nginx/` → `/var/cache/nginx`.
fn normalise_path(path: &str) -> String {
    let trimmed = path.trim().trim_end_matches('/');
    if trimmed.is_empty() { "/".into() } else { trimmed.to_string() }
}

/// Drops paths inside another path of the set (one volume covers them).
fn outermost(paths: BTreeSet<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in paths {
        if !out.iter().any(|o| p.starts_with(&format!("{o}/"))) && p.starts_with('/') && p != "/" {
            out.push(p);
        }
    }
    out
}

/// A volume name from a path: `/var/cache/nginx` → `var-cache-nginx`.
fn volume_name(path: &str) -> String {
    let mut name: String =
        path.trim_matches('/').chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' }).collect();
    name.truncate(200);
    if name.is_empty() { "root".into() } else { name }
}

/// A job's file name under `schedules/` (`nightly-report.json` without the extension).
pub fn job_file_name(job: &str) -> String {
    let name: String =
        job.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    if name.is_empty() { "job".into() } else { name }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::EcsServiceConfig;
    use crate::model::Origin;
    use crate::spec::image::*;

    fn origin(line: u32) -> Origin {
        Origin::new("roles/app/tasks/main.yml".into(), line)
    }

    /// A small image with parameters, a start file, two cron jobs (one `@reboot`).
    pub(crate) fn image(kind: ServiceKind) -> ImageSpec {
        let var = |name: &str, value: EnvValue| EnvVar { name: name.into(), value, origin: origin(1), source: None };
        ImageSpec {
            service: "api".into(),
            catalog: None,
            kind,
            base: BaseImage {
                reference: "debian:bookworm-slim".into(),
                family: PackageFamily::Apt,
                reason: "test".into(),
                origin: None,
            },
            steps: vec![],
            context: vec![],
            start_files: vec![StartFile {
                dest: "/etc/app/app.env".into(),
                template: "X=${DB_PASSWORD}\n".into(),
                owner: None,
                mode: None,
                origin: origin(2),
                reason: "secret".into(),
            }],
            process: Process {
                command: vec!["/usr/bin/app".into()],
                user: "app".into(),
                workdir: None,
                stop_signal: None,
                stop_timeout: Some(300),
            },
            ports: if kind == ServiceKind::Worker {
                vec![]
            } else {
                vec![Port { port: 8000, protocol: Protocol::Tcp }]
            },
            healthcheck: None,
            env: vec![
                var(
                    "DB_PASSWORD",
                    EnvValue::Parameter { parameter: "/shop/prod/api/DB_PASSWORD".into(), secret: true },
                ),
                var("LOG_LEVEL", EnvValue::Parameter { parameter: "/shop/prod/api/LOG_LEVEL".into(), secret: false }),
                var("PORT", EnvValue::Literal { value: "8000".into() }),
            ],
            log_links: vec![],
            writable_paths: vec!["/var/cache/app/".into(), "/var/cache/app/sub".into()],
            jobs: vec![
                JobSpec {
                    name: "nightly report".into(),
                    schedule: CronSchedule {
                        minute: "30".into(),
                        hour: "2".into(),
                        day: "*".into(),
                        month: "*".into(),
                        weekday: "1-5".into(),
                        special_time: None,
                    },
                    command: vec!["/usr/bin/report".into()],
                    user: Some("reporter".into()),
                    origin: origin(9),
                },
                JobSpec {
                    name: "warm".into(),
                    schedule: CronSchedule {
                        minute: "*".into(),
                        hour: "*".into(),
                        day: "*".into(),
                        month: "*".into(),
                        weekday: "*".into(),
                        special_time: Some("reboot".into()),
                    },
                    command: vec!["/usr/bin/warm".into()],
                    user: None,
                    origin: origin(12),
                },
            ],
            report: MigrationReport::default(),
            start_checks: Vec::new(),
        }
    }

    pub(crate) fn configured() -> EcsConfig {
        let mut c = EcsConfig {
            account_id: Some("111122223333".into()),
            region: Some("eu-west-1".into()),
            kms_key_id: Some("1234abcd".into()),
            ..EcsConfig::default()
        };
        c.network.subnets = vec!["subnet-b".into(), "subnet-a".into()];
        c.network.security_groups = vec!["sg-1".into()];
        c
    }

    #[test]
    fn a_non_root_server_below_1024_keeps_only_net_bind_service() {
        use crate::spec::image::{Port, Protocol};
        let low = [Port { port: 80, protocol: Protocol::Tcp }];
        let high = [Port { port: 8080, protocol: Protocol::Tcp }];
        let kept = capabilities_to_drop("33:33", &low);
        assert!(!kept.iter().any(|c| c == "ALL" || c == "NET_BIND_SERVICE"), "{kept:?}");
        assert_eq!(kept.len(), DEFAULT_CAPABILITIES_BUT_NET_BIND.len());
        assert_eq!(capabilities_to_drop("33:33", &high), ["ALL"]);
        assert_eq!(capabilities_to_drop("0", &low), ["ALL"], "root needs no capability for it");
    }

    #[test]
    fn parameter_arns_have_no_double_slash() {
        let (s, _) = Settings::resolve("shop", Some("prod"), &configured());
        assert_eq!(s.parameter_arn("/shop/prod/X"), "arn:aws:ssm:eu-west-1:111122223333:parameter/shop/prod/X");
        assert_eq!(s.parameter_arn("plain"), "arn:aws:ssm:eu-west-1:111122223333:parameter/plain");
        let mut cn = configured();
        cn.region = Some("cn-north-1".into());
        assert!(Settings::resolve("shop", None, &cn).0.parameter_arn("/a").starts_with("arn:aws-cn:ssm:cn-north-1:"));
    }

    #[test]
    fn missing_account_region_and_network_are_warnings_with_placeholders() {
        let (s, findings) = Settings::resolve("shop", Some("prod"), &EcsConfig::default());
        assert_eq!((s.account.as_str(), s.region.as_str()), (PLACEHOLDER_ACCOUNT, DEFAULT_REGION));
        let m940 = findings.iter().filter(|f| f.code.id == "M940" && f.severity == Severity::Warning).count();
        assert_eq!(m940, 3, "{findings:?}");
        let (_, findings) = Settings::resolve("shop", Some("prod"), &configured());
        assert!(findings.is_empty(), "{findings:?}");
        let mut bad = configured();
        bad.account_id = Some("12345".into());
        bad.kms_key_id = Some("alias/x".into());
        bad.codedeploy_hooks.insert("BeforeStart".into(), "f".into());
        bad.autoscaling.min = Some(5);
        bad.autoscaling.max = Some(2);
        bad.autoscaling.scheduled.push(crate::config::EcsScheduledAction {
            name: "x".into(),
            schedule: "0 7 * * *".into(),
            min: None,
            max: None,
        });
        let (_, findings) = Settings::resolve("shop", Some("prod"), &bad);
        assert_eq!(findings.iter().filter(|f| f.code.id == "M941").count(), 6, "{findings:?}");
    }

    #[test]
    fn task_definition_from_an_image() {
        let (settings, _) = Settings::resolve("shop", Some("prod"), &configured());
        let (files, findings) = build(&image(ServiceKind::App), "1500:1500", &[], &settings);
        let td = &files.task_definition;
        assert_eq!(td.family, "shop-prod-api");
        assert_eq!((td.cpu.as_str(), td.memory.as_str()), ("512", "1024"));
        let c = &td.container_definitions[0];
        assert_eq!(c.image, "111122223333.dkr.ecr.eu-west-1.amazonaws.com/shop/api:prod");
        assert_eq!(c.user, "1500:1500");
        assert!(c.readonly_root_filesystem);
        assert_eq!(c.stop_timeout, MAX_STOP_TIMEOUT);
        assert!(findings.iter().any(|f| f.code.id == "M941" && f.message.contains("300 s")));
        assert_eq!(c.environment, vec![KeyValue { name: "PORT".into(), value: "8000".into() }]);
        let names: Vec<&str> = c.secrets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["DB_PASSWORD", "LOG_LEVEL"]);
        // Writable: the spec's path (once, its child folded in), the start file's folder, /tmp.
        let paths: Vec<&str> = c.mount_points.iter().map(|m| m.container_path.as_str()).collect();
        assert_eq!(paths, ["/etc/app", "/tmp", "/var/cache/app"]);
        assert_eq!(td.volumes.len(), 3);
        assert_eq!(c.log_configuration.options["mode"], "non-blocking");
        assert_eq!(c.log_configuration.options["awslogs-group"], "/ecs/shop/prod/api");
        // The policy covers exactly the secrets, the key (a SecureString is used) and the log group.
        let p = &files.execution_policy;
        let ssm: Vec<&str> = c.secrets.iter().map(|s| s.value_from.as_str()).collect();
        assert_eq!(p.statement[0].action, ["ssm:GetParameters"]);
        assert_eq!(p.statement[0].resource, ssm);
        assert_eq!(p.statement[1].resource, ["arn:aws:kms:eu-west-1:111122223333:key/1234abcd"]);
        assert!(
            p.statement
                .iter()
                .any(|s| s.resource == ["arn:aws:logs:eu-west-1:111122223333:log-group:/ecs/shop/prod/api:*"])
        );
        // Behind a load balancer: CodeDeploy blue/green.
        let svc = files.service_definition.as_ref().unwrap();
        assert_eq!(svc.deployment_controller.kind, "CODE_DEPLOY");
        assert_eq!(files.appspec.as_ref().unwrap().container_port, 8000);
        assert!(findings.iter().any(|f| f.message.contains("target_group_arn")));
        // The reboot job has no schedule, the other one does.
        assert_eq!(files.schedules.len(), 1);
        let s = &files.schedules["nightly-report"];
        assert_eq!(s.schedule_expression, "cron(30 2 ? * MON-FRI *)");
        assert_eq!(s.target.input, r#"{"containerOverrides":[{"name":"api","command":["/usr/bin/report"]}]}"#);
        let subnets = &s.target.ecs_parameters.network_configuration.as_ref().unwrap().awsvpc_configuration.subnets;
        assert_eq!(subnets, &["subnet-a", "subnet-b"]);
        assert!(findings.iter().any(|f| f.code.id == "M930" && f.line == 12));
        // The job ran as `reporter`; the task cannot.
        assert!(findings.iter().any(|f| f.code.id == "M932" && f.line == 9 && f.message.contains("reporter")));
    }

    #[test]
    fn kinds_decide_size_deployment_and_scaling() {
        let mut config = configured();
        config.kms_key_id = None;
        config
            .services
            .insert("api".into(), EcsServiceConfig { cpu: Some(1024), memory: Some(4096), ..Default::default() });
        let (settings, _) = Settings::resolve("shop", Some("prod"), &config);
        let (worker, _) = build(&image(ServiceKind::Worker), "1500", &[], &settings);
        assert_eq!((worker.task_definition.cpu.as_str(), worker.task_definition.memory.as_str()), ("1024", "4096"));
        assert_eq!(worker.service_definition.as_ref().unwrap().deployment_controller.kind, "ECS");
        assert!(worker.appspec.is_none());
        assert!(worker.autoscaling.is_some());
        // No custom key: no kms statement.
        assert!(worker.execution_policy.statement.iter().all(|s| s.action != ["kms:Decrypt"]));
        let (jobs, _) = build(&image(ServiceKind::Jobs), "1500", &[], &settings);
        assert!(jobs.service_definition.is_none() && jobs.appspec.is_none() && jobs.autoscaling.is_none());
        assert_eq!(default_size(ServiceKind::Web), (256, 512));
    }

    #[test]
    fn job_redirects_are_found() {
        let cmd = |s: &str| vec!["/bin/sh".to_string(), "-c".into(), s.into()];
        assert_eq!(redirect_targets(&cmd("/opt/r.py >> /var/log/w/r.log 2>&1")), ["/var/log/w/r.log"]);
        assert_eq!(redirect_targets(&cmd("a > /dev/null; b 2>/tmp/e&& c")), ["/tmp/e"]);
        assert!(redirect_targets(&cmd("echo 'a>b' x>y")).is_empty());
        assert!(redirect_targets(&["/usr/bin/report".to_string()]).is_empty());
    }

    #[test]
    fn job_files_never_collide() {
        let (settings, _) = Settings::resolve("shop", Some("prod"), &configured());
        let mut spec = image(ServiceKind::Jobs);
        let mut twin = spec.jobs[0].clone();
        twin.name = "nightly/report".into();
        spec.jobs.push(twin);
        let (files, _) = build(&spec, "1500", &[], &settings);
        let names: Vec<&str> = files.schedules.keys().map(String::as_str).collect();
        assert_eq!(names, ["nightly-report", "nightly-report-2"]);
    }
}
