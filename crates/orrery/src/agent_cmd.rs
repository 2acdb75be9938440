//! `orrery agent task`: runs one job node of a coordinator's run where this process runs (inside
//! the job's container on a cluster), talking to the coordinator's store.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use orrery_runtime::agent::{self, AgentEnd, AgentOptions, EXIT_STORE_LOST};
use orrery_runtime::store::client::{StoreAddress, StoreClient};
use orrery_runtime::Status;

#[derive(Subcommand)]
pub enum AgentCommand {
    /// Run one job node here: its task, checkout, caches and workspace come from the
    /// coordinator's store; its log (also printed), caches, workspace layers, artifacts, test
    /// results and outcome go back. Exits 0 when the job succeeded, 1 when it failed, 130 when
    /// the run canceled it, 3 when the store stopped answering, 2 when nothing could run.
    Task(TaskArgs),
    /// Report the TCP ports this container listens on for other hosts (from /proc/net/tcp and
    /// tcp6) to the coordinator's store, as service SERVICE of a node: a cluster engine runs it
    /// as a service container's health check, so that the node's agent relays those ports
    /// from `localhost`. Always exits 0 (a failed report must not stop the service).
    Ports(PortsArgs),
}

#[derive(Args)]
pub struct PortsArgs {
    /// The store (`http://HOST:PORT` on loopback, else `https://…`).
    #[arg(long, value_name = "URL")]
    store: String,
    /// The node's id in the store.
    #[arg(long, value_name = "ID")]
    node: String,
    /// The service's host name among the node's services (`service-1`, …).
    #[arg(long, value_name = "HOST")]
    service: String,
    /// A file holding the node's service token (e.g. a swarm secret).
    #[arg(long, value_name = "FILE")]
    token_file: PathBuf,
    /// The run's CA certificate (PEM) for an HTTPS store.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
}

#[derive(Args)]
pub struct TaskArgs {
    /// The store (`http://HOST:PORT` on loopback, else `https://…`); default: ORRERY_STORE.
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// The node's id in the store; default: ORRERY_NODE.
    #[arg(long, value_name = "ID")]
    node: Option<String>,
    /// The node's token (visible to other users in the process list: prefer --token-file or
    /// ORRERY_STORE_TOKEN).
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// A file holding the node's token (e.g. a swarm secret).
    #[arg(long, value_name = "FILE", conflicts_with = "token")]
    token_file: Option<PathBuf>,
    /// The run's CA certificate (PEM) for an HTTPS store; default: ORRERY_STORE_CA.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// `~` for the steps (default: HOME).
    #[arg(long, value_name = "DIR")]
    home: Option<PathBuf>,
    /// Where the runner's private directory (step scripts, BASH_ENV; removed at the end) is
    /// made (default: the system's temporary directory).
    #[arg(long, value_name = "DIR")]
    task_dir: Option<PathBuf>,
    /// A directory holding `circleci` and `circleci-agent` for the steps (default: links to
    /// this binary in the task directory).
    #[arg(long, value_name = "DIR")]
    helpers: Option<PathBuf>,
    /// Relay 127.0.0.1:LOCAL_PORT to HOST:PORT (a service container elsewhere), repeatable.
    #[arg(long, value_name = "LOCAL_PORT=HOST:PORT")]
    forward: Vec<String>,
    /// A service container reachable as HOST that reports its ports to the store (`orrery agent
    /// ports`): each is relayed from localhost, and the steps wait for its first report (at
    /// most 90 s). Repeatable.
    #[arg(long, value_name = "HOST")]
    relay_service: Vec<String>,
    /// The primary image's own process (entrypoint and command), started beside the steps.
    #[arg(last = true, value_name = "PROGRAM ARGS")]
    primary_process: Vec<String>,
    /// Stop the job and exit when the store has not answered for this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    dead_man: u64,
}

pub fn run(command: AgentCommand) -> ExitCode {
    match command {
        AgentCommand::Task(args) => match task(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("orrery agent: {e}");
                ExitCode::from(2)
            }
        },
        AgentCommand::Ports(args) => {
            if let Err(e) = report_ports(&args) {
                eprintln!("orrery agent ports: {e}");
            }
            ExitCode::SUCCESS
        }
    }
}

fn report_ports(args: &PortsArgs) -> Result<(), String> {
    let read = |file: &std::path::Path| {
        std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))
    };
    let mut ports: Vec<u16> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        // A container without IPv6 has no tcp6.
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| orrery_runtime::forward::listening_ports(&text))
        .collect();
    ports.sort_unstable();
    ports.dedup();
    let address = StoreAddress {
        url: args.store.clone(),
        node: args.node.clone(),
        token: read(&args.token_file)?.trim().to_string(),
        ca_pem: args.ca.as_deref().map(read).transpose()?,
    };
    let client = StoreClient::new(&address, Duration::from_secs(5))?;
    client.report_ports(&args.service, &ports)
}

fn setting(flag: Option<String>, variable: &str, what: &str) -> Result<String, String> {
    flag.or_else(|| std::env::var(variable).ok())
        .filter(|v| !v.is_empty())
        .ok_or(format!(
            "no {what}: pass it with its flag or set {variable}"
        ))
}

fn task(args: TaskArgs) -> Result<ExitCode, String> {
    let url = setting(args.store, "ORRERY_STORE", "store URL")?;
    let node = setting(args.node, "ORRERY_NODE", "node id")?;
    let token = match &args.token_file {
        Some(file) => std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?
            .trim()
            .to_string(),
        None => setting(args.token, "ORRERY_STORE_TOKEN", "token")?,
    };
    let ca = args
        .ca
        .or_else(|| std::env::var_os("ORRERY_STORE_CA").map(PathBuf::from));
    let ca_pem = match ca {
        Some(file) => Some(
            std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?,
        ),
        None => None,
    };
    let home = args
        .home
        .or_else(|| std::env::var_os("HOME").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/root"));
    let task_dir = args
        .task_dir
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("orrery-task-{}", std::process::id()));
    let options = AgentOptions {
        address: StoreAddress {
            url,
            node,
            token,
            ca_pem,
        },
        home,
        task_dir,
        dead_man: Duration::from_secs(args.dead_man.max(1)),
        stop: stop_on_signals(),
        helpers: args.helpers,
        forwards: args
            .forward
            .iter()
            .map(|f| orrery_runtime::forward::Forward::parse(f))
            .collect::<Result<_, _>>()?,
        relay_services: args.relay_service,
        primary_process: args.primary_process,
    };
    Ok(match agent::run(&options)? {
        AgentEnd::Finished(Status::Success) => ExitCode::SUCCESS,
        AgentEnd::Finished(Status::Canceled) => ExitCode::from(130),
        AgentEnd::Finished(_) => ExitCode::from(1),
        AgentEnd::StoreLost => ExitCode::from(EXIT_STORE_LOST as u8),
    })
}

/// A flag set by SIGINT, SIGTERM or SIGHUP: the steps are canceled as a canceled run's are, so
/// none outlives the agent.
fn stop_on_signals() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        let _ = signal_hook::flag::register(signal, stop.clone());
    }
    stop
}
