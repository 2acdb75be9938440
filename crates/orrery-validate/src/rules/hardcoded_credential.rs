//! `L1201 hardcoded-credential`: a secret written into the config: a value in `environment`
//! that looks like a token or key, or a literal `auth.password` / `aws_secret_access_key`.

use std::sync::LazyLock;

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::Node;
use regex::Regex;

use crate::model::{is_dynamic, walk};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::HARDCODED_CREDENTIAL,
    name: "hardcoded-credential",
    severity: Severity::Warning,
    summary: "a credential is written into the config instead of a project variable or context",
    docs: include_str!("../../docs/rules/L1201.md"),
    check,
};

/// `(what, pattern)`: well-known token shapes; specific enough to have no false positives in
/// ordinary configuration values.
static PATTERNS: LazyLock<Vec<(&str, Regex)>> = LazyLock::new(|| {
    [
        ("an AWS access key ID", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
        (
            "a GitHub token",
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b",
        ),
        ("a GitLab token", r"\bglpat-[A-Za-z0-9_-]{20,}"),
        ("a Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
        ("an npm token", r"\bnpm_[A-Za-z0-9]{36}\b"),
        ("a Stripe secret key", r"\b[sr]k_live_[A-Za-z0-9]{20,}"),
        ("a private key", r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"),
    ]
    .into_iter()
    .filter_map(|(what, p)| Some((what, Regex::new(p).ok()?)))
    .collect()
});

/// Keys whose value is always a secret, under the map key that holds them.
const SECRET_FIELDS: &[(&str, &str)] =
    &[("auth", "password"), ("aws_auth", "aws_secret_access_key")];

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    walk(cx.root(), &mut |entry, n| {
        let Some(entry) = entry else { return };
        if entry.key == "environment" {
            for (var, value, offset) in variables(n) {
                let Some(text) = value.as_str() else { continue };
                for (what, re) in PATTERNS.iter() {
                    if let Some(m) = re.find(&text[offset..]) {
                        let (start, end) = (offset + m.start(), offset + m.end());
                        report(cx, sink, value, start, end, var, what);
                        break;
                    }
                }
            }
        }
        let Some(map) = n.as_map() else { return };
        for (holder, field) in SECRET_FIELDS {
            if entry.key != *holder {
                continue;
            }
            let Some(value) = map.get(field) else {
                continue;
            };
            let Some(s) = value.as_str() else { continue };
            if s.is_empty() || is_dynamic(s) {
                continue;
            }
            let d = sink
                .finding(format!("`{holder}.{field}` is a literal"))
                .at(value.span, "a secret written in the config")
                .with_help(format!(
                    "store it in a project environment variable or a context and write `{field}: $VARIABLE`; rotate the exposed secret"
                ));
            sink.push(d);
        }
    });
}

/// `(name, node holding the value, where the value starts in the node's string)` of each
/// variable of an `environment` value: a map, a list of `KEY=VALUE` strings, or a list of
/// one-entry maps.
fn variables(env: &Node) -> Vec<(&str, &Node, usize)> {
    let mut out = Vec::new();
    if let Some(map) = env.as_map() {
        out.extend(map.entries().iter().map(|e| (e.key.as_str(), &e.value, 0)));
    }
    for item in env.as_seq().unwrap_or(&[]) {
        if let Some(s) = item.as_str() {
            if let Some((name, _)) = s.split_once('=') {
                out.push((name, item, name.len() + 1));
            }
        } else if let Some(map) = item.as_map() {
            out.extend(map.entries().iter().map(|e| (e.key.as_str(), &e.value, 0)));
        }
    }
    out
}

fn report(
    cx: &Context<'_>,
    sink: &mut Sink<'_>,
    node: &Node,
    start: usize,
    end: usize,
    var: &str,
    what: &str,
) {
    let d = sink
        .finding(format!("environment variable `{var}` holds {what}"))
        .at(cx.sub_span(node, start, end), format!("looks like {what}"))
        .with_help(
            "store it in a project environment variable or a context instead, and rotate the exposed credential",
        );
    sink.push(d);
}
