//! Quoting for the text the renderer writes: POSIX shell words (inside RUN
//! lines and the entrypoint), Dockerfile words (COPY, WORKDIR, USER, which
//! Docker expands itself) and one-line comments.
//!
//! Owns only string transformations; it never decides what to emit.

/// Characters that need no quoting in a POSIX shell word.
fn is_plain_shell_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c)
}

/// Why a value cannot be written into a RUN line or the entrypoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unquotable;

/// Quotes `word` for a POSIX shell so it is passed as exactly one argument.
///
/// Single quotes when the word has no `$` or backquote; otherwise double
/// quotes with `$`, `` ` ``, `"` and `\` escaped, because ShellCheck (inside
/// hadolint) reads `'$x'` as a forgotten expansion (SC2016). Control
/// characters other than tab are refused: a newline would end the Dockerfile
/// instruction.
pub fn quote(word: &str) -> Result<String, Unquotable> {
    if word.chars().any(|c| c.is_control() && c != '\t') {
        return Err(Unquotable);
    }
    if !word.is_empty() && word.chars().all(is_plain_shell_char) {
        return Ok(word.to_string());
    }
    if !word.contains(['$', '`']) {
        return Ok(format!("'{}'", word.replace('\'', r"'\''")));
    }
    let mut out = String::with_capacity(word.len() + 2);
    out.push('"');
    for c in word.chars() {
        if matches!(c, '$' | '`' | '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// Like [`quote`], but always quoted, so a word like `fi` is never read as
/// a shell keyword (lines of a script passed as arguments).
pub fn quote_always(word: &str) -> Result<String, Unquotable> {
    let quoted = quote(word)?;
    if quoted.starts_with(['\'', '"']) { Ok(quoted) } else { Ok(format!("'{quoted}'")) }
}

/// Whether `word` can stand unquoted in a Dockerfile instruction that Docker
/// parses itself (COPY, WORKDIR, USER, STOPSIGNAL, `--chown`): no whitespace,
/// no quotes, no `$` (Docker would expand it), no backslash (the escape
/// character), and no leading `-` (it would read as a flag).
pub fn is_dockerfile_word(word: &str) -> bool {
    !word.is_empty()
        && !word.starts_with('-')
        && word.chars().all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_~-".contains(c))
}

/// `text` on one line: control characters become spaces and runs of spaces
/// collapse, so a task name can never break out of a `#` comment.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_one_line(&mut out, text);
    out
}

/// Appends [`one_line`]`(text)` to `out`.
pub fn push_one_line(out: &mut String, text: &str) {
    // Most texts (origins, task names) are printable ASCII with single inner spaces: already one line.
    let bytes = text.as_bytes();
    let plain = bytes.first().is_none_or(|&b| b != b' ')
        && bytes.last().is_none_or(|&b| b != b' ')
        && bytes.iter().all(|&b| (b' '..=b'~').contains(&b))
        && !text.contains("  ");
    if plain {
        out.push_str(text);
        return;
    }
    let mut first = true;
    for word in text.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        if !first {
            out.push(' ');
        }
        first = false;
        out.push_str(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-by-word rewrite, without the shortcut for texts already on one line.
    fn one_line_slow(text: &str) -> String {
        text.split(|c: char| c.is_whitespace() || c.is_control())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn one_line_shortcut_gives_the_same_text() {
        let pieces = ["a", "b c", " ", "  ", "\t", "\n", "\r", "\u{85}", "\u{a0}", "é", "~", "\u{7f}", "#", ""];
        let mut texts: Vec<String> = Vec::new();
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    texts.push(format!("{a}{b}{c}"));
                }
            }
        }
        for text in &texts {
            let mut out = "x".to_string();
            push_one_line(&mut out, text);
            assert_eq!(out, format!("x{}", one_line_slow(text)), "{text:?}");
            assert_eq!(one_line(text), one_line_slow(text), "{text:?}");
        }
    }

    #[test]
    fn plain_words_stay_bare() {
        assert_eq!(quote("nginx=1.22.1-9").unwrap(), "nginx=1.22.1-9");
        assert_eq!(quote("/etc/nginx/conf.d").unwrap(), "/etc/nginx/conf.d");
    }

    #[test]
    fn globs_and_spaces_are_single_quoted() {
        assert_eq!(quote("nginx=1.22*").unwrap(), "'nginx=1.22*'");
        assert_eq!(quote("a b").unwrap(), "'a b'");
        assert_eq!(quote("").unwrap(), "''");
        assert_eq!(quote("it's").unwrap(), r"'it'\''s'");
    }

    #[test]
    fn dollars_are_escaped_inside_double_quotes() {
        assert_eq!(quote("$HOME/x").unwrap(), r#""\$HOME/x""#);
        assert_eq!(quote(r#"a"b`c\d$"#).unwrap(), r#""a\"b\`c\\d\$""#);
    }

    #[test]
    fn script_lines_are_always_quoted() {
        assert_eq!(quote_always("fi").unwrap(), "'fi'");
        assert_eq!(quote_always("echo $X").unwrap(), r#""echo \$X""#);
    }

    #[test]
    fn newlines_are_refused() {
        assert_eq!(quote("a\nb"), Err(Unquotable));
        assert_eq!(quote("a\rb"), Err(Unquotable));
        assert!(quote("a\tb").is_ok());
    }

    #[test]
    fn dockerfile_words() {
        assert!(is_dockerfile_word("/srv/app"));
        assert!(is_dockerfile_word("app:app"));
        assert!(!is_dockerfile_word("/srv/$app"));
        assert!(!is_dockerfile_word("a b"));
        assert!(!is_dockerfile_word("--from=x"));
        assert!(!is_dockerfile_word(""));
    }

    #[test]
    fn comments_stay_on_one_line() {
        assert_eq!(one_line("Install\n  nginx\r\n"), "Install nginx");
        assert_eq!(one_line("{{ item }}"), "{{ item }}");
    }
}
