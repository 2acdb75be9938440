//! The schemas compiled into an arena of [`Schema`] nodes: `$ref`s resolved to indices,
//! patterns syntax-checked, and for every node the set of YAML types it can possibly accept (used
//! to pick the `anyOf` branch a value was meant for without evaluating the others).
//!
//! The embedded schemas are compiled by `build.rs` (which includes this file) into a static
//! arena, so a process pays neither the JSON parse nor this compilation; [`compile`] still
//! compiles any document at run time (`conforms`). Texts and lists are `Cow`s so one type serves
//! both.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value as Json;

/// A text of the schema: borrowed from the static arena, or owned when compiled at run time.
pub type Text = Cow<'static, str>;
/// A list of the schema, likewise.
pub type List<T> = Cow<'static, [T]>;

/// Index of a node in [`Compiled::nodes`].
pub type Id = usize;

/// YAML value types as bits. A float with no fractional part is an integer, as in JSON Schema.
pub mod types {
    pub const NULL: u8 = 1;
    pub const BOOLEAN: u8 = 2;
    pub const INTEGER: u8 = 4;
    pub const FRACTION: u8 = 8;
    pub const STRING: u8 = 16;
    pub const ARRAY: u8 = 32;
    pub const OBJECT: u8 = 64;
    pub const NUMBER: u8 = INTEGER | FRACTION;
    pub const ALL: u8 = 127;
}

/// What a map does with keys its `properties` do not list.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Additional {
    /// Accepted (`additionalProperties` absent or `true`).
    Any,
    /// Accepted by CircleCI but ignored: reported as a warning (`x-warn-unknown`).
    Warn,
    /// Refused (`additionalProperties: false`).
    Forbid,
    Schema(Id),
}

/// A literal of `enum` / `const`.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Number(f64),
    Str(Text),
}

/// A `pattern` or `patternProperties` regex. Its syntax is checked when the schema compiles;
/// the `Regex` (Unicode classes make building one costly) is built on first use, so a run pays
/// only for the patterns its values reach.
#[derive(Clone, Debug)]
pub struct Pattern {
    pub text: Text,
    regex: OnceLock<Result<Regex, String>>,
}

impl Pattern {
    /// A pattern whose syntax `build.rs` checked.
    pub const fn checked(text: &'static str) -> Pattern {
        Pattern {
            text: Cow::Borrowed(text),
            regex: OnceLock::new(),
        }
    }

    /// Checks the syntax of `text` (with the parser `regex` uses), without building it.
    pub fn parse(text: &str) -> Result<Pattern, String> {
        regex_syntax::Parser::new()
            .parse(text)
            .map_err(|e| e.to_string())?;
        Ok(Pattern {
            text: Cow::Owned(text.to_string()),
            regex: OnceLock::new(),
        })
    }

    /// The built regex, or why it cannot be built (past the size limit: syntax is checked
    /// already). `every_pattern_builds` proves the embedded ones build.
    pub fn regex(&self) -> Result<&Regex, &str> {
        self.regex
            .get_or_init(|| Regex::new(&self.text).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }

    /// Whether `text` matches; a pattern that cannot be built matches nothing.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex().is_ok_and(|regex| regex.is_match(text))
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.text == other.text
    }
}

/// One schema node; only the keywords Orrery's schemas use.
#[derive(Clone, Debug, PartialEq)]
pub struct Schema {
    pub title: Option<Text>,
    pub description: Option<Text>,
    /// `x-expected`: what the value must be, in words.
    pub expected: Option<Text>,
    /// `type`, as bits; `ALL` when absent.
    pub types: u8,
    pub enumeration: Option<List<Literal>>,
    pub pattern: Option<Pattern>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub min_items: Option<usize>,
    pub items: Option<Id>,
    pub properties: List<(Text, Id)>,
    pub pattern_properties: List<(Pattern, Id)>,
    pub additional: Additional,
    pub property_names: Option<Id>,
    pub required: List<Text>,
    pub min_properties: Option<usize>,
    pub max_properties: Option<usize>,
    pub any_of: List<Id>,
    pub one_of: List<Id>,
    pub all_of: List<Id>,
    pub if_then_else: Option<(Id, Option<Id>, Option<Id>)>,
    pub reference: Option<Id>,
    /// True for the `template` definition: branches that are only this are "or a template".
    pub is_template: bool,
    /// Every YAML type this node could accept (own `type`, `enum`, refs and branches).
    pub accepts: u8,
}

impl Schema {
    const fn new() -> Schema {
        Schema {
            title: None,
            description: None,
            expected: None,
            types: types::ALL,
            enumeration: None,
            pattern: None,
            minimum: None,
            maximum: None,
            min_items: None,
            items: None,
            properties: Cow::Borrowed(&[]),
            pattern_properties: Cow::Borrowed(&[]),
            additional: Additional::Any,
            property_names: None,
            required: Cow::Borrowed(&[]),
            min_properties: None,
            max_properties: None,
            any_of: Cow::Borrowed(&[]),
            one_of: Cow::Borrowed(&[]),
            all_of: Cow::Borrowed(&[]),
            if_then_else: None,
            reference: None,
            is_template: false,
            accepts: types::ALL,
        }
    }

    pub fn property(&self, key: &str) -> Option<Id> {
        self.properties
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, id)| *id)
    }
}

/// Both documents in one arena.
#[derive(Debug, PartialEq)]
pub struct Compiled {
    pub nodes: List<Schema>,
    pub config_root: Id,
    pub orb_root: Id,
}

/// Keywords that only annotate or structure the document.
const ANNOTATIONS: &[&str] = &["$schema", "$id", "$defs", "$comment", "x-warn-unknown"];

struct Document<'a> {
    /// The last path segment of `$id`, e.g. `circleci-config.schema.json`.
    name: String,
    json: &'a Json,
}

struct Compiler<'a> {
    documents: Vec<Document<'a>>,
    nodes: Vec<Schema>,
    /// `(document, JSON pointer)` → node, so each definition is compiled once and recursion
    /// ends.
    by_pointer: HashMap<(usize, String), Id>,
    unsupported: Vec<String>,
}

/// Compiles the config and orb documents. Errors are programming errors in the embedded
/// schemas (a test compiles them), reported as text rather than a panic.
pub fn compile(config: &str, orb: &str) -> Result<Compiled, String> {
    let config: Json = serde_json::from_str(config).map_err(|e| format!("config schema: {e}"))?;
    let orb: Json = serde_json::from_str(orb).map_err(|e| format!("orb schema: {e}"))?;
    let name_of = |json: &Json| {
        json.get("$id")
            .and_then(Json::as_str)
            .and_then(|id| id.rsplit('/').next())
            .unwrap_or_default()
            .to_string()
    };
    let mut compiler = Compiler {
        documents: vec![
            Document {
                name: name_of(&config),
                json: &config,
            },
            Document {
                name: name_of(&orb),
                json: &orb,
            },
        ],
        nodes: Vec::new(),
        by_pointer: HashMap::new(),
        unsupported: Vec::new(),
    };
    let config_root = compiler.node(0, String::new())?;
    let orb_root = compiler.node(1, String::new())?;
    // A keyword this evaluator does not implement would be silently skipped: refuse it.
    if !compiler.unsupported.is_empty() {
        return Err(format!(
            "keywords the evaluator does not implement: {}",
            compiler.unsupported.join(", ")
        ));
    }
    // Evaluating a `$ref` (or branch) cycle that never steps into the value would not end.
    if let Some(id) = in_place_cycle(&compiler.nodes) {
        return Err(format!(
            "a `$ref` cycle that never reaches into the value (through node {id})"
        ));
    }
    let mut nodes = compiler.nodes;
    compute_accepts(&mut nodes);
    Ok(Compiled {
        nodes: Cow::Owned(nodes),
        config_root,
        orb_root,
    })
}

impl<'a> Compiler<'a> {
    fn resolve(&self, document: usize, pointer: &str) -> Result<&'a Json, String> {
        let mut json = self.documents[document].json;
        for part in pointer.split('/').filter(|p| !p.is_empty()) {
            let part = part.replace("~1", "/").replace("~0", "~");
            let next = match json {
                Json::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => json.get(&part),
            };
            json =
                next.ok_or_else(|| format!("no `{pointer}` in {}", self.documents[document].name))?;
        }
        Ok(json)
    }

    /// The node for the schema at `pointer` in `document`, compiling it on first use.
    fn node(&mut self, document: usize, pointer: String) -> Result<Id, String> {
        if let Some(&id) = self.by_pointer.get(&(document, pointer.clone())) {
            return Ok(id);
        }
        let id = self.nodes.len();
        self.nodes.push(Schema::new());
        self.by_pointer.insert((document, pointer.clone()), id);
        // Borrowed from the document: a copy of the subtree per node made compiling quadratic
        // in the nesting depth.
        let json = self.resolve(document, &pointer)?;
        let schema = self.build(document, &pointer, json)?;
        self.nodes[id] = schema;
        Ok(id)
    }

    fn child(&mut self, document: usize, pointer: &str, suffix: &str) -> Result<Id, String> {
        self.node(document, format!("{pointer}/{suffix}"))
    }

    fn build(&mut self, document: usize, pointer: &str, json: &Json) -> Result<Schema, String> {
        let mut schema = Schema::new();
        let Some(object) = json.as_object() else {
            // `true` accepts everything; `false` is not used by the documents.
            if json == &Json::Bool(true) {
                return Ok(schema);
            }
            return Err(format!("{pointer}: a schema must be an object"));
        };
        schema.is_template = pointer.ends_with("/$defs/template");
        let escape = |key: &str| key.replace('~', "~0").replace('/', "~1");
        for (keyword, value) in object {
            match keyword.as_str() {
                "title" => schema.title = value.as_str().map(text),
                "description" => schema.description = value.as_str().map(text),
                "x-expected" => schema.expected = value.as_str().map(text),
                "type" => schema.types = type_bits(value)?,
                "enum" => {
                    let values = value.as_array().ok_or("`enum` must be a list")?;
                    schema.enumeration = Some(Cow::Owned(
                        values.iter().map(literal).collect::<Result<_, _>>()?,
                    ));
                }
                "const" => schema.enumeration = Some(Cow::Owned(vec![literal(value)?])),
                "pattern" => {
                    let text = value.as_str().ok_or("`pattern` must be a string")?;
                    let pattern = Pattern::parse(text).map_err(|e| format!("{pointer}: {e}"))?;
                    schema.pattern = Some(pattern);
                }
                "minimum" => schema.minimum = value.as_f64(),
                "maximum" => schema.maximum = value.as_f64(),
                "minItems" => schema.min_items = Some(count(pointer, value)?),
                "minProperties" => schema.min_properties = Some(count(pointer, value)?),
                "maxProperties" => schema.max_properties = Some(count(pointer, value)?),
                "items" => schema.items = Some(self.child(document, pointer, "items")?),
                "properties" => {
                    let map = value.as_object().ok_or("`properties` must be a map")?;
                    for name in map.keys() {
                        let id =
                            self.child(document, pointer, &format!("properties/{}", escape(name)))?;
                        schema.properties.to_mut().push((text(name), id));
                    }
                }
                "patternProperties" => {
                    let map = value
                        .as_object()
                        .ok_or("`patternProperties` must be a map")?;
                    for pattern in map.keys() {
                        let regex =
                            Pattern::parse(pattern).map_err(|e| format!("{pointer}: {e}"))?;
                        let id = self.child(
                            document,
                            pointer,
                            &format!("patternProperties/{}", escape(pattern)),
                        )?;
                        schema.pattern_properties.to_mut().push((regex, id));
                    }
                }
                "additionalProperties" => {
                    schema.additional = match value {
                        Json::Bool(true) => Additional::Any,
                        Json::Bool(false) => Additional::Forbid,
                        _ => Additional::Schema(self.child(
                            document,
                            pointer,
                            "additionalProperties",
                        )?),
                    }
                }
                "propertyNames" => {
                    schema.property_names = Some(self.child(document, pointer, "propertyNames")?)
                }
                "required" => {
                    schema.required = value
                        .as_array()
                        .ok_or("`required` must be a list")?
                        .iter()
                        .filter_map(|v| v.as_str().map(text))
                        .collect()
                }
                "anyOf" | "oneOf" | "allOf" => {
                    let count = value.as_array().map_or(0, Vec::len);
                    let mut ids = Vec::with_capacity(count);
                    for i in 0..count {
                        ids.push(self.child(document, pointer, &format!("{keyword}/{i}"))?);
                    }
                    match keyword.as_str() {
                        "anyOf" => schema.any_of = Cow::Owned(ids),
                        "oneOf" => schema.one_of = Cow::Owned(ids),
                        _ => schema.all_of = Cow::Owned(ids),
                    }
                }
                "if" => {
                    let condition = self.child(document, pointer, "if")?;
                    let then = match object.contains_key("then") {
                        true => Some(self.child(document, pointer, "then")?),
                        false => None,
                    };
                    let otherwise = match object.contains_key("else") {
                        true => Some(self.child(document, pointer, "else")?),
                        false => None,
                    };
                    schema.if_then_else = Some((condition, then, otherwise));
                }
                "then" | "else" => {}
                "$ref" => {
                    let target = value.as_str().ok_or("`$ref` must be a string")?;
                    let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
                    if !fragment.is_empty() && !fragment.starts_with('/') {
                        self.unsupported
                            .push(format!("{pointer}: $ref to the anchor `#{fragment}`"));
                        continue;
                    }
                    let target_document = if file.is_empty() {
                        document
                    } else {
                        self.documents
                            .iter()
                            .position(|d| d.name == file)
                            .ok_or_else(|| format!("{pointer}: unknown document `{file}`"))?
                    };
                    schema.reference = Some(self.node(target_document, fragment.to_string())?);
                }
                other if ANNOTATIONS.contains(&other) => {}
                other => self.unsupported.push(format!("{pointer}: {other}")),
            }
        }
        if object.get("x-warn-unknown") == Some(&Json::Bool(true))
            && schema.additional == Additional::Any
        {
            schema.additional = Additional::Warn;
        }
        Ok(schema)
    }
}

fn text(s: &str) -> Text {
    Cow::Owned(s.to_string())
}

fn type_bits(value: &Json) -> Result<u8, String> {
    let one = |name: &str| match name {
        "null" => Ok(types::NULL),
        "boolean" => Ok(types::BOOLEAN),
        "integer" => Ok(types::INTEGER),
        "number" => Ok(types::NUMBER),
        "string" => Ok(types::STRING),
        "array" => Ok(types::ARRAY),
        "object" => Ok(types::OBJECT),
        other => Err(format!("unknown type `{other}`")),
    };
    match value {
        Json::String(name) => one(name),
        Json::Array(names) => names.iter().try_fold(0, |bits, name| {
            Ok(bits | one(name.as_str().ok_or("a type must be a string")?)?)
        }),
        _ => Err("`type` must be a string or a list".into()),
    }
}

fn literal(value: &Json) -> Result<Literal, String> {
    Ok(match value {
        Json::Null => Literal::Null,
        Json::Bool(b) => Literal::Bool(*b),
        Json::Number(n) => Literal::Number(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) => Literal::Str(text(s)),
        _ => return Err("`enum` values must be scalars".into()),
    })
}

fn literal_type(literal: &Literal) -> u8 {
    match literal {
        Literal::Null => types::NULL,
        Literal::Bool(_) => types::BOOLEAN,
        Literal::Number(n) if n.fract() == 0.0 => types::INTEGER,
        Literal::Number(_) => types::FRACTION,
        Literal::Str(_) => types::STRING,
    }
}

/// A count keyword's value: a non-negative integer, which JSON Schema lets be written `2.0`.
fn count(pointer: &str, value: &Json) -> Result<usize, String> {
    value
        .as_u64()
        .or_else(|| {
            value
                .as_f64()
                .filter(|n| n.fract() == 0.0 && *n >= 0.0)
                .map(|n| n as u64)
        })
        .map(|n| n as usize)
        .ok_or_else(|| format!("{pointer}: a count must be a non-negative integer, not {value}"))
}

/// A node on a cycle of keywords that apply at the same place in the value (`$ref`, `allOf`,
/// `anyOf`, `oneOf`, `if`/`then`/`else`), if there is one.
fn in_place_cycle(nodes: &[Schema]) -> Option<Id> {
    fn in_place(node: &Schema) -> impl Iterator<Item = Id> + '_ {
        let conditional = node
            .if_then_else
            .iter()
            .flat_map(|(condition, then, otherwise)| [Some(*condition), *then, *otherwise])
            .flatten();
        node.reference
            .into_iter()
            .chain(node.all_of.iter().copied())
            .chain(node.any_of.iter().copied())
            .chain(node.one_of.iter().copied())
            .chain(conditional)
    }
    // Depth-first with colours: 0 unseen, 1 on the current path, 2 done.
    let mut colour = vec![0u8; nodes.len()];
    for start in 0..nodes.len() {
        if colour[start] != 0 {
            continue;
        }
        let mut stack: Vec<(Id, Vec<Id>)> = vec![(start, in_place(&nodes[start]).collect())];
        colour[start] = 1;
        while let Some((id, next)) = stack.last_mut() {
            match next.pop() {
                Some(child) if colour[child] == 1 => return Some(child),
                Some(child) if colour[child] == 0 => {
                    colour[child] = 1;
                    let children = in_place(&nodes[child]).collect();
                    stack.push((child, children));
                }
                Some(_) => {}
                None => {
                    colour[*id] = 2;
                    stack.pop();
                }
            }
        }
    }
    None
}

/// Fills `accepts` for every node: own `type` ∩ `enum` types ∩ `$ref` ∩ `allOf` ∩ ∪`anyOf` ∩
/// ∪`oneOf`. A cycle through these keywords (none in the documents) counts as accepting all.
fn compute_accepts(nodes: &mut [Schema]) {
    fn visit(nodes: &[Schema], id: Id, memo: &mut [Option<u8>], active: &mut Vec<Id>) -> u8 {
        if let Some(bits) = memo[id] {
            return bits;
        }
        if active.contains(&id) {
            return types::ALL;
        }
        active.push(id);
        let node = &nodes[id];
        let mut bits = node.types;
        if let Some(values) = &node.enumeration {
            bits &= values.iter().fold(0, |b, v| b | literal_type(v));
        }
        if let Some(target) = node.reference {
            bits &= visit(nodes, target, memo, active);
        }
        for &branch in node.all_of.iter() {
            bits &= visit(nodes, branch, memo, active);
        }
        for branches in [&node.any_of, &node.one_of] {
            if !branches.is_empty() {
                bits &= branches
                    .iter()
                    .fold(0, |b, &branch| b | visit(nodes, branch, memo, active));
            }
        }
        active.pop();
        memo[id] = Some(bits);
        bits
    }
    let mut memo = vec![None; nodes.len()];
    for id in 0..nodes.len() {
        let bits = visit(nodes, id, &mut memo, &mut Vec::new());
        nodes[id].accepts = bits;
    }
}
