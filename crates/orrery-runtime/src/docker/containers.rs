//! A job node's containers: the primary, which owns the network namespace (created first,
//! removed last), and the service containers, which join it, so that every service is
//! reachable from the primary on `localhost` and by its `name:` (an `/etc/hosts` entry of the
//! owner, which joiners share). Images are pulled only when missing. Everything carries the
//! run's labels so that a sweep finds what an interrupted run left.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, ImageInspect};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, ListContainersOptions, RemoveContainerOptions,
};
use futures_util::StreamExt;

use super::client::{describe, is_not_found, Client};
use super::helper::Helper;
use crate::spec::DockerImage;

/// Labels on everything the executor creates.
pub const LABEL_RUN: &str = "orrery.run";
pub const LABEL_JOB: &str = "orrery.job";
pub const LABEL_ROLE: &str = "orrery.role";
/// The process that made the container ([`crate::sweep::Owner`]): once it is gone, a sweep
/// removes the container even when the run's folder is gone too.
pub const LABEL_OWNER: &str = "orrery.owner";
/// An image label with which the primary keeps its own entrypoint (as on CircleCI).
const PRESERVE_ENTRYPOINT: &str = "com.circleci.preserve-entrypoint";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullPolicy {
    /// Pull an image only when the daemon does not have it.
    Missing,
    /// Never pull: a missing image fails the job.
    Never,
}

/// The image's configuration; pulls it first when missing and the policy allows.
pub fn ensure_image(
    client: &Client,
    image: &str,
    pull: PullPolicy,
) -> Result<ImageInspect, String> {
    match client.block_on(client.docker.inspect_image(image)) {
        Ok(i) => return Ok(i),
        Err(e) if !is_not_found(&e) => {
            return Err(format!("cannot inspect image {image}: {}", describe(&e)))
        }
        Err(_) => {}
    }
    if pull == PullPolicy::Never {
        return Err(format!(
            "image {image} is not on this Docker daemon and pulling is off (--pull never); build or load it first (docker build, docker load, docker import)"
        ));
    }
    let reference = with_tag(image);
    let options = CreateImageOptions {
        from_image: Some(reference.clone()),
        ..Default::default()
    };
    let pulled: Result<(), String> = client.block_on(async {
        let mut stream = Box::pin(client.docker.create_image(Some(options), None, None));
        while let Some(item) = stream.next().await {
            item.map_err(|e| describe(&e))?;
        }
        Ok(())
    });
    if let Err(e) = pulled {
        return Err(format!(
            "image {image} is not on this Docker daemon and pulling it failed: {e}; build or load it first (docker build, docker load, docker import)"
        ));
    }
    client
        .block_on(client.docker.inspect_image(image))
        .map_err(|e| {
            format!(
                "image {image} was pulled but cannot be inspected: {}",
                describe(&e)
            )
        })
}

/// `name` pulls every tag of a repository; CircleCI means `name:latest`.
fn with_tag(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') || last.contains(':') {
        image.to_string()
    } else {
        format!("{image}:latest")
    }
}

/// A container name segment: Docker allows `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn name_part(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    out.trim_start_matches(['_', '.', '-']).to_string()
}

/// A host name: letters, digits and `-`, at most 63 characters.
fn host_name(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "job".into()
    } else {
        out
    }
}

pub struct JobContainers {
    pub primary: String,
    pub services: Vec<String>,
}

pub struct CreateRequest<'a> {
    pub run_id: &'a str,
    /// `job` or `job/NODE`.
    pub label: &'a str,
    pub images: &'a [DockerImage],
    pub helper: &'a Helper,
    /// The primary's network: `bridge` where the daemon has one, else `none` (loopback only).
    pub network: &'a str,
    pub pull: PullPolicy,
}

fn labels(run_id: &str, label: &str, role: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_RUN.to_string(), run_id.to_string()),
        (LABEL_JOB.to_string(), label.to_string()),
        (LABEL_ROLE.to_string(), role.to_string()),
        (
            LABEL_OWNER.to_string(),
            crate::sweep::Owner::this_process().to_string(),
        ),
    ])
}

fn env_list(env: &[(String, String)]) -> Vec<String> {
    env.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// Whether the primary container runs its image's own process (entrypoint and command) rather
/// than only waiting for the steps: when the image asks for it with its
/// `com.circleci.preserve-entrypoint` label, or the job gives an `entrypoint:` or `command:`.
pub fn keeps_own_process(primary: &DockerImage, inspected: &ImageInspect) -> bool {
    let preserve = inspected
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .and_then(|l| l.get(PRESERVE_ENTRYPOINT))
        .is_some_and(|v| v == "true");
    preserve || primary.entrypoint.is_some() || primary.command.is_some()
}

/// Creates and starts the primary, then the services; on failure removes what it made.
/// `while_starting` prepares the primary's file system while the daemon starts it (the
/// archive API works on a created container); its result comes back with the containers.
pub fn create<T: Send>(
    client: &Client,
    req: &CreateRequest<'_>,
    while_starting: impl FnOnce(&str, &ImageInspect) -> Result<T, String> + Send,
) -> Result<(JobContainers, T), String> {
    let Some(primary) = req.images.first() else {
        return Err("the job's `docker:` list is empty".into());
    };
    let mut inspected = Vec::new();
    for image in req.images {
        inspected.push(ensure_image(client, &image.image, req.pull)?);
    }
    let base = format!("orrery-{}-{}", name_part(req.run_id), name_part(req.label));
    let own_process = keeps_own_process(primary, &inspected[0]);
    let extra_hosts: Vec<String> = req
        .images
        .iter()
        .filter_map(|i| i.name.as_ref())
        .map(|n| format!("{n}:127.0.0.1"))
        .collect();
    let body = ContainerCreateBody {
        image: Some(primary.image.clone()),
        hostname: Some(host_name(req.label)),
        user: primary.user.clone(),
        // The image's `environment:` is for its own process; steps get the job's chain.
        env: own_process.then(|| env_list(&primary.environment)),
        entrypoint: if own_process {
            primary.entrypoint.clone()
        } else {
            Some(req.helper.command(super::inside::SLEEP, &[]))
        },
        cmd: primary.command.clone(),
        labels: Some(labels(req.run_id, req.label, "primary")),
        host_config: Some(HostConfig {
            network_mode: Some(req.network.to_string()),
            extra_hosts: Some(extra_hosts),
            binds: Some(req.helper.binds()),
            init: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let name = format!("{base}-0");
    let primary_id = create_container(client, &name, body)?;
    let primary_image = inspected.swap_remove(0);
    let (started, prepared) = std::thread::scope(|s| {
        let preparing = s.spawn(|| while_starting(&primary_id, &primary_image));
        let started = start_container(client, &name, &primary_id);
        let prepared = preparing
            .join()
            .unwrap_or_else(|_| Err("preparing the container failed".into()));
        (started, prepared)
    });
    started?;
    let prepared = match prepared {
        Ok(p) => p,
        Err(e) => {
            remove(client, std::slice::from_ref(&primary_id));
            return Err(e);
        }
    };
    let mut made = JobContainers {
        primary: primary_id.clone(),
        services: Vec::new(),
    };
    for (i, service) in req.images.iter().enumerate().skip(1) {
        let body = ContainerCreateBody {
            image: Some(service.image.clone()),
            user: service.user.clone(),
            env: Some(env_list(&service.environment)),
            entrypoint: service.entrypoint.clone(),
            cmd: service.command.clone(),
            labels: Some(labels(req.run_id, req.label, "service")),
            host_config: Some(HostConfig {
                network_mode: Some(format!("container:{primary_id}")),
                ..Default::default()
            }),
            ..Default::default()
        };
        match create_and_start(client, &format!("{base}-{i}"), body) {
            Ok(id) => made.services.push(id),
            Err(e) => {
                remove(client, &made.services);
                remove(client, std::slice::from_ref(&made.primary));
                return Err(format!("service container {}: {e}", service.image));
            }
        }
    }
    Ok((made, prepared))
}

fn create_and_start(
    client: &Client,
    name: &str,
    body: ContainerCreateBody,
) -> Result<String, String> {
    let id = create_container(client, name, body)?;
    start_container(client, name, &id)?;
    Ok(id)
}

fn create_container(
    client: &Client,
    name: &str,
    body: ContainerCreateBody,
) -> Result<String, String> {
    let options = CreateContainerOptions {
        name: Some(name.to_string()),
        ..Default::default()
    };
    client
        .block_on(client.docker.create_container(Some(options), body))
        .map(|r| r.id)
        .map_err(|e| format!("cannot create container {name}: {}", describe(&e)))
}

/// Starts a created container; removes it when it cannot start.
fn start_container(client: &Client, name: &str, id: &str) -> Result<(), String> {
    if let Err(e) = client.block_on(client.docker.start_container(id, None)) {
        remove(client, &[id.to_string()]);
        return Err(format!("cannot start container {name}: {}", describe(&e)));
    }
    Ok(())
}

/// Removes containers (killing what runs in them) with their anonymous volumes, in order.
pub fn remove(client: &Client, ids: &[String]) {
    client.block_on(remove_async(client, ids));
}

pub async fn remove_async(client: &Client, ids: &[String]) {
    for id in ids {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        let _ = client.docker.remove_container(id, Some(options)).await;
    }
}

/// Every container of a run still on the daemon.
pub fn of_run(client: &Client, run_id: &str) -> Vec<(String, String)> {
    let options = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([(
            "label".to_string(),
            vec![format!("{LABEL_RUN}={run_id}")],
        )])),
        ..Default::default()
    };
    client
        .block_on(client.docker.list_containers(Some(options)))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| {
            let role = c
                .labels
                .as_ref()?
                .get(LABEL_ROLE)
                .cloned()
                .unwrap_or_default();
            Some((c.id?, role))
        })
        .collect()
}

/// Every run with containers on the daemon that name their owner, as `(run id, owner)`.
pub fn owned_runs(client: &Client) -> Result<Vec<(String, String)>, String> {
    let options = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([(
            "label".to_string(),
            vec![LABEL_RUN.to_string(), LABEL_OWNER.to_string()],
        )])),
        ..Default::default()
    };
    let listed = client
        .block_on(client.docker.list_containers(Some(options)))
        .map_err(|e| describe(&e))?;
    let mut runs: Vec<(String, String)> = listed
        .into_iter()
        .filter_map(|c| {
            let labels = c.labels?;
            Some((
                labels.get(LABEL_RUN)?.clone(),
                labels.get(LABEL_OWNER)?.clone(),
            ))
        })
        .collect();
    runs.sort();
    runs.dedup();
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(with_tag("busybox"), "busybox:latest");
        assert_eq!(with_tag("cimg/base:2024.01"), "cimg/base:2024.01");
        assert_eq!(with_tag("localhost:5000/x"), "localhost:5000/x:latest");
        assert_eq!(with_tag("x@sha256:ab"), "x@sha256:ab");
        assert_eq!(name_part("build/1"), "build-1");
        assert_eq!(host_name("Test_Job/0"), "test-job-0");
    }
}
