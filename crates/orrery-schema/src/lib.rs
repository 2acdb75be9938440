//! Orrery's own JSON Schemas for CircleCI configs and orbs (`schema/` at the repository root),
//! evaluated directly over spanned YAML.
//!
//! [`check_config`] and [`check_orb`] are pure and never fail: they return diagnostics that
//! point at the exact key or value and say what was expected (E0110), plus warnings (W0111) for
//! keys CircleCI ignores. [`describe`] gives the schema's description at a key path, for hover.
//! The embedded schemas are compiled at build time (`build.rs`) into a static arena; each
//! pattern's regex is built on first use.

mod eval;
mod memo;
mod schema;
mod words;

use orrery_diagnostics::{codes, Applicability, Diagnostic, FileId, Fix, Severity, Span};
use orrery_yaml::Node;

use eval::{Ctx, Evaluator, Failure};
pub use memo::Memo;
use memo::Reuse;
use schema::{Additional, Compiled, Id};

/// The config schema, as shipped in `schema/circleci-config.schema.json`.
pub const CONFIG_SCHEMA: &str = include_str!("../../../schema/circleci-config.schema.json");
/// The orb schema, as shipped in `schema/circleci-orb.schema.json`.
pub const ORB_SCHEMA: &str = include_str!("../../../schema/circleci-orb.schema.json");

/// The arena `build.rs` wrote from `CONFIG_SCHEMA` and `ORB_SCHEMA`.
#[allow(unused_imports)]
mod embedded {
    use crate::schema::{Additional, Compiled, Id, Literal, Pattern, Schema, Text};
    use std::borrow::Cow;
    include!(concat!(env!("OUT_DIR"), "/compiled_schema.rs"));
}

fn compiled() -> &'static Result<Compiled, &'static str> {
    &embedded::COMPILED
}

/// Checks a parsed config (`.circleci/config.yml`) against the config schema.
pub fn check_config(file: FileId, root: &Node) -> Vec<Diagnostic> {
    check(file, root, |c| c.config_root, None)
}

/// [`check_config`] of a new version of a config, reusing what the check of the previous
/// version (its root and the memo that check made) found for each entry under a top-level key
/// that did not change, moved to where the entry is now. Always the same findings as
/// `check_config`; also returns the memo for the next version.
pub fn check_config_reusing(
    file: FileId,
    root: &Node,
    previous: Option<(&Node, &Memo)>,
) -> (Vec<Diagnostic>, Memo) {
    let reuse = Reuse {
        previous,
        root,
        made: Default::default(),
    };
    let diagnostics = check(file, root, |c| c.config_root, Some(&reuse));
    (diagnostics, reuse.made.into_inner())
}

/// Checks a packed orb against the orb schema.
pub fn check_orb(file: FileId, root: &Node) -> Vec<Diagnostic> {
    check(file, root, |c| c.orb_root, None)
}

fn check(
    file: FileId,
    root: &Node,
    which: fn(&Compiled) -> Id,
    reuse: Option<&Reuse<'_>>,
) -> Vec<Diagnostic> {
    let compiled = match compiled() {
        Ok(compiled) => compiled,
        Err(reason) => {
            return vec![Diagnostic::error(
                codes::SCHEMA,
                format!("internal error: the embedded schema does not compile: {reason}"),
            )
            .at(Span::new(file, 0, 0), "not checked")]
        }
    };
    let evaluator = Evaluator { compiled, reuse };
    let mut failures = Vec::new();
    evaluator.eval(which(compiled), root, Ctx::root(), &mut failures);
    let mut diagnostics: Vec<Diagnostic> = failures.into_iter().map(diagnostic).collect();
    diagnostics.sort_by_key(|d| d.primary.as_ref().map(|p| (p.span.start, p.span.end)));
    diagnostics.dedup();
    diagnostics
}

fn diagnostic(failure: Failure) -> Diagnostic {
    let code = match failure.severity {
        Severity::Error => codes::SCHEMA,
        _ => codes::SCHEMA_IGNORED_KEY,
    };
    let mut d =
        Diagnostic::new(code, failure.severity, failure.message).at(failure.span, failure.label);
    if let Some(help) = failure.help {
        d = d.with_help(help);
    }
    if let Some((title, replacement)) = failure.fix {
        // A guess at what was meant: shown, applied only on request.
        d = d.with_fix(
            Fix::replace(title, failure.span, replacement)
                .with_applicability(Applicability::Unsafe),
        );
    }
    d
}

/// Whether `instance` fits `schema`, any JSON Schema document (draft 2020-12) that uses only the
/// keywords this evaluator implements; `Err` says which it does not (or why the document does not
/// compile). For measuring the evaluator against the official JSON-Schema-Test-Suite.
pub fn conforms(schema: &str, instance: &Node) -> Result<bool, String> {
    let compiled = schema::compile(schema, "{}")?;
    // Patterns are built lazily; a document whose pattern cannot be built does not compile.
    every_pattern(&compiled).try_for_each(|pattern| {
        pattern
            .regex()
            .map(|_| ())
            .map_err(|e| format!("the pattern `{}` cannot be built: {e}", pattern.text))
    })?;
    let evaluator = Evaluator {
        compiled: &compiled,
        reuse: None,
    };
    let mut failures = Vec::new();
    evaluator.eval(compiled.config_root, instance, Ctx::root(), &mut failures);
    Ok(!failures.iter().any(|f| f.severity == Severity::Error))
}

/// The config schema's description of the value at `path` (map keys; a list item is any
/// number or `-`), e.g. `["jobs", "build", "parallelism"]`. `None` where the schema has none.
pub fn describe(path: &[&str]) -> Option<&'static str> {
    let compiled = compiled().as_ref().ok()?;
    describe_from(compiled, compiled.config_root, path)
}

/// The orb schema's description of the value at `path`, like [`describe`].
pub fn describe_orb(path: &[&str]) -> Option<&'static str> {
    let compiled = compiled().as_ref().ok()?;
    describe_from(compiled, compiled.orb_root, path)
}

fn describe_from(compiled: &'static Compiled, root: Id, path: &[&str]) -> Option<&'static str> {
    let mut id = root;
    for segment in path {
        id = step(compiled, id, segment)?;
    }
    description(compiled, id)
}

/// The keys the config schema knows for the map at `path` (as for [`describe`]), each with its
/// description, in schema order: what an editor offers to complete a key.
pub fn keys(path: &[&str]) -> Vec<(&'static str, Option<&'static str>)> {
    let Some(compiled) = compiled().as_ref().ok() else {
        return Vec::new();
    };
    keys_from(compiled, compiled.config_root, path)
}

/// The keys the orb schema knows for the map at `path`, like [`keys`].
pub fn keys_orb(path: &[&str]) -> Vec<(&'static str, Option<&'static str>)> {
    let Some(compiled) = compiled().as_ref().ok() else {
        return Vec::new();
    };
    keys_from(compiled, compiled.orb_root, path)
}

fn keys_from(
    compiled: &'static Compiled,
    root: Id,
    path: &[&str],
) -> Vec<(&'static str, Option<&'static str>)> {
    let mut id = root;
    for segment in path {
        match step(compiled, id, segment) {
            Some(next) => id = next,
            None => return Vec::new(),
        }
    }
    let mut out: Vec<(&'static str, Option<&'static str>)> = Vec::new();
    let mut queue = vec![id];
    let mut seen = Vec::new();
    while let Some(id) = queue.pop() {
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        let node = &compiled.nodes[id];
        for (name, property) in node.properties.iter() {
            if !out.iter().any(|(n, _)| *n == name.as_ref()) {
                out.push((name.as_ref(), description(compiled, *property)));
            }
        }
        for branches in [&node.one_of, &node.any_of, &node.all_of] {
            queue.extend(branches.iter().rev());
        }
        queue.extend(node.reference);
    }
    out
}

/// The schema that applies to `segment` below `id`, looking through `$ref`s and branches.
fn step(compiled: &Compiled, id: Id, segment: &str) -> Option<Id> {
    let is_item = segment == "-" || segment.parse::<usize>().is_ok();
    let mut queue = vec![id];
    let mut seen = Vec::new();
    let mut fallback = None;
    while let Some(id) = queue.pop() {
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        let node = &compiled.nodes[id];
        if is_item {
            if let Some(items) = node.items {
                return Some(items);
            }
        } else {
            if let Some(property) = node.property(segment) {
                return Some(property);
            }
            if let Some((_, pattern)) = node
                .pattern_properties
                .iter()
                .find(|(regex, _)| regex.is_match(segment))
            {
                fallback = fallback.or(Some(*pattern));
            }
            if let Additional::Schema(extra) = node.additional {
                fallback = fallback.or(Some(extra));
            }
        }
        // Branches first-listed first.
        for branches in [&node.one_of, &node.any_of, &node.all_of] {
            queue.extend(branches.iter().rev());
        }
        queue.extend(node.reference);
    }
    fallback
}

fn every_pattern(compiled: &Compiled) -> impl Iterator<Item = &schema::Pattern> {
    compiled.nodes.iter().flat_map(|node| {
        node.pattern
            .iter()
            .chain(node.pattern_properties.iter().map(|(pattern, _)| pattern))
    })
}

fn description(compiled: &'static Compiled, id: Id) -> Option<&'static str> {
    let node = &compiled.nodes[id];
    node.description
        .as_deref()
        .or_else(|| node.reference.and_then(|r| description(compiled, r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_compile_with_only_supported_keywords() {
        if let Err(reason) = compiled() {
            panic!("{reason}");
        }
    }

    #[test]
    fn the_static_arena_is_the_compiled_documents() {
        let at_run_time = schema::compile(CONFIG_SCHEMA, ORB_SCHEMA).expect("schemas compile");
        let built = compiled().as_ref().expect("schemas compile");
        assert!(built.nodes.len() > 100, "{} nodes", built.nodes.len());
        assert_eq!(built.config_root, at_run_time.config_root);
        assert_eq!(built.orb_root, at_run_time.orb_root);
        for (id, (a, b)) in built.nodes.iter().zip(at_run_time.nodes.iter()).enumerate() {
            assert_eq!(a, b, "node {id}");
        }
        assert_eq!(built.nodes.len(), at_run_time.nodes.len());
    }

    #[test]
    fn every_pattern_builds() {
        let compiled = compiled().as_ref().expect("schemas compile");
        let mut count = 0;
        for pattern in every_pattern(compiled) {
            count += 1;
            if let Err(e) = pattern.regex() {
                panic!("`{}` does not build: {e}", pattern.text);
            }
        }
        // The documents have six today; fewer means patterns went missing from the arena.
        assert!(count >= 6, "only {count} patterns");
    }

    #[test]
    fn conforms_refuses_a_pattern_that_cannot_be_built() {
        let instance = Node::string("a", Span::new(FileId(0), 0, 0));
        assert_eq!(conforms(r#"{"pattern": "^a$"}"#, &instance), Ok(true));
        assert!(conforms(r#"{"pattern": "(a"}"#, &instance).is_err());
        // Valid syntax past the size limit: only building it tells.
        let huge = r#"{"pattern": "\\w{1000}\\w{1000}\\w{1000}"}"#;
        let error = conforms(huge, &instance).unwrap_err();
        assert!(error.contains("cannot be built"), "{error}");
    }

    #[test]
    fn every_property_has_a_description() {
        let compiled = compiled().as_ref().expect("schemas compile");
        let mut missing = Vec::new();
        for node in compiled.nodes.iter() {
            for (name, id) in node.properties.iter() {
                if description(compiled, *id).is_none() {
                    missing.push(name.as_ref());
                }
            }
        }
        assert!(
            missing.is_empty(),
            "properties without a description: {missing:?}"
        );
    }

    #[test]
    fn describe_follows_refs_and_maps() {
        let text = describe(&["jobs", "build", "parallelism"]).unwrap();
        assert!(text.contains("copies"), "{text}");
        let run = describe(&["jobs", "build", "steps", "0", "run", "command"]).unwrap();
        assert!(run.contains("command"), "{run}");
        assert!(describe(&["jobs", "build", "no-such-key"]).is_none());
        assert!(describe_orb(&["display", "home_url"]).is_some());
    }

    #[test]
    fn keys_list_a_maps_properties_through_refs() {
        let job: Vec<&str> = keys(&["jobs", "build"])
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert!(job.contains(&"docker") && job.contains(&"steps"), "{job:?}");
        let top: Vec<&str> = keys(&[]).into_iter().map(|(k, _)| k).collect();
        assert!(top.contains(&"workflows"), "{top:?}");
        assert!(keys(&["jobs", "build", "no-such-key"]).is_empty());
    }
}
