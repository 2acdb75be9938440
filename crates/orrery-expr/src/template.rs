//! The `<< >>` template parser (CONFIG-SPEC 2.4, 2.5).
//!
//! Grammar (following the server-side replacer): the input is split into
//! text, `<<`, `<<#`, `<<^`, `<</` and `>>` tokens; `\<<` is text (rendered
//! `<<`) and `\\<<` is a `\` followed by a tag. A tag body is the single text
//! run after `<<`, so it ends at the first `>>` (or at the next `<<`, which
//! makes the tag unclosed). A lone `>>` is text.
//!
//! Section tags that stand alone on their line (Mustache "standalone" rule)
//! are removed together with their line's indentation and line ending.
//!
//! Offsets are byte offsets into the input. Nothing here panics on any input.

use std::fmt;

use crate::expr::{self, Expr, ExprError, ScanErrorKind};

/// Longest tag body, in characters.
pub const MAX_EXPRESSION_CHARS: usize = 2048;
/// Deepest nesting of sections.
pub const MAX_SECTION_NESTING: usize = 64;

const UNCLOSED_TAG: &str = "Unclosed '<<' tag ('<<' must be escaped as '\\<<' in config v2.1+)";

/// A piece of a parsed template.
#[derive(Clone, Debug, PartialEq)]
pub enum Segment {
    /// Literal text, escapes already resolved (`\<<` -> `<<`), standalone
    /// section lines already removed.
    Text(String),
    /// `<< body >>`; `body` is trimmed; `offset`/`len` is the byte range of
    /// the whole tag (from `<<` to `>>` inclusive) in the input.
    Tag {
        body: String,
        offset: usize,
        len: usize,
    },
    /// `<<# name >>…<</ name >>` or (inverted) `<<^ name >>…<</ name >>`.
    /// `offset`/`len` is the byte range of the opening tag `<<# name >>`.
    Section {
        name: String,
        inverted: bool,
        offset: usize,
        len: usize,
        body: Vec<Segment>,
    },
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub segments: Vec<Segment>,
}

/// A template syntax error; `offset`/`len` is a byte range in the input.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateError {
    pub message: String,
    pub offset: usize,
    pub len: usize,
}

impl TemplateError {
    fn new(message: impl Into<String>, offset: usize, len: usize) -> Self {
        TemplateError {
            message: message.into(),
            offset,
            len,
        }
    }

    /// Same layout as [`ExprError::render`]: message, the input line, carets.
    pub fn render(&self, input: &str) -> String {
        ExprError {
            message: self.message.clone(),
            offset: self.offset,
            len: self.len,
        }
        .render(input)
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TemplateError {}

/// Whether `s` matches the replacer's lax name pattern `^[\w-]+(\.\S+)*$`
/// (ASCII `\w`). Section names must match it; a tag body that is not a valid
/// expression but matches it is used whole as a name (2.2.7).
pub fn is_tag_name(s: &str) -> bool {
    let head_len = s
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
        .count();
    if head_len == 0 {
        return false;
    }
    let rest = s.get(head_len..).unwrap_or("");
    rest.is_empty()
        || (rest.starts_with('.')
            && rest.chars().count() >= 2
            && !rest.chars().any(char::is_whitespace))
}

/// What a tag body means: an expression, or (2.2.7) a plain name.
#[derive(Clone, Debug)]
pub enum TagBody {
    Expr(Expr),
    /// The body does not scan as an expression (unexpected character) but
    /// matches `^[\w-]+(\.\S+)*$`: look it up as a name, e.g.
    /// `pipeline.parameters.url:with:colons`.
    Name(String),
}

/// Interprets a (trimmed) tag body per 2.2.7. Error offsets are relative to
/// `body`; add [`tag_body_offset`] to map them into the template input.
pub fn parse_tag_body(body: &str) -> Result<TagBody, ExprError> {
    match expr::parse_detailed(body) {
        Ok(e) => Ok(TagBody::Expr(e)),
        Err(e) if e.kind == ScanErrorKind::UnexpectedCharacter && is_tag_name(body.trim()) => {
            Ok(TagBody::Name(body.trim().to_string()))
        }
        Err(e) => Err(e.error),
    }
}

/// Byte offset in `input` where the trimmed body of the tag starting at
/// `tag_offset` (a [`Segment::Tag`] offset) begins.
pub fn tag_body_offset(input: &str, tag_offset: usize) -> usize {
    let start = tag_offset.saturating_add(2);
    match input.get(start..) {
        Some(rest) => start + (rest.len() - rest.trim_start().len()),
        None => start.min(input.len()),
    }
}

// ---------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    /// `\<<`
    Escaped,
    TagStart,
    SectionStart {
        inverted: bool,
    },
    SectionEnd,
    TagEnd,
    Eof,
}

#[derive(Clone, Copy, Debug)]
struct Tok {
    kind: Kind,
    start: usize,
    end: usize,
}

impl Tok {
    fn is_text(&self) -> bool {
        matches!(self.kind, Kind::Text | Kind::Escaped)
    }
}

fn lex(input: &str) -> Vec<Tok> {
    let bytes = input.as_bytes();
    let at = |i: usize, pat: &[u8]| bytes.get(i..).is_some_and(|r| r.starts_with(pat));
    let mut toks = Vec::new();
    let push_tag = |toks: &mut Vec<Tok>, i: usize| -> usize {
        let kind = match bytes.get(i + 2) {
            Some(b'#') => Some(Kind::SectionStart { inverted: false }),
            Some(b'^') => Some(Kind::SectionStart { inverted: true }),
            Some(b'/') => Some(Kind::SectionEnd),
            _ => None,
        };
        match kind {
            Some(kind) => {
                toks.push(Tok {
                    kind,
                    start: i,
                    end: i + 3,
                });
                i + 3
            }
            None => {
                toks.push(Tok {
                    kind: Kind::TagStart,
                    start: i,
                    end: i + 2,
                });
                i + 2
            }
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        if at(i, b"<<") {
            i = push_tag(&mut toks, i);
        } else if at(i, b">>") {
            toks.push(Tok {
                kind: Kind::TagEnd,
                start: i,
                end: i + 2,
            });
            i += 2;
        } else if at(i, b"\\<<") {
            toks.push(Tok {
                kind: Kind::Escaped,
                start: i,
                end: i + 3,
            });
            i += 3;
        } else if at(i, b"\\\\<<") {
            toks.push(Tok {
                kind: Kind::Text,
                start: i,
                end: i + 1,
            });
            i = push_tag(&mut toks, i + 2);
        } else {
            let start = i;
            while i < bytes.len()
                && !(at(i, b"<<") || at(i, b">>") || at(i, b"\\<<") || at(i, b"\\\\<<"))
            {
                i += 1;
            }
            toks.push(Tok {
                kind: Kind::Text,
                start,
                end: i,
            });
        }
    }
    toks.push(Tok {
        kind: Kind::Eof,
        start: bytes.len(),
        end: bytes.len(),
    });
    toks
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

#[derive(Debug)]
enum Raw {
    /// Literal text: a byte range of the input, or a fixed string.
    Text(usize, usize),
    Lit(&'static str),
    Tag {
        start: usize,
        end: usize,
        body: (usize, usize),
    },
    Section {
        name: String,
        inverted: bool,
        open: (usize, usize),
        close: (usize, usize),
        children: Vec<Raw>,
    },
}

struct Parser<'a> {
    input: &'a str,
    toks: Vec<Tok>,
    current: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Tok {
        self.peek_at(self.current)
    }

    fn peek_at(&self, i: usize) -> Tok {
        self.toks.get(i).copied().unwrap_or(Tok {
            kind: Kind::Eof,
            start: self.input.len(),
            end: self.input.len(),
        })
    }

    fn advance(&mut self) -> Tok {
        let t = self.peek();
        if t.kind != Kind::Eof {
            self.current += 1;
        }
        t
    }

    fn text(&self, t: Tok) -> &'a str {
        self.input.get(t.start..t.end).unwrap_or("")
    }

    fn err(t: Tok, message: impl Into<String>) -> TemplateError {
        TemplateError::new(message, t.start, t.end - t.start)
    }

    fn block(&mut self, out: &mut Vec<Raw>) -> Result<(), TemplateError> {
        let t = self.advance();
        match t.kind {
            Kind::SectionStart { inverted } => {
                let section = self.section(t, inverted)?;
                out.push(section);
            }
            Kind::TagStart => {
                let tag = self.tag(t)?;
                out.push(tag);
            }
            Kind::SectionEnd => {
                return Err(Self::err(t, "Expected section end tag to match start tag"))
            }
            Kind::Text | Kind::TagEnd => out.push(Raw::Text(t.start, t.end)),
            Kind::Escaped => out.push(Raw::Lit("<<")),
            Kind::Eof => {}
        }
        Ok(())
    }

    fn name(&mut self) -> Result<String, TemplateError> {
        let t = self.peek();
        if !t.is_text() {
            return Err(Self::err(t, "Expected identifier"));
        }
        self.advance();
        let name = self.text(t).trim();
        if !is_tag_name(name) {
            return Err(Self::err(t, "Expected valid identifier"));
        }
        Ok(name.to_string())
    }

    fn section(&mut self, open: Tok, inverted: bool) -> Result<Raw, TemplateError> {
        self.depth += 1;
        if self.depth > MAX_SECTION_NESTING {
            return Err(Self::err(
                open,
                format!("Sections nested too deeply, limit is {MAX_SECTION_NESTING}"),
            ));
        }
        let name = self.name()?;
        let open_end = self.peek();
        if open_end.kind != Kind::TagEnd {
            return Err(Self::err(open, UNCLOSED_TAG));
        }
        self.advance();
        let mut children = Vec::new();
        loop {
            let t = self.peek();
            match t.kind {
                Kind::Eof => {
                    return Err(Self::err(open, "Unclosed section, expected '<</'"));
                }
                Kind::SectionEnd => {
                    let next = self.peek_at(self.current + 1);
                    if next.is_text() && self.text(next).trim() == name {
                        break;
                    }
                }
                _ => {}
            }
            self.block(&mut children)?;
        }
        let close = self.advance();
        let end_name = self.name()?;
        if end_name != name {
            return Err(Self::err(
                close,
                "Expected section end tag to match start tag",
            ));
        }
        let close_end = self.peek();
        if close_end.kind != Kind::TagEnd {
            return Err(Self::err(close, UNCLOSED_TAG));
        }
        self.advance();
        self.depth -= 1;
        Ok(Raw::Section {
            name,
            inverted,
            open: (open.start, open_end.end),
            close: (close.start, close_end.end),
            children,
        })
    }

    fn tag(&mut self, start: Tok) -> Result<Raw, TemplateError> {
        let body = self.peek();
        if !body.is_text() {
            return Err(Self::err(start, "Expected expression after '<<'"));
        }
        self.advance();
        let text = self.text(body);
        let n = text.chars().count();
        if n > MAX_EXPRESSION_CHARS {
            return Err(Self::err(
                body,
                format!(
                    "Expressions must be less than {MAX_EXPRESSION_CHARS} characters, this one is {n}"
                ),
            ));
        }
        let end = self.peek();
        if end.kind != Kind::TagEnd {
            return Err(Self::err(start, UNCLOSED_TAG));
        }
        self.advance();
        if text.trim().is_empty() {
            return Err(Self::err(body, "Expected expression"));
        }
        Ok(Raw::Tag {
            start: start.start,
            end: end.end,
            body: (body.start, body.end),
        })
    }
}

// ---------------------------------------------------------------------------
// Standalone lines and segment building
// ---------------------------------------------------------------------------

/// If the tag at `start..end` stands alone on its line, the byte range to
/// remove: its indentation, the tag and the line ending.
fn standalone(input: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let before = input.get(..start)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let indent = input.get(line_start..start)?;
    if !indent.bytes().all(|b| b == b' ' || b == b'\t') {
        return None;
    }
    let rest = input.get(end..)?;
    let trailing = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    let after = rest.get(trailing..)?;
    let newline = if after.is_empty() {
        0
    } else if after.starts_with("\r\n") {
        2
    } else if after.starts_with('\n') {
        1
    } else {
        return None;
    };
    Some((line_start, end + trailing + newline))
}

fn collect_standalone(input: &str, raws: &[Raw], out: &mut Vec<(usize, usize)>) {
    for raw in raws {
        if let Raw::Section {
            open,
            close,
            children,
            ..
        } = raw
        {
            if let Some(r) = standalone(input, open.0, open.1) {
                out.push(r);
            }
            collect_standalone(input, children, out);
            if let Some(r) = standalone(input, close.0, close.1) {
                out.push(r);
            }
        }
    }
}

struct Builder<'a> {
    input: &'a str,
    removed: Vec<(usize, usize)>,
}

impl Builder<'_> {
    fn push_text(&self, out: &mut Vec<Segment>, s: &str) {
        if s.is_empty() {
            return;
        }
        if let Some(Segment::Text(prev)) = out.last_mut() {
            prev.push_str(s);
        } else {
            out.push(Segment::Text(s.to_string()));
        }
    }

    /// Pushes `input[start..end]` minus the removed ranges.
    fn push_range(&self, out: &mut Vec<Segment>, start: usize, end: usize) {
        let mut pos = start;
        for &(rs, re) in &self.removed {
            if re <= pos || rs >= end {
                continue;
            }
            if rs > pos {
                self.push_text(out, self.input.get(pos..rs).unwrap_or(""));
            }
            pos = pos.max(re);
        }
        if pos < end {
            self.push_text(out, self.input.get(pos..end).unwrap_or(""));
        }
    }

    fn build(&self, raws: Vec<Raw>) -> Vec<Segment> {
        let mut out = Vec::new();
        for raw in raws {
            match raw {
                Raw::Text(s, e) => self.push_range(&mut out, s, e),
                Raw::Lit(s) => self.push_text(&mut out, s),
                Raw::Tag { start, end, body } => out.push(Segment::Tag {
                    body: self
                        .input
                        .get(body.0..body.1)
                        .unwrap_or("")
                        .trim()
                        .to_string(),
                    offset: start,
                    len: end - start,
                }),
                Raw::Section {
                    name,
                    inverted,
                    open,
                    children,
                    ..
                } => out.push(Segment::Section {
                    name,
                    inverted,
                    offset: open.0,
                    len: open.1 - open.0,
                    body: self.build(children),
                }),
            }
        }
        out
    }
}

/// Parses a string value as a template (2.4).
pub fn parse_template(input: &str) -> Result<Template, TemplateError> {
    let mut p = Parser {
        input,
        toks: lex(input),
        current: 0,
        depth: 0,
    };
    let mut raws = Vec::new();
    while p.peek().kind != Kind::Eof {
        p.block(&mut raws)?;
    }
    let mut removed = Vec::new();
    collect_standalone(input, &raws, &mut removed);
    removed.sort_unstable();
    let builder = Builder { input, removed };
    Ok(Template {
        segments: builder.build(raws),
    })
}

impl Template {
    /// True when there is no tag or section at all (the text may still
    /// contain resolved escapes).
    pub fn is_plain(&self) -> bool {
        self.segments.iter().all(|s| matches!(s, Segment::Text(_)))
    }

    /// `Some((body, offset, len))` when the entire input is exactly one
    /// substitution tag, with no other text, not even whitespace (2.5.1).
    pub fn whole_tag(&self) -> Option<(&str, usize, usize)> {
        match self.segments.as_slice() {
            [Segment::Tag { body, offset, len }] if *offset == 0 => {
                Some((body.as_str(), *offset, *len))
            }
            _ => None,
        }
    }

    /// Renders the template: `tag` maps a tag body (with the tag's offset
    /// and length) to its text; `truthy` decides a section by its name
    /// (with the opening tag's offset and length). Errors propagate.
    pub fn render<E>(
        &self,
        tag: &mut dyn FnMut(&str, usize, usize) -> Result<String, E>,
        truthy: &mut dyn FnMut(&str, usize, usize) -> Result<bool, E>,
    ) -> Result<String, E> {
        let mut out = String::new();
        render_into(&self.segments, &mut out, tag, truthy)?;
        Ok(out)
    }
}

fn render_into<E>(
    segments: &[Segment],
    out: &mut String,
    tag: &mut dyn FnMut(&str, usize, usize) -> Result<String, E>,
    truthy: &mut dyn FnMut(&str, usize, usize) -> Result<bool, E>,
) -> Result<(), E> {
    for segment in segments {
        match segment {
            Segment::Text(t) => out.push_str(t),
            Segment::Tag { body, offset, len } => out.push_str(&tag(body, *offset, *len)?),
            Segment::Section {
                name,
                inverted,
                offset,
                len,
                body,
            } => {
                if truthy(name, *offset, *len)? != *inverted {
                    render_into(body, out, tag, truthy)?;
                }
            }
        }
    }
    Ok(())
}
