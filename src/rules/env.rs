//! Discovery of the values each service needs at start: the environment variables
//! the converted images read from SSM Parameter Store (start files, secret files),
//! with their values taken from the resolved run, classified, and named under the
//! service's parameter prefix.
//!
//! Owns the decision of which values are pushed and which are only reported:
//! - a value the run knows (plain, or decrypted with the vault password) is pushed;
//! - a value that is unknown (a vault value without a password, an undefined
//!   variable) is reported (M047) and left out: a push never writes a placeholder;
//! - task definition literals (systemd `Environment=`, supervisor `environment=`)
//!   stay in the task definition and are not pushed;
//! - `environment:` of tasks that run during the image build is build-time only
//!   (M048): reported, not pushed. A build task's environment is not what the
//!   running process sees.
//!
//! Must not print or log a value: plaintext only lives inside [`Sensitive`].
//! Parameter names come from [`crate::spec::parameter::service_parameter`], the
//! same function the rules engine wrote into the task definitions with.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value as Json;

use super::secrets::{Classifier, Provenance, SecretRules};
use crate::config::Config;
use crate::diagnostics::{Finding, Severity, codes};
use crate::model::packer::ProvisionerAction;
use crate::model::resolved::{ResolvedRun, ResolvedTask};
use crate::model::template::Output;
use crate::model::{Origin, Project};
use crate::sensitive::Sensitive;
use crate::spec::image::{Conversion, EnvSource, EnvValue, EnvVar, ImageSpec};
use crate::spec::parameter::Tier;

/// One value a service needs, ready to be stored.
#[derive(Debug, Clone)]
pub struct DiscoveredValue {
    /// The service whose prefix the parameter lives under.
    pub service: String,
    /// The environment variable name (the parameter's last level).
    pub name: String,
    /// The full SSM parameter name, as the task definition references it.
    pub parameter: String,
    pub value: Sensitive<String>,
    pub secret: bool,
    /// Where the value is defined: the variable's own line for this environment
    /// (group_vars, role defaults, play vars), else the task that uses it.
    pub origin: Origin,
    /// The variable of the scope it came from, when it came from one.
    pub variable: Option<String>,
    /// Every service that reads the same variable (sorted), this one included;
    /// one list shared by all the values of that variable (a variable every
    /// service reads would otherwise be copied once per service).
    pub services: Arc<[String]>,
}

/// What discovery found for one run.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Sorted by parameter name; unique names.
    pub values: Vec<DiscoveredValue>,
    pub findings: Vec<Finding>,
}

/// Discovers the parameter values of every image of `conversion` from `run`.
pub fn discover(conversion: &Conversion, run: &ResolvedRun, config: &Config) -> Discovery {
    use rayon::prelude::*;

    let mut out = Discovery::default();
    let rules = match SecretRules::builtin() {
        Ok(r) => Some(r),
        Err(e) => {
            out.findings.push(Finding::new(
                codes::PARAMETER_VALUE_UNKNOWN,
                Severity::Error,
                "",
                0,
                format!("the secret rules cannot be loaded: {e}"),
            ));
            None
        }
    };
    let tasks = tasks_by_origin(run);
    // Which services read each variable (for `services`).
    let mut readers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for image in &conversion.images {
        for var in &image.env {
            if let Some(EnvSource::Variable { name, .. }) = &var.source {
                readers.entry(name.as_str()).or_default().insert(image.service.as_str());
            }
        }
    }
    let readers: BTreeMap<&str, Arc<[String]>> = readers
        .into_iter()
        .map(|(name, services)| (name, services.into_iter().map(str::to_string).collect()))
        .collect();
    let cx = ValueCx { run, config, rules, tasks: &tasks, readers: &readers };
    // Each image's values on both cores (resolving and classifying them is the stage's
    // work), then merged in image order: a parameter two images name is taken from the
    // first one, and a later one is skipped without a finding, as in one sequential pass.
    let (per_image, build_time) = rayon::join(
        || {
            conversion
                .images
                .par_iter()
                .map(|image| {
                    let mut seen: BTreeSet<&str> = BTreeSet::new();
                    let mut found: Vec<(&str, Result<DiscoveredValue, Finding>)> = Vec::new();
                    for var in &image.env {
                        let EnvValue::Parameter { parameter, secret } = &var.value else { continue };
                        if seen.insert(parameter.as_str()) {
                            found.push((parameter.as_str(), cx.value(image, var, parameter, *secret)));
                        }
                    }
                    found
                })
                .collect::<Vec<_>>()
        },
        || {
            let mut findings = Vec::new();
            build_time_environment(conversion, run, &mut findings);
            findings
        },
    );
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (parameter, found) in per_image.into_iter().flatten() {
        if !seen.insert(parameter) {
            continue;
        }
        match found {
            Ok(value) => out.values.push(value),
            Err(finding) => out.findings.push(finding),
        }
    }
    out.findings.extend(build_time);
    out.values.sort_by(|a, b| a.parameter.cmp(&b.parameter));
    out
}

/// What every value's discovery reads.
struct ValueCx<'a> {
    run: &'a ResolvedRun,
    config: &'a Config,
    rules: Option<&'static SecretRules>,
    tasks: &'a BTreeMap<(&'a str, u32), &'a ResolvedTask>,
    readers: &'a BTreeMap<&'a str, Arc<[String]>>,
}

impl ValueCx<'_> {
    /// The value of `var` (stored as `parameter`) for `image`, or the finding that says why
    /// it is not pushed.
    fn value(
        &self,
        image: &ImageSpec,
        var: &EnvVar,
        parameter: &str,
        secret: bool,
    ) -> Result<DiscoveredValue, Finding> {
        let run = self.run;
        let unknown = |why: String| {
            Finding::new(
                codes::PARAMETER_VALUE_UNKNOWN,
                Severity::Warning,
                var.origin.path.to_string(),
                var.origin.line,
                format!(
                    "the value of `{}` for `{}` is unknown ({why}); `{parameter}` is not pushed",
                    var.name, image.service
                ),
            )
        };
        let Some(source) = &var.source else {
            return Err(unknown("its source is not known".into()));
        };
        let (task_origin, variable) = match source {
            EnvSource::Variable { task, name } => (task, Some(name.clone())),
            EnvSource::TaskArg { task, .. } | EnvSource::TaskArgLine { task, .. } | EnvSource::Literal { task, .. } => {
                (task, None)
            }
        };
        let Some(task) = self.tasks.get(&origin_key(task_origin)) else {
            return Err(unknown("its task was not found in the run".into()));
        };
        let found = match source {
            EnvSource::Variable { name, .. } => variable_value(run, task, name),
            EnvSource::TaskArg { key, .. } => task
                .secret_args
                .get(key)
                .map(|v| Known { text: Sensitive::new(py_str(v.expose())), vault: true })
                .ok_or_else(|| "a vault value and no vault password was given".to_string()),
            EnvSource::TaskArgLine { key, name, .. } => task
                .secret_args
                .get(key)
                .and_then(|v| line_value(&py_str(v.expose()), name))
                .map(|text| Known { text, vault: true })
                .ok_or_else(|| "a vault value and no vault password was given".to_string()),
            EnvSource::Literal { value, .. } => Ok(Known { text: value.clone(), vault: false }),
        };
        let known = found.map_err(unknown)?;
        // A value SSM refuses (`{{ … }}` kept by `!unsafe`, over 8 KB, empty) would make the
        // whole push fail: report it here and leave it out.
        if let Err(why) = crate::spec::parameter::check_value(known.text.expose(), Tier::Standard) {
            return Err(Finding::new(
                codes::PARAMETER_VALUE_UNKNOWN,
                Severity::Warning,
                var.origin.path.to_string(),
                var.origin.line,
                format!(
                    "the value of `{}` for `{}` cannot be stored in SSM ({why}); `{parameter}` is not pushed: \
                     set it in the task definition by hand",
                    var.name, image.service
                ),
            ));
        }
        let provenance = if known.vault { Provenance::Vault } else { Provenance::Template };
        let classified = self.rules.map(|r| {
            Classifier::new(r, &self.config.secrets.overrides).classify(&var.name, known.text.expose(), provenance)
        });
        // Vault-touched values stay secret whatever an override says: the
        // rules engine already wrote them as secrets into the task definition.
        let is_secret = secret || known.vault || classified.is_some_and(|c| c.secret);
        // Where to change the value: the line that defined the variable for this
        // environment (group_vars, role defaults), else the task that uses it.
        let origin = match source {
            EnvSource::Variable { name, .. } => run.definition_of(task, name),
            _ => None,
        }
        .unwrap_or_else(|| task_origin.clone());
        let services = match &variable {
            Some(v) => self.readers.get(v.as_str()).cloned().unwrap_or_else(|| Arc::from(Vec::new())),
            None => Arc::from(vec![image.service.clone()]),
        };
        Ok(DiscoveredValue {
            service: image.service.clone(),
            name: var.name.clone(),
            parameter: parameter.to_string(),
            value: known.text,
            secret: is_secret,
            origin,
            variable,
            services,
        })
    }
}

/// The value of the last `NAME=` line of `text` (an `/etc/environment` body), read as
/// the converter read it (`emit::etc_environment::parse`).
fn line_value(text: &str, name: &str) -> Option<Sensitive<String>> {
    super::emit::etc_environment::parse(text)
        .into_iter()
        .flatten()
        .rev()
        .find(|l| l.name == name)
        .map(|l| Sensitive::new(l.value))
}

struct Known {
    text: Sensitive<String>,
    vault: bool,
}

fn variable_value(run: &ResolvedRun, task: &ResolvedTask, name: &str) -> Result<Known, String> {
    let Some(scope) = run.scopes.get(task.scope) else {
        return Err("the task has no variable scope".into());
    };
    let r = scope.templar.resolve_var(name, &scope.site);
    match r.output {
        Output::Value(j) if !r.report.secrets.is_empty() => Ok(Known { text: Sensitive::new(py_str(&j)), vault: true }),
        Output::Value(j) => Ok(Known { text: Sensitive::new(py_str(&j)), vault: false }),
        Output::Sensitive(s) => Ok(Known { text: Sensitive::new(py_str(s.expose())), vault: true }),
        Output::Omit => Err(format!("`{name}` is `omit`")),
        Output::Failed if !r.report.secrets.is_empty() => {
            Err(format!("`{name}` is a vault value and no vault password was given"))
        }
        Output::Failed => {
            let mut why: Vec<String> = r.report.undefined.iter().map(|u| format!("`{u}` is undefined")).collect();
            why.extend(r.report.unknown.iter().map(|u| format!("only known at run time: {u}")));
            if why.is_empty() {
                why.push(format!("`{name}` could not be evaluated"));
            }
            Err(why.join("; "))
        }
    }
}

/// `environment:` on tasks that feed an image's build: build-time only.
fn build_time_environment(conversion: &Conversion, run: &ResolvedRun, findings: &mut Vec<Finding>) {
    let built: BTreeSet<(&str, u32)> =
        conversion.images.iter().flat_map(|i| i.steps.iter().map(|s| origin_key(&s.origin))).collect();
    // Play- and block-level `environment:` reaches every task below it: report
    // each definition once, at the line that sets it.
    let mut defined: BTreeMap<String, (u32, BTreeSet<String>)> = BTreeMap::new();
    for task in run.plays.iter().flat_map(|p| p.tasks.iter()) {
        if !built.contains(&origin_key(&task.origin)) {
            continue;
        }
        for (name, entry) in &task.environment {
            let (line, names) =
                defined.entry(entry.origin.path.to_string()).or_insert((entry.origin.line, BTreeSet::new()));
            *line = (*line).min(entry.origin.line);
            names.insert(name.clone());
        }
    }
    for (path, (line, names)) in defined {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        findings.push(Finding::new(
            codes::BUILD_TIME_ENVIRONMENT,
            Severity::Info,
            path,
            line,
            format!("`environment:` ({}) is only used while the image is built; not pushed to SSM", names.join(", ")),
        ));
    }
}

/// Packer shell provisioners' `environment_vars`: they exist only while Packer builds the
/// VM image (proxies, build tokens), so they are reported (M048), never pushed. Names only:
/// a value may be a secret (`{{user `token`}}`).
pub fn packer_environment(project: &Project) -> Vec<Finding> {
    let mut out = Vec::new();
    for template in &project.packer {
        for build in &template.builds {
            for p in &build.provisioners {
                let ProvisionerAction::Shell(shell) = &p.action else { continue };
                if shell.environment_vars.is_empty() {
                    continue;
                }
                let names: Vec<&str> = shell
                    .environment_vars
                    .iter()
                    .map(|t| t.raw.split('=').next().unwrap_or_default().trim())
                    .filter(|n| !n.is_empty())
                    .collect();
                out.push(Finding::new(
                    codes::BUILD_TIME_ENVIRONMENT,
                    Severity::Info,
                    p.origin.path.to_string(),
                    p.origin.line,
                    format!(
                        "Packer `environment_vars` ({}) only exist while Packer builds the image; not pushed to SSM",
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    out
}

fn origin_key(o: &Origin) -> (&str, u32) {
    (&o.path, o.line)
}

fn tasks_by_origin(run: &ResolvedRun) -> BTreeMap<(&str, u32), &ResolvedTask> {
    let mut out = BTreeMap::new();
    for play in &run.plays {
        for t in play.tasks.iter().chain(play.handlers.iter()) {
            out.entry(origin_key(&t.origin)).or_insert(t);
        }
    }
    out
}

/// A value as Jinja prints it (`True`, `None`, numbers as written).
fn py_str(j: &Json) -> String {
    match j {
        Json::String(s) => s.clone(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Null => "None".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn packer_environment_vars_are_reported_by_name_only() {
        let dir = tempfile::tempdir().unwrap();
        let template = r#"{
  "builders": [{ "type": "amazon-ebs", "name": "base" }],
  "provisioners": [
    { "type": "shell", "inline": ["true"], "environment_vars": ["HTTP_PROXY=http://p:3128", "TOKEN=tok-9f2c1a"] },
    { "type": "shell", "inline": ["true"] }
  ]
}
"#;
        std::fs::write(dir.path().join("image.json"), template).unwrap();
        let set = Arc::new(crate::source::SourceSet::load(dir.path()).unwrap());
        let project = crate::model::build(&set);
        let found = packer_environment(&project);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].code.id, "M048");
        assert_eq!(found[0].path, "image.json");
        assert!(found[0].message.contains("(HTTP_PROXY, TOKEN)"), "{}", found[0].message);
        assert!(!found[0].message.contains("tok-9f2c1a"));
    }
}
