//! Data values of the model: YAML data with Ansible's markers kept.
//!
//! Owns [`Value`] (what a variable or module argument holds), [`Var`] (a named
//! value with its origin), [`Flag`] (a keyword that is a boolean or a Jinja
//! expression) and the Ansible Vault markers. Conversion from the source
//! stage's YAML nodes happens here, once; later stages never see YAML nodes.
//! It does not evaluate Jinja and does not decrypt anything.

use std::borrow::Cow;
use std::fmt;

use serde::{Serialize, Serializer};

use crate::sensitive::Sensitive;
use crate::source::yaml::{self, Node, NodeTag};

use super::Origin;

/// A YAML value as Ansible reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// A YAML 1.1 number with the text it was written as (`mode: 0644` is 420).
    Number {
        text: String,
        value: Number,
    },
    /// A string; it may hold Jinja (`{{ ... }}`) that Ansible would template.
    Str(String),
    /// `!unsafe`: a plain string that must never be templated.
    Unsafe(String),
    /// `!vault`: inline Ansible Vault ciphertext. Always secret. Boxed: rare,
    /// and inline it would triple the size of every value.
    Vault(Box<VaultValue>),
    List(Vec<Value>),
    Map(Map),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

/// An ordered mapping with string keys (file order; duplicate keys were
/// already resolved by the parser, last one wins as in Ansible).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map(pub Vec<(String, Value)>);

impl Map {
    pub fn new() -> Map {
        Map(Vec::new())
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets `key`, replacing an existing entry in place.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(self.0.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
    }

    /// A string argument (`Str`, `Unsafe` or a number as written).
    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }
}

/// Inline `!vault` ciphertext. The ciphertext is kept (the vault stage
/// decrypts it) but never printed or serialised.
#[derive(Debug, Clone, PartialEq)]
pub struct VaultValue {
    pub header: Option<VaultHeader>,
    pub ciphertext: Sensitive<String>,
}

/// The first line of Ansible Vault ciphertext:
/// `$ANSIBLE_VAULT;1.1;AES256` or `$ANSIBLE_VAULT;1.2;AES256;<vault id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VaultHeader {
    pub version: String,
    pub cipher: String,
    pub vault_id: Option<String>,
}

impl VaultHeader {
    /// Parses the header at the start of `text` (leading whitespace allowed,
    /// as for block scalars); `None` when `text` is not vault ciphertext.
    pub fn parse(text: &str) -> Option<VaultHeader> {
        let first = text.trim_start().lines().next()?.trim_end();
        let rest = first.strip_prefix("$ANSIBLE_VAULT;")?;
        let mut parts = rest.split(';');
        let version = parts.next()?.trim();
        let cipher = parts.next()?.trim();
        if version.is_empty() || cipher.is_empty() {
            return None;
        }
        let vault_id = parts.next().map(str::trim).filter(|s| !s.is_empty()).map(String::from);
        Some(VaultHeader { version: version.into(), cipher: cipher.into(), vault_id })
    }

    /// `vault id X` or `default vault id`, for messages.
    pub fn describe(&self) -> String {
        match &self.vault_id {
            Some(id) => format!("vault id `{id}`"),
            None => "default vault id".into(),
        }
    }
}

impl Value {
    /// Converts a YAML node. `!vault` and `!unsafe` become their own variants.
    pub fn from_node(node: &Node) -> Value {
        match node.tag {
            NodeTag::Vault => {
                let text = node.as_str().unwrap_or_default();
                return Value::Vault(Box::new(VaultValue {
                    header: VaultHeader::parse(text),
                    ciphertext: Sensitive::new(text.to_string()),
                }));
            }
            NodeTag::Unsafe => {
                if let Some(s) = node.scalar_text() {
                    return Value::Unsafe(s.into_owned());
                }
            }
            _ => {}
        }
        match &node.value {
            yaml::Value::Null => Value::Null,
            yaml::Value::Bool(b) => Value::Bool(*b),
            yaml::Value::Int(i) => Value::Number { text: i.to_string(), value: Number::Int(*i) },
            yaml::Value::Float(f) => Value::Number { text: f.to_string(), value: Number::Float(*f) },
            yaml::Value::Number(n) => {
                let value = match n.resolved {
                    yaml::Value::Int(i) => Number::Int(i),
                    yaml::Value::Float(f) => Number::Float(f),
                    _ => return Value::Str(n.text.to_string()),
                };
                Value::Number { text: n.text.to_string(), value }
            }
            yaml::Value::Str(s) => Value::Str(s.to_string()),
            yaml::Value::Seq(items) => Value::List(items.iter().map(Value::from_node).collect()),
            yaml::Value::Map(entries) => {
                Value::Map(Map(entries.iter().map(|(k, v)| (key_text(k), Value::from_node(v))).collect()))
            }
        }
    }

    /// A string as written: `Str`, `Unsafe`, or a number's source text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Unsafe(s) => Some(s),
            Value::Number { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A scalar as Ansible would stringify it (`True`/`False` for booleans).
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            Value::Bool(true) => Some("True".into()),
            Value::Bool(false) => Some("False".into()),
            other => other.as_str().map(String::from),
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// True when this value or anything inside it is vault ciphertext.
    pub fn has_vault(&self) -> bool {
        match self {
            Value::Vault(_) => true,
            Value::List(items) => items.iter().any(Value::has_vault),
            Value::Map(m) => m.0.iter().any(|(_, v)| v.has_vault()),
            _ => false,
        }
    }

    /// JSON for output. Vault ciphertext becomes a redacted marker and
    /// `!unsafe` strings are tagged, so neither can be mistaken for plain data.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number { value: Number::Int(i), .. } => J::from(*i),
            Value::Number { value: Number::Float(f), .. } => {
                serde_json::Number::from_f64(*f).map(J::Number).unwrap_or(J::Null)
            }
            Value::Str(s) => J::String(s.clone()),
            Value::Unsafe(s) => serde_json::json!({ "__ansible_unsafe": s }),
            Value::Vault(_) => serde_json::json!({ "__ansible_vault": crate::sensitive::REDACTED }),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
            Value::Map(m) => m.to_json(),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl Serialize for Map {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl fmt::Display for Value {
    /// Short display for messages; vault values never show their ciphertext.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Vault(_) => f.write_str(crate::sensitive::REDACTED),
            other => match other.scalar_text() {
                Some(t) => f.write_str(&t),
                None => f.write_str(&other.to_json().to_string()),
            },
        }
    }
}

/// A mapping key as text (`1` and `true` keys become `"1"` and `"True"`).
pub fn key_text(node: &Node) -> String {
    key_str(node).into_owned()
}

/// [`key_text`] borrowed from the node when it is a string (nearly every key), for
/// keys that are only compared.
pub fn key_str(node: &Node) -> Cow<'_, str> {
    node.scalar_text().unwrap_or(Cow::Borrowed("null"))
}

/// A named value and where it was defined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Var {
    pub name: String,
    pub value: Value,
    pub origin: Origin,
}

impl Var {
    /// True when the value is (or contains) vault ciphertext.
    pub fn is_secret(&self) -> bool {
        self.value.has_vault()
    }
}

/// The variables of a YAML mapping, each with the line of its key.
pub fn vars_of_map(node: &Node, path: &std::sync::Arc<str>) -> Vec<Var> {
    node.as_map()
        .unwrap_or(&[])
        .iter()
        .map(|(k, v)| Var { name: key_text(k), value: Value::from_node(v), origin: Origin::new(path.clone(), k.line) })
        .collect()
}

/// A keyword that is a boolean or a Jinja expression (`become`, `run_once`,
/// `no_log`, `gather_facts`, ...). Strings are converted as Ansible's
/// `boolean()` does (`yes`, `on`, `1`, `true` ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Flag {
    Bool(bool),
    Expr(String),
}

impl Flag {
    pub fn from_node(node: &Node) -> Flag {
        match &node.value {
            yaml::Value::Bool(b) => Flag::Bool(*b),
            _ => match node.scalar_text() {
                Some(text) => Flag::from_text(&text),
                None => Flag::Expr(Value::from_node(node).to_json().to_string()),
            },
        }
    }

    pub fn from_text(text: &str) -> Flag {
        match text.trim().to_ascii_lowercase().as_str() {
            "yes" | "on" | "1" | "true" | "t" | "y" | "1.0" => Flag::Bool(true),
            "no" | "off" | "0" | "false" | "f" | "n" | "0.0" | "" => Flag::Bool(false),
            _ => Flag::Expr(text.to_string()),
        }
    }

    /// True only for a literal true.
    pub fn is_true(&self) -> bool {
        matches!(self, Flag::Bool(true))
    }
}

/// A value that Ansible accepts as one string or a list of strings
/// (`when`, `tags`, `notify`, `hosts` ...). Scalars are stringified.
pub fn string_list(node: &Node) -> Vec<String> {
    match &node.value {
        yaml::Value::Seq(items) => items.iter().filter_map(|n| n.scalar_text().map(|c| c.into_owned())).collect(),
        yaml::Value::Null => Vec::new(),
        _ => node.scalar_text().map(|c| vec![c.into_owned()]).unwrap_or_default(),
    }
}

/// True when `text` holds a Jinja expression or statement.
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(text: &str) -> Node {
        yaml::parse(text).unwrap().docs.remove(0)
    }

    #[test]
    fn vault_header_versions() {
        let h = VaultHeader::parse("$ANSIBLE_VAULT;1.1;AES256\n6162\n").unwrap();
        assert_eq!((h.version.as_str(), h.cipher.as_str(), h.vault_id), ("1.1", "AES256", None));
        let h = VaultHeader::parse("  $ANSIBLE_VAULT;1.2;AES256;prod\n").unwrap();
        assert_eq!(h.vault_id.as_deref(), Some("prod"));
        assert!(VaultHeader::parse("password: x").is_none());
    }

    #[test]
    fn tags_become_variants() {
        let n = node("a: !vault |\n  $ANSIBLE_VAULT;1.2;AES256;dev\n  3031\nb: !unsafe '{{ x }}'\nc: 0644\n");
        let a = Value::from_node(n.get("a").unwrap());
        match &a {
            Value::Vault(v) => assert_eq!(v.header.as_ref().unwrap().vault_id.as_deref(), Some("dev")),
            other => panic!("{other:?}"),
        }
        assert!(!a.to_json().to_string().contains("3031"));
        assert!(!format!("{a:?} {a}").contains("3031"));
        assert_eq!(Value::from_node(n.get("b").unwrap()), Value::Unsafe("{{ x }}".into()));
        let c = Value::from_node(n.get("c").unwrap());
        assert_eq!(c.as_str(), Some("0644"));
        assert_eq!(c.to_json(), serde_json::json!(420));
    }

    #[test]
    fn flags() {
        assert_eq!(Flag::from_node(&node("yes")), Flag::Bool(true));
        assert_eq!(Flag::from_node(&node("'no'")), Flag::Bool(false));
        assert_eq!(Flag::from_node(&node("1")), Flag::Bool(true));
        assert_eq!(Flag::from_node(&node("'{{ x }}'")), Flag::Expr("{{ x }}".into()));
    }

    #[test]
    fn string_lists() {
        assert_eq!(string_list(&node("a")), vec!["a"]);
        assert_eq!(string_list(&node("[a, b]")), vec!["a", "b"]);
        assert_eq!(string_list(&node("true")), vec!["True"]);
        assert!(string_list(&node("~")).is_empty());
    }
}
