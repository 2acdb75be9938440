//! What the rules may ask of the world outside the config, without doing I/O themselves.
//!
//! The core stays pure: the CLI and the language server implement [`Host`] over the real
//! project (files on disk, a `shellcheck` process); tests implement it over data. Every method
//! may answer "unknown" (`None`), and rules that need the answer then stay silent.

/// One finding of an external shell linter, positioned inside the script it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShellFinding {
    /// The linter's own code, such as `SC2086`.
    pub code: String,
    /// `error`, `warning`, `info` or `style`, as the linter says.
    pub level: String,
    pub message: String,
    /// 1-based line and column inside the script, and where the finding ends.
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
}

/// A script for the shell linter, with the shell that will run it (such as
/// `/bin/bash -eo pipefail`).
#[derive(Clone, Copy, Debug)]
pub struct ShellScript<'a> {
    pub text: &'a str,
    pub shell: &'a str,
}

/// The project around the config.
pub trait Host {
    /// Whether `path` (relative to the project root, as a job's `checkout` would lay it out)
    /// can exist: `None` when the host does not know the project's files.
    fn path_exists(&self, _path: &str) -> Option<bool> {
        None
    }

    /// Lints `script` for `shell` (the `run` step's shell, such as `/bin/bash -eo pipefail`):
    /// `None` when no shell linter is available.
    fn shellcheck(&self, _script: &str, _shell: &str) -> Option<Vec<ShellFinding>> {
        None
    }

    /// Lints many scripts at once, the findings of each in order: what the rules call, so a
    /// host can answer a whole config with one linter process. By default, one at a time.
    fn shellcheck_all(&self, scripts: &[ShellScript<'_>]) -> Option<Vec<Vec<ShellFinding>>> {
        scripts
            .iter()
            .map(|s| self.shellcheck(s.text, s.shell))
            .collect()
    }
}

/// One script linted through `host`'s [`Host::shellcheck_all`]: the single-script answer of a
/// host that lints in batches.
pub fn shellcheck_one<H: Host + ?Sized>(
    host: &H,
    script: &str,
    shell: &str,
) -> Option<Vec<ShellFinding>> {
    host.shellcheck_all(&[ShellScript {
        text: script,
        shell,
    }])?
    .pop()
}

/// A host that knows nothing: rules that need the outside world stay silent.
pub struct NoHost;

impl Host for NoHost {}
