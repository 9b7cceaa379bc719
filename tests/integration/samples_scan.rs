//! `migrate scan` on every bundled sample, snapshotted (text and JSON).

use std::fs;

use crate::support::{repo_root, run_migrate};

#[test]
fn scan_every_sample() {
    let samples = repo_root().join("samples");
    let mut names: Vec<String> = fs::read_dir(&samples)
        .expect("samples/ exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no samples found");
    for name in names {
        let dir = samples.join(&name);
        for format in ["text", "json"] {
            let out = run_migrate(&dir, &["scan", ".", "--format", format]);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "scan {name} --format {format} failed:\n{stderr}");
            assert!(stderr.is_empty(), "scan {name} wrote to stderr:\n{stderr}");
            insta::assert_snapshot!(format!("scan_{name}_{format}"), stdout);
        }
    }
}
