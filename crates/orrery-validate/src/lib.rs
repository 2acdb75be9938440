//! Lint rules over a CircleCI config: stable codes, default severities, fixes as data and
//! suppression comments.
//!
//! The crate is pure, like the compiler: [`validate`] takes the parsed config (an
//! [`orrery_yaml::Node`] and the text it came from, for suppression comments), optionally the
//! compiler's output, and a [`Host`] for questions about the project (files, shellcheck), and
//! returns [`Diagnostic`]s. It never reads files and never fails.
//!
//! Each rule lives in its own file under `src/rules/` and is a [`Rule`] value: a code from
//! [`orrery_diagnostics::codes`] (`L` + four digits), a name that reads as the bad pattern
//! (`unused-job`), a default severity, a one-line summary, and documentation
//! (`docs/rules/CODE.md`) whose `yaml invalid` and `yaml valid` examples are run by the tests.

mod fix;
mod flow;
mod host;
mod model;
mod offerings;
mod rules;
mod settings;
mod suppress;

use orrery_compiler::Compiled;
use orrery_diagnostics::{codes, Diagnostic, FileId, Severity, Span};
use orrery_yaml::Node;

pub use fix::apply_fixes;
pub use host::{shellcheck_one, Host, NoHost, ShellFinding, ShellScript};
pub use orrery_schema::Memo as SchemaMemo;
pub use settings::{Level, Settings, SETTINGS_FILE};
pub use suppress::{apply_suppressions, Suppressions};

/// What the rules look at.
#[derive(Clone, Copy)]
pub struct Input<'a> {
    /// The file `root` was parsed from; diagnostics point into it.
    pub file: FileId,
    /// The config's text, for suppression comments and precise spans inside scalars.
    pub text: &'a str,
    /// The parsed config (aliases expanded, merge keys applied).
    pub root: &'a Node,
    /// The config's anchors, from the same parse ([`orrery_yaml::Parsed::anchors`]).
    pub anchors: &'a [orrery_yaml::Anchor],
    /// The compiler's output for this config, when the caller compiled it. Rules that need the
    /// job graph or expanded jobs read it; rules that only need the source do not.
    pub compiled: Option<&'a Compiled>,
    /// The project around the config (files, external linters); [`NoHost`] when there is none.
    pub host: &'a dyn Host,
}

/// One lint rule. Rules are values (see [`rules()`]); their check is a plain function.
pub struct Rule {
    /// Stable code, `L` + four digits; never reused.
    pub code: &'static str,
    /// Kebab-case name of the bad pattern, accepted wherever a code is (`.orrery.toml`,
    /// suppression comments).
    pub name: &'static str,
    pub severity: Severity,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// Markdown: what it does, why, an `invalid` and a `valid` example, the fix.
    pub docs: &'static str,
    pub(crate) check: fn(&Context<'_>, &mut Sink<'_>),
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.name)
    }
}

/// Every rule, in code order.
pub fn rules() -> &'static [Rule] {
    rules::ALL
}

/// The rule with this code or name.
pub fn rule(code_or_name: &str) -> Option<&'static Rule> {
    rules::ALL
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(code_or_name) || r.name == code_or_name)
}

/// The scripts rule L1501 (`shellcheck`) will ask the host to lint for `input`, with their
/// shells; none when the rule is off. A caller checking many configs lints them all at once
/// first (one linter process, not one per config), then answers the rule from what it has.
pub fn shell_scripts(input: &Input<'_>, settings: &Settings) -> Vec<(String, String)> {
    let rule = &rules::shellcheck::RULE;
    if settings.severity(rule).is_none() {
        return Vec::new();
    }
    rules::shellcheck::scripts(&Context::new(*input))
        .into_iter()
        .map(|p| (p.prepared, p.shell.to_string()))
        .collect()
}

/// Runs every enabled rule over `input`, applies the suppression comments of `input.text`
/// and returns the findings in source order.
pub fn validate(input: &Input<'_>, settings: &Settings) -> Vec<Diagnostic> {
    report(input, Vec::new(), settings, Vec::new())
}

/// Everything to report about one config: the diagnostics the caller already has for it (the
/// compiler's), the schema's structural findings and the rules' findings, with suppression
/// comments applied to all, in source order. Errors from elsewhere are kept whatever the comments say: silencing them would not
/// make the config compile.
pub fn check(input: &Input<'_>, reported: Vec<Diagnostic>, settings: &Settings) -> Vec<Diagnostic> {
    let schema = orrery_schema::check_config(input.file, input.root);
    report(input, reported, settings, schema)
}

/// [`check`] of a new version of a config, the schema reusing what it found in the previous
/// version (`previous`: its root and the memo its check returned) where that did not change;
/// always the same findings as `check`. Also returns the memo for the next version.
pub fn check_reusing(
    input: &Input<'_>,
    reported: Vec<Diagnostic>,
    settings: &Settings,
    previous: Option<(&Node, &SchemaMemo)>,
) -> (Vec<Diagnostic>, SchemaMemo) {
    let (schema, memo) = orrery_schema::check_config_reusing(input.file, input.root, previous);
    (report(input, reported, settings, schema), memo)
}

/// The findings to report, given the schema's (none when only the rules run).
fn report(
    input: &Input<'_>,
    reported: Vec<Diagnostic>,
    settings: &Settings,
    schema: Vec<Diagnostic>,
) -> Vec<Diagnostic> {
    let (errors, mut reported): (Vec<_>, Vec<_>) = reported.into_iter().partition(|d| d.is_error());
    let mut findings = run_rules(input, settings);
    // A rule that checks what the compiler checks too says nothing where the compiler already
    // refused the same place: one fault, one report.
    findings.retain(|f| {
        !SAME_AS_COMPILER.iter().any(|(rule, compiler)| {
            f.code == *rule
                && errors
                    .iter()
                    .any(|e| e.code == *compiler && same_place(e, f))
        })
    });
    // The schema's structural findings, where neither the compiler (its wording follows
    // CircleCI's) nor a rule (more specific, and the user can configure it) has already said
    // the same place is wrong.
    let commands = model::steps_invoking_commands(input.root);
    let schema: Vec<Diagnostic> = schema
        .into_iter()
        .filter(|d| !commands.iter().any(|step| within(d, *step)))
        .filter(|d| {
            !errors
                .iter()
                .chain(&reported)
                .chain(&findings)
                .any(|e| same_place(e, d))
        })
        .collect();
    findings.extend(schema);
    findings.append(&mut reported);
    let mut out = apply_suppressions(input.file, input.text, findings);
    out.extend(errors);
    out.sort_by_key(|d| {
        d.primary
            .as_ref()
            .map_or((u32::MAX, u32::MAX, u32::MAX), |p| {
                (p.span.file.0, p.span.start, p.span.end)
            })
    });
    out
}

/// Rules (first) that make the same check as a compiler code (second); the compiler checks
/// only configs it gets to, the rules also the others.
const SAME_AS_COMPILER: &[(&str, &str)] = &[
    (codes::INVALID_JOB_TYPE, codes::JOB_DEFINITION),
    (codes::RESERVED_PARAMETER_NAME, codes::JOB_DEFINITION),
];

/// Whether a diagnostic points inside `span`.
fn within(d: &Diagnostic, span: Span) -> bool {
    d.primary.as_ref().is_some_and(|p| {
        p.span.file == span.file && span.start <= p.span.start && p.span.end <= span.end
    })
}

/// Whether two diagnostics point at overlapping text (an empty span counts as one character).
fn same_place(a: &Diagnostic, b: &Diagnostic) -> bool {
    match (&a.primary, &b.primary) {
        (Some(a), Some(b)) => {
            let (a, b) = (a.span, b.span);
            a.file == b.file && a.start < b.end.max(b.start + 1) && b.start < a.end.max(a.start + 1)
        }
        _ => false,
    }
}

fn run_rules(input: &Input<'_>, settings: &Settings) -> Vec<Diagnostic> {
    let cx = Context::new(*input);
    let mut out = Vec::new();
    for rule in rules::ALL {
        let Some(severity) = settings.severity(rule) else {
            continue;
        };
        let mut sink = Sink {
            rule,
            severity,
            out: Vec::new(),
        };
        (rule.check)(&cx, &mut sink);
        out.append(&mut sink.out);
    }
    merge_repeats(out)
}

/// Merges findings of one code at one place with one label: a YAML anchor merged into several
/// elements is checked once per element, but the user has one place to fix. The first finding
/// stays; the others add their related places to it. (Distinct labels at one place are distinct
/// problems, such as two shellcheck codes on one word.)
fn merge_repeats(findings: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::with_capacity(findings.len());
    for d in findings {
        let place = d.primary.as_ref();
        let first = out.iter_mut().find(|o| {
            o.code == d.code
                && place.is_some()
                && o.primary.as_ref().map(|p| (p.span, &p.message))
                    == place.map(|p| (p.span, &p.message))
        });
        match first {
            Some(first) => {
                for label in d.secondary {
                    if !first.secondary.contains(&label) {
                        first.secondary.push(label);
                    }
                }
            }
            None => out.push(d),
        }
    }
    out
}

/// What a rule's check function sees.
pub(crate) struct Context<'a> {
    pub(crate) input: Input<'a>,
    /// The workflows as graphs, read once for the rules that need them.
    flows: std::cell::OnceCell<Vec<flow::Flow<'a>>>,
}

impl<'a> Context<'a> {
    fn new(input: Input<'a>) -> Context<'a> {
        Context {
            input,
            flows: std::cell::OnceCell::new(),
        }
    }

    /// The config's workflows as graphs ([`flow::flows`]).
    pub(crate) fn flows(&self) -> &[flow::Flow<'a>] {
        self.flows
            .get_or_init(|| flow::flows(self.input.root, self.input.compiled))
    }

    pub(crate) fn root(&self) -> &'a Node {
        self.input.root
    }

    /// The span of bytes `start..end` of the string value of `node`, when the source writes the
    /// value verbatim (plain, or quoted without escapes); otherwise the whole node.
    pub(crate) fn sub_span(&self, node: &Node, start: usize, end: usize) -> Span {
        let Some(value) = node.as_str() else {
            return node.span;
        };
        let raw = self
            .input
            .text
            .get(node.span.start as usize..node.span.end as usize)
            .unwrap_or("");
        let offset = if raw == value {
            0
        } else if raw.len() == value.len() + 2
            && (raw.starts_with('"') || raw.starts_with('\''))
            && &raw[1..raw.len() - 1] == value
        {
            1
        } else {
            return node.span;
        };
        let base = node.span.start as usize + offset;
        Span::new(node.span.file, base + start, base + end)
    }
}

impl Context<'_> {
    /// The whole lines of a block-style `key: value` entry, for a fix that deletes it: from the
    /// start of the key's line to the end of the value's line, newline included. `None` when
    /// something else shares those lines (a flow mapping `{a: 1, b: 2}`, a `- ` item marker, a
    /// value that continues on later lines past `value_end`).
    pub(crate) fn entry_lines(&self, entry: &orrery_yaml::Entry) -> Option<Span> {
        let (key, value) = (entry.key_span, entry.value.span);
        let text = self.input.text;
        // A null value (`key:` alone) has no text of its own; the parser's span for it may
        // reach the next token.
        let value_end = if entry.value.is_null() {
            key.end
        } else {
            value.end
        };
        let (start, end) = (key.start as usize, value_end.max(key.end) as usize);
        let line_start = text.get(..start)?.rfind('\n').map_or(0, |i| i + 1);
        if !text[line_start..start].bytes().all(|b| b == b' ') {
            return None;
        }
        let rest = text.get(end..)?;
        let line_end = rest.find('\n').map_or(text.len(), |i| end + i + 1);
        let mut tail = text[end..line_end].trim();
        if entry.value.is_null() {
            tail = tail.strip_prefix(':').unwrap_or(tail).trim();
        }
        if !(tail.is_empty() || tail.starts_with('#')) {
            return None;
        }
        Some(Span::new(key.file, line_start, line_end))
    }
}

/// Collects one rule's findings with the rule's code and configured severity.
pub(crate) struct Sink<'r> {
    rule: &'r Rule,
    severity: Severity,
    out: Vec<Diagnostic>,
}

impl Sink<'_> {
    /// A diagnostic of this rule; give it a place with `.at(...)` and pass it to [`Sink::push`].
    pub(crate) fn finding(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.rule.code, self.severity, message)
    }

    pub(crate) fn push(&mut self, d: Diagnostic) {
        self.out.push(d);
    }
}

/// The span from the start of `a` to the end of `b` (a key and its value).
pub(crate) fn cover(a: Span, b: Span) -> Span {
    Span::new(
        a.file,
        a.start.min(b.start) as usize,
        a.end.max(b.end) as usize,
    )
}
