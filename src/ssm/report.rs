//! The plan and the push report as text: deterministic (sorted by name), one line per
//! parameter. Plain values may be shown in the plan; anything secret on either side
//! shows as `(sensitive value)`.

use std::fmt::Write as _;

use super::push::{Action, Outcome, Plan, PlanItem, Report};
use crate::sensitive::REDACTED;
use crate::spec::parameter::Tier;

/// Longest value shown in a plan line.
const SHOWN_VALUE_CHARS: usize = 60;

fn shown(value: &str) -> String {
    let mut out: String = format!("{value:?}");
    if out.chars().count() > SHOWN_VALUE_CHARS {
        out = out.chars().take(SHOWN_VALUE_CHARS).collect::<String>() + "…\"";
    }
    out
}

fn symbol(action: Action) -> char {
    match action {
        Action::Create => '+',
        Action::Update => '~',
        Action::Unchanged => '=',
        Action::Delete => '-',
        Action::Conflict => '!',
        Action::Extra => ' ',
    }
}

fn plan_detail(item: &PlanItem) -> String {
    let mut parts: Vec<String> = Vec::new();
    let kind = item
        .desired
        .as_ref()
        .map(|d| super::store::ParameterType::for_value(&d.value))
        .or(item.current.as_ref().map(|c| c.kind));
    match item.action {
        Action::Create | Action::Update | Action::Delete => {
            if let Some(k) = kind {
                parts.push(format!("{:<12}", k.as_str()));
            }
        }
        _ => {}
    }
    match (item.action, &item.desired, &item.current) {
        (Action::Create, Some(d), _) => {
            parts.push(if item.secure() { format!("= {REDACTED}") } else { format!("= {}", shown(d.value.expose())) });
        }
        (Action::Update, Some(d), Some(c)) => {
            parts.push(if item.secure() {
                REDACTED.to_string()
            } else {
                format!("{} -> {}", shown(c.value.expose()), shown(d.value.expose()))
            });
        }
        _ => {}
    }
    if let Some(t) = item.tier.filter(|t| *t != Tier::Standard) {
        parts.push(format!("tier {t}"));
    }
    if let Some(n) = &item.note {
        parts.push(format!("({n})"));
    }
    parts.join("  ")
}

/// The plan, one line per name, then a summary line.
pub fn render_plan(plan: &Plan) -> String {
    let mut out = String::new();
    let width = plan.items.iter().map(|i| i.name.len()).max().unwrap_or(0).min(72);
    for item in &plan.items {
        let detail = plan_detail(item);
        let line = format!("{} {:<9} {:<width$}  {detail}", symbol(item.action), item.action.as_str(), item.name);
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(
        out,
        "Plan for {}: {} to create, {} to update, {} unchanged, {} to delete, {} conflicts, {} extra.",
        plan.prefix,
        plan.count(Action::Create),
        plan.count(Action::Update),
        plan.count(Action::Unchanged),
        plan.count(Action::Delete),
        plan.count(Action::Conflict),
        plan.count(Action::Extra),
    );
    out
}

/// The report, one line per name (`result action version name: detail`), then a
/// summary line.
pub fn render_report(report: &Report) -> String {
    let mut out = String::new();
    for e in &report.entries {
        let (result, detail) = match &e.outcome {
            Outcome::Ok => ("ok", None),
            Outcome::Skipped(why) => ("skipped", Some(why.as_str())),
            Outcome::Failed(why) => ("FAILED", Some(why.as_str())),
        };
        let version = e.version.map_or_else(|| "-".to_string(), |v| format!("v{v}"));
        let _ = write!(out, "{result:<7} {:<9} {version:>5}  {}", e.action.as_str(), e.name);
        match detail {
            Some(d) if !d.is_empty() => {
                let _ = writeln!(out, ": {d}");
            }
            _ => out.push('\n'),
        }
    }
    let failed = report.failed().count();
    let _ = writeln!(
        out,
        "{}: {} created, {} updated, {} unchanged, {} deleted, {} conflicts, {} extra, {} failed.",
        report.prefix,
        report.count(Action::Create),
        report.count(Action::Update),
        report.count(Action::Unchanged),
        report.count(Action::Delete),
        report.conflicts().count(),
        report.entries.iter().filter(|e| e.action == Action::Extra).count(),
        failed,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parameter::{ParameterSpec, ParameterValue};
    use crate::ssm::push::ReportEntry;
    use crate::ssm::store::{CurrentParameter, ParameterType};

    fn spec(name: &str, value: ParameterValue) -> ParameterSpec {
        let (key, name) = ("K".to_string(), name.to_string());
        ParameterSpec { key, name, value, tier: Tier::Standard, description: None, origin: None }
    }

    #[test]
    fn plan_shows_plain_values_and_masks_secrets_on_either_side() {
        let plan = Plan {
            prefix: "/a/e/".into(),
            items: vec![
                PlanItem {
                    name: "/a/e/HOST".into(),
                    action: Action::Update,
                    desired: Some(spec("/a/e/HOST", ParameterValue::plain("db2"))),
                    current: Some(CurrentParameter::new("/a/e/HOST".into(), ParameterType::String, "db1".into(), 1)),
                    tier: Some(Tier::Standard),
                    note: None,
                },
                PlanItem {
                    name: "/a/e/PW".into(),
                    action: Action::Create,
                    desired: Some(spec("/a/e/PW", ParameterValue::secret("hunter2"))),
                    current: None,
                    tier: Some(Tier::Advanced),
                    note: None,
                },
                PlanItem {
                    // Desired plain, but stored as a secret: neither value is shown.
                    name: "/a/e/TOKEN".into(),
                    action: Action::Update,
                    desired: Some(spec("/a/e/TOKEN", ParameterValue::plain("new-token-value"))),
                    current: Some(CurrentParameter::new(
                        "/a/e/TOKEN".into(),
                        ParameterType::SecureString,
                        "old-token-value".into(),
                        4,
                    )),
                    tier: Some(Tier::Standard),
                    note: Some("type SecureString -> String".into()),
                },
            ],
        };
        let text = render_plan(&plan);
        assert_eq!(
            text,
            "~ update    /a/e/HOST   String        \"db1\" -> \"db2\"\n\
             + create    /a/e/PW     SecureString  = (sensitive value)  tier Advanced\n\
             ~ update    /a/e/TOKEN  String        (sensitive value)  (type SecureString -> String)\n\
             Plan for /a/e/: 1 to create, 2 to update, 0 unchanged, 0 to delete, 0 conflicts, 0 extra.\n"
        );
        assert!(!text.contains("hunter2") && !text.contains("token-value"));
    }

    #[test]
    fn report_lines_and_summary() {
        let report = Report {
            prefix: "/a/e/".into(),
            entries: vec![
                ReportEntry { name: "/a/e/A".into(), action: Action::Create, version: Some(1), outcome: Outcome::Ok },
                ReportEntry {
                    name: "/a/e/B".into(),
                    action: Action::Update,
                    version: None,
                    outcome: Outcome::Failed("ThrottlingException: Rate exceeded (gave up after 8 attempts)".into()),
                },
                ReportEntry {
                    name: "/a/e/C".into(),
                    action: Action::Conflict,
                    version: Some(3),
                    outcome: Outcome::Skipped("changed outside migrate".into()),
                },
            ],
            retries: 9,
            reconciled: 0,
        };
        assert_eq!(
            render_report(&report),
            "ok      create       v1  /a/e/A\n\
             FAILED  update        -  /a/e/B: ThrottlingException: Rate exceeded (gave up after 8 attempts)\n\
             skipped conflict     v3  /a/e/C: changed outside migrate\n\
             /a/e/: 1 created, 0 updated, 0 unchanged, 0 deleted, 1 conflicts, 0 extra, 1 failed.\n"
        );
    }
}
