//! Apply on real temporary directories: writes, removals, the manifest, conflicts,
//! interrupted applies, links in the way, parameters, and saved-plan staleness.

use std::fs;
use std::path::Path;

use super::*;
use crate::plan::saved::{Origin, SavedPlan};
use crate::plan::{Current, Desired, DesiredParameter, current, diff};
use crate::render::Artifact;
use crate::sensitive::Sensitive;

fn desired(files: &[(&str, &str)]) -> Desired {
    Desired { artifacts: files.iter().map(|(p, c)| Artifact::text(*p, *c)).collect(), ..Desired::default() }
}

fn read(out: &Path, d: &Desired) -> Current {
    current::read(out, "out", d, None).unwrap()
}

fn plan_for(out: &Path, d: &Desired) -> Plan {
    diff(d, &read(out, d)).unwrap()
}

fn run(out: &Path, d: &Desired, opts: &ApplyOptions) -> Result<ApplyReport, ApplyError> {
    apply(&plan_for(out, d), out, opts, None)
}

/// Every file under `dir`, relative, with its content, sorted.
fn tree(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let content =
                if rel == MANIFEST_FILE { "(manifest)".into() } else { fs::read_to_string(e.path()).unwrap() };
            (rel, content)
        })
        .collect();
    out.sort();
    out
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn creates_updates_removes_and_keeps_hand_added_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let v1 = desired(&[("web/Dockerfile", "FROM a\n"), ("api/Dockerfile", "FROM b\n"), ("old/deep/x.conf", "x\n")]);
    let report = run(&out, &v1, &ApplyOptions::default()).unwrap();
    assert_eq!((report.added, report.changed, report.destroyed), (3, 0, 0));
    fs::write(out.join("NOTES.md"), "mine\n").unwrap();
    fs::write(out.join("web/extra.txt"), "mine too\n").unwrap();

    let v2 = desired(&[("web/Dockerfile", "FROM a2\n"), ("api/Dockerfile", "FROM b\n")]);
    let report = run(&out, &v2, &ApplyOptions::default()).unwrap();
    assert_eq!((report.added, report.changed, report.destroyed), (0, 1, 1));
    assert_eq!(report.removed_dirs, vec!["old".to_string(), "old/deep".to_string()]);
    assert_eq!(
        tree(&out),
        pairs(&[
            (MANIFEST_FILE, "(manifest)"),
            ("NOTES.md", "mine\n"),
            ("api/Dockerfile", "FROM b\n"),
            ("web/Dockerfile", "FROM a2\n"),
            ("web/extra.txt", "mine too\n"),
        ])
    );
    let manifest = Manifest::parse(&fs::read(out.join(MANIFEST_FILE)).unwrap(), "m").unwrap();
    assert_eq!(manifest.files.keys().collect::<Vec<_>>(), vec!["api/Dockerfile", "web/Dockerfile"]);
    assert!(manifest.pending.is_empty());
    assert!(plan_for(&out, &v2).is_empty());

    // Nothing generated any more: the manifest goes, the hand-added files stay.
    run(&out, &desired(&[]), &ApplyOptions::default()).unwrap();
    assert_eq!(tree(&out), pairs(&[("NOTES.md", "mine\n"), ("web/extra.txt", "mine too\n")]));
}

#[test]
fn conflicts_stop_the_whole_apply_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_path_buf();
    run(&out, &desired(&[("web/Dockerfile", "FROM a\n"), ("gone/x", "x\n")]), &ApplyOptions::default()).unwrap();
    fs::write(out.join("web/Dockerfile"), "FROM a # edited\n").unwrap();
    fs::write(out.join("gone/x"), "x edited\n").unwrap();
    fs::create_dir_all(out.join("api")).unwrap();
    fs::write(out.join("api/Dockerfile"), "FROM handmade\n").unwrap();

    let v2 = desired(&[("web/Dockerfile", "FROM a2\n"), ("api/Dockerfile", "FROM b\n"), ("new/Dockerfile", "n\n")]);
    let before = tree(&out);
    let err = run(&out, &v2, &ApplyOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "refusing to apply: 3 files were changed by hand (out/api/Dockerfile, out/gone/x, out/web/Dockerfile); \
         move or remove them, or run `migrate apply --force`"
    );
    assert_eq!(tree(&out), before, "nothing may be written when there are conflicts");

    let report = run(&out, &v2, &ApplyOptions { force: true, ..ApplyOptions::default() }).unwrap();
    assert_eq!((report.added, report.changed, report.destroyed), (1, 2, 1));
    assert_eq!(
        tree(&out),
        pairs(&[
            (MANIFEST_FILE, "(manifest)"),
            ("api/Dockerfile", "FROM b\n"),
            ("new/Dockerfile", "n\n"),
            ("web/Dockerfile", "FROM a2\n"),
        ])
    );
}

#[test]
fn an_interrupted_apply_leaves_every_file_old_or_new_and_the_next_apply_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_path_buf();
    let v1 = desired(&[("a/Dockerfile", "a1\n"), ("b/Dockerfile", "b1\n"), ("c/Dockerfile", "c1\n")]);
    run(&out, &v1, &ApplyOptions::default()).unwrap();
    let v2 = desired(&[("a/Dockerfile", "a2\n"), ("b/Dockerfile", "b2\n"), ("c/Dockerfile", "c2\n"), ("d/new", "d\n")]);

    for n in 0..4 {
        // Start from v1 each time, then fail the n-th write of the v1 → v2 apply.
        run(&out, &v1, &ApplyOptions { force: true, ..ApplyOptions::default() }).unwrap();
        let opts = ApplyOptions { fail_write: Some((n, FailPoint::BeforeRename)), ..ApplyOptions::default() };
        let err = run(&out, &v2, &opts).unwrap_err();
        assert!(err.to_string().contains("injected failure before rename"), "{err}");
        let expected =
            [("a/Dockerfile", "a1\n", "a2\n"), ("b/Dockerfile", "b1\n", "b2\n"), ("c/Dockerfile", "c1\n", "c2\n")];
        for (path, old, new) in expected {
            let now = fs::read_to_string(out.join(path)).unwrap();
            assert!(now == old || now == new, "write {n}: {path} holds {now:?}");
        }
        let leftovers: Vec<_> = tree(&out).into_iter().filter(|(p, _)| p.contains(atomic::TEMP_PREFIX)).collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        // The half-applied state is still recognised as migrate's own: no conflict.
        let plan = plan_for(&out, &v2);
        assert_eq!(plan.conflicts().count(), 0, "after failing write {n}");
        run(&out, &v2, &ApplyOptions::default()).unwrap();
        assert!(plan_for(&out, &v2).is_empty());
    }
}

#[test]
fn links_and_directories_in_the_way_are_never_written_through() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir_all(&out).unwrap();
    fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, out.join("web")).unwrap();
    fs::create_dir_all(out.join("api/Dockerfile")).unwrap();

    let d = desired(&[("web/Dockerfile", "FROM a\n"), ("api/Dockerfile", "FROM b\n")]);
    let plan = plan_for(&out, &d);
    assert!(plan.files.iter().all(|f| f.action == Action::Conflict(Conflict::NotAFile)));
    let err = apply(&plan, &out, &ApplyOptions { force: true, ..ApplyOptions::default() }, None).unwrap_err();
    assert!(err.to_string().starts_with("refusing to apply: out/api/Dockerfile, out/web/Dockerfile"), "{err}");
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);

    // A link planted after planning is caught at write time.
    fs::remove_file(out.join("web")).unwrap();
    fs::remove_dir_all(out.join("api")).unwrap();
    let plan = plan_for(&out, &d);
    std::os::unix::fs::symlink(&elsewhere, out.join("web")).unwrap();
    let err = apply(&plan, &out, &ApplyOptions::default(), None).unwrap_err();
    assert!(matches!(err, ApplyError::UnsafePath(_)), "{err}");
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn bad_paths_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let good = desired(&[("a/Dockerfile", "x\n")]);
    let mut plan = plan_for(&out, &good);
    let mut evil = plan.files[0].clone();
    evil.path = "../escape".into();
    plan.files.push(evil);
    let err = apply(&plan, &out, &ApplyOptions::default(), None).unwrap_err();
    assert_eq!(err.to_string(), "generated file path `../escape` is not allowed: it has a `..` component");
    assert!(!out.exists() && !tmp.path().join("escape").exists());
}

#[test]
fn identical_files_are_adopted_into_the_manifest_without_a_change() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_path_buf();
    fs::create_dir_all(out.join("web")).unwrap();
    fs::write(out.join("web/Dockerfile"), "FROM a\n").unwrap();
    let d = desired(&[("web/Dockerfile", "FROM a\n")]);
    assert!(plan_for(&out, &d).is_empty());
    let report = run(&out, &d, &ApplyOptions::default()).unwrap();
    assert_eq!((report.added, report.changed, report.manifest_written), (0, 0, true));
    let again = run(&out, &d, &ApplyOptions::default()).unwrap();
    assert!(!again.manifest_written, "a second apply with nothing to do writes nothing");
}

#[test]
fn executable_bit_changes_are_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_path_buf();
    let mut d = desired(&[("entrypoint.sh", "#!/bin/sh\n")]);
    run(&out, &d, &ApplyOptions::default()).unwrap();
    d.artifacts[0].executable = true;
    let plan = plan_for(&out, &d);
    assert_eq!(plan.files[0].action, Action::Update);
    apply(&plan, &out, &ApplyOptions::default(), None).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(fs::metadata(out.join("entrypoint.sh")).unwrap().permissions().mode() & 0o777, 0o755);
    assert!(plan_for(&out, &d).is_empty());
}

#[derive(Default)]
struct Recorder {
    log: Vec<String>,
    /// Names the store refuses.
    refuse: Vec<&'static str>,
}

impl ParameterWriter for Recorder {
    fn write(&mut self, changes: &[&ParameterChange]) -> anyhow::Result<ParameterOutcome> {
        let mut outcome = ParameterOutcome::default();
        for c in changes {
            if self.refuse.contains(&c.name.as_str()) {
                outcome.failed.push((c.name.clone(), "AccessDenied".into()));
                continue;
            }
            match (&c.action, &c.after) {
                (Action::Create, Some(a)) => {
                    self.log.push(format!("put {} secure={} len={}", c.name, a.secure, a.value.expose().len()));
                    outcome.added += 1;
                }
                (Action::Update, Some(a)) => {
                    let base = c.before_version.unwrap_or_default();
                    self.log.push(format!("put {} secure={} over v{base}", c.name, a.secure));
                    outcome.changed += 1;
                }
                (Action::Delete, _) => {
                    self.log.push(format!("delete {} v{}", c.name, c.before_version.unwrap_or_default()));
                    outcome.destroyed += 1;
                }
                other => panic!("not a change: {other:?}"),
            }
        }
        Ok(outcome)
    }
}

fn live(name: &str, value: &str, version: i64) -> crate::plan::CurrentParameter {
    crate::plan::CurrentParameter {
        name: name.into(),
        secure: false,
        value: Sensitive::new(value.into()),
        version,
        managed: true,
    }
}

#[test]
fn parameters_go_through_the_writer_and_need_one() {
    let tmp = tempfile::tempdir().unwrap();
    let mut d = desired(&[]);
    d.parameters.push(DesiredParameter::secret("/a/prod/web/DB_PASSWORD", "s3cr3t"));
    d.parameters.push(DesiredParameter::plain("/a/prod/web/LOG", "info"));
    d.parameters.push(DesiredParameter::plain("/a/prod/web/SAME", "1"));
    d.parameters.push(DesiredParameter::plain("/a/prod/web/URL", "https://new"));
    let live = vec![
        live("/a/prod/web/OLD", "1", 1),
        live("/a/prod/web/SAME", "1", 4),
        live("/a/prod/web/URL", "https://old", 2),
    ];
    let current = current::read(tmp.path(), "out", &d, Some(live)).unwrap();
    let plan = diff(&d, &current).unwrap();
    let err = apply(&plan, tmp.path(), &ApplyOptions::default(), None).unwrap_err();
    assert_eq!(err.to_string(), "the plan changes 4 SSM parameters, but no Parameter Store is connected");
    let mut rec = Recorder::default();
    let report = apply(&plan, tmp.path(), &ApplyOptions::default(), Some(&mut rec)).unwrap();
    assert_eq!(
        rec.log,
        vec![
            "put /a/prod/web/DB_PASSWORD secure=true len=6",
            "put /a/prod/web/LOG secure=false len=4",
            "delete /a/prod/web/OLD v1",
            "put /a/prod/web/URL secure=false over v2",
        ]
    );
    assert_eq!((report.added, report.changed, report.destroyed), (2, 1, 1));
}

#[test]
fn a_parameter_the_store_refuses_is_named_after_the_files_are_written() {
    let tmp = tempfile::tempdir().unwrap();
    let mut d = desired(&[("web/Dockerfile", "FROM a\n")]);
    d.parameters.push(DesiredParameter::secret("/a/prod/web/DB_PASSWORD", "s3cr3t"));
    d.parameters.push(DesiredParameter::plain("/a/prod/web/LOG", "info"));
    let current = current::read(tmp.path(), "out", &d, Some(Vec::new())).unwrap();
    let plan = diff(&d, &current).unwrap();
    let mut rec = Recorder { refuse: vec!["/a/prod/web/LOG"], ..Recorder::default() };
    let err = apply(&plan, tmp.path(), &ApplyOptions::default(), Some(&mut rec)).unwrap_err().to_string();
    assert_eq!(
        err,
        "partly applied (resources: 2 added, 0 changed, 0 destroyed): 1 SSM parameter was not written: \
         /a/prod/web/LOG (AccessDenied); run `migrate apply` again to finish (what was written is not written again)"
    );
    assert!(!err.contains("s3cr3t") && !err.contains("info"));
    assert_eq!(fs::read_to_string(tmp.path().join("web/Dockerfile")).unwrap(), "FROM a\n");
}

fn origin(out: &Path) -> Origin {
    Origin { repo: "/repo".into(), env: None, out: out.to_string_lossy().into_owned(), out_label: "out".into() }
}

#[test]
fn a_saved_plan_is_refused_when_inputs_or_the_directory_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_path_buf();
    let mut d = desired(&[("web/Dockerfile", "FROM a\n"), ("api/Dockerfile", "FROM b\n")]);
    d.parameters.push(DesiredParameter::secret("/a/prod/web/DB_PASSWORD", "correct horse battery"));
    let c = read(&out, &d);
    let plan = diff(&d, &c).unwrap();
    let saved = SavedPlan::new(origin(&out), &d, &c, &plan);
    let bytes = saved.to_bytes();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(!text.contains("correct horse battery") && !text.contains("FROM a"), "{text}");
    let saved = SavedPlan::parse(&bytes, "plan.json").unwrap();
    assert_eq!(saved.check(&d, &c, &plan), Ok(()));

    // A playbook change: the generated content differs.
    let mut d2 = d.clone();
    d2.artifacts[0].content = b"FROM a2\n".to_vec();
    let p2 = diff(&d2, &c).unwrap();
    assert_eq!(
        saved.check(&d2, &c, &p2).unwrap_err().to_string(),
        "saved plan is stale: the generated content of `web/Dockerfile` changed since it was made; \
         run `migrate plan -o FILE` again and review the new plan"
    );

    // A secret changed: named without its value.
    let mut d3 = d.clone();
    d3.parameters[0].value = Sensitive::new("Tr0ub4dor&3".into());
    let err = saved.check(&d3, &c, &diff(&d3, &c).unwrap()).unwrap_err().to_string();
    assert!(err.contains("the desired SSM parameters changed"), "{err}");

    // The directory changed: a hand-added file where one is generated.
    fs::create_dir_all(out.join("api")).unwrap();
    fs::write(out.join("api/Dockerfile"), "mine\n").unwrap();
    let c4 = read(&out, &d);
    let err = saved.check(&d, &c4, &diff(&d, &c4).unwrap()).unwrap_err().to_string();
    assert_eq!(
        err,
        "saved plan is stale: `out/api/Dockerfile` changed in the output directory; \
         run `migrate plan -o FILE` again and review the new plan"
    );
}

#[test]
fn saved_plans_from_elsewhere_are_refused_clearly() {
    assert_eq!(
        SavedPlan::parse(b"{\"format_version\":1}", "x.json").unwrap_err(),
        "x.json: not a saved migrate plan (make one with `migrate plan -o FILE`)"
    );
    assert!(SavedPlan::parse(b"nope", "x.json").unwrap_err().starts_with("x.json:1: not a saved migrate plan"));
    let v2 = br#"{"kind":"migrate-saved-plan","format_version":"2.0"}"#;
    assert_eq!(
        SavedPlan::parse(v2, "x.json").unwrap_err(),
        "x.json: saved plan format_version 2.0 is not supported (this migrate reads 1.0)"
    );
}
