//! `L1709 cache-key-too-long`: a cache key whose literal text alone exceeds CircleCI's limit of
//! 900 characters.

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::Node;

use crate::model::{all_steps, Step};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::CACHE_KEY_TOO_LONG,
    name: "cache-key-too-long",
    severity: Severity::Warning,
    summary: "a cache key is longer than 900 characters",
    docs: include_str!("../../docs/rules/L1709.md"),
    check,
};

const LIMIT: usize = 900;

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for step in all_steps(cx.root()) {
        let Some(Step {
            name: name @ ("save_cache" | "restore_cache"),
            args: Some(args),
            ..
        }) = Step::of(step)
        else {
            continue;
        };
        let mut keys: Vec<&Node> = args.get("key").into_iter().collect();
        keys.extend(args.get("keys").and_then(Node::as_seq).unwrap_or(&[]));
        for key in keys {
            let Some(s) = key.as_str() else { continue };
            let literal = literal_len(s);
            if literal <= LIMIT {
                continue;
            }
            let d = sink
                .finding(format!(
                    "`{name}` key is at least {literal} characters long; CircleCI allows {LIMIT}"
                ))
                .at(key.span, "too long")
                .with_help(
                    "shorten the key: use `{{ checksum \"file\" }}` instead of listing contents",
                );
            sink.push(d);
        }
    }
}

/// The characters of `s` outside `{{ … }}` and `<< … >>`, which are known before the key is
/// computed (what the templates produce can only add to them).
fn literal_len(s: &str) -> usize {
    let mut len = 0;
    let mut rest = s;
    loop {
        let next = [("{{", "}}"), ("<<", ">>")]
            .iter()
            .filter_map(|(open, close)| rest.find(open).map(|i| (i, *open, *close)))
            .min_by_key(|(i, _, _)| *i);
        let Some((i, open, close)) = next else {
            return len + rest.chars().count();
        };
        len += rest[..i].chars().count();
        let after = &rest[i + open.len()..];
        match after.find(close) {
            Some(j) => rest = &after[j + close.len()..],
            None => return len,
        }
    }
}
