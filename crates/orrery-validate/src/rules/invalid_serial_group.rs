//! `L1805 invalid-serial-group`: a `serial-group` that is blank, longer than 512 characters, or
//! has characters other than letters, digits, `.`, `-`, `_` and `/`.

use orrery_diagnostics::{codes, Severity};
use orrery_expr::template::{parse_template, Segment};

use crate::model::job_entries;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::INVALID_SERIAL_GROUP,
    name: "invalid-serial-group",
    severity: Severity::Error,
    summary: "a `serial-group` is blank, too long, or has characters CircleCI refuses",
    docs: include_str!("../../docs/rules/L1805.md"),
    check,
};

const MAX_LEN: usize = 512;

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for entry in job_entries(cx.root()) {
        let Some(group) = entry.args.and_then(|a| a.get("serial-group")) else {
            continue;
        };
        let Some(text) = group.value.scalar_text() else {
            continue;
        };
        // Templates are substituted first; only the literal text around them is known.
        let (literal, templated) = literal_parts(&text);
        let problem = if text.trim().is_empty() {
            Some((0, 0, "`serial-group` is blank".to_string()))
        } else if literal.len() > MAX_LEN {
            Some((
                0,
                0,
                format!("`serial-group` is longer than {MAX_LEN} characters"),
            ))
        } else {
            literal.iter().find(|(_, c)| !allowed(*c)).map(|(at, c)| {
                (
                    *at,
                    at + c.len_utf8(),
                    format!("`serial-group` contains `{c}`"),
                )
            })
        };
        let Some((start, end, message)) = problem else {
            continue;
        };
        let span = if end > start && !templated {
            cx.sub_span(group, start, end)
        } else {
            group.span
        };
        let d = sink
            .finding(message)
            .at(span, "not a valid group key")
            .with_help("a serial group key is up to 512 letters, digits, `.`, `-`, `_` and `/`, such as `<< pipeline.project.slug >>/deploy`");
        sink.push(d);
    }
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/')
}

/// The characters of `text` outside its `<< >>` tags, with their byte offsets, and whether the
/// text has any tag.
fn literal_parts(text: &str) -> (Vec<(usize, char)>, bool) {
    let Ok(template) = parse_template(text) else {
        return (text.char_indices().collect(), false);
    };
    let mut out = Vec::new();
    let mut templated = false;
    let mut at = 0;
    for segment in &template.segments {
        match segment {
            Segment::Text(t) => {
                // Offsets are exact only while the text has no escapes; otherwise the caller
                // points at the whole value.
                out.extend(t.char_indices().map(|(i, c)| (at + i, c)));
                at += t.len();
            }
            Segment::Tag { offset, len, .. } => {
                templated = true;
                at = offset + len;
            }
            Segment::Section { .. } => {
                templated = true;
                return (out, templated);
            }
        }
    }
    (out, templated)
}
