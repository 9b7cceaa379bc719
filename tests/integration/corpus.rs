//! The converter over every repository of the real-world corpus (`MIGRATE_CORPUS`, a
//! directory of repositories kept outside this one; `scripts/test` sets it when
//! `../shared/corpus` exists). For each repository: the pipeline accounts for every
//! task of the run (converted into an image that exists, dropped with a reason, skipped
//! with its condition, or flagged for a human with a reason), and `migrate apply` ends
//! with 0 or 1, never a panic or a signal, writes the same bytes (and prints the same
//! findings) when run twice, and every Dockerfile it writes passes hadolint with no
//! warning or error (the project's `.hadolint.yaml`).
//!
//! Without `MIGRATE_CORPUS` the test says loudly that it did not run, and passes: the
//! corpus is not part of the repository.

use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use migrate::config::Config;
use migrate::model::{self, resolve, target, template::Facts};
use migrate::rules::{self, RuleSet, scope_renderer::ScopeRenderer};
use migrate::source::SourceSet;
use migrate::spec::image::Disposition;

use crate::support;

/// The corpus repositories, sorted; `None` when `MIGRATE_CORPUS` is not set.
fn corpus_repos() -> Option<Vec<PathBuf>> {
    let root = PathBuf::from(std::env::var_os("MIGRATE_CORPUS").filter(|v| !v.is_empty())?);
    let mut repos: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("MIGRATE_CORPUS={}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    repos.sort();
    assert!(!repos.is_empty(), "MIGRATE_CORPUS={} holds no repository", root.display());
    Some(repos)
}

/// Written past the test harness's capture, so a run without the corpus is never silent.
fn notice(text: &str) {
    let _ = writeln!(std::io::stderr(), "\n{text}\n");
}

/// Tallies of one repository's accounting.
#[derive(Default)]
struct Tally {
    tasks: usize,
    converted: usize,
    dropped: usize,
    skipped: usize,
    human: usize,
    images: usize,
}

/// Runs source → model → resolve → rules on `repo` (as `plan` does) and checks that
/// every task of the run has exactly one sound account. Returns the tally or the problems.
fn account(repo: &Path) -> Result<Tally, Vec<String>> {
    let config = Config::load(repo).map_err(|e| vec![format!("config: {e:#}")])?;
    let set = Arc::new(SourceSet::load(repo).map_err(|e| vec![format!("source: {e:#}")])?);
    let project = model::build(&set);
    let base = target::base_image(&project, &config);
    let facts = Facts::for_image(&base.image).map_err(|e| vec![format!("facts: {e}")])?;
    let options = resolve::Options { facts, ..Default::default() };
    let run = resolve::resolve(&project, &set, &config, &options).map_err(|e| vec![format!("resolve: {e:#}")])?;
    let rule_set = RuleSet::load_embedded().map_err(|e| vec![format!("rules: {e}")])?;
    let renderer = ScopeRenderer::new(&run);
    let inputs = rules::Inputs {
        project: &project,
        files: &*set,
        run: &run,
        config: &config,
        rules: &rule_set,
        templates: &renderer,
        base: &base,
    };
    let (conversion, _) = rules::convert(&inputs);

    let mut problems = Vec::new();
    let tasks: Vec<String> =
        run.plays.iter().flat_map(|p| p.tasks.iter().chain(p.handlers.iter())).map(|t| t.origin.to_string()).collect();
    let accounted: Vec<String> = conversion.accounting.iter().map(|a| a.origin.to_string()).collect();
    if tasks != accounted {
        problems.push(format!("{} tasks in the run, {} accounted for (or not in order)", tasks.len(), accounted.len()));
    }
    let images: Vec<&str> = conversion.images.iter().map(|i| i.service.as_str()).collect();
    let mut tally = Tally { tasks: tasks.len(), images: images.len(), ..Default::default() };
    for a in &conversion.accounting {
        let at = format!("{} `{}`", a.origin, a.title);
        match &a.disposition {
            Disposition::Converted { services, code } => {
                tally.converted += 1;
                if services.is_empty() || code.is_empty() {
                    problems.push(format!("{at}: converted into no image ({code:?})"));
                }
                for s in services.iter().filter(|s| !images.contains(&s.as_str())) {
                    problems.push(format!("{at}: converted into `{s}`, which is not built"));
                }
            }
            Disposition::Dropped { code, reason } => {
                tally.dropped += 1;
                if reason.trim().is_empty() || code.is_empty() {
                    problems.push(format!("{at}: dropped without a reason ({code:?})"));
                }
            }
            Disposition::Skipped { condition } => {
                tally.skipped += 1;
                if condition.trim().is_empty() {
                    problems.push(format!("{at}: skipped without its condition"));
                }
            }
            Disposition::NeedsHuman { code, reason } => {
                tally.human += 1;
                if reason.trim().is_empty() || code.is_empty() {
                    problems.push(format!("{at}: flagged without a reason ({code:?})"));
                }
            }
        }
    }
    if problems.is_empty() { Ok(tally) } else { Err(problems) }
}

/// Every file under `dir` (relative path → bytes), sorted.
fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                let rel = path.strip_prefix(dir).map(|r| r.to_string_lossy().into_owned()).unwrap_or_default();
                files.insert(rel, bytes);
            }
        }
    }
    files
}

/// `<out>/<service>/Dockerfile`, sorted.
fn dockerfiles(out: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(out)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path().join("Dockerfile"))).collect())
        .unwrap_or_default();
    found.retain(|p| p.is_file());
    found.sort();
    found
}

/// hadolint with the project's configuration: no warning and no error (infos pass).
fn hadolint(path: &Path) -> Result<(), String> {
    let out = std::process::Command::new(support::tool("hadolint"))
        .arg("--config")
        .arg(support::repo_root().join(".hadolint.yaml"))
        .args(["--no-color", "--failure-threshold", "warning"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("hadolint does not run: {e}"));
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "hadolint {}:\n{}{}",
            path.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn every_corpus_repository_converts_with_every_task_accounted_for() {
    let Some(repos) = corpus_repos() else {
        notice(
            "*** corpus::every_corpus_repository_converts_with_every_task_accounted_for DID NOT RUN: \
             MIGRATE_CORPUS is not set (scripts/test sets it when ../shared/corpus exists) ***",
        );
        return;
    };
    let mut failures: Vec<String> = Vec::new();
    let mut dockerfiles_checked = 0;
    let mut summary = String::from("repository: tasks = converted + dropped + skipped + human; images\n");
    for repo in &repos {
        let name = repo.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match catch_unwind(AssertUnwindSafe(|| account(repo))) {
            Ok(Ok(t)) => summary.push_str(&format!(
                "  {name}: {} = {} + {} + {} + {}; {}\n",
                t.tasks, t.converted, t.dropped, t.skipped, t.human, t.images
            )),
            Ok(Err(problems)) => failures.extend(problems.into_iter().map(|p| format!("{name}: {p}"))),
            Err(_) => failures.push(format!("{name}: the pipeline panicked")),
        }
        // The binary end to end: findings and files, exit 0 (clean) or 1 (errors found).
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let repo_arg = repo.to_string_lossy().into_owned();
        let output = support::run_migrate(tmp.path(), &["apply", repo_arg.as_str(), "--out", &out.to_string_lossy()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        match output.status.code() {
            Some(0 | 1) if !stderr.contains("panicked") => {}
            code => failures.push(format!("{name}: `migrate apply` ended with {code:?}:\n{stderr}")),
        }
        // Two runs, two output directories: the same files, byte for byte, and the same findings.
        let again = tmp.path().join("again");
        let second = support::run_migrate(tmp.path(), &["apply", repo_arg.as_str(), "--out", &again.to_string_lossy()]);
        let findings = |o: &std::process::Output| -> Vec<String> {
            String::from_utf8_lossy(&o.stderr).lines().filter(|l| l.contains(" M")).map(str::to_string).collect()
        };
        if tree(&out) != tree(&again) || findings(&output) != findings(&second) {
            failures.push(format!("{name}: two runs of `migrate apply` differ"));
        }
        for dockerfile in dockerfiles(&out) {
            dockerfiles_checked += 1;
            if let Err(e) = hadolint(&dockerfile) {
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    summary.push_str(&format!("hadolint: {dockerfiles_checked} Dockerfiles\n"));
    notice(&format!("corpus ({} repositories)\n{summary}", repos.len()));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
