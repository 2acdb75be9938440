//! `L1707 remote-docker-on-machine`: `setup_remote_docker` in a job that runs on a machine
//! executor, which has Docker already.

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::{Node, Value};

use crate::model::{definitions, own_steps, section, Step};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::REMOTE_DOCKER_ON_MACHINE,
    name: "remote-docker-on-machine",
    severity: Severity::Warning,
    summary: "`setup_remote_docker` in a job on a machine executor",
    docs: include_str!("../../docs/rules/L1707.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    for job in definitions(root, "jobs") {
        let Some(machine) = machine_of(root, &job.value) else {
            continue;
        };
        for step in own_steps(&job.value) {
            let Some(Step {
                name: "setup_remote_docker",
                name_span,
                ..
            }) = Step::of(step)
            else {
                continue;
            };
            let d = sink
                .finding(format!(
                    "`setup_remote_docker` in job `{}`, which runs on a machine executor",
                    job.key
                ))
                .at(name_span, "not needed on a machine")
                .also(machine.span, "machine executor")
                .with_help("a machine executor runs Docker itself; delete the step (it is meant for Docker executors)");
            sink.push(d);
        }
    }
}

/// The `machine` node of a job's executor: its own, or that of the named executor it uses.
fn machine_of<'a>(root: &'a Node, job: &'a Node) -> Option<&'a Node> {
    if let Some(m) = job.get("machine") {
        return is_machine(m).then_some(m);
    }
    let executor = job.get("executor")?;
    let name = match &executor.value {
        Value::Str(s) => s.as_str(),
        Value::Map(_) => executor.get("name")?.as_str()?,
        _ => return None,
    };
    let def = section(root, "executors").iter().find(|e| e.key == name)?;
    def.value.get("machine").filter(|m| is_machine(m))
}

fn is_machine(m: &Node) -> bool {
    !matches!(m.value, Value::Bool(false) | Value::Null)
}
