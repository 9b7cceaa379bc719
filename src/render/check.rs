//! The self-check: every rendered Dockerfile is parsed again with the
//! `dockerfile-parser` crate, and the few invariants the renderer promises
//! are verified on the parse, not on the text. A failure is a bug in a
//! template, reported as an error instead of a broken file on disk.
//!
//! Comment lines (first non-blank character `#`) are left out of what is
//! parsed: Docker removes them before it parses, wherever they are (also
//! inside a continued RUN), so they carry no instruction to check, and the
//! parser (pest, character by character) spent about 40% of its time on them.

use dockerfile_parser::{Dockerfile, Instruction};

/// Parses `text` and checks: one stage; FROM first; exactly one CMD, in exec
/// form, last; a non-root USER; no ADD; every ENTRYPOINT in exec form.
pub fn check_dockerfile(text: &str) -> Result<(), String> {
    let instructions = without_comment_lines(text);
    let parsed = Dockerfile::parse(&instructions).map_err(|e| format!("does not parse: {e}"))?;
    let instructions = &parsed.instructions;
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
