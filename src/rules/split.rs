//! Service splitting: one long-running process per image.
//!
//! Owns the decisions that look at the whole run: which processes the VM ran
//! (service tasks, systemd units, supervisor programs, init scripts, daemon
//! packages, cron-only roles), what each becomes (its own image, a pair, a
//! sidecar, a managed AWS service, dropped), which tasks feed which image
//! (notify → handler → service, the task's own claim, daemon packages, owned
//! paths, role membership, shared-role essentials), the base image and the
//! process user. Every task ends in exactly one [`TaskAccount`].
//!
//! It never writes Dockerfile text and never reads a secret.

use std::collections::{BTreeMap, BTreeSet};

use super::catalog::{CatalogDisposition, ServiceEntry};
use super::emit::{self, EmitCx, OutcomeKind, RepoFiles, TaskOutcome, TemplateRenderer, VarSource};
use super::ruleset::RuleSet;
use super::shell;
use super::units::Definition;
use crate::config::Config;
use crate::diagnostics::{Code, Finding, Severity};
use crate::model::Origin;
use crate::model::Project;
use crate::model::resolved::{ResolvedRun, ResolvedTask};
use crate::model::target::BaseChoice;
use crate::spec::image::{
    BaseImage, BuildStep, ContextFile, Conversion, Disposition, EnvSource, EnvValue, EnvVar, HealthCheck, ImageSpec,
    JobSpec, LogLink, ManagedService, MigrationReport, PackageFamily, Pair, Port, Process, Protocol, ReportItem,
    ServiceKind, Sidecar, StartCheck, StartFile, StepAction, TaskAccount,
};

pub use crate::model::target::DEFAULT_BASE;
/// The unprivileged user created when nothing else names one.
pub const APP_USER: &str = "app";
pub const APP_UID: u32 = 10001;

/// Everything the converter reads.
pub struct Inputs<'a> {
    pub project: &'a Project,
    pub files: &'a dyn RepoFiles,
    pub run: &'a ResolvedRun,
    pub config: &'a Config,
    pub rules: &'a RuleSet,
    pub templates: &'a dyn TemplateRenderer,
    /// The base image, chosen before resolution (`model::target::base_image`).
    pub base: &'a BaseChoice,
}

/// One task of the run with its outcome.
struct Item<'a> {
    play: usize,
    task: &'a ResolvedTask,
    outcome: TaskOutcome,
    /// Services it feeds (image names), decided by [`assign`].
    services: BTreeSet<String>,
    /// Set when the splitter overrides the outcome (shared role, managed service...).
    decision: Option<(OutcomeKind, String, String)>,
}

/// A process the VM ran.
#[derive(Debug, Clone)]
struct Service {
    name: String,
    catalog: Option<ServiceEntry>,
    version: Option<String>,
    definition: Option<Definition>,
    disposition: CatalogDisposition,
    roles: BTreeSet<String>,
    plays: BTreeSet<usize>,
    origin: Origin,
    /// A cron-only role's image.
    jobs_only: bool,
}

/// Where a process was found.
struct Site {
    origin: Origin,
    role: Option<String>,
    plays: BTreeSet<usize>,
}

impl Site {
    fn of(item: &Item) -> Site {
        Site {
            origin: item.task.origin.clone(),
            role: item.task.role.as_ref().map(|r| r.name.clone()),
            plays: BTreeSet::from([item.play]),
        }
    }
}

/// Services that Packer shell provisioners enable or start, with the provisioner's origin.
fn packer_enabled_services(project: &Project) -> Vec<(String, Origin)> {
    use crate::model::packer::ProvisionerAction;
    static ENABLE: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?:systemctl\s+(?:enable|start|restart)\s+(?:--now\s+)?|update-rc\.d\s+|chkconfig\s+|service\s+)([A-Za-z0-9_.@-]+)",
        )
        .ok()
    });
    let Some(re) = ENABLE.as_ref() else { return Vec::new() };
    let mut out: Vec<(String, Origin)> = Vec::new();
    let mut templates: Vec<_> = project.packer.iter().collect();
    templates.sort_by(|a, b| a.path.cmp(&b.path));
    for t in templates {
        for build in &t.builds {
            for p in &build.provisioners {
                let ProvisionerAction::Shell(sh) = &p.action else { continue };
                for line in &sh.inline {
                    for caps in re.captures_iter(&line.resolved) {
                        let name = caps[1].trim_end_matches(".service").to_string();
                        if matches!(name.as_str(), "daemon-reload" | "--now" | "-q") {
                            continue;
                        }
                        if !out.iter().any(|(n, _)| n == &name) {
                            out.push((name, line.origin.clone()));
                        }
                    }
                }
            }
        }
    }
    out
}

/// Runs the whole conversion for one resolved run.
pub fn convert(inputs: &Inputs) -> (Conversion, Vec<Finding>) {
    let mut findings = Vec::new();
    let base = base_image(inputs, &mut findings);
    let cx = EmitCx { family: base.family, files: inputs.files, templates: inputs.templates };
    let catalog = &inputs.rules.catalog;

    // 1. Each task on its own, in parallel (rendering `template:` sources is most of
    // the stage); the outcomes come back in task order.
    let tasks: Vec<(usize, &ResolvedTask)> = inputs
        .run
        .plays
        .iter()
        .enumerate()
        .flat_map(|(p, play)| play.tasks.iter().chain(play.handlers.iter()).map(move |t| (p, t)))
        .collect();
    let mut items: Vec<Item> = {
        use rayon::prelude::*;
        tasks
            .par_iter()
            .map(|&(play, task)| {
                let outcome = emit::apply(inputs.rules, task, &cx);
                Item { play, task, outcome, services: BTreeSet::new(), decision: None }
            })
            .collect()
    };

    // 2. The processes.
    let mut services: BTreeMap<String, Service> = BTreeMap::new();
    let add = |services: &mut BTreeMap<String, Service>,
               name: &str,
               definition: Option<Definition>,
               at: Site,
               jobs_only: bool| {
        let by_name = catalog.by_service_name(name);
        let by_program = definition
            .as_ref()
            .and_then(|d| d.command_line.as_deref())
            .and_then(shell::split)
            .and_then(|w| w.first().cloned())
            .and_then(|p| catalog.by_program(&p).cloned());
        let (key, entry, version) = match (&by_name, &by_program) {
            (Some((e, v)), _) => (e.name.clone(), Some((*e).clone()), v.clone()),
            (None, Some(e)) => (name.to_string(), Some(e.clone()), None),
            (None, None) => (name.to_string(), None, None),
        };
        let role = at.role;
        let s = services.entry(key.clone()).or_insert_with(|| Service {
            name: key.clone(),
            disposition: entry.as_ref().map_or(CatalogDisposition::Own, |e| e.disposition),
            catalog: entry.clone(),
            version: version.clone(),
            definition: None,
            roles: BTreeSet::new(),
            plays: BTreeSet::new(),
            origin: at.origin.clone(),
            jobs_only,
        });
        if let Some(d) = definition {
            s.definition.get_or_insert(d);
        }
        if s.version.is_none() {
            s.version = version;
        }
        if !jobs_only {
            s.jobs_only = false;
        }
        // A shared role never ties its other tasks to a process it happens to mention.
        s.roles.extend(role.filter(|r| !catalog.is_shared_role(r)));
        s.plays.extend(at.plays);
    };
    for item in &items {
        if item.outcome.disposition != OutcomeKind::Converted {
            continue;
        }
        for d in &item.outcome.definitions {
            add(&mut services, &d.name.clone(), Some(d.clone()), Site::of(item), false);
        }
        if item.task.is_handler {
            continue;
        }
        for name in &item.outcome.claims {
            add(&mut services, name, None, Site::of(item), false);
        }
        for step in &item.outcome.steps {
            if let StepAction::InstallPackages { packages, .. } = step {
                for p in packages {
                    if let Some(e) = catalog.by_package(&p.name) {
                        add(&mut services, &e.name.clone(), None, Site::of(item), false);
                    }
                }
            }
        }
    }
    // Roles with cron jobs and no process of their own become jobs images.
    // A dropped daemon (the `cron` package itself) does not give the role a process.
    let roles_with_services: BTreeSet<String> = services
        .values()
        .filter(|s| s.disposition != CatalogDisposition::Drop)
        .flat_map(|s| s.roles.iter().cloned())
        .collect();
    for item in &items {
        if item.outcome.jobs.is_empty() || item.outcome.disposition != OutcomeKind::Converted {
            continue;
        }
        let role = item.task.role.as_ref().map(|r| r.name.clone());
        match role {
            Some(r) if roles_with_services.contains(&r) => {}
            Some(r) if !catalog.is_shared_role(&r) => add(&mut services, &r.clone(), None, Site::of(item), true),
            _ => add(&mut services, "jobs", None, Site::of(item), true),
        }
    }
    // Packer shell provisioners that enable daemons (`systemctl enable nginx`).
    let all_plays: BTreeSet<usize> = (0..inputs.run.plays.len()).collect();
    for (name, origin) in packer_enabled_services(inputs.project) {
        let known = catalog.by_service_name(&name).is_some() || services.contains_key(&name);
        if known {
            add(&mut services, &name, None, Site { origin, role: None, plays: all_plays.clone() }, false);
        } else {
            findings.push(finding(
                rule_code(inputs.rules, "M357"),
                Severity::Warning,
                &origin,
                format!("Packer enables `{name}`, which no role defines and the catalog does not know; add its image by hand"),
            ));
        }
    }
    // `containerize: true` and the managed default.
    for s in services.values_mut() {
        if s.disposition == CatalogDisposition::Managed
            && inputs.config.services.get(&s.name).and_then(|c| c.containerize) == Some(true)
        {
            s.disposition = CatalogDisposition::Own;
        }
    }

    // A process nobody can start in the foreground is not built: it, and the tasks
    // that feed only it, need a human (a failing image would hide the rest).
    for s in services.values_mut() {
        if matches!(s.disposition, CatalogDisposition::Own | CatalogDisposition::Pair)
            && !s.jobs_only
            && !has_command(s, base.family)
        {
            s.disposition = CatalogDisposition::Human;
        }
    }

    // 3. Which tasks feed which process.
    assign(&mut items, &services, inputs, &mut findings);

    // 4. Images and the rest.
    let mut conversion = Conversion::default();
    let own: Vec<&Service> = services
        .values()
        .filter(|s| matches!(s.disposition, CatalogDisposition::Own | CatalogDisposition::Pair))
        .collect();
    // Each image reads only the tasks that feed it or come from its roles: index them
    // once instead of scanning every task per service (quadratic on large repos).
    let mut by_service: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut by_role: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        for name in &item.services {
            by_service.entry(name.as_str()).or_default().push(i);
        }
        if let Some(r) = &item.task.role {
            by_role.entry(r.name.as_str()).or_default().push(i);
        }
    }
    let probes = loopback_probes(&items);
    // Images are built in parallel, each with its own findings, merged in service order.
    // Collected straight into the image list: pushing each large `ImageSpec` into a
    // growing vector afterwards was a visible copy in the stage's sequential part.
    let (images, image_findings): (Vec<ImageSpec>, Vec<Vec<Finding>>) = {
        use rayon::prelude::*;
        own.par_iter()
            .map(|s| {
                let mut relevant: BTreeSet<usize> =
                    by_service.get(s.name.as_str()).into_iter().flatten().copied().collect();
                for r in &s.roles {
                    relevant.extend(by_role.get(r.as_str()).into_iter().flatten().copied());
                }
                let relevant: Vec<&Item> = relevant.into_iter().map(|i| &items[i]).collect();
                let mut image_findings = Vec::new();
                let image = build_image(s, &relevant, &items, &probes, &base, inputs, &mut image_findings);
                (image, image_findings)
            })
            .unzip()
    };
    conversion.images = images;
    findings.extend(image_findings.into_iter().flatten());
    for s in services.values() {
        let code = |c: &str| rule_code(inputs.rules, c);
        match s.disposition {
            CatalogDisposition::Managed => {
                let replacement = s.catalog.as_ref().and_then(|e| e.replacement.clone()).unwrap_or_default();
                findings.push(finding(
                    code("M352"),
                    Severity::Info,
                    &s.origin,
                    format!(
                        "`{}` becomes {replacement} (set services.{}.containerize to build an image)",
                        s.name, s.name
                    ),
                ));
                conversion.managed.push(ManagedService {
                    service: s.name.clone(),
                    replacement,
                    origin: s.origin.clone(),
                });
            }
            CatalogDisposition::Sidecar => {
                let e = s.catalog.as_ref();
                findings.push(finding(
                    code("M353"),
                    Severity::Info,
                    &s.origin,
                    format!("`{}` runs as a sidecar", s.name),
                ));
                conversion.sidecars.push(Sidecar {
                    service: s.name.clone(),
                    image: e.and_then(|e| e.image.clone()).unwrap_or_default(),
                    reason: e.map(|e| e.reason.clone()).unwrap_or_default(),
                    origin: s.origin.clone(),
                });
            }
            CatalogDisposition::Drop => {
                let reason = s.catalog.as_ref().map(|e| e.reason.clone()).unwrap_or_default();
                findings.push(finding(
                    code("M354"),
                    Severity::Info,
                    &s.origin,
                    format!("`{}` dropped: {reason}", s.name),
                ));
            }
            CatalogDisposition::Pair => {
                let with = s.catalog.as_ref().and_then(|e| e.pair_with.clone()).unwrap_or_default();
                let reason = s.catalog.as_ref().map(|e| e.reason.clone()).unwrap_or_default();
                if !own.iter().any(|o| o.name == with) {
                    findings.push(finding(
                        code("M359"),
                        Severity::Warning,
                        &s.origin,
                        format!("`{}` pairs with `{with}`, which this run does not build; it needs a web tier", s.name),
                    ));
                }
                conversion.pairs.push(Pair { service: s.name.clone(), with, reason });
            }
            CatalogDisposition::Human => {
                findings.push(finding(
                    code("M357"),
                    Severity::Warning,
                    &s.origin,
                    format!(
                        "no foreground command is known for `{}` (no unit, program or catalog entry names it); \
                         no image is built: write its image by hand",
                        s.name
                    ),
                ));
            }
            CatalogDisposition::Own => {}
        }
    }
    conversion.pairs.sort();

    // 5. Accounting: exactly one entry per task, each built on its own (on both cores),
    // added in task order. Each item is freed where its entry is built (freeing the
    // outcomes one after another on this thread was visible at 1,000 roles).
    let accounts: Vec<(TaskAccount, Vec<Finding>)> = {
        use rayon::prelude::*;
        items.into_par_iter().map(|item| account(&item, inputs.rules)).collect()
    };
    for (account, task_findings) in accounts {
        findings.extend(task_findings);
        conversion.accounting.push(account);
    }
    conversion.images.sort_by(|a, b| a.service.cmp(&b.service));
    conversion.managed.sort_by(|a, b| a.service.cmp(&b.service));
    conversion.sidecars.sort_by(|a, b| a.service.cmp(&b.service));
    crate::diagnostics::normalize(&mut findings);
    (conversion, findings)
}

/// The task's entry in the accounting, and the findings its outcome carries.
fn account(item: &Item, rules: &RuleSet) -> (TaskAccount, Vec<Finding>) {
    let title = title(item.task);
    let (kind, code, reason) = match &item.decision {
        Some((k, c, r)) => (*k, c.clone(), r.clone()),
        None => (item.outcome.disposition, item.outcome.code.clone(), item.outcome.reason.clone().unwrap_or_default()),
    };
    let disposition = match kind {
        OutcomeKind::Skipped => Disposition::Skipped { condition: reason },
        OutcomeKind::Dropped => Disposition::Dropped { code, reason },
        OutcomeKind::NeedsHuman => Disposition::NeedsHuman { code, reason },
        OutcomeKind::Converted => Disposition::Converted { services: item.services.iter().cloned().collect(), code },
    };
    let findings = item
        .outcome
        .findings
        .iter()
        .map(|(severity, message)| {
            let (c, msg) = split_code(message, &item.outcome.code);
            finding(rule_code(rules, &c), *severity, &item.task.origin, msg)
        })
        .collect();
    (TaskAccount { origin: item.task.origin.clone(), title, disposition }, findings)
}

/// A message may start with its own code (`M802 ...`); otherwise the rule's.
fn split_code(message: &str, default: &str) -> (String, String) {
    let first = message.split_whitespace().next().unwrap_or("");
    if first.len() == 4 && first.starts_with('M') && first[1..].bytes().all(|b| b.is_ascii_digit()) {
        return (first.to_string(), message[first.len()..].trim().to_string());
    }
    (default.to_string(), message.to_string())
}

/// The task's name (or module and main argument), with the loop item it was
/// expanded for when the name does not already show it: `Create dirs (item: /opt/app)`.
fn title(task: &ResolvedTask) -> String {
    let base = base_title(task);
    match task.loop_item.as_ref().and_then(item_label).filter(|_| !task.no_log) {
        Some(label) if !base.contains(&label) => format!("{base} (item: {label})"),
        _ => base,
    }
}

/// A short label for a loop item: a scalar as it is, a mapping by its first naming
/// key (`name`, `path`, `dest`...). Other values (and long ones) are not shown, so a
/// list of users never prints its password hashes.
fn item_label(item: &serde_json::Value) -> Option<String> {
    use serde_json::Value as J;
    let scalar = |v: &J| match v {
        J::String(s) => Some(s.clone()),
        J::Number(n) => Some(n.to_string()),
        J::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let label = match item {
        J::Object(map) => ["name", "path", "dest", "src", "key", "user", "package", "pkg", "repo", "url", "port"]
            .iter()
            .find_map(|k| map.get(*k).and_then(scalar))?,
        other => scalar(other)?,
    };
    let label = label.trim();
    (!label.is_empty() && label.chars().count() <= 80 && !label.contains(['\n', '\r'])).then(|| label.to_string())
}

fn base_title(task: &ResolvedTask) -> String {
    task.name.clone().unwrap_or_else(|| {
        let what = ["name", "dest", "path", "_raw_params", "src", "repo", "url"]
            .iter()
            .find_map(|k| task.args.get(*k).filter(|_| !task.secret_args.contains_key(*k)))
            .map(super::ruleset::value_text)
            .unwrap_or_default();
        let what: String = what.chars().take(60).collect();
        if what.is_empty() { task.module.short.clone() } else { format!("{} {what}", task.module.short) }
    })
}

/// Interns a rule code for a [`Finding`] (codes there are `&'static str`).
fn rule_code(rules: &RuleSet, code: &str) -> Code {
    use std::sync::{Mutex, OnceLock};
    static INTERNED: OnceLock<Mutex<BTreeMap<String, Code>>> = OnceLock::new();
    let map = INTERNED.get_or_init(|| Mutex::new(BTreeMap::new()));
    let code = if code.is_empty() { "M801" } else { code };
    let mut guard = match map.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(c) = guard.get(code) {
        return *c;
    }
    let name = rules.get(code).map(|r| r.name.clone()).unwrap_or_else(|| "rule".into());
    let c = Code { id: Box::leak(code.to_string().into_boxed_str()), name: Box::leak(name.into_boxed_str()) };
    guard.insert(code.to_string(), c);
    c
}

fn finding(code: Code, severity: Severity, origin: &Origin, message: impl Into<String>) -> Finding {
    Finding::new(code, severity, origin.path.to_string(), origin.line, message)
}

/// The base image the command chose (`model::target::base_image`), with its
/// package family; the default is reported (M350).
fn base_image(inputs: &Inputs, findings: &mut Vec<Finding>) -> BaseImage {
    let b = inputs.base;
    if b.defaulted {
        findings.push(Finding::new(
            rule_code(inputs.rules, "M350"),
            Severity::Warning,
            "",
            0,
            format!("no base image in migrate.yaml or Packer; using `{}` (set `base_image.image`)", b.image),
        ));
    }
    BaseImage {
        reference: b.image.clone(),
        family: b.family.as_deref().and_then(family_named).unwrap_or_else(|| guess_family(&b.image)),
        reason: b.reason.clone(),
        origin: b.origin.clone(),
    }
}

fn family_named(s: &str) -> Option<PackageFamily> {
    Some(match s {
        "apt" => PackageFamily::Apt,
        "dnf" => PackageFamily::Dnf,
        "yum" => PackageFamily::Yum,
        "microdnf" => PackageFamily::Microdnf,
        "apk" => PackageFamily::Apk,
        _ => return None,
    })
}

/// The package manager of an image, from its name.
pub fn guess_family(image: &str) -> PackageFamily {
    let i = image.to_ascii_lowercase();
    if i.contains("alpine") {
        PackageFamily::Apk
    } else if i.contains("ubi-minimal") || i.contains("ubi8-minimal") || i.contains("ubi9-minimal") {
        PackageFamily::Microdnf
    } else if i.contains("amazonlinux:2023")
        || i.contains("fedora")
        || i.contains("rocky")
        || i.contains("alma")
        || i.contains("ubi")
        || i.contains("centos:stream")
        || i.contains("oraclelinux:8")
        || i.contains("oraclelinux:9")
    {
        PackageFamily::Dnf
    } else if i.contains("amazonlinux") || i.contains("centos") || i.contains("oraclelinux") {
        PackageFamily::Yum
    } else {
        PackageFamily::Apt
    }
}

fn is_under(path: &str, dir: &str) -> bool {
    if dir.ends_with('/') { path.starts_with(dir) || path == dir.trim_end_matches('/') } else { path == dir }
}

/// Paths a task writes (for owned-path attachment).
fn written_paths(outcome: &TaskOutcome) -> Vec<String> {
    let mut v = Vec::new();
    for s in &outcome.steps {
        match s {
            StepAction::Copy { dest, .. } => v.push(dest.clone()),
            StepAction::MakeDirectory { path, .. } | StepAction::Remove { path } => v.push(path.clone()),
            StepAction::Symlink { link, .. } => v.push(link.clone()),
            StepAction::Download { dest, .. } | StepAction::Extract { dest, .. } => v.push(dest.clone()),
            _ => {}
        }
    }
    v.extend(outcome.start_files.iter().map(|f| f.dest.clone()));
    v
}

/// Is this task only a container essential (CA certificates, locales, users)?
fn essential(outcome: &TaskOutcome, rules: &RuleSet) -> bool {
    // Environment variables (`/etc/environment` lines) reach every process on a VM, so
    // every image of the play.
    (!outcome.steps.is_empty() || !outcome.env.is_empty())
        && outcome.steps.iter().all(|s| match s {
            StepAction::InstallPackages { packages, .. } => {
                packages.iter().all(|p| rules.catalog.is_essential_package(&p.name))
            }
            StepAction::CreateUser { system: false, .. } | StepAction::CreateGroup { .. } => true,
            StepAction::Run { commands, .. } => commands.iter().all(|c| c.starts_with("localedef ")),
            _ => false,
        })
}

fn assign(items: &mut [Item], services: &BTreeMap<String, Service>, inputs: &Inputs, findings: &mut Vec<Finding>) {
    let catalog = &inputs.rules.catalog;
    let key_of = |name: &str| -> Option<String> {
        if services.contains_key(name) {
            return Some(name.to_string());
        }
        catalog.by_service_name(name).map(|(e, _)| e.name.clone()).filter(|k| services.contains_key(k))
    };
    // Handler name/listen → the services it restarts.
    let mut handler_services: BTreeMap<(usize, String), BTreeSet<String>> = BTreeMap::new();
    for item in items.iter().filter(|i| i.task.is_handler) {
        let targets: BTreeSet<String> = item.outcome.claims.iter().filter_map(|c| key_of(c)).collect();
        let mut names = item.task.listen.clone();
        names.extend(item.task.name.clone());
        for n in names {
            handler_services.entry((item.play, n)).or_default().extend(targets.iter().cloned());
        }
    }
    let by_role: BTreeMap<String, BTreeSet<String>> = {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for s in services.values() {
            for r in &s.roles {
                m.entry(r.clone()).or_default().insert(s.name.clone());
            }
        }
        m
    };
    // The images of each play, and the services that own paths, computed once
    // (per task they cost a pass over every service: quadratic on large repos).
    // A process that needs a human still claims its play's tasks: they need the same human.
    let mut own_by_play: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut app_by_play: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for s in services.values() {
        if !matches!(s.disposition, CatalogDisposition::Own | CatalogDisposition::Pair | CatalogDisposition::Human) {
            continue;
        }
        let app = s.catalog.as_ref().is_none_or(|e| matches!(e.kind, ServiceKind::App | ServiceKind::Worker));
        for &play in &s.plays {
            own_by_play.entry(play).or_default().insert(s.name.clone());
            if app {
                app_by_play.entry(play).or_default().insert(s.name.clone());
            }
        }
    }
    let own_in_play = |play: usize| -> BTreeSet<String> { own_by_play.get(&play).cloned().unwrap_or_default() };
    let app_in_play = |play: usize| -> BTreeSet<String> { app_by_play.get(&play).cloned().unwrap_or_default() };
    let path_owners: Vec<(&String, &ServiceEntry)> = services
        .values()
        .filter_map(|s| s.catalog.as_ref().filter(|e| !e.owns.is_empty()).map(|e| (&s.name, e)))
        .collect();
    // The images of every play whose hosts this play's hosts include (by inventory group;
    // `hosts: all` covers them all).
    let images_on_hosts_of = |play: usize| -> BTreeSet<String> {
        let Some(this) = inputs.run.plays.get(play) else { return BTreeSet::new() };
        let covers = |other: usize| {
            inputs
                .run
                .plays
                .get(other)
                .is_some_and(|o| this.hosts.trim() == "all" || o.groups.iter().any(|g| this.groups.contains(g)))
        };
        services
            .values()
            .filter(|s| matches!(s.disposition, CatalogDisposition::Own | CatalogDisposition::Pair))
            .filter(|s| s.plays.iter().any(|p| covers(*p)))
            .map(|s| s.name.clone())
            .collect()
    };

    // Each task on its own, on both cores (they only read what was computed above); a task
    // that feeds no process comes back with its play, its origin and its title.
    let feed = |item: &mut Item| -> Option<(usize, (Origin, String))> {
        if item.outcome.disposition != OutcomeKind::Converted {
            return None;
        }
        let mut targets: BTreeSet<String> = BTreeSet::new();
        // The task's own claims and definitions.
        for c in &item.outcome.claims {
            targets.extend(key_of(c));
        }
        for d in &item.outcome.definitions {
            targets.extend(key_of(&d.name));
        }
        // notify → handler → service.
        for n in &item.task.notify {
            if let Some(s) = handler_services.get(&(item.play, n.clone())) {
                targets.extend(s.iter().cloned());
            }
        }
        // Daemon packages.
        for step in &item.outcome.steps {
            if let StepAction::InstallPackages { packages, .. } = step {
                for p in packages {
                    if let Some(e) = catalog.by_package(&p.name) {
                        targets.extend(key_of(&e.name));
                    }
                }
            }
        }
        // Owned paths.
        if targets.is_empty() {
            for path in written_paths(&item.outcome) {
                for (name, e) in &path_owners {
                    if e.owns.iter().any(|o| is_under(&path, o)) {
                        targets.insert((*name).clone());
                    }
                }
            }
        }
        let role = item.task.role.as_ref().map(|r| r.name.clone());
        // Role membership.
        if targets.is_empty()
            && let Some(r) = &role
            && let Some(s) = by_role.get(r)
        {
            targets.extend(s.iter().cloned());
        }
        if targets.is_empty() {
            let shared = role.as_deref().is_some_and(|r| catalog.is_shared_role(r));
            // A shared role's package list keeps only its container essentials.
            if shared && !essential(&item.outcome, inputs.rules) {
                let mut kept = item.outcome.steps.clone();
                for step in &mut kept {
                    if let StepAction::InstallPackages { packages, .. } = step {
                        packages.retain(|p| catalog.is_essential_package(&p.name));
                    }
                }
                kept.retain(|s| !matches!(s, StepAction::InstallPackages { packages, .. } if packages.is_empty()));
                let candidate = TaskOutcome { steps: kept.clone(), ..Default::default() };
                if !kept.is_empty() && essential(&candidate, inputs.rules) {
                    item.outcome.steps = kept;
                    item.outcome.findings.push((
                        Severity::Info,
                        "M355 only the container essentials of this shared-role task are kept".into(),
                    ));
                }
            }
            if essential(&item.outcome, inputs.rules) {
                let mut own = own_in_play(item.play);
                if own.is_empty() && item.outcome.steps.is_empty() {
                    // Environment set by a baseline play (`hosts: all`) reaches the hosts of
                    // every other play it covers.
                    own = images_on_hosts_of(item.play);
                }
                if own.is_empty() {
                    item.decision =
                        Some((OutcomeKind::Dropped, "M355".into(), "no image in this play needs it".into()));
                    return None;
                } else {
                    targets = own;
                }
            } else if shared {
                item.decision = Some((
                    OutcomeKind::Dropped,
                    "M355".into(),
                    format!(
                        "shared role `{}`: only CA certificates, locales, users and `/etc/environment` reach the images",
                        role.clone().unwrap_or_default()
                    ),
                ));
                return None;
            } else {
                let apps = app_in_play(item.play);
                let all = own_in_play(item.play);
                targets = if !apps.is_empty() { apps } else { all };
                // A play that runs a host platform daemon (a container runtime, a Kubernetes
                // node) and no image provisions the host: its other tasks go with the daemon.
                let dropped: Vec<String> = services
                    .values()
                    .filter(|s| s.plays.contains(&item.play) && s.disposition == CatalogDisposition::Drop)
                    .filter(|s| s.catalog.as_ref().is_some_and(|e| e.provisions_host))
                    .map(|s| format!("`{}`", s.name))
                    .collect();
                if targets.is_empty() && !dropped.is_empty() {
                    item.decision = Some((
                        OutcomeKind::Dropped,
                        "M354".into(),
                        format!(
                            "the play's only processes ({}) are dropped: it provisions the host, not a container",
                            dropped.join(", ")
                        ),
                    ));
                    return None;
                }
                if targets.is_empty() {
                    item.decision = Some((
                        OutcomeKind::NeedsHuman,
                        "M356".into(),
                        "no long-running process in this play to attach it to".into(),
                    ));
                    return Some((item.play, (item.task.origin.clone(), title(item.task))));
                }
            }
        }
        // Only images are built: tasks of managed, sidecar and dropped services are dropped.
        let built: BTreeSet<String> = targets
            .iter()
            .filter(|t| {
                services
                    .get(*t)
                    .is_some_and(|s| matches!(s.disposition, CatalogDisposition::Own | CatalogDisposition::Pair))
            })
            .cloned()
            .collect();
        // A package install that also brings a dropped daemon (`apt: [python3, supervisor]`)
        // keeps its other packages for the image its role (or play) builds.
        let only_dropped = !targets.is_empty()
            && targets.iter().all(|t| services.get(t).is_some_and(|s| s.disposition == CatalogDisposition::Drop));
        if built.is_empty() && only_dropped {
            let dropped_pkg = |name: &str| catalog.by_package(name).is_some_and(|e| targets.contains(&e.name));
            let mut kept = item.outcome.steps.clone();
            let mut left_out: Vec<String> = Vec::new();
            for step in &mut kept {
                if let StepAction::InstallPackages { packages, .. } = step {
                    left_out.extend(packages.iter().filter(|p| dropped_pkg(&p.name)).map(|p| p.name.clone()));
                    packages.retain(|p| !dropped_pkg(&p.name));
                }
            }
            kept.retain(|s| !matches!(s, StepAction::InstallPackages { packages, .. } if packages.is_empty()));
            let has_install = kept.iter().any(|s| matches!(s, StepAction::InstallPackages { .. }));
            let mut hosts: BTreeSet<String> = role
                .as_ref()
                .and_then(|r| by_role.get(r))
                .map(|set| {
                    set.iter()
                        .filter(|t| {
                            services.get(*t).is_some_and(|s| {
                                matches!(s.disposition, CatalogDisposition::Own | CatalogDisposition::Pair)
                            })
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            if hosts.is_empty() {
                hosts = app_in_play(item.play);
            }
            if has_install && !left_out.is_empty() && !hosts.is_empty() {
                item.outcome.steps = kept;
                item.outcome.findings.push((
                    Severity::Info,
                    format!(
                        "M354 the dropped daemon package(s) {} are left out; the others are installed",
                        left_out.join(", ")
                    ),
                ));
                item.services = hosts;
                return None;
            }
        }
        if built.is_empty() {
            let reason = targets
                .iter()
                .filter_map(|t| services.get(t))
                .map(|s| {
                    let e = s.catalog.as_ref();
                    match s.disposition {
                        CatalogDisposition::Managed => format!(
                            "`{}` is replaced by {}",
                            s.name,
                            e.and_then(|e| e.replacement.clone()).unwrap_or_default()
                        ),
                        CatalogDisposition::Sidecar => format!("`{}` runs as a vendor sidecar", s.name),
                        _ => format!("`{}` is dropped: {}", s.name, e.map(|e| e.reason.clone()).unwrap_or_default()),
                    }
                })
                .collect::<Vec<_>>()
                .join("; ");
            let code = targets
                .iter()
                .filter_map(|t| services.get(t))
                .map(|s| match s.disposition {
                    CatalogDisposition::Managed => "M352",
                    CatalogDisposition::Sidecar => "M353",
                    _ => "M354",
                })
                .next()
                .unwrap_or("M354");
            let human: Vec<String> = targets
                .iter()
                .filter_map(|t| services.get(t))
                .filter(|s| s.disposition == CatalogDisposition::Human)
                .map(|s| format!("`{}`", s.name))
                .collect();
            item.decision = if human.is_empty() {
                Some((OutcomeKind::Dropped, code.into(), reason))
            } else {
                Some((
                    OutcomeKind::NeedsHuman,
                    "M357".into(),
                    format!("feeds {}, whose foreground command is unknown: no image is built", human.join(", ")),
                ))
            };
            return None;
        }
        item.services = built;
        None
    };
    let orphaned: Vec<Option<(usize, (Origin, String))>> = {
        use rayon::prelude::*;
        items.par_iter_mut().map(feed).collect()
    };
    // Tasks that feed no process, by play: one finding per play (each task is in the accounting).
    let mut orphans: BTreeMap<usize, Vec<(Origin, String)>> = BTreeMap::new();
    for (play, task) in orphaned.into_iter().flatten() {
        orphans.entry(play).or_default().push(task);
    }
    for (play, tasks) in orphans {
        let Some((origin, first)) = tasks.first() else { continue };
        let play_name = inputs.run.plays.get(play).and_then(|p| p.name.clone());
        let play_text = play_name.map(|n| format!("the play `{n}`")).unwrap_or_else(|| "this play".into());
        let message = match tasks.len() {
            1 => format!("`{first}` feeds no process of {play_text}; decide which image needs it"),
            n => format!(
                "`{first}` and {} more task(s) of {play_text} feed no long-running process (the play runs none); \
                 decide which image needs them",
                n - 1
            ),
        };
        findings.push(finding(rule_code(inputs.rules, "M356"), Severity::Warning, origin, message));
    }
}

fn build_image(
    s: &Service,
    items: &[&Item],
    all_items: &[Item],
    probes: &LoopbackProbes,
    base: &BaseImage,
    inputs: &Inputs,
    findings: &mut Vec<Finding>,
) -> ImageSpec {
    let entry = s.catalog.as_ref();
    let mut steps = Vec::new();
    let mut context: Vec<ContextFile> = Vec::new();
    let mut start_files = Vec::new();
    let mut env: Vec<EnvVar> = Vec::new();
    let mut jobs = Vec::new();
    let mut report = MigrationReport::default();
    let mut users: BTreeSet<String> = BTreeSet::new();
    let app = inputs.config.app_name().to_string();
    let parameter =
        |name: &str| crate::spec::parameter::service_parameter(&app, inputs.run.env.as_deref(), &s.name, name);

    let own_roles = &s.roles;
    for item in items {
        let role_match = item.task.role.as_ref().is_some_and(|r| own_roles.contains(&r.name));
        let feeds = item.services.contains(&s.name);
        if feeds {
            let t = title(item.task);
            for action in &item.outcome.steps {
                if let StepAction::CreateUser { name, .. } = action {
                    users.insert(name.clone());
                }
                steps.push(BuildStep {
                    origin: item.task.origin.clone(),
                    title: t.clone(),
                    rule: item.outcome.code.clone(),
                    action: action.clone(),
                });
            }
            for c in &item.outcome.context {
                if !context.iter().any(|x| x.path == c.path) {
                    context.push(ContextFile {
                        path: c.path.clone(),
                        content: c.content.clone(),
                        origin: item.task.origin.clone(),
                    });
                }
            }
            for f in &item.outcome.start_files {
                start_files.push(StartFile {
                    dest: f.dest.clone(),
                    template: f.template.clone(),
                    owner: f.owner.clone(),
                    mode: f.mode.clone(),
                    origin: item.task.origin.clone(),
                    reason: f.reason.clone(),
                });
            }
            for v in &item.outcome.env {
                if !env.iter().any(|e| e.name == v.name) {
                    let task = item.task.origin.clone();
                    let source = match &v.source {
                        VarSource::Variable(name) => Some(EnvSource::Variable { task, name: name.clone() }),
                        VarSource::TaskArg(key) => Some(EnvSource::TaskArg { task, key: key.clone() }),
                        VarSource::TaskArgLine { key, name } => {
                            Some(EnvSource::TaskArgLine { task, key: key.clone(), name: name.clone() })
                        }
                        VarSource::Literal(value) => {
                            Some(EnvSource::Literal { task, value: crate::sensitive::Sensitive::new(value.clone()) })
                        }
                        VarSource::Unknown => None,
                    };
                    env.push(EnvVar {
                        name: v.name.clone(),
                        value: EnvValue::Parameter { parameter: parameter(&v.name), secret: v.secret },
                        origin: item.task.origin.clone(),
                        source,
                    });
                }
            }
            let mut redirects: Vec<String> = Vec::new();
            for j in &item.outcome.jobs {
                if let Some(r) = &j.dropped_redirect {
                    redirects.push(format!("`{r}`"));
                }
                jobs.push(JobSpec {
                    name: j.name.clone(),
                    schedule: j.schedule.clone(),
                    command: j.command.clone(),
                    user: j.user.clone().filter(|u| u != "root"),
                    origin: item.task.origin.clone(),
                });
            }
            let mut why =
                item.outcome.definitions.first().map(|d| format!("defines the process `{}`", d.name)).unwrap_or_else(
                    || inputs.rules.get(&item.outcome.code).map(|r| r.summary.clone()).unwrap_or_default(),
                );
            for note in &item.outcome.notes {
                why.push_str(&format!("; {note}"));
            }
            if !redirects.is_empty() {
                why.push_str(&format!(
                    "; its output redirect {} is removed: the job writes to the container's output (CloudWatch Logs)",
                    redirects.join(", ")
                ));
            }
            report.converted.push(ReportItem {
                origin: item.task.origin.clone(),
                code: item.outcome.code.clone(),
                what: t,
                why,
            });
        } else if role_match {
            let (kind, code, reason) = match &item.decision {
                Some((k, c, r)) => (*k, c.clone(), r.clone()),
                None => (
                    item.outcome.disposition,
                    item.outcome.code.clone(),
                    item.outcome.reason.clone().unwrap_or_default(),
                ),
            };
            let ri = ReportItem { origin: item.task.origin.clone(), code, what: title(item.task), why: reason };
            match kind {
                OutcomeKind::Dropped | OutcomeKind::Skipped => report.dropped.push(ri),
                OutcomeKind::NeedsHuman => report.needs_human.push(ri),
                OutcomeKind::Converted => {}
            }
        }
    }

    // The process.
    let family = base.family;
    // The base image has one package manager: an install written for another one
    // (`yum:` on a Debian base) uses it under the same names (emit warned about them).
    for st in &mut steps {
        if let StepAction::InstallPackages { manager, .. } = &mut st.action {
            *manager = family;
        }
    }

    let def = s.definition.as_ref();
    let mut command: Vec<String> = Vec::new();
    if let Some(line) = def.and_then(|d| d.command_line.as_deref()) {
        if line.contains("{{") || line.contains("{%") {
            findings.push(finding(
                rule_code(inputs.rules, "M362"),
                Severity::Warning,
                &s.origin,
                format!("the command of `{}` is still a template; using the catalog's", s.name),
            ));
        } else if let Some(words) = shell::split(line) {
            command = foreground(words, entry);
            if line.contains('$') {
                command = vec!["/bin/sh".into(), "-c".into(), format!("exec {}", shell::join(&command))];
            }
        }
    }
    if command.is_empty()
        && let Some(e) = entry
    {
        command = e.command_for(family, s.version.as_deref());
    }
    if command.is_empty() && !s.jobs_only {
        findings.push(finding(
            rule_code(inputs.rules, "M357"),
            Severity::Error,
            &s.origin,
            format!("no foreground command is known for `{}`; write its CMD by hand", s.name),
        ));
        report.needs_human.push(ReportItem {
            origin: s.origin.clone(),
            code: "M357".into(),
            what: format!("run `{}`", s.name),
            why: "no unit, program or catalog entry names its command".into(),
        });
    }
    // A jobs image has no service: `docker run` without a command runs the first job
    // (by name) once, and each schedule overrides the command with its own job.
    let mut sorted_jobs: Vec<&JobSpec> = jobs.iter().filter(|j| !j.command.is_empty()).collect();
    sorted_jobs.sort_by(|a, b| a.name.cmp(&b.name));
    if s.jobs_only
        && command.is_empty()
        && let Some(j) = sorted_jobs.first()
    {
        command = j.command.clone();
        report.converted.push(ReportItem {
            origin: s.origin.clone(),
            code: "M358".into(),
            what: format!("run the jobs of `{}`", s.name),
            why: format!(
                "no long-running process: the default command runs the job `{}` once; each schedule (below) \
                 runs this image with its own job as the command override",
                j.name
            ),
        });
    }
    if s.jobs_only {
        findings.push(finding(
            rule_code(inputs.rules, "M358"),
            Severity::Info,
            &s.origin,
            format!("`{}` only runs scheduled jobs: its image has no long-running process", s.name),
        ));
    }
    // The user: the unit's, the catalog's, or a created unprivileged one; never root.
    let defined = def.and_then(|d| d.user.clone());
    let catalog_user = entry.and_then(|e| e.user_for(family)).map(str::to_string);
    let user = match defined {
        Some(u) if u != "root" && u != "0" => u,
        Some(_) => {
            let chosen = catalog_user.unwrap_or_else(|| APP_USER.to_string());
            findings.push(finding(
                rule_code(inputs.rules, "M351"),
                Severity::Warning,
                &s.origin,
                format!("`{}` ran as root on the VM; the image runs it as `{chosen}`", s.name),
            ));
            chosen
        }
        None if catalog_user.is_none() && service_account(&users, &sorted_jobs).is_some() => {
            service_account(&users, &sorted_jobs).unwrap_or_default()
        }
        None => catalog_user.unwrap_or_else(|| {
            findings.push(finding(
                rule_code(inputs.rules, "M351"),
                Severity::Info,
                &s.origin,
                format!("no user is named for `{}`; the image runs it as the created user `{APP_USER}`", s.name),
            ));
            APP_USER.to_string()
        }),
    };
    if user == APP_USER && !users.contains(APP_USER) {
        steps.push(BuildStep {
            origin: s.origin.clone(),
            title: format!("Create the unprivileged user `{APP_USER}`"),
            rule: "M351".into(),
            action: StepAction::CreateUser {
                name: APP_USER.into(),
                uid: Some(APP_UID),
                group: None,
                groups: Vec::new(),
                home: None,
                shell: None,
                system: false,
                create_home: false,
            },
        });
    }
    if let Some(d) = def {
        for (k, v) in &d.environment {
            if !env.iter().any(|e| &e.name == k) {
                env.push(EnvVar {
                    name: k.clone(),
                    value: EnvValue::Literal { value: v.clone() },
                    origin: s.origin.clone(),
                    source: None,
                });
            }
        }
        for f in &d.environment_files {
            findings.push(finding(
                rule_code(inputs.rules, "M361"),
                Severity::Warning,
                &s.origin,
                format!(
                    "`{}` reads `EnvironmentFile={f}`; its variables must come from the task definition or SSM",
                    s.name
                ),
            ));
        }
    }
    let mut ports: Vec<Port> = entry
        .map(|e| {
            e.ports
                .iter()
                .map(|p| Port { port: *p, protocol: Protocol::Tcp })
                .chain(e.udp_ports.iter().map(|p| Port { port: *p, protocol: Protocol::Udp }))
                .collect()
        })
        .unwrap_or_default();
    ports.sort();
    ports.dedup();
    if s.jobs_only {
        ports.clear();
    }
    for p in &ports {
        if p.port < 1024 {
            findings.push(finding(
                rule_code(inputs.rules, "M360"),
                Severity::Info,
                &s.origin,
                format!(
                    "`{}` listens on port {} as a non-root user: its binary gets cap_net_bind_service and the task \
                     keeps NET_BIND_SERVICE; a port ≥ 1024 (8080) would need neither",
                    s.name, p.port
                ),
            ));
        }
    }
    // A probe may be any task of the service's plays (a deploy's post_tasks), not only its own.
    let probe = if s.jobs_only { None } else { health_probe(s, all_items, probes, &ports) };
    let healthcheck = if s.jobs_only {
        None
    } else {
        entry.and_then(|e| e.healthcheck.as_ref()).map(|h| {
            let installed = |name: &str| {
                steps.iter().any(|st| {
                    matches!(&st.action, StepAction::InstallPackages { manager, packages }
                        if *manager == family && packages.iter().any(|p| p.name == name))
                })
            };
            let missing: Vec<crate::spec::image::Package> = h
                .packages
                .iter()
                .filter(|p| !installed(p))
                .map(|p| crate::spec::image::Package { name: p.clone(), version: None })
                .collect();
            // The health-check tool comes from the distribution's own repositories and is
            // only needed at run time: it joins the first install (one `apt-get update`).
            let first_install = steps.iter_mut().find_map(|st| match &mut st.action {
                StepAction::InstallPackages { manager, packages } if *manager == family => Some(packages),
                _ => None,
            });
            match first_install {
                _ if missing.is_empty() => {}
                Some(packages) => packages.extend(missing),
                None => steps.insert(
                    0,
                    BuildStep {
                        origin: s.origin.clone(),
                        title: "packages for the health check".into(),
                        rule: "M357".into(),
                        action: StepAction::InstallPackages { manager: family, packages: missing },
                    },
                ),
            }
            let command = match &probe {
                Some((url, origin)) if h.command.first().is_some_and(|c| c == "curl") => {
                    report.converted.push(ReportItem {
                        origin: origin.clone(),
                        code: "M357".into(),
                        what: "health check".into(),
                        why: format!("the play's probe `{url}` becomes the image's HEALTHCHECK"),
                    });
                    vec!["curl".to_string(), "-fsS".to_string(), url.clone()]
                }
                _ => h.command.clone(),
            };
            HealthCheck {
                command,
                interval_secs: h.interval,
                timeout_secs: h.timeout,
                retries: h.retries,
                start_period_secs: h.start_period,
            }
        })
    };
    hoist_installs(&mut steps, family);
    let start_checks = match entry {
        Some(e) if !start_files.is_empty() => move_config_checks(&mut steps, &e.config_check, &mut report),
        _ => Vec::new(),
    };
    let kind = if s.jobs_only {
        ServiceKind::Jobs
    } else {
        entry.map(|e| e.kind).unwrap_or(if ports.is_empty() { ServiceKind::App } else { ServiceKind::Daemon })
    };
    ImageSpec {
        service: s.name.clone(),
        catalog: entry.map(|e| e.name.clone()),
        kind,
        base: base.clone(),
        steps,
        context,
        start_files,
        process: Process {
            command,
            user,
            workdir: def.and_then(|d| d.workdir.clone()),
            stop_signal: def.and_then(|d| d.stop_signal.clone()).or_else(|| entry.and_then(|e| e.stop_signal.clone())),
            stop_timeout: def.and_then(|d| d.stop_timeout).or_else(|| entry.and_then(|e| e.stop_timeout)),
        },
        ports,
        healthcheck,
        env,
        log_links: entry
            .map(|e| e.logs.iter().map(|l| LogLink { path: l.path.clone(), stream: l.stream }).collect())
            .unwrap_or_default(),
        writable_paths: entry.map(|e| e.writable.clone()).unwrap_or_default(),
        jobs,
        report,
        start_checks,
    }
}

/// Takes the commands that check the service's configuration (`nginx -t`, its words
/// `check` as a prefix) out of the build steps: part of the configuration is only rendered
/// when the container starts, so the check moves to the entrypoint (and is declared).
fn move_config_checks(steps: &mut Vec<BuildStep>, check: &[String], report: &mut MigrationReport) -> Vec<StartCheck> {
    let mut moved = Vec::new();
    if check.is_empty() {
        return moved;
    }
    for step in steps.iter_mut() {
        let StepAction::Run { commands, .. } = &mut step.action else { continue };
        commands.retain(|c| {
            let words = shell::split(c).unwrap_or_default();
            let is_check = words.len() >= check.len() && words[..check.len()] == *check;
            if is_check {
                moved.push(StartCheck { command: c.clone(), origin: step.origin.clone(), title: step.title.clone() });
                let why = format!(
                    "`{c}` runs when the container starts, after the config files rendered there, not during the \
                     build (the configuration is incomplete until then)"
                );
                match report.converted.iter_mut().find(|r| r.origin == step.origin) {
                    Some(item) => item.why = why,
                    None => report.converted.push(ReportItem {
                        origin: step.origin.clone(),
                        code: step.rule.clone(),
                        what: step.title.clone(),
                        why,
                    }),
                }
            }
            !is_check
        });
    }
    steps.retain(|s| !matches!(&s.action, StepAction::Run { commands, .. } if commands.is_empty()));
    moved
}

/// `uri:` tasks that request a loopback URL (no vault value in it), by the port
/// requested: (task index, URL) in task order. Parsed once for the run; each image
/// looks up its own ports (scanning every task per image was quadratic).
type LoopbackProbes = BTreeMap<u16, Vec<(usize, String)>>;

fn loopback_probes(items: &[Item]) -> LoopbackProbes {
    static LOOPBACK: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^http://(?:127\.0\.0\.1|localhost)(?::([0-9]{1,5}))?(/[A-Za-z0-9._~/?=&%-]*)?$").ok()
    });
    let mut out = LoopbackProbes::new();
    let Some(re) = LOOPBACK.as_ref() else { return out };
    for (i, item) in items.iter().enumerate() {
        if item.task.module.short != "uri" || item.task.secret_args.contains_key("url") {
            continue;
        }
        let Some(url) = item.task.args.get("url").map(super::ruleset::value_text) else { continue };
        let Some(caps) = re.captures(&url) else { continue };
        let Some(port) = caps.get(1).map_or(Some(80), |p| p.as_str().parse::<u16>().ok()) else { continue };
        out.entry(port).or_default().push((i, url));
    }
    out
}

/// A `uri` task of one of the service's plays that probes one of its ports on the
/// loopback address over HTTP (`http://127.0.0.1:8000/healthz`): the health path the
/// VM's deployment waited for; the first such task in task order. Returns the URL and
/// the probe's origin.
fn health_probe(s: &Service, items: &[Item], probes: &LoopbackProbes, ports: &[Port]) -> Option<(String, Origin)> {
    ports
        .iter()
        .filter(|p| p.protocol == Protocol::Tcp)
        .filter_map(|p| probes.get(&p.port)?.iter().find(|(i, _)| s.plays.contains(&items[*i].play)))
        .min_by_key(|(i, _)| *i)
        .map(|(i, url)| (url.clone(), items[*i].task.origin.clone()))
}

/// Moves each OS package install up to the previous install of the same manager
/// (or to the first step), so the renderer merges them into one `apt-get update`
/// and install. An install never moves above a step that may change where
/// packages come from (a run command, a download, a file under the package
/// manager's configuration) or above the creation of an account a package of
/// it may also create (`redis` before `redis-server`), whose uid would change.
fn hoist_installs(steps: &mut Vec<BuildStep>, family: PackageFamily) {
    const SOURCES: &[&str] =
        &["/etc/apt", "/etc/yum", "/etc/dnf", "/etc/pki", "/etc/apk", "/usr/share/keyrings", "/etc/zypp"];
    let touches_sources = |path: &str| {
        let p = path.trim_end_matches('/');
        p.is_empty() || p == "/etc" || p == "/usr" || p == "/usr/share" || SOURCES.iter().any(|s| p.starts_with(s))
    };
    // A path of the package's own (`/etc/nginx/...` for `nginx`) keeps its order against the install.
    const COMMON: &[&str] =
        &["etc", "usr", "var", "lib", "lib64", "opt", "share", "local", "bin", "sbin", "run", "srv"];
    let own_path = |path: &str, packages: &[crate::spec::image::Package]| {
        path.split('/').filter(|seg| seg.len() >= 3 && !COMMON.contains(seg)).any(|seg| {
            packages.iter().any(|p| seg.starts_with(p.name.as_str()) || (seg.len() >= 5 && p.name.starts_with(seg)))
        })
    };
    let mut i = 0;
    while i < steps.len() {
        let StepAction::InstallPackages { manager, packages } = &steps[i].action else {
            i += 1;
            continue;
        };
        if *manager != family {
            i += 1;
            continue;
        }
        let mut to = i;
        while to > 0 {
            let passes = match &steps[to - 1].action {
                StepAction::InstallPackages { manager: m, .. } => *m != family,
                StepAction::CreateUser { name, .. } | StepAction::CreateGroup { name, .. } => {
                    !packages.iter().any(|p| p.name.starts_with(name.as_str()))
                }
                StepAction::MakeDirectory { path, .. }
                | StepAction::Remove { path }
                | StepAction::Copy { dest: path, .. } => !touches_sources(path) && !own_path(path, packages),
                StepAction::Symlink { link, target } => {
                    !touches_sources(link) && !touches_sources(target) && !own_path(link, packages)
                }
                StepAction::InstallLanguagePackages { .. } | StepAction::Workdir { .. } => true,
                StepAction::Run { .. } | StepAction::Download { .. } | StepAction::Extract { .. } => false,
            };
            if !passes {
                break;
            }
            to -= 1;
        }
        if to < i {
            let step = steps.remove(i);
            steps.insert(to, step);
        }
        i += 1;
    }
}

/// The account the image's own tasks create for the process, when there is one
/// to pick: the (non-root) user the jobs run as, else the only user created.
fn service_account(created: &BTreeSet<String>, jobs: &[&JobSpec]) -> Option<String> {
    let usable = |u: &&String| u.as_str() != "root" && u.as_str() != "0";
    if let Some(u) = jobs.iter().filter_map(|j| j.user.as_ref()).find(|u| usable(u) && created.contains(*u)) {
        return Some(u.clone());
    }
    let mut candidates = created.iter().filter(usable);
    match (candidates.next(), candidates.next()) {
        (Some(only), None) => Some(only.clone()),
        _ => None,
    }
}

/// Does the process have a foreground command: its unit's or program's (not a
/// template), or the catalog's?
fn has_command(s: &Service, family: PackageFamily) -> bool {
    let entry = s.catalog.as_ref();
    let defined = s
        .definition
        .as_ref()
        .and_then(|d| d.command_line.as_deref())
        .filter(|line| !line.contains("{{") && !line.contains("{%"))
        .and_then(shell::split)
        .is_some_and(|words| !foreground(words, entry).is_empty());
    defined || entry.is_some_and(|e| !e.command_for(family, s.version.as_deref()).is_empty())
}

/// A unit's command in the foreground: daemonizing arguments removed,
/// foreground ones added.
fn foreground(words: Vec<String>, entry: Option<&ServiceEntry>) -> Vec<String> {
    const GENERIC: &[&str] = &["--daemon", "--daemonize", "--detach"];
    let strip: Vec<&str> =
        GENERIC.iter().copied().chain(entry.iter().flat_map(|e| e.strip_args.iter().map(String::as_str))).collect();
    let mut out: Vec<String> =
        words.into_iter().filter(|w| !strip.contains(&w.as_str()) && !w.starts_with("--pidfile")).collect();
    if let Some(e) = entry {
        for f in &e.foreground_args {
            if !out.contains(f) {
                out.push(f.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::image::Package;

    fn step(line: u32, action: StepAction) -> BuildStep {
        BuildStep { origin: Origin::new("t.yml".into(), line), title: String::new(), rule: "M101".into(), action }
    }

    fn install(line: u32, names: &[&str]) -> BuildStep {
        let packages = names.iter().map(|n| Package { name: n.to_string(), version: None }).collect();
        step(line, StepAction::InstallPackages { manager: PackageFamily::Apt, packages })
    }

    fn lines(steps: &[BuildStep]) -> Vec<u32> {
        steps.iter().map(|s| s.origin.line).collect()
    }

    #[test]
    fn loop_items_are_labelled_by_a_naming_key_only() {
        use serde_json::json;
        assert_eq!(item_label(&json!("/opt/app")).as_deref(), Some("/opt/app"));
        assert_eq!(item_label(&json!({"path": "/srv", "mode": "0755"})).as_deref(), Some("/srv"));
        assert_eq!(item_label(&json!({"name": "bob", "password": "$6$hash"})).as_deref(), Some("bob"));
        assert_eq!(item_label(&json!({"password": "$6$hash"})), None);
        assert_eq!(item_label(&json!(["a", "b"])), None);
        assert_eq!(item_label(&json!("two\nlines")), None);
    }

    #[test]
    fn installs_move_up_to_one_apt_get_but_never_past_what_they_depend_on() {
        let dir = |line, path: &str| {
            step(line, StepAction::MakeDirectory { path: path.into(), owner: None, group: None, mode: None })
        };
        let user = |line, name: &str| {
            step(
                line,
                StepAction::CreateUser {
                    name: name.into(),
                    uid: Some(1500),
                    group: None,
                    groups: Vec::new(),
                    home: None,
                    shell: None,
                    system: true,
                    create_home: false,
                },
            )
        };
        // Unrelated directories and accounts are passed: one install at the top.
        let mut steps = vec![user(1, "shop"), dir(2, "/opt/shop"), install(3, &["python3", "curl"])];
        hoist_installs(&mut steps, PackageFamily::Apt);
        assert_eq!(lines(&steps), vec![3, 1, 2]);
        // A second install joins the first one.
        let mut steps = vec![install(1, &["nginx"]), dir(2, "/srv/www"), install(3, &["gettext-base"])];
        hoist_installs(&mut steps, PackageFamily::Apt);
        assert_eq!(lines(&steps), vec![1, 3, 2]);
        // Never above a command (it may add a repository), the package's own account or paths,
        // or the package manager's configuration.
        let run = step(2, StepAction::Run { commands: vec!["apt-key add k".into()], pipes: false });
        let mut steps = vec![install(1, &["curl"]), run, install(3, &["vendor-agent"])];
        hoist_installs(&mut steps, PackageFamily::Apt);
        assert_eq!(lines(&steps), vec![1, 2, 3]);
        let mut steps = vec![user(1, "redis"), install(2, &["redis-server"])];
        hoist_installs(&mut steps, PackageFamily::Apt);
        assert_eq!(lines(&steps), vec![1, 2]);
        let mut steps = vec![dir(1, "/etc/nginx/conf.d"), dir(2, "/etc/apt/keyrings"), install(3, &["nginx"])];
        hoist_installs(&mut steps, PackageFamily::Apt);
        assert_eq!(lines(&steps), vec![1, 2, 3]);
    }
}
