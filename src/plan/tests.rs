//! Planning and rendering on hand-built desired and current states: every action, every
//! conflict, secrets, long and binary files. The renderers are asserted on exact text.

use std::collections::BTreeMap;

use super::*;
use crate::diagnostics::{Finding, codes};

const SECRET: &str = "hunter2-s3cr3t";
const OLD_SECRET: &str = "old-pa55word";

pub(crate) fn desired(files: &[(&str, &str)]) -> Desired {
    Desired {
        artifacts: files.iter().map(|(p, c)| Artifact::text(*p, *c)).collect(),
        parameters: Vec::new(),
        findings: Vec::new(),
    }
}

/// A current state: files on disk, and the manifest entries (path → content migrate wrote).
pub(crate) fn current(on_disk: &[(&str, &str)], manifest: &[(&str, &str)], desired: &Desired) -> Current {
    let mut files: BTreeMap<String, DiskEntry> = BTreeMap::new();
    for a in &desired.artifacts {
        files.insert(a.path.clone(), DiskEntry::Absent);
    }
    for (p, _) in manifest {
        files.insert(p.to_string(), DiskEntry::Absent);
    }
    for (p, c) in on_disk {
        files.insert(p.to_string(), DiskEntry::File(FileBody::new(c.as_bytes().to_vec(), false)));
    }
    let manifest = Manifest::new(manifest.iter().map(|(p, c)| (p.to_string(), sha256_hex(c.as_bytes()))).collect());
    Current {
        output_dir: "out".into(),
        manifest_sha256: (!manifest.files.is_empty()).then(|| "m".repeat(64)),
        manifest,
        files,
        parameters: None,
    }
}

fn plan_of(d: &Desired, c: &Current) -> Plan {
    diff(d, c).unwrap()
}

fn text(plan: &Plan) -> String {
    text::render(plan, text::Style::default())
}

fn live(name: &str, secure: bool, value: &str, version: i64) -> CurrentParameter {
    CurrentParameter { name: name.into(), secure, value: Sensitive::new(value.into()), version, managed: true }
}

const NGINX: &str = "FROM nginx:1.27-alpine\nCOPY nginx/nginx.conf /etc/nginx/nginx.conf\nEXPOSE 80\n";

#[test]
fn actions_for_every_combination_of_desired_disk_and_manifest() {
    let d = desired(&[
        ("new/Dockerfile", "A\n"),
        ("same/Dockerfile", "B\n"),
        ("changed/Dockerfile", "C2\n"),
        ("edited/Dockerfile", "D2\n"),
        ("handmade/Dockerfile", "E\n"),
        ("adopted/Dockerfile", "F\n"),
    ]);
    let c = current(
        &[
            ("same/Dockerfile", "B\n"),
            ("changed/Dockerfile", "C1\n"),
            ("edited/Dockerfile", "D1 edited\n"),
            ("handmade/Dockerfile", "mine\n"),
            ("adopted/Dockerfile", "F\n"),
            ("stale/Dockerfile", "S\n"),
            ("stale-edited/Dockerfile", "T edited\n"),
        ],
        &[
            ("same/Dockerfile", "B\n"),
            ("changed/Dockerfile", "C1\n"),
            ("edited/Dockerfile", "D1\n"),
            ("stale/Dockerfile", "S\n"),
            ("stale-edited/Dockerfile", "T\n"),
            ("gone/Dockerfile", "G\n"),
        ],
        &d,
    );
    let plan = plan_of(&d, &c);
    let actions: Vec<(&str, Action)> = plan.files.iter().map(|f| (f.path.as_str(), f.action)).collect();
    assert_eq!(
        actions,
        vec![
            ("adopted/Dockerfile", Action::NoOp),
            ("changed/Dockerfile", Action::Update),
            ("edited/Dockerfile", Action::Conflict(Conflict::EditedByHand)),
            ("gone/Dockerfile", Action::NoOp),
            ("handmade/Dockerfile", Action::Conflict(Conflict::NotGenerated)),
            ("new/Dockerfile", Action::Create),
            ("same/Dockerfile", Action::NoOp),
            ("stale-edited/Dockerfile", Action::Conflict(Conflict::StaleEdited)),
            ("stale/Dockerfile", Action::Delete),
        ]
    );
    assert_eq!(plan.summary(), Summary { add: 1, change: 1, destroy: 1, conflict: 3 });
}

#[test]
fn a_pending_manifest_entry_counts_as_migrates_own() {
    let d = desired(&[("web/Dockerfile", "v3\n")]);
    let mut c = current(&[("web/Dockerfile", "v2\n")], &[("web/Dockerfile", "v1\n")], &d);
    assert_eq!(plan_of(&d, &c).files[0].action, Action::Conflict(Conflict::EditedByHand));
    c.manifest.pending.insert("web/Dockerfile".into(), sha256_hex(b"v2\n"));
    assert_eq!(plan_of(&d, &c).files[0].action, Action::Update);
}

#[test]
fn bad_paths_are_refused_before_anything_is_read() {
    for (path, why) in [
        ("/etc/passwd", "it is absolute"),
        ("../x", "it has a `..` component"),
        ("a/../../x", "it has a `..` component"),
        ("a//b", "it has an empty component"),
        ("./a", "it has a `.` component"),
        ("a\\b", "it contains a backslash"),
        ("", "it is empty"),
        (MANIFEST_FILE, "it is the name of migrate's manifest"),
    ] {
        let d = desired(&[(path, "x")]);
        let err = diff(&d, &current(&[], &[], &Desired::default())).unwrap_err();
        assert_eq!(err, PlanError::BadPath { path: path.into(), why }, "{path}");
    }
    let d = desired(&[("a", "1"), ("a", "2")]);
    assert_eq!(validate(&d).unwrap_err(), PlanError::DuplicatePath("a".into()));
}

/// The table of text renderings: one hand-built plan per case, exact output.
#[test]
fn text_renderings() {
    let long_old: String = (1..=30).map(|i| format!("RUN step {i}\n")).collect();
    let long_new = long_old.replace("RUN step 15\n", "RUN step fifteen\n");

    let mut cases: Vec<(&str, Plan, &str)> = Vec::new();

    let d = desired(&[("nginx/Dockerfile", NGINX)]);
    cases.push((
        "create",
        plan_of(&d, &current(&[], &[], &d)),
        r#"Resource actions are indicated with the following symbols:
  + create

migrate will perform the following actions:

  # file "out/nginx/Dockerfile" will be created
  + file "out/nginx/Dockerfile" {
      + FROM nginx:1.27-alpine
      + COPY nginx/nginx.conf /etc/nginx/nginx.conf
      + EXPOSE 80
    }

Plan: 1 to add, 0 to change, 0 to destroy.
"#,
    ));

    let old = "FROM php:8.3-fpm-alpine\nRUN docker-php-ext-install mysqli\nCMD [\"php-fpm\"]\n";
    let new = "FROM php:8.3-fpm-alpine\nRUN docker-php-ext-install mysqli pdo_mysql\nCMD [\"php-fpm\"]\n";
    let d = desired(&[("php-fpm/Dockerfile", new)]);
    cases.push((
        "update",
        plan_of(&d, &current(&[("php-fpm/Dockerfile", old)], &[("php-fpm/Dockerfile", old)], &d)),
        r#"Resource actions are indicated with the following symbols:
  ~ update in-place

migrate will perform the following actions:

  # file "out/php-fpm/Dockerfile" will be updated in-place
  ~ file "out/php-fpm/Dockerfile" {
        FROM php:8.3-fpm-alpine
      - RUN docker-php-ext-install mysqli
      + RUN docker-php-ext-install mysqli pdo_mysql
        CMD ["php-fpm"]
    }

Plan: 0 to add, 1 to change, 0 to destroy.
"#,
    ));

    let d = desired(&[]);
    cases.push((
        "delete",
        plan_of(&d, &current(&[("old/Dockerfile", "FROM x\n")], &[("old/Dockerfile", "FROM x\n")], &d)),
        r#"Resource actions are indicated with the following symbols:
  - destroy

migrate will perform the following actions:

  # file "out/old/Dockerfile" will be destroyed
  # (because no service generates it any more)
  - file "out/old/Dockerfile" {
      - FROM x
    }

Plan: 0 to add, 0 to change, 1 to destroy.
"#,
    ));

    let mut d = desired(&[("nginx/Dockerfile", NGINX)]);
    let c = current(&[("nginx/Dockerfile", NGINX)], &[("nginx/Dockerfile", NGINX)], &d);
    cases.push(("no-op, files only", plan_of(&d, &c), "No changes. Generated files already match the playbooks.\n"));
    d.parameters.push(DesiredParameter::secret("/a/B", SECRET));
    let c = Current { parameters: Some(vec![live("/a/B", true, SECRET, 1)]), ..c };
    cases.push((
        "no-op",
        plan_of(&d, &c),
        "No changes. Generated files and Parameter Store already match the playbooks.\n",
    ));

    // Nothing desired, nothing in the manifest: not "already match".
    let d = desired(&[]);
    let c = current(&[], &[], &d);
    cases.push((
        "nothing to generate",
        plan_of(&d, &c),
        "No changes. Nothing to generate: no task became part of an image; the findings say what each became.\n",
    ));

    let d = desired(&[("web/Dockerfile", "FROM a\nRUN b\n"), ("api/Dockerfile", "FROM c\n")]);
    cases.push((
        "conflicts",
        plan_of(
            &d,
            &current(
                &[("web/Dockerfile", "FROM a\nRUN b --edited\n"), ("api/Dockerfile", "FROM mine\n")],
                &[("web/Dockerfile", "FROM a\nRUN b\n")],
                &d,
            ),
        ),
        r#"Resource actions are indicated with the following symbols:
  ! conflict: changed by hand, left untouched

migrate will perform the following actions:

  # file "out/api/Dockerfile" was not written by migrate and will not be overwritten
  # (a file added by hand where migrate generates one; `migrate apply --force` overwrites it)
  ! file "out/api/Dockerfile" {
      - FROM mine
      + FROM c
    }

  # file "out/web/Dockerfile" was edited by hand and will not be updated
  # (migrate wrote it, then it changed; `migrate apply --force` overwrites it)
  ! file "out/web/Dockerfile" {
        FROM a
      - RUN b --edited
      + RUN b
    }

Plan: 0 to add, 0 to change, 0 to destroy.
2 conflicts: migrate leaves them untouched, and `migrate apply` refuses to run until the files are moved or removed (or `--force` is given).
"#,
    ));

    let d = desired(&[("app/Dockerfile", &long_new)]);
    cases.push((
        "long file with hidden lines",
        plan_of(&d, &current(&[("app/Dockerfile", &long_old)], &[("app/Dockerfile", &long_old)], &d)),
        r#"Resource actions are indicated with the following symbols:
  ~ update in-place

migrate will perform the following actions:

  # file "out/app/Dockerfile" will be updated in-place
  ~ file "out/app/Dockerfile" {
        # (11 unchanged lines hidden)
        RUN step 12
        RUN step 13
        RUN step 14
      - RUN step 15
      + RUN step fifteen
        RUN step 16
        RUN step 17
        RUN step 18
        # (12 unchanged lines hidden)
    }

Plan: 0 to add, 1 to change, 0 to destroy.
"#,
    ));

    let mut d = desired(&[]);
    let png = vec![0x89, b'P', b'N', b'G', 0, 1];
    d.artifacts.push(Artifact { path: "web/logo.png".into(), content: png, executable: false });
    let script = b"#!/bin/sh\nexec \"$@\"\n".to_vec();
    d.artifacts.push(Artifact { path: "web/entrypoint.sh".into(), content: script, executable: true });
    let mut c = current(&[], &[("web/logo.png", "")], &d);
    c.files.insert("web/logo.png".into(), DiskEntry::File(FileBody::new(vec![0x89, b'P', 0], false)));
    c.manifest.files.insert("web/logo.png".into(), sha256_hex(&[0x89, b'P', 0]));
    cases.push((
        "binary file and executable",
        plan_of(&d, &c),
        r#"Resource actions are indicated with the following symbols:
  + create
  ~ update in-place

migrate will perform the following actions:

  # file "out/web/entrypoint.sh" will be created
  + file "out/web/entrypoint.sh" {
      + mode = "0755"
      + #!/bin/sh
      + exec "$@"
    }

  # file "out/web/logo.png" will be updated in-place
  ~ file "out/web/logo.png" {
      ~ (binary, 3 bytes, sha256 2913d024c74b) -> (binary, 6 bytes, sha256 09824c6bec84)
    }

Plan: 1 to add, 1 to change, 0 to destroy.
"#,
    ));

    let mut d = desired(&[]);
    d.parameters.push(DesiredParameter::secret("/shop/prod/php-fpm/DB_PASSWORD", SECRET));
    d.parameters.push(DesiredParameter::secret("/shop/prod/php-fpm/API_KEY", SECRET));
    d.parameters.push(DesiredParameter::plain("/shop/prod/php-fpm/LOG_LEVEL", "debug"));
    d.parameters.push(DesiredParameter::plain("/shop/prod/php-fpm/WORKERS", "4"));
    let mut c = current(&[], &[], &d);
    c.parameters = Some(vec![
        live("/shop/prod/php-fpm/API_KEY", false, OLD_SECRET, 3),
        live("/shop/prod/php-fpm/LOG_LEVEL", false, "info", 7),
        live("/shop/prod/php-fpm/WORKERS", false, "4", 1),
        live("/shop/prod/php-fpm/OLD_FLAG", false, "1", 2),
        CurrentParameter { managed: false, ..live("/shop/prod/php-fpm/SOMEONE_ELSES", true, OLD_SECRET, 1) },
    ]);
    cases.push((
        "parameters",
        plan_of(&d, &c),
        r#"Resource actions are indicated with the following symbols:
  + create
  ~ update in-place
  - destroy

migrate will perform the following actions:

  # ssm_parameter "/shop/prod/php-fpm/API_KEY" will be updated in-place
  ~ ssm_parameter "/shop/prod/php-fpm/API_KEY" {
      ~ type  = "String" -> "SecureString"
      ~ value = (sensitive value)
    }

  # ssm_parameter "/shop/prod/php-fpm/DB_PASSWORD" will be created
  + ssm_parameter "/shop/prod/php-fpm/DB_PASSWORD" {
      + type  = "SecureString"
      + value = (sensitive value)
    }

  # ssm_parameter "/shop/prod/php-fpm/LOG_LEVEL" will be updated in-place
  ~ ssm_parameter "/shop/prod/php-fpm/LOG_LEVEL" {
      ~ value = "info" -> "debug"
        # (1 unchanged attribute hidden)
    }

  # ssm_parameter "/shop/prod/php-fpm/OLD_FLAG" will be destroyed
  # (because no playbook sets it any more)
  - ssm_parameter "/shop/prod/php-fpm/OLD_FLAG" {
      - type  = "String"
      - value = "1"
    }

Plan: 1 to add, 2 to change, 1 to destroy.
"#,
    ));

    let mut d = desired(&[]);
    d.parameters.push(DesiredParameter::secret("/a/B", SECRET));
    d.findings.push(Finding::info(codes::TEMPLATED_PATH, "site.yml", 3, "role named by `{{ x }}`"));
    cases.push((
        "findings and parameters not compared",
        plan_of(&d, &current(&[], &[], &d)),
        "site.yml:3 M013 info: role named by `{{ x }}`\n\
         Note: Parameter Store was not read, so 1 desired parameter was not compared.\n\
         \n\
         No changes. Generated files already match the playbooks.\n",
    ));

    for (name, plan, want) in cases {
        let got = text(&plan);
        assert_eq!(got, want, "case `{name}`:\n{got}");
        assert!(!got.contains(SECRET) && !got.contains(OLD_SECRET), "case `{name}` shows a secret");
    }
}

#[test]
fn colour_only_when_asked_and_only_on_symbols_and_headers() {
    let d = desired(&[("a", "x\n")]);
    let plan = plan_of(&d, &current(&[], &[], &d));
    let coloured = text::render(&plan, text::Style { color: true });
    assert!(coloured.contains("\x1b[32m+\x1b[0m x"), "{coloured}");
    assert!(coloured.contains("\x1b[1m# file \"out/a\" will be created\x1b[0m"), "{coloured}");
    assert!(!text(&plan).contains('\x1b'));
}

/// One plan with every kind of resource, for the snapshots of all three formats.
pub(crate) fn sample() -> Plan {
    let mut d = desired(&[
        ("nginx/Dockerfile", NGINX),
        ("php-fpm/Dockerfile", "FROM php:8.3-fpm-alpine\nRUN docker-php-ext-install mysqli pdo_mysql\n"),
        ("web/Dockerfile", "FROM a\nRUN b\n"),
    ]);
    d.parameters.push(DesiredParameter::secret("/shop/prod/php-fpm/DB_PASSWORD", SECRET));
    d.parameters.push(DesiredParameter::plain("/shop/prod/php-fpm/LOG_LEVEL", "debug"));
    d.findings.push(Finding::warning(codes::MISSING_FILE, "roles/web/tasks/main.yml", 14, "no file `x.conf`"));
    let php_old = "FROM php:8.3-fpm-alpine\nRUN docker-php-ext-install mysqli\n";
    let mut c = current(
        &[
            ("php-fpm/Dockerfile", php_old),
            ("web/Dockerfile", "FROM a\nRUN b # tweaked\n"),
            ("old/Dockerfile", "FROM gone\n"),
        ],
        &[("php-fpm/Dockerfile", php_old), ("web/Dockerfile", "FROM a\nRUN b\n"), ("old/Dockerfile", "FROM gone\n")],
        &d,
    );
    c.parameters = Some(vec![
        live("/shop/prod/php-fpm/DB_PASSWORD", true, OLD_SECRET, 4),
        live("/shop/prod/php-fpm/LOG_LEVEL", false, "debug", 2),
        live("/shop/prod/php-fpm/OLD_FLAG", false, "1", 1),
    ]);
    plan_of(&d, &c)
}

#[test]
fn snapshot_text() {
    insta::assert_snapshot!(text(&sample()));
}

#[test]
fn snapshot_markdown() {
    insta::assert_snapshot!(markdown::render(&sample()));
}

#[test]
fn snapshot_json() {
    insta::assert_snapshot!(json::render(&sample()));
}

#[test]
fn no_secret_in_any_format() {
    let plan = sample();
    for (format, out) in [("text", text(&plan)), ("markdown", markdown::render(&plan)), ("json", json::render(&plan))] {
        assert!(!out.contains(SECRET) && !out.contains(OLD_SECRET), "{format} shows a secret");
        assert!(out.contains("(sensitive value)") || format == "json", "{format} does not mask");
    }
    let json: serde_json::Value = serde_json::from_str(&json::render(&plan)).unwrap();
    let secret = json["changes"].as_array().unwrap().iter().find(|c| c["name"] == "/shop/prod/php-fpm/DB_PASSWORD");
    let secret = secret.unwrap();
    assert_eq!(secret["before"]["value"], serde_json::Value::Null);
    assert_eq!(secret["after"]["value"], serde_json::Value::Null);
    assert_eq!((secret["before_sensitive"].as_bool(), secret["after_sensitive"].as_bool()), (Some(true), Some(true)));
}

#[test]
fn markdown_fences_outgrow_backticks_in_the_content_and_escape_cells() {
    let d = desired(&[("docs/a|b.md", "```\ncode\n```\n")]);
    let md = markdown::render(&plan_of(&d, &current(&[], &[], &d)));
    assert!(md.contains("````diff\n+```\n+code\n+```\n````\n"), "{md}");
    assert!(md.contains("<code>file \"out/docs/a&#124;b.md\"</code>"), "{md}");
}

#[test]
fn markdown_leaves_out_diffs_past_the_budget() {
    let big: String = (0..2000).map(|i| format!("RUN echo line number {i}\n")).collect();
    let d = desired(&[("a/Dockerfile", &big), ("b/Dockerfile", &big)]);
    let md = markdown::render(&plan_of(&d, &current(&[], &[], &d)));
    assert!(md.len() < 65_536, "{}", md.len());
    assert!(md.contains("2 more diffs are left out to keep this comment short"), "{}", &md[..400]);
}

#[test]
fn a_file_digest_is_computed_when_asked_and_does_not_change_equality() {
    let a = FileBody::new(b"abc".to_vec(), false);
    let b = FileBody::new(b"abc".to_vec(), false);
    assert_eq!(a.sha256(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(a, b, "one digest computed, the other not");
    assert_eq!(a.clone().sha256(), a.sha256());
    assert_ne!(a, FileBody::new(b"abc".to_vec(), true));
    assert_ne!(a, FileBody::new(b"abd".to_vec(), false));
}
