//! Seeded random edits of a text, the same on every run, for tests that an incremental path
//! (a parse or check reusing the previous version's) gives what a full one gives.

/// A small seeded generator (xorshift), so the edits are the same on every run.
pub struct Seeded(pub u64);

impl Seeded {
    pub fn next(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound.max(1) as u64) as usize
    }
}

/// One random edit: delete a line, duplicate a line, type a character, or replace one.
pub fn edit(text: &str, rng: &mut Seeded) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    if lines.is_empty() {
        return "a: 1\n".into();
    }
    let line = rng.next(lines.len());
    match rng.next(4) {
        0 => lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != line)
            .map(|(_, l)| *l)
            .collect(),
        1 => {
            let mut out: Vec<&str> = lines.clone();
            out.insert(line, lines[line]);
            out.concat()
        }
        kind => {
            let chars: Vec<(usize, char)> = text.char_indices().collect();
            let (at, c) = chars[rng.next(chars.len())];
            let typed = [" ", "x", ":", "-", "\"", "#", "&a", "*a", "\n", "  "][rng.next(10)];
            let end = if kind == 2 { at } else { at + c.len_utf8() };
            format!("{}{typed}{}", &text[..at], &text[end..])
        }
    }
}
