//! MIGRATION.md: what was converted, dropped, needs a human, and what the
//! service expects at run time (variable names and parameter names only,
//! never values); and its machine-readable twin, migration.json.

use minijinja::{Value, context};
use serde::Serialize;

use super::templates::{self, Templates};
use super::{Note, RenderError};
use crate::spec::image::{CronSchedule, EnvValue, ImageSpec, ReportItem, ServiceKind};

/// A report list for MIGRATION.md, sorted, each item as the template reads it.
fn items(list: &[ReportItem]) -> Vec<Value> {
    let mut sorted: Vec<&ReportItem> = list.iter().collect();
    sorted.sort();
    sorted.into_iter().map(|i| item(i.origin.to_string(), &i.code, &i.what, &i.why)).collect()
}

fn item(origin: String, code: &str, what: &str, why: &str) -> Value {
    context! { origin => origin, code => code, what => what, why => why }
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
        let origin = note.origin.as_ref().map_or_else(|| format!("service {}", image.service), |o| o.to_string());
        needs_human.push(item(origin, "", &note.message, ""));
    }
    let mut env: Vec<_> = image.env.iter().collect();
    env.sort_by(|a, b| a.name.cmp(&b.name));
    let env: Vec<Value> = env
        .into_iter()
        .map(|e| {
            let (source, secret) = match &e.value {
                EnvValue::Literal { .. } => ("task definition (same in every environment)".to_string(), false),
                EnvValue::Parameter { parameter, secret } => (format!("SSM parameter `{parameter}`"), *secret),
            };
            context! { name => &e.name, source => source, secret => secret }
        })
        .collect();
    let mut start_files: Vec<_> = image.start_files.iter().collect();
    start_files.sort_by(|a, b| a.dest.cmp(&b.dest));
    let start_files: Vec<Value> = start_files
        .into_iter()
        .map(|f| {
            let mut variables: Vec<&str> = image
                .env
                .iter()
                .map(|e| e.name.as_str())
                .filter(|n| f.template.contains(&format!("${{{n}}}")))
                .collect();
            variables.sort_unstable();
            variables.dedup();
            context! {
                dest => &f.dest,
                origin => f.origin.to_string(),
                variables => variables.into_iter().map(Value::from).collect::<Vec<Value>>(),
                reason => &f.reason,
            }
        })
        .collect();
    let mut ports: Vec<_> = image.ports.iter().collect();
    ports.sort();
    ports.dedup();
    let ports: Vec<Value> = ports.iter().map(|p| Value::from(format!("{}/{}", p.port, p.protocol.name()))).collect();
    let log_links: Vec<Value> =
        image.log_links.iter().map(|l| context! { path => &l.path, stream => l.stream.name() }).collect();
    let jobs: Vec<Value> = image
        .jobs
        .iter()
        .map(|j| {
            context! {
                name => &j.name,
                schedule => schedule(&j.schedule),
                command => j.command.join(" "),
                user => &j.user,
                origin => j.origin.to_string(),
            }
        })
        .collect();
    let context = context! {
        service => &image.service,
        generated_from => generated_from,
        command => templates::strings(&image.process.command),
        user => &image.process.user,
        base => context! {
            reference => &image.base.reference,
            reason => &image.base.reason,
            origin => image.base.origin.as_ref().map(|o| o.to_string()),
        },
        sections => vec![
            context! { title => "Converted", items => items(&image.report.converted) },
            context! { title => "Dropped", items => items(&image.report.dropped) },
            context! { title => "Needs a human", items => needs_human },
        ],
        env => env,
        start_files => start_files,
        ports => ports,
        healthcheck => image.healthcheck.as_ref().map(|h| templates::strings(&h.command)),
        stop_signal => &image.process.stop_signal,
        stop_timeout => image.process.stop_timeout,
        log_links => log_links,
        writable_paths => templates::strings(&image.writable_paths),
        jobs => jobs,
    };
    Ok(templates.render_file(templates::MIGRATION, context, 16 << 10)?)
}

/// One line of a report list in migration.json.
#[derive(Serialize)]
struct ItemDecl<'a> {
    origin: Option<String>,
    code: &'a str,
    what: &'a str,
    why: &'a str,
}

fn item_decls(list: &[ReportItem]) -> Vec<ItemDecl<'_>> {
    let mut sorted: Vec<&ReportItem> = list.iter().collect();
    sorted.sort();
    sorted
        .into_iter()
        .map(|i| ItemDecl { origin: Some(i.origin.to_string()), code: &i.code, what: &i.what, why: &i.why })
        .collect()
}

/// migration.json, field for field in the order it is written.
#[derive(Serialize)]
struct Declarations<'a> {
    format_version: u32,
    service: &'a str,
    kind: &'a ServiceKind,
    base_image: &'a str,
    process: ProcessDecl<'a>,
    ports: Vec<PortDecl>,
    healthcheck: Option<&'a [String]>,
    environment: Vec<EnvDecl<'a>>,
    jobs: Vec<JobDecl<'a>>,
    differences: Differences<'a>,
}

#[derive(Serialize)]
struct ProcessDecl<'a> {
    command: &'a [String],
    user: &'a str,
    image_user: &'a str,
    workdir: Option<&'a str>,
    stop_signal: Option<&'a str>,
    stop_timeout: Option<u32>,
}

#[derive(Serialize, PartialEq)]
struct PortDecl {
    port: u16,
    protocol: &'static str,
}

#[derive(Serialize)]
struct EnvDecl<'a> {
    name: &'a str,
    from: &'static str,
    /// Only for a value from Parameter Store; a literal's value belongs to the task definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<&'a str>,
    secret: bool,
}

#[derive(Serialize)]
struct JobDecl<'a> {
    name: &'a str,
    schedule: String,
    command: &'a [String],
    user: Option<&'a str>,
    origin: String,
}

#[derive(Serialize)]
struct StartFileDecl<'a> {
    path: &'a str,
    origin: String,
    mode: Option<&'a str>,
    reason: &'a str,
}

#[derive(Serialize)]
struct LogLinkDecl<'a> {
    path: &'a str,
    stream: &'static str,
}

#[derive(Serialize)]
struct Differences<'a> {
    start_files: Vec<StartFileDecl<'a>>,
    log_links: Vec<LogLinkDecl<'a>>,
    writable_paths: Vec<&'a str>,
    added_packages: &'a [String],
    dropped_daemons: Vec<&'a str>,
    converted: Vec<ItemDecl<'a>>,
    dropped: Vec<ItemDecl<'a>>,
    needs_human: Vec<ItemDecl<'a>>,
}

/// `migration.json`: the declarations of MIGRATION.md in machine-readable
/// form. What the image runs (command, user, ports, health check, stop, the
/// environment it reads, its scheduled jobs) and every difference from the
/// host the source configured that the converter made on purpose: files
/// rendered at start, log files sent to the output, paths made writable,
/// packages it added, daemons and tasks it dropped, and what needs a human.
/// Variable and parameter names only, never a value. Serialised straight from
/// borrowed structs (no `serde_json::Value` tree); the key order is the field order.
pub fn declarations(image: &ImageSpec, image_user: &str, added_packages: &[String], notes: &[Note]) -> String {
    let mut environment: Vec<EnvDecl<'_>> = image
        .env
        .iter()
        .map(|e| match &e.value {
            EnvValue::Literal { .. } => {
                EnvDecl { name: &e.name, from: "task_definition", parameter: None, secret: false }
            }
            EnvValue::Parameter { parameter, secret } => {
                EnvDecl { name: &e.name, from: "parameter_store", parameter: Some(parameter), secret: *secret }
            }
        })
        .collect();
    environment.sort_by(|a, b| a.name.cmp(b.name));
    environment.dedup_by(|a, b| a.name == b.name);
    let mut ports: Vec<PortDecl> =
        image.ports.iter().map(|p| PortDecl { port: p.port, protocol: p.protocol.name() }).collect();
    ports.dedup();
    let mut start_files: Vec<StartFileDecl<'_>> = image
        .start_files
        .iter()
        .map(|f| StartFileDecl {
            path: &f.dest,
            origin: f.origin.to_string(),
            mode: f.mode.as_deref(),
            reason: &f.reason,
        })
        .collect();
    start_files.sort_by(|a, b| a.path.cmp(b.path));
    let log_links = image.log_links.iter().map(|l| LogLinkDecl { path: &l.path, stream: l.stream.name() }).collect();
    let jobs = image
        .jobs
        .iter()
        .map(|j| JobDecl {
            name: &j.name,
            schedule: schedule(&j.schedule),
            command: &j.command,
            user: j.user.as_deref(),
            origin: j.origin.to_string(),
        })
        .collect();
    // M354 items name the daemon they drop first, in backquotes: its packages are left out.
    let mut dropped_daemons: Vec<&str> = image
        .report
        .dropped
        .iter()
        .filter(|i| i.code == "M354")
        .filter_map(|i| i.why.strip_prefix('`').and_then(|rest| rest.split('`').next()))
        .collect();
    dropped_daemons.sort_unstable();
    dropped_daemons.dedup();
    let mut needs_human = item_decls(&image.report.needs_human);
    needs_human.extend(notes.iter().map(|note| ItemDecl {
        origin: note.origin.as_ref().map(|o| o.to_string()),
        code: "",
        what: &note.message,
        why: "",
    }));
    let mut writable_paths: Vec<&str> = image.writable_paths.iter().map(String::as_str).collect();
    writable_paths.sort_unstable();
    writable_paths.dedup();
    let declarations = Declarations {
        format_version: 1,
        service: &image.service,
        kind: &image.kind,
        base_image: &image.base.reference,
        process: ProcessDecl {
            command: &image.process.command,
            user: &image.process.user,
            image_user,
            workdir: image.process.workdir.as_deref(),
            stop_signal: image.process.stop_signal.as_deref(),
            stop_timeout: image.process.stop_timeout,
        },
        ports,
        healthcheck: image.healthcheck.as_ref().map(|h| h.command.as_slice()),
        environment,
        jobs,
        differences: Differences {
            start_files,
            log_links,
            writable_paths,
            added_packages,
            dropped_daemons,
            converted: item_decls(&image.report.converted),
            dropped: item_decls(&image.report.dropped),
            needs_human,
        },
    };
    let mut text = serde_json::to_string_pretty(&declarations).unwrap_or_default();
    text.push('\n');
    text
}
