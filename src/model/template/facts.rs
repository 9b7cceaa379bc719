//! Ansible facts simulated for a container base image (`rules/facts.yaml`).
//!
//! Owns the typed reading of that file and the lookup of an image reference
//! (`debian:12-slim`, `docker.io/library/ubuntu:22.04`) to its facts. It does
//! not decide which base image a service gets (the converter does) and never
//! gathers facts from the machine it runs on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

const FACTS_YAML: &str = include_str!("../../../rules/facts.yaml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FactsFile {
    common: BTreeMap<String, Json>,
    placeholders: BTreeMap<String, Json>,
    runtime_only: Vec<String>,
    images: Vec<ImageEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageEntry {
    id: String,
    refs: Vec<String>,
    os_family: String,
    distribution: String,
    distribution_major_version: String,
    #[serde(default)]
    distribution_minor_version: Option<String>,
    distribution_version: String,
    distribution_release: String,
    pkg_mgr: String,
    service_mgr: String,
    python_version: String,
}

static FILE: LazyLock<Result<FactsFile, String>> =
    LazyLock::new(|| serde_saphyr::from_str::<FactsFile>(FACTS_YAML).map_err(|e| format!("rules/facts.yaml: {e}")));

/// The facts of one base image, keyed without the `ansible_` prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    image_id: String,
    values: BTreeMap<String, Json>,
    placeholders: BTreeSet<String>,
    runtime_only: BTreeSet<String>,
}

impl Facts {
    /// Facts for an image reference, or `None` when the image is not in
    /// `rules/facts.yaml`. Registry (`docker.io/library/`) and digest are
    /// ignored; a tag that extends a known one (`debian:12.5-slim`,
    /// `alpine:3.21.3`) matches it.
    pub fn for_image(reference: &str) -> Result<Option<Facts>, String> {
        let file = FILE.as_ref().map_err(Clone::clone)?;
        let wanted = normalise_ref(reference);
        let exact = file.images.iter().find(|img| img.refs.iter().any(|r| normalise_ref(r) == wanted));
        // Otherwise the longest known reference the tag extends wins
        // (`alpine:3.21.3` is `alpine:3.21`, not `alpine:3`).
        let entry = exact.or_else(|| {
            file.images
                .iter()
                .flat_map(|img| img.refs.iter().map(move |r| (img, normalise_ref(r))))
                .filter(|(_, r)| wanted.strip_prefix(r.as_str()).is_some_and(|rest| rest.starts_with(['.', '-'])))
                .max_by_key(|(_, r)| r.len())
                .map(|(img, _)| img)
        });
        Ok(entry.map(|e| Facts::build(file, e)))
    }

    /// Facts by the `id` used in `rules/facts.yaml` (`debian-12`).
    pub fn by_id(id: &str) -> Result<Option<Facts>, String> {
        let file = FILE.as_ref().map_err(Clone::clone)?;
        Ok(file.images.iter().find(|img| img.id == id).map(|e| Facts::build(file, e)))
    }

    /// Every image id and the references that select it, in file order.
    pub fn known_images() -> Result<Vec<(String, Vec<String>)>, String> {
        let file = FILE.as_ref().map_err(Clone::clone)?;
        Ok(file.images.iter().map(|i| (i.id.clone(), i.refs.clone())).collect())
    }

    fn build(file: &FactsFile, e: &ImageEntry) -> Facts {
        let mut values: BTreeMap<String, Json> = file.common.clone();
        let str_facts = [
            ("os_family", &e.os_family),
            ("distribution", &e.distribution),
            ("distribution_major_version", &e.distribution_major_version),
            ("distribution_version", &e.distribution_version),
            ("distribution_release", &e.distribution_release),
            ("pkg_mgr", &e.pkg_mgr),
            ("service_mgr", &e.service_mgr),
            ("python_version", &e.python_version),
        ];
        for (k, v) in str_facts {
            values.insert(k.to_string(), Json::String(v.clone()));
        }
        if let Some(minor) = &e.distribution_minor_version {
            values.insert("distribution_minor_version".into(), Json::String(minor.clone()));
        }
        values.insert("python".into(), python_fact(&e.python_version));
        for (k, v) in &file.placeholders {
            values.insert(k.clone(), v.clone());
        }
        Facts {
            image_id: e.id.clone(),
            values,
            placeholders: file.placeholders.keys().cloned().collect(),
            runtime_only: file.runtime_only.iter().cloned().collect(),
        }
    }

    pub fn image_id(&self) -> &str {
        &self.image_id
    }

    /// A fact by name, with or without the `ansible_` prefix.
    pub fn get(&self, name: &str) -> Option<&Json> {
        self.values.get(name.strip_prefix("ansible_").unwrap_or(name))
    }

    /// All facts, prefix-less names, sorted.
    pub fn values(&self) -> &BTreeMap<String, Json> {
        &self.values
    }

    /// Facts whose value is a stand-in (`hostname`): using one is reported.
    pub fn is_placeholder(&self, name: &str) -> bool {
        self.placeholders.contains(name.strip_prefix("ansible_").unwrap_or(name))
    }

    /// Facts that only the running machine knows (`default_ipv4`).
    pub fn is_runtime_only(&self, name: &str) -> bool {
        self.runtime_only.contains(name.strip_prefix("ansible_").unwrap_or(name))
    }

    pub fn runtime_only(&self) -> impl Iterator<Item = &str> {
        self.runtime_only.iter().map(String::as_str)
    }

    /// The `ansible_facts` dictionary (prefix-less keys), as JSON.
    pub fn to_ansible_facts(&self) -> Map<String, Json> {
        self.values.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

fn normalise_ref(r: &str) -> String {
    let r = r.trim().to_ascii_lowercase();
    let r = r.split('@').next().unwrap_or_default();
    let r = r.strip_prefix("docker.io/").unwrap_or(r);
    let r = r.strip_prefix("library/").unwrap_or(r);
    r.to_string()
}

/// `ansible_python` as the setup module reports it for the image's python3.
fn python_fact(version: &str) -> Json {
    let mut parts = version.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    let (major, minor, micro) = (parts.next().unwrap_or(3), parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    json!({
        "executable": "/usr/bin/python3",
        "has_sslcontext": true,
        "type": "cpython",
        "version": {"major": major, "micro": micro, "minor": minor, "releaselevel": "final", "serial": 0},
        "version_info": [major, minor, micro, "final", 0],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(image: &str, name: &str) -> String {
        let facts = Facts::for_image(image).unwrap().unwrap_or_else(|| panic!("no facts for {image}"));
        facts.get(name).and_then(Json::as_str).unwrap_or_default().to_string()
    }

    #[test]
    fn the_rules_file_parses_and_every_image_is_complete() {
        let images = Facts::known_images().unwrap();
        assert!(images.len() >= 9);
        let mut seen = BTreeSet::new();
        for (id, refs) in images {
            assert!(seen.insert(id.clone()), "duplicate id {id}");
            for r in refs {
                assert_eq!(Facts::for_image(&r).unwrap().unwrap().image_id(), id, "{r}");
            }
        }
    }

    // Values from ansible-core 2.19.14's Distribution collector (see the header of
    // rules/facts.yaml); Debian 12 also from `ansible localhost -m setup` on this machine.
    #[test]
    fn distribution_facts_match_ansible() {
        assert_eq!(fact("debian:12-slim", "ansible_os_family"), "Debian");
        assert_eq!(fact("docker.io/library/debian:bookworm", "distribution_release"), "bookworm");
        assert_eq!(fact("debian:12.5-slim", "distribution_major_version"), "12");
        assert_eq!(fact("ubuntu:22.04", "distribution"), "Ubuntu");
        assert_eq!(fact("ubuntu:24.04", "distribution_release"), "noble");
        assert_eq!(fact("amazonlinux:2023", "distribution"), "Amazon");
        assert_eq!(fact("amazonlinux:2023", "os_family"), "RedHat");
        assert_eq!(fact("amazonlinux:2023", "pkg_mgr"), "dnf");
        assert_eq!(fact("amazonlinux:2", "distribution_release"), "NA");
        assert_eq!(fact("rockylinux:9", "distribution"), "Rocky");
        assert_eq!(fact("alpine:3.21.3", "distribution_version"), "3.21.3");
        assert_eq!(fact("alpine:3.20", "os_family"), "Alpine");
        assert!(Facts::for_image("centos:7").unwrap().is_none());
        assert!(Facts::for_image("debian:latest").unwrap().is_none());
    }

    #[test]
    fn python_fact_has_the_setup_module_shape() {
        let f = Facts::for_image("debian:12").unwrap().unwrap();
        assert_eq!(f.get("python").unwrap()["version"]["minor"], json!(11));
        assert_eq!(f.get("ansible_python_version").unwrap(), "3.11.2");
        assert!(f.is_placeholder("ansible_hostname"));
        assert!(f.is_runtime_only("ansible_default_ipv4"));
    }
}
