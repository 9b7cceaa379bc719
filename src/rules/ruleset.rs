//! The converter's rule set: the module rules and decision rules of
//! `rules/*.yaml`, plus the services catalog (`rules/services.yaml`).
//!
//! Owns loading (embedded in the binary, or a whole directory that replaces
//! it), checking (ranges, unique codes, regexes, docs sections) and matching
//! one task to one rule. It decides nothing about images: [`super::emit`]
//! turns a matched rule into typed steps and [`super::split`] groups them.
//!
//! Files read here: every `*.yaml` of the directory except the ones other
//! modules own (`secrets.yaml`, `base-images.yaml`, `facts.yaml`) and the
//! catalog (`services.yaml`, see [`super::catalog`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use include_dir::{Dir, include_dir};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::catalog::Catalog;
use super::{RuleFileError, parse_rule_file};
use crate::diagnostics::Severity;

/// The rule files compiled into the binary.
static EMBEDDED: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/rules");

/// The ruleset version this code understands.
pub const RULESET_VERSION: u32 = 1;

/// Files of `rules/` that other modules own.
const NOT_RULE_FILES: &[&str] = &["secrets.yaml", "base-images.yaml", "facts.yaml"];

/// The catalog's file name.
pub const CATALOG_FILE: &str = "services.yaml";

/// Decision rules the converter's code refers to by code: a rule directory
/// must define each of them (with its docs) or it is refused.
pub const DECISIONS: &[&str] = &[
    "M350", "M351", "M352", "M353", "M354", "M355", "M356", "M357", "M358", "M359", "M360", "M361", "M362", "M801",
    "M802", "M803",
];

/// The code ranges: first digit → category.
const RANGES: &[(char, &str)] = &[
    ('1', "Packages"),
    ('2', "Files and templates"),
    ('3', "Services and processes"),
    ('4', "Dropped: host-only and no effect in an image"),
    ('5', "Users and groups"),
    ('6', "Environment"),
    ('7', "Commands"),
    ('8', "Needs a human"),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    version: Spanned<u32>,
    category: CategoryDef,
    #[serde(default)]
    rules: Vec<RuleDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryDef {
    /// `M100-M199`.
    range: Spanned<String>,
    title: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    code: Spanned<String>,
    name: Spanned<String>,
    summary: String,
    #[serde(default, rename = "match")]
    matcher: Option<MatchDef>,
    #[serde(default)]
    emit: Option<Emit>,
    docs: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchDef {
    module: Vec<String>,
    #[serde(default)]
    args: BTreeMap<String, PredicateDef>,
}

/// One condition on one argument (after normalisation, see [`normalise_args`]).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PredicateDef {
    /// The argument is present (`true`) or absent (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    /// Ansible truthiness (`yes`, `true`, `1`, `on`) of the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truthy: Option<bool>,
    /// The value (as text) is one of these.
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<String>>,
    /// The value (as text) is none of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_in: Option<Vec<String>>,
    /// A regex finds a match in the value (as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    /// The value `in`/`not_in`/`matches` use when the argument is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// What a rule produces; the Rust side of each `step` lives in [`super::emit`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Emit {
    pub step: EmitKind,
    /// `install-packages`: `apt`, `dnf`, `yum`, `apk`, or `auto` (the base image's);
    /// `language-packages`: `pip`, `npm`, `gem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// `drop` and `needs-human`: why, as shown in the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The finding reported with the decision (default: none for `drop`,
    /// warning for `needs-human`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<SeverityDef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SeverityDef {
    Error,
    Warning,
    Info,
}

impl SeverityDef {
    pub fn severity(self) -> Severity {
        match self {
            SeverityDef::Error => Severity::Error,
            SeverityDef::Warning => Severity::Warning,
            SeverityDef::Info => Severity::Info,
        }
    }
}

/// The typed step kinds a rule can emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmitKind {
    InstallPackages,
    InstallDeb,
    LanguagePackages,
    AptKey,
    AptRepository,
    YumRepository,
    RpmKey,
    Debconf,
    LocaleGen,
    CopyFile,
    TemplateFile,
    FileState,
    LineInFile,
    BlockInFile,
    ReplaceInFile,
    Download,
    Unarchive,
    GitCheckout,
    CreateUser,
    CreateGroup,
    RunCommand,
    RunScript,
    ClaimProcess,
    SystemdUnit,
    SupervisorProgram,
    InitScript,
    CronJob,
    CronFile,
    /// `/etc/environment` lines → the service's environment (`rules::emit::etc_environment`).
    EnvironmentFile,
    Drop,
    NeedsHuman,
}

/// A loaded rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub code: String,
    pub name: String,
    pub summary: String,
    /// Markdown with `## What it does`, `## Why`, `## Example`.
    pub docs: String,
    /// The category title of its file.
    pub category: String,
    /// Where it is defined (`rules/packages.yaml:12`).
    pub file: String,
    pub line: u64,
    /// `None` for decision rules (applied by the splitter, not to one task).
    pub matcher: Option<Matcher>,
    pub emit: Option<Emit>,
}

/// A compiled `match:`.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub modules: Vec<String>,
    pub args: Vec<(String, Predicate)>,
}

#[derive(Debug, Clone)]
pub struct Predicate {
    pub def: PredicateDef,
    regex: Option<Regex>,
}

impl Matcher {
    /// How specific the match is: more conditions win; a regex counts twice.
    /// A predicate that pins the value (`in`, `matches`) counts twice one that only checks
    /// presence or a negation, so `dest: {in: [/etc/environment]}` wins over `content: {exists: true}`.
    pub fn specificity(&self) -> usize {
        self.args.iter().map(|(_, p)| if p.regex.is_some() || p.def.one_of.is_some() { 2 } else { 1 }).sum()
    }

    pub fn matches(&self, module: &str, args: &serde_json::Map<String, serde_json::Value>) -> bool {
        self.modules.iter().any(|m| m == module) && self.args.iter().all(|(k, p)| p.holds(args.get(k)))
    }
}

impl Predicate {
    fn holds(&self, value: Option<&serde_json::Value>) -> bool {
        let value = value.filter(|v| !v.is_null());
        let d = &self.def;
        if let Some(exists) = d.exists
            && exists != value.is_some()
        {
            return false;
        }
        if let Some(truthy) = d.truthy
            && truthy != value.is_some_and(is_truthy)
        {
            return false;
        }
        let needs_text = d.one_of.is_some() || d.not_in.is_some() || self.regex.is_some();
        if !needs_text {
            return true;
        }
        // A string argument is compared as it is, without a copy.
        let text: Option<Cow<str>> = match value {
            Some(serde_json::Value::String(s)) => Some(Cow::Borrowed(s)),
            Some(v) => Some(Cow::Owned(value_text(v))),
            None => d.default.as_deref().map(Cow::Borrowed),
        };
        let Some(text) = text else { return false };
        let text: &str = &text;
        if let Some(list) = &d.one_of
            && !list.iter().any(|x| x == text)
        {
            return false;
        }
        if let Some(list) = &d.not_in
            && list.iter().any(|x| x == text)
        {
            return false;
        }
        if let Some(re) = &self.regex
            && !re.is_match(text)
        {
            return false;
        }
        true
    }
}

/// Ansible's truthiness of an argument value.
pub fn is_truthy(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        serde_json::Value::String(s) => {
            matches!(s.trim().to_ascii_lowercase().as_str(), "yes" | "true" | "1" | "on" | "y")
        }
        _ => false,
    }
}

/// An argument as text: strings as they are, scalars printed, lists joined by `,`.
pub fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        serde_json::Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Argument spellings rules never have to care about: the module's aliases
/// folded into one key (`dest`/`name` → `path` for `file`, `cmd` →
/// `_raw_params` for commands, ...). Borrowed when no alias is used (most tasks):
/// copying every task's arguments was a tenth of the stage.
pub fn normalise_args<'a>(
    module: &str,
    args: &'a serde_json::Map<String, serde_json::Value>,
) -> Cow<'a, serde_json::Map<String, serde_json::Value>> {
    // (from, to), applied in this order.
    let aliases: &[(&str, &str)] = match module {
        "file" | "lineinfile" | "blockinfile" | "replace" => {
            &[("dest", "path"), ("name", "path"), ("destfile", "path")]
        }
        "command" | "shell" | "raw" | "script" => &[("cmd", "_raw_params")],
        "apt" | "yum" | "dnf" | "dnf5" | "package" | "apk" | "pip" | "npm" | "gem" | "service" | "systemd"
        | "systemd_service" | "sysvinit" | "user" | "group" => {
            &[("pkg", "name"), ("package", "name"), ("unit", "name")]
        }
        "get_url" | "unarchive" => &[("path", "dest")],
        "git" => &[("name", "repo")],
        _ => &[],
    };
    // `argv` becomes the command line when no `cmd` or `_raw_params` gives one.
    let joins_argv = matches!(module, "command" | "shell" | "raw");
    let aliased = aliases.iter().any(|(from, to)| !args.contains_key(*to) && args.contains_key(*from));
    let argv = joins_argv
        && !args.contains_key("_raw_params")
        && matches!(args.get("argv"), Some(serde_json::Value::Array(_)));
    if !aliased && !argv {
        return Cow::Borrowed(args);
    }
    let mut out = args.clone();
    for (from, to) in aliases {
        if !out.contains_key(*to)
            && let Some(v) = out.remove(*from)
        {
            out.insert(to.to_string(), v);
        }
    }
    if joins_argv
        && !out.contains_key("_raw_params")
        && let Some(serde_json::Value::Array(argv)) = out.get("argv")
    {
        let words: Vec<String> = argv.iter().map(value_text).collect();
        let line = super::shell::join(&words);
        out.insert("_raw_params".into(), serde_json::Value::String(line));
    }
    Cow::Owned(out)
}

/// Every rule, in code order, and the services catalog.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub catalog: Catalog,
    /// Where the rules came from (`embedded` or a directory), for messages.
    pub source: String,
    /// Rule indexes by module short name.
    by_module: BTreeMap<String, Vec<usize>>,
}

impl RuleSet {
    /// The rules compiled into the binary. They are checked by unit tests,
    /// so an error here means a broken build.
    pub fn load_embedded() -> Result<RuleSet, RuleFileError> {
        let mut files = Vec::new();
        for file in EMBEDDED.files() {
            let name = file.path().to_string_lossy().into_owned();
            if !name.ends_with(".yaml") || name.contains('/') {
                continue;
            }
            let text = file.contents_utf8().ok_or_else(|| RuleFileError {
                path: format!("rules/{name}"),
                line: 0,
                message: "not UTF-8".into(),
            })?;
            files.push((name, text.to_string()));
        }
        RuleSet::from_files("embedded", "rules", files)
    }

    /// A complete rule set read from a directory laid out as `rules/` is
    /// (it replaces the embedded one; copy `rules/` to start).
    pub fn load_dir(dir: &Path) -> Result<RuleSet, RuleFileError> {
        let shown = dir.display().to_string();
        let err = |message: String| RuleFileError { path: shown.clone(), line: 0, message };
        let entries = std::fs::read_dir(dir).map_err(|e| err(e.to_string()))?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| err(e.to_string()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".yaml") || !entry.path().is_file() {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).map_err(|e| RuleFileError {
                path: format!("{shown}/{name}"),
                line: 0,
                message: e.to_string(),
            })?;
            files.push((name, text));
        }
        RuleSet::from_files(&shown, &shown, files)
    }

    /// Builds a rule set from (file name, text) pairs; `prefix` is shown in errors.
    pub fn from_files(source: &str, prefix: &str, mut files: Vec<(String, String)>) -> Result<RuleSet, RuleFileError> {
        files.sort();
        let mut rules = Vec::new();
        let mut catalog = None;
        for (name, text) in &files {
            let path = format!("{prefix}/{name}");
            if NOT_RULE_FILES.contains(&name.as_str()) {
                continue;
            }
            if name == CATALOG_FILE {
                catalog = Some(Catalog::parse(&path, text)?);
                continue;
            }
            rules.extend(parse_file(&path, text)?);
        }
        let catalog = catalog.ok_or_else(|| RuleFileError {
            path: format!("{prefix}/{CATALOG_FILE}"),
            line: 0,
            message: "the services catalog is missing".into(),
        })?;
        rules.sort_by(|a, b| a.code.cmp(&b.code));
        for pair in rules.windows(2) {
            if pair[0].code == pair[1].code {
                return Err(RuleFileError {
                    path: pair[1].file.clone(),
                    line: pair[1].line,
                    message: format!("code {} is already used at {}:{}", pair[1].code, pair[0].file, pair[0].line),
                });
            }
        }
        let names: BTreeSet<&str> = rules.iter().map(|r| r.name.as_str()).collect();
        if names.len() != rules.len() {
            let mut seen = BTreeSet::new();
            for r in &rules {
                if !seen.insert(r.name.as_str()) {
                    return Err(RuleFileError {
                        path: r.file.clone(),
                        line: r.line,
                        message: format!("rule name `{}` is used twice", r.name),
                    });
                }
            }
        }
        for code in DECISIONS {
            if !rules.iter().any(|r| r.code == *code) {
                return Err(RuleFileError {
                    path: prefix.to_string(),
                    line: 0,
                    message: format!("decision rule {code} is missing; the converter refers to it"),
                });
            }
        }
        let mut by_module: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, r) in rules.iter().enumerate() {
            if let Some(m) = &r.matcher {
                for module in &m.modules {
                    by_module.entry(module.clone()).or_default().push(i);
                }
            }
        }
        Ok(RuleSet { rules, catalog, source: source.to_string(), by_module })
    }

    /// The rule with this code.
    pub fn get(&self, code: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.code == code)
    }

    /// The rule for one task: among the rules whose `match` holds, the most
    /// specific one; ties go to the lower code. `args` must be normalised.
    pub fn find(&self, module: &str, args: &serde_json::Map<String, serde_json::Value>) -> Option<&Rule> {
        let candidates = self.by_module.get(module)?;
        let mut best: Option<(&Rule, usize)> = None;
        for &i in candidates {
            let rule = &self.rules[i];
            let Some(m) = &rule.matcher else { continue };
            if !m.matches(module, args) {
                continue;
            }
            let score = m.specificity();
            if best.is_none_or(|(_, s)| score > s) {
                best = Some((rule, score));
            }
        }
        best.map(|(r, _)| r)
    }

    /// The modules some rule names, sorted.
    pub fn modules(&self) -> Vec<&str> {
        self.by_module.keys().map(String::as_str).collect()
    }
}

fn parse_file(path: &str, text: &str) -> Result<Vec<Rule>, RuleFileError> {
    let file: RuleFile = parse_rule_file(path, text)?;
    let err = |line: u64, message: String| RuleFileError { path: path.to_string(), line, message };
    if file.version.value != RULESET_VERSION {
        return Err(err(
            file.version.referenced.line(),
            format!("unsupported version {}; this build reads version {RULESET_VERSION}", file.version.value),
        ));
    }
    let range = parse_range(&file.category.range.value)
        .ok_or_else(|| err(file.category.range.referenced.line(), "`range` must look like `M100-M199`".into()))?;
    let mut rules = Vec::new();
    for def in file.rules {
        let line = def.code.referenced.line();
        let code = def.code.value.clone();
        let number = code_number(&code).ok_or_else(|| err(line, format!("`{code}` is not a code like M101")))?;
        if number < range.0 || number > range.1 {
            return Err(err(line, format!("{code} is outside this file's range {}", file.category.range.value)));
        }
        let first = code.chars().nth(1).unwrap_or('0');
        if !RANGES.iter().any(|(c, _)| *c == first) {
            return Err(err(line, format!("{code}: no category uses the range {first}xx")));
        }
        let name = def.name.value.clone();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(err(def.name.referenced.line(), format!("rule name `{name}` must be kebab-case")));
        }
        for section in ["## What it does", "## Why", "## Example"] {
            if !def.docs.value.contains(section) {
                return Err(err(def.docs.referenced.line(), format!("{code}: docs lack a `{section}` section")));
            }
        }
        let matcher = match def.matcher {
            None => None,
            Some(m) => {
                if m.module.is_empty() {
                    return Err(err(line, format!("{code}: `match.module` is empty")));
                }
                let mut args = Vec::new();
                for (key, p) in m.args {
                    let regex = match &p.matches {
                        None => None,
                        Some(re) => {
                            Some(Regex::new(re).map_err(|e| err(line, format!("{code}: bad regex for `{key}`: {e}")))?)
                        }
                    };
                    args.push((key, Predicate { def: p, regex }));
                }
                Some(Matcher { modules: m.module, args })
            }
        };
        match (&matcher, &def.emit) {
            (Some(_), None) => return Err(err(line, format!("{code}: a rule with `match` needs `emit`"))),
            (None, Some(_)) => return Err(err(line, format!("{code}: `emit` without `match`"))),
            _ => {}
        }
        if let Some(emit) = &def.emit {
            check_emit(emit).map_err(|m| err(line, format!("{code}: {m}")))?;
        }
        rules.push(Rule {
            code,
            name,
            summary: def.summary,
            docs: def.docs.value,
            category: file.category.title.clone(),
            file: path.to_string(),
            line,
            matcher,
            emit: def.emit,
        });
    }
    Ok(rules)
}

fn check_emit(emit: &Emit) -> Result<(), String> {
    match emit.step {
        EmitKind::Drop | EmitKind::NeedsHuman => {
            if emit.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                return Err("`drop` and `needs-human` need a `reason`".into());
            }
        }
        EmitKind::InstallPackages => {
            let ok = matches!(emit.manager.as_deref(), Some("apt" | "dnf" | "yum" | "apk" | "auto"));
            if !ok {
                return Err("`install-packages` needs `manager: apt|dnf|yum|apk|auto`".into());
            }
        }
        EmitKind::LanguagePackages => {
            if !matches!(emit.manager.as_deref(), Some("pip" | "npm" | "gem")) {
                return Err("`language-packages` needs `manager: pip|npm|gem`".into());
            }
        }
        _ => {
            if emit.manager.is_some() {
                return Err("`manager` only applies to package steps".into());
            }
        }
    }
    Ok(())
}

fn code_number(code: &str) -> Option<u32> {
    let digits = code.strip_prefix('M')?;
    if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn parse_range(range: &str) -> Option<(u32, u32)> {
    let (a, b) = range.split_once('-')?;
    let (a, b) = (code_number(a.trim())?, code_number(b.trim())?);
    (a <= b).then_some((a, b))
}

/// The category title of a code's range (`M1xx` → `Packages`).
pub fn category_of(code: &str) -> &'static str {
    let first = code.chars().nth(1).unwrap_or('0');
    RANGES.iter().find(|(c, _)| *c == first).map_or("Other", |(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedded_text(name: &str) -> String {
        EMBEDDED.get_file(name).and_then(|f| f.contents_utf8()).unwrap_or_default().to_string()
    }

    fn files_with(name: &str, text: &str) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = EMBEDDED
            .files()
            .map(|f| (f.path().to_string_lossy().into_owned(), f.contents_utf8().unwrap_or_default().to_string()))
            .filter(|(n, _)| n.ends_with(".yaml"))
            .collect();
        files.push((name.to_string(), text.to_string()));
        files
    }

    #[test]
    fn embedded_rules_load() {
        let set = RuleSet::load_embedded().unwrap();
        assert!(set.rules.len() > 40, "{}", set.rules.len());
        assert!(set.get("M101").is_some());
        assert!(!set.catalog.services.is_empty());
        assert!(!embedded_text("services.yaml").is_empty());
    }

    #[test]
    fn errors_name_file_and_line() {
        let bad = "version: 1\ncategory: {range: M900-M999, title: X}\nrules:\n  - code: M901\n    nmae: x\n";
        let err = RuleSet::from_files("t", "rules", files_with("zz.yaml", bad)).unwrap_err();
        assert_eq!((err.path.as_str(), err.line), ("rules/zz.yaml", 5), "{err}");
        assert!(err.message.contains("nmae"), "{err}");

        let dup = "version: 1\ncategory: {range: M100-M199, title: X}\nrules:\n  - code: M101\n    name: again\n    \
                   summary: s\n    docs: \"## What it does\\n## Why\\n## Example\\n\"\n";
        let err = RuleSet::from_files("t", "rules", files_with("zz.yaml", dup)).unwrap_err();
        assert!(err.message.contains("M101 is already used"), "{err}");

        let wrong_version = "version: 2\ncategory: {range: M100-M199, title: X}\n";
        let err = RuleSet::from_files("t", "rules", files_with("zz.yaml", wrong_version)).unwrap_err();
        assert_eq!(err.line, 1, "{err}");

        let out_of_range = "version: 1\ncategory: {range: M100-M109, title: X}\nrules:\n\n  - code: M190\n    \
                            name: y\n    summary: s\n    docs: \"## What it does\\n## Why\\n## Example\\n\"\n";
        let err = RuleSet::from_files("t", "rules", files_with("zz.yaml", out_of_range)).unwrap_err();
        assert_eq!(err.line, 5, "{err}");
    }

    #[test]
    fn load_dir_replaces_the_embedded_set() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files_with("extra.yaml", "version: 1\ncategory: {range: M190-M199, title: Extra}\n") {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let set = RuleSet::load_dir(dir.path()).unwrap();
        assert_eq!(set.rules.len(), RuleSet::load_embedded().unwrap().rules.len());
        std::fs::remove_file(dir.path().join("services.yaml")).unwrap();
        let err = RuleSet::load_dir(dir.path()).unwrap_err();
        assert!(err.message.contains("catalog"), "{err}");
    }

    /// `normalise_args` as it was before session 5 (always a copy): the oracle.
    type Args = serde_json::Map<String, serde_json::Value>;

    fn normalise_by_copy(module: &str, args: &Args) -> Args {
        let mut out = args.clone();
        let alias = |out: &mut Args, from: &str, to: &str| {
            if !out.contains_key(to)
                && let Some(v) = out.remove(from)
            {
                out.insert(to.to_string(), v);
            }
        };
        match module {
            "file" | "lineinfile" | "blockinfile" | "replace" => {
                alias(&mut out, "dest", "path");
                alias(&mut out, "name", "path");
                alias(&mut out, "destfile", "path");
            }
            "command" | "shell" | "raw" => {
                alias(&mut out, "cmd", "_raw_params");
                if !out.contains_key("_raw_params")
                    && let Some(serde_json::Value::Array(argv)) = out.get("argv")
                {
                    let words: Vec<String> = argv.iter().map(value_text).collect();
                    out.insert("_raw_params".into(), serde_json::Value::String(crate::rules::shell::join(&words)));
                }
            }
            "script" => alias(&mut out, "cmd", "_raw_params"),
            "apt" | "yum" | "dnf" | "dnf5" | "package" | "apk" | "pip" | "npm" | "gem" | "service" | "systemd"
            | "systemd_service" | "sysvinit" | "user" | "group" => {
                alias(&mut out, "pkg", "name");
                alias(&mut out, "package", "name");
                alias(&mut out, "unit", "name");
            }
            "get_url" | "unarchive" => alias(&mut out, "path", "dest"),
            "git" => alias(&mut out, "name", "repo"),
            _ => {}
        }
        out
    }

    #[test]
    fn normalised_args_are_borrowed_unless_an_alias_is_used() {
        let modules = [
            "file",
            "lineinfile",
            "replace",
            "command",
            "shell",
            "raw",
            "script",
            "apt",
            "service",
            "user",
            "get_url",
            "unarchive",
            "git",
            "copy",
            "template",
        ];
        let arg_sets = [
            r#"{}"#,
            r#"{"dest": "/a", "mode": "0644"}"#,
            r#"{"name": "/a", "path": "/b"}"#,
            r#"{"destfile": "/a", "name": "/b", "state": "absent"}"#,
            r#"{"cmd": "ls -l", "chdir": "/tmp"}"#,
            r#"{"argv": ["echo", "a b"], "creates": "/x"}"#,
            r#"{"argv": ["echo"], "_raw_params": "true"}"#,
            r#"{"argv": "echo", "cmd": "true"}"#,
            r#"{"pkg": ["a", "b"], "package": "c", "unit": "d"}"#,
            r#"{"name": "nginx", "state": "started"}"#,
            r#"{"path": "/opt", "url": "https://x"}"#,
            r#"{"name": "https://git/x", "dest": "/src", "repo": "https://git/y"}"#,
            r#"{"src": "a.j2", "dest": "/etc/a", "name": "x"}"#,
        ];
        for module in modules {
            for text in arg_sets {
                let args: Args = serde_json::from_str(text).unwrap();
                let got = normalise_args(module, &args);
                let want = normalise_by_copy(module, &args);
                // Same entries in the same order (the order of a map with swapped-out keys matters).
                assert_eq!(
                    serde_json::to_string(&*got).unwrap(),
                    serde_json::to_string(&want).unwrap(),
                    "{module} {text}"
                );
                assert_eq!(matches!(got, Cow::Borrowed(_)), want == args, "{module} {text}");
            }
        }
    }

    #[test]
    fn predicates() {
        let p = |def: PredicateDef| {
            let regex = def.matches.as_deref().map(|r| Regex::new(r).unwrap());
            Predicate { def, regex }
        };
        let state = p(PredicateDef {
            one_of: Some(vec!["present".into()]),
            default: Some("present".into()),
            ..Default::default()
        });
        assert!(state.holds(None));
        assert!(state.holds(Some(&serde_json::json!("present"))));
        assert!(!state.holds(Some(&serde_json::json!("absent"))));
        let truthy = p(PredicateDef { truthy: Some(true), ..Default::default() });
        assert!(
            truthy.holds(Some(&serde_json::json!("yes")))
                && truthy.holds(Some(&serde_json::json!(true)))
                && !truthy.holds(None)
        );
        let absent = p(PredicateDef { exists: Some(false), ..Default::default() });
        assert!(
            absent.holds(None)
                && absent.holds(Some(&serde_json::Value::Null))
                && !absent.holds(Some(&serde_json::json!(1)))
        );
        let re = p(PredicateDef { matches: Some("^/etc/".into()), ..Default::default() });
        assert!(
            re.holds(Some(&serde_json::json!("/etc/x")))
                && !re.holds(Some(&serde_json::json!("/opt/x")))
                && !re.holds(None)
        );
    }
}
