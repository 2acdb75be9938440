//! `L1501 shellcheck`: what the host's shell linter (shellcheck) finds in the command of a
//! `run` step, placed on the config's own lines.
//!
//! Every `run` step of the config (jobs, commands, inline orbs, steps defaults) whose shell is
//! a POSIX shell is linted: the step's `shell`, else its job's `shell`, else CircleCI's
//! default `/bin/bash -eo pipefail`. Steps of jobs that may run on Windows (PowerShell by
//! default) are skipped unless they name a POSIX shell. `<< … >>` templates are replaced by
//! underscores of the same length before linting, so they make no noise and columns stay put;
//! `\<<` (an escaped heredoc) reads as `<<`. A whole-template command is not linted.
//!
//! Positions: in a plain or quoted single-line command, and in a literal block (`|`), a finding
//! points at its own characters (each line of the value is found verbatim in the file, else no
//! line is trusted); in folded blocks (`>`), multi-line flow scalars and commands with escapes,
//! at the whole command. Shellcheck's `error` and `warning` findings take the rule's severity; `info` and
//! `style` are at most notes. Findings about sourced files the linter cannot follow (SC1090,
//! SC1091) are dropped: they describe the linter's view, not the script.

use orrery_diagnostics::{codes, Severity, Span};
use orrery_yaml::{Node, Value};

use crate::model::{section, strings_and_keys, walk};
use crate::{Context, Rule, ShellFinding, ShellScript, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::SHELLCHECK,
    name: "shellcheck",
    severity: Severity::Warning,
    summary: "shellcheck finds a problem in the command of a `run` step",
    docs: include_str!("../../docs/rules/L1501.md"),
    check,
};

const DEFAULT_SHELL: &str = "/bin/bash -eo pipefail";
const IGNORED: &[&str] = &["SC1090", "SC1091"];

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let pending = scripts(cx);
    if pending.is_empty() {
        return;
    }
    // One request for the whole config: a linter process per script would be far slower.
    let scripts: Vec<ShellScript<'_>> = pending
        .iter()
        .map(|p| ShellScript {
            text: &p.prepared,
            shell: p.shell,
        })
        .collect();
    let Some(all_findings) = cx.input.host.shellcheck_all(&scripts) else {
        return;
    };
    for (p, findings) in pending.iter().zip(all_findings) {
        let places = Places::new(cx, p.command, p.script);
        for f in findings {
            if IGNORED.contains(&f.code.as_str()) || (f.code == "SC2164" && exits_on_error(p.shell))
            {
                continue;
            }
            push_finding(sink, &places, p.command, &f);
        }
    }
}

/// Every `run` command of the config the linter is asked about, ready for it.
pub(crate) fn scripts<'a>(cx: &Context<'a>) -> Vec<Pending<'a>> {
    let root = cx.root();
    // Runs inside jobs, with the job's shell and whether it may be a Windows job.
    let mut in_jobs: Vec<(&Node, Option<&str>, bool)> = Vec::new();
    let mut scopes = vec![root];
    scopes.extend(
        section(root, "orbs")
            .iter()
            .map(|e| &e.value)
            .filter(|v| v.as_map().is_some()),
    );
    let mut job_spans = Vec::new();
    for scope in &scopes {
        for job in section(scope, "jobs") {
            job_spans.push(job.value.span);
            let shell = job.value.get("shell").and_then(Node::as_str);
            in_jobs.push((&job.value, shell, mentions_windows(&job.value)));
        }
    }
    let mut pending = Vec::new();
    for (job, shell, windows) in in_jobs {
        for run in runs(job) {
            pending.extend(prepare(cx, run, shell, windows));
        }
    }
    // Runs outside jobs (commands, parameter defaults): the job that runs them is unknown.
    let windows_anywhere = mentions_windows(root);
    let in_a_job = SpanSet::new(job_spans);
    for run in runs(root) {
        if !in_a_job.contains(run.span) {
            pending.extend(prepare(cx, run, None, windows_anywhere));
        }
    }
    pending
}

/// Spans, asked whether one of them contains a span in logarithmic time (a config of ten
/// thousand jobs has as many spans and twice as many `run` steps).
struct SpanSet {
    /// Sorted by file and start, each with the furthest end among it and those before it in
    /// its file.
    sorted: Vec<(Span, u32)>,
}

impl SpanSet {
    fn new(mut spans: Vec<Span>) -> SpanSet {
        spans.sort_by_key(|s| (s.file.0, s.start));
        let mut sorted: Vec<(Span, u32)> = Vec::with_capacity(spans.len());
        for span in spans {
            let furthest = match sorted.last() {
                Some((last, end)) if last.file == span.file => (*end).max(span.end),
                _ => span.end,
            };
            sorted.push((span, furthest));
        }
        SpanSet { sorted }
    }

    /// Whether a span of the set starts at or before `inner` and ends at or after it.
    fn contains(&self, inner: Span) -> bool {
        let after = self
            .sorted
            .partition_point(|(s, _)| (s.file.0, s.start) <= (inner.file.0, inner.start));
        after > 0 && {
            let (span, furthest) = self.sorted[after - 1];
            span.file == inner.file && furthest >= inner.end
        }
    }
}

/// A `run` command ready for the linter.
pub(crate) struct Pending<'a> {
    command: &'a Node,
    script: &'a str,
    /// The script with templates neutralised.
    pub(crate) prepared: String,
    pub(crate) shell: &'a str,
}

/// Whether a job (or config) may run on Windows, where the default shell is PowerShell.
fn mentions_windows(node: &Node) -> bool {
    let mut words = Vec::new();
    strings_and_keys(node, &mut words);
    // Compared in place: lowering every string of a large config was a measurable part of a
    // check.
    words.iter().any(|w| {
        w.eq_ignore_ascii_case("windows")
            || w.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("win/"))
            || contains_ignoring_case(w, "windows-server")
            || contains_ignoring_case(w, "powershell")
    })
}

/// Whether `haystack` contains `needle` (lowercase ASCII), ignoring ASCII case.
fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The values of the `run` steps under `node`.
fn runs(node: &Node) -> Vec<&Node> {
    let mut out = Vec::new();
    walk(node, &mut |_, n| {
        let Some(items) = n.as_seq() else { return };
        for item in items {
            if let Some(m) = item.as_map().filter(|m| m.len() == 1) {
                if m.entries()[0].key == "run" {
                    out.push(&m.entries()[0].value);
                }
            }
        }
    });
    out
}

fn prepare<'a>(
    cx: &Context<'a>,
    run: &'a Node,
    job_shell: Option<&'a str>,
    windows: bool,
) -> Option<Pending<'a>> {
    let (command, step_shell) = match &run.value {
        Value::Str(_) => (run, None),
        Value::Map(_) => (run.get("command")?, run.get("shell").and_then(Node::as_str)),
        _ => return None,
    };
    let script = command.as_str()?;
    if command.span.file != cx.input.file {
        return None;
    }
    let shell = match step_shell.or(job_shell) {
        Some(s) => s,
        None if windows => return None,
        None => DEFAULT_SHELL,
    };
    if shell.contains("<<") || !is_posix_shell(shell) {
        return None;
    }
    Some(Pending {
        command,
        script,
        prepared: neutralise_templates(script)?,
        shell,
    })
}

fn push_finding(sink: &mut Sink<'_>, places: &Places, command: &Node, f: &ShellFinding) {
    let span = places.span(f).unwrap_or(command.span);
    let mut d = sink
        .finding(format!("shellcheck {}: {}", f.code, f.message))
        .at(span, f.code.clone())
        .with_help(format!(
            "see the shellcheck wiki page for {}; silence it with `# shellcheck disable={}` on the line before, in the script",
            f.code, f.code
        ));
    if matches!(f.level.as_str(), "info" | "style") {
        d.severity = Severity::Note;
    }
    sink.push(d);
}

/// Whether the shell runs with `-e` (`-e`, `-eo pipefail`, `-xe`…), so a failing `cd` stops it.
fn exits_on_error(shell: &str) -> bool {
    shell
        .split_whitespace()
        .skip(1)
        .any(|flag| flag.starts_with('-') && !flag.starts_with("--") && flag.contains('e'))
}

/// Whether shellcheck understands this shell.
fn is_posix_shell(shell: &str) -> bool {
    let program = shell.split_whitespace().next().unwrap_or("");
    let name = program.rsplit(['/', '\\']).next().unwrap_or(program);
    let name = name.strip_suffix(".exe").unwrap_or(name);
    let name = if name == "env" {
        shell.split_whitespace().nth(1).unwrap_or("")
    } else {
        name
    };
    matches!(name, "bash" | "sh" | "dash" | "ash" | "ksh")
}

/// The script with every `<< … >>` tag turned into underscores of the same number of
/// characters, and `\<<` into ` <<`; `None` when the script is one template and nothing else.
fn neutralise_templates(script: &str) -> Option<String> {
    let trimmed = script.trim();
    if trimmed.starts_with("<<") && trimmed.ends_with(">>") && trimmed[2..].find("<<").is_none() {
        return None;
    }
    let mut out = String::with_capacity(script.len());
    let mut rest = script;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("\\<<") {
            out.push_str(" <<");
            rest = after;
        } else if rest.starts_with("<<") {
            match rest.find(">>") {
                Some(end) if !rest[..end].contains('\n') => {
                    let tag = &rest[..end + 2];
                    out.extend(std::iter::repeat_n('_', tag.chars().count()));
                    rest = &rest[end + 2..];
                }
                _ => {
                    out.push_str("<<");
                    rest = &rest[2..];
                }
            }
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    Some(out)
}

/// Where the lines of a command's value are in the file.
struct Places {
    /// `(value byte offset of a line, file byte offset of that line)`, or empty when the value
    /// cannot be mapped character by character.
    lines: Vec<(usize, usize)>,
    file: orrery_diagnostics::FileId,
    value: String,
}

impl Places {
    fn new(cx: &Context<'_>, node: &Node, value: &str) -> Places {
        let mut lines = Vec::new();
        let whole = cx.sub_span(node, 0, value.len());
        if whole != node.span
            || (!value.contains('\n') && (node.span.end - node.span.start) as usize == value.len())
        {
            // Plain or quoted on one line, written verbatim.
            lines.push((0, whole.start as usize));
        } else if let Some(block) = block_lines(cx.input.text, node, value) {
            lines = block;
        }
        Places {
            lines,
            file: node.span.file,
            value: value.to_string(),
        }
    }

    /// The file span of a finding, `None` when it cannot be placed exactly.
    fn span(&self, f: &ShellFinding) -> Option<Span> {
        let start = self.offset(f.line, f.column)?;
        let end = self
            .offset(f.end_line, f.end_column)
            .filter(|e| *e > start && f.end_line == f.line)
            .unwrap_or(start + 1);
        Some(Span::new(self.file, start, end))
    }

    /// File byte offset of 1-based `line` and character `column` of the value.
    fn offset(&self, line: u32, column: u32) -> Option<usize> {
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        let line_start = self
            .value
            .split_inclusive('\n')
            .take(index)
            .map(str::len)
            .sum::<usize>();
        let text = self.value.get(line_start..)?.lines().next().unwrap_or("");
        let chars = usize::try_from(column).ok()?.checked_sub(1)?;
        let byte = text
            .char_indices()
            .nth(chars)
            .map_or(text.len(), |(b, _)| b);
        let (_, file_start) = self.lines.iter().find(|(v, _)| *v == line_start).copied()?;
        Some(file_start + byte)
    }
}

/// For a block scalar, where each non-empty line of its value starts in the file; `None`
/// unless every line is found verbatim, in order, at the indentation of the first one (so
/// folded blocks and multi-line flow scalars, whose lines were joined, are refused).
fn block_lines(text: &str, node: &Node, value: &str) -> Option<Vec<(usize, usize)>> {
    let start = node.span.start as usize;
    let line_start = text.get(..start)?.rfind('\n').map_or(0, |i| i + 1);
    let indent = start - line_start;
    if !text.get(line_start..start)?.bytes().all(|b| b == b' ') {
        return None;
    }
    let mut out = Vec::new();
    let mut file_line = line_start;
    let mut value_line = 0;
    let mut file_lines = text.get(line_start..)?.split_inclusive('\n');
    for line in value.split_inclusive('\n') {
        let content = line.strip_suffix('\n').unwrap_or(line);
        let file = file_lines.next()?;
        let file_content = file.strip_suffix('\n').unwrap_or(file);
        let file_content = file_content.strip_suffix('\r').unwrap_or(file_content);
        if content.is_empty() {
            if !file_content.trim().is_empty() {
                return None;
            }
        } else {
            if file_content.get(indent..)? != content {
                return None;
            }
            out.push((value_line, file_line + indent));
        }
        file_line += file.len();
        value_line += line.len();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_become_underscores_of_the_same_width() {
        assert_eq!(
            neutralise_templates("echo << parameters.x >> \\<<EOF").as_deref(),
            Some("echo __________________  <<EOF")
        );
        assert_eq!(neutralise_templates(" << parameters.cmd >>\n"), None);
        assert_eq!(
            neutralise_templates("a <<é>> b").as_deref(),
            Some("a _____ b")
        );
    }

    #[test]
    fn posix_shells_are_recognised() {
        assert!(is_posix_shell("/bin/bash -eo pipefail"));
        assert!(is_posix_shell("/usr/bin/env bash"));
        assert!(is_posix_shell("sh"));
        assert!(is_posix_shell("C:\\Git\\bin\\bash.exe"));
        assert!(!is_posix_shell("powershell.exe -ExecutionPolicy Bypass"));
        assert!(!is_posix_shell("/usr/bin/python3"));
        assert!(!is_posix_shell("zsh"));
    }
}
