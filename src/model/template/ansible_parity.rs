//! Behaviour checked against real Ansible: Ansible 12.3.0 (ansible-core
//! 2.19.14) from `/work/tools-venv`, run on the Debian 12 machine this was
//! written on. Every expected value below is what that Ansible printed.
//!
//! Three harnesses were used:
//!
//! 1. Ad-hoc, one run per template `T`, `vars.json` holding [`VARS`]:
//!    `ansible localhost -m debug -e @vars.json -a "$(python3 -c 'import json,sys;
//!    print(json.dumps({"msg": sys.argv[1]}))' "$T")"`; the comment above each
//!    case shows the `-a` argument. The expected value is `msg` (Ansible keeps
//!    the native type of a single `{{ }}`, prints a string otherwise).
//! 2. `ansible-playbook parity.yml` (for backslashes, lazy vars and cycles,
//!    where the ad-hoc `-a` parser would add its own escaping):
//!
//! ```yaml
//! - hosts: localhost
//!   gather_facts: false
//!   vars:
//!     ifnl: "{% for n in [1, 2] %}\nline {{ n }}\n{% endfor %}\nend"
//!     cfg: {x: "{{ nothere }}", y: 5}
//!     a: "{{ b }}"
//!     b: "{{ a }}"
//!   tasks:
//!     - debug: {msg: "{{ 'Hello World' | regex_replace('(\\w+) (\\w+)', '\\2 \\1') }}"}
//!     - debug: {msg: "{{ 'foo=bar' | regex_search('(\\w+)=(\\w+)', '\\2', '\\1') }}"}
//!     - debug: {msg: "{{ 'k1=v1 k2=v2' | regex_findall('(\\w)(\\d)=') }}"}
//!     - debug: {msg: "{{ 'a\\nb' }}"}
//!     - debug: {msg: "{{ ifnl }}"}
//!     - debug: {msg: "{{ cfg.x | default('dflt') }}"}
//!     - debug: {msg: "{{ undefined_thing | default(omit) }}"}
//!     - debug: {msg: "{{ a }}"}
//!       ignore_errors: true
//! ```
//!
//! 3. `ansible-playbook tpl.yml` with `templates/a.j2` = [`A_J2`] and
//!    `templates/b.j2` = [`B_J2`] (the `template` module, then the files it wrote):
//!
//! ```yaml
//! - hosts: localhost
//!   gather_facts: false
//!   vars_files: [../vars.json]
//!   tasks:
//!     - template: {src: "{{ item }}", dest: "out/{{ item }}.out"}
//!       loop: [a.j2, b.j2, c.j2, d.j2, e.j2, f.j2]
//!     - template: {src: b.j2, dest: out/b_lstrip_off.out, lstrip_blocks: false, trim_blocks: true}
//!     - template: {src: a.j2, dest: out/a_notrim.out, trim_blocks: false}
//! ```

use serde_json::{Value as Json, json};

use super::tests::site;
use super::*;

/// `vars.json` of the ad-hoc runs.
const VARS: &str = r#"{"nested": {"b": {"y": 2, "x": 1}, "a": [3, 1, 2], "s": "text", "t": true, "n": null},
 "d1": {"a": {"x": 1, "l": [1, 2]}, "b": 1},
 "d2": {"a": {"y": 2, "l": [3]}, "c": 3},
 "words": ["b", "A", "a", "c", "B"],
 "nums": [3, 1, 2, 3],
 "deep": [1, [2, [3, [4]]], 5],
 "users": [{"name": "al", "uid": 1, "on": true}, {"name": "bo", "uid": 2, "on": false}],
 "path": "/etc/nginx/conf.d/site.conf",
 "hpath": "~/x/y.tar.gz",
 "url": "https://user:pw@example.com:8443/a/b?x=1&y=2#frag"}"#;

fn templar() -> Templar {
    let vars: Json = serde_json::from_str(VARS).unwrap();
    Templar::new(None, Vars::from_json(vars.as_object().cloned().unwrap()), Lookups::default())
}

/// (template, Ansible's `msg` as JSON).
const ADHOC: &[(&str, &str)] = &[
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ nested | to_nice_json }}"}
    (r#"{{ nested | to_nice_json }}"#, r#""{\n    \"a\": [\n        3,\n        1,\n        2\n    ],\n    \"b\": {\n        \"x\": 1,\n        \"y\": 2\n    },\n    \"n\": null,\n    \"s\": \"text\",\n    \"t\": true\n}""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ nested | to_json }}"}
    (r#"{{ nested | to_json }}"#, r#""{\"b\": {\"y\": 2, \"x\": 1}, \"a\": [3, 1, 2], \"s\": \"text\", \"t\": true, \"n\": null}""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ nested | to_yaml }}"}
    (r#"{{ nested | to_yaml }}"#, r#""a: [3, 1, 2]\nb: {x: 1, y: 2}\nn: null\ns: text\nt: true\n""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ nested | to_nice_yaml }}"}
    (r#"{{ nested | to_nice_yaml }}"#, r#""a:\n- 3\n- 1\n- 2\nb:\n    x: 1\n    y: 2\nn: null\ns: text\nt: true\n""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ 'yes' | bool }}"}
    (r#"{{ 'yes' | bool }}"#, r#"true"#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ 'yes' | bool }}|{{ 'on' | bool }}|{{ '1' | bool }}|{{ 'True' | bool }}|{{ 'no' | bool }}|{{ 'off' | bool }}|{{ 'garbage' | bool }}|{{ 1 | bool }}|{{ 0 | bool }}|{{ 'y' | bool }}|{{ '' | bool }}|{{ none | bool }}|{{ 2 | bool }}"}
    (r#"{{ 'yes' | bool }}|{{ 'on' | bool }}|{{ '1' | bool }}|{{ 'True' | bool }}|{{ 'no' | bool }}|{{ 'off' | bool }}|{{ 'garbage' | bool }}|{{ 1 | bool }}|{{ 0 | bool }}|{{ 'y' | bool }}|{{ '' | bool }}|{{ none | bool }}|{{ 2 | bool }}"#, r#""True|True|True|True|False|False|False|True|False|False|False|False|False""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ d1 | combine(d2, recursive=True) }}"}
    (r#"{{ d1 | combine(d2, recursive=True) }}"#, r#"{"a": {"l": [3], "x": 1, "y": 2}, "b": 1, "c": 3}"#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ d1 | combine(d2, recursive=True, list_merge='append') }}"}
    (r#"{{ d1 | combine(d2, recursive=True, list_merge='append') }}"#, r#"{"a": {"l": [1, 2, 3], "x": 1, "y": 2}, "b": 1, "c": 3}"#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ d1 | combine(d2) }}"}
    (r#"{{ d1 | combine(d2) }}"#, r#"{"a": {"l": [3], "y": 2}, "b": 1, "c": 3}"#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ \"it's a $x\" | quote }}|{{ 'simple' | quote }}|{{ '' | quote }}|{{ 'a b' | quote }}"}
    (r#"{{ "it's a $x" | quote }}|{{ 'simple' | quote }}|{{ '' | quote }}|{{ 'a b' | quote }}"#, r#""'it'\"'\"'s a $x'|simple|''|'a b'""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ '1.10' is version('1.9', '>=') }}|{{ '1.10' is version('1.9', 'lt') }}|{{ '1.0.0' is version('1.0', 'eq') }}|{{ '1.2.3' is version('1.2.10', '<', strict=true) }}|{{ '1.0.0-rc1' is version('1.0.0', '<', version_type='semver') }}"}
    (r#"{{ '1.10' is version('1.9', '>=') }}|{{ '1.10' is version('1.9', 'lt') }}|{{ '1.0.0' is version('1.0', 'eq') }}|{{ '1.2.3' is version('1.2.10', '<', strict=true) }}|{{ '1.0.0-rc1' is version('1.0.0', '<', version_type='semver') }}"#, r#""True|False|False|True|True""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ true | ternary('a', 'b') }}|{{ false | ternary('a', 'b') }}|{{ none | ternary('a', 'b', 'c') }}|{{ 'x' | ternary('a', 'b') }}"}
    (r#"{{ true | ternary('a', 'b') }}|{{ false | ternary('a', 'b') }}|{{ none | ternary('a', 'b', 'c') }}|{{ 'x' | ternary('a', 'b') }}"#, r#""a|b|c|a""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ deep | flatten }}|{{ deep | flatten(levels=1) }}|{{ [1, none, [2, 'null']] | flatten }}"}
    (r#"{{ deep | flatten }}|{{ deep | flatten(levels=1) }}|{{ [1, none, [2, 'null']] | flatten }}"#, r#""[1, 2, 3, 4, 5]|[1, 2, [3, [4]], 5]|[1, 2]""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ {'b': 1, 'a': 2} | dict2items }}|{{ {'b': 1} | dict2items(key_name='k', value_name='v') }}|{{ [{'key': 'x', 'value': 1}] | items2dict }}"}
    (r#"{{ {'b': 1, 'a': 2} | dict2items }}|{{ {'b': 1} | dict2items(key_name='k', value_name='v') }}|{{ [{'key': 'x', 'value': 1}] | items2dict }}"#, r#""[{'key': 'b', 'value': 1}, {'key': 'a', 'value': 2}]|[{'k': 'b', 'v': 1}]|{'x': 1}""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ ['a', omit, 'b'] }}"}
    (r#"{{ ['a', omit, 'b'] }}"#, r#"["a", "b"]"#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ undefined_thing | default(omit) }}x"}
    (r#"{{ undefined_thing | default(omit) }}x"#, r#""x""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ words | unique }}|{{ words | sort }}|{{ words | min }}|{{ nums | unique }}"}
    (r#"{{ words | unique }}|{{ words | sort }}|{{ words | min }}|{{ nums | unique }}"#, r#""['b', 'A', 'c']|['A', 'a', 'b', 'B', 'c']|A|[3, 1, 2]""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ '42' | int }}|{{ 'abc' | int }}|{{ '3.7' | int }}|{{ '0x1A' | int(base=16) }}|{{ '3.5' | float }}|{{ 'x' | float }}"}
    (r#"{{ '42' | int }}|{{ 'abc' | int }}|{{ '3.7' | int }}|{{ '0x1A' | int(base=16) }}|{{ '3.5' | float }}|{{ 'x' | float }}"#, r#""42|0|3|26|3.5|0.0""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ url | urlsplit('hostname') }}|{{ url | urlsplit('port') }}|{{ url | urlsplit('path') }}"}
    (r#"{{ url | urlsplit('hostname') }}|{{ url | urlsplit('port') }}|{{ url | urlsplit('path') }}"#, r#""example.com|8443|/a/b""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ 'hello' | comment }}"}
    (r#"{{ 'hello' | comment }}"#, r##""#\n# hello\n#""##),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ path | basename }}|{{ path | dirname }}|{{ path | splitext }}"}
    (r#"{{ path | basename }}|{{ path | dirname }}|{{ path | splitext }}"#, r#""site.conf|/etc/nginx/conf.d|['/etc/nginx/conf.d/site', '.conf']""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ 'abc' | hash('sha1') }}|{{ 'abc' | checksum }}|{{ 'abc' | hash('sha256') }}"}
    (r#"{{ 'abc' | hash('sha1') }}|{{ 'abc' | checksum }}|{{ 'abc' | hash('sha256') }}"#, r#""a9993e364706816aba3e25717850c26c9cd0d89d|a9993e364706816aba3e25717850c26c9cd0d89d|ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ 'hello' | b64encode }}|{{ 'aGVsbG8=' | b64decode }}"}
    (r#"{{ 'hello' | b64encode }}|{{ 'aGVsbG8=' | b64decode }}"#, r#""aGVsbG8=|hello""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ [1, 2] | zip(['a', 'b', 'c']) | list }}|{{ [1, 2] | product(['a', 'b']) | list }}"}
    (r#"{{ [1, 2] | zip(['a', 'b', 'c']) | list }}|{{ [1, 2] | product(['a', 'b']) | list }}"#, r#""[[1, 'a'], [2, 'b']]|[[1, 'a'], [1, 'b'], [2, 'a'], [2, 'b']]""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ lookup('vars', 'path') }}|{{ lookup('vars', 'nopevar', default='dv') }}|{{ query('vars', 'path') }}"}
    (r#"{{ lookup('vars', 'path') }}|{{ lookup('vars', 'nopevar', default='dv') }}|{{ query('vars', 'path') }}"#, r#""/etc/nginx/conf.d/site.conf|dv|['/etc/nginx/conf.d/site.conf']""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ undefined_thing | default('d') }}|{{ '' | default('d') }}|{{ '' | default('d', true) }}|{{ none | default('d') }}"}
    (r#"{{ undefined_thing | default('d') }}|{{ '' | default('d') }}|{{ '' | default('d', true) }}|{{ none | default('d') }}"#, r#""d||d|""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ true }}x{{ none }}y{{ [1, 'a', true, none] }}z{{ {'k': 'v', 'n': 1} }}"}
    (r#"{{ true }}x{{ none }}y{{ [1, 'a', true, none] }}z{{ {'k': 'v', 'n': 1} }}"#, r#""Truexy[1, 'a', True, None]z{'k': 'v', 'n': 1}""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ 3 / 2 }}|{{ 4 / 2 }}|{{ 0.1 + 0.2 }}|{{ 1e20 }}"}
    (r#"{{ 3 / 2 }}|{{ 4 / 2 }}|{{ 0.1 + 0.2 }}|{{ 1e20 }}"#, r#""1.5|2.0|0.30000000000000004|1e+20""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{% set ns = namespace(total=0) %}{% for n in nums %}{% set ns.total = ns.total + n %}{% endfor %}{{ ns.total }}"}
    (r#"{% set ns = namespace(total=0) %}{% for n in nums %}{% set ns.total = ns.total + n %}{% endfor %}{{ ns.total }}"#, r#"9"#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ 'x=%s' % 'y' }}|{{ '{} and {}'.format('x', 1) }}|{{ 'a,b,c'.split(',') }}"}
    (r#"{{ 'x=%s' % 'y' }}|{{ '{} and {}'.format('x', 1) }}|{{ 'a,b,c'.split(',') }}"#, r#""x=y|x and 1|['a', 'b', 'c']""#),
    // ansible localhost -m debug -e @vars.json -a {"msg": "{{ 'ab' | center(7) }}|{{ 'abcabc' | replace('b', 'X', 1) }}|{{ 'xxhixx' | trim('x') }}"}
    (r#"{{ 'ab' | center(7) }}|{{ 'abcabc' | replace('b', 'X', 1) }}|{{ 'xxhixx' | trim('x') }}"#, r#""   ab  |aXcabc|hi""#),
];

#[test]
fn adhoc_templates_match_ansible() {
    let t = templar();
    let mut wrong = Vec::new();
    for (template, expected) in ADHOC {
        let expected: Json = serde_json::from_str(expected).unwrap();
        let got = t.resolve_value(&Json::from(*template), &site());
        if got.output != Output::Value(expected.clone()) {
            wrong.push(format!("{template}\n  ansible: {expected}\n  ours:    {:?} {:?}", got.output, got.report));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn playbook_templar() -> Templar {
    let mut vars = Vars::new();
    vars.set("ifnl", json!("{% for n in [1, 2] %}\nline {{ n }}\n{% endfor %}\nend"));
    vars.set("cfg", json!({"x": "{{ nothere }}", "y": 5}));
    vars.set("a", json!("{{ b }}"));
    vars.set("b", json!("{{ a }}"));
    Templar::new(None, vars, Lookups::default())
}

/// `parity.yml`, task by task: the templates are the YAML-parsed strings.
#[test]
fn playbook_strings_match_ansible() {
    let t = playbook_templar();
    let value = |s: &str| t.resolve_value(&Json::from(s), &site()).output;
    // "World Hello"
    assert_eq!(value(r"{{ 'Hello World' | regex_replace('(\w+) (\w+)', '\2 \1') }}"), Output::Value(json!("World Hello")));
    // ["bar", "foo"]
    assert_eq!(value(r"{{ 'foo=bar' | regex_search('(\w+)=(\w+)', '\2', '\1') }}"), Output::Value(json!(["bar", "foo"])));
    // [["k", "1"], ["k", "2"]]
    assert_eq!(value(r"{{ 'k1=v1 k2=v2' | regex_findall('(\w)(\d)=') }}"), Output::Value(json!([["k", "1"], ["k", "2"]])));
    // "a\\nb": in a YAML string, `\n` inside `{{ }}` stays two characters.
    assert_eq!(value(r"{{ 'a\nb' }}"), Output::Value(json!("a\\nb")));
    // "line 1\nline 2\nend": trim_blocks applies to strings too.
    assert_eq!(value("{{ ifnl }}"), Output::Value(json!("line 1\nline 2\nend")));
    // "dflt": an undefined inside a variable only matters when used.
    assert_eq!(value("{{ cfg.x | default('dflt') }}"), Output::Value(json!("dflt")));
    // "Hello world!": debug's default message, i.e. `msg` was omitted.
    assert_eq!(value("{{ undefined_thing | default(omit) }}"), Output::Omit);
    // "Recursive loop detected in template": here a finding, not a crash.
    let r = t.resolve_value(&Json::from("{{ a }}"), &site());
    assert_eq!(r.output, Output::Failed);
    assert!(r.report.errors.iter().any(|e| e.contains("a -> b -> a")), "{:?}", r.report);
}

/// `templates/a.j2` of `tpl.yml`.
const A_J2: &str = r#"# {{ ansible_managed }}
[main]
{% for u in users %}
user = {{ u.name }}
{% if u.on %}
  enabled = {{ u.on }}
{% endif %}
{% endfor %}
    {% if nested.t %}
indented-block-tag
    {% endif %}
{%- if true %}
dash-left
{% endif -%}
after dash right
{% set x = 'v' %}
x={{ x }}
{# a comment line #}
list={{ nested.a }}
dict={{ nested.b }}
none={{ nested.n }}
bool={{ nested.t }}
float={{ 1.0 }} {{ 0.5 + 0.25 }}
json={{ nested.b | to_json }}
yaml:
{{ nested | to_nice_yaml | indent(2, true) }}
str-escape={{ "a\tb" }} {{ 'q\'s' }}
{% raw %}{{ kept }}{% endraw %}

"#;
/// `templates/b.j2` of `tpl.yml` (its first line overrides trim/lstrip).
const B_J2: &str = r#"#jinja2: trim_blocks: False, lstrip_blocks: True
{% for n in nums %}
    {% if n > 1 %}
n={{ n }}
    {% endif %}
{% endfor %}
end
"#;

/// `tpl.yml`: the `template` module's output files, byte for byte.
#[test]
fn template_files_match_the_template_module() {
    let vars: Json = serde_json::from_str(VARS).unwrap();
    let t = Templar::new(None, Vars::from_json(vars.as_object().cloned().unwrap()), Lookups::default());
    let render = |text: &str, opts: &FileOptions| match t.render_template_text(text, "templates/x.j2", &site(), opts).output {
        Output::Value(s) => s,
        other => panic!("{other:?}"),
    };
    // out/a.j2.out (defaults: trim_blocks=True, lstrip_blocks=False)
    assert_eq!(render(A_J2, &FileOptions::default()), r#"# Ansible managed
[main]
user = al
  enabled = True
user = bo
    indented-block-tag
    dash-left
after dash right
x=v
list=[3, 1, 2]
dict={'y': 2, 'x': 1}
none=
bool=True
float=1.0 0.75
json={"y": 2, "x": 1}
yaml:
  a:
  - 3
  - 1
  - 2
  b:
      x: 1
      y: 2
  n: null
  s: text
  t: true

str-escape=a	b q's
{{ kept }}

"#);
    // out/a_notrim.out (trim_blocks: false)
    assert_eq!(render(A_J2, &FileOptions { trim_blocks: false, ..FileOptions::default() }), r#"# Ansible managed
[main]

user = al

  enabled = True


user = bo


    
indented-block-tag
    
dash-left
after dash right

x=v

list=[3, 1, 2]
dict={'y': 2, 'x': 1}
none=
bool=True
float=1.0 0.75
json={"y": 2, "x": 1}
yaml:
  a:
  - 3
  - 1
  - 2
  b:
      x: 1
      y: 2
  n: null
  s: text
  t: true

str-escape=a	b q's
{{ kept }}

"#);
    // out/b.j2.out and out/b_lstrip_off.out: the `#jinja2:` line wins over the task's options
    let expected_b = r#"

n=3





n=2



n=3


end
"#;
    assert_eq!(render(B_J2, &FileOptions::default()), expected_b);
    assert_eq!(render(B_J2, &FileOptions { trim_blocks: true, lstrip_blocks: false, ..FileOptions::default() }), expected_b);
}
