//! Byte offsets ↔ LSP positions, in the encoding negotiated at `initialize`.

use line_index::{LineCol, LineIndex, TextSize, WideEncoding, WideLineCol};
use tower_lsp_server::ls_types::{Position, PositionEncodingKind, Range};

/// How `Position.character` counts: UTF-8 bytes when the client offers it, else UTF-16 units
/// (the protocol's default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Encoding {
    Utf8,
    #[default]
    Utf16,
}

impl Encoding {
    /// The encoding to use for a client offering `offered` (in its order of preference).
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Encoding {
        let offers_utf8 = offered
            .unwrap_or_default()
            .contains(&PositionEncodingKind::UTF8);
        if offers_utf8 {
            Encoding::Utf8
        } else {
            Encoding::Utf16
        }
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }
    }
}

/// A text's lines, for converting between offsets and positions.
pub struct LineMap {
    index: LineIndex,
    len: u32,
    encoding: Encoding,
}

impl LineMap {
    pub fn new(text: &str, encoding: Encoding) -> LineMap {
        LineMap {
            index: LineIndex::new(text),
            len: u32::try_from(text.len()).unwrap_or(u32::MAX),
            encoding,
        }
    }

    pub fn position(&self, offset: u32) -> Position {
        // An offset inside a character (never produced by the core, but cheap to survive)
        // counts as that character's start.
        let mut offset = offset.min(self.len);
        let line_col = loop {
            match self.index.try_line_col(TextSize::from(offset)) {
                Some(line_col) => break line_col,
                None => offset = offset.saturating_sub(1),
            }
        };
        match self.encoding {
            Encoding::Utf8 => Position::new(line_col.line, line_col.col),
            Encoding::Utf16 => match self.index.to_wide(WideEncoding::Utf16, line_col) {
                Some(wide) => Position::new(wide.line, wide.col),
                None => Position::new(line_col.line, line_col.col),
            },
        }
    }

    pub fn range(&self, start: u32, end: u32) -> Range {
        Range::new(self.position(start), self.position(end))
    }

    /// The byte offset of `position`, clamped to the text: a line past the end is the end, a
    /// character past the line's end is the line's end, and one inside a character is its start.
    pub fn offset(&self, position: Position) -> u32 {
        let Some(line) = self.index.line(position.line) else {
            return self.len;
        };
        let line_end = {
            // `line` includes the line break; a position never lies after it.
            let text_end: u32 = line.end().into();
            let start: u32 = line.start().into();
            let next = self.index.line(position.line + 1).map(|_| text_end);
            next.map_or(text_end, |end| end.saturating_sub(1).max(start))
        };
        let line_col = match self.encoding {
            Encoding::Utf8 => Some(LineCol {
                line: position.line,
                col: position.character,
            }),
            Encoding::Utf16 => self.index.to_utf8(
                WideEncoding::Utf16,
                WideLineCol {
                    line: position.line,
                    col: position.character,
                },
            ),
        };
        let start: u32 = line.start().into();
        let offset = line_col
            .and_then(|lc| self.index.offset(lc))
            .map_or(line_end, u32::from);
        offset.clamp(start, line_end.max(start))
    }

    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_counts_surrogate_pairs_and_utf8_counts_bytes() {
        let text = "a: \"é😀x\"\nb: 1\n";
        let x = text.find('x').unwrap() as u32;
        let utf16 = LineMap::new(text, Encoding::Utf16);
        assert_eq!(utf16.position(x), Position::new(0, 7));
        assert_eq!(utf16.offset(Position::new(0, 7)), x);
        let utf8 = LineMap::new(text, Encoding::Utf8);
        assert_eq!(utf8.position(x), Position::new(0, 10));
        assert_eq!(utf8.offset(Position::new(0, 10)), x);
        let b = text.find('b').unwrap() as u32;
        assert_eq!(utf16.position(b), Position::new(1, 0));
    }

    #[test]
    fn positions_past_the_end_are_clamped() {
        let text = "ab\ncd";
        let map = LineMap::new(text, Encoding::Utf16);
        assert_eq!(map.offset(Position::new(0, 99)), 2);
        assert_eq!(map.offset(Position::new(9, 0)), 5);
        assert_eq!(map.offset(Position::new(1, 99)), 5);
    }
}
