//! The Orrery language server: the Language Server Protocol over stdio, on tower-lsp-server.
//!
//! This is the only crate that knows LSP types. It keeps the open documents, converts
//! positions in the negotiated encoding, schedules checks (the newest document version wins:
//! work for an older one is dropped) and translates [`orrery_ide`]'s plain answers. What a
//! document means is asked of a [`Workspace`], which the `orrery` binary implements over the
//! real project (orb store, `.orrery.toml`, git, shellcheck) — the same code path as
//! `orrery config validate`, so both report the same findings.

mod convert;
mod documents;
mod position;
mod server;
mod settings;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use orrery_ide::Analysis;
pub use position::{Encoding, LineMap};
pub use settings::ClientSettings;

/// The project behind the server. Implementations may read files and run local processes;
/// they never touch the network.
pub trait Workspace: Send + Sync + 'static {
    /// Checks `text` as the config at `path` (which may not exist on disk yet). For a file of
    /// a whole (`whole_of`), `others` are the other open files of that whole with their text
    /// as it is in the editor, saved or not: the whole is read with them in place.
    fn analyze(&self, path: &Path, text: &str, others: &[OpenText]) -> Analysis;

    /// The editor's settings changed (or arrived with `initialize`); the answer lists what
    /// is wrong with them, in sentences for the user. Documents are checked again after it.
    fn configure(&self, _settings: &ClientSettings) -> Vec<String> {
        Vec::new()
    }

    /// The whole the document at `path` is one file of (an orb source directory, a split
    /// config directory): each file is checked as part of the whole, so when one of them is
    /// edited (or opened or closed with a text other than the one on disk) the other open
    /// files of it are checked again.
    fn whole_of(&self, _path: &Path) -> Option<PathBuf> {
        None
    }

    /// Project files changed on disk (`.orrery.toml`, `orbs.lock`, a vendored orb): forget
    /// whatever was remembered about them.
    fn files_changed(&self, _paths: &[&Path]) {}

    /// Runs one of [`COMMANDS`] (`workspace/executeCommand`) for the config at `path`; the
    /// answer is what it printed. Fetching orbs is the one command that may use the network,
    /// and only because the user asked for it.
    fn run_command(
        &self,
        _command: &str,
        _path: &Path,
        _argument: Option<&str>,
    ) -> Result<String, String> {
        Err("this workspace runs no commands".into())
    }
}

/// An open document of a whole, as the editor has it.
#[derive(Clone, Debug)]
pub struct OpenText {
    pub path: PathBuf,
    pub text: Arc<str>,
}

/// The commands the server offers (`workspace/executeCommand`), each taking the config's URI
/// and, for `orrery.runJob`, the job's name.
pub const COMMANDS: &[&str] = &[
    "orrery.fetchOrbs",
    "orrery.lockOrbs",
    "orrery.validateAll",
    "orrery.runJob",
];

/// Serves the protocol on stdin/stdout until the client exits.
pub fn run_stdio(workspace: Arc<dyn Workspace>) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(server::serve(
        tokio::io::stdin(),
        tokio::io::stdout(),
        workspace,
    ));
    Ok(())
}
