//! MIGRATION.md: what was converted, dropped, needs a human, and what the
//! service expects at run time (variable names and parameter names only,
//! never values).

use serde_json::json;

use super::templates::{self, Templates};
use super::{Note, RenderError};
use crate::spec::image::{CronSchedule, EnvValue, ImageSpec, LogStream, Protocol, ReportItem};

fn items(list: &[ReportItem]) -> Vec<serde_json::Value> {
    let mut sorted: Vec<&ReportItem> = list.iter().collect();
    sorted.sort();
    sorted
        .into_iter()
        .map(|i| json!({"origin": i.origin.to_string(), "code": i.code, "what": i.what, "why": i.why}))
        .collect()
}

fn schedule(s: &CronSchedule) -> String {
    match &s.special_time {
        Some(special) => format!("@{special}"),
        None => format!("{} {} {} {} {}", s.minute, s.hour, s.day, s.month, s.weekday),
    }
}

pub fn render(
    templates: &Templates,
    image: &ImageSpec,
    notes: &[Note],
    generated_from: &str,
) -> Result<String, RenderError> {
    let mut needs_human = items(&image.report.needs_human);
    for note in notes {
        needs_human.push(json!({
            "origin": note.origin.as_ref().map_or_else(|| format!("service {}", image.service), |o| o.to_string()),
            "code": "",
            "what": note.message,
            "why": "",
        }));
    }
    let mut env: Vec<_> = image
        .env
        .iter()
        .map(|e| {
            let (source, secret) = match &e.value {
                EnvValue::Literal { .. } => ("task definition (same in every environment)".to_string(), false),
                EnvValue::Parameter { parameter, secret } => (format!("SSM parameter `{parameter}`"), *secret),
            };
            json!({"name": e.name, "source": source, "secret": secret})
        })
        .collect();
    env.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let mut start_files: Vec<_> = image
        .start_files
        .iter()
        .map(|f| {
            let env_names: Vec<&str> = image
                .env
                .iter()
                .map(|e| e.name.as_str())
                .filter(|n| f.template.contains(&format!("${{{n}}}")))
                .collect();
            let mut variables = env_names;
            variables.sort();
            variables.dedup();
            json!({"dest": f.dest, "origin": f.origin.to_string(), "variables": variables, "reason": f.reason})
        })
        .collect();
    start_files.sort_by(|a, b| a["dest"].as_str().cmp(&b["dest"].as_str()));
    let mut ports: Vec<_> = image.ports.iter().collect();
    ports.sort();
    ports.dedup();
    let ports: Vec<String> = ports
        .iter()
        .map(|p| format!("{}/{}", p.port, if p.protocol == Protocol::Udp { "udp" } else { "tcp" }))
        .collect();
    let log_links: Vec<_> = image
        .log_links
        .iter()
        .map(|l| json!({"path": l.path, "stream": if l.stream == LogStream::Stdout { "stdout" } else { "stderr" }}))
        .collect();
    let jobs: Vec<_> = image
        .jobs
        .iter()
        .map(|j| {
            json!({"name": j.name, "schedule": schedule(&j.schedule), "command": j.command.join(" "), "user": j.user,
                   "origin": j.origin.to_string()})
        })
        .collect();
    let context = json!({
        "service": image.service,
        "generated_from": generated_from,
        "command": image.process.command,
        "user": image.process.user,
        "base": {
            "reference": image.base.reference,
            "reason": image.base.reason,
            "origin": image.base.origin.as_ref().map(|o| o.to_string()),
        },
        "converted": items(&image.report.converted),
        "dropped": items(&image.report.dropped),
        "needs_human": needs_human,
        "env": env,
        "start_files": start_files,
        "ports": ports,
        "healthcheck": image.healthcheck.as_ref().map(|h| h.command.clone()),
        "stop_signal": image.process.stop_signal,
        "stop_timeout": image.process.stop_timeout,
        "log_links": log_links,
        "writable_paths": image.writable_paths,
        "jobs": jobs,
    });
    Ok(templates.render(templates::MIGRATION, templates::to_value(&context))?)
}

/// `migration.json`: the declarations of MIGRATION.md in machine-readable
/// form. What the image runs (command, user, ports, health check, stop, the
/// environment it reads, its scheduled jobs) and every difference from the
/// host the source configured that the converter made on purpose: files
/// rendered at start, log files sent to the output, paths made writable,
/// packages it added, daemons and tasks it dropped, and what needs a human.
/// Variable and parameter names only, never a value.
pub fn declarations(image: &ImageSpec, image_user: &str, added_packages: &[String], notes: &[Note]) -> String {
    let mut env: Vec<serde_json::Value> = image
        .env
        .iter()
        .map(|e| match &e.value {
            // The literal's value belongs to the task definition only, like every value.
            EnvValue::Literal { .. } => json!({"name": e.name, "from": "task_definition", "secret": false}),
            EnvValue::Parameter { parameter, secret } => {
                json!({"name": e.name, "from": "parameter_store", "parameter": parameter, "secret": secret})
            }
        })
        .collect();
    env.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    env.dedup_by(|a, b| a["name"] == b["name"]);
    let mut ports: Vec<serde_json::Value> = image
        .ports
        .iter()
        .map(|p| json!({"port": p.port, "protocol": if p.protocol == Protocol::Udp { "udp" } else { "tcp" }}))
        .collect();
    ports.dedup();
    let mut start_files: Vec<serde_json::Value> = image
        .start_files
        .iter()
        .map(|f| json!({"path": f.dest, "origin": f.origin.to_string(), "mode": f.mode, "reason": f.reason}))
        .collect();
    start_files.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    let log_links: Vec<serde_json::Value> = image
        .log_links
        .iter()
        .map(|l| json!({"path": l.path, "stream": if l.stream == LogStream::Stdout { "stdout" } else { "stderr" }}))
        .collect();
    let jobs: Vec<serde_json::Value> = image
        .jobs
        .iter()
        .map(|j| {
            json!({"name": j.name, "schedule": schedule(&j.schedule), "command": j.command, "user": j.user,
                   "origin": j.origin.to_string()})
        })
        .collect();
    // M354 items name the daemon they drop first, in backquotes: its packages are left out.
    let mut dropped_daemons: Vec<String> = image
        .report
        .dropped
        .iter()
        .filter(|i| i.code == "M354")
        .filter_map(|i| i.why.strip_prefix('`').and_then(|rest| rest.split('`').next()).map(str::to_string))
        .collect();
    dropped_daemons.sort();
    dropped_daemons.dedup();
    let mut needs_human = items(&image.report.needs_human);
    for note in notes {
        needs_human.push(json!({
            "origin": note.origin.as_ref().map(|o| o.to_string()),
            "code": "",
            "what": note.message,
            "why": "",
        }));
    }
    let mut writable = image.writable_paths.clone();
    writable.sort();
    writable.dedup();
    let value = json!({
        "format_version": 1,
        "service": image.service,
        "kind": image.kind,
        "base_image": image.base.reference,
        "process": {
            "command": image.process.command,
            "user": image.process.user,
            "image_user": image_user,
            "workdir": image.process.workdir,
            "stop_signal": image.process.stop_signal,
            "stop_timeout": image.process.stop_timeout,
        },
        "ports": ports,
        "healthcheck": image.healthcheck.as_ref().map(|h| h.command.clone()),
        "environment": env,
        "jobs": jobs,
        "differences": {
            "start_files": start_files,
            "log_links": log_links,
            "writable_paths": writable,
            "added_packages": added_packages,
            "dropped_daemons": dropped_daemons,
            "converted": items(&image.report.converted),
            "dropped": items(&image.report.dropped),
            "needs_human": needs_human,
        },
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}
