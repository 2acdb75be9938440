//! `L1804 template-in-condition-expression`: a condition string that mixes a `<< >>` template
//! with other text (`pipeline.git.branch == "<< pipeline.parameters.b >>"`). A string with a
//! template is substituted and then read as a literal, not as an expression: any non-empty
//! result is true, so the condition always holds.

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::{Node, Value};

use crate::model::{conditions, whole_tag};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::TEMPLATE_IN_CONDITION_EXPRESSION,
    name: "template-in-condition-expression",
    severity: Severity::Warning,
    summary: "a condition string mixes `<< >>` with other text, which makes it always true",
    docs: include_str!("../../docs/rules/L1804.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for condition in conditions(cx.root()) {
        visit(sink, condition.node, condition.key);
    }
}

/// Checks a condition and the conditions inside its `and`/`or`/`not` (not the values
/// `equal`/`matches` compare, which may mix text and templates freely).
fn visit(sink: &mut Sink<'_>, node: &Node, key: &str) {
    match &node.value {
        Value::Str(s) => {
            if !s.contains("<<") || whole_tag(s).is_some() {
                return;
            }
            let d = sink
                .finding(format!(
                    "this `{key}` mixes a `<< >>` template with other text, so it is a literal string and always true"
                ))
                .at(node.span, "always true once substituted")
                .with_help("write the whole condition as an expression without `<< >>` (`pipeline.parameters.x == \"a\"`), or use a logic statement: `equal: [a, << pipeline.parameters.x >>]`");
            sink.push(d);
        }
        Value::Map(m) => {
            for e in m.entries() {
                match e.key.as_str() {
                    "and" | "or" => {
                        for item in e.value.as_seq().unwrap_or(&[]) {
                            visit(sink, item, key);
                        }
                    }
                    "not" => visit(sink, &e.value, key),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}
