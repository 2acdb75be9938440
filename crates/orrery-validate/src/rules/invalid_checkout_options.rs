//! `L1706 invalid-checkout-options`: a `checkout` step with an unknown `method`, or a `depth`
//! that is not a positive integer or is given without `method: shallow`.

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::{Node, Value};

use crate::model::{all_steps, Step};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::INVALID_CHECKOUT_OPTIONS,
    name: "invalid-checkout-options",
    severity: Severity::Error,
    summary: "a `checkout` step's `method` or `depth` is invalid",
    docs: include_str!("../../docs/rules/L1706.md"),
    check,
};

const METHODS: &[&str] = &["blobless", "full", "shallow"];

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for step in all_steps(cx.root()) {
        let Some(Step {
            name: "checkout",
            args: Some(args),
            ..
        }) = Step::of(step)
        else {
            continue;
        };
        let method = args.get("method");
        let method_text = method.and_then(|m| m.value.scalar_text());
        if let (Some(node), Some(text)) = (method, &method_text) {
            if !METHODS.contains(&text.as_str()) && !text.contains("<<") {
                let d = sink
                    .finding(format!("checkout method `{text}` is invalid"))
                    .at(node.span, "unknown method")
                    .with_help("use `blobless` (the default, a partial clone), `full`, or `shallow` with a `depth`");
                sink.push(d);
            }
        }
        let Some(depth) = args.get("depth") else {
            continue;
        };
        if is_template(depth) {
            continue;
        }
        match method_text.as_deref() {
            Some("shallow") => {}
            Some(m) if m.contains("<<") => {}
            _ => {
                let d = sink
                    .finding("checkout `depth` only applies with `method: shallow`")
                    .at(depth.span, "ignored without a shallow clone")
                    .with_help("add `method: shallow`, or delete `depth`");
                sink.push(d);
                continue;
            }
        }
        let problem = match &depth.value {
            Value::Int(n) if *n > 0 => continue,
            Value::Int(_) => "checkout depth must be a positive integer for a shallow clone",
            Value::BigInt(n) if n.sign() == orrery_yaml::Sign::Minus => {
                "checkout depth must be a positive integer for a shallow clone"
            }
            Value::BigInt(_) => "checkout depth is too large for git",
            _ => "checkout depth is not an integer",
        };
        let d = sink
            .finding(problem)
            .at(depth.span, "invalid depth")
            .with_help("give the number of commits to fetch, such as `depth: 1`");
        sink.push(d);
    }
}

fn is_template(n: &Node) -> bool {
    n.as_str().is_some_and(|s| s.contains("<<"))
}
