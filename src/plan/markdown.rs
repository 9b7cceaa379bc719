//! The plan as a pull-request comment (`--format markdown`): the summary, a table of
//! changed resources, one collapsible `<details>` section per changed file with its diff
//! in a ```` ```diff ```` fence, then the findings.
//!
//! Renders a [`Plan`]; computes nothing. Secret values are `(sensitive value)`. GitHub
//! refuses comments over 65,536 characters, so diffs stop being included past
//! [`DIFF_BUDGET`] characters and the comment says so.

use std::fmt::Write;

use super::lines::{self, Line};
use super::text::{self, Body};
use super::{Action, FileChange, ParameterChange, Plan};

/// The heading, also what CI looks for to update its own comment.
pub const HEADING: &str = "### migrate plan";

/// Characters of diff sections included before the rest are left out.
pub const DIFF_BUDGET: usize = 50_000;

pub fn render(plan: &Plan) -> String {
    let mut out = format!("{HEADING}\n\n");
    let summary = plan.summary();
    for note in text::notes(plan) {
        let _ = writeln!(out, "{note}\n");
    }
    if summary.is_empty() {
        let done = text::render(&Plan { findings: Vec::new(), ..plan.clone() }, text::Style::default());
        let _ = writeln!(out, "{}", done.lines().last().unwrap_or_default());
    } else {
        let _ = writeln!(out, "**{}**", text::summary_line(summary));
        if summary.conflict > 0 {
            let _ = writeln!(out, "\n:warning: {}", text::conflict_line(summary.conflict));
        }
        out.push_str("\n| | Resource | Change |\n| --- | --- | --- |\n");
        for f in plan.files.iter().filter(|f| f.action.is_change()) {
            let _ = writeln!(
                out,
                "| {} | <code>{}</code> | {} |",
                symbol(f.action),
                escape(&plan.file_address(&f.path)),
                escape(&file_change_cell(f))
            );
        }
        for p in plan.parameters.iter().filter(|p| p.action.is_change()) {
            let _ = writeln!(
                out,
                "| {} | <code>{}</code> | {} |",
                symbol(p.action),
                escape(&Plan::parameter_address(&p.name)),
                escape(&parameter_cell(p))
            );
        }

        let mut budget = DIFF_BUDGET;
        let mut left_out = 0;
        for f in plan.files.iter().filter(|f| f.action.is_change()) {
            let section = details(plan, f);
            if section.len() > budget {
                left_out += 1;
                continue;
            }
            budget -= section.len();
            out.push('\n');
            out.push_str(&section);
        }
        if left_out > 0 {
            let _ = writeln!(
                out,
                "\n{left_out} more {} left out to keep this comment short; run `migrate plan` to see them.",
                if left_out == 1 { "diff is" } else { "diffs are" }
            );
        }
    }

    if !plan.findings.is_empty() {
        let _ = writeln!(out, "\n#### Findings ({})\n", plan.findings.len());
        let body: String = plan.findings.iter().map(|f| format!("{f}\n")).collect();
        let fence = fence_for(&body);
        let _ = write!(out, "{fence}\n{body}{fence}\n");
    }
    out
}

fn symbol(action: Action) -> &'static str {
    match action {
        Action::Create => "➕",
        Action::Update => "✏️",
        Action::Delete => "🗑️",
        Action::Conflict(_) => "⚠️",
        Action::NoOp => "",
    }
}

fn file_change_cell(f: &FileChange) -> String {
    let lines = |n: usize| if n == 1 { "1 line".to_string() } else { format!("{n} lines") };
    let what = match f.action {
        Action::Create => "create".to_string(),
        Action::Update => "update".to_string(),
        Action::Delete => "destroy".to_string(),
        Action::Conflict(c) => format!("conflict ({})", c.name().replace('-', " ")),
        Action::NoOp => "no-op".to_string(),
    };
    let detail = match file_body(f) {
        Body::Lines(body) => {
            let added = body.iter().filter(|l| matches!(l, Line::Added(_))).count();
            let removed = body.iter().filter(|l| matches!(l, Line::Removed(_))).count();
            match (added, removed) {
                (0, 0) => String::new(),
                (n, 0) => format!("+{}", lines(n)),
                (0, n) => format!("−{}", lines(n)),
                (a, r) => format!("+{a} −{}", lines(r)),
            }
        }
        Body::Summary(s) | Body::Comment(s) => s,
        // Never: `file_body` lists a whole text's lines.
        Body::Whole { .. } => String::new(),
    };
    let mode = match (&f.before, &f.after) {
        (Some(b), Some(a)) if b.executable != a.executable => format!(", mode {} → {}", b.mode(), a.mode()),
        _ => String::new(),
    };
    if detail.is_empty() { format!("{what}{mode}") } else { format!("{what}: {detail}{mode}") }
}

fn parameter_cell(p: &ParameterChange) -> String {
    let what = match p.action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "destroy",
        _ => "no-op",
    };
    let mut parts = Vec::new();
    match (&p.before, &p.after) {
        (None, Some(v)) | (Some(v), None) => {
            parts.push(v.kind().to_string());
            parts.push(text::shown_value(p, v));
        }
        (Some(b), Some(a)) => {
            if b.kind() != a.kind() {
                parts.push(format!("{} → {}", b.kind(), a.kind()));
            }
            if b.value.expose() != a.value.expose() {
                if p.sensitive() {
                    parts.push(format!("value {}", crate::sensitive::REDACTED));
                } else {
                    parts.push(format!("{} → {}", text::shown_value(p, b), text::shown_value(p, a)));
                }
            }
        }
        (None, None) => {}
    }
    format!("{what}: {}", parts.join(", "))
}

/// One `<details>` section with the file's diff.
fn details(plan: &Plan, f: &FileChange) -> String {
    let (header, reason) = text::file_header(plan, f);
    let mut body = String::new();
    if let (Some(b), Some(a)) = (&f.before, &f.after)
        && b.executable != a.executable
    {
        let _ = writeln!(body, "~ mode = \"{}\" -> \"{}\"", b.mode(), a.mode());
    }
    match file_body(f) {
        Body::Lines(lines) => {
            for line in lines {
                let _ = match line {
                    Line::Context(s) => writeln!(body, " {s}"),
                    Line::Removed(s) => writeln!(body, "-{s}"),
                    Line::Added(s) => writeln!(body, "+{s}"),
                    Line::Hidden(n) => {
                        writeln!(body, "@@ ({n} unchanged {} hidden) @@", if n == 1 { "line" } else { "lines" })
                    }
                    Line::NoNewline => writeln!(body, "\\ No newline at end of file"),
                };
            }
        }
        // Never: `file_body` lists a whole text's lines.
        Body::Whole { .. } => {}
        Body::Summary(s) => {
            let _ = writeln!(body, "{} {s}", f.action.symbol());
        }
        Body::Comment(s) => {
            let _ = writeln!(body, "# {s}");
        }
    }
    let address = plan.file_address(&f.path);
    let rest = header.strip_prefix(address.as_str()).unwrap_or(&header);
    let symbol = f.action.symbol();
    let mut out = format!("<details><summary>{symbol} <code>{}</code>{}</summary>\n\n", escape(&address), escape(rest));
    if let Some(reason) = reason {
        let _ = writeln!(out, "{}\n", escape_html(&format!("({reason})")));
    }
    let fence = fence_for(&body);
    let _ = write!(out, "{fence}diff\n{body}{fence}\n\n</details>\n");
    out
}

/// A code fence longer than any run of backticks in `body`.
fn fence_for(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

/// Escapes text for HTML inside a markdown table cell.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            '`' => out.push_str("&#96;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes text for HTML outside a table (markdown code spans stay intact).
fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
/// The body of a file block, a whole text as its list of lines.
fn file_body(f: &FileChange) -> Body<'_> {
    match text::file_body(f) {
        Body::Whole { text, added } => Body::Lines(lines::whole(text, if added { Line::Added } else { Line::Removed })),
        other => other,
    }
}
