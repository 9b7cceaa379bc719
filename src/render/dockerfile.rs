//! One `ImageSpec` → the view the Dockerfile template renders: instruction
//! groups, each with the provenance comments of the steps it came from.
//!
//! Decides grouping (consecutive shell work shares one RUN, consecutive
//! installs of one manager share one install command), the packages the
//! generated commands need, and the final user. Owns no Dockerfile syntax
//! beyond that: the commands come from the step templates in `templates/steps/`,
//! the file's text from `dockerfile_text`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use minijinja::{Value, context};
use regex::Regex;

use super::shell::{self, is_dockerfile_word};
use super::templates::{self, Templates};
use super::{Note, RenderError};
use crate::model::Origin;
use crate::spec::image::{BuildStep, ImageSpec, LanguageManager, Package, PackageFamily, StepAction};

/// Where the entrypoint script and the start-file templates go in the image.
pub const ENTRYPOINT_PATH: &str = "/usr/local/bin/docker-entrypoint.sh";
pub const START_TEMPLATES_DIR: &str = "/usr/local/share/migrate/start";
/// Where requirements files of language installs are copied to.
pub const REQUIREMENTS_DIR: &str = "/usr/local/share/migrate/requirements";

/// Everything the Dockerfile's text needs (`dockerfile_text`).
#[derive(Debug)]
pub struct DockerfileView {
    pub generated_from: String,
    pub service: String,
    pub base: BaseView,
    pub shell: Vec<String>,
    pub groups: Vec<Group>,
    pub workdir: Option<String>,
    pub expose: Vec<String>,
    pub healthcheck: Option<HealthView>,
    pub stop_signal: Option<String>,
    pub user: String,
    pub entrypoint: Option<Vec<String>>,
    pub command: Vec<String>,
}

#[derive(Debug)]
pub struct BaseView {
    pub reference: String,
    pub reason: String,
    pub origin: Option<String>,
}

#[derive(Debug)]
pub struct HealthView {
    pub flags: Vec<String>,
    pub command: Vec<String>,
}

/// One instruction (or one RUN) with its provenance. A `joined` group comes
/// from the same step as the group before it: it follows without a blank
/// line and without repeating the comments.
#[derive(Debug)]
pub enum Group {
    Run { joined: bool, segments: Vec<Segment> },
    Copy { joined: bool, comments: Vec<String>, chown: Option<String>, source: String, dest: String },
    Workdir { joined: bool, comments: Vec<String>, path: String },
}

impl Group {
    /// The provenance comments the group ends with.
    fn last_comments(&self) -> Option<&Vec<String>> {
        match self {
            Group::Run { segments, .. } => segments.last().map(|s| &s.comments),
            Group::Copy { comments, .. } | Group::Workdir { comments, .. } => Some(comments),
        }
    }
}

/// The commands of one or more steps inside a RUN, after their comments.
#[derive(Debug)]
pub struct Segment {
    pub comments: Vec<String>,
    pub commands: Vec<Command>,
}

/// One shell command; `continued` lines follow it on continuation lines.
#[derive(Debug)]
pub struct Command {
    pub head: String,
    pub continued: Vec<String>,
}

/// A start file as the Dockerfile and entrypoint need it.
#[derive(Debug, Clone)]
pub struct StartFileView {
    pub dest: String,
    pub dir: String,
    pub mode: String,
    /// Path of the template inside the build context (`start/etc/app.conf`).
    pub context_path: String,
    /// Path of the template in the image.
    pub image_path: String,
    /// The environment variables substituted, sorted.
    pub variables: Vec<String>,
}

// The views as the templates read them: minijinja values built directly
// (the keys are the names the templates use). The Dockerfile's own view is read only by
// the reference template of the equivalence test (`dockerfile_text`).

#[cfg(test)]
impl DockerfileView {
    pub fn value(&self) -> Value {
        context! {
            generated_from => &self.generated_from,
            service => &self.service,
            base => context! {
                reference => &self.base.reference,
                reason => &self.base.reason,
                origin => &self.base.origin,
            },
            shell => templates::strings(&self.shell),
            groups => self.groups.iter().map(Group::value).collect::<Vec<_>>(),
            workdir => &self.workdir,
            expose => templates::strings(&self.expose),
            healthcheck => self.healthcheck.as_ref().map(|h| {
                context! { flags => templates::strings(&h.flags), command => templates::strings(&h.command) }
            }),
            stop_signal => &self.stop_signal,
            user => &self.user,
            entrypoint => self.entrypoint.as_deref().map(templates::strings),
            command => templates::strings(&self.command),
        }
    }
}

#[cfg(test)]
impl Group {
    fn value(&self) -> Value {
        match self {
            Group::Run { joined, segments } => context! {
                kind => "run",
                joined => joined,
                segments => segments.iter().map(Segment::value).collect::<Vec<_>>(),
            },
            Group::Copy { joined, comments, chown, source, dest } => context! {
                kind => "copy",
                joined => joined,
                comments => templates::strings(comments),
                chown => chown,
                source => source,
                dest => dest,
            },
            Group::Workdir { joined, comments, path } => context! {
                kind => "workdir",
                joined => joined,
                comments => templates::strings(comments),
                path => path,
            },
        }
    }
}

#[cfg(test)]
impl Segment {
    fn value(&self) -> Value {
        context! {
            comments => templates::strings(&self.comments),
            commands => self.commands.iter().map(Command::value).collect::<Vec<_>>(),
        }
    }
}

#[cfg(test)]
impl Command {
    fn value(&self) -> Value {
        context! { head => &self.head, continued => templates::strings(&self.continued) }
    }
}

impl StartFileView {
    fn value(&self) -> Value {
        context! {
            dest => &self.dest,
            dir => &self.dir,
            mode => &self.mode,
            context_path => &self.context_path,
            image_path => &self.image_path,
            variables => templates::strings(&self.variables),
        }
    }
}

/// Builds the view of one image's Dockerfile.
pub struct Builder<'a> {
    templates: &'a Templates,
    image: &'a ImageSpec,
    groups: Vec<Group>,
    /// The working directory Docker is in at this point of the build.
    cwd: String,
    pub notes: Vec<Note>,
    /// Packages the renderer installs for its own commands (not asked for by
    /// the source), for the declarations beside MIGRATION.md.
    added_packages: BTreeSet<String>,
}

/// The tools the generated commands call, which some base images lack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tool {
    Envsubst,
    Useradd,
    Curl,
    Wget,
    Tar,
    Xz,
    Bzip2,
    Unzip,
    Setcap,
}

impl Tool {
    /// The packages that provide the tool on `family` (empty when the base image has it).
    fn packages(self, family: PackageFamily) -> &'static [&'static str] {
        use PackageFamily::*;
        let rhel = matches!(family, Dnf | Yum | Microdnf);
        match self {
            Tool::Envsubst if family == Apt => &["gettext-base"],
            Tool::Envsubst => &["gettext"],
            Tool::Useradd if rhel => &["shadow-utils"],
            // Debian's passwd and BusyBox's adduser are in the base images.
            Tool::Useradd => &[],
            Tool::Curl if family == Apt => &["ca-certificates", "curl"],
            Tool::Curl if family == Apk => &["curl"],
            // curl-minimal is in the RHEL-family images; `curl` would conflict with it.
            Tool::Curl => &[],
            Tool::Wget if family == Apt => &["ca-certificates", "wget"],
            Tool::Wget if family == Apk => &[],
            Tool::Wget => &["wget"],
            Tool::Tar if rhel => &["gzip", "tar"],
            Tool::Tar => &[],
            Tool::Xz if family == Apt => &["xz-utils"],
            Tool::Xz if rhel => &["xz"],
            Tool::Xz => &[],
            Tool::Bzip2 if family == Apk => &[],
            Tool::Bzip2 => &["bzip2"],
            Tool::Unzip => &["unzip"],
            Tool::Setcap if family == Apt => &["libcap2-bin"],
            Tool::Setcap if family == Apk => &["libcap-setcap"],
            Tool::Setcap => &["libcap"],
        }
    }

    fn why(self) -> &'static str {
        match self {
            Tool::Envsubst => "envsubst renders the start files",
            Tool::Useradd => "useradd and groupadd",
            Tool::Curl => "curl downloads files and runs the health check",
            Tool::Wget => "wget runs the health check",
            Tool::Tar | Tool::Xz | Tool::Bzip2 => "tar extracts archives",
            Tool::Unzip => "unzip extracts archives",
            Tool::Setcap => "setcap lets the non-root process bind a port below 1024",
        }
    }
}

fn provenance(step: &BuildStep) -> String {
    let title = shell::one_line(&step.title);
    if title.is_empty() { step.origin.to_string() } else { format!("{} {}", step.origin, title) }
}

fn unsafe_value(origin: &Origin, field: &str, reason: &str) -> RenderError {
    RenderError::UnsafeValue { origin: origin.to_string(), field: field.to_string(), reason: reason.to_string() }
}

/// The `name<sep>version` a package manager understands; a version that
/// already starts with an operator (`==21.2`, `>=1`, `@4`) is appended as is.
pub fn package_spec(separator: &str, package: &Package) -> String {
    match &package.version {
        None => package.name.clone(),
        Some(v) if v.starts_with(['=', '<', '>', '!', '~', '@', ':']) => format!("{}{}", package.name, v),
        Some(v) => format!("{}{}{}", package.name, separator, v),
    }
}

fn os_separator(family: PackageFamily) -> &'static str {
    match family {
        PackageFamily::Apt | PackageFamily::Apk => "=",
        PackageFamily::Dnf | PackageFamily::Yum | PackageFamily::Microdnf => "-",
    }
}

fn language_separator(manager: LanguageManager) -> &'static str {
    match manager {
        LanguageManager::Pip => "==",
        LanguageManager::Npm => "@",
        LanguageManager::Gem => ":",
    }
}

/// Sorted, de-duplicated package specs; a name pinned somewhere drops its unpinned mention.
fn merge_packages<'p>(packages: impl Iterator<Item = &'p Package>) -> Vec<&'p Package> {
    let mut by_name: BTreeMap<&str, BTreeSet<&'p Package>> = BTreeMap::new();
    for p in packages {
        by_name.entry(p.name.as_str()).or_default().insert(p);
    }
    let mut out = Vec::new();
    for (_, set) in by_name {
        let pinned = set.iter().any(|p| p.version.is_some());
        out.extend(set.into_iter().filter(|p| !pinned || p.version.is_some()));
    }
    out
}

fn family_name(family: PackageFamily) -> &'static str {
    match family {
        PackageFamily::Apt => "apt",
        PackageFamily::Dnf => "dnf",
        PackageFamily::Yum => "yum",
        PackageFamily::Microdnf => "microdnf",
        PackageFamily::Apk => "apk",
    }
}

fn language_name(manager: LanguageManager) -> &'static str {
    match manager {
        LanguageManager::Pip => "pip",
        LanguageManager::Npm => "npm",
        LanguageManager::Gem => "gem",
    }
}

fn chown_of(owner: &Option<String>, group: &Option<String>) -> Option<String> {
    match (owner, group) {
        (None, None) => None,
        (Some(o), None) => Some(o.clone()),
        (None, Some(g)) => Some(format!("root:{g}")),
        (Some(o), Some(g)) => Some(format!("{o}:{g}")),
    }
}

/// `name` of the file a download writes: `dest` itself, or the URL's last
/// path segment inside `dest` when `dest` ends with `/` (Ansible get_url).
fn download_file(url: &str, dest: &str) -> Option<String> {
    if !dest.ends_with('/') {
        return Some(dest.to_string());
    }
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path.rsplit('/').next().filter(|n| !n.is_empty() && !path.ends_with("//"))?;
    Some(format!("{dest}{name}"))
}

fn parent_dir(path: &str) -> String {
    match path.trim_end_matches('/').rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => path[..i].to_string(),
    }
}

/// `sha256:abc…` → (`sha256sum`, `abc…`). A checksum given as a URL, or in
/// an unknown algorithm, cannot be checked at build time.
fn checksum_tool(checksum: &str) -> Option<(&'static str, String)> {
    let (algorithm, hex) = checksum.split_once(':')?;
    let tool = match algorithm.to_ascii_lowercase().as_str() {
        "md5" => "md5sum",
        "sha1" => "sha1sum",
        "sha224" => "sha224sum",
        "sha256" => "sha256sum",
        "sha384" => "sha384sum",
        "sha512" => "sha512sum",
        _ => return None,
    };
    if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Some((tool, hex.to_ascii_lowercase()))
}

fn archive_format(archive: &str) -> (&'static str, Option<Tool>) {
    let lower = archive.to_ascii_lowercase();
    if lower.ends_with(".zip") {
        ("zip", Some(Tool::Unzip))
    } else if lower.ends_with(".xz") || lower.ends_with(".txz") {
        ("tar", Some(Tool::Xz))
    } else if lower.ends_with(".bz2") || lower.ends_with(".tbz2") {
        ("tar", Some(Tool::Bzip2))
    } else {
        ("tar", None)
    }
}

impl<'a> Builder<'a> {
    pub fn new(templates: &'a Templates, image: &'a ImageSpec) -> Builder<'a> {
        Builder {
            templates,
            image,
            groups: Vec::new(),
            cwd: "/".to_string(),
            notes: Vec::new(),
            added_packages: BTreeSet::new(),
        }
    }

    fn family(&self) -> PackageFamily {
        self.image.base.family
    }

    fn note(&mut self, origin: Option<&Origin>, message: String) {
        self.notes.push(Note { origin: origin.cloned(), message });
    }

    /// Renders step template `name` and splits its output into commands.
    fn commands(&self, name: &str, context: Value) -> Result<Vec<Command>, RenderError> {
        let text = self.templates.render(&format!("steps/{name}.j2"), context)?;
        let mut commands: Vec<Command> = Vec::new();
        for line in text.lines() {
            if line.trim().is_empty() {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                match commands.last_mut() {
                    Some(c) => c.continued.push(line.trim().to_string()),
                    None => {
                        return Err(RenderError::Template {
                            template: format!("steps/{name}.j2"),
                            line: None,
                            message: "a continuation line before any command".into(),
                        });
                    }
                }
            } else {
                commands.push(Command { head: line.trim_end().to_string(), continued: Vec::new() });
            }
        }
        Ok(commands)
    }

    /// Whether a new group with `comments` continues the last group (same
    /// step): it then follows without a blank line or repeated comments.
    fn continues_last(&self, comments: &[String]) -> bool {
        !comments.is_empty() && self.groups.last().and_then(Group::last_comments).is_some_and(|c| c == comments)
    }

    fn push_copy(&mut self, comments: Vec<String>, chown: Option<String>, source: String, dest: String) {
        let joined = self.continues_last(&comments);
        self.groups.push(Group::Copy { joined, comments, chown, source, dest });
    }

    /// Appends commands to the current RUN, or starts one. `cwd` is the
    /// directory the commands need (`None`: any).
    fn push_run(&mut self, comments: Vec<String>, commands: Vec<Command>, cwd: Option<&str>) {
        if commands.is_empty() {
            return;
        }
        if let Some(dir) = cwd
            && dir != self.cwd
        {
            let joined = self.continues_last(&comments);
            self.groups.push(Group::Workdir { joined, comments: comments.clone(), path: dir.to_string() });
            self.cwd = dir.to_string();
        }
        if let Some(Group::Run { segments, .. }) = self.groups.last_mut() {
            match segments.last_mut() {
                Some(last) if last.comments == comments => last.commands.extend(commands),
                _ => segments.push(Segment { comments, commands }),
            }
            return;
        }
        let joined = self.continues_last(&comments);
        // The comments stay on the segment (a later step compares against
        // them) but are not printed twice: `joined` tells the template.
        self.groups.push(Group::Run { joined, segments: vec![Segment { comments, commands }] });
    }

    fn check_word(&self, origin: &Origin, field: &str, value: &str) -> Result<(), RenderError> {
        if is_dockerfile_word(value) {
            Ok(())
        } else {
            Err(unsafe_value(origin, field, "has characters a Dockerfile instruction cannot carry unquoted"))
        }
    }

    fn check_shell(&self, origin: &Origin, field: &str, value: &str) -> Result<(), RenderError> {
        shell::quote(value).map(|_| ()).map_err(|_| unsafe_value(origin, field, "has a line break"))
    }

    fn check_absolute(&self, origin: &Origin, field: &str, value: &str) -> Result<(), RenderError> {
        self.check_shell(origin, field, value)?;
        if value.starts_with('/') { Ok(()) } else { Err(unsafe_value(origin, field, "is not an absolute path")) }
    }

    /// Tools needed by the steps, the health check and the start files.
    fn tools(&self) -> BTreeSet<Tool> {
        let mut tools = BTreeSet::new();
        if !self.image.start_files.is_empty() {
            tools.insert(Tool::Envsubst);
        }
        for step in &self.image.steps {
            match &step.action {
                StepAction::CreateUser { .. } | StepAction::CreateGroup { .. } => {
                    tools.insert(Tool::Useradd);
                }
                StepAction::Download { .. } => {
                    tools.insert(Tool::Curl);
                }
                StepAction::Extract { archive, .. } => {
                    let (format, extra) = archive_format(archive);
                    if format == "tar" {
                        tools.insert(Tool::Tar);
                    }
                    tools.extend(extra);
                }
                _ => {}
            }
        }
        if let Some(check) = &self.image.healthcheck {
            match check.command.first().map(|c| c.rsplit('/').next().unwrap_or(c)) {
                Some("curl") => {
                    tools.insert(Tool::Curl);
                }
                Some("wget") => {
                    tools.insert(Tool::Wget);
                }
                _ => {}
            }
        }
        if self.binds_privileged_port() {
            tools.insert(Tool::Setcap);
        }
        tools
    }

    /// Whether the (non-root) process listens on a port below 1024: it then
    /// needs CAP_NET_BIND_SERVICE on its binary. Docker's own networks lower
    /// `ip_unprivileged_port_start`, but a host or awsvpc (Fargate) network
    /// namespace keeps 1024, while NET_BIND_SERVICE stays in the default set.
    fn binds_privileged_port(&self) -> bool {
        self.image.ports.iter().any(|p| p.port < 1024) && !self.image.process.command.is_empty()
    }

    /// The packages the renderer added for its own commands, sorted.
    pub fn added_packages(&self) -> Vec<String> {
        self.added_packages.iter().cloned().collect()
    }

    /// The steps in order, with a synthetic install of the needed tools first.
    pub fn build_steps(&mut self) -> Result<(), RenderError> {
        let family = self.family();
        let tools = self.tools();
        let mut tool_packages: BTreeSet<&str> = BTreeSet::new();
        let mut reasons: Vec<&str> = Vec::new();
        for tool in &tools {
            let packages = tool.packages(family);
            if !packages.is_empty() {
                tool_packages.extend(packages.iter().copied());
                if !reasons.contains(&tool.why()) {
                    reasons.push(tool.why());
                }
            }
        }
        self.added_packages.extend(tool_packages.iter().map(|p| p.to_string()));
        for step in &self.image.steps {
            // M357: the package the health check's command needs.
            if let StepAction::InstallPackages { packages, .. } = &step.action
                && step.rule == "M357"
            {
                self.added_packages.extend(packages.iter().map(|p| p.name.clone()));
            }
        }
        let tool_comment = format!("migrate: packages the generated commands need ({})", reasons.join("; "));
        let tool_packages: Vec<Package> =
            tool_packages.into_iter().map(|name| Package { name: name.to_string(), version: None }).collect();

        let steps = &self.image.steps;
        let mut i = 0;
        let mut tools_pending = !tool_packages.is_empty();
        if tools_pending
            && !matches!(steps.first().map(|s| &s.action), Some(StepAction::InstallPackages { manager, .. }) if *manager == family)
        {
            self.install_os(family, vec![tool_comment.clone()], tool_packages.iter().collect())?;
            tools_pending = false;
        }
        while i < steps.len() {
            let step = &steps[i];
            if let StepAction::InstallPackages { manager, .. } = &step.action {
                // Consecutive installs of one manager become one command.
                let mut comments = Vec::new();
                let mut packages: Vec<&Package> = Vec::new();
                if tools_pending {
                    comments.push(tool_comment.clone());
                    packages.extend(tool_packages.iter());
                    tools_pending = false;
                }
                while let Some(next) = steps.get(i) {
                    match &next.action {
                        StepAction::InstallPackages { manager: m, packages: p } if m == manager => {
                            for package in p {
                                self.check_shell(&next.origin, "package", &package.name)?;
                            }
                            push_unique(&mut comments, provenance(next));
                            packages.extend(p.iter());
                            i += 1;
                        }
                        _ => break,
                    }
                }
                self.install_os(*manager, comments, packages)?;
                continue;
            }
            self.step(step)?;
            i += 1;
        }
        Ok(())
    }

    fn install_os(
        &mut self,
        manager: PackageFamily,
        comments: Vec<String>,
        packages: Vec<&Package>,
    ) -> Result<(), RenderError> {
        let separator = os_separator(manager);
        let specs: Vec<String> =
            merge_packages(packages.into_iter()).into_iter().map(|p| package_spec(separator, p)).collect();
        if specs.is_empty() {
            return Ok(());
        }
        let commands =
            self.commands("install-packages", context! { manager => family_name(manager), packages => specs })?;
        self.push_run(comments, commands, None);
        Ok(())
    }

    fn step(&mut self, step: &BuildStep) -> Result<(), RenderError> {
        let origin = &step.origin;
        let comments = vec![provenance(step)];
        let family = family_name(self.family());
        match &step.action {
            StepAction::InstallPackages { .. } => Ok(()),
            StepAction::InstallLanguagePackages { manager, packages, requirements, target } => {
                let separator = language_separator(*manager);
                for p in packages {
                    self.check_shell(origin, "package", &p.name)?;
                }
                let specs: Vec<String> =
                    merge_packages(packages.iter()).into_iter().map(|p| package_spec(separator, p)).collect();
                let mut image_requirements = None;
                if let Some(req) = requirements {
                    super::check_context_path(origin, "requirements", req)?;
                    self.check_word(origin, "requirements", req)?;
                    let dest = format!("{REQUIREMENTS_DIR}/{req}");
                    self.push_copy(comments.clone(), None, req.clone(), dest.clone());
                    image_requirements = Some(dest);
                }
                if let Some(t) = target {
                    self.check_absolute(origin, "target", t)?;
                }
                if *manager == LanguageManager::Pip && target.is_none() {
                    self.note(
                        Some(origin),
                        "pip installs into the system Python; newer Debian and Ubuntu refuse that (PEP 668): \
                         prefer a virtualenv"
                            .into(),
                    );
                }
                let commands = self.commands(
                    "install-language-packages",
                    context! {
                        manager => language_name(*manager),
                        packages => specs,
                        requirements => image_requirements,
                        target => target,
                    },
                )?;
                self.push_run(comments, commands, None);
                Ok(())
            }
            StepAction::CreateGroup { name, gid, system } => {
                self.check_shell(origin, "name", name)?;
                let commands = self.commands(
                    "create-group",
                    context! { family => family, name => name, gid => gid, system => system },
                )?;
                self.push_run(comments, commands, None);
                Ok(())
            }
            StepAction::CreateUser { name, uid, group, groups, home, shell, system, create_home } => {
                for (field, value) in [
                    ("name", Some(name)),
                    ("group", group.as_ref()),
                    ("home", home.as_ref()),
                    ("shell", shell.as_ref()),
                ] {
                    if let Some(v) = value {
                        self.check_shell(origin, field, v)?;
                    }
                }
                for g in groups {
                    self.check_shell(origin, "groups", g)?;
                }
                let commands = self.commands(
                    "create-user",
                    context! {
                        family => family,
                        name => name,
                        uid => uid,
                        group => group,
                        groups => templates::strings(groups),
                        home => home,
                        shell => shell,
                        system => system,
                        create_home => create_home,
                    },
                )?;
                self.push_run(comments, commands, None);
                Ok(())
            }
            StepAction::Copy { source, dest, owner, group, mode } => {
                super::check_context_path(origin, "source", source)?;
                self.check_word(origin, "source", source)?;
                self.check_word(origin, "dest", dest)?;
                if !dest.starts_with('/') {
                    return Err(unsafe_value(origin, "dest", "is not an absolute path"));
                }
                // A directory copy may be written with a trailing slash (`files/opt/app/`).
                let dir = source.trim_end_matches('/');
                if !self.image.context.iter().any(|f| f.path == *source || f.path.starts_with(&format!("{dir}/"))) {
                    return Err(RenderError::CopySourceMissing {
                        origin: origin.to_string(),
                        context_path: source.clone(),
                    });
                }
                let chown = chown_of(owner, group);
                if let Some(c) = &chown {
                    self.check_word(origin, "owner", c)?;
                }
                self.push_copy(comments.clone(), chown, source.clone(), dest.clone());
                if let Some(mode) = mode {
                    self.check_shell(origin, "mode", mode)?;
                    let path = if dest.ends_with('/') {
                        format!("{dest}{}", source.rsplit('/').next().unwrap_or(source))
                    } else {
                        dest.clone()
                    };
                    let commands = self.commands("chmod", context! { mode => mode, path => path })?;
                    self.push_run(comments, commands, None);
                }
                Ok(())
            }
            StepAction::MakeDirectory { path, owner, group, mode } => {
                self.check_absolute(origin, "path", path)?;
                let chown = chown_of(owner, group);
                for v in chown.iter().chain(mode.iter()) {
                    self.check_shell(origin, "owner or mode", v)?;
                }
                let commands =
                    self.commands("make-directory", context! { path => path, chown => chown, mode => mode })?;
                self.push_run(comments, commands, None);
                Ok(())
            }
            StepAction::Symlink { target, link } => {
                self.check_shell(origin, "target", target)?;
                self.check_absolute(origin, "link", link)?;
                let commands = self.commands("symlink", context! { target => target, link => link })?;
                self.push_run(comments, commands, None);
                Ok(())
            }
            StepAction::Remove { path } => {
                self.check_absolute(origin, "path", path)?;
                if path.trim_end_matches('/').is_empty() {
                    return Err(unsafe_value(origin, "path", "would remove the root directory"));
                }
                let commands = self.commands("remove", context! { path => path })?;
                self.push_run(comments, commands, None);
                Ok(())
            }
            StepAction::Download { url, dest, checksum, mode } => {
                self.check_shell(origin, "url", url)?;
                self.check_absolute(origin, "dest", dest)?;
                let file = download_file(url, dest)
                    .ok_or_else(|| unsafe_value(origin, "dest", "is a directory and the URL names no file"))?;
                let verified = checksum.as_deref().and_then(checksum_tool);
                match (checksum, &verified) {
                    (None, _) => self.note(Some(origin), format!("the download of {url} has no checksum; add one")),
                    (Some(_), None) => self.note(
                        Some(origin),
                        format!("the checksum of {url} is not `algorithm:hex`; it is not verified at build time"),
                    ),
                    _ => {}
                }
                if let Some(m) = mode {
                    self.check_shell(origin, "mode", m)?;
                }
                let checksum = verified.map(|(tool, hex)| context! { tool => tool, hex => hex });
                let commands = self.commands(
                    "download",
                    context! { url => url, dir => parent_dir(&file), file => file, checksum => checksum, mode => mode },
                )?;
                self.push_run(comments, commands, None);
                Ok(())
            }
            StepAction::Extract { archive, dest } => {
                self.check_absolute(origin, "archive", archive)?;
                self.check_absolute(origin, "dest", dest)?;
                let (format, _) = archive_format(archive);
                let commands =
                    self.commands("extract", context! { archive => archive, dest => dest, format => format })?;
                self.push_run(comments, commands, None);
                Ok(())
            }
            StepAction::Workdir { path } => {
                self.check_absolute(origin, "path", path)?;
                self.check_word(origin, "path", path)?;
                if *path != self.cwd {
                    let joined = self.continues_last(&comments);
                    self.groups.push(Group::Workdir { joined, comments, path: path.clone() });
                    self.cwd = path.clone();
                }
                Ok(())
            }
            StepAction::Run { commands, pipes: _ } => {
                // A leading `cd DIR &&` becomes WORKDIR (hadolint DL3003).
                let cd = cd_prefix();
                let mut cwd = None;
                let mut views: Vec<Value> = Vec::new();
                for (n, command) in commands.iter().enumerate() {
                    let mut text = command.trim().to_string();
                    if n == 0
                        && let Some(caps) = cd.captures(&text)
                    {
                        let dir = caps[1].to_string();
                        if is_dockerfile_word(&dir) {
                            cwd = Some(dir);
                            text = caps[2].to_string();
                        }
                    }
                    if text.chars().any(|c| c.is_control() && c != '\t' && c != '\n') {
                        return Err(unsafe_value(origin, "commands", "has a control character"));
                    }
                    if text.contains('\n') {
                        let lines: Vec<Value> = text.lines().map(Value::from).collect();
                        views.push(context! { lines => lines, text => () });
                    } else if !text.is_empty() {
                        views.push(context! { lines => (), text => text });
                    }
                }
                let commands = self.commands("run", context! { commands => views })?;
                self.push_run(comments, commands, cwd.as_deref());
                Ok(())
            }
        }
    }

    /// Log files linked to the container's output streams.
    pub fn log_links(&mut self) -> Result<(), RenderError> {
        if self.image.log_links.is_empty() {
            return Ok(());
        }
        let mut links: Vec<Value> = Vec::new();
        let mut dirs = BTreeSet::new();
        for link in &self.image.log_links {
            if !link.path.starts_with('/') || shell::quote(&link.path).is_err() {
                return Err(RenderError::UnsafeValue {
                    origin: format!("service {}", self.image.service),
                    field: "log link".into(),
                    reason: "is not an absolute path on one line".into(),
                });
            }
            links.push(context! { path => &link.path, stream => link.stream.name() });
            dirs.insert(parent_dir(&link.path));
        }
        let dirs: Vec<Value> = dirs.into_iter().map(Value::from).collect();
        let commands = self.commands("log-links", context! { dirs => dirs, links => links })?;
        self.push_run(
            vec!["migrate: log files go to the container's output (Twelve-Factor XI)".into()],
            commands,
            None,
        );
        Ok(())
    }

    /// What the non-root process needs at run time: the paths it writes owned
    /// by it, and the right to bind its port below 1024 (a file capability on
    /// its binary, so no root and no `--cap-add` is needed).
    pub fn runtime_access(&mut self, user: &str) -> Result<(), RenderError> {
        let origin = format!("service {}", self.image.service);
        let mut writable: Vec<&str> = Vec::new();
        for path in &self.image.writable_paths {
            if !path.starts_with('/') || path == "/" || shell::quote(path).is_err() {
                return Err(RenderError::UnsafeValue {
                    origin,
                    field: "writable path".into(),
                    reason: "is not an absolute path on one line".into(),
                });
            }
            writable.push(path);
        }
        writable.sort();
        writable.dedup();
        let program = if self.binds_privileged_port() { self.image.process.command.first().cloned() } else { None };
        if let Some(p) = &program
            && shell::quote(p).is_err()
        {
            return Err(RenderError::UnsafeValue {
                origin,
                field: "command".into(),
                reason: "cannot be quoted for the shell".into(),
            });
        }
        let mut comments = Vec::new();
        if !writable.is_empty() {
            comments.push("migrate: the paths the service writes belong to its user".to_string());
        }
        if program.is_some() {
            comments
                .push("migrate: the process binds a port below 1024 without root (CAP_NET_BIND_SERVICE)".to_string());
        }
        let commands = self.commands(
            "runtime-access",
            context! {
                writable => writable.into_iter().map(Value::from).collect::<Vec<_>>(),
                user => user,
                program => program,
            },
        )?;
        self.push_run(comments, commands, None);
        Ok(())
    }

    /// The start-file templates, the entrypoint, and the files it writes.
    pub fn start_files(&mut self, files: &[StartFileView], user: &str) -> Result<(), RenderError> {
        if files.is_empty() {
            return Ok(());
        }
        let comment = "migrate: config rendered from the environment when the container starts".to_string();
        self.push_copy(vec![comment.clone()], None, "start/".into(), format!("{START_TEMPLATES_DIR}/"));
        self.push_copy(vec![comment.clone()], None, super::ENTRYPOINT_FILE.into(), ENTRYPOINT_PATH.into());
        let files: Vec<Value> = files.iter().map(StartFileView::value).collect();
        let commands = self.commands("start-files", context! { files => files, user => user })?;
        self.push_run(vec![comment], commands, None);
        Ok(())
    }

    /// The finished view.
    pub fn finish(
        mut self,
        generated_from: &str,
        user: String,
        entrypoint: bool,
    ) -> Result<(DockerfileView, Vec<Note>), RenderError> {
        let image = self.image;
        let process = &image.process;
        let service_origin = format!("service {}", image.service);
        if process.command.is_empty() {
            return Err(RenderError::UnsafeValue {
                origin: service_origin,
                field: "command".into(),
                reason: "is empty".into(),
            });
        }
        let workdir = match &process.workdir {
            Some(dir) => {
                if !dir.starts_with('/') || !is_dockerfile_word(dir) {
                    return Err(RenderError::UnsafeValue {
                        origin: service_origin,
                        field: "workdir".into(),
                        reason: "is not an absolute path Docker can take unquoted".into(),
                    });
                }
                (*dir != self.cwd).then(|| dir.clone())
            }
            None => (self.cwd != "/").then(|| "/".to_string()),
        };
        let mut ports: Vec<_> = image.ports.iter().collect();
        ports.sort();
        ports.dedup();
        let expose = ports.iter().map(|p| format!("{}/{}", p.port, p.protocol.name())).collect();
        let healthcheck = image.healthcheck.as_ref().map(|h| {
            let mut flags = Vec::new();
            for (name, value) in
                [("interval", h.interval_secs), ("timeout", h.timeout_secs), ("start-period", h.start_period_secs)]
            {
                if value > 0 {
                    flags.push(format!("--{name}={value}s"));
                }
            }
            if h.retries > 0 {
                flags.push(format!("--retries={}", h.retries));
            }
            HealthView { flags, command: h.command.clone() }
        });
        if let Some(h) = &healthcheck
            && h.command.is_empty()
        {
            return Err(RenderError::UnsafeValue {
                origin: format!("service {}", image.service),
                field: "healthcheck".into(),
                reason: "has an empty command".into(),
            });
        }
        if let Some(signal) = &process.stop_signal
            && !is_dockerfile_word(signal)
        {
            return Err(RenderError::UnsafeValue {
                origin: format!("service {}", image.service),
                field: "stop_signal".into(),
                reason: "is not a signal name".into(),
            });
        }
        if !is_dockerfile_word(&image.base.reference) {
            return Err(RenderError::UnsafeValue {
                origin: image
                    .base
                    .origin
                    .as_ref()
                    .map_or_else(|| format!("service {}", image.service), |o| o.to_string()),
                field: "base image".into(),
                reason: "is not an image reference".into(),
            });
        }
        let shell = match image.base.family {
            PackageFamily::Apk => vec!["/bin/ash", "-eo", "pipefail", "-c"],
            _ => vec!["/bin/bash", "-o", "pipefail", "-c"],
        };
        let view = DockerfileView {
            generated_from: generated_from.to_string(),
            service: image.service.clone(),
            base: BaseView {
                reference: image.base.reference.clone(),
                reason: image.base.reason.clone(),
                origin: image.base.origin.as_ref().map(|o| o.to_string()),
            },
            shell: shell.into_iter().map(String::from).collect(),
            groups: std::mem::take(&mut self.groups),
            workdir,
            expose,
            healthcheck,
            stop_signal: process.stop_signal.clone(),
            user,
            entrypoint: entrypoint.then(|| vec!["/bin/sh".to_string(), ENTRYPOINT_PATH.to_string()]),
            command: process.command.clone(),
        };
        Ok((view, self.notes))
    }
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// `cd /abs/dir && rest` at the start of a command.
static CD_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^cd\s+(/[^\s;&|]*)\s*&&\s*(.+)$").expect("a fixed, valid pattern"));

fn cd_prefix() -> &'static Regex {
    &CD_PREFIX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_specs_keep_pins() {
        let p = |name: &str, version: Option<&str>| Package { name: name.into(), version: version.map(String::from) };
        assert_eq!(package_spec("=", &p("nginx", Some("1.22*"))), "nginx=1.22*");
        assert_eq!(package_spec("-", &p("httpd", Some("2.4.57"))), "httpd-2.4.57");
        assert_eq!(package_spec("==", &p("gunicorn", Some("==21.2"))), "gunicorn==21.2");
        assert_eq!(package_spec("==", &p("flask", Some(">=2"))), "flask>=2");
        assert_eq!(package_spec("@", &p("pm2", None)), "pm2");
    }

    #[test]
    fn merged_packages_are_sorted_and_unique() {
        let p = |name: &str, version: Option<&str>| Package { name: name.into(), version: version.map(String::from) };
        let list = [p("nginx", None), p("curl", None), p("nginx", Some("1.22")), p("curl", None)];
        let merged: Vec<String> = merge_packages(list.iter()).into_iter().map(|p| package_spec("=", p)).collect();
        assert_eq!(merged, ["curl", "nginx=1.22"]);
    }

    #[test]
    fn checksums() {
        assert_eq!(checksum_tool("sha256:ABCD"), Some(("sha256sum", "abcd".into())));
        assert_eq!(checksum_tool("sha256:https://x/y.sha256"), None);
        assert_eq!(checksum_tool("crc32:abcd"), None);
    }

    #[test]
    fn download_into_a_directory_uses_the_url_name() {
        assert_eq!(download_file("https://x/a/b.tgz?x=1", "/opt/"), Some("/opt/b.tgz".into()));
        assert_eq!(download_file("https://x/a/", "/opt/"), None);
        assert_eq!(download_file("https://x/a/b", "/opt/c"), Some("/opt/c".into()));
    }

    #[test]
    fn cd_prefix_splits() {
        let caps = cd_prefix().captures("cd /opt/app && make install").unwrap();
        assert_eq!(&caps[1], "/opt/app");
        assert_eq!(&caps[2], "make install");
        assert!(cd_prefix().captures("make && cd /x").is_none());
    }
}
