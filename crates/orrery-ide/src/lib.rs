//! The analysis behind the language server.
//!
//! Plain data in, plain data out: an [`Analysis`] is built from one checked document (its
//! parse, the compiler's output and every diagnostic `orrery config validate` reports for it),
//! and every editor feature is a pure function over it that answers in byte offsets and
//! [`Span`]s. Nothing here knows the Language Server Protocol (positions in UTF-16, URIs,
//! JSON-RPC): `orrery-lsp` translates. Nothing here does I/O or fails.

mod actions;
mod analysis;
mod codes;
mod complete;
mod decorate;
mod hover;
mod model;
mod navigate;
mod outline;

pub use actions::{Action, ActionKind};
pub use analysis::{Analysis, AnalysisParts, DocumentPart, OrbUse};
pub use codes::{code_tags, CodeTag};
pub use complete::{CompletionItem, CompletionKind};
pub use decorate::{Hint, Link, Token, TokenKind};
pub use hover::HoverInfo;
pub use model::{Definition, Kind, Model, ParamInfo, Reference};
pub use navigate::TextEdit;
pub use outline::Symbol;

pub use orrery_diagnostics::{Diagnostic, FileId, Severity, SourceDb, Span};
