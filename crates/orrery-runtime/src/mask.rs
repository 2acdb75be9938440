//! Secret masking: values of project and context variables never reach output. Output is masked
//! a whole line at a time, so a value split across reads is still caught.

/// What a masked value is replaced with.
pub const MASK: &str = "********";

#[derive(Clone, Debug, Default)]
pub struct Masker {
    /// Longest first, so a value containing another is masked whole.
    values: Vec<String>,
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
        Masker { values: out }
    }

    pub fn mask(&self, text: &str) -> String {
        let mut text = text.to_string();
        for v in &self.values {
            if text.contains(v.as_str()) {
                text = text.replace(v.as_str(), MASK);
            }
        }
        text
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Splits a byte stream into lines; a partial line waits for its end (or [`LineSplitter::flush`]).
#[derive(Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    pub fn push(&mut self, bytes: &[u8], mut line: impl FnMut(&str)) {
        self.pending.extend_from_slice(bytes);
        while let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
            let rest = self.pending.split_off(i + 1);
            let mut l = std::mem::replace(&mut self.pending, rest);
            l.pop();
            if l.last() == Some(&b'\r') {
                l.pop();
            }
            line(&String::from_utf8_lossy(&l));
        }
    }

    pub fn flush(&mut self, mut line: impl FnMut(&str)) {
        if !self.pending.is_empty() {
            let l = std::mem::take(&mut self.pending);
            line(&String::from_utf8_lossy(&l));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_long_values_only() {
        let m = Masker::new(["hunter22", "abc", "true", "line-one\nline-two"]);
        assert_eq!(m.mask("pw=hunter22 abc true"), "pw=******** abc true");
        assert_eq!(m.mask("line-two"), MASK);
    }

    #[test]
    fn lines_across_chunks() {
        let mut s = LineSplitter::default();
        let mut lines = Vec::new();
        s.push(b"hel", |l| lines.push(l.to_string()));
        s.push(b"lo\nwor", |l| lines.push(l.to_string()));
        s.flush(|l| lines.push(l.to_string()));
        assert_eq!(lines, ["hello", "wor"]);
    }
}
