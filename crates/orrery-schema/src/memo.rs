//! Reusing the previous version's findings (the language server checks every edit): what the
//! schema says about an entry of a map under a top-level key (`jobs:` → `build:`) depends only
//! on that entry's value, its key and the schema, so an entry that is the same as in the
//! previous version, moved, gets the previous findings, moved the same way.

use std::cell::RefCell;
use std::collections::HashMap;

use orrery_diagnostics::Span;
use orrery_yaml::Node;

use crate::eval::{Ctx, Failure};
use crate::schema::Id;

/// What one check found for each entry under a top-level key, for the next version's check.
/// It belongs with the root it was made from: [`crate::check_config_reusing`] is given both.
#[derive(Debug, Default)]
pub struct Memo {
    found: HashMap<Key, Vec<Failure>>,
}

impl Memo {
    /// How many entries it remembers.
    pub fn len(&self) -> usize {
        self.found.len()
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }
}

/// One evaluation of an entry's value: the schema, where the entry is, and what the evaluation
/// reads of its context (the key, and where it is written relative to the value).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    schema: Id,
    parent: Box<str>,
    key: Box<str>,
    /// The key's span, from the start of the value.
    key_at: (i64, i64),
    probe: bool,
}

/// The state of one check that reuses: the previous root and its memo, the root being
/// checked, and the memo being made for the next version.
pub(crate) struct Reuse<'a> {
    pub previous: Option<(&'a Node, &'a Memo)>,
    pub root: &'a Node,
    pub made: RefCell<Memo>,
}

impl Reuse<'_> {
    /// The failures of evaluating `node`, the value of `parent` → `key` (ctx), against
    /// `schema`: the previous version's, moved, when it had the same value there; else `None`,
    /// and the caller evaluates and calls [`Reuse::keep`]. Also `None` (and nothing kept)
    /// when `node` is not the one at that place (a repeated key).
    pub fn recall(&self, schema: Id, parent: &str, node: &Node, ctx: Ctx<'_>) -> Recall {
        let (Some(key), Some(key_span)) = (ctx.key, ctx.key_span) else {
            return Recall::Skip;
        };
        let at_place = self
            .root
            .get(parent)
            .and_then(|p| p.get(key))
            .is_some_and(|n| std::ptr::eq(n, node));
        if !at_place {
            return Recall::Skip;
        }
        let start = i64::from(node.span.start);
        let memo_key = Key {
            schema,
            parent: parent.into(),
            key: key.into(),
            key_at: (
                i64::from(key_span.start) - start,
                i64::from(key_span.end) - start,
            ),
            probe: ctx.probe,
        };
        let earlier = self.previous.and_then(|(root, memo)| {
            let old = root.get(parent)?.get(key)?;
            let failures = memo.found.get(&memo_key)?;
            let delta = start - i64::from(old.span.start);
            old.same_moved(node, delta).then(|| {
                failures
                    .iter()
                    .map(|f| moved(f, delta, node.span))
                    .collect::<Vec<_>>()
            })
        });
        match earlier {
            Some(failures) => {
                self.made
                    .borrow_mut()
                    .found
                    .insert(memo_key, failures.clone());
                Recall::Found(failures)
            }
            None => Recall::Evaluate(MemoKey(memo_key)),
        }
    }

    pub fn keep(&self, key: MemoKey, failures: &[Failure]) {
        self.made
            .borrow_mut()
            .found
            .insert(key.0, failures.to_vec());
    }
}

/// A place to remember an evaluation under (see [`Reuse::recall`]).
pub(crate) struct MemoKey(Key);

pub(crate) enum Recall {
    /// Not an entry the memo keeps: evaluate.
    Skip,
    /// Evaluate, then keep the failures under this key.
    Evaluate(MemoKey),
    /// The previous version's failures, moved.
    Found(Vec<Failure>),
}

/// `failure`, moved `delta` bytes into the file of `to`.
fn moved(failure: &Failure, delta: i64, to: Span) -> Failure {
    let span = failure.span;
    Failure {
        span: Span {
            file: to.file,
            start: (i64::from(span.start) + delta) as u32,
            end: (i64::from(span.end) + delta) as u32,
        },
        ..failure.clone()
    }
}
