//! `migrate plan` and `migrate apply` through the binary on temporary directories: the
//! exit-code matrix, saved plans (fresh and stale), conflicts, hand-added files, formats.
//!
//! Until the converter is wired into `commands::desired_state`, the desired state of any
//! repository is empty; these tests drive the binary with output directories whose
//! manifest lists files (which the plan then removes), and the library tests cover
//! creation and update with hand-built desired states.

use std::fs;
use std::path::Path;
use std::process::Output;

use sha2::{Digest, Sha256};

use crate::support::run_migrate;

/// A temp dir with `repo/` and `out/`; `out/` holds `generated` as files migrate wrote
/// (listed in the manifest).
fn setup(generated: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir_all(tmp.path().join("repo")).unwrap();
    let out = tmp.path().join("out");
    fs::create_dir_all(&out).unwrap();
    let mut files = serde_json::Map::new();
    for (path, content) in generated {
        let target = out.join(path);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(&target, content).unwrap();
        files.insert(path.to_string(), hex::encode(Sha256::digest(content.as_bytes())).into());
    }
    if !generated.is_empty() {
        let manifest = serde_json::json!({ "format_version": 1, "files": files });
        fs::write(out.join(".migrate-manifest.json"), serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    }
    tmp
}

fn migrate(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let Output { status, stdout, stderr } = run_migrate(dir, args);
    (status.code().unwrap_or(-1), String::from_utf8(stdout).unwrap(), String::from_utf8(stderr).unwrap())
}

const STALE: &[(&str, &str)] = &[("old/Dockerfile", "FROM gone\nRUN true\n")];

#[test]
fn exit_code_matrix() {
    let clean = setup(&[]);
    let drift = setup(STALE);
    let cases: &[(&str, &Path, &[&str], i32)] = &[
        ("no changes", clean.path(), &["plan", "repo"], 0),
        ("no changes, detailed", clean.path(), &["plan", "repo", "--detailed-exitcode"], 0),
        ("changes", drift.path(), &["plan", "repo"], 0),
        ("changes, detailed", drift.path(), &["plan", "repo", "--detailed-exitcode"], 2),
        ("changes, detailed, json", drift.path(), &["plan", "repo", "--detailed-exitcode", "--format", "json"], 2),
        ("changes, detailed, md", drift.path(), &["plan", "repo", "--detailed-exitcode", "--format", "markdown"], 2),
        ("error", clean.path(), &["plan", "no-such-repo"], 1),
        ("error, detailed", drift.path(), &["plan", "no-such-repo", "--detailed-exitcode"], 1),
        ("apply error", clean.path(), &["apply", "no-such-repo"], 1),
    ];
    for (name, dir, args, want) in cases {
        let (code, _, stderr) = migrate(dir, args);
        assert_eq!(code, *want, "case `{name}`: {stderr}");
    }
    let (_, _, stderr) = migrate(clean.path(), &["plan", "no-such-repo"]);
    assert_eq!(stderr, "error: cannot read repository `no-such-repo`: not a directory\n");
}

#[test]
fn a_broken_manifest_is_an_error_naming_the_file() {
    let tmp = setup(STALE);
    fs::write(tmp.path().join("out/.migrate-manifest.json"), "{\n  \"files\": 3\n}\n").unwrap();
    let (code, stdout, stderr) = migrate(tmp.path(), &["plan", "repo", "--detailed-exitcode"]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert!(stderr.starts_with("error: out/.migrate-manifest.json:2: not a migrate manifest"), "{stderr}");
}

#[test]
fn plan_apply_plan_round_trip() {
    let tmp = setup(STALE);
    fs::write(tmp.path().join("out/old/NOTES.md"), "kept by hand\n").unwrap();
    fs::write(tmp.path().join("out/README.md"), "also mine\n").unwrap();

    let (code, stdout, _) = migrate(tmp.path(), &["plan", "repo", "--detailed-exitcode"]);
    assert_eq!(code, 2);
    insta::assert_snapshot!("plan_before_apply_text", stdout);
    let (_, markdown, _) = migrate(tmp.path(), &["plan", "repo", "--format", "markdown"]);
    insta::assert_snapshot!("plan_before_apply_markdown", markdown);
    let (_, json, _) = migrate(tmp.path(), &["plan", "repo", "--format", "json"]);
    insta::assert_snapshot!("plan_before_apply_json", json);

    let (code, stdout, stderr) = migrate(tmp.path(), &["apply", "repo"]);
    assert_eq!(code, 0, "{stderr}");
    let tail =
        "Plan: 0 to add, 0 to change, 1 to destroy.\n\nApply complete! Resources: 0 added, 0 changed, 1 destroyed.\n";
    assert!(stdout.ends_with(tail), "{stdout}");
    assert!(!tmp.path().join("out/old/Dockerfile").exists());
    assert_eq!(fs::read_to_string(tmp.path().join("out/old/NOTES.md")).unwrap(), "kept by hand\n");
    assert_eq!(fs::read_to_string(tmp.path().join("out/README.md")).unwrap(), "also mine\n");
    assert!(!tmp.path().join("out/.migrate-manifest.json").exists(), "nothing generated: no manifest");

    let (code, stdout, _) = migrate(tmp.path(), &["plan", "repo", "--detailed-exitcode"]);
    // The empty repository's findings (no playbook, no inventory, default base image) come first.
    assert_eq!(code, 0, "{stdout}");
    // Nothing is desired and the manifest is gone: nothing to generate, not "already match".
    let nothing = "\n\nNo changes. Nothing to generate: no task became part of an image; the findings say what each \
                   became.\n";
    assert!(stdout.ends_with(nothing), "{stdout}");
    let (_, markdown, _) = migrate(tmp.path(), &["plan", "repo", "--format", "markdown"]);
    insta::assert_snapshot!("plan_after_apply_markdown", markdown);
    let (_, json, _) = migrate(tmp.path(), &["plan", "repo", "--format", "json"]);
    insta::assert_snapshot!("plan_after_apply_json", json);
}

#[test]
fn an_edited_generated_file_is_a_conflict_that_only_force_resolves() {
    let tmp = setup(STALE);
    fs::write(tmp.path().join("out/old/Dockerfile"), "FROM gone\nRUN true # my fix\n").unwrap();
    let (code, stdout, _) = migrate(tmp.path(), &["plan", "repo", "--detailed-exitcode"]);
    assert_eq!(code, 2);
    let header = "  # file \"out/old/Dockerfile\" was edited by hand and will not be destroyed\n";
    assert!(stdout.contains(header), "{stdout}");
    assert!(stdout.contains("\n1 conflict: migrate leaves it untouched"), "{stdout}");

    let (code, _, stderr) = migrate(tmp.path(), &["apply", "repo"]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "error: refusing to apply: 1 file was changed by hand (out/old/Dockerfile); move or remove it, \
         or run `migrate apply --force`\n"
    );
    assert!(tmp.path().join("out/old/Dockerfile").exists());

    let (code, _, stderr) = migrate(tmp.path(), &["apply", "repo", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!tmp.path().join("out/old").exists(), "the emptied directory is removed too");
    assert!(tmp.path().join("out").is_dir(), "never the output directory itself");
}

#[test]
fn a_saved_plan_applies_when_fresh_and_is_refused_when_stale() {
    let tmp = setup(STALE);
    let (code, _, stderr) = migrate(tmp.path(), &["plan", "repo", "-o", "plan.json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr,
        "Saved the plan to: plan.json\nTo perform exactly these actions, run: migrate apply --plan plan.json\n"
    );

    // Stale: the generated file changed after the plan was saved.
    fs::write(tmp.path().join("out/old/Dockerfile"), "FROM gone\nRUN false\n").unwrap();
    let (code, stdout, stderr) = migrate(tmp.path(), &["apply", "--plan", "plan.json"]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert_eq!(
        stderr,
        "error: saved plan is stale: `out/old/Dockerfile` changed in the output directory; \
         run `migrate plan -o FILE` again and review the new plan\n"
    );
    assert!(tmp.path().join("out/old/Dockerfile").exists());

    // Fresh: applied exactly, from another working directory (the plan records its paths).
    fs::write(tmp.path().join("out/old/Dockerfile"), STALE[0].1).unwrap();
    migrate(tmp.path(), &["plan", "repo", "-o", "plan.json"]);
    let elsewhere = tempfile::tempdir().unwrap();
    let plan_file = tmp.path().join("plan.json");
    let (code, stdout, stderr) = migrate(elsewhere.path(), &["apply", "--plan", plan_file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Apply complete! Resources: 0 added, 0 changed, 1 destroyed."), "{stdout}");
    assert!(!tmp.path().join("out/old/Dockerfile").exists());

    // A saved plan for another repository is refused.
    let (code, _, stderr) = migrate(tmp.path(), &["apply", "elsewhere-repo", "--plan", "plan.json"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("was made for repository"), "{stderr}");
}

#[test]
fn plan_never_writes() {
    let tmp = setup(STALE);
    let before = listing(tmp.path());
    for format in ["text", "json", "markdown"] {
        migrate(tmp.path(), &["plan", "repo", "--format", format, "--detailed-exitcode"]);
    }
    assert_eq!(listing(tmp.path()), before);
}

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| {
            let content = if e.file_type().is_file() { fs::read(e.path()).unwrap() } else { Vec::new() };
            (e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned(), content)
        })
        .collect();
    out.sort();
    out
}
