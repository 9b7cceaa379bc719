//! Start files: config that holds secrets or per-environment values is not
//! baked into the image. Its `${NAME}` template goes into the build context;
//! an entrypoint script renders it with `envsubst`, restricted to the
//! variables the service declares, then `exec`s the service as PID 1.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use minijinja::{Value, context};
use regex::Regex;

use super::dockerfile::{START_TEMPLATES_DIR, StartFileView};
use super::templates::{self, Templates};
use super::{Note, RenderError, START_DIR, shell};
use crate::spec::image::{ImageSpec, StartFile};

static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}").expect("a fixed, valid pattern"));

/// The start files of one image, ready for the Dockerfile and the script.
pub struct StartFiles {
    pub files: Vec<StartFileView>,
    /// The spec of each file, in the same order.
    pub specs: Vec<StartFile>,
    pub notes: Vec<Note>,
}

pub fn start_files(image: &ImageSpec) -> Result<StartFiles, RenderError> {
    let env: BTreeSet<&str> = image.env.iter().map(|e| e.name.as_str()).collect();
    let mut sorted: Vec<&StartFile> = image.start_files.iter().collect();
    sorted.sort_by(|a, b| a.dest.cmp(&b.dest));
    let mut files = Vec::new();
    let mut specs = Vec::new();
    let mut notes = Vec::new();
    let mut seen = BTreeSet::new();
    for file in sorted {
        let origin = file.origin.to_string();
        let unsafe_dest = |reason: &str| RenderError::UnsafeValue {
            origin: origin.clone(),
            field: "start file dest".into(),
            reason: reason.into(),
        };
        if !file.dest.starts_with('/') || file.dest.ends_with('/') {
            return Err(unsafe_dest("is not an absolute file path"));
        }
        if shell::quote(&file.dest).is_err() {
            return Err(unsafe_dest("has a line break"));
        }
        let relative = file.dest.trim_start_matches('/');
        let context_path = format!("{START_DIR}/{relative}");
        super::check_context_path(&file.origin, "dest", &context_path)?;
        if !seen.insert(file.dest.clone()) {
            return Err(unsafe_dest("is rendered twice"));
        }
        let mode = file.mode.clone().unwrap_or_else(|| "0600".to_string());
        if shell::quote(&mode).is_err() {
            return Err(RenderError::UnsafeValue {
                origin,
                field: "start file mode".into(),
                reason: "has a line break".into(),
            });
        }
        let mut variables = BTreeSet::new();
        let mut unknown = BTreeSet::new();
        // Each match is `${NAME}`: the name is between the braces (a plain search, which the
        // regex crate runs much faster than one that reports groups).
        for found in PLACEHOLDER.find_iter(&file.template) {
            let text = found.as_str();
            let name = text.strip_prefix("${").and_then(|t| t.strip_suffix('}')).unwrap_or(text).to_string();
            if env.contains(name.as_str()) {
                variables.insert(name);
            } else {
                unknown.insert(name);
            }
        }
        for name in unknown {
            notes.push(Note {
                origin: Some(file.origin.clone()),
                message: format!(
                    "`${{{name}}}` in the template of {} is not an environment variable of the service; left as written",
                    file.dest
                ),
            });
        }
        if let Some(owner) = &file.owner
            && *owner != image.process.user
        {
            notes.push(Note {
                origin: Some(file.origin.clone()),
                message: format!(
                    "{} belonged to `{owner}`; it is written at start by the service user `{}`, who owns it now",
                    file.dest, image.process.user
                ),
            });
        }
        let dir = match file.dest.rfind('/') {
            Some(0) | None => "/".to_string(),
            Some(i) => file.dest[..i].to_string(),
        };
        files.push(StartFileView {
            dest: file.dest.clone(),
            dir,
            mode,
            image_path: format!("{START_TEMPLATES_DIR}/{relative}"),
            context_path,
            variables: variables.into_iter().collect(),
        });
        specs.push(file.clone());
    }
    Ok(StartFiles { files, specs, notes })
}

/// The entrypoint script (POSIX sh).
pub fn render_script(
    templates: &Templates,
    image: &ImageSpec,
    files: &[StartFileView],
    generated_from: &str,
) -> Result<String, RenderError> {
    // Which files need each variable, for the error message when it is unset.
    let mut users: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for file in files {
        for name in &file.variables {
            users.entry(name.as_str()).or_default().push(file.dest.as_str());
        }
    }
    let required: Vec<Value> = users
        .into_iter()
        .map(|(name, dests)| {
            // `${NAME?message}`: the message is inside double quotes, so it keeps
            // only characters the shell reads literally there.
            let message: String = format!("{name} must be set: {} needs it", dests.join(", "))
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || " ./:,_-".contains(c) { c } else { '_' })
                .collect();
            context! { name => name, check => format!(": \"${{{name}?{message}}}\"") }
        })
        .collect();
    let files: Vec<Value> = files
        .iter()
        .map(|f| {
            let shell_format: Vec<String> = f.variables.iter().map(|v| format!("${{{v}}}")).collect();
            context! { dest => &f.dest, template => &f.image_path, shell_format => shell_format.join(" ") }
        })
        .collect();
    let checks: Vec<Value> = image
        .start_checks
        .iter()
        .map(|c| context! { source => format!("{} {}", c.origin, c.title), command => &c.command })
        .collect();
    let context = context! {
        service => &image.service,
        generated_from => generated_from,
        required => required,
        files => files,
        checks => checks,
    };
    Ok(templates.render(templates::ENTRYPOINT, context)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;
    use crate::spec::ecs::tests::image;
    use crate::spec::image::{EnvValue, EnvVar, ServiceKind};

    #[test]
    fn placeholders_are_the_names_between_braces() {
        let mut image = image(ServiceKind::App);
        image.start_files.truncate(1);
        image.start_files[0].template = "a=${APP_KEY} b=${B_1}${APP_KEY} $C ${9x} ${ D} ${_E}\n".into();
        image.env = ["APP_KEY", "_E", "C"]
            .iter()
            .map(|n| EnvVar {
                name: n.to_string(),
                value: EnvValue::Literal { value: String::new() },
                origin: Origin::new("vars.yml".into(), 1),
                source: None,
            })
            .collect();
        let start = start_files(&image).unwrap();
        assert_eq!(start.files[0].variables, ["APP_KEY", "_E"]);
        let unknown: Vec<&str> = start
            .notes
            .iter()
            .map(|n| n.message.as_str())
            .filter(|m| m.contains("is not an environment variable"))
            .collect();
        assert_eq!(unknown.len(), 1, "{unknown:?}");
        assert!(unknown[0].starts_with("`${B_1}`"), "{unknown:?}");
    }
}
