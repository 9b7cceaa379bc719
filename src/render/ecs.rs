//! ECS files of each image: `<service>/ecs/` (task definition, execution-role
//! policy, service, AppSpec, autoscaling, one schedule per cron job), built by
//! `spec::ecs` and serialised here byte for byte deterministically (pretty JSON
//! in declaration order, trailing newline). Every task definition written is
//! checked again with `spec::ecs::check` from its own text, so a rule broken by
//! our own output is a finding naming the generated file and line.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;

use serde::Serialize;

use super::{Artifact, final_user};
use crate::diagnostics::{Finding, Severity, codes};
use crate::spec::ecs::{self, AppSpec, Settings};
use crate::spec::image::{Conversion, ImageSpec, Pair, ServiceKind};

/// The folder of the ECS files inside each service folder.
pub const ECS_DIR: &str = "ecs";

/// Adds the ECS files of every image whose Dockerfile was generated to
/// `artifacts` (kept sorted), with a `.dockerignore` line so `docker build
/// <out>/<service>` does not send them. Returns the findings of building and
/// checking them.
pub fn add_ecs_files(conversion: &Conversion, settings: &Settings, artifacts: &mut Vec<Artifact>) -> Vec<Finding> {
    let mut findings = Vec::new();
    // The images whose Dockerfile was generated, with their final user. A set of the
    // services with a Dockerfile, not a search of `artifacts` per image: there are
    // about a dozen artifacts per image, so that search was quadratic.
    let with_dockerfile: BTreeSet<&str> = artifacts
        .iter()
        .filter_map(|a| a.path.strip_suffix("/Dockerfile"))
        .filter(|service| !service.contains('/'))
        .collect();
    let rendered: BTreeMap<&str, (&ImageSpec, String)> = conversion
        .images
        .iter()
        .filter(|i| with_dockerfile.contains(i.service.as_str()))
        .filter_map(|i| final_user(i).ok().map(|u| (i.service.as_str(), (i, u))))
        .collect();
    // Pairs whose both images exist share the task of the image in front.
    let shared: Vec<&Pair> = conversion
        .pairs
        .iter()
        .filter(|p| rendered.contains_key(p.service.as_str()) && rendered.contains_key(p.with.as_str()))
        .collect();
    // Each task's files are built and checked on their own (in parallel), then merged
    // in service order, so the result does not depend on the thread count.
    let services: Vec<(&str, &(&ImageSpec, String))> = rendered
        .iter()
        .filter(|(service, _)| !shared.iter().any(|p| p.service == **service))
        .map(|(s, v)| (*s, v))
        .collect();
    let built: Vec<(Vec<Artifact>, Vec<Finding>)> = services
        .par_iter()
        .map(|(service, (image, user))| {
            let partners: Vec<(&ImageSpec, String)> = shared
                .iter()
                .filter(|p| p.with == *service)
                .filter_map(|p| rendered.get(p.service.as_str()).cloned())
                .collect();
            task_files(service, image, user, &partners, settings)
        })
        .collect();
    let mut index: HashMap<String, usize> = artifacts.iter().enumerate().map(|(i, a)| (a.path.clone(), i)).collect();
    for ((service, _), (files, built_findings)) in services.iter().zip(built) {
        findings.extend(built_findings);
        artifacts.extend(files);
        let ignore_path = format!("{service}/.dockerignore");
        let line = format!("{ECS_DIR}/\n");
        match index.get(&ignore_path) {
            Some(&i) => {
                let existing = &mut artifacts[i];
                let text = existing.as_text().unwrap_or_default().to_string();
                if !text.lines().any(|l| l.trim() == "ecs/" || l.trim() == "ecs") {
                    let sep = if text.is_empty() || text.ends_with('\n') { "" } else { "\n" };
                    existing.content = format!("{text}{sep}{line}").into_bytes();
                }
            }
            None => {
                index.insert(ignore_path.clone(), artifacts.len());
                artifacts.push(Artifact::text(
                    ignore_path,
                    format!("# The ECS files are deployment inputs, not part of the image.\n{line}"),
                ));
            }
        }
    }
    // A per-service setting for a service that is not generated is most likely a typo.
    let known: Vec<&str> = conversion.images.iter().map(|i| i.service.as_str()).collect();
    for name in settings.config.services.keys() {
        if !known.contains(&name.as_str()) {
            findings.push(Finding::new(
                codes::ECS_CONFIG,
                Severity::Warning,
                "migrate.yaml",
                0,
                format!("`ecs.services.{name}` names no generated service (they are: {})", known.join(", ")),
            ));
        }
    }
    // What one-container task definitions cannot say yet.
    for pair in conversion.pairs.iter().filter(|p| !shared.contains(p)) {
        findings.push(Finding::new(
            codes::ECS_MANUAL_STEP,
            Severity::Warning,
            "",
            0,
            format!(
                "`{}` must run in the same task as `{}` ({}), but only one of them has a Dockerfile: add its container \
                 to the task definition by hand",
                pair.service, pair.with, pair.reason
            ),
        ));
    }
    for sidecar in &conversion.sidecars {
        findings.push(Finding::new(
            codes::ECS_MANUAL_STEP,
            Severity::Info,
            sidecar.origin.path.to_string(),
            sidecar.origin.line,
            format!(
                "the `{}` sidecar (`{}`) is not in the generated task definitions; add it to each task that needs it",
                sidecar.service, sidecar.image
            ),
        ));
    }
    artifacts.sort();
    findings
}

/// The ECS files of one task (`<service>/ecs/...`) and the findings of building and
/// checking them.
fn task_files(
    service: &str,
    image: &ImageSpec,
    user: &str,
    partners: &[(&ImageSpec, String)],
    settings: &Settings,
) -> (Vec<Artifact>, Vec<Finding>) {
    let mut artifacts = Vec::new();
    let (files, mut findings) = ecs::build(image, user, partners, settings);
    let dir = format!("{service}/{ECS_DIR}");
    let task_path = format!("{dir}/task-definition.json");
    // Checked as the `Value` it is printed from (a `Value` prints as the struct does, keys in
    // field order), instead of parsing the text back; the text still gives the lines.
    let (task_definition, checked) = match serde_json::to_value(&files.task_definition) {
        Ok(value) => {
            let text = json(&value);
            let checked = ecs::check::check_parsed_task_definition(&task_path, &text, &value);
            (text, checked)
        }
        Err(_) => {
            let text = json(&files.task_definition);
            let checked = ecs::check::check_task_definition(&task_path, &text);
            (text, checked)
        }
    };
    // A jobs-only image runs to completion in scheduled tasks: a health check has nothing to watch.
    let jobs_only = image.kind == ServiceKind::Jobs;
    findings.extend(checked.into_iter().filter(|f| !(jobs_only && f.code == codes::NIST_HEALTH_CHECK)));
    artifacts.push(Artifact::text(task_path, task_definition));
    artifacts.push(Artifact::text(format!("{dir}/execution-role-policy.json"), json(&files.execution_policy)));
    if let Some(s) = &files.service_definition {
        artifacts.push(Artifact::text(format!("{dir}/service.json"), json(s)));
    }
    if let Some(a) = &files.appspec {
        artifacts.push(Artifact::text(format!("{dir}/appspec.yaml"), appspec_yaml(a)));
    }
    if let Some(a) = &files.autoscaling {
        artifacts.push(Artifact::text(format!("{dir}/autoscaling.json"), json(a)));
    }
    for (job, schedule) in &files.schedules {
        artifacts.push(Artifact::text(format!("{dir}/schedules/{job}.json"), json(schedule)));
    }
    (artifacts, findings)
}

/// Pretty JSON with a trailing newline. The types serialise infallibly (no
/// maps with non-string keys), so an error cannot happen; it would give `{}`.
fn json<T: Serialize>(value: &T) -> String {
    super::pretty_json(value, 4 << 10).unwrap_or_else(|| "{}\n".into())
}

/// A YAML scalar: JSON string syntax is valid YAML double-quoted style.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| quoted(s)).collect::<Vec<_>>().join(", "))
}

/// The CodeDeploy ECS blue/green AppSpec.
fn appspec_yaml(a: &AppSpec) -> String {
    let mut out = String::from(
        "# CodeDeploy ECS blue/green AppSpec, generated by migrate. CodePipeline's CodeDeployToECS action\n\
         # replaces <TASK_DEFINITION> with the ARN of the revision it registers.\n\
         version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n",
    );
    out.push_str(&format!("        TaskDefinition: {}\n", quoted(&a.task_definition)));
    out.push_str("        LoadBalancerInfo:\n");
    out.push_str(&format!("          ContainerName: {}\n", quoted(&a.container_name)));
    out.push_str(&format!("          ContainerPort: {}\n", a.container_port));
    out.push_str(&format!("        PlatformVersion: {}\n", quoted(&a.platform_version)));
    if let Some(n) = &a.network {
        out.push_str("        NetworkConfiguration:\n          AwsvpcConfiguration:\n");
        out.push_str(&format!("            Subnets: {}\n", list(&n.subnets)));
        out.push_str(&format!("            SecurityGroups: {}\n", list(&n.security_groups)));
        out.push_str(&format!("            AssignPublicIp: {}\n", quoted(&n.assign_public_ip)));
    }
    if !a.hooks.is_empty() {
        out.push_str("Hooks:\n");
        for (hook, function) in &a.hooks {
            out.push_str(&format!("  - {hook}: {}\n", quoted(function)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;
    use crate::spec::ecs::tests::{configured, image};
    use crate::spec::image::{Pair, Sidecar};

    fn conversion() -> Conversion {
        Conversion {
            images: vec![image(ServiceKind::App)],
            pairs: vec![Pair { service: "api".into(), with: "nginx".into(), reason: "fastcgi".into() }],
            sidecars: vec![Sidecar {
                service: "datadog-agent".into(),
                image: "public.ecr.aws/datadog/agent".into(),
                reason: "vendor".into(),
                origin: Origin::new("roles/dd/tasks/main.yml".into(), 3),
            }],
            ..Conversion::default()
        }
    }

    fn render(existing: Vec<Artifact>) -> (Vec<Artifact>, Vec<Finding>) {
        let (settings, _) = Settings::resolve("shop", Some("prod"), &configured());
        let mut artifacts = existing;
        let findings = add_ecs_files(&conversion(), &settings, &mut artifacts);
        (artifacts, findings)
    }

    #[test]
    fn files_next_to_each_dockerfile() {
        let dockerfile = Artifact::text("api/Dockerfile", "FROM x\n");
        let (artifacts, findings) = render(vec![dockerfile.clone()]);
        let paths: Vec<&str> = artifacts.iter().map(|a| a.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "api/.dockerignore",
                "api/Dockerfile",
                "api/ecs/appspec.yaml",
                "api/ecs/autoscaling.json",
                "api/ecs/execution-role-policy.json",
                "api/ecs/schedules/nightly-report.json",
                "api/ecs/service.json",
                "api/ecs/task-definition.json",
            ]
        );
        for a in &artifacts {
            assert!(a.as_text().unwrap().ends_with('\n'), "{}", a.path);
        }
        // Same input, same bytes.
        assert_eq!(render(vec![dockerfile.clone()]).0, artifacts);
        // What the files cannot say yet.
        assert!(findings.iter().any(|f| f.code.id == "M932" && f.message.contains("same task as `nginx`")));
        assert!(findings.iter().any(|f| f.code.id == "M932" && f.line == 3 && f.severity == Severity::Info));
        assert!(!findings.iter().any(|f| f.message.contains("names no generated service")), "{findings:?}");
        // Without a Dockerfile, no ECS files.
        let (artifacts, _) = render(vec![]);
        assert!(artifacts.is_empty());
    }

    #[test]
    fn our_own_output_is_checked() {
        // An invalid size from migrate.yaml is an error naming the generated file and the valid pairs.
        let mut config = configured();
        config.services.insert(
            "api".into(),
            crate::config::EcsServiceConfig { cpu: Some(256), memory: Some(4096), ..Default::default() },
        );
        let (settings, _) = Settings::resolve("shop", Some("prod"), &config);
        let mut artifacts = vec![Artifact::text("api/Dockerfile", "FROM x\n")];
        let findings = add_ecs_files(&conversion(), &settings, &mut artifacts);
        let f = findings.iter().find(|f| f.code.id == "M902").unwrap();
        assert_eq!((f.severity, f.path.as_str()), (Severity::Error, "api/ecs/task-definition.json"));
        assert!(f.message.contains("cpu 256: memory 512, 1024, 2048"), "{f}");
        assert!(f.line > 0);
        // A setting for a service that does not exist is reported.
        config.services.insert("apii".into(), crate::config::EcsServiceConfig::default());
        let (settings, _) = Settings::resolve("shop", Some("prod"), &config);
        let findings = add_ecs_files(&conversion(), &settings, &mut vec![]);
        assert!(findings.iter().any(|f| f.code.id == "M941" && f.message.contains("`ecs.services.apii`")));
    }

    #[test]
    fn a_task_definition_prints_and_checks_the_same_through_a_value() {
        // A valid task definition, and one the check refuses (an invalid size).
        let mut config = configured();
        for (cpu, memory) in [(None, None), (Some(256), Some(4096))] {
            config.services.insert("api".into(), crate::config::EcsServiceConfig { cpu, memory, ..Default::default() });
            let (settings, _) = Settings::resolve("shop", Some("prod"), &config);
            let image = image(ServiceKind::App);
            let (files, _) = ecs::build(&image, "10001", &[], &settings);
            let direct = json(&files.task_definition);
            let value = serde_json::to_value(&files.task_definition).unwrap();
            assert_eq!(json(&value), direct);
            let checked = ecs::check::check_parsed_task_definition("td.json", &direct, &value);
            assert_eq!(checked, ecs::check::check_task_definition("td.json", &direct));
            assert_eq!(checked.iter().any(|f| f.code.id == "M902"), cpu.is_some(), "{checked:?}");
        }
    }

    #[test]
    fn paired_images_share_one_task() {
        let mut front = image(ServiceKind::Web);
        front.service = "nginx".into();
        front.env.clear();
        front.jobs.clear();
        front.start_files.clear();
        let mut both = conversion();
        both.images.push(front);
        let (settings, _) = Settings::resolve("shop", Some("prod"), &configured());
        let mut artifacts =
            vec![Artifact::text("api/Dockerfile", "FROM x\n"), Artifact::text("nginx/Dockerfile", "FROM x\n")];
        let findings = add_ecs_files(&both, &settings, &mut artifacts);
        // api lives in nginx's task: no files of its own.
        assert!(!artifacts.iter().any(|a| a.path.starts_with("api/ecs/")));
        let td: serde_json::Value = serde_json::from_str(
            artifacts.iter().find(|a| a.path == "nginx/ecs/task-definition.json").unwrap().as_text().unwrap(),
        )
        .unwrap();
        let names: Vec<&str> =
            td["containerDefinitions"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["nginx", "api"]);
        assert_eq!(
            td["containerDefinitions"][0]["dependsOn"],
            serde_json::json!([{"containerName": "api", "condition": "START"}])
        );
        // Sized for the larger member (an app server), volumes kept apart.
        assert_eq!((td["cpu"].as_str(), td["memory"].as_str()), (Some("512"), Some("1024")));
        let volumes: Vec<&str> =
            td["volumes"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
        assert!(volumes.contains(&"tmp") && volumes.contains(&"api-tmp"), "{volumes:?}");
        // The policy reads api's parameters and writes both log groups.
        let policy = artifacts.iter().find(|a| a.path == "nginx/ecs/execution-role-policy.json").unwrap();
        let policy = policy.as_text().unwrap();
        assert!(
            policy.contains("parameter/shop/prod/api/DB_PASSWORD") && policy.contains("log-group:/ecs/shop/prod/api:*")
        );
        assert!(policy.contains("log-group:/ecs/shop/prod/nginx:*") && policy.contains("repository/shop/api"));
        // api's cron job runs in the shared task, overriding api's container.
        let schedule = artifacts.iter().find(|a| a.path == "nginx/ecs/schedules/nightly-report.json").unwrap();
        assert!(schedule.as_text().unwrap().contains(r#"\"name\":\"api\""#));
        assert!(!findings.iter().any(|f| f.message.contains("same task as")), "{findings:?}");
        assert!(!findings.iter().any(|f| f.severity == Severity::Error), "{findings:?}");
    }

    #[test]
    fn an_existing_dockerignore_gets_the_line_once() {
        let (artifacts, _) =
            render(vec![Artifact::text("api/Dockerfile", "FROM x\n"), Artifact::text("api/.dockerignore", ".git")]);
        let ignore = artifacts.iter().find(|a| a.path == "api/.dockerignore").unwrap();
        assert_eq!(ignore.as_text(), Some(".git\necs/\n"));
        let (again, _) =
            render(vec![Artifact::text("api/Dockerfile", "FROM x\n"), Artifact::text("api/.dockerignore", "ecs/\n")]);
        assert_eq!(again.iter().find(|a| a.path == "api/.dockerignore").unwrap().as_text(), Some("ecs/\n"));
    }

    #[test]
    fn appspec_text() {
        let (artifacts, _) = render(vec![Artifact::text("api/Dockerfile", "FROM x\n")]);
        let appspec = artifacts.iter().find(|a| a.path == "api/ecs/appspec.yaml").unwrap().as_text().unwrap();
        let body: String = appspec.lines().filter(|l| !l.starts_with('#')).map(|l| format!("{l}\n")).collect();
        assert_eq!(
            body,
            "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        \
             TaskDefinition: \"<TASK_DEFINITION>\"\n        LoadBalancerInfo:\n          ContainerName: \"api\"\n          \
             ContainerPort: 8000\n        PlatformVersion: \"LATEST\"\n        NetworkConfiguration:\n          \
             AwsvpcConfiguration:\n            Subnets: [\"subnet-a\", \"subnet-b\"]\n            SecurityGroups: \
             [\"sg-1\"]\n            AssignPublicIp: \"DISABLED\"\n"
        );
        // It is YAML a parser reads back with the right types.
        let doc: serde_json::Value = serde_saphyr::from_str(appspec).unwrap();
        assert_eq!(doc["Resources"][0]["TargetService"]["Properties"]["LoadBalancerInfo"]["ContainerPort"], 8000);
        assert_eq!(doc["version"], 0.0);
    }
}
