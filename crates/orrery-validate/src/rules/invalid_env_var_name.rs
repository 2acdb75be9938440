//! `L1711 invalid-env-var-name`: a key of an `environment` map that is not a valid environment
//! variable name (letters, digits and `_`, not starting with a digit).

use orrery_diagnostics::{codes, Severity};

use crate::model::walk;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::INVALID_ENV_VAR_NAME,
    name: "invalid-env-var-name",
    severity: Severity::Warning,
    summary: "an `environment` key is not a valid environment variable name",
    docs: include_str!("../../docs/rules/L1711.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    walk(cx.root(), &mut |entry, n| {
        if entry.is_none_or(|e| e.key != "environment") {
            return;
        }
        let Some(map) = n.as_map() else { return };
        for var in map.entries() {
            if var.key.contains("<<") || valid(&var.key) {
                continue;
            }
            let d = sink
                .finding(format!("`{}` is not a valid environment variable name", var.key))
                .at(var.key_span, "invalid name")
                .with_help("use letters, digits and `_`, not starting with a digit (`MY_VAR`); shells cannot read other names as `$NAME`");
            sink.push(d);
        }
    });
}

/// `^[A-Za-z_][A-Za-z0-9_]*$`
fn valid(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
