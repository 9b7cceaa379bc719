//! Saved plans (`migrate plan -o FILE`, `migrate apply --plan FILE`).
//!
//! A saved plan holds where it was made from (repository, environment, output directory),
//! the fingerprints of its inputs and of the current state, and per resource its action
//! and digests. Never a value: not of a file body, not of a parameter. `apply --plan`
//! re-derives the desired state, re-reads the current state, and goes on only when both
//! fingerprints match; the plan it then applies is, by construction, the saved one.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Current, Desired, DiskEntry, Plan, fingerprint};

/// The saved-plan file's format.
pub const SAVED_FORMAT_VERSION: &str = "1.0";
/// What the file says it is.
pub const SAVED_KIND: &str = "migrate-saved-plan";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    pub format_version: String,
    pub kind: String,
    pub tool_version: String,
    /// The repository, as an absolute path.
    pub repo: String,
    pub env: Option<String>,
    /// The output directory, as an absolute path.
    pub out: String,
    /// The output directory as the user named it (used in addresses).
    pub out_label: String,
    /// Whether live Parameter Store was read.
    pub parameters_compared: bool,
    pub fingerprint: SavedFingerprint,
    pub files: BTreeMap<String, SavedFile>,
    pub parameters: BTreeMap<String, SavedParameter>,
    pub summary: SavedSummary,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedFingerprint {
    pub inputs: String,
    pub current_state: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedFile {
    pub action: String,
    /// SHA-256 of what was on disk (None: absent or not a regular file).
    pub before_sha256: Option<String>,
    /// SHA-256 of the generated content (None: not generated any more).
    pub after_sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedParameter {
    pub action: String,
    pub secure: bool,
    pub before_version: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedSummary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub conflict: usize,
}

/// Where a plan was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub repo: String,
    pub env: Option<String>,
    pub out: String,
    pub out_label: String,
}

impl SavedPlan {
    pub fn new(origin: Origin, desired: &Desired, current: &Current, plan: &Plan) -> SavedPlan {
        let files = plan
            .files
            .iter()
            .map(|f| {
                let saved = SavedFile {
                    action: f.action.name().to_string(),
                    before_sha256: f.before.as_ref().map(|b| b.sha256().to_string()),
                    after_sha256: f.after.as_ref().map(|b| b.sha256().to_string()),
                };
                (f.path.clone(), saved)
            })
            .collect();
        let parameters = plan
            .parameters
            .iter()
            .map(|p| {
                let saved = SavedParameter {
                    action: p.action.name().to_string(),
                    secure: p.after.as_ref().or(p.before.as_ref()).is_some_and(|v| v.secure),
                    before_version: p.before_version,
                };
                (p.name.clone(), saved)
            })
            .collect();
        let s = plan.summary();
        SavedPlan {
            format_version: SAVED_FORMAT_VERSION.to_string(),
            kind: SAVED_KIND.to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            repo: origin.repo,
            env: origin.env,
            out: origin.out,
            out_label: origin.out_label,
            parameters_compared: plan.parameters_compared,
            fingerprint: SavedFingerprint {
                inputs: fingerprint::inputs(desired),
                current_state: fingerprint::current_state(current),
            },
            files,
            parameters,
            summary: SavedSummary { add: s.add, change: s.change, destroy: s.destroy, conflict: s.conflict },
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Parses a saved plan; `source` names the file in errors.
    pub fn parse(bytes: &[u8], source: &str) -> Result<SavedPlan, String> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| format!("{source}:{}: not a saved migrate plan: {e}", e.line()))?;
        if value.get("kind").and_then(|k| k.as_str()) != Some(SAVED_KIND) {
            return Err(format!("{source}: not a saved migrate plan (make one with `migrate plan -o FILE`)"));
        }
        let version = value.get("format_version").and_then(|v| v.as_str()).unwrap_or("?");
        if version.split('.').next() != SAVED_FORMAT_VERSION.split('.').next() {
            return Err(format!(
                "{source}: saved plan format_version {version} is not supported \
                 (this migrate reads {SAVED_FORMAT_VERSION})"
            ));
        }
        serde_json::from_value(value).map_err(|e| format!("{source}: not a saved migrate plan: {e}"))
    }

    /// Checks that `desired` and `current` are what the plan was made from.
    pub fn check(&self, desired: &Desired, current: &Current, plan: &Plan) -> Result<(), Stale> {
        let mut reasons = Vec::new();
        let this = env!("CARGO_PKG_VERSION");
        if self.tool_version != this {
            reasons.push(format!("it was made by migrate {}, this is migrate {this}", self.tool_version));
        }
        if self.parameters_compared != plan.parameters_compared {
            reasons.push(if self.parameters_compared {
                "it compared Parameter Store, this run does not".to_string()
            } else {
                "it did not compare Parameter Store, this run does".to_string()
            });
        }
        if fingerprint::inputs(desired) != self.fingerprint.inputs {
            let mut named = Vec::new();
            let now: BTreeMap<&str, Option<&str>> =
                plan.files.iter().map(|f| (f.path.as_str(), f.after.as_ref().map(|b| b.sha256()))).collect();
            for (path, f) in &self.files {
                if now.get(path.as_str()).copied().flatten() != f.after_sha256.as_deref() {
                    named.push(format!("`{path}`"));
                }
            }
            for (path, after) in &now {
                if after.is_some() && !self.files.contains_key(*path) {
                    named.push(format!("`{path}`"));
                }
            }
            named.sort();
            named.dedup();
            reasons.push(if named.is_empty() {
                "the desired SSM parameters changed since it was made".to_string()
            } else {
                format!("the generated content of {} changed since it was made", list(&named))
            });
        }
        if fingerprint::current_state(current) != self.fingerprint.current_state {
            let mut named = Vec::new();
            for (path, entry) in &current.files {
                let now = match entry {
                    DiskEntry::File(b) => Some(b.sha256()),
                    _ => None,
                };
                let then = self.files.get(path).and_then(|f| f.before_sha256.as_deref());
                if now != then {
                    named.push(format!("`{}`", plan.display_path(path)));
                }
            }
            let mut what = if named.is_empty() {
                Vec::new()
            } else {
                vec![format!("{} changed in the output directory", list(&named))]
            };
            if let Some(live) = &current.parameters {
                let mut changed: Vec<String> = live
                    .iter()
                    .filter(|p| self.parameters.get(&p.name).and_then(|s| s.before_version) != Some(p.version))
                    .map(|p| format!("`{}`", p.name))
                    .collect();
                changed.sort();
                if !changed.is_empty() {
                    what.push(format!("{} changed in Parameter Store", list(&changed)));
                }
            }
            if what.is_empty() {
                what.push("the output directory or its manifest changed since it was made".to_string());
            }
            reasons.extend(what);
        }
        if reasons.is_empty() { Ok(()) } else { Err(Stale { reasons }) }
    }
}

/// At most five names, then "and N more".
fn list(names: &[String]) -> String {
    if names.len() <= 5 { names.join(", ") } else { format!("{} and {} more", names[..5].join(", "), names.len() - 5) }
}

/// Why a saved plan cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub reasons: Vec<String>,
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "saved plan is stale: {}; run `migrate plan -o FILE` again and review the new plan",
            self.reasons.join("; ")
        )
    }
}

impl std::error::Error for Stale {}
