//! Compiles the embedded schemas at build time (with the crate's own compiler, `src/schema.rs`)
//! into Rust statics, so no process parses 60 KB of JSON or compiles the schema to start.
//! The test `the_static_arena_is_the_compiled_documents` (`src/lib.rs`) compiles the documents
//! at run time and compares.

#[allow(dead_code)]
#[path = "src/schema.rs"]
mod schema;

use std::fmt::Write as _;
use std::path::PathBuf;

use schema::{Additional, Compiled, Literal, Schema};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let config_path = root.join("../../schema/circleci-config.schema.json");
    let orb_path = root.join("../../schema/circleci-orb.schema.json");
    for path in [&config_path, &orb_path, &root.join("src/schema.rs")] {
        println!("cargo::rerun-if-changed={}", path.display());
    }
    let config = std::fs::read_to_string(&config_path).expect("the config schema is readable");
    let orb = std::fs::read_to_string(&orb_path).expect("the orb schema is readable");
    // A schema that does not compile is reported by the library at run time (and by its test),
    // as before: the build itself does not fail.
    let code = match schema::compile(&config, &orb) {
        Ok(compiled) => rust(&compiled),
        Err(reason) => format!(
            "/// The embedded schemas, compiled by `build.rs`.\n\
             pub static COMPILED: Result<Compiled, &str> = Err({reason:?});\n"
        ),
    };
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("compiled_schema.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}

/// The arena as statics: one array of nodes, each list a static of its own.
fn rust(compiled: &Compiled) -> String {
    let mut lists = String::new();
    let mut nodes = String::new();
    for (id, node) in compiled.nodes.iter().enumerate() {
        nodes.push_str(&schema_literal(id, node, &mut lists));
    }
    format!(
        "{lists}\n\
         static NODES: [Schema; {count}] = [\n{nodes}];\n\n\
         /// The embedded schemas, compiled by `build.rs`.\n\
         pub static COMPILED: Result<Compiled, &str> = Ok(Compiled {{\n    \
             nodes: Cow::Borrowed(&NODES),\n    config_root: {config_root},\n    orb_root: {orb_root},\n}});\n",
        count = compiled.nodes.len(),
        config_root = compiled.config_root,
        orb_root = compiled.orb_root,
    )
}

fn schema_literal(id: usize, node: &Schema, lists: &mut String) -> String {
    // Destructured so a field added to `Schema` fails this build until it is written out.
    let Schema {
        title,
        description,
        expected,
        types,
        enumeration,
        pattern,
        minimum,
        maximum,
        min_items,
        items,
        properties,
        pattern_properties,
        additional,
        property_names,
        required,
        min_properties,
        max_properties,
        any_of,
        one_of,
        all_of,
        if_then_else,
        reference,
        is_template,
        accepts,
    } = node;
    let mut list = |name: &str, ty: &str, items: Vec<String>| -> String {
        if items.is_empty() {
            return "Cow::Borrowed(&[])".into();
        }
        let static_name = format!("N{id}_{}", name.to_uppercase());
        let _ = writeln!(
            lists,
            "static {static_name}: [{ty}; {}] = [{}];",
            items.len(),
            items.join(", ")
        );
        format!("Cow::Borrowed(&{static_name})")
    };
    let enumeration = match enumeration {
        None => "None".to_string(),
        Some(values) => format!(
            "Some({})",
            list(
                "enum",
                "Literal",
                values.iter().map(literal).collect::<Vec<_>>()
            )
        ),
    };
    let properties = list(
        "properties",
        "(Text, Id)",
        properties
            .iter()
            .map(|(name, id)| format!("(Cow::Borrowed({name:?}), {id})"))
            .collect(),
    );
    let pattern_properties = list(
        "pattern_properties",
        "(Pattern, Id)",
        pattern_properties
            .iter()
            .map(|(pattern, id)| format!("(Pattern::checked({:?}), {id})", pattern.text))
            .collect(),
    );
    let required = list(
        "required",
        "Text",
        required
            .iter()
            .map(|name| format!("Cow::Borrowed({name:?})"))
            .collect(),
    );
    let ids = |ids: &[usize]| ids.iter().map(usize::to_string).collect::<Vec<_>>();
    let any_of = list("any_of", "Id", ids(any_of));
    let one_of = list("one_of", "Id", ids(one_of));
    let all_of = list("all_of", "Id", ids(all_of));
    let additional = match additional {
        Additional::Any => "Additional::Any".to_string(),
        Additional::Warn => "Additional::Warn".to_string(),
        Additional::Forbid => "Additional::Forbid".to_string(),
        Additional::Schema(id) => format!("Additional::Schema({id})"),
    };
    let pattern = match pattern {
        None => "None".to_string(),
        Some(pattern) => format!("Some(Pattern::checked({:?}))", pattern.text),
    };
    format!(
        "    Schema {{ title: {}, description: {}, expected: {}, types: {types}, \
         enumeration: {enumeration}, pattern: {pattern}, minimum: {}, maximum: {}, \
         min_items: {min_items:?}, items: {items:?}, properties: {properties}, \
         pattern_properties: {pattern_properties}, additional: {additional}, \
         property_names: {property_names:?}, required: {required}, \
         min_properties: {min_properties:?}, max_properties: {max_properties:?}, \
         any_of: {any_of}, one_of: {one_of}, all_of: {all_of}, if_then_else: {if_then_else:?}, \
         reference: {reference:?}, is_template: {is_template}, accepts: {accepts} }},\n",
        text(title.as_deref()),
        text(description.as_deref()),
        text(expected.as_deref()),
        float(*minimum),
        float(*maximum),
    )
}

fn text(text: Option<&str>) -> String {
    match text {
        None => "None".into(),
        Some(text) => format!("Some(Cow::Borrowed({text:?}))"),
    }
}

fn number(n: f64) -> String {
    if n.is_nan() {
        "f64::NAN".into()
    } else if n.is_infinite() {
        if n > 0.0 {
            "f64::INFINITY"
        } else {
            "f64::NEG_INFINITY"
        }
        .into()
    } else {
        // `{:?}` prints the shortest text that reads back as the same f64.
        format!("{n:?}")
    }
}

fn float(n: Option<f64>) -> String {
    n.map_or("None".into(), |n| format!("Some({})", number(n)))
}

fn literal(literal: &Literal) -> String {
    match literal {
        Literal::Null => "Literal::Null".into(),
        Literal::Bool(b) => format!("Literal::Bool({b})"),
        Literal::Number(n) => format!("Literal::Number({})", number(*n)),
        Literal::Str(s) => format!("Literal::Str(Cow::Borrowed({s:?}))"),
    }
}
