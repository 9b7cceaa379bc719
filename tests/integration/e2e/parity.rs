//! Parity: each sample role that becomes an image, run with real Ansible
//! (`community.docker.docker` connection) into a container of the same base
//! image (python3 added first, `become` off: it runs as root), committed, and
//! compared with the image migrate built: manually installed packages, users
//! and groups, and every file the role's tasks manage (type, content hash,
//! owner, group, mode, link target). A difference passes only when the
//! converter declared it in `migration.json`; the others fail with a table.
//!
//! The playbooks in `parity/` run the tier's own role with the play's role
//! parameters and leave out what is not the image (sidecar roles, control-host
//! tasks); `parity/library/` stands in for the init-system modules, which the
//! converter turns into the image's command (docs/e2e.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

use super::engine::Engine;
use super::{Made, Service};
use crate::support;

/// Packages the parity run adds before Ansible can work (its interpreter and
/// the apt bindings its apt module installs anyway). The package lists stay,
/// as on a host that was set up before (site.yml updates them first).
const HARNESS_PACKAGES: &[&str] = &["python3", "python3-apt"];

fn parity_dir() -> PathBuf {
    support::repo_root().join("tests/integration/e2e/parity")
}

/// Runs the tier's playbook into a fresh container of `base`; the committed image.
fn ansible_image(
    engine: &Engine,
    made: &mut Made<'_>,
    service: &Service,
    base: &str,
) -> Result<(String, Vec<Value>), String> {
    let playbook = parity_dir().join(format!("{}.yml", service.name));
    if !playbook.is_file() {
        return Err(format!("no parity playbook {}", playbook.display()));
    }
    let container = format!("migrate-e2e-ansible-{}", service.name);
    made.container(&container);
    // The inventory's host names resolve as in the run checks (nginx -t resolves its upstreams).
    let mut run: Vec<String> =
        ["run", "-d", "--name", &container, "--network=host"].iter().map(|s| s.to_string()).collect();
    run.extend(super::add_host_args());
    run.extend(["--entrypoint", "sleep", base, "infinity"].iter().map(|s| s.to_string()));
    engine.ok(&run.iter().map(String::as_str).collect::<Vec<_>>())?;
    engine.ok(&[
        "exec",
        &container,
        "bash",
        "-c",
        &format!(
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends {} \
             >/dev/null",
            HARNESS_PACKAGES.join(" ")
        ),
    ])?;
    // The init system's stand-ins: `systemctl` for the modules called by full name, a systemd
    // marker so the `service` action picks the systemd module (parity/library/ for short names).
    // supervisorctl: the process manager the converter drops, for the handlers that talk to it.
    for shim in ["systemctl", "supervisorctl"] {
        let from = parity_dir().join(shim);
        engine.ok(&["cp", from.to_str().unwrap_or_default(), &format!("{container}:/usr/local/bin/{shim}")])?;
    }
    engine.ok(&["exec", &container, "sh", "-c", "chmod 0755 /usr/local/bin/* && mkdir -p /run/systemd/system"])?;
    let sample = support::repo_root().join("samples/webshop");
    let log = tempfile::NamedTempFile::new().map_err(|e| format!("no temp file: {e}"))?;
    let mut command = std::process::Command::new(support::tool("ansible-playbook"));
    command
        .arg("-i")
        .arg(sample.join("inventories/staging/hosts.ini"))
        .arg("--vault-password-file")
        .arg(sample.join("vault-password.sample.txt"))
        .arg("-e")
        .arg(format!("sample_dir={}", sample.display()))
        .arg("-e")
        .arg(format!(
            "{{\"ansible_connection\": \"community.docker.docker\", \"ansible_host\": \"{container}\", \
             \"ansible_user\": \"root\", \"ansible_become\": false, \"ansible_python_interpreter\": \"/usr/bin/python3\"}}"
        ))
        .arg(&playbook)
        .env("ANSIBLE_ROLES_PATH", format!("{}:{}", sample.join("roles").display(), sample.join("vendor/roles").display()))
        .env("ANSIBLE_LIBRARY", parity_dir().join("library"))
        .env("ANSIBLE_CALLBACK_PLUGINS", parity_dir().join("callback_plugins"))
        .env("ANSIBLE_CALLBACKS_ENABLED", "migrate_paths")
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("MIGRATE_PARITY_LOG", log.path())
        .current_dir(parity_dir());
    for (k, v) in engine.env() {
        command.env(k, v);
    }
    let output = command.output().map_err(|e| format!("cannot run ansible-playbook: {e}"))?;
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stdout);
        let lines: Vec<&str> = text.lines().collect();
        return Err(format!(
            "ansible-playbook {} failed:\n{}\n{}",
            playbook.display(),
            lines[lines.len().saturating_sub(40)..].join("\n"),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let records: Vec<Value> = std::fs::read_to_string(log.path())
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let image = format!("migrate-e2e/{}-ansible:test", service.name);
    made.image(&image);
    engine.ok(&["commit", &container, &image])?;
    let _ = engine.run(&["rm", "-f", &container]);
    Ok((image, records))
}

/// `path|type|uid|gid|mode|hash-or-target` for each path (recursively for `R:` ones).
const STAT_SCRIPT: &str = r#"for arg in "$@"; do
  case "$arg" in R:*) p=${arg#R:}; list=$(find "$p" 2>/dev/null | sort) ;; *) p=$arg; list= ;; esac
  [ -n "$list" ] || list=$p
  for f in $list; do
    if [ -L "$f" ]; then echo "$f|link|$(stat -c '%u|%g' "$f")|-|$(readlink "$f")"
    elif [ -d "$f" ]; then echo "$f|dir|$(stat -c '%u|%g|%a' "$f")|-"
    elif [ -f "$f" ]; then echo "$f|file|$(stat -c '%u|%g|%a' "$f")|$(sha256sum < "$f" | cut -c1-16)"
    else echo "$f|absent|-|-|-|-"; fi
  done
done"#;

fn stat(engine: &Engine, image: &str, args: &[String]) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut docker =
        vec!["run", "--rm", "--network=none", "--user=0", "--entrypoint", "/bin/sh", image, "-c", STAT_SCRIPT, "sh"];
    docker.extend(args.iter().map(String::as_str));
    let out = engine.ok(&docker)?;
    Ok(out
        .lines()
        .filter_map(|l| {
            let mut fields: Vec<String> = l.split('|').map(String::from).collect();
            (fields.len() == 6).then(|| {
                let path = fields.remove(0);
                (path, fields)
            })
        })
        .collect())
}

fn lines_of(engine: &Engine, image: &str, script: &str) -> Result<BTreeSet<String>, String> {
    let out =
        engine.ok(&["run", "--rm", "--network=none", "--user=0", "--entrypoint", "/bin/sh", image, "-c", script])?;
    Ok(out.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect())
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(|x| x.as_str().map(String::from)).collect()
}

/// Why the converter declared a difference at `path` (made by the task at `origin`), if it did.
fn declared_for(declared: &Value, path: &str, origin: &str, attribute: &str) -> Option<String> {
    let d = &declared["differences"];
    let listed = |key: &str| d[key].as_array().into_iter().flatten();
    if listed("start_files").any(|f| f["path"] == path) && ["content", "uid", "gid"].contains(&attribute) {
        return Some("rendered at start from the environment, owned by the service user".into());
    }
    if listed("log_links").any(|l| l["path"] == path) {
        return Some("log file sent to the container output".into());
    }
    if strings(&d["writable_paths"]).iter().any(|w| path == w || path.starts_with(&format!("{w}/")))
        && ["uid", "gid"].contains(&attribute)
    {
        return Some("written by the service: owned by its user".into());
    }
    for key in ["dropped", "needs_human"] {
        if let Some(item) = listed(key).find(|i| i["origin"] == origin) {
            return Some(format!(
                "{key}: {}",
                item["why"].as_str().filter(|w| !w.is_empty()).or(item["what"].as_str()).unwrap_or("")
            ));
        }
    }
    if let Some(item) = listed("converted")
        .find(|i| i["origin"] == origin && i["why"].as_str().is_some_and(|w| w.starts_with("defines the process")))
    {
        return Some(format!("converted: {}", item["why"].as_str().unwrap_or("")));
    }
    None
}

struct Row {
    what: String,
    attribute: String,
    ansible: String,
    migrate: String,
    declared: Option<String>,
}

fn compare(engine: &Engine, service: &Service, ansible: &str, records: &[Value]) -> Result<Vec<Row>, String> {
    let migrate = service.image();
    let declared = &service.declared;
    let mut rows = Vec::new();
    // Packages asked for by name (apt's manual marks).
    let manual = "apt-mark showmanual";
    let (a, m) = (lines_of(engine, ansible, manual)?, lines_of(engine, &migrate, manual)?);
    let added = strings(&declared["differences"]["added_packages"]);
    let dropped = strings(&declared["differences"]["dropped_daemons"]);
    for p in a.symmetric_difference(&m) {
        let (in_a, in_m) = (a.contains(p), m.contains(p));
        let why = if in_m && added.contains(p) {
            Some("added by migrate for its own commands".to_string())
        } else if in_a && dropped.contains(p) {
            Some("a dropped daemon's package".to_string())
        } else if in_a && HARNESS_PACKAGES.contains(&p.as_str()) {
            Some("added by the parity run for Ansible itself".to_string())
        } else {
            None
        };
        rows.push(Row {
            what: format!("package {p}"),
            attribute: "installed".into(),
            ansible: in_a.to_string(),
            migrate: in_m.to_string(),
            declared: why,
        });
    }
    // Users and groups: name, uid, gid, home, shell.
    for (kind, script) in [("user", "getent passwd | cut -d: -f1,3,4,6,7"), ("group", "getent group | cut -d: -f1,3")] {
        let (a, m) = (lines_of(engine, ansible, script)?, lines_of(engine, &migrate, script)?);
        let by_name = |set: &BTreeSet<String>| -> BTreeMap<String, String> {
            set.iter().map(|l| (l.split(':').next().unwrap_or("").to_string(), l.clone())).collect()
        };
        let (a, m) = (by_name(&a), by_name(&m));
        let names: BTreeSet<&String> = a.keys().chain(m.keys()).collect();
        for name in names {
            let (va, vm) = (a.get(name), m.get(name));
            if va == vm {
                continue;
            }
            // A system account only Ansible has, made by a package the converter dropped.
            let system =
                va.and_then(|l| l.split(':').nth(1)).and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| n < 1000);
            let why = (vm.is_none() && system && !dropped.is_empty())
                .then(|| format!("made by a dropped daemon's package ({})", dropped.join(", ")));
            rows.push(Row {
                what: format!("{kind} {name}"),
                attribute: "entry".into(),
                ansible: va.cloned().unwrap_or_else(|| "-".into()),
                migrate: vm.cloned().unwrap_or_else(|| "-".into()),
                declared: why,
            });
        }
    }
    // The files the role's tasks manage.
    let sample = support::repo_root().join("samples/webshop");
    let prefix = format!("{}/", sample.display());
    let mut origins: BTreeMap<String, String> = BTreeMap::new();
    let mut args = Vec::new();
    for r in records {
        let Some(path) = r["path"].as_str() else { continue };
        let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
        let origin = r["origin"].as_str().unwrap_or("").trim_start_matches(&prefix).to_string();
        origins.entry(path.to_string()).or_insert(origin);
        args.push(if r["recurse"] == true { format!("R:{path}") } else { path.to_string() });
    }
    args.sort();
    args.dedup();
    if args.is_empty() {
        return Err("the Ansible run reported no managed file".into());
    }
    let (sa, sm) = (stat(engine, ansible, &args)?, stat(engine, &migrate, &args)?);
    let paths: BTreeSet<&String> = sa.keys().chain(sm.keys()).collect();
    const ATTRIBUTES: [&str; 5] = ["type", "uid", "gid", "mode", "content"];
    for path in paths {
        let absent = vec!["absent".to_string(), "-".into(), "-".into(), "-".into(), "-".into()];
        let (fa, fm) = (sa.get(path).unwrap_or(&absent), sm.get(path).unwrap_or(&absent));
        let origin = origins
            .iter()
            .filter(|(p, _)| path == *p || path.starts_with(&format!("{p}/")))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, o)| o.clone())
            .unwrap_or_default();
        for (i, attribute) in ATTRIBUTES.iter().enumerate() {
            if fa[i] != fm[i] {
                rows.push(Row {
                    what: path.clone(),
                    attribute: attribute.to_string(),
                    ansible: fa[i].clone(),
                    migrate: fm[i].clone(),
                    declared: declared_for(declared, path, &origin, attribute),
                });
            }
        }
    }
    Ok(rows)
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from("| path / item | attribute | ansible | migrate | declared? |\n|---|---|---|---|---|\n");
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.what,
            r.attribute,
            r.ansible,
            r.migrate,
            r.declared.as_deref().unwrap_or("NO")
        ));
    }
    out
}

pub fn check_all(engine: &Engine, made: &mut Made<'_>, built: &[&Service], base: &str, failures: &mut Vec<String>) {
    for service in built {
        let started = std::time::Instant::now();
        let result = ansible_image(engine, made, service, base).and_then(|(image, records)| {
            let rows = compare(engine, service, &image, &records)?;
            let _ = engine.run(&["rmi", "-f", &image]);
            Ok(rows)
        });
        match result {
            Err(e) => failures.push(format!("[{}] parity: {e}", service.name)),
            Ok(rows) => {
                let undeclared = rows.iter().filter(|r| r.declared.is_none()).count();
                eprintln!(
                    "e2e: parity {}: {} difference(s), {undeclared} undeclared, in {:.0} s\n{}",
                    service.name,
                    rows.len(),
                    started.elapsed().as_secs_f64(),
                    table(&rows)
                );
                if undeclared > 0 {
                    failures.push(format!(
                        "[{}] parity: {undeclared} difference(s) from the Ansible run that migration.json does not \
                         declare:\n{}",
                        service.name,
                        table(&rows)
                    ));
                }
            }
        }
    }
}
