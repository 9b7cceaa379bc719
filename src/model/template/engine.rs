//! The minijinja environments, built once per process, and the compile cache.
//!
//! One environment per template dialect (delimiters, `trim_blocks`,
//! `lstrip_blocks`); in practice two or three exist. Each distinct template
//! source is compiled once and kept (minijinja's loader cache, keyed by the
//! source itself), each distinct expression likewise, up to a bound
//! ([`MAX_COMPILED`]) after which the cache starts over. Everything that varies
//! per evaluation (variables, lookups, the report) reaches filters through
//! the render context, never through the environment, so the environment is
//! shared by every [`Templar`](super::Templar) and every thread.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Expression, Output, State, UndefinedBehavior};

use super::preprocess::Delims;
use super::pyfmt;
use super::{checks, filters, lookups, scope};

/// Template names handed to minijinja are the source text behind this
/// prefix; anything else (`{% include 'x.j2' %}`) is a real file name.
const SOURCE_PREFIX: char = '\u{1}';

/// Instructions one evaluation may run before it is stopped (a runaway
/// `range()` in a loop must not hang the converter).
const FUEL: u64 = 50_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dialect {
    pub delims: Delims,
    pub trim_blocks: bool,
    pub lstrip_blocks: bool,
}

impl Dialect {
    /// Strings in playbooks and vars: Ansible's environment has `trim_blocks`.
    pub fn yaml() -> Dialect {
        Dialect { delims: Delims::default(), trim_blocks: true, lstrip_blocks: false }
    }

    /// [`Dialect::yaml`], built once.
    pub fn yaml_shared() -> &'static Dialect {
        static YAML: LazyLock<Dialect> = LazyLock::new(Dialect::yaml);
        &YAML
    }
}

/// How many distinct expressions, and distinct templates per dialect, stay
/// compiled. Beyond that the cache starts over: on a large repository most
/// sources are used by one role only, and keeping every compiled one cost
/// hundreds of megabytes; the few shared ones are compiled again.
const MAX_COMPILED: usize = 1024;

/// An environment whose template cache (minijinja keeps every template it
/// loads) is replaced by a fresh one after [`MAX_COMPILED`] distinct sources.
struct TemplateEnv {
    dialect: Dialect,
    env: Arc<Environment<'static>>,
    loaded: HashSet<u64>,
}

pub struct Engine {
    envs: Mutex<Vec<(Dialect, &'static Environment<'static>)>>,
    /// The environment of [`Dialect::yaml`], which nearly every evaluation uses.
    yaml_env: OnceLock<&'static Environment<'static>>,
    template_envs: Mutex<Vec<TemplateEnv>>,
    exprs: Mutex<HashMap<String, Arc<Expression<'static, 'static>>>>,
}

pub static ENGINE: LazyLock<Engine> = LazyLock::new(|| Engine {
    envs: Mutex::new(Vec::new()),
    yaml_env: OnceLock::new(),
    template_envs: Mutex::new(Vec::new()),
    exprs: Mutex::new(HashMap::new()),
});

impl Engine {
    /// The environment of a dialect, built on first use and kept for the
    /// life of the process (a handful at most, so leaking them is the point:
    /// compiled templates borrow from them).
    pub fn env(&self, dialect: &Dialect) -> Result<&'static Environment<'static>, Error> {
        let mut envs = self.envs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, env)) = envs.iter().find(|(d, _)| d == dialect) {
            return Ok(env);
        }
        let env: &'static Environment<'static> = Box::leak(Box::new(build_env(dialect)?));
        envs.push((dialect.clone(), env));
        Ok(env)
    }

    /// [`Engine::env`] of [`Dialect::yaml`], without a lock once built.
    fn yaml_env(&self) -> Result<&'static Environment<'static>, Error> {
        if let Some(env) = self.yaml_env.get() {
            return Ok(env);
        }
        let env = self.env(Dialect::yaml_shared())?;
        Ok(self.yaml_env.get_or_init(|| env))
    }

    /// The environment to load template `name` from (see [`TemplateEnv`]).
    fn template_env(&self, dialect: &Dialect, name: &str) -> Result<Arc<Environment<'static>>, Error> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        name.hash(&mut hasher);
        let key = hasher.finish();
        let mut envs = self.template_envs.lock().unwrap_or_else(|p| p.into_inner());
        let pos = match envs.iter().position(|t| &t.dialect == dialect) {
            Some(pos) => pos,
            None => {
                let env = Arc::new(build_env(dialect)?);
                envs.push(TemplateEnv { dialect: dialect.clone(), env, loaded: HashSet::new() });
                envs.len() - 1
            }
        };
        let t = &mut envs[pos];
        if t.loaded.insert(key) && t.loaded.len() > MAX_COMPILED {
            t.env = Arc::new(build_env(dialect)?);
            t.loaded.clear();
            t.loaded.insert(key);
        }
        Ok(t.env.clone())
    }

    /// Renders already preprocessed template `source`.
    pub fn render(&self, dialect: &Dialect, source: &str, ctx: Value) -> Result<String, Error> {
        let mut name = String::with_capacity(source.len() + 1);
        name.push(SOURCE_PREFIX);
        name.push_str(source);
        let env = self.template_env(dialect, &name)?;
        let tmpl = env.get_template(&name)?;
        tmpl.render(ctx.clone()).map_err(|e| name_the_undefined(e, || tmpl.undeclared_variables(false), &ctx, &env))
    }

    /// Renders and also returns the native value when the whole output is the
    /// text of exactly one `{{ }}` value (Ansible's native templating then
    /// keeps that value's type: `{% set x = 1 %}{{ x }}` is the integer 1).
    pub fn render_native(&self, dialect: &Dialect, source: &str, ctx: Value) -> Result<(String, Option<Value>), Error> {
        let mut name = String::with_capacity(source.len() + 1);
        name.push(SOURCE_PREFIX);
        name.push_str(source);
        let env = self.template_env(dialect, &name)?;
        let tmpl = env.get_template(&name)?;
        let captured = tmpl
            .render_captured(ctx.clone())
            .map_err(|e| name_the_undefined(e, || tmpl.undeclared_variables(false), &ctx, &env))?;
        let native = captured.state().get_extension::<NativeCapture>().and_then(|c| match &c.only {
            Some((value, text)) if c.calls == 1 && text == captured.output() => Some(value.clone()),
            _ => None,
        });
        Ok((captured.into_output(), native))
    }

    /// Evaluates an already preprocessed expression.
    pub fn eval(&self, expr: &str, ctx: Value) -> Result<Value, Error> {
        let compiled = {
            let cache = self.exprs.lock().unwrap_or_else(|p| p.into_inner());
            cache.get(expr).cloned()
        };
        let compiled = match compiled {
            Some(c) => c,
            None => {
                let env = self.yaml_env()?;
                let c = Arc::new(env.compile_expression_owned(expr.to_string())?);
                let mut cache = self.exprs.lock().unwrap_or_else(|p| p.into_inner());
                if cache.len() >= MAX_COMPILED {
                    cache.clear();
                }
                cache.entry(expr.to_string()).or_insert(c).clone()
            }
        };
        let env = self.yaml_env()?;
        compiled
            .eval(ctx.clone())
            .map_err(|e| name_the_undefined(e, || compiled.undeclared_variables(false), &ctx, env))
    }
}

/// Some minijinja failures caused by an undefined value do not name it
/// (`x | list`: "cannot convert value to list"). When an error has an
/// undefined cause but no name, the variables the template uses that do not
/// exist are named instead, so the report says what is missing.
fn name_the_undefined(
    err: Error,
    used: impl FnOnce() -> std::collections::HashSet<String>,
    ctx: &Value,
    env: &Environment<'static>,
) -> Error {
    let mut undefined_cause = false;
    let mut named = false;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = cur {
        if let Some(mj) = e.downcast_ref::<Error>() {
            undefined_cause |= mj.kind() == ErrorKind::UndefinedError;
            named |= mj.detail().is_some_and(|d| d.contains("` is undefined"));
        }
        cur = e.source();
    }
    if !undefined_cause || named {
        return err;
    }
    let globals: std::collections::HashSet<&str> = env.globals().map(|(k, _)| k).collect();
    let mut missing: Vec<String> = used()
        .into_iter()
        .filter(|n| !globals.contains(n.as_str()) && ctx.get_attr(n).map(|v| v.is_undefined()).unwrap_or(true))
        .collect();
    if missing.is_empty() {
        return err;
    }
    missing.sort();
    let detail = missing.iter().map(|n| format!("`{n}` is undefined")).collect::<Vec<_>>().join(", ");
    Error::new(ErrorKind::UndefinedError, detail).with_source(err)
}

fn build_env(dialect: &Dialect) -> Result<Environment<'static>, Error> {
    let mut env = Environment::new();
    let d = &dialect.delims;
    env.set_syntax(
        SyntaxConfig::builder()
            .block_delimiters(d.block.0.clone(), d.block.1.clone())
            .variable_delimiters(d.variable.0.clone(), d.variable.1.clone())
            .comment_delimiters(d.comment.0.clone(), d.comment.1.clone())
            .trim_blocks(dialect.trim_blocks)
            .lstrip_blocks(dialect.lstrip_blocks)
            .keep_trailing_newline(false)
            .build()?,
    );
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Debug info is what names the undefined expression in errors.
    env.set_debug(true);
    env.set_fuel(Some(FUEL));
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_formatter(python_formatter);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.set_loader(|name| {
        if let Some(source) = name.strip_prefix(SOURCE_PREFIX) {
            Ok(Some(source.to_string()))
        } else {
            Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("{}{{% include/import/extends '{name}' %}} in a template", scope::UNSUPPORTED_MARK),
            ))
        }
    });
    filters::register(&mut env);
    checks::register(&mut env);
    lookups::register(&mut env);
    scope::register(&mut env);
    Ok(env)
}

/// The values a render printed, to recognise a single-value output.
#[derive(Default)]
struct NativeCapture {
    calls: usize,
    only: Option<(Value, String)>,
}

/// Prints values as Python's `str()` does, with Ansible's finaliser: a bare
/// `None` prints nothing, `omit` prints nothing, undefined is an error.
fn python_formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    if value.is_undefined() {
        // Produces minijinja's "`name` is undefined" error with the origin.
        minijinja::value::StringInput::new(state, value)?;
    }
    let text = if scope::is_omit(value) {
        String::new()
    } else {
        match scope::render_special(state, value)? {
            Some(text) => text,
            None => pyfmt::to_python_str(value),
        }
    };
    let capture = state.get_or_insert_extension(NativeCapture::default());
    capture.calls += 1;
    capture.only = if capture.calls == 1 { Some((value.clone(), text.clone())) } else { None };
    out.write_str(&text).map_err(Error::from)
}

/// `#jinja2:` first-line overrides, as Ansible parses them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Overrides {
    pub pairs: Vec<(String, OverrideValue)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverrideValue {
    Bool(bool),
    Str(String),
}

/// Splits a `#jinja2: key: value, ...` first line off `text`.
pub fn parse_header(text: &str) -> Result<(Overrides, &str), String> {
    let Some(rest) = text.strip_prefix("#jinja2:") else { return Ok((Overrides::default(), text)) };
    let Some(eol) = rest.find('\n') else { return Err("Missing newline after '#jinja2:' override.".into()) };
    let line = &rest[..eol];
    let body = &rest[eol + 1..];
    let mut pairs = Vec::new();
    for pair in split_pairs(line) {
        let pair = pair.trim();
        if pair.is_empty() {
            return Err("Empty '#jinja2:' override pair not allowed.".into());
        }
        let Some((key, value)) = pair.split_once(':') else {
            return Err(format!("Missing key-value separator `:` in '#jinja2:' override pair {pair:?}."));
        };
        let key = key.trim();
        const KEYS: &[&str] = &[
            "block_start_string",
            "block_end_string",
            "variable_start_string",
            "variable_end_string",
            "comment_start_string",
            "comment_end_string",
            "line_statement_prefix",
            "line_comment_prefix",
            "trim_blocks",
            "lstrip_blocks",
            "newline_sequence",
            "keep_trailing_newline",
        ];
        if !KEYS.contains(&key) {
            return Err(format!("Invalid '#jinja2:' override key {key:?}."));
        }
        let value = value.trim();
        let parsed = match value {
            "True" | "true" => OverrideValue::Bool(true),
            "False" | "false" => OverrideValue::Bool(false),
            v if v.len() >= 2
                && ((v.starts_with('\'') && v.ends_with('\'')) || (v.starts_with('"') && v.ends_with('"'))) =>
            {
                let inner = &v[1..v.len() - 1];
                OverrideValue::Str(inner.replace("\\n", "\n").replace("\\r", "\r"))
            }
            v => return Err(format!("Invalid '#jinja2:' override value {v:?} for {key}.")),
        };
        pairs.push((key.to_string(), parsed));
    }
    Ok((Overrides { pairs }, body))
}

/// Splits on commas outside quotes.
fn split_pairs(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quote = None;
    let mut start = 0;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ',') => {
                out.push(&line[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&line[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_overrides_are_parsed_and_removed() {
        let (o, body) = parse_header("#jinja2: trim_blocks: False, variable_start_string: '[%'\nbody").unwrap();
        assert_eq!(body, "body");
        assert_eq!(o.pairs[0], ("trim_blocks".to_string(), OverrideValue::Bool(false)));
        assert_eq!(o.pairs[1], ("variable_start_string".to_string(), OverrideValue::Str("[%".into())));
        assert!(parse_header("#jinja2: trim_blocks: False").is_err());
        assert!(parse_header("#jinja2: nope: False\n").is_err());
        assert_eq!(parse_header("plain").unwrap().1, "plain");
    }
}
