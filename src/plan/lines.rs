//! Line diffs of file bodies (the `similar` crate), as a list of display lines that the
//! text and markdown renderers print in their own syntax.

use similar::{DiffTag, TextDiff};

/// Lines of unchanged context kept around each change, as `diff -u` does.
pub const CONTEXT: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    Context(&'a str),
    Removed(&'a str),
    Added(&'a str),
    /// A run of unchanged lines left out.
    Hidden(usize),
    /// The line just before has no newline at the end of the file.
    NoNewline,
}

/// Every line of `text`, each wrapped by `wrap` (all added, or all removed).
pub fn whole<'a>(text: &'a str, wrap: fn(&'a str) -> Line<'a>) -> Vec<Line<'a>> {
    // Sized once: a new file's lines are most of a first plan (half a million at 1,000 roles).
    let mut out = Vec::with_capacity(memchr::memchr_iter(b'\n', text.as_bytes()).count() + 2);
    for line in text.split_inclusive('\n') {
        match line.strip_suffix('\n') {
            Some(body) => out.push(wrap(body)),
            None => {
                out.push(wrap(line));
                out.push(Line::NoNewline);
            }
        }
    }
    out
}

/// The changed lines of `old` → `new` with [`CONTEXT`] lines around each change, and
/// the unchanged runs between them counted as [`Line::Hidden`]. Empty when equal.
pub fn changes<'a>(old: &'a str, new: &'a str) -> Vec<Line<'a>> {
    let old_lines: Vec<&'a str> = old.split_inclusive('\n').collect();
    let new_lines: Vec<&'a str> = new.split_inclusive('\n').collect();
    let diff = TextDiff::from_slices(&old_lines, &new_lines);
    let groups = diff.grouped_ops(CONTEXT);
    let mut out = Vec::new();
    let push = |out: &mut Vec<Line<'a>>, line: &'a str, wrap: fn(&'a str) -> Line<'a>| match line.strip_suffix('\n') {
        Some(body) => out.push(wrap(body)),
        None => {
            out.push(wrap(line));
            out.push(Line::NoNewline);
        }
    };
    let mut shown_until = 0;
    for group in &groups {
        let (Some(first), Some(last)) = (group.first(), group.last()) else { continue };
        let start = first.old_range().start;
        if start > shown_until {
            out.push(Line::Hidden(start - shown_until));
        }
        for op in group {
            let (tag, old_range, new_range) = op.as_tag_tuple();
            match tag {
                DiffTag::Equal => old_range.for_each(|i| push(&mut out, old_lines[i], Line::Context)),
                DiffTag::Delete => old_range.for_each(|i| push(&mut out, old_lines[i], Line::Removed)),
                DiffTag::Insert => new_range.for_each(|i| push(&mut out, new_lines[i], Line::Added)),
                DiffTag::Replace => {
                    old_range.for_each(|i| push(&mut out, old_lines[i], Line::Removed));
                    new_range.for_each(|i| push(&mut out, new_lines[i], Line::Added));
                }
            }
        }
        shown_until = last.old_range().end;
    }
    if !groups.is_empty() && old_lines.len() > shown_until {
        out.push(Line::Hidden(old_lines.len() - shown_until));
    }
    out
}

/// A standard unified diff (`--- a/…`, `+++ b/…`, `@@` hunks) for machines (JSON).
pub fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    TextDiff::from_lines(old, new).unified_diff().context_radius(CONTEXT).header(old_name, new_name).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_unchanged_runs_outside_the_context() {
        let old: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let new = old.replace("line 10\n", "line ten\n");
        let lines = changes(&old, &new);
        assert_eq!(
            lines,
            vec![
                Line::Hidden(6),
                Line::Context("line 7"),
                Line::Context("line 8"),
                Line::Context("line 9"),
                Line::Removed("line 10"),
                Line::Added("line ten"),
                Line::Context("line 11"),
                Line::Context("line 12"),
                Line::Context("line 13"),
                Line::Hidden(7),
            ]
        );
    }

    #[test]
    fn equal_texts_have_no_lines_and_missing_newlines_are_marked() {
        assert!(changes("a\nb\n", "a\nb\n").is_empty());
        assert_eq!(
            changes("a\nb", "a\nb\n"),
            vec![Line::Context("a"), Line::Removed("b"), Line::NoNewline, Line::Added("b")]
        );
        assert_eq!(whole("x\ny", Line::Added), vec![Line::Added("x"), Line::Added("y"), Line::NoNewline]);
    }
}
