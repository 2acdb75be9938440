//! Logic statements (CONFIG-SPEC Appendix C): `and`, `or`, `not`, `equal`, `matches`, literals.

use orrery_diagnostics::{codes, Diagnostic};
use orrery_yaml::{Node, Value};

use crate::context::{Ctx, R};
use crate::env::truthy;

const MAX_DEPTH: usize = 100;

/// Evaluates an already-substituted logic statement.
pub(crate) fn evaluate(ctx: &mut Ctx<'_>, node: &Node) -> R<bool> {
    eval(ctx, node, 0)
}

fn eval(ctx: &mut Ctx<'_>, node: &Node, depth: usize) -> R<bool> {
    if depth > MAX_DEPTH {
        return Err(ctx.report(
            Diagnostic::error(
                codes::LOGIC_STATEMENT,
                "logic statement nested more than 100 levels",
            )
            .at(node.span, "here"),
        ));
    }
    let Some(map) = node.as_map() else {
        return Ok(truthy(&node.value));
    };
    if map.len() != 1 {
        return Ok(true);
    }
    let entry = &map.entries()[0];
    let arg = &entry.value;
    match entry.key.as_str() {
        "and" | "or" => {
            let items = arguments(ctx, &entry.key, arg)?;
            let mut result = entry.key == "and";
            for item in items {
                let v = eval(ctx, item, depth + 1)?;
                if entry.key == "and" && !v {
                    result = false;
                    break;
                }
                if entry.key == "or" && v {
                    result = true;
                    break;
                }
            }
            if items.is_empty() {
                result = false;
            }
            Ok(result)
        }
        "not" => Ok(!eval(ctx, arg, depth + 1)?),
        "equal" => {
            let items = arguments(ctx, "equal", arg)?;
            Ok(items.windows(2).all(|w| equal(&w[0].value, &w[1].value)))
        }
        "matches" => {
            let pattern = arg.get("pattern").and_then(|p| p.value.scalar_text());
            let value = arg.get("value");
            let (Some(pattern), Some(value)) = (pattern, value) else {
                return Err(ctx.report(
                    Diagnostic::error(codes::LOGIC_STATEMENT, "`matches` needs `pattern` and `value`")
                        .at(arg.span, "here")
                        .with_help("write `matches: { pattern: \"^main$\", value: << pipeline.git.branch >> }`"),
                ));
            };
            let anchored = format!("^(?:{pattern})$");
            match regex::Regex::new(&anchored) {
                Ok(re) => Ok(value
                    .value
                    .scalar_text()
                    .is_some_and(|v| !value.is_null() && re.is_match(&v))),
                Err(e) => Err(ctx.report(
                    Diagnostic::error(
                        codes::LOGIC_STATEMENT,
                        format!("invalid pattern in `matches`: {e}"),
                    )
                    .at(arg.span, "this pattern"),
                )),
            }
        }
        // Any other map is a literal, and maps are truthy.
        _ => Ok(true),
    }
}

fn arguments<'n>(ctx: &mut Ctx<'_>, op: &str, arg: &'n Node) -> R<&'n [Node]> {
    match &arg.value {
        Value::Seq(items) => Ok(items),
        _ => Err(ctx.report(
            Diagnostic::error(
                codes::LOGIC_STATEMENT,
                format!("`{op}` takes a list of statements"),
            )
            .at(arg.span, format!("this is a {}", arg.type_name()))
            .with_help(format!("write `{op}: [ ... ]`")),
        )),
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => (*x as f64) == *y,
        _ => a == b,
    }
}
