//! `migrate ssm push` / `pull` against a real moto_server (started per test on a free
//! port), directly or through a fault-injecting proxy. moto is the oracle: versions
//! come from GetParameterHistory, so a duplicated write shows as an extra version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::json;

use crate::support::fault::{Fault, FaultProxy};
use crate::support::moto::{Moto, migrate_cmd};

const PREFIX: &str = "/shop/dev/web/";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test file");
    p
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `migrate ssm push --from-env-file FILE --env dev --app shop --service web` against `url`.
fn push(dir: &Path, url: &str, env_file: &Path, extra: &[&str]) -> Output {
    let file = env_file.to_string_lossy().into_owned();
    let mut args = vec!["ssm", "push", "--from-env-file", &file, "--env", "dev", "--app", "shop", "--service", "web"];
    args.extend(["--endpoint-url", url, "--writes-per-second", "0"]);
    args.extend(extra);
    migrate_cmd(dir).args(&args).output().expect("migrate runs")
}

fn pull(dir: &Path, url: &str, extra: &[&str]) -> Output {
    let mut args = vec!["ssm", "pull", "--env", "dev", "--app", "shop", "--service", "web", "--endpoint-url", url];
    args.extend(extra);
    migrate_cmd(dir).args(&args).output().expect("migrate runs")
}

fn assert_ok(out: &Output) {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
}

fn assert_exit_1(out: &Output) {
    assert_eq!(out.status.code(), Some(1), "stdout:\n{}\nstderr:\n{}", text(&out.stdout), text(&out.stderr));
}

fn name(key: &str) -> String {
    format!("{PREFIX}{key}")
}

/// Versions ever stored for each key (1 entry = written exactly once).
fn history_lengths(moto: &Moto, keys: &[&str]) -> Vec<usize> {
    keys.iter().map(|k| moto.history(&name(k)).len()).collect()
}

#[test]
fn first_push_creates_second_writes_nothing_a_change_updates_only_that_value() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let env = write(dir.path(), "app.env", "DB_HOST=db.internal\nDB_PASSWORD=\"pa ss\"\nPORT=8080\n");
    let keys = ["DB_HOST", "DB_PASSWORD", "PORT"];

    let out = push(dir.path(), &moto.url(), &env, &["--tag", "team=web", "--tag", "cost-center=42"]);
    assert_ok(&out);
    assert_eq!(
        text(&out.stdout),
        "ok      create       v1  /shop/dev/web/DB_HOST\n\
         ok      create       v1  /shop/dev/web/DB_PASSWORD\n\
         ok      create       v1  /shop/dev/web/PORT\n\
         /shop/dev/web/: 3 created, 0 updated, 0 unchanged, 0 deleted, 0 conflicts, 0 extra, 0 failed.\n"
    );
    assert_eq!(moto.get(&name("DB_HOST")), Some(("db.internal".into(), 1, "String".into())));
    assert_eq!(moto.get(&name("DB_PASSWORD")), Some(("pa ss".into(), 1, "SecureString".into())));
    assert_eq!(history_lengths(&moto, &keys), [1, 1, 1]);
    for k in keys {
        assert_eq!(moto.tags(&name(k)), ["cost-center=42", "migrate:version=1", "team=web"], "{k}");
    }

    let out = push(dir.path(), &moto.url(), &env, &["--tag", "team=web", "--tag", "cost-center=42"]);
    assert_ok(&out);
    assert!(text(&out.stdout).contains("0 created, 0 updated, 3 unchanged"), "{}", text(&out.stdout));
    assert_eq!(history_lengths(&moto, &keys), [1, 1, 1], "unchanged values are not written again");

    write(dir.path(), "app.env", "DB_HOST=db.internal\nDB_PASSWORD=\"pa ss\"\nPORT=9090\n");
    let out = push(dir.path(), &moto.url(), &env, &["--tag", "team=web", "--tag", "cost-center=42"]);
    assert_ok(&out);
    assert!(text(&out.stdout).contains("ok      update       v2  /shop/dev/web/PORT\n"), "{}", text(&out.stdout));
    assert_eq!(moto.history(&name("PORT")), [(1, "8080".to_string()), (2, "9090".to_string())]);
    assert_eq!(history_lengths(&moto, &keys), [1, 1, 2]);
    assert_eq!(moto.tags(&name("PORT")), ["cost-center=42", "migrate:version=2", "team=web"]);
}

#[test]
fn dry_run_writes_nothing() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let env = write(dir.path(), "app.env", "HOST=a\nAPI_TOKEN=tok-1\n");
    let out = push(dir.path(), &moto.url(), &env, &["--dry-run"]);
    assert_ok(&out);
    assert_eq!(
        text(&out.stdout),
        "+ create    /shop/dev/web/API_TOKEN  SecureString  = (sensitive value)\n\
         + create    /shop/dev/web/HOST       String        = \"a\"\n\
         Plan for /shop/dev/web/: 2 to create, 0 to update, 0 unchanged, 0 to delete, 0 conflicts, 0 extra.\n\
         Dry run: nothing was written.\n"
    );
    assert!(moto.names_under("/shop").is_empty());

    assert_ok(&push(dir.path(), &moto.url(), &env, &[]));
    write(dir.path(), "app.env", "HOST=b\nAPI_TOKEN=tok-2\nNEW=n\n");
    let out = push(dir.path(), &moto.url(), &env, &["--dry-run", "--prune"]);
    assert_ok(&out);
    let plan = text(&out.stdout);
    assert!(plan.contains("~ update    /shop/dev/web/API_TOKEN  SecureString  (sensitive value)\n"), "{plan}");
    assert!(plan.contains("~ update    /shop/dev/web/HOST       String        \"a\" -> \"b\"\n"), "{plan}");
    assert!(plan.contains("+ create    /shop/dev/web/NEW"), "{plan}");
    assert_eq!(history_lengths(&moto, &["HOST", "API_TOKEN"]), [1, 1]);
    assert_eq!(moto.get(&name("NEW")), None);
}

#[test]
fn prune_deletes_only_what_migrate_wrote_directly_under_the_prefix() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let env = write(dir.path(), "app.env", "KEEP=1\nOLD_A=2\nOLD_B=3\n");
    assert_ok(&push(dir.path(), &moto.url(), &env, &[]));
    // Not migrate's: deeper levels, sibling prefixes, and one written by hand right under the prefix.
    let theirs =
        ["/shop/dev/web/deeper/X", "/shop/dev/webx/Y", "/shop/dev/api/Z", "/shop/dev/HIGHER", "/shop/dev/web/HAND"];
    for n in theirs {
        moto.put_external(n, "theirs", false);
    }
    write(dir.path(), "app.env", "KEEP=1\n");

    let out = push(dir.path(), &moto.url(), &env, &[]);
    assert_ok(&out);
    assert!(text(&out.stdout).contains("3 extra"), "without --prune nothing is deleted: {}", text(&out.stdout));
    assert_eq!(moto.names_under("/shop").len(), 8);

    let out = push(dir.path(), &moto.url(), &env, &["--prune"]);
    assert_exit_1(&out);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("ok      delete       v1  /shop/dev/web/OLD_A\n"), "{stdout}");
    assert!(stdout.contains("ok      delete       v1  /shop/dev/web/OLD_B\n"), "{stdout}");
    assert!(stdout.contains("skipped conflict     v1  /shop/dev/web/HAND: not written by migrate"), "{stdout}");
    assert!(text(&out.stderr).contains("/shop/dev/web/HAND"), "{}", text(&out.stderr));
    assert_eq!(
        moto.names_under("/shop"),
        [
            "/shop/dev/HIGHER",
            "/shop/dev/api/Z",
            "/shop/dev/web/HAND",
            "/shop/dev/web/KEEP",
            "/shop/dev/web/deeper/X",
            "/shop/dev/webx/Y"
        ]
    );

    // --overwrite --prune also removes what someone else put right under the prefix.
    let out = push(dir.path(), &moto.url(), &env, &["--prune", "--overwrite"]);
    assert_ok(&out);
    assert_eq!(
        moto.names_under("/shop"),
        ["/shop/dev/HIGHER", "/shop/dev/api/Z", "/shop/dev/web/KEEP", "/shop/dev/web/deeper/X", "/shop/dev/webx/Y"]
    );
}

#[test]
fn values_changed_outside_migrate_are_left_alone_and_reported() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let env = write(dir.path(), "app.env", "URL=https://a.example\nLEVEL=info\n");
    assert_ok(&push(dir.path(), &moto.url(), &env, &["--tag", "team=web"]));
    assert_eq!(moto.put_external(&name("URL"), "https://console-edit.example", true), 2);
    write(dir.path(), "app.env", "URL=https://b.example\nLEVEL=debug\n");

    let out = push(dir.path(), &moto.url(), &env, &["--no-overwrite", "--tag", "team=web"]);
    assert_exit_1(&out);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "skipped conflict     v2  /shop/dev/web/URL: changed outside migrate (migrate wrote version 1, it is now \
             version 2); left alone; --overwrite replaces it\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("ok      update       v2  /shop/dev/web/LEVEL\n"), "{stdout}");
    assert!(text(&out.stderr).contains("left alone (--overwrite replaces them): /shop/dev/web/URL"));
    assert_eq!(moto.get(&name("URL")), Some(("https://console-edit.example".into(), 2, "String".into())));

    let out = push(dir.path(), &moto.url(), &env, &["--overwrite", "--tag", "team=web"]);
    assert_ok(&out);
    assert_eq!(moto.get(&name("URL")), Some(("https://b.example".into(), 3, "String".into())));
    assert_eq!(moto.tags(&name("URL")), ["migrate:version=3", "team=web"]);
    // From now on it is migrate's again: a further change goes through without --overwrite.
    write(dir.path(), "app.env", "URL=https://c.example\nLEVEL=debug\n");
    assert_ok(&push(dir.path(), &moto.url(), &env, &[]));
    assert_eq!(moto.get(&name("URL")).map(|g| g.1), Some(4));
}

const ALL_FAULTS: [Fault; 6] = [
    Fault::Throttle,
    Fault::Http500After,
    Fault::TooManyUpdates,
    Fault::DropAfter,
    Fault::DropBefore,
    Fault::Http500Before,
];

/// Faults on a schedule keyed by parameter name, so every run injects the same ones.
fn faults_by_name() -> impl FnMut(&str, u64, &serde_json::Value) -> Option<Fault> + Send + 'static {
    let kinds = ALL_FAULTS;
    // Faults are scheduled per parameter and per call kind, never by the global call
    // count: with several writers in flight, a global schedule (`every odd call`)
    // can hit the same parameter's retries again and again and exhaust them.
    let mut attempts: BTreeMap<(String, String), usize> = BTreeMap::new();
    move |action, n, body| {
        let key = body["Name"].as_str().or_else(|| body["ResourceId"].as_str()).unwrap_or_default().to_string();
        let a = attempts.entry((action.to_string(), key.clone())).or_default();
        *a += 1;
        let i: usize = key.rsplit('_').next().and_then(|s| s.parse().ok()).unwrap_or(0);
        match action {
            "GetParametersByPath" if n == 1 => Some(Fault::Throttle),
            "ListTagsForResource" if *a == 1 && i % 3 == 1 => Some(Fault::DropBefore),
            "AddTagsToResource" if *a == 1 && i % 2 == 1 => Some(Fault::Http500After),
            "GetParameter" if *a == 1 && i % 4 == 1 => Some(Fault::Throttle),
            "PutParameter" => match *a {
                1 => Some(kinds[i % kinds.len()]),
                // Every third parameter fails twice.
                2 if i.is_multiple_of(3) => Some(kinds[(i + 1) % kinds.len()]),
                _ => None,
            },
            _ => None,
        }
    }
}

#[test]
fn faults_are_retried_and_every_value_is_stored_exactly_once() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(moto.port, faults_by_name());
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<String> = (0..24).map(|i| format!("VAR_{i}")).collect();
    let env_text: String = keys.iter().map(|k| format!("{k}=first-{k}\n")).collect();
    let env = write(dir.path(), "app.env", &env_text);

    let out = push(dir.path(), &proxy.url(), &env, &["--concurrency", "4"]);
    assert_ok(&out);
    assert!(text(&out.stderr).contains("call(s) retried"), "{}", text(&out.stderr));
    for k in &keys {
        assert_eq!(moto.history(&name(k)), [(1, format!("first-{k}"))], "{k}");
    }
    let counts = proxy.injected_counts();
    for f in ALL_FAULTS {
        assert!(counts.get(&f).copied().unwrap_or(0) >= 4, "{f:?} was injected: {counts:?}");
    }

    // The same faults again on updates (overwrite + AddTagsToResource): still one new version each.
    let proxy = FaultProxy::start(moto.port, faults_by_name());
    let env_text: String = keys.iter().map(|k| format!("{k}=second-{k}\n")).collect();
    write(dir.path(), "app.env", &env_text);
    let out = push(dir.path(), &proxy.url(), &env, &["--concurrency", "4"]);
    assert_ok(&out);
    for k in &keys {
        assert_eq!(moto.history(&name(k)), [(1, format!("first-{k}")), (2, format!("second-{k}"))], "{k}");
        assert_eq!(moto.tags(&name(k)), ["migrate:version=2"], "{k}");
    }
    assert!(proxy.injected().len() >= 30, "{:?}", proxy.injected_counts());
}

#[test]
fn a_push_that_gives_up_names_each_failure_and_a_rerun_finishes_it() {
    let moto = Moto::start();
    // Throttle every write of two parameters, more often than --max-attempts allows.
    let proxy = FaultProxy::start(moto.port, |action, _, body| {
        let name = body["Name"].as_str().unwrap_or_default();
        (action == "PutParameter" && (name.ends_with("/B") || name.ends_with("/D"))).then_some(Fault::Throttle)
    });
    let dir = tempfile::tempdir().unwrap();
    let env = write(dir.path(), "app.env", "A=1\nB=2\nC=3\nD=4\n");
    let out = push(dir.path(), &proxy.url(), &env, &["--max-attempts", "3"]);
    assert_exit_1(&out);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "FAILED  create        -  /shop/dev/web/B: ThrottlingException: Rate exceeded (gave up after 3 attempts)\n"
        ),
        "{stdout}"
    );
    assert!(text(&out.stderr).contains("2 parameter(s) failed"), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("/shop/dev/web/B, /shop/dev/web/D"), "{}", text(&out.stderr));
    assert_eq!(proxy.calls("PutParameter"), 2 + 3 * 2);

    let out = push(dir.path(), &moto.url(), &env, &[]);
    assert_ok(&out);
    assert!(text(&out.stdout).contains("2 created, 0 updated, 2 unchanged"), "{}", text(&out.stdout));
    assert_eq!(history_lengths(&moto, &["A", "B", "C", "D"]), [1, 1, 1, 1]);
}

#[test]
fn a_server_killed_mid_push_loses_nothing_and_duplicates_nothing_on_rerun() {
    let mut moto = Moto::start_recording();
    let (killed_tx, killed_rx) = mpsc::channel::<()>();
    let (reached_tx, reached_rx) = mpsc::channel::<()>();
    // At the 15th PutParameter: let the test kill moto, wait until it is dead, then go
    // on forwarding (to nobody: the client sees dropped connections).
    let proxy = FaultProxy::start(moto.port, move |action, n, _| {
        if action == "PutParameter" && n == 15 {
            let _ = reached_tx.send(());
            let _ = killed_rx.recv_timeout(Duration::from_secs(20));
        }
        None
    });
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<String> = (0..40).map(|i| format!("K{i:02}")).collect();
    let env_text: String = keys.iter().map(|k| format!("{k}=value-of-{k}\n")).collect();
    let env = write(dir.path(), "app.env", &env_text);
    let file = env.to_string_lossy().into_owned();
    let url = proxy.url();
    let child = migrate_cmd(dir.path())
        .args(["ssm", "push", "--from-env-file", &file, "--env", "dev", "--app", "shop", "--service", "web"])
        .args(["--endpoint-url", &url, "--writes-per-second", "0", "--concurrency", "1", "--max-attempts", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("migrate starts");
    reached_rx.recv_timeout(Duration::from_secs(60)).expect("the push reaches its 15th write");
    moto.kill();
    killed_tx.send(()).expect("proxy waits");
    let out = child.wait_with_output().expect("migrate ends");
    assert_exit_1(&out);
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches("ok      create").count(), 14, "{stdout}");
    assert_eq!(stdout.matches("FAILED  create").count(), 26, "{stdout}");

    moto.restart();
    assert_eq!(moto.names_under(PREFIX).len(), 14, "moto came back with what it had");
    let out = push(dir.path(), &moto.url(), &env, &[]);
    assert_ok(&out);
    assert!(text(&out.stdout).contains("26 created, 0 updated, 14 unchanged"), "{}", text(&out.stdout));
    for k in &keys {
        assert_eq!(moto.history(&name(k)), [(1, format!("value-of-{k}"))], "{k}");
    }
}

#[test]
fn no_secret_value_reaches_any_output_error_or_written_file() {
    let moto = Moto::start();
    // AWS quotes rejected values in validation errors: so does the proxy, for AUTH_TOKEN.
    let proxy = FaultProxy::start(moto.port, |action, _, body| {
        let echo = action == "PutParameter" && body["Name"].as_str().is_some_and(|n| n.ends_with("/AUTH_TOKEN"));
        echo.then_some(Fault::EchoValue)
    });
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    let secrets = |round: &str| {
        format!(
            "PLAIN_HOST=db.internal\n\
             DB_PASSWORD=\"LEAK-{round}-pw \\\"quoted\\\" $dollar\"\n\
             API_SECRET=LEAK-{round}-alpha-9f8e7d6c5b4a\n\
             PRIVATE_KEY=\"-----BEGIN PRIVATE KEY-----\nLEAK{round}MIIEvQIBADANBgkqhkiG9w0B\n\
             -----END PRIVATE KEY-----\"\n\
             AUTH_TOKEN=LEAK-{round}-echoed-by-aws\n"
        )
    };
    let env = write(&inputs, "app.env", &secrets("one"));
    let mut outputs: Vec<Output> = Vec::new();
    let run_env = [("RUST_LOG", "trace"), ("RUST_BACKTRACE", "1")];
    let push_run = |extra: &[&str]| {
        let file = env.to_string_lossy().into_owned();
        let mut cmd = migrate_cmd(dir.path());
        cmd.args(["ssm", "push", "--from-env-file", &file, "--env", "dev", "--app", "shop", "--service", "web"])
            .args(["--endpoint-url", &proxy.url(), "--writes-per-second", "0", "--max-attempts", "2"])
            .args(extra)
            .envs(run_env);
        cmd.output().expect("migrate runs")
    };
    outputs.push(push_run(&["--dry-run"]));
    let first = push_run(&[]);
    assert_exit_1(&first);
    assert!(text(&first.stdout).contains("FAILED  create        -  /shop/dev/web/AUTH_TOKEN: ValidationException"));
    outputs.push(first);
    write(&inputs, "app.env", &secrets("two"));
    outputs.push(push_run(&["--dry-run"]));
    outputs.push(push_run(&[]));
    // An oversized secret: refused before any write, by a message that names it but does not quote it.
    write(&inputs, "app.env", &format!("BIG_SECRET=LEAK-big-{}\n", "x".repeat(9000)));
    let refused = push_run(&[]);
    assert_exit_1(&refused);
    assert!(text(&refused.stderr).contains("BIG_SECRET: the value is 9009 bytes"), "{}", text(&refused.stderr));
    outputs.push(refused);

    for extra in [&[][..], &["--output", "masked.env"][..]] {
        let out = pull(dir.path(), &moto.url(), extra);
        assert_ok(&out);
        outputs.push(out);
    }
    let decrypted = pull(dir.path(), &moto.url(), &["--with-decryption", "--output", "decrypted.env"]);
    assert_ok(&decrypted);
    outputs.push(decrypted);

    for out in &outputs {
        for stream in [&out.stdout, &out.stderr] {
            let s = text(stream);
            assert!(!s.contains("LEAK"), "a secret leaked:\n{s}");
            assert!(!s.contains("quoted"), "a secret leaked:\n{s}");
        }
    }
    assert!(text(&outputs[0].stdout).contains("(sensitive value)"));
    // Every file migrate wrote, except the one asked for with --with-decryption.
    let mut written = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && !path.ends_with("decrypted.env") {
            let content = std::fs::read_to_string(&path).unwrap();
            assert!(!content.contains("LEAK"), "{} holds a secret:\n{content}", path.display());
            written += 1;
        }
    }
    assert_eq!(written, 1, "masked.env");
    let decrypted = std::fs::read_to_string(dir.path().join("decrypted.env")).unwrap();
    assert!(decrypted.contains("DB_PASSWORD=\"LEAK-two-pw \\\"quoted\\\" \\$dollar\""), "{decrypted}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("decrypted.env")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn pull_with_decryption_round_trips_through_push() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let original = "A=plain\nDB_PASSWORD=\"multi\nline # not a comment\"\nQUOTES=\"it's\"\nSPACES=\"  padded  \"\n\
                    DOLLAR=\"$HOME \\\\ back\\\\slash\"\nUNICODE=ünïcödé\n";
    let env = write(dir.path(), "app.env", original);
    assert_ok(&push(dir.path(), &moto.url(), &env, &[]));
    // Someone makes a plain value secret by hand; pull/push must keep it SecureString.
    moto.ok("PutParameter", json!({ "Name": name("A"), "Value": "plain", "Type": "SecureString", "Overwrite": true }));
    let tag = json!([{ "Key": "migrate:version", "Value": "2" }]);
    moto.ok("AddTagsToResource", json!({ "ResourceType": "Parameter", "ResourceId": name("A"), "Tags": tag }));

    let out = pull(dir.path(), &moto.url(), &["--with-decryption", "--output", "pulled.env"]);
    assert_ok(&out);
    let out = push(dir.path(), &moto.url(), &dir.path().join("pulled.env"), &["--prune"]);
    assert_ok(&out);
    assert!(text(&out.stdout).contains("0 created, 0 updated, 6 unchanged, 0 deleted"), "{}", text(&out.stdout));
    assert_eq!(moto.get(&name("A")).map(|g| g.2), Some("SecureString".to_string()));
    assert_eq!(moto.get(&name("DB_PASSWORD")).map(|g| g.0), Some("multi\nline # not a comment".to_string()));
    assert_eq!(moto.get(&name("DOLLAR")).map(|g| g.0), Some("$HOME \\ back\\slash".to_string()));
}

#[test]
fn the_endpoint_can_come_from_aws_endpoint_url_ssm() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let env = write(dir.path(), "app.env", "A=1\n");
    let file = env.to_string_lossy().into_owned();
    let out = migrate_cmd(dir.path())
        .args(["ssm", "push", "--from-env-file", &file, "--env", "dev", "--app", "shop", "--service", "web"])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9") // the service-specific variable wins
        .env("AWS_ENDPOINT_URL_SSM", moto.url())
        .output()
        .unwrap();
    assert_ok(&out);
    assert_eq!(moto.get(&name("A")).map(|g| g.1), Some(1));
}

#[test]
fn bad_input_is_reported_with_file_and_line_before_anything_is_written() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();

    let env = write(dir.path(), "app.env", "A=1\n\nB=\"never closed\nC=3\n");
    let out = push(dir.path(), &moto.url(), &env, &[]);
    assert_exit_1(&out);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("app.env:3: the double-quoted value of `B` is never closed"), "{stderr}");
    assert!(!stderr.contains("never closed\nC"), "{stderr}");

    let env = write(dir.path(), "app.env", "OK=1\nEMPTY=\nBIG=\"{}\"\n".replace("{}", &"x".repeat(8193)).as_str());
    let out = push(dir.path(), &moto.url(), &env, &[]);
    assert_exit_1(&out);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("app.env:2: /shop/dev/web/EMPTY: the value is empty"), "{stderr}");
    assert!(stderr.contains("app.env:3: /shop/dev/web/BIG: the value is 8193 bytes"), "{stderr}");
    assert!(stderr.contains("2 invalid parameter(s); nothing was written"), "{stderr}");
    assert!(moto.names_under("/shop").is_empty());

    let env = write(dir.path(), "app.env", "A=1\n");
    let out = push(dir.path(), &moto.url(), &env, &["--name-template", "/ssm/{env}/{NAME}"]);
    assert_exit_1(&out);
    assert!(text(&out.stderr).contains("must not begin with `aws` or `ssm`"), "{}", text(&out.stderr));

    let out = migrate_cmd(dir.path()).args(["ssm", "push", ".", "--env", "dev"]).output().unwrap();
    assert_exit_1(&out);
    let stderr = text(&out.stderr);
    // A REPO is converted for `--env` first: a directory without inventories has no `dev`.
    assert!(stderr.contains("unknown environment `dev`"), "{stderr}");
    assert!(moto.names_under("/").is_empty());
}

#[test]
fn values_over_4_kb_go_to_the_advanced_tier_with_a_warning() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let env = write(dir.path(), "app.env", &format!("CERT_BUNDLE=\"{}\"\nSMALL=1\n", "c".repeat(5000)));
    let out = push(dir.path(), &moto.url(), &env, &[]);
    assert_ok(&out);
    let stderr = text(&out.stderr);
    let warning = "CERT_BUNDLE: the value is 5000 bytes, over the Standard tier's 4096: using the Advanced tier";
    assert!(stderr.contains(warning), "{stderr}");
    let v = moto.ok(
        "DescribeParameters",
        json!({
            "ParameterFilters": [{ "Key": "Name", "Option": "Equals", "Values": [name("CERT_BUNDLE"), name("SMALL")] }]
        }),
    );
    let tiers: BTreeMap<String, String> = v["Parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["Name"].as_str().unwrap().to_string(), p["Tier"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(tiers.get(&name("CERT_BUNDLE")).map(String::as_str), Some("Advanced"));
    assert_eq!(tiers.get(&name("SMALL")).map(String::as_str), Some("Standard"));

    // Shrinking it later does not try to move it back to Standard.
    write(dir.path(), "app.env", "CERT_BUNDLE=short\nSMALL=1\n");
    let out = push(dir.path(), &moto.url(), &env, &["--dry-run"]);
    assert!(text(&out.stdout).contains("tier Advanced  (stays Advanced"), "{}", text(&out.stdout));
    assert_ok(&push(dir.path(), &moto.url(), &env, &[]));
}

#[test]
fn kms_key_and_tier_flags_reach_ssm() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let env = write(dir.path(), "app.env", "DB_PASSWORD=pw\nHOST=h\n");
    let out = push(dir.path(), &moto.url(), &env, &["--kms-key-id", "alias/shop-params", "--tier", "Advanced"]);
    assert_ok(&out);
    let filter = json!([{ "Key": "Name", "Option": "Equals", "Values": [name("DB_PASSWORD"), name("HOST")] }]);
    let v = moto.ok("DescribeParameters", json!({ "ParameterFilters": filter }));
    let mut seen: Vec<String> = v["Parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{} {} {} {}", p["Name"], p["Type"], p["Tier"], p.get("KeyId").unwrap_or(&json!("-"))))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            r#""/shop/dev/web/DB_PASSWORD" "SecureString" "Advanced" "alias/shop-params""#,
            r#""/shop/dev/web/HOST" "String" "Advanced" "-""#,
        ]
    );
    let out = push(dir.path(), &moto.url(), &env, &["--kms-key-id", "not a key"]);
    assert_exit_1(&out);
    assert!(text(&out.stderr).contains("KMS key id `not a key` is not valid"), "{}", text(&out.stderr));
}
