//! `L1718 multiple-executor-types`: a job or executor that names more than one executor type.

use orrery_diagnostics::{codes, Severity};

use crate::model::definitions;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::MULTIPLE_EXECUTOR_TYPES,
    name: "multiple-executor-types",
    severity: Severity::Error,
    summary: "a job or executor names more than one of `docker`, `machine` and `macos`",
    docs: include_str!("../../docs/rules/L1718.md"),
    check,
};

const TYPES: [&str; 3] = ["docker", "machine", "macos"];

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    let holders = definitions(root, "jobs")
        .into_iter()
        .chain(definitions(root, "executors"));
    for holder in holders {
        let Some(map) = holder.value.as_map() else {
            continue;
        };
        let named: Vec<_> = map
            .entries()
            .iter()
            .filter(|e| TYPES.contains(&e.key.as_str()))
            .collect();
        let [first, rest @ ..] = named.as_slice() else {
            continue;
        };
        for other in rest {
            let d = sink
                .finding(format!(
                    "`{}` names two executor types: `{}` and `{}`",
                    holder.key, first.key, other.key
                ))
                .at(other.key_span, "a second executor type")
                .also(first.key_span, "the first")
                .with_help("a job runs in one executor: keep one of them");
            sink.push(d);
        }
    }
}
