//! `.migrate-manifest.json`: which files in the output directory migrate wrote, with the
//! SHA-256 of what it wrote. It is how a plan tells migrate's own stale files (removed)
//! from files a human added or edited (never touched).
//!
//! Owns the file format and its parsing. Writing it is `apply`'s job (atomically, last).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The manifest's name, at the root of the output directory.
pub const MANIFEST_FILE: &str = ".migrate-manifest.json";

/// The manifest's own format version.
pub const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format_version: u32,
    /// Path (relative, `/`-separated) → SHA-256 of the bytes migrate wrote. Sorted.
    pub files: BTreeMap<String, String>,
    /// Written only while an apply runs: path → SHA-256 of the bytes about to be
    /// written. If the apply is interrupted, a file holding either its old or its new
    /// content is still recognised as migrate's own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending: BTreeMap<String, String>,
}

impl Manifest {
    pub fn new(files: BTreeMap<String, String>) -> Manifest {
        Manifest { format_version: MANIFEST_VERSION, files, pending: BTreeMap::new() }
    }

    /// True when migrate wrote exactly these bytes at `path`.
    pub fn owns(&self, path: &str, sha256: &str) -> bool {
        self.files.get(path).is_some_and(|s| s == sha256) || self.pending.get(path).is_some_and(|s| s == sha256)
    }

    /// Parses the manifest; `source` names it in errors.
    pub fn parse(bytes: &[u8], source: &str) -> Result<Manifest, String> {
        let m: Manifest =
            serde_json::from_slice(bytes).map_err(|e| format!("{source}:{}: not a migrate manifest: {e}", e.line()))?;
        if m.format_version != MANIFEST_VERSION {
            return Err(format!(
                "{source}: manifest format_version {} is not supported (this migrate reads {MANIFEST_VERSION})",
                m.format_version
            ));
        }
        for path in m.files.keys().chain(m.pending.keys()) {
            super::validate_path(path).map_err(|e| format!("{source}: {e}"))?;
        }
        Ok(m)
    }

    /// The bytes written to disk: pretty JSON, sorted, with a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_sorted() {
        let mut files = BTreeMap::new();
        files.insert("web/Dockerfile".to_string(), "bb".to_string());
        files.insert("api/Dockerfile".to_string(), "aa".to_string());
        let m = Manifest::new(files);
        let text = String::from_utf8(m.to_bytes()).unwrap();
        assert_eq!(
            text,
            "{\n  \"format_version\": 1,\n  \"files\": {\n    \"api/Dockerfile\": \"aa\",\n    \
             \"web/Dockerfile\": \"bb\"\n  }\n}\n"
        );
        assert_eq!(Manifest::parse(text.as_bytes(), "m").unwrap(), m);
    }

    #[test]
    fn refuses_escaping_paths_and_garbage() {
        let bad = br#"{"format_version":1,"files":{"../etc/passwd":"aa"}}"#;
        assert!(Manifest::parse(bad, "out/.migrate-manifest.json").unwrap_err().contains("`..` component"));
        let err = Manifest::parse(b"{\n\"x\": 1}", "m").unwrap_err();
        assert!(err.starts_with("m:2: not a migrate manifest"), "{err}");
        let err = Manifest::parse(br#"{"format_version":9,"files":{}}"#, "m").unwrap_err();
        assert!(err.contains("format_version 9"), "{err}");
    }
}
