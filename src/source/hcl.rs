//! HCL with line numbers: `hcl-edit`'s syntax tree plus byte offset → line.
//!
//! `hcl-edit` keeps the byte span of every block, attribute and expression and
//! bounds nesting depth itself (hostile input gets a parse error, not a stack
//! overflow). This module adds the one thing a finding needs from a span: its
//! line, and the source text of an expression so it can be shown as written.
//!
//! It knows HCL, not Packer.

use std::fmt;
use std::ops::Range;

use hcl_edit::Span;
use hcl_edit::structure::Body;

/// A parsed HCL file that can turn spans into lines and source text.
#[derive(Debug)]
pub struct HclFile<'t> {
    text: &'t str,
    pub body: Body,
    /// Byte offset at which each line starts.
    line_starts: Vec<usize>,
}

/// Why a text is not HCL: hcl-edit's message with its line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HclError {
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl fmt::Display for HclError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} column {}: {}", self.line, self.col, self.message)
    }
}

/// Parses `text` as an HCL body (a `.pkr.hcl` or `.pkrvars.hcl` file).
pub fn parse(text: &str) -> Result<HclFile<'_>, HclError> {
    // Spans are offsets into the text without the BOM; every later lookup uses
    // that same text.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let body = hcl_edit::parser::parse_body(text).map_err(|e| HclError {
        line: e.location().line() as u32,
        col: e.location().column() as u32,
        message: e.message().to_string(),
    })?;
    let mut line_starts = vec![0];
    line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    Ok(HclFile { text, body, line_starts })
}

impl HclFile<'_> {
    /// The 1-based line of a byte offset.
    pub fn line_at(&self, offset: usize) -> u32 {
        self.line_starts.partition_point(|&start| start <= offset) as u32
    }

    /// The line where `node` starts (0 when it has no span).
    pub fn line_of(&self, node: &impl Span) -> u32 {
        node.span().map(|s| self.line_at(s.start)).unwrap_or(0)
    }

    /// The source text of `node`, exactly as written (`""` when it has no span).
    pub fn source_of(&self, node: &impl Span) -> &str {
        node.span().and_then(|s| self.slice(s)).unwrap_or("")
    }

    fn slice(&self, range: Range<usize>) -> Option<&str> {
        self.text.get(range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_become_lines_and_text() {
        let text = "# c\nsource \"amazon-ebs\" \"vm\" {\n  region = var.region\n\n  tags = {\n    a = 1\n  }\n}\n";
        let file = parse(text).unwrap();
        let block = file.body.blocks().next().unwrap();
        assert_eq!(file.line_of(block), 2);
        let attrs: Vec<_> = block.body.attributes().collect();
        assert_eq!(file.line_of(attrs[0]), 3);
        assert_eq!(file.source_of(&attrs[0].value), "var.region");
        assert_eq!(file.line_of(attrs[1]), 5);
    }

    #[test]
    fn errors_carry_line_and_column() {
        let err = parse("a = 1\nb = [1, \n").unwrap_err();
        assert!(err.line >= 2, "{err}");
        let err = parse("block {\n  x = \n}\n").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = format!("a = {}", "[".repeat(100_000));
        assert!(parse(&text).is_err());
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        let file = parse("\u{feff}a = \"x\"\n").unwrap();
        let attr = file.body.attributes().next().unwrap();
        assert_eq!(file.source_of(&attr.value), "\"x\"");
    }
}
