//! Command-line arguments (clap). Parsing only: `commands` resolves and runs them.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "migrate",
    version,
    about = "Move workloads from Packer + Ansible VM images to one-process containers"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what a repository holds: playbooks, roles, tasks, inventories, Packer templates, findings.
    Scan(ScanArgs),
    /// Show what `apply` would write, change and remove, terraform-style; change nothing.
    Plan(PlanArgs),
    /// Write the generated files (and parameters) exactly as planned.
    Apply(ApplyArgs),
    /// Push environment values and secrets to SSM Parameter Store, or pull them back as a dotenv file.
    Ssm(Box<SsmArgs>),
    /// List the conversion rules or explain one (`migrate rules explain M101`).
    Rules(RulesArgs),
    /// Check ECS task definition JSON files against Fargate's rules and NIST SP 800-190.
    CheckTaskdef(CheckTaskdefArgs),
}

#[derive(Debug, clap::Args)]
pub struct CheckTaskdefArgs {
    /// Task definition files (the RegisterTaskDefinition input, or DescribeTaskDefinition output).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    /// A directory of rule files replacing the built-in ones (a copy of `rules/`).
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Print every rule: code, name, summary.
    List,
    /// Print a rule's documentation.
    Explain {
        /// The rule code (`M101`) or name (`apt-install`).
        code: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// The repository to read.
    pub repo: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct SsmArgs {
    #[command(subcommand)]
    pub command: SsmCommand,
}

#[derive(Debug, Subcommand)]
pub enum SsmCommand {
    /// Write the desired values under /{app}/{env}/{service}/: only what differs, never a secret on screen.
    Push(SsmPushArgs),
    /// Export the values under /{app}/{env}/{service}/ as a dotenv file (secrets masked unless asked).
    Pull(SsmPullArgs),
}

/// Which parameters: the name template and what fills it.
#[derive(Debug, clap::Args)]
pub struct SsmTargetArgs {
    /// Environment name (fills `{env}`).
    #[arg(long)]
    pub env: String,
    /// Application name (fills `{app}`; default: the repository's directory name, or no level).
    #[arg(long)]
    pub app: Option<String>,
    /// Service name (fills `{service}`; without it that level is left out).
    #[arg(long)]
    pub service: Option<String>,
    /// Parameter name template; its last level must be `{NAME}`.
    #[arg(long, env = "MIGRATE_SSM_NAME_TEMPLATE", default_value = crate::spec::parameter::DEFAULT_NAME_TEMPLATE)]
    pub name_template: crate::spec::parameter::NameTemplate,
}

/// Where and as whom to talk to AWS.
#[derive(Debug, clap::Args)]
pub struct AwsArgs {
    /// AWS profile (default: the standard credential chain).
    #[arg(long)]
    pub profile: Option<String>,
    /// AWS region (default: AWS_REGION or the profile's region).
    #[arg(long)]
    pub region: Option<String>,
    /// SSM endpoint (default: AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL, or the AWS one).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Attempts per call before giving up (throttling, 5xx, timeouts, dropped connections, TooManyUpdates).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub max_attempts: u32,
    /// First retry backoff in milliseconds (doubles per attempt, jittered). For tests.
    #[arg(long, hide = true, env = "MIGRATE_SSM_RETRY_BASE_MS", default_value_t = 500)]
    pub retry_base_ms: u64,
    /// Longest retry backoff in milliseconds. For tests.
    #[arg(long, hide = true, env = "MIGRATE_SSM_RETRY_MAX_MS", default_value_t = 20_000)]
    pub retry_max_ms: u64,
    /// Longest wait for one attempt of one call, in milliseconds. For tests.
    #[arg(long, hide = true, env = "MIGRATE_SSM_ATTEMPT_TIMEOUT_MS", default_value_t = 30_000)]
    pub attempt_timeout_ms: u64,
}

#[derive(Debug, clap::Args)]
pub struct SsmPushArgs {
    /// The repository to read values from: every service's values under `/{app}/{env}/{service}/`
    /// (only `--service`'s with that flag), named as the generated task definitions read them.
    pub repo: Option<PathBuf>,
    /// Push the values of this dotenv file.
    #[arg(long, value_name = "FILE")]
    pub from_env_file: Option<PathBuf>,
    #[command(flatten)]
    pub target: SsmTargetArgs,
    #[command(flatten)]
    pub vault: VaultArgs,
    /// Show what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also overwrite values that were changed outside migrate (and, with --prune, delete them).
    #[arg(long, overrides_with = "no_overwrite")]
    pub overwrite: bool,
    /// Leave values changed outside migrate alone and report them (the default).
    #[arg(long, overrides_with = "overwrite")]
    pub no_overwrite: bool,
    /// Delete parameters directly under the prefix that are no longer desired.
    #[arg(long)]
    pub prune: bool,
    #[command(flatten)]
    pub write: ParameterWriteArgs,
    /// Parallel writers.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Most PutParameter/DeleteParameters calls per second (0: no limit). SSM's default write quota is low.
    #[arg(long, default_value_t = 3.0)]
    pub writes_per_second: f64,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// How parameters are written, shared by `ssm push` and `apply --ssm`.
#[derive(Debug, clap::Args)]
pub struct ParameterWriteArgs {
    /// KMS key for SecureString values (key id, key ARN, alias/NAME or alias ARN).
    #[arg(long, value_name = "KEY")]
    pub kms_key_id: Option<String>,
    /// Tier for new and updated values: Standard, Advanced or Intelligent-Tiering (values over 4 KB always
    /// go to Advanced).
    #[arg(long, default_value = "Standard")]
    pub tier: crate::spec::parameter::Tier,
    /// Tag every written parameter (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<crate::spec::parameter::Tag>,
}

#[derive(Debug, clap::Args)]
pub struct SsmPullArgs {
    #[command(flatten)]
    pub target: SsmTargetArgs,
    /// Export SecureString values in clear text (otherwise they are left out, as comments).
    #[arg(long)]
    pub with_decryption: bool,
    /// Write to this file (mode 0600) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The repository to read.
    pub repo: PathBuf,
    /// The environment (inventory) to plan for.
    #[arg(long)]
    pub env: Option<String>,
    /// The output directory that holds the generated files.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Exit 0 when there are no changes, 1 on error, 2 when there are changes (as terraform).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan to FILE, for `migrate apply --plan FILE`.
    #[arg(short = 'o', long = "save", value_name = "FILE")]
    pub save: Option<PathBuf>,
    #[command(flatten)]
    pub vault: VaultArgs,
    /// Read live SSM parameters under each service's prefix and compare them (else parameters are
    /// listed as not compared).
    #[arg(long)]
    pub ssm: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Ansible Vault passwords, as `ansible-playbook` takes them (plus `ANSIBLE_VAULT_PASSWORD_FILE`
/// and `ANSIBLE_VAULT_IDENTITY_LIST` from the environment).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct VaultArgs {
    /// A file holding the vault password (or an executable that prints it). Repeatable.
    #[arg(long = "vault-password-file", value_name = "FILE")]
    pub password_files: Vec<PathBuf>,
    /// A vault id and its password source, `ID@FILE`. Repeatable.
    #[arg(long = "vault-id", value_name = "ID@FILE")]
    pub vault_ids: Vec<String>,
}

impl VaultArgs {
    /// The passwords in Ansible's order, with the environment variables of this process.
    pub fn load(&self) -> anyhow::Result<crate::source::vault::VaultPasswords> {
        Ok(crate::source::vault::VaultPasswords::load(&self.vault_ids, &self.password_files, |k| std::env::var_os(k))?)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The repository to read (optional with --plan, which records it).
    #[arg(required_unless_present = "plan")]
    pub repo: Option<PathBuf>,
    /// The environment (inventory) to apply.
    #[arg(long, conflicts_with = "plan")]
    pub env: Option<String>,
    /// The output directory that holds the generated files [default: out].
    #[arg(long, value_name = "DIR", conflicts_with = "plan")]
    pub out: Option<PathBuf>,
    /// Apply exactly this saved plan (from `migrate plan -o FILE`); refused if anything changed since.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Also overwrite files edited or added by hand where migrate generates files, and remove
    /// stale generated files edited by hand.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub vault: VaultArgs,
    /// Also compare and write the services' SSM parameters (implied by a saved plan that compared them).
    /// Only parameters migrate wrote are ever updated or deleted.
    #[arg(long)]
    pub ssm: bool,
    /// Most PutParameter/DeleteParameters calls per second (0: no limit). SSM's default write quota is low.
    #[arg(long, default_value_t = 3.0)]
    pub writes_per_second: f64,
    // With --ssm (or a saved plan that compared Parameter Store): how the parameters are written.
    #[command(flatten)]
    pub write: ParameterWriteArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}
