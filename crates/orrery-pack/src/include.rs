//! The `<<include(path)>>` directive of `orb pack` (CONFIG-SPEC 4.6.6).
//!
//! A string value that is exactly one directive is replaced by the named file's text, with
//! every `<<` turned into `\<<` so the compiler leaves shell heredocs alone. Paths are resolved
//! against the orb root and may not leave it (the official packer would read `../x`). Only
//! values are looked at, never keys.

use std::sync::OnceLock;

use orrery_diagnostics::{codes, Diagnostic, Span};
use orrery_yaml::{Map, Node, Value};
use regex::Regex;

use crate::tree::{normalize_in_root, SourceTree};

/// The root keys whose values may hold includes; examples and root scalars never do.
pub(crate) const INCLUDE_SECTIONS: [&str; 3] = ["commands", "jobs", "executors"];

/// The official pattern: `<<`, optional whitespace, `include(`, a path of `[-\w/.]`, `)`,
/// optional whitespace, `>>` (`\w` and `\s` in Go's ASCII sense).
fn directive() -> &'static Regex {
    static DIRECTIVE: OnceLock<Regex> = OnceLock::new();
    DIRECTIVE.get_or_init(|| {
        Regex::new(r"<<[\t\n\x0C\r ]*include\(([-A-Za-z0-9_/.]+)\)[\t\n\x0C\r ]*>>")
            .expect("the include pattern is a valid regex")
    })
}

/// The paths named by include directives anywhere in `text` (the file reader uses this to
/// load exactly the files an orb includes).
pub fn included_paths(text: &str) -> impl Iterator<Item = &str> {
    directive()
        .captures_iter(text)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
}

/// Whether `text` holds something `orb pack` would read as an include directive.
pub(crate) fn has_directive(text: &str) -> bool {
    directive().is_match(text)
}

/// Replaces the include directives in the sections of a merged orb that allow them.
pub(crate) fn inline_includes(orb: &mut Map, tree: &SourceTree, diagnostics: &mut Vec<Diagnostic>) {
    for entry in &mut orb.entries {
        if INCLUDE_SECTIONS.contains(&entry.key.as_str()) {
            inline_in(&mut entry.value, tree, diagnostics);
        }
    }
}

fn inline_in(node: &mut Node, tree: &SourceTree, diagnostics: &mut Vec<Diagnostic>) {
    match &mut node.value {
        Value::Str(text) => {
            if let Some(included) = expand(text, node.span, tree, diagnostics) {
                *text = included;
            }
        }
        Value::Seq(items) => {
            for item in items {
                inline_in(item, tree, diagnostics);
            }
        }
        Value::Map(map) => {
            for entry in &mut map.entries {
                inline_in(&mut entry.value, tree, diagnostics);
            }
        }
        _ => {}
    }
}

/// The included text when `value` is an include directive; `None` when it is not (or is a bad
/// one, which is reported).
fn expand(
    value: &str,
    span: Span,
    tree: &SourceTree,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<String> {
    let mut matches = directive().captures_iter(value);
    let first = matches.next()?;
    if matches.next().is_some() {
        diagnostics.push(
            Diagnostic::error(
                codes::INCLUDE_MULTIPLE,
                format!("multiple include statements: '{}'", elide(value)),
            )
            .at(span, "only one include is allowed in a value")
            .with_help("put the combined text in one file and include that"),
        );
        return None;
    }
    let (whole, path) = (first.get(0)?, first.get(1)?.as_str());
    if whole.as_str() != value {
        diagnostics.push(
            Diagnostic::error(
                codes::INCLUDE_NOT_ENTIRE_VALUE,
                format!(
                    "entire string must be include statement: '{}'",
                    elide(value)
                ),
            )
            .at(span, "the include must be the whole value")
            .with_help("move the surrounding text into the included file"),
        );
        return None;
    }
    let Some(resolved) = normalize_in_root(path) else {
        diagnostics.push(
            Diagnostic::error(
                codes::INCLUDE_OUTSIDE_ROOT,
                format!("include path `{path}` is outside the orb directory"),
            )
            .at(span, "included here")
            .with_help("an include names a file inside the orb root, e.g. `scripts/run.sh`"),
        );
        return None;
    };
    let Some(text) = tree.get(&resolved) else {
        diagnostics.push(
            Diagnostic::error(
                codes::INCLUDE_MISSING,
                format!(
                    "could not open {} for inclusion",
                    tree.display_name(&resolved)
                ),
            )
            .at(span, "included here")
            .with_help("include paths are relative to the orb root (the directory of @orb.yml)"),
        );
        return None;
    };
    Some(text.replace("<<", "\\<<"))
}

/// A value for a one-line message: line breaks and tabs escaped, cut after 60 characters.
fn elide(value: &str) -> String {
    const MAX: usize = 60;
    let mut short = String::new();
    for (i, c) in value.chars().enumerate() {
        if i == MAX {
            short.push('…');
            break;
        }
        match c {
            '\n' => short.push_str("\\n"),
            '\t' => short.push_str("\\t"),
            '\r' => short.push_str("\\r"),
            c => short.push(c),
        }
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_directives_like_the_official_pattern() {
        let paths: Vec<&str> =
            included_paths("a: <<include(scripts/a-b_c.sh)>>\nb: << include(x.sh) >>").collect();
        assert_eq!(paths, ["scripts/a-b_c.sh", "x.sh"]);
        assert!(!has_directive("<<include(has space.sh)>>"));
        assert!(!has_directive("<< parameters.x >>"));
    }

    #[test]
    fn elides_long_values() {
        assert_eq!(elide("short"), "short");
        assert_eq!(elide("two\nlines"), "two\\nlines");
        assert_eq!(elide(&"x".repeat(70)).chars().count(), 61);
    }
}
