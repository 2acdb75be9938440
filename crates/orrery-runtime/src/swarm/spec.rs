//! The swarm objects of one job node, as Engine API 1.41 values (pure): the primary service
//! running `orrery agent task` in the job's first image, a service per CircleCI service
//! container on the node's overlay network (reachable by its `name:`), restart `none` and
//! `dnsrr` everywhere (the routing mesh needs IPVS), the node's token only as a swarm secret.

use std::collections::HashMap;

use bollard::models::{
    EndpointSpec, EndpointSpecModeEnum, Limit, Mount, MountType, NetworkAttachmentConfig,
    ResourceObject, ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated, TaskSpec,
    TaskSpecContainerSpec, TaskSpecContainerSpecFile, TaskSpecContainerSpecSecrets,
    TaskSpecPlacement, TaskSpecResources, TaskSpecRestartPolicy,
    TaskSpecRestartPolicyConditionEnum,
};

use crate::docker::{LABEL_JOB, LABEL_ROLE, LABEL_RUN};
use crate::resources;
use crate::spec::DockerImage;

/// Labels one node's objects, so that its teardown finds exactly them.
pub const LABEL_NODE: &str = "orrery.node";

/// Where the token secret and the run's CA appear in the primary.
pub const TOKEN_FILE: &str = "/run/secrets/orrery-token";
pub const CA_FILE: &str = "/run/secrets/orrery-ca";

/// A secret the primary mounts: its id, its name, and the file name under `/run/secrets`.
#[derive(Clone, Debug)]
pub struct SecretRef {
    pub id: String,
    pub name: String,
    pub file: String,
}

/// What the primary service of one node is made of.
pub struct Primary<'a> {
    pub name: String,
    pub image: &'a DockerImage,
    pub labels: HashMap<String, String>,
    /// The agent's command line (inside the container).
    pub command: Vec<String>,
    /// Host paths bound read-only into the container: (source, target).
    pub binds: Vec<(String, String)>,
    pub secrets: Vec<SecretRef>,
    pub network: String,
    pub resource_class: Option<&'a str>,
    /// Reservations are this fraction of the class (e.g. a test cluster whose nodes all report
    /// the same host); limits stay the class's.
    pub reserve_scale: f64,
}

/// The labels of every object of node `node` of run `run`.
pub fn labels(run: &str, node: &str, job: &str, role: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_RUN.to_string(), run.to_string()),
        (LABEL_NODE.to_string(), node.to_string()),
        (LABEL_JOB.to_string(), job.to_string()),
        (LABEL_ROLE.to_string(), role.to_string()),
    ])
}

fn one_task(
    container: TaskSpecContainerSpec,
    network: &str,
    aliases: Vec<String>,
    resources: Option<TaskSpecResources>,
    placement: Option<TaskSpecPlacement>,
) -> TaskSpec {
    TaskSpec {
        container_spec: Some(container),
        // A job's task runs once: swarm's default (`any`) would restart failed jobs too.
        restart_policy: Some(TaskSpecRestartPolicy {
            condition: Some(TaskSpecRestartPolicyConditionEnum::NONE),
            ..Default::default()
        }),
        networks: Some(vec![NetworkAttachmentConfig {
            target: Some(network.to_string()),
            aliases: (!aliases.is_empty()).then_some(aliases),
            ..Default::default()
        }]),
        resources,
        placement,
        ..Default::default()
    }
}

fn service(name: String, labels: HashMap<String, String>, task: TaskSpec) -> ServiceSpec {
    ServiceSpec {
        name: Some(name),
        labels: Some(labels),
        task_template: Some(task),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated { replicas: Some(1) }),
            ..Default::default()
        }),
        // No virtual IP: this needs no IPVS, and a job's services are one task each.
        endpoint_spec: Some(EndpointSpec {
            mode: Some(EndpointSpecModeEnum::DNSRR),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn env_list(vars: &[(String, String)]) -> Vec<String> {
    vars.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// CPU and memory of a resource class: reservations scaled by `scale`, limits as they are.
/// `None` for a class this table does not know (the caller says so).
pub fn resources_of(class: &str, scale: f64) -> Option<(TaskSpecResources, bool)> {
    let r = resources::of(class)?;
    let nano = i64::from(r.millicpu) * 1_000_000;
    let bytes = i64::from(r.memory_mb) * 1024 * 1024;
    let scaled = |v: i64| ((v as f64) * scale).round() as i64;
    Some((
        TaskSpecResources {
            limits: Some(Limit {
                nano_cpus: Some(nano),
                memory_bytes: Some(bytes),
                ..Default::default()
            }),
            reservations: Some(ResourceObject {
                nano_cpus: Some(scaled(nano)),
                memory_bytes: Some(scaled(bytes)),
                ..Default::default()
            }),
            ..Default::default()
        },
        r.arm,
    ))
}

/// The primary service: the job's image with the agent as its command (the image's own
/// entrypoint does not run: the agent is the job), the helper bundle bound in, the token and
/// the CA as secret files, resources from the resource class (default `medium`).
pub fn primary(p: &Primary<'_>) -> ServiceSpec {
    let class = p.resource_class.unwrap_or(resources::DEFAULT_CLASS);
    let (resources, arm) = resources_of(class, p.reserve_scale)
        .or_else(|| resources_of(resources::DEFAULT_CLASS, p.reserve_scale))
        .map(|(r, arm)| (Some(r), arm))
        .unwrap_or((None, false));
    let arch = if arm { "aarch64" } else { "x86_64" };
    let container = TaskSpecContainerSpec {
        image: Some(p.image.image.clone()),
        labels: Some(p.labels.clone()),
        command: Some(p.command.clone()),
        user: p.image.user.clone(),
        // Reaps what steps leave behind; the agent stays the job's main process below it.
        init: Some(true),
        stop_grace_period: Some(10_000_000_000),
        mounts: Some(
            p.binds
                .iter()
                .map(|(source, target)| Mount {
                    source: Some(source.clone()),
                    target: Some(target.clone()),
                    typ: Some(MountType::BIND),
                    read_only: Some(true),
                    ..Default::default()
                })
                .collect(),
        ),
        secrets: Some(
            p.secrets
                .iter()
                .map(|s| TaskSpecContainerSpecSecrets {
                    file: Some(TaskSpecContainerSpecFile {
                        name: Some(s.file.clone()),
                        uid: Some("0".into()),
                        gid: Some("0".into()),
                        // The steps' user may be anyone; the container is the job's alone.
                        mode: Some(0o444),
                    }),
                    secret_id: Some(s.id.clone()),
                    secret_name: Some(s.name.clone()),
                })
                .collect(),
        ),
        ..Default::default()
    };
    let placement = TaskSpecPlacement {
        constraints: Some(vec![format!("node.platform.arch=={arch}")]),
        ..Default::default()
    };
    service(
        p.name.clone(),
        p.labels.clone(),
        one_task(
            container,
            &p.network,
            Vec::new(),
            resources,
            Some(placement),
        ),
    )
}

/// A CircleCI service container as a service of its own on the node's network: its
/// entrypoint, command, user and environment; reachable by `aliases` (its `name:`, and the
/// name the agent's forwarder uses).
pub fn sidecar(
    name: String,
    image: &DockerImage,
    labels: HashMap<String, String>,
    network: &str,
    aliases: Vec<String>,
) -> ServiceSpec {
    let container = TaskSpecContainerSpec {
        image: Some(image.image.clone()),
        labels: Some(labels.clone()),
        // Swarm's `Command` is the entrypoint, `Args` the command.
        command: image.entrypoint.clone(),
        args: image.command.clone(),
        user: image.user.clone(),
        env: Some(env_list(&image.environment)),
        stop_grace_period: Some(2_000_000_000),
        ..Default::default()
    };
    service(
        name,
        labels,
        one_task(container, network, aliases, None, None),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> DockerImage {
        DockerImage {
            image: "busybox:1".into(),
            user: Some("circleci".into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_primary_runs_the_agent_with_its_secret_files_and_resources() {
        let image = image();
        let spec = primary(&Primary {
            name: "orrery-r-0".into(),
            image: &image,
            labels: labels("r", "r/0", "build", "primary"),
            command: vec!["/.orrery-exe".into(), "agent".into(), "task".into()],
            binds: vec![("/host/helper".into(), "/.orrery".into())],
            secrets: vec![SecretRef {
                id: "sid".into(),
                name: "orrery-r-0-token".into(),
                file: "orrery-token".into(),
            }],
            network: "net".into(),
            resource_class: Some("small"),
            reserve_scale: 0.5,
        });
        let text = serde_json::to_string(&spec).unwrap();
        assert!(text.contains("\"Condition\":\"none\""), "{text}");
        assert!(text.contains("\"Mode\":\"dnsrr\""), "{text}");
        let task = spec.task_template.unwrap();
        let resources = task.resources.unwrap();
        assert_eq!(resources.limits.unwrap().nano_cpus, Some(1_000_000_000));
        assert_eq!(resources.reservations.unwrap().nano_cpus, Some(500_000_000));
        let container = task.container_spec.unwrap();
        assert_eq!(container.user.as_deref(), Some("circleci"));
        assert_eq!(container.labels.unwrap()[LABEL_RUN], "r");
        assert_eq!(
            container.secrets.unwrap()[0].secret_name.as_deref(),
            Some("orrery-r-0-token")
        );
        assert_eq!(
            task.placement.unwrap().constraints.unwrap(),
            ["node.platform.arch==x86_64"]
        );
        // An unknown class falls back to the default's resources.
        assert!(resources_of("gpu.nvidia.small", 1.0).is_none());
        assert!(resources_of("arm.medium", 1.0).unwrap().1);
    }

    #[test]
    fn a_sidecar_answers_to_its_name_and_keeps_its_own_process() {
        let image = DockerImage {
            image: "postgres:16".into(),
            name: Some("db".into()),
            entrypoint: Some(vec!["sh".into(), "-c".into()]),
            command: Some(vec!["exec postgres".into()]),
            environment: vec![("POSTGRES_PASSWORD".into(), "x".into())],
            ..Default::default()
        };
        let spec = sidecar(
            "s".into(),
            &image,
            labels("r", "r/0", "j", "service"),
            "net",
            vec!["db".into(), "service-1".into()],
        );
        let task = spec.task_template.unwrap();
        let network = &task.networks.unwrap()[0];
        assert_eq!(network.aliases.clone().unwrap(), ["db", "service-1"]);
        let c = task.container_spec.unwrap();
        assert_eq!(c.command.unwrap(), ["sh", "-c"]);
        assert_eq!(c.args.unwrap(), ["exec postgres"]);
        assert_eq!(c.env.unwrap(), ["POSTGRES_PASSWORD=x"]);
    }
}
