//! `L1404 checksum-of-missing-file`: a cache key's `{{ checksum "PATH" }}` names a file the
//! project does not have.
//!
//! The path is relative to the job's working directory (CONFIG-SPEC §7.7.1), which is the
//! project root after a `checkout` without `path`. So only keys of jobs that check out that way
//! are checked (from the compiled jobs when compiled, else steps written in the job), and only
//! static relative paths (no `{{ }}`, `<< >>`, `$`, `~`, `..`, not absolute). A file a `run`
//! step may create is skipped: its name appears in some `run` command of the config. The host
//! answers whether the path exists; without a host the rule is silent.

use std::collections::HashSet;

use aho_corasick::AhoCorasick;

use orrery_diagnostics::{codes, Severity, Span};
use orrery_yaml::{Node, Value};

use crate::model::{cache_keys, section, walk};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::CHECKSUM_MISSING_FILE,
    name: "checksum-of-missing-file",
    severity: Severity::Warning,
    summary: "a cache key checksums a file that does not exist in the project",
    docs: include_str!("../../docs/rules/L1404.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    let mut jobs: Vec<&Node> = section(root, "jobs").iter().map(|e| &e.value).collect();
    let compiled = cx.input.compiled.and_then(|c| c.config.as_ref());
    if let Some(compiled) = compiled {
        jobs.extend(section(compiled, "jobs").iter().map(|e| &e.value));
    }
    // The checksummed paths the project must have: (key, start, end, path).
    let mut candidates: Vec<(&Node, usize, usize, &str)> = Vec::new();
    let mut seen: HashSet<Span> = HashSet::new();
    for job in jobs {
        let Some(steps) = job.get("steps") else {
            continue;
        };
        if !checks_out_to_working_directory(steps) {
            continue;
        }
        for (_, key) in cache_keys(steps) {
            if key.span.file != cx.input.file || !seen.insert(key.span) {
                continue;
            }
            let Some(text) = key.as_str() else { continue };
            for (start, end) in checksum_paths(text) {
                let path = &text[start..end];
                if checkable(path) {
                    candidates.push((key, start, end, path.trim_start_matches("./")));
                }
            }
        }
    }
    if candidates.is_empty() {
        return;
    }
    let created = names_in_run_commands(root, compiled, &candidates);
    for (key, start, end, path) in candidates {
        if created.contains(file_name(path)) {
            continue;
        }
        if cx.input.host.path_exists(path) != Some(false) {
            continue;
        }
        let d = sink
            .finding(format!(
                "`{{{{ checksum \"{path}\" }}}}`: the project has no file `{path}`"
            ))
            .at(cx.sub_span(key, start, end), "no such file")
            .with_help(
                "the path is relative to the job's working directory, where `checkout` put the project; a missing file fails the step",
            );
        sink.push(d);
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The file names of `candidates` that appear in some `run` command of the config (source or
/// compiled), which a step may create: one pass over the commands for all names at once.
fn names_in_run_commands<'a>(
    root: &Node,
    compiled: Option<&Node>,
    candidates: &[(&Node, usize, usize, &'a str)],
) -> HashSet<&'a str> {
    let names: Vec<&str> = candidates.iter().map(|c| file_name(c.3)).collect();
    let Ok(finder) = AhoCorasick::new(&names) else {
        // Only a pattern set too large to build: count every name as created (silence).
        return names.into_iter().collect();
    };
    let mut found = HashSet::new();
    for doc in std::iter::once(root).chain(compiled) {
        walk(doc, &mut |entry, n| {
            if entry.is_some_and(|e| e.key == "run") {
                let command = n.get("command").unwrap_or(n);
                if let Some(text) = command.as_str() {
                    for m in finder.find_overlapping_iter(text) {
                        found.insert(names[m.pattern().as_usize()]);
                    }
                }
            }
        });
    }
    found
}

/// Whether a steps list runs `checkout` into the working directory (no `path`), at its top
/// level or inside `when`/`unless` steps.
fn checks_out_to_working_directory(steps: &Node) -> bool {
    steps
        .as_seq()
        .unwrap_or(&[])
        .iter()
        .any(|step| match &step.value {
            Value::Str(s) => s == "checkout",
            Value::Map(m) if m.len() == 1 => {
                let e = &m.entries()[0];
                match e.key.as_str() {
                    "checkout" => e.value.get("path").is_none(),
                    "when" | "unless" => e
                        .value
                        .get("steps")
                        .is_some_and(checks_out_to_working_directory),
                    _ => false,
                }
            }
            _ => false,
        })
}

/// Byte ranges of the paths of `{{ checksum "PATH" }}` (or a backquoted path) in a key.
fn checksum_paths(key: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(open) = key[at..].find("{{") {
        let body_start = at + open + 2;
        let Some(close) = key[body_start..].find("}}") else {
            break;
        };
        let body_end = body_start + close;
        at = body_end + 2;
        let body = &key[body_start..body_end];
        let trimmed = body.trim_start();
        let Some(arg) = trimmed.strip_prefix("checksum") else {
            continue;
        };
        let arg_start = body_start + (body.len() - trimmed.len()) + "checksum".len();
        let lead = arg.len() - arg.trim_start().len();
        let arg = arg.trim();
        let Some(quote) = arg.chars().next().filter(|c| *c == '"' || *c == '`') else {
            continue;
        };
        if arg.len() >= 2 && arg.ends_with(quote) {
            let start = arg_start + lead + 1;
            out.push((start, start + arg.len() - 2));
        }
    }
    out
}

/// A static path relative to the working directory.
fn checkable(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with(['/', '~'])
        && !path.contains(['$', '\\', '*', '?', '['])
        && !path.contains("{{")
        && !path.contains("<<")
        && !path.split('/').any(|part| part == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_checksum_paths() {
        let key = r#"v1-{{ checksum "go.sum" }}-{{checksum `a/b.lock`}}-{{ .Branch }}"#;
        let paths: Vec<&str> = checksum_paths(key)
            .iter()
            .map(|&(s, e)| &key[s..e])
            .collect();
        assert_eq!(paths, ["go.sum", "a/b.lock"]);
        assert!(checkable("package-lock.json"));
        assert!(!checkable("/tmp/x"));
        assert!(!checkable("~/x"));
        assert!(!checkable("<< parameters.lock >>"));
        assert!(!checkable("../x"));
    }
}
