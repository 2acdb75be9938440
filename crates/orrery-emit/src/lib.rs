//! Prints a compiled config tree the way CircleCI's `circleci config process` prints it.
//!
//! The official compiler is Clojure; its output is SnakeYAML's block style with 2-space
//! indentation and sequences not indented under their key. Maps keep Clojure's iteration
//! order. The maps it reads from YAML are ordered maps, whatever their size, and so are the
//! maps it builds from them; the top-level `jobs:` map it assembles itself is a plain Clojure
//! map: up to 8 entries (an array map) in insertion order, more than 8 (a hash map) in the
//! hash-array-mapped-trie order given by [`clojure_hash_order`]. (Every `jobs:` map of more
//! than 8 jobs in the shared outputs is hash-ordered; a 9-entry `environment` map of a docker
//! image kept its order in a 2020 output.)
//!
//! * [`emit_yaml`] — the document body, ending with a newline.
//! * [`orb_header`] — one `# Orb '…' resolved to '…'` line.
//! * [`trailer`] — the `# Original config.yml file:` block.
//! * [`emit_json`] — the same tree as JSON text, keys in the same order, integers of any size
//!   exact.
//! * [`to_json`] — the same tree as a `serde_json::Value` (an integer past 64 bits becomes the
//!   nearest double there).

mod hash;
mod scalar;

use orrery_yaml::{Entry, Map, Node, Value};
use scalar::{
    choose_style, write_double_quoted, write_literal, write_plain, write_single_quoted, Style,
};

pub use hash::{clojure_hash_order, clojure_hash_positions};

/// Largest map Clojure keeps as a `PersistentArrayMap` (insertion order).
const ARRAY_MAP_MAX: usize = 8;

/// The entries of a map the official compiler assembles as a plain Clojure map (the compiled
/// top-level `jobs:`) in the order it prints them.
pub fn hash_map_entries(map: &Map) -> Vec<&Entry> {
    if map.entries().len() <= ARRAY_MAP_MAX {
        return map.entries().iter().collect();
    }
    let keys: Vec<&str> = map.entries().iter().map(|e| e.key.as_str()).collect();
    clojure_hash_positions(&keys)
        .into_iter()
        .map(|i| &map.entries()[i])
        .collect()
}

/// The entries of `map` in print order: `top_level_jobs` is the compiled `jobs:` map (hash
/// order past 8 entries); every other map keeps insertion order.
fn entries(map: &Map, top_level_jobs: bool) -> Vec<&Entry> {
    if top_level_jobs {
        hash_map_entries(map)
    } else {
        map.entries().iter().collect()
    }
}

/// The compiled document as CircleCI prints it (no header lines, no trailer): block style,
/// 2-space indent, sequences not indented under their key, SnakeYAML-like scalar styles, the
/// top-level `jobs:` map in Clojure hash-map order past 8 jobs, every other map in insertion order.
/// Ends with a newline.
pub fn emit_yaml(node: &Node) -> String {
    emit_yaml_with(node, &EmitOptions::default())
}

/// Emitter settings that changed over the official compiler's history.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EmitOptions {
    /// Fold long plain and quoted scalars past this column, as outputs from about 2018-10-10
    /// through 2019 did (`Some(80)`). `None` (the default, 2020 on): never fold.
    pub fold_width: Option<usize>,
}

/// [`emit_yaml`] with explicit [`EmitOptions`].
pub fn emit_yaml_with(node: &Node, options: &EmitOptions) -> String {
    let e = Emitter {
        width: options.fold_width,
    };
    let mut out = String::new();
    match &node.value {
        Value::Map(m) if !m.is_empty() => e.write_map(&mut out, m, 0, false, true),
        Value::Seq(s) if !s.is_empty() => e.write_seq(&mut out, s, 0, false),
        _ => {
            // A lone scalar or empty collection: written as the rest of a line.
            let mut line = String::new();
            e.write_inline_value(&mut line, node, 2);
            out.push_str(line.trim_start_matches(' '));
        }
    }
    out
}

/// One orb-resolution header line: `# Orb 'circleci/node@4.7' resolved to 'circleci/node@4.7.0'`.
pub fn orb_header(written: &str, resolved: &str) -> String {
    format!("# Orb '{written}' resolved to '{resolved}'\n")
}

/// The trailer printed after the document: a blank line, `# Original config.yml file:`, then
/// every source line prefixed with `# `.
///
/// Lines are split at `\n`; trailing empty lines are dropped (as Java's `String.split` does), so
/// a final newline in the source adds no extra `# ` line, and the trailer itself ends without
/// a newline (as in the raw official outputs). Each line is escaped as a JSON string body
/// (`\` → `\\`, `"` → `\"`, control characters → `\n`/`\t`/`\r`/`\b`/`\f`/`\u00xx`, anything
/// outside ASCII → `\uxxxx` per UTF-16 unit, lowercase hex as clojure.data.json writes it).
pub fn trailer(source: &str) -> String {
    let mut lines: Vec<&str> = source.split('\n').collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut out = String::from("\n# Original config.yml file:\n");
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str("# ");
        escape_json_body(&mut out, line);
    }
    out
}

fn escape_json_body(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{C}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
}

/// JSON text for machines, pretty-printed; key order = the order [`emit_yaml`] uses. Integers
/// past 64 bits are written digit for digit, as JSON allows.
pub fn emit_json(node: &Node) -> String {
    let json = Json {
        node,
        top_level: true,
        jobs: false,
    };
    serde_json::to_string_pretty(&json).unwrap_or_default()
}

/// A node to serialize: `top_level` for the document, `jobs` for its compiled `jobs:` map.
struct Json<'a> {
    node: &'a Node,
    top_level: bool,
    jobs: bool,
}

impl serde::Serialize for Json<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let inner = |node, jobs| Json {
            node,
            top_level: false,
            jobs,
        };
        match &self.node.value {
            Value::BigInt(i) => serde_json::value::RawValue::from_string(i.to_string())
                .map_err(serde::ser::Error::custom)?
                .serialize(s),
            Value::Seq(items) => s.collect_seq(items.iter().map(|n| inner(n, false))),
            Value::Map(m) => s.collect_map(
                entries(m, self.jobs)
                    .into_iter()
                    .map(|e| (&e.key, inner(&e.value, self.top_level && e.key == "jobs"))),
            ),
            _ => to_json(self.node).serialize(s),
        }
    }
}

/// JSON for machines as a value; key order = the order [`emit_yaml`] uses.
pub fn to_json(node: &Node) -> serde_json::Value {
    json_value(node, true)
}

fn json_value(node: &Node, top_level: bool) -> serde_json::Value {
    use serde_json::Value as J;
    let to_json = |n: &Node| json_value(n, false);
    match &node.value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        // JSON numbers have no bound, but serde_json's do: past 64 bits the nearest double.
        Value::BigInt(i) => match u64::try_from(i) {
            Ok(u) => J::from(u),
            Err(_) => serde_json::Number::from_f64(i.to_string().parse().unwrap_or(f64::NAN))
                .map_or(J::Null, J::Number),
        },
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or_else(|| J::String(java_double_string(*f))),
        Value::Str(s) => J::String(s.clone()),
        Value::Seq(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(m) => J::Object(
            m.entries()
                .iter()
                .map(|e| {
                    let value = match &e.value.value {
                        Value::Map(jobs) if top_level && e.key == "jobs" => J::Object(
                            hash_map_entries(jobs)
                                .into_iter()
                                .map(|job| (job.key.clone(), to_json(&job.value)))
                                .collect(),
                        ),
                        _ => to_json(&e.value),
                    };
                    (e.key.clone(), value)
                })
                .collect(),
        ),
    }
}

/// Java's `Double.toString` as SnakeYAML prints a double (`.NaN`, `.inf`, `-.inf` for the
/// special values).
fn java_double_string(f: f64) -> String {
    if f.is_nan() {
        return ".NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let a = f.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        let s = format!("{f}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        // Rust: `1.5e-5`, `1e10`; Java: `1.5E-5`, `1.0E10`.
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exp}")
    }
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// Writes one tree; `width` is [`EmitOptions::fold_width`].
struct Emitter {
    width: Option<usize>,
}

impl Emitter {
    /// Writes a scalar (or an empty collection) right after `key:` or `-`, including the separating
    /// space and the final newline. `block_indent` is where a literal block's lines go.
    fn write_inline_value(&self, out: &mut String, node: &Node, block_indent: usize) {
        match &node.value {
            Value::Str(s) => match choose_style(s, false) {
                Style::Literal => write_literal(out, s, block_indent),
                style => {
                    out.push(' ');
                    self.write_flow_scalar(out, s, style, block_indent);
                    out.push('\n');
                }
            },
            Value::Seq(_) => out.push_str(" []\n"),
            Value::Map(_) => out.push_str(" {}\n"),
            other => {
                out.push(' ');
                out.push_str(&non_string_text(other));
                out.push('\n');
            }
        }
    }

    fn write_flow_scalar(&self, out: &mut String, s: &str, style: Style, indent: usize) {
        match style {
            Style::Plain => write_plain(out, s, indent, self.width),
            Style::SingleQuoted => write_single_quoted(out, s, indent, self.width),
            Style::DoubleQuoted | Style::Literal => write_double_quoted(out, s, indent, self.width),
        }
    }

    /// A block mapping whose keys sit at `indent`. With `inline_first`, the first key continues the
    /// current line (right after `- `). `top_level`: the document's root map.
    fn write_map(
        &self,
        out: &mut String,
        map: &Map,
        indent: usize,
        inline_first: bool,
        top_level: bool,
    ) {
        self.write_entries(out, map.entries(), indent, inline_first, top_level);
    }

    /// Writes `entries_in_order` (a map's entries, or the compiled `jobs:` in hash order).
    fn write_entries<'a>(
        &self,
        out: &mut String,
        entries_in_order: impl IntoIterator<Item = &'a Entry>,
        indent: usize,
        inline_first: bool,
        top_level: bool,
    ) {
        for (i, entry) in entries_in_order.into_iter().enumerate() {
            if i > 0 || !inline_first {
                pad(out, indent);
            }
            write_key(out, &entry.key);
            out.push(':');
            match &entry.value.value {
                Value::Map(m) if !m.is_empty() => {
                    out.push('\n');
                    if top_level && entry.key == "jobs" {
                        self.write_entries(out, hash_map_entries(m), indent + 2, false, false);
                    } else {
                        self.write_entries(out, m.entries(), indent + 2, false, false);
                    }
                }
                Value::Seq(s) if !s.is_empty() => {
                    out.push('\n');
                    // Sequences are not indented under their key.
                    self.write_seq(out, s, indent, false);
                }
                _ => self.write_inline_value(out, &entry.value, indent + 2),
            }
        }
    }

    /// A block sequence whose dashes sit at `indent`. With `inline_first`, the first item continues
    /// the current line (a sequence inside a sequence item).
    fn write_seq(&self, out: &mut String, items: &[Node], indent: usize, inline_first: bool) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 || !inline_first {
                pad(out, indent);
            }
            out.push('-');
            match &item.value {
                Value::Map(m) if !m.is_empty() => {
                    out.push(' ');
                    self.write_map(out, m, indent + 2, true, false);
                }
                Value::Seq(s) if !s.is_empty() => {
                    out.push(' ');
                    self.write_seq(out, s, indent + 2, true);
                }
                _ => self.write_inline_value(out, item, indent + 2),
            }
        }
    }
}

fn non_string_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        // SnakeYAML prints a `BigInteger` as its decimal digits.
        Value::BigInt(i) => i.to_string(),
        Value::Float(f) => java_double_string(*f),
        Value::Str(s) => s.clone(),
        Value::Seq(_) => "[]".into(),
        Value::Map(_) => "{}".into(),
    }
}

/// Keys are never folded (SnakeYAML turns splitting off in simple-key context).
fn write_key(out: &mut String, key: &str) {
    let style = choose_style(key, true);
    Emitter { width: None }.write_flow_scalar(out, key, style, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_doubles() {
        assert_eq!(java_double_string(2.1), "2.1");
        assert_eq!(java_double_string(2.0), "2.0");
        assert_eq!(java_double_string(1e10), "1.0E10");
        assert_eq!(java_double_string(1.5e-5), "1.5E-5");
        assert_eq!(java_double_string(f64::NAN), ".NaN");
        assert_eq!(java_double_string(f64::NEG_INFINITY), "-.inf");
    }
}
