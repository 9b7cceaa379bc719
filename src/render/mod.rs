//! Stage: render, specs to text. Turns each `spec::ImageSpec` into the files of
//! its build context (Dockerfile, copied and rendered files, entrypoint,
//! MIGRATION.md). Knows nothing about Ansible; only this stage writes
//! Dockerfile syntax.

use serde::Serialize;

/// One generated file, relative to the output directory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Artifact {
    /// `/`-separated path under the output directory (`nginx/Dockerfile`); never
    /// absolute, never with `..`.
    pub path: String,
    /// The exact bytes to write (copied repo files may be binary).
    #[serde(skip)]
    pub content: Vec<u8>,
    /// Written with mode 0755 instead of 0644 (entrypoint scripts).
    pub executable: bool,
}

impl Artifact {
    pub fn text(path: impl Into<String>, text: impl Into<String>) -> Artifact {
        Artifact { path: path.into(), content: text.into().into_bytes(), executable: false }
    }

    /// The content as text, when it is UTF-8.
    pub fn as_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.content).ok()
    }
}
