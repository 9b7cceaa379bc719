//! Desired SSM parameters: what `migrate ssm push` should make exist.
//!
//! Owns the parameter name template (default `/{app}/{env}/{service}/{NAME}`), SSM's
//! naming, size and tier rules, and tag syntax. The rules are checked here, before any
//! write, because moto checks almost none of them and real SSM rejects them one
//! request at a time in the middle of a push (reference: ssm.md §1.3, §1.4, §5.3).
//! Knows nothing about the AWS SDK, about the current state of the store, or about
//! how values were discovered. Secret values stay wrapped in [`Sensitive`]; no error
//! or warning built here ever contains a value.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::model::Origin;
use crate::sensitive::Sensitive;

/// Largest value of a Standard-tier parameter, in UTF-8 bytes (the docs say "4 KB",
/// the error says "characters": bytes is the safe reading).
pub const STANDARD_VALUE_LIMIT: usize = 4096;
/// Largest value of an Advanced-tier parameter, in UTF-8 bytes.
pub const ADVANCED_VALUE_LIMIT: usize = 8192;
/// Most `/`-separated levels a name may have.
pub const MAX_LEVELS: usize = 15;
/// Longest name, counting the `arn:…:parameter/` prefix SSM puts in front of it.
pub const MAX_NAME_WITH_ARN: usize = 1011;
/// Longest name the API model accepts at all.
pub const MAX_NAME_RAW: usize = 2048;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 1024;
/// Longest tag key and tag value (general AWS tagging rules).
pub const MAX_TAG_KEY: usize = 128;
pub const MAX_TAG_VALUE: usize = 256;
/// Tag keys starting with this are written by the tool itself (see `ssm::push`).
pub const TOOL_TAG_PREFIX: &str = "migrate:";

/// The default name template.
pub const DEFAULT_NAME_TEMPLATE: &str = "/{app}/{env}/{service}/{NAME}";

/// A parameter value: plain configuration, or a secret that must never be shown.
/// Secrets are written as `SecureString`, plain values as `String`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParameterValue {
    Plain(String),
    Secret(Sensitive<String>),
}

impl ParameterValue {
    pub fn plain(value: impl Into<String>) -> ParameterValue {
        ParameterValue::Plain(value.into())
    }

    pub fn secret(value: impl Into<String>) -> ParameterValue {
        ParameterValue::Secret(Sensitive::new(value.into()))
    }

    pub fn is_secret(&self) -> bool {
        matches!(self, ParameterValue::Secret(_))
    }

    /// The text itself, for sending to SSM or comparing. Never for display: use
    /// [`ParameterValue::shown`].
    pub fn expose(&self) -> &str {
        match self {
            ParameterValue::Plain(v) => v,
            ParameterValue::Secret(v) => v.expose(),
        }
    }

    /// What may be printed: the value if plain, `(sensitive value)` if secret.
    pub fn shown(&self) -> &str {
        match self {
            ParameterValue::Plain(v) => v,
            ParameterValue::Secret(_) => crate::sensitive::REDACTED,
        }
    }
}

/// SSM parameter tier. Ordered: a parameter can move up, never down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Tier {
    Standard,
    /// Let SSM choose (Standard unless the request needs Advanced). Only ever a request,
    /// SSM stores the resolved tier.
    #[serde(rename = "Intelligent-Tiering")]
    IntelligentTiering,
    Advanced,
}

impl Tier {
    /// The name SSM uses on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Standard => "Standard",
            Tier::IntelligentTiering => "Intelligent-Tiering",
            Tier::Advanced => "Advanced",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tier {
    type Err = String;

    fn from_str(s: &str) -> Result<Tier, String> {
        match s.to_ascii_lowercase().as_str() {
            "standard" => Ok(Tier::Standard),
            "advanced" => Ok(Tier::Advanced),
            "intelligent-tiering" | "intelligent_tiering" | "intelligenttiering" => Ok(Tier::IntelligentTiering),
            _ => Err(format!("unknown tier `{s}` (expected Standard, Advanced or Intelligent-Tiering)")),
        }
    }
}

/// The tier a value needs, given the tier asked for: values over 4 KB move up to
/// Advanced (with a warning, since Advanced parameters are charged), values over
/// 8 KB cannot be stored at all. Intelligent-Tiering is resolved here too for large
/// values, because SSM has been reported to reject >4 KB values sent with it
/// (aws-sdk-net#3157).
pub fn tier_for_value(value: &str, requested: Tier) -> Result<(Tier, Option<String>), String> {
    let len = value.len();
    if len > ADVANCED_VALUE_LIMIT {
        return Err(format!(
            "the value is {len} bytes; SSM stores at most {ADVANCED_VALUE_LIMIT} bytes (Advanced tier)"
        ));
    }
    if len > STANDARD_VALUE_LIMIT && requested != Tier::Advanced {
        let warning = format!(
            "the value is {len} bytes, over the Standard tier's {STANDARD_VALUE_LIMIT}: using the Advanced tier \
             (charged per parameter and month)"
        );
        return Ok((Tier::Advanced, Some(warning)));
    }
    Ok((requested, None))
}

/// The tier to write, given the desired tier and the tier the parameter has now:
/// SSM cannot move an Advanced parameter back to Standard, so it stays Advanced.
pub fn never_downgrade(desired: Tier, current: Option<Tier>) -> Tier {
    match current {
        Some(Tier::Advanced) => Tier::Advanced,
        _ => desired,
    }
}

/// A resource tag `KEY=VALUE`, checked against AWS tagging rules.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

static TAG_CHARS: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern: cannot fail.
    Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$").unwrap()
});

impl Tag {
    /// A tag written by `migrate` itself; skips the reserved-prefix check.
    pub fn tool(key: &str, value: impl Into<String>) -> Tag {
        Tag { key: format!("{TOOL_TAG_PREFIX}{key}"), value: value.into() }
    }

    /// A tag given by the user.
    pub fn new(key: &str, value: &str) -> Result<Tag, String> {
        let n = key.chars().count();
        if n == 0 || n > MAX_TAG_KEY {
            return Err(format!("tag key `{key}` must be 1 to {MAX_TAG_KEY} characters"));
        }
        if value.chars().count() > MAX_TAG_VALUE {
            return Err(format!("the value of tag `{key}` is longer than {MAX_TAG_VALUE} characters"));
        }
        if !TAG_CHARS.is_match(key) || !TAG_CHARS.is_match(value) {
            return Err(format!(
                "tag `{key}`: keys and values may hold only letters, digits, spaces and _ . : / = + - @"
            ));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(format!("tag key `{key}`: the `aws:` prefix is reserved by AWS"));
        }
        if key.starts_with(TOOL_TAG_PREFIX) {
            return Err(format!("tag key `{key}`: the `{TOOL_TAG_PREFIX}` prefix is reserved for migrate's own tags"));
        }
        Ok(Tag { key: key.to_string(), value: value.to_string() })
    }
}

impl FromStr for Tag {
    type Err = String;

    fn from_str(s: &str) -> Result<Tag, String> {
        let Some((k, v)) = s.split_once('=') else {
            return Err(format!("tag `{s}` must look like KEY=VALUE"));
        };
        Tag::new(k, v)
    }
}

/// Checks a KMS key reference (key id, key ARN, alias name or alias ARN) against the
/// PutParameter `KeyId` pattern.
pub fn check_kms_key_id(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key.len() <= 256
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!("KMS key id `{key}` is not valid: 1 to 256 characters from a-z A-Z 0-9 : / _ -"))
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')
}

/// Length of `arn:<partition>:ssm:<region>:<account>:parameter/`, which counts towards
/// the 1011-character name limit. Unknown region: assume the longest plausible one.
pub fn arn_prefix_len(region: Option<&str>) -> usize {
    const FIXED: usize = "arn:".len() + ":ssm:".len() + ":".len() + 12 + ":parameter/".len();
    match region {
        Some(r) => {
            let partition = if r.starts_with("cn-") {
                "aws-cn"
            } else if r.starts_with("us-gov-") {
                "aws-us-gov"
            } else if r.starts_with("us-isob-") || r.starts_with("eu-isoe-") || r.starts_with("us-isof-") {
                "aws-iso-b"
            } else if r.starts_with("us-iso-") {
                "aws-iso"
            } else {
                "aws"
            };
            FIXED + partition.len() + r.len()
        }
        None => FIXED + "aws-us-gov".len() + "ap-southeast-5".len(),
    }
}

/// Checks a full parameter name against SSM's rules (ssm.md §1.4): characters,
/// fully qualified, no empty level, no `aws`/`ssm` prefix, at most 15 levels, length.
pub fn check_name(name: &str, region: Option<&str>) -> Result<(), String> {
    if name.is_empty() {
        return Err("the parameter name is empty".into());
    }
    if name.len() > MAX_NAME_RAW {
        return Err(format!("the name is {} characters; SSM accepts at most {MAX_NAME_RAW}", name.len()));
    }
    if let Some(c) = name.chars().find(|c| !is_name_char(*c)) {
        return Err(format!(
            "`{}` is not allowed in a parameter name (only a-z A-Z 0-9 _ . - and / between levels)",
            c.escape_default()
        ));
    }
    if name.contains('/') && !name.starts_with('/') {
        return Err("a name with levels must be fully qualified: it has to start with `/`".into());
    }
    let bare = name.strip_prefix('/').unwrap_or(name);
    if bare.is_empty() || bare.split('/').any(str::is_empty) {
        return Err("the name has an empty level (`//` or a trailing `/`)".into());
    }
    let head = bare.get(..3).unwrap_or(bare).to_ascii_lowercase();
    if head == "aws" || head == "ssm" {
        return Err("names must not begin with `aws` or `ssm` in any letter case (reserved by AWS)".into());
    }
    let levels = bare.split('/').count();
    if levels > MAX_LEVELS {
        return Err(format!("the name has {levels} levels; SSM allows at most {MAX_LEVELS}"));
    }
    let with_arn = arn_prefix_len(region) + bare.len();
    if with_arn > MAX_NAME_WITH_ARN {
        return Err(format!(
            "the name is {with_arn} characters counting its ARN prefix; SSM allows at most {MAX_NAME_WITH_ARN}"
        ));
    }
    Ok(())
}

/// Checks a value: not empty, no `{{ … }}` reference (SSM rejects those; here it
/// usually means an unrendered template), and within the size limits of its tier.
/// Returns the tier to use and an optional warning. Messages never contain the value.
pub fn check_value(value: &str, requested: Tier) -> Result<(Tier, Option<String>), String> {
    if value.is_empty() {
        return Err("the value is empty; SSM cannot store an empty value (remove the entry or give it a value)".into());
    }
    if let Some(open) = value.find("{{")
        && value[open..].contains("}}")
    {
        return Err("the value contains a `{{ … }}` reference, which SSM rejects (an unrendered template?)".into());
    }
    if value == crate::sensitive::REDACTED {
        return Err(format!(
            "the value is the placeholder `{}`, not a real value (a masked `migrate ssm pull` output?)",
            crate::sensitive::REDACTED
        ));
    }
    tier_for_value(value, requested)
}

/// What the name template is filled with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameContext {
    pub app: Option<String>,
    pub env: String,
    pub service: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholder {
    App,
    Env,
    Service,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Var(Placeholder),
}

/// A parameter name template such as `/{app}/{env}/{service}/{NAME}`.
///
/// Rules: it starts with `/`; its last level is exactly `{NAME}` (the key, kept as
/// written: pull maps names back to keys by stripping the prefix); at least one level
/// comes before it, so the tool always works under a prefix it can list and prune
/// without touching anything else. A level that is just `{app}` or `{service}` with no
/// value is left out (`/{app}/{env}/{service}/{NAME}` without a service gives
/// `/app/env/NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameTemplate {
    raw: String,
    levels: Vec<Vec<Piece>>,
}

impl Default for NameTemplate {
    fn default() -> NameTemplate {
        // A constant, covered by the tests below: cannot fail.
        DEFAULT_NAME_TEMPLATE.parse().unwrap()
    }
}

impl fmt::Display for NameTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl FromStr for NameTemplate {
    type Err = String;

    fn from_str(raw: &str) -> Result<NameTemplate, String> {
        let bad = |why: &str| format!("name template `{raw}`: {why}");
        let Some(body) = raw.strip_prefix('/') else {
            return Err(bad("it must start with `/`"));
        };
        let mut levels = Vec::new();
        let parts: Vec<&str> = body.split('/').collect();
        let Some((last, before)) = parts.split_last() else {
            return Err(bad("it is empty"));
        };
        if *last != "{NAME}" {
            return Err(bad("its last level must be exactly `{NAME}`"));
        }
        if before.is_empty() {
            return Err(bad("put at least one level before `{NAME}` (e.g. `/{app}/{env}/{NAME}`)"));
        }
        for level in before {
            if level.is_empty() {
                return Err(bad("it has an empty level (`//`)"));
            }
            let mut pieces = Vec::new();
            let mut rest = *level;
            while !rest.is_empty() {
                if let Some(after) = rest.strip_prefix('{') {
                    let Some(end) = after.find('}') else {
                        return Err(bad("a `{` is not closed"));
                    };
                    let var = match &after[..end] {
                        "app" => Placeholder::App,
                        "env" => Placeholder::Env,
                        "service" => Placeholder::Service,
                        "NAME" => return Err(bad("`{NAME}` may only be the last level")),
                        other => {
                            return Err(bad(&format!(
                                "unknown placeholder `{{{other}}}` (known: {{app}}, {{env}}, {{service}}, {{NAME}})"
                            )));
                        }
                    };
                    pieces.push(Piece::Var(var));
                    rest = &after[end + 1..];
                } else {
                    let end = rest.find('{').unwrap_or(rest.len());
                    let lit = &rest[..end];
                    if let Some(c) = lit.chars().find(|c| !is_name_char(*c)) {
                        return Err(bad(&format!("`{}` is not allowed in a parameter name", c.escape_default())));
                    }
                    pieces.push(Piece::Literal(lit.to_string()));
                    rest = &rest[end..];
                }
            }
            levels.push(pieces);
        }
        Ok(NameTemplate { raw: raw.to_string(), levels })
    }
}

impl NameTemplate {
    /// The prefix every parameter of `ctx` lives under, with a trailing `/`
    /// (e.g. `/shop/staging/web/`). Errors name the missing or invalid value.
    pub fn prefix(&self, ctx: &NameContext) -> Result<String, String> {
        let mut out = String::from("/");
        let mut kept = 0;
        for level in &self.levels {
            let only_var = matches!(level.as_slice(), [Piece::Var(_)]);
            let mut text = String::new();
            for piece in level {
                match piece {
                    Piece::Literal(l) => text.push_str(l),
                    Piece::Var(v) => {
                        let (flag, value) = match v {
                            Placeholder::App => ("--app", ctx.app.as_deref()),
                            Placeholder::Env => ("--env", Some(ctx.env.as_str())),
                            Placeholder::Service => ("--service", ctx.service.as_deref()),
                        };
                        match value.filter(|s| !s.is_empty()) {
                            Some(s) => {
                                if let Some(c) = s.chars().find(|c| !is_name_char(*c) || *c == '/') {
                                    return Err(format!(
                                        "{flag} `{s}`: `{}` is not allowed in a parameter name level",
                                        c.escape_default()
                                    ));
                                }
                                text.push_str(s);
                            }
                            None if only_var && *v != Placeholder::Env => {}
                            None => {
                                return Err(format!("the name template `{}` needs a value for {flag}", self.raw));
                            }
                        }
                    }
                }
            }
            if !text.is_empty() {
                out.push_str(&text);
                out.push('/');
                kept += 1;
            }
        }
        if kept == 0 {
            return Err(format!("the name template `{}` leaves no level before the name", self.raw));
        }
        check_name(out.trim_end_matches('/'), None).map_err(|e| format!("parameter prefix `{out}`: {e}"))?;
        Ok(out)
    }
}

/// The one place that names a service's parameters: `/{app}/{env}/{service}/`
/// with the default template (`default` when no environment was chosen). The
/// rules engine writes these names into task definitions and entrypoints, and
/// `plan` / `ssm push` store values under them, so both always agree. A value
/// the template refuses (e.g. a character SSM does not allow) still gives a
/// name; [`build_specs`] then reports it as an error instead of pushing.
pub fn service_prefix(app: &str, env: Option<&str>, service: &str) -> String {
    let env = env.filter(|e| !e.is_empty()).unwrap_or("default");
    let ctx = NameContext {
        app: Some(app.to_string()).filter(|a| !a.is_empty()),
        env: env.to_string(),
        service: Some(service.to_string()),
    };
    NameTemplate::default().prefix(&ctx).unwrap_or_else(|_| {
        let app = if app.is_empty() { String::new() } else { format!("/{app}") };
        format!("{app}/{env}/{service}/")
    })
}

/// The full parameter name of `key` for `service` (see [`service_prefix`]).
pub fn service_parameter(app: &str, env: Option<&str>, service: &str, key: &str) -> String {
    format!("{}{key}", service_prefix(app, env, service))
}

/// The key of `name` if it sits directly under `prefix` (as built by
/// [`NameTemplate::prefix`]); deeper names are not the tool's.
pub fn key_under<'a>(prefix: &str, name: &'a str) -> Option<&'a str> {
    name.strip_prefix(prefix).filter(|k| !k.is_empty() && !k.contains('/'))
}

/// One desired value before naming, as discovery or an env file yields it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredValue {
    /// The environment variable name (`DB_PASSWORD`): the last level of the parameter name.
    pub key: String,
    pub value: ParameterValue,
    pub description: Option<String>,
    pub origin: Option<Origin>,
}

/// A parameter that should exist, fully checked against SSM's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterSpec {
    /// The environment variable it feeds.
    pub key: String,
    /// The full SSM name (`/shop/staging/web/DB_PASSWORD`).
    pub name: String,
    pub value: ParameterValue,
    /// The tier this value needs (already raised to Advanced for large values).
    pub tier: Tier,
    pub description: Option<String>,
    pub origin: Option<Origin>,
}

impl ParameterSpec {
    /// Written as `SecureString` (secret) or `String` (plain).
    pub fn secure(&self) -> bool {
        self.value.is_secret()
    }
}

/// A problem with one desired parameter. Never contains a value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SpecProblem {
    pub origin: Option<Origin>,
    pub name: String,
    pub message: String,
}

impl fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(o) => write!(f, "{o}: {}: {}", self.name, self.message),
            None => write!(f, "{}: {}", self.name, self.message),
        }
    }
}

/// Specs built from desired values, plus what was wrong with them.
#[derive(Debug, Default)]
pub struct SpecSet {
    /// Sorted by name, one per name.
    pub specs: Vec<ParameterSpec>,
    pub warnings: Vec<SpecProblem>,
    pub errors: Vec<SpecProblem>,
}

/// Names and checks every desired value. All problems are collected (not just the
/// first), so one run shows everything to fix. The same key given twice with the
/// same value is kept once; with different values it is an error naming both origins.
pub fn build_specs(values: Vec<DesiredValue>, prefix: &str, tier: Tier, region: Option<&str>) -> SpecSet {
    let mut set = SpecSet::default();
    let mut by_name: BTreeMap<String, ParameterSpec> = BTreeMap::new();
    for v in values {
        let name = format!("{prefix}{}", v.key);
        let problem = |message: String| SpecProblem { origin: v.origin.clone(), name: name.clone(), message };
        if v.key.is_empty() || v.key.contains('/') {
            set.errors.push(problem("the key must be one name level, without `/`".into()));
            continue;
        }
        if let Err(e) = check_name(&name, region) {
            set.errors.push(problem(e));
            continue;
        }
        let tier = match check_value(v.value.expose(), tier) {
            Ok((tier, warning)) => {
                if let Some(w) = warning {
                    set.warnings.push(problem(w));
                }
                tier
            }
            Err(e) => {
                set.errors.push(problem(e));
                continue;
            }
        };
        if let Some(d) = &v.description
            && d.chars().count() > MAX_DESCRIPTION
        {
            set.errors.push(problem(format!("the description is longer than {MAX_DESCRIPTION} characters")));
            continue;
        }
        if let Some(prev) = by_name.get(&name) {
            if prev.value.expose() != v.value.expose() || prev.secure() != v.value.is_secret() {
                let other = prev.origin.as_ref().map_or_else(|| "elsewhere".to_string(), |o| format!("at {o}"));
                set.errors.push(problem(format!("defined twice with different values (also {other})")));
            }
            continue;
        }
        let spec = ParameterSpec {
            key: v.key.clone(),
            name: name.clone(),
            value: v.value,
            tier,
            description: v.description,
            origin: v.origin,
        };
        by_name.insert(name, spec);
    }
    set.specs = by_name.into_values().collect();
    set.errors.sort();
    set.warnings.sort();
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(app: Option<&str>, env: &str, service: Option<&str>) -> NameContext {
        NameContext { app: app.map(String::from), env: env.into(), service: service.map(String::from) }
    }

    #[test]
    fn default_template_renders_app_env_service() {
        let t = NameTemplate::default();
        assert_eq!(t.prefix(&ctx(Some("shop"), "staging", Some("web"))).unwrap(), "/shop/staging/web/");
    }

    #[test]
    fn a_level_that_is_only_a_missing_optional_value_is_left_out() {
        let t = NameTemplate::default();
        assert_eq!(t.prefix(&ctx(Some("shop"), "prod", None)).unwrap(), "/shop/prod/");
        assert_eq!(t.prefix(&ctx(None, "prod", None)).unwrap(), "/prod/");
    }

    #[test]
    fn a_missing_value_inside_a_longer_level_is_an_error() {
        let t: NameTemplate = "/cfg/{app}-{service}/{NAME}".parse().unwrap();
        assert_eq!(t.prefix(&ctx(Some("a"), "e", Some("s"))).unwrap(), "/cfg/a-s/");
        let err = t.prefix(&ctx(Some("a"), "e", None)).unwrap_err();
        assert!(err.contains("--service"), "{err}");
    }

    #[test]
    fn env_is_always_required_when_used() {
        let t = NameTemplate::default();
        assert!(t.prefix(&ctx(Some("a"), "", None)).unwrap_err().contains("--env"));
    }

    #[test]
    fn template_rules() {
        for (bad, why) in [
            ("{app}/{NAME}", "start with `/`"),
            ("/{app}/{NAME}/x", "last level"),
            ("/{NAME}", "at least one level"),
            ("/{app}//{NAME}", "empty level"),
            ("/{app}/{team}/{NAME}", "unknown placeholder `{team}`"),
            ("/{app/{NAME}", "not closed"),
            ("/{NAME}x/{NAME}", "only be the last"),
            ("/my app/{NAME}", "not allowed"),
        ] {
            let err = bad.parse::<NameTemplate>().unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn placeholder_values_are_checked() {
        let t = NameTemplate::default();
        assert!(t.prefix(&ctx(Some("a/b"), "e", None)).unwrap_err().contains("--app"));
        assert!(t.prefix(&ctx(Some("a b"), "e", None)).unwrap_err().contains("not allowed"));
        // The prefix itself must be a legal name: no reserved first level.
        assert!(t.prefix(&ctx(Some("ssm-tools"), "e", None)).unwrap_err().contains("`aws` or `ssm`"));
    }

    #[test]
    fn key_under_accepts_direct_children_only() {
        assert_eq!(key_under("/a/e/", "/a/e/X"), Some("X"));
        assert_eq!(key_under("/a/e/", "/a/e/s/X"), None);
        assert_eq!(key_under("/a/e/", "/a/e/"), None);
        assert_eq!(key_under("/a/e/", "/a/ex/X"), None);
    }

    #[test]
    fn name_allowed_characters() {
        assert!(check_name("/a-b/c_d/E.f", None).is_ok());
        for bad in ["/a b", "/a:b", "/a@b", "/a*b", "/é", "/a\tb"] {
            assert!(check_name(bad, None).unwrap_err().contains("not allowed"), "{bad}");
        }
    }

    #[test]
    fn name_must_be_fully_qualified_with_levels() {
        assert!(check_name("plain", None).is_ok());
        assert!(check_name("a/b", None).unwrap_err().contains("fully qualified"));
        assert!(check_name("/a//b", None).unwrap_err().contains("empty level"));
        assert!(check_name("/a/b/", None).unwrap_err().contains("empty level"));
        assert!(check_name("/", None).unwrap_err().contains("empty level"));
    }

    #[test]
    fn name_must_not_start_with_aws_or_ssm_in_any_case() {
        for bad in ["awsTest", "SSM-test", "/aws/x", "/AWS/x", "/ssm/x", "/Ssmx/y", "aws"] {
            assert!(check_name(bad, None).unwrap_err().contains("`aws` or `ssm`"), "{bad}");
        }
        assert!(check_name("/x/aws/y", None).is_ok());
        assert!(check_name("/as/y", None).is_ok());
    }

    #[test]
    fn name_has_at_most_15_levels() {
        let fifteen = (1..=15).map(|i| format!("/l{i}")).collect::<String>();
        assert!(check_name(&fifteen, None).is_ok());
        let sixteen = format!("{fifteen}/l16");
        assert!(check_name(&sixteen, None).unwrap_err().contains("16 levels"));
    }

    #[test]
    fn name_length_counts_the_arn_prefix() {
        // us-east-2 gives the documented 45-character prefix.
        assert_eq!(arn_prefix_len(Some("us-east-2")), 45);
        let fits = format!("/{}", "a".repeat(MAX_NAME_WITH_ARN - 45));
        assert!(check_name(&fits, Some("us-east-2")).is_ok());
        let too_long = format!("/{}", "a".repeat(MAX_NAME_WITH_ARN - 44));
        assert!(check_name(&too_long, Some("us-east-2")).unwrap_err().contains("ARN prefix"));
        // Without a region the longest prefix is assumed, so the same name is refused.
        assert!(check_name(&fits, None).is_err());
        assert!(arn_prefix_len(Some("cn-north-1")) > arn_prefix_len(Some("us-east-1")));
        let raw = format!("/{}", "a".repeat(MAX_NAME_RAW));
        assert!(check_name(&raw, Some("us-east-1")).unwrap_err().contains("at most 2048"));
    }

    #[test]
    fn value_must_not_be_empty_or_a_reference_or_the_mask() {
        assert!(check_value("", Tier::Standard).unwrap_err().contains("empty"));
        assert!(check_value("x{{ssm:/a}}y", Tier::Standard).unwrap_err().contains("reference"));
        assert!(check_value("{{ db_password }}", Tier::Standard).unwrap_err().contains("reference"));
        assert!(check_value("}} then {{", Tier::Standard).is_ok());
        assert!(check_value(crate::sensitive::REDACTED, Tier::Standard).unwrap_err().contains("placeholder"));
    }

    #[test]
    fn value_sizes_choose_the_tier() {
        let at4 = "x".repeat(STANDARD_VALUE_LIMIT);
        assert_eq!(check_value(&at4, Tier::Standard).unwrap(), (Tier::Standard, None));
        let over4 = "x".repeat(STANDARD_VALUE_LIMIT + 1);
        let (tier, warning) = check_value(&over4, Tier::Standard).unwrap();
        assert_eq!(tier, Tier::Advanced);
        assert!(warning.unwrap().contains("Advanced"));
        let (tier, _) = check_value(&over4, Tier::IntelligentTiering).unwrap();
        assert_eq!(tier, Tier::Advanced);
        assert_eq!(check_value(&over4, Tier::Advanced).unwrap(), (Tier::Advanced, None));
        let at8 = "x".repeat(ADVANCED_VALUE_LIMIT);
        assert_eq!(check_value(&at8, Tier::Advanced).unwrap().0, Tier::Advanced);
        let over8 = "x".repeat(ADVANCED_VALUE_LIMIT + 1);
        assert!(check_value(&over8, Tier::Advanced).unwrap_err().contains("8192"));
    }

    #[test]
    fn value_size_is_counted_in_bytes() {
        // 2000 three-byte characters: 2000 characters but 6000 bytes.
        let wide = "€".repeat(2000);
        assert_eq!(check_value(&wide, Tier::Standard).unwrap().0, Tier::Advanced);
    }

    #[test]
    fn advanced_is_never_downgraded() {
        assert_eq!(never_downgrade(Tier::Standard, Some(Tier::Advanced)), Tier::Advanced);
        assert_eq!(never_downgrade(Tier::IntelligentTiering, Some(Tier::Advanced)), Tier::Advanced);
        assert_eq!(never_downgrade(Tier::Standard, Some(Tier::Standard)), Tier::Standard);
        assert_eq!(never_downgrade(Tier::Advanced, Some(Tier::Standard)), Tier::Advanced);
        assert_eq!(never_downgrade(Tier::Standard, None), Tier::Standard);
    }

    #[test]
    fn tier_parses_ssm_spellings() {
        assert_eq!("Intelligent-Tiering".parse::<Tier>().unwrap(), Tier::IntelligentTiering);
        assert_eq!("advanced".parse::<Tier>().unwrap(), Tier::Advanced);
        assert!("Premium".parse::<Tier>().is_err());
    }

    #[test]
    fn tags_follow_aws_rules() {
        assert_eq!("team=payments".parse::<Tag>().unwrap(), Tag { key: "team".into(), value: "payments".into() });
        assert_eq!("empty=".parse::<Tag>().unwrap().value, "");
        assert!("novalue".parse::<Tag>().unwrap_err().contains("KEY=VALUE"));
        assert!("=x".parse::<Tag>().is_err());
        assert!("aws:owner=x".parse::<Tag>().unwrap_err().contains("reserved by AWS"));
        assert!("migrate:version=3".parse::<Tag>().unwrap_err().contains("reserved for migrate"));
        assert!("a=b;c".parse::<Tag>().is_err());
        assert!(format!("{}=v", "k".repeat(129)).parse::<Tag>().is_err());
        assert!(format!("k={}", "v".repeat(257)).parse::<Tag>().is_err());
    }

    #[test]
    fn kms_key_ids() {
        assert!(check_kms_key_id("alias/my-key").is_ok());
        assert!(check_kms_key_id("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab").is_ok());
        assert!(check_kms_key_id("").is_err());
        assert!(check_kms_key_id("alias/my key").is_err());
    }

    fn dv(key: &str, value: ParameterValue, line: u32) -> DesiredValue {
        DesiredValue { key: key.into(), value, description: None, origin: Some(Origin::new(".env".into(), line)) }
    }

    #[test]
    fn build_specs_names_sorts_and_collects_every_problem() {
        let set = build_specs(
            vec![
                dv("Z", ParameterValue::plain("1"), 1),
                dv("A", ParameterValue::secret("s3cr3t"), 2),
                dv("BAD KEY", ParameterValue::plain("1"), 3),
                dv("EMPTY", ParameterValue::plain(""), 4),
                dv("BIG", ParameterValue::plain("x".repeat(5000)), 5),
            ],
            "/app/dev/",
            Tier::Standard,
            Some("us-east-1"),
        );
        let names: Vec<&str> = set.specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["/app/dev/A", "/app/dev/BIG", "/app/dev/Z"]);
        assert!(set.specs[0].secure());
        assert_eq!(set.specs[1].tier, Tier::Advanced);
        assert_eq!(set.errors.len(), 2);
        assert!(set.errors[0].to_string().starts_with(".env:3: /app/dev/BAD KEY: ` ` is not allowed"));
        assert!(set.errors[1].to_string().starts_with(".env:4: /app/dev/EMPTY: the value is empty"));
        assert_eq!(set.warnings.len(), 1);
        assert!(set.warnings[0].to_string().starts_with(".env:5: /app/dev/BIG:"));
    }

    #[test]
    fn build_specs_rejects_conflicting_duplicates_and_merges_identical_ones() {
        let set = build_specs(
            vec![
                dv("A", ParameterValue::plain("1"), 1),
                dv("A", ParameterValue::plain("1"), 2),
                dv("B", ParameterValue::secret("x"), 3),
                dv("B", ParameterValue::secret("y"), 4),
            ],
            "/app/dev/",
            Tier::Standard,
            None,
        );
        assert_eq!(set.specs.len(), 2);
        assert_eq!(set.errors.len(), 1);
        let expected = ".env:4: /app/dev/B: defined twice with different values (also at .env:3)";
        assert_eq!(set.errors[0].to_string(), expected);
    }

    #[test]
    fn problems_never_contain_values() {
        let secret = "hunter2-{{ not rendered }}";
        let set = build_specs(vec![dv("PW", ParameterValue::secret(secret), 1)], "/a/e/", Tier::Standard, None);
        assert_eq!(set.errors.len(), 1);
        assert!(!format!("{:?} {}", set.errors, set.errors[0]).contains("hunter2"));
    }
}
