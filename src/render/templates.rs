//! The minijinja environment for the renderer's own templates
//! (`src/render/templates/`, embedded in the binary).
//!
//! Templates use a second delimiter set (`{{{ }}}`, `{{% %}}`, `{{# #}}`, as
//! cargo-dist does for GitHub YAML) so that a template of ours can show an
//! Ansible `{{ var }}` literally; data is never parsed as a template anyway.
//! Undefined values are errors (strict), and errors carry template and line.
//! Contexts are built as minijinja values directly (`context!`, [`strings`]):
//! no serde or JSON round trip.

use include_dir::{Dir, include_dir};
use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior, Value};

use super::shell;

static TEMPLATE_DIR: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/src/render/templates");

/// The old Dockerfile template (`reference/`), now written by `dockerfile_text`; tests compare both.
#[cfg(test)]
pub const DOCKERFILE: &str = "Dockerfile.j2";
pub const ENTRYPOINT: &str = "entrypoint.sh.j2";

/// The loaded templates.
pub struct Templates {
    env: Environment<'static>,
}

/// A template failed: which one, where, and minijinja's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateFailure {
    pub template: String,
    pub line: Option<usize>,
    pub message: String,
}

impl Templates {
    pub fn load() -> Result<Templates, TemplateFailure> {
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .block_delimiters("{{%", "%}}")
            .variable_delimiters("{{{", "}}}")
            .comment_delimiters("{{#", "#}}")
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .map_err(|e| failure("(syntax)", &e))?;
        env.set_syntax(syntax);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_debug(true);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.add_filter("sh", sh_filter);
        env.add_filter("sq", |word: &str| {
            shell::quote_always(word).map_err(|_| {
                Error::new(ErrorKind::InvalidOperation, "a value with a line break cannot be written into a shell line")
            })
        });
        env.add_filter("line", |text: &str| shell::one_line(text));
        env.add_filter("dirname", |path: &str| match path.rfind('/') {
            Some(0) => "/".to_string(),
            Some(i) => path[..i].to_string(),
            None => ".".to_string(),
        });
        env.add_function("error", |message: String| -> Result<Value, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, message))
        });
        for file in all_files(&TEMPLATE_DIR) {
            let name = file.path().to_string_lossy().replace('\\', "/");
            let source = file.contents_utf8().ok_or_else(|| TemplateFailure {
                template: name.clone(),
                line: None,
                message: "template is not UTF-8".into(),
            })?;
            env.add_template_owned(name.clone(), source.to_string()).map_err(|e| failure(&name, &e))?;
        }
        Ok(Templates { env })
    }

    /// The templates with the old Dockerfile templates of `reference/` added, for the test
    /// that compares them with `dockerfile_text`.
    #[cfg(test)]
    pub fn with_reference_dockerfile() -> Templates {
        let mut templates = Templates::load().unwrap();
        templates.env.add_filter("exec_form", exec_form_filter);
        for (name, source) in [
            (DOCKERFILE, include_str!("reference/Dockerfile.j2")),
            ("instructions/run.j2", include_str!("reference/instructions/run.j2")),
            ("instructions/copy.j2", include_str!("reference/instructions/copy.j2")),
            ("instructions/workdir.j2", include_str!("reference/instructions/workdir.j2")),
        ] {
            templates.env.add_template(name, source).unwrap();
        }
        templates
    }

    /// Renders template `name` with `context`.
    pub fn render(&self, name: &str, context: Value) -> Result<String, TemplateFailure> {
        let template = self.env.get_template(name).map_err(|e| failure(name, &e))?;
        template.render(context).map_err(|e| failure(name, &e))
    }
}

fn all_files<'a>(dir: &'a Dir<'a>) -> Vec<&'a include_dir::File<'a>> {
    let mut out: Vec<&include_dir::File<'_>> = dir.files().collect();
    for sub in dir.dirs() {
        out.extend(all_files(sub));
    }
    out.sort_by(|a, b| a.path().cmp(b.path()));
    out
}

fn failure(name: &str, error: &Error) -> TemplateFailure {
    // The innermost error names the included template and line that failed.
    let mut inner: &dyn std::error::Error = error;
    let mut template = error.name().unwrap_or(name).to_string();
    let mut line = error.line();
    while let Some(source) = inner.source() {
        if let Some(e) = source.downcast_ref::<Error>()
            && let Some(n) = e.name()
        {
            template = n.to_string();
            line = e.line();
        }
        inner = source;
    }
    TemplateFailure { template, line, message: error.detail().unwrap_or("template error").to_string() }
}

fn sh_filter(word: Value) -> Result<String, Error> {
    // Strict undefined does not stop a value from being passed to a filter.
    if word.is_undefined() || word.is_none() {
        return Err(Error::new(ErrorKind::UndefinedError, "an undefined or none value passed to `sh`"));
    }
    let text = match word.as_str() {
        Some(s) => s.to_string(),
        None => word.to_string(),
    };
    shell::quote(&text).map_err(|_| {
        Error::new(ErrorKind::InvalidOperation, "a value with a line break cannot be written into a shell line")
    })
}

#[cfg(test)]
fn exec_form_filter(words: Vec<String>) -> Result<String, Error> {
    let mut parts = Vec::with_capacity(words.len());
    for word in &words {
        parts.push(serde_json::to_string(word).map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?);
    }
    Ok(format!("[{}]", parts.join(", ")))
}

/// A list of strings as a template value (one `Value` per item, built once).
pub fn strings<S: AsRef<str>>(items: &[S]) -> Value {
    Value::from(items.iter().map(|s| Value::from(s.as_ref())).collect::<Vec<Value>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_loads() {
        let templates = Templates::load().unwrap();
        assert!(Templates::with_reference_dockerfile().env.get_template(DOCKERFILE).is_ok());
        assert!(templates.env.get_template("steps/install-packages.j2").is_ok());
    }

    #[test]
    fn undefined_values_are_errors() {
        let templates = Templates::load().unwrap();
        let err = templates.render("steps/remove.j2", minijinja::context! {}).unwrap_err();
        assert_eq!(err.template, "steps/remove.j2");
        assert_eq!(err.line, Some(1));
    }

    #[test]
    fn ansible_braces_in_data_stay_literal() {
        let templates = Templates::load().unwrap();
        let out = templates.render("steps/remove.j2", minijinja::context! { path => "/x/{{ y }}" }).unwrap();
        assert_eq!(out, "rm -rf '/x/{{ y }}'\n");
    }

    #[test]
    fn exec_form_is_json_with_spaces() {
        assert_eq!(
            exec_form_filter(vec!["nginx".into(), "daemon off;".into()]).unwrap(),
            r#"["nginx", "daemon off;"]"#
        );
    }
}
