//! Starts `orrery lsp` for Zed's "CircleCI" language. The binary is `lsp.orrery.binary.path`
//! from Zed's settings, else `orrery` on the worktree's PATH; initialization options and
//! settings come from `lsp.orrery` as well (the JSON shape is in docs/editors.md).

use zed_extension_api::{self as zed, serde_json, settings::LspSettings, LanguageServerId, Result};

const INSTALL_HINT: &str = "orrery was not found on PATH. Install it with \
    `cargo install --locked --path crates/orrery` in an Orrery checkout, or set \
    lsp.orrery.binary.path in Zed's settings.";

struct Orrery;

impl zed::Extension for Orrery {
    fn new() -> Self {
        Orrery
    }

    fn language_server_command(
        &mut self,
        server: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<zed::Command> {
        let binary = LspSettings::for_worktree(server.as_ref(), worktree)?.binary;
        let (path, extra_args) = match binary {
            Some(binary) => (binary.path, binary.arguments.unwrap_or_default()),
            None => (None, Vec::new()),
        };
        let command = path
            .or_else(|| worktree.which("orrery"))
            .ok_or_else(|| INSTALL_HINT.to_string())?;
        let mut args = vec!["lsp".to_string()];
        args.extend(extra_args);
        Ok(zed::Command {
            command,
            args,
            env: worktree.shell_env(),
        })
    }

    fn language_server_initialization_options(
        &mut self,
        server: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<Option<serde_json::Value>> {
        Ok(LspSettings::for_worktree(server.as_ref(), worktree)?.initialization_options)
    }

    fn language_server_workspace_configuration(
        &mut self,
        server: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<Option<serde_json::Value>> {
        let settings = LspSettings::for_worktree(server.as_ref(), worktree)?.settings;
        Ok(settings.map(|orrery| serde_json::json!({ "orrery": orrery })))
    }
}

zed::register_extension!(Orrery);
