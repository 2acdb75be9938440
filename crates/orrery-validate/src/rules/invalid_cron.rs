//! `L1302 invalid-cron`: a scheduled workflow's `triggers[].schedule.cron` that CircleCI does
//! not accept.
//!
//! CircleCI takes POSIX crontab syntax with five fields (minute, hour, day of month, month, day
//! of week), in UTC, and refuses some common extensions (CONFIG-SPEC §6.8.2, V113): step values
//! (`*/20`), ranges inside comma lists (`1,3-5`) and ranges of day or month names (`Tue-Sat`).
//! Each field is therefore `*`, one value, one numeric range `a-b`, or a comma list of single
//! values. Month and weekday names (`JAN`, `mon`) are accepted as single values; a weekday of
//! `7` (Sunday in many crons) is accepted. Strings holding `<< >>` templates are not checked.

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::Node;

use crate::model::section;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::INVALID_CRON,
    name: "invalid-cron",
    severity: Severity::Error,
    summary:
        "a scheduled workflow's `cron` is missing or is not five-field cron that CircleCI accepts",
    docs: include_str!("../../docs/rules/L1302.md"),
    check,
};

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: MONTHS,
    },
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: WEEKDAYS,
    },
];

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for workflow in section(cx.root(), "workflows") {
        let Some(triggers) = workflow.value.get("triggers").and_then(Node::as_seq) else {
            continue;
        };
        for trigger in triggers {
            let Some(schedule) = trigger.get("schedule").filter(|s| s.as_map().is_some()) else {
                continue;
            };
            let Some(cron) = schedule.get("cron") else {
                let d = sink
                    .finding(format!(
                        "the schedule of workflow `{}` has no `cron`",
                        workflow.key
                    ))
                    .at(schedule.span, "no `cron` here")
                    .with_help("add `cron: \"0 0 * * *\"` (minute hour day-of-month month day-of-week, UTC)");
                sink.push(d);
                continue;
            };
            check_cron(cx, sink, cron);
        }
    }
}

fn check_cron(cx: &Context<'_>, sink: &mut Sink<'_>, node: &Node) {
    let Some(text) = node.as_str() else {
        let d = sink
            .finding(format!(
                "`cron` must be a string, not a {}",
                node.type_name()
            ))
            .at(node.span, "not a cron string")
            .with_help("quote it: `cron: \"0 0 * * *\"`");
        sink.push(d);
        return;
    };
    if text.contains("<<") {
        return;
    }
    let fields = split_fields(text);
    if fields.len() != 5 {
        let d = sink
            .finding(format!(
                "cron `{text}` has {} field{}; CircleCI needs exactly five (minute hour day-of-month month day-of-week)",
                fields.len(),
                if fields.len() == 1 { "" } else { "s" }
            ))
            .at(node.span, "not five fields")
            .with_help("macros such as `@daily` and a seconds or year field are not supported; `0 0 * * *` is daily at midnight UTC");
        sink.push(d);
        return;
    }
    for ((start, field_text), field) in fields.into_iter().zip(&FIELDS) {
        if let Err(problem) = check_field(field_text, field) {
            let (from, to) = problem.at.map_or((0, field_text.len()), |(a, b)| (a, b));
            let span = cx.sub_span(node, start + from, start + to);
            let mut d = sink
                .finding(format!(
                    "cron `{text}`: {} field `{field_text}`: {}",
                    field.name, problem.message
                ))
                .at(span, problem.label);
            if let Some(help) = problem.help {
                d = d.with_help(help);
            }
            sink.push(d);
        }
    }
}

/// `(byte offset, text)` of each whitespace-separated field.
fn split_fields(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

struct Problem {
    message: String,
    label: &'static str,
    /// Byte range inside the field; `None` for the whole field.
    at: Option<(usize, usize)>,
    help: Option<String>,
}

fn problem(message: impl Into<String>, label: &'static str, at: Option<(usize, usize)>) -> Problem {
    Problem {
        message: message.into(),
        label,
        at,
        help: None,
    }
}

fn check_field(text: &str, field: &Field) -> Result<(), Problem> {
    if text == "*" {
        return Ok(());
    }
    if let Some(slash) = text.find('/') {
        let mut p = problem(
            "step values (`/`) are not supported by CircleCI",
            "step value",
            Some((slash, text.len())),
        );
        p.help =
            step_values(text, field).map(|values| format!("list the values instead: `{values}`"));
        return Err(p);
    }
    let items: Vec<(usize, &str)> = {
        let mut at = 0;
        text.split(',')
            .map(|item| {
                let start = at;
                at += item.len() + 1;
                (start, item)
            })
            .collect()
    };
    let listed = items.len() > 1;
    for (start, item) in items {
        let whole = Some((start, start + item.len()));
        if item.is_empty() {
            return Err(problem("an empty list item", "empty item", whole));
        }
        if item == "*" {
            return Err(problem(
                "`*` cannot be part of a list",
                "`*` in a list",
                whole,
            ));
        }
        if let Some((a, b)) = item.split_once('-') {
            let (Some(low), Some(high)) = (parse_value(a, field), parse_value(b, field)) else {
                let bad = if parse_value(a, field).is_none() {
                    a
                } else {
                    b
                };
                return Err(out_of_range(bad, field, whole));
            };
            let named =
                !a.bytes().all(|b| b.is_ascii_digit()) || !b.bytes().all(|b| b.is_ascii_digit());
            if named {
                let mut p = problem(
                    "ranges of names are not supported by CircleCI",
                    "range of names",
                    whole,
                );
                p.help = (low <= high)
                    .then(|| format!("list the values instead: `{}`", join(low..=high)));
                return Err(p);
            }
            if listed {
                let mut p = problem(
                    "a range inside a comma list is not supported by CircleCI",
                    "range in a list",
                    whole,
                );
                p.help = (low <= high).then(|| {
                    let expanded: Vec<String> = text
                        .split(',')
                        .flat_map(|i| match i.split_once('-') {
                            Some((x, y)) => match (parse_value(x, field), parse_value(y, field)) {
                                (Some(x), Some(y)) => (x..=y).map(|v| v.to_string()).collect(),
                                _ => vec![i.to_string()],
                            },
                            None => vec![i.to_string()],
                        })
                        .collect();
                    format!("list every value instead: `{}`", expanded.join(","))
                });
                return Err(p);
            }
            if low > high {
                return Err(problem(
                    format!("the range `{item}` runs backwards"),
                    "backwards range",
                    whole,
                ));
            }
        } else if parse_value(item, field).is_none() {
            return Err(out_of_range(item, field, whole));
        }
    }
    Ok(())
}

fn out_of_range(value: &str, field: &Field, at: Option<(usize, usize)>) -> Problem {
    let digits_then = |suffix: char| {
        value
            .strip_suffix(suffix)
            .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
    };
    if matches!(value, "?" | "LW") || digits_then('L') || digits_then('W') || value.contains('#') {
        return problem(
            format!("`{value}` is a Quartz extension, not standard cron"),
            "not supported",
            at,
        );
    }
    let names = if field.names.is_empty() {
        String::new()
    } else {
        format!(" or a name such as `{}`", field.names[0].to_uppercase())
    };
    problem(
        format!(
            "`{value}` is not a {} value (expected {}–{}{names})",
            field.name, field.min, field.max
        ),
        "out of range",
        at,
    )
}

/// The number a single value stands for, when it is valid for `field`.
fn parse_value(text: &str, field: &Field) -> Option<u32> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let v: u32 = text.parse().ok()?;
        return (field.min..=field.max).contains(&v).then_some(v);
    }
    let lower = text.to_ascii_lowercase();
    let index = field.names.iter().position(|n| *n == lower)? as u32;
    // Month names count from 1, weekday names from 0.
    Some(if field.min == 1 { index + 1 } else { index })
}

/// `*/15` or `a-b/N` written out as a comma list, for the help text.
fn step_values(text: &str, field: &Field) -> Option<String> {
    let (range, step) = text.split_once('/')?;
    let step: u32 = step.parse().ok().filter(|s| *s > 0)?;
    let (low, high) = match range {
        "*" => (field.min, if field.max == 7 { 6 } else { field.max }),
        r => match r.split_once('-') {
            Some((a, b)) => (parse_value(a, field)?, parse_value(b, field)?),
            None => (parse_value(r, field)?, field.max),
        },
    };
    (low <= high).then(|| join((low..=high).step_by(step as usize)))
}

fn join(values: impl Iterator<Item = u32>) -> String {
    values.map(|v| v.to_string()).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_ok(text: &str, index: usize) -> bool {
        check_field(text, &FIELDS[index]).is_ok()
    }

    #[test]
    fn fields_follow_circleci_cron() {
        assert!(field_ok("*", 0));
        assert!(field_ok("0", 0));
        assert!(field_ok("59", 0));
        assert!(!field_ok("60", 0));
        assert!(field_ok("1,15,30", 0));
        assert!(!field_ok("*/15", 0));
        assert!(!field_ok("1,3-5", 4));
        assert!(field_ok("1-5", 4));
        assert!(!field_ok("5-1", 4));
        assert!(!field_ok("Tue-Sat", 4));
        assert!(field_ok("MON", 4));
        assert!(field_ok("jan,jul", 3));
        assert!(!field_ok("0", 2));
        assert!(!field_ok("L", 2));
        assert!(!field_ok("?", 4));
        assert!(!field_ok("1,,2", 0));
    }

    #[test]
    fn help_writes_out_steps_and_ranges() {
        let p = check_field("*/20", &FIELDS[0]).unwrap_err();
        assert_eq!(
            p.help.as_deref(),
            Some("list the values instead: `0,20,40`")
        );
        let p = check_field("1,3-5", &FIELDS[4]).unwrap_err();
        assert_eq!(
            p.help.as_deref(),
            Some("list every value instead: `1,3,4,5`")
        );
        let p = check_field("Tue-Thu", &FIELDS[4]).unwrap_err();
        assert_eq!(p.help.as_deref(), Some("list the values instead: `2,3,4`"));
    }
}
