//! Resolution on small temporary repositories: precedence level by level,
//! inventory choice, loops, `when:` against the facts, `set_fact`, includes,
//! role dependencies and vault values.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value as Json, json};

use super::{Options, ResolveError, resolve};
use crate::config::Config;
use crate::model::resolved::{Condition, ResolvedRun, ResolvedTask};
use crate::model::template::Facts;
use crate::source::SourceSet;
use crate::source::vault::VaultPasswords;

fn write(dir: &Path, files: &[(&str, String)]) {
    for (rel, text) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn run_in(dir: &Path, env: Option<&str>, image: &str, vault: VaultPasswords) -> Result<ResolvedRun, ResolveError> {
    let set = Arc::new(SourceSet::load(dir).unwrap());
    let project = crate::model::build(&set);
    let config = Config::load(dir).unwrap();
    let facts = Facts::for_image(image).unwrap();
    let options = Options { env: env.map(str::to_string), vault, facts, ..Default::default() };
    resolve(&project, &set, &config, &options)
}

fn run(files: &[(&str, String)], env: Option<&str>) -> ResolvedRun {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), files);
    run_in(dir.path(), env, "debian:12-slim", VaultPasswords::new()).unwrap()
}

fn tasks(run: &ResolvedRun) -> Vec<&ResolvedTask> {
    run.plays.iter().flat_map(|p| p.tasks.iter()).collect()
}

fn named<'r>(run: &'r ResolvedRun, name: &str) -> Vec<&'r ResolvedTask> {
    tasks(run).into_iter().filter(|t| t.name.as_deref() == Some(name)).collect()
}

fn msg(run: &ResolvedRun, name: &str) -> Json {
    let t = named(run, name);
    assert_eq!(t.len(), 1, "one `{name}` task expected: {:#?}", tasks(run));
    t[0].args.get("msg").cloned().unwrap_or(Json::Null)
}

// ---- precedence ------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Level {
    RoleDefaults,
    GroupAll,
    GroupParent,
    GroupChild,
    HostVars,
    PlayVars,
    VarsFiles,
    RoleVars,
    BlockVars,
    TaskVars,
    IncludeParams,
    RoleParams,
    SetFact,
    Extra,
}

/// A repository where `x` is set at exactly `levels` (to the level's name), and
/// the task `show` prints it. Group `web` (hosts h1, h2) is a child of `app`.
fn precedence(levels: &[Level]) -> String {
    use Level::*;
    let has = |l: Level| levels.contains(&l);
    let val = |l: Level| -> String {
        let name = match l {
            RoleDefaults => "role_defaults",
            GroupAll => "group_all",
            GroupParent => "group_parent",
            GroupChild => "group_child",
            HostVars => "host_vars",
            PlayVars => "play_vars",
            VarsFiles => "vars_files",
            RoleVars => "role_vars",
            BlockVars => "block_vars",
            TaskVars => "task_vars",
            IncludeParams => "include_params",
            RoleParams => "role_params",
            SetFact => "set_fact",
            Extra => "extra",
        };
        name.to_string()
    };
    let x = |l: Level| if has(l) { format!("x: {}\n", val(l)) } else { "unrelated: 1\n".into() };
    let inline = |l: Level| if has(l) { format!("{{x: {}}}", val(l)) } else { "{unrelated: 1}".into() };
    let mut files = vec![
        ("inventories/staging/hosts.ini", "[web]\nh1\nh2\n\n[app:children]\nweb\n".to_string()),
        ("inventories/staging/group_vars/all.yml", x(GroupAll)),
        ("inventories/staging/group_vars/app.yml", x(GroupParent)),
        ("inventories/staging/group_vars/web.yml", x(GroupChild)),
        ("inventories/staging/host_vars/h1.yml", x(HostVars)),
        ("vars/f.yml", x(VarsFiles)),
        ("roles/r/defaults/main.yml", x(RoleDefaults)),
        ("roles/r/vars/main.yml", x(RoleVars)),
        (
            "roles/r/tasks/main.yml",
            format!(
                "- name: fact\n  set_fact: {}\n- name: inc\n  include_tasks: inner.yml\n  vars: {}\n",
                inline(SetFact),
                inline(IncludeParams)
            ),
        ),
        (
            "roles/r/tasks/inner.yml",
            format!(
                "- block:\n    - name: show\n      debug: {{msg: \"{{{{ x }}}}\"}}\n      vars: {}\n  vars: {}\n",
                inline(TaskVars),
                inline(BlockVars)
            ),
        ),
    ];
    let role = if has(RoleParams) { format!("{{role: r, x: {}}}", val(RoleParams)) } else { "r".into() };
    files.push((
        "site.yml",
        format!("- hosts: web\n  vars: {}\n  vars_files: [vars/f.yml]\n  roles: [\"{role}\"]\n", inline(PlayVars))
            .replace("[\"{", "[{")
            .replace("}\"]", "}]"),
    ));
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &files);
    let set = Arc::new(SourceSet::load(dir.path()).unwrap());
    let project = crate::model::build(&set);
    let mut options = Options {
        env: Some("staging".into()),
        facts: Facts::for_image("debian:12-slim").unwrap(),
        ..Default::default()
    };
    if has(Extra) {
        options.extra_vars.insert("x".into(), json!("extra"));
    }
    let run = resolve(&project, &set, &Config::default(), &options).unwrap();
    match msg(&run, "show") {
        Json::String(s) => s,
        other => panic!("x did not resolve: {other} ({:?})", run.findings),
    }
}

macro_rules! wins {
    ($name:ident, $low:ident < $high:ident, $expect:literal) => {
        #[test]
        fn $name() {
            assert_eq!(precedence(&[Level::$low, Level::$high]), $expect);
            // The lower level alone is seen: the test can fail.
            assert_ne!(precedence(&[Level::$low]), $expect);
        }
    };
}

wins!(group_all_beats_role_defaults, RoleDefaults < GroupAll, "group_all");
wins!(parent_group_beats_all, GroupAll < GroupParent, "group_parent");
wins!(child_group_beats_parent, GroupParent < GroupChild, "group_child");
wins!(host_vars_beat_child_group, GroupChild < HostVars, "host_vars");
wins!(play_vars_beat_host_vars, HostVars < PlayVars, "play_vars");
wins!(vars_files_beat_play_vars, PlayVars < VarsFiles, "vars_files");
wins!(role_vars_beat_vars_files, VarsFiles < RoleVars, "role_vars");
wins!(block_vars_beat_role_vars, RoleVars < BlockVars, "block_vars");
wins!(task_vars_beat_block_vars, BlockVars < TaskVars, "task_vars");
wins!(include_params_beat_task_vars, TaskVars < IncludeParams, "include_params");
wins!(role_params_beat_task_vars, TaskVars < RoleParams, "role_params");
wins!(set_fact_beats_include_params, IncludeParams < SetFact, "set_fact");
wins!(extra_vars_beat_set_fact, SetFact < Extra, "extra");

#[test]
fn role_defaults_alone_are_seen() {
    assert_eq!(precedence(&[Level::RoleDefaults]), "role_defaults");
}

// ---- environments ----------------------------------------------------------------------

fn two_envs() -> Vec<(&'static str, String)> {
    vec![
        ("inventories/staging/hosts.ini", "[web]\nweb1\n".into()),
        ("inventories/staging/group_vars/all.yml", "level: staging-info\n".into()),
        ("inventories/production/hosts.yml", "all:\n  children:\n    web:\n      hosts:\n        p1:\n".into()),
        ("inventories/production/group_vars/all.yml", "level: production-warn\n".into()),
        ("site.yml", "- hosts: web\n  tasks:\n    - name: show\n      debug: {msg: \"{{ level }}\"}\n".into()),
    ]
}

/// A host listed in several groups: its first entry's inline variables, every group it is in
/// (with the files beside the inventory and the playbook), many groups and roles around it.
#[test]
fn host_in_two_groups_among_many_gets_its_first_entry_and_both_groups() {
    let mut ini = String::from("[web]\nh1 color=red\n\n[db]\nh1\nh2\n");
    let mut files: Vec<(&str, String)> = Vec::new();
    for i in 0..30 {
        ini.push_str(&format!("\n[tier{i:02}]\nt{i:02}\n"));
    }
    files.push(("inventories/staging/hosts.ini", ini));
    files.push(("inventories/staging/group_vars/db.yml", "db_port: 5432\n".into()));
    files.push(("inventories/staging/group_vars/tier07.yml", "db_port: 1\n".into()));
    files.push(("group_vars/db.yml", "db_name: shop\n".into()));
    files.push(("group_vars/web.yml", "db_name: web-wins-by-name-order\n".into()));
    let msg_text = "{{ color }} {{ group_names | join(',') }} {{ db_port }} {{ db_name }} {{ r7 }}";
    files.push((
        "site.yml",
        format!("- hosts: db\n  roles: [r07, r03]\n  tasks:\n    - name: show\n      debug: {{msg: \"{msg_text}\"}}\n"),
    ));
    let roles: Vec<(String, String)> =
        (0..12).map(|i| (format!("roles/r{i:02}/defaults/main.yml"), format!("r7: from-r{i:02}\n"))).collect();
    for (path, text) in &roles {
        files.push((path.as_str(), text.clone()));
    }
    let r = run(&files, Some("staging"));
    assert_eq!(msg(&r, "show"), json!("red db,web 5432 web-wins-by-name-order from-r03"));
}

#[test]
fn env_picks_the_conventional_inventory() {
    let r = run(&two_envs(), Some("production"));
    assert_eq!(r.inventory.as_deref(), Some("inventories/production/hosts.yml"));
    assert_eq!(msg(&r, "show"), json!("production-warn"));
    let r = run(&two_envs(), Some("staging"));
    assert_eq!(msg(&r, "show"), json!("staging-info"));
    assert_eq!(r.plays[0].groups, ["web"]);
}

#[test]
fn unknown_env_lists_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &two_envs());
    let err = run_in(dir.path(), Some("qa"), "debian:12-slim", VaultPasswords::new()).unwrap_err();
    assert_eq!(err.to_string(), "unknown environment `qa`; known environments: production, staging");
}

#[test]
fn env_from_migrate_yaml_wins() {
    let mut files = two_envs();
    files.push(("migrate.yaml", "environments:\n  staging:\n    inventory: inventories/production/hosts.yml\n".into()));
    let r = run(&files, Some("staging"));
    assert_eq!(msg(&r, "show"), json!("production-warn"));
}

#[test]
fn without_env_a_single_inventory_is_used_and_none_is_a_finding() {
    let mut files = two_envs();
    files.retain(|(p, _)| !p.starts_with("inventories/production"));
    let r = run(&files, None);
    assert_eq!(msg(&r, "show"), json!("staging-info"));
    files.retain(|(p, _)| !p.starts_with("inventories/"));
    let r = run(&files, None);
    assert!(r.inventory.is_none());
    assert!(r.findings.iter().any(|f| f.code.id == "M040"), "{:?}", r.findings);
    // `level` is undefined now: the arg keeps its Jinja text and says why.
    let t = named(&r, "show");
    assert_eq!(t[0].args["msg"], json!("{{ level }}"));
    assert!(t[0].unresolved.iter().any(|u| u.contains("level")), "{:?}", t[0].unresolved);
}

#[test]
fn differing_host_vars_are_reported() {
    let files = vec![
        ("inventories/staging/hosts.ini", "[web]\nh1\nh2\n".to_string()),
        ("inventories/staging/host_vars/h1.yml", "port: 1\n".into()),
        ("inventories/staging/host_vars/h2.yml", "port: 2\n".into()),
        ("site.yml", "- hosts: web\n  tasks:\n    - name: show\n      debug: {msg: \"{{ port }}\"}\n".into()),
    ];
    let r = run(&files, Some("staging"));
    assert_eq!(msg(&r, "show"), json!(1));
    assert!(r.findings.iter().any(|f| f.code.id == "M041" && f.message.contains("h2")), "{:?}", r.findings);
}

// ---- loops, conditions, set_fact, includes, roles --------------------------------------------

#[test]
fn loops_expand_per_item() {
    let files = vec![
        (
            "site.yml",
            "- hosts: all\n  vars: {pkgs: [a, b], d: {k1: v1, k2: v2}}\n  tasks:\n\
             \x20   - name: items\n      debug: {msg: \"{{ item }}\"}\n      with_items: \"{{ pkgs }}\"\n\
             \x20   - name: loop\n      debug: {msg: \"{{ p }}-{{ i }}\"}\n      loop: \"{{ pkgs }}\"\n\
             \x20     loop_control: {loop_var: p, index_var: i}\n\
             \x20   - name: dict\n      debug: {msg: \"{{ item.key }}={{ item.value }}\"}\n      with_dict: \"{{ d }}\"\n\
             \x20   - name: together\n      debug: {msg: \"{{ item.0 }}{{ item.1 }}\"}\n      with_together: [[x, y], [1, 2]]\n\
             \x20   - name: nested\n      debug: {msg: \"{{ item.0 }}{{ item.1 }}\"}\n      with_nested: [[x, y], [1, 2]]\n\
             \x20   - name: glob\n      copy: {src: \"{{ item }}\", dest: /etc/}\n      with_fileglob: [conf/*.conf]\n\
             \x20   - name: empty\n      debug: {msg: x}\n      loop: []\n\
             \x20   - name: runtime\n      debug: {msg: \"{{ item }}\"}\n      loop: \"{{ out.stdout_lines }}\"\n"
                .into(),
        ),
        ("files/conf/b.conf", "b\n".into()),
        ("files/conf/a.conf", "a\n".into()),
        ("files/conf/skip.txt", "x\n".into()),
    ];
    let r = run(&files, None);
    let msgs = |name: &str| -> Vec<Json> { named(&r, name).iter().map(|t| t.args["msg"].clone()).collect() };
    assert_eq!(msgs("items"), [json!("a"), json!("b")]);
    assert_eq!(msgs("loop"), [json!("a-0"), json!("b-1")]);
    assert_eq!(msgs("dict"), [json!("k1=v1"), json!("k2=v2")]);
    assert_eq!(msgs("together"), [json!("x1"), json!("y2")]);
    assert_eq!(msgs("nested"), [json!("x1"), json!("x2"), json!("y1"), json!("y2")]);
    let globbed: Vec<Json> = named(&r, "glob").iter().map(|t| t.args["src"].clone()).collect();
    assert_eq!(globbed, [json!("files/conf/a.conf"), json!("files/conf/b.conf")]);
    let empty = named(&r, "empty");
    assert_eq!(empty.len(), 1);
    assert!(matches!(empty[0].condition, Condition::False { .. }));
    let rt = named(&r, "runtime");
    assert_eq!(rt.len(), 1);
    assert!(r.findings.iter().any(|f| f.code.id == "M044"), "{:?}", r.findings);
}

const OS_BRANCHES: &str = "- hosts: all\n  tasks:\n\
    \x20   - name: deb\n      apt: {name: nginx}\n      when: ansible_os_family == 'Debian'\n\
    \x20   - name: rh\n      dnf: {name: nginx}\n      when: ansible_os_family == 'RedHat'\n\
    \x20   - name: cmd\n      command: /bin/true\n      register: out\n\
    \x20   - name: later\n      debug: {msg: hi}\n      when: out.rc == 0\n";

#[test]
fn when_follows_the_base_image_facts() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("site.yml", OS_BRANCHES.into())]);
    let deb = run_in(dir.path(), None, "debian:12-slim", VaultPasswords::new()).unwrap();
    assert!(matches!(named(&deb, "deb")[0].condition, Condition::True { .. }));
    assert!(matches!(named(&deb, "rh")[0].condition, Condition::False { .. }));
    let rh = run_in(dir.path(), None, "rockylinux:9", VaultPasswords::new()).unwrap();
    assert!(matches!(named(&rh, "deb")[0].condition, Condition::False { .. }));
    assert!(matches!(named(&rh, "rh")[0].condition, Condition::True { .. }));
    // Every source task appears; a registered result of a task not run here is unknown.
    assert_eq!(tasks(&deb).len(), 4);
    match &named(&deb, "later")[0].condition {
        Condition::Unknown { why, .. } => assert!(why.contains("out"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn set_fact_feeds_later_tasks_only() {
    let files = vec![(
        "site.yml",
        "- hosts: all\n  vars: {a: 1}\n  tasks:\n\
         \x20   - name: before\n      debug: {msg: \"{{ a }}\"}\n\
         \x20   - set_fact: {a: \"{{ a + 1 }}\"}\n\
         \x20   - name: after\n      debug: {msg: \"{{ a }}\"}\n\
         \x20   - set_fact: {a: 100}\n      when: ansible_os_family == 'RedHat'\n\
         \x20   - name: still\n      debug: {msg: \"{{ a }}\"}\n"
            .to_string(),
    )];
    let r = run(&files, None);
    assert_eq!(msg(&r, "before"), json!(1));
    assert_eq!(msg(&r, "after"), json!(2));
    assert_eq!(msg(&r, "still"), json!(2));
}

#[test]
fn include_role_tasks_from_and_dependencies() {
    let files = vec![
        (
            "site.yml",
            "- hosts: all\n  roles: [app]\n  tasks:\n\
             \x20   - include_role: {name: lib, tasks_from: extra}\n      vars: {who: include}\n"
                .to_string(),
        ),
        ("roles/app/meta/main.yml", "dependencies:\n  - role: lib\n    who: dep\n".into()),
        ("roles/app/tasks/main.yml", "- name: app\n  debug: {msg: app}\n".into()),
        ("roles/lib/defaults/main.yml", "who: default\n".into()),
        ("roles/lib/tasks/main.yml", "- name: lib main\n  debug: {msg: \"{{ who }}\"}\n".into()),
        ("roles/lib/tasks/extra.yml", "- name: lib extra\n  debug: {msg: \"{{ who }}\"}\n".into()),
    ];
    let r = run(&files, None);
    let order: Vec<&str> = tasks(&r).iter().filter_map(|t| t.name.as_deref()).collect();
    assert_eq!(order, ["lib main", "app", "lib extra"]);
    assert_eq!(msg(&r, "lib main"), json!("dep"));
    assert_eq!(msg(&r, "lib extra"), json!("include"));
    assert_eq!(named(&r, "lib extra")[0].role.as_ref().map(|r| r.name.as_str()), Some("lib"));
}

#[test]
fn roles_run_once_unless_params_differ() {
    let files = vec![
        ("site.yml", "- hosts: all\n  roles: [a, b, {role: c, p: 1}, {role: c, p: 2}]\n".to_string()),
        ("roles/a/meta/main.yml", "dependencies: [c]\n".into()),
        ("roles/b/meta/main.yml", "dependencies: [c]\n".into()),
        ("roles/c/tasks/main.yml", "- name: c\n  debug: {msg: \"{{ p | default(0) }}\"}\n".into()),
    ];
    let r = run(&files, None);
    let cs: Vec<Json> = named(&r, "c").iter().map(|t| t.args["msg"].clone()).collect();
    assert_eq!(cs, [json!(0), json!(1), json!(2)]);
}

#[test]
fn blocks_pass_when_and_environment_down() {
    let files = vec![(
        "site.yml",
        "- hosts: all\n  environment: {A: play}\n  tasks:\n\
         \x20   - block:\n        - name: inner\n          command: /bin/true\n          environment: {C: task}\n\
         \x20     when: ansible_os_family == 'RedHat'\n      environment: {A: block, B: block}\n"
            .to_string(),
    )];
    let r = run(&files, None);
    let t = named(&r, "inner")[0];
    assert!(matches!(t.condition, Condition::False { .. }), "{:?}", t.condition);
    let env: Vec<(String, String)> = t
        .environment
        .iter()
        .map(|(k, v)| match &v.value {
            crate::model::resolved::EnvValue::Plain { value } => (k.clone(), value.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(env, [("A".into(), "block".into()), ("B".into(), "block".into()), ("C".into(), "task".into())]);
}

// ---- vault -----------------------------------------------------------------------------

fn vault_repo() -> tempfile::TempDir {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vault");
    let read = |n: &str| std::fs::read_to_string(fixtures.join(n)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("inventories/staging/hosts.ini", "[web]\nw1\n".into()),
            ("inventories/staging/group_vars/all/vault.yml", read("vault-1.1.yml")),
            ("inventories/staging/group_vars/all/vars.yml", "db_password: \"{{ vault_db_password }}\"\n".into()),
            ("inventories/staging/group_vars/web.yml", read("inline.yml")),
            (
                "site.yml",
                "- hosts: web\n  tasks:\n    - name: use\n      copy: {content: \"pw={{ db_password }}\", dest: /x}\n\
                 \x20   - name: inline\n      copy: {content: \"{{ motd }}\", dest: /y}\n      environment: {PW: \"{{ db_password }}\"}\n"
                    .into(),
            ),
        ],
    );
    dir
}

#[test]
fn vault_values_are_secrets_with_the_password() {
    let dir = vault_repo();
    let mut pw = VaultPasswords::new();
    pw.add_password_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vault/password.txt")).unwrap();
    let r = run_in(dir.path(), Some("staging"), "debian:12-slim", pw).unwrap();
    let t = named(&r, "use")[0];
    assert_eq!(t.args["content"], json!(crate::sensitive::REDACTED));
    // The inline `db_password` (group `web`) wins over group `all`'s: "hunter2".
    assert_eq!(t.secret_args["content"].expose(), &json!("pw=hunter2"));
    let i = named(&r, "inline")[0];
    assert!(matches!(i.environment["PW"].value, crate::model::resolved::EnvValue::Secret { .. }));
    let all = serde_json::to_string(&r).unwrap();
    assert!(!all.contains("hunter2") && !all.contains("s3cr3t-Pa55"), "plaintext in the serialised run");
}

#[test]
fn vault_without_password_is_unknown_never_empty() {
    let dir = vault_repo();
    let r = run_in(dir.path(), Some("staging"), "debian:12-slim", VaultPasswords::new()).unwrap();
    let t = named(&r, "use")[0];
    assert_ne!(t.args["content"], json!("pw="));
    assert!(t.secret_args.is_empty() || t.args["content"] == json!(crate::sensitive::REDACTED));
    assert!(r.findings.iter().any(|f| f.code.id == "M042"), "{:?}", r.findings);
}

#[test]
fn a_wrong_vault_password_names_the_file() {
    let dir = vault_repo();
    let mut pw = VaultPasswords::new();
    pw.push(crate::source::vault::VaultPassword::new("default", b"wrong".to_vec()));
    let err = run_in(dir.path(), Some("staging"), "debian:12-slim", pw).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("inventories/staging/group_vars/"), "{text}");
}

#[test]
fn include_role_vars_from_replaces_the_role_vars() {
    let files = vec![
        (
            "site.yml",
            "- hosts: all\n  tasks:\n    - include_role: {name: lib, vars_from: other}\n    - include_role: {name: lib}\n"
                .to_string(),
        ),
        ("roles/lib/vars/main.yml", "who: main\n".into()),
        ("roles/lib/vars/other.yml", "who: other\n".into()),
        ("roles/lib/tasks/main.yml", "- name: lib\n  debug: {msg: \"{{ who }}\"}\n".into()),
    ];
    let r = run(&files, None);
    let msgs: Vec<Json> = named(&r, "lib").iter().map(|t| t.args["msg"].clone()).collect();
    assert_eq!(msgs, [json!("other"), json!("main")]);
}

#[test]
fn an_inventory_file_named_after_the_env() {
    let files = vec![
        ("hosts/qa.ini", "[web]\nq1\n\n[web:vars]\nlevel=qa\n".to_string()),
        (
            "hosts/prod.yml",
            "all:\n  children:\n    web:\n      hosts:\n        p1:\n      vars:\n        level: prod\n".into(),
        ),
        ("site.yml", "- hosts: web\n  tasks:\n    - name: show\n      debug: {msg: \"{{ level }}\"}\n".into()),
    ];
    assert_eq!(msg(&run(&files, Some("qa")), "show"), json!("qa"));
    assert_eq!(msg(&run(&files, Some("prod")), "show"), json!("prod"));
}

#[test]
fn migrate_yaml_may_name_an_inventory_nothing_else_marks() {
    let files = vec![
        ("ansible/stage-hosts.cfg", "[web]\ns1\n\n[web:vars]\nlevel=stage\n".to_string()),
        ("ansible/site.yml", "- hosts: web\n  tasks:\n    - name: show\n      debug: {msg: \"{{ level }}\"}\n".into()),
        ("migrate.yaml", "environments:\n  stage:\n    inventory: ansible/stage-hosts.cfg\n".into()),
    ];
    assert_eq!(msg(&run(&files, Some("stage")), "show"), json!("stage"));
    let dir = tempfile::tempdir().unwrap();
    let mut bad = files.clone();
    bad[2].1 = "environments:\n  stage:\n    inventory: ansible/nope.ini\n".into();
    write(dir.path(), &bad);
    let err = run_in(dir.path(), Some("stage"), "debian:12-slim", VaultPasswords::new()).unwrap_err();
    assert!(err.to_string().contains("ansible/nope.ini"), "{err}");
}

#[test]
fn entry_playbooks_site_first_else_the_top_level_ones_else_the_roles() {
    let play = |n: &str| format!("- hosts: all\n  tasks:\n    - name: {n}\n      debug: {{msg: {n}}}\n");
    let names = |r: &ResolvedRun| -> Vec<String> { tasks(r).iter().filter_map(|t| t.name.clone()).collect() };
    let files = vec![
        ("site.yml", "- import_playbook: web.yml\n- import_playbook: db.yml\n".to_string()),
        ("web.yml", play("web")),
        ("db.yml", play("db")),
        ("adhoc.yml", play("adhoc")),
    ];
    let r = run(&files, None);
    assert_eq!(r.playbooks.iter().map(|p| p.to_string()).collect::<Vec<_>>(), ["site.yml"]);
    assert_eq!(names(&r), ["web", "db"]);
    // Without site.yml: every playbook no other imports, tests excluded, in path order.
    let files = vec![
        ("b.yml", "- import_playbook: c.yml\n".to_string()),
        ("c.yml", play("c")),
        ("a.yml", play("a")),
        ("roles/x/tests/test.yml", play("test")),
    ];
    assert_eq!(names(&run(&files, None)), ["a", "c"]);
    // A role repository: its role runs as one play.
    let files = vec![
        ("tasks/main.yml", "- name: role task\n  debug: {msg: r}\n".to_string()),
        ("defaults/main.yml", "x: 1\n".into()),
        ("molecule/default/converge.yml", "- hosts: all\n  roles: [self]\n".into()),
    ];
    let r = run(&files, None);
    assert_eq!(names(&r), ["role task"], "{:?}", r.findings);
}

#[test]
fn import_playbook_vars_and_when_reach_the_imported_plays() {
    let files = vec![
        (
            "site.yml",
            "- import_playbook: web.yml\n  vars: {who: importer, level: low}\n  when: ansible_os_family == 'RedHat'\n"
                .to_string(),
        ),
        (
            "web.yml",
            "- hosts: all\n  vars: {level: play}\n  vars_prompt:\n    - name: answer\n      default: '42'\n\
             \x20 tasks:\n    - name: show\n      debug: {msg: \"{{ who }} {{ level }} {{ answer }}\"}\n"
                .into(),
        ),
    ];
    let r = run(&files, None);
    let t = named(&r, "show")[0];
    assert_eq!(t.args["msg"], json!("importer play 42"));
    assert!(matches!(t.condition, Condition::False { .. }), "{:?}", t.condition);
}

// ---- plays walked apart, scopes shared ---------------------------------------------------

#[test]
fn plays_walked_in_parallel_keep_their_order_and_their_own_scopes() {
    let mut site = String::new();
    for i in 0..6 {
        site.push_str(&format!(
            "- hosts: all\n  vars: {{who: play{i}}}\n  tasks:\n    - name: t{i}\n      debug: {{msg: \"{{{{ who }}}}\"}}\n"
        ));
        site.push_str("    - name: again\n      debug: {msg: \"{{ who }}\"}\n");
    }
    let r = run(&[("site.yml", site)], None);
    assert_eq!(r.plays.len(), 6);
    for (i, play) in r.plays.iter().enumerate() {
        let want = json!(format!("play{i}"));
        assert_eq!(play.tasks[0].name.as_deref(), Some(format!("t{i}").as_str()));
        for t in &play.tasks {
            assert_eq!(t.args["msg"], want);
            // The scope a task points at (renumbered when the plays were joined) is its own play's.
            let scope = &r.scopes[t.scope];
            assert_eq!(scope.templar.resolve_var("who", &scope.site).output.value(), Some(&want));
        }
    }
    let scopes: Vec<usize> = r.plays.iter().flat_map(|p| p.tasks.iter().map(|t| t.scope)).collect();
    assert_eq!(scopes, (0..12).collect::<Vec<_>>());
}

#[test]
fn a_roles_own_defaults_beat_the_other_roles_defaults_not_group_vars() {
    let role = |name: &str| {
        vec![
            (format!("roles/{name}/defaults/main.yml"), format!("x: {name}\ny: {name}\n")),
            (
                format!("roles/{name}/tasks/main.yml"),
                format!(
                    "- name: {name} direct\n  debug: {{msg: \"{{{{ x }}}} {{{{ y }}}} {{{{ role_name }}}}\"}}\n\
                     - name: {name} block\n  block:\n    - name: {name} inner\n      debug: {{msg: \"{{{{ x }}}}\"}}\n"
                ),
            ),
        ]
    };
    let mut files: Vec<(String, String)> = role("a").into_iter().chain(role("b")).collect();
    files.push(("group_vars/all.yml".into(), "y: group\n".into()));
    files.push(("site.yml".into(), "- hosts: all\n  roles: [a, b, a]\n".into()));
    let files: Vec<(&str, String)> = files.iter().map(|(p, t)| (p.as_str(), t.clone())).collect();
    let r = run(&files, None);
    assert_eq!(msg(&r, "a direct"), json!("a group a"));
    assert_eq!(msg(&r, "b direct"), json!("b group b"));
    assert_eq!(msg(&r, "a inner"), json!("a"));
    assert_eq!(msg(&r, "b inner"), json!("b"));
}
