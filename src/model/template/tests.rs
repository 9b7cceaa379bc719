//! Unit tests of the public API (behaviour checked against real Ansible lives
//! in `ansible_parity.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;

use super::*;

pub(super) fn site() -> Site {
    Site::new(Origin::new(Arc::from("roles/web/tasks/main.yml"), 7)).with_playbook_dir("")
}

pub(super) fn templar(vars: Json) -> Templar {
    let facts = Facts::for_image("debian:12").unwrap();
    let map = vars.as_object().cloned().unwrap_or_default();
    Templar::new(facts.as_ref(), Vars::from_json(map), Lookups::default())
}

/// The rendered text; panics with the report when there is none.
pub(super) fn text(t: &Templar, src: &str) -> String {
    let r = t.render_str(src, &site());
    match r.output {
        Output::Value(s) => s,
        other => panic!("{src:?} gave {other:?}: {:#?}", r.report),
    }
}

fn undefined_names(r: &Report) -> Vec<String> {
    r.undefined.iter().map(|u| u.to_string()).collect()
}

#[test]
fn undefined_is_reported_by_name_and_never_rendered_empty() {
    let t = templar(json!({"cfg": {"a": 1}}));
    for (src, name) in [
        ("{{ nothere }}", "nothere"),
        ("x {{ nothere }} y", "nothere"),
        ("{{ cfg.b }}", "cfg.b"),
        ("{% for i in nolist %}{{ i }}{% endfor %}", "nolist"),
        ("{% if noway %}x{% endif %}", "noway"),
        ("{{ 'a' ~ noway }}", "noway"),
        ("{{ noway | upper }}", "noway"),
    ] {
        let r = t.render_str(src, &site());
        assert_eq!(r.output, Output::Failed, "{src}");
        assert_eq!(undefined_names(&r.report), vec![name.to_string()], "{src}");
    }
}

#[test]
fn default_and_defined_work_on_undefined_values_and_chains() {
    let t = templar(json!({"cfg": {"a": 1}}));
    assert_eq!(text(&t, "{{ nothere | default('d') }}"), "d");
    assert_eq!(text(&t, "{{ nothere.deeper.still | default('d') }}"), "d");
    assert_eq!(text(&t, "{{ cfg.b | d('x') }}"), "x");
    assert_eq!(text(&t, "{{ cfg['b']['c'] is defined }}"), "False");
    assert_eq!(text(&t, "{{ nothere.x is undefined }}"), "True");
    assert_eq!(text(&t, "{{ cfg.a is defined }}"), "True");
    assert_eq!(text(&t, "{% if nothere.x is not defined %}n{% endif %}"), "n");
}

#[test]
fn lazy_variables_resolve_through_each_other() {
    let t = templar(json!({"a": "{{ b }}-a", "b": "{{ c | upper }}", "c": "c", "n": "{{ 1 + 1 }}"}));
    assert_eq!(text(&t, "{{ a }}"), "C-a");
    let r = t.resolve_value(&json!({"x": "{{ n }}", "y": ["{{ n * 2 }}"]}), &site());
    assert_eq!(r.output, Output::Value(json!({"x": 2, "y": [4]})));
}

#[test]
fn undefined_inside_a_variable_names_the_root_cause() {
    let t = templar(json!({"a": "{{ b }}", "b": "{{ missing }}", "cfg": {"x": "{{ missing }}", "y": 5}}));
    let r = t.render_str("{{ a }}", &site());
    assert_eq!(r.output, Output::Failed);
    assert_eq!(undefined_names(&r.report), vec!["missing (needed by a <- b)".to_string()]);
    // Only the part that is used matters, as in Ansible's lazy templating.
    assert_eq!(text(&t, "{{ cfg.y }}"), "5");
    assert_eq!(text(&t, "{{ cfg.x | default('dflt') }}"), "dflt");
}

#[test]
fn self_referencing_variables_are_a_finding_not_a_stack_overflow() {
    let t = templar(json!({"a": "{{ b }}", "b": "{{ a }}", "c": "{{ c }}"}));
    let r = t.render_str("{{ a }}", &site());
    assert_eq!(r.output, Output::Failed);
    assert!(r.report.errors.iter().any(|e| e.contains("a -> b -> a")), "{:#?}", r.report);
    let r = t.render_str("{{ c }}", &site());
    assert!(r.report.errors.iter().any(|e| e.contains("c -> c")), "{:#?}", r.report);
}

#[test]
fn loop_locals_are_not_cached_into_the_base() {
    let t = templar(json!({"pkg": "{{ item.name }}-pkg"}));
    let a = t.with_locals(Vars::from_json(json!({"item": {"name": "a"}}).as_object().cloned().unwrap()));
    let b = t.with_locals(Vars::from_json(json!({"item": {"name": "b"}}).as_object().cloned().unwrap()));
    assert_eq!(text(&a, "{{ pkg }}"), "a-pkg");
    assert_eq!(text(&b, "{{ pkg }}"), "b-pkg");
    // Without the loop, `item` is undefined: not a stale cached value.
    assert_eq!(t.render_str("{{ pkg }}", &site()).output, Output::Failed);
    assert_eq!(text(&a, "{{ pkg }}"), "a-pkg");
}

#[test]
fn secrets_come_back_sensitive_and_unknown_secrets_fail() {
    let mut vars = Vars::new();
    vars.set_secret("db_password", Some(Sensitive::new("hunter2".to_string())));
    vars.set_secret("api_key", None);
    vars.set("dsn", json!("postgres://app:{{ db_password }}@db/app"));
    vars.set("plain", json!("x"));
    let t = Templar::new(None, vars, Lookups::default());
    let r = t.render_str("{{ dsn }}", &site());
    match &r.output {
        Output::Sensitive(s) => assert_eq!(s.expose(), "postgres://app:hunter2@db/app"),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.report.secrets, vec!["db_password".to_string()]);
    assert!(!format!("{r:?}").contains("hunter2"));
    // Cached the second time: still sensitive.
    assert!(matches!(t.render_str("{{ dsn }}", &site()).output, Output::Sensitive(_)));
    assert_eq!(t.render_str("{{ plain }}", &site()).output, Output::Value("x".into()));
    let r = t.render_str("key={{ api_key }}", &site());
    assert_eq!(r.output, Output::Failed);
    assert_eq!(r.report.secrets, vec!["api_key".to_string()]);
    // A vault marker nested in a value.
    let r = t.resolve_value(&json!({"a": {"__ansible_vault": "$ANSIBLE_VAULT;1.1;AES256\n..."}}), &site());
    assert_eq!(r.output, Output::Failed);
    assert_eq!(r.report.secrets, vec!["a".to_string()]);
}

#[test]
fn registered_results_of_tasks_that_did_not_run_are_unknown() {
    let mut vars = Vars::new();
    vars.set_unknown("result", "registered by roles/web/tasks/main.yml:3");
    vars.set("known", json!({"rc": 0, "changed": true}));
    let t = Templar::new(None, vars, Lookups::default());
    let c = t.eval_condition("result is succeeded", &site());
    assert_eq!(c.truth, Truth::Unknown);
    assert_eq!(c.report.unknown, vec!["result (registered by roles/web/tasks/main.yml:3)".to_string()]);
    assert_eq!(t.eval_condition("result.rc == 0", &site()).truth, Truth::Unknown);
    assert_eq!(t.eval_condition("known is changed", &site()).truth, Truth::True);
    assert_eq!(t.eval_condition("known is failed", &site()).truth, Truth::False);
}

#[test]
fn conditions_use_the_image_facts() {
    let t = templar(json!({"flag": "yes", "items": [1]}));
    let yes = |w: &str| t.eval_condition(w, &site()).truth;
    assert_eq!(yes("ansible_os_family == 'Debian'"), Truth::True);
    assert_eq!(yes("ansible_facts['distribution_major_version'] | int >= 12"), Truth::True);
    assert_eq!(yes("ansible_facts.pkg_mgr == 'yum'"), Truth::False);
    assert_eq!(yes("flag | bool"), Truth::True);
    assert_eq!(yes("undefined_thing is defined"), Truth::False);
    assert_eq!(yes("'{{ flag }}' == 'yes'"), Truth::True);
    let c = t.eval_condition("undefined_thing", &site());
    assert_eq!(c.truth, Truth::Unknown);
    assert_eq!(undefined_names(&c.report), vec!["undefined_thing".to_string()]);
    // A list is truthy; Ansible 2.19 would refuse it, so a note says so.
    let c = t.eval_condition("items", &site());
    assert_eq!(c.truth, Truth::True);
    assert_eq!(c.report.notes.len(), 1);
    let c = t.eval_conditions(&["ansible_system == 'Linux'", "ansible_pkg_mgr == 'apk'", "nothere"], &site());
    assert_eq!(c.truth, Truth::False);
}

#[test]
fn runtime_facts_and_placeholders_are_reported() {
    let t = templar(json!({}));
    let r = t.render_str("workers {{ ansible_processor_vcpus }}", &site());
    assert_eq!(r.output, Output::Failed);
    assert_eq!(r.report.unknown, vec!["ansible_processor_vcpus (a fact of the running machine)".to_string()]);
    let r = t.render_str("{{ ansible_facts.default_ipv4.address }}", &site());
    assert_eq!(r.output, Output::Failed);
    // A `default()` over a runtime fact is the container's answer, and is noted.
    for src in [
        "workers {{ ansible_processor_vcpus | default('auto') }}",
        "workers {{ ansible_facts.processor_vcpus | d('auto') }}",
    ] {
        let r = t.render_str(src, &site());
        assert_eq!(r.output, Output::Value("workers auto".into()), "{src}");
        assert!(r.report.unknown.is_empty(), "{src}: {:?}", r.report.unknown);
        assert!(r.report.notes.iter().any(|n| n.contains("processor_vcpus") && n.contains("`auto`")), "{src}");
    }
    // Without `default()` the fact stays unknown, also beside a defaulted use.
    let r = t.render_str("{{ ansible_processor_vcpus | default(1) }} {{ ansible_processor_vcpus }}", &site());
    assert_eq!(r.output, Output::Failed);
    let r = t.render_str("host {{ ansible_hostname }}", &site());
    assert_eq!(r.output, Output::Value("host migrate-container".into()));
    assert_eq!(r.report.placeholders, vec!["ansible_hostname".to_string()]);
}

#[test]
fn unsupported_lookups_and_filters_never_make_up_values() {
    let t = templar(json!({}));
    for (src, what) in [
        ("{{ lookup('pipe', 'date') }}", "lookup('pipe')"),
        ("{{ lookup('password', '/dev/null length=8') }}", "lookup('password')"),
        ("{{ lookup('aws_ssm', 'x') | default('d') }}", "lookup('aws_ssm')"),
        ("{{ lookup('url', 'https://x', errors='ignore') }}", "lookup('url')"),
        ("{{ 'pw' | password_hash('sha512') }}", "filter `password_hash`"),
    ] {
        let r = t.render_str(src, &site());
        assert_eq!(r.output, Output::Failed, "{src}");
        assert_eq!(r.report.unsupported, vec![what.to_string()], "{src}");
        assert!(r.report.errors.is_empty(), "{src}: {:?}", r.report.errors);
    }
}

#[test]
fn env_lookup_reads_only_the_given_map() {
    let env: BTreeMap<String, String> = [("APP_ENV".to_string(), "prod".to_string())].into();
    let t = Templar::new(None, Vars::new(), Lookups::new(EnvSource::Map(env), None));
    assert_eq!(text(&t, "{{ lookup('env', 'APP_ENV') }}"), "prod");
    let r = t.render_str("{{ lookup('env', 'HOME') }}", &site());
    assert_eq!(r.output, Output::Failed);
    assert_eq!(r.report.unknown.len(), 1);
}

struct MapReader(BTreeMap<&'static str, &'static str>);

impl FileReader for MapReader {
    fn read_text(&self, path: &str) -> Result<Option<String>, String> {
        Ok(self.0.get(path).map(|s| s.to_string()))
    }
}

fn file_templar() -> Templar {
    let files = MapReader(
        [
            ("roles/web/files/motd", "hello\n\n"),
            ("files/site.txt", "playbook level\n"),
            (
                "roles/web/templates/app.conf.j2",
                concat!(
                    "#jinja2: lstrip_blocks: True\nport={{ port }}\n",
                    "  {% if tls %}\ntls=on\n  {% endif %}\n{{ ansible_managed }}\n"
                ),
            ),
            ("roles/web/templates/uses_secret.j2", "pw={{ pw }}\n"),
        ]
        .into(),
    );
    let mut vars = Vars::from_json(json!({"port": 8080, "tls": true}).as_object().cloned().unwrap());
    vars.set_secret("pw", Some(Sensitive::new("s3cret".into())));
    Templar::new(None, vars, Lookups::new(EnvSource::Map(BTreeMap::new()), Some(Arc::new(files))))
}

#[test]
fn file_lookups_search_role_then_playbook_and_refuse_escapes() {
    let t = file_templar();
    assert_eq!(text(&t, "{{ lookup('file', 'motd') }}"), "hello");
    assert_eq!(text(&t, "{{ lookup('file', 'site.txt') }}"), "playbook level");
    assert_eq!(text(&t, "{{ query('file', 'motd', 'site.txt') }}"), "['hello', 'playbook level']");
    assert_eq!(text(&t, "{{ lookup('first_found', ['nope', 'motd']) }}"), "roles/web/files/motd");
    for src in ["{{ lookup('file', '/etc/passwd') }}", "{{ lookup('file', '../../../etc/passwd') }}"] {
        let r = t.render_str(src, &site());
        assert_eq!(r.output, Output::Failed, "{src}");
        assert_eq!(r.report.unsupported.len(), 1, "{src}: {:#?}", r.report);
    }
    let r = t.render_str("{{ lookup('file', 'missing.txt') }}", &site());
    assert_eq!(r.output, Output::Failed);
    assert_eq!(r.report.errors.len(), 1);
}

#[test]
fn template_files_render_like_the_template_module() {
    let t = file_templar();
    let r = t.render_file("app.conf.j2", &site(), &FileOptions::default());
    assert_eq!(r.output, Output::Value("port=8080\ntls=on\nAnsible managed\n".into()));
    let r = t.render_file("uses_secret.j2", &site(), &FileOptions::default());
    assert!(matches!(r.output, Output::Sensitive(_)));
    assert_eq!(text(&t, "{{ lookup('template', 'app.conf.j2') }}"), "port=8080\ntls=on\nAnsible managed\n");
    let r = t.render_file("nope.j2", &site(), &FileOptions::default());
    assert_eq!(r.output, Output::Failed);
}

#[test]
fn omit_is_a_placeholder_the_caller_can_drop() {
    let t = templar(json!({"mode": "{{ undefined_mode | default(omit) }}"}));
    assert_eq!(t.render_str("{{ undefined_thing | default(omit) }}", &site()).output, Output::Omit);
    let r = t.resolve_value(&json!({"path": "/x", "mode": "{{ mode }}", "l": ["a", "{{ omit }}"]}), &site());
    assert_eq!(r.output, Output::Value(json!({"path": "/x", "l": ["a"]})));
    assert_eq!(text(&t, "{{ undefined_thing | default(omit) }}x"), "x");
}

#[test]
fn single_expressions_keep_their_type() {
    let t = templar(json!({"ports": [80, 443], "n": "{{ 1 }}"}));
    let r = t.resolve_value(&json!({"a": "{{ ports + [8080] }}", "b": "{{ n }}{{ n }}", "c": " {{ [1] }}"}), &site());
    assert_eq!(r.output, Output::Value(json!({"a": [80, 443, 8080], "b": "11", "c": " [1]"})));
    assert_eq!(text(&t, "{{ ports }}"), "[80, 443]");
}

#[test]
fn findings_name_the_origin_and_code() {
    let t = templar(json!({}));
    let r = t.render_str("{{ nope }}", &site());
    let f = r.findings(&site().origin);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].to_string(), "roles/web/tasks/main.yml:7 M030 warning: `nope` is undefined");
}

#[test]
fn unknown_filters_and_collections_are_unsupported() {
    let t = templar(json!({"x": {"a": 1}}));
    let r = t.render_str("{{ x | json_query('a') }}", &site());
    assert_eq!(r.output, Output::Failed);
    assert_eq!(r.report.unsupported, vec!["filter `json_query`".to_string()], "{:#?}", r.report);
    let r = t.render_str("{{ x | community.general.json_query('a') }}", &site());
    assert_eq!(r.report.unsupported, vec!["filter `community.general.json_query`".to_string()], "{:#?}", r.report);
    assert_eq!(text(&t, "{{ x | ansible.builtin.to_json }}"), "{\"a\": 1}");
}

#[test]
fn site_guesses_role_and_playbook_dirs() {
    let s = Site::new(Origin::new(Arc::from("play/roles/web/tasks/main.yml"), 1));
    assert_eq!(s.role_dir.as_deref(), Some("play/roles/web"));
    assert_eq!(s.playbook_dir, "play");
    let s = Site::new(Origin::new(Arc::from("site.yml"), 1));
    assert_eq!(s.role_dir, None);
    assert_eq!(s.playbook_dir, "");
}

#[test]
fn unnamed_undefined_failures_name_the_missing_variable() {
    let t = templar(json!({"known": [1]}));
    let r = t.render_str("{{ __java_packages | list }}", &site());
    assert_eq!(r.output, Output::Failed);
    assert_eq!(undefined_names(&r.report), vec!["__java_packages".to_string()], "{:#?}", r.report);
    let r = t.render_str("{% for k, v in instances.items() %}{% endfor %}", &site());
    assert_eq!(undefined_names(&r.report), vec!["instances".to_string()], "{:#?}", r.report);
}

#[test]
fn lookup_terms_are_templated_once_more() {
    let t = file_templar();
    assert_eq!(text(&t, "{{ lookup('file', '{{ role_path }}/files/motd') }}"), "hello");
}

#[test]
fn includes_in_templates_are_unsupported() {
    let t = templar(json!({}));
    let r = t.render_template_text("a {% include 'other.j2' %} b", "x.j2", &site(), &FileOptions::default());
    assert_eq!(r.output, Output::Failed);
    assert_eq!(r.report.unsupported, vec!["{% include/import/extends 'other.j2' %} in a template".to_string()]);
    assert!(r.report.errors.is_empty(), "{:?}", r.report.errors);
}

#[test]
fn deep_variable_chains_stop_with_a_finding_not_a_stack_overflow() {
    let chain = |depth: usize| {
        let mut vars = serde_json::Map::new();
        for i in 0..depth {
            vars.insert(format!("a{i}"), json!(format!("{{{{ a{} }}}}", i + 1)));
        }
        vars.insert(format!("a{depth}"), json!("end"));
        Templar::new(None, Vars::from_json(vars), Lookups::default())
    };
    assert_eq!(text(&chain(20), "{{ a0 }}"), "end");
    let r = chain(500).render_str("{{ a0 }}", &site());
    assert_eq!(r.output, Output::Failed);
    assert!(r.report.errors.iter().any(|e| e.contains("nest deeper than")), "{:?}", r.report);
}

#[test]
fn templar_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Templar>();
}

#[test]
fn a_single_expression_with_a_trailing_newline_keeps_the_newline() {
    // `copy: content: "{{ app_version }}\n"`: real Ansible (ansible-core 2.19, set_fact +
    // type_debug) keeps the newline of a string; a number stays a number either way.
    let t = templar(json!({"app_version": "1.9.0", "n": 3}));
    let r = t.resolve_value(&json!({"content": "{{ app_version }}\n", "n": "{{ n }}", "s": "{{ n }}\n"}), &site());
    match r.output {
        Output::Value(v) => assert_eq!(v, json!({"content": "1.9.0\n", "n": 3, "s": 3})),
        other => panic!("{other:?}"),
    }
}

/// Text with bare `{{ name }}`s is rendered without minijinja (`Scope::print_names`) and
/// `{{ name }}` alone is a lookup: both must give what minijinja gives. An empty comment
/// (`{# #}`) renders to nothing and sends the same template through minijinja.
#[test]
fn bare_names_render_as_minijinja_renders_them() {
    let mut vars = Vars::new();
    vars.set("n", json!(3))
        .set("f", json!(1.5))
        .set("b", json!(true))
        .set("none", json!(null))
        .set("s", json!("it's \"q\""))
        .set("l", json!([1, "a", null, false]))
        .set("d", json!({"k": "v", "n": [1]}))
        .set("t", json!("{{ n }}-{{ s }}"))
        .set("bad", json!("{{ nothere }}"))
        .set("o", json!("{{ omit }}"))
        .set_unknown("u", "registered by a task")
        .set_secret("v", Some(crate::sensitive::Sensitive::new("pw".to_string())));
    let facts = Facts::for_image("debian:12").unwrap();
    let t = Templar::new(facts.as_ref(), vars, Lookups::default());
    let names = ["n", "f", "b", "none", "s", "l", "d", "t", "bad", "o", "u", "v", "nothere", "ansible_os_family"];
    for a in names {
        for b in names {
            for src in [format!("x/{{{{ {a} }}}}-{{{{{b}}}}}.conf"), format!("{{{{ {a} }}}}{{{{ {b} }}}}")] {
                let fast = t.render_str(&src, &site());
                let slow = t.render_str(&format!("{src}{{# #}}"), &site());
                assert_eq!(fast, slow, "{src}");
            }
        }
        let src = format!("{{{{ {a} }}}}");
        let fast = t.resolve_value(&json!(src), &site());
        let slow = t.resolve_value(&json!(format!("{{{{ {a} | default(omit) if false else {a} }}}}")), &site());
        assert_eq!(fast.output, slow.output, "{src}");
    }
}

/// Template files and YAML strings made of text and bare `{{ name }}`s, with the trailing
/// newlines minijinja's lexer drops (one `\n`, then one `\r`) and Ansible puts back, are
/// printed without minijinja too: each must give what minijinja gives. A leading empty
/// comment (`{# #}`) renders to nothing, leaves the trailing newlines alone and sends the
/// same template through minijinja.
#[test]
fn text_and_bare_names_with_trailing_newlines_render_as_minijinja_renders_them() {
    let mut vars = Vars::new();
    vars.set("n", json!(3))
        .set("none", json!(null))
        .set("s", json!("it's \"q\""))
        .set("nl", json!("ends\n"))
        .set("nl2", json!("ends\n\n"))
        .set("cr", json!("ends\r"))
        .set("l", json!([1, "a", null, false]))
        .set("d", json!({"k": "v", "n": [1]}))
        .set("dd", json!({"a": {"b": "{{ s }}\n"}, "bad": "{{ nothere }}", "o": "{{ omit }}", "u": "{{ u }}"}))
        .set("t", json!("{{ n }}-{{ s }}\n"))
        .set("bad", json!("{{ nothere }}"))
        .set("o", json!("{{ omit }}"))
        .set_unknown("u", "registered by a task")
        .set_secret("v", Some(crate::sensitive::Sensitive::new("pw".to_string())));
    let facts = Facts::for_image("debian:12").unwrap();
    let t = Templar::new(facts.as_ref(), vars, Lookups::default());
    let names = [
        "n",
        "none",
        "s",
        "nl",
        "nl2",
        "cr",
        "l",
        "d",
        "t",
        "bad",
        "o",
        "u",
        "v",
        "nothere",
        "ansible_managed",
        "d.k",
        "d.n",
        "d.nothere",
        "dd.a.b",
        "dd.a.nothere.x",
        "dd.bad",
        "dd.o",
        "dd.u",
        "l.x",
        "s.upper",
        "u.x",
        "v.x",
        "none.x",
        "nothere.x",
        "vars.n",
        "vars.nothere",
        "vars.d.k",
        "ansible_facts.os_family",
        "hostvars.x",
    ];
    let custom = FileOptions { variable_start: "[[".into(), variable_end: "]]".into(), ..FileOptions::default() };
    let lstrip = FileOptions { trim_blocks: false, lstrip_blocks: true, ..FileOptions::default() };
    for a in names {
        for b in ["n", "nl", "none", "u", "nothere"] {
            for end in ["", "\n", "\n\n", "\r\n", "\r", "\n\r", " \n"] {
                let sources = [
                    format!("{{{{ {a} }}}}{end}"),
                    format!("x = {{{{ {a} }}}}{end}"),
                    format!("# {{{{ {b} }}}}\n  a={{{{ {a} }}}}\n\tb={{{{{b}}}}}{end}"),
                    format!("{{{{ {a} }}}}{{{{ {b} }}}}{end}"),
                ];
                for src in sources {
                    for options in [&FileOptions::default(), &custom, &lstrip] {
                        let fast = t.render_template_text(&src, "t.j2", &site(), options);
                        let slow = t.render_template_text(&format!("{{# #}}{src}"), "t.j2", &site(), options);
                        assert_eq!(fast, slow, "{src:?}");
                    }
                    let fast = t.resolve_value(&json!(src), &site());
                    let slow = t.resolve_value(&json!(format!("{{# #}}{src}")), &site());
                    assert_eq!(fast, slow, "{src:?}");
                }
            }
        }
    }
}

/// `render_str` and `resolve_value` skip the evaluation of text and values without a
/// template (`is_plain`): the shortcut must give what the full evaluation gives.
#[test]
fn plain_text_and_values_resolve_as_the_full_evaluation_does() {
    let t = templar(json!({"x": "{{ y }}", "y": 1}));
    let values = [
        json!(null),
        json!(true),
        json!(0),
        json!(-7),
        json!(u64::MAX),
        json!(""),
        json!("plain text"),
        json!("50%"),
        json!(["a", 1, null, {"k": "v"}]),
        json!({"b": 2, "a": 1, "nested": {"list": [1, 2, 3], "s": "x"}}),
        json!({}),
        json!([]),
    ];
    for v in values {
        assert!(is_plain(&v), "{v}");
        let full = scope::Call::new(&t, &site()).resolve_value(&v);
        assert_eq!(t.resolve_value(&v, &site()), full, "{v}");
        if let Some(s) = v.as_str() {
            assert_eq!(t.render_str(s, &site()), scope::Call::new(&t, &site()).render_str(s), "{s}");
        }
    }
    // Templates, floats and the marker maps take the full evaluation.
    for v in [
        json!("{{ x }}"),
        json!("{% if y %}a{% endif %}"),
        json!("#jinja2: trim_blocks: False\na"),
        json!(1.5),
        json!(["a", "{{ y }}"]),
        json!({"__ansible_unsafe": "{{ y }}"}),
        json!({"__ansible_vault": "x"}),
        json!({"__migrate_unknown": "why"}),
    ] {
        assert!(!is_plain(&v), "{v}");
    }
}
