//! `L1002 unused-command`: a command under `commands:` that no step list invokes.

use std::collections::HashSet;

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::{Node, Value};

use crate::model::{section, walk};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::UNUSED_COMMAND,
    name: "unused-command",
    severity: Severity::Warning,
    summary: "a command is defined but no step invokes it",
    docs: include_str!("../../docs/rules/L1002.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    let commands = section(root, "commands");
    if commands.is_empty() {
        return;
    }
    // Every list item that looks like a step (`- name` or `- name: {…}`) anywhere in the
    // config: job steps, command steps, pre/post-steps, steps arguments and defaults. This
    // over-approximates "used", so the rule never fires on a used command.
    let mut steps: HashSet<&str> = HashSet::new();
    walk(root, &mut |_, n: &Node| {
        for item in n.as_seq().unwrap_or(&[]) {
            match &item.value {
                Value::Str(s) => {
                    steps.insert(s.as_str());
                }
                Value::Map(m) => {
                    steps.extend(m.keys());
                }
                _ => {}
            }
        }
    });
    for command in commands {
        if steps.contains(command.key.as_str()) {
            continue;
        }
        let d = sink
            .finding(format!("command `{}` is never used", command.key))
            .at(command.key_span, "no step invokes this command")
            .with_help("invoke it as a step, or delete it");
        sink.push(d);
    }
}
