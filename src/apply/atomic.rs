//! Atomic file replacement: write a temporary file in the target's directory, fsync it,
//! rename it over the target, fsync the directory. A reader (or a crash) sees the old
//! bytes or the new bytes, never a mix. [`write_many`] does the same for many files with
//! the waits for the disk overlapped.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use tempfile::TempPath;

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
///
/// A target that exists and is a device, a FIFO or a socket (`migrate plan -o /dev/null`) is
/// written through instead: renaming a file over `/dev/null` would replace the device itself
/// for every program on the machine.
pub fn write(target: &Path, content: &[u8], executable: bool, fail: Option<FailPoint>) -> io::Result<()> {
    if let Ok(meta) = fs::symlink_metadata(target) {
        let kind = meta.file_type();
        if !kind.is_file() && !kind.is_dir() && !kind.is_symlink() {
            return fs::OpenOptions::new().write(true).open(target)?.write_all(content);
        }
    }
    let file = NewFile { target: target.to_path_buf(), content, executable };
    write_many(&[file], fail.map(|point| (0, point))).map_err(|(_, e)| e)
}

/// One file for [`write_many`]: its absolute path (the parent directory must exist), bytes and mode.
pub struct NewFile<'a> {
    pub target: PathBuf,
    pub content: &'a [u8],
    pub executable: bool,
}

/// How many files are written and synced at once. A sync waits for the disk, not for a core,
/// so this is more than the machine's cores.
const WRITERS: usize = 16;

/// Replaces every file of `files` atomically, as [`write`] one after another would, with the
/// waits for the disk overlapped: the temporary files are written and synced by [`WRITERS`]
/// threads, then renamed over their targets in order, then each directory is synced once
/// (instead of once per file).
///
/// On failure returns the index of the first file that failed and why. No temporary file is
/// left behind; every target is either untouched or wholly replaced, and no file after the
/// failed one in order is replaced. `fail` injects a failure at one index (tests).
pub fn write_many(files: &[NewFile<'_>], fail: Option<(usize, FailPoint)>) -> Result<(), (usize, io::Error)> {
    let temps = write_temps(files)?;
    let mut renamed_dirs: BTreeSet<&Path> = BTreeSet::new();
    let mut outcome = Ok(());
    // Renamed in order, so a failure leaves a prefix of the files replaced.
    for (i, (file, temp)) in files.iter().zip(temps).enumerate() {
        if fail == Some((i, FailPoint::BeforeRename)) {
            // Dropping the remaining temporary paths removes their files: the targets are untouched.
            outcome = Err((i, io::Error::other("injected failure before rename")));
            break;
        }
        if let Err(e) = temp.persist(&file.target) {
            outcome = Err((i, e.error));
            break;
        }
        if let Some(dir) = file.target.parent() {
            renamed_dirs.insert(dir);
        }
    }
    // Make the renames that were made durable, even when a later one failed.
    let dirs: Vec<&Path> = renamed_dirs.into_iter().collect();
    let synced = in_parallel(dirs.len(), |i| sync_dir(dirs[i]));
    outcome?;
    match synced.into_iter().enumerate().find_map(|(i, r)| r.err().map(|e| (i, e))) {
        // Report the failed directory against the first file written in it.
        Some((d, e)) => Err((files.iter().position(|f| f.target.parent() == Some(dirs[d])).unwrap_or(0), e)),
        None => Ok(()),
    }
}

/// Writes and syncs the temporary file of every target, in parallel. On any failure, removes
/// them all and returns the first failure in order.
fn write_temps(files: &[NewFile<'_>]) -> Result<Vec<TempPath>, (usize, io::Error)> {
    let results = in_parallel(files.len(), |i| {
        let file = &files[i];
        let dir = file.target.parent().ok_or_else(|| io::Error::other("a file to write has no parent directory"))?;
        let mut tmp = tempfile::Builder::new().prefix(TEMP_PREFIX).tempfile_in(dir)?;
        tmp.write_all(file.content)?;
        set_mode(tmp.as_file(), file.executable)?;
        tmp.as_file().sync_all()?;
        // Closes the file (thousands may be pending) but still removes it when dropped.
        Ok(tmp.into_temp_path())
    });
    let mut temps = Vec::with_capacity(files.len());
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(temp) => temps.push(temp),
            // Returning drops every temporary path made so far, and with them their files.
            Err(e) => return Err((i, e)),
        }
    }
    Ok(temps)
}

/// `job(0..n)` on up to [`WRITERS`] threads; the results in index order.
fn in_parallel<T: Send>(n: usize, job: impl Fn(usize) -> io::Result<T> + Sync) -> Vec<io::Result<T>> {
    let slots: Vec<Mutex<Option<io::Result<T>>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                break;
            }
            let result = job(i);
            if let Ok(mut slot) = slots[i].lock() {
                *slot = Some(result);
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..WRITERS.min(n) {
            // A thread that cannot be started leaves its share to the others.
            let _ = std::thread::Builder::new().name("write".into()).spawn_scoped(scope, work);
        }
        // This thread works too, so every index is done even when no thread could start.
        work();
    });
    slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(io::Error::other("a writer thread stopped before finishing")))
        })
        .collect()
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

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_written_through_not_replaced() {
        use std::io::Read;
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("plan.fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success(), "mkfifo failed");
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                fs::File::open(&fifo).unwrap().read_to_end(&mut got).unwrap();
                got
            })
        };
        write(&fifo, b"saved plan\n", false, None).unwrap();
        assert_eq!(reader.join().unwrap(), b"saved plan\n");
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO was replaced");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file is left");
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

    /// Forty files in four directories, each holding `old` before.
    fn forty(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        (0..40)
            .map(|i| {
                let dir = root.join(format!("svc{}", i % 4));
                fs::create_dir_all(&dir).unwrap();
                let target = dir.join(format!("file{i:02}"));
                fs::write(&target, "old").unwrap();
                (target, format!("new {i}\n").into_bytes())
            })
            .collect()
    }

    fn new_files(files: &[(PathBuf, Vec<u8>)]) -> Vec<NewFile<'_>> {
        files
            .iter()
            .enumerate()
            .map(|(i, (t, c))| NewFile { target: t.clone(), content: c, executable: i == 3 })
            .collect()
    }

    /// Every file under `root`, sorted, with its content.
    fn contents(root: &Path) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = walkdir::WalkDir::new(root)
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let rel = e.path().strip_prefix(root).unwrap().to_string_lossy().into_owned();
                (rel, fs::read_to_string(e.path()).unwrap())
            })
            .collect();
        all.sort();
        all
    }

    #[test]
    fn write_many_replaces_every_file_with_its_mode_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = forty(dir.path());
        write_many(&new_files(&files), None).unwrap();
        let now = contents(dir.path());
        assert_eq!(now.len(), 40);
        for (target, content) in &files {
            assert_eq!(fs::read(target).unwrap(), *content);
        }
        assert!(now.iter().all(|(p, _)| !p.contains(TEMP_PREFIX)), "{now:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |t: &Path| fs::metadata(t).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&files[3].0), 0o755);
            assert_eq!(mode(&files[4].0), 0o644);
        }
    }

    #[test]
    fn write_many_failing_before_a_rename_replaces_only_the_files_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let files = forty(dir.path());
        let (at, why) = write_many(&new_files(&files), Some((17, FailPoint::BeforeRename))).unwrap_err();
        assert_eq!((at, why.to_string()), (17, "injected failure before rename".to_string()));
        for (i, (target, content)) in files.iter().enumerate() {
            let now = fs::read(target).unwrap();
            if i < 17 { assert_eq!(now, *content, "file {i}") } else { assert_eq!(now, b"old", "file {i}") }
        }
        assert_eq!(contents(dir.path()).len(), 40, "no temporary file is left");
    }

    #[test]
    fn write_many_failing_to_write_one_file_replaces_none() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = forty(dir.path());
        // The 25th file's directory does not exist: its temporary file cannot be made.
        files[25].0 = dir.path().join("missing").join("file25");
        let (at, _) = write_many(&new_files(&files), None).unwrap_err();
        assert_eq!(at, 25);
        let now = contents(dir.path());
        assert_eq!(now.len(), 40, "no temporary file is left: {now:?}");
        assert!(now.iter().all(|(_, c)| c == "old"), "{now:?}");
    }
}
