//! `L1608 unused-anchor`: a YAML anchor (`&name`) that no alias (`*name`) refers to.
//!
//! The parsed tree has aliases expanded, so this rule reads the text again with anchor events
//! switched on.

use granit_parser::{Event, Options, Parser};
use orrery_diagnostics::{codes, Severity, Span};

use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::UNUSED_ANCHOR,
    name: "unused-anchor",
    severity: Severity::Note,
    summary: "a YAML anchor is never referred to by an alias",
    docs: include_str!("../../docs/rules/L1608.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let text = cx.input.text;
    if !may_define_anchor(text) {
        return;
    }
    let mut options = Options::default();
    options.emit_comments = false;
    options.emit_anchor_events = true;
    // The same limits as the parser that built the tree (which succeeded).
    options.block_nesting_limit = 200;
    options.flow_nesting_limit = 200;
    let mut anchors: Vec<(usize, String, std::ops::Range<usize>)> = Vec::new();
    let mut used = std::collections::HashSet::new();
    for item in Parser::new_from_str_with_options(text, options) {
        let Ok((event, span)) = item else {
            return;
        };
        match event {
            Event::Anchor(id, name) => {
                anchors.push((id, name.into_owned(), span.byte_range().unwrap_or(0..0)));
            }
            Event::Alias(id) => {
                used.insert(id);
            }
            // Only the first document is read.
            Event::DocumentEnd => break,
            _ => {}
        }
    }
    for (id, name, range) in anchors {
        if used.contains(&id) || range.is_empty() {
            continue;
        }
        let d = sink
            .finding(format!("anchor `&{name}` is never used"))
            .at(
                Span::new(cx.input.file, range.start, range.end),
                "no alias refers to it",
            )
            .with_help(format!(
                "refer to it with `*{name}` (or `<<: *{name}` to merge it), or remove the anchor"
            ));
        sink.push(d);
    }
}

/// Whether the text may hold an anchor (`&name` after a separator): most configs have none,
/// and this saves re-reading them. Shell `&&` and `2>&1` do not count.
fn may_define_anchor(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'&'
            && (i == 0
                || matches!(
                    bytes[i - 1],
                    b' ' | b'\t' | b'\n' | b':' | b'-' | b'[' | b'{' | b','
                ))
            && bytes
                .get(i + 1)
                .is_some_and(|c| !c.is_ascii_whitespace() && *c != b'&')
    })
}
