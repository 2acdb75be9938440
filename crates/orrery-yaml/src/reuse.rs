//! Parsing a new version of a document by reusing the unchanged parts of the previous one's
//! tree (the language server re-parses on every keystroke).
//!
//! The unit of reuse is a *chunk*: an entry of a map that is itself the value of a top-level
//! key (`jobs:` → `  build:` and the lines below it), written as a plain key alone on its line
//! with its value on the following, more indented lines. A chunk whose text (and the
//! indentation of the line after it) is the same as one of the previous version, and whose
//! previous subtree had no anchor, alias or diagnostic in it, is blanked out of the text
//! (spaces, same length, so every offset stays) before the text is parsed; its previous
//! subtree, moved to its new offset, then takes the place of the `null` the blank left. Anything
//! the reuse cannot vouch for falls back to a full parse, so the result is always exactly what
//! [`parse`] gives for the text (`tests/reuse.rs` checks that over the corpus and random edits).

use std::collections::HashMap;

use orrery_diagnostics::{has_errors, FileId, Span};

use crate::compose::{parse, Limits, Parsed};
use crate::{Node, Value};

/// The previous version of a document and its parse.
#[derive(Clone, Copy)]
pub struct Previous<'a> {
    pub text: &'a str,
    pub parsed: &'a Parsed,
}

/// [`parse`], reusing what it can of `previous`. Always the same result as `parse`.
pub fn parse_reusing(
    file: FileId,
    text: &str,
    limits: Limits,
    previous: Option<Previous<'_>>,
) -> Parsed {
    match previous.and_then(|previous| reuse(file, text, limits, previous)) {
        Some(parsed) => parsed,
        None => parse(file, text, limits),
    }
}

fn reuse(file: FileId, text: &str, limits: Limits, previous: Previous<'_>) -> Option<Parsed> {
    let old_root = previous.parsed.root.as_ref()?;
    if has_errors(&previous.parsed.diagnostics) {
        return None;
    }
    let (old_chunks, _) = chunks(previous.text);
    let mut by_text: HashMap<(&str, Tail), &Chunk> = HashMap::new();
    for chunk in &old_chunks {
        by_text
            .entry((&previous.text[chunk.start..chunk.end], chunk.tail))
            .or_insert(chunk);
    }
    // Each chunk to reuse: where it is now, and its previous subtree.
    let mut reused: Vec<(&Chunk, &Node, i64)> = Vec::new();
    let (new_chunks, new_zones) = chunks(text);
    let old_places = entries_under_top_level(old_root);
    for chunk in &new_chunks {
        let Some(old) = by_text.get(&(&text[chunk.start..chunk.end], chunk.tail)) else {
            continue;
        };
        if let Some(value) = reusable(previous, old_root, &old_places, old) {
            reused.push((chunk, value, chunk.start as i64 - old.start as i64));
        }
    }
    if reused.is_empty() {
        return None;
    }
    let mut skeleton = text.as_bytes().to_vec();
    for (chunk, _, _) in &reused {
        for byte in &mut skeleton[chunk.body..chunk.end] {
            if *byte != b'\n' && *byte != b'\r' {
                *byte = b' ';
            }
        }
    }
    // Only ASCII bytes were written over whole characters' bytes, so it is still UTF-8.
    let skeleton = String::from_utf8(skeleton).ok()?;
    let mut parsed = parse(file, &skeleton, limits);
    if has_errors(&parsed.diagnostics) {
        return None;
    }
    // An alias of a node that holds a blanked chunk would copy the blank: no anchor an alias
    // uses may sit where the root's or a chunk parent's properties are written.
    let holds_chunks = |span: Span| {
        new_zones
            .iter()
            .any(|&(start, end)| start <= span.start as usize && (span.start as usize) < end)
    };
    if parsed
        .anchors
        .iter()
        .any(|a| a.used && holds_chunks(a.span))
    {
        return None;
    }
    let root = parsed.root.as_mut()?;
    let places = entries_under_top_level(root);
    let Value::Map(top) = &mut root.value else {
        return None;
    };
    for (chunk, old_value, delta) in reused {
        let &(parent, index) = places.get(&(chunk.start + chunk.indent))?;
        let parent_key = top.entries().get(parent)?.key_span.start as usize;
        let map = top.value_at_mut(parent)?.as_map_mut()?;
        let entry = map.entries().get(index)?;
        if parent_key != chunk.parent || !entry.value.is_null() || entry.key != chunk.key {
            return None;
        }
        *map.value_at_mut(index)? = moved(old_value, delta, file);
    }
    // Past half the node limit, let the full parse count exactly.
    if root.size().saturating_mul(2) > limits.max_nodes {
        return None;
    }
    Some(parsed)
}

/// The previous subtree of `old`, when it can stand for the chunk's text anywhere: found at
/// its place, and with no anchor, alias or diagnostic inside.
fn reusable<'t>(
    previous: Previous<'_>,
    old_root: &'t Node,
    places: &Places,
    old: &Chunk,
) -> Option<&'t Node> {
    let text = &previous.text[old.start..old.end];
    let inside = |span: Span| old.start <= span.start as usize && (span.start as usize) < old.end;
    if previous
        .parsed
        .diagnostics
        .iter()
        .any(|d| d.primary.as_ref().is_some_and(|p| inside(p.span)))
        || previous.parsed.anchors.iter().any(|a| inside(a.span))
        || (!previous.parsed.anchors.is_empty() && may_hold_alias(text))
    {
        return None;
    }
    let &(parent, index) = places.get(&(old.start + old.indent))?;
    let parent = &old_root.as_map()?.entries()[parent];
    let entry = &parent.value.as_map()?.entries()[index];
    let span = entry.value.span;
    (parent.key_span.start as usize == old.parent
        && entry.key == old.key
        && old.body <= span.start as usize
        // A block collection ends where the next line's first token starts.
        && span.end as usize <= old.end + old.tail.indent()
        && !entry.value.is_null())
    .then_some(&entry.value)
}

/// Where each entry of a map under a top-level key is, by where its key starts: the index of
/// the top-level entry, and its own index in that entry's map.
type Places = HashMap<usize, (usize, usize)>;

fn entries_under_top_level(root: &Node) -> Places {
    let mut places = HashMap::new();
    for (p, parent) in root
        .as_map()
        .map_or(&[][..], |m| m.entries())
        .iter()
        .enumerate()
    {
        for (i, entry) in parent
            .value
            .as_map()
            .map_or(&[][..], |m| m.entries())
            .iter()
            .enumerate()
        {
            places
                .entry(entry.key_span.start as usize)
                .or_insert((p, i));
        }
    }
    places
}

/// Whether `text` may hold an alias (`*name` where a node can start). Cautious: `ls *.txt`
/// counts too.
fn may_hold_alias(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'*'
            && (i == 0
                || matches!(
                    bytes[i - 1],
                    b' ' | b'\t' | b'\n' | b'[' | b'{' | b',' | b':'
                ))
    })
}

/// A copy of `node` with every span moved by `delta` bytes into `file`.
fn moved(node: &Node, delta: i64, file: FileId) -> Node {
    let span = |s: Span| Span {
        file,
        start: (s.start as i64 + delta) as u32,
        end: (s.end as i64 + delta) as u32,
    };
    let value = match &node.value {
        Value::Seq(items) => Value::Seq(items.iter().map(|n| moved(n, delta, file)).collect()),
        Value::Map(map) => Value::Map(crate::Map::from_entries(
            map.entries()
                .iter()
                .map(|e| crate::Entry {
                    key: e.key.clone(),
                    key_span: span(e.key_span),
                    value: moved(&e.value, delta, file),
                })
                .collect(),
        )),
        other => other.clone(),
    };
    Node {
        value,
        span: span(node.span),
    }
}

/// What follows a chunk: the next line that is neither blank nor a comment, which ends it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Tail {
    /// A key (or anything but the two below) at this indentation.
    Line(usize),
    /// A line starting with `-`, `?`, `.` or `%` at this indentation: markers and
    /// indicators end collections at other places than a key does.
    Indicator(usize),
    End,
}

impl Tail {
    fn indent(self) -> usize {
        match self {
            Tail::Line(n) | Tail::Indicator(n) => n,
            Tail::End => 0,
        }
    }
}

/// An entry of a map under a top-level key, alone on its key line.
#[derive(Debug)]
struct Chunk {
    /// Where the top-level key starts.
    parent: usize,
    /// The start of the key's line; the key is at `start + indent`.
    start: usize,
    indent: usize,
    key: String,
    /// The line after the key's line: the value is written from here …
    body: usize,
    /// … to here (the start of the next line that is neither blank nor a comment and not
    /// indented more than the key, or the end of the text).
    end: usize,
    tail: Tail,
}

/// The chunks of `text`, found line by line (see the module's comment), and the places where
/// an anchor would name a node that holds chunks: before the first top-level key (the root's),
/// and from each parent's key to its first entry.
fn chunks(text: &str) -> (Vec<Chunk>, Vec<(usize, usize)>) {
    // Lines as (start, text without the line break).
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        lines.push((offset, line.trim_end_matches(['\n', '\r'])));
        offset += line.len();
    }
    let significant = |line: &str| {
        let rest = line.trim_start_matches(' ');
        !(rest.is_empty() || rest.starts_with('#') || rest.trim().is_empty())
    };
    let indent = |line: &str| line.len() - line.trim_start_matches(' ').len();
    let tail = |i: usize| match lines.get(i) {
        None => Tail::End,
        Some((_, line)) => {
            let at = indent(line);
            match line.as_bytes().get(at) {
                Some(b'-' | b'?' | b'.' | b'%') => Tail::Indicator(at),
                _ => Tail::Line(at),
            }
        }
    };
    // The next significant line at or after `i`.
    let next = |mut i: usize| {
        while i < lines.len() && !significant(lines[i].1) {
            i += 1;
        }
        i
    };
    let mut out = Vec::new();
    let mut i = next(0);
    // The root's properties come before its first key.
    let first_key = lines.iter().find(|(_, line)| {
        line.as_bytes()
            .first()
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'"' | b'\''))
            && line.contains(':')
    });
    let mut zones = vec![(0, first_key.map_or(text.len(), |(s, _)| *s))];
    while i < lines.len() {
        let (parent, line) = lines[i];
        i = next(i + 1);
        if indent(line) != 0 || lone_key(line).is_none() {
            // Not a parent; skip what belongs to it.
            while i < lines.len() && indent(lines[i].1) > 0 {
                i = next(i + 1);
            }
            continue;
        }
        let Some(&(_, first)) = lines.get(i) else {
            break;
        };
        let child_indent = indent(first);
        zones.push((parent, lines[i].0));
        while i < lines.len() && indent(lines[i].1) > 0 {
            let (start, line) = lines[i];
            let key = (indent(line) == child_indent)
                .then(|| lone_key(&line[child_indent..]))
                .flatten();
            let own = i;
            i = next(i + 1);
            while i < lines.len() && indent(lines[i].1) > indent(line) {
                i = next(i + 1);
            }
            let (Some(key), true) = (key, i > own + 1) else {
                continue;
            };
            out.push(Chunk {
                parent,
                start,
                indent: child_indent,
                key: key.to_string(),
                body: lines[own + 1].0,
                end: lines.get(i).map_or(text.len(), |(s, _)| *s),
                tail: tail(i),
            });
        }
    }
    (out, zones)
}

/// The key of a line that is only a plain key and a colon (a comment may follow): `build:`.
fn lone_key(line: &str) -> Option<&str> {
    let (key, rest) = line.split_once(':')?;
    let rest = rest.trim_start_matches([' ', '\t']);
    let first = key.chars().next()?;
    (first.is_ascii_alphanumeric() || first == '_')
        .then_some(())
        .filter(|()| {
            key.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        })
        .filter(|()| rest.is_empty() || rest.starts_with('#'))?;
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_the_entries_under_top_level_keys() {
        let text = "version: 2.1\njobs:\n  a:\n    steps: [x]\n\n  # note\n  b:\n    steps:\n      - run: |\n          # not a comment\n\nworkflows:\n  w:\n    jobs: [a]\n";
        let (chunks, _) = chunks(text);
        let found: Vec<(&str, &str, Tail)> = chunks
            .iter()
            .map(|c| (c.key.as_str(), &text[c.body..c.end], c.tail))
            .collect();
        assert_eq!(
            found,
            vec![
                ("a", "    steps: [x]\n\n  # note\n", Tail::Line(2)),
                (
                    "b",
                    "    steps:\n      - run: |\n          # not a comment\n\n",
                    Tail::Line(0)
                ),
                ("w", "    jobs: [a]\n", Tail::End),
            ]
        );
    }

    #[test]
    fn an_edit_inside_one_job_reuses_the_others() {
        let old = "version: 2.1\njobs:\n  a:\n    steps: [x]\n  b:\n    steps: [y]\n";
        let new = old.replace("[y]", "[yy]");
        let parsed = parse(FileId(0), old, Limits::default());
        let previous = Previous {
            text: old,
            parsed: &parsed,
        };
        let reused = reuse(FileId(0), &new, Limits::default(), previous).map(|p| p.root);
        assert_eq!(reused, Some(parse(FileId(0), &new, Limits::default()).root));
    }

    #[test]
    fn lone_keys() {
        assert_eq!(lone_key("build:"), Some("build"));
        assert_eq!(lone_key("build-1.x:  # c"), Some("build-1.x"));
        assert_eq!(lone_key("build: x"), None);
        assert_eq!(lone_key("build: &a"), None);
        assert_eq!(lone_key("\"build\":"), None);
        assert_eq!(lone_key("- build:"), None);
    }
}
