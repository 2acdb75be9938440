//! `orrery swarm gc`: removes the services, networks and secrets labelled `orrery.run` (all
//! runs', or one run's) from a swarm, in the order the daemon allows: services first, then — once
//! their tasks are gone — networks (which refuse while endpoints remain), then secrets.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::query_parameters::{
    ListNetworksOptions, ListSecretsOptions, ListServicesOptions, ListTasksOptions,
};

use crate::docker::client::{describe, is_not_found, Client};
use crate::docker::LABEL_RUN;

/// What [`gc`] removed, and what it could not.
#[derive(Debug, Default)]
pub struct Removed {
    /// The run ids whose objects were found.
    pub runs: BTreeSet<String>,
    pub services: usize,
    pub networks: usize,
    pub secrets: usize,
    pub problems: Vec<String>,
}

/// The ids of the swarm's nodes that are not ready.
async fn down_nodes(docker: &bollard::Docker) -> Vec<String> {
    use bollard::models::NodeState;
    docker
        .list_nodes(None)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|n| {
            n.status
                .as_ref()
                .and_then(|s| s.state)
                .is_some_and(|s| s != NodeState::READY)
        })
        .filter_map(|n| n.id)
        .collect()
}

fn note_run(labels: Option<&HashMap<String, String>>, removed: &mut Removed) {
    if let Some(id) = labels.and_then(|l| l.get(LABEL_RUN)) {
        removed.runs.insert(id.clone());
    }
}

/// Removes what runs left on the swarm whose manager answers on `socket`: every run's objects,
/// or only `run`'s. Waits up to `wait` for tasks to stop and networks to free.
pub fn gc(socket: &Path, run: Option<&str>, wait: Duration) -> Result<Removed, String> {
    let client = Client::connect(socket)?;
    let label = match run {
        Some(id) => format!("{LABEL_RUN}={id}"),
        None => LABEL_RUN.to_string(),
    };
    client.block_on(remove_labelled(&client.docker, &label, wait))
}

/// Removes the services, then (once their tasks are gone) the networks, then the secrets that
/// carry `label` (`KEY` or `KEY=VALUE`); waits up to `wait` for tasks and networks.
pub(crate) async fn remove_labelled(
    docker: &bollard::Docker,
    label: &str,
    wait: Duration,
) -> Result<Removed, String> {
    let by_label = HashMap::from([("label".to_string(), vec![label.to_string()])]);
    let deadline = Instant::now() + wait;
    let mut removed = Removed::default();
    {
        let services = docker
            .list_services(Some(ListServicesOptions {
                filters: Some(by_label.clone()),
                status: None,
            }))
            .await
            .map_err(|e| format!("cannot list the swarm's services: {}", describe(&e)))?;
        let mut ids = Vec::new();
        for service in &services {
            if let Some(id) = &service.id {
                ids.push(id.clone());
            }
        }
        // The tasks, listed before their services go: a filter by service finds nothing once
        // the service is removed, while its tasks stay until their containers have stopped.
        let tasks: Vec<String> = if ids.is_empty() {
            Vec::new()
        } else {
            docker
                .list_tasks(Some(ListTasksOptions {
                    filters: Some(HashMap::from([("service".to_string(), ids.clone())])),
                }))
                .await
                .map_err(|e| format!("cannot list the swarm's tasks: {}", describe(&e)))?
                .into_iter()
                .filter_map(|t| t.id)
                .collect()
        };
        for service in services {
            let Some(id) = service.id else { continue };
            note_run(
                service.spec.as_ref().and_then(|s| s.labels.as_ref()),
                &mut removed,
            );
            match docker.delete_service(&id).await {
                Ok(()) => removed.services += 1,
                Err(e) if is_not_found(&e) => {}
                Err(e) => removed
                    .problems
                    .push(format!("service {id}: {}", describe(&e))),
            }
        }
        // Tasks on a node that is down stay until it is back: not waited for.
        let mut stranded = 0;
        while !tasks.is_empty() {
            let left = docker
                .list_tasks(Some(ListTasksOptions {
                    filters: Some(HashMap::from([("id".to_string(), tasks.clone())])),
                }))
                .await
                .unwrap_or_default();
            if left.is_empty() {
                break;
            }
            let down = down_nodes(docker).await;
            stranded = left
                .iter()
                .filter(|t| t.node_id.as_ref().is_some_and(|n| down.contains(n)))
                .count();
            if stranded == left.len() {
                removed.problems.push(format!(
                    "{stranded} tasks are on swarm nodes that are down; `orrery swarm gc` removes them once the nodes are back"
                ));
                break;
            }
            if Instant::now() > deadline {
                removed.problems.push(format!(
                    "{} tasks of removed services were still there after {wait:?}",
                    left.len()
                ));
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }

        let networks = docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(by_label.clone()),
            }))
            .await
            .map_err(|e| format!("cannot list the swarm's networks: {}", describe(&e)))?;
        for network in networks {
            let Some(id) = network.id else { continue };
            note_run(network.labels.as_ref(), &mut removed);
            // A network refuses removal while a stopping task still has an endpoint on it.
            loop {
                match docker.remove_network(&id).await {
                    Ok(()) => {
                        removed.networks += 1;
                        break;
                    }
                    Err(e) if is_not_found(&e) => break,
                    // Still used by a task on a node that is down: it stays until gc.
                    Err(e) if Instant::now() > deadline || stranded > 0 => {
                        removed
                            .problems
                            .push(format!("network {id}: {}", describe(&e)));
                        break;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
                }
            }
        }

        let secrets = docker
            .list_secrets(Some(ListSecretsOptions {
                filters: Some(by_label.clone()),
            }))
            .await
            .map_err(|e| format!("cannot list the swarm's secrets: {}", describe(&e)))?;
        for secret in secrets {
            let Some(id) = secret.id else { continue };
            note_run(
                secret.spec.as_ref().and_then(|s| s.labels.as_ref()),
                &mut removed,
            );
            match docker.delete_secret(&id).await {
                Ok(()) => removed.secrets += 1,
                Err(e) if is_not_found(&e) => {}
                Err(e) => removed
                    .problems
                    .push(format!("secret {id}: {}", describe(&e))),
            }
        }
    }
    Ok(removed)
}
