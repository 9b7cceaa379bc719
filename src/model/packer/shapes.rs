//! The format-independent half of reading a template: from the [`Setting`]s
//! that `legacy` (JSON) and `hcl2` produce to provisioners, post-processors
//! and builders, so both spellings are read by the same code. Wrong shapes
//! (a map where a list belongs) become M008 findings, never panics.

use super::{
    AmazonSource, AmiFilter, AnsibleAction, Builder, FileAction, FileRef, PostProcessor, Provisioner,
    ProvisionerAction, Setting, ShellAction, TemplateFormat, Text, Value, setting,
};
use crate::diagnostics::{Finding, codes};
use crate::model::Origin;

/// Reads settings into model values, reporting wrong shapes as M008.
pub(super) struct Shapes<'f> {
    pub findings: &'f mut Vec<Finding>,
}

impl Shapes<'_> {
    fn shape(&mut self, s: &Setting, expected: &str) {
        self.findings.push(Finding::warning(
            codes::UNEXPECTED_SHAPE,
            s.origin.path.as_ref(),
            s.origin.line,
            format!("`{}` should be {expected}, not {}; ignored", s.key, s.value.kind()),
        ));
    }

    /// A string setting.
    fn text(&mut self, settings: &[Setting], key: &str) -> Option<Text> {
        let s = setting(settings, key)?;
        match &s.value {
            Value::Null => None,
            v => match v.text(&s.origin) {
                Some(t) => Some(t),
                None => {
                    self.shape(s, "a string");
                    None
                }
            },
        }
    }

    /// A list of strings (a single string is taken as a list of one; an
    /// expression such as `var.list` that could not be worked out is kept as one item).
    pub(super) fn texts(&mut self, settings: &[Setting], key: &str) -> Vec<Text> {
        let Some(s) = setting(settings, key) else { return Vec::new() };
        self.texts_of(s)
    }

    pub(super) fn texts_of(&mut self, s: &Setting) -> Vec<Text> {
        match &s.value {
            Value::Null => Vec::new(),
            Value::List(items) => {
                let mut out = Vec::new();
                for item in items {
                    match item.text(&s.origin) {
                        Some(t) => out.push(t),
                        None => {
                            self.shape(s, "a list of strings");
                            return out;
                        }
                    }
                }
                out
            }
            v => match v.text(&s.origin) {
                Some(t) => vec![t],
                None => {
                    self.shape(s, "a list of strings");
                    Vec::new()
                }
            },
        }
    }

    /// `only`/`except`: a list of names.
    fn names(&mut self, settings: &[Setting], key: &str) -> Vec<String> {
        self.texts(settings, key).into_iter().map(|t| t.resolved).collect()
    }

    fn bool(&mut self, settings: &[Setting], key: &str) -> Option<bool> {
        let s = setting(settings, key)?;
        let b = s.value.as_bool();
        if matches!(s.value, Value::Number(_) | Value::List(_) | Value::Map(_)) {
            self.shape(s, "a boolean");
        }
        b
    }

    /// `override`: builder reference → settings.
    fn overrides(&mut self, settings: &[Setting]) -> Vec<(String, Vec<Setting>)> {
        let Some(s) = setting(settings, "override") else { return Vec::new() };
        match &s.value {
            Value::Map(entries) => entries
                .iter()
                .filter_map(|(builder, v)| match v {
                    Value::Map(inner) => Some((builder.clone(), map_settings(inner, &s.origin))),
                    _ => {
                        self.shape(s, "a mapping of builder names to mappings");
                        None
                    }
                })
                .collect(),
            Value::Null => Vec::new(),
            _ => {
                self.shape(s, "a mapping of builder names to settings");
                Vec::new()
            }
        }
    }

    /// Builds a provisioner of `kind` from its settings.
    pub fn provisioner(&mut self, kind: String, origin: Origin, settings: Vec<Setting>) -> Provisioner {
        let action = match kind.as_str() {
            "shell" | "shell-local" | "powershell" | "windows-shell" => {
                let mut scripts: Vec<FileRef> = self.texts(&settings, "script").into_iter().map(FileRef::new).collect();
                scripts.extend(self.texts(&settings, "scripts").into_iter().map(FileRef::new));
                ProvisionerAction::Shell(ShellAction {
                    inline: self.texts(&settings, "inline"),
                    scripts,
                    environment_vars: self.texts(&settings, "environment_vars"),
                    execute_command: self.text(&settings, "execute_command"),
                })
            }
            "file" => {
                let mut sources: Vec<FileRef> = self.texts(&settings, "source").into_iter().map(FileRef::new).collect();
                sources.extend(self.texts(&settings, "sources").into_iter().map(FileRef::new));
                ProvisionerAction::File(FileAction {
                    sources,
                    content: self.text(&settings, "content"),
                    destination: self.text(&settings, "destination"),
                    direction: self.text(&settings, "direction"),
                })
            }
            "ansible" | "ansible-local" => {
                let mut playbook_files: Vec<FileRef> =
                    self.text(&settings, "playbook_file").into_iter().map(FileRef::new).collect();
                playbook_files.extend(self.texts(&settings, "playbook_files").into_iter().map(FileRef::new));
                if playbook_files.is_empty() {
                    self.findings.push(Finding::warning(
                        codes::UNEXPECTED_SHAPE,
                        origin.path.as_ref(),
                        origin.line,
                        format!("`{kind}` provisioner without `playbook_file`: no playbook to link"),
                    ));
                }
                // Legacy JSON writes `inventory_groups` as one comma-separated string.
                let inventory_groups = self
                    .texts(&settings, "inventory_groups")
                    .into_iter()
                    .flat_map(|t| {
                        if t.known && t.resolved.contains(',') {
                            t.resolved.split(',').map(|g| Text::literal(g.trim(), t.origin.clone())).collect()
                        } else {
                            vec![t]
                        }
                    })
                    .collect();
                ProvisionerAction::Ansible(AnsibleAction {
                    playbook_files,
                    playbook_dir: self.text(&settings, "playbook_dir").map(FileRef::new),
                    role_paths: self.texts(&settings, "role_paths").into_iter().map(FileRef::new).collect(),
                    galaxy_file: self.text(&settings, "galaxy_file").map(FileRef::new),
                    extra_arguments: self.texts(&settings, "extra_arguments"),
                    ansible_env_vars: self.texts(&settings, "ansible_env_vars"),
                    inventory_groups,
                    playbooks: Vec::new(),
                })
            }
            _ => ProvisionerAction::Other,
        };
        Provisioner {
            name: self.text(&settings, "name").map(|t| t.resolved),
            only: self.names(&settings, "only"),
            except: self.names(&settings, "except"),
            pause_before: self.text(&settings, "pause_before"),
            overrides: self.overrides(&settings),
            kind,
            origin,
            action,
            settings,
        }
    }

    /// Builds a post-processor of `kind` from its settings.
    pub fn post_processor(&mut self, kind: String, origin: Origin, settings: Vec<Setting>) -> PostProcessor {
        PostProcessor {
            name: self.text(&settings, "name").map(|t| t.resolved),
            only: self.names(&settings, "only"),
            except: self.names(&settings, "except"),
            keep_input_artifact: self.bool(&settings, "keep_input_artifact"),
            kind,
            origin,
            settings,
        }
    }

    /// Builds a builder; `amazon-*` builders get their Amazon fields read.
    pub fn builder(
        &mut self,
        kind: String,
        name: String,
        origin: Origin,
        settings: Vec<Setting>,
        format: TemplateFormat,
    ) -> Builder {
        let amazon = kind.starts_with("amazon-").then(|| AmazonSource {
            source_ami: self.text(&settings, "source_ami"),
            source_ami_filter: setting(&settings, "source_ami_filter").and_then(|s| self.ami_filter(s, None)),
            ami_name: self.text(&settings, "ami_name"),
            instance_type: self.text(&settings, "instance_type"),
            region: self.text(&settings, "region"),
            ssh_username: self.text(&settings, "ssh_username"),
        });
        Builder { kind, name, origin, amazon, base_image: None, settings, format }
    }

    /// Reads a `source_ami_filter` block/object, or an `amazon-ami` data source body.
    pub fn ami_filter(&mut self, s: &Setting, data_source: Option<String>) -> Option<AmiFilter> {
        let Value::Map(_) = &s.value else {
            self.shape(s, "a mapping with `filters`, `owners` and `most_recent`");
            return None;
        };
        let mut filter = AmiFilter {
            origin: s.origin.clone(),
            name: None,
            filters: Vec::new(),
            owners: Vec::new(),
            most_recent: None,
            data_source,
        };
        match s.value.get("filters") {
            Some(Value::Map(entries)) => {
                for (k, v) in entries {
                    if let Some(t) = v.text(&s.origin) {
                        if k == "name" {
                            filter.name = Some(t.clone());
                        }
                        filter.filters.push((k.clone(), t));
                    }
                }
            }
            Some(other @ (Value::Expr(_) | Value::Str(_))) => {
                // `filters = var.ami_filters` that could not be worked out.
                if let Some(t) = other.text(&s.origin) {
                    filter.filters.push((String::new(), t));
                }
            }
            _ => {}
        }
        if let Some(owners) = s.value.get("owners") {
            let owners_setting = Setting { key: "owners".into(), value: owners.clone(), origin: s.origin.clone() };
            filter.owners = self.texts_of(&owners_setting);
        }
        filter.most_recent = s.value.get("most_recent").and_then(Value::as_bool);
        Some(filter)
    }
}

fn map_settings(entries: &[(String, Value)], origin: &Origin) -> Vec<Setting> {
    entries
        .iter()
        .map(|(k, v)| Setting {
            key: k.clone(),
            value: v.clone(),
            origin: match v {
                Value::Str(t) | Value::Expr(t) => t.origin.clone(),
                _ => origin.clone(),
            },
        })
        .collect()
}
