//! `L1710 invalid-cache-retention`: a job's `retention.caches` that is not a number of days
//! from `1d` to `15d`.

use orrery_diagnostics::{codes, Severity};

use crate::model::definitions;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::INVALID_CACHE_RETENTION,
    name: "invalid-cache-retention",
    severity: Severity::Error,
    summary: "`retention.caches` is not between `1d` and `15d`",
    docs: include_str!("../../docs/rules/L1710.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for job in definitions(cx.root(), "jobs") {
        let Some(caches) = job.value.get("retention").and_then(|r| r.get("caches")) else {
            continue;
        };
        let text = caches.value.scalar_text().unwrap_or_default();
        if text.contains("<<") || valid(&text) {
            continue;
        }
        let d = sink
            .finding(format!(
                "cache retention must be from `1d` to `15d`, got `{text}`"
            ))
            .at(caches.span, "out of range")
            .with_help("write a number of days from 1 to 15 followed by `d`, such as `7d`");
        sink.push(d);
    }
}

/// `^([1-9]|1[0-5])d$`
fn valid(s: &str) -> bool {
    s.strip_suffix('d')
        .filter(|n| !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| (1..=15).contains(&n))
}
