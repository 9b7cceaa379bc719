//! Unit tests for the Packer loader: every spelling, resolution, linking, bad input.

use std::fs;

use super::*;
use crate::diagnostics::Severity;

/// A throwaway repository holding `files`, loaded.
fn repo(files: &[(&str, &[u8])]) -> (tempfile::TempDir, SourceSet) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, content) in files {
        let full = dir.path().join(path);
        fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        fs::write(full, content).expect("write");
    }
    let set = SourceSet::load(dir.path()).expect("load");
    (dir, set)
}

fn load_files(files: &[(&str, &str)]) -> (Vec<PackerTemplate>, Vec<Finding>) {
    let bytes: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (*p, c.as_bytes())).collect();
    let (_dir, set) = repo(&bytes);
    load(&set)
}

fn codes_of(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.code.id).collect()
}

fn only(templates: &[PackerTemplate]) -> &PackerTemplate {
    assert_eq!(templates.len(), 1, "{templates:#?}");
    &templates[0]
}

fn provisioner(t: &PackerTemplate, i: usize) -> &Provisioner {
    t.provisioners().nth(i).map(|(_, p)| p).expect("provisioner")
}

fn shell(p: &Provisioner) -> &ShellAction {
    match &p.action {
        ProvisionerAction::Shell(s) => s,
        other => panic!("not shell: {other:?}"),
    }
}

fn ansible(p: &Provisioner) -> &AnsibleAction {
    match &p.action {
        ProvisionerAction::Ansible(a) => a,
        other => panic!("not ansible: {other:?}"),
    }
}

fn plain(v: &VarValue) -> &Value {
    match v {
        VarValue::Plain { value, .. } => value,
        other => panic!("not plain: {other:?}"),
    }
}

fn resolved(v: &Value) -> &str {
    match v {
        Value::Str(t) | Value::Expr(t) => &t.resolved,
        other => panic!("not text: {other:?}"),
    }
}

const JSON_TEMPLATE: &str = r#"{
  "variables": {
    "region": "eu-west-1",
    "distro": "jammy",
    "filter": "ubuntu/images/*ubuntu-{{user `distro`}}-22.04-amd64-server-*",
    "playbook": "{{template_dir}}/../ansible/site.yml",
    "proxy": "{{env `HTTP_PROXY`}}",
    "token": null,
    "db_password": "s3cr3t-value"
  },
  "sensitive-variables": ["db_password"],
  "builders": [
    {
      "type": "amazon-ebs",
      "region": "{{ user \"region\" }}",
      "instance_type": "t3.small",
      "ssh_username": "ubuntu",
      "ami_name": "web-{{timestamp}}",
      "source_ami_filter": {
        "filters": {"name": "{{user `filter`}}", "virtualization-type": "hvm"},
        "owners": ["099720109477"],
        "most_recent": true
      }
    },
    {"type": "docker", "name": "local", "image": "debian:12", "commit": true}
  ],
  "provisioners": [
    {
      "type": "shell",
      "inline": ["apt-get update", "echo {{user `region`}}"],
      "environment_vars": ["HTTP_PROXY={{user `proxy`}}", "TOKEN={{user `token`}}", "PW={{user `db_password`}}"],
      "execute_command": "sudo -E sh '{{.Path}}'",
      "pause_before": "10s",
      "only": ["amazon-ebs"]
    },
    {"type": "shell", "script": "scripts/base.sh", "scripts": ["scripts/a.sh", "{{template_dir}}/scripts/b.sh"]},
    {"type": "file", "source": "files/app.conf", "destination": "/etc/app.conf"},
    {"type": "file", "source": "/var/log/app.log", "destination": "out/", "direction": "download"},
    {
      "type": "ansible",
      "playbook_file": "{{user `playbook`}}",
      "extra_arguments": ["-e", "env=prod"],
      "ansible_env_vars": ["ANSIBLE_ROLES_PATH=../ansible/roles"],
      "inventory_groups": "web,app",
      "galaxy_file": "../ansible/requirements.yml",
      "except": ["local"],
      "override": {"local": {"extra_arguments": ["-e", "env=dev"]}}
    },
    {"type": "ansible-local", "playbook_file": "../ansible/local.yml", "playbook_dir": "../ansible",
     "role_paths": ["../ansible/roles/web"]},
    {"type": "windows-restart", "restart_timeout": "10m"}
  ],
  "post-processors": [
    "compress",
    {"type": "manifest", "output": "manifest.json"},
    [{"type": "docker-tag", "repository": "web", "only": ["local"]},
     {"type": "docker-push", "keep_input_artifact": false}]
  ]
}
"#;

fn json_repo() -> (Vec<PackerTemplate>, Vec<Finding>) {
    load_files(&[
        ("packer/web.json", JSON_TEMPLATE),
        ("packer/scripts/base.sh", "#!/bin/sh\n"),
        ("packer/scripts/a.sh", "#!/bin/sh\n"),
        ("packer/files/app.conf", "x=1\n"),
        ("ansible/site.yml", "- hosts: all\n"),
        ("ansible/requirements.yml", "[]\n"),
        ("ansible/roles/web/tasks/main.yml", "[]\n"),
        ("dashboards/grafana.json", "{\"panels\": []}"),
    ])
}

#[test]
fn json_variables_defaults_required_and_sensitive() {
    let (templates, _) = json_repo();
    let t = only(&templates);
    assert_eq!(t.format, TemplateFormat::Json);
    assert_eq!(&*t.path, "packer/web.json");
    assert_eq!(t.dir, "packer");
    let names: Vec<&str> = t.variables.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["region", "distro", "filter", "playbook", "proxy", "token", "db_password"]);
    let filter = t.variable("filter").unwrap();
    assert_eq!(filter.origin.line, 5);
    assert_eq!(resolved(plain(&filter.value)), "ubuntu/images/*ubuntu-jammy-22.04-amd64-server-*");
    assert_eq!(t.variable("token").unwrap().value, VarValue::Unset);
    let proxy = plain(&t.variable("proxy").unwrap().value);
    let Value::Str(proxy) = proxy else { panic!() };
    assert!(!proxy.known);
    assert_eq!(proxy.env, ["HTTP_PROXY"]);
    assert_eq!(proxy.resolved, "{{env `HTTP_PROXY`}}");
    let pw = t.variable("db_password").unwrap();
    assert!(pw.sensitive);
    assert!(matches!(pw.value, VarValue::Secret { .. }));
    assert!(!format!("{:?}", pw).contains("s3cr3t"));
}

#[test]
fn json_builders_amazon_fields_and_generic_ones() {
    let (templates, _) = json_repo();
    let t = only(&templates);
    assert_eq!(t.builders.len(), 2);
    let ebs = &t.builders[0];
    assert_eq!((ebs.kind.as_str(), ebs.name.as_str(), ebs.origin.line), ("amazon-ebs", "amazon-ebs", 13));
    let a = ebs.amazon.as_ref().unwrap();
    assert_eq!(a.region.as_ref().unwrap().resolved, "eu-west-1");
    assert_eq!(a.region.as_ref().unwrap().raw, "{{ user \"region\" }}");
    assert_eq!(a.instance_type.as_ref().unwrap().resolved, "t3.small");
    assert_eq!(a.ssh_username.as_ref().unwrap().resolved, "ubuntu");
    assert!(!a.ami_name.as_ref().unwrap().known);
    let f = a.source_ami_filter.as_ref().unwrap();
    assert_eq!(f.origin.line, 19);
    assert_eq!(f.name.as_ref().unwrap().resolved, "ubuntu/images/*ubuntu-jammy-22.04-amd64-server-*");
    assert_eq!(f.filters.len(), 2);
    assert_eq!(f.owners[0].resolved, "099720109477");
    assert_eq!(f.most_recent, Some(true));
    assert_eq!(ebs.base_image.as_ref().unwrap().image, "ubuntu:22.04");
    assert_eq!(ebs.base_image.as_ref().unwrap().field, "source_ami_filter.name");

    let docker = &t.builders[1];
    assert_eq!((docker.kind.as_str(), docker.name.as_str()), ("docker", "local"));
    assert!(docker.amazon.is_none());
    assert_eq!(setting(&docker.settings, "commit").unwrap().value, Value::Bool(true));
    assert_eq!(docker.base_image.as_ref().unwrap().image, "debian:bookworm-slim");
    // One implicit build over both builders.
    assert_eq!(t.builds.len(), 1);
    let refs: Vec<&str> = t.builds[0].sources.iter().map(|s| s.reference.as_str()).collect();
    assert_eq!(refs, ["amazon-ebs", "local"]);
}

#[test]
fn json_shell_provisioner_fields_and_references() {
    let (templates, findings) = json_repo();
    let t = only(&templates);
    let p = provisioner(t, 0);
    assert_eq!((p.kind.as_str(), p.origin.line), ("shell", 28));
    assert_eq!(p.only, ["amazon-ebs"]);
    assert_eq!(p.pause_before.as_ref().unwrap().resolved, "10s");
    let sh = shell(p);
    assert_eq!(sh.inline[1].resolved, "echo eu-west-1");
    assert!(sh.inline[1].known);
    let env: Vec<&Text> = sh.environment_vars.iter().collect();
    assert_eq!(env[0].env, ["HTTP_PROXY"]);
    assert_eq!(env[1].unset, ["token"]);
    assert_eq!(env[1].resolved, "TOKEN={{user `token`}}");
    // A sensitive variable is never substituted.
    assert_eq!(env[2].secrets, ["db_password"]);
    assert_eq!(env[2].resolved, "PW={{user `db_password`}}");
    assert!(!env[2].known);
    assert!(!sh.execute_command.as_ref().unwrap().known);
    assert!(!findings.iter().any(|f| f.message.contains("s3cr3t")));

    let scripts = shell(provisioner(t, 1));
    let paths: Vec<(Option<&str>, bool)> = scripts.scripts.iter().map(|r| (r.path.as_deref(), r.exists)).collect();
    assert_eq!(
        paths,
        [
            (Some("packer/scripts/base.sh"), true),
            (Some("packer/scripts/a.sh"), true),
            (Some("packer/scripts/b.sh"), false)
        ]
    );
    let missing: Vec<(u32, &str)> =
        findings.iter().filter(|f| f.code == codes::MISSING_FILE).map(|f| (f.line, f.message.as_str())).collect();
    assert_eq!(
        missing,
        [
            (
                36,
                concat!(
                    "`shell` provisioner: script `packer/scripts/b.sh` does not exist ",
                    "(written `{{template_dir}}/scripts/b.sh`)"
                )
            ),
            (
                49,
                concat!(
                    "`ansible-local` provisioner: playbook `ansible/local.yml` does not exist ",
                    "(written `../ansible/local.yml`)"
                )
            ),
        ]
    );
    assert!(findings.iter().filter(|f| f.code == codes::MISSING_FILE).all(|f| f.severity == Severity::Warning));
}

#[test]
fn json_file_ansible_and_other_provisioners() {
    let (templates, _) = json_repo();
    let t = only(&templates);
    let ProvisionerAction::File(upload) = &provisioner(t, 2).action else { panic!() };
    assert_eq!(upload.sources[0].path.as_deref(), Some("packer/files/app.conf"));
    assert!(upload.sources[0].exists);
    assert_eq!(upload.destination.as_ref().unwrap().resolved, "/etc/app.conf");
    let ProvisionerAction::File(download) = &provisioner(t, 3).action else { panic!() };
    assert_eq!(download.direction.as_ref().unwrap().resolved, "download");
    assert_eq!(download.sources[0].path, None, "a download's source is on the machine, not in the repo");

    let p = provisioner(t, 4);
    assert_eq!(p.except, ["local"]);
    assert_eq!(p.overrides.len(), 1);
    assert_eq!(p.overrides[0].0, "local");
    assert_eq!(p.overrides[0].1[0].key, "extra_arguments");
    let a = ansible(p);
    assert_eq!(a.playbook_files[0].text.raw, "{{user `playbook`}}");
    assert_eq!(a.playbooks, [PlaybookLink { path: "ansible/site.yml".into(), origin: p.origin.clone(), exists: true }]);
    let args: Vec<&str> = a.extra_arguments.iter().map(|t| t.resolved.as_str()).collect();
    assert_eq!(args, ["-e", "env=prod"]);
    assert_eq!(a.ansible_env_vars[0].resolved, "ANSIBLE_ROLES_PATH=../ansible/roles");
    let groups: Vec<&str> = a.inventory_groups.iter().map(|t| t.resolved.as_str()).collect();
    assert_eq!(groups, ["web", "app"]);
    assert!(a.galaxy_file.as_ref().unwrap().exists);

    let local = provisioner(t, 5);
    assert_eq!(local.kind, "ansible-local");
    let a = ansible(local);
    assert_eq!(a.playbooks[0].path, "ansible/local.yml");
    assert!(!a.playbooks[0].exists);
    assert_eq!(a.playbook_dir.as_ref().unwrap().path.as_deref(), Some("ansible"));
    assert!(a.playbook_dir.as_ref().unwrap().exists);
    assert!(a.role_paths[0].exists);

    let other = provisioner(t, 6);
    assert_eq!(other.kind, "windows-restart");
    assert_eq!(other.action, ProvisionerAction::Other);
    assert_eq!(setting(&other.settings, "restart_timeout").unwrap().value.text(&other.origin).unwrap().resolved, "10m");
    let links: Vec<&str> = t.playbooks().map(|l| l.path.as_str()).collect();
    assert_eq!(links, ["ansible/site.yml", "ansible/local.yml"]);
}

#[test]
fn json_post_processors_single_list_and_nested() {
    let (templates, _) = json_repo();
    let chains = &only(&templates).builds[0].post_processors;
    let kinds: Vec<Vec<&str>> = chains.iter().map(|c| c.iter().map(|p| p.kind.as_str()).collect()).collect();
    assert_eq!(kinds, [vec!["compress"], vec!["manifest"], vec!["docker-tag", "docker-push"]]);
    assert_eq!(chains[2][0].only, ["local"]);
    assert_eq!(chains[2][1].keep_input_artifact, Some(false));
    assert_eq!(chains[1][0].origin.line, 55);
}

#[test]
fn json_missing_playbook_is_m005_and_non_packer_json_is_silent() {
    let (templates, findings) = load_files(&[
        (
            "a.json",
            r#"{"builders": [{"type": "null"}], "provisioners": [{"type": "ansible", "playbook_file": "play.yml"}]}"#,
        ),
        ("package.json", r#"{"name": "x", "dependencies": {}}"#),
        (".devcontainer/devcontainer.json", "// comments are not JSON\n{\"name\": \"dev\"}\n"),
        ("tsconfig.json", "{,}"),
    ]);
    assert_eq!(templates.len(), 1);
    let m005: Vec<&Finding> = findings.iter().filter(|f| f.code == codes::MISSING_FILE).collect();
    assert_eq!(m005.len(), 1, "{findings:#?}");
    assert!(m005[0].message.contains("playbook `play.yml`"), "{}", m005[0]);
    assert!(findings.iter().all(|f| f.path == "a.json"), "{findings:#?}");
    let a = ansible(provisioner(&templates[0], 0));
    let link = PlaybookLink { path: "play.yml".into(), origin: Origin::new("a.json".into(), 1), exists: false };
    assert_eq!(a.playbooks, [link]);
}

#[test]
fn playbook_outside_the_repository_is_m004() {
    let (templates, findings) = load_files(&[(
        "t.json",
        r#"{"builders": [{"type": "null"}], "provisioners": [
            {"type": "ansible", "playbook_file": "../../outside.yml"},
            {"type": "ansible", "playbook_file": "/etc/ansible/site.yml"},
            {"type": "shell", "script": "C:\\scripts\\x.ps1"}]}"#,
    )]);
    let m004: Vec<&Finding> = findings.iter().filter(|f| f.code == codes::PATH_ESCAPES_ROOT).collect();
    assert_eq!(m004.len(), 3, "{findings:#?}");
    assert!(m004.iter().all(|f| f.severity == Severity::Error));
    assert_eq!(m004[0].line, 2);
    assert!(templates[0].playbooks().next().is_none());
    assert!(!codes_of(&findings).contains(&"M005"));
}

#[test]
fn json_undeclared_and_cyclic_user_variables_are_reported_and_kept() {
    let (templates, findings) = load_files(&[(
        "t.json",
        r#"{
"variables": {"a": "{{user `b`}}", "b": "{{user `a`}}"},
"builders": [{"type": "null", "x": "{{user `nope`}}"}]
}"#,
    )]);
    let t = only(&templates);
    let x = setting(&t.builders[0].settings, "x").unwrap();
    assert_eq!(resolved(&x.value), "{{user `nope`}}");
    let m020: Vec<&Finding> = findings.iter().filter(|f| f.code == codes::UNRESOLVED_REFERENCE).collect();
    assert!(m020.iter().any(|f| f.line == 3 && f.message.contains("`nope`")), "{findings:#?}");
    assert!(m020.iter().any(|f| f.line == 2 && f.message.contains("refers to itself")), "{findings:#?}");
    assert!(m020.iter().all(|f| f.severity == Severity::Warning));
}

#[test]
fn json_bad_shapes_are_findings() {
    let (templates, findings) = load_files(&[
        ("a.json", r#"{"builders": {"type": "amazon-ebs"}}"#),
        (
            "b.json",
            r#"{"builders": [{"name": "x"}, 7, {"type": "null"}],
"provisioners": [{"inline": ["x"]}, {"type": "shell", "inline": {"a": 1}}],
"post-processors": [[3]], "bogus": 1}"#,
        ),
        ("c.json", "{\"variables\": [1], \"builders\": []}"),
    ]);
    assert_eq!(templates.len(), 3, "a broken template is still listed with what could be read");
    let b = templates.iter().find(|t| &*t.path == "b.json").unwrap();
    assert_eq!(b.builders.len(), 1);
    assert_eq!(b.builds[0].provisioners.len(), 1);
    let shapes: Vec<(&str, u32)> =
        findings.iter().filter(|f| f.code == codes::UNEXPECTED_SHAPE).map(|f| (f.path.as_str(), f.line)).collect();
    assert!(shapes.contains(&("a.json", 1)), "{findings:#?}");
    assert!(shapes.contains(&("c.json", 1)), "{findings:#?}");
    assert_eq!(shapes.iter().filter(|(p, _)| *p == "b.json").count(), 6, "{findings:#?}");
}

#[test]
fn invalid_json_template_reports_line_and_column() {
    let (templates, findings) = load_files(&[
        ("broken.json", "{\n  \"builders\": [\n    {\"type\": \"null\",}\n  ]\n}\n"),
        ("x.pkr.json", "{\n\n oops"),
    ]);
    assert!(templates.is_empty());
    assert_eq!(codes_of(&findings), ["M002", "M002"]);
    assert_eq!((findings[0].path.as_str(), findings[0].line), ("broken.json", 3));
    assert!(findings[0].message.contains("column"), "{}", findings[0]);
    assert_eq!((findings[1].path.as_str(), findings[1].line), ("x.pkr.json", 3));
}

#[test]
fn hostile_json_is_a_finding_not_a_crash() {
    let deep = format!("{{\"builders\": {}", "[".repeat(50_000));
    let (templates, findings) = load_files(&[("deep.json", &deep)]);
    assert!(templates.is_empty());
    assert_eq!(codes_of(&findings), ["M002"]);
    let dup = "{\"builders\": [{\"type\": \"a\"}],\n\"builders\": [{\"type\": \"b\"}]}";
    let (templates, findings) = load_files(&[("dup.json", dup)]);
    assert_eq!(templates[0].builders[0].kind, "b");
    assert_eq!(codes_of(&findings), ["M009", "M021"]);
    assert_eq!(findings[0].line, 2);
    let bytes: &[u8] = b"{\"builders\": [\xff\xfe]}";
    let (_d, set) = repo(&[("bin.pkr.json", bytes), ("other.json", bytes)]);
    let (templates, findings) = load(&set);
    assert!(templates.is_empty());
    assert_eq!(codes_of(&findings), ["M001"], "{findings:#?}");
    assert_eq!(findings[0].path, "bin.pkr.json");
}

#[test]
fn hcl2_json_syntax_is_noted_not_read() {
    let (templates, findings) = load_files(&[("t.pkr.json", r#"{"source": {"null": {"x": {}}}}"#)]);
    assert!(templates.is_empty());
    assert_eq!(codes_of(&findings), ["M008"]);
    assert_eq!(findings[0].severity, Severity::Info);
}

// ---------------------------------------------------------------------------
// HCL2

const HCL_VERSIONS: &str = r#"packer {
  required_version = ">= 1.9.0"
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = "~> 1.2"
    }
    ansible = {
      source  = "github.com/hashicorp/ansible"
      version = "~> 1.1"
    }
  }
}
"#;

const HCL_VARIABLES: &str = r#"variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "distro" {
  type        = string
  default     = "focal"
  description = "Ubuntu codename"
}

variable "playbook" {
  type = string
}

variable "db_password" {
  type      = string
  sensitive = true
  default   = "default-secret"
}

variable "tags" {
  type    = map(string)
  default = { team = "web" }
}

locals {
  ami_prefix = "web-${var.distro}"
  stamp      = formatdate("YYYYMMDD", timestamp())
}

local "full_name" {
  expression = "${local.ami_prefix}-${local.stamp}"
  sensitive  = false
}
"#;

const HCL_SOURCES: &str = r#"source "amazon-ebs" "ubuntu" {
  region        = var.region
  instance_type = "t3.small"
  ssh_username  = "ubuntu"
  ami_name      = local.full_name
  tags          = var.tags

  source_ami_filter {
    filters = {
      name                = "ubuntu/images/*ubuntu-${var.distro}-20.04-amd64-server-*"
      "virtualization-type" = "hvm"
    }
    owners      = ["099720109477"]
    most_recent = true
  }
}

source "docker" "local" {
  image  = "ubuntu:22.04"
  commit = true
}
"#;

const HCL_BUILD: &str = r#"build {
  name    = "web"
  sources = ["source.amazon-ebs.ubuntu", source.docker.local]

  source "source.amazon-ebs.ubuntu" {
    name         = "alt"
    ssh_username = "admin"
  }

  provisioner "shell" {
    inline           = ["echo ${var.region}", "echo ${var.db_password}"]
    environment_vars = ["REGION=${var.region}"]
    only             = ["amazon-ebs.ubuntu"]
    pause_before     = "5s"
  }

  provisioner "shell" {
    script = "${path.root}/scripts/setup.sh"
  }

  provisioner "ansible" {
    playbook_file   = "${path.root}/../ansible/site.yml"
    extra_arguments = ["-e", "region=${var.region}"]
    override = {
      "docker.local" = { extra_arguments = ["-e", "local=true"] }
    }
  }

  provisioner "ansible" {
    playbook_file = var.playbook
  }

  provisioner "file" {
    sources     = ["files/a.conf", "files/"]
    destination = "/tmp/"
  }

  provisioner "breakpoint" {
    note = "debug"
  }

  post-processor "manifest" {
    output = "manifest.json"
  }

  post-processors {
    post-processor "docker-tag" {
      repository = "web"
      only       = ["docker.local"]
    }
    post-processor "docker-push" {}
  }
}
"#;

fn hcl_repo(extra: &[(&str, &str)]) -> (Vec<PackerTemplate>, Vec<Finding>) {
    let mut files = vec![
        ("packer/versions.pkr.hcl", HCL_VERSIONS),
        ("packer/variables.pkr.hcl", HCL_VARIABLES),
        ("packer/sources.pkr.hcl", HCL_SOURCES),
        ("packer/build.pkr.hcl", HCL_BUILD),
        ("packer/scripts/setup.sh", "#!/bin/sh\n"),
        ("packer/files/a.conf", "a\n"),
        ("ansible/site.yml", "- hosts: all\n"),
        ("packer/templates/user-data.pkrtpl.hcl", "not ${a template"),
    ];
    files.extend_from_slice(extra);
    load_files(&files)
}

#[test]
fn hcl2_directory_is_one_template() {
    let (templates, _) = hcl_repo(&[]);
    let t = only(&templates);
    assert_eq!((&*t.path, t.dir.as_str(), t.format), ("packer", "packer", TemplateFormat::Hcl2));
    let files: Vec<&str> = t.files.iter().map(|f| &**f).collect();
    assert_eq!(
        files,
        ["packer/build.pkr.hcl", "packer/sources.pkr.hcl", "packer/variables.pkr.hcl", "packer/versions.pkr.hcl"]
    );
    assert_eq!(t.required_version.as_ref().unwrap().resolved, ">= 1.9.0");
    let plugins: Vec<(&str, &str, u32)> = t
        .required_plugins
        .iter()
        .map(|p| (p.name.as_str(), p.source.as_ref().unwrap().resolved.as_str(), p.origin.line))
        .collect();
    assert_eq!(plugins, [("amazon", "github.com/hashicorp/amazon", 4), ("ansible", "github.com/hashicorp/ansible", 8)]);
}

#[test]
fn hcl2_variables_and_locals() {
    let (templates, _) = hcl_repo(&[]);
    let t = only(&templates);
    let region = t.variable("region").unwrap();
    assert_eq!((region.origin.path.as_ref(), region.origin.line), ("packer/variables.pkr.hcl", 1));
    assert_eq!(region.type_expr.as_deref(), Some("string"));
    assert_eq!(resolved(plain(&region.value)), "eu-west-1");
    assert_eq!(t.variable("distro").unwrap().description.as_deref(), Some("Ubuntu codename"));
    assert_eq!(t.variable("playbook").unwrap().value, VarValue::Unset);
    let pw = t.variable("db_password").unwrap();
    assert!(pw.sensitive);
    assert!(matches!(pw.value, VarValue::Secret { .. }));
    assert_eq!(t.variable("tags").unwrap().type_expr.as_deref(), Some("map(string)"));

    let locals: Vec<(&str, u32)> = t.locals.iter().map(|l| (l.name.as_str(), l.origin.line)).collect();
    assert_eq!(locals, [("ami_prefix", 28), ("stamp", 29), ("full_name", 32)]);
    assert_eq!(resolved(plain(&t.locals[0].value)), "web-focal");
    let stamp = plain(&t.locals[1].value);
    assert!(matches!(stamp, Value::Expr(_)));
    assert_eq!(resolved(stamp), "formatdate(\"YYYYMMDD\", timestamp())");
    let Value::Str(full) = plain(&t.locals[2].value) else { panic!() };
    assert_eq!(full.resolved, "web-focal-${formatdate(\"YYYYMMDD\", timestamp())}");
    assert!(!full.known);
}

#[test]
fn hcl2_sources_with_ami_filter_block() {
    let (templates, _) = hcl_repo(&[]);
    let t = only(&templates);
    let ebs = &t.builders[0];
    assert_eq!(ebs.reference(), "amazon-ebs.ubuntu");
    assert_eq!((ebs.origin.path.as_ref(), ebs.origin.line), ("packer/sources.pkr.hcl", 1));
    let a = ebs.amazon.as_ref().unwrap();
    let region = a.region.as_ref().unwrap();
    assert_eq!((region.raw.as_str(), region.resolved.as_str(), region.known), ("var.region", "eu-west-1", true));
    assert_eq!(region.origin.line, 2);
    assert!(!a.ami_name.as_ref().unwrap().known);
    let f = a.source_ami_filter.as_ref().unwrap();
    assert_eq!(f.origin.line, 8);
    assert_eq!(f.name.as_ref().unwrap().resolved, "ubuntu/images/*ubuntu-focal-20.04-amd64-server-*");
    assert_eq!(f.name.as_ref().unwrap().raw, "ubuntu/images/*ubuntu-${var.distro}-20.04-amd64-server-*");
    let keys: Vec<&str> = f.filters.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["name", "virtualization-type"]);
    assert_eq!(f.owners[0].resolved, "099720109477");
    assert_eq!(f.most_recent, Some(true));
    let hint = ebs.base_image.as_ref().unwrap();
    assert_eq!((hint.image.as_str(), hint.field.as_str()), ("ubuntu:20.04", "source_ami_filter.name"));
    let tags = setting(&ebs.settings, "tags").unwrap();
    assert_eq!(resolved(tags.value.get("team").unwrap()), "web");
    assert_eq!(t.builders[1].base_image.as_ref().unwrap().image, "ubuntu:22.04");
}

#[test]
fn hcl2_build_sources_provisioners_and_post_processors() {
    let (templates, findings) = hcl_repo(&[]);
    let t = only(&templates);
    assert_eq!(t.builds.len(), 1);
    let b = &t.builds[0];
    assert_eq!((b.name.as_deref(), b.origin.line), (Some("web"), 1));
    let sources: Vec<(&str, Option<usize>, Option<&str>)> =
        b.sources.iter().map(|s| (s.reference.as_str(), s.builder, s.name.as_deref())).collect();
    assert_eq!(
        sources,
        [
            ("amazon-ebs.ubuntu", Some(0), None),
            ("docker.local", Some(1), None),
            ("amazon-ebs.ubuntu", Some(0), Some("alt"))
        ]
    );
    assert_eq!(b.sources[2].settings[0].key, "ssh_username");

    let kinds: Vec<(&str, u32)> = b.provisioners.iter().map(|p| (p.kind.as_str(), p.origin.line)).collect();
    assert_eq!(
        kinds,
        [("shell", 10), ("shell", 17), ("ansible", 21), ("ansible", 29), ("file", 33), ("breakpoint", 38)]
    );
    let sh = shell(&b.provisioners[0]);
    assert_eq!(sh.inline[0].resolved, "echo eu-west-1");
    assert_eq!(sh.inline[1].resolved, "echo ${var.db_password}");
    assert_eq!(sh.inline[1].secrets, ["db_password"]);
    assert_eq!(sh.environment_vars[0].resolved, "REGION=eu-west-1");
    assert_eq!(b.provisioners[0].only, ["amazon-ebs.ubuntu"]);
    assert_eq!(b.provisioners[0].pause_before.as_ref().unwrap().resolved, "5s");

    let script = &shell(&b.provisioners[1]).scripts[0];
    assert_eq!((script.path.as_deref(), script.exists), (Some("packer/scripts/setup.sh"), true));

    let a = ansible(&b.provisioners[2]);
    assert_eq!(
        a.playbooks,
        [PlaybookLink {
            path: "ansible/site.yml".into(),
            origin: Origin::new("packer/build.pkr.hcl".into(), 21),
            exists: true
        }]
    );
    assert_eq!(a.extra_arguments[1].resolved, "region=eu-west-1");
    assert_eq!(b.provisioners[2].overrides[0].0, "docker.local");

    // `var.playbook` has no value: kept, not linked, reported as info.
    let unknown = ansible(&b.provisioners[3]);
    assert!(unknown.playbooks.is_empty());
    assert_eq!(unknown.playbook_files[0].text.unset, ["playbook"]);
    let info = findings
        .iter()
        .find(|f| f.code == codes::UNRESOLVED_REFERENCE && f.line == 30)
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert_eq!(info.severity, Severity::Info);
    assert!(info.message.contains("`playbook` has no default"), "{info}");

    let ProvisionerAction::File(file) = &b.provisioners[4].action else { panic!() };
    let paths: Vec<&str> = file.sources.iter().filter_map(|r| r.path.as_deref()).collect();
    assert_eq!(paths, ["packer/files/a.conf", "packer/files"]);
    assert!(file.sources.iter().all(|r| r.exists));
    assert_eq!(b.provisioners[5].action, ProvisionerAction::Other);

    let chains: Vec<Vec<&str>> =
        b.post_processors.iter().map(|c| c.iter().map(|p| p.kind.as_str()).collect()).collect();
    assert_eq!(chains, [vec!["manifest"], vec!["docker-tag", "docker-push"]]);
    assert_eq!(b.post_processors[1][0].only, ["docker.local"]);
    let links: Vec<&str> = t.playbooks().map(|l| l.path.as_str()).collect();
    assert_eq!(links, ["ansible/site.yml"]);
}

#[test]
fn hcl2_pkrvars_set_values() {
    let (templates, _) = hcl_repo(&[
        ("packer/a.auto.pkrvars.hcl", "distro = \"jammy\"\n"),
        ("packer/prod.pkrvars.hcl", "playbook = \"../ansible/site.yml\"\nregion = \"us-east-1\"\n"),
    ]);
    let t = only(&templates);
    let files: Vec<&str> = t.var_files.iter().map(|f| &**f).collect();
    assert_eq!(files, ["packer/a.auto.pkrvars.hcl", "packer/prod.pkrvars.hcl"]);
    let VarValue::Plain { value, origin } = &t.variable("distro").unwrap().value else { panic!() };
    assert_eq!((resolved(value), origin.path.as_ref(), origin.line), ("jammy", "packer/a.auto.pkrvars.hcl", 1));
    assert_eq!(t.builders[0].base_image.as_ref().unwrap().image, "ubuntu:22.04");
    assert_eq!(ansible(provisioner(t, 3)).playbooks[0].path, "ansible/site.yml");
    assert_eq!(shell(provisioner(t, 0)).inline[0].resolved, "echo us-east-1");
}

#[test]
fn hcl2_several_plain_var_files_are_alternatives() {
    let (templates, findings) = hcl_repo(&[
        ("packer/prod.pkrvars.hcl", "region = \"us-east-1\"\n"),
        ("packer/staging.pkrvars.hcl", "region = \"us-west-2\"\nundeclared = 1\n"),
    ]);
    let t = only(&templates);
    assert!(t.var_files.is_empty());
    assert_eq!(resolved(plain(&t.variable("region").unwrap().value)), "eu-west-1");
    assert!(findings.iter().any(|f| f.code == codes::UNRESOLVED_REFERENCE && f.message.contains("alternatives")));
}

#[test]
fn hcl2_sensitive_values_never_reach_text_or_summary() {
    let var_file = ("packer/secrets.auto.pkrvars.hcl", "db_password = \"hunter2-from-varfile\"\n");
    let (templates, findings) = hcl_repo(&[var_file]);
    let t = only(&templates);
    assert!(matches!(t.variable("db_password").unwrap().value, VarValue::Secret { .. }));
    let summary = serde_json::to_string(&t.summary()).unwrap();
    let debug = format!("{t:?}");
    for shown in [&summary, &debug] {
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("default-secret"));
    }
    assert!(!findings.iter().any(|f| f.message.contains("hunter2")));
    assert!(summary.contains("\"db_password\""), "names are listed: {summary}");
}

#[test]
fn hcl2_undeclared_references_are_warnings() {
    let (templates, findings) = load_files(&[(
        "t.pkr.hcl",
        r#"source "null" "a" {
  x = var.nope
  y = "${local.missing}-z"
}
build {
  sources = ["source.null.b"]
}
"#,
    )]);
    let t = only(&templates);
    assert_eq!(&*t.path, ".");
    assert_eq!(t.builds[0].sources[0].builder, None);
    let warnings: Vec<(u32, &str)> = findings
        .iter()
        .filter(|f| f.code == codes::UNRESOLVED_REFERENCE && f.severity == Severity::Warning)
        .map(|f| (f.line, f.message.as_str()))
        .collect();
    assert_eq!(warnings.len(), 3, "{findings:#?}");
    assert!(warnings[0].1.contains("`var.nope`"));
    assert!(warnings[1].1.contains("`local.missing`"));
    assert_eq!(warnings[2].0, 6);
    let y = setting(&t.builders[0].settings, "y").unwrap();
    assert_eq!(resolved(&y.value), "${local.missing}-z");
}

#[test]
fn hcl2_locals_cycle_is_kept_as_written() {
    let (templates, findings) = load_files(&[(
        "t.pkr.hcl",
        "locals {\n  a = local.b\n  b = \"x${local.a}\"\n}\nsource \"null\" \"n\" {\n  v = local.a\n}\n",
    )]);
    let t = only(&templates);
    let v = setting(&t.builders[0].settings, "v").unwrap();
    assert!(matches!(&v.value, Value::Expr(_) | Value::Str(_)));
    assert!(v.value.text(&v.origin).is_some_and(|t| !t.known));
    assert!(findings.iter().any(|f| f.message.contains("refers to itself")), "{findings:#?}");
}

#[test]
fn hcl2_amazon_ami_data_source_gives_the_filter() {
    let (templates, _) = load_files(&[(
        "t.pkr.hcl",
        r#"data "amazon-ami" "debian" {
  filters = {
    name = "debian-12-amd64-*"
  }
  owners      = ["136693071363"]
  most_recent = true
}

source "amazon-ebs" "app" {
  source_ami = data.amazon-ami.debian.id
}

build {
  sources = ["source.amazon-ebs.app"]
}
"#,
    )]);
    let t = only(&templates);
    assert_eq!(t.data_sources[0].kind, "amazon-ami");
    let a = t.builders[0].amazon.as_ref().unwrap();
    assert_eq!(a.source_ami.as_ref().unwrap().raw, "data.amazon-ami.debian.id");
    let f = a.source_ami_filter.as_ref().unwrap();
    assert_eq!(f.data_source.as_deref(), Some("amazon-ami.debian"));
    assert_eq!(f.name.as_ref().unwrap().resolved, "debian-12-amd64-*");
    assert_eq!(t.builders[0].base_image.as_ref().unwrap().image, "debian:bookworm-slim");
}

#[test]
fn hcl2_unknown_source_ami_and_ami_ids() {
    let (templates, findings) = load_files(&[(
        "p/t.pkr.hcl",
        r#"variable "ami" {}
source "amazon-ebs" "a" {
  source_ami = var.ami
}
source "amazon-ebs" "b" {
  source_ami = "ami-0123456789abcdef0"
}
"#,
    )]);
    assert!(only(&templates).builders.iter().all(|b| b.base_image.is_none()));
    let lines: Vec<(&str, u32, Severity)> = findings.iter().map(|f| (f.code.id, f.line, f.severity)).collect();
    assert_eq!(
        lines,
        [("M021", 2, Severity::Info), ("M020", 3, Severity::Info), ("M021", 5, Severity::Info)],
        "{findings:#?}"
    );
    assert!(findings[2].message.contains("AMI id"), "{}", findings[2]);
}

#[test]
fn hcl2_clashing_files_are_separate_templates() {
    let (templates, findings) = load_files(&[
        ("img/ubuntu.pkr.hcl", "variable \"region\" {}\nsource \"null\" \"a\" {}\nbuild {}\n"),
        ("img/debian.pkr.hcl", "variable \"region\" {}\nsource \"null\" \"b\" {}\nbuild {}\n"),
        ("img/shared.pkr.hcl", "variable \"extra\" {}\n"),
        ("img/x.auto.pkrvars.hcl", "region = \"eu\"\n"),
    ]);
    let paths: Vec<&str> = templates.iter().map(|t| &*t.path).collect();
    assert_eq!(paths, ["img/debian.pkr.hcl", "img/ubuntu.pkr.hcl"]);
    assert!(templates.iter().all(|t| t.var_files.is_empty() && t.builders.len() == 1 && t.builds.len() == 1));
    assert_eq!(codes_of(&findings).iter().filter(|c| **c == "M008").count(), 1, "{findings:#?}");
}

#[test]
fn invalid_hcl_is_reported_and_the_rest_still_loads() {
    let (templates, findings) = load_files(&[
        ("a/bad.pkr.hcl", "source \"null\" \"x\" {\n  a = \n}\n"),
        ("a/good.pkr.hcl", "source \"null\" \"y\" {}\n"),
        ("b/t.pkr.hcl", "build {\n}\n"),
        ("a/broken.pkrvars.hcl", "x = [\n"),
    ]);
    assert_eq!(templates.len(), 2);
    assert_eq!(templates[0].builders.len(), 1);
    let errors: Vec<(&str, u32, &str)> =
        findings.iter().filter(|f| f.severity == Severity::Error).map(|f| (&*f.path, f.line, f.code.id)).collect();
    assert_eq!(errors.len(), 2, "{findings:#?}");
    assert!(errors.contains(&("a/bad.pkr.hcl", 2, "M002")));
    assert!(errors.iter().any(|(p, _, c)| *p == "a/broken.pkrvars.hcl" && *c == "M002"));
}

#[test]
fn hcl2_wrong_shapes_are_findings() {
    let (templates, findings) = load_files(&[(
        "t.pkr.hcl",
        r#"top = 1
source "null" {}
whatever {}
variable "a" {}
variable "a" {}
source "null" "n" {}
source "null" "n" {}
build {
  provisioner {}
  provisioner "shell" {
    inline = { a = 1 }
  }
  provisioner "ansible" {}
}
"#,
    )]);
    let t = only(&templates);
    assert_eq!(t.variables.len(), 1);
    assert_eq!(t.builds[0].provisioners.len(), 2);
    let lines: Vec<u32> = findings.iter().filter(|f| f.code == codes::UNEXPECTED_SHAPE).map(|f| f.line).collect();
    assert_eq!(lines, [1, 2, 3, 5, 7, 9, 11, 13], "{findings:#?}");
    assert_eq!(t.builders.len(), 1);
}

#[test]
fn unreadable_hcl_files_are_m001() {
    let (_d, set) = repo(&[("t.pkr.hcl", b"source \"null\" \"\xff\" {}\n")]);
    let (templates, findings) = load(&set);
    assert!(templates.is_empty());
    assert_eq!(codes_of(&findings), ["M001"]);
}

#[test]
fn summary_is_stable_and_lists_what_scan_shows() {
    let (templates, _) = hcl_repo(&[]);
    let summary = serde_json::to_value(only(&templates).summary()).unwrap();
    assert_eq!(summary["path"], "packer");
    assert_eq!(summary["format"], "hcl2");
    assert_eq!(summary["builders"][0]["type"], "amazon-ebs");
    assert_eq!(summary["builders"][0]["source_ami_filter"], "ubuntu/images/*ubuntu-focal-20.04-amd64-server-*");
    assert_eq!(summary["builders"][0]["base_image"], "ubuntu:20.04");
    assert_eq!(summary["provisioners"][2]["type"], "ansible");
    assert_eq!(summary["provisioners"][2]["origin"]["line"], 21);
    assert_eq!(summary["provisioners"][2]["playbooks"][0], "ansible/site.yml");
    assert_eq!(summary["post_processors"][1]["type"], "docker-tag");
    assert_eq!(summary["variables"].as_array().unwrap().len(), 5);
}

#[test]
fn loading_is_deterministic_and_sorted() {
    let files = [
        ("z/t.json", r#"{"builders": [{"type": "null"}]}"#),
        ("a/t.pkr.hcl", "source \"null\" \"n\" {}\n"),
        ("m.json", r#"{"builders": [{"type": "null"}]}"#),
    ];
    let (first, f1) = load_files(&files);
    let (second, f2) = load_files(&files);
    let paths: Vec<&str> = first.iter().map(|t| &*t.path).collect();
    assert_eq!(paths, ["a", "m.json", "z/t.json"]);
    assert_eq!(format!("{first:?}{f1:?}"), format!("{second:?}{f2:?}"));
    let mut sorted = f1.clone();
    diagnostics::normalize(&mut sorted);
    assert_eq!(sorted, f1);
}

#[test]
fn empty_repository_has_no_templates() {
    let (templates, findings) = load_files(&[]);
    assert!(templates.is_empty() && findings.is_empty());
}

#[test]
fn missing_scripts_are_one_finding_per_provisioner() {
    let (_, findings) = load_files(&[(
        "t.json",
        r#"{"builders": [{"type": "null"}],
"provisioners": [
{"type": "shell", "scripts": ["a.sh", "b.sh", "c.sh", "d.sh", "e.sh"]},
{"type": "shell", "script": "f.sh"}]}"#,
    )]);
    let m005: Vec<(u32, &str)> =
        findings.iter().filter(|f| f.code == codes::MISSING_FILE).map(|f| (f.line, f.message.as_str())).collect();
    assert_eq!(
        m005,
        [
            (3, "`shell` provisioner: 5 scripts do not exist: `a.sh`, `b.sh`, `c.sh` and 2 more"),
            (4, "`shell` provisioner: script `f.sh` does not exist (written `f.sh`)"),
        ]
    );
}

/// Regression: locals were evaluated after the variables had been moved out of
/// the loader, so `local.x = "${var.y}"` indexed an empty list and panicked.
#[test]
fn hcl_locals_referencing_variables_resolve() {
    let (templates, findings) = load_files(&[(
        "packer/t.pkr.hcl",
        "variable \"region\" {\n  default = \"eu-west-1\"\n}\nlocals {\n  where = \"${var.region}-a\"\n}\n\
         source \"amazon-ebs\" \"base\" {\n  region = local.where\n}\nbuild {\n  sources = [\"source.amazon-ebs.base\"]\n}\n",
    )]);
    let t = only(&templates);
    assert_eq!(t.locals.len(), 1, "{findings:?}");
    assert_eq!(resolved(plain(&t.locals[0].value)), "eu-west-1-a");
}
