//! `migrate scan`: what the repository holds. Wiring and printing only; the
//! model builds the project and its summary.

use std::io::{self, BufWriter, Write};

use anyhow::Context;

use crate::cli::{Format, ScanArgs};
use crate::diagnostics;
use crate::model::{self, summary::Summary};
use crate::source::SourceSet;

use super::ExitStatus;

pub fn run(args: &ScanArgs) -> anyhow::Result<ExitStatus> {
    let set = SourceSet::load(&args.repo).with_context(|| format!("cannot scan `{}`", args.repo.display()))?;
    let project = model::build(&set);
    let summary = Summary::of(&project, set.file_count());
    let mut out = BufWriter::new(io::stdout().lock());
    match args.format {
        Format::Text => write_text(&mut out, &summary)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &summary)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(if diagnostics::has_errors(&project.findings) { ExitStatus::Failure } else { ExitStatus::Success })
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn list_or_dash(items: &[String]) -> String {
    if items.is_empty() { "-".into() } else { items.join(", ") }
}

/// The text form: findings first (one per line), then the summary.
fn write_text(out: &mut impl Write, s: &Summary) -> io::Result<()> {
    for f in &s.findings.items {
        writeln!(out, "{f}")?;
    }
    if !s.findings.items.is_empty() {
        writeln!(out)?;
    }

    writeln!(out, "Playbooks: {}", s.playbooks.len())?;
    for pb in &s.playbooks {
        let mut what = plural(pb.plays.len(), "play", "plays");
        if !pb.imports.is_empty() {
            what.push_str(&format!(", {}", plural(pb.imports.len(), "import", "imports")));
        }
        writeln!(out, "  {} ({what})", pb.path)?;
        // Plays and imports in file order.
        let mut lines: Vec<(u32, String)> = Vec::new();
        for p in &pb.plays {
            let name = p.name.as_deref().map(|n| format!("\"{n}\"")).unwrap_or_else(|| "(unnamed)".into());
            let mut line = format!(
                "    :{} play {name}  hosts: {}  roles: {}  tasks: {}",
                p.line,
                list_or_dash(&p.hosts),
                list_or_dash(&p.roles),
                p.tasks
            );
            if p.handlers > 0 {
                line.push_str(&format!("  handlers: {}", p.handlers));
            }
            lines.push((p.line, line));
        }
        for i in &pb.imports {
            let to = i.resolved.as_deref().map(|r| format!(" -> {r}")).unwrap_or_else(|| " (not resolved)".into());
            lines.push((i.line, format!("    :{} import {}{to}", i.line, i.file)));
        }
        lines.sort();
        for (_, line) in lines {
            writeln!(out, "{line}")?;
        }
    }

    let unused = s.roles.iter().filter(|r| !r.used).count();
    writeln!(out, "Roles: {} ({unused} unused)", s.roles.len())?;
    let width = s.roles.iter().map(|r| r.name.len()).max().unwrap_or(0);
    for r in &s.roles {
        let mut line = format!(
            "  {:width$}  {}  {}, {}, {}, {}",
            r.name,
            r.path,
            plural(r.tasks, "task", "tasks"),
            plural(r.handlers, "handler", "handlers"),
            plural(r.templates, "template", "templates"),
            plural(r.files, "file", "files"),
        );
        if !r.dependencies.is_empty() {
            line.push_str(&format!(", deps: {}", r.dependencies.join(", ")));
        }
        if !r.used {
            line.push_str("  (unused)");
        }
        writeln!(out, "{line}")?;
    }

    writeln!(out, "Tasks: {} in plays and {}", s.tasks.total, plural(s.tasks.task_files, "task file", "task files"))?;
    let width = s.tasks.by_module.first().map(|m| m.count.to_string().len()).unwrap_or(1);
    for m in &s.tasks.by_module {
        writeln!(out, "  {:>width$} {}", m.count, m.module)?;
    }

    writeln!(out, "Inventories: {}", s.inventories.len())?;
    for inv in &s.inventories {
        writeln!(
            out,
            "  {} ({}): {}, {}",
            inv.path,
            inv.format,
            plural(inv.groups.len(), "group", "groups"),
            plural(inv.hosts, "host", "hosts")
        )?;
        for g in &inv.groups {
            let mut line = format!("    {}: {}", g.name, plural(g.hosts, "host", "hosts"));
            if !g.children.is_empty() {
                line.push_str(&format!(", children: {}", g.children.join(", ")));
            }
            if g.vars > 0 {
                line.push_str(&format!(", {}", plural(g.vars, "var", "vars")));
            }
            writeln!(out, "{line}")?;
        }
    }

    let env = &s.environment;
    let mut line = format!(
        "Environment variables: {} in {}",
        plural(env.keys, "key", "keys"),
        plural(env.blocks, "`environment:` block", "`environment:` blocks"),
    );
    if env.keys > 0 {
        line.push_str(&format!(" ({} distinct)", env.names.len()));
    }
    if env.templated > 0 {
        line.push_str(&format!(", {} templated", env.templated));
    }
    writeln!(out, "{line}")?;
    if !env.names.is_empty() {
        writeln!(out, "  {}", env.names.join(", "))?;
    }

    let sec = &s.secrets;
    writeln!(
        out,
        "Secrets: {}, {}",
        plural(sec.vault_files.len(), "vault-encrypted file", "vault-encrypted files"),
        plural(sec.inline_values, "inline vault value", "inline vault values"),
    )?;
    for v in &sec.vault_files {
        let id = v.vault_id.as_deref().map(|i| format!(" (vault id {i})")).unwrap_or_default();
        writeln!(out, "  {}{id}", v.path)?;
    }

    writeln!(out, "Packer templates: {}", s.packer.templates.len())?;
    for t in &s.packer.templates {
        let builders: Vec<String> = t
            .builders
            .iter()
            .map(|b| match &b.base_image {
                Some(image) => format!("{} (base image {image})", b.kind),
                None => b.kind.clone(),
            })
            .collect();
        let provisioners: Vec<String> = t.provisioners.iter().map(|p| p.kind.clone()).collect();
        writeln!(
            out,
            "  {}: builders: {}  provisioners: {}",
            t.path,
            list_or_dash(&builders),
            list_or_dash(&provisioners)
        )?;
        for playbook in t.provisioners.iter().flat_map(|p| &p.playbooks) {
            writeln!(out, "    runs playbook {playbook}")?;
        }
    }

    writeln!(
        out,
        "Findings: {}, {}, {} info",
        plural(s.findings.errors, "error", "errors"),
        plural(s.findings.warnings, "warning", "warnings"),
        s.findings.infos
    )?;
    Ok(())
}
