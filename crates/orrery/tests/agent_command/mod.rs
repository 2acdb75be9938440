//! How the agent suites start `orrery agent task` against a store on loopback, shared by
//! `tests/agent.rs` and `benches/agent.rs`.

use std::path::Path;
use std::process::{Command, Stdio};

use orrery_runtime::store::{NodeTicket, Store, StoreConfig};

/// A store on a free loopback port, over HTTPS when `tls`.
pub fn loopback(tls: bool) -> StoreConfig {
    StoreConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls,
        names: Vec::new(),
    }
}

/// `orrery agent task` for `ticket`'s node, its home at `home`, its task files in `task_dir`.
pub fn agent_task(store: &Store, ticket: &NodeTicket, home: &Path, task_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_orrery"));
    command
        .args([
            "agent",
            "task",
            "--store",
            store.url(),
            "--node",
            &ticket.id,
        ])
        .arg("--home")
        .arg(home)
        .arg("--task-dir")
        .arg(task_dir)
        .env("ORRERY_STORE_TOKEN", &ticket.token)
        .stdin(Stdio::null());
    command
}
