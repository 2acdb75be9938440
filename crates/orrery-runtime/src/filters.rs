//! Workflow job `filters:` for the branch or tag being run: the map form (`branches`/`tags` with
//! `only`/`ignore`, `/regex/` entries matched against the whole name) and the expression form.

// A filter error is a whole diagnostic, reported once per job; boxing buys nothing here.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use orrery_diagnostics::{codes, Diagnostic};
use orrery_expr::expr;
use orrery_yaml::{Node, Value};
use regex::Regex;

/// What is being built: a branch, or a tag (a tag pipeline has no branch).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GitRef {
    pub branch: Option<String>,
    pub tag: Option<String>,
    pub revision: Option<String>,
}

impl GitRef {
    fn pipeline_values(&self) -> BTreeMap<String, expr::Value> {
        let value = |v: &Option<String>| match v {
            Some(s) => expr::Value::Str(s.clone()),
            None => expr::Value::Undefined,
        };
        BTreeMap::from([
            ("pipeline.git.branch".to_string(), value(&self.branch)),
            ("pipeline.git.tag".to_string(), value(&self.tag)),
            ("pipeline.git.revision".to_string(), value(&self.revision)),
        ])
    }
}

/// Whether a job with these filters runs for `git`. A filter that cannot be read is an error and
/// the job does not run.
pub fn passes(filters: Option<&Node>, git: &GitRef) -> Result<bool, Diagnostic> {
    let Some(filters) = filters else {
        return Ok(git.tag.is_none());
    };
    match &filters.value {
        Value::Str(text) => {
            let fail = |message: String| {
                Diagnostic::error(codes::RUN_FILTER, message).at(filters.span, "in this filter")
            };
            let parsed = expr::parse(text).map_err(|e| fail(e.render(text)))?;
            let value = parsed
                .eval(&git.pipeline_values())
                .map_err(|e| fail(e.render(text)))?;
            Ok(value.is_truthy())
        }
        Value::Map(_) => {
            let (section, name) = match &git.tag {
                Some(tag) => ("tags", tag.as_str()),
                None => ("branches", git.branch.as_deref().unwrap_or_default()),
            };
            let Some(rules) = filters.get(section) else {
                // Tags are built only when a job asks for them.
                return Ok(git.tag.is_none());
            };
            let only = rules.get("only").map(patterns).transpose()?;
            let ignore = rules.get("ignore").map(patterns).transpose()?;
            if git.tag.is_some() && only.is_none() && ignore.is_none() {
                return Ok(false);
            }
            let matches = |ps: &Vec<Pattern>| ps.iter().any(|p| p.matches(name));
            Ok(only.as_ref().is_none_or(matches) && !ignore.as_ref().is_some_and(matches))
        }
        Value::Null => Ok(git.tag.is_none()),
        _ => Err(Diagnostic::error(
            codes::RUN_FILTER,
            "`filters` must be a map or an expression",
        )
        .at(filters.span, "not a filter")),
    }
}

enum Pattern {
    Exact(String),
    Regex(Regex),
}

impl Pattern {
    fn matches(&self, name: &str) -> bool {
        match self {
            Pattern::Exact(s) => s == name,
            Pattern::Regex(r) => r.is_match(name),
        }
    }
}

fn patterns(node: &Node) -> Result<Vec<Pattern>, Diagnostic> {
    let items: Vec<&Node> = match &node.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    items
        .into_iter()
        .filter_map(|item| item.value.scalar_text().map(|t| (item, t)))
        .map(|(item, text)| {
            match text
                .strip_prefix('/')
                .and_then(|t| t.strip_suffix('/'))
                .filter(|_| text.len() >= 2)
            {
                Some(source) => Regex::new(&format!("^(?:{source})$"))
                    .map(Pattern::Regex)
                    .map_err(|e| {
                        Diagnostic::error(
                            codes::RUN_FILTER,
                            format!("filter pattern {text} is not a valid regular expression: {e}"),
                        )
                        .at(item.span, "invalid pattern")
                    }),
                None => Ok(Pattern::Exact(text)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use orrery_diagnostics::FileId;
    use orrery_yaml::{parse, Limits};

    fn node(text: &str) -> Node {
        parse(FileId(0), text, Limits::default()).root.unwrap()
    }

    fn branch(b: &str) -> GitRef {
        GitRef {
            branch: Some(b.into()),
            ..GitRef::default()
        }
    }

    fn tag(t: &str) -> GitRef {
        GitRef {
            tag: Some(t.into()),
            ..GitRef::default()
        }
    }

    #[test]
    fn branch_filters() {
        let f = node("branches:\n  only: [main, /release-.*/]\n");
        assert!(passes(Some(&f), &branch("main")).unwrap());
        assert!(passes(Some(&f), &branch("release-1")).unwrap());
        assert!(!passes(Some(&f), &branch("mainline")).unwrap());
        let f = node("branches:\n  ignore: /wip.*/\n");
        assert!(!passes(Some(&f), &branch("wip-x")).unwrap());
        assert!(passes(Some(&f), &branch("main")).unwrap());
        assert!(!passes(Some(&f), &tag("v1")).unwrap());
    }

    #[test]
    fn tags_need_a_tag_filter() {
        assert!(!passes(None, &tag("v1")).unwrap());
        let f = node("tags:\n  only: /^v.*/\n");
        assert!(passes(Some(&f), &tag("v1")).unwrap());
        assert!(!passes(Some(&f), &tag("x1")).unwrap());
        assert!(passes(Some(&f), &branch("main")).unwrap());
    }

    #[test]
    fn expression_filters() {
        let f = node("pipeline.git.branch == \"main\"");
        assert!(passes(Some(&f), &branch("main")).unwrap());
        assert!(!passes(Some(&f), &branch("dev")).unwrap());
        assert!(passes(Some(&node("pipeline.nope")), &branch("main")).is_err());
        assert!(passes(Some(&node("branches:\n  only: /(/\n")), &branch("x")).is_err());
    }
}
