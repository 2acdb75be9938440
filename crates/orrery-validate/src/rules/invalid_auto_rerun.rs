//! `L1705 invalid-auto-rerun`: automatic rerun settings CircleCI refuses: `max_auto_reruns`
//! outside 1–5 (on a `run` step or a workflow), `auto_rerun_delay` without `max_auto_reruns`, a
//! delay that is not `Ns` or `Nm` or exceeds 10 minutes, reruns on a `background` step.

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::{Node, Value};

use crate::model::{all_steps, section, Step};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::INVALID_AUTO_RERUN,
    name: "invalid-auto-rerun",
    severity: Severity::Error,
    summary: "`max_auto_reruns` / `auto_rerun_delay` out of range, malformed or misplaced",
    docs: include_str!("../../docs/rules/L1705.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    for wf in section(root, "workflows") {
        if let Some(n) = wf.value.get("max_auto_reruns") {
            check_count(sink, n, "workflow");
        }
    }
    for step in all_steps(root) {
        let Some(Step {
            name: "run",
            args: Some(args),
            ..
        }) = Step::of(step)
        else {
            continue;
        };
        let Some(map) = args.as_map() else { continue };
        let count = map.entry("max_auto_reruns");
        let delay = map.entry("auto_rerun_delay");
        if let Some(count) = count {
            check_count(sink, &count.value, "step");
        }
        if let Some(delay) = delay {
            if count.is_none() {
                let d = sink
                    .finding("`auto_rerun_delay` requires `max_auto_reruns`")
                    .at(delay.key_span, "a delay without a number of reruns")
                    .with_help("add `max_auto_reruns: N` (1–5), or delete the delay");
                sink.push(d);
            }
            check_delay(sink, &delay.value);
        }
        let background = map
            .entry("background")
            .filter(|b| b.value.as_bool() == Some(true));
        if let Some(background) = background {
            if let Some(first) = count.or(delay) {
                let d = sink
                    .finding(
                        "a `background` step cannot use `max_auto_reruns` or `auto_rerun_delay`",
                    )
                    .at(background.key_span, "not waited for, so never rerun")
                    .also(first.key_span, "rerun setting")
                    .with_help("remove `background: true` or the rerun settings");
                sink.push(d);
            }
        }
    }
}

fn check_count(sink: &mut Sink<'_>, n: &Node, place: &str) {
    let ok = match &n.value {
        Value::Int(i) => (1..=5).contains(i),
        Value::Str(s) => s.contains("<<"),
        _ => false,
    };
    if ok {
        return;
    }
    let shown = n
        .value
        .scalar_text()
        .unwrap_or_else(|| n.type_name().to_string());
    let d = sink
        .finding(format!(
            "{place} `max_auto_reruns` must be an integer from 1 to 5, got `{shown}`"
        ))
        .at(n.span, "out of range")
        .with_help("CircleCI reruns a failed step or workflow at most 5 times");
    sink.push(d);
}

fn check_delay(sink: &mut Sink<'_>, n: &Node) {
    let text = n.value.scalar_text().unwrap_or_default();
    if text.contains("<<") {
        return;
    }
    let problem = match delay_seconds(&text) {
        None => format!(
            "`auto_rerun_delay` must be seconds (`30s`) or minutes (`1m`–`10m`), got `{text}`"
        ),
        Some(s) if s > 600 => {
            format!("`auto_rerun_delay` must not exceed 10 minutes, got `{text}`")
        }
        Some(_) => return,
    };
    let d = sink
        .finding(problem)
        .at(n.span, "invalid delay")
        .with_help("write `Ns` for any number of seconds up to 600, or `Nm` for 1 to 10 minutes");
    sink.push(d);
}

/// `Ns` (N ≥ 1) or `Nm` (1 ≤ N ≤ 10), in seconds.
fn delay_seconds(s: &str) -> Option<u64> {
    let (digits, unit) = s.split_at(s.len().checked_sub(1)?);
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    match unit {
        "s" => Some(n),
        "m" if n <= 10 => Some(n * 60),
        _ => None,
    }
}
