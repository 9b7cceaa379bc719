//! Synthetic legacy Packer + Ansible repository for benchmarks (issue 7).
//!
//! `cargo run --release --example gen_repo -- --roles N --out DIR [--seed S]` writes a repository of N
//! roles shaped like `samples/webshop`: packages, users and groups, templated configuration, systemd
//! units with `Environment=`, handlers, cron jobs, `include_tasks`, blocks, loops and `when` on facts;
//! `site.yml` with one play per group of roles; staging and production inventories with plain and
//! secret-looking group_vars; a legacy JSON Packer template running `site.yml`.
//!
//! The output is a pure function of (N, seed): a splitmix64 generator drives every choice and files
//! are written in a fixed order, so the same arguments give the same bytes. It owns nothing of the
//! crate and only writes under DIR.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Roles per play (and per inventory group).
const ROLES_PER_GROUP: usize = 10;

const WORDS: &[&str] = &[
    "billing", "catalog", "checkout", "search", "invoice", "ledger", "mailer", "reports", "gateway", "auth", "media",
    "thumbs", "pricing", "stock", "orders", "audit", "metrics", "notify", "export", "import", "sessions", "profile",
    "ratings", "promo", "tax", "shipping", "returns", "feeds", "sitemap", "archive",
];

const PACKAGES: &[&str] = &[
    "curl",
    "ca-certificates",
    "python3",
    "python3-venv",
    "libpq5",
    "libssl3",
    "jq",
    "unzip",
    "rsync",
    "gnupg",
    "libxml2",
    "libyaml-0-2",
    "zlib1g",
    "locales",
    "tzdata",
    "openjdk-17-jre-headless",
    "nodejs",
    "imagemagick",
];

const LANGS: &[(&str, &str)] = &[
    ("python", "/opt/{n}/venv/bin/gunicorn --bind 0.0.0.0:{{ {n}_port }} {n}.wsgi:application"),
    ("java", "/usr/bin/java -Xmx{{ {n}_heap_mb }}m -jar /opt/{n}/{n}.jar --server.port={{ {n}_port }}"),
    ("node", "/usr/bin/node /opt/{n}/server.js --port {{ {n}_port }}"),
    ("go", "/opt/{n}/bin/{n} serve --listen :{{ {n}_port }}"),
];

/// splitmix64: tiny, seeded, and stable across platforms and Rust versions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            let _ = write!(s, "{:016x}", self.next());
        }
        s.truncate(len);
        s
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A long-running daemon under a templated systemd unit.
    Service,
    /// Scheduled jobs under cron.
    Batch,
    /// Host setup only: packages, users, sysctl, files.
    Base,
}

struct Role {
    name: String,
    kind: Kind,
    lang: usize,
    port: u16,
    packages: Vec<&'static str>,
    has_meta: bool,
}

struct Writer {
    root: PathBuf,
    files: usize,
    bytes: usize,
}

impl Writer {
    fn write(&mut self, rel: &str, text: &str) -> std::io::Result<()> {
        let path = self.root.join(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(&path, text)?;
        self.files += 1;
        self.bytes += text.len();
        Ok(())
    }
}

fn main() -> ExitCode {
    let mut roles = None;
    let mut out = None;
    let mut seed: u64 = 7;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        match (arg.as_str(), value) {
            ("--roles", Some(v)) => roles = v.parse::<usize>().ok(),
            ("--out", Some(v)) => out = Some(PathBuf::from(v)),
            ("--seed", Some(v)) => match v.parse() {
                Ok(s) => seed = s,
                Err(_) => return usage(),
            },
            _ => return usage(),
        }
    }
    let (Some(roles), Some(out)) = (roles, out) else { return usage() };
    if roles == 0 {
        return usage();
    }
    match generate(roles, seed, &out) {
        Ok((files, bytes, tasks)) => {
            println!("gen_repo: {roles} roles, {tasks} tasks, {files} files, {bytes} bytes in {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen_repo: {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: gen_repo --roles N --out DIR [--seed S]   (N >= 1)");
    ExitCode::from(2)
}

/// Writes the whole repository; returns (files, bytes, tasks).
fn generate(count: usize, seed: u64, out: &Path) -> std::io::Result<(usize, usize, usize)> {
    if out.exists() && fs::read_dir(out)?.next().is_some() {
        return Err(std::io::Error::other("output directory is not empty"));
    }
    let mut rng = Rng(seed);
    let mut w = Writer { root: out.to_path_buf(), files: 0, bytes: 0 };
    let roles: Vec<Role> = (0..count)
        .map(|i| {
            let kind = match rng.below(4) {
                0 | 1 => Kind::Service,
                2 => Kind::Batch,
                _ => Kind::Base,
            };
            let mut packages = Vec::new();
            for _ in 0..2 + rng.below(3) {
                let p = PACKAGES[rng.below(PACKAGES.len())];
                if !packages.contains(&p) {
                    packages.push(p);
                }
            }
            Role {
                name: format!("{}_{i:05}", rng.pick(WORDS)),
                kind,
                lang: rng.below(LANGS.len()),
                port: 8000 + (i % 1000) as u16,
                packages,
                has_meta: rng.chance(50),
            }
        })
        .collect();

    let mut tasks = 0;
    for role in &roles {
        tasks += write_role(&mut w, &mut rng, role)?;
    }
    let groups: Vec<&[Role]> = roles.chunks(ROLES_PER_GROUP).collect();
    write_site(&mut w, &groups)?;
    for env in ["staging", "production"] {
        write_inventory(&mut w, &mut rng, env, &groups)?;
    }
    write_packer(&mut w)?;
    w.write(
        "ansible.cfg",
        "[defaults]\nroles_path = roles\ninventory = inventories/staging/hosts.ini\nretry_files_enabled = false\n",
    )?;
    w.write(
        "README.md",
        &format!(
            "# Synthetic legacy repository ({count} roles, seed {seed})\n\nGenerated by `cargo run --release --example \
             gen_repo -- --roles {count} --seed {seed} --out DIR` for benchmarks. Not a real company's repo; every \
             secret-looking value is random.\n"
        ),
    )?;
    Ok((w.files, w.bytes, tasks))
}

/// Writes one role; returns how many tasks it has (handlers not counted).
fn write_role(w: &mut Writer, rng: &mut Rng, r: &Role) -> std::io::Result<usize> {
    let n = &r.name;
    let base = format!("roles/{n}");
    let svc = n.replace('_', "-");
    let mut tasks = 0;

    // defaults/main.yml
    let mut d = String::from("---\n");
    let _ = writeln!(d, "{n}_version: \"{}.{}.{}\"", 1 + rng.below(4), rng.below(20), rng.below(10));
    let _ = writeln!(d, "{n}_user: {svc}");
    let _ = writeln!(d, "{n}_group: {svc}");
    let _ = writeln!(d, "{n}_home: /opt/{n}");
    let _ = writeln!(d, "{n}_config_dir: /etc/{svc}");
    let _ = writeln!(d, "{n}_log_dir: /var/log/{svc}");
    let _ = writeln!(d, "{n}_port: {}", r.port);
    let _ = writeln!(d, "{n}_heap_mb: {}", 256 << rng.below(4));
    let _ = writeln!(d, "{n}_workers: {}", 1 + rng.below(8));
    let _ = writeln!(d, "{n}_log_level: info");
    let _ = writeln!(d, "{n}_db_host: db.internal");
    let _ = writeln!(d, "{n}_db_name: {n}");
    let _ = writeln!(
        d,
        "{n}_features:\n  - name: cache\n    enabled: true\n  - name: tracing\n    enabled: {}",
        rng.chance(50)
    );
    let _ = writeln!(d, "{n}_packages:");
    for p in &r.packages {
        let _ = writeln!(d, "  - {p}");
    }
    let _ = writeln!(
        d,
        "{n}_dirs:\n  - \"{{{{ {n}_home }}}}\"\n  - \"{{{{ {n}_config_dir }}}}\"\n  - \"{{{{ {n}_log_dir }}}}\""
    );
    w.write(&format!("{base}/defaults/main.yml"), &d)?;

    // tasks/install.yml
    let install = format!(
        "---\n- name: Refresh the apt cache\n  ansible.builtin.apt:\n    update_cache: true\n    cache_valid_time: 3600\n  \
         when: ansible_os_family == \"Debian\"\n\n- name: Install {n} packages\n  ansible.builtin.apt:\n    name: \
         \"{{{{ {n}_packages }}}}\"\n    state: present\n    install_recommends: false\n\n- name: Install extra tools \
         one by one\n  ansible.builtin.apt:\n    name: \"{{{{ item }}}}\"\n    state: present\n  loop:\n    - logrotate\n    \
         - procps\n"
    );
    tasks += 3;
    w.write(&format!("{base}/tasks/install.yml"), &install)?;

    // tasks/main.yml
    let mut m = String::from("---\n");
    let _ = write!(
        m,
        "- name: Install packages\n  ansible.builtin.include_tasks: install.yml\n  tags: [packages]\n\n\
         - name: Create the {n} group\n  ansible.builtin.group:\n    name: \"{{{{ {n}_group }}}}\"\n    system: true\n\n\
         - name: Create the {n} user\n  ansible.builtin.user:\n    name: \"{{{{ {n}_user }}}}\"\n    group: \"{{{{ {n}_group }}}}\"\n    \
         home: \"{{{{ {n}_home }}}}\"\n    shell: /usr/sbin/nologin\n    system: true\n    create_home: false\n\n\
         - name: Create directories\n  ansible.builtin.file:\n    path: \"{{{{ item }}}}\"\n    state: directory\n    \
         owner: \"{{{{ {n}_user }}}}\"\n    group: \"{{{{ {n}_group }}}}\"\n    mode: \"0750\"\n  loop: \"{{{{ {n}_dirs }}}}\"\n\n\
         - name: Write the configuration\n  ansible.builtin.template:\n    src: {svc}.conf.j2\n    \
         dest: \"{{{{ {n}_config_dir }}}}/{svc}.conf\"\n    owner: root\n    group: \"{{{{ {n}_group }}}}\"\n    mode: \"0640\"\n  \
         notify: restart {svc}\n\n\
         - name: Install logrotate rules\n  ansible.builtin.copy:\n    src: {svc}.logrotate\n    dest: /etc/logrotate.d/{svc}\n    \
         owner: root\n    group: root\n    mode: \"0644\"\n\n"
    );
    tasks += 6;
    match r.kind {
        Kind::Service => {
            let _ = write!(
                m,
                "- name: Install the {svc} service\n  block:\n    - name: Write the systemd unit\n      \
                 ansible.builtin.template:\n        src: {svc}.service.j2\n        dest: /etc/systemd/system/{svc}.service\n        \
                 mode: \"0644\"\n      notify:\n        - reload systemd\n        - restart {svc}\n\n    \
                 - name: Write the environment file\n      ansible.builtin.template:\n        src: {svc}.env.j2\n        \
                 dest: \"{{{{ {n}_config_dir }}}}/{svc}.env\"\n        mode: \"0600\"\n      no_log: true\n      \
                 notify: restart {svc}\n  rescue:\n    - name: Report the failed unit\n      ansible.builtin.debug:\n        \
                 msg: \"{svc} could not be installed\"\n  when: ansible_os_family == \"Debian\"\n\n\
                 - name: Flush handlers before starting\n  ansible.builtin.meta: flush_handlers\n\n\
                 - name: Start {svc} at boot\n  ansible.builtin.systemd:\n    name: {svc}\n    enabled: true\n    \
                 state: started\n    daemon_reload: true\n\n"
            );
            tasks += 6;
        }
        Kind::Batch => {
            let _ = write!(
                m,
                "- name: Install the job script\n  ansible.builtin.template:\n    src: {svc}-job.sh.j2\n    \
                 dest: /usr/local/bin/{svc}-job\n    mode: \"0755\"\n\n\
                 - name: Schedule the jobs\n  ansible.builtin.cron:\n    name: \"{svc} {{{{ item.name }}}}\"\n    \
                 minute: \"{{{{ item.minute }}}}\"\n    hour: \"{{{{ item.hour }}}}\"\n    user: \"{{{{ {n}_user }}}}\"\n    \
                 job: \"/usr/local/bin/{svc}-job {{{{ item.name }}}} >> {{{{ {n}_log_dir }}}}/cron.log 2>&1\"\n  loop:\n    \
                 - {{ name: nightly, minute: \"{}\", hour: \"{}\" }}\n    - {{ name: hourly, minute: \"{}\", hour: \"*\" }}\n\n\
                 - name: Make sure cron runs\n  ansible.builtin.service:\n    name: cron\n    state: started\n    enabled: true\n\n",
                rng.below(60),
                rng.below(6),
                rng.below(60)
            );
            tasks += 3;
        }
        Kind::Base => {
            let _ = write!(
                m,
                "- name: Tune the kernel for {svc}\n  ansible.posix.sysctl:\n    name: \"{{{{ item.key }}}}\"\n    \
                 value: \"{{{{ item.value }}}}\"\n    sysctl_set: true\n  loop: \"{{{{ {{'net.core.somaxconn': 1024, \
                 'vm.swappiness': 10}} | dict2items }}}}\"\n\n\
                 - name: Install the helper script\n  ansible.builtin.copy:\n    src: {svc}.sh\n    \
                 dest: /usr/local/bin/{svc}\n    mode: \"0755\"\n\n\
                 - name: Allow the group to read logs\n  ansible.builtin.lineinfile:\n    path: /etc/group\n    \
                 regexp: \"^adm:\"\n    state: present\n    line: \"adm:x:4:{{{{ {n}_user }}}}\"\n  check_mode: true\n\n"
            );
            tasks += 3;
        }
    }
    let _ = write!(
        m,
        "- name: Remember the release\n  ansible.builtin.set_fact:\n    {n}_release: \"{{{{ {n}_version }}}}-{{{{ env_name }}}}\"\n\n\
         - name: Show the release on RedHat hosts\n  ansible.builtin.debug:\n    var: {n}_release\n  \
         when:\n    - ansible_os_family == \"RedHat\"\n    - {n}_log_level == \"debug\"\n\n\
         - name: Write the release marker\n  ansible.builtin.copy:\n    content: \"{{{{ {n}_release }}}}\\n\"\n    \
         dest: \"{{{{ {n}_home }}}}/RELEASE\"\n    mode: \"0644\"\n"
    );
    tasks += 3;
    w.write(&format!("{base}/tasks/main.yml"), &m)?;

    // handlers/main.yml
    let restart = if r.kind == Kind::Service { svc.clone() } else { "cron".to_string() };
    w.write(
        &format!("{base}/handlers/main.yml"),
        &format!(
            "---\n- name: Reload systemd for {svc}\n  ansible.builtin.systemd:\n    daemon_reload: true\n  listen: reload \
             systemd\n\n- name: Restart {svc}\n  ansible.builtin.service:\n    name: {restart}\n    state: restarted\n  \
             listen: restart {svc}\n"
        ),
    )?;

    // templates/<svc>.conf.j2
    w.write(
        &format!("{base}/templates/{svc}.conf.j2"),
        &format!(
            "# {{{{ ansible_managed }}}}\n[server]\nport = {{ {n}_port }}\nworkers = {{{{ {n}_workers }}}}\n\
             log_level = {{{{ {n}_log_level }}}}\nlog_dir = {{{{ {n}_log_dir }}}}\n\n[database]\nhost = {{{{ {n}_db_host }}}}\n\
             name = {{{{ {n}_db_name }}}}\nuser = {n}\npassword = {{{{ {n}_db_password }}}}\n\n[features]\n\
             {{% for f in {n}_features %}}\n{{{{ f.name }}}} = {{{{ f.enabled | lower }}}}\n{{% endfor %}}\n\
             {{% if env_name == \"production\" %}}\nstrict = true\n{{% endif %}}\n"
        ),
    )?;

    match r.kind {
        Kind::Service => {
            let exec = LANGS[r.lang].1.replace("{n}", n);
            w.write(
                &format!("{base}/templates/{svc}.service.j2"),
                &format!(
                    "# {{{{ ansible_managed }}}}\n[Unit]\nDescription={svc} ({lang})\nAfter=network-online.target\n\n\
                     [Service]\nType=simple\nUser={{{{ {n}_user }}}}\nGroup={{{{ {n}_group }}}}\nWorkingDirectory={{{{ {n}_home }}}}\n\
                     Environment=APP_ENV={{{{ env_name }}}}\nEnvironment=\"LOG_LEVEL={{{{ {n}_log_level }}}}\" \
                     \"WORKERS={{{{ {n}_workers }}}}\"\nEnvironment=DB_HOST={{{{ {n}_db_host }}}}\n\
                     EnvironmentFile={{{{ {n}_config_dir }}}}/{svc}.env\nExecStart={exec}\nRestart=on-failure\nRestartSec=5\n\n\
                     [Install]\nWantedBy=multi-user.target\n",
                    lang = LANGS[r.lang].0
                ),
            )?;
            w.write(
                &format!("{base}/templates/{svc}.env.j2"),
                &format!(
                    "DB_PASSWORD={{{{ {n}_db_password }}}}\nAPI_KEY={{{{ {n}_api_key }}}}\n\
                     CONFIG_FILE={{{{ {n}_config_dir }}}}/{svc}.conf\n"
                ),
            )?;
        }
        Kind::Batch => {
            w.write(
                &format!("{base}/templates/{svc}-job.sh.j2"),
                &format!(
                    "#!/bin/sh\n# {{{{ ansible_managed }}}}\nset -eu\nexport DB_HOST={{{{ {n}_db_host }}}}\n\
                     exec {{{{ {n}_home }}}}/bin/{svc} --config {{{{ {n}_config_dir }}}}/{svc}.conf \"$@\"\n"
                ),
            )?;
        }
        Kind::Base => {
            w.write(
                &format!("{base}/files/{svc}.sh"),
                &format!("#!/bin/sh\n# Prints the state of {svc}.\nset -eu\nuptime\ndf -h /\n"),
            )?;
        }
    }
    w.write(
        &format!("{base}/files/{svc}.logrotate"),
        &format!(
            "/var/log/{svc}/*.log {{\n    daily\n    rotate {}\n    compress\n    missingok\n    notifempty\n}}\n",
            7 + rng.below(24)
        ),
    )?;
    if r.has_meta {
        w.write(
            &format!("{base}/meta/main.yml"),
            &format!(
                "---\ngalaxy_info:\n  author: platform-team\n  description: {svc}\n  license: proprietary\n  \
                 min_ansible_version: \"2.14\"\n  platforms:\n    - name: Debian\n      versions: [bookworm]\ndependencies: []\n"
            ),
        )?;
    }
    Ok(tasks)
}

fn group_name(i: usize) -> String {
    format!("tier{i:04}")
}

fn write_site(w: &mut Writer, groups: &[&[Role]]) -> std::io::Result<()> {
    let mut s = String::from(
        "---\n- name: Common settings on every host\n  hosts: all\n  become: true\n  gather_facts: true\n  tasks:\n    \
         - name: Set the time zone\n      community.general.timezone:\n        name: Etc/UTC\n\n",
    );
    for (i, roles) in groups.iter().enumerate() {
        let g = group_name(i);
        let _ = write!(s, "- name: Configure {g}\n  hosts: {g}\n  become: true\n  roles:\n");
        for r in roles.iter() {
            if r.kind == Kind::Base && r.has_meta {
                let _ = writeln!(s, "    - role: {}\n      tags: [base]", r.name);
            } else {
                let _ = writeln!(s, "    - {}", r.name);
            }
        }
        s.push('\n');
    }
    w.write("site.yml", &s)
}

fn write_inventory(w: &mut Writer, rng: &mut Rng, env: &str, groups: &[&[Role]]) -> std::io::Result<()> {
    let base = format!("inventories/{env}");
    let mut hosts = String::new();
    for i in 0..groups.len() {
        let g = group_name(i);
        let _ = writeln!(
            hosts,
            "[{g}]\n{g}-1.{env}.example.internal ansible_host=10.{}.{}.{}\n",
            if env == "staging" { 20 } else { 30 },
            i / 250,
            1 + i % 250
        );
    }
    let _ = writeln!(hosts, "[{env}:children]");
    for i in 0..groups.len() {
        let _ = writeln!(hosts, "{}", group_name(i));
    }
    let _ = writeln!(hosts, "\n[{env}:vars]\nansible_python_interpreter=/usr/bin/python3");
    w.write(&format!("{base}/hosts.ini"), &hosts)?;

    let level = if env == "staging" { "debug" } else { "info" };
    w.write(
        &format!("{base}/group_vars/all/vars.yml"),
        &format!(
            "---\nenv_name: {env}\ndomain: {env}.example.internal\nntp_servers:\n  - 0.pool.ntp.org\n  - 1.pool.ntp.org\n\
             smtp_host: smtp.{env}.example.internal\nsmtp_password: \"{}\"\nsentry_dsn: \"https://{}@sentry.example.com/42\"\n",
            rng.hex(24),
            rng.hex(32)
        ),
    )?;
    for (i, roles) in groups.iter().enumerate() {
        let mut v = format!("---\n# {env} settings for {}\n", group_name(i));
        for r in roles.iter() {
            let n = &r.name;
            let _ = writeln!(v, "{n}_log_level: {level}");
            let _ = writeln!(v, "{n}_db_host: {n}.db.{env}.example.internal");
            let _ = writeln!(v, "{n}_workers: {}", if env == "staging" { 1 } else { 2 + rng.below(6) });
            let _ = writeln!(v, "{n}_db_password: \"{}\"", rng.hex(20));
            let _ = writeln!(v, "{n}_api_key: \"sk_{env}_{}\"", rng.hex(28));
        }
        w.write(&format!("{base}/group_vars/{}.yml", group_name(i)), &v)?;
    }
    Ok(())
}

fn write_packer(w: &mut Writer) -> std::io::Result<()> {
    w.write(
        "packer/image.json",
        r#"{
  "description": "Golden AMI with every role. Run from packer/: packer build -var env=staging image.json",
  "variables": {
    "aws_region": "eu-west-1",
    "env": "staging",
    "instance_type": "t3.small",
    "build_id": "{{timestamp}}"
  },
  "builders": [
    {
      "type": "amazon-ebs",
      "region": "{{user `aws_region`}}",
      "instance_type": "{{user `instance_type`}}",
      "ssh_username": "admin",
      "source_ami_filter": {
        "filters": {
          "name": "debian-12-amd64-*",
          "virtualization-type": "hvm",
          "root-device-type": "ebs"
        },
        "owners": ["136693071363"],
        "most_recent": true
      },
      "ami_name": "synthetic-{{user `env`}}-{{user `build_id`}}"
    }
  ],
  "provisioners": [
    {
      "type": "shell",
      "inline": ["sudo apt-get update", "sudo apt-get install -y python3"]
    },
    {
      "type": "ansible",
      "playbook_file": "../site.yml",
      "inventory_directory": "../inventories/{{user `env`}}",
      "user": "admin",
      "use_proxy": false,
      "extra_arguments": ["--extra-vars", "env_name={{user `env`}}"],
      "ansible_env_vars": ["ANSIBLE_ROLES_PATH=../roles"]
    }
  ]
}
"#,
    )
}
