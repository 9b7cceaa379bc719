//! A Docker engine for the end-to-end suite: the one that answers already, or
//! a `dockerd` of its own (own socket, data root, exec root and pid file under
//! the cache directory), stopped by its pid when the [`Engine`] is dropped,
//! also when a check failed. Also makes the base image the samples target,
//! since no container registry is reachable: `debootstrap --variant=minbase`
//! then `docker import`, kept in the engine's data root between runs.
//!
//! Tools come from PATH (`docker`, `dockerd`, `debootstrap`; scripts/test
//! installs them from Debian's packages). A missing tool fails the suite.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Where the own engine keeps its data root (and so the imported base image).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("MIGRATE_E2E_CACHE").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/var/cache/migrate-e2e"))
}

/// An executable on PATH, or a failed test that says how to get it.
pub fn require_tool(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")]) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("`{name}` not found on PATH: install the Debian package `{package}` (scripts/test does it) and run again")
}

/// The engine the suite talks to.
pub struct Engine {
    docker: PathBuf,
    /// `DOCKER_HOST` for every `docker` call (None: the CLI's default).
    host: Option<String>,
    own: Option<OwnDaemon>,
}

struct OwnDaemon {
    child: Child,
    pidfile: PathBuf,
}

impl Engine {
    /// The engine that answers at the CLI's default address, else a new own `dockerd`.
    pub fn start() -> Engine {
        let docker = require_tool("docker", "docker.io");
        let existing = Engine { docker: docker.clone(), host: None, own: None };
        if existing.answers() {
            eprintln!("e2e: using the Docker engine that already answers");
            return existing;
        }
        let dockerd = require_tool("dockerd", "docker.io");
        let cache = cache_dir();
        fs::create_dir_all(&cache).unwrap_or_else(|e| panic!("cannot create the cache dir {}: {e}", cache.display()));
        let socket = cache.join("docker.sock");
        let pidfile = cache.join("dockerd.pid");
        stop_stale(&pidfile);
        let log_path = cache.join("dockerd.log");
        let log = fs::File::create(&log_path).unwrap_or_else(|e| panic!("cannot write {}: {e}", log_path.display()));
        let log_err = log.try_clone().unwrap_or_else(|e| panic!("cannot write {}: {e}", log_path.display()));
        let child = Command::new(&dockerd)
            .arg("--iptables=false")
            .arg("--bridge=none")
            .arg("--data-root")
            .arg(cache.join("docker"))
            .arg("--exec-root")
            .arg(cache.join("exec"))
            .arg("--pidfile")
            .arg(&pidfile)
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", dockerd.display()));
        let engine = Engine {
            docker,
            host: Some(format!("unix://{}", socket.display())),
            own: Some(OwnDaemon { child, pidfile }),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !engine.answers() {
            if Instant::now() > deadline {
                let log = fs::read_to_string(&log_path).unwrap_or_default();
                panic!("dockerd did not answer within 60 s; its log ({}):\n{log}", log_path.display());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        eprintln!(
            "e2e: started dockerd (pid {}), data root {}",
            engine.pid().unwrap_or(0),
            cache.join("docker").display()
        );
        engine
    }

    fn pid(&self) -> Option<u32> {
        self.own.as_ref().map(|d| d.child.id())
    }

    fn answers(&self) -> bool {
        self.command()
            .args(["version", "--format", "{{.Server.Version}}"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// A `docker` command aimed at this engine.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.docker);
        if let Some(host) = &self.host {
            command.env("DOCKER_HOST", host);
        }
        // The legacy builder: no BuildKit daemon to reach, and it never pulls unless asked.
        command.env("DOCKER_BUILDKIT", "0");
        command
    }

    /// The environment a tool that calls `docker` itself (Ansible's docker connection) needs.
    pub fn env(&self) -> Vec<(String, String)> {
        self.host.iter().map(|h| ("DOCKER_HOST".to_string(), h.clone())).collect()
    }

    /// Runs `docker ARGS` and returns its output (whatever the exit status).
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap_or_else(|e| panic!("cannot run docker {}: {e}", args.join(" ")))
    }

    /// Runs `docker ARGS`; a failure is an error with both output streams.
    pub fn ok(&self, args: &[&str]) -> Result<String, String> {
        let output = self.run(args);
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!(
                "`docker {}` failed ({}):\n{}{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    pub fn image_exists(&self, reference: &str) -> bool {
        self.run(&["image", "inspect", "--format", "{{.Id}}", reference]).status.success()
    }

    /// Makes `reference` (a Debian bookworm image) from Debian's archive when it is
    /// not there yet: `debootstrap --variant=minbase bookworm`, then `docker import`.
    pub fn ensure_base_image(&self, reference: &str) {
        if self.image_exists(reference) {
            eprintln!("e2e: base image {reference} is cached");
            return;
        }
        let debootstrap = require_tool("debootstrap", "debootstrap");
        let started = Instant::now();
        let cache = cache_dir();
        fs::create_dir_all(&cache).unwrap_or_else(|e| panic!("cannot create {}: {e}", cache.display()));
        let rootfs = tempfile::Builder::new()
            .prefix("rootfs-")
            .tempdir_in(&cache)
            .unwrap_or_else(|e| panic!("cannot make a rootfs dir under {}: {e}", cache.display()));
        let mirror = debian_mirror();
        eprintln!("e2e: building the base image {reference} with debootstrap from {mirror}");
        let output = Command::new(&debootstrap)
            .args(["--variant=minbase", "bookworm"])
            .arg(rootfs.path())
            .arg(&mirror)
            .output()
            .unwrap_or_else(|e| panic!("cannot run debootstrap: {e}"));
        assert!(
            output.status.success(),
            "debootstrap --variant=minbase bookworm from {mirror} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        // Like the published slim image: no package lists, no downloaded .debs.
        for dir in ["var/lib/apt/lists", "var/cache/apt/archives"] {
            let path = rootfs.path().join(dir);
            if let Ok(entries) = fs::read_dir(&path) {
                for entry in entries.flatten() {
                    if entry.path().is_file() {
                        let _ = fs::remove_file(entry.path());
                    }
                }
            }
        }
        let mut tar = Command::new("tar")
            .arg("-C")
            .arg(rootfs.path())
            .args(["--numeric-owner", "-c", "."])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run tar: {e}"));
        let tar_out = tar.stdout.take().unwrap_or_else(|| panic!("tar has no stdout"));
        let import = self
            .command()
            .args(["import", "--change", "CMD [\"bash\"]", "-", reference])
            .stdin(tar_out)
            .output()
            .unwrap_or_else(|e| panic!("cannot run docker import: {e}"));
        let tar_status = tar.wait().unwrap_or_else(|e| panic!("tar did not finish: {e}"));
        assert!(tar_status.success(), "tar of the debootstrap rootfs failed");
        assert!(
            import.status.success(),
            "docker import {reference} failed: {}",
            String::from_utf8_lossy(&import.stderr)
        );
        eprintln!("e2e: base image {reference} made in {:.0} s", started.elapsed().as_secs_f64());
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let Some(own) = self.own.as_mut() else { return };
        let pid = own.child.id();
        let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match own.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
                _ => {
                    let _ = own.child.kill();
                    let _ = own.child.wait();
                    break;
                }
            }
        }
        let _ = fs::remove_file(&own.pidfile);
        eprintln!("e2e: stopped dockerd (pid {pid})");
    }
}

/// A `dockerd` left by an earlier run that was killed before its cleanup holds
/// the pid file, and a new one would refuse to start: stop that one by its pid.
fn stop_stale(pidfile: &Path) {
    let Ok(text) = fs::read_to_string(pidfile) else { return };
    let Ok(pid) = text.trim().parse::<u32>() else { return };
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if comm.trim() == "dockerd" {
        eprintln!("e2e: stopping the dockerd (pid {pid}) an earlier run left");
        let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let _ = fs::remove_file(pidfile);
}

/// The Debian mirror the machine's apt uses (first `URIs:` or `deb` line that
/// serves `debian`), so debootstrap reaches the same archive; else Debian's own.
fn debian_mirror() -> String {
    if let Some(mirror) = std::env::var_os("MIGRATE_E2E_MIRROR") {
        return mirror.to_string_lossy().into_owned();
    }
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(entries) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        more.sort();
        files.extend(more);
    }
    for file in files {
        let name = file.to_string_lossy().into_owned();
        if !(name.ends_with(".list") || name.ends_with(".sources")) {
            continue;
        }
        let Ok(text) = fs::read_to_string(&file) else { continue };
        for line in text.lines().map(str::trim) {
            let uri = if let Some(rest) = line.strip_prefix("URIs:") {
                rest.split_whitespace().next()
            } else if let Some(rest) = line.strip_prefix("deb ") {
                rest.split_whitespace().find(|w| w.contains("://"))
            } else {
                None
            };
            if let Some(uri) = uri
                && uri.trim_end_matches('/').ends_with("/debian")
            {
                return uri.to_string();
            }
        }
    }
    "http://deb.debian.org/debian".to_string()
}
