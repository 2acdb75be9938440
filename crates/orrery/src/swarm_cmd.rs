//! `orrery swarm`: housekeeping on a Docker Swarm that `orrery run --engine swarm` uses.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use orrery_runtime::docker::socket_from;

use crate::config_cmd;

#[derive(Subcommand)]
pub enum SwarmCommand {
    /// Remove the services, networks and secrets runs left (labelled `orrery.run`), e.g. after
    /// a coordinator crashed. Without --run this removes every run's objects, also a live run's.
    Gc(GcArgs),
}

#[derive(Args)]
pub struct GcArgs {
    /// The swarm manager's Engine API (`unix:///path`; default: DOCKER_HOST, else
    /// /var/run/docker.sock).
    #[arg(long, value_name = "URL")]
    swarm_host: Option<String>,
    /// Only this run's objects.
    #[arg(long, value_name = "ID")]
    run: Option<String>,
    /// How long to wait for tasks to stop and networks to free, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    wait: u64,
}

pub fn run(command: SwarmCommand) -> ExitCode {
    match command {
        SwarmCommand::Gc(args) => gc(args),
    }
}

fn gc(args: GcArgs) -> ExitCode {
    let host = args
        .swarm_host
        .clone()
        .or_else(|| std::env::var("DOCKER_HOST").ok());
    let socket = match socket_from(host.as_deref()) {
        Ok(s) => s,
        Err(e) => return config_cmd::report_usage(&e),
    };
    let removed = match orrery_runtime::swarm::gc(
        &socket,
        args.run.as_deref(),
        Duration::from_secs(args.wait),
    ) {
        Ok(r) => r,
        Err(e) => return config_cmd::report_usage(&e),
    };
    let runs: Vec<&str> = removed.runs.iter().map(String::as_str).collect();
    println!(
        "removed {} services, {} networks, {} secrets{}",
        removed.services,
        removed.networks,
        removed.secrets,
        if runs.is_empty() {
            String::new()
        } else {
            format!(" of runs {}", runs.join(", "))
        }
    );
    for p in &removed.problems {
        eprintln!("error: {p}");
    }
    if removed.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
