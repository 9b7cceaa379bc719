//! The container base image every generated image starts from, decided once.
//!
//! Owns the choice (migrate.yaml `base_image`, else the Packer builder's hint,
//! else a default) because two stages need it: `model::resolve` simulates the
//! image's Ansible facts for `when:`, and `rules` picks the package manager.
//! Does not: map the image to a package family (rules does) or report the
//! default (the caller turns [`BaseChoice::defaulted`] into a finding).

use serde::Serialize;

use crate::config::Config;

use super::{Origin, Project};

/// The default base image when neither `migrate.yaml` nor Packer names one.
pub const DEFAULT_BASE: &str = "debian:bookworm-slim";

/// The chosen base image and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseChoice {
    /// `debian:bookworm-slim`, `ubuntu:22.04`, `amazonlinux:2023`.
    pub image: String,
    /// The package manager named in migrate.yaml (`apt`, `dnf`, ...), if any.
    pub family: Option<String>,
    pub reason: String,
    pub origin: Option<Origin>,
    /// True when nothing named an image and [`DEFAULT_BASE`] was taken.
    pub defaulted: bool,
}

impl BaseChoice {
    /// The default, as if nothing named an image.
    pub fn default_image() -> BaseChoice {
        BaseChoice {
            image: DEFAULT_BASE.into(),
            family: None,
            reason: "default: no base image in migrate.yaml or Packer".into(),
            origin: None,
            defaulted: true,
        }
    }
}

/// `migrate.yaml`, else the first Packer builder (by template path) with a hint, else the default.
pub fn base_image(project: &Project, config: &Config) -> BaseChoice {
    if let Some(b) = &config.base_image {
        return BaseChoice {
            image: b.image.clone(),
            family: b.family.clone(),
            reason: "`base_image` in migrate.yaml".into(),
            origin: None,
            defaulted: false,
        };
    }
    let mut templates: Vec<_> = project.packer.iter().collect();
    templates.sort_by(|a, b| a.path.cmp(&b.path));
    for t in templates {
        for b in &t.builders {
            if let Some(h) = &b.base_image {
                return BaseChoice {
                    image: h.image.clone(),
                    family: None,
                    reason: format!(
                        "Packer `{}` starts from {} ({} = {})",
                        b.reference(),
                        h.distro,
                        h.field,
                        h.matched
                    ),
                    origin: Some(b.origin.clone()),
                    defaulted: false,
                };
            }
        }
    }
    BaseChoice::default_image()
}
