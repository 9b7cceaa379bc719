//! `migrate`: from Packer + Ansible golden images to one-process containers.
//!
//! The crate is one pipeline; each stage owns its types and only ever reads
//! the output of the stage before it:
//!
//! ```text
//!  repo on disk
//!     │ source   read files safely, parse YAML/JSON/HCL, keep line numbers, decrypt vault
//!     ▼
//!  SourceSet
//!     │ model    normalise plays, roles, tasks, inventories, vars, Packer templates;
//!     ▼          every node carries its origin (file:line); evaluate Jinja like Ansible
//!  Project ──► ResolvedRun (one environment)  ──────► findings (path:line CODE severity: message)
//!     │ rules    data in rules/ turns tasks into typed steps, splits services, classifies secrets
//!     ▼
//!  Conversion / ImageSpec / ParameterSpec     spec: what each image and parameter should be
//!     │ render   minijinja templates → Dockerfiles, build contexts, MIGRATION.md
//!     ▼
//!  Artifacts
//!     │ plan     desired vs current state → Plan; text, JSON and markdown renderers
//!     ▼
//!  Plan
//!     │ apply / ssm   the only side effects: atomic file writes, SSM Parameter Store
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
pub mod timings;

pub use commands::{ExitStatus, run};
