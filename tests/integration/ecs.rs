//! ECS on Fargate output for `samples/webshop`: snapshots of every generated
//! file, validation against the AWS API models botocore ships, registration of
//! each task definition with a real moto_server's ECS endpoint, the policy ↔
//! secrets cross-check, determinism, and `migrate check-taskdef`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use super::support::{self, moto};

const SERVICES: &[&str] = &["batch", "nginx", "webshop-api", "webshop-worker"];

fn sample() -> PathBuf {
    support::repo_root().join("samples/webshop")
}

/// `migrate apply` of the sample (staging) into a fresh directory; returns it
/// and every file under `*/ecs/` by relative path.
fn apply() -> (tempfile::TempDir, BTreeMap<String, String>) {
    let tmp = tempfile::tempdir().unwrap();
    let pw = sample().join("vault-password.sample.txt");
    let out = tmp.path().join("out");
    let repo = sample();
    let args = [
        "apply",
        repo.to_str().unwrap(),
        "--env",
        "staging",
        "--vault-password-file",
        pw.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let run = support::run_migrate(tmp.path(), &args);
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    // No ECS error on our own output (warnings, e.g. nginx on port 80, are expected).
    for line in stdout.lines().chain(stderr.lines()) {
        assert!(!(line.contains(" M9") && line.contains(" error:")), "ECS error finding: {line}");
    }
    let mut files = BTreeMap::new();
    for e in walkdir::WalkDir::new(&out).sort_by_file_name() {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(&out).unwrap().to_string_lossy().replace('\\', "/");
        if e.file_type().is_file() && (rel.contains("/ecs/") || rel.ends_with("/.dockerignore")) {
            files.insert(rel, fs::read_to_string(e.path()).unwrap());
        }
    }
    assert!(!files.is_empty(), "apply wrote no ECS files:\n{stdout}\n{stderr}");
    (tmp, files)
}

fn out_dir(tmp: &tempfile::TempDir) -> PathBuf {
    tmp.path().join("out")
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn every_service_gets_its_ecs_files_and_they_match_the_snapshots() {
    let (_tmp, files) = apply();
    for service in SERVICES {
        for name in ["task-definition.json", "execution-role-policy.json"] {
            assert!(files.contains_key(&format!("{service}/ecs/{name}")), "{service}: no {name}");
        }
        assert_eq!(files[&format!("{service}/.dockerignore")].lines().last(), Some("ecs/"));
    }
    // Behind a load balancer: CodeDeploy blue/green.
    for service in ["nginx", "webshop-api"] {
        assert!(files.contains_key(&format!("{service}/ecs/appspec.yaml")), "{service}");
        let svc = json(&files[&format!("{service}/ecs/service.json")]);
        assert_eq!(svc["deploymentController"]["type"], "CODE_DEPLOY");
    }
    // The batch image's cron entries (the sitemap one is absent in staging).
    let schedules: Vec<&str> = files.keys().filter(|k| k.contains("/schedules/")).map(String::as_str).collect();
    assert_eq!(
        schedules,
        ["batch/ecs/schedules/webshop-nightly-report.json", "batch/ecs/schedules/webshop-session-cleanup.json"]
    );
    let nightly = json(&files["batch/ecs/schedules/webshop-nightly-report.json"]);
    assert_eq!(nightly["ScheduleExpression"], "cron(30 2 * * ? *)");
    assert_eq!(nightly["ScheduleExpressionTimezone"], "Europe/Berlin");
    let cleanup = json(&files["batch/ecs/schedules/webshop-session-cleanup.json"]);
    assert_eq!(cleanup["ScheduleExpression"], "cron(0/15 * * * ? *)");
    for (path, text) in &files {
        assert!(text.ends_with('\n'), "{path}: no trailing newline");
        insta::assert_snapshot!(format!("ecs__{}", path.replace(['/', '.'], "_")), text);
    }
}

#[test]
fn output_is_deterministic() {
    let (_a, first) = apply();
    let (_b, second) = apply();
    assert_eq!(first, second);
}

/// Runs the botocore validator over files of one kind.
fn botocore(kind: &str, paths: &[PathBuf]) {
    assert!(!paths.is_empty(), "no {kind} files to validate");
    let script = support::repo_root().join("tests/integration/ecs/validate_aws.py");
    let out = Command::new(support::tool("python3")).arg(script).arg(kind).args(paths).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{kind}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("checked {} {kind} file(s)", paths.len())), "{stdout}");
}

#[test]
fn generated_files_validate_against_the_aws_api_models() {
    let (tmp, files) = apply();
    let out = out_dir(&tmp);
    let of = |suffix: &str| -> Vec<PathBuf> {
        files.keys().filter(|k| k.ends_with(suffix) && !k.contains("/schedules/")).map(|k| out.join(k)).collect()
    };
    botocore("taskdef", &of("/task-definition.json"));
    botocore("service", &of("/service.json"));
    botocore("autoscaling", &of("/autoscaling.json"));
    botocore("policy", &of("/execution-role-policy.json"));
    let schedules: Vec<PathBuf> = files.keys().filter(|k| k.contains("/schedules/")).map(|k| out.join(k)).collect();
    botocore("schedule", &schedules);
}

#[test]
fn the_validator_rejects_a_broken_task_definition() {
    // The oracle itself can fail: a wrong type and a bad enum value are reported.
    let (tmp, files) = apply();
    let mut td = json(&files["nginx/ecs/task-definition.json"]);
    td["networkMode"] = "bogus".into();
    td["cpu"] = 256.into();
    let path = tmp.path().join("bad.json");
    fs::write(&path, serde_json::to_string(&td).unwrap()).unwrap();
    let script = support::repo_root().join("tests/integration/ecs/validate_aws.py");
    let out = Command::new(support::tool("python3")).arg(script).arg("taskdef").arg(&path).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("networkMode") && stdout.contains("cpu"), "{stdout}");
}

/// One unsigned ECS JSON call to moto.
fn ecs_call(moto: &moto::Moto, action: &str, body: &Value) -> (u16, Value) {
    let target = format!("AmazonEC2ContainerServiceV20141113.{action}");
    let headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", target.as_str()),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/eu-central-1/ecs/aws4_request, SignedHeaders=host, \
             Signature=0",
        ),
    ];
    let payload = serde_json::to_vec(body).unwrap();
    let (status, bytes) = moto::http(moto.port, "POST", "/", &headers, &payload).expect("moto answers");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[test]
fn task_definitions_register_with_moto_ecs() {
    let (_tmp, files) = apply();
    let moto = moto::Moto::start();
    for service in SERVICES {
        let td = json(&files[&format!("{service}/ecs/task-definition.json")]);
        let (status, body) = ecs_call(&moto, "RegisterTaskDefinition", &td);
        assert_eq!(status, 200, "{service}: {body}");
        let registered = &body["taskDefinition"];
        assert_eq!(registered["family"], td["family"]);
        assert_eq!(registered["revision"], 1);
        let (status, described) =
            ecs_call(&moto, "DescribeTaskDefinition", &serde_json::json!({"taskDefinition": td["family"]}));
        assert_eq!(status, 200, "{described}");
        let got = &described["taskDefinition"];
        assert_eq!(got["containerDefinitions"][0]["secrets"], td["containerDefinitions"][0]["secrets"]);
        assert_eq!(got["requiresCompatibilities"], serde_json::json!(["FARGATE"]));
        assert_eq!(got["networkMode"], "awsvpc");
    }
    // moto refuses what the real API refuses for shape: a task definition without containers.
    let (status, _) = ecs_call(&moto, "RegisterTaskDefinition", &serde_json::json!({"family": "x"}));
    assert_ne!(status, 200);
}

#[test]
fn the_policy_covers_exactly_the_parameters_the_task_reads() {
    let (_tmp, files) = apply();
    let mut with_parameters = 0;
    for service in SERVICES {
        let td = json(&files[&format!("{service}/ecs/task-definition.json")]);
        let policy = json(&files[&format!("{service}/ecs/execution-role-policy.json")]);
        let secrets: BTreeSet<String> = td["containerDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["secrets"].as_array().cloned().unwrap_or_default())
            .map(|s| s["valueFrom"].as_str().unwrap().to_string())
            .collect();
        let statements = policy["Statement"].as_array().unwrap();
        let mut ssm_resources = BTreeSet::new();
        for s in statements {
            assert_eq!(s["Effect"], "Allow");
            let actions: Vec<&str> = s["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
            assert!(actions.iter().all(|a| !a.contains('*')), "{service}: wildcard action {actions:?}");
            if actions.iter().any(|a| a.starts_with("ssm:")) {
                assert_eq!(actions, ["ssm:GetParameters"]);
                ssm_resources.extend(s["Resource"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()));
            }
            let resources: Vec<&str> = s["Resource"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
            if resources.contains(&"*") {
                assert_eq!(actions, ["ecr:GetAuthorizationToken"], "{service}: only the ECR token is `*`");
            }
        }
        assert_eq!(ssm_resources, secrets, "{service}");
        // nginx reads none: then there is no ssm statement at all (the sets are both empty).
        with_parameters += usize::from(!secrets.is_empty());
        for arn in &secrets {
            assert!(arn.starts_with("arn:aws:ssm:eu-central-1:111122223333:parameter/webshop/staging/"), "{arn}");
            assert!(!arn.contains("parameter//"), "{arn}");
        }
        // A custom key is configured and the service reads SecureStrings: kms:Decrypt on that key only.
        let kms: Vec<&Value> = statements.iter().filter(|s| s["Action"][0] == "kms:Decrypt").collect();
        if !kms.is_empty() {
            assert_eq!(
                kms[0]["Resource"],
                serde_json::json!(["arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"])
            );
        }
        // The logs statement names the task's own log group.
        let group = td["containerDefinitions"][0]["logConfiguration"]["options"]["awslogs-group"].as_str().unwrap();
        let logs = statements.iter().find(|s| s["Action"][0] == "logs:CreateLogStream").unwrap();
        assert_eq!(
            logs["Resource"],
            serde_json::json!([format!("arn:aws:logs:eu-central-1:111122223333:log-group:{group}:*")])
        );
    }
    assert_eq!(
        with_parameters, 4,
        "batch, nginx (its rendered nginx.conf), webshop-api and webshop-worker read parameters"
    );
    // The parameters the plan would push for a service are all readable by its task.
    let api = json(&files["webshop-api/ecs/task-definition.json"]);
    let names: BTreeSet<&str> = api["containerDefinitions"][0]["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for expected in ["DATABASE_URL", "SECRET_KEY", "STRIPE_SECRET_KEY"] {
        assert!(names.contains(expected), "{names:?}");
    }
}

#[test]
fn check_taskdef_passes_our_output_and_flags_a_bad_file_by_line() {
    let (tmp, files) = apply();
    let out = out_dir(&tmp);
    let ours: Vec<String> = SERVICES
        .iter()
        .map(|s| out.join(format!("{s}/ecs/task-definition.json")).to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["check-taskdef"];
    args.extend(ours.iter().map(String::as_str));
    let run = support::run_migrate(tmp.path(), &args);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains(" error:"), "{stdout}");

    let mut td = json(&files["webshop-api/ecs/task-definition.json"]);
    td["containerDefinitions"][0]["privileged"] = true.into();
    td["containerDefinitions"][0]["stopTimeout"] = 300.into();
    td["memory"] = "3000".into();
    let bad = tmp.path().join("bad.json");
    fs::write(&bad, serde_json::to_string_pretty(&td).unwrap()).unwrap();
    let broken = tmp.path().join("broken.json");
    fs::write(&broken, "{\n  \"family\": \"x\",\n  \"cpu\": ,\n}\n").unwrap();
    let run = support::run_migrate(tmp.path(), &["check-taskdef", "bad.json", "broken.json"]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{stdout}");
    let text = fs::read_to_string(&bad).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert!(stdout.contains(&format!("bad.json:{} M951 error:", line_of("\"privileged\""))), "{stdout}");
    assert!(stdout.contains(&format!("bad.json:{} M906 error:", line_of("\"stopTimeout\""))), "{stdout}");
    assert!(stdout.contains(&format!("bad.json:{} M902 error:", line_of("\"memory\""))), "{stdout}");
    assert!(stdout.contains("cpu 1024: memory 2048-8192 in steps of 1024"), "{stdout}");
    assert!(stdout.contains("broken.json:3 M002 error:"), "{stdout}");
}

#[test]
fn ecs_files_are_listed_in_the_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let pw = sample().join("vault-password.sample.txt");
    let repo = sample();
    let args = ["plan", repo.to_str().unwrap(), "--env", "staging", "--vault-password-file", pw.to_str().unwrap()];
    let run = support::run_migrate(tmp.path(), &args);
    let stdout = String::from_utf8_lossy(&run.stdout);
    for file in ["nginx/ecs/task-definition.json", "nginx/ecs/appspec.yaml", "batch/ecs/schedules/"] {
        assert!(stdout.contains(file), "plan does not show {file}");
    }
}
