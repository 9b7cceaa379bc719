//! `migrate.yaml`: the optional per-repository configuration file.
//!
//! Owns the file's schema and loading: one struct per top-level section, each
//! with `deny_unknown_fields` so a typo is an error naming the file and line,
//! never a silently ignored setting. Other stages read the sections they need
//! from [`Config`]; this module knows nothing about what they do with them.
//!
//! Adding a section: define `FooConfig` (with `#[serde(deny_unknown_fields)]`
//! and a `Default` that means "not configured"), add `#[serde(default)] pub foo:
//! FooConfig` to [`Config`], document it in `docs/configuration.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file name, at the repository root.
pub const FILE_NAME: &str = "migrate.yaml";

/// Largest `migrate.yaml` accepted (1 MiB); it is a hand-written file.
const MAX_BYTES: u64 = 1024 * 1024;

/// The whole configuration. Every section is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The application as a whole.
    #[serde(default)]
    pub app: AppConfig,
    /// How environment values are classified as secret or plain.
    #[serde(default)]
    pub secrets: SecretsConfig,
    /// The container base image of every generated image (wins over the Packer hint).
    #[serde(default)]
    pub base_image: Option<BaseImageConfig>,
    /// Per-service decisions, by catalog service name (`redis`, `postgresql`).
    #[serde(default)]
    pub services: BTreeMap<String, ServiceConfig>,
    /// `--env NAME` → the inventory of that environment, when the repository
    /// does not follow the `inventories/NAME/` convention.
    #[serde(default)]
    pub environments: BTreeMap<String, EnvironmentConfig>,
    /// ECS on Fargate: task definitions, roles, deployments, schedules, scaling.
    #[serde(default)]
    pub ecs: EcsConfig,
}

/// `ecs:`. Every field has a documented default (docs/ecs.md); `account_id` and
/// `region` fall back to a placeholder with a warning (`M940`), never silently.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EcsConfig {
    /// The 12-digit AWS account the services run in.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The AWS region (`eu-west-1`).
    #[serde(default)]
    pub region: Option<String>,
    /// The ECS cluster name (default: the app name).
    #[serde(default)]
    pub cluster: Option<String>,
    /// Execution role: an IAM role ARN or name template (`{app}`, `{env}`, `{service}`).
    #[serde(default)]
    pub execution_role: Option<String>,
    /// Task role: an IAM role ARN or name template.
    #[serde(default)]
    pub task_role: Option<String>,
    /// The role EventBridge Scheduler assumes to run scheduled tasks: ARN or name template.
    #[serde(default)]
    pub scheduler_role: Option<String>,
    /// Image URI template (`{account}`, `{region}`, `{app}`, `{env}`, `{service}`, `{tag}`).
    #[serde(default)]
    pub image: Option<String>,
    /// The `{tag}` of the image URI (default: the environment name).
    #[serde(default)]
    pub image_tag: Option<String>,
    /// CloudWatch Logs group template (default `/ecs/{app}/{env}/{service}`).
    #[serde(default)]
    pub log_group: Option<String>,
    /// awslogs `mode`: `blocking` or `non-blocking` (default `non-blocking`).
    #[serde(default)]
    pub log_mode: Option<String>,
    /// The customer-managed KMS key of the SecureString parameters (key ARN or key id).
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// `X86_64` (default) or `ARM64`.
    #[serde(default)]
    pub cpu_architecture: Option<String>,
    /// IANA time zone of the cron schedules (default `UTC`).
    #[serde(default)]
    pub schedule_timezone: Option<String>,
    /// Subnets and security groups of services and scheduled tasks.
    #[serde(default)]
    pub network: EcsNetworkConfig,
    /// CodeDeploy blue/green lifecycle hooks: hook name → Lambda function.
    #[serde(default)]
    pub codedeploy_hooks: BTreeMap<String, String>,
    /// Target-tracking autoscaling of every service with a long-running process.
    #[serde(default)]
    pub autoscaling: EcsAutoscalingConfig,
    /// Per-service settings, by generated service name.
    #[serde(default)]
    pub services: BTreeMap<String, EcsServiceConfig>,
}

/// `ecs.network:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EcsNetworkConfig {
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// `ENABLED` only for services that must have a public address (default `DISABLED`).
    #[serde(default)]
    pub assign_public_ip: Option<bool>,
}

/// `ecs.autoscaling:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EcsAutoscalingConfig {
    /// Average CPU utilisation to track, in percent (default 60).
    #[serde(default)]
    pub target_cpu: Option<u32>,
    /// Fewest tasks (default 1).
    #[serde(default)]
    pub min: Option<u32>,
    /// Most tasks (default 4).
    #[serde(default)]
    pub max: Option<u32>,
    /// Capacity changes at fixed times.
    #[serde(default)]
    pub scheduled: Vec<EcsScheduledAction>,
}

/// One entry of `ecs.autoscaling.scheduled:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EcsScheduledAction {
    pub name: String,
    /// An Application Auto Scaling schedule (`cron(0 8 ? * MON-FRI *)`).
    pub schedule: String,
    #[serde(default)]
    pub min: Option<u32>,
    #[serde(default)]
    pub max: Option<u32>,
}

/// `ecs.services.<service>:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EcsServiceConfig {
    /// Task CPU units (`256`, `512`, `1024`, ...).
    #[serde(default)]
    pub cpu: Option<u32>,
    /// Task memory in MiB.
    #[serde(default)]
    pub memory: Option<u32>,
    /// The blue target group of the load balancer (CodeDeploy shifts between two).
    #[serde(default)]
    pub target_group_arn: Option<String>,
    /// Overrides `ecs.autoscaling` min/max for this service.
    #[serde(default)]
    pub min: Option<u32>,
    #[serde(default)]
    pub max: Option<u32>,
}

/// `environments.<name>:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentConfig {
    /// The inventory file or directory, relative to the repository root.
    pub inventory: String,
}

/// `base_image:`, either the image reference alone (`base_image: debian:12-slim`)
/// or a map with `image` and `family`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BaseImageConfig {
    /// The image reference, e.g. `debian:bookworm-slim`.
    pub image: String,
    /// The package manager of the image (`apt`, `dnf`, `yum`, `microdnf`, `apk`);
    /// guessed from the image name when absent.
    #[serde(default)]
    pub family: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BaseImageFull {
    image: String,
    #[serde(default)]
    family: Option<String>,
}

impl<'de> Deserialize<'de> for BaseImageConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<BaseImageConfig, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = BaseImageConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an image reference or a mapping with `image` and `family`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<BaseImageConfig, E> {
                if v.trim().is_empty() {
                    return Err(E::custom("`base_image` must name an image"));
                }
                Ok(BaseImageConfig { image: v.to_string(), family: None })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<BaseImageConfig, A::Error> {
                let full = BaseImageFull::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                self.visit_str::<A::Error>(&full.image).map(|b| BaseImageConfig { family: full.family, ..b })
            }
        }
        d.deserialize_any(V)
    }
}

/// `services.<name>:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Build an image for a database, cache or broker instead of using the
    /// managed AWS service the catalog suggests.
    #[serde(default)]
    pub containerize: Option<bool>,
}

/// `app:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// The application name (`{app}` in SSM parameter names). After
    /// [`Config::load`] it is always set: it defaults to the name of the
    /// repository directory.
    #[serde(default)]
    pub name: Option<String>,
}

/// `secrets:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// Per-variable decisions that win over every built-in rule, by exact name.
    #[serde(default)]
    pub overrides: BTreeMap<String, SecretOverride>,
}

/// What an override forces a variable to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretOverride {
    /// Stored as SecureString, masked in every output.
    Secret,
    /// Stored as String, shown in plans.
    Plain,
}

/// Why `migrate.yaml` could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read `{}`: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("`{}` is larger than 1 MiB", path.display())]
    TooLarge { path: PathBuf },
    #[error("`{}:{line}`: {message}", path.display())]
    Invalid { path: PathBuf, line: u64, message: String },
}

impl Config {
    /// Reads `<repo>/migrate.yaml` if it exists; without it every section has
    /// its default. `app.name` defaults to the repository directory's name.
    pub fn load(repo: &Path) -> Result<Config, ConfigError> {
        let path = repo.join(FILE_NAME);
        let mut config = match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Config::default(),
            Err(e) => return Err(ConfigError::Io { path, message: e.to_string() }),
            Ok(meta) if meta.len() > MAX_BYTES => return Err(ConfigError::TooLarge { path }),
            Ok(_) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| ConfigError::Io { path: path.clone(), message: e.to_string() })?;
                Config::parse(&text, &path)?
            }
        };
        if config.app.name.is_none() {
            config.app.name = Some(repo_dir_name(repo));
        }
        Ok(config)
    }

    /// Parses the text of a `migrate.yaml`; `path` is only used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |line: u64, message: String| ConfigError::Invalid { path: path.to_path_buf(), line, message };
        // An empty file (or one with only comments) is a valid, empty configuration.
        if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
            return Ok(Config::default());
        }
        let config: Config = serde_saphyr::from_str(text).map_err(|e| {
            let line = e.location().map_or(0, |l| l.line());
            invalid(line, yaml_error_message(&e))
        })?;
        if let Some(name) = &config.app.name
            && name.trim().is_empty()
        {
            return Err(invalid(line_of(text, "name:"), "`app.name` must not be empty".into()));
        }
        Ok(config)
    }

    /// The application name (set by [`Config::load`]; empty only for a
    /// `Config` built by hand without one).
    pub fn app_name(&self) -> &str {
        self.app.name.as_deref().unwrap_or("")
    }
}

/// serde-saphyr's user-facing message without its location suffix (the line
/// is printed in front) and with control characters escaped, since parts of
/// it are quoted from the file.
pub fn yaml_error_message(e: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter;
    let message = serde_saphyr::UserMessageFormatter.format_message(e.without_snippet());
    message.chars().flat_map(|c| if c.is_control() { c.escape_debug().collect() } else { vec![c] }).collect()
}

/// The last component of the repository path, made absolute first so that
/// `migrate scan .` still gets a name.
fn repo_dir_name(repo: &Path) -> String {
    let absolute = std::path::absolute(repo).unwrap_or_else(|_| repo.to_path_buf());
    let canonical = std::fs::canonicalize(&absolute).unwrap_or(absolute);
    canonical.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "app".to_string())
}

/// 1-based line of the first line containing `needle` (0 if none), for
/// errors found after parsing.
fn line_of(text: &str, needle: &str) -> u64 {
    text.lines().position(|l| l.contains(needle)).map_or(0, |i| i as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("migrate.yaml"))
    }

    #[test]
    fn full_file() {
        let text = "# comment\napp:\n  name: shop\n\
                    secrets:\n  overrides:\n    FEATURE_TOKEN_TTL: plain\n    INTERNAL_URL: secret\n";
        let c = parse(text).unwrap();
        assert_eq!(c.app_name(), "shop");
        assert_eq!(c.secrets.overrides.get("FEATURE_TOKEN_TTL"), Some(&SecretOverride::Plain));
        assert_eq!(c.secrets.overrides.get("INTERNAL_URL"), Some(&SecretOverride::Secret));
    }

    #[test]
    fn base_image_short_and_long_forms_and_environments() {
        let c = parse("base_image: debian:12-slim\n").unwrap();
        assert_eq!(c.base_image, Some(BaseImageConfig { image: "debian:12-slim".into(), family: None }));
        let c = parse("base_image:\n  image: amazonlinux:2023\n  family: dnf\n").unwrap();
        assert_eq!(c.base_image.unwrap().family.as_deref(), Some("dnf"));
        assert!(parse("base_image:\n  image: x\n  familly: dnf\n").is_err());
        assert!(parse("base_image: \"\"\n").is_err());
        let c = parse("environments:\n  qa:\n    inventory: hosts/qa.ini\n").unwrap();
        assert_eq!(c.environments["qa"].inventory, "hosts/qa.ini");
        let err = parse("environments:\n  qa:\n    inventroy: x\n").unwrap_err();
        assert!(err.to_string().contains("migrate.yaml:3"), "{err}");
    }

    #[test]
    fn flow_style_and_empty_files() {
        let c = parse("secrets: { overrides: { FEATURE_TOKEN_TTL: plain, INTERNAL_URL: secret } }\n").unwrap();
        assert_eq!(c.secrets.overrides.len(), 2);
        assert_eq!(parse("").unwrap(), Config::default());
        assert_eq!(parse("# nothing yet\n\n").unwrap(), Config::default());
        assert_eq!(parse("secrets: {}\n").unwrap(), Config::default());
    }

    #[test]
    fn unknown_fields_name_file_and_line() {
        let err = parse("app:\n  name: shop\nsecrets:\n  overides:\n    X: plain\n").unwrap_err();
        let ConfigError::Invalid { line, message, .. } = &err else { panic!("{err:?}") };
        assert_eq!(*line, 4, "{err}");
        assert!(message.contains("overides"), "{message}");
        assert!(err.to_string().starts_with("`migrate.yaml:4`: "), "{err}");

        let err = parse("app:\n  nmae: x\n").unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { line: 2, .. }), "{err}");
        let err = parse("colour: blue\n").unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { line: 1, .. }), "{err}");
    }

    #[test]
    fn ecs_section() {
        let text = "ecs:\n  account_id: '111122223333'\n  region: eu-west-1\n  services:\n    nginx: {cpu: 256, memory: 512}\n";
        let c = parse(text).unwrap();
        assert_eq!(c.ecs.account_id.as_deref(), Some("111122223333"));
        assert_eq!(c.ecs.services["nginx"].memory, Some(512));
        let err = parse("ecs:\n  acount_id: x\n").unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { line: 2, .. }), "{err}");
        let err = parse("ecs:\n  services:\n    nginx: {cpus: 1}\n").unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { line: 3, .. }), "{err}");
    }

    #[test]
    fn converter_sections() {
        let c =
            parse("base_image: {image: 'debian:bookworm-slim'}\nservices:\n  redis: {containerize: true}\n").unwrap();
        assert_eq!(c.base_image.as_ref().map(|b| b.image.as_str()), Some("debian:bookworm-slim"));
        assert_eq!(c.services.get("redis").and_then(|s| s.containerize), Some(true));
        let err = parse("services:\n  redis: {containerise: true}\n").unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { line: 2, .. }), "{err}");
    }

    #[test]
    fn bad_override_values_are_errors() {
        let err = parse("secrets:\n  overrides:\n    A: plain\n    B: maybe\n").unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { line: 4, .. }), "{err}");
        let err = parse("app:\n  name: '  '\n").unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { line: 2, .. }), "{err}");
        let err = parse("secrets: [1, 2]\n").unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { line: 1, .. }), "{err}");
        // Duplicate keys are refused rather than silently resolved.
        assert!(parse("secrets:\n  overrides:\n    A: plain\n    A: secret\n").is_err());
        assert!(parse("app: [\n").is_err());
    }

    #[test]
    fn load_defaults_app_name_to_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("billing-service");
        std::fs::create_dir(&repo).unwrap();
        let c = Config::load(&repo).unwrap();
        assert_eq!(c.app_name(), "billing-service");
        assert!(c.secrets.overrides.is_empty());

        std::fs::write(repo.join(FILE_NAME), "secrets:\n  overrides:\n    X: secret\n").unwrap();
        let c = Config::load(&repo).unwrap();
        assert_eq!(c.app_name(), "billing-service");
        assert_eq!(c.secrets.overrides.get("X"), Some(&SecretOverride::Secret));

        std::fs::write(repo.join(FILE_NAME), "app: {name: billing}\n").unwrap();
        assert_eq!(Config::load(&repo).unwrap().app_name(), "billing");

        std::fs::write(repo.join(FILE_NAME), "app: {name: billing, extra: 1}\n").unwrap();
        let err = Config::load(&repo).unwrap_err();
        assert!(err.to_string().contains("migrate.yaml:1"), "{err}");
    }
}
