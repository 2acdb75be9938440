//! The swarm objects of one job node, as Engine API 1.41 values (pure): the primary service
//! running `orrery agent task` in the job's first image, a service per CircleCI service
//! container on the node's overlay network (reachable by its `name:`), restart `none` and
//! `dnsrr` everywhere (the routing mesh needs IPVS), the node's token only as a swarm secret.
//! A service container's health check reports the ports it listens on (`orrery agent ports`),
//! so that the agent relays them from `localhost`.

use std::collections::HashMap;

use bollard::models::{
    EndpointSpec, EndpointSpecModeEnum, HealthConfig, ImageConfig, Limit, Mount, MountType,
    NetworkAttachmentConfig, ResourceObject, ServiceSpec, ServiceSpecMode,
    ServiceSpecModeReplicated, TaskSpec, TaskSpecContainerSpec, TaskSpecContainerSpecFile,
    TaskSpecContainerSpecSecrets, TaskSpecPlacement, TaskSpecResources, TaskSpecRestartPolicy,
    TaskSpecRestartPolicyConditionEnum,
};

use crate::docker::{LABEL_JOB, LABEL_ROLE, LABEL_RUN};
use crate::resources;
use crate::spec::DockerImage;

/// Labels one node's objects, so that its teardown finds exactly them.
pub const LABEL_NODE: &str = "orrery.node";

/// Where the token secret and the run's CA appear in the primary (and the service token and
/// the CA in service containers).
pub const TOKEN_FILE: &str = "/run/secrets/orrery-token";
pub const SERVICE_TOKEN_FILE: &str = "/run/secrets/orrery-service-token";
pub const CA_FILE: &str = "/run/secrets/orrery-ca";

/// How often a service container reports its ports (its health check).
const REPORT_EVERY_NS: i64 = 1_000_000_000;

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
    /// The container's environment: the job's primary `environment:` when the image's own
    /// process runs (it is that process's), else none beyond the image's.
    pub env: Option<Vec<String>>,
    /// The user's placement constraints (`--constraint`), beside the architecture's.
    pub constraints: &'a [String],
}

/// A placement constraint as swarm reads one: `KEY==VALUE` or `KEY!=VALUE`, KEY one of the
/// node's attributes (`node.id`, `node.hostname`, `node.role`, `node.platform.os`,
/// `node.platform.arch`) or labels (`node.labels.NAME`, `engine.labels.NAME`).
pub fn check_constraint(text: &str) -> Result<(), String> {
    let bad = |why: &str| format!("--constraint {text}: {why}");
    let (key, value) = text
        .split_once("==")
        .or_else(|| text.split_once("!="))
        .ok_or_else(|| bad("expected KEY==VALUE or KEY!=VALUE"))?;
    let (key, value) = (key.trim(), value.trim());
    let attribute = [
        "node.id",
        "node.hostname",
        "node.role",
        "node.platform.os",
        "node.platform.arch",
    ]
    .contains(&key);
    let label = ["node.labels.", "engine.labels."]
        .iter()
        .any(|p| key.strip_prefix(p).is_some_and(|name| !name.is_empty()));
    if !attribute && !label {
        return Err(bad(
            "KEY is node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.NAME or engine.labels.NAME",
        ));
    }
    if value.is_empty() || value.contains("==") || value.contains("!=") {
        return Err(bad("expected one value after the operator"));
    }
    Ok(())
}

/// What a service container needs to report its ports: the health check's command (run
/// inside it), the helper bundle's binds and the secrets (service token, CA) it reads.
pub struct Reporter {
    pub command: Vec<String>,
    pub binds: Vec<(String, String)>,
    pub secrets: Vec<SecretRef>,
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

pub fn env_list(vars: &[(String, String)]) -> Vec<String> {
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

fn mounts(binds: &[(String, String)]) -> Vec<Mount> {
    binds
        .iter()
        .map(|(source, target)| Mount {
            source: Some(source.clone()),
            target: Some(target.clone()),
            typ: Some(MountType::BIND),
            read_only: Some(true),
            ..Default::default()
        })
        .collect()
}

fn secret_files(secrets: &[SecretRef]) -> Vec<TaskSpecContainerSpecSecrets> {
    secrets
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
        .collect()
}

fn placement(constraints: Vec<String>) -> Option<TaskSpecPlacement> {
    (!constraints.is_empty()).then(|| TaskSpecPlacement {
        constraints: Some(constraints),
        ..Default::default()
    })
}

/// The primary image's own process as Docker would start the container (`config`: the image's
/// configuration): the job's `entrypoint:`, else the image's; then the job's `command:`, else
/// the image's `CMD` unless the job replaced the entrypoint. `None` when the job does not keep
/// the image's process ([`crate::docker::keeps_own_process`] decides) or there is nothing to run.
pub fn primary_process(
    image: &DockerImage,
    config: Option<&ImageConfig>,
    keeps: bool,
) -> Option<Vec<String>> {
    if !keeps {
        return None;
    }
    let entrypoint = image
        .entrypoint
        .clone()
        .or_else(|| config.and_then(|c| c.entrypoint.clone()))
        .unwrap_or_default();
    let command = match (&image.command, &image.entrypoint) {
        (Some(command), _) => command.clone(),
        (None, Some(_)) => Vec::new(),
        (None, None) => config.and_then(|c| c.cmd.clone()).unwrap_or_default(),
    };
    let argv: Vec<String> = entrypoint.into_iter().chain(command).collect();
    (!argv.is_empty()).then_some(argv)
}

/// The primary service: the job's image with the agent as its command (the image's own
/// process, when the job keeps it, is the agent's to start), the helper bundle bound in, the
/// token and the CA as secret files, resources from the resource class (default `medium`).
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
        env: p.env.clone(),
        // Reaps what steps leave behind; the agent stays the job's main process below it.
        init: Some(true),
        stop_grace_period: Some(10_000_000_000),
        mounts: Some(mounts(&p.binds)),
        secrets: Some(secret_files(&p.secrets)),
        ..Default::default()
    };
    let mut constraints = vec![format!("node.platform.arch=={arch}")];
    constraints.extend(p.constraints.iter().cloned());
    service(
        p.name.clone(),
        p.labels.clone(),
        one_task(
            container,
            &p.network,
            Vec::new(),
            resources,
            placement(constraints),
        ),
    )
}

/// A CircleCI service container as a service of its own on the node's network: its
/// entrypoint, command, user and environment; reachable by `aliases` (its `name:`, and the
/// name the agent's forwarder uses); placed by the user's `constraints`. With a `reporter`, its
/// health check reports the ports it listens on every second and always passes (swarm binds
/// the service's name once the first check passed; a failing one would stop the service).
pub fn sidecar(
    name: String,
    image: &DockerImage,
    labels: HashMap<String, String>,
    network: &str,
    aliases: Vec<String>,
    reporter: Option<&Reporter>,
    constraints: &[String],
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
        mounts: reporter.map(|r| mounts(&r.binds)),
        secrets: reporter.map(|r| secret_files(&r.secrets)),
        health_check: reporter.map(|r| {
            let mut test = vec!["CMD".to_string()];
            test.extend(r.command.iter().cloned());
            HealthConfig {
                test: Some(test),
                interval: Some(REPORT_EVERY_NS),
                timeout: Some(10 * REPORT_EVERY_NS),
                // Never unhealthy: the check is a report, not a verdict.
                retries: Some(i64::from(i32::MAX)),
                start_period: Some(0),
                start_interval: None,
            }
        }),
        ..Default::default()
    };
    service(
        name,
        labels,
        one_task(
            container,
            network,
            aliases,
            None,
            placement(constraints.to_vec()),
        ),
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
            env: None,
            constraints: &["node.labels.disk==ssd".to_string()],
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
            ["node.platform.arch==x86_64", "node.labels.disk==ssd"]
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
        let reporter = Reporter {
            command: vec!["/.orrery-exe".into(), "agent".into(), "ports".into()],
            binds: vec![("/host/helper".into(), "/.orrery".into())],
            secrets: vec![SecretRef {
                id: "sid".into(),
                name: "orrery-r-0-service-token".into(),
                file: "orrery-service-token".into(),
            }],
        };
        let spec = sidecar(
            "s".into(),
            &image,
            labels("r", "r/0", "j", "service"),
            "net",
            vec!["db".into(), "service-1".into()],
            Some(&reporter),
            &[],
        );
        let task = spec.task_template.unwrap();
        assert!(task.placement.is_none());
        let network = &task.networks.unwrap()[0];
        assert_eq!(network.aliases.clone().unwrap(), ["db", "service-1"]);
        let c = task.container_spec.unwrap();
        assert_eq!(c.command.unwrap(), ["sh", "-c"]);
        assert_eq!(c.args.unwrap(), ["exec postgres"]);
        assert_eq!(c.env.unwrap(), ["POSTGRES_PASSWORD=x"]);
        let check = c.health_check.unwrap();
        assert_eq!(
            check.test.unwrap(),
            ["CMD", "/.orrery-exe", "agent", "ports"]
        );
        assert_eq!(check.interval, Some(1_000_000_000));
        assert_eq!(check.retries, Some(i64::from(i32::MAX)));
        assert_eq!(
            c.secrets.unwrap()[0].file.as_ref().unwrap().name.as_deref(),
            Some("orrery-service-token")
        );
    }

    #[test]
    fn constraints_are_checked_before_the_swarm_sees_them() {
        for good in [
            "node.role==manager",
            "node.role != manager",
            "node.labels.disk==ssd",
            "engine.labels.zone!=b",
            "node.platform.arch==x86_64",
        ] {
            assert_eq!(check_constraint(good), Ok(()), "{good}");
        }
        for bad in [
            "node.role=manager",
            "role==manager",
            "node.labels.==x",
            "node.role==",
            "node.role==a==b",
        ] {
            let e = check_constraint(bad).unwrap_err();
            assert!(e.starts_with(&format!("--constraint {bad}: ")), "{e}");
        }
    }

    #[test]
    fn the_primary_process_is_what_docker_would_start() {
        let config = ImageConfig {
            entrypoint: Some(vec!["/entry.sh".into()]),
            cmd: Some(vec!["serve".into(), "--port=1".into()]),
            ..Default::default()
        };
        let with = |entrypoint: Option<&[&str]>, command: Option<&[&str]>| DockerImage {
            image: "i".into(),
            entrypoint: entrypoint.map(|e| e.iter().map(|s| s.to_string()).collect()),
            command: command.map(|c| c.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        };
        // (entrypoint:, command:, whether the job keeps the process, what runs)
        type Case<'a> = (
            Option<&'a [&'a str]>,
            Option<&'a [&'a str]>,
            bool,
            Option<&'a [&'a str]>,
        );
        let cases: &[Case] = &[
            // The image's label keeps its own process as it is.
            (None, None, true, Some(&["/entry.sh", "serve", "--port=1"])),
            // Not kept: only the agent runs.
            (None, None, false, None),
            // A new entrypoint drops the image's CMD; a new command keeps its entrypoint.
            (
                Some(&["sh", "-c", "x"]),
                None,
                true,
                Some(&["sh", "-c", "x"]),
            ),
            (None, Some(&["run"]), true, Some(&["/entry.sh", "run"])),
            (Some(&["a"]), Some(&["b"]), true, Some(&["a", "b"])),
        ];
        for (entrypoint, command, keeps, expected) in cases {
            let got = primary_process(&with(*entrypoint, *command), Some(&config), *keeps);
            let expected = expected.map(|e| e.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(got, expected, "{entrypoint:?} {command:?} {keeps}");
        }
        // An image with neither: nothing to start.
        assert_eq!(
            primary_process(&with(None, None), Some(&ImageConfig::default()), true),
            None
        );
    }
}
