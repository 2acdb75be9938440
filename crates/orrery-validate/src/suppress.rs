//! Suppression comments.
//!
//! Orrery's own spelling takes codes or rule names; the official language server's `cci-ignore`
//! spelling (LSP-PEERS: `# cci-ignore`, `# cci-ignore-next-line`, `# cci-ignore-start` /
//! `# cci-ignore-end`, `# cci-ignore-file`) is accepted with the same meaning, and without codes
//! it suppresses everything, as it does there.
//!
//! ```text
//! - image: circleci/node:14   # orrery-ignore L1101
//! # orrery-ignore-next-line L1102, unused-job -- reason after two dashes
//! # orrery-ignore-start L1005
//! # orrery-ignore-end
//! # orrery-ignore-file L1001
//! ```
//!
//! `ignore` covers its own line; `ignore-next-line` the next line that is not blank or only a
//! comment; a range covers the lines between its markers; `ignore-file` the whole file. A
//! diagnostic sits on the line where its primary span starts. Malformed comments (unknown
//! codes, unbalanced ranges) are reported as `L1000`.

use orrery_diagnostics::{codes, Diagnostic, FileId, Severity, Span};

/// Which findings a comment silences.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Codes {
    All,
    Only(Vec<String>),
}

impl Codes {
    fn covers(&self, d: &Diagnostic) -> bool {
        match self {
            Codes::All => true,
            Codes::Only(list) => list.iter().any(|c| {
                c.eq_ignore_ascii_case(d.code) || crate::rule(c).is_some_and(|r| r.code == d.code)
            }),
        }
    }
}

/// The suppression comments of one file.
#[derive(Clone, Debug, Default)]
pub struct Suppressions {
    /// `(first line, last line, codes)`, 1-based and inclusive.
    ranges: Vec<(usize, usize, Codes)>,
    /// Problems with the comments themselves.
    pub problems: Vec<Diagnostic>,
}

enum Directive {
    Line,
    NextLine,
    Start,
    End,
    File,
}

impl Suppressions {
    /// Reads the comments of `text`.
    pub fn parse(file: FileId, text: &str) -> Suppressions {
        let mut s = Suppressions::default();
        // Every directive has this in it; most configs have none, and are read in one search.
        if !text.contains("-ignore") {
            return s;
        }
        let lines: Vec<&str> = text.split('\n').collect();
        let mut line_starts = Vec::with_capacity(lines.len());
        let mut at = 0;
        for l in &lines {
            line_starts.push(at);
            at += l.len() + 1;
        }
        let mut open: Option<(usize, Codes, Span)> = None;
        for (i, line) in lines.iter().enumerate() {
            let number = i + 1;
            let Some((col, directive, rest)) = find_comment(line) else {
                continue;
            };
            let span = Span::new(
                file,
                line_starts[i] + col,
                line_starts[i] + line.trim_end_matches('\r').len(),
            );
            let codes = s.codes(rest, span);
            match directive {
                Directive::Line => s.ranges.push((number, number, codes)),
                Directive::NextLine => {
                    let target = lines
                        .iter()
                        .enumerate()
                        .skip(i + 1)
                        .find(|(_, l)| {
                            let t = l.trim();
                            !t.is_empty() && !t.starts_with('#')
                        })
                        .map_or(number + 1, |(j, _)| j + 1);
                    s.ranges.push((target, target, codes));
                }
                Directive::File => s.ranges.push((1, usize::MAX, codes)),
                Directive::Start => {
                    if let Some((_, _, first)) = &open {
                        let first = *first;
                        s.problem(
                            span,
                            "an ignore range is opened while another is still open",
                            "close the first range with `# orrery-ignore-end` before this line",
                        );
                        if let Some(d) = s.problems.pop() {
                            s.problems.push(d.also(first, "the open range starts here"));
                        }
                    }
                    open = Some((number, codes, span));
                }
                Directive::End => match open.take() {
                    Some((first, codes, _)) => s.ranges.push((first, number, codes)),
                    None => s.problem(
                        span,
                        "an ignore range is closed but none is open",
                        "remove this comment or open the range with `# orrery-ignore-start`",
                    ),
                },
            }
        }
        if let Some((first, codes, span)) = open {
            s.problem(
                span,
                "an ignore range is never closed",
                "add `# orrery-ignore-end` where the range should stop",
            );
            s.ranges.push((first, usize::MAX, codes));
        }
        s
    }

    fn problem(&mut self, span: Span, message: &str, help: &str) {
        self.problems.push(
            Diagnostic::new(codes::SUPPRESSION_COMMENT, Severity::Warning, message)
                .at(span, "this comment")
                .with_help(help),
        );
    }

    /// Parses the codes after a directive, reporting unknown ones.
    fn codes(&mut self, rest: &str, span: Span) -> Codes {
        let rest = rest.split(" --").next().unwrap_or("");
        let list: Vec<String> = rest
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        if list.is_empty() {
            return Codes::All;
        }
        for code in &list {
            if !is_known(code) {
                self.problem(
                    span,
                    &format!("`{code}` is not a diagnostic code or rule name"),
                    "write codes such as `L1001` or rule names such as `unused-job`, separated by spaces or commas; put a reason after ` -- `",
                );
            }
        }
        Codes::Only(list)
    }

    /// Whether a finding that starts on `line` (1-based) is silenced.
    pub fn suppresses(&self, line: usize, d: &Diagnostic) -> bool {
        self.ranges
            .iter()
            .any(|(first, last, codes)| (*first..=*last).contains(&line) && codes.covers(d))
    }
}

/// A code of any layer (`E0401`, `W0003`, `L1001`) or a lint rule's name.
fn is_known(code: &str) -> bool {
    let b = code.as_bytes();
    if b.len() == 5 && b[1..].iter().all(u8::is_ascii_digit) {
        return match b[0].to_ascii_uppercase() {
            b'E' | b'W' => true,
            b'L' => {
                code.eq_ignore_ascii_case(codes::SUPPRESSION_COMMENT) || crate::rule(code).is_some()
            }
            _ => false,
        };
    }
    crate::rule(code).is_some()
}

/// Finds a suppression comment in `line`: its column (byte), directive and the text after it.
fn find_comment(line: &str) -> Option<(usize, Directive, &str)> {
    let mut search = 0;
    while let Some(found) = line[search..].find('#') {
        let hash = search + found;
        search = hash + 1;
        if hash > 0 && !line[..hash].ends_with([' ', '\t']) {
            continue;
        }
        let after = line[hash + 1..].trim_start();
        let Some(rest) = after
            .strip_prefix("orrery-ignore")
            .or_else(|| after.strip_prefix("cci-ignore"))
        else {
            continue;
        };
        let (directive, rest) = if let Some(r) = rest.strip_prefix("-next-line") {
            (Directive::NextLine, r)
        } else if let Some(r) = rest.strip_prefix("-start") {
            (Directive::Start, r)
        } else if let Some(r) = rest.strip_prefix("-end") {
            (Directive::End, r)
        } else if let Some(r) = rest.strip_prefix("-file") {
            (Directive::File, r)
        } else {
            (Directive::Line, rest)
        };
        if !rest.is_empty() && !rest.starts_with([' ', '\t', '\r']) {
            continue;
        }
        return Some((hash, directive, rest.trim()));
    }
    None
}

/// Drops the diagnostics of `file` that the comments in `text` silence, and adds the
/// problems found in the comments. Diagnostics of other files pass through.
pub fn apply_suppressions(
    file: FileId,
    text: &str,
    diagnostics: Vec<Diagnostic>,
) -> Vec<Diagnostic> {
    let suppressions = Suppressions::parse(file, text);
    if suppressions.ranges.is_empty() {
        let mut out = diagnostics;
        out.extend(suppressions.problems);
        return out;
    }
    // Where each line break is, found once: counting them from the start for every finding
    // cost as much as the rest of the check on a large config.
    let breaks: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
    let line_of = |offset: u32| breaks.partition_point(|&b| b < offset as usize) + 1;
    let mut out: Vec<Diagnostic> = diagnostics
        .into_iter()
        .filter(|d| match &d.primary {
            Some(p) if p.span.file == file => !suppressions.suppresses(line_of(p.span.start), d),
            _ => true,
        })
        .collect();
    out.extend(suppressions.problems);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_suppressed(text: &str, code: &'static str) -> Vec<usize> {
        let s = Suppressions::parse(FileId(0), text);
        let d = Diagnostic::new(code, Severity::Warning, "x");
        (1..=text.lines().count())
            .filter(|l| s.suppresses(*l, &d))
            .collect()
    }

    #[test]
    fn same_line_and_next_line() {
        let text = "a: 1 # orrery-ignore L1001\n# orrery-ignore-next-line unused-command\n\n# other\nb: 2\nc: 3\n";
        assert_eq!(lines_suppressed(text, "L1001"), vec![1]);
        assert_eq!(lines_suppressed(text, "L1002"), vec![5]);
        assert_eq!(lines_suppressed(text, "L1003"), Vec::<usize>::new());
    }

    #[test]
    fn cci_ignore_without_codes_covers_everything() {
        let text = "a: 1\n# cci-ignore-start\nb: 2\n# cci-ignore-end\nc: 3 # cci-ignore\n";
        assert_eq!(lines_suppressed(text, "E0401"), vec![2, 3, 4, 5]);
    }

    #[test]
    fn hash_inside_a_value_is_not_a_comment() {
        assert!(find_comment("a: b#orrery-ignore").is_none());
        assert!(find_comment("a: 1 # orrery-ignored").is_none());
        assert!(find_comment("a: 1 # orrery-ignore").is_some());
    }

    #[test]
    fn malformed_comments_are_reported() {
        let s = Suppressions::parse(
            FileId(0),
            "# orrery-ignore-end\n# orrery-ignore-start\na: 1 # orrery-ignore X9\n",
        );
        let messages: Vec<&str> = s.problems.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "an ignore range is closed but none is open",
                "`X9` is not a diagnostic code or rule name",
                "an ignore range is never closed"
            ]
        );
    }
}
