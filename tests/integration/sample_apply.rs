//! `plan` and `apply` end to end on the bundled sample (a copy of it, so it can be edited):
//! the drift check a CI job runs, and `apply --ssm` writing the services' parameters to a
//! real moto_server, with a saved plan refused once Parameter Store changed behind it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::moto::{Moto, migrate_cmd};
use crate::support::repo_root;

const VAULT: &str = "vault-password.sample.txt";
/// The sample's vault password file, from the temp dir the commands run in.
const VAULT_FILE: &str = "webshop/vault-password.sample.txt";

/// A copy of samples/webshop in a temp dir (`<tmp>/webshop`), and the path of `<tmp>/out`.
fn sample_copy() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("webshop");
    copy_tree(&repo_root().join("samples/webshop"), &repo);
    let out = tmp.path().join("out");
    (tmp, repo, out)
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else if kind.is_file() {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn run(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let Output { status, stdout, stderr } = migrate_cmd(cwd).args(args).output().unwrap();
    (status.code().unwrap_or(-1), String::from_utf8(stdout).unwrap(), String::from_utf8(stderr).unwrap())
}

fn common<'a>(repo: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![repo, "--env", "staging", "--out", out, "--vault-password-file", VAULT_FILE]
}

/// The lines of a text plan that show a change inside a file body (`+ x`, `- x`), without
/// the resource headers.
fn changed_body_lines(plan: &str) -> Vec<String> {
    plan.lines()
        .map(str::trim_start)
        .filter(|l| (l.starts_with("+ ") || l.starts_with("- ")) && !l.contains(" file \""))
        .map(str::to_string)
        .collect()
}

#[test]
fn after_apply_the_plan_is_empty_and_touching_a_playbook_shows_only_that_change() {
    let (tmp, repo, _) = sample_copy();
    assert!(repo.join(VAULT).is_file());
    let dir = tmp.path();

    let mut apply = vec!["apply"];
    apply.extend(common("webshop", "out"));
    let (code, stdout, stderr) = run(dir, &apply);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("Apply complete! Resources: "), "{stdout}");

    let mut plan = vec!["plan", "--detailed-exitcode"];
    plan.extend(common("webshop", "out"));
    let (code, stdout, stderr) = run(dir, &plan);
    assert_eq!(code, 0, "after apply nothing is left to do:\n{stdout}\n{stderr}");
    assert!(stdout.contains("No changes."), "{stdout}");

    // One more package for the batch role: only the batch Dockerfile changes, by one line.
    let tasks = repo.join("roles/batch/tasks/main.yml");
    let before = fs::read_to_string(&tasks).unwrap();
    let after = before.replacen("name: [python3, curl, cron]", "name: [python3, curl, cron, jq]", 1);
    assert_ne!(before, after, "the sample's batch role changed: update this test");
    fs::write(&tasks, after).unwrap();

    let (code, stdout, stderr) = run(dir, &plan);
    assert_eq!(code, 2, "a changed playbook is drift:\n{stdout}\n{stderr}");
    assert!(stdout.contains("# file \"out/batch/Dockerfile\" will be updated in-place"), "{stdout}");
    assert!(stdout.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{stdout}");
    assert_eq!(changed_body_lines(&stdout), ["+       jq \\"], "{stdout}");

    // Markdown and JSON agree on the count.
    let mut md = plan.clone();
    md.extend(["--format", "markdown"]);
    let (code, stdout, _) = run(dir, &md);
    assert_eq!(code, 2);
    assert!(stdout.contains("out/batch/Dockerfile"), "{stdout}");
    let mut json = plan.clone();
    json.extend(["--format", "json"]);
    let (code, stdout, _) = run(dir, &json);
    assert_eq!(code, 2);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let changed: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["actions"] != serde_json::json!(["no-op"]))
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["file \"out/batch/Dockerfile\""], "{stdout}");
}

#[test]
fn apply_with_ssm_writes_the_parameters_and_a_stale_saved_plan_is_refused() {
    let moto = Moto::start();
    let url = moto.url();
    let (tmp, _repo, _) = sample_copy();
    let dir = tmp.path();
    let ssm = ["--ssm", "--endpoint-url", url.as_str(), "--writes-per-second", "0"];
    let plan_ssm = ["--ssm", "--endpoint-url", url.as_str()];

    let mut apply = vec!["apply"];
    apply.extend(common("webshop", "out"));
    apply.extend(ssm);
    let (code, stdout, stderr) = run(dir, &apply);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let names = moto.names_under("/webshop/staging");
    assert!(names.len() >= 3, "the sample's services read parameters: {names:?}");
    for n in &names {
        assert!(moto.tags(n).iter().any(|t| t == "migrate:version=1"), "{n}: {:?}", moto.tags(n));
    }
    let created = names.len();
    assert!(stdout.contains(&format!("ssm_parameter \"{}\" will be created", names[0])), "{stdout}");

    let mut plan = vec!["plan", "--detailed-exitcode"];
    plan.extend(common("webshop", "out"));
    plan.extend(plan_ssm);
    let (code, stdout, stderr) = run(dir, &plan);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("No changes."), "{stdout}");

    // A value migrate wrote is changed by hand: the plan puts it back.
    let target = "/webshop/staging/batch/API_URL".to_string();
    assert_eq!(moto.get(&target).unwrap().2, "String");
    moto.put_external(&target, "changed-by-hand", true);
    let mut save = plan.clone();
    save.extend(["-o", "plan.json"]);
    let (code, stdout, _) = run(dir, &save);
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.contains(&format!("ssm_parameter \"{target}\" will be updated in-place")), "{stdout}");
    // The plan names the line to change: staging's group_vars, not the template that reads it.
    assert!(stdout.contains("# (set in inventories/staging/group_vars/batch.yml:4)"), "{stdout}");
    assert!(!fs::read_to_string(dir.join("plan.json")).unwrap().contains("changed-by-hand"));

    // Someone changes it again after the plan was saved: the saved plan is stale.
    moto.put_external(&target, "changed-again", true);
    let (code, stdout, stderr) =
        run(dir, &["apply", "--plan", "plan.json", "--endpoint-url", &url, "--vault-password-file", VAULT_FILE]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains(&format!("`{target}` changed in Parameter Store")), "{stderr}");
    assert_eq!(moto.get(&target).unwrap().0, "changed-again", "a refused plan writes nothing");
    assert!(!stderr.contains("changed-again") && !stdout.contains("changed-again"));

    // A fresh saved plan applies, updating exactly that value.
    let (code, _, _) = run(dir, &save);
    assert_eq!(code, 2);
    let (code, stdout, stderr) = run(
        dir,
        &[
            "apply",
            "--plan",
            "plan.json",
            "--endpoint-url",
            &url,
            "--vault-password-file",
            VAULT_FILE,
            "--writes-per-second",
            "0",
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("Apply complete! Resources: 0 added, 1 changed, 0 destroyed."), "{stdout}");
    assert_ne!(moto.get(&target).unwrap().0, "changed-again");
    assert_eq!(moto.history(&target).len(), 4, "v1 by apply, v2 and v3 by hand, v4 by apply");
    assert_eq!(moto.names_under("/webshop/staging").len(), created, "nothing created twice");
    let (code, stdout, _) = run(dir, &plan);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn sample_plans_in_every_format_before_and_after_apply() {
    let (tmp, _repo, _) = sample_copy();
    let dir = tmp.path();
    let formats = ["text", "markdown", "json"];
    let plan_in = |format: &str| {
        let mut args = vec!["plan", "--detailed-exitcode", "--format", format];
        args.extend(common("webshop", "out"));
        run(dir, &args)
    };
    for format in formats {
        let (code, stdout, stderr) = plan_in(format);
        assert_eq!(code, 2, "{stderr}");
        insta::assert_snapshot!(format!("webshop_plan_before_apply_{format}"), stdout);
    }
    let mut apply = vec!["apply"];
    apply.extend(common("webshop", "out"));
    let (code, _, stderr) = run(dir, &apply);
    assert_eq!(code, 0, "{stderr}");
    for format in formats {
        let (code, stdout, stderr) = plan_in(format);
        assert_eq!(code, 0, "{stderr}");
        insta::assert_snapshot!(format!("webshop_plan_after_apply_{format}"), stdout);
    }
}

#[test]
fn apply_with_ssm_honours_kms_key_tier_and_tags_and_refuses_a_bad_key_before_writing() {
    let moto = Moto::start();
    let url = moto.url();
    let (tmp, _repo, out) = sample_copy();
    let dir = tmp.path();

    let mut bad = vec!["apply"];
    bad.extend(common("webshop", "out"));
    bad.extend(["--ssm", "--endpoint-url", &url, "--kms-key-id", "not a key"]);
    let (code, stdout, stderr) = run(dir, &bad);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("KMS key id `not a key` is not valid"), "{stderr}");
    assert!(!out.exists(), "a refused apply writes no file");
    assert!(moto.names_under("/webshop/staging").is_empty(), "a refused apply writes no parameter");

    let mut apply = vec!["apply"];
    apply.extend(common("webshop", "out"));
    apply.extend(["--ssm", "--endpoint-url", &url, "--writes-per-second", "0"]);
    apply.extend(["--kms-key-id", "alias/webshop", "--tier", "Advanced", "--tag", "team=shop"]);
    let (code, stdout, stderr) = run(dir, &apply);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let names = moto.names_under("/webshop/staging");
    assert!(names.len() >= 3, "{names:?}");
    for n in &names {
        let tags = moto.tags(n);
        assert!(tags.iter().any(|t| t == "team=shop"), "{n}: {tags:?}");
        assert!(tags.iter().any(|t| t == "migrate:version=1"), "{n}: {tags:?}");
    }
    let filter = serde_json::json!([{ "Key": "Path", "Option": "Recursive", "Values": ["/webshop/staging"] }]);
    let mut described = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut body = serde_json::json!({ "ParameterFilters": filter, "MaxResults": 10 });
        if let Some(token) = &next {
            body["NextToken"] = serde_json::json!(token);
        }
        let page = moto.ok("DescribeParameters", body);
        described.extend(page["Parameters"].as_array().unwrap().iter().cloned());
        match page.get("NextToken").and_then(|t| t.as_str()) {
            Some(token) if !token.is_empty() => next = Some(token.to_string()),
            _ => break,
        }
    }
    assert_eq!(described.len(), names.len(), "{described:?}");
    let mut secure = 0;
    for p in &described {
        assert_eq!(p["Tier"], "Advanced", "{p}");
        if p["Type"] == "SecureString" {
            secure += 1;
            assert_eq!(p["KeyId"], "alias/webshop", "{p}");
        } else {
            assert!(p.get("KeyId").is_none(), "a String value has no key: {p}");
        }
    }
    assert!(secure > 0, "the sample's vault values are SecureString: {described:?}");
}
