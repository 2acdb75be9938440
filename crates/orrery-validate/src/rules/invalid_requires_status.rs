//! `L1802 invalid-requires-status`: a `requires` status that CircleCI does not know, or
//! `terminal` inside a list.

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::{Node, Value};

use super::requires_all_terminal_statuses::TERMINAL;
use crate::model::required_statuses;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::INVALID_REQUIRES_STATUS,
    name: "invalid-requires-status",
    severity: Severity::Error,
    summary: "a `requires` status is not `success`, `failed`, `canceled`, `not_run`, `unauthorized` or `terminal`",
    docs: include_str!("../../docs/rules/L1802.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for required in required_statuses(cx.root()) {
        match &required.value.value {
            Value::Seq(items) => {
                for status in items {
                    check_status(sink, &required.key, status, true);
                }
            }
            _ => check_status(sink, &required.key, &required.value, false),
        }
    }
}

fn check_status(sink: &mut Sink<'_>, job: &str, status: &Node, in_list: bool) {
    let Some(text) = status.value.scalar_text() else {
        return;
    };
    if text.contains("<<") || TERMINAL.contains(&text.as_str()) {
        return;
    }
    let d = if text == "terminal" {
        if !in_list {
            return;
        }
        sink.finding(format!(
            "`terminal` cannot be part of a status list (required of `{job}`)"
        ))
        .at(status.span, "`terminal` inside a list")
        .with_help(
            "write `terminal` alone (`- {job}: terminal`): it already includes every other status",
        )
    } else {
        sink.finding(format!("`{text}` is not a job status (required of `{job}`)"))
            .at(status.span, "unknown status")
            .with_help("use `success`, `failed`, `canceled`, `not_run`, `unauthorized`, or `terminal` for any of them")
    };
    sink.push(d);
}
