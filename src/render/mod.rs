//! Stage: render, specs to text. Turns each `spec::ImageSpec` into the files of
//! its build context (Dockerfile, copied and rendered files, entrypoint,
//! MIGRATION.md). Knows nothing about Ansible; only this stage writes
//! Dockerfile syntax.
//!
//! Pure: it reads repository files only through the closure it is given and
//! writes nothing; `apply` writes the [`Artifact`]s. The text comes from
//! minijinja templates in `templates/` (embedded: the step commands and the
//! entrypoint), except the Dockerfile (`dockerfile_text`), MIGRATION.md and
//! migration.json (`report`), which are written directly; every Dockerfile is parsed
//! again with `dockerfile-parser` before it is returned, so a template bug is
//! an error here, not a broken file on disk. No secret value ever reaches an
//! artifact: the spec carries parameter names, never values, and start files
//! are templates with `${NAME}` placeholders.

mod check;
mod dockerfile;
mod dockerfile_text;
pub mod ecs;
mod entrypoint;
mod report;
mod shell;
mod templates;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::Origin;
use crate::spec::image::{ContextContent, Conversion, ImageSpec, PackageFamily, StepAction};

pub use check::check_dockerfile;
pub use dockerfile::{ENTRYPOINT_PATH, START_TEMPLATES_DIR};

/// The entrypoint script's name inside each build context.
pub const ENTRYPOINT_FILE: &str = "docker-entrypoint.sh";
/// The machine-readable twin of MIGRATION.md in each service folder: what the
/// image runs and every way it differs, on purpose, from the host the source
/// configured (docs/e2e.md; the end-to-end suite checks against it).
pub const DECLARATIONS_FILE: &str = "migration.json";
/// Where start-file templates go inside each build context.
pub const START_DIR: &str = "start";

/// One generated file, relative to the output directory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Artifact {
    /// `/`-separated path under the output directory (`nginx/Dockerfile`); never
    /// absolute, never with `..`.
    pub path: String,
    /// The exact bytes to write (copied repo files may be binary).
    #[serde(skip)]
    pub content: Vec<u8>,
    /// Written with mode 0755 instead of 0644 (entrypoint scripts).
    pub executable: bool,
}

impl Artifact {
    pub fn text(path: impl Into<String>, text: impl Into<String>) -> Artifact {
        Artifact { path: path.into(), content: text.into().into_bytes(), executable: false }
    }

    /// The content as text, when it is UTF-8.
    pub fn as_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.content).ok()
    }

    /// The service folder the artifact belongs to (`nginx` for `nginx/Dockerfile`).
    pub fn service(&self) -> &str {
        self.path.split('/').next().unwrap_or(&self.path)
    }
}

/// How to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// What the files were generated from, for their header comment
    /// (`repository shop, environment production`). Never an absolute path.
    pub generated_from: String,
}

impl Default for RenderOptions {
    fn default() -> RenderOptions {
        RenderOptions { generated_from: "the source repository".into() }
    }
}

/// Why rendering stopped. Every variant names the spec item (service, or the
/// source `file:line` of the step) but never a value, which could be secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("template {template}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Template { template: String, line: Option<usize>, message: String },
    #[error("{origin}: {field} {reason}")]
    UnsafeValue { origin: String, field: String, reason: String },
    #[error("{origin}: `{path}` is not a path inside the build context ({reason})")]
    BadContextPath { origin: String, path: String, reason: String },
    #[error("{origin}: the build context has no `{context_path}` to copy")]
    CopySourceMissing { origin: String, context_path: String },
    #[error("{origin}: cannot read `{from}` from the repository")]
    MissingRepoFile { origin: String, from: String },
    #[error("service {service}: `{path}` is generated twice")]
    DuplicatePath { service: String, path: String },
    #[error("service name `{service}` cannot be a folder name")]
    BadServiceName { service: String },
    #[error("service {service}: the generated Dockerfile does not check out ({message}); this is a bug in migrate")]
    SelfCheck { service: String, message: String },
}

impl From<templates::TemplateFailure> for RenderError {
    fn from(f: templates::TemplateFailure) -> RenderError {
        RenderError::Template { template: f.template, line: f.line, message: f.message }
    }
}

/// Something a human should look at, found while rendering (MIGRATION.md).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Note {
    pub origin: Option<Origin>,
    pub message: String,
}

/// Renders every image of `conversion`. `repo_file` returns the bytes of a
/// repository file by its relative path (`None` when it cannot be read).
/// The result is sorted by path and identical for identical input.
pub fn render(
    conversion: &Conversion,
    repo_file: &dyn Fn(&str) -> Option<Vec<u8>>,
    options: &RenderOptions,
) -> Result<Vec<Artifact>, RenderError> {
    let templates = templates::Templates::load()?;
    let mut artifacts: BTreeMap<String, Artifact> = BTreeMap::new();
    for image in &conversion.images {
        check_service_name(&image.service)?;
        for artifact in render_image(&templates, image, repo_file, options)? {
            if artifacts.contains_key(&artifact.path) {
                return Err(RenderError::DuplicatePath { service: image.service.clone(), path: artifact.path });
            }
            artifacts.insert(artifact.path.clone(), artifact);
        }
    }
    Ok(artifacts.into_values().collect())
}

/// The files of the images that rendered, and the services that did not with why.
pub type Rendered = (Vec<Artifact>, Vec<(String, RenderError)>);

/// Like [`render`], image by image: an image that cannot be rendered is left
/// out and its error returned beside the others' files, so one service that
/// needs a human does not hide the rest of the conversion.
pub fn render_each(
    conversion: &Conversion,
    repo_file: &(dyn Fn(&str) -> Option<Vec<u8>> + Sync),
    options: &RenderOptions,
) -> Result<Rendered, RenderError> {
    use rayon::prelude::*;
    let templates = templates::Templates::load()?;
    // Images render independently, on every core; `collect` keeps their order, and the
    // merge below runs in that order, so the result is the same as one by one.
    let results: Vec<Result<Vec<Artifact>, RenderError>> = conversion
        .images
        .par_iter()
        .map(|image| {
            check_service_name(&image.service).and_then(|()| render_image(&templates, image, repo_file, options))
        })
        .collect();
    let mut artifacts: BTreeMap<String, Artifact> = BTreeMap::new();
    let mut failed = Vec::new();
    for (image, rendered) in conversion.images.iter().zip(results) {
        let rendered = rendered.and_then(|files| match files.iter().find(|a| artifacts.contains_key(&a.path)) {
            Some(a) => Err(RenderError::DuplicatePath { service: image.service.clone(), path: a.path.clone() }),
            None => Ok(files),
        });
        match rendered {
            Ok(files) => {
                for a in files {
                    artifacts.insert(a.path.clone(), a);
                }
            }
            Err(e) => failed.push((image.service.clone(), e)),
        }
    }
    Ok((artifacts.into_values().collect(), failed))
}

fn check_service_name(service: &str) -> Result<(), RenderError> {
    let ok = !service.is_empty()
        && service != "."
        && service != ".."
        && !service.starts_with('.')
        && service.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok { Ok(()) } else { Err(RenderError::BadServiceName { service: service.to_string() }) }
}

/// A build-context path must be relative, `/`-separated, without `.`/`..`
/// segments, so it can never escape the service folder.
pub(crate) fn check_context_path(origin: &Origin, _field: &str, path: &str) -> Result<(), RenderError> {
    let bad = |reason: &str| RenderError::BadContextPath {
        origin: origin.to_string(),
        path: path.to_string(),
        reason: reason.to_string(),
    };
    if path.is_empty() {
        return Err(bad("empty"));
    }
    if path.starts_with('/') || path.contains('\\') {
        return Err(bad("absolute or not `/`-separated"));
    }
    if path.chars().any(char::is_control) {
        return Err(bad("has a control character"));
    }
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    if trimmed.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        return Err(bad("has an empty, `.` or `..` segment"));
    }
    Ok(())
}

/// Names the renderer writes itself in each service folder.
fn is_reserved(path: &str) -> bool {
    path == "Dockerfile"
        || path == "MIGRATION.md"
        || path == DECLARATIONS_FILE
        || path == ENTRYPOINT_FILE
        || path == START_DIR
        || path.starts_with(&format!("{START_DIR}/"))
}

fn render_image(
    templates: &templates::Templates,
    image: &ImageSpec,
    repo_file: &dyn Fn(&str) -> Option<Vec<u8>>,
    options: &RenderOptions,
) -> Result<Vec<Artifact>, RenderError> {
    let service = &image.service;
    let mut out = Vec::new();

    // Build context files.
    for file in &image.context {
        check_context_path(&file.origin, "path", &file.path)?;
        if is_reserved(&file.path) {
            return Err(RenderError::BadContextPath {
                origin: file.origin.to_string(),
                path: file.path.clone(),
                reason: "the name is reserved for a generated file".into(),
            });
        }
        let content = match &file.content {
            ContextContent::Copy { from } => repo_file(from).ok_or_else(|| RenderError::MissingRepoFile {
                origin: file.origin.to_string(),
                from: from.to_string(),
            })?,
            ContextContent::Text { text } => text.clone().into_bytes(),
        };
        out.push(Artifact { path: format!("{service}/{}", file.path), content, executable: false });
    }

    let user = final_user(image)?;
    let start = entrypoint::start_files(image)?;
    let mut builder = dockerfile::Builder::new(templates, image);
    builder.build_steps()?;
    builder.log_links()?;
    builder.runtime_access(&user)?;
    builder.start_files(&start.files, &user)?;
    let added_packages = builder.added_packages();
    let (view, mut notes) = builder.finish(&options.generated_from, user, !start.files.is_empty())?;
    notes.extend(start.notes);
    if !view.user.chars().all(|c| c.is_ascii_digit() || c == ':') {
        notes.push(Note {
            origin: None,
            message: format!(
                "USER `{}` is a name: Kubernetes-style runAsNonRoot checks and hadolint (DL3066) want a numeric uid; \
                 give the user a fixed uid in the source",
                view.user
            ),
        });
    }
    let dockerfile = view.text()?;
    out.push(Artifact::text(format!("{service}/Dockerfile"), self_checked(service, dockerfile)?));

    if !start.files.is_empty() {
        let script = entrypoint::render_script(templates, image, &start.files, &options.generated_from)?;
        out.push(Artifact {
            path: format!("{service}/{ENTRYPOINT_FILE}"),
            content: script.into_bytes(),
            executable: true,
        });
        for (file, spec) in start.files.iter().zip(&start.specs) {
            out.push(Artifact::text(format!("{service}/{}", file.context_path), spec.template.clone()));
        }
    }

    notes.sort();
    notes.dedup();
    let migration = report::render(image, &notes, &options.generated_from);
    out.push(Artifact::text(format!("{service}/MIGRATION.md"), migration));
    let declarations = report::declarations(image, &view.user, &added_packages, &notes);
    out.push(Artifact::text(format!("{service}/{DECLARATIONS_FILE}"), declarations));
    out.sort();
    Ok(out)
}

/// `dockerfile` when it passes the self-check; a failure is a bug in migrate.
/// `value` as pretty-printed JSON with a final newline, written into a buffer of about
/// `capacity` bytes, the usual size of such a file (serde_json's own buffer starts at 128
/// bytes and regrows); `None` when it cannot be serialised.
fn pretty_json<T: Serialize>(value: &T, capacity: usize) -> Option<String> {
    let mut text = Vec::with_capacity(capacity);
    serde_json::to_writer_pretty(&mut text, value).ok()?;
    text.push(b'\n');
    text.shrink_to_fit();
    // serde_json writes UTF-8 only.
    String::from_utf8(text).ok()
}

fn self_checked(service: &str, dockerfile: String) -> Result<String, RenderError> {
    match check::check_dockerfile(&dockerfile) {
        Ok(()) => Ok(dockerfile),
        Err(message) => Err(RenderError::SelfCheck { service: service.to_string(), message }),
    }
}

/// The `USER` of the image: the process user, numeric when the spec creates
/// it with a fixed uid (hadolint DL3066). Root is refused.
fn final_user(image: &ImageSpec) -> Result<String, RenderError> {
    let name = image.process.user.trim();
    let root_error = || RenderError::UnsafeValue {
        origin: format!("service {}", image.service),
        field: "process user".into(),
        reason: "is root; the service must run as another user".into(),
    };
    if name.is_empty() || name == "root" || name == "0" || name.starts_with("0:") || name.starts_with("root:") {
        return Err(root_error());
    }
    if !shell::is_dockerfile_word(name) {
        return Err(RenderError::UnsafeValue {
            origin: format!("service {}", image.service),
            field: "process user".into(),
            reason: "is not a user name or uid".into(),
        });
    }
    let mut uid = None;
    let mut group_name = None;
    for step in &image.steps {
        if let StepAction::CreateUser { name: n, uid: Some(u), group, .. } = &step.action
            && n == name
        {
            uid = Some(*u);
            group_name = group.clone();
        }
    }
    // Accounts the distribution itself fixes (Debian's base-passwd) are numeric too (DL3066).
    let fixed = match (image.base.family, name) {
        (PackageFamily::Apt, "www-data") => Some("33:33"),
        (_, "nobody") => Some("65534:65534"),
        _ => None,
    };
    let Some(uid) = uid else { return Ok(fixed.map_or_else(|| name.to_string(), str::to_string)) };
    if uid == 0 {
        return Err(root_error());
    }
    let gid = group_name.and_then(|g| {
        image.steps.iter().find_map(|s| match &s.action {
            StepAction::CreateGroup { name, gid: Some(gid), .. } if *name == g => Some(*gid),
            _ => None,
        })
    });
    Ok(match gid {
        Some(gid) => format!("{uid}:{gid}"),
        None => uid.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_paths_never_escape() {
        let origin = Origin::new("a.yml".into(), 1);
        assert!(check_context_path(&origin, "path", "files/nginx.conf").is_ok());
        assert!(check_context_path(&origin, "path", "files/").is_ok());
        for bad in ["", "/etc/x", "../x", "a/../../x", "a//b", "./a", "a\\b", "a\nb"] {
            assert!(check_context_path(&origin, "path", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_dockerfile_that_does_not_parse_is_an_error() {
        let good = "FROM debian:12-slim\nUSER 10001\nCMD [\"x\"]\n".to_string();
        assert_eq!(self_checked("web", good.clone()), Ok(good));
        let err = self_checked("web", "FROM debian:12-slim\n\"broken\nUSER 1\nCMD [\"x\"]\n".into()).unwrap_err();
        assert!(matches!(&err, RenderError::SelfCheck { service, .. } if service == "web"), "{err}");
        assert!(err.to_string().contains("this is a bug in migrate"), "{err}");
    }

    #[test]
    fn service_names_are_folder_names() {
        assert!(check_service_name("nginx").is_ok());
        assert!(check_service_name("app-worker_2").is_ok());
        for bad in ["", ".", "..", ".hidden", "a/b", "a b"] {
            assert!(check_service_name(bad).is_err(), "{bad:?} accepted");
        }
    }
}
