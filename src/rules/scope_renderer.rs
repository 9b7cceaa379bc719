//! `template:` sources rendered with the scope of the task that uses them.
//!
//! Owns the decision between baking a rendered file into the image and
//! rendering it at container start: a template that touches a vault value or
//! an inventory variable that differs between environments is re-rendered
//! with `${NAME}` placeholders for those values ([`TemplateResult::AtStart`]).
//! Never puts a secret's plaintext in the text it returns: a secret that a
//! template transforms (a filter, a condition) makes the result `Failed`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value as Json;

use super::emit::{StartVar, TemplateRenderer, TemplateResult, VarSource};
use crate::model::resolved::{ResolvedRun, ResolvedTask};
use crate::model::template::{FileOptions, Output, VarValue, Vars, is_plain};

/// Renders templates with the scope table of a [`ResolvedRun`].
pub struct ScopeRenderer<'a> {
    run: &'a ResolvedRun,
    /// Take no shortcut: resolve every name and render every probe (tests compare
    /// this with the shortcuts).
    always_probe: bool,
}

impl<'a> ScopeRenderer<'a> {
    pub fn new(run: &'a ResolvedRun) -> ScopeRenderer<'a> {
        ScopeRenderer { run, always_probe: false }
    }
}

/// Names a template reads: identifiers inside `{{ }}` and `{% %}` that are
/// not attributes, filters, tests or keywords.
///
/// One pass over the text and over each tag, written out by hand for tags in ASCII
/// (nearly all); a tag with other characters goes through the patterns
/// ([`tag_names_by_pattern`]), whose Unicode classes the hand-written scan does not
/// reproduce. Both find the same names (unit test against the patterns).
fn referenced_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for inner in tags(text) {
        if inner.is_ascii() {
            tag_names(inner, &mut out);
        } else {
            tag_names_by_pattern(inner, &mut out);
        }
    }
    out
}

const KEYWORDS: &[&str] = &[
    "if",
    "else",
    "elif",
    "endif",
    "for",
    "endfor",
    "in",
    "not",
    "and",
    "or",
    "is",
    "true",
    "false",
    "True",
    "False",
    "none",
    "None",
    "set",
    "endset",
    "macro",
    "endmacro",
    "raw",
    "endraw",
    "block",
    "endblock",
    "include",
    "import",
    "from",
    "with",
    "endwith",
    "recursive",
    "loop",
    "defined",
    "undefined",
    "filter",
    "endfilter",
    "call",
    "endcall",
    "as",
];

/// The insides of the `{{ … }}` and `{% … %}` tags of `text`, in order: what
/// `(?s)\{\{(.*?)\}\}|\{%(.*?)%\}` captures (each tag ends at the first closing
/// delimiter; an opening one without a closing one is text).
fn tags(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while let Some(found) = bytes.get(at..).and_then(|rest| rest.iter().position(|&b| b == b'{')) {
            let open = at + found;
            let close: &[u8] = match bytes.get(open + 1) {
                Some(b'{') => b"}}",
                Some(b'%') => b"%}",
                _ => {
                    at = open + 1;
                    continue;
                }
            };
            let body = open + 2;
            match bytes.get(body..).and_then(|rest| rest.windows(2).position(|w| w == close)) {
                Some(len) => {
                    at = body + len + 2;
                    // Delimiters are ASCII, so these are character boundaries.
                    return text.get(body..body + len);
                }
                None => at = open + 1,
            }
        }
        None
    })
}

/// The names one ASCII tag reads, as [`tag_names_by_pattern`] finds them: strings
/// blanked, `is [not] test` removed, spaces around `|` and `.` removed, then every
/// identifier that does not follow a word character, `.`, `|` or a quote, is not a
/// keyword and is not called.
fn tag_names(inner: &str, out: &mut BTreeSet<String>) {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    // `\s` of the patterns, in ASCII.
    let space = |b: u8| matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ');
    let ident_start = |b: u8| b.is_ascii_alphabetic() || b == b'_';
    let stripped = strip_strings(inner);
    let s = stripped.as_bytes();
    // `\bis\s+(not\s+)?[A-Za-z_]\w*` → " ".
    let mut untested: Vec<u8> = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i..].starts_with(b"is") && (i == 0 || !word(s[i - 1])) {
            let mut j = i + 2;
            let spaces = s[j..].iter().take_while(|&&b| space(b)).count();
            if spaces > 0 {
                j += spaces;
                let mut k = j;
                if s[k..].starts_with(b"not") {
                    let after = s[k + 3..].iter().take_while(|&&b| space(b)).count();
                    if after > 0 && s.get(k + 3 + after).is_some_and(|&b| ident_start(b)) {
                        k += 3 + after;
                    }
                }
                if s.get(k).is_some_and(|&b| ident_start(b)) {
                    k += 1 + s[k + 1..].iter().take_while(|&&b| word(b)).count();
                    untested.push(b' ');
                    i = k;
                    continue;
                }
            }
        }
        untested.push(s[i]);
        i += 1;
    }
    // `\s*([|.])\s*` → `$1`: spaces next to `|` or `.` go.
    let s = &untested;
    let mut glued: Vec<u8> = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if space(s[i]) {
            let run = s[i..].iter().take_while(|&&b| space(b)).count();
            let before = i > 0 && matches!(s[i - 1], b'|' | b'.');
            let after = s.get(i + run).is_some_and(|&b| matches!(b, b'|' | b'.'));
            if !before && !after {
                glued.extend_from_slice(&s[i..i + run]);
            }
            i += run;
        } else {
            glued.push(s[i]);
            i += 1;
        }
    }
    // `(^|[^\w.|'"])([A-Za-z_][A-Za-z0-9_]*)`, not a keyword, not followed by `(`.
    let s = &glued;
    let mut i = 0;
    while i < s.len() {
        let start = if i == 0 && ident_start(s[0]) {
            Some(0)
        } else if !word(s[i])
            && !matches!(s[i], b'.' | b'|' | b'\'' | b'"')
            && s.get(i + 1).is_some_and(|&b| ident_start(b))
        {
            Some(i + 1)
        } else {
            None
        };
        let Some(start) = start else {
            i += 1;
            continue;
        };
        let end = start + 1 + s[start + 1..].iter().take_while(|&&b| word(b)).count();
        // ASCII throughout, so the bytes are the name's text.
        let name = std::str::from_utf8(&s[start..end]).unwrap_or_default();
        if !KEYWORDS.contains(&name) && s.get(end) != Some(&b'(') {
            out.insert(name.to_string());
        }
        i = end;
    }
}

/// [`tag_names`] with the patterns (Unicode word and space classes).
fn tag_names_by_pattern(inner: &str, out: &mut BTreeSet<String>) {
    static IDENT: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r#"(^|[^\w.|'"])([A-Za-z_][A-Za-z0-9_]*)"#).ok());
    let Some(ident) = IDENT.as_ref() else { return };
    // String literals, filter and test names, attributes and calls are not variables.
    let stripped = strip_strings(inner);
    let stripped = glue(&stripped);
    for c in ident.captures_iter(&stripped) {
        let Some(m) = c.get(2) else { continue };
        let name = m.as_str();
        let called = stripped[m.end()..].starts_with('(');
        if !KEYWORDS.contains(&name) && !called {
            out.insert(name.to_string());
        }
    }
}

/// `a | f`, `a . b` and `x is defined` written with spaces, made tight so the
/// identifier pattern can tell names from filters, attributes and tests.
fn glue(s: &str) -> String {
    static PIPE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\s*([|.])\s*").ok());
    static TEST: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\bis\s+(not\s+)?[A-Za-z_]\w*").ok());
    let (Some(pipe), Some(test)) = (PIPE.as_ref(), TEST.as_ref()) else { return s.to_string() };
    let s = test.replace_all(s, " ");
    pipe.replace_all(&s, "$1").into_owned()
}

fn strip_strings(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut quote: Option<char> = None;
    for ch in s.chars() {
        match quote {
            Some(q) if ch == q => {
                quote = None;
                out.push(' ');
            }
            Some(_) => {}
            None if ch == '"' || ch == '\'' => quote = Some(ch),
            None => out.push(ch),
        }
    }
    out
}

/// The environment variable a template already assigns from each variable
/// (`DATABASE_URL={{ database_url }}`, `Environment="KEY={{ x }}"`): the first
/// assignment of a name wins. One pass over the text for every name (a pass per
/// deferred variable was most of the scanning time).
fn assigned_names(text: &str) -> HashMap<&str, &str> {
    // One pattern for every name, compiled once: the first match whose variable is
    // `name` is the leftmost match a pattern written for that name alone would find.
    static ASSIGN: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r#"([A-Z_][A-Z0-9_]*)\s*[=:]\s*["']?\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}"#).ok()
    });
    let mut out = HashMap::new();
    let Some(re) = ASSIGN.as_ref() else { return out };
    for c in re.captures_iter(text) {
        if let (Some(key), Some(name)) = (c.get(1), c.get(2)) {
            out.entry(name.as_str()).or_insert(key.as_str());
        }
    }
    out
}

/// The environment variable for `name` (`assigned`: [`assigned_names`] of the text), else `NAME`.
fn env_name(assigned: &HashMap<&str, &str>, name: &str) -> String {
    match assigned.get(name) {
        Some(key) => key.to_string(),
        None => name.to_ascii_uppercase(),
    }
}

/// Whether the template may read variables by a computed name or capture and
/// transform rendered text (`vars`, lookups, includes, macros, block `set`,
/// `filter` blocks, `#jinja2:` delimiters...). Whole words over the whole text:
/// a false positive only costs the probe renders that [`printed_only`] saves.
///
/// On ASCII text (nearly every template) the pattern runs with ASCII word boundaries, which
/// find the same words there and let the regex engine use its fast automata (a Unicode `\b`
/// cannot run in them).
fn reads_indirectly(text: &str) -> bool {
    const WORDS_PATTERN: &str = r"(vars|hostvars|varnames|lookup|query|q|include|import|extends|macro|call|caller|endset|filter|endfilter|block|self|super|recursive|debug)";
    static WORDS: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(&format!(r"\b{WORDS_PATTERN}\b")).ok());
    static ASCII_WORDS: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(&format!(r"(?-u:\b){WORDS_PATTERN}(?-u:\b)")).ok());
    let words = if text.is_ascii() { &ASCII_WORDS } else { &WORDS };
    text.contains("#jinja2:") || words.as_ref().is_none_or(|re| re.is_match(text))
}

/// How many times each name is printed bare (`{{ name }}`, `{{- name -}}`).
fn bare_prints(text: &str) -> BTreeMap<&str, usize> {
    static PRINT: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}").ok());
    let mut out = BTreeMap::new();
    let Some(print) = PRINT.as_ref() else { return out };
    for c in print.captures_iter(text) {
        if let Some(m) = c.get(1) {
            *out.entry(m.as_str()).or_insert(0) += 1;
        }
    }
    out
}

/// How many times each of `names` occurs in `text` as a whole word (a maximal run of
/// ASCII letters, digits and `_`), in one pass over the text; a name that never occurs
/// is missing. Keys are slices of `text`.
fn word_counts<'t>(text: &'t str, names: &[&str]) -> HashMap<&'t str, usize> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    if names.is_empty() {
        return counts;
    }
    let names: HashSet<&str> = names.iter().copied().collect();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !word(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && word(bytes[i]) {
            i += 1;
        }
        // The run is ASCII, so both ends are character boundaries.
        if let Some(w) = text.get(start..i)
            && names.contains(w)
        {
            *counts.entry(w).or_insert(0) += 1;
        }
    }
    counts
}

/// Whether every occurrence of `name` in the text, as a whole word, is a bare
/// `{{ name }}` (`prints`: [`bare_prints`] of the text; `words`: [`word_counts`]
/// of the text for a set of names that includes `name`). With nothing that reads
/// variables indirectly in the template ([`reads_indirectly`]) and no other
/// variable reading this one, the template then reads the value only to print it
/// as it is: the output is the same text with the value at those places, whatever
/// the value. A probe render for such a name is foreseeable and skipped (see
/// `not_verbatim` in [`ScopeRenderer::render`]).
fn printed_only(name: &str, prints: &BTreeMap<&str, usize>, words: &HashMap<&str, usize>) -> bool {
    words.get(name).copied().unwrap_or(0) == prints.get(name).copied().unwrap_or(0)
}

impl TemplateRenderer for ScopeRenderer<'_> {
    fn render(&self, task: &ResolvedTask, source: &str, text: &str) -> TemplateResult {
        let Some(scope) = self.run.scopes.get(task.scope) else { return TemplateResult::Unavailable };
        let mut options = FileOptions {
            dest: task.args.get("dest").and_then(Json::as_str).map(str::to_string),
            ..Default::default()
        };
        if let Some(b) = task.args.get("trim_blocks").and_then(Json::as_bool) {
            options.trim_blocks = b;
        }
        if let Some(b) = task.args.get("lstrip_blocks").and_then(Json::as_bool) {
            options.lstrip_blocks = b;
        }
        // Which names must come from the environment at start.
        let mut deferred: Vec<(String, StartVar)> = Vec::new();
        let mut assigned: Option<HashMap<&str, &str>> = None;
        for name in referenced_names(text) {
            // A variable defined as plain data (`template::is_plain`) resolves to itself with
            // nothing reported, so it touches no secret: resolving it (a fresh evaluation, its
            // value converted to JSON) is foreseeable.
            let plain_data = !self.always_probe
                && scope.templar.definition(&name).is_some_and(|v| matches!(&*v, VarValue::Json(j) if is_plain(j)));
            let secret = !plain_data && {
                let r = scope.templar.resolve_var(&name, &scope.site);
                matches!(r.output, Output::Sensitive(_)) || !r.report.secrets.is_empty()
            };
            if secret || self.run.env_specific.contains(&name) {
                let source = VarSource::Variable(name.clone());
                let assigned = assigned.get_or_insert_with(|| assigned_names(text));
                deferred.push((name.clone(), StartVar { name: env_name(assigned, &name), secret, source }));
            }
        }
        let placeholder = |v: &StartVar| format!("${{{}}}", v.name);
        // A second spelling of one value: a value printed as is comes out the same
        // either way; one a filter, a test or a comparison used does not.
        let probe = |i: usize| format!("migrate_probe_{i}_q");
        let locals_for = |deferred: &[(String, StartVar)], probed: Option<usize>| {
            let mut locals = Vars::new();
            for (i, (name, v)) in deferred.iter().enumerate() {
                let spelled = if probed == Some(i) { probe(i) } else { placeholder(v) };
                locals.set(name.clone(), Json::String(spelled));
            }
            locals
        };
        let render = |deferred: &[(String, StartVar)], probed: Option<usize>| {
            if deferred.is_empty() {
                return scope.templar.render_template_text(text, source, &scope.site, &options);
            }
            scope.templar.with_locals(locals_for(deferred, probed)).render_template_text(
                text,
                source,
                &scope.site,
                &options,
            )
        };
        // The render with placeholders, and the placeholders read while resolving other variables.
        let render_traced = |deferred: &[(String, StartVar)]| {
            if deferred.is_empty() {
                return (render(deferred, None), BTreeSet::new());
            }
            scope.templar.with_locals(locals_for(deferred, None)).render_template_text_traced(
                text,
                source,
                &scope.site,
                &options,
            )
        };
        let indirect = self.always_probe || deferred.is_empty() || reads_indirectly(text);
        let prints = if indirect { BTreeMap::new() } else { bare_prints(text) };
        let words = if indirect {
            HashMap::new()
        } else {
            word_counts(text, &deferred.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>())
        };
        // Indexes of the deferred values not printed exactly as they are. A value the
        // template only prints (and no other variable reads) renders as the same text
        // with the probe in its place, so the probe render would come back equal:
        // skipped, unless the probe's spelling already occurs in the output.
        let not_verbatim = |deferred: &[(String, StartVar)], out: &str, nested: &BTreeSet<String>| -> Vec<usize> {
            (0..deferred.len())
                .filter(|&i| {
                    let mark = placeholder(&deferred[i].1);
                    if !out.contains(&mark) {
                        return true;
                    }
                    let name = &deferred[i].0;
                    if !indirect
                        && !nested.contains(name)
                        && printed_only(name, &prints, &words)
                        && !out.contains(&probe(i))
                    {
                        return false;
                    }
                    match render(deferred, Some(i)).output {
                        Output::Value(t) => t.replace(&probe(i), &mark) != out,
                        _ => true,
                    }
                })
                .collect()
        };
        let (mut r, mut nested) = render_traced(&deferred);
        // A per-environment value used in logic or transformed is baked for this
        // environment; a secret cannot be, and the template then needs a human.
        if let Output::Value(out) = &r.output {
            let bad = not_verbatim(&deferred, out, &nested);
            if let Some(&i) = bad.iter().find(|&&i| deferred[i].1.secret) {
                return TemplateResult::Failed(format!(
                    "the vault value `{}` is transformed or tested inside the template, so it cannot be filled in \
                     at container start",
                    deferred[i].0
                ));
            }
            if !bad.is_empty() {
                let mut i = 0;
                deferred.retain(|_| {
                    i += 1;
                    !bad.contains(&(i - 1))
                });
                (r, nested) = render_traced(&deferred);
                if let Output::Value(out) = &r.output
                    && !not_verbatim(&deferred, out, &nested).is_empty()
                {
                    return TemplateResult::Failed(
                        "per-environment values are combined inside the template; render it by hand".into(),
                    );
                }
            }
        }
        let notes = r.report.notes.clone();
        match r.output {
            Output::Value(s) => {
                if deferred.is_empty() {
                    TemplateResult::Rendered { text: s, notes }
                } else {
                    let mut vars: Vec<StartVar> = deferred.into_iter().map(|(_, v)| v).collect();
                    vars.sort_by(|a, b| a.name.cmp(&b.name));
                    vars.dedup_by(|a, b| a.name == b.name);
                    TemplateResult::AtStart { template: s, vars, notes }
                }
            }
            Output::Sensitive(_) => TemplateResult::Failed(format!(
                "uses vault values ({}) in expressions that cannot be filled in at container start",
                r.report.secrets.join(", ")
            )),
            Output::Omit => TemplateResult::Failed("renders to `omit`".into()),
            Output::Failed => {
                let mut why: Vec<String> = Vec::new();
                why.extend(r.report.undefined.iter().map(|u| format!("`{u}` is undefined")));
                why.extend(r.report.unsupported.iter().map(|u| format!("not evaluated: {u}")));
                why.extend(r.report.unknown.iter().map(|u| format!("only known at run time: {u}")));
                why.extend(r.report.errors.iter().cloned());
                if why.is_empty() {
                    why.push("the template could not be evaluated".into());
                }
                TemplateResult::Failed(why.join("; "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::Arc;

    use crate::model::resolve::{Options, resolve};
    use crate::model::template::Facts;
    use crate::source::vault::{VaultPassword, VaultPasswords, encrypt_with_salt};

    const SECRET: &str = "pl4intext-never-in-an-image";

    /// Renders `template` (as `roles/r/templates/t.j2`) with the scope of the
    /// role's template task, in a repo with two environments and a vault value.
    fn render_in(template: &str, with_password: bool) -> TemplateResult {
        render_in_probing(template, with_password, false)
    }

    fn render_in_probing(template: &str, with_password: bool, always_probe: bool) -> TemplateResult {
        let dir = tempfile::tempdir().unwrap();
        let pw = VaultPassword::new("default", b"pw".to_vec());
        let vault = encrypt_with_salt(format!("vault_db_password: {SECRET}\n").as_bytes(), &pw, &[7; 32], None);
        let files: Vec<(&str, String)> = vec![
            ("inventories/staging/hosts.ini", "[web]\nw1\n".into()),
            (
                "inventories/staging/group_vars/all/vars.yml",
                "level: debug\nsame: 1\ndb_password: \"{{ vault_db_password }}\"\n".into(),
            ),
            ("inventories/staging/group_vars/all/vault.yml", vault),
            ("inventories/production/hosts.ini", "[web]\np1\n".into()),
            ("inventories/production/group_vars/all/vars.yml", "level: warn\nsame: 1\n".into()),
            ("site.yml", "- hosts: web\n  roles: [r]\n".into()),
            ("roles/r/tasks/main.yml", "- template: {src: t.j2, dest: /etc/t.conf}\n".into()),
            (
                "roles/r/defaults/main.yml",
                "loud: \"{{ level }}\"\nloud_at: \"{{ level }} {{ template_destpath }}\"\n".into(),
            ),
            ("roles/r/templates/t.j2", template.into()),
        ];
        for (rel, text) in &files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let set = Arc::new(crate::source::SourceSet::load(dir.path()).unwrap());
        let project = crate::model::build(&set);
        let mut vault = VaultPasswords::new();
        if with_password {
            vault.push(pw);
        }
        let options = Options {
            env: Some("staging".into()),
            vault,
            facts: Facts::for_image("debian:12-slim").unwrap(),
            ..Default::default()
        };
        let run = resolve(&project, &set, &crate::config::Config::default(), &options).unwrap();
        let task = run.plays[0].tasks.iter().find(|t| t.module.short == "template").unwrap();
        let renderer = ScopeRenderer { run: &run, always_probe };
        renderer.render(task, "roles/r/templates/t.j2", template)
    }

    fn var(name: &str, secret: bool, variable: &str) -> StartVar {
        StartVar { name: name.into(), secret, source: VarSource::Variable(variable.into()) }
    }

    /// The ASCII pattern of `reads_indirectly` finds what the Unicode one finds in ASCII text.
    #[test]
    fn indirect_reads_are_found_alike_in_ascii_text() {
        let unicode = Regex::new(
            r"\b(vars|hostvars|varnames|lookup|query|q|include|import|extends|macro|call|caller|endset|filter|endfilter|block|self|super|recursive|debug)\b",
        )
        .unwrap();
        let texts = [
            "{{ vars['x'] }}",
            "{{ myvars }}",
            "{{ vars_x }}",
            "x.vars",
            "{{ lookup('env', 'HOME') }}",
            "{{ q('x') }}",
            "{{ q1 }}",
            "{% macro m() %}{% endmacro %}",
            "{%- filter upper -%}x{%- endfilter %}",
            "self",
            "blocked",
            "a-debug-b",
            "plain {{ name }} text\n",
            "#jinja2: trim_blocks: False\n",
            "",
        ];
        let mut found = 0;
        for text in texts {
            let want = text.contains("#jinja2:") || unicode.is_match(text);
            assert_eq!(reads_indirectly(text), want, "{text:?}");
            found += usize::from(want);
        }
        assert!(found > 5 && found < texts.len(), "{found}");
    }

    #[test]
    fn plain_templates_render() {
        let rendered = |text: &str| TemplateResult::Rendered { text: text.into(), notes: Vec::new() };
        assert_eq!(render_in("same={{ same }}\n", true), rendered("same=1\n"));
        // A runtime fact under `default()` renders with the default, and says so.
        match render_in("worker_processes {{ ansible_processor_vcpus | default('auto') }};\n", true) {
            TemplateResult::Rendered { text, notes } => {
                assert_eq!(text, "worker_processes auto;\n");
                assert!(notes.iter().any(|n| n.contains("ansible_processor_vcpus")), "{notes:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn secrets_and_per_environment_values_wait_for_the_start() {
        for with_password in [true, false] {
            let r = render_in("DB_PASS={{ db_password }}\nlevel {{ level }}\nsame {{ same }}\n", with_password);
            assert_eq!(
                r,
                TemplateResult::AtStart {
                    template: "DB_PASS=${DB_PASS}\nlevel ${LEVEL}\nsame 1\n".into(),
                    vars: vec![var("DB_PASS", true, "db_password"), var("LEVEL", false, "level")],
                    notes: Vec::new(),
                },
                "password given: {with_password}"
            );
        }
    }

    #[test]
    fn a_transformed_secret_fails_without_showing_it() {
        let r = render_in("x={{ db_password | upper }}\n", true);
        match &r {
            TemplateResult::Failed(why) => assert!(!why.contains(SECRET) && !why.contains(&SECRET.to_uppercase())),
            other => panic!("{other:?}"),
        }
        // A per-environment value used in logic is baked for this environment.
        assert_eq!(
            render_in("{% if level == 'debug' %}verbose{% endif %}\n", true),
            TemplateResult::Rendered { text: "verbose\n".into(), notes: Vec::new() }
        );
        assert!(matches!(render_in("{{ nowhere }}\n", true), TemplateResult::Failed(w) if w.contains("nowhere")));
    }

    #[test]
    fn skipping_foreseeable_probes_changes_no_result() {
        let templates = [
            "{{ level }} {{ loud | upper }}\n",
            // `loud_at` needs `template_destpath`, so it is resolved in the render, with the placeholder.
            "{{ level }} {{ loud_at | upper }}\n",
            "{{ level }} {{ loud_at }}\n",
            "L={{ level }}\n{{ same | string | upper }}\n",
            "DB_PASS={{ db_password }}\nlevel {{ level }}\nsame {{ same }}\n",
            "x={{ db_password }} {{ db_password | upper }}\n",
            "{% if level == 'debug' %}{{ level }}{% endif %}\n",
            "{{ level }}{{ level | upper }}\n",
            "{% for i in [1, 2] %}{{- level -}}{% endfor %}\n",
            "{{ level }} migrate_probe_0_q\n",
            "{% raw %}{{ level }}{% endraw %} {{ level }}\n",
            "{# {{ level }} #}{{ level }}\n",
            "{{ level }} {{ vars['level'] | upper }}\n",
        ];
        for t in templates {
            for with_password in [true, false] {
                assert_eq!(
                    render_in_probing(t, with_password, false),
                    render_in_probing(t, with_password, true),
                    "{t:?}, password given: {with_password}"
                );
            }
        }
        // Printed only, next to a name the template transforms: still filled in at start.
        assert_eq!(
            render_in("L={{ level }}\n{{ same | string | upper }}\n", true),
            TemplateResult::AtStart {
                template: "L=${L}\n1\n".into(),
                vars: vec![var("L", false, "level")],
                notes: Vec::new()
            }
        );
    }

    /// The scans as they were before session 5 (a pass over the text per variable), the
    /// oracle for the one-pass versions.
    fn env_name_by_name(text: &str, name: &str) -> String {
        let re = Regex::new(r#"([A-Z_][A-Z0-9_]*)\s*[=:]\s*["']?\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}"#).unwrap();
        if let Some(c) = re.captures_iter(text).find(|c| c.get(2).is_some_and(|m| m.as_str() == name)) {
            return c[1].to_string();
        }
        name.to_ascii_uppercase()
    }

    fn printed_only_by_name(text: &str, name: &str, prints: &BTreeMap<&str, usize>) -> bool {
        let word = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
        let bytes = text.as_bytes();
        let words = text
            .match_indices(name)
            .filter(|(at, _)| !word(at.checked_sub(1).and_then(|i| bytes.get(i))) && !word(bytes.get(at + name.len())))
            .count();
        words == prints.get(name).copied().unwrap_or(0)
    }

    /// Texts that stress the scans: names inside other names, digits, non-ASCII letters
    /// and spaces, unclosed tags, quotes, `{{{`, repeated assignments.
    const TRICKY: &[&str] = &[
        "DATABASE_URL={{ db_url }}\nOTHER={{ db_url }}\n",
        "a={{ a }} aa={{ aa }} a_a {{a}}{{- a -}} xa ax a1 1a _a a_ {{ a|upper }}",
        "Environment=\"SECRET_KEY={{ app_secret }}\" KEY2 : '{{ app_secret }}' K3={{app}}",
        "éa={{ a }} aé {{ a\u{a0}}} {{\u{a0}a }} A\u{2003}=\u{2003}{{ a }}",
        "{{{ a }}} {{ a }}}} {{ a -}} {{- a}} {{ - a }} {{ a b }} {{ 9a }} {{",
        "x9_Y={{ y }} 9Y={{ y }} lowerX={{ x }} _={{ z }} __Z__ = \"{{ z }}\"",
        "{% if a %}{{ a }}{% endif %} {# {{ a }} #} {% raw %}{{ a }}{% endraw %}",
        "Ü_X={{ ü }} X={{ ü }} {{ ab }}ab{{ab}} ab",
        "",
        "no tags at all, a and b",
    ];

    /// `referenced_names` as it was before session 5 (patterns only): the oracle.
    fn referenced_names_by_pattern(text: &str) -> BTreeSet<String> {
        let block = Regex::new(r"(?s)\{\{(.*?)\}\}|\{%(.*?)%\}").unwrap();
        let mut out = BTreeSet::new();
        for caps in block.captures_iter(text) {
            let inner = caps.get(1).or_else(|| caps.get(2)).map_or("", |m| m.as_str());
            tag_names_by_pattern(inner, &mut out);
        }
        out
    }

    #[test]
    fn hand_written_names_agree_with_the_patterns() {
        let texts = [
            "{{ a.b | default('x') }} {% if c is defined and d %}{{ 'e' ~ f }}{% endif %}",
            "{{a|b}}{{ a | b }}{{ a .b }}{{ a. b}}{{a . b . c}}{{ x is not none }}{{ x is not  }}{{ x is notable }}",
            "{{ this is defined }}{{is defined}}{{ x is\tdefined }}{{ x\x0bis\x0b y }}{{ x is 5 }}{{ isx }}",
            "{{ f(a) }}{{ f (a) }}{{ a[b] }}{{ a['b'] }}{{ \"c\" ~ d }}{{ 'unclosed }}{{ e }}",
            "{% for k, v in m.items() %}{{ k }}={{ v }}{% endfor %}{% set x = y %}{{ loop.index }}",
            "{{{ a }}} {{ b }}}} {%% c %%} {{ {% d %} }} {{ e",
            "{{ 1a }}{{ _a }}{{ a1 }}{{ 9 }}{{ -a }}{{ a-b }}{{ a+b*c/d }}{{ (a) }}",
            "{{ é }}{{ éa }}{{ aé }}{{ a\u{a0}| b }}{{ x is\u{a0}defined }}{{ ü.x }}",
            "{# {{ a }} #}{% raw %}{{ b }}{% endraw %}{{ None }}{{ none }}{{ True }}",
            "{{ a|b|c(d) }}{{ a | b(c) }}{{ x if y else z }}{{ [a, b] }}{{ {'k': v} }}",
            "{{ is }}{{ is x }}{{ x is }}{{ not is not x }}{{ x.is defined }}{{ x|is }}",
            "",
            "{{}}{%%}{{ }}",
        ];
        for t in texts {
            assert_eq!(referenced_names(t), referenced_names_by_pattern(t), "{t:?}");
        }
        // Generated texts: pieces of tags glued at random (a fixed seed, so reruns agree).
        let pieces = [
            "{{", "}}", "{%", "%}", " ", "\t", "\n", "a", "b1", "_c", "is", "not", "defined", "none", "|", ".", "(",
            ")", "'", "\"", "x", "-", "=", "é", "\u{a0}", "if", "for", "in", "9", "{", "}", "%", "ab", "isnt",
        ];
        let mut seed: u64 = 7;
        for _ in 0..3_000 {
            let mut t = String::new();
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let len = 1 + (seed >> 59) as usize;
            for _ in 0..len * 2 {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                t.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            assert_eq!(referenced_names(&t), referenced_names_by_pattern(&t), "{t:?}");
        }
    }

    #[test]
    fn one_pass_scans_agree_with_a_pass_per_name() {
        for text in TRICKY {
            let assigned = assigned_names(text);
            let prints = bare_prints(text);
            let names: Vec<String> = referenced_names(text)
                .into_iter()
                .chain(["a", "aa", "ab", "db_url", "app_secret", "app", "x", "y", "z", "nowhere"].map(String::from))
                .collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let words = word_counts(text, &refs);
            for name in &refs {
                assert_eq!(env_name(&assigned, name), env_name_by_name(text, name), "{text:?} {name}");
                assert_eq!(
                    printed_only(name, &prints, &words),
                    printed_only_by_name(text, name, &prints),
                    "{text:?} {name}"
                );
            }
        }
    }

    #[test]
    fn plain_data_has_no_template_and_no_marker() {
        let p = |text: &str| is_plain(&serde_json::from_str(text).unwrap());
        assert!(p(r#"{"a": [1, true, null, "x y"], "b": {"c": "%s"}}"#));
        assert!(!p(r#""{{ x }}""#));
        assert!(!p(r#"["ok", "{% if a %}b{% endif %}"]"#));
        assert!(!p(r#"{"k": "{# c #}"}"#));
        assert!(!p(r#"{"__ansible_vault": "$ANSIBLE_VAULT;1.1;AES256"}"#));
        assert!(!p(r#"[{"__ansible_unsafe": "x"}]"#));
        assert!(!p(r#"{"__migrate_unknown": "registered"}"#));
    }

    #[test]
    fn printed_only_and_indirect_reads() {
        let p = |text: &str, name: &str| printed_only(name, &bare_prints(text), &word_counts(text, &[name]));
        assert!(p("x={{ a }} y={{- a -}} {{ ab }}", "a"));
        assert!(!p("{{ a | upper }}", "a"));
        assert!(!p("{{ a }}{% if a %}x{% endif %}", "a"));
        assert!(!p("a = {{ a }}", "a"));
        assert!(reads_indirectly("{% include 'x.j2' %}"));
        assert!(reads_indirectly("{{ vars['a'] }}"));
        assert!(reads_indirectly("{{ lookup('vars', 'a') }}"));
        assert!(reads_indirectly("#jinja2: variable_start_string: '[%'\n"));
        assert!(!reads_indirectly("key={{ a }}\n{% for x in xs %}{{ x.name }}{% endfor %}\n"));
    }

    #[test]
    fn names_skip_attributes_filters_and_strings() {
        let n = referenced_names("{{ a.b | default('x') }} {% if c is defined and d %}{{ 'e' ~ f }}{% endif %}");
        let v: Vec<&str> = n.iter().map(String::as_str).collect();
        assert_eq!(v, ["a", "c", "d", "f"]);
    }

    #[test]
    fn env_name_prefers_the_templates_own() {
        let e = |text: &str, name: &str| env_name(&assigned_names(text), name);
        assert_eq!(e("DATABASE_URL={{ db_url }}\n", "db_url"), "DATABASE_URL");
        assert_eq!(e("Environment=\"SECRET_KEY={{ app_secret }}\"", "app_secret"), "SECRET_KEY");
        assert_eq!(e("password = {{ pw }}", "pw"), "PW");
        assert_eq!(e("A={{ x }} B={{ x }}", "x"), "A");
    }
}
