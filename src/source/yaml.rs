//! Ansible-flavoured YAML: a node tree in which every node knows its line.
//!
//! Why not a serde YAML crate here: Ansible reads YAML with PyYAML, i.e. YAML 1.1
//! (`yes`/`no`/`on`/`off` are booleans, `0644` is octal, `<<` merges), it needs
//! the custom tags `!vault` and `!unsafe`, and every finding needs the line of
//! the node it is about. `saphyr-parser` (the maintained successor of
//! yaml-rust) gives events with spans, tags and scalar styles; this module
//! builds the tree from them. It is the only hand-written YAML code in the
//! project and it adds exactly what no crate offers: YAML 1.1 scalar
//! resolution, Ansible tags, and hard budgets so hostile input cannot exhaust
//! memory or the stack (alias expansion, nesting depth).
//!
//! Typed configuration (rule files, `migrate.yaml`) is read with serde-saphyr;
//! see `docs/yaml.md` for the choice.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use compact_str::CompactString;
use saphyr_parser::input::SkipTabs;
use saphyr_parser::{Event, Input, Parser, ScalarStyle, Span, SpannedEventReceiver, StrInput, Tag};

/// Deepest nesting accepted. Real playbooks stay under 30; the cap keeps
/// recursion over the tree (drop, clone, walk) far away from the stack limit.
pub const MAX_DEPTH: usize = 200;

/// Block nesting accepted by the cheap pre-scan that runs before the parser.
/// The parser recurses once per level (about 2 KiB of stack each), so a file of
/// `- - - - …` could overflow the stack before [`MAX_DEPTH`] is ever checked.
const MAX_PRESCAN_DEPTH: usize = 256;

/// Most nodes that alias expansion may create in one file (billion-laughs guard).
pub const MAX_ALIAS_NODES: usize = 100_000;

/// A YAML node with its (1-based) line in the file.
///
/// Kept small (32 bytes) because every stage that holds a tree holds hundreds
/// of thousands of them: strings up to 24 bytes (nearly every key and most
/// values) are stored inline instead of in an allocation of their own
/// (`CompactString`), children are exact-size boxes, the rare number text is
/// boxed, and the tag is one byte.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub line: u32,
    pub tag: NodeTag,
}

/// The Ansible-relevant tags. Other tags (`!!str`, custom ones) only matter
/// while the scalar is resolved, so their names are not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeTag {
    None,
    /// `!vault |` inline Ansible Vault ciphertext: always secret.
    Vault,
    /// `!unsafe`: a plain string that Jinja must never evaluate.
    Unsafe,
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string. Plain scalars that YAML 1.1 resolves to numbers keep their
    /// source text in `Number`, so `mode: 0644` can still be shown as written.
    Str(CompactString),
    Number(Box<NumberText>),
    Seq(Box<[Node]>),
    Map(Box<[(Node, Node)]>),
}

/// A plain scalar YAML 1.1 reads as a number, with the text it was written as.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberText {
    pub text: Box<str>,
    /// `Int` or `Float`.
    pub resolved: Value,
}

/// Why a YAML file could not be turned into nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: u32,
    pub col: u32,
    pub kind: YamlErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YamlErrorKind {
    /// The text is not valid YAML.
    Syntax,
    /// A safety budget was exceeded (alias expansion, depth).
    Limit,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A warning the parser can go on from (e.g. a duplicate key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlWarning {
    pub line: u32,
    pub message: String,
}

/// The documents of one file plus the warnings met while building them.
#[derive(Debug, Clone, Default)]
pub struct Documents {
    pub docs: Vec<Node>,
    pub warnings: Vec<YamlWarning>,
}

/// Parses every document of `text`.
pub fn parse(text: &str) -> Result<Documents, YamlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    prescan_depth(text)?;
    let mut builder = Builder::default();
    let mut parser = Parser::new(TextInput(StrInput::new(text)));
    if let Err(e) = parser.load(&mut builder, true) {
        // A budget breach stops building but the parser may still report a later
        // syntax error; the breach came first, so it wins.
        if let Some(err) = builder.error {
            return Err(err);
        }
        let m = e.marker();
        return Err(YamlError {
            line: m.line() as u32,
            col: m.col() as u32,
            kind: YamlErrorKind::Syntax,
            message: e.info().to_string(),
        });
    }
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(Documents { docs: builder.docs, warnings: builder.warnings })
}

/// The parser's input: `StrInput` (the whole text in memory) with a smaller declared
/// buffer. The scanner starts each plain scalar as a 32-byte string and then reserves
/// room for one buffer's worth of characters; with `StrInput`'s 128 that moved every
/// plain scalar (keys included) to a new allocation, about a tenth of the load's
/// instructions. The buffer size is only a batch size for the scanner's loops (it is
/// 16 for the crate's own iterator input): all of the text is available either way,
/// so the events are the same. Every other method is `StrInput`'s own.
struct TextInput<'a>(StrInput<'a>);

/// Characters the scanner may ask to look at in one go: the crate's `BufferedInput`
/// size, and small enough that a scalar's first reservation fits its first 32 bytes.
const TEXT_INPUT_BATCH: usize = 16;

impl Input for TextInput<'_> {
    #[inline]
    fn lookahead(&mut self, count: usize) {
        self.0.lookahead(count);
    }
    #[inline]
    fn buflen(&self) -> usize {
        self.0.buflen()
    }
    #[inline]
    fn bufmaxlen(&self) -> usize {
        TEXT_INPUT_BATCH
    }
    #[inline]
    fn buf_is_empty(&self) -> bool {
        self.0.buf_is_empty()
    }
    #[inline]
    fn raw_read_ch(&mut self) -> char {
        self.0.raw_read_ch()
    }
    #[inline]
    fn raw_read_non_breakz_ch(&mut self) -> Option<char> {
        self.0.raw_read_non_breakz_ch()
    }
    #[inline]
    fn skip(&mut self) {
        self.0.skip();
    }
    #[inline]
    fn skip_n(&mut self, count: usize) {
        self.0.skip_n(count);
    }
    #[inline]
    fn peek(&self) -> char {
        self.0.peek()
    }
    #[inline]
    fn peek_nth(&self, n: usize) -> char {
        self.0.peek_nth(n)
    }
    #[inline]
    fn peek_opt(&self) -> Option<char> {
        self.0.peek_opt()
    }
    #[inline]
    fn look_ch(&mut self) -> char {
        self.0.look_ch()
    }
    #[inline]
    fn next_char_is(&self, c: char) -> bool {
        self.0.next_char_is(c)
    }
    #[inline]
    fn nth_char_is(&self, n: usize, c: char) -> bool {
        self.0.nth_char_is(n, c)
    }
    #[inline]
    fn next_2_are(&self, c1: char, c2: char) -> bool {
        self.0.next_2_are(c1, c2)
    }
    #[inline]
    fn next_3_are(&self, c1: char, c2: char, c3: char) -> bool {
        self.0.next_3_are(c1, c2, c3)
    }
    #[inline]
    fn next_is_document_indicator(&self) -> bool {
        self.0.next_is_document_indicator()
    }
    #[inline]
    fn next_is_document_start(&self) -> bool {
        self.0.next_is_document_start()
    }
    #[inline]
    fn next_is_document_end(&self) -> bool {
        self.0.next_is_document_end()
    }
    #[inline]
    fn skip_ws_to_eol(&mut self, skip_tabs: SkipTabs) -> (usize, Result<SkipTabs, &'static str>) {
        self.0.skip_ws_to_eol(skip_tabs)
    }
    #[inline]
    fn next_can_be_plain_scalar(&self, in_flow: bool) -> bool {
        self.0.next_can_be_plain_scalar(in_flow)
    }
    #[inline]
    fn next_is_blank_or_break(&self) -> bool {
        self.0.next_is_blank_or_break()
    }
    #[inline]
    fn next_is_blank_or_breakz(&self) -> bool {
        self.0.next_is_blank_or_breakz()
    }
    #[inline]
    fn next_is_blank(&self) -> bool {
        self.0.next_is_blank()
    }
    #[inline]
    fn next_is_break(&self) -> bool {
        self.0.next_is_break()
    }
    #[inline]
    fn next_is_breakz(&self) -> bool {
        self.0.next_is_breakz()
    }
    #[inline]
    fn next_is_z(&self) -> bool {
        self.0.next_is_z()
    }
    #[inline]
    fn next_is_flow(&self) -> bool {
        self.0.next_is_flow()
    }
    #[inline]
    fn next_is_digit(&self) -> bool {
        self.0.next_is_digit()
    }
    #[inline]
    fn next_is_alpha(&self) -> bool {
        self.0.next_is_alpha()
    }
    #[inline]
    fn skip_while_non_breakz(&mut self) -> usize {
        self.0.skip_while_non_breakz()
    }
    #[inline]
    fn skip_while_blank(&mut self) -> usize {
        self.0.skip_while_blank()
    }
    #[inline]
    fn fetch_while_is_alpha(&mut self, out: &mut String) -> usize {
        self.0.fetch_while_is_alpha(out)
    }
    #[inline]
    fn fetch_while_is_yaml_non_space(&mut self, out: &mut String) -> usize {
        self.0.fetch_while_is_yaml_non_space(out)
    }
}

/// Bounds the block nesting depth from indentation alone, in one linear pass,
/// before the (recursive) parser sees the text. Each deeper indentation and
/// each compact `- `/`? ` indicator opens at most one level; block scalar
/// bodies (`|`, `>`) are skipped. Flow nesting is bounded by the parser itself.
fn prescan_depth(text: &str) -> Result<(), YamlError> {
    // A line indented by I spaces sits under at most I + 1 levels, and each compact
    // indicator after the indentation takes two bytes: a line of L bytes opens at most
    // L + 1 levels. With every line under MAX_PRESCAN_DEPTH - 1 bytes (nearly every
    // file) the limit cannot be reached, and a newline search replaces the scan.
    if lines_shorter_than(text, MAX_PRESCAN_DEPTH - 1) {
        return Ok(());
    }
    scan_depth(text)
}

/// The line-by-line scan of [`prescan_depth`].
fn scan_depth(text: &str) -> Result<(), YamlError> {
    let mut indents: Vec<usize> = Vec::new();
    let mut scalar_body_above: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(parent) = scalar_body_above {
            if indent > parent {
                continue;
            }
            scalar_body_above = None;
        }
        while indents.last().is_some_and(|&top| top >= indent) {
            indents.pop();
        }
        indents.push(indent);
        let mut rest = trimmed;
        let mut compact = 0;
        while let Some(r) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("? ")) {
            compact += 1;
            rest = r.trim_start_matches(' ');
        }
        if indents.len() + compact > MAX_PRESCAN_DEPTH {
            return Err(YamlError {
                line: i as u32 + 1,
                col: indent as u32,
                kind: YamlErrorKind::Limit,
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
            });
        }
        let body = rest.split(" #").next().unwrap_or(rest).trim_end();
        if is_block_scalar_header(body) {
            scalar_body_above = Some(indent);
        }
    }
    Ok(())
}

/// Whether every line of `text` is shorter than `limit` bytes.
fn lines_shorter_than(text: &str, limit: usize) -> bool {
    let mut start = 0;
    for newline in memchr::memchr_iter(b'\n', text.as_bytes()) {
        if newline - start >= limit {
            return false;
        }
        start = newline + 1;
    }
    text.len() - start < limit
}

/// `key: |`, `- >-`, `|2+`: the last token opens a literal or folded scalar.
fn is_block_scalar_header(body: &str) -> bool {
    let token = body.rsplit([' ', '\t']).next().unwrap_or(body);
    let mut chars = token.chars();
    matches!(chars.next(), Some('|' | '>')) && token.len() <= 3 && chars.all(|c| matches!(c, '1'..='9' | '+' | '-'))
}

/// A collection being built. Its children wait on the builder's shared stacks
/// (`items`, `entries`) from `start` on, and move into one exact-size box when the
/// collection ends: one allocation per collection, instead of a growing vector
/// per collection and a shrinking copy at its end.
enum Frame {
    Seq {
        line: u32,
        tag: NodeTag,
        anchor: usize,
        start: usize,
    },
    /// `merges` holds `<<` sources until the mapping ends: as in PyYAML, keys the
    /// mapping sets itself win over merged ones wherever they appear.
    Map {
        line: u32,
        tag: NodeTag,
        anchor: usize,
        start: usize,
        pending_key: Option<Node>,
        merges: Vec<Node>,
    },
}

#[derive(Default)]
struct Builder {
    docs: Vec<Node>,
    stack: Vec<Frame>,
    /// Items of the open sequences, innermost last.
    items: Vec<Node>,
    /// Entries of the open mappings, innermost last.
    entries: Vec<(Node, Node)>,
    anchors: HashMap<usize, (Node, usize)>,
    alias_nodes: usize,
    warnings: Vec<YamlWarning>,
    error: Option<YamlError>,
}

impl<'input> SpannedEventReceiver<'input> for Builder {
    fn on_event(&mut self, ev: Event<'input>, span: Span) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.handle(ev, span) {
            self.error = Some(e);
        }
    }
}

impl Builder {
    fn handle(&mut self, ev: Event<'_>, span: Span) -> Result<(), YamlError> {
        let line = span.start.line() as u32;
        let col = span.start.col() as u32;
        match ev {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) => {}
            Event::DocumentEnd => {}
            Event::Alias(id) => {
                let (node, size) = self.anchors.get(&id).cloned().ok_or_else(|| YamlError {
                    line,
                    col,
                    kind: YamlErrorKind::Syntax,
                    message: "alias refers to an unknown anchor".into(),
                })?;
                self.alias_nodes += size;
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(YamlError {
                        line,
                        col,
                        kind: YamlErrorKind::Limit,
                        message: format!(
                            "alias expansion exceeds {MAX_ALIAS_NODES} nodes (a \"billion laughs\" document?)"
                        ),
                    });
                }
                self.push_value(node, 0);
            }
            Event::Scalar(text, style, anchor, tag) => {
                let (tag, str_tag) = convert_tag(tag);
                let value = resolve_scalar(&text, style, tag, str_tag);
                let node = Node { value, line, tag };
                self.push_value(node, anchor);
            }
            Event::SequenceStart(anchor, tag) => {
                self.check_depth(line, col)?;
                let tag = convert_tag(tag).0;
                self.stack.push(Frame::Seq { line, tag, anchor, start: self.items.len() });
            }
            Event::MappingStart(anchor, tag) => {
                self.check_depth(line, col)?;
                let tag = convert_tag(tag).0;
                self.stack.push(Frame::Map {
                    line,
                    tag,
                    anchor,
                    start: self.entries.len(),
                    pending_key: None,
                    merges: Vec::new(),
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq { line, tag, anchor, start }) => {
                        // `Drain` knows its length: the box is allocated once, at its size.
                        let items: Box<[Node]> = self.items.drain(start..).collect();
                        (Node { value: Value::Seq(items), line, tag }, anchor)
                    }
                    Some(Frame::Map { line, tag, anchor, start, merges, .. }) => {
                        apply_merges(&mut self.entries, start, merges, &mut self.warnings);
                        let entries: Box<[(Node, Node)]> = self.entries.drain(start..).collect();
                        (Node { value: Value::Map(entries), line, tag }, anchor)
                    }
                    None => return Ok(()),
                };
                self.push_value(node, anchor);
            }
        }
        Ok(())
    }

    fn check_depth(&self, line: u32, col: u32) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError {
                line,
                col,
                kind: YamlErrorKind::Limit,
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
            });
        }
        Ok(())
    }

    /// Attaches a finished node to its parent (or ends a document). An anchored
    /// node is remembered with its size, for the alias budget; only anchored nodes
    /// are ever counted.
    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            let size = node.count();
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq { .. }) => self.items.push(node),
            Some(Frame::Map { start, pending_key, merges, .. }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) if is_merge_key(&key) => merges.push(node),
                Some(key) => insert_entry(&mut self.entries, *start, key, node, &mut self.warnings),
            },
        }
    }
}

fn is_merge_key(key: &Node) -> bool {
    key.tag == NodeTag::None && matches!(&key.value, Value::Str(s) if &**s == "<<")
}

/// Adds `key: value` to the mapping whose entries are `entries[start..]`; a repeated
/// key replaces the earlier value (PyYAML's behaviour) and is reported.
fn insert_entry(
    entries: &mut Vec<(Node, Node)>,
    start: usize,
    key: Node,
    value: Node,
    warnings: &mut Vec<YamlWarning>,
) {
    if let Some(slot) = entries[start..].iter_mut().find(|(k, _)| k.value == key.value) {
        if let Some(name) = key.as_str() {
            warnings.push(YamlWarning {
                line: key.line,
                message: format!("duplicate key `{name}` (first at line {}); the last value wins", slot.0.line),
            });
        }
        *slot = (key, value);
    } else {
        entries.push((key, value));
    }
}

/// Appends the keys of `<<` sources that the mapping (`entries[start..]`) does not set itself.
fn apply_merges(entries: &mut Vec<(Node, Node)>, start: usize, merges: Vec<Node>, warnings: &mut Vec<YamlWarning>) {
    for merge in merges {
        let line = merge.line;
        let sources = match merge.value {
            Value::Map(_) => vec![merge],
            Value::Seq(items) => items.into_vec(),
            _ => {
                warnings.push(YamlWarning { line, message: "`<<` merge needs a mapping".into() });
                continue;
            }
        };
        for source in sources {
            if let Value::Map(src_entries) = source.value {
                for (k, v) in src_entries.into_vec() {
                    if !entries[start..].iter().any(|(existing, _)| existing.value == k.value) {
                        entries.push((k, v));
                    }
                }
            }
        }
    }
}

/// The node tag, and whether the tag is `!!str` (a string whatever the text).
fn convert_tag(tag: Option<Cow<'_, Tag>>) -> (NodeTag, bool) {
    match tag {
        None => (NodeTag::None, false),
        Some(t) if t.handle == "!" && t.suffix == "vault" => (NodeTag::Vault, false),
        Some(t) if t.handle == "!" && t.suffix == "unsafe" => (NodeTag::Unsafe, false),
        Some(t) => {
            let is = |whole: &str| {
                whole.len() == t.handle.len() + t.suffix.len()
                    && whole.starts_with(&*t.handle)
                    && whole.ends_with(&*t.suffix)
            };
            (NodeTag::Other, is("tag:yaml.org,2002:str") || is("!!str"))
        }
    }
}

fn str_value(text: &str) -> Value {
    Value::Str(CompactString::from(text))
}

/// YAML 1.1 resolution of a scalar, as PyYAML (and so Ansible) does it.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: NodeTag, str_tag: bool) -> Value {
    if matches!(tag, NodeTag::Vault | NodeTag::Unsafe) || str_tag || style != ScalarStyle::Plain {
        return str_value(text);
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" | "y" | "Y" => {
            // PyYAML resolves y/Y as booleans only in its 1.1 spec table, not its
            // implicit resolver; Ansible sees them as strings.
            if text == "y" || text == "Y" {
                return str_value(text);
            }
            return Value::Bool(true);
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        _ => {}
    }
    if let Some(n) = resolve_int(text) {
        return Value::Number(Box::new(NumberText { text: Box::from(text), resolved: Value::Int(n) }));
    }
    if let Some(f) = resolve_float(text) {
        return Value::Number(Box::new(NumberText { text: Box::from(text), resolved: Value::Float(f) }));
    }
    str_value(text)
}

fn resolve_int(text: &str) -> Option<i64> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() || !body.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    let value = if let Some(hex) = clean.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(bin) = clean.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else if let Some(oct) = clean.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if clean.len() > 1 && clean.starts_with('0') {
        i64::from_str_radix(&clean[1..], 8).ok()?
    } else if clean.contains(':') {
        // Sexagesimal (YAML 1.1): 1:30 == 90.
        let mut acc: i64 = 0;
        for part in clean.split(':') {
            let p: i64 = part.parse().ok()?;
            if !(0..60).contains(&p) && acc != 0 {
                return None;
            }
            acc = acc.checked_mul(60)?.checked_add(p)?;
        }
        acc
    } else {
        if !clean.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        clean.parse().ok()?
    };
    Some(if neg { -value } else { value })
}

fn resolve_float(text: &str) -> Option<f64> {
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    // PyYAML's float pattern needs a dot: `1e5` stays a string, `1.0e5` is a float.
    let body = text.trim_start_matches(['-', '+']);
    if !body.contains('.') || !body.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    if !body.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+' | b'_')) {
        return None;
    }
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    clean.parse().ok()
}

impl Node {
    /// The string value of a scalar, including numbers and booleans as written
    /// (`0644`, `yes`); `None` for null, sequences and mappings.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            Value::Number(n) => Some(&n.text),
            _ => None,
        }
    }

    /// The scalar as text the way Ansible would stringify it, for free-form
    /// arguments and messages: booleans become `True`/`False` as in Python.
    pub fn scalar_text(&self) -> Option<Cow<'_, str>> {
        match &self.value {
            Value::Str(s) => Some(Cow::Borrowed(s)),
            Value::Number(n) => Some(Cow::Borrowed(&n.text)),
            Value::Bool(true) => Some(Cow::Borrowed("True")),
            Value::Bool(false) => Some(Cow::Borrowed("False")),
            Value::Int(i) => Some(Cow::Owned(i.to_string())),
            Value::Float(f) => Some(Cow::Owned(f.to_string())),
            Value::Null => None,
            Value::Seq(_) | Value::Map(_) => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// Looks up a string key in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
    }

    /// The mapping's entries whose keys are strings, in file order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.as_map().unwrap_or(&[]).iter().filter_map(|(k, v)| Some((k.as_str()?, v)))
    }

    /// Number of nodes in this subtree (used for the alias budget).
    pub fn count(&self) -> usize {
        1 + match &self.value {
            Value::Seq(items) => items.iter().map(Node::count).sum(),
            Value::Map(entries) => entries.iter().map(|(k, v)| k.count() + v.count()).sum(),
            _ => 0,
        }
    }

    /// A short name for the node's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) | Value::Number(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// Converts to JSON for templating and output. Vault ciphertext becomes a
    /// marker object so that it can never be mistaken for (or printed as) a value.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        if self.tag == NodeTag::Vault {
            return serde_json::json!({ "__ansible_vault": "(encrypted)" });
        }
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or(J::Null),
            Value::Str(s) => J::String(s.to_string()),
            Value::Number(n) => Node { value: n.resolved.clone(), line: self.line, tag: NodeTag::None }.to_json(),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    let key = k.scalar_text().map(|c| c.into_owned()).unwrap_or_else(|| "null".into());
                    map.insert(key, v.to_json());
                }
                J::Object(map)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree builder as it was before the shared stacks (a vector per collection,
    /// every collection counted), fed by the crate's own `StrInput` (not [`TextInput`]):
    /// the oracle for the equivalence test.
    mod oracle {
        use super::super::*;

        enum Frame {
            Seq {
                line: u32,
                tag: NodeTag,
                anchor: usize,
                items: Vec<Node>,
            },
            /// `merges` holds `<<` sources until the mapping ends: as in PyYAML, keys the
            /// mapping sets itself win over merged ones wherever they appear.
            Map {
                line: u32,
                tag: NodeTag,
                anchor: usize,
                entries: Vec<(Node, Node)>,
                pending_key: Option<Node>,
                merges: Vec<Node>,
            },
        }

        #[derive(Default)]
        struct Builder {
            docs: Vec<Node>,
            stack: Vec<Frame>,
            anchors: HashMap<usize, (Node, usize)>,
            alias_nodes: usize,
            warnings: Vec<YamlWarning>,
            error: Option<YamlError>,
        }

        impl<'input> SpannedEventReceiver<'input> for Builder {
            fn on_event(&mut self, ev: Event<'input>, span: Span) {
                if self.error.is_some() {
                    return;
                }
                if let Err(e) = self.handle(ev, span) {
                    self.error = Some(e);
                }
            }
        }

        impl Builder {
            fn handle(&mut self, ev: Event<'_>, span: Span) -> Result<(), YamlError> {
                let line = span.start.line() as u32;
                let col = span.start.col() as u32;
                match ev {
                    Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) => {}
                    Event::DocumentEnd => {}
                    Event::Alias(id) => {
                        let (node, size) = self.anchors.get(&id).cloned().ok_or_else(|| YamlError {
                            line,
                            col,
                            kind: YamlErrorKind::Syntax,
                            message: "alias refers to an unknown anchor".into(),
                        })?;
                        self.alias_nodes += size;
                        if self.alias_nodes > MAX_ALIAS_NODES {
                            return Err(YamlError {
                                line,
                                col,
                                kind: YamlErrorKind::Limit,
                                message: format!(
                                    "alias expansion exceeds {MAX_ALIAS_NODES} nodes (a \"billion laughs\" document?)"
                                ),
                            });
                        }
                        self.push_value(node, 0, size)?;
                    }
                    Event::Scalar(text, style, anchor, tag) => {
                        let (tag, str_tag) = convert_tag(tag);
                        let value = resolve_scalar(&text, style, tag, str_tag);
                        let node = Node { value, line, tag };
                        self.push_value(node, anchor, 1)?;
                    }
                    Event::SequenceStart(anchor, tag) => {
                        self.check_depth(line, col)?;
                        let tag = convert_tag(tag).0;
                        self.stack.push(Frame::Seq { line, tag, anchor, items: Vec::new() });
                    }
                    Event::MappingStart(anchor, tag) => {
                        self.check_depth(line, col)?;
                        let tag = convert_tag(tag).0;
                        self.stack.push(Frame::Map {
                            line,
                            tag,
                            anchor,
                            entries: Vec::new(),
                            pending_key: None,
                            merges: Vec::new(),
                        });
                    }
                    Event::SequenceEnd | Event::MappingEnd => {
                        let (node, anchor) = match self.stack.pop() {
                            Some(Frame::Seq { line, tag, anchor, items }) => {
                                (Node { value: Value::Seq(items.into_boxed_slice()), line, tag }, anchor)
                            }
                            Some(Frame::Map { line, tag, anchor, mut entries, merges, .. }) => {
                                apply_merges(&mut entries, 0, merges, &mut self.warnings);
                                (Node { value: Value::Map(entries.into_boxed_slice()), line, tag }, anchor)
                            }
                            None => return Ok(()),
                        };
                        let size = node.count();
                        self.push_value(node, anchor, size)?;
                    }
                }
                Ok(())
            }

            fn check_depth(&self, line: u32, col: u32) -> Result<(), YamlError> {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(YamlError {
                        line,
                        col,
                        kind: YamlErrorKind::Limit,
                        message: format!("nesting deeper than {MAX_DEPTH} levels"),
                    });
                }
                Ok(())
            }

            /// Attaches a finished node to its parent (or ends a document).
            fn push_value(&mut self, node: Node, anchor: usize, size: usize) -> Result<(), YamlError> {
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), size));
                }
                match self.stack.last_mut() {
                    None => self.docs.push(node),
                    Some(Frame::Seq { items, .. }) => items.push(node),
                    Some(Frame::Map { entries, pending_key, merges, .. }) => match pending_key.take() {
                        None => *pending_key = Some(node),
                        Some(key) if is_merge_key(&key) => merges.push(node),
                        Some(key) => insert_entry(entries, 0, key, node, &mut self.warnings),
                    },
                }
                Ok(())
            }
        }

        pub(super) fn parse(text: &str) -> Result<Documents, YamlError> {
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            prescan_depth(text)?;
            let mut builder = Builder::default();
            let mut parser = Parser::new_from_str(text);
            if let Err(e) = parser.load(&mut builder, true) {
                if let Some(err) = builder.error {
                    return Err(err);
                }
                let m = e.marker();
                return Err(YamlError {
                    line: m.line() as u32,
                    col: m.col() as u32,
                    kind: YamlErrorKind::Syntax,
                    message: e.info().to_string(),
                });
            }
            if let Some(err) = builder.error {
                return Err(err);
            }
            Ok(Documents { docs: builder.docs, warnings: builder.warnings })
        }
    }

    fn one(text: &str) -> Node {
        parse(text).unwrap().docs.remove(0)
    }

    #[test]
    fn nodes_carry_lines() {
        let doc = one("- hosts: web\n  tasks:\n    - name: x\n      apt: name=nginx\n");
        let play = &doc.as_seq().unwrap()[0];
        assert_eq!(play.line, 1);
        let task = &play.get("tasks").unwrap().as_seq().unwrap()[0];
        assert_eq!(task.line, 3);
        assert_eq!(task.get("apt").unwrap().line, 4);
    }

    #[test]
    fn yaml_1_1_scalars() {
        let doc = one("a: yes\nb: off\nc: 0644\nd: '0644'\ne: ~\nf: 1.5\ng: 0x1F\nh: y\ni: 1e5\n");
        assert_eq!(doc.get("a").unwrap().value, Value::Bool(true));
        assert_eq!(doc.get("b").unwrap().value, Value::Bool(false));
        let c = doc.get("c").unwrap();
        assert_eq!(c.as_str(), Some("0644"));
        assert_eq!(c.to_json(), serde_json::json!(420));
        assert_eq!(doc.get("d").unwrap().value, Value::Str("0644".into()));
        assert!(doc.get("e").unwrap().is_null());
        assert_eq!(doc.get("f").unwrap().to_json(), serde_json::json!(1.5));
        assert_eq!(doc.get("g").unwrap().to_json(), serde_json::json!(31));
        assert_eq!(doc.get("h").unwrap().value, Value::Str("y".into()));
        assert_eq!(doc.get("i").unwrap().value, Value::Str("1e5".into()));
    }

    #[test]
    fn vault_and_unsafe_tags() {
        let doc = one("p: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\nu: !unsafe '{{ x }}'\n");
        assert_eq!(doc.get("p").unwrap().tag, NodeTag::Vault);
        assert_eq!(doc.get("u").unwrap().tag, NodeTag::Unsafe);
        assert_eq!(doc.get("u").unwrap().as_str(), Some("{{ x }}"));
        assert!(doc.get("p").unwrap().to_json().to_string().contains("encrypted"));
    }

    #[test]
    fn merge_keys_and_duplicates() {
        let parsed = parse("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n  y: 4\n").unwrap();
        let m = parsed.docs[0].get("m").unwrap();
        assert_eq!(m.get("x").unwrap().to_json(), serde_json::json!(1));
        assert_eq!(m.get("y").unwrap().to_json(), serde_json::json!(4));
        assert_eq!(parsed.warnings.len(), 1);
        assert_eq!(parsed.warnings[0].line, 5);
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut text =
            String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        let names = ["b", "c", "d", "e", "f", "g", "h", "i"];
        let mut prev = "a";
        for n in names {
            text.push_str(&format!(
                "{n}: &{n} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            ));
            prev = n;
        }
        let err = parse(&text).unwrap_err();
        assert_eq!(err.kind, YamlErrorKind::Limit);
        assert!(err.message.contains("alias expansion"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "- ".repeat(100_000) + "x\n";
        let err = parse(&text).unwrap_err();
        assert_eq!(err.kind, YamlErrorKind::Limit);
        let flow = "[".repeat(5000);
        assert!(parse(&flow).is_err());
    }

    #[test]
    fn the_depth_shortcut_skips_only_texts_the_scan_accepts() {
        // The deepest texts whose lines are all under the shortcut's limit: one line per
        // indentation from 0 to `deepest`, then compact indicators up to the longest line.
        let limit = MAX_PRESCAN_DEPTH - 1;
        for deepest in 0..limit - 2 {
            let mut text = String::new();
            for indent in 0..=deepest {
                text.push_str(&" ".repeat(indent));
                text.push_str("k:\n");
            }
            text.push_str(&" ".repeat(deepest + 1));
            while text.len() - text.rfind('\n').map_or(0, |i| i + 1) + 3 < limit {
                text.push_str("- ");
            }
            text.push_str("x\n");
            assert!(lines_shorter_than(&text, limit), "deepest {deepest}");
            assert!(scan_depth(&text).is_ok(), "deepest {deepest}: the shortcut would skip a failure");
        }
        // One level more than the scan accepts needs a line over the limit.
        let mut text = String::new();
        for indent in 0..=MAX_PRESCAN_DEPTH {
            text.push_str(&" ".repeat(indent));
            text.push_str("k:\n");
        }
        assert!(!lines_shorter_than(&text, limit));
        assert_eq!(parse(&text).unwrap_err().kind, YamlErrorKind::Limit);
    }

    #[test]
    fn lines_shorter_than_counts_every_line() {
        assert!(lines_shorter_than("", 1));
        assert!(lines_shorter_than("ab\ncd\n", 3));
        assert!(!lines_shorter_than("ab\ncd\n", 2));
        assert!(!lines_shorter_than("a\nabc", 3), "the last line, without a newline");
        assert!(!lines_shorter_than("abc\na\n", 3), "the first line");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = parse("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert_eq!(err.kind, YamlErrorKind::Syntax);
        assert!(err.line >= 2, "{err:?}");
    }

    #[test]
    fn nodes_stay_small() {
        // Every stage that keeps a tree keeps hundreds of thousands of nodes.
        assert!(std::mem::size_of::<Node>() <= 32, "{}", std::mem::size_of::<Node>());
    }

    #[test]
    fn str_tags_keep_text_and_other_tags_are_marked() {
        let doc = one("a: !!str 0644\nb: !!str yes\nc: !custom 12\nd: !<tag:yaml.org,2002:str> 1.5\n");
        assert_eq!(doc.get("a").unwrap().value, Value::Str("0644".into()));
        assert_eq!(doc.get("b").unwrap().value, Value::Str("yes".into()));
        let c = doc.get("c").unwrap();
        assert_eq!((c.tag, c.to_json()), (NodeTag::Other, serde_json::json!(12)));
        assert_eq!(doc.get("d").unwrap().value, Value::Str("1.5".into()));
    }

    #[test]
    fn multiple_documents() {
        let parsed = parse("---\na: 1\n---\nb: 2\n").unwrap();
        assert_eq!(parsed.docs.len(), 2);
        assert_eq!(parsed.docs[1].line, 4);
    }

    /// Every node, line, tag, warning and error as the test compares them (`Debug`
    /// text, so that a NaN equals itself).
    fn shape(parsed: &Result<Documents, YamlError>) -> String {
        match parsed {
            Ok(d) => format!("{:?} {:?}", d.docs, d.warnings),
            Err(e) => format!("error {e:?}"),
        }
    }

    /// Random YAML from pieces that exercise the builder: nested block and flow
    /// collections, anchors, aliases, `<<` merges (of a mapping and of a list),
    /// duplicate keys, complex keys, tags, empty collections. Some texts are invalid
    /// on purpose: the error must be the same too.
    fn random_yaml(seed: &mut u64, depth: usize, indent: usize, anchors: &mut Vec<String>, out: &mut String) {
        fn next_in(seed: &mut u64, n: u64) -> u64 {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed % n
        }
        let pad = " ".repeat(indent);
        let keys = ["a", "b", "name", "<<", "a", "0644", "yes", "~"];
        let scalars = [
            "x",
            "1",
            "0x1F",
            "1.5",
            "'q'",
            "\"d\"",
            "yes",
            "~",
            "!!str 12",
            "!vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3031",
        ];
        let entries = 1 + next_in(seed, 4);
        let as_seq = next_in(seed, 2) == 0;
        for _ in 0..entries {
            out.push_str(&pad);
            if as_seq {
                out.push_str("- ");
            } else {
                let key = keys[next_in(seed, keys.len() as u64) as usize];
                if next_in(seed, 12) == 0 {
                    out.push_str("? [k, 1]\n");
                    out.push_str(&pad);
                    out.push_str(": ");
                } else {
                    out.push_str(key);
                    out.push_str(": ");
                }
            }
            if next_in(seed, 6) == 0 && !anchors.is_empty() {
                let a = anchors[next_in(seed, anchors.len() as u64) as usize].clone();
                if next_in(seed, 4) == 0 {
                    out.push_str(&format!("[*{a}, *{a}]\n"));
                } else {
                    out.push_str(&format!("*{a}\n"));
                }
                continue;
            }
            let anchor = if next_in(seed, 5) == 0 {
                let a = format!("n{}", anchors.len());
                out.push_str(&format!("&{a} "));
                Some(a)
            } else {
                None
            };
            match next_in(seed, if depth == 0 { 2 } else { 5 }) {
                0 | 1 => {
                    out.push_str(scalars[next_in(seed, scalars.len() as u64) as usize]);
                    out.push('\n');
                }
                2 => out.push_str(if next_in(seed, 2) == 0 { "{}\n" } else { "[]\n" }),
                3 => out.push_str("{a: 1, b: [2, {c: 3}], a: 4}\n"),
                _ => {
                    out.push('\n');
                    random_yaml(seed, depth - 1, indent + 2, anchors, out);
                }
            }
            if let Some(a) = anchor {
                anchors.push(a);
            }
        }
    }

    #[test]
    fn the_shared_stacks_build_the_trees_of_the_old_builder() {
        let mut texts: Vec<String> = vec![
            "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n  y: 4\n".into(),
            "a: &a [1, 2]\nb: &b {k: v}\nc: {<<: [*b, {k: w, z: 1}], z: 2}\nd: [*a, *a, *b]\n".into(),
            "m:\n  <<: 3\n  x: 1\n".into(),
            "? - a\n  - b\n: {c: d}\n? {e: f}\n: x\n".into(),
            "- [[[[]]], {}, {a: {b: {c: []}}}]\n- - - x\n    - y\n".into(),
            "---\na: 1\n...\n---\n- b\n--- &x c\n".into(),
            "a: *missing\n".into(),
            "a: [1, 2\nb: 3\n".into(),
            "a: 1\nb: 2\na: 3\nb: {x: 1, x: 2}\n".into(),
            "".into(),
            // Scalars around the input's batch sizes (16 and 128), block scalars indented
            // past both, plain scalars over several lines and ended by comments, documents.
            format!("k: {}\nl: {} # c\nm: {}\n", "x".repeat(15), "y".repeat(40), "z".repeat(300)),
            format!(
                "a:\n{p}b: |\n{p}  {}\n{p}  two\n\n{p}  three\nc: >-\n{p}  folded\n{p}  text\n",
                "w".repeat(200),
                p = " ".repeat(20)
            ),
            format!("a:\n{p}b: |2\n{p}    kept indent\n{p}  x\n", p = " ".repeat(140)),
            "plain scalar\n  continued here\n\n  and after a blank # comment\n".into(),
            "k: one two\n   three\nq: \"a\\tb \\u00e9 long long long long long long long long\"\nr: 'it''s'\n".into(),
            "- é ü 漢字 \u{1F600} plain with unicode that runs past sixteen characters\n- ---x\n- ...y\n".into(),
            "--- |\n  doc block\n--- >\n  folded doc\n...\n".into(),
            "a: b: c\n".into(),
            "k: \"unterminated\n".into(),
            "\tk: v\n".into(),
        ];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for dir in ["samples", "rules", "tests"] {
            for entry in walkdir::WalkDir::new(root.join(dir)).sort_by_file_name() {
                let entry = entry.unwrap();
                let name = entry.file_name().to_string_lossy();
                if name.ends_with(".yml") || name.ends_with(".yaml") {
                    texts.push(std::fs::read_to_string(entry.path()).unwrap());
                }
            }
        }
        assert!(texts.len() > 50, "{} texts", texts.len());
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..3000 {
            let mut text = String::new();
            random_yaml(&mut seed, 3, 0, &mut Vec::new(), &mut text);
            texts.push(text);
        }
        let mut with_anchor = 0;
        for text in &texts {
            let (new, old) = (parse(text), oracle::parse(text));
            assert_eq!(shape(&new), shape(&old), "{text}");
            with_anchor += usize::from(new.is_ok() && text.contains('*'));
        }
        assert!(with_anchor > 300, "only {with_anchor} texts with aliases parsed");
    }
}
