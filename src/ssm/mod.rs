//! Stage: ssm, the side effect that puts environment values into SSM Parameter Store
//! and reads them back.
//!
//! - `store`: the `ParameterStore` trait, SDK-free types; `aws` implements it and is
//!   the only module that imports aws-sdk-ssm / aws-config.
//! - `push`: plan (create / update / unchanged / delete / conflict) and apply, with
//!   retries, a write rate limit and exactly-once writes; `read`: listing a prefix.
//! - `pull`: the current values back as a dotenv file; `dotenv`: that file format.
//! - `report`: the plan and the report as text; `progress`: bar or plain lines.
//!
//! Desired parameters come from the caller (`spec::parameter`); this stage never
//! decides what should exist, and never prints a secret value.

pub mod aws;
pub mod dotenv;
#[cfg(test)]
mod memory;
pub mod progress;
pub mod pull;
pub mod push;
pub mod read;
pub mod report;
pub mod retry;
pub mod scrub;
pub mod store;
