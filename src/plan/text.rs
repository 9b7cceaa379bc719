//! The human plan, in terraform's vocabulary: findings, a legend of the symbols used,
//! one block per resource that changes, and the summary line.
//!
//! Renders a [`Plan`]; computes nothing. Secret parameter values print as
//! `(sensitive value)`; binary files as their size and digest.

use std::fmt::Write;

use rayon::prelude::*;

use super::lines::{self, Line};
use super::{Action, Conflict, FileBody, FileChange, ParameterChange, Plan, Summary, quote};
use crate::sensitive::REDACTED;

/// The summary when there is nothing to do and Parameter Store was compared.
pub const NO_CHANGES: &str = "No changes. Generated files and Parameter Store already match the playbooks.";
/// The summary when there is nothing to do and Parameter Store was not read.
pub const NO_CHANGES_FILES_ONLY: &str = "No changes. Generated files already match the playbooks.";
/// The summary when the playbooks give nothing to generate at all: no file and no
/// parameter is desired or managed. "Already match" would suggest a finished
/// migration; this says that nothing became an image (the findings say why).
pub const NOTHING_TO_GENERATE: &str =
    "No changes. Nothing to generate: no task became part of an image; the findings say what each became.";

/// The line that ends a plan with nothing to do.
fn no_changes_line(plan: &Plan) -> &'static str {
    if plan.files.is_empty() && plan.parameters.is_empty() && plan.parameters_not_compared == 0 {
        NOTHING_TO_GENERATE
    } else if plan.parameters_compared {
        NO_CHANGES
    } else {
        // Claim only what was compared: without live Parameter Store, only the files.
        NO_CHANGES_FILES_ONLY
    }
}

/// ANSI colours, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// Colour only on a terminal, and never when `NO_COLOR` is set to anything
    /// non-empty (<https://no-color.org>).
    pub fn for_terminal(is_terminal: bool) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style { color: is_terminal && !no_color }
    }

    fn paint(self, code: &str, s: &str) -> String {
        if self.color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    }

    fn symbol(self, action: Action) -> String {
        let code = match action {
            Action::Create => "32",
            Action::Delete => "31",
            Action::Update => "33",
            Action::Conflict(_) => "35",
            Action::NoOp => return " ".to_string(),
        };
        self.paint(code, action.symbol())
    }

    fn bold(self, s: &str) -> String {
        self.paint("1", s)
    }
}

/// The whole text plan.
pub fn render(plan: &Plan, style: Style) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and every piece written is a `str`.
    let _ = write(plan, style, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// How many files' sections are rendered at once before they are written out: enough for both
/// cores to share, few enough that a plan of tens of megabytes is never held whole.
const SECTIONS_PER_BATCH: usize = 256;

/// Writes the whole text plan to `sink` as it is rendered.
pub fn write(plan: &Plan, style: Style, sink: &mut impl std::io::Write) -> std::io::Result<()> {
    let mut head = String::new();
    write_findings(&mut head, plan);
    let summary = plan.summary();
    if summary.is_empty() {
        head.push_str(no_changes_line(plan));
        head.push('\n');
        return sink.write_all(head.as_bytes());
    }

    head.push_str("Resource actions are indicated with the following symbols:\n");
    for (used, action, text) in [
        (summary.add > 0, Action::Create, "create"),
        (summary.change > 0, Action::Update, "update in-place"),
        (summary.destroy > 0, Action::Delete, "destroy"),
        (summary.conflict > 0, Action::Conflict(Conflict::EditedByHand), "conflict: changed by hand, left untouched"),
    ] {
        if used {
            let _ = writeln!(head, "  {} {text}", style.symbol(action));
        }
    }
    head.push_str("\nmigrate will perform the following actions:\n\n");
    sink.write_all(head.as_bytes())?;
    // Each file's section is written on its own (in parallel: a large plan prints tens of
    // megabytes) and written out in plan order a batch at a time, so the text is the same
    // as one by one and only one batch is ever in memory.
    let changed: Vec<&FileChange> = plan.files.iter().filter(|f| f.action.is_change()).collect();
    for batch in changed.chunks(SECTIONS_PER_BATCH) {
        let sections: Vec<String> = batch
            .par_iter()
            .map(|file| {
                let mut section = String::new();
                write_file(&mut section, plan, file, style);
                section.push('\n');
                section
            })
            .collect();
        for section in &sections {
            sink.write_all(section.as_bytes())?;
        }
    }
    let mut tail = String::new();
    for param in plan.parameters.iter().filter(|p| p.action.is_change()) {
        write_parameter(&mut tail, param, style);
        tail.push('\n');
    }
    tail.push_str(&summary_line(summary));
    tail.push('\n');
    if summary.conflict > 0 {
        tail.push_str(&conflict_line(summary.conflict));
        tail.push('\n');
    }
    sink.write_all(tail.as_bytes())
}

/// Findings one per line, then notes, then a blank line; nothing when there are none.
pub(crate) fn write_findings(out: &mut String, plan: &Plan) {
    for f in &plan.findings {
        let _ = writeln!(out, "{f}");
    }
    for note in notes(plan) {
        let _ = writeln!(out, "{note}");
    }
    if !plan.findings.is_empty() || !notes(plan).is_empty() {
        out.push('\n');
    }
}

/// Things the reader must know about what the plan did not look at.
pub fn notes(plan: &Plan) -> Vec<String> {
    let mut notes = Vec::new();
    if !plan.parameters_compared && plan.parameters_not_compared > 0 {
        let n = plan.parameters_not_compared;
        notes.push(format!(
            "Note: Parameter Store was not read, so {n} desired {} not compared.",
            if n == 1 { "parameter was" } else { "parameters were" }
        ));
    }
    notes
}

/// `Plan: X to add, Y to change, Z to destroy.`: a public interface, never reworded.
pub fn summary_line(s: Summary) -> String {
    format!("Plan: {} to add, {} to change, {} to destroy.", s.add, s.change, s.destroy)
}

/// The line after the summary when some files were changed by hand.
pub fn conflict_line(n: usize) -> String {
    if n == 1 {
        "1 conflict: migrate leaves it untouched, and `migrate apply` refuses to run until the file is moved \
         or removed (or `--force` is given)."
            .to_string()
    } else {
        format!(
            "{n} conflicts: migrate leaves them untouched, and `migrate apply` refuses to run until the files \
             are moved or removed (or `--force` is given)."
        )
    }
}

/// The header comment and reason of a file block.
pub(crate) fn file_header(plan: &Plan, file: &FileChange) -> (String, Option<&'static str>) {
    let address = plan.file_address(&file.path);
    match file.action {
        Action::Create => (format!("{address} will be created"), None),
        Action::Update => (format!("{address} will be updated in-place"), None),
        Action::Delete => (format!("{address} will be destroyed"), Some("because no service generates it any more")),
        Action::NoOp => (format!("{address} is up to date"), None),
        Action::Conflict(Conflict::EditedByHand) => (
            format!("{address} was edited by hand and will not be updated"),
            Some("migrate wrote it, then it changed; `migrate apply --force` overwrites it"),
        ),
        Action::Conflict(Conflict::NotGenerated) => (
            format!("{address} was not written by migrate and will not be overwritten"),
            Some("a file added by hand where migrate generates one; `migrate apply --force` overwrites it"),
        ),
        Action::Conflict(Conflict::StaleEdited) => (
            format!("{address} was edited by hand and will not be destroyed"),
            Some("no service generates it any more; `migrate apply --force` removes it"),
        ),
        Action::Conflict(Conflict::NotAFile) => (
            format!("{address} is blocked by a directory or symbolic link"),
            Some("remove it by hand; migrate only ever replaces regular files"),
        ),
    }
}

/// `(binary, 2048 bytes, sha256 0123456789ab)`.
pub(crate) fn describe(body: &FileBody) -> String {
    let sha256 = body.sha256();
    let short = &sha256[..12.min(sha256.len())];
    let n = body.content.len();
    let bytes = if n == 1 { "1 byte".to_string() } else { format!("{n} bytes") };
    match body.text() {
        Some(_) => format!("(text, {bytes}, sha256 {short})"),
        None => format!("(binary, {bytes}, sha256 {short})"),
    }
}

/// What a file block shows: a mode line and body lines, or summaries for binary files.
pub(crate) enum Body<'a> {
    Lines(Vec<Line<'a>>),
    /// A whole text, every line added (a new file) or removed: the lines of
    /// [`lines::whole`], left unsplit so the text plan can copy them without a list.
    Whole {
        text: &'a str,
        added: bool,
    },
    /// One line: `symbol summary` (create/delete) or `~ before -> after`.
    Summary(String),
    /// A comment line only.
    Comment(String),
}

pub(crate) fn file_body(file: &FileChange) -> Body<'_> {
    match (file.action, &file.before, &file.after) {
        (Action::Conflict(Conflict::NotAFile), _, _) => Body::Comment("(not a regular file)".into()),
        (Action::Conflict(Conflict::StaleEdited), Some(b), _) => {
            Body::Comment(format!("(left in place: {})", describe(b).trim_matches(['(', ')'])))
        }
        (_, None, Some(a)) => match a.text() {
            Some("") => Body::Comment("(empty file)".into()),
            Some(text) => Body::Whole { text, added: true },
            None => Body::Summary(describe(a)),
        },
        (_, Some(b), None) => match b.text() {
            Some("") => Body::Comment("(empty file)".into()),
            Some(text) => Body::Whole { text, added: false },
            None => Body::Summary(describe(b)),
        },
        (_, Some(b), Some(a)) => match (b.text(), a.text()) {
            (Some(old), Some(new)) => Body::Lines(lines::changes(old, new)),
            _ if b.content == a.content => Body::Lines(Vec::new()),
            _ => Body::Summary(format!("{} -> {}", describe(b), describe(a))),
        },
        (_, None, None) => Body::Lines(Vec::new()),
    }
}

fn write_file(out: &mut String, plan: &Plan, file: &FileChange, style: Style) {
    let (header, reason) = file_header(plan, file);
    let _ = writeln!(out, "  {}", style.bold(&format!("# {header}")));
    if let Some(reason) = reason {
        let _ = writeln!(out, "  # ({reason})");
    }
    let sym = style.symbol(file.action);
    let _ = writeln!(out, "  {sym} {} {{", plan.file_address(&file.path));
    let add = style.symbol(Action::Create);
    let del = style.symbol(Action::Delete);
    let upd = style.symbol(Action::Update);
    match (&file.before, &file.after) {
        (None, Some(a)) if a.executable => {
            let _ = writeln!(out, "      {add} mode = \"{}\"", a.mode());
        }
        (Some(b), Some(a)) if b.executable != a.executable => {
            let _ = writeln!(out, "      {upd} mode = \"{}\" -> \"{}\"", b.mode(), a.mode());
        }
        _ => {}
    }
    // Most of a plan's bytes are body lines (24 MB at 1,000 roles): the prefixes are
    // formatted once per file, and each line is copied, not formatted.
    let removed = format!("      {del} ");
    let added = format!("      {add} ");
    match file_body(file) {
        Body::Lines(lines) => push_lines(out, &lines, &removed, &added),
        Body::Whole { text, added: true } => push_whole(out, text, &added),
        Body::Whole { text, added: false } => push_whole(out, text, &removed),
        Body::Summary(s) => {
            let _ = writeln!(out, "      {sym} {s}");
        }
        Body::Comment(s) => {
            let _ = writeln!(out, "        # {s}");
        }
    }
    out.push_str("    }\n");
}

/// Diff lines behind their prefixes (`removed`, `added`; context lines are indented).
fn push_lines(out: &mut String, lines: &[Line<'_>], removed: &str, added: &str) {
    // The section is sized once for its lines instead of doubling as they are copied in.
    let prefix = removed.len().max(added.len()) + 1;
    out.reserve(
        lines
            .iter()
            .map(|line| match line {
                Line::Context(s) | Line::Removed(s) | Line::Added(s) => prefix + s.len(),
                Line::Hidden(_) | Line::NoNewline => 48,
            })
            .sum::<usize>()
            + 8,
    );
    for line in lines {
        let (prefix, text) = match *line {
            Line::Context(s) => ("        ", s),
            Line::Removed(s) => (removed, s),
            Line::Added(s) => (added, s),
            Line::Hidden(n) => {
                let _ = writeln!(out, "        # ({n} unchanged {} hidden)", if n == 1 { "line" } else { "lines" });
                continue;
            }
            Line::NoNewline => ("        ", "# (no newline at end of file)"),
        };
        out.push_str(prefix);
        out.push_str(text);
        out.push('\n');
    }
}

/// What [`push_lines`] writes for [`lines::whole`]`(text)` with every line behind `prefix`,
/// copied line by line from the text without building the list (a new file is all such lines).
fn push_whole(out: &mut String, text: &str, prefix: &str) {
    let newlines = memchr::memchr_iter(b'\n', text.as_bytes()).count();
    out.reserve(text.len() + (newlines + 1) * prefix.len() + 48);
    let mut rest = text;
    while !rest.is_empty() {
        out.push_str(prefix);
        match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(end) => {
                out.push_str(&rest[..=end]);
                rest = &rest[end + 1..];
            }
            None => {
                out.push_str(rest);
                out.push_str("\n        # (no newline at end of file)\n");
                break;
            }
        }
    }
}

/// How a parameter value prints: quoted, or `(sensitive value)`.
pub(crate) fn shown_value(change: &ParameterChange, value: &super::ParameterValue) -> String {
    if change.sensitive() { REDACTED.to_string() } else { quote(value.value.expose()) }
}

fn write_parameter(out: &mut String, p: &ParameterChange, style: Style) {
    let address = Plan::parameter_address(&p.name);
    let (verb, reason) = match p.action {
        Action::Create => ("will be created", None),
        Action::Update => ("will be updated in-place", None),
        Action::Delete => ("will be destroyed", Some("because no playbook sets it any more".to_string())),
        _ => ("is up to date", None),
    };
    let reason = reason.or_else(|| p.origin.as_ref().map(|o| format!("set in {o}")));
    let _ = writeln!(out, "  {}", style.bold(&format!("# {address} {verb}")));
    if let Some(reason) = reason {
        let _ = writeln!(out, "  # ({reason})");
    }
    let sym = style.symbol(p.action);
    let _ = writeln!(out, "  {sym} {address} {{");
    match (&p.before, &p.after) {
        (None, Some(v)) | (Some(v), None) => {
            let _ = writeln!(out, "      {sym} type  = \"{}\"", v.kind());
            let _ = writeln!(out, "      {sym} value = {}", shown_value(p, v));
        }
        (Some(b), Some(a)) => {
            let mut hidden = 0;
            if b.kind() != a.kind() {
                let _ = writeln!(out, "      {sym} type  = \"{}\" -> \"{}\"", b.kind(), a.kind());
            } else {
                hidden += 1;
            }
            if b.value.expose() != a.value.expose() {
                if p.sensitive() {
                    let _ = writeln!(out, "      {sym} value = {REDACTED}");
                } else {
                    let _ = writeln!(out, "      {sym} value = {} -> {}", shown_value(p, b), shown_value(p, a));
                }
            } else {
                hidden += 1;
            }
            if hidden > 0 {
                let _ = writeln!(
                    out,
                    "        # ({hidden} unchanged {} hidden)",
                    if hidden == 1 { "attribute" } else { "attributes" }
                );
            }
        }
        (None, None) => {}
    }
    out.push_str("    }\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_text_is_written_as_its_listed_lines() {
        let texts = ["", "a", "a\n", "\n", "\n\n", "a\nb", "a\nb\n", "a\r\nb\r\n", "é\n\nx", "  indented\n\tt"];
        for text in texts {
            for (prefix, added) in [("      + ", true), ("      - ", false)] {
                let mut direct = "x".to_string();
                push_whole(&mut direct, text, prefix);
                let listed_lines =
                    if added { lines::whole(text, Line::Added) } else { lines::whole(text, Line::Removed) };
                let mut listed = "x".to_string();
                push_lines(&mut listed, &listed_lines, "      - ", "      + ");
                assert_eq!(direct, listed, "{text:?}");
            }
        }
    }
}
