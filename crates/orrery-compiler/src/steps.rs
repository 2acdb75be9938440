//! Step expansion: command invocations, `when`/`unless`, `steps` splicing, built-in steps.

use std::rc::Rc;

use orrery_diagnostics::{codes, Diagnostic, Span};
use orrery_yaml::{Entry, Map, Node, Value};

use crate::context::{Ctx, Reported, R};
use crate::params::{self, ParamType};
use crate::scope::{self, Kind, Lookup, Scope};
use crate::{logic, subst};

/// The steps the language has built in (`when`/`unless` aside, which are conditions).
pub const BUILT_IN: &[&str] = &[
    "run",
    "checkout",
    "setup_remote_docker",
    "save_cache",
    "restore_cache",
    "store_artifacts",
    "store_test_results",
    "persist_to_workspace",
    "attach_workspace",
    "add_ssh_keys",
    "install_signing_bundle",
    "deploy",
];

/// Steps written in one scope but expanded in another (steps arguments, pre/post-steps) are
/// wrapped in a one-key map whose key names the scope they were written in.
const SCOPE_KEY: &str = "\u{0}scope:";

const MAX_DEPTH: usize = 64;

pub(crate) fn wrap_scoped(ctx: &mut Ctx<'_>, steps: &Node, scope: &Rc<Scope>) -> Node {
    let Value::Seq(items) = &steps.value else {
        return steps.clone();
    };
    let index = ctx.step_scopes.len();
    ctx.step_scopes.push(Rc::clone(scope));
    let key = format!("{SCOPE_KEY}{index}");
    let wrapped = items
        .iter()
        .map(|step| {
            Node::new(
                Value::Map(Map::from_entries(vec![Entry {
                    key: key.clone(),
                    key_span: step.span,
                    value: step.clone(),
                }])),
                step.span,
            )
        })
        .collect();
    Node::new(Value::Seq(wrapped), steps.span)
}

/// Wraps the explicitly passed steps arguments of a binding with the caller's scope.
pub(crate) fn wrap_steps_arguments(
    ctx: &mut Ctx<'_>,
    decls: &[params::ParamDecl],
    args: &Map,
    bound: &mut params::Bound,
    caller: &Rc<Scope>,
) {
    for (name, value) in bound.iter_mut() {
        let is_steps = decls
            .iter()
            .any(|d| d.name == *name && d.ty == ParamType::Steps);
        if is_steps && args.contains_key(name) {
            *value = wrap_scoped(ctx, value, caller);
        }
    }
}

pub(crate) struct Expander<'s> {
    /// Commands being expanded, for cycle detection.
    pub stack: Vec<String>,
    pub out: &'s mut Vec<Node>,
}

/// Expands `steps` (already substituted) written in `scope` into `expander.out`. The steps are
/// taken: a built-in step moves into the output as it is, uncopied.
pub(crate) fn expand(
    ctx: &mut Ctx<'_>,
    steps: Vec<Node>,
    scope: &Rc<Scope>,
    expander: &mut Expander<'_>,
) -> R<()> {
    let mut result = Ok(());
    for step in steps {
        if let Err(e) = expand_one(ctx, step, scope, expander) {
            result = Err(e);
        }
    }
    result
}

/// What is left to do with a step once [`invoke`] has looked at it.
enum Then {
    /// Nothing: it was expanded (a command), or dropped (a condition that keeps nothing).
    Done,
    /// A built-in step: it goes to the output.
    Output,
    /// `steps:` splicing, or a condition that keeps its steps: those are expanded here.
    ExpandSteps,
}

fn expand_one(
    ctx: &mut Ctx<'_>,
    step: Node,
    scope: &Rc<Scope>,
    expander: &mut Expander<'_>,
) -> R<()> {
    let then = match &step.value {
        Value::Seq(_) => Then::ExpandSteps,
        Value::Str(name) => invoke(ctx, name, None, &step, scope, expander)?,
        Value::Map(map) if map.len() == 1 => {
            let entry = &map.entries()[0];
            if let Some(index) = entry.key.strip_prefix(SCOPE_KEY) {
                let inner = index
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| ctx.step_scopes.get(i))
                    .cloned()
                    .unwrap_or_else(|| Rc::clone(scope));
                return expand_one(ctx, only_value(step), &inner, expander);
            }
            invoke(ctx, &entry.key, Some(&entry.value), &step, scope, expander)?
        }
        Value::Map(map) if map.is_empty() => {
            return Err(ctx.report(
                Diagnostic::error(codes::STEP_SHAPE, "empty step").at(step.span, "nothing here"),
            ))
        }
        Value::Map(map) => {
            let keys: Vec<&str> = map.keys().collect();
            return Err(ctx.report(
                Diagnostic::error(codes::STEP_SHAPE, format!("a step must have exactly one key, this one has {}: {}", keys.len(), keys.join(", ")))
                    .at(map.entries()[1].key_span, "unexpected second key")
                    .with_help("indent the step's options under its name, e.g. `- run:` then `    name: ...` on the next lines"),
            ));
        }
        Value::Null => {
            return Err(ctx.report(
                Diagnostic::error(codes::STEP_SHAPE, "empty step")
                    .at(step.span, "nothing here")
                    .with_help("remove the empty `-` item"),
            ))
        }
        _ => {
            return Err(ctx.report(
                Diagnostic::error(
                    codes::STEP_SHAPE,
                    format!(
                        "a step must be a name or a one-key map, not a {}",
                        step.type_name()
                    ),
                )
                .at(step.span, "not a step"),
            ))
        }
    };
    match then {
        Then::Done => Ok(()),
        Then::Output => {
            expander.out.push(normalize_built_in(step));
            Ok(())
        }
        Then::ExpandSteps => expand_owned(ctx, steps_of(step), scope, expander),
    }
}

/// Expands a list of steps, or a single step.
fn expand_owned(
    ctx: &mut Ctx<'_>,
    steps: Node,
    scope: &Rc<Scope>,
    expander: &mut Expander<'_>,
) -> R<()> {
    match steps.value {
        Value::Seq(items) => expand(ctx, items, scope, expander),
        Value::Null => Ok(()),
        value => expand_one(ctx, Node::new(value, steps.span), scope, expander),
    }
}

/// The value of a one-key step map (`step` itself for any other step).
fn only_value(step: Node) -> Node {
    match step.value {
        Value::Map(map) if map.len() == 1 => {
            let mut entries = map.into_entries();
            entries
                .pop()
                .map_or_else(|| Node::null(step.span), |e| e.value)
        }
        value => Node::new(value, step.span),
    }
}

/// The steps a step stands for: a list is itself; `steps: [...]` its value; `when`/`unless`
/// the `steps` of its body.
fn steps_of(step: Node) -> Node {
    if matches!(step.value, Value::Seq(_)) {
        return step;
    }
    let is_conditional = matches!(&step.value, Value::Map(m) if m.len() == 1
        && matches!(m.entries()[0].key.as_str(), "when" | "unless"));
    let value = only_value(step);
    if !is_conditional {
        return value;
    }
    let span = value.span;
    match value.value {
        Value::Map(mut body) => body.remove("steps").unwrap_or_else(|| Node::null(span)),
        _ => Node::null(span),
    }
}

/// Looks at a step named `name` (with `value`, for a one-key map): expands a command here,
/// checks a built-in or a condition, and says what is left to do with the step.
fn invoke(
    ctx: &mut Ctx<'_>,
    name: &str,
    value: Option<&Node>,
    step: &Node,
    scope: &Rc<Scope>,
    expander: &mut Expander<'_>,
) -> R<Then> {
    let is_conditional = name == "when" || name == "unless";
    if !is_conditional
        && name != "steps"
        && (name.contains('/') || scope.has_local(Kind::Command, name))
    {
        return invoke_command(ctx, name, value, step, scope, expander).map(|()| Then::Done);
    }
    if is_conditional {
        return conditional(ctx, name == "when", value, step);
    }
    if name == "steps" {
        return match value.map(|v| &v.value) {
            Some(Value::Seq(_)) => Ok(Then::ExpandSteps),
            Some(Value::Null) | None => Ok(Then::Done),
            Some(_) => Err(ctx.report(
                Diagnostic::error(codes::STEP_SHAPE, "`steps` must be a list of steps")
                    .at(step.span, "not a list"),
            )),
        };
    }
    if BUILT_IN.contains(&name) {
        check_built_in(ctx, name, value, step)?;
        return Ok(Then::Output);
    }
    let mut known: Vec<&str> = scope.commands.keys().collect();
    known.extend(BUILT_IN);
    let help = match orrery_diagnostics::suggest(name, &known) {
        Some(s) => format!("did you mean `{s}`?"),
        None => "define it under `commands:`, or import the orb that provides it".to_string(),
    };
    let at = key_span(step);
    Err(ctx.report(
        Diagnostic::error(
            codes::UNKNOWN_COMMAND,
            format!("Cannot find a definition for command named {name}"),
        )
        .at(at, "unknown command")
        .with_help(help),
    ))
}

fn key_span(step: &Node) -> Span {
    match &step.value {
        Value::Map(m) if !m.is_empty() => m.entries()[0].key_span,
        _ => step.span,
    }
}

/// A `run` step needs a command.
fn check_built_in(ctx: &mut Ctx<'_>, name: &str, value: Option<&Node>, step: &Node) -> R<()> {
    if name != "run" {
        return Ok(());
    }
    match value.map(|v| &v.value) {
        Some(Value::Str(_)) => Ok(()),
        Some(Value::Map(m)) if m.contains_key("command") => Ok(()),
        Some(Value::Map(_)) => Err(ctx.report(
            Diagnostic::error(codes::STEP_SHAPE, "a `run` step needs a `command`")
                .at(key_span(step), "no command")
                .with_help("add `command: <shell script>`"),
        )),
        _ => Err(ctx.report(
            Diagnostic::error(codes::STEP_SHAPE, "a `run` step needs a command")
                .at(step.span, "empty run")
                .with_help("write `- run: <shell command>`"),
        )),
    }
}

/// A built-in step (checked by [`check_built_in`]) as it is output: `run: TEXT` becomes
/// `run: { command: TEXT }`, every other step stays as it is.
fn normalize_built_in(step: Node) -> Node {
    let Value::Map(mut map) = step.value else {
        return step;
    };
    let at = key_span_of(&map, step.span);
    let is_run_text = map.len() == 1
        && map.entries()[0].key == "run"
        && matches!(map.entries()[0].value.value, Value::Str(_));
    if is_run_text {
        if let Some(text) = map.get_mut("run") {
            let v = text.span;
            let command = std::mem::replace(text, Node::null(v));
            let body = Map::from_entries(vec![Entry {
                key: "command".into(),
                key_span: v,
                value: command,
            }]);
            return single("run", at, Node::new(Value::Map(body), v), step.span);
        }
    }
    Node::new(Value::Map(map), step.span)
}

fn key_span_of(map: &Map, span: Span) -> Span {
    map.entries().first().map_or(span, |e| e.key_span)
}

fn single(key: &str, key_span: Span, value: Node, span: Span) -> Node {
    Node::new(
        Value::Map(Map::from_entries(vec![Entry {
            key: key.into(),
            key_span,
            value,
        }])),
        span,
    )
}

/// Checks a `when`/`unless` step and evaluates its condition: [`Then::ExpandSteps`] when its
/// steps are kept.
fn conditional(ctx: &mut Ctx<'_>, is_when: bool, value: Option<&Node>, step: &Node) -> R<Then> {
    let word = if is_when { "when" } else { "unless" };
    let Some(body) = value.and_then(Node::as_map) else {
        return Err(ctx.report(
            Diagnostic::error(
                codes::STEP_SHAPE,
                format!("a `{word}` step needs `condition` and `steps`"),
            )
            .at(step.span, "here")
            .with_help(format!(
                "write `- {word}: {{ condition: ..., steps: [...] }}`"
            )),
        ));
    };
    // CONFIG-SPEC V091: `steps` is required, whatever the condition decides.
    let help = format!("write `- {word}: {{ condition: ..., steps: [...] }}`");
    match body.get("steps") {
        Some(steps) if steps.is_null() => {
            return Err(ctx.report(
                Diagnostic::error(
                    codes::STEP_SHAPE,
                    "`steps` must be a list of steps, found nothing",
                )
                .at(steps.span, "nothing here")
                .with_help(help),
            ))
        }
        Some(_) => {}
        None => {
            let article = if is_when { "a" } else { "an" };
            return Err(ctx.report(
                Diagnostic::error(
                    codes::STEP_SHAPE,
                    format!("{article} `{word}` step needs `steps`: the steps it keeps or removes"),
                )
                .at(key_span(step), "no `steps`")
                .with_help(help),
            ));
        }
    }
    let condition = match body.get("condition") {
        Some(c) => logic::evaluate(ctx, c)?,
        // The 2018 preview form without `condition` is dropped entirely (official output).
        None => {
            ctx.warn(
                Diagnostic::warning(
                    codes::STEP_SHAPE,
                    format!(
                        "this `{word}` step has no `condition`, so it is dropped with its steps"
                    ),
                )
                .at(key_span(step), "no `condition`")
                .with_help(format!(
                    "write `- {word}: {{ condition: ..., steps: [...] }}`"
                )),
            );
            false
        }
    };
    Ok(if condition == is_when {
        Then::ExpandSteps
    } else {
        Then::Done
    })
}

fn invoke_command(
    ctx: &mut Ctx<'_>,
    name: &str,
    value: Option<&Node>,
    step: &Node,
    scope: &Rc<Scope>,
    expander: &mut Expander<'_>,
) -> R<()> {
    let use_site = key_span(step);
    let found = match scope::lookup(scope, Kind::Command, name) {
        Lookup::Found(found) => Some(found),
        Lookup::Opaque => return Err(Reported),
        Lookup::Missing => None,
    };
    let Some(found) = found else {
        let message = match name.split_once('/') {
            Some((alias, _)) if scope.orb(alias).is_none() => format!("Cannot find a definition for command named {name}: no orb is imported as `{alias}`"),
            _ => format!("Cannot find a definition for command named {name}"),
        };
        return Err(ctx.report(
            Diagnostic::error(codes::UNKNOWN_COMMAND, message)
                .at(use_site, "unknown command")
                .with_help("check the name and the `orbs:` section"),
        ));
    };
    let identity = format!(
        "{}/{}",
        found.scope.orb_path.as_deref().unwrap_or(""),
        name.rsplit('/').next().unwrap_or(name)
    );
    if expander.stack.contains(&identity) || expander.stack.len() > MAX_DEPTH {
        let mut chain = expander.stack.clone();
        chain.push(identity);
        return Err(ctx.report(
            Diagnostic::error(
                codes::RECURSION,
                format!(
                    "command {name} invokes itself ({})",
                    chain
                        .iter()
                        .map(|c| c.trim_start_matches('/'))
                        .collect::<Vec<_>>()
                        .join(" → ")
                ),
            )
            .at(use_site, "recursive call"),
        ));
    }
    let empty = Map::new();
    let args = match value.map(|v| &v.value) {
        None | Some(Value::Null) => &empty,
        Some(Value::Map(m)) => m,
        Some(_) => {
            return Err(ctx.report(
                Diagnostic::error(
                    codes::STEP_SHAPE,
                    format!("arguments to command `{name}` must be a map"),
                )
                .at(value.map_or(step.span, |v| v.span), "not a map"),
            ))
        }
    };
    let Some(definition) = found.definition().as_map() else {
        return Err(ctx.report(
            Diagnostic::error(
                codes::SHAPE,
                format!("command `{name}` must be a map with `steps`"),
            )
            .at(found.definition().span, "definition")
            .also(use_site, "used here"),
        ));
    };
    ctx.push_frame(format!("Error calling command: '{name}'"), use_site);
    let result = (|| {
        let call = params::bind_call(ctx, definition, args, use_site, &found.scope, scope)?;
        let env = call.env();
        let steps = match definition.get("steps") {
            Some(s) => s,
            None => {
                return Err(ctx.report(
                    Diagnostic::error(codes::SHAPE, format!("command `{name}` has no `steps`"))
                        .at(found.definition().span, "definition"),
                ));
            }
        };
        let (steps, substituted) = subst::subst_items(ctx, steps, &env);
        let Some(steps) = steps else {
            return substituted;
        };
        expander.stack.push(identity.clone());
        let r = match steps.value {
            Value::Seq(items) => expand(ctx, items, &found.scope, expander).and(substituted),
            Value::Null => Ok(()),
            _ => Err(ctx.report(
                Diagnostic::error(
                    codes::SHAPE,
                    format!("`steps` of command `{name}` must be a list"),
                )
                .at(steps.span, "not a list"),
            )),
        };
        expander.stack.pop();
        r
    })();
    ctx.pop_frame();
    result
}
