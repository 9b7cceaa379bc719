//! `docs/rules/`: one Markdown page per rule and an index, generated from
//! the rules' `docs:` fields, plus the parts of a rule's `## Example` that
//! tests run (the ```` ```yaml ansible ```` input and the
//! ```` ```yaml expected ```` result).
//!
//! Owns text generation only; writing files is the caller's business.

use super::ruleset::{Rule, RuleSet, category_of};

/// The generated files: (path relative to `docs/rules/`, text), sorted.
pub fn generate(rules: &RuleSet) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut index = String::from(
        "<!-- Generated from rules/*.yaml by `MIGRATE_BLESS=1 cargo test --test integration rules_docs`; do not edit. -->\n\n\
         # Conversion rules\n\n\
         Each rule has a stable code. `migrate rules explain CODE` prints its page.\n",
    );
    let mut last_category = "";
    for rule in &rules.rules {
        let category = category_of(&rule.code);
        if category != last_category {
            index.push_str(&format!(
                "\n## {} ({}xx)\n\n| Code | Name | Summary |\n|---|---|---|\n",
                category,
                &rule.code[..2]
            ));
            last_category = category;
        }
        index.push_str(&format!(
            "| [{}]({}.md) | `{}` | {} |\n",
            rule.code,
            rule.code,
            rule.name,
            rule.summary.replace('|', "\\|")
        ));
        out.push((format!("{}.md", rule.code), page(rule)));
    }
    out.push(("README.md".into(), index));
    out.sort();
    out
}

/// One rule's page (also what `migrate rules explain` prints).
pub fn page(rule: &Rule) -> String {
    let mut text = format!(
        "<!-- Generated from {}; do not edit. -->\n\n# {} `{}`\n\n{}\n\n",
        rule.file, rule.code, rule.name, rule.summary
    );
    if let Some(m) = &rule.matcher {
        text.push_str(&format!(
            "Modules: {}\n\n",
            m.modules.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
        ));
    } else {
        text.push_str("Applied by the service splitter (not matched to one module).\n\n");
    }
    text.push_str(rule.docs.trim_end());
    text.push('\n');
    text
}

/// A fenced block of a rule's docs with the given info string (`yaml ansible`).
pub fn fenced_block<'a>(docs: &'a str, info: &str) -> Option<&'a str> {
    let open = format!("```{info}\n");
    let start = docs.find(&open)? + open.len();
    let end = docs[start..].find("```")?;
    Some(&docs[start..start + end])
}
