//! Bad input: every problem is a finding at its file and line, one broken
//! file never stops the scan of the rest, and nothing panics. Each test
//! builds a small repository with one kind of damage next to a healthy
//! playbook and checks both the exact finding lines and that the healthy
//! part was still read.

use std::fs;

use crate::scan::{finding_lines, scan, write_repo};

/// A healthy playbook and role, present in every damaged repository.
const HEALTHY: &[(&str, &[u8])] =
    &[("ok.yml", b"- hosts: all\n  roles: [ok]\n"), ("roles/ok/tasks/main.yml", b"- name: fine\n  apt: name=curl\n")];

fn repo_with(extra: &[(&str, &[u8])]) -> tempfile::TempDir {
    let files: Vec<(&str, &[u8])> = HEALTHY.iter().chain(extra).copied().collect();
    write_repo(&files)
}

/// The healthy part was read: its playbook and its role's task are there.
fn assert_healthy_part_read(out: &str) {
    assert!(out.contains("  ok.yml (1 play)"), "healthy playbook missing:\n{out}");
    let role = out.lines().find(|l| l.starts_with("  ok ") && l.contains(" roles/ok  "));
    assert!(role.is_some_and(|l| l.contains("roles/ok  1 task, ")), "healthy role missing:\n{out}");
}

#[test]
fn invalid_yaml() {
    let repo = repo_with(&[("broken.yml", b"- hosts: all\n  tasks:\n    - apt: [unclosed\n  roles: x\n")]);
    let (code, out) = scan(repo.path(), false);
    assert_eq!(code, 1, "{out}");
    let lines = finding_lines(&out);
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].starts_with("broken.yml:4 M002 error: invalid YAML: "), "{out}");
    assert_healthy_part_read(&out);
}

#[test]
fn invalid_json_and_ini() {
    let repo = repo_with(&[
        ("group_vars/all.json", b"{\"ntp\": \"pool\",\n \"dns\": [1, 2\n}\n"),
        ("inventory/hosts", b"[web]\nweb1 ansible_port=22\nweb2 port\n[web:vars]\nno_equals_here\n"),
        ("ansible.cfg", b"[defaults]\nroles_path = roles\nthis line is wrong\n"),
    ]);
    let (code, out) = scan(repo.path(), false);
    assert_eq!(code, 1, "{out}");
    let lines = finding_lines(&out);
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[0], "ansible.cfg:3 M002 error: expected `key = value`, found `this line is wrong`");
    assert!(lines[1].starts_with("group_vars/all.json:3 M002 error: invalid YAML: "), "{out}");
    assert_eq!(lines[2], "inventory/hosts:3 M002 error: expected `key=value` after host `web2`, found `port`");
    assert_eq!(lines[3], "inventory/hosts:5 M002 error: expected `key=value`, found `no_equals_here`");
    // The inventory's good lines are kept.
    assert!(out.contains("  inventory/hosts (ini): 1 group, 2 hosts"), "{out}");
    assert_healthy_part_read(&out);
}

#[test]
fn non_utf8_file() {
    let repo = repo_with(&[("roles/latin/tasks/main.yml", b"- name: ok\n  debug: msg=caf\xe9\n")]);
    let (code, out) = scan(repo.path(), false);
    assert_eq!(code, 1, "{out}");
    assert_eq!(finding_lines(&out), vec!["roles/latin/tasks/main.yml:2 M001 error: file is not valid UTF-8"]);
    assert_healthy_part_read(&out);
}

#[test]
fn binary_file() {
    let repo = repo_with(&[
        ("vars/blob.yml", b"\x00\x01\x02\xffELF\x00"),
        // Binary payload in a role's files/ is normal and not reported.
        ("roles/ok/files/tool.bin", b"\x7fELF\x00\x00\x00"),
    ]);
    let (code, out) = scan(repo.path(), false);
    assert_eq!(code, 1, "{out}");
    assert_eq!(finding_lines(&out), vec!["vars/blob.yml:0 M001 error: file is binary, not text"]);
    assert_healthy_part_read(&out);
}

#[test]
fn yaml_alias_bomb() {
    let mut bomb = String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    let mut prev = 'a';
    for name in 'b'..='j' {
        let refs = vec![format!("*{prev}"); 9].join(",");
        bomb.push_str(&format!("{name}: &{name} [{refs}]\n"));
        prev = name;
    }
    let repo = repo_with(&[("group_vars/all.yml", bomb.as_bytes())]);
    let (code, out) = scan(repo.path(), false);
    assert_eq!(code, 1, "{out}");
    let lines = finding_lines(&out);
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].starts_with("group_vars/all.yml:6 M003 error: invalid YAML: alias expansion exceeds"), "{out}");
    assert_healthy_part_read(&out);
}

#[test]
fn deep_nesting() {
    let deep = "- ".repeat(50_000) + "x\n";
    let flow = "k: ".to_string() + &"[".repeat(20_000) + "\n";
    let repo = repo_with(&[("deep.yml", deep.as_bytes()), ("flow.yml", flow.as_bytes())]);
    let (code, out) = scan(repo.path(), false);
    assert_eq!(code, 1, "{out}");
    let heads: Vec<String> =
        finding_lines(&out).iter().map(|l| l.split(": ").next().unwrap_or("").to_string()).collect();
    // The parser's own limit on flow nesting surfaces as a syntax error.
    assert_eq!(heads, vec!["deep.yml:1 M003 error", "flow.yml:1 M002 error"], "{out}");
    assert!(out.contains("flow.yml:1 M002 error: invalid YAML: recursion limit exceeded"), "{out}");
    assert_healthy_part_read(&out);
}

#[test]
fn task_file_including_itself() {
    let repo = repo_with(&[
        ("loop.yml", b"- hosts: all\n  tasks:\n    - include_tasks: tasks/again.yml\n"),
        ("tasks/again.yml", b"- debug: msg=once\n- include_tasks: again.yml\n"),
    ]);
    let (code, out) = scan(repo.path(), false);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        finding_lines(&out),
        vec!["tasks/again.yml:2 M007 warning: include cycle tasks/again.yml → tasks/again.yml; not followed again",]
    );
    assert!(out.contains("Tasks: 4 in plays and 2 task files"), "{out}");
    assert_healthy_part_read(&out);
}

#[test]
fn roles_depending_on_each_other() {
    let repo = repo_with(&[
        ("cycle.yml", b"- hosts: all\n  roles: [a]\n"),
        ("roles/a/meta/main.yml", b"dependencies:\n  - role: b\n"),
        ("roles/a/tasks/main.yml", b"- debug: msg=a\n"),
        ("roles/b/meta/main.yml", b"dependencies:\n  - a\n"),
        ("roles/b/tasks/main.yml", b"- debug: msg=b\n"),
    ]);
    let (code, out) = scan(repo.path(), false);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        finding_lines(&out),
        vec!["roles/b/meta/main.yml:2 M007 warning: include cycle role `a` → role `b` → role `a`; not followed again",]
    );
    assert!(out.contains("  a   roles/a  1 task") && out.contains("  b   roles/b  1 task"), "{out}");
    assert_healthy_part_read(&out);
}

#[test]
fn playbooks_importing_each_other() {
    let repo = repo_with(&[
        ("one.yml", b"- import_playbook: two.yml\n"),
        ("two.yml", b"- import_playbook: one.yml\n- hosts: all\n  tasks: [{ping: }]\n"),
    ]);
    let (code, out) = scan(repo.path(), false);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        finding_lines(&out),
        vec!["two.yml:1 M007 warning: include cycle one.yml → two.yml → one.yml; not followed again"]
    );
    assert_healthy_part_read(&out);
}

#[test]
fn symlink_escaping_the_repository() {
    let outside = tempfile::tempdir().expect("temp dir");
    fs::write(outside.path().join("secret.yml"), b"- hosts: all\n  tasks: [{command: cat /etc/shadow}]\n")
        .expect("write");
    let repo = repo_with(&[]);
    std::os::unix::fs::symlink(outside.path().join("secret.yml"), repo.path().join("evil.yml")).expect("symlink");
    fs::create_dir_all(repo.path().join("roles/ok/files")).expect("mkdir");
    std::os::unix::fs::symlink(outside.path(), repo.path().join("roles/ok/files/outside")).expect("symlink");
    let (code, out) = scan(repo.path(), false);
    assert_eq!(code, 1, "{out}");
    let lines = finding_lines(&out);
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("evil.yml:0 M004 error: `"), "{out}");
    assert!(lines[1].starts_with("roles/ok/files/outside:0 M004 error: `"), "{out}");
    assert!(!out.contains("evil.yml (1 play)") && !out.contains("command"), "followed the link:\n{out}");
    assert_healthy_part_read(&out);
}

#[test]
fn paths_climbing_out_of_the_repository() {
    let repo = repo_with(&[
        ("escape.yml", b"- hosts: all\n  roles: [escape]\n"),
        (
            "roles/escape/tasks/main.yml",
            b"- name: fine\n  apt: name=curl\n- copy: src=../../../../../../etc/passwd dest=/tmp/p\n- include_vars: ../../../../../../etc/secrets.yml\n- template: src=/etc/motd.j2 dest=/etc/motd\n",
        ),
    ]);
    let (code, out) = scan(repo.path(), false);
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        finding_lines(&out),
        vec![
            "roles/escape/tasks/main.yml:3 M004 error: file `../../../../../../etc/passwd` is outside the repository; refused, not followed",
            "roles/escape/tasks/main.yml:4 M004 error: vars file `../../../../../../etc/secrets.yml` is outside the repository; refused, not followed",
            "roles/escape/tasks/main.yml:5 M004 warning: template `/etc/motd.j2` is an absolute path on the controller, outside the repository; not read",
        ]
    );
    assert_healthy_part_read(&out);
}

#[test]
fn references_to_missing_files() {
    let repo = repo_with(&[
        (
            "site.yml",
            b"- hosts: web\n  vars_files:\n    - vars/nope.yml\n  roles: [web]\n  tasks:\n    - include_tasks: tasks/nope.yml\n",
        ),
        (
            "roles/web/tasks/main.yml",
            b"- template: src=site.conf.j2 dest=/etc/nginx/site.conf\n- copy: src=deploy.sh dest=/usr/local/bin/deploy.sh mode=0755\n- script: bootstrap.sh --fast\n- import_tasks: gone.yml\n",
        ),
    ]);
    let (code, out) = scan(repo.path(), false);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        finding_lines(&out),
        vec![
            "roles/web/tasks/main.yml:1 M005 warning: template `site.conf.j2` not found (searched roles/web/templates/site.conf.j2 and 5 other places)",
            "roles/web/tasks/main.yml:2 M005 warning: file `deploy.sh` not found (searched roles/web/files/deploy.sh and 5 other places)",
            "roles/web/tasks/main.yml:3 M005 warning: script `bootstrap.sh` not found (searched roles/web/files/bootstrap.sh and 5 other places)",
            "roles/web/tasks/main.yml:4 M005 warning: task file `gone.yml` not found (searched roles/web/tasks/gone.yml and 1 other place)",
            "site.yml:3 M005 warning: vars file `vars/nope.yml` not found (searched vars/nope.yml)",
            "site.yml:6 M005 warning: task file `tasks/nope.yml` not found (searched tasks/nope.yml)",
        ]
    );
    assert_healthy_part_read(&out);
}

#[test]
fn file_over_the_size_cap() {
    let repo = repo_with(&[]);
    let big = fs::File::create(repo.path().join("huge.yml")).expect("create");
    big.set_len(16 * 1024 * 1024 + 1).expect("grow");
    let (code, out) = scan(repo.path(), false);
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        finding_lines(&out),
        vec!["huge.yml:0 M001 error: file is 16777217 bytes, over the 16777216-byte cap; not read",]
    );
    assert_healthy_part_read(&out);
}

#[test]
fn empty_repository() {
    let repo = tempfile::tempdir().expect("temp dir");
    let (code, out) = scan(repo.path(), false);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        finding_lines(&out),
        vec!["migrate: M011 info: no playbook, role or inventory found; this does not look like an Ansible repository",]
    );
    assert!(out.contains("Playbooks: 0\n") && out.contains("Roles: 0 (0 unused)\n"), "{out}");
}

#[test]
fn repository_that_is_not_ansible() {
    let repo = write_repo(&[
        ("README.md", b"# A web app\n"),
        ("app/main.py", b"print('hello')\n"),
        ("docker-compose.yml", b"services:\n  web:\n    image: nginx\n"),
        (".github/workflows/ci.yml", b"on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n"),
    ]);
    let (code, out) = scan(repo.path(), false);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        finding_lines(&out),
        vec!["migrate: M011 info: no playbook, role or inventory found; this does not look like an Ansible repository",]
    );
}

#[test]
fn hostile_shapes_do_not_panic() {
    // Valid YAML in shapes nobody expects, everywhere Ansible content can be.
    let repo = repo_with(&[
        ("weird.yml", b"- hosts: all\n  tasks: 42\n  roles: {a: 1}\n  vars: [1, 2]\n  environment: [1]\n  vars_files: {}\n- hosts: [1, {a: b}]\n  pre_tasks: [[], ~, 'str', {block: 7}]\n"),
        ("roles/odd/tasks/main.yml", b"{not: a list}\n"),
        ("roles/odd/meta/main.yml", b"dependencies: 5\n"),
        ("roles/odd/defaults/main.yml", b"- a\n- b\n"),
        ("inventory/hosts.yml", b"all:\n  hosts: 7\n  children: [x]\n"),
        ("group_vars/all", b"just a string\n"),
    ]);
    let (code, out) = scan(repo.path(), false);
    assert_eq!(code, 0, "{out}");
    let heads: Vec<String> =
        finding_lines(&out).iter().map(|l| l.split(": ").next().unwrap_or("").to_string()).collect();
    assert_eq!(
        heads,
        vec![
            "group_vars/all:1 M008 warning",
            "inventory/hosts.yml:2 M008 warning",
            "inventory/hosts.yml:3 M008 warning",
            "roles/odd/defaults/main.yml:1 M008 warning",
            "roles/odd/meta/main.yml:1 M008 warning",
            "roles/odd/tasks/main.yml:1 M008 warning",
            "weird.yml:2 M008 warning",
            "weird.yml:3 M008 warning",
            "weird.yml:4 M008 warning",
            "weird.yml:5 M008 warning",
            "weird.yml:6 M008 warning",
            "weird.yml:7 M008 warning",
            "weird.yml:8 M008 warning",
            "weird.yml:8 M008 warning",
            "weird.yml:8 M008 warning",
            "weird.yml:8 M008 warning",
        ],
        "{out}"
    );
    assert_healthy_part_read(&out);
}
