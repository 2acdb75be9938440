//! Parameter declarations, argument binding and type checking (CONFIG-SPEC §2.1–§2.3).

use orrery_diagnostics::{codes, Diagnostic, Span};
use orrery_yaml::{Map, Node, Value};

use std::rc::Rc;

use crate::context::{Ctx, Reported, R};
use crate::env::Env;
use crate::pipeline::PipelineValues;
use crate::scope::Scope;
use crate::steps;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParamType {
    String,
    Boolean,
    Integer,
    Enum,
    Executor,
    Steps,
    EnvVarName,
}

impl ParamType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => ParamType::String,
            "boolean" => ParamType::Boolean,
            "integer" => ParamType::Integer,
            "enum" => ParamType::Enum,
            "executor" => ParamType::Executor,
            "steps" => ParamType::Steps,
            "env_var_name" => ParamType::EnvVarName,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Boolean => "boolean",
            ParamType::Integer => "integer",
            ParamType::Enum => "enum",
            ParamType::Executor => "executor",
            ParamType::Steps => "steps",
            ParamType::EnvVarName => "env_var_name",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct ParamDecl {
    pub name: String,
    pub ty: ParamType,
    pub default: Option<Node>,
    pub allowed: Vec<String>,
    pub span: Span,
}

pub(crate) type Bound = Vec<(String, Node)>;

/// One call of a job, command or executor: its arguments bound, and what its templates can see.
pub(crate) struct Call<'a> {
    bound: Bound,
    pipeline: &'a PipelineValues,
    /// `None` inside orbs, where pipeline parameters are out of scope.
    pipeline_params: Option<Rc<[(String, Node)]>>,
}

impl Call<'_> {
    pub fn env(&self) -> Env<'_> {
        Env {
            params: Some(&self.bound),
            matrix: None,
            pipeline: self.pipeline,
            pipeline_params: self.pipeline_params.as_deref(),
        }
    }
}

/// Binds `args` to the parameters `definition` declares. Steps arguments are wrapped with
/// `caller`, the scope they were written in, so they expand there.
pub(crate) fn bind_call<'a>(
    ctx: &mut Ctx<'a>,
    definition: &Map,
    args: &Map,
    use_site: Span,
    defined_in: &Scope,
    caller: &Rc<Scope>,
) -> R<Call<'a>> {
    let decls = declarations(ctx, definition.get("parameters"), false)?;
    let mut bound = bind(ctx, &decls, args, use_site)?;
    steps::wrap_steps_arguments(ctx, &decls, args, &mut bound, caller);
    Ok(Call {
        bound,
        pipeline: &ctx.options.pipeline,
        pipeline_params: ctx.pipeline_params_for(defined_in),
    })
}

/// Reads a `parameters:` map. `pipeline` applies the stricter pipeline-parameter rules.
pub(crate) fn declarations(
    ctx: &mut Ctx<'_>,
    node: Option<&Node>,
    pipeline: bool,
) -> R<Vec<ParamDecl>> {
    let Some(node) = node.filter(|n| !n.is_null()) else {
        return Ok(Vec::new());
    };
    let Some(map) = node.as_map() else {
        return Err(ctx.report(
            Diagnostic::error(
                codes::PARAM_DECLARATION,
                "`parameters` must be a map of parameter names to declarations",
            )
            .at(node.span, format!("this is a {}", node.type_name())),
        ));
    };
    // Every declaration is checked; one faulty declaration makes the element's parameters unusable.
    let mut decls = Vec::with_capacity(map.len());
    let mut failed = None;
    for entry in map.entries() {
        match declaration(ctx, &entry.key, entry.key_span, &entry.value, pipeline) {
            Ok(decl) => decls.push(decl),
            Err(e) => failed = Some(e),
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(decls),
    }
}

fn declaration(
    ctx: &mut Ctx<'_>,
    name: &str,
    key_span: Span,
    node: &Node,
    pipeline: bool,
) -> R<ParamDecl> {
    let Some(map) = node.as_map() else {
        return Err(ctx.report(
            Diagnostic::error(
                codes::PARAM_DECLARATION,
                format!("parameter `{name}` must be declared as a map with a `type`"),
            )
            .at(node.span, format!("this is a {}", node.type_name()))
            .with_help("write e.g. `{ type: string, default: \"\" }`"),
        ));
    };
    let ty_node = map.get("type");
    let ty = ty_node.and_then(|t| t.as_str()).and_then(ParamType::parse);
    let Some(ty) = ty else {
        let at = ty_node.map_or(key_span, |t| t.span);
        return Err(ctx.report(
            Diagnostic::error(codes::PARAM_DECLARATION, format!("parameter `{name}` needs a `type`: one of string, boolean, integer, enum, executor, steps, env_var_name"))
                .at(at, "missing or unknown type"),
        ));
    };
    if pipeline
        && !matches!(
            ty,
            ParamType::String | ParamType::Boolean | ParamType::Integer | ParamType::Enum
        )
    {
        return Err(ctx.report(
            Diagnostic::error(codes::PIPELINE_PARAMETER, format!("pipeline parameter `{name}` has type `{}`; pipeline parameters may be string, boolean, integer or enum", ty.name()))
                .at(ty_node.map_or(key_span, |t| t.span), "not allowed here"),
        ));
    }
    let allowed: Vec<String> = match map.get("enum").map(|e| &e.value) {
        Some(Value::Seq(items)) => items.iter().filter_map(|i| i.value.scalar_text()).collect(),
        _ => Vec::new(),
    };
    if ty == ParamType::Enum && allowed.is_empty() {
        return Err(ctx.report(
            Diagnostic::error(
                codes::PARAM_DECLARATION,
                format!("enum parameter `{name}` needs an `enum:` list of allowed values"),
            )
            .at(key_span, "no values listed"),
        ));
    }
    let default = map.get("default").filter(|d| !d.is_null()).cloned();
    if pipeline && default.is_none() {
        return Err(ctx.report(
            Diagnostic::error(
                codes::PIPELINE_PARAMETER,
                format!("pipeline parameter `{name}` needs a `default`"),
            )
            .at(key_span, "no default"),
        ));
    }
    let decl = ParamDecl {
        name: name.to_string(),
        ty,
        default,
        allowed,
        span: key_span,
    };
    // Defaults are checked where they are declared, even when every call overrides them.
    if let Some(default) = &decl.default {
        if let Err(message) = check(&decl, default) {
            return Err(ctx.report(
                Diagnostic::error(
                    codes::ARGUMENT_TYPE,
                    format!("Parameter error: default value of parameter '{name}' {message}"),
                )
                .at(default.span, "wrong type for the declared parameter")
                .with_help(format!(
                    "give a default of type {}, or change the parameter's type",
                    ty.name()
                )),
            ));
        }
    }
    Ok(decl)
}

/// Binds invocation arguments to declarations: explicit values, then defaults. Reports
/// unexpected, missing and ill-typed arguments, each, in the official wording and in that order
/// (the official compiler's first error comes first). Unexpected arguments are left out and the
/// binding stands; a missing or ill-typed one fails it, since the element's body would be
/// checked against a value it does not have.
pub(crate) fn bind(ctx: &mut Ctx<'_>, decls: &[ParamDecl], args: &Map, use_site: Span) -> R<Bound> {
    let unexpected: Vec<&str> = args
        .keys()
        .filter(|k| !decls.iter().any(|d| d.name == *k))
        .collect();
    if !unexpected.is_empty() {
        let at = args.entry(unexpected[0]).map_or(use_site, |e| e.key_span);
        let known: Vec<&str> = decls.iter().map(|d| d.name.as_str()).collect();
        let help = match orrery_diagnostics::suggest(unexpected[0], &known) {
            Some(s) => format!("did you mean `{s}`?"),
            None if known.is_empty() => "this element declares no parameters".to_string(),
            None => format!("declared parameters: {}", known.join(", ")),
        };
        ctx.report(
            Diagnostic::error(
                codes::UNEXPECTED_ARGUMENT,
                format!("Unexpected argument(s): {}", unexpected.join(", ")),
            )
            .at(at, "not a declared parameter")
            .with_help(help),
        );
    }
    let missing: Vec<&str> = decls
        .iter()
        .filter(|d| d.default.is_none() && args.get(&d.name).is_none_or(Node::is_null))
        .map(|d| d.name.as_str())
        .collect();
    let mut failed = false;
    if !missing.is_empty() {
        ctx.report(
            Diagnostic::error(
                codes::MISSING_ARGUMENT,
                format!("Missing required argument(s): {}", missing.join(", ")),
            )
            .at(use_site, "called here")
            .with_help("pass a value for each parameter that has no default"),
        );
        failed = true;
    }
    let mut bound = Vec::with_capacity(decls.len());
    for decl in decls.iter().filter(|d| !missing.contains(&d.name.as_str())) {
        let (value, explicit) = match args.get(&decl.name).filter(|v| !v.is_null()) {
            Some(v) => (v.clone(), true),
            None => (
                decl.default
                    .clone()
                    .unwrap_or_else(|| Node::null(decl.span)),
                false,
            ),
        };
        match check(decl, &value) {
            Ok(value) => bound.push((decl.name.clone(), value)),
            Err(message) => {
                let message = if explicit {
                    format!("Type error for argument {}: {message}", decl.name)
                } else {
                    format!(
                        "Parameter error: default value of parameter '{}' {message}",
                        decl.name
                    )
                };
                let help = match (decl.ty, &value.value) {
                    (
                        ParamType::String,
                        Value::Bool(_) | Value::Int(_) | Value::BigInt(_) | Value::Float(_),
                    ) => "quote the value to pass it as a string".to_string(),
                    (ParamType::Enum, _) => format!("use one of: {}", decl.allowed.join(", ")),
                    _ => format!("pass a value of type {}", decl.ty.name()),
                };
                ctx.report(
                    Diagnostic::error(codes::ARGUMENT_TYPE, message)
                        .at(value.span, "wrong type")
                        .with_help(help),
                );
                failed = true;
            }
        }
    }
    if failed {
        Err(Reported)
    } else {
        Ok(bound)
    }
}

fn describe(value: &Node) -> String {
    let shown = match &value.value {
        Value::Str(s) => format!("{s:?}"),
        Value::Seq(_) | Value::Map(_) => value.type_name().to_string(),
        v => v.scalar_text().unwrap_or_default(),
    };
    format!("actual value: {shown} (type {})", value.type_name())
}

/// Checks one value against a declaration; returns the value to bind.
fn check(decl: &ParamDecl, value: &Node) -> Result<Node, String> {
    let expected = |_: ()| format!("expected type: {}, {}", decl.ty.name(), describe(value));
    match (decl.ty, &value.value) {
        (ParamType::String, Value::Str(_))
        | (ParamType::Boolean, Value::Bool(_))
        | (ParamType::Integer, Value::Int(_) | Value::BigInt(_)) => Ok(value.clone()),
        (ParamType::EnvVarName, Value::Str(s)) => {
            let mut chars = s.chars();
            let ok = chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            if ok {
                Ok(value.clone())
            } else {
                Err(format!("expected an environment variable name (letters, digits and _, not starting with a digit), {}", describe(value)))
            }
        }
        (ParamType::Enum, v) => {
            let text = v
                .scalar_text()
                .filter(|_| !matches!(v, Value::Seq(_) | Value::Map(_)));
            match text {
                Some(t) if decl.allowed.contains(&t) => Ok(value.clone()),
                _ => Err(format!(
                    "expected one of [{}], {}",
                    decl.allowed.join(", "),
                    describe(value)
                )),
            }
        }
        (ParamType::Steps, Value::Seq(_)) => Ok(value.clone()),
        (ParamType::Executor, Value::Str(_)) => Ok(value.clone()),
        (ParamType::Executor, Value::Map(m)) if m.get("name").and_then(Node::as_str).is_some() => {
            Ok(value.clone())
        }
        _ => Err(expected(())),
    }
}
