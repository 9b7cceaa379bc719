//! `/etc/environment` (rules M601, M602): on a VM, pam_env reads it into every login
//! session, and teams use it for service configuration. Nothing in a container reads it,
//! so writing it into the image would silently lose every value. Instead each
//! `NAME=value` line becomes an environment variable of the services the task feeds,
//! stored in SSM Parameter Store by `rules::env` like any other start-time value.
//!
//! Owns only the line format and where each value comes from ([`VarSource`]); never
//! keeps a secret value (a vault-touched argument is referenced by key, not copied).

use super::{A, EmitCx, Problem, StartVar, TaskOutcome, TemplateResult, VarSource};
use crate::diagnostics::Severity;

/// The file pam_env reads for every session.
pub(super) const PATH: &str = "/etc/environment";

/// One `NAME=value` line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub name: String,
    pub value: String,
}

/// Parses pam_env's `/etc/environment` format: `NAME=value`, an optional `export `,
/// a value in matching single or double quotes, `#` comments and blank lines skipped.
/// Lines that are not assignments are returned as `Err` with their text.
pub(crate) fn parse(text: &str) -> Vec<Result<Line, String>> {
    let mut out = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map(str::trim_start).unwrap_or(line);
        let Some((name, value)) = line.split_once('=') else {
            out.push(Err(raw.to_string()));
            continue;
        };
        let name = name.trim();
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            out.push(Err(raw.to_string()));
            continue;
        }
        let value = value.trim();
        let unquoted =
            ['"', '\''].iter().find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q))).unwrap_or(value);
        out.push(Ok(Line { name: name.to_string(), value: unquoted.to_string() }));
    }
    out
}

/// The task's lines as start-time variables of the services it feeds.
pub(super) fn convert(a: &A, cx: &EmitCx) -> Result<TaskOutcome, Problem> {
    let mut vars: Vec<StartVar> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let from_arg = |key: &str, vars: &mut Vec<StartVar>, skipped: &mut Vec<String>| -> Result<(), Problem> {
        if a.secret(key) {
            // The plaintext stays in the resolved task; discovery reads it from there by key.
            let Some(text) = a.task.secret_args.get(key).and_then(|v| v.expose().as_str().map(str::to_string)) else {
                return Err(Problem::Unclear(format!("`{key}` is not text")));
            };
            for line in parse(&text) {
                match line {
                    Ok(l) => vars.push(StartVar {
                        name: l.name.clone(),
                        secret: true,
                        source: VarSource::TaskArgLine { key: key.to_string(), name: l.name },
                    }),
                    Err(_) => skipped.push("(a line of a secret value)".into()),
                }
            }
            return Ok(());
        }
        let text = a.req(key)?;
        literal_lines(&text, vars, skipped);
        Ok(())
    };
    match a.task.module.short.as_str() {
        "lineinfile" => {
            let state = a.opt("state")?.unwrap_or_else(|| "present".into());
            if state == "absent" {
                return Ok(TaskOutcome::dropped(
                    a.code,
                    format!("removes a line of `{PATH}`, which no container process reads"),
                ));
            }
            from_arg("line", &mut vars, &mut skipped)?;
        }
        "blockinfile" => from_arg("block", &mut vars, &mut skipped)?,
        "copy" if a.has("content") => from_arg("content", &mut vars, &mut skipped)?,
        "copy" => {
            let src = a.req("src")?;
            let Some(repo_path) = super::source_file(a.task, super::RefKind::File, Some(&src)) else {
                return Err(Problem::Unclear(format!("the source `{src}` was not found in the repository")));
            };
            let Some(text) = cx.files.text(&repo_path) else {
                return Err(Problem::Unclear(format!("`{repo_path}` cannot be read as text")));
            };
            literal_lines(text, &mut vars, &mut skipped);
        }
        "template" => {
            let src = a.req("src")?;
            let Some(repo_path) = super::source_file(a.task, super::RefKind::Template, Some(&src)) else {
                return Err(Problem::Unclear(format!("the template `{src}` was not found in the repository")));
            };
            let Some(text) = cx.files.text(&repo_path) else {
                return Err(Problem::Unclear(format!("the template `{repo_path}` cannot be read as text")));
            };
            let (rendered, deferred) = match cx.templates.render(a.task, &repo_path, text) {
                TemplateResult::Rendered { text, .. } => (text, Vec::new()),
                TemplateResult::AtStart { template, vars, .. } => (template, vars),
                TemplateResult::Failed(why) => {
                    return Err(Problem::Unclear(format!("the template `{repo_path}` cannot be rendered: {why}")));
                }
                TemplateResult::Unavailable => {
                    return Err(Problem::Unclear("templates cannot be rendered here".into()));
                }
            };
            for line in parse(&rendered) {
                let l = match line {
                    Ok(l) => l,
                    Err(raw) => {
                        skipped.push(raw);
                        continue;
                    }
                };
                // A value that must come from the environment is exactly one `${NAME}` placeholder.
                let placeholder = l.value.strip_prefix("${").and_then(|v| v.strip_suffix('}'));
                match placeholder.and_then(|p| deferred.iter().find(|d| d.name == p)) {
                    Some(d) => vars.push(StartVar { name: l.name, secret: d.secret, source: d.source.clone() }),
                    None if deferred.iter().any(|d| l.value.contains(&format!("${{{}}}", d.name))) => {
                        skipped.push(format!("{}=…", l.name));
                    }
                    None => vars.push(StartVar { name: l.name, secret: false, source: VarSource::Literal(l.value) }),
                }
            }
        }
        _ => return Err(Problem::Unclear(format!("`{PATH}` is written in a way migrate does not translate"))),
    }
    if vars.is_empty() && skipped.is_empty() {
        return Ok(TaskOutcome::dropped(a.code, format!("writes nothing to `{PATH}`")));
    }
    if !skipped.is_empty() {
        let what = if skipped.len() == 1 { "line" } else { "lines" };
        let reason = format!(
            "{} {what} of `{PATH}` cannot become environment variables ({}); set them in the task definition by hand",
            skipped.len(),
            skipped.iter().map(|s| format!("`{}`", s.trim())).collect::<Vec<_>>().join(", ")
        );
        if vars.is_empty() {
            return Err(Problem::Unclear(reason));
        }
        let mut o = outcome(a, vars);
        o.findings.push((Severity::Warning, reason));
        return Ok(o);
    }
    Ok(outcome(a, vars))
}

/// Every line of a text written in the repository as is: a plain value, or a line that is
/// not an assignment.
fn literal_lines(text: &str, vars: &mut Vec<StartVar>, skipped: &mut Vec<String>) {
    for line in parse(text) {
        match line {
            Ok(l) => vars.push(StartVar { name: l.name, secret: false, source: VarSource::Literal(l.value) }),
            Err(raw) => skipped.push(raw),
        }
    }
}

fn outcome(a: &A, mut vars: Vec<StartVar>) -> TaskOutcome {
    // Later lines win, as pam_env reads the file top to bottom.
    let mut seen = std::collections::BTreeSet::new();
    vars.reverse();
    vars.retain(|v| seen.insert(v.name.clone()));
    vars.reverse();
    let names: Vec<String> = vars.iter().map(|v| format!("`{}`", v.name)).collect();
    let mut o = TaskOutcome::converted(a.code);
    o.findings.push((
        Severity::Info,
        format!(
            "no container process reads `{PATH}`: {} become the service's environment (SSM Parameter Store)",
            names.join(", ")
        ),
    ));
    o.env = vars;
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_format_is_pam_envs() {
        let text = "# comment\n\nLANG=C.UTF-8\nexport TZ='Europe/Berlin'\nAPI_URL=\"http://a b\"\nbad line\n1X=2\n";
        let lines = parse(text);
        assert_eq!(
            lines,
            vec![
                Ok(Line { name: "LANG".into(), value: "C.UTF-8".into() }),
                Ok(Line { name: "TZ".into(), value: "Europe/Berlin".into() }),
                Ok(Line { name: "API_URL".into(), value: "http://a b".into() }),
                Err("bad line".into()),
                Err("1X=2".into()),
            ]
        );
    }
}
