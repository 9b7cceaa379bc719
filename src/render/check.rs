//! The self-check: every rendered Dockerfile is parsed again with the
//! `dockerfile-parser` crate, and the few invariants the renderer promises
//! are verified on the parse, not on the text. A failure is a bug in a
//! template, reported as an error instead of a broken file on disk.
//!
//! Comment lines (first non-blank character `#`) are left out of what is
//! parsed: Docker removes them before it parses, wherever they are (also
//! inside a continued RUN), so they carry no instruction to check, and the
//! parser (pest, character by character) spent about 40% of its time on them.
//!
//! Shell-form RUN instructions, most of what is left, are checked by
//! [`reduced`] without pest when that is provably the same (see there);
//! everything else, and every file the shortcut is unsure of, goes to the parser.

use dockerfile_parser::{Dockerfile, Instruction};

/// Parses `text` and checks: one stage; FROM first; exactly one CMD, in exec
/// form, last; a non-root USER; no ADD; every ENTRYPOINT in exec form.
pub fn check_dockerfile(text: &str) -> Result<(), String> {
    let instructions = without_comment_lines(text);
    let parsed = match reduced(&instructions).and_then(|r| parse_reduced(&r)) {
        Some(parsed) => parsed,
        None => Dockerfile::parse(&instructions).map_err(|e| format!("does not parse: {e}"))?,
    };
    check_instructions(&parsed.instructions)
}

/// The invariants, on the parsed instructions.
fn check_instructions(instructions: &[Instruction]) -> Result<(), String> {
    match instructions.first() {
        Some(Instruction::From(_)) => {}
        _ => return Err("the first instruction is not FROM".into()),
    }
    let froms = instructions.iter().filter(|i| matches!(i, Instruction::From(_))).count();
    if froms != 1 {
        return Err(format!("{froms} FROM instructions, expected 1"));
    }
    let cmds: Vec<_> = instructions.iter().filter_map(Instruction::as_cmd).collect();
    if cmds.len() != 1 || cmds[0].as_exec().is_none() {
        return Err("expected exactly one CMD, in exec form".into());
    }
    if !matches!(instructions.last(), Some(Instruction::Cmd(_))) {
        return Err("CMD is not the last instruction".into());
    }
    if instructions.iter().filter_map(Instruction::as_entrypoint).any(|e| e.as_exec().is_none()) {
        return Err("an ENTRYPOINT is not in exec form".into());
    }
    let mut last_user = None;
    for instruction in instructions {
        if let Instruction::Misc(misc) = instruction {
            let name = misc.instruction.content.to_ascii_uppercase();
            match name.as_str() {
                "USER" => last_user = Some(misc.arguments.to_string().trim().to_string()),
                "ADD" | "MAINTAINER" | "ONBUILD" => return Err(format!("unexpected {name} instruction")),
                _ => {}
            }
        }
    }
    match last_user.as_deref() {
        None => Err("no USER instruction".into()),
        Some(u) if u == "root" || u == "0" || u.starts_with("root:") || u.starts_with("0:") => {
            Err("the last USER is root".into())
        }
        Some(_) => Ok(()),
    }
}

/// The longest RUN instruction, in lines, that [`reduced`] takes on: the parser
/// recurses once per continuation line and refuses a file when its stack runs
/// low; far below that depth, a RUN it reads whole is certain to fit too.
const MAX_REDUCED_RUN_LINES: usize = 200;

/// The text the parser reads instead of the whole Dockerfile, and the byte
/// offset where each of its instructions must start.
///
/// Why it is equivalent (grammar of `dockerfile_parser.pest`, a PEG: the result
/// of a rule at a position depends only on the text from there on). Split the
/// text (no `\r`, a final newline, no line starting with a blank but blank
/// lines) into logical lines (a physical line continues when it ends in `\`
/// and blanks). Suppose an instruction starts at a logical line's first character.
/// - A RUN line `RUN c…`, `c` not a blank, `\`, `[` or `#`: `from` fails, `run`
///   matches, `arg_ws` takes the one space, `run_exec` needs `[`, so `run_shell`:
///   `any_content` takes every character of the line up to the final
///   continuation (there is no comment line to match, they are removed), then
///   `line_continuation`, and the same on each next line, which needs one
///   character that does not begin the continuation (checked). The last line
///   ends at its newline: the RUN is exactly the logical line, a `Run`, and
///   nothing after that newline was looked at. Same for `RUN x`.
/// - Any other line is kept as it is, so it parses the same as long as its
///   parse cannot look past its own final newline. Only four things consume a
///   newline: a continuation (the line has none at its end), a comment (no `#`
///   in kept lines), an empty line after a continuation (no blank physical line
///   in a kept line), and a quoted string. A string starts only after `[`, `,`,
///   `=` or a blank, and ends at the next quote of its kind (no `\` in a kept
///   line with quotes); so on one physical line whose last quote of each kind
///   follows none of those, no string can run past the line (multi-line kept
///   lines must have no quotes).
/// - By induction from the first line every instruction then starts at a
///   logical line, provided each kept line's parse also ends at its final
///   newline: [`parse_reduced`] checks that every instruction starts where
///   expected (a kept line that ended early leaves a line that starts an
///   instruction elsewhere or fails the parse), and falls back otherwise.
/// The instructions are then those of the full text with each RUN's shell
/// text replaced, which no invariant looks at.
struct Reduced {
    text: String,
    starts: Vec<usize>,
}

/// `text` (comment lines already removed) with each shell-form RUN instruction
/// replaced by `RUN x`, and where each remaining instruction must start, or `None`
/// when the text is not in the shape where that is provably equivalent.
fn reduced(text: &str) -> Option<Reduced> {
    if text.contains('\r') || !text.ends_with('\n') {
        return None;
    }
    let mut out = Reduced { text: String::with_capacity(text.len() / 2), starts: Vec::new() };
    let mut lines = text.split_inclusive('\n').map(|l| &l[..l.len() - 1]);
    let mut logical: Vec<&str> = Vec::new();
    while let Some(first) = lines.next() {
        logical.clear();
        logical.push(first);
        while continued(logical[logical.len() - 1]) {
            logical.push(lines.next()?);
        }
        if logical.len() == 1 && is_blank(first) {
            out.text.push_str(first);
            out.text.push('\n');
            continue;
        }
        if first.starts_with([' ', '\t']) {
            return None;
        }
        out.starts.push(out.text.len());
        if is_shell_run(&logical) {
            out.text.push_str("RUN x\n");
            continue;
        }
        if !is_kept_line_safe(&logical) {
            return None;
        }
        for line in &logical {
            out.text.push_str(line);
            out.text.push('\n');
        }
    }
    Some(out)
}

/// Parses the reduced text; `None` unless every instruction starts where
/// [`reduced`] expects one.
fn parse_reduced(reduced: &Reduced) -> Option<Dockerfile> {
    let parsed = Dockerfile::parse(&reduced.text).ok()?;
    let starts = parsed.instructions.iter().map(|i| i.span().start);
    (parsed.instructions.len() == reduced.starts.len() && starts.eq(reduced.starts.iter().copied())).then_some(parsed)
}

/// The line ends in a line continuation (`\` and blanks; the newline follows).
fn continued(line: &str) -> bool {
    line.trim_end_matches([' ', '\t']).ends_with('\\')
}

fn is_blank(line: &str) -> bool {
    line.bytes().all(|b| b == b' ' || b == b'\t')
}

/// A shell-form RUN the parser reads as exactly one `Run` (see [`reduced`]);
/// any other RUN is kept like the other instructions.
fn is_shell_run(logical: &[&str]) -> bool {
    let Some(body) = logical[0].strip_prefix("RUN ") else { return false };
    if matches!(body.bytes().next(), Some(b' ' | b'\t' | b'\\' | b'[' | b'#') | None) {
        return false;
    }
    if logical.len() > MAX_REDUCED_RUN_LINES {
        return false;
    }
    // Every next line needs a character before its own continuation (or, the
    // last, one character at all).
    let next_ok = logical[1..].iter().all(|line| {
        let content = if continued(line) {
            line.trim_end_matches([' ', '\t']).strip_suffix('\\').unwrap_or(line)
        } else {
            line
        };
        !content.is_empty()
    });
    next_ok
}

/// A line kept in the reduced text cannot be parsed past its final newline.
fn is_kept_line_safe(logical: &[&str]) -> bool {
    if logical.iter().any(|line| line.contains('#') || is_blank(line)) {
        return false;
    }
    let quoted = |line: &&str| line.contains(['"', '\'']);
    match logical {
        [line] if quoted(line) => !line.contains('\\') && no_open_string(line, b'"') && no_open_string(line, b'\''),
        _ => !logical.iter().any(quoted),
    }
}

/// No string can start at the last `quote` of `line`: it follows none of the
/// characters after which the grammar reads a string.
fn no_open_string(line: &str, quote: u8) -> bool {
    match line.bytes().rposition(|b| b == quote) {
        None => true,
        Some(0) => false,
        Some(i) => !matches!(line.as_bytes()[i - 1], b'[' | b',' | b'=' | b' ' | b'\t'),
    }
}

/// `text` without its comment lines. Line numbers in a parse error then count
/// only the lines kept.
fn without_comment_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if !line.trim_start_matches([' ', '\t']).starts_with('#') {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "FROM debian:12-slim\nRUN true \\\n# a comment\n && true\nUSER 10001\nCMD [\"x\"]\n";

    #[test]
    fn a_good_file_passes() {
        assert_eq!(check_dockerfile(GOOD), Ok(()));
        let commented = "# header\n  # indented\nFROM debian:12-slim\n# c\nRUN a \\\n# c\n && b \\\n\t# c\n && c\nUSER 1\nCMD [\"x\"]\n";
        assert_eq!(check_dockerfile(commented), Ok(()));
    }

    #[test]
    fn only_comment_lines_are_left_out() {
        let text = "# a\nFROM x # not a comment line\n  # b\n\t#c\nRUN y\n";
        assert_eq!(without_comment_lines(text), "FROM x # not a comment line\nRUN y\n");
    }

    /// The check as it was before the shortcut: the whole text through the parser.
    fn check_whole(text: &str) -> Result<(), String> {
        let parsed = Dockerfile::parse(&without_comment_lines(text)).map_err(|e| format!("does not parse: {e}"))?;
        check_instructions(&parsed.instructions)
    }

    const GENERATED: &str = "# header\nFROM debian:bookworm-slim\n\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n\n\
        # step\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends \\\n      curl \\\n      procps \\\n\
         && rm -rf /var/lib/apt/lists/* \\\n# a.yml:6 group\n && { getent group web >/dev/null || groupadd -r web; } \\\n\
         && echo 'a \"quoted\" [x], y=1 # not a comment' > /etc/x\n\nCOPY files/a /opt/a\nRUN chmod 0644 /opt/a\n\n\
        WORKDIR /opt/web\n\nEXPOSE 8000/tcp\n\nHEALTHCHECK --interval=30s CMD [\"curl\", \"-sS\", \"http://127.0.0.1:8000/\"]\n\n\
        USER 10001:10001\nENTRYPOINT [\"/bin/sh\", \"/usr/local/bin/docker-entrypoint.sh\"]\nCMD [\"/opt/web/bin/run\", \"--bind\", \"0.0.0.0:8000\"]\n";

    #[test]
    fn the_shortcut_reads_generated_files() {
        let text = without_comment_lines(GENERATED);
        let reduced = reduced(&text).expect("a generated file is in the shape the shortcut takes");
        assert_eq!(reduced.text.matches("RUN x\n").count(), 2, "{}", reduced.text);
        assert!(!reduced.text.contains("apt-get"), "{}", reduced.text);
        let parsed = parse_reduced(&reduced).expect("instructions where expected");
        let whole = Dockerfile::parse(&text).unwrap();
        let kinds = |i: &[Instruction]| i.iter().map(|i| std::mem::discriminant(i)).collect::<Vec<_>>();
        assert_eq!(kinds(&parsed.instructions), kinds(&whole.instructions));
        assert_eq!(check_dockerfile(GENERATED), Ok(()));
    }

    /// Texts on the edge of what the shortcut takes: each must get exactly the
    /// answer (and message) of the whole parse.
    #[test]
    fn the_shortcut_agrees_with_the_whole_parse() {
        let tail = "USER 1\nCMD [\"x\"]\n";
        let bodies = [
            // A continuation line that is only a backslash, or empty: does not parse.
            "RUN a \\\n\\\n && b\n",
            "RUN a \\\n\n",
            "RUN a \\\n   \n",
            "RUN a \\\n  \\\n && b\n",
            "RUN a\\ \\\n b\n",
            "RUN  two spaces\n",
            "RUN \\\n a\n",
            "RUN [\"a\", \"b\"]\n",
            "RUN [\"a\", \n",
            "RUN # c\n",
            // An instruction hidden in a RUN's continuation is part of the RUN.
            "RUN a \\\nUSER root\n",
            "RUN a \\\nADD x /x\n",
            // A string opened before a RUN and closed inside it.
            "ENV A=\"x\nRUN echo \" b=1\n",
            "LABEL a=\"x\nRUN echo \"\n",
            "LABEL \"a\"=\"x\" b=\"\nRUN y\n",
            "ENV A \"x\nRUN y\"\n",
            "CMD [\"a\", \"\nRUN y\"]\n",
            "ARG A=\"x\\\nRUN y\"\n",
            "ARG A='x\nRUN y'\n",
            "COPY a \\\n\nRUN b\n",
            "COPY a \\\n  # c\nRUN b\n",
            "COPY a \\\nRUN b\n",
            "LABEL a=b \\\n c=d\n",
            "FROM x\n",
            "  RUN a\n",
            "run a\n",
            "RUN a\r\n",
            "ENTRYPOINT echo \"a\"\n",
            "HEALTHCHECK CMD [\"a\", \"\"]\n",
        ];
        for body in bodies {
            for text in [
                format!("FROM debian:12-slim\n{body}{tail}"),
                format!("FROM debian:12-slim\n{tail}{body}"),
                format!("FROM debian:12-slim\n{body}RUN z \\\n && w\n{tail}"),
                format!("FROM debian:12-slim\nUSER 1\n{body}CMD [\"x\"]"),
            ] {
                assert_eq!(check_dockerfile(&text), check_whole(&text), "{text:?}");
            }
        }
        // Found by the random edits below when kept lines were not checked: a CMD
        // string that runs over the line into what looks like a RUN.
        let text = "FROM a\nUSER 1\nCMD [\"x\", \"0.0\nRUN .0\"]\n";
        assert_eq!(check_whole(text), Ok(()));
        assert_eq!(check_dockerfile(text), Ok(()));
    }

    /// Random edits of a generated file, with the characters the grammar cares
    /// about: the shortcut must never answer differently from the whole parse.
    #[test]
    fn random_edits_get_the_answer_of_the_whole_parse() {
        let pieces = [
            "\"", "'", "\\", "\\\n", "\n", "\n\n", " ", "\t", "#", "[", "]", ",", "=", "RUN ", "USER root\n", "ADD a b\n",
            "\nRUN ", "\nCMD [\"y\"]", "\r", "x",
        ];
        let base = without_comment_lines(GENERATED);
        let mut seed: u64 = 7;
        let mut next = |n: usize| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as usize) % n
        };
        let mut shortcut_taken = 0;
        for _ in 0..1500 {
            let mut text = base.clone();
            for _ in 0..1 + next(3) {
                let mut at = next(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                if next(4) == 0 {
                    let end = (at + 1 + next(4)).min(text.len());
                    if text.is_char_boundary(end) {
                        text.replace_range(at..end, "");
                    }
                } else {
                    text.insert_str(at, pieces[next(pieces.len())]);
                }
            }
            if reduced(&text).and_then(|r| parse_reduced(&r)).is_some() {
                shortcut_taken += 1;
            }
            assert_eq!(check_dockerfile(&text), check_whole(&text), "{text:?}");
        }
        // The edits must exercise the shortcut, not only the fallback.
        assert!(shortcut_taken > 300, "shortcut taken {shortcut_taken} times");
    }

    #[test]
    fn broken_files_fail() {
        let cases = [
            ("FROM debian:12-slim\n\"unterminated\nUSER 1\nCMD [\"x\"]\n", "does not parse"),
            ("USER 1\nFROM debian:12-slim\nCMD [\"x\"]\n", "first instruction"),
            ("FROM debian:12-slim\nUSER 1\nCMD x\n", "exec form"),
            ("FROM debian:12-slim\nCMD [\"x\"]\nUSER 1\n", "not the last"),
            ("FROM debian:12-slim\nUSER root\nCMD [\"x\"]\n", "root"),
            ("FROM debian:12-slim\nCMD [\"x\"]\n", "no USER"),
            ("FROM a:1\nFROM b:1\nUSER 1\nCMD [\"x\"]\n", "2 FROM"),
            // A comment hides no instruction from the checks.
            ("FROM debian:12-slim\nUSER 1\n# c\nADD x /x\nCMD [\"x\"]\n", "unexpected ADD"),
            // A continuation that only comment lines follow is refused (nothing continues it).
            ("FROM debian:12-slim\nUSER 1\nRUN true \\\n# c\n", "does not parse"),
            // A command ending in a backslash continues the RUN onto the blank line after it.
            ("FROM debian:12-slim\nRUN echo \\\n\nUSER 1\nCMD [\"x\"]\n", "does not parse"),
        ];
        for (text, expected) in cases {
            let err = check_dockerfile(text).unwrap_err();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }
}
