//! `L1603 deploy-step`: the deprecated `deploy` step, which is now a plain `run`.

use orrery_diagnostics::{codes, Applicability, Fix, Severity};

use crate::model::{all_steps, definitions, Step};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::DEPLOY_STEP,
    name: "deploy-step",
    severity: Severity::Warning,
    summary: "a `deploy` step, deprecated in favour of `run`",
    docs: include_str!("../../docs/rules/L1603.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    // A command named `deploy` shadows the built-in step.
    if definitions(cx.root(), "commands")
        .iter()
        .any(|c| c.key == "deploy")
    {
        return;
    }
    for step in all_steps(cx.root()) {
        let Some(Step {
            name: "deploy",
            name_span,
            args,
        }) = Step::of(step)
        else {
            continue;
        };
        // A bare `- deploy` is a command invocation, not the built-in step.
        if args.is_none() {
            continue;
        }
        let mut d = sink
            .finding("the `deploy` step is deprecated; use `run`")
            .at(name_span, "deprecated step")
            .with_help(
                "rename it to `run`; in a job with `parallelism` above 1, `deploy` ran on one node only, so move it to a job of its own",
            );
        if cx
            .input
            .text
            .get(name_span.start as usize..name_span.end as usize)
            == Some("deploy")
        {
            d = d.with_fix(
                Fix::replace("rename to `run`", name_span, "run")
                    .with_applicability(Applicability::Unsafe),
            );
        }
        sink.push(d);
    }
}
