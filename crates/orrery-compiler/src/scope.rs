//! Element scopes: the main config and each orb own their commands, executors, jobs and orbs.

use std::cell::OnceCell;
use std::collections::HashMap;
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
    /// Positions by name in `commands`, `executors` and `jobs`, built on the first lookup in
    /// a large map (a config of thousands of jobs looks one up per workflow entry).
    pub index: [OnceCell<HashMap<String, usize>>; 3],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Command,
    Executor,
    Job,
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

    /// The element `name` of this kind defined here (the first, as `Map::get` finds it).
    fn lookup(&self, kind: Kind, name: &str) -> Option<&Node> {
        let map = self.elements(kind);
        if map.len() <= 16 {
            return map.get(name);
        }
        let index = self.index[kind as usize].get_or_init(|| {
            let mut index = HashMap::with_capacity(map.len());
            for (i, entry) in map.entries.iter().enumerate() {
                index.entry(entry.key.clone()).or_insert(i);
            }
            index
        });
        index.get(name).map(|&i| &map.entries[i].value)
    }
}

/// Resolves `name` (`foo` or `alias/foo`) in `scope`. A definition that is a string aliases
/// another element (`commands: {mine: orb/theirs}`) and is followed.
pub(crate) fn find(scope: &Rc<Scope>, kind: Kind, name: &str) -> Option<Found> {
    find_depth(scope, kind, name, 0)
}

fn find_depth(scope: &Rc<Scope>, kind: Kind, name: &str, depth: usize) -> Option<Found> {
    if depth > 16 {
        return None;
    }
    if let Some((alias, rest)) = name.split_once('/') {
        let orb = scope.orb(alias)?;
        return find_depth(orb, kind, rest, depth + 1);
    }
    let definition = scope.lookup(kind, name)?;
    if let Some(target) = definition.as_str() {
        if target != name {
            return find_depth(scope, kind, target, depth + 1);
        }
    }
    Some(Found {
        scope: Rc::clone(scope),
        kind,
        name: name.to_string(),
    })
}
