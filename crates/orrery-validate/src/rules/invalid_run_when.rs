//! `L1704 invalid-run-when`: a step's `when` attribute that is not `on_success`, `on_fail` or
//! `always` (directly, or through a `<< parameters.x >>` whose declaration allows other
//! values).

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::{Node, Value};

use crate::model::{all_steps, owner_of, parameter, step_owners, whole_tag, Step};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::INVALID_RUN_WHEN,
    name: "invalid-run-when",
    severity: Severity::Error,
    summary: "a step's `when` is not `on_success`, `on_fail` or `always`",
    docs: include_str!("../../docs/rules/L1704.md"),
    check,
};

const WHENS: &[&str] = &["on_success", "on_fail", "always"];

/// Steps whose map form takes the `when` attribute. (`when` steps are another thing.)
const TAKES_WHEN: &[&str] = &[
    "run",
    "deploy",
    "save_cache",
    "restore_cache",
    "store_artifacts",
    "store_test_results",
    "persist_to_workspace",
    "attach_workspace",
];

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    let owners = step_owners(root);
    for step in all_steps(root) {
        let Some(Step {
            name,
            args: Some(args),
            ..
        }) = Step::of(step)
        else {
            continue;
        };
        if !TAKES_WHEN.contains(&name) {
            continue;
        }
        let Some(when) = args.get("when") else {
            continue;
        };
        let text = when.value.scalar_text().unwrap_or_default();
        if WHENS.contains(&text.as_str()) {
            continue;
        }
        if let Some(body) = whole_tag(&text) {
            if let Some(problem) = parameter_problem(owner_of(&owners, step), &body) {
                let d = sink
                    .finding(format!("invalid `when` on a `{name}` step: {problem}"))
                    .at(when.span, "not a step `when`")
                    .with_help("a step's `when` is one of `on_success`, `on_fail`, `always`; declare the parameter as `type: enum` with those values");
                sink.push(d);
            }
            continue;
        }
        if text.contains("<<") || matches!(when.value, Value::Seq(_) | Value::Map(_)) {
            // Other templates and non-scalars: the compiler and the schema check them.
            continue;
        }
        let d = sink
            .finding(format!(
                "invalid `when` on a `{name}` step: expected `on_success`, `on_fail` or `always`, got `{text}`"
            ))
            .at(when.span, "not a step `when`")
            .with_help("`on_success` (the default) runs the step when all before it passed, `on_fail` when one failed, `always` in both cases; conditions are `when` *steps*: `- when: {condition: …, steps: […]}`");
        sink.push(d);
    }
}

/// What is wrong with `when: << parameters.p >>`, given the definition holding the step.
fn parameter_problem(owner: Option<&Node>, body: &str) -> Option<String> {
    let name = body.strip_prefix("parameters.")?;
    let decl = parameter(owner?, name)?;
    let kind = decl.get("type").and_then(Node::as_str)?;
    match kind {
        "string" => {
            let default = decl.get("default")?.as_str()?;
            (!WHENS.contains(&default))
                .then(|| format!("the default of parameter `{name}` is `{default}`"))
        }
        "enum" => {
            let values = decl.get("enum")?.as_seq()?;
            let bad: Vec<String> = values
                .iter()
                .filter_map(|v| v.value.scalar_text())
                .filter(|v| !WHENS.contains(&v.as_str()))
                .collect();
            (!bad.is_empty()).then(|| format!("parameter `{name}` allows `{}`", bad.join("`, `")))
        }
        other => Some(format!(
            "parameter `{name}` is of type {other}, not a string"
        )),
    }
}
