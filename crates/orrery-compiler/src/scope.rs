//! Element scopes: the main config and each orb own their commands, executors, jobs and orbs.

use std::rc::Rc;

use orrery_yaml::{Map, Node};

#[derive(Debug, Default)]
pub(crate) struct Scope {
    /// `None` for the main config; the orb alias path (`node`, `outer/inner`) otherwise.
    pub orb_path: Option<String>,
    pub commands: Map,
    pub executors: Map,
    pub jobs: Map,
    pub orbs: Vec<(String, Rc<Scope>)>,
    /// An orb that could not be imported: its import was reported once, and every name looked up
    /// through it is [`Lookup::Opaque`] rather than unknown.
    pub opaque: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Command,
    Executor,
    Job,
}

/// The outcome of looking a name up.
pub(crate) enum Lookup {
    Found(Found),
    /// The name goes through an orb that could not be imported; nothing is known about it and
    /// nothing more is reported.
    Opaque,
    Missing,
}

/// A definition found by name, with the scope its body must be compiled in.
pub(crate) struct Found {
    pub scope: Rc<Scope>,
    kind: Kind,
    name: String,
}

impl Found {
    /// The definition, borrowed from its scope (definitions are never copied to be looked at).
    pub fn definition(&self) -> &Node {
        static NULL: Node = Node {
            value: orrery_yaml::Value::Null,
            span: orrery_diagnostics::Span {
                file: orrery_diagnostics::FileId(0),
                start: 0,
                end: 0,
            },
        };
        self.scope.lookup(self.kind, &self.name).unwrap_or(&NULL)
    }
}

impl Scope {
    /// The scope of an orb that could not be imported (`alias_path` as for any orb).
    pub fn opaque(alias_path: &str) -> Self {
        Scope {
            orb_path: Some(alias_path.to_string()),
            opaque: true,
            ..Scope::default()
        }
    }

    pub fn is_orb(&self) -> bool {
        self.orb_path.is_some()
    }

    pub fn orb(&self, alias: &str) -> Option<&Rc<Scope>> {
        self.orbs.iter().find(|(a, _)| a == alias).map(|(_, s)| s)
    }

    fn elements(&self, kind: Kind) -> &Map {
        match kind {
            Kind::Command => &self.commands,
            Kind::Executor => &self.executors,
            Kind::Job => &self.jobs,
        }
    }

    pub fn has_local(&self, kind: Kind, name: &str) -> bool {
        self.lookup(kind, name).is_some()
    }

    /// The element `name` of this kind defined here (the first; a large map is indexed, so a
    /// config of thousands of jobs, looked up once per workflow entry, stays linear).
    fn lookup(&self, kind: Kind, name: &str) -> Option<&Node> {
        self.elements(kind).get(name)
    }
}

/// Resolves `name` (`foo` or `alias/foo`) in `scope`. A definition that is a string aliases
/// another element (`commands: {mine: orb/theirs}`) and is followed.
pub(crate) fn find(scope: &Rc<Scope>, kind: Kind, name: &str) -> Option<Found> {
    match lookup(scope, kind, name) {
        Lookup::Found(found) => Some(found),
        Lookup::Opaque | Lookup::Missing => None,
    }
}

/// Like [`find`], but tells a name behind an orb that could not be imported from a missing one.
pub(crate) fn lookup(scope: &Rc<Scope>, kind: Kind, name: &str) -> Lookup {
    lookup_depth(scope, kind, name, 0)
}

fn lookup_depth(scope: &Rc<Scope>, kind: Kind, name: &str, depth: usize) -> Lookup {
    if scope.opaque {
        return Lookup::Opaque;
    }
    if depth > 16 {
        return Lookup::Missing;
    }
    if let Some((alias, rest)) = name.split_once('/') {
        return match scope.orb(alias) {
            Some(orb) => lookup_depth(orb, kind, rest, depth + 1),
            None => Lookup::Missing,
        };
    }
    let Some(definition) = scope.lookup(kind, name) else {
        return Lookup::Missing;
    };
    if let Some(target) = definition.as_str() {
        if target != name {
            return lookup_depth(scope, kind, target, depth + 1);
        }
    }
    Lookup::Found(Found {
        scope: Rc::clone(scope),
        kind,
        name: name.to_string(),
    })
}
