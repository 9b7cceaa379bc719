//! Ansible's filters, ported to minijinja with Python's semantics.
//!
//! Each filter follows the Python code Ansible 12 runs (`ansible/plugins/
//! filter/core.py`, `mathstuff.py`, `urlsplit.py`, Jinja's own filters where
//! Ansible keeps them). Arguments are bound like Python binds them: by
//! position, then by keyword. Filters that would need the controller
//! (random numbers, the clock, its files) or a library we do not have
//! (`password_hash`) report "unsupported" and never make up a value.

use base64::Engine as _;
use minijinja::value::{Rest, StringInput, Value, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind, State};
use regex::Regex;
use sha2::Digest as _;

use super::pyfmt::{self, JsonStyle};
use super::pyyaml::{self, YamlStyle};
use super::scope::{self, json_to_value, note, unsupported_error};

/// Python-style argument binding: positional first, then keywords.
pub struct Bound {
    values: Vec<Option<Value>>,
}

impl Bound {
    pub fn get(&self, i: usize) -> Option<&Value> {
        self.values.get(i).and_then(|v| v.as_ref())
    }

    pub fn bool_or(&self, i: usize, default: bool) -> bool {
        self.get(i).map(|v| if v.is_none() { default } else { v.is_true() }).unwrap_or(default)
    }

    pub fn str_or(&self, i: usize, default: &str) -> String {
        match self.get(i) {
            Some(v) if !v.is_none() => pyfmt::to_python_str_keep_none(v),
            _ => default.to_string(),
        }
    }

    pub fn int(&self, i: usize) -> Result<Option<i64>, Error> {
        match self.get(i) {
            None => Ok(None),
            Some(v) if v.is_none() => Ok(None),
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .map(Some)
                .ok_or_else(|| invalid(format!("expected an integer, got {}", pyfmt::to_python_repr(v)))),
        }
    }
}

/// Splits trailing keyword arguments off `args`.
pub fn split_kwargs(args: &[Value]) -> (Vec<Value>, Vec<(String, Value)>) {
    match args.last() {
        Some(last) if last.is_kwargs() => {
            let mut kw = Vec::new();
            if let Ok(keys) = last.try_iter() {
                for k in keys {
                    let v = last.get_item(&k).unwrap_or_default();
                    kw.push((k.as_str().unwrap_or_default().to_string(), v));
                }
            }
            (args[..args.len() - 1].to_vec(), kw)
        }
        _ => (args.to_vec(), Vec::new()),
    }
}

/// Binds `args` to `params` as Python would, naming `func` in errors.
pub fn bind(func: &str, args: &[Value], params: &[&str]) -> Result<Bound, Error> {
    let (pos, kw) = split_kwargs(args);
    if pos.len() > params.len() {
        return Err(invalid(format!("{func}() takes at most {} arguments ({} given)", params.len(), pos.len())));
    }
    let mut values: Vec<Option<Value>> = vec![None; params.len()];
    for (i, v) in pos.into_iter().enumerate() {
        values[i] = Some(v);
    }
    for (k, v) in kw {
        match params.iter().position(|p| *p == k) {
            Some(i) if values[i].is_none() => values[i] = Some(v),
            Some(_) => return Err(invalid(format!("{func}() got multiple values for argument '{k}'"))),
            None => return Err(invalid(format!("{func}() got an unexpected keyword argument '{k}'"))),
        }
    }
    Ok(Bound { values })
}

/// `value[key]` when it exists (minijinja's own helper is crate-private).
pub fn get_opt(v: &Value, key: &Value) -> Option<Value> {
    v.get_item(key).ok().filter(|x| !x.is_undefined())
}

pub fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Python `str(value)` for a filter input; undefined fails with its name.
pub fn text_of(state: &State, v: &Value) -> Result<String, Error> {
    if v.is_undefined() {
        StringInput::new(state, v)?;
    }
    if let Some(what) = scope::unknown_of(v) {
        return Err(scope::unknown_error(state, what));
    }
    Ok(pyfmt::to_python_str_keep_none(v))
}

/// Fails (with the name) on undefined and on runtime-only values.
pub fn require(state: &State, v: &Value) -> Result<(), Error> {
    if v.is_undefined() {
        StringInput::new(state, v)?;
    }
    if let Some(what) = scope::unknown_of(v) {
        return Err(scope::unknown_error(state, what));
    }
    Ok(())
}

fn items_of(state: &State, v: &Value) -> Result<Vec<Value>, Error> {
    require(state, v)?;
    Ok(v.try_iter()?.collect())
}

fn is_mapping(v: &Value) -> bool {
    v.kind() == ValueKind::Map
}

fn is_list(v: &Value) -> bool {
    matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable)
}

type FilterFn = fn(&State, Value, Rest<ValueOrKwargs>) -> Result<Value, Error>;

pub fn register(env: &mut Environment<'static>) {
    let filters: &[(&str, FilterFn)] = &[
        ("default", default),
        ("d", default),
        ("urlencode", urlencode),
        ("truncate", truncate),
        ("bool", bool_filter),
        ("int", int_filter),
        ("float", float_filter),
        ("string", string_filter),
        ("join", join),
        ("to_json", to_json),
        ("to_nice_json", to_nice_json),
        ("to_yaml", to_yaml),
        ("to_nice_yaml", to_nice_yaml),
        ("from_json", from_json),
        ("from_yaml", from_yaml),
        ("from_yaml_all", from_yaml_all),
        ("regex_replace", regex_replace),
        ("regex_search", regex_search),
        ("regex_findall", regex_findall),
        ("regex_escape", regex_escape),
        ("basename", basename),
        ("dirname", dirname),
        ("splitext", splitext),
        ("normpath", normpath),
        ("path_join", path_join),
        ("expanduser", expanduser),
        ("quote", quote),
        ("b64encode", b64encode),
        ("b64decode", b64decode),
        ("combine", combine),
        ("dict2items", dict2items),
        ("items2dict", items2dict),
        ("flatten", flatten),
        ("ternary", ternary),
        ("mandatory", mandatory),
        ("version_compare", version_compare_filter),
        ("zip", zip),
        ("zip_longest", zip_longest),
        ("product", product),
        ("permutations", permutations),
        ("combinations", combinations),
        ("hash", hash),
        ("checksum", sha1_filter),
        ("sha1", sha1_filter),
        ("urlsplit", urlsplit),
        ("comment", comment),
        ("indent", indent),
        ("replace", replace),
        ("trim", trim),
        ("center", center),
        ("round", round),
        ("type_debug", type_debug),
        ("to_uuid", to_uuid),
        ("extract", extract),
        ("subelements", subelements),
        ("intersect", intersect),
        ("difference", difference),
        ("symmetric_difference", symmetric_difference),
        ("union", union),
        ("pow", pow),
        ("root", root),
        ("log", log),
    ];
    for (name, f) in filters {
        env.add_filter(*name, *f);
    }
    // Known Ansible filters that need the controller, the clock, randomness
    // or a library this tool does not have.
    for name in [
        "password_hash",
        "random",
        "shuffle",
        "strftime",
        "to_datetime",
        "vault",
        "unvault",
        "realpath",
        "relpath",
        "expandvars",
        "fileglob",
        "human_readable",
        "human_to_bytes",
        "win_basename",
        "win_dirname",
        "win_splitdrive",
        "commonpath",
        "rekey_on_member",
        // No MD5 implementation among the project's dependencies.
        "md5",
    ] {
        env.add_filter(name, move |state: &State, _v: Value, _a: Rest<ValueOrKwargs>| -> Result<Value, Error> {
            Err(unsupported_error(state, &format!("filter `{name}`")))
        });
    }
}

// ---- type conversion -------------------------------------------------------

/// Ansible's `default(default_value='', boolean=False)`: only an undefined
/// value (or a falsy one with `boolean`) is replaced; `None` is a value.
fn default(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let b = bind("default", &args, &["default_value", "boolean"])?;
    let fallback = b.get(0).cloned().unwrap_or_else(|| Value::from(""));
    if let Some(flag) = b.get(1)
        && flag.kind() != ValueKind::Bool
    {
        return Err(invalid("the 'boolean' argument of default must be a bool"));
    }
    if let Some(what) = scope::unknown_of(&v)
        && scope::default_over_runtime_fact(state, what, &fallback)
    {
        return Ok(fallback);
    }
    if v.is_undefined() || (b.bool_or(1, false) && !v.is_true()) {
        return Ok(fallback);
    }
    Ok(v)
}

/// Ansible `bool`: yes/on/true/1 (any case) are true, no/off/false/0 false;
/// anything else is `value == 1` with a deprecation warning in Ansible.
fn bool_filter(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    require(state, &v)?;
    let check: Option<String> = match v.kind() {
        ValueKind::String => Some(v.as_str().unwrap_or_default().to_lowercase()),
        ValueKind::Bool => Some(if v.is_true() { "true".into() } else { "false".into() }),
        ValueKind::Number if v.is_integer() => Some(v.to_string()),
        _ => None,
    };
    if let Some(c) = &check {
        if ["yes", "on", "true", "1"].contains(&c.as_str()) {
            return Ok(Value::from(true));
        }
        if ["no", "off", "false", "0"].contains(&c.as_str()) {
            return Ok(Value::from(false));
        }
    }
    let result = match v.kind() {
        ValueKind::Number => f64::try_from(v.clone()).map(|f| f == 1.0).unwrap_or(false),
        _ => false,
    };
    note(state, format!("`bool` coerced {} to {}", pyfmt::to_python_repr(&v), if result { "True" } else { "False" }));
    Ok(Value::from(result))
}

/// Python `int(text, base)`: optional sign, underscores between digits,
/// `0x`/`0o`/`0b` prefixes when they match the base (or base 0).
fn parse_python_int(s: &str, base: u32) -> Option<i128> {
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let lower = t.to_ascii_lowercase();
    let (digits, base) = match base {
        16 if lower.starts_with("0x") => (&t[2..], 16),
        8 if lower.starts_with("0o") => (&t[2..], 8),
        2 if lower.starts_with("0b") => (&t[2..], 2),
        0 if lower.starts_with("0x") => (&t[2..], 16),
        0 if lower.starts_with("0o") => (&t[2..], 8),
        0 if lower.starts_with("0b") => (&t[2..], 2),
        0 => (t, 10),
        b => (t, b),
    };
    let digits = digits.strip_prefix('_').unwrap_or(digits);
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let n = i128::from_str_radix(&clean, base).ok()?;
    Some(if neg { -n } else { n })
}

/// Python `float(text)`.
fn parse_python_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => return Some(if lower.starts_with('-') { f64::NEG_INFINITY } else { f64::INFINITY }),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if t.contains("__") || t.starts_with('_') || t.ends_with('_') {
        return None;
    }
    let clean: String = t.chars().filter(|c| *c != '_').collect();
    if clean.is_empty() || !clean.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c)) {
        return None;
    }
    clean.parse::<f64>().ok()
}

fn int_value(n: i128) -> Value {
    match i64::try_from(n) {
        Ok(i) => Value::from(i),
        Err(_) => Value::from(n),
    }
}

/// Jinja `int(value, default=0, base=10)`.
fn int_filter(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    require(state, &v)?;
    let b = bind("int", &args, &["default", "base"])?;
    let default = b.get(0).cloned().unwrap_or_else(|| Value::from(0));
    let base = b.int(1)?.unwrap_or(10);
    Ok(match v.kind() {
        ValueKind::Bool => Value::from(i64::from(v.is_true())),
        ValueKind::Number if v.is_integer() => v,
        ValueKind::Number => match f64::try_from(v.clone()) {
            Ok(f) if f.is_finite() => int_value(f.trunc() as i128),
            _ => default,
        },
        ValueKind::String => {
            let s = v.as_str().unwrap_or_default();
            match parse_python_int(s, base as u32) {
                Some(n) => int_value(n),
                None => match parse_python_float(s) {
                    Some(f) if f.is_finite() => int_value(f.trunc() as i128),
                    _ => default,
                },
            }
        }
        _ => default,
    })
}

/// Jinja `float(value, default=0.0)`.
fn float_filter(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    require(state, &v)?;
    let b = bind("float", &args, &["default"])?;
    let default = b.get(0).cloned().unwrap_or_else(|| Value::from(0.0));
    Ok(match v.kind() {
        ValueKind::Bool => Value::from(if v.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(v.clone()).map(Value::from).unwrap_or(default),
        ValueKind::String => parse_python_float(v.as_str().unwrap_or_default()).map(Value::from).unwrap_or(default),
        _ => default,
    })
}

/// Python `str()`; `None` prints as `None` here.
fn string_filter(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    Ok(Value::from(text_of(state, &v)?))
}

/// Jinja `join(d='', attribute=None)` with Python's `str()` of the items.
fn join(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let b = bind("join", &args, &["d", "attribute"])?;
    let sep = b.str_or(0, "");
    let attr = b.get(1).cloned();
    let mut parts = Vec::new();
    for item in items_of(state, &v)? {
        let item = match &attr {
            Some(a) => item.get_item(a).unwrap_or_default(),
            None => item,
        };
        parts.push(text_of(state, &item)?);
    }
    Ok(Value::from(parts.join(&sep)))
}

// ---- JSON and YAML ---------------------------------------------------------

const JSON_PARAMS: &[&str] =
    &["indent", "sort_keys", "ensure_ascii", "separators", "profile", "vault_to_text", "preprocess_unsafe"];

/// `indent`, `sort_keys`, `ensure_ascii` (positions 0, 1, 2 of `JSON_PARAMS`).
fn json_style(b: &Bound, default_indent: Option<usize>, default_sort: bool) -> Result<JsonStyle, Error> {
    let indent = match b.int(0)? {
        Some(n) => Some(bounded(n, "indent")?),
        None => default_indent,
    };
    Ok(JsonStyle { indent, sort_keys: b.bool_or(1, default_sort), ensure_ascii: b.bool_or(2, true) })
}

/// A width or count from a template, refused when absurd (it would only
/// exhaust memory).
fn bounded(n: i64, what: &str) -> Result<usize, Error> {
    const MAX: i64 = 10_000;
    if n > MAX {
        return Err(invalid(format!("{what} {n} is larger than {MAX}")));
    }
    Ok(n.max(0) as usize)
}

fn to_json(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    require(state, &v)?;
    let b = bind("to_json", &args, JSON_PARAMS)?;
    let style = json_style(&b, None, false)?;
    check_serialisable(state, &v)?;
    pyfmt::json_dumps(&v, style).map(Value::from).map_err(invalid)
}

fn to_nice_json(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    require(state, &v)?;
    let b = bind("to_nice_json", &args, JSON_PARAMS)?;
    let style = json_style(&b, Some(4), true)?;
    check_serialisable(state, &v)?;
    pyfmt::json_dumps(&v, style).map(Value::from).map_err(invalid)
}

/// Serialising a value that holds runtime-only parts is unknown, not "null".
fn check_serialisable(state: &State, v: &Value) -> Result<(), Error> {
    if let Some(what) = scope::unknown_of(v) {
        return Err(scope::unknown_error(state, what));
    }
    if v.is_undefined() {
        StringInput::new(state, v)?;
    }
    if matches!(v.kind(), ValueKind::Seq | ValueKind::Map | ValueKind::Iterable) {
        for key in v.try_iter()? {
            let item = if v.kind() == ValueKind::Map { v.get_item(&key)? } else { key };
            check_serialisable(state, &item)?;
        }
    }
    Ok(())
}

fn yaml_style(b: &Bound, base: YamlStyle) -> Result<YamlStyle, Error> {
    let mut style = base;
    if let Some(n) = b.int(0)? {
        style.indent = bounded(n, "indent")?.max(1);
    }
    if let Some(v) = b.get(1) {
        style.default_flow_style = if v.is_none() { None } else { Some(v.is_true()) };
    }
    if let Some(n) = b.int(2)? {
        style.width = bounded(n, "width")?.max(1);
    }
    style.sort_keys = b.bool_or(3, true);
    style.explicit_start = b.bool_or(4, false);
    Ok(style)
}

const YAML_PARAMS: &[&str] = &["indent", "default_flow_style", "width", "sort_keys", "explicit_start", "allow_unicode"];

fn to_yaml(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    require(state, &v)?;
    let b = bind("to_yaml", &args, YAML_PARAMS)?;
    check_serialisable(state, &v)?;
    pyyaml::dump(&v, yaml_style(&b, YamlStyle::TO_YAML)?).map(Value::from).map_err(invalid)
}

fn to_nice_yaml(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    require(state, &v)?;
    let b = bind("to_nice_yaml", &args, YAML_PARAMS)?;
    check_serialisable(state, &v)?;
    let mut base = YamlStyle::TO_NICE_YAML;
    if b.get(1).is_none() {
        base.default_flow_style = Some(false);
    }
    pyyaml::dump(&v, yaml_style(&b, base)?).map(Value::from).map_err(invalid)
}

fn from_json(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let text = text_of(state, &v)?;
    let parsed: serde_json::Value = serde_json::from_str(&text).map_err(|e| invalid(format!("from_json: {e}")))?;
    Ok(json_to_value(&parsed))
}

fn from_yaml(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    require(state, &v)?;
    if v.is_none() {
        return Ok(Value::from(()));
    }
    if v.kind() != ValueKind::String {
        return Ok(v);
    }
    let docs =
        crate::source::yaml::parse(v.as_str().unwrap_or_default()).map_err(|e| invalid(format!("from_yaml: {e}")))?;
    Ok(docs.docs.first().map(|d| json_to_value(&d.to_json())).unwrap_or_else(|| Value::from(())))
}

fn from_yaml_all(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    require(state, &v)?;
    if v.is_none() {
        return Ok(Value::from(Vec::<Value>::new()));
    }
    let docs = crate::source::yaml::parse(&text_of(state, &v)?).map_err(|e| invalid(format!("from_yaml_all: {e}")))?;
    Ok(Value::from(docs.docs.iter().map(|d| json_to_value(&d.to_json())).collect::<Vec<_>>()))
}

// ---- regular expressions ---------------------------------------------------

/// Compiles a Python `re` pattern. Look-around and back-references have no
/// equivalent in Rust's regex engine: those are "unsupported", not errors.
pub fn py_regex(state: &State, pattern: &str, ignorecase: bool, multiline: bool) -> Result<Regex, Error> {
    // Python's `\Z` is the regex crate's `\z`; `(?P<name>...)` is the same.
    let translated = pattern.replace("\\Z", "\\z");
    let mut builder = regex::RegexBuilder::new(&translated);
    builder.case_insensitive(ignorecase).multi_line(multiline);
    builder.build().map_err(|e| {
        let lookaround = ["(?=", "(?!", "(?<=", "(?<!", "(?P="].iter().any(|p| pattern.contains(p));
        let backref = Regex::new(r"\\[1-9]").map(|r| r.is_match(pattern)).unwrap_or(false);
        if lookaround || backref {
            unsupported_error(state, &format!("regular expression {pattern:?} (look-around or back-reference)"))
        } else {
            invalid(format!("invalid regular expression {pattern:?}: {e}"))
        }
    })
}

/// Python `re.sub` replacement template to the regex crate's syntax.
fn py_replacement(repl: &str) -> Result<String, Error> {
    let mut out = String::with_capacity(repl.len());
    let chars: Vec<char> = repl.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '$' {
            out.push_str("$$");
            i += 1;
            continue;
        }
        if c != '\\' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let d = chars[i + 1];
        match d {
            '1'..='9' => {
                let mut j = i + 1;
                let mut num = String::new();
                while j < chars.len() && chars[j].is_ascii_digit() && num.len() < 2 {
                    num.push(chars[j]);
                    j += 1;
                }
                out.push_str(&format!("${{{num}}}"));
                i = j;
            }
            '0' => {
                out.push('\0');
                i += 2;
            }
            'g' => {
                let rest: String = chars[i + 2..].iter().collect();
                let Some(inner) = rest.strip_prefix('<').and_then(|r| r.split_once('>')) else {
                    return Err(invalid("bad escape \\g in replacement"));
                };
                out.push_str(&format!("${{{}}}", inner.0));
                i += 2 + 1 + inner.0.chars().count() + 1;
            }
            'n' => {
                out.push('\n');
                i += 2;
            }
            't' => {
                out.push('\t');
                i += 2;
            }
            'r' => {
                out.push('\r');
                i += 2;
            }
            'f' => {
                out.push('\x0c');
                i += 2;
            }
            'v' => {
                out.push('\x0b');
                i += 2;
            }
            'a' => {
                out.push('\x07');
                i += 2;
            }
            'b' => {
                out.push('\x08');
                i += 2;
            }
            '\\' => {
                out.push('\\');
                i += 2;
            }
            d if d.is_ascii_alphabetic() => return Err(invalid(format!("bad escape \\{d} in replacement"))),
            d => {
                out.push('\\');
                out.push(d);
                i += 2;
            }
        }
    }
    Ok(out)
}

fn regex_replace(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let text = text_of(state, &v)?;
    let params = ["pattern", "replacement", "ignorecase", "multiline", "count", "mandatory_count"];
    let b = bind("regex_replace", &args, &params)?;
    let re = py_regex(state, &b.str_or(0, ""), b.bool_or(2, false), b.bool_or(3, false))?;
    let repl = py_replacement(&b.str_or(1, ""))?;
    let count = b.int(4)?.unwrap_or(0).max(0) as usize;
    let subs = if count == 0 { re.find_iter(&text).count() } else { re.find_iter(&text).count().min(count) };
    if let Some(want) = b.int(5)?
        && want != 0
        && want as usize != subs
    {
        return Err(invalid(format!("'{}' should match {want} times, but matches {subs} times", b.str_or(0, ""))));
    }
    Ok(Value::from(re.replacen(&text, count, repl.as_str()).into_owned()))
}

fn group_value(caps: &regex::Captures<'_>, i: usize) -> Value {
    caps.get(i).map(|m| Value::from(m.as_str())).unwrap_or_else(|| Value::from(()))
}

fn regex_search(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let text = text_of(state, &v)?;
    let (pos, kw) = split_kwargs(&args);
    let Some(pattern) = pos.first() else { return Err(invalid("regex_search() needs a pattern")) };
    let pattern = text_of(state, pattern)?;
    let mut ignorecase = false;
    let mut multiline = false;
    for (k, val) in &kw {
        match k.as_str() {
            "ignorecase" => ignorecase = val.is_true(),
            "multiline" => multiline = val.is_true(),
            other => return Err(invalid(format!("regex_search() got an unexpected keyword argument '{other}'"))),
        }
    }
    let re = py_regex(state, &pattern, ignorecase, multiline)?;
    enum Group {
        Index(usize),
        Name(String),
    }
    let mut groups = Vec::new();
    for g in &pos[1..] {
        let g = text_of(state, g)?;
        if let Some(name) = g.strip_prefix("\\g<").and_then(|r| r.strip_suffix('>')) {
            groups.push(match name.parse::<usize>() {
                Ok(i) => Group::Index(i),
                Err(_) => Group::Name(name.to_string()),
            });
        } else if let Some(num) = g.strip_prefix('\\').and_then(|r| r.parse::<usize>().ok()) {
            groups.push(Group::Index(num));
        } else {
            return Err(invalid("regex_search(): Unknown argument"));
        }
    }
    let Some(caps) = re.captures(&text) else { return Ok(Value::from(())) };
    if groups.is_empty() {
        return Ok(group_value(&caps, 0));
    }
    let mut out = Vec::new();
    for g in groups {
        out.push(match g {
            Group::Index(i) if i < caps.len() => group_value(&caps, i),
            Group::Name(n) if re.capture_names().flatten().any(|x| x == n) => {
                caps.name(&n).map(|m| Value::from(m.as_str())).unwrap_or_else(|| Value::from(()))
            }
            _ => return Err(invalid("regex_search(): no such group")),
        });
    }
    Ok(Value::from(out))
}

fn regex_findall(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let text = text_of(state, &v)?;
    let b = bind("regex_findall", &args, &["regex", "multiline", "ignorecase"])?;
    let re = py_regex(state, &b.str_or(0, ""), b.bool_or(2, false), b.bool_or(1, false))?;
    let ngroups = re.captures_len() - 1;
    let mut out = Vec::new();
    for caps in re.captures_iter(&text) {
        let text_of_group = |i: usize| Value::from(caps.get(i).map(|m| m.as_str()).unwrap_or(""));
        out.push(match ngroups {
            0 => text_of_group(0),
            1 => text_of_group(1),
            n => Value::from((1..=n).map(text_of_group).collect::<Vec<_>>()),
        });
    }
    Ok(Value::from(out))
}

/// Python 3.7+ `re.escape`.
fn regex_escape(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let text = text_of(state, &v)?;
    let b = bind("regex_escape", &args, &["re_type"])?;
    match b.str_or(0, "python").as_str() {
        "python" => {
            let mut out = String::new();
            for c in text.chars() {
                if "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c".contains(c) {
                    out.push('\\');
                }
                out.push(c);
            }
            Ok(Value::from(out))
        }
        "posix_basic" => {
            let mut out = String::new();
            for c in text.chars() {
                if "].[^$*\\".contains(c) {
                    out.push('\\');
                }
                out.push(c);
            }
            Ok(Value::from(out))
        }
        other => Err(invalid(format!("Invalid regex type ({other})"))),
    }
}

// ---- paths -----------------------------------------------------------------

fn basename(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let p = text_of(state, &v)?;
    Ok(Value::from(p.rsplit('/').next().unwrap_or_default()))
}

/// `posixpath.dirname`.
pub fn py_dirname(p: &str) -> String {
    let i = p.rfind('/').map(|i| i + 1).unwrap_or(0);
    let head = &p[..i];
    if !head.is_empty() && head.chars().any(|c| c != '/') {
        head.trim_end_matches('/').to_string()
    } else {
        head.to_string()
    }
}

fn dirname(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    Ok(Value::from(py_dirname(&text_of(state, &v)?)))
}

/// `posixpath.splitext`: a leading dot of the file name is not an extension.
fn splitext(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let p = text_of(state, &v)?;
    let sep = p.rfind('/').map(|i| i + 1).unwrap_or(0);
    let name = &p[sep..];
    let (root, ext) = match name.rfind('.') {
        Some(dot) if name[..dot].chars().any(|c| c != '.') => {
            (format!("{}{}", &p[..sep], &name[..dot]), name[dot..].to_string())
        }
        _ => (p.clone(), String::new()),
    };
    Ok(Value::from(vec![Value::from(root), Value::from(ext)]))
}

/// `posixpath.normpath`.
fn normpath(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let p = text_of(state, &v)?;
    if p.is_empty() {
        return Ok(Value::from("."));
    }
    let initial = if p.starts_with("//") && !p.starts_with("///") {
        2
    } else if p.starts_with('/') {
        1
    } else {
        0
    };
    let mut parts: Vec<&str> = Vec::new();
    for comp in p.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if initial == 0 && (parts.is_empty() || parts.last() == Some(&"..")) {
                    parts.push("..");
                } else if !parts.is_empty() {
                    parts.pop();
                }
            }
            c => parts.push(c),
        }
    }
    let joined = format!("{}{}", "/".repeat(initial), parts.join("/"));
    Ok(Value::from(if joined.is_empty() { ".".to_string() } else { joined }))
}

fn path_join(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let parts: Vec<String> = if v.kind() == ValueKind::String {
        vec![v.as_str().unwrap_or_default().to_string()]
    } else {
        items_of(state, &v)?.iter().map(|p| text_of(state, p)).collect::<Result<_, _>>()?
    };
    let mut out = String::new();
    for p in parts {
        if p.starts_with('/') {
            out = p;
        } else if out.is_empty() || out.ends_with('/') {
            out.push_str(&p);
        } else {
            out.push('/');
            out.push_str(&p);
        }
    }
    Ok(Value::from(out))
}

/// `~` means the home of whoever ran Ansible: left as is, with a note.
fn expanduser(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let p = text_of(state, &v)?;
    if p.starts_with('~') {
        note(state, format!("`expanduser` left {p:?} unexpanded: it depends on the machine that ran Ansible"));
    }
    Ok(Value::from(p))
}

/// Python `shlex.quote`.
pub fn shell_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c)) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

fn quote(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    require(state, &v)?;
    let s = if v.is_none() { String::new() } else { text_of(state, &v)? };
    Ok(Value::from(shell_quote(&s)))
}

fn b64_engine(urlsafe: bool) -> base64::engine::GeneralPurpose {
    if urlsafe { base64::engine::general_purpose::URL_SAFE } else { base64::engine::general_purpose::STANDARD }
}

fn b64encode(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let text = text_of(state, &v)?;
    let b = bind("b64encode", &args, &["encoding", "urlsafe"])?;
    let enc = b.str_or(0, "utf-8").to_lowercase();
    if !matches!(enc.as_str(), "utf-8" | "utf8") {
        return Err(unsupported_error(state, &format!("b64encode with encoding {enc:?}")));
    }
    Ok(Value::from(b64_engine(b.bool_or(1, false)).encode(text.as_bytes())))
}

/// Python `base64.b64decode`: characters outside the alphabet are dropped,
/// padding is required.
fn b64decode(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let text = text_of(state, &v)?;
    let b = bind("b64decode", &args, &["encoding", "urlsafe"])?;
    let urlsafe = b.bool_or(1, false);
    let enc = b.str_or(0, "utf-8").to_lowercase();
    if !matches!(enc.as_str(), "utf-8" | "utf8") {
        return Err(unsupported_error(state, &format!("b64decode with encoding {enc:?}")));
    }
    let (a, bb) = if urlsafe { ('-', '_') } else { ('+', '/') };
    let clean: String =
        text.chars().filter(|c| c.is_ascii_alphanumeric() || *c == a || *c == bb || *c == '=').collect();
    let bytes = b64_engine(urlsafe).decode(clean.as_bytes()).map_err(|e| invalid(format!("b64decode: {e}")))?;
    String::from_utf8(bytes).map(Value::from).map_err(|_| invalid("b64decode: the decoded bytes are not UTF-8"))
}

// ---- data structures -------------------------------------------------------

fn dict_items(v: &Value) -> Result<Vec<(Value, Value)>, Error> {
    let mut out = Vec::new();
    for k in v.try_iter()? {
        let item = v.get_item(&k)?;
        out.push((k, item));
    }
    Ok(out)
}

fn merge_hash(x: &Value, y: &Value, recursive: bool, list_merge: &str) -> Result<Value, Error> {
    let mut out: Vec<(Value, Value)> = dict_items(x)?;
    for (k, yv) in dict_items(y)? {
        match out.iter_mut().find(|(ok, _)| *ok == k) {
            None => out.push((k, yv)),
            Some((_, xv)) => {
                if is_mapping(xv) && is_mapping(&yv) {
                    *xv = if recursive { merge_hash(xv, &yv, recursive, list_merge)? } else { yv };
                } else if is_list(xv) && is_list(&yv) {
                    let xs: Vec<Value> = xv.try_iter()?.collect();
                    let ys: Vec<Value> = yv.try_iter()?.collect();
                    *xv = Value::from(match list_merge {
                        "replace" => ys,
                        "keep" => xs,
                        "append" => xs.into_iter().chain(ys).collect(),
                        "prepend" => ys.into_iter().chain(xs).collect(),
                        "append_rp" => {
                            let kept: Vec<Value> = xs.into_iter().filter(|z| !ys.contains(z)).collect();
                            kept.into_iter().chain(ys).collect()
                        }
                        "prepend_rp" => {
                            let rest: Vec<Value> = xs.into_iter().filter(|z| !ys.contains(z)).collect();
                            ys.into_iter().chain(rest).collect()
                        }
                        _ => unreachable_list_merge()?,
                    });
                } else {
                    *xv = yv;
                }
            }
        }
    }
    Ok(Value::from_pairs(out))
}

fn unreachable_list_merge() -> Result<Vec<Value>, Error> {
    Err(invalid(
        "merge_hash: 'list_merge' argument can only be equal to 'replace', 'keep', 'append', 'prepend', \
         'append_rp' or 'prepend_rp'",
    ))
}

/// `combine(*dicts, recursive=False, list_merge='replace')`; lists of dicts
/// are flattened one level as in Ansible.
fn combine(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let (pos, kw) = split_kwargs(&args);
    let mut recursive = false;
    let mut list_merge = "replace".to_string();
    for (k, val) in &kw {
        match k.as_str() {
            "recursive" => recursive = val.is_true(),
            "list_merge" => list_merge = text_of(state, val)?,
            _ => return Err(invalid("'recursive' and 'list_merge' are the only valid keyword arguments")),
        }
    }
    if !["replace", "keep", "append", "prepend", "append_rp", "prepend_rp"].contains(&list_merge.as_str()) {
        unreachable_list_merge()?;
    }
    let mut dicts = Vec::new();
    for term in std::iter::once(v).chain(pos) {
        require(state, &term)?;
        if is_list(&term) {
            dicts.extend(term.try_iter()?);
        } else {
            dicts.push(term);
        }
    }
    let mut acc: Option<Value> = None;
    for d in dicts {
        require(state, &d)?;
        if !is_mapping(&d) {
            return Err(invalid(format!("failed to combine variables, expected dicts but got a {}", d.kind())));
        }
        acc = Some(match acc {
            None => d,
            Some(prev) => merge_hash(&prev, &d, recursive, &list_merge)?,
        });
    }
    Ok(acc.unwrap_or_else(|| Value::from_pairs(Vec::<(Value, Value)>::new())))
}

fn dict2items(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    require(state, &v)?;
    let b = bind("dict2items", &args, &["key_name", "value_name"])?;
    if !is_mapping(&v) {
        return Err(invalid(format!("dict2items requires a dictionary, got {} instead.", v.kind())));
    }
    let (kn, vn) = (b.str_or(0, "key"), b.str_or(1, "value"));
    let out: Vec<Value> =
        dict_items(&v)?.into_iter().map(|(k, val)| Value::from_pairs([(kn.clone(), k), (vn.clone(), val)])).collect();
    Ok(Value::from(out))
}

fn items2dict(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    require(state, &v)?;
    let b = bind("items2dict", &args, &["key_name", "value_name"])?;
    let (kn, vn) = (Value::from(b.str_or(0, "key")), Value::from(b.str_or(1, "value")));
    if !is_list(&v) {
        return Err(invalid(format!("items2dict requires a list, got {} instead.", v.kind())));
    }
    let mut map: Vec<(Value, Value)> = Vec::new();
    for item in v.try_iter()? {
        let (k, val) = (get_opt(&item, &kn), get_opt(&item, &vn));
        match (k, val) {
            (Some(k), Some(val)) => match map.iter_mut().find(|(old, _)| *old == k) {
                Some(slot) => slot.1 = val,
                None => map.push((k, val)),
            },
            _ => {
                return Err(invalid(format!(
                    "items2dict requires each dictionary in the list to contain the keys '{kn}' and '{vn}'"
                )));
            }
        }
    }
    Ok(Value::from_pairs(map))
}

fn flatten_into(out: &mut Vec<Value>, items: Vec<Value>, levels: Option<i64>, skip_nulls: bool) -> Result<(), Error> {
    for el in items {
        if skip_nulls && (el.is_none() || matches!(el.as_str(), Some("None") | Some("null"))) {
            continue;
        }
        if is_list(&el) {
            match levels {
                None => flatten_into(out, el.try_iter()?.collect(), None, skip_nulls)?,
                Some(l) if l >= 1 => flatten_into(out, el.try_iter()?.collect(), Some(l - 1), skip_nulls)?,
                Some(_) => out.push(el),
            }
        } else {
            out.push(el);
        }
    }
    Ok(())
}

fn flatten(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let b = bind("flatten", &args, &["levels", "skip_nulls"])?;
    let mut out = Vec::new();
    flatten_into(&mut out, items_of(state, &v)?, b.int(0)?, b.bool_or(1, true))?;
    Ok(Value::from(out))
}

fn ternary(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    require(state, &v)?;
    let b = bind("ternary", &args, &["true_val", "false_val", "none_val"])?;
    let pick = |i: usize| b.get(i).cloned().unwrap_or_else(|| Value::from(()));
    Ok(match b.get(2) {
        Some(none_val) if v.is_none() && !none_val.is_none() => none_val.clone(),
        _ if v.is_true() => pick(0),
        _ => pick(1),
    })
}

/// `mandatory(msg=None)`: undefined fails; with the variable's name when no
/// message is given (minijinja names the undefined expression).
fn mandatory(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let b = bind("mandatory", &args, &["msg"])?;
    if v.is_undefined() {
        if let Some(msg) = b.get(0).filter(|m| !m.is_none()) {
            let mut err = Error::new(ErrorKind::UndefinedError, format!("mandatory: {}", pyfmt::to_python_str(msg)));
            if let Err(named) = StringInput::new(state, &v) {
                err = err.with_source(named);
            }
            return Err(err);
        }
        StringInput::new(state, &v)?;
    }
    Ok(v)
}

/// The pre-2.5 filter form of the `version` test, removed in Ansible 2.9.
fn version_compare_filter(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    note(state, "the `version_compare` filter was removed in Ansible 2.9; evaluated as the `version` test".into());
    super::checks::version_test(state, v, args).map(Value::from)
}

fn zip(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let mut lists = vec![items_of(state, &v)?];
    for a in args.iter() {
        lists.push(items_of(state, a)?);
    }
    let n = lists.iter().map(Vec::len).min().unwrap_or(0);
    let row = |i: usize| Value::from(lists.iter().map(|l| l[i].clone()).collect::<Vec<_>>());
    Ok(Value::from((0..n).map(row).collect::<Vec<_>>()))
}

fn zip_longest(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let (pos, kw) = split_kwargs(&args);
    let mut fill = Value::from(());
    for (k, val) in kw {
        if k == "fillvalue" {
            fill = val;
        } else {
            return Err(invalid(format!("zip_longest() got an unexpected keyword argument '{k}'")));
        }
    }
    let mut lists = vec![items_of(state, &v)?];
    for a in &pos {
        lists.push(items_of(state, a)?);
    }
    let n = lists.iter().map(Vec::len).max().unwrap_or(0);
    let row =
        |i: usize| Value::from(lists.iter().map(|l| l.get(i).cloned().unwrap_or(fill.clone())).collect::<Vec<_>>());
    Ok(Value::from((0..n).map(row).collect::<Vec<_>>()))
}

fn product(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let (pos, kw) = split_kwargs(&args);
    let mut repeat = 1usize;
    for (k, val) in kw {
        if k == "repeat" {
            repeat = val.as_usize().ok_or_else(|| invalid("repeat must be a non-negative integer"))?;
            bounded(repeat as i64, "repeat")?;
        } else {
            return Err(invalid(format!("product() got an unexpected keyword argument '{k}'")));
        }
    }
    let mut pools = vec![items_of(state, &v)?];
    for a in &pos {
        pools.push(items_of(state, a)?);
    }
    let pools: Vec<Vec<Value>> = (0..repeat).flat_map(|_| pools.clone()).collect();
    let mut result: Vec<Vec<Value>> = vec![Vec::new()];
    for pool in &pools {
        let mut next = Vec::with_capacity(result.len() * pool.len());
        for prefix in &result {
            for item in pool {
                let mut p = prefix.clone();
                p.push(item.clone());
                next.push(p);
            }
        }
        result = next;
        state.consume_fuel(result.len() as u64)?;
    }
    Ok(Value::from(result.into_iter().map(Value::from).collect::<Vec<_>>()))
}

fn permutations(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let items = items_of(state, &v)?;
    let b = bind("permutations", &args, &["r"])?;
    let r = b.int(0)?.map(|r| r.max(0) as usize).unwrap_or(items.len());
    let mut out = Vec::new();
    fn rec(items: &[Value], r: usize, used: &mut Vec<bool>, cur: &mut Vec<Value>, out: &mut Vec<Value>) {
        if cur.len() == r {
            out.push(Value::from(cur.clone()));
            return;
        }
        for i in 0..items.len() {
            if !used[i] {
                used[i] = true;
                cur.push(items[i].clone());
                rec(items, r, used, cur, out);
                cur.pop();
                used[i] = false;
            }
        }
    }
    if r <= items.len() {
        rec(&items, r, &mut vec![false; items.len()], &mut Vec::new(), &mut out);
    }
    state.consume_fuel(out.len() as u64)?;
    Ok(Value::from(out))
}

fn combinations(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let items = items_of(state, &v)?;
    let b = bind("combinations", &args, &["r"])?;
    let r = b.int(0)?.ok_or_else(|| invalid("combinations() needs r"))?.max(0) as usize;
    let mut out = Vec::new();
    fn rec(items: &[Value], start: usize, r: usize, cur: &mut Vec<Value>, out: &mut Vec<Value>) {
        if cur.len() == r {
            out.push(Value::from(cur.clone()));
            return;
        }
        for i in start..items.len() {
            cur.push(items[i].clone());
            rec(items, i + 1, r, cur, out);
            cur.pop();
        }
    }
    rec(&items, 0, r, &mut Vec::new(), &mut out);
    state.consume_fuel(out.len() as u64)?;
    Ok(Value::from(out))
}

// ---- hashes ----------------------------------------------------------------

fn digest_hex(state: &State, algo: &str, data: &[u8]) -> Result<String, Error> {
    Ok(match algo {
        "sha1" => hex::encode(<sha1::Sha1 as sha1::Digest>::digest(data)),
        "sha224" => hex::encode(sha2::Sha224::digest(data)),
        "sha256" => hex::encode(sha2::Sha256::digest(data)),
        "sha384" => hex::encode(sha2::Sha384::digest(data)),
        "sha512" => hex::encode(sha2::Sha512::digest(data)),
        other => return Err(unsupported_error(state, &format!("hash type {other:?}"))),
    })
}

fn hash(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let text = text_of(state, &v)?;
    let b = bind("hash", &args, &["hashtype"])?;
    digest_hex(state, &b.str_or(0, "sha1"), text.as_bytes()).map(Value::from)
}

fn sha1_filter(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    digest_hex(state, "sha1", text_of(state, &v)?.as_bytes()).map(Value::from)
}

/// `to_uuid(namespace=...)`: UUID version 5 as Python's `uuid.uuid5`.
fn to_uuid(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let text = text_of(state, &v)?;
    let b = bind("to_uuid", &args, &["namespace"])?;
    let ns = b.str_or(0, "361E6D51-FAEC-444A-9079-341386DA8E2E");
    let ns_hex: String = ns.chars().filter(|c| *c != '-' && *c != '{' && *c != '}').collect();
    let ns_bytes = hex::decode(ns_hex.to_ascii_lowercase())
        .ok()
        .filter(|b| b.len() == 16)
        .ok_or_else(|| invalid(format!("Invalid value '{ns}' for 'namespace'")))?;
    let mut input = ns_bytes;
    input.extend_from_slice(text.as_bytes());
    let digest = <sha1::Sha1 as sha1::Digest>::digest(&input);
    let mut u = [0u8; 16];
    u.copy_from_slice(&digest[..16]);
    u[6] = (u[6] & 0x0f) | 0x50;
    u[8] = (u[8] & 0x3f) | 0x80;
    let h = hex::encode(u);
    Ok(Value::from(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])))
}

// ---- URLs ------------------------------------------------------------------

/// Python `urllib.parse.urlsplit`, with the attributes Ansible's `urlsplit` exposes.
fn urlsplit_parts(url: &str) -> Result<Vec<(&'static str, Value)>, String> {
    let mut rest = url;
    let mut scheme = String::new();
    if let Some(i) = rest.find(':') {
        let cand = &rest[..i];
        if cand.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && cand.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            scheme = cand.to_ascii_lowercase();
            rest = &rest[i + 1..];
        }
    }
    let mut netloc = "";
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = &after[..end];
        rest = &after[end..];
    }
    let (rest, fragment) = match rest.split_once('#') {
        Some((a, f)) => (a, f),
        None => (rest, ""),
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, q),
        None => (rest, ""),
    };
    let (userinfo, hostinfo) = match netloc.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, netloc),
    };
    let (username, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((n, p)) => (Value::from(n), Value::from(p)),
            None => (Value::from(u), Value::from(())),
        },
        None => (Value::from(()), Value::from(())),
    };
    let (host, port_text) = if let Some(h) = hostinfo.strip_prefix('[') {
        match h.split_once(']') {
            Some((h, p)) => (h.to_string(), p.strip_prefix(':').unwrap_or("")),
            None => (h.to_string(), ""),
        }
    } else {
        match hostinfo.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p),
            None => (hostinfo.to_string(), ""),
        }
    };
    let hostname = if host.is_empty() { Value::from(()) } else { Value::from(host.to_lowercase()) };
    let port = if port_text.is_empty() {
        Value::from(())
    } else {
        match port_text.parse::<u32>() {
            Ok(p) if p <= 65535 => Value::from(p),
            _ => return Err(format!("Port could not be cast to integer value as {port_text:?}")),
        }
    };
    Ok(vec![
        ("fragment", Value::from(fragment)),
        ("hostname", hostname),
        ("netloc", Value::from(netloc)),
        ("password", password),
        ("path", Value::from(path)),
        ("port", port),
        ("query", Value::from(query)),
        ("scheme", Value::from(scheme)),
        ("username", username),
    ])
}

fn urlsplit(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let url = text_of(state, &v)?;
    let b = bind("urlsplit", &args, &["query"])?;
    let parts = urlsplit_parts(&url).map_err(invalid)?;
    let query = b.str_or(0, "");
    if query.is_empty() {
        return Ok(Value::from_pairs(parts));
    }
    parts
        .into_iter()
        .find(|(k, _)| *k == query)
        .map(|(_, v)| v)
        .ok_or_else(|| invalid(format!("urlsplit: unknown URL component: {query}")))
}

// ---- text ------------------------------------------------------------------

/// Ansible's `comment(style='plain', **kw)`.
fn comment(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let text = text_of(state, &v)?;
    let (pos, kw) = split_kwargs(&args);
    let style = match pos.first() {
        Some(s) => text_of(state, s)?,
        None => "plain".into(),
    };
    let (beginning, decoration, end) = match style.as_str() {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        other => return Err(invalid(format!("Invalid style {other:?}."))),
    };
    let mut p: Vec<(&str, String)> = vec![
        ("newline", "\n".into()),
        ("beginning", beginning.into()),
        ("prefix", String::new()),
        ("prefix_count", "1".into()),
        ("decoration", decoration.into()),
        ("postfix", String::new()),
        ("postfix_count", "1".into()),
        ("end", end.into()),
    ];
    let prepostfix = kw
        .iter()
        .find(|(k, _)| k == "decoration")
        .map(|(_, v)| pyfmt::to_python_str(v))
        .unwrap_or_else(|| decoration.to_string());
    p[2].1 = prepostfix.trim_end().to_string();
    p[5].1 = prepostfix.trim_end().to_string();
    for (k, val) in &kw {
        match p.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = pyfmt::to_python_str(val),
            None => return Err(invalid(format!("comment() got an unexpected keyword argument '{k}'"))),
        }
    }
    let get = |name: &str| p.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let (newline, decoration) = (get("newline"), get("decoration"));
    let count = |name: &str| get(name).trim().parse::<usize>().unwrap_or(1);
    let mut out = String::new();
    if !get("beginning").is_empty() {
        out.push_str(&get("beginning"));
        out.push_str(&newline);
    }
    let prefix = get("prefix");
    if !prefix.is_empty() {
        let unit = if prefix != newline { format!("{prefix}{newline}") } else { newline.clone() };
        out.push_str(&unit.repeat(count("prefix_count")));
    }
    let body = format!("{decoration}{}", text.replace(&newline, &format!("{newline}{decoration}")));
    let body = body.replace(&format!("{decoration}{newline}"), &format!("{}{newline}", decoration.trim_end()));
    out.push_str(&body);
    let postfix = get("postfix");
    for _ in 0..count("postfix_count") {
        out.push_str(&newline);
        out.push_str(&postfix);
    }
    if !get("end").is_empty() {
        out.push_str(&newline);
        out.push_str(&get("end"));
    }
    Ok(Value::from(out))
}

/// Python `str.splitlines()`.
fn py_splitlines(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut iter = s.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let is_break =
            matches!(c, '\n' | '\r' | '\x0b' | '\x0c' | '\x1c'..='\x1e' | '\u{85}' | '\u{2028}' | '\u{2029}');
        if is_break {
            out.push(&s[start..i]);
            let mut next = i + c.len_utf8();
            if c == '\r'
                && let Some((_, '\n')) = iter.peek()
            {
                iter.next();
                next += 1;
            }
            start = next;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// Jinja `indent(width=4, first=False, blank=False)`.
fn indent(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let text = text_of(state, &v)?;
    let b = bind("indent", &args, &["width", "first", "blank"])?;
    let indention = match b.get(0) {
        Some(w) if w.kind() == ValueKind::String => w.as_str().unwrap_or_default().to_string(),
        _ => " ".repeat(bounded(b.int(0)?.unwrap_or(4), "width")?),
    };
    let s = format!("{text}\n");
    let lines = py_splitlines(&s);
    let mut rv = if b.bool_or(2, false) {
        lines.join(&format!("\n{indention}"))
    } else {
        let mut it = lines.into_iter();
        let mut rv = it.next().unwrap_or_default().to_string();
        let rest: Vec<String> =
            it.map(|l| if l.is_empty() { String::new() } else { format!("{indention}{l}") }).collect();
        if !rest.is_empty() {
            rv.push('\n');
            rv.push_str(&rest.join("\n"));
        }
        rv
    };
    if b.bool_or(1, false) {
        rv = format!("{indention}{rv}");
    }
    Ok(Value::from(rv))
}

/// Jinja `replace(old, new, count=None)`.
fn replace(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let text = text_of(state, &v)?;
    let b = bind("replace", &args, &["old", "new", "count"])?;
    let (old, new) = (b.str_or(0, ""), b.str_or(1, ""));
    Ok(Value::from(match b.int(2)? {
        Some(n) if n >= 0 => text.replacen(&old, &new, n as usize),
        _ => text.replace(&old, &new),
    }))
}

/// Jinja `trim(chars=None)`: Python `str.strip`.
fn trim(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let text = text_of(state, &v)?;
    let b = bind("trim", &args, &["chars"])?;
    Ok(Value::from(match b.get(0).filter(|c| !c.is_none()) {
        Some(chars) => {
            let chars: Vec<char> = pyfmt::to_python_str(chars).chars().collect();
            text.trim_matches(&chars[..]).to_string()
        }
        None => text.trim().to_string(),
    }))
}

/// Python `urllib.parse.quote(s, safe)`: UTF-8 bytes, `%XX` upper case.
fn url_quote(s: &str, safe: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        let c = b as char;
        if b.is_ascii_alphanumeric() || "_.-~".contains(c) || (b.is_ascii() && safe.contains(c)) {
            out.push(c);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Jinja `urlencode`: strings keep `/`; dicts and pair lists become a query
/// string with `+` for spaces.
fn urlencode(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    require(state, &v)?;
    let qs = |x: &Value| url_quote(&pyfmt::to_python_str_keep_none(x), "").replace("%20", "+");
    let pairs: Option<Vec<(Value, Value)>> = match v.kind() {
        ValueKind::Map => Some(dict_items(&v)?),
        ValueKind::Seq | ValueKind::Iterable => {
            let mut out = Vec::new();
            for item in v.try_iter()? {
                let parts: Vec<Value> = item.try_iter()?.collect();
                if parts.len() != 2 {
                    return Err(invalid("urlencode needs a string, a dict or a list of pairs"));
                }
                out.push((parts[0].clone(), parts[1].clone()));
            }
            Some(out)
        }
        _ => None,
    };
    Ok(Value::from(match pairs {
        Some(p) => p.iter().map(|(k, val)| format!("{}={}", qs(k), qs(val))).collect::<Vec<_>>().join("&"),
        None => url_quote(&text_of(state, &v)?, "/"),
    }))
}

/// Jinja `truncate(length=255, killwords=False, end='...', leeway=5)`.
fn truncate(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let s = text_of(state, &v)?;
    let b = bind("truncate", &args, &["length", "killwords", "end", "leeway"])?;
    let length = b.int(0)?.unwrap_or(255).max(0) as usize;
    let end = b.str_or(2, "...");
    let leeway = b.int(3)?.unwrap_or(5).max(0) as usize;
    let chars: Vec<char> = s.chars().collect();
    if length < end.chars().count() {
        return Err(invalid("expected length >= len(end)"));
    }
    if chars.len() <= length + leeway {
        return Ok(Value::from(s));
    }
    let head: String = chars[..length - end.chars().count()].iter().collect();
    if b.bool_or(1, false) {
        return Ok(Value::from(format!("{head}{end}")));
    }
    let cut = match head.rfind(' ') {
        Some(i) => head[..i].to_string(),
        None => head,
    };
    Ok(Value::from(format!("{cut}{end}")))
}

/// Python `str.center(width)`.
fn center(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let text = text_of(state, &v)?;
    let b = bind("center", &args, &["width"])?;
    let width = bounded(b.int(0)?.unwrap_or(80), "width")?;
    let len = text.chars().count();
    if width <= len {
        return Ok(Value::from(text));
    }
    let pad = width - len;
    let left = pad / 2 + (pad & width & 1);
    Ok(Value::from(format!("{}{text}{}", " ".repeat(left), " ".repeat(pad - left))))
}

/// Jinja `round(precision=0, method='common')`: Python's correctly rounded
/// `round()` (ties to even on the exact binary value), always a float.
fn round(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    require(state, &v)?;
    let b = bind("round", &args, &["precision", "method"])?;
    let precision = b.int(0)?.unwrap_or(0);
    let method = b.str_or(1, "common");
    if method == "common" && v.is_integer() {
        // Python's round() of an int is an int.
        if precision >= 0 {
            return Ok(v);
        }
        let n = i128::try_from(v.clone()).map_err(|_| invalid("round() needs a number"))?;
        let m = 10i128.pow(precision.saturating_neg().min(30) as u32);
        let (q, r) = (n.div_euclid(m), n.rem_euclid(m));
        let q = if r * 2 > m || (r * 2 == m && q % 2 != 0) { q + 1 } else { q };
        return Ok(int_value(q * m));
    }
    let x = f64::try_from(v.clone()).map_err(|_| invalid("round() needs a number"))?;
    let factor = 10f64.powi(precision as i32);
    let r = match method.as_str() {
        "common" => {
            if precision >= 0 {
                format!("{:.*}", precision as usize, x).parse::<f64>().unwrap_or(x)
            } else {
                let p = 10f64.powi(precision.saturating_neg().min(300) as i32);
                (x / p).round_ties_even() * p
            }
        }
        "floor" => (x * factor).floor() / factor,
        "ceil" => (x * factor).ceil() / factor,
        _ => return Err(invalid("method must be common, ceil or floor")),
    };
    Ok(Value::from(r))
}

/// Python's type name of the value.
fn type_debug(_state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    Ok(Value::from(match v.kind() {
        ValueKind::Undefined => "AnsibleUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if v.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }))
}

fn extract(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let b = bind("extract", &args, &["container", "morekeys"])?;
    let container = b.get(0).cloned().ok_or_else(|| invalid("extract() needs a container"))?;
    let mut keys = vec![v];
    match b.get(1) {
        Some(m) if is_list(m) => keys.extend(m.try_iter()?),
        Some(m) if !m.is_none() => keys.push(m.clone()),
        _ => {}
    }
    let mut cur = container;
    for k in keys {
        require(state, &cur)?;
        cur = get_opt(&cur, &k).unwrap_or(Value::UNDEFINED);
    }
    Ok(cur)
}

/// `subelements(obj, 'key.path', skip_missing=False)`.
pub fn subelements_of(state: &State, obj: &Value, path: &Value, skip_missing: bool) -> Result<Vec<Value>, Error> {
    require(state, obj)?;
    let elements: Vec<Value> = if is_mapping(obj) {
        dict_items(obj)?.into_iter().map(|(_, v)| v).collect()
    } else if is_list(obj) {
        obj.try_iter()?.collect()
    } else {
        return Err(invalid("obj must be a list of dicts or a nested dict"));
    };
    let keys: Vec<Value> = if is_list(path) {
        path.try_iter()?.collect()
    } else {
        text_of(state, path)?.split('.').map(Value::from).collect()
    };
    let mut out = Vec::new();
    for el in elements {
        let mut values = el.clone();
        let mut missing = false;
        for k in &keys {
            match get_opt(&values, k) {
                Some(v) => values = v,
                None if skip_missing => {
                    missing = true;
                    break;
                }
                None => {
                    return Err(invalid(format!("could not find {} key in iterated item", pyfmt::to_python_repr(k))));
                }
            }
        }
        if missing {
            continue;
        }
        if !is_list(&values) {
            return Err(invalid("the key should point to a list"));
        }
        for v in values.try_iter()? {
            out.push(Value::from(vec![el.clone(), v]));
        }
    }
    Ok(out)
}

fn subelements(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let b = bind("subelements", &args, &["subelements", "skip_missing"])?;
    let path = b.get(0).cloned().ok_or_else(|| invalid("subelements() needs a key"))?;
    subelements_of(state, &v, &path, b.bool_or(1, false)).map(Value::from)
}

// ---- sets ------------------------------------------------------------------
//
// Ansible builds these with Python sets, whose order for strings changes from
// run to run; here the order is that of the first list, then the second.

fn dedup(items: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn two_lists(state: &State, v: &Value, args: &[Value], name: &str) -> Result<(Vec<Value>, Vec<Value>), Error> {
    let other = args.first().ok_or_else(|| invalid(format!("{name}() needs a second list")))?;
    Ok((items_of(state, v)?, items_of(state, other)?))
}

fn intersect(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let (a, b) = two_lists(state, &v, &args, "intersect")?;
    Ok(Value::from(dedup(a.into_iter().filter(|x| b.contains(x)))))
}

fn difference(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let (a, b) = two_lists(state, &v, &args, "difference")?;
    Ok(Value::from(dedup(a.into_iter().filter(|x| !b.contains(x)))))
}

fn symmetric_difference(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let (a, b) = two_lists(state, &v, &args, "symmetric_difference")?;
    let left: Vec<Value> = a.iter().filter(|x| !b.contains(x)).cloned().collect();
    let right: Vec<Value> = b.iter().filter(|x| !a.contains(x)).cloned().collect();
    Ok(Value::from(dedup(left.into_iter().chain(right))))
}

fn union(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let (a, b) = two_lists(state, &v, &args, "union")?;
    Ok(Value::from(dedup(a.into_iter().chain(b))))
}

// ---- math ------------------------------------------------------------------

fn num(state: &State, v: &Value) -> Result<f64, Error> {
    require(state, v)?;
    f64::try_from(v.clone()).map_err(|_| invalid(format!("can only do math on numbers, got {}", v.kind())))
}

fn pow(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let y = args.first().ok_or_else(|| invalid("pow() needs an exponent"))?;
    Ok(Value::from(num(state, &v)?.powf(num(state, y)?)))
}

fn root(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let base = match args.first() {
        Some(b) => num(state, b)?,
        None => 2.0,
    };
    let x = num(state, &v)?;
    Ok(Value::from(if base == 2.0 { x.sqrt() } else { x.powf(1.0 / base) }))
}

fn log(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let x = num(state, &v)?;
    Ok(Value::from(match args.first() {
        Some(b) => {
            let b = num(state, b)?;
            if b == 10.0 { x.log10() } else { x.ln() / b.ln() }
        }
        None => x.ln(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_int_parsing() {
        assert_eq!(parse_python_int(" 7 ", 10), Some(7));
        assert_eq!(parse_python_int("0x1A", 16), Some(26));
        assert_eq!(parse_python_int("1_000", 10), Some(1000));
        assert_eq!(parse_python_int("12abc", 10), None);
        assert_eq!(parse_python_int("3.7", 10), None);
        assert_eq!(parse_python_float("3.7"), Some(3.7));
        assert_eq!(parse_python_float("1e3"), Some(1000.0));
        assert_eq!(parse_python_float("x"), None);
    }

    #[test]
    fn replacement_templates_translate() {
        assert_eq!(py_replacement(r"\2 \1").unwrap(), "${2} ${1}");
        assert_eq!(py_replacement(r"\g<k>-$").unwrap(), "${k}-$$");
        assert_eq!(py_replacement(r"a\.b").unwrap(), r"a\.b");
        assert!(py_replacement(r"\q").is_err());
    }

    #[test]
    fn shlex_quote() {
        assert_eq!(shell_quote("it's a $x"), "'it'\"'\"'s a $x'");
        assert_eq!(shell_quote("a_b-c.d/e:f@g%h+i=j,k"), "a_b-c.d/e:f@g%h+i=j,k");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn splitext_and_dirname_follow_posixpath() {
        assert_eq!(py_dirname("/etc/nginx/x.conf"), "/etc/nginx");
        assert_eq!(py_dirname("/x"), "/");
        assert_eq!(py_dirname("x"), "");
        assert_eq!(py_dirname("/a/b/"), "/a/b");
    }
}
