//! The machine plan (`--format json`), documented field by field in `docs/plan-format.md`.
//!
//! A public interface: any change to the shape bumps [`FORMAT_VERSION`]. Secret values are
//! never in it: a sensitive side has `"value": null` and `before_sensitive`/`after_sensitive`
//! say why. File bodies appear only as a unified diff, sizes and digests.

use serde::Serialize;

use super::lines;
use super::{Action, FileBody, FileChange, ParameterChange, ParameterValue, Plan, text};
use crate::diagnostics::Finding;

/// The version of the JSON shape. Bump the minor for added fields, the major for anything
/// removed, renamed or changed in meaning.
pub const FORMAT_VERSION: &str = "1.0";

#[derive(Debug, Serialize)]
pub struct JsonPlan<'a> {
    pub format_version: &'static str,
    pub tool_version: &'static str,
    pub output_dir: &'a str,
    pub parameters_compared: bool,
    pub findings: &'a [Finding],
    pub notes: Vec<String>,
    pub changes: Vec<JsonChange>,
    pub summary: JsonSummary,
}

#[derive(Debug, Serialize)]
pub struct JsonSummary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub conflict: usize,
    pub has_changes: bool,
}

#[derive(Debug, Serialize)]
pub struct JsonChange {
    pub address: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub path: Option<String>,
    pub actions: Vec<&'static str>,
    pub conflict: Option<&'static str>,
    pub reason: Option<String>,
    pub before: Option<JsonState>,
    pub after: Option<JsonState>,
    pub before_sensitive: bool,
    pub after_sensitive: bool,
    pub diff: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum JsonState {
    File {
        sha256: String,
        size: usize,
        executable: bool,
        binary: bool,
    },
    Parameter {
        #[serde(rename = "type")]
        kind: &'static str,
        value: Option<String>,
        version: Option<i64>,
    },
}

/// The JSON value of a plan.
pub fn view(plan: &Plan) -> JsonPlan<'_> {
    let s = plan.summary();
    let mut changes: Vec<JsonChange> = plan.files.iter().map(|f| file_change(plan, f)).collect();
    changes.extend(plan.parameters.iter().map(parameter_change));
    JsonPlan {
        format_version: FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION"),
        output_dir: &plan.output_dir,
        parameters_compared: plan.parameters_compared,
        findings: &plan.findings,
        notes: text::notes(plan),
        changes,
        summary: JsonSummary {
            add: s.add,
            change: s.change,
            destroy: s.destroy,
            conflict: s.conflict,
            has_changes: !s.is_empty(),
        },
    }
}

/// Pretty JSON with a final newline.
pub fn render(plan: &Plan) -> String {
    let mut out = serde_json::to_string_pretty(&view(plan)).unwrap_or_default();
    out.push('\n');
    out
}

fn file_state(body: &FileBody) -> JsonState {
    JsonState::File {
        sha256: body.sha256().to_string(),
        size: body.content.len(),
        executable: body.executable,
        binary: body.text().is_none(),
    }
}

fn file_change(plan: &Plan, f: &FileChange) -> JsonChange {
    let shown = plan.display_path(&f.path);
    fn text_of(b: &Option<FileBody>) -> Option<&str> {
        match b {
            None => Some(""),
            Some(b) => b.text(),
        }
    }
    let diff = match (f.action, text_of(&f.before), text_of(&f.after)) {
        (Action::NoOp | Action::Conflict(super::Conflict::NotAFile), _, _) => None,
        (Action::Conflict(super::Conflict::StaleEdited), _, _) => None,
        (_, Some(old), Some(new)) => {
            let old_name = if f.before.is_some() { format!("a/{shown}") } else { "/dev/null".to_string() };
            let new_name = if f.after.is_some() { format!("b/{shown}") } else { "/dev/null".to_string() };
            Some(lines::unified(old, new, &old_name, &new_name))
        }
        _ => None,
    };
    let (_, reason) = text::file_header(plan, f);
    JsonChange {
        address: plan.file_address(&f.path),
        kind: "file",
        name: shown,
        path: Some(f.path.clone()),
        actions: vec![f.action.name()],
        conflict: match f.action {
            Action::Conflict(c) => Some(c.name()),
            _ => None,
        },
        reason: reason.map(str::to_string),
        before: f.before.as_ref().map(file_state),
        after: f.after.as_ref().map(file_state),
        before_sensitive: false,
        after_sensitive: false,
        diff,
    }
}

fn parameter_change(p: &ParameterChange) -> JsonChange {
    let sensitive = p.sensitive();
    let state = |v: &ParameterValue, version: Option<i64>| JsonState::Parameter {
        kind: v.kind(),
        value: if sensitive { None } else { Some(v.value.expose().clone()) },
        version,
    };
    let reason = match p.action {
        Action::Delete => Some("because no playbook sets it any more".to_string()),
        _ => p.origin.as_ref().map(|o| format!("set in {o}")),
    };
    JsonChange {
        address: Plan::parameter_address(&p.name),
        kind: "ssm_parameter",
        name: p.name.clone(),
        path: None,
        actions: vec![p.action.name()],
        conflict: None,
        reason,
        before: p.before.as_ref().map(|v| state(v, p.before_version)),
        after: p.after.as_ref().map(|v| state(v, None)),
        before_sensitive: sensitive && p.before.is_some(),
        after_sensitive: sensitive && p.after.is_some(),
        diff: None,
    }
}
