//! The bundled samples are valid input, checked with the real tools from `scripts/test`: Ansible
//! accepts every sample playbook against every inventory, every vault opens with the sample's
//! password and every `vault_` reference resolves, every YAML file, template and Jinja expression
//! parses, and the Packer templates parse. A converter test built on a broken sample would blame
//! the converter.
//!
//! Vault contents are never printed: on success only booleans are asked for, on failure only
//! stderr is shown.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use regex::Regex;
use walkdir::WalkDir;

use crate::support::{repo_root, tool};

/// Every sample ships its (sample-only) vault password under this name.
const PASSWORD_FILE: &str = "vault-password.sample.txt";

/// Sample repositories: the folders of `samples/` that hold a `site.yml`.
fn samples() -> Vec<PathBuf> {
    let dir = repo_root().join("samples");
    let mut found: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join("site.yml").is_file())
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no sample with a site.yml under {}", dir.display());
    found
}

/// Every file of a sample, relative to it, sorted.
fn files(sample: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = WalkDir::new(sample)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .filter_map(|entry| entry.path().strip_prefix(sample).ok().map(Path::to_path_buf))
        .collect();
    found.sort();
    found
}

/// The sample's inventories: `inventories/<env>/hosts.{ini,yml,yaml}`, relative to the sample.
fn inventories(sample: &Path) -> Vec<PathBuf> {
    let found: Vec<PathBuf> = files(sample)
        .into_iter()
        .filter(|rel| {
            let parts: Vec<_> = rel.iter().collect();
            parts.len() == 3
                && parts[0] == "inventories"
                && ["hosts.ini", "hosts.yml", "hosts.yaml"].iter().any(|name| parts[2] == *name)
        })
        .collect();
    assert!(!found.is_empty(), "{} has no inventories/<env>/hosts.{{ini,yml}}", sample.display());
    found
}

fn sample_name(sample: &Path) -> String {
    sample.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Runs an Ansible tool in the sample folder, with its own ANSIBLE_HOME and the sample's ansible.cfg
/// named explicitly (Ansible ignores an ansible.cfg in a world-writable working directory).
fn ansible(sample: &Path, program: &str, args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("a temporary ANSIBLE_HOME");
    let mut command = Command::new(tool(program));
    command
        .args(args)
        .current_dir(sample)
        .env("ANSIBLE_HOME", home.path())
        .env("ANSIBLE_LOCAL_TEMP", home.path().join("tmp"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
        .env_remove("ANSIBLE_VAULT_IDENTITY_LIST")
        .env_remove("ANSIBLE_INVENTORY");
    if sample.join("ansible.cfg").is_file() {
        command.env("ANSIBLE_CONFIG", sample.join("ansible.cfg"));
    } else {
        command.env_remove("ANSIBLE_CONFIG");
    }
    command.output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// Panics with the command's status and streams unless it succeeded. `show_stdout` is false for
/// commands whose output may hold decrypted secrets.
fn assert_success(output: &Output, what: &str, show_stdout: bool) {
    if !output.status.success() {
        let stdout = if show_stdout { String::from_utf8_lossy(&output.stdout).into_owned() } else { "(hidden)".into() };
        panic!(
            "{what} failed with {}\n--- stdout\n{stdout}\n--- stderr\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The sample's playbooks: top-level `.yml` files with a play (`hosts:`) or an `import_playbook:`.
fn playbooks(sample: &Path) -> Vec<String> {
    let play =
        Regex::new(r"(?m)^\s*(-\s+)?(hosts|import_playbook|ansible\.builtin\.import_playbook):").expect("valid regex");
    let found: Vec<String> = files(sample)
        .into_iter()
        .filter(|rel| rel.components().count() == 1 && rel.extension().is_some_and(|e| e == "yml"))
        .filter(|rel| fs::read_to_string(sample.join(rel)).is_ok_and(|text| play.is_match(&text)))
        .map(|rel| rel.to_string_lossy().into_owned())
        .collect();
    assert!(found.iter().any(|p| p == "site.yml"), "{}: site.yml holds no play", sample.display());
    found
}

#[test]
fn sample_playbooks_pass_ansible_syntax_check() {
    for sample in samples() {
        let playbooks = playbooks(&sample);
        for inventory in inventories(&sample) {
            let inventory = inventory.to_string_lossy();
            let mut args = vec!["--syntax-check", "-i", &inventory, "--vault-password-file", PASSWORD_FILE];
            args.extend(playbooks.iter().map(String::as_str));
            let output = ansible(&sample, "ansible-playbook", &args);
            assert_success(&output, &format!("{}: ansible-playbook {}", sample_name(&sample), args.join(" ")), true);
        }
    }
}

/// Whole-file vaults of a sample (relative paths) with their header line.
fn vault_files(sample: &Path) -> Vec<(PathBuf, String)> {
    files(sample)
        .into_iter()
        .filter_map(|rel| {
            let text = fs::read_to_string(sample.join(&rel)).ok()?;
            let header = text.lines().next()?.trim_end().to_owned();
            header.starts_with("$ANSIBLE_VAULT;").then_some((rel, header))
        })
        .collect()
}

#[test]
fn sample_vault_files_decrypt_with_the_sample_password() {
    for sample in samples() {
        let vaults = vault_files(&sample);
        assert!(!vaults.is_empty(), "{} has no vault-encrypted file", sample_name(&sample));
        for (rel, _) in &vaults {
            let rel = rel.to_string_lossy();
            let output = ansible(&sample, "ansible-vault", &["view", "--vault-password-file", PASSWORD_FILE, &rel]);
            assert_success(&output, &format!("{}: ansible-vault view {rel}", sample_name(&sample)), false);
            assert!(!output.stdout.is_empty(), "{}: {rel} decrypts to nothing", sample_name(&sample));
        }

        // The same check with a wrong password must fail, or the loop above proves nothing.
        let wrong = tempfile::NamedTempFile::new().expect("a temporary password file");
        fs::write(wrong.path(), "not-the-sample-password\n").expect("write the wrong password");
        let wrong_path = wrong.path().to_string_lossy();
        let first = vaults[0].0.to_string_lossy();
        let output = ansible(&sample, "ansible-vault", &["view", "--vault-password-file", &wrong_path, &first]);
        assert!(!output.status.success(), "{}: {first} decrypted with a wrong password", sample_name(&sample));
    }
}

/// The webshop sample promises every vault format the loader must read (issue 2).
#[test]
fn webshop_sample_has_every_vault_format() {
    let sample = repo_root().join("samples/webshop");
    let headers: Vec<String> = vault_files(&sample).into_iter().map(|(_, header)| header).collect();
    assert!(headers.iter().any(|h| h == "$ANSIBLE_VAULT;1.1;AES256"), "no 1.1 vault file: {headers:?}");
    assert!(headers.iter().any(|h| h.starts_with("$ANSIBLE_VAULT;1.2;AES256;")), "no 1.2 vault-id file: {headers:?}");
    let inline = inline_vault_and_vault_references(&sample);
    assert!(
        inline.values().flatten().any(|(_, name)| name == "sentry_dsn"),
        "no inline !vault value found: {inline:?}"
    );
}

/// Variables to resolve per (inventory dir, host pattern): inline `!vault` values, and plain
/// variables defined as `"{{ vault_... }}"`. The pattern is the group or host the vars file is for.
fn inline_vault_and_vault_references(sample: &Path) -> BTreeMap<(PathBuf, String), Vec<(PathBuf, String)>> {
    let inline = Regex::new(r"^\s*([A-Za-z_][A-Za-z0-9_]*):\s*!vault\b").expect("valid regex");
    let reference = Regex::new(r#"^\s*([A-Za-z_][A-Za-z0-9_]*):\s*["']\{\{\s*vault_[A-Za-z0-9_]+\s*\}\}["']\s*$"#)
        .expect("valid regex");
    let mut found: BTreeMap<(PathBuf, String), Vec<(PathBuf, String)>> = BTreeMap::new();
    for rel in files(sample) {
        let parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        // inventories/<env>/{group_vars,host_vars}/<name>[.yml | /<file>.yml]
        if parts.len() < 4 || parts[0] != "inventories" || !(parts[2] == "group_vars" || parts[2] == "host_vars") {
            continue;
        }
        let Ok(text) = fs::read_to_string(sample.join(&rel)) else { continue };
        if text.starts_with("$ANSIBLE_VAULT;") {
            continue;
        }
        let target = parts[3].trim_end_matches(".yml").trim_end_matches(".yaml").to_owned();
        let inventory_dir = PathBuf::from(&parts[0]).join(&parts[1]);
        for line in text.lines() {
            if let Some(captures) = inline.captures(line).or_else(|| reference.captures(line)) {
                let key = (inventory_dir.clone(), target.clone());
                found.entry(key).or_default().push((rel.clone(), captures[1].to_owned()));
            }
        }
    }
    found
}

#[test]
fn sample_inventories_load_and_every_secret_resolves() {
    for sample in samples() {
        let inventories = inventories(&sample);
        for inventory in &inventories {
            let inventory = inventory.to_string_lossy();
            // Loads every group_vars/host_vars file, decrypting whole-file vaults.
            let args = ["-i", &inventory, "--list", "--vault-password-file", PASSWORD_FILE];
            let output = ansible(&sample, "ansible-inventory", &args);
            let what = format!("{}: ansible-inventory -i {inventory} --list", sample_name(&sample));
            assert_success(&output, &what, false);
        }

        let wanted = inline_vault_and_vault_references(&sample);
        assert!(!wanted.is_empty(), "{}: no `!vault` value nor `vault_` reference found", sample_name(&sample));
        for ((inventory_dir, pattern), vars) in &wanted {
            let inventory = inventories
                .iter()
                .find(|inv| inv.parent() == Some(inventory_dir.as_path()))
                .unwrap_or_else(|| panic!("no hosts file in {}", inventory_dir.display()))
                .to_string_lossy()
                .into_owned();
            // A boolean per host: every value decrypts (inline) or resolves through its vault_ name,
            // and none is empty. The values themselves are never printed.
            let names: Vec<&str> = vars.iter().map(|(_, name)| name.as_str()).collect();
            let message = format!("msg={{{{ [{}] | map('string') | map('length') | min > 0 }}}}", names.join(", "));
            let args = [
                pattern.as_str(),
                "-i",
                &inventory,
                "--vault-password-file",
                PASSWORD_FILE,
                "-m",
                "ansible.builtin.debug",
                "-a",
                &message,
            ];
            let output = ansible(&sample, "ansible", &args);
            let what = format!("{}: {} for `{pattern}` in {inventory}", sample_name(&sample), names.join(", "));
            assert_success(&output, &what, false);
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                stdout.contains("\"msg\": true") && !stdout.contains("\"msg\": false"),
                "{what}: a value is empty or did not resolve:\n{stdout}"
            );
        }
    }
}

/// Parses every YAML file (with Ansible's loader and tags), every `.j2` template and every Jinja
/// expression in YAML values and conditions, and compiles every Python file. Syntax only: names of
/// Ansible filters and tests are not checked here.
const PARSE_EVERYTHING: &str = r#"
import os, sys
import jinja2
from ansible.parsing.utils.yaml import from_yaml

root = os.path.abspath(sys.argv[1])
env = jinja2.Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])
CONDITIONS = {"when", "changed_when", "failed_when", "until", "that"}
problems = []
counts = {"yaml": 0, "jinja": 0, "python": 0}

def check_jinja(rel, where, text, expression):
    try:
        if expression and "{{" not in text and "{%" not in text:
            text = "{{ " + text + " }}"
        env.parse(text)
        counts["jinja"] += 1
    except jinja2.TemplateSyntaxError as error:
        problems.append(f"{rel}: {where}: {error}")

def walk(rel, node, key=None):
    if isinstance(node, dict):
        for k, v in node.items():
            walk(rel, v, k)
    elif isinstance(node, list):
        for item in node:
            walk(rel, item, key)
    elif isinstance(node, str) and type(node).__name__ != "EncryptedString":
        if key in CONDITIONS:
            check_jinja(rel, f"`{key}`", node, True)
        elif "{{" in node or "{%" in node:
            check_jinja(rel, f"value of `{key}`", node, False)

for dirpath, dirnames, filenames in os.walk(root):
    dirnames.sort()
    for name in sorted(filenames):
        path = os.path.join(dirpath, name)
        rel = os.path.relpath(path, root)
        if not name.endswith((".yml", ".yaml", ".j2", ".py")):
            continue
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if name.endswith((".yml", ".yaml")):
            if text.startswith("$ANSIBLE_VAULT;"):
                continue
            try:
                walk(rel, from_yaml(text, file_name=path))
                counts["yaml"] += 1
            except Exception as error:
                problems.append(f"{rel}: {error}")
        elif name.endswith(".j2"):
            check_jinja(rel, "template", text, False)
        else:
            try:
                compile(text, path, "exec")
                counts["python"] += 1
            except SyntaxError as error:
                problems.append(f"{rel}: {error}")

for problem in problems:
    print(problem)
print(f"checked {counts['yaml']} YAML files, {counts['jinja']} Jinja templates and expressions, "
      f"{counts['python']} Python files: {len(problems)} problems")
sys.exit(1 if problems else 0)
"#;

#[test]
fn sample_yaml_templates_and_code_parse() {
    for sample in samples() {
        let output = Command::new(tool("python3"))
            .arg("-c")
            .arg(PARSE_EVERYTHING)
            .arg(&sample)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .expect("the test venv's python3 runs");
        assert_success(&output, &format!("{}: parsing YAML, Jinja and Python", sample_name(&sample)), true);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let name = sample_name(&sample);
        assert!(!stdout.contains("checked 0 YAML files"), "{name}: no YAML file was checked: {stdout}");

        // Shell scripts: `sh -n` or `bash -n`, whichever their shebang names.
        for rel in files(&sample) {
            let Ok(text) = fs::read_to_string(sample.join(&rel)) else { continue };
            let shell = match text.lines().next() {
                Some("#!/bin/sh") => "sh",
                Some(line) if line.starts_with("#!") && line.contains("bash") => "bash",
                _ => continue,
            };
            let output = Command::new(shell).arg("-n").arg(sample.join(&rel)).output().expect("the shell runs");
            assert_success(&output, &format!("{}: {shell} -n {}", sample_name(&sample), rel.display()), true);
        }
    }
}

#[test]
fn sample_packer_templates_parse() {
    for sample in samples() {
        let packer: Vec<PathBuf> = files(&sample).into_iter().filter(|rel| rel.starts_with("packer")).collect();
        let json: Vec<&PathBuf> = packer.iter().filter(|rel| rel.extension().is_some_and(|e| e == "json")).collect();
        let hcl: Vec<&PathBuf> = packer.iter().filter(|rel| rel.to_string_lossy().ends_with(".hcl")).collect();
        assert!(!json.is_empty() || !hcl.is_empty(), "{}: no Packer template under packer/", sample_name(&sample));

        for rel in json {
            let path = sample.join(rel);
            let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let template: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()));
            let builders = template.get("builders").and_then(|b| b.as_array());
            assert!(builders.is_some_and(|b| !b.is_empty()), "{}: no builders", path.display());
            let provisioners = template.get("provisioners").and_then(|p| p.as_array()).cloned().unwrap_or_default();
            // Each ansible provisioner's playbook exists, relative to the template's folder.
            for provisioner in provisioners.iter().filter(|p| p["type"] == "ansible" || p["type"] == "ansible-local") {
                let playbook = provisioner["playbook_file"].as_str().unwrap_or_default();
                let resolved = path.parent().unwrap_or(&sample).join(playbook);
                assert!(resolved.is_file(), "{}: playbook_file `{playbook}` does not exist", path.display());
            }
        }
        for rel in hcl {
            let path = sample.join(rel);
            let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if let Err(error) = hcl_edit::parser::parse_body(&text) {
                panic!("{} is not valid HCL: {error}", path.display());
            }
        }
    }
}
