//! Python's text forms of values: `str()`, `repr()` and `json.dumps`.
//!
//! Ansible runs on Python, so what lands in a rendered file is Python's idea of
//! a value: `True`, `None`, `['a', 1]`, `{'k': 'v'}`, `1e+20`. minijinja would
//! print `true`, `none`, `["a", 1]`; this module is the single place that
//! knows the Python spelling. It must not know about templates or variables.

use std::fmt::Write as _;

use minijinja::value::{Value, ValueKind};

/// Python `repr(float)`: shortest round-trip digits, exponent form outside
/// `1e-4 <= |x| < 1e16`, always a `.0` on integral values.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    // `{:e}` gives the shortest round-trip digits, e.g. "1.2345e-5".
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if f < 0.0 { "-" } else { "" };
    // Python's `decpt`: value = 0.DIGITS * 10^decpt.
    let decpt = exp + 1;
    let n = digits.len() as i32;
    if -4 < decpt && decpt <= 16 {
        if decpt <= 0 {
            format!("{sign}0.{}{digits}", "0".repeat((-decpt) as usize))
        } else if decpt >= n {
            format!("{sign}{digits}{}.0", "0".repeat((decpt - n) as usize))
        } else {
            let (a, b) = digits.split_at(decpt as usize);
            format!("{sign}{a}.{b}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}e{esign}{:02}", exp.abs())
    }
}

/// Python `repr(str)`: single quotes unless the text holds a `'` and no `"`.
pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let cp = c as u32;
                if cp <= 0xff {
                    let _ = write!(out, "\\x{cp:02x}");
                } else if cp <= 0xffff {
                    let _ = write!(out, "\\u{cp:04x}");
                } else {
                    let _ = write!(out, "\\U{cp:08x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python `str(value)`, except that `None` at the top level is the empty
/// string: Ansible's template finaliser prints nothing for a bare `None`.
pub fn to_python_str(value: &Value) -> String {
    match value.kind() {
        ValueKind::None | ValueKind::Undefined => String::new(),
        ValueKind::String => value.as_str().unwrap_or_default().to_string(),
        _ => {
            let mut out = String::new();
            write_repr(&mut out, value, false);
            out
        }
    }
}

/// Python `str(value)` with `None` spelled `None` (the `string` filter, `join`).
pub fn to_python_str_keep_none(value: &Value) -> String {
    match value.kind() {
        ValueKind::String => value.as_str().unwrap_or_default().to_string(),
        _ => {
            let mut out = String::new();
            write_repr(&mut out, value, false);
            out
        }
    }
}

/// Python `repr(value)`.
pub fn to_python_repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, value, true);
    out
}

fn write_repr(out: &mut String, value: &Value, quote_strings: bool) {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if value.is_true() { "True" } else { "False" }),
        ValueKind::Number => out.push_str(&number_str(value)),
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default();
            if quote_strings {
                out.push_str(&str_repr(s));
            } else {
                out.push_str(s);
            }
        }
        ValueKind::Bytes => {
            let bytes = value.as_bytes().unwrap_or_default();
            out.push_str("b'");
            for b in bytes {
                match *b {
                    b'\\' => out.push_str("\\\\"),
                    b'\'' => out.push_str("\\'"),
                    0x20..=0x7e => out.push(*b as char),
                    b'\n' => out.push_str("\\n"),
                    other => {
                        let _ = write!(out, "\\x{other:02x}");
                    }
                }
            }
            out.push('\'');
        }
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            if let Ok(iter) = value.try_iter() {
                for (i, item) in iter.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_repr(out, &item, true);
                }
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            if let Ok(iter) = value.try_iter() {
                for (i, key) in iter.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_repr(out, &key, true);
                    out.push_str(": ");
                    let item = value.get_item(&key).unwrap_or_default();
                    write_repr(out, &item, true);
                }
            }
            out.push('}');
        }
        _ => {
            let _ = write!(out, "{value}");
        }
    }
}

/// A number as Python prints it: integers plainly, floats with `float_repr`.
pub fn number_str(value: &Value) -> String {
    if value.is_integer() {
        value.to_string()
    } else {
        match f64::try_from(value.clone()) {
            Ok(f) => float_repr(f),
            Err(_) => value.to_string(),
        }
    }
}

/// Options of Python's `json.dumps` that Ansible's filters use.
#[derive(Debug, Clone, Copy)]
pub struct JsonStyle {
    pub indent: Option<usize>,
    pub sort_keys: bool,
    pub ensure_ascii: bool,
}

/// Python `json.dumps(value, ...)`: `", "`/`": "` separators without indent,
/// `","` plus newlines with it, `\uXXXX` for non-ASCII when `ensure_ascii`.
pub fn json_dumps(value: &Value, style: JsonStyle) -> Result<String, String> {
    let mut out = String::new();
    write_json(&mut out, value, style, 0)?;
    Ok(out)
}

fn write_json(out: &mut String, value: &Value, style: JsonStyle, depth: usize) -> Result<(), String> {
    match value.kind() {
        ValueKind::Undefined => return Err("an undefined value cannot be serialised".into()),
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number => {
            if value.is_integer() {
                out.push_str(&value.to_string());
            } else {
                let f = f64::try_from(value.clone()).map_err(|e| e.to_string())?;
                if f.is_nan() {
                    out.push_str("NaN");
                } else if f.is_infinite() {
                    out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
                } else {
                    out.push_str(&float_repr(f));
                }
            }
        }
        ValueKind::String => json_str(out, value.as_str().unwrap_or_default(), style.ensure_ascii),
        ValueKind::Bytes => {
            json_str(out, &String::from_utf8_lossy(value.as_bytes().unwrap_or_default()), style.ensure_ascii)
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = value.try_iter().map_err(|e| e.to_string())?.collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                separator(out, style, depth + 1, i == 0);
                write_json(out, item, style, depth + 1)?;
            }
            closing(out, style, depth);
            out.push(']');
        }
        ValueKind::Map => {
            let mut keys: Vec<Value> = value.try_iter().map_err(|e| e.to_string())?.collect();
            if keys.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            if style.sort_keys {
                keys.sort_by_key(json_key);
            }
            out.push('{');
            for (i, key) in keys.iter().enumerate() {
                separator(out, style, depth + 1, i == 0);
                json_str(out, &json_key(key), style.ensure_ascii);
                out.push_str(": ");
                let item = value.get_item(key).map_err(|e| e.to_string())?;
                write_json(out, &item, style, depth + 1)?;
            }
            closing(out, style, depth);
            out.push('}');
        }
        _ => json_str(out, &value.to_string(), style.ensure_ascii),
    }
    Ok(())
}

/// Python's json turns non-string keys into strings (`True` -> "true", 1 -> "1").
fn json_key(key: &Value) -> String {
    match key.kind() {
        ValueKind::String => key.as_str().unwrap_or_default().to_string(),
        ValueKind::Bool => if key.is_true() { "true" } else { "false" }.to_string(),
        ValueKind::None => "null".to_string(),
        ValueKind::Number => number_str(key),
        _ => key.to_string(),
    }
}

fn separator(out: &mut String, style: JsonStyle, depth: usize, first: bool) {
    match style.indent {
        Some(n) => {
            if !first {
                out.push(',');
            }
            out.push('\n');
            out.push_str(&" ".repeat(n * depth));
        }
        None => {
            if !first {
                out.push_str(", ");
            }
        }
    }
}

fn closing(out: &mut String, style: JsonStyle, depth: usize) {
    if let Some(n) = style.indent {
        out.push('\n');
        out.push_str(&" ".repeat(n * depth));
    }
}

fn json_str(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if ensure_ascii && (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python() {
        // python3 -c 'print([repr(x) for x in (1.0, 0.1+0.2, 1e20, 1e16, 1e15, 0.0001, 0.00001, -2.5, 123.456)])'
        let got: Vec<String> =
            [1.0, 0.1 + 0.2, 1e20, 1e16, 1e15, 0.0001, 0.00001, -2.5, 123.456].iter().map(|f| float_repr(*f)).collect();
        assert_eq!(
            got,
            [
                "1.0",
                "0.30000000000000004",
                "1e+20",
                "1e+16",
                "1000000000000000.0",
                "0.0001",
                "1e-05",
                "-2.5",
                "123.456"
            ]
        );
    }

    #[test]
    fn containers_print_like_python() {
        let v = Value::from_iter([Value::from(1), Value::from("a'b"), Value::from(true), Value::from(())]);
        assert_eq!(to_python_str(&v), "[1, \"a'b\", True, None]");
        assert_eq!(to_python_str(&Value::from(())), "");
        assert_eq!(str_repr("tab\there\n"), "'tab\\there\\n'");
    }

    #[test]
    fn json_matches_python_json_dumps() {
        let v = Value::from_pairs([("z", Value::from(1)), ("a", Value::from("ü\"/"))]);
        let plain = JsonStyle { indent: None, sort_keys: false, ensure_ascii: true };
        assert_eq!(json_dumps(&v, plain).unwrap(), r#"{"z": 1, "a": "\u00fc\"/"}"#);
        let nice = JsonStyle { indent: Some(4), sort_keys: true, ensure_ascii: true };
        assert_eq!(json_dumps(&v, nice).unwrap(), "{\n    \"a\": \"\\u00fc\\\"/\",\n    \"z\": 1\n}");
    }
}
