//! `<< >>` substitution over a node tree.

use orrery_diagnostics::{codes, Diagnostic, Span};
use orrery_expr::{expr, template};
use orrery_yaml::{Node, Value};

use crate::context::{Ctx, R};
use crate::env::{from_expr, truthy, Env, ExprEnv, Lookup};

/// Substitutes every template in `node` once. Substituted values are not re-scanned.
pub(crate) fn subst(ctx: &mut Ctx<'_>, node: &Node, env: &Env<'_>) -> R<Node> {
    let mut owned = node.clone();
    subst_in_place(ctx, &mut owned, env)?;
    Ok(owned)
}

/// Substitutes a list item by item, leaving out the items that fail (each reported), so a fault
/// in one step does not hide the others; `Err` when any failed. Other nodes are substituted whole.
pub(crate) fn subst_items(ctx: &mut Ctx<'_>, node: &Node, env: &Env<'_>) -> (Option<Node>, R<()>) {
    let Value::Seq(items) = &node.value else {
        return match subst(ctx, node, env) {
            Ok(n) => (Some(n), Ok(())),
            Err(e) => (None, Err(e)),
        };
    };
    let mut result = Ok(());
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match subst(ctx, item, env) {
            Ok(n) => out.push(n),
            Err(e) => result = Err(e),
        }
    }
    (Some(Node::new(Value::Seq(out), node.span)), result)
}

/// Substitutes in place: only strings holding `<<` are touched, nothing else is copied.
pub(crate) fn subst_in_place(ctx: &mut Ctx<'_>, node: &mut Node, env: &Env<'_>) -> R<()> {
    match &mut node.value {
        Value::Str(s) if s.contains("<<") => *node = subst_str(ctx, s, node.span, env)?,
        Value::Seq(items) => {
            for item in items {
                subst_in_place(ctx, item, env)?;
            }
        }
        Value::Map(map) => {
            for entry in map.entries_mut().iter_mut() {
                if entry.key.contains("<<") {
                    let k = subst_str(ctx, &entry.key, entry.key_span, env)?;
                    entry.key = k.value.scalar_text().unwrap_or_default();
                }
                subst_in_place(ctx, &mut entry.value, env)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Substitutes one string: a lone tag keeps the value's type, anything else renders to text.
pub(crate) fn subst_str(ctx: &mut Ctx<'_>, text: &str, span: Span, env: &Env<'_>) -> R<Node> {
    let parsed = match template::parse_template(text) {
        Ok(t) => t,
        Err(e) => {
            let at = inner_span(ctx, span, text, e.offset, e.len);
            return Err(ctx.report(
                Diagnostic::error(codes::TEMPLATE_SYNTAX, e.message.clone())
                    .at(at, "in this template")
                    .with_help("write a literal `<<` as `\\<<`"),
            ));
        }
    };
    if let Some((body, offset, len)) = parsed.whole_tag() {
        let at = inner_span(ctx, span, text, offset, len);
        let mut value = eval_tag(ctx, body, at, env)?;
        if !matches!(value.value, Value::Seq(_) | Value::Map(_)) {
            value.span = span;
        }
        return Ok(value);
    }
    if parsed.is_plain() {
        let rendered = parsed
            .render::<()>(&mut |_, _, _| Ok(String::new()), &mut |_, _, _| Ok(false))
            .unwrap_or_default();
        return Ok(Node::string(rendered, span));
    }
    // Both callbacks need the context; `render` calls them one at a time.
    let cell = std::cell::RefCell::new(&mut *ctx);
    let rendered = parsed.render(
        &mut |body, offset, len| {
            let mut ctx = cell.borrow_mut();
            let at = inner_span(&ctx, span, text, offset, len);
            let node = eval_tag(&mut ctx, body, at, env)?;
            match node.value.scalar_text() {
                Some(text) if !node.is_null() => Ok(text),
                Some(_) => Ok("<nil>".to_string()),
                None => Err(ctx.report(
                    Diagnostic::error(
                        codes::TEMPLATE_TYPE,
                        format!("cannot interpolate a {} into a string", node.type_name()),
                    )
                    .at(at, "this value is a list or map")
                    .with_help(
                        "use the tag as the whole value (e.g. `- steps: << parameters.x >>`)",
                    ),
                )),
            }
        },
        &mut |name, offset, len| {
            let mut ctx = cell.borrow_mut();
            let at = inner_span(&ctx, span, text, offset, len);
            let node = lookup(&mut ctx, name, at, env)?;
            Ok(truthy(&node.value))
        },
    );
    Ok(Node::string(rendered?, span))
}

fn lookup(ctx: &mut Ctx<'_>, name: &str, at: Span, env: &Env<'_>) -> R<Node> {
    match env.lookup(name, at) {
        Lookup::Found(node) => Ok(node),
        Lookup::Missing(message) => {
            let code = if name.starts_with("parameters.") {
                codes::UNDECLARED_PARAMETER
            } else {
                codes::UNKNOWN_VARIABLE
            };
            let help = if name.starts_with("parameters.") {
                "declare the parameter under `parameters:` of the job, command or executor that uses it"
            } else if name.starts_with("pipeline.parameters.") {
                "declare it under the top-level `parameters:`"
            } else {
                "check the spelling against the documented pipeline values"
            };
            Err(ctx.report(
                Diagnostic::error(code, message)
                    .at(at, "unknown name")
                    .with_help(help),
            ))
        }
    }
}

/// Evaluates a tag body: a plain name is looked up (keeping lists and maps), anything else is an
/// expression.
fn eval_tag(ctx: &mut Ctx<'_>, body: &str, at: Span, env: &Env<'_>) -> R<Node> {
    // `parameters.x`: what parsing would find, without parsing.
    if expr::is_dotted_identifier(body) {
        return lookup(ctx, body, at, env);
    }
    match expr::parse(body) {
        Ok(parsed) => {
            if let Some(name) = parsed.as_identifier() {
                return lookup(ctx, name, at, env);
            }
            match parsed.eval(&ExprEnv { env }) {
                Ok(v) => Ok(Node::new(from_expr(v), at)),
                Err(e) => Err(ctx.report(
                    Diagnostic::error(codes::EXPRESSION, e.render(body).replace('\n', "\n    "))
                        .at(at, "in this expression"),
                )),
            }
        }
        Err(e) => {
            if is_plain_name(body) {
                return lookup(ctx, body, at, env);
            }
            Err(ctx.report(
                Diagnostic::error(codes::EXPRESSION, e.render(body).replace('\n', "\n    "))
                    .at(at, "in this expression")
                    .with_help(
                        "a template holds a parameter name such as `parameters.x` or an expression",
                    ),
            ))
        }
    }
}

/// Names that do not scan as expressions but are still looked up whole
/// (`pipeline.parameters.url:with:colons`).
fn is_plain_name(body: &str) -> bool {
    let mut parts = body.split('.');
    let first = parts.next().unwrap_or("");
    !first.is_empty()
        && first
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        && parts.all(|p| !p.is_empty() && !p.chars().any(char::is_whitespace))
}

/// Maps an offset inside a scalar's value to the source, when the scalar is written plainly;
/// otherwise the whole scalar.
fn inner_span(ctx: &Ctx<'_>, span: Span, text: &str, offset: usize, len: usize) -> Span {
    let Some(file) = ctx.db.file(span.file) else {
        return span;
    };
    let source = file.slice(span);
    if let Some(fragment) = text.get(offset..offset + len) {
        if let Some(pos) = source.find(fragment) {
            let start = span.start as usize + pos;
            return Span::new(span.file, start, start + fragment.len());
        }
    }
    span
}
