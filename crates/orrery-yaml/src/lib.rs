//! YAML with spans, read the way CircleCI's YAML 1.1 stack reads it.
//!
//! [`parse`] never fails: it returns a document (possibly `None`) plus diagnostics. Every node
//! keeps its byte span. Aliases are expanded (with a node budget, so an alias bomb is refused),
//! merge keys (`<<`) are applied the way SnakeYAML applies them, duplicate keys keep the last
//! value with a warning, and plain scalars are typed by the YAML 1.1 rules (`yes`/`on` are
//! booleans, `010` is octal, `1e3` is a string).

mod compose;
mod node;
mod reuse;
mod scalar;

pub use compose::{parse, Anchor, Limits, Parsed};
pub use node::{format_float, Entry, Map, Node, Value};
pub use num_bigint::{BigInt, Sign};
pub use reuse::{parse_reusing, Previous};
pub use scalar::{plain_is_string, resolve_plain};
