//! The desired state for `plan` and `apply`: the one place where the converter pipeline
//! (source → model → rules → render, and the SSM parameter specs) is called for them.

use std::path::Path;

use anyhow::bail;

use crate::plan::Desired;

/// Everything the repository says should exist for `env`: generated files and SSM
/// parameters, with the findings of the stages that produced them.
///
/// The converter is wired in here at merge time; until then the desired state is empty,
/// which plans the removal of every file migrate generated before and nothing else.
pub fn desired_state(repo: &Path, env: Option<&str>) -> anyhow::Result<Desired> {
    let _ = env;
    if !repo.is_dir() {
        bail!("cannot read repository `{}`: not a directory", repo.display());
    }
    Ok(Desired::default())
}
