//! YAML text for packed documents and unpacked files.
//!
//! Scalars are written by `orrery-emit` (SnakeYAML's styles, YAML 1.1-safe quoting, literal
//! blocks for multi-line strings). The structure is written here because `orrery-emit` prints
//! a top-level `jobs:` map of more than 8 jobs in Clojure hash order, as `config process` does,
//! while a packed orb keeps its order: root keys in orb order, elements in file order.

use orrery_diagnostics::Span;
use orrery_yaml::{Map, Node, Value};

/// `node` as block-style YAML with 2-space indentation, map keys in their order. Ends with a
/// newline.
pub fn to_yaml(node: &Node) -> String {
    let mut out = String::new();
    match &node.value {
        Value::Map(map) if !map.is_empty() => write_map(&mut out, map, 0, false),
        Value::Seq(items) if !items.is_empty() => write_seq(&mut out, items, 0, false),
        _ => out.push_str(&orrery_emit::emit_yaml(node)),
    }
    out
}

/// A block map whose keys sit at `indent`; with `inline_first` the first key continues the
/// current line (after `- `).
fn write_map(out: &mut String, map: &Map, indent: usize, inline_first: bool) {
    for (i, entry) in map.entries().iter().enumerate() {
        if i > 0 || !inline_first {
            pad(out, indent);
        }
        out.push_str(&key_text(&entry.key));
        out.push(':');
        match &entry.value.value {
            Value::Map(inner) if !inner.is_empty() => {
                out.push('\n');
                write_map(out, inner, indent + 2, false);
            }
            Value::Seq(items) if !items.is_empty() => {
                out.push('\n');
                // Sequences are not indented under their key, as in the compiler's output.
                write_seq(out, items, indent, false);
            }
            _ => write_scalar(out, &entry.value, indent),
        }
    }
}

/// A block sequence whose dashes sit at `indent`.
fn write_seq(out: &mut String, items: &[Node], indent: usize, inline_first: bool) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !inline_first {
            pad(out, indent);
        }
        out.push('-');
        match &item.value {
            Value::Map(inner) if !inner.is_empty() => {
                out.push(' ');
                write_map(out, inner, indent + 2, true);
            }
            Value::Seq(inner) if !inner.is_empty() => {
                out.push(' ');
                write_seq(out, inner, indent + 2, true);
            }
            _ => write_scalar(out, item, indent),
        }
    }
}

/// A scalar or empty collection after `key:` or `-` at `indent`. `emit_yaml` writes a lone scalar
/// with its literal-block lines indented by 2; shifting them by `indent` puts them under the key.
fn write_scalar(out: &mut String, node: &Node, indent: usize) {
    out.push(' ');
    let mut at_line_start = false;
    for c in orrery_emit::emit_yaml(node).chars() {
        if at_line_start && !is_line_break(c) {
            pad(out, indent);
        }
        out.push(c);
        at_line_start = is_line_break(c);
    }
}

/// A key as `orrery-emit` writes it (simple-key quoting rules): the text before `: null` of a
/// one-entry map.
fn key_text(key: &str) -> String {
    let mut map = Map::new();
    map.insert(key, Span::default(), Node::null(Span::default()));
    let line = orrery_emit::emit_yaml(&Node::new(Value::Map(map), Span::default()));
    match line.strip_suffix(": null\n") {
        Some(key) => key.to_string(),
        None => line.trim_end().to_string(),
    }
}

/// The line breaks `orrery-emit` breaks literal blocks at.
fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data_eq;
    use orrery_diagnostics::FileId;
    use orrery_yaml::{parse, Limits};

    fn yaml(text: &str) -> Node {
        parse(FileId(0), text, Limits::default()).root.unwrap()
    }

    #[test]
    fn keeps_order_of_large_maps() {
        let text: String = ('a'..='l').rev().map(|c| format!("{c}: 1\n")).collect();
        assert_eq!(to_yaml(&yaml(&text)), text);
    }

    #[test]
    fn nests_literal_blocks_and_quotes_keys() {
        let source = "\
jobs:
  build:
    steps:
    - run:
        command: |-
          echo one

          echo two
    - checkout
  'yes': []
  '<<': {}
  empty: ''
";
        let node = yaml(source);
        let text = to_yaml(&node);
        assert_eq!(text, source);
        assert!(data_eq(&yaml(&text), &node));
    }

    #[test]
    fn sequences_of_sequences() {
        let source = "- - a\n  - b\n- c\n";
        assert_eq!(to_yaml(&yaml(source)), source);
    }
}
