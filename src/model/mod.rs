//! Stage 2, model: the normalised picture of what the VM image build does.
//!
//! Built from a [`SourceSet`](crate::source::SourceSet); knows Ansible and
//! Packer, knows nothing about Docker. Every node carries its [`Origin`].

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

pub mod template;

/// Where a model node came from: repo-relative path and 1-based line.
/// Paths are shared (`Arc<str>`) since thousands of nodes point at one file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Origin {
    pub path: Arc<str>,
    pub line: u32,
}

impl Origin {
    pub fn new(path: Arc<str>, line: u32) -> Origin {
        Origin { path, line }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path, self.line)
    }
}
