//! `to_yaml` / `to_nice_yaml`: YAML text byte-identical to what Ansible writes.
//!
//! Ansible dumps with PyYAML's `CSafeDumper`, i.e. libyaml's emitter. This is
//! a port of the parts of that emitter the filters reach: block and flow
//! collections, plain / single-quoted / double-quoted scalars with libyaml's
//! style choice and line folding at `width`, YAML 1.1 implicit types that
//! force quoting (`'yes'`, `'010'`, `'1.5'`), sorted keys. No anchors, tags
//! or literal blocks: the representer Ansible uses never asks for them.

use std::sync::LazyLock;

use minijinja::value::{Value, ValueKind};
use regex::Regex;

use super::pyfmt::float_repr;

/// The `yaml.dump` keyword arguments the filters pass through.
#[derive(Debug, Clone, Copy)]
pub struct YamlStyle {
    /// `None`: collections of scalars in flow style, others block (`to_yaml`).
    pub default_flow_style: Option<bool>,
    pub indent: usize,
    pub width: usize,
    pub sort_keys: bool,
    pub explicit_start: bool,
}

impl YamlStyle {
    pub const TO_YAML: YamlStyle =
        YamlStyle { default_flow_style: None, indent: 2, width: 80, sort_keys: true, explicit_start: false };
    pub const TO_NICE_YAML: YamlStyle =
        YamlStyle { default_flow_style: Some(false), indent: 4, width: 80, sort_keys: true, explicit_start: false };
}

enum Node {
    Scalar { text: String, plain_implicit: bool },
    Seq { items: Vec<Node>, flow: bool },
    Map { pairs: Vec<(Node, Node)>, flow: bool },
}

impl Node {
    fn is_scalar(&self) -> bool {
        matches!(self, Node::Scalar { .. })
    }
}

/// Serialises `value` like `yaml.dump(value, Dumper=AnsibleDumper, allow_unicode=True, ...)`.
pub fn dump(value: &Value, style: YamlStyle) -> Result<String, String> {
    let node = represent(value, style)?;
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
        indent: None,
        indents: Vec::new(),
        flow_level: 0,
        best_indent: if (2..10).contains(&style.indent) { style.indent } else { 2 },
        best_width: if style.width > style.indent * 2 { style.width } else { 80 },
    };
    if style.explicit_start {
        e.write_indicator("---", true, false, false);
    }
    e.node(&node, true, false, false, false);
    if e.column > 0 || !e.out.ends_with('\n') {
        e.line_break();
    }
    Ok(e.out)
}

fn represent(value: &Value, style: YamlStyle) -> Result<Node, String> {
    Ok(match value.kind() {
        ValueKind::Undefined => return Err("an undefined value cannot be serialised to YAML".into()),
        ValueKind::None => Node::Scalar { text: "null".into(), plain_implicit: true },
        ValueKind::Bool => {
            Node::Scalar { text: if value.is_true() { "true" } else { "false" }.into(), plain_implicit: true }
        }
        ValueKind::Number => {
            let text = if value.is_integer() {
                value.to_string()
            } else {
                let f = f64::try_from(value.clone()).map_err(|e| e.to_string())?;
                yaml_float(f)
            };
            Node::Scalar { text, plain_implicit: true }
        }
        ValueKind::String => str_node(value.as_str().unwrap_or_default()),
        ValueKind::Bytes => return Err("bytes cannot be serialised to YAML by the safe dumper".into()),
        ValueKind::Seq | ValueKind::Iterable => {
            let items = value
                .try_iter()
                .map_err(|e| e.to_string())?
                .map(|v| represent(&v, style))
                .collect::<Result<Vec<_>, _>>()?;
            let flow = style.default_flow_style.unwrap_or_else(|| items.iter().all(Node::is_scalar));
            Node::Seq { items, flow }
        }
        ValueKind::Map => {
            let mut keys: Vec<Value> = value.try_iter().map_err(|e| e.to_string())?.collect();
            if style.sort_keys {
                keys.sort_by_key(sort_key);
            }
            let mut pairs = Vec::with_capacity(keys.len());
            for key in keys {
                let item = value.get_item(&key).map_err(|e| e.to_string())?;
                pairs.push((represent(&key, style)?, represent(&item, style)?));
            }
            let flow =
                style.default_flow_style.unwrap_or_else(|| pairs.iter().all(|(k, v)| k.is_scalar() && v.is_scalar()));
            Node::Map { pairs, flow }
        }
        _ => str_node(&value.to_string()),
    })
}

fn sort_key(v: &Value) -> (u8, String) {
    match v.kind() {
        ValueKind::String => (1, v.as_str().unwrap_or_default().to_string()),
        _ => (0, v.to_string()),
    }
}

/// PyYAML `represent_float`: `repr()` lower-cased, `1e+20` becomes `1.0e+20`.
fn yaml_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf".into() } else { "-.inf".into() };
    }
    let r = float_repr(f).to_lowercase();
    if !r.contains('.') && r.contains('e') { r.replacen('e', ".0e", 1) } else { r }
}

fn str_node(s: &str) -> Node {
    Node::Scalar { text: s.to_string(), plain_implicit: !resolves_to_non_string(s) }
}

/// YAML 1.1 implicit resolvers of PyYAML: a plain scalar matching one of them
/// would read back as a bool, number, null, timestamp, merge key or value.
static IMPLICIT: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // bool
        r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
        // float
        concat!(
            r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?",
            r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        ),
        // int
        concat!(
            r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+",
            r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
        ),
        // merge
        r"^(?:<<)$",
        // null
        r"^(?:~|null|Null|NULL|)$",
        // timestamp
        concat!(
            r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
            r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9]",
            r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
        ),
        // value
        r"^(?:=)$",
    ]
    .iter()
    .map(|p| Regex::new(p).expect("static regex"))
    .collect()
});

fn resolves_to_non_string(s: &str) -> bool {
    IMPLICIT.iter().any(|re| re.is_match(s))
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blankz(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c == ' ' || c == '\t' || c == '\0' || is_break(c),
    }
}

/// libyaml `IS_PRINTABLE`: no tabs, no NEL, no astral plane, no BOM.
fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
}

struct Analysis {
    empty: bool,
    multiline: bool,
    flow_plain: bool,
    block_plain: bool,
    single_quoted: bool,
}

/// libyaml `yaml_emitter_analyze_scalar`.
fn analyze(text: &str) -> Analysis {
    if text.is_empty() {
        return Analysis { empty: true, multiline: false, flow_plain: false, block_plain: true, single_quoted: true };
    }
    let chars: Vec<char> = text.chars().collect();
    let (mut block_ind, mut flow_ind) = (false, false);
    if text.starts_with("---") || text.starts_with("...") {
        block_ind = true;
        flow_ind = true;
    }
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) = (false, false, false, false);
    let (mut break_space, mut space_break, mut prev_space, mut prev_break) = (false, false, false, false);
    let mut preceded_by_ws = true;
    let mut followed_by_ws = is_blankz(chars.get(1).copied());
    let last = chars.len() - 1;
    for (i, &c) in chars.iter().enumerate() {
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(c) {
                flow_ind = true;
                block_ind = true;
            }
            if c == '?' || c == ':' {
                flow_ind = true;
                if followed_by_ws {
                    block_ind = true;
                }
            }
            if c == '-' && followed_by_ws {
                flow_ind = true;
                block_ind = true;
            }
        } else {
            if ",?[]{}".contains(c) {
                flow_ind = true;
            }
            if c == ':' {
                flow_ind = true;
                if followed_by_ws {
                    block_ind = true;
                }
            }
            if c == '#' && preceded_by_ws {
                flow_ind = true;
                block_ind = true;
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if is_break(c) {
            line_breaks = true;
        }
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= i == last;
            break_space |= prev_break;
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            leading_break |= i == 0;
            trailing_break |= i == last;
            space_break |= prev_space;
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = is_blankz(Some(c));
        followed_by_ws = is_blankz(chars.get(i + 2).copied());
    }
    let (mut flow_plain, mut block_plain, mut single_quoted) = (true, true, true);
    if leading_space || leading_break || trailing_space || trailing_break {
        flow_plain = false;
        block_plain = false;
    }
    if break_space {
        flow_plain = false;
        block_plain = false;
        single_quoted = false;
    }
    if space_break || special {
        flow_plain = false;
        block_plain = false;
        single_quoted = false;
    }
    if line_breaks {
        flow_plain = false;
        block_plain = false;
    }
    if flow_ind {
        flow_plain = false;
    }
    if block_ind {
        block_plain = false;
    }
    Analysis { empty: false, multiline: line_breaks, flow_plain, block_plain, single_quoted }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ScalarStyle {
    Plain,
    Single,
    Double,
}

struct Emitter {
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
    indent: Option<usize>,
    indents: Vec<Option<usize>>,
    flow_level: usize,
    best_indent: usize,
    best_width: usize,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn line_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(&mut self, indicator: &str, need_whitespace: bool, is_whitespace: bool, is_indention: bool) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in indicator.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.line_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        self.indent = match self.indent {
            None => Some(if flow { self.best_indent } else { 0 }),
            Some(i) if !indentless => Some(i + self.best_indent),
            Some(i) => Some(i),
        };
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().flatten();
    }

    fn node(&mut self, node: &Node, _root: bool, sequence: bool, mapping: bool, simple_key: bool) {
        match node {
            Node::Scalar { text, plain_implicit } => {
                self.increase_indent(true, false);
                self.scalar(text, *plain_implicit, simple_key);
                self.pop_indent();
            }
            Node::Seq { items, flow } => {
                if self.flow_level > 0 || *flow || items.is_empty() {
                    self.flow_sequence(items);
                } else {
                    self.block_sequence(items, mapping);
                }
            }
            Node::Map { pairs, flow } => {
                if self.flow_level > 0 || *flow || pairs.is_empty() {
                    self.flow_mapping(pairs);
                } else {
                    self.block_mapping(pairs);
                }
            }
        }
        let _ = sequence;
    }

    fn flow_sequence(&mut self, items: &[Node]) {
        self.write_indicator("[", true, true, false);
        self.increase_indent(true, false);
        self.flow_level += 1;
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.column > self.best_width {
                self.write_indent();
            }
            self.node(item, false, true, false, false);
        }
        self.flow_level -= 1;
        self.pop_indent();
        self.write_indicator("]", false, false, false);
    }

    fn flow_mapping(&mut self, pairs: &[(Node, Node)]) {
        self.write_indicator("{", true, true, false);
        self.increase_indent(true, false);
        self.flow_level += 1;
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.column > self.best_width {
                self.write_indent();
            }
            self.node(k, false, false, true, true);
            self.write_indicator(":", false, false, false);
            self.node(v, false, false, true, false);
        }
        self.flow_level -= 1;
        self.pop_indent();
        self.write_indicator("}", false, false, false);
    }

    fn block_sequence(&mut self, items: &[Node], mapping_context: bool) {
        let indentless = mapping_context && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, false, true, false, false);
        }
        self.pop_indent();
    }

    fn block_mapping(&mut self, pairs: &[(Node, Node)]) {
        self.increase_indent(false, false);
        for (k, v) in pairs {
            self.write_indent();
            self.node(k, false, false, true, true);
            self.write_indicator(":", false, false, false);
            self.node(v, false, false, true, false);
        }
        self.pop_indent();
    }

    fn scalar(&mut self, text: &str, plain_implicit: bool, simple_key: bool) {
        let a = analyze(text);
        let mut style = ScalarStyle::Plain;
        if simple_key && a.multiline {
            style = ScalarStyle::Double;
        }
        if style == ScalarStyle::Plain {
            if (self.flow_level > 0 && !a.flow_plain) || (self.flow_level == 0 && !a.block_plain) {
                style = ScalarStyle::Single;
            }
            if a.empty && (self.flow_level > 0 || simple_key) {
                style = ScalarStyle::Single;
            }
            if !plain_implicit {
                style = ScalarStyle::Single;
            }
        }
        if style == ScalarStyle::Single && !a.single_quoted {
            style = ScalarStyle::Double;
        }
        let split = !simple_key;
        match style {
            ScalarStyle::Plain => self.plain(text, split),
            ScalarStyle::Single => self.single_quoted(text, split),
            ScalarStyle::Double => self.double_quoted(text, split),
        }
    }

    fn plain(&mut self, text: &str, allow_breaks: bool) {
        if !self.whitespace && (!text.is_empty() || self.flow_level > 0) {
            self.put(' ');
        }
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks && !spaces && self.column > self.best_width && chars.get(i + 1) != Some(&' ') {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.line_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.line_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn single_quoted(&mut self, text: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        let last = chars.len().saturating_sub(1);
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && i != 0
                    && i != last
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.line_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        if breaks {
            self.write_indent();
        }
        self.write_indicator("'", false, false, false);
    }

    fn double_quoted(&mut self, text: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        let last = chars.len().saturating_sub(1);
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let code = c as u32;
                let simple = match code {
                    0x00 => Some('0'),
                    0x07 => Some('a'),
                    0x08 => Some('b'),
                    0x09 => Some('t'),
                    0x0A => Some('n'),
                    0x0B => Some('v'),
                    0x0C => Some('f'),
                    0x0D => Some('r'),
                    0x1B => Some('e'),
                    0x22 => Some('"'),
                    0x5C => Some('\\'),
                    0x85 => Some('N'),
                    0xA0 => Some('_'),
                    0x2028 => Some('L'),
                    0x2029 => Some('P'),
                    _ => None,
                };
                let escaped = match simple {
                    Some(ch) => ch.to_string(),
                    None if code <= 0xFF => format!("x{code:02X}"),
                    None if code <= 0xFFFF => format!("u{code:04X}"),
                    None => format!("U{code:08X}"),
                };
                for ch in escaped.chars() {
                    self.put(ch);
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > self.best_width && i != 0 && i != last {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> String {
        dump(&Value::from(v), YamlStyle::TO_YAML).unwrap()
    }

    // Expected strings from Ansible's own dumper on this machine:
    // /work/tools-venv/bin/python -c "import yaml; from ansible._internal._yaml._dumper import AnsibleDumper;
    //   print(repr(yaml.dump(V, Dumper=AnsibleDumper, allow_unicode=True, default_flow_style=None)))"
    #[test]
    fn scalars_are_quoted_like_libyaml() {
        let cases = [
            ("plain", "plain\n"),
            ("multi\nline", "'multi\n\n  line'\n"),
            ("trail\n", "'trail\n\n  '\n"),
            ("a  b", "a  b\n"),
            ("emoji \u{1F600}", "\"emoji \\U0001F600\"\n"),
            ("it's", "it's\n"),
            ("- x", "'- x'\n"),
            ("x #c", "'x #c'\n"),
            ("x# c", "x# c\n"),
            ("", "''\n"),
            ("yes", "'yes'\n"),
            ("yES", "yES\n"),
            ("y", "y\n"),
            ("08", "08\n"),
            ("010", "'010'\n"),
            ("1e3", "1e3\n"),
            ("1.0e+3", "'1.0e+3'\n"),
            ("1:30", "'1:30'\n"),
            ("2001-12-14", "'2001-12-14'\n"),
            ("a\u{0}b", "\"a\\0b\"\n"),
            ("x\n y", "\"x\\n y\"\n"),
            ("a\u{2028}b", "'a\u{2028}  b'\n"),
            ("a\u{85}b", "\"a\\Nb\"\n"),
            ("\u{7f}", "\"\\x7F\"\n"),
            ("tab\there", "\"tab\\there\"\n"),
        ];
        for (input, want) in cases {
            assert_eq!(s(input), want, "input {input:?}");
        }
    }

    // Same source as above, with `default_flow_style=False, indent=4` for TO_NICE_YAML.
    #[test]
    fn collections_nest_like_libyaml() {
        let v = |j: serde_json::Value| super::super::scope::json_to_value(&j);
        let nested = v(serde_json::json!({"nested": {"deep": {"deeper": ["x", {"y": 1}]}}}));
        assert_eq!(
            dump(&nested, YamlStyle::TO_YAML).unwrap(),
            "nested:\n  deep:\n    deeper:\n    - x\n    - {y: 1}\n"
        );
        assert_eq!(
            dump(&nested, YamlStyle::TO_NICE_YAML).unwrap(),
            "nested:\n    deep:\n        deeper:\n        - x\n        -   y: 1\n"
        );
        let list = v(serde_json::json!([[1, 2], {"a": "b"}]));
        assert_eq!(dump(&list, YamlStyle::TO_YAML).unwrap(), "- [1, 2]\n- {a: b}\n");
        assert_eq!(dump(&list, YamlStyle::TO_NICE_YAML).unwrap(), "-   - 1\n    - 2\n-   a: b\n");
        let empty = v(serde_json::json!({"a": [], "b": {}, "f": 1.0, "g": 1e20, "i": null, "j": true}));
        assert_eq!(
            dump(&empty, YamlStyle::TO_NICE_YAML).unwrap(),
            "a: []\nb: {}\nf: 1.0\ng: 1.0e+20\ni: null\nj: true\n"
        );
    }

    #[test]
    fn long_lines_fold_at_eighty_columns() {
        let long = format!("{} y", "x".repeat(90));
        assert_eq!(s(&long), format!("{}\n  y\n", "x".repeat(90)));
        let nums = Value::from_iter(0..40);
        assert_eq!(
            dump(&nums, YamlStyle::TO_YAML).unwrap(),
            "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,\n  23, 24, 25, 26, 27, \
             28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39]\n"
        );
    }
}
