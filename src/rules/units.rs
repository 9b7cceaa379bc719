//! Process definitions read from the files a role installs: systemd units
//! (`ExecStart=`, `User=`, `Environment=`, `EnvironmentFile=`,
//! `WorkingDirectory=`, `KillSignal=`, `TimeoutStopSec=`), supervisor
//! programs (`[program:x] command= user= directory= environment=`), SysV
//! init scripts (`DAEMON=` + `DAEMON_ARGS=`) and `/etc/cron.d` files.
//!
//! Owns only the parsing of those texts; which image runs what is decided by
//! [`super::split`].

use serde::Serialize;

use super::emit::{JobDraft, cron_command, job_name};
use super::shell;
use crate::spec::image::CronSchedule;

/// Where a process definition came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DefinitionSource {
    SystemdUnit,
    SupervisorProgram,
    InitScript,
    /// A Node.js process manager started by a command task (`forever start app.js`).
    LauncherCommand,
}

/// A long-running process as a VM file defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Definition {
    /// The unit or program name (`myapp` for `myapp.service`).
    pub name: String,
    pub source: DefinitionSource,
    /// The command line as written (first `ExecStart=`), `None` when absent.
    pub command_line: Option<String>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub workdir: Option<String>,
    /// `Environment=` / `environment=` pairs, in file order.
    pub environment: Vec<(String, String)>,
    /// `EnvironmentFile=` paths.
    pub environment_files: Vec<String>,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<u32>,
    /// `Type=forking` or a similar sign that the command daemonizes.
    pub forking: bool,
}

impl Definition {
    fn new(name: &str, source: DefinitionSource) -> Definition {
        Definition {
            name: name.to_string(),
            source,
            command_line: None,
            user: None,
            group: None,
            workdir: None,
            environment: Vec::new(),
            environment_files: Vec::new(),
            stop_signal: None,
            stop_timeout: None,
            forking: false,
        }
    }
}

/// A command that starts a long-running Node.js process through a process manager
/// (`forever start /srv/app/app.js`, `npx pm2 start server.js`): the process it runs
/// in the foreground (`node /srv/app/app.js`), named after the script. `None` for
/// any other command.
pub fn launcher_command(line: &str) -> Option<Definition> {
    let words = shell::split(line)?;
    let mut rest = words.iter().map(String::as_str).skip_while(|w| *w == "npx" || w.contains('='));
    let tool = rest.next()?;
    let tool = tool.rsplit('/').next().unwrap_or(tool);
    if !matches!(tool, "forever" | "pm2") || rest.next()? != "start" {
        return None;
    }
    // The script is the first `.js` word (option values such as `--name api` are skipped).
    let script = rest.find(|w| !w.starts_with('-') && [".js", ".mjs", ".cjs"].iter().any(|e| w.ends_with(e)))?;
    let file = script.rsplit('/').next().unwrap_or(script);
    let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
    let mut d = Definition::new(stem, DefinitionSource::LauncherCommand);
    d.command_line = Some(format!("node {}", shell::quote(script)));
    Some(d)
}

/// Reads a systemd unit file (`name` is its file name). `None` for units
/// that run nothing long-lived (no `ExecStart=`, or `Type=oneshot`).
pub fn systemd_unit(file_name: &str, text: &str) -> Option<Definition> {
    let name = file_name.strip_suffix(".service").unwrap_or(file_name);
    let mut d = Definition::new(name, DefinitionSource::SystemdUnit);
    let mut section = String::new();
    let mut oneshot = false;
    for line in logical_lines(text) {
        let line = line.trim();
        if line.starts_with('[') && line.ends_with(']') {
            section = line[1..line.len() - 1].to_string();
            continue;
        }
        if section != "Service" || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = value.trim().to_string();
        match key.trim() {
            "ExecStart" if d.command_line.is_none() && !value.is_empty() => {
                d.command_line = Some(value.trim_start_matches(['-', '@', ':', '+', '!']).to_string())
            }
            "User" => d.user = Some(value),
            "Group" => d.group = Some(value),
            "WorkingDirectory" => d.workdir = Some(value.trim_start_matches('-').to_string()),
            "Environment" => d.environment.extend(env_pairs(&value)),
            "EnvironmentFile" => d.environment_files.push(value.trim_start_matches('-').to_string()),
            "KillSignal" => d.stop_signal = Some(value),
            "TimeoutStopSec" => d.stop_timeout = seconds(&value),
            "Type" => {
                oneshot = value == "oneshot";
                d.forking = value == "forking";
            }
            _ => {}
        }
    }
    (d.command_line.is_some() && !oneshot).then_some(d)
}

/// `Environment="A=1" B=2` → pairs.
fn env_pairs(value: &str) -> Vec<(String, String)> {
    shell::split(value)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|w| w.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

/// `90`, `90s`, `2min` → seconds.
fn seconds(value: &str) -> Option<u32> {
    let v = value.trim();
    if let Some(m) = v.strip_suffix("min") {
        return m.trim().parse::<u32>().ok().map(|m| m * 60);
    }
    v.trim_end_matches('s').trim().parse().ok()
}

/// Joins lines ending in `\` (systemd and INI continuation).
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(stripped) = line.strip_suffix('\\') {
            current.push_str(stripped);
            current.push(' ');
        } else {
            current.push_str(line);
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Every `[program:x]` of a supervisor config.
pub fn supervisor_programs(text: &str) -> Vec<Definition> {
    let mut out: Vec<Definition> = Vec::new();
    let mut current: Option<Definition> = None;
    for line in logical_lines(text) {
        let line = line.trim();
        if line.starts_with('[') && line.ends_with(']') {
            out.extend(current.take().filter(|d| d.command_line.is_some()));
            let header = &line[1..line.len() - 1];
            if let Some(name) = header.strip_prefix("program:") {
                current = Some(Definition::new(name.trim(), DefinitionSource::SupervisorProgram));
            }
            continue;
        }
        let Some(d) = current.as_mut() else { continue };
        if line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = value.trim().to_string();
        match key.trim() {
            "command" => d.command_line = Some(value),
            "user" => d.user = Some(value),
            "directory" => d.workdir = Some(value),
            "environment" => {
                for pair in split_supervisor_env(&value) {
                    d.environment.push(pair);
                }
            }
            "stopsignal" => d.stop_signal = Some(format!("SIG{}", value.trim_start_matches("SIG"))),
            "stopwaitsecs" => d.stop_timeout = value.parse().ok(),
            _ => {}
        }
    }
    out.extend(current.filter(|d| d.command_line.is_some()));
    out
}

/// `A="1",B=2` → pairs.
fn split_supervisor_env(value: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut quote = false;
    let mut item = String::new();
    for c in value.chars() {
        match c {
            '"' | '\'' => quote = !quote,
            ',' if !quote => pairs.push(std::mem::take(&mut item)),
            c => item.push(c),
        }
    }
    pairs.push(item);
    pairs
        .into_iter()
        .filter_map(|p| p.split_once('=').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// A SysV init script: `DAEMON=/usr/bin/x` and `DAEMON_ARGS=...` (the
/// Debian skeleton); the name is the script's file name.
pub fn init_script(file_name: &str, text: &str) -> Option<Definition> {
    let mut d = Definition::new(file_name, DefinitionSource::InitScript);
    let mut daemon = None;
    let mut args = String::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("DAEMON=") {
            daemon = Some(unquote(v));
        } else if let Some(v) = line.strip_prefix("DAEMON_ARGS=") {
            args = unquote(v);
        } else if let Some(v) = line.strip_prefix("USER=").or_else(|| line.strip_prefix("DAEMON_USER=")) {
            d.user = Some(unquote(v));
        }
    }
    let daemon = daemon?;
    d.command_line = Some(if args.is_empty() { daemon } else { format!("{daemon} {args}") });
    Some(d)
}

fn unquote(v: &str) -> String {
    v.trim().trim_matches('"').trim_matches('\'').to_string()
}

/// The jobs of an `/etc/cron.d` file (five fields, a user, a command).
pub fn cron_d(text: &str) -> Vec<JobDraft> {
    let mut jobs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Variable assignments (`PATH=...`, `MAILTO=`) are not jobs.
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('=') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let (schedule, rest) = if let Some(special) = first.strip_prefix('@') {
            if special == "reboot" {
                continue;
            }
            let sched = CronSchedule {
                minute: "*".into(),
                hour: "*".into(),
                day: "*".into(),
                month: "*".into(),
                weekday: "*".into(),
                special_time: Some(special.to_string()),
            };
            (sched, 1)
        } else if words.len() >= 7 {
            let sched = CronSchedule {
                minute: words[0].into(),
                hour: words[1].into(),
                day: words[2].into(),
                month: words[3].into(),
                weekday: words[4].into(),
                special_time: None,
            };
            (sched, 5)
        } else {
            continue;
        };
        let Some(user) = words.get(rest) else { continue };
        let command_words = &words[rest + 1..];
        if command_words.is_empty() {
            continue;
        }
        let job = command_words.join(" ");
        let (line, dropped_redirect) = super::emit::strip_output_redirects(&job);
        jobs.push(JobDraft {
            name: job_name(&job),
            schedule,
            command: cron_command(&line),
            user: Some(user.to_string()),
            dropped_redirect,
        });
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launchers() {
        let d = launcher_command("/usr/local/bin/forever start /srv/node/app/app.js").unwrap();
        assert_eq!((d.name.as_str(), d.command_line.as_deref()), ("app", Some("node /srv/node/app/app.js")));
        let d = launcher_command("npx pm2 start --name api server.mjs").unwrap();
        assert_eq!(d.command_line.as_deref(), Some("node server.mjs"));
        assert_eq!(launcher_command("forever list"), None);
        assert_eq!(launcher_command("pm2 start ecosystem.config.yml"), None);
        assert_eq!(launcher_command("npm install"), None);
    }

    #[test]
    fn systemd() {
        let unit = "[Unit]\nDescription=app\n[Service]\nType=simple\nUser=app\nWorkingDirectory=/srv/app\n\
                    Environment=\"A=1\" B=2\nEnvironmentFile=-/etc/default/app\nExecStart=/srv/app/venv/bin/gunicorn \\\n  \
                    --bind 127.0.0.1:8000 app.wsgi\nKillSignal=SIGQUIT\nTimeoutStopSec=2min\n[Install]\nWantedBy=multi-user.target\n";
        let d = systemd_unit("app.service", unit).unwrap();
        assert_eq!(d.name, "app");
        assert_eq!(d.command_line.as_deref(), Some("/srv/app/venv/bin/gunicorn    --bind 127.0.0.1:8000 app.wsgi"));
        assert_eq!(d.user.as_deref(), Some("app"));
        assert_eq!(d.workdir.as_deref(), Some("/srv/app"));
        assert_eq!(d.environment, vec![("A".into(), "1".into()), ("B".into(), "2".into())]);
        assert_eq!(d.environment_files, vec!["/etc/default/app"]);
        assert_eq!((d.stop_signal.as_deref(), d.stop_timeout), (Some("SIGQUIT"), Some(120)));
        assert!(systemd_unit("x.service", "[Service]\nType=oneshot\nExecStart=/bin/true\n").is_none());
        assert!(systemd_unit("x.service", "[Unit]\nDescription=x\n").is_none());
    }

    #[test]
    fn supervisor() {
        let conf = "[supervisord]\nnodaemon=true\n[program:web]\ncommand=/srv/venv/bin/gunicorn app:app\nuser=app\n\
                    environment=A=\"1,2\",B=3\n[program:worker]\ncommand=celery -A app worker\nstopsignal=QUIT\n[group:x]\n";
        let ps = supervisor_programs(conf);
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].name, "web");
        assert_eq!(ps[0].environment, vec![("A".into(), "1,2".into()), ("B".into(), "3".into())]);
        assert_eq!(ps[1].stop_signal.as_deref(), Some("SIGQUIT"));
    }

    #[test]
    fn init_and_cron() {
        let d = init_script("myd", "#!/bin/sh\nDAEMON=/usr/sbin/myd\nDAEMON_ARGS=\"--port 9\"\n").unwrap();
        assert_eq!(d.command_line.as_deref(), Some("/usr/sbin/myd --port 9"));
        let jobs = cron_d(
            "MAILTO=\"\"\n# c\n*/5 * * * * app /srv/app/bin/sync --all\n@daily root /usr/bin/clean\n@reboot root x\n",
        );
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].schedule.minute, "*/5");
        assert_eq!(jobs[0].command, vec!["/srv/app/bin/sync", "--all"]);
        assert_eq!(jobs[1].schedule.special_time.as_deref(), Some("daily"));
    }
}
