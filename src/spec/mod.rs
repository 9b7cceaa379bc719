//! Stage: spec, what should exist at the end of a migration.
//!
//! Specs are plain desired state built by earlier stages (or read from a file by a
//! command). They validate themselves against the target's rules but never talk to
//! the target: comparing with and writing to the real world is `plan` / `apply` /
//! `ssm`'s job.

pub mod ecs;
pub mod image;
pub mod parameter;
