//! How a string scalar is written: the style choice and the writers, following the rules of
//! SnakeYAML's emitter (as CircleCI's Clojure compiler configures it: block style, unicode
//! allowed, no line folding).

use orrery_yaml::plain_is_string;

/// The four scalar styles the compiler's output uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// What a string allows, after SnakeYAML's `analyzeScalar`.
#[derive(Debug)]
struct Analysis {
    empty: bool,
    multiline: bool,
    /// A line break other than `\r`: SnakeYAML's representer asks for literal style.
    wants_literal: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
    allow_block: bool,
}

fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank_or_break(c: char) -> bool {
    matches!(c, '\0' | ' ' | '\t') || is_line_break(c)
}

/// Characters YAML can carry unescaped (SnakeYAML `StreamReader.isPrintable`).
pub(crate) fn is_printable(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r' | '\u{20}'..='\u{7E}' | '\u{85}' | '\u{A0}'..='\u{D7FF}'
        | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// What one pass over a string found, before SnakeYAML's verdict ([`Found::judge`]).
#[derive(Debug, Default, PartialEq)]
struct Found {
    block_indicators: bool,
    line_breaks: bool,
    wants_literal: bool,
    special: bool,
    leading_space: bool,
    leading_break: bool,
    trailing_space: bool,
    trailing_break: bool,
    break_space: bool,
    space_break: bool,
}

impl Found {
    fn judge(self) -> Analysis {
        let mut allow_block_plain = true;
        let mut allow_single_quoted = true;
        let mut allow_block = true;
        if self.leading_space || self.leading_break || self.trailing_space || self.trailing_break {
            allow_block_plain = false;
        }
        if self.trailing_space {
            allow_block = false;
        }
        if self.break_space {
            allow_block_plain = false;
            allow_single_quoted = false;
        }
        if self.space_break || self.special {
            allow_block_plain = false;
            allow_single_quoted = false;
            allow_block = false;
        }
        if self.line_breaks || self.block_indicators {
            allow_block_plain = false;
        }
        Analysis {
            empty: false,
            multiline: self.line_breaks,
            wants_literal: self.wants_literal,
            allow_block_plain,
            allow_single_quoted,
            allow_block,
        }
    }
}

/// One pass over `text`, allocating nothing (the emitter asks this of every key and string).
fn analyze(text: &str) -> Analysis {
    if text.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            wants_literal: false,
            allow_block_plain: true,
            allow_single_quoted: true,
            allow_block: false,
        };
    }
    if text.is_ascii() {
        find_ascii(text.as_bytes()).judge()
    } else {
        find_chars(text).judge()
    }
}

/// [`find_chars`] for ASCII text (nearly every key and value), byte by byte: the same
/// findings, with a byte that cannot change any of them (a letter, a digit, most
/// punctuation) passed over at once.
fn find_ascii(b: &[u8]) -> Found {
    let is_break = |c: u8| c == b'\n' || c == b'\r';
    let blank_or_break = |c: u8| matches!(c, 0 | b' ' | b'\t' | b'\n' | b'\r');
    let followed_by_whitespace = |i: usize| b.get(i + 1).is_none_or(|&c| blank_or_break(c));
    let (first, last) = (b[0], b[b.len() - 1]);
    let mut f = Found {
        block_indicators: b.starts_with(b"---")
            || b.starts_with(b"...")
            || b"#,[]{}&*!|>'\"%@`".contains(&first)
            || (matches!(first, b'?' | b':' | b'-') && followed_by_whitespace(0)),
        leading_space: first == b' ',
        leading_break: is_break(first),
        trailing_space: last == b' ',
        trailing_break: is_break(last),
        ..Found::default()
    };
    for (i, &c) in b.iter().enumerate() {
        if c > b' ' && c != b':' && c != b'#' && c != 0x7F {
            continue;
        }
        let previous = i.checked_sub(1).map(|p| b[p]);
        match c {
            b':' => f.block_indicators |= previous.is_some() && followed_by_whitespace(i),
            b'#' => f.block_indicators |= previous.is_some_and(blank_or_break),
            b' ' => f.break_space |= previous.is_some_and(is_break),
            b'\n' | b'\r' => {
                f.line_breaks = true;
                f.wants_literal |= c == b'\n';
                // `\r` is outside what SnakeYAML prints unescaped.
                f.special |= c == b'\r';
                f.space_break |= previous == Some(b' ');
            }
            // Tab, other control characters, DEL.
            _ => f.special = true,
        }
    }
    f
}

/// SnakeYAML's `analyzeScalar` over the characters of a non-empty `text`.
fn find_chars(text: &str) -> Found {
    let mut f = Found {
        block_indicators: text.starts_with("---") || text.starts_with("..."),
        ..Found::default()
    };
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_whitespace = true;
    let mut chars = text.chars().peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let last = next.is_none();
        let followed_by_whitespace = next.is_none_or(is_blank_or_break);
        // Indicators that make a plain scalar impossible in block context (flow-context rules
        // are irrelevant: the output never uses flow collections for non-empty values).
        let indicator = if first {
            "#,[]{}&*!|>'\"%@`".contains(c)
                || ((c == '?' || c == ':' || c == '-') && followed_by_whitespace)
        } else {
            (c == ':' && followed_by_whitespace) || (c == '#' && preceded_by_whitespace)
        };
        if indicator {
            f.block_indicators = true;
        }
        let is_break = is_line_break(c);
        if is_break {
            f.line_breaks = true;
            f.wants_literal |= c != '\r';
        }
        if !(c == '\n' || ('\u{20}'..='\u{7E}').contains(&c)) {
            let unicode_printable = (c == '\u{85}'
                || ('\u{A0}'..='\u{D7FF}').contains(&c)
                || ('\u{E000}'..='\u{FFFD}').contains(&c)
                || c >= '\u{10000}')
                && c != '\u{FEFF}';
            if !unicode_printable {
                f.special = true;
            }
        }
        if c == ' ' {
            f.leading_space |= first;
            f.trailing_space |= last;
            f.break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break {
            f.leading_break |= first;
            f.trailing_break |= last;
            f.space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = matches!(c, '\0' | ' ' | '\t') || is_break;
        first = false;
    }
    f
}

/// `YYYY-MM-DD`, or a YAML 1.1 timestamp with a time part: SnakeYAML reads these as dates.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() == 10
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
    {
        return true;
    }
    // [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?
    let mut i = 0;
    let take_digits = |i: &mut usize, min: usize, max: usize| -> bool {
        let start = *i;
        while *i < b.len() && *i - start < max && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start >= min
    };
    let take = |i: &mut usize, c: u8| -> bool {
        if b.get(*i) == Some(&c) {
            *i += 1;
            true
        } else {
            false
        }
    };
    if !(take_digits(&mut i, 4, 4)
        && take(&mut i, b'-')
        && take_digits(&mut i, 1, 2)
        && take(&mut i, b'-')
        && take_digits(&mut i, 1, 2))
    {
        return false;
    }
    if take(&mut i, b'T') || take(&mut i, b't') {
    } else {
        let start = i;
        while matches!(b.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if !(take_digits(&mut i, 1, 2)
        && take(&mut i, b':')
        && take_digits(&mut i, 2, 2)
        && take(&mut i, b':')
        && take_digits(&mut i, 2, 2))
    {
        return false;
    }
    if take(&mut i, b'.') {
        take_digits(&mut i, 0, usize::MAX);
    }
    if i == b.len() {
        return true;
    }
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    if take(&mut i, b'Z') {
        return i == b.len();
    }
    if !(take(&mut i, b'-') || take(&mut i, b'+')) || !take_digits(&mut i, 1, 2) {
        return false;
    }
    if take(&mut i, b':') && !take_digits(&mut i, 2, 2) {
        return false;
    }
    i == b.len()
}

/// Whether `text`, written plain, reads back as the same string under YAML 1.1 typing.
pub(crate) fn plain_reads_back(text: &str) -> bool {
    text != "<<" && !is_timestamp(text) && plain_is_string(text)
}

/// SnakeYAML's `chooseScalarStyle` for a string; multi-line strings ask for literal style
/// (as SnakeYAML's representer does), others for plain.
pub(crate) fn choose_style(text: &str, simple_key: bool) -> Style {
    let a = analyze(text);
    if a.wants_literal {
        if !simple_key && a.allow_block {
            return Style::Literal;
        }
        return Style::DoubleQuoted;
    }
    // The cheap conditions first: reading the text back is the costly one.
    if a.allow_block_plain && !(simple_key && (a.empty || a.multiline)) && plain_reads_back(text) {
        return Style::Plain;
    }
    if a.allow_single_quoted && !(simple_key && a.multiline) {
        return Style::SingleQuoted;
    }
    Style::DoubleQuoted
}

/// The current column of `out` in UTF-16 units, as SnakeYAML counts it.
fn column(out: &str) -> usize {
    let line = out.rsplit_once('\n').map_or(out, |(_, l)| l);
    line.chars().map(char::len_utf16).sum()
}

/// A line break plus `indent` spaces: a fold inside a flow scalar.
fn fold(out: &mut String, indent: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', indent));
}

/// Writes `text` plain. With `width`, a single space that follows a word ending past that column
/// becomes a line break to `indent` (SnakeYAML's `writePlain` with splitting on).
pub(crate) fn write_plain(out: &mut String, text: &str, indent: usize, width: Option<usize>) {
    let Some(width) = width else {
        out.push_str(text);
        return;
    };
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ' ' {
            let start = i;
            while i < chars.len() && chars[i] == ' ' {
                i += 1;
            }
            if i - start == 1 && column(out) > width {
                fold(out, indent);
            } else {
                out.extend(&chars[start..i]);
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
}

/// Writes `'text'` (quotes doubled); folds like [`write_plain`], but never at the first or last
/// character.
pub(crate) fn write_single_quoted(
    out: &mut String,
    text: &str,
    indent: usize,
    width: Option<usize>,
) {
    out.push('\'');
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' {
            let start = i;
            while i < chars.len() && chars[i] == ' ' {
                i += 1;
            }
            let fold_here = width.is_some_and(|w| {
                i - start == 1 && column(out) > w && start != 0 && i != chars.len()
            });
            if fold_here {
                fold(out, indent);
            } else {
                out.extend(&chars[start..i]);
            }
            continue;
        }
        if c == '\'' {
            out.push_str("''");
        } else {
            out.push(c);
        }
        i += 1;
    }
    out.push('\'');
}

fn escape_double(c: char) -> Option<String> {
    let needs_escape = matches!(
        c,
        '"' | '\\' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}'
    ) || !('\u{20}'..='\u{7E}').contains(&c);
    if !needs_escape {
        return None;
    }
    let replacement = match c {
        '\0' => Some('0'),
        '\u{7}' => Some('a'),
        '\u{8}' => Some('b'),
        '\t' => Some('t'),
        '\n' => Some('n'),
        '\u{B}' => Some('v'),
        '\u{C}' => Some('f'),
        '\r' => Some('r'),
        '\u{1B}' => Some('e'),
        '"' => Some('"'),
        '\\' => Some('\\'),
        '\u{85}' => Some('N'),
        '\u{A0}' => Some('_'),
        '\u{2028}' => Some('L'),
        '\u{2029}' => Some('P'),
        _ => None,
    };
    Some(match replacement {
        Some(r) => format!("\\{r}"),
        None if is_printable(c) => c.to_string(),
        None => {
            let cp = u32::from(c);
            if cp <= 0xFF {
                format!("\\x{cp:02x}")
            } else if cp <= 0xFFFF {
                format!("\\u{cp:04x}")
            } else {
                format!("\\U{cp:08x}")
            }
        }
    })
}

/// Writes `"text"` with SnakeYAML's escapes. With `width`, long text is continued on the next
/// line after a `\` (SnakeYAML's `writeDoubleQuoted` with splitting on).
pub(crate) fn write_double_quoted(
    out: &mut String,
    text: &str,
    indent: usize,
    width: Option<usize>,
) {
    out.push('"');
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let mut start = 0;
    for end in 0..=n {
        let ch = chars.get(end).copied();
        let escaped = ch.map_or(Some(String::new()), escape_double);
        if let Some(data) = escaped {
            if start < end {
                out.extend(&chars[start..end]);
                start = end;
            }
            if ch.is_some() {
                out.push_str(&data);
                start = end + 1;
            }
        }
        let Some(width) = width else { continue };
        let unit_len: usize = if start < end {
            chars[start..end].iter().map(|c| c.len_utf16()).sum()
        } else {
            0
        };
        if 0 < end
            && end + 1 < n
            && (ch == Some(' ') || start >= end)
            && column(out) + unit_len > width
        {
            if start < end {
                out.extend(&chars[start..end]);
                start = end;
            }
            out.push('\\');
            fold(out, indent);
            if chars[start] == ' ' {
                out.push('\\');
            }
        }
    }
    out.push('"');
}

/// The block-scalar header after `|`: an indentation indicator when the text starts with a
/// space or a line break, then `-` (no final break) or `+` (more than one final break).
fn block_hints(text: &str) -> String {
    let mut hints = String::new();
    let mut chars = text.chars();
    if let Some(first) = text.chars().next() {
        if first == ' ' || is_line_break(first) {
            hints.push('2');
        }
        let last = chars.next_back();
        let before_last = chars.next_back();
        match (last, before_last) {
            (Some(l), _) if !is_line_break(l) => hints.push('-'),
            (Some(_), None) => hints.push('+'),
            (Some(_), Some(b)) if is_line_break(b) => hints.push('+'),
            _ => {}
        }
    }
    hints
}

/// Writes ` |hints` and the body (each non-empty line at `indent` spaces), ending with a newline.
/// `out` must be positioned right after `key:` or `-`.
pub(crate) fn write_literal(out: &mut String, text: &str, indent: usize) {
    out.push_str(" |");
    out.push_str(&block_hints(text));
    out.push('\n');
    let pad = " ".repeat(indent);
    let mut at_line_start = true;
    for c in text.chars() {
        if is_line_break(c) {
            out.push(c);
            at_line_start = true;
        } else {
            if at_line_start {
                out.push_str(&pad);
                at_line_start = false;
            }
            out.push(c);
        }
    }
    if !at_line_start {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints() {
        assert_eq!(block_hints("a\n"), "");
        assert_eq!(block_hints("a"), "-");
        assert_eq!(block_hints("a\n\n"), "+");
        assert_eq!(block_hints("\n"), "2+");
        assert_eq!(block_hints(" a\nb\n"), "2");
        assert_eq!(block_hints("\na\nb"), "2-");
    }

    /// Every string of up to four characters from an alphabet of the characters that matter
    /// (and one that does not): the byte-wise pass finds what the character-wise one finds.
    #[test]
    fn the_ascii_pass_finds_what_the_char_pass_finds() {
        let alphabet = [
            'a', ' ', ':', '#', '\n', '\r', '\t', '-', '?', '.', '\'', '\u{7f}', '\0', '[',
        ];
        let mut strings = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = strings
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            for s in &longer {
                assert_eq!(find_ascii(s.as_bytes()), find_chars(s), "{s:?}");
            }
            strings = longer;
        }
        for s in [
            "---x", "...", "- a", "-a", "a: b", "a:b", "a #b", "a#b", "x:",
        ] {
            assert_eq!(find_ascii(s.as_bytes()), find_chars(s), "{s:?}");
        }
    }

    #[test]
    fn timestamps() {
        assert!(is_timestamp("2001-12-14"));
        assert!(is_timestamp("2001-12-14t21:59:43.10-05:00"));
        assert!(is_timestamp("2001-12-14 21:59:43.10 -5"));
        assert!(is_timestamp("2001-12-15T02:59:43.1Z"));
        assert!(!is_timestamp("2001-12-1"));
        assert!(!is_timestamp("v2001-12-14"));
    }
}
