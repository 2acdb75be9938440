//! The open documents: their text, version, and the newest finished check.
//!
//! Every edit bumps a document's *generation*, and so does a re-check with the text unchanged
//! (another file of its whole was edited, project files changed). A check records the
//! generation it started from; a check that finishes after a newer generation is thrown away,
//! and one that has not started yet when a newer generation arrives is never started. Requests
//! wait for the check of the generation they were asked against (or a newer one of the same
//! text), and answer "content modified" when the document's text changed meanwhile (their
//! positions no longer mean anything).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use orrery_ide::Analysis;
use tokio::sync::watch;
use tower_lsp_server::ls_types::{Position, TextDocumentContentChangeEvent, Uri};

use crate::position::{Encoding, LineMap};
use crate::OpenText;

/// One checked version of a document.
pub struct Snapshot {
    pub generation: u64,
    /// The generation of the edit that made the checked text.
    pub edited: u64,
    pub analysis: Analysis,
    pub lines: LineMap,
}

impl Snapshot {
    /// The byte offset of `position` in the checked text, on a character boundary.
    pub fn offset(&self, position: Position) -> u32 {
        let text = self.analysis.text();
        snap(text, self.lines.offset(position)) as u32
    }
}

struct Document {
    path: PathBuf,
    /// The whole (orb source tree, split config) the document is a file of.
    whole: Option<PathBuf>,
    text: Arc<str>,
    version: i32,
    generation: u64,
    /// The generation of the edit that made `text` (≤ `generation`).
    edited: u64,
    checked: watch::Sender<Option<Arc<Snapshot>>>,
    /// The newest check whose text parsed: completion takes names from it while the user
    /// types something that does not parse yet.
    parsed: Option<Arc<Snapshot>>,
}

/// Older checks of a document that a newer one replaced.
pub struct Replaced {
    _snapshots: Vec<Arc<Snapshot>>,
}

/// What a check needs: the document as it was at `generation`.
pub struct Pending {
    pub uri: Uri,
    pub path: PathBuf,
    pub whole: Option<PathBuf>,
    pub text: Arc<str>,
    pub version: i32,
    pub generation: u64,
    pub edited: u64,
}

impl Pending {
    fn of(uri: Uri, doc: &Document) -> Pending {
        Pending {
            uri,
            path: doc.path.clone(),
            whole: doc.whole.clone(),
            text: doc.text.clone(),
            version: doc.version,
            generation: doc.generation,
            edited: doc.edited,
        }
    }
}

/// A document that was closed: what the other files of its whole may have read.
pub struct Closed {
    pub path: PathBuf,
    pub whole: Option<PathBuf>,
    pub text: Arc<str>,
}

#[derive(Default)]
pub struct Documents {
    open: Mutex<HashMap<String, Document>>,
    next_generation: std::sync::atomic::AtomicU64,
}

/// Why a request cannot be answered from a snapshot.
pub enum NotReady {
    /// The document is not open.
    Closed,
    /// The document changed after the request was made.
    Modified,
}

impl Documents {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Document>> {
        // A panic elsewhere cannot leave the map half-written (every update is one insert or
        // one field assignment), so a poisoned lock is still good.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn generation(&self) -> u64 {
        self.next_generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1
    }

    pub fn open(
        &self,
        uri: &Uri,
        path: PathBuf,
        whole: Option<PathBuf>,
        text: String,
        version: i32,
    ) -> Pending {
        let generation = self.generation();
        let mut open = self.lock();
        let (checked, parsed) = match open.remove(uri.as_str()) {
            Some(old) => (old.checked, old.parsed),
            None => (watch::channel(None).0, None),
        };
        let doc = Document {
            path,
            whole,
            text: text.into(),
            version,
            generation,
            edited: generation,
            checked,
            parsed,
        };
        let pending = Pending::of(uri.clone(), &doc);
        open.insert(uri.as_str().to_string(), doc);
        pending
    }

    /// Applies edits (whole-text or ranged, in the client's encoding) in order.
    pub fn change(
        &self,
        uri: &Uri,
        version: i32,
        changes: Vec<TextDocumentContentChangeEvent>,
        encoding: Encoding,
    ) -> Option<Pending> {
        let generation = self.generation();
        let mut open = self.lock();
        let doc = open.get_mut(uri.as_str())?;
        let mut text = doc.text.to_string();
        for change in changes {
            match change.range {
                None => text = change.text,
                Some(range) => {
                    let lines = LineMap::new(&text, encoding);
                    let start = snap(&text, lines.offset(range.start));
                    let end = snap(&text, lines.offset(range.end)).max(start);
                    text.replace_range(start..end, &change.text);
                }
            }
        }
        doc.text = text.into();
        doc.version = version;
        doc.generation = generation;
        doc.edited = generation;
        Some(Pending::of(uri.clone(), doc))
    }

    pub fn close(&self, uri: &Uri) -> Option<Closed> {
        let doc = self.lock().remove(uri.as_str())?;
        Some(Closed {
            path: doc.path,
            whole: doc.whole,
            text: doc.text,
        })
    }

    /// Whether `generation` is still the document's newest.
    pub fn is_current(&self, uri: &Uri, generation: u64) -> bool {
        self.lock()
            .get(uri.as_str())
            .is_some_and(|d| d.generation == generation)
    }

    /// Records a finished check, returning the checks it replaces; `None` (and nothing
    /// recorded) when the document moved on. Freeing a large document's analysis takes a while:
    /// the caller drops what was replaced after publishing the new diagnostics.
    pub fn finish(&self, uri: &Uri, snapshot: Arc<Snapshot>) -> Option<Replaced> {
        let mut open = self.lock();
        match open.get_mut(uri.as_str()) {
            Some(doc) if doc.generation == snapshot.generation => {
                let mut replaced = Vec::new();
                if snapshot.analysis.parsed().root.is_some() {
                    replaced.extend(doc.parsed.replace(snapshot.clone()));
                }
                replaced.extend(doc.checked.send_replace(Some(snapshot)));
                Some(Replaced {
                    _snapshots: replaced,
                })
            }
            _ => None,
        }
    }

    /// Gives the open documents `pick` picks a new generation (their text unchanged), so
    /// checks of what they read before are dropped; returns them for checking.
    fn touch_where(&self, pick: impl Fn(&Document) -> bool) -> Vec<Pending> {
        let mut touched = Vec::new();
        let mut open = self.lock();
        for (uri, doc) in open.iter_mut().filter(|(_, doc)| pick(doc)) {
            doc.generation = self.generation();
            if let Ok(uri) = uri.parse() {
                touched.push(Pending::of(uri, doc));
            }
        }
        touched.sort_by(|a, b| a.uri.as_str().cmp(b.uri.as_str()));
        touched
    }

    /// Every open document with a new generation, after project files changed.
    pub fn touch_all(&self) -> Vec<Pending> {
        self.touch_where(|_| true)
    }

    /// The open files of `whole` except the one at `path` with a new generation, after that
    /// one changed; they are checked with its new text.
    pub fn touch_others(&self, whole: &Path, path: &Path) -> Vec<Pending> {
        self.touch_where(|doc| doc.path != path && doc.whole.as_deref() == Some(whole))
    }

    /// The open files of `whole` except the one at `path`, as the editor has them now.
    pub fn others(&self, whole: &Path, path: &Path) -> Vec<OpenText> {
        let open = self.lock();
        let mut others: Vec<OpenText> = open
            .values()
            .filter(|doc| doc.path != path && doc.whole.as_deref() == Some(whole))
            .map(|doc| OpenText {
                path: doc.path.clone(),
                text: doc.text.clone(),
            })
            .collect();
        others.sort_by(|a, b| a.path.cmp(&b.path));
        others
    }

    /// The document's text now, and the newest check to take names from (the newest that
    /// parsed, else the newest).
    pub fn for_completion(&self, uri: &Uri) -> Option<(Arc<str>, Arc<Snapshot>)> {
        let open = self.lock();
        let doc = open.get(uri.as_str())?;
        let names = doc
            .parsed
            .clone()
            .or_else(|| doc.checked.borrow().clone())?;
        Some((doc.text.clone(), names))
    }

    /// The newest finished check of every open document.
    pub fn checked(&self) -> Vec<(Uri, Arc<Snapshot>)> {
        let open = self.lock();
        let mut all: Vec<(Uri, Arc<Snapshot>)> = open
            .iter()
            .filter_map(|(uri, doc)| Some((uri.parse().ok()?, doc.checked.borrow().clone()?)))
            .collect();
        all.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        all
    }

    /// The check of the document as it is now, waiting for it when it is still running. A
    /// newer check of the same text answers too (the document was checked again because
    /// something it reads changed; positions in it still mean the same).
    pub async fn current(&self, uri: &Uri) -> Result<Arc<Snapshot>, NotReady> {
        let (generation, edited, mut checked) = {
            let open = self.lock();
            let doc = open.get(uri.as_str()).ok_or(NotReady::Closed)?;
            (doc.generation, doc.edited, doc.checked.subscribe())
        };
        loop {
            if let Some(snapshot) = checked.borrow_and_update().clone() {
                if snapshot.generation >= generation {
                    return match snapshot.edited == edited {
                        true => Ok(snapshot),
                        false => Err(NotReady::Modified),
                    };
                }
            }
            let text_unchanged = self
                .lock()
                .get(uri.as_str())
                .is_some_and(|d| d.edited == edited);
            if !text_unchanged {
                // A newer edit superseded the check this request waits for.
                return Err(NotReady::Modified);
            }
            if checked.changed().await.is_err() {
                return Err(NotReady::Closed);
            }
        }
    }
}

/// `offset` moved back to a character boundary of `text`.
fn snap(text: &str, offset: u32) -> usize {
    let mut offset = (offset as usize).min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}
