//! Which container base image stands in for a builder's source VM image.
//!
//! The mapping is data, `rules/base-images.yaml`, embedded at build time and
//! read with serde-saphyr (`deny_unknown_fields`, so a typo in the table fails
//! its unit test instead of being ignored). This module only matches names
//! against it; it does not decide what a builder's source image *is* (that is
//! the loader's job) nor how the converter uses the hint.

use std::sync::OnceLock;

use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};

/// The table shipped with `migrate`.
const BUILTIN: &str = include_str!("../../../rules/base-images.yaml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    images: Vec<EntryFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFile {
    distro: String,
    #[serde(rename = "match")]
    pattern: String,
    image: String,
}

/// One row of the table: a distribution, the regex that recognises its image
/// names, and the container image to use instead.
#[derive(Debug, Clone)]
pub struct BaseImageEntry {
    pub distro: String,
    pub pattern: Regex,
    pub image: String,
}

/// The ordered table; the first matching entry wins.
#[derive(Debug, Clone, Default)]
pub struct BaseImageTable {
    entries: Vec<BaseImageEntry>,
    /// All patterns at once: one pass over a name finds every matching entry.
    set: Option<RegexSet>,
}

/// What the loader suggests as the container base image for one builder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseImageHint {
    /// The container image, e.g. `ubuntu:22.04`.
    pub image: String,
    /// The distribution the table recognised, e.g. `Ubuntu 22.04 LTS (Jammy Jellyfish)`.
    pub distro: String,
    /// The builder setting the name came from, e.g. `source_ami_filter.name`.
    pub field: String,
    /// The name that matched, as resolved.
    pub matched: String,
}

impl BaseImageTable {
    /// Reads a table in the format of `rules/base-images.yaml`.
    pub fn parse(text: &str) -> Result<BaseImageTable, String> {
        let file: TableFile = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let mut entries = Vec::with_capacity(file.images.len());
        for e in file.images {
            let pattern = Regex::new(&e.pattern).map_err(|err| format!("`{}`: {err}", e.distro))?;
            entries.push(BaseImageEntry { distro: e.distro, pattern, image: e.image });
        }
        let set = RegexSet::new(entries.iter().map(|e| e.pattern.as_str())).map_err(|e| e.to_string())?;
        Ok(BaseImageTable { entries, set: Some(set) })
    }

    /// The table in `rules/base-images.yaml`. Its validity is a unit test, so
    /// the empty fallback can only be reached by a broken build.
    pub fn builtin() -> &'static BaseImageTable {
        static TABLE: OnceLock<BaseImageTable> = OnceLock::new();
        TABLE.get_or_init(|| BaseImageTable::parse(BUILTIN).unwrap_or_default())
    }

    pub fn entries(&self) -> &[BaseImageEntry] {
        &self.entries
    }

    /// The first entry whose pattern matches `name`.
    pub fn lookup(&self, name: &str) -> Option<&BaseImageEntry> {
        let first = self.set.as_ref()?.matches(name).iter().next()?;
        self.entries.get(first)
    }

    /// The hint for the first candidate `(field, name)` that any entry matches.
    pub fn hint<'c>(&self, candidates: impl IntoIterator<Item = (&'c str, &'c str)>) -> Option<BaseImageHint> {
        candidates.into_iter().find_map(|(field, name)| {
            self.lookup(name).map(|e| BaseImageHint {
                image: e.image.clone(),
                distro: e.distro.clone(),
                field: field.to_string(),
                matched: name.to_string(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(name: &str) -> Option<&'static str> {
        BaseImageTable::builtin().lookup(name).map(|e| e.image.as_str())
    }

    #[test]
    fn builtin_table_parses() {
        let table = BaseImageTable::parse(BUILTIN).unwrap();
        assert!(table.entries().len() >= 20);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let text = "images:\n  - distro: x\n    match: x\n    image: x\n    tag: y\n";
        let err = BaseImageTable::parse(text).unwrap_err();
        assert!(err.contains("tag"), "{err}");
        assert!(BaseImageTable::parse("images:\n  - distro: x\n    match: '('\n    image: x\n").is_err());
    }

    #[test]
    fn ubuntu_ami_filters_and_isos() {
        assert_eq!(image("ubuntu/images/*ubuntu-jammy-22.04-amd64-server-*"), Some("ubuntu:22.04"));
        assert_eq!(image("ubuntu/images/hvm-ssd/ubuntu-focal-20.04-amd64-server-*"), Some("ubuntu:20.04"));
        assert_eq!(image("ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20240423"), Some("ubuntu:24.04"));
        assert_eq!(image("ubuntu/images/hvm-ssd/ubuntu-bionic-18.04-amd64-server-*"), Some("ubuntu:18.04"));
        assert_eq!(
            image("http://releases.ubuntu.com/jammy/ubuntu-22.04.1-live-server-amd64.iso"),
            Some("ubuntu:22.04")
        );
        assert_eq!(image("http://releases.ubuntu.com/kinetic/ubuntu-22.10-live-server-amd64.iso"), None);
    }

    #[test]
    fn debian_uses_codename_tags() {
        assert_eq!(image("debian-12-amd64-*"), Some("debian:bookworm-slim"));
        assert_eq!(image("debian-12-amd64-20230711-1438"), Some("debian:bookworm-slim"));
        assert_eq!(image("debian-11-amd64-*"), Some("debian:bullseye-slim"));
        assert_eq!(image("debian-10-amd64-*"), Some("debian:buster-slim"));
        assert_eq!(image("debian-stretch-hvm-x86_64-gp2-*"), Some("debian:stretch-slim"));
        assert_eq!(
            image("https://cdimage.debian.org/cdimage/archive/11.6.0/amd64/iso-cd/debian-11.6.0-amd64-netinst.iso"),
            Some("debian:bullseye-slim")
        );
        assert_eq!(image("debian-10.13.0-i386-netinst.iso"), Some("debian:buster-slim"));
    }

    #[test]
    fn amazon_linux_generations() {
        assert_eq!(image("amzn2-ami-hvm-*-x86_64-gp2"), Some("amazonlinux:2"));
        assert_eq!(image("amzn2-ami-kernel-5.10-hvm-2.0.*"), Some("amazonlinux:2"));
        assert_eq!(image("al2023-ami-2023.*-x86_64"), Some("amazonlinux:2023"));
        assert_eq!(image("al2023-ami-minimal-*"), Some("amazonlinux:2023"));
        assert_eq!(image("amzn-ami-hvm-2018.03.*"), Some("amazonlinux:2018.03"));
    }

    #[test]
    fn enterprise_linux_families() {
        assert_eq!(image("CentOS Stream 9 x86_64 20230501"), Some("quay.io/centos/centos:stream9"));
        assert_eq!(image("CentOS Linux 7 x86_64 HVM EBS ENA 2002_01-*"), Some("centos:7"));
        assert_eq!(image("Rocky-9-EC2-Base-9.2-20230513.0.x86_64"), Some("rockylinux:9"));
        assert_eq!(image("Rocky-8-EC2-Base-8.8-20230518.0.x86_64"), Some("rockylinux:8"));
        assert_eq!(image("AlmaLinux OS 9.2.20230513 x86_64"), Some("almalinux:9"));
        assert_eq!(image("AlmaLinux OS 8.8.20230524 x86_64"), Some("almalinux:8"));
        assert_eq!(image("RHEL-9.2.0_HVM-20230503-x86_64-41-Hourly2-GP2"), Some("registry.access.redhat.com/ubi9/ubi"));
        assert_eq!(image("RHEL-8.6.0_HVM-*"), Some("registry.access.redhat.com/ubi8/ubi"));
        assert_eq!(image("rhel-server-7.6-x86_64-dvd.iso"), Some("registry.access.redhat.com/ubi7/ubi"));
        assert_eq!(image("OL8.7-x86_64-HVM-2023-01-05"), Some("oraclelinux:8"));
        assert_eq!(
            image("https://yum.oracle.com/ISOS/OracleLinux/OL9/u1/x86_64/OracleLinux-R9-U1-x86_64-dvd.iso"),
            Some("oraclelinux:9")
        );
        assert_eq!(
            image("http://mirrors.dotsrc.org/oracle-linux/OL7/u9/x86_64/OracleLinux-R7-U9-Server-x86_64-dvd.iso"),
            Some("oraclelinux:7")
        );
        assert_eq!(image("OracleLinux-R6-U9-Server-i386-dvd.iso"), None);
    }

    #[test]
    fn unknown_names_have_no_image() {
        for name in ["ami-0931978297f275f71", "rhel6-base-0.1.46", "Windows_Server-2019-English-Full-Base-*", ""] {
            assert_eq!(image(name), None, "{name}");
        }
    }

    #[test]
    fn first_candidate_that_matches_wins() {
        let table = BaseImageTable::builtin();
        let hint = table.hint([("source_ami", "ami-123"), ("source_ami_filter.name", "debian-12-amd64-*")]).unwrap();
        assert_eq!(hint.image, "debian:bookworm-slim");
        assert_eq!(hint.field, "source_ami_filter.name");
    }
}
