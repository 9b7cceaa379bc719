//! End to end on a real Docker engine (issue 8, docs/e2e.md): every image
//! `migrate apply` generates from samples/webshop builds, starts, serves, logs
//! to `docker logs`, runs as its non-root user and stops on SIGTERM within
//! 10 s; a jobs image runs its job once and exits 0. Then parity: each sample
//! role run with real Ansible into a container of the same base image, and
//! compared with the image migrate built, up to the differences the converter
//! declared in `migration.json`.
//!
//! One test, so the engine is started once and stopped (by its pid) when it
//! ends, whatever failed; every service is checked and all failures reported.

mod engine;
mod parity;
mod services;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;

use crate::support;
use engine::Engine;

/// The images and containers the suite made, removed when it ends.
pub struct Made<'e> {
    engine: &'e Engine,
    containers: Vec<String>,
    images: Vec<String>,
}

impl Made<'_> {
    pub fn container(&mut self, name: &str) {
        let _ = self.engine.run(&["rm", "-f", name]);
        self.containers.push(name.to_string());
    }

    pub fn image(&mut self, reference: &str) {
        self.images.push(reference.to_string());
    }
}

impl Drop for Made<'_> {
    fn drop(&mut self) {
        for c in self.containers.iter().rev() {
            let _ = self.engine.run(&["rm", "-f", "-v", c]);
        }
        for i in self.images.iter().rev() {
            let _ = self.engine.run(&["rmi", "-f", i]);
        }
        // Intermediate layers of the builds that failed half-way.
        let _ = self.engine.run(&["image", "prune", "-f"]);
    }
}

/// One generated service: its build context and its declarations.
pub struct Service {
    pub name: String,
    pub dir: PathBuf,
    pub declared: Value,
}

impl Service {
    pub fn image(&self) -> String {
        format!("migrate-e2e/{}:test", self.name)
    }

    pub fn kind(&self) -> &str {
        self.declared["kind"].as_str().unwrap_or("")
    }
}

/// Hosts the sample's configs name (the staging inventory), resolved to this
/// machine: the stand-in for the service discovery names the ECS tasks get.
pub fn inventory_hosts() -> Vec<String> {
    let inventory = support::repo_root().join("samples/webshop/inventories/staging/hosts.ini");
    let text = std::fs::read_to_string(&inventory).unwrap_or_default();
    let mut hosts: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('[') && !l.starts_with('#') && !l.contains('='))
        .chain(text.lines().filter(|l| l.contains("ansible_host=")))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|h| h.contains('.'))
        .map(str::to_string)
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

pub fn add_host_args() -> Vec<String> {
    inventory_hosts().into_iter().map(|h| format!("--add-host={h}:127.0.0.1")).collect()
}

fn generate(out: &Path) -> Vec<Service> {
    let root = support::repo_root();
    let sample = root.join("samples/webshop");
    let output = support::run_migrate(
        &root,
        &[
            "apply",
            sample.to_str().unwrap_or_default(),
            "--env",
            "staging",
            "--vault-password-file",
            sample.join("vault-password.sample.txt").to_str().unwrap_or_default(),
            "--out",
            out.to_str().unwrap_or_default(),
        ],
    );
    assert!(
        output.status.success(),
        "migrate apply failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut services = Vec::new();
    for entry in std::fs::read_dir(out).unwrap_or_else(|e| panic!("cannot list {}: {e}", out.display())).flatten() {
        let dir = entry.path();
        if !dir.join("Dockerfile").is_file() {
            continue;
        }
        let declared_path = dir.join(migrate::render::DECLARATIONS_FILE);
        let text = std::fs::read_to_string(&declared_path)
            .unwrap_or_else(|e| panic!("{} is missing: {e}", declared_path.display()));
        let declared: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", declared_path.display()));
        let name = entry.file_name().to_string_lossy().into_owned();
        services.push(Service { name, dir, declared });
    }
    services.sort_by(|a, b| a.name.cmp(&b.name));
    services
}

#[test]
fn webshop_images_build_run_stop_and_match_ansible() {
    let started = Instant::now();
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("no temp dir: {e}"));
    let services = generate(out.path());
    let kinds: BTreeMap<&str, &str> = services.iter().map(|s| (s.name.as_str(), s.kind())).collect();
    // A web server, the app server, the worker (no catalog kind: an app without a port), a jobs image.
    for (service, kind) in [("nginx", "web"), ("webshop-api", "app"), ("webshop-worker", "app"), ("batch", "jobs")] {
        assert_eq!(kinds.get(service).copied(), Some(kind), "the sample must generate `{service}` ({kind}): {kinds:?}");
    }
    let mut bases: Vec<&str> = services.iter().filter_map(|s| s.declared["base_image"].as_str()).collect();
    bases.sort();
    bases.dedup();
    assert_eq!(bases, vec!["debian:bookworm-slim"], "the samples target Debian bookworm");

    let engine = Engine::start();
    engine.ensure_base_image(bases[0]);
    let mut made = Made { engine: &engine, containers: Vec::new(), images: Vec::new() };
    let mut failures: Vec<String> = Vec::new();

    let build_started = Instant::now();
    let built = services::build_all(&engine, &mut made, &services, &mut failures);
    eprintln!("e2e: built {} images in {:.0} s", built.len(), build_started.elapsed().as_secs_f64());
    let run_started = Instant::now();
    services::run_all(&engine, &mut made, &built, &mut failures);
    eprintln!("e2e: run checks in {:.0} s", run_started.elapsed().as_secs_f64());
    let parity_started = Instant::now();
    parity::check_all(&engine, &mut made, &built, bases[0], &mut failures);
    eprintln!("e2e: parity in {:.0} s", parity_started.elapsed().as_secs_f64());

    drop(made);
    drop(engine);
    eprintln!("e2e: whole suite in {:.0} s", started.elapsed().as_secs_f64());
    assert!(failures.is_empty(), "{} end-to-end check(s) failed:\n\n{}", failures.len(), failures.join("\n\n"));
}
