//! Packer templates, legacy JSON and HCL2, read into one model.
//!
//! Owns: finding every Packer template in a [`SourceSet`]; the typed model
//! (variables, builders/sources, builds, provisioners, post-processors), every
//! node with its [`Origin`]; working out values statically where they are known
//! (`{{user `x`}}`, `var.x`, `local.x`, `"${var.x}"`) and keeping them as written
//! where they are not; linking provisioner files (Ansible playbooks, shell
//! scripts, file sources) to repository paths; and a container base-image hint
//! per builder, from the table in `rules/base-images.yaml`.
//!
//! Must not: run Packer, read this process's environment (`{{env}}` and `env()`
//! stay references), read files outside the `SourceSet`, or interpret the
//! playbooks it links (that is the Ansible model's job). Values of sensitive
//! variables are held in [`Sensitive`] and never substituted into other values,
//! so no model text, summary or finding can contain them.
//!
//! `legacy` reads JSON templates and `hcl2` HCL2 directories; both produce
//! [`Setting`]s, from which `shapes` builds the format-independent parts
//! (provisioner kinds, Amazon source fields) so the two spellings cannot
//! drift. `link` then resolves provisioner files and base-image hints, and
//! `base_image` holds the table. `docs/packer.md` describes the decisions.

pub mod base_image;
mod hcl2;
mod legacy;
mod link;
mod shapes;

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use crate::diagnostics::{self, Finding, codes};
use crate::model::Origin;
use crate::sensitive::Sensitive;
use crate::source::{self, SourceFile, SourceSet};

pub use base_image::{BaseImageHint, BaseImageTable};
use shapes::Shapes;

/// Which syntax a template is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TemplateFormat {
    /// Legacy JSON (`builders`, `provisioners`, `post-processors`).
    Json,
    /// HCL2 (`source`, `build`, `variable` blocks in `*.pkr.hcl`).
    Hcl2,
}

/// One Packer template: a legacy JSON file, or the `*.pkr.hcl` files of one
/// directory (what `packer build <dir>` reads).
#[derive(Debug, Clone)]
pub struct PackerTemplate {
    /// The JSON file, or the HCL2 directory (`.` for the repository root); a
    /// single `.pkr.hcl` file when its directory cannot be one template.
    pub path: Arc<str>,
    /// The directory relative paths in the template are resolved against
    /// (Packer resolves them against the working directory; the loader assumes
    /// it is run from the template's directory, as `{{template_dir}}` and
    /// `${path.root}` spell out).
    pub dir: String,
    pub format: TemplateFormat,
    /// The files the template is made of, in path order.
    pub files: Vec<Arc<str>>,
    /// `*.pkrvars.hcl` files whose values were applied, in the order applied.
    pub var_files: Vec<Arc<str>>,
    /// The template as a whole: the JSON file's first line, the first HCL2 file's first line.
    pub origin: Origin,
    pub description: Option<Text>,
    /// HCL2 `packer { required_version }`; JSON `min_packer_version`.
    pub required_version: Option<Text>,
    pub required_plugins: Vec<RequiredPlugin>,
    pub variables: Vec<Variable>,
    /// HCL2 `locals`/`local` (empty for JSON).
    pub locals: Vec<Local>,
    /// HCL2 `data` sources (empty for JSON).
    pub data_sources: Vec<DataSource>,
    /// JSON `builders`, HCL2 `source` blocks.
    pub builders: Vec<Builder>,
    /// HCL2 `build` blocks; a JSON template has one build over all its builders.
    pub builds: Vec<Build>,
}

/// A string value as written and as far as it could be worked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// As written (without the quotes of a string literal).
    pub raw: String,
    /// With every reference the loader could work out substituted; the others
    /// are left as written (`{{env `HOME`}}`, `${var.unset}`, `{{.HTTPIP}}`).
    pub resolved: String,
    /// True when `resolved` is the value Packer would use: no reference is left.
    pub known: bool,
    /// Environment variables the value reads (`{{env `X`}}`, `env("X")`).
    pub env: Vec<String>,
    /// Sensitive variables the value refers to; they are never substituted.
    pub secrets: Vec<String>,
    /// Variables the value refers to that have no value (no default, no var file).
    pub unset: Vec<String>,
    pub origin: Origin,
}

impl Text {
    /// A literal that needs no resolving.
    pub fn literal(s: impl Into<String>, origin: Origin) -> Text {
        let s = s.into();
        Text {
            raw: s.clone(),
            resolved: s,
            known: true,
            env: Vec::new(),
            secrets: Vec::new(),
            unset: Vec::new(),
            origin,
        }
    }

    /// An expression the loader keeps as written.
    pub fn opaque(s: impl Into<String>, origin: Origin) -> Text {
        Text { known: false, ..Text::literal(s, origin) }
    }

    /// Why the value is not known, for messages (`None` when it is known).
    pub fn why_unknown(&self) -> Option<String> {
        if self.known {
            return None;
        }
        let list = |names: &[String]| names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        Some(if !self.secrets.is_empty() {
            format!("it uses sensitive variable {}", list(&self.secrets))
        } else if !self.unset.is_empty() {
            format!("variable {} has no default and no var file sets it", list(&self.unset))
        } else if !self.env.is_empty() {
            format!("it reads environment variable {}", list(&self.env))
        } else {
            "it is only known when Packer runs".to_string()
        })
    }
}

/// A setting's value. Strings keep their [`Text`]; expressions the loader does
/// not evaluate (function calls, conditions, `build.*`) are kept as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// A number as written.
    Number(String),
    Str(Text),
    List(Vec<Value>),
    /// A JSON object, an HCL object or nested block, in file order.
    Map(Vec<(String, Value)>),
    Expr(Text),
}

impl Value {
    /// The entry `key` of a map (the last one when repeated, as Packer reads it).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value as one string: strings, numbers and booleans; expressions kept
    /// as written. `None` for null, lists and maps.
    pub fn text(&self, origin: &Origin) -> Option<Text> {
        match self {
            Value::Str(t) | Value::Expr(t) => Some(t.clone()),
            Value::Number(n) => Some(Text::literal(n.clone(), origin.clone())),
            Value::Bool(b) => Some(Text::literal(b.to_string(), origin.clone())),
            Value::Null | Value::List(_) | Value::Map(_) => None,
        }
    }

    /// A boolean, also from the strings `"true"`/`"false"` legacy JSON often uses.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Str(t) if t.known => t.resolved.parse().ok(),
            _ => None,
        }
    }

    /// A short name for the value's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::Str(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a mapping",
            Value::Expr(_) => "an expression",
        }
    }
}

/// One key of a builder, provisioner or post-processor, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub key: String,
    pub value: Value,
    pub origin: Origin,
}

/// The last setting named `key`.
pub fn setting<'a>(settings: &'a [Setting], key: &str) -> Option<&'a Setting> {
    settings.iter().rev().find(|s| s.key == key)
}

/// An HCL2 `required_plugins` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct RequiredPlugin {
    pub name: String,
    pub source: Option<Text>,
    pub version: Option<Text>,
    pub origin: Origin,
}

/// A variable's value before any `-var` flag: its default, overridden by var files.
#[derive(Debug, Clone, PartialEq)]
pub enum VarValue {
    /// No default and no var file sets it: Packer needs `-var` or `PKR_VAR_*`.
    Unset,
    Plain {
        value: Value,
        origin: Origin,
    },
    /// A sensitive variable's value: never printed, never substituted.
    Secret {
        value: Sensitive<Value>,
        origin: Origin,
    },
}

/// A declared variable (JSON `variables`, HCL2 `variable`/`variables`).
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub name: String,
    pub origin: Origin,
    /// HCL2 `type`, as written.
    pub type_expr: Option<String>,
    pub description: Option<String>,
    /// HCL2 `sensitive = true`; JSON `sensitive-variables`.
    pub sensitive: bool,
    pub value: VarValue,
}

/// An HCL2 local value.
#[derive(Debug, Clone, PartialEq)]
pub struct Local {
    pub name: String,
    pub origin: Origin,
    pub sensitive: bool,
    pub value: VarValue,
}

/// An HCL2 `data` source (e.g. `amazon-ami`), kept generically.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSource {
    pub kind: String,
    pub name: String,
    pub origin: Origin,
    pub settings: Vec<Setting>,
}

/// A JSON builder or an HCL2 `source` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Builder {
    /// The builder type, e.g. `amazon-ebs`, `virtualbox-iso`, `docker`.
    pub kind: String,
    /// JSON `name` (the type when absent); the HCL2 source's second label.
    pub name: String,
    pub origin: Origin,
    /// The Amazon fields, for `amazon-*` builders.
    pub amazon: Option<AmazonSource>,
    /// The container base image suggested for what this builder starts from.
    pub base_image: Option<BaseImageHint>,
    /// Every setting as written (including the ones read into `amazon`).
    pub settings: Vec<Setting>,
    pub format: TemplateFormat,
}

impl Builder {
    /// How builds, `only` and `except` refer to it: `amazon-ebs.vm` in HCL2,
    /// the builder's name in JSON.
    pub fn reference(&self) -> String {
        match self.format {
            TemplateFormat::Hcl2 => format!("{}.{}", self.kind, self.name),
            TemplateFormat::Json => self.name.clone(),
        }
    }
}

/// What an `amazon-*` builder starts from and produces.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AmazonSource {
    pub source_ami: Option<Text>,
    pub source_ami_filter: Option<AmiFilter>,
    pub ami_name: Option<Text>,
    pub instance_type: Option<Text>,
    pub region: Option<Text>,
    pub ssh_username: Option<Text>,
}

/// A `source_ami_filter` (or the `amazon-ami` data source `source_ami` names).
#[derive(Debug, Clone, PartialEq)]
pub struct AmiFilter {
    pub origin: Origin,
    /// `filters.name`, the AMI name pattern.
    pub name: Option<Text>,
    /// Every filter, in file order.
    pub filters: Vec<(String, Text)>,
    pub owners: Vec<Text>,
    pub most_recent: Option<bool>,
    /// `amazon-ami.<name>` when the filter comes from a data source.
    pub data_source: Option<String>,
}

/// One build: HCL2 `build` block, or the implicit build of a JSON template.
#[derive(Debug, Clone, PartialEq)]
pub struct Build {
    pub name: Option<String>,
    pub origin: Origin,
    pub sources: Vec<BuildSource>,
    pub provisioners: Vec<Provisioner>,
    /// Post-processor chains: each inner list runs in sequence on one artifact.
    pub post_processors: Vec<Vec<PostProcessor>>,
}

/// A builder a build runs, with the settings the build overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildSource {
    /// `amazon-ebs.vm` (HCL2) or the builder's name (JSON).
    pub reference: String,
    /// The index in [`PackerTemplate::builders`], when the reference resolves.
    pub builder: Option<usize>,
    /// HCL2 `source "…" { name = … }`.
    pub name: Option<String>,
    pub origin: Origin,
    pub settings: Vec<Setting>,
}

/// A provisioner, with the parts the converter needs read into `action`.
#[derive(Debug, Clone, PartialEq)]
pub struct Provisioner {
    /// `shell`, `file`, `ansible`, `ansible-local`, `powershell`, ...
    pub kind: String,
    /// HCL2 `name`.
    pub name: Option<String>,
    pub origin: Origin,
    pub only: Vec<String>,
    pub except: Vec<String>,
    pub pause_before: Option<Text>,
    /// `override`: builder reference → settings that replace these for it.
    pub overrides: Vec<(String, Vec<Setting>)>,
    pub action: ProvisionerAction,
    /// Every setting as written.
    pub settings: Vec<Setting>,
}

/// What a provisioner does, for the kinds the converter understands.
#[derive(Debug, Clone, PartialEq)]
pub enum ProvisionerAction {
    /// `shell`, `shell-local`, `powershell`, `windows-shell`.
    Shell(ShellAction),
    /// `file`.
    File(FileAction),
    /// `ansible` (runs on the build host) and `ansible-local` (on the image).
    Ansible(AnsibleAction),
    /// Any other kind: see `settings`.
    Other,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShellAction {
    pub inline: Vec<Text>,
    /// `script`, then `scripts`, in order.
    pub scripts: Vec<FileRef>,
    pub environment_vars: Vec<Text>,
    pub execute_command: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileAction {
    /// `source` or `sources`; local files unless `direction` is `download`.
    pub sources: Vec<FileRef>,
    pub content: Option<Text>,
    pub destination: Option<Text>,
    pub direction: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnsibleAction {
    /// `playbook_file`, then `ansible-local`'s `playbook_files`.
    pub playbook_files: Vec<FileRef>,
    pub playbook_dir: Option<FileRef>,
    pub role_paths: Vec<FileRef>,
    pub galaxy_file: Option<FileRef>,
    pub extra_arguments: Vec<Text>,
    pub ansible_env_vars: Vec<Text>,
    pub inventory_groups: Vec<Text>,
    /// The playbooks linked into the model (one per resolvable playbook file).
    pub playbooks: Vec<PlaybookLink>,
}

/// A local file a provisioner names, and the repository file it resolves to.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRef {
    pub text: Text,
    /// Repository-relative path, when the name is known and inside the repository.
    pub path: Option<String>,
    /// Whether `path` exists (as a file or directory).
    pub exists: bool,
}

impl FileRef {
    fn new(text: Text) -> FileRef {
        FileRef { text, path: None, exists: false }
    }
}

/// An Ansible playbook a provisioner runs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PlaybookLink {
    /// Repository-relative path of the playbook.
    pub path: String,
    /// The provisioner that runs it.
    pub origin: Origin,
    pub exists: bool,
}

/// A post-processor.
#[derive(Debug, Clone, PartialEq)]
pub struct PostProcessor {
    pub kind: String,
    pub name: Option<String>,
    pub origin: Origin,
    pub only: Vec<String>,
    pub except: Vec<String>,
    pub keep_input_artifact: Option<bool>,
    pub settings: Vec<Setting>,
}

impl PackerTemplate {
    /// Every provisioner with the build it belongs to, in file order.
    pub fn provisioners(&self) -> impl Iterator<Item = (&Build, &Provisioner)> {
        self.builds.iter().flat_map(|b| b.provisioners.iter().map(move |p| (b, p)))
    }

    /// Every playbook an ansible/ansible-local provisioner runs.
    pub fn playbooks(&self) -> impl Iterator<Item = &PlaybookLink> {
        self.provisioners().flat_map(|(_, p)| match &p.action {
            ProvisionerAction::Ansible(a) => a.playbooks.as_slice(),
            _ => &[],
        })
    }

    /// The variable named `name`.
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }

    /// What `scan --format json` prints for this template. Variable values
    /// are left out altogether, so sensitive ones cannot leak.
    pub fn summary(&self) -> TemplateSummary {
        TemplateSummary {
            path: self.path.to_string(),
            format: self.format,
            files: self.files.iter().map(|f| f.to_string()).collect(),
            var_files: self.var_files.iter().map(|f| f.to_string()).collect(),
            builders: self
                .builders
                .iter()
                .map(|b| {
                    let amazon = b.amazon.as_ref();
                    BuilderSummary {
                        kind: b.kind.clone(),
                        name: b.name.clone(),
                        origin: b.origin.clone(),
                        source_ami: amazon.and_then(|a| a.source_ami.as_ref()).map(|t| t.resolved.clone()),
                        source_ami_filter: amazon
                            .and_then(|a| a.source_ami_filter.as_ref())
                            .and_then(|f| f.name.as_ref())
                            .map(|t| t.resolved.clone()),
                        base_image: b.base_image.as_ref().map(|h| h.image.clone()),
                    }
                })
                .collect(),
            provisioners: self
                .provisioners()
                .map(|(build, p)| ProvisionerSummary {
                    kind: p.kind.clone(),
                    origin: p.origin.clone(),
                    build: build.name.clone(),
                    playbooks: match &p.action {
                        ProvisionerAction::Ansible(a) => a.playbooks.iter().map(|l| l.path.clone()).collect(),
                        _ => Vec::new(),
                    },
                })
                .collect(),
            post_processors: self
                .builds
                .iter()
                .flat_map(|b| b.post_processors.iter().flatten())
                .map(|pp| PostProcessorSummary { kind: pp.kind.clone(), origin: pp.origin.clone() })
                .collect(),
            variables: self.variables.iter().map(|v| v.name.clone()).collect(),
        }
    }
}

/// One template in `scan --format json` (see `docs/packer.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateSummary {
    pub path: String,
    pub format: TemplateFormat,
    pub files: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub var_files: Vec<String>,
    pub builders: Vec<BuilderSummary>,
    pub provisioners: Vec<ProvisionerSummary>,
    pub post_processors: Vec<PostProcessorSummary>,
    /// Variable names only: values are never part of the summary.
    pub variables: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuilderSummary {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub origin: Origin,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ami: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ami_filter: Option<String>,
    pub base_image: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProvisionerSummary {
    #[serde(rename = "type")]
    pub kind: String,
    pub origin: Origin,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub playbooks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostProcessorSummary {
    #[serde(rename = "type")]
    pub kind: String,
    pub origin: Origin,
}

/// Every Packer template in the repository, sorted by path, and the findings
/// met while reading them (sorted). A broken template is reported and skipped;
/// it never stops the others. JSON files that are not Packer templates are
/// ignored without a word.
pub fn load(set: &SourceSet) -> (Vec<PackerTemplate>, Vec<Finding>) {
    load_with(set, BaseImageTable::builtin())
}

/// [`load`] with another base-image table.
pub fn load_with(set: &SourceSet, table: &BaseImageTable) -> (Vec<PackerTemplate>, Vec<Finding>) {
    let mut json_files: Vec<&SourceFile> = Vec::new();
    let mut hcl_dirs: BTreeMap<String, HclDir<'_>> = BTreeMap::new();
    for f in set.files() {
        let name = f.name();
        if name.ends_with(".pkr.hcl") {
            hcl_dirs.entry(source::parent(&f.rel).to_string()).or_default().templates.push(f);
        } else if name.ends_with(".pkrvars.hcl") {
            hcl_dirs.entry(source::parent(&f.rel).to_string()).or_default().var_files.push(f);
        } else if f.extension() == "json" && !name.ends_with(".pkrvars.json") {
            json_files.push(f);
        }
    }
    let json_results: Vec<Loaded> = json_files.par_iter().map(|f| load_json_file(f)).collect();
    let hcl_results: Vec<Loaded> = hcl_dirs
        .par_iter()
        .filter(|(_, d)| !d.templates.is_empty())
        .map(|(dir, d)| {
            let mut findings = Vec::new();
            let templates = hcl2::load_dir(dir, &d.templates, &d.var_files, &mut findings);
            (templates, findings)
        })
        .collect();
    let mut templates = Vec::new();
    let mut findings = Vec::new();
    for (t, f) in json_results.into_iter().chain(hcl_results) {
        templates.extend(t);
        findings.extend(f);
    }
    for t in &mut templates {
        link::link_files(set, t, &mut findings);
        link::hint_base_images(t, table, &mut findings);
    }
    templates.sort_by(|a, b| a.path.cmp(&b.path));
    diagnostics::normalize(&mut findings);
    (templates, findings)
}

type Loaded = (Vec<PackerTemplate>, Vec<Finding>);

#[derive(Default)]
struct HclDir<'s> {
    templates: Vec<&'s SourceFile>,
    var_files: Vec<&'s SourceFile>,
}

/// A `.json` file: a legacy template when its top level has `builders`.
/// Anything else is not Packer's and is left alone, errors included, unless
/// the file says it is Packer's (`*.pkr.json`, or a `"builders"` key in a
/// file that does not parse).
fn load_json_file(f: &SourceFile) -> Loaded {
    let claimed = f.name().ends_with(".pkr.json");
    let mut findings = Vec::new();
    let text = match f.text() {
        Ok(t) => t,
        Err(p) => {
            if claimed {
                findings.push(p.to_finding(&f.rel));
            }
            return (Vec::new(), findings);
        }
    };
    if !claimed && !text.contains("\"builders\"") {
        return (Vec::new(), findings);
    }
    let doc = match source::json::parse(text) {
        Ok(d) => d,
        Err(e) => {
            findings.push(Finding::error(
                codes::INVALID_SYNTAX,
                &f.rel,
                e.line,
                format!("invalid JSON in Packer template (column {}): {}", e.col, e.message),
            ));
            return (Vec::new(), findings);
        }
    };
    if doc.value.get("builders").is_none() {
        if claimed {
            findings.push(Finding::info(
                codes::UNEXPECTED_SHAPE,
                &f.rel,
                1,
                "HCL2 template in JSON syntax (no `builders` key): not read; only legacy JSON and `.pkr.hcl` are",
            ));
        }
        return (Vec::new(), findings);
    }
    let path: Arc<str> = Arc::from(f.rel.as_str());
    let template = legacy::load(path, &doc, &mut findings);
    (template.into_iter().collect(), findings)
}

#[cfg(test)]
mod tests;
