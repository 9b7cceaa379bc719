//! The services catalog (`rules/services.yaml`): what the converter knows
//! about common VM daemons (packages per distro family, PID-1 command, user,
//! ports, stop signal, logs, health check, owned paths, disposition).
//!
//! Owns the file's schema and lookups by service name, package and program.
//! It decides nothing: [`super::split`] asks it questions.

use std::collections::{BTreeMap, HashMap};

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{RuleFileError, parse_rule_file};
use crate::spec::image::{LogStream, PackageFamily, ServiceKind};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    version: Spanned<u32>,
    /// Roles whose tasks only contribute container essentials.
    #[serde(default)]
    shared_roles: Vec<String>,
    /// Packages every image may need (CA certificates, locales).
    #[serde(default)]
    essential_packages: Vec<String>,
    services: Vec<Spanned<ServiceEntry>>,
}

/// One catalog entry.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceEntry {
    /// The catalog name; also the image name when a task names the service.
    pub name: String,
    /// Service names as `service:`/`systemd:` tasks spell them on each distro.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Regexes over service names (`^php(?P<version>[0-9.]+)-fpm$`); a
    /// `version` capture fills `{version}` in the command.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Program names (`ExecStart=` first word, without directories) that identify it.
    #[serde(default)]
    pub programs: Vec<String>,
    /// The daemon's packages per family; installing one means the VM ran it.
    #[serde(default)]
    pub packages: BTreeMap<PackageFamily, Vec<String>>,
    pub kind: ServiceKind,
    pub disposition: CatalogDisposition,
    /// `pair`: the image it shares a task with.
    #[serde(default)]
    pub pair_with: Option<String>,
    /// `managed`: the AWS service that replaces it.
    #[serde(default)]
    pub replacement: Option<String>,
    /// `sidecar`: the vendor image.
    #[serde(default)]
    pub image: Option<String>,
    /// Why the disposition (shown in reports).
    pub reason: String,
    /// The foreground command (exec form).
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub command_by_family: BTreeMap<PackageFamily, Vec<String>>,
    /// Arguments removed from a unit's command because they daemonize.
    #[serde(default)]
    pub strip_args: Vec<String>,
    /// Arguments added when missing (`-F`, `--foreground`).
    #[serde(default)]
    pub foreground_args: Vec<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub user_by_family: BTreeMap<PackageFamily, String>,
    #[serde(default)]
    pub ports: Vec<u16>,
    #[serde(default)]
    pub udp_ports: Vec<u16>,
    #[serde(default)]
    pub stop_signal: Option<String>,
    #[serde(default)]
    pub stop_timeout: Option<u32>,
    #[serde(default)]
    pub logs: Vec<CatalogLog>,
    #[serde(default)]
    pub healthcheck: Option<CatalogHealthCheck>,
    /// Paths the service owns: tasks writing under them feed its image.
    #[serde(default)]
    pub owns: Vec<String>,
    /// Paths it writes at run time.
    #[serde(default)]
    pub writable: Vec<String>,
    /// The command that checks its configuration (`[nginx, -t]`): when part of the config is
    /// rendered at start, a task running it moves from the build to the entrypoint.
    #[serde(default)]
    pub config_check: Vec<String>,
    /// A dropped daemon that makes its play host provisioning (a container runtime, a
    /// Kubernetes node): the play's tasks no image takes are dropped with it.
    #[serde(default)]
    pub provisions_host: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CatalogDisposition {
    /// Its own image and ECS service.
    Own,
    /// Its own image, in the same task as `pair_with`.
    Pair,
    /// A vendor container in each application task; nothing is built.
    Sidecar,
    /// Replaced by a managed AWS service (unless `containerize: true`).
    Managed,
    /// Not needed in containers.
    Drop,
    /// Needs a human: set by the splitter for a process whose foreground command
    /// no unit, program or catalog entry names. Not allowed in the catalog.
    Human,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogLog {
    pub path: String,
    pub stream: LogStream,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogHealthCheck {
    pub command: Vec<String>,
    #[serde(default = "default_interval")]
    pub interval: u32,
    #[serde(default = "default_timeout")]
    pub timeout: u32,
    #[serde(default = "default_retries")]
    pub retries: u32,
    #[serde(default)]
    pub start_period: u32,
    /// Packages the command needs in the image (`curl`).
    #[serde(default)]
    pub packages: Vec<String>,
}

fn default_interval() -> u32 {
    30
}
fn default_timeout() -> u32 {
    5
}
fn default_retries() -> u32 {
    3
}

/// The loaded catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub services: Vec<ServiceEntry>,
    pub shared_roles: Vec<String>,
    pub essential_packages: Vec<String>,
    patterns: Vec<(usize, Regex)>,
    /// The first entry (index into `services`) naming each daemon package, for
    /// [`Catalog::by_package`] (asked for every package of every install task).
    packages: HashMap<String, usize>,
}

impl Catalog {
    pub fn parse(path: &str, text: &str) -> Result<Catalog, RuleFileError> {
        let file: CatalogFile = parse_rule_file(path, text)?;
        let err = |line: u64, message: String| RuleFileError { path: path.to_string(), line, message };
        if file.version.value != super::ruleset::RULESET_VERSION {
            return Err(err(file.version.referenced.line(), format!("unsupported version {}", file.version.value)));
        }
        let mut services = Vec::new();
        let mut patterns = Vec::new();
        for spanned in file.services {
            let line = spanned.referenced.line();
            let s = spanned.value;
            if services.iter().any(|o: &ServiceEntry| o.name == s.name) {
                return Err(err(line, format!("service `{}` is listed twice", s.name)));
            }
            let need = |ok: bool, what: &str| if ok { Ok(()) } else { Err(err(line, format!("`{}`: {what}", s.name))) };
            match s.disposition {
                CatalogDisposition::Managed => need(s.replacement.is_some(), "`managed` needs `replacement`")?,
                CatalogDisposition::Sidecar => need(s.image.is_some(), "`sidecar` needs `image`")?,
                CatalogDisposition::Pair => need(s.pair_with.is_some(), "`pair` needs `pair_with`")?,
                CatalogDisposition::Own => need(!s.command.is_empty(), "`own` needs `command`")?,
                CatalogDisposition::Drop => {}
                CatalogDisposition::Human => need(false, "`human` is decided by the splitter, not the catalog")?,
            }
            for p in &s.patterns {
                let re = Regex::new(p).map_err(|e| err(line, format!("`{}`: bad pattern: {e}", s.name)))?;
                patterns.push((services.len(), re));
            }
            services.push(s);
        }
        let mut packages: HashMap<String, usize> = HashMap::new();
        for (i, s) in services.iter().enumerate() {
            for p in s.packages.values().flatten() {
                packages.entry(p.clone()).or_insert(i);
            }
        }
        Ok(Catalog {
            services,
            shared_roles: file.shared_roles,
            essential_packages: file.essential_packages,
            patterns,
            packages,
        })
    }

    pub fn get(&self, name: &str) -> Option<&ServiceEntry> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The entry a service name (`apache2`, `php8.2-fpm`, `redis-server.service`)
    /// means, and the `version` the name carries.
    pub fn by_service_name(&self, name: &str) -> Option<(&ServiceEntry, Option<String>)> {
        let name = name.strip_suffix(".service").unwrap_or(name);
        if let Some(s) = self.services.iter().find(|s| s.name == name || s.aliases.iter().any(|a| a == name)) {
            return Some((s, None));
        }
        for (i, re) in &self.patterns {
            if let Some(caps) = re.captures(name) {
                let version = caps.name("version").map(|m| m.as_str().to_string());
                return Some((&self.services[*i], version));
            }
        }
        None
    }

    /// The entry whose daemon package this is.
    pub fn by_package(&self, package: &str) -> Option<&ServiceEntry> {
        self.packages.get(package).and_then(|&i| self.services.get(i))
    }

    /// The entry a program (a command's first word) belongs to.
    pub fn by_program(&self, program: &str) -> Option<&ServiceEntry> {
        let base = program.rsplit('/').next().unwrap_or(program);
        self.services.iter().find(|s| s.programs.iter().any(|p| p == base))
    }

    pub fn is_shared_role(&self, role: &str) -> bool {
        self.shared_roles.iter().any(|r| r == role)
    }

    pub fn is_essential_package(&self, package: &str) -> bool {
        self.essential_packages.iter().any(|p| p == package)
    }
}

impl ServiceEntry {
    /// The foreground command on `family`, with `{version}` filled.
    pub fn command_for(&self, family: PackageFamily, version: Option<&str>) -> Vec<String> {
        let words = self.command_by_family.get(&family).unwrap_or(&self.command);
        words.iter().map(|w| w.replace("{version}", version.unwrap_or(""))).collect()
    }

    pub fn user_for(&self, family: PackageFamily) -> Option<&str> {
        self.user_by_family.get(&family).map(String::as_str).or(self.user.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::ruleset::RuleSet;
    use crate::spec::image::PackageFamily;

    #[test]
    fn the_package_index_finds_what_a_scan_of_the_entries_finds() {
        let set = RuleSet::load_embedded().unwrap();
        let c = &set.catalog;
        let scan = |package: &str| {
            c.services.iter().find(|s| s.packages.values().any(|list| list.iter().any(|p| p == package)))
        };
        let mut names: Vec<&str> =
            c.services.iter().flat_map(|s| s.packages.values().flatten()).map(String::as_str).collect();
        names.extend(["", "curl", "nginx-extras", "not-a-package"]);
        assert!(names.len() > 30);
        for name in names {
            assert_eq!(c.by_package(name).map(|e| &e.name), scan(name).map(|e| &e.name), "{name}");
        }
    }

    #[test]
    fn lookups() {
        let set = RuleSet::load_embedded().unwrap();
        let c = &set.catalog;
        let (php, version) = c.by_service_name("php8.2-fpm").unwrap();
        assert_eq!((php.name.as_str(), version.as_deref()), ("php-fpm", Some("8.2")));
        assert_eq!(php.command_for(PackageFamily::Apt, version.as_deref()), vec!["php-fpm8.2", "-F"]);
        assert_eq!(c.by_service_name("apache2").unwrap().0.name, "apache");
        assert_eq!(c.by_service_name("httpd.service").unwrap().0.name, "apache");
        assert_eq!(c.by_service_name("postgresql@15-main").unwrap().0.name, "postgresql");
        assert_eq!(c.by_package("redis-server").unwrap().name, "redis");
        assert_eq!(c.by_program("/usr/local/bin/gunicorn").unwrap().name, "gunicorn");
        assert!(c.by_service_name("myapp").is_none());
        assert!(c.is_shared_role("common"));
    }
}
