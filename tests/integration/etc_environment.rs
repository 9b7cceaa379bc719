//! `/etc/environment` written by lineinfile, copy and template becomes each service's
//! environment in SSM Parameter Store (rules M601, M602), pushed to a real moto_server:
//! per-environment values per environment, secrets as SecureString, a baseline play's
//! lines in every image, and a line that cannot be split flagged, never lost.

use std::fs;
use std::path::Path;

use crate::support::moto::{Moto, migrate_cmd};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn repo(root: &Path) {
    write(root, "migrate.yaml", "app:\n  name: shop\nbase_image: debian:bookworm-slim\n");
    for (env, url) in [("staging", "https://api.staging.internal"), ("production", "https://api.internal")] {
        write(root, &format!("inventories/{env}/hosts.ini"), "[web]\nweb1\n");
        write(
            root,
            &format!("inventories/{env}/group_vars/all.yml"),
            &format!("api_url: {url}\napi_token: tok-{env}-7f3a9c1e5b2d4f60\n"),
        );
    }
    write(
        root,
        "site.yml",
        "- hosts: all\n  tasks:\n    - name: Proxy for every session\n      lineinfile:\n        path: /etc/environment\n        \
         line: HTTP_PROXY=http://proxy.internal:3128\n\
         - hosts: web\n  roles: [web]\n",
    );
    write(
        root,
        "roles/web/tasks/main.yml",
        "- name: Install nginx\n  apt: { name: nginx, state: present }\n\
         - name: Settings for the API client\n  template: { src: environment.j2, dest: /etc/environment }\n\
         - name: Locale\n  copy: { content: \"LANG=C.UTF-8\\n\", dest: /etc/environment }\n\
         - name: Start nginx\n  service: { name: nginx, state: started, enabled: true }\n",
    );
    write(
        root,
        "roles/web/templates/environment.j2",
        "# {{ ansible_managed | default('managed') }}\nAPI_URL={{ api_url }}\nAPI_TOKEN=\"{{ api_token }}\"\n\
         CALLBACK=prefix-{{ api_url }}/cb\nLOG_FORMAT=json\n",
    );
}

#[test]
fn etc_environment_lines_become_parameters_of_the_services_that_read_them() {
    let moto = Moto::start();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    repo(&root);

    let out = migrate_cmd(tmp.path())
        .args(["ssm", "push", "repo", "--env", "staging", "--endpoint-url", &moto.url(), "--writes-per-second", "0"])
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains("tok-staging") && !stderr.contains("tok-staging"), "a secret was printed");

    let names = moto.names_under("/shop/staging");
    assert_eq!(
        names,
        [
            "/shop/staging/nginx/API_TOKEN",
            "/shop/staging/nginx/API_URL",
            "/shop/staging/nginx/HTTP_PROXY",
            "/shop/staging/nginx/LANG",
            "/shop/staging/nginx/LOG_FORMAT",
        ],
        "{stdout}\n{stderr}"
    );
    let get = |key: &str| moto.get(&format!("/shop/staging/nginx/{key}")).unwrap();
    assert_eq!(get("API_URL"), ("https://api.staging.internal".into(), 1, "String".into()));
    assert_eq!(get("API_TOKEN"), ("tok-staging-7f3a9c1e5b2d4f60".into(), 1, "SecureString".into()));
    assert_eq!(get("HTTP_PROXY").0, "http://proxy.internal:3128");
    assert_eq!(get("LANG").0, "C.UTF-8");
    assert_eq!(get("LOG_FORMAT").0, "json");

    // The line that mixes a per-environment value with text is flagged with its file and line.
    let plan = migrate_cmd(tmp.path()).args(["plan", "repo", "--env", "staging", "--out", "out"]).output().unwrap();
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        text.contains("roles/web/tasks/main.yml:3 M602 warning: 1 line of `/etc/environment` cannot become")
            && text.contains("`CALLBACK=…`"),
        "{text}"
    );
    assert!(text.contains("site.yml:3 M601 info:"), "{text}");
    // Nothing of it is baked into the image.
    let apply = migrate_cmd(tmp.path()).args(["apply", "repo", "--env", "staging", "--out", "out"]).output().unwrap();
    assert!(apply.status.success(), "{}", String::from_utf8_lossy(&apply.stderr));
    let dockerfile = fs::read_to_string(tmp.path().join("out/nginx/Dockerfile")).unwrap();
    assert!(!dockerfile.contains("/etc/environment"), "{dockerfile}");
    let report = fs::read_to_string(tmp.path().join("out/nginx/MIGRATION.md")).unwrap();
    assert!(report.contains("`/shop/staging/nginx/API_URL`"), "{report}");
}
