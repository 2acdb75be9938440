//! `L1703 test-job-without-test-results`: a job named like a test job that stores no test
//! results.

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::Node;

use crate::model::{definitions, own_steps, Step};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::TEST_JOB_WITHOUT_TEST_RESULTS,
    name: "test-job-without-test-results",
    severity: Severity::Note,
    summary: "a job named `*test*` has no `store_test_results` step",
    docs: include_str!("../../docs/rules/L1703.md"),
    check,
};

/// Steps that are not commands: they cannot store test results on the job's behalf.
const BUILT_IN: &[&str] = &[
    "run",
    "checkout",
    "setup_remote_docker",
    "save_cache",
    "restore_cache",
    "deploy",
    "store_artifacts",
    "persist_to_workspace",
    "attach_workspace",
    "add_ssh_keys",
    "when",
    "unless",
    "install_signing_bundle",
];

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for job in definitions(cx.root(), "jobs") {
        if !job.key.to_ascii_lowercase().contains("test") {
            continue;
        }
        let job_type = job.value.get("type").and_then(Node::as_str);
        if job_type.is_some_and(|t| t != "build") {
            continue;
        }
        let steps = own_steps(&job.value);
        // A command, an orb command or a steps parameter may store the results; only a job
        // made of built-in steps is known not to.
        let all_built_in = steps
            .iter()
            .all(|s| Step::of(s).is_some_and(|s| BUILT_IN.contains(&s.name)));
        if steps.is_empty() || !all_built_in {
            continue;
        }
        let d = sink
            .finding(format!("test job `{}` stores no test results", job.key))
            .at(job.key_span, "no `store_test_results` step")
            .with_help(
                "add `- store_test_results: {path: …}` for the reports your tests write (JUnit XML), to see failures, timings and flaky tests in the app",
            );
        sink.push(d);
    }
}
