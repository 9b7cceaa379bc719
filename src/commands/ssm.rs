//! `migrate ssm push` and `migrate ssm pull`: wiring only.
//!
//! Push: desired values (a dotenv file, or a repository's discovered values) →
//! `spec::parameter` (naming, SSM's rules) → `ssm::push` (plan, apply) → report.
//! Pull: `ssm::read` → `ssm::pull` (dotenv) → stdout or a 0600 file.
//! The tokio runtime is built here, at the edge; nothing else in the crate is async
//! except `ssm`. Secrets are never printed: only names, actions and masked values.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};

use super::ExitStatus;
use crate::apply::{ParameterOutcome, ParameterWriter};
use crate::cli::{AwsArgs, ParameterWriteArgs, SsmArgs, SsmCommand, SsmPullArgs, SsmPushArgs, SsmTargetArgs};
use crate::config::SecretOverride;
use crate::model::Origin;
use crate::plan::{Action as PlanAction, ParameterChange};
use crate::plan::{CurrentParameter as LiveParameter, Desired};
use crate::rules::secrets::{Classifier, Provenance, SecretRules};
use crate::sensitive::Sensitive;
use crate::spec::parameter::TOOL_TAG_PREFIX;
use crate::spec::parameter::{DesiredValue, NameContext, ParameterValue, build_specs, check_kms_key_id};
use crate::ssm::aws::{self, AwsOptions, AwsStore};
use crate::ssm::push::VERSION_TAG;
use crate::ssm::push::{Action as PushAction, Engine, Outcome, Plan as PushPlan, PlanItem, PushOptions};
use crate::ssm::retry::retry;
use crate::ssm::retry::{RetryPolicy, RetryStats};
use crate::ssm::store::ParameterStore as _;
use crate::ssm::store::{CurrentParameter as StoreParameter, ParameterType};
use crate::ssm::{dotenv, progress, pull, read, report};

/// Env files bigger than this are refused (SSM values are at most 8 KB each).
const MAX_ENV_FILE_BYTES: u64 = 16 * 1024 * 1024;

pub fn run(args: &SsmArgs) -> anyhow::Result<ExitStatus> {
    match &args.command {
        SsmCommand::Push(a) => push(a),
        SsmCommand::Pull(a) => pull(a),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn retry_policy(aws: &AwsArgs) -> RetryPolicy {
    RetryPolicy {
        max_attempts: aws.max_attempts,
        base_delay: Duration::from_millis(aws.retry_base_ms),
        max_delay: Duration::from_millis(aws.retry_max_ms.max(aws.retry_base_ms)),
    }
}

fn aws_options(aws: &AwsArgs) -> AwsOptions {
    AwsOptions {
        profile: aws.profile.clone(),
        region: aws.region.clone(),
        endpoint_url: aws.endpoint_url.clone(),
        attempt_timeout: Duration::from_millis(aws.attempt_timeout_ms.max(1)),
        ..AwsOptions::default()
    }
}

async fn connect(aws: &AwsArgs) -> anyhow::Result<AwsStore> {
    aws::connect(&aws_options(aws)).await.map_err(|e| anyhow!(e))
}

fn prefix(target: &SsmTargetArgs, default_app: Option<String>) -> anyhow::Result<String> {
    let ctx = NameContext {
        app: target.app.clone().or(default_app),
        env: target.env.clone(),
        service: target.service.clone(),
    };
    target.name_template.prefix(&ctx).map_err(|e| anyhow!(e))
}

/// The values of a dotenv file, each with its origin (file:line), classified as
/// secret or plain by `rules/secrets.yaml` (dotenv values are used verbatim:
/// no Jinja) with the per-key overrides of `migrate.yaml` when one is given.
fn env_file_values(path: &Path, overrides: &BTreeMap<String, SecretOverride>) -> anyhow::Result<Vec<DesiredValue>> {
    let rules = SecretRules::builtin().map_err(|e| anyhow!(e))?;
    let classifier = Classifier::new(rules, overrides);
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read `{shown}`"))?;
    if meta.len() > MAX_ENV_FILE_BYTES {
        bail!("`{shown}` is {} bytes; env files over {MAX_ENV_FILE_BYTES} bytes are refused", meta.len());
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read `{shown}`"))?;
    let Ok(text) = String::from_utf8(bytes) else {
        bail!("`{shown}` is not UTF-8 text");
    };
    let parsed = dotenv::parse(&shown, &text)?;
    for w in &parsed.warnings {
        eprintln!("warning: {w}");
    }
    let origin_path: Arc<str> = shown.into();
    Ok(parsed
        .entries
        .into_iter()
        .map(|e| DesiredValue {
            value: if classifier.classify(&e.key, &e.value, Provenance::Verbatim).secret {
                ParameterValue::secret(e.value)
            } else {
                ParameterValue::Plain(e.value)
            },
            key: e.key,
            description: None,
            origin: Some(Origin::new(origin_path.clone(), e.line)),
        })
        .collect())
}

/// The values a repository's services read, grouped by service prefix (`/{app}/{env}/{service}/`).
/// The names come from the converter (`rules::env`), so they are the ones the task definitions
/// reference; `--app` and `--name-template` cannot change them (migrate.yaml `app.name` does).
fn repo_values(args: &SsmPushArgs, repo: &Path) -> anyhow::Result<Vec<(String, Vec<DesiredValue>)>> {
    let target = &args.target;
    if target.app.is_some() || target.name_template.to_string() != crate::spec::parameter::DEFAULT_NAME_TEMPLATE {
        bail!(
            "with a REPO, parameter names are the ones the generated task definitions read: set `app.name` in \
             migrate.yaml instead of --app / --name-template"
        );
    }
    let vault = args.vault.load()?;
    let desired = super::desired::desired_state(repo, Some(&target.env), &vault)?;
    for f in &desired.findings {
        if f.code.id == crate::diagnostics::codes::PARAMETER_VALUE_UNKNOWN.id
            || f.severity == crate::diagnostics::Severity::Error
        {
            eprintln!("{f}");
        }
    }
    let mut groups: BTreeMap<String, Vec<DesiredValue>> = BTreeMap::new();
    for p in desired.parameters {
        let Some(cut) = p.name.rfind('/') else { continue };
        let (prefix, key) = (p.name[..=cut].to_string(), p.name[cut + 1..].to_string());
        let service = prefix.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
        if target.service.as_deref().is_some_and(|s| s != service) {
            continue;
        }
        let value = p.value.expose().clone();
        let value = if p.secure { ParameterValue::secret(value) } else { ParameterValue::Plain(value) };
        groups.entry(prefix).or_default().push(DesiredValue { key, value, description: None, origin: p.origin });
    }
    if groups.is_empty() {
        let whose = target.service.as_ref().map(|s| format!("the service `{s}`")).unwrap_or("any service".into());
        bail!(
            "nothing to push: no value for {whose} of `{}` is known for the environment `{}`",
            repo.display(),
            target.env
        );
    }
    Ok(groups.into_iter().collect())
}

/// Live parameters under the prefix of every service `desired` has parameters for, decrypted,
/// for `plan --ssm`. `managed`: the parameter carries migrate's version tag.
pub(super) fn live_parameters(aws: &AwsArgs, desired: &Desired) -> anyhow::Result<Vec<LiveParameter>> {
    let prefixes: BTreeSet<String> =
        desired.parameters.iter().filter_map(|p| p.name.rfind('/').map(|cut| p.name[..=cut].to_string())).collect();
    let policy = retry_policy(aws);
    runtime()?.block_on(async {
        let store = connect(aws).await?;
        let stats = RetryStats::default();
        let tag_key = format!("{TOOL_TAG_PREFIX}{VERSION_TAG}");
        let mut out = Vec::new();
        for prefix in &prefixes {
            let params = read::read_prefix(&store, prefix, true, &policy, &stats)
                .await
                .map_err(|g| anyhow!("cannot read {prefix}: {g}"))?;
            for p in params {
                let tags = retry(&policy, &stats, None, || store.list_tags(&p.name))
                    .await
                    .map_err(|g| anyhow!("cannot read the tags of {}: {g}", p.name))?;
                out.push(LiveParameter {
                    secure: p.value.is_secret(),
                    value: Sensitive::new(p.value.expose().to_string()),
                    version: p.version,
                    managed: tags.iter().any(|t| t.key == tag_key),
                    name: p.name,
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    })
}

/// `migrate apply --ssm`: carries out the plan's parameter changes through the push engine
/// (rate limit, retries, every update checked against the version the plan saw), so a value
/// changed outside migrate since the plan is left alone and reported, never overwritten.
pub(super) struct PlanParameterWriter<'a> {
    aws: &'a AwsArgs,
    write: &'a ParameterWriteArgs,
    writes_per_second: f64,
}

impl<'a> PlanParameterWriter<'a> {
    pub(super) fn new(
        aws: &'a AwsArgs,
        write: &'a ParameterWriteArgs,
        writes_per_second: f64,
    ) -> PlanParameterWriter<'a> {
        PlanParameterWriter { aws, write, writes_per_second }
    }
}

/// Refuses a malformed `--kms-key-id` before anything is read or written.
pub(super) fn check_write_args(write: &ParameterWriteArgs) -> anyhow::Result<()> {
    if let Some(k) = &write.kms_key_id {
        check_kms_key_id(k).map_err(|e| anyhow!(e))?;
    }
    Ok(())
}

impl ParameterWriter for PlanParameterWriter<'_> {
    fn write(&mut self, changes: &[&ParameterChange]) -> anyhow::Result<ParameterOutcome> {
        let opts = PushOptions {
            writes_per_second: self.writes_per_second,
            retry: retry_policy(self.aws),
            kms_key_id: self.write.kms_key_id.clone(),
            tags: self.write.tags.clone(),
            ..PushOptions::default()
        };
        runtime()?.block_on(async {
            let store = connect(self.aws).await?;
            let region = store.region().to_string();
            let mut outcome = ParameterOutcome::default();
            let mut items = Vec::new();
            for change in changes {
                let current = match (&change.before, change.before_version) {
                    (Some(before), Some(version)) => {
                        let kind = if before.secure { ParameterType::SecureString } else { ParameterType::String };
                        Some(StoreParameter::new(change.name.clone(), kind, before.value.expose().clone(), version))
                    }
                    _ => None,
                };
                let (action, desired) = match (&change.action, &change.after) {
                    (PlanAction::Create | PlanAction::Update, Some(after)) => {
                        let Some(cut) = change.name.rfind('/') else {
                            outcome.failed.push((change.name.clone(), "not a hierarchical name".into()));
                            continue;
                        };
                        let value = after.value.expose().clone();
                        let value =
                            if after.secure { ParameterValue::secret(value) } else { ParameterValue::Plain(value) };
                        let key = change.name[cut + 1..].to_string();
                        let desired = DesiredValue { key, value, description: None, origin: change.origin.clone() };
                        let set = build_specs(vec![desired], &change.name[..=cut], self.write.tier, Some(&region));
                        for w in &set.warnings {
                            eprintln!("warning: {w}");
                        }
                        if let Some(e) = set.errors.first() {
                            outcome.failed.push((change.name.clone(), e.message.clone()));
                            continue;
                        }
                        let action =
                            if change.action == PlanAction::Create { PushAction::Create } else { PushAction::Update };
                        (action, set.specs.into_iter().next())
                    }
                    (PlanAction::Delete, _) => (PushAction::Delete, None),
                    _ => continue,
                };
                items.push(PlanItem { name: change.name.clone(), action, desired, current, tier: None, note: None });
            }
            let engine = Engine::new(store, opts);
            let progress = progress::for_stderr();
            let report = engine.apply(PushPlan { prefix: String::new(), items }, progress.as_ref()).await;
            for entry in report.entries {
                match (entry.outcome, entry.action) {
                    (Outcome::Ok, PushAction::Create) => outcome.added += 1,
                    (Outcome::Ok, PushAction::Update) => outcome.changed += 1,
                    (Outcome::Ok, PushAction::Delete) => outcome.destroyed += 1,
                    (Outcome::Ok, _) => {}
                    (Outcome::Skipped(why) | Outcome::Failed(why), _) => outcome.failed.push((entry.name, why)),
                }
            }
            outcome.failed.sort();
            Ok(outcome)
        })
    }
}

fn push(args: &SsmPushArgs) -> anyhow::Result<ExitStatus> {
    check_write_args(&args.write)?;
    if !(args.writes_per_second.is_finite() && args.writes_per_second >= 0.0) {
        bail!("--writes-per-second must be a number >= 0 (0: no limit)");
    }
    let groups = match (&args.repo, &args.from_env_file) {
        (Some(_), Some(_)) => bail!("give either a REPO or --from-env-file FILE, not both"),
        (None, Some(file)) => vec![(prefix(&args.target, None)?, env_file_values(file, &BTreeMap::new())?)],
        (Some(repo), None) => repo_values(args, repo)?,
        (None, None) => bail!("nothing to push: give a REPO or --from-env-file FILE"),
    };
    if args.prune && groups.iter().all(|(_, values)| values.is_empty()) {
        bail!("refusing --prune with no values to push: it would delete everything under the prefix");
    }
    let opts = PushOptions {
        overwrite: args.overwrite && !args.no_overwrite,
        prune: args.prune,
        kms_key_id: args.write.kms_key_id.clone(),
        tags: args.write.tags.clone(),
        concurrency: usize::from(args.concurrency),
        writes_per_second: args.writes_per_second,
        retry: retry_policy(&args.aws),
    };
    runtime()?.block_on(async {
        let mut status = ExitStatus::Success;
        for (prefix, values) in groups {
            if push_async(args, values, prefix, opts.clone()).await? != ExitStatus::Success {
                status = ExitStatus::Failure;
            }
        }
        Ok(status)
    })
}

async fn push_async(
    args: &SsmPushArgs,
    values: Vec<DesiredValue>,
    prefix: String,
    opts: PushOptions,
) -> anyhow::Result<ExitStatus> {
    let store = connect(&args.aws).await?;
    let set = build_specs(values, &prefix, args.write.tier, Some(store.region()));
    for w in &set.warnings {
        eprintln!("warning: {w}");
    }
    if !set.errors.is_empty() {
        for e in &set.errors {
            eprintln!("error: {e}");
        }
        bail!("{} invalid parameter(s); nothing was written", set.errors.len());
    }
    eprintln!("{} parameter(s) for {prefix} in {}", set.specs.len(), store.region());
    let engine = Engine::new(store, opts);
    let plan = engine.plan(&prefix, set.specs).await.map_err(|g| anyhow!("cannot read {prefix}: {g}"))?;
    let mut out = std::io::stdout().lock();
    if args.dry_run {
        write!(out, "{}", report::render_plan(&plan))?;
        writeln!(out, "Dry run: nothing was written.")?;
        return Ok(ExitStatus::Success);
    }
    let progress = progress::for_stderr();
    let report = engine.apply(plan, progress.as_ref()).await;
    write!(out, "{}", report::render_report(&report))?;
    out.flush()?;
    if report.retries > 0 || report.reconciled > 0 {
        eprintln!("{} call(s) retried, {} write(s) checked before resending", report.retries, report.reconciled);
    }
    let conflicts: Vec<&str> = report.conflicts().map(|e| e.name.as_str()).collect();
    if !conflicts.is_empty() {
        eprintln!(
            "error: {} parameter(s) changed outside migrate were left alone (--overwrite replaces them): {}",
            conflicts.len(),
            conflicts.join(", ")
        );
    }
    let failed: Vec<&str> = report.failed().map(|e| e.name.as_str()).collect();
    if !failed.is_empty() {
        eprintln!(
            "error: {} parameter(s) failed (re-run to finish; finished ones are not written again): {}",
            failed.len(),
            failed.join(", ")
        );
    }
    Ok(if failed.is_empty() && conflicts.is_empty() { ExitStatus::Success } else { ExitStatus::Failure })
}

fn pull(args: &SsmPullArgs) -> anyhow::Result<ExitStatus> {
    let prefix = prefix(&args.target, None)?;
    let policy = retry_policy(&args.aws);
    let params = runtime()?.block_on(async {
        let store = connect(&args.aws).await?;
        let stats = RetryStats::default();
        read::read_prefix(&store, &prefix, args.with_decryption, &policy, &stats)
            .await
            .map_err(|g| anyhow!("cannot read {prefix}: {g}"))
    })?;
    let (text, counts) = pull::render_env(&prefix, &params, args.with_decryption);
    match &args.output {
        Some(path) => write_private(path, &text)?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    eprintln!(
        "{} value(s) from {prefix}: {} plain, {} secret, {} secret(s) left out (masked)",
        counts.plain + counts.secrets,
        counts.plain,
        counts.secrets,
        counts.masked
    );
    Ok(ExitStatus::Success)
}

/// Writes `text` to `path` atomically, readable by the owner only (it may hold secrets).
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let shown = path.display();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write `{shown}`"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.as_file().set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(text.as_bytes()).with_context(|| format!("cannot write `{shown}`"))?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| anyhow!("cannot write `{shown}`: {}", e.error))?;
    Ok(())
}
