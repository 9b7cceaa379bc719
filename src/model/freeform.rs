//! Free-form module arguments: `copy: src=a dest="b c"`, `shell: echo {{ x }} chdir=/tmp`.
//!
//! A port of Ansible's `parsing/splitter.py` (`split_args`, `parse_kv`,
//! `join_args`) and `ModuleArgsParser._split_module_string`, so a string is
//! split exactly where Ansible splits it: on spaces, except inside quotes and
//! `{{ }}`/`{% %}`/`{# #}` spans; a lone `\` at the end of a line continues it;
//! words without `=` (or, for command modules, `k=v` words that are not one of
//! their options) are kept as `_raw_params`. Owns only string splitting.

use std::sync::LazyLock;

use regex::Regex;

use super::module_name::FREEFORM_OPTIONS;

/// Why a free-form string cannot be split (Ansible refuses it too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError;

impl std::fmt::Display for SplitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unbalanced quotes or Jinja2 block in free-form arguments")
    }
}

/// Splits `args` into words as Ansible's `split_args` does.
pub fn split_args(args: &str) -> Result<Vec<String>, SplitError> {
    let mut params: Vec<String> = Vec::new();
    if args.is_empty() {
        return Ok(params);
    }
    let items: Vec<&str> = args.split('\n').collect();
    let mut quote_char: Option<char> = None;
    let mut inside_quotes = false;
    let (mut print_depth, mut block_depth, mut comment_depth) = (0usize, 0usize, 0usize);

    for (item_idx, item) in items.iter().enumerate() {
        let mut line_continuation = false;
        for (idx, token) in item.split(' ').enumerate() {
            // Runs of spaces are kept so quoted text can be rebuilt as written.
            if token.is_empty() && idx != 0 {
                if params.is_empty() {
                    params.push(String::new());
                }
                if let Some(last) = params.last_mut() {
                    last.push(' ');
                }
                continue;
            }
            if token == "\\" && !inside_quotes {
                line_continuation = true;
                continue;
            }
            let was_inside_quotes = inside_quotes;
            quote_char = quote_state(token, quote_char);
            inside_quotes = quote_char.is_some();
            let in_jinja = print_depth > 0 || block_depth > 0 || comment_depth > 0;

            let mut appended = false;
            if inside_quotes && !was_inside_quotes && !in_jinja {
                params.push(token.to_string());
                appended = true;
            } else if in_jinja || inside_quotes || was_inside_quotes {
                if params.is_empty() {
                    params.push(String::new());
                }
                if let Some(last) = params.last_mut() {
                    if !(idx == 0 && was_inside_quotes) && idx > 0 {
                        last.push(' ');
                    }
                    last.push_str(token);
                }
                appended = true;
            }

            for (depth, open, close) in
                [(&mut print_depth, "{{", "}}"), (&mut block_depth, "{%", "%}"), (&mut comment_depth, "{#", "#}")]
            {
                let before = *depth;
                *depth = count_jinja_blocks(token, *depth, open, close);
                if *depth != before && !appended {
                    params.push(token.to_string());
                    appended = true;
                }
            }

            let in_jinja = print_depth > 0 || block_depth > 0 || comment_depth > 0;
            if !in_jinja && !inside_quotes && !appended && !token.is_empty() {
                params.push(token.to_string());
            }
        }
        if items.len() > 1 && item_idx != items.len() - 1 && !line_continuation {
            if params.is_empty() {
                params.push(String::new());
            }
            if let Some(last) = params.last_mut() {
                last.push('\n');
            }
        }
    }
    if print_depth > 0 || block_depth > 0 || comment_depth > 0 || inside_quotes {
        return Err(SplitError);
    }
    Ok(params)
}

/// Whether a quote opened in an earlier word is still open after `token`.
fn quote_state(token: &str, mut quote_char: Option<char>) -> Option<char> {
    let mut prev: Option<char> = None;
    for c in token.chars() {
        if (c == '"' || c == '\'') && prev != Some('\\') {
            match quote_char {
                Some(q) if q == c => quote_char = None,
                Some(_) => {}
                None => quote_char = Some(c),
            }
        }
        prev = Some(c);
    }
    quote_char
}

fn count_jinja_blocks(token: &str, depth: usize, open: &str, close: &str) -> usize {
    let opened = token.matches(open).count() as isize;
    let closed = token.matches(close).count() as isize;
    if opened == closed {
        return depth;
    }
    (depth as isize + opened - closed).max(0) as usize
}

/// Joins words back the way `split_args` found them (Ansible's `join_args`).
pub fn join_args(words: &[String]) -> String {
    let mut out = String::new();
    for w in words {
        if !(out.is_empty() || out.ends_with('\n')) {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// `"x"` → `x` when the quotes match and the last one is not escaped.
pub fn unquote(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() > 1 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 2] != b'\\' {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

static ESCAPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\\U[0-9a-fA-F]{8}|\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\N\{[^}]+\}|\\[\\'"abfnrtv]"#)
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// Python `unicode-escape` decoding of the escapes Ansible decodes in `k=v`
/// values. `\N{NAME}` is left as written (no Unicode name table here).
fn decode_escapes(s: &str) -> String {
    ESCAPE
        .replace_all(s, |caps: &regex::Captures<'_>| {
            let m = &caps[0];
            let decoded = match m.as_bytes()[1] {
                b'U' | b'u' | b'x' => u32::from_str_radix(&m[2..], 16).ok().and_then(char::from_u32),
                b'\\' => Some('\\'),
                b'\'' => Some('\''),
                b'"' => Some('"'),
                b'a' => Some('\x07'),
                b'b' => Some('\x08'),
                b'f' => Some('\x0c'),
                b'n' => Some('\n'),
                b'r' => Some('\r'),
                b't' => Some('\t'),
                b'v' => Some('\x0b'),
                _ => None,
            };
            decoded.map(String::from).unwrap_or_else(|| m.to_string())
        })
        .into_owned()
}

/// Parses `k=v k2="quoted v" words` into ordered `(key, value)` pairs, as
/// Ansible's `parse_kv`. Words that are not `k=v` are joined into one
/// `_raw_params` entry (last). With `check_raw` (command-like modules) only
/// their own options count as `k=v`.
pub fn parse_kv(args: &str, check_raw: bool) -> Result<Vec<(String, String)>, SplitError> {
    let mut options: Vec<(String, String)> = Vec::new();
    let mut raw: Vec<String> = Vec::new();
    for orig in split_args(args)? {
        let x = decode_escapes(&orig);
        if !x.contains('=') {
            raw.push(orig);
            continue;
        }
        // The first `=` not preceded by `\`, searching from the second byte.
        let bytes = x.as_bytes();
        let pos = (1..bytes.len()).find(|&i| bytes[i] == b'=' && bytes[i - 1] != b'\\');
        let Some(pos) = pos else {
            raw.push(x.replace("\\=", "="));
            continue;
        };
        let key = &x[..pos];
        let value = &x[pos + 1..];
        if check_raw && !FREEFORM_OPTIONS.contains(&key) {
            raw.push(orig);
        } else {
            let key = key.trim().to_string();
            let value = unquote(value.trim()).to_string();
            match options.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => options.push((key, value)),
            }
        }
    }
    if !raw.is_empty() {
        options.push(("_raw_params".into(), join_args(&raw)));
    }
    Ok(options)
}

/// `copy src=a dest=b` → (`copy`, `src=a dest=b`): the module name of an
/// `action:`/`local_action:` string and the rest.
pub fn split_module_string(s: &str) -> Result<(String, String), SplitError> {
    let tokens = split_args(s)?;
    match tokens.split_first() {
        Some((first, rest)) => Ok((first.trim().to_string(), rest.join(" "))),
        None => Ok((String::new(), String::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(s: &str, raw: bool) -> Vec<(String, String)> {
        parse_kv(s, raw).unwrap()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn splits_on_spaces_outside_quotes_and_jinja() {
        assert_eq!(split_args("a=b c=\"foo bar\"").unwrap(), vec!["a=b", "c=\"foo bar\""]);
        assert_eq!(split_args("a={{ b | default('x y') }} c=d").unwrap(), vec!["a={{ b | default('x y') }}", "c=d"]);
        assert_eq!(split_args("a={% if x %}1{% endif %}").unwrap(), vec!["a={% if x %}1{% endif %}"]);
        assert_eq!(split_args("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn keeps_newlines_and_continuations() {
        assert_eq!(split_args("a=b\nc=d").unwrap(), vec!["a=b\n", "c=d"]);
        assert_eq!(split_args("a=b \\\nc=d").unwrap(), vec!["a=b", "c=d"]);
        assert_eq!(split_args("a=\"x\ny\"").unwrap(), vec!["a=\"x\ny\""]);
    }

    #[test]
    fn unbalanced_input_is_an_error() {
        assert_eq!(split_args("a=\"b"), Err(SplitError));
        assert_eq!(split_args("a={{ b"), Err(SplitError));
    }

    #[test]
    fn parse_kv_like_ansible() {
        assert_eq!(kv("src=a dest='b c' mode=0644", false), pairs(&[("src", "a"), ("dest", "b c"), ("mode", "0644")]));
        assert_eq!(
            kv("echo hi chdir=/tmp creates=/x", true),
            pairs(&[("chdir", "/tmp"), ("creates", "/x"), ("_raw_params", "echo hi"),])
        );
        // For command modules other k=v words stay in the command line, as written.
        assert_eq!(kv("FOO=bar ./run.sh", true), pairs(&[("_raw_params", "FOO=bar ./run.sh")]));
        assert_eq!(kv("tasks.yml x=1", false), pairs(&[("x", "1"), ("_raw_params", "tasks.yml")]));
        // Escaped `=` only: the word is raw, with the escapes removed.
        assert_eq!(kv("a\\=b", false), pairs(&[("_raw_params", "a=b")]));
        // A leading `=` is not a separator (the search starts at the second character).
        assert_eq!(kv("=x", false), pairs(&[("_raw_params", "=x")]));
        assert_eq!(kv("msg=\"a\\tb\"", false), pairs(&[("msg", "a\tb")]));
        assert_eq!(kv("line='x=\"1\"'", false), pairs(&[("line", "x=\"1\"")]));
    }

    #[test]
    fn module_strings() {
        assert_eq!(split_module_string("copy src=a dest=b").unwrap(), ("copy".into(), "src=a dest=b".into()));
        assert_eq!(split_module_string("ping").unwrap(), ("ping".into(), String::new()));
    }

    #[test]
    fn unquote_rules() {
        assert_eq!(unquote("'a'"), "a");
        assert_eq!(unquote("\"a\\\""), "\"a\\\"");
        assert_eq!(unquote("'"), "'");
    }
}
