//! Source rewrites that make minijinja read a template the way Ansible does.
//!
//! Two differences cannot be configured in minijinja, so the template text is
//! rewritten before it is compiled (never after rendering):
//!
//! 1. **Backslashes in `{{ }}` string literals.** For templates that come from
//!    YAML (module arguments, vars) Ansible's lexer doubles every backslash in
//!    a string constant inside `{{ }}` (not `{% %}`), so `'\1'` stays a
//!    backreference and `'\n'` stays two characters. Templates from files and
//!    `when:` expressions are not touched.
//! 2. **Undefined chains.** In Ansible `foo.bar | default(x)` and
//!    `foo.bar is defined` work when `foo` itself is undefined; minijinja's
//!    strict mode fails on the attribute access. A dotted/subscripted path
//!    directly followed by `| default`, `| d`, `is [not] defined` or
//!    `is [not] undefined` is rewritten to `__ansible_chain(foo, 'bar')`, a
//!    function that yields undefined when any link is missing.
//!
//! The module also finds out whether a string is exactly one `{{ expr }}`
//! (Ansible then returns the expression's native value, not a string).
//! It knows Jinja's lexical structure and nothing else.

use std::borrow::Cow;

/// The delimiters of one template dialect (`#jinja2:` can change them).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Delims {
    pub block: (String, String),
    pub variable: (String, String),
    pub comment: (String, String),
}

impl Default for Delims {
    fn default() -> Delims {
        Delims {
            block: ("{%".into(), "%}".into()),
            variable: ("{{".into(), "}}".into()),
            comment: ("{#".into(), "#}".into()),
        }
    }
}

impl Delims {
    /// Ansible's default delimiters, built once (checking every string of a run against
    /// a fresh [`Delims::default`] allocated six strings each time).
    pub fn ansible() -> &'static Delims {
        static DEFAULT: std::sync::LazyLock<Delims> = std::sync::LazyLock::new(Delims::default);
        &DEFAULT
    }
}

/// When `expr` (the inside of `{{ }}`) is nothing but a variable name, the name:
/// evaluating it is looking the name up, which needs no compiled expression.
pub fn bare_name(expr: &str) -> Option<&str> {
    let name = expr.trim_matches([' ', '\t', '\n', '\r']);
    let mut chars = name.chars();
    let first = chars.next()?;
    if !(first.is_ascii_alphabetic() || first == '_') || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    // Literals and operators the expression language spells as words.
    const WORDS: &[&str] =
        &["true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if", "else"];
    if WORDS.contains(&name) { None } else { Some(name) }
}

/// When `expr` (the inside of `{{ }}`) is a bare name or names joined by `.` without spaces
/// (`item.name`), the path: evaluating it is looking the first name up and reading each
/// attribute of the result, which needs no compiled expression.
pub fn bare_path(expr: &str) -> Option<&str> {
    let path = expr.trim_matches([' ', '\t', '\n', '\r']);
    path.split('.').all(|part| bare_name(part) == Some(part)).then_some(path)
}

/// A piece of a template made only of text and bare `{{ name }}`s or `{{ name.attr }}`s
/// (see [`name_template`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    /// A name, or names joined by `.` ([`bare_path`]).
    Name(&'a str),
}

/// When `src` (with `delims`) is nothing but text and `{{ name }}`s or `{{ name.attr }}`s (no other
/// expression, tag, comment or whitespace control, no trailing newline that the
/// lexer would strip), its pieces in order: rendering it is printing each name's
/// value between the texts, which needs no compiled template.
pub fn name_template<'a>(src: &'a str, delims: &Delims) -> Option<Vec<Piece<'a>>> {
    if src.ends_with(['\n', '\r']) || src.contains(delims.block.0.as_str()) || src.contains(delims.comment.0.as_str()) {
        return None;
    }
    let (open, close) = (delims.variable.0.as_str(), delims.variable.1.as_str());
    let mut pieces = Vec::new();
    let mut rest = src;
    while let Some(start) = rest.find(open) {
        if start > 0 {
            pieces.push(Piece::Text(&rest[..start]));
        }
        let inner = &rest[start + open.len()..];
        let end = inner.find(close)?;
        pieces.push(Piece::Name(bare_path(&inner[..end])?));
        rest = &inner[end + close.len()..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Some(pieces)
}

/// The text minijinja's lexer reads of template `src` (keep_trailing_newline off, as
/// in every environment here): one trailing `\n` dropped, then one `\r`. Callers put
/// back the newlines the source had beyond the output's (`keep_trailing_newlines`).
pub fn lexed_source(src: &str) -> &str {
    let src = src.strip_suffix('\n').unwrap_or(src);
    src.strip_suffix('\r').unwrap_or(src)
}

/// Name of the global function the chain rewrite calls.
pub const CHAIN_FN: &str = "__ansible_chain";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Ws,
    Ident,
    Number,
    Str,
    Punct,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Tok,
    start: usize,
    end: usize,
}

const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "is",
    "if",
    "else",
    "elif",
    "endif",
    "for",
    "endfor",
    "set",
    "endset",
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "macro",
    "endmacro",
    "call",
    "endcall",
    "filter",
    "endfilter",
    "with",
    "endwith",
    "without",
    "context",
    "import",
    "from",
    "as",
    "include",
    "extends",
    "block",
    "endblock",
    "recursive",
    "ignore",
    "missing",
    "raw",
    "endraw",
    "do",
    "break",
    "continue",
    "autoescape",
    "endautoescape",
];

/// Splits expression text into tokens until `stop` (an end delimiter) is
/// found outside a string. Returns the tokens and the offset where `stop`
/// starts (including a `-`/`+` whitespace marker), or `None` when the
/// expression is unterminated (minijinja will report the syntax error).
fn tokenize(src: &str, from: usize, stop: Option<&str>) -> Option<(Vec<Token>, usize)> {
    let bytes = src.as_bytes();
    let mut i = from;
    let mut toks = Vec::new();
    while i < bytes.len() {
        if let Some(stop) = stop {
            let rest = &src[i..];
            if rest.starts_with(stop) {
                return Some((toks, i));
            }
            if (rest.starts_with('-') || rest.starts_with('+')) && rest[1..].starts_with(stop) {
                return Some((toks, i));
            }
        }
        let c = bytes[i];
        let start = i;
        let kind = if c.is_ascii_whitespace() {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            Tok::Ws
        } else if c == b'\'' || c == b'"' {
            i += 1;
            let mut closed = false;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b if b == c => {
                        i += 1;
                        closed = true;
                        break;
                    }
                    _ => i += 1,
                }
            }
            if !closed {
                return None;
            }
            Tok::Str
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80) {
                i += 1;
            }
            Tok::Ident
        } else if c.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            Tok::Number
        } else {
            i += 1;
            while i < bytes.len() && !src.is_char_boundary(i) {
                i += 1;
            }
            Tok::Punct
        };
        toks.push(Token { kind, start, end: i.min(bytes.len()) });
    }
    if stop.is_some() { None } else { Some((toks, bytes.len())) }
}

/// Re-quotes a string literal so that its value is its raw text: what
/// Ansible's backslash doubling achieves (`'\1'` means backslash-one).
fn escape_literal(raw: &str) -> String {
    let quote = raw.chars().next().unwrap_or('\'');
    let inner = &raw[1..raw.len() - 1];
    let mut out = String::with_capacity(raw.len() + 4);
    out.push(quote);
    for c in inner.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if c == quote {
            out.push('\\');
            out.push(c);
        } else {
            out.push(c);
        }
    }
    out.push(quote);
    out
}

fn text<'a>(src: &'a str, t: &Token) -> &'a str {
    &src[t.start..t.end]
}

fn next_non_ws(toks: &[Token], mut i: usize) -> Option<usize> {
    while i < toks.len() {
        if toks[i].kind != Tok::Ws {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn prev_non_ws(toks: &[Token], i: usize) -> Option<usize> {
    (0..i).rev().find(|&j| toks[j].kind != Tok::Ws)
}

/// One link of a path after its root.
enum Seg {
    Attr(usize),
    Index(usize),
    Subscript(usize, usize),
}

/// Parses `root(.name|.0|[expr])+` starting at token `i`; returns the segments
/// and the index of the first token after the path.
fn parse_path(src: &str, toks: &[Token], i: usize) -> Option<(Vec<Seg>, usize)> {
    let mut segs = Vec::new();
    let mut j = i + 1;
    while let Some(k) = toks.get(j) {
        let t = text(src, k);
        if k.kind == Tok::Punct && t == "." {
            match toks.get(j + 1) {
                Some(n) if n.kind == Tok::Ident => segs.push(Seg::Attr(j + 1)),
                Some(n) if n.kind == Tok::Number && text(src, n).bytes().all(|b| b.is_ascii_digit()) => {
                    segs.push(Seg::Index(j + 1))
                }
                _ => return None,
            }
            j += 2;
        } else if k.kind == Tok::Punct && t == "[" {
            let mut depth = 0usize;
            let mut end = None;
            for (m, tok) in toks.iter().enumerate().skip(j) {
                if tok.kind != Tok::Punct {
                    continue;
                }
                match text(src, tok) {
                    "[" | "(" | "{" => depth += 1,
                    "]" | ")" | "}" => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            end = Some(m);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let end = end?;
            if text(src, &toks[end]) != "]" {
                return None;
            }
            segs.push(Seg::Subscript(j + 1, end));
            j = end + 1;
        } else {
            break;
        }
    }
    if segs.is_empty() { None } else { Some((segs, j)) }
}

/// True when the tokens from `j` are `| default`, `| d`, `is [not] defined`
/// or `is [not] undefined`.
fn followed_by_undefined_check(src: &str, toks: &[Token], j: usize) -> bool {
    let Some(a) = next_non_ws(toks, j) else { return false };
    let Some(b) = next_non_ws(toks, a + 1) else { return false };
    let (ta, tb) = (text(src, &toks[a]), text(src, &toks[b]));
    if toks[a].kind == Tok::Punct && ta == "|" {
        return toks[b].kind == Tok::Ident && (tb == "default" || tb == "d");
    }
    if toks[a].kind == Tok::Ident && ta == "is" {
        let name = if tb == "not" {
            match next_non_ws(toks, b + 1) {
                Some(c) => text(src, &toks[c]),
                None => return false,
            }
        } else {
            tb
        };
        return name == "defined" || name == "undefined";
    }
    false
}

/// Rewrites the tokens of one expression. `escape_strings`: apply Ansible's
/// backslash doubling to string literals.
fn rewrite_tokens(src: &str, toks: &[Token], escape_strings: bool, out: &mut String) {
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        if t.kind == Tok::Ident
            && let Some((name, after)) = qualified_name(src, toks, i)
        {
            out.push_str(&name);
            i = after;
            continue;
        }
        if t.kind == Tok::Ident && !KEYWORDS.contains(&text(src, &t)) {
            let prev = prev_non_ws(toks, i).map(|p| text(src, &toks[p]));
            // After `.` it is an attribute, after `|` a filter, after `is` a test.
            let is_root = !matches!(prev, Some(".") | Some("|") | Some("is"));
            if is_root
                && let Some((segs, after)) = parse_path(src, toks, i)
                && followed_by_undefined_check(src, toks, after)
            {
                out.push_str(CHAIN_FN);
                out.push('(');
                out.push_str(text(src, &t));
                for seg in &segs {
                    out.push_str(", ");
                    match *seg {
                        Seg::Attr(k) => {
                            out.push('\'');
                            out.push_str(text(src, &toks[k]));
                            out.push('\'');
                        }
                        Seg::Index(k) => out.push_str(text(src, &toks[k])),
                        Seg::Subscript(a, b) => rewrite_tokens(src, &toks[a..b], escape_strings, out),
                    }
                }
                out.push(')');
                i = after;
                continue;
            }
        }
        if t.kind == Tok::Str
            && let Some((args, after)) = percent_operand(src, toks, i)
        {
            // Python's `'fmt' % args`, which minijinja lacks: `('fmt' | format(args))`.
            out.push('(');
            out.push_str(&if escape_strings { escape_literal(text(src, &t)) } else { text(src, &t).to_string() });
            out.push_str(" | format(");
            rewrite_tokens(src, &toks[args.0..args.1], escape_strings, out);
            out.push_str("))");
            i = after;
            continue;
        }
        if t.kind == Tok::Str && escape_strings {
            out.push_str(&escape_literal(text(src, &t)));
        } else {
            out.push_str(text(src, &t));
        }
        i += 1;
    }
}

/// For a string literal at `i` followed by `% operand`, the token range of
/// the format arguments and the index after the operand. The operand is a
/// parenthesised group (a tuple gives several arguments), a literal, or a
/// variable path with calls; anything followed by a filter is left alone.
fn percent_operand(src: &str, toks: &[Token], i: usize) -> Option<((usize, usize), usize)> {
    let pct = next_non_ws(toks, i + 1)?;
    if toks[pct].kind != Tok::Punct || text(src, &toks[pct]) != "%" {
        return None;
    }
    let start = next_non_ws(toks, pct + 1)?;
    let first = toks[start];
    let (mut args, mut end) = match (first.kind, text(src, &first)) {
        (Tok::Punct, "(") => {
            let close = matching(src, toks, start)?;
            ((start + 1, close), close + 1)
        }
        (Tok::Str | Tok::Number, _) => ((start, start + 1), start + 1),
        (Tok::Ident, name) if !KEYWORDS.contains(&name) => ((start, start + 1), start + 1),
        _ => return None,
    };
    // Postfix parts of a variable operand: `.attr`, `[key]`, `(args)`.
    if first.kind == Tok::Ident {
        loop {
            match toks.get(end).map(|t| text(src, t)) {
                Some(".") if toks.get(end + 1).is_some_and(|t| matches!(t.kind, Tok::Ident | Tok::Number)) => end += 2,
                Some("[") | Some("(") => end = matching(src, toks, end)? + 1,
                _ => break,
            }
        }
        args = (start, end);
    }
    if let Some(n) = next_non_ws(toks, end)
        && matches!(text(src, &toks[n]), "|" | "." | "[" | "(")
    {
        return None;
    }
    Some((args, end))
}

/// The index of the bracket closing the one at `open`.
fn matching(src: &str, toks: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (m, tok) in toks.iter().enumerate().skip(open) {
        if tok.kind != Tok::Punct {
            continue;
        }
        match text(src, tok) {
            "[" | "(" | "{" => depth += 1,
            "]" | ")" | "}" => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(m);
                }
            }
            _ => {}
        }
    }
    None
}

/// Prefix of the names that stand for collection filters and tests
/// (`community.general.json_query` -> `__fqcn__community__general__json_query`),
/// which minijinja cannot parse; they end up reported as unsupported.
pub const FQCN_PREFIX: &str = "__fqcn__";

/// A dotted filter or test name after `|`, `is` or `is not`:
/// `ansible.builtin.x` / `ansible.legacy.x` become `x`, others are mangled.
fn qualified_name(src: &str, toks: &[Token], i: usize) -> Option<(String, usize)> {
    let prev = prev_non_ws(toks, i).map(|p| text(src, &toks[p]))?;
    let is_name_slot = match prev {
        "|" | "is" => true,
        "not" => prev_non_ws(toks, prev_non_ws(toks, i)?).map(|p| text(src, &toks[p])) == Some("is"),
        _ => false,
    };
    if !is_name_slot {
        return None;
    }
    let mut parts = vec![text(src, &toks[i])];
    let mut j = i + 1;
    while j + 1 < toks.len() && text(src, &toks[j]) == "." && toks[j + 1].kind == Tok::Ident {
        parts.push(text(src, &toks[j + 1]));
        j += 2;
    }
    if parts.len() < 2 {
        return None;
    }
    let name = match parts.as_slice() {
        ["ansible", "builtin" | "legacy", rest @ ..] if rest.len() == 1 => rest[0].to_string(),
        _ => format!("{FQCN_PREFIX}{}", parts.join("__")),
    };
    Some((name, j))
}

/// Rewrites a bare expression (a `when:` condition, the inside of `{{ }}`).
pub fn rewrite_expression(expr: &str, escape_strings: bool) -> Cow<'_, str> {
    if !(expr.contains(['.', '[', '%']) || (escape_strings && expr.contains('\\'))) {
        return Cow::Borrowed(expr);
    }
    let Some((toks, _)) = tokenize(expr, 0, None) else { return Cow::Borrowed(expr) };
    let mut out = String::with_capacity(expr.len() + 16);
    rewrite_tokens(expr, &toks, escape_strings, &mut out);
    Cow::Owned(out)
}

/// Rewrites a whole template. `from_yaml`: the template is a YAML value
/// (backslashes in `{{ }}` string literals are doubled as Ansible does).
pub fn rewrite_template<'a>(src: &'a str, delims: &Delims, from_yaml: bool) -> Cow<'a, str> {
    let needs_work = src.contains(&delims.variable.0) || src.contains(&delims.block.0);
    if !needs_work {
        return Cow::Borrowed(src);
    }
    let mut out = String::with_capacity(src.len() + 16);
    let mut pos = 0;
    let mut changed = false;
    let mut tags = TagFinder::new(delims);
    while pos < src.len() {
        let Some((start, kind)) = tags.next(src, pos) else { break };
        let open = match kind {
            TagKind::Variable => &delims.variable,
            TagKind::Block => &delims.block,
            TagKind::Comment => &delims.comment,
        };
        let mut body_start = start + open.0.len();
        if src[body_start..].starts_with('-') || src[body_start..].starts_with('+') {
            body_start += 1;
        }
        if kind == TagKind::Comment {
            match src[body_start..].find(&open.1) {
                Some(end) => {
                    let end = body_start + end + open.1.len();
                    out.push_str(&src[pos..end]);
                    pos = end;
                    continue;
                }
                None => break,
            }
        }
        let Some((toks, stop)) = tokenize(src, body_start, Some(&open.1)) else { break };
        // `{% raw %}`: copy everything up to the matching `{% endraw %}` untouched.
        let words: Vec<&str> = toks.iter().filter(|t| t.kind != Tok::Ws).map(|t| text(src, t)).collect();
        if kind == TagKind::Block && words == ["raw"] {
            match find_endraw(src, stop, delims) {
                Some(end) => {
                    out.push_str(&src[pos..end]);
                    pos = end;
                    continue;
                }
                None => break,
            }
        }
        out.push_str(&src[pos..body_start]);
        let before = out.len();
        rewrite_tokens(src, &toks, from_yaml && kind == TagKind::Variable, &mut out);
        if out[before..] != src[body_start..stop] {
            changed = true;
        }
        pos = stop;
    }
    if !changed {
        return Cow::Borrowed(src);
    }
    out.push_str(&src[pos..]);
    Cow::Owned(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagKind {
    Variable,
    Block,
    Comment,
}

/// The next opening delimiter at or after a position that only moves forward.
/// Each delimiter's next occurrence is remembered until the position passes it
/// (searching all three from every tag rescanned the rest of the text for a
/// delimiter the template never uses, once per tag).
struct TagFinder<'d> {
    opens: [(&'d str, TagKind); 3],
    /// Per delimiter: searched from `.0`, found at `.1` (`None`: not after `.0`).
    found: [Option<(usize, Option<usize>)>; 3],
}

impl<'d> TagFinder<'d> {
    fn new(d: &'d Delims) -> TagFinder<'d> {
        TagFinder {
            opens: [
                (d.variable.0.as_str(), TagKind::Variable),
                (d.block.0.as_str(), TagKind::Block),
                (d.comment.0.as_str(), TagKind::Comment),
            ],
            found: [None; 3],
        }
    }

    /// The earliest opening at or after `from` (the first delimiter wins a tie);
    /// `from` never decreases between calls.
    fn next(&mut self, src: &str, from: usize) -> Option<(usize, TagKind)> {
        let mut best: Option<(usize, TagKind)> = None;
        for (k, (open, kind)) in self.opens.iter().enumerate() {
            let at = match self.found[k] {
                Some((searched, hit)) if searched <= from && hit.is_none_or(|h| h >= from) => hit,
                _ => {
                    let hit = src[from..].find(open).map(|i| from + i);
                    self.found[k] = Some((from, hit));
                    hit
                }
            };
            if let Some(at) = at
                && best.is_none_or(|(b, _)| at < b)
            {
                best = Some((at, *kind));
            }
        }
        best
    }
}

fn find_endraw(src: &str, from: usize, d: &Delims) -> Option<usize> {
    let mut pos = from;
    while let Some(i) = src[pos..].find(&d.block.0) {
        let start = pos + i + d.block.0.len();
        let rest = src[start..].trim_start_matches(['-', '+']).trim_start();
        if let Some(after) = rest.strip_prefix("endraw") {
            let after = after.trim_start();
            let after = after.strip_prefix(['-', '+']).unwrap_or(after);
            if let Some(tail) = after.strip_prefix(d.block.1.as_str()) {
                return Some(src.len() - tail.len());
            }
        }
        pos = start;
    }
    None
}

/// When `src` is exactly one `{{ expr }}`, returns `expr`: Ansible then keeps the
/// expression's native type. A trailing newline makes it text: Ansible keeps that
/// newline (`copy: content: "{{ version }}\n"` writes it), unlike plain Jinja.
pub fn single_expression<'a>(src: &'a str, delims: &Delims) -> Option<&'a str> {
    let body = src;
    let rest = body.strip_prefix(delims.variable.0.as_str())?;
    let rest_start = src.len() - rest.len() - (src.len() - body.len());
    let (_, stop) = tokenize(body, rest_start, Some(&delims.variable.1))?;
    let tail = &body[stop..];
    let tail = tail.strip_prefix(['-', '+']).unwrap_or(tail);
    if tail != delims.variable.1 {
        return None;
    }
    let expr = &body[rest_start..stop];
    let expr = expr.strip_prefix(['-', '+']).unwrap_or(expr);
    if expr.trim().is_empty() { None } else { Some(expr) }
}

/// True when Ansible would treat `s` as a template at all.
pub fn is_template(s: &str, delims: &Delims) -> bool {
    s.starts_with("#jinja2:")
        || s.contains(delims.variable.0.as_str())
        || s.contains(delims.block.0.as_str())
        || s.contains(delims.comment.0.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tpl(s: &str, yaml: bool) -> String {
        rewrite_template(s, &Delims::default(), yaml).into_owned()
    }

    #[test]
    fn chains_before_default_and_defined_are_wrapped() {
        assert_eq!(tpl("{{ a.b | default('x') }}", false), "{{ __ansible_chain(a, 'b') | default('x') }}");
        assert_eq!(tpl("{{ a.b.c|d(1) }}", false), "{{ __ansible_chain(a, 'b', 'c')|d(1) }}");
        assert_eq!(
            tpl("{% if a['k'].v is not defined %}", false),
            "{% if __ansible_chain(a, 'k', 'v') is not defined %}"
        );
        assert_eq!(tpl("{{ a.0 is undefined }}", false), "{{ __ansible_chain(a, 0) is undefined }}");
        assert_eq!(
            tpl("{{ hostvars[x.y].z | default(1) }}", false),
            "{{ __ansible_chain(hostvars, x.y, 'z') | default(1) }}"
        );
        // Not a path, or not followed by a check: untouched.
        for s in ["{{ a | default(1) }}", "{{ a.b | lower }}", "{{ f(x).b | default(1) }}", "{{ a.b() | d }}", "x"] {
            assert_eq!(tpl(s, false), s);
        }
        // Inside strings, comments and raw blocks nothing changes.
        let s = "{# a.b | default #}{% raw %}{{ a.b | default }}{% endraw %}{{ 'a.b | default' }}";
        assert_eq!(tpl(s, false), s);
    }

    #[test]
    fn backslashes_in_variable_strings_are_kept_literally_for_yaml() {
        assert_eq!(tpl(r"{{ x | regex_replace('(\w+)', '\1') }}", true), r"{{ x | regex_replace('(\\w+)', '\\1') }}");
        assert_eq!(tpl(r"{{ 'it\'s' }}", true), r"{{ 'it\\\'s' }}");
        // Blocks and file templates are left alone.
        assert_eq!(tpl(r"{% set a = '\n' %}", true), r"{% set a = '\n' %}");
        assert_eq!(tpl(r"{{ '\n' }}", false), r"{{ '\n' }}");
    }

    #[test]
    fn python_percent_formatting_becomes_the_format_filter() {
        assert_eq!(tpl("{{ 'x=%s' % y }}", false), "{{ ('x=%s' | format(y)) }}");
        assert_eq!(tpl("{{ '%s-%s' % (a, b.c) }}", false), "{{ ('%s-%s' | format(a, b.c)) }}");
        assert_eq!(tpl("{{ '%d' % x.y[0] * 2 }}", false), "{{ ('%d' | format(x.y[0])) * 2 }}");
        assert_eq!(tpl("{{ '%s' % x | upper }}", false), "{{ '%s' % x | upper }}");
    }

    #[test]
    fn name_templates_are_text_and_bare_names_only() {
        let d = Delims::default();
        assert_eq!(
            name_template("{{ a }}/x-{{b}}.conf", &d),
            Some(vec![Piece::Name("a"), Piece::Text("/x-"), Piece::Name("b"), Piece::Text(".conf")])
        );
        assert_eq!(name_template("plain }} text", &d), Some(vec![Piece::Text("plain }} text")]));
        assert_eq!(name_template("x {{ a.b_1.c }}", &d), Some(vec![Piece::Text("x "), Piece::Name("a.b_1.c")]));
        for other in [
            "{{ a . b }}/x",
            "{{ a.0 }}/x",
            "{{ a. }}/x",
            "{{ .a }}/x",
            "{{ a.none }}/x",
            "{{ a['b'] }}/x",
            "{{ a.b() }}/x",
            "{{- a }}/x",
            "{{ a -}}/x",
            "{{ a }}\n",
            "{% if a %}x{% endif %}",
            "{# c #}{{ a }}",
            "{{ a",
            "{{ true }}x",
        ] {
            assert_eq!(name_template(other, &d), None, "{other}");
        }
        assert_eq!(bare_name(" item "), Some("item"));
        assert_eq!(bare_name("none"), None);
        assert_eq!(bare_name("a b"), None);
    }

    #[test]
    fn single_expression_detection() {
        let d = Delims::default();
        assert_eq!(single_expression("{{ x }}", &d), Some(" x "));
        assert_eq!(single_expression("{{- x -}}", &d), Some(" x "));
        assert_eq!(single_expression("{{ x }}\n", &d), None);
        assert_eq!(single_expression("{{ '}}' }}", &d), Some(" '}}' "));
        assert_eq!(single_expression("{{ a }}{{ b }}", &d), None);
        assert_eq!(single_expression(" {{ a }}", &d), None);
        assert_eq!(single_expression("{{ a }} ", &d), None);
    }
}
