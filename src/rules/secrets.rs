//! Secret or plain configuration: the classification of one environment value.
//!
//! Owns `rules/secrets.yaml` (ruleset version 1) and the decision it drives,
//! for a (name, value, provenance) triple. The rules apply in this order and
//! the first that decides wins; the result says which one, never the value:
//!
//! 1. an override in `migrate.yaml` (`secrets.overrides`);
//! 2. provenance Ansible Vault: always secret;
//! 3. a secret keyword in the name (`always_secret`, `keywords`, `substrings`,
//!    `last_token`), unless every keyword hit is neutralised by an allowed
//!    phrase (`PUBLIC_KEY`) or a qualifier after it (`TOKEN_TTL`,
//!    `PASSWORD_FILE=/run/secrets/x`); a keyword name with an empty, null or
//!    boolean value is plain;
//! 4. a known secret shape in the value (PEM private key, AWS key id, JWT,
//!    vendor tokens, URL with `user:password@`, secret-store lookups);
//! 5. an allow-listed name (all its keyword hits neutralised) is plain;
//! 6. high entropy (detect-secrets: base64 > 4.5, hex > 3.0 bits/char over
//!    runs of ≥ 20 characters), unless the name ends in an identifier or digest
//!    token (`GIT_SHA`, `CLIENT_ID`) or the run is a UUID, a sequence or a
//!    known placeholder.
//!
//! Jinja in a templated value is not a value: `{{ vault_db_password }}` is
//! replaced by `*` before steps 3-6 look at the text, and the referenced
//! variables are returned in [`Classification::references`] for the caller to
//! classify and fold in with [`Classification::with_referenced`]. This module
//! never resolves variables itself and never reads files.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{LazyLock, OnceLock};

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{RuleFileError, parse_rule_file};
use crate::config::SecretOverride;

/// Where the embedded rule file lives in this tool's repository.
pub const RULES_PATH: &str = "rules/secrets.yaml";
/// The ruleset version this code understands.
pub const RULESET_VERSION: u32 = 1;

const RULES_TEXT: &str = include_str!("../../rules/secrets.yaml");

/// Names that Jinja or Ansible provide, not variables of the repo.
const NOT_VARIABLES: &[&str] = &[
    "lookup",
    "query",
    "q",
    "range",
    "dict",
    "namespace",
    "lipsum",
    "cycler",
    "joiner",
    "now",
    "omit",
    "undef",
    "hostvars",
    "groups",
    "group_names",
    "inventory_hostname",
    "inventory_hostname_short",
    "inventory_dir",
    "inventory_file",
    "playbook_dir",
    "role_path",
    "role_name",
    "ansible_facts",
    "ansible_env",
    "item",
    "loop",
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
];

// ---------------------------------------------------------------- file schema

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    version: Spanned<u32>,
    names: NamesFile,
    values: ValuesFile,
    entropy: EntropyFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamesFile {
    always_secret: Vec<Spanned<String>>,
    keywords: Vec<Spanned<String>>,
    substrings: Vec<Spanned<String>>,
    last_token: Vec<Spanned<String>>,
    allow_phrases: Vec<Spanned<String>>,
    qualifiers: Vec<Spanned<String>>,
    path_qualifiers: Vec<Spanned<String>>,
    entropy_exempt_last_token: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValuesFile {
    non_values: Vec<String>,
    patterns: Vec<PatternFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternFile {
    id: Spanned<String>,
    regex: Spanned<String>,
    #[serde(default)]
    name_tokens: Vec<String>,
    #[serde(default)]
    template: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntropyFile {
    min_length: Spanned<usize>,
    base64_limit: Spanned<f64>,
    hex_limit: Spanned<f64>,
    false_positives: Vec<String>,
}

// ------------------------------------------------------------ compiled rules

/// The compiled rule set. Build it once ([`SecretRules::builtin`]) and share it.
#[derive(Debug)]
pub struct SecretRules {
    always_secret: Vec<Phrase>,
    keywords: Vec<Phrase>,
    substrings: Vec<String>,
    last_token: BTreeSet<String>,
    allow_phrases: Vec<Phrase>,
    qualifiers: BTreeSet<String>,
    path_qualifiers: BTreeSet<String>,
    entropy_exempt_last_token: BTreeSet<String>,
    non_values: BTreeSet<String>,
    patterns: Vec<Pattern>,
    min_length: usize,
    base64_limit: f64,
    hex_limit: f64,
    false_positives: BTreeSet<String>,
}

/// A keyword of one or more consecutive name tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Phrase {
    text: String,
    words: Vec<String>,
}

#[derive(Debug)]
struct Pattern {
    id: String,
    regex: Regex,
    name_tokens: Vec<String>,
    template: bool,
}

impl SecretRules {
    /// The rules embedded from `rules/secrets.yaml`, compiled on first use.
    pub fn builtin() -> Result<&'static SecretRules, RuleFileError> {
        static RULES: OnceLock<Result<SecretRules, RuleFileError>> = OnceLock::new();
        RULES.get_or_init(|| SecretRules::from_yaml(RULES_PATH, RULES_TEXT)).as_ref().map_err(Clone::clone)
    }

    /// Reads and checks a rule file; `path` is only used in errors.
    pub fn from_yaml(path: &str, text: &str) -> Result<SecretRules, RuleFileError> {
        let file: RulesFile = parse_rule_file(path, text)?;
        let err = |line: u64, message: String| RuleFileError { path: path.to_string(), line, message };
        if file.version.value != RULESET_VERSION {
            return Err(err(
                file.version.referenced.line(),
                format!(
                    "ruleset version {} is not supported (this build reads version {RULESET_VERSION})",
                    file.version.value
                ),
            ));
        }
        let phrases = |list: &[Spanned<String>]| -> Result<Vec<Phrase>, RuleFileError> {
            list.iter().map(|s| phrase(&s.value).ok_or_else(|| err(s.referenced.line(), bad_word(&s.value)))).collect()
        };
        let words = |list: &[Spanned<String>]| -> Result<BTreeSet<String>, RuleFileError> {
            list.iter()
                .map(|s| match phrase(&s.value) {
                    Some(p) if p.words.len() == 1 => Ok(p.text),
                    _ => Err(err(s.referenced.line(), format!("`{}` must be one lower-case word", s.value))),
                })
                .collect()
        };
        let names = &file.names;
        let mut patterns = Vec::new();
        let mut ids = BTreeSet::new();
        for p in &file.values.patterns {
            let line = p.id.referenced.line();
            if !is_kebab(&p.id.value) || !ids.insert(p.id.value.clone()) {
                return Err(err(line, format!("pattern id `{}` must be unique and kebab-case", p.id.value)));
            }
            let regex = Regex::new(&p.regex.value)
                .map_err(|e| err(p.regex.referenced.line(), format!("pattern `{}`: invalid regex: {e}", p.id.value)))?;
            patterns.push(Pattern {
                id: p.id.value.clone(),
                regex,
                name_tokens: p.name_tokens.iter().map(|t| t.to_lowercase()).collect(),
                template: p.template,
            });
        }
        let e = &file.entropy;
        for limit in [&e.base64_limit, &e.hex_limit] {
            if !(0.0..=8.0).contains(&limit.value) {
                return Err(err(limit.referenced.line(), "entropy limits must be between 0 and 8".into()));
            }
        }
        if e.min_length.value == 0 {
            return Err(err(e.min_length.referenced.line(), "`min_length` must be at least 1".into()));
        }
        Ok(SecretRules {
            always_secret: phrases(&names.always_secret)?,
            keywords: phrases(&names.keywords)?,
            substrings: words(&names.substrings)?.into_iter().collect(),
            last_token: words(&names.last_token)?,
            allow_phrases: phrases(&names.allow_phrases)?,
            qualifiers: words(&names.qualifiers)?,
            path_qualifiers: words(&names.path_qualifiers)?,
            entropy_exempt_last_token: words(&names.entropy_exempt_last_token)?,
            non_values: file.values.non_values.iter().map(|v| v.to_lowercase()).collect(),
            patterns,
            min_length: e.min_length.value,
            base64_limit: e.base64_limit.value,
            hex_limit: e.hex_limit.value,
            false_positives: e.false_positives.iter().map(|v| v.to_lowercase()).collect(),
        })
    }

    /// The ids of the value patterns, in file order (for docs and tests).
    pub fn pattern_ids(&self) -> impl Iterator<Item = &str> {
        self.patterns.iter().map(|p| p.id.as_str())
    }
}

/// A rule phrase whose words are exactly what the tokenizer makes of them.
fn phrase(text: &str) -> Option<Phrase> {
    let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    let ok = !words.is_empty() && words.iter().all(|w| name_tokens(w) == [w.clone()]);
    ok.then(|| Phrase { text: words.join(" "), words })
}

fn bad_word(text: &str) -> String {
    format!("`{text}` must be lower-case words without separators")
}

fn is_kebab(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

// ------------------------------------------------------------------- results

/// Where a value comes from, as far as classification cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provenance {
    /// A value Ansible renders with Jinja (vars files, `environment:`, templates).
    Template,
    /// A value used as written: dotenv files, systemd units, `!unsafe` strings.
    Verbatim,
    /// Encrypted with Ansible Vault (a vault file or an inline `!vault` value).
    Vault,
}

/// The charset an entropy measurement was taken over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Charset {
    Base64,
    Hex,
}

impl fmt::Display for Charset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Charset::Base64 => "base64",
            Charset::Hex => "hex",
        })
    }
}

/// Which rule decided. Names rule data and variable names, never the value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum Reason {
    /// `secrets.overrides` in `migrate.yaml`.
    Override { decision: SecretOverride },
    /// Encrypted with Ansible Vault.
    Vault,
    /// The name holds a secret keyword.
    Keyword { keyword: String },
    /// The value has a known secret shape.
    Pattern { pattern: String },
    /// A run in the value has high Shannon entropy (bits per character, 2 decimals).
    Entropy { entropy: f64, charset: Charset, limit: f64 },
    /// The value references a variable that is secret.
    Referenced { variable: String, because: Box<Reason> },
    /// The name has keywords, all of them neutralised (`PUBLIC_KEY`, `TOKEN_TTL`).
    AllowedName { keyword: String, by: String },
    /// A keyword name whose value is empty, null or a boolean.
    NotAValue,
    /// No rule found anything.
    NoEvidence,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Override { .. } => f.write_str("override in migrate.yaml"),
            Reason::Vault => f.write_str("encrypted with Ansible Vault"),
            Reason::Keyword { keyword } => write!(f, "name keyword `{keyword}`"),
            Reason::Pattern { pattern } => write!(f, "value matches `{pattern}`"),
            Reason::Entropy { entropy, charset, limit } => {
                write!(f, "entropy {entropy:.1} ({charset}, limit {limit:.1})")
            }
            Reason::Referenced { variable, because } => write!(f, "references `{variable}` ({because})"),
            Reason::AllowedName { keyword, by } => write!(f, "name keyword `{keyword}` allowed by `{by}`"),
            Reason::NotAValue => f.write_str("value is empty, null or a boolean"),
            Reason::NoEvidence => f.write_str("no secret keyword, pattern or high-entropy value"),
        }
    }
}

/// The decision for one value, with the rule that made it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub secret: bool,
    pub reason: Reason,
    /// Variables the value refers to with Jinja, sorted. When the value is not
    /// secret by itself, classify each one and fold it in with
    /// [`Classification::with_referenced`] (the caller owns variable lookup
    /// and cycle detection).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

impl Classification {
    fn new(secret: bool, reason: Reason, references: Vec<String>) -> Classification {
        Classification { secret, reason, references }
    }

    /// Folds in the classification of a referenced variable: a plain value
    /// that references a secret becomes secret. An override is never changed.
    pub fn with_referenced(self, variable: &str, referenced: &Classification) -> Classification {
        if self.secret || !referenced.secret || matches!(self.reason, Reason::Override { .. }) {
            return self;
        }
        let because = Box::new(referenced.reason.clone());
        Classification::new(true, Reason::Referenced { variable: variable.to_string(), because }, self.references)
    }
}

impl fmt::Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", if self.secret { "secret" } else { "plain" }, self.reason)
    }
}

// ---------------------------------------------------------------- classifier

/// Classifies values with a rule set and the overrides of `migrate.yaml`.
#[derive(Debug, Clone, Copy)]
pub struct Classifier<'a> {
    rules: &'a SecretRules,
    overrides: &'a BTreeMap<String, SecretOverride>,
}

/// What the name alone says.
enum NameVerdict {
    Secret(String),
    Allowed { keyword: String, by: String },
    Silent,
}

impl<'a> Classifier<'a> {
    pub fn new(rules: &'a SecretRules, overrides: &'a BTreeMap<String, SecretOverride>) -> Classifier<'a> {
        Classifier { rules, overrides }
    }

    /// Classifies the value `value` of the variable `name`.
    pub fn classify(&self, name: &str, value: &str, provenance: Provenance) -> Classification {
        if let Some(&decision) = self.overrides.get(name) {
            return Classification::new(decision == SecretOverride::Secret, Reason::Override { decision }, Vec::new());
        }
        if provenance == Provenance::Vault {
            return Classification::new(true, Reason::Vault, Vec::new());
        }
        let templated = provenance == Provenance::Template && has_jinja(value);
        let (literal, references) = if templated {
            (JINJA.replace_all(value, "*").into_owned(), jinja_references(value))
        } else {
            (value.to_string(), Vec::new())
        };
        let tokens = name_tokens(name);
        let rules = self.rules;

        let verdict = self.name_verdict(&tokens, &literal);
        if let NameVerdict::Secret(keyword) = &verdict {
            let blank = literal.trim().to_lowercase();
            if references.is_empty() && rules.non_values.contains(&blank) {
                return Classification::new(false, Reason::NotAValue, references);
            }
            return Classification::new(true, Reason::Keyword { keyword: keyword.clone() }, references);
        }
        for p in &rules.patterns {
            if !p.name_tokens.is_empty() && !tokens.iter().any(|t| p.name_tokens.contains(t)) {
                continue;
            }
            let text = if p.template { value } else { literal.as_str() };
            if p.regex.is_match(text) {
                return Classification::new(true, Reason::Pattern { pattern: p.id.clone() }, references);
            }
        }
        if let NameVerdict::Allowed { keyword, by } = verdict {
            return Classification::new(false, Reason::AllowedName { keyword, by }, references);
        }
        let exempt = tokens.last().is_some_and(|t| rules.entropy_exempt_last_token.contains(t));
        if !exempt && let Some(reason) = self.entropy(&literal) {
            return Classification::new(true, reason, references);
        }
        Classification::new(false, Reason::NoEvidence, references)
    }

    fn name_verdict(&self, tokens: &[String], literal: &str) -> NameVerdict {
        let rules = self.rules;
        for p in &rules.always_secret {
            if find_phrase(tokens, &p.words).next().is_some() {
                return NameVerdict::Secret(p.text.clone());
            }
        }
        // Every keyword hit as (start, end, keyword), in name order.
        let mut hits: Vec<(usize, usize, String)> = Vec::new();
        for p in &rules.keywords {
            hits.extend(find_phrase(tokens, &p.words).map(|i| (i, i + p.words.len(), p.text.clone())));
        }
        if let Some(last) = tokens.last().filter(|t| rules.last_token.contains(*t)) {
            hits.push((tokens.len() - 1, tokens.len(), last.clone()));
        }
        for (i, token) in tokens.iter().enumerate() {
            // A token that is a keyword itself (`credentials`) is reported as that keyword.
            if rules.keywords.iter().any(|k| k.words.len() == 1 && k.words[0] == *token) {
                continue;
            }
            for sub in &rules.substrings {
                if token != sub && token.contains(sub.as_str()) {
                    hits.push((i, i + 1, sub.clone()));
                }
            }
        }
        hits.sort();
        let mut first_allowed = None;
        for (start, end, keyword) in hits {
            match self.neutraliser(tokens, start, end, literal) {
                None => return NameVerdict::Secret(keyword),
                Some(by) => {
                    first_allowed.get_or_insert(NameVerdict::Allowed { keyword, by });
                }
            }
        }
        first_allowed.unwrap_or(NameVerdict::Silent)
    }

    /// What makes the keyword at `tokens[start..end]` harmless, if anything.
    fn neutraliser(&self, tokens: &[String], start: usize, end: usize, literal: &str) -> Option<String> {
        let rules = self.rules;
        for p in &rules.allow_phrases {
            if find_phrase(tokens, &p.words).any(|i| i <= start && i + p.words.len() >= end) {
                return Some(p.text.clone());
            }
        }
        let after = &tokens[end..];
        if let Some(q) = after.iter().find(|t| rules.qualifiers.contains(*t)) {
            return Some(q.clone());
        }
        if looks_like_path(literal)
            && let Some(q) = after.iter().find(|t| rules.path_qualifiers.contains(*t))
        {
            return Some(q.clone());
        }
        None
    }

    /// The first high-entropy run of the value (hex checked before base64).
    fn entropy(&self, literal: &str) -> Option<Reason> {
        let rules = self.rules;
        let whole = literal.trim();
        if rules.false_positives.contains(&whole.to_lowercase()) || is_placeholder(whole) {
            return None;
        }
        let candidates = |is_member: fn(char) -> bool| {
            literal
                .split(move |c: char| !is_member(c))
                .filter(|run| run.chars().count() >= rules.min_length)
                .filter(|run| !rules.false_positives.contains(&run.to_lowercase()))
                .filter(|run| !UUID.is_match(run) && !is_sequential(run))
                .collect::<Vec<_>>()
        };
        for run in candidates(is_hex_char) {
            let entropy = hex_entropy(run);
            if entropy > rules.hex_limit {
                let limit = rules.hex_limit;
                return Some(Reason::Entropy { entropy: round2(entropy), charset: Charset::Hex, limit });
            }
        }
        for run in candidates(is_base64_char) {
            let entropy = shannon_entropy(run);
            if entropy > rules.base64_limit {
                return Some(Reason::Entropy {
                    entropy: round2(entropy),
                    charset: Charset::Base64,
                    limit: rules.base64_limit,
                });
            }
        }
        None
    }
}

/// Start indices where `words` occurs as consecutive tokens.
fn find_phrase<'t>(tokens: &'t [String], words: &'t [String]) -> impl Iterator<Item = usize> + 't {
    let n = words.len();
    (0..(tokens.len() + 1).saturating_sub(n)).filter(move |&i| tokens[i..i + n] == *words)
}

// ------------------------------------------------------------------- helpers

/// Splits a variable name into lower-case tokens on every non-alphanumeric
/// character and on camelCase boundaries: `dbPassword` → `db password`,
/// `APIKey` → `api key`, `oauth2Token` → `oauth2 token`, `AWS_SECRET` → `aws secret`.
pub fn name_tokens(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut tokens = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
            continue;
        }
        if c.is_uppercase() && !current.is_empty() {
            let prev = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_numeric() || (prev.is_uppercase() && next_is_lower) {
                tokens.push(std::mem::take(&mut current));
            }
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// Shannon entropy in bits per character: `-Σ p·log2 p` over the characters.
pub fn shannon_entropy(data: &str) -> f64 {
    let mut counts: BTreeMap<char, usize> = BTreeMap::new();
    let mut len = 0usize;
    for c in data.chars() {
        *counts.entry(c).or_default() += 1;
        len += 1;
    }
    if len == 0 {
        return 0.0;
    }
    counts
        .values()
        .map(|&n| {
            let p = n as f64 / len as f64;
            -p * p.log2()
        })
        .sum()
}

/// detect-secrets' hex entropy: all-digit strings are penalised by
/// `1.2 / log2(len)`, since long numbers are rarely secrets.
fn hex_entropy(run: &str) -> f64 {
    let entropy = shannon_entropy(run);
    let len = run.chars().count();
    if len > 1 && run.bytes().all(|b| b.is_ascii_digit()) { entropy - 1.2 / (len as f64).log2() } else { entropy }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn is_hex_char(c: char) -> bool {
    c.is_ascii_hexdigit()
}

/// detect-secrets' base64 charset: standard and URL-safe alphabets plus `=`.
fn is_base64_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_' | '=')
}

static JINJA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}").unwrap_or_else(|e| unreachable!("constant regex: {e}"))
});

static UUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}")
        .unwrap_or_else(|e| unreachable!("constant regex: {e}"))
});

static JINJA_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)").unwrap_or_else(|e| unreachable!("constant regex: {e}"))
});

fn has_jinja(value: &str) -> bool {
    value.contains("{{") || value.contains("{%")
}

/// The top-level variables a Jinja template reads, sorted, without Jinja's
/// and Ansible's own names. Falls back to the first name of each `{{ … }}`
/// when minijinja cannot parse the (Ansible-flavoured) template.
fn jinja_references(value: &str) -> Vec<String> {
    let env = minijinja::Environment::empty();
    let names: BTreeSet<String> = match env.template_from_str(value) {
        Ok(template) => template.undeclared_variables(false).into_iter().collect(),
        Err(_) => JINJA_NAME.captures_iter(value).map(|c| c[1].to_string()).collect(),
    };
    names.into_iter().filter(|n| !NOT_VARIABLES.contains(&n.as_str())).collect()
}

/// A file system path rather than content: no whitespace, no URL, and a
/// directory separator or a file extension.
fn looks_like_path(value: &str) -> bool {
    static FILE_NAME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^[\w.*-]+\.[A-Za-z][A-Za-z0-9]{0,4}$").unwrap_or_else(|e| unreachable!("constant regex: {e}"))
    });
    let v = value.trim();
    !v.is_empty()
        && !v.chars().any(char::is_whitespace)
        && !v.contains("://")
        && (v.contains('/') || v.contains('\\') || FILE_NAME.is_match(v))
}

/// `${VAR}`, `<placeholder>`, `{placeholder}`: detect-secrets' "templated secret" filter.
fn is_placeholder(v: &str) -> bool {
    (v.starts_with("${") && v.ends_with('}'))
        || (v.starts_with('<') && v.ends_with('>'))
        || (v.starts_with('{') && v.ends_with('}'))
}

/// detect-secrets' sequential-string filter (`ABCDEF…`, `0123456789…`).
fn is_sequential(run: &str) -> bool {
    const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const DIGITS: &str = "0123456789";
    const HEX: &str = "0123456789ABCDEF";
    let upper = run.to_uppercase();
    let sequences = [
        format!("{UPPER}{UPPER}{DIGITS}+/"),
        format!("{DIGITS}{UPPER}{UPPER}+/"),
        format!("{DIGITS}{UPPER}{DIGITS}{UPPER}"),
        format!("{DIGITS}{DIGITS}"),
        format!("{HEX}{HEX}"),
        format!("{UPPER}=/"),
    ];
    sequences.iter().any(|s| s.contains(&upper))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> &'static SecretRules {
        SecretRules::builtin().unwrap()
    }

    fn classify(name: &str, value: &str) -> Classification {
        let none = BTreeMap::new();
        Classifier::new(rules(), &none).classify(name, value, Provenance::Template)
    }

    #[test]
    fn embedded_rules_load() {
        let r = rules();
        assert!(r.pattern_ids().any(|id| id == "aws-access-key-id"));
        assert_eq!(r.base64_limit, 4.5);
        assert_eq!(r.hex_limit, 3.0);
        assert_eq!(r.min_length, 20);
    }

    #[test]
    fn tokenizer() {
        let t = |s: &str| name_tokens(s).join(" ");
        assert_eq!(t("AWS_SECRET_ACCESS_KEY"), "aws secret access key");
        assert_eq!(t("dbPassword"), "db password");
        assert_eq!(t("APIKey"), "api key");
        assert_eq!(t("oauth2Token"), "oauth2 token");
        assert_eq!(t("s3Key"), "s3 key");
        assert_eq!(t("my-app.db_pass"), "my app db pass");
        assert_eq!(t("HTTPServerURL"), "http server url");
        assert_eq!(t("sha256"), "sha256");
        assert_eq!(t("__x__"), "x");
    }

    const NONE: &str = "no secret keyword, pattern or high-entropy value";

    /// (name, value, secret?, reason as displayed).
    const TABLE: &[(&str, &str, bool, &str)] = &[
        // Keywords.
        ("DB_PASSWORD", "hunter2", true, "name keyword `password`"),
        ("db_password", "{{ vault_db_password }}", true, "name keyword `password`"),
        ("MYSQL_ROOT_PASSWD", "x", true, "name keyword `passwd`"),
        ("SMTP_PASS", "mail123", true, "name keyword `pass`"),
        ("REDIS_PWD", "r", true, "name keyword `pwd`"),
        ("DJANGO_SECRET_KEY", "abc", true, "name keyword `secret`"),
        ("GITHUB_TOKEN", "abc", true, "name keyword `token`"),
        ("stripeApiKey", "abc", true, "name keyword `api key`"),
        ("APIKEY", "abc", true, "name keyword `apikey`"),
        ("DBPASSWORD", "abc", true, "name keyword `password`"),
        ("JWT_PRIVATE_KEY", "abc", true, "name keyword `private key`"),
        ("GOOGLE_CREDENTIALS", "{}", true, "name keyword `credentials`"),
        ("BASIC_AUTH", "user:pw", true, "name keyword `auth`"),
        ("WEBHOOK_SIGNATURE", "abc", true, "name keyword `signature`"),
        ("PASSWORD_SALT", "abc", true, "name keyword `password`"),
        ("SENTRY_DSN", "https://abc@o1.ingest.sentry.io/1", true, "name keyword `dsn`"),
        ("ENCRYPTION_KEY", "k", true, "name keyword `encryption key`"),
        ("SENDGRID_KEY", "k", true, "name keyword `key`"),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE", true, "name keyword `access key id`"),
        ("AWS_SESSION_TOKEN", "x", true, "name keyword `session token`"),
        ("VAULT_SECRET_ID", "x", true, "name keyword `secret id`"),
        ("OAUTH_CLIENT_SECRET", "x", true, "name keyword `client secret`"),
        // A keyword with no value.
        ("DB_PASSWORD", "", false, "value is empty, null or a boolean"),
        ("AUTH", "false", false, "value is empty, null or a boolean"),
        // Neutralised keywords.
        ("FEATURE_TOKEN_TTL", "3600", false, "name keyword `token` allowed by `ttl`"),
        ("PASSWORD_MIN_LENGTH", "12", false, "name keyword `password` allowed by `min`"),
        (
            "SSH_PUBLIC_KEY",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGqNlTJ8Rf5dE1vYk2x9Q8hP3sWbZc7tLmUoV4yXa0Kj",
            false,
            "name keyword `key` allowed by `public key`",
        ),
        (
            "STRIPE_PUBLISHABLE_KEY",
            "pk_live_51H8abcdEFGHijklMNOP",
            false,
            "name keyword `key` allowed by `publishable key`",
        ),
        ("AUTH_ENABLED", "true", false, "name keyword `auth` allowed by `enabled`"),
        ("AUTH_SERVICE_URL", "https://auth.internal", false, "name keyword `auth` allowed by `url`"),
        ("SECRET_NAME", "prod/db/password", false, "name keyword `secret` allowed by `name`"),
        ("API_KEY_ID", "k-123", false, "name keyword `api key` allowed by `id`"),
        ("KMS_KEY", "alias/app", false, "name keyword `key` allowed by `kms key`"),
        ("OPENAI_MAX_TOKENS", "4096", false, "name keyword `tokens` allowed by `max tokens`"),
        ("DB_PASSWORD_FILE", "/run/secrets/db_password", false, "name keyword `password` allowed by `file`"),
        ("TLS_PRIVATE_KEY_PATH", "{{ tls_dir }}/server.key", false, "name keyword `private key` allowed by `path`"),
        // `key` counts only as the last token.
        ("TLS_KEY_PATH", "{{ tls_dir }}/server.key", false, NONE),
        ("PASSWORD_SALT_ROUNDS", "12", false, "name keyword `password` allowed by `rounds`"),
        // A path qualifier with content that is not a path keeps the keyword.
        (
            "SSL_PRIVATE_KEY_FILE",
            "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----",
            true,
            "name keyword `private key`",
        ),
        // Keywords in the name are allowed, but the value is a real secret.
        ("PUBLIC_KEY", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n", true, "value matches `private-key`"),
        // Value patterns.
        ("UPLOAD_ID", "AKIAIOSFODNN7EXAMPLE", true, "value matches `aws-access-key-id`"),
        ("AWS_SECRET", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", true, "name keyword `secret`"),
        (
            "AWS_S3_SIGNING_MATERIAL",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            true,
            "value matches `aws-secret-access-key`",
        ),
        (
            "SESSION",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            true,
            "value matches `jwt`",
        ),
        ("GH", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", true, "value matches `github-token`"),
        (
            "SLACK_HOOK",
            "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX",
            true,
            "value matches `slack-webhook`",
        ),
        ("NOTIFY", "xoxb-123456789012-abcdefghijkl", true, "value matches `slack-token`"),
        ("STRIPE", "sk_live_abcdefghijklmnop1234", true, "value matches `stripe-secret-key`"),
        ("DATABASE_URL", "postgres://app:s3cret@db.internal:5432/app", true, "value matches `url-with-credentials`"),
        ("REDIS_URL", "redis://:hunter2@cache:6379/0", true, "value matches `url-with-credentials`"),
        (
            "DATABASE_URL",
            "postgres://{{ db_user }}:{{ db_pass }}@{{ db_host }}/app",
            true,
            "value matches `url-with-credentials`",
        ),
        (
            "UPSTREAM",
            "{{ lookup('community.hashi_vault.hashi_vault', 'secret=kv/data/app:token') }}",
            true,
            "value matches `secret-store-lookup`",
        ),
        ("GENERATED", "{{ lookup('password', '/tmp/pw length=20') }}", true, "value matches `secret-store-lookup`"),
        ("HOME_DIR", "{{ lookup('env', 'HOME') }}", false, NONE),
        // Entropy.
        (
            "SIGNING_MATERIAL",
            "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MEFCQ0RFRkdISUpLTE1OT1BR",
            true,
            "entropy 5.0 (base64, limit 4.5)",
        ),
        (
            "UPSTREAM_HMAC",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            true,
            "entropy 3.8 (hex, limit 3.0)",
        ),
        // Plain config.
        ("LOG_LEVEL", "debug", false, NONE),
        ("WORKERS", "4", false, NONE),
        ("DATABASE_HOST", "db.internal", false, NONE),
        ("DATABASE_URL", "postgres://db.internal:5432/app", false, NONE),
        ("REQUEST_NAMESPACE", "6f1c2a7e-9b3d-4c5e-8f7a-1b2c3d4e5f60", false, NONE),
        ("GIT_SHA", "da39a3ee5e6b4b0d3255bfef95601890afd80709", false, NONE),
        ("wp_sha256sum", "4e7a27a9e5fd05a0ee47d3e2f8e36e43ec5e0cb5ab0e5f5fd8ddee3cd4ac9a53", false, NONE),
        ("IMAGE_DIGEST", "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", false, NONE),
        ("CLIENT_ID", "8f14e45fceea167a5a36dedd4bea2543", false, NONE),
        ("KEY_PREFIX", "app:", false, NONE),
        ("BYPASS_CACHE", "yes", false, NONE),
        ("ALLOWED_HOSTS", "example.com,www.example.com,api.example.com", false, NONE),
        ("JAVA_OPTS", "-Xms512m -Xmx2048m -XX:+UseG1GC -Dfile.encoding=UTF-8", false, NONE),
        ("ALPHABET", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", false, NONE),
        ("PLACEHOLDER", "${SOME_UPSTREAM_VALUE_THAT_IS_LONG}", false, NONE),
    ];

    #[test]
    fn decisions_table() {
        let mut failures = Vec::new();
        for &(name, value, secret, reason) in TABLE {
            let c = classify(name, value);
            if c.secret != secret || c.reason.to_string() != reason {
                failures.push(format!("{name}: got {c}, want {}: {reason}", if secret { "secret" } else { "plain" }));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn uuids_are_not_secrets_by_value_but_names_still_count() {
        assert!(!classify("REQUEST_ID", "550e8400-e29b-41d4-a716-446655440000").secret);
        assert!(!classify("TENANT", "550E8400-E29B-41D4-A716-446655440000").secret);
        let c = classify("HEROKU_API_KEY", "550e8400-e29b-41d4-a716-446655440000");
        assert_eq!(c.reason, Reason::Keyword { keyword: "api key".into() });
    }

    #[test]
    fn vault_and_overrides_win() {
        let none = BTreeMap::new();
        let cl = Classifier::new(rules(), &none);
        let c = cl.classify("LOG_LEVEL", "$ANSIBLE_VAULT;1.1;AES256\n00", Provenance::Vault);
        assert_eq!((c.secret, c.reason), (true, Reason::Vault));

        let overrides: BTreeMap<String, SecretOverride> = [
            ("FEATURE_TOKEN_TTL".to_string(), SecretOverride::Plain),
            ("INTERNAL_URL".to_string(), SecretOverride::Secret),
            ("DB_PASSWORD".to_string(), SecretOverride::Plain),
        ]
        .into();
        let cl = Classifier::new(rules(), &overrides);
        let c = cl.classify("INTERNAL_URL", "http://10.0.0.1/", Provenance::Verbatim);
        assert_eq!((c.secret, c.to_string()), (true, "secret: override in migrate.yaml".into()));
        // Overrides beat keywords and even the vault.
        assert!(!cl.classify("DB_PASSWORD", "x", Provenance::Vault).secret);
        // Exact names only.
        assert!(cl.classify("db_password", "x", Provenance::Template).secret);
    }

    #[test]
    fn jinja_references_are_returned_and_followed() {
        let none = BTreeMap::new();
        let cl = Classifier::new(rules(), &none);
        let c = cl.classify("DATABASE_PW_REF", "{{ vault_db_password }}", Provenance::Template);
        assert!(!c.secret);
        assert_eq!(c.references, ["vault_db_password"]);
        let referenced = cl.classify("vault_db_password", "$ANSIBLE_VAULT;1.1;AES256", Provenance::Vault);
        let folded = c.with_referenced("vault_db_password", &referenced);
        assert!(folded.secret);
        assert_eq!(folded.to_string(), "secret: references `vault_db_password` (encrypted with Ansible Vault)");

        let c = cl.classify(
            "API_URL",
            "https://{{ api_host | default('localhost') }}:{{ api_port }}/{{ lookup('env', 'X') }}",
            Provenance::Template,
        );
        assert_eq!(c.references, ["api_host", "api_port"]);
        let plain = cl.classify("api_host", "api.internal", Provenance::Template);
        assert!(!c.clone().with_referenced("api_host", &plain).secret);

        // Verbatim values are not templates: `{{` is just text.
        let c = cl.classify("MOTD", "{{ not_a_ref }}", Provenance::Verbatim);
        assert!(c.references.is_empty());
        // Unparsable templates still yield the names they start with.
        let c = cl.classify("X", "{{ foo | bar(", Provenance::Template);
        assert_eq!(c.references, ["foo"]);
        // An override is never upgraded by a reference.
        let overrides: BTreeMap<String, SecretOverride> = [("REF".to_string(), SecretOverride::Plain)].into();
        let c = Classifier::new(rules(), &overrides).classify("REF", "{{ vault_x }}", Provenance::Template);
        assert!(!c.with_referenced("vault_x", &referenced).secret);
    }

    #[test]
    fn reasons_never_contain_the_value() {
        for &(name, value, _, _) in TABLE {
            let c = classify(name, value);
            let shown = format!("{c} {c:?} {}", serde_json::to_string(&c).unwrap());
            // Short values like `false` or `4` occur in any JSON; longer ones must not.
            if value.len() >= 6 && !value.contains("{{") {
                assert!(!shown.contains(value), "{name}: {shown}");
            }
        }
    }

    #[test]
    fn entropy_matches_detect_secrets() {
        // Values computed with detect-secrets' formula: -Σ p·log2 p.
        assert_eq!(shannon_entropy(""), 0.0);
        assert_eq!(shannon_entropy("aaaa"), 0.0);
        assert!((shannon_entropy("abcd") - 2.0).abs() < 1e-12);
        assert!((shannon_entropy("0123456789abcdef") - 4.0).abs() < 1e-12);
        // All-digit hex strings get the 1.2 / log2(len) penalty.
        let digits = "01234567890123456789";
        assert!((hex_entropy(digits) - (shannon_entropy(digits) - 1.2 / 20f64.log2())).abs() < 1e-12);
    }

    #[test]
    fn serialized_reason_is_tagged() {
        let c = classify("DB_PASSWORD", "x");
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"secret":true,"reason":{"rule":"keyword","keyword":"password"}}"#
        );
    }

    #[test]
    fn bad_rule_files_are_rejected_with_lines() {
        let good = RULES_TEXT;
        let bad_version = good.replacen("version: 1", "version: 2", 1);
        let err = SecretRules::from_yaml("r.yaml", &bad_version).unwrap_err();
        assert!(err.to_string().contains("version 2"), "{err}");
        assert!(err.line > 0);
        let unknown = good.replacen("names:\n", "names:\n  colour: [red]\n", 1);
        let err = SecretRules::from_yaml("r.yaml", &unknown).unwrap_err();
        assert!(err.message.contains("colour"), "{err}");
        let bad_regex = good.replacen("regex: '-----BEGIN", "regex: '(-----BEGIN", 1);
        let err = SecretRules::from_yaml("r.yaml", &bad_regex).unwrap_err();
        assert!(err.message.contains("private-key"), "{err}");
        let expected_line = good.lines().position(|l| l.contains("regex: '-----BEGIN")).unwrap() as u64 + 1;
        assert_eq!(err.line, expected_line);
        let bad_word = good.replacen("    - passwd\n", "    - PassWd\n", 1);
        assert!(SecretRules::from_yaml("r.yaml", &bad_word).is_err());
    }
}
