//! Secret masking: values of project and context variables never reach output. Output is masked
//! a whole line at a time, so a value split across reads is still caught; a line longer than
//! [`MAX_LINE`] is passed on in pieces cut where no value straddles the cut.

use std::sync::Arc;

use memchr::memmem;

/// What a masked value is replaced with.
pub const MASK: &str = "********";

/// The longest piece of output passed on as one line: a step printing more without a newline
/// (a progress bar redrawn with `\r`, a binary dump) is passed on in pieces of at most this size.
pub const MAX_LINE: usize = 1 << 20;

#[derive(Clone, Debug, Default)]
pub struct Masker {
    /// Longest first, so a value containing another is masked whole.
    values: Arc<[String]>,
}

impl Masker {
    /// Values shorter than 4 characters and `true`/`false` are left alone, as CircleCI does; a
    /// multi-line value is masked line by line.
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Masker {
        let mut out: Vec<String> = values
            .into_iter()
            .flat_map(str::lines)
            .map(str::trim_end)
            .filter(|v| v.chars().count() >= 4)
            .filter(|v| !matches!(*v, "true" | "True" | "false" | "False"))
            .map(str::to_string)
            .collect();
        out.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        out.dedup();
        Masker { values: out.into() }
    }

    pub fn mask(&self, text: &str) -> String {
        let mut text = text.to_string();
        for v in self.values.iter() {
            if text.contains(v.as_str()) {
                text = text.replace(v.as_str(), MASK);
            }
        }
        text
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The length of the longest value (0 without values).
    fn longest(&self) -> usize {
        self.values.first().map_or(0, String::len)
    }

    /// A cut of `text` at or near `want` that no value straddles, so that both pieces mask
    /// alone as the whole would. Occurrences ending past `text` are not seen: callers keep
    /// [`Masker::longest`] bytes after `want`.
    fn safe_cut(&self, text: &[u8], want: usize) -> usize {
        let straddling = |cut: usize| {
            self.values.iter().find_map(|v| {
                let from = cut.saturating_sub(v.len() - 1);
                let to = (cut + v.len() - 1).min(text.len());
                memmem::find_iter(&text[from..to], v.as_bytes())
                    .map(|i| (from + i, from + i + v.len()))
                    .find(|&(start, end)| start < cut && cut < end)
            })
        };
        let mut cut = want;
        while let Some((start, _)) = straddling(cut) {
            cut = start;
        }
        if cut > 0 {
            return cut;
        }
        // Values overlap back to the start: cut after the one over `want` instead.
        let mut cut = want;
        while let Some((_, end)) = straddling(cut) {
            cut = end;
        }
        cut
    }
}

/// Splits a byte stream into lines; a partial line waits for its end (or [`LineSplitter::flush`])
/// unless it grows past the line bound. Each byte is scanned once, so a long line costs its
/// length, not its length times the number of reads.
pub struct LineSplitter {
    pending: Vec<u8>,
    max_line: usize,
    masker: Masker,
}

impl Default for LineSplitter {
    fn default() -> Self {
        LineSplitter::new(Masker::default())
    }
}

impl LineSplitter {
    /// Cuts over-long lines where none of `masker`'s values straddles the cut.
    pub fn new(masker: Masker) -> LineSplitter {
        LineSplitter::with_max_line(masker, MAX_LINE)
    }

    pub fn with_max_line(masker: Masker, max_line: usize) -> LineSplitter {
        LineSplitter {
            pending: Vec::new(),
            max_line: max_line.max(1),
            masker,
        }
    }

    pub fn push(&mut self, bytes: &[u8], mut line: impl FnMut(&str)) {
        // `pending` never holds a newline, so only the new bytes are searched.
        let mut start = 0;
        let mut rest = bytes;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            let l = &rest[..i];
            if self.pending.is_empty() && l.len() <= self.max_line {
                line(&String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l)));
            } else {
                // The line's end may come with more than the bound: it is cut too.
                self.pending.extend_from_slice(l);
                if self.pending.last() == Some(&b'\r') {
                    self.pending.pop();
                }
                self.cut_long(0, &mut line);
                line(&String::from_utf8_lossy(&self.pending));
                self.pending.clear();
            }
            start += i + 1;
            rest = &bytes[start..];
        }
        self.pending.extend_from_slice(rest);
        // Enough of the end stays that a value completed by the next read is seen whole.
        self.cut_long(self.masker.longest(), &mut line);
    }

    /// Passes on pieces of a pending line longer than the bound while more than `keep` bytes
    /// would remain.
    fn cut_long(&mut self, keep: usize, line: &mut impl FnMut(&str)) {
        let mut start = 0;
        while self.pending.len() - start > self.max_line + keep {
            let text = &self.pending[start..];
            let mut want = self.max_line;
            // Not inside a UTF-8 sequence (unless the bytes are not UTF-8 at all).
            let boundary = (want.saturating_sub(3)..=want)
                .rev()
                .find(|&i| text[i] & 0xC0 != 0x80);
            if let Some(b) = boundary.filter(|&b| b > 0) {
                want = b;
            }
            let cut = self.masker.safe_cut(text, want);
            line(&String::from_utf8_lossy(&text[..cut]));
            start += cut;
        }
        self.pending.drain(..start);
    }

    pub fn flush(&mut self, mut line: impl FnMut(&str)) {
        self.cut_long(0, &mut line);
        if !self.pending.is_empty() {
            let l = std::mem::take(&mut self.pending);
            line(&String::from_utf8_lossy(&l));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &mut LineSplitter, chunks: &[&[u8]]) -> Vec<String> {
        let mut lines = Vec::new();
        for c in chunks {
            s.push(c, |l| lines.push(l.to_string()));
        }
        s.flush(|l| lines.push(l.to_string()));
        lines
    }

    #[test]
    fn masks_long_values_only() {
        let m = Masker::new(["hunter22", "abc", "true", "line-one\nline-two"]);
        assert_eq!(m.mask("pw=hunter22 abc true"), "pw=******** abc true");
        assert_eq!(m.mask("line-two"), MASK);
    }

    #[test]
    fn lines_across_chunks() {
        let mut s = LineSplitter::default();
        let lines = split(&mut s, &[b"hel", b"lo\nwor", b"ld\r\n\nlast"]);
        assert_eq!(lines, ["hello", "world", "", "last"]);
    }

    #[test]
    fn a_line_ending_past_the_bound_is_cut_too() {
        let mut s = LineSplitter::with_max_line(Masker::default(), 4);
        assert_eq!(
            split(
                &mut s,
                &[b"abcdefghij\r\n", b"abc", b"defghi\nxy\r", b"\n\r", b"\n"]
            ),
            ["abcd", "efgh", "ij", "abcd", "efgh", "i", "xy", ""]
        );
    }

    #[test]
    fn long_lines_are_cut_at_the_bound() {
        let mut s = LineSplitter::with_max_line(Masker::default(), 4);
        let lines = split(&mut s, &[b"abcdefghij", b"kl\nxy"]);
        assert_eq!(lines, ["abcd", "efgh", "ijkl", "xy"]);
    }

    #[test]
    fn a_cut_never_splits_a_secret() {
        let secret = "s3cr3t-value";
        let masker = Masker::new([secret]);
        for bound in 1..20 {
            for offset in 0..20 {
                let text = format!("{}{secret}{}", "x".repeat(offset), "y".repeat(30));
                let mut s = LineSplitter::with_max_line(masker.clone(), bound);
                // One byte per read: the worst case for a value split across reads.
                let chunks: Vec<&[u8]> = text.as_bytes().chunks(1).collect();
                let lines = split(&mut s, &chunks);
                let joined: String = lines.iter().map(|l| masker.mask(l)).collect();
                assert!(!joined.contains("s3cr"), "{bound} {offset}: {lines:?}");
                assert!(!joined.contains("value"), "{bound} {offset}: {lines:?}");
                assert_eq!(joined.matches(MASK).count(), 1, "{bound} {offset}");
                assert!(lines.iter().all(|l| l.len() <= bound.max(secret.len())));
            }
        }
    }

    #[test]
    fn a_cut_keeps_utf8_characters_whole() {
        let mut s = LineSplitter::with_max_line(Masker::default(), 5);
        let lines = split(&mut s, &["ééééé".as_bytes()]);
        assert!(lines.iter().all(|l| !l.contains('\u{FFFD}')), "{lines:?}");
        assert_eq!(lines.concat(), "ééééé");
    }
}
