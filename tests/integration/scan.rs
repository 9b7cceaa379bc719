//! `migrate scan` on repositories built in temp directories: what the summary
//! and the JSON form show, and that both are deterministic.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::support::run_migrate;

/// Writes `files` (path, content) into a fresh temp directory.
pub fn write_repo(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (rel, content) in files {
        let path = dir.path().join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, content).expect("write");
    }
    dir
}

/// Runs `migrate scan <repo> [--format json]`; returns exit code and stdout.
pub fn scan(repo: &Path, json: bool) -> (i32, String) {
    let repo = repo.to_str().expect("utf-8 temp path");
    let mut args = vec!["scan", repo];
    if json {
        args.extend(["--format", "json"]);
    }
    let out = run_migrate(Path::new("."), &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "stderr: {stderr}");
    (out.status.code().expect("exit code"), String::from_utf8(out.stdout).expect("utf-8 stdout"))
}

/// The finding lines of a text scan (`path:line CODE severity: message`).
pub fn finding_lines(stdout: &str) -> Vec<&str> {
    stdout.lines().take_while(|l| !l.is_empty() && !l.starts_with("Playbooks:")).collect()
}

const VAULT_TEXT: &str = "$ANSIBLE_VAULT;1.2;AES256;prod\n6162636465666768\n";

fn web_company_repo() -> tempfile::TempDir {
    write_repo(&[
        ("ansible.cfg", b"[defaults]\nroles_path = roles:vendor\ninventory = inventories/staging/hosts\n"),
        (
            "site.yml",
            b"- import_playbook: web.yml\n- hosts: db\n  become: yes\n  environment:\n    PGDATA: /var/lib/pg\n  roles:\n    - role: geerlingguy.postgresql\n    - common\n  tasks:\n    - name: extra tools\n      ansible.builtin.apt: name=htop\n",
        ),
        (
            "web.yml",
            b"- name: web servers\n  hosts: web\n  vars_files:\n    - vars/common.yml\n  roles:\n    - common\n    - { role: nginx, nginx_port: 8080 }\n    - app\n",
        ),
        (
            "roles/common/tasks/main.yml",
            b"- name: packages\n  apt: name={{ item }} state=present\n  loop: [git, curl]\n- include_tasks: \"setup-{{ ansible_os_family }}.yml\"\n- import_tasks: users.yml\n",
        ),
        ("roles/common/tasks/setup-Debian.yml", b"- apt: name=ntp\n"),
        ("roles/common/tasks/setup-RedHat.yml", b"- yum: name=ntp\n"),
        ("roles/common/tasks/users.yml", b"- user: name=deploy shell=/bin/bash\n"),
        (
            "roles/nginx/tasks/main.yml",
            b"- template: src=vhost.conf.j2 dest=/etc/nginx/conf.d/app.conf\n  notify: reload nginx\n- copy:\n    src: index.html\n    dest: /var/www/index.html\n",
        ),
        ("roles/nginx/handlers/main.yml", b"- name: reload nginx\n  service: name=nginx state=reloaded\n"),
        ("roles/nginx/templates/vhost.conf.j2", b"listen {{ nginx_port }};\n"),
        ("roles/nginx/files/index.html", b"<h1>hi</h1>\n"),
        ("roles/nginx/defaults/main.yml", b"nginx_port: 80\n"),
        (
            "roles/app/tasks/main.yml",
            b"- name: open port\n  community.general.ufw: rule=allow port=8080\n- block:\n    - command: /opt/app/migrate\n      environment:\n        DATABASE_URL: \"{{ db_url }}\"\n        APP_ENV: staging\n  rescue:\n    - debug: msg=failed\n",
        ),
        ("roles/app/meta/main.yml", b"dependencies:\n  - role: common\n"),
        ("roles/app/vars/main.yml", b"app_secret: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3031\napp_port: 8080\n"),
        ("roles/unused/tasks/main.yml", b"- ping:\n"),
        ("vendor/geerlingguy.postgresql/tasks/main.yml", b"- package: name=postgresql\n"),
        ("inventories/staging/hosts", b"[web]\nweb1 ansible_host=10.0.0.1\n[db]\ndb1\n[staging:children]\nweb\ndb\n"),
        (
            "inventories/production/hosts.yml",
            b"all:\n  children:\n    web:\n      hosts:\n        web[01:03].example.com:\n    db:\n      hosts:\n        db1.example.com: {}\n",
        ),
        ("group_vars/all.yml", b"ntp_server: pool.ntp.org\n"),
        ("group_vars/web/main.yml", b"http_port: 80\n"),
        ("group_vars/web/vault.yml", VAULT_TEXT.as_bytes()),
        ("vars/common.yml", b"timezone: UTC\n"),
    ])
}

#[test]
fn text_summary_of_a_web_company_repo() {
    let repo = web_company_repo();
    let (code, out) = scan(repo.path(), false);
    assert_eq!(code, 0, "{out}");
    let expected = "\
group_vars/web/vault.yml:1 M010 info: file is Ansible Vault ciphertext (vault id `prod`); treated as secret, not decrypted here
roles/app/vars/main.yml:1 M010 info: `app_secret` is an inline vault value (default vault id); treated as secret
roles/common/tasks/main.yml:4 M013 info: task file `setup-{{ ansible_os_family }}.yml` is named by a template, known only at run time; 2 candidate files in the repository

Playbooks: 2
  site.yml (1 play, 1 import)
    :1 import web.yml -> web.yml
    :2 play (unnamed)  hosts: db  roles: geerlingguy.postgresql, common  tasks: 1
  web.yml (1 play)
    :1 play \"web servers\"  hosts: web  roles: common, nginx, app  tasks: 0
Roles: 5 (1 unused)
  app                     roles/app  3 tasks, 0 handlers, 0 templates, 0 files, deps: common
  common                  roles/common  6 tasks, 0 handlers, 0 templates, 0 files
  nginx                   roles/nginx  2 tasks, 1 handler, 1 template, 1 file
  unused                  roles/unused  1 task, 0 handlers, 0 templates, 0 files  (unused)
  geerlingguy.postgresql  vendor/geerlingguy.postgresql  1 task, 0 handlers, 0 templates, 0 files
Tasks: 15 in plays and 9 task files
  3 apt
  1 command
  1 copy
  1 debug
  1 import_tasks
  1 include_tasks
  1 package
  1 ping
  1 service
  1 template
  1 ufw
  1 user
  1 yum
Inventories: 2
  inventories/production/hosts.yml (yaml): 3 groups, 2 hosts
    all: 0 hosts, children: web, db
    web: 1 host
    db: 1 host
  inventories/staging/hosts (ini): 3 groups, 2 hosts
    web: 1 host
    db: 1 host
    staging: 0 hosts, children: web, db
Environment variables: 3 keys in 2 `environment:` blocks (3 distinct)
  APP_ENV, DATABASE_URL, PGDATA
Secrets: 1 vault-encrypted file, 1 inline vault value
  group_vars/web/vault.yml (vault id prod)
Packer templates: 0
Findings: 0 errors, 0 warnings, 3 info
";
    assert_eq!(out, expected);
}

#[test]
fn json_form_is_documented_shape() {
    let repo = web_company_repo();
    let (code, out) = scan(repo.path(), true);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["files"], 23);
    let roles = v["roles"].as_array().expect("roles");
    let unused: Vec<&str> =
        roles.iter().filter(|r| r["used"] == false).map(|r| r["name"].as_str().unwrap_or_default()).collect();
    assert_eq!(unused, vec!["unused"]);
    assert_eq!(v["tasks"]["total"], 15);
    assert_eq!(v["tasks"]["by_module"][0], serde_json::json!({"module": "apt", "count": 3}));
    assert_eq!(v["inventories"][1]["format"], "ini");
    assert_eq!(v["environment"]["names"], serde_json::json!(["APP_ENV", "DATABASE_URL", "PGDATA"]));
    assert_eq!(
        v["secrets"]["vault_files"][0],
        serde_json::json!({"path": "group_vars/web/vault.yml", "vault_id": "prod"})
    );
    assert_eq!(v["secrets"]["inline_values"], 1);
    assert_eq!(v["packer"], serde_json::json!({"templates": []}));
    assert_eq!(v["findings"]["infos"], 3);
    let first = &v["findings"]["items"][0];
    assert_eq!(first["path"], "group_vars/web/vault.yml");
    assert_eq!(first["line"], 1);
    assert_eq!(first["code"], "M010");
    assert_eq!(first["severity"], "info");
    // The ciphertext never reaches the output.
    assert!(!out.contains("6162636465666768") && !out.contains("3031"), "{out}");
}

#[test]
fn output_is_byte_for_byte_deterministic() {
    let repo = web_company_repo();
    let first = scan(repo.path(), false).1;
    let json = scan(repo.path(), true).1;
    for _ in 0..3 {
        assert_eq!(scan(repo.path(), false).1, first);
        assert_eq!(scan(repo.path(), true).1, json);
    }
}

#[test]
fn missing_roles_are_findings_not_crashes() {
    let repo = write_repo(&[
        ("site.yml", b"- hosts: all\n  roles:\n    - nowhere\n    - geerlingguy.docker\n"),
        ("requirements.yml", b"roles:\n  - name: geerlingguy.docker\n"),
    ]);
    let (code, out) = scan(repo.path(), false);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        finding_lines(&out),
        vec![
            "site.yml:3 M006 warning: role `nowhere` not found (searched roles, .)",
            "site.yml:4 M006 info: role `geerlingguy.docker` is not in the repository; `requirements.yml` lists it (ansible-galaxy installs it)",
        ]
    );
}

#[test]
fn galaxy_names_and_the_repository_as_a_role() {
    // A Galaxy role's own repository: Molecule's converge playbook names the
    // role by its Galaxy name; a vendored `owner.role` is found by either name.
    let repo = write_repo(&[
        ("tasks/main.yml", b"- name: install\n  package: name=java\n"),
        ("meta/main.yml", b"galaxy_info:\n  role_name: java\n  author: acme\ndependencies: []\n"),
        ("molecule/default/converge.yml", b"- hosts: all\n  roles:\n    - role: acme.java\n"),
        ("play/site.yml", b"- hosts: all\n  roles:\n    - acme.ntp\n    - acme.tz\n"),
        ("play/roles/acme.ntp/tasks/main.yml", b"- service: name=ntp state=started\n"),
        ("play/roles/tz/tasks/main.yml", b"- timezone: name=UTC\n"),
    ]);
    let (code, out) = scan(repo.path(), true);
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).expect("json");
    let roles: Vec<(String, String, bool)> = v["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default().into(),
                r["path"].as_str().unwrap_or_default().into(),
                r["used"] == true,
            )
        })
        .collect();
    assert_eq!(
        roles,
        vec![
            ("java".into(), ".".into(), true),
            ("acme.ntp".into(), "play/roles/acme.ntp".into(), true),
            ("tz".into(), "play/roles/tz".into(), true),
        ]
    );
    assert_eq!(v["findings"]["items"], serde_json::json!([]));
}

#[test]
fn includes_with_role_path_loops_and_first_found() {
    let repo = write_repo(&[
        ("site.yml", b"- hosts: all\n  roles: [web]\n"),
        (
            "roles/web/tasks/main.yml",
            b"- include_tasks: \"{{ item }}\"\n  loop: [a.yml, b.yml]\n- include_vars: \"{{ item }}\"\n  with_first_found:\n    - files:\n        - \"vars/{{ ansible_os_family }}.yml\"\n        - vars/default.yml\n- copy: src={{ role_path }}/files/app.conf dest=/etc/app.conf\n- include_role:\n    name: web\n    tasks_from: extra\n",
        ),
        ("roles/web/tasks/a.yml", b"- debug: msg=a\n"),
        ("roles/web/tasks/b.yml", b"- debug: msg=b\n"),
        ("roles/web/tasks/extra.yml", b"- debug: msg=extra\n"),
        ("roles/web/vars/Debian.yml", b"pkg: apache2\n"),
        ("roles/web/vars/default.yml", b"pkg: httpd\n"),
        ("roles/web/files/app.conf", b"x=1\n"),
    ]);
    let (code, out) = scan(repo.path(), true);
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).expect("json");
    let lines: Vec<String> = v["findings"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|f| {
            format!(
                "{}:{} {}",
                f["path"].as_str().unwrap_or_default(),
                f["line"],
                f["code"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(lines, vec!["roles/web/tasks/main.yml:1 M013", "roles/web/tasks/main.yml:3 M013"]);
    assert!(out.contains("2 candidate files"), "{out}");
    // a.yml, b.yml and extra.yml are loaded: 3 debug tasks.
    let debug = v["tasks"]["by_module"].as_array().expect("modules").iter().find(|m| m["module"] == "debug").cloned();
    assert_eq!(debug, Some(serde_json::json!({"module": "debug", "count": 3})));
}

#[test]
fn environment_and_every_task_spelling_count_once() {
    let repo = write_repo(&[(
        "site.yml",
        b"- hosts: all\n  environment: {HTTP_PROXY: 'http://proxy:3128'}\n  tasks:\n    - action: shell echo hi\n    - local_action: command uptime\n    - ansible.legacy.copy: {src: /etc/hosts, dest: /tmp/h, remote_src: yes}\n    - block:\n        - name: inner\n          shell: ./run.sh\n          environment:\n            HTTP_PROXY: 'http://other:3128'\n            NO_PROXY: localhost\n      environment: \"{{ proxy_env }}\"\n",
    )]);
    let (code, out) = scan(repo.path(), true);
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        v["environment"],
        serde_json::json!({"blocks": 3, "keys": 3, "names": ["HTTP_PROXY", "NO_PROXY"], "templated": 1})
    );
    assert_eq!(
        v["tasks"]["by_module"],
        serde_json::json!([
            {"module": "shell", "count": 2},
            {"module": "command", "count": 1},
            {"module": "copy", "count": 1},
        ])
    );
}
