//! The whole converter on `samples/webshop`: `plan` and `apply` per environment,
//! the Dockerfiles it writes (real hadolint, determinism, idempotent re-plan),
//! and no vault plaintext in any output or written file.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use migrate::source::vault::VaultPasswords;

use super::support;

/// The services the sample must produce an image for.
const SERVICES: &[&str] = &["batch", "nginx", "webshop-api", "webshop-worker"];

fn sample() -> PathBuf {
    support::repo_root().join("samples/webshop")
}

fn password_file() -> PathBuf {
    sample().join("vault-password.sample.txt")
}

fn migrate(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = support::run_migrate(cwd, args);
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn plan_args<'a>(env: &'a str, pw: &'a str, with_password: bool) -> Vec<&'a str> {
    let mut args = vec!["plan", "webshop", "--env", env, "--out", "out"];
    if with_password {
        args.extend(["--vault-password-file", pw]);
    }
    args
}

/// A temp dir where `webshop` is a symlink to the sample, so outputs name `out/`
/// relatively and the sample stays untouched.
fn workdir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(sample(), tmp.path().join("webshop")).unwrap();
    tmp
}

/// Every file under `dir`, by relative path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
            out.insert(rel, fs::read(e.path()).unwrap());
        }
    }
    out
}

/// The sample's vault plaintexts (whole files and inline values), decrypted with the library,
/// as the strings that must never appear: each value and each long line of it.
fn vault_plaintexts() -> Vec<String> {
    let mut pw = VaultPasswords::new();
    pw.add_password_file(&password_file()).unwrap();
    let mut values: Vec<String> = Vec::new();
    fn leaves(node: &migrate::source::yaml::Node, out: &mut Vec<String>) {
        if let Some(map) = node.as_map() {
            for (_, v) in map {
                leaves(v, out);
            }
        } else if let Some(seq) = node.as_seq() {
            for v in seq {
                leaves(v, out);
            }
        } else if let Some(t) = node.scalar_text() {
            out.push(t.into_owned());
        }
    }
    for e in walkdir::WalkDir::new(sample().join("inventories")).sort_by_file_name() {
        let e = e.unwrap();
        if !e.file_type().is_file() {
            continue;
        }
        let rel = e.path().strip_prefix(sample()).unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(e.path()).unwrap();
        if migrate::source::vault::is_vault_file(&text) {
            let docs = pw.decrypt_yaml_file(&rel, &text).unwrap();
            for d in &docs.docs {
                leaves(d, &mut values);
            }
        } else if text.contains("!vault") {
            let docs = migrate::source::yaml::parse(&text).unwrap();
            for d in &docs.docs {
                for (_, v) in d.as_map().unwrap_or(&[]) {
                    if v.tag == migrate::source::yaml::NodeTag::Vault {
                        values.push(pw.decrypt_node(&rel, v).unwrap().expose().clone());
                    }
                }
            }
        }
    }
    let mut needles: Vec<String> = Vec::new();
    for v in values {
        for line in v.lines().map(str::trim).filter(|l| l.len() >= 16) {
            needles.push(line.to_string());
        }
        if v.trim().len() >= 6 {
            needles.push(v.trim().to_string());
        }
    }
    needles.sort();
    needles.dedup();
    assert!(needles.len() >= 8, "the sample's vaults hold fewer values than expected: {}", needles.len());
    needles
}

fn assert_no_secret(what: &str, text: &[u8], needles: &[String]) {
    let text = String::from_utf8_lossy(text);
    for n in needles {
        assert!(!text.contains(n.as_str()), "a vault plaintext appears in {what}");
    }
}

fn hadolint(path: &Path) -> Result<(), String> {
    let out = Command::new(support::tool("hadolint"))
        .arg("--config")
        .arg(support::repo_root().join(".hadolint.yaml"))
        .arg("--no-color")
        .arg(path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.success() && stdout.trim().is_empty() && out.stderr.is_empty() {
        Ok(())
    } else {
        Err(format!("{}:\n{stdout}{}", path.display(), String::from_utf8_lossy(&out.stderr)))
    }
}

#[test]
fn the_sample_converts_per_environment_without_leaking_a_secret() {
    let needles = vault_plaintexts();
    let pw = password_file();
    let pw = pw.to_str().unwrap();
    for (env, with_password) in [("staging", false), ("staging", true), ("production", true)] {
        let tmp = workdir();
        let label = format!("{env}, password: {with_password}");
        let (code, stdout, stderr) = migrate(tmp.path(), &plan_args(env, pw, with_password));
        assert_eq!(code, 0, "plan ({label}) failed:\n{stdout}\n{stderr}");
        for s in SERVICES {
            assert!(
                stdout.contains(&format!("file \"out/{s}/Dockerfile\" will be created")),
                "{label}: no {s}:\n{stdout}"
            );
        }
        assert_no_secret(&format!("plan output ({label})"), format!("{stdout}{stderr}").as_bytes(), &needles);

        let mut apply = plan_args(env, pw, with_password);
        apply[0] = "apply";
        let (code, stdout, stderr) = migrate(tmp.path(), &apply);
        assert_eq!(code, 0, "apply ({label}) failed:\n{stdout}\n{stderr}");
        assert_no_secret(&format!("apply output ({label})"), format!("{stdout}{stderr}").as_bytes(), &needles);
        let written = files(&tmp.path().join("out"));
        for s in SERVICES {
            assert!(written.contains_key(&format!("{s}/Dockerfile")), "{label}: {s}/Dockerfile not written");
        }
        for (path, bytes) in &written {
            assert_no_secret(&format!("{path} ({label})"), bytes, &needles);
        }
        let failures: Vec<String> = written
            .keys()
            .filter(|p| p.ends_with("/Dockerfile"))
            .filter_map(|p| hadolint(&tmp.path().join("out").join(p)).err())
            .collect();
        assert!(failures.is_empty(), "hadolint ({label}):\n{}", failures.join("\n"));

        let mut again = plan_args(env, pw, with_password);
        again.push("--detailed-exitcode");
        let (code, stdout, stderr) = migrate(tmp.path(), &again);
        assert_eq!(code, 0, "re-plan ({label}) is not clean:\n{stdout}\n{stderr}");
        assert!(stdout.ends_with("No changes. Generated files already match the playbooks.\n"), "{stdout}");

        // A second run from scratch writes the same bytes.
        let other = workdir();
        let (code, _, stderr) = migrate(other.path(), &apply);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(files(&other.path().join("out")), written, "{label}: two runs differ");
    }
}

#[test]
fn a_wrong_vault_password_names_the_file() {
    let tmp = workdir();
    let bad = tmp.path().join("bad-password.txt");
    fs::write(&bad, "not the password\n").unwrap();
    let (code, stdout, stderr) = migrate(
        tmp.path(),
        &["plan", "webshop", "--env", "staging", "--out", "out", "--vault-password-file", bad.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(stderr.contains("inventories/staging/group_vars/"), "{stderr}");
}

#[test]
fn an_unknown_environment_lists_the_known_ones() {
    let tmp = workdir();
    let (code, _, stderr) = migrate(tmp.path(), &["plan", "webshop", "--env", "qa", "--out", "out"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("unknown environment `qa`; known environments: production, staging"), "{stderr}");
}

#[test]
fn staging_plan_snapshot() {
    let tmp = workdir();
    let (code, stdout, stderr) = migrate(tmp.path(), &["plan", "webshop", "--env", "staging", "--out", "out"]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("webshop_staging_plan", stdout);
}

/// The parameters the staging services read, as `rules::env` names them (the same names the
/// task definitions reference), with whether each is a SecureString.
const STAGING_PARAMETERS: &[(&str, bool)] = &[
    ("/webshop/staging/batch/APP_ENV", false),
    ("/webshop/staging/batch/DB_HOST", false),
    ("/webshop/staging/batch/DB_PASSWORD", true),
    ("/webshop/staging/nginx/NGINX_WORKER_CONNECTIONS", false),
    ("/webshop/staging/webshop-api/DATABASE_URL", true),
    ("/webshop/staging/webshop-api/FILE_ETC_WEBSHOP_JWT_SIGNING_PEM", true),
    ("/webshop/staging/webshop-api/REDIS_URL", true),
    ("/webshop/staging/webshop-api/SECRET_KEY", true),
    ("/webshop/staging/webshop-api/STRIPE_SECRET_KEY", true),
    ("/webshop/staging/webshop-api/WEBSHOP_DOMAIN", false),
    ("/webshop/staging/webshop-worker/REDIS_URL", true),
    ("/webshop/staging/webshop-worker/SMTP_HOST", false),
    ("/webshop/staging/webshop-worker/SMTP_PASSWORD", true),
];

#[test]
fn staging_parameters_are_planned_masked_and_pushed_once() {
    let needles = vault_plaintexts();
    let tmp = workdir();
    let moto = support::moto::Moto::start();
    let url = moto.url();
    let pw = password_file().to_string_lossy().into_owned();
    let run = |args: &[&str]| support::moto::migrate_cmd(tmp.path()).args(args).output().unwrap();

    // The plan against an empty Parameter Store creates every parameter, secrets masked.
    let mut args = plan_args("staging", &pw, true);
    args.extend(["--ssm", "--endpoint-url", &url]);
    let out = run(&args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    for (name, secure) in STAGING_PARAMETERS {
        let header = format!("+ ssm_parameter \"{name}\" {{");
        let at = stdout.find(&header).unwrap_or_else(|| panic!("no block for {name}:\n{stdout}"));
        let block = &stdout[at..at + stdout[at..].find("\n    }").unwrap()];
        assert_eq!(block.contains("(sensitive value)"), *secure, "{block}");
    }
    // A value the staging inventory does not define is reported, not invented.
    assert!(!stdout.contains("ssm_parameter \"/webshop/staging/webshop-api/STRIPE_WEBHOOK_SECRET\""), "{stdout}");
    assert!(stdout.contains("M047 warning: the value of `STRIPE_WEBHOOK_SECRET`"), "{stdout}");
    assert_no_secret("plan stdout", &out.stdout, &needles);
    assert_no_secret("plan stderr", &out.stderr, &needles);

    // The push creates them; a second push writes nothing.
    let push = ["ssm", "push", "webshop", "--env", "staging", "--vault-password-file", &pw, "--endpoint-url", &url];
    let push: Vec<&str> = push.iter().copied().chain(["--writes-per-second", "0"]).collect();
    for round in 0..2 {
        let out = run(&push);
        assert_eq!(out.status.code(), Some(0), "push {round}: {}", String::from_utf8_lossy(&out.stderr));
        assert_no_secret("push stdout", &out.stdout, &needles);
        assert_no_secret("push stderr", &out.stderr, &needles);
        if round == 1 {
            let stdout = String::from_utf8_lossy(&out.stdout);
            let summaries: Vec<&str> = stdout.lines().filter(|l| l.contains(" created, ")).collect();
            assert_eq!(summaries.len(), 4, "one push per service with values: {stdout}");
            assert!(summaries.iter().all(|l| l.contains(": 0 created, 0 updated, ")), "{stdout}");
        }
    }
    for (name, secure) in STAGING_PARAMETERS {
        let (value, version, kind) = moto.get(name).unwrap_or_else(|| panic!("{name} was not pushed"));
        assert_eq!(version, 1, "{name}");
        assert_eq!(kind, if *secure { "SecureString" } else { "String" }, "{name}");
        assert!(!value.is_empty() && !value.contains("${"), "{name}");
    }
    // The plaintexts that did reach Parameter Store are the vault's.
    let stored = moto.get("/webshop/staging/batch/DB_PASSWORD").unwrap().0;
    assert!(needles.contains(&stored), "DB_PASSWORD is not a vault value");
    assert_eq!(moto.get("/webshop/staging/webshop-api/STRIPE_WEBHOOK_SECRET"), None);

    // After the push the plan compares and has nothing to do for parameters.
    let out = run(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("ssm_parameter"), "{stdout}");
    for (what, bytes) in files(tmp.path()) {
        assert_no_secret(&what, &bytes, &needles);
    }
}
