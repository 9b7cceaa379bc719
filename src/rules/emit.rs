//! One task → one [`TaskOutcome`]: the typed steps (or the decision to drop
//! it, or to ask a human) of the rule that matched it.
//!
//! Owns the Rust side of every `emit: { step: ... }` kind. It looks at one
//! task at a time and never decides which image a step goes to (that is
//! [`super::split`]). It never reads a secret: values in
//! `ResolvedTask::secret_args` are only ever named, and config that holds
//! one is rendered at container start from an environment variable.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ruleset::{Emit, EmitKind, Rule, RuleSet, is_truthy, normalise_args, value_text};
use super::shell;
use super::units::{self, Definition};
use crate::diagnostics::Severity;
use crate::model::link::RefKind;
use crate::model::resolved::{Condition, ResolvedTask};
use crate::spec::image::{ContextContent, CronSchedule, LanguageManager, Package, PackageFamily, StepAction};

/// Read access to the repository's files (a `SourceSet`, or a map in tests).
/// `Sync`: tasks are converted in parallel ([`super::split::convert`]).
pub trait RepoFiles: Sync {
    /// The text of a repo-relative file, when it exists and is text.
    fn text(&self, rel: &str) -> Option<&str>;
    fn is_dir(&self, rel: &str) -> bool;
    /// Files under a directory, repo-relative, sorted.
    fn files_under(&self, rel: &str) -> Vec<String>;
}

impl RepoFiles for crate::source::SourceSet {
    fn text(&self, rel: &str) -> Option<&str> {
        self.get(rel).and_then(|f| f.text().ok())
    }
    fn is_dir(&self, rel: &str) -> bool {
        crate::source::SourceSet::is_dir(self, rel)
    }
    fn files_under(&self, rel: &str) -> Vec<String> {
        let mut v: Vec<String> = crate::source::SourceSet::files_under(self, rel).map(|f| f.rel.clone()).collect();
        v.sort();
        v
    }
}

impl RepoFiles for BTreeMap<String, String> {
    fn text(&self, rel: &str) -> Option<&str> {
        self.get(rel).map(String::as_str)
    }
    fn is_dir(&self, rel: &str) -> bool {
        let prefix = format!("{}/", rel.trim_end_matches('/'));
        self.keys().any(|k| k.starts_with(&prefix))
    }
    fn files_under(&self, rel: &str) -> Vec<String> {
        let prefix = format!("{}/", rel.trim_end_matches('/'));
        self.keys().filter(|k| k.starts_with(&prefix)).cloned().collect()
    }
}

/// What rendering a `template:` source gave.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplateResult {
    /// Fully rendered; touches no secret and nothing per-environment. `notes`:
    /// what the rendering assumed (a `default()` over a runtime fact).
    Rendered { text: String, notes: Vec<String> },
    /// Rendered with `${NAME}` placeholders for the values that must come
    /// from the environment at start (secrets, per-environment values).
    AtStart { template: String, vars: Vec<StartVar>, notes: Vec<String> },
    /// The template could not be rendered; why.
    Failed(String),
    /// No renderer is wired in.
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StartVar {
    pub name: String,
    pub secret: bool,
    /// Where the value comes from, for `rules::env` discovery (never the value).
    #[serde(skip)]
    pub source: VarSource,
}

pub(crate) mod etc_environment;

/// Where a start-time variable's value comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum VarSource {
    /// A variable of the task's scope (`{{ database_url }}`).
    Variable(String),
    /// A secret argument of the task itself (`copy: content=...`).
    TaskArg(String),
    /// The value of `NAME=` on a line of a secret argument (`lineinfile: line=` into
    /// `/etc/environment`).
    TaskArgLine { key: String, name: String },
    /// A value written in the repository as is (a line of `/etc/environment`); not secret
    /// by where it came from, though the classifier may still call it one.
    Literal(String),
    #[default]
    Unknown,
}

/// The seam to the Jinja renderer (`model::template`, merged separately):
/// renders a task's `template:` source with the task's variable scope.
/// `Sync`: tasks are converted in parallel ([`super::split::convert`]).
pub trait TemplateRenderer: Sync {
    fn render(&self, task: &ResolvedTask, source: &str, text: &str) -> TemplateResult;
}

/// Used until the renderer is wired in: nothing is rendered, so templates
/// without Jinja are copied as they are and the others need a human.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRenderer;

impl TemplateRenderer for NoRenderer {
    fn render(&self, _task: &ResolvedTask, _source: &str, _text: &str) -> TemplateResult {
        TemplateResult::Unavailable
    }
}

/// What the converter does with one task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    #[default]
    Converted,
    Dropped,
    NeedsHuman,
    Skipped,
}

/// One task's conversion, before it is assigned to images.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TaskOutcome {
    /// The rule that decided.
    pub code: String,
    pub disposition: OutcomeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub steps: Vec<StepAction>,
    pub context: Vec<ContextDraft>,
    pub start_files: Vec<StartFileDraft>,
    /// Environment variables the process needs (from start-time templates).
    pub env: Vec<StartVar>,
    /// Services the task starts or enables (`service: name=nginx state=started`).
    pub claims: Vec<String>,
    /// Processes the task defines (systemd units, supervisor programs, init scripts).
    pub definitions: Vec<Definition>,
    pub jobs: Vec<JobDraft>,
    /// Findings to report at the task's origin.
    #[serde(skip)]
    pub findings: Vec<(Severity, String)>,
    /// What the conversion assumed for this task (a template's `default()` used
    /// over a fact of the running machine), for MIGRATION.md.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContextDraft {
    pub path: String,
    pub content: ContextContent,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StartFileDraft {
    pub dest: String,
    pub template: String,
    pub owner: Option<String>,
    pub mode: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobDraft {
    pub name: String,
    pub schedule: CronSchedule,
    pub command: Vec<String>,
    pub user: Option<String>,
    /// The output redirects removed from the cron line (`>> /var/log/x.log 2>&1`):
    /// a job's output goes to the container's output (CloudWatch), never to a file.
    pub dropped_redirect: Option<String>,
}

impl TaskOutcome {
    fn converted(code: &str) -> TaskOutcome {
        TaskOutcome { code: code.to_string(), ..Default::default() }
    }

    pub fn dropped(code: &str, reason: impl Into<String>) -> TaskOutcome {
        TaskOutcome {
            code: code.to_string(),
            disposition: OutcomeKind::Dropped,
            reason: Some(reason.into()),
            ..Default::default()
        }
    }

    pub fn needs_human(code: &str, reason: impl Into<String>) -> TaskOutcome {
        let reason = reason.into();
        TaskOutcome {
            code: code.to_string(),
            disposition: OutcomeKind::NeedsHuman,
            findings: vec![(Severity::Warning, reason.clone())],
            reason: Some(reason),
            ..Default::default()
        }
    }

    fn step(mut self, action: StepAction) -> TaskOutcome {
        self.steps.push(action);
        self
    }
}

/// What a handler needs besides the task.
pub struct EmitCx<'a> {
    /// The base image's package manager (`package:` installs with it).
    pub family: PackageFamily,
    pub files: &'a dyn RepoFiles,
    pub templates: &'a dyn TemplateRenderer,
}

/// Decides one task: the matching rule's emission, `Skipped` when its
/// `when:` is false, M801 when no rule knows the module, M803 when an
/// argument the rule needs is still Jinja.
pub fn apply(rules: &RuleSet, task: &ResolvedTask, cx: &EmitCx) -> TaskOutcome {
    if let Condition::False { when } = &task.condition {
        return TaskOutcome {
            code: String::new(),
            disposition: OutcomeKind::Skipped,
            reason: Some(when.clone()),
            ..Default::default()
        };
    }
    let module = task.module.short.as_str();
    let args = normalise_args(module, &task.args);
    let Some(rule) = rules.find(module, &args) else {
        return TaskOutcome::needs_human(
            "M801",
            format!("no rule maps the module `{}`; translate this task by hand", task.module.written),
        );
    };
    let Some(emit) = &rule.emit else {
        return TaskOutcome::needs_human("M801", format!("rule {} has nothing to emit", rule.code));
    };
    let mut outcome = run(rule, emit, task, &args, cx);
    if let Condition::Unknown { when, why } = &task.condition
        && outcome.disposition == OutcomeKind::Converted
    {
        outcome.findings.push((
            Severity::Info,
            format!("M802 `when: {when}` depends on run-time state ({why}); converted as if true"),
        ));
    }
    outcome
}

fn run(rule: &Rule, emit: &Emit, task: &ResolvedTask, args: &Args, cx: &EmitCx) -> TaskOutcome {
    let code = rule.code.as_str();
    let a = A { args, task, code };
    let result = match emit.step {
        EmitKind::Drop => {
            let mut o = TaskOutcome::dropped(code, fill(emit.reason.as_deref().unwrap_or(""), task));
            if let Some(sev) = emit.severity {
                o.findings.push((sev.severity(), o.reason.clone().unwrap_or_default()));
            }
            return o;
        }
        EmitKind::NeedsHuman => {
            let mut o = TaskOutcome::needs_human(code, fill(emit.reason.as_deref().unwrap_or(""), task));
            if let Some(sev) = emit.severity {
                o.findings = vec![(sev.severity(), o.reason.clone().unwrap_or_default())];
            }
            return o;
        }
        EmitKind::InstallPackages => install_packages(&a, emit.manager.as_deref(), cx.family),
        EmitKind::InstallDeb => install_deb(&a),
        EmitKind::LanguagePackages => language_packages(&a, emit.manager.as_deref()),
        EmitKind::AptKey => apt_key(&a),
        EmitKind::AptRepository => apt_repository(&a),
        EmitKind::YumRepository => yum_repository(&a),
        EmitKind::RpmKey => rpm_key(&a),
        EmitKind::Debconf => debconf(&a),
        EmitKind::LocaleGen => locale_gen(&a),
        EmitKind::CopyFile => copy_file(&a, cx),
        EmitKind::TemplateFile => template_file(&a, cx),
        EmitKind::FileState => file_state(&a),
        EmitKind::LineInFile => line_in_file(&a),
        EmitKind::BlockInFile => block_in_file(&a),
        EmitKind::ReplaceInFile => replace_in_file(&a),
        EmitKind::Download => download(&a),
        EmitKind::Unarchive => unarchive(&a, cx),
        EmitKind::GitCheckout => git_checkout(&a),
        EmitKind::CreateUser => create_user(&a),
        EmitKind::CreateGroup => create_group(&a),
        EmitKind::RunCommand => run_command(&a),
        EmitKind::RunScript => run_script(&a, cx),
        EmitKind::ClaimProcess => claim_process(&a),
        EmitKind::SystemdUnit | EmitKind::SupervisorProgram | EmitKind::InitScript => {
            definition_file(&a, emit.step, cx)
        }
        EmitKind::CronJob => cron_job(&a),
        EmitKind::CronFile => cron_file(&a, cx),
        EmitKind::EnvironmentFile => etc_environment::convert(&a, cx),
    };
    result.unwrap_or_else(|problem| problem.into_outcome(code))
}

type Args = serde_json::Map<String, serde_json::Value>;

/// Why a handler could not translate a task.
enum Problem {
    /// An argument is still Jinja (M803).
    Unresolved(String),
    /// The argument holds a secret the step would have to bake in.
    Secret(String),
    /// The shape is not one the rule translates safely.
    Unclear(String),
}

impl Problem {
    fn into_outcome(self, code: &str) -> TaskOutcome {
        match self {
            Problem::Unresolved(key) => TaskOutcome::needs_human(
                "M803",
                format!("`{key}` is still a template after variable resolution; set the variable or convert by hand"),
            ),
            Problem::Secret(key) => TaskOutcome::needs_human(
                code,
                format!("`{key}` holds a secret that would be baked into the image; provide it at run time instead"),
            ),
            Problem::Unclear(why) => TaskOutcome::needs_human(code, why),
        }
    }
}

/// Argument access for handlers.
struct A<'a> {
    args: &'a Args,
    task: &'a ResolvedTask,
    code: &'a str,
}

impl A<'_> {
    fn has(&self, key: &str) -> bool {
        self.args.get(key).is_some_and(|v| !v.is_null())
    }

    fn secret(&self, key: &str) -> bool {
        self.task.secret_args.contains_key(key)
    }

    /// A scalar argument as text; `Err` when it is a secret or still Jinja.
    fn opt(&self, key: &str) -> Result<Option<String>, Problem> {
        if self.secret(key) {
            return Err(Problem::Secret(key.to_string()));
        }
        match self.args.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => {
                let text = value_text(v);
                if is_jinja(&text) { Err(Problem::Unresolved(key.to_string())) } else { Ok(Some(text)) }
            }
        }
    }

    fn req(&self, key: &str) -> Result<String, Problem> {
        self.opt(key)?.ok_or_else(|| Problem::Unclear(format!("`{key}` is missing")))
    }

    /// A list argument (a YAML list, or a comma-separated string).
    fn list(&self, key: &str) -> Result<Vec<String>, Problem> {
        if self.secret(key) {
            return Err(Problem::Secret(key.to_string()));
        }
        let items: Vec<String> = match self.args.get(key) {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Array(items)) => items.iter().map(value_text).collect(),
            Some(v) => value_text(v).split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
        };
        if items.iter().any(|i| is_jinja(i)) {
            return Err(Problem::Unresolved(key.to_string()));
        }
        Ok(items)
    }

    fn truthy(&self, key: &str) -> bool {
        self.args.get(key).is_some_and(is_truthy)
    }

    /// `mode:` as Ansible means it: an integer is octal digits read as decimal by YAML 1.1.
    fn mode(&self) -> Result<Option<String>, Problem> {
        match self.args.get("mode") {
            Some(serde_json::Value::Number(n)) => Ok(n.as_u64().map(|m| format!("{m:04o}"))),
            _ => self.opt("mode"),
        }
    }
}

fn is_jinja(s: &str) -> bool {
    s.contains("{{") || s.contains("{%")
}

/// Fills `{module}` in a rule's reason.
fn fill(reason: &str, task: &ResolvedTask) -> String {
    reason.replace("{module}", &task.module.short)
}

/// `name=1.2`, `name==1.2`, `name-1.2` (yum) are pins kept as written.
fn package(spec: &str, manager: &str) -> Package {
    let split = match manager {
        "pip" => spec.find("==").map(|i| (i, 2)).or_else(|| spec.find(">=").map(|i| (i, 0))),
        "gem" | "npm" => spec.rfind('@').filter(|&i| i > 0).map(|i| (i, 1)),
        _ => spec.find('=').map(|i| (i, 1)),
    };
    match split {
        Some((i, skip)) if skip > 0 => {
            Package { name: spec[..i].trim().to_string(), version: Some(spec[i + skip..].trim().to_string()) }
        }
        _ => Package { name: spec.trim().to_string(), version: None },
    }
}

fn family_of(manager: Option<&str>, base: PackageFamily) -> PackageFamily {
    match manager {
        Some("apt") => PackageFamily::Apt,
        Some("dnf") => PackageFamily::Dnf,
        Some("yum") => PackageFamily::Yum,
        Some("apk") => PackageFamily::Apk,
        _ => base,
    }
}

fn install_packages(a: &A, manager: Option<&str>, base: PackageFamily) -> Result<TaskOutcome, Problem> {
    let names = a.list("name")?;
    if names.is_empty() {
        return Ok(TaskOutcome::dropped(a.code, "no package named"));
    }
    let family = family_of(manager, base);
    let packages: Vec<Package> = names.iter().map(|n| package(n, "os")).collect();
    let mut o = TaskOutcome::converted(a.code).step(StepAction::InstallPackages { manager: family, packages });
    if a.opt("state")?.as_deref() == Some("latest") {
        o.findings.push((
            Severity::Info,
            "`state: latest` is read as `present`; pin versions for reproducible builds".into(),
        ));
    }
    if family != base && manager != Some("auto") {
        o.findings.push((
            Severity::Warning,
            format!(
                "`{}` installs with {family:?} but the base image uses {base:?}: the image installs the same names \
                 with {base:?}; check them (package names differ between distributions) or set `base_image`",
                a.task.module.short
            ),
        ));
    }
    Ok(o)
}

fn install_deb(a: &A) -> Result<TaskOutcome, Problem> {
    let deb = a.req("deb")?;
    if deb.starts_with("http://") || deb.starts_with("https://") {
        let file = deb.rsplit('/').next().filter(|f| f.ends_with(".deb")).unwrap_or("package.deb");
        let dest = format!("/tmp/{file}");
        return Ok(TaskOutcome::converted(a.code)
            .step(StepAction::Download { url: deb.clone(), dest: dest.clone(), checksum: None, mode: None })
            .step(StepAction::Run {
                commands: vec![
                    "apt-get update".into(),
                    format!("apt-get install -y --no-install-recommends {}", shell::quote(&dest)),
                    format!("rm -rf {} /var/lib/apt/lists/*", shell::quote(&dest)),
                ],
                pipes: false,
            }));
    }
    Err(Problem::Unclear(format!(
        "`deb: {deb}` is a file on the VM; download it from a URL or add it to the build context"
    )))
}

fn language_packages(a: &A, manager: Option<&str>) -> Result<TaskOutcome, Problem> {
    let (lm, key) = match manager {
        Some("npm") => (LanguageManager::Npm, "npm"),
        Some("gem") => (LanguageManager::Gem, "gem"),
        _ => (LanguageManager::Pip, "pip"),
    };
    let mut packages: Vec<Package> = a.list("name")?.iter().map(|n| package(n, key)).collect();
    if let Some(version) = a.opt("version")?
        && let [only] = packages.as_mut_slice()
    {
        only.version = Some(version);
    }
    let requirements = match lm {
        LanguageManager::Pip => a.opt("requirements")?,
        LanguageManager::Npm if packages.is_empty() => {
            a.opt("path")?.map(|p| format!("{}/package.json", p.trim_end_matches('/')))
        }
        _ => None,
    };
    let target = match lm {
        LanguageManager::Pip => a.opt("virtualenv")?,
        LanguageManager::Npm => a.opt("path")?,
        LanguageManager::Gem => a.opt("install_dir")?,
    };
    if packages.is_empty() && requirements.is_none() {
        return Err(Problem::Unclear("neither packages nor a requirements file are named".into()));
    }
    let mut o = TaskOutcome::converted(a.code);
    // An absolute requirements file (npm's `path:`) is a file of the image, put there by an
    // earlier step (a git checkout, a copy), not a file of the build context: install from it
    // in place, as the module does on the VM.
    let requirements = match requirements {
        Some(req) if req.starts_with('/') => {
            let q = shell::quote;
            let commands = match lm {
                LanguageManager::Npm => {
                    let dir = req.trim_end_matches("/package.json");
                    vec![format!("npm install --prefix {}", q(dir)), "npm cache clean --force".to_string()]
                }
                LanguageManager::Pip => match &target {
                    Some(venv) => vec![
                        format!("python3 -m venv {}", q(venv)),
                        format!("{}/bin/pip install --no-cache-dir -r {}", q(venv), q(&req)),
                    ],
                    None => vec![format!("python3 -m pip install --no-cache-dir -r {}", q(&req))],
                },
                LanguageManager::Gem => vec![format!("bundle install --gemfile={}", q(&req))],
            };
            o = o.step(StepAction::Run { commands, pipes: false });
            None
        }
        other => other,
    };
    if packages.is_empty() && requirements.is_none() {
        return Ok(o);
    }
    Ok(o.step(StepAction::InstallLanguagePackages { manager: lm, packages, requirements, target }))
}

fn apt_key(a: &A) -> Result<TaskOutcome, Problem> {
    let url = a.opt("url")?.ok_or_else(|| {
        Problem::Unclear("only `apt_key: url=` is translated (keyserver and data keys need a human)".into())
    })?;
    let name = a.opt("keyring")?.unwrap_or_else(|| {
        let stem = url.rsplit('/').next().unwrap_or("key").trim_end_matches(".asc").trim_end_matches(".gpg");
        format!("/etc/apt/trusted.gpg.d/{}.asc", sanitize(stem))
    });
    Ok(TaskOutcome::converted(a.code).step(StepAction::Download {
        url,
        dest: name,
        checksum: None,
        mode: Some("0644".into()),
    }))
}

fn apt_repository(a: &A) -> Result<TaskOutcome, Problem> {
    let repo = a.req("repo")?;
    if repo.starts_with("ppa:") {
        return Err(Problem::Unclear(format!("`{repo}` is a Launchpad PPA; add its deb line and key by hand")));
    }
    let file = match a.opt("filename")? {
        Some(f) => sanitize(&f),
        None => sanitize(repo.split_whitespace().nth(1).unwrap_or("repository")),
    };
    Ok(TaskOutcome::converted(a.code).step(StepAction::Run {
        commands: vec![format!("printf '%s\\n' {} > /etc/apt/sources.list.d/{file}.list", shell::quote(&repo))],
        pipes: false,
    }))
}

fn yum_repository(a: &A) -> Result<TaskOutcome, Problem> {
    let name = a.req("name")?;
    let mut text = format!("[{name}]\nname={}\n", a.opt("description")?.unwrap_or_else(|| name.clone()));
    for key in ["baseurl", "mirrorlist", "metalink", "gpgkey"] {
        if let Some(v) = a.opt(key)? {
            text.push_str(&format!("{key}={v}\n"));
        }
    }
    for key in ["gpgcheck", "enabled"] {
        if a.has(key) {
            text.push_str(&format!("{key}={}\n", if a.truthy(key) { 1 } else { 0 }));
        }
    }
    let path = format!("files/etc/yum.repos.d/{}.repo", sanitize(&name));
    let mut o = TaskOutcome::converted(a.code);
    o.context.push(ContextDraft { path: path.clone(), content: ContextContent::Text { text } });
    Ok(o.step(StepAction::Copy {
        source: path,
        dest: format!("/etc/yum.repos.d/{}.repo", sanitize(&name)),
        owner: None,
        group: None,
        mode: Some("0644".into()),
    }))
}

fn rpm_key(a: &A) -> Result<TaskOutcome, Problem> {
    let key = a.req("key")?;
    Ok(TaskOutcome::converted(a.code)
        .step(StepAction::Run { commands: vec![format!("rpm --import {}", shell::quote(&key))], pipes: false }))
}

fn debconf(a: &A) -> Result<TaskOutcome, Problem> {
    let name = a.req("name")?;
    let question = a.req("question")?;
    let vtype = a.req("vtype")?;
    let value = a.opt("value")?.unwrap_or_default();
    let line = format!("{name} {question} {vtype} {value}");
    Ok(TaskOutcome::converted(a.code).step(StepAction::Run {
        commands: vec![format!("echo {} | debconf-set-selections", shell::quote(&line))],
        pipes: true,
    }))
}

fn locale_gen(a: &A) -> Result<TaskOutcome, Problem> {
    let name = a.req("name")?;
    let (locale, charset) = name.split_once('.').unwrap_or((name.as_str(), "UTF-8"));
    Ok(TaskOutcome::converted(a.code).step(StepAction::Run {
        commands: vec![format!(
            "localedef -i {} -f {} {}",
            shell::quote(locale),
            shell::quote(charset),
            shell::quote(&name)
        )],
        pipes: false,
    }))
}

/// The repository file a task reads for `kind` (`src:` of copy/template).
fn source_file(task: &ResolvedTask, kind: RefKind, written: Option<&str>) -> Option<String> {
    let candidates: Vec<_> = task.files.iter().filter(|f| f.kind == kind).collect();
    let pick = written.and_then(|w| candidates.iter().find(|f| f.written == w)).or_else(|| candidates.first())?;
    pick.target.path().map(|p| p.to_string())
}

/// The build-context path for a destination in the image.
fn context_path(dest: &str) -> String {
    let clean: Vec<&str> = dest.split('/').filter(|p| !p.is_empty() && *p != "." && *p != "..").collect();
    format!("files/{}", clean.join("/"))
}

fn dest_for(dest: &str, src: &str) -> String {
    if dest.ends_with('/') {
        let name = src.trim_end_matches('/').rsplit('/').next().unwrap_or(src);
        format!("{dest}{name}")
    } else {
        dest.to_string()
    }
}

fn copy_step(a: &A, source: String, dest: String) -> Result<StepAction, Problem> {
    Ok(StepAction::Copy { source, dest, owner: a.opt("owner")?, group: a.opt("group")?, mode: a.mode()? })
}

fn copy_file(a: &A, cx: &EmitCx) -> Result<TaskOutcome, Problem> {
    let dest = a.req("dest")?;
    if a.has("content") {
        if a.secret("content") {
            return Ok(secret_file(a, &dest, "content"));
        }
        let text = a.req("content")?;
        let path = context_path(&dest);
        let mut o = TaskOutcome::converted(a.code);
        o.context.push(ContextDraft { path: path.clone(), content: ContextContent::Text { text } });
        let step = copy_step(a, path, dest)?;
        return Ok(o.step(step));
    }
    let src = a.req("src")?;
    if a.truthy("remote_src") {
        let dest = dest_for(&dest, &src);
        return Ok(TaskOutcome::converted(a.code).step(StepAction::Run {
            commands: vec![format!("cp -a {} {}", shell::quote(&src), shell::quote(&dest))],
            pipes: false,
        }));
    }
    let Some(repo_path) = source_file(a.task, RefKind::File, Some(&src)) else {
        return Err(Problem::Unclear(format!("the source `{src}` was not found in the repository")));
    };
    let mut o = TaskOutcome::converted(a.code);
    if cx.files.is_dir(&repo_path) {
        // `src: dir/` copies the contents, `src: dir` the directory itself.
        let base =
            if src.ends_with('/') { dest.clone() } else { dest_for(&format!("{}/", dest.trim_end_matches('/')), &src) };
        let path = context_path(&base);
        for file in cx.files.files_under(&repo_path) {
            let rel = file.strip_prefix(&format!("{}/", repo_path.trim_end_matches('/'))).unwrap_or(&file);
            o.context.push(ContextDraft {
                path: format!("{path}/{rel}"),
                content: ContextContent::Copy { from: file.as_str().into() },
            });
        }
        let step = copy_step(a, format!("{path}/"), format!("{}/", base.trim_end_matches('/')))?;
        return Ok(o.step(step));
    }
    let dest = dest_for(&dest, &src);
    let path = context_path(&dest);
    o.context.push(ContextDraft { path: path.clone(), content: ContextContent::Copy { from: repo_path.into() } });
    let step = copy_step(a, path, dest)?;
    Ok(o.step(step))
}

/// A file whose whole content is a secret: written at start from one variable.
fn secret_file(a: &A, dest: &str, key: &str) -> TaskOutcome {
    let var = env_name_for(dest);
    let mut o = TaskOutcome::converted(a.code);
    o.start_files.push(StartFileDraft {
        dest: dest.to_string(),
        template: format!("${{{var}}}"),
        owner: a.opt("owner").ok().flatten(),
        mode: a.mode().ok().flatten(),
        reason: format!("`{key}` holds a secret"),
    });
    o.env.push(StartVar { name: var, secret: true, source: VarSource::TaskArg(key.to_string()) });
    o
}

/// `FILE_ETC_APP_SECRET_KEY` for `/etc/app/secret.key`.
fn env_name_for(dest: &str) -> String {
    let mut name = String::from("FILE");
    for part in dest.split('/').filter(|p| !p.is_empty()) {
        name.push('_');
        name.extend(part.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }));
    }
    name
}

fn template_file(a: &A, cx: &EmitCx) -> Result<TaskOutcome, Problem> {
    let dest = a.req("dest")?;
    let src = a.req("src")?;
    let Some(repo_path) = source_file(a.task, RefKind::Template, Some(&src)) else {
        return Err(Problem::Unclear(format!("the template `{src}` was not found in the repository")));
    };
    let Some(text) = cx.files.text(&repo_path) else {
        return Err(Problem::Unclear(format!("the template `{repo_path}` cannot be read as text")));
    };
    let dest = dest_for(&dest, src.trim_end_matches(".j2"));
    let path = context_path(&dest);
    let mut o = TaskOutcome::converted(a.code);
    match cx.templates.render(a.task, &repo_path, text) {
        TemplateResult::Rendered { text, notes } => {
            o.notes = notes;
            o.context.push(ContextDraft { path: path.clone(), content: ContextContent::Text { text } });
        }
        TemplateResult::AtStart { template, vars, notes } => {
            o.notes = notes;
            o.start_files.push(StartFileDraft {
                dest: dest.clone(),
                template,
                owner: a.opt("owner")?,
                mode: a.mode()?,
                reason: "the template uses secrets or per-environment values".into(),
            });
            o.env.extend(vars);
            return Ok(o);
        }
        TemplateResult::Failed(why) => {
            return Err(Problem::Unclear(format!("`{repo_path}` cannot be rendered: {why}")));
        }
        TemplateResult::Unavailable => {
            if is_jinja(text) || text.contains("{#") {
                return Err(Problem::Unclear(format!(
                    "`{repo_path}` uses Jinja and no template renderer is wired in yet; render it by hand"
                )));
            }
            o.context
                .push(ContextDraft { path: path.clone(), content: ContextContent::Copy { from: repo_path.into() } });
        }
    }
    let step = copy_step(a, path, dest)?;
    Ok(o.step(step))
}

fn file_state(a: &A) -> Result<TaskOutcome, Problem> {
    let path = a.req("path")?;
    let state = a.opt("state")?.unwrap_or_else(|| "file".into());
    let (owner, group, mode) = (a.opt("owner")?, a.opt("group")?, a.mode()?);
    let o = TaskOutcome::converted(a.code);
    Ok(match state.as_str() {
        "directory" => o.step(StepAction::MakeDirectory { path, owner, group, mode }),
        "link" => o.step(StepAction::Symlink { target: a.req("src")?, link: path }),
        "hard" => o.step(StepAction::Run {
            commands: vec![format!("ln -f {} {}", shell::quote(&a.req("src")?), shell::quote(&path))],
            pipes: false,
        }),
        "absent" => o.step(StepAction::Remove { path }),
        "touch" | "file" => {
            let mut commands = Vec::new();
            if state == "touch" {
                commands.push(format!("touch {}", shell::quote(&path)));
            }
            if let Some(m) = &mode {
                commands.push(format!("chmod {} {}", shell::quote(m), shell::quote(&path)));
            }
            if owner.is_some() || group.is_some() {
                let who =
                    format!("{}{}", owner.unwrap_or_default(), group.map(|g| format!(":{g}")).unwrap_or_default());
                commands.push(format!("chown {} {}", shell::quote(&who), shell::quote(&path)));
            }
            if commands.is_empty() {
                return Ok(TaskOutcome::dropped(a.code, "checks that a file exists; changes nothing in the image"));
            }
            o.step(StepAction::Run { commands, pipes: false })
        }
        other => return Err(Problem::Unclear(format!("`state: {other}` is not translated"))),
    })
}

/// A regex both Python (Ansible) and POSIX ERE (`sed -E`, `grep -E`) read
/// the same way, with no `|` (the sed delimiter used here).
fn portable_regex(re: &str) -> bool {
    !re.contains('|')
        && !re.contains("(?")
        && !re.contains("\\d")
        && !re.contains("\\w")
        && !re.contains("\\s")
        && !re.contains("\\b")
        && !re.contains('\n')
}

/// Escapes a sed replacement (delimiter `|`).
fn sed_replacement(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace('&', "\\&")
}

fn line_in_file(a: &A) -> Result<TaskOutcome, Problem> {
    let path = a.req("path")?;
    if a.secret("line") {
        return Err(Problem::Secret("line".into()));
    }
    let state = a.opt("state")?.unwrap_or_else(|| "present".into());
    let regexp = a.opt("regexp")?;
    let qpath = shell::quote(&path);
    if ["insertafter", "insertbefore"].iter().any(|k| a.opt(k).ok().flatten().is_some_and(|v| v != "EOF" && v != "BOF"))
        || a.truthy("backrefs")
        || a.has("search_string")
    {
        return Err(Problem::Unclear(
            "`insertafter`/`insertbefore`/`backrefs`/`search_string` are edited by hand".into(),
        ));
    }
    if regexp.as_deref().is_some_and(|r| !portable_regex(r)) {
        return Err(Problem::Unclear("the `regexp` uses Python-only syntax; edit the file by hand".into()));
    }
    let mut commands = Vec::new();
    if a.truthy("create") {
        commands.push(format!("touch {qpath}"));
    }
    match (state.as_str(), regexp) {
        ("absent", Some(re)) => commands.push(format!("sed -i -E {} {qpath}", shell::quote(&format!("\\|{re}|d")))),
        ("absent", None) => {
            let line = a.req("line")?;
            commands.push(format!("grep -vxF -- {} {qpath} > {qpath}.tmp || true", shell::quote(&line)));
            commands.push(format!("mv {qpath}.tmp {qpath}"));
        }
        ("present", Some(re)) => {
            let line = a.req("line")?;
            let sed = format!("\\|{re}| s|.*|{}|", sed_replacement(&line));
            commands.push(format!(
                "if grep -qE -- {} {qpath}; then sed -i -E {} {qpath}; else printf '%s\\n' {} >> {qpath}; fi",
                shell::quote(&re),
                shell::quote(&sed),
                shell::quote(&line)
            ));
        }
        ("present", None) => {
            let line = a.req("line")?;
            commands
                .push(format!("grep -qxF -- {l} {qpath} || printf '%s\\n' {l} >> {qpath}", l = shell::quote(&line)));
        }
        (other, _) => return Err(Problem::Unclear(format!("`state: {other}` is not translated"))),
    }
    Ok(TaskOutcome::converted(a.code).step(StepAction::Run { commands, pipes: false }))
}

fn block_in_file(a: &A) -> Result<TaskOutcome, Problem> {
    let path = a.req("path")?;
    if a.secret("block") || a.secret("content") {
        return Err(Problem::Secret("block".into()));
    }
    let state = a.opt("state")?.unwrap_or_else(|| "present".into());
    if state == "absent" {
        return Ok(TaskOutcome::dropped(a.code, "removes a managed block that a freshly built file does not have"));
    }
    if ["insertafter", "insertbefore"].iter().any(|k| a.opt(k).ok().flatten().is_some_and(|v| v != "EOF" && v != "BOF"))
    {
        return Err(Problem::Unclear("`insertafter`/`insertbefore` with a pattern is edited by hand".into()));
    }
    let block = match a.opt("block")? {
        Some(b) => b,
        None => a.opt("content")?.unwrap_or_default(),
    };
    let marker = a.opt("marker")?.unwrap_or_else(|| "# {mark} ANSIBLE MANAGED BLOCK".into());
    let begin = marker.replace("{mark}", &a.opt("marker_begin")?.unwrap_or_else(|| "BEGIN".into()));
    let end = marker.replace("{mark}", &a.opt("marker_end")?.unwrap_or_else(|| "END".into()));
    let mut lines = vec![begin];
    lines.extend(block.lines().map(str::to_string));
    lines.push(end);
    let mut commands = Vec::new();
    if a.truthy("create") {
        commands.push(format!("touch {}", shell::quote(&path)));
    }
    commands.push(format!("printf '%s\\n' {} >> {}", shell::join(&lines), shell::quote(&path)));
    Ok(TaskOutcome::converted(a.code).step(StepAction::Run { commands, pipes: false }))
}

fn replace_in_file(a: &A) -> Result<TaskOutcome, Problem> {
    let path = a.req("path")?;
    let re = a.req("regexp")?;
    let replace = a.opt("replace")?.unwrap_or_default();
    if !portable_regex(&re) || replace.contains("\\g<") || a.has("after") || a.has("before") {
        return Err(Problem::Unclear(
            "the pattern uses Python-only syntax or `after`/`before`; edit the file by hand".into(),
        ));
    }
    let replacement = replace.replace('|', "\\|").replace('&', "\\&");
    Ok(TaskOutcome::converted(a.code).step(StepAction::Run {
        commands: vec![format!(
            "sed -i -E {} {}",
            shell::quote(&format!("s|{re}|{replacement}|g")),
            shell::quote(&path)
        )],
        pipes: false,
    }))
}

fn download(a: &A) -> Result<TaskOutcome, Problem> {
    for key in ["url_password", "headers", "client_key"] {
        if a.secret(key) {
            return Err(Problem::Secret(key.into()));
        }
    }
    let url = a.req("url")?;
    let dest = a.req("dest")?;
    let dest = if dest.ends_with('/') { dest_for(&dest, url.split('?').next().unwrap_or(&url)) } else { dest };
    let mut o = TaskOutcome::converted(a.code).step(StepAction::Download {
        url,
        dest: dest.clone(),
        checksum: a.opt("checksum")?,
        mode: a.mode()?,
    });
    if let Some(owner) = a.opt("owner")? {
        o = o.step(StepAction::Run {
            commands: vec![format!("chown {} {}", shell::quote(&owner), shell::quote(&dest))],
            pipes: false,
        });
    }
    Ok(o)
}

fn unarchive(a: &A, _cx: &EmitCx) -> Result<TaskOutcome, Problem> {
    let src = a.req("src")?;
    let dest = a.req("dest")?;
    let name = src.split('?').next().unwrap_or(&src).rsplit('/').next().unwrap_or("archive").to_string();
    let mut o = TaskOutcome::converted(a.code);
    let archive = if src.contains("://") {
        let tmp = format!("/tmp/{}", sanitize_file(&name));
        o = o.step(StepAction::Download { url: src.clone(), dest: tmp.clone(), checksum: None, mode: None });
        tmp
    } else if a.truthy("remote_src") {
        src.clone()
    } else {
        let Some(repo_path) = source_file(a.task, RefKind::File, Some(&src)) else {
            return Err(Problem::Unclear(format!("the archive `{src}` was not found in the repository")));
        };
        let tmp = format!("/tmp/{}", sanitize_file(&name));
        let path = context_path(&tmp);
        o.context.push(ContextDraft { path: path.clone(), content: ContextContent::Copy { from: repo_path.into() } });
        o = o.step(StepAction::Copy { source: path, dest: tmp.clone(), owner: None, group: None, mode: None });
        tmp
    };
    o = o.step(StepAction::Extract { archive, dest: dest.clone() });
    if let Some(owner) = a.opt("owner")? {
        o = o.step(StepAction::Run {
            commands: vec![format!("chown -R {} {}", shell::quote(&owner), shell::quote(&dest))],
            pipes: false,
        });
    }
    Ok(o)
}

fn git_checkout(a: &A) -> Result<TaskOutcome, Problem> {
    let repo = a.req("repo")?;
    let dest = a.req("dest")?;
    if repo.contains('@')
        && repo.contains("://")
        && repo.split("://").nth(1).is_some_and(|r| r.split('/').next().is_some_and(|h| h.contains(':')))
    {
        return Err(Problem::Secret("repo".into()));
    }
    let version = a.opt("version")?.filter(|v| v != "HEAD");
    let mut cmd = vec!["git".to_string(), "clone".into(), "--depth".into(), "1".into()];
    if let Some(v) = &version {
        cmd.extend(["--branch".to_string(), v.clone()]);
    }
    cmd.extend([repo, dest]);
    let mut o =
        TaskOutcome::converted(a.code).step(StepAction::Run { commands: vec![shell::join(&cmd)], pipes: false });
    o.findings.push((
        Severity::Info,
        "the image clones the repository at build time; prefer building from the application's own checkout".into(),
    ));
    if version.as_deref().is_some_and(|v| v.len() == 40 && v.bytes().all(|b| b.is_ascii_hexdigit())) {
        o.findings
            .push((Severity::Warning, "`--branch` cannot take a commit hash; check out the commit by hand".into()));
    }
    Ok(o)
}

fn create_user(a: &A) -> Result<TaskOutcome, Problem> {
    let name = a.req("name")?;
    let uid = a.opt("uid")?.and_then(|u| u.parse().ok());
    let groups = a.list("groups")?;
    let o = TaskOutcome::converted(a.code).step(StepAction::CreateUser {
        name,
        uid,
        group: a.opt("group")?,
        groups,
        home: a.opt("home")?,
        shell: a.opt("shell")?,
        system: a.truthy("system"),
        create_home: a.args.get("create_home").or(a.args.get("createhome")).is_none_or(is_truthy)
            && !a.truthy("system"),
    });
    let mut o = o;
    if a.has("password") {
        o.findings.push((Severity::Info, "the password is not set in the image: containers have no logins".into()));
    }
    Ok(o)
}

fn create_group(a: &A) -> Result<TaskOutcome, Problem> {
    Ok(TaskOutcome::converted(a.code).step(StepAction::CreateGroup {
        name: a.req("name")?,
        gid: a.opt("gid")?.and_then(|g| g.parse().ok()),
        system: a.truthy("system"),
    }))
}

fn run_command(a: &A) -> Result<TaskOutcome, Problem> {
    let line = a.req("_raw_params")?;
    // `forever start app.js` would start a daemon during `docker build`: it is the process.
    if let Some(mut d) = units::launcher_command(&line) {
        d.workdir = a.opt("chdir")?;
        let mut o = TaskOutcome::converted(a.code);
        o.findings.push((
            Severity::Info,
            format!(
                "starts the long-running process `{}` through a process manager: it becomes the image's \
                 foreground process, not a build step",
                d.command_line.as_deref().unwrap_or_default()
            ),
        ));
        o.definitions.push(d);
        return Ok(o);
    }
    let mut o = TaskOutcome::converted(a.code);
    if let Some(dir) = a.opt("chdir")? {
        o = o.step(StepAction::Workdir { path: dir });
    }
    let mut command = line.trim().to_string();
    let mut env_prefix = Vec::new();
    for (k, entry) in &a.task.environment {
        match &entry.value {
            crate::model::resolved::EnvValue::Plain { value } => {
                env_prefix.push(format!("{k}={}", shell::quote(value)))
            }
            crate::model::resolved::EnvValue::Secret { .. } => return Err(Problem::Secret(format!("environment.{k}"))),
            crate::model::resolved::EnvValue::Unresolved { .. } => {
                return Err(Problem::Unresolved(format!("environment.{k}")));
            }
        }
    }
    if !env_prefix.is_empty() {
        command = format!("{} {command}", env_prefix.join(" "));
    }
    if let Some(creates) = a.opt("creates")? {
        command = format!("test -e {} || {{ {command}; }}", shell::quote(&creates));
    }
    if let Some(removes) = a.opt("removes")? {
        command = format!("test ! -e {} || {{ {command}; }}", shell::quote(&removes));
    }
    let pipes = shell::has_pipe(&command) && a.task.module.short == "shell";
    Ok(o.step(StepAction::Run { commands: vec![command], pipes }))
}

fn run_script(a: &A, _cx: &EmitCx) -> Result<TaskOutcome, Problem> {
    let line = a.req("_raw_params")?;
    let words = shell::split(&line).ok_or_else(|| Problem::Unclear("unbalanced quotes".into()))?;
    let Some(script) = words.first() else { return Err(Problem::Unclear("no script named".into())) };
    let Some(repo_path) = source_file(a.task, RefKind::Script, None) else {
        return Err(Problem::Unclear(format!("the script `{script}` was not found in the repository")));
    };
    let name = script.rsplit('/').next().unwrap_or(script);
    let dest = format!("/tmp/migrate-scripts/{}", sanitize_file(name));
    let path = context_path(&dest);
    let mut o = TaskOutcome::converted(a.code);
    o.context.push(ContextDraft { path: path.clone(), content: ContextContent::Copy { from: repo_path.into() } });
    let mut run = vec![dest.clone()];
    run.extend(words[1..].iter().cloned());
    let mut command = shell::join(&run);
    if let Some(creates) = a.opt("creates")? {
        command = format!("test -e {} || {command}", shell::quote(&creates));
    }
    Ok(o.step(StepAction::Copy {
        source: path,
        dest: dest.clone(),
        owner: None,
        group: None,
        mode: Some("0755".into()),
    })
    .step(StepAction::Run { commands: vec![command, format!("rm -f {}", shell::quote(&dest))], pipes: false }))
}

fn claim_process(a: &A) -> Result<TaskOutcome, Problem> {
    let names = a.list("name")?;
    if names.is_empty() {
        return Err(Problem::Unclear("no service named".into()));
    }
    let mut o = TaskOutcome::converted(a.code);
    o.claims = names;
    Ok(o)
}

fn definition_file(a: &A, kind: EmitKind, cx: &EmitCx) -> Result<TaskOutcome, Problem> {
    let dest = a.req("dest")?;
    // Values the definition reads at start (`environment=REDIS_URL="{{ redis_url }}"` with a
    // secret or per-environment value): the process gets them from SSM, not the task definition.
    let mut start_vars: Vec<StartVar> = Vec::new();
    let text = if a.has("content") {
        // Jinja left in a unit's command is reported by the splitter (M362), not here.
        if a.secret("content") {
            return Err(Problem::Secret("content".into()));
        }
        a.args.get("content").map(value_text).unwrap_or_default()
    } else {
        let src = a.req("src")?;
        let ref_kind = if a.task.module.short == "template" { RefKind::Template } else { RefKind::File };
        let Some(repo_path) = source_file(a.task, ref_kind, Some(&src)) else {
            return Err(Problem::Unclear(format!("the file `{src}` was not found in the repository")));
        };
        let raw = cx.files.text(&repo_path).ok_or_else(|| Problem::Unclear(format!("`{repo_path}` cannot be read")))?;
        match cx.templates.render(a.task, &repo_path, raw) {
            TemplateResult::Rendered { text, .. } => text,
            // Per-environment and secret values are `${NAME}` placeholders, filled at start.
            TemplateResult::AtStart { template, vars, .. } => {
                start_vars = vars;
                template
            }
            // Commands are read from the raw text; Jinja left in them is reported by the splitter.
            _ => raw.to_string(),
        }
    };
    let file_name = dest.rsplit('/').next().unwrap_or(&dest).to_string();
    let definitions = match kind {
        EmitKind::SystemdUnit => units::systemd_unit(&file_name, &text).into_iter().collect(),
        EmitKind::SupervisorProgram => units::supervisor_programs(&text),
        _ => units::init_script(&file_name, &text).into_iter().collect::<Vec<_>>(),
    };
    let mut o = TaskOutcome::converted(a.code);
    if definitions.is_empty() {
        return Ok(TaskOutcome::dropped(a.code, "defines no long-running process"));
    }
    // Only the variables a definition's environment names; the others are in its command line.
    let in_environment = |v: &StartVar| o_env_names(&definitions).contains(&v.name);
    o.env.extend(start_vars.into_iter().filter(in_environment));
    o.definitions = definitions;
    Ok(o)
}

fn o_env_names(definitions: &[units::Definition]) -> Vec<String> {
    definitions.iter().flat_map(|d| d.environment.iter().map(|(k, _)| k.clone())).collect()
}

fn cron_schedule(a: &A) -> Result<CronSchedule, Problem> {
    let field = |k: &str| -> Result<String, Problem> { Ok(a.opt(k)?.unwrap_or_else(|| "*".into())) };
    Ok(CronSchedule {
        minute: field("minute")?,
        hour: field("hour")?,
        day: field("day")?,
        month: field("month")?,
        weekday: field("weekday")?,
        special_time: a.opt("special_time")?,
    })
}

fn cron_job(a: &A) -> Result<TaskOutcome, Problem> {
    let job = a.req("job")?;
    if a.truthy("env") {
        return Ok(TaskOutcome::dropped(
            a.code,
            "sets a crontab variable; jobs get their environment from the task definition",
        ));
    }
    let schedule = cron_schedule(a)?;
    if schedule.special_time.as_deref() == Some("reboot") {
        return Err(Problem::Unclear(
            "`@reboot` jobs have no schedule; run the command at container start instead".into(),
        ));
    }
    let (line, dropped_redirect) = strip_output_redirects(&job);
    let command = cron_command(&line);
    let mut o = TaskOutcome::converted(a.code);
    o.jobs.push(JobDraft {
        name: a.opt("name")?.map(|n| job_name(&n)).unwrap_or_else(|| job_name(&job)),
        schedule,
        command,
        user: a.opt("user")?,
        dropped_redirect,
    });
    Ok(o)
}

/// A cron command line in exec form: split when it is simple words,
/// `sh -c` when it uses the shell.
pub fn cron_command(job: &str) -> Vec<String> {
    let shelly = job.contains(['|', '>', '<', '&', ';', '$', '`', '*']);
    match shell::split(job) {
        Some(words) if !shelly && !words.is_empty() => words,
        _ => vec!["/bin/sh".into(), "-c".into(), job.to_string()],
    }
}

/// A cron line without its trailing output redirects (`>> /var/log/x.log 2>&1`,
/// `> /dev/null`, `&> file`, `2>&1`), and the redirects removed. A container's
/// output is its log (CloudWatch), so a job never writes its log to a file.
pub fn strip_output_redirects(job: &str) -> (String, Option<String>) {
    static TRAILING: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\s+(?:[12]?>&[12]|(?:[12]|&)?>>?\s*[^\s|;&<>`$()]+)\s*$").ok());
    let Some(re) = TRAILING.as_ref() else { return (job.to_string(), None) };
    let mut line = job.trim_end().to_string();
    let mut removed: Vec<String> = Vec::new();
    while let Some(m) = re.find(&line) {
        if m.start() == 0 {
            break;
        }
        removed.insert(0, m.as_str().trim().to_string());
        line.truncate(m.start());
    }
    if removed.is_empty() || line.trim().is_empty() {
        return (job.to_string(), None);
    }
    (line, Some(removed.join(" ")))
}

/// A job name usable as a schedule name: lower-case words joined by `-`.
pub fn job_name(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    let cut: String = out.chars().take(48).collect();
    if cut.is_empty() { "job".into() } else { cut.trim_end_matches('-').to_string() }
}

fn cron_file(a: &A, cx: &EmitCx) -> Result<TaskOutcome, Problem> {
    let text = if a.has("content") {
        a.req("content")?
    } else {
        let src = a.req("src")?;
        let kind = if a.task.module.short == "template" { RefKind::Template } else { RefKind::File };
        let repo_path = source_file(a.task, kind, Some(&src))
            .ok_or_else(|| Problem::Unclear(format!("the file `{src}` was not found in the repository")))?;
        let raw = cx.files.text(&repo_path).ok_or_else(|| Problem::Unclear(format!("`{repo_path}` cannot be read")))?;
        if kind == RefKind::Template && (is_jinja(raw) || raw.contains("{%")) {
            // The jobs are the rendered file's: a schedule never runs template text.
            match cx.templates.render(a.task, &repo_path, raw) {
                TemplateResult::Rendered { text, .. } => text,
                TemplateResult::AtStart { .. } => {
                    return Err(Problem::Unclear(format!(
                        "`{repo_path}` puts secrets or per-environment values into cron jobs; write the schedules \
                         by hand"
                    )));
                }
                TemplateResult::Failed(why) => {
                    return Err(Problem::Unclear(format!("`{repo_path}` cannot be rendered: {why}")));
                }
                TemplateResult::Unavailable => {
                    return Err(Problem::Unclear(format!("`{repo_path}` uses Jinja and no renderer is wired in")));
                }
            }
        } else {
            raw.to_string()
        }
    };
    let jobs = units::cron_d(&text);
    if jobs.iter().any(|j| j.command.iter().any(|w| is_jinja(w))) {
        return Err(Problem::Unresolved("content".into()));
    }
    if jobs.is_empty() {
        return Ok(TaskOutcome::dropped(a.code, "the cron file holds no job"));
    }
    let mut o = TaskOutcome::converted(a.code);
    o.jobs = jobs;
    Ok(o)
}

/// File-name-safe text.
fn sanitize(s: &str) -> String {
    let out: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "file".into() } else { out }
}

fn sanitize_file(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '-' })
        .collect();
    if out.is_empty() || out.starts_with('.') { format!("file{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_pins() {
        assert_eq!(package("nginx=1.22*", "os"), Package { name: "nginx".into(), version: Some("1.22*".into()) });
        assert_eq!(package("gunicorn==21.2", "pip").version.as_deref(), Some("21.2"));
        assert_eq!(package("pm2@5", "npm").version.as_deref(), Some("5"));
        assert_eq!(package("curl", "os").version, None);
    }

    #[test]
    fn names() {
        assert_eq!(job_name("Nightly backup (db)"), "nightly-backup-db");
        assert_eq!(env_name_for("/etc/app/secret.key"), "FILE_ETC_APP_SECRET_KEY");
        assert_eq!(context_path("/etc/../nginx/./x.conf"), "files/etc/nginx/x.conf");
        assert_eq!(cron_command("/usr/bin/backup --full"), vec!["/usr/bin/backup", "--full"]);
        assert_eq!(cron_command("backup > /dev/null 2>&1")[0], "/bin/sh");
    }

    #[test]
    fn cron_output_goes_to_the_container_output() {
        let strip = |s: &str| strip_output_redirects(s);
        assert_eq!(
            strip("/opt/x/report.py >> /var/log/x/report.log 2>&1"),
            ("/opt/x/report.py".to_string(), Some(">> /var/log/x/report.log 2>&1".to_string()))
        );
        assert_eq!(strip("backup --full > /dev/null").0, "backup --full");
        assert_eq!(strip("a.sh &>>/tmp/a.log").0, "a.sh");
        assert_eq!(strip("a | b > /tmp/out").0, "a | b");
        // Redirects inside the command and commands that are only a redirect stay.
        assert_eq!(strip("a > /tmp/x; b"), ("a > /tmp/x; b".to_string(), None));
        assert_eq!(strip("> /tmp/x"), ("> /tmp/x".to_string(), None));
        assert_eq!(cron_command(&strip("/opt/x/report.py >> /var/log/r.log 2>&1").0), vec!["/opt/x/report.py"]);
    }

    #[test]
    fn regex_portability() {
        assert!(portable_regex("^PermitRootLogin"));
        assert!(!portable_regex("^\\s*Port"));
        assert!(!portable_regex("a|b"));
    }
}
