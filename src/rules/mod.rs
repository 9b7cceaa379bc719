//! Stage 3, rules: data files under `rules/` turned into typed decisions.
//!
//! Each rule file is embedded in the binary (`include_str!`), read with
//! serde-saphyr into structs that deny unknown fields, checked, and compiled
//! once. A module here owns one rule file and the decision it drives; it
//! reads model values it is handed and never reads the repository itself.
//!
//! - [`secrets`]: is an environment value a secret or plain configuration?
//! - [`ruleset`]: the module and decision rules (`rules/*.yaml`), loaded and matched;
//!   [`catalog`]: the services catalog (`rules/services.yaml`).
//! - [`emit`]: one task → typed steps (or dropped, or needs a human);
//!   [`units`]: systemd units, supervisor programs, init scripts, cron files.
//! - [`split`]: one process per image; [`convert`] is the entry point.
//! - [`scope_renderer`]: `template:` sources rendered with the task's resolved scope.
//! - [`docs`]: `docs/rules/` generated from the rules' `docs:`.

pub mod catalog;
pub mod docs;
pub mod emit;
pub mod env;
pub mod examples;
pub mod ruleset;
pub mod scope_renderer;
pub mod secrets;
pub mod shell;
pub mod split;
#[cfg(test)]
mod split_tests;
pub mod units;

pub use ruleset::RuleSet;
pub use split::{Inputs, convert};

use std::fmt;

/// A rule file that cannot be used. The embedded files are checked by unit
/// tests, so in a release this only reports a broken build or a bad custom file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFileError {
    /// Path of the rule file relative to the repository of this tool, e.g. `rules/secrets.yaml`.
    pub path: String,
    /// 1-based line, 0 when unknown.
    pub line: u64,
    pub message: String,
}

impl fmt::Display for RuleFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "`{}`: {}", self.path, self.message)
        } else {
            write!(f, "`{}:{}`: {}", self.path, self.line, self.message)
        }
    }
}

impl std::error::Error for RuleFileError {}

/// Parses a rule file with serde-saphyr, mapping errors to [`RuleFileError`].
pub(crate) fn parse_rule_file<T: serde::de::DeserializeOwned>(path: &str, text: &str) -> Result<T, RuleFileError> {
    serde_saphyr::from_str(text).map_err(|e| RuleFileError {
        path: path.to_string(),
        line: e.location().map_or(0, |l| l.line()),
        message: crate::config::yaml_error_message(&e),
    })
}
