//! Code actions: every fix the checks know, "did you mean", and suppression comments.

use orrery_diagnostics::{Applicability, Diagnostic, Span};

use crate::navigate::TextEdit;
use crate::Analysis;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    /// Resolves the finding.
    QuickFix,
    /// Silences the finding with a comment.
    Suppress,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    pub title: String,
    pub kind: ActionKind,
    /// The diagnostic it answers (an index into [`Analysis::diagnostics`]).
    pub diagnostic: usize,
    pub edits: Vec<TextEdit>,
    /// Whether the editor may apply it without asking (a safe fix).
    pub preferred: bool,
}

impl Analysis {
    /// The actions for the diagnostics of the document that touch `start..end`.
    pub fn actions(&self, start: u32, end: u32) -> Vec<Action> {
        let mut out = Vec::new();
        for (i, d) in self.diagnostics().iter().enumerate() {
            let Some(primary) = d.primary.as_ref().filter(|p| p.span.file == self.file()) else {
                continue;
            };
            let span = primary.span;
            if span.end < start || span.start > end {
                continue;
            }
            if let Some(fix) = &d.fix {
                out.push(Action {
                    title: fix.title.clone(),
                    kind: ActionKind::QuickFix,
                    diagnostic: i,
                    edits: fix
                        .edits
                        .iter()
                        .map(|e| TextEdit {
                            span: e.span,
                            text: e.replacement.clone(),
                        })
                        .collect(),
                    preferred: fix.applicability == Applicability::Safe,
                });
            } else if let Some(suggestion) = did_you_mean(d) {
                out.push(Action {
                    title: format!("replace with `{suggestion}`"),
                    kind: ActionKind::QuickFix,
                    diagnostic: i,
                    edits: vec![TextEdit {
                        span,
                        text: suggestion,
                    }],
                    preferred: false,
                });
            }
            // Errors the compiler reports cannot be silenced (the config would still fail).
            if !d.is_error() || d.code.starts_with('L') {
                out.push(self.suppress(i, d, span));
            }
        }
        out
    }

    /// `# orrery-ignore-next-line CODE` above the finding's line, indented like it.
    fn suppress(&self, index: usize, d: &Diagnostic, span: Span) -> Action {
        let text = self.text();
        let line_start = text[..(span.start as usize).min(text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let indent: String = text[line_start..]
            .chars()
            .take_while(|c| *c == ' ')
            .collect();
        let title = match orrery_validate::rule(d.code) {
            Some(rule) => format!("suppress {} ({}) on this line", d.code, rule.name),
            None => format!("suppress {} on this line", d.code),
        };
        Action {
            title,
            kind: ActionKind::Suppress,
            diagnostic: index,
            edits: vec![TextEdit {
                span: Span::new(self.file(), line_start, line_start),
                text: format!("{indent}# orrery-ignore-next-line {}\n", d.code),
            }],
            preferred: false,
        }
    }
}

/// The suggestion of a "did you mean `x`?" help.
fn did_you_mean(d: &Diagnostic) -> Option<String> {
    let help = d.help.as_deref()?;
    let rest = help.split("did you mean `").nth(1)?;
    let end = rest.find('`')?;
    Some(rest[..end].to_string())
}
