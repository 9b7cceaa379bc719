//! `docs/rules/` is generated from the rules' `docs:` and must not be stale;
//! `migrate rules list` / `explain` print the same rules.
//!
//! Regenerate with `MIGRATE_BLESS=1 cargo test --test integration rules_docs`.

use std::path::Path;
use std::process::Command;

use migrate::rules::{RuleSet, docs};

fn docs_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules")
}

#[test]
fn rules_docs_are_current() {
    let rules = RuleSet::load_embedded().expect("built-in rules load");
    let generated = docs::generate(&rules);
    let dir = docs_dir();
    if std::env::var_os("MIGRATE_BLESS").is_some() {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("remove docs/rules");
        }
        std::fs::create_dir_all(&dir).expect("create docs/rules");
        for (name, text) in &generated {
            std::fs::write(dir.join(name), text).expect("write a page");
        }
        return;
    }
    let mut stale = Vec::new();
    for (name, text) in &generated {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(on_disk) if &on_disk == text => {}
            Ok(_) => stale.push(format!("{name} differs")),
            Err(_) => stale.push(format!("{name} is missing")),
        }
    }
    let expected: std::collections::BTreeSet<&str> = generated.iter().map(|(n, _)| n.as_str()).collect();
    for entry in std::fs::read_dir(&dir).expect("docs/rules exists") {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        if !expected.contains(name.as_str()) {
            stale.push(format!("{name} has no rule"));
        }
    }
    assert!(
        stale.is_empty(),
        "docs/rules is stale ({}); run `MIGRATE_BLESS=1 cargo test --test integration rules_docs`",
        stale.join(", ")
    );
}

#[test]
fn rules_docs_every_example_runs() {
    let rules = RuleSet::load_embedded().expect("built-in rules load");
    let failures: Vec<String> = rules
        .rules
        .iter()
        .filter_map(|r| migrate::rules::examples::check(&rules, r).err().map(|e| format!("{}: {e}", r.code)))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rules_docs_list_and_explain() {
    let bin = env!("CARGO_BIN_EXE_migrate");
    let out = Command::new(bin).args(["rules", "list"]).output().expect("run migrate");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let rules = RuleSet::load_embedded().expect("built-in rules load");
    assert_eq!(text.lines().count(), rules.rules.len());
    assert!(text.lines().any(|l| l.starts_with("M101  apt-install ")), "{text}");

    let out = Command::new(bin).args(["rules", "explain", "M101"]).output().expect("run migrate");
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert_eq!(page, std::fs::read_to_string(docs_dir().join("M101.md")).expect("M101.md"));

    let out = Command::new(bin).args(["rules", "explain", "M999"]).output().expect("run migrate");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no rule `M999`"));
}
