//! Runs a rule's `## Example`: the ```` ```yaml ansible ```` tasks are turned
//! into a resolved run and converted, and the result is compared with the
//! ```` ```yaml expected ```` block.
//!
//! Module rules (with `match:`) convert one task and compare its
//! [`TaskOutcome`](super::emit::TaskOutcome) strictly: every field the
//! expectation leaves out must be empty. Decision rules convert the whole
//! mini-run and compare a summary (`images`, `managed`, `sidecars`, `pairs`,
//! `accounting`, `findings`), only the keys the expectation names.
//!
//! Example tasks are written as in a playbook, plus two test-only keys:
//! `_role: NAME` (the role the task belongs to, `demo` by default) and
//! `_when_unknown: EXPR` (the condition could not be evaluated). A `src:`
//! (or a script) is found at `roles/<role>/files/<src>` (`templates/` for
//! `template`), with the content `example\n`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::docs::fenced_block;
use super::emit::{self, EmitCx, NoRenderer};
use super::ruleset::{Rule, RuleSet};
use super::split::{Inputs, convert};
use crate::config::Config;
use crate::model::link::{FileRef, RefKind, Target};
use crate::model::module_name::ModuleName;
use crate::model::resolved::{Condition, ResolvedPlay, ResolvedRun, ResolvedTask, RoleRef};
use crate::model::{Origin, Project};
use crate::spec::image::{Disposition, PackageFamily};

const TASK_KEYS: &[&str] = &["name", "notify", "args", "_role", "_when_unknown", "listen", "register", "become"];

/// Runs one rule's example; `Err` explains the difference.
pub fn check(rules: &RuleSet, rule: &Rule) -> Result<(), String> {
    let input = fenced_block(&rule.docs, "yaml ansible").ok_or("no ```yaml ansible block in the example")?;
    let expected = fenced_block(&rule.docs, "yaml expected").ok_or("no ```yaml expected block in the example")?;
    let expected: Value = serde_saphyr::from_str(expected).map_err(|e| format!("expected block: {e}"))?;
    let (run, files) = build_run(input)?;
    if rule.matcher.is_some() {
        let task = run.plays.first().and_then(|p| p.tasks.first()).ok_or("the example has no task")?;
        let cx = EmitCx { family: PackageFamily::Apt, files: &files, templates: &NoRenderer };
        let outcome = emit::apply(rules, task, &cx);
        if outcome.code != rule.code && outcome.disposition != emit::OutcomeKind::Skipped {
            return Err(format!("decided by {} instead of {}: {:?}", outcome.code, rule.code, outcome.reason));
        }
        let actual = serde_json::to_value(&outcome).map_err(|e| e.to_string())?;
        let mut expected = expected;
        if let Value::Object(m) = &mut expected {
            m.insert("code".into(), Value::String(rule.code.clone()));
        }
        covers(&expected, &actual, true, "")
    } else {
        let project = Project::default();
        let mut config = Config::default();
        config.app.name = Some("demo".into());
        let base = crate::model::target::base_image(&project, &config);
        let inputs = Inputs {
            project: &project,
            files: &files,
            run: &run,
            config: &config,
            rules,
            templates: &NoRenderer,
            base: &base,
        };
        let (conversion, findings) = convert(&inputs);
        let names = |v: Vec<String>| Value::Array(v.into_iter().map(Value::String).collect());
        let accounting: Vec<Value> = conversion
            .accounting
            .iter()
            .map(|a| match &a.disposition {
                Disposition::Converted { services, code } => {
                    serde_json::json!({"disposition": "converted", "services": services, "code": code})
                }
                Disposition::Dropped { code, .. } => serde_json::json!({"disposition": "dropped", "code": code}),
                Disposition::NeedsHuman { code, .. } => serde_json::json!({"disposition": "needs_human", "code": code}),
                Disposition::Skipped { .. } => serde_json::json!({"disposition": "skipped"}),
            })
            .collect();
        let codes: BTreeSet<String> = findings.iter().map(|f| f.code.id.to_string()).collect();
        let actual = serde_json::json!({
            "images": names(conversion.images.iter().map(|i| i.service.clone()).collect()),
            "managed": names(conversion.managed.iter().map(|i| i.service.clone()).collect()),
            "sidecars": names(conversion.sidecars.iter().map(|i| i.service.clone()).collect()),
            "pairs": names(conversion.pairs.iter().map(|i| i.service.clone()).collect()),
            "accounting": accounting,
            "findings": names(codes.into_iter().collect()),
        });
        covers(&expected, &actual, false, "")
    }
}

/// True when `actual` holds everything `expected` says; with `strict`,
/// object keys `expected` leaves out must be empty in `actual`.
fn covers(expected: &Value, actual: &Value, strict: bool, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                let Some(av) = a.get(k) else { return Err(format!("{at}.{k}: missing in {actual}")) };
                covers(v, av, strict, &format!("{at}.{k}"))?;
            }
            if strict {
                for (k, v) in a {
                    let empty = match v {
                        Value::Null => true,
                        Value::Bool(b) => !b,
                        Value::Array(x) => x.is_empty(),
                        Value::Object(x) => x.is_empty(),
                        Value::String(s) => s.is_empty(),
                        Value::Number(_) => false,
                    };
                    if !e.contains_key(k) && !empty {
                        return Err(format!("{at}.{k}: not expected, got {v}"));
                    }
                }
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!("{at}: expected {} items, got {}: {actual}", e.len(), a.len()));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                covers(ev, av, strict, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => Ok(()),
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{at}: expected {e}, got {a}")),
    }
}

/// The example's tasks as a one-play run, and the repository files they read.
pub fn build_run(input: &str) -> Result<(ResolvedRun, BTreeMap<String, String>), String> {
    let tasks: Value = serde_saphyr::from_str(input).map_err(|e| format!("ansible block: {e}"))?;
    let Value::Array(tasks) = tasks else { return Err("the ansible block must be a list of tasks".into()) };
    let mut files = BTreeMap::new();
    let mut resolved = Vec::new();
    let mut handlers = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        let Value::Object(map) = t else { return Err(format!("task {i} is not a mapping")) };
        let task = build_task(map, i as u32 + 1, &mut files)?;
        if task.is_handler { handlers.push(task) } else { resolved.push(task) }
    }
    let play = ResolvedPlay {
        origin: Origin::new("site.yml".into(), 1),
        name: None,
        hosts: "all".into(),
        groups: Vec::new(),
        tasks: resolved,
        handlers,
    };
    Ok((ResolvedRun { plays: vec![play], ..Default::default() }, files))
}

fn build_task(
    map: &Map<String, Value>,
    line: u32,
    files: &mut BTreeMap<String, String>,
) -> Result<ResolvedTask, String> {
    let module_keys: Vec<&String> = map.keys().filter(|k| !TASK_KEYS.contains(&k.as_str())).collect();
    let [module_key] = module_keys.as_slice() else {
        return Err(format!("task at line {line}: one module key expected"));
    };
    let module = ModuleName::parse(module_key);
    let mut args = match &map[module_key.as_str()] {
        Value::Object(m) => m.clone(),
        Value::String(s) => {
            let kv = crate::model::freeform::parse_kv(s, module.is_freeform()).map_err(|e| e.to_string())?;
            kv.into_iter().map(|(k, v)| (k, Value::String(v))).collect()
        }
        Value::Null => Map::new(),
        other => return Err(format!("task at line {line}: module arguments {other}")),
    };
    if let Some(Value::Object(extra)) = map.get("args") {
        for (k, v) in extra {
            args.insert(k.clone(), v.clone());
        }
    }
    let role = map.get("_role").and_then(Value::as_str).unwrap_or("demo").to_string();
    let role_dir = format!("roles/{role}");
    let origin = Origin::new(Arc::from(format!("{role_dir}/tasks/main.yml")), line);
    let mut refs = Vec::new();
    let (kind, dir) = match module.short.as_str() {
        "template" => (RefKind::Template, "templates"),
        "script" => (RefKind::Script, "files"),
        _ => (RefKind::File, "files"),
    };
    let src = match module.short.as_str() {
        "script" => args
            .get("_raw_params")
            .and_then(Value::as_str)
            .and_then(|s| s.split_whitespace().next())
            .map(str::to_string),
        _ => args.get("src").and_then(Value::as_str).map(str::to_string),
    };
    if let Some(src) = src.filter(|s| !s.contains("://"))
        && matches!(module.short.as_str(), "copy" | "template" | "script" | "unarchive")
    {
        let path = format!("{role_dir}/{dir}/{src}");
        files.insert(path.clone(), "example\n".into());
        let mut r = FileRef::new(kind, src, origin.clone());
        r.target = Target::Found { path: path.into() };
        refs.push(r);
    }
    let strings = |key: &str| -> Vec<String> {
        match map.get(key) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(v)) => v.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        }
    };
    let listen = strings("listen");
    let is_handler = !listen.is_empty();
    let condition = match map.get("_when_unknown").and_then(Value::as_str) {
        Some(w) => Condition::Unknown { when: w.into(), why: "a registered result".into() },
        None => Condition::Always,
    };
    Ok(ResolvedTask {
        origin,
        name: map.get("name").and_then(Value::as_str).map(str::to_string),
        role: Some(RoleRef { name: role, path: role_dir.into() }),
        module: module.into(),
        args,
        secret_args: BTreeMap::new(),
        unresolved: Vec::new(),
        condition,
        loop_item: None,
        notify: strings("notify"),
        listen,
        is_handler,
        environment: BTreeMap::new(),
        become_user: None,
        delegate_to: None,
        register: None,
        no_log: false,
        files: refs,
        scope: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rule's documented example holds.
    #[test]
    fn every_example_runs() {
        let rules = RuleSet::load_embedded().unwrap();
        let mut failures = Vec::new();
        for rule in &rules.rules {
            if let Err(e) = check(&rules, rule) {
                failures.push(format!("{} {}: {e}", rule.code, rule.name));
            }
        }
        assert!(failures.is_empty(), "{} example(s) fail:\n{}", failures.len(), failures.join("\n"));
    }

    #[test]
    fn a_wrong_expectation_fails() {
        let rules = RuleSet::load_embedded().unwrap();
        let mut rule = rules.get("M101").unwrap().clone();
        rule.docs = rule.docs.replace("name: nginx", "name: apache2");
        assert!(check(&rules, &rule).is_err());
        let mut rule = rules.get("M352").unwrap().clone();
        rule.docs = rule.docs.replace("managed: [postgresql]", "managed: []");
        assert!(check(&rules, &rule).is_err());
    }
}
