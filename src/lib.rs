//! `migrate`: from Packer + Ansible golden images to one-process containers.
//!
//! The crate is one pipeline; each stage owns its types and only ever reads
//! the output of the stage before it:
//!
//! ```text
//!  repo on disk
//!     │ source   read files safely, parse YAML/JSON/HCL/INI, keep line numbers
//!     ▼
//!  SourceSet
//!     │ model    normalise plays, roles, tasks, inventories, vars, Packer templates;
//!     ▼          every node carries its origin (file:line)
//!  Project ──────────────────────────────► findings (path:line CODE severity: message)
//!     │ rules    data in rules/ turns tasks into typed build steps (not yet built)
//!     ▼
//!  ImageSpec      spec: what each image should be (not yet built)
//!     │ render   templates to Dockerfiles and build contexts (not yet built)
//!     ▼
//!  Artifacts
//!     │ plan     desired vs current state, terraform-style diff (not yet built)
//!     ▼
//!  Plan
//!     │ apply / ssm   the only side effects: write files, push parameters
//!     ▼
//! ```
//!
//! `commands` wires the stages together for each subcommand; `main.rs` only
//! parses arguments and maps the result to an exit code.

pub mod apply;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diagnostics;
pub mod model;
pub mod plan;
pub mod render;
pub mod rules;
pub mod sensitive;
pub mod source;
pub mod spec;
pub mod ssm;

pub use commands::{ExitStatus, run};
