use std::hash::BuildHasher;

use hashbrown::hash_table::Entry as Slot;
use hashbrown::HashTable;
use num_bigint::BigInt;
use orrery_diagnostics::Span;

/// A YAML value with the span it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer that does not fit in 64 bits (YAML 1.1 integers have no bound).
    BigInt(BigInt),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Map),
}

/// A mapping that keeps insertion order; keys are strings, as in every CircleCI document.
///
/// Small maps (most CircleCI maps) are searched by scanning; past [`Map::SCAN_LIMIT`] entries a
/// hash index of positions is kept (a config's `jobs:` of thousands is looked up once per
/// workflow entry). The entries are private so the index cannot go stale: writers go through
/// [`Map::push`], [`Map::insert`], [`Map::remove`], [`Map::values_mut`] /
/// [`Map::iter_mut`] (values only), or [`Map::entries_mut`], after which the index is rebuilt.
/// A large map's entries and index live out of line, so a small map costs no more than its
/// `Vec` (24 bytes: a node is 48).
#[derive(Clone)]
pub struct Map {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// At most `SCAN_LIMIT` entries.
    Scan(Vec<Entry>),
    /// More, with the position of the first entry of each key.
    Indexed(Box<Indexed>),
}

#[derive(Clone)]
struct Indexed {
    entries: Vec<Entry>,
    index: Index,
}

impl Default for Map {
    fn default() -> Self {
        Map {
            repr: Repr::Scan(Vec::new()),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

/// Positions into `entries`, hashed by the key they point at (no key is stored twice).
#[derive(Clone)]
struct Index {
    positions: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl Index {
    fn build(entries: &[Entry]) -> Index {
        let mut index = Index {
            positions: HashTable::with_capacity(entries.len()),
            hasher: foldhash::fast::RandomState::default(),
        };
        for position in 0..entries.len() {
            index.add(entries, position);
        }
        index
    }

    fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }

    fn find(&self, entries: &[Entry], key: &str) -> Option<usize> {
        self.positions
            .find(self.hash(key), |&p| entries[p as usize].key == key)
            .map(|&p| p as usize)
    }

    /// Records `entries[position]` unless an earlier entry has its key (the first one wins,
    /// as a scan finds it).
    fn add(&mut self, entries: &[Entry], position: usize) {
        let key = entries[position].key.as_str();
        let hash = self.hash(key);
        let hasher = &self.hasher;
        if let Slot::Vacant(vacant) = self.positions.entry(
            hash,
            |&p| entries[p as usize].key == key,
            |&p| hasher.hash_one(entries[p as usize].key.as_str()),
        ) {
            vacant.insert(position as u32);
        }
    }
}

impl Map {
    /// Maps with at most this many entries are searched by scanning; hashing every key of every
    /// small map costs more than the scans.
    pub const SCAN_LIMIT: usize = 16;

    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        Map {
            repr: Repr::Scan(Vec::with_capacity(capacity)),
        }
    }

    /// A map of these entries, in this order (a repeated key is found at its first entry).
    pub fn from_entries(entries: Vec<Entry>) -> Self {
        let repr = if entries.len() > Self::SCAN_LIMIT {
            let index = Index::build(&entries);
            Repr::Indexed(Box::new(Indexed { entries, index }))
        } else {
            Repr::Scan(entries)
        };
        Map { repr }
    }

    pub fn into_entries(self) -> Vec<Entry> {
        match self.repr {
            Repr::Scan(entries) => entries,
            Repr::Indexed(indexed) => indexed.entries,
        }
    }

    pub fn entries(&self) -> &[Entry] {
        match &self.repr {
            Repr::Scan(entries) => entries,
            Repr::Indexed(indexed) => &indexed.entries,
        }
    }

    /// The entries, for changes that keep every key where it is (values only).
    fn entries_in_place(&mut self) -> &mut Vec<Entry> {
        match &mut self.repr {
            Repr::Scan(entries) => entries,
            Repr::Indexed(indexed) => &mut indexed.entries,
        }
    }

    /// The entries to change freely (keys, order, removals); the index is rebuilt when the
    /// returned guard is dropped. To change values only, [`Map::values_mut`] is cheaper.
    pub fn entries_mut(&mut self) -> EntriesMut<'_> {
        EntriesMut { map: self }
    }

    fn reindex(&mut self) {
        let entries = std::mem::take(self.entries_in_place());
        *self = Map::from_entries(entries);
    }

    fn position(&self, key: &str) -> Option<usize> {
        match &self.repr {
            Repr::Indexed(indexed) => indexed.index.find(&indexed.entries, key),
            Repr::Scan(entries) => entries.iter().position(|e| e.key == key),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        let position = self.position(key)?;
        Some(&mut self.entries_in_place()[position].value)
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.position(key).map(|p| &self.entries()[p])
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Appends an entry without looking for its key (a repeated key is found at its first
    /// entry); [`Map::insert`] replaces instead.
    pub fn push(&mut self, entry: Entry) {
        match &mut self.repr {
            Repr::Indexed(indexed) => {
                indexed.entries.push(entry);
                let position = indexed.entries.len() - 1;
                indexed.index.add(&indexed.entries, position);
            }
            Repr::Scan(entries) => {
                entries.push(entry);
                if entries.len() > Self::SCAN_LIMIT {
                    self.reindex();
                }
            }
        }
    }

    /// Sets `key`, keeping its position when it already exists.
    pub fn insert(&mut self, key: impl Into<String>, key_span: Span, value: Node) {
        let key = key.into();
        match self.position(&key) {
            Some(position) => self.entries_in_place()[position].value = value,
            None => self.push(Entry {
                key,
                key_span,
                value,
            }),
        }
    }

    /// Sets the entry of `entry.key` to `entry` (its key span too), keeping its position when
    /// the key exists.
    pub fn replace(&mut self, entry: Entry) {
        match self.position(&entry.key) {
            // Same key at the same place: the index holds.
            Some(position) => self.entries_in_place()[position] = entry,
            None => self.push(entry),
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let position = self.position(key)?;
        let removed = self.entries_in_place().remove(position);
        self.reindex();
        Some(removed.value)
    }

    pub fn len(&self) -> usize {
        self.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.entries().iter().map(|e| (e.key.as_str(), &e.value))
    }

    /// Every key with its value to change (keys stay as they are).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Node)> {
        self.entries_in_place()
            .iter_mut()
            .map(|e| (e.key.as_str(), &mut e.value))
    }

    /// The value of the entry at `position`, to change.
    pub fn value_at_mut(&mut self, position: usize) -> Option<&mut Node> {
        self.entries_in_place()
            .get_mut(position)
            .map(|e| &mut e.value)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Node> {
        self.entries_in_place().iter_mut().map(|e| &mut e.value)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries().iter().map(|e| e.key.as_str())
    }
}

/// [`Map::entries_mut`]: the entries as a `Vec`, reindexed when dropped.
pub struct EntriesMut<'a> {
    map: &'a mut Map,
}

impl std::ops::Deref for EntriesMut<'_> {
    type Target = Vec<Entry>;
    fn deref(&self) -> &Vec<Entry> {
        match &self.map.repr {
            Repr::Scan(entries) => entries,
            Repr::Indexed(indexed) => &indexed.entries,
        }
    }
}

impl std::ops::DerefMut for EntriesMut<'_> {
    fn deref_mut(&mut self) -> &mut Vec<Entry> {
        self.map.entries_in_place()
    }
}

impl Drop for EntriesMut<'_> {
    fn drop(&mut self) {
        self.map.reindex();
    }
}

impl From<Vec<Entry>> for Map {
    fn from(entries: Vec<Entry>) -> Map {
        Map::from_entries(entries)
    }
}

/// Equal when the entries are, in order (the index is derived from them).
impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        self.entries() == other.entries()
    }
}

impl std::fmt::Debug for Map {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Map")
            .field("entries", &self.entries())
            .finish()
    }
}

impl Node {
    pub fn new(value: Value, span: Span) -> Self {
        Node { value, span }
    }

    pub fn null(span: Span) -> Self {
        Node::new(Value::Null, span)
    }

    /// Whether `other` is this node written `delta` bytes further on: the same values and
    /// keys, every span moved by `delta` (files aside). A check of one version of a document
    /// can then stand for the other's, its places moved the same way.
    pub fn same_moved(&self, other: &Node, delta: i64) -> bool {
        let moved = |a: Span, b: Span| {
            i64::from(a.start) + delta == i64::from(b.start)
                && i64::from(a.end) + delta == i64::from(b.end)
        };
        if !moved(self.span, other.span) {
            return false;
        }
        match (&self.value, &other.value) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::BigInt(a), Value::BigInt(b)) => a == b,
            // Bit for bit, so a NaN is the same as itself.
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Seq(a), Value::Seq(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.same_moved(b, delta))
            }
            (Value::Map(a), Value::Map(b)) => {
                a.len() == b.len()
                    && a.entries().iter().zip(b.entries()).all(|(a, b)| {
                        a.key == b.key
                            && moved(a.key_span, b.key_span)
                            && a.value.same_moved(&b.value, delta)
                    })
            }
            _ => false,
        }
    }

    pub fn string(s: impl Into<String>, span: Span) -> Self {
        Node::new(Value::Str(s.into()), span)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match &mut self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// Looks up `key` when this node is a map.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.get(key)
    }

    /// The YAML type name used in messages (`string`, `boolean`, `map`, ...).
    pub fn type_name(&self) -> &'static str {
        self.value.type_name()
    }

    /// Number of nodes in this subtree, this one included.
    pub fn size(&self) -> usize {
        1 + match &self.value {
            Value::Seq(items) => items.iter().map(Node::size).sum(),
            Value::Map(m) => m.entries().iter().map(|e| 1 + e.value.size()).sum(),
            _ => 0,
        }
    }
}

impl Value {
    /// An integer: `Int` when it fits in 64 bits, else `BigInt` (SnakeYAML reads a `Long` or,
    /// past 64 bits, a `BigInteger`; never a float).
    pub fn integer(value: BigInt) -> Value {
        match i64::try_from(&value) {
            Ok(v) => Value::Int(v),
            Err(_) => Value::BigInt(value),
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) | Value::BigInt(_) => "integer",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Seq(_) => "sequence",
            Value::Map(_) => "map",
        }
    }

    /// Scalar text as CircleCI renders it inside a string: booleans as `true`/`false`,
    /// numbers in decimal, null as empty. `None` for collections.
    pub fn scalar_text(&self) -> Option<String> {
        Some(match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::BigInt(i) => i.to_string(),
            Value::Float(f) => format_float(*f),
            Value::Str(s) => s.clone(),
            Value::Seq(_) | Value::Map(_) => return None,
        })
    }
}

/// Renders a float the way Java's `Double.toString` does for the values configs use.
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        ".NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        }
    } else if f == f.trunc() && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        let s = format!("{f}");
        if s.contains('e') {
            format!("{f:e}")
        } else {
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orrery_diagnostics::FileId;

    fn span() -> Span {
        Span::new(FileId(0), 0, 0)
    }

    fn entry(key: &str, value: i64) -> Entry {
        Entry {
            key: key.into(),
            key_span: span(),
            value: Node::new(Value::Int(value), span()),
        }
    }

    #[test]
    fn a_small_map_costs_no_more_than_its_entries() {
        // The index of a large map lives out of line: every node of a document pays for the
        // largest value, and most maps are small.
        assert_eq!(size_of::<Map>(), size_of::<Vec<Entry>>());
        assert_eq!(size_of::<Node>(), 48);
    }

    /// Every key answered as a scan of the entries answers it (the first entry of a key).
    fn agrees_with_a_scan(map: &Map, keys: &[String]) {
        assert_eq!(
            matches!(map.repr, Repr::Indexed(_)),
            map.len() > Map::SCAN_LIMIT
        );
        for key in keys {
            let scanned = map.entries().iter().find(|e| &e.key == key);
            assert_eq!(map.entry(key), scanned, "{key}");
            assert_eq!(map.contains_key(key), scanned.is_some(), "{key}");
        }
    }

    #[test]
    fn lookups_agree_with_a_scan_through_every_writer() {
        let keys: Vec<String> = (0..60).map(|i| format!("k{i}")).collect();
        let mut map = Map::new();
        // Past the scan limit by pushes, with repeated keys (the first one wins).
        for (i, key) in keys.iter().take(40).enumerate() {
            map.push(entry(key, i as i64));
            if i % 7 == 0 {
                map.push(entry(key, -(i as i64)));
            }
            agrees_with_a_scan(&map, &keys);
        }
        map.insert("k3", span(), Node::new(Value::Int(300), span()));
        map.insert("k50", span(), Node::new(Value::Int(500), span()));
        assert_eq!(map.get("k3").map(|n| &n.value), Some(&Value::Int(300)));
        assert_eq!(map.get("k50").map(|n| &n.value), Some(&Value::Int(500)));
        agrees_with_a_scan(&map, &keys);
        // Removals shift positions.
        for key in ["k0", "k7", "k7", "k21", "k39"] {
            map.remove(key);
            agrees_with_a_scan(&map, &keys);
        }
        // Free edits: a rename, a reorder, a truncation back under the limit.
        map.entries_mut()[5].key = "k55".into();
        agrees_with_a_scan(&map, &keys);
        map.entries_mut().reverse();
        agrees_with_a_scan(&map, &keys);
        map.entries_mut().truncate(10);
        agrees_with_a_scan(&map, &keys);
        // Built whole, and cloned.
        let big = Map::from_entries((0..30).map(|i| entry(&keys[i % 25], i as i64)).collect());
        agrees_with_a_scan(&big, &keys);
        agrees_with_a_scan(&big.clone(), &keys);
        assert_eq!(big.get("k2").map(|n| &n.value), Some(&Value::Int(2)));
        let mut replaced = big.clone();
        replaced.replace(entry("k2", 99));
        assert_eq!(replaced.entries()[2], entry("k2", 99));
        assert_ne!(replaced, big);
        for value in replaced.values_mut() {
            value.value = Value::Null;
        }
        agrees_with_a_scan(&replaced, &keys);
    }
}
