//! Ansible's Jinja tests (`x is version('1.2', '>=')`, `result is succeeded`).
//!
//! Ports of `ansible/plugins/test/core.py` and `mathstuff.py`, plus Jinja's
//! `sequence` (minijinja's differs). Tests on task results refuse runtime
//! values: a registered result of a task that did not run is unknown, not
//! "succeeded". Tests that look at the controller's file system are
//! unsupported.

use minijinja::value::{Rest, Value, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, State};

use super::filters::{bind, get_opt, invalid, py_regex, require, text_of};
use super::scope::{self, unsupported_error};
use super::version::{self, Op, Scheme};

type TestFn = fn(&State, Value, Rest<ValueOrKwargs>) -> Result<bool, Error>;

pub fn register(env: &mut Environment<'static>) {
    let tests: &[(&str, TestFn)] = &[
        ("match", match_test),
        ("search", search_test),
        ("regex", regex_test),
        ("version", version_test),
        ("version_compare", version_test),
        ("sequence", sequence),
        ("truthy", truthy),
        ("falsy", falsy),
        ("subset", subset),
        ("issubset", subset),
        ("superset", superset),
        ("issuperset", superset),
        ("contains", contains),
        ("any", any),
        ("all", all),
        ("failed", failed),
        ("failure", failed),
        ("succeeded", succeeded),
        ("success", succeeded),
        ("successful", succeeded),
        ("changed", changed),
        ("change", changed),
        ("skipped", skipped),
        ("skip", skipped),
        ("reachable", reachable),
        ("unreachable", unreachable),
        ("finished", finished),
        ("started", started),
        ("abs", is_abs),
        ("is_abs", is_abs),
        ("nan", nan),
        ("isnan", nan),
    ];
    for (name, f) in tests {
        env.add_test(*name, *f);
    }
    for name in [
        "file",
        "is_file",
        "directory",
        "is_dir",
        "link",
        "is_link",
        "exists",
        "link_exists",
        "same_file",
        "is_same_file",
        "mount",
        "is_mount",
        "vault_encrypted",
        "vaulted_file",
        "timedout",
        "uri",
        "url",
        "urn",
    ] {
        env.add_test(name, move |state: &State, _v: Value, _a: Rest<ValueOrKwargs>| -> Result<bool, Error> {
            Err(unsupported_error(state, &format!("test `{name}`")))
        });
    }
}

fn regex_impl(state: &State, v: Value, args: Rest<ValueOrKwargs>, default_type: &str) -> Result<bool, Error> {
    let args = args.into_values();
    let text = text_of(state, &v)?;
    let b = bind("regex", &args, &["pattern", "ignorecase", "multiline", "match_type"])?;
    let pattern = b.str_or(0, "");
    // Python's `re.match` anchors at the start, `fullmatch` at both ends.
    let pattern = match b.str_or(3, default_type).as_str() {
        "match" => format!(r"\A(?:{pattern})"),
        "fullmatch" => format!(r"\A(?:{pattern})\z"),
        _ => pattern,
    };
    let re = py_regex(state, &pattern, b.bool_or(1, false), b.bool_or(2, false))?;
    Ok(re.is_match(&text))
}

fn match_test(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    regex_impl(state, v, args, "match")
}

fn search_test(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    regex_impl(state, v, args, "search")
}

fn regex_test(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    regex_impl(state, v, args, "search")
}

/// `version(version, operator='eq', strict=None, version_type=None)`.
pub fn version_test(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    let args = args.into_values();
    let value = text_of(state, &v)?;
    let b = bind("version", &args, &["version", "operator", "strict", "version_type"])?;
    let other = match b.get(0) {
        Some(o) => text_of(state, o)?,
        None => String::new(),
    };
    let op_text = b.str_or(1, "eq");
    let op = Op::parse(&op_text).ok_or_else(|| invalid(format!("Invalid operator type ({op_text})")))?;
    let strict = b.get(2).filter(|s| !s.is_none());
    let vtype = b.get(3).filter(|s| !s.is_none());
    if strict.is_some() && vtype.is_some() {
        return Err(invalid("Cannot specify both 'strict' and 'version_type'"));
    }
    let scheme = match (strict, vtype) {
        (Some(s), _) if s.is_true() => Scheme::Strict,
        (_, Some(t)) => match Scheme::parse(&text_of(state, t)?) {
            Ok(s) => s,
            Err(msg) if msg.contains("pep440") => return Err(unsupported_error(state, "version_type='pep440'")),
            Err(msg) => return Err(invalid(msg)),
        },
        _ => Scheme::Loose,
    };
    version::compare(&value, &other, op, scheme).map_err(invalid)
}

/// Jinja `sequence`: anything with a length and items (strings, lists, dicts).
fn sequence(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    require(state, &v)?;
    Ok(matches!(v.kind(), ValueKind::String | ValueKind::Seq | ValueKind::Map | ValueKind::Bytes))
}

fn convert_bool(v: &Value) -> Value {
    if let Some(s) = v.as_str() {
        match s.to_lowercase().as_str() {
            "yes" | "on" | "1" | "true" | "y" | "t" => return Value::from(true),
            "no" | "off" | "0" | "false" | "n" | "f" => return Value::from(false),
            _ => {}
        }
    }
    if let Some(i) = v.as_i64()
        && (i == 0 || i == 1)
    {
        return Value::from(i == 1);
    }
    v.clone()
}

fn truthy(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    let args = args.into_values();
    require(state, &v)?;
    let b = bind("truthy", &args, &["convert_bool"])?;
    let v = if b.bool_or(0, false) { convert_bool(&v) } else { v };
    Ok(v.is_true())
}

fn falsy(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    truthy(state, v, args).map(|t| !t)
}

fn list_of(state: &State, v: &Value) -> Result<Vec<Value>, Error> {
    require(state, v)?;
    Ok(v.try_iter()?.collect())
}

fn subset(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    let args = args.into_values();
    let a = list_of(state, &v)?;
    let b = list_of(state, args.first().ok_or_else(|| invalid("subset needs a list"))?)?;
    Ok(a.iter().all(|x| b.contains(x)))
}

fn superset(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    let args = args.into_values();
    let a = list_of(state, &v)?;
    let b = list_of(state, args.first().ok_or_else(|| invalid("superset needs a list"))?)?;
    Ok(b.iter().all(|x| a.contains(x)))
}

fn contains(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    let args = args.into_values();
    let a = list_of(state, &v)?;
    let x = args.first().ok_or_else(|| invalid("contains needs a value"))?;
    Ok(a.contains(x))
}

fn any(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    Ok(list_of(state, &v)?.iter().any(Value::is_true))
}

fn all(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    Ok(list_of(state, &v)?.iter().all(Value::is_true))
}

/// A task result: must be a known mapping.
fn result_of(state: &State, v: &Value, test: &str) -> Result<Value, Error> {
    if let Some(what) = scope::unknown_of(v) {
        return Err(scope::unknown_error(state, what));
    }
    require(state, v)?;
    if v.kind() != ValueKind::Map {
        return Err(invalid(format!("The '{test}' test expects a dictionary")));
    }
    Ok(v.clone())
}

fn flag(r: &Value, key: &str) -> bool {
    get_opt(r, &Value::from(key)).is_some_and(|v| v.is_true())
}

fn failed(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    Ok(flag(&result_of(state, &v, "failed")?, "failed"))
}

fn succeeded(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    Ok(!flag(&result_of(state, &v, "succeeded")?, "failed"))
}

fn changed(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    let r = result_of(state, &v, "changed")?;
    if let Some(c) = get_opt(&r, &Value::from("changed")) {
        return Ok(c.is_true());
    }
    if let Some(results) = get_opt(&r, &Value::from("results"))
        && let Ok(items) = results.try_iter()
    {
        return Ok(items.into_iter().any(|i| flag(&i, "changed")));
    }
    Ok(false)
}

fn skipped(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    Ok(flag(&result_of(state, &v, "skipped")?, "skipped"))
}

fn unreachable(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    Ok(flag(&result_of(state, &v, "unreachable")?, "unreachable"))
}

fn reachable(state: &State, v: Value, args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    unreachable(state, v, args).map(|u| !u)
}

fn finished(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    let r = result_of(state, &v, "finished")?;
    Ok(get_opt(&r, &Value::from("finished")).map(|f| f.is_true()).unwrap_or(true))
}

fn started(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    let r = result_of(state, &v, "started")?;
    Ok(get_opt(&r, &Value::from("started")).map(|f| f.is_true()).unwrap_or(true))
}

fn is_abs(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    Ok(text_of(state, &v)?.starts_with('/'))
}

fn nan(state: &State, v: Value, _args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    require(state, &v)?;
    Ok(f64::try_from(v).map(f64::is_nan).unwrap_or(false))
}
