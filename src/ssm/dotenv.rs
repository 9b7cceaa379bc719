//! The dotenv dialect `migrate ssm push --from-env-file` reads and `migrate ssm pull`
//! writes. Parsing and rendering only; no I/O, no knowledge of SSM.
//!
//! The dialect (documented in docs/ssm.md):
//! - one `KEY=VALUE` per line, optionally prefixed with `export `; spaces around `=`
//!   are allowed; keys are `[A-Za-z_][A-Za-z0-9_.-]*`;
//! - blank lines and lines starting with `#` are ignored;
//! - unquoted values run to the end of the line; ` #` (whitespace, then `#`) starts a
//!   comment; surrounding whitespace is trimmed;
//! - `'single quoted'` values are literal (no escapes) and may span lines;
//! - `"double quoted"` values may span lines and understand `\n \r \t \" \\ \$ \'`;
//!   any other backslash is kept as written;
//! - nothing is interpolated (`$OTHER` stays as written): values are taken literally;
//! - a key given twice: the last one wins, with a warning naming both lines.
//!
//! Errors name the file and line and never quote a value: env files hold secrets.
//! [`render_value`] quotes so that [`parse`] gives the value back exactly.

use std::fmt;

/// One `KEY=VALUE` from an env file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    /// 1-based line where the entry starts.
    pub line: u32,
}

/// A parsed env file: entries in file order (a repeated key keeps its last value),
/// and warnings (`path:line: message`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub entries: Vec<Entry>,
    pub warnings: Vec<String>,
}

/// A syntax error in an env file. The message never contains a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvError {
    pub path: String,
    pub line: u32,
    pub message: String,
}

impl fmt::Display for DotenvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path, self.line, self.message)
    }
}

impl std::error::Error for DotenvError {}

struct Cursor<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: u32,
}

impl Cursor<'_> {
    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next();
        if c == Some('\n') {
            self.line += 1;
        }
        c
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
    }

    /// Skips the rest of the line including its newline.
    fn skip_line(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
        }
    }

    /// After a value: only blanks and an optional comment may follow on the line.
    fn end_of_line(&mut self) -> bool {
        self.skip_blanks();
        match self.peek() {
            None => true,
            Some('\n') => {
                self.bump();
                true
            }
            Some('\r') => {
                self.bump();
                if self.peek() == Some('\n') {
                    self.bump();
                    true
                } else {
                    false
                }
            }
            Some('#') => {
                self.skip_line();
                true
            }
            Some(_) => false,
        }
    }
}

fn is_key_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// Parses env-file `text`; `path` is only used in messages.
pub fn parse(path: &str, text: &str) -> Result<Parsed, DotenvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut cur = Cursor { chars: text.chars().peekable(), line: 1 };
    let err = |line: u32, message: String| DotenvError { path: path.to_string(), line, message };
    let mut entries: Vec<Entry> = Vec::new();
    let mut warnings = Vec::new();
    loop {
        cur.skip_blanks();
        let line = cur.line;
        let Some(first) = cur.peek() else { break };
        match first {
            '\n' | '\r' => {
                if !cur.end_of_line() {
                    return Err(err(line, "stray carriage return".into()));
                }
                continue;
            }
            '#' => {
                cur.skip_line();
                continue;
            }
            _ => {}
        }
        let mut key = read_key(&mut cur);
        if key == "export" && matches!(cur.peek(), Some(' ' | '\t')) {
            cur.skip_blanks();
            if cur.peek() != Some('=') {
                key = read_key(&mut cur);
            }
        }
        if key.is_empty() || !key.starts_with(is_key_start) {
            let why = "expected a variable name (letters, digits, `_`, `.`, `-`, not starting with a digit)";
            return Err(err(line, why.into()));
        }
        cur.skip_blanks();
        match cur.peek() {
            Some('=') => {
                cur.bump();
            }
            None | Some('\n' | '\r' | '#') => return Err(err(line, format!("`{key}` has no `=`"))),
            Some(_) => return Err(err(line, format!("unexpected character after the name `{key}` (expected `=`)"))),
        }
        let after_blank = matches!(cur.peek(), Some(' ' | '\t'));
        cur.skip_blanks();
        let value = match cur.peek() {
            Some('"') => {
                cur.bump();
                let v = read_double_quoted(&mut cur)
                    .ok_or_else(|| err(line, format!("the double-quoted value of `{key}` is never closed")))?;
                if !cur.end_of_line() {
                    return Err(err(cur.line, format!("unexpected text after the closing quote of `{key}`")));
                }
                v
            }
            Some('\'') => {
                cur.bump();
                let v = read_single_quoted(&mut cur)
                    .ok_or_else(|| err(line, format!("the single-quoted value of `{key}` is never closed")))?;
                if !cur.end_of_line() {
                    return Err(err(cur.line, format!("unexpected text after the closing quote of `{key}`")));
                }
                v
            }
            _ => read_unquoted(&mut cur, after_blank),
        };
        if let Some(pos) = entries.iter().position(|e| e.key == key) {
            let old = entries.remove(pos);
            warnings.push(format!("{path}:{line}: `{key}` is set again (line {} is ignored)", old.line));
        }
        entries.push(Entry { key, value, line });
    }
    Ok(Parsed { entries, warnings })
}

fn read_key(cur: &mut Cursor<'_>) -> String {
    let mut key = String::new();
    while let Some(c) = cur.peek().filter(|c| is_key_char(*c)) {
        key.push(c);
        cur.bump();
    }
    key
}

fn read_double_quoted(cur: &mut Cursor<'_>) -> Option<String> {
    let mut v = String::new();
    loop {
        match cur.bump()? {
            '"' => return Some(v),
            '\\' => match cur.bump()? {
                'n' => v.push('\n'),
                'r' => v.push('\r'),
                't' => v.push('\t'),
                c @ ('"' | '\\' | '$' | '\'') => v.push(c),
                other => {
                    v.push('\\');
                    v.push(other);
                }
            },
            '\r' if cur.peek() == Some('\n') => {}
            c => v.push(c),
        }
    }
}

fn read_single_quoted(cur: &mut Cursor<'_>) -> Option<String> {
    let mut v = String::new();
    loop {
        match cur.bump()? {
            '\'' => return Some(v),
            '\r' if cur.peek() == Some('\n') => {}
            c => v.push(c),
        }
    }
}

fn read_unquoted(cur: &mut Cursor<'_>, mut after_blank: bool) -> String {
    let mut v = String::new();
    while let Some(c) = cur.peek() {
        if c == '\n' || (c == '#' && after_blank) {
            break;
        }
        after_blank = matches!(c, ' ' | '\t');
        v.push(c);
        cur.bump();
    }
    // The comment, if any, and the newline.
    cur.skip_line();
    v.trim_end_matches([' ', '\t', '\r']).to_string()
}

fn is_bare_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ':' | '@' | '%' | '+' | ',' | '=' | '^' | '~')
}

/// `value` written so that [`parse`] reads it back exactly: bare when it only holds
/// safe characters, otherwise double-quoted with `\\ \" \n \r \t \$` escaped (`$` is
/// escaped for readers that interpolate).
pub fn render_value(value: &str) -> String {
    if !value.is_empty() && value.chars().all(is_bare_safe) {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `KEY=VALUE` followed by a newline.
pub fn render_line(key: &str, value: &str) -> String {
    format!("{key}={}\n", render_value(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(text: &str) -> Vec<(String, String)> {
        parse("t.env", text).unwrap().entries.into_iter().map(|e| (e.key, e.value)).collect()
    }

    fn one(text: &str) -> String {
        let mut e = kv(text);
        assert_eq!(e.len(), 1, "{text:?}");
        e.remove(0).1
    }

    #[test]
    fn plain_lines_comments_and_export() {
        let text = "# header\n\nA=1\nexport B=two words\n  C = spaced  \nexport=yes\nD.E-F=x\n";
        assert_eq!(
            kv(text),
            [("A", "1"), ("B", "two words"), ("C", "spaced"), ("export", "yes"), ("D.E-F", "x")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn unquoted_values_and_inline_comments() {
        assert_eq!(one("A=b # comment"), "b");
        assert_eq!(one("A=b#not-a-comment"), "b#not-a-comment");
        assert_eq!(one("A=#hash-first"), "#hash-first");
        assert_eq!(one("A= # only a comment"), "");
        assert_eq!(one("export = 1"), "1");
        assert_eq!(one("A="), "");
        assert_eq!(one("A=   "), "");
        assert_eq!(one("A=x\r\n"), "x");
        assert_eq!(one("A=$HOME/x"), "$HOME/x");
        assert_eq!(one("A=it's"), "it's");
    }

    #[test]
    fn single_quotes_are_literal() {
        assert_eq!(one(r"A='a \n b # c'"), r"a \n b # c");
        assert_eq!(one("A='line1\nline2' # trailing comment"), "line1\nline2");
        assert_eq!(one(r#"A='say "hi"'"#), r#"say "hi""#);
    }

    #[test]
    fn double_quotes_understand_escapes_and_span_lines() {
        assert_eq!(one(r#"A="a\nb\tc\\d\"e\$f\'g""#), "a\nb\tc\\d\"e$f'g");
        assert_eq!(one(r#"A="keep \x as is""#), r"keep \x as is");
        let pem = "KEY=\"-----BEGIN KEY-----\nabc\ndef\n-----END KEY-----\"\nNEXT=1\n";
        let e = parse("t.env", pem).unwrap().entries;
        assert_eq!(e[0].value, "-----BEGIN KEY-----\nabc\ndef\n-----END KEY-----");
        assert_eq!((e[1].key.as_str(), e[1].line), ("NEXT", 5));
        assert_eq!(one("A=\"x\r\ny\"\r\n"), "x\ny");
        assert_eq!(one(r#"A="has # hash" # and a comment"#), "has # hash");
    }

    #[test]
    fn a_repeated_key_keeps_the_last_value_and_warns() {
        let p = parse("t.env", "A=1\nB=2\nA=3\n").unwrap();
        let got: Vec<_> = p.entries.iter().map(|e| (e.key.as_str(), e.value.as_str())).collect();
        assert_eq!(got, [("B", "2"), ("A", "3")]);
        assert_eq!(p.warnings, ["t.env:3: `A` is set again (line 1 is ignored)"]);
    }

    #[test]
    fn errors_name_file_and_line_and_never_the_value() {
        let cases = [
            ("A=1\nB=\"secret-one\n", 2, "never closed"),
            ("A=1\n\nB='secret-two", 3, "never closed"),
            ("A=\"secret-three\" trailing\n", 1, "after the closing quote"),
            ("A=1\nNOEQUALS\n", 2, "has no `=`"),
            ("1A=x\n", 1, "expected a variable name"),
            ("A B=secret-four\n", 1, "expected `=`"),
            ("=secret-five\n", 1, "expected a variable name"),
        ];
        for (text, line, what) in cases {
            let e = parse("conf/app.env", text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}");
            let shown = e.to_string();
            assert!(shown.starts_with(&format!("conf/app.env:{line}: ")), "{shown}");
            assert!(shown.contains(what), "{shown}");
            assert!(!shown.contains("secret-"), "{shown}");
        }
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        assert_eq!(kv("\u{feff}A=1"), [("A".to_string(), "1".to_string())]);
    }

    #[test]
    fn render_quotes_only_when_needed() {
        assert_eq!(render_value("abc-1.2/x:y@z"), "abc-1.2/x:y@z");
        assert_eq!(render_value(""), "\"\"");
        assert_eq!(render_value("a b"), "\"a b\"");
        assert_eq!(render_value("#x"), "\"#x\"");
        assert_eq!(render_value("a\"b\\c\nd$e"), r#""a\"b\\c\nd\$e""#);
        assert_eq!(render_line("K", "v w"), "K=\"v w\"\n");
    }

    #[test]
    fn render_then_parse_gives_every_value_back() {
        let tricky = [
            "",
            " ",
            "  lead",
            "trail  ",
            "#",
            " # x",
            "a#b",
            "'",
            "''",
            "\"",
            "\\",
            "\\n",
            "$HOME",
            "${X}",
            "a=b",
            "line1\nline2",
            "crlf\r\nend",
            "\r",
            "tab\there",
            "ünïcödé €",
            "-----BEGIN-----\nx\n-----END-----\n",
            "export X=1",
            "\u{0}\u{1}",
            "=",
        ];
        for v in tricky {
            let text = render_line("K", v);
            assert_eq!(one(&text), v, "{text:?}");
        }
        // Random strings over an alphabet of troublemakers.
        let alphabet: Vec<char> = "ab \t\n\r#'\"\\$=€_-".chars().collect();
        let mut rng = fastrand::Rng::with_seed(7);
        let mut file = String::new();
        let mut expected = Vec::new();
        for i in 0..2000 {
            let len = rng.usize(0..24);
            let v: String = (0..len).map(|_| alphabet[rng.usize(..alphabet.len())]).collect();
            file.push_str(&render_line(&format!("K{i}"), &v));
            expected.push((format!("K{i}"), v));
        }
        assert_eq!(kv(&file), expected);
    }
}
