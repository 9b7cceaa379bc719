//! JSON with line numbers: serde_json's values plus a line for every node.
//!
//! serde_json is the parser of record: it decides what is valid JSON, what
//! each value is (numbers, `\uD83D\uDE00` surrogate pairs, `\/`), and where a
//! syntax error is (line and column). It keeps no positions, so once it has
//! accepted a document a second, tiny pass over the same text records the line
//! of every value under its JSON Pointer (RFC 6901). That pass only has to find
//! token boundaries in text already known to be valid; it decodes nothing
//! itself except object keys, which it hands back to serde_json.
//!
//! Why not the YAML parser (JSON is nearly YAML 1.2): `source::yaml` reads YAML
//! 1.1 the way Ansible does, so `1e5` would become a string and surrogate-pair
//! escapes are refused, and its errors would describe YAML, not JSON.
//! `docs/packer.md` has the comparison.
//!
//! This module knows JSON, not Packer.

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

/// A parsed JSON document with the line of each value.
#[derive(Debug, Clone)]
pub struct JsonDoc {
    pub value: Value,
    /// JSON Pointer → 1-based line where that value starts.
    lines: HashMap<String, u32>,
    /// Keys repeated in one object: serde_json keeps the last value, as Go's
    /// `encoding/json` (and so Packer) does.
    pub duplicates: Vec<DuplicateKey>,
}

/// A key that appears twice in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    pub key: String,
    pub line: u32,
    pub first_line: u32,
}

/// Why a text is not JSON: serde_json's message, line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} column {}: {}", self.line, self.col, self.message)
    }
}

/// Parses `text` as one JSON document.
pub fn parse(text: &str) -> Result<JsonDoc, JsonError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = serde_json::from_str(text).map_err(|e| {
        // serde_json appends " at line L column C" to its Display; keep the bare message.
        let full = e.to_string();
        let message = match full.rfind(" at line ") {
            Some(i) => full[..i].to_string(),
            None => full,
        };
        JsonError { line: e.line() as u32, col: e.column() as u32, message }
    })?;
    let mut indexer =
        Indexer { bytes: text.as_bytes(), pos: 0, line: 1, lines: HashMap::new(), duplicates: Vec::new() };
    let mut pointer = String::new();
    // The text is valid JSON, so the indexer cannot fail on it; should it ever,
    // lines fall back to 0 ("whole file") rather than the load failing.
    let _ = indexer.value(&mut pointer);
    Ok(JsonDoc { value, lines: indexer.lines, duplicates: indexer.duplicates })
}

impl JsonDoc {
    /// The document's top-level value.
    pub fn root(&self) -> JsonNode<'_> {
        JsonNode { doc: self, value: &self.value, pointer: String::new() }
    }

    /// The line of the value at `pointer` (0 when unknown).
    pub fn line(&self, pointer: &str) -> u32 {
        self.lines.get(pointer).copied().unwrap_or(0)
    }
}

/// A value inside a [`JsonDoc`], which knows its line.
#[derive(Debug, Clone)]
pub struct JsonNode<'a> {
    doc: &'a JsonDoc,
    pub value: &'a Value,
    pointer: String,
}

impl<'a> JsonNode<'a> {
    /// 1-based line where the value starts (0 when unknown).
    pub fn line(&self) -> u32 {
        self.doc.line(&self.pointer)
    }

    /// The JSON Pointer of this value (`""` for the root).
    pub fn pointer(&self) -> &str {
        &self.pointer
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<JsonNode<'a>> {
        let value = self.value.as_object()?.get(key)?;
        Some(JsonNode { doc: self.doc, value, pointer: child_pointer(&self.pointer, key) })
    }

    /// An object's members in file order (empty for anything else).
    pub fn entries(&self) -> Vec<(&'a str, JsonNode<'a>)> {
        let Some(map) = self.value.as_object() else { return Vec::new() };
        map.iter()
            .map(|(k, v)| (k.as_str(), JsonNode { doc: self.doc, value: v, pointer: child_pointer(&self.pointer, k) }))
            .collect()
    }

    /// An array's items in order (empty for anything else).
    pub fn items(&self) -> Vec<JsonNode<'a>> {
        let Some(items) = self.value.as_array() else { return Vec::new() };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| JsonNode { doc: self.doc, value: v, pointer: format!("{}/{i}", self.pointer) })
            .collect()
    }

    pub fn as_str(&self) -> Option<&'a str> {
        self.value.as_str()
    }

    /// A short name for the value's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "a list",
            Value::Object(_) => "an object",
        }
    }
}

fn child_pointer(parent: &str, key: &str) -> String {
    let mut p = String::with_capacity(parent.len() + key.len() + 1);
    p.push_str(parent);
    p.push('/');
    push_escaped(&mut p, key);
    p
}

fn push_escaped(out: &mut String, key: &str) {
    for c in key.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

/// Walks text that serde_json has accepted and records each value's line.
/// Returns `None` on anything unexpected instead of panicking.
struct Indexer<'t> {
    bytes: &'t [u8],
    pos: usize,
    line: u32,
    lines: HashMap<String, u32>,
    duplicates: Vec<DuplicateKey>,
}

impl Indexer<'_> {
    fn value(&mut self, pointer: &mut String) -> Option<()> {
        self.skip_ws();
        self.lines.insert(pointer.clone(), self.line);
        match *self.bytes.get(self.pos)? {
            b'{' => self.object(pointer),
            b'[' => self.array(pointer),
            b'"' => self.string().map(|_| ()),
            _ => {
                // A number, `true`, `false` or `null`: runs to the next delimiter.
                while let Some(&b) = self.bytes.get(self.pos) {
                    if matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n') {
                        break;
                    }
                    self.pos += 1;
                }
                Some(())
            }
        }
    }

    fn object(&mut self, pointer: &mut String) -> Option<()> {
        self.pos += 1;
        let mut seen: HashMap<String, u32> = HashMap::new();
        loop {
            self.skip_ws();
            match *self.bytes.get(self.pos)? {
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                b',' => {
                    self.pos += 1;
                    continue;
                }
                _ => {}
            }
            let key_line = self.line;
            let raw = self.string()?;
            let key: String = serde_json::from_str(raw).ok()?;
            if let Some(first_line) = seen.insert(key.clone(), key_line) {
                self.duplicates.push(DuplicateKey { key: key.clone(), line: key_line, first_line });
            }
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b':') {
                return None;
            }
            self.pos += 1;
            let len = pointer.len();
            pointer.push('/');
            push_escaped(pointer, &key);
            let done = self.value(pointer);
            pointer.truncate(len);
            done?;
        }
    }

    fn array(&mut self, pointer: &mut String) -> Option<()> {
        self.pos += 1;
        let mut index = 0usize;
        loop {
            self.skip_ws();
            match *self.bytes.get(self.pos)? {
                b']' => {
                    self.pos += 1;
                    return Some(());
                }
                b',' => {
                    self.pos += 1;
                    continue;
                }
                _ => {}
            }
            let len = pointer.len();
            pointer.push('/');
            pointer.push_str(&index.to_string());
            let done = self.value(pointer);
            pointer.truncate(len);
            done?;
            index += 1;
        }
    }

    /// Skips a string token and returns it with its quotes. Valid JSON strings
    /// hold no raw newline, so the line count is unaffected.
    fn string(&mut self) -> Option<&str> {
        let start = self.pos;
        if self.bytes.get(self.pos) != Some(&b'"') {
            return None;
        }
        self.pos += 1;
        loop {
            match *self.bytes.get(self.pos)? {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    break;
                }
                _ => self.pos += 1,
            }
        }
        std::str::from_utf8(self.bytes.get(start..self.pos)?).ok()
    }

    fn skip_ws(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ => break,
            }
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_has_its_line() {
        let text = "{\n  \"a\": 1,\n  \"b\": [\n    {\"c\": \"x\"},\n\t\"y\"\n  ],\n  \"d/e~f\": null\n}\n";
        let doc = parse(text).unwrap();
        let root = doc.root();
        assert_eq!(root.line(), 1);
        assert_eq!(root.get("a").unwrap().line(), 2);
        let b = root.get("b").unwrap();
        assert_eq!(b.line(), 3);
        let items = b.items();
        assert_eq!(items[0].line(), 4);
        assert_eq!(items[0].get("c").unwrap().line(), 4);
        assert_eq!(items[1].line(), 5);
        assert_eq!(items[1].as_str(), Some("y"));
        assert_eq!(root.get("d/e~f").unwrap().line(), 7);
    }

    #[test]
    fn escapes_and_numbers_follow_json_not_yaml() {
        let doc = parse(r#"{"s": "\u00e9\ud83d\ude00 \/ \"q\"", "n": 1e5, "k\"ey": {"x": 2}}"#).unwrap();
        assert_eq!(doc.value["s"], "é😀 / \"q\"");
        assert!(doc.value["n"].is_f64());
        assert_eq!(doc.root().get("k\"ey").unwrap().get("x").unwrap().line(), 1);
    }

    #[test]
    fn duplicate_keys_keep_the_last_value_and_are_listed() {
        let doc = parse("{\n\"a\": 1,\n\"a\": 2\n}").unwrap();
        assert_eq!(doc.value["a"], 2);
        assert_eq!(doc.root().get("a").unwrap().line(), 3);
        assert_eq!(doc.duplicates, vec![DuplicateKey { key: "a".into(), line: 3, first_line: 2 }]);
    }

    #[test]
    fn errors_carry_line_and_column() {
        let err = parse("{\n  \"a\": 1,\n  \"b\": ,\n}").unwrap_err();
        assert_eq!((err.line, err.col), (3, 8));
        assert!(!err.message.contains(" at line "), "{}", err.message);
        let err = parse("// comment\n{}").unwrap_err();
        assert_eq!(err.line, 1);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "[".repeat(100_000);
        assert!(parse(&text).is_err());
    }
}
