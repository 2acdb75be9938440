//! CircleCI's expression language (CONFIG-SPEC Appendix A).
//!
//! `parse` scans the whole source first (scan errors win over parse errors),
//! then parses it with the precedence of A.3. `Expr::eval` evaluates it
//! against an [`Env`] following A.4 and A.5.
//!
//! All offsets in [`ExprError`] are byte offsets into the expression text.
//! Nothing in this module panics on any input: nesting is bounded
//! ([`MAX_NESTING`]) and chains of same-precedence operators are stored flat,
//! so neither parsing, evaluation nor dropping recurses without bound.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use regex::Regex;

/// Longest pattern literal, in characters (A.2.7).
pub const MAX_PATTERN_CHARS: usize = 256;
/// Deepest nesting of parentheses and `not`/`!` accepted by [`parse`].
pub const MAX_NESTING: usize = 128;

// ---------------------------------------------------------------------------
// Values and environment
// ---------------------------------------------------------------------------

/// A value of the expression language (A.4.1).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A variable that exists but is null (A.5).
    Undefined,
    Bool(bool),
    Int(i64),
    Str(String),
    /// A pattern; holds the pattern source (with `\/` already turned into `/`).
    Pattern(String),
}

impl Value {
    /// Truthiness inside expressions (A.4.8): only `false` and undefined are falsy.
    pub fn is_truthy(&self) -> bool {
        !matches!(self, Value::Undefined | Value::Bool(false))
    }

    /// A short name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Undefined => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Str(_) => "string",
            Value::Pattern(_) => "pattern",
        }
    }
}

/// Renders a value into text for in-string substitution (spec 2.5.3, 2.5.5):
/// strings as-is, integers in decimal, booleans `true`/`false`, undefined as
/// `<nil>`, patterns as their source.
pub fn render_text(value: &Value) -> String {
    match value {
        Value::Undefined => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => s.clone(),
        Value::Pattern(p) => p.clone(),
    }
}

/// Variable lookup for evaluation.
pub trait Env {
    /// `Some(Value::Undefined)` = the variable exists but is null;
    /// `None` = no such variable (an error when evaluated, A.5.4).
    fn lookup(&self, name: &str) -> Option<Value>;
}

impl Env for HashMap<String, Value> {
    fn lookup(&self, name: &str) -> Option<Value> {
        self.get(name).cloned()
    }
}

impl Env for BTreeMap<String, Value> {
    fn lookup(&self, name: &str) -> Option<Value> {
        self.get(name).cloned()
    }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// An error from scanning, parsing or evaluating an expression.
#[derive(Clone, Debug, PartialEq)]
pub struct ExprError {
    /// The explanation, without the trailing `:` (e.g. `Unexpected character '&'`).
    pub message: String,
    /// Byte offset of the offending token inside the expression text.
    pub offset: usize,
    /// Byte length of the offending token (0 at end of input).
    pub len: usize,
}

impl ExprError {
    fn new(message: impl Into<String>, offset: usize, len: usize) -> Self {
        ExprError {
            message: message.into(),
            offset,
            len,
        }
    }

    /// CircleCI's layout (A.6): `"message:\n<line of the expression>\n<spaces>^^^"`.
    ///
    /// Only the line of `source` holding the error is quoted. The marker is
    /// at least one `^` wide (also at end of input). Columns are counted in
    /// characters.
    pub fn render(&self, source: &str) -> String {
        let offset = floor_char_boundary(source, self.offset);
        let end = floor_char_boundary(source, offset.saturating_add(self.len)).max(offset);
        let before = source.get(..offset).unwrap_or("");
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let after = source.get(offset..).unwrap_or("");
        let line_end = after.find('\n').map_or(source.len(), |i| offset + i);
        let line = source.get(line_start..line_end).unwrap_or("");
        let column = source
            .get(line_start..offset)
            .map_or(0, |s| s.chars().count());
        let width = source
            .get(offset..end.min(line_end).max(offset))
            .map_or(0, |s| s.chars().count())
            .max(1);
        format!(
            "{}:\n{}\n{}{}",
            self.message,
            line,
            " ".repeat(column),
            "^".repeat(width)
        )
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExprError {}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Go's `%q` rendering of a rune (used in scanner messages).
fn quote_char(c: char) -> String {
    let inner = match c {
        '\'' => "\\'".to_string(),
        '\\' => "\\\\".to_string(),
        '\n' => "\\n".to_string(),
        '\r' => "\\r".to_string(),
        '\t' => "\\t".to_string(),
        '\u{7}' => "\\a".to_string(),
        '\u{8}' => "\\b".to_string(),
        '\u{c}' => "\\f".to_string(),
        '\u{b}' => "\\v".to_string(),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => format!("\\x{:02x}", c as u32),
        c if c.is_control() => {
            if (c as u32) < 0x10000 {
                format!("\\u{:04x}", c as u32)
            } else {
                format!("\\U{:08x}", c as u32)
            }
        }
        c => c.to_string(),
    };
    format!("'{inner}'")
}

// ---------------------------------------------------------------------------
// Scanner
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Not,
    NotEqual,
    Equal,
    Greater,
    GreaterEqual,
    Less,
    LessEqual,
    And,
    Or,
    True,
    False,
    Number(i64),
    Str(String),
    Pattern(String),
    Ident,
    Builtin(Builtin),
    Eof,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Builtin {
    StartsWith,
    Matches,
    Contains,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    /// byte range in the source
    start: usize,
    end: usize,
}

/// Scanner error kinds; `UnexpectedCharacter` matters to the template layer (2.2.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScanErrorKind {
    UnexpectedCharacter,
    Other,
}

pub(crate) struct ScanError {
    pub(crate) kind: ScanErrorKind,
    pub(crate) error: ExprError,
}

fn is_alpha(c: char) -> bool {
    c.is_ascii_alphabetic()
}

fn is_ident_tail(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '?'
}

fn keyword(s: &str) -> Option<Tok> {
    Some(match s {
        "and" | "AND" => Tok::And,
        "or" | "OR" => Tok::Or,
        "not" | "NOT" => Tok::Not,
        "true" | "TRUE" => Tok::True,
        "false" | "FALSE" => Tok::False,
        _ => return None,
    })
}

fn builtin(s: &str) -> Option<Builtin> {
    Some(match s {
        "starts-with" => Builtin::StartsWith,
        "matches" => Builtin::Matches,
        "contains" => Builtin::Contains,
        _ => return None,
    })
}

struct Scanner<'a> {
    src: &'a str,
    chars: Vec<(usize, char)>,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn new(src: &'a str) -> Self {
        Scanner {
            src,
            chars: src.char_indices().collect(),
            pos: 0,
        }
    }

    fn peek_at(&self, i: usize) -> Option<char> {
        self.chars.get(i).map(|&(_, c)| c)
    }

    fn peek(&self) -> Option<char> {
        self.peek_at(self.pos)
    }

    fn byte(&self, i: usize) -> usize {
        self.chars.get(i).map_or(self.src.len(), |&(b, _)| b)
    }

    fn char_len(&self, i: usize) -> usize {
        self.peek_at(i).map_or(0, char::len_utf8)
    }

    fn err(&self, kind: ScanErrorKind, message: String, at: usize, len: usize) -> ScanError {
        ScanError {
            kind,
            error: ExprError::new(message, self.byte(at), len),
        }
    }

    fn scan(mut self) -> Result<Vec<Token>, ScanError> {
        let mut tokens = Vec::new();
        while let Some(c) = self.peek() {
            let start = self.pos;
            self.pos += 1;
            let tok = match c {
                ' ' | '\t' | '\r' | '\n' => continue,
                '(' => Tok::LParen,
                ')' => Tok::RParen,
                '!' => {
                    if self.peek() == Some('=') {
                        self.pos += 1;
                        Tok::NotEqual
                    } else {
                        Tok::Not
                    }
                }
                '=' => match self.peek() {
                    Some('=') => {
                        self.pos += 1;
                        Tok::Equal
                    }
                    other => {
                        let found = quote_char(other.unwrap_or('\0'));
                        return Err(self.err(
                            ScanErrorKind::Other,
                            format!("Incomplete token, expected \"==\", found {found}"),
                            self.pos,
                            self.char_len(self.pos),
                        ));
                    }
                },
                '>' => {
                    if self.peek() == Some('=') {
                        self.pos += 1;
                        Tok::GreaterEqual
                    } else {
                        Tok::Greater
                    }
                }
                '<' => {
                    if self.peek() == Some('=') {
                        self.pos += 1;
                        Tok::LessEqual
                    } else {
                        Tok::Less
                    }
                }
                '"' => self.string(start)?,
                '/' => self.pattern(start)?,
                c if c.is_ascii_digit() => self.number(start)?,
                c if is_alpha(c) => self.identifier(start),
                c => {
                    return Err(self.err(
                        ScanErrorKind::UnexpectedCharacter,
                        format!("Unexpected character {}", quote_char(c)),
                        start,
                        c.len_utf8(),
                    ))
                }
            };
            tokens.push(Token {
                tok,
                start: self.byte(start),
                end: self.byte(self.pos),
            });
        }
        let end = self.src.len();
        tokens.push(Token {
            tok: Tok::Eof,
            start: end,
            end,
        });
        Ok(tokens)
    }

    fn string(&mut self, start: usize) -> Result<Tok, ScanError> {
        let mut value = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(self.err(
                        ScanErrorKind::Other,
                        "Unterminated string starting here".to_string(),
                        start,
                        1,
                    ))
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(Tok::Str(value));
                }
                Some('\\') if matches!(self.peek_at(self.pos + 1), Some('"' | '\\')) => {
                    if let Some(c) = self.peek_at(self.pos + 1) {
                        value.push(c);
                    }
                    self.pos += 2;
                }
                Some(c) => {
                    value.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn pattern(&mut self, start: usize) -> Result<Tok, ScanError> {
        let mut value = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err(
                    ScanErrorKind::Other,
                    "Unterminated pattern starting here".to_string(),
                    start,
                    1,
                ));
            };
            if c == '/' {
                self.pos += 1;
                break;
            }
            let next = self.peek_at(self.pos + 1);
            if c == '\\' && next == Some('/') {
                value.push('/');
                self.pos += 2;
                continue;
            }
            if (c == '\\' && matches!(next, Some('u' | 'x'))) || (c as u32) > 0xff {
                return Err(self.err(
                    ScanErrorKind::Other,
                    "Invalid pattern character, only ASCII and Latin-1 are allowed in patterns"
                        .to_string(),
                    self.pos,
                    c.len_utf8(),
                ));
            }
            value.push(c);
            self.pos += 1;
        }
        if value.chars().count() > MAX_PATTERN_CHARS {
            return Err(self.err(
                ScanErrorKind::Other,
                format!("Pattern length exceeded, limit is {MAX_PATTERN_CHARS} characters"),
                start,
                1,
            ));
        }
        if Regex::new(&value).is_err() {
            return Err(self.err(
                ScanErrorKind::Other,
                "Syntax error in pattern".to_string(),
                start,
                1,
            ));
        }
        Ok(Tok::Pattern(value))
    }

    fn number(&mut self, start: usize) -> Result<Tok, ScanError> {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text = self
            .src
            .get(self.byte(start)..self.byte(self.pos))
            .unwrap_or("");
        text.parse::<i64>().map(Tok::Number).map_err(|_| {
            self.err(
                ScanErrorKind::Other,
                "Invalid numeric literal, numbers can range from 0 to 2^63 - 1".to_string(),
                start,
                1,
            )
        })
    }

    fn identifier(&mut self, start: usize) -> Tok {
        loop {
            match self.peek() {
                Some(c) if is_ident_tail(c) => self.pos += 1,
                Some('.') if self.peek_at(self.pos + 1).is_some_and(is_ident_tail) => self.pos += 1,
                _ => break,
            }
        }
        let text = self
            .src
            .get(self.byte(start)..self.byte(self.pos))
            .unwrap_or("");
        if let Some(b) = builtin(text) {
            Tok::Builtin(b)
        } else {
            keyword(text).unwrap_or(Tok::Ident)
        }
    }
}

/// Whether `s` is a dotted name (`parameters.x`, `pipeline.git.branch`) that [`parse`] reads
/// as one identifier, decided without scanning: a template tag is nearly always one. (With a
/// `.` inside, it is never a keyword or a builtin.)
pub fn is_dotted_identifier(s: &str) -> bool {
    let b = s.as_bytes();
    let tail = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'?');
    b.first().is_some_and(u8::is_ascii_alphabetic)
        && b.contains(&b'.')
        && b.iter()
            .enumerate()
            .all(|(i, &c)| tail(c) || (c == b'.' && b.get(i + 1).is_some_and(|&n| tail(n))))
}

/// Whether `s` is a valid identifier (A.2.8): an ASCII letter, then letters,
/// digits, `-`, `_` (and `?`, which the reference scanner accepts), with
/// `.`-separated segments, never `..` nor a trailing `.`; keywords and
/// builtin operator names are not identifiers.
pub fn is_identifier(s: &str) -> bool {
    match Scanner::new(s).scan() {
        Ok(tokens) => {
            tokens.len() == 2
                && tokens
                    .first()
                    .is_some_and(|t| t.tok == Tok::Ident && t.start == 0 && t.end == s.len())
        }
        Err(_) => false,
    }
}

// ---------------------------------------------------------------------------
// AST
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BinOp {
    Or,
    And,
    Equal,
    NotEqual,
    Greater,
    GreaterEqual,
    Less,
    LessEqual,
    Builtin(Builtin),
}

impl BinOp {
    fn lexeme(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Equal => "==",
            BinOp::NotEqual => "!=",
            BinOp::Greater => ">",
            BinOp::GreaterEqual => ">=",
            BinOp::Less => "<",
            BinOp::LessEqual => "<=",
            BinOp::Builtin(Builtin::StartsWith) => "starts-with",
            BinOp::Builtin(Builtin::Matches) => "matches",
            BinOp::Builtin(Builtin::Contains) => "contains",
        }
    }
}

#[derive(Clone, Debug)]
struct Operation {
    op: BinOp,
    /// byte range of the operator token
    start: usize,
    end: usize,
    right: Node,
}

#[derive(Clone, Debug)]
enum Node {
    Literal(Value),
    /// A pattern literal with its compiled, whole-string-anchored regex.
    Pattern(String, Regex),
    Ident {
        name: String,
        start: usize,
        end: usize,
    },
    Not(Box<Node>),
    Group(Box<Node>),
    /// A left-associative chain of operators of one precedence level.
    Chain(Box<Node>, Vec<Operation>),
}

/// A parsed expression.
#[derive(Clone, Debug)]
pub struct Expr {
    root: Node,
}

fn anchored(pattern: &str) -> Option<Regex> {
    Regex::new(&format!(r"\A(?:{pattern})\z")).ok()
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

struct Parser {
    tokens: Vec<Token>,
    current: usize,
    nesting: usize,
}

fn expected_expression(t: &Token, src: &str) -> ExprError {
    let lexeme = src.get(t.start..t.end).unwrap_or("");
    ExprError::new(
        format!("Expected expression, found \"{lexeme}\""),
        t.start,
        t.end - t.start,
    )
}

impl Parser {
    fn peek(&self) -> Token {
        self.tokens.get(self.current).cloned().unwrap_or(Token {
            tok: Tok::Eof,
            start: 0,
            end: 0,
        })
    }

    fn advance(&mut self) -> Token {
        let t = self.peek();
        if t.tok != Tok::Eof {
            self.current += 1;
        }
        t
    }

    fn expression(&mut self, src: &str) -> Result<Node, ExprError> {
        self.or(src)
    }

    fn chain(
        &mut self,
        src: &str,
        level: fn(&mut Parser, &str) -> Result<Node, ExprError>,
        op_of: fn(&Tok) -> Option<BinOp>,
    ) -> Result<Node, ExprError> {
        let first = level(self, src)?;
        let mut ops = Vec::new();
        while let Some(op) = op_of(&self.peek().tok) {
            let t = self.advance();
            let right = level(self, src)?;
            ops.push(Operation {
                op,
                start: t.start,
                end: t.end,
                right,
            });
        }
        if ops.is_empty() {
            Ok(first)
        } else {
            Ok(Node::Chain(Box::new(first), ops))
        }
    }

    fn or(&mut self, src: &str) -> Result<Node, ExprError> {
        self.chain(src, Parser::and, |t| (*t == Tok::Or).then_some(BinOp::Or))
    }

    fn and(&mut self, src: &str) -> Result<Node, ExprError> {
        self.chain(src, Parser::equality, |t| {
            (*t == Tok::And).then_some(BinOp::And)
        })
    }

    fn equality(&mut self, src: &str) -> Result<Node, ExprError> {
        self.chain(src, Parser::comparison, |t| match t {
            Tok::Equal => Some(BinOp::Equal),
            Tok::NotEqual => Some(BinOp::NotEqual),
            Tok::Builtin(b) => Some(BinOp::Builtin(*b)),
            _ => None,
        })
    }

    fn comparison(&mut self, src: &str) -> Result<Node, ExprError> {
        self.chain(src, Parser::unary, |t| match t {
            Tok::Greater => Some(BinOp::Greater),
            Tok::GreaterEqual => Some(BinOp::GreaterEqual),
            Tok::Less => Some(BinOp::Less),
            Tok::LessEqual => Some(BinOp::LessEqual),
            _ => None,
        })
    }

    fn enter(&mut self, t: &Token) -> Result<(), ExprError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(ExprError::new(
                format!("Expression nested too deeply, limit is {MAX_NESTING}"),
                t.start,
                t.end - t.start,
            ));
        }
        Ok(())
    }

    fn unary(&mut self, src: &str) -> Result<Node, ExprError> {
        if self.peek().tok == Tok::Not {
            let t = self.advance();
            self.enter(&t)?;
            let right = self.unary(src)?;
            self.nesting -= 1;
            return Ok(Node::Not(Box::new(right)));
        }
        self.primary(src)
    }

    fn primary(&mut self, src: &str) -> Result<Node, ExprError> {
        let t = self.peek();
        let node = match &t.tok {
            Tok::True => Node::Literal(Value::Bool(true)),
            Tok::False => Node::Literal(Value::Bool(false)),
            Tok::Number(n) => Node::Literal(Value::Int(*n)),
            Tok::Str(s) => Node::Literal(Value::Str(s.clone())),
            Tok::Pattern(p) => match anchored(p) {
                Some(re) => Node::Pattern(p.clone(), re),
                None => {
                    return Err(ExprError::new("Syntax error in pattern", t.start, 1));
                }
            },
            Tok::Ident => Node::Ident {
                name: src.get(t.start..t.end).unwrap_or("").to_string(),
                start: t.start,
                end: t.end,
            },
            Tok::LParen => {
                self.advance();
                self.enter(&t)?;
                let inner = self.expression(src)?;
                self.nesting -= 1;
                let close = self.peek();
                if close.tok != Tok::RParen {
                    let len = src
                        .get(close.start..)
                        .and_then(|s| s.chars().next())
                        .map_or(0, char::len_utf8);
                    return Err(ExprError::new(
                        "Expected ')' after expression",
                        close.start,
                        len,
                    ));
                }
                self.advance();
                return Ok(Node::Group(Box::new(inner)));
            }
            _ => return Err(expected_expression(&t, src)),
        };
        self.advance();
        Ok(node)
    }
}

pub(crate) fn parse_detailed(source: &str) -> Result<Expr, ScanError> {
    let tokens = Scanner::new(source).scan()?;
    let other = |error| ScanError {
        kind: ScanErrorKind::Other,
        error,
    };
    let mut p = Parser {
        tokens,
        current: 0,
        nesting: 0,
    };
    let root = p.expression(source).map_err(other)?;
    let next = p.peek();
    if next.tok != Tok::Eof {
        // An identifier where an operator should be, followed by a valid
        // operand, is most likely a misspelled infix function.
        if next.tok == Tok::Ident {
            p.advance();
            p.nesting = 0;
            if p.comparison(source).is_ok() {
                return Err(other(ExprError::new(
                    "Unknown infix function",
                    next.start,
                    next.end - next.start,
                )));
            }
        }
        let lexeme = source.get(next.start..next.end).unwrap_or("");
        return Err(other(ExprError::new(
            format!("Unexpected additional input, found \"{lexeme}\", expected EOF"),
            next.start,
            next.end - next.start,
        )));
    }
    Ok(Expr { root })
}

/// Parses an expression (A.2, A.3).
pub fn parse(source: &str) -> Result<Expr, ExprError> {
    parse_detailed(source).map_err(|e| e.error)
}

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

impl Expr {
    /// Evaluates the expression (A.4, A.5). `and`/`or` return an operand.
    pub fn eval(&self, env: &dyn Env) -> Result<Value, ExprError> {
        eval(&self.root, env)
    }

    /// `Some(name)` when the whole expression is a single identifier
    /// (e.g. `parameters.foo`; not `(parameters.foo)`).
    pub fn as_identifier(&self) -> Option<&str> {
        match &self.root {
            Node::Ident { name, .. } => Some(name),
            _ => None,
        }
    }

    /// Every identifier the expression refers to, in source order, with its
    /// byte offset and length (whether or not evaluation would look it up).
    pub fn references(&self) -> Vec<(&str, usize, usize)> {
        let mut out = Vec::new();
        collect_refs(&self.root, &mut out);
        out
    }
}

fn collect_refs<'a>(node: &'a Node, out: &mut Vec<(&'a str, usize, usize)>) {
    match node {
        Node::Ident { name, start, end } => out.push((name.as_str(), *start, end - start)),
        Node::Not(n) | Node::Group(n) => collect_refs(n, out),
        Node::Chain(first, ops) => {
            collect_refs(first, out);
            for op in ops {
                collect_refs(&op.right, out);
            }
        }
        Node::Literal(_) | Node::Pattern(..) => {}
    }
}

fn eval(node: &Node, env: &dyn Env) -> Result<Value, ExprError> {
    match node {
        Node::Literal(v) => Ok(v.clone()),
        Node::Pattern(p, _) => Ok(Value::Pattern(p.clone())),
        Node::Ident { name, start, end } => env.lookup(name).ok_or_else(|| {
            ExprError::new(
                format!("Referred to a variable \"{name}\" that does not exist"),
                *start,
                end - start,
            )
        }),
        Node::Not(inner) => Ok(Value::Bool(!eval(inner, env)?.is_truthy())),
        Node::Group(inner) => eval(inner, env),
        Node::Chain(first, ops) => {
            let mut acc = eval(first, env)?;
            for o in ops {
                acc = match o.op {
                    BinOp::Or => {
                        if acc.is_truthy() {
                            acc
                        } else {
                            eval(&o.right, env)?
                        }
                    }
                    BinOp::And => {
                        if acc.is_truthy() {
                            eval(&o.right, env)?
                        } else {
                            acc
                        }
                    }
                    op => {
                        let right = eval(&o.right, env)?;
                        apply(op, o, acc, right)?
                    }
                };
            }
            Ok(acc)
        }
    }
}

fn apply(op: BinOp, o: &Operation, left: Value, right: Value) -> Result<Value, ExprError> {
    if left == Value::Undefined || right == Value::Undefined {
        return Ok(Value::Undefined);
    }
    let err = |message: String| ExprError::new(message, o.start, o.end - o.start);
    let numeric = |f: fn(i64, i64) -> bool| match (&left, &right) {
        (Value::Int(a), Value::Int(b)) => Ok(Value::Bool(f(*a, *b))),
        _ => Err(err(format!(
            "Expected numeric operands to \"{}\" operator",
            op.lexeme()
        ))),
    };
    let strings = || match (&left, &right) {
        (Value::Str(a), Value::Str(b)) => Ok((a.as_str(), b.as_str())),
        _ => Err(err(format!(
            "Expected string operands to \"{}\" operator",
            op.lexeme()
        ))),
    };
    match op {
        BinOp::Equal => Ok(Value::Bool(left == right)),
        BinOp::NotEqual => Ok(Value::Bool(left != right)),
        BinOp::Greater => numeric(|a, b| a > b),
        BinOp::GreaterEqual => numeric(|a, b| a >= b),
        BinOp::Less => numeric(|a, b| a < b),
        BinOp::LessEqual => numeric(|a, b| a <= b),
        BinOp::Builtin(Builtin::StartsWith) => {
            let (a, b) = strings()?;
            Ok(Value::Bool(a.starts_with(b)))
        }
        BinOp::Builtin(Builtin::Contains) => {
            let (a, b) = strings()?;
            Ok(Value::Bool(a.contains(b)))
        }
        BinOp::Builtin(Builtin::Matches) => {
            let Value::Pattern(source) = &right else {
                return Err(err(
                    "Expected the right operand to \"matches\" operator to be a pattern"
                        .to_string(),
                ));
            };
            let Value::Str(subject) = &left else {
                return Err(err(
                    "Expected string operands to \"matches\" operator".to_string()
                ));
            };
            let re = match &o.right {
                Node::Pattern(_, re) => Some(re.clone()),
                _ => anchored(source),
            };
            match re {
                Some(re) => Ok(Value::Bool(re.is_match(subject))),
                None => Err(err("Syntax error in pattern".to_string())),
            }
        }
        BinOp::Or | BinOp::And => Ok(right),
    }
}
