//! Splitting tests on a hand-built run with the roles a typical golden image
//! has: common, nginx, app (gunicorn unit + cron), worker (supervisor +
//! celery), datadog, postgresql, backup (cron only).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::emit::NoRenderer;
use super::examples::build_run;
use super::ruleset::RuleSet;
use super::split::{Inputs, convert};
use crate::config::{Config, ServiceConfig};
use crate::model::Project;
use crate::model::resolved::{Condition, EnvEntry, EnvValue as ModelEnv, ResolvedRun};
use crate::sensitive::Sensitive;
use crate::spec::image::{Conversion, Disposition, EnvValue, ImageSpec, StepAction};

const SECRET: &str = "s3cr3t-planted-9f2c";

const RUN: &str = r#"
- { _role: common, name: Base packages, apt: { name: [ca-certificates, htop, locales] } }
- { _role: common, group: { name: app, gid: 10001 } }
- { _role: common, user: { name: app, uid: 10001, group: app } }
- { _role: common, sysctl: { name: vm.swappiness, value: "10" } }
- { _role: common, template: { src: sshd_config.j2, dest: /etc/ssh/sshd_config } }
- { _role: common, apt: { name: openssh-server } }
- { _role: common, name: Tune the VM, shell: "echo never > /sys/kernel/mm/transparent_hugepage/enabled" }
- { _role: nginx, apt: { name: nginx } }
- { _role: nginx, name: Configure nginx, template: { src: nginx.conf.j2, dest: /etc/nginx/nginx.conf }, notify: restart nginx }
- { _role: nginx, service: { name: nginx, state: started, enabled: true } }
- { _role: app, pip: { requirements: /srv/app/requirements.txt, virtualenv: /srv/app/venv } }
- { _role: app, name: App secret, copy: { content: "(sensitive value)", dest: /etc/app/secret.env, owner: app, mode: "0600" } }
- { _role: app, template: { src: app.service.j2, dest: /etc/systemd/system/app.service } }
- { _role: app, systemd: { name: app, state: started, enabled: true, daemon_reload: true } }
- { _role: app, cron: { name: clear sessions, minute: "0", hour: "3", job: "/srv/app/venv/bin/python manage.py clearsessions", user: app } }
- { _role: app, command: systemctl daemon-reload }
- { _role: app, name: Only on CentOS, yum: { name: httpd } }
- { _role: app, name: Migrate with token, command: /srv/app/bin/migrate }
- { _role: app, community.general.ini_file: { path: /etc/app/app.ini, section: a, option: b, value: c } }
- { _role: worker, apt: { name: supervisor } }
- { _role: worker, template: { src: worker.conf.j2, dest: /etc/supervisor/conf.d/worker.conf } }
- { _role: datadog, apt: { name: datadog-agent } }
- { _role: datadog, template: { src: datadog.yaml.j2, dest: /etc/datadog-agent/datadog.yaml } }
- { _role: postgresql, apt: { name: postgresql } }
- { _role: postgresql, service: { name: postgresql, state: started } }
- { _role: backup, copy: { src: backup.sh, dest: /usr/local/bin/backup.sh, mode: "0755" } }
- { _role: backup, cron: { name: nightly backup, minute: "15", hour: "1", job: "/usr/local/bin/backup.sh" } }
- { _role: nginx, name: restart nginx, listen: restart nginx, service: { name: nginx, state: restarted } }
"#;

fn fixture() -> (ResolvedRun, BTreeMap<String, String>) {
    let (mut run, mut files) = build_run(RUN).unwrap();
    files.insert(
        "roles/app/templates/app.service.j2".into(),
        "[Unit]\nDescription=app\n[Service]\nUser=app\nWorkingDirectory=/srv/app\nEnvironment=PYTHONUNBUFFERED=1\n\
         ExecStart=/srv/app/venv/bin/gunicorn --daemon --bind 0.0.0.0:8000 app.wsgi\n"
            .into(),
    );
    files.insert(
        "roles/worker/templates/worker.conf.j2".into(),
        "[program:worker]\ncommand=/srv/app/venv/bin/celery -A app worker\nuser=app\ndirectory=/srv/app\n".into(),
    );
    let tasks = &mut run.plays[0].tasks;
    for t in tasks.iter_mut() {
        if t.name.as_deref() == Some("App secret") {
            t.secret_args.insert("content".into(), Sensitive::new(json!(SECRET)));
        }
        if t.name.as_deref() == Some("Only on CentOS") {
            t.condition = Condition::False { when: "ansible_os_family == 'RedHat'".into() };
        }
        if t.name.as_deref() == Some("Migrate with token") {
            let origin = t.origin.clone();
            t.environment.insert(
                "API_TOKEN".into(),
                EnvEntry { origin, value: ModelEnv::Secret { value: Sensitive::new(SECRET.to_string()) } },
            );
        }
    }
    (run, files)
}

fn run_with(config: &Config) -> (Conversion, Vec<crate::diagnostics::Finding>) {
    let rules = RuleSet::load_embedded().unwrap();
    let (run, files) = fixture();
    let project = Project::default();
    let base = crate::model::target::base_image(&project, config);
    convert(&Inputs {
        project: &project,
        files: &files,
        run: &run,
        config,
        rules: &rules,
        templates: &NoRenderer,
        base: &base,
    })
}

fn config() -> Config {
    let mut c = Config::default();
    c.app.name = Some("shop".into());
    c
}

fn image<'a>(c: &'a Conversion, name: &str) -> &'a ImageSpec {
    c.images.iter().find(|i| i.service == name).unwrap_or_else(|| panic!("no image {name}"))
}

fn installs(img: &ImageSpec) -> Vec<String> {
    img.steps
        .iter()
        .filter_map(|s| match &s.action {
            StepAction::InstallPackages { packages, .. } => Some(packages.iter().map(|p| p.name.clone())),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn one_image_per_process() {
    let (c, _) = run_with(&config());
    let names: Vec<&str> = c.images.iter().map(|i| i.service.as_str()).collect();
    assert_eq!(names, ["app", "backup", "nginx", "worker"]);
    assert_eq!(c.managed.iter().map(|m| m.service.as_str()).collect::<Vec<_>>(), ["postgresql"]);
    assert_eq!(c.sidecars.iter().map(|m| m.service.as_str()).collect::<Vec<_>>(), ["datadog-agent"]);

    let nginx = image(&c, "nginx");
    assert_eq!(nginx.process.command, ["nginx", "-g", "daemon off;"]);
    assert_eq!(nginx.process.user, "www-data");
    assert_eq!(nginx.process.stop_signal.as_deref(), Some("SIGQUIT"));
    // common contributes only its essentials; the health check's curl joins that first
    // install; nginx's own package and config follow.
    assert_eq!(installs(nginx), ["ca-certificates", "locales", "curl", "nginx"]);
    assert!(
        nginx
            .steps
            .iter()
            .any(|s| matches!(&s.action, StepAction::Copy { dest, .. } if dest == "/etc/nginx/nginx.conf"))
    );
    assert!(nginx.steps.iter().any(|s| matches!(&s.action, StepAction::CreateUser { name, .. } if name == "app")));
    assert!(!installs(nginx).contains(&"htop".to_string()));
    assert_eq!(nginx.log_links.len(), 2);

    let app = image(&c, "app");
    // The catalog sends gunicorn's access and error logs to the container output.
    assert_eq!(
        app.process.command,
        ["/srv/app/venv/bin/gunicorn", "--bind", "0.0.0.0:8000", "app.wsgi", "--access-logfile=-", "--error-logfile=-"]
    );
    assert_eq!(app.process.user, "app");
    assert_eq!(app.process.workdir.as_deref(), Some("/srv/app"));
    assert_eq!(app.catalog.as_deref(), Some("gunicorn"));
    assert_eq!(app.jobs.len(), 1);
    assert_eq!(app.jobs[0].name, "clear-sessions");
    assert_eq!(app.start_files.len(), 1);
    assert_eq!(app.start_files[0].dest, "/etc/app/secret.env");
    let secret_var = app.env.iter().find(|e| e.name == "FILE_ETC_APP_SECRET_ENV").unwrap();
    assert_eq!(
        secret_var.value,
        EnvValue::Parameter { parameter: "/shop/default/app/FILE_ETC_APP_SECRET_ENV".into(), secret: true }
    );
    assert!(app.env.iter().any(|e| e.name == "PYTHONUNBUFFERED"));
    // The requirements file is in the image (`/srv/app/...`), so pip installs from it in place.
    assert!(app.steps.iter().any(|s| matches!(&s.action, StepAction::Run { commands, .. }
        if commands.iter().any(|c| c == "/srv/app/venv/bin/pip install --no-cache-dir -r /srv/app/requirements.txt"))));
    // The unit file itself is not copied into the image.
    assert!(!app.steps.iter().any(|s| matches!(&s.action, StepAction::Copy { dest, .. } if dest.contains("systemd"))));

    let worker = image(&c, "worker");
    assert_eq!(worker.process.command, ["/srv/app/venv/bin/celery", "-A", "app", "worker"]);
    assert_eq!(worker.catalog.as_deref(), Some("celery"));
    assert_eq!(worker.process.user, "app");

    let backup = image(&c, "backup");
    assert_eq!(backup.kind, crate::spec::image::ServiceKind::Jobs);
    assert_eq!(backup.jobs.len(), 1);
    assert!(backup.ports.is_empty() && backup.healthcheck.is_none());
}

#[test]
fn every_task_is_accounted_for_once() {
    let (c, findings) = run_with(&config());
    let (run, _) = fixture();
    let tasks: Vec<_> = run.plays.iter().flat_map(|p| p.tasks.iter().chain(p.handlers.iter())).collect();
    assert_eq!(c.accounting.len(), tasks.len());
    let origins: BTreeSet<_> = c.accounting.iter().map(|a| a.origin.clone()).collect();
    assert_eq!(origins, tasks.iter().map(|t| t.origin.clone()).collect());
    let by_line = |line: u32| &c.accounting.iter().find(|a| a.origin.line == line).unwrap().disposition;
    let code = |d: &Disposition| match d {
        Disposition::Converted { code, .. }
        | Disposition::Dropped { code, .. }
        | Disposition::NeedsHuman { code, .. } => code.clone(),
        Disposition::Skipped { .. } => "skipped".into(),
    };
    let expected = [
        (1, "M101"),  // common: essentials kept
        (4, "M401"),  // sysctl
        (5, "M410"),  // sshd_config
        (6, "M354"),  // openssh-server: sshd dropped
        (7, "M355"),  // a shared role's tuning
        (16, "M702"), // systemctl
        (17, "skipped"),
        (18, "M701"), // a secret in the build environment
        (19, "M801"), // unmapped module
        (20, "M354"), // supervisor itself
        (22, "M353"), // datadog sidecar
        (23, "M353"),
        (24, "M352"), // postgresql
        (25, "M352"),
        (28, "M301"), // the handler
    ];
    for (line, want) in expected {
        assert_eq!(code(by_line(line)), want, "line {line}: {:?}", by_line(line));
    }
    assert!(matches!(by_line(18), Disposition::NeedsHuman { .. }));
    assert!(matches!(by_line(9), Disposition::Converted { services, .. } if services == &["nginx"]));
    assert!(matches!(by_line(2), Disposition::Converted { services, .. } if services.len() == 4));
    assert!(findings.iter().any(|f| f.code.id == "M801" && f.line == 19));
}

#[test]
fn no_secret_anywhere() {
    let (c, findings) = run_with(&config());
    let json = serde_json::to_string(&c).unwrap();
    assert!(!json.contains(SECRET), "the secret leaked into the conversion");
    assert!(json.contains("FILE_ETC_APP_SECRET_ENV"));
    for f in &findings {
        assert!(!f.to_string().contains(SECRET), "{f}");
    }
    assert!(!format!("{c:?}").contains(SECRET));
}

#[test]
fn deterministic() {
    let a = serde_json::to_string(&run_with(&config())).unwrap();
    let b = serde_json::to_string(&run_with(&config())).unwrap();
    assert_eq!(a, b);
}

#[test]
fn containerize_switch() {
    let mut c = config();
    c.services.insert("postgresql".into(), ServiceConfig { containerize: Some(true) });
    let (conv, _) = run_with(&c);
    assert!(conv.managed.is_empty());
    let pg = image(&conv, "postgresql");
    assert_eq!(pg.process.user, "postgres");
    assert_eq!(pg.process.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(installs(pg), ["ca-certificates", "locales", "postgresql"]);
}

#[test]
fn base_image_from_config() {
    let mut c = config();
    c.base_image = Some(crate::config::BaseImageConfig { image: "amazonlinux:2023".into(), family: None });
    let (conv, findings) = run_with(&c);
    assert!(conv.images.iter().all(|i| i.base.reference == "amazonlinux:2023"));
    assert!(conv.images.iter().all(|i| i.base.family == crate::spec::image::PackageFamily::Dnf));
    assert!(!findings.iter().any(|f| f.code.id == "M350"));
    let (_, findings) = run_with(&config());
    assert!(findings.iter().any(|f| f.code.id == "M350"));
}

#[test]
fn packer_shell_and_base_image() {
    let dir = tempfile::tempdir().unwrap();
    let template = r#"{
  "builders": [{"type": "amazon-ebs", "region": "us-east-1", "instance_type": "t3.small", "ssh_username": "ubuntu",
    "ami_name": "web", "source_ami_filter": {"filters": {"name": "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"},
    "owners": ["099720109477"], "most_recent": true}}],
  "provisioners": [{"type": "shell", "inline": ["sudo apt-get install -y nginx", "sudo systemctl enable --now nginx", "sudo systemctl daemon-reload"]}]
}"#;
    std::fs::write(dir.path().join("web.json"), template).unwrap();
    let set = crate::source::SourceSet::load(dir.path()).unwrap();
    let (packer, _) = crate::model::packer::load(&set);
    assert_eq!(packer.len(), 1);
    let project = Project { packer, ..Default::default() };
    let rules = RuleSet::load_embedded().unwrap();
    let run = ResolvedRun::default();
    let files = BTreeMap::new();
    let config = config();
    let base = crate::model::target::base_image(&project, &config);
    let (c, findings) = convert(&Inputs {
        base: &base,
        project: &project,
        files: &files,
        run: &run,
        config: &config,
        rules: &rules,
        templates: &NoRenderer,
    });
    assert_eq!(c.images.len(), 1, "{findings:?}");
    assert_eq!(c.images[0].service, "nginx");
    assert_eq!(c.images[0].base.reference, "ubuntu:22.04");
    assert!(!findings.iter().any(|f| f.code.id == "M350"));
}

#[test]
fn a_dropped_daemon_package_leaves_the_others_to_the_role_image() {
    const WORKER: &str = r#"
- { _role: worker, name: Runtime and supervisor, apt: { name: [python3, supervisor] } }
- { _role: worker, template: { src: worker.conf.j2, dest: /etc/supervisor/conf.d/worker.conf } }
- { _role: batch, name: Batch needs, package: { name: [python3, curl, cron] } }
- { _role: batch, cron: { name: nightly, minute: "30", hour: "2", job: /opt/batch/report.py } }
"#;
    let (run, mut files) = build_run(WORKER).unwrap();
    files.insert(
        "roles/worker/templates/worker.conf.j2".into(),
        "[program:worker]\ncommand=/usr/bin/python3 /opt/w.py\nuser=app\n".into(),
    );
    let rules = RuleSet::load_embedded().unwrap();
    let project = Project::default();
    let config = config();
    let base = crate::model::target::base_image(&project, &config);
    let (c, _) = convert(&Inputs {
        project: &project,
        files: &files,
        run: &run,
        config: &config,
        rules: &rules,
        templates: &NoRenderer,
        base: &base,
    });
    let worker = installs(image(&c, "worker"));
    assert!(worker.contains(&"python3".to_string()) && !worker.contains(&"supervisor".to_string()), "{worker:?}");
    let batch = installs(image(&c, "batch"));
    assert!(batch.contains(&"curl".to_string()) && !batch.contains(&"cron".to_string()), "{batch:?}");
}

/// A cron-only role: no service pretends to run; the default command is the first job in
/// exec form with its log redirect removed, and the image runs as the account the role creates.
#[test]
fn a_jobs_image_runs_its_first_job_as_the_role_account() {
    const BATCH: &str = r#"
- { _role: batch, user: { name: shop, uid: 1500, system: true } }
- { _role: batch, cron: { name: nightly, minute: "30", hour: "2", user: shop, job: "/opt/b/report.py >> /var/log/b/r.log 2>&1" } }
- { _role: batch, cron: { name: purge, minute: "*/5", user: shop, job: "/opt/b/purge.sh --old | logger" } }
"#;
    let (run, files) = build_run(BATCH).unwrap();
    let rules = RuleSet::load_embedded().unwrap();
    let project = Project::default();
    let config = config();
    let base = crate::model::target::base_image(&project, &config);
    let (c, _) = convert(&Inputs {
        project: &project,
        files: &files,
        run: &run,
        config: &config,
        rules: &rules,
        templates: &NoRenderer,
        base: &base,
    });
    let batch = image(&c, "batch");
    assert_eq!(batch.process.command, vec!["/opt/b/report.py"]);
    assert_eq!(batch.process.user, "shop");
    assert!(!batch.steps.iter().any(|s| matches!(&s.action, StepAction::CreateUser { name, .. } if name == "app")));
    assert_eq!(batch.jobs[1].command, vec!["/bin/sh", "-c", "/opt/b/purge.sh --old | logger"]);
    assert!(batch.report.converted.iter().any(|r| r.why.contains("`>> /var/log/b/r.log 2>&1` is removed")));
}

/// Host-level daemons (container runtime, firewall) are dropped with a reason, and so is the
/// rest of a play that only provisions them; nothing needs a human and no image is built.
#[test]
fn a_host_daemon_play_is_dropped_with_reasons() {
    const HOST: &str = r#"
- { _role: docker, apt: { name: [docker-ce, containerd.io] } }
- { _role: docker, name: Daemon config, copy: { content: "{}", dest: /etc/docker/daemon.json } }
- { _role: docker, service: { name: docker, state: started, enabled: true } }
- { _role: docker, service: { name: cri-docker.socket, state: started } }
- { _role: docker, name: Prerequisites, command: modprobe overlay }
- { _role: fw, service: { name: firewalld, state: started } }
"#;
    let (run, files) = build_run(HOST).unwrap();
    let rules = RuleSet::load_embedded().unwrap();
    let project = Project::default();
    let config = config();
    let base = crate::model::target::base_image(&project, &config);
    let (c, findings) = convert(&Inputs {
        project: &project,
        files: &files,
        run: &run,
        config: &config,
        rules: &rules,
        templates: &NoRenderer,
        base: &base,
    });
    assert!(c.images.is_empty(), "{:?}", c.images.iter().map(|i| &i.service).collect::<Vec<_>>());
    for a in &c.accounting {
        match &a.disposition {
            Disposition::Dropped { reason, .. } => assert!(!reason.is_empty(), "{a:?}"),
            other => panic!("{}: {other:?}", a.title),
        }
    }
    assert!(!findings.iter().any(|f| f.code.id == "M356" || f.code.id == "M357"), "{findings:?}");
}

/// An install written for another package manager (`yum:` on the Debian base) uses the base
/// image's manager, so the Dockerfile never calls a tool the image does not have.
#[test]
fn installs_use_the_base_image_manager() {
    const WEB: &str = r#"
- { _role: web, yum: { name: [httpd, git] } }
- { _role: web, service: { name: httpd, state: started } }
"#;
    let (run, files) = build_run(WEB).unwrap();
    let rules = RuleSet::load_embedded().unwrap();
    let project = Project::default();
    let config = config();
    let base = crate::model::target::base_image(&project, &config);
    let (c, findings) = convert(&Inputs {
        project: &project,
        files: &files,
        run: &run,
        config: &config,
        rules: &rules,
        templates: &NoRenderer,
        base: &base,
    });
    let managers: Vec<_> = image(&c, "apache")
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            StepAction::InstallPackages { manager, .. } => Some(*manager),
            _ => None,
        })
        .collect();
    assert_eq!(managers, [crate::spec::image::PackageFamily::Apt]);
    assert!(findings.iter().any(|f| f.code.id == "M105" && f.message.contains("check them")), "{findings:?}");
}

/// A cron.d template's jobs are the rendered file's: without a rendering, the template text
/// never becomes a schedule.
#[test]
fn a_cron_template_is_never_scheduled_as_template_text() {
    const PULL: &str = r#"
- { _role: pull, template: { src: pull.cron.j2, dest: /etc/cron.d/pull } }
"#;
    let (run, mut files) = build_run(PULL).unwrap();
    files.insert("roles/pull/templates/pull.cron.j2".into(), "*/15 * * * * root pull -d {{ workdir }}\n".into());
    let rules = RuleSet::load_embedded().unwrap();
    let project = Project::default();
    let config = config();
    let base = crate::model::target::base_image(&project, &config);
    let (c, _) = convert(&Inputs {
        project: &project,
        files: &files,
        run: &run,
        config: &config,
        rules: &rules,
        templates: &NoRenderer,
        base: &base,
    });
    assert!(c.images.iter().all(|i| i.jobs.iter().all(|j| !j.command.join(" ").contains("{{"))));
    assert!(matches!(c.accounting[0].disposition, Disposition::NeedsHuman { .. }), "{:?}", c.accounting);
}

// ------------------------------------------------------------ env discovery

/// `rules::env` on the fixture: the secret file's value is discovered under the name the
/// task definition references, secret, with its task's origin; the build task's
/// `environment:` is reported as build-time only and not pushed.
#[test]
fn discovery_names_values_as_the_task_definitions_read_them() {
    let c = config();
    let (conversion, _) = run_with(&c);
    let (run, _) = fixture();
    let found = super::env::discover(&conversion, &run, &c);
    let app = image(&conversion, "app");
    let expected = app
        .env
        .iter()
        .find_map(|e| match &e.value {
            EnvValue::Parameter { parameter, .. } if e.name == "FILE_ETC_APP_SECRET_ENV" => Some(parameter.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(expected, crate::spec::parameter::service_parameter("shop", None, "app", "FILE_ETC_APP_SECRET_ENV"));
    let v = found.values.iter().find(|v| v.parameter == expected).unwrap();
    assert!(v.secret);
    assert_eq!(v.value.expose(), SECRET);
    assert_eq!(v.service, "app");
    assert_eq!(*v.services, ["app"]);
    assert_eq!(v.origin, app.env.iter().find(|e| e.name == "FILE_ETC_APP_SECRET_ENV").unwrap().origin);
    // Literals from the unit stay in the task definition.
    assert!(!found.values.iter().any(|v| v.name == "PYTHONUNBUFFERED"));
    // Nothing the debug output shows holds the plaintext.
    assert!(!format!("{found:?}").contains(SECRET));
}

#[test]
fn discovery_reports_a_secret_it_cannot_read_and_never_invents_one() {
    let c = config();
    let (conversion, _) = run_with(&c);
    let (mut run, _) = fixture();
    // As without a vault password: the task's secret argument is unknown.
    for t in run.plays[0].tasks.iter_mut() {
        t.secret_args.clear();
    }
    let found = super::env::discover(&conversion, &run, &c);
    assert!(!found.values.iter().any(|v| v.name == "FILE_ETC_APP_SECRET_ENV"));
    let f = found.findings.iter().find(|f| f.code.id == "M047").unwrap();
    assert!(f.message.contains("FILE_ETC_APP_SECRET_ENV"), "{}", f.message);
    assert_eq!(f.severity, crate::diagnostics::Severity::Warning);
}

#[test]
fn discovery_reports_build_time_environment_once_per_definition() {
    let c = config();
    let (conversion, _) = run_with(&c);
    let (mut run, _) = fixture();
    // A play-level proxy reaches two build tasks of the app image; one definition line.
    let defined = crate::model::Origin::new("group_vars/all.yml".into(), 4);
    for t in run.plays[0].tasks.iter_mut() {
        if t.origin == image(&conversion, "app").steps[0].origin || t.name.as_deref() == Some("Base packages") {
            let value = ModelEnv::Plain { value: "http://proxy:3128".into() };
            t.environment.insert("http_proxy".into(), EnvEntry { origin: defined.clone(), value });
        }
    }
    let found = super::env::discover(&conversion, &run, &c);
    let built: Vec<_> = found.findings.iter().filter(|f| f.code.id == "M048").collect();
    assert_eq!(built.len(), 1, "{built:?}");
    assert_eq!((built[0].path.as_str(), built[0].line), ("group_vars/all.yml", 4));
    assert!(built[0].message.contains("(http_proxy)"), "{}", built[0].message);
    assert!(!found.values.iter().any(|v| v.name == "http_proxy"));
    // A task that feeds no image (its environment holds a secret) is not a build step.
    assert!(!found.findings.iter().any(|f| f.message.contains("API_TOKEN")));
}
