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
//! Shell-form RUN instructions, most of what is left, are checked without pest
//! when that is provably the same, and the other lines are parsed one by one,
//! each distinct line once per thread ([`checked_lines`]); every file that
//! shortcut is unsure of goes to the parser whole, as before.

use dockerfile_parser::{Dockerfile, Instruction};

/// Parses `text` and checks: one stage; FROM first; exactly one CMD, in exec
/// form, last; a non-root USER; no ADD; every ENTRYPOINT in exec form.
pub fn check_dockerfile(text: &str) -> Result<(), String> {
    let text = without_comment_lines(text);
    match checked_lines(&text) {
        Some(instructions) => check_instructions(&instructions),
        None => {
            let parsed = Dockerfile::parse(&text).map_err(|e| format!("does not parse: {e}"))?;
            check_instructions(&parsed.instructions)
        }
    }
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

/// The longest RUN instruction, in lines, that [`checked_lines`] takes on: the parser
/// recurses once per continuation line and refuses a file when its stack runs
/// low; far below that depth, a RUN it reads whole is certain to fit too.
const MAX_SHORTCUT_RUN_LINES: usize = 200;

/// The instructions of `text` (comment lines already removed), line by line:
/// each shell-form RUN checked without the parser and standing as a `RUN x`,
/// each other logical line parsed on its own (remembered by its text on this
/// thread), or `None` when the text is not in the shape where that is provably
/// what the parse of the whole text gives.
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
///   nothing after that newline was looked at. The same holds for `RUN x`.
/// - Any other line parses in the file as it parses alone as long as its parse
///   cannot look past its own final newline. Only four things consume a
///   newline: a continuation (the line has none at its end), a comment (no `#`
///   in these lines), an empty line after a continuation (no blank physical line
///   in these lines), and a quoted string. A string starts only after `[`, `,`,
///   `=` or a blank, and ends at the next quote of its kind (no `\` in a line
///   with quotes); so on one physical line whose last quote of each kind
///   follows none of those, no string can run past the line (multi-line lines
///   must have no quotes). Alone, the line must parse as exactly one
///   instruction starting at its first character: had that instruction ended
///   before the final newline, the next physical line (never blank, no `#`)
///   would start another instruction or fail the parse.
/// - By induction from the first line, the whole text parses as these
///   instructions, one per logical line that is not blank, with each RUN's shell
///   text replaced, which no invariant looks at. (`FROM` indices count from 0 on
///   each line; no invariant looks at them either.)
fn checked_lines(text: &str) -> Option<Vec<Instruction>> {
    if text.contains('\r') || !text.ends_with('\n') {
        return None;
    }
    let mut out = Vec::new();
    let mut lines = text.split_inclusive('\n');
    let mut start = 0;
    while let Some(first) = lines.next() {
        let mut end = start + first.len();
        let mut last = first;
        let mut count = 1;
        while continued(&last[..last.len() - 1]) {
            last = lines.next()?;
            end += last.len();
            count += 1;
        }
        let logical = &text[start..end];
        start = end;
        if count == 1 && is_blank(&first[..first.len() - 1]) {
            continue;
        }
        if first.starts_with([' ', '\t']) {
            return None;
        }
        if is_shell_run(logical) {
            out.push(RUN_PLACEHOLDER.with(Clone::clone));
        } else if is_kept_line_safe(logical) {
            out.push(parsed_line(logical)?);
        } else {
            return None;
        }
    }
    Some(out)
}

/// How many parsed lines a thread remembers before it starts over (a few
/// thousand distinct lines per thousand services).
const MAX_REMEMBERED_LINES: usize = 8192;

thread_local! {
    /// What `RUN x` parses to: a shell-form RUN checked without the parser stands for it.
    static RUN_PLACEHOLDER: Instruction = {
        let parsed = Dockerfile::parse("RUN x\n").map(|d| d.instructions);
        match parsed.as_deref() {
            Ok([run @ Instruction::Run(_)]) => run.clone(),
            _ => unreachable!("`RUN x` is one RUN instruction"),
        }
    };
    /// Logical lines that parsed as exactly one instruction, by their text. Only
    /// successes are remembered: a line that fails is parsed again every time,
    /// and then the whole file is.
    static PARSED_LINES: std::cell::RefCell<std::collections::HashMap<String, Instruction>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The one instruction the logical line `line` (with its final newline) parses
/// to on its own, or `None`.
fn parsed_line(line: &str) -> Option<Instruction> {
    if let Some(found) = PARSED_LINES.with(|lines| lines.borrow().get(line).cloned()) {
        return Some(found);
    }
    let parsed = Dockerfile::parse(line).ok()?;
    let [instruction] = parsed.instructions.as_slice() else { return None };
    if instruction.span().start != 0 {
        return None;
    }
    PARSED_LINES.with(|lines| {
        let mut lines = lines.borrow_mut();
        if lines.len() >= MAX_REMEMBERED_LINES {
            lines.clear();
        }
        lines.insert(line.to_string(), instruction.clone());
    });
    Some(instruction.clone())
}

/// The line ends in a line continuation (`\` and blanks; the newline follows).
fn continued(line: &str) -> bool {
    line.trim_end_matches([' ', '\t']).ends_with('\\')
}

fn is_blank(line: &str) -> bool {
    line.bytes().all(|b| b == b' ' || b == b'\t')
}

/// A shell-form RUN the parser reads as exactly one `Run` (see [`checked_lines`]);
/// any other RUN is kept like the other instructions.
fn is_shell_run(logical: &str) -> bool {
    let logical: Vec<&str> = logical.lines().collect();
    let Some(body) = logical[0].strip_prefix("RUN ") else { return false };
    if matches!(body.bytes().next(), Some(b' ' | b'\t' | b'\\' | b'[' | b'#') | None) {
        return false;
    }
    if logical.len() > MAX_SHORTCUT_RUN_LINES {
        return false;
    }
    // Every next line needs a character before its own continuation (or, the
    // last, one character at all).
    logical[1..].iter().all(|line| {
        let content =
            if continued(line) { line.trim_end_matches([' ', '\t']).strip_suffix('\\').unwrap_or(line) } else { line };
        !content.is_empty()
    })
}

/// A logical line whose parse cannot look past its final newline.
fn is_kept_line_safe(logical: &str) -> bool {
    let logical: Vec<&str> = logical.lines().collect();
    if logical.iter().any(|line| line.contains('#') || is_blank(line)) {
        return false;
    }
    let quoted = |line: &&str| line.contains(['"', '\'']);
    match logical.as_slice() {
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
        let lines = checked_lines(&text).expect("a generated file is in the shape the shortcut takes");
        let whole = Dockerfile::parse(&text).unwrap();
        let kinds = |i: &[Instruction]| i.iter().map(std::mem::discriminant).collect::<Vec<_>>();
        assert_eq!(kinds(&lines), kinds(&whole.instructions));
        // The RUNs were not parsed: they stand as `RUN x`.
        let runs: Vec<_> = lines.iter().filter_map(Instruction::as_run).collect();
        assert_eq!(runs.len(), 2);
        assert!(runs.iter().all(|r| r.as_shell().is_some_and(|s| s.to_string() == "x")), "{runs:?}");
        // Asked again (now from what this thread remembers), the same instructions.
        assert_eq!(checked_lines(&text), Some(lines));
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
            "\"",
            "'",
            "\\",
            "\\\n",
            "\n",
            "\n\n",
            " ",
            "\t",
            "#",
            "[",
            "]",
            ",",
            "=",
            "RUN ",
            "USER root\n",
            "ADD a b\n",
            "\nRUN ",
            "\nCMD [\"y\"]",
            "\r",
            "x",
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
            if checked_lines(&text).is_some() {
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
        // Twice: the second time the lines that parsed are remembered, and the
        // files must fail all the same.
        for _ in 0..2 {
            for (text, expected) in cases {
                let err = check_dockerfile(text).unwrap_err();
                assert!(err.contains(expected), "{text:?}: {err}");
                assert_eq!(check_dockerfile(GOOD), Ok(()));
            }
        }
    }
}
