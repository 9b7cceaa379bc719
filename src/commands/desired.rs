//! The desired state for `plan` and `apply`: the one place where the converter pipeline
//! (source → model → base image → resolve → rules → render) is called for them. Wiring only.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};

use crate::config::Config;
use crate::diagnostics::{Finding, Severity, codes};
use crate::model::{self, resolve, target, template::Facts};
use crate::plan::{Desired, DesiredParameter};
use crate::render::{self, RenderOptions};
use crate::rules::{self, RuleSet, scope_renderer::ScopeRenderer};
use crate::source::SourceSet;
use crate::source::vault::VaultPasswords;
use crate::spec::ecs;

/// Everything the repository says should exist for `env`: generated files (under
/// `<service>/`) and the SSM parameters the services read (`rules::env`), with the findings of every stage.
pub fn desired_state(repo: &Path, env: Option<&str>, vault: &VaultPasswords) -> anyhow::Result<Desired> {
    if !repo.is_dir() {
        bail!("cannot read repository `{}`: not a directory", repo.display());
    }
    let mut timings = crate::timings::Timings::start();
    let config = Config::load(repo)?;
    let set = Arc::new(SourceSet::load(repo).with_context(|| format!("cannot read repository `{}`", repo.display()))?);
    timings.mark("load");
    let project = model::build(&set);
    timings.mark("model");
    let base = target::base_image(&project, &config);
    let facts = Facts::for_image(&base.image).map_err(anyhow::Error::msg)?;
    let mut findings: Vec<Finding> = project.findings.clone();
    if facts.is_none() {
        findings.push(Finding::new(
            codes::PLACEHOLDER_FACT,
            Severity::Warning,
            "",
            0,
            format!("no simulated facts for the base image `{}`: conditions on facts stay unknown", base.image),
        ));
    }
    let options = resolve::Options { env: env.map(str::to_string), vault: vault.clone(), facts, ..Default::default() };
    let run = resolve::resolve(&project, &set, &config, &options)?;
    findings.extend(run.findings.iter().cloned());
    timings.mark("resolve");
    let rules = RuleSet::load_embedded()?;
    let renderer = ScopeRenderer::new(&run);
    let inputs = rules::Inputs {
        project: &project,
        files: &*set,
        run: &run,
        config: &config,
        rules: &rules,
        templates: &renderer,
        base: &base,
    };
    let (conversion, rule_findings) = rules::convert(&inputs);
    findings.extend(rule_findings);
    timings.mark("rules");
    let discovery = rules::env::discover(&conversion, &run, &config);
    findings.extend(discovery.findings);
    findings.extend(rules::env::packer_environment(&project));
    let parameters = discovery
        .values
        .into_iter()
        .map(|v| DesiredParameter { name: v.parameter, secure: v.secret, value: v.value, origin: Some(v.origin) })
        .collect();
    // Nothing after the rules reads the resolved run (every task's scope) or the model.
    free_in_background((run, project));
    timings.mark("parameters");

    let repo_name = std::path::absolute(repo)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "repository".into());
    let generated_from = match env {
        Some(e) => format!("repository {repo_name}, environment {e}"),
        None => format!("repository {repo_name}"),
    };
    let repo_file = |rel: &str| set.get(rel).and_then(|f| f.bytes().ok());
    let (mut artifacts, failed) = render::render_each(&conversion, &repo_file, &RenderOptions { generated_from })?;
    for (service, e) in failed {
        let message = format!("no Dockerfile for `{service}`: {e}");
        findings.push(Finding::new(codes::IMAGE_NOT_RENDERED, Severity::Error, "", 0, message));
    }
    timings.mark("render");
    // ECS on Fargate: `<service>/ecs/` next to each Dockerfile.
    if !conversion.images.is_empty() {
        let (settings, ecs_findings) = ecs::Settings::resolve(config.app_name(), env, &config.ecs);
        findings.extend(ecs_findings);
        findings.extend(render::ecs::add_ecs_files(&conversion, &settings, &mut artifacts));
    }
    timings.mark("ecs");
    free_in_background((conversion, set));
    Ok(Desired { artifacts, parameters, findings })
}

/// Frees `value` on a thread of its own. Freeing a large run's scopes and parsed files
/// takes a tenth of a second at 1,000 roles; the rendering, diffing and printing that
/// follow need not wait for it. When no thread can be started, the value is freed here.
fn free_in_background<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new().name("free".into()).spawn(move || drop(value));
}
