//! POSIX shell words: quoting values into build-time commands and splitting
//! command lines (`ExecStart=`, supervisor `command=`, cron lines) into
//! exec-form argument lists. Owns nothing else.

/// `s` as one shell word: unchanged when it only holds safe characters,
/// otherwise in single quotes (with `'` written as `'\''`).
pub fn quote(s: &str) -> String {
    let safe = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%^".contains(&b));
    if safe { s.to_string() } else { format!("'{}'", s.replace('\'', r"'\''")) }
}

/// Words joined into one command line, each quoted as needed.
pub fn join(words: &[String]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// Splits a command line into words the way `sh` would, without expanding
/// anything. `None` for unbalanced quotes.
pub fn split(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => word.push(c),
                            c => {
                                word.push('\\');
                                word.push(c);
                            }
                        },
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// True when a command line uses a pipe (so the image needs a pipefail shell).
pub fn has_pipe(line: &str) -> bool {
    let mut quote: Option<char> = None;
    let bytes: Vec<char> = line.chars().collect();
    for (i, &c) in bytes.iter().enumerate() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '|') => {
                let next = bytes.get(i + 1).copied();
                let prev = if i > 0 { bytes.get(i - 1).copied() } else { None };
                if next != Some('|') && prev != Some('|') {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_round_trips() {
        assert_eq!(quote("nginx"), "nginx");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        for s in ["plain", "with space", "it's", "$HOME", "a\"b", "x|y"] {
            assert_eq!(split(&quote(s)).unwrap(), vec![s.to_string()], "{s}");
        }
    }

    #[test]
    fn splitting() {
        assert_eq!(split("nginx -g 'daemon off;'").unwrap(), vec!["nginx", "-g", "daemon off;"]);
        assert_eq!(split(r#"a "b \"c\"" d\ e"#).unwrap(), vec!["a", r#"b "c""#, "d e"]);
        assert_eq!(split("  ").unwrap(), Vec::<String>::new());
        assert!(split("'open").is_none());
    }

    #[test]
    fn pipes() {
        assert!(has_pipe("curl x | sh"));
        assert!(!has_pipe("a || b"));
        assert!(!has_pipe("echo 'a|b'"));
    }
}
