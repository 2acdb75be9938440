//! The `orrery` command line. Wiring only: reading files, flags and git, printing results.

mod config_cmd;
mod git;
mod orb_cmd;
mod orb_file;
mod pack_cmd;
// The validator's host; `config validate` will use it.
#[allow(dead_code)]
mod project_host;
mod publish_cmd;
mod remote;
mod store;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "orrery",
    version,
    about = "Offline toolchain for CircleCI configuration"
)]
struct Cli {
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Config(c) => config_cmd::run(c),
        Command::Orb(c) => orb_cmd::run(c),
    }
}
