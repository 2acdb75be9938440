//! The `<<include(path)>>` directive of `orb pack` (CONFIG-SPEC 4.6.6).
//!
//! A string value that is exactly one directive is replaced by the named file's text, with
//! every `<<` turned into `\<<` so the compiler leaves shell heredocs alone. Paths are resolved
//! against the orb root and may not leave the include root, which is the orb root unless
//! [`PackOptions`] says otherwise (the official packer would read `../x` from anywhere). Only
//! values are looked at, never keys.

use std::sync::OnceLock;

use orrery_diagnostics::{codes, Diagnostic, Span};
use orrery_yaml::{Map, Node, Value};
use regex::Regex;

use crate::pack_orb::PackOptions;
use crate::tree::SourceTree;

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
pub(crate) fn inline_includes(
    orb: &mut Map,
    tree: &SourceTree,
    options: &PackOptions,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut inliner = Inliner {
        tree,
        options,
        diagnostics,
    };
    for (key, value) in orb.iter_mut() {
        if INCLUDE_SECTIONS.contains(&key) {
            inliner.inline_in(value);
        }
    }
}

struct Inliner<'a> {
    tree: &'a SourceTree,
    options: &'a PackOptions,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Inliner<'_> {
    fn inline_in(&mut self, node: &mut Node) {
        match &mut node.value {
            Value::Str(text) => {
                if let Some(included) = self.expand(text, node.span) {
                    *text = included;
                }
            }
            Value::Seq(items) => {
                for item in items {
                    self.inline_in(item);
                }
            }
            Value::Map(map) => {
                for value in map.values_mut() {
                    self.inline_in(value);
                }
            }
            _ => {}
        }
    }

    /// The included text when `value` is an include directive; `None` when it is not (or is a
    /// bad one, which is reported).
    fn expand(&mut self, value: &str, span: Span) -> Option<String> {
        let mut matches = directive().captures_iter(value);
        let first = matches.next()?;
        if matches.next().is_some() {
            self.diagnostics.push(
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
            self.diagnostics.push(
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
        let Some(resolved) = self.options.resolve_include(path) else {
            self.diagnostics.push(self.outside_root(path, span));
            return None;
        };
        if let Some(link) = self.tree.refused_link(&resolved) {
            self.diagnostics
                .push(self.refused_link(path, &link.target, span));
            return None;
        }
        let Some(text) = self.tree.get(&resolved) else {
            self.diagnostics.push(
                Diagnostic::error(
                    codes::INCLUDE_MISSING,
                    format!(
                        "could not open {} for inclusion",
                        self.tree.display_name(&resolved)
                    ),
                )
                .at(span, "included here")
                .with_help(
                    "include paths are relative to the orb root (the directory of @orb.yml)",
                ),
            );
            return None;
        };
        Some(text.replace("<<", "\\<<"))
    }

    /// An include whose path leads out of the root through a symbolic link.
    fn refused_link(&self, path: &str, target: &str, span: Span) -> Diagnostic {
        let root = if self.options.has_include_root() {
            "the include root"
        } else {
            "the orb directory"
        };
        Diagnostic::error(
            codes::INCLUDE_OUTSIDE_ROOT,
            format!("include path `{path}` is a symbolic link to `{target}`, outside {root}"),
        )
        .at(span, "included here")
        .with_help(
            "an included file must be inside the root, link or not; nothing outside it is read",
        )
    }

    fn outside_root(&self, path: &str, span: Span) -> Diagnostic {
        if self.options.has_include_root() {
            let root = match self.tree.base.trim_end_matches('/') {
                "" => String::new(),
                base => format!(" `{base}`"),
            };
            Diagnostic::error(
                codes::INCLUDE_OUTSIDE_ROOT,
                format!("include path `{path}` is outside the include root{root}"),
            )
            .at(span, "included here")
            .with_help(
                "with an include root, an include may name any file under it, relative to the orb \
                 root (the directory of @orb.yml); nothing outside it is read",
            )
        } else {
            Diagnostic::error(
                codes::INCLUDE_OUTSIDE_ROOT,
                format!("include path `{path}` is outside the orb directory"),
            )
            .at(span, "included here")
            .with_help(
                "an include names a file inside the orb root, e.g. `scripts/run.sh`; to allow \
                 files above it, pack with `--include-root ROOT` (a directory above the orb root)",
            )
        }
    }
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
