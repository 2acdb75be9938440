//! `L1803 env-var-in-condition`: an environment variable (`$NAME`, `${NAME}`) in a workflow
//! `when`/`unless`, a `when` step's `condition` or `filters`, which are decided when the config
//! is compiled, before any environment exists.

use orrery_diagnostics::{codes, Severity};

use crate::model::{conditions, walk};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::ENV_VAR_IN_CONDITION,
    name: "env-var-in-condition",
    severity: Severity::Warning,
    summary: "an environment variable in a condition or filter, where it is never expanded",
    docs: include_str!("../../docs/rules/L1803.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for condition in conditions(cx.root()) {
        walk(condition.node, &mut |_, n| {
            let Some(s) = n.as_str() else { return };
            let Some((start, end)) = env_reference(s) else {
                return;
            };
            let name = &s[start..end];
            let d = sink
                .finding(format!(
                    "`{name}` in `{}` is not an environment variable there: conditions and filters are decided before the job's environment exists",
                    condition.key
                ))
                .at(cx.sub_span(n, start, end), "compared as literal text")
                .with_help("use a pipeline value (`<< pipeline.git.branch >>`) or a pipeline parameter (`<< pipeline.parameters.x >>`)");
            sink.push(d);
        });
    }
}

/// The byte range of the first `$NAME` or `${NAME}` in `s`. A `$` that ends a regex (`/^v1$/`)
/// or precedes anything but a name is not one.
fn env_reference(s: &str) -> Option<(usize, usize)> {
    let bytes = s.as_bytes();
    let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    for (i, _) in s.match_indices('$') {
        let rest = &bytes[i + 1..];
        if rest.first() == Some(&b'{') {
            let len = rest[1..].iter().take_while(|b| is_name(**b)).count();
            if len > 0 && rest.get(1 + len) == Some(&b'}') && !rest[1].is_ascii_digit() {
                return Some((i, i + 3 + len));
            }
        } else if rest
            .first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        {
            let len = rest.iter().take_while(|b| is_name(**b)).count();
            return Some((i, i + 1 + len));
        }
    }
    None
}
