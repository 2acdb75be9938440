//! `L1801 requires-all-terminal-statuses`: a `requires` status list that names every terminal
//! status, which `terminal` says in one word.

use std::collections::HashSet;

use orrery_diagnostics::{codes, Fix, Severity};
use orrery_yaml::Node;

use crate::model::required_statuses;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::REQUIRES_ALL_TERMINAL_STATUSES,
    name: "requires-all-terminal-statuses",
    severity: Severity::Note,
    summary: "a `requires` status list names all five terminal statuses; `terminal` says the same",
    docs: include_str!("../../docs/rules/L1801.md"),
    check,
};

pub(crate) const TERMINAL: &[&str] = &["success", "failed", "canceled", "not_run", "unauthorized"];

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for required in required_statuses(cx.root()) {
        let Some(statuses) = required.value.as_seq() else {
            continue;
        };
        let named: HashSet<&str> = statuses.iter().filter_map(Node::as_str).collect();
        if statuses.len() != named.len() || !TERMINAL.iter().all(|t| named.contains(t)) {
            continue;
        }
        let d = sink
            .finding(format!(
                "the statuses required of `{}` are all the terminal ones; write `terminal`",
                required.key
            ))
            .at(required.value.span, "every terminal status")
            .with_help("`terminal` means the job finished in any way")
            .with_fix(Fix::replace(
                "replace with `terminal`",
                required.value.span,
                "terminal",
            ));
        sink.push(d);
    }
}
