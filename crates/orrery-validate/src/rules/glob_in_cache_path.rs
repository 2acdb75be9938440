//! `L1708 glob-in-cache-path`: a `save_cache` path with wildcard characters, which
//! `save_cache` does not expand.

use orrery_diagnostics::{codes, Severity};

use crate::model::{all_steps, Step};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::GLOB_IN_CACHE_PATH,
    name: "glob-in-cache-path",
    severity: Severity::Warning,
    summary: "a `save_cache` path contains wildcard characters (`*`, `?`, `[`)",
    docs: include_str!("../../docs/rules/L1708.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for step in all_steps(cx.root()) {
        let Some(Step {
            name: "save_cache",
            args: Some(args),
            ..
        }) = Step::of(step)
        else {
            continue;
        };
        let Some(paths) = args.get("paths").and_then(|p| p.as_seq()) else {
            continue;
        };
        for path in paths {
            let Some(s) = path.as_str() else { continue };
            if s.contains("<<") {
                continue;
            }
            let Some(at) = s.find(['*', '?', '[']) else {
                continue;
            };
            let d = sink
                .finding(format!("cache path `{s}` contains a wildcard, which `save_cache` does not expand"))
                .at(cx.sub_span(path, at, at + 1), "wildcard")
                .with_help("list the directories or files themselves (a directory is cached with everything in it)");
            sink.push(d);
        }
    }
}
