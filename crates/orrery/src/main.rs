//! The `orrery` command line. Wiring only: reading files, flags and git, printing results.

mod agent_cmd;
mod config_cmd;
mod docs_cmd;
mod export_cmd;
mod git;
mod helper_cmd;
mod lsp_cmd;
mod lsp_parts;
mod orb_cmd;
mod orb_file;
mod pack_cmd;
mod project_host;
mod publish_cmd;
mod remote;
mod run_cmd;
mod shellcheck;
mod store;
mod swarm_cmd;
mod validate_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "orrery",
    version,
    about = "Offline toolchain for CircleCI configuration"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile and check configs, as `circleci config ...` does, offline.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Orbs: the store, the lockfile, packing and publishing.
    #[command(subcommand)]
    Orb(orb_cmd::OrbCommand),
    /// Run a workflow's jobs locally (on the host, or in containers on the local Docker daemon).
    Run(Box<run_cmd::RunArgs>),
    /// Write the planned run for another engine: an Argo Workflow, Kubernetes Jobs, Nomad
    /// jobs, or plan.json for external drivers.
    Export(Box<export_cmd::ExportArgs>),
    /// Housekeeping on a Docker Swarm that runs use.
    #[command(subcommand)]
    Swarm(swarm_cmd::SwarmCommand),
    /// The agent that runs a job node for a coordinator elsewhere (inside the job's container).
    #[command(subcommand)]
    Agent(agent_cmd::AgentCommand),
    /// Serve the language server protocol on stdin/stdout (diagnostics, hover, completion, ...).
    Lsp(lsp_cmd::LspArgs),
    /// Print a shell completion script (bash, zsh, fish), generated from these commands.
    Completions(docs_cmd::CompletionsArgs),
    /// Print the man page, or write one per command with `--dir DIR`.
    Man(docs_cmd::ManArgs),
}

fn main() -> ExitCode {
    // Inside jobs this binary is also the `circleci` / `circleci-agent` helper.
    if let Some(code) = helper_cmd::dispatch() {
        return code;
    }
    // As `Cli::parse()`, but clap's command tree is never freed: the process ends soon, and
    // dropping the tree was a tenth of the instructions of a small `config validate`.
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut matches = command.get_matches_mut();
    let cli = <Cli as clap::FromArgMatches>::from_arg_matches_mut(&mut matches)
        .unwrap_or_else(|e| e.format(&mut command).exit());
    std::mem::forget(command);
    match cli.command {
        Command::Config(c) => config_cmd::run(c),
        Command::Orb(c) => orb_cmd::run(c),
        Command::Run(args) => run_cmd::run(*args),
        Command::Export(args) => export_cmd::run(*args),
        Command::Swarm(c) => swarm_cmd::run(c),
        Command::Agent(c) => agent_cmd::run(c),
        Command::Lsp(args) => lsp_cmd::run(args),
        Command::Completions(args) => docs_cmd::completions(args),
        Command::Man(args) => docs_cmd::man(args),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// `--help` explains every option and argument of every subcommand.
    #[test]
    fn every_option_has_help_text() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if arg.is_hide_set() || id == "help" || id == "version" {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "orrery", &mut missing);
        assert!(
            missing.is_empty(),
            "options without help text: {missing:#?}"
        );
    }
}
