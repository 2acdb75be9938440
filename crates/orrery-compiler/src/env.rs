//! The names a template can see: element parameters, matrix values, pipeline values and
//! pipeline parameters (the latter never inside orbs).

use orrery_expr::expr;
use orrery_yaml::{Node, Value};

use crate::pipeline::PipelineValues;

#[derive(Clone, Copy)]
pub(crate) struct Env<'e> {
    /// Bound element parameters; `None` outside any element (workflows, orbs stanza).
    pub params: Option<&'e [(String, Node)]>,
    pub matrix: Option<&'e [(String, Node)]>,
    pub pipeline: &'e PipelineValues,
    /// `None` inside orb bodies, where pipeline parameters are out of scope.
    pub pipeline_params: Option<&'e [(String, Node)]>,
}

pub(crate) enum Lookup {
    Found(Node),
    /// Not a known name; the message says why.
    Missing(String),
}

fn find<'a>(list: &'a [(String, Node)], name: &str) -> Option<&'a Node> {
    list.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

impl<'e> Env<'e> {
    pub fn root(pipeline: &'e PipelineValues, pipeline_params: &'e [(String, Node)]) -> Self {
        Env {
            params: None,
            matrix: None,
            pipeline,
            pipeline_params: Some(pipeline_params),
        }
    }

    pub fn lookup(&self, name: &str, use_site: orrery_diagnostics::Span) -> Lookup {
        if let Some(param) = name.strip_prefix("parameters.") {
            return match self.params.and_then(|p| find(p, param)) {
                Some(node) => Lookup::Found(node.clone()),
                None => Lookup::Missing(format!(
                    "Arguments referenced without declared parameters: {param}"
                )),
            };
        }
        if let Some(param) = name.strip_prefix("pipeline.parameters.") {
            return match self.pipeline_params {
                Some(list) => match find(list, param) {
                    Some(node) => Lookup::Found(node.clone()),
                    None => Lookup::Missing(format!("Referred to a variable \"{name}\" that does not exist")),
                },
                None => Lookup::Missing(format!(
                    "Referred to a variable \"{name}\" that does not exist (pipeline parameters are not visible inside orbs)"
                )),
            };
        }
        if let Some(param) = name.strip_prefix("matrix.") {
            return match self.matrix.and_then(|m| find(m, param)) {
                Some(node) => Lookup::Found(node.clone()),
                None => Lookup::Missing(format!(
                    "Referred to a variable \"{name}\" that does not exist"
                )),
            };
        }
        match self.pipeline.get(name) {
            Some(value) => Lookup::Found(Node::new(value.clone(), use_site)),
            None => Lookup::Missing(format!(
                "Referred to a variable \"{name}\" that does not exist"
            )),
        }
    }
}

/// Adapter for the expression evaluator: scalars only.
pub(crate) struct ExprEnv<'a, 'e> {
    pub env: &'a Env<'e>,
}

impl expr::Env for ExprEnv<'_, '_> {
    fn lookup(&self, name: &str) -> Option<expr::Value> {
        match self.env.lookup(name, orrery_diagnostics::Span::default()) {
            Lookup::Found(node) => Some(to_expr(&node.value)),
            Lookup::Missing(_) => None,
        }
    }
}

pub(crate) fn to_expr(value: &Value) -> expr::Value {
    match value {
        Value::Null => expr::Value::Undefined,
        Value::Bool(b) => expr::Value::Bool(*b),
        Value::Int(i) => expr::Value::Int(*i),
        Value::Str(s) => expr::Value::Str(s.clone()),
        Value::BigInt(i) => expr::Value::Str(i.to_string()),
        Value::Float(f) => expr::Value::Str(orrery_yaml::format_float(*f)),
        Value::Seq(_) | Value::Map(_) => expr::Value::Str(format!("<{}>", value.type_name())),
    }
}

pub(crate) fn from_expr(value: expr::Value) -> Value {
    match value {
        expr::Value::Undefined => Value::Null,
        expr::Value::Bool(b) => Value::Bool(b),
        expr::Value::Int(i) => Value::Int(i),
        expr::Value::Str(s) | expr::Value::Pattern(s) => Value::Str(s),
    }
}

/// Truthiness of compile-time conditions (logic statements, sections): `false`, null, `0`,
/// NaN and the empty string are falsy.
pub(crate) fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        // Never zero: zero fits in 64 bits.
        Value::BigInt(_) => true,
        Value::Float(f) => *f != 0.0 && !f.is_nan(),
        Value::Str(s) => !s.is_empty(),
        Value::Seq(items) => !items.is_empty(),
        Value::Map(_) => true,
    }
}
