//! After a template is read: link the files its provisioners name to the
//! repository (Ansible playbooks, scripts, file sources) and suggest a
//! container base image for each builder. Both only read the `SourceSet`.

use std::collections::BTreeMap;

use super::{BaseImageTable, Builder, FileRef, PackerTemplate, PlaybookLink, ProvisionerAction, Shapes, Text};
use crate::diagnostics::{Finding, codes};
use crate::source::{self, FileProblem, SourceSet};

/// Resolves every local file a provisioner names, links Ansible playbooks, and
/// reports names that cannot be worked out (M020 info), leave the repository
/// (M004) or do not exist (M005).
pub(super) fn link_files(set: &SourceSet, t: &mut PackerTemplate, findings: &mut Vec<Finding>) {
    let dir = t.dir.clone();
    for build in &mut t.builds {
        for p in &mut build.provisioners {
            let kind = p.kind.clone();
            let mut missing: Vec<(&'static str, &FileRef)> = Vec::new();
            match &mut p.action {
                ProvisionerAction::Shell(sh) => {
                    for r in &mut sh.scripts {
                        link_ref(set, &dir, r, "script", &kind, findings);
                    }
                    missing.extend(sh.scripts.iter().filter(|r| is_missing(r)).map(|r| ("script", r)));
                }
                ProvisionerAction::File(fa) => {
                    let download = fa.direction.as_ref().is_some_and(|d| d.resolved == "download");
                    if !download {
                        for r in &mut fa.sources {
                            link_ref(set, &dir, r, "source", &kind, findings);
                        }
                        missing.extend(fa.sources.iter().filter(|r| is_missing(r)).map(|r| ("source", r)));
                    }
                }
                ProvisionerAction::Ansible(a) => {
                    for r in &mut a.playbook_files {
                        link_ref(set, &dir, r, "playbook", &kind, findings);
                        if let Some(path) = &r.path {
                            a.playbooks.push(PlaybookLink {
                                path: path.clone(),
                                origin: p.origin.clone(),
                                exists: set.is_file(path),
                            });
                        }
                    }
                    for r in a.playbook_dir.iter_mut().chain(a.role_paths.iter_mut()).chain(a.galaxy_file.iter_mut()) {
                        link_ref(set, &dir, r, "file", &kind, findings);
                    }
                    missing.extend(a.playbook_files.iter().filter(|r| is_missing(r)).map(|r| ("playbook", r)));
                    missing.extend(a.playbook_dir.iter().filter(|r| is_missing(r)).map(|r| ("playbook_dir", r)));
                    missing.extend(a.role_paths.iter().filter(|r| is_missing(r)).map(|r| ("role path", r)));
                    missing.extend(a.galaxy_file.iter().filter(|r| is_missing(r)).map(|r| ("galaxy_file", r)));
                }
                ProvisionerAction::Other => {}
            }
            report_missing(&kind, &missing, findings);
        }
    }
}

fn is_missing(r: &FileRef) -> bool {
    r.path.is_some() && !r.exists
}

/// One finding per provisioner and kind of file: a `shell` provisioner naming
/// twelve absent scripts is one problem to fix, not twelve.
fn report_missing(kind: &str, missing: &[(&'static str, &FileRef)], findings: &mut Vec<Finding>) {
    let mut by_what: BTreeMap<&str, Vec<&FileRef>> = BTreeMap::new();
    for (what, r) in missing {
        by_what.entry(what).or_default().push(r);
    }
    for (what, refs) in by_what {
        let Some(first) = refs.first() else { continue };
        let path_of = |r: &FileRef| r.path.clone().unwrap_or_default();
        let message = if refs.len() == 1 {
            format!("`{kind}` provisioner: {what} `{}` does not exist (written `{}`)", path_of(first), first.text.raw)
        } else {
            let shown: Vec<String> = refs.iter().take(3).map(|r| format!("`{}`", path_of(r))).collect();
            let more = if refs.len() > 3 { format!(" and {} more", refs.len() - 3) } else { String::new() };
            format!("`{kind}` provisioner: {} {what}s do not exist: {}{more}", refs.len(), shown.join(", "))
        };
        findings.push(Finding::warning(
            codes::MISSING_FILE,
            first.text.origin.path.as_ref(),
            first.text.origin.line,
            message,
        ));
    }
}

/// Resolves one file name against the template directory.
fn link_ref(set: &SourceSet, dir: &str, r: &mut FileRef, what: &str, kind: &str, findings: &mut Vec<Finding>) {
    let origin = &r.text.origin;
    if let Some(why) = r.text.why_unknown() {
        findings.push(Finding::info(
            codes::UNRESOLVED_REFERENCE,
            origin.path.as_ref(),
            origin.line,
            format!("`{kind}` provisioner: cannot tell which {what} `{}` is: {why}", r.text.raw),
        ));
        return;
    }
    let name = r.text.resolved.replace('\\', "/");
    if name.trim().is_empty() {
        findings.push(Finding::warning(
            codes::UNEXPECTED_SHAPE,
            origin.path.as_ref(),
            origin.line,
            format!("`{kind}` provisioner: empty {what} name; ignored"),
        ));
        return;
    }
    let absolute = name.starts_with('/')
        || name.starts_with('~')
        || (name.len() >= 2 && name.as_bytes()[1] == b':' && name.as_bytes()[0].is_ascii_alphabetic());
    let resolved = if absolute { Err(FileProblem::EscapesRoot(name.clone())) } else { source::resolve(dir, &name) };
    match resolved {
        Ok(path) => {
            r.exists = set.is_file(&path) || set.is_dir(&path);
            r.path = Some(path);
        }
        Err(_) => findings.push(Finding::error(
            codes::PATH_ESCAPES_ROOT,
            origin.path.as_ref(),
            origin.line,
            format!("`{kind}` provisioner: {what} `{}` is outside the repository; refused, not followed", r.text.raw),
        )),
    }
}

/// The settings of non-Amazon builders that name what they start from.
const IMAGE_FIELDS: &[&str] =
    &["image", "iso_url", "iso_urls", "source_path", "source_image", "source_image_family", "source_image_name"];

pub(super) fn hint_base_images(t: &mut PackerTemplate, table: &BaseImageTable, findings: &mut Vec<Finding>) {
    // Builders without a hint, grouped by what they start from: the five
    // builders of one ISO are one thing to decide, not five.
    let mut unknown: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, b) in t.builders.iter_mut().enumerate() {
        let candidates = image_candidates(b, findings);
        b.base_image = table.hint(candidates.iter().map(|(f, t)| (f.as_str(), t.resolved.as_str())));
        if b.base_image.is_some() {
            continue;
        }
        let detail = match candidates.first() {
            None => "it names no source image".to_string(),
            Some((field, text)) => {
                let ami_id = text.known && text.resolved.starts_with("ami-");
                let note = if ami_id { ", an AMI id that does not say which system it holds" } else { "" };
                format!("{field} is `{}`{note}", text.resolved)
            }
        };
        match unknown.iter_mut().find(|(d, _)| *d == detail) {
            Some((_, builders)) => builders.push(i),
            None => unknown.push((detail, vec![i])),
        }
    }
    for (detail, indexes) in unknown {
        let Some(first) = indexes.first().map(|&i| &t.builders[i]) else { continue };
        let names: Vec<String> = indexes.iter().map(|&i| format!("`{}`", t.builders[i].reference())).collect();
        let which = if names.len() == 1 { "builder" } else { "builders" };
        findings.push(Finding::info(
            codes::NO_BASE_IMAGE,
            first.origin.path.as_ref(),
            first.origin.line,
            format!("no container base image is known for {which} {} ({detail}); choose one by hand", names.join(", ")),
        ));
    }
}

/// The names a builder's source image goes by, most telling first. For an
/// Amazon builder whose source AMI cannot be worked out, says why (M020).
fn image_candidates(b: &Builder, findings: &mut Vec<Finding>) -> Vec<(String, Text)> {
    let mut candidates: Vec<(String, Text)> = Vec::new();
    if let Some(a) = &b.amazon {
        if let Some(name) = a.source_ami_filter.as_ref().and_then(|f| f.name.as_ref()) {
            candidates.push(("source_ami_filter.name".into(), name.clone()));
        }
        if let Some(ami) = &a.source_ami {
            candidates.push(("source_ami".into(), ami.clone()));
        }
        if !candidates.iter().any(|(_, t)| t.known)
            && let Some((field, text)) = candidates.first()
        {
            let why = text.why_unknown().unwrap_or_default();
            findings.push(Finding::info(
                codes::UNRESOLVED_REFERENCE,
                text.origin.path.as_ref(),
                text.origin.line,
                format!("builder `{}`: cannot tell which {field} `{}` is: {why}", b.reference(), text.raw),
            ));
        }
    } else {
        let mut shapes = Shapes { findings: &mut Vec::new() };
        for field in IMAGE_FIELDS {
            for text in shapes.texts(&b.settings, field) {
                candidates.push((field.to_string(), text));
            }
        }
    }
    candidates
}
