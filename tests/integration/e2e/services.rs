//! Build every generated image and run it as ECS would: host network, the
//! environment its declarations say it reads (test values), then check it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::engine::Engine;
use super::{Made, Service, add_host_args};

/// `docker build` of every service; the ones that built, in the order they run
/// (app servers before the web tier that proxies to them, jobs last).
pub fn build_all<'s>(
    engine: &Engine,
    made: &mut Made<'_>,
    services: &'s [Service],
    failures: &mut Vec<String>,
) -> Vec<&'s Service> {
    let mut built = Vec::new();
    for service in services {
        let started = Instant::now();
        let image = service.image();
        made.image(&image);
        // --force-rm: a failed step leaves no container behind.
        let mut args = vec!["build".to_string(), "--force-rm".to_string(), "--network=host".to_string()];
        args.extend(add_host_args());
        args.extend(["-t".to_string(), image.clone()]);
        args.push(service.dir.to_string_lossy().into_owned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match engine.ok(&args) {
            Ok(_) => {
                eprintln!("e2e: built {image} in {:.0} s", started.elapsed().as_secs_f64());
                built.push(service);
            }
            Err(e) => failures.push(format!("[{}] docker build failed:\n{}", service.name, tail(&e, 40))),
        }
    }
    let order = |s: &&Service| match s.kind() {
        "web" => 2,
        "jobs" => 3,
        _ if tcp_ports(s).is_empty() => 1,
        _ => 0,
    };
    built.sort_by_key(order);
    built
}

/// `linuxParameters.capabilities.drop` of the service's generated task definition.
fn task_definition_cap_drops(service: &Service) -> Result<Vec<String>, String> {
    let path = service.dir.join("ecs/task-definition.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let td: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let container = td["containerDefinitions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == service.name.as_str()))
        .ok_or_else(|| format!("{}: no container `{}`", path.display(), service.name))?;
    Ok(container["linuxParameters"]["capabilities"]["drop"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().map(str::to_string))
        .collect())
}

/// A test value for a variable the service reads, by its name.
pub fn test_value(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    if upper.starts_with("FILE_") {
        return "-----BEGIN PRIVATE KEY-----\ne2e-test-only\n-----END PRIVATE KEY-----".into();
    }
    if upper.contains("DATABASE_URL") {
        return "postgresql://webshop:e2e-test@127.0.0.1:5432/webshop".into();
    }
    if upper.contains("REDIS_URL") {
        return "redis://:e2e-test@127.0.0.1:6379/0".into();
    }
    if upper.ends_with("_URL") || upper.ends_with("_DSN") {
        return "http://127.0.0.1:9/".into();
    }
    if upper.ends_with("LOG_LEVEL") {
        return "info".into();
    }
    if upper.ends_with("_WORKERS") {
        return "2".into();
    }
    if ["_TIMEOUT", "_DAYS", "_PORT", "_BACKOFF", "_MINUTES", "_SECONDS"].iter().any(|s| upper.ends_with(s)) {
        return "30".into();
    }
    if upper.ends_with("_CONNECTIONS") {
        return "512".into();
    }
    if upper.ends_with("_SIZE") {
        return "10m".into();
    }
    if upper.ends_with("_HOST") {
        return "127.0.0.1".into();
    }
    if upper.ends_with("_DOMAIN") {
        return "localhost".into();
    }
    if upper.ends_with("_DIR") {
        return "/tmp".into();
    }
    if upper.ends_with("_FILE") {
        return "/dev/null".into();
    }
    if upper.ends_with("_FROM") || upper.ends_with("_EMAIL") {
        return "e2e@example.com".into();
    }
    if upper.starts_with("PYTHON") {
        return "1".into();
    }
    format!("e2e-test-{}", name.to_ascii_lowercase())
}

/// `-e NAME=VALUE` for every variable the declarations list (task-definition
/// literals and Parameter Store values alike), with test values.
pub fn env_args(service: &Service) -> Vec<String> {
    let mut args = Vec::new();
    for var in service.declared["environment"].as_array().into_iter().flatten() {
        let Some(name) = var["name"].as_str() else { continue };
        args.push("-e".into());
        args.push(format!("{name}={}", test_value(name)));
    }
    args
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn tcp_ports(service: &Service) -> Vec<u16> {
    service.declared["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["protocol"] == "tcp")
        .filter_map(|p| p["port"].as_u64())
        .filter_map(|p| u16::try_from(p).ok())
        .collect()
}

fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500)).is_ok()
}

/// One HTTP/1.0 GET on 127.0.0.1; the status code (0 when there was no answer).
fn http_get(port: u16, path: &str) -> u16 {
    let Ok(mut stream) = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)) else {
        return 0;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\nUser-Agent: migrate-e2e\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn inspect(engine: &Engine, container: &str, format: &str) -> String {
    engine.ok(&["inspect", "--format", format, container]).unwrap_or_default().trim().to_string()
}

fn logs(engine: &Engine, container: &str) -> String {
    let output = engine.run(&["logs", container]);
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// The uid the image's USER stands for (a name is looked up in the image).
fn expected_uid(engine: &Engine, service: &Service) -> Option<u32> {
    let user = service.declared["process"]["image_user"].as_str()?;
    let name = user.split(':').next()?;
    if let Ok(uid) = name.parse() {
        return Some(uid);
    }
    let out = engine.ok(&["run", "--rm", "--network=none", "--entrypoint", "id", &service.image(), "-u", name]).ok()?;
    out.trim().parse().ok()
}

/// PID 1 of `container` as the host sees it: (comm, real uid).
fn pid1(engine: &Engine, container: &str) -> Option<(String, u32)> {
    let pid = inspect(engine, container, "{{.State.Pid}}");
    if pid.is_empty() || pid == "0" {
        return None;
    }
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?.trim().to_string();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let uid = status.lines().find(|l| l.starts_with("Uid:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some((comm, uid))
}

/// What /proc/PID/comm shows for a program: its file name, cut to 15 bytes.
fn comm_of(program: &str) -> String {
    let base = program.rsplit('/').next().unwrap_or(program);
    base.chars().take(15).collect()
}

fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Starts every long-running service, checks each while all run (the web tier
/// proxies to the app server), then stops each with SIGTERM; runs the jobs.
pub fn run_all(engine: &Engine, made: &mut Made<'_>, built: &[&Service], failures: &mut Vec<String>) {
    let mut running: Vec<(&Service, String)> = Vec::new();
    for service in built.iter().copied() {
        if service.kind() == "jobs" {
            run_jobs(engine, made, service, failures);
            continue;
        }
        if let Some(container) = start(engine, made, service, failures) {
            running.push((service, container));
        }
    }
    for (service, container) in &running {
        check_running(engine, service, container, failures);
    }
    for (service, container) in running.iter().rev() {
        check_stop(engine, service, container, failures);
    }
}

fn start(engine: &Engine, made: &mut Made<'_>, service: &Service, failures: &mut Vec<String>) -> Option<String> {
    let name = &service.name;
    for port in tcp_ports(service) {
        if listening(port) {
            failures.push(format!("[{name}] port {port} is already taken on this machine before the container starts"));
            return None;
        }
    }
    let container = format!("migrate-e2e-{name}");
    made.container(&container);
    let mut args: Vec<String> =
        ["run", "-d", "--name", &container, "--network=host"].iter().map(|s| s.to_string()).collect();
    args.extend(add_host_args());
    args.extend(env_args(service));
    // The capabilities its ECS task definition drops, so the run is as tight as on Fargate
    // (a binary with a file capability the task dropped would not even start).
    match task_definition_cap_drops(service) {
        Ok(drops) => args.extend(drops.into_iter().map(|c| format!("--cap-drop={c}"))),
        Err(e) => {
            failures.push(format!("[{name}] {e}"));
            return None;
        }
    }
    args.push(service.image());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if let Err(e) = engine.ok(&args) {
        failures.push(format!("[{name}] docker run failed: {e}"));
        return None;
    }
    let ports = tcp_ports(service);
    let up = wait_until(Duration::from_secs(30), || {
        inspect(engine, &container, "{{.State.Running}}") == "true" && ports.iter().all(|p| listening(*p))
    });
    // A service without a port must still be running a few seconds later.
    if ports.is_empty() {
        std::thread::sleep(Duration::from_secs(3));
    }
    let running = inspect(engine, &container, "{{.State.Running}}") == "true";
    if !up || !running {
        failures.push(format!(
            "[{name}] did not come up (running: {running}, listening on {ports:?} expected); docker logs:\n{}",
            tail(&logs(engine, &container), 30)
        ));
        return None;
    }
    Some(container)
}

fn check_running(engine: &Engine, service: &Service, container: &str, failures: &mut Vec<String>) {
    let name = &service.name;
    let command: Vec<&str> =
        service.declared["process"]["command"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    // PID 1 is the service's own program, as the non-root user.
    match pid1(engine, container) {
        None => failures.push(format!("[{name}] cannot read PID 1 of the container")),
        Some((comm, uid)) => {
            let want = command.first().map(|p| comm_of(p)).unwrap_or_default();
            if ["sh", "bash", "dash", "supervisord", "tini", "dumb-init"].contains(&comm.as_str()) || comm != want {
                failures.push(format!("[{name}] PID 1 is `{comm}`, not the service's own `{want}`"));
            }
            if uid == 0 {
                failures.push(format!("[{name}] PID 1 runs as root"));
            }
            match expected_uid(engine, service) {
                Some(expected) if expected != uid => {
                    failures.push(format!("[{name}] PID 1 runs as uid {uid}, the image's USER is uid {expected}"))
                }
                None => failures.push(format!("[{name}] cannot tell the uid of the image's USER")),
                _ => {}
            }
        }
    }
    // It serves: an HTTP request on each port gets an answer, and the health check passes.
    let mut requested = Vec::new();
    for port in tcp_ports(service) {
        let path = if service.kind() == "web" { "/robots.txt" } else { "/healthz" };
        let status = http_get(port, path);
        if !(200..500).contains(&status) {
            failures.push(format!("[{name}] GET {path} on port {port} answered {status}"));
        }
        requested.push(path);
    }
    if let Some(check) = service.declared["healthcheck"].as_array() {
        let check: Vec<&str> = check.iter().filter_map(Value::as_str).collect();
        let mut args = vec!["exec", container];
        args.extend(check.iter().copied());
        let mut last = String::new();
        let passed = wait_until(Duration::from_secs(20), || match engine.ok(&args) {
            Ok(_) => true,
            Err(e) => {
                last = e;
                false
            }
        });
        if !passed {
            failures.push(format!(
                "[{name}] the health check `{}` does not pass: {}",
                check.join(" "),
                tail(&last, 10)
            ));
        }
    }
    // What it logs reaches `docker logs` (for HTTP services: the request just made).
    let seen = wait_until(Duration::from_secs(5), || {
        let text = logs(engine, container);
        !text.trim().is_empty() && requested.iter().all(|p| text.contains(p))
    });
    if !seen {
        failures.push(format!(
            "[{name}] its log does not reach `docker logs` (requests made: {requested:?}); docker logs:\n{}",
            tail(&logs(engine, container), 20)
        ));
    }
}

fn check_stop(engine: &Engine, service: &Service, container: &str, failures: &mut Vec<String>) {
    let name = &service.name;
    let started = Instant::now();
    if let Err(e) = engine.ok(&["kill", "--signal=SIGTERM", container]) {
        failures.push(format!("[{name}] cannot send SIGTERM: {e}"));
        return;
    }
    let stopped = wait_until(Duration::from_secs(10), || inspect(engine, container, "{{.State.Running}}") == "false");
    let took = started.elapsed().as_secs_f64();
    if !stopped {
        failures.push(format!("[{name}] still running 10 s after SIGTERM"));
        let _ = engine.run(&["kill", container]);
        return;
    }
    let code = inspect(engine, container, "{{.State.ExitCode}}");
    if code != "0" {
        failures.push(format!(
            "[{name}] exited with {code} after SIGTERM (not a clean exit); docker logs:\n{}",
            tail(&logs(engine, container), 20)
        ));
    } else {
        eprintln!("e2e: {name} stopped on SIGTERM in {took:.1} s");
    }
}

/// A jobs image: `docker run` without a command runs its job once and exits 0,
/// and so does each scheduled job with its command as the override (as an
/// EventBridge schedule runs it), its output in `docker logs`.
fn run_jobs(engine: &Engine, made: &mut Made<'_>, service: &Service, failures: &mut Vec<String>) {
    let mut runs: Vec<(String, Vec<String>, Option<String>)> = vec![("default command".into(), Vec::new(), None)];
    for job in service.declared["jobs"].as_array().into_iter().flatten() {
        let command: Vec<String> =
            job["command"].as_array().into_iter().flatten().filter_map(|w| w.as_str().map(String::from)).collect();
        let label = format!("job `{}`", job["name"].as_str().unwrap_or("?"));
        runs.push((label, command, job["user"].as_str().map(String::from)));
    }
    if runs.len() < 2 {
        failures.push(format!("[{}] a jobs image declares no job", service.name));
    }
    for (i, (label, command, user)) in runs.iter().enumerate() {
        let container = format!("migrate-e2e-{}-{i}", service.name);
        made.container(&container);
        let mut args: Vec<String> =
            ["run", "--name", &container, "--network=host"].iter().map(|s| s.to_string()).collect();
        args.extend(add_host_args());
        args.extend(env_args(service));
        args.extend(
            task_definition_cap_drops(service).unwrap_or_default().into_iter().map(|c| format!("--cap-drop={c}")),
        );
        if let Some(user) = user {
            args.push(format!("--user={user}"));
        }
        args.push(service.image());
        args.extend(command.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let started = Instant::now();
        let output = engine.run(&args);
        let took = started.elapsed().as_secs_f64();
        let text = logs(engine, &container);
        if !output.status.success() {
            failures.push(format!(
                "[{}] {label} did not exit 0 ({}); docker logs:\n{}",
                service.name,
                output.status,
                tail(&text, 20)
            ));
        } else if text.trim().is_empty() {
            failures.push(format!("[{}] {label} exited 0 but wrote nothing to `docker logs`", service.name));
        } else {
            eprintln!("e2e: {} {label} ran once and exited 0 in {took:.1} s", service.name);
        }
    }
}
