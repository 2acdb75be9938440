//! `orrery completions SHELL` and `orrery man`: shell completion scripts and man pages generated
//! from the clap definition, so they never drift from the flags.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory};

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh or fish (elvish and powershell work too).
    pub shell: clap_complete::Shell,
}

#[derive(Args)]
pub struct ManArgs {
    /// Write a page per command (`orrery.1`, `orrery-config-process.1`, …) into DIR instead of
    /// printing `orrery(1)`.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Prints the completion script: e.g. `orrery completions bash > ~/.local/share/bash-completion/completions/orrery`.
pub fn completions(args: CompletionsArgs) -> ExitCode {
    let mut command = crate::Cli::command();
    clap_complete::generate(args.shell, &mut command, "orrery", &mut std::io::stdout());
    ExitCode::SUCCESS
}

pub fn man(args: ManArgs) -> ExitCode {
    let command = crate::Cli::command();
    let written = match &args.dir {
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(command, dir))
            .map_err(|e| format!("cannot write the man pages into {}: {e}", dir.display())),
        None => clap_mangen::Man::new(command)
            .render(&mut std::io::stdout())
            .map_err(|e| format!("cannot print the man page: {e}")),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
