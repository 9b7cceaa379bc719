//! HCL2 templates: the `*.pkr.hcl` files of one directory read as one template
//! (what `packer build <dir>` does), with `*.pkrvars.hcl` values applied.
//!
//! Expressions are evaluated only as far as they are static: literals, `var.x`,
//! `local.x`, `path.root`/`path.cwd`, and string templates made of those.
//! Function calls, conditions, `data.*`, `build.*` and the like are kept as
//! their source text (a [`Value::Expr`]); the variables they mention are still
//! noted so that secrets and undeclared names are visible.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use hcl_edit::Span;
use hcl_edit::expr::{Expression, FuncCall, ObjectKey, Traversal, TraversalOperator};
use hcl_edit::structure::{Block, Body, Structure};
use hcl_edit::template::Element;
use hcl_edit::visit::{self, Visit};
use regex::Regex;

use super::{
    Build, BuildSource, Builder, DataSource, Local, PackerTemplate, PostProcessor, Provisioner, RequiredPlugin,
    Setting, Shapes, TemplateFormat, Text, Value, VarValue, Variable,
};
use crate::diagnostics::{Code, Finding, codes};
use crate::model::Origin;
use crate::sensitive::Sensitive;
use crate::source::SourceFile;
use crate::source::hcl::{self as hcl_source, HclFile};

/// `data.amazon-ami.<name>.id`, the usual way to pick a source AMI by filter in HCL2.
static AMI_DATA_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^data\.amazon-ami\.([A-Za-z0-9_-]+)\.id$").expect("constant regex"));

/// How deep locals may refer to locals that refer to locals; deeper chains
/// (or cycles) are kept as written. Real templates stay under five.
const MAX_REFERENCE_DEPTH: usize = 32;

/// One parsed file with its repository path.
struct Parsed<'s> {
    path: Arc<str>,
    file: HclFile<'s>,
}

/// Where an expression is: its file, to turn spans into lines and source text.
#[derive(Clone, Copy)]
struct At<'a> {
    file: &'a HclFile<'a>,
    path: &'a Arc<str>,
}

impl At<'_> {
    fn origin(&self, node: &impl Span) -> Origin {
        Origin::new(self.path.clone(), self.file.line_of(node))
    }

    fn source(&self, node: &impl Span) -> String {
        self.file.source_of(node).to_string()
    }
}

/// Reads the HCL2 templates of directory `dir`.
pub(super) fn load_dir(
    dir: &str,
    files: &[&SourceFile],
    var_files: &[&SourceFile],
    findings: &mut Vec<Finding>,
) -> Vec<PackerTemplate> {
    let parsed = parse_all(files, findings);
    let parsed_vars = parse_all(var_files, findings);
    if parsed.is_empty() {
        return Vec::new();
    }
    let shown_dir = if dir.is_empty() { "." } else { dir };
    if let Some(clash) = first_clash(&parsed) {
        // `packer build <dir>` would refuse this directory; people build its
        // files one at a time, and then no var file is read automatically.
        findings.push(Finding::info(
            codes::UNEXPECTED_SHAPE,
            clash.path.as_ref(),
            clash.line,
            format!(
                "{} is declared in more than one file of `{shown_dir}`, so the directory is not one template; \
                 each file with a `build` block is read as a template of its own",
                clash.what
            ),
        ));
        return parsed
            .iter()
            .filter(|p| p.file.body.get_blocks("build").next().is_some())
            .map(|p| load_group(dir, p.path.clone(), &[p], &[], findings))
            .collect();
    }
    let refs: Vec<&Parsed<'_>> = parsed.iter().collect();
    let var_refs = choose_var_files(&parsed_vars, findings);
    vec![load_group(dir, Arc::from(shown_dir), &refs, &var_refs, findings)]
}

fn parse_all<'s>(files: &[&'s SourceFile], findings: &mut Vec<Finding>) -> Vec<Parsed<'s>> {
    let mut out = Vec::new();
    for f in files {
        let text = match f.text() {
            Ok(t) => t,
            Err(p) => {
                findings.push(p.to_finding(&f.rel));
                continue;
            }
        };
        match hcl_source::parse(text) {
            Ok(file) => out.push(Parsed { path: Arc::from(f.rel.as_str()), file }),
            Err(e) => findings.push(Finding::error(
                codes::INVALID_SYNTAX,
                &f.rel,
                e.line,
                format!("invalid HCL (column {}): {}", e.col, e.message),
            )),
        }
    }
    out
}

/// Auto var files always (in name order, as Packer reads them); a plain
/// `.pkrvars.hcl` needs `-var-file`, so it is applied only when it is the only
/// one: with several, which one the build passes cannot be known.
fn choose_var_files<'p, 's>(vars: &'p [Parsed<'s>], findings: &mut Vec<Finding>) -> Vec<&'p Parsed<'s>> {
    let (auto, plain): (Vec<&Parsed<'_>>, Vec<&Parsed<'_>>) =
        vars.iter().partition(|p| p.path.ends_with(".auto.pkrvars.hcl"));
    let mut chosen = auto;
    match plain.len() {
        0 => {}
        1 => chosen.extend(plain),
        _ => {
            let names: Vec<String> = plain.iter().map(|p| format!("`{}`", p.path)).collect();
            findings.push(Finding::info(
                codes::UNRESOLVED_REFERENCE,
                plain[0].path.as_ref(),
                0,
                format!(
                    "var files {} are alternatives for `-var-file`; values from none of them are used",
                    names.join(", ")
                ),
            ));
        }
    }
    chosen
}

struct Clash {
    what: String,
    path: Arc<str>,
    line: u32,
}

/// The first name declared in two different files (variables, locals,
/// sources, data sources), which makes `packer build <dir>` fail.
fn first_clash(parsed: &[Parsed<'_>]) -> Option<Clash> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, p) in parsed.iter().enumerate() {
        for (what, line) in declared_names(&p.file) {
            match seen.get(&what) {
                Some(&j) if j != i => return Some(Clash { what, path: p.path.clone(), line }),
                Some(_) => {}
                None => {
                    seen.insert(what, i);
                }
            }
        }
    }
    None
}

fn declared_names(file: &HclFile<'_>) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for block in file.body.blocks() {
        let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
        match (block.ident.as_str(), labels.as_slice()) {
            ("variable", [name]) => out.push((format!("variable `{name}`"), file.line_of(block))),
            ("source", [kind, name]) => out.push((format!("source `{kind}.{name}`"), file.line_of(block))),
            ("data", [kind, name]) => out.push((format!("data source `{kind}.{name}`"), file.line_of(block))),
            ("local", [name]) => out.push((format!("local `{name}`"), file.line_of(block))),
            ("locals", []) | ("variables", []) => {
                let kind = if block.ident.as_str() == "locals" { "local" } else { "variable" };
                for attr in block.body.attributes() {
                    out.push((format!("{kind} `{}`", attr.key.as_str()), file.line_of(attr)));
                }
            }
            _ => {}
        }
    }
    out
}

struct VarDecl {
    name: String,
    origin: Origin,
    type_expr: Option<String>,
    description: Option<String>,
    sensitive: bool,
    value: VarValue,
}

struct LocalDecl<'p> {
    name: String,
    origin: Origin,
    sensitive: bool,
    expr: &'p Expression,
    at: At<'p>,
}

/// Reads one template from `files`, applying `var_files` in order.
struct Loader<'p> {
    vars: Vec<VarDecl>,
    var_index: HashMap<String, usize>,
    locals: Vec<LocalDecl<'p>>,
    local_index: HashMap<String, usize>,
    /// Evaluated locals, and the ones being evaluated (cycle guard).
    local_values: RefCell<HashMap<String, Value>>,
    local_busy: RefCell<Vec<String>>,
    findings: RefCell<Vec<Finding>>,
}

fn load_group(
    dir: &str,
    path: Arc<str>,
    files: &[&Parsed<'_>],
    var_files: &[&Parsed<'_>],
    findings: &mut Vec<Finding>,
) -> PackerTemplate {
    let mut l = Loader {
        vars: Vec::new(),
        var_index: HashMap::new(),
        locals: Vec::new(),
        local_index: HashMap::new(),
        local_values: RefCell::new(HashMap::new()),
        local_busy: RefCell::new(Vec::new()),
        findings: RefCell::new(Vec::new()),
    };
    let mut template = PackerTemplate {
        path,
        dir: dir.to_string(),
        format: TemplateFormat::Hcl2,
        files: files.iter().map(|p| p.path.clone()).collect(),
        var_files: var_files.iter().map(|p| p.path.clone()).collect(),
        origin: Origin::new(files.first().map(|p| p.path.clone()).unwrap_or_else(|| Arc::from("")), 1),
        description: None,
        required_version: None,
        required_plugins: Vec::new(),
        variables: Vec::new(),
        locals: Vec::new(),
        data_sources: Vec::new(),
        builders: Vec::new(),
        builds: Vec::new(),
    };

    // Pass 1: declarations. Variables first (constants only), then var files,
    // then locals, which may use both.
    for p in files {
        let at = At { file: &p.file, path: &p.path };
        for s in p.file.body.iter() {
            match s {
                Structure::Attribute(a) => l.warn(
                    codes::UNEXPECTED_SHAPE,
                    &at.origin(a),
                    format!("top-level attribute `{}` is not part of a Packer template; ignored", a.key.as_str()),
                ),
                Structure::Block(b) => match b.ident.as_str() {
                    "variable" => l.declare_variable(at, b),
                    "variables" => {
                        for a in b.body.attributes() {
                            let value = l.eval(at, &a.value, true);
                            l.add_var(VarDecl {
                                name: a.key.as_str().to_string(),
                                origin: at.origin(a),
                                type_expr: None,
                                description: None,
                                sensitive: false,
                                value: VarValue::Plain { value, origin: at.origin(a) },
                            });
                        }
                    }
                    "packer" => l.packer_block(at, b, &mut template),
                    "locals" | "local" | "source" | "data" | "build" => {}
                    other => l.warn(
                        codes::UNEXPECTED_SHAPE,
                        &at.origin(b),
                        format!("unknown block `{other}`; Packer refuses it"),
                    ),
                },
            }
        }
    }
    for p in var_files {
        l.apply_var_file(At { file: &p.file, path: &p.path });
    }
    for p in files {
        let at = At { file: &p.file, path: &p.path };
        for b in p.file.body.blocks() {
            l.declare_locals(at, b);
        }
    }

    // Pass 2: everything that may use variables and locals.
    for p in files {
        let at = At { file: &p.file, path: &p.path };
        for b in p.file.body.blocks() {
            match b.ident.as_str() {
                "data" => {
                    if let Some((kind, name)) = l.two_labels(at, b, "data") {
                        template.data_sources.push(DataSource {
                            kind,
                            name,
                            origin: at.origin(b),
                            settings: l.settings(at, &b.body),
                        });
                    }
                }
                "source" => {
                    if let Some((kind, name)) = l.two_labels(at, b, "source") {
                        if let Some(first) = template.builders.iter().find(|x| x.kind == kind && x.name == name) {
                            let message = format!(
                                "source `{kind}.{name}` is declared again (first at {}); the first is used",
                                first.origin
                            );
                            l.warn(codes::UNEXPECTED_SHAPE, &at.origin(b), message);
                            continue;
                        }
                        let settings = l.settings(at, &b.body);
                        let mut sink = l.findings.borrow_mut();
                        let builder = Shapes { findings: &mut sink }.builder(
                            kind,
                            name,
                            at.origin(b),
                            settings,
                            TemplateFormat::Hcl2,
                        );
                        drop(sink);
                        template.builders.push(builder);
                    }
                }
                _ => {}
            }
        }
    }
    link_ami_data_sources(&mut template, &l);
    for p in files {
        let at = At { file: &p.file, path: &p.path };
        for b in p.file.body.get_blocks("build") {
            let build = l.build(at, b, &template.builders);
            template.builds.push(build);
        }
    }

    // Locals first: evaluating them reads `l.vars`, which the variables step drains.
    template.locals = l
        .locals
        .iter()
        .map(|d| {
            let value = l.local_value(&d.name).unwrap_or(Value::Null);
            let origin = d.origin.clone();
            Local {
                name: d.name.clone(),
                origin: d.origin.clone(),
                sensitive: d.sensitive,
                value: if d.sensitive {
                    VarValue::Secret { value: Sensitive::new(value), origin }
                } else {
                    VarValue::Plain { value, origin }
                },
            }
        })
        .collect();
    template.variables = l
        .vars
        .drain(..)
        .map(|v| Variable {
            name: v.name,
            origin: v.origin,
            type_expr: v.type_expr,
            description: v.description,
            sensitive: v.sensitive,
            value: v.value,
        })
        .collect();
    findings.extend(l.findings.into_inner());
    template
}

/// `source_ami = data.amazon-ami.x.id`: the data source's filter stands in for
/// a `source_ami_filter`, so the base image can be recognised from it.
fn link_ami_data_sources(template: &mut PackerTemplate, l: &Loader<'_>) {
    for b in &mut template.builders {
        let Some(amazon) = &mut b.amazon else { continue };
        if amazon.source_ami_filter.is_some() {
            continue;
        }
        let Some(name) = amazon.source_ami.as_ref().and_then(|t| AMI_DATA_REF.captures(&t.raw)).and_then(|c| c.get(1))
        else {
            continue;
        };
        let Some(data) = template.data_sources.iter().find(|d| d.kind == "amazon-ami" && d.name == name.as_str())
        else {
            continue;
        };
        let entries = data.settings.iter().map(|s| (s.key.clone(), s.value.clone())).collect();
        let body = Setting { key: "amazon-ami".into(), value: Value::Map(entries), origin: data.origin.clone() };
        let mut sink = l.findings.borrow_mut();
        let data_source = Some(format!("amazon-ami.{}", name.as_str()));
        amazon.source_ami_filter = Shapes { findings: &mut sink }.ami_filter(&body, data_source);
    }
}

impl<'p> Loader<'p> {
    fn warn(&self, code: Code, origin: &Origin, message: String) {
        self.findings.borrow_mut().push(Finding::warning(code, origin.path.as_ref(), origin.line, message));
    }

    fn two_labels(&self, at: At<'_>, b: &Block, what: &str) -> Option<(String, String)> {
        match b.labels.as_slice() {
            [kind, name] => Some((kind.as_str().to_string(), name.as_str().to_string())),
            _ => {
                self.warn(
                    codes::UNEXPECTED_SHAPE,
                    &at.origin(b),
                    format!("`{what}` block needs two labels (type and name), has {}; ignored", b.labels.len()),
                );
                None
            }
        }
    }

    fn add_var(&mut self, decl: VarDecl) {
        if let Some(&i) = self.var_index.get(&decl.name) {
            let first = &self.vars[i].origin;
            let message = format!("variable `{}` is declared again (first at {first}); the first is used", decl.name);
            self.warn(codes::UNEXPECTED_SHAPE, &decl.origin, message);
            return;
        }
        self.var_index.insert(decl.name.clone(), self.vars.len());
        self.vars.push(decl);
    }

    fn declare_variable(&mut self, at: At<'_>, b: &Block) {
        let [label] = b.labels.as_slice() else {
            let message = "`variable` block needs one label (its name); ignored".to_string();
            self.warn(codes::UNEXPECTED_SHAPE, &at.origin(b), message);
            return;
        };
        let origin = at.origin(b);
        let attr = |key: &str| b.body.get_attribute(key);
        let sensitive = attr("sensitive").is_some_and(|a| self.eval(at, &a.value, true).as_bool() == Some(true));
        let value = match attr("default") {
            None => VarValue::Unset,
            Some(a) => {
                let value = self.eval(at, &a.value, true);
                if sensitive {
                    VarValue::Secret { value: Sensitive::new(value), origin: at.origin(a) }
                } else {
                    VarValue::Plain { value, origin: at.origin(a) }
                }
            }
        };
        let description =
            attr("description").and_then(|a| self.eval(at, &a.value, true).text(&origin)).map(|t| t.resolved);
        self.add_var(VarDecl {
            name: label.as_str().to_string(),
            origin,
            type_expr: attr("type").map(|a| at.source(&a.value)),
            description,
            sensitive,
            value,
        });
    }

    fn apply_var_file(&mut self, at: At<'_>) {
        for s in at.file.body.iter() {
            let a = match s {
                Structure::Attribute(a) => a,
                Structure::Block(b) => {
                    self.warn(
                        codes::UNEXPECTED_SHAPE,
                        &at.origin(b),
                        format!("var file holds a `{}` block; only `name = value` lines are read", b.ident.as_str()),
                    );
                    continue;
                }
            };
            let name = a.key.as_str();
            let origin = at.origin(a);
            let Some(&i) = self.var_index.get(name) else {
                self.warn(
                    codes::UNRESOLVED_REFERENCE,
                    &origin,
                    format!("var file sets `{name}`, which no `variable` block declares; ignored"),
                );
                continue;
            };
            let value = self.eval(at, &a.value, true);
            self.vars[i].value = if self.vars[i].sensitive {
                VarValue::Secret { value: Sensitive::new(value), origin }
            } else {
                VarValue::Plain { value, origin }
            };
        }
    }

    fn declare_locals(&mut self, at: At<'p>, b: &'p Block) {
        let add = |l: &mut Loader<'p>, name: String, origin: Origin, sensitive: bool, expr: &'p Expression| {
            if let Some(&i) = l.local_index.get(&name) {
                let first = l.locals[i].origin.clone();
                l.warn(
                    codes::UNEXPECTED_SHAPE,
                    &origin,
                    format!("local `{name}` is declared again (first at {first}); the first is used"),
                );
                return;
            }
            l.local_index.insert(name.clone(), l.locals.len());
            l.locals.push(LocalDecl { name, origin, sensitive, expr, at });
        };
        match b.ident.as_str() {
            "locals" => {
                for a in b.body.attributes() {
                    add(self, a.key.as_str().to_string(), at.origin(a), false, &a.value);
                }
            }
            "local" => {
                let [label] = b.labels.as_slice() else {
                    self.warn(codes::UNEXPECTED_SHAPE, &at.origin(b), "`local` block needs one label; ignored".into());
                    return;
                };
                let Some(expr) = b.body.get_attribute("expression") else {
                    let message = "`local` block without `expression`; ignored".to_string();
                    self.warn(codes::UNEXPECTED_SHAPE, &at.origin(b), message);
                    return;
                };
                let sensitive = b
                    .body
                    .get_attribute("sensitive")
                    .is_some_and(|a| self.eval(at, &a.value, true).as_bool() == Some(true));
                add(self, label.as_str().to_string(), at.origin(b), sensitive, &expr.value);
            }
            _ => {}
        }
    }

    fn packer_block(&mut self, at: At<'_>, b: &Block, template: &mut PackerTemplate) {
        if let Some(a) = b.body.get_attribute("required_version") {
            template.required_version = self.eval(at, &a.value, true).text(&at.origin(a));
        }
        for req in b.body.get_blocks("required_plugins") {
            for a in req.body.attributes() {
                let origin = at.origin(a);
                let value = self.eval(at, &a.value, true);
                let field = |k: &str| value.get(k).and_then(|v| v.text(&origin));
                template.required_plugins.push(RequiredPlugin {
                    name: a.key.as_str().to_string(),
                    source: field("source"),
                    version: field("version"),
                    origin: origin.clone(),
                });
            }
        }
    }

    /// A body's attributes and nested blocks as settings, in file order.
    fn settings(&self, at: At<'_>, body: &Body) -> Vec<Setting> {
        body.iter()
            .map(|s| match s {
                Structure::Attribute(a) => Setting {
                    key: a.key.as_str().to_string(),
                    value: self.eval(at, &a.value, false),
                    origin: at.origin(a),
                },
                Structure::Block(b) => Setting {
                    key: b.ident.as_str().to_string(),
                    value: Value::Map(self.settings(at, &b.body).into_iter().map(|s| (s.key, s.value)).collect()),
                    origin: at.origin(b),
                },
            })
            .collect()
    }

    fn build(&self, at: At<'_>, b: &Block, builders: &[Builder]) -> Build {
        let mut build = Build {
            name: None,
            origin: at.origin(b),
            sources: Vec::new(),
            provisioners: Vec::new(),
            post_processors: Vec::new(),
        };
        for s in b.body.iter() {
            match s {
                Structure::Attribute(a) => match a.key.as_str() {
                    "name" => build.name = self.eval(at, &a.value, false).text(&at.origin(a)).map(|t| t.resolved),
                    "description" => {}
                    "sources" => {
                        let origin = at.origin(a);
                        let setting = Setting { key: "sources".into(), value: self.eval(at, &a.value, false), origin };
                        let mut sink = self.findings.borrow_mut();
                        let refs = Shapes { findings: &mut sink }.texts_of(&setting);
                        drop(sink);
                        for r in refs {
                            let reference = r.resolved.strip_prefix("source.").unwrap_or(&r.resolved).to_string();
                            build.sources.push(self.build_source(reference, None, r.origin, Vec::new(), builders));
                        }
                    }
                    other => self.warn(
                        codes::UNEXPECTED_SHAPE,
                        &at.origin(a),
                        format!("unknown `build` attribute `{other}`; ignored"),
                    ),
                },
                Structure::Block(inner) => self.build_block(at, inner, builders, &mut build),
            }
        }
        build
    }

    fn build_block(&self, at: At<'_>, inner: &Block, builders: &[Builder], build: &mut Build) {
        let origin = at.origin(inner);
        let label = inner.labels.first().map(|l| l.as_str().to_string());
        match (inner.ident.as_str(), label) {
            ("source", Some(reference)) => {
                let mut settings = self.settings(at, &inner.body);
                let name = super::setting(&settings, "name").and_then(|s| s.value.text(&s.origin)).map(|t| t.resolved);
                settings.retain(|s| s.key != "name");
                let reference = reference.strip_prefix("source.").unwrap_or(&reference).to_string();
                build.sources.push(self.build_source(reference, name, origin, settings, builders));
            }
            ("provisioner", Some(kind)) => {
                let p = self.provisioner(at, inner, kind);
                build.provisioners.push(p);
            }
            ("post-processor", Some(kind)) => {
                let pp = self.post_processor(at, inner, kind);
                build.post_processors.push(vec![pp]);
            }
            ("post-processors", None) => {
                let mut chain = Vec::new();
                for b in inner.body.blocks() {
                    match (b.ident.as_str(), b.labels.first()) {
                        ("post-processor", Some(kind)) => {
                            chain.push(self.post_processor(at, b, kind.as_str().to_string()));
                        }
                        _ => self.warn(
                            codes::UNEXPECTED_SHAPE,
                            &at.origin(b),
                            "`post-processors` holds only `post-processor \"type\"` blocks; ignored".into(),
                        ),
                    }
                }
                if !chain.is_empty() {
                    build.post_processors.push(chain);
                }
            }
            // Runs only when a build fails, and the registry is metadata: neither shapes the image.
            ("error-cleanup-provisioner", Some(_)) | ("hcp_packer_registry", _) => {}
            (ident, _) => self.warn(
                codes::UNEXPECTED_SHAPE,
                &origin,
                format!("`{ident}` block in `build` is not understood (wrong label count or unknown); ignored"),
            ),
        }
    }

    fn build_source(
        &self,
        reference: String,
        name: Option<String>,
        origin: Origin,
        settings: Vec<Setting>,
        builders: &[Builder],
    ) -> BuildSource {
        let builder = builders.iter().position(|b| b.reference() == reference);
        if builder.is_none() {
            self.warn(
                codes::UNRESOLVED_REFERENCE,
                &origin,
                format!("build uses source `{reference}`, which no `source` block declares"),
            );
        }
        BuildSource { reference, builder, name, origin, settings }
    }

    fn provisioner(&self, at: At<'_>, b: &Block, kind: String) -> Provisioner {
        let settings = self.settings(at, &b.body);
        let mut sink = self.findings.borrow_mut();
        Shapes { findings: &mut sink }.provisioner(kind, at.origin(b), settings)
    }

    fn post_processor(&self, at: At<'_>, b: &Block, kind: String) -> PostProcessor {
        let settings = self.settings(at, &b.body);
        let mut sink = self.findings.borrow_mut();
        Shapes { findings: &mut sink }.post_processor(kind, at.origin(b), settings)
    }

    // -----------------------------------------------------------------------
    // Expressions.

    /// Evaluates `expr` as far as it is static. `constant` is for variable
    /// defaults and var files, where Packer allows no references.
    fn eval(&self, at: At<'_>, expr: &Expression, constant: bool) -> Value {
        match expr {
            Expression::Null(_) => Value::Null,
            Expression::Bool(b) => Value::Bool(*b.value()),
            Expression::Number(n) => {
                let src = at.source(expr);
                Value::Number(if src.is_empty() { n.value().to_string() } else { src })
            }
            Expression::String(s) => {
                let mut text = Text::literal(s.value().clone(), at.origin(expr));
                text.raw = unquote(&at.source(expr));
                Value::Str(text)
            }
            Expression::StringTemplate(t) => {
                let raw = unquote(&at.source(expr));
                Value::Str(self.template(at, t.iter(), raw, at.origin(expr), constant))
            }
            Expression::HeredocTemplate(h) => {
                let mut h = (**h).clone();
                h.dedent();
                Value::Str(self.template(at, h.template.iter(), at.source(expr), at.origin(expr), constant))
            }
            Expression::Array(items) => Value::List(items.iter().map(|e| self.eval(at, e, constant)).collect()),
            Expression::Object(obj) => Value::Map(
                obj.iter()
                    .map(|(k, v)| (self.object_key(at, k, constant), self.eval(at, v.expr(), constant)))
                    .collect(),
            ),
            Expression::Parenthesis(p) => self.eval(at, p.inner(), constant),
            Expression::Traversal(t) if !constant => self.traversal(at, t, expr),
            _ => self.opaque(at, expr, constant),
        }
    }

    fn object_key(&self, at: At<'_>, key: &ObjectKey, constant: bool) -> String {
        match key {
            ObjectKey::Ident(i) => i.as_str().to_string(),
            ObjectKey::Expression(e) => match self.eval(at, e, constant) {
                Value::Str(t) if t.known => t.resolved,
                _ => unquote(&at.source(e)),
            },
        }
    }

    /// A string template: literals plus interpolations, resolved when every
    /// interpolation is; unknown ones stay as `${…}`.
    fn template<'e>(
        &self,
        at: At<'_>,
        elements: impl Iterator<Item = &'e Element>,
        raw: String,
        origin: Origin,
        constant: bool,
    ) -> Text {
        let mut text = Text::literal(raw, origin.clone());
        let mut out = String::new();
        let mut kept = false;
        for el in elements {
            match el {
                Element::Literal(s) => out.push_str(s.value()),
                Element::Interpolation(i) => match self.eval(at, &i.expr, constant) {
                    Value::Expr(t) => {
                        out.push_str(&format!("${{{}}}", t.resolved));
                        kept = true;
                        merge_refs(&mut text, &t);
                    }
                    v => match v.text(&origin) {
                        Some(t) => {
                            out.push_str(&t.resolved);
                            kept |= !t.known;
                            merge_refs(&mut text, &t);
                        }
                        None => {
                            out.push_str(&format!("${{{}}}", at.source(&i.expr)));
                            kept = true;
                        }
                    },
                },
                Element::Directive(_) => {
                    out.push_str(at.file.source_of(el));
                    kept = true;
                    let refs = self.refs_in(at, |v| visit::visit_element(v, el), constant);
                    merge_refs(&mut text, &refs);
                }
            }
        }
        text.resolved = out;
        text.known = !kept;
        text
    }

    fn traversal(&self, at: At<'_>, t: &Traversal, expr: &Expression) -> Value {
        let root = match &t.expr {
            Expression::Variable(v) => v.value().as_str(),
            _ => return self.opaque(at, expr, false),
        };
        let first = match t.operators.first().map(|o| o.value()) {
            Some(TraversalOperator::GetAttr(name)) => name.as_str(),
            _ => return self.opaque(at, expr, false),
        };
        let rest = &t.operators[1..];
        let base = match root {
            "var" => match self.var_value(first) {
                Ok(v) => v,
                Err(text) => return Value::Expr(self.opaque_text(at, expr, text)),
            },
            "local" => match self.local_ref(first) {
                Ok(v) => v,
                Err(text) => return Value::Expr(self.opaque_text(at, expr, text)),
            },
            "path" if rest.is_empty() && (first == "root" || first == "cwd") => {
                Value::Str(Text::literal(".", at.origin(expr)))
            }
            _ => return self.opaque(at, expr, false),
        };
        let mut value = base;
        for op in rest {
            let next = match op.value() {
                TraversalOperator::GetAttr(k) => value.get(k.as_str()).cloned(),
                TraversalOperator::LegacyIndex(i) => index(&value, **i as usize),
                TraversalOperator::Index(e) => match self.eval(at, e, false) {
                    Value::Number(n) => n.parse().ok().and_then(|i: usize| index(&value, i)),
                    Value::Str(k) if k.known => value.get(&k.resolved).cloned(),
                    _ => None,
                },
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => None,
            };
            match next {
                Some(v) => value = v,
                None => return self.opaque(at, expr, false),
            }
        }
        // A string keeps its value but takes the place and spelling of the use.
        match value {
            Value::Str(t) => Value::Str(Text { raw: at.source(expr), origin: at.origin(expr), ..t }),
            Value::Expr(t) => Value::Expr(Text { raw: at.source(expr), origin: at.origin(expr), ..t }),
            v => v,
        }
    }

    /// `var.name`: its value, or (as `Err`) what to note on an opaque text.
    fn var_value(&self, name: &str) -> Result<Value, RefNote> {
        let Some(&i) = self.var_index.get(name) else { return Err(RefNote::Undeclared(format!("var.{name}"))) };
        match &self.vars[i].value {
            VarValue::Unset => Err(RefNote::Unset(name.to_string())),
            VarValue::Secret { .. } => Err(RefNote::Secret(name.to_string())),
            VarValue::Plain { value, .. } => Ok(value.clone()),
        }
    }

    fn local_ref(&self, name: &str) -> Result<Value, RefNote> {
        let Some(&i) = self.local_index.get(name) else { return Err(RefNote::Undeclared(format!("local.{name}"))) };
        if self.locals[i].sensitive {
            return Err(RefNote::Secret(format!("local.{name}")));
        }
        self.local_value(name).ok_or(RefNote::Cycle(format!("local.{name}")))
    }

    /// The value of a local, evaluated once; `None` on a reference cycle.
    fn local_value(&self, name: &str) -> Option<Value> {
        if let Some(v) = self.local_values.borrow().get(name) {
            return Some(v.clone());
        }
        let &i = self.local_index.get(name)?;
        // A cycle, or a chain of locals deep enough to threaten the stack.
        let busy = self.local_busy.borrow();
        if busy.len() >= MAX_REFERENCE_DEPTH || busy.iter().any(|n| n == name) {
            return None;
        }
        drop(busy);
        self.local_busy.borrow_mut().push(name.to_string());
        let d = &self.locals[i];
        let value = self.eval(d.at, d.expr, false);
        self.local_busy.borrow_mut().pop();
        self.local_values.borrow_mut().insert(name.to_string(), value.clone());
        Some(value)
    }

    /// An expression kept as written, with the variables, locals and
    /// environment variables it mentions noted (and undeclared ones reported).
    fn opaque(&self, at: At<'_>, expr: &Expression, constant: bool) -> Value {
        let refs = self.refs_in(at, |v| visit::visit_expr(v, expr), constant);
        let mut text = Text::opaque(at.source(expr), at.origin(expr));
        merge_refs(&mut text, &refs);
        Value::Expr(text)
    }

    fn opaque_text(&self, at: At<'_>, expr: &Expression, note: RefNote) -> Text {
        let mut text = Text::opaque(at.source(expr), at.origin(expr));
        self.note(&mut text, note, &at.origin(expr));
        text
    }

    fn note(&self, text: &mut Text, note: RefNote, origin: &Origin) {
        match note {
            RefNote::Unset(n) => push_unique(&mut text.unset, n),
            RefNote::Secret(n) => push_unique(&mut text.secrets, n),
            RefNote::Undeclared(r) => self.warn(
                codes::UNRESOLVED_REFERENCE,
                origin,
                format!("`{r}` is not declared in this template; kept as written"),
            ),
            RefNote::Cycle(r) => self.warn(
                codes::UNRESOLVED_REFERENCE,
                origin,
                format!("`{r}` refers to itself (or nests too deep); kept as written"),
            ),
        }
    }

    /// What a sub-tree refers to: `var.*`, `local.*`, `env("…")`.
    fn refs_in(&self, at: At<'_>, walk: impl FnOnce(&mut RefCollector), constant: bool) -> Text {
        let mut collector = RefCollector::default();
        walk(&mut collector);
        let mut text = Text::opaque(String::new(), Origin::new(at.path.clone(), 0));
        for e in collector.env {
            push_unique(&mut text.env, e);
        }
        if !constant {
            for (root, name, offset) in collector.refs {
                let origin = Origin::new(at.path.clone(), at.file.line_at(offset));
                let note = match root.as_str() {
                    "var" => self.var_value(&name).err(),
                    "local" => match self.local_index.get(&name) {
                        None => Some(RefNote::Undeclared(format!("local.{name}"))),
                        Some(&i) if self.locals[i].sensitive => Some(RefNote::Secret(format!("local.{name}"))),
                        Some(_) => None,
                    },
                    _ => None,
                };
                if let Some(note) = note {
                    self.note(&mut text, note, &origin);
                }
            }
        }
        text
    }
}

/// Why a reference could not be substituted.
enum RefNote {
    Undeclared(String),
    Unset(String),
    Secret(String),
    Cycle(String),
}

/// Collects `var.x`/`local.x` traversals and `env("X")` calls in a sub-tree.
#[derive(Default)]
struct RefCollector {
    /// (root, name, byte offset)
    refs: Vec<(String, String, usize)>,
    env: Vec<String>,
}

impl Visit for RefCollector {
    fn visit_traversal(&mut self, node: &Traversal) {
        if let (Expression::Variable(root), Some(TraversalOperator::GetAttr(name))) =
            (&node.expr, node.operators.first().map(|o| o.value()))
        {
            let root = root.value().as_str();
            if root == "var" || root == "local" {
                let offset = node.span().map(|s| s.start).unwrap_or(0);
                self.refs.push((root.to_string(), name.as_str().to_string(), offset));
            }
        }
        visit::visit_traversal(self, node);
    }

    fn visit_func_call(&mut self, node: &FuncCall) {
        if node.name.name.as_str() == "env"
            && node.name.namespace.is_empty()
            && let Some(Expression::String(s)) = node.args.iter().next()
        {
            push_unique(&mut self.env, s.value().clone());
        }
        visit::visit_func_call(self, node);
    }
}

fn merge_refs(into: &mut Text, from: &Text) {
    for e in &from.env {
        push_unique(&mut into.env, e.clone());
    }
    for s in &from.secrets {
        push_unique(&mut into.secrets, s.clone());
    }
    for u in &from.unset {
        push_unique(&mut into.unset, u.clone());
    }
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

fn index(value: &Value, i: usize) -> Option<Value> {
    match value {
        Value::List(items) => items.get(i).cloned(),
        _ => None,
    }
}

/// A string literal's source without its quotes.
fn unquote(src: &str) -> String {
    src.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(src).to_string()
}
