//! Atomic file replacement: write a temporary file in the target's directory, fsync it,
//! rename it over the target, fsync the directory. A reader (or a crash) sees the old
//! bytes or the new bytes, never a mix.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Prefix of the temporary files; a crash between create and rename may leave one behind
/// (never listed in the manifest, safe to delete).
pub const TEMP_PREFIX: &str = ".migrate-tmp-";

/// Where a write may be made to fail on purpose, to prove the guarantees in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailPoint {
    /// After the temporary file is fully written and synced, before the rename.
    BeforeRename,
}

/// Replaces `target` with `content` atomically. The parent directory must exist.
pub fn write(target: &Path, content: &[u8], executable: bool, fail: Option<FailPoint>) -> io::Result<()> {
    let dir = target.parent().ok_or_else(|| io::Error::other("a file to write has no parent directory"))?;
    let mut tmp = tempfile::Builder::new().prefix(TEMP_PREFIX).tempfile_in(dir)?;
    tmp.write_all(content)?;
    set_mode(tmp.as_file(), executable)?;
    tmp.as_file().sync_all()?;
    if fail == Some(FailPoint::BeforeRename) {
        // Dropping `tmp` removes the temporary file: the target is untouched.
        return Err(io::Error::other("injected failure before rename"));
    }
    tmp.persist(target).map_err(|e| e.error)?;
    sync_dir(dir)
}

#[cfg(unix)]
fn set_mode(file: &fs::File, executable: bool) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(if executable { 0o755 } else { 0o644 }))
}

#[cfg(not(unix))]
fn set_mode(_file: &fs::File, _executable: bool) -> io::Result<()> {
    Ok(())
}

/// Makes a rename or removal in `dir` durable.
#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
pub fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_mode_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("entrypoint.sh");
        fs::write(&target, "old").unwrap();
        write(&target, b"#!/bin/sh\n", true, None).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"#!/bin/sh\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o755);
        }
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("entrypoint.sh")]);
    }

    #[test]
    fn a_failure_before_rename_keeps_the_old_file_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("Dockerfile");
        fs::write(&target, "FROM old\n").unwrap();
        let err = write(&target, b"FROM new\n", false, Some(FailPoint::BeforeRename)).unwrap_err();
        assert_eq!(err.to_string(), "injected failure before rename");
        assert_eq!(fs::read_to_string(&target).unwrap(), "FROM old\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
