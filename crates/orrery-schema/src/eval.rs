//! Evaluates a compiled schema over a YAML [`Node`] and collects [`Failure`]s worded for people.
//!
//! `anyOf`/`oneOf`: only the branches that can accept the value's type are tried. If one passes,
//! the value is fine. If none can accept the type, or every tried branch rejects the value
//! itself (its type, enum or pattern), one failure lists the alternatives in words. Otherwise
//! the branch the value got furthest into (deepest failure, then fewest failures) is the one it
//! was meant for, and its failures are reported.

use orrery_diagnostics::{Severity, Span};
use orrery_yaml::{Map, Node, Value};

use crate::memo::{Recall, Reuse};
use crate::schema::{types, Additional, Compiled, Id, Literal, Schema};
use crate::words;

/// One problem, ready to become a diagnostic.
#[derive(Clone, Debug)]
pub struct Failure {
    /// Nesting depth of the value it is about (0 = the document).
    pub depth: usize,
    pub severity: Severity,
    pub tag: Tag,
    pub span: Span,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
    /// `(title, replacement of span)`: a rename of a mistyped key.
    pub fix: Option<(String, String)>,
}

impl Failure {
    /// An unworded failure, for probes.
    fn quiet(ctx: Ctx<'_>, tag: Tag, span: Span) -> Failure {
        Failure {
            depth: ctx.depth,
            severity: Severity::Error,
            tag,
            span,
            message: String::new(),
            label: String::new(),
            help: None,
            fix: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Tag {
    /// The value itself is of the wrong type or is not an allowed value.
    Value,
    /// Required keys missing from a map (the keys, and where).
    Missing(Vec<String>, String),
    /// Anything inside the value: unknown keys, key counts, names.
    Content,
}

/// Where a value sits, for wording.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub depth: usize,
    /// The map key this value is the value of.
    pub key: Option<&'a str>,
    pub key_span: Option<Span>,
    /// The key of the list this value is an item of.
    pub item_of: Option<&'a str>,
    /// The title of the schema that applies here (the outermost one wins).
    pub title: Option<&'a str>,
    /// Only whether the value fits matters (an `if` condition): failures are not worded.
    pub probe: bool,
}

impl<'a> Ctx<'a> {
    pub fn root() -> Ctx<'a> {
        Ctx {
            depth: 0,
            key: None,
            key_span: None,
            item_of: None,
            title: None,
            probe: false,
        }
    }

    fn entry(&self, key: &'a str, key_span: Span) -> Ctx<'a> {
        Ctx {
            depth: self.depth + 1,
            key: Some(key),
            key_span: Some(key_span),
            item_of: None,
            title: None,
            probe: self.probe,
        }
    }

    fn item(&self) -> Ctx<'a> {
        Ctx {
            depth: self.depth + 1,
            key: None,
            key_span: None,
            item_of: self.key.or(self.item_of),
            title: None,
            probe: self.probe,
        }
    }

    /// The value, as the subject of a sentence: "`parallelism`", "a step", "the config".
    fn subject(&self) -> String {
        match (self.key, self.title) {
            (Some(key), _) => format!("`{key}`"),
            (None, Some(title)) if self.depth == 0 => format!("the {title}"),
            (None, Some(title)) => format!("{} {title}", words::article(title)),
            (None, None) => match self.item_of {
                Some(list) => format!("each item of `{list}`"),
                None => "this value".to_string(),
            },
        }
    }

    /// The map this value is, as a place: "job `build`", "`run` step", "docker image".
    fn place(&self) -> String {
        match (self.key, self.title) {
            (_, Some(title)) if self.depth == 0 => format!("the {title}"),
            (Some(key), Some(title)) if !title.contains('`') => format!("{title} `{key}`"),
            (_, Some(title)) => title.to_string(),
            (Some(key), None) => format!("`{key}`"),
            (None, None) => match self.item_of {
                Some(list) => format!("an item of `{list}`"),
                None => "this map".to_string(),
            },
        }
    }

    /// Where a missing key is reported: the key whose value the map is, else the map.
    fn missing_span(&self, node: &Node) -> Span {
        self.key_span.unwrap_or(Span {
            end: node.span.start,
            ..node.span
        })
    }
}

pub struct Evaluator<'s> {
    pub compiled: &'s Compiled,
    /// The previous version's findings to reuse, when the caller kept them.
    pub reuse: Option<&'s Reuse<'s>>,
}

/// The type bit of a value.
pub fn type_of(node: &Node) -> u8 {
    match &node.value {
        Value::Null => types::NULL,
        Value::Bool(_) => types::BOOLEAN,
        Value::Int(_) | Value::BigInt(_) => types::INTEGER,
        Value::Float(f) if f.is_finite() && f.fract() == 0.0 => types::INTEGER,
        Value::Float(_) => types::FRACTION,
        Value::Str(_) => types::STRING,
        Value::Seq(_) => types::ARRAY,
        Value::Map(_) => types::OBJECT,
    }
}

fn number(node: &Node) -> Option<f64> {
    match &node.value {
        Value::Int(i) => Some(*i as f64),
        // Past 64 bits the nearest double: beyond every bound a schema here sets.
        Value::BigInt(i) => i.to_string().parse().ok(),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn literal_matches(literal: &Literal, node: &Node) -> bool {
    match (literal, &node.value) {
        (Literal::Null, Value::Null) => true,
        (Literal::Bool(a), Value::Bool(b)) => a == b,
        (Literal::Str(a), Value::Str(b)) => a == b,
        (Literal::Number(a), _) => number(node) == Some(*a),
        _ => false,
    }
}

fn has_error(failures: &[Failure]) -> bool {
    failures.iter().any(|f| f.severity == Severity::Error)
}

impl<'s> Evaluator<'s> {
    fn node(&self, id: Id) -> &'s Schema {
        &self.compiled.nodes[id]
    }

    pub fn eval<'n>(&self, id: Id, node: &'n Node, ctx: Ctx<'n>, out: &mut Vec<Failure>)
    where
        's: 'n,
    {
        let schema = self.node(id);
        let ctx = Ctx {
            title: ctx.title.or(schema.title.as_deref()),
            ..ctx
        };
        let kind = type_of(node);
        if schema.types & kind == 0 {
            out.push(self.mismatch(id, node, ctx, false));
            return;
        }
        if let Some(target) = schema.reference {
            self.eval(target, node, ctx, out);
        }
        if let Some(values) = &schema.enumeration {
            if !values.iter().any(|v| literal_matches(v, node)) {
                out.push(self.mismatch(id, node, ctx, true));
                return;
            }
        }
        match &node.value {
            Value::Str(text) => {
                if let Some(pattern) = &schema.pattern {
                    if !pattern.is_match(text) {
                        out.push(self.mismatch(id, node, ctx, true));
                        return;
                    }
                }
            }
            Value::Int(_) | Value::BigInt(_) | Value::Float(_) => {
                let n = number(node).unwrap_or(f64::NAN);
                if schema.minimum.is_some_and(|min| n < min)
                    || schema.maximum.is_some_and(|max| n > max)
                {
                    out.push(self.mismatch(id, node, ctx, true));
                    return;
                }
            }
            Value::Seq(items) => self.eval_items(schema, node, items, ctx, out),
            Value::Map(map) => {
                if !self.eval_map(schema, node, map, ctx, out) {
                    return;
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
        for &branch in schema.all_of.iter() {
            self.eval(branch, node, ctx, out);
        }
        if let Some((condition, then, otherwise)) = schema.if_then_else {
            let mut probe = Vec::new();
            self.eval(condition, node, Ctx { probe: true, ..ctx }, &mut probe);
            let chosen = if has_error(&probe) { otherwise } else { then };
            if let Some(branch) = chosen {
                self.eval(branch, node, ctx, out);
            }
        }
        if !schema.any_of.is_empty() {
            self.eval_branches(id, &schema.any_of, false, node, ctx, out);
        }
        if !schema.one_of.is_empty() {
            self.eval_branches(id, &schema.one_of, true, node, ctx, out);
        }
    }

    /// [`Evaluator::eval`] of a map entry's value; an entry under a top-level key (`parent`)
    /// reuses the previous version's findings when it can.
    fn eval_entry<'n>(
        &self,
        id: Id,
        node: &'n Node,
        parent: Option<&str>,
        ctx: Ctx<'n>,
        out: &mut Vec<Failure>,
    ) where
        's: 'n,
    {
        let (Some(reuse), Some(parent), 2) = (self.reuse, parent, ctx.depth) else {
            return self.eval(id, node, ctx, out);
        };
        match reuse.recall(id, parent, node, ctx) {
            Recall::Skip => self.eval(id, node, ctx, out),
            Recall::Found(failures) => out.extend(failures),
            Recall::Evaluate(key) => {
                let mut found = Vec::new();
                self.eval(id, node, ctx, &mut found);
                reuse.keep(key, &found);
                out.extend(found);
            }
        }
    }

    fn eval_items<'n>(
        &self,
        schema: &'s Schema,
        node: &'n Node,
        items: &'n [Node],
        ctx: Ctx<'n>,
        out: &mut Vec<Failure>,
    ) where
        's: 'n,
    {
        if let Some(min) = schema.min_items {
            if items.len() < min {
                let subject = ctx.subject();
                out.push(Failure {
                    depth: ctx.depth,
                    severity: Severity::Error,
                    tag: Tag::Value,
                    span: node.span,
                    message: format!(
                        "{subject} must have at least {min} item{}, found {}",
                        if min == 1 { "" } else { "s" },
                        items.len()
                    ),
                    label: "too few items".into(),
                    help: None,
                    fix: None,
                });
                return;
            }
        }
        if let Some(item_schema) = schema.items {
            let item_ctx = ctx.item();
            for item in items {
                self.eval(item_schema, item, item_ctx, out);
            }
        }
    }

    /// Checks a map's keys and values. Returns false when the map's shape is so far off (wrong
    /// number of keys) that checking its values would only add noise.
    fn eval_map<'n>(
        &self,
        schema: &'s Schema,
        node: &'n Node,
        map: &'n Map,
        ctx: Ctx<'n>,
        out: &mut Vec<Failure>,
    ) -> bool
    where
        's: 'n,
    {
        let count = map.len();
        let too_few = schema.min_properties.is_some_and(|min| count < min);
        let too_many = schema.max_properties.is_some_and(|max| count > max);
        if too_few || too_many {
            out.push(key_count(schema, node, map, ctx));
            return false;
        }
        let missing: Vec<&str> = schema
            .required
            .iter()
            .map(|key| key.as_ref())
            .filter(|key| !map.contains_key(key))
            .collect();
        // A key close to a missing required one is that key mistyped: it is reported with the
        // missing key, not again as unknown.
        let mut renamed: Vec<(&str, &'n str, Span)> = Vec::new();
        for entry in map.entries() {
            let key = entry.key.as_str();
            if let Some(names) = schema.property_names {
                let name = Node::string(key, entry.key_span);
                let mut probe = Vec::new();
                self.eval(names, &name, Ctx::root(), &mut probe);
                if has_error(&probe) {
                    out.push(Failure {
                        depth: ctx.depth,
                        severity: Severity::Error,
                        tag: Tag::Content,
                        span: entry.key_span,
                        message: format!(
                            "`{key}` is not a valid name in {}: expected {}",
                            ctx.place(),
                            self.words(names)
                        ),
                        label: "invalid name".into(),
                        help: None,
                        fix: None,
                    });
                }
            }
            let child = ctx.entry(key, entry.key_span);
            // A key is checked by its property and by every pattern it matches.
            let mut known = false;
            if let Some(property) = schema.property(key) {
                self.eval_entry(property, &entry.value, ctx.key, child, out);
                known = true;
            }
            for (regex, pattern) in schema.pattern_properties.iter() {
                if regex.is_match(key) {
                    self.eval_entry(*pattern, &entry.value, ctx.key, child, out);
                    known = true;
                }
            }
            if known {
                continue;
            }
            match schema.additional {
                Additional::Any => {}
                Additional::Schema(extra) => {
                    self.eval_entry(extra, &entry.value, ctx.key, child, out)
                }
                Additional::Forbid | Additional::Warn => {
                    if let Some(wanted) = orrery_diagnostics::closest(key, missing.iter().copied())
                    {
                        renamed.push((wanted, key, entry.key_span));
                        continue;
                    }
                    out.push(unknown_key(schema, map, key, entry.key_span, ctx));
                }
            }
        }
        if !missing.is_empty() {
            out.push(missing_keys(&missing, &renamed, node, ctx));
        }
        true
    }

    fn eval_branches<'n>(
        &self,
        id: Id,
        branches: &[Id],
        exactly_one: bool,
        node: &'n Node,
        ctx: Ctx<'n>,
        out: &mut Vec<Failure>,
    ) where
        's: 'n,
    {
        let kind = type_of(node);
        let candidates = || {
            branches
                .iter()
                .copied()
                .filter(move |&b| self.node(b).accepts & kind != 0)
        };
        if candidates().next().is_none() {
            out.push(self.mismatch(id, node, ctx, false));
            return;
        }
        let mut passed = 0;
        let mut failed: Vec<Vec<Failure>> = Vec::new();
        for branch in candidates() {
            let mut attempt = Vec::new();
            self.eval(branch, node, ctx, &mut attempt);
            if has_error(&attempt) {
                failed.push(attempt);
                continue;
            }
            passed += 1;
            if passed == 1 {
                out.extend(attempt);
            }
            if !exactly_one {
                return;
            }
        }
        if passed == 1 {
            return;
        }
        if passed > 1 {
            out.push(Failure {
                depth: ctx.depth,
                severity: Severity::Error,
                tag: Tag::Value,
                span: node.span,
                message: format!(
                    "{} is ambiguous: it fits more than one of {}",
                    ctx.subject(),
                    self.words(id)
                ),
                label: "ambiguous".into(),
                help: None,
                fix: None,
            });
            return;
        }
        let shallow = |f: &Failure| f.depth == ctx.depth && f.severity == Severity::Error;
        let errors = || {
            failed
                .iter()
                .flatten()
                .filter(|f| f.severity == Severity::Error)
        };
        if errors().all(|f| shallow(f) && f.tag == Tag::Value) {
            // Every branch rejects the value itself: say what it could have been.
            let real_candidate = candidates().any(|b| !self.is_template(b));
            out.push(self.mismatch(id, node, ctx, real_candidate));
            return;
        }
        if failed.len() > 1 && errors().all(|f| shallow(f) && matches!(f.tag, Tag::Missing(..))) {
            // Each branch wants other keys (`key` or `keys`): one failure naming them all.
            let mut keys: Vec<String> = Vec::new();
            for failure in errors() {
                if let Tag::Missing(k, _) = &failure.tag {
                    for key in k {
                        if !keys.contains(key) {
                            keys.push(key.clone());
                        }
                    }
                }
            }
            let place = ctx.place();
            out.push(Failure {
                depth: ctx.depth,
                severity: Severity::Error,
                tag: Tag::Missing(keys.clone(), place.clone()),
                span: ctx.missing_span(node),
                message: format!("{place} needs {}", words::either(&keys)),
                label: format!("needs {}", words::either(&keys)),
                help: None,
                fix: None,
            });
            return;
        }
        let best = failed.into_iter().max_by(|a, b| {
            let depth = |f: &[Failure]| f.iter().map(|x| x.depth).max().unwrap_or(0);
            depth(a)
                .cmp(&depth(b))
                .then(b.len().cmp(&a.len()))
                .then(std::cmp::Ordering::Greater)
        });
        out.extend(best.unwrap_or_default());
    }

    fn is_template(&self, id: Id) -> bool {
        let node = self.node(id);
        node.is_template || node.reference.is_some_and(|r| self.is_template(r))
    }

    /// What the schema `id` wants, in words.
    pub fn words(&self, id: Id) -> String {
        let node = self.node(id);
        if let Some(expected) = &node.expected {
            return expected.to_string();
        }
        let branches = if node.any_of.is_empty() {
            &node.one_of
        } else {
            &node.any_of
        };
        if !branches.is_empty() {
            let mut parts: Vec<String> = Vec::new();
            let mut template = false;
            for &branch in branches.iter() {
                if self.is_template(branch) {
                    template = true;
                    continue;
                }
                let part = self.words(branch);
                if !parts.contains(&part) {
                    parts.push(part);
                }
            }
            let mut text = words::or_list(&parts);
            if template {
                if text.is_empty() {
                    return "a `<< >>` template".into();
                }
                text.push_str(" (or a `<< >>` template)");
            }
            return text;
        }
        if let Some(values) = &node.enumeration {
            let names: Vec<String> = values.iter().map(words::literal).collect();
            return match names.len() {
                1 => names[0].clone(),
                _ => format!("one of {}", words::or_list(&names)),
            };
        }
        if node.types == types::ALL {
            if let Some(target) = node.reference {
                return self.words(target);
            }
        }
        let mut text = words::types(node.types);
        match (node.minimum, node.maximum) {
            (Some(min), Some(max)) => text.push_str(&format!(" from {min} to {max}")),
            (Some(min), None) => text.push_str(&format!(" of at least {min}")),
            (None, Some(max)) => text.push_str(&format!(" of at most {max}")),
            (None, None) => {}
        }
        if let Some(pattern) = &node.pattern {
            text.push_str(&format!(" matching `{}`", pattern.text));
        }
        text
    }

    /// "`S` must be W, found F": the value at `node` is not what `id` wants. `show_value`: name
    /// the value itself (it has an acceptable type but is not an allowed value).
    fn mismatch(&self, id: Id, node: &Node, ctx: Ctx<'_>, show_value: bool) -> Failure {
        if ctx.probe {
            return Failure::quiet(ctx, Tag::Value, node.span);
        }
        let expected = self.words(id);
        let found = match (&node.value, show_value) {
            (Value::Str(s), true) => words::quoted(s),
            (Value::Int(_) | Value::BigInt(_) | Value::Float(_) | Value::Bool(_), true) => node
                .value
                .scalar_text()
                .map_or_else(|| words::found(node), |t| format!("`{t}`")),
            _ => words::found(node),
        };
        let help = match &node.value {
            Value::Str(s) if show_value => orrery_diagnostics::closest(s, self.allowed_values(id))
                .map(|wanted| format!("did you mean `{wanted}`?")),
            Value::Bool(_) | Value::Int(_) | Value::BigInt(_) | Value::Float(_)
                if self.node(id).accepts & types::STRING != 0
                    && self.node(id).accepts & type_of(node) == 0 =>
            {
                Some("quote the value to make it a string".into())
            }
            _ => None,
        };
        Failure {
            depth: ctx.depth,
            severity: Severity::Error,
            tag: Tag::Value,
            span: node.span,
            message: format!("{} must be {expected}, found {found}", ctx.subject()),
            label: format!("expected {}", words::short(&expected)),
            help,
            fix: None,
        }
    }

    /// The string values an `enum` below `id` allows, for "did you mean".
    fn allowed_values(&self, id: Id) -> Vec<&'s str> {
        let mut values = Vec::new();
        let mut stack = vec![id];
        let mut seen = Vec::new();
        while let Some(id) = stack.pop() {
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            let node = self.node(id);
            if let Some(literals) = &node.enumeration {
                values.extend(literals.iter().filter_map(|l| match l {
                    Literal::Str(s) => Some(s.as_ref()),
                    _ => None,
                }));
            }
            stack.extend(node.reference);
            stack.extend(node.any_of.iter());
            stack.extend(node.one_of.iter());
        }
        values
    }
}

fn key_count(schema: &Schema, node: &Node, map: &Map, ctx: Ctx<'_>) -> Failure {
    if ctx.probe {
        return Failure::quiet(ctx, Tag::Content, node.span);
    }
    let keys: Vec<String> = map.keys().map(|k| format!("`{k}`")).collect();
    let found = match keys.len() {
        0 => "none".to_string(),
        n => format!("{n}: {}", keys.join(", ")),
    };
    let (wanted, help) = match (schema.min_properties, schema.max_properties) {
        (Some(1), Some(1)) => (
            "exactly one key".to_string(),
            Some(
                "the one key is the name; everything else goes under it, indented one more level"
                    .to_string(),
            ),
        ),
        (Some(min), Some(max)) => (format!("from {min} to {max} keys"), None),
        (Some(min), None) => (
            format!("at least {min} key{}", if min == 1 { "" } else { "s" }),
            None,
        ),
        (None, Some(max)) => (format!("at most {max} keys"), None),
        (None, None) => (String::new(), None),
    };
    Failure {
        depth: ctx.depth,
        severity: Severity::Error,
        tag: Tag::Content,
        span: node.span,
        message: format!("{} must have {wanted}, found {found}", ctx.subject()),
        label: format!("{} keys", map.len()),
        help,
        fix: None,
    }
}

fn unknown_key(schema: &Schema, map: &Map, key: &str, span: Span, ctx: Ctx<'_>) -> Failure {
    if ctx.probe {
        let mut quiet = Failure::quiet(ctx, Tag::Content, span);
        if schema.additional == Additional::Warn {
            quiet.severity = Severity::Warning;
        }
        return quiet;
    }
    let ignored = schema.additional == Additional::Warn;
    let known = schema
        .properties
        .iter()
        .map(|(name, _)| name.as_ref())
        .filter(|name| !map.contains_key(name));
    let suggestion = orrery_diagnostics::closest(key, known);
    let place = ctx.place();
    let message = match ignored {
        true => format!("unknown key `{key}` in {place}; CircleCI ignores it"),
        false => format!("unknown key `{key}` in {place}"),
    };
    let help = match suggestion {
        Some(wanted) => format!("did you mean `{wanted}`?"),
        None => {
            let names: Vec<String> = schema
                .properties
                .iter()
                .map(|(n, _)| format!("`{n}`"))
                .collect();
            format!("{place} takes {}", words::and_list(&names))
        }
    };
    Failure {
        depth: ctx.depth,
        severity: if ignored {
            Severity::Warning
        } else {
            Severity::Error
        },
        tag: Tag::Content,
        span,
        message,
        label: "unknown key".into(),
        help: Some(help),
        fix: suggestion.map(|wanted| (format!("rename `{key}` to `{wanted}`"), wanted.to_string())),
    }
}

fn missing_keys(
    missing: &[&str],
    renamed: &[(&str, &str, Span)],
    node: &Node,
    ctx: Ctx<'_>,
) -> Failure {
    if ctx.probe {
        let keys = missing.iter().map(|k| k.to_string()).collect();
        return Failure::quiet(ctx, Tag::Missing(keys, String::new()), node.span);
    }
    let place = ctx.place();
    let keys: Vec<String> = missing.iter().map(|k| k.to_string()).collect();
    let listed: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    let (span, help, fix) = match renamed.first() {
        // Point at the mistyped key: that is what to change.
        Some((wanted, typed, span)) => (
            *span,
            Some(format!("did you mean `{wanted}`?")),
            Some((
                format!("rename `{typed}` to `{wanted}`"),
                wanted.to_string(),
            )),
        ),
        None => (ctx.missing_span(node), None, None),
    };
    Failure {
        depth: ctx.depth,
        severity: Severity::Error,
        tag: Tag::Missing(keys, place.clone()),
        span,
        message: format!(
            "missing required key{} {} in {place}",
            if listed.len() == 1 { "" } else { "s" },
            words::and_list(&listed)
        ),
        label: format!("missing {}", words::and_list(&listed)),
        help,
        fix,
    }
}
