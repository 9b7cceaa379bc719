//! Stage 1, source: bytes on disk → parsed documents, each with its path.
//!
//! This is the only stage that touches the repository's files. It walks the
//! repo once (never following a symlink out of it), reads and parses the YAML
//! files in parallel, and hands later stages a [`SourceSet`]: a sorted map from
//! repo-relative path to file. Later stages ask it for text or YAML by path and
//! get either the content or a [`FileProblem`] they turn into a finding.
//!
//! It knows file formats, not Ansible: what a file *means* is the model's job.

pub mod hcl;
pub mod json;
pub mod vault;
pub mod yaml;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::diagnostics::{Finding, codes};

/// Files larger than this are not read (16 MiB).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Why the repository as a whole cannot be loaded. Problems with single files
/// are [`FileProblem`]s and become findings instead.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("`{0}` does not exist")]
    NotFound(PathBuf),
    #[error("`{0}` is not a directory")]
    NotADirectory(PathBuf),
    #[error("cannot read `{path}`: {message}")]
    Io { path: PathBuf, message: String },
}

/// Why one file cannot be used. Carries the line where that is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    Missing,
    Io(String),
    NotUtf8 { line: u32 },
    Binary,
    TooLarge(u64),
    EscapesRoot(String),
    Yaml(yaml::YamlError),
}

impl FileProblem {
    /// The line the problem is at (0 for the whole file).
    pub fn line(&self) -> u32 {
        match self {
            FileProblem::NotUtf8 { line } => *line,
            FileProblem::Yaml(e) => e.line,
            _ => 0,
        }
    }

    pub fn message(&self) -> String {
        match self {
            FileProblem::Missing => "file does not exist".into(),
            FileProblem::Io(m) => format!("cannot read file: {m}"),
            FileProblem::NotUtf8 { .. } => "file is not valid UTF-8".into(),
            FileProblem::Binary => "file is binary, not text".into(),
            FileProblem::TooLarge(n) => {
                format!("file is {n} bytes, over the {MAX_FILE_BYTES}-byte cap; not read")
            }
            FileProblem::EscapesRoot(target) => {
                format!("`{target}` is outside the repository; refused, not followed")
            }
            FileProblem::Yaml(e) => format!("invalid YAML: {}", e.message),
        }
    }

    /// The finding for this problem in file `path`.
    pub fn to_finding(&self, path: &str) -> Finding {
        let code = match self {
            FileProblem::Missing => codes::MISSING_FILE,
            FileProblem::EscapesRoot(_) => codes::PATH_ESCAPES_ROOT,
            FileProblem::Yaml(e) if e.kind == yaml::YamlErrorKind::Limit => codes::RESOURCE_LIMIT,
            FileProblem::Yaml(_) => codes::INVALID_SYNTAX,
            _ => codes::UNREADABLE_FILE,
        };
        Finding::error(code, path, self.line(), self.message())
    }
}

/// One file of the repository, read lazily (YAML files eagerly, in parallel).
#[derive(Debug)]
pub struct SourceFile {
    /// Path relative to the repository root, `/`-separated.
    pub rel: String,
    /// Where the bytes are on disk (the symlink target for an in-repo link).
    disk: PathBuf,
    /// Known from the walk for a symlinked file; for the others, from the open file
    /// when it is read, or asked for on first use: the walk makes no call per file.
    size: OnceLock<u64>,
    text: OnceLock<Result<String, FileProblem>>,
    yaml: OnceLock<Result<yaml::Documents, FileProblem>>,
}

impl SourceFile {
    /// The file's text, or why it cannot be read as text.
    pub fn text(&self) -> Result<&str, &FileProblem> {
        self.text
            .get_or_init(|| {
                let (text, size) = read_text(&self.disk, self.size.get().copied())?;
                let _ = self.size.set(size);
                Ok(text)
            })
            .as_ref()
            .map(String::as_str)
    }

    /// The file's text when the file is smaller than `limit` bytes (`None` when it is
    /// not), reading it only then: the size comes from the opened file, so a file
    /// not read yet costs no separate look-up of its size.
    pub fn text_within(&self, limit: u64) -> Option<Result<&str, &FileProblem>> {
        if self.text.get().is_none() && self.size.get().is_none() {
            let read = match open_capped(&self.disk, None) {
                Ok((file, size)) => {
                    let _ = self.size.set(size);
                    if size >= limit {
                        return None;
                    }
                    read_open_text(file, size)
                }
                Err(p) => Err(p),
            };
            let _ = self.text.set(read);
        }
        if self.size() >= limit {
            return None;
        }
        Some(self.text())
    }

    /// The file's bytes (binary files too), read afresh, within the size cap.
    pub fn bytes(&self) -> Result<Vec<u8>, FileProblem> {
        if let Some(Ok(text)) = self.text.get() {
            return Ok(text.as_bytes().to_vec());
        }
        read_bytes(&self.disk, self.size.get().copied())
    }

    /// The file parsed as (Ansible-flavoured) YAML.
    pub fn yaml(&self) -> Result<&yaml::Documents, &FileProblem> {
        self.yaml
            .get_or_init(|| match self.text() {
                Ok(t) => yaml::parse(t).map_err(FileProblem::Yaml),
                Err(p) => Err(p.clone()),
            })
            .as_ref()
    }

    /// The file name without directories.
    pub fn name(&self) -> &str {
        self.rel.rsplit('/').next().unwrap_or(&self.rel)
    }

    /// The extension, lower-cased, without the dot (`""` when none).
    pub fn extension(&self) -> String {
        let name = self.name();
        match name.rfind('.') {
            Some(i) if i > 0 => name[i + 1..].to_ascii_lowercase(),
            _ => String::new(),
        }
    }

    /// The size in bytes (0 when the file cannot be examined).
    pub fn size(&self) -> u64 {
        *self.size.get_or_init(|| fs::metadata(&self.disk).map(|m| m.len()).unwrap_or(0))
    }
}

/// Every file of a repository, by relative path, plus what the walk found.
#[derive(Debug)]
pub struct SourceSet {
    root: PathBuf,
    files: BTreeMap<String, SourceFile>,
    /// Directories (relative), for role and vars-directory lookups.
    dirs: std::collections::BTreeSet<String>,
    /// Problems met while walking (escaping symlinks, unreadable directories).
    pub findings: Vec<Finding>,
}

impl SourceSet {
    /// Walks `root` and parses its YAML files in parallel.
    pub fn load(root: &Path) -> Result<SourceSet, SourceError> {
        let meta = fs::metadata(root).map_err(|_| SourceError::NotFound(root.to_path_buf()))?;
        if !meta.is_dir() {
            return Err(SourceError::NotADirectory(root.to_path_buf()));
        }
        let root =
            fs::canonicalize(root).map_err(|e| SourceError::Io { path: root.to_path_buf(), message: e.to_string() })?;
        let mut set =
            SourceSet { root: root.clone(), files: BTreeMap::new(), dirs: Default::default(), findings: Vec::new() };
        set.dirs.insert(String::new());
        // Read and parse everything YAML-shaped up front, on all cores, while the
        // walk (one thread, mostly system calls) goes on: nearly every such file
        // is needed and parsing dominates the load time.
        let parsed: Mutex<Vec<Parsed>> = Mutex::new(Vec::new());
        rayon::in_place_scope(|scope| {
            let mut spawn = |rel: &str, disk: &Path, size: Option<u64>| {
                let (rel, disk) = (rel.to_string(), disk.to_path_buf());
                let parsed = &parsed;
                scope.spawn(move |_| {
                    let (text, size) = match read_text(&disk, size) {
                        Ok((text, size)) => (Ok(text), Some(size)),
                        Err(p) => (Err(p), None),
                    };
                    let yaml = match &text {
                        Ok(t) => yaml::parse(t).map_err(FileProblem::Yaml),
                        Err(p) => Err(p.clone()),
                    };
                    if let Ok(mut out) = parsed.lock() {
                        out.push(Parsed { rel, size, text, yaml });
                    }
                });
            };
            set.walk(&root, "", true, &mut spawn);
        });
        // Each file's results land in its own cells, so the order the workers
        // finished in does not matter. (A poisoned lock only loses the head
        // start: the cells fill lazily again.)
        for p in parsed.into_inner().unwrap_or_default() {
            if let Some(f) = set.files.get(&p.rel) {
                if let Some(size) = p.size {
                    let _ = f.size.set(size);
                }
                let _ = f.text.set(p.text);
                let _ = f.yaml.set(p.yaml);
            }
        }
        Ok(set)
    }

    fn walk(
        &mut self,
        dir: &Path,
        prefix: &str,
        follow_dir_links: bool,
        parse: &mut dyn FnMut(&str, &Path, Option<u64>),
    ) {
        let walker = walkdir::WalkDir::new(dir)
            .follow_links(false)
            .sort_by_file_name()
            .min_depth(1)
            .into_iter()
            .filter_entry(|e| e.file_name() != ".git");
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let rel = e.path().and_then(|p| self.rel_of(dir, prefix, p)).unwrap_or_default();
                    self.findings.push(Finding::error(
                        codes::UNREADABLE_FILE,
                        rel,
                        0,
                        format!("cannot read directory entry: {e}"),
                    ));
                    continue;
                }
            };
            let Some(rel) = self.rel_of(dir, prefix, entry.path()) else { continue };
            let ft = entry.file_type();
            if ft.is_dir() {
                self.dirs.insert(rel);
            } else if ft.is_file() {
                self.add_file(rel, entry.into_path(), None, parse);
            } else if ft.is_symlink() {
                self.add_symlink(rel, entry.path(), follow_dir_links, parse);
            }
        }
    }

    fn rel_of(&self, dir: &Path, prefix: &str, path: &Path) -> Option<String> {
        let tail = path.strip_prefix(dir).ok()?;
        // The walk's paths are plain names joined by `/`: then the text is the relative
        // path as it stands, and the split into components (a string each) is not needed.
        let plain = tail.to_str().filter(|t| t.split('/').all(|c| !c.is_empty() && c != "." && c != ".."));
        let tail = match plain {
            Some(t) => t.to_string(),
            None => path_to_rel(tail)?,
        };
        Some(if prefix.is_empty() { tail } else { format!("{prefix}/{tail}") })
    }

    fn add_file(
        &mut self,
        rel: String,
        disk: PathBuf,
        size: Option<u64>,
        parse: &mut dyn FnMut(&str, &Path, Option<u64>),
    ) {
        if looks_like_yaml(&rel) {
            parse(&rel, &disk, size);
        }
        let size = size.map_or_else(OnceLock::new, OnceLock::from);
        self.files.insert(rel.clone(), SourceFile { rel, disk, size, text: OnceLock::new(), yaml: OnceLock::new() });
    }

    /// A symlink is used only when its target stays inside the repository.
    /// Directory links are walked one level deep (never a link inside a link),
    /// which rules out cycles.
    fn add_symlink(
        &mut self,
        rel: String,
        path: &Path,
        follow_dir_links: bool,
        parse: &mut dyn FnMut(&str, &Path, Option<u64>),
    ) {
        let target = match fs::canonicalize(path) {
            Ok(t) => t,
            Err(_) => {
                let shown = fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_default();
                self.findings.push(Finding::warning(
                    codes::MISSING_FILE,
                    rel,
                    0,
                    format!("symlink to `{shown}` is dangling"),
                ));
                return;
            }
        };
        if !target.starts_with(&self.root) {
            let shown = fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_default();
            self.findings.push(FileProblem::EscapesRoot(shown).to_finding(&rel));
            return;
        }
        match fs::metadata(&target) {
            Ok(m) if m.is_file() => self.add_file(rel, target, Some(m.len()), parse),
            Ok(m) if m.is_dir() && follow_dir_links => {
                self.dirs.insert(rel.clone());
                self.walk(&target, &rel, false, parse);
            }
            Ok(_) => {}
            Err(e) => self.findings.push(Finding::error(codes::UNREADABLE_FILE, rel, 0, e.to_string())),
        }
    }

    /// The absolute, canonical repository root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// All files in path order.
    pub fn files(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.values()
    }

    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    pub fn get(&self, rel: &str) -> Option<&SourceFile> {
        self.files.get(rel)
    }

    /// The file at `rel`, or [`FileProblem::Missing`].
    pub fn file(&self, rel: &str) -> Result<&SourceFile, FileProblem> {
        self.files.get(rel).ok_or(FileProblem::Missing)
    }

    pub fn is_file(&self, rel: &str) -> bool {
        self.files.contains_key(rel)
    }

    pub fn is_dir(&self, rel: &str) -> bool {
        self.dirs.contains(rel)
    }

    /// Files directly inside directory `rel` (not in its subdirectories).
    pub fn files_in(&self, rel: &str) -> impl Iterator<Item = &SourceFile> {
        let prefix = if rel.is_empty() { String::new() } else { format!("{rel}/") };
        let plen = prefix.len();
        self.files
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .filter(move |(k, _)| !k[plen..].contains('/'))
            .map(|(_, f)| f)
    }

    /// Every file under directory `rel`, at any depth, in path order.
    pub fn files_under(&self, rel: &str) -> impl Iterator<Item = &SourceFile> {
        let prefix = if rel.is_empty() { String::new() } else { format!("{rel}/") };
        self.files.range(prefix.clone()..).take_while(move |(k, _)| k.starts_with(&prefix)).map(|(_, f)| f)
    }

    /// Subdirectories directly inside directory `rel`, by name.
    pub fn subdirs(&self, rel: &str) -> impl Iterator<Item = &str> {
        let prefix = if rel.is_empty() { String::new() } else { format!("{rel}/") };
        let plen = prefix.len();
        self.dirs
            .range(prefix.clone()..)
            .take_while(move |k| k.starts_with(&prefix))
            .filter(move |k| k.len() > plen && !k[plen..].contains('/'))
            .map(move |k| &k[plen..])
    }
}

/// Joins `reference` (as written in a file) onto directory `base` (relative to
/// the repo root) and normalises `.` and `..`. A result outside the repository,
/// or an absolute reference, is refused.
pub fn resolve(base: &str, reference: &str) -> Result<String, FileProblem> {
    if reference.starts_with('/') || reference.starts_with('~') {
        return Err(FileProblem::EscapesRoot(reference.to_string()));
    }
    let mut parts: Vec<&str> = if base.is_empty() { Vec::new() } else { base.split('/').collect() };
    for part in reference.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(FileProblem::EscapesRoot(reference.to_string()));
                }
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// The directory part of a relative path (`""` for a top-level file).
pub fn parent(rel: &str) -> &str {
    rel.rfind('/').map(|i| &rel[..i]).unwrap_or("")
}

fn path_to_rel(path: &Path) -> Option<String> {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(s) => out.push(s.to_str()?.to_string()),
            _ => return None,
        }
    }
    Some(out.join("/"))
}

/// Whether any execute bit is set (always false off Unix).
#[cfg(unix)]
pub fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
pub fn is_executable(_meta: &fs::Metadata) -> bool {
    false
}

/// Results of the eager read and parse of one file, made off the walking thread.
struct Parsed {
    rel: String,
    /// The size of the opened file (when it could be opened).
    size: Option<u64>,
    text: Result<String, FileProblem>,
    yaml: Result<yaml::Documents, FileProblem>,
}

fn looks_like_yaml(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    match name.rfind('.') {
        Some(i) if i > 0 => {
            let ext = &name[i + 1..];
            ext.eq_ignore_ascii_case("yml") || ext.eq_ignore_ascii_case("yaml")
        }
        // group_vars/all, host_vars/web1: extensionless YAML.
        _ => rel.contains("group_vars/") || rel.contains("host_vars/"),
    }
}

/// Opens `path` and checks its size against the cap. `known` is the size the walk
/// found (a symlinked file): checked before opening, as then nothing is opened for
/// a file over the cap. Otherwise the size comes from the open file (`fstat`, no
/// second look-up of the path).
fn open_capped(path: &Path, known: Option<u64>) -> Result<(fs::File, u64), FileProblem> {
    if let Some(size) = known
        && size > MAX_FILE_BYTES
    {
        return Err(FileProblem::TooLarge(size));
    }
    let file = fs::File::open(path).map_err(|e| FileProblem::Io(e.to_string()))?;
    let size = match known {
        Some(size) => size,
        None => file.metadata().map(|m| m.len()).unwrap_or(0),
    };
    if size > MAX_FILE_BYTES {
        return Err(FileProblem::TooLarge(size));
    }
    Ok((file, size))
}

fn read_bytes(path: &Path, known: Option<u64>) -> Result<Vec<u8>, FileProblem> {
    let (file, size) = open_capped(path, known)?;
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| FileProblem::Io(e.to_string()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(FileProblem::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

/// The text of `path` and its size as found when it was opened.
fn read_text(path: &Path, known: Option<u64>) -> Result<(String, u64), FileProblem> {
    let (file, size) = open_capped(path, known)?;
    Ok((read_open_text(file, size)?, size))
}

/// The text of an opened file of `size` bytes (as the file said when opened).
fn read_open_text(file: fs::File, size: u64) -> Result<String, FileProblem> {
    let mut bytes = Vec::with_capacity(size as usize);
    // Read at most one byte past the cap: the file may have grown since the walk.
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| FileProblem::Io(e.to_string()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(FileProblem::TooLarge(bytes.len() as u64));
    }
    if memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some() {
        return Err(FileProblem::Binary);
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid].iter().filter(|&&b| b == b'\n').count() as u32 + 1;
        FileProblem::NotUtf8 { line }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_normalises_and_refuses_escapes() {
        assert_eq!(resolve("roles/app/tasks", "../files/x.conf").unwrap(), "roles/app/files/x.conf");
        assert_eq!(resolve("", "./site.yml").unwrap(), "site.yml");
        assert!(matches!(resolve("a", "../../etc/passwd"), Err(FileProblem::EscapesRoot(_))));
        assert!(matches!(resolve("a", "/etc/passwd"), Err(FileProblem::EscapesRoot(_))));
    }

    #[test]
    fn parent_of_paths() {
        assert_eq!(parent("roles/app/tasks/main.yml"), "roles/app/tasks");
        assert_eq!(parent("site.yml"), "");
    }

    #[test]
    fn yaml_files_are_parsed_during_the_walk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("group_vars")).unwrap();
        std::fs::write(dir.path().join("group_vars/all"), "a: 1\n").unwrap();
        std::fs::write(dir.path().join("site.YML"), "- hosts: all\n").unwrap();
        std::fs::write(dir.path().join("bad.yml"), "a: [1\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "a: 1\n").unwrap();
        let set = SourceSet::load(dir.path()).unwrap();
        let parsed = |rel: &str| set.get(rel).unwrap().yaml.get().is_some();
        assert!(parsed("group_vars/all") && parsed("site.YML") && parsed("bad.yml"));
        assert!(!parsed("notes.txt"));
        assert_eq!(set.get("group_vars/all").unwrap().yaml().unwrap().docs[0].get("a").unwrap().as_str(), Some("1"));
        assert!(matches!(set.get("bad.yml").unwrap().yaml(), Err(FileProblem::Yaml(_))));
        assert_eq!(set.get("notes.txt").unwrap().yaml().unwrap().docs.len(), 1);
    }

    #[test]
    fn bytes_are_read_for_binary_files_too() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("logo.png"), [0x89, b'P', b'N', b'G', 0, 1, 2, 255]).unwrap();
        std::fs::write(dir.path().join("a.txt"), "text\n").unwrap();
        let set = SourceSet::load(dir.path()).unwrap();
        let png = set.get("logo.png").unwrap();
        assert!(png.text().is_err());
        assert_eq!(png.bytes().unwrap(), vec![0x89, b'P', b'N', b'G', 0, 1, 2, 255]);
        let txt = set.get("a.txt").unwrap();
        assert_eq!(txt.text().unwrap(), "text\n");
        assert_eq!(txt.bytes().unwrap(), b"text\n".to_vec());
    }

    #[test]
    fn sizes_come_from_the_opened_file_or_on_demand() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yml"), "a: 1\n").unwrap();
        std::fs::write(dir.path().join("b.txt"), "twelve bytes").unwrap();
        std::fs::write(dir.path().join("c.txt"), "x".repeat(100)).unwrap();
        std::fs::write(dir.path().join("d.txt"), "small").unwrap();
        // Over the cap without writing 16 MiB: a sparse file.
        let big = std::fs::File::create(dir.path().join("big.txt")).unwrap();
        big.set_len(MAX_FILE_BYTES + 1).unwrap();
        let set = SourceSet::load(dir.path()).unwrap();
        // The parse ahead read the YAML file: its size is known from the open file.
        assert_eq!(set.get("a.yml").unwrap().size.get(), Some(&5));
        // The walk did not look at the others; asking finds the size.
        let b = set.get("b.txt").unwrap();
        assert_eq!(b.size.get(), None);
        assert_eq!(b.size(), 12);
        // A file at or over the limit is not read; one under it is.
        let c = set.get("c.txt").unwrap();
        assert!(c.text_within(100).is_none());
        assert!(c.text.get().is_none(), "not read");
        assert_eq!(c.size(), 100);
        assert_eq!(c.text_within(101), Some(Ok("x".repeat(100).as_str())));
        let d = set.get("d.txt").unwrap();
        assert_eq!(d.text_within(1024), Some(Ok("small")));
        assert_eq!(d.size(), 5);
        let big = set.get("big.txt").unwrap();
        assert_eq!(big.text(), Err(&FileProblem::TooLarge(MAX_FILE_BYTES + 1)));
        assert_eq!(big.bytes(), Err(FileProblem::TooLarge(MAX_FILE_BYTES + 1)));
        assert!(big.text_within(1024).is_none());
    }

    #[test]
    fn relative_paths_of_the_walk() {
        let dir = tempfile::tempdir().unwrap();
        for rel in ["x/y/z.yml", "x/.hidden/...", "x/a.b.c", "top"] {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "k: v\n").unwrap();
        }
        let set = SourceSet::load(dir.path()).unwrap();
        let files: Vec<&str> = set.files().map(|f| f.rel.as_str()).collect();
        assert_eq!(files, ["top", "x/.hidden/...", "x/a.b.c", "x/y/z.yml"]);
        assert!(set.is_dir("x/.hidden") && set.is_dir("x/y"));
        let root = set.root().to_path_buf();
        assert_eq!(set.rel_of(&root, "", &root.join("x/y/z.yml")).as_deref(), Some("x/y/z.yml"));
        assert_eq!(set.rel_of(&root, "link", &root.join("x/y")).as_deref(), Some("link/x/y"));
        // Not the walk's shape: the components are taken one by one, as before.
        assert_eq!(set.rel_of(&root, "", &root.join("x/./y")).as_deref(), Some("x/y"));
        assert_eq!(set.rel_of(&root, "", &root.join("x/../y")), None);
    }
}
