//! The current state: what is in the output directory now, and its manifest.
//!
//! Reads only the paths a plan can be about (desired files and manifest entries), never
//! the whole directory: files a human keeps next to the generated ones are none of the
//! plan's business. Never follows a symbolic link inside the output directory: a link
//! (or a directory) where a file should be is reported as such, so `apply` can never be
//! tricked into writing outside the directory. Reads; never writes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{CurrentParameter, Desired, FileBody, MANIFEST_FILE, Manifest};
use crate::source::is_executable;

/// Largest file read back from the output directory (generated files are small; this only
/// guards against reading something huge that a human put there).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// What is at one path of the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiskEntry {
    Absent,
    File(FileBody),
    /// A directory, a symbolic link, a device, or a path through one of those.
    Other,
}

/// The current state a plan is computed against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    /// The output directory as the user named it (for addresses).
    pub output_dir: String,
    pub manifest: Manifest,
    /// SHA-256 of the manifest file's bytes; None when there is none.
    pub manifest_sha256: Option<String>,
    /// Every path the plan is about, desired or in the manifest.
    pub files: BTreeMap<String, DiskEntry>,
    /// Live parameters under the prefix; None when Parameter Store was not read.
    pub parameters: Option<Vec<CurrentParameter>>,
}

#[derive(Debug, thiserror::Error)]
pub enum CurrentError {
    #[error("cannot read `{}`: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("`{}` is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("`{}` is larger than {} MiB; migrate does not generate such files", .0.display(), MAX_FILE_BYTES >> 20)]
    TooLarge(PathBuf),
    #[error("{0}; remove or repair it (migrate cannot tell its own files from yours without it)")]
    Manifest(String),
    #[error(transparent)]
    Plan(#[from] super::PlanError),
}

/// Reads the output directory `dir` (shown to humans as `label`) for `desired`.
/// `parameters` is the live Parameter Store content under the prefix, when it was read.
pub fn read(
    dir: &Path,
    label: &str,
    desired: &Desired,
    parameters: Option<Vec<CurrentParameter>>,
) -> Result<Current, CurrentError> {
    super::validate(desired)?;
    let mut current = Current {
        output_dir: label.to_string(),
        manifest: Manifest::new(BTreeMap::new()),
        manifest_sha256: None,
        files: BTreeMap::new(),
        parameters,
    };
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(CurrentError::NotADirectory(dir.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            for a in &desired.artifacts {
                current.files.insert(a.path.clone(), DiskEntry::Absent);
            }
            return Ok(current);
        }
        Err(source) => return Err(CurrentError::Io { path: dir.to_path_buf(), source }),
    }

    let manifest_path = dir.join(MANIFEST_FILE);
    match read_entry(dir, MANIFEST_FILE)? {
        DiskEntry::Absent => {}
        DiskEntry::File(body) => {
            let source = format!("{label}/{MANIFEST_FILE}");
            current.manifest = Manifest::parse(&body.content, &source).map_err(CurrentError::Manifest)?;
            current.manifest_sha256 = Some(body.sha256().to_string());
        }
        DiskEntry::Other => {
            return Err(CurrentError::Manifest(format!("`{}` is not a regular file", manifest_path.display())));
        }
    }

    let mut paths: BTreeSet<&str> = desired.artifacts.iter().map(|a| a.path.as_str()).collect();
    paths.extend(current.manifest.files.keys().map(String::as_str));
    // Thousands of small files after an apply (8,958 at 1,000 roles): read on both cores.
    // The results come back in path order, so the error reported is always the first path's.
    let paths: Vec<&str> = paths.into_iter().collect();
    let entries: Vec<Result<DiskEntry, CurrentError>> = paths.par_iter().map(|path| read_entry(dir, path)).collect();
    let mut files = BTreeMap::new();
    for (path, entry) in paths.into_iter().zip(entries) {
        files.insert(path.to_string(), entry?);
    }
    current.files = files;
    Ok(current)
}

/// Reads one validated relative path under `dir` without following links.
pub fn read_entry(dir: &Path, rel: &str) -> Result<DiskEntry, CurrentError> {
    let mut at = dir.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let meta = match std::fs::symlink_metadata(&at) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DiskEntry::Absent),
            // A regular file used as a directory (`a` is a file, `a/b` is asked for).
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Ok(DiskEntry::Other),
            Err(source) => return Err(CurrentError::Io { path: at, source }),
        };
        let last = i + 1 == parts.len();
        if meta.file_type().is_symlink() {
            return Ok(DiskEntry::Other);
        }
        if !last {
            if !meta.is_dir() {
                return Ok(DiskEntry::Other);
            }
            continue;
        }
        if !meta.is_file() {
            return Ok(DiskEntry::Other);
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(CurrentError::TooLarge(at));
        }
        let mut content = Vec::with_capacity(meta.len() as usize);
        std::fs::File::open(&at)
            .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut content))
            .map_err(|source| CurrentError::Io { path: at.clone(), source })?;
        return Ok(DiskEntry::File(FileBody::new(content, is_executable(&meta))));
    }
    Ok(DiskEntry::Absent)
}
