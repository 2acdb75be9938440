//! The local stand-in for project variables and contexts: a YAML file
//!
//! ```yaml
//! project:
//!   NPM_TOKEN: "…"
//! contexts:
//!   aws-prod:
//!     AWS_ACCESS_KEY_ID: "…"
//! ```

use std::collections::BTreeMap;

use orrery_diagnostics::{codes, Diagnostic, FileId};
use orrery_yaml::{Limits, Node, Value};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Secrets {
    pub project: Vec<(String, String)>,
    pub contexts: BTreeMap<String, Vec<(String, String)>>,
}

impl Secrets {
    /// Every value, for masking.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.project
            .iter()
            .chain(self.contexts.values().flatten())
            .map(|(_, v)| v.as_str())
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn vars(node: &Node, what: &str, diagnostics: &mut Vec<Diagnostic>) -> Vec<(String, String)> {
    let Some(map) = node.as_map() else {
        diagnostics.push(
            Diagnostic::error(
                codes::RUN_SECRETS,
                format!("{what} must be a map of names to values"),
            )
            .at(node.span, "not a map"),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in map.entries() {
        if !is_name(&e.key) {
            diagnostics.push(
                Diagnostic::error(
                    codes::RUN_SECRETS,
                    format!("`{}` is not a variable name", e.key),
                )
                .at(
                    e.key_span,
                    "letters, digits and `_`, not starting with a digit",
                ),
            );
            continue;
        }
        match e.value.value.scalar_text() {
            Some(v) if !matches!(e.value.value, Value::Null) => out.push((e.key.clone(), v)),
            _ => diagnostics.push(
                Diagnostic::error(
                    codes::RUN_SECRETS,
                    format!("`{}` needs a text value", e.key),
                )
                .at(e.value.span, "not a value"),
            ),
        }
    }
    out
}

pub fn parse(file: FileId, text: &str) -> (Secrets, Vec<Diagnostic>) {
    let parsed = orrery_yaml::parse(file, text, Limits::default());
    let mut diagnostics = parsed.diagnostics;
    let mut secrets = Secrets::default();
    let Some(root) = parsed.root else {
        return (secrets, diagnostics);
    };
    let Some(map) = root.as_map() else {
        if !root.is_null() {
            diagnostics.push(
                Diagnostic::error(
                    codes::RUN_SECRETS,
                    "the secrets file must be a map with `project` and `contexts`",
                )
                .at(root.span, "not a map"),
            );
        }
        return (secrets, diagnostics);
    };
    for e in map.entries() {
        match e.key.as_str() {
            "project" => secrets.project = vars(&e.value, "`project`", &mut diagnostics),
            "contexts" => match e.value.as_map() {
                Some(contexts) => {
                    for c in contexts.entries() {
                        let v = vars(&c.value, &format!("context `{}`", c.key), &mut diagnostics);
                        secrets.contexts.insert(c.key.clone(), v);
                    }
                }
                None => diagnostics.push(
                    Diagnostic::error(
                        codes::RUN_SECRETS,
                        "`contexts` must map context names to variables",
                    )
                    .at(e.value.span, "not a map"),
                ),
            },
            other => diagnostics.push(
                Diagnostic::error(
                    codes::RUN_SECRETS,
                    format!("unknown key `{other}` in the secrets file"),
                )
                .at(e.key_span, "expected `project` or `contexts`"),
            ),
        }
    }
    (secrets, diagnostics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_and_contexts() {
        let (s, d) = parse(
            FileId(0),
            "project:\n  TOKEN: abcd1234\ncontexts:\n  prod:\n    KEY: k-secret\n    PORT: 5432\n",
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(s.project, [("TOKEN".to_string(), "abcd1234".to_string())]);
        assert_eq!(
            s.contexts["prod"][1],
            ("PORT".to_string(), "5432".to_string())
        );
        let (_, d) = parse(FileId(0), "project:\n  1BAD: x\nother: 1\n");
        assert_eq!(d.len(), 2);
    }
}
