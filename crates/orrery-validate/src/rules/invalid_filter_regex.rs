//! `L1301 invalid-filter-regex`: a `/…/` branch or tag filter that is not a valid regular
//! expression.
//!
//! CircleCI matches filter regexes with Java's `java.util.regex`, against the whole branch or
//! tag name. The check parses with `regex-syntax` and reports only errors that Java's syntax
//! shares (unbalanced groups and classes, a repetition of nothing, bad counts and ranges, a
//! trailing backslash); constructs that only Rust refuses (look-around, backreferences,
//! possessive quantifiers, Java escapes and classes) are accepted.

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::Node;
use regex_syntax::ast::{parse::Parser, ErrorKind};

use crate::model::walk;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::INVALID_FILTER_REGEX,
    name: "invalid-filter-regex",
    severity: Severity::Error,
    summary: "a `/…/` branch or tag filter does not compile as a regular expression",
    docs: include_str!("../../docs/rules/L1301.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    walk(cx.root(), &mut |entry, n| {
        if entry.is_none_or(|e| e.key != "filters") {
            return;
        }
        for kind in ["branches", "tags"] {
            let Some(filter) = n.get(kind) else { continue };
            for key in ["only", "ignore"] {
                let Some(value) = filter.get(key) else {
                    continue;
                };
                let patterns: Vec<&Node> = match value.as_seq() {
                    Some(items) => items.iter().collect(),
                    None => vec![value],
                };
                for p in patterns {
                    check_pattern(cx, sink, p, kind);
                }
            }
        }
    });
}

fn check_pattern(cx: &Context<'_>, sink: &mut Sink<'_>, node: &Node, kind: &str) {
    let Some(s) = node.as_str() else { return };
    if s.len() < 2 || !s.starts_with('/') || !s.ends_with('/') || s.contains("<<") {
        return;
    }
    let inner = &s[1..s.len() - 1];
    let Err(e) = Parser::new().parse(inner) else {
        return;
    };
    if !java_rejects(inner, e.kind(), e.span().start.offset) {
        return;
    }
    let start = 1 + e.span().start.offset;
    let end = (1 + e.span().end.offset).max(start + 1).min(s.len() - 1);
    let what = if kind == "tags" { "tag" } else { "branch" };
    let d = sink
        .finding(format!("invalid {what} filter regex `{s}`: {}", e.kind()))
        .at(cx.sub_span(node, start, end.max(start)), e.kind().to_string())
        .with_help(
            "a filter between slashes is a Java regular expression matched against the whole name; escape literal characters with `\\`",
        );
    sink.push(d);
}

/// Whether Java's regex parser refuses this too.
fn java_rejects(pattern: &str, kind: &ErrorKind, offset: usize) -> bool {
    match kind {
        ErrorKind::RepetitionMissing => {
            // `a++`, `a*+`, `a?+`, `a{2}+`: Java's possessive quantifiers.
            let before = pattern[..offset.min(pattern.len())].chars().next_back();
            let at = pattern[offset.min(pattern.len())..].chars().next();
            !(at == Some('+') && matches!(before, Some('*' | '+' | '?' | '}')))
        }
        ErrorKind::ClassUnclosed
        | ErrorKind::GroupUnclosed
        | ErrorKind::GroupUnopened
        | ErrorKind::RepetitionCountInvalid
        | ErrorKind::RepetitionCountUnclosed
        | ErrorKind::RepetitionCountDecimalEmpty
        | ErrorKind::ClassRangeInvalid
        | ErrorKind::EscapeUnexpectedEof => true,
        _ => false,
    }
}
