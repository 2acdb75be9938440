//! `version: 2` configs are already in compiled form: they pass through after a check of the
//! step types, as the official 2.0 validation does.

use orrery_diagnostics::{codes, Diagnostic};
use orrery_yaml::{Node, Value};

use crate::context::Ctx;
use crate::steps::BUILT_IN;

pub(crate) fn check(ctx: &mut Ctx<'_>, root: &Node) -> bool {
    let mut ok = true;
    let Some(jobs) = root.get("jobs").and_then(Node::as_map) else {
        return true;
    };
    for (job_name, job) in jobs.iter() {
        let Some(steps) = job.get("steps").and_then(Node::as_seq) else {
            continue;
        };
        for (i, step) in steps.iter().enumerate() {
            let (name, span) = match &step.value {
                Value::Str(s) => (s.as_str(), step.span),
                Value::Map(m) if m.len() == 1 => {
                    (m.entries()[0].key.as_str(), m.entries()[0].key_span)
                }
                _ => continue,
            };
            if !BUILT_IN.contains(&name) {
                ok = false;
                ctx.report(
                    Diagnostic::error(codes::UNKNOWN_COMMAND, format!("In step {} definition: step type \"{name}\" is not a valid type", i + 1))
                        .at(span, "not a built-in step")
                        .with_help(format!("job `{job_name}` is in a version 2 config, where commands and orbs do not exist; use `version: 2.1`")),
                );
            }
        }
    }
    ok
}
