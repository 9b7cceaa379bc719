//! Ansible `cron` fields → EventBridge `cron()` expressions.
//!
//! EventBridge has six fields (minutes hours day-of-month month day-of-week year)
//! and wants exactly one of day-of-month / day-of-week to be `?`; its weekdays are
//! 1-7 or SUN-SAT with 1 = Sunday, where cron's are 0-7 with 0 and 7 = Sunday.
//! Cron runs a job when *either* a restricted day-of-month or a restricted weekday
//! matches; EventBridge cannot say that, so such an entry is refused, as is
//! `@reboot`, which has no schedule at all.

use std::collections::BTreeSet;

use crate::spec::image::CronSchedule;

const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTH_NAMES: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

/// The `cron(...)` expression of a cron entry, or why there is none.
pub fn to_eventbridge(schedule: &CronSchedule) -> Result<String, String> {
    if let Some(special) = &schedule.special_time {
        let fields = match special.trim().to_ascii_lowercase().as_str() {
            "hourly" => "0 * * * ? *",
            "daily" | "midnight" => "0 0 * * ? *",
            "weekly" => "0 0 ? * SUN *",
            "monthly" => "0 0 1 * ? *",
            "yearly" | "annually" => "0 0 1 1 ? *",
            "reboot" => {
                return Err("`special_time: reboot` runs at boot; a scheduled task has no boot: start it from the \
                            service's entrypoint instead"
                    .into());
            }
            other => return Err(format!("unknown `special_time: {other}`")),
        };
        return Ok(format!("cron({fields})"));
    }
    let minute = plain_field(&schedule.minute, "minute", 0, 59, 0, &[])?;
    let hour = plain_field(&schedule.hour, "hour", 0, 23, 0, &[])?;
    let day = plain_field(&schedule.day, "day", 1, 31, 1, &[])?;
    let month = plain_field(&schedule.month, "month", 1, 12, 1, &MONTH_NAMES)?;
    let weekdays = weekday_set(&schedule.weekday)?;
    let (day, weekday) = match (day.as_str(), weekdays) {
        (_, None) => (day, "?".to_string()),
        ("*", Some(days)) => ("?".to_string(), weekday_field(&days)),
        (_, Some(_)) => {
            return Err(format!(
                "day `{}` and weekday `{}` are both set: cron runs when either matches, EventBridge cannot say \
                 that; split the entry in two",
                schedule.day.trim(),
                schedule.weekday.trim()
            ));
        }
    };
    Ok(format!("cron({minute} {hour} {day} {month} {weekday} *)"))
}

/// A minute/hour/day/month field, checked and with `*/n` written as `first/n`
/// (the form the EventBridge documentation uses).
fn plain_field(raw: &str, what: &str, low: u32, high: u32, first: u32, names: &[&str]) -> Result<String, String> {
    let text = raw.trim();
    let text = if text.is_empty() { "*" } else { text };
    if text == "*" {
        return Ok("*".into());
    }
    let bad = |why: &str| format!("{what} `{text}` {why}");
    let mut parts = Vec::new();
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (part, None),
        };
        if let Some(s) = step {
            match s.parse::<u32>() {
                Ok(n) if n >= 1 && n <= high => {}
                _ => return Err(bad("has a step that is not a number in range")),
            }
        }
        let range = if range == "*" {
            if step.is_none() {
                return Err(bad("mixes `*` with a list"));
            }
            first.to_string()
        } else {
            for bound in range.split('-') {
                let ok = match bound.parse::<u32>() {
                    Ok(n) => (low..=high).contains(&n),
                    Err(_) => names.iter().any(|n| n.eq_ignore_ascii_case(bound)),
                };
                if !ok || range.split('-').count() > 2 {
                    return Err(bad(&format!("is not a value or range within {low}-{high}")));
                }
            }
            range.to_ascii_uppercase()
        };
        parts.push(match step {
            Some(s) => format!("{range}/{s}"),
            None => range,
        });
    }
    Ok(parts.join(","))
}

/// The weekdays (0 = Sunday .. 6) a cron weekday field selects; `None` for every day.
fn weekday_set(raw: &str) -> Result<Option<BTreeSet<u32>>, String> {
    let text = raw.trim();
    if text.is_empty() || text == "*" || text == "?" {
        return Ok(None);
    }
    let bad = || format!("weekday `{text}` is not a cron weekday (0-7, SUN-SAT, lists, ranges, steps)");
    let day = |s: &str| -> Result<u32, String> {
        if let Ok(n) = s.parse::<u32>() {
            return if n <= 7 { Ok(n) } else { Err(bad()) };
        }
        DAY_NAMES.iter().position(|d| d.eq_ignore_ascii_case(s)).map(|i| i as u32).ok_or_else(bad)
    };
    let mut days = BTreeSet::new();
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(bad)?),
            None => (part, 1),
        };
        let (start, end) = match range {
            "*" => (0, 6),
            r => match r.split_once('-') {
                Some((a, b)) => (day(a)?, day(b)?),
                None if step > 1 => (day(r)?, 7),
                None => (day(r)?, day(r)?),
            },
        };
        if start > end {
            return Err(bad());
        }
        for d in (start..=end).step_by(step as usize) {
            days.insert(d % 7);
        }
    }
    Ok(if days.len() == 7 { None } else { Some(days) })
}

/// EventBridge day-of-week text for a set of weekdays: names, runs as ranges.
fn weekday_field(days: &BTreeSet<u32>) -> String {
    let days: Vec<u32> = days.iter().copied().collect();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let mut j = i;
        while j + 1 < days.len() && days[j + 1] == days[j] + 1 {
            j += 1;
        }
        let name = |d: u32| DAY_NAMES[d as usize];
        parts.push(match j - i {
            0 => name(days[i]).to_string(),
            1 => format!("{},{}", name(days[i]), name(days[j])),
            _ => format!("{}-{}", name(days[i]), name(days[j])),
        });
        i = j + 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cron(minute: &str, hour: &str, day: &str, month: &str, weekday: &str) -> CronSchedule {
        CronSchedule {
            minute: minute.into(),
            hour: hour.into(),
            day: day.into(),
            month: month.into(),
            weekday: weekday.into(),
            special_time: None,
        }
    }

    fn special(s: &str) -> CronSchedule {
        CronSchedule { special_time: Some(s.into()), ..cron("*", "*", "*", "*", "*") }
    }

    /// The conversion table: Ansible fields → EventBridge expression.
    #[test]
    fn conversion_table() {
        for ((m, h, d, mo, wd), expected) in [
            (("0", "3", "*", "*", "*"), "cron(0 3 * * ? *)"),
            (("*", "*", "*", "*", "*"), "cron(* * * * ? *)"),
            (("*/15", "*", "*", "*", "*"), "cron(0/15 * * * ? *)"),
            (("30", "*/2", "*", "*", "*"), "cron(30 0/2 * * ? *)"),
            (("0", "0", "1", "*", "*"), "cron(0 0 1 * ? *)"),
            (("0", "0", "*/2", "*", "*"), "cron(0 0 1/2 * ? *)"),
            (("0", "6", "1,15", "jan", "*"), "cron(0 6 1,15 JAN ? *)"),
            (("0", "3", "*", "*", "0"), "cron(0 3 ? * SUN *)"),
            (("0", "3", "*", "*", "7"), "cron(0 3 ? * SUN *)"),
            (("0", "3", "*", "*", "1"), "cron(0 3 ? * MON *)"),
            (("0", "3", "*", "*", "6"), "cron(0 3 ? * SAT *)"),
            (("0", "8", "*", "*", "1-5"), "cron(0 8 ? * MON-FRI *)"),
            (("0", "8", "*", "*", "mon-fri"), "cron(0 8 ? * MON-FRI *)"),
            (("0", "8", "*", "*", "5-7"), "cron(0 8 ? * SUN,FRI,SAT *)"),
            (("0", "8", "*", "*", "0,6"), "cron(0 8 ? * SUN,SAT *)"),
            (("0", "8", "*", "*", "*/2"), "cron(0 8 ? * SUN,TUE,THU,SAT *)"),
            (("0", "8", "*", "*", "0-7"), "cron(0 8 * * ? *)"),
            (("0", "8", "*", "*", "1,2,3"), "cron(0 8 ? * MON-WED *)"),
            (("5", "4", "*", "2-3", "*"), "cron(5 4 * 2-3 ? *)"),
            (("", "", "", "", ""), "cron(* * * * ? *)"),
        ] {
            assert_eq!(to_eventbridge(&cron(m, h, d, mo, wd)).unwrap(), expected, "{m} {h} {d} {mo} {wd}");
        }
        for (s, expected) in [
            ("hourly", "cron(0 * * * ? *)"),
            ("daily", "cron(0 0 * * ? *)"),
            ("weekly", "cron(0 0 ? * SUN *)"),
            ("monthly", "cron(0 0 1 * ? *)"),
            ("yearly", "cron(0 0 1 1 ? *)"),
            ("annually", "cron(0 0 1 1 ? *)"),
        ] {
            assert_eq!(to_eventbridge(&special(s)).unwrap(), expected, "{s}");
        }
    }

    #[test]
    fn entries_without_an_equivalent_are_refused() {
        assert!(to_eventbridge(&special("reboot")).unwrap_err().contains("boot"));
        assert!(to_eventbridge(&special("fortnightly")).unwrap_err().contains("unknown"));
        assert!(to_eventbridge(&cron("0", "0", "1", "*", "1")).unwrap_err().contains("either matches"));
        assert!(to_eventbridge(&cron("60", "0", "*", "*", "*")).unwrap_err().contains("minute"));
        assert!(to_eventbridge(&cron("0", "24", "*", "*", "*")).unwrap_err().contains("hour"));
        assert!(to_eventbridge(&cron("0", "0", "0", "*", "*")).unwrap_err().contains("day"));
        assert!(to_eventbridge(&cron("0", "0", "*", "13", "*")).unwrap_err().contains("month"));
        assert!(to_eventbridge(&cron("0", "0", "*", "*", "8")).unwrap_err().contains("weekday"));
        assert!(to_eventbridge(&cron("0", "0", "*", "*", "fri-mon")).unwrap_err().contains("weekday"));
        assert!(to_eventbridge(&cron("@daily", "0", "*", "*", "*")).is_err());
        assert!(to_eventbridge(&cron("*/0", "0", "*", "*", "*")).is_err());
    }
}
